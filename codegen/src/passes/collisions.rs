//! Names that collide once turned into Rust: resolved by one rule
//! ([`crate::idents`]), or refused naming the place.
//!
//! - **Properties** of one object whose field names meet (`callerIp` and
//!   `callerIP`): when they are the same name spelled two ways and describe
//!   the same value, one property stays and the other becomes an alias of
//!   its field (either spelling decodes into it); otherwise refused.
//! - **Enum values** whose variants meet (`fast-lane`, `fast_lane`): the
//!   same rule; a response enum decodes the other spelling as the kept
//!   value (recorded under [`ALIASES`] on the enum schema).
//! - **Component schemas** whose type names meet (`foo`, `Foo`): the one
//!   that is not canonical is renamed (`Foo2`), and every reference follows.
//!
//! Parameters follow the same rule in the `parameters` pass.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::idents::{canonical, pascal, same_spelling, snake};
use crate::passes::openapi31::nested_schemas;
use crate::report::{Refusal, Report, child, pointer};

const PASS: &str = "collisions";

/// Extension key on an enum schema: kept value -> the other spellings that
/// were folded into it.
pub const ALIASES: &str = "x-qstash-aliases";

/// A property folded into a twin: its wire name decodes into the kept field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyAlias {
    /// Pointer of the object schema.
    pub schema: String,
    /// Wire names of the object's properties once folded (how the generated
    /// struct is found).
    pub properties: Vec<String>,
    /// The property that stays.
    pub kept: String,
    /// The spellings that decode into it.
    pub aliases: Vec<String>,
}

/// Runs the pass; returns the property aliases the generator must add.
pub fn run(doc: &mut Value, report: &mut Report) -> Result<Vec<PropertyAlias>, Refusal> {
    component_names(doc, report)?;
    let mut aliases = Vec::new();
    for at in super::openapi31::schema_positions(doc) {
        let Some(schema) = doc.pointer_mut(&at) else {
            continue;
        };
        walk(schema, &at, &mut aliases, report)?;
    }
    Ok(aliases)
}

fn walk(
    schema: &mut Value,
    at: &str,
    aliases: &mut Vec<PropertyAlias>,
    report: &mut Report,
) -> Result<(), Refusal> {
    properties(schema, at, aliases, report)?;
    enum_values(schema, at, report)?;
    for rel in nested_schemas(schema) {
        if let Some(sub) = schema.pointer_mut(&rel) {
            walk(sub, &format!("{at}{rel}"), aliases, report)?;
        }
    }
    Ok(())
}

/// Equal as facts: prose aside.
fn same_facts(a: &Value, b: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, v)| {
                        !(matches!(k.as_str(), "description" | "title" | "deprecated")
                            || k.starts_with("x-") && !v.is_object())
                    })
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    strip(a) == strip(b)
}

fn is_deprecated(v: &Value) -> bool {
    v.get("deprecated") == Some(&Value::Bool(true))
}

fn properties(
    schema: &mut Value,
    at: &str,
    aliases: &mut Vec<PropertyAlias>,
    report: &mut Report,
) -> Result<(), Refusal> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in props.keys() {
        groups.entry(snake(name)).or_default().push(name.clone());
    }
    let props_at = child(at, ["properties"]);
    for (field, twins) in groups.into_iter().filter(|(_, t)| t.len() > 1) {
        let props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if !same_spelling(&twins) {
            return Err(Refusal::new(
                &props_at,
                format!(
                    "properties {} all become the Rust field `{field}` and are not one name spelled several ways",
                    list(&twins)
                ),
            ));
        }
        let flagged: Vec<(&str, bool)> = twins
            .iter()
            .map(|t| (t.as_str(), is_deprecated(&props[t])))
            .collect();
        let kept = canonical(&flagged).to_string();
        let others: Vec<String> = twins.iter().filter(|t| **t != kept).cloned().collect();
        if let Some(other) = others
            .iter()
            .find(|o| !same_facts(&props[*o], &props[&kept]))
        {
            return Err(Refusal::new(
                child(&props_at, [other]),
                format!(
                    "properties `{kept}` and `{other}` both become the Rust field `{field}` but describe different values"
                ),
            ));
        }
        let obj = schema.as_object_mut().expect("a schema with properties");
        if let Some(p) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            for o in &others {
                p.shift_remove(o);
            }
        }
        if let Some(required) = obj.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|r| !others.iter().any(|o| r == o.as_str()));
        }
        report.record(
            PASS,
            &props_at,
            format!(
                "properties {} meet as the Rust field `{field}`: `{kept}` kept, {} decode into it",
                list(&twins),
                list(&others)
            ),
        );
        aliases.push(PropertyAlias {
            schema: at.to_string(),
            properties: Vec::new(),
            kept,
            aliases: others,
        });
    }
    // The struct is found by its final property names.
    let names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for alias in aliases.iter_mut().filter(|a| a.schema == at) {
        alias.properties = names.clone();
    }
    Ok(())
}

fn enum_values(schema: &mut Value, at: &str, report: &mut Report) -> Result<(), Refusal> {
    let Some(values) = schema.get("enum").and_then(Value::as_array) else {
        return Ok(());
    };
    let strings: Vec<String> = values
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in &strings {
        groups.entry(pascal(v)).or_default().push(v.clone());
    }
    let mut folded: Map<String, Value> = Map::new();
    let mut dropped: Vec<String> = Vec::new();
    for (variant, twins) in groups.into_iter().filter(|(_, t)| t.len() > 1) {
        if !same_spelling(&twins) {
            return Err(Refusal::new(
                child(at, ["enum"]),
                format!(
                    "enum values {} all become the Rust variant `{variant}` and are not one value spelled several ways",
                    list(&twins)
                ),
            ));
        }
        let flagged: Vec<(&str, bool)> = twins.iter().map(|t| (t.as_str(), false)).collect();
        let kept = canonical(&flagged).to_string();
        let others: Vec<String> = twins.into_iter().filter(|t| *t != kept).collect();
        report.record(
            PASS,
            child(at, ["enum"]),
            format!(
                "enum values `{kept}` and {} meet as the Rust variant `{variant}`: `{kept}` kept; a response's other spelling decodes as it",
                list(&others)
            ),
        );
        folded.insert(kept, json!(others));
        dropped.extend(others);
    }
    if dropped.is_empty() {
        return Ok(());
    }
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.retain(|v| !v.as_str().is_some_and(|s| dropped.iter().any(|d| d == s)));
    }
    schema[ALIASES] = Value::Object(folded);
    Ok(())
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Component schemas whose type names meet: the non-canonical ones are
/// renamed and every reference to them follows.
fn component_names(doc: &mut Value, report: &mut Report) -> Result<(), Refusal> {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Ok(());
    };
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in schemas.keys() {
        groups.entry(pascal(name)).or_default().push(name.clone());
    }
    let mut taken: Vec<String> = groups.keys().cloned().collect();
    let mut renames: Vec<(String, String)> = Vec::new();
    for (type_name, twins) in groups.into_iter().filter(|(_, t)| t.len() > 1) {
        let flagged: Vec<(&str, bool)> = twins.iter().map(|t| (t.as_str(), false)).collect();
        let kept = canonical(&flagged).to_string();
        for other in twins.iter().filter(|t| **t != kept) {
            let mut n = 2;
            let new = loop {
                let candidate = format!("{type_name}{n}");
                if !taken.contains(&candidate) {
                    break candidate;
                }
                n += 1;
            };
            taken.push(new.clone());
            report.record(
                PASS,
                pointer(["components", "schemas", other]),
                format!(
                    "schemas `{kept}` and `{other}` meet as the Rust type `{type_name}`: `{other}` renamed `{new}`, with every reference"
                ),
            );
            renames.push((other.clone(), new));
        }
    }
    if renames.is_empty() {
        return Ok(());
    }
    let schemas = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Refusal::new("/components/schemas", "`schemas` is not a mapping"))?;
    for (old, new) in &renames {
        if let Some(schema) = schemas.shift_remove(old) {
            schemas.insert(new.clone(), schema);
        }
    }
    let targets: Vec<(String, String)> = renames
        .iter()
        .map(|(old, new)| {
            (
                format!("#{}", pointer(["components", "schemas", old])),
                format!("#{}", pointer(["components", "schemas", new])),
            )
        })
        .collect();
    rewrite_refs(doc, &targets);
    Ok(())
}

fn rewrite_refs(value: &mut Value, targets: &[(String, String)]) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some((_, new)) = targets.iter().find(|(old, _)| old == r)
            {
                *r = new.clone();
            }
            for v in map.values_mut() {
                rewrite_refs(v, targets);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, targets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(schemas: Value) -> Value {
        json!({"paths": {}, "components": {"schemas": schemas}})
    }

    #[test]
    fn property_twins_spelled_two_ways_fold_into_one_field() {
        let mut d = doc(
            json!({"Schedule": {"type": "object", "required": ["callerIP"], "properties": {
                "callerIP": {"type": "string", "description": "as sent"},
                "callerIp": {"type": "string", "description": "as documented"},
                "cron": {"type": "string"}
            }}}),
        );
        let mut report = Report::default();
        let aliases = run(&mut d, &mut report).unwrap();
        let props = &d["components"]["schemas"]["Schedule"]["properties"];
        assert!(props.get("callerIp").is_some());
        assert!(props.get("callerIP").is_none());
        assert_eq!(
            d["components"]["schemas"]["Schedule"]["required"],
            json!([])
        );
        assert_eq!(
            aliases,
            [PropertyAlias {
                schema: "/components/schemas/Schedule".into(),
                properties: vec!["callerIp".into(), "cron".into()],
                kept: "callerIp".into(),
                aliases: vec!["callerIP".into()],
            }]
        );
        assert!(
            report.changes()[0]
                .what
                .contains("`callerIp` kept, `callerIP` decode into it")
        );
    }

    #[test]
    fn the_kept_twin_does_not_depend_on_document_order() {
        let keep = |props: Value| {
            let mut d = doc(json!({"S": {"type": "object", "properties": props}}));
            run(&mut d, &mut Report::default()).unwrap()[0].kept.clone()
        };
        let a = keep(json!({"self": {"type": "string"}, "Self": {"type": "string"}}));
        let b = keep(json!({"Self": {"type": "string"}, "self": {"type": "string"}}));
        assert_eq!(a, b);
    }

    #[test]
    fn twins_that_describe_different_values_are_refused() {
        let mut d = doc(json!({"S": {"type": "object", "properties": {
            "callerIp": {"type": "string"}, "callerIP": {"type": "integer"}}}}));
        let err = run(&mut d, &mut Report::default()).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/S/properties/callerIP");
        assert!(err.construct.contains("different values"), "{err}");
    }

    #[test]
    fn nested_and_inline_objects_are_checked_too() {
        let mut d = json!({"paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"type": "array", "items": {"type": "object", "properties": {
                "a_b": {"type": "string"}, "aB": {"type": "string"}}}}}}}}}}}});
        let aliases = run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(
            aliases[0].schema,
            "/paths/~1a/get/responses/200/content/application~1json/schema/items"
        );
    }

    #[test]
    fn enum_twins_fold_and_are_remembered() {
        let mut d =
            doc(json!({"Lane": {"type": "string", "enum": ["fast_lane", "slow", "fast-lane"]}}));
        run(&mut d, &mut Report::default()).unwrap();
        let lane = &d["components"]["schemas"]["Lane"];
        assert_eq!(lane["enum"], json!(["slow", "fast-lane"]));
        assert_eq!(lane[ALIASES], json!({"fast-lane": ["fast_lane"]}));
    }

    #[test]
    fn enum_values_that_meet_without_being_one_spelling_are_refused() {
        let mut d = doc(json!({"N": {"type": "string", "enum": ["1a", "x1a"]}}));
        let err = run(&mut d, &mut Report::default()).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/N/enum");
        assert!(err.construct.contains("`X1a`"), "{err}");
    }

    #[test]
    fn component_type_names_that_meet_are_renamed_with_their_references() {
        let mut d = json!({"paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/foo"}}}}}}}},
            "components": {"schemas": {"Foo": {"type": "string"}, "foo": {"type": "integer"}}}});
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        let schemas = d["components"]["schemas"].as_object().unwrap();
        assert!(schemas.contains_key("Foo") && schemas.contains_key("Foo2"));
        assert_eq!(schemas["Foo2"], json!({"type": "integer"}));
        assert_eq!(
            d.pointer("/paths/~1a/get/responses/200/content/application~1json/schema/$ref"),
            Some(&json!("#/components/schemas/Foo2"))
        );
    }
}
