//! OpenAPI 3.1 to the 3.0 form the generator accepts.
//!
//! openapiv3 parses 3.0 only, and several 3.1 forms either fail to parse or
//! are silently dropped. This pass rewrites each into its 3.0 equivalent, or
//! refuses it when there is none:
//!
//! - `openapi: 3.1.x` becomes `3.0.3`; 3.1-only top-level keys are removed;
//! - `type: [T, "null"]` becomes `type: T, nullable: true`;
//! - `{type: "null"}` branches of `oneOf`/`anyOf` become `nullable: true`;
//! - `const: v` becomes `enum: [v]`;
//! - numeric `exclusiveMinimum`/`exclusiveMaximum` become `minimum` plus a
//!   boolean flag;
//! - schema `examples` are removed (3.0 has only `example`);
//! - keys beside a `$ref` are kept through an `allOf` wrapper when they
//!   constrain the value, and dropped on purpose when they only annotate it.

use serde_json::{Map, Value, json};

use crate::document::METHODS;
use crate::report::{Refusal, Report, child, pointer};

const PASS: &str = "openapi31";

/// Keywords whose meaning 3.0 cannot express and whose loss would change the
/// shape of the data: refused.
const REFUSED_KEYWORDS: &[&str] = &[
    "prefixItems",
    "if",
    "then",
    "else",
    "$defs",
    "dependentSchemas",
    "unevaluatedProperties",
    "unevaluatedItems",
    "patternProperties",
    "$dynamicRef",
    "$dynamicAnchor",
];

/// Keywords that only annotate or validate and that 3.0 does not know:
/// removed, with a report entry.
const DROPPED_KEYWORDS: &[&str] = &[
    "$comment",
    "$schema",
    "$id",
    "$anchor",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "dependentRequired",
];

/// Keys beside a `$ref` that only describe it: dropped rather than wrapped.
const ANNOTATIONS: &[&str] = &["description", "title", "summary", "$comment"];

/// Runs the pass.
pub fn run(doc: &mut Value, report: &mut Report) -> Result<(), Refusal> {
    version(doc, report)?;
    for at in schema_positions(doc) {
        if let Some(schema) = doc.pointer_mut(&at) {
            schema_node(schema, &at, report)?;
        }
    }
    Ok(())
}

fn version(doc: &mut Value, report: &mut Report) -> Result<(), Refusal> {
    let Some(obj) = doc.as_object_mut() else {
        return Err(Refusal::new("", "the document is not a mapping"));
    };
    let version = obj
        .get("openapi")
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::new("/openapi", "missing `openapi` version string"))?
        .to_string();
    if version.starts_with("3.0.") {
        return Ok(());
    }
    if !version.starts_with("3.1.") {
        return Err(Refusal::new(
            "/openapi",
            format!("OpenAPI version {version} is not supported (3.0.x and 3.1.x are)"),
        ));
    }
    obj.insert("openapi".into(), json!("3.0.3"));
    report.record(PASS, "/openapi", format!("version {version} -> 3.0.3"));
    for key in ["webhooks", "jsonSchemaDialect"] {
        if obj.remove(key).is_some() {
            report.record(PASS, pointer([key]), "3.1-only key removed");
        }
    }
    if let Some(info) = obj.get_mut("info").and_then(Value::as_object_mut)
        && info.remove("summary").is_some()
    {
        report.record(PASS, "/info/summary", "3.1-only key removed");
    }
    if let Some(components) = obj.get_mut("components").and_then(Value::as_object_mut)
        && components.remove("pathItems").is_some()
    {
        report.record(PASS, "/components/pathItems", "3.1-only key removed");
    }
    if !obj.contains_key("paths") {
        obj.insert("paths".into(), json!({}));
        report.record(
            PASS,
            "/paths",
            "empty `paths` added (optional in 3.1, required in 3.0)",
        );
    }
    Ok(())
}

/// Pointers of every schema that is not nested in another schema.
pub(crate) fn schema_positions(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let keys = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let components = doc.get("components");
    for name in keys(components.and_then(|c| c.get("schemas"))) {
        out.push(pointer(["components", "schemas", &name]));
    }
    for name in keys(components.and_then(|c| c.get("parameters"))) {
        parameter_positions(doc, &pointer(["components", "parameters", &name]), &mut out);
    }
    for name in keys(components.and_then(|c| c.get("headers"))) {
        parameter_positions(doc, &pointer(["components", "headers", &name]), &mut out);
    }
    for name in keys(components.and_then(|c| c.get("requestBodies"))) {
        content_positions(
            doc,
            &pointer(["components", "requestBodies", &name]),
            &mut out,
        );
    }
    for name in keys(components.and_then(|c| c.get("responses"))) {
        response_positions(doc, &pointer(["components", "responses", &name]), &mut out);
    }
    for path in keys(doc.get("paths")) {
        let item_at = pointer(["paths", &path]);
        list_positions(doc, &child(&item_at, ["parameters"]), &mut out);
        for m in METHODS {
            let op_at = child(&item_at, [m]);
            if doc.pointer(&op_at).is_none() {
                continue;
            }
            list_positions(doc, &child(&op_at, ["parameters"]), &mut out);
            content_positions(doc, &child(&op_at, ["requestBody"]), &mut out);
            let responses_at = child(&op_at, ["responses"]);
            for code in keys(doc.pointer(&responses_at)) {
                response_positions(doc, &child(&responses_at, [&code]), &mut out);
            }
        }
    }
    out
}

fn list_positions(doc: &Value, at: &str, out: &mut Vec<String>) {
    let n = doc
        .pointer(at)
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    for i in 0..n {
        parameter_positions(doc, &child(at, [i.to_string()]), out);
    }
}

fn parameter_positions(doc: &Value, at: &str, out: &mut Vec<String>) {
    if doc.pointer(&child(at, ["schema"])).is_some() {
        out.push(child(at, ["schema"]));
    }
    content_positions(doc, at, out);
}

fn content_positions(doc: &Value, at: &str, out: &mut Vec<String>) {
    let content_at = child(at, ["content"]);
    if let Some(content) = doc.pointer(&content_at).and_then(Value::as_object) {
        for (media, mt) in content {
            if mt.get("schema").is_some() {
                out.push(child(&content_at, [media, "schema"]));
            }
        }
    }
}

fn response_positions(doc: &Value, at: &str, out: &mut Vec<String>) {
    content_positions(doc, at, out);
    let headers_at = child(at, ["headers"]);
    if let Some(headers) = doc.pointer(&headers_at).and_then(Value::as_object) {
        for name in headers.keys() {
            parameter_positions(doc, &child(&headers_at, [name]), out);
        }
    }
}

fn is_null_schema(v: &Value) -> bool {
    match v.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.len() == 1 && ts[0] == "null",
        _ => {
            v.get("const") == Some(&Value::Null)
                || v.get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|e| e == &[Value::Null])
        }
    }
}

/// Rewrites one schema and everything nested in it (parents first).
fn schema_node(schema: &mut Value, at: &str, report: &mut Report) -> Result<(), Refusal> {
    let Some(obj) = schema.as_object_mut() else {
        // `true`/`false` schemas (3.1) have no 3.0 form.
        return match schema {
            Value::Bool(_) => Err(Refusal::new(at, "boolean schema (3.1) is not supported")),
            _ => Err(Refusal::new(at, "a schema must be a mapping")),
        };
    };

    for key in REFUSED_KEYWORDS {
        if obj.contains_key(*key) {
            return Err(Refusal::new(
                child(at, [key]),
                format!("JSON Schema keyword `{key}` has no OpenAPI 3.0 form"),
            ));
        }
    }
    for key in DROPPED_KEYWORDS {
        if obj.remove(*key).is_some() {
            report.record(
                PASS,
                child(at, [key]),
                format!("`{key}` removed (not in 3.0)"),
            );
        }
    }
    if obj.get("examples").is_some_and(Value::is_array) {
        obj.remove("examples");
        report.record(PASS, child(at, ["examples"]), "schema `examples` removed");
    }
    if let Some(value) = obj.remove("const") {
        if obj.contains_key("enum") {
            report.record(
                PASS,
                child(at, ["const"]),
                "`const` removed beside an `enum`",
            );
        } else {
            obj.insert("enum".into(), json!([value]));
            report.record(PASS, child(at, ["const"]), "`const` -> one-value `enum`");
        }
    }
    exclusive_bound(
        obj,
        at,
        "exclusiveMinimum",
        "minimum",
        |new, old| new >= old,
        report,
    );
    exclusive_bound(
        obj,
        at,
        "exclusiveMaximum",
        "maximum",
        |new, old| new <= old,
        report,
    );
    type_array(obj, at, report)?;
    if obj.get("type").and_then(Value::as_str) == Some("null") {
        return Err(Refusal::new(
            child(at, ["type"]),
            "a schema that only allows null has no OpenAPI 3.0 form",
        ));
    }
    for key in ["oneOf", "anyOf"] {
        null_branches(obj, at, key, report)?;
    }
    ref_siblings(obj, at, report);

    // Nested schemas.
    for rel in nested_schemas(schema) {
        if let Some(sub) = schema.pointer_mut(&rel) {
            schema_node(sub, &format!("{at}{rel}"), report)?;
        }
    }
    Ok(())
}

/// Relative JSON pointers of the schemas nested directly in `schema`: its
/// properties, `items`, `additionalProperties`, `not`, and the branches of
/// `allOf`, `oneOf` and `anyOf`.
pub(crate) fn nested_schemas(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().map(|k| pointer(["properties", k])));
    }
    for key in ["items", "additionalProperties", "not"] {
        if schema.get(key).is_some_and(Value::is_object) {
            out.push(pointer([key]));
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        let n = schema
            .get(key)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        out.extend((0..n).map(|i| pointer([key, &i.to_string()])));
    }
    out
}

fn exclusive_bound(
    obj: &mut Map<String, Value>,
    at: &str,
    exclusive: &str,
    inclusive: &str,
    stricter: impl Fn(f64, f64) -> bool,
    report: &mut Report,
) {
    let Some(bound) = obj.get(exclusive).filter(|v| v.is_number()).cloned() else {
        return;
    };
    let new = bound.as_f64().unwrap_or_default();
    let keep_inclusive = obj
        .get(inclusive)
        .and_then(Value::as_f64)
        .is_some_and(|old| !stricter(new, old));
    if keep_inclusive {
        obj.remove(exclusive);
        report.record(
            PASS,
            child(at, [exclusive]),
            format!("numeric `{exclusive}` removed: `{inclusive}` is stricter"),
        );
    } else {
        obj.insert(inclusive.into(), bound.clone());
        obj.insert(exclusive.into(), Value::Bool(true));
        report.record(
            PASS,
            child(at, [exclusive]),
            format!(
                "numeric `{exclusive}: {bound}` -> `{inclusive}: {bound}` + `{exclusive}: true`"
            ),
        );
    }
}

fn type_array(obj: &mut Map<String, Value>, at: &str, report: &mut Report) -> Result<(), Refusal> {
    let Some(Value::Array(types)) = obj.get("type") else {
        return Ok(());
    };
    let nullable = types.iter().any(|t| t == "null");
    let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
    match rest.as_slice() {
        [] => Err(Refusal::new(
            child(at, ["type"]),
            "a schema that only allows null has no OpenAPI 3.0 form",
        )),
        [one] => {
            let shown = Value::Array(types.clone()).to_string();
            obj.insert("type".into(), one.clone());
            if nullable {
                obj.insert("nullable".into(), Value::Bool(true));
            }
            report.record(
                PASS,
                child(at, ["type"]),
                format!(
                    "`type: {shown}` -> `type: {one}`{}",
                    if nullable { " + `nullable: true`" } else { "" }
                ),
            );
            Ok(())
        }
        _ => Err(Refusal::new(
            child(at, ["type"]),
            format!(
                "`type: {}` (several types) has no OpenAPI 3.0 form; use oneOf",
                Value::Array(types.clone())
            ),
        )),
    }
}

fn null_branches(
    obj: &mut Map<String, Value>,
    at: &str,
    key: &str,
    report: &mut Report,
) -> Result<(), Refusal> {
    let Some(Value::Array(branches)) = obj.get(key) else {
        return Ok(());
    };
    if !branches.iter().any(is_null_schema) {
        return Ok(());
    }
    let rest: Vec<Value> = branches
        .iter()
        .filter(|b| !is_null_schema(b))
        .cloned()
        .collect();
    let at_key = child(at, [key]);
    match rest.len() {
        0 => {
            return Err(Refusal::new(
                at_key,
                format!("`{key}` whose branches only allow null has no OpenAPI 3.0 form"),
            ));
        }
        1 => {
            obj.remove(key);
            let branch = rest.into_iter().next().unwrap_or_default();
            let mergeable = branch.get("$ref").is_none()
                && branch
                    .as_object()
                    .is_some_and(|b| b.keys().all(|k| !obj.contains_key(k)));
            if mergeable {
                if let Value::Object(b) = branch {
                    obj.extend(b);
                }
                report.record(
                    PASS,
                    at_key,
                    format!("null branch of `{key}` -> `nullable: true`, other branch merged"),
                );
            } else {
                obj.insert("allOf".into(), json!([branch]));
                report.record(
                    PASS,
                    at_key,
                    format!(
                        "null branch of `{key}` -> `nullable: true`, other branch kept in `allOf`"
                    ),
                );
            }
        }
        _ => {
            obj.insert(key.into(), Value::Array(rest));
            report.record(
                PASS,
                at_key,
                format!("null branch of `{key}` -> `nullable: true`"),
            );
        }
    }
    obj.insert("nullable".into(), Value::Bool(true));
    Ok(())
}

fn ref_siblings(obj: &mut Map<String, Value>, at: &str, report: &mut Report) {
    if !obj.contains_key("$ref") || obj.len() == 1 {
        return;
    }
    let dropped: Vec<String> = obj
        .keys()
        .filter(|k| ANNOTATIONS.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in &dropped {
        obj.remove(k);
    }
    if !dropped.is_empty() {
        report.record(
            PASS,
            at,
            format!("annotation beside `$ref` dropped: {}", dropped.join(", ")),
        );
    }
    if obj.len() == 1 {
        return;
    }
    let reference = obj.remove("$ref").unwrap_or_default();
    let kept: Vec<String> = obj.keys().cloned().collect();
    obj.insert("allOf".into(), json!([{ "$ref": reference }]));
    report.record(
        PASS,
        at,
        format!(
            "keys beside `$ref` kept through an `allOf` wrapper: {}",
            kept.join(", ")
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc_with(schema: Value) -> Value {
        json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
               "components": {"schemas": {"S": schema}}})
    }

    fn run_on(schema: Value) -> (Value, Report) {
        let mut doc = doc_with(schema);
        let mut report = Report::default();
        run(&mut doc, &mut report).unwrap();
        (doc["components"]["schemas"]["S"].clone(), report)
    }

    fn refusal(schema: Value) -> Refusal {
        let mut doc = doc_with(schema);
        run(&mut doc, &mut Report::default()).unwrap_err()
    }

    #[test]
    fn version_is_lowered_and_reported() {
        let mut doc = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1", "summary": "s"}, "webhooks": {}});
        let mut report = Report::default();
        run(&mut doc, &mut report).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc.get("webhooks").is_none());
        assert!(doc["info"].get("summary").is_none());
        assert_eq!(doc["paths"], json!({}));
        assert_eq!(report.changes()[0].pointer, "/openapi");
        assert_eq!(report.changes()[0].what, "version 3.1.0 -> 3.0.3");
    }

    #[test]
    fn a_30_document_is_left_alone() {
        let mut doc = json!({"openapi": "3.0.2", "paths": {}});
        let mut report = Report::default();
        run(&mut doc, &mut report).unwrap();
        assert_eq!(doc["openapi"], "3.0.2");
        assert!(report.changes().is_empty());
    }

    #[test]
    fn other_versions_are_refused() {
        let mut doc = json!({"openapi": "2.0"});
        let err = run(&mut doc, &mut Report::default()).unwrap_err();
        assert_eq!(err.pointer, "/openapi");
        assert!(err.construct.contains("2.0"));
        let mut doc = json!({"swagger": "2.0"});
        assert!(
            run(&mut doc, &mut Report::default())
                .unwrap_err()
                .construct
                .contains("missing")
        );
    }

    #[test]
    fn type_array_with_null_becomes_nullable() {
        let (s, report) =
            run_on(json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}}));
        assert_eq!(
            s["properties"]["a"],
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            report.changes()[1].pointer,
            "/components/schemas/S/properties/a/type"
        );
    }

    #[test]
    fn one_element_type_array_becomes_scalar() {
        let (s, _) = run_on(json!({"type": ["integer"]}));
        assert_eq!(s, json!({"type": "integer"}));
    }

    #[test]
    fn several_types_are_refused_with_pointer() {
        let err = refusal(json!({"type": ["string", "integer"]}));
        assert_eq!(err.pointer, "/components/schemas/S/type");
        assert!(err.construct.contains("several types"));
    }

    #[test]
    fn null_only_schemas_are_refused() {
        assert!(
            refusal(json!({"type": "null"}))
                .construct
                .contains("only allows null")
        );
        assert!(
            refusal(json!({"type": ["null"]}))
                .construct
                .contains("only allows null")
        );
        assert!(
            refusal(json!({"oneOf": [{"type": "null"}]}))
                .construct
                .contains("only allow null")
        );
    }

    #[test]
    fn null_branch_with_ref_becomes_nullable_allof() {
        let (s, report) =
            run_on(json!({"oneOf": [{"$ref": "#/components/schemas/T"}, {"type": "null"}]}));
        assert_eq!(
            s,
            json!({"allOf": [{"$ref": "#/components/schemas/T"}], "nullable": true})
        );
        assert!(report.changes()[1].what.contains("allOf"));
    }

    #[test]
    fn null_branch_with_inline_schema_is_merged() {
        let (s, _) = run_on(
            json!({"description": "d", "anyOf": [{"type": "null"}, {"type": "integer", "format": "int64"}]}),
        );
        assert_eq!(
            s,
            json!({"description": "d", "type": "integer", "format": "int64", "nullable": true})
        );
    }

    #[test]
    fn null_branch_among_several_keeps_the_others() {
        let (s, _) =
            run_on(json!({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}));
        assert_eq!(
            s,
            json!({"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": true})
        );
    }

    #[test]
    fn const_becomes_enum() {
        let (s, report) = run_on(json!({"type": "string", "const": "fixed"}));
        assert_eq!(s, json!({"type": "string", "enum": ["fixed"]}));
        assert_eq!(report.changes()[1].what, "`const` -> one-value `enum`");
    }

    #[test]
    fn numeric_exclusive_bounds_become_30_form() {
        let (s, _) =
            run_on(json!({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}));
        assert_eq!(
            s,
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true})
        );
    }

    #[test]
    fn a_stricter_inclusive_bound_wins() {
        let (s, report) = run_on(json!({"type": "integer", "minimum": 5, "exclusiveMinimum": 0}));
        assert_eq!(s, json!({"type": "integer", "minimum": 5}));
        assert!(report.changes()[1].what.contains("stricter"));
    }

    #[test]
    fn boolean_exclusive_bounds_are_already_30() {
        let (s, report) = run_on(json!({"type": "number", "minimum": 1, "exclusiveMinimum": true}));
        assert_eq!(
            s,
            json!({"type": "number", "minimum": 1, "exclusiveMinimum": true})
        );
        assert_eq!(report.changes().len(), 1);
    }

    #[test]
    fn schema_examples_are_removed_but_parameter_examples_kept() {
        let mut doc = json!({"openapi": "3.1.0", "paths": {"/a": {"get": {"parameters": [
            {"name": "q", "in": "query", "examples": {"one": {"value": "x"}},
             "schema": {"type": "string", "examples": ["x", "y"]}}]}}}});
        let mut report = Report::default();
        run(&mut doc, &mut report).unwrap();
        let p = &doc["paths"]["/a"]["get"]["parameters"][0];
        assert_eq!(p["schema"], json!({"type": "string"}));
        assert_eq!(p["examples"], json!({"one": {"value": "x"}}));
        assert_eq!(
            report.changes()[1].pointer,
            "/paths/~1a/get/parameters/0/schema/examples"
        );
    }

    #[test]
    fn a_property_named_examples_is_a_schema_not_a_keyword() {
        let (s, _) = run_on(
            json!({"type": "object", "properties": {"examples": {"type": "array", "items": {"type": "string"}}}}),
        );
        assert_eq!(s["properties"]["examples"]["type"], "array");
    }

    #[test]
    fn annotations_beside_ref_are_dropped_on_purpose() {
        let (s, report) = run_on(json!({"$ref": "#/components/schemas/T", "description": "why"}));
        assert_eq!(s, json!({"$ref": "#/components/schemas/T"}));
        assert!(report.changes()[1].what.contains("dropped: description"));
    }

    #[test]
    fn constraints_beside_ref_are_kept_through_allof() {
        let (s, report) =
            run_on(json!({"$ref": "#/components/schemas/T", "nullable": true, "description": "d"}));
        assert_eq!(
            s,
            json!({"allOf": [{"$ref": "#/components/schemas/T"}], "nullable": true})
        );
        assert!(
            report
                .changes()
                .iter()
                .any(|c| c.what.contains("`allOf` wrapper: nullable"))
        );
    }

    #[test]
    fn nested_positions_are_rewritten() {
        let (s, _) = run_on(json!({"type": "array", "items": {"type": "object",
            "additionalProperties": {"const": 1}, "properties": {"x": {"allOf": [{"type": ["number", "null"]}]}}}}));
        assert_eq!(s["items"]["additionalProperties"], json!({"enum": [1]}));
        assert_eq!(
            s["items"]["properties"]["x"]["allOf"][0],
            json!({"type": "number", "nullable": true})
        );
    }

    #[test]
    fn shape_changing_keywords_are_refused_with_pointer() {
        let err = refusal(
            json!({"type": "object", "properties": {"t": {"type": "array", "prefixItems": [{"type": "string"}]}}}),
        );
        assert_eq!(
            err.pointer,
            "/components/schemas/S/properties/t/prefixItems"
        );
        assert!(err.construct.contains("prefixItems"));
        assert!(refusal(json!(true)).construct.contains("boolean schema"));
    }

    #[test]
    fn annotation_keywords_are_dropped_and_reported() {
        let (s, report) =
            run_on(json!({"type": "string", "contentMediaType": "text/html", "$comment": "c"}));
        assert_eq!(s, json!({"type": "string"}));
        assert_eq!(report.changes().len(), 3);
    }

    #[test]
    fn response_and_body_schemas_are_visited() {
        let mut doc = json!({"openapi": "3.1.0", "paths": {"/a": {"post": {
            "requestBody": {"content": {"application/json": {"schema": {"const": "x"}}}},
            "responses": {"200": {"description": "ok",
                "headers": {"X-Rate": {"schema": {"type": ["integer", "null"]}}},
                "content": {"application/json": {"schema": {"type": ["string", "null"]}}}}}}}}});
        run(&mut doc, &mut Report::default()).unwrap();
        let op = &doc["paths"]["/a"]["post"];
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"],
            json!({"enum": ["x"]})
        );
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"],
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            op["responses"]["200"]["headers"]["X-Rate"]["schema"],
            json!({"type": "integer", "nullable": true})
        );
    }
}
