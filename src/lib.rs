//! A Rust client for [Upstash QStash](https://upstash.com/docs/qstash), the
//! hosted message queue and scheduler.
//!
//! The client is generated at build time from the OpenAPI description in
//! `openapi/qstash/openapi.yaml` (every operation, every parameter, every
//! type) with a thin hand-written layer on top: configuration and
//! authentication ([`Client::builder`], [`Client::from_env`]), one error type
//! ([`Error`]), cursor pagination ([`pagination`]) and signature verification
//! of incoming deliveries ([`Receiver`]).
//!
//! ```no_run
//! use futures::TryStreamExt;
//!
//! # async fn run() -> Result<(), qstash::Error> {
//! let client = qstash::Client::from_env()?;
//!
//! // Publish a message to a URL.
//! let sent = client
//!     .publish()
//!     .destination("https://example.com/hooks/orders")
//!     .content_type("application/json")
//!     .body(r#"{"order": 42}"#)
//!     .send()
//!     .await?;
//! println!("{sent:?}");
//!
//! // Every DLQ message with a label, page after page.
//! let mut dead = client.list_dlq_messages().label("billing").stream();
//! while let Some(message) = dead.try_next().await? {
//!     println!("{:?}", message.message_id);
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

// Generated code names layer types by crate path (`::qstash::StringList`).
extern crate self as qstash;

/// The generated client: every operation of the API description.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    rustdoc::all,
    unused_imports,
    dead_code,
    mismatched_lifetime_syntaxes
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/client.rs"));
}

#[cfg(feature = "axum")]
pub mod axum;
mod bulk;
pub mod config;
pub mod error;
mod guards;
mod hooks;
mod list;
pub mod message;
pub mod pagination;
mod publishing;
pub mod receiver;
mod retry;
mod secrets;
mod urls;

pub use bulk::{BulkProgress, Everything};
pub use config::{AuthMode, ClientBuilder};
pub use error::{ApiError, Error, RateLimit};
/// What the API description says that generated code cannot express (the
/// operations, their pagination, bulk operations, wildcard headers): read
/// by the layer and the tests, not an API.
#[doc(hidden)]
pub use generated::spec_facts;
pub use generated::{Client, builder, enums, types};
pub use list::{EmptyList, StringList};
pub use message::{Body, Callback, DeliveryMethod, FlowControl, MessageOptions, Redact};
pub use progenitor_client::{ByteStream, ResponseValue};
pub use publishing::{BatchEntry, PublishedMessage, WithEntries, WithOptions};
pub use receiver::{Receiver, VerifyError};
pub use retry::RetryPolicy;

/// The README's usage example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
