//! Routes: code that publishes to its production URL
//! (`https://app.example.com/...`) while its handler runs on 127.0.0.1 over
//! plain HTTP. The route delivers there; the signature's `sub`, the logs
//! and the DLQ keep the URL published to, so a receiver that checks `sub`
//! against its public address accepts the delivery.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use common::{bounded, wait_until};
use qstash::DeliveryVerifier;
use qstash::axum::Verified;
use qstash_dev::Server;

const ORIGIN: &str = "https://app.example.com";

#[derive(Clone)]
struct Handler {
    verifier: DeliveryVerifier,
    failing: Arc<AtomicBool>,
    /// `(body, sub)` of each verified delivery.
    handled: Arc<Mutex<Vec<(String, String)>>>,
}

impl FromRef<Handler> for DeliveryVerifier {
    fn from_ref(h: &Handler) -> Self {
        h.verifier.clone()
    }
}

async fn hook(State(h): State<Handler>, delivery: Verified) -> StatusCode {
    if h.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    h.handled.lock().unwrap().push((
        String::from_utf8_lossy(&delivery.body).into_owned(),
        delivery.claims.sub.clone(),
    ));
    StatusCode::OK
}

/// The production app's handler, on 127.0.0.1 over plain HTTP, verifying
/// `sub` against the public address [`ORIGIN`]; and the server routing
/// [`ORIGIN`] to it.
async fn app_and_server() -> (Handler, String, Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = format!("http://{}", listener.local_addr().unwrap());
    let server = Server::builder()
        .retry_delay_scale(0.001)
        .route(ORIGIN, &local)
        .start()
        .await
        .expect("start the server");
    let receiver = qstash::Receiver::new(server.current_signing_key(), server.next_signing_key());
    let handler = Handler {
        verifier: DeliveryVerifier::new(receiver).with_public_url(ORIGIN),
        failing: Arc::default(),
        handled: Arc::default(),
    };
    let app = Router::new()
        .route("/api/hook", post(hook))
        .with_state(handler.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (handler, local, server)
}

#[tokio::test]
async fn an_https_origin_is_delivered_to_a_local_http_receiver_signed_for_the_original_url() {
    bounded(async {
        let (handler, local, server) = app_and_server().await;
        let published = format!("{ORIGIN}/api/hook?order=42&x=%20y");
        // As the official SDKs and curl send it: the destination raw.
        let response = common::http()
            .post(format!("{}/v2/publish/{published}", server.url()))
            .header("Authorization", format!("Bearer {}", server.token()))
            .body("raw")
            .send()
            .await
            .expect("publish");
        assert_eq!(response.status(), 200);
        // As this crate's client sends it: percent-encoded.
        common::client(&server)
            .publish()
            .destination(format!("{ORIGIN}/api/hook"))
            .body("encoded")
            .send()
            .await
            .expect("publish");
        wait_until(|| handler.handled.lock().unwrap().len() == 2).await;
        let mut handled = handler.handled.lock().unwrap().clone();
        handled.sort();
        assert_eq!(
            handled,
            [
                ("encoded".to_owned(), format!("{ORIGIN}/api/hook")),
                ("raw".to_owned(), published.clone()),
            ]
        );

        // Failing: the DLQ and the logs show the URL published to, never
        // the local address.
        handler.failing.store(true, Ordering::SeqCst);
        let response = common::http()
            .post(format!("{}/v2/publish/{published}", server.url()))
            .header("Authorization", format!("Bearer {}", server.token()))
            .header("Upstash-Retries", "0")
            .body("failing")
            .send()
            .await
            .expect("publish");
        assert_eq!(response.status(), 200);
        let dlq = loop {
            let dlq = common::get_json(&server, "/v2/dlq").await;
            if dlq["messages"].as_array().is_some_and(|m| !m.is_empty()) {
                break dlq;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        assert_eq!(dlq["messages"][0]["url"], published, "{dlq}");
        assert_eq!(dlq["messages"][0]["responseStatus"], 500, "{dlq}");
        let logs = common::get_json(&server, "/v2/logs").await;
        let entries = logs["logs"].as_array().expect("logs");
        assert!(entries.len() >= 6, "{logs}");
        for entry in entries {
            let url = entry["url"].as_str().expect("a url");
            assert!(url.starts_with(ORIGIN), "{entry}");
        }
        let local_host = local.trim_start_matches("http://");
        for text in [dlq.to_string(), logs.to_string()] {
            assert!(!text.contains(local_host), "{text}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_bad_route_is_refused_at_start() {
    let err = Server::builder()
        .route("https://app.example.com/path", "http://127.0.0.1:3000")
        .start()
        .await
        .expect_err("a path in the origin");
    let text = err.to_string();
    assert!(text.contains("https://app.example.com/path"), "{text}");
    assert!(
        matches!(err, qstash_dev::Error::InvalidConfig(_)),
        "{err:?}"
    );
}
