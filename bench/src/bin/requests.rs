//! Sends `N` sequential `get_queue` requests one way, for counting
//! instructions, which, unlike time, do not depend on the machine's load:
//!
//! ```text
//! cargo build --release -p qstash-bench
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/requests MODE N
//! ```
//!
//! MODE is `reqwest` (the baseline), `qstash` (default client) or
//! `qstash-no-retry` (`RetryPolicy::none()`). Run two `N` and divide the
//! difference by the difference of `N` to cancel start-up costs.

#[path = "../server.rs"]
mod server;

use std::sync::Arc;

use bytes::Bytes;

const QUEUE: &[u8] = br#"{"name":"orders","parallelism":4,"lag":12,"paused":false,"createdAt":1733000000000,"updatedAt":1733000100000}"#;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, n) = match args.as_slice() {
        [mode, n] => (
            mode.as_str(),
            n.parse::<usize>().unwrap_or_else(|_| usage()),
        ),
        _ => usage(),
    };
    let server = server::Server::start(Arc::new(|_| Bytes::from_static(QUEUE)));
    let url = server.base_url.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        match mode {
            "reqwest" => {
                let http = reqwest::Client::builder()
                    .user_agent(qstash::config::DEFAULT_USER_AGENT)
                    .build()
                    .expect("reqwest client");
                for _ in 0..n {
                    let body = http
                        .get(format!("{url}/v2/queues/orders"))
                        // The same request the generated client sends.
                        .bearer_auth("token")
                        .header(reqwest::header::ACCEPT, "application/json")
                        .header("api-version", "2.0.0")
                        .send()
                        .await
                        .and_then(reqwest::Response::error_for_status)
                        .expect("reqwest request");
                    let bytes = body.bytes().await.expect("body");
                    let _: qstash::types::Queue = serde_json::from_slice(&bytes).expect("queue");
                }
            }
            "qstash" | "qstash-no-retry" => {
                let mut builder = qstash::Client::builder().token("token").base_url(&url);
                if mode == "qstash-no-retry" {
                    builder = builder.retry_policy(qstash::RetryPolicy::none());
                }
                let client = builder.build().expect("client");
                for _ in 0..n {
                    client
                        .get_queue()
                        .queue_name("orders")
                        .send()
                        .await
                        .expect("get_queue");
                }
            }
            _ => usage(),
        }
    });
}

fn usage() -> ! {
    eprintln!("usage: requests reqwest|qstash|qstash-no-retry N");
    std::process::exit(2)
}
