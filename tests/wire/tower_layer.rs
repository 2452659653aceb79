//! The tower layer (feature `tower`) on real ports, in front of a bare
//! hyper service and of an axum router: a verified delivery reaches the
//! inner service with its buffered body and its claims as an extension;
//! anything else is answered 401 (413 for a body above the limit) with a
//! `WWW-Authenticate` header and the reason, logged at `warn`, and the
//! inner service never runs.
#![cfg(feature = "tower")]

use crate::common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::{raw_http, sign_delivery};
use http_body_util::{BodyExt, Full};
use qstash::tower::VerifyLayer;
use qstash::{Claims, DeliveryVerifier, Receiver, Region};
use tower::ServiceBuilder;

const CURRENT: &str = "sig_tower_current_5e0c";
const NEXT: &str = "sig_tower_next_a7d3";
const EU_CURRENT: &str = "sig_tower_eu_current_12f9";
const EU_NEXT: &str = "sig_tower_eu_next_c48b";
const LIMIT: usize = 128;

/// What the inner service got: body, claims, and the request's URI.
type Seen = Arc<Mutex<Vec<(Bytes, Claims, String)>>>;

fn verifier() -> DeliveryVerifier {
    DeliveryVerifier::new(Receiver::new(CURRENT, NEXT).with_region(
        Region::EuCentral1,
        EU_CURRENT,
        EU_NEXT,
    ))
    .with_body_limit(LIMIT)
}

/// A bare hyper HTTP/1 server on 127.0.0.1 whose service is the layer in
/// front of a `service_fn`.
async fn hyper_service(verifier: DeliveryVerifier) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layer = VerifyLayer::new(verifier);
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let record = record.clone();
            let inner = tower::service_fn(move |request: http::Request<Full<Bytes>>| {
                let record = record.clone();
                async move {
                    let claims = request.extensions().get::<Claims>().unwrap().clone();
                    let uri = request.uri().to_string();
                    let body = request.into_body().collect().await.unwrap().to_bytes();
                    record.lock().unwrap().push((body, claims, uri));
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("handled"))))
                }
            });
            let service = ServiceBuilder::new().layer(layer.clone()).service(inner);
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(stream),
                        hyper_util::service::TowerToHyperService::new(service),
                    )
                    .await;
            });
        }
    });
    (addr, seen)
}

/// An axum router with the layer on all its routes, on 127.0.0.1.
async fn axum_service(verifier: DeliveryVerifier) -> (SocketAddr, Seen) {
    use axum::extract::{Extension, OriginalUri, State};
    use axum::routing::post;
    async fn orders(
        State(seen): State<Seen>,
        Extension(claims): Extension<Claims>,
        OriginalUri(uri): OriginalUri,
        body: Bytes,
    ) -> &'static str {
        seen.lock().unwrap().push((body, claims, uri.to_string()));
        "handled"
    }
    let seen: Seen = Arc::default();
    let router = axum::Router::new()
        .route("/hooks/orders", post(orders))
        .with_state(seen.clone())
        .layer(VerifyLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, seen)
}

async fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().post(url).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        challenge,
        response.text().await.unwrap(),
    )
}

#[tokio::test]
async fn verified_deliveries_reach_the_inner_service_with_body_and_claims() {
    for (name, (addr, seen)) in [
        ("hyper", hyper_service(verifier()).await),
        ("axum", axum_service(verifier()).await),
    ] {
        let url = format!("http://{addr}/hooks/orders?n=1");
        let body = br#"{"order":42}"#;
        let token = sign_delivery(CURRENT, &url, body);
        let (status, _, text) = post(&url, &[("Upstash-Signature", &token)], body).await;
        assert_eq!((status, text.as_str()), (200, "handled"), "{name}");
        let token = sign_delivery(EU_NEXT, &url, body);
        let headers = [
            ("Upstash-Signature", &*token),
            ("Upstash-Region", "EU-CENTRAL-1"),
        ];
        let (status, _, _) = post(&url, &headers, body).await;
        assert_eq!(status, 200, "{name}");

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{name}");
        assert_eq!(&seen[0].0[..], body, "{name}");
        assert_eq!(seen[0].1.sub, url, "{name}");
        assert!(
            seen[0].1.jti.as_deref().unwrap().starts_with("jwt_"),
            "{name}"
        );
        assert!(
            seen[0].2.ends_with("/hooks/orders?n=1"),
            "{name}: {}",
            seen[0].2
        );
    }
}

#[tokio::test]
async fn anything_else_is_refused_with_401_a_challenge_and_the_reason() {
    let (logs, _guard) = common::capture_logs();
    for (name, (addr, seen)) in [
        ("hyper", hyper_service(verifier()).await),
        ("axum", axum_service(verifier()).await),
    ] {
        let url = format!("http://{addr}/hooks/orders");
        let body = b"{}";
        let foreign = sign_delivery("sig_someone_else", &url, body);
        let other_body = sign_delivery(CURRENT, &url, b"[]");
        let eu_token = sign_delivery(EU_CURRENT, &url, body);
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "missing Upstash-Signature header"),
            (
                vec![("Upstash-Signature", "a.b")],
                "token does not have three parts",
            ),
            (
                vec![("Upstash-Signature", &foreign)],
                "does not match the current or the next signing key",
            ),
            (
                vec![("Upstash-Signature", &other_body)],
                "body does not match",
            ),
            // Signed with EU keys, but said to come from US: the US keys
            // (here the default ones) do not verify it.
            (
                vec![
                    ("Upstash-Signature", &eu_token),
                    ("Upstash-Region", "us-east-1"),
                ],
                "does not match the current or the next signing key",
            ),
            (
                vec![
                    ("Upstash-Signature", &eu_token),
                    ("Upstash-Region", "eu-central-9"),
                ],
                "names no known region",
            ),
        ];
        for (headers, reason) in &cases {
            let (status, challenge, text) = post(&url, headers, body).await;
            assert_eq!(status, 401, "{name}: {text}");
            assert_eq!(challenge.as_deref(), Some(qstash::SIGNATURE_CHALLENGE));
            assert!(
                text.starts_with("not a verified QStash delivery: "),
                "{text}"
            );
            assert!(text.contains(reason), "{name}: {text}");
        }
        assert!(
            seen.lock().unwrap().is_empty(),
            "{name}: the service never ran"
        );
    }
    let warned: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("WARN"))
        .collect();
    assert_eq!(warned.len(), 12, "{warned:#?}");
    for line in &warned {
        assert!(
            line.starts_with("WARN refused a QStash delivery: not a verified"),
            "{line}"
        );
        assert!(line.ends_with("status=401"), "{line}");
        assert!(
            !line.contains(CURRENT) && !line.contains(EU_CURRENT),
            "{line}"
        );
        assert!(!line.contains("eyJ"), "no token in {line}");
    }
}

#[tokio::test]
async fn the_token_is_refused_before_the_body_is_read_and_big_bodies_unread() {
    let (addr, seen) = hyper_service(verifier()).await;
    let url = format!("http://{addr}/hooks/orders");
    let foreign = sign_delivery("sig_someone_else", &url, b"");
    let answer = raw_http(
        addr,
        &format!(
            "POST /hooks/orders HTTP/1.1\r\nHost: {addr}\r\nUpstash-Signature: {foreign}\r\nContent-Length: 5000"
        ),
        b"partial",
    )
    .await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(
        answer.header("www-authenticate"),
        Some(qstash::SIGNATURE_CHALLENGE)
    );

    let big = vec![b'z'; LIMIT + 1];
    let token = sign_delivery(CURRENT, &url, &big);
    for head in [
        "Content-Length: 1000000000000".to_owned(),
        "Transfer-Encoding: chunked".to_owned(),
    ] {
        let chunk = format!("{:x}\r\n{}\r\n", big.len(), "z".repeat(big.len()));
        let answer = raw_http(
            addr,
            &format!(
                "POST /hooks/orders HTTP/1.1\r\nHost: {addr}\r\nUpstash-Signature: {token}\r\n{head}"
            ),
            chunk.as_bytes(),
        )
        .await;
        assert_eq!(answer.status, 413, "{head}: {answer:?}");
        assert_eq!(answer.header("www-authenticate"), None);
        assert!(
            answer.body.contains(&format!("limit of {LIMIT} bytes")),
            "{answer:?}"
        );
    }
    assert!(seen.lock().unwrap().is_empty());

    let exact = vec![b'z'; LIMIT];
    let token = sign_delivery(CURRENT, &url, &exact);
    let (status, _, _) = post(&url, &[("Upstash-Signature", &token)], &exact).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn with_a_public_url_sub_must_be_it_with_the_path_and_query() {
    let public = "https://hooks.example.com/prefix";
    for (name, (addr, seen)) in [
        (
            "hyper",
            hyper_service(verifier().with_public_url(public)).await,
        ),
        (
            "axum",
            axum_service(verifier().with_public_url(public)).await,
        ),
    ] {
        let local = format!("http://{addr}/hooks/orders?tenant=a%20b");
        let expected = format!("{public}/hooks/orders?tenant=a%20b");
        let body = b"{}";
        let token = sign_delivery(CURRENT, &expected, body);
        let (status, _, _) = post(&local, &[("Upstash-Signature", &token)], body).await;
        assert_eq!(status, 200, "{name}");
        // Signed for the address the service listens on: refused.
        let token = sign_delivery(CURRENT, &local, body);
        let (status, _, text) = post(&local, &[("Upstash-Signature", &token)], body).await;
        assert_eq!(status, 401, "{name}");
        assert!(
            text.contains(&format!("is for URL {local:?}, expected {expected:?}")),
            "{text}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn the_inner_service_is_made_ready_before_it_is_called() {
    use tower::ServiceExt as _;
    // A concurrency limit panics when called without being made ready.
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let service = ServiceBuilder::new()
        .layer(VerifyLayer::new(verifier()))
        .concurrency_limit(1)
        .service_fn(move |request: http::Request<Full<Bytes>>| {
            let record = record.clone();
            async move {
                let claims = request.extensions().get::<Claims>().unwrap().clone();
                record
                    .lock()
                    .unwrap()
                    .push((Bytes::new(), claims, request.uri().to_string()));
                Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
            }
        });
    let url = "https://example.com/hooks";
    for _ in 0..2 {
        let request = http::Request::post(url)
            .header("upstash-signature", sign_delivery(CURRENT, url, b"x"))
            .body(Full::new(Bytes::from_static(b"x")))
            .unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(seen.lock().unwrap().len(), 2);
}
