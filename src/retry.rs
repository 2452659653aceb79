//! When a failed request is sent again, and after how long.
//!
//! A request is repeated only where repeating cannot duplicate work:
//! - a 429 is always retried, after `Retry-After` or the rate-limit reset;
//! - a connection that failed before any response is always retried;
//! - a 5xx or a timeout is retried for GET, HEAD, PUT and DELETE, for the
//!   POST and PATCH operations that only set state, and for the operations
//!   that create messages only when the caller set a deduplication id (or
//!   content-based deduplication; for a batch, on every entry), so QStash
//!   drops the duplicate. Which operations are which is the names table's
//!   `retry` (`openapi/qstash/operations.yaml`), read at build time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::error::{RateLimit, until_reset};
use crate::operation::Repeat;

/// How failed requests are retried; set with
/// [`ClientBuilder::retry_policy`](crate::ClientBuilder::retry_policy).
///
/// The default makes up to 3 attempts, with exponential backoff from 200 ms
/// capped at 5 s (with jitter), and waits at most 60 s for a rate limit.
///
/// ```
/// use std::time::Duration;
/// use qstash::RetryPolicy;
///
/// let patient = RetryPolicy::attempts(5).max_backoff(Duration::from_secs(10));
/// let client = qstash::Client::builder().token("t").retry_policy(patient).build()?;
/// let never = RetryPolicy::none();
/// # let _ = never;
/// # Ok::<(), qstash::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_rate_limit_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self::attempts(1)
    }

    /// At most `n` attempts in all (1 means no retry), other settings default.
    pub fn attempts(n: u32) -> Self {
        Self {
            max_attempts: n.max(1),
            ..Self::default()
        }
    }

    /// The first backoff; each retry doubles it.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// The longest backoff between two attempts.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The longest wait a rate limit may ask for; a longer one is returned
    /// as the error instead of waited out.
    pub fn max_rate_limit_wait(mut self, d: Duration) -> Self {
        self.max_rate_limit_wait = d;
        self
    }

    /// Attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Backoff before attempt `attempt + 1`: capped exponential, with half
    /// of it random ("equal jitter"), so clients that failed together do
    /// not retry together.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let capped = exp.min(self.max_backoff);
        let half = capped / 2;
        half + half.mul_f64(jitter())
    }

    /// The wait before retrying after a response with `status`, or `None`.
    pub(crate) fn after_status(
        &self,
        attempt: u32,
        status: StatusCode,
        headers: &HeaderMap,
        repeatable: impl FnOnce() -> bool,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let limits = RateLimit::from_headers(headers);
            let wait = limits
                .retry_after
                .or(limits.burst_reset.map(until_reset))
                .or(limits.reset.map(until_reset))
                .unwrap_or_else(|| self.backoff(attempt));
            return (wait <= self.max_rate_limit_wait).then_some(wait);
        }
        if status.is_server_error() && repeatable() {
            let asked = RateLimit::from_headers(headers).retry_after;
            return Some(
                asked
                    .filter(|d| *d <= self.max_backoff)
                    .unwrap_or_else(|| self.backoff(attempt)),
            );
        }
        None
    }

    /// The wait before retrying after a transport error, or `None`.
    pub(crate) fn after_error(
        &self,
        attempt: u32,
        error: &reqwest::Error,
        repeatable: impl FnOnce() -> bool,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        // Refused or unreachable: the request never reached QStash.
        if error.is_connect() {
            return Some(self.backoff(attempt));
        }
        // The request may have been processed: only if repeating is harmless.
        if (error.is_timeout() || error.is_request()) && repeatable() {
            return Some(self.backoff(attempt));
        }
        None
    }
}

/// Whether sending `request` twice is harmless, given its operation's
/// [`Repeat`] (generated from the HTTP method and the names table's `retry`
/// lists).
pub(crate) fn repeatable(repeat: Repeat, request: &reqwest::Request) -> bool {
    match repeat {
        Repeat::Always => true,
        Repeat::IfDeduplicated => deduplicated(request),
        Repeat::Never => false,
    }
}

fn header_dedup(headers: &HeaderMap) -> bool {
    headers.contains_key("upstash-deduplication-id")
        || headers
            .get("upstash-content-based-deduplication")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
}

/// A request whose body is a list of messages (a batch) is deduplicated
/// when every entry is; others by their headers.
fn deduplicated(request: &reqwest::Request) -> bool {
    let list = request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .filter(|b| b.trim_ascii_start().starts_with(b"["));
    let Some(body) = list else {
        return header_dedup(request.headers());
    };
    let Ok(serde_json::Value::Array(entries)) = serde_json::from_slice(body) else {
        return false;
    };
    !entries.is_empty()
        && entries.iter().all(|e| {
            let h = &e["headers"];
            let lookup = |name: &str| {
                h.as_object()
                    .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .and_then(|(_, v)| v.as_str())
            };
            lookup("Upstash-Deduplication-Id").is_some()
                || lookup("Upstash-Content-Based-Deduplication")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
}

/// A number in [0, 1) that differs between calls (splitmix64 over a
/// counter seeded from the clock); jitter needs spread, not cryptography.
fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        method: reqwest::Method,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> reqwest::Request {
        let mut r = reqwest::Request::new(method, "http://h/x".parse().unwrap());
        for (k, v) in headers {
            r.headers_mut().insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        if let Some(b) = body {
            *r.body_mut() = Some(b.to_string().into());
        }
        r
    }

    #[test]
    fn backoff_is_capped_exponential_with_jitter() {
        let p = RetryPolicy::attempts(10)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(1000));
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(
                b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100),
                "{b1:?}"
            );
            let b3 = p.backoff(3);
            assert!(
                b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400),
                "{b3:?}"
            );
            let b9 = p.backoff(9);
            assert!(
                b9 >= Duration::from_millis(500) && b9 <= Duration::from_millis(1000),
                "{b9:?}"
            );
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| p.backoff(5)).collect();
        assert!(spread.len() > 5, "jitter spreads retries");
    }

    #[test]
    fn rate_limits_wait_for_the_server() {
        let p = RetryPolicy::default();
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(
            p.after_status(1, StatusCode::TOO_MANY_REQUESTS, &h, || false),
            Some(Duration::from_secs(7))
        );
        let mut h = HeaderMap::new();
        h.insert("burst-ratelimit-reset", "2".parse().unwrap());
        assert_eq!(
            p.after_status(1, StatusCode::TOO_MANY_REQUESTS, &h, || false),
            Some(Duration::from_secs(2))
        );
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3600".parse().unwrap());
        assert_eq!(
            p.after_status(1, StatusCode::TOO_MANY_REQUESTS, &h, || false),
            None,
            "too long to wait"
        );
        assert_eq!(
            p.after_status(3, StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), || true),
            None,
            "out of attempts"
        );
    }

    #[test]
    fn server_errors_only_when_repeatable() {
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        assert!(
            p.after_status(1, StatusCode::BAD_GATEWAY, &none, || true)
                .is_some()
        );
        assert!(
            p.after_status(1, StatusCode::BAD_GATEWAY, &none, || false)
                .is_none()
        );
        assert!(
            p.after_status(1, StatusCode::NOT_FOUND, &none, || true)
                .is_none()
        );
        assert!(
            RetryPolicy::none()
                .after_status(1, StatusCode::BAD_GATEWAY, &none, || true)
                .is_none()
        );
    }

    #[test]
    fn which_requests_are_repeatable() {
        use reqwest::Method;
        assert!(repeatable(
            Repeat::Always,
            &request(Method::POST, &[], None)
        ));
        assert!(!repeatable(Repeat::Never, &request(Method::GET, &[], None)));
        let dedup = Repeat::IfDeduplicated;
        assert!(!repeatable(dedup, &request(Method::POST, &[], None)));
        assert!(repeatable(
            dedup,
            &request(Method::POST, &[("Upstash-Deduplication-Id", "d")], None)
        ));
        assert!(repeatable(
            dedup,
            &request(
                Method::POST,
                &[("Upstash-Content-Based-Deduplication", "true")],
                None
            )
        ));
        assert!(!repeatable(
            dedup,
            &request(
                Method::POST,
                &[("Upstash-Content-Based-Deduplication", "false")],
                None
            )
        ));
        let all = r#"[{"destination":"a","headers":{"Upstash-Deduplication-Id":"1"}},{"destination":"b","headers":{"upstash-content-based-deduplication":"true"}}]"#;
        let one = r#"[{"destination":"a","headers":{"Upstash-Deduplication-Id":"1"}},{"destination":"b"}]"#;
        assert!(repeatable(dedup, &request(Method::POST, &[], Some(all))));
        assert!(!repeatable(dedup, &request(Method::POST, &[], Some(one))));
        assert!(!repeatable(dedup, &request(Method::POST, &[], Some("[]"))));
    }
}
