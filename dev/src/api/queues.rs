//! Queues: upsert, list, look up, remove, pause, resume.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::{json_body, ok};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::model::Queue;
use crate::options::{invalid_queue, valid_name};
use crate::state::Shared;
use crate::views;

/// Largest parallelism a queue may have.
const MAX_PARALLELISM: u32 = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Upsert {
    queue_name: String,
    #[serde(default)]
    parallelism: Option<u32>,
    #[serde(default)]
    paused: Option<bool>,
}

fn checked(name: &str) -> ApiResult<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(invalid_queue(name))
    }
}

/// `POST /v2/queues`
pub(crate) async fn upsert(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Response> {
    let req: Upsert = json_body(&body)?;
    checked(&req.queue_name)?;
    let parallelism = req.parallelism.unwrap_or(1);
    if parallelism == 0 {
        return Err(ApiError::bad_request("`parallelism` must be at least 1"));
    }
    if parallelism > MAX_PARALLELISM {
        return Err(ApiError::limit(format!(
            "parallelism {parallelism} exceeds the limit of {MAX_PARALLELISM}"
        )));
    }
    {
        let mut store = shared.lock();
        let now = now_ms();
        store.ensure_queue(&req.queue_name, now)?;
        if let Some(q) = store.queues.get_mut(&req.queue_name) {
            q.parallelism = parallelism;
            if let Some(paused) = req.paused {
                q.paused = paused;
            }
            q.updated_at = now;
        }
        store.queue_updated(&req.queue_name);
    }
    shared.dispatch.notify_one();
    Ok(ok())
}

/// `GET /v2/queues`: one counter looked up per queue (no scan of the
/// messages), the answer built once the store is released.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let queues: Vec<(Queue, usize)> = {
        let store = shared.lock();
        store
            .queues
            .values()
            .map(|q| (q.clone(), store.queue_lag(&q.name)))
            .collect()
    };
    Json(Value::Array(
        queues
            .iter()
            .map(|(q, lag)| views::queue(q, *lag))
            .collect(),
    ))
}

/// `GET /v2/queues/{queueName}`
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    checked(&name)?;
    let store = shared.lock();
    let q = store
        .queues
        .get(&name)
        .ok_or_else(|| ApiError::not_found(format!("queue `{name}` not found")))?;
    Ok(Json(views::queue(q, store.queue_lag(&name))))
}

/// `DELETE /v2/queues/{queueName}`: its waiting messages are cancelled.
pub(crate) async fn remove(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    checked(&name)?;
    let mut store = shared.lock();
    if !store.queues.contains_key(&name) {
        return Err(ApiError::not_found(format!("queue `{name}` not found")));
    }
    store.delete_queue(&name);
    Ok(ok())
}

fn set_paused(shared: &Shared, name: &str, paused: bool) -> ApiResult<Response> {
    checked(name)?;
    {
        let mut store = shared.lock();
        let q = store
            .queues
            .get_mut(name)
            .ok_or_else(|| ApiError::not_found(format!("queue `{name}` not found")))?;
        q.paused = paused;
        q.updated_at = now_ms();
        store.queue_updated(name);
    }
    shared.dispatch.notify_one();
    Ok(ok())
}

/// `POST /v2/queues/{queueName}/pause`
pub(crate) async fn pause(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    set_paused(&shared, &name, true)
}

/// `POST /v2/queues/{queueName}/resume`
pub(crate) async fn resume(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    set_paused(&shared, &name, false)
}
