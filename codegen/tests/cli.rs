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
    let (code, out, err) = run(&["report", "openapi/qstash/openapi.yaml"]);
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
    let (code, out, err) = run(&["report", "openapi/qstash/openapi.yaml", "--no-errata"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("# Errata: not applied (--no-errata)"));
    assert!(
        out.lines()
            .any(|l| l.starts_with("POST /v2/schedules/{scheduleId}/pause ")
                && l.contains("not in the names table"))
    );
}

#[test]
fn report_by_default_covers_the_client_of_both_documents() {
    let (code, out, err) = run(&["report"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# openapi/qstash/openapi.yaml and openapi/workflow/openapi.yaml, one client: 60 operations (18 from the second, 10 in both)"),
        "{out}"
    );
    assert!(!out.contains("not in the names table"), "{out}");
    let line = |prefix: &str, suffix: &str| {
        out.lines()
            .any(|l| l.starts_with(prefix) && l.ends_with(suffix))
    };
    for (op, name) in [
        ("POST /v2/trigger/{workflowUrl}", "trigger_workflow"),
        ("POST /v2/batch/trigger", "trigger_workflows"),
        ("DELETE /v2/workflows/runs", "cancel_workflow_runs"),
        ("POST /v2/notify/{eventId}", "notify_event"),
        ("GET /v2/workflows/logs", "list_workflow_logs"),
    ] {
        assert!(
            line(&format!("{op} "), &format!(" {name}  [workflow]")),
            "{op}:\n{out}"
        );
    }
    assert!(line("GET /v2/dlq ", " list_dlq_messages"), "{out}");
    assert!(
        line("GET /v2/flowControl ", " list_flow_control_keys  [both]"),
        "{out}"
    );
    // The verdict on each operation and component both documents state.
    assert!(
        out.contains("\n# Operations stated in both documents: 10 "),
        "{out}"
    );
    for (op, name) in [
        ("GET /v2/flowControl ", "list_flow_control_keys"),
        (
            "POST /v2/flowControl/{flowControlKey}/resetRate ",
            "reset_flow_control_rate",
        ),
        ("GET /v2/globalParallelism ", "get_global_parallelism"),
        ("GET /v2/keys ", "get_signing_keys"),
        ("POST /v2/keys/rotate ", "rotate_signing_keys"),
    ] {
        assert!(
            line(op, &format!(" {name}  same facts in both")),
            "{op}:\n{out}"
        );
    }
    assert!(
        out.contains("\nschemas/FlowControlKey  same facts in both: one component\n"),
        "{out}"
    );
    // Both documents' errata, every one applied.
    for errata in [
        "# Errata from openapi/qstash/errata.yaml: 32 applied, 0 already true upstream, 0 target missing",
        "# Errata from openapi/workflow/errata.yaml: 7 applied, 0 already true upstream, 0 target missing",
    ] {
        assert!(out.lines().any(|l| l == errata), "{errata}:\n{out}");
    }
    // Paging, bulk operations, and the changes, each with its document.
    assert!(
        line(
            "GET /v2/workflows/logs ",
            " list_workflow_logs  runs: WorkflowRun"
        ),
        "{out}"
    );
    assert!(
        line(
            "POST /v2/workflows/dlq/resume ",
            "(items written in place, `workflow_runs`: pages only)"
        ),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("DELETE /v2/workflows/runs ")
                && l.contains("cancel_workflow_runs  filters: workflowRunIds, workflowUrl,")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("[merge] /paths/~1v2~1keys/get: stated in openapi/workflow/openapi.yaml too, with the same facts")),
        "{out}"
    );
    assert!(
        out.lines().any(
            |l| l.starts_with("[parameters] /paths/~1v2~1trigger~1{workflowUrl}/post")
                && l.ends_with("  (openapi/workflow/openapi.yaml)")
        ),
        "{out}"
    );
    assert!(
        out.lines().any(
            |l| l.starts_with("[parameters] /paths/~1v2~1publish~1{destination}/post")
                && l.ends_with("  (openapi/qstash/openapi.yaml)")
        ),
        "{out}"
    );

    // The published Workflow description, without its errata, states the
    // flow control key otherwise than QStash's: refused, naming both.
    let (code, _, err) = run(&["report", "--no-errata"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "openapi/qstash/openapi.yaml: at /components/schemas/FlowControlKey/properties"
        ) && err.contains("`GET /v2/flowControl` is stated in both documents with different facts")
            && err.contains(
                "in openapi/workflow/openapi.yaml: at /components/schemas/FlowControlKey/properties"
            ),
        "{err}"
    );

    // Another Workflow document, as QSTASH_WORKFLOW_OPENAPI_SPEC gives it.
    let (code, other, err) = run(&["report", "--workflow", "openapi/workflow/openapi.yaml"]);
    assert_eq!((code, other), (0, out), "{err}");
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

/// The upstream Workflow versions, oldest first, or `None` (SKIPPED printed)
/// when `../shared` is missing.
fn workflow_upstream_versions() -> Option<Vec<std::path::PathBuf>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/workflow-openapi/upstream");
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: {} is missing; report on the upstream Workflow versions not checked",
            dir.display()
        );
        return None;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "expected the 7 stored versions");
    Some(files)
}

/// What every report on a Workflow document must show: every operation
/// named by the table, the bogus key lookup gone, every erratum found.
fn assert_workflow_report(spec: &str, out: &str) {
    assert!(
        !out.contains("not in the names table"),
        "{spec}: a fallback name:\n{out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("GET /v2/keys/rotate ")),
        "{spec}: GET /v2/keys/rotate survived the errata:\n{out}"
    );
    for (op, name) in [
        ("POST /v2/trigger/{workflowUrl}", "trigger_workflow"),
        ("DELETE /v2/workflows/runs", "cancel_workflow_runs"),
        ("POST /v2/notify/{eventId}", "notify_event"),
        (
            "GET /v2/flowControl/{flowControlKey}",
            "get_flow_control_key",
        ),
        ("POST /v2/keys/rotate", "rotate_signing_keys"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("{op} ")) && l.ends_with(&format!(" {name}"))),
            "{spec}: no `{op}  {name}`:\n{out}"
        );
    }
    let errata = out
        .lines()
        .find(|l| l.starts_with("# Errata from openapi/workflow/errata.yaml: "))
        .unwrap_or_else(|| panic!("{spec}: no errata section:\n{out}"));
    assert!(errata.ends_with(", 0 target missing"), "{spec}: {errata}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("erratum 0 ($.paths['/v2/keys/rotate'].get): applied")),
        "{spec}:\n{out}"
    );
    assert!(
        out.contains("\n# Normalization: ")
            && out.contains("[openapi31] /openapi: version 3.1.0 -> 3.0.3"),
        "{spec}:\n{out}"
    );
}

#[test]
fn report_on_the_workflow_description_applies_its_errata() {
    let args = [
        "report",
        "openapi/workflow/openapi.yaml",
        "--names",
        "openapi/workflow/operations.yaml",
        "--errata",
        "openapi/workflow/errata.yaml",
    ];
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# openapi/workflow/openapi.yaml: 28 operations"),
        "{out}"
    );
    assert_workflow_report("openapi/workflow/openapi.yaml", &out);
    // Every erratum applies to our description.
    assert!(
        out.lines().any(|l| l
            == "# Errata from openapi/workflow/errata.yaml: 7 applied, 0 already true upstream, 0 target missing"),
        "{out}"
    );
    assert!(
        !out.contains("# Names in the table that match no operation"),
        "{out}"
    );

    // The table and errata beside the spec are its defaults.
    let (code, alone, err) = run(&["report", "openapi/workflow/openapi.yaml"]);
    assert_eq!((code, alone), (0, out), "{err}");

    // Without the errata the published mistake is refused where it stands.
    let (code, _, err) = run(&["report", "openapi/workflow/openapi.yaml", "--no-errata"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "at /paths/~1v2~1keys~1rotate/get/parameters/0: path parameter `flowControlKey`"
        ),
        "{err}"
    );
}

#[test]
fn report_on_every_upstream_workflow_version() {
    let Some(files) = workflow_upstream_versions() else {
        return;
    };
    for file in files {
        let spec = file.to_str().unwrap();
        let (code, out, err) = run(&[
            "report",
            spec,
            "--names",
            "openapi/workflow/operations.yaml",
            "--errata",
            "openapi/workflow/errata.yaml",
        ]);
        assert_eq!(code, 0, "{spec}: {err}");
        assert!(out.starts_with(&format!("# {spec}: ")), "{out}");
        assert_workflow_report(spec, &out);
        eprintln!("ok: {}", out.lines().next().unwrap());
    }
}
