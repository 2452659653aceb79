//! What the server stores: messages, their options, DLQ entries, log
//! records, queues, URL groups, schedules, flow control keys, bulk actions.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;

/// Header names to values, as the API shows them.
pub(crate) type Headers = BTreeMap<String, Vec<String>>;

/// Settings of a callback or failure callback.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallbackSpec {
    pub(crate) url: String,
    pub(crate) headers: Headers,
    pub(crate) method: Option<String>,
    pub(crate) retries: Option<u32>,
    pub(crate) timeout_ms: Option<u64>,
}

/// Flow control settings a message carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FlowSpec {
    pub(crate) key: String,
    pub(crate) parallelism: Option<u32>,
    pub(crate) rate: Option<u32>,
    pub(crate) period_secs: Option<u64>,
}

/// Parts hidden in API answers (`Upstash-Redact-Fields`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Redact {
    pub(crate) body: bool,
    pub(crate) all_headers: bool,
    pub(crate) headers: Vec<String>,
}

/// Everything a publish request says about its message(s), apart from
/// where they go: shared by the messages of one URL group fan-out and by
/// every message a schedule produces.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    pub(crate) method: String,
    /// Headers delivered with the message (forwarded ones and Content-Type).
    pub(crate) header: Headers,
    pub(crate) body: Bytes,
    pub(crate) retries: Option<u32>,
    pub(crate) retry_delay: Option<String>,
    pub(crate) delay_ms: Option<u64>,
    pub(crate) not_before_secs: Option<i64>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) labels: Vec<String>,
    pub(crate) flow: Option<FlowSpec>,
    pub(crate) dedup_id: Option<String>,
    pub(crate) content_dedup: bool,
    pub(crate) callback: Option<CallbackSpec>,
    pub(crate) failure_callback: Option<CallbackSpec>,
    pub(crate) redact: Redact,
}

/// Default retry budget of a message.
pub(crate) const DEFAULT_RETRIES: u32 = 3;

impl Options {
    pub(crate) fn max_retries(&self) -> u32 {
        self.retries.unwrap_or(DEFAULT_RETRIES)
    }
}

/// What a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Published by a user or a schedule.
    Message,
    /// A callback of another message: it has no callbacks of its own.
    Callback,
}

/// A message, fixed at creation.
#[derive(Debug)]
pub(crate) struct MessageInfo {
    pub(crate) id: String,
    pub(crate) kind: Kind,
    pub(crate) url: String,
    pub(crate) topic: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) queue: Option<String>,
    pub(crate) schedule_id: Option<String>,
    pub(crate) caller_ip: String,
    pub(crate) created_at: i64,
    /// Earliest delivery, when delayed (Unix milliseconds).
    pub(crate) not_before: Option<i64>,
    pub(crate) opts: Arc<Options>,
}

/// A message waiting for, or in, delivery.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) info: Arc<MessageInfo>,
    pub(crate) seq: u64,
    /// When the next attempt may start (Unix milliseconds).
    pub(crate) ready_at: i64,
    /// Attempts made so far.
    pub(crate) retried: u32,
    pub(crate) in_flight: bool,
    /// Due, but held back by its flow control key (then in the key's list
    /// of the store rather than in its due-time index).
    pub(crate) parked: bool,
    pub(crate) cancel_requested: bool,
}

/// Messages running and waiting, per queue or flow control key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) running: usize,
    pub(crate) waiting: usize,
}

/// What a destination answered (status 0: no answer at all).
#[derive(Debug, Clone, Default)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
    pub(crate) error: Option<String>,
}

impl Reply {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Reads the body of `response`, keeping at most `max` bytes and reading
/// no further once `max` is reached (the rest is never downloaded); with
/// the read error, if any.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    max: usize,
) -> (Bytes, Option<String>) {
    let mut body = Vec::new();
    loop {
        if body.len() >= max {
            return (Bytes::from(body), None);
        }
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = max.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => return (Bytes::from(body), None),
            Err(e) => {
                return (
                    Bytes::from(body),
                    Some(format!("reading the response failed: {e}")),
                );
            }
        }
    }
}

/// A message in the dead letter queue.
#[derive(Debug, Clone)]
pub(crate) struct DlqEntry {
    pub(crate) dlq_id: String,
    pub(crate) info: Arc<MessageInfo>,
    pub(crate) reply: Arc<Reply>,
}

/// Message states recorded in the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogState {
    Created,
    Active,
    Retry,
    Error,
    Delivered,
    Failed,
    CancelRequested,
    Cancelled,
}

impl LogState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Active => "ACTIVE",
            Self::Retry => "RETRY",
            Self::Error => "ERROR",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
            Self::CancelRequested => "CANCEL_REQUESTED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Whether the `state` filter value `wanted` selects this state
    /// (`IN_PROGRESS` stands for `ACTIVE`, `RETRY` and `ERROR`).
    pub(crate) fn selected_by(self, wanted: &str) -> bool {
        wanted == self.as_str()
            || (wanted == "IN_PROGRESS" && matches!(self, Self::Active | Self::Retry | Self::Error))
    }
}

/// One recorded state change.
#[derive(Debug, Clone)]
pub(crate) struct LogRecord {
    pub(crate) seq: u64,
    pub(crate) time: i64,
    pub(crate) state: LogState,
    pub(crate) info: Arc<MessageInfo>,
    pub(crate) error: Option<String>,
    pub(crate) next_delivery_time: Option<i64>,
    pub(crate) reply: Option<Arc<Reply>>,
}

/// A queue.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    pub(crate) name: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) parallelism: u32,
    pub(crate) paused: bool,
}

/// An endpoint of a URL group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) name: Option<String>,
    pub(crate) url: String,
}

/// A URL group.
#[derive(Debug, Clone)]
pub(crate) struct UrlGroup {
    pub(crate) name: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) endpoints: Vec<Endpoint>,
}

/// A cron schedule.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub(crate) id: String,
    pub(crate) cron_text: String,
    pub(crate) cron: croner::Cron,
    pub(crate) destination: String,
    pub(crate) queue: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) caller_ip: String,
    pub(crate) opts: Arc<Options>,
    pub(crate) paused: bool,
    pub(crate) last_time: Option<i64>,
    pub(crate) next_time: Option<i64>,
    /// Message id to state, for the messages of the latest tick.
    pub(crate) last_states: BTreeMap<String, String>,
    pub(crate) error: Option<String>,
}

/// A flow control key and its usage.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlowKey {
    pub(crate) key: String,
    pub(crate) parallelism: Option<u32>,
    pub(crate) rate: Option<u32>,
    pub(crate) period_secs: u64,
    pub(crate) pinned_parallelism: bool,
    pub(crate) pinned_rate: bool,
    pub(crate) paused: bool,
    pub(crate) rate_count: u32,
    pub(crate) period_start: i64,
}

/// A filter-based cancel, remembered for the bulk action endpoints.
#[derive(Debug, Clone)]
pub(crate) struct BulkAction {
    pub(crate) id: String,
    pub(crate) created_at: i64,
    pub(crate) completed_at: i64,
    pub(crate) total: u64,
    pub(crate) processed: u64,
    pub(crate) filter: BTreeMap<String, Vec<String>>,
}
