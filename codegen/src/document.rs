//! Reading a document and walking its operations.

use serde_json::{Map, Value};

use crate::report::{Refusal, pointer};

/// The HTTP methods an OpenAPI path item can hold, in document order.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Parses a YAML (or JSON) OpenAPI document into a JSON value.
///
/// Mapping keys that YAML reads as numbers or booleans (`200:`) become strings,
/// as they are in JSON. Tags and non-finite numbers are refused.
pub fn parse(text: &str) -> Result<Value, Refusal> {
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
            .unwrap_or_default();
        Refusal::new("", format!("not valid YAML{at}: {e}"))
    })?;
    yaml.apply_merge()
        .map_err(|e| Refusal::new("", format!("invalid YAML merge key: {e}")))?;
    let value = to_json(yaml, "")?;
    if !value.is_object() {
        return Err(Refusal::new("", "the document is not a mapping"));
    }
    Ok(value)
}

fn to_json(yaml: serde_yaml::Value, at: &str) -> Result<Value, Refusal> {
    use serde_yaml::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| Refusal::new(at, format!("non-finite number {n}")))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| to_json(v, &format!("{at}/{i}")))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(Refusal::new(
                            at,
                            format!("mapping key {other:?} is not a string"),
                        ));
                    }
                };
                let child = format!("{at}{}", pointer([&key]));
                out.insert(key, to_json(v, &child)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            return Err(Refusal::new(
                at,
                format!("YAML tag {} is not supported", t.tag),
            ));
        }
    })
}

/// Where an operation sits in the document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OperationKey {
    /// Lower-case HTTP method.
    pub method: String,
    /// Path template, as written in the document.
    pub path: String,
}

impl OperationKey {
    /// `METHOD /path`, the form the names table and the reports use.
    pub fn label(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    /// JSON pointer of the operation object.
    pub fn pointer(&self) -> String {
        pointer(["paths", &self.path, &self.method])
    }
}

/// Every operation of the document, in document order.
pub fn operation_keys(doc: &Value) -> Vec<OperationKey> {
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for m in METHODS {
                if item.get(m).is_some_and(Value::is_object) {
                    out.push(OperationKey {
                        method: m.to_string(),
                        path: path.clone(),
                    });
                }
            }
        }
    }
    out
}

/// The operation object at `key`.
pub fn operation_mut<'a>(
    doc: &'a mut Value,
    key: &OperationKey,
) -> Option<&'a mut Map<String, Value>> {
    doc.get_mut("paths")?
        .get_mut(&key.path)?
        .get_mut(&key.method)?
        .as_object_mut()
}

/// The operation object at `key`.
pub fn operation<'a>(doc: &'a Value, key: &OperationKey) -> Option<&'a Map<String, Value>> {
    doc.get("paths")?
        .get(&key.path)?
        .get(&key.method)?
        .as_object()
}

/// Follows a local `$ref` (`#/components/...`) to its target, repeatedly.
///
/// Returns the target and its pointer; a value without `$ref` is returned as is.
pub fn resolve<'a>(
    doc: &'a Value,
    value: &'a Value,
    at: &str,
) -> Result<(&'a Value, String), Refusal> {
    let mut current = value;
    let mut where_ = at.to_string();
    for _ in 0..32 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return Ok((current, where_));
        };
        let target = reference.strip_prefix('#').ok_or_else(|| {
            Refusal::new(
                &where_,
                format!("external reference `{reference}` is not supported"),
            )
        })?;
        current = doc.pointer(target).ok_or_else(|| {
            Refusal::new(
                &where_,
                format!("reference `{reference}` points to nothing"),
            )
        })?;
        where_ = target.to_string();
    }
    Err(Refusal::new(
        at,
        "reference chain longer than 32 links (a cycle?)",
    ))
}

/// The name of a component schema from its `$ref` (`#/components/schemas/X` -> `X`).
pub fn schema_ref_name(value: &Value) -> Option<&str> {
    value
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_yaml_keys_become_strings() {
        let doc = parse("paths: {}\nresponses:\n  200: {description: ok}\n").unwrap();
        assert_eq!(doc["responses"]["200"]["description"], "ok");
    }

    #[test]
    fn malformed_yaml_names_line() {
        let err = parse("a: [1, 2\nb: c").unwrap_err();
        assert!(err.construct.contains("not valid YAML"), "{err}");
        assert!(err.construct.contains("line"), "{err}");
    }

    #[test]
    fn a_scalar_document_is_refused() {
        assert!(
            parse("just text")
                .unwrap_err()
                .construct
                .contains("not a mapping")
        );
    }

    #[test]
    fn operations_in_document_order() {
        let doc = json!({"paths": {"/b": {"post": {}, "get": {}, "parameters": []}, "/a": {"delete": {}}}});
        let labels: Vec<_> = operation_keys(&doc)
            .iter()
            .map(OperationKey::label)
            .collect();
        assert_eq!(labels, ["GET /b", "POST /b", "DELETE /a"]);
    }

    #[test]
    fn resolve_follows_refs_and_reports_dangling_ones() {
        let doc = json!({"components": {"schemas": {"A": {"$ref": "#/components/schemas/B"}, "B": {"type": "string"}}}});
        let start = json!({"$ref": "#/components/schemas/A"});
        let (v, at) = resolve(&doc, &start, "/x").unwrap();
        assert_eq!(v, &json!({"type": "string"}));
        assert_eq!(at, "/components/schemas/B");
        let bad = json!({"$ref": "#/components/schemas/Nope"});
        assert!(
            resolve(&doc, &bad, "/x")
                .unwrap_err()
                .construct
                .contains("points to nothing")
        );
        let ext = json!({"$ref": "other.yaml#/A"});
        assert!(
            resolve(&doc, &ext, "/x")
                .unwrap_err()
                .construct
                .contains("external")
        );
    }
}
