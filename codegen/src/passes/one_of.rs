//! Overlapping `oneOf` branches, made distinguishable.
//!
//! The generator turns a `oneOf` into an untagged enum: the first branch
//! that decodes wins. When every branch is an object with only optional
//! properties, the first branch matches any object and the others are never
//! chosen: their data would be silently lost. (Upstream's publish and
//! enqueue responses are such a `oneOf`: a message, or `{"messages": [...]}`
//! for a URL group.)
//!
//! For such a `oneOf`, each inline branch that has a property no other
//! branch has gets that property required, and those branches go first; the
//! rest keep their order after them. A `oneOf` whose branches cannot be told
//! apart this way is reported and left alone.

use serde_json::{Value, json};

use crate::document::resolve;
use crate::report::{Refusal, Report, child};

const PASS: &str = "one_of";

/// Runs the pass.
pub fn run(doc: &mut Value, report: &mut Report) -> Result<(), Refusal> {
    let original = doc.clone();
    for at in super::openapi31::schema_positions(&original) {
        visit(&original, doc, &at, report)?;
    }
    Ok(())
}

/// Rewrites the `oneOf` at `at` in `doc`, then descends into the schemas
/// nested in the rewritten node: after branches are reordered, a nested
/// schema's place is its new index, not the one it had. References resolve
/// in `original` (the rewrite changes branch order and `required` only).
fn visit(original: &Value, doc: &mut Value, at: &str, report: &mut Report) -> Result<(), Refusal> {
    let Some(branches) = doc
        .pointer(at)
        .and_then(|s| s.get("oneOf"))
        .and_then(Value::as_array)
        .cloned()
    else {
        return descend(original, doc, at, report);
    };
    if let Some(rewritten) = discriminate(original, &branches, &child(at, ["oneOf"]), report)?
        && let Some(node) = doc.pointer_mut(&child(at, ["oneOf"]))
    {
        *node = rewritten;
    }
    descend(original, doc, at, report)
}

fn descend(
    original: &Value,
    doc: &mut Value,
    at: &str,
    report: &mut Report,
) -> Result<(), Refusal> {
    let nested = match doc.pointer(at) {
        Some(schema) => super::openapi31::nested_schemas(schema),
        None => return Ok(()),
    };
    for rel in nested {
        visit(original, doc, &format!("{at}{rel}"), report)?;
    }
    Ok(())
}

/// Property names of an object branch, or `None` when the branch is not a
/// plain object or already requires something.
fn optional_object_props(
    doc: &Value,
    branch: &Value,
    at: &str,
) -> Result<Option<Vec<String>>, Refusal> {
    let (resolved, _) = resolve(doc, branch, at)?;
    let is_object = resolved.get("type").and_then(Value::as_str) == Some("object")
        || resolved.get("properties").is_some();
    let requires = resolved
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    if !is_object || requires {
        return Ok(None);
    }
    Ok(Some(
        resolved
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default(),
    ))
}

fn discriminate(
    doc: &Value,
    branches: &[Value],
    at: &str,
    report: &mut Report,
) -> Result<Option<Value>, Refusal> {
    if branches.len() < 2 {
        return Ok(None);
    }
    let mut props = Vec::new();
    for (i, b) in branches.iter().enumerate() {
        match optional_object_props(doc, b, &child(at, [i.to_string()]))? {
            Some(p) => props.push(p),
            // A branch that is not an all-optional object: the decoder can
            // already tell it apart, or it is not ours to fix.
            None => return Ok(None),
        }
    }
    let mut first = Vec::new();
    let mut rest = Vec::new();
    let mut made_required = Vec::new();
    for (i, b) in branches.iter().enumerate() {
        let unique = props[i].iter().find(|p| {
            props
                .iter()
                .enumerate()
                .all(|(j, other)| j == i || !other.contains(p))
        });
        match (unique, b.get("$ref")) {
            (Some(p), None) => {
                let mut b = b.clone();
                b["required"] = json!([p]);
                made_required.push(format!("branch {i} requires `{p}`"));
                first.push(b);
            }
            _ => rest.push(b.clone()),
        }
    }
    if made_required.is_empty() {
        report.record(
            PASS,
            at,
            "branches overlap and cannot be told apart: the first that decodes wins",
        );
        return Ok(None);
    }
    report.record(
        PASS,
        at,
        format!(
            "overlapping branches told apart: {}; those branches tried first",
            made_required.join(", ")
        ),
    );
    first.extend(rest);
    Ok(Some(Value::Array(first)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(one_of: Value) -> Value {
        json!({"components": {"schemas": {
            "Msg": {"type": "object", "properties": {"messageId": {"type": "string"}, "url": {"type": "string"}}},
            "S": {"oneOf": one_of}}}})
    }

    #[test]
    fn the_distinctive_branch_requires_its_property_and_goes_first() {
        let mut d = doc(json!([
            {"$ref": "#/components/schemas/Msg"},
            {"type": "object", "properties": {"messages": {"type": "array", "items": {"$ref": "#/components/schemas/Msg"}}}}
        ]));
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        let one_of = &d["components"]["schemas"]["S"]["oneOf"];
        assert_eq!(one_of[0]["required"], json!(["messages"]));
        assert_eq!(one_of[1], json!({"$ref": "#/components/schemas/Msg"}));
        assert_eq!(report.changes()[0].pointer, "/components/schemas/S/oneOf");
        assert!(
            report.changes()[0]
                .what
                .contains("branch 1 requires `messages`")
        );
    }

    #[test]
    fn branches_that_already_differ_are_left_alone() {
        let one_of = json!([{"type": "string"}, {"type": "object", "properties": {"a": {}}}]);
        let mut d = doc(one_of.clone());
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(d["components"]["schemas"]["S"]["oneOf"], one_of);
        assert!(report.changes().is_empty());
        let one_of = json!([{"type": "object", "required": ["a"], "properties": {"a": {}}}, {"type": "object", "properties": {"b": {}}}]);
        let mut d = doc(one_of.clone());
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(d["components"]["schemas"]["S"]["oneOf"], one_of);
    }

    #[test]
    fn indistinguishable_branches_are_reported() {
        let one_of = json!([{"type": "object", "properties": {"a": {}}}, {"type": "object", "properties": {"a": {}}}]);
        let mut d = doc(one_of.clone());
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(d["components"]["schemas"]["S"]["oneOf"], one_of);
        assert!(report.changes()[0].what.contains("cannot be told apart"));
    }

    #[test]
    fn a_nested_one_of_is_fixed_where_its_branch_went() {
        // Branch 1 has a property of its own and moves first; the `oneOf`
        // nested in it must be fixed at its new place, /oneOf/0.
        let mut d = doc(json!([
            {"type": "object", "properties": {"y": {}}},
            {"type": "object", "properties": {"y": {}, "z": {"oneOf": [
                {"type": "object", "properties": {"p": {"type": "string"}}},
                {"type": "object", "properties": {"q": {"type": "string"}}}
            ]}}}
        ]));
        run(&mut d, &mut Report::default()).unwrap();
        let one_of = &d["components"]["schemas"]["S"]["oneOf"];
        assert_eq!(one_of[0]["required"], json!(["z"]));
        let nested = &one_of[0]["properties"]["z"]["oneOf"];
        assert_eq!(nested[0]["required"], json!(["p"]), "{d:#}");
        assert_eq!(nested[1]["required"], json!(["q"]), "{d:#}");
        assert!(one_of[1].get("required").is_none());
    }

    #[test]
    fn nested_one_of_in_responses_is_found() {
        let mut d = json!({"components": {"schemas": {"Msg": {"type": "object", "properties": {"id": {}}}}},
            "paths": {"/p": {"post": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Msg"}, {"type": "object", "properties": {"list": {"type": "array"}}}]}}}}}}}}});
        run(&mut d, &mut Report::default()).unwrap();
        let s =
            &d["paths"]["/p"]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(s["oneOf"][0]["required"], json!(["list"]));
    }
}
