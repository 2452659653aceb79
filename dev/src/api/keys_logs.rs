//! Signing keys and logs.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::filter::Filter;
use crate::query::{Params, cursor, page_size};
use crate::state::Shared;
use crate::views;

/// Page size of the logs (default and maximum).
const PAGE: usize = 100;

/// `GET /v2/keys`
pub(crate) async fn keys(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let store = shared.lock();
    Json(json!({ "current": store.keys.current, "next": store.keys.next }))
}

/// `POST /v2/keys/rotate`: the next key becomes current, a new next key is
/// made.
pub(crate) async fn rotate(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut store = shared.lock();
    store.keys.rotate();
    Json(json!({ "current": store.keys.current, "next": store.keys.next }))
}

const STATES: &[&str] = &[
    "CREATED",
    "ACTIVE",
    "RETRY",
    "ERROR",
    "IN_PROGRESS",
    "DELIVERED",
    "FAILED",
    "CANCEL_REQUESTED",
    "CANCELLED",
];

/// `GET /v2/logs`: newest first.
pub(crate) async fn logs(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let filter = Filter::from_params(&params)?;
    let count = page_size(&params, PAGE)?;
    let before = cursor(&params)?.unwrap_or(u64::MAX);
    let state = params.one("state");
    if let Some(s) = state
        && !STATES.contains(&s)
    {
        return Err(ApiError::bad_request(format!("invalid `state` `{s}`")));
    }
    let store = shared.lock();
    let mut matching = store.logs.iter().rev().filter(|r| {
        r.seq < before
            && state.is_none_or(|s| r.state.selected_by(s))
            && filter.matches(&r.info, r.time, r.reply.as_ref().map(|x| x.status))
    });
    let page: Vec<_> = matching.by_ref().take(count).collect();
    let more = matching.next().is_some();
    let mut answer =
        json!({ "logs": page.iter().map(|r| views::log_entry(r)).collect::<Vec<_>>() });
    if more && let Some(last) = page.last() {
        answer["cursor"] = json!(last.seq.to_string());
    }
    Ok(Json(answer))
}
