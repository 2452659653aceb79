//! The workflow REST surface, curl-shaped: runs triggered on qstash-dev are
//! delivered to a recording receiver with the workflow headers and a valid
//! signature, show in the workflow logs, are cancelled one by one and in
//! bulk, wait for events and are notified, and fail into the workflow DLQ.

use axum::http::StatusCode;
use qstash::Receiver;
use qstash_dev::{Limits, Server};
use serde_json::{Value, json};

use crate::common::{Sink, bounded, get_json, http, server, server_with};

/// A request to `path` on `server` with its token and `headers`; the
/// status and the body read as JSON (`Null` when empty).
async fn call(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = http()
        .request(method, format!("{}{path}", server.url()))
        .header("Authorization", format!("Bearer {}", server.token()))
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the request");
    let status = StatusCode::from_u16(response.status().as_u16()).expect("a status");
    let bytes = response.bytes().await.expect("the body");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
    };
    (status, value)
}

/// Triggers a run of `url`; its id.
async fn trigger(server: &Server, url: &str, headers: &[(&str, &str)], body: &str) -> String {
    let (status, answer) = call(
        server,
        "POST",
        &format!("/v2/trigger/{url}"),
        headers,
        body.to_owned(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["workflowRunId"]
        .as_str()
        .expect("a run id")
        .to_owned()
}

/// The run `id` as the logs show it.
async fn run(server: &Server, id: &str) -> Value {
    let page = get_json(server, &format!("/v2/workflows/logs?workflowRunId={id}")).await;
    let runs = page["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{page}");
    runs[0].clone()
}

async fn wait_for_state(server: &Server, id: &str, state: &str) -> Value {
    loop {
        let run = run(server, id).await;
        if run["workflowState"] == state {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_triggered_run_is_delivered_signed_with_the_workflow_headers_and_shows_in_the_logs() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/api/workflow");
        let id = trigger(
            &server,
            &url,
            &[
                ("Content-Type", "application/json"),
                ("Upstash-Label", "nightly"),
                ("Upstash-Forward-X-Tenant", "acme"),
            ],
            r#"{"order":1}"#,
        )
        .await;
        assert!(id.starts_with("wfr_"), "{id}");

        let got = sink.wait_for(1).await;
        let r = &got[0];
        assert_eq!(r.path, "/api/workflow");
        assert_eq!(r.body.as_ref(), br#"{"order":1}"#);
        assert_eq!(r.header("upstash-workflow-runid"), Some(id.as_str()));
        assert_eq!(r.header("upstash-workflow-init"), Some("true"));
        assert_eq!(r.header("upstash-workflow-url"), Some(url.as_str()));
        assert_eq!(r.header("upstash-label"), Some("nightly"));
        assert_eq!(r.header("x-tenant"), Some("acme"));
        let signature = r.header("upstash-signature").expect("a signature");
        let receiver = Receiver::new(server.current_signing_key(), server.next_signing_key());
        receiver
            .verify(signature, &r.body, Some(&url))
            .expect("the signature verifies");

        // The endpoint answered 200 and queued nothing more: the run is done.
        let run = wait_for_state(&server, &id, "RUN_SUCCESS").await;
        assert_eq!(run["workflowUrl"], url.as_str());
        assert_eq!(run["labels"], json!(["nightly"]));
        assert!(run["workflowRunCompletedAt"].as_i64().is_some(), "{run}");
        let step = &run["steps"][0]["steps"][0];
        assert_eq!(step["stepName"], "init");
        assert_eq!(step["state"], "STEP_SUCCESS");
        assert_eq!(step["messageId"], r.header("upstash-message-id").unwrap());

        // What workflow-js reads: the events path, grouped by run.
        let page = get_json(
            &server,
            &format!("/v2/workflows/events?groupBy=workflowRunId&workflowRunId={id}"),
        )
        .await;
        assert_eq!(page["runs"][0]["workflowRunId"], id.as_str());
        // The filters select: another URL, another state.
        let other = get_json(&server, "/v2/workflows/logs?workflowUrl=http://elsewhere/").await;
        assert_eq!(other["runs"], json!([]));
        let failed = get_json(&server, "/v2/workflows/logs?state=RUN_FAILED").await;
        assert_eq!(failed["runs"], json!([]));
        let (status, answer) = call(&server, "GET", "/v2/workflows/logs?state=DONE", &[], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    })
    .await;
}

#[tokio::test]
async fn a_run_id_given_by_the_caller_is_kept_and_a_second_trigger_with_it_starts_nothing() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let headers = [("Upstash-Workflow-RunId", "wfr_mine")];
        assert_eq!(trigger(&server, &url, &headers, "a").await, "wfr_mine");
        sink.wait_for(1).await;
        let (status, again) = call(
            &server,
            "POST",
            &format!("/v2/trigger/{url}"),
            &headers,
            "b",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["deduplicated"], true, "{again}");
        // The batch trigger: one run per entry, a repeated id once.
        let batch = json!([
            {"destination": url, "body": "x", "headers": {"Upstash-Workflow-RunId": "wfr_b1"}},
            {"destination": url, "body": "y", "headers": {"Upstash-Workflow-RunId": "wfr_b1"}},
            {"destination": url, "body": "z"},
        ]);
        let (status, answer) =
            call(&server, "POST", "/v2/batch/trigger", &[], batch.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer[0]["workflowRunId"], "wfr_b1");
        assert_eq!(answer[0]["deduplicated"], false);
        assert_eq!(answer[1]["deduplicated"], true);
        assert!(
            answer[2]["workflowRunId"]
                .as_str()
                .unwrap()
                .starts_with("wfr_")
        );
        let got = sink.wait_for(3).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(sink.count(), 3, "{got:?}");
    })
    .await;
}

#[tokio::test]
async fn a_run_started_the_sdk_way_through_the_batch_is_seen() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/sdk");
        // What workflow-js's `client.trigger` sends (evidence row 10).
        let batch = json!([{
            "destination": url,
            "body": "{\"input\":1}",
            "headers": {
                "Upstash-Workflow-Init": "true",
                "Upstash-Workflow-RunId": "wfr_sdk",
                "Upstash-Workflow-Url": url,
                "Upstash-Feature-Set": "LazyFetch,InitialBody",
                "Upstash-Forward-Upstash-Workflow-Sdk-Version": "1",
            },
        }]);
        let (status, _) = call(&server, "POST", "/v2/batch", &[], batch.to_string()).await;
        assert_eq!(status, StatusCode::OK);
        let got = sink.wait_for(1).await;
        assert_eq!(got[0].header("upstash-workflow-runid"), Some("wfr_sdk"));
        assert_eq!(
            got[0].header("upstash-feature-set"),
            Some("LazyFetch,InitialBody")
        );
        assert_eq!(got[0].header("upstash-workflow-sdk-version"), Some("1"));
        let run = wait_for_state(&server, "wfr_sdk", "RUN_SUCCESS").await;
        assert_eq!(run["workflowUrl"], url.as_str());
    })
    .await;
}

#[tokio::test]
async fn runs_are_cancelled_one_by_one_and_in_bulk_and_never_all_by_accident() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        // Delayed: the runs stay going until cancelled.
        let later = [("Upstash-Delay", "1h")];
        let one = trigger(&server, &url, &later, "1").await;
        assert_eq!(run(&server, &one).await["workflowState"], "RUN_STARTED");

        let (status, _) = call(
            &server,
            "DELETE",
            &format!("/v2/workflows/runs/{one}?cancel=true"),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let cancelled = run(&server, &one).await;
        assert_eq!(cancelled["workflowState"], "RUN_CANCELED");
        assert_eq!(cancelled["steps"][0]["steps"][0]["state"], "STEP_CANCELED");
        let (status, answer) = call(
            &server,
            "DELETE",
            &format!("/v2/workflows/runs/{one}"),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let (status, _) = call(&server, "DELETE", "/v2/workflows/runs/wfr_nope", &[], "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The serving side removes a run that returned: it succeeded.
        let done = trigger(&server, &url, &later, "r").await;
        let (status, _) = call(
            &server,
            "DELETE",
            &format!("/v2/workflows/runs/{done}?cancel=false"),
            &[],
            "result",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let path = |trim: &str| format!("/v2/workflows/logs?workflowRunId={done}{trim}");
        let whole = get_json(&server, &path("")).await;
        assert_eq!(whole["runs"][0]["workflowState"], "RUN_SUCCESS");
        assert_eq!(whole["runs"][0]["workflowRunResponse"], "result");
        let cut = get_json(&server, &path("&trimBody=3")).await;
        assert_eq!(cut["runs"][0]["workflowRunResponse"], "res");
        let none = get_json(&server, &path("&trimBody=-1")).await;
        assert_eq!(none["runs"][0]["workflowState"], "RUN_SUCCESS", "{none}");
        let empty = get_json(&server, &path("&trimBody=0")).await;
        assert_eq!(empty["runs"][0]["workflowRunResponse"], "", "{empty}");
        assert!(
            none["runs"][0].get("workflowRunResponse").is_none(),
            "{none}"
        );
        let (status, _) = call(&server, "GET", &path("&trimBody=-2"), &[], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = call(&server, "GET", &path("&groupBy=state"), &[], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Bulk by ids: unknown ones skipped, cancelled ones not counted again.
        let a = trigger(&server, &url, &later, "a").await;
        let b = trigger(&server, &url, &later, "b").await;
        let ids = json!({ "workflowRunIds": [a, b, "non-existent"] }).to_string();
        let (status, answer) = call(
            &server,
            "DELETE",
            "/v2/workflows/runs",
            &[("Content-Type", "application/json")],
            ids.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer, json!({ "cancelled": 2 }));
        let (_, again) = call(
            &server,
            "DELETE",
            "/v2/workflows/runs",
            &[("Content-Type", "application/json")],
            ids,
        )
        .await;
        assert_eq!(again, json!({ "cancelled": 0 }));

        // Without a filter: refused, whatever is going.
        let c = trigger(
            &server,
            &url,
            &[("Upstash-Delay", "1h"), ("Upstash-Label", "nightly")],
            "c",
        )
        .await;
        let d = trigger(&server, &url, &later, "d").await;
        let (status, answer) = call(&server, "DELETE", "/v2/workflows/runs", &[], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("without a filter"),
            "{answer}"
        );
        let (status, answer) = call(
            &server,
            "DELETE",
            "/v2/workflows/runs?workflowRunId=x",
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("`workflowRunId`"),
            "{answer}"
        );
        let (status, _) = call(
            &server,
            "DELETE",
            "/v2/workflows/runs?workflowRunIds=",
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(run(&server, &c).await["workflowState"], "RUN_STARTED");

        // By label, from the query: only that run.
        let (_, answer) = call(
            &server,
            "DELETE",
            "/v2/workflows/runs?label=nightly",
            &[],
            "",
        )
        .await;
        assert_eq!(answer, json!({ "cancelled": 1 }));
        assert_eq!(run(&server, &c).await["workflowState"], "RUN_CANCELED");
        assert_eq!(run(&server, &d).await["workflowState"], "RUN_STARTED");
        // By URL prefix.
        let (_, answer) = call(
            &server,
            "DELETE",
            &format!("/v2/workflows/runs?workflowUrl={}", sink.url("/")),
            &[],
            "",
        )
        .await;
        assert_eq!(answer, json!({ "cancelled": 1 }));
        assert_eq!(run(&server, &d).await["workflowState"], "RUN_CANCELED");
        // Matched whole when asked: a prefix then selects nothing.
        let e = trigger(&server, &url, &later, "e").await;
        let exact =
            |u: &str| format!("/v2/workflows/runs?workflowUrl={u}&workflowUrlExactMatch=true");
        let (status, answer) = call(&server, "DELETE", &exact(&sink.url("/")), &[], "").await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer, json!({ "cancelled": 0 }));
        let (_, answer) = call(&server, "DELETE", &exact(&url), &[], "").await;
        assert_eq!(answer, json!({ "cancelled": 1 }));
        assert_eq!(run(&server, &e).await["workflowState"], "RUN_CANCELED");
        // `workflowUrlExactMatch` alone is no filter.
        let (status, _) = call(
            &server,
            "DELETE",
            "/v2/workflows/runs?workflowUrlExactMatch=true",
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Nothing was ever delivered.
        assert_eq!(sink.count(), 0);
    })
    .await;
}

/// Puts run `run_id` in "waiting for `event`" as workflow-js's
/// `waitForEvent` step does: `POST /v2/wait/{event}`.
pub(crate) async fn wait_for_event(
    server: &Server,
    run_id: &str,
    event: &str,
    url: &str,
    timeout: Value,
) -> (StatusCode, Value) {
    let body = json!({
        "url": url,
        "timeout": timeout,
        "timeoutUrl": url,
        "timeoutHeaders": {"Upstash-Workflow-Runid": [run_id], "Upstash-Workflow-Calltype": ["step"]},
        "step": {"stepId": 2, "stepName": "wait-order", "stepType": "Wait", "concurrent": 1},
    });
    call(
        server,
        "POST",
        &format!("/v2/wait/{event}"),
        &[
            ("Upstash-Workflow-RunId", run_id),
            ("Upstash-Workflow-Init", "false"),
            ("Upstash-Workflow-CallType", "step"),
            ("Content-Type", "application/json"),
        ],
        body.to_string(),
    )
    .await
}

#[tokio::test]
async fn notify_wakes_the_waiters_of_an_event_and_answers_empty_when_none_waits() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;

        let (status, answer) = call(&server, "POST", "/v2/notify/order-paid", &[], "{}").await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(answer, json!([]));

        let (status, answer) = wait_for_event(&server, &id, "order-paid", &url, json!("1h")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let waiters = get_json(&server, "/v2/waiters/order-paid").await;
        let list = waiters.as_array().expect("waiters");
        assert_eq!(list.len(), 1, "{waiters}");
        assert_eq!(list[0]["url"], url.as_str());
        assert_eq!(list[0]["headers"]["Upstash-Workflow-Runid"], json!([id]));
        assert_eq!(list[0]["timeoutUrl"], url.as_str());
        let deadline = list[0]["deadline"].as_i64().unwrap();
        assert_eq!(deadline, answer["deadline"].as_i64().unwrap());
        let run_now = run(&server, &id).await;
        let next = run_now["steps"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(next["type"], "next");
        assert!(
            next["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["waitEventId"] == "order-paid"),
            "{next}"
        );
        assert_eq!(get_json(&server, "/v2/waiters/other").await, json!([]));

        let (status, answer) = call(
            &server,
            "POST",
            "/v2/notify/order-paid",
            &[],
            r#"{"paid":true}"#,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let results = answer.as_array().expect("results");
        assert_eq!(results.len(), 1, "{answer}");
        assert_eq!(results[0]["waiter"]["url"], url.as_str());
        let message_id = results[0]["messageId"].as_str().unwrap().to_owned();

        let got = sink.wait_for(1).await;
        let r = &got[0];
        assert_eq!(r.header("upstash-message-id"), Some(message_id.as_str()));
        assert_eq!(r.header("upstash-workflow-runid"), Some(id.as_str()));
        assert_eq!(r.header("upstash-workflow-calltype"), Some("step"));
        let step: Value = serde_json::from_slice(&r.body).expect("a step");
        assert_eq!(step["out"], r#"{"paid":true}"#);
        assert_eq!(step["waitEventId"], "order-paid");
        assert_eq!(step["waitTimeout"], false);
        assert_eq!(step["stepName"], "wait-order");
        let receiver = Receiver::new(server.current_signing_key(), server.next_signing_key());
        receiver
            .verify(r.header("upstash-signature").unwrap(), &r.body, Some(&url))
            .expect("signed");
        assert_eq!(get_json(&server, "/v2/waiters/order-paid").await, json!([]));
        let (_, again) = call(&server, "POST", "/v2/notify/order-paid", &[], "{}").await;
        assert_eq!(again, json!([]));
    })
    .await;
}

#[tokio::test]
async fn an_event_notified_to_a_run_before_it_waits_is_handed_over_when_it_does() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/notify/{id}/approved"),
            &[],
            "yes",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer["workflowRunId"], id.as_str());
        assert!(answer.get("messageId").is_none(), "{answer}");
        let (status, answer) = wait_for_event(&server, &id, "approved", &url, json!(60)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(answer["messageId"].as_str().is_some(), "{answer}");
        let got = sink.wait_for(1).await;
        let step: Value = serde_json::from_slice(&got[0].body).unwrap();
        assert_eq!(step["out"], "yes");
        assert_eq!(get_json(&server, "/v2/waiters/approved").await, json!([]));
        let (status, _) = call(&server, "POST", "/v2/notify/wfr_unknown/approved", &[], "x").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_wait_that_times_out_calls_its_timeout_url_and_a_cancel_drops_waiters() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
        let (status, _) = wait_for_event(&server, &id, "late", &url, json!("1s")).await;
        assert_eq!(status, StatusCode::OK);
        let got = sink.wait_for(1).await;
        let step: Value = serde_json::from_slice(&got[0].body).unwrap();
        assert_eq!(step["waitTimeout"], true, "{step}");
        assert_eq!(got[0].header("upstash-workflow-runid"), Some(id.as_str()));
        assert_eq!(get_json(&server, "/v2/waiters/late").await, json!([]));

        let (status, _) = wait_for_event(&server, &id, "never", &url, json!("1h")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(
            &server,
            "DELETE",
            &format!("/v2/workflows/runs/{id}"),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(get_json(&server, "/v2/waiters/never").await, json!([]));
        // An ended run waits for nothing.
        let (status, answer) = wait_for_event(&server, &id, "never", &url, json!("1h")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    })
    .await;
}

#[tokio::test]
async fn a_failing_run_goes_to_the_workflow_dlq_and_is_restarted_resumed_or_deleted() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        sink.set_status(500);
        let url = sink.url("/wf");
        let failing = [("Upstash-Retries", "0"), ("Upstash-Label", "billing")];
        let id = trigger(&server, &url, &failing, "input").await;
        let failed = wait_for_state(&server, &id, "RUN_FAILED").await;
        let dlq_id = failed["dlqId"].as_str().expect("a DLQ id").to_owned();

        let list = get_json(&server, "/v2/workflows/dlq").await;
        assert_eq!(list["messages"][0]["dlqId"], dlq_id.as_str(), "{list}");
        assert_eq!(list["messages"][0]["workflowRunId"], id.as_str());
        assert_eq!(list["messages"][0]["workflowUrl"], url.as_str());
        assert_eq!(list["messages"][0]["responseStatus"], 500);
        // What workflow-js lists with (evidence row 7).
        let sdk = get_json(&server, "/v2/dlq?source=workflow").await;
        assert_eq!(sdk["messages"][0]["dlqId"], dlq_id.as_str());
        let none = get_json(&server, "/v2/workflows/dlq?label=other").await;
        assert_eq!(none["messages"], json!([]));
        // workflow-js's list filters: the failed call's URL and status.
        let by_call = get_json(
            &server,
            &format!("/v2/dlq?source=workflow&url={url}&responseStatus=500"),
        )
        .await;
        assert_eq!(by_call["messages"][0]["dlqId"], dlq_id.as_str());
        let other = get_json(&server, "/v2/dlq?source=workflow&responseStatus=502").await;
        assert_eq!(other["messages"], json!([]));
        let by_message = get_json(
            &server,
            &format!(
                "/v2/workflows/events?groupBy=workflowRunId&messageId={}",
                list["messages"][0]["messageId"].as_str().unwrap()
            ),
        )
        .await;
        assert_eq!(by_message["runs"][0]["workflowRunId"], id.as_str());
        let failing_runs = get_json(&server, "/v2/workflows/logs?messageId=msg_none").await;
        assert_eq!(failing_runs["runs"], json!([]));
        let one = get_json(&server, &format!("/v2/workflows/dlq/{dlq_id}")).await;
        assert_eq!(one["workflowRunId"], id.as_str());

        // Restart: a new run from the first call, delivered again.
        sink.set_status(200);
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/workflows/dlq/restart/{dlq_id}"),
            &[("Upstash-Retries", "2")],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let new_id = answer["workflowRunId"].as_str().unwrap().to_owned();
        assert_ne!(new_id, id);
        let got = sink.wait_for(2).await;
        assert_eq!(
            got[1].header("upstash-workflow-runid"),
            Some(new_id.as_str())
        );
        assert_eq!(got[1].header("upstash-workflow-init"), Some("true"));
        assert_eq!(got[1].body.as_ref(), b"input");
        wait_for_state(&server, &new_id, "RUN_SUCCESS").await;
        let (status, _) = call(
            &server,
            "GET",
            &format!("/v2/workflows/dlq/{dlq_id}"),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Resume in bulk, by id; delete in bulk refused without a filter.
        sink.set_status(500);
        let second = trigger(&server, &url, &failing, "again").await;
        let dlq_two = wait_for_state(&server, &second, "RUN_FAILED").await["dlqId"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, answer) = call(&server, "DELETE", "/v2/workflows/dlq", &[], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        for (action, done) in [("resume", "resumed"), ("restart", "restarted")] {
            let (status, answer) = call(
                &server,
                "POST",
                &format!("/v2/workflows/dlq/{action}"),
                &[],
                "",
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
            let text = answer["error"].as_str().unwrap();
            assert!(text.contains(&format!("are {done} per call")), "{text}");
        }
        sink.set_status(200);
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/workflows/dlq/resume?dlqIds={dlq_two}"),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let resumed = answer["workflowRuns"][0]["workflowRunId"]
            .as_str()
            .unwrap()
            .to_owned();
        wait_for_state(&server, &resumed, "RUN_SUCCESS").await;

        // Delete by filter.
        sink.set_status(500);
        let third = trigger(&server, &url, &failing, "third").await;
        wait_for_state(&server, &third, "RUN_FAILED").await;
        let (status, answer) = call(
            &server,
            "DELETE",
            "/v2/workflows/dlq?label=billing",
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["deleted"], 1);
        assert_eq!(
            get_json(&server, "/v2/workflows/dlq").await["messages"],
            json!([])
        );
    })
    .await;
}

#[tokio::test]
async fn the_failure_callback_of_a_failed_run_is_tracked_and_called_again() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let callback = Sink::start().await;
        sink.set_status(500);
        callback.set_status(500);
        let url = sink.url("/wf");
        let failure_url = callback.url("/failed");
        let id = trigger(
            &server,
            &url,
            &[
                ("Upstash-Retries", "0"),
                ("Upstash-Failure-Callback", failure_url.as_str()),
                ("Upstash-Failure-Callback-Retries", "0"),
            ],
            "x",
        )
        .await;
        let failed = wait_for_state(&server, &id, "RUN_FAILED").await;
        let dlq_id = failed["dlqId"].as_str().unwrap().to_owned();
        callback.wait_for(1).await;
        let entry = loop {
            let entry = get_json(&server, &format!("/v2/workflows/dlq/{dlq_id}")).await;
            if entry["failureFunctionState"] == "CALLBACK_FAIL" {
                break entry;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        assert_eq!(entry["failureCallbackInfo"]["state"], "CALLBACK_FAIL");
        let listed = get_json(
            &server,
            "/v2/workflows/dlq?failureFunctionState=CALLBACK_FAIL",
        )
        .await;
        assert_eq!(listed["messages"][0]["dlqId"], dlq_id.as_str());

        callback.set_status(200);
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/workflows/dlq/callback/{dlq_id}"),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["workflowRunId"], id.as_str());
        callback.wait_for(2).await;
        loop {
            let entry = get_json(&server, &format!("/v2/workflows/dlq/{dlq_id}")).await;
            if entry["failureFunctionState"] == "CALLBACK_SUCCESS" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // Only a failed callback is called again.
        let (status, _) = call(
            &server,
            "POST",
            &format!("/v2/workflows/dlq/callback/{dlq_id}"),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn workflow_inputs_past_their_bounds_are_refused_naming_the_limit() {
    bounded(async {
        let server = server_with(Limits {
            max_workflow_runs: 1,
            max_workflow_waiters: 1,
            ..Limits::default()
        })
        .await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        // Two new runs where one fits: refused before any is started.
        let batch = json!([{"destination": url}, {"destination": url}]).to_string();
        let (status, answer) = call(&server, "POST", "/v2/batch/trigger", &[], batch).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{answer}");
        let text = answer["error"].as_str().unwrap();
        assert!(
            text.starts_with("batch entry 0: workflow run limit"),
            "{text}"
        );
        assert_eq!(
            get_json(&server, "/v2/workflows/logs").await["runs"],
            json!([])
        );
        let long = "r".repeat(300);
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/trigger/{url}"),
            &[("Upstash-Workflow-RunId", long.as_str())],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            answer["error"].as_str().unwrap().contains("256 bytes"),
            "{answer}"
        );

        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "").await;
        let (status, answer) = call(&server, "POST", &format!("/v2/trigger/{url}"), &[], "").await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("workflow run limit"),
            "{answer}"
        );

        let (status, answer) = wait_for_event(&server, &id, "e", &url, json!("400d")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            answer["error"].as_str().unwrap().contains("365d"),
            "{answer}"
        );
        let (status, _) = wait_for_event(&server, &id, "e", &url, json!("1h")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, answer) = wait_for_event(&server, &id, "f", &url, json!("1h")).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        assert!(
            answer["error"].as_str().unwrap().contains("waiter limit"),
            "{answer}"
        );
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/trigger/{url}"),
            &[("Upstash-Retries", "101")],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            answer["error"].as_str().unwrap().contains("at most 100"),
            "{answer}"
        );
        let (status, _) = call(&server, "POST", "/v2/trigger/not-a-url", &[], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Once it ended, the run's room goes to a new one.
        call(
            &server,
            "DELETE",
            &format!("/v2/workflows/runs/{id}"),
            &[],
            "",
        )
        .await;
        trigger(&server, &url, &[("Upstash-Delay", "1h")], "").await;
    })
    .await;
}

/// The failed runs' DLQ ids, after triggering `n` runs of `url` that fail
/// (the receiver answers 500, no retries).
async fn failed_runs(server: &Server, url: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let failing = [
            ("Upstash-Retries", "0"),
            ("Upstash-Label", "billing"),
            ("Upstash-Forward-X-Keep", "yes"),
        ];
        let id = trigger(server, url, &failing, &format!("input {i}")).await;
        let failed = wait_for_state(server, &id, "RUN_FAILED").await;
        ids.push(failed["dlqId"].as_str().expect("a DLQ id").to_owned());
    }
    ids
}

#[tokio::test]
async fn a_bulk_resume_takes_exactly_the_room_left_and_refuses_one_more_doing_nothing() {
    bounded(async {
        let server = server_with(Limits {
            max_messages: 2,
            ..Limits::default()
        })
        .await;
        let sink = Sink::start().await;
        sink.set_status(500);
        let url = sink.url("/wf");
        let dlq = failed_runs(&server, &url, 3).await;
        sink.set_status(200);
        let in_dlq = || async {
            get_json(&server, "/v2/workflows/dlq").await["messages"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(in_dlq().await, 3);

        for action in ["resume", "restart"] {
            let all = format!(
                "/v2/workflows/dlq/{action}?dlqIds={}&dlqIds={}&dlqIds={}",
                dlq[0], dlq[1], dlq[2]
            );
            let (status, answer) = call(&server, "POST", &all, &[], "").await;
            assert_eq!(
                status,
                StatusCode::PRECONDITION_FAILED,
                "{action}: {answer}"
            );
            assert!(
                answer["error"]
                    .as_str()
                    .unwrap()
                    .contains("nothing was done"),
                "{answer}"
            );
            assert_eq!(
                in_dlq().await,
                3,
                "{action}: nothing was taken out of the DLQ"
            );
            assert_eq!(sink.count(), 3, "{action}: nothing was delivered again");
        }

        // As many as there is room for: all of them.
        let two = format!(
            "/v2/workflows/dlq/resume?dlqIds={}&dlqIds={}",
            dlq[0], dlq[1]
        );
        let (status, answer) = call(&server, "POST", &two, &[], "").await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(
            answer["workflowRuns"].as_array().unwrap().len(),
            2,
            "{answer}"
        );
        assert_eq!(in_dlq().await, 1);
        sink.wait_for(5).await;
    })
    .await;
}

#[tokio::test]
async fn a_resume_with_an_empty_label_drops_the_label_and_keeps_the_other_headers() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        sink.set_status(500);
        let url = sink.url("/wf");
        let dlq = failed_runs(&server, &url, 1).await;
        let first = &sink.wait_for(1).await[0];
        assert_eq!(first.header("upstash-label"), Some("billing"));
        assert_eq!(first.header("x-keep"), Some("yes"));
        sink.set_status(200);

        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/workflows/dlq/resume/{}", dlq[0]),
            &[("Upstash-Label", "")],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let again = &sink.wait_for(2).await[1];
        assert_eq!(again.header("upstash-label"), None, "the label was dropped");
        assert_eq!(again.header("x-keep"), Some("yes"), "the rest was kept");
    })
    .await;
}

#[tokio::test]
async fn a_wait_takes_a_timeout_up_to_365_days_and_shows_its_timeout_body_when_it_has_one() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;

        // 365 days exactly, in seconds, is taken; a second more is not.
        let (status, answer) = wait_for_event(&server, &id, "late", &url, json!(31_536_001)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("365d"),
            "{answer}"
        );
        let (status, answer) = wait_for_event(&server, &id, "late", &url, json!(31_536_000)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let waiters = get_json(&server, "/v2/waiters/late").await;
        assert_eq!(waiters.as_array().unwrap().len(), 1, "{waiters}");
        // No timeout body: no field.
        assert!(waiters[0].get("timeoutBody").is_none(), "{waiters}");

        // With one: shown in base64.
        let (status, answer) = call(
            &server,
            "POST",
            "/v2/wait/with-body",
            &[
                ("Upstash-Workflow-RunId", id.as_str()),
                ("Content-Type", "application/json"),
            ],
            json!({"url": url, "timeout": "1h", "timeoutUrl": url, "timeoutBody": "gave up"})
                .to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let waiters = get_json(&server, "/v2/waiters/with-body").await;
        assert_eq!(waiters[0]["timeoutBody"], "Z2F2ZSB1cA==", "{waiters}");
    })
    .await;
}

#[tokio::test]
async fn a_wait_without_a_timeout_lasts_seven_days() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
        let unix_secs = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        let seven_days = 7 * 86_400;
        let before = unix_secs();
        let (status, answer) = wait_for_event(&server, &id, "someday", &url, Value::Null).await;
        let after = unix_secs();
        assert_eq!(status, StatusCode::OK, "{answer}");
        // The deadline (Unix seconds) is 7 days after the wait was taken.
        let deadline = answer["deadline"].as_u64().expect("a deadline");
        assert!(
            (before + seven_days..=after + seven_days).contains(&deadline),
            "deadline {deadline}, taken between {before} and {after}"
        );
        let waiters = get_json(&server, "/v2/waiters/someday").await;
        assert_eq!(waiters[0]["deadline"], deadline, "{waiters}");
    })
    .await;
}

/// The ids of the runs the logs list under `query`, newest first.
async fn listed(server: &Server, query: &str) -> Vec<String> {
    let page = get_json(server, &format!("/v2/workflows/logs?{query}")).await;
    page["runs"]
        .as_array()
        .unwrap_or_else(|| panic!("runs: {page}"))
        .iter()
        .map(|r| r["workflowRunId"].as_str().expect("a run id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_run_created_exactly_at_from_date_or_to_date_is_listed_and_not_a_millisecond_outside() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let id = trigger(&server, &sink.url("/wf"), &[("Upstash-Delay", "1h")], "").await;
        let at = run(&server, &id).await["workflowRunCreatedAt"]
            .as_i64()
            .expect("a creation time");
        let one = vec![id.clone()];
        assert_eq!(listed(&server, &format!("fromDate={at}")).await, one);
        assert_eq!(listed(&server, &format!("toDate={at}")).await, one);
        assert_eq!(
            listed(&server, &format!("fromDate={at}&toDate={at}")).await,
            one
        );
        assert!(
            listed(&server, &format!("fromDate={}", at + 1))
                .await
                .is_empty()
        );
        assert!(
            listed(&server, &format!("toDate={}", at - 1))
                .await
                .is_empty()
        );
        // `workflowCreatedAt`: that millisecond only.
        assert_eq!(
            listed(&server, &format!("workflowCreatedAt={at}")).await,
            one
        );
        assert!(
            listed(&server, &format!("workflowCreatedAt={}", at + 1))
                .await
                .is_empty()
        );
        assert!(
            listed(&server, &format!("workflowCreatedAt={}", at - 1))
                .await
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_workflow_runs_pair_lists_a_run_only_with_both_its_id_and_its_creation_time() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let a = trigger(&server, &url, &[("Upstash-Delay", "1h")], "").await;
        let b = trigger(&server, &url, &[("Upstash-Delay", "1h")], "").await;
        let created = |run: Value| run["workflowRunCreatedAt"].as_i64().expect("a time");
        let at_a = created(run(&server, &a).await);
        let at_b = created(run(&server, &b).await);
        assert_eq!(
            listed(&server, &format!("workflowRuns={a}@{at_a}")).await,
            vec![a.clone()]
        );
        assert_eq!(
            listed(&server, &format!("workflowRuns={b}@{at_b}")).await,
            vec![b.clone()]
        );
        // Its id with another time, or another id: not it.
        for pair in [
            format!("{a}@{}", at_a + 1),
            format!("{a}@{}", at_a - 1),
            format!("wfr_other@{at_a}"),
        ] {
            assert!(
                listed(&server, &format!("workflowRuns={pair}"))
                    .await
                    .is_empty(),
                "{pair}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_state_filter_lists_a_run_by_its_own_state_or_by_the_state_of_one_of_its_steps() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let done = trigger(&server, &url, &[], "").await;
        let run_done = wait_for_state(&server, &done, "RUN_SUCCESS").await;
        assert_eq!(run_done["steps"][0]["steps"][0]["state"], "STEP_SUCCESS");
        let going = trigger(&server, &url, &[("Upstash-Delay", "1h")], "").await;
        // The run's own state, which none of its steps has.
        assert_eq!(
            listed(&server, "state=RUN_SUCCESS").await,
            vec![done.clone()]
        );
        assert_eq!(listed(&server, "state=RUN_STARTED").await, vec![going]);
        // A step's state, which the run itself does not have.
        assert_eq!(listed(&server, "state=STEP_SUCCESS").await, vec![done]);
        assert!(listed(&server, "state=RUN_FAILED").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_flow_control_key_filter_lists_only_the_runs_of_that_key() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let mut ids = Vec::new();
        for key in ["k1", "k2"] {
            let headers = [
                ("Upstash-Delay", "1h"),
                ("Upstash-Flow-Control-Key", key),
                ("Upstash-Flow-Control-Value", "parallelism=1"),
            ];
            ids.push(trigger(&server, &url, &headers, "").await);
        }
        // A run without a key is never listed under one.
        trigger(&server, &url, &[("Upstash-Delay", "1h")], "").await;
        assert_eq!(listed(&server, "").await.len(), 3);
        assert_eq!(
            listed(&server, "flowControlKey=k1").await,
            vec![ids[0].clone()]
        );
        assert_eq!(
            listed(&server, "flowControlKey=k2").await,
            vec![ids[1].clone()]
        );
        assert!(listed(&server, "flowControlKey=k3").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_step_the_sdk_publishes_shows_its_id_name_and_type_in_the_logs() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
        let publish = format!("/v2/publish/{url}");
        let step_headers = [
            ("Upstash-Workflow-RunId", id.as_str()),
            ("Upstash-Workflow-Init", "false"),
            ("Upstash-Workflow-CallType", "step"),
            ("Upstash-Delay", "1h"),
            ("Content-Type", "application/json"),
        ];
        let step = json!({"stepId": 3, "stepName": "charge", "stepType": "Run", "out": "\"ok\"", "concurrent": 1});
        let (status, answer) = call(&server, "POST", &publish, &step_headers, step.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let step_message = answer["messageId"].as_str().expect("a message id").to_owned();
        // A body that is no step JSON names no step.
        let (status, _) = call(&server, "POST", &publish, &step_headers, "plain").await;
        assert_eq!(status, StatusCode::OK);

        let run = run(&server, &id).await;
        let next = &run["steps"][0];
        assert_eq!(next["type"], "next", "{run}");
        let steps = next["steps"].as_array().expect("steps");
        assert_eq!(steps.len(), 3, "{run}");
        assert_eq!(steps[0]["stepId"], 0);
        assert_eq!(steps[0]["stepName"], "init");
        assert_eq!(steps[0]["stepType"], "Initial");
        assert_eq!(steps[1]["messageId"], step_message.as_str());
        assert_eq!(steps[1]["stepId"], 3);
        assert_eq!(steps[1]["stepName"], "charge");
        assert_eq!(steps[1]["stepType"], "Run");
        for field in ["stepId", "stepName", "stepType"] {
            assert!(steps[2].get(field).is_none(), "{field}: {}", steps[2]);
        }
    })
    .await;
}

#[tokio::test]
async fn a_full_run_limit_still_takes_the_steps_of_a_run_going_and_messages_that_start_no_run() {
    bounded(async {
        let server = server_with(Limits {
            max_workflow_runs: 1,
            ..Limits::default()
        })
        .await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/trigger/{url}"),
            &[("Upstash-Delay", "1h")],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{answer}");

        let publish = format!("/v2/publish/{url}");
        let cases = [
            ("a step of the run going", id.as_str(), "false"),
            (
                "the first call of the run going, again",
                id.as_str(),
                "true",
            ),
            ("a step of a run not known", "wfr_unknown", "false"),
            ("a first call with an id no run may have", "wfr bad", "true"),
            ("a plain message", "", ""),
        ];
        for (what, run_id, init) in cases {
            let mut headers = vec![("Upstash-Delay", "1h")];
            if !run_id.is_empty() {
                headers.push(("Upstash-Workflow-RunId", run_id));
                headers.push(("Upstash-Workflow-Init", init));
            }
            let (status, answer) = call(&server, "POST", &publish, &headers, "x").await;
            assert_eq!(status, StatusCode::OK, "{what}: {answer}");
        }
        // Still the one run, with the two calls of its own.
        let page = get_json(&server, "/v2/workflows/logs").await;
        assert_eq!(page["runs"].as_array().unwrap().len(), 1, "{page}");
        let steps = &run(&server, &id).await["steps"][0]["steps"];
        assert_eq!(steps.as_array().unwrap().len(), 3, "{steps}");
    })
    .await;
}

/// The `stepId`s of run `id`'s steps still to come, as the logs show them.
async fn step_ids(server: &Server, id: &str) -> Vec<i64> {
    let run = run(server, id).await;
    assert_eq!(run["steps"].as_array().unwrap().len(), 1, "{run}");
    run["steps"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stepId"].as_i64().expect("a step id"))
        .collect()
}

#[tokio::test]
async fn a_run_keeps_its_latest_100_steps_the_oldest_going_first() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
        let publish_steps = |ids: std::ops::RangeInclusive<i64>| {
            let batch: Vec<Value> = ids
                .map(|i| {
                    json!({
                        "destination": url,
                        "body": json!({"stepId": i, "stepName": format!("s{i}"), "stepType": "Run"}).to_string(),
                        "headers": {
                            "Upstash-Workflow-RunId": id,
                            "Upstash-Workflow-Init": "false",
                            "Upstash-Delay": "1h",
                        },
                    })
                })
                .collect();
            call(&server, "POST", "/v2/batch", &[], Value::Array(batch).to_string())
        };
        // The first call (step 0) and 99 more: 100, all kept.
        let (status, answer) = publish_steps(1..=99).await;
        assert!(status.is_success(), "{answer}");
        assert_eq!(step_ids(&server, &id).await, (0..=99).collect::<Vec<_>>());
        // One more: the first call goes.
        let (status, answer) = publish_steps(100..=100).await;
        assert!(status.is_success(), "{answer}");
        assert_eq!(step_ids(&server, &id).await, (1..=100).collect::<Vec<_>>());
    })
    .await;
}

#[tokio::test]
async fn a_response_cut_inside_a_character_keeps_only_the_whole_characters_before_it() {
    bounded(async {
        let server = server_with(Limits {
            max_response_bytes: 3,
            ..Limits::default()
        })
        .await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        // "a€": 4 bytes, the euro sign in bytes 1 to 3; 3 bytes cut inside it.
        for (returned, kept) in [("a\u{20ac}", "a"), ("ab\u{e9}", "ab"), ("abc\u{e9}", "abc")] {
            let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "").await;
            let (status, answer) = call(
                &server,
                "DELETE",
                &format!("/v2/workflows/runs/{id}?cancel=false"),
                &[],
                returned,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            let run = run(&server, &id).await;
            assert_eq!(run["workflowRunResponse"], kept, "{returned}: {run}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_notified_event_ends_its_own_wait_step_and_not_a_later_wait_for_another_event() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
        for event in ["first", "second"] {
            let (status, answer) = wait_for_event(&server, &id, event, &url, json!("1h")).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
        let (status, answer) = call(&server, "POST", "/v2/notify/first", &[], "go").await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer.as_array().unwrap().len(), 1, "{answer}");

        let run = run(&server, &id).await;
        let wait_step = |event: &str| {
            run["steps"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|group| group["steps"].as_array().unwrap())
                .find(|s| s["waitEventId"] == event)
                .unwrap_or_else(|| panic!("the wait for {event}: {run}"))
                .clone()
        };
        let first = wait_step("first");
        assert_eq!(first["state"], "STEP_SUCCESS", "{run}");
        assert_eq!(first["waitTimeout"], false, "{run}");
        let second = wait_step("second");
        assert_eq!(second["state"], "STEP_PROGRESS", "{run}");
        assert!(second.get("waitTimeout").is_none(), "{run}");
    })
    .await;
}

#[tokio::test]
async fn a_notify_takes_exactly_the_message_room_left_and_one_to_a_run_wakes_only_its_waiter() {
    bounded(async {
        let server = server_with(Limits {
            max_messages: 3,
            ..Limits::default()
        })
        .await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        // Two runs whose first calls wait in the queue: room for one more
        // message.
        let mut runs = Vec::new();
        for _ in 0..2 {
            let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
            let (status, answer) = wait_for_event(&server, &id, "paid", &url, json!("1h")).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            runs.push(id);
        }
        let waiting_runs = || async {
            let waiters = get_json(&server, "/v2/waiters/paid").await;
            waiters
                .as_array()
                .unwrap()
                .iter()
                .map(|w| {
                    w["headers"]["Upstash-Workflow-Runid"][0]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(waiting_runs().await, runs);

        // Both waiters need two messages: nobody is notified.
        let (status, answer) = call(&server, "POST", "/v2/notify/paid", &[], "ok").await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("nothing was notified"),
            "{answer}"
        );
        assert_eq!(waiting_runs().await, runs);
        assert_eq!(sink.count(), 0);

        // The waiter of the second run alone: one message, the room left.
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/notify/{}/paid", runs[1]),
            &[],
            "ok",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer["workflowRunId"], runs[1].as_str());
        assert_eq!(
            answer["waiter"]["headers"]["Upstash-Workflow-Runid"][0],
            runs[1].as_str(),
            "{answer}"
        );
        assert!(answer["messageId"].as_str().is_some(), "{answer}");
        assert_eq!(waiting_runs().await, [runs[0].clone()]);
        let got = sink.wait_for(1).await;
        assert_eq!(
            got[0].header("upstash-workflow-runid"),
            Some(runs[1].as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn a_run_keeps_up_to_100_events_it_has_not_waited_for_and_one_kept_may_be_notified_again() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/wf");
        let id = trigger(&server, &url, &[("Upstash-Delay", "1h")], "in").await;
        let notify = |event: String, data: &'static str| {
            let path = format!("/v2/notify/{id}/{event}");
            let server = &server;
            async move { call(server, "POST", &path, &[], data).await }
        };
        for i in 0..100 {
            let (status, answer) = notify(format!("e{i}"), "first").await;
            assert_eq!(status, StatusCode::CREATED, "e{i}: {answer}");
        }
        let (status, answer) = notify("e100".into(), "first").await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("(limit 100)"),
            "{answer}"
        );
        // An event kept already is replaced, full or not.
        let (status, answer) = notify("e0".into(), "second").await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let (status, answer) = wait_for_event(&server, &id, "e0", &url, json!("1h")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let got = sink.wait_for(1).await;
        let step: Value = serde_json::from_slice(&got[0].body).unwrap();
        assert_eq!(step["out"], "second", "{step}");
    })
    .await;
}

#[tokio::test]
async fn the_dlq_entry_of_a_plain_message_is_not_one_of_the_workflow_dlq() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        sink.set_status(500);
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/v2/publish/{}", sink.url("/plain")),
            &[("Upstash-Retries", "0")],
            "x",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let dlq_id = loop {
            let dlq = get_json(&server, "/v2/dlq").await;
            if let Some(id) = dlq["messages"][0]["dlqId"].as_str() {
                break id.to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        let listed = get_json(&server, "/v2/workflows/dlq").await;
        assert_eq!(listed["messages"], json!([]), "{listed}");
        let one = format!("/v2/workflows/dlq/{dlq_id}");
        let (status, answer) = call(&server, "GET", &one, &[], "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        let (status, answer) = call(&server, "DELETE", &one, &[], "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        let dlq = get_json(&server, "/v2/dlq").await;
        assert_eq!(dlq["messages"][0]["dlqId"], dlq_id.as_str(), "still there");
    })
    .await;
}

#[tokio::test]
async fn a_resumed_or_restarted_run_is_called_with_a_new_message_of_its_own() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        sink.set_status(500);
        let url = sink.url("/wf");
        let dlq = failed_runs(&server, &url, 2).await;
        sink.set_status(200);
        let mut seen: Vec<String> = sink
            .wait_for(2)
            .await
            .iter()
            .map(|r| r.header("upstash-message-id").unwrap().to_owned())
            .collect();
        for (i, (action, dlq_id)) in [("resume", &dlq[0]), ("restart", &dlq[1])]
            .into_iter()
            .enumerate()
        {
            let (status, answer) = call(
                &server,
                "POST",
                &format!("/v2/workflows/dlq/{action}/{dlq_id}"),
                &[],
                "",
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{action}: {answer}");
            let new_run = answer["workflowRunId"].as_str().unwrap().to_owned();
            let got = sink.wait_for(3 + i).await;
            let call = &got[2 + i];
            assert_eq!(
                call.header("upstash-workflow-runid"),
                Some(new_run.as_str())
            );
            let message_id = call.header("upstash-message-id").unwrap().to_owned();
            assert!(message_id.starts_with("msg_"), "{action}: {message_id}");
            assert!(
                !seen.contains(&message_id),
                "{action}: {message_id} {seen:?}"
            );
            let run = run(&server, &new_run).await;
            assert_eq!(
                run["steps"][0]["steps"][0]["messageId"],
                message_id.as_str(),
                "{action}: {run}"
            );
            seen.push(message_id);
        }
    })
    .await;
}
