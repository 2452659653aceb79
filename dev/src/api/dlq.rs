//! The dead letter queue: list, look up, delete and retry, one by one or
//! in cursor pages.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ok;
use crate::error::{ApiError, ApiResult};
use crate::filter::{Endpoint, Filter, Selection};
use crate::query::{cursor, page_size};
use crate::state::Shared;
use crate::{telemetry, views};

/// Page size of the DLQ endpoints (default and maximum).
const PAGE: usize = 100;

/// The `Upstash-Retries` override of a retry.
fn retries_override(headers: &HeaderMap) -> ApiResult<Option<u32>> {
    headers
        .get("upstash-retries")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| ApiError::bad_request("header `Upstash-Retries` is not a number"))
        })
        .transpose()
}

fn with_cursor(mut answer: Value, next: Option<u64>) -> Value {
    if let Some(c) = next {
        answer["cursor"] = json!(c.to_string());
    }
    answer
}

/// Which DLQ entries a list, bulk delete or bulk retry acts on: the
/// `dlqIds` given (the other filters and the cursor then ignored), or up
/// to `count` entries matching the filters (every entry, when asked for)
/// after `cursor`. See [`Selection::read`] for what is refused.
struct Page {
    ids: Vec<String>,
    filter: Filter,
    count: usize,
    after: Option<u64>,
}

impl Page {
    fn read(
        endpoint: Endpoint,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> ApiResult<Self> {
        let Selection {
            params,
            filter,
            ids,
            ..
        } = Selection::read(endpoint, query, headers, body)?;
        let count = page_size(&params, PAGE)?;
        let after = if ids.is_empty() {
            cursor(&params)?
        } else {
            None
        };
        Ok(Self {
            ids,
            filter,
            count,
            after,
        })
    }
}

/// `GET /v2/dlq`: oldest first; with `source=workflow`, the workflow DLQ. A filter looks at no more than
/// [`MAX_SCAN`](crate::store::MAX_SCAN) entries per page: a page may then be
/// short, even empty, with a cursor to go on from (so may a bulk delete or
/// retry by filter).
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    // workflow-js lists the workflow DLQ here.
    if crate::query::Params::parse(query.as_deref()).has("source") {
        return super::workflows::dlq_list_page(&shared, query.as_deref(), &headers);
    }
    let Page {
        ids,
        filter,
        count,
        after,
    } = Page::read(Endpoint::ListDlq, query.as_deref(), &headers, &[])?;
    // Under the lock, only the page's entries are picked (cheap clones);
    // the answer is built once it is released.
    let page = shared.lock().dlq_page(&ids, &filter, after, count);
    let messages: Vec<Value> = page.items.iter().map(views::dlq_message).collect();
    Ok(Json(with_cursor(
        json!({ "messages": messages }),
        page.next,
    )))
}

/// `DELETE /v2/dlq`: by `dlqIds` (unknown ones are skipped), or up to
/// `count` entries matching the filters after `cursor`; filters from the
/// query and a JSON body.
pub(crate) async fn delete_many(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let Page {
        ids,
        filter,
        count,
        after,
    } = Page::read(Endpoint::DeleteDlq, query.as_deref(), &headers, &body)?;
    let mut store = shared.lock();
    let page = store.dlq_select(&ids, &filter, after, count);
    let next = page.next;
    let ids: Vec<String> = page
        .items
        .iter()
        .filter_map(|seq| store.dlq.get(seq).map(|e| e.dlq_id.clone()))
        .collect();
    let deleted = ids.iter().filter(|id| store.dlq_remove(id).is_ok()).count();
    Ok(Json(with_cursor(json!({ "deleted": deleted }), next)))
}

/// `POST /v2/dlq/retry`: by `dlqIds` (all must be in the DLQ), or up to
/// `count` entries matching the filters after `cursor`; all of them or
/// none. Answers `201` with one result per retried entry.
pub(crate) async fn retry_many(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Page {
        ids,
        filter,
        count,
        after,
    } = Page::read(Endpoint::RetryDlq, query.as_deref(), &headers, &body)?;
    let retries = retries_override(&headers)?;
    let (responses, next) = {
        let mut store = shared.lock();
        for id in &ids {
            store.dlq_entry(id).map_err(|_| {
                ApiError::not_found(format!(
                    "DLQ message `{id}` is not in the DLQ; nothing was retried"
                ))
            })?;
        }
        let page = store.dlq_select(&ids, &filter, after, count);
        (store.dlq_retry_all(&page.items, retries)?, page.next)
    };
    shared.dispatch.notify_one();
    for published in &responses {
        telemetry::retried_from_dlq(published, None);
    }
    let answer = with_cursor(json!({ "responses": responses }), next);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /v2/dlq/{dlqId}`
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let entry = shared.lock().dlq_entry(&id)?.clone();
    Ok(Json(views::dlq_message(&entry)))
}

/// `DELETE /v2/dlq/{dlqId}`
pub(crate) async fn delete_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    shared.lock().dlq_remove(&id)?;
    Ok(ok())
}

/// `POST /v2/dlq/retry/{dlqId}`: answers `201` with the new message.
pub(crate) async fn retry_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let retries = retries_override(&headers)?;
    let published = {
        let mut store = shared.lock();
        let page = store.dlq_select(std::slice::from_ref(&id), &Filter::default(), None, 1);
        let seq = page
            .items
            .first()
            .copied()
            .ok_or_else(|| ApiError::not_found(format!("DLQ message `{id}` not found")))?;
        store.dlq_retry(seq, retries)?
    };
    shared.dispatch.notify_one();
    telemetry::retried_from_dlq(&published, Some(&id));
    Ok((StatusCode::CREATED, Json(json!(published))).into_response())
}
