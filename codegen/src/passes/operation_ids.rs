//! operationIds from the names table.
//!
//! progenitor names each method (and the types it generates for it) after
//! the operationId. Known operations take the table's name; unknown ones a
//! deterministic name derived from method and path, and are returned so the
//! build can warn about them.

use serde_json::Value;

use crate::document::{OperationKey, operation_keys, operation_mut};
use crate::names::{Names, derived_name};
use crate::report::{Refusal, Report, child};

const PASS: &str = "operation_ids";

/// Runs the pass; returns the operations the table does not know, with the
/// names they were given.
pub fn run(
    doc: &mut Value,
    names: &Names,
    report: &mut Report,
) -> Result<Vec<(OperationKey, String)>, Refusal> {
    let mut unknown = Vec::new();
    let mut used: std::collections::BTreeMap<String, String> = Default::default();
    for key in operation_keys(doc) {
        let at = child(&key.pointer(), ["operationId"]);
        let name = match names.get(&key) {
            Some(n) => n.to_string(),
            None => {
                let n = derived_name(&key);
                unknown.push((key.clone(), n.clone()));
                n
            }
        };
        if let Some(other) = used.insert(name.clone(), key.label()) {
            return Err(Refusal::new(
                at,
                format!(
                    "method name `{name}` of {} is already the name of {other}; name it in the table",
                    key.label()
                ),
            ));
        }
        let op = operation_mut(doc, &key).ok_or_else(|| Refusal::new(&at, "operation vanished"))?;
        let previous = op.insert("operationId".into(), Value::String(name.clone()));
        let what = match previous {
            Some(Value::String(p)) if p == name => continue,
            Some(p) => format!("operationId {p} -> `{name}`"),
            None if names.get(&key).is_some() => {
                format!("operationId `{name}` from the names table")
            }
            None => format!(
                "operationId `{name}` derived from method and path (not in the names table)"
            ),
        };
        report.record(PASS, at, what);
    }
    Ok(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_names_and_derived_names() {
        let mut doc = json!({"paths": {"/v2/dlq": {"get": {}, "delete": {}}}});
        let names = Names::parse("operations: {\"GET /v2/dlq\": list_dlq_messages}\n").unwrap();
        let mut report = Report::default();
        let unknown = run(&mut doc, &names, &mut report).unwrap();
        assert_eq!(
            doc["paths"]["/v2/dlq"]["get"]["operationId"],
            "list_dlq_messages"
        );
        assert_eq!(
            doc["paths"]["/v2/dlq"]["delete"]["operationId"],
            "delete_dlq"
        );
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].0.label(), "DELETE /v2/dlq");
        assert_eq!(
            report.changes()[1].pointer,
            "/paths/~1v2~1dlq/delete/operationId"
        );
    }

    #[test]
    fn the_table_wins_over_a_documented_operation_id() {
        let mut doc = json!({"paths": {"/a": {"get": {"operationId": "getA"}}}});
        let names = Names::parse("operations: {\"GET /a\": fetch_a}\n").unwrap();
        let mut report = Report::default();
        run(&mut doc, &names, &mut report).unwrap();
        assert_eq!(doc["paths"]["/a"]["get"]["operationId"], "fetch_a");
        assert!(report.changes()[0].what.contains("getA"));
    }

    #[test]
    fn a_derived_name_that_clashes_is_refused() {
        let mut doc = json!({"paths": {"/a": {"get": {}}, "/b": {"get": {}}}});
        let names = Names::parse("operations: {\"GET /b\": get_a}\n").unwrap();
        let err = run(&mut doc, &names, &mut Report::default()).unwrap_err();
        assert!(err.construct.contains("already the name"), "{err}");
    }
}
