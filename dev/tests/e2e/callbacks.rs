//! Callbacks as a user receives them: the client publishes with a callback
//! and a failure callback; the local QStash delivers to a destination that
//! answers non-ASCII text, then binary data, or fails; an axum service
//! verifies each callback (`qstash::axum::Verified`) and decodes it with
//! `qstash::CallbackDelivery`. Every field of what qstash-dev really sends
//! is checked.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, post};
use common::{bounded, client, server, wait_until};
use qstash::axum::Verified;
use qstash::{Body, Callback, CallbackDelivery, MessageOptions, types};

/// The first answer of `/flaky`: 503 with text in three scripts.
const UNAVAILABLE: &str = "nicht verfügbar — 暂不可用";
/// The second answer of `/flaky`: 200 with bytes that are not UTF-8.
const BINARY: &[u8] = &[0x00, 0x9f, 0x92, 0x96, 0xff, 0xfe];
/// Every answer of `/down`.
const BROKEN: &str = "kaputt ✗";

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A destination on 127.0.0.1: `/flaky` fails once, then answers binary
/// data; `/down` always fails; `/ok` answers JSON. Returns its base URL.
async fn destination() -> String {
    let attempts = Arc::new(AtomicUsize::new(0));
    let flaky = move || {
        let attempts = Arc::clone(&attempts);
        async move {
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("x-reason", "busy")],
                    UNAVAILABLE,
                )
                    .into_response()
            } else {
                ([(header::CONTENT_TYPE, "application/octet-stream")], BINARY).into_response()
            }
        }
    };
    let router = Router::new()
        .route("/flaky", any(flaky))
        .route(
            "/down",
            any(|| async { (StatusCode::INTERNAL_SERVER_ERROR, BROKEN) }),
        )
        .route(
            "/ok",
            any(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"ok\":true}",
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// What the callback service got: the path, the URL the signature names,
/// and the decoded payload.
type Got = Arc<Mutex<Vec<(String, String, CallbackDelivery)>>>;

#[derive(Clone)]
struct Callbacks {
    receiver: qstash::Receiver,
    got: Got,
}

impl axum::extract::FromRef<Callbacks> for qstash::DeliveryVerifier {
    fn from_ref(s: &Callbacks) -> Self {
        s.receiver.clone().into()
    }
}

async fn record(path: &str, s: &Callbacks, delivery: Verified) -> StatusCode {
    // What a handler does: verified first (the extractor), then decoded.
    let Ok(callback) = CallbackDelivery::from_json(&delivery.body) else {
        return StatusCode::BAD_REQUEST;
    };
    s.got
        .lock()
        .unwrap()
        .push((path.to_owned(), delivery.claims.sub.clone(), callback));
    StatusCode::OK
}

async fn answered(State(s): State<Callbacks>, delivery: Verified) -> StatusCode {
    record("/answered", &s, delivery).await
}

async fn failed(State(s): State<Callbacks>, delivery: Verified) -> StatusCode {
    record("/failed", &s, delivery).await
}

/// The callback service on 127.0.0.1, verifying with `server`'s keys.
/// Returns its base URL and what it got.
async fn callback_service(server: &qstash_dev::Server) -> (String, Got) {
    let s = Callbacks {
        receiver: qstash::Receiver::new(server.current_signing_key(), server.next_signing_key()),
        got: Got::default(),
    };
    let router = Router::new()
        .route("/answered", post(answered))
        .route("/failed", post(failed))
        .with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, s.got)
}

/// The callbacks got so far, once there are `n` (bounded by the test timeout).
async fn wait_for(got: &Got, n: usize) -> Vec<(String, String, CallbackDelivery)> {
    wait_until(|| got.lock().unwrap().len() >= n).await;
    got.lock().unwrap().clone()
}

/// The id of a single-URL publish.
fn message_id(sent: types::PublishResult) -> String {
    let types::PublishResult::PublishResponse(sent) = sent else {
        panic!("one message expected, got {sent:?}");
    };
    sent.message_id.expect("a message id")
}

#[tokio::test]
async fn a_callback_after_each_attempt_decodes_text_and_binary_answers() {
    bounded(async {
        let qstash = server().await;
        let c = client(&qstash);
        let dest = destination().await;
        let (cb, got) = callback_service(&qstash).await;
        let source_body: &[u8] = &[0xde, 0xad, 0xbe, 0xef, b' ', 0xc3, 0xbc];

        let before = now_ms();
        let sent = c
            .publish()
            .destination(format!("{dest}/flaky"))
            .payload(Body::bytes(source_body, "application/octet-stream"))
            .options(
                MessageOptions::new()
                    .retries(1)
                    .forward_header("X-Order", "42")
                    .forward_header("Authorization", "Bearer s3cret-forwarded")
                    .callback(
                        Callback::new(format!("{cb}/answered"))
                            .forward_header("X-Callback-Of", "orders"),
                    )
                    .failure_callback(Callback::new(format!("{cb}/failed"))),
            )
            .send()
            .await
            .expect("publish")
            .into_inner();
        let id = message_id(sent);
        let mut calls = wait_for(&got, 2).await;
        let after = now_ms();
        calls.sort_by_key(|(_, _, d)| d.retried);

        for (path, sub, d) in &calls {
            assert_eq!(path, "/answered");
            assert_eq!(
                sub,
                &format!("{cb}/answered"),
                "signed for the callback URL"
            );
            assert_eq!(d.source_message_id, id);
            assert_eq!(d.url, format!("{dest}/flaky"));
            assert_eq!(d.method.as_deref(), Some("POST"));
            assert_eq!(d.max_retries, 1);
            assert_eq!(d.dlq_id, None, "a callback, not a failure callback");
            assert_eq!(d.source_body, source_body, "the message's bytes, unchanged");
            assert_eq!(
                d.source_headers.get("content-type"),
                Some("application/octet-stream")
            );
            assert_eq!(d.source_headers.get("x-order"), Some("42"));
            assert_eq!(
                d.source_headers.get("authorization"),
                Some("Bearer s3cret-forwarded"),
                "forwarded headers come back"
            );
            assert_eq!(d.source_headers.len(), 3, "{:?}", d.source_headers);
            let created = d.created_at.expect("createdAt");
            assert!((before..=after).contains(&created), "{created}");
            assert_eq!(d.not_before, Some(created), "due at once");
            assert_eq!(d.caller_ip.as_deref(), Some("127.0.0.1"));
            assert_eq!(d.topic_name, None);
            assert_eq!(d.endpoint_name, None);
            assert_eq!(d.schedule_id, None);
            let debug = format!("{d:?}");
            assert!(!debug.contains("s3cret"), "{debug}");
        }

        // First attempt: 503, with text in three scripts.
        let first = &calls[0].2;
        assert_eq!(first.retried, 0);
        assert_eq!(first.status, 503);
        assert!(!first.is_success());
        assert!(!first.retries_exhausted());
        assert_eq!(first.body_text().unwrap(), UNAVAILABLE);
        assert_eq!(first.headers.get("x-reason"), Some("busy"));
        assert_eq!(
            first.headers.get("content-type"),
            Some("text/plain; charset=utf-8")
        );

        // Second and last attempt: delivered, with bytes that are not text.
        let second = &calls[1].2;
        assert_eq!(second.retried, 1);
        assert_eq!(second.status, 200);
        assert!(second.is_success());
        assert!(second.retries_exhausted());
        assert_eq!(second.body, BINARY);
        assert!(second.body_text().is_err());
        assert_eq!(
            second.headers.get("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(second.headers.get("x-reason"), None);

        // Delivered: no failure callback.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(got.lock().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_failure_callback_names_the_dlq_entry() {
    bounded(async {
        let qstash = server().await;
        let c = client(&qstash);
        let dest = destination().await;
        let (cb, got) = callback_service(&qstash).await;

        let sent = c
            .publish()
            .destination(format!("{dest}/down"))
            .payload(Body::json(&serde_json::json!({"order": "订单 7"})).unwrap())
            .options(
                MessageOptions::new()
                    .retries(1)
                    .callback(Callback::new(format!("{cb}/answered")))
                    .failure_callback(Callback::new(format!("{cb}/failed"))),
            )
            .send()
            .await
            .expect("publish")
            .into_inner();
        let id = message_id(sent);
        let calls = wait_for(&got, 3).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            got.lock().unwrap().len(),
            3,
            "two callbacks, one failure callback"
        );

        let failures: Vec<_> = calls.iter().filter(|(p, _, _)| p == "/failed").collect();
        assert_eq!(failures.len(), 1);
        let (_, sub, f) = failures[0];
        assert_eq!(sub, &format!("{cb}/failed"));
        assert_eq!(f.status, 500);
        assert_eq!(f.body_text().unwrap(), BROKEN);
        assert_eq!(f.retried, 1);
        assert_eq!(f.max_retries, 1);
        assert!(f.retries_exhausted());
        assert_eq!(f.source_message_id, id);
        assert_eq!(f.url, format!("{dest}/down"));
        assert_eq!(f.method.as_deref(), Some("POST"));
        assert_eq!(
            f.source_body_json::<serde_json::Value>().unwrap(),
            serde_json::json!({"order": "订单 7"})
        );
        assert_eq!(
            f.source_headers.get("content-type"),
            Some("application/json")
        );
        assert!(f.created_at.is_some());
        assert_eq!(f.caller_ip.as_deref(), Some("127.0.0.1"));

        // The failure callback's dlqId is the DLQ entry's id, and it works.
        let dlq_id = f.dlq_id.clone().expect("a failure callback has a dlqId");
        let dead = c.list_dlq_messages().collect_all().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].dlq_id.as_deref(), Some(dlq_id.as_str()));
        assert_eq!(dead[0].message_id.as_deref(), Some(id.as_str()));
        c.delete_dlq_message()
            .dlq_id(dlq_id)
            .send()
            .await
            .expect("delete by the callback's dlqId");
        assert!(
            c.list_dlq_messages()
                .collect_all()
                .await
                .unwrap()
                .is_empty()
        );

        // The callbacks of the two attempts carry no dlqId.
        let mut answered: Vec<_> = calls
            .iter()
            .filter(|(p, _, _)| p == "/answered")
            .map(|(_, _, d)| (d.retried, d.status, d.dlq_id.clone()))
            .collect();
        answered.sort();
        assert_eq!(answered, [(0, 500, None), (1, 500, None)]);
    })
    .await;
}

#[tokio::test]
async fn a_callback_of_a_url_group_names_the_group_and_the_endpoint() {
    bounded(async {
        let qstash = server().await;
        let c = client(&qstash);
        let dest = destination().await;
        let (cb, got) = callback_service(&qstash).await;
        c.add_url_group_endpoints()
            .url_group_name("team")
            .body(types::AddUrlGroupEndpointsBody {
                endpoints: vec![types::AddUrlGroupEndpointsBodyEndpointsItem {
                    name: Some("reports".into()),
                    url: format!("{dest}/ok"),
                }],
            })
            .send()
            .await
            .expect("add_url_group_endpoints");
        c.publish()
            .destination("team")
            .payload(Body::text("hello"))
            .options(MessageOptions::new().callback(Callback::new(format!("{cb}/answered"))))
            .send()
            .await
            .expect("publish");
        let calls = wait_for(&got, 1).await;
        let d = &calls[0].2;
        assert_eq!(d.topic_name.as_deref(), Some("team"));
        assert_eq!(d.endpoint_name.as_deref(), Some("reports"));
        assert_eq!(d.url, format!("{dest}/ok"));
        assert_eq!(d.status, 200);
        assert_eq!(d.body_json::<serde_json::Value>().unwrap()["ok"], true);
        assert_eq!(d.source_body_text().unwrap(), "hello");
        assert_eq!(d.retried, 0);
        assert_eq!(d.max_retries, 3, "the default budget");
    })
    .await;
}
