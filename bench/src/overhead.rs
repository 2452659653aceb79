//! Request overhead: `get_queue` through the generated client and its layer
//! against plain reqwest sending the same request (GET, same path, bearer
//! token, body parsed into the same type), both against one local server.

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use qstash::types::Queue;

use crate::server::{QUEUE, Server};
use crate::{Config, Row, Section, median, paired_ratio, yes_no};

const TARGET: f64 = 0.95;

/// Sends `n` requests made by `one`, `in_flight` at a time; returns requests/s.
async fn rate<F, Fut>(n: usize, in_flight: usize, one: F) -> f64
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let start = Instant::now();
    if in_flight <= 1 {
        for _ in 0..n {
            one().await;
        }
    } else {
        futures::stream::iter(0..n)
            .map(|_| one())
            .buffer_unordered(in_flight)
            .for_each(|()| async {})
            .await;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

pub fn run(config: &Config) -> Section {
    let server = Server::start(Arc::new(|_| Bytes::from_static(QUEUE)));
    let rt = crate::client_runtime();
    let client = crate::baseline::qstash_client(&server.base_url)
        .build()
        .expect("qstash client");
    let http = crate::baseline::http_client();
    let url = format!("{}/v2/queues/orders", server.base_url);

    let with_client = || async {
        let queue = client.get_queue().queue_name("orders").send().await;
        black_box(queue.expect("get_queue").into_inner());
    };
    let with_reqwest = || async {
        let response = crate::baseline::same_request(http.get(&url)).send().await;
        let response = response.and_then(|r| r.error_for_status()).expect("GET");
        black_box(response.json::<Queue>().await.expect("queue JSON"));
    };

    let mut section = Section::default();
    for (label, in_flight) in [("sequential", 1), ("in flight", config.in_flight)] {
        let n = config.requests;
        let (mut base, mut subject) = (Vec::new(), Vec::new());
        rt.block_on(async {
            // Warm-up: open the connections of both sides.
            rate(n / 10, in_flight, with_reqwest).await;
            rate(n / 10, in_flight, with_client).await;
            for rep in 0..config.overhead_pairs {
                // Alternate which side goes first.
                if rep % 2 == 0 {
                    base.push(rate(n, in_flight, with_reqwest).await);
                    subject.push(rate(n, in_flight, with_client).await);
                } else {
                    subject.push(rate(n, in_flight, with_client).await);
                    base.push(rate(n, in_flight, with_reqwest).await);
                }
            }
        });
        let ratio = paired_ratio(&subject, &base);
        let (base, subject) = (median(&base), median(&subject));
        let what = if in_flight <= 1 {
            format!("Overhead: {n} `get_queue`, {label} (req/s)")
        } else {
            format!("Overhead: {n} `get_queue`, {in_flight} {label} (req/s)")
        };
        section.rows.push(Row {
            bench: what,
            baseline: format!("{base:.0} (reqwest)"),
            subject: format!("{subject:.0}"),
            ratio: format!("{ratio:.3}"),
            target: format!("≥ {TARGET:.2}"),
            met: yes_no(ratio >= TARGET),
        });
    }
    section.notes.push(
        "Overhead: both sides call one in-process HTTP/1.1 server (loopback, keep-alive, own thread) \
         answering a canned `Queue` JSON; the client side runs on a single-threaded tokio runtime; \
         the baseline is plain reqwest with the qstash client's default settings (timeouts, user \
         agent) sending the same method, path and headers, parsing into the same \
         `qstash::types::Queue`."
            .into(),
    );
    section
}
