//! Typed message options: what QStash users set most, checked before sending.
//!
//! [`MessageOptions`] becomes the `Upstash-*` request headers that publish,
//! enqueue, create schedule, batch entries and DLQ retries understand,
//! including the wildcard families the generated methods cannot send
//! (`Upstash-Forward-*`, `Upstash-Callback-*`, `Upstash-Failure-Callback-*`).
//! [`Body`] carries a payload with its `Content-Type`.
//!
//! ```no_run
//! use std::time::Duration;
//! use qstash::{Body, Callback, FlowControl, MessageOptions};
//!
//! # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
//! let options = MessageOptions::new()
//!     .delay(Duration::from_secs(60))
//!     .retries(3)
//!     .forward_header("X-Trace-Id", "abc123")
//!     .deduplication_id("order-42")
//!     .flow_control(FlowControl::new("billing-api").parallelism(5))
//!     .failure_callback(Callback::new("https://example.com/failed"))
//!     .label("billing");
//! let sent = client
//!     .publish()
//!     .destination("https://example.com/hooks/orders")
//!     .payload(Body::json(&serde_json::json!({"order": 42}))?)
//!     .options(options)
//!     .send()
//!     .await?;
//! println!("{sent:?}");
//! # Ok(()) }
//! ```

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::Error;

/// The longest delay accepted: a year. Anything longer is a unit mistake.
pub const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// The longest flow-control period accepted: a week.
pub const MAX_FLOW_CONTROL_PERIOD: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// HTTP method QStash uses to deliver a message or a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMethod {
    /// `GET`
    Get,
    /// `POST` (QStash's default)
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl DeliveryMethod {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryMethod::Get => "GET",
            DeliveryMethod::Post => "POST",
            DeliveryMethod::Put => "PUT",
            DeliveryMethod::Patch => "PATCH",
            DeliveryMethod::Delete => "DELETE",
        }
    }
}

/// What QStash hides in logs, the dashboard and API responses.
///
/// Sent as `Upstash-Redact-Fields`: `body`, `header` (every header: the
/// service's spelling, where the published description says `headers`; see
/// `openapi/qstash/errata.yaml`) and `header[Name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redact {
    /// The body.
    Body,
    /// Every header (sent as `header`).
    Headers,
    /// One header, by name.
    Header(String),
}

/// Delivery limits shared by every message with the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct FlowControl {
    key: String,
    parallelism: Option<u32>,
    rate: Option<u32>,
    period: Option<Duration>,
}

impl FlowControl {
    /// Limits under `key`; set at least one of parallelism or rate.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            parallelism: None,
            rate: None,
            period: None,
        }
    }

    /// At most `n` deliveries in flight at once (at least 1).
    pub fn parallelism(mut self, n: u32) -> Self {
        self.parallelism = Some(n);
        self
    }

    /// At most `n` deliveries per period (at least 1).
    pub fn rate(mut self, n: u32) -> Self {
        self.rate = Some(n);
        self
    }

    /// The period of [`rate`](Self::rate) (default 1 s; at most a week).
    pub fn period(mut self, period: Duration) -> Self {
        self.period = Some(period);
        self
    }
}

/// A callback: a URL QStash calls after delivery, with its own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Callback {
    url: String,
    method: Option<DeliveryMethod>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    retry_delay: Option<String>,
    forward_headers: Vec<(String, String)>,
}

impl Callback {
    /// Calls `url` (http or https).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            method: None,
            timeout: None,
            retries: None,
            retry_delay: None,
            forward_headers: Vec::new(),
        }
    }

    /// The HTTP method of the callback.
    pub fn method(mut self, method: DeliveryMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// How long the callback may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many times a failed callback is retried.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Delay between callback retries, as a QStash expression (`1000 * pow(2, retried)`).
    pub fn retry_delay(mut self, expression: impl Into<String>) -> Self {
        self.retry_delay = Some(expression.into());
        self
    }

    /// A header sent to the callback URL.
    pub fn forward_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.forward_headers.push((name.into(), value.into()));
        self
    }
}

/// Every option of a QStash message. Unset options are not sent, so
/// QStash's defaults apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct MessageOptions {
    forward_headers: Vec<(String, String)>,
    delay: Option<Duration>,
    not_before: Option<SystemTime>,
    retries: Option<u32>,
    retry_delay: Option<String>,
    timeout: Option<Duration>,
    method: Option<DeliveryMethod>,
    callback: Option<Callback>,
    failure_callback: Option<Callback>,
    deduplication_id: Option<String>,
    content_based_deduplication: bool,
    flow_control: Option<FlowControl>,
    labels: Vec<String>,
    redact: Vec<Redact>,
    cron: Option<String>,
    schedule_id: Option<String>,
}

/// Where the options go, which decides what is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Publish, batch entries without a queue: everything but schedule settings.
    Message,
    /// Enqueue, batch entries with a queue: as [`Target::Message`], without
    /// delay or not-before, which the service answers with an error
    /// (service evidence row 15).
    Enqueue,
    /// Create schedule: everything, cron required.
    Schedule,
    /// DLQ retry: overrides of the original message's settings.
    Retry,
}

impl MessageOptions {
    /// No options set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A header for the destination. Sent as `Upstash-Forward-<name>`,
    /// except `Content-Type` and `Upstash-*` headers, which are QStash's own
    /// and go as they are (as in the official SDKs).
    pub fn forward_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.forward_headers.push((name.into(), value.into()));
        self
    }

    /// Delivers after this delay (whole seconds, rounded up; at most [`MAX_DELAY`]).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Delivers no earlier than this time (takes precedence over a delay).
    pub fn not_before(mut self, at: SystemTime) -> Self {
        self.not_before = Some(at);
        self
    }

    /// How many times a failed delivery is retried (QStash's default: 3).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Delay between delivery retries, as a QStash expression over
    /// `retried` (`1000 * pow(2, retried)`), in milliseconds.
    pub fn retry_delay(mut self, expression: impl Into<String>) -> Self {
        self.retry_delay = Some(expression.into());
        self
    }

    /// How long one delivery may take (whole seconds, rounded up).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The HTTP method of the delivery (QStash's default: POST).
    pub fn method(mut self, method: DeliveryMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// Called after every delivery attempt outcome.
    pub fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }

    /// Called when delivery failed for good.
    pub fn failure_callback(mut self, callback: Callback) -> Self {
        self.failure_callback = Some(callback);
        self
    }

    /// Ignores the message if one with this id was sent in the last 10
    /// minutes. Also makes publishing safe to retry on server errors.
    pub fn deduplication_id(mut self, id: impl Into<String>) -> Self {
        self.deduplication_id = Some(id.into());
        self
    }

    /// Deduplicates by a hash of the body. Also makes publishing safe to
    /// retry on server errors.
    pub fn content_based_deduplication(mut self) -> Self {
        self.content_based_deduplication = true;
        self
    }

    /// Delivery limits shared by messages with the same key.
    pub fn flow_control(mut self, flow_control: FlowControl) -> Self {
        self.flow_control = Some(flow_control);
        self
    }

    /// Adds a label (for filtering logs and the DLQ); call again for more.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.labels.push(label.into());
        self
    }

    /// Hides a field in logs, the dashboard and API responses; call again for more.
    pub fn redact(mut self, field: Redact) -> Self {
        self.redact.push(field);
        self
    }

    /// The schedule's cron expression (create schedule only).
    pub fn cron(mut self, cron: impl Into<String>) -> Self {
        self.cron = Some(cron.into());
        self
    }

    /// The schedule's id: creating with an existing id updates that
    /// schedule (create schedule only).
    pub fn schedule_id(mut self, id: impl Into<String>) -> Self {
        self.schedule_id = Some(id.into());
        self
    }

    pub(crate) fn cron_expression(&self) -> Option<&str> {
        self.cron.as_deref()
    }

    /// Checks every option and turns them into request headers. The error
    /// names the option at fault.
    pub(crate) fn to_headers(&self, target: Target) -> Result<HeaderMap, Error> {
        if target == Target::Enqueue {
            let forwarded = |header: &str| {
                self.forward_headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case(header))
            };
            for (option, set) in [
                ("delay", self.delay.is_some() || forwarded("Upstash-Delay")),
                (
                    "not_before",
                    self.not_before.is_some() || forwarded("Upstash-Not-Before"),
                ),
            ] {
                if set {
                    return Err(invalid(
                        option,
                        "is refused by the service on enqueue (a queue delivers in order); publish with a delay instead, or enqueue without one",
                    ));
                }
            }
        }
        let mut h = Headers::default();
        for (name, value) in &self.forward_headers {
            let lower = name.to_ascii_lowercase();
            let sent = if lower == "content-type" || lower.starts_with("upstash-") {
                name.clone()
            } else {
                format!("Upstash-Forward-{name}")
            };
            h.add("forward_header", &sent, value)?;
        }
        if let Some(delay) = self.delay {
            if delay > MAX_DELAY {
                return Err(invalid("delay", format!("{delay:?} is longer than a year")));
            }
            h.add("delay", "Upstash-Delay", &seconds(delay))?;
        }
        if let Some(at) = self.not_before {
            let secs = at
                .duration_since(UNIX_EPOCH)
                .map_err(|_| invalid("not_before", "is before 1970"))?
                .as_secs();
            h.add("not_before", "Upstash-Not-Before", &secs.to_string())?;
        }
        if let Some(n) = self.retries {
            h.add("retries", "Upstash-Retries", &n.to_string())?;
        }
        if let Some(expr) = &self.retry_delay {
            non_empty("retry_delay", expr)?;
            h.add("retry_delay", "Upstash-Retry-Delay", expr)?;
        }
        if let Some(t) = self.timeout {
            positive("timeout", t)?;
            h.add("timeout", "Upstash-Timeout", &seconds(t))?;
        }
        if let Some(m) = self.method {
            h.add("method", "Upstash-Method", m.as_str())?;
        }
        for (option, prefix, callback) in [
            ("callback", "Upstash-Callback", &self.callback),
            (
                "failure_callback",
                "Upstash-Failure-Callback",
                &self.failure_callback,
            ),
        ] {
            if let Some(cb) = callback {
                h.callback(option, prefix, cb)?;
            }
        }
        if let Some(id) = &self.deduplication_id {
            non_empty("deduplication_id", id)?;
            h.add("deduplication_id", "Upstash-Deduplication-Id", id)?;
        }
        if self.content_based_deduplication {
            h.add(
                "content_based_deduplication",
                "Upstash-Content-Based-Deduplication",
                "true",
            )?;
        }
        if let Some(fc) = &self.flow_control {
            h.flow_control(fc)?;
        }
        if !self.labels.is_empty() {
            for label in &self.labels {
                non_empty("label", label)?;
                if label.contains(',') {
                    return Err(invalid(
                        "label",
                        format!("{label:?} contains a comma, which separates labels"),
                    ));
                }
            }
            h.add("label", "Upstash-Label", &self.labels.join(","))?;
        }
        if !self.redact.is_empty() {
            let mut fields = Vec::new();
            for r in &self.redact {
                fields.push(match r {
                    Redact::Body => "body".to_string(),
                    Redact::Headers => "header".to_string(),
                    Redact::Header(name) => {
                        HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                            invalid("redact", format!("{name:?} is not a header name"))
                        })?;
                        format!("header[{name}]")
                    }
                });
            }
            h.add("redact", "Upstash-Redact-Fields", &fields.join(","))?;
        }
        match target {
            Target::Schedule => {
                // Without it here, cron may come from the generated
                // `upstash_cron` setter; the server rejects a schedule with none.
                if let Some(cron) = &self.cron {
                    non_empty("cron", cron)?;
                    h.add("cron", "Upstash-Cron", cron)?;
                }
                if let Some(id) = &self.schedule_id {
                    non_empty("schedule_id", id)?;
                    h.add("schedule_id", "Upstash-Schedule-Id", id)?;
                }
            }
            Target::Message | Target::Enqueue | Target::Retry => {
                for (option, set) in [
                    ("cron", self.cron.is_some()),
                    ("schedule_id", self.schedule_id.is_some()),
                ] {
                    if set {
                        return Err(invalid(option, "only applies when creating a schedule"));
                    }
                }
            }
        }
        Ok(h.0)
    }
}

/// Request headers built from options, each checked as it is added (the
/// error names the option).
#[derive(Default)]
pub(crate) struct Headers(pub(crate) HeaderMap);

impl Headers {
    pub(crate) fn add(&mut self, option: &str, name: &str, value: &str) -> Result<(), Error> {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(option, format!("{name:?} is not a valid header name")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            invalid(
                option,
                format!("the value for {name} is not a valid header value"),
            )
        })?;
        self.0.append(header, value);
        Ok(())
    }

    fn callback(&mut self, option: &str, prefix: &str, cb: &Callback) -> Result<(), Error> {
        let url = reqwest::Url::parse(&cb.url)
            .map_err(|e| invalid(option, format!("{:?} is not a URL: {e}", cb.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                option,
                format!("{:?} must be an http or https URL", cb.url),
            ));
        }
        self.add(option, prefix, &cb.url)?;
        if let Some(m) = cb.method {
            self.add(option, &format!("{prefix}-Method"), m.as_str())?;
        }
        if let Some(t) = cb.timeout {
            positive(option, t)?;
            self.add(option, &format!("{prefix}-Timeout"), &seconds(t))?;
        }
        if let Some(n) = cb.retries {
            self.add(option, &format!("{prefix}-Retries"), &n.to_string())?;
        }
        if let Some(expr) = &cb.retry_delay {
            non_empty(option, expr)?;
            self.add(option, &format!("{prefix}-Retry-Delay"), expr)?;
        }
        for (name, value) in &cb.forward_headers {
            self.add(option, &format!("{prefix}-Forward-{name}"), value)?;
        }
        Ok(())
    }

    fn flow_control(&mut self, fc: &FlowControl) -> Result<(), Error> {
        non_empty("flow_control", &fc.key)?;
        let mut value = String::new();
        if let Some(p) = fc.parallelism {
            if p == 0 {
                return Err(invalid("flow_control", "parallelism must be at least 1"));
            }
            let _ = write!(value, "parallelism={p}");
        }
        if let Some(r) = fc.rate {
            if r == 0 {
                return Err(invalid("flow_control", "rate must be at least 1"));
            }
            let sep = if value.is_empty() { "" } else { ", " };
            let _ = write!(value, "{sep}rate={r}");
        }
        if let Some(period) = fc.period {
            if fc.rate.is_none() {
                return Err(invalid("flow_control", "a period needs a rate"));
            }
            positive("flow_control", period)?;
            if period > MAX_FLOW_CONTROL_PERIOD {
                return Err(invalid(
                    "flow_control",
                    format!("period {period:?} is longer than a week"),
                ));
            }
            let _ = write!(value, ", period={}", seconds(period));
        }
        if value.is_empty() {
            return Err(invalid(
                "flow_control",
                "set a parallelism or a rate for the key",
            ));
        }
        self.add("flow_control", "Upstash-Flow-Control-Key", &fc.key)?;
        self.add("flow_control", "Upstash-Flow-Control-Value", &value)
    }
}

pub(crate) fn invalid(option: &str, reason: impl Into<String>) -> Error {
    Error::InvalidOption {
        option: option.to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn non_empty(option: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(invalid(option, "is empty"));
    }
    Ok(())
}

fn positive(option: &str, d: Duration) -> Result<(), Error> {
    if d.is_zero() {
        return Err(invalid(option, "must be longer than zero"));
    }
    Ok(())
}

/// `Duration` as QStash's `<n>s`, whole seconds rounded up.
fn seconds(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{secs}s")
}

/// A message body with its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: String,
}

impl Body {
    /// Any `Serialize` value as `application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| invalid("body", format!("cannot be serialized to JSON: {e}")))?;
        Ok(Self {
            bytes: bytes.into(),
            content_type: "application/json".into(),
        })
    }

    /// Text as `text/plain; charset=utf-8`.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            bytes: Bytes::from(text.into()),
            content_type: "text/plain; charset=utf-8".into(),
        }
    }

    /// Bytes with the given content type.
    pub fn bytes(bytes: impl Into<Bytes>, content_type: impl Into<String>) -> Self {
        Self {
            bytes: bytes.into(),
            content_type: content_type.into(),
        }
    }

    /// The body's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The body's content type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(o: MessageOptions) -> Vec<(String, String)> {
        o.to_headers(Target::Message)
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect()
    }

    fn refused(o: MessageOptions, target: Target) -> (String, String) {
        match o.to_headers(target).unwrap_err() {
            Error::InvalidOption { option, reason } => (option, reason),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn forwarded_headers_follow_the_prefix_rules() {
        let h = headers(
            MessageOptions::new()
                .forward_header("X-Trace", "1")
                .forward_header("content-type", "text/csv")
                .forward_header("Upstash-Retries", "2"),
        );
        assert_eq!(
            h,
            [
                ("upstash-forward-x-trace".into(), "1".into()),
                ("content-type".into(), "text/csv".into()),
                ("upstash-retries".into(), "2".into())
            ]
        );
    }

    #[test]
    fn scalar_options_have_their_header_formats() {
        let h = headers(
            MessageOptions::new()
                .delay(Duration::from_millis(1500))
                .not_before(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
                .retries(0)
                .retry_delay("1000 * pow(2, retried)")
                .timeout(Duration::from_secs(30))
                .method(DeliveryMethod::Put)
                .deduplication_id("d-1")
                .content_based_deduplication()
                .label("a")
                .label("b")
                .redact(Redact::Body)
                .redact(Redact::Header("Authorization".into())),
        );
        let get = |n: &str| h.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("upstash-delay"), Some("2s"));
        assert_eq!(get("upstash-not-before"), Some("1700000000"));
        assert_eq!(get("upstash-retries"), Some("0"));
        assert_eq!(get("upstash-retry-delay"), Some("1000 * pow(2, retried)"));
        assert_eq!(get("upstash-timeout"), Some("30s"));
        assert_eq!(get("upstash-method"), Some("PUT"));
        assert_eq!(get("upstash-deduplication-id"), Some("d-1"));
        assert_eq!(get("upstash-content-based-deduplication"), Some("true"));
        assert_eq!(get("upstash-label"), Some("a,b"));
        assert_eq!(
            get("upstash-redact-fields"),
            Some("body,header[Authorization]")
        );
    }

    #[test]
    fn callbacks_carry_their_own_settings() {
        let h = headers(
            MessageOptions::new()
                .callback(
                    Callback::new("https://cb.example/ok")
                        .method(DeliveryMethod::Get)
                        .timeout(Duration::from_secs(5))
                        .retries(1)
                        .retry_delay("500")
                        .forward_header("X-Cb", "y"),
                )
                .failure_callback(
                    Callback::new("http://cb.example/fail").forward_header("X-F", "z"),
                ),
        );
        assert_eq!(
            h,
            [
                ("upstash-callback", "https://cb.example/ok"),
                ("upstash-callback-method", "GET"),
                ("upstash-callback-timeout", "5s"),
                ("upstash-callback-retries", "1"),
                ("upstash-callback-retry-delay", "500"),
                ("upstash-callback-forward-x-cb", "y"),
                ("upstash-failure-callback", "http://cb.example/fail"),
                ("upstash-failure-callback-forward-x-f", "z"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn flow_control_value_format() {
        let h = headers(
            MessageOptions::new().flow_control(
                FlowControl::new("k")
                    .parallelism(2)
                    .rate(10)
                    .period(Duration::from_secs(60)),
            ),
        );
        assert_eq!(h[0], ("upstash-flow-control-key".into(), "k".into()));
        assert_eq!(
            h[1],
            (
                "upstash-flow-control-value".into(),
                "parallelism=2, rate=10, period=60s".into()
            )
        );
        let h = headers(MessageOptions::new().flow_control(FlowControl::new("k").rate(3)));
        assert_eq!(h[1].1, "rate=3");
    }

    #[test]
    fn schedule_options_only_for_schedules() {
        let o = MessageOptions::new().cron("*/5 * * * *").schedule_id("s1");
        let h = o.to_headers(Target::Schedule).unwrap();
        assert_eq!(h["upstash-cron"], "*/5 * * * *");
        assert_eq!(h["upstash-schedule-id"], "s1");
        assert_eq!(refused(o.clone(), Target::Message).0, "cron");
        assert_eq!(refused(o, Target::Retry).0, "cron");
        assert_eq!(
            refused(MessageOptions::new().cron(""), Target::Schedule).0,
            "cron"
        );
    }

    #[test]
    fn invalid_options_are_named() {
        let cases = [
            (
                MessageOptions::new().forward_header("Bad Name", "v"),
                "forward_header",
            ),
            (
                MessageOptions::new().forward_header("X-Ok", "line\nbreak"),
                "forward_header",
            ),
            (
                MessageOptions::new().delay(MAX_DELAY + Duration::from_secs(1)),
                "delay",
            ),
            (
                MessageOptions::new().not_before(UNIX_EPOCH - Duration::from_secs(1)),
                "not_before",
            ),
            (MessageOptions::new().timeout(Duration::ZERO), "timeout"),
            (MessageOptions::new().label("a,b"), "label"),
            (MessageOptions::new().label(" "), "label"),
            (
                MessageOptions::new().flow_control(FlowControl::new("k").parallelism(0)),
                "flow_control",
            ),
            (
                MessageOptions::new().flow_control(FlowControl::new("k").rate(0)),
                "flow_control",
            ),
            (
                MessageOptions::new().flow_control(FlowControl::new("k")),
                "flow_control",
            ),
            (
                MessageOptions::new().flow_control(FlowControl::new("").rate(1)),
                "flow_control",
            ),
            (
                MessageOptions::new().flow_control(
                    FlowControl::new("k")
                        .rate(1)
                        .period(Duration::from_secs(8 * 24 * 3600)),
                ),
                "flow_control",
            ),
            (
                MessageOptions::new().flow_control(
                    FlowControl::new("k")
                        .parallelism(1)
                        .period(Duration::from_secs(1)),
                ),
                "flow_control",
            ),
            (
                MessageOptions::new().callback(Callback::new("not a url")),
                "callback",
            ),
            (
                MessageOptions::new().failure_callback(Callback::new("ftp://x/y")),
                "failure_callback",
            ),
            (
                MessageOptions::new().deduplication_id(""),
                "deduplication_id",
            ),
            (
                MessageOptions::new().redact(Redact::Header("a b".into())),
                "redact",
            ),
        ];
        for (options, option) in cases {
            let (got, reason) = refused(options, Target::Message);
            assert_eq!(got, option, "{reason}");
            assert!(!reason.is_empty());
        }
    }

    #[test]
    fn bodies_carry_their_content_type() {
        let b = Body::json(&serde_json::json!({"a": 1})).unwrap();
        assert_eq!(
            (b.as_bytes(), b.content_type()),
            (&br#"{"a":1}"#[..], "application/json")
        );
        assert_eq!(Body::text("hi").content_type(), "text/plain; charset=utf-8");
        assert_eq!(
            Body::bytes(vec![0u8, 1], "application/x-bin").as_bytes(),
            [0, 1]
        );
    }
}
