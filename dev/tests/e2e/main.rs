//! End-to-end: the qstash client against the local QStash (qstash-dev),
//! with real, signed deliveries. One test binary for all of them.

mod common;

mod axum_receiver;
mod bounds;
mod bulk_filters;
mod callbacks;
mod cli;
mod deliveries;
mod dev_mode;
mod lifecycle;
mod logs;
mod multi_region;
mod operations;
mod routes;
mod secrets;
mod workflow;
mod workflow_client;
