//! What the server stores: messages, their options, DLQ entries, log
//! records, queues, URL groups, schedules, flow control keys, bulk actions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Bytes;

/// Header names to values, as the API shows them: sorted by name, each
/// name once.
///
/// A sorted `Vec` rather than a `BTreeMap`: a message usually carries one
/// or two headers, and a map's first node alone (room for eleven entries)
/// would cost more than the rest of the message. Every message the store
/// holds has one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Headers(Vec<(String, Vec<String>)>);

impl Headers {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The values of `name`, created empty if absent.
    pub(crate) fn values_mut(&mut self, name: String) -> &mut Vec<String> {
        let at = match self.0.binary_search_by(|(n, _)| n.as_str().cmp(&name)) {
            Ok(at) => at,
            Err(at) => {
                self.0.insert(at, (name, Vec::new()));
                at
            }
        };
        &mut self.0[at].1
    }

    /// Sets the values of `name`, replacing any.
    pub(crate) fn insert(&mut self, name: String, values: Vec<String>) {
        *self.values_mut(name) = values;
    }

    /// The values of `name`.
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&Vec<String>> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|at| &self.0[at].1)
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Names and values, by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// Names, in order.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(n, _)| n)
    }

    /// Gives back the room a growing list keeps in reserve (a `Vec` grows to
    /// room for four: 192 bytes for a single name, 96 for its single value),
    /// once the headers are complete and about to be kept.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
        for (_, values) in &mut self.0 {
            values.shrink_to_fit();
        }
    }

    /// Whether no list holds room in reserve.
    #[cfg(test)]
    pub(crate) fn is_tight(&self) -> bool {
        self.0.len() == self.0.capacity() && self.0.iter().all(|(_, v)| v.len() == v.capacity())
    }

    /// Keeps the names (and their values, which `keep` may trim) for which
    /// `keep` answers `true`, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&String, &mut Vec<String>) -> bool) {
        self.0.retain_mut(|(n, v)| keep(n, v));
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a String, &'a Vec<String>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Vec<String>)>,
        fn(&'a (String, Vec<String>)) -> (&'a String, &'a Vec<String>),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl FromIterator<(String, Vec<String>)> for Headers {
    /// A later value of a name replaces an earlier one, as in a map.
    fn from_iter<I: IntoIterator<Item = (String, Vec<String>)>>(iter: I) -> Self {
        let mut headers = Self::new();
        for (name, values) in iter {
            headers.insert(name, values);
        }
        headers
    }
}

#[cfg(test)]
impl std::ops::Index<&str> for Headers {
    type Output = Vec<String>;

    fn index(&self, name: &str) -> &Vec<String> {
        self.get(name)
            .unwrap_or_else(|| panic!("no header `{name}`"))
    }
}

/// As a JSON object of names to arrays of values.
impl serde::Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// How many of the store's records (message slots, log records, DLQ
/// entries, workflow runs) hold the shared allocation this is part of: the
/// store charges the allocation's bytes to its budget while at least one
/// does. Kept inside the allocation (4 bytes, in what would be padding)
/// rather than in a map of addresses beside it, which cost about 80 bytes
/// per waiting message.
///
/// An allocation belongs to one store. Changed only under that store's
/// lock; atomic because the allocation is shared with delivery tasks. A
/// copy is a new allocation: held by none.
#[derive(Debug, Default)]
pub(crate) struct Holders(AtomicU32);

impl Clone for Holders {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Not part of what the allocation holds: any two are equal.
impl PartialEq for Holders {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Holders {
    /// Counts one more holder; whether it is the first.
    pub(crate) fn add(&self) -> bool {
        self.0.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// Counts one holder less; whether it was the last. Never below zero.
    pub(crate) fn remove(&self) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            == Ok(1)
    }

    /// Whether any record holds it.
    pub(crate) fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

/// Settings of a callback or failure callback.
#[derive(Clone, Debug, Default, PartialEq)]
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
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Redact {
    pub(crate) body: bool,
    pub(crate) all_headers: bool,
    pub(crate) headers: Vec<String>,
}

/// A message's body: shared by the messages of one URL group fan-out and
/// by every message a schedule produces.
#[derive(Debug, Default)]
pub(crate) struct Payload {
    pub(crate) bytes: Bytes,
    /// Records of the store holding this body.
    pub(crate) held: Holders,
}

impl Payload {
    /// A body of its own: `bytes` may be a slice of a connection's read
    /// buffer, which it would keep alive (kilobytes for a body of a few
    /// bytes) for as long as the message, its log records and its DLQ
    /// entry live, uncounted by the byte budget.
    pub(crate) fn copied(bytes: &[u8]) -> Arc<Self> {
        Self::new(Bytes::copy_from_slice(bytes))
    }

    /// A body over `bytes` as they are (owned by nothing else).
    pub(crate) fn new(bytes: Bytes) -> Arc<Self> {
        Arc::new(Self {
            bytes,
            held: Holders::default(),
        })
    }
}

/// Everything a publish request says about its message(s), apart from
/// where they go and the body: shared by the messages of one URL group
/// fan-out, by every message a schedule produces, and by messages
/// published alike one after another (the store keeps the latest options
/// and reuses them for a publish with equal ones).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Options {
    pub(crate) method: String,
    /// Headers delivered with the message (forwarded ones and Content-Type).
    pub(crate) header: Headers,
    pub(crate) retries: Option<u32>,
    pub(crate) retry_delay: Option<String>,
    pub(crate) delay_ms: Option<u64>,
    pub(crate) not_before_secs: Option<i64>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) labels: Vec<String>,
    /// Boxed, as the callbacks: most messages have none, and every
    /// message holds its options.
    pub(crate) flow: Option<Box<FlowSpec>>,
    pub(crate) dedup_id: Option<String>,
    pub(crate) content_dedup: bool,
    pub(crate) callback: Option<Box<CallbackSpec>>,
    pub(crate) failure_callback: Option<Box<CallbackSpec>>,
    pub(crate) redact: Redact,
    /// Records of the store holding these options.
    pub(crate) held: Holders,
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
    pub(crate) body: Arc<Payload>,
    pub(crate) opts: Arc<Options>,
    /// Records of the store holding this message.
    pub(crate) held: Holders,
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
    /// Records of the store holding this answer.
    pub(crate) held: Holders,
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
    pub(crate) body: Arc<Payload>,
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

#[cfg(test)]
mod tests {
    use super::{Bytes, Headers, Holders, Payload};

    fn names(h: &Headers) -> Vec<&str> {
        h.keys().map(String::as_str).collect()
    }

    #[test]
    fn headers_stay_sorted_by_name_with_each_name_once() {
        let mut h = Headers::new();
        assert!(h.is_empty());
        h.values_mut("X-B".into()).push("1".into());
        h.values_mut("Content-Type".into())
            .push("text/plain".into());
        h.values_mut("X-B".into()).push("2".into());
        h.values_mut("X-A".into()).push("3".into());
        assert_eq!(names(&h), ["Content-Type", "X-A", "X-B"]);
        assert_eq!(h["X-B"], ["1", "2"]);
        assert_eq!(h.get("X-C"), None);
        assert!(!h.is_empty());
        // Byte order, as the map it replaces: upper case first.
        h.insert("A".into(), vec!["4".into()]);
        h.insert("a".into(), vec!["5".into()]);
        assert_eq!(names(&h), ["A", "Content-Type", "X-A", "X-B", "a"]);
    }

    #[test]
    fn a_copied_body_is_a_copy_of_its_own() {
        // A body sliced out of a larger buffer (as a connection's read
        // buffer) would keep the whole buffer alive.
        let buffer = Bytes::from(vec![b'x'; 64 * 1024]);
        let body = buffer.slice(100..110);
        let p = Payload::copied(&body);
        assert_eq!(p.bytes, body);
        assert!(!p.held.any());
        let (stored, buffer) = (p.bytes.as_ptr_range(), buffer.as_ptr_range());
        assert!(
            stored.end <= buffer.start || stored.start >= buffer.end,
            "the stored body points into the request's buffer"
        );
    }

    #[test]
    fn holders_tell_the_first_and_the_last_and_a_copy_starts_unheld() {
        let h = Holders::default();
        assert!(!h.any());
        assert!(h.add(), "the first");
        assert!(!h.add(), "the second");
        assert!(h.any());
        let copy = h.clone();
        assert!(!copy.any(), "a copy is a new allocation");
        assert!(!h.remove(), "one still holds it");
        assert!(h.any());
        assert!(h.remove(), "the last");
        assert!(!h.any());
        assert!(!h.remove(), "never below zero");
        assert!(h.add(), "first again");
    }

    #[test]
    fn shrinking_leaves_no_room_in_reserve_and_the_same_headers() {
        let mut h = Headers::new();
        h.values_mut("X-B".into()).push("1".into());
        h.values_mut("X-A".into()).push("2".into());
        h.values_mut("X-A".into()).push("3".into());
        assert!(!h.is_tight());
        let before = h.clone();
        h.shrink_to_fit();
        assert!(h.is_tight());
        assert_eq!(h, before);
    }

    #[test]
    fn insert_and_collect_replace_the_values_of_a_name() {
        let mut h = Headers::new();
        h.values_mut("X-A".into()).push("old".into());
        h.insert("X-A".into(), vec!["new".into()]);
        assert_eq!(h["X-A"], ["new"]);
        let collected: Headers = [
            ("X-Z".to_owned(), vec!["1".to_owned()]),
            ("X-Y".to_owned(), vec!["2".to_owned()]),
            ("X-Z".to_owned(), vec!["3".to_owned()]),
        ]
        .into_iter()
        .collect();
        assert_eq!(names(&collected), ["X-Y", "X-Z"]);
        assert_eq!(collected["X-Z"], ["3"]);
        let pairs: Vec<(&String, &Vec<String>)> = (&collected).into_iter().collect();
        assert_eq!(pairs, collected.iter().collect::<Vec<_>>());
        assert_eq!(pairs.len(), 2);
    }

    #[test]
    fn retain_keeps_in_order_what_it_is_told_and_trims_values() {
        let mut h: Headers = ["A", "B", "C"]
            .into_iter()
            .map(|n| (n.to_owned(), vec!["x".to_owned(), "yy".to_owned()]))
            .collect();
        h.retain(|name, values| {
            values.retain(|v| v.len() == 1);
            name != "B"
        });
        assert_eq!(names(&h), ["A", "C"]);
        assert_eq!(h["C"], ["x"]);
    }

    #[test]
    fn headers_serialize_as_an_object_of_arrays() {
        let mut h = Headers::new();
        h.values_mut("X-B".into()).push("2".into());
        h.values_mut("X-A".into())
            .extend(["1".to_owned(), "3".to_owned()]);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"X-A":["1","3"],"X-B":["2"]}"#
        );
        assert_eq!(serde_json::to_string(&Headers::new()).unwrap(), "{}");
    }
}
