//! The dispatcher: starts deliveries as messages become due and records
//! their outcomes; and the HTTP client deliveries are made with.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::clock::now_ms;
use crate::error::Error;
use crate::model::{Headers, Reply};
use crate::options::canonical;
use crate::route;
use crate::signing::sign;
use crate::state::Shared;
use crate::store::Job;
use crate::telemetry::{self, Attempt};

/// Longest the dispatcher sleeps with nothing due.
const IDLE: Duration = Duration::from_secs(3600);

/// What a delivery cut short by the server stopping is recorded with: a
/// failed attempt, retried as any other.
pub(crate) const CUT_SHORT: &str =
    "the development server stopped during the delivery; it is retried as a failed attempt";

/// The client deliveries are made with: no proxy, redirects not followed
/// (a 3xx is the destination's answer: the signature and the body go
/// nowhere else), HTTPS through rustls with ring and Mozilla's roots,
/// given to this client only.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .tls_backend_preconfigured(tls_config())
        .build()
        .map_err(Error::HttpClient)
}

/// TLS 1.2 and 1.3 with ring's cryptography, verifying servers against
/// Mozilla's root set (compiled in). The provider belongs to this
/// configuration only: the process-wide default, which the application may
/// set, is neither read nor set.
pub(crate) fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // rustls 0.23.48 deprecates ring's provider (no post-quantum key
    // exchange) without a replacement; a local development server does not
    // need one. `allow`, not `expect`: earlier 0.23 releases do not
    // deprecate it.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring supports both default versions: this cannot fail.
        .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"))
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Runs until the server stops: then starts nothing more, lets the
/// deliveries in flight finish within the grace period, and records those
/// cut short as failed attempts (retried as any other).
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut running = JoinSet::new();
    // The message of each running delivery, by task.
    let mut ids: HashMap<tokio::task::Id, String> = HashMap::new();
    let stopped = shared.stopped();
    tokio::pin!(stopped);
    loop {
        // Deliveries that ended are settled at once: a finished task keeps
        // its memory (the size of its future) until it is joined, and the
        // wakes deliveries bring outnumber the branch below that joins one.
        while let Some(done) = running.try_join_next_with_id() {
            settle(&shared, &mut ids, done);
        }
        let (jobs, wake) = shared.lock().take_due(now_ms());
        for job in jobs {
            let id = job.info.id.clone();
            let shared = Arc::clone(&shared);
            let task = running.spawn(async move {
                let (max, region) = {
                    let state = shared.lock();
                    (
                        state.config.limits.max_response_bytes,
                        state.config.region.clone(),
                    )
                };
                // Signed, logged and dead-lettered as published; sent where
                // a route says.
                let target = route::resolve(&shared.routes, &job.info.url);
                let begun = Instant::now();
                let reply = deliver(&shared, &job, &target, max, region.as_deref()).await;
                // Not cancelled past this point: no `.await` until the end.
                let took = begun.elapsed();
                let (status, error) = (reply.status, reply.error.clone());
                let settled = shared.lock().finish(&job.info.id, reply);
                shared.dispatch.notify_one();
                let routed_to = match &target {
                    Cow::Owned(t) => Some(t.as_str()),
                    Cow::Borrowed(_) => None,
                };
                let attempt = Attempt {
                    status,
                    error: error.as_deref(),
                    took: Some(took),
                    routed_to,
                };
                telemetry::attempt(&attempt, &settled);
            });
            ids.insert(task.id(), id);
        }
        let sleep = wake.map_or(IDLE, |at| {
            Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0))
        });
        tokio::select! {
            () = &mut stopped => {
                tracing::info!(
                    grace = ?shared.shutdown_grace,
                    in_flight = running.len(),
                    "stopping: deliveries in flight may finish within the grace period"
                );
                break;
            }
            () = shared.dispatch.notified() => {}
            () = tokio::time::sleep(sleep) => {}
            Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                settle(&shared, &mut ids, done);
            }
        }
    }
    let finish_running = async {
        while let Some(done) = running.join_next_with_id().await {
            settle(&shared, &mut ids, done);
        }
    };
    if tokio::time::timeout(shared.shutdown_grace, finish_running)
        .await
        .is_err()
    {
        running.abort_all();
        while let Some(done) = running.join_next_with_id().await {
            settle(&shared, &mut ids, done);
        }
    }
    // Left: the deliveries aborted at the end of the grace period.
    let cut_short: Vec<_> = {
        let mut state = shared.lock();
        ids.into_values()
            .map(|id| state.finish(&id, failure(CUT_SHORT.to_owned())))
            .collect()
    };
    let cut = Attempt {
        error: Some(CUT_SHORT),
        ..Attempt::default()
    };
    for settled in &cut_short {
        telemetry::attempt(&cut, settled);
    }
    if cut_short.is_empty() {
        tracing::info!("stopped");
    } else {
        tracing::warn!(
            cut_short = cut_short.len(),
            "stopped; the deliveries still running after the grace period were cut short and recorded as failed attempts"
        );
    }
}

/// Settles a delivery task that ended: one that ran to its end recorded its
/// outcome; one that panicked is recorded as a failed attempt here; one
/// aborted at the end of the grace period stays in `ids`, to be recorded
/// as cut short.
fn settle(
    shared: &Shared,
    ids: &mut HashMap<tokio::task::Id, String>,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    match done {
        Ok((task, ())) => {
            ids.remove(&task);
        }
        Err(e) if e.is_panic() => {
            if let Some(id) = ids.remove(&e.id()) {
                const PANICKED: &str = "the delivery failed unexpectedly";
                let settled = shared.lock().finish(&id, failure(PANICKED.into()));
                shared.dispatch.notify_one();
                let attempt = Attempt {
                    error: Some(PANICKED),
                    ..Attempt::default()
                };
                telemetry::attempt(&attempt, &settled);
            }
        }
        Err(_) => {}
    }
}

/// Makes one delivery attempt, to `target` (the URL published to, or where
/// a route sends it), and reports what the destination answered;
/// `region`, when set, is sent as `Upstash-Region`.
async fn deliver(
    shared: &Shared,
    job: &Job,
    target: &str,
    max_body: usize,
    region: Option<&str>,
) -> Reply {
    let info = &job.info;
    let signature = match sign(
        &job.signing_key,
        &info.url,
        &info.body.bytes,
        now_ms() / 1000,
    ) {
        Ok(s) => s,
        Err(e) => return failure(e),
    };
    let method =
        reqwest::Method::from_bytes(info.opts.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut request = shared
        .http
        .request(method, target)
        .body(info.body.bytes.clone())
        .header("Upstash-Message-Id", &info.id)
        .header("Upstash-Retried", job.retried.to_string())
        .header("Upstash-Signature", signature);
    for (name, values) in &info.opts.header {
        for value in values {
            request = request.header(name, value);
        }
    }
    if let Some(id) = &info.schedule_id {
        request = request.header("Upstash-Schedule-Id", id);
    }
    if let Some(topic) = &info.topic {
        request = request.header("Upstash-Topic-Name", topic);
    }
    if let Some(region) = region {
        request = request.header("Upstash-Region", region);
    }
    if let Some(ms) = info.opts.timeout_ms {
        request = request.timeout(Duration::from_millis(ms));
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) if target == info.url => {
            return failure(format!("cannot deliver to {}: {e}", info.url));
        }
        Err(e) => {
            return failure(format!(
                "cannot deliver to {} (routed to {target}): {e}",
                info.url
            ));
        }
    };
    let headers = reply_headers(response.headers());
    let status = response.status().as_u16();
    let (body, error) = crate::model::read_capped(&mut response, max_body).await;
    Reply {
        status,
        headers,
        body,
        error,
        held: Default::default(),
    }
}

/// A destination's response headers as kept: names canonical, values as
/// text, no room in reserve (they live as long as the log records and the
/// DLQ entry that show them).
fn reply_headers(map: &reqwest::header::HeaderMap) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in map {
        headers
            .values_mut(canonical(name.as_str()))
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    headers.shrink_to_fit();
    headers
}

fn failure(error: String) -> Reply {
    Reply {
        error: Some(error),
        ..Reply::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use tokio::task::JoinSet;

    use crate::clock::now_ms;
    use crate::config::{Config, Limits};
    use crate::model::{LogState, Options};
    use crate::signing::SigningKeys;
    use crate::state::Shared;
    use crate::store::{NewMessages, Store};

    /// A writer into a shared buffer, for a log subscriber.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_delivery_that_panicked_is_logged_as_a_failed_attempt() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // A dispatcher without its loop: the store, and a task that panics
        // in place of a delivery.
        let config = Config {
            retry_delay_scale: 1.0,
            limits: Limits::default(),
            region: None,
            cron_seconds: false,
        };
        let http = super::client(std::time::Duration::from_secs(1)).unwrap();
        let shared = Shared::new(
            Store::new(config, SigningKeys::generate()),
            http,
            "t".into(),
        );
        let id = shared
            .lock()
            .publish(&NewMessages {
                destination: "http://127.0.0.1:1/x",
                queue: None,
                opts: Arc::new(Options::default()),
                body: Arc::default(),
                schedule_id: None,
                caller_ip: "127.0.0.1",
            })
            .unwrap()
            .message_ids()
            .remove(0);
        let (jobs, _) = shared.lock().take_due(now_ms());
        assert_eq!(jobs.len(), 1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut running = JoinSet::new();
        let mut ids = HashMap::new();
        let task = running.spawn_on(async { panic!("a delivery bug") }, runtime.handle());
        ids.insert(task.id(), id.clone());
        let done = runtime.block_on(running.join_next_with_id()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            super::settle(&shared, &mut ids, done);
        });
        assert!(ids.is_empty());
        let store = shared.lock();
        assert!(store.logs.iter().any(|r| r.state == LogState::Retry));
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains(&id))
            .unwrap_or_else(|| panic!("{id} in {text}"));
        assert!(line.contains("retry scheduled"), "{line}");
        assert!(
            line.contains("error=\"the delivery failed unexpectedly\""),
            "{line}"
        );
        assert!(line.contains("attempt=1"), "{line}");
    }

    #[test]
    fn reply_headers_are_canonical_text_kept_without_room_in_reserve() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut map = HeaderMap::new();
        map.append("content-type", HeaderValue::from_static("text/plain"));
        map.append("x-multi", HeaderValue::from_static("1"));
        map.append("x-multi", HeaderValue::from_static("2"));
        map.append("x-bytes", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        let headers = super::reply_headers(&map);
        assert!(headers.is_tight());
        assert_eq!(headers["Content-Type"], ["text/plain"]);
        assert_eq!(headers["X-Multi"], ["1", "2"]);
        assert_eq!(headers["X-Bytes"], ["caf\u{fffd}"]);
    }

    #[test]
    fn the_client_has_its_own_tls_provider() {
        // Built with reqwest's `rustls-no-provider` (unified from the
        // `qstash` dev-dependency) and no process-wide provider installed:
        // without one of its own, building panics.
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
        super::client(std::time::Duration::from_secs(1)).unwrap();
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    }
}
