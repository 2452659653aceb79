//! The REST API: routes, and what every handler shares.

mod dlq;
mod flow_control;
mod keys_logs;
mod messages;
mod queues;
mod schedules;
mod url_groups;
mod workflows;

use std::sync::Arc;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;

use crate::auth::require_token;
use crate::error::{ApiError, ApiResult};
use crate::query::Params;
use crate::state::Shared;

/// The application: every operation of the QStash API, and the workflow
/// operations over the runs the server has seen.
pub(crate) fn router(shared: Arc<Shared>, max_body: usize) -> Router {
    Router::new()
        .route("/v2/publish/{*destination}", post(messages::publish))
        .route(
            "/v2/enqueue/{queue}/{*destination}",
            post(messages::enqueue),
        )
        .route("/v2/batch", post(messages::batch))
        .route("/v2/messages", delete(messages::cancel_many))
        .route(
            "/v2/messages/{message_id}",
            get(messages::get).delete(messages::cancel_one),
        )
        .route("/v2/bulkActions", get(messages::list_bulk_actions))
        .route(
            "/v2/bulkActions/{action_id}",
            get(messages::get_bulk_action),
        )
        .route("/v2/queues", post(queues::upsert).get(queues::list))
        .route("/v2/queues/{name}", get(queues::get).delete(queues::remove))
        .route("/v2/queues/{name}/pause", post(queues::pause))
        .route("/v2/queues/{name}/resume", post(queues::resume))
        .route("/v2/schedules", get(schedules::list))
        .route("/v2/schedules/{*rest}", any(schedules::dispatch))
        .route("/v2/topics", get(url_groups::list))
        .route(
            "/v2/topics/{name}",
            get(url_groups::get).delete(url_groups::remove),
        )
        .route(
            "/v2/topics/{name}/endpoints",
            post(url_groups::add_endpoints).delete(url_groups::remove_endpoints),
        )
        .route("/v2/dlq", get(dlq::list).delete(dlq::delete_many))
        .route("/v2/dlq/retry", post(dlq::retry_many))
        .route("/v2/dlq/retry/{dlq_id}", post(dlq::retry_one))
        .route("/v2/dlq/{dlq_id}", get(dlq::get).delete(dlq::delete_one))
        .route("/v2/flowControl", get(flow_control::list))
        .route("/v2/flowControl/{key}", get(flow_control::get))
        .route("/v2/flowControl/{key}/pause", post(flow_control::pause))
        .route("/v2/flowControl/{key}/resume", post(flow_control::resume))
        .route("/v2/flowControl/{key}/pin", post(flow_control::pin))
        .route("/v2/flowControl/{key}/unpin", post(flow_control::unpin))
        .route(
            "/v2/flowControl/{key}/resetRate",
            post(flow_control::reset_rate),
        )
        .route(
            "/v2/globalParallelism",
            get(flow_control::global_parallelism),
        )
        .route("/v2/keys", get(keys_logs::keys))
        .route("/v2/keys/rotate", post(keys_logs::rotate))
        .route("/v2/logs", get(keys_logs::logs))
        .route("/v2/events", get(keys_logs::events))
        .route("/v2/trigger/{*workflow_url}", post(workflows::trigger))
        .route("/v2/batch/trigger", post(workflows::batch_trigger))
        .route("/v2/workflows/runs", delete(workflows::cancel_many))
        .route(
            "/v2/workflows/runs/{workflow_run_id}",
            delete(workflows::cancel_one),
        )
        .route("/v2/workflows/logs", get(workflows::logs))
        .route("/v2/workflows/events", get(workflows::logs))
        .route(
            "/v2/workflows/dlq",
            get(workflows::dlq_list).delete(workflows::dlq_delete_many),
        )
        .route(
            "/v2/workflows/dlq/{dlq_id}",
            get(workflows::dlq_get).delete(workflows::dlq_delete_one),
        )
        .route("/v2/workflows/dlq/resume", post(workflows::dlq_resume_many))
        .route(
            "/v2/workflows/dlq/resume/{dlq_id}",
            post(workflows::dlq_resume_one),
        )
        .route(
            "/v2/workflows/dlq/restart",
            post(workflows::dlq_restart_many),
        )
        .route(
            "/v2/workflows/dlq/restart/{dlq_id}",
            post(workflows::dlq_restart_one),
        )
        .route(
            "/v2/workflows/dlq/callback/{dlq_id}",
            post(workflows::dlq_callback_retry).delete(workflows::dlq_callback_cancel),
        )
        .route("/v2/wait/{event_id}", post(workflows::wait))
        .route("/v2/waiters/{event_id}", get(workflows::waiters))
        .route("/v2/notify/{event_id}", post(workflows::notify))
        .route(
            "/v2/notify/{workflow_run_id}/{event_id}",
            post(workflows::notify_run),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            require_token,
        ))
        .layer(middleware::from_fn(json_errors))
        .with_state(shared)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {}", uri.path()))
}

/// Turns every error answer that is not JSON yet (axum's own: 405, 413,
/// bad path parameters) into `{"error": "..."}`.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let bytes = to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.to_owned()
    };
    ApiError::new(status, message).into_response()
}

/// Parses a JSON request body; 400 with serde's explanation otherwise.
pub(crate) fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// A percent-decoded path segment.
pub(crate) fn decode(segment: &str) -> ApiResult<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::bad_request(format!("`{segment}` is not valid UTF-8 once decoded")))
}

/// The path after its first `skip` segments, split off as the raw leading
/// segments and the rest (`/v2/enqueue/q/https://x` with `skip` 3 gives
/// `["v2", "enqueue", "q"]` and `https://x`).
pub(crate) fn split_path(uri: &Uri, skip: usize) -> (Vec<&str>, &str) {
    let path = uri.path().trim_start_matches('/');
    let mut parts = path.splitn(skip + 1, '/');
    let head: Vec<&str> = parts.by_ref().take(skip).collect();
    (head, parts.next().unwrap_or_default())
}

/// The destination of a publish-like path: percent-encoded (one segment,
/// as this crate's client sends it) or raw (`https://x/y?z=1`, as the
/// official SDKs send it; the query then belongs to the destination, minus
/// `qstash_token`).
pub(crate) fn destination(uri: &Uri, raw: &str) -> ApiResult<String> {
    if raw.is_empty() {
        return Err(ApiError::bad_request("the destination is missing"));
    }
    let mut dest = decode(raw)?;
    if raw.contains("://")
        && let Some(query) = Params::without_token(uri.query())
    {
        dest.push('?');
        dest.push_str(&query);
    }
    Ok(dest)
}

/// An empty `200 OK`.
pub(crate) fn ok() -> Response {
    StatusCode::OK.into_response()
}
