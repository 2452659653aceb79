//! The maintainer commands, as a maintainer runs them.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qstash-codegen"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn report_lists_operations_and_changes() {
    let (code, out, err) = run(&["report"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# openapi/qstash/openapi.yaml: 42 operations"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("GET /v2/dlq ") && l.ends_with(" list_dlq_messages"))
    );
    assert!(out.contains("[openapi31] /openapi: version 3.1.0 -> 3.0.3"));
    assert!(out.contains("wildcard header `Upstash-Forward-*` taken out"));
    assert!(out.contains("deprecated parameter `callerIP` dropped"));
    // The errata section: every erratum applies to our description.
    let errata = out
        .lines()
        .find(|l| l.starts_with("# Errata from openapi/qstash/errata.yaml: "))
        .unwrap_or_else(|| panic!("no errata section: {out}"));
    assert!(
        errata.ends_with(" applied, 0 already true upstream, 0 target missing"),
        "{errata}"
    );
    assert!(
        out.lines()
            .any(|l| l
                .starts_with("erratum 0 ($.components.schemas.DLQMessage.properties): applied")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("PATCH /v2/schedules/{scheduleId}/pause ")
                && l.ends_with(" pause_schedule"))
    );
    assert!(out.contains("accepted as any 2XX"));

    // Without the errata the published description shows through: POST,
    // which the names table (named after the errata) does not know.
    let (code, out, err) = run(&["report", "--no-errata"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("# Errata: not applied (--no-errata)"));
    assert!(
        out.lines()
            .any(|l| l.starts_with("POST /v2/schedules/{scheduleId}/pause ")
                && l.contains("not in the names table"))
    );
}

#[test]
fn diff_of_a_spec_with_itself_is_empty_and_differences_exit_1() {
    let spec = "openapi/qstash/openapi.yaml";
    let (code, out, _) = run(&["diff", spec, spec]);
    assert_eq!((code, out.trim()), (0, "no differences in API facts"));

    let changed = std::env::temp_dir().join(format!("qstash-cli-{}.yaml", std::process::id()));
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/qstash/openapi.yaml"
    ))
    .unwrap();
    std::fs::write(
        &changed,
        text.replacen("/v2/keys/rotate:", "/v2/keys/turn:", 1),
    )
    .unwrap();
    let (code, out, _) = run(&["diff", spec, changed.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("- operation POST /v2/keys/rotate"), "{out}");
    assert!(out.contains("+ operation POST /v2/keys/turn"), "{out}");
}

#[test]
fn bad_usage_and_bad_files_explain_themselves() {
    let (code, _, err) = run(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("usage:"));
    let (code, _, err) = run(&["report", "no/such.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no/such.yaml") && err.contains("cannot read the spec"),
        "{err}"
    );
}
