//! Sends `N` sequential `get_queue` requests one way, for counting
//! instructions, which, unlike time, do not depend on the machine's load:
//!
//! ```text
//! cargo build --release -p qstash-bench
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/requests MODE N
//! ```
//!
//! MODE is `reqwest` (the baseline), `qstash` (default client) or
//! `qstash-no-retry` (`RetryPolicy::none()`), optionally followed by how many
//! requests are in flight at once (default 1); or, for cursor exhaustion over
//! `N` pages of 100 DLQ messages, `cursor-hand` (a reqwest loop following
//! `cursor`) or `cursor-stream` (`list_dlq_messages().stream()`); or, for
//! what building a client costs, `build-reqwest` (a reqwest client with its
//! default TLS, which reads the system's certificate store) or
//! `build-qstash` (a `qstash::Client` with default settings), `N` times. Run
//! two `N` and divide the difference by the difference of `N` to cancel
//! start-up costs.

#[path = "../baseline.rs"]
mod baseline;
#[path = "../server.rs"]
mod server;

use std::sync::Arc;

use bytes::Bytes;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, n, in_flight) = match args.as_slice() {
        [mode, n] => (mode.as_str(), number(n), 1),
        [mode, n, in_flight] if !mode.starts_with("cursor") => {
            (mode.as_str(), number(n), number(in_flight).max(1))
        }
        _ => usage(),
    };
    let server = if mode.starts_with("cursor") {
        // One page of messages, built once: each answer only splices in its
        // cursor, so the server's work per page is a copy, not a rebuild.
        let messages = dlq_messages();
        server::Server::start(Arc::new(move |uri| {
            let index = server::cursor_index(uri);
            let cursor = if index + 1 < n {
                format!(r#""cursor":"{}","#, index + 1)
            } else {
                String::new()
            };
            Bytes::from(format!(r#"{{{cursor}"messages":{messages}}}"#))
        }))
    } else {
        server::Server::start(Arc::new(|_| Bytes::from_static(server::QUEUE)))
    };
    let url = server.base_url.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Both sides start from the same heap: building reqwest's client reads
    // the system certificate store (allocating and freeing megabytes), which
    // leaves glibc's heap with room that later saves reallocations copies;
    // the qstash client does not read it. Every request mode builds both
    // clients first, so the runs differ only by the code they measure.
    let _same_heap = (!mode.starts_with("build-")).then(|| {
        (
            baseline::http_client(),
            baseline::qstash_client(&url).build().expect("client"),
        )
    });
    rt.block_on(async move {
        match mode {
            "build-reqwest" => {
                for _ in 0..n {
                    std::hint::black_box(baseline::http_client());
                }
            }
            "build-qstash" => {
                for _ in 0..n {
                    let client = qstash::Client::builder()
                        .token("bench-token")
                        .base_url(&url)
                        .build()
                        .expect("client");
                    std::hint::black_box(client);
                }
            }
            "reqwest" => {
                let http = baseline::http_client();
                let url = format!("{url}/v2/queues/orders");
                send_all(n, in_flight, || async {
                    let body = baseline::same_request(http.get(&url))
                        .send()
                        .await
                        .and_then(reqwest::Response::error_for_status)
                        .expect("reqwest request");
                    let bytes = body.bytes().await.expect("body");
                    let _: qstash::types::Queue = serde_json::from_slice(&bytes).expect("queue");
                })
                .await;
            }
            "qstash" | "qstash-no-retry" => {
                let mut builder = baseline::qstash_client(&url);
                if mode == "qstash-no-retry" {
                    builder = builder.retry_policy(qstash::RetryPolicy::none());
                }
                let client = builder.build().expect("client");
                send_all(n, in_flight, || async {
                    client
                        .get_queue()
                        .queue_name("orders")
                        .send()
                        .await
                        .expect("get_queue");
                })
                .await;
            }
            "cursor-hand" => {
                let http = baseline::http_client();
                let (mut cursor, mut items) = (None::<String>, 0usize);
                loop {
                    let mut request = baseline::same_request(http.get(format!("{url}/v2/dlq")));
                    if let Some(c) = &cursor {
                        request = request.query(&[("cursor", c)]);
                    }
                    let bytes = request
                        .send()
                        .await
                        .expect("page")
                        .bytes()
                        .await
                        .expect("body");
                    let page: qstash::types::ListDlqMessagesResponse =
                        serde_json::from_slice(&bytes).expect("page JSON");
                    items += page.messages.len();
                    match page.cursor.filter(|c| !c.is_empty()) {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                assert_eq!(items, n * 100);
            }
            "cursor-stream" => {
                use futures::TryStreamExt;
                let client = baseline::qstash_client(&url).build().expect("client");
                let mut stream = client.list_dlq_messages().stream();
                let mut items = 0usize;
                while let Some(message) = stream.try_next().await.expect("message") {
                    std::hint::black_box(message);
                    items += 1;
                }
                assert_eq!(items, n * 100);
            }
            _ => usage(),
        }
    });
}

/// The JSON array of 100 DLQ messages every page carries.
fn dlq_messages() -> String {
    let messages: Vec<_> = (0..100)
        .map(|i| {
            serde_json::json!({
                "messageId": format!("msg_{i:04}"),
                "url": "https://example.com/hooks/orders",
                "method": "POST",
                "header": {"Content-Type": ["application/json"]},
                "body": format!("{{\"order\":{i}}}"),
                "maxRetries": 3,
                "createdAt": 1733000000000_i64 + i as i64,
                "labels": ["billing", "eu"],
                "responseStatus": 500,
                "responseBody": "internal error"
            })
        })
        .collect();
    serde_json::to_string(&messages).expect("messages JSON")
}

/// Runs `n` calls of `one`, `in_flight` at a time.
async fn send_all<F, Fut>(n: usize, in_flight: usize, one: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::StreamExt;
    if in_flight == 1 {
        // As the wall-clock benchmark does: one request future at a time,
        // awaited in place.
        for _ in 0..n {
            one().await;
        }
        return;
    }
    futures::stream::iter(0..n)
        .map(|_| one())
        .buffer_unordered(in_flight)
        .for_each(|()| async {})
        .await;
}

fn number(arg: &str) -> usize {
    arg.parse().unwrap_or_else(|_| usage())
}

fn usage() -> ! {
    eprintln!(
        "usage: requests reqwest|qstash|qstash-no-retry N [IN_FLIGHT]\n       requests cursor-hand|cursor-stream PAGES\n       requests build-reqwest|build-qstash N"
    );
    std::process::exit(2)
}
