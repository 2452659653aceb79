//! Request bodies: exactly one media type per operation, of a kind the
//! generator can send.
//!
//! A body offered in several media types that include a non-JSON one
//! (publish, enqueue and create schedule offer text, JSON and bytes) is a raw
//! message: QStash forwards it as it is. Such bodies become
//! `application/octet-stream` bytes, and the operation gets an optional
//! `Content-Type` header parameter so the caller states what the bytes are.
//! A body offered only in JSON variants keeps `application/json`.

use serde_json::{Map, Value, json};

use crate::document::{operation, operation_keys, operation_mut, resolve};
use crate::report::{Refusal, Report, child};

const PASS: &str = "bodies";
const JSON: &str = "application/json";
const BYTES: &str = "application/octet-stream";

fn base(media: &str) -> &str {
    media.split(';').next().unwrap_or(media).trim()
}

fn is_json(media: &str) -> bool {
    let m = base(media);
    m == JSON || (m.starts_with("application/") && m.ends_with("+json"))
}

/// Runs the pass.
pub fn run(doc: &mut Value, report: &mut Report) -> Result<(), Refusal> {
    let original = doc.clone();
    for key in operation_keys(&original) {
        let op_at = key.pointer();
        let Some(body) = operation(&original, &key).and_then(|op| op.get("requestBody")) else {
            continue;
        };
        let body_at = child(&op_at, ["requestBody"]);
        let (body, _) = resolve(&original, body, &body_at)?;
        let mut body = body.clone();
        let content_at = child(&body_at, ["content"]);
        let content = body
            .get("content")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| Refusal::new(&body_at, "request body without `content`"))?;
        if content.is_empty() {
            let op = operation_mut(doc, &key)
                .ok_or_else(|| Refusal::new(&op_at, "operation vanished"))?;
            op.remove("requestBody");
            report.record(PASS, &body_at, "request body with no media type removed");
            continue;
        }
        for (media, mt) in &content {
            if base(media) == "multipart/form-data" {
                return Err(Refusal::new(
                    child(&content_at, [media]),
                    "multipart/form-data request bodies are not supported",
                ));
            }
            if mt
                .get("encoding")
                .and_then(Value::as_object)
                .is_some_and(|e| !e.is_empty())
            {
                return Err(Refusal::new(
                    child(&content_at, [media, "encoding"]),
                    "request body `encoding` is not supported",
                ));
            }
        }

        let medias: Vec<&String> = content.keys().collect();
        let all_json = medias.iter().all(|m| is_json(m));
        let raw = !all_json
            && (medias.len() > 1
                || !matches!(
                    base(medias[0]),
                    BYTES | "text/plain" | "application/x-www-form-urlencoded"
                ));
        let mut add_content_type = false;
        let new_content: Map<String, Value> = if raw {
            add_content_type = true;
            report.record(
                PASS,
                &content_at,
                format!(
                    "raw message body ({}) -> {BYTES} bytes with the caller's Content-Type",
                    medias
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            one(BYTES, json!({"type": "string", "format": "binary"}))
        } else if all_json {
            let chosen = medias
                .iter()
                .find(|m| base(m) == JSON)
                .unwrap_or(&medias[0])
                .to_string();
            if medias.len() > 1 || base(&chosen) != JSON {
                report.record(
                    PASS,
                    &content_at,
                    format!(
                        "JSON body kept as {JSON} only (was {})",
                        medias
                            .iter()
                            .map(|m| m.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            let schema = content[&chosen].get("schema").cloned().unwrap_or_else(|| {
                report.record(
                    PASS,
                    child(&content_at, [&chosen]),
                    "JSON body without schema typed as any value",
                );
                json!({})
            });
            one(JSON, schema)
        } else {
            // One non-JSON media type the generator supports.
            let media = medias[0].clone();
            let at = child(&content_at, [&media, "schema"]);
            let schema = content[&media]
                .get("schema")
                .cloned()
                .unwrap_or(Value::Null);
            let (want, expected) = match base(&media) {
                BYTES => (json!({"type": "string", "format": "binary"}), "bytes"),
                "text/plain" => (json!({"type": "string"}), "a string"),
                _ => (schema.clone(), ""),
            };
            if !expected.is_empty() && !same_string_schema(&schema, &want) {
                report.record(
                    PASS,
                    &at,
                    format!("{media} body schema set to {want} ({expected})"),
                );
                one(base(&media), want)
            } else {
                let mut m = Map::new();
                m.insert(media.clone(), content[&media].clone());
                m
            }
        };
        body.as_object_mut()
            .map(|b| b.insert("content".into(), Value::Object(new_content)));

        let op =
            operation_mut(doc, &key).ok_or_else(|| Refusal::new(&op_at, "operation vanished"))?;
        op.insert("requestBody".into(), body);
        if add_content_type {
            let params = op
                .entry("parameters")
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .ok_or_else(|| {
                    Refusal::new(child(&op_at, ["parameters"]), "`parameters` is not a list")
                })?;
            let declared = params.iter().any(|p| {
                p["in"] == "header"
                    && p["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("content-type"))
            });
            if !declared {
                params.push(json!({
                    "name": "Content-Type",
                    "in": "header",
                    "required": false,
                    "description": "Media type of the message body; QStash forwards it to the destination.",
                    "schema": {"type": "string"}
                }));
                report.record(
                    PASS,
                    child(&op_at, ["parameters"]),
                    "optional `Content-Type` header parameter added for the raw body",
                );
            }
        }
    }
    Ok(())
}

fn one(media: &str, schema: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(media.to_string(), json!({ "schema": schema }));
    m
}

/// True when `schema` is exactly the bare string (or binary) form the
/// generator requires, ignoring descriptions.
fn same_string_schema(schema: &Value, want: &Value) -> bool {
    let Some(obj) = schema.as_object() else {
        return false;
    };
    let stripped: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "description" | "title" | "example"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(stripped) == *want
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: Value, params: Value) -> Value {
        json!({"paths": {"/p": {"post": {"parameters": params, "requestBody": body}}}})
    }

    fn op(d: &Value) -> &Value {
        &d["paths"]["/p"]["post"]
    }

    #[test]
    fn raw_message_bodies_become_bytes_with_content_type() {
        let mut d = doc(
            json!({"required": false, "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}),
            json!([]),
        );
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(
            op(&d)["requestBody"],
            json!({"required": false, "content": {BYTES: {"schema": {"type": "string", "format": "binary"}}}})
        );
        assert_eq!(op(&d)["parameters"][0]["name"], "Content-Type");
        assert_eq!(
            report.changes()[0].pointer,
            "/paths/~1p/post/requestBody/content"
        );
        assert_eq!(report.changes().len(), 2);
    }

    #[test]
    fn a_declared_content_type_is_not_added_twice() {
        let mut d = doc(
            json!({"content": {"text/plain": {"schema": {"type": "string"}}, "application/json": {"schema": {}}}}),
            json!([{"name": "content-type", "in": "header", "schema": {"type": "string"}}]),
        );
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(op(&d)["parameters"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn json_variants_keep_application_json() {
        let mut d = doc(
            json!({"content": {"application/merge-patch+json": {"schema": {"type": "string"}},
                               "application/json": {"schema": {"type": "object"}}}}),
            json!([]),
        );
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(
            op(&d)["requestBody"]["content"],
            json!({JSON: {"schema": {"type": "object"}}})
        );
        assert!(report.changes()[0].what.contains("application/json only"));
    }

    #[test]
    fn a_single_json_body_is_untouched() {
        let body = json!({"content": {JSON: {"schema": {"$ref": "#/components/schemas/X"}}}});
        let mut d = doc(body.clone(), json!([]));
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(op(&d)["requestBody"], body);
        assert!(report.changes().is_empty());
    }

    #[test]
    fn an_octet_stream_body_gets_the_binary_schema() {
        let mut d = doc(
            json!({"content": {BYTES: {"schema": {"type": "string"}}}}),
            json!([]),
        );
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(
            op(&d)["requestBody"]["content"][BYTES]["schema"],
            json!({"type": "string", "format": "binary"})
        );
        assert_eq!(report.changes().len(), 1);
    }

    #[test]
    fn an_unknown_single_media_type_is_sent_as_bytes() {
        let mut d = doc(
            json!({"content": {"application/xml": {"schema": {"type": "string"}}}}),
            json!([]),
        );
        run(&mut d, &mut Report::default()).unwrap();
        assert!(op(&d)["requestBody"]["content"].get(BYTES).is_some());
        assert_eq!(op(&d)["parameters"][0]["name"], "Content-Type");
    }

    #[test]
    fn multipart_and_encodings_are_refused_with_pointer() {
        let mut d = doc(
            json!({"content": {"multipart/form-data": {"schema": {}}}}),
            json!([]),
        );
        let err = run(&mut d, &mut Report::default()).unwrap_err();
        assert_eq!(
            err.pointer,
            "/paths/~1p/post/requestBody/content/multipart~1form-data"
        );
        let mut d = doc(
            json!({"content": {JSON: {"schema": {}, "encoding": {"a": {}}}}}),
            json!([]),
        );
        assert!(
            run(&mut d, &mut Report::default())
                .unwrap_err()
                .construct
                .contains("encoding")
        );
    }

    #[test]
    fn body_refs_are_inlined() {
        let mut d = json!({"components": {"requestBodies": {"B": {"content": {JSON: {"schema": {"type": "object"}}}}}},
            "paths": {"/p": {"post": {"requestBody": {"$ref": "#/components/requestBodies/B"}}}}});
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(
            op(&d)["requestBody"]["content"][JSON]["schema"]["type"],
            "object"
        );
    }
}
