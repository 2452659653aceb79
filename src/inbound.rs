//! Verifying deliveries in a web framework, whichever it is: the settings
//! ([`DeliveryVerifier`]: receiver, body limit, public URL), the two phases
//! (headers before the body is read, then the body) and the refusal
//! ([`DeliveryRejection`]: status, `WWW-Authenticate`, reason, `warn` log).
//! The framework adapters (`qstash::axum`, `qstash::tower`) are thin layers
//! over these.

use std::fmt;
use std::time::SystemTime;

use crate::receiver::{Claims, PendingBody, Receiver, VerifyError};

/// Largest delivery body accepted unless another limit is set with
/// [`DeliveryVerifier::with_body_limit`]: 10 MiB, above QStash's largest
/// message size (1 MB on the free plan, 10 MB on paid ones).
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The `WWW-Authenticate` challenge sent with every 401 answer to a delivery
/// that does not verify.
pub const SIGNATURE_CHALLENGE: &str = "Upstash-Signature realm=\"QStash\"";

/// How a web service verifies QStash deliveries: the [`Receiver`], the
/// largest body it reads, and optionally the public URL its `sub` claim is
/// checked against. The framework adapters (the axum extractor `Verified`,
/// the tower layer `VerifyLayer`) take one; any other framework uses
/// [`verify_head`](Self::verify_head) before reading the body (at most
/// [`body_limit`](Self::body_limit) bytes) and
/// [`verify_body`](Self::verify_body) after.
///
/// ```
/// use qstash::{DeliveryVerifier, Receiver};
///
/// let verifier = DeliveryVerifier::new(Receiver::new("sig_current", "sig_next"))
///     .with_body_limit(64 * 1024)
///     .with_public_url("https://api.example.com/");
/// assert_eq!(verifier.body_limit(), 64 * 1024);
/// assert_eq!(
///     verifier.expected_url("/hooks/orders?tenant=7").as_deref(),
///     Some("https://api.example.com/hooks/orders?tenant=7")
/// );
/// ```
#[derive(Debug, Clone)]
pub struct DeliveryVerifier {
    receiver: Receiver,
    body_limit: usize,
    public_url: Option<String>,
}

impl DeliveryVerifier {
    /// Settings with [`DEFAULT_BODY_LIMIT`] and no `sub` check.
    #[must_use]
    pub fn new(receiver: Receiver) -> Self {
        Self {
            receiver,
            body_limit: DEFAULT_BODY_LIMIT,
            public_url: None,
        }
    }

    /// The largest body read, in bytes: a delivery with a larger body is
    /// refused with 413 (from its `Content-Length` before reading, or as
    /// soon as the limit is crossed while reading), never buffered whole.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The address the service is reached at from the internet
    /// (`https://api.example.com`, or with a path prefix a proxy strips):
    /// each delivery's `sub` claim must then be this address followed by
    /// the request's path and query, exactly as QStash was asked to deliver
    /// to. A trailing `/` is ignored. Without it, `sub` is not checked
    /// (behind a proxy the service cannot know its own public address).
    #[must_use]
    pub fn with_public_url(mut self, base: impl Into<String>) -> Self {
        let base = base.into();
        self.public_url = Some(base.trim_end_matches('/').to_owned());
        self
    }

    /// The receiver.
    #[must_use]
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// The body limit, in bytes ([`DEFAULT_BODY_LIMIT`] unless set).
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The URL a request with this path and query must have been signed
    /// for, when a public URL is set: the public URL followed by
    /// `path_and_query` (given a leading `/` if it lacks one).
    #[must_use]
    pub fn expected_url(&self, path_and_query: &str) -> Option<String> {
        let base = self.public_url.as_deref()?;
        let slash = if path_and_query.starts_with('/') {
            ""
        } else {
            "/"
        };
        Some(format!("{base}{slash}{path_and_query}"))
    }

    /// The first phase, before the body is read: checks the token of the
    /// `Upstash-Signature` header (with the region's keys, see
    /// [`Receiver::verify_headers`]), the `sub` claim when a public URL is
    /// set, and a `Content-Length` above the body limit.
    ///
    /// `path_and_query` is the request target's path and query
    /// (`/hooks/orders?x=1`), as the service received it. A framework
    /// whose headers are not an [`http::HeaderMap`] copies the
    /// `Upstash-Signature`, `Upstash-Region` and `Content-Length` headers
    /// into one.
    ///
    /// ```
    /// use http::{HeaderMap, StatusCode};
    /// use qstash::{DeliveryVerifier, Receiver};
    ///
    /// let verifier = DeliveryVerifier::new(Receiver::new("sig_current", "sig_next"));
    /// let refused = verifier.verify_head("/hooks/orders", &HeaderMap::new()).unwrap_err();
    /// assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(
    ///     refused.to_string(),
    ///     "not a verified QStash delivery: missing Upstash-Signature header"
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// A [`DeliveryRejection`], logged at `warn` through `tracing`.
    pub fn verify_head(
        &self,
        path_and_query: &str,
        headers: &http::HeaderMap,
    ) -> Result<PendingBody, DeliveryRejection> {
        self.verify_head_at(path_and_query, headers, SystemTime::now())
    }

    /// Like [`verify_head`](Self::verify_head), but checks `exp` and `nbf`
    /// against `now` instead of the system clock.
    ///
    /// # Errors
    ///
    /// As for [`verify_head`](Self::verify_head).
    pub fn verify_head_at(
        &self,
        path_and_query: &str,
        headers: &http::HeaderMap,
        now: SystemTime,
    ) -> Result<PendingBody, DeliveryRejection> {
        let expected = self.expected_url(path_and_query);
        let pending = self
            .receiver
            .verify_headers_at(headers, expected.as_deref(), now)
            .map_err(|e| DeliveryRejection::Unverified(e).logged())?;
        let declared = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(length) = declared
            && length > self.body_limit as u64
        {
            return Err(self.too_large());
        }
        Ok(pending)
    }

    /// The second phase: checks the body read (at most the body limit)
    /// against the token checked by [`verify_head`](Self::verify_head), and
    /// returns the claims.
    ///
    /// ```
    /// # use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use qstash::{DeliveryVerifier, Receiver};
    ///
    /// # let token = concat!(
    /// #     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
    /// #     "eyJpc3MiOiJVcHN0YXNoIiwic3ViIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9hcGkvd2ViaG9vayIsImV4cCI6MTcw",
    /// #     "MDAwMDMwMCwibmJmIjoxNzAwMDAwMDAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6Imp3dF9kb2NfZXhhbXBsZSIs",
    /// #     "ImJvZHkiOiJrNkk1Y2FrVTVlckw4S2pTVVZUTm93bkR3Y2N2dTVrVTFIeGc4OHRvRllnIn0.",
    /// #     "9okAihbDAVSCl053IO8JREl2xFv2JPLoLULgy9Q7JEc",
    /// # );
    /// # let now = UNIX_EPOCH + Duration::from_secs(1_700_000_100);
    /// let verifier = DeliveryVerifier::new(Receiver::new("sig_current_key", "sig_next_key"))
    ///     .with_public_url("https://example.com");
    /// let mut headers = HeaderMap::new();
    /// headers.insert("upstash-signature", token.parse().unwrap());
    /// // Signed for https://example.com/api/webhook: the head passes...
    /// let pending = verifier.verify_head_at("/api/webhook", &headers, now)?;
    /// // ... the body is read, at most `verifier.body_limit()` bytes, then:
    /// let claims = verifier.verify_body(pending, br#"{"hello":"world"}"#)?;
    /// assert_eq!(claims.sub, "https://example.com/api/webhook");
    /// # Ok::<(), qstash::DeliveryRejection>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`DeliveryRejection`], logged at `warn` through `tracing`:
    /// [`BodyTooLarge`](DeliveryRejection::BodyTooLarge) for a body above
    /// the limit, [`Unverified`](DeliveryRejection::Unverified) with
    /// [`VerifyError::BodyHashMismatch`] for one that was not signed.
    pub fn verify_body(
        &self,
        pending: PendingBody,
        body: &[u8],
    ) -> Result<Claims, DeliveryRejection> {
        if body.len() > self.body_limit {
            return Err(self.too_large());
        }
        pending
            .check_body(body)
            .map_err(|e| DeliveryRejection::Unverified(e).logged())
    }

    /// The refusal of a body above the limit, logged.
    fn too_large(&self) -> DeliveryRejection {
        DeliveryRejection::BodyTooLarge {
            limit: self.body_limit,
        }
        .logged()
    }

    /// Reads a body of at most the body limit, stopping as soon as it is
    /// crossed.
    #[cfg(any(feature = "axum", feature = "tower"))]
    pub(crate) async fn read_body<B>(&self, body: B) -> Result<bytes::Bytes, DeliveryRejection>
    where
        B: http_body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        use http_body_util::BodyExt as _;
        match http_body_util::Limited::new(body, self.body_limit)
            .collect()
            .await
        {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(self.too_large()),
            Err(e) => Err(DeliveryRejection::BodyUnreadable(e.to_string()).logged()),
        }
    }

    /// Both phases for an `http` request: the head, then the body read
    /// within the limit; the body and the claims.
    #[cfg(any(feature = "axum", feature = "tower"))]
    pub(crate) async fn verify_http<B>(
        &self,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: B,
    ) -> Result<(bytes::Bytes, Claims), DeliveryRejection>
    where
        B: http_body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        let pending = self.verify_head(path, headers)?;
        let body = self.read_body(body).await?;
        let claims = self.verify_body(pending, &body)?;
        Ok((body, claims))
    }
}

impl From<Receiver> for DeliveryVerifier {
    fn from(receiver: Receiver) -> Self {
        Self::new(receiver)
    }
}

/// Why a delivery was refused by a [`DeliveryVerifier`]: its HTTP status
/// ([`status`](Self::status)), the `WWW-Authenticate` challenge of a 401
/// ([`www_authenticate`](Self::www_authenticate)) and the reason
/// (`Display`, sent as the answer's body). Neither the token nor the keys
/// ever appear in it.
///
/// ```
/// use http::StatusCode;
/// use qstash::{DeliveryRejection, VerifyError};
///
/// let refused = DeliveryRejection::Unverified(VerifyError::InvalidSignature);
/// let response: http::Response<String> = refused.to_response();
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(
///     response.headers()["www-authenticate"],
///     qstash::SIGNATURE_CHALLENGE
/// );
/// assert!(response.body().contains("does not match"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryRejection {
    /// The delivery does not verify: 401.
    Unverified(VerifyError),
    /// The body is larger than the limit: 413.
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body could not be read (the connection broke, ...): 400.
    BodyUnreadable(String),
}

impl DeliveryRejection {
    /// The HTTP status to answer with: 401, 413 or 400.
    #[must_use]
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::Unverified(_) => http::StatusCode::UNAUTHORIZED,
            Self::BodyTooLarge { .. } => http::StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyUnreadable(_) => http::StatusCode::BAD_REQUEST,
        }
    }

    /// The `WWW-Authenticate` header's value for a 401
    /// ([`SIGNATURE_CHALLENGE`]); `None` for the other statuses.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&'static str> {
        matches!(self, Self::Unverified(_)).then_some(SIGNATURE_CHALLENGE)
    }

    /// The answer: [`status`](Self::status), the `WWW-Authenticate`
    /// header of a 401, and the reason as a `text/plain` body.
    #[must_use]
    pub fn to_response<B: From<String>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.to_string()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Some(challenge) = self.www_authenticate() {
            headers.insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static(challenge),
            );
        }
        response
    }

    /// Logs the reason at `warn` through `tracing` (target `qstash`), as
    /// [`DeliveryVerifier`]'s methods do for each refusal they return; for
    /// an adapter that refuses a delivery itself (a body it read past the
    /// limit).
    pub fn log(&self) {
        tracing::warn!(
            target: "qstash",
            status = self.status().as_u16(),
            "refused a QStash delivery: {self}"
        );
    }

    fn logged(self) -> Self {
        self.log();
        self
    }
}

impl fmt::Display for DeliveryRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unverified(e) => write!(f, "not a verified QStash delivery: {e}"),
            Self::BodyTooLarge { limit } => {
                write!(f, "delivery body is larger than the limit of {limit} bytes")
            }
            Self::BodyUnreadable(e) => write!(f, "cannot read the delivery body: {e}"),
        }
    }
}

impl std::error::Error for DeliveryRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unverified(e) => Some(e),
            _ => None,
        }
    }
}
