//! The workflow REST surface over the runs the server has seen: trigger,
//! cancel, logs, the workflow DLQ, waiters and notify. See
//! [`crate::store::workflow`] for what starts and ends a run.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{destination, json_body, ok, split_path};
use crate::clock::{now_ms, parse_duration};
use crate::error::{ApiError, ApiResult};
use crate::filter::{Endpoint, Selection};
use crate::ids::new_id;
use crate::model::{DlqEntry, Options, Payload};
use crate::options::{self, MAX_DELAY_MS, Purpose, is_url};
use crate::query::{Params, cursor, page_size};
use crate::state::Shared;
use crate::store::NewMessages;
use crate::store::workflow::{
    CREATED_AT_HEADER, INIT_HEADER, RUN_ID_HEADER, Run, STATES, URL_HEADER, WaitRequest, Waited,
    Waiter, check_id, run_id_of, set_header,
};
use crate::views;

/// Runs per page of the logs (default and maximum), as the service pages
/// runs.
const RUNS_PAGE: usize = 10;
/// Entries per page of the workflow DLQ (default and maximum).
const DLQ_PAGE: usize = 100;
/// Entries restarted per call at most, as the service restarts them.
const RESTART_PAGE: usize = 50;
/// How long a wait lasts when the wait request gives no timeout: 7 days,
/// workflow-js's default.
const DEFAULT_WAIT_MS: u64 = 7 * 86_400_000;

// --- Triggering ---------------------------------------------------------------

/// The first call of a new run to `url`: its options from `headers` and
/// `body`, with the workflow headers the service sends (`RunId`,
/// `Init: true`, `Url`, `CreatedAt`, and the labels as `Upstash-Label`).
/// The run id is the caller's `Upstash-Workflow-RunId`, or a new `wfr_...`.
fn first_call(url: &str, headers: &HeaderMap) -> ApiResult<(String, Options)> {
    if !is_url(url) {
        return Err(ApiError::bad_request(format!(
            "the workflow URL `{url}` is not an http:// or https:// URL"
        )));
    }
    url::Url::parse(url)
        .map_err(|e| ApiError::bad_request(format!("invalid workflow URL `{url}`: {e}")))?;
    let mut opts = options::parse(headers, Purpose::Publish)?;
    let run_id = match run_id_of(&opts) {
        Some(id) => check_id("header `Upstash-Workflow-RunId` (run id)", id)?.to_owned(),
        None => new_id("wfr_"),
    };
    set_header(&mut opts, RUN_ID_HEADER, run_id.clone());
    set_header(&mut opts, INIT_HEADER, "true".to_owned());
    set_header(&mut opts, URL_HEADER, url.to_owned());
    set_header(&mut opts, CREATED_AT_HEADER, now_ms().to_string());
    if !opts.labels.is_empty() {
        let labels = opts.labels.join(",");
        set_header(&mut opts, "Upstash-Label", labels);
    }
    Ok((run_id, opts))
}

fn started(run_id: &str, created_at: i64, deduplicated: bool) -> Value {
    json!({
        "workflowRunId": run_id,
        "workflowCreatedAt": created_at,
        "deduplicated": deduplicated,
    })
}

/// `POST /v2/trigger/{workflowUrl}`: one run; its first call is delivered
/// to the workflow URL. A run id already known starts nothing
/// (`deduplicated: true`).
pub(crate) async fn trigger(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (_, raw) = split_path(&uri, 2);
    let url = destination(&uri, raw)?;
    let (run_id, opts) = first_call(&url, &headers)?;
    let answer = {
        let mut store = shared.lock();
        if let Some(run) = store.run(&run_id) {
            started(&run.id, run.created_at, true)
        } else {
            store.publish(&NewMessages {
                destination: &url,
                queue: None,
                opts: Arc::new(opts),
                body: Payload::copied(&body),
                schedule_id: None,
                caller_ip: &peer.ip().to_string(),
            })?;
            let created_at = store.run(&run_id).map_or(0, |r| r.created_at);
            started(&run_id, created_at, false)
        }
    };
    shared.dispatch.notify_one();
    tracing::debug!(target: "qstash_dev::workflows", run = %run_id, url = %url, "workflow triggered");
    Ok(Json(answer))
}

/// One entry of a batch trigger.
#[derive(Deserialize)]
struct TriggerEntry {
    destination: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    headers: HashMap<String, String>,
}

fn header_map(entries: &HashMap<String, String>) -> ApiResult<HeaderMap> {
    let mut headers = HeaderMap::new();
    for (name, value) in entries {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ApiError::bad_request(format!("invalid header name `{name}`")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| ApiError::bad_request(format!("invalid value for header `{name}`")))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// `POST /v2/batch/trigger`: one run per entry, all or none; `201` with
/// one answer per entry, in order.
pub(crate) async fn batch_trigger(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> ApiResult<Response> {
    let entries: Vec<TriggerEntry> = json_body(&body)?;
    let refused = |i: usize, e: ApiError| {
        ApiError::new(
            e.status,
            format!("batch entry {i}: {}; no run was started", e.message),
        )
    };
    let mut calls = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let headers = header_map(&entry.headers).map_err(|e| refused(i, e))?;
        let body = Payload::copied(entry.body.unwrap_or_default().as_bytes());
        let (run_id, opts) = first_call(&entry.destination, &headers).map_err(|e| refused(i, e))?;
        calls.push((entry.destination, run_id, Arc::new(opts), body));
    }
    let caller_ip = peer.ip().to_string();
    let answers = {
        let mut store = shared.lock();
        // A run id known already, or given twice, starts one run only.
        let mut seen = HashSet::new();
        let fresh: Vec<bool> = calls
            .iter()
            .map(|(_, id, _, _)| store.run(id).is_none() && seen.insert(id.clone()))
            .collect();
        let requests: Vec<NewMessages<'_>> = calls
            .iter()
            .zip(&fresh)
            .filter(|(_, fresh)| **fresh)
            .map(|((url, _, opts, body), _)| NewMessages {
                destination: url,
                queue: None,
                opts: Arc::clone(opts),
                body: Arc::clone(body),
                schedule_id: None,
                caller_ip: &caller_ip,
            })
            .collect();
        let index: Vec<usize> = fresh
            .iter()
            .enumerate()
            .filter(|(_, f)| **f)
            .map(|(i, _)| i)
            .collect();
        store
            .publish_all(&requests)
            .map_err(|(i, e)| refused(index.get(i).copied().unwrap_or(i), e))?;
        calls
            .iter()
            .zip(&fresh)
            .map(|((_, id, _, _), fresh)| {
                let created_at = store.run(id).map_or(0, |r| r.created_at);
                started(id, created_at, !fresh)
            })
            .collect::<Vec<Value>>()
    };
    shared.dispatch.notify_one();
    tracing::debug!(target: "qstash_dev::workflows", runs = answers.len(), "workflow batch triggered");
    Ok((StatusCode::CREATED, Json(Value::Array(answers))).into_response())
}

// --- Cancelling ---------------------------------------------------------------

/// `DELETE /v2/workflows/runs/{workflowRunId}`: `cancel=true` (the
/// default) cancels a run still going (400 once it has ended);
/// `cancel=false` is the serving side removing a run that returned, the
/// body being what it returned: a run still going succeeds with it.
pub(crate) async fn cancel_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let id = check_id("workflow run id", &id)?;
    let params = Params::parse(query.as_deref());
    let cancel = match params.one("cancel") {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid `cancel` `{other}`: `true` or `false`"
            )));
        }
    };
    {
        let mut store = shared.lock();
        if cancel {
            if !store.wf_cancel(id)? {
                let state = store.run(id).map_or("ended", |r| r.state.as_str());
                return Err(ApiError::bad_request(format!(
                    "workflow run `{id}` has ended already ({state}); nothing to cancel"
                )));
            }
        } else {
            store.wf_complete(id, String::from_utf8_lossy(&body).into_owned())?;
        }
    }
    shared.dispatch.notify_one();
    tracing::debug!(target: "qstash_dev::workflows", run = %id, cancel, "workflow run removed");
    Ok(ok())
}

/// What the run filters select.
#[derive(Debug, Default)]
struct RunFilter {
    urls: Vec<String>,
    /// `workflowUrl` matches whole (else as a prefix).
    exact: bool,
    run_ids: Vec<String>,
    created_at: Option<i64>,
    /// `workflowRuns`: exactly these `(id, createdAt)`.
    runs: Vec<(String, i64)>,
    state: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    labels: Vec<String>,
    flow_keys: Vec<String>,
    caller_ips: Vec<String>,
    failure_states: Vec<String>,
    /// Runs with a step carried by one of these messages.
    message_ids: Vec<String>,
    /// DLQ entries whose failed call went to one of these URLs.
    call_urls: Vec<String>,
    /// DLQ entries whose failed call was answered with one of these.
    response_statuses: Vec<u16>,
}

impl RunFilter {
    fn read(p: &Params, url_prefix: bool) -> ApiResult<Self> {
        let state = p.one("state").map(str::to_owned);
        if let Some(s) = &state
            && !STATES.contains(&s.as_str())
        {
            return Err(ApiError::bad_request(format!(
                "invalid `state` `{s}`; use one of {}",
                STATES.join(", ")
            )));
        }
        let mut runs = Vec::new();
        for pair in p.list("workflowRuns") {
            let bad = || {
                ApiError::bad_request(format!(
                    "invalid `workflowRuns` entry `{pair}`: `<runId>@<createdAt>` pairs, comma-separated"
                ))
            };
            let (id, at) = pair.rsplit_once('@').ok_or_else(bad)?;
            runs.push((id.to_owned(), at.parse().map_err(|_| bad())?));
        }
        let exact = match p.one("workflowUrlExactMatch") {
            None | Some("false") => !url_prefix,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid `workflowUrlExactMatch` `{other}`: `true` or `false`"
                )));
            }
        };
        let mut run_ids = p.list("workflowRunId");
        run_ids.extend(p.list("workflowRunIds"));
        let mut response_statuses = Vec::new();
        for s in p.list("responseStatus") {
            response_statuses.push(
                s.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid `responseStatus`: `{s}`"))
                })?,
            );
        }
        Ok(Self {
            urls: p.list("workflowUrl"),
            exact,
            run_ids,
            created_at: p.parsed("workflowCreatedAt")?,
            runs,
            state,
            from: p.parsed("fromDate")?,
            to: p.parsed("toDate")?,
            labels: p.list("label"),
            flow_keys: p.list("flowControlKey"),
            caller_ips: p.list("callerIp"),
            failure_states: p.list("failureFunctionState"),
            message_ids: p.list("messageId"),
            call_urls: p.list("url"),
            response_statuses,
        })
    }

    fn url_matches(&self, url: &str) -> bool {
        self.urls.is_empty()
            || self.urls.iter().any(|u| {
                if self.exact {
                    u == url
                } else {
                    url.starts_with(u.as_str())
                }
            })
    }

    /// Whether run `run` passes, judged at `time`.
    fn matches(&self, run: &Run, time: i64) -> bool {
        if !self.runs.is_empty() {
            return self
                .runs
                .iter()
                .any(|(id, at)| *id == run.id && *at == run.created_at);
        }
        let state_ok = self.state.as_deref().is_none_or(|s| {
            s == run.state.as_str() || run.steps.iter().any(|st| st.state.as_str() == s)
        });
        state_ok
            && self.url_matches(&run.url)
            && (self.run_ids.is_empty() || self.run_ids.contains(&run.id))
            && self.created_at.is_none_or(|c| c == run.created_at)
            && self.from.is_none_or(|f| time >= f)
            && self.to.is_none_or(|t| time <= t)
            && (self.labels.is_empty() || run.labels().iter().any(|l| self.labels.contains(l)))
            && (self.flow_keys.is_empty()
                || run
                    .flow_key()
                    .is_some_and(|k| self.flow_keys.iter().any(|w| w == k)))
            && (self.caller_ips.is_empty() || self.caller_ips.contains(&run.caller_ip))
            && (self.failure_states.is_empty()
                || run
                    .failure
                    .as_ref()
                    .is_some_and(|f| self.failure_states.iter().any(|s| s == f.state.as_str())))
            && (self.message_ids.is_empty()
                || run
                    .steps
                    .iter()
                    .any(|st| self.message_ids.contains(&st.message_id)))
    }

    /// Whether workflow DLQ entry `entry` (of run `run`, if remembered)
    /// passes.
    fn matches_entry(&self, entry: &DlqEntry, run: Option<&Run>) -> bool {
        let call = (self.call_urls.is_empty() || self.call_urls.contains(&entry.info.url))
            && (self.response_statuses.is_empty()
                || self.response_statuses.contains(&entry.reply.status));
        call && match run {
            Some(run) => self.matches(run, entry.info.created_at),
            // A run no longer remembered: judged by its failed message.
            None => {
                let opts = &entry.info.opts;
                let id = run_id_of(opts).unwrap_or_default();
                self.failure_states.is_empty()
                    && self.created_at.is_none()
                    && self.runs.is_empty()
                    && self.url_matches(&entry.info.url)
                    && (self.run_ids.is_empty() || self.run_ids.iter().any(|r| r == id))
                    && self.from.is_none_or(|f| entry.info.created_at >= f)
                    && self.to.is_none_or(|t| entry.info.created_at <= t)
                    && (self.labels.is_empty()
                        || opts.labels.iter().any(|l| self.labels.contains(l)))
                    && (self.flow_keys.is_empty()
                        || opts
                            .flow
                            .as_ref()
                            .is_some_and(|f| self.flow_keys.contains(&f.key)))
                    && (self.caller_ips.is_empty()
                        || self.caller_ips.contains(&entry.info.caller_ip))
            }
        }
    }
}

/// `DELETE /v2/workflows/runs`: by `workflowRunIds` (unknown and ended
/// ones skipped), or up to `count` runs still going that the filters
/// select, looked at in steps of [`MAX_SCAN`](crate::store::MAX_SCAN), other requests served in
/// between. Refused without any filter unless `count` asks for every run.
pub(crate) async fn cancel_many(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let Selection { params, ids, .. } =
        Selection::read(Endpoint::CancelRuns, query.as_deref(), &headers, &body)?;
    let limit = match params.parsed::<usize>("count")? {
        Some(0) => return Err(ApiError::bad_request("`count` must be at least 1")),
        Some(n) => n,
        None => usize::MAX,
    };
    let mut cancelled = 0usize;
    if ids.is_empty() {
        let filter = RunFilter::read(&params, true)?;
        cancelled = cancel_by_filter(&shared, &filter, limit).await.0;
    } else {
        let mut store = shared.lock();
        for id in ids.iter().take(limit) {
            // Unknown ids are skipped, as the service skips them.
            if store.wf_cancel(id).unwrap_or(false) {
                cancelled += 1;
            }
        }
    }
    shared.dispatch.notify_one();
    tracing::debug!(target: "qstash_dev::workflows", cancelled, "workflow runs cancelled");
    Ok(Json(json!({ "cancelled": cancelled })))
}

/// Cancels up to `limit` runs still going that `filter` selects, oldest
/// first, in steps of at most [`MAX_SCAN`](crate::store::MAX_SCAN) runs
/// looked at, the store released (and other tasks let run) between them;
/// with the number cancelled and of steps.
async fn cancel_by_filter(shared: &Shared, filter: &RunFilter, limit: usize) -> (usize, usize) {
    let mut cancelled = 0usize;
    let mut steps = 0;
    let mut after = None;
    while cancelled < limit {
        if steps > 0 {
            tokio::task::yield_now().await;
        }
        steps += 1;
        let (n, next) = shared.lock().wf_cancel_where(
            |run| filter.matches(run, run.created_at),
            limit - cancelled,
            after,
        );
        cancelled += n;
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    (cancelled, steps)
}

// --- Logs ---------------------------------------------------------------------

/// `GET /v2/workflows/logs` and `/v2/workflows/events` (what workflow-js
/// reads, with `groupBy=workflowRunId`): runs newest first, with their
/// steps, under `runs`; `cursor` while there is more. A filter looks at no
/// more than [`MAX_SCAN`](crate::store::MAX_SCAN) runs per page: a page may be short, even empty,
/// with a cursor to go on from.
pub(crate) async fn logs(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let Selection { params, .. } =
        Selection::read(Endpoint::RunLogs, query.as_deref(), &headers, &[])?;
    if let Some(g) = params.one("groupBy")
        && g != "workflowRunId"
    {
        return Err(ApiError::bad_request(format!(
            "invalid `groupBy` `{g}`: only `workflowRunId` is served (runs with their steps)"
        )));
    }
    let trim: Option<i64> = params.parsed("trimBody")?;
    if trim.is_some_and(|t| t < -1) {
        return Err(ApiError::bad_request(
            "invalid `trimBody`: -1 (no bodies) or a number of bytes",
        ));
    }
    let count = page_size(&params, RUNS_PAGE)?;
    let before = cursor(&params)?;
    let filter = RunFilter::read(&params, false)?;
    let page = shared
        .lock()
        .wf_page(before, count, |run| filter.matches(run, run.created_at));
    let runs: Vec<Value> = page.items.iter().map(|r| run_view(r, trim)).collect();
    let mut answer = json!({ "runs": runs });
    if let Some(next) = page.next {
        answer["cursor"] = json!(next.to_string());
    }
    Ok(Json(answer))
}

fn step_view(step: &crate::store::workflow::Step) -> Value {
    let mut m = Map::new();
    put(&mut m, "stepId", step.step_id);
    put(&mut m, "stepName", step.name.clone());
    put(&mut m, "stepType", step.step_type.clone());
    m.insert("callType".into(), json!("step"));
    if !step.message_id.is_empty() {
        m.insert("messageId".into(), json!(step.message_id));
    }
    m.insert("state".into(), json!(step.state.as_str()));
    m.insert("createdAt".into(), json!(step.created_at));
    m.insert("retries".into(), json!(step.retries));
    put(&mut m, "nextDeliveryTime", step.next_delivery_time);
    put(&mut m, "waitEventId", step.wait_event_id.clone());
    put(&mut m, "waitTimeout", step.wait_timeout);
    Value::Object(m)
}

fn put(m: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        m.insert(key.into(), v.into());
    }
}

/// The `WorkflowRun` shape: each step that ended in a `sequential` group
/// of its own, in order; the steps still to come in a `next` group.
fn run_view(run: &Run, trim: Option<i64>) -> Value {
    let mut groups: Vec<Value> = run
        .steps
        .iter()
        .filter(|s| !s.state.is_pending())
        .map(|s| json!({ "type": "sequential", "steps": [step_view(s)] }))
        .collect();
    let next: Vec<Value> = run
        .steps
        .iter()
        .filter(|s| s.state.is_pending())
        .map(step_view)
        .collect();
    if !next.is_empty() {
        groups.push(json!({ "type": "next", "steps": next }));
    }
    let mut m = Map::new();
    m.insert("workflowRunId".into(), json!(run.id));
    m.insert("workflowUrl".into(), json!(run.url));
    m.insert("workflowState".into(), json!(run.state.as_str()));
    m.insert("workflowRunCreatedAt".into(), json!(run.created_at));
    put(&mut m, "workflowRunCompletedAt", run.completed_at);
    m.insert("workflowRunCallerIp".into(), json!(run.caller_ip));
    m.insert("steps".into(), Value::Array(groups));
    let response = match trim {
        Some(-1) => None,
        Some(n) => run.response.as_ref().map(|r| {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            r.char_indices()
                .take_while(|(i, c)| i + c.len_utf8() <= n)
                .map(|(_, c)| c)
                .collect::<String>()
        }),
        None => run.response.clone(),
    };
    put(&mut m, "workflowRunResponse", response);
    put(&mut m, "dlqId", run.dlq_id.clone());
    m.insert("labels".into(), json!(run.labels()));
    put(&mut m, "label", run.labels().first().cloned());
    put(&mut m, "flowControlKey", run.flow_key());
    if let Some(f) = &run.failure {
        let mut fm = Map::new();
        fm.insert("messageId".into(), json!(f.message_id));
        fm.insert("url".into(), json!(f.url));
        fm.insert("state".into(), json!(f.state.as_str()));
        put(&mut fm, "dlqId", f.dlq_id.clone());
        fm.insert("maxRetries".into(), json!(run.init.opts.max_retries()));
        if let Some(r) = &f.reply {
            fm.insert("responseStatus".into(), json!(r.status));
            fm.insert("responseHeaders".into(), json!(r.headers));
            fm.insert(
                "responseBody".into(),
                json!(String::from_utf8_lossy(&r.body)),
            );
        }
        m.insert("failureFunction".into(), Value::Object(fm));
    }
    Value::Object(m)
}

// --- Workflow DLQ -------------------------------------------------------------

/// The `WorkflowDLQMessage` shape: the DLQ entry of the failed call, with
/// its run's fields and the state of its failure callback.
fn dlq_view(entry: &DlqEntry, run: Option<&Run>) -> Value {
    let mut v = views::dlq_message(entry);
    let Some(m) = v.as_object_mut() else {
        return v;
    };
    let opts = &entry.info.opts;
    let run_id = run.map_or_else(|| run_id_of(opts).unwrap_or_default(), |r| r.id.as_str());
    m.insert("workflowRunId".into(), json!(run_id));
    let url = run.map_or_else(|| entry.info.url.clone(), |r| r.url.clone());
    m.insert("workflowUrl".into(), json!(url));
    let created = run.map(|r| r.created_at).or_else(|| {
        opts.header
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(CREATED_AT_HEADER))
            .and_then(|(_, v)| v.first())
            .and_then(|v| v.parse::<i64>().ok())
    });
    put(m, "workflowCreatedAt", created);
    if let Some(f) = run.and_then(|r| r.failure.as_ref()) {
        m.insert("failureFunctionState".into(), json!(f.state.as_str()));
        let mut info = Map::new();
        info.insert("state".into(), json!(f.state.as_str()));
        if let Some(r) = &f.reply {
            info.insert("responseStatus".into(), json!(r.status));
            info.insert("responseHeaders".into(), json!(r.headers));
            info.insert(
                "responseBody".into(),
                json!(String::from_utf8_lossy(&r.body)),
            );
        }
        m.insert("failureCallbackInfo".into(), Value::Object(info));
    }
    v
}

/// What a workflow DLQ list or bulk action selects.
struct DlqPage {
    ids: Vec<String>,
    filter: RunFilter,
    count: usize,
    after: Option<u64>,
}

impl DlqPage {
    fn read(
        endpoint: Endpoint,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        max: usize,
    ) -> ApiResult<Self> {
        let Selection { params, ids, .. } = Selection::read(endpoint, query, headers, body)?;
        if let Some(source) = params.one("source")
            && source != "workflow"
        {
            return Err(ApiError::bad_request(format!(
                "invalid `source` `{source}`: only `workflow` is served here"
            )));
        }
        let count = page_size(&params, max)?;
        let after = if ids.is_empty() {
            cursor(&params)?
        } else {
            None
        };
        Ok(Self {
            ids,
            filter: RunFilter::read(&params, false)?,
            count,
            after,
        })
    }

    fn select(&self, store: &crate::store::Store) -> crate::store::Page<u64> {
        store.wf_dlq_select(
            &self.ids,
            |e, r| self.filter.matches_entry(e, r),
            self.after,
            self.count,
        )
    }
}

fn with_cursor(mut answer: Value, next: Option<u64>) -> Value {
    if let Some(c) = next {
        answer["cursor"] = json!(c.to_string());
    }
    answer
}

/// One page of the workflow DLQ: `GET /v2/workflows/dlq`, and
/// `GET /v2/dlq?source=workflow` (what workflow-js lists with).
pub(crate) fn dlq_list_page(
    shared: &Shared,
    query: Option<&str>,
    headers: &HeaderMap,
) -> ApiResult<Json<Value>> {
    let page = DlqPage::read(Endpoint::ListWorkflowDlq, query, headers, &[], DLQ_PAGE)?;
    let (items, next) = {
        let store = shared.lock();
        let sel = page.select(&store);
        let items: Vec<(DlqEntry, Option<Run>)> = sel
            .items
            .iter()
            .filter_map(|s| store.wf_dlq_view(*s))
            .collect();
        (items, sel.next)
    };
    let messages: Vec<Value> = items.iter().map(|(e, r)| dlq_view(e, r.as_ref())).collect();
    Ok(Json(with_cursor(json!({ "messages": messages }), next)))
}

/// `GET /v2/workflows/dlq`
pub(crate) async fn dlq_list(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    dlq_list_page(&shared, query.as_deref(), &headers)
}

/// `GET /v2/workflows/dlq/{dlqId}`
pub(crate) async fn dlq_get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (entry, run) = {
        let store = shared.lock();
        let seq = store.wf_dlq_seq(&id)?;
        store
            .wf_dlq_view(seq)
            .ok_or_else(|| ApiError::not_found(format!("workflow DLQ entry `{id}` not found")))?
    };
    Ok(Json(dlq_view(&entry, run.as_ref())))
}

/// `DELETE /v2/workflows/dlq/{dlqId}`
pub(crate) async fn dlq_delete_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let mut store = shared.lock();
    store.wf_dlq_seq(&id)?;
    store.dlq_remove(&id)?;
    Ok(ok())
}

/// `DELETE /v2/workflows/dlq`: by `dlqIds` (unknown ones skipped), or a
/// page of the entries the filters select; `{deleted, cursor}`.
pub(crate) async fn dlq_delete_many(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let page = DlqPage::read(
        Endpoint::DeleteWorkflowDlq,
        query.as_deref(),
        &headers,
        &body,
        DLQ_PAGE,
    )?;
    let mut store = shared.lock();
    let sel = page.select(&store);
    let ids: Vec<String> = sel
        .items
        .iter()
        .filter_map(|seq| store.dlq.get(seq).map(|e| e.dlq_id.clone()))
        .collect();
    let deleted = ids.iter().filter(|id| store.dlq_remove(id).is_ok()).count();
    Ok(Json(with_cursor(json!({ "deleted": deleted }), sel.next)))
}

/// The overrides of a resume or restart, read (and bounded) as a
/// publish's headers: each one given replaces the failed run's.
fn overrides(headers: &HeaderMap) -> ApiResult<impl Fn(&mut Options)> {
    let o = options::parse(headers, Purpose::Publish)?;
    let given: Vec<bool> = [
        "upstash-retries",
        "upstash-delay",
        "upstash-retry-delay",
        "upstash-flow-control-key",
        "upstash-label",
        "upstash-failure-callback",
    ]
    .iter()
    .map(|n| headers.contains_key(*n))
    .collect();
    Ok(move |opts: &mut Options| {
        if given[0] {
            opts.retries = o.retries;
        }
        if given[1] {
            opts.delay_ms = o.delay_ms;
        }
        if given[2] {
            opts.retry_delay.clone_from(&o.retry_delay);
        }
        if given[3] {
            opts.flow.clone_from(&o.flow);
        }
        if given[4] {
            opts.labels.clone_from(&o.labels);
            if opts.labels.is_empty() {
                opts.header
                    .retain(|name, _| !name.eq_ignore_ascii_case("Upstash-Label"));
            } else {
                let labels = opts.labels.join(",");
                set_header(opts, "Upstash-Label", labels);
            }
        }
        if given[5] {
            opts.failure_callback.clone_from(&o.failure_callback);
        }
    })
}

fn new_run(id: &str, created_at: i64) -> Value {
    json!({ "workflowRunId": id, "workflowCreatedAt": created_at })
}

/// Resume (`restart` false) or restart one entry.
fn rerun_one(shared: &Shared, id: &str, headers: &HeaderMap, restart: bool) -> ApiResult<Value> {
    let change = overrides(headers)?;
    let (run_id, created_at) = {
        let mut store = shared.lock();
        let seq = store.wf_dlq_seq(id)?;
        store.wf_rerun(seq, restart, &change)?
    };
    shared.dispatch.notify_one();
    tracing::debug!(target: "qstash_dev::workflows", dlq_id = %id, run = %run_id, restart, "workflow run taken up again");
    Ok(new_run(&run_id, created_at))
}

/// Resume or restart in bulk: the `dlqIds` (all must be there), or a page
/// of the entries the filters select.
fn rerun_many(
    shared: &Shared,
    endpoint: Endpoint,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    restart: bool,
) -> ApiResult<Value> {
    let max = if restart { RESTART_PAGE } else { DLQ_PAGE };
    let page = DlqPage::read(endpoint, query, headers, body, max)?;
    let change = overrides(headers)?;
    let (runs, next) = {
        let mut store = shared.lock();
        for id in &page.ids {
            store.wf_dlq_seq(id).map_err(|_| {
                ApiError::not_found(format!(
                    "workflow DLQ entry `{id}` is not in the DLQ; nothing was done"
                ))
            })?;
        }
        let sel = page.select(&store);
        let runs: Vec<Value> = store
            .wf_rerun_all(&sel.items, restart, &change)?
            .iter()
            .map(|(id, at)| new_run(id, *at))
            .collect();
        (runs, sel.next)
    };
    shared.dispatch.notify_one();
    Ok(with_cursor(json!({ "workflowRuns": runs }), next))
}

/// `POST /v2/workflows/dlq/resume/{dlqId}`: a new run from the failed
/// call (the same request under a new run id).
pub(crate) async fn dlq_resume_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    rerun_one(&shared, &id, &headers, false).map(Json)
}

/// `POST /v2/workflows/dlq/restart/{dlqId}`: a new run from the run's
/// first call.
pub(crate) async fn dlq_restart_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    rerun_one(&shared, &id, &headers, true).map(Json)
}

/// `POST /v2/workflows/dlq/resume`
pub(crate) async fn dlq_resume_many(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    rerun_many(
        &shared,
        Endpoint::ResumeWorkflowDlq,
        query.as_deref(),
        &headers,
        &body,
        false,
    )
    .map(Json)
}

/// `POST /v2/workflows/dlq/restart` (at most 50 per call)
pub(crate) async fn dlq_restart_many(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    rerun_many(
        &shared,
        Endpoint::RestartWorkflowDlq,
        query.as_deref(),
        &headers,
        &body,
        true,
    )
    .map(Json)
}

/// `POST /v2/workflows/dlq/callback/{dlqId}`: calls the failed failure
/// callback again.
pub(crate) async fn dlq_callback_retry(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (run_id, created_at) = shared.lock().wf_retry_failure_call(&id)?;
    shared.dispatch.notify_one();
    Ok(Json(new_run(&run_id, created_at)))
}

/// `DELETE /v2/workflows/dlq/callback/{dlqId}`: cancels the failure
/// callback call in progress; `200` (the description's `302` carries no
/// location to go to).
pub(crate) async fn dlq_callback_cancel(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    shared.lock().wf_cancel_failure_call(&id)?;
    Ok(ok())
}

// --- Waiters and notify -------------------------------------------------------

/// The body of `POST /v2/wait/{eventId}`, as workflow-js sends it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WaitBody {
    url: String,
    #[serde(default)]
    timeout: Option<Value>,
    #[serde(default)]
    timeout_url: Option<String>,
    #[serde(default)]
    timeout_body: Option<String>,
    #[serde(default)]
    timeout_headers: HashMap<String, Vec<String>>,
    #[serde(default)]
    step: Map<String, Value>,
}

fn wait_timeout_ms(timeout: Option<&Value>) -> ApiResult<u64> {
    let ms = match timeout {
        None | Some(Value::Null) => DEFAULT_WAIT_MS,
        Some(Value::Number(n)) => {
            n.as_u64()
                .and_then(|s| s.checked_mul(1000))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("`timeout`: `{n}` is not a number of seconds"))
                })?
        }
        Some(Value::String(s)) => parse_duration(s, "smhd")
            .map_err(|e| ApiError::bad_request(format!("`timeout`: {e}")))?,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`timeout`: `{other}` is neither a duration (`7d`) nor a number of seconds"
            )));
        }
    };
    if ms > MAX_DELAY_MS {
        return Err(ApiError::bad_request(format!(
            "`timeout`: {ms} milliseconds is too long; at most {MAX_DELAY_MS} milliseconds (365d) is accepted"
        )));
    }
    Ok(ms)
}

/// `POST /v2/wait/{eventId}` (workflow-js's `waitForEvent` step): the run
/// of `Upstash-Workflow-RunId` waits for the event. The request's headers
/// are those of the delivery that will carry the event (as a publish's);
/// the body says where (`url`), how long (`timeout`), what to call when
/// the wait gives up (`timeoutUrl`, `timeoutBody`, `timeoutHeaders`) and
/// the step. Answers `{"deadline": <Unix seconds>}`, or `{"messageId"}`
/// when an event notified to the run before is delivered at once.
pub(crate) async fn wait(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let event_id = check_id("event id", &event_id)?.to_owned();
    let req: WaitBody = json_body(&body)?;
    if !is_url(&req.url) {
        return Err(ApiError::bad_request(format!(
            "`url`: `{}` is not an http:// or https:// URL",
            req.url
        )));
    }
    let timeout_url = req.timeout_url.unwrap_or_else(|| req.url.clone());
    if !is_url(&timeout_url) {
        return Err(ApiError::bad_request(format!(
            "`timeoutUrl`: `{timeout_url}` is not an http:// or https:// URL"
        )));
    }
    let timeout_ms = wait_timeout_ms(req.timeout.as_ref())?;
    let opts = options::parse(&headers, Purpose::Publish)?;
    let run_id = run_id_of(&opts)
        .ok_or_else(|| {
            ApiError::bad_request(
                "header `Upstash-Workflow-RunId` is required: the run that waits for the event",
            )
        })
        .and_then(|id| check_id("header `Upstash-Workflow-RunId` (run id)", id))?
        .to_owned();
    let mut timeout_headers = HeaderMap::new();
    for (name, values) in &req.timeout_headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ApiError::bad_request(format!("`timeoutHeaders`: invalid name `{name}`"))
        })?;
        for v in values {
            let v = HeaderValue::from_str(v).map_err(|_| {
                ApiError::bad_request(format!("`timeoutHeaders`: invalid value for `{name}`"))
            })?;
            timeout_headers.append(name.clone(), v);
        }
    }
    let timeout_body = Bytes::copy_from_slice(req.timeout_body.unwrap_or_default().as_bytes());
    let timeout_opts = options::parse(&timeout_headers, Purpose::Publish)
        .map_err(|e| ApiError::new(e.status, format!("`timeoutHeaders`: {}", e.message)))?;
    let waited = shared.lock().wf_wait(WaitRequest {
        event_id: event_id.clone(),
        run_id: run_id.clone(),
        url: req.url,
        timeout_ms,
        timeout_url,
        opts,
        timeout_opts,
        timeout_body,
        step: req.step,
        caller_ip: peer.ip().to_string(),
    })?;
    // A new deadline: the dispatcher's next wake may come earlier.
    shared.dispatch.notify_one();
    tracing::debug!(target: "qstash_dev::workflows", run = %run_id, event = %event_id, "workflow run waits for an event");
    Ok(Json(match waited {
        Waited::Waiting { deadline } => json!({ "deadline": deadline / 1000 }),
        Waited::Delivered { message_id } => json!({ "messageId": message_id }),
    }))
}

/// The `Waiter` shape.
fn waiter_view(w: &Waiter) -> Value {
    let mut m = Map::new();
    m.insert("url".into(), json!(w.url));
    m.insert("headers".into(), json!(w.opts.header));
    m.insert("deadline".into(), json!(w.deadline / 1000));
    if !w.timeout_body.is_empty() {
        m.insert(
            "timeoutBody".into(),
            json!(STANDARD.encode(&w.timeout_body)),
        );
    }
    m.insert("timeoutUrl".into(), json!(w.timeout_url));
    m.insert("timeoutHeaders".into(), json!(w.timeout_opts.header));
    Value::Object(m)
}

/// `GET /v2/waiters/{eventId}`: the steps waiting for the event, oldest
/// first.
pub(crate) async fn waiters(
    State(shared): State<Arc<Shared>>,
    Path(event_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let event_id = check_id("event id", &event_id)?;
    let waiters = shared.lock().wf_waiters(event_id);
    Ok(Json(Value::Array(
        waiters.iter().map(waiter_view).collect(),
    )))
}

/// `POST /v2/notify/{eventId}`: every current waiter gets the body,
/// delivered to its URL; `201` with one result per waiter (`[]` when none
/// waits). Nothing is kept for later waiters.
pub(crate) async fn notify(
    State(shared): State<Arc<Shared>>,
    Path(event_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let event_id = check_id("event id", &event_id)?;
    let notified = shared.lock().wf_notify(event_id, None, &body)?;
    shared.dispatch.notify_one();
    tracing::debug!(target: "qstash_dev::workflows", event = %event_id, waiters = notified.len(), "event notified");
    let results: Vec<Value> = notified
        .iter()
        .map(|n| {
            json!({
                "waiter": waiter_view(&n.waiter),
                "messageId": n.message_id,
                "deduplicated": false,
            })
        })
        .collect();
    Ok((StatusCode::CREATED, Json(Value::Array(results))).into_response())
}

/// `POST /v2/notify/{workflowRunId}/{eventId}`: the run's waiter of the
/// event gets the body; when the run does not wait for it yet, the body is
/// kept and handed over once it does. `201` with one result.
pub(crate) async fn notify_run(
    State(shared): State<Arc<Shared>>,
    Path((run_id, event_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let run_id = check_id("workflow run id", &run_id)?;
    let event_id = check_id("event id", &event_id)?;
    let answer = {
        let mut store = shared.lock();
        let notified = store.wf_notify(event_id, Some(run_id), &body)?;
        match notified.into_iter().next() {
            Some(n) => json!({
                "waiter": waiter_view(&n.waiter),
                "messageId": n.message_id,
                "deduplicated": false,
                "workflowRunId": run_id,
                "workflowCreatedAt": n.run_created_at,
            }),
            None => {
                let created_at = store.wf_keep_event(run_id, event_id, body)?;
                json!({ "workflowRunId": run_id, "workflowCreatedAt": created_at })
            }
        }
    };
    shared.dispatch.notify_one();
    tracing::debug!(target: "qstash_dev::workflows", run = %run_id, event = %event_id, "event notified to a run");
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{Config, Limits};
    use crate::store::Store;
    use crate::store::workflow::INIT_HEADER;

    fn store(limits: Limits) -> Store {
        let config = Config {
            retry_delay_scale: 1.0,
            limits,
            region: None,
            cron_seconds: false,
        };
        Store::new(config, SigningKeys::generate())
    }

    use crate::signing::SigningKeys;

    /// The first call of run `id`, labelled `label`, delayed by `delay_ms`.
    fn first(id: &str, label: &str, delay_ms: Option<u64>) -> Options {
        let mut o = Options {
            method: "POST".into(),
            delay_ms,
            retries: Some(0),
            labels: vec![label.to_owned()],
            ..Options::default()
        };
        set_header(&mut o, RUN_ID_HEADER, id.to_owned());
        set_header(&mut o, INIT_HEADER, "true".to_owned());
        o
    }

    fn start(store: &mut Store, id: &str, label: &str, delay_ms: Option<u64>) {
        store
            .publish(&NewMessages {
                destination: "http://127.0.0.1:1/wf",
                queue: None,
                opts: Arc::new(first(id, label, delay_ms)),
                body: Arc::default(),
                schedule_id: None,
                caller_ip: "10.0.0.1",
            })
            .unwrap();
    }

    /// `n` runs going, the first half labelled `a`.
    fn shared(n: usize) -> Shared {
        let mut s = store(Limits::default());
        for i in 0..n {
            let label = if i < n / 2 { "a" } else { "b" };
            start(&mut s, &format!("wfr_{i}"), label, Some(3_600_000));
        }
        let http = crate::delivery::client(std::time::Duration::from_secs(1)).unwrap();
        Shared::new(s, http, "token".into())
    }

    fn filter(query: &str) -> RunFilter {
        RunFilter::read(&Params::parse(Some(query)), true).unwrap()
    }

    #[tokio::test]
    async fn a_cancel_by_filter_goes_through_every_step_and_stops_at_its_limit() {
        let s = shared(5000);
        assert_eq!(crate::store::MAX_SCAN, 1000);
        assert_eq!(
            cancel_by_filter(&s, &filter("label=a"), usize::MAX).await,
            (2500, 5)
        );
        assert_eq!(s.lock().wf.active.len(), 2500);
        // The limit reached in the second step: no further step.
        assert_eq!(
            cancel_by_filter(&s, &filter("label=b"), 1200).await,
            (1200, 2)
        );
        assert_eq!(s.lock().wf.active.len(), 1300);
        assert_eq!(
            cancel_by_filter(&s, &filter("label=b"), usize::MAX).await,
            (1300, 2)
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn other_tasks_run_between_the_steps_of_a_cancel() {
        let s = Arc::new(shared(3000));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = {
            let (s, done) = (Arc::clone(&s), Arc::clone(&done));
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    seen.push(s.lock().wf.active.len());
                    tokio::task::yield_now().await;
                }
                seen
            })
        };
        let (cancelled, steps) = cancel_by_filter(&s, &filter("label=a,b"), usize::MAX).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!((cancelled, steps), (3000, 3));
        let seen = seen.await.unwrap();
        assert_eq!(seen.first(), Some(&2000), "{seen:?}");
        assert!(seen.contains(&1000), "{seen:?}");
    }

    #[test]
    fn a_dlq_entry_whose_run_was_forgotten_is_judged_by_its_failed_call() {
        let mut s = store(Limits {
            max_workflow_runs: 1,
            ..Limits::default()
        });
        start(&mut s, "wfr_old", "a", None);
        let (jobs, _) = s.take_due(i64::MAX / 4);
        s.finish(
            &jobs[0].info.id,
            crate::model::Reply {
                status: 500,
                ..crate::model::Reply::default()
            },
        );
        start(&mut s, "wfr_new", "b", Some(3_600_000));
        assert!(s.run("wfr_old").is_none(), "the failed run was forgotten");
        let entry = s.dlq.values().next().cloned().unwrap();
        let at = entry.info.created_at;
        let yes = |q: &str| filter(q).matches_entry(&entry, None);
        for q in [
            "label=a",
            "workflowRunId=wfr_old",
            "workflowUrl=http://127.0.0.1:1/",
            "url=http://127.0.0.1:1/wf",
            "responseStatus=500",
            "callerIp=10.0.0.1",
            &format!("fromDate={at}&toDate={at}"),
        ] {
            assert!(yes(q), "{q}");
        }
        for q in [
            "label=b",
            "workflowRunId=wfr_new",
            "workflowUrl=http://elsewhere/",
            "url=http://127.0.0.1:1/other",
            "responseStatus=502",
            "callerIp=10.0.0.2",
            "flowControlKey=k",
            &format!("fromDate={}", at + 1),
            &format!("toDate={}", at - 1),
            "failureFunctionState=CALLBACK_FAIL",
            &format!("workflowCreatedAt={at}"),
            &format!("workflowRuns=wfr_old@{at}"),
        ] {
            assert!(!yes(q), "{q}");
        }
        // Listed by the store, the view carries the run id of its header.
        let page = s.wf_dlq_select(&[], |e, r| filter("label=a").matches_entry(e, r), None, 10);
        assert_eq!(page.items.len(), 1);
        let view = dlq_view(&entry, None);
        assert_eq!(view["workflowRunId"], "wfr_old");
        assert_eq!(view["workflowUrl"], "http://127.0.0.1:1/wf");
    }
}
