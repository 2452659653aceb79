//! The client against local mock servers (wiremock, or a few lines of
//! tokio): what goes out on the wire, what comes back, and the receiver.
//! One test binary, so the crate is linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

mod actix_extractor;
mod api_destinations;
mod auth;
mod axum_extractor;
mod callbacks;
mod default_headers;
mod errata;
mod error_bodies;
mod errors;
mod from_env;
mod operations;
mod pagination;
mod publishing;
mod receiver;
mod request_state;
mod tower_layer;
mod wire_safety;
mod workflow;
