//! Contract tests of the Workflow document: the client against Prism
//! serving `openapi/workflow/openapi.yaml` (and upstream's `latest.yaml`),
//! each corrected by `openapi/workflow/errata.yaml`.
//!
//! The machinery is the QStash run's (main.rs: `start_run`, `Run`,
//! `finish_run`; spec.rs: coverage; proxy.rs: the recorder), on the other
//! document with its own names table and errata. Every operation of the
//! document is called through the public API: the generated builders with
//! every parameter, the three documented body media types of
//! `trigger_workflow`, `notify_event` and `notify_workflow_run` (and each
//! without its optional body), the layer's
//! page streams of the paginated lists (`list_workflow_logs`,
//! `list_workflow_dlq`, `delete_workflow_dlq_entries`), its bulk loops
//! (`send_all`) and `.all()` on the four bulk operations; then every
//! operation once with the token as the `qstash_token` query parameter, and
//! every documented error status through `Prefer: code=...`, which must come
//! back as `qstash::Error::Api` with that status and Prism's message. The
//! operations the document shares with the QStash one (flow control, global
//! parallelism, signing keys) are covered here too: coverage is per
//! document. The run fails naming every operation or parameter no call
//! exercised, every request-side Prism violation and every body that did not
//! decode.
//!
//! What Prism and the client make of this document, and how the run takes it:
//!
//! - Prism 5.16 serves the 3.1 document as it is (errata applied); nothing
//!   of it is refused.
//! - `DELETE /v2/workflows/dlq/callback/{dlqId}` (`cancel_workflow_failure_callback`)
//!   documents `302` as its only answer that is not an error. No SDK calls
//!   it (evidence row 16), so what the service answers is not established;
//!   the client takes a 3xx the description documents for an operation
//!   without a 2xx as its success (`Operation::success_redirects`). Prism
//!   answers the 302 (without a `Location`), and the run checks exactly that
//!   (one valid request, the documented 302, `Ok` with that status) and
//!   prints it as a NOTE in the summary every time: the status is the
//!   description's word, not the service's.
//! - The wildcard header families of `trigger_workflow`
//!   (`Upstash-Forward-*`, `Upstash-Failure-Callback-Forward-*`) have no
//!   generated setter; they are sent through the layer's
//!   `.options(WorkflowOptions)`, and the recorder checks they went out.
//! - Prism's static answers: the bulk DLQ delete and the bulk cancel answer
//!   a negative count (`-9007199254740991`, the schema's smallest integer),
//!   which the bulk loops take as nothing done, so `send_all` stops after
//!   one call with `Ok(0)`; pages repeat their cursor, so page streams end
//!   with `RepeatedCursor` on page 2 (as in the QStash run).

use std::collections::HashMap;
use std::path::Path;

use qstash::types;
use qstash::{AuthMode, Client, WorkflowOptions};

use super::{
    Run, body_kinds, check_body_sent, check_cursor_chain, check_repeated_query, documented_errors,
    dynamic_pages, finish_run, flow_control, is_repeated, query_parameter_auth, root, say,
    signing_keys, start_run, static_items, static_pages, unauthenticated,
};

const WORKFLOW_URL: &str = "https://app.example.com/api/onboarding";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_against_our_workflow_spec() {
    run_workflow_contract(
        "workflow-ours",
        &root().join("openapi/workflow/openapi.yaml"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_against_upstream_workflow_latest() {
    let latest = root().join("../shared/workflow-openapi/upstream/latest.yaml");
    if !latest.exists() {
        say(&format!(
            "\n!!!!!!!!\nSKIPPED: {} is missing: the workflow contract tests did NOT run against the upstream spec.\n!!!!!!!!\n",
            latest.display()
        ));
        return;
    }
    run_workflow_contract("workflow-upstream-latest", &latest).await;
}

async fn run_workflow_contract(label: &str, spec_file: &Path) {
    let (mut run, prism) = start_run(label, spec_file, "workflow").await;

    unauthenticated(&mut run, &prism, "/v2/workflows/logs").await;
    runs(&mut run).await;
    logs(&mut run).await;
    dlq(&mut run).await;
    events(&mut run).await;
    flow_control(&mut run).await;
    signing_keys(&mut run).await;
    pagination(&mut run).await;
    query_parameter_auth(&mut run).await;
    documented_errors(&mut run).await;

    finish_run(run, prism);
}

// --- Runs -------------------------------------------------------------------------

async fn runs(run: &mut Run) {
    let c = run.bearer();
    for (i, (media, body)) in body_kinds().into_iter().enumerate() {
        let mut trigger = c
            .trigger_workflow()
            .workflow_url(WORKFLOW_URL)
            .content_type(media)
            .body(body.clone());
        if i == 0 {
            trigger = trigger
                .upstash_workflow_run_id("wfr_user-42")
                .upstash_retries(3)
                .upstash_delay("10s")
                .upstash_not_before(1_900_000_000i64)
                .upstash_label("onboarding")
                .upstash_flow_control_key("tenant-1")
                .upstash_flow_control_value("parallelism=2, rate=10, period=1m")
                .upstash_failure_callback("https://example.com/failure")
                .upstash_retry_delay("pow(2, retried) * 1000");
        }
        if i == 1 {
            // The wildcard families: no generated setter, the layer's options.
            trigger = trigger.options(
                WorkflowOptions::new()
                    .forward_header("X-Order-Source", "contract-test")
                    .failure_callback_forward_header("X-Trace", "trace-2"),
            );
        }
        let step = format!("trigger_workflow ({media})");
        if let Some(r) = run.ok(&step, trigger.send()).await
            && r.workflow_run_id.is_none()
        {
            run.fail(format!("{step}: no workflowRunId in {r:?}"));
        }
        check_body_sent(run, &step, media, &body);
        if i == 1 {
            check_forwarded(run, &step);
        }
    }

    let items = [
        qstash::WorkflowTrigger::new(WORKFLOW_URL)
            .payload(qstash::Body::json(&serde_json::json!({"user": 42})).expect("json"))
            .options(
                WorkflowOptions::new()
                    .run_id("wfr_user-42")
                    .label("nightly"),
            ),
        qstash::WorkflowTrigger::new("https://app.example.com/api/billing"),
    ];
    if let Some(r) = run
        .ok(
            "trigger_workflows",
            c.trigger_workflows().runs(items).send(),
        )
        .await
        && r.is_empty()
    {
        run.fail("trigger_workflows: empty response list");
    }

    run.ok(
        "cancel_workflow_run",
        c.cancel_workflow_run()
            .workflow_run_id("wfr_user-42")
            .cancel(true)
            .send(),
    )
    .await;
    run.ok(
        "cancel_workflow_runs (every filter)",
        c.cancel_workflow_runs()
            .workflow_run_ids(["wfr_1", "wfr_2"])
            .workflow_url([WORKFLOW_URL, "https://app.example.com/api/billing"])
            .workflow_url_exact_match(true)
            .from_date(1_700_000_000_000f64)
            .to_date(1_800_000_000_000f64)
            .caller_ip(["10.0.0.1", "10.0.0.2"])
            .flow_control_key(["tenant-1", "tenant-2"])
            .label(["nightly", "urgent"])
            .count(10)
            .send(),
    )
    .await;
    check_repeated_query(
        run,
        "cancel_workflow_runs (every filter)",
        "workflowRunIds",
        &["wfr_1", "wfr_2"],
    );
}

/// The last request carried one header of each wildcard family of the trigger.
fn check_forwarded(run: &mut Run, step: &str) {
    let Some(ex) = run.last.clone() else {
        return;
    };
    for (name, value) in [
        ("upstash-forward-x-order-source", "contract-test"),
        ("upstash-failure-callback-forward-x-trace", "trace-2"),
    ] {
        if ex.header(name) != [value] {
            run.fail(format!(
                "{step}: header {name} sent as {:?}, expected [{value:?}]",
                ex.header(name)
            ));
        }
    }
}

// --- Logs ---------------------------------------------------------------------------

async fn logs(run: &mut Run) {
    let c = run.bearer();
    run.ok(
        "list_workflow_logs (every filter)",
        c.list_workflow_logs()
            .cursor("cursor-1")
            .workflow_url(WORKFLOW_URL)
            .workflow_run_id("wfr_user-42")
            .workflow_created_at(1_700_000_000_000i64)
            .workflow_runs("wfr_1@1700000000000,wfr_2@1700000000001")
            .state("RUN_SUCCESS")
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .count(10)
            .trim_body(1024)
            .label(["nightly", "urgent"])
            .flow_control_key("tenant-1")
            .caller_ip("10.0.0.1")
            .send(),
    )
    .await;
    check_repeated_query(
        run,
        "list_workflow_logs (every filter)",
        "label",
        &["nightly", "urgent"],
    );
}

// --- Workflow DLQ ----------------------------------------------------------------------

async fn dlq(run: &mut Run) {
    let c = run.bearer();
    run.ok(
        "list_workflow_dlq (every filter)",
        c.list_workflow_dlq()
            .cursor("cursor-1")
            .count(50)
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .workflow_url([WORKFLOW_URL, "https://app.example.com/api/billing"])
            .workflow_run_id("wfr_user-42")
            .workflow_created_at(1_700_000_000_000i64)
            .label(["nightly", "urgent"])
            .failure_function_state(["CALLBACK_FAIL", "CALLBACK_CANCELED"])
            .caller_ip(["10.0.0.1", "10.0.0.2"])
            .flow_control_key(["tenant-1", "tenant-2"])
            .send(),
    )
    .await;
    check_repeated_query(
        run,
        "list_workflow_dlq (every filter)",
        "failureFunctionState",
        &["CALLBACK_FAIL", "CALLBACK_CANCELED"],
    );
    run.ok(
        "delete_workflow_dlq_entries (every filter)",
        c.delete_workflow_dlq_entries()
            .dlq_ids(["dlq_1", "dlq_2"])
            .cursor("cursor-1")
            .count(50)
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .workflow_url([WORKFLOW_URL])
            .workflow_run_id("wfr_user-42")
            .workflow_created_at(1_700_000_000_000i64)
            .label(["nightly"])
            .failure_function_state(["CALLBACK_FAIL"])
            .caller_ip(["10.0.0.1"])
            .flow_control_key(["tenant-1"])
            .send(),
    )
    .await;
    check_repeated_query(
        run,
        "delete_workflow_dlq_entries (every filter)",
        "dlqIds",
        &["dlq_1", "dlq_2"],
    );
    run.ok(
        "get_workflow_dlq_entry",
        c.get_workflow_dlq_entry().dlq_id("dlq_1").send(),
    )
    .await;

    run.ok(
        "resume_workflow_dlq_entry (every header)",
        c.resume_workflow_dlq_entry()
            .dlq_id("dlq_1")
            .upstash_retries(3)
            .upstash_delay("10s")
            .upstash_retry_delay("1000")
            .upstash_flow_control_key("tenant-1")
            .upstash_flow_control_value("parallelism=2")
            .upstash_label("resumed")
            .upstash_failure_callback("https://example.com/failure")
            .send(),
    )
    .await;
    run.ok(
        "resume_workflow_dlq_entries (every filter and header)",
        c.resume_workflow_dlq_entries()
            .dlq_ids(["dlq_1", "dlq_2"])
            .cursor("cursor-1")
            .count(50)
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .workflow_url([WORKFLOW_URL])
            .workflow_run_id("wfr_user-42")
            .workflow_created_at(1_700_000_000_000i64)
            .label(["nightly"])
            .failure_function_state(["CALLBACK_FAIL"])
            .caller_ip(["10.0.0.1"])
            .flow_control_key(["tenant-1"])
            .upstash_retries(2)
            .upstash_delay("1m")
            .upstash_retry_delay("2000")
            .upstash_flow_control_key("tenant-2")
            .upstash_flow_control_value("rate=10, period=1m")
            .upstash_label("resumed")
            .upstash_failure_callback("https://example.com/failure")
            .send(),
    )
    .await;
    run.ok(
        "restart_workflow_dlq_entry (every header)",
        c.restart_workflow_dlq_entry()
            .dlq_id("dlq_1")
            .upstash_retries(1)
            .upstash_delay("5s")
            .upstash_retry_delay("500")
            .upstash_flow_control_key("tenant-1")
            .upstash_flow_control_value("parallelism=1")
            .upstash_label("restarted")
            .upstash_failure_callback("https://example.com/failure")
            .send(),
    )
    .await;
    run.ok(
        "restart_workflow_dlq_entries (every filter and header)",
        c.restart_workflow_dlq_entries()
            .dlq_ids(["dlq_1", "dlq_2"])
            .cursor("cursor-1")
            .count(50)
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .workflow_url([WORKFLOW_URL])
            .workflow_run_id("wfr_user-42")
            .workflow_created_at(1_700_000_000_000i64)
            .label(["nightly"])
            .failure_function_state(["CALLBACK_FAIL"])
            .caller_ip(["10.0.0.1"])
            .flow_control_key(["tenant-1"])
            .upstash_retries(0)
            .upstash_delay("30s")
            .upstash_retry_delay("100")
            .upstash_flow_control_key("tenant-3")
            .upstash_flow_control_value("parallelism=4")
            .upstash_label("restarted")
            .upstash_failure_callback("https://example.com/failure")
            .send(),
    )
    .await;
    run.ok(
        "retry_workflow_failure_callback",
        c.retry_workflow_failure_callback().dlq_id("dlq_1").send(),
    )
    .await;
    documented_redirect(
        run,
        "cancel_workflow_failure_callback",
        c.cancel_workflow_failure_callback()
            .dlq_id("dlq_1")
            .send()
            .await
            .map(|r| r.status().as_u16()),
    );
    run.ok(
        "delete_workflow_dlq_entry",
        c.delete_workflow_dlq_entry().dlq_id("dlq_1").send(),
    )
    .await;
}

/// An operation whose only non-error answer is a documented 3xx: one valid
/// request, answered with that status, which the client takes as the
/// operation's success (`Ok` with that status). Checked exactly, and said
/// in the summary.
fn documented_redirect(run: &mut Run, step: &str, result: Result<u16, qstash::Error>) {
    let Some((ex, op)) = run.one(step) else {
        return;
    };
    let Some(op) = op else { return };
    let (success, redirects, name) = {
        let o = &run.spec.ops[op];
        (o.success.clone(), o.redirects.clone(), o.describe())
    };
    if !success.is_empty() || !redirects.contains(&ex.status) {
        run.fail(format!(
            "{step}: {}: expected the documented redirect {redirects:?} and no 2xx (the spec documents {success:?})",
            ex.describe()
        ));
        return;
    }
    match result {
        Ok(s) if s == ex.status => {
            run.notes.insert(format!(
                "{name}: the spec documents only {redirects:?} for success; Prism answered {s}, the client Ok({s}) (the service's answer is not established: evidence row 16)"
            ));
        }
        other => run.fail(format!(
            "{step}: Prism answered {}; expected Ok({}), got {other:?}",
            ex.status, ex.status
        )),
    }
}

// --- Events -----------------------------------------------------------------------------

async fn events(run: &mut Run) {
    let c = run.bearer();
    for (media, body) in body_kinds() {
        let step = format!("notify_event ({media})");
        if let Some(r) = run
            .ok(
                &step,
                c.notify_event()
                    .event_id("user-42-verified")
                    .content_type(media)
                    .body(body.clone())
                    .send(),
            )
            .await
            && r.is_empty()
        {
            run.fail(format!("{step}: empty response list"));
        }
        check_body_sent(run, &step, media, &body);

        let step = format!("notify_workflow_run ({media})");
        run.ok(
            &step,
            c.notify_workflow_run()
                .workflow_run_id("wfr_user-42")
                .event_id("user-42-verified")
                .content_type(media)
                .body(body.clone())
                .send(),
        )
        .await;
        check_body_sent(run, &step, media, &body);
    }
    // The description does not require a body: none is sent, and Prism
    // finds nothing to object to.
    run.ok(
        "notify_event (no body)",
        c.notify_event().event_id("user-42-verified").send(),
    )
    .await;
    run.ok(
        "notify_workflow_run (no body)",
        c.notify_workflow_run()
            .workflow_run_id("wfr_user-42")
            .event_id("user-42-verified")
            .send(),
    )
    .await;
    run.ok(
        "trigger_workflow (no body)",
        c.trigger_workflow().workflow_url(WORKFLOW_URL).send(),
    )
    .await;
    run.ok(
        "list_waiters",
        c.list_waiters().event_id("user-42-verified").send(),
    )
    .await;
}

// --- Page streams and bulk loops -------------------------------------------------------------

async fn pagination(run: &mut Run) {
    let c = run.bearer();
    let dynamic = run.client(AuthMode::Bearer, &[("Prefer", "dynamic=true")]);

    // Pages, static: the repeated-cursor guard ends them.
    let logs = static_pages(
        run,
        "list_workflow_logs().pages().max_pages(3)",
        c.list_workflow_logs().label(["nightly", "urgent"]),
    )
    .await;
    let dlq = static_pages(
        run,
        "list_workflow_dlq().pages().max_pages(3)",
        c.list_workflow_dlq().label(["nightly", "urgent"]),
    )
    .await;
    static_pages(
        run,
        "delete_workflow_dlq_entries().pages().max_pages(3)",
        c.delete_workflow_dlq_entries().label(["old", "stale"]),
    )
    .await;
    static_pages(
        run,
        "resume_workflow_dlq_entries().pages().max_pages(3)",
        c.resume_workflow_dlq_entries()
            .failure_function_state(["CALLBACK_FAIL"]),
    )
    .await;
    static_pages(
        run,
        "restart_workflow_dlq_entries().pages().max_pages(3)",
        c.restart_workflow_dlq_entries()
            .workflow_url([WORKFLOW_URL]),
    )
    .await;

    // Pages, dynamic: fresh cursors, so the page limit ends them.
    dynamic_pages(
        run,
        "list_workflow_logs().pages().max_pages(3) (dynamic)",
        dynamic.list_workflow_logs().workflow_url(WORKFLOW_URL),
    )
    .await;
    dynamic_pages(
        run,
        "list_workflow_dlq().pages().max_pages(3) (dynamic)",
        dynamic.list_workflow_dlq().label("nightly"),
    )
    .await;
    dynamic_pages(
        run,
        "delete_workflow_dlq_entries().pages().max_pages(3) (dynamic)",
        dynamic
            .delete_workflow_dlq_entries()
            .dlq_ids(["dlq_1", "dlq_2"]),
    )
    .await;

    // Item streams, static.
    if let Some(p) = logs {
        static_items(
            run,
            "list_workflow_logs().stream()",
            "list_workflow_logs",
            p.runs.len(),
            c.list_workflow_logs().state("RUN_FAILED").stream(),
        )
        .await;
    }
    if let Some(p) = dlq {
        static_items(
            run,
            "list_workflow_dlq().stream()",
            "list_workflow_dlq",
            p.messages.len(),
            c.list_workflow_dlq()
                .failure_function_state("CALLBACK_FAIL")
                .stream(),
        )
        .await;
        match c.list_workflow_dlq().label("nightly").collect_all().await {
            Err(qstash::Error::RepeatedCursor {
                operation: "list_workflow_dlq",
                page: 2,
            }) => {}
            other => run.fail(format!(
                "list_workflow_dlq().collect_all(): expected RepeatedCursor on page 2, got {other:?}"
            )),
        }
        let exs = run.exchanges("list_workflow_dlq().collect_all()");
        if exs.len() != 2 {
            run.fail(format!(
                "list_workflow_dlq().collect_all(): {} requests, expected 2",
                exs.len()
            ));
        }
    }

    // Bulk loops with a count: Prism's static count is negative, which the
    // loops take as nothing done, so they end after that call.
    let deleted = c
        .delete_workflow_dlq_entries()
        .dlq_ids(["dlq_1", "dlq_2"])
        .send_all()
        .await;
    nothing_done_after_one_call(run, "delete_workflow_dlq_entries().send_all()", &deleted);
    let cancelled = c.cancel_workflow_runs().label("nightly").send_all().await;
    nothing_done_after_one_call(run, "cancel_workflow_runs().send_all()", &cancelled);

    // Bulk loops that gather runs: page 2 repeats page 1's cursor, which is
    // passed back on it.
    let resumed = c
        .resume_workflow_dlq_entries()
        .label(["nightly", "urgent"])
        .send_all()
        .await;
    repeated_on_page_two(
        run,
        "resume_workflow_dlq_entries().send_all()",
        "resume_workflow_dlq_entries",
        &resumed,
    );
    let restarted = c.restart_workflow_dlq_entries().all().send_all().await;
    let exs = repeated_on_page_two(
        run,
        "restart_workflow_dlq_entries().all().send_all()",
        "restart_workflow_dlq_entries",
        &restarted,
    );
    // Everything on purpose: `count` on every call.
    for (ex, _) in &exs {
        if ex.query_values("count").is_empty() {
            run.fail(format!(
                "restart_workflow_dlq_entries().all().send_all(): no `count` on {}",
                ex.target
            ));
        }
    }

    // Everything on purpose: `.all()` sends `count` and no filter, and
    // Prism finds the request valid.
    run.ok(
        "cancel_workflow_runs().all().send()",
        c.cancel_workflow_runs().all().send(),
    )
    .await;
    run.ok(
        "delete_workflow_dlq_entries().all().send()",
        c.delete_workflow_dlq_entries().all().send(),
    )
    .await;
    run.ok(
        "resume_workflow_dlq_entries().all().send()",
        c.resume_workflow_dlq_entries().all().send(),
    )
    .await;
    run.ok(
        "restart_workflow_dlq_entries().all().send()",
        c.restart_workflow_dlq_entries().all().send(),
    )
    .await;
}

fn nothing_done_after_one_call(run: &mut Run, step: &str, result: &Result<u64, qstash::Error>) {
    let exs = run.exchanges(step);
    match result {
        Ok(0) if exs.len() == 1 => {}
        other => run.fail(format!(
            "{step}: expected Ok(0) after one call (Prism's count is negative: nothing done), got {other:?} after {} calls ({:?})",
            exs.len(),
            exs.first()
                .map(|(ex, _)| String::from_utf8_lossy(&ex.response_body).into_owned())
        )),
    }
}

fn repeated_on_page_two<T: std::fmt::Debug>(
    run: &mut Run,
    step: &str,
    operation: &str,
    result: &Result<T, qstash::Error>,
) -> Vec<(super::Exchange, Option<usize>)> {
    if !is_repeated(result, operation, 2) {
        run.fail(format!(
            "{step}: expected RepeatedCursor on page 2, got {result:?}"
        ));
    }
    let exs = run.exchanges(step);
    let cursor = exs
        .first()
        .and_then(|(ex, _)| serde_json::from_slice::<serde_json::Value>(&ex.response_body).ok())
        .and_then(|v| v["cursor"].as_str().map(str::to_owned))
        .unwrap_or_default();
    check_cursor_chain(run, step, &exs, &[cursor]);
    exs
}

// --- Every operation with its required parameters only -------------------------------------

/// The operations only the Workflow document states, with their required
/// parameters only (`super::call_minimal` has the shared ones).
pub(super) async fn call_minimal(c: &Client, method: &str) -> Option<Result<u16, qstash::Error>> {
    macro_rules! status {
        ($call:expr) => {
            Some(
                $call
                    .await
                    .map(|r| r.status().as_u16())
                    .map_err(qstash::Error::from),
            )
        };
    }
    match method {
        "trigger_workflow" => status!(
            c.trigger_workflow()
                .workflow_url(WORKFLOW_URL)
                .content_type("application/json")
                .body(r#"{"user": 42}"#)
                .send()
        ),
        "trigger_workflows" => status!(
            c.trigger_workflows()
                .body(vec![types::TriggerWorkflowsBodyItem {
                    destination: WORKFLOW_URL.into(),
                    body: None,
                    headers: HashMap::new(),
                }])
                .send()
        ),
        "cancel_workflow_run" => status!(
            c.cancel_workflow_run()
                .workflow_run_id("wfr_user-42")
                .send()
        ),
        "cancel_workflow_runs" => status!(c.cancel_workflow_runs().label("nightly").send()),
        "list_workflow_logs" => status!(c.list_workflow_logs().send()),
        "list_workflow_dlq" => status!(c.list_workflow_dlq().send()),
        "delete_workflow_dlq_entries" => {
            status!(c.delete_workflow_dlq_entries().dlq_ids("dlq_1").send())
        }
        "get_workflow_dlq_entry" => status!(c.get_workflow_dlq_entry().dlq_id("dlq_1").send()),
        "delete_workflow_dlq_entry" => {
            status!(c.delete_workflow_dlq_entry().dlq_id("dlq_1").send())
        }
        "resume_workflow_dlq_entry" => {
            status!(c.resume_workflow_dlq_entry().dlq_id("dlq_1").send())
        }
        "resume_workflow_dlq_entries" => {
            status!(c.resume_workflow_dlq_entries().dlq_ids("dlq_1").send())
        }
        "restart_workflow_dlq_entry" => {
            status!(c.restart_workflow_dlq_entry().dlq_id("dlq_1").send())
        }
        "restart_workflow_dlq_entries" => {
            status!(c.restart_workflow_dlq_entries().dlq_ids("dlq_1").send())
        }
        "retry_workflow_failure_callback" => {
            status!(c.retry_workflow_failure_callback().dlq_id("dlq_1").send())
        }
        "cancel_workflow_failure_callback" => {
            status!(c.cancel_workflow_failure_callback().dlq_id("dlq_1").send())
        }
        "notify_event" => status!(
            c.notify_event()
                .event_id("user-42-verified")
                .content_type("text/plain")
                .body("verified")
                .send()
        ),
        "notify_workflow_run" => status!(
            c.notify_workflow_run()
                .workflow_run_id("wfr_user-42")
                .event_id("user-42-verified")
                .content_type("text/plain")
                .body("verified")
                .send()
        ),
        "list_waiters" => status!(c.list_waiters().event_id("user-42-verified").send()),
        _ => None,
    }
}
