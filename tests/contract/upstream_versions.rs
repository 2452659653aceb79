//! Every published upstream version of the API description, with our errata
//! applied, regenerates a client that compiles, through
//! `QSTASH_OPENAPI_SPEC`, with no warning but the unknown-operation and
//! erratum-target-missing ones. Prints, per version, how many errata
//! applied, were already true, or missed their target.
//!
//! Runs `cargo check` once per version in its own target directory
//! (`target/upstream-check`), so it never waits on the outer cargo's lock.

use std::path::Path;
use std::process::Command;

#[test]
fn every_upstream_version_builds_a_client_that_compiles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("../shared/qstash-openapi/upstream");
    if !dir.is_dir() {
        eprintln!(
            "\n!!!!!!!!\nSKIPPED: {} is missing: the client was NOT regenerated from the upstream versions.\n!!!!!!!!\n",
            dir.display()
        );
        return;
    }
    let files = crate::drift::yaml_files(&dir);
    assert!(
        files.len() >= 15,
        "expected the 15 published versions, found {}",
        files.len()
    );

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = root.join("target/upstream-check");
    let mut failures = Vec::new();
    for file in &files {
        let file = file.canonicalize().unwrap();
        let out = Command::new(&cargo)
            .current_dir(root)
            .args([
                "check",
                "--lib",
                "--quiet",
                "--message-format=short",
                "-p",
                "qstash",
            ])
            .env("QSTASH_OPENAPI_SPEC", &file)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .output()
            .expect("run cargo check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let unexpected: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("warning") || l.contains("error"))
            .filter(|l| {
                !(l.contains("warning: qstash@")
                    && (l.contains("is not in") || l.contains("selects nothing")))
            })
            .collect();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let errata = qstash_codegen::normalize_files(
            &file,
            &root.join("openapi/qstash/operations.yaml"),
            Some(&root.join("openapi/qstash/errata.yaml")),
        )
        .map(|n| qstash_codegen::errata::Tally::of(&n.errata).to_string())
        .unwrap_or_else(|e| e.to_string());
        if !out.status.success() || !unexpected.is_empty() {
            failures.push(format!("{name}:\n{stderr}"));
        } else {
            eprintln!("ok: {name} (errata: {errata})");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} upstream versions failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
