//! Wire safety and tolerance: what the client refuses to send, what it
//! accepts from the service, and what it never repeats of the token.

use crate::common;

use common::{client, requests};
use qstash::AuthMode;
use qstash::enums::{BulkActionState, LogEntryState};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A page with values the description does not list decodes whole: both
/// spellings of cancelled, and a state nobody has heard of yet.
#[tokio::test]
async fn a_logs_page_with_unlisted_states_decodes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/logs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"logs": [
            {"messageId": "m1", "state": "CANCELED"},
            {"messageId": "m2", "state": "CANCELLED"},
            {"messageId": "m3", "state": "TELEPORTED"},
            {"messageId": "m4", "state": "DELIVERED"},
            {"messageId": "m5"}
        ]})))
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let logs = c.list_logs().collect_all().await.unwrap();
    let states: Vec<Option<LogEntryState>> = logs.into_iter().map(|l| l.state).collect();
    assert_eq!(
        states,
        [
            Some(LogEntryState::Cancelled),
            Some(LogEntryState::Cancelled),
            Some(LogEntryState::Unknown("TELEPORTED".into())),
            Some(LogEntryState::Delivered),
            None
        ]
    );
    // The unknown value keeps its text, and goes back out as it came.
    let unknown = LogEntryState::Unknown("TELEPORTED".into());
    assert_eq!(unknown.as_str(), "TELEPORTED");
    assert_eq!(serde_json::to_value(&unknown).unwrap(), json!("TELEPORTED"));
    assert_eq!(
        serde_json::to_value(LogEntryState::Cancelled).unwrap(),
        json!("CANCELLED")
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_bulk_action_in_a_new_state_decodes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/bulkActions/act_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"actionId": "act_1", "kind": "cancel", "state": "PAUSED_BY_OPERATOR"}),
        ))
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let action = c
        .get_bulk_action()
        .action_id("act_1")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        action.state,
        Some(BulkActionState::Unknown("PAUSED_BY_OPERATOR".into()))
    );
}

// ---- refused before sending -------------------------------------------------

/// A server that answers everything, so that only a refusal keeps a
/// request from arriving.
async fn open_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    server
}

/// The error of a call that must fail.
fn e<T, E: Into<qstash::Error>>(result: Result<T, E>) -> qstash::Error {
    match result {
        Ok(_) => panic!("the call went through"),
        Err(err) => err.into(),
    }
}

fn assert_refused(err: &qstash::Error, needles: &[&str]) {
    let text = err.to_string();
    assert!(matches!(err, qstash::Error::InvalidRequest(_)), "{err:?}");
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
}

#[tokio::test]
async fn empty_path_parameters_are_refused_before_sending() {
    let server = open_server().await;
    let c = client(&server, "t", AuthMode::Bearer);
    assert_refused(
        &e(c.cancel_message().message_id("").send().await),
        &["cancel_message", "`messageId`", "Nothing was sent"],
    );
    assert_refused(
        &e(c.get_dlq_message().dlq_id("").send().await),
        &["get_dlq_message", "`dlqId`"],
    );
    assert_refused(
        &e(c.delete_queue().queue_name("").send().await),
        &["delete_queue", "`queueName`"],
    );
    assert_refused(
        &e(c.pause_schedule().schedule_id("").send().await),
        &["pause_schedule", "`scheduleId`"],
    );
    assert_refused(
        &e(c.remove_url_group_endpoints()
            .url_group_name("")
            .body(qstash::types::RemoveUrlGroupEndpointsBody { endpoints: vec![] })
            .send()
            .await),
        &["remove_url_group_endpoints", "`urlGroupName`"],
    );
    let err = c
        .publish()
        .destination("")
        .payload(qstash::Body::text("x"))
        .options(qstash::MessageOptions::new())
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["publish", "`destination`"]);
    assert_eq!(
        requests(&server).await.len(),
        0,
        "nothing reached the server"
    );
}

#[tokio::test]
async fn empty_lists_and_empty_values_are_refused_before_sending() {
    let server = open_server().await;
    let c = client(&server, "t", AuthMode::Bearer);
    let err = c
        .delete_dlq_messages()
        .dlq_ids(Vec::<String>::new())
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["`dlq_ids`", "empty", "Nothing was sent"]);
    let err = c
        .retry_dlq_messages()
        .dlq_ids([""; 0])
        .send_all()
        .await
        .unwrap_err();
    assert_refused(&err, &["`dlq_ids`"]);
    let err = c
        .cancel_messages()
        .message_ids(["m1", ""])
        .send_all()
        .await
        .unwrap_err();
    assert_refused(&err, &["`message_ids`"]);
    let err = c
        .list_dlq_messages()
        .label(Vec::<&str>::new())
        .send()
        .await
        .unwrap_err();
    assert_refused(&err, &["`label`"]);
    assert_eq!(requests(&server).await.len(), 0);
}

#[tokio::test]
async fn bulk_operations_without_a_filter_need_all() {
    let server = open_server().await;
    let c = client(&server, "t", AuthMode::Bearer);
    let err = c.delete_dlq_messages().send().await.unwrap_err();
    assert_refused(&err, &["delete_dlq_messages", "no filter", "`.all()`"]);
    let err = c
        .delete_dlq_messages()
        .count(10)
        .send_all()
        .await
        .unwrap_err();
    assert_refused(&err, &["delete_dlq_messages", "`.all()`"]);
    let err = c.retry_dlq_messages().send_all().await.unwrap_err();
    assert_refused(&err, &["retry_dlq_messages", "`.all()`"]);
    let err = c.cancel_messages().send_all().await.unwrap_err();
    assert_refused(&err, &["cancel_messages", "`.all()`"]);
    assert_eq!(requests(&server).await.len(), 0);

    // Asked for on purpose: sent without a filter, with `count` (the
    // service's default, 100) unless the caller set one.
    c.delete_dlq_messages().all().send().await.unwrap();
    c.cancel_messages().all().send().await.unwrap();
    c.retry_dlq_messages().all().count(7).send().await.unwrap();
    let seen = requests(&server).await;
    let lines: Vec<String> = seen
        .iter()
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    assert_eq!(seen.len(), 3, "{lines:?}");
    let queries: Vec<_> = seen.iter().map(|r| r.url.query()).collect();
    assert_eq!(
        queries,
        [Some("count=100"), Some("count=100"), Some("count=7")],
        "{lines:?}"
    );
}

#[tokio::test]
async fn enqueue_refuses_delay_and_not_before() {
    let server = open_server().await;
    let c = client(&server, "t", AuthMode::Bearer);
    let enqueue = |options: qstash::MessageOptions| {
        c.enqueue()
            .queue_name("orders")
            .destination("https://example.com/hook")
            .payload(qstash::Body::text("x"))
            .options(options)
            .send()
    };
    let err = enqueue(qstash::MessageOptions::new().delay(std::time::Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, qstash::Error::InvalidOption { option, .. } if option == "delay"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("publish with a delay instead"),
        "{err}"
    );
    let err = enqueue(qstash::MessageOptions::new().not_before(std::time::SystemTime::now()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, qstash::Error::InvalidOption { option, .. } if option == "not_before"),
        "{err:?}"
    );
    let err = enqueue(qstash::MessageOptions::new().forward_header("Upstash-Delay", "5s"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, qstash::Error::InvalidOption { option, .. } if option == "delay"),
        "{err:?}"
    );
    // A batch entry with a queue is an enqueue too.
    let err = c
        .batch()
        .entries([qstash::BatchEntry::new("https://example.com/hook")
            .queue("orders")
            .options(qstash::MessageOptions::new().delay(std::time::Duration::from_secs(5)))])
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, qstash::Error::InvalidOption { option, .. } if option == "batch entry 0: delay"),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 0);
    // Publish still takes a delay.
    c.publish()
        .destination("https://example.com/hook")
        .payload(qstash::Body::text("x"))
        .options(qstash::MessageOptions::new().delay(std::time::Duration::from_secs(5)))
        .send()
        .await
        .unwrap();
    assert_eq!(requests(&server).await.len(), 1);
}

// ---- bounded bulk loops -----------------------------------------------------

#[tokio::test]
async fn bulk_loops_stop_when_a_call_does_nothing() {
    let server = MockServer::start().await;
    // A cursor keeps coming, but nothing is done: the loop must stop.
    Mock::given(method("DELETE"))
        .and(path("/v2/dlq"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"cursor": "more", "deleted": 0})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/dlq/retry"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"cursor": "more", "responses": []})),
        )
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    assert_eq!(c.delete_dlq_messages().all().send_all().await.unwrap(), 0);
    assert!(
        c.retry_dlq_messages()
            .all()
            .send_all()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn bulk_loops_take_a_call_limit() {
    let server = MockServer::start().await;
    // A service that always cancels one more: only the limit ends the loop.
    Mock::given(method("DELETE"))
        .and(path("/v2/messages"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"cancelled": 1})))
        .mount(&server)
        .await;
    let mut n = 0;
    for cursor in ["c1", "c2", "c3", "c4"] {
        n += 1;
        Mock::given(method("DELETE"))
            .and(path("/v2/dlq"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"cursor": cursor, "deleted": n})),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    let c = client(&server, "t", AuthMode::Bearer);
    let progress = c
        .cancel_messages()
        .queue_name("orders")
        .send_all_max(5)
        .await
        .unwrap();
    assert_eq!(
        (progress.done, progress.calls, progress.finished),
        (5, 5, false)
    );

    let progress = c
        .delete_dlq_messages()
        .label("old")
        .send_all_max(3)
        .await
        .unwrap();
    assert_eq!(
        (progress.done, progress.calls, progress.finished),
        (6, 3, false)
    );
    assert_eq!(progress.next_cursor.as_deref(), Some("c3"));
    assert_eq!(requests(&server).await.len(), 8);
}

// ---- the token never comes back through the server's words -----------------

/// Answers with a body that repeats the request's URL and `Authorization`
/// header, shaped (status and body) by `shape`.
struct Echo {
    shape: Shape,
}

/// Status and body around the echoed text.
type Shape = fn(String) -> ResponseTemplate;

impl wiremock::Respond for Echo {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let echo = format!("you sent {} with authorization {auth}", request.url);
        (self.shape)(echo)
    }
}

#[tokio::test]
async fn a_server_echoing_the_request_never_puts_the_token_into_an_error() {
    use common::{MODES, NASTY_TOKEN, assert_display_debug_clean};
    let shapes: [(&str, Shape); 5] = [
        ("400 JSON error", |echo| {
            ResponseTemplate::new(400).set_body_json(json!({"error": echo}))
        }),
        ("400 text", |echo| {
            ResponseTemplate::new(400).set_body_string(echo)
        }),
        ("500 text", |echo| {
            ResponseTemplate::new(500).set_body_string(echo)
        }),
        ("200 not JSON", |echo| {
            ResponseTemplate::new(200).set_body_string(echo)
        }),
        ("200 wrong JSON", |echo| {
            // The decoder quotes the value it could not take.
            ResponseTemplate::new(200).set_body_json(json!({"name": "q", "lag": echo}))
        }),
    ];
    for mode in MODES {
        for (what, shape) in shapes {
            let server = MockServer::start().await;
            Mock::given(method("GET"))
                .respond_with(Echo { shape })
                .mount(&server)
                .await;
            let c = client(&server, NASTY_TOKEN, mode);
            let err = e(c.get_queue().queue_name("orders").send().await);
            // The server really did echo the token.
            let seen = &requests(&server).await[0];
            let sent = format!("{} {:?}", seen.url, seen.headers.get("authorization"));
            assert!(sent.contains("sEcReT"), "{sent}");
            assert_display_debug_clean(&format!("{what} in {mode:?} mode"), &err, NASTY_TOKEN);
            if let Some(api) = err.api() {
                let raw = api.raw_body().map(|b| b.into_owned());
                for text in [&api.message, &raw].into_iter().flatten() {
                    assert!(text.contains("<redacted>"), "{what}: {text}");
                }
            }
            if let qstash::Error::Decode { body, reason } = &err {
                assert!(
                    body.contains("<redacted>") || reason.contains("<redacted>"),
                    "{what}: {err}"
                );
            }
        }
    }
}

// ---- Send everywhere --------------------------------------------------------

fn is_send<T: Send>() {}
fn is_send_sync<T: Send + Sync>() {}

#[test]
fn clients_errors_builders_and_streams_are_send() {
    is_send_sync::<qstash::Client>();
    is_send_sync::<qstash::Error>();
    is_send_sync::<qstash::Receiver>();
    is_send_sync::<qstash::MessageOptions>();
    is_send_sync::<qstash::builder::ListDlqMessages<'static>>();
    is_send_sync::<qstash::builder::DeleteDlqMessages<'static>>();
    is_send::<qstash::pagination::Pages<qstash::builder::ListDlqMessages<'static>>>();
    is_send::<qstash::pagination::ItemStream<qstash::builder::ListDlqMessages<'static>>>();
    is_send::<qstash::pagination::Pages<qstash::builder::RetryDlqMessages<'static>>>();
}

/// Every kind of future and stream, spawned from an `Arc`-shared client.
#[tokio::test]
async fn every_kind_of_call_can_be_spawned() {
    use futures::TryStreamExt;
    use std::sync::Arc;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/dlq"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [{"messageId": "m1"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/dlq"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"deleted": 1})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"messageId": "m2", "responses": []})),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/messages"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"cancelled": 0})))
        .mount(&server)
        .await;
    let client = Arc::new(client(&server, "t", AuthMode::Bearer));

    let c = client.clone();
    let collected = tokio::spawn(async move { c.list_dlq_messages().collect_all().await });
    let c = client.clone();
    let streamed = tokio::spawn(async move {
        let mut s = c.list_dlq_messages().stream();
        s.try_next().await
    });
    let c = client.clone();
    let paged =
        tokio::spawn(async move { c.list_dlq_messages().pages().try_collect::<Vec<_>>().await });
    let c = client.clone();
    let deleted = tokio::spawn(async move { c.delete_dlq_messages().label("x").send_all().await });
    let c = client.clone();
    let everything =
        tokio::spawn(async move { c.delete_dlq_messages().all().send_all_max(1).await });
    let c = client.clone();
    let retried = tokio::spawn(async move {
        c.retry_dlq_messages()
            .label("x")
            .options(qstash::MessageOptions::new().retries(1))
            .send_all()
            .await
    });
    let c = client.clone();
    let cancelled = tokio::spawn(async move { c.cancel_messages().label("x").send_all().await });
    let c = client.clone();
    let published = tokio::spawn(async move {
        c.publish()
            .destination("https://example.com/hook")
            .payload(qstash::Body::text("x"))
            .options(qstash::MessageOptions::new())
            .send()
            .await
    });
    let c = client.clone();
    let single = tokio::spawn(async move { c.retry_dlq_message().dlq_id("d1").send().await });

    assert_eq!(collected.await.unwrap().unwrap().len(), 1);
    assert!(streamed.await.unwrap().unwrap().is_some());
    assert_eq!(paged.await.unwrap().unwrap().len(), 1);
    assert_eq!(deleted.await.unwrap().unwrap(), 1);
    assert_eq!(everything.await.unwrap().unwrap().done, 1);
    assert!(retried.await.unwrap().unwrap().is_empty());
    assert_eq!(cancelled.await.unwrap().unwrap(), 0);
    published.await.unwrap().unwrap();
    single.await.unwrap().unwrap();
}

/// What a web framework asks of a handler (axum's `Handler`): a `Clone +
/// Send + 'static` function returning a `Send + 'static` future.
fn route<H, F, T>(handler: H) -> H
where
    H: Fn(std::sync::Arc<qstash::Client>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    handler
}

/// A handler that streams the DLQ into a response body.
async fn dlq_handler(client: std::sync::Arc<qstash::Client>) -> Result<String, qstash::Error> {
    use futures::TryStreamExt;
    let mut body = String::new();
    let mut messages = client.list_dlq_messages().label("billing").stream();
    while let Some(message) = messages.try_next().await? {
        body.push_str(message.message_id.as_deref().unwrap_or("?"));
        body.push('\n');
    }
    Ok(body)
}

#[tokio::test]
async fn a_handler_that_streams_the_dlq_is_a_valid_web_handler() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/dlq"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messages": [{"messageId": "m1"}, {"messageId": "m2"}]})),
        )
        .mount(&server)
        .await;
    let handler = route(dlq_handler);
    let client = std::sync::Arc::new(client(&server, "t", AuthMode::Bearer));
    let body = tokio::spawn(handler(client)).await.unwrap().unwrap();
    assert_eq!(body, "m1\nm2\n");
}

// ---- one error type -----------------------------------------------------------

fn returns_qstash_error<T, F: std::future::Future<Output = Result<T, qstash::Error>>>(_: F) {}
fn yields_qstash_error<T, S: futures::Stream<Item = Result<T, qstash::Error>>>(_: S) {}

/// Every kind of public call names `qstash::Error` (the futures are made,
/// never polled: this is a compile-time check).
#[test]
fn every_public_call_returns_qstash_error() {
    let c = qstash::Client::builder()
        .token("t")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    returns_qstash_error(c.get_queue().queue_name("q").send());
    returns_qstash_error(c.publish().destination("d").body("x").send());
    returns_qstash_error(
        c.publish()
            .destination("d")
            .payload(qstash::Body::text("x"))
            .options(qstash::MessageOptions::new())
            .send(),
    );
    returns_qstash_error(
        c.batch()
            .entries([qstash::BatchEntry::new("https://example.com")])
            .send(),
    );
    returns_qstash_error(c.list_dlq_messages().collect_all());
    yields_qstash_error(c.list_dlq_messages().stream());
    yields_qstash_error(c.list_logs().pages());
    returns_qstash_error(c.delete_dlq_messages().label("x").send_all());
    returns_qstash_error(c.delete_dlq_messages().all().send());
    returns_qstash_error(c.retry_dlq_messages().all().send_all_max(2));
    returns_qstash_error(c.cancel_messages().all().send_all());
    yields_qstash_error(c.retry_dlq_messages().all().pages());
}
