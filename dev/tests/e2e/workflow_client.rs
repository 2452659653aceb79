//! The workflow API through this crate's client against qstash-dev, as a
//! Rust backend would drive it: trigger a run, see it in the logs, cancel
//! it; notify an event nobody waits for, then one a run waits for. The
//! client and the local server must agree on every path, parameter and
//! shape (the curl-shaped tests in `workflow.rs` pin the server alone).

use std::time::Duration;

use qstash::{Receiver, WorkflowOptions};
use serde_json::json;

use crate::common::{Sink, bounded, client, server};
use crate::workflow::wait_for_event;

/// Long enough that a run stays started (its first call not yet made)
/// for the whole test.
const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_run_triggered_through_the_client_shows_in_its_logs_and_is_cancelled() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/onboarding");
        let client = client(&server);

        let started = client
            .trigger_workflow()
            .workflow_url(&url)
            .options(WorkflowOptions::new().delay(HOUR))
            .body(r#"{"user":42}"#)
            .send()
            .await
            .expect("trigger a run")
            .into_inner();
        let id = started.workflow_run_id.expect("a run id");
        assert!(id.starts_with("wfr_"), "{id}");

        let logs = client
            .list_workflow_logs()
            .workflow_run_id(&id)
            .send()
            .await
            .expect("the run's logs")
            .into_inner();
        assert_eq!(logs.runs.len(), 1, "{logs:?}");
        let run = &logs.runs[0];
        assert_eq!(run.workflow_run_id.as_deref(), Some(id.as_str()));
        assert_eq!(run.workflow_url.as_deref(), Some(url.as_str()));
        assert_eq!(run.workflow_state.as_deref(), Some("RUN_STARTED"));

        client
            .cancel_workflow_run()
            .workflow_run_id(&id)
            .send()
            .await
            .expect("cancel the run");
        let logs = client
            .list_workflow_logs()
            .workflow_run_id(&id)
            .send()
            .await
            .expect("the run's logs")
            .into_inner();
        assert_eq!(
            logs.runs[0].workflow_state.as_deref(),
            Some("RUN_CANCELED"),
            "{logs:?}"
        );
        // Cancelled before its delay ran out: never delivered.
        assert_eq!(sink.count(), 0);
        // Cancelling it again is an error the caller sees.
        let again = client
            .cancel_workflow_run()
            .workflow_run_id(&id)
            .send()
            .await
            .expect_err("a cancelled run is not cancelled twice");
        assert!(
            again.status().is_some_and(|s| s.is_client_error()),
            "{again}"
        );
    })
    .await;
}

#[tokio::test]
async fn notify_through_the_client_reaches_nobody_then_the_run_that_waits() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let url = sink.url("/checkout");
        let client = client(&server);

        let nobody = client
            .notify_event()
            .event_id("order-paid")
            .content_type("application/json")
            .body(r#"{"paid":true}"#)
            .send()
            .await
            .expect("notify with no waiters")
            .into_inner();
        assert!(nobody.is_empty(), "{nobody:?}");

        let id = client
            .trigger_workflow()
            .workflow_url(&url)
            .options(WorkflowOptions::new().delay(HOUR))
            .body("{}")
            .send()
            .await
            .expect("trigger a run")
            .into_inner()
            .workflow_run_id
            .expect("a run id");
        // The run's `waitForEvent` step, as the workflow SDK sends it (not
        // an operation of the REST API the client drives).
        let (status, answer) = wait_for_event(&server, &id, "order-paid", &url, json!("1h")).await;
        assert!(status.is_success(), "{answer}");

        let waiters = client
            .list_waiters()
            .event_id("order-paid")
            .send()
            .await
            .expect("the waiters")
            .into_inner();
        assert_eq!(waiters.len(), 1, "{waiters:?}");
        assert_eq!(waiters[0].url.as_deref(), Some(url.as_str()));

        let woken = client
            .notify_event()
            .event_id("order-paid")
            .content_type("application/json")
            .body(r#"{"paid":true}"#)
            .send()
            .await
            .expect("notify the waiting run")
            .into_inner();
        assert_eq!(woken.len(), 1, "{woken:?}");
        let message_id = woken[0].message_id.clone().expect("a message id");

        // The run's workflow URL gets the event's data, signed.
        let got = sink.wait_for(1).await;
        let delivery = &got[0];
        assert_eq!(
            delivery.header("upstash-message-id"),
            Some(message_id.as_str())
        );
        assert_eq!(delivery.header("upstash-workflow-runid"), Some(id.as_str()));
        let step: serde_json::Value = serde_json::from_slice(&delivery.body).expect("a step");
        assert_eq!(step["out"], r#"{"paid":true}"#);
        Receiver::new(server.current_signing_key(), server.next_signing_key())
            .verify(
                delivery.header("upstash-signature").expect("signed"),
                &delivery.body,
                Some(&url),
            )
            .expect("a valid signature");
        let left = client
            .list_waiters()
            .event_id("order-paid")
            .send()
            .await
            .expect("the waiters")
            .into_inner();
        assert!(left.is_empty(), "{left:?}");
    })
    .await;
}
