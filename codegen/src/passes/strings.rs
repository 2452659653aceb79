//! String checks the generated client does not make.
//!
//! typify turns a string's `pattern` into a regular-expression check (with
//! the `regress` crate) and some `format`s into types that reject other
//! strings: `date-time` and `date` (chrono), `uuid` (uuid), `ip`, `ipv4`
//! and `ipv6` (`std::net`). A client that decodes a page of real data must
//! never fail on a string the description did not foresee, and the
//! generated crate needs none of those crates: the keywords are removed
//! from string schemas, each with a report entry. The values stay strings;
//! what they mean stays in the description.

use serde_json::Value;

use crate::passes::openapi31::{nested_schemas, schema_positions};
use crate::report::{Report, child};

const PASS: &str = "strings";

/// `format`s typify maps to a type that rejects other strings.
const STRICT_FORMATS: &[&str] = &["date-time", "date", "uuid", "ip", "ipv4", "ipv6"];

/// Runs the pass.
pub fn run(doc: &mut Value, report: &mut Report) {
    for at in schema_positions(doc) {
        if let Some(schema) = doc.pointer_mut(&at) {
            schema_node(schema, &at, report);
        }
    }
}

fn schema_node(schema: &mut Value, at: &str, report: &mut Report) {
    if let Some(obj) = schema.as_object_mut() {
        if obj.remove("pattern").is_some() {
            report.record(
                PASS,
                child(at, ["pattern"]),
                "`pattern` removed: not checked by the client",
            );
        }
        let strict = obj
            .get("format")
            .and_then(Value::as_str)
            .filter(|f| STRICT_FORMATS.contains(f))
            .map(str::to_string);
        if let Some(format) = strict {
            obj.remove("format");
            report.record(
                PASS,
                child(at, ["format"]),
                format!("`format: {format}` removed: kept as a plain string"),
            );
        }
    }
    for rel in nested_schemas(schema) {
        if let Some(sub) = schema.pointer_mut(&rel) {
            schema_node(sub, &format!("{at}{rel}"), report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_and_strict_formats_go_everywhere_other_formats_stay() {
        let mut d = json!({
            "components": {"schemas": {"Message": {"type": "object", "properties": {
                "createdAt": {"type": "string", "format": "date-time"},
                "id": {"type": "string", "pattern": "^msg_[a-z]+$", "format": "uuid"},
                "callerIp": {"type": "string", "format": "ipv4"},
                "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
                "size": {"type": "integer", "format": "int64"},
                "body": {"type": "string", "format": "binary"}
            }}}},
            "paths": {"/v2/x": {"get": {
                "parameters": [{"name": "day", "in": "query", "schema": {"type": "string", "format": "date"}}],
                "responses": {"200": {"description": "ok"}}
            }}}
        });
        let mut report = Report::default();
        run(&mut d, &mut report);
        let props = &d["components"]["schemas"]["Message"]["properties"];
        assert_eq!(props["createdAt"], json!({"type": "string"}));
        assert_eq!(props["id"], json!({"type": "string"}));
        assert_eq!(props["callerIp"], json!({"type": "string"}));
        assert_eq!(props["tags"]["items"], json!({"type": "string"}));
        assert_eq!(props["size"]["format"], "int64");
        assert_eq!(props["body"]["format"], "binary");
        assert_eq!(
            d["paths"]["/v2/x"]["get"]["parameters"][0]["schema"],
            json!({"type": "string"})
        );
        let places: Vec<&str> = report
            .changes()
            .iter()
            .map(|c| c.pointer.as_str())
            .collect();
        assert!(
            places.contains(&"/components/schemas/Message/properties/id/pattern"),
            "{places:?}"
        );
        assert!(
            places.contains(&"/paths/~1v2~1x/get/parameters/0/schema/format"),
            "{places:?}"
        );
        assert_eq!(report.changes().len(), 6, "{places:?}");
    }
}
