//! Publish, enqueue, batch, look up and cancel messages; bulk actions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{decode, destination, json_body, split_path};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::filter::{Endpoint, Filter, NOT_FILTERS, Selection};
use crate::model::Payload;
use crate::options::{self, Purpose, invalid_queue, valid_name};
use crate::query::{Params, cursor};
use crate::state::Shared;
use crate::store::{NewMessages, Outcome};
use crate::{telemetry, views};

/// `POST /v2/publish/{destination}`
pub(crate) async fn publish(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (_, raw) = split_path(&uri, 2);
    let dest = destination(&uri, raw)?;
    let opts = Arc::new(options::parse(&headers, Purpose::Publish)?);
    send(&shared, &dest, None, opts, Payload::copied(&body), &peer)
}

/// `POST /v2/enqueue/{queueName}/{destination}`
pub(crate) async fn enqueue(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (head, raw) = split_path(&uri, 3);
    let queue = decode(head.get(2).copied().unwrap_or_default())?;
    if !valid_name(&queue) {
        return Err(invalid_queue(&queue));
    }
    let dest = destination(&uri, raw)?;
    let opts = Arc::new(options::parse(&headers, Purpose::Enqueue)?);
    send(
        &shared,
        &dest,
        Some(&queue),
        opts,
        Payload::copied(&body),
        &peer,
    )
}

fn send(
    shared: &Shared,
    dest: &str,
    queue: Option<&str>,
    opts: Arc<crate::model::Options>,
    body: Arc<Payload>,
    peer: &SocketAddr,
) -> ApiResult<Json<Value>> {
    let outcome = shared.lock().publish(&NewMessages {
        destination: dest,
        queue,
        opts,
        body,
        schedule_id: None,
        caller_ip: &peer.ip().to_string(),
    })?;
    shared.dispatch.notify_one();
    telemetry::accepted(&outcome, dest, queue, None);
    Ok(Json(outcome.to_json()))
}

/// One entry of a batch.
#[derive(Deserialize)]
struct BatchEntry {
    destination: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    queue: Option<String>,
}

/// `POST /v2/batch`: every entry is checked before any is queued; if one
/// is refused, nothing is queued and the error names its index (from 0).
pub(crate) async fn batch(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let entries: Vec<BatchEntry> = json_body(&body)?;
    let refused = |i: usize, e: ApiError| {
        ApiError::new(
            e.status,
            format!("batch entry {i}: {}; nothing was queued", e.message),
        )
    };
    let mut parsed = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let mut headers = HeaderMap::new();
        for (name, value) in &entry.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                refused(
                    i,
                    ApiError::bad_request(format!("invalid header name `{name}`")),
                )
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                refused(
                    i,
                    ApiError::bad_request(format!("invalid value for header `{name}`")),
                )
            })?;
            headers.append(name, value);
        }
        if let Some(q) = &entry.queue
            && !valid_name(q)
        {
            return Err(refused(i, invalid_queue(q)));
        }
        let body = Payload::copied(entry.body.unwrap_or_default().as_bytes());
        let opts = options::parse(&headers, Purpose::Publish).map_err(|e| refused(i, e))?;
        parsed.push((entry.destination, entry.queue, Arc::new(opts), body));
    }
    let caller_ip = peer.ip().to_string();
    let requests: Vec<NewMessages<'_>> = parsed
        .iter()
        .map(|(dest, queue, opts, body)| NewMessages {
            destination: dest,
            queue: queue.as_deref(),
            opts: Arc::clone(opts),
            body: Arc::clone(body),
            schedule_id: None,
            caller_ip: &caller_ip,
        })
        .collect();
    let outcomes = shared
        .lock()
        .publish_all(&requests)
        .map_err(|(i, e)| refused(i, e))?;
    shared.dispatch.notify_one();
    for (request, outcome) in requests.iter().zip(&outcomes) {
        telemetry::accepted(outcome, request.destination, request.queue, None);
    }
    Ok(Json(Value::Array(
        outcomes.iter().map(Outcome::to_json).collect(),
    )))
}

/// `GET /v2/messages/{messageId}`
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let info = shared
        .lock()
        .messages
        .get(&id)
        .map(|slot| Arc::clone(&slot.info))
        .ok_or_else(|| ApiError::not_found(format!("message `{id}` not found")))?;
    Ok(Json(views::message(&info)))
}

/// `DELETE /v2/messages/{messageId}`
pub(crate) async fn cancel_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    if !shared.lock().cancel(&id) {
        return Err(ApiError::not_found(format!("message `{id}` not found")));
    }
    shared.dispatch.notify_one();
    Ok((StatusCode::ACCEPTED, Json(json!({ "cancelled": 1 }))).into_response())
}

/// `DELETE /v2/messages`: by `messageIds`, or by filters, from the query
/// and a JSON body; at most `count` (all the matching ones when not
/// given). Without a filter, only when asked for on purpose (see
/// [`Selection::read`]). A filter-based cancel is recorded as a finished
/// bulk action; it goes through the messages in steps of at most
/// [`MAX_SCAN`](crate::store::MAX_SCAN), releasing the store between them.
pub(crate) async fn cancel_many(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Selection {
        params,
        filter,
        ids,
        ..
    } = Selection::read(Endpoint::CancelMessages, query.as_deref(), &headers, &body)?;
    let asynchronous = params.parsed::<bool>("async")?.unwrap_or(false);
    let limit = match params.parsed::<usize>("count")? {
        Some(0) => return Err(ApiError::bad_request("`count` must be at least 1")),
        Some(n) => n,
        None => usize::MAX,
    };
    let answer = if ids.is_empty() {
        let created_at = now_ms();
        let (cancelled, _) = cancel_by_filter(&shared, &filter, limit).await;
        let cancelled = cancelled as u64;
        let action = shared.lock().record_bulk_action(
            params.grouped_except(NOT_FILTERS),
            cancelled,
            created_at,
        );
        if asynchronous {
            json!({ "cancelled": cancelled, "actionId": action })
        } else {
            json!({ "cancelled": cancelled })
        }
    } else {
        let mut store = shared.lock();
        let cancelled = ids.iter().take(limit).filter(|id| store.cancel(id)).count();
        json!({ "cancelled": cancelled })
    };
    shared.dispatch.notify_one();
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// Cancels up to `limit` messages matching `filter`, oldest first, in steps
/// of at most [`MAX_SCAN`](crate::store::MAX_SCAN) messages looked at, the
/// store released (and other tasks let run) between them; with the number
/// cancelled and of steps.
async fn cancel_by_filter(shared: &Shared, filter: &Filter, limit: usize) -> (usize, usize) {
    let mut cancelled = 0usize;
    let mut steps = 0;
    let mut after = None;
    while cancelled < limit {
        if steps > 0 {
            tokio::task::yield_now().await;
        }
        steps += 1;
        let (n, next) = shared.lock().cancel_where(filter, limit - cancelled, after);
        cancelled += usize::try_from(n).unwrap_or(usize::MAX);
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    (cancelled, steps)
}

/// `GET /v2/bulkActions`: newest first.
pub(crate) async fn list_bulk_actions(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let count = match params.parsed::<usize>("count")? {
        Some(0) => return Err(ApiError::bad_request("`count` must be at least 1")),
        Some(n) => n.min(1000),
        None => 100,
    };
    let after = cursor(&params)?;
    let state = params.one("state");
    if let Some(s) = state
        && !matches!(s, "IN_PROGRESS" | "FINISHED")
    {
        return Err(ApiError::bad_request(format!(
            "invalid `state` `{s}`; use IN_PROGRESS or FINISHED"
        )));
    }
    let store = shared.lock();
    let end = after.unwrap_or(u64::MAX);
    let mut scanned = store.bulk_actions.range(..end).rev();
    let page: Vec<_> = scanned.by_ref().take(count).collect();
    let more = scanned.next().is_some();
    let actions: Vec<Value> = page
        .iter()
        .filter(|_| state != Some("IN_PROGRESS"))
        .map(|(_, a)| views::bulk_action(a))
        .collect();
    let mut answer = json!({ "bulkActions": actions });
    if more && let Some((seq, _)) = page.last() {
        answer["cursor"] = json!(seq.to_string());
    }
    Ok(Json(answer))
}

/// `GET /v2/bulkActions/{actionId}`
pub(crate) async fn get_bulk_action(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = shared.lock();
    store
        .bulk_action(&id)
        .map(|a| Json(views::bulk_action(a)))
        .ok_or_else(|| ApiError::not_found(format!("bulk action `{id}` not found")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{Config, Limits};
    use crate::model::Options;
    use crate::signing::SigningKeys;
    use crate::store::{MAX_SCAN, Store};

    /// A store holding `n` delayed messages, the first half labelled `a`.
    fn shared(n: usize) -> Shared {
        let config = Config {
            retry_delay_scale: 1.0,
            limits: Limits::default(),
            region: None,
            cron_seconds: false,
        };
        let store = Store::new(config, SigningKeys::generate());
        let http = crate::delivery::client(std::time::Duration::from_secs(1)).unwrap();
        let shared = Shared::new(store, http, "token".into());
        for i in 0..n {
            let opts = Options {
                delay_ms: Some(3_600_000),
                labels: if i < n / 2 {
                    vec!["a".into()]
                } else {
                    Vec::new()
                },
                ..Options::default()
            };
            shared
                .lock()
                .publish(&NewMessages {
                    destination: "http://127.0.0.1:1/x",
                    queue: None,
                    opts: Arc::new(opts),
                    body: Arc::default(),
                    schedule_id: None,
                    caller_ip: "127.0.0.1",
                })
                .unwrap();
        }
        shared
    }

    fn filter(query: &str) -> Filter {
        let query = (!query.is_empty()).then_some(query);
        Selection::read(Endpoint::CancelMessages, query, &HeaderMap::new(), &[])
            .unwrap()
            .filter
    }

    #[tokio::test]
    async fn a_cancel_by_filter_goes_through_every_step_and_stops_at_its_limit() {
        let s = shared(5000);
        // The 2,500 oldest are labelled: five steps of 1,000 look at all.
        assert_eq!(MAX_SCAN, 1000);
        assert_eq!(
            cancel_by_filter(&s, &filter("label=a"), usize::MAX).await,
            (2500, 5)
        );
        assert_eq!(s.lock().messages.len(), 2500);
        // The limit reached, no further step.
        assert_eq!(
            cancel_by_filter(&s, &filter("count=1000"), 1000).await,
            (1000, 1)
        );
        assert_eq!(
            cancel_by_filter(&s, &filter("count=1"), 1200).await,
            (1200, 2)
        );
        assert_eq!(s.lock().messages.len(), 300);
        assert_eq!(
            cancel_by_filter(&s, &filter("count=1"), usize::MAX).await,
            (300, 1)
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn other_tasks_run_between_the_steps_of_a_cancel() {
        let s = Arc::new(shared(5000));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = {
            let (s, done) = (Arc::clone(&s), Arc::clone(&done));
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    seen.push(s.lock().messages.len());
                    tokio::task::yield_now().await;
                }
                seen
            })
        };
        let (cancelled, steps) = cancel_by_filter(&s, &filter("label=a"), usize::MAX).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!((cancelled, steps), (2500, 5));
        let seen = seen.await.unwrap();
        // The first step ran before anything else, and the others let the
        // task run in between.
        assert_eq!(seen.first(), Some(&4000), "{seen:?}");
        assert!(seen.contains(&3000), "{seen:?}");
    }
}
