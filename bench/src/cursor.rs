//! Cursor exhaustion: every DLQ message through `list_dlq_messages().stream()`
//! against a hand-written reqwest loop following `cursor` over the same
//! pages, with the time and the peak heap of each.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use qstash::types::ListDlqMessagesResponse;

use crate::server::Server;
use crate::{Config, Row, Section, alloc, kib, median, paired_ratio, secs, yes_no};

const TIME_TARGET: f64 = 1.05;
/// Peak-heap growth from the small to the large page count still counted as flat.
const FLAT: f64 = 1.05;

/// One DLQ message as QStash returns it (about 700 bytes).
fn message(page: usize, i: usize) -> serde_json::Value {
    serde_json::json!({
        "messageId": format!("msg_2Xh9{page:06}{i:04}kD3vQ8sYp1cM7nRtLwZbFjE5"),
        "dlqId": format!("1733{page:06}{i:04}-0"),
        "url": "https://example.com/hooks/orders",
        "topicName": "billing",
        "endpointName": "orders",
        "method": "POST",
        "header": {"Content-Type": ["application/json"], "Upstash-Retries": ["3"]},
        "body": format!("{{\"order\":{i},\"page\":{page},\"items\":[\"sku-1\",\"sku-2\"]}}"),
        "maxRetries": 3,
        "notBefore": 1733000000000_i64,
        "createdAt": 1733000000000_i64 + i as i64,
        "callerIP": "203.0.113.7",
        "labels": ["billing", "eu"],
        "responseStatus": 500,
        "responseHeader": {"Content-Type": ["text/plain"], "Date": ["Sat, 30 Nov 2024 12:00:00 GMT"]},
        "responseBody": "internal error: upstream timed out"
    })
}

/// Page bodies; page `i` points to page `i + 1` (`cursor` is its index), the
/// last one has no cursor.
fn build_pages(pages: usize, per_page: usize) -> Arc<Vec<Bytes>> {
    let bodies = (0..pages)
        .map(|p| {
            let messages: Vec<_> = (0..per_page).map(|i| message(p, i)).collect();
            let mut page = serde_json::json!({ "messages": messages });
            if p + 1 < pages {
                page["cursor"] = (p + 1).to_string().into();
            }
            Bytes::from(serde_json::to_vec(&page).expect("page JSON"))
        })
        .collect();
    Arc::new(bodies)
}

fn serve(pages: Arc<Vec<Bytes>>) -> Server {
    Server::start(Arc::new(move |uri| {
        let index = crate::server::cursor_index(uri);
        pages[index].clone()
    }))
}

/// Time, peak heap above the level at the start, and item count of one run.
struct Run {
    time: Duration,
    peak: usize,
    items: usize,
}

async fn measured<F: Future<Output = usize>>(run: F) -> Run {
    let base = alloc::reset_peak();
    let start = Instant::now();
    let items = run.await;
    let time = start.elapsed();
    Run {
        time,
        peak: alloc::peak().saturating_sub(base),
        items,
    }
}

async fn with_client(client: &qstash::Client) -> usize {
    let mut stream = client.list_dlq_messages().stream();
    let mut items = 0;
    while let Some(message) = stream.try_next().await.expect("DLQ page") {
        black_box(message);
        items += 1;
    }
    items
}

async fn hand_loop(http: &reqwest::Client, base_url: &str) -> usize {
    let url = format!("{base_url}/v2/dlq");
    let mut cursor: Option<String> = None;
    let mut items = 0;
    loop {
        let mut request = crate::baseline::same_request(http.get(&url));
        if let Some(c) = &cursor {
            request = request.query(&[("cursor", c)]);
        }
        let response = request.send().await.and_then(|r| r.error_for_status());
        let page: ListDlqMessagesResponse = response
            .expect("GET /v2/dlq")
            .json()
            .await
            .expect("page JSON");
        for message in page.messages {
            black_box(message);
            items += 1;
        }
        match page.cursor.filter(|c| !c.is_empty()) {
            Some(next) => cursor = Some(next),
            None => return items,
        }
    }
}

pub fn run(config: &Config) -> Section {
    let rt = crate::client_runtime();
    let mut section = Section::default();
    let mut peaks = Vec::new();
    for pages in config.pages {
        let server = serve(build_pages(pages, config.per_page));
        let client = crate::baseline::qstash_client(&server.base_url)
            .build()
            .expect("qstash client");
        let http = crate::baseline::http_client();
        let (mut base, mut subject) = (Vec::new(), Vec::new());
        rt.block_on(async {
            // Warm-up: one full pass each opens the connections and fills the
            // allocator's and runtime's caches.
            hand_loop(&http, &server.base_url).await;
            with_client(&client).await;
            for rep in 0..config.reps {
                let hand = || measured(hand_loop(&http, &server.base_url));
                let ours = || measured(with_client(&client));
                if rep % 2 == 0 {
                    base.push(hand().await);
                    subject.push(ours().await);
                } else {
                    subject.push(ours().await);
                    base.push(hand().await);
                }
            }
        });
        let expected = pages * config.per_page;
        assert!(
            base.iter().chain(&subject).all(|r| r.items == expected),
            "every run must see all {expected} messages"
        );
        let peak = |runs: &[Run]| runs.iter().map(|r| r.peak).max().unwrap_or(0);
        let times =
            |runs: &[Run]| -> Vec<f64> { runs.iter().map(|r| r.time.as_secs_f64()).collect() };
        let (tb, ts) = (times(&base), times(&subject));
        let ratio = paired_ratio(&ts, &tb);
        let (tb, ts) = (
            Duration::from_secs_f64(median(&tb)),
            Duration::from_secs_f64(median(&ts)),
        );
        section.rows.push(Row {
            bench: format!(
                "Cursor: {expected} DLQ messages, {pages} pages of {} (time)",
                config.per_page
            ),
            baseline: format!("{} (hand loop)", secs(tb)),
            subject: secs(ts),
            ratio: format!("{ratio:.3}"),
            target: format!("≤ {TIME_TARGET:.2}"),
            met: yes_no(ratio <= TIME_TARGET),
        });
        peaks.push((pages, peak(&base), peak(&subject)));
    }
    let [
        (small, small_hand, small_ours),
        (large, large_hand, large_ours),
    ] = peaks[..]
    else {
        unreachable!("two page counts")
    };
    let growth = |from: usize, to: usize| (to as f64 - from as f64) / (large - small) as f64;
    section.rows.push(Row {
        bench: format!("Cursor: peak heap, {small} pages"),
        baseline: format!("{} (hand loop)", kib(small_hand)),
        subject: kib(small_ours),
        ratio: format!("{:.2}", small_ours as f64 / small_hand as f64),
        target: "—".into(),
        met: "—".into(),
    });
    section.rows.push(Row {
        bench: format!("Cursor: peak heap, {large} pages (growth per extra page)"),
        baseline: format!(
            "{}, {:+.0} B/page (hand loop)",
            kib(large_hand),
            growth(small_hand, large_hand)
        ),
        subject: format!(
            "{}, {:+.0} B/page",
            kib(large_ours),
            growth(small_ours, large_ours)
        ),
        ratio: format!("{:.2}", large_ours as f64 / large_hand as f64),
        target: format!("no growth (≤ {FLAT:.2}× the {small}-page peak)"),
        met: yes_no(large_ours as f64 <= small_ours as f64 * FLAT),
    });
    section.notes.push(format!(
        "Cursor: page bodies (~{} KiB each) are built before measuring and served as shared `Bytes`; \
         both sides parse into `qstash::types::ListDlqMessagesResponse`. Peak heap is the whole \
         process (client, server thread, runtime) above the level at the start of the run, the \
         highest of the repetitions.",
        message(0, 0).to_string().len() * config.per_page / 1024,
    ));
    section
}
