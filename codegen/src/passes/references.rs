//! References: every `$ref` resolves, and none is a loop of references with
//! no schema in it.
//!
//! Checked first, so that a broken reference is refused naming the place
//! where the `$ref` stands and its target, instead of surfacing later as a
//! refusal at the root or as generated code that does not compile (a schema
//! that is only a reference to itself gives two conflicting `From` impls).
//! A schema that refers to itself through a property or `items` (a tree) is
//! a legitimate recursive type and is left alone.

use serde_json::Value;

use crate::report::{Refusal, Report, child};

const PASS: &str = "references";

/// Keys that may stand beside a `$ref` without making the node a schema of
/// its own (OpenAPI 3.1 allows prose next to a reference).
const PROSE: [&str; 4] = ["description", "summary", "title", "deprecated"];

/// Runs the pass: refuses dangling, external and purely cyclic references.
pub fn run(doc: &Value, report: &mut Report) -> Result<(), Refusal> {
    let mut refs = Vec::new();
    collect(doc, "", &mut refs);
    for (at, target) in &refs {
        let pointer = target.strip_prefix('#').ok_or_else(|| {
            Refusal::new(
                at,
                format!("`$ref: {target}` refers outside the document, which is not supported"),
            )
        })?;
        if doc.pointer(pointer).is_none() {
            return Err(Refusal::new(
                at,
                format!("`$ref: {target}` points to nothing (no `{pointer}` in the document)"),
            ));
        }
        check_chain(doc, at, target)?;
    }
    if !refs.is_empty() {
        report.record(
            PASS,
            "/",
            format!("{} references checked: every one resolves", refs.len()),
        );
    }
    Ok(())
}

/// Every `$ref` of the document: where it stands (the pointer of the
/// object holding it) and its target.
fn collect(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push((at.to_string(), target.clone()));
            }
            for (key, v) in map {
                collect(v, &child(at, [key]), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect(v, &child(at, [i.to_string()]), out);
            }
        }
        _ => {}
    }
}

/// Whether a node is nothing but a reference (prose aside).
fn only_a_reference(node: &Value) -> Option<&str> {
    let map = node.as_object()?;
    let target = map.get("$ref")?.as_str()?;
    map.keys()
        .all(|k| k == "$ref" || PROSE.contains(&k.as_str()))
        .then_some(target)
}

/// Follows references that lead only to other references; refuses a loop.
fn check_chain(doc: &Value, at: &str, first: &str) -> Result<(), Refusal> {
    let mut chain = vec![first.to_string()];
    let mut target = first.to_string();
    loop {
        let Some(node) = target.strip_prefix('#').and_then(|p| doc.pointer(p)) else {
            // Dangling links further on are refused where they stand.
            return Ok(());
        };
        let Some(next) = only_a_reference(node) else {
            return Ok(());
        };
        if chain.iter().any(|c| c == next) {
            chain.push(next.to_string());
            // Refused where the loop closes, which is a schema of the loop.
            let closes = next.strip_prefix('#').unwrap_or(next);
            return Err(Refusal::new(
                closes,
                format!(
                    "references loop without ever reaching a schema: {} (reached from {})",
                    chain.join(" -> "),
                    if at.is_empty() { "/" } else { at }
                ),
            ));
        }
        chain.push(next.to_string());
        target = next.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(schemas: Value) -> Value {
        json!({
            "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/A"}}}}}}}},
            "components": {"schemas": schemas}
        })
    }

    #[test]
    fn a_dangling_reference_is_refused_where_it_stands() {
        let d = doc(json!({"A": {"type": "object", "properties": {
            "b": {"$ref": "#/components/schemas/Missing"}}}}));
        let err = run(&d, &mut Report::default()).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/A/properties/b");
        assert!(
            err.construct.contains("#/components/schemas/Missing"),
            "{err}"
        );
        assert!(err.construct.contains("points to nothing"), "{err}");
    }

    #[test]
    fn an_external_reference_is_refused() {
        let d = doc(json!({"A": {"$ref": "other.yaml#/A"}}));
        let err = run(&d, &mut Report::default()).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/A");
        assert!(err.construct.contains("outside the document"), "{err}");
    }

    #[test]
    fn a_schema_that_is_only_a_reference_to_itself_is_refused_naming_the_loop() {
        let d = doc(json!({"A": {"$ref": "#/components/schemas/A"}}));
        let err = run(&d, &mut Report::default()).unwrap_err();
        assert!(
            err.construct
                .contains("#/components/schemas/A -> #/components/schemas/A"),
            "{err}"
        );
        let d = doc(json!({
            "A": {"$ref": "#/components/schemas/B", "description": "prose does not make a schema"},
            "B": {"$ref": "#/components/schemas/A"}
        }));
        let err = run(&d, &mut Report::default()).unwrap_err();
        assert!(err.construct.contains("loop"), "{err}");
        assert!(err.construct.contains("#/components/schemas/B"), "{err}");
    }

    #[test]
    fn recursive_schemas_and_chains_that_end_in_a_schema_pass() {
        let d = doc(json!({
            "A": {"$ref": "#/components/schemas/Tree"},
            "Tree": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
                "parent": {"$ref": "#/components/schemas/Tree"}
            }}
        }));
        let mut report = Report::default();
        run(&d, &mut report).unwrap();
        assert!(
            report.changes()[0].what.contains("4 references checked"),
            "{report:?}"
        );
    }
}
