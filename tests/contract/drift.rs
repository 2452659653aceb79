//! Our `openapi/qstash/openapi.yaml` must state exactly the API facts of the
//! newest published upstream document (prose aside).

use std::path::Path;

#[test]
fn our_spec_has_the_facts_of_latest_upstream() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let upstream = root.join("../shared/qstash-openapi/upstream/latest.yaml");
    if !upstream.exists() {
        eprintln!(
            "SKIPPED: {} is missing; drift not checked",
            upstream.display()
        );
        return;
    }
    let read = |p: &Path| {
        qstash_codegen::document::parse(&std::fs::read_to_string(p).unwrap())
            .unwrap_or_else(|e| panic!("{}", e.in_file(p)))
    };
    let ours = read(&root.join("openapi/qstash/openapi.yaml"));
    let theirs = read(&upstream);
    let differences = qstash_codegen::facts::diff(&theirs, &ours);
    assert!(
        differences.is_empty(),
        "openapi/qstash/openapi.yaml drifted from latest.yaml in {} facts (- upstream, + ours):\n{}",
        differences.len(),
        differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The comparison is not vacuous.
    assert!(qstash_codegen::facts::facts(&ours).len() > 300);
}

#[test]
fn our_spec_keeps_the_upstream_shape() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("openapi/qstash/openapi.yaml")).unwrap();
    let doc = qstash_codegen::document::parse(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(
        !text.contains("operationId"),
        "upstream has no operationIds"
    );
}
