//! URL groups (`topics` in the paths): list, look up, remove, and add or
//! remove endpoints.

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
use crate::model::{Endpoint, UrlGroup};
use crate::options::{is_url, valid_name};
use crate::state::Shared;
use crate::views;

#[derive(Deserialize)]
struct EndpointIn {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Endpoints {
    endpoints: Vec<EndpointIn>,
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("URL group `{name}` not found"))
}

/// `GET /v2/topics`: the answer built once the store is released.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let groups: Vec<UrlGroup> = shared.lock().groups.values().cloned().collect();
    Json(Value::Array(groups.iter().map(views::url_group).collect()))
}

/// `GET /v2/topics/{urlGroupName}`
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let group = shared.lock().groups.get(&name).cloned();
    group
        .map(|g| Json(views::url_group(&g)))
        .ok_or_else(|| not_found(&name))
}

/// `DELETE /v2/topics/{urlGroupName}`
pub(crate) async fn remove(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    shared
        .lock()
        .groups
        .remove(&name)
        .ok_or_else(|| not_found(&name))?;
    Ok(ok())
}

/// `POST /v2/topics/{urlGroupName}/endpoints`: creates the group on demand;
/// an endpoint with a URL already in the group is updated, not repeated.
pub(crate) async fn add_endpoints(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    if !valid_name(&name) {
        return Err(ApiError::bad_request(format!(
            "invalid URL group name `{name}`; allowed characters are letters, digits, `-`, `.` and `_`"
        )));
    }
    let req: Endpoints = json_body(&body)?;
    if req.endpoints.is_empty() {
        return Err(ApiError::bad_request("`endpoints` is empty"));
    }
    let mut new = Vec::with_capacity(req.endpoints.len());
    for e in req.endpoints {
        let url = e
            .url
            .ok_or_else(|| ApiError::bad_request("every endpoint needs a `url`"))?;
        if !is_url(&url) || url::Url::parse(&url).is_err() {
            return Err(ApiError::bad_request(format!(
                "`{url}` is not an http:// or https:// URL"
            )));
        }
        new.push(Endpoint { name: e.name, url });
    }
    let mut store = shared.lock();
    let limits = store.config.limits.clone();
    let now = now_ms();
    if !store.groups.contains_key(&name) && store.groups.len() >= limits.max_url_groups {
        return Err(ApiError::limit(format!(
            "URL group limit reached ({})",
            limits.max_url_groups
        )));
    }
    // The group is created (or changed) only once the endpoints fit.
    let mut endpoints = store
        .groups
        .get(&name)
        .map(|g| g.endpoints.clone())
        .unwrap_or_default();
    for e in new {
        match endpoints.iter_mut().find(|x| x.url == e.url) {
            Some(existing) => existing.name = e.name.or(existing.name.take()),
            None => endpoints.push(e),
        }
    }
    if endpoints.len() > limits.max_endpoints_per_group {
        return Err(ApiError::limit(format!(
            "a URL group holds at most {} endpoints",
            limits.max_endpoints_per_group
        )));
    }
    let group = store
        .groups
        .entry(name.clone())
        .or_insert_with(|| UrlGroup {
            name,
            created_at: now,
            updated_at: now,
            endpoints: Vec::new(),
        });
    group.endpoints = endpoints;
    group.updated_at = now;
    Ok(ok())
}

/// `DELETE /v2/topics/{urlGroupName}/endpoints`: by name or URL; a group
/// left empty is removed.
pub(crate) async fn remove_endpoints(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: Endpoints = json_body(&body)?;
    let mut store = shared.lock();
    let group = store
        .groups
        .get_mut(&name)
        .ok_or_else(|| not_found(&name))?;
    group.endpoints.retain(|e| {
        !req.endpoints.iter().any(|r| {
            (r.name.is_some() && r.name == e.name) || r.url.as_ref().is_some_and(|u| *u == e.url)
        })
    });
    group.updated_at = now_ms();
    if group.endpoints.is_empty() {
        store.groups.remove(&name);
    }
    Ok(ok())
}
