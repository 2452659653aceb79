//! The dispatcher: starts deliveries as messages become due and records
//! their outcomes.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::clock::now_ms;
use crate::model::{Headers, Reply};
use crate::options::canonical;
use crate::signing::sign;
use crate::state::Shared;
use crate::store::Job;

/// Longest the dispatcher sleeps with nothing due.
const IDLE: Duration = Duration::from_secs(3600);

/// Runs until aborted; deliveries in flight are aborted with it.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut running = JoinSet::new();
    loop {
        let (jobs, wake) = shared.lock().take_due(now_ms());
        for job in jobs {
            let shared = Arc::clone(&shared);
            running.spawn(async move {
                let (max, region) = {
                    let state = shared.lock();
                    (
                        state.config.limits.max_response_bytes,
                        state.config.region.clone(),
                    )
                };
                let reply = deliver(&shared.http, &job, max, region.as_deref()).await;
                shared.lock().finish(&job.info.id, reply);
                shared.dispatch.notify_one();
            });
        }
        let sleep = wake.map_or(IDLE, |at| {
            Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))
        });
        tokio::select! {
            () = shared.dispatch.notified() => {}
            () = tokio::time::sleep(sleep) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
}

/// Makes one delivery attempt and reports what the destination answered;
/// `region`, when set, is sent as `Upstash-Region`.
async fn deliver(
    http: &reqwest::Client,
    job: &Job,
    max_body: usize,
    region: Option<&str>,
) -> Reply {
    let info = &job.info;
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
    let mut request = http
        .request(method, &info.url)
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
        Err(e) => return failure(format!("cannot deliver to {}: {e}", info.url)),
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
