//! Load on the local QStash (`qstash-dev`): the client publishes N messages
//! (32 in flight) to an in-process server with its default limits, which
//! delivers each, signed, to a receiver on 127.0.0.1 that counts deliveries
//! per message id. Three runs, N = 10,000, 30,000 and 100,000 (repeated and
//! interleaved by size); reported per run: publish and all-delivered
//! throughput, whether every message arrived exactly once, and how many
//! publishes the server refused (412 when its store holds its maximum of
//! undelivered messages, or past its byte budget): those are sent again
//! after a pause, so every message is still published once. Across runs:
//! the throughput of the largest run against the smallest (work per message
//! independent of how many went through), and the process's peak heap, all
//! runs being past the server's store limits (10,000 messages, log
//! entries, ...): a bounded server's peak does not grow with N from there
//! on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
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
    /// CPU time of the whole process (user and system, every thread) from
    /// the first publish until every message was delivered.
    cpu: Duration,
    peak_heap: usize,
    exactly_once: bool,
    deliveries: usize,
    /// Publishes the server refused (412: its store full; 429) and the
    /// client sent again after a pause.
    refused: usize,
    /// Most messages published and not yet delivered at once (sampled
    /// every millisecond): what the server held undelivered.
    backlog: usize,
}

/// Whether a publish was refused for want of room (the store at one of its
/// limits) or by a rate limit: nothing was created, so it is sent again.
fn is_refusal(e: &qstash::Error) -> bool {
    matches!(e.status().map(|s| s.as_u16()), Some(412 | 429))
}

/// CPU time used so far by the whole process (user and system, all
/// threads).
fn cpu_time() -> Duration {
    // SAFETY: `getrusage` only writes the struct it is given, which is
    // plain data (all zeroes is a valid value).
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// qstash-dev, and a receiver serving `receiver` on 127.0.0.1 when there
/// is one, on a multi-threaded runtime of their own (one worker thread),
/// until [`stop`](Self::stop).
struct Background {
    url: String,
    token: String,
    /// The receiver's `/hook` URL.
    hook: Option<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Background {
    fn start(receiver: Option<Router>) -> Self {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
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
                let mut hook = None;
                if let Some(router) = receiver {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind the receiver");
                    hook = Some(format!("http://{}/hook", listener.local_addr().unwrap()));
                    tokio::spawn(async move { axum::serve(listener, router).await });
                }
                ready_tx
                    .send((server.url().to_string(), server.token().to_string(), hook))
                    .expect("hand over the addresses");
                let _ = stop_rx.await;
                drop(server);
            });
        });
        let (url, token, hook) = ready_rx.recv().expect("the server started");
        Self {
            url,
            token,
            hook,
            stop,
            thread,
        }
    }

    /// A client of the server with an HTTP client of its own (the default
    /// one's settings), dropped with the client: the process-wide one that
    /// default clients share would keep this run's pooled connections to a
    /// server that is gone (about 585 KiB for a run, measured) and count
    /// them in the peak of every later run.
    fn client(&self) -> qstash::Client {
        qstash::Client::builder()
            .token(self.token.clone())
            .base_url(self.url.clone())
            .http_client(crate::baseline::http_client())
            .build()
            .expect("client")
    }

    fn stop(self) {
        let _ = self.stop.send(());
        self.thread.join().expect("the server thread");
    }
}

/// Server and receiver on their own multi-threaded runtime (thread), the
/// client on the calling thread.
fn run(messages: usize) -> Run {
    let seen = Arc::new(Seen {
        counts: (0..messages).map(|_| AtomicU8::new(0)).collect(),
        distinct: AtomicUsize::new(0),
    });
    let seen_by_receiver = seen.clone();
    let receiver = Router::new().route(
        "/hook",
        post(move |body: Bytes| {
            let seen = seen_by_receiver.clone();
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
    let background = Background::start(Some(receiver));
    let hook = background.hook.clone().expect("the receiver's URL");
    let client = background.client();
    alloc::reset_peak();
    let published = AtomicUsize::new(0);
    let backlog = AtomicUsize::new(0);
    let sampling = AtomicBool::new(true);
    let cpu_before = cpu_time();
    let started = Instant::now();
    let rt = client_runtime();
    let (publish, refused) = std::thread::scope(|scope| {
        scope.spawn(|| {
            while sampling.load(Ordering::SeqCst) {
                let delivered = seen.distinct.load(Ordering::SeqCst);
                let undelivered = published.load(Ordering::SeqCst).saturating_sub(delivered);
                backlog.fetch_max(undelivered, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let published = &published;
        let result = rt.block_on(async {
            let refused = futures::stream::iter(0..messages)
                .map(|i| {
                    let client = &client;
                    let hook = &hook;
                    async move {
                        let body = format!("{{\"n\":{i}}}");
                        let mut refused = 0;
                        let mut pause = Duration::from_millis(1);
                        loop {
                            match client
                                .publish()
                                .destination(hook)
                                .body(body.clone())
                                .send()
                                .await
                            {
                                Ok(_) => {
                                    published.fetch_add(1, Ordering::SeqCst);
                                    return refused;
                                }
                                Err(e) if is_refusal(&e) => {
                                    refused += 1;
                                    tokio::time::sleep(pause).await;
                                    pause = (pause * 2).min(Duration::from_millis(50));
                                }
                                Err(e) => panic!("publish {i}: {e}"),
                            }
                        }
                    }
                })
                .buffer_unordered(32)
                .fold(0, |total, refused| async move { total + refused })
                .await;
            (started.elapsed(), refused)
        });
        sampling.store(false, Ordering::SeqCst);
        result
    });
    // Every message delivered (bounded wait: a lost one shows as a miss).
    let deadline =
        Instant::now() + Duration::from_secs(60) + Duration::from_millis(messages as u64);
    while seen.distinct.load(Ordering::SeqCst) < messages && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let all_delivered = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    // Late duplicates would show up here.
    std::thread::sleep(Duration::from_millis(200));
    let peak_heap = alloc::peak();
    let counts = seen
        .counts
        .iter()
        .map(|c| usize::from(c.load(Ordering::SeqCst)));
    let deliveries = counts.clone().sum();
    let exactly_once = counts.clone().all(|n| n == 1);
    drop(client);
    background.stop();
    Run {
        publish,
        all_delivered,
        cpu,
        peak_heap,
        exactly_once,
        deliveries,
        refused,
        backlog: backlog.into_inner(),
    }
}

/// Heap bytes each waiting message adds to the server: `sizes` (ascending)
/// messages published with a one-hour delay, so none is delivered while
/// measured, the growth of the process's heap divided by the messages, at
/// each size. The client's side is back to its resting size once its
/// publishes are answered (its connections stay pooled).
fn waiting_bytes(sizes: &[usize]) -> Vec<(usize, f64)> {
    let background = Background::start(None);
    let client = background.client();
    let rt = client_runtime();
    let publish = |from: usize, to: usize| {
        rt.block_on(async {
            futures::stream::iter(from..to)
                .map(|i| {
                    let client = &client;
                    async move {
                        client
                            .publish()
                            .destination("http://127.0.0.1:9/hook")
                            .body(format!("{{\"n\":{i}}}"))
                            .options(qstash::MessageOptions::new().delay(Duration::from_secs(3600)))
                            .send()
                            .await
                            .unwrap_or_else(|e| panic!("publish {i}: {e}"));
                    }
                })
                .buffer_unordered(32)
                .collect::<()>()
                .await;
        })
    };
    // Warm up: the client's connections, the server's first allocations.
    publish(0, 100);
    let base = alloc::current();
    let mut done = 100;
    let mut out = Vec::new();
    for &n in sizes {
        publish(done, 100 + n);
        done = 100 + n;
        let grown = alloc::current().saturating_sub(base);
        out.push((n, grown as f64 / n as f64));
    }
    drop(client);
    background.stop();
    out
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// The runs of one size: durations are medians, the peak heap the highest,
/// counts summed.
struct Summary {
    messages: usize,
    reps: usize,
    publish: Duration,
    all_delivered: Duration,
    cpu: Duration,
    peak_heap: usize,
    exactly_once: bool,
    deliveries: usize,
    refused: usize,
    backlog: usize,
}

impl Summary {
    fn of(messages: usize, runs: &[Run]) -> Self {
        Self {
            messages,
            reps: runs.len(),
            publish: crate::median(&runs.iter().map(|r| r.publish).collect::<Vec<_>>()),
            all_delivered: crate::median(&runs.iter().map(|r| r.all_delivered).collect::<Vec<_>>()),
            cpu: crate::median(&runs.iter().map(|r| r.cpu).collect::<Vec<_>>()),
            peak_heap: runs.iter().map(|r| r.peak_heap).max().unwrap_or(0),
            exactly_once: runs.iter().all(|r| r.exactly_once),
            deliveries: runs.iter().map(|r| r.deliveries).sum(),
            refused: runs.iter().map(|r| r.refused).sum(),
            backlog: runs.iter().map(|r| r.backlog).max().unwrap_or(0),
        }
    }

    fn publish_rate(&self) -> f64 {
        per_sec(self.messages, self.publish)
    }

    fn delivered_rate(&self) -> f64 {
        per_sec(self.messages, self.all_delivered)
    }

    /// CPU microseconds per message, the whole process.
    fn cpu_per_message(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.messages as f64
    }
}

/// The row of the runs of one size.
fn delivered_row(s: &Summary) -> Row {
    let messages = s.messages;
    Row {
        bench: format!(
            "Local QStash: {messages} publishes, 32 in flight, delivered to a local receiver"
        ),
        baseline: "—".into(),
        subject: format!(
            "publish {} ({:.0}/s), all delivered {} ({:.0}/s)",
            crate::secs(s.publish),
            s.publish_rate(),
            crate::secs(s.all_delivered),
            s.delivered_rate()
        ),
        ratio: "—".into(),
        target: "every message delivered exactly once".into(),
        met: format!(
            "{} ({} deliveries of {} in {} runs; {} publishes refused and sent again; at most {} undelivered at once)",
            yes_no(s.exactly_once),
            s.deliveries,
            messages * s.reps,
            s.reps,
            s.refused,
            s.backlog
        ),
    }
}

pub fn run_section(config: &Config) -> Section {
    let sizes = config.local_messages;
    let mut runs: Vec<Vec<Run>> = sizes.iter().map(|_| Vec::new()).collect();
    for _ in 0..config.local_reps.max(1) {
        for (i, &n) in sizes.iter().enumerate() {
            runs[i].push(run(n));
        }
    }
    let all: Vec<Summary> = sizes
        .iter()
        .zip(&runs)
        .map(|(&n, r)| Summary::of(n, r))
        .collect();
    let (small, middle, large) = (&all[0], &all[1], &all[2]);
    let throughput = large.delivered_rate() / small.delivered_rate();
    let growth = large.peak_heap as f64 / small.peak_heap.max(1) as f64;
    let mut rows: Vec<Row> = all.iter().map(delivered_row).collect();
    rows.push(Row {
        bench: format!(
            "Local QStash: all-delivered throughput, {} vs {} publishes",
            large.messages, small.messages
        ),
        baseline: format!("{:.0}/s ({})", small.delivered_rate(), small.messages),
        subject: format!(
            "{:.0}/s ({}); {:.0}/s ({}, {:.2}×); publish {:.2}×",
            large.delivered_rate(),
            large.messages,
            middle.delivered_rate(),
            middle.messages,
            middle.delivered_rate() / small.delivered_rate(),
            large.publish_rate() / small.publish_rate()
        ),
        ratio: format!("{throughput:.2}"),
        target: "≥ 0.9 (work per message independent of the store's size)".into(),
        met: yes_no(large.exactly_once && throughput >= 0.9),
    });
    let cpu = large.cpu_per_message() / small.cpu_per_message();
    rows.push(Row {
        bench: format!(
            "Local QStash: CPU time per message (whole process), {} vs {} publishes",
            large.messages, small.messages
        ),
        baseline: format!("{:.0} µs ({})", small.cpu_per_message(), small.messages),
        subject: format!(
            "{:.0} µs ({}); {:.0} µs ({})",
            large.cpu_per_message(),
            large.messages,
            middle.cpu_per_message(),
            middle.messages
        ),
        ratio: format!("{cpu:.2}"),
        target: "≤ 1.1 (the same work per message, whatever the load of the machine)".into(),
        met: yes_no(cpu <= 1.1),
    });
    rows.push(Row {
        bench: format!(
            "Local QStash: peak heap, {} vs {} publishes",
            small.messages, large.messages
        ),
        baseline: format!(
            "{} ({}, at most {} undelivered)",
            kib(small.peak_heap),
            small.messages,
            small.backlog
        ),
        subject: format!(
            "{} ({}, at most {} undelivered); {} ({}, {})",
            kib(large.peak_heap),
            large.messages,
            large.backlog,
            kib(middle.peak_heap),
            middle.messages,
            middle.backlog
        ),
        ratio: format!("{growth:.2}"),
        target: format!(
            "no growth past the store limits (≤ 1.25× for {}× the messages)",
            large.messages / small.messages.max(1)
        ),
        met: yes_no(small.exactly_once && growth <= 1.25),
    });
    Section {
        rows,
        peer_rows: Vec::new(),
        notes: vec![format!(
            "Local QStash: server, receiver and client in one process (the peak heap is the whole \
             process's, the highest of the runs); the server has its default limits and keeps at \
             most 10,000 undelivered messages and 10,000 log entries. Each size ran {} times, \
             interleaved by size; times and CPU times are medians. A publish refused for want of room (412) is \
             sent again after a pause (1 ms, doubling to 50 ms) and counted. The peak heap grows with the \
             most messages undelivered at once (each takes what the row \"heap per waiting message\" \
             shows; at most 10,000), which depends on how far publishing gets ahead of the deliveries, \
             not with the number published.",
            config.local_reps.max(1)
        )],
    }
}

/// The heap each waiting message takes on the server.
pub fn waiting_section() -> Section {
    let per_message = waiting_bytes(&[1_000, 2_000, 4_000, 8_000]);
    let row = Row {
        bench: "Local QStash: heap per waiting message (published with a 1 h delay)".into(),
        baseline: "—".into(),
        subject: per_message
            .iter()
            .map(|(n, b)| format!("{b:.0} B ({n})"))
            .collect::<Vec<_>>()
            .join(", "),
        ratio: "—".into(),
        target: "what the peak heap grows by per message undelivered at once".into(),
        met: "—".into(),
    };
    Section {
        rows: vec![row],
        peer_rows: Vec::new(),
        notes: Vec::new(),
    }
}
