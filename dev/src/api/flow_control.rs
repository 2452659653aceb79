//! Flow control keys and the global parallelism.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::ok;
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::model::{Counts, FlowKey};
use crate::options::{check_flow, flow_period_secs};
use crate::query::Params;
use crate::state::Shared;
use crate::store::Store;
use crate::views;

fn not_found(key: &str) -> ApiError {
    ApiError::not_found(format!("flow control key `{key}` not found"))
}

/// Key `f` with its running and waiting message counts (counters kept by
/// the store: no scan of the messages).
fn with_counts(store: &Store, f: &FlowKey) -> (FlowKey, Counts) {
    (f.clone(), store.flow_counts(&f.key))
}

fn view((f, counts): &(FlowKey, Counts)) -> Value {
    views::flow_key(f, counts.running, counts.waiting)
}

/// `GET /v2/flowControl`: the answer built once the store is released.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let keys: Vec<(FlowKey, Counts)> = {
        let store = shared.lock();
        store
            .flow
            .values()
            .map(|f| with_counts(&store, f))
            .collect()
    };
    Json(Value::Array(keys.iter().map(view).collect()))
}

/// `GET /v2/flowControl/{flowControlKey}`
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = {
        let store = shared.lock();
        let f = store.flow.get(&key).ok_or_else(|| not_found(&key))?;
        with_counts(&store, f)
    };
    Ok(Json(view(&key)))
}

/// Applies `change` to key `key` (created first when `create`), then
/// wakes the dispatcher.
fn update(
    shared: &Shared,
    key: &str,
    create: bool,
    change: impl FnOnce(&mut FlowKey, i64),
) -> ApiResult<Response> {
    {
        let mut store = shared.lock();
        let now = now_ms();
        let f = if create {
            store.flow_key(key, now)?
        } else {
            store.flow.get_mut(key).ok_or_else(|| not_found(key))?
        };
        change(f, now);
        store.flow_updated(key);
    }
    shared.dispatch.notify_one();
    Ok(ok())
}

/// `POST /v2/flowControl/{flowControlKey}/pause` (creates an unknown key,
/// so messages can be held back before they arrive).
pub(crate) async fn pause(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    update(&shared, &key, true, |f, _| f.paused = true)
}

/// `POST /v2/flowControl/{flowControlKey}/resume`
pub(crate) async fn resume(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    update(&shared, &key, false, |f, _| f.paused = false)
}

/// `POST /v2/flowControl/{flowControlKey}/pin`: fixes the given settings
/// and starts a new rate period.
pub(crate) async fn pin(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(query.as_deref());
    let parallelism: Option<u32> = params.parsed("parallelism")?;
    let rate: Option<u32> = params.parsed("rate")?;
    let period = params
        .one("period")
        .map(|p| {
            flow_period_secs(p).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid `period`: `{p}`; a number of seconds or a duration such as `1h30m3s`"
                ))
            })
        })
        .transpose()?;
    check_flow("flow control pin", parallelism, rate, period)?;
    update(&shared, &key, true, |f, now| {
        if let Some(p) = parallelism {
            f.parallelism = Some(p);
            f.pinned_parallelism = true;
        }
        if rate.is_some() || period.is_some() {
            if let Some(r) = rate {
                f.rate = Some(r);
            }
            if let Some(p) = period {
                f.period_secs = p;
            }
            f.pinned_rate = true;
        }
        f.rate_count = 0;
        f.period_start = now;
    })
}

/// `POST /v2/flowControl/{flowControlKey}/unpin`
pub(crate) async fn unpin(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(query.as_deref());
    let parallelism = params.parsed::<bool>("parallelism")?.unwrap_or(false);
    let rate = params.parsed::<bool>("rate")?.unwrap_or(false);
    update(&shared, &key, false, |f, _| {
        if parallelism {
            f.pinned_parallelism = false;
        }
        if rate {
            f.pinned_rate = false;
        }
    })
}

/// `POST /v2/flowControl/{flowControlKey}/resetRate`
pub(crate) async fn reset_rate(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    update(&shared, &key, false, |f, now| {
        f.rate_count = 0;
        f.period_start = now;
    })
}

/// `GET /v2/globalParallelism`
pub(crate) async fn global_parallelism(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let store = shared.lock();
    let running = store.in_flight();
    Json(json!({
        "parallelismMax": store.config.limits.max_in_flight,
        "parallelismCount": running,
    }))
}
