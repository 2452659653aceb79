//! Reading the `Upstash-*` headers of publish, enqueue, batch and schedule
//! requests into message [`Options`].
//!
//! # Bounds
//!
//! Every setting is bounded when it is read, and a value past its bound is
//! **refused with `400 Bad Request`**, the error naming the header and the
//! limit (nothing is clamped silently):
//!
//! | Setting | Largest accepted |
//! |---|---|
//! | `Upstash-Retries`, `Upstash-(Failure-)Callback-Retries` | [`MAX_RETRIES`] (100) |
//! | `Upstash-Timeout`, `Upstash-(Failure-)Callback-Timeout` | [`MAX_TIMEOUT_MS`] (2 hours) |
//! | `Upstash-Delay` | [`MAX_DELAY_MS`] (365 days) |
//! | `Upstash-Not-Before` | 365 days from now (and not negative) |
//! | `Upstash-Retry-Delay` | [`MAX_RETRY_DELAY_LEN`] bytes (1024) |
//! | flow control `parallelism` | [`MAX_FLOW_PARALLELISM`] (1000) |
//! | flow control `rate` | [`MAX_FLOW_RATE`] (1,000,000 per period) |
//! | flow control `period` | [`MAX_FLOW_PERIOD_SECS`] (7 days) |
//!
//! The same flow control bounds hold for `POST /v2/flowControl/{key}/pin`.
//! With them, no time computed from a message (delays, retries, rate
//! periods) comes near the range of an `i64` of milliseconds.

use axum::http::HeaderMap;

use crate::clock::{now_ms, parse_duration};
use crate::error::{ApiError, ApiResult};
use crate::model::{CallbackSpec, FlowSpec, Headers, Options, Redact};

/// Which endpoint the headers came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Publish,
    /// Enqueue refuses delays, as the service does.
    Enqueue,
    Schedule,
}

/// Largest retry budget (`Upstash-Retries`, callback retries).
pub(crate) const MAX_RETRIES: u32 = 100;
/// Longest delivery timeout (`Upstash-Timeout`, callback timeouts): 2 hours.
pub(crate) const MAX_TIMEOUT_MS: u64 = 2 * 3_600_000;
/// Longest delay (`Upstash-Delay`, and `Upstash-Not-Before` from now):
/// 365 days.
pub(crate) const MAX_DELAY_MS: u64 = 365 * 86_400_000;
/// Longest `Upstash-Retry-Delay` expression, in bytes.
pub(crate) const MAX_RETRY_DELAY_LEN: usize = 1024;
/// Largest flow control parallelism.
pub(crate) const MAX_FLOW_PARALLELISM: u32 = 1000;
/// Largest flow control rate (per period).
pub(crate) const MAX_FLOW_RATE: u32 = 1_000_000;
/// Longest flow control period: 7 days.
pub(crate) const MAX_FLOW_PERIOD_SECS: u64 = 7 * 86_400;

/// `value`, or a 400 naming `what` and `max` when it is larger.
fn at_most<T: PartialOrd + std::fmt::Display>(
    what: &str,
    value: Option<T>,
    max: T,
    shown_max: &str,
) -> ApiResult<Option<T>> {
    match value {
        Some(v) if v > max => Err(ApiError::bad_request(format!(
            "{what}: `{v}` is too large; at most {shown_max} is accepted"
        ))),
        v => Ok(v),
    }
}

/// Checks flow control settings (from the header or the pin route):
/// each at least 1 and at most its bound.
pub(crate) fn check_flow(
    what: &str,
    parallelism: Option<u32>,
    rate: Option<u32>,
    period_secs: Option<u64>,
) -> ApiResult<()> {
    if parallelism == Some(0) || rate == Some(0) || period_secs == Some(0) {
        return Err(ApiError::bad_request(format!(
            "{what}: parallelism, rate and period must be at least 1"
        )));
    }
    at_most(
        &format!("{what}: parallelism"),
        parallelism,
        MAX_FLOW_PARALLELISM,
        &MAX_FLOW_PARALLELISM.to_string(),
    )?;
    at_most(
        &format!("{what}: rate"),
        rate,
        MAX_FLOW_RATE,
        &MAX_FLOW_RATE.to_string(),
    )?;
    at_most(
        &format!("{what}: period (seconds)"),
        period_secs,
        MAX_FLOW_PERIOD_SECS,
        &format!("{MAX_FLOW_PERIOD_SECS} seconds (7 days)"),
    )?;
    Ok(())
}

/// A flow control period: a number of seconds or a duration such as
/// `1h30m3s`, in whole seconds; `None` when it cannot be read.
pub(crate) fn flow_period_secs(text: &str) -> Option<u64> {
    parse_duration(text, "smhd").ok().map(|ms| ms / 1000)
}

const FORWARD: &str = "upstash-forward-";
const CALLBACK_FORWARD: &str = "upstash-callback-forward-";
const FAILURE_FORWARD: &str = "upstash-failure-callback-forward-";

/// The headers of the workflow protocol (`Upstash-Workflow-RunId`,
/// `Upstash-Workflow-Init`, `Upstash-Workflow-Url`, `Upstash-Feature-Set`,
/// ...), which the service delivers as they were sent: the workflow SDKs
/// publish their steps with them, and read them back on delivery.
pub(crate) fn is_workflow_header(lowercase_name: &str) -> bool {
    lowercase_name.starts_with("upstash-workflow-") || lowercase_name == "upstash-feature-set"
}

/// A header name as the API shows it: `x-order-id` becomes `X-Order-Id`.
pub(crate) fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn text(headers: &HeaderMap, name: &str) -> ApiResult<Option<String>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(|s| s.trim().to_owned())
                .map_err(|_| ApiError::bad_request(format!("header `{name}` is not valid text")))
        })
        .transpose()
        .map(|v| v.filter(|s| !s.is_empty()))
}

fn number<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> ApiResult<Option<T>> {
    text(headers, name)?
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::bad_request(format!("header `{name}`: `{v}` is not a valid number"))
            })
        })
        .transpose()
}

fn duration(headers: &HeaderMap, name: &str, units: &str) -> ApiResult<Option<u64>> {
    text(headers, name)?
        .map(|v| {
            parse_duration(&v, units)
                .map_err(|e| ApiError::bad_request(format!("header `{name}`: {e}")))
        })
        .transpose()
}

fn retries(headers: &HeaderMap, name: &str) -> ApiResult<Option<u32>> {
    at_most(
        &format!("header `{name}` (retries)"),
        number(headers, name)?,
        MAX_RETRIES,
        &MAX_RETRIES.to_string(),
    )
}

fn timeout(headers: &HeaderMap, name: &str) -> ApiResult<Option<u64>> {
    at_most(
        &format!("header `{name}` (timeout, milliseconds)"),
        duration(headers, name, "smh")?,
        MAX_TIMEOUT_MS,
        "7200000 milliseconds (2h)",
    )
}

fn method(headers: &HeaderMap, name: &str) -> ApiResult<Option<String>> {
    text(headers, name)?
        .map(|m| {
            let upper = m.to_ascii_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                .contains(&upper.as_str())
            {
                Ok(upper)
            } else {
                Err(ApiError::bad_request(format!(
                    "header `{name}`: unknown HTTP method `{m}`"
                )))
            }
        })
        .transpose()
}

/// Whether `url` is an absolute `http(s)` URL.
pub(crate) fn is_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Whether `name` is a valid queue, schedule or URL group name.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn callback(
    headers: &HeaderMap,
    prefix: &str,
    forward: &Headers,
) -> ApiResult<Option<CallbackSpec>> {
    let Some(url) = text(headers, prefix)? else {
        return Ok(None);
    };
    if !is_url(&url) {
        return Err(ApiError::bad_request(format!(
            "header `{prefix}`: `{url}` is not an http:// or https:// URL"
        )));
    }
    Ok(Some(CallbackSpec {
        url,
        headers: forward.clone(),
        method: method(headers, &format!("{prefix}-method"))?,
        retries: retries(headers, &format!("{prefix}-retries"))?,
        timeout_ms: timeout(headers, &format!("{prefix}-timeout"))?,
    }))
}

/// Parses `parallelism=2, rate=10, period=1s` for flow control key `key`;
/// the period is a number of seconds or a duration (`1h30m3s`), 1 second
/// unless given.
fn flow(key: String, value: Option<&str>) -> ApiResult<FlowSpec> {
    let mut spec = FlowSpec {
        key,
        ..FlowSpec::default()
    };
    for part in value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let bad = || {
            ApiError::bad_request(format!(
                "header `Upstash-Flow-Control-Value`: cannot read `{part}`; expected `parallelism=<n>, rate=<n>, period=<duration>`"
            ))
        };
        let (name, v) = part.split_once('=').ok_or_else(bad)?;
        let v = v.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "parallelism" => spec.parallelism = Some(v.parse().map_err(|_| bad())?),
            "rate" => spec.rate = Some(v.parse().map_err(|_| bad())?),
            "period" => spec.period_secs = Some(flow_period_secs(v).ok_or_else(bad)?),
            _ => return Err(bad()),
        }
    }
    // The service shows a key set without a period with `period: 1`.
    spec.period_secs.get_or_insert(1);
    check_flow(
        "header `Upstash-Flow-Control-Value`",
        spec.parallelism,
        spec.rate,
        spec.period_secs,
    )?;
    Ok(spec)
}

fn redact(value: Option<String>) -> ApiResult<Redact> {
    let mut r = Redact::default();
    for part in value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if part == "body" {
            r.body = true;
        } else if part == "header" || part == "headers" {
            r.all_headers = true;
        } else if let Some(name) = part
            .strip_prefix("header[")
            .and_then(|p| p.strip_suffix(']'))
        {
            r.headers.push(name.to_ascii_lowercase());
        } else {
            return Err(ApiError::bad_request(format!(
                "header `Upstash-Redact-Fields`: unknown entry `{part}`; use `body`, `header` or `header[Name]`"
            )));
        }
    }
    Ok(r)
}

/// Reads the message options from `headers`.
pub(crate) fn parse(headers: &HeaderMap, purpose: Purpose) -> ApiResult<Options> {
    let mut header = Headers::new();
    let mut callback_forward = Headers::new();
    let mut failure_forward = Headers::new();
    for (name, value) in headers {
        let name = name.as_str();
        let value = value
            .to_str()
            .map_err(|_| ApiError::bad_request(format!("header `{name}` is not valid text")))?
            .to_owned();
        let (target, rest) = if let Some(rest) = name.strip_prefix(FAILURE_FORWARD) {
            (&mut failure_forward, rest)
        } else if let Some(rest) = name.strip_prefix(CALLBACK_FORWARD) {
            (&mut callback_forward, rest)
        } else if let Some(rest) = name.strip_prefix(FORWARD) {
            (&mut header, rest)
        } else if name == "content-type" || is_workflow_header(name) {
            (&mut header, name)
        } else {
            continue;
        };
        if !rest.is_empty() {
            target.values_mut(canonical(rest)).push(value);
        }
    }
    // Kept with the message, its log records and its DLQ entry.
    for h in [&mut header, &mut callback_forward, &mut failure_forward] {
        h.shrink_to_fit();
    }

    let delay_ms = at_most(
        "header `Upstash-Delay` (delay, milliseconds)",
        duration(headers, "upstash-delay", "smhd")?,
        MAX_DELAY_MS,
        "31536000000 milliseconds (365d)",
    )?;
    let not_before_secs: Option<i64> = number(headers, "upstash-not-before")?;
    if let Some(t) = not_before_secs {
        let latest = (now_ms() / 1000)
            .saturating_add(i64::try_from(MAX_DELAY_MS / 1000).unwrap_or(i64::MAX));
        if !(0..=latest).contains(&t) {
            return Err(ApiError::bad_request(format!(
                "header `Upstash-Not-Before`: `{t}` is out of range; a Unix time in seconds from 0 to at most {latest} (365 days from now) is accepted"
            )));
        }
    }
    let retry_delay = text(headers, "upstash-retry-delay")?;
    if let Some(r) = &retry_delay
        && r.len() > MAX_RETRY_DELAY_LEN
    {
        return Err(ApiError::bad_request(format!(
            "header `Upstash-Retry-Delay`: {} bytes is too long; at most {MAX_RETRY_DELAY_LEN} bytes are accepted",
            r.len()
        )));
    }
    if purpose == Purpose::Enqueue && (delay_ms.is_some() || not_before_secs.is_some()) {
        return Err(ApiError::bad_request(
            "delay and not-before are not supported when enqueueing; publish the message instead",
        ));
    }
    if purpose == Purpose::Schedule && not_before_secs.is_some() {
        return Err(ApiError::bad_request(
            "`Upstash-Not-Before` is not supported on schedules",
        ));
    }
    let flow_key = text(headers, "upstash-flow-control-key")?;
    let flow_value = text(headers, "upstash-flow-control-value")?;
    let flow = match (flow_key, flow_value) {
        (Some(key), value) => Some(flow(key, value.as_deref())?),
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "`Upstash-Flow-Control-Value` needs `Upstash-Flow-Control-Key`",
            ));
        }
        (None, None) => None,
    };
    let content_dedup = match text(headers, "upstash-content-based-deduplication")?.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "header `Upstash-Content-Based-Deduplication`: `{other}` is neither `true` nor `false`"
            )));
        }
    };
    Ok(Options {
        method: method(headers, "upstash-method")?.unwrap_or_else(|| "POST".to_owned()),
        header,
        retries: retries(headers, "upstash-retries")?,
        retry_delay,
        delay_ms,
        not_before_secs,
        timeout_ms: timeout(headers, "upstash-timeout")?,
        labels: text(headers, "upstash-label")?
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        flow: flow.map(Box::new),
        dedup_id: text(headers, "upstash-deduplication-id")?,
        content_dedup,
        callback: callback(headers, "upstash-callback", &callback_forward)?.map(Box::new),
        failure_callback: callback(headers, "upstash-failure-callback", &failure_forward)?
            .map(Box::new),
        redact: redact(text(headers, "upstash-redact-fields")?)?,
        held: Default::default(),
    })
}

/// The schedule-only headers: cron, schedule id and queue.
pub(crate) struct ScheduleHeaders {
    pub(crate) cron: String,
    pub(crate) schedule_id: Option<String>,
    pub(crate) queue: Option<String>,
}

/// Reads the schedule-only headers.
pub(crate) fn schedule_headers(headers: &HeaderMap) -> ApiResult<ScheduleHeaders> {
    let cron = text(headers, "upstash-cron")?
        .ok_or_else(|| ApiError::bad_request("header `Upstash-Cron` is required"))?;
    let schedule_id = text(headers, "upstash-schedule-id")?;
    if let Some(id) = &schedule_id
        && !valid_name(id)
    {
        return Err(ApiError::bad_request(format!(
            "invalid schedule id `{id}`; allowed characters are letters, digits, `-`, `.` and `_`"
        )));
    }
    let queue = text(headers, "upstash-queue-name")?;
    if let Some(q) = &queue
        && !valid_name(q)
    {
        return Err(invalid_queue(q));
    }
    Ok(ScheduleHeaders {
        cron,
        schedule_id,
        queue,
    })
}

/// The 400 answer for a bad queue name.
pub(crate) fn invalid_queue(name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "invalid queue name `{name}`; allowed characters are letters, digits, `-`, `.` and `_`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn reads_the_upstash_headers() {
        let h = headers(&[
            ("content-type", "application/json"),
            ("upstash-forward-x-order", "42"),
            ("upstash-method", "put"),
            ("upstash-retries", "1"),
            ("upstash-delay", "10s"),
            ("upstash-label", "a, b"),
            ("upstash-flow-control-key", "k"),
            (
                "upstash-flow-control-value",
                "parallelism=2, rate=10, period=1m",
            ),
            ("upstash-callback", "http://127.0.0.1:1/cb"),
            ("upstash-callback-forward-x-id", "1"),
        ]);
        let o = parse(&h, Purpose::Publish).unwrap();
        assert_eq!(o.method, "PUT");
        assert_eq!(o.header["X-Order"], ["42"]);
        assert_eq!(o.header["Content-Type"], ["application/json"]);
        assert_eq!(o.retries, Some(1));
        assert_eq!(o.delay_ms, Some(10_000));
        assert_eq!(o.labels, ["a", "b"]);
        let f = o.flow.unwrap();
        assert_eq!(
            (f.parallelism, f.rate, f.period_secs),
            (Some(2), Some(10), Some(60))
        );
        let cb = o.callback.unwrap();
        assert_eq!(cb.headers["X-Id"], ["1"]);
    }

    #[test]
    fn refuses_bad_values() {
        for bad in [
            ("upstash-method", "FETCH"),
            ("upstash-retries", "many"),
            ("upstash-delay", "10y"),
            ("upstash-callback", "ftp://x"),
            ("upstash-flow-control-value", "rate=1"),
        ] {
            assert!(
                parse(&headers(&[bad]), Purpose::Publish).is_err(),
                "{bad:?}"
            );
        }
        let delayed = headers(&[("upstash-delay", "1s")]);
        assert!(parse(&delayed, Purpose::Enqueue).is_err());
    }

    fn parsed(pairs: &[(&'static str, &str)]) -> ApiResult<Options> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        parse(&h, Purpose::Publish)
    }

    #[test]
    fn kept_headers_hold_no_room_in_reserve() {
        let opts = parsed(&[
            ("content-type", "text/plain"),
            ("upstash-forward-x-a", "1"),
            ("upstash-forward-x-a", "2"),
            ("upstash-callback", "https://example.com/cb"),
            ("upstash-callback-forward-x-b", "3"),
            ("upstash-failure-callback", "https://example.com/fail"),
            ("upstash-failure-callback-forward-x-c", "4"),
        ])
        .unwrap();
        assert!(opts.header.is_tight());
        assert_eq!(opts.header.iter().count(), 2);
        let callback = opts.callback.as_deref().unwrap();
        assert!(callback.headers.is_tight());
        assert_eq!(callback.headers["X-B"], ["3"]);
        let failure = opts.failure_callback.as_deref().unwrap();
        assert!(failure.headers.is_tight());
        assert_eq!(failure.headers["X-C"], ["4"]);
    }

    #[test]
    fn bounds_accept_the_limit_and_refuse_past_it() {
        let now_secs = now_ms() / 1000;
        let latest = (now_secs + 365 * 86_400 - 5).to_string();
        let too_late = (now_secs + 365 * 86_400 + 5).to_string();
        let long_ok = "x".repeat(MAX_RETRY_DELAY_LEN);
        let long_bad = "x".repeat(MAX_RETRY_DELAY_LEN + 1);
        for ok in [
            ("upstash-retries", "100"),
            ("upstash-timeout", "2h"),
            ("upstash-timeout", "7200"),
            ("upstash-delay", "365d"),
            ("upstash-not-before", "0"),
            ("upstash-not-before", latest.as_str()),
            ("upstash-retry-delay", long_ok.as_str()),
        ] {
            assert!(parsed(&[ok]).is_ok(), "{ok:?}");
        }
        for bad in [
            ("upstash-retries", "101"),
            ("upstash-timeout", "7201"),
            ("upstash-delay", "366d"),
            ("upstash-not-before", "-1"),
            ("upstash-not-before", too_late.as_str()),
            ("upstash-retry-delay", long_bad.as_str()),
        ] {
            let e = parsed(&[bad]).expect_err(bad.0);
            assert_eq!(e.status.as_u16(), 400);
            assert!(e.message.contains("at most"), "{}", e.message);
        }
        let o = parsed(&[("upstash-retries", "100"), ("upstash-timeout", "2h")]).unwrap();
        assert_eq!((o.retries, o.timeout_ms), (Some(100), Some(7_200_000)));
        let cb = [
            ("upstash-callback", "http://127.0.0.1:1/cb"),
            ("upstash-callback-retries", "101"),
        ];
        assert!(parsed(&cb).is_err());
        let cb = [
            ("upstash-failure-callback", "http://127.0.0.1:1/cb"),
            ("upstash-failure-callback-timeout", "7201"),
        ];
        assert!(parsed(&cb).is_err());
    }

    #[test]
    fn flow_control_bounds() {
        let flow = |v: &str| {
            parsed(&[
                ("upstash-flow-control-key", "k"),
                ("upstash-flow-control-value", v),
            ])
        };
        let f = flow("parallelism=1000, rate=1000000, period=7d")
            .unwrap()
            .flow
            .unwrap();
        assert_eq!(
            (f.parallelism, f.rate, f.period_secs),
            (Some(1000), Some(1_000_000), Some(604_800))
        );
        assert_eq!(
            flow("parallelism=1").unwrap().flow.unwrap().period_secs,
            Some(1)
        );
        assert_eq!(
            flow("rate=2, period=1h30m3s")
                .unwrap()
                .flow
                .unwrap()
                .period_secs,
            Some(5403)
        );
        for bad in [
            "parallelism=1001",
            "rate=1000001",
            "period=604801",
            "period=8d",
            "parallelism=0",
            "rate=0",
            "period=0s",
        ] {
            assert!(flow(bad).is_err(), "{bad}");
        }
        assert!(check_flow("x", Some(1000), Some(1_000_000), Some(604_800)).is_ok());
        assert_eq!(flow_period_secs("1h30m3s"), Some(5403));
        assert_eq!(flow_period_secs("10"), Some(10));
        assert_eq!(flow_period_secs("1y"), None);
    }
}
