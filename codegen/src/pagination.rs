//! Which operations are cursor-paginated, read from the normalized document.
//!
//! An operation is paginated when it takes a `cursor` query parameter and its
//! success body is an object with a `cursor` property. Its items are the one
//! array property of that body whose items are a component schema; an
//! operation without one (bulk delete returns a count) pages without items,
//! and so does one whose items are written out in place (the bulk resume of
//! the workflow DLQ answers new run IDs): its pages are followed (bulk loops
//! need that), but it gets no item stream, whose item type would be a name
//! the generator makes up.

use serde_json::Value;

use crate::document::{OperationKey, operation, operation_keys, resolve, schema_ref_name};

/// A cursor-paginated operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paginated {
    /// Where it is.
    pub operation: OperationKey,
    /// Its method name (operationId).
    pub method: String,
    /// Rust type of its success body.
    pub page_type: String,
    /// Whether the page's `cursor` is required (a `String`, not an `Option`).
    pub cursor_required: bool,
    /// The items: Rust field name and Rust item type.
    pub items: Option<(String, String)>,
    /// Items written out in place rather than a component schema: the
    /// Rust field name (the operation pages without items).
    pub inline_items: Option<String>,
}

/// A paginated operation whose page shape the layer cannot follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// Where it is.
    pub operation: OperationKey,
    /// Why.
    pub reason: String,
}

/// Rust type name typify gives a component schema.
pub fn type_name(schema_name: &str) -> String {
    crate::idents::pascal(schema_name)
}

/// Finds the paginated operations of a normalized document.
pub fn find(doc: &Value) -> (Vec<Paginated>, Vec<Unsupported>) {
    let (mut found, mut unsupported) = (Vec::new(), Vec::new());
    for key in operation_keys(doc) {
        let Some(op) = operation(doc, &key) else {
            continue;
        };
        let takes_cursor = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "cursor" && p["in"] == "query");
        if !takes_cursor {
            continue;
        }
        let method = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some((_, success)) = op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .find(|(code, _)| code.starts_with('2'))
        else {
            continue;
        };
        let Some(raw_schema) = success.pointer("/content/application~1json/schema") else {
            continue;
        };
        let page_type = match schema_ref_name(raw_schema) {
            Some(name) => type_name(name),
            None => crate::idents::response_type(&method),
        };
        let Ok((schema, _)) = resolve(doc, raw_schema, "") else {
            continue;
        };
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        if !props.contains_key("cursor") {
            continue;
        }
        if props["cursor"].get("type").and_then(Value::as_str) != Some("string") {
            unsupported.push(Unsupported {
                operation: key.clone(),
                reason: "its `cursor` property is not a string".into(),
            });
            continue;
        }
        let arrays: Vec<(&String, &Value)> = props
            .iter()
            .filter(|(_, v)| v.get("type").and_then(Value::as_str) == Some("array"))
            .collect();
        let mut inline_items = None;
        let items = match arrays.as_slice() {
            [] => None,
            [(field, array)] => match array.get("items").and_then(schema_ref_name) {
                Some(item) => Some((crate::passes::parameters::rust_name(field), type_name(item))),
                None => {
                    inline_items = Some(crate::passes::parameters::rust_name(field));
                    None
                }
            },
            _ => {
                unsupported.push(Unsupported {
                    operation: key.clone(),
                    reason: "its page has several array properties".into(),
                });
                continue;
            }
        };
        let cursor_required = schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n == "cursor"));
        found.push(Paginated {
            operation: key,
            method,
            page_type,
            cursor_required,
            items,
            inline_items,
        });
    }
    (found, unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(response: Value) -> Value {
        json!({"components": {"schemas": {"DLQMessage": {"type": "object"}}},
            "paths": {"/v2/dlq": {"get": {"operationId": "list_dlq_messages",
                "parameters": [{"name": "cursor", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": response}}}}}}}})
    }

    #[test]
    fn cursor_parameter_and_cursor_field_make_a_paginated_operation() {
        let (found, unsupported) = find(&doc(json!({"type": "object", "properties": {
            "cursor": {"type": "string"},
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/DLQMessage"}}}})));
        assert!(unsupported.is_empty());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].method, "list_dlq_messages");
        assert_eq!(found[0].page_type, "ListDlqMessagesResponse");
        assert_eq!(
            found[0].items,
            Some(("messages".into(), "DlqMessage".into()))
        );
    }

    #[test]
    fn a_page_without_items_still_pages() {
        let (found, _) = find(&doc(
            json!({"type": "object", "properties": {"cursor": {"type": "string"}, "deleted": {"type": "integer"}}}),
        ));
        assert_eq!(found[0].items, None);
    }

    #[test]
    fn no_cursor_field_means_not_paginated() {
        let (found, unsupported) = find(&doc(
            json!({"type": "object", "properties": {"deleted": {"type": "integer"}}}),
        ));
        assert!(found.is_empty() && unsupported.is_empty());
    }

    #[test]
    fn items_written_in_place_page_without_an_item_stream() {
        let (found, unsupported) = find(&doc(json!({"type": "object", "properties": {
            "cursor": {"type": "string"},
            "workflowRuns": {"type": "array", "items": {"type": "object"}}}})));
        assert!(unsupported.is_empty(), "{unsupported:?}");
        assert_eq!(found[0].items, None);
        assert_eq!(found[0].inline_items.as_deref(), Some("workflow_runs"));
    }

    #[test]
    fn shapes_the_layer_cannot_follow_are_named() {
        let (found, unsupported) = find(&doc(json!({"type": "object", "properties": {
            "cursor": {"type": "integer"}, "a": {"type": "array", "items": {"type": "string"}}}})));
        assert!(found.is_empty());
        assert_eq!(unsupported[0].operation.label(), "GET /v2/dlq");
        assert!(unsupported[0].reason.contains("not a string"));
        let (found, unsupported) = find(&doc(json!({"type": "object", "properties": {
            "cursor": {"type": "string"}, "a": {"type": "array"}, "b": {"type": "array"}}})));
        assert!(found.is_empty());
        assert!(unsupported[0].reason.contains("several array"));
    }
}
