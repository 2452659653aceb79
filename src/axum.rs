//! Receiving QStash deliveries in [axum](https://docs.rs/axum) (feature
//! `axum`): the [`Verified`] extractor checks the `Upstash-Signature` of the
//! incoming request and hands the handler the body and the claims; a request
//! that does not verify is answered 401 with the reason, and the handler
//! never runs.
//!
//! The [`Receiver`] comes from the router's state (any state `S` with
//! `Receiver: FromRef<S>`, or the `Receiver` itself as state):
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use qstash::axum::Verified;
//!
//! async fn orders(delivery: Verified) -> &'static str {
//!     println!("delivery {:?}: {} bytes", delivery.claims.jti, delivery.body.len());
//!     "ok"
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = qstash::Receiver::from_env()?;
//! let app: Router = Router::new().route("/hooks/orders", post(orders)).with_state(receiver);
//! # Ok(()) }
//! ```
//!
//! The signature's `sub` claim is the URL QStash delivered to. Behind a
//! proxy the service cannot see that URL itself, so the extractor does not
//! compare it; compare [`Claims::sub`] in the handler where it matters.

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::receiver::{Claims, Receiver, VerifyError};

/// A delivery whose QStash signature checked out: its raw body and the
/// signature's claims.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified {
    /// The request body, exactly as signed.
    pub body: Bytes,
    /// The verified claims (`jti` identifies the delivery, `sub` the URL).
    pub claims: Claims,
}

/// Why a request was refused by [`Verified`]: answered 401 with the reason
/// (413 or 400 when the body itself could not be read).
#[derive(Debug)]
pub enum Rejection {
    /// The signature is missing, malformed, expired or does not match.
    Unverified(VerifyError),
    /// The body could not be read (too large, or the connection broke).
    Body(axum::extract::rejection::BytesRejection),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Unverified(e) => write!(f, "not a verified QStash delivery: {e}"),
            Rejection::Body(e) => write!(f, "cannot read the delivery body: {e}"),
        }
    }
}

impl std::error::Error for Rejection {}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match &self {
            Rejection::Unverified(_) => StatusCode::UNAUTHORIZED,
            Rejection::Body(e) => e.status(),
        };
        (status, self.to_string()).into_response()
    }
}

impl<S> FromRequest<S> for Verified
where
    S: Send + Sync,
    Receiver: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Receiver::from_ref(state);
        let headers = request.headers().clone();
        // Read through `Bytes`, so a `DefaultBodyLimit` layer applies.
        let body = Bytes::from_request(request, state)
            .await
            .map_err(Rejection::Body)?;
        let claims = receiver
            .verify_request(&headers, &body, None)
            .map_err(Rejection::Unverified)?;
        Ok(Self { body, claims })
    }
}
