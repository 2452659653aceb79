//! A Rust client for [Upstash QStash](https://upstash.com/docs/qstash), the
//! hosted message queue and scheduler.
//!
//! The client is generated at build time from the OpenAPI descriptions in
//! `openapi/qstash/openapi.yaml` and `openapi/workflow/openapi.yaml` (every
//! operation of QStash and of the Upstash Workflow API the same host serves,
//! every parameter, every type) with a thin hand-written layer on top: configuration and
//! authentication ([`Client::builder`], [`Client::from_env`]), one error type
//! ([`Error`]), cursor pagination ([`pagination`]), signature verification
//! of incoming deliveries ([`Receiver`], with regional keys and dev mode;
//! [`DeliveryVerifier`] in a web framework) and the payloads QStash sends to
//! callback URLs, decoded ([`CallbackDelivery`]).
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
//!
//! # Where things are
//!
//! Every item has one path. The hand-written layer's items are at the
//! crate root ([`Client`], [`Error`], [`MessageOptions`], [`Receiver`],
//! [`CallbackDelivery`], ...),
//! whatever module of the crate defines them. Modules are public only for
//! what is not the layer's core vocabulary:
//! - the generated code: [`builder`] (one request builder per operation),
//!   [`types`] (request and response bodies) and [`enums`] (response values
//!   that keep what the description does not list);
//! - [`pagination`]: the page and item streams and their (sealed) traits;
//! - `axum` (feature `axum`), `actix` (feature `actix-web`) and `tower`
//!   (feature `tower`): the framework integrations, the `Verified`
//!   extractors and the `VerifyLayer`, thin adapters over the
//!   framework-neutral [`DeliveryVerifier`] and [`DeliveryRejection`]
//!   (which another framework can use directly).
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

#[cfg(feature = "actix-web")]
pub mod actix;
mod api;
#[cfg(feature = "axum")]
pub mod axum;
mod bulk;
mod callback;
mod config;
mod dev;
mod error;
mod guards;
mod inbound;
mod list;
mod message;
mod operation;
pub mod pagination;
mod publishing;
mod receiver;
mod retry;
mod secrets;
#[cfg(feature = "tower")]
pub mod tower;
mod transport;
mod urls;
mod workflow;

pub use api::{Analytics, Api, EmailProvider, LlmProvider};
pub use bulk::BulkProgress;
pub use callback::{CallbackDelivery, CallbackError, CallbackHeaders};
pub use config::{
    AuthMode, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT, REGION_ENV, TOKEN_ENV, URL_ENV,
};
pub use dev::{
    DEFAULT_DEV_PORT, DEV_CURRENT_SIGNING_KEY, DEV_ENV, DEV_NEXT_SIGNING_KEY, DEV_PORT_ENV,
    DEV_TOKEN,
};
pub use error::{ApiError, Error, RateLimit, TransportError};
pub use generated::{Client, builder, enums, types};
pub use inbound::{DEFAULT_BODY_LIMIT, DeliveryRejection, DeliveryVerifier, SIGNATURE_CHALLENGE};
pub use list::{EmptyList, StringList};
pub use message::{
    Body, Callback, DeliveryMethod, FlowControl, MAX_DELAY, MAX_FLOW_CONTROL_PERIOD,
    MessageOptions, Redact,
};
pub use progenitor_client::{ByteStream, ResponseValue};
pub use publishing::{BatchEntry, PublishedMessage};
pub use receiver::{
    CURRENT_SIGNING_KEY_ENV, Claims, MalformedReason, NEXT_SIGNING_KEY_ENV, PendingBody,
    REGION_HEADER, Receiver, Region, SIGNATURE_HEADER, TokenPart, VerifyError,
};
pub use retry::RetryPolicy;
pub use workflow::WorkflowOptions;
#[cfg(qstash_operation = "trigger_workflows")]
pub use workflow::WorkflowTrigger;

/// The README's usage example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
