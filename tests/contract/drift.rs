//! Our descriptions (`openapi/qstash/openapi.yaml`,
//! `openapi/workflow/openapi.yaml`) must state exactly the API facts of the
//! newest published upstream documents (prose aside), in their shape.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> Value {
    qstash_codegen::document::parse(&std::fs::read_to_string(p).unwrap())
        .unwrap_or_else(|e| panic!("{}", e.in_file(p)))
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
