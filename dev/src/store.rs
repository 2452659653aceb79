//! The in-memory state of the server and the operations on it. Every
//! collection is bounded by [`Limits`](crate::Limits).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::body::Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::filter::Filter;
use crate::ids::new_id;
use crate::model::{
    BulkAction, CallbackSpec, Counts, DlqEntry, FlowKey, FlowSpec, Holders, Kind, LogRecord,
    LogState, MessageInfo, Options, Payload, Queue, Reply, Schedule, Slot, UrlGroup,
};
use crate::options::{invalid_queue, is_url, valid_name};
use crate::signing::SigningKeys;

pub(crate) mod workflow;

/// How long a deduplication ID is remembered.
const DEDUP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// Everything the server holds.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) config: Config,
    pub(crate) keys: SigningKeys,
    pub(crate) messages: HashMap<String, Slot>,
    /// Messages by creation order (FIFO order of queues). The message
    /// itself rather than a copy of its id: it is shared, an id is not.
    order: BTreeMap<u64, Arc<MessageInfo>>,
    pub(crate) queues: BTreeMap<String, Queue>,
    pub(crate) groups: BTreeMap<String, UrlGroup>,
    pub(crate) schedules: BTreeMap<String, Schedule>,
    pub(crate) dlq: BTreeMap<u64, DlqEntry>,
    dlq_ids: HashMap<String, u64>,
    pub(crate) logs: VecDeque<LogRecord>,
    pub(crate) bulk_actions: BTreeMap<u64, BulkAction>,
    /// Bulk action ids to their sequence numbers.
    bulk_ids: HashMap<String, u64>,
    pub(crate) flow: BTreeMap<String, FlowKey>,
    /// Workflow runs and the steps waiting for events.
    pub(crate) wf: workflow::Workflows,
    /// Flow control keys that may be evicted: no messages, not paused,
    /// nothing pinned.
    idle_keys: BTreeSet<String>,
    /// The options of the latest publish, shared by the next one if equal.
    latest_options: std::sync::Weak<Options>,
    dedup: HashMap<String, (String, i64)>,
    dedup_order: VecDeque<(String, i64)>,
    next_seq: u64,
    ledger: Ledger,
    /// Waiting messages outside queues, by the time they become due:
    /// `(ready_at, seq)`.
    due: BTreeSet<(i64, u64)>,
    /// Due messages held back by their flow control key, oldest first.
    parked: HashMap<String, BTreeSet<u64>>,
    /// Keys with parked messages that may let one go now: something
    /// changed (a delivery of theirs ended, their settings) since they
    /// last held them back. Only these are looked at on a wake.
    ready_keys: BTreeSet<String>,
    /// Keys held back by their rate, by when their next period starts.
    key_timers: BTreeSet<(i64, String)>,
    /// Queues that may start a message now: a message came, one of theirs
    /// ended or was removed, their settings changed. Only these are looked
    /// at on a wake.
    ready_queues: BTreeSet<String>,
    /// Queues whose head waits for a time (a retry's delay, a key's next
    /// rate period), by that time.
    queue_timers: BTreeSet<(i64, String)>,
    /// Queues whose head is held back by a flow control key, by key.
    key_waiters: HashMap<String, BTreeSet<String>>,
    /// The messages of each queue in FIFO order, in flight included.
    queue_members: HashMap<String, BTreeSet<u64>>,
    queue_counts: HashMap<String, Counts>,
    flow_counts: HashMap<String, Counts>,
    in_flight: usize,
    /// Messages looked at by `take_due`, for the tests of its work.
    #[cfg(test)]
    visited: usize,
}

/// Fixed cost of a record (a message slot, a log record, a DLQ entry, a
/// message's fixed fields), on top of its strings and bodies.
const RECORD_BYTES: usize = 256;

/// Fixed cost of a body (its shared allocation), on top of its bytes.
const PAYLOAD_BYTES: usize = 64;

/// Most bytes of response headers kept per response.
pub(crate) const MAX_RESPONSE_HEADER_BYTES: usize = 16 * 1024;

/// Most records one page of the logs or of the DLQ, or one step of a
/// filter-based cancel, looks at. A filter that skips many records ends
/// the page early (short, even empty) with a cursor to go on from, as the
/// service's pages do: a page costs at most this much, however large the
/// store.
pub(crate) const MAX_SCAN: usize = 1000;

/// One page of records, picked in cursor order.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    /// The cursor of the next page (the sequence number of the last record
    /// looked at), when records are left to look at.
    pub(crate) next: Option<u64>,
    /// Records looked at.
    pub(crate) scanned: usize,
}

/// Up to `count` of `records` (sequence numbers and records, in cursor
/// order) that `keep` selects, each made an item by `take`, looking at no
/// more than `max_scan` records.
fn pick<'a, T: 'a, U>(
    records: impl Iterator<Item = (u64, &'a T)>,
    keep: impl Fn(&T) -> bool,
    count: usize,
    max_scan: usize,
    take: impl Fn(u64, &T) -> U,
) -> Page<U> {
    let mut items = Vec::new();
    let mut scanned = 0;
    let mut last = None;
    for (seq, record) in records {
        // A record left to look at: a page full, or the scan spent.
        if scanned >= max_scan {
            return Page {
                items,
                next: last,
                scanned,
            };
        }
        scanned += 1;
        if keep(record) {
            if items.len() >= count {
                return Page {
                    items,
                    next: last,
                    scanned,
                };
            }
            items.push(take(seq, record));
        }
        last = Some(seq);
    }
    Page {
        items,
        next: None,
        scanned,
    }
}

/// The bytes the store holds. Messages, their options and replies are
/// shared (`Arc`) by slots, log records and DLQ entries: each is counted
/// once, while anything holds it (the holders are counted inside the
/// allocation, [`Holders`]).
#[derive(Debug, Default)]
struct Ledger {
    total: usize,
}

impl Ledger {
    fn hold(&mut self, holders: &Holders, bytes: impl FnOnce() -> usize) {
        if holders.add() {
            self.add(bytes());
        }
    }

    fn release(&mut self, holders: &Holders, bytes: impl FnOnce() -> usize) {
        if holders.remove() {
            self.sub(bytes());
        }
    }

    fn hold_info(&mut self, info: &Arc<MessageInfo>) {
        self.hold(&info.held, || info_bytes(info));
        self.hold(&info.opts.held, || options_bytes(&info.opts));
        self.hold(&info.body.held, || payload_bytes(&info.body));
    }

    fn release_info(&mut self, info: &Arc<MessageInfo>) {
        self.release(&info.held, || info_bytes(info));
        self.release(&info.opts.held, || options_bytes(&info.opts));
        self.release(&info.body.held, || payload_bytes(&info.body));
    }

    fn hold_reply(&mut self, reply: &Arc<Reply>) {
        self.hold(&reply.held, || reply_bytes(reply));
    }

    fn release_reply(&mut self, reply: &Arc<Reply>) {
        self.release(&reply.held, || reply_bytes(reply));
    }

    fn add(&mut self, bytes: usize) {
        self.total = self.total.saturating_add(bytes);
    }

    fn sub(&mut self, bytes: usize) {
        self.total = self.total.saturating_sub(bytes);
    }
}

fn headers_bytes(headers: &crate::model::Headers) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.len() + v.iter().map(|x| x.len() + 24).sum::<usize>() + 48)
        .sum()
}

fn opt_len(s: Option<&String>) -> usize {
    s.map_or(0, String::len)
}

/// What a message's fixed fields take.
fn info_bytes(info: &MessageInfo) -> usize {
    RECORD_BYTES
        + info.id.len()
        + info.url.len()
        + opt_len(info.topic.as_ref())
        + opt_len(info.endpoint.as_ref())
        + opt_len(info.queue.as_ref())
        + opt_len(info.schedule_id.as_ref())
        + info.caller_ip.len()
}

/// What a message's body takes.
fn payload_bytes(p: &Payload) -> usize {
    PAYLOAD_BYTES + p.bytes.len()
}

/// What a message's options take: headers, callbacks and the rest.
fn options_bytes(o: &Options) -> usize {
    let callback =
        |c: Option<&CallbackSpec>| c.map_or(0, |c| c.url.len() + headers_bytes(&c.headers) + 64);
    RECORD_BYTES
        + headers_bytes(&o.header)
        + o.method.len()
        + opt_len(o.retry_delay.as_ref())
        + o.labels.iter().map(|l| l.len() + 24).sum::<usize>()
        + o.flow.as_ref().map_or(0, |f| f.key.len() + 32)
        + opt_len(o.dedup_id.as_ref())
        + callback(o.callback.as_deref())
        + callback(o.failure_callback.as_deref())
        + o.redact.headers.iter().map(|h| h.len() + 24).sum::<usize>()
}

/// What a destination's answer takes.
fn reply_bytes(r: &Reply) -> usize {
    RECORD_BYTES + r.body.len() + headers_bytes(&r.headers) + opt_len(r.error.as_ref())
}

/// Keeps headers, in order, while they fit in `max` bytes.
fn cap_headers(headers: &mut crate::model::Headers, max: usize) {
    let mut used = 0usize;
    headers.retain(|name, values| {
        values.retain(|v| {
            let cost = name.len() + v.len();
            if used.saturating_add(cost) > max {
                return false;
            }
            used += cost;
            true
        });
        !values.is_empty()
    });
}

/// Where new messages go and what they carry.
pub(crate) struct NewMessages<'a> {
    /// A URL or a URL group name.
    pub(crate) destination: &'a str,
    pub(crate) queue: Option<&'a str>,
    pub(crate) opts: Arc<Options>,
    pub(crate) body: Arc<Payload>,
    pub(crate) schedule_id: Option<&'a str>,
    pub(crate) caller_ip: &'a str,
}

/// The answer for one created (or deduplicated) message.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Published {
    pub(crate) message_id: String,
    pub(crate) url: String,
    pub(crate) deduplicated: bool,
}

/// The answer of a publish: one message for a URL, one per endpoint for a
/// URL group.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Single(Published),
    Group(Vec<Published>),
}

impl Outcome {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Single(p) => json!(p),
            Self::Group(all) => json!(all),
        }
    }

    pub(crate) fn message_ids(&self) -> Vec<String> {
        match self {
            Self::Single(p) => vec![p.message_id.clone()],
            Self::Group(all) => all.iter().map(|p| p.message_id.clone()).collect(),
        }
    }
}

/// A delivery the dispatcher should start.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) info: Arc<MessageInfo>,
    pub(crate) retried: u32,
    pub(crate) signing_key: String,
}

/// What became of a message after a delivery attempt: what
/// [`Store::finish`] did, for the logs.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    /// The message (`None`: it was gone already).
    pub(crate) info: Option<Arc<MessageInfo>>,
    /// The attempt's number, from 1.
    pub(crate) attempt: u32,
    pub(crate) fate: Fate,
    /// The callbacks the attempt asked for.
    pub(crate) callbacks: Vec<CallbackFate>,
    /// What the destination answered (`None`: the message was gone).
    pub(crate) reply: Option<Arc<Reply>>,
}

/// See [`Settled`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) enum Fate {
    /// The message was gone already.
    #[default]
    Gone,
    Delivered,
    /// Failed, and cancelled as asked while the attempt ran.
    Cancelled,
    /// Failed, and tried again at this time (Unix milliseconds).
    Retry {
        at: i64,
    },
    /// Failed for good: moved to the DLQ under this id (`None`: the DLQ
    /// keeps no entries).
    Dead {
        dlq_id: Option<String>,
    },
}

/// A callback (or failure callback) of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallbackFate {
    /// A failure callback, after the last attempt.
    pub(crate) failure: bool,
    pub(crate) url: String,
    /// Its message id, or why it was not queued (a limit).
    pub(crate) queued: Result<String, &'static str>,
}

/// What a flow control key says about starting one more message.
enum Admit {
    Yes,
    /// At this time (a new rate period).
    At(i64),
    /// Not until something changes (a delivery ends, the key is resumed).
    No,
}

/// One target of a publish: URL, URL group and endpoint name.
type Target = (String, Option<String>, Option<String>);

impl Store {
    pub(crate) fn new(config: Config, keys: SigningKeys) -> Self {
        Self {
            config,
            keys,
            messages: HashMap::new(),
            order: BTreeMap::new(),
            queues: BTreeMap::new(),
            groups: BTreeMap::new(),
            schedules: BTreeMap::new(),
            dlq: BTreeMap::new(),
            dlq_ids: HashMap::new(),
            logs: VecDeque::new(),
            bulk_actions: BTreeMap::new(),
            bulk_ids: HashMap::new(),
            flow: BTreeMap::new(),
            wf: workflow::Workflows::default(),
            idle_keys: BTreeSet::new(),
            latest_options: std::sync::Weak::new(),
            dedup: HashMap::new(),
            dedup_order: VecDeque::new(),
            next_seq: 1,
            ledger: Ledger::default(),
            due: BTreeSet::new(),
            parked: HashMap::new(),
            ready_keys: BTreeSet::new(),
            key_timers: BTreeSet::new(),
            ready_queues: BTreeSet::new(),
            queue_timers: BTreeSet::new(),
            key_waiters: HashMap::new(),
            queue_members: HashMap::new(),
            queue_counts: HashMap::new(),
            flow_counts: HashMap::new(),
            in_flight: 0,
            #[cfg(test)]
            visited: 0,
        }
    }

    /// The bytes the store holds, as counted against
    /// [`Limits::max_store_bytes`](crate::Limits::max_store_bytes).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.ledger.total
    }

    /// Drops the oldest log records, then the oldest DLQ entries, until
    /// `need` more bytes fit in the budget; whether they do.
    fn make_room(&mut self, need: usize) -> bool {
        let budget = self.config.limits.max_store_bytes;
        while self.ledger.total.saturating_add(need) > budget {
            if self.pop_log() {
                continue;
            }
            if self.dlq_pop_oldest() {
                continue;
            }
            return false;
        }
        true
    }

    fn pop_log(&mut self) -> bool {
        let Some(old) = self.logs.pop_front() else {
            return false;
        };
        self.ledger.release_info(&old.info);
        if let Some(r) = &old.reply {
            self.ledger.release_reply(r);
        }
        self.ledger.sub(RECORD_BYTES + opt_len(old.error.as_ref()));
        true
    }

    fn dlq_pop_oldest(&mut self) -> bool {
        match self.dlq.first_key_value().map(|(k, _)| *k) {
            Some(seq) => self.dlq_take(seq).is_some(),
            None => false,
        }
    }

    /// Removes the DLQ entry `seq` and gives its bytes back.
    fn dlq_take(&mut self, seq: u64) -> Option<DlqEntry> {
        let entry = self.dlq.remove(&seq)?;
        self.dlq_ids.remove(&entry.dlq_id);
        self.ledger.release_info(&entry.info);
        self.ledger.release_reply(&entry.reply);
        self.ledger.sub(RECORD_BYTES + entry.dlq_id.len());
        Some(entry)
    }

    /// The bytes `count` new messages with options `opts`, body `body` and
    /// `url_bytes` of URLs and names would add, with a log record each
    /// (options and a body held already cost nothing more).
    fn publish_cost(
        &self,
        opts: &Options,
        body: &Payload,
        count: usize,
        url_bytes: usize,
    ) -> usize {
        let opts = if opts.held.any() {
            0
        } else {
            options_bytes(opts)
        };
        let body = if body.held.any() {
            0
        } else {
            payload_bytes(body)
        };
        opts.saturating_add(body)
            .saturating_add(count.saturating_mul(4 * RECORD_BYTES + 64))
            .saturating_add(url_bytes)
    }

    fn over_budget(&self, need: usize) -> ApiError {
        ApiError::limit(format!(
            "store byte budget reached: {} bytes held, {need} more needed (limit {} bytes); wait for deliveries, cancel messages or delete DLQ entries",
            self.ledger.total, self.config.limits.max_store_bytes
        ))
    }

    /// A new sequence number: creation order, and the cursors of pages.
    pub(crate) fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    // --- Publishing -----------------------------------------------------

    /// Creates the messages of a publish, enqueue, batch entry or schedule
    /// tick.
    pub(crate) fn publish(&mut self, req: &NewMessages<'_>) -> ApiResult<Outcome> {
        let now = now_ms();
        let (targets, is_group) = self.targets(req.destination)?;
        if let Some(q) = req.queue {
            self.ensure_queue(q, now)?;
        }
        let free = self
            .config
            .limits
            .max_messages
            .saturating_sub(self.messages.len());
        if targets.len() > free {
            return Err(ApiError::limit(format!(
                "message limit reached: {} messages are waiting for delivery (limit {}); wait for deliveries or cancel messages",
                self.messages.len(),
                self.config.limits.max_messages
            )));
        }
        let url_bytes: usize = targets
            .iter()
            .map(|(u, t, e)| u.len() + opt_len(t.as_ref()) + opt_len(e.as_ref()))
            .sum::<usize>()
            .saturating_add(req.queue.map_or(0, str::len) + req.caller_ip.len());
        let opts = self.share_options(&req.opts);
        let need = self.publish_cost(&opts, &req.body, targets.len(), url_bytes);
        if !self.make_room(need) {
            return Err(self.over_budget(need));
        }
        if self.wf_starts_run(&req.opts) {
            self.wf_room(1)?;
        }
        if let Some(spec) = &req.opts.flow {
            self.register_flow(spec, now)?;
        }
        let not_before = match (req.opts.not_before_secs, req.opts.delay_ms) {
            (Some(s), _) => Some(s.saturating_mul(1000)),
            (None, Some(d)) => Some(now.saturating_add(i64::try_from(d).unwrap_or(i64::MAX))),
            (None, None) => None,
        };
        let mut results = Vec::with_capacity(targets.len());
        for (url, topic, endpoint) in targets {
            let dedup_key = self.dedup_key(req, &url);
            if let Some(key) = &dedup_key
                && let Some(existing) = self.dedup_lookup(key, now)
            {
                results.push(Published {
                    message_id: existing,
                    url,
                    deduplicated: true,
                });
                continue;
            }
            let info = Arc::new(MessageInfo {
                id: new_id("msg_"),
                kind: Kind::Message,
                url: url.clone(),
                topic,
                endpoint,
                queue: req.queue.map(str::to_owned),
                schedule_id: req.schedule_id.map(str::to_owned),
                caller_ip: req.caller_ip.to_owned(),
                created_at: now,
                not_before,
                body: Arc::clone(&req.body),
                opts: Arc::clone(&opts),
                held: Default::default(),
            });
            if let Some(key) = dedup_key {
                self.dedup_remember(key, info.id.clone(), now);
            }
            results.push(Published {
                message_id: info.id.clone(),
                url,
                deduplicated: false,
            });
            self.insert(info, now);
        }
        Ok(if is_group {
            Outcome::Group(results)
        } else {
            Outcome::Single(results.into_iter().next().ok_or_else(|| {
                ApiError::bad_request(format!("`{}` has no endpoint", req.destination))
            })?)
        })
    }

    /// The options to keep for a publish with options `opts`: the latest
    /// options kept when equal, so that messages published alike (as an
    /// app's usually are) share one copy; else `opts`, which become the
    /// latest. Only a weak reference is kept: options nothing holds are
    /// freed as before.
    fn share_options(&mut self, opts: &Arc<Options>) -> Arc<Options> {
        if let Some(latest) = self.latest_options.upgrade()
            && (Arc::ptr_eq(&latest, opts) || *latest == **opts)
        {
            return latest;
        }
        self.latest_options = Arc::downgrade(opts);
        Arc::clone(opts)
    }

    fn targets(&self, destination: &str) -> ApiResult<(Vec<Target>, bool)> {
        if is_url(destination) {
            url::Url::parse(destination).map_err(|e| {
                ApiError::bad_request(format!("invalid destination URL `{destination}`: {e}"))
            })?;
            return Ok((vec![(destination.to_owned(), None, None)], false));
        }
        let group = self.groups.get(destination).ok_or_else(|| {
            ApiError::not_found(format!(
                "`{destination}` is neither an http(s) URL nor an existing URL group"
            ))
        })?;
        let targets = group
            .endpoints
            .iter()
            .map(|e| (e.url.clone(), Some(group.name.clone()), e.name.clone()))
            .collect();
        Ok((targets, true))
    }

    /// Creates the queue `name` with parallelism 1 if it does not exist.
    pub(crate) fn ensure_queue(&mut self, name: &str, now: i64) -> ApiResult<()> {
        if !valid_name(name) {
            return Err(invalid_queue(name));
        }
        if self.queues.contains_key(name) {
            return Ok(());
        }
        if self.queues.len() >= self.config.limits.max_queues {
            return Err(ApiError::limit(format!(
                "queue limit reached ({})",
                self.config.limits.max_queues
            )));
        }
        self.queues.insert(
            name.to_owned(),
            Queue {
                name: name.to_owned(),
                created_at: now,
                updated_at: now,
                parallelism: 1,
                paused: false,
            },
        );
        Ok(())
    }

    fn insert(&mut self, info: Arc<MessageInfo>, now: i64) {
        let seq = self.seq();
        let ready_at = info.not_before.unwrap_or(now);
        self.order.insert(seq, Arc::clone(&info));
        self.ledger.hold_info(&info);
        self.ledger.add(RECORD_BYTES);
        self.log(&info, LogState::Created, None, Some(ready_at), None);
        match &info.queue {
            Some(q) => {
                self.queue_members.entry(q.clone()).or_default().insert(seq);
                self.ready_queues.insert(q.clone());
            }
            None => {
                self.due.insert((ready_at, seq));
            }
        }
        self.adjust(&info, |c| c.waiting += 1);
        let added = Arc::clone(&info);
        self.messages.insert(
            info.id.clone(),
            Slot {
                info,
                seq,
                ready_at,
                retried: 0,
                in_flight: false,
                parked: false,
                cancel_requested: false,
            },
        );
        self.wf_message_added(&added);
    }

    /// Applies `change` to the counts of the queue and the flow control
    /// key of `info` (dropping counts back at zero).
    fn adjust(&mut self, info: &MessageInfo, change: impl Fn(&mut Counts)) {
        fn apply(map: &mut HashMap<String, Counts>, name: &str, change: &impl Fn(&mut Counts)) {
            let counts = map.entry(name.to_owned()).or_default();
            change(counts);
            if *counts == Counts::default() {
                map.remove(name);
            }
        }
        if let Some(q) = &info.queue {
            apply(&mut self.queue_counts, q, &change);
        }
        if let Some(f) = &info.opts.flow {
            apply(&mut self.flow_counts, &f.key, &change);
            self.flow_changed(&f.key);
        }
    }

    /// Puts key `key` in the set of keys that may be evicted (no messages,
    /// not paused, nothing pinned), or takes it out; after any change of
    /// the key or of its counts.
    pub(crate) fn flow_changed(&mut self, key: &str) {
        let idle = !self.flow_counts.contains_key(key)
            && self
                .flow
                .get(key)
                .is_some_and(|f| !f.paused && !f.pinned_parallelism && !f.pinned_rate);
        if !idle {
            self.idle_keys.remove(key);
        } else if !self.idle_keys.contains(key) {
            self.idle_keys.insert(key.to_owned());
        }
    }

    /// Running and waiting messages of queue `name`.
    pub(crate) fn queue_counts(&self, name: &str) -> Counts {
        self.queue_counts.get(name).copied().unwrap_or_default()
    }

    /// Running and waiting messages of flow control key `key`.
    pub(crate) fn flow_counts(&self, key: &str) -> Counts {
        self.flow_counts.get(key).copied().unwrap_or_default()
    }

    /// Deliveries in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Marks the message `id` as done with its attempt: waiting again.
    fn stop_running(&mut self, id: &str) {
        let Some(slot) = self.messages.get_mut(id) else {
            return;
        };
        if !slot.in_flight {
            return;
        }
        slot.in_flight = false;
        let info = Arc::clone(&slot.info);
        self.in_flight = self.in_flight.saturating_sub(1);
        self.adjust(&info, |c| {
            c.running = c.running.saturating_sub(1);
            c.waiting += 1;
        });
        self.ended(&info);
    }

    /// A delivery of `info` ended, or `info` left its queue: its queue and
    /// its key may let another message go.
    fn ended(&mut self, info: &MessageInfo) {
        if let Some(q) = &info.queue {
            self.ready_queues.insert(q.clone());
        }
        if let Some(f) = &info.opts.flow {
            self.key_may_admit(&f.key);
        }
    }

    /// Key `key` may let a message go: its parked messages and the queues
    /// whose head waits for it are looked at on the next wake.
    fn key_may_admit(&mut self, key: &str) {
        if self.parked.contains_key(key) && !self.ready_keys.contains(key) {
            self.ready_keys.insert(key.to_owned());
        }
        if let Some(queues) = self.key_waiters.remove(key) {
            self.ready_queues.extend(queues);
        }
    }

    /// The settings of key `key` changed (paused, resumed, pinned, its
    /// rate reset).
    pub(crate) fn flow_updated(&mut self, key: &str) {
        self.flow_changed(key);
        self.key_may_admit(key);
    }

    /// The settings of queue `name` changed (parallelism, paused).
    pub(crate) fn queue_updated(&mut self, name: &str) {
        if self.queue_members.contains_key(name) {
            self.ready_queues.insert(name.to_owned());
        }
    }

    fn remove(&mut self, id: &str) -> Option<Slot> {
        let slot = self.messages.remove(id)?;
        self.order.remove(&slot.seq);
        self.ledger.release_info(&slot.info);
        self.ledger.sub(RECORD_BYTES);
        self.due.remove(&(slot.ready_at, slot.seq));
        if let Some(q) = &slot.info.queue
            && let Some(members) = self.queue_members.get_mut(q)
        {
            members.remove(&slot.seq);
            if members.is_empty() {
                self.queue_members.remove(q);
            }
        }
        if slot.parked
            && let Some(f) = &slot.info.opts.flow
            && let Some(parked) = self.parked.get_mut(&f.key)
        {
            parked.remove(&slot.seq);
            if parked.is_empty() {
                self.parked.remove(&f.key);
                self.ready_keys.remove(&f.key);
            }
        }
        if slot.in_flight {
            self.in_flight = self.in_flight.saturating_sub(1);
            self.adjust(&slot.info, |c| c.running = c.running.saturating_sub(1));
            self.ended(&slot.info);
        } else {
            self.adjust(&slot.info, |c| c.waiting = c.waiting.saturating_sub(1));
            // Whatever followed it in its queue moves up.
            if let Some(q) = &slot.info.queue {
                self.ready_queues.insert(q.clone());
            }
        }
        self.wf_message_removed(&slot.info);
        Some(slot)
    }

    // --- Deduplication --------------------------------------------------

    fn dedup_key(&self, req: &NewMessages<'_>, url: &str) -> Option<String> {
        let id = match (&req.opts.dedup_id, req.opts.content_dedup) {
            (Some(id), _) => id.clone(),
            (None, true) => {
                let mut h = Sha256::new();
                h.update(&req.body.bytes);
                for (k, v) in &req.opts.header {
                    h.update(k.as_bytes());
                    h.update(v.join(",").as_bytes());
                }
                STANDARD.encode(h.finalize())
            }
            (None, false) => return None,
        };
        Some(format!(
            "{}\n{}\n{url}\n{id}",
            req.queue.unwrap_or_default(),
            req.destination
        ))
    }

    fn dedup_lookup(&mut self, key: &str, now: i64) -> Option<String> {
        while let Some((k, exp)) = self.dedup_order.front() {
            if *exp > now {
                break;
            }
            if self.dedup.get(k).is_some_and(|(_, e)| e == exp) {
                self.dedup.remove(k);
            }
            self.dedup_order.pop_front();
        }
        self.dedup.get(key).map(|(id, _)| id.clone())
    }

    fn dedup_remember(&mut self, key: String, id: String, now: i64) {
        let exp = now.saturating_add(DEDUP_WINDOW_MS);
        while self.dedup_order.len() >= self.config.limits.max_dedup_ids.max(1) {
            if let Some((k, e)) = self.dedup_order.pop_front()
                && self.dedup.get(&k).is_some_and(|(_, x)| *x == e)
            {
                self.dedup.remove(&k);
            }
        }
        self.dedup_order.push_back((key.clone(), exp));
        self.dedup.insert(key, (id, exp));
    }

    // --- Flow control ---------------------------------------------------

    /// Creates or updates a flow control key from a message's settings
    /// (pinned settings stay).
    fn register_flow(&mut self, spec: &FlowSpec, now: i64) -> ApiResult<()> {
        let fk = self.flow_key(&spec.key, now)?;
        if !fk.pinned_parallelism {
            fk.parallelism = spec.parallelism;
        }
        if !fk.pinned_rate {
            fk.rate = spec.rate;
            fk.period_secs = spec.period_secs.unwrap_or(1);
        }
        self.flow_updated(&spec.key);
        Ok(())
    }

    /// The flow control key `key`, created when new. Keys are bounded by
    /// the message limit: when full, an unused, unconfigured key goes (the
    /// first by name), taken from the set of such keys.
    ///
    /// A caller that changes the key calls [`flow_changed`](Self::flow_changed)
    /// after.
    pub(crate) fn flow_key(&mut self, key: &str, now: i64) -> ApiResult<&mut FlowKey> {
        if !self.flow.contains_key(key) {
            if self.flow.len() >= self.config.limits.max_messages.max(1) {
                let idle = self
                    .idle_keys
                    .pop_first()
                    .ok_or_else(|| ApiError::limit("flow control key limit reached"))?;
                self.flow.remove(&idle);
            }
            self.idle_keys.insert(key.to_owned());
            self.flow.insert(
                key.to_owned(),
                FlowKey {
                    key: key.to_owned(),
                    period_secs: 1,
                    period_start: now,
                    ..FlowKey::default()
                },
            );
        }
        self.flow
            .get_mut(key)
            .ok_or_else(|| ApiError::not_found(format!("flow control key `{key}` not found")))
    }

    // --- Logs -----------------------------------------------------------

    /// Records a state change (the oldest record goes when full).
    pub(crate) fn log(
        &mut self,
        info: &Arc<MessageInfo>,
        state: LogState,
        error: Option<String>,
        next_delivery_time: Option<i64>,
        reply: Option<Arc<Reply>>,
    ) {
        let max = self.config.limits.max_log_entries;
        if max == 0 {
            return;
        }
        while self.logs.len() >= max {
            self.pop_log();
        }
        let seq = self.seq();
        self.ledger.hold_info(info);
        if let Some(r) = &reply {
            self.ledger.hold_reply(r);
        }
        self.ledger.add(RECORD_BYTES + opt_len(error.as_ref()));
        self.logs.push_back(LogRecord {
            seq,
            time: now_ms(),
            state,
            info: Arc::clone(info),
            error,
            next_delivery_time,
            reply,
        });
        // Past the budget, history goes first (this record last).
        self.make_room(0);
    }

    /// One page of the logs, newest first: up to `count` records older
    /// than `before` (a sequence number) that `keep` selects, looking at no
    /// more than [`MAX_SCAN`] records from the cursor on (found by a binary
    /// search: the records are in sequence order). The records share their
    /// messages and answers with the store; they are shown once the lock
    /// is released.
    pub(crate) fn log_page(
        &self,
        before: Option<u64>,
        count: usize,
        keep: impl Fn(&LogRecord) -> bool,
    ) -> Page<LogRecord> {
        let end = before.map_or(self.logs.len(), |b| {
            self.logs.partition_point(|r| r.seq < b)
        });
        pick(
            self.logs.range(..end).rev().map(|r| (r.seq, r)),
            keep,
            count,
            MAX_SCAN,
            |_, r| r.clone(),
        )
    }

    // --- Dispatching ----------------------------------------------------

    /// Marks every message that may be delivered now as in flight and
    /// returns their jobs, with the earliest time something else becomes
    /// due. Respects queue order, parallelism and pauses, flow control
    /// limits and the global parallelism.
    ///
    /// The work is bounded by what starts and by what changed since the
    /// last wake, not by what the store holds: messages outside queues come
    /// from a due-time index; a message held back by its flow control key
    /// waits in the key's list, looked at again only once the key may let
    /// it go (a delivery of the key ended, its settings changed, its next
    /// rate period came); a queue is looked at (the first `parallelism`
    /// messages of it) only once it may start one (a message came, one of
    /// it ended or left, its settings changed, the time its head waits for
    /// came, the key its head waits for may let it go), and not while it
    /// runs `parallelism` messages. What the global parallelism stops stays
    /// ready, not looked at, for the wake a delivery's end brings.
    pub(crate) fn take_due(&mut self, now: i64) -> (Vec<Job>, Option<i64>) {
        let mut jobs = Vec::new();
        let max = self.config.limits.max_in_flight;
        // Waits whose time is up become calls to their timeout URLs.
        let wait_deadline = self.wf_expire(now);
        while let Some(key) = pop_due(&mut self.key_timers, now) {
            self.key_may_admit(&key);
        }
        while let Some(name) = pop_due(&mut self.queue_timers, now) {
            self.ready_queues.insert(name);
        }
        // Messages held back by their key, for the keys that may let one go.
        let mut keys = std::mem::take(&mut self.ready_keys);
        while self.in_flight < max
            && let Some(key) = keys.pop_first()
        {
            self.release_parked(key, now, &mut jobs);
        }
        // Those the global parallelism stopped stay ready, untouched.
        let stopped = std::mem::replace(&mut self.ready_keys, keys);
        self.ready_keys.extend(stopped);
        // Messages outside queues, by due time.
        while self.in_flight < max {
            let Some(&(ready_at, seq)) = self.due.first() else {
                break;
            };
            if ready_at > now {
                break;
            }
            self.note_visit();
            self.due.pop_first();
            let key = self
                .order
                .get(&seq)
                .and_then(|info| self.messages.get(&info.id))
                .and_then(|s| s.info.opts.flow.as_ref().map(|f| f.key.clone()));
            if let Some(key) = key {
                match self.flow_admits(&key, now) {
                    Admit::Yes => {}
                    Admit::At(t) => {
                        self.key_timers.insert((t, key.clone()));
                        self.park(&key, seq);
                        continue;
                    }
                    Admit::No => {
                        self.park(&key, seq);
                        continue;
                    }
                }
            }
            self.start(seq, &mut jobs);
        }
        // The heads of the queues that may start a message.
        let mut queues = std::mem::take(&mut self.ready_queues);
        while self.in_flight < max
            && let Some(name) = queues.pop_first()
        {
            self.start_queue_head(name, now, &mut jobs);
        }
        let stopped = std::mem::replace(&mut self.ready_queues, queues);
        self.ready_queues.extend(stopped);
        let future = |t: Option<i64>| t.filter(|t| *t > now);
        let wake = [
            future(self.due.first().map(|(t, _)| *t)),
            future(self.key_timers.first().map(|(t, _)| *t)),
            future(self.queue_timers.first().map(|(t, _)| *t)),
            future(wait_deadline),
        ]
        .into_iter()
        .flatten()
        .min();
        (jobs, wake)
    }

    /// Starts the parked messages of key `key`, oldest first, while the key
    /// lets them go.
    fn release_parked(&mut self, key: String, now: i64, jobs: &mut Vec<Job>) {
        let max = self.config.limits.max_in_flight;
        while let Some(seq) = self.parked.get(&key).and_then(|p| p.first().copied()) {
            if self.in_flight >= max {
                // Again once a delivery ends.
                self.ready_keys.insert(key);
                return;
            }
            self.note_visit();
            match self.flow_admits(&key, now) {
                Admit::Yes => {}
                Admit::At(t) => {
                    self.key_timers.insert((t, key));
                    return;
                }
                // Until a delivery of the key ends or its settings change.
                Admit::No => return,
            }
            if let Some(parked) = self.parked.get_mut(&key) {
                parked.remove(&seq);
                if parked.is_empty() {
                    self.parked.remove(&key);
                }
            }
            self.start(seq, jobs);
        }
    }

    /// Starts what may start among the first `parallelism` messages of
    /// queue `name`, and notes what the queue waits for otherwise.
    fn start_queue_head(&mut self, name: String, now: i64, jobs: &mut Vec<Job>) {
        let max = self.config.limits.max_in_flight;
        let (paused, parallelism) = self.queues.get(&name).map_or((false, usize::MAX), |q| {
            (
                q.paused,
                usize::try_from(q.parallelism).unwrap_or(usize::MAX),
            )
        });
        // Until it is resumed, or one of its deliveries ends.
        if paused || self.queue_counts(&name).running >= parallelism {
            return;
        }
        let head: Vec<u64> = self
            .queue_members
            .get(&name)
            .map(|m| m.iter().take(parallelism).copied().collect())
            .unwrap_or_default();
        for seq in head {
            self.note_visit();
            let Some(slot) = self
                .order
                .get(&seq)
                .and_then(|info| self.messages.get(&info.id))
            else {
                continue;
            };
            if slot.in_flight {
                continue;
            }
            if slot.ready_at > now {
                self.queue_timers.insert((slot.ready_at, name.clone()));
                continue;
            }
            if self.in_flight >= max {
                // Again once a delivery ends.
                self.ready_queues.insert(name);
                return;
            }
            let key = slot.info.opts.flow.as_ref().map(|f| f.key.clone());
            if let Some(key) = key {
                match self.flow_admits(&key, now) {
                    Admit::Yes => {}
                    Admit::At(t) => {
                        self.queue_timers.insert((t, name.clone()));
                        continue;
                    }
                    Admit::No => {
                        self.key_waiters
                            .entry(key)
                            .or_default()
                            .insert(name.clone());
                        continue;
                    }
                }
            }
            self.start(seq, jobs);
        }
    }

    fn note_visit(&mut self) {
        #[cfg(test)]
        {
            self.visited += 1;
        }
    }

    /// Whether key `key` lets one more message start now (then counted
    /// against its rate), later (at the start of its next rate period), or
    /// not until something changes (paused, or at its parallelism).
    fn flow_admits(&mut self, key: &str, now: i64) -> Admit {
        let running = self.flow_counts(key).running;
        let Some(fk) = self.flow.get_mut(key) else {
            return Admit::Yes;
        };
        if fk.paused {
            return Admit::No;
        }
        if fk
            .parallelism
            .is_some_and(|p| running >= usize::try_from(p).unwrap_or(usize::MAX))
        {
            return Admit::No;
        }
        if let Some(rate) = fk.rate {
            let period_ms =
                i64::try_from(fk.period_secs.max(1).saturating_mul(1000)).unwrap_or(i64::MAX);
            if now.saturating_sub(fk.period_start) >= period_ms {
                fk.period_start = now;
                fk.rate_count = 0;
            }
            if fk.rate_count >= rate {
                return Admit::At(fk.period_start.saturating_add(period_ms));
            }
            fk.rate_count += 1;
        }
        Admit::Yes
    }

    /// Holds the due message `seq` back until key `key` lets it go.
    fn park(&mut self, key: &str, seq: u64) {
        if let Some(slot) = self
            .order
            .get(&seq)
            .and_then(|info| self.messages.get_mut(&info.id))
        {
            slot.parked = true;
            self.parked.entry(key.to_owned()).or_default().insert(seq);
        }
    }

    /// Starts a delivery of message `seq`.
    fn start(&mut self, seq: u64, jobs: &mut Vec<Job>) {
        let Some(slot) = self
            .order
            .get(&seq)
            .and_then(|info| self.messages.get_mut(&info.id))
        else {
            return;
        };
        slot.in_flight = true;
        slot.parked = false;
        let job = Job {
            info: Arc::clone(&slot.info),
            retried: slot.retried,
            signing_key: self.keys.current.clone(),
        };
        self.in_flight += 1;
        self.adjust(&job.info, |c| {
            c.waiting = c.waiting.saturating_sub(1);
            c.running += 1;
        });
        self.log(&job.info, LogState::Active, None, None, None);
        jobs.push(job);
    }

    /// Records the outcome of a delivery attempt: done, retried later, or
    /// dead-lettered; callbacks become messages of their own. Says what
    /// became of the message.
    pub(crate) fn finish(&mut self, id: &str, reply: Reply) -> Settled {
        let settled = self.settle(id, reply);
        self.wf_settled(&settled);
        settled
    }

    /// See [`finish`](Self::finish); without the workflow runs.
    fn settle(&mut self, id: &str, reply: Reply) -> Settled {
        let now = now_ms();
        self.stop_running(id);
        let Some(slot) = self.messages.get(id) else {
            return Settled::default();
        };
        let info = Arc::clone(&slot.info);
        let retried = slot.retried;
        let cancel_requested = slot.cancel_requested;
        let mut reply = reply;
        reply.body.truncate(self.config.limits.max_response_bytes);
        cap_headers(&mut reply.headers, MAX_RESPONSE_HEADER_BYTES);
        let reply = Arc::new(reply);
        let max_retries = info.opts.max_retries();
        let mut settled = Settled {
            info: Some(Arc::clone(&info)),
            attempt: retried.saturating_add(1),
            fate: Fate::Gone,
            callbacks: Vec::new(),
            reply: Some(Arc::clone(&reply)),
        };
        if info.kind == Kind::Message
            && let Some(cb) = info.opts.callback.clone()
        {
            let max = self.config.limits.max_body_bytes;
            let body = callback_body(&info, &reply, retried, max_retries, None, max);
            let queued = self.add_callback(&info, &cb, body, now);
            settled.callbacks.push(CallbackFate {
                failure: false,
                url: cb.url,
                queued,
            });
        }
        if reply.is_success() {
            self.log(&info, LogState::Delivered, None, None, None);
            self.remove(id);
            self.note_schedule_state(&info, LogState::Delivered);
            settled.fate = Fate::Delivered;
            return settled;
        }
        let error = reply
            .error
            .clone()
            .unwrap_or_else(|| format!("destination answered {}", reply.status));
        self.log(
            &info,
            LogState::Error,
            Some(error.clone()),
            None,
            Some(Arc::clone(&reply)),
        );
        if cancel_requested {
            self.log(&info, LogState::Cancelled, None, None, None);
            self.remove(id);
            settled.fate = Fate::Cancelled;
            return settled;
        }
        if retried < max_retries {
            let next = now.saturating_add(self.config.retry_delay_ms(retried));
            if let Some(slot) = self.messages.get_mut(id) {
                slot.retried += 1;
                slot.ready_at = next;
                if slot.info.queue.is_none() {
                    self.due.insert((next, slot.seq));
                }
            }
            self.log(&info, LogState::Retry, Some(error), Some(next), None);
            settled.fate = Fate::Retry { at: next };
            return settled;
        }
        self.log(
            &info,
            LogState::Failed,
            Some(error),
            None,
            Some(Arc::clone(&reply)),
        );
        self.remove(id);
        self.note_schedule_state(&info, LogState::Failed);
        let dlq_id = self.dead_letter(&info, Arc::clone(&reply));
        if info.kind == Kind::Message
            && let Some(cb) = info.opts.failure_callback.clone()
        {
            let max = self.config.limits.max_body_bytes;
            let body = callback_body(&info, &reply, retried, max_retries, Some(&dlq_id), max);
            let queued = self.add_callback(&info, &cb, body, now);
            settled.callbacks.push(CallbackFate {
                failure: true,
                url: cb.url,
                queued,
            });
        }
        settled.fate = Fate::Dead {
            dlq_id: (!dlq_id.is_empty()).then_some(dlq_id),
        };
        settled
    }

    fn note_schedule_state(&mut self, info: &MessageInfo, state: LogState) {
        if let Some(sid) = &info.schedule_id
            && let Some(s) = self.schedules.get_mut(sid)
            && let Some(entry) = s.last_states.get_mut(&info.id)
        {
            state.as_str().clone_into(entry);
        }
    }

    /// Queues a callback request as a message of its own: its id, or why
    /// it was skipped (the message limit or the byte budget is reached).
    fn add_callback(
        &mut self,
        parent: &MessageInfo,
        spec: &CallbackSpec,
        body: Bytes,
        now: i64,
    ) -> Result<String, &'static str> {
        if self.messages.len() >= self.config.limits.max_messages {
            return Err("the message limit is reached");
        }
        let mut header = spec.headers.clone();
        header.insert("Content-Type".into(), vec!["application/json".into()]);
        let opts = Options {
            method: spec.method.clone().unwrap_or_else(|| "POST".into()),
            header,
            retries: Some(spec.retries.unwrap_or_else(|| parent.opts.max_retries())),
            timeout_ms: spec.timeout_ms,
            labels: parent.opts.labels.clone(),
            // The callback's record hides what its message hides.
            redact: parent.opts.redact.clone(),
            ..Options::default()
        };
        let opts = Arc::new(opts);
        let body = Payload::new(body);
        let need = self.publish_cost(&opts, &body, 1, spec.url.len() + parent.caller_ip.len());
        if !self.make_room(need) {
            return Err("the store's byte budget is reached");
        }
        let info = Arc::new(MessageInfo {
            id: new_id("msg_"),
            kind: Kind::Callback,
            url: spec.url.clone(),
            topic: None,
            endpoint: None,
            queue: None,
            schedule_id: None,
            caller_ip: parent.caller_ip.clone(),
            created_at: now,
            not_before: None,
            body,
            opts,
            held: Default::default(),
        });
        let id = info.id.clone();
        self.insert(info, now);
        Ok(id)
    }

    // --- Cancelling -----------------------------------------------------

    /// Cancels one message; `false` if it is unknown. A message in flight
    /// is not stopped, but it is not retried either.
    pub(crate) fn cancel(&mut self, id: &str) -> bool {
        let Some(slot) = self.messages.get_mut(id) else {
            return false;
        };
        let info = Arc::clone(&slot.info);
        if slot.cancel_requested {
            return true;
        }
        slot.cancel_requested = true;
        let in_flight = slot.in_flight;
        self.log(&info, LogState::CancelRequested, None, None, None);
        if !in_flight {
            self.log(&info, LogState::Cancelled, None, None, None);
            self.remove(id);
            self.note_schedule_state(&info, LogState::Cancelled);
            self.wf_message_cancelled(&info);
        }
        true
    }

    /// One step of a filter-based cancel: cancels up to `limit` messages
    /// matching `filter`, oldest first, among those created after `after`
    /// (a sequence number), looking at no more than [`MAX_SCAN`] messages.
    /// Returns how many were cancelled and, when messages are left to look
    /// at, where the next step starts.
    pub(crate) fn cancel_where(
        &mut self,
        filter: &Filter,
        limit: usize,
        after: Option<u64>,
    ) -> (u64, Option<u64>) {
        let start = after.map_or(0, |c| c.saturating_add(1));
        let messages = &self.messages;
        let page = pick(
            self.order
                .range(start..)
                .map(|(seq, info)| (*seq, &info.id)),
            |id| {
                messages.get(id).is_some_and(|s| {
                    !s.cancel_requested && filter.matches(&s.info, s.info.created_at, None)
                })
            },
            limit,
            MAX_SCAN,
            |_, id| id.clone(),
        );
        let cancelled = page.items.iter().filter(|id| self.cancel(id)).count() as u64;
        (cancelled, page.next)
    }

    /// Remembers a filter-based cancel (the oldest goes when full).
    pub(crate) fn record_bulk_action(
        &mut self,
        filter: BTreeMap<String, Vec<String>>,
        total: u64,
        created_at: i64,
    ) -> String {
        while self.bulk_actions.len() >= self.config.limits.max_bulk_actions.max(1) {
            if let Some((_, old)) = self.bulk_actions.pop_first() {
                self.bulk_ids.remove(&old.id);
            }
        }
        let seq = self.seq();
        let id = new_id("act_");
        self.bulk_ids.insert(id.clone(), seq);
        self.bulk_actions.insert(
            seq,
            BulkAction {
                id: id.clone(),
                created_at,
                completed_at: now_ms(),
                total,
                processed: total,
                filter,
            },
        );
        id
    }

    /// The bulk action `id`.
    pub(crate) fn bulk_action(&self, id: &str) -> Option<&BulkAction> {
        self.bulk_ids
            .get(id)
            .and_then(|seq| self.bulk_actions.get(seq))
    }

    // --- Dead letter queue ----------------------------------------------

    fn dead_letter(&mut self, info: &Arc<MessageInfo>, reply: Arc<Reply>) -> String {
        while self.dlq.len() >= self.config.limits.max_dlq_entries {
            if !self.dlq_pop_oldest() {
                return String::new();
            }
        }
        let seq = self.seq();
        let dlq_id = new_id("dlq_");
        self.dlq_ids.insert(dlq_id.clone(), seq);
        self.ledger.hold_info(info);
        self.ledger.hold_reply(&reply);
        self.ledger.add(RECORD_BYTES + dlq_id.len());
        self.dlq.insert(
            seq,
            DlqEntry {
                dlq_id: dlq_id.clone(),
                info: Arc::clone(info),
                reply,
            },
        );
        self.make_room(0);
        dlq_id
    }

    /// The DLQ entry `dlq_id`.
    pub(crate) fn dlq_entry(&self, dlq_id: &str) -> ApiResult<&DlqEntry> {
        self.dlq_ids
            .get(dlq_id)
            .and_then(|seq| self.dlq.get(seq))
            .ok_or_else(|| ApiError::not_found(format!("DLQ message `{dlq_id}` not found")))
    }

    /// Removes the DLQ entry `dlq_id`.
    pub(crate) fn dlq_remove(&mut self, dlq_id: &str) -> ApiResult<DlqEntry> {
        let seq = self
            .dlq_ids
            .get(dlq_id)
            .copied()
            .ok_or_else(|| ApiError::not_found(format!("DLQ message `{dlq_id}` not found")))?;
        self.dlq_take(seq)
            .ok_or_else(|| ApiError::not_found(format!("DLQ message `{dlq_id}` not found")))
    }

    /// DLQ sequence numbers, oldest first, after `cursor`, at most `count`:
    /// those of the `ids` given (looked up, whatever the DLQ holds), or
    /// those matching `filter` (looking at no more than [`MAX_SCAN`]
    /// entries); with the cursor of the next page, if there is one.
    pub(crate) fn dlq_select(
        &self,
        ids: &[String],
        filter: &Filter,
        cursor: Option<u64>,
        count: usize,
    ) -> Page<u64> {
        let start = cursor.map_or(0, |c| c.saturating_add(1));
        if ids.is_empty() {
            return pick(
                self.dlq.range(start..).map(|(seq, e)| (*seq, e)),
                |e| filter.matches(&e.info, e.info.created_at, Some(e.reply.status)),
                count,
                MAX_SCAN,
                |seq, _| seq,
            );
        }
        let mut seqs: Vec<u64> = ids
            .iter()
            .filter_map(|id| self.dlq_ids.get(id).copied())
            .filter(|seq| *seq >= start)
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        let scanned = ids.len();
        let next = (seqs.len() > count).then(|| seqs[count - 1]);
        seqs.truncate(count);
        Page {
            items: seqs,
            next,
            scanned,
        }
    }

    /// One page of the DLQ (see [`dlq_select`](Self::dlq_select)): the
    /// entries themselves, sharing their messages and answers with the
    /// store, to be shown once the lock is released.
    pub(crate) fn dlq_page(
        &self,
        ids: &[String],
        filter: &Filter,
        cursor: Option<u64>,
        count: usize,
    ) -> Page<DlqEntry> {
        let page = self.dlq_select(ids, filter, cursor, count);
        Page {
            items: page
                .items
                .iter()
                .filter_map(|seq| self.dlq.get(seq).cloned())
                .collect(),
            next: page.next,
            scanned: page.scanned,
        }
    }

    /// Re-publishes a fresh copy of a DLQ entry and removes the original.
    /// `retries` overrides the retry budget.
    pub(crate) fn dlq_retry(&mut self, seq: u64, retries: Option<u32>) -> ApiResult<Published> {
        let entry = self
            .dlq_take(seq)
            .ok_or_else(|| ApiError::not_found("DLQ message not found"))?;
        self.publish_retry(&entry, retries).inspect_err(|_| {
            self.dlq_put_back(seq, entry);
        })
    }

    /// Puts back a DLQ entry taken with [`dlq_take`](Self::dlq_take), as it
    /// was.
    fn dlq_put_back(&mut self, seq: u64, entry: DlqEntry) {
        self.ledger.hold_info(&entry.info);
        self.ledger.hold_reply(&entry.reply);
        self.ledger.add(RECORD_BYTES + entry.dlq_id.len());
        self.dlq_ids.insert(entry.dlq_id.clone(), seq);
        self.dlq.insert(seq, entry);
    }

    /// Publishes a new copy of the message of a DLQ entry already taken out
    /// of the DLQ (so that making room cannot drop it).
    fn publish_retry(&mut self, entry: &DlqEntry, retries: Option<u32>) -> ApiResult<Published> {
        if self.messages.len() >= self.config.limits.max_messages {
            return Err(ApiError::limit(format!(
                "message limit reached ({}); wait for deliveries or cancel messages",
                self.config.limits.max_messages
            )));
        }
        if let Some(q) = &entry.info.queue {
            self.ensure_queue(q, now_ms())?;
        }
        let mut opts = (*entry.info.opts).clone();
        opts.delay_ms = None;
        opts.not_before_secs = None;
        if retries.is_some() {
            opts.retries = retries;
        }
        let now = now_ms();
        let info = Arc::new(MessageInfo {
            id: new_id("msg_"),
            kind: entry.info.kind,
            url: entry.info.url.clone(),
            topic: entry.info.topic.clone(),
            endpoint: entry.info.endpoint.clone(),
            queue: entry.info.queue.clone(),
            schedule_id: entry.info.schedule_id.clone(),
            caller_ip: entry.info.caller_ip.clone(),
            created_at: now,
            not_before: None,
            body: Arc::clone(&entry.info.body),
            opts: Arc::new(opts),
            held: Default::default(),
        });
        let published = Published {
            message_id: info.id.clone(),
            url: info.url.clone(),
            deduplicated: false,
        };
        let need = self.publish_cost(&info.opts, &info.body, 1, info_bytes(&info));
        if !self.make_room(need) {
            return Err(self.over_budget(need));
        }
        self.insert(info, now);
        Ok(published)
    }

    // --- Queues ---------------------------------------------------------

    /// Messages of queue `name` waiting for delivery.
    pub(crate) fn queue_lag(&self, name: &str) -> usize {
        self.queue_counts(name).waiting
    }

    /// Removes a queue and cancels its waiting messages.
    pub(crate) fn delete_queue(&mut self, name: &str) {
        self.queues.remove(name);
        let ids: Vec<String> = self
            .queue_members
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.order.get(seq).map(|info| info.id.clone()))
            .collect();
        for id in ids {
            self.cancel(&id);
        }
    }

    // --- All or nothing: batches and bulk DLQ retries -------------------

    /// Publishes every request of a batch, or none: all of them are
    /// checked first against the store as the ones before them would leave
    /// it (destination, queue name and queue limit, message limit), and
    /// should one still fail, the messages of the ones before it are
    /// withdrawn. The error carries the index of the request that failed.
    pub(crate) fn publish_all(
        &mut self,
        reqs: &[NewMessages<'_>],
    ) -> Result<Vec<Outcome>, (usize, ApiError)> {
        self.check_publish_all(reqs)?;
        let mut new_runs: HashSet<&str> = HashSet::new();
        let mut first_new = 0;
        for (i, req) in reqs.iter().enumerate() {
            if self.wf_starts_run(&req.opts)
                && let Some(id) = workflow::run_id_of(&req.opts)
                && new_runs.insert(id)
                && new_runs.len() == 1
            {
                first_new = i;
            }
        }
        if !new_runs.is_empty() {
            self.wf_room(new_runs.len()).map_err(|e| (first_new, e))?;
        }
        let mut done: Vec<Outcome> = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            match self.publish(req) {
                Ok(outcome) => done.push(outcome),
                Err(e) => {
                    self.withdraw(&reqs[..i], &done);
                    return Err((i, e));
                }
            }
        }
        Ok(done)
    }

    /// What [`publish`](Self::publish) would refuse, for each request in
    /// turn, without changing anything.
    fn check_publish_all(&self, reqs: &[NewMessages<'_>]) -> Result<(), (usize, ApiError)> {
        let now = now_ms();
        let limits = &self.config.limits;
        let mut created = 0usize;
        let mut new_queues: HashSet<&str> = HashSet::new();
        let mut dedup_keys: HashSet<String> = HashSet::new();
        for (i, req) in reqs.iter().enumerate() {
            let (targets, _) = self.targets(req.destination).map_err(|e| (i, e))?;
            if let Some(q) = req.queue
                && !self.queues.contains_key(q)
                && !new_queues.contains(&q)
            {
                if !valid_name(q) {
                    return Err((i, invalid_queue(q)));
                }
                if self.queues.len() + new_queues.len() >= limits.max_queues {
                    return Err((
                        i,
                        ApiError::limit(format!("queue limit reached ({})", limits.max_queues)),
                    ));
                }
                new_queues.insert(q);
            }
            let waiting = self.messages.len() + created;
            if targets.len() > limits.max_messages.saturating_sub(waiting) {
                return Err((
                    i,
                    ApiError::limit(format!(
                        "message limit reached: {waiting} messages would be waiting for delivery with the entries before this one (limit {}); wait for deliveries or cancel messages",
                        limits.max_messages
                    )),
                ));
            }
            for (url, _, _) in &targets {
                let deduplicated = match self.dedup_key(req, url) {
                    Some(key) => {
                        let live = self.dedup.get(&key).is_some_and(|(_, exp)| *exp > now);
                        live || !dedup_keys.insert(key)
                    }
                    None => false,
                };
                if !deduplicated {
                    created += 1;
                }
            }
        }
        Ok(())
    }

    /// Takes back the messages `done` just created for `reqs`, part of a
    /// request that failed as a whole: they are cancelled (never
    /// delivered), the workflow runs they started forgotten and their
    /// deduplication IDs too (the request can be sent again). The work is that of the messages taken back.
    fn withdraw(&mut self, reqs: &[NewMessages<'_>], done: &[Outcome]) {
        for (req, outcome) in reqs.iter().zip(done) {
            for p in published(outcome).iter().filter(|p| !p.deduplicated) {
                self.cancel(&p.message_id);
                self.wf_forget_start(&req.opts, &p.message_id);
                if let Some(key) = self.dedup_key(req, &p.url)
                    && self
                        .dedup
                        .get(&key)
                        .is_some_and(|(id, _)| *id == p.message_id)
                {
                    self.dedup.remove(&key);
                }
            }
        }
    }

    /// Whether sending the message of a DLQ entry again would create its
    /// queue `queue` anew past the queue limit, `new_queues` being the
    /// queues the entries before it create (which it joins when it fits).
    fn queue_past_limit(&self, queue: &str, new_queues: &mut HashSet<String>) -> bool {
        if self.queues.contains_key(queue) || new_queues.contains(queue) {
            return false;
        }
        if self.queues.len() + new_queues.len() >= self.config.limits.max_queues {
            return true;
        }
        new_queues.insert(queue.to_owned());
        false
    }

    /// Retries the DLQ entries `seqs` (see [`dlq_retry`](Self::dlq_retry)),
    /// all or none: the room for their messages and the queues they need
    /// are checked first, and should a retry still fail, the messages made
    /// are withdrawn and the entries put back.
    pub(crate) fn dlq_retry_all(
        &mut self,
        seqs: &[u64],
        retries: Option<u32>,
    ) -> ApiResult<Vec<Published>> {
        let limits = &self.config.limits;
        let free = limits.max_messages.saturating_sub(self.messages.len());
        if seqs.len() > free {
            return Err(ApiError::limit(format!(
                "message limit reached: retrying {} DLQ messages needs room for as many messages and there is room for {free} (limit {}); nothing was retried",
                seqs.len(),
                limits.max_messages
            )));
        }
        let mut new_queues = HashSet::new();
        for seq in seqs {
            let entry = self
                .dlq
                .get(seq)
                .ok_or_else(|| ApiError::not_found("DLQ message not found"))?;
            if let Some(q) = entry.info.queue.as_deref()
                && self.queue_past_limit(q, &mut new_queues)
            {
                return Err(ApiError::limit(format!(
                    "DLQ message `{}`: its queue `{q}` would be created again and the queue limit is reached ({}); nothing was retried",
                    entry.dlq_id, limits.max_queues
                )));
            }
        }
        // Every entry leaves the DLQ before any copy is made: making room
        // for a copy drops the oldest DLQ entries, never one of these.
        let taken: Vec<(u64, DlqEntry)> = seqs
            .iter()
            .filter_map(|&seq| self.dlq_take(seq).map(|e| (seq, e)))
            .collect();
        let mut done: Vec<Published> = Vec::with_capacity(taken.len());
        for (_, entry) in &taken {
            match self.publish_retry(entry, retries) {
                Ok(published) => done.push(published),
                Err(e) => {
                    let message = format!(
                        "DLQ message `{}`: {}; nothing was retried",
                        entry.dlq_id, e.message
                    );
                    // Retried copies have no deduplication ID to forget.
                    for p in &done {
                        self.cancel(&p.message_id);
                    }
                    for (seq, old) in taken {
                        self.dlq_put_back(seq, old);
                    }
                    return Err(ApiError::new(e.status, message));
                }
            }
        }
        Ok(done)
    }
}

/// Takes the name of the first timer of `timers` if its time has come.
fn pop_due(timers: &mut BTreeSet<(i64, String)>, now: i64) -> Option<String> {
    if timers.first().is_some_and(|(t, _)| *t <= now) {
        timers.pop_first().map(|(_, name)| name)
    } else {
        None
    }
}

/// The messages of a publish.
fn published(outcome: &Outcome) -> &[Published] {
    match outcome {
        Outcome::Single(p) => std::slice::from_ref(p),
        Outcome::Group(all) => all.as_slice(),
    }
}

/// What a redacted value is replaced with: its SHA-256, as the API views
/// show it.
fn redacted(data: &[u8]) -> String {
    let hex: String = Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("REDACTED:{hex}")
}

/// `headers` with the values `redact` names replaced.
fn redacted_headers(
    headers: &crate::model::Headers,
    redact: &crate::model::Redact,
) -> crate::model::Headers {
    headers
        .iter()
        .map(|(name, values)| {
            let hide = redact.all_headers || redact.headers.contains(&name.to_ascii_lowercase());
            let values = if hide {
                values.iter().map(|v| redacted(v.as_bytes())).collect()
            } else {
                values.clone()
            };
            (name.clone(), values)
        })
        .collect()
}

/// The JSON body of a callback (after each attempt) or failure callback
/// (after the last one): the destination's answer and the source message,
/// its headers and body redacted as the message asked.
///
/// The body stays within `max` bytes: when it would not, `sourceBody` is
/// left empty, then `body` too.
fn callback_body(
    info: &MessageInfo,
    reply: &Reply,
    retried: u32,
    max_retries: u32,
    dlq_id: Option<&str>,
    max: usize,
) -> Bytes {
    for (with_source, with_reply) in [(true, true), (false, true), (false, false)] {
        let body = callback_json(
            info,
            reply,
            retried,
            max_retries,
            dlq_id,
            with_source,
            with_reply,
        );
        if body.len() <= max || !with_reply {
            return body;
        }
    }
    Bytes::new()
}

fn callback_json(
    info: &MessageInfo,
    reply: &Reply,
    retried: u32,
    max_retries: u32,
    dlq_id: Option<&str>,
    with_source: bool,
    with_reply: bool,
) -> Bytes {
    let redact = &info.opts.redact;
    let encode = |keep: bool, data: &[u8]| {
        if keep {
            STANDARD.encode(data)
        } else {
            String::new()
        }
    };
    let mut body = json!({
        "status": reply.status,
        "header": reply.headers,
        "body": encode(with_reply, &reply.body),
        "retried": retried,
        "maxRetries": max_retries,
        "sourceMessageId": info.id,
        "url": info.url,
        "method": info.opts.method,
        "sourceHeader": redacted_headers(&info.opts.header, redact),
        "sourceBody": if with_source && redact.body {
            redacted(&info.body.bytes)
        } else {
            encode(with_source, &info.body.bytes)
        },
        "notBefore": info.not_before.unwrap_or(info.created_at),
        "createdAt": info.created_at,
        "callerIP": info.caller_ip,
    });
    let extra = [
        ("topicName", info.topic.as_deref()),
        ("endpointName", info.endpoint.as_deref()),
        ("scheduleId", info.schedule_id.as_deref()),
        ("queueName", info.queue.as_deref()),
        ("dlqId", dlq_id),
        ("error", reply.error.as_deref()),
    ];
    if let Some(map) = body.as_object_mut() {
        for (k, v) in extra {
            if let Some(v) = v {
                map.insert(k.into(), json!(v));
            }
        }
    }
    Bytes::from(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::model::FlowSpec;

    pub(super) fn store(limits: Limits) -> Store {
        Store::new(
            Config {
                retry_delay_scale: 1.0,
                limits,
                region: None,
                cron_seconds: false,
            },
            SigningKeys::generate(),
        )
    }

    /// Options and a body, as a test publishes them.
    pub(super) struct Msg {
        pub(super) opts: Options,
        pub(super) body: Bytes,
    }

    impl From<Options> for Msg {
        /// No body.
        fn from(opts: Options) -> Self {
            Self {
                opts,
                body: Bytes::new(),
            }
        }
    }

    pub(super) fn publish(store: &mut Store, msg: impl Into<Msg>) -> ApiResult<Outcome> {
        let msg = msg.into();
        store.publish(&NewMessages {
            destination: "http://127.0.0.1:1/x",
            queue: None,
            opts: Arc::new(msg.opts),
            body: Payload::new(msg.body),
            schedule_id: None,
            caller_ip: "127.0.0.1",
        })
    }

    /// Publishes a message with `opts` to the queue `queue`.
    fn enqueue(store: &mut Store, queue: &str, opts: Options) -> ApiResult<Outcome> {
        store.publish(&NewMessages {
            destination: "http://127.0.0.1:1/q",
            queue: Some(queue),
            opts: Arc::new(opts),
            body: Arc::default(),
            schedule_id: None,
            caller_ip: "127.0.0.1",
        })
    }

    /// The destination's answer to a delivery that succeeded.
    fn delivered() -> Reply {
        Reply {
            status: 200,
            ..Reply::default()
        }
    }

    #[test]
    fn a_huge_flow_period_neither_overflows_nor_stalls() {
        let mut s = store(Limits::default());
        let flow = FlowSpec {
            key: "k".into(),
            rate: Some(1),
            period_secs: Some(u64::MAX / 1000 + 1),
            ..FlowSpec::default()
        };
        for _ in 0..2 {
            let opts = Options {
                flow: Some(Box::new(flow.clone())),
                ..Options::default()
            };
            publish(&mut s, opts).unwrap();
        }
        let now = now_ms();
        let (jobs, wake) = s.take_due(now);
        assert_eq!(jobs.len(), 1);
        assert!(wake.is_some_and(|w| w >= now), "{wake:?}");
        // A key whose period started long ago (as a pin or a rate reset
        // would leave it): a new period begins.
        s.flow.get_mut("k").unwrap().period_start = i64::MIN;
        s.flow_updated("k");
        let (jobs, _) = s.take_due(now);
        assert_eq!(jobs.len(), 1);
    }

    fn failing(body_len: usize, header_len: usize) -> Reply {
        let mut headers = crate::model::Headers::new();
        headers.insert("X-Big".into(), vec!["h".repeat(header_len)]);
        Reply {
            status: 500,
            headers,
            body: Bytes::from(vec![b'r'; body_len]),
            error: None,
            held: Default::default(),
        }
    }

    /// No retries (a failed delivery goes to the DLQ at once).
    fn no_retries() -> Options {
        Options {
            retries: Some(0),
            ..Options::default()
        }
    }

    fn bytes(len: usize) -> Bytes {
        Bytes::from(vec![b'b'; len])
    }

    /// A body of `len` bytes, no retries.
    fn body_opts(len: usize) -> Msg {
        Msg {
            opts: no_retries(),
            body: bytes(len),
        }
    }

    /// Delivers every due message with `reply`.
    fn fail_all(s: &mut Store, reply: &Reply) {
        let (jobs, _) = s.take_due(now_ms());
        for job in jobs {
            s.finish(&job.info.id, reply.clone());
        }
    }

    #[test]
    fn publishing_past_the_byte_budget_is_refused() {
        let mut s = store(Limits {
            max_store_bytes: 100_000,
            ..Limits::default()
        });
        let mut accepted = 0;
        let err = loop {
            match publish(&mut s, body_opts(30_000)) {
                Ok(_) => accepted += 1,
                Err(e) => break e,
            }
            assert!(accepted < 10, "never refused");
        };
        assert_eq!(accepted, 3);
        assert_eq!(err.status.as_u16(), 412);
        assert!(err.message.contains("bytes"), "{}", err.message);
        assert!(s.bytes() <= 100_000);
    }

    /// Starts the one due message and finishes its attempt with `status`.
    fn attempt(s: &mut Store, status: u16) -> Settled {
        let (jobs, _) = s.take_due(i64::MAX / 2);
        assert_eq!(jobs.len(), 1);
        s.finish(
            &jobs[0].info.id,
            Reply {
                status,
                ..Reply::default()
            },
        )
    }

    fn callback(url: &str) -> Option<Box<CallbackSpec>> {
        Some(Box::new(CallbackSpec {
            url: url.into(),
            ..CallbackSpec::default()
        }))
    }

    #[test]
    fn finish_says_what_became_of_the_message() {
        let mut s = store(Limits::default());
        assert_eq!(s.finish("msg_none", Reply::default()).fate, Fate::Gone);

        let out = publish(
            &mut s,
            Options {
                retries: Some(1),
                callback: callback("http://127.0.0.1:1/cb"),
                failure_callback: callback("http://127.0.0.1:1/failed"),
                ..Options::default()
            },
        )
        .unwrap();
        let id = out.message_ids().remove(0);
        let before = now_ms();
        let first = attempt(&mut s, 500);
        assert_eq!(
            first.info.as_ref().map(|i| i.id.as_str()),
            Some(id.as_str())
        );
        assert_eq!(first.attempt, 1);
        let Fate::Retry { at } = first.fate else {
            panic!("{:?}", first.fate);
        };
        assert!(at >= before && at == s.messages[&id].ready_at, "{at}");
        assert_eq!(first.callbacks.len(), 1);
        let cb = &first.callbacks[0];
        assert!(!cb.failure);
        assert_eq!(cb.url, "http://127.0.0.1:1/cb");
        let cb_id = cb.queued.clone().unwrap();
        assert_eq!(s.messages[&cb_id].info.kind, Kind::Callback);
        // A callback without retries of its own has its message's.
        assert_eq!(s.messages[&cb_id].info.opts.retries, Some(1));
        s.cancel(&cb_id);

        let last = attempt(&mut s, 500);
        assert_eq!(last.attempt, 2);
        let dlq_id = s.dlq.values().next().unwrap().dlq_id.clone();
        assert_eq!(
            last.fate,
            Fate::Dead {
                dlq_id: Some(dlq_id)
            }
        );
        let failure: Vec<_> = last.callbacks.iter().filter(|c| c.failure).collect();
        assert_eq!(failure.len(), 1);
        assert_eq!(failure[0].url, "http://127.0.0.1:1/failed");
        let failure_id = failure[0].queued.clone().unwrap();
        assert!(s.messages.contains_key(&failure_id));
        s.cancel(&failure_id);
        for c in last.callbacks.iter().filter(|c| !c.failure) {
            s.cancel(c.queued.as_ref().unwrap());
        }

        publish(&mut s, Options::default()).unwrap();
        let delivered = attempt(&mut s, 200);
        assert_eq!(delivered.fate, Fate::Delivered);
        assert!(delivered.callbacks.is_empty());

        let out = publish(&mut s, Options::default()).unwrap();
        let (jobs, _) = s.take_due(i64::MAX / 2);
        s.cancel(&out.message_ids()[0]);
        let cancelled = s.finish(&jobs[0].info.id, Reply::default());
        assert_eq!(cancelled.fate, Fate::Cancelled);
    }

    #[test]
    fn finish_says_when_nothing_is_kept_or_queued() {
        let mut s = store(Limits {
            max_dlq_entries: 0,
            // The message itself counts while its callback is made.
            max_messages: 1,
            ..Limits::default()
        });
        publish(
            &mut s,
            Options {
                retries: Some(0),
                callback: callback("http://127.0.0.1:1/cb"),
                ..Options::default()
            },
        )
        .unwrap();
        let settled = attempt(&mut s, 500);
        assert_eq!(settled.fate, Fate::Dead { dlq_id: None });
        assert_eq!(
            settled.callbacks[0].queued,
            Err("the message limit is reached")
        );
        assert!(s.messages.is_empty());
    }

    #[test]
    fn the_dlq_and_the_logs_drop_their_oldest_within_the_budget() {
        let budget = 200_000;
        let mut s = store(Limits {
            max_store_bytes: budget,
            ..Limits::default()
        });
        for _ in 0..20 {
            publish(&mut s, body_opts(10_000)).unwrap();
            fail_all(&mut s, &failing(20_000, 10));
            assert!(s.bytes() <= budget, "{} bytes", s.bytes());
        }
        assert!(s.dlq.len() < 20 && !s.dlq.is_empty(), "{}", s.dlq.len());
        // Publishing still works: old history makes room.
        publish(&mut s, body_opts(100_000)).unwrap();
        assert!(s.bytes() <= budget);
    }

    #[test]
    fn bytes_are_given_back() {
        let mut s = store(Limits {
            max_log_entries: 0,
            ..Limits::default()
        });
        let out = publish(&mut s, body_opts(10_000)).unwrap();
        assert!(s.bytes() >= 10_000);
        assert!(s.cancel(&out.message_ids()[0]));
        assert_eq!(s.bytes(), 0);
        publish(&mut s, body_opts(10_000)).unwrap();
        fail_all(&mut s, &failing(5_000, 10));
        assert_eq!(s.dlq.len(), 1);
        let (seq, _) = s
            .dlq
            .first_key_value()
            .map(|(k, v)| (*k, v.dlq_id.clone()))
            .unwrap();
        s.dlq_retry(seq, None).unwrap();
        assert!(s.dlq.is_empty());
        fail_all(&mut s, &failing(5_000, 10));
        let id = s.dlq.values().next().unwrap().dlq_id.clone();
        s.dlq_remove(&id).unwrap();
        assert_eq!(s.bytes(), 0);
    }

    #[test]
    fn response_headers_and_bodies_are_capped() {
        let mut s = store(Limits {
            max_response_bytes: 1000,
            ..Limits::default()
        });
        publish(&mut s, body_opts(10)).unwrap();
        fail_all(&mut s, &failing(50_000, 100_000));
        let entry = s.dlq.values().next().unwrap();
        assert!(entry.reply.body.len() <= 1000);
        let header_bytes: usize = entry
            .reply
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.iter().map(String::len).sum::<usize>())
            .sum();
        assert!(header_bytes <= MAX_RESPONSE_HEADER_BYTES, "{header_bytes}");
    }

    #[test]
    fn callback_bodies_respect_the_body_limit() {
        let max = 100_000;
        let mut s = store(Limits {
            max_body_bytes: max,
            max_response_bytes: 60_000,
            ..Limits::default()
        });
        let opts = Options {
            callback: Some(Box::new(CallbackSpec {
                url: "http://127.0.0.1:1/cb".into(),
                ..CallbackSpec::default()
            })),
            ..no_retries()
        };
        publish(
            &mut s,
            Msg {
                opts,
                body: bytes(max),
            },
        )
        .unwrap();
        fail_all(&mut s, &failing(60_000, 10));
        let callback = s
            .messages
            .values()
            .find(|m| m.info.kind == Kind::Callback)
            .expect("a callback");
        assert!(
            callback.info.body.bytes.len() <= max,
            "{}",
            callback.info.body.bytes.len()
        );
        let v: serde_json::Value = serde_json::from_slice(&callback.info.body.bytes).unwrap();
        assert_eq!(v["status"], 500);
    }

    fn delayed(opts: Options) -> Options {
        Options {
            delay_ms: Some(3_600_000),
            ..opts
        }
    }

    /// Starts what is due, counting the messages looked at.
    fn wake(s: &mut Store) -> (Vec<Job>, usize) {
        s.visited = 0;
        let (jobs, _) = s.take_due(now_ms());
        (jobs, s.visited)
    }

    #[test]
    fn a_wake_looks_only_at_what_may_start() {
        let mut s = store(Limits::default());
        for _ in 0..1000 {
            publish(&mut s, delayed(Options::default())).unwrap();
        }
        publish(&mut s, Options::default()).unwrap();
        let (jobs, visited) = wake(&mut s);
        assert_eq!(jobs.len(), 1);
        assert!(visited <= 2, "{visited} messages looked at");
        let (jobs, visited) = wake(&mut s);
        assert!(jobs.is_empty());
        assert!(visited <= 1, "{visited} messages looked at");
    }

    #[test]
    fn held_back_messages_are_not_looked_at_again() {
        let mut s = store(Limits::default());
        s.ensure_queue("q", now_ms()).unwrap();
        for _ in 0..500 {
            enqueue(&mut s, "q", Options::default()).unwrap();
        }
        let flow = FlowSpec {
            key: "k".into(),
            parallelism: Some(1),
            ..FlowSpec::default()
        };
        for _ in 0..500 {
            let opts = Options {
                flow: Some(Box::new(flow.clone())),
                ..Options::default()
            };
            publish(&mut s, opts).unwrap();
        }
        let (jobs, _) = wake(&mut s);
        assert_eq!(jobs.len(), 2, "one of the queue, one of the key");
        for _ in 0..3 {
            let (jobs, visited) = wake(&mut s);
            assert!(jobs.is_empty());
            assert!(visited <= 4, "{visited} messages looked at");
        }
        // One finishes: exactly one more of its kind starts.
        let first = s.order.values().next().unwrap().id.clone();
        s.finish(&first, delivered());
        let (jobs, visited) = wake(&mut s);
        assert_eq!(jobs.len(), 1);
        assert!(visited <= 4, "{visited} messages looked at");
    }

    /// A filter from a query string, as the list endpoints read it.
    fn filter(query: &str) -> Filter {
        crate::filter::Selection::read(
            crate::filter::Endpoint::ListDlq,
            Some(query),
            &axum::http::HeaderMap::new(),
            &[],
        )
        .unwrap()
        .filter
    }

    /// Sequence numbers of a log page, newest first.
    fn seqs(page: &Page<LogRecord>) -> Vec<u64> {
        page.items.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn a_log_page_starts_at_its_cursor_and_looks_at_its_records_only() {
        let mut s = store(Limits {
            max_log_entries: 5000,
            ..Limits::default()
        });
        for _ in 0..3000 {
            publish(&mut s, delayed(Options::default())).unwrap();
        }
        let all: Vec<u64> = s.logs.iter().rev().map(|r| r.seq).collect();
        assert_eq!(all.len(), 3000);
        let first = s.log_page(None, 100, |_| true);
        assert_eq!(seqs(&first), all[..100]);
        assert_eq!(first.next, Some(all[99]));
        assert_eq!(
            first.scanned, 101,
            "one past the page, to know there is more"
        );
        // Deep in the log, a page costs what the first one does.
        let deep = s.log_page(Some(all[2799]), 100, |_| true);
        assert_eq!(seqs(&deep), all[2800..2900]);
        assert_eq!(deep.next, Some(all[2899]));
        assert_eq!(deep.scanned, 101);
        let last = s.log_page(deep.next, 100, |_| true);
        assert_eq!(seqs(&last), all[2900..]);
        assert_eq!((last.next, last.scanned), (None, 100));
        // The page shares the messages with the store: nothing is copied
        // or encoded under the lock.
        let newest = s.logs.back().unwrap();
        assert!(Arc::ptr_eq(&first.items[0].info, &newest.info));
    }

    #[test]
    fn a_log_filter_looks_at_max_scan_records_per_page_then_gives_a_cursor() {
        let mut s = store(Limits {
            max_log_entries: 5000,
            ..Limits::default()
        });
        let labelled = Options {
            labels: vec!["rare".into()],
            ..Options::default()
        };
        publish(&mut s, delayed(labelled)).unwrap();
        for _ in 0..2499 {
            publish(&mut s, delayed(Options::default())).unwrap();
        }
        let rare = filter("label=rare");
        let keep = |r: &LogRecord| rare.matches(&r.info, r.time, None);
        let mut cursor = None;
        let mut pages = Vec::new();
        loop {
            let page = s.log_page(cursor, 100, keep);
            assert!(
                page.scanned <= MAX_SCAN,
                "{} records looked at",
                page.scanned
            );
            pages.push(page.items.len());
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        // 2,500 records, 1,000 per page: the rare one on the last page.
        assert_eq!(pages, [0, 0, 1]);
    }

    /// Fails `n` messages into the DLQ; the first labelled `rare`.
    fn fill_dlq(s: &mut Store, n: usize) {
        for i in 0..n {
            let opts = Options {
                labels: if i == 0 {
                    vec!["rare".into()]
                } else {
                    Vec::new()
                },
                ..no_retries()
            };
            publish(s, opts).unwrap();
            fail_all(s, &failing(0, 0));
        }
    }

    #[test]
    fn a_dlq_page_looks_at_max_scan_entries_and_ids_are_looked_up() {
        let mut s = store(Limits {
            max_log_entries: 0,
            ..Limits::default()
        });
        fill_dlq(&mut s, 2500);
        let all: Vec<u64> = s.dlq.keys().copied().collect();
        let page = s.dlq_select(&[], &Filter::default(), Some(all[1999]), 100);
        assert_eq!(page.items, all[2000..2100]);
        assert_eq!((page.next, page.scanned), (Some(all[2099]), 101));
        // A filter that skips everything from the cursor on.
        let rare = filter("label=rare");
        let page = s.dlq_select(&[], &rare, Some(all[0]), 100);
        assert!(page.items.is_empty());
        assert_eq!((page.next, page.scanned), (Some(all[MAX_SCAN]), MAX_SCAN));
        let page = s.dlq_select(&[], &rare, None, 100);
        assert_eq!(page.items, [all[0]]);
        assert_eq!(page.scanned, MAX_SCAN);
        // Ids are looked up, not searched for: oldest first, unknown ones
        // skipped, `count` at most with a cursor past it.
        let id = |i: usize| s.dlq[&all[i]].dlq_id.clone();
        let ids = vec![id(2400), "dlq_unknown".into(), id(7), id(1200), id(7)];
        let page = s.dlq_select(&ids, &Filter::default(), None, 100);
        assert_eq!(page.items, [all[7], all[1200], all[2400]]);
        assert_eq!((page.next, page.scanned), (None, 5));
        let page = s.dlq_select(&ids, &Filter::default(), None, 3);
        assert_eq!((page.items.len(), page.next), (3, None), "exactly a page");
        let page = s.dlq_select(&ids, &Filter::default(), None, 2);
        assert_eq!(
            (page.items, page.next),
            (vec![all[7], all[1200]], Some(all[1200]))
        );
        let page = s.dlq_page(&ids, &Filter::default(), Some(all[1200]), 2);
        assert_eq!(page.items.len(), 1);
        assert!(Arc::ptr_eq(&page.items[0].info, &s.dlq[&all[2400]].info));
    }

    #[test]
    fn a_cancel_by_filter_goes_in_steps_of_max_scan_messages() {
        let mut s = store(Limits {
            max_log_entries: 0,
            ..Limits::default()
        });
        for _ in 0..2500 {
            publish(&mut s, delayed(Options::default())).unwrap();
        }
        let none = filter("label=none");
        let mut after = None;
        let mut steps = 0;
        loop {
            let (cancelled, next) = s.cancel_where(&none, usize::MAX, after);
            assert_eq!(cancelled, 0);
            steps += 1;
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(steps, 3);
        assert_eq!(s.messages.len(), 2500);
        let every = Filter::default();
        let (cancelled, next) = s.cancel_where(&every, 10, None);
        assert_eq!(cancelled, 10);
        let tenth = *s.order.keys().next().unwrap() - 1;
        assert_eq!(next, Some(tenth), "goes on after the tenth");
        let (cancelled, next) = s.cancel_where(&every, usize::MAX, next);
        assert_eq!(
            (cancelled, next),
            (MAX_SCAN as u64, Some(tenth + MAX_SCAN as u64))
        );
        assert_eq!(s.messages.len(), 2500 - 10 - MAX_SCAN);
    }

    #[test]
    fn an_unused_flow_key_is_evicted_from_the_idle_set() {
        let mut s = store(Limits {
            max_messages: 3,
            ..Limits::default()
        });
        let now = now_ms();
        s.flow_key("a", now).unwrap().pinned_rate = true;
        s.flow_changed("a");
        let flow = FlowSpec {
            key: "b".into(),
            ..FlowSpec::default()
        };
        let busy = publish(
            &mut s,
            Options {
                flow: Some(Box::new(flow)),
                ..Options::default()
            },
        )
        .unwrap();
        s.flow_key("c", now).unwrap();
        assert_consistent(&s);
        // Full: the idle key goes, never the pinned or the busy one.
        s.flow_key("d", now).unwrap().paused = true;
        s.flow_changed("d");
        assert!(!s.flow.contains_key("c"));
        assert_consistent(&s);
        let err = s.flow_key("e", now).unwrap_err();
        assert_eq!(err.status.as_u16(), 412);
        // Once its message is gone, the busy key may go.
        s.cancel(&busy.message_ids()[0]);
        assert_consistent(&s);
        s.flow_key("e", now).unwrap();
        assert_eq!(
            s.flow.keys().map(String::as_str).collect::<Vec<_>>(),
            ["a", "d", "e"]
        );
        assert_consistent(&s);
    }

    #[test]
    fn a_batch_that_fails_late_forgets_its_deduplication_ids() {
        let mut s = store(Limits {
            max_store_bytes: 50_000,
            max_log_entries: 0,
            ..Limits::default()
        });
        let with_id = |id: &str| {
            Arc::new(Options {
                dedup_id: Some(id.into()),
                ..Options::default()
            })
        };
        let req = |opts: Arc<Options>| NewMessages {
            destination: "http://127.0.0.1:1/x",
            queue: None,
            opts,
            body: Arc::default(),
            schedule_id: None,
            caller_ip: "127.0.0.1",
        };
        let kept = s.publish(&req(with_id("kept"))).unwrap();
        // The byte budget is not checked ahead: the second entry fails late.
        let big = NewMessages {
            body: Payload::new(bytes(60_000)),
            ..req(Arc::new(no_retries()))
        };
        let (i, _) = s
            .publish_all(&[req(with_id("taken-back")), big])
            .unwrap_err();
        assert_eq!(i, 1);
        assert_eq!(
            s.messages.len(),
            1,
            "the first entry's message is withdrawn"
        );
        let again = s.publish(&req(with_id("taken-back"))).unwrap();
        assert!(!again.message_ids().is_empty());
        let Outcome::Single(p) = again else { panic!() };
        assert!(!p.deduplicated, "its deduplication ID was forgotten");
        let Outcome::Single(p) = s.publish(&req(with_id("kept"))).unwrap() else {
            panic!()
        };
        assert!(p.deduplicated, "another message's ID is remembered");
        assert_eq!(p.message_id, kept.message_ids()[0]);
    }

    #[test]
    fn bulk_actions_are_looked_up_by_id() {
        let mut s = store(Limits {
            max_bulk_actions: 2,
            ..Limits::default()
        });
        let ids: Vec<String> = (0..3)
            .map(|i| s.record_bulk_action(BTreeMap::new(), i, 0))
            .collect();
        assert!(s.bulk_action(&ids[0]).is_none(), "the oldest went");
        assert_eq!(s.bulk_action(&ids[1]).unwrap().total, 1);
        assert_eq!(s.bulk_action(&ids[2]).unwrap().id, ids[2]);
        assert_eq!(s.bulk_ids.len(), 2);
    }

    #[test]
    fn a_queue_head_cancelled_while_waiting_for_its_key_lets_the_next_go() {
        let mut s = store(Limits::default());
        let now = now_ms();
        s.flow_key("k", now).unwrap().paused = true;
        s.flow_updated("k");
        let enqueue = |s: &mut Store, flow: Option<FlowSpec>| {
            let opts = Options {
                flow: flow.map(Box::new),
                ..Options::default()
            };
            enqueue(s, "q", opts).unwrap().message_ids().remove(0)
        };
        let first = enqueue(
            &mut s,
            Some(FlowSpec {
                key: "k".into(),
                ..FlowSpec::default()
            }),
        );
        let second = enqueue(&mut s, None);
        let (jobs, _) = wake(&mut s);
        assert!(jobs.is_empty(), "the head waits for its paused key");
        assert_consistent(&s);
        s.cancel(&first);
        assert_consistent(&s);
        let (jobs, visited) = wake(&mut s);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].info.id, second);
        assert!(visited <= 1, "{visited} messages looked at");
    }

    #[test]
    fn a_queue_head_waiting_for_its_retry_starts_when_due() {
        let mut s = store(Limits::default());
        s.ensure_queue("q", now_ms()).unwrap();
        enqueue(&mut s, "q", Options::default()).unwrap();
        let (jobs, _) = wake(&mut s);
        s.finish(&jobs[0].info.id, failing(0, 0));
        let now = now_ms();
        let (jobs, next) = s.take_due(now);
        assert!(jobs.is_empty());
        let next = next.expect("a wake when the retry is due");
        assert!(next > now);
        // Nothing else happens to the queue: the time alone starts it.
        let (jobs, _) = s.take_due(next);
        assert_eq!(jobs.len(), 1);
    }

    fn keyed(key: &str, parallelism: Option<u32>, rate: Option<u32>) -> Options {
        Options {
            flow: Some(Box::new(FlowSpec {
                key: key.into(),
                parallelism,
                rate,
                ..FlowSpec::default()
            })),
            ..Options::default()
        }
    }

    #[test]
    fn a_rate_limited_key_lets_one_go_per_period_by_time_alone() {
        let mut s = store(Limits::default());
        for _ in 0..3 {
            publish(&mut s, keyed("r", None, Some(1))).unwrap();
        }
        let mut now = now_ms();
        for period in 0..3 {
            let (jobs, next) = s.take_due(now);
            assert_eq!(jobs.len(), 1, "period {period}");
            assert_consistent(&s);
            if period < 2 {
                now = next.expect("a wake at the next period");
            }
        }
        assert_eq!(s.in_flight(), 3);
    }

    #[test]
    fn a_key_stopped_by_the_global_parallelism_is_looked_at_again() {
        let mut s = store(Limits {
            max_in_flight: 3,
            ..Limits::default()
        });
        for key in ["a", "a", "b", "b"] {
            publish(&mut s, keyed(key, Some(1), None)).unwrap();
        }
        let (jobs, _) = wake(&mut s);
        assert_eq!(jobs.len(), 2, "one of each key; one of each parked");
        assert_eq!(s.parked.len(), 2);
        s.config.limits.max_in_flight = 1;
        for job in jobs {
            s.finish(&job.info.id, delivered());
        }
        let (jobs, _) = wake(&mut s);
        assert_eq!(jobs.len(), 1);
        assert_consistent(&s);
        s.finish(&jobs[0].info.id, delivered());
        let (jobs, _) = wake(&mut s);
        assert_eq!(jobs.len(), 1, "the other key's message");
        assert_consistent(&s);
    }

    #[test]
    fn a_wake_looks_only_at_the_queues_and_keys_that_changed() {
        let mut s = store(Limits::default());
        for i in 0..200 {
            let q = format!("q{i}");
            for _ in 0..2 {
                enqueue(&mut s, &q, Options::default()).unwrap();
            }
            let key = format!("k{i}");
            for _ in 0..2 {
                publish(&mut s, keyed(&key, Some(1), None)).unwrap();
            }
        }
        let (jobs, _) = wake(&mut s);
        assert_eq!(jobs.len(), 100, "the global parallelism");
        let mut running = jobs;
        // Deliveries end and start until each queue and key runs one.
        while s.in_flight() < 400 {
            s.config.limits.max_in_flight = 400;
            let (jobs, _) = wake(&mut s);
            assert!(!jobs.is_empty());
            running.extend(jobs);
        }
        assert_consistent(&s);
        let (jobs, visited) = wake(&mut s);
        assert!(jobs.is_empty());
        assert_eq!(visited, 0, "nothing changed: nothing looked at");
        // One delivery of a queue ends: its next message starts, and only
        // that queue is looked at.
        let done = running.iter().position(|j| j.info.queue.is_some()).unwrap();
        s.finish(&running[done].info.id, delivered());
        let (jobs, visited) = wake(&mut s);
        assert_eq!(jobs.len(), 1);
        assert!(visited <= 2, "{visited} messages looked at");
        // The same for a key.
        let done = running
            .iter()
            .position(|j| j.info.opts.flow.is_some())
            .unwrap();
        s.finish(&running[done].info.id, delivered());
        let (jobs, visited) = wake(&mut s);
        assert_eq!(jobs.len(), 1);
        assert!(visited <= 2, "{visited} messages looked at");
        assert_consistent(&s);
    }

    #[test]
    fn at_the_global_parallelism_a_wake_looks_at_what_starts_only() {
        let mut s = store(Limits {
            max_in_flight: 10,
            ..Limits::default()
        });
        for i in 0..200 {
            let q = format!("q{i:03}");
            enqueue(&mut s, &q, Options::default()).unwrap();
            publish(&mut s, keyed(&format!("k{i:03}"), Some(1), None)).unwrap();
        }
        let (jobs, _) = wake(&mut s);
        assert_eq!(jobs.len(), 10);
        assert_consistent(&s);
        for job in jobs {
            s.finish(&job.info.id, delivered());
            let (started, visited) = wake(&mut s);
            assert_eq!(started.len(), 1);
            assert!(visited <= 2, "{visited} messages looked at");
            assert_consistent(&s);
        }
    }

    #[test]
    fn at_the_global_parallelism_a_due_message_waits_for_a_delivery_not_a_time() {
        let mut s = store(Limits {
            max_in_flight: 1,
            ..Limits::default()
        });
        let at = now_ms() / 1000 + 1;
        for _ in 0..2 {
            let opts = Options {
                not_before_secs: Some(at),
                ..Options::default()
            };
            publish(&mut s, opts).unwrap();
        }
        let (jobs, wake) = s.take_due(at * 1000);
        assert_eq!(jobs.len(), 1);
        assert_eq!(wake, None, "no wake at a time already come");
    }

    #[test]
    fn a_key_whose_parked_messages_are_cancelled_is_not_looked_at() {
        let mut s = store(Limits::default());
        let mut ids = Vec::new();
        for _ in 0..3 {
            let out = publish(&mut s, keyed("k", Some(1), None)).unwrap();
            ids.push(out.message_ids().remove(0));
        }
        let (jobs, _) = wake(&mut s);
        assert_eq!(jobs.len(), 1);
        s.finish(&jobs[0].info.id, failing(0, 0));
        assert!(s.ready_keys.contains("k"));
        s.cancel(&ids[1]);
        s.cancel(&ids[2]);
        assert!(s.ready_keys.is_empty());
        assert_consistent(&s);
        // Nothing parked, nothing ready: a key that never had any is not
        // made ready either.
        s.flow_updated("k");
        s.flow_key("other", now_ms()).unwrap();
        s.flow_updated("other");
        assert!(s.ready_keys.is_empty());
        assert_consistent(&s);
    }

    /// The counters and indexes agree with a scan of the messages.
    fn assert_consistent(s: &Store) {
        let mut queues: HashMap<String, Counts> = HashMap::new();
        let mut keys: HashMap<String, Counts> = HashMap::new();
        let mut running = 0;
        for slot in s.messages.values() {
            let bump = |c: &mut Counts| {
                if slot.in_flight {
                    c.running += 1;
                } else {
                    c.waiting += 1;
                }
            };
            if let Some(q) = &slot.info.queue {
                bump(queues.entry(q.clone()).or_default());
                assert!(s.queue_members[q].contains(&slot.seq));
            } else if !slot.in_flight && !slot.parked {
                assert!(s.due.contains(&(slot.ready_at, slot.seq)));
            }
            if let Some(f) = &slot.info.opts.flow {
                bump(keys.entry(f.key.clone()).or_default());
            }
            if slot.parked {
                assert!(s.parked[&slot.info.opts.flow.as_ref().unwrap().key].contains(&slot.seq));
            }
            running += usize::from(slot.in_flight);
        }
        assert_eq!(queues, s.queue_counts);
        assert_eq!(keys, s.flow_counts);
        let idle: BTreeSet<String> = s
            .flow
            .values()
            .filter(|f| {
                !keys.contains_key(&f.key) && !f.paused && !f.pinned_parallelism && !f.pinned_rate
            })
            .map(|f| f.key.clone())
            .collect();
        assert_eq!(idle, s.idle_keys);
        // Only keys with parked messages are looked at.
        for key in &s.ready_keys {
            assert!(
                s.parked.contains_key(key),
                "ready key `{key}` has nothing parked"
            );
        }
        // Nothing waits without a way to be looked at again.
        let timed =
            |timers: &BTreeSet<(i64, String)>, name: &str| timers.iter().any(|(_, n)| n == name);
        let at_max = s.in_flight >= s.config.limits.max_in_flight;
        for key in s.parked.keys() {
            let blocked = s.flow.get(key).is_some_and(|f| {
                f.paused
                    || f.parallelism
                        .is_some_and(|p| s.flow_counts(key).running >= p as usize)
            });
            assert!(
                s.ready_keys.contains(key) || timed(&s.key_timers, key) || blocked,
                "parked key `{key}` is never looked at again"
            );
        }
        // Each message at the head of its queue, not in flight, has a way
        // to start: its queue is ready or stopped by something whose end
        // makes it ready, a timer for the queue comes no later than the
        // message is due, or the queue waits for the message's key.
        for (name, members) in &s.queue_members {
            let q = s.queues.get(name);
            let parallelism = q.map_or(usize::MAX, |q| q.parallelism as usize);
            let stopped = s.ready_queues.contains(name)
                || q.is_some_and(|q| q.paused)
                || s.queue_counts(name).running >= parallelism
                || at_max;
            for seq in members.iter().take(parallelism) {
                let m = &s.messages[&s.order[seq].id];
                let key = m.info.opts.flow.as_ref().map(|f| &f.key);
                let ok = m.in_flight
                    || stopped
                    || s.queue_timers
                        .iter()
                        .any(|(t, n)| n == name && (*t <= m.ready_at || key.is_some()))
                    || key.is_some_and(|k| s.key_waiters.get(k).is_some_and(|w| w.contains(name)));
                assert!(ok, "queue `{name}`: {} is never looked at again", m.info.id);
            }
        }
        assert_eq!(running, s.in_flight);
        let indexed = s.due.len()
            + s.parked.values().map(BTreeSet::len).sum::<usize>()
            + s.queue_members.values().map(BTreeSet::len).sum::<usize>();
        let outside_queues_running = s
            .messages
            .values()
            .filter(|m| m.in_flight && m.info.queue.is_none())
            .count();
        assert_eq!(indexed + outside_queues_running, s.messages.len());
    }

    #[test]
    fn counters_and_indexes_follow_every_change() {
        let mut s = store(Limits {
            max_in_flight: 7,
            ..Limits::default()
        });
        let flow = |i: u32| {
            let key = match i % 4 {
                0 => "a",
                1 => "r",
                2 => "b",
                _ => return None,
            };
            Some(FlowSpec {
                key: key.into(),
                parallelism: (key != "r").then_some(2),
                rate: (key == "r").then_some(2),
                ..FlowSpec::default()
            })
        };
        for i in 0..90u32 {
            let opts = Options {
                retries: Some(i % 3),
                flow: flow(i).map(Box::new),
                ..Options::default()
            };
            let queue = match i % 3 {
                0 => Some("q1"),
                1 => Some("q2"),
                _ => None,
            };
            let opts = Arc::new(opts);
            s.publish(&NewMessages {
                destination: "http://127.0.0.1:1/x",
                queue,
                opts,
                body: Arc::default(),
                schedule_id: None,
                caller_ip: "127.0.0.1",
            })
            .unwrap();
        }
        s.queues.get_mut("q2").unwrap().parallelism = 3;
        s.queue_updated("q2");
        assert_consistent(&s);
        // Deliveries end a few at a time, others stay in flight across
        // wakes; a second of simulated time per wake.
        let start = now_ms();
        let mut running: Vec<Job> = Vec::new();
        let mut finished = 0usize;
        for round in 0..400i64 {
            let (jobs, _) = s.take_due(start + round * 1000);
            assert_consistent(&s);
            running.extend(jobs);
            let keep = running.split_off(running.len().div_ceil(2));
            for job in std::mem::replace(&mut running, keep) {
                finished += 1;
                let status = if finished.is_multiple_of(2) { 200 } else { 500 };
                s.finish(
                    &job.info.id,
                    Reply {
                        status,
                        ..Reply::default()
                    },
                );
                assert_consistent(&s);
            }
            let pause = |s: &mut Store, paused: bool| {
                s.flow.get_mut("a").unwrap().paused = paused;
                s.flow_updated("a");
                s.queues.get_mut("q2").unwrap().paused = paused;
                s.queue_updated("q2");
            };
            match round {
                3 => {
                    let id = s.order.values().nth(5).unwrap().id.clone();
                    s.cancel(&id);
                    s.delete_queue("q1");
                }
                5 => pause(&mut s, true),
                9 => pause(&mut s, false),
                _ => {}
            }
            assert_consistent(&s);
            if s.messages.is_empty() && running.is_empty() {
                break;
            }
        }
        assert!(s.messages.is_empty(), "{} left", s.messages.len());
        assert_eq!(s.in_flight(), 0);
        assert!(s.due.is_empty() && s.parked.is_empty() && s.queue_members.is_empty());
    }

    /// The bytes the store holds, counted afresh: each record's fixed
    /// cost, and each shared message, options and reply once.
    fn recount(s: &Store) -> usize {
        let mut seen = std::collections::HashSet::new();
        let mut shared = |ptr: usize, bytes: usize| if seen.insert(ptr) { bytes } else { 0 };
        let mut total = 0;
        let info = |i: &Arc<MessageInfo>, shared: &mut dyn FnMut(usize, usize) -> usize| {
            shared(Arc::as_ptr(i) as usize, info_bytes(i))
                + shared(Arc::as_ptr(&i.opts) as usize, options_bytes(&i.opts))
                + shared(Arc::as_ptr(&i.body) as usize, payload_bytes(&i.body))
        };
        for slot in s.messages.values() {
            total += RECORD_BYTES + info(&slot.info, &mut shared);
        }
        for r in &s.logs {
            total += RECORD_BYTES + opt_len(r.error.as_ref()) + info(&r.info, &mut shared);
            if let Some(reply) = &r.reply {
                total += shared(Arc::as_ptr(reply) as usize, reply_bytes(reply));
            }
        }
        for e in s.dlq.values() {
            total += RECORD_BYTES + e.dlq_id.len() + info(&e.info, &mut shared);
            total += shared(Arc::as_ptr(&e.reply) as usize, reply_bytes(&e.reply));
        }
        total
    }

    #[test]
    fn the_ledger_matches_a_recount_of_what_is_held() {
        let mut s = store(Limits::default());
        let check = |s: &Store, when: &str| assert_eq!(s.bytes(), recount(s), "{when}");
        let mut header = crate::model::Headers::new();
        header.insert("X-Order".into(), vec!["42".into(), "43".into()]);
        let opts = Options {
            header,
            retries: Some(1),
            labels: vec!["a".into()],
            ..Options::default()
        };
        let hello = || Msg {
            opts: opts.clone(),
            body: Bytes::from_static(b"hello"),
        };
        let id = publish(&mut s, hello()).unwrap().message_ids()[0].clone();
        publish(&mut s, hello()).unwrap();
        check(&s, "published");
        let mut reply = failing(3_000, 2_000);
        reply.error = Some("refused".into());
        fail_all(&mut s, &reply);
        check(&s, "first failures");
        let (jobs, _) = s.take_due(i64::MAX / 2);
        for job in jobs {
            s.finish(&job.info.id, reply.clone());
        }
        check(&s, "retried to the DLQ");
        assert_eq!(s.dlq.len(), 2);
        let seq = *s.dlq.keys().next().unwrap();
        s.dlq_retry(seq, None).unwrap();
        check(&s, "retried from the DLQ");
        let dlq_id = s.dlq.values().next().unwrap().dlq_id.clone();
        s.dlq_remove(&dlq_id).unwrap();
        check(&s, "removed from the DLQ");
        assert!(!s.cancel(&id));
        let left = s.messages.keys().next().unwrap().clone();
        assert!(s.cancel(&left));
        check(&s, "cancelled");
        // The replies of the DLQ and the logs count: each 3,000-byte body.
        fail_all(&mut s, &failing(3_000, 10));
        assert!(s.bytes() >= 3_000, "{}", s.bytes());

        // Log records with errors, dropped for newer ones, give back what
        // they took.
        let mut s = store(Limits {
            max_log_entries: 2,
            ..Limits::default()
        });
        for _ in 0..3 {
            publish(&mut s, body_opts(10)).unwrap();
            fail_all(&mut s, &reply);
            check(&s, "logs dropped");
        }
        assert!(s.logs.iter().any(|r| r.error.is_some()));
    }

    #[test]
    fn a_publish_that_just_fits_the_budget_is_accepted() {
        let opts = no_retries();
        let url_bytes = "http://127.0.0.1:1/x".len() + "127.0.0.1".len();
        let need = options_bytes(&opts) + PAYLOAD_BYTES + 1000 + 4 * RECORD_BYTES + 64 + url_bytes;
        let mut s = store(Limits {
            max_store_bytes: need,
            ..Limits::default()
        });
        publish(&mut s, body_opts(1000)).unwrap();
        let mut s = store(Limits {
            max_store_bytes: need - 1,
            ..Limits::default()
        });
        let e = publish(&mut s, body_opts(1000)).expect_err("one byte short");
        assert!(
            e.message.contains(&format!("{need} more needed")),
            "{}",
            e.message
        );

        // To a URL group, in a queue: each endpoint's URL and name, the
        // group's name, the queue's name count too.
        let group = |s: &mut Store| {
            s.groups.insert(
                "grp".into(),
                UrlGroup {
                    name: "grp".into(),
                    created_at: 0,
                    updated_at: 0,
                    endpoints: vec![
                        crate::model::Endpoint {
                            name: Some("e1".into()),
                            url: "http://127.0.0.1:1/a".into(),
                        },
                        crate::model::Endpoint {
                            name: None,
                            url: "http://127.0.0.1:1/bb".into(),
                        },
                    ],
                },
            );
        };
        let opts = Arc::new(opts);
        let req = NewMessages {
            destination: "grp",
            queue: Some("q"),
            opts: Arc::clone(&opts),
            body: Payload::new(bytes(1000)),
            schedule_id: None,
            caller_ip: "127.0.0.1",
        };
        let url_bytes = ("http://127.0.0.1:1/a".len() + 3 + 2)
            + ("http://127.0.0.1:1/bb".len() + 3)
            + 1
            + "127.0.0.1".len();
        // The options and the body once, the rest per message.
        let need =
            options_bytes(&opts) + PAYLOAD_BYTES + 1000 + 2 * (4 * RECORD_BYTES + 64) + url_bytes;
        let mut s = store(Limits {
            max_store_bytes: need,
            ..Limits::default()
        });
        group(&mut s);
        assert_eq!(s.publish(&req).unwrap().message_ids().len(), 2);
        let mut s = store(Limits {
            max_store_bytes: need - 1,
            ..Limits::default()
        });
        group(&mut s);
        // Options and a body of their own: the first store still holds
        // those of `req`, and what is held already costs a publish nothing.
        let req = NewMessages {
            opts: Arc::new(Options::clone(&opts)),
            body: Payload::new(bytes(1000)),
            ..req
        };
        let e = s.publish(&req).expect_err("one byte short");
        assert!(
            e.message.contains(&format!("{need} more needed")),
            "{}",
            e.message
        );
    }

    #[test]
    fn every_string_of_a_message_counts_its_length() {
        let long = "x".repeat(1000);
        let text = || Some(long.clone());
        let headers = || {
            let mut h = crate::model::Headers::new();
            h.insert("X-A".into(), vec![long.clone()]);
            h
        };
        // A header: its name, each value with 24 bytes, 48 bytes a name.
        let one_header = 3 + 1000 + 24 + 48;
        assert_eq!(headers_bytes(&headers()), one_header);
        let mut two = headers();
        two.values_mut("X-A".into()).push("yy".into());
        two.insert("B".into(), vec![String::new()]);
        assert_eq!(headers_bytes(&two), one_header + 2 + 24 + 1 + 24 + 48);

        let callback = || {
            Some(Box::new(CallbackSpec {
                url: long.clone(),
                headers: headers(),
                ..CallbackSpec::default()
            }))
        };
        assert_eq!(
            payload_bytes(&Payload::new(Bytes::from(long.clone()))),
            PAYLOAD_BYTES + 1000
        );
        assert_eq!(payload_bytes(&Payload::default()), PAYLOAD_BYTES);
        let base = options_bytes(&Options::default());
        assert_eq!(base, RECORD_BYTES);
        for (what, o, extra) in [
            (
                "header",
                Options {
                    header: headers(),
                    ..Options::default()
                },
                one_header,
            ),
            (
                "method",
                Options {
                    method: long.clone(),
                    ..Options::default()
                },
                1000,
            ),
            (
                "retry delay",
                Options {
                    retry_delay: text(),
                    ..Options::default()
                },
                1000,
            ),
            (
                "labels",
                Options {
                    labels: vec![long.clone(), "y".into()],
                    ..Options::default()
                },
                1000 + 24 + 1 + 24,
            ),
            (
                "flow key",
                Options {
                    flow: Some(Box::new(FlowSpec {
                        key: long.clone(),
                        ..FlowSpec::default()
                    })),
                    ..Options::default()
                },
                1000 + 32,
            ),
            (
                "deduplication id",
                Options {
                    dedup_id: text(),
                    ..Options::default()
                },
                1000,
            ),
            (
                "callback",
                Options {
                    callback: callback(),
                    ..Options::default()
                },
                1000 + one_header + 64,
            ),
            (
                "failure callback",
                Options {
                    failure_callback: callback(),
                    ..Options::default()
                },
                1000 + one_header + 64,
            ),
            (
                "redacted headers",
                Options {
                    redact: crate::model::Redact {
                        headers: vec![long.clone(), "y".into()],
                        ..crate::model::Redact::default()
                    },
                    ..Options::default()
                },
                1000 + 24 + 1 + 24,
            ),
        ] {
            assert_eq!(options_bytes(&o) - base, extra, "{what}");
        }
        // Everything at once adds up.
        let all = Options {
            header: headers(),
            method: long.clone(),
            retry_delay: text(),
            labels: vec![long.clone()],
            flow: Some(Box::new(FlowSpec {
                key: long.clone(),
                ..FlowSpec::default()
            })),
            dedup_id: text(),
            callback: callback(),
            failure_callback: callback(),
            redact: crate::model::Redact {
                headers: vec![long.clone()],
                ..crate::model::Redact::default()
            },
            ..Options::default()
        };
        assert_eq!(
            options_bytes(&all) - base,
            1000 * 3 + one_header + 1024 + 1032 + 2 * (1000 + one_header + 64) + 1024
        );

        let info = |f: &dyn Fn(&mut MessageInfo)| {
            let mut i = MessageInfo {
                id: String::new(),
                kind: Kind::Message,
                url: String::new(),
                topic: None,
                endpoint: None,
                queue: None,
                schedule_id: None,
                caller_ip: String::new(),
                created_at: 0,
                not_before: None,
                body: Arc::default(),
                opts: Arc::new(Options::default()),
                held: Default::default(),
            };
            f(&mut i);
            info_bytes(&i)
        };
        assert_eq!(info(&|_| {}), RECORD_BYTES);
        type Setter<'a> = (&'static str, &'a dyn Fn(&mut MessageInfo));
        let setters: [Setter<'_>; 7] = [
            ("id", &|i| i.id = long.clone()),
            ("url", &|i| i.url = long.clone()),
            ("topic", &|i| i.topic = text()),
            ("endpoint", &|i| i.endpoint = text()),
            ("queue", &|i| i.queue = text()),
            ("schedule", &|i| i.schedule_id = text()),
            ("caller", &|i| i.caller_ip = long.clone()),
        ];
        for (what, set) in &setters {
            assert_eq!(info(set) - RECORD_BYTES, 1000, "{what}");
        }
        let every = info(&|i| {
            for (_, set) in &setters {
                set(i);
            }
        });
        assert_eq!(every, RECORD_BYTES + 7000);

        let reply = Reply {
            status: 500,
            headers: headers(),
            body: Bytes::from(long.clone()),
            error: text(),
            held: Default::default(),
        };
        assert_eq!(reply_bytes(&reply), RECORD_BYTES + 1000 + one_header + 1000);
        assert_eq!(reply_bytes(&Reply::default()), RECORD_BYTES);
    }

    #[test]
    fn options_and_a_body_held_already_cost_nothing_more_to_publish() {
        let opts = Arc::new(no_retries());
        let body = Payload::new(bytes(60_000));
        let mut s = store(Limits {
            max_store_bytes: 100_000,
            max_log_entries: 0,
            ..Limits::default()
        });
        let again = |s: &mut Store| {
            s.publish(&NewMessages {
                destination: "http://127.0.0.1:1/x",
                queue: None,
                opts: Arc::clone(&opts),
                body: Arc::clone(&body),
                schedule_id: None,
                caller_ip: "127.0.0.1",
            })
        };
        again(&mut s).unwrap();
        // The body is held once: a second message with the same options
        // (as a schedule's ticks have) fits.
        again(&mut s).unwrap();
        assert!(s.bytes() < 70_000, "{}", s.bytes());
        // Another body of that size does not.
        assert!(publish(&mut s, body_opts(60_000)).is_err());
    }

    #[test]
    fn messages_published_alike_share_their_options_and_keep_their_bodies() {
        let mut s = store(Limits::default());
        let alike = |n: u8| Msg {
            opts: Options {
                labels: vec!["a".into()],
                ..no_retries()
            },
            body: Bytes::from(vec![n]),
        };
        let first = publish(&mut s, alike(1)).unwrap().message_ids()[0].clone();
        let one = s.bytes();
        let second = publish(&mut s, alike(2)).unwrap().message_ids()[0].clone();
        let (a, b) = (&s.messages[&first].info, &s.messages[&second].info);
        assert!(Arc::ptr_eq(&a.opts, &b.opts), "equal options are shared");
        assert_eq!((&a.body.bytes[..], &b.body.bytes[..]), (&[1][..], &[2][..]));
        // The second message costs what the first did, less its options.
        assert_eq!(s.bytes() - one, one - options_bytes(&a.opts));
        assert_eq!(s.bytes(), recount(&s));

        // Other options are kept apart, and become the ones shared next.
        let other = || Msg {
            opts: no_retries(),
            body: Bytes::new(),
        };
        let third = publish(&mut s, other()).unwrap().message_ids()[0].clone();
        let fourth = publish(&mut s, other()).unwrap().message_ids()[0].clone();
        let info = |id: &str| Arc::clone(&s.messages[id].info);
        assert!(!Arc::ptr_eq(&info(&first).opts, &info(&third).opts));
        assert!(Arc::ptr_eq(&info(&third).opts, &info(&fourth).opts));
        assert_eq!(s.bytes(), recount(&s));

        // Only a weak reference is kept: options nothing holds are freed.
        let weak = Arc::downgrade(&info(&fourth).opts);
        for id in [&third, &fourth] {
            assert!(s.cancel(id));
        }
        s.logs.clear();
        assert!(weak.upgrade().is_none(), "the options were kept alive");
    }

    #[test]
    fn response_headers_up_to_16_kib_are_kept_whole() {
        let mut s = store(Limits::default());
        publish(&mut s, body_opts(10)).unwrap();
        fail_all(&mut s, &failing(10, 16 * 1024 - "X-Big".len()));
        let entry = s.dlq.values().next().unwrap();
        assert_eq!(entry.reply.headers["X-Big"][0].len(), 16 * 1024 - 5);
        publish(&mut s, body_opts(10)).unwrap();
        fail_all(&mut s, &failing(10, 16 * 1024 - 4));
        let entry = s.dlq.values().nth(1).unwrap();
        assert!(
            entry.reply.headers.is_empty(),
            "{:?}",
            entry.reply.headers.keys().collect::<Vec<_>>()
        );
        // Together: the first that fit are kept.
        let mut reply = failing(10, 10_000);
        reply
            .headers
            .insert("X-Bigger".into(), vec!["h".repeat(10_000)]);
        reply
            .headers
            .insert("X-Small".into(), vec!["h".repeat(1_000)]);
        publish(&mut s, body_opts(10)).unwrap();
        fail_all(&mut s, &reply);
        let entry = s.dlq.values().nth(2).unwrap();
        let kept: Vec<&String> = entry.reply.headers.keys().collect();
        assert_eq!(kept, ["X-Big", "X-Small"]);
    }

    #[test]
    fn held_back_messages_let_go_stay_within_the_global_parallelism() {
        let mut s = store(Limits {
            max_in_flight: 2,
            ..Limits::default()
        });
        let keyed = || Options {
            flow: Some(Box::new(FlowSpec {
                key: "k".into(),
                parallelism: Some(1),
                ..FlowSpec::default()
            })),
            ..Options::default()
        };
        let first = publish(&mut s, keyed()).unwrap().message_ids()[0].clone();
        publish(&mut s, keyed()).unwrap();
        publish(&mut s, keyed()).unwrap();
        publish(&mut s, Options::default()).unwrap();
        // One keyed message and the other one start; two are held back.
        let (jobs, _) = s.take_due(now_ms());
        assert_eq!((jobs.len(), s.in_flight()), (2, 2));
        // The key lets more go, but only one fits beside the one running.
        s.flow.get_mut("k").unwrap().parallelism = Some(5);
        s.finish(&first, delivered());
        let (jobs, _) = s.take_due(now_ms());
        assert_eq!((jobs.len(), s.in_flight()), (1, 2));
        assert_consistent(&s);
    }

    #[test]
    fn due_messages_start_at_their_time_and_within_the_global_parallelism() {
        let mut s = store(Limits {
            max_in_flight: 1,
            ..Limits::default()
        });
        publish(&mut s, Options::default()).unwrap();
        let last = publish(&mut s, Options::default()).unwrap().message_ids()[0].clone();
        let at = s.messages[&last].ready_at;
        let (jobs, wake) = s.take_due(at);
        // One starts; the other is due but waits for room (a finished
        // delivery wakes the dispatcher), not for a time.
        assert_eq!((jobs.len(), wake), (1, None));
        assert_eq!(s.in_flight(), 1);
        assert!(s.visited >= 1, "the messages looked at are counted");

        // A queue's head starts at its time exactly.
        let mut s = store(Limits::default());
        let out = s
            .publish(&NewMessages {
                destination: "http://127.0.0.1:1/x",
                queue: Some("q"),
                opts: Arc::new(Options::default()),
                body: Arc::default(),
                schedule_id: None,
                caller_ip: "127.0.0.1",
            })
            .unwrap();
        let at = s.messages[&out.message_ids()[0]].ready_at;
        let (jobs, wake) = s.take_due(at);
        assert_eq!((jobs.len(), wake), (1, None));
    }

    #[test]
    fn a_full_dlq_drops_its_oldest_for_the_newest() {
        let mut s = store(Limits {
            max_dlq_entries: 2,
            ..Limits::default()
        });
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(publish(&mut s, body_opts(10)).unwrap().message_ids()[0].clone());
            fail_all(&mut s, &failing(10, 10));
        }
        let kept: Vec<&String> = s.dlq.values().map(|e| &e.info.id).collect();
        assert_eq!(kept, [&ids[1], &ids[2]]);
        assert_eq!(s.bytes(), recount(&s));
    }

    #[test]
    fn a_dlq_retry_past_the_budget_puts_the_entry_back_as_it_was() {
        let mut s = store(Limits {
            max_log_entries: 0,
            ..Limits::default()
        });
        publish(&mut s, body_opts(1000)).unwrap();
        fail_all(&mut s, &failing(10, 10));
        let seq = *s.dlq.keys().next().unwrap();
        let before = s.bytes();
        s.config.limits.max_store_bytes = before;
        let e = s.dlq_retry(seq, None).expect_err("past the budget");
        assert_eq!(e.status.as_u16(), 412, "{}", e.message);
        assert_eq!(s.dlq.len(), 1);
        assert_eq!(s.bytes(), before);
        assert_eq!(s.bytes(), recount(&s));
        s.config.limits.max_store_bytes = usize::MAX;
        s.dlq_retry(seq, None).unwrap();
        assert!(s.dlq.is_empty());
        assert_eq!(s.bytes(), recount(&s));
    }

    #[test]
    fn a_bulk_dlq_retry_at_the_budget_retries_every_entry_or_none() {
        for budget_slack in [0, 200, 10_000] {
            let mut s = store(Limits {
                max_log_entries: 0,
                ..Limits::default()
            });
            publish(&mut s, body_opts(1000)).unwrap();
            publish(&mut s, body_opts(1000)).unwrap();
            fail_all(&mut s, &failing(10, 10));
            let seqs: Vec<u64> = s.dlq.keys().copied().collect();
            assert_eq!(seqs.len(), 2);
            s.config.limits.max_store_bytes = s.bytes() + budget_slack;
            // Making room for the first copy may drop the oldest DLQ entry:
            // never one this request retries.
            match s.dlq_retry_all(&seqs, None) {
                Ok(published) => {
                    assert_eq!(published.len(), 2, "slack {budget_slack}");
                    assert!(s.dlq.is_empty());
                    assert_eq!(s.messages.len(), 2);
                }
                Err(e) => {
                    assert_eq!(e.status.as_u16(), 412, "{}", e.message);
                    assert_eq!(s.dlq.keys().copied().collect::<Vec<_>>(), seqs);
                    assert!(s.messages.is_empty());
                }
            }
            assert_eq!(s.bytes(), recount(&s), "slack {budget_slack}");
            assert_consistent(&s);
        }
    }

    #[test]
    fn a_callback_that_just_fits_the_budget_is_queued() {
        let spec = CallbackSpec {
            url: "http://127.0.0.1:1/callback".into(),
            ..CallbackSpec::default()
        };
        let parent = MessageInfo {
            id: "msg_parent".into(),
            kind: Kind::Message,
            url: "http://127.0.0.1:1/x".into(),
            topic: None,
            endpoint: None,
            queue: None,
            schedule_id: None,
            caller_ip: "10.0.0.1".into(),
            created_at: 0,
            not_before: None,
            body: Arc::default(),
            opts: Arc::new(Options::default()),
            held: Default::default(),
        };
        let body = Bytes::from_static(b"{}");
        // The callback's options and body, as they are made.
        let mut header = crate::model::Headers::new();
        header.insert("Content-Type".into(), vec!["application/json".into()]);
        let opts = Options {
            method: "POST".into(),
            header,
            ..Options::default()
        };
        let need = options_bytes(&opts)
            + PAYLOAD_BYTES
            + body.len()
            + 4 * RECORD_BYTES
            + 64
            + spec.url.len()
            + parent.caller_ip.len();
        for (budget, queued) in [(need, 1), (need - 1, 0)] {
            let mut s = store(Limits {
                max_store_bytes: budget,
                ..Limits::default()
            });
            let added = s.add_callback(&parent, &spec, body.clone(), now_ms());
            assert_eq!(added.is_ok(), queued == 1, "budget {budget}: {added:?}");
            assert_eq!(s.messages.len(), queued, "budget {budget}, need {need}");
        }
    }

    #[test]
    fn a_batch_entry_deduplicated_against_a_live_message_takes_no_room() {
        let mut s = store(Limits {
            max_messages: 2,
            ..Limits::default()
        });
        let dedup = Arc::new(Options {
            dedup_id: Some("d".into()),
            ..Options::default()
        });
        let plain = Arc::new(Options::default());
        let req = |opts: &Arc<Options>| NewMessages {
            destination: "http://127.0.0.1:1/x",
            queue: None,
            opts: Arc::clone(opts),
            body: Arc::default(),
            schedule_id: None,
            caller_ip: "127.0.0.1",
        };
        let first = s.publish(&req(&dedup)).unwrap().message_ids()[0].clone();
        // One message waits; the batch adds one more, its first entry
        // being the same message again.
        let out = s
            .publish_all(&[req(&dedup), req(&plain)])
            .unwrap_or_else(|(i, e)| panic!("entry {i}: {}", e.message));
        assert_eq!(out[0].message_ids(), [first]);
        assert_eq!(s.messages.len(), 2);
    }

    #[test]
    fn a_batch_is_checked_as_a_whole_and_withdrawn_when_a_later_entry_fails() {
        let req = |opts: &Arc<Options>| NewMessages {
            destination: "http://127.0.0.1:1/x",
            queue: None,
            opts: Arc::clone(opts),
            body: Arc::default(),
            schedule_id: None,
            caller_ip: "127.0.0.1",
        };
        // A new deduplication ID takes room like any other message: the
        // check refuses the third entry before anything is created.
        let mut s = store(Limits {
            max_messages: 2,
            ..Limits::default()
        });
        let dedup = Arc::new(Options {
            dedup_id: Some("e".into()),
            ..Options::default()
        });
        let plain = Arc::new(Options::default());
        let Err((i, e)) = s.publish_all(&[req(&dedup), req(&plain), req(&plain)]) else {
            panic!("three messages past a limit of two");
        };
        assert_eq!(i, 2);
        assert!(
            e.message.contains("with the entries before this one"),
            "{}",
            e.message
        );
        assert!(s.messages.is_empty());

        // Past the byte budget (which the check does not foresee): the
        // messages made are withdrawn, their deduplication IDs forgotten.
        let mut s = store(Limits {
            max_store_bytes: 100_000,
            ..Limits::default()
        });
        let big_opts = Arc::new(Options {
            dedup_id: Some("big".into()),
            ..no_retries()
        });
        let big = || NewMessages {
            body: Payload::new(bytes(60_000)),
            ..req(&big_opts)
        };
        let other = NewMessages {
            body: Payload::new(bytes(60_000)),
            ..req(&plain)
        };
        let keep = Arc::new(Options {
            dedup_id: Some("keep".into()),
            ..Options::default()
        });
        let kept = s.publish(&req(&keep)).unwrap().message_ids();
        let Err((i, _)) = s.publish_all(&[big(), other]) else {
            panic!("120,000 bytes past a budget of 100,000");
        };
        assert_eq!(i, 1);
        assert_eq!(s.messages.keys().collect::<Vec<_>>(), [&kept[0]]);
        let again = s.publish(&big()).unwrap();
        assert_eq!(again.to_json()["deduplicated"], false);
        // Other deduplication IDs are still remembered.
        let again = s.publish(&req(&keep)).unwrap();
        assert_eq!(again.to_json()["deduplicated"], true);
        assert_eq!(again.message_ids(), kept);
    }

    #[test]
    fn a_bulk_dlq_retry_that_would_recreate_too_many_queues_retries_nothing() {
        let mut s = store(Limits {
            max_queues: 2,
            ..Limits::default()
        });
        let mut dlq_ids = Vec::new();
        for queue in ["a", "c"] {
            s.publish(&NewMessages {
                destination: "http://127.0.0.1:1/x",
                queue: Some(queue),
                opts: Arc::new(no_retries()),
                body: Payload::new(bytes(10)),
                schedule_id: None,
                caller_ip: "127.0.0.1",
            })
            .unwrap();
            fail_all(&mut s, &failing(10, 10));
            s.delete_queue(queue);
            dlq_ids.push(s.dlq.values().last().unwrap().dlq_id.clone());
        }
        s.ensure_queue("b", now_ms()).unwrap();
        let seqs: Vec<u64> = s.dlq.keys().copied().collect();
        // `a` fits beside `b`; `c` would be a third queue.
        let e = s.dlq_retry_all(&seqs, None).expect_err("queue limit");
        assert_eq!(e.status.as_u16(), 412, "{}", e.message);
        assert!(
            e.message.contains(&format!(
                "DLQ message `{}`: its queue `c` would be created again",
                dlq_ids[1]
            )),
            "{}",
            e.message
        );
        assert_eq!(s.dlq.len(), 2);
        assert!(s.messages.is_empty());
        assert!(!s.queues.contains_key("a"));
        assert_eq!(s.bytes(), recount(&s));
    }
}
