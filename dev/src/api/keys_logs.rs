//! Signing keys and logs.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::filter::{Endpoint, Selection};
use crate::query::{cursor, page_size};
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

/// `GET /v2/logs`: newest first, the list under `logs`.
pub(crate) async fn logs(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    log_page(&shared, Endpoint::Logs, query.as_deref(), &headers, "logs")
}

/// `GET /v2/events`: the same list under `events`, the path both official
/// SDKs call.
pub(crate) async fn events(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    log_page(
        &shared,
        Endpoint::Events,
        query.as_deref(),
        &headers,
        "events",
    )
}

/// One page of log records, newest first, under `key`; `cursor` only when
/// there is a next page (no field at all on the last one). A filter looks
/// at no more than [`MAX_SCAN`](crate::store::MAX_SCAN) records per page: a
/// page may then be short, even empty, with a cursor to go on from.
fn log_page(
    shared: &Shared,
    endpoint: Endpoint,
    query: Option<&str>,
    headers: &HeaderMap,
    key: &str,
) -> ApiResult<Json<Value>> {
    let Selection { params, filter, .. } = Selection::read(endpoint, query, headers, &[])?;
    let count = page_size(&params, PAGE)?;
    let before = cursor(&params)?;
    // The SDKs spell it `CANCELED`.
    let state = params
        .one("state")
        .map(|s| if s == "CANCELED" { "CANCELLED" } else { s });
    if let Some(s) = state
        && !STATES.contains(&s)
    {
        return Err(ApiError::bad_request(format!(
            "invalid `state` `{s}`; use one of {}",
            STATES.join(", ")
        )));
    }
    // Under the lock, only the page's records are picked (cheap clones);
    // the answer, bodies in base64, is built once it is released.
    let page = shared.lock().log_page(before, count, |r| {
        state.is_none_or(|s| r.state.selected_by(s))
            && filter.matches(&r.info, r.time, r.reply.as_ref().map(|x| x.status))
    });
    let mut answer = serde_json::Map::new();
    answer.insert(
        key.to_owned(),
        page.items.iter().map(views::log_entry).collect(),
    );
    if let Some(next) = page.next {
        answer.insert("cursor".into(), json!(next.to_string()));
    }
    Ok(Json(Value::Object(answer)))
}
