//! The axum extractor (feature `axum`), in a real axum server on
//! 127.0.0.1: a verified delivery reaches the handler with its body and
//! claims; anything else is answered 401 (413 for a body above the limit)
//! with a `WWW-Authenticate` header and the reason, logged at `warn`, and
//! the handler never runs.
#![cfg(feature = "axum")]

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use common::{raw_http, sign_delivery};
use qstash::axum::Verified;
use qstash::{DeliveryVerifier, Receiver, Region};

const CURRENT: &str = "sig_axum_current_91c2";
const NEXT: &str = "sig_axum_next_44d7";
const US_CURRENT: &str = "sig_axum_us_current_0b7f";
const US_NEXT: &str = "sig_axum_us_next_6e21";
const LIMIT: usize = 64;

/// What the handler got: each body with its delivery id.
type Seen = Arc<Mutex<Vec<(Vec<u8>, String)>>>;

#[derive(Clone)]
struct App {
    verifier: DeliveryVerifier,
    seen: Seen,
}

impl axum::extract::FromRef<App> for DeliveryVerifier {
    fn from_ref(app: &App) -> Self {
        app.verifier.clone()
    }
}

async fn handler(State(app): State<App>, delivery: Verified) -> &'static str {
    app.seen.lock().unwrap().push((
        delivery.body.to_vec(),
        delivery.claims.jti.clone().unwrap_or_default(),
    ));
    "ok"
}

/// A receiving service on 127.0.0.1 with these settings, its router nested
/// under `/api`; returns its address and what it handled.
async fn service_with(verifier: DeliveryVerifier) -> (SocketAddr, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = App {
        verifier,
        seen: seen.clone(),
    };
    let hooks = Router::new().route("/hook", post(handler)).with_state(app);
    let router = Router::new().nest("/api", hooks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, seen)
}

fn verifier() -> DeliveryVerifier {
    DeliveryVerifier::new(Receiver::new(CURRENT, NEXT).with_region(
        Region::UsEast1,
        US_CURRENT,
        US_NEXT,
    ))
    .with_body_limit(LIMIT)
}

async fn service() -> (String, Seen) {
    let (addr, seen) = service_with(verifier()).await;
    (format!("http://{addr}/api/hook"), seen)
}

async fn deliver(
    url: &str,
    headers: &[(&str, String)],
    body: &'static [u8],
) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().post(url).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
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

fn signed(key: &str, url: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![("Upstash-Signature", sign_delivery(key, url, body))]
}

#[tokio::test]
async fn verified_deliveries_reach_the_handler_with_body_and_claims() {
    let (url, seen) = service().await;
    let body: &[u8] = br#"{"order":42}"#;
    let (status, _, text) = deliver(&url, &signed(CURRENT, &url, body), body).await;
    assert_eq!((status, text.as_str()), (200, "ok"));
    // Signed with the next key (during a rotation): accepted too.
    let (status, _, _) = deliver(&url, &signed(NEXT, &url, body), body).await;
    assert_eq!(status, 200);
    // From a region, with its keys.
    let mut headers = signed(US_CURRENT, &url, body);
    headers.push(("Upstash-Region", "us-east-1".into()));
    let (status, _, _) = deliver(&url, &headers, body).await;
    assert_eq!(status, 200);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].0, body);
    assert!(seen[0].1.starts_with("jwt_"));
}

#[tokio::test]
async fn anything_else_is_refused_with_401_a_challenge_and_the_reason() {
    let (logs, _guard) = common::capture_logs();
    let (url, seen) = service().await;
    let body: &[u8] = br#"{"order":42}"#;
    let other_body = sign_delivery(CURRENT, &url, br#"{"order":43}"#);
    let mut other_region = signed(US_CURRENT, &url, body);
    other_region.push(("Upstash-Region", "eu-central-1".into()));
    let mut unknown_region = signed(CURRENT, &url, body);
    unknown_region.push(("Upstash-Region", "../x".into()));
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![], "missing Upstash-Signature header"),
        (
            vec![("Upstash-Signature", other_body)],
            "body does not match",
        ),
        (
            signed("sig_someone_else", &url, body),
            "does not match the current or the next signing key",
        ),
        (
            other_region,
            "does not match the current or the next signing key",
        ),
        (
            unknown_region,
            "Upstash-Region header \"../x\" names no known region",
        ),
    ];
    for (headers, reason) in &cases {
        let (status, challenge, text) = deliver(&url, headers, body).await;
        assert_eq!(status, 401, "{text}");
        assert_eq!(challenge.as_deref(), Some(qstash::SIGNATURE_CHALLENGE));
        assert!(
            text.starts_with("not a verified QStash delivery: "),
            "{text}"
        );
        assert!(text.contains(reason), "{text}");
        assert!(!text.contains(CURRENT) && !text.contains(NEXT), "{text}");
    }
    assert!(seen.lock().unwrap().is_empty(), "the handler never ran");

    // Each refusal is logged at warn, with its reason and status.
    let lines: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("WARN"))
        .collect();
    assert_eq!(lines.len(), cases.len(), "{lines:#?}");
    for (line, (headers, reason)) in lines.iter().zip(&cases) {
        assert!(
            line.starts_with("WARN refused a QStash delivery: "),
            "{line}"
        );
        assert!(line.contains(reason), "{line}");
        assert!(line.ends_with("status=401"), "{line}");
        for (name, token) in headers {
            if *name == "Upstash-Signature" {
                assert!(!line.contains(token.as_str()), "{line}");
            }
        }
        assert!(
            !line.contains(CURRENT) && !line.contains(US_CURRENT),
            "{line}"
        );
    }
}

#[tokio::test]
async fn the_token_is_refused_before_the_body_is_read() {
    let (addr, seen) = service_with(verifier()).await;
    let url = format!("http://{addr}/api/hook");
    let token = sign_delivery("sig_someone_else", &url, b"");
    // A body of 1000 bytes is announced, 10 are sent: the answer comes
    // without waiting for the rest.
    let answer = raw_http(
        addr,
        &format!(
            "POST /api/hook HTTP/1.1\r\nHost: {addr}\r\nUpstash-Signature: {token}\r\nContent-Length: 1000"
        ),
        b"0123456789",
    )
    .await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(
        answer.header("www-authenticate"),
        Some(qstash::SIGNATURE_CHALLENGE)
    );
    assert!(answer.body.contains("signing key"), "{answer:?}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_body_above_the_limit_is_refused_with_413_unread() {
    let (logs, _guard) = common::capture_logs();
    let (addr, seen) = service_with(verifier()).await;
    let url = format!("http://{addr}/api/hook");
    let big = vec![b'x'; LIMIT + 1];
    let token = sign_delivery(CURRENT, &url, &big);

    // Announced: refused from the Content-Length, nothing sent.
    let answer = raw_http(
        addr,
        &format!(
            "POST /api/hook HTTP/1.1\r\nHost: {addr}\r\nUpstash-Signature: {token}\r\nContent-Length: 100000000000"
        ),
        b"",
    )
    .await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(answer.header("www-authenticate"), None);
    assert_eq!(
        answer.body,
        format!("delivery body is larger than the limit of {LIMIT} bytes")
    );

    // Chunked, without a length: refused once the limit is crossed, the
    // end of the body never sent.
    let answer = raw_http(
        addr,
        &format!(
            "POST /api/hook HTTP/1.1\r\nHost: {addr}\r\nUpstash-Signature: {token}\r\nTransfer-Encoding: chunked"
        ),
        format!("{:x}\r\n{}\r\n", big.len(), "x".repeat(big.len())).as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 413, "{answer:?}");

    // At the limit: accepted.
    let exact = vec![b'y'; LIMIT];
    let token = sign_delivery(CURRENT, &url, &exact);
    let response = reqwest::Client::new()
        .post(&url)
        .header("Upstash-Signature", token)
        .body(exact.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(seen.lock().unwrap().len(), 1, "only the body at the limit");
    let warned: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| l.contains("status=413"))
        .collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned[0].starts_with("WARN refused a QStash delivery: delivery body is larger"));
}

#[tokio::test]
async fn with_a_public_url_sub_must_be_it_with_the_path_and_query() {
    let (addr, seen) = service_with(verifier().with_public_url("https://hooks.example.com/")).await;
    let local = format!("http://{addr}/api/hook?tenant=7");
    let public = "https://hooks.example.com/api/hook?tenant=7";
    let body: &[u8] = b"{}";
    let (status, _, text) = deliver(&local, &signed(CURRENT, public, body), body).await;
    assert_eq!((status, text.as_str()), (200, "ok"));

    for wrong in [
        "https://hooks.example.com/api/hook",
        "https://hooks.example.com/api/hook?tenant=8",
        "https://evil.example.com/api/hook?tenant=7",
        // The path the nested router sees, not the one it was reached at.
        "https://hooks.example.com/hook?tenant=7",
    ] {
        let (status, challenge, text) = deliver(&local, &signed(CURRENT, wrong, body), body).await;
        assert_eq!(status, 401, "{wrong}");
        assert!(challenge.is_some());
        assert!(
            text.contains(&format!("is for URL {wrong:?}, expected {public:?}")),
            "{text}"
        );
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_receiver_as_state_verifies_with_the_default_settings() {
    async fn bare(delivery: Verified) -> String {
        String::from_utf8_lossy(&delivery.body).into_owned()
    }
    let router = Router::new()
        .route("/hook", post(bare))
        .with_state(Receiver::new(CURRENT, NEXT));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let body: &[u8] = b"hello";
    // No public URL: sub is not compared.
    let (status, _, text) =
        deliver(&url, &signed(CURRENT, "https://elsewhere/x", body), body).await;
    assert_eq!((status, text.as_str()), (200, "hello"));
    let (status, _, _) = deliver(&url, &signed("sig_nope", &url, body), body).await;
    assert_eq!(status, 401);
}
