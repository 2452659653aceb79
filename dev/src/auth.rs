//! The token check every request passes: `Authorization: Bearer <token>`
//! (the scheme in any case, RFC 9110) or the `qstash_token` query
//! parameter; and the answer once the server stops.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONNECTION, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::query::Params;
use crate::state::Shared;

/// Lets a request through only with the server's token.
pub(crate) async fn require_token(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let query = Params::parse(request.uri().query());
    let from_query = query.one("qstash_token");
    let presented = bearer.or(from_query);
    match presented {
        Some(token) if same(token, &shared.token) => next.run(request).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "invalid token").into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing token: send `Authorization: Bearer <token>` or the `qstash_token` query parameter",
        )
        .into_response(),
    }
}

/// Once the server stops, every request (on a connection kept alive from
/// before) is answered 503 and the connection closed; so is one that was
/// being read or handled when it stopped, whatever the handler did: what
/// it accepted would never be delivered.
pub(crate) async fn refuse_when_stopping(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if shared.is_stopping() {
        return stopping();
    }
    let response = next.run(request).await;
    if shared.is_stopping() {
        return stopping();
    }
    response
}

fn stopping() -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is stopping: nothing is accepted any more",
    )
    .into_response();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The credentials of `Bearer <token>`, the scheme in any case.
fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// Compares in time independent of where the two differ and of their
/// lengths: the digests, of fixed length, are compared in constant time.
fn same(presented: &str, token: &str) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(token.as_bytes());
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    use super::{bearer_token, same};

    #[test]
    fn the_scheme_is_case_insensitive() {
        for header in [
            "Bearer t0k",
            "bearer t0k",
            "BEARER t0k",
            "bEaReR   t0k ",
            "Bearer\tt0k",
        ] {
            assert_eq!(bearer_token(header), Some("t0k"), "{header}");
        }
        for header in ["Basic t0k", "Bearert0k", "Bearer", "Bearer   ", "t0k"] {
            assert_eq!(bearer_token(header), None, "{header}");
        }
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(same("abc", "abc"));
        assert!(!same("abd", "abc"));
        assert!(!same("ab", "abc"));
        assert!(!same("abcd", "abc"));
        assert!(!same("", "abc"));
    }
}
