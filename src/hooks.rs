//! The one place every generated request passes through: authentication on
//! the way out; the retry policy; redaction and error-body normalization on
//! the way back.

use std::time::Duration;

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue, USER_AGENT};

use crate::config::{AuthMode, Inner};
use crate::error::RAW_BODY_MARKER;
use crate::generated::Client;
use crate::publishing::EXTRA_HEADERS;
use crate::retry;

/// Name of the query parameter that carries the token in
/// [`AuthMode::QueryParameter`].
pub(crate) const TOKEN_QUERY_PARAMETER: &str = "qstash_token";

impl ClientHooks<Inner> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Some(refusal) = crate::guards::refusal(info.operation_id, request.url()) {
            return Err(progenitor_client::Error::InvalidRequest(refusal));
        }
        let inner = self.inner();
        authenticate(inner, request);
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
        // Message options of `.options(...)`: headers the generated builders
        // cannot send (wildcard families), for the requests of this call.
        let _ = EXTRA_HEADERS.try_with(|extra| {
            for name in extra.keys() {
                request.headers_mut().remove(name);
            }
            for (name, value) in extra {
                request.headers_mut().append(name, value.clone());
            }
        });
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        // The future of every request holds the state of every path it may
        // take, and is moved on its way to the executor: the first attempt
        // is inline, the rare paths (retries, buffering) are boxed.
        let copy = copy_for_retry(self, &request, 1);
        let result = self.client().execute(request).await;
        let result = match next_attempt(self, &result, copy, 1, info) {
            None => result,
            Some((request, after)) => {
                drop(result);
                Box::pin(retry(self, request, after, info)).await
            }
        };
        let response = result.map_err(redact)?;
        // In query mode the response carries the token in its URL, which a
        // body-read error would print: read it here. Error bodies are read
        // here too, to give them QStash's error shape.
        if self.inner().auth == AuthMode::QueryParameter || is_error(response.status()) {
            Box::pin(buffer(response)).await
        } else {
            Ok(response)
        }
    }
}

/// The attempts after the first: `request` is sent `after` a wait, and again
/// for as long as [`next_attempt`] says so.
async fn retry(
    client: &Client,
    mut request: reqwest::Request,
    mut after: Duration,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    let mut number = 2;
    loop {
        tokio::time::sleep(after).await;
        let copy = copy_for_retry(client, &request, number);
        let result = client.client().execute(request).await;
        match next_attempt(client, &result, copy, number, info) {
            None => return result,
            Some(next) => (request, after) = next,
        }
        number += 1;
    }
}

/// Whether attempt `number`, which came to `result`, is followed by another:
/// the request to send (`copy`) and the wait before it.
fn next_attempt(
    client: &Client,
    result: &reqwest::Result<reqwest::Response>,
    copy: Option<reqwest::Request>,
    number: u32,
    info: &OperationInfo,
) -> Option<(reqwest::Request, Duration)> {
    let copy = copy?;
    let policy = &client.inner().retry;
    // Asked only on a failure that a repeat could fix.
    let repeatable = || retry::repeatable(info.operation_id, &copy);
    let after = match result {
        Ok(r) => policy.after_status(number, r.status(), r.headers(), repeatable),
        Err(e) => policy.after_error(number, e, repeatable),
    }?;
    Some((copy, after))
}

/// A copy of `request` for the attempt after attempt `number`, if the retry
/// policy allows one; `None` also if the body is a stream, which is sent once.
fn copy_for_retry(
    client: &Client,
    request: &reqwest::Request,
    number: u32,
) -> Option<reqwest::Request> {
    if number < client.inner().retry.max_attempts() {
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
pub(crate) fn authenticate(inner: &Inner, request: &mut reqwest::Request) {
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

/// Removes the token from the URL a reqwest error carries (query mode puts
/// it there, and reqwest prints the URL).
pub(crate) fn redact(mut e: reqwest::Error) -> reqwest::Error {
    if let Some(url) = e.url_mut() {
        redact_url(url);
    }
    e
}

pub(crate) fn redact_url(url: &mut reqwest::Url) {
    if !url.query_pairs().any(|(k, _)| k == TOKEN_QUERY_PARAMETER) {
        return;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == TOKEN_QUERY_PARAMETER {
                "<redacted>".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
}

/// Reads the whole body, so that a broken connection mid-body surfaces here
/// (redacted), and rebuilds the response from memory. An error status whose
/// body is not QStash's `{"error": "..."}` JSON gets that shape, with the raw
/// text as the message and a marker header, so the typed error keeps its
/// status and rate-limit headers either way.
async fn buffer(response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(redact)?;
    let mut builder = http::Response::builder().status(status).version(version);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    let body = if is_error(status) && !is_error_json(&body) {
        let text = String::from_utf8_lossy(&body);
        if let Some(h) = builder.headers_mut() {
            h.insert(RAW_BODY_MARKER, HeaderValue::from_static("1"));
            h.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.remove(reqwest::header::CONTENT_LENGTH);
        }
        Bytes::from(serde_json::json!({ "error": text }).to_string())
    } else {
        body
    };
    // Status, version and headers come from a valid response: this cannot fail.
    let rebuilt = builder
        .body(body)
        .unwrap_or_else(|_| http::Response::new(Bytes::new()));
    Ok(reqwest::Response::from(rebuilt))
}

fn is_error(status: reqwest::StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

fn is_error_json(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Shape {
        #[allow(dead_code)]
        error: String,
    }
    serde_json::from_slice::<Shape>(body).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn error_json_is_recognised() {
        assert!(is_error_json(br#"{"error":"nope"}"#));
        assert!(!is_error_json(b"<html>bad gateway</html>"));
        assert!(!is_error_json(br#"{"message":"x"}"#));
    }
}
