//! Filters of the bulk and list endpoints: multi-value filters match any of
//! their values, different filters must all match.

use crate::error::ApiResult;
use crate::model::MessageInfo;
use crate::query::Params;

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

/// Query parameters that select nothing: paging and call options.
pub(crate) const NOT_FILTERS: &[&str] = &["cursor", "count", "async", "qstash_token"];

impl Filter {
    /// Reads every filter parameter there is; unknown ones are ignored.
    pub(crate) fn from_params(p: &Params) -> ApiResult<Self> {
        let mut message_id = p.list("messageId");
        message_id.extend(p.list("messageIds"));
        let mut caller_ip = p.list("callerIp");
        caller_ip.extend(p.list("callerIP"));
        let mut response_status = Vec::new();
        for s in p.list("responseStatus") {
            response_status.push(s.parse().map_err(|_| {
                crate::error::ApiError::bad_request(format!("invalid `responseStatus`: `{s}`"))
            })?);
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
        let (host, path) = host_and_path(&info.url);
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
