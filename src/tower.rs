//! Receiving QStash deliveries in any [tower](https://docs.rs/tower) service
//! over `http` (feature `tower`): [`VerifyLayer`] puts QStash's signature
//! check in front of an axum router, a hyper service, lambda_http, tonic, ...
//!
//! For each request, the token (signature, issuer, time claims, `sub` when a
//! public URL is set) is checked from the headers before the body is read;
//! the body is then read up to the [body limit](crate::DeliveryVerifier::with_body_limit)
//! and checked against the token. A verified request goes on to the inner
//! service with its body buffered (`http_body_util::Full<Bytes>`) and the
//! [`Claims`] as a request extension. Any other is answered 401 with a
//! `WWW-Authenticate` header and the reason (413 for a body above the
//! limit), the reason is logged at `warn` through `tracing`, and the inner
//! service never sees it.
//!
//! ```no_run
//! use axum::{Extension, Router, routing::post};
//! use qstash::tower::VerifyLayer;
//! use qstash::{Claims, DeliveryVerifier, Receiver};
//!
//! async fn orders(Extension(claims): Extension<Claims>, body: String) -> &'static str {
//!     println!("delivery {:?}: {body}", claims.jti);
//!     "ok"
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = DeliveryVerifier::new(Receiver::from_env()?)
//!     .with_public_url("https://api.example.com");
//! let app: Router = Router::new()
//!     .route("/hooks/orders", post(orders))
//!     .layer(VerifyLayer::new(verifier));
//! # Ok(()) }
//! ```
//!
//! With a public URL, the expected `sub` is that URL followed by the path
//! and query of the request as the layer receives it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{Either, Full};

use crate::inbound::DeliveryVerifier;
use crate::receiver::Claims;

/// A [`tower_layer::Layer`] that verifies QStash deliveries before they
/// reach the service it wraps (see the [module](self) documentation).
///
/// ```
/// use qstash::tower::VerifyLayer;
/// use qstash::{DeliveryVerifier, Receiver};
///
/// // From a receiver, with the default settings...
/// let layer = VerifyLayer::new(Receiver::new("sig_current", "sig_next"));
/// // ... or from a verifier with its own.
/// let layer = VerifyLayer::new(
///     DeliveryVerifier::new(Receiver::new("sig_current", "sig_next")).with_body_limit(4096),
/// );
/// ```
#[derive(Debug, Clone)]
pub struct VerifyLayer {
    verifier: Arc<DeliveryVerifier>,
}

impl VerifyLayer {
    /// The layer, with these settings (or a [`Receiver`](crate::Receiver)'s
    /// defaults).
    #[must_use]
    pub fn new(verifier: impl Into<DeliveryVerifier>) -> Self {
        Self {
            verifier: Arc::new(verifier.into()),
        }
    }
}

impl<S> tower_layer::Layer<S> for VerifyLayer {
    type Service = Verify<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Verify {
            inner,
            verifier: Arc::clone(&self.verifier),
        }
    }
}

/// The service made by [`VerifyLayer`]: passes verified deliveries, with a
/// buffered body and their [`Claims`] as an extension, to `S`; answers any
/// other request itself.
///
/// Its answers have the body `Either<S's body, Full<Bytes>>` (from
/// `http_body_util`): the inner service's, or the reason of a refusal.
#[derive(Debug, Clone)]
pub struct Verify<S> {
    inner: S,
    verifier: Arc<DeliveryVerifier>,
}

/// A boxed, sendable future, as the service's.
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, ResBody> tower_service::Service<http::Request<B>> for Verify<S>
where
    S: tower_service::Service<http::Request<Full<Bytes>>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<Either<ResBody, Full<Bytes>>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The service made ready by `poll_ready` handles this request; a
        // clone takes its place for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = Arc::clone(&self.verifier);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let (body, claims) = match verifier.verify_http(&parts.uri, &parts.headers, body).await
            {
                Ok(verified) => verified,
                Err(refused) => return Ok(refused.to_response().map(Either::Right)),
            };
            parts.extensions.insert::<Claims>(claims);
            let response = inner
                .call(http::Request::from_parts(parts, Full::new(body)))
                .await?;
            Ok(response.map(Either::Left))
        })
    }
}
