//! Sends `N` requests one way, for counting instructions, which, unlike
//! time, do not depend on the machine's load:
//!
//! ```text
//! cargo build --release -p qstash-bench
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/requests MODE N
//! ```
//!
//! Each operation has three sides: plain reqwest 0.13 sending the same
//! request (the floor), `qstash`, and the peer crate `qstash-rs` 0.6.
//!
//! - `get_queue`: `reqwest`, `qstash`, `qstash-no-retry`
//!   (`RetryPolicy::none()`) or `peer`, optionally followed by how many
//!   requests are in flight at once (default 1);
//! - publish of a 200-byte JSON message: `publish-reqwest`,
//!   `publish-qstash` or `publish-peer`, with the same optional IN_FLIGHT;
//! - cursor exhaustion over `N` pages of 100 DLQ messages: `cursor-hand` (a
//!   reqwest loop following `cursor`, decoding with serde_json into
//!   qstash's types), `cursor-pages` (`list_dlq_messages().pages()`),
//!   `cursor-stream` (`list_dlq_messages().stream()`, message by message)
//!   or `cursor-peer` (qstash-rs's `dlq().list` in a loop);
//! - building a client `N` times: `build-reqwest` (reqwest's default TLS,
//!   which reads the system's certificate store), `build-qstash` or
//!   `build-peer`, default settings.
//!
//! Run two `N` and divide the difference by the difference of `N` to cancel
//! start-up costs.

#[path = "../baseline.rs"]
mod baseline;
#[path = "../server.rs"]
mod server;

use std::sync::Arc;

use bytes::Bytes;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [serve, pages] = args.as_slice()
        && serve == "serve"
    {
        return serve_until_stdin_closes(number(pages));
    }
    let (mode, n, in_flight) = match args.as_slice() {
        [mode, n] => (mode.as_str(), number(n), 1),
        [mode, n, in_flight] if !mode.starts_with("cursor") => {
            (mode.as_str(), number(n), number(in_flight).max(1))
        }
        _ => usage(),
    };
    // The server runs in a child process, which callgrind does not follow:
    // the counts are the client's alone.
    let server = ServerProcess::start(if mode.starts_with("cursor") { n } else { 0 });
    let url = server.base_url.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Every side starts from the same heap: building reqwest's client reads
    // the system certificate store (allocating and freeing megabytes), which
    // leaves glibc's heap with room that later saves reallocations copies;
    // the other clients do not read it. Every request mode builds all three
    // clients first, so the runs differ only by the code they measure.
    let _same_heap = (!mode.starts_with("build-")).then(|| {
        (
            baseline::http_client(),
            baseline::qstash_client(&url).build().expect("client"),
            peer_client(&url),
        )
    });
    let order_len = serde_json::to_vec(&ORDER).expect("order").len();
    assert_eq!(order_len, 200, "the published message is 200 bytes of JSON");
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
            "build-peer" => {
                for _ in 0..n {
                    std::hint::black_box(peer_client(&url));
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
            "peer" => {
                let client = peer_client(&url);
                send_all(n, in_flight, || async {
                    client.queues().get("orders").await.expect("get queue");
                })
                .await;
            }
            "publish-reqwest" => {
                let http = baseline::http_client();
                let url = format!("{url}/v2/publish/{}", DESTINATION);
                send_all(n, in_flight, || async {
                    let body = serde_json::to_vec(&ORDER).expect("JSON");
                    let response = baseline::same_request(http.post(&url))
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body)
                        .send()
                        .await
                        .and_then(reqwest::Response::error_for_status)
                        .expect("reqwest publish");
                    let bytes = response.bytes().await.expect("body");
                    let _: qstash::types::PublishResult =
                        serde_json::from_slice(&bytes).expect("publish result");
                })
                .await;
            }
            "publish-qstash" => {
                let client = baseline::qstash_client(&url).build().expect("client");
                send_all(n, in_flight, || async {
                    client
                        .publish()
                        .destination(DESTINATION)
                        .payload(qstash::Body::json(&ORDER).expect("JSON"))
                        .send()
                        .await
                        .expect("publish");
                })
                .await;
            }
            "publish-peer" => {
                let client = peer_client(&url);
                let destination = qstash_rs::Destination::url(DESTINATION).expect("URL");
                send_all(n, in_flight, || async {
                    client
                        .publish_json(destination.clone(), &ORDER)
                        .await
                        .expect("publish");
                })
                .await;
            }
            "cursor-peer" => {
                let client = peer_client(&url);
                let mut filter = qstash_rs::DlqFilter::default();
                let mut items = 0usize;
                loop {
                    let page = client.dlq().list(&filter).await.expect("page");
                    items += page.messages.len();
                    match page.cursor.filter(|c| !c.is_empty()) {
                        Some(c) => filter.cursor = Some(c),
                        None => break,
                    }
                }
                assert_eq!(items, n * 100);
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
            "cursor-pages" => {
                use futures::TryStreamExt;
                let client = baseline::qstash_client(&url).build().expect("client");
                let mut pages = client.list_dlq_messages().pages();
                let mut items = 0usize;
                while let Some(page) = pages.try_next().await.expect("page") {
                    items += page.messages.len();
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

/// `requests serve PAGES`: the benchmark's server, in a process of its own.
/// It prints its base URL, then answers until its standard input closes:
/// DLQ pages of 100 messages (`PAGES` of them, each with a `cursor` to the
/// next) if `PAGES` > 0, otherwise `get_queue` and publish.
fn serve_until_stdin_closes(pages: usize) {
    let server = if pages > 0 {
        // One page of messages, built once: each answer only splices in its
        // cursor, so the server's work per page is a copy, not a rebuild.
        let messages = dlq_messages();
        server::Server::start(Arc::new(move |uri| {
            let index = server::cursor_index(uri);
            let cursor = if index + 1 < pages {
                format!(r#""cursor":"{}","#, index + 1)
            } else {
                String::new()
            };
            Bytes::from(format!(r#"{{{cursor}"messages":{messages}}}"#))
        }))
    } else {
        server::Server::start(api_handler())
    };
    println!("{}", server.base_url);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}

/// The server's process: `requests serve PAGES`, ended with this value.
struct ServerProcess {
    base_url: String,
    child: std::process::Child,
}

impl ServerProcess {
    fn start(pages: usize) -> Self {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(std::env::current_exe().expect("path of this binary"))
            .args(["serve", &pages.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("server's stdout"))
            .read_line(&mut line)
            .expect("server's base URL");
        let base_url = line.trim().to_string();
        assert!(base_url.starts_with("http://"), "server printed {line:?}");
        Self { base_url, child }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing its standard input ends the server.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The peer crate's client with its default settings.
fn peer_client(base_url: &str) -> qstash_rs::Client {
    qstash_rs::Client::builder(baseline::TOKEN)
        .base_url(base_url)
        .build()
        .expect("qstash-rs client")
}

/// Where every publish of the benchmarks goes.
const DESTINATION: &str = "https://example.com/hooks/orders";

/// The message every publish of the benchmarks sends: serialized by each
/// side per request, to exactly 200 bytes of JSON.
#[derive(serde::Serialize)]
struct Order {
    order: u64,
    customer: &'static str,
    items: [&'static str; 3],
    note: &'static str,
}

/// The one [`Order`] every publish sends.
const ORDER: Order = Order {
    order: 4242,
    customer: "acme-industries-eu-west",
    items: ["sku-000123", "sku-000456", "sku-000789"],
    note: "deliver from 09:00 to 17:00; ring twice; leave at the front desk if nobody answers; thanks",
};

/// What a publish to one URL answers.
const PUBLISHED: &[u8] =
    br#"{"messageId":"msg_26hZCxZCuWyyTWPmSVBrNB882AMRP1TsgzpygELRcLWep5ACNTTttYsMmmP"}"#;

/// Answers a publish with [`PUBLISHED`] and anything else with [`QUEUE`].
fn api_handler() -> server::Handler {
    Arc::new(|uri| {
        if uri.path().starts_with("/v2/publish/") {
            Bytes::from_static(PUBLISHED)
        } else {
            Bytes::from_static(server::QUEUE)
        }
    })
}

/// The JSON array of 100 DLQ messages every page carries.
fn dlq_messages() -> String {
    let messages: Vec<_> = (0..100)
        .map(|i| {
            serde_json::json!({
                "messageId": format!("msg_{i:04}"),
                "dlqId": format!("dlq_{i:04}"),
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
        "usage: requests reqwest|qstash|qstash-no-retry|peer N [IN_FLIGHT]\n       requests publish-reqwest|publish-qstash|publish-peer N [IN_FLIGHT]\n       requests cursor-hand|cursor-pages|cursor-stream|cursor-peer PAGES\n       requests build-reqwest|build-qstash|build-peer N"
    );
    std::process::exit(2)
}
