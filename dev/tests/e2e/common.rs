//! Shared by the end-to-end tests: a server, a client for it, and a small
//! HTTP receiver on 127.0.0.1 that records what it gets.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use qstash_dev::{Limits, Server};

/// Upper bound of every test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `test` with [`TEST_TIMEOUT`]; fails instead of hanging.
pub async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("the test took too long");
}

/// A server with fast retries.
pub async fn server() -> Server {
    server_with(Limits::default()).await
}

/// A server with fast retries and `limits`.
pub async fn server_with(limits: Limits) -> Server {
    Server::builder()
        .port(0)
        .retry_delay_scale(0.001)
        .limits(limits)
        .start()
        .await
        .expect("start the server")
}

/// A plain HTTP client for curl-shaped requests (what other SDKs send).
///
/// Use it rather than `reqwest::Client::new()`: reqwest is built here with
/// `rustls-no-provider` (the `qstash` crate's choice), so a client needs a
/// TLS provider of its own, as the server's delivery client has. This one
/// gets ring's, for itself only; nothing process-wide is installed, so
/// these tests also prove that the server needs none.
pub fn http() -> reqwest::Client {
    #[allow(deprecated)] // ring's provider: see `tls_config` in src/delivery.rs
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("an HTTP client")
}

/// `GET` of an API `path` on `server`, with its token, read as JSON.
pub async fn get_json(server: &Server, path: &str) -> serde_json::Value {
    http()
        .get(format!("{}{path}", server.url()))
        .header("Authorization", format!("Bearer {}", server.token()))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// A client of `server`, without client-side retries.
pub fn client(server: &Server) -> qstash::Client {
    qstash::Client::builder()
        .token(server.token())
        .base_url(server.url())
        .retry_policy(qstash::RetryPolicy::none())
        .build()
        .expect("build the client")
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct SinkState {
    received: Mutex<Vec<Received>>,
    status: AtomicU16,
    delay_ms: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A recording HTTP endpoint; answers `status` (200 unless changed) after
/// `delay`.
pub struct Sink {
    pub addr: SocketAddr,
    state: Arc<SinkState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(state): State<Arc<SinkState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Ok(mut all) = state.received.lock() {
        all.push(Received {
            method,
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers,
            body,
        });
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK)
}

impl Sink {
    pub async fn start() -> Self {
        let state = Arc::new(SinkState::default());
        state.status.store(200, Ordering::SeqCst);
        let app = Router::new()
            .fallback(any(record))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sink");
        let addr = listener.local_addr().expect("sink address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }

    /// The URL of `path` on this sink.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.delay_ms.store(ms, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.received().len()
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        wait_until(|| self.count() >= n).await;
        self.received()
    }
}

/// Polls `done` every 10 ms until it holds (bounded by the test timeout).
pub async fn wait_until(mut done: impl FnMut() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What the server logged through `tracing` on this thread while the
/// returned guard lives, as `tracing_subscriber::fmt` writes it (every
/// level, no colours).
///
/// Only events on this thread are seen: run the test on a current-thread
/// runtime (`#[tokio::test]`'s default), where the server's tasks run
/// too, so that the logs of servers of other tests are not mixed in.
/// Works whichever test thread reaches a log statement first: while a
/// single subscriber exists, tracing-core computes a callsite's interest
/// from the subscriber of the thread that reaches it first, so an event
/// reached first on another test's thread would be left out here for good.
/// A second subscriber that lives as long as the test binary makes every
/// callsite ask each one (as the `qstash` crate's `capture_logs` does).
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    static ALWAYS_THERE: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    ALWAYS_THERE.get_or_init(|| {
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(std::io::sink)
                .finish(),
        )
    });
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

/// The text captured by [`capture_logs`].
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Everything so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the logs")).into_owned()
    }

    /// The lines that contain every one of `parts`.
    pub fn lines_with(&self, parts: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| parts.iter().all(|p| line.contains(p)))
            .map(str::to_owned)
            .collect()
    }

    /// The one line that contains every one of `parts`.
    pub fn line_with(&self, parts: &[&str]) -> String {
        let lines = self.lines_with(parts);
        assert_eq!(
            lines.len(),
            1,
            "one line with {parts:?} in:\n{}",
            self.text()
        );
        lines.into_iter().next().unwrap_or_default()
    }

    /// Waits until a line contains every one of `parts`.
    pub async fn wait_for(&self, parts: &[&str]) -> String {
        wait_until(|| !self.lines_with(parts).is_empty()).await;
        self.line_with(parts)
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}
