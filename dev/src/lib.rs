//! A local, in-memory stand-in for [Upstash QStash](https://upstash.com/docs/qstash)
//! for offline development and end-to-end tests.
//!
//! It serves the QStash REST API (every operation of
//! `openapi/qstash/openapi.yaml`, as corrected by `errata.yaml`) on
//! `127.0.0.1` and really delivers messages: HTTP requests to their
//! destinations, signed with a JWT in `Upstash-Signature` that
//! `qstash::Receiver` verifies, retried with exponential backoff, then
//! dead-lettered. Queues, URL groups, cron schedules, flow control, logs,
//! the DLQ and bulk operations work as the service describes them. It also
//! serves the Workflow REST API (`openapi/workflow/openapi.yaml`) over the
//! runs it has seen: triggers, cancel, logs, the workflow DLQ, waiters and
//! notify (its README says what is simulated and what is not). Memory is
//! bounded by [`Limits`].
//!
//! ```no_run
//! # async fn run() -> Result<(), qstash_dev::Error> {
//! let server = qstash_dev::Server::builder()
//!     .port(0)
//!     .retry_delay_scale(0.001)
//!     .start()
//!     .await?;
//! // Point a QStash client at `server.url()` with `server.token()`, and
//! // verify deliveries with `server.current_signing_key()` and
//! // `server.next_signing_key()`.
//! # Ok(()) }
//! ```
//!
//! Deliveries go over HTTP or HTTPS (rustls with ring and Mozilla's root
//! certificates, on the server's own client: nothing process-wide is
//! installed); redirects are not followed. A [`Route`] sends deliveries for
//! a production origin to a local address. The `qstash-dev` command is a
//! drop-in for the official development server: port [`DEFAULT_PORT`] and
//! the public credentials [`DEV_TOKEN`], [`DEV_CURRENT_SIGNING_KEY`] and
//! [`DEV_NEXT_SIGNING_KEY`]; [`Server::builder`] picks a free port and
//! random credentials instead, for tests.
//!
//! The server logs through [`tracing`](https://docs.rs/tracing) under the
//! target `qstash_dev` (requests, messages and deliveries at `debug`,
//! failures and the server's start and stop at `info`, the DLQ and limits
//! reached at `warn`), never the token, the signing keys, bodies, header
//! values or query strings; the command writes these logs to stderr,
//! filtered by `RUST_LOG`.
#![warn(missing_docs)]

mod api;
mod auth;
mod clock;
mod config;
mod delivery;
mod error;
mod filter;
mod ids;
mod model;
mod options;
mod query;
mod route;
mod scheduler;
mod server;
mod signing;
mod state;
mod store;
mod telemetry;
mod views;

pub use config::Limits;
pub use error::Error;
pub use route::Route;
pub use server::{
    DEFAULT_PORT, DEFAULT_SHUTDOWN_GRACE, DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_TOKEN,
    Server, ServerBuilder,
};
