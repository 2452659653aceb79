//! Generated type names that collide with component schema names.
//!
//! progenitor names an operation's inline types after its operationId
//! (`{Op}Response`, `{Op}Body`, `{Op}{Parameter}`). When such a name is
//! already a component schema (the `publish` operation's inline response
//! would be `PublishResponse`, which is also a schema), the generator
//! silently reuses the component type: the operation would decode into the
//! wrong type. Colliding inline schemas are moved into the components under
//! a free name (`{Op}Result`), and the operation refers to them.

use heck::ToPascalCase;
use serde_json::{Value, json};

use crate::document::{operation, operation_keys, operation_mut};
use crate::report::{Refusal, Report, child, pointer};

const PASS: &str = "type_names";

fn is_inline(schema: &Value) -> bool {
    schema.get("$ref").is_none()
}

/// Runs the pass (after operationIds are set).
pub fn run(doc: &mut Value, report: &mut Report) -> Result<(), Refusal> {
    let taken = |doc: &Value, name: &str| {
        doc.pointer("/components/schemas")
            .and_then(Value::as_object)
            .is_some_and(|s| s.keys().any(|k| k.to_pascal_case() == name))
    };
    for key in operation_keys(&doc.clone()) {
        let Some(op) = operation(doc, &key) else {
            continue;
        };
        let op_id = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_pascal_case();
        let mut moves: Vec<(String, String)> = Vec::new(); // (pointer within op, suffix)
        for (code, response) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if response
                .pointer("/content/application~1json/schema")
                .is_some_and(is_inline)
            {
                moves.push((
                    pointer(["responses", code, "content", "application/json", "schema"]),
                    "Response".into(),
                ));
            }
        }
        if let Some(content) = op
            .get("requestBody")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
        {
            for (media, mt) in content {
                if mt.get("schema").is_some_and(is_inline) && media.starts_with("application/") {
                    moves.push((
                        pointer(["requestBody", "content", media, "schema"]),
                        "Body".into(),
                    ));
                }
            }
        }
        for (i, p) in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if p.get("schema").is_some_and(is_inline) {
                let suffix = p["name"].as_str().unwrap_or_default().to_pascal_case();
                moves.push((pointer(["parameters", &i.to_string(), "schema"]), suffix));
            }
        }
        for (within, suffix) in moves {
            let generated = format!("{op_id}{suffix}");
            if !taken(doc, &generated) {
                continue;
            }
            let mut name = format!("{op_id}Result");
            let mut n = 2;
            while taken(doc, &name) {
                name = format!("{op_id}Result{n}");
                n += 1;
            }
            let at = format!("{}{within}", key.pointer());
            let op =
                operation_mut(doc, &key).ok_or_else(|| Refusal::new(&at, "operation vanished"))?;
            let slot = Value::Object(op.clone())
                .pointer(&within)
                .cloned()
                .ok_or_else(|| Refusal::new(&at, "schema vanished"))?;
            let mut op_value = Value::Object(op.clone());
            if let Some(target) = op_value.pointer_mut(&within) {
                *target = json!({ "$ref": format!("#/components/schemas/{name}") });
            }
            *op = op_value.as_object().cloned().unwrap_or_default();
            doc["components"]["schemas"][&name] = slot;
            report.record(
                PASS,
                child(&at, Vec::<&str>::new()),
                format!("inline schema would be named `{generated}`, a component schema: moved to components as `{name}`"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colliding_inline_response_moves_to_components() {
        let mut d = json!({"components": {"schemas": {"PublishResponse": {"type": "object"}}},
            "paths": {"/p": {"post": {"operationId": "publish", "responses": {"200": {"description": "ok",
                "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/PublishResponse"}, {"type": "array"}]}}}}}}}}});
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        let schema =
            &d["paths"]["/p"]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(
            schema,
            &json!({"$ref": "#/components/schemas/PublishResult"})
        );
        assert_eq!(
            d["components"]["schemas"]["PublishResult"]["oneOf"][1]["type"],
            "array"
        );
        assert!(report.changes()[0].what.contains("`PublishResponse`"));
    }

    #[test]
    fn names_that_do_not_collide_stay_inline() {
        let mut d = json!({"components": {"schemas": {"Queue": {"type": "object"}}},
            "paths": {"/p": {"post": {"operationId": "enqueue", "responses": {"200": {"description": "ok",
                "content": {"application/json": {"schema": {"type": "object"}}}}}}}}});
        let before = d.clone();
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(d, before);
        assert!(report.changes().is_empty());
    }

    #[test]
    fn a_colliding_parameter_schema_moves_too() {
        let mut d = json!({"components": {"schemas": {"ListLogsState": {"type": "string"}}},
            "paths": {"/p": {"get": {"operationId": "list_logs", "parameters": [
                {"name": "state", "in": "query", "schema": {"type": "string", "enum": ["A"]}}],
                "responses": {"200": {"description": "ok"}}}}}});
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(
            d["paths"]["/p"]["get"]["parameters"][0]["schema"]["$ref"],
            "#/components/schemas/ListLogsResult"
        );
    }
}
