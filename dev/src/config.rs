//! Server settings: port, token, retry timing and memory limits.

/// Upper bounds on what the server keeps in memory.
///
/// Publishing past [`max_messages`](Self::max_messages) or past the byte
/// budget [`max_store_bytes`](Self::max_store_bytes) is answered with
/// `412 Precondition Failed` (as the service answers a request over a plan
/// limit), the error naming the limit; a request body larger than
/// [`max_body_bytes`](Self::max_body_bytes) gets `413 Payload Too Large`.
/// The logs and the DLQ drop their oldest entries when full, in count or in
/// bytes: history makes room for new messages before a publish is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Messages waiting for or in delivery (callbacks included).
    pub max_messages: usize,
    /// Log entries kept (a ring buffer: the oldest are dropped).
    pub max_log_entries: usize,
    /// DLQ entries kept (the oldest are dropped).
    pub max_dlq_entries: usize,
    /// Schedules.
    pub max_schedules: usize,
    /// Queues.
    pub max_queues: usize,
    /// URL groups.
    pub max_url_groups: usize,
    /// Endpoints per URL group.
    pub max_endpoints_per_group: usize,
    /// Bulk actions remembered.
    pub max_bulk_actions: usize,
    /// Deliveries in flight at once (the global parallelism).
    pub max_in_flight: usize,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest response body kept from a destination (DLQ, logs, callbacks).
    pub max_response_bytes: usize,
    /// Deduplication IDs remembered (each for 10 minutes).
    pub max_dedup_ids: usize,
    /// Workflow runs remembered. When full, the oldest run that has ended
    /// goes; starting a run while every remembered run is still going is
    /// answered 412.
    pub max_workflow_runs: usize,
    /// Workflow steps waiting for an event (`waitForEvent`) at once;
    /// waiting past it is answered 412.
    pub max_workflow_waiters: usize,
    /// Byte budget of the whole store: message bodies and headers (a body
    /// shared by the messages of a URL group or a schedule counted once),
    /// DLQ entries with the destination's response body and headers, log
    /// records and callback bodies, each with a fixed per-record overhead.
    /// Response headers are kept up to 16 KiB per response, response bodies
    /// up to [`max_response_bytes`](Self::max_response_bytes) (the rest is
    /// not read), callback bodies up to
    /// [`max_body_bytes`](Self::max_body_bytes).
    pub max_store_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_messages: 10_000,
            max_log_entries: 10_000,
            max_dlq_entries: 10_000,
            max_schedules: 1_000,
            max_queues: 1_000,
            max_url_groups: 1_000,
            max_endpoints_per_group: 100,
            max_bulk_actions: 1_000,
            max_in_flight: 100,
            max_body_bytes: 1024 * 1024,
            max_response_bytes: 64 * 1024,
            max_dedup_ids: 10_000,
            max_workflow_runs: 10_000,
            max_workflow_waiters: 10_000,
            max_store_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Settings fixed when the server starts.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) retry_delay_scale: f64,
    pub(crate) limits: Limits,
    /// Sent as `Upstash-Region` with every delivery, when set.
    pub(crate) region: Option<String>,
    /// Cron expressions may have a sixth, leading seconds field (tests).
    pub(crate) cron_seconds: bool,
}

impl Config {
    /// Wait before retry number `retried + 1`, in milliseconds: one second
    /// doubled per retry made so far, times the scale factor, at most a day.
    pub(crate) fn retry_delay_ms(&self, retried: u32) -> i64 {
        let base = 1000.0 * 2f64.powi(i32::try_from(retried.min(16)).unwrap_or(16));
        let scaled = (base * self.retry_delay_scale).clamp(0.0, 86_400_000.0);
        // In range by the clamp above.
        scaled.round() as i64
    }
}
