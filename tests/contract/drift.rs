//! Our descriptions (`openapi/qstash/openapi.yaml`,
//! `openapi/workflow/openapi.yaml`) must state exactly the API facts of the
//! newest published upstream documents (prose aside), in their shape; and
//! each names table must name every operation of its description.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use qstash_codegen::Names;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> Value {
    qstash_codegen::document::parse(&std::fs::read_to_string(p).unwrap())
        .unwrap_or_else(|e| panic!("{}", e.in_file(p)))
}

fn names(rel: &str) -> Names {
    let p = root().join(rel);
    Names::parse(&std::fs::read_to_string(&p).unwrap())
        .unwrap_or_else(|e| panic!("{}", e.in_file(&p)))
}

/// The upstream folder `../shared/<dir>/upstream`, or `None` (SKIPPED
/// printed) when it is missing.
fn upstream_dir(dir: &str, what: &str) -> Option<PathBuf> {
    let dir = root().join("../shared").join(dir).join("upstream");
    if dir.is_dir() {
        return Some(dir);
    }
    eprintln!("SKIPPED: {} is missing; {what} not checked", dir.display());
    None
}

/// Asserts that `ours` states the facts of `latest.yaml` in `upstream`,
/// and more than `at_least` of them.
fn assert_same_facts(ours: &str, upstream: &str, at_least: usize) {
    let Some(dir) = upstream_dir(upstream, "drift") else {
        return;
    };
    let ours_doc = read(&root().join(ours));
    let differences = qstash_codegen::facts::diff(&read(&dir.join("latest.yaml")), &ours_doc);
    assert!(
        differences.is_empty(),
        "{ours} drifted from latest.yaml in {} facts (- upstream, + ours):\n{}",
        differences.len(),
        differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The comparison is not vacuous.
    let count = qstash_codegen::facts::facts(&ours_doc).len();
    assert!(count > at_least, "{ours}: only {count} facts");
    eprintln!("{ours}: {count} facts agree with upstream");
}

fn assert_upstream_shape(ours: &str) {
    let text = std::fs::read_to_string(root().join(ours)).unwrap();
    let doc = qstash_codegen::document::parse(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(
        !text.contains("operationId"),
        "upstream has no operationIds"
    );
}

#[test]
fn our_spec_has_the_facts_of_latest_upstream() {
    assert_same_facts("openapi/qstash/openapi.yaml", "qstash-openapi", 300);
}

#[test]
fn our_spec_keeps_the_upstream_shape() {
    assert_upstream_shape("openapi/qstash/openapi.yaml");
}

#[test]
fn our_workflow_spec_has_the_facts_of_latest_upstream() {
    assert_same_facts("openapi/workflow/openapi.yaml", "workflow-openapi", 400);
}

#[test]
fn our_workflow_spec_keeps_the_upstream_shape() {
    assert_upstream_shape("openapi/workflow/openapi.yaml");
}

/// `METHOD /path` of every operation of a description.
fn operations(spec: &str) -> Vec<qstash_codegen::OperationKey> {
    qstash_codegen::document::operation_keys(&read(&root().join(spec)))
}

#[test]
fn the_workflow_names_table_names_every_operation_as_qstash_does() {
    let workflow = names("openapi/workflow/operations.yaml");
    let qstash = names("openapi/qstash/operations.yaml");
    let ops = operations("openapi/workflow/openapi.yaml");
    assert!(ops.len() >= 25, "only {} operations", ops.len());

    let unnamed: Vec<String> = ops
        .iter()
        .filter(|k| workflow.get(k).is_none())
        .map(|k| k.label())
        .collect();
    assert!(unnamed.is_empty(), "no name for {unnamed:?}");
    let labels: HashSet<String> = ops.iter().map(|k| k.label()).collect();
    let stale: Vec<&str> = workflow
        .operations()
        .map(|(op, _)| op)
        .filter(|op| !labels.contains(*op))
        .collect();
    assert!(stale.is_empty(), "named, but no operation: {stale:?}");

    // One client for both: an operation in both tables has one name, and
    // a name stands for one operation.
    let qstash_by_name: BTreeMap<&str, &str> = qstash.operations().map(|(o, n)| (n, o)).collect();
    let mut shared = 0;
    for (op, name) in workflow.operations() {
        let theirs = qstash.operations().find(|(o, _)| *o == op).map(|(_, n)| n);
        if let Some(theirs) = theirs {
            shared += 1;
            assert_eq!(name, theirs, "`{op}` has another name in the QStash table");
        }
        if let Some(other) = qstash_by_name.get(name) {
            assert_eq!(*other, op, "`{name}` names `{other}` in the QStash table");
        }
    }
    // Flow control (7), global parallelism, the signing keys and their rotation.
    assert!(shared >= 10, "only {shared} operations shared with QStash");
}
