//! What the server logs through `tracing`, in one place.
//!
//! Levels: `info` and above tell what a developer should see by default
//! without a line per message (the server starting and stopping, schedules
//! firing, failed attempts), `warn` what went wrong for good or was refused
//! (a message moved to the DLQ, a limit refusing a publish or a callback,
//! a 5xx answer, deliveries cut short); `debug` adds a line per request,
//! per accepted message and per successful delivery.
//!
//! Never logged: the token, the signing keys, message bodies, header
//! values, and the query strings of API requests (they may carry
//! `qstash_token`). URLs are logged as published, which is without
//! `qstash_token` (see [`Params::without_token`](crate::query::Params)).
//! Field values are only computed when their event is enabled.

use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tracing::{debug, info, warn};

use crate::clock::now_ms;
use crate::error::ErrorText;
use crate::model::Kind;
use crate::store::{Fate, Outcome, Published, Settled};

/// The target of the request log.
const API: &str = "qstash_dev::api";
/// The target of accepted messages.
const MESSAGES: &str = "qstash_dev::messages";
/// The target of delivery attempts and callbacks.
const DELIVERY: &str = "qstash_dev::delivery";

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Logs every API request once answered: its method, its path (never its
/// query), the status and how long it took; a refusal with its error text.
/// `debug`, except a limit reached (412) and a 5xx: `warn`.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // The `Uri` shares the request's buffer: cloning it copies no text.
    let uri = request.uri().clone();
    let begun = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    let error = || {
        response
            .extensions()
            .get::<ErrorText>()
            .map(|e| e.0.as_str())
    };
    let path = uri.path();
    let duration_ms = || millis(begun.elapsed());
    if status.is_server_error() || status == StatusCode::PRECONDITION_FAILED {
        warn!(
            target: API,
            %method,
            path,
            status = status.as_u16(),
            error = error(),
            duration_ms = duration_ms(),
            "request refused"
        );
    } else if status.is_client_error() {
        debug!(
            target: API,
            %method,
            path,
            status = status.as_u16(),
            error = error(),
            duration_ms = duration_ms(),
            "request refused"
        );
    } else {
        debug!(
            target: API,
            %method,
            path,
            status = status.as_u16(),
            duration_ms = duration_ms(),
            "request answered"
        );
    }
    response
}

/// Logs the messages of a publish (`debug`): each id and URL, the URL
/// group when `destination` was one, the queue and the schedule.
pub(crate) fn accepted(
    outcome: &Outcome,
    destination: &str,
    queue: Option<&str>,
    schedule_id: Option<&str>,
) {
    let (all, url_group) = match outcome {
        Outcome::Single(p) => (std::slice::from_ref(p), None),
        Outcome::Group(all) => (all.as_slice(), Some(destination)),
    };
    for p in all {
        debug!(
            target: MESSAGES,
            message_id = %p.message_id,
            url = %p.url,
            url_group = url_group.map(display),
            queue = queue.map(display),
            schedule_id = schedule_id.map(display),
            deduplicated = p.deduplicated.then_some(true),
            "message accepted"
        );
    }
}

/// Logs a message retried from the DLQ (`debug`).
pub(crate) fn retried_from_dlq(published: &Published, dlq_id: Option<&str>) {
    debug!(
        target: MESSAGES,
        message_id = %published.message_id,
        url = %published.url,
        dlq_id = dlq_id.map(display),
        "message retried from the DLQ"
    );
}

/// What a delivery attempt got.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Attempt<'a> {
    /// The destination's status (0: none, see `error`).
    pub(crate) status: u16,
    /// Why there is no (full) answer.
    pub(crate) error: Option<&'a str>,
    /// How long it took (`None`: it did not end on its own).
    pub(crate) took: Option<Duration>,
    /// Where a route sent it instead of the URL published to.
    pub(crate) routed_to: Option<&'a str>,
}

/// Logs a delivery attempt with what became of its message: `debug` when
/// delivered, `info` when it failed and is retried (or was cancelled),
/// `warn` when it failed for good (the DLQ). Then its callbacks: `debug`
/// when queued, `warn` when a limit skipped one.
pub(crate) fn attempt(attempt: &Attempt<'_>, settled: &Settled) {
    let Some(info) = settled.info.as_deref() else {
        return;
    };
    macro_rules! attempt_event {
        ($level:ident, $($rest:tt)+) => {
            $level!(
                target: DELIVERY,
                message_id = %info.id,
                url = %info.url,
                routed_to = attempt.routed_to,
                callback = (info.kind == Kind::Callback).then_some(true),
                attempt = settled.attempt,
                status = (attempt.status != 0).then_some(attempt.status),
                error = attempt.error,
                duration_ms = attempt.took.map(millis),
                $($rest)+
            )
        };
    }
    match &settled.fate {
        Fate::Gone => {}
        Fate::Delivered => attempt_event!(debug, "delivered"),
        Fate::Retry { at } => attempt_event!(
            info,
            retry_in_ms = at.saturating_sub(now_ms()).max(0),
            "delivery failed; retry scheduled"
        ),
        Fate::Cancelled => attempt_event!(info, "delivery failed; cancelled as asked"),
        Fate::Dead {
            dlq_id: Some(dlq_id),
        } => attempt_event!(
            warn,
            %dlq_id,
            "delivery failed; no retry left: moved to the DLQ"
        ),
        Fate::Dead { dlq_id: None } => attempt_event!(
            warn,
            "delivery failed; no retry left: dropped (the DLQ keeps no entries)"
        ),
    }
    for cb in &settled.callbacks {
        let kind = if cb.failure {
            "failure callback"
        } else {
            "callback"
        };
        match &cb.queued {
            Ok(id) => debug!(
                target: DELIVERY,
                message_id = %info.id,
                callback_id = %id,
                url = %cb.url,
                kind,
                "callback queued"
            ),
            Err(why) => warn!(
                target: DELIVERY,
                message_id = %info.id,
                url = %cb.url,
                kind,
                "callback not queued: {why}"
            ),
        }
    }
}
