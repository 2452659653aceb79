//! The one path every generated request takes once its builder has made it:
//! the request's own state (`.options(...)`, `.all()`) and the guards,
//! authentication, the retry policy, and the turn of an answer into the
//! crate's [`Error`] with the client at hand.
//!
//! The generated `send` of every builder builds the `reqwest::Request` and
//! calls [`send`] with its operation's facts ([`Operation`]) and its
//! [`RequestState`]; a JSON success body is decoded by [`json`].

use std::time::Duration;

use bytes::Bytes;
use progenitor_client::{ClientInfo, ResponseValue};
use reqwest::header::{AUTHORIZATION, HeaderMap, USER_AGENT};

use crate::config::{AuthMode, Inner};
use crate::error::{ApiError, RateLimit, TransportError};
use crate::generated::Client;
use crate::operation::Operation;
use crate::{Error, MessageOptions};

/// Name of the query parameter that carries the token in
/// [`AuthMode::QueryParameter`].
pub(crate) const TOKEN_QUERY_PARAMETER: &str = "qstash_token";

/// The most of an error body an [`ApiError`] keeps; the rest is not read.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

/// What a request builder carries besides its generated parameters: set by
/// the layer's builder methods, read when the request is sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestState {
    /// Headers of `.options(...)` (wildcard families the generated builders
    /// cannot send); each replaces a header of the same name.
    pub(crate) headers: Option<HeaderMap>,
    /// Why `.options(...)` was refused: reported when the request is sent,
    /// before anything leaves. `(option, reason)`.
    pub(crate) invalid_option: Option<(String, String)>,
    /// `.all()`: a bulk operation may go without a filter.
    pub(crate) everything: bool,
    /// `.api(...)`: the provider destination whose headers go with the
    /// request (checked and added when it is sent).
    pub(crate) api: Option<crate::api::Api>,
    /// A body sent instead of the builder's, whose copy has its secrets
    /// redacted (a batch entry's provider key): the builder's `Debug` shows
    /// that copy, never this one.
    pub(crate) secret_body: Option<SecretBody>,
}

/// A request body holding secrets (never printed), sent in place of the
/// body the builder shows, `shown`, when the request still carries that one.
#[derive(Clone)]
pub(crate) struct SecretBody {
    pub(crate) full: Bytes,
    pub(crate) shown: Bytes,
}

impl std::fmt::Debug for SecretBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::secrets::REDACTED)
    }
}

impl RequestState {
    /// Takes message options, checked for `target`.
    pub(crate) fn set_options(&mut self, options: &MessageOptions, target: crate::message::Target) {
        self.set_headers(options.to_headers(target));
    }

    /// Takes the headers of checked options, or why they were refused.
    pub(crate) fn set_headers(&mut self, headers: Result<HeaderMap, Error>) {
        match headers {
            Ok(headers) => {
                self.headers = Some(headers);
                self.invalid_option = None;
            }
            Err(e) => {
                self.headers = None;
                self.refuse(e);
            }
        }
    }

    /// Remembers why the request must not be sent (an option that failed
    /// its checks), to report when it is sent.
    pub(crate) fn refuse(&mut self, e: Error) {
        self.invalid_option = Some(match e {
            Error::InvalidOption { option, reason } => (option, reason),
            other => ("options".into(), other.to_string()),
        });
    }
}

/// What the request's own state refuses, reported first by every
/// generated `send`, before the request is built (so before a missing
/// required parameter, which an invalid option may be the cause of).
pub(crate) fn check(state: &RequestState) -> Result<(), Error> {
    if let Some((option, reason)) = &state.invalid_option {
        return Err(Error::InvalidOption {
            option: option.clone(),
            reason: reason.clone(),
        });
    }
    if let Some(api) = &state.api {
        api.forwarded_headers()?;
    }
    Ok(())
}

/// Sends `request` of operation `op`, as `state` says, through the retry
/// policy; an error status comes back as [`Error::Api`].
pub(crate) async fn send(
    client: &Client,
    mut request: reqwest::Request,
    op: &Operation,
    state: &RequestState,
) -> Result<reqwest::Response, Error> {
    if let Some(refusal) = crate::guards::refusal(op, state, request.url()) {
        return Err(Error::InvalidRequest(refusal));
    }
    crate::guards::mark_everything(op, state, request.url_mut());
    let inner = client.inner();
    authenticate(inner, &mut request);
    if let Some(user_agent) = &inner.user_agent
        && !request.headers().contains_key(USER_AGENT)
    {
        request.headers_mut().insert(USER_AGENT, user_agent.clone());
    }
    // `timeout_mut` allocates the request's extension map: only touch it
    // when there is a timeout to set.
    if let Some(timeout) = inner.timeout
        && request.timeout().is_none()
    {
        *request.timeout_mut() = Some(timeout);
    }
    if let Some(extra) = &state.headers {
        for name in extra.keys() {
            request.headers_mut().remove(name);
        }
        for (name, value) in extra {
            request.headers_mut().append(name, value.clone());
        }
    }
    if let Some(api) = &state.api {
        crate::api::apply_to_request(api, &mut request)?;
    }
    if let Some(body) = &state.secret_body
        && request.body().and_then(reqwest::Body::as_bytes) == Some(&body.shown[..])
    {
        *request.body_mut() = Some(reqwest::Body::from(body.full.clone()));
    }
    // The client's default headers, where the request set none of its own.
    for (name, value) in &inner.default_headers {
        if !request.headers().contains_key(name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    // The future of every request holds the state of every path it may
    // take, and is moved on its way to the executor: the first attempt is
    // inline, the rare paths (retries, error bodies) are boxed.
    let copy = copy_for_retry(inner, &request, 1);
    let result = client.client().execute(request).await;
    let result = match next_attempt(inner, &result, copy, 1, op) {
        None => result,
        Some((request, after)) => {
            drop(result);
            Box::pin(retry(client, request, after, op)).await
        }
    };
    let response = result.map_err(failed)?;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        return Err(Box::pin(api_error(inner, response)).await);
    }
    Ok(response)
}

/// Decodes a JSON success body, with the token scrubbed from what a decode
/// error keeps.
pub(crate) async fn json<T: serde::de::DeserializeOwned>(
    client: &Client,
    response: reqwest::Response,
) -> Result<ResponseValue<T>, Error> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(failed)?;
    match serde_json::from_slice(&body) {
        Ok(value) => Ok(ResponseValue::new(value, status, headers)),
        Err(e) => Err(decode_error(&client.inner().secrets, &body, &e)),
    }
}

fn decode_error(secrets: &crate::secrets::Secrets, body: &[u8], e: &serde_json::Error) -> Error {
    // Scrubbed whole, then cut: a token across the cut would otherwise
    // survive in part.
    let body = secrets.scrub(String::from_utf8_lossy(body).into_owned());
    Error::Decode {
        body: crate::error::truncate(&body, 512).to_string(),
        reason: secrets.scrub(e.to_string()),
    }
}

/// A request the generated code could not build: a required parameter not
/// set, a refused value, a header value that cannot be sent.
pub(crate) fn refused(op: &Operation, e: progenitor_client::Error<()>) -> Error {
    use progenitor_client::Error as G;
    let what = match e {
        G::InvalidRequest(m) | G::Custom(m) => m,
        G::CommunicationError(e) => redact(e).to_string(),
        other => other.to_string(),
    };
    Error::InvalidRequest(format!("{op}: {what}. Nothing was sent."))
}

/// A status no arm of the operation takes (1xx, 3xx).
pub(crate) fn unexpected(response: reqwest::Response) -> Error {
    Error::UnexpectedStatus(response.status())
}

/// The error of an error status: the body kept as bytes (at most
/// [`MAX_ERROR_BODY`], the cut marked), the token scrubbed from it, the
/// server's message read from QStash's `{"error": "..."}`.
async fn api_error(inner: &Inner, mut response: reqwest::Response) -> Error {
    let status = response.status();
    let rate_limit = RateLimit::from_headers(response.headers());
    let mut body = Vec::new();
    let mut truncated = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return failed(e),
        }
    }
    let body = inner.secrets.scrub_bytes(Bytes::from(body));
    let message = error_message(&body).map(|m| inner.secrets.scrub(m));
    Error::Api(Box::new(ApiError {
        status,
        message,
        body,
        body_truncated: truncated,
        rate_limit,
    }))
}

/// The message of QStash's `{"error": "..."}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Shape {
        error: String,
    }
    serde_json::from_slice::<Shape>(body).ok().map(|s| s.error)
}

/// The attempts after the first: `request` is sent `after` a wait, and again
/// for as long as [`next_attempt`] says so.
async fn retry(
    client: &Client,
    mut request: reqwest::Request,
    mut after: Duration,
    op: &Operation,
) -> reqwest::Result<reqwest::Response> {
    let inner = client.inner();
    let mut number = 2;
    loop {
        tokio::time::sleep(after).await;
        let copy = copy_for_retry(inner, &request, number);
        let result = client.client().execute(request).await;
        match next_attempt(inner, &result, copy, number, op) {
            None => return result,
            Some(next) => (request, after) = next,
        }
        number += 1;
    }
}

/// Whether attempt `number`, which came to `result`, is followed by another:
/// the request to send (`copy`) and the wait before it.
fn next_attempt(
    inner: &Inner,
    result: &reqwest::Result<reqwest::Response>,
    copy: Option<reqwest::Request>,
    number: u32,
    op: &Operation,
) -> Option<(reqwest::Request, Duration)> {
    let copy = copy?;
    let policy = &inner.retry;
    // Asked only on a failure that a repeat could fix.
    let repeatable = || crate::retry::repeatable(op.repeat, &copy);
    let after = match result {
        Ok(r) => policy.after_status(number, r.status(), r.headers(), repeatable),
        Err(e) => policy.after_error(number, e, repeatable),
    }?;
    Some((copy, after))
}

/// A copy of `request` for the attempt after attempt `number`, if the retry
/// policy allows one; `None` also if the body is a stream, which is sent once.
fn copy_for_retry(
    inner: &Inner,
    request: &reqwest::Request,
    number: u32,
) -> Option<reqwest::Request> {
    if number < inner.retry.max_attempts() {
        copy_request(request)
    } else {
        None
    }
}

/// A copy of `request`, or `None` if its body is a stream.
///
/// `Request::try_clone` always allocates the extension map (to copy the
/// timeout, even an absent one); a request without a body is copied by hand
/// instead. Only reqwest can share a body's bytes, so one with a body goes
/// through `try_clone`. The requests here carry no extensions but the timeout.
fn copy_request(request: &reqwest::Request) -> Option<reqwest::Request> {
    if request.body().is_some() {
        return request.try_clone();
    }
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    Some(copy)
}

/// Puts the token on a request, as the client's auth mode says.
fn authenticate(inner: &Inner, request: &mut reqwest::Request) {
    match inner.auth {
        AuthMode::Bearer => {
            request
                .headers_mut()
                .insert(AUTHORIZATION, inner.bearer.clone());
        }
        AuthMode::QueryParameter => {
            request
                .url_mut()
                .query_pairs_mut()
                .append_pair(TOKEN_QUERY_PARAMETER, inner.token.expose());
        }
    }
}

/// A request that got no (whole) answer, as the crate's error.
fn failed(e: reqwest::Error) -> Error {
    Error::from_reqwest(redact(e))
}

/// The HTTP client's error as the crate's, with the token removed from the
/// URL it carries (query mode puts it there, and reqwest prints the URL).
fn redact(mut e: reqwest::Error) -> TransportError {
    if let Some(url) = e.url_mut() {
        redact_url(url);
    }
    TransportError::new(e)
}

fn redact_url(url: &mut reqwest::Url) {
    if !url.query_pairs().any(|(k, _)| k == TOKEN_QUERY_PARAMETER) {
        return;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == TOKEN_QUERY_PARAMETER {
                crate::secrets::REDACTED.into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn redaction_replaces_only_the_token() {
        let mut url =
            reqwest::Url::parse("http://h/v2/dlq?label=a&qstash_token=s%2Bc%2Fr&cursor=1").unwrap();
        redact_url(&mut url);
        assert_eq!(
            url.as_str(),
            "http://h/v2/dlq?label=a&qstash_token=%3Credacted%3E&cursor=1"
        );
        let mut plain = reqwest::Url::parse("http://h/v2/dlq?label=a").unwrap();
        redact_url(&mut plain);
        assert_eq!(plain.as_str(), "http://h/v2/dlq?label=a");
    }

    #[test]
    fn a_retry_copy_keeps_everything_that_is_sent() {
        let url = reqwest::Url::parse("http://h/v2/queues/orders?x=1").unwrap();
        let mut request = reqwest::Request::new(reqwest::Method::DELETE, url.clone());
        request
            .headers_mut()
            .insert("upstash-retries", HeaderValue::from_static("2"));
        request
            .headers_mut()
            .append("upstash-label", HeaderValue::from_static("a"));
        request
            .headers_mut()
            .append("upstash-label", HeaderValue::from_static("b"));
        *request.version_mut() = reqwest::Version::HTTP_2;
        *request.timeout_mut() = Some(std::time::Duration::from_secs(7));

        let copy = copy_request(&request).expect("a request without a body is copied");
        assert_eq!(copy.method(), reqwest::Method::DELETE);
        assert_eq!(copy.url(), &url);
        assert_eq!(copy.headers(), request.headers());
        assert_eq!(copy.version(), reqwest::Version::HTTP_2);
        assert_eq!(copy.timeout(), Some(&std::time::Duration::from_secs(7)));
        assert!(copy.body().is_none());

        let plain = reqwest::Request::new(reqwest::Method::GET, url);
        assert_eq!(copy_request(&plain).unwrap().timeout(), None);
    }

    #[test]
    fn a_retry_copy_shares_a_byte_body_and_refuses_a_stream() {
        let url = reqwest::Url::parse("http://h/v2/publish/x").unwrap();
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        *request.body_mut() = Some(reqwest::Body::from(&b"{\"order\":1}"[..]));
        let copy = copy_request(&request).expect("a byte body is copied");
        assert_eq!(
            copy.body().and_then(reqwest::Body::as_bytes),
            Some(&b"{\"order\":1}"[..])
        );

        let mut streamed = reqwest::Request::new(reqwest::Method::POST, url);
        let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"x"))]);
        *streamed.body_mut() = Some(reqwest::Body::wrap_stream(chunks));
        assert!(copy_request(&streamed).is_none());
    }

    #[test]
    fn the_error_message_is_read_from_qstash_shape_only() {
        assert_eq!(
            error_message(br#"{"error":"nope"}"#).as_deref(),
            Some("nope")
        );
        assert_eq!(error_message(b"<html>bad gateway</html>"), None);
        assert_eq!(error_message(br#"{"message":"x"}"#), None);
    }

    #[test]
    fn a_refused_build_names_the_operation_and_says_nothing_was_sent() {
        let op = crate::generated::builder::Publish::OPERATION;
        let e = refused(
            &op,
            progenitor_client::Error::InvalidRequest(
                "`body` is required and was not set: set it with `.body(...)`".into(),
            ),
        );
        assert_eq!(
            e.to_string(),
            "invalid request: publish (`POST /v2/publish/{destination}`): `body` is required and was not set: set it with `.body(...)`. Nothing was sent."
        );
    }
}
