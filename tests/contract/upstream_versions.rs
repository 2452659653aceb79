//! Every published upstream version of the API descriptions, with our errata
//! applied, regenerates a client that compiles, with no warning but the
//! unknown-operation and erratum-target-missing ones:
//!
//! - each QStash version (`QSTASH_OPENAPI_SPEC`) with our Workflow
//!   description, except the oldest ones, which state flow control otherwise
//!   than our Workflow description does: the build refuses those, naming
//!   both documents (checked here in-process, without a `cargo check`);
//! - each Workflow version (`QSTASH_WORKFLOW_OPENAPI_SPEC`) with our QStash
//!   description.
//!
//! Prints, per version, how many errata applied, were already true, or
//! missed their target. Runs `cargo check` once per version in one target
//! directory of its own (`target/upstream-check`), so it never waits on the
//! outer cargo's lock; the two tests take turns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use qstash_codegen::Source;

/// One `cargo check` at a time in `target/upstream-check`.
static CHECKING: Mutex<()> = Mutex::new(());

/// QStash versions that state `GET /v2/flowControl` otherwise than our
/// Workflow description (one `FlowControlKey` object rather than a list, or
/// a key without `isPaused` and the pin flags): a client of both cannot be
/// made from them.
const QSTASH_REFUSED_WITH_OUR_WORKFLOW: [&str; 4] = [
    "2025-12-01-f9767c64.yaml",
    "2025-12-09-15f1421e.yaml",
    "2026-02-25-50870667.yaml",
    "2026-03-10-9b0132a1.yaml",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn source(dir: &str) -> Source {
    Source {
        spec: root().join(format!("openapi/{dir}/openapi.yaml")),
        names: root().join(format!("openapi/{dir}/operations.yaml")),
        errata: Some(root().join(format!("openapi/{dir}/errata.yaml"))),
    }
}

/// The stored versions in `../shared/<dir>/upstream`, oldest first, or
/// `None` (SKIPPED printed) when the folder is missing.
fn versions(dir: &str, at_least: usize) -> Option<Vec<PathBuf>> {
    let dir = root().join("../shared").join(dir).join("upstream");
    if !dir.is_dir() {
        eprintln!(
            "\n!!!!!!!!\nSKIPPED: {} is missing: the client was NOT regenerated from the upstream versions.\n!!!!!!!!\n",
            dir.display()
        );
        return None;
    }
    let files = crate::drift::yaml_files(&dir);
    assert!(
        files.len() >= at_least,
        "expected the {at_least} published versions in {}, found {}",
        dir.display(),
        files.len()
    );
    Some(
        files
            .into_iter()
            .map(|f| f.canonicalize().unwrap())
            .collect(),
    )
}

/// `cargo check`s the crate with `var` set to `file`; the failure text, if
/// it fails or warns beyond the expected warnings.
fn check(var: &str, file: &Path) -> Result<(), String> {
    let _turn = CHECKING.lock().unwrap_or_else(|e| e.into_inner());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .current_dir(root())
        .args([
            "check",
            "--lib",
            "--quiet",
            "--message-format=short",
            "-p",
            "qstash",
        ])
        .env(var, file)
        .env("CARGO_TARGET_DIR", root().join("target/upstream-check"))
        .env_remove("RUSTFLAGS")
        .env_remove(if var == "QSTASH_OPENAPI_SPEC" {
            "QSTASH_WORKFLOW_OPENAPI_SPEC"
        } else {
            "QSTASH_OPENAPI_SPEC"
        })
        .output()
        .expect("run cargo check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unexpected = stderr
        .lines()
        .filter(|l| l.contains("warning") || l.contains("error"))
        .any(|l| {
            !(l.contains("warning: qstash@")
                && (l.contains("is not in") || l.contains("selects nothing")))
        });
    if !out.status.success() || unexpected {
        return Err(stderr.into_owned());
    }
    Ok(())
}

fn name(file: &Path) -> String {
    file.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_upstream_version_builds_a_client_that_compiles() {
    let Some(files) = versions("qstash-openapi", 15) else {
        return;
    };
    let workflow = source("workflow");
    let mut failures = Vec::new();
    for file in &files {
        let name = name(file);
        let qstash = Source {
            spec: file.clone(),
            ..source("qstash")
        };
        let merged = qstash_codegen::normalize_merged(&qstash, &workflow);
        if QSTASH_REFUSED_WITH_OUR_WORKFLOW.contains(&name.as_str()) {
            match merged {
                Err(e)
                    if e.file.as_deref() == Some(file.as_path())
                        && e.construct
                            .contains("`GET /v2/flowControl` is stated in both documents with different facts")
                        && e.construct.contains(&workflow.spec.display().to_string()) =>
                {
                    eprintln!("refused, as expected: {name}: {e}");
                }
                other => failures.push(format!(
                    "{name}: expected a refusal naming both documents, got {:?}",
                    other.map(|n| n.operations.len())
                )),
            }
            continue;
        }
        let errata = match &merged {
            Ok(n) => qstash_codegen::errata::Tally::of(&n.errata).to_string(),
            Err(e) => e.to_string(),
        };
        match check("QSTASH_OPENAPI_SPEC", file) {
            Ok(()) => eprintln!("ok: {name} (errata: {errata})"),
            Err(stderr) => failures.push(format!("{name}:\n{stderr}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} upstream QStash versions failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_upstream_workflow_version_builds_a_client_that_compiles() {
    let Some(files) = versions("workflow-openapi", 7) else {
        return;
    };
    let mut failures = Vec::new();
    for file in &files {
        let name = name(file);
        let workflow = Source {
            spec: file.clone(),
            ..source("workflow")
        };
        let errata = match qstash_codegen::normalize_merged(&source("qstash"), &workflow) {
            Ok(n) => n
                .merge
                .map(|m| qstash_codegen::errata::Tally::of(&m.second_errata).to_string())
                .unwrap_or_default(),
            Err(e) => e.to_string(),
        };
        match check("QSTASH_WORKFLOW_OPENAPI_SPEC", file) {
            Ok(()) => eprintln!("ok: workflow {name} (errata: {errata})"),
            Err(stderr) => failures.push(format!("workflow {name}:\n{stderr}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} upstream Workflow versions failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
