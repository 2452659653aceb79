//! An error status's body is kept as the bytes that came (never decoded and
//! re-encoded), at most 64 KiB of it with the cut marked, and scrubbed with
//! the client's own token.

use crate::common;

use common::{NASTY_TOKEN, client};
use qstash::AuthMode;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answering(status: u16, body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/octet-stream"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_long_body_is_cut_at_64_kib_and_the_cut_is_marked() {
    let mut body = format!("token {NASTY_TOKEN} then ").into_bytes();
    body.resize(100 * 1024, b'x');
    let server = answering(500, body).await;
    let c = client(&server, NASTY_TOKEN, AuthMode::Bearer);
    let err = c.list_queues().send().await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(
        api.body.len(),
        64 * 1024 - NASTY_TOKEN.len() + "<redacted>".len()
    );
    assert!(api.body_truncated);
    assert!(api.body.starts_with(b"token <redacted> then xxx"));
    assert!(!String::from_utf8_lossy(&api.body).contains("sEcReT"));

    // Exactly 64 KiB is kept whole, and not marked as cut.
    let full = answering(500, vec![b'y'; 64 * 1024]).await;
    let c = client(&full, NASTY_TOKEN, AuthMode::Bearer);
    let err = c.list_queues().send().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.body.len(), 64 * 1024);
    assert!(!api.body_truncated);

    let short = answering(500, b"short".to_vec()).await;
    let c = client(&short, NASTY_TOKEN, AuthMode::Bearer);
    let err = c.list_queues().send().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(&api.body[..], b"short");
    assert!(!api.body_truncated);
}

#[tokio::test]
async fn a_body_that_is_not_text_is_kept_byte_for_byte() {
    let bytes = vec![0xff, 0xfe, b'a', 0x00, 0xc3];
    let server = answering(502, bytes.clone()).await;
    let c = client(&server, NASTY_TOKEN, AuthMode::Bearer);
    let err = c.list_queues().send().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(&api.body[..], &bytes[..]);
    assert_eq!(api.message, None);
    assert_eq!(
        api.raw_body().as_deref(),
        Some("\u{fffd}\u{fffd}a\u{0}\u{fffd}")
    );
}

#[tokio::test]
async fn the_json_message_is_read_and_the_body_kept_too() {
    let body = br#"{"error":"queue orders not found"}"#.to_vec();
    let server = answering(404, body.clone()).await;
    let c = client(&server, NASTY_TOKEN, AuthMode::Bearer);
    let err = c.list_queues().send().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.message.as_deref(), Some("queue orders not found"));
    assert_eq!(api.raw_body(), None);
    assert_eq!(&api.body[..], &body[..]);
}
