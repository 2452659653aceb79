//! Which HTTP client a `Client` uses: clients built with the default
//! settings share one (one connection pool, one TLS setup); a caller's
//! `reqwest::Client` is the one used.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common;

/// An HTTP/1.1 server on 127.0.0.1 that keeps connections alive, answers
/// every request with a queue, and counts the connections it accepted and
/// the `x-app` headers it saw.
async fn counting_server() -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (count, headers) = (accepted.clone(), seen.clone());
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let headers = headers.clone();
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                        if let Some(app) = head.lines().find_map(|l| l.strip_prefix("x-app: ")) {
                            headers.lock().unwrap().push(app.to_string());
                        }
                        pending.drain(..end + 4);
                        let body = r#"{"name":"orders"}"#;
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, accepted, seen)
}

/// A client with the default settings, or with a `timeout` of its own.
fn client(url: &str, timeout: Option<Duration>) -> qstash::Client {
    common::client_with(url, "t", |b| match timeout {
        Some(t) => b.timeout(t),
        None => b,
    })
}

#[tokio::test]
async fn clients_built_with_default_settings_share_one_http_client() {
    let (url, accepted, _) = counting_server().await;
    for _ in 0..3 {
        // A new `Client` each time, as a serverless handler would make.
        let c = client(&url, None);
        let q = c.get_queue().queue_name("orders").send().await.unwrap();
        assert_eq!(q.name.as_deref(), Some("orders"));
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one pool: the connection of the first client served the others"
    );

    // Clients with settings of their own get their own HTTP client (the
    // counter does see separate pools).
    let (url, accepted, _) = counting_server().await;
    for secs in [30, 31] {
        let c = client(&url, Some(Duration::from_secs(secs)));
        c.get_queue().queue_name("orders").send().await.unwrap();
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_callers_http_client_is_the_one_used() {
    let (url, _, seen) = counting_server().await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-app", "mine".parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let c = qstash::Client::builder()
        .token("t")
        .base_url(&url)
        .http_client(http)
        .build()
        .unwrap();
    c.get_queue().queue_name("orders").send().await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["mine"]);
}
