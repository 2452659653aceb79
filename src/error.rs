//! One error type for every operation.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::generated::types;

/// Header the response hook sets when an error body was not QStash's JSON
/// `{"error": "..."}` and was passed through as raw text.
pub(crate) const RAW_BODY_MARKER: &str = "x-qstash-rs-raw-error-body";

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
    Network(reqwest::Error),
    /// The request took longer than the configured timeout: raise it with
    /// `ClientBuilder::timeout`, or retry.
    Timeout(reqwest::Error),
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
    /// a wrong base URL, most likely.
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
    /// The body, when it was not that JSON (a proxy's HTML page, plain text).
    pub raw_body: Option<String>,
    /// Rate-limit facts from the response headers.
    pub rate_limit: RateLimit,
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

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
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
                } else if let Some(b) = &e.raw_body {
                    write!(f, " with a non-JSON body: {:?}", truncate(b, 200))?;
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
            Error::Network(e) => match e.url() {
                Some(url) => write!(f, "could not reach QStash at {}", origin(url)),
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

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Network(e) | Error::Timeout(e) => Some(e),
            _ => None,
        }
    }
}

impl From<progenitor_client::Error<types::Error>> for Error {
    fn from(e: progenitor_client::Error<types::Error>) -> Self {
        use progenitor_client::Error as G;
        match e {
            G::ErrorResponse(rv) => {
                let status = rv.status();
                let rate_limit = RateLimit::from_headers(rv.headers());
                let raw = rv.headers().contains_key(RAW_BODY_MARKER);
                let text = crate::secrets::scrub(rv.into_inner().error);
                Error::Api(Box::new(ApiError {
                    status,
                    message: (!raw).then(|| text.clone()),
                    raw_body: raw.then_some(text),
                    rate_limit,
                }))
            }
            G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
                Error::from_reqwest(e)
            }
            G::InvalidResponsePayload(body, source) => {
                // Scrubbed whole, then cut: a token across the cut would
                // otherwise survive in part.
                let body = crate::secrets::scrub(String::from_utf8_lossy(&body).into_owned());
                Error::Decode {
                    body: truncate(&body, 512).to_string(),
                    reason: crate::secrets::scrub(source.to_string()),
                }
            }
            G::UnexpectedResponse(r) => Error::UnexpectedStatus(r.status()),
            G::InvalidRequest(m) | G::Custom(m) => Error::InvalidRequest(explain(m)),
        }
    }
}

/// The generated builders report a refused conversion without its reason;
/// for a filter list the only reason is [`EmptyList`](crate::EmptyList).
fn explain(message: String) -> String {
    let list = message
        .strip_prefix("conversion to `")
        .and_then(|rest| rest.split_once("StringList` for "))
        .and_then(|(_, rest)| rest.strip_suffix(" failed"));
    match list {
        Some(parameter) => format!(
            "`{parameter}`: {}. Give at least one non-empty value, or leave the filter out. Nothing was sent.",
            crate::EmptyList
        ),
        None => message,
    }
}
