//! Receiving QStash deliveries in [axum](https://docs.rs/axum) (feature
//! `axum`): the [`Verified`] extractor checks the `Upstash-Signature` of the
//! incoming request and hands the handler the body and the claims.
//!
//! The token (signature, issuer, time claims, `sub` when a public URL is
//! set) is checked from the headers before the body is read; the body is
//! then read up to the [body limit](crate::DeliveryVerifier::with_body_limit)
//! (axum's `DefaultBodyLimit` does not apply) and checked against the token. A request that does not verify is
//! answered 401 with a `WWW-Authenticate` header and the reason (413 for a
//! body above the limit), the reason is logged at `warn` through `tracing`,
//! and the handler never runs.
//!
//! The [`DeliveryVerifier`] comes from the router's state: any state `S`
//! with `DeliveryVerifier: FromRef<S>`, the verifier itself, or a
//! [`Receiver`] (with the default settings):
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
//! let verifier = qstash::DeliveryVerifier::new(qstash::Receiver::from_env()?)
//!     .with_public_url("https://api.example.com");
//! let app: Router = Router::new().route("/hooks/orders", post(orders)).with_state(verifier);
//! # Ok(()) }
//! ```
//!
//! With a public URL, the expected `sub` is that URL followed by the path
//! and query the router received (before any `nest` stripped a prefix).
//! The [`tower` layer](https://docs.rs/qstash/latest/qstash/tower/) does the
//! same for a whole router or any other `http` service.

use axum::extract::{FromRef, FromRequest, OriginalUri, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::inbound::{DeliveryRejection, DeliveryVerifier};
use crate::receiver::{Claims, Receiver};

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

impl IntoResponse for DeliveryRejection {
    fn into_response(self) -> Response {
        self.to_response::<axum::body::Body>()
    }
}

/// A [`Receiver`] as state gives the default settings.
impl FromRef<Receiver> for DeliveryVerifier {
    fn from_ref(receiver: &Receiver) -> Self {
        DeliveryVerifier::new(receiver.clone())
    }
}

impl<S> FromRequest<S> for Verified
where
    S: Send + Sync,
    DeliveryVerifier: FromRef<S>,
{
    type Rejection = DeliveryRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = DeliveryVerifier::from_ref(state);
        let (parts, body) = request.into_parts();
        // The URI the router received: `nest` strips its prefix from
        // `parts.uri`.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let (body, claims) = verifier.verify_http(uri, &parts.headers, body).await?;
        Ok(Self { body, claims })
    }
}
