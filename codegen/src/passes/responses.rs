//! Responses: one success kind and one error kind per operation.
//!
//! Every QStash error is an `{"error": "..."}` body. Every operation gets the
//! error schema for every 4xx and 5xx status, including operations whose
//! document lists no error at all, so the generated client always returns the
//! typed error. When the success statuses of an operation carry different
//! JSON schemas, they are joined into one `oneOf`.

use serde_json::{Map, Value, json};

use crate::document::{operation, operation_keys, operation_mut, resolve, schema_ref_name};
use crate::report::{Refusal, Report, child, pointer};

const PASS: &str = "responses";
const JSON: &str = "application/json";
/// Name of the error schema in `components.schemas`.
pub const ERROR_SCHEMA: &str = "Error";

fn error_ref() -> Value {
    json!({ "$ref": format!("#/components/schemas/{ERROR_SCHEMA}") })
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {JSON: {"schema": error_ref()}}})
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Json(Value),
    Empty,
    Raw,
}

/// Runs the pass.
pub fn run(doc: &mut Value, report: &mut Report) -> Result<(), Refusal> {
    ensure_error_schema(doc, report)?;
    let original = doc.clone();
    for key in operation_keys(&original) {
        let op_at = key.pointer();
        let responses_at = child(&op_at, ["responses"]);
        let responses = operation(&original, &key)
            .and_then(|op| op.get("responses"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();

        let mut out = Map::new();
        let mut success: Vec<(String, Kind)> = Vec::new();
        let has_2xx = responses.keys().any(|c| c.starts_with('2'));
        for (code, response) in &responses {
            let at = child(&responses_at, [code]);
            let (resolved, _) = resolve(&original, response, &at)?;
            let mut response = resolved.clone();
            let class = code.chars().next().unwrap_or('?');
            match (code.as_str(), class) {
                ("default", _) if !has_2xx => {
                    report.record(
                        PASS,
                        &at,
                        "`default` is the only success response: kept as `2XX`",
                    );
                    success.push(("2XX".into(), kind(&response)));
                    out.insert("2XX".into(), response);
                }
                ("default", _) => {
                    report.record(
                        PASS,
                        &at,
                        "`default` response replaced by the 4XX/5XX error responses",
                    );
                }
                (_, '2') => {
                    success.push((code.clone(), kind(&response)));
                    out.insert(code.clone(), response);
                }
                (_, '4' | '5') => {
                    let schema = response.pointer(&pointer(["content", JSON, "schema"]));
                    if schema.and_then(schema_ref_name) != Some(ERROR_SCHEMA) {
                        let description = response
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or("Error")
                            .to_string();
                        response = error_response(&description);
                        report.record(
                            PASS,
                            &at,
                            format!("error response {code} typed as the `{ERROR_SCHEMA}` body"),
                        );
                    } else if response["content"].as_object().is_some_and(|c| c.len() > 1) {
                        response["content"] = json!({JSON: {"schema": error_ref()}});
                        report.record(
                            PASS,
                            &at,
                            format!("error response {code} kept as {JSON} only"),
                        );
                    }
                    out.insert(code.clone(), response);
                }
                _ => {
                    out.insert(code.clone(), response);
                }
            }
        }
        // Every error status now has the same body: one range per class
        // covers them (the generator would otherwise emit the documented
        // codes after the range, as unreachable match arms).
        let folded: Vec<String> = out
            .keys()
            .filter(|c| {
                c.len() == 3
                    && c.chars().all(|ch| ch.is_ascii_digit())
                    && matches!(&c[..1], "4" | "5")
            })
            .cloned()
            .collect();
        for code in &folded {
            out.shift_remove(code);
        }
        for range in ["4XX", "5XX"] {
            out.entry(range).or_insert_with(|| {
                error_response("An error: the server's `{\"error\": \"...\"}` body")
            });
        }
        let what = if folded.is_empty() {
            format!("4XX/5XX typed as the `{ERROR_SCHEMA}` body (none documented)")
        } else {
            format!(
                "4XX/5XX typed as the `{ERROR_SCHEMA}` body; documented {} folded into them",
                folded.join(", ")
            )
        };
        report.record(PASS, &responses_at, what);

        unify_success(&mut out, &success, &responses_at, report)?;
        widen_success(&mut out, &responses_at, report);
        let op =
            operation_mut(doc, &key).ok_or_else(|| Refusal::new(&op_at, "operation vanished"))?;
        op.insert("responses".into(), Value::Object(out));
    }
    Ok(())
}

fn kind(response: &Value) -> Kind {
    match response.get("content").and_then(Value::as_object) {
        None => Kind::Empty,
        Some(c) if c.is_empty() => Kind::Empty,
        Some(c) => match c.iter().find(|(m, _)| m.split(';').next() == Some(JSON)) {
            Some((_, mt)) => Kind::Json(mt.get("schema").cloned().unwrap_or_else(|| json!({}))),
            None => Kind::Raw,
        },
    }
}

fn unify_success(
    out: &mut Map<String, Value>,
    success: &[(String, Kind)],
    at: &str,
    report: &mut Report,
) -> Result<(), Refusal> {
    // Keep only the JSON media type of JSON responses, so every success
    // response has exactly one representation.
    for (code, k) in success {
        if let Kind::Json(schema) = k {
            let wanted = json!({JSON: {"schema": schema}});
            if out[code]["content"] != wanted {
                out[code]["content"] = wanted;
                report.record(
                    PASS,
                    child(at, [code]),
                    format!("success response {code} kept as {JSON} only, with a schema"),
                );
            }
        }
    }
    let mut schemas: Vec<&Value> = Vec::new();
    let (mut json_codes, mut empty_codes, mut raw_codes) = (vec![], vec![], vec![]);
    for (code, k) in success {
        match k {
            Kind::Json(s) => {
                json_codes.push(code.as_str());
                if !schemas.contains(&s) {
                    schemas.push(s);
                }
            }
            Kind::Empty => empty_codes.push(code.as_str()),
            Kind::Raw => raw_codes.push(code.as_str()),
        }
    }
    let kinds = [
        !json_codes.is_empty(),
        !empty_codes.is_empty(),
        !raw_codes.is_empty(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if kinds > 1 {
        return Err(Refusal::new(
            at,
            format!(
                "success responses of different kinds (JSON: {json_codes:?}, empty: {empty_codes:?}, other media: {raw_codes:?}) cannot share one return type"
            ),
        ));
    }
    if schemas.len() > 1 {
        let joined = json!({ "oneOf": schemas });
        for code in &json_codes {
            out[*code]["content"] = json!({JSON: {"schema": joined}});
        }
        report.record(
            PASS,
            at,
            format!(
                "success schemas of {} joined into one oneOf",
                json_codes.join(", ")
            ),
        );
    }
    Ok(())
}

/// The service is not held to the documented success code: the official
/// SDKs accept any 2xx (service evidence row 17), so once every success
/// response has one shape, the documented codes become one `2XX` range.
fn widen_success(out: &mut Map<String, Value>, at: &str, report: &mut Report) {
    let codes: Vec<String> = out
        .keys()
        .filter(|c| c.len() == 3 && c.starts_with('2') && c.chars().all(|ch| ch.is_ascii_digit()))
        .cloned()
        .collect();
    let Some(first) = codes.first() else {
        return;
    };
    let response = out[first].clone();
    for code in &codes {
        out.shift_remove(code);
    }
    out.entry("2XX").or_insert(response);
    report.record(
        PASS,
        at,
        format!(
            "success {} accepted as any 2XX (the official SDKs accept any 2xx: service evidence row 17)",
            codes.join(", ")
        ),
    );
}

fn ensure_error_schema(doc: &mut Value, report: &mut Report) -> Result<(), Refusal> {
    let at = pointer(["components", "schemas", ERROR_SCHEMA]);
    if let Some(existing) = doc.pointer(&at) {
        let ok = existing
            .pointer("/properties/error/type")
            .and_then(Value::as_str)
            == Some("string");
        if !ok {
            return Err(Refusal::new(
                at,
                "schema `Error` must describe the `{\"error\": \"...\"}` body (a string property `error`)",
            ));
        }
        return Ok(());
    }
    let root = doc
        .as_object_mut()
        .ok_or_else(|| Refusal::new("", "the document is not a mapping"))?;
    let components = root.entry("components").or_insert_with(|| json!({}));
    let schemas = components
        .as_object_mut()
        .ok_or_else(|| Refusal::new("/components", "`components` is not a mapping"))?
        .entry("schemas")
        .or_insert_with(|| json!({}));
    schemas.as_object_mut().ok_or_else(|| Refusal::new("/components/schemas", "`schemas` is not a mapping"))?.insert(
        ERROR_SCHEMA.into(),
        json!({"type": "object", "required": ["error"], "description": "An error reported by QStash.",
               "properties": {"error": {"type": "string", "description": "What went wrong."}}}),
    );
    report.record(PASS, at, "error schema added (the document has none)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(responses: Value) -> Value {
        json!({"components": {"schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}}}},
               "paths": {"/p": {"get": {"responses": responses}}}})
    }

    fn responses(d: &Value) -> &Value {
        &d["paths"]["/p"]["get"]["responses"]
    }

    #[test]
    fn operations_without_errors_get_the_typed_error() {
        let mut d = doc(json!({"200": {"description": "ok"}}));
        run(&mut d, &mut Report::default()).unwrap();
        let r = responses(&d);
        assert_eq!(r["4XX"]["content"][JSON]["schema"], error_ref());
        assert_eq!(r["5XX"]["content"][JSON]["schema"], error_ref());
        assert_eq!(r["2XX"], json!({"description": "ok"}));
    }

    #[test]
    fn documented_errors_of_other_shapes_become_the_error_body() {
        let mut d = doc(json!({"200": {"description": "ok"},
            "412": {"description": "precondition", "content": {"text/plain": {"schema": {"type": "string"}}}},
            "404": {"description": "missing", "content": {JSON: {"schema": error_ref()}}}}));
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        let changed: Vec<_> = report
            .changes()
            .iter()
            .map(|c| c.pointer.as_str())
            .collect();
        assert!(changed.contains(&"/paths/~1p/get/responses/412"));
        assert!(!changed.contains(&"/paths/~1p/get/responses/404"));
        let keys: Vec<_> = responses(&d).as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["4XX", "5XX", "2XX"]);
        assert!(
            report
                .changes()
                .iter()
                .any(|c| c.what.contains("documented 412, 404 folded"))
        );
    }

    #[test]
    fn default_is_replaced_by_error_ranges() {
        let mut d = doc(
            json!({"200": {"description": "ok"}, "default": {"description": "err", "content": {JSON: {"schema": error_ref()}}}}),
        );
        run(&mut d, &mut Report::default()).unwrap();
        assert!(responses(&d).get("default").is_none());
    }

    #[test]
    fn a_lone_default_is_the_success() {
        let mut d = doc(
            json!({"default": {"description": "ok", "content": {JSON: {"schema": {"type": "string"}}}}}),
        );
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(
            responses(&d)["2XX"]["content"][JSON]["schema"],
            json!({"type": "string"})
        );
    }

    #[test]
    fn different_success_schemas_are_joined() {
        let mut d = doc(
            json!({"200": {"description": "a", "content": {JSON: {"schema": {"type": "string"}}}},
                               "201": {"description": "b", "content": {JSON: {"schema": {"type": "integer"}}}}}),
        );
        run(&mut d, &mut Report::default()).unwrap();
        let joined = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(responses(&d)["2XX"]["content"][JSON]["schema"], joined);
        assert!(responses(&d).get("201").is_none());
    }

    #[test]
    fn the_documented_success_code_is_widened_to_any_2xx() {
        let mut d = doc(
            json!({"201": {"description": "made", "content": {JSON: {"schema": {"type": "string"}}}},
            "404": {"description": "missing", "content": {JSON: {"schema": error_ref()}}}}),
        );
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        let r = responses(&d);
        assert!(r.get("201").is_none());
        assert_eq!(
            r["2XX"]["content"][JSON]["schema"],
            json!({"type": "string"})
        );
        assert!(
            report
                .changes()
                .iter()
                .any(|c| c.what.contains("success 201 accepted as any 2XX")
                    && c.what.contains("row 17")),
            "{report:?}"
        );
    }

    #[test]
    fn mixed_success_kinds_are_refused() {
        let mut d = doc(
            json!({"200": {"description": "a", "content": {JSON: {"schema": {}}}}, "204": {"description": "none"}}),
        );
        let err = run(&mut d, &mut Report::default()).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1p/get/responses");
        assert!(err.construct.contains("different kinds"));
    }

    #[test]
    fn a_missing_error_schema_is_added_and_a_wrong_one_refused() {
        let mut d =
            json!({"paths": {"/p": {"get": {"responses": {"200": {"description": "ok"}}}}}});
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(
            d["components"]["schemas"]["Error"]["properties"]["error"]["type"],
            "string"
        );
        assert_eq!(report.changes()[0].pointer, "/components/schemas/Error");
        let mut d = json!({"components": {"schemas": {"Error": {"type": "string"}}}, "paths": {}});
        assert!(
            run(&mut d, &mut Report::default())
                .unwrap_err()
                .construct
                .contains("must describe")
        );
    }

    #[test]
    fn a_json_response_without_schema_gets_any_value() {
        let mut d = doc(json!({"200": {"description": "a", "content": {JSON: {}}}}));
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(responses(&d)["2XX"]["content"][JSON]["schema"], json!({}));
    }

    #[test]
    fn extra_success_media_types_are_dropped() {
        let mut d = doc(
            json!({"200": {"description": "a", "content": {JSON: {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}}),
        );
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(
            responses(&d)["2XX"]["content"].as_object().unwrap().len(),
            1
        );
    }
}
