//! The workflow operations (generated from `openapi/workflow/openapi.yaml`)
//! under the layer's rules, on the wire: empty path parameters and
//! unfiltered bulk calls refused before sending, cursor pages followed,
//! bulk loops, tolerant states, and retries only where repeating cannot
//! start, resume or wake anything twice.

use std::time::Duration;

use crate::common;

use common::{client, cursors, query, query_without_cursor, requests};
use futures::TryStreamExt;
use qstash::{AuthMode, Client, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{body_string, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every test body runs under this limit: a loop bug must fail the test,
/// not hang it.
async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("finished in time")
}

async fn open_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    server
}

fn assert_refused(err: &qstash::Error, needles: &[&str]) {
    let text = err.to_string();
    assert!(matches!(err, qstash::Error::InvalidRequest(_)), "{err:?}");
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
}

/// Answers `verb route` with `body` for the request carrying `cursor`
/// (`None`: the first call, without one).
async fn page(server: &MockServer, verb: &str, route: &str, cursor: Option<&str>, body: Value) {
    let mock = Mock::given(method(verb)).and(path(route));
    let mock = match cursor {
        None => mock.and(query_param_is_missing("cursor")),
        Some(c) => mock.and(query_param("cursor", c)),
    };
    mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// The cursors the calls carried, in order (`-` for none), and that every
/// call carried `filters`.
async fn assert_calls(server: &MockServer, filters: &[(&str, &str)], expected: &[&str]) {
    let seen = requests(server).await;
    let got: Vec<String> = seen
        .iter()
        .map(|r| cursors(r).pop().unwrap_or_else(|| "-".into()))
        .collect();
    assert_eq!(got, expected);
    let filters: Vec<(String, String)> = filters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for r in &seen {
        assert_eq!(query_without_cursor(r), filters, "{}", r.url);
    }
}

#[tokio::test]
async fn a_run_is_triggered_cancelled_and_an_event_notified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/trigger/https:%2F%2Fapp.example%2Fapi%2Fonboard"))
        .and(header("upstash-workflow-runid", "wfr_order-42"))
        .and(header("content-type", "application/json"))
        .and(body_string(r#"{"user":42}"#))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"workflowRunId": "wfr_order-42", "workflowCreatedAt": 1_700_000_000_000_i64}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/workflows/runs"))
        .and(query_param("label", "nightly"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cancelled": 3})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/notify/order-42-paid"))
        .and(body_string(r#"{"paid":true}"#))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([
            {"messageId": "msg_1", "waiter": {"url": "https://app.example/api/onboard", "deadline": 1_800_000_000}}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let run = c
        .trigger_workflow()
        .workflow_url("https://app.example/api/onboard")
        .upstash_workflow_run_id("wfr_order-42")
        .content_type("application/json")
        .body(r#"{"user":42}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(run.workflow_run_id.as_deref(), Some("wfr_order-42"));
    let cancelled = c
        .cancel_workflow_runs()
        .label("nightly")
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.cancelled, Some(3));
    let woken = c
        .notify_event()
        .event_id("order-42-paid")
        .content_type("application/json")
        .body(r#"{"paid":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(woken.len(), 1);
    assert_eq!(woken[0].message_id.as_deref(), Some("msg_1"));
}

#[tokio::test]
async fn empty_path_parameters_of_workflow_operations_are_refused_before_sending() {
    let server = open_server().await;
    let c = client(&server, "t", AuthMode::Bearer);
    // An empty run ID would reach `DELETE /v2/workflows/runs`, the bulk
    // cancel, which cancels every run.
    let err = c
        .cancel_workflow_run()
        .workflow_run_id("")
        .send()
        .await
        .unwrap_err();
    assert_refused(
        &err,
        &["cancel_workflow_run", "`workflowRunId`", "Nothing was sent"],
    );
    let err = c
        .delete_workflow_dlq_entry()
        .dlq_id("")
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["delete_workflow_dlq_entry", "`dlqId`"]);
    let err = c
        .resume_workflow_dlq_entry()
        .dlq_id("")
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["resume_workflow_dlq_entry", "`dlqId`"]);
    let err = c
        .restart_workflow_dlq_entry()
        .dlq_id("")
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["restart_workflow_dlq_entry", "`dlqId`"]);
    let err = c
        .notify_event()
        .event_id("")
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["notify_event", "`eventId`"]);
    let err = c
        .notify_workflow_run()
        .workflow_run_id("")
        .event_id("e")
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["notify_workflow_run", "`workflowRunId`"]);
    let err = c
        .trigger_workflow()
        .workflow_url("")
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["trigger_workflow", "`workflowUrl`"]);
    assert_eq!(
        requests(&server).await.len(),
        0,
        "nothing reached the server"
    );
}

#[tokio::test]
async fn workflow_bulk_operations_without_a_filter_need_all() {
    let server = open_server().await;
    let c = client(&server, "t", AuthMode::Bearer);
    let err = c.cancel_workflow_runs().send().await.unwrap_err();
    assert_refused(
        &err,
        &[
            "cancel_workflow_runs",
            "no filter",
            "`.all()`",
            "`workflowRunIds`",
        ],
    );
    // How a URL matches is no filter; neither is the size of a call.
    let err = c
        .cancel_workflow_runs()
        .workflow_url_exact_match(true)
        .count(5)
        .send_all()
        .await
        .unwrap_err();
    assert_refused(&err, &["cancel_workflow_runs", "`.all()`"]);
    let err = c
        .delete_workflow_dlq_entries()
        .send_all()
        .await
        .unwrap_err();
    assert_refused(&err, &["delete_workflow_dlq_entries", "`.all()`"]);
    let err = c.resume_workflow_dlq_entries().send().await.unwrap_err();
    assert_refused(&err, &["resume_workflow_dlq_entries", "`.all()`"]);
    let err = c
        .restart_workflow_dlq_entries()
        .send_all()
        .await
        .unwrap_err();
    assert_refused(&err, &["restart_workflow_dlq_entries", "`.all()`"]);
    assert_eq!(requests(&server).await.len(), 0);

    // With a filter, or everything on purpose (with `count` on the wire).
    c.cancel_workflow_runs()
        .workflow_run_ids(["wfr_1"])
        .send()
        .await
        .unwrap();
    c.cancel_workflow_runs().all().send().await.unwrap();
    c.delete_workflow_dlq_entries()
        .all()
        .count(7)
        .send()
        .await
        .unwrap();
    c.restart_workflow_dlq_entries()
        .label("billing")
        .send()
        .await
        .unwrap();
    // What each operation takes a call: 100 (the service's default and
    // workflow-js's `{ all: true }`), 50 for the bulk restart (its
    // description's limit).
    c.resume_workflow_dlq_entries().all().send().await.unwrap();
    c.restart_workflow_dlq_entries().all().send().await.unwrap();
    let seen = requests(&server).await;
    let queries: Vec<_> = seen
        .iter()
        .map(|r| r.url.query().map(str::to_owned))
        .collect();
    assert_eq!(
        queries,
        [
            Some("workflowRunIds=wfr_1".into()),
            Some("count=100".into()),
            Some("count=7".into()),
            Some("label=billing".into()),
            Some("count=100".into()),
            Some("count=50".into()),
        ]
    );
}

fn run(id: &str, state: &str) -> Value {
    json!({"workflowRunId": id, "workflowState": state, "workflowUrl": "https://app.example/wf"})
}

#[tokio::test]
async fn the_logs_stream_follows_the_cursor_and_unknown_states_decode() {
    bounded(async {
        let server = MockServer::start().await;
        page(
            &server,
            "GET",
            "/v2/workflows/logs",
            None,
            json!({
                "runs": [run("wfr_1", "RUN_SUCCESS"), run("wfr_2", "RUN_PAUSED_BY_OPERATOR")],
                "cursor": "c1"
            }),
        )
        .await;
        page(&server, "GET", "/v2/workflows/logs", Some("c1"), json!({
            "runs": [{
                "workflowRunId": "wfr_3",
                "workflowState": "RUN_STARTED",
                "steps": [
                    {"type": "sequential", "steps": [{"stepId": 1, "state": "STEP_TELEPORTED"}]},
                    {"type": "speculative", "steps": []}
                ]
            }],
            "cursor": ""
        }))
        .await;
        let c = client(&server, "t", AuthMode::Bearer);
        let runs: Vec<qstash::types::WorkflowRun> = c
            .list_workflow_logs()
            .workflow_url("https://app.example/wf")
            .label(["a", "b"])
            .stream()
            .try_collect()
            .await
            .unwrap();
        let states: Vec<Option<&str>> = runs.iter().map(|r| r.workflow_state.as_deref()).collect();
        assert_eq!(
            states,
            [
                Some("RUN_SUCCESS"),
                Some("RUN_PAUSED_BY_OPERATOR"),
                Some("RUN_STARTED")
            ]
        );
        // A step state and a group kind nobody has heard of yet decode too.
        let groups = &runs[2].steps;
        assert_eq!(groups[0].steps[0].state.as_deref(), Some("STEP_TELEPORTED"));
        assert_eq!(
            groups[0].type_,
            Some(qstash::enums::GroupedStepsType::Sequential)
        );
        assert_eq!(
            groups[1].type_,
            Some(qstash::enums::GroupedStepsType::Unknown(
                "speculative".into()
            ))
        );
        assert_calls(
            &server,
            &[
                ("label", "a"),
                ("label", "b"),
                ("workflowUrl", "https://app.example/wf"),
            ],
            &["-", "c1"],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn the_workflow_dlq_stream_follows_the_cursor() {
    bounded(async {
        let server = MockServer::start().await;
        page(
            &server,
            "GET",
            "/v2/workflows/dlq",
            None,
            json!({
                "messages": [{"dlqId": "d1"}, {"dlqId": "d2"}], "cursor": "c1"
            }),
        )
        .await;
        page(
            &server,
            "GET",
            "/v2/workflows/dlq",
            Some("c1"),
            json!({"messages": [{"dlqId": "d3"}]}),
        )
        .await;
        let c = client(&server, "t", AuthMode::Bearer);
        let ids: Vec<Option<String>> = c
            .list_workflow_dlq()
            .failure_function_state("CALLBACK_FAIL")
            .stream()
            .map_ok(|m| m.dlq_id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            ids,
            [Some("d1".into()), Some("d2".into()), Some("d3".into())]
        );
        assert_calls(
            &server,
            &[("failureFunctionState", "CALLBACK_FAIL")],
            &["-", "c1"],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn bulk_resume_and_restart_follow_the_cursor_and_gather_the_new_runs() {
    bounded(async {
        let server = MockServer::start().await;
        for route in ["/v2/workflows/dlq/resume", "/v2/workflows/dlq/restart"] {
            page(&server, "POST", route, None, json!({
                "workflowRuns": [{"workflowRunId": "wfr_a"}, {"workflowRunId": "wfr_b"}], "cursor": "c1"
            }))
            .await;
            page(&server, "POST", route, Some("c1"), json!({
                "workflowRuns": [{"workflowRunId": "wfr_c"}], "cursor": ""
            }))
            .await;
        }
        let c = client(&server, "t", AuthMode::Bearer);
        let resumed = c.resume_workflow_dlq_entries().label("billing").send_all().await.unwrap();
        let ids: Vec<_> = resumed.iter().map(|r| r.workflow_run_id.as_deref()).collect();
        assert_eq!(ids, [Some("wfr_a"), Some("wfr_b"), Some("wfr_c")]);
        assert_calls(&server, &[("label", "billing")], &["-", "c1"]).await;

        // `send` is one call: the rest is left for a later call with the cursor.
        let one = c.restart_workflow_dlq_entries().all().send().await.unwrap();
        assert_eq!(one.cursor.as_deref(), Some("c1"));
        let progress = c
            .restart_workflow_dlq_entries()
            .all()
            .send_all_max(1)
            .await
            .unwrap();
        assert_eq!((progress.calls, progress.finished), (1, false));
        assert_eq!(progress.next_cursor.as_deref(), Some("c1"));
        assert_eq!(progress.done.len(), 2);
        let restarted = c.restart_workflow_dlq_entries().all().send_all().await.unwrap();
        assert_eq!(restarted.len(), 3);
        let restarts: Vec<_> = requests(&server)
            .await
            .into_iter()
            .filter(|r| r.url.path() == "/v2/workflows/dlq/restart")
            .map(|r| query(&r))
            .collect();
        assert_eq!(restarts.len(), 4, "{restarts:?}");
        // Everything on purpose: `count` on every call, at most the 50 runs
        // a bulk restart takes.
        assert!(restarts.iter().all(|q| q.contains(&("count".into(), "50".into()))), "{restarts:?}");
    })
    .await;
}

#[tokio::test]
async fn bulk_delete_of_the_workflow_dlq_sums_across_pages() {
    bounded(async {
        let server = MockServer::start().await;
        page(
            &server,
            "DELETE",
            "/v2/workflows/dlq",
            None,
            json!({"deleted": 100, "cursor": "c1"}),
        )
        .await;
        page(
            &server,
            "DELETE",
            "/v2/workflows/dlq",
            Some("c1"),
            json!({"deleted": 20}),
        )
        .await;
        let c = client(&server, "t", AuthMode::Bearer);
        let deleted = c
            .delete_workflow_dlq_entries()
            .workflow_url(["https://app.example/wf"])
            .send_all()
            .await
            .unwrap();
        assert_eq!(deleted, 120);
        assert_calls(
            &server,
            &[("workflowUrl", "https://app.example/wf")],
            &["-", "c1"],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn bulk_cancel_of_runs_calls_again_until_a_call_cancels_none() {
    bounded(async {
        let server = MockServer::start().await;
        for cancelled in [100, 40] {
            Mock::given(method("DELETE"))
                .and(path("/v2/workflows/runs"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"cancelled": cancelled})),
                )
                .up_to_n_times(1)
                .mount(&server)
                .await;
        }
        Mock::given(method("DELETE"))
            .and(path("/v2/workflows/runs"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cancelled": 0})))
            .mount(&server)
            .await;
        let c = client(&server, "t", AuthMode::Bearer);
        let cancelled = c
            .cancel_workflow_runs()
            .label("nightly")
            .send_all()
            .await
            .unwrap();
        assert_eq!(cancelled, 140);
        assert_calls(&server, &[("label", "nightly")], &["-", "-", "-"]).await;
    })
    .await;
}

#[tokio::test]
async fn bulk_cancel_of_runs_stops_at_its_call_limit_and_says_it_did() {
    bounded(async {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/v2/workflows/runs"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cancelled": 7})))
            .mount(&server)
            .await;
        let c = client(&server, "t", AuthMode::Bearer);
        let progress = c
            .cancel_workflow_runs()
            .label("nightly")
            .send_all_max(2)
            .await
            .unwrap();
        assert_eq!(progress.done, 14);
        assert_eq!(progress.calls, 2);
        assert!(!progress.finished, "stopped at its limit, not done");
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    })
    .await;
}

fn retrying(server: &MockServer) -> Client {
    common::client_with(server.uri(), "tok", |b| {
        b.retry_policy(
            RetryPolicy::attempts(3)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2)),
        )
        .timeout(Duration::from_secs(5))
    })
}

async fn failing(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn starting_resuming_and_notifying_are_never_repeated_after_a_server_error() {
    // Each may have reached the service: sent again, it could start a
    // second run, resume twice or wake a waiter twice.
    let server = failing(503).await;
    let c = retrying(&server);
    c.trigger_workflow()
        .workflow_url("https://app.example/wf")
        .body("x")
        .send()
        .await
        .unwrap_err();
    // Not even with a run ID of its own (whether the service drops a
    // repeated one is not established: openapi/workflow/operations.yaml).
    c.trigger_workflow()
        .workflow_url("https://app.example/wf")
        .upstash_workflow_run_id("wfr_once")
        .body("x")
        .send()
        .await
        .unwrap_err();
    c.trigger_workflows()
        .body(Vec::new())
        .send()
        .await
        .unwrap_err();
    c.notify_event()
        .event_id("e")
        .body("x")
        .send()
        .await
        .unwrap_err();
    c.resume_workflow_dlq_entry()
        .dlq_id("d")
        .send()
        .await
        .unwrap_err();
    c.restart_workflow_dlq_entries()
        .label("l")
        .send()
        .await
        .unwrap_err();
    c.retry_workflow_failure_callback()
        .dlq_id("d")
        .send()
        .await
        .unwrap_err();
    assert_eq!(requests(&server).await.len(), 7, "each sent once");

    // What only reads or removes is repeated.
    let server = failing(502).await;
    let c = retrying(&server);
    let err = c.list_workflow_logs().send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(requests(&server).await.len(), 3);
    c.cancel_workflow_run()
        .workflow_run_id("wfr_1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(requests(&server).await.len(), 6);
}

#[tokio::test]
async fn a_rate_limited_trigger_is_retried() {
    // A 429 means the service did not take the request: sending it again
    // starts one run, not two.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"workflowRunId": "wfr_1"})))
        .mount(&server)
        .await;
    let run = retrying(&server)
        .trigger_workflow()
        .workflow_url("https://app.example/wf")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(run.workflow_run_id.as_deref(), Some("wfr_1"));
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn trigger_options_send_every_declared_header_including_the_wildcard_families() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/batch/trigger"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([{}, {}])))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let options = qstash::WorkflowOptions::new()
        .run_id("wfr_user-42")
        .forward_header("X-Tenant", "acme")
        .delay(Duration::from_secs(90))
        .retries(2)
        .retry_delay("1000 * (1 + retried)")
        .flow_control(qstash::FlowControl::new("tenant-acme").parallelism(3))
        .label("onboarding")
        .label("beta")
        .failure_callback("https://app.example/api/failed")
        .failure_callback_forward_header("X-Alert", "ops");
    bounded(
        c.trigger_workflow()
            .workflow_url("https://app.example/api/onboard")
            .payload(qstash::Body::json(&json!({"user": 42})).unwrap())
            .options(options.clone())
            .send(),
    )
    .await
    .unwrap();
    bounded(
        c.trigger_workflows()
            .runs([
                qstash::WorkflowTrigger::new("https://app.example/api/onboard")
                    .payload(qstash::Body::text("in"))
                    .options(options),
                qstash::WorkflowTrigger::new("https://app.example/api/billing"),
            ])
            .send(),
    )
    .await
    .unwrap();
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    let expected = [
        ("upstash-workflow-runid", "wfr_user-42"),
        ("upstash-forward-x-tenant", "acme"),
        ("upstash-delay", "90s"),
        ("upstash-retries", "2"),
        ("upstash-retry-delay", "1000 * (1 + retried)"),
        ("upstash-flow-control-key", "tenant-acme"),
        ("upstash-flow-control-value", "parallelism=3"),
        ("upstash-label", "onboarding,beta"),
        ("upstash-failure-callback", "https://app.example/api/failed"),
        ("upstash-failure-callback-forward-x-alert", "ops"),
        ("content-type", "application/json"),
    ];
    let single = &seen[0];
    assert_eq!(single.body, br#"{"user":42}"#);
    for (name, value) in expected {
        let got: Vec<&str> = single
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(got, [value], "{name}");
    }
    let batch: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(seen[1].url.path(), "/v2/batch/trigger");
    let mut headers = expected.map(|(k, v)| (k.to_string(), json!(v))).to_vec();
    headers.pop();
    headers.push(("content-type".into(), json!("text/plain; charset=utf-8")));
    assert_eq!(
        batch,
        json!([
            {
                "destination": "https://app.example/api/onboard",
                "body": "in",
                "headers": serde_json::Map::from_iter(headers),
            },
            {"destination": "https://app.example/api/billing"},
        ])
    );
}

#[tokio::test]
async fn invalid_trigger_options_are_refused_before_sending_naming_the_option() {
    let server = open_server().await;
    let c = client(&server, "t", AuthMode::Bearer);
    let err = bounded(
        c.trigger_workflow()
            .workflow_url("https://app.example/api/onboard")
            .body("x")
            .options(qstash::WorkflowOptions::new().failure_callback("not a url"))
            .send(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, qstash::Error::InvalidOption { option, .. } if option == "failure_callback"),
        "{err:?}"
    );
    let err = bounded(
        c.trigger_workflows()
            .runs([
                qstash::WorkflowTrigger::new("https://app.example/a"),
                qstash::WorkflowTrigger::new("https://app.example/b")
                    .options(qstash::WorkflowOptions::new().label("a,b")),
            ])
            .send(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, qstash::Error::InvalidOption { option, .. } if option == "run 1: label"),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 0, "nothing was sent");
}

#[tokio::test]
async fn a_documented_302_is_the_success_of_cancelling_a_failure_callback_only() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/workflows/dlq/callback/dlq_1"))
        .respond_with(ResponseTemplate::new(302))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/workflows/dlq/dlq_1"))
        .respond_with(ResponseTemplate::new(302))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    // The description documents 302 (and no 2xx) as this operation's success.
    let cancelled = bounded(c.cancel_workflow_failure_callback().dlq_id("dlq_1").send())
        .await
        .unwrap();
    assert_eq!(cancelled.status().as_u16(), 302);
    // Where the description documents a 2xx, a 3xx is still unexpected.
    let err = bounded(c.delete_workflow_dlq_entry().dlq_id("dlq_1").send())
        .await
        .unwrap_err();
    assert!(
        matches!(err, qstash::Error::UnexpectedStatus(s) if s.as_u16() == 302),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_optional_body_may_be_left_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/notify/order-42-paid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/notify/wfr_1/order-42-paid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/trigger/https:%2F%2Fapp.example%2Fwf"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"workflowRunId": "wfr_2"})))
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    // The description does not require a body for these: none is needed.
    bounded(c.notify_event().event_id("order-42-paid").send())
        .await
        .unwrap();
    bounded(
        c.notify_workflow_run()
            .workflow_run_id("wfr_1")
            .event_id("order-42-paid")
            .send(),
    )
    .await
    .unwrap();
    bounded(
        c.trigger_workflow()
            .workflow_url("https://app.example/wf")
            .send(),
    )
    .await
    .unwrap();
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 3);
    for r in &seen {
        assert!(r.body.is_empty(), "{}: {:?}", r.url, r.body);
    }
}
