//! API facts of a document, and the differences between two documents.
//!
//! A fact is what a client depends on: an operation's existence and tags, a
//! parameter's location, schema, requiredness and deprecation, a body's media
//! types and schemas, a response's status, media types and schemas, each
//! component schema. Prose (`description`, `summary`), examples and `x-`
//! extensions are not facts. Facts are read from the document as published,
//! before normalization.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::document::{operation, operation_keys};

/// Facts keyed by what they are about (`parameter GET /v2/dlq query cursor`).
pub type Facts = BTreeMap<String, String>;

/// Strips prose, examples and extensions, recursively, keeping key order
/// canonical so equal facts print equally.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map
                .keys()
                .filter(|k| {
                    !matches!(
                        k.as_str(),
                        "description" | "summary" | "examples" | "example"
                    ) && !k.starts_with("x-")
                })
                .collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn text(value: &Value) -> String {
    canonical(value).to_string()
}

/// Every fact of a document.
pub fn facts(doc: &Value) -> Facts {
    let mut out = Facts::new();
    for key in ["openapi", "servers", "security"] {
        if let Some(v) = doc.get(key) {
            out.insert(key.to_string(), text(v));
        }
    }
    if let Some(v) = doc.pointer("/info/version") {
        out.insert("info version".into(), text(v));
    }
    if let Some(tags) = doc.get("tags").and_then(Value::as_array) {
        for t in tags {
            out.insert(
                format!("tag {}", t["name"].as_str().unwrap_or_default()),
                text(t),
            );
        }
    }
    if let Some(schemes) = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    {
        for (name, s) in schemes {
            out.insert(format!("security scheme {name}"), text(s));
        }
    }
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            let mut shape = s.clone();
            if let Some(props) = shape.as_object_mut().and_then(|o| o.remove("properties")) {
                for (prop, ps) in props.as_object().into_iter().flatten() {
                    out.insert(format!("schema {name} property {prop}"), text(ps));
                }
            }
            out.insert(format!("schema {name}"), text(&shape));
        }
    }
    for key in operation_keys(doc) {
        let label = key.label();
        let Some(op) = operation(doc, &key) else {
            continue;
        };
        let mut op_shape = Map::new();
        for k in ["tags", "deprecated", "security", "operationId"] {
            if let Some(v) = op.get(k) {
                op_shape.insert(k.into(), v.clone());
            }
        }
        out.insert(format!("operation {label}"), text(&Value::Object(op_shape)));
        let item_params = doc
            .get("paths")
            .and_then(|p| p.get(&key.path))
            .and_then(|i| i.get("parameters"))
            .and_then(Value::as_array);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for p in item_params.into_iter().flatten().chain(
            op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        ) {
            let id = format!(
                "{} {}",
                p["in"].as_str().unwrap_or("?"),
                p["name"]
                    .as_str()
                    .unwrap_or_else(|| p["$ref"].as_str().unwrap_or("?"))
            );
            let n = seen.entry(id.clone()).or_default();
            *n += 1;
            let suffix = if *n > 1 {
                format!(" (declared {} times)", n)
            } else {
                String::new()
            };
            let mut shape = p.clone();
            if let Some(o) = shape.as_object_mut() {
                o.remove("name");
                o.remove("in");
            }
            out.insert(format!("parameter {label} {id}{suffix}"), text(&shape));
        }
        if let Some(body) = op.get("requestBody") {
            let mut shape = body.clone();
            let content = shape.as_object_mut().and_then(|o| o.remove("content"));
            out.insert(format!("body {label}"), text(&shape));
            for (media, mt) in content
                .as_ref()
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                out.insert(format!("body {label} {media}"), text(mt));
            }
        }
        for (code, response) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let mut shape = response.clone();
            let content = shape.as_object_mut().and_then(|o| o.remove("content"));
            out.insert(format!("response {label} {code}"), text(&shape));
            for (media, mt) in content
                .as_ref()
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                out.insert(format!("response {label} {code} {media}"), text(mt));
            }
        }
    }
    out
}

/// One difference between two documents' facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Only in the new document.
    Added { about: String, new: String },
    /// Only in the old document.
    Removed { about: String, old: String },
    /// In both, with different values.
    Changed {
        about: String,
        old: String,
        new: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Added { about, new } => write!(f, "+ {about}: {new}"),
            Difference::Removed { about, old } => write!(f, "- {about}: {old}"),
            Difference::Changed { about, old, new } => {
                write!(f, "~ {about}:\n    old: {old}\n    new: {new}")
            }
        }
    }
}

/// What changed from `old` to `new`, ordered by what it is about.
pub fn diff(old: &Value, new: &Value) -> Vec<Difference> {
    let (old, new) = (facts(old), facts(new));
    let mut out = Vec::new();
    for (about, o) in &old {
        match new.get(about) {
            None => out.push(Difference::Removed {
                about: about.clone(),
                old: o.clone(),
            }),
            Some(n) if n != o => out.push(Difference::Changed {
                about: about.clone(),
                old: o.clone(),
                new: n.clone(),
            }),
            Some(_) => {}
        }
    }
    for (about, n) in &new {
        if !old.contains_key(about) {
            out.push(Difference::Added {
                about: about.clone(),
                new: n.clone(),
            });
        }
    }
    out.sort_by(|a, b| about(a).cmp(about(b)));
    out
}

fn about(d: &Difference) -> &str {
    match d {
        Difference::Added { about, .. }
        | Difference::Removed { about, .. }
        | Difference::Changed { about, .. } => about,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"openapi": "3.1.0", "info": {"version": "1", "description": "x"},
            "components": {"schemas": {"M": {"type": "object", "description": "m", "properties": {"id": {"type": "string", "examples": ["a"]}}}}},
            "paths": {"/m/{id}": {"get": {"summary": "s", "x-mint": {}, "parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "d"}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/M"}}}}}}}}})
    }

    #[test]
    fn prose_is_not_a_fact() {
        let mut other = base();
        other["info"]["description"] = json!("other words");
        other["paths"]["/m/{id}"]["get"]["summary"] = json!("other");
        other["paths"]["/m/{id}"]["get"]["parameters"][0]["description"] = json!("other");
        other["components"]["schemas"]["M"]["properties"]["id"]["examples"] = json!(["b"]);
        assert_eq!(diff(&base(), &other), vec![]);
    }

    #[test]
    fn every_kind_of_change_is_listed() {
        let mut new = base();
        new["paths"]["/m/{id}"]["get"]["parameters"][0]["required"] = json!(false);
        new["paths"]["/m/{id}"]["get"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "q", "in": "query", "schema": {"type": "integer"}}));
        new["paths"]["/m/{id}"]["get"]["responses"]["404"] = json!({"description": "missing"});
        new["components"]["schemas"]["M"]["properties"]["id"]["type"] = json!("integer");
        new["paths"]["/m/{id}"]["delete"] = json!({"responses": {"200": {"description": "ok"}}});
        let d: Vec<String> = diff(&base(), &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        let joined = d.join("\n");
        assert!(joined.contains("+ operation DELETE /m/{id}"), "{joined}");
        assert!(
            joined.contains("~ parameter GET /m/{id} path id"),
            "{joined}"
        );
        assert!(
            joined.contains("+ parameter GET /m/{id} query q"),
            "{joined}"
        );
        assert!(joined.contains("+ response GET /m/{id} 404"), "{joined}");
        assert!(joined.contains("~ schema M property id"), "{joined}");
    }

    #[test]
    fn a_parameter_declared_twice_is_a_fact() {
        let mut new = base();
        let p = new["paths"]["/m/{id}"]["get"]["parameters"][0].clone();
        new["paths"]["/m/{id}"]["get"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(p);
        let d = diff(&base(), &new);
        assert_eq!(d.len(), 1);
        assert!(d[0].to_string().contains("declared 2 times"));
    }

    #[test]
    fn removed_things_are_listed() {
        let mut new = base();
        new["components"]["schemas"]
            .as_object_mut()
            .unwrap()
            .remove("M");
        let d = diff(&base(), &new);
        assert!(d.iter().all(|x| matches!(x, Difference::Removed { .. })));
        assert_eq!(d.len(), 2);
    }
}
