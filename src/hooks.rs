//! The one place every generated request passes through: authentication on
//! the way out; redaction and error-body normalization on the way back.

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
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let inner = self.inner();
        authenticate(inner, request);
        if let Some(user_agent) = &inner.user_agent
            && !request.headers().contains_key(USER_AGENT)
        {
            request.headers_mut().insert(USER_AGENT, user_agent.clone());
        }
        if request.timeout().is_none() {
            *request.timeout_mut() = inner.timeout;
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
        let policy = &self.inner().retry;
        let mut request = request;
        let mut attempt = 1;
        loop {
            // A request whose body cannot be copied (a stream) is sent once.
            let again = (attempt < policy.max_attempts())
                .then(|| request.try_clone())
                .flatten();
            let result = self.client().execute(request).await;
            let wait = again.as_ref().and_then(|next| {
                // Asked only on a failure that a repeat could fix.
                let repeatable = || retry::repeatable(info.operation_id, next);
                match &result {
                    Ok(r) => policy.after_status(attempt, r.status(), r.headers(), repeatable),
                    Err(e) => policy.after_error(attempt, e, repeatable),
                }
            });
            match (wait, again) {
                (Some(wait), Some(next)) => {
                    drop(result);
                    tokio::time::sleep(wait).await;
                    request = next;
                    attempt += 1;
                }
                _ => {
                    let response = result.map_err(redact)?;
                    // In query mode the response carries the token in its URL,
                    // which a body-read error would print: read it here.
                    let buffered = self.inner().auth == AuthMode::QueryParameter
                        || is_error(response.status());
                    return if buffered {
                        buffer(response).await
                    } else {
                        Ok(response)
                    };
                }
            }
        }
    }
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
    fn error_json_is_recognised() {
        assert!(is_error_json(br#"{"error":"nope"}"#));
        assert!(!is_error_json(b"<html>bad gateway</html>"));
        assert!(!is_error_json(br#"{"message":"x"}"#));
    }
}
