//! Errors: the crate's public [`Error`] and the API's JSON error answers.

use std::fmt;
use std::net::SocketAddr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Another I/O error while starting.
    Io(std::io::Error),
    /// The HTTP client used for deliveries could not be built.
    HttpClient(reqwest::Error),
    /// A setting given to the builder is not usable.
    InvalidConfig(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::HttpClient(e) => write!(f, "cannot build the delivery HTTP client: {e}"),
            Self::InvalidConfig(msg) => write!(f, "invalid setting: {msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind { source, .. } | Self::Io(source) => Some(source),
            Self::HttpClient(e) => Some(e),
            Self::InvalidConfig(_) => None,
        }
    }
}

/// An API error answer: a status and `{"error": "<message>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

/// What API handlers return.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request is malformed.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such item.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 412: a limit is reached.
    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, message)
    }
}

/// The message of an error answer, kept beside its JSON body for the
/// request log.
#[derive(Debug, Clone)]
pub(crate) struct ErrorText(pub(crate) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": &self.message }))).into_response();
        response.extensions_mut().insert(ErrorText(self.message));
        response
    }
}
