//! Schedules: create or replace, list, look up, remove, pause, resume.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{decode, destination, ok, split_path};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::model::{Payload, Schedule};
use crate::options::{self, Purpose, is_url, schedule_headers, valid_name};
use crate::scheduler::{next_time, parse_cron};
use crate::state::Shared;
use crate::views;

/// `GET /v2/schedules`: the answer (bodies included) built once the store
/// is released.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let schedules: Vec<Schedule> = shared.lock().schedules.values().cloned().collect();
    Json(Value::Array(
        schedules.iter().map(views::schedule).collect(),
    ))
}

/// Everything under `/v2/schedules/`: `POST {destination}` creates,
/// `GET`/`DELETE {scheduleId}` read and remove, `PATCH {scheduleId}/pause`
/// and `/resume` pause and resume. (One route, because a destination may
/// contain slashes.)
pub(crate) async fn dispatch(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (_, raw) = split_path(&uri, 2);
    if method == Method::POST {
        return create(&shared, &peer, &uri, raw, &headers, body);
    }
    let (id, action) = match raw.split_once('/') {
        Some((id, action)) => (decode(id)?, Some(action)),
        None => (decode(raw)?, None),
    };
    match (method, action) {
        (Method::GET, None) => {
            let s = find(&shared.lock().schedules, &id)?.clone();
            Ok(Json(views::schedule(&s)).into_response())
        }
        (Method::DELETE, None) => {
            let removed = shared.lock().schedules.remove(&id);
            removed.ok_or_else(|| not_found(&id))?;
            shared.schedules_changed.notify_one();
            Ok(ok())
        }
        (Method::PATCH, Some(action @ ("pause" | "resume"))) => {
            {
                let mut store = shared.lock();
                let s = store.schedules.get_mut(&id).ok_or_else(|| not_found(&id))?;
                s.paused = action == "pause";
                if !s.paused {
                    s.next_time = next_time(&s.cron, now_ms());
                }
            }
            shared.schedules_changed.notify_one();
            Ok(ok())
        }
        (_, Some(_)) => Err(ApiError::not_found(format!(
            "no such endpoint: {}",
            uri.path()
        ))),
        _ => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        )),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("schedule `{id}` not found"))
}

fn find<'a>(schedules: &'a BTreeMap<String, Schedule>, id: &str) -> ApiResult<&'a Schedule> {
    schedules.get(id).ok_or_else(|| not_found(id))
}

/// `POST /v2/schedules/{destination}`
fn create(
    shared: &Shared,
    peer: &SocketAddr,
    uri: &Uri,
    raw: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let dest = destination(uri, raw)?;
    if !is_url(&dest) && !valid_name(&dest) {
        return Err(ApiError::bad_request(format!(
            "`{dest}` is neither an http(s) URL nor a valid URL group name"
        )));
    }
    let sh = schedule_headers(headers)?;
    let cron_seconds = shared.lock().config.cron_seconds;
    let cron = parse_cron(&sh.cron, cron_seconds)?;
    let opts = Arc::new(options::parse(headers, Purpose::Schedule)?);
    let body = Payload::copied(&body);
    let now = now_ms();
    let id = sh.schedule_id.unwrap_or_else(|| new_id("scd_"));
    {
        let mut store = shared.lock();
        let existing = store.schedules.get(&id).map(|s| (s.created_at, s.paused));
        if existing.is_none() && store.schedules.len() >= store.config.limits.max_schedules {
            return Err(ApiError::limit(format!(
                "schedule limit reached ({})",
                store.config.limits.max_schedules
            )));
        }
        let (created_at, paused) = existing.unwrap_or((now, false));
        let next = next_time(&cron, now);
        store.schedules.insert(
            id.clone(),
            Schedule {
                id: id.clone(),
                cron_text: sh.cron,
                cron,
                destination: dest,
                queue: sh.queue,
                created_at,
                caller_ip: peer.ip().to_string(),
                opts,
                body,
                paused,
                last_time: None,
                next_time: next,
                last_states: BTreeMap::new(),
                error: None,
            },
        );
    }
    shared.schedules_changed.notify_one();
    Ok(Json(json!({ "scheduleId": id })).into_response())
}
