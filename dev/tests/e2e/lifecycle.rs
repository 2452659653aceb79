//! Stopping and redirects: a dropped server accepts nothing more, not even
//! on a connection kept alive from before; a redirect is the destination's
//! answer, and the signature and the body never reach its target.

use crate::common;

use std::time::Duration;

use axum::Router;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use common::{Sink, bounded, server};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one HTTP/1.1 response with a `content-length`: status line and
/// headers, and the body.
async fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read");
        assert_eq!(n, 1, "closed in the middle of a response: {buf:?}");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).expect("ASCII head");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.expect("body");
    (head, body)
}

#[tokio::test]
async fn after_drop_a_publish_on_a_kept_alive_connection_fails() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let addr = server.addr();
        let token = server.token().to_owned();
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(
                format!(
                    "GET /v2/keys HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let (head, _) = read_response(&mut stream).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");

        drop(server);

        let publish = format!(
            "POST /v2/publish/{} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 5\r\n\r\nhello",
            sink.url("/late")
        );
        // The server may have closed the connection already (the write or
        // the read then fails), or answers 503 and closes it.
        let mut answer = Vec::new();
        if stream.write_all(publish.as_bytes()).await.is_ok() {
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                stream.read_to_end(&mut answer),
            )
            .await
            .expect("the connection is closed");
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
            "{answer}"
        );
        if !answer.is_empty() {
            assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
            assert!(answer.contains("stopping"), "{answer}");
        }
        // New connections are refused once the listener is gone.
        common::wait_until(|| std::net::TcpStream::connect(addr).is_err()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(sink.count(), 0, "nothing was delivered");
    })
    .await;
}

#[tokio::test]
async fn a_publish_being_read_when_the_server_is_dropped_is_not_accepted() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let addr = server.addr();
        let token = server.token().to_owned();
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST /v2/publish/{} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 10\r\n\r\nhello",
            sink.url("/late")
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // The handler is waiting for the rest of the body.
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(server);
        let mut answer = Vec::new();
        if stream.write_all(b"world").await.is_ok() {
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                stream.read_to_end(&mut answer),
            )
            .await
            .expect("the connection is closed");
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
            "{answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(sink.count(), 0, "nothing was delivered");
    })
    .await;
}

#[tokio::test]
async fn redirects_are_answers_and_are_not_followed() {
    bounded(async {
        let server = server().await;
        // Where the redirects point: it must never see a request.
        let target = Sink::start().await;
        for status in [301u16, 302, 303, 307, 308] {
            let location = target.url(&format!("/stolen/{status}"));
            let redirecting = Router::new().fallback(any(move || {
                let location = location.clone();
                async move {
                    let mut response = StatusCode::from_u16(status).unwrap().into_response();
                    response
                        .headers_mut()
                        .insert(LOCATION, HeaderValue::from_str(&location).unwrap());
                    response
                }
            }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let from = format!("http://{}/hook", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, redirecting).await.unwrap() });

            let response = common::http()
                .post(format!("{}/v2/publish/{from}", server.url()))
                .header("Authorization", format!("Bearer {}", server.token()))
                .header("Upstash-Retries", "0")
                .body("secret body")
                .send()
                .await
                .expect("publish");
            assert_eq!(response.status(), 200);
            let message: Value = response.json().await.unwrap();
            let id = message["messageId"].as_str().expect("an id").to_owned();
            // Dead-lettered with the redirect as the answer.
            let entry = loop {
                let dlq: Value = common::http()
                    .get(format!("{}/v2/dlq", server.url()))
                    .header("Authorization", format!("Bearer {}", server.token()))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(target.count(), 0, "{:?}", target.received());
                if let Some(e) = dlq["messages"]
                    .as_array()
                    .and_then(|m| m.iter().find(|e| e["messageId"] == id.as_str()))
                {
                    break e.clone();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            assert_eq!(entry["responseStatus"], status, "{entry}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(target.count(), 0, "{:?}", target.received());
    })
    .await;
}
