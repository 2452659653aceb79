//! The dispatcher: starts deliveries as messages become due and records
//! their outcomes; and the HTTP client deliveries are made with.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::clock::now_ms;
use crate::error::Error;
use crate::model::{Headers, Reply};
use crate::options::canonical;
use crate::route;
use crate::signing::sign;
use crate::state::Shared;
use crate::store::Job;

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
                let reply = deliver(&shared, &job, max, region.as_deref()).await;
                // Not cancelled past this point: no `.await` until the end.
                shared.lock().finish(&job.info.id, reply);
                shared.dispatch.notify_one();
            });
            ids.insert(task.id(), id);
        }
        let sleep = wake.map_or(IDLE, |at| {
            Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0))
        });
        tokio::select! {
            () = &mut stopped => break,
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
    let mut state = shared.lock();
    for id in ids.into_values() {
        state.finish(&id, failure(CUT_SHORT.to_owned()));
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
                shared
                    .lock()
                    .finish(&id, failure("the delivery failed unexpectedly".into()));
                shared.dispatch.notify_one();
            }
        }
        Err(_) => {}
    }
}

/// Makes one delivery attempt and reports what the destination answered;
/// `region`, when set, is sent as `Upstash-Region`.
async fn deliver(shared: &Shared, job: &Job, max_body: usize, region: Option<&str>) -> Reply {
    let info = &job.info;
    // Signed, logged and dead-lettered as published; sent where a route
    // says.
    let target = route::resolve(&shared.routes, &info.url);
    let signature = match sign(
        &job.signing_key,
        &info.url,
        &info.opts.body,
        now_ms() / 1000,
    ) {
        Ok(s) => s,
        Err(e) => return failure(e),
    };
    let method =
        reqwest::Method::from_bytes(info.opts.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut request = shared
        .http
        .request(method, target.as_ref())
        .body(info.opts.body.clone())
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
    let mut headers = Headers::new();
    for (name, value) in response.headers() {
        headers
            .entry(canonical(name.as_str()))
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let status = response.status().as_u16();
    let (body, error) = crate::model::read_capped(&mut response, max_body).await;
    Reply {
        status,
        headers,
        body,
        error,
    }
}

fn failure(error: String) -> Reply {
    Reply {
        error: Some(error),
        ..Reply::default()
    }
}

#[cfg(test)]
mod tests {
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
