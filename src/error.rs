//! One error type for every operation.
//!
//! **Which third-party types the errors show.** The HTTP status and headers
//! are `http`'s types ([`StatusCode`], [`HeaderMap`]), the vocabulary every
//! Rust HTTP crate shares. No third-party *error* type appears in a variant
//! or a signature: a transport failure is a [`TransportError`], opaque, whose
//! [`source`](std::error::Error::source) is the HTTP client's error for
//! whoever wants to look. So upgrading the HTTP client does not change this
//! crate's API, and what a caller matches on is ours (as reqwest does with
//! hyper's errors, and as the AWS SDK's error design does with its
//! connectors'). progenitor's error type never leaves the crate: the
//! generated code's failures become these variants where they happen.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// Everything that can go wrong talking to QStash: every call of the
/// client, generated or hand-written, returns it.
///
/// ```no_run
/// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
/// match client.get_queue().queue_name("orders").send().await {
///     Ok(queue) => println!("{} messages waiting", queue.lag.unwrap_or(0)),
///     Err(e) if e.is_not_found() => println!("no such queue"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
///
/// `Display` says what happened in one line; the underlying error, where
/// there is one (the HTTP client's), is its [`source`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// QStash answered with an error status. What to do depends on it:
    /// [`is_unauthorized`](Self::is_unauthorized) (check the token),
    /// [`is_not_found`](Self::is_not_found), [`is_rate_limited`](Self::is_rate_limited)
    /// (wait [`retry_after`](Self::retry_after)); a 5xx is the service's
    /// trouble (retry later, or with a deduplication id).
    Api(Box<ApiError>),
    /// The request could not be sent, or the connection broke: check the
    /// network and the base URL (`QSTASH_URL`); the source says more.
    Network(TransportError),
    /// The request took longer than the configured timeout: raise it with
    /// `ClientBuilder::timeout`, or retry.
    Timeout(TransportError),
    /// The response body is not what the API description says: the service
    /// changed, or something in between answered. Worth a bug report with
    /// the body excerpt.
    Decode {
        /// The start of the body (at most 512 characters), for diagnosis,
        /// with the token removed if the server echoed it.
        body: String,
        /// What the JSON decoder said (the token removed too: it quotes
        /// values it could not take).
        reason: String,
    },
    /// A status the API description does not cover (1xx, 3xx): a proxy or
    /// a wrong base URL, most likely. (A 3xx the description documents for
    /// an operation without a 2xx, `cancel_workflow_failure_callback`'s
    /// 302, is that operation's success instead.)
    UnexpectedStatus(StatusCode),
    /// The request was not sent: a required parameter is missing, a value
    /// is invalid, or it would act on more than asked (an empty id, an empty
    /// filter list, a bulk operation without a filter). The message says
    /// what to fix.
    InvalidRequest(String),
    /// The client is misconfigured (token, URL, environment variable): the
    /// message names the setting.
    Config(String),
    /// A message option is invalid; nothing was sent. Fix the named option.
    InvalidOption {
        /// The option at fault (`delay`, `label`, `batch entry 2: flow_control`...).
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server returned a cursor it had already returned: following it
    /// would loop forever. A service fault: the items so far were delivered;
    /// report it.
    RepeatedCursor {
        /// The operation being paged.
        operation: &'static str,
        /// The page (1-based) whose response came back with the repeated
        /// cursor.
        page: usize,
    },
}

/// An error status from QStash, with what came with it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The server's message from an `{"error": "..."}` body.
    pub message: Option<String>,
    /// The body as it came, byte for byte, except that the client's token is
    /// replaced by `<redacted>` wherever the server echoed it. At most
    /// 64 KiB are kept (see [`body_truncated`](Self::body_truncated)).
    pub body: Bytes,
    /// The body was longer than 64 KiB: [`body`](Self::body) holds its start
    /// and the rest was not read.
    pub body_truncated: bool,
    /// Rate-limit facts from the response headers.
    pub rate_limit: RateLimit,
}

impl ApiError {
    /// The body as text when it was not QStash's `{"error": "..."}` JSON (a
    /// proxy's HTML page, plain text), with bytes that are not UTF-8 shown
    /// as U+FFFD.
    pub fn raw_body(&self) -> Option<Cow<'_, str>> {
        self.message
            .is_none()
            .then(|| String::from_utf8_lossy(&self.body))
    }
}

/// A request that did not get an answer: the connection failed or broke,
/// or the time ran out. Opaque; its [`source`](std::error::Error::source)
/// is the HTTP client's error. URLs in it carry no token.
pub struct TransportError(reqwest::Error);

impl TransportError {
    pub(crate) fn new(e: reqwest::Error) -> Self {
        Self(e)
    }

    /// Where the request went: scheme, host and port (never the path or
    /// query, which may carry the token).
    pub fn origin(&self) -> Option<String> {
        self.0.url().map(origin)
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TransportError").field(&self.0).finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Rate-limit headers of a response. QStash sends `RateLimit-*` for the
/// daily quota and `Burst-RateLimit-*` for the per-second one; resets are
/// kept as the server sends them (QStash documents them as Unix timestamps
/// in seconds); [`Error::retry_after`] turns them into a wait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// `Retry-After`, as a delay from when the response arrived.
    pub retry_after: Option<Duration>,
    /// `RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `RateLimit-Reset`.
    pub reset: Option<u64>,
    /// `Burst-RateLimit-Limit`.
    pub burst_limit: Option<u64>,
    /// `Burst-RateLimit-Remaining`.
    pub burst_remaining: Option<u64>,
    /// `Burst-RateLimit-Reset`.
    pub burst_reset: Option<u64>,
}

impl RateLimit {
    /// Reads the rate-limit headers; absent or unreadable ones are `None`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let num =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let retry_after = headers.get(reqwest::header::RETRY_AFTER).and_then(|v| {
            let v = v.to_str().ok()?.trim();
            match v.parse::<u64>() {
                Ok(secs) => Some(Duration::from_secs(secs)),
                Err(_) => httpdate::parse_http_date(v).ok().map(|at| {
                    at.duration_since(SystemTime::now())
                        .unwrap_or(Duration::ZERO)
                }),
            }
        });
        Self {
            retry_after,
            limit: num("ratelimit-limit"),
            remaining: num("ratelimit-remaining"),
            reset: num("ratelimit-reset"),
            burst_limit: num("burst-ratelimit-limit"),
            burst_remaining: num("burst-ratelimit-remaining"),
            burst_reset: num("burst-ratelimit-reset"),
        }
    }
}

impl Error {
    /// The HTTP status, when QStash answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::UnexpectedStatus(s) => Some(*s),
            _ => None,
        }
    }

    /// The server's message, when it sent one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.message.as_deref(),
            _ => None,
        }
    }

    /// The API error, when QStash answered with an error status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// True for 404: the message, queue, schedule... does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True for 401 and 403: the token is wrong or lacks the right.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        )
    }

    /// True for 429: a rate limit was hit; see [`retry_after`](Self::retry_after).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// True when the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// True when the request never got an answer (connection refused, reset, DNS).
    pub fn is_network(&self) -> bool {
        matches!(self, Error::Network(_))
    }

    /// How long the server asked to wait: `Retry-After`, or for a 429
    /// without it, the time until the burst or daily reset.
    pub fn retry_after(&self) -> Option<Duration> {
        let e = self.api()?;
        let r = &e.rate_limit;
        r.retry_after.or_else(|| {
            (e.status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| r.burst_reset.or(r.reset).map(until_reset))
                .flatten()
        })
    }

    pub(crate) fn from_reqwest(e: TransportError) -> Self {
        if e.0.is_timeout() {
            Error::Timeout(e)
        } else {
            Error::Network(e)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => {
                write!(f, "QStash answered {}", e.status)?;
                if let Some(m) = &e.message {
                    write!(f, ": {m}")?;
                } else if let Some(b) = e.raw_body() {
                    write!(f, " with a non-JSON body: {:?}", truncate(&b, 200))?;
                }
                match e.status {
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                        write!(f, " (check the token, QSTASH_TOKEN)")
                    }
                    StatusCode::TOO_MANY_REQUESTS => match self.retry_after() {
                        Some(d) => write!(
                            f,
                            " (rate limited: retry after {} s)",
                            d.as_secs_f64().ceil()
                        ),
                        None => write!(f, " (rate limited: retry later)"),
                    },
                    _ => Ok(()),
                }
            }
            Error::Network(e) => match e.origin() {
                Some(origin) => write!(f, "could not reach QStash at {origin}"),
                None => f.write_str("could not reach QStash"),
            },
            Error::Timeout(_) => f.write_str("QStash did not answer in time"),
            Error::Decode { body, reason } => {
                write!(
                    f,
                    "QStash's response is not the documented JSON ({reason}); body starts {body:?}"
                )
            }
            Error::UnexpectedStatus(s) => write!(f, "QStash answered with unexpected status {s}"),
            Error::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            Error::Config(m) => write!(f, "invalid configuration: {m}"),
            Error::InvalidOption { option, reason } => {
                write!(
                    f,
                    "invalid message option `{option}`: {reason}; nothing was sent"
                )
            }
            Error::RepeatedCursor { operation, page } => write!(
                f,
                "{operation}: the server repeated a cursor on page {page}; stopped instead of looping forever"
            ),
        }
    }
}

/// The wait until a `*RateLimit-Reset` value. QStash documents these as
/// Unix timestamps (seconds); a value too small to be one (before 2001) is
/// taken as a delay in seconds, and one too large as milliseconds.
pub(crate) fn until_reset(reset: u64) -> Duration {
    const SMALLEST_TIMESTAMP: u64 = 1_000_000_000;
    const SMALLEST_MILLIS_TIMESTAMP: u64 = 1_000_000_000_000;
    let at = match reset {
        r if r < SMALLEST_TIMESTAMP => return Duration::from_secs(r),
        r if r < SMALLEST_MILLIS_TIMESTAMP => Duration::from_secs(r),
        r => Duration::from_millis(r),
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    at.saturating_sub(now)
}

/// Scheme, host and port of a URL: where the client went, without the
/// path and query (which may carry the token).
fn origin(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

/// The first `max` characters of `s`.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Network(e) | Error::Timeout(e) => Some(&e.0),
            _ => None,
        }
    }
}
