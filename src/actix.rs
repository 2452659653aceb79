//! Receiving QStash deliveries in [actix-web](https://docs.rs/actix-web)
//! (feature `actix-web`): the [`Verified`] extractor checks the
//! `Upstash-Signature` of the incoming request and hands the handler the
//! body and the claims.
//!
//! The token (signature, issuer, time claims, `sub` when a public URL is
//! set) is checked from the headers before the body is read; the body is
//! then read up to the [body limit](crate::DeliveryVerifier::with_body_limit)
//! and checked against the token. A request that does not verify is
//! answered 401 with a `WWW-Authenticate` header and the reason (413 for a
//! body above the limit, reading stopped as soon as it is crossed), the
//! reason is logged at `warn` through `tracing`, and the handler never runs.
//! The refusal is a [`DeliveryRejection`], an actix
//! [`ResponseError`]: `actix_web::Error::as_error` finds it in an error
//! handler.
//!
//! The [`DeliveryVerifier`] comes from the app data: a
//! `web::Data<DeliveryVerifier>`, or else a `web::Data<Receiver>` (with the
//! default settings). With neither registered, the extractor answers 500,
//! saying what to register, and logs it at `error`.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use qstash::actix::Verified;
//! use qstash::{DeliveryVerifier, Receiver};
//!
//! async fn orders(delivery: Verified) -> &'static str {
//!     println!("delivery {:?}: {} bytes", delivery.claims.jti, delivery.body.len());
//!     "ok"
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = web::Data::new(
//!     DeliveryVerifier::new(Receiver::from_env()?).with_public_url("https://api.example.com"),
//! );
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(verifier.clone())
//!         .route("/hooks/orders", web::post().to(orders))
//! })
//! .bind(("0.0.0.0", 8080))?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! With a public URL, the expected `sub` is that URL followed by the path
//! and query of the request as the server received it (`scope` does not
//! change them).
//!
//! actix-web 4 is built on version 0.2 of the `http` crate and the
//! verifier takes version 1's types: the request's headers are copied
//! over. Both versions accept the same bytes in a header, so every header
//! converts (one that did not would be left out, as if absent).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;

use crate::inbound::{DeliveryRejection, DeliveryVerifier};
use crate::receiver::{Claims, Receiver};

/// What the 500 answer to a request whose app has no verifier says.
const MISSING_APP_DATA: &str = "qstash::actix::Verified needs the app data \
     web::Data<qstash::DeliveryVerifier> (or web::Data<qstash::Receiver>): \
     register it with App::app_data";

/// A delivery whose QStash signature checked out: its raw body and the
/// signature's claims (see the [module](self) documentation).
///
/// ```no_run
/// use actix_web::{App, web};
/// use qstash::actix::Verified;
///
/// async fn orders(delivery: Verified) -> String {
///     format!("{} bytes", delivery.body.len())
/// }
///
/// let receiver = qstash::Receiver::new("sig_current", "sig_next");
/// let app = App::new()
///     // The default settings; a `web::Data<DeliveryVerifier>` for others.
///     .app_data(web::Data::new(receiver))
///     .route("/hooks/orders", web::post().to(orders));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified {
    /// The request body, exactly as signed.
    pub body: Bytes,
    /// The verified claims (`jti` identifies the delivery, `sub` the URL).
    pub claims: Claims,
}

/// The answer to a refused delivery: the same status, `WWW-Authenticate`
/// header and `text/plain` reason as [`DeliveryRejection::to_response`].
impl ResponseError for DeliveryRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let (parts, body) = self.to_response::<String>().into_parts();
        let mut response = HttpResponse::build(self.status_code());
        for (name, value) in &parts.headers {
            response.insert_header((name.as_str(), value.as_bytes()));
        }
        response.body(body)
    }
}

impl FromRequest for Verified {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let verifier = verifier_of(request);
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let headers = http_headers(request.headers());
        let payload = payload.take();
        Box::pin(async move {
            let verifier = verifier?;
            // The head first: nothing of the body is read for a request
            // that does not verify.
            let pending = verifier.verify_head(&path, &headers)?;
            let body = read_body(&verifier, payload).await?;
            let claims = verifier.verify_body(pending, &body)?;
            Ok(Self { body, claims })
        })
    }
}

/// The app's verifier: its `web::Data<DeliveryVerifier>`, or one with the
/// default settings for its `web::Data<Receiver>`; a 500 error without
/// either.
fn verifier_of(request: &HttpRequest) -> Result<Arc<DeliveryVerifier>, actix_web::Error> {
    if let Some(verifier) = request.app_data::<web::Data<DeliveryVerifier>>() {
        return Ok(verifier.clone().into_inner());
    }
    if let Some(receiver) = request.app_data::<web::Data<Receiver>>() {
        return Ok(Arc::new(DeliveryVerifier::new(receiver.get_ref().clone())));
    }
    tracing::error!(target: "qstash", "{MISSING_APP_DATA}");
    Err(actix_web::error::ErrorInternalServerError(MISSING_APP_DATA))
}

/// The request's headers as an `http` 1 header map, every value kept (a
/// header that would not convert, which none can, is left out).
fn http_headers(headers: &actix_web::http::header::HeaderMap) -> http::HeaderMap {
    let mut converted = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            converted.append(name, value);
        }
    }
    converted
}

/// Reads the payload, refusing it (and reading no further) as soon as it
/// grows past the body limit.
async fn read_body(
    verifier: &DeliveryVerifier,
    mut payload: Payload,
) -> Result<Bytes, DeliveryRejection> {
    let limit = verifier.body_limit();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let refused = match chunk {
            Ok(chunk) if chunk.len() <= limit - body.len() => {
                body.extend_from_slice(&chunk);
                continue;
            }
            Ok(_) => DeliveryRejection::BodyTooLarge { limit },
            Err(e) => DeliveryRejection::BodyUnreadable(e.to_string()),
        };
        refused.log();
        return Err(refused);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_value_actix_accepts_converts() {
        for byte in 0..=u8::MAX {
            let value = [b'a', byte, b'z'];
            if let Ok(old) = actix_web::http::header::HeaderValue::from_bytes(&value) {
                let mut headers = actix_web::http::header::HeaderMap::new();
                headers.append(
                    actix_web::http::header::HeaderName::from_static("upstash-region"),
                    old.clone(),
                );
                headers.append(
                    actix_web::http::header::HeaderName::from_static("upstash-region"),
                    old,
                );
                let converted = http_headers(&headers);
                let values: Vec<_> = converted
                    .get_all("upstash-region")
                    .iter()
                    .map(http::HeaderValue::as_bytes)
                    .collect();
                assert_eq!(values, [&value[..], &value[..]], "byte {byte:#04x}");
            }
        }
    }

    #[test]
    fn rejections_answer_as_to_response_does() {
        use crate::receiver::VerifyError;
        for refused in [
            DeliveryRejection::Unverified(VerifyError::InvalidSignature),
            DeliveryRejection::BodyTooLarge { limit: 9 },
            DeliveryRejection::BodyUnreadable("reset".into()),
        ] {
            let expected = refused.to_response::<String>();
            let response = refused.error_response();
            assert_eq!(response.status().as_u16(), expected.status().as_u16());
            assert_eq!(refused.status_code().as_u16(), expected.status().as_u16());
            assert_eq!(response.headers().len(), expected.headers().len());
            for (name, value) in expected.headers() {
                assert_eq!(
                    response.headers().get(name.as_str()).map(|v| v.as_bytes()),
                    Some(value.as_bytes()),
                    "{name}"
                );
            }
            // What an error handler gets back from actix's error.
            let error = actix_web::Error::from(refused.clone());
            assert_eq!(error.as_error::<DeliveryRejection>(), Some(&refused));
        }
    }
}
