//! Load on the local QStash (`qstash-dev`): the client publishes N messages
//! (32 in flight) to an in-process server, which delivers each, signed, to a
//! receiver on 127.0.0.1 that counts deliveries per message id. Reported:
//! publish and delivery throughput, whether every message arrived exactly
//! once, and the process's peak heap for two runs, both past the server's
//! store limits (10,000 messages, log entries, ...): a bounded server's peak
//! does not grow with N from there on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use futures::StreamExt;

use crate::{Config, Row, Section, alloc, client_runtime, kib, yes_no};

/// Deliveries per message number (the `n` of its body), allocated before
/// the run so the receiver's bookkeeping does not grow with it; and the
/// count of distinct numbers delivered.
struct Seen {
    counts: Vec<AtomicU8>,
    distinct: AtomicUsize,
}

struct Run {
    publish: Duration,
    all_delivered: Duration,
    peak_heap: usize,
    exactly_once: bool,
    deliveries: usize,
}

/// Server and receiver on their own multi-threaded runtime (thread), the
/// client on the calling thread.
fn run(messages: usize) -> Run {
    let seen = Arc::new(Seen {
        counts: (0..messages).map(|_| AtomicU8::new(0)).collect(),
        distinct: AtomicUsize::new(0),
    });
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let seen_by_server = seen.clone();
    let background = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let server = qstash_dev::Server::builder()
                .port(0)
                .start()
                .await
                .expect("start qstash-dev");
            let seen = seen_by_server;
            let router = Router::new().route(
                "/hook",
                post(move |body: Bytes| {
                    let seen = seen.clone();
                    async move {
                        let n = std::str::from_utf8(&body).ok().and_then(|b| {
                            b.strip_prefix("{\"n\":")?
                                .strip_suffix('}')?
                                .parse::<usize>()
                                .ok()
                        });
                        if let Some(count) = n.and_then(|n| seen.counts.get(n))
                            && count.fetch_add(1, Ordering::SeqCst) == 0
                        {
                            seen.distinct.fetch_add(1, Ordering::SeqCst);
                        }
                        "ok"
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the receiver");
            let hook = format!("http://{}/hook", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, router).await });
            ready_tx
                .send((server.url().to_string(), server.token().to_string(), hook))
                .expect("hand over the addresses");
            let _ = stop_rx.await;
            drop(server);
        });
    });
    let (url, token, hook) = ready_rx.recv().expect("the server started");

    let client = qstash::Client::builder()
        .token(token)
        .base_url(url)
        .build()
        .expect("client");
    alloc::reset_peak();
    let started = Instant::now();
    let rt = client_runtime();
    let publish = rt.block_on(async {
        futures::stream::iter(0..messages)
            .map(|i| {
                let client = &client;
                let hook = &hook;
                async move {
                    client
                        .publish()
                        .destination(hook)
                        .body(format!("{{\"n\":{i}}}"))
                        .send()
                        .await
                        .expect("publish")
                }
            })
            .buffer_unordered(32)
            .for_each(|_| async {})
            .await;
        started.elapsed()
    });
    // Every message delivered (bounded wait: a lost one shows as a miss).
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.distinct.load(Ordering::SeqCst) < messages && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let all_delivered = started.elapsed();
    // Late duplicates would show up here.
    std::thread::sleep(Duration::from_millis(200));
    let peak_heap = alloc::peak();
    let counts = seen
        .counts
        .iter()
        .map(|c| usize::from(c.load(Ordering::SeqCst)));
    let deliveries = counts.clone().sum();
    let exactly_once = counts.clone().all(|n| n == 1);
    let _ = stop_tx.send(());
    background.join().expect("the server thread");
    Run {
        publish,
        all_delivered,
        peak_heap,
        exactly_once,
        deliveries,
    }
}

fn per_sec(n: usize, d: Duration) -> String {
    format!("{:.0}/s", n as f64 / d.as_secs_f64())
}

/// The row of one run of `messages` publishes.
fn delivered_row(messages: usize, run: &Run) -> Row {
    Row {
        bench: format!(
            "Local QStash: {messages} publishes, 32 in flight, delivered to a local receiver"
        ),
        baseline: "—".into(),
        subject: format!(
            "publish {} ({}), all delivered {} ({})",
            crate::secs(run.publish),
            per_sec(messages, run.publish),
            crate::secs(run.all_delivered),
            per_sec(messages, run.all_delivered)
        ),
        ratio: "—".into(),
        target: "every message delivered exactly once".into(),
        met: format!(
            "{} ({} deliveries of {messages})",
            yes_no(run.exactly_once),
            run.deliveries
        ),
    }
}

pub fn run_section(config: &Config) -> Section {
    let [small, large] = config.local_messages;
    let a = run(small);
    let b = run(large);
    let growth = b.peak_heap as f64 / a.peak_heap.max(1) as f64;
    let rows = vec![
        delivered_row(small, &a),
        delivered_row(large, &b),
        Row {
            bench: format!("Local QStash: peak heap, {small} vs {large} publishes"),
            baseline: format!("{} ({small})", kib(a.peak_heap)),
            subject: format!("{} ({large})", kib(b.peak_heap)),
            ratio: format!("{growth:.2}"),
            target: format!(
                "no growth past the store limits (≤ 1.25× for {}× the messages)",
                large / small.max(1)
            ),
            met: yes_no(a.exactly_once && growth <= 1.25),
        },
    ];
    Section {
        rows,
        peer_rows: Vec::new(),
        notes: vec![
            "Local QStash: server, receiver and client in one process (the peak heap is the whole \
             process's); the server keeps at most its configured number of messages and log entries."
                .into(),
        ],
    }
}
