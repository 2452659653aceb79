//! The actix-web extractor (feature `actix-web`), in a real actix-web
//! server on 127.0.0.1 (its own thread and system, one worker): a verified
//! delivery reaches the handler with its body and claims; anything else is
//! answered 401 (413 for a body above the limit) with a `WWW-Authenticate`
//! header and the reason, logged at `warn`, and the handler never runs.
#![cfg(feature = "actix-web")]

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpServer, web};
use bytes::Bytes;
use common::{Logs, raw_http, sign_claims, sign_delivery};
use qstash::actix::Verified;
use qstash::{Claims, DeliveryVerifier, Receiver, Region};

const CURRENT: &str = "sig_actix_current_3f1a";
const NEXT: &str = "sig_actix_next_8c52";
const US_CURRENT: &str = "sig_actix_us_current_d09e";
const US_NEXT: &str = "sig_actix_us_next_27b4";
const LIMIT: usize = 64;

/// What the handler got: body, claims, and the request's URI.
type Seen = Arc<Mutex<Vec<(Bytes, Claims, String)>>>;

async fn handler(seen: web::Data<Seen>, request: HttpRequest, delivery: Verified) -> &'static str {
    seen.lock()
        .unwrap()
        .push((delivery.body, delivery.claims, request.uri().to_string()));
    "ok"
}

/// An actix-web server on 127.0.0.1, run by its own system on its own
/// thread, with the app data `register` adds and the handler at
/// `/api/hook` (in a scope); returns its address, what the handler got,
/// and what the server logged through `tracing`.
fn serve<F>(register: F) -> (SocketAddr, Seen, Logs)
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    // Every callsite asks each subscriber (see the helper), then the
    // worker logs into its own capture.
    drop(common::capture_logs());
    let logs = Logs::default();
    let seen: Seen = Arc::default();
    let (record, capture) = (seen.clone(), logs.clone());
    let (bound, addr) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                // Called on the worker's thread, which lives as long as
                // the server.
                std::mem::forget(tracing::subscriber::set_default(capture.clone()));
                App::new()
                    .app_data(web::Data::new(record.clone()))
                    .configure(register.clone())
                    .service(web::scope("/api").route("/hook", web::post().to(handler)))
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(0)
            .bind(("127.0.0.1", 0))
            .unwrap();
            bound.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    (addr.recv().unwrap(), seen, logs)
}

fn verifier() -> DeliveryVerifier {
    DeliveryVerifier::new(Receiver::new(CURRENT, NEXT).with_region(
        Region::UsEast1,
        US_CURRENT,
        US_NEXT,
    ))
    .with_body_limit(LIMIT)
}

/// A server with this verifier as `web::Data<DeliveryVerifier>`.
fn serve_verifier(verifier: DeliveryVerifier) -> (SocketAddr, Seen, Logs) {
    let data = web::Data::new(verifier);
    serve(move |config| {
        config.app_data(data.clone());
    })
}

async fn deliver(
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().post(url).body(body.to_vec());
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

fn warnings(logs: &Logs) -> Vec<String> {
    logs.lines()
        .into_iter()
        .filter(|l| l.starts_with("WARN"))
        .collect()
}

#[tokio::test]
async fn verified_deliveries_reach_the_handler_with_body_and_claims() {
    let (addr, seen, logs) = serve_verifier(verifier());
    let url = format!("http://{addr}/api/hook?n=1");
    let body: &[u8] = br#"{"order":42}"#;
    let (status, _, text) = deliver(&url, &signed(CURRENT, &url, body), body).await;
    assert_eq!((status, text.as_str()), (200, "ok"));
    // Signed with the next key (during a rotation): accepted too.
    let (status, _, _) = deliver(&url, &signed(NEXT, &url, body), body).await;
    assert_eq!(status, 200);
    // From a region, with its keys.
    let mut headers = signed(US_NEXT, &url, b"");
    headers.push(("Upstash-Region", "us-east-1".into()));
    let (status, _, _) = deliver(&url, &headers, b"").await;
    assert_eq!(status, 200);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(&seen[0].0[..], body);
    assert_eq!(seen[0].1.sub, url);
    assert!(seen[0].1.jti.as_deref().unwrap().starts_with("jwt_"));
    assert_eq!(seen[0].2, "/api/hook?n=1");
    assert!(seen[2].0.is_empty());
    assert_eq!(warnings(&logs), Vec::<String>::new());
}

#[tokio::test]
async fn anything_else_is_refused_with_401_a_challenge_and_the_reason() {
    let (addr, seen, logs) = serve_verifier(verifier());
    let url = format!("http://{addr}/api/hook");
    let body: &[u8] = br#"{"order":42}"#;
    let other_body = sign_delivery(CURRENT, &url, br#"{"order":43}"#);
    let mut other_region = signed(US_CURRENT, &url, body);
    other_region.push(("Upstash-Region", "eu-central-1".into()));
    let mut unknown_region = signed(CURRENT, &url, body);
    unknown_region.push(("Upstash-Region", "../x".into()));
    let mut two_regions = signed(US_CURRENT, &url, body);
    two_regions.push(("Upstash-Region", "us-east-1".into()));
    two_regions.push(("Upstash-Region", "us-east-1".into()));
    let mut two_signatures = signed(CURRENT, &url, body);
    two_signatures.extend(signed(CURRENT, &url, body));
    let long_ago = 1_600_000_000;
    let expired = sign_claims(
        CURRENT,
        &serde_json::json!({
            "iss": "Upstash", "sub": url, "iat": long_ago, "nbf": long_ago,
            "exp": long_ago + 300, "jti": "jwt_old", "body": body_hash(body),
        }),
    );
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![], "missing Upstash-Signature header"),
        (
            vec![("Upstash-Signature", "a.b".into())],
            "token does not have three parts",
        ),
        (
            signed("sig_someone_else", &url, body),
            "does not match the current or the next signing key",
        ),
        (
            vec![("Upstash-Signature", other_body)],
            "body does not match",
        ),
        (vec![("Upstash-Signature", expired)], "signature expired"),
        // Signed with US keys, but said to come from EU: the default keys
        // do not verify it.
        (
            other_region,
            "does not match the current or the next signing key",
        ),
        (
            unknown_region,
            "Upstash-Region header \"../x\" names no known region",
        ),
        // Every value of a header is carried over to the verifier.
        (two_regions, "names no known region"),
        (two_signatures, "more than one Upstash-Signature header"),
    ];
    for (headers, reason) in &cases {
        let (status, challenge, text) = deliver(&url, headers, body).await;
        assert_eq!(status, 401, "{reason}: {text}");
        assert_eq!(challenge.as_deref(), Some(qstash::SIGNATURE_CHALLENGE));
        assert!(
            text.starts_with("not a verified QStash delivery: "),
            "{text}"
        );
        assert!(text.contains(reason), "{reason}: {text}");
        assert!(!text.contains(CURRENT) && !text.contains(NEXT), "{text}");
    }
    assert!(seen.lock().unwrap().is_empty(), "the handler never ran");

    // Each refusal is logged at warn, with its reason and status.
    let lines = warnings(&logs);
    assert_eq!(lines.len(), cases.len(), "{lines:#?}");
    for (line, (headers, reason)) in lines.iter().zip(&cases) {
        assert!(
            line.starts_with("WARN refused a QStash delivery: not a verified"),
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

fn body_hash(body: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(body))
}

#[tokio::test]
async fn header_values_beyond_ascii_reach_the_verifier() {
    let (addr, seen, _) = serve_verifier(verifier());
    let url = format!("http://{addr}/api/hook");
    // Signed with the default keys: left out, the region header would let
    // it through.
    let token = sign_delivery(CURRENT, &url, b"");
    let answer = raw_http(
        addr,
        &format!(
            "POST /api/hook HTTP/1.1\r\nHost: {addr}\r\nUpstash-Signature: {token}\r\nUpstash-Region: us-\u{e9}ast-1\r\nContent-Length: 0"
        ),
        b"",
    )
    .await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert!(
        answer
            .body
            .contains("Upstash-Region header \"us-\u{e9}ast-1\" names no known region"),
        "{answer:?}"
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_token_is_refused_before_the_body_is_read() {
    let (addr, seen, _) = serve_verifier(verifier());
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
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(answer.body.contains("signing key"), "{answer:?}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_body_above_the_limit_is_refused_with_413_unread() {
    let (addr, seen, logs) = serve_verifier(verifier());
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
    for chunks in [
        format!("{:x}\r\n{}\r\n", big.len(), "x".repeat(big.len())),
        // The limit crossed by the second chunk.
        format!(
            "{:x}\r\n{}\r\n2\r\nxx\r\n",
            LIMIT - 1,
            "x".repeat(LIMIT - 1)
        ),
    ] {
        let answer = raw_http(
            addr,
            &format!(
                "POST /api/hook HTTP/1.1\r\nHost: {addr}\r\nUpstash-Signature: {token}\r\nTransfer-Encoding: chunked"
            ),
            chunks.as_bytes(),
        )
        .await;
        assert_eq!(answer.status, 413, "{answer:?}");
        assert_eq!(answer.header("www-authenticate"), None);
        assert_eq!(
            answer.body,
            format!("delivery body is larger than the limit of {LIMIT} bytes")
        );
    }

    // At the limit, in two chunks: accepted.
    let exact = vec![b'y'; LIMIT];
    let token = sign_delivery(CURRENT, &url, &exact);
    let half = "y".repeat(LIMIT / 2);
    let answer = raw_http(
        addr,
        &format!(
            "POST /api/hook HTTP/1.1\r\nHost: {addr}\r\nUpstash-Signature: {token}\r\nTransfer-Encoding: chunked"
        ),
        format!("{:x}\r\n{half}\r\n{:x}\r\n{half}\r\n0\r\n\r\n", LIMIT / 2, LIMIT / 2).as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let (status, _, _) = deliver(&url, &[("Upstash-Signature", token)], &exact).await;
    assert_eq!(status, 200);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "only the bodies at the limit");
        assert_eq!(&seen[0].0[..], &exact[..]);
    }
    let warned = warnings(&logs);
    assert_eq!(warned.len(), 3, "{warned:?}");
    for line in &warned {
        assert_eq!(
            line,
            &format!(
                "WARN refused a QStash delivery: delivery body is larger than the limit of {LIMIT} bytes status=413"
            )
        );
    }
}

#[tokio::test]
async fn with_a_public_url_sub_must_be_it_with_the_path_and_query() {
    let (addr, seen, logs) =
        serve_verifier(verifier().with_public_url("https://hooks.example.com/"));
    let local = format!("http://{addr}/api/hook?tenant=7");
    let public = "https://hooks.example.com/api/hook?tenant=7";
    let body: &[u8] = b"{}";
    let (status, _, text) = deliver(&local, &signed(CURRENT, public, body), body).await;
    assert_eq!((status, text.as_str()), (200, "ok"));

    let wrongs = [
        "https://hooks.example.com/api/hook",
        "https://hooks.example.com/api/hook?tenant=8",
        "https://evil.example.com/api/hook?tenant=7",
        // The path within the scope, not the one the server was reached at.
        "https://hooks.example.com/hook?tenant=7",
        // The address the server listens on.
        &local,
    ];
    for wrong in wrongs {
        let (status, challenge, text) = deliver(&local, &signed(CURRENT, wrong, body), body).await;
        assert_eq!(status, 401, "{wrong}");
        assert_eq!(challenge.as_deref(), Some(qstash::SIGNATURE_CHALLENGE));
        assert!(
            text.contains(&format!("is for URL {wrong:?}, expected {public:?}")),
            "{text}"
        );
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(warnings(&logs).len(), wrongs.len());
}

#[tokio::test]
async fn a_receiver_as_app_data_verifies_with_the_default_settings() {
    let (addr, seen, _) = serve(|config| {
        config.app_data(web::Data::new(Receiver::new(CURRENT, NEXT)));
    });
    let url = format!("http://{addr}/api/hook");
    // No public URL: sub is not compared; the default limit, not LIMIT.
    let body = vec![b'h'; LIMIT * 4];
    let (status, _, text) =
        deliver(&url, &signed(CURRENT, "https://elsewhere/x", &body), &body).await;
    assert_eq!((status, text.as_str()), (200, "ok"));
    let (status, challenge, _) = deliver(&url, &signed("sig_nope", &url, &body), &body).await;
    assert_eq!(status, 401);
    assert!(challenge.is_some());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_verifier_takes_precedence_over_a_receiver() {
    let (addr, seen, _) = serve(|config| {
        config
            .app_data(web::Data::new(Receiver::new("sig_unused", "sig_unused_2")))
            .app_data(web::Data::new(verifier()));
    });
    let url = format!("http://{addr}/api/hook");
    let body: &[u8] = b"{}";
    let (status, _, _) = deliver(&url, &signed(CURRENT, &url, body), body).await;
    assert_eq!(status, 200);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn without_a_verifier_in_the_app_data_the_answer_is_500_saying_what_to_register() {
    let (addr, seen, logs) = serve(|_| {});
    let url = format!("http://{addr}/api/hook");
    let body: &[u8] = b"{}";
    let (status, challenge, text) = deliver(&url, &signed(CURRENT, &url, body), body).await;
    assert_eq!(status, 500, "{text}");
    assert_eq!(challenge, None);
    assert!(
        text.contains("web::Data<qstash::DeliveryVerifier>")
            && text.contains("web::Data<qstash::Receiver>")
            && text.contains("App::app_data"),
        "{text}"
    );
    assert!(seen.lock().unwrap().is_empty());
    // actix-web's own events aside.
    let lines: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("TRACE") && !l.starts_with("DEBUG"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0], format!("ERROR {text}"));
}
