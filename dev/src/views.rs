//! The JSON shapes of the API answers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::model::{
    BulkAction, DlqEntry, FlowKey, FlowSpec, Headers, LogRecord, MessageInfo, Queue, Redact, Reply,
    Schedule, UrlGroup,
};

fn redacted(data: &[u8]) -> String {
    let hash = Sha256::digest(data);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("REDACTED:{hex}")
}

fn headers_view(headers: &Headers, redact: &Redact) -> Value {
    let map: Map<String, Value> = headers
        .iter()
        .map(|(name, values)| {
            let hide = redact.all_headers || redact.headers.contains(&name.to_ascii_lowercase());
            let values: Vec<String> = if hide {
                values.iter().map(|v| redacted(v.as_bytes())).collect()
            } else {
                values.clone()
            };
            (name.clone(), json!(values))
        })
        .collect();
    Value::Object(map)
}

/// Sets `body` (UTF-8 text) or `bodyBase64` (anything else).
fn put_body(map: &mut Map<String, Value>, text_key: &str, b64_key: &str, body: &[u8], hide: bool) {
    if hide {
        map.insert(text_key.into(), json!(redacted(body)));
    } else if let Ok(text) = std::str::from_utf8(body) {
        map.insert(text_key.into(), json!(text));
    } else {
        map.insert(b64_key.into(), json!(STANDARD.encode(body)));
    }
}

fn put_opt(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.into(), v.into());
    }
}

/// A message's flow control settings: `period` is always there (1 second
/// unless set), `parallelism` and `rate` only when set, as the service
/// shows them.
fn put_flow(m: &mut Map<String, Value>, flow: Option<&FlowSpec>) {
    if let Some(f) = flow {
        m.insert("flowControlKey".into(), json!(f.key));
        put_opt(m, "parallelism", f.parallelism);
        put_opt(m, "rate", f.rate);
        m.insert("period".into(), json!(f.period_secs.unwrap_or(1)));
    }
}

/// The `Message` shape.
pub(crate) fn message(info: &MessageInfo) -> Value {
    let opts = &info.opts;
    let mut m = Map::new();
    m.insert("messageId".into(), json!(info.id));
    m.insert("url".into(), json!(info.url));
    m.insert("method".into(), json!(opts.method));
    m.insert("header".into(), headers_view(&opts.header, &opts.redact));
    put_body(
        &mut m,
        "body",
        "bodyBase64",
        &info.body.bytes,
        opts.redact.body,
    );
    m.insert("maxRetries".into(), json!(opts.max_retries()));
    m.insert(
        "notBefore".into(),
        json!(info.not_before.unwrap_or(info.created_at)),
    );
    m.insert("createdAt".into(), json!(info.created_at));
    m.insert("callerIP".into(), json!(info.caller_ip));
    m.insert("labels".into(), json!(opts.labels));
    put_opt(&mut m, "label", opts.labels.first().cloned());
    put_opt(&mut m, "topicName", info.topic.clone());
    put_opt(&mut m, "endpointName", info.endpoint.clone());
    put_opt(&mut m, "queueName", info.queue.clone());
    put_opt(&mut m, "scheduleId", info.schedule_id.clone());
    put_opt(&mut m, "retryDelayExpression", opts.retry_delay.clone());
    if let Some(cb) = &opts.callback {
        m.insert("callback".into(), json!(cb.url));
        m.insert("callbackHeader".into(), json!(cb.headers));
    }
    if let Some(cb) = &opts.failure_callback {
        m.insert("failureCallback".into(), json!(cb.url));
        m.insert("failureCallbackHeader".into(), json!(cb.headers));
    }
    put_flow(&mut m, opts.flow.as_deref());
    Value::Object(m)
}

/// The `DLQMessage` shape: the message, its DLQ id and the last answer.
pub(crate) fn dlq_message(entry: &DlqEntry) -> Value {
    let mut v = message(&entry.info);
    if let Some(m) = v.as_object_mut() {
        m.insert("dlqId".into(), json!(entry.dlq_id));
        put_reply(m, &entry.reply);
    }
    v
}

fn put_reply(m: &mut Map<String, Value>, reply: &Reply) {
    m.insert("responseStatus".into(), json!(reply.status));
    m.insert("responseHeader".into(), json!(reply.headers));
    put_body(m, "responseBody", "responseBodyBase64", &reply.body, false);
}

/// The `LogEntry` shape.
pub(crate) fn log_entry(r: &LogRecord) -> Value {
    let info = &r.info;
    let opts = &info.opts;
    let mut m = Map::new();
    m.insert("time".into(), json!(r.time));
    m.insert("messageId".into(), json!(info.id));
    m.insert("state".into(), json!(r.state.as_str()));
    m.insert("url".into(), json!(info.url));
    m.insert("method".into(), json!(opts.method));
    m.insert("header".into(), headers_view(&opts.header, &opts.redact));
    let body = if opts.redact.body {
        redacted(&info.body.bytes)
    } else {
        STANDARD.encode(&info.body.bytes)
    };
    m.insert("body".into(), json!(body));
    m.insert("maxRetries".into(), json!(opts.max_retries()));
    m.insert("labels".into(), json!(opts.labels));
    put_opt(&mut m, "label", opts.labels.first().cloned());
    put_opt(&mut m, "error", r.error.clone());
    put_opt(&mut m, "nextDeliveryTime", r.next_delivery_time);
    put_opt(&mut m, "topicName", info.topic.clone());
    put_opt(&mut m, "endpointName", info.endpoint.clone());
    put_opt(&mut m, "scheduleId", info.schedule_id.clone());
    put_opt(&mut m, "queueName", info.queue.clone());
    put_opt(&mut m, "timeout", opts.timeout_ms);
    put_opt(&mut m, "retryDelayExpression", opts.retry_delay.clone());
    put_opt(
        &mut m,
        "flowControlKey",
        opts.flow.as_ref().map(|f| f.key.clone()),
    );
    if let Some(cb) = &opts.callback {
        m.insert("callback".into(), json!(cb.url));
        m.insert("callbackHeaders".into(), json!(cb.headers));
    }
    if let Some(cb) = &opts.failure_callback {
        m.insert("failureCallback".into(), json!(cb.url));
        m.insert("failureCallbackHeaders".into(), json!(cb.headers));
    }
    if let Some(reply) = &r.reply {
        m.insert("responseStatus".into(), json!(reply.status));
        m.insert("responseHeaders".into(), json!(reply.headers));
        m.insert("responseBody".into(), json!(STANDARD.encode(&reply.body)));
    }
    Value::Object(m)
}

/// The `Queue` shape; `lag` counts the waiting messages.
pub(crate) fn queue(q: &Queue, lag: usize) -> Value {
    json!({
        "name": q.name,
        "createdAt": q.created_at,
        "updatedAt": q.updated_at,
        "parallelism": q.parallelism,
        "paused": q.paused,
        "lag": lag,
    })
}

/// The `URLGroup` shape.
pub(crate) fn url_group(g: &UrlGroup) -> Value {
    let endpoints: Vec<Value> = g
        .endpoints
        .iter()
        .map(|e| {
            let mut m = Map::new();
            m.insert("url".into(), json!(e.url));
            put_opt(&mut m, "name", e.name.clone());
            Value::Object(m)
        })
        .collect();
    json!({
        "name": g.name,
        "createdAt": g.created_at,
        "updatedAt": g.updated_at,
        "endpoints": endpoints,
    })
}

/// The `Schedule` shape, with the service's field names (`callerIP`).
pub(crate) fn schedule(s: &Schedule) -> Value {
    let opts = &s.opts;
    let mut m = Map::new();
    m.insert("scheduleId".into(), json!(s.id));
    m.insert("cron".into(), json!(s.cron_text));
    m.insert("destination".into(), json!(s.destination));
    m.insert("createdAt".into(), json!(s.created_at));
    m.insert("method".into(), json!(opts.method));
    m.insert("header".into(), headers_view(&opts.header, &opts.redact));
    // A schedule without a body has no `body` field at all.
    if !s.body.bytes.is_empty() {
        put_body(
            &mut m,
            "body",
            "bodyBase64",
            &s.body.bytes,
            opts.redact.body,
        );
    }
    m.insert("retries".into(), json!(opts.max_retries()));
    m.insert("callerIP".into(), json!(s.caller_ip));
    m.insert("isPaused".into(), json!(s.paused));
    m.insert("labels".into(), json!(opts.labels));
    m.insert("lastScheduleStates".into(), json!(s.last_states));
    put_opt(&mut m, "label", opts.labels.first().cloned());
    put_opt(&mut m, "delay", opts.delay_ms.map(|d| d / 1000));
    put_opt(&mut m, "timeout", opts.timeout_ms.map(|t| t / 1000));
    put_opt(&mut m, "queueName", s.queue.clone());
    put_opt(
        &mut m,
        "callback",
        opts.callback.as_ref().map(|c| c.url.clone()),
    );
    put_opt(
        &mut m,
        "failureCallback",
        opts.failure_callback.as_ref().map(|c| c.url.clone()),
    );
    put_opt(&mut m, "retryDelayExpression", opts.retry_delay.clone());
    put_opt(&mut m, "lastScheduleTime", s.last_time);
    put_opt(&mut m, "nextScheduleTime", s.next_time);
    put_opt(&mut m, "error", s.error.clone());
    put_flow(&mut m, opts.flow.as_deref());
    Value::Object(m)
}

/// The `FlowControlKey` shape; `running` and `waiting` count its messages.
pub(crate) fn flow_key(f: &FlowKey, running: usize, waiting: usize) -> Value {
    let mut m = Map::new();
    m.insert("flowControlKey".into(), json!(f.key));
    m.insert("waitListSize".into(), json!(waiting));
    m.insert("parallelismCount".into(), json!(running));
    m.insert("rateCount".into(), json!(f.rate_count));
    m.insert("ratePeriod".into(), json!(f.period_secs));
    m.insert("ratePeriodStart".into(), json!(f.period_start / 1000));
    m.insert("isPinnedParallelism".into(), json!(f.pinned_parallelism));
    m.insert("isPinnedRate".into(), json!(f.pinned_rate));
    m.insert("isPaused".into(), json!(f.paused));
    put_opt(&mut m, "parallelismMax", f.parallelism);
    put_opt(&mut m, "rateMax", f.rate);
    Value::Object(m)
}

/// The `BulkAction` shape (bulk actions finish before they are answered).
pub(crate) fn bulk_action(a: &BulkAction) -> Value {
    json!({
        "actionId": a.id,
        "kind": "cancel",
        "state": "FINISHED",
        "total": a.total,
        "processed": a.processed,
        "createdAt": a.created_at,
        "completedAt": a.completed_at,
        "filter": a.filter,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use axum::body::Bytes;

    use super::*;
    use crate::model::{Kind, Options};

    fn schedule(opts: Options) -> Schedule {
        schedule_with_body(opts, Bytes::new())
    }

    fn schedule_with_body(opts: Options, body: Bytes) -> Schedule {
        Schedule {
            id: "scd_1".into(),
            cron_text: "* * * * *".into(),
            cron: crate::scheduler::parse_cron("* * * * *", false).unwrap(),
            destination: "https://example.com".into(),
            queue: None,
            created_at: 1,
            caller_ip: "127.0.0.1".into(),
            opts: Arc::new(opts),
            body: crate::model::Payload::new(body),
            paused: false,
            last_time: None,
            next_time: None,
            last_states: BTreeMap::new(),
            error: None,
        }
    }

    fn message(opts: Options) -> MessageInfo {
        MessageInfo {
            id: "msg_1".into(),
            kind: Kind::Message,
            url: "https://example.com".into(),
            topic: None,
            endpoint: None,
            queue: None,
            schedule_id: None,
            caller_ip: "127.0.0.1".into(),
            created_at: 1,
            not_before: None,
            body: Arc::default(),
            opts: Arc::new(opts),
            held: Default::default(),
        }
    }

    #[test]
    fn a_schedule_without_a_body_has_no_body_field() {
        let v = super::schedule(&schedule(Options::default()));
        let m = v.as_object().unwrap();
        assert!(
            !m.contains_key("body") && !m.contains_key("bodyBase64"),
            "{v}"
        );
        let v = super::schedule(&schedule_with_body(
            Options::default(),
            Bytes::from_static(b"hi"),
        ));
        assert_eq!(v["body"], "hi");
    }

    #[test]
    fn a_flow_control_key_without_a_period_shows_period_1_and_no_rate() {
        let flow = FlowSpec {
            key: "k".into(),
            parallelism: Some(2),
            rate: None,
            period_secs: None,
        };
        let opts = || Options {
            flow: Some(Box::new(flow.clone())),
            ..Options::default()
        };
        for v in [
            super::message(&message(opts())),
            super::schedule(&schedule(opts())),
        ] {
            assert_eq!(v["flowControlKey"], "k", "{v}");
            assert_eq!(v["parallelism"], 2, "{v}");
            assert_eq!(v["period"], 1, "{v}");
            assert!(v.get("rate").is_none(), "{v}");
        }
        let v = super::message(&message(Options {
            flow: Some(Box::new(FlowSpec {
                rate: Some(3),
                period_secs: Some(5403),
                ..flow.clone()
            })),
            ..Options::default()
        }));
        assert_eq!(v["rate"], 3);
        assert_eq!(v["period"], 5403);
    }
}
