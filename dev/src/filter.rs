//! Filters of the bulk and list endpoints: which names each endpoint
//! takes, where they are read from, and what they select (multi-value
//! filters match any of their values, different filters must all match).
//!
//! The bulk endpoints (`DELETE /v2/messages`, `DELETE /v2/dlq`,
//! `POST /v2/dlq/retry`) never act on everything by accident:
//! - their filters are read from the query *and* from a JSON body
//!   (`{"dlqIds": [...]}`, `{"messageIds": [...]}`, the other filters under
//!   their query names), as qstash-py 3.4.0 sends them;
//! - a name the endpoint does not take is refused with 400 naming it, as the
//!   service does (ignoring it would leave no filter);
//! - a filter given without a value (`dlqIds=`, `{"dlqIds": []}`) is
//!   refused: it selects nothing, and is not taken for "everything";
//! - without any filter, they act on every item only when asked to on
//!   purpose: `count` and no filter, which is what the JS SDK's
//!   `{ all: true }` sends (`?count=100`). A bare request is refused with
//!   400 saying so.
//!
//! The list endpoints (`GET /v2/dlq`, `GET /v2/logs`, `GET /v2/events`)
//! refuse unknown names too, and list everything without a filter.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::model::MessageInfo;
use crate::query::Params;

/// Query parameters that select nothing: paging and call options, the
/// token. Left out of the filter recorded with a bulk action.
pub(crate) const NOT_FILTERS: &[&str] = &["cursor", "count", "async", "qstash_token"];

/// The filters of the DLQ endpoints (the service refuses `host` and `path`
/// there).
const DLQ_FILTERS: &[&str] = &[
    "dlqIds",
    "messageId",
    "url",
    "topicName",
    "scheduleId",
    "queueName",
    "fromDate",
    "toDate",
    "responseStatus",
    "callerIp",
    "callerIP",
    "label",
    "flowControlKey",
];

/// The filters of `DELETE /v2/messages` (no single `messageId`: it is a
/// bulk action).
const CANCEL_FILTERS: &[&str] = &[
    "messageIds",
    "url",
    "topicName",
    "scheduleId",
    "queueName",
    "host",
    "path",
    "fromDate",
    "toDate",
    "callerIp",
    "callerIP",
    "label",
    "flowControlKey",
];

/// The filters of the logs (`state` is read by the logs endpoint itself).
const LOG_FILTERS: &[&str] = &[
    "messageIds",
    "messageId",
    "state",
    "url",
    "topicName",
    "scheduleId",
    "queueName",
    "host",
    "path",
    "fromDate",
    "toDate",
    "callerIp",
    "callerIP",
    "label",
    "flowControlKey",
];

/// The filters of the workflow bulk cancel (`workflowUrlExactMatch` only
/// changes how `workflowUrl` matches: it selects nothing by itself).
const RUN_CANCEL_FILTERS: &[&str] = &[
    "workflowRunIds",
    "workflowUrl",
    "fromDate",
    "toDate",
    "callerIp",
    "flowControlKey",
    "label",
];

/// The filters of the workflow logs.
const RUN_LOG_FILTERS: &[&str] = &[
    "workflowUrl",
    "workflowRunId",
    "workflowCreatedAt",
    "workflowRuns",
    "state",
    "messageId",
    "failureFunctionState",
    "fromDate",
    "toDate",
    "label",
    "flowControlKey",
    "callerIp",
];

/// The filters of the workflow DLQ list (`url` and `responseStatus`: of
/// the failed call, as workflow-js's list filters have them).
const WORKFLOW_DLQ_LIST_FILTERS: &[&str] = &[
    "url",
    "responseStatus",
    "fromDate",
    "toDate",
    "workflowUrl",
    "workflowRunId",
    "workflowCreatedAt",
    "label",
    "failureFunctionState",
    "callerIp",
    "flowControlKey",
];

/// The filters of the workflow DLQ bulk routes.
const WORKFLOW_DLQ_FILTERS: &[&str] = &[
    "dlqIds",
    "fromDate",
    "toDate",
    "workflowUrl",
    "workflowRunId",
    "workflowCreatedAt",
    "label",
    "failureFunctionState",
    "callerIp",
    "flowControlKey",
];

/// An endpoint that takes filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `GET /v2/dlq`
    ListDlq,
    /// `DELETE /v2/dlq`
    DeleteDlq,
    /// `POST /v2/dlq/retry`
    RetryDlq,
    /// `DELETE /v2/messages`
    CancelMessages,
    /// `GET /v2/logs`
    Logs,
    /// `GET /v2/events`
    Events,
    /// `DELETE /v2/workflows/runs`
    CancelRuns,
    /// `GET /v2/workflows/logs` (and `/v2/workflows/events`)
    RunLogs,
    /// `GET /v2/workflows/dlq` (and `GET /v2/dlq?source=workflow`)
    ListWorkflowDlq,
    /// `DELETE /v2/workflows/dlq`
    DeleteWorkflowDlq,
    /// `POST /v2/workflows/dlq/resume`
    ResumeWorkflowDlq,
    /// `POST /v2/workflows/dlq/restart`
    RestartWorkflowDlq,
}

impl Endpoint {
    fn route(self) -> &'static str {
        match self {
            Self::ListDlq => "GET /v2/dlq",
            Self::DeleteDlq => "DELETE /v2/dlq",
            Self::RetryDlq => "POST /v2/dlq/retry",
            Self::CancelMessages => "DELETE /v2/messages",
            Self::Logs => "GET /v2/logs",
            Self::Events => "GET /v2/events",
            Self::CancelRuns => "DELETE /v2/workflows/runs",
            Self::RunLogs => "GET /v2/workflows/logs",
            Self::ListWorkflowDlq => "GET /v2/workflows/dlq",
            Self::DeleteWorkflowDlq => "DELETE /v2/workflows/dlq",
            Self::ResumeWorkflowDlq => "POST /v2/workflows/dlq/resume",
            Self::RestartWorkflowDlq => "POST /v2/workflows/dlq/restart",
        }
    }

    fn filters(self) -> &'static [&'static str] {
        match self {
            Self::ListDlq | Self::DeleteDlq | Self::RetryDlq => DLQ_FILTERS,
            Self::CancelMessages => CANCEL_FILTERS,
            Self::Logs | Self::Events => LOG_FILTERS,
            Self::CancelRuns => RUN_CANCEL_FILTERS,
            Self::RunLogs => RUN_LOG_FILTERS,
            Self::ListWorkflowDlq => WORKFLOW_DLQ_LIST_FILTERS,
            Self::DeleteWorkflowDlq | Self::ResumeWorkflowDlq | Self::RestartWorkflowDlq => {
                WORKFLOW_DLQ_FILTERS
            }
        }
    }

    /// The parameters that select nothing.
    fn options(self) -> &'static [&'static str] {
        match self {
            Self::CancelMessages => &["count", "async", "qstash_token"],
            Self::CancelRuns => &["count", "workflowUrlExactMatch", "qstash_token"],
            Self::RunLogs => &["cursor", "count", "trimBody", "groupBy", "qstash_token"],
            Self::ListWorkflowDlq => &["cursor", "count", "source", "qstash_token"],
            _ => &["cursor", "count", "qstash_token"],
        }
    }

    /// The filter that lists ids (its values are [`Selection::ids`]).
    fn id_list(self) -> Option<&'static str> {
        match self {
            Self::ListDlq | Self::DeleteDlq | Self::RetryDlq => Some("dlqIds"),
            Self::CancelMessages => Some("messageIds"),
            Self::CancelRuns => Some("workflowRunIds"),
            Self::DeleteWorkflowDlq | Self::ResumeWorkflowDlq | Self::RestartWorkflowDlq => {
                Some("dlqIds")
            }
            Self::Logs | Self::Events | Self::RunLogs | Self::ListWorkflowDlq => None,
        }
    }

    /// The id list of a bulk endpoint, and what it acts on and how.
    fn bulk(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Self::DeleteDlq => Some(("dlqIds", "delete", "DLQ message")),
            Self::RetryDlq => Some(("dlqIds", "retry", "DLQ message")),
            Self::CancelMessages => Some(("messageIds", "cancel", "message")),
            Self::CancelRuns => Some(("workflowRunIds", "cancel", "workflow run")),
            Self::DeleteWorkflowDlq => Some(("dlqIds", "delete", "workflow DLQ entry")),
            Self::ResumeWorkflowDlq => Some(("dlqIds", "resume", "workflow DLQ entry")),
            Self::RestartWorkflowDlq => Some(("dlqIds", "restart", "workflow DLQ entry")),
            Self::ListDlq | Self::Logs | Self::Events | Self::RunLogs | Self::ListWorkflowDlq => {
                None
            }
        }
    }
}

/// What a request to a filtered endpoint selects.
#[derive(Debug)]
pub(crate) struct Selection {
    /// Every parameter, from the query and the body.
    pub(crate) params: Params,
    pub(crate) filter: Filter,
    /// The values of the endpoint's id list (`dlqIds`, `messageIds`).
    pub(crate) ids: Vec<String>,
}

impl Selection {
    /// Reads the filters of a request to `endpoint`: its query, and on a
    /// bulk endpoint its body (JSON, or a form). Refuses unknown names,
    /// filters without a value on a bulk endpoint, and a bulk request
    /// with no filter that does not ask for everything.
    pub(crate) fn read(
        endpoint: Endpoint,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> ApiResult<Self> {
        let mut params = Params::parse(query);
        let bulk = endpoint.bulk();
        if bulk.is_some() {
            params.extend(body_params(endpoint, headers, body)?);
        }
        let filters = endpoint.filters();
        let options = endpoint.options();
        let unknown: Vec<&str> = params
            .names()
            .into_iter()
            .filter(|n| !filters.contains(n) && !options.contains(n))
            .collect();
        if !unknown.is_empty() {
            return Err(unknown_names(endpoint, &unknown));
        }
        let given: Vec<&str> = filters.iter().copied().filter(|n| params.has(n)).collect();
        let Some((id_name, verb, item)) = bulk else {
            let filter = Filter::from_params(&params)?;
            let ids = endpoint
                .id_list()
                .map(|n| params.list(n))
                .unwrap_or_default();
            return Ok(Self {
                params,
                filter,
                ids,
            });
        };
        if let Some(empty) = given.iter().find(|n| params.list(n).is_empty()) {
            return Err(ApiError::bad_request(format!(
                "{}: `{empty}` is given without a value; an empty list selects nothing and is not taken to mean every {item}, so nothing was done. Give at least one value; {}",
                endpoint.route(),
                how_to_ask_for_everything(verb, item),
            )));
        }
        if given.is_empty() && params.one("count").is_none() {
            return Err(ApiError::bad_request(format!(
                "{} without a filter would {verb} every {item}, so nothing was done. Select what to {verb} with `{id_name}` or a filter ({}), in the query (`?{id_name}=id1&{id_name}=id2`) or in a JSON body (`{{\"{id_name}\": [\"id1\", \"id2\"]}}`); {}",
                endpoint.route(),
                filters
                    .iter()
                    .filter(|f| **f != id_name)
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                how_to_ask_for_everything(verb, item),
            )));
        }
        let filter = Filter::from_params(&params)?;
        let ids = params.list(id_name);
        Ok(Self {
            params,
            filter,
            ids,
        })
    }
}

fn how_to_ask_for_everything(verb: &str, item: &str) -> String {
    let (done, repeat) = match verb {
        "cancel" => ("cancelled", "repeat until `cancelled` is 0"),
        "retry" => (
            "retried",
            "repeat with the returned `cursor` until there is none",
        ),
        "resume" => (
            "resumed",
            "repeat with the returned `cursor` until there is none",
        ),
        "restart" => (
            "restarted",
            "repeat with the returned `cursor` until there is none",
        ),
        _ => (
            "deleted",
            "repeat with the returned `cursor` until there is none",
        ),
    };
    format!(
        "to {verb} every {item} on purpose, send `count` and no filter (`?count=100`, which is what the JS SDK's `{{ all: true }}` sends): up to that many are {done} per call; {repeat}."
    )
}

fn unknown_names(endpoint: Endpoint, unknown: &[&str]) -> ApiError {
    let named: Vec<String> = unknown.iter().map(|n| format!("`{n}`")).collect();
    let (noun, verb) = if unknown.len() == 1 {
        ("filter", "is")
    } else {
        ("filters", "are")
    };
    ApiError::bad_request(format!(
        "{}: unknown {noun} {} {verb} refused (an ignored filter would select more than asked). It takes {}; and {}",
        endpoint.route(),
        named.join(", "),
        endpoint
            .filters()
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", "),
        endpoint
            .options()
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

/// The filters of a bulk request's body: a JSON object of filter names
/// (a value is a string, a number, a boolean or a list of them), or a form
/// (`dlqIds=a&dlqIds=b`) sent as `application/x-www-form-urlencoded`.
/// Nothing for an empty body.
fn body_params(endpoint: Endpoint, headers: &HeaderMap, body: &[u8]) -> ApiResult<Params> {
    let shape = || {
        let id = endpoint.bulk().map_or("dlqIds", |(id, _, _)| id);
        format!(
            "{}: the body must be a JSON object of filters, such as {{\"{id}\": [\"id1\", \"id2\"]}}",
            endpoint.route()
        )
    };
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request(format!("{} (it is not UTF-8)", shape())))?
        .trim();
    if text.is_empty() {
        return Ok(Params::default());
    }
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if form && !text.starts_with('{') {
        return Ok(Params::parse(Some(text)));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("{}: {e}", shape())))?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(shape()));
    };
    let mut params = Params::default();
    for (name, value) in map {
        let values = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        if values.is_empty() {
            params.push_exact(&name, String::new());
        }
        for v in values {
            let text = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                Value::Array(_) | Value::Object(_) => {
                    return Err(ApiError::bad_request(format!(
                        "{}: `{name}` must be a string, a number, or a list of them",
                        endpoint.route()
                    )));
                }
            };
            params.push_exact(&name, text);
        }
    }
    Ok(params)
}

/// A parsed filter over messages (and the DLQ entries and log records that
/// carry them).
#[derive(Debug, Default, Clone)]
pub(crate) struct Filter {
    message_id: Vec<String>,
    url: Vec<String>,
    topic: Vec<String>,
    queue: Vec<String>,
    host: Vec<String>,
    path: Vec<String>,
    label: Vec<String>,
    flow_key: Vec<String>,
    schedule: Vec<String>,
    caller_ip: Vec<String>,
    response_status: Vec<u16>,
    from: Option<i64>,
    to: Option<i64>,
}

impl Filter {
    /// Reads every filter parameter there is (the names were checked by
    /// [`Selection::read`]).
    fn from_params(p: &Params) -> ApiResult<Self> {
        let mut message_id = p.list("messageId");
        message_id.extend(p.list("messageIds"));
        let mut caller_ip = p.list("callerIp");
        caller_ip.extend(p.list("callerIP"));
        let mut response_status = Vec::new();
        for s in p.list("responseStatus") {
            response_status.push(
                s.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid `responseStatus`: `{s}`"))
                })?,
            );
        }
        Ok(Self {
            message_id,
            url: p.list("url"),
            topic: p.list("topicName"),
            queue: p.list("queueName"),
            host: p.list("host"),
            path: p.list("path"),
            label: p.list("label"),
            flow_key: p.list("flowControlKey"),
            schedule: p.list("scheduleId"),
            caller_ip,
            response_status,
            from: p.parsed("fromDate")?,
            to: p.parsed("toDate")?,
        })
    }

    /// Whether `info` passes, judged at `time` (its creation, or the time
    /// of a log record) and with the last response status, if any.
    pub(crate) fn matches(&self, info: &MessageInfo, time: i64, status: Option<u16>) -> bool {
        // The URL is parsed only for a filter on its host or path.
        let (host, path) = if self.host.is_empty() && self.path.is_empty() {
            (None, None)
        } else {
            host_and_path(&info.url)
        };
        any(&self.message_id, Some(&info.id))
            && any(&self.url, Some(&info.url))
            && any(&self.topic, info.topic.as_ref())
            && any(&self.queue, info.queue.as_ref())
            && any(&self.host, host.as_ref())
            && any(&self.path, path.as_ref())
            && (self.label.is_empty() || info.opts.labels.iter().any(|l| self.label.contains(l)))
            && any(&self.flow_key, info.opts.flow.as_ref().map(|f| &f.key))
            && any(&self.schedule, info.schedule_id.as_ref())
            && any(&self.caller_ip, Some(&info.caller_ip))
            && (self.response_status.is_empty()
                || status.is_some_and(|s| self.response_status.contains(&s)))
            && self.from.is_none_or(|f| time >= f)
            && self.to.is_none_or(|t| time <= t)
    }
}

fn any(wanted: &[String], value: Option<&String>) -> bool {
    wanted.is_empty() || value.is_some_and(|v| wanted.contains(v))
}

fn host_and_path(url: &str) -> (Option<String>, Option<String>) {
    match url::Url::parse(url) {
        Ok(u) => (u.host_str().map(str::to_owned), Some(u.path().to_owned())),
        Err(_) => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn json() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h
    }

    fn read(endpoint: Endpoint, query: &str, body: &str) -> ApiResult<Selection> {
        let query = (!query.is_empty()).then_some(query);
        Selection::read(endpoint, query, &json(), body.as_bytes())
    }

    /// No id and no filter: every item.
    fn everything(s: &Selection) -> bool {
        s.ids.is_empty() && s.params.grouped_except(NOT_FILTERS).is_empty()
    }

    fn refusal(endpoint: Endpoint, query: &str, body: &str) -> String {
        let e = read(endpoint, query, body).expect_err("refused");
        assert_eq!(e.status.as_u16(), 400, "{}", e.message);
        e.message
    }

    const BULK: [Endpoint; 3] = [
        Endpoint::DeleteDlq,
        Endpoint::RetryDlq,
        Endpoint::CancelMessages,
    ];

    #[test]
    fn ids_are_read_from_the_body_as_qstash_py_sends_them() {
        let s = read(Endpoint::DeleteDlq, "", r#"{"dlqIds":["nonexistent"]}"#).unwrap();
        assert_eq!(s.ids, ["nonexistent"]);
        assert!(!everything(&s));
        let s = read(Endpoint::CancelMessages, "", r#"{"messageIds":["a","b"]}"#).unwrap();
        assert_eq!(s.ids, ["a", "b"]);
        // Query and body add up.
        let s = read(Endpoint::RetryDlq, "dlqIds=q", r#"{"dlqIds":"b"}"#).unwrap();
        assert_eq!(s.ids, ["q", "b"]);
    }

    #[test]
    fn body_values_are_not_split_on_commas_but_query_values_are() {
        let s = read(Endpoint::DeleteDlq, "", r#"{"url":["https://x/a,b"]}"#).unwrap();
        assert_eq!(s.params.list("url"), ["https://x/a,b"]);
        let s = read(Endpoint::DeleteDlq, "label=a,b", "").unwrap();
        assert_eq!(s.params.list("label"), ["a", "b"]);
    }

    #[test]
    fn numbers_and_booleans_in_the_body() {
        let s = read(
            Endpoint::CancelMessages,
            "",
            r#"{"fromDate": 5, "async": true, "label": "x"}"#,
        )
        .unwrap();
        assert_eq!(s.params.parsed::<i64>("fromDate").unwrap(), Some(5));
        assert_eq!(s.params.parsed::<bool>("async").unwrap(), Some(true));
        let s = read(Endpoint::DeleteDlq, "", r#"{"responseStatus": [500, 502]}"#).unwrap();
        assert_eq!(s.filter.response_status, [500, 502]);
    }

    #[test]
    fn a_form_body_is_read_as_a_form() {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let s = Selection::read(Endpoint::DeleteDlq, None, &h, b"dlqIds=a&dlqIds=b").unwrap();
        assert_eq!(s.ids, ["a", "b"]);
        // curl -d with a JSON text but no JSON content type: still JSON.
        let s = Selection::read(Endpoint::DeleteDlq, None, &h, br#"{"dlqIds":["a"]}"#).unwrap();
        assert_eq!(s.ids, ["a"]);
    }

    #[test]
    fn unknown_names_are_refused_by_name_from_the_query_and_the_body() {
        for endpoint in [
            Endpoint::DeleteDlq,
            Endpoint::RetryDlq,
            Endpoint::CancelMessages,
            Endpoint::ListDlq,
            Endpoint::Logs,
            Endpoint::Events,
        ] {
            let m = refusal(endpoint, "labeel=x", "");
            assert!(m.contains("unknown filter `labeel`"), "{m}");
            assert!(m.contains(endpoint.route()), "{m}");
            assert!(m.contains("`label`"), "{m}");
        }
        for endpoint in BULK {
            let m = refusal(endpoint, "", r#"{"labeel": "x", "dlqIdz": ["a"]}"#);
            assert!(m.contains("`labeel`") && m.contains("`dlqIdz`"), "{m}");
        }
        // The DLQ takes no host or path, the cancel no single messageId.
        assert!(refusal(Endpoint::DeleteDlq, "host=x", "").contains("`host`"));
        assert!(refusal(Endpoint::CancelMessages, "messageId=x", "").contains("`messageId`"));
        assert!(refusal(Endpoint::CancelMessages, "cursor=1&label=a", "").contains("`cursor`"));
    }

    #[test]
    fn the_token_and_paging_are_not_filters() {
        let s = read(Endpoint::ListDlq, "qstash_token=t&cursor=3&count=2", "").unwrap();
        assert!(everything(&s));
        let s = read(Endpoint::Logs, "qstash_token=t&state=DELIVERED", "").unwrap();
        assert!(!everything(&s));
        // The token in the query does not stand for a filter on a bulk
        // endpoint either.
        let m = refusal(Endpoint::DeleteDlq, "qstash_token=t", "");
        assert!(m.contains("without a filter"), "{m}");
    }

    #[test]
    fn an_empty_id_list_is_no_filter_and_is_refused() {
        for (endpoint, query, body) in [
            (Endpoint::DeleteDlq, "dlqIds=", ""),
            (Endpoint::DeleteDlq, "", r#"{"dlqIds": []}"#),
            (Endpoint::DeleteDlq, "", r#"{"dlqIds": null}"#),
            (Endpoint::DeleteDlq, "dlqIds=,", ""),
            (Endpoint::RetryDlq, "dlqIds=&count=100", ""),
            (Endpoint::CancelMessages, "", r#"{"messageIds": []}"#),
            (Endpoint::CancelMessages, "label=", ""),
            (Endpoint::CancelMessages, "", r#"{"messageIds": [""]}"#),
        ] {
            let m = refusal(endpoint, query, body);
            assert!(m.contains("without a value"), "{m}");
            assert!(m.contains("count"), "says how to ask for everything: {m}");
        }
    }

    #[test]
    fn no_filter_acts_on_everything_only_with_count() {
        for endpoint in BULK {
            let m = refusal(endpoint, "", "");
            assert!(m.contains("without a filter"), "{m}");
            assert!(m.contains("`count`") && m.contains("all: true"), "{m}");
            let m = refusal(endpoint, "", "{}");
            assert!(m.contains("without a filter"), "{m}");
            // Paging alone is not a request for everything.
            if endpoint != Endpoint::CancelMessages {
                assert!(refusal(endpoint, "cursor=5", "").contains("without a filter"));
            }
            // What the JS SDK sends for `{ all: true }`.
            let s = read(endpoint, "count=100", "").unwrap();
            assert!(everything(&s));
            let s = read(endpoint, "", r#"{"count": 100}"#).unwrap();
            assert!(everything(&s));
        }
        // A list without a filter lists everything.
        let s = read(Endpoint::ListDlq, "", "").unwrap();
        assert!(everything(&s));
        let s = read(Endpoint::ListDlq, "dlqIds=a", "").unwrap();
        assert_eq!(s.ids, ["a"]);
        // A body is not read on a list.
        assert!(read(Endpoint::ListDlq, "", "not json").is_ok());
    }

    #[test]
    fn bodies_that_are_not_objects_of_filters_are_refused() {
        for body in [
            r#"["a"]"#,
            "not json",
            r#"{"dlqIds": [["a"]]}"#,
            r#"{"url": {"a": 1}}"#,
        ] {
            let m = refusal(Endpoint::DeleteDlq, "", body);
            assert!(m.contains("DELETE /v2/dlq"), "{m}");
        }
    }

    #[test]
    fn host_and_path_filters_each_select_on_their_own() {
        let info = |url: &str| crate::model::MessageInfo {
            id: "msg_1".into(),
            kind: crate::model::Kind::Message,
            url: url.into(),
            topic: None,
            endpoint: None,
            queue: None,
            schedule_id: None,
            caller_ip: "127.0.0.1".into(),
            created_at: 0,
            not_before: None,
            body: std::sync::Arc::default(),
            opts: std::sync::Arc::default(),
            held: Default::default(),
        };
        let a = info("https://a.example/x");
        let b = info("https://b.example/y");
        for (query, on_a, on_b) in [
            ("host=a.example", true, false),
            ("path=/y", false, true),
            ("host=a.example&path=/y", false, false),
            ("label=none", false, false),
            ("url=https://b.example/y", false, true),
        ] {
            let f = read(Endpoint::Logs, query, "").unwrap().filter;
            assert_eq!(f.matches(&a, 0, None), on_a, "{query} on a");
            assert_eq!(f.matches(&b, 0, None), on_b, "{query} on b");
        }
        assert!(Filter::default().matches(&a, 0, None));
    }

    #[test]
    fn each_bulk_refusal_says_how_its_own_action_is_done_for_everything() {
        for (endpoint, done, repeat) in [
            (
                Endpoint::DeleteDlq,
                "are deleted per call",
                "returned `cursor`",
            ),
            (
                Endpoint::RetryDlq,
                "are retried per call",
                "returned `cursor`",
            ),
            (
                Endpoint::CancelMessages,
                "are cancelled per call",
                "until `cancelled` is 0",
            ),
        ] {
            let m = refusal(endpoint, "", "");
            assert!(m.contains(done) && m.contains(repeat), "{m}");
        }
    }
}
