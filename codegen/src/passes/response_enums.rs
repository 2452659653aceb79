//! Response enums that tolerate values the description does not list.
//!
//! A page of real data must decode even when the service sends a value the
//! description does not know: a state added next year, or a spelling the
//! description disagrees with (`CANCELED` where it says `CANCELLED`:
//! service evidence row 12). This pass finds every string enum that only
//! responses use and records it as a [`TolerantEnum`]; the generator then
//! emits a hand-shaped type for it (the described values, and `Unknown`
//! keeping any other text) instead of a strict one. Enums that requests
//! use (a filter value, a body field) stay strict: a client must not send
//! what the service does not take.

use std::collections::{BTreeMap, BTreeSet};

use heck::ToPascalCase;
use serde_json::Value;

use crate::document::{operation, operation_keys};
use crate::passes::openapi31::nested_schemas;
use crate::report::{Refusal, Report, child};

const PASS: &str = "response_enums";

/// Spellings the service and its description disagree on: either decodes
/// as the variant of the one listed (service evidence row 12).
pub const SPELLINGS: &[(&str, &str)] = &[("CANCELLED", "CANCELED")];

/// A string enum of responses, to be generated as a tolerant type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TolerantEnum {
    /// JSON pointer of the enum schema in the normalized document.
    pub pointer: String,
    /// Rust type name.
    pub type_name: String,
    /// The schema's description, if any.
    pub description: Option<String>,
    /// Each listed value: Rust variant name, wire value, other spellings
    /// that decode as it.
    pub variants: Vec<Variant>,
}

/// One listed value of a [`TolerantEnum`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Rust variant name.
    pub name: String,
    /// The value as the description lists it (and as it is sent back).
    pub value: String,
    /// Other spellings that decode as this variant.
    pub aliases: Vec<String>,
}

/// The name of the variant that keeps unlisted values.
pub const UNKNOWN: &str = "Unknown";

/// Runs the pass (after operationIds are set): finds the response-only
/// string enums. The document is not changed; the generator uses the result.
pub fn run(doc: &Value, report: &mut Report) -> Result<Vec<TolerantEnum>, Refusal> {
    let mut requests = BTreeSet::new();
    let mut responses = BTreeMap::new();
    for key in operation_keys(doc) {
        let Some(op) = operation(doc, &key) else {
            continue;
        };
        let op_at = key.pointer();
        let op_name = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_pascal_case();
        for (i, p) in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(s) = p.get("schema") {
                let at = child(&op_at, ["parameters", &i.to_string(), "schema"]);
                walk(doc, s, &at, "", &mut |at, _, _| {
                    requests.insert(at.to_string());
                });
            }
        }
        for (media, mt) in op
            .get("requestBody")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(s) = mt.get("schema") {
                let at = child(&op_at, ["requestBody", "content", media, "schema"]);
                walk(doc, s, &at, "", &mut |at, _, _| {
                    requests.insert(at.to_string());
                });
            }
        }
        for (code, response) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for (media, mt) in response
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(s) = mt.get("schema") {
                    let at = child(&op_at, ["responses", code, "content", media, "schema"]);
                    let base = format!("{op_name}Response");
                    walk(doc, s, &at, &base, &mut |at, name, schema| {
                        responses
                            .entry(at.to_string())
                            .or_insert_with(|| (name.to_string(), schema.clone()));
                    });
                }
            }
        }
    }

    let mut out = Vec::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (at, (name, schema)) in responses {
        let Some(values) = string_enum(&schema) else {
            continue;
        };
        if requests.contains(&at) {
            report.record(
                PASS,
                &at,
                "enum kept strict: requests use it too, and must send only listed values",
            );
            continue;
        }
        let mut type_name = name.clone();
        let mut n = 2;
        while !taken.insert(type_name.clone()) {
            type_name = format!("{name}{n}");
            n += 1;
        }
        let folded = schema
            .get(crate::passes::collisions::ALIASES)
            .cloned()
            .unwrap_or_default();
        let mut variants = variants(&values, &at)?;
        for v in &mut variants {
            if let Some(others) = folded.get(&v.value).and_then(Value::as_array) {
                v.aliases
                    .extend(others.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
        report.record(
            PASS,
            &at,
            format!(
                "response enum `{type_name}` accepts values the description does not list (`{UNKNOWN}`){}",
                aliases_note(&variants)
            ),
        );
        out.push(TolerantEnum {
            pointer: at,
            type_name,
            description: schema
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            variants,
        });
    }
    Ok(out)
}

fn aliases_note(variants: &[Variant]) -> String {
    let pairs: Vec<String> = variants
        .iter()
        .flat_map(|v| {
            v.aliases
                .iter()
                .map(move |a| format!("`{a}` as `{}`", v.value))
        })
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("; decodes {}", pairs.join(", "))
    }
}

/// The values of a string enum schema.
fn string_enum(schema: &Value) -> Option<Vec<String>> {
    let values = schema.get("enum")?.as_array()?;
    if schema.get("type").is_some_and(|t| t != "string") || values.is_empty() {
        return None;
    }
    values
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn variants(values: &[String], at: &str) -> Result<Vec<Variant>, Refusal> {
    let mut out: Vec<Variant> = Vec::new();
    for value in values {
        let name = variant_name(value);
        if name.is_empty() || name == UNKNOWN {
            return Err(Refusal::new(
                at,
                format!("enum value `{value}` has no usable Rust variant name"),
            ));
        }
        if let Some(other) = out.iter().find(|v| v.name == name) {
            return Err(Refusal::new(
                at,
                format!(
                    "enum values `{}` and `{value}` both become the Rust variant `{name}`",
                    other.value
                ),
            ));
        }
        let aliases = SPELLINGS
            .iter()
            .filter_map(|(a, b)| match value.as_str() {
                v if v == *a => Some(b.to_string()),
                v if v == *b => Some(a.to_string()),
                _ => None,
            })
            .filter(|alias| !values.contains(alias))
            .collect();
        out.push(Variant {
            name,
            value: value.clone(),
            aliases,
        });
    }
    Ok(out)
}

fn variant_name(value: &str) -> String {
    let name = value.to_pascal_case();
    match name.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("V{name}"),
        _ => name,
    }
}

/// Calls `visit(pointer, type name, schema)` for `schema` and every schema
/// nested in it, following local `$ref`s into the components (each once).
fn walk(
    doc: &Value,
    schema: &Value,
    at: &str,
    name: &str,
    visit: &mut dyn FnMut(&str, &str, &Value),
) {
    let mut seen = BTreeSet::new();
    walk_inner(doc, schema, at, name, visit, &mut seen);
}

fn walk_inner(
    doc: &Value,
    schema: &Value,
    at: &str,
    name: &str,
    visit: &mut dyn FnMut(&str, &str, &Value),
    seen: &mut BTreeSet<String>,
) {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let Some(pointer) = target.strip_prefix('#') else {
            return;
        };
        if !seen.insert(pointer.to_string()) {
            return;
        }
        let component = pointer
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_pascal_case();
        if let Some(target) = doc.pointer(pointer) {
            walk_inner(doc, target, pointer, &component, visit, seen);
        }
        return;
    }
    visit(at, name, schema);
    for rel in nested_schemas(schema) {
        let Some(sub) = schema.pointer(&rel) else {
            continue;
        };
        let mut parts = rel.split('/').skip(1);
        let suffix = match (parts.next(), parts.next()) {
            (Some("properties"), Some(prop)) => prop.replace("~1", "/").replace("~0", "~"),
            (Some("items"), _) => "Item".into(),
            (Some("additionalProperties"), _) => "Value".into(),
            _ => String::new(),
        };
        let sub_name = format!("{name}{}", suffix.to_pascal_case());
        walk_inner(doc, sub, &format!("{at}{rel}"), &sub_name, visit, seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(extra_param: Value) -> Value {
        json!({
            "paths": {"/v2/logs": {"get": {
                "operationId": "list_logs",
                "parameters": [extra_param],
                "responses": {"2XX": {"content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {
                        "logs": {"type": "array", "items": {"$ref": "#/components/schemas/LogEntry"}},
                        "kind": {"type": "string", "enum": ["a", "b"]}
                    }
                }}}}}
            }}},
            "components": {"schemas": {
                "LogEntry": {"type": "object", "properties": {
                    "state": {"type": "string", "enum": ["CREATED", "CANCEL_REQUESTED", "CANCELLED"], "description": "s"},
                    "code": {"type": "integer", "enum": [1, 2]}
                }},
                "Level": {"type": "string", "enum": ["low", "high"]}
            }}
        })
    }

    #[test]
    fn response_enums_are_found_and_named_after_where_they_are() {
        let d = doc(json!({"name": "cursor", "in": "query", "schema": {"type": "string"}}));
        let mut report = Report::default();
        let found = run(&d, &mut report).unwrap();
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|e| (e.type_name.as_str(), e.pointer.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (
                    "LogEntryState",
                    "/components/schemas/LogEntry/properties/state"
                ),
                (
                    "ListLogsResponseKind",
                    "/paths/~1v2~1logs/get/responses/2XX/content/application~1json/schema/properties/kind"
                ),
            ]
        );
        let state = &found[0];
        assert_eq!(state.description.as_deref(), Some("s"));
        let variants: Vec<(&str, &str)> = state
            .variants
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(
            variants,
            [
                ("Created", "CREATED"),
                ("CancelRequested", "CANCEL_REQUESTED"),
                ("Cancelled", "CANCELLED")
            ]
        );
        // The other spelling decodes as the listed one (evidence row 12).
        assert_eq!(state.variants[2].aliases, ["CANCELED"]);
        assert!(state.variants[0].aliases.is_empty());
        assert!(
            report
                .changes()
                .iter()
                .any(|c| c.what.contains("`CANCELED` as `CANCELLED`"))
        );
    }

    #[test]
    fn enums_that_requests_use_stay_strict() {
        // The same component enum as a query parameter and in a response.
        let mut d = doc(
            json!({"name": "level", "in": "query", "schema": {"$ref": "#/components/schemas/Level"}}),
        );
        d["components"]["schemas"]["LogEntry"]["properties"]["level"] =
            json!({"$ref": "#/components/schemas/Level"});
        let mut report = Report::default();
        let found = run(&d, &mut report).unwrap();
        assert!(found.iter().all(|e| e.type_name != "Level"), "{found:?}");
        assert!(report.changes().iter().any(|c| {
            c.pointer == "/components/schemas/Level" && c.what.contains("kept strict")
        }));
        // An inline request enum is not a response enum in the first place.
        let d = doc(
            json!({"name": "state", "in": "query", "schema": {"type": "string", "enum": ["X"]}}),
        );
        let found = run(&d, &mut Report::default()).unwrap();
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn colliding_variant_names_are_refused_naming_the_enum() {
        let mut d = doc(json!({"name": "cursor", "in": "query", "schema": {"type": "string"}}));
        d["components"]["schemas"]["LogEntry"]["properties"]["state"]["enum"] =
            json!(["fast-lane", "fast_lane"]);
        let err = run(&d, &mut Report::default()).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/LogEntry/properties/state");
        assert!(
            err.construct.contains("`fast-lane` and `fast_lane`"),
            "{err}"
        );
    }

    #[test]
    fn a_value_named_unknown_is_refused_and_digits_get_a_prefix() {
        assert_eq!(variant_name("2xx"), "V2xx");
        let err = variants(&["Unknown".into()], "/x").unwrap_err();
        assert!(err.construct.contains("no usable"), "{err}");
    }
}
