//! The axum extractor (feature `axum`): a verified delivery reaches the
//! handler with its body and claims; anything else is answered 401 with
//! the reason, and the handler never runs.
#![cfg(feature = "axum")]

use crate::common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use common::sign_delivery;
use qstash::Receiver;
use qstash::axum::Verified;

const CURRENT: &str = "sig_axum_current_91c2";
const NEXT: &str = "sig_axum_next_44d7";

/// What the handler got: each body with its delivery id.
type Seen = Arc<Mutex<Vec<(Vec<u8>, String)>>>;

#[derive(Clone)]
struct App {
    receiver: Receiver,
    seen: Seen,
}

impl axum::extract::FromRef<App> for Receiver {
    fn from_ref(app: &App) -> Self {
        app.receiver.clone()
    }
}

async fn handler(State(app): State<App>, delivery: Verified) -> &'static str {
    app.seen.lock().unwrap().push((
        delivery.body.to_vec(),
        delivery.claims.jti.clone().unwrap_or_default(),
    ));
    "ok"
}

/// A receiving service on 127.0.0.1; returns its URL and what it handled.
async fn service() -> (String, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = App {
        receiver: Receiver::new(CURRENT, NEXT),
        seen: seen.clone(),
    };
    let router = Router::new().route("/hook", post(handler)).with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

async fn deliver(url: &str, signature: Option<String>, body: &'static [u8]) -> (u16, String) {
    let mut request = reqwest::Client::new().post(url).body(body);
    if let Some(s) = signature {
        request = request.header("Upstash-Signature", s);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn verified_deliveries_reach_the_handler_with_body_and_claims() {
    let (url, seen) = service().await;
    let body: &[u8] = br#"{"order":42}"#;
    let (status, text) = deliver(&url, Some(sign_delivery(CURRENT, &url, body)), body).await;
    assert_eq!((status, text.as_str()), (200, "ok"));
    // Signed with the next key (during a rotation): accepted too.
    let (status, _) = deliver(&url, Some(sign_delivery(NEXT, &url, body)), body).await;
    assert_eq!(status, 200);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, body);
    assert!(seen[0].1.starts_with("jwt_"));
}

#[tokio::test]
async fn anything_else_is_refused_with_401_and_the_reason() {
    let (url, seen) = service().await;
    let body: &[u8] = br#"{"order":42}"#;
    let (status, text) = deliver(&url, None, body).await;
    assert_eq!(status, 401);
    assert!(text.contains("missing Upstash-Signature header"), "{text}");

    let signed_for_other_body = sign_delivery(CURRENT, &url, br#"{"order":43}"#);
    let (status, text) = deliver(&url, Some(signed_for_other_body), body).await;
    assert_eq!(status, 401);
    assert!(text.contains("body does not match"), "{text}");

    let (status, text) = deliver(
        &url,
        Some(sign_delivery("sig_someone_else", &url, body)),
        body,
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        text.contains("does not match the current or the next signing key"),
        "{text}"
    );
    assert!(!text.contains(CURRENT) && !text.contains(NEXT), "{text}");

    assert!(seen.lock().unwrap().is_empty(), "the handler never ran");
}
