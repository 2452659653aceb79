//! Our descriptions (`openapi/qstash/openapi.yaml`,
//! `openapi/workflow/openapi.yaml`) must state exactly the API facts of the
//! newest published upstream documents, in their shape, with prose of our
//! own; and each names table must name every operation of its description.

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

/// The `.yaml` files of `dir`, sorted by name (oldest version first).
pub(crate) fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
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

/// `METHOD /path` of every operation of a description as it stands after
/// its errata (the names table names operations after the errata).
fn operations(spec: &str, errata: &str) -> Vec<qstash_codegen::OperationKey> {
    let (doc, _) = qstash_codegen::load_corrected(&root().join(spec), Some(&root().join(errata)))
        .unwrap_or_else(|e| panic!("{e}"));
    qstash_codegen::document::operation_keys(&doc)
}

#[test]
fn the_workflow_names_table_names_every_operation_as_qstash_does() {
    let workflow = names("openapi/workflow/operations.yaml");
    let qstash = names("openapi/qstash/operations.yaml");
    let ops = operations(
        "openapi/workflow/openapi.yaml",
        "openapi/workflow/errata.yaml",
    );
    assert!(
        !ops.iter().any(|k| k.label() == "GET /v2/keys/rotate"),
        "the errata remove the misplaced flow control key lookup"
    );
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

/// Every prose string of a document (`description`, `summary`, plus `title`
/// and every string inside an `x-` extension when `all`), with its JSON
/// pointer, white space folded and lower-cased.
fn prose(value: &Value, at: &str, all: bool, in_extension: bool, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                let is_prose =
                    matches!(k.as_str(), "description" | "summary") || (all && k == "title");
                if let (true, Some(s)) = (is_prose, v.as_str()) {
                    out.push((here.clone(), fold(s)));
                }
                prose(v, &here, all, in_extension || k.starts_with("x-"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prose(v, &format!("{at}/{i}"), all, in_extension, out);
            }
        }
        Value::String(s) if all && in_extension => out.push((at.to_string(), fold(s))),
        _ => {}
    }
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Length of the shortest run of upstream prose that counts as copied.
const COPIED_RUN: usize = 60;

/// The `COPIED_RUN`-character runs of `s`.
fn runs(s: &str) -> impl Iterator<Item = &str> {
    let starts: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
    (0..starts.len().saturating_sub(COPIED_RUN)).map(move |i| &s[starts[i]..starts[i + COPIED_RUN]])
}

/// Where the prose of `ours` equals, or holds a `COPIED_RUN`-character run
/// of, prose of a document in `upstream` (white space and case aside).
fn copied_prose(ours: &Value, upstream: &[Value]) -> Vec<String> {
    let mut theirs = Vec::new();
    for doc in upstream {
        prose(doc, "", true, false, &mut theirs);
    }
    let whole: HashSet<&str> = theirs.iter().map(|(_, s)| s.as_str()).collect();
    let parts: HashSet<&str> = theirs.iter().flat_map(|(_, s)| runs(s)).collect();
    let mut mine = Vec::new();
    prose(ours, "", false, false, &mut mine);
    mine.iter()
        .filter_map(|(at, s)| {
            if whole.contains(s.as_str()) {
                Some(format!("{at}: equals upstream: {s:?}"))
            } else {
                runs(s)
                    .find(|r| parts.contains(r))
                    .map(|r| format!("{at}: holds upstream's {r:?}"))
            }
        })
        .collect()
}

fn assert_own_prose(ours: &str, upstream: &str) {
    let Some(dir) = upstream_dir(upstream, "copied prose") else {
        return;
    };
    let files = yaml_files(&dir);
    assert!(
        !files.is_empty(),
        "no upstream version in {}",
        dir.display()
    );
    let versions: Vec<Value> = files.iter().map(|p| read(p)).collect();
    let copied = copied_prose(&read(&root().join(ours)), &versions);
    assert!(
        copied.is_empty(),
        "{ours} has prose of the upstream versions in {} places:\n{}",
        copied.len(),
        copied.join("\n")
    );
}

#[test]
fn our_workflow_prose_is_our_own() {
    assert_own_prose("openapi/workflow/openapi.yaml", "workflow-openapi");
}

#[test]
fn our_qstash_prose_is_our_own() {
    assert_own_prose("openapi/qstash/openapi.yaml", "qstash-openapi");
}

#[test]
fn copied_prose_is_found() {
    let upstream = serde_json::json!({"info": {"title": "T", "description": "Short."},
        "paths": {"/a": {"get": {"x-mint": {"content": "A long sentence of upstream prose that runs well over sixty characters in all."}}}}});
    let ours = serde_json::json!({"info": {"title": "T", "description": "short."},
        "paths": {"/a": {"get": {"summary": "Ours, then: a long sentence of upstream   prose that runs well over sixty characters.",
            "description": "All ours, and long enough to be checked: more than sixty characters here."}}}});
    let found = copied_prose(&ours, &[upstream]);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("/info/description: equals"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("/paths/~1a/get/summary: holds"),
        "{found:#?}"
    );
}
