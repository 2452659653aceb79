//! The in-memory state of the server and the operations on it. Every
//! collection is bounded by [`Limits`](crate::Limits).

use std::collections::{BTreeMap, HashMap, VecDeque};
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
    BulkAction, CallbackSpec, DlqEntry, FlowKey, FlowSpec, Kind, LogRecord, LogState, MessageInfo,
    Options, Queue, Reply, Schedule, Slot, UrlGroup,
};
use crate::options::{invalid_queue, is_url, valid_name};
use crate::signing::SigningKeys;

/// How long a deduplication ID is remembered.
const DEDUP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// Everything the server holds.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) config: Config,
    pub(crate) keys: SigningKeys,
    pub(crate) messages: HashMap<String, Slot>,
    /// Message ids by creation order (FIFO order of queues).
    order: BTreeMap<u64, String>,
    pub(crate) queues: BTreeMap<String, Queue>,
    pub(crate) groups: BTreeMap<String, UrlGroup>,
    pub(crate) schedules: BTreeMap<String, Schedule>,
    pub(crate) dlq: BTreeMap<u64, DlqEntry>,
    dlq_ids: HashMap<String, u64>,
    pub(crate) logs: VecDeque<LogRecord>,
    pub(crate) bulk_actions: BTreeMap<u64, BulkAction>,
    pub(crate) flow: BTreeMap<String, FlowKey>,
    dedup: HashMap<String, (String, i64)>,
    dedup_order: VecDeque<(String, i64)>,
    next_seq: u64,
}

/// Where new messages go and what they carry.
pub(crate) struct NewMessages<'a> {
    /// A URL or a URL group name.
    pub(crate) destination: &'a str,
    pub(crate) queue: Option<&'a str>,
    pub(crate) opts: Arc<Options>,
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
            flow: BTreeMap::new(),
            dedup: HashMap::new(),
            dedup_order: VecDeque::new(),
            next_seq: 1,
        }
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
                opts: Arc::clone(&req.opts),
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
        self.order.insert(seq, info.id.clone());
        self.log(&info, LogState::Created, None, Some(ready_at), None);
        self.messages.insert(
            info.id.clone(),
            Slot {
                info,
                seq,
                ready_at,
                retried: 0,
                in_flight: false,
                cancel_requested: false,
            },
        );
    }

    fn remove(&mut self, id: &str) -> Option<Slot> {
        let slot = self.messages.remove(id)?;
        self.order.remove(&slot.seq);
        Some(slot)
    }

    // --- Deduplication --------------------------------------------------

    fn dedup_key(&self, req: &NewMessages<'_>, url: &str) -> Option<String> {
        let id = match (&req.opts.dedup_id, req.opts.content_dedup) {
            (Some(id), _) => id.clone(),
            (None, true) => {
                let mut h = Sha256::new();
                h.update(&req.opts.body);
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
        let exp = now + DEDUP_WINDOW_MS;
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
        Ok(())
    }

    /// The flow control key `key`, created when new. Keys are bounded by
    /// the message limit: when full, an unused, unconfigured key goes.
    pub(crate) fn flow_key(&mut self, key: &str, now: i64) -> ApiResult<&mut FlowKey> {
        if !self.flow.contains_key(key) {
            if self.flow.len() >= self.config.limits.max_messages.max(1) {
                let used: std::collections::HashSet<&str> = self
                    .messages
                    .values()
                    .filter_map(|s| s.info.opts.flow.as_ref().map(|f| f.key.as_str()))
                    .collect();
                let idle = self
                    .flow
                    .values()
                    .find(|f| {
                        !used.contains(f.key.as_str())
                            && !f.paused
                            && !f.pinned_parallelism
                            && !f.pinned_rate
                    })
                    .map(|f| f.key.clone())
                    .ok_or_else(|| ApiError::limit("flow control key limit reached"))?;
                self.flow.remove(&idle);
            }
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
            self.logs.pop_front();
        }
        let seq = self.seq();
        self.logs.push_back(LogRecord {
            seq,
            time: now_ms(),
            state,
            info: Arc::clone(info),
            error,
            next_delivery_time,
            reply,
        });
    }

    // --- Dispatching ----------------------------------------------------

    /// Marks every message that may be delivered now as in flight and
    /// returns their jobs, with the earliest time something else becomes
    /// due. Respects queue order, parallelism and pauses, flow control
    /// limits and the global parallelism.
    pub(crate) fn take_due(&mut self, now: i64) -> (Vec<Job>, Option<i64>) {
        let mut jobs = Vec::new();
        let mut wake: Option<i64> = None;
        let mut in_flight = self.messages.values().filter(|s| s.in_flight).count();
        let mut flow_in_flight: HashMap<String, u32> = HashMap::new();
        for s in self.messages.values().filter(|s| s.in_flight) {
            if let Some(f) = &s.info.opts.flow {
                *flow_in_flight.entry(f.key.clone()).or_default() += 1;
            }
        }
        let mut queue_seen: HashMap<String, u32> = HashMap::new();
        let ids: Vec<String> = self.order.values().cloned().collect();
        for id in ids {
            let Some(slot) = self.messages.get(&id) else {
                continue;
            };
            if let Some(q) = &slot.info.queue {
                let seen = queue_seen.entry(q.clone()).or_default();
                *seen += 1;
                match self.queues.get(q) {
                    Some(queue) if queue.paused || *seen > queue.parallelism => continue,
                    _ => {}
                }
            }
            if slot.in_flight {
                continue;
            }
            if slot.ready_at > now {
                wake = Some(wake.map_or(slot.ready_at, |w| w.min(slot.ready_at)));
                continue;
            }
            if in_flight >= self.config.limits.max_in_flight {
                continue;
            }
            if let Some(spec) = &slot.info.opts.flow
                && let Some(fk) = self.flow.get_mut(&spec.key)
            {
                if fk.paused {
                    continue;
                }
                let running = flow_in_flight.get(&spec.key).copied().unwrap_or(0);
                if fk.parallelism.is_some_and(|p| running >= p) {
                    continue;
                }
                if let Some(rate) = fk.rate {
                    let period_ms = i64::try_from(fk.period_secs.max(1) * 1000).unwrap_or(i64::MAX);
                    if now - fk.period_start >= period_ms {
                        fk.period_start = now;
                        fk.rate_count = 0;
                    }
                    if fk.rate_count >= rate {
                        let next = fk.period_start + period_ms;
                        wake = Some(wake.map_or(next, |w| w.min(next)));
                        continue;
                    }
                    fk.rate_count += 1;
                }
                *flow_in_flight.entry(spec.key.clone()).or_default() += 1;
            }
            let Some(slot) = self.messages.get_mut(&id) else {
                continue;
            };
            slot.in_flight = true;
            in_flight += 1;
            let job = Job {
                info: Arc::clone(&slot.info),
                retried: slot.retried,
                signing_key: self.keys.current.clone(),
            };
            self.log(&job.info, LogState::Active, None, None, None);
            jobs.push(job);
        }
        (jobs, wake)
    }

    /// Records the outcome of a delivery attempt: done, retried later, or
    /// dead-lettered; callbacks become messages of their own.
    pub(crate) fn finish(&mut self, id: &str, reply: Reply) {
        let now = now_ms();
        let Some(slot) = self.messages.get_mut(id) else {
            return;
        };
        slot.in_flight = false;
        let info = Arc::clone(&slot.info);
        let retried = slot.retried;
        let cancel_requested = slot.cancel_requested;
        let reply = Arc::new(reply);
        let max_retries = info.opts.max_retries();
        if info.kind == Kind::Message
            && let Some(cb) = info.opts.callback.clone()
        {
            let body = callback_body(&info, &reply, retried, max_retries, None);
            self.add_callback(&info, &cb, body, now);
        }
        if reply.is_success() {
            self.log(&info, LogState::Delivered, None, None, None);
            self.remove(id);
            self.note_schedule_state(&info, LogState::Delivered);
            return;
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
            return;
        }
        if retried < max_retries {
            let next = now + self.config.retry_delay_ms(retried);
            if let Some(slot) = self.messages.get_mut(id) {
                slot.retried += 1;
                slot.ready_at = next;
            }
            self.log(&info, LogState::Retry, Some(error), Some(next), None);
            return;
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
            let body = callback_body(&info, &reply, retried, max_retries, Some(&dlq_id));
            self.add_callback(&info, &cb, body, now);
        }
    }

    fn note_schedule_state(&mut self, info: &MessageInfo, state: LogState) {
        if let Some(sid) = &info.schedule_id
            && let Some(s) = self.schedules.get_mut(sid)
            && let Some(entry) = s.last_states.get_mut(&info.id)
        {
            state.as_str().clone_into(entry);
        }
    }

    /// Queues a callback request as a message of its own (skipped when the
    /// message limit is reached).
    fn add_callback(&mut self, parent: &MessageInfo, spec: &CallbackSpec, body: Bytes, now: i64) {
        if self.messages.len() >= self.config.limits.max_messages {
            return;
        }
        let mut header = spec.headers.clone();
        header.insert("Content-Type".into(), vec!["application/json".into()]);
        let opts = Options {
            method: spec.method.clone().unwrap_or_else(|| "POST".into()),
            header,
            body,
            retries: Some(spec.retries.unwrap_or_else(|| parent.opts.max_retries())),
            timeout_ms: spec.timeout_ms,
            labels: parent.opts.labels.clone(),
            ..Options::default()
        };
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
            opts: Arc::new(opts),
        });
        self.insert(info, now);
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
        }
        true
    }

    /// Cancels up to `limit` messages matching `filter`, oldest first.
    pub(crate) fn cancel_where(&mut self, filter: &Filter, limit: usize) -> u64 {
        let ids: Vec<String> = self
            .order
            .values()
            .filter_map(|id| self.messages.get(id))
            .filter(|s| !s.cancel_requested && filter.matches(&s.info, s.info.created_at, None))
            .take(limit)
            .map(|s| s.info.id.clone())
            .collect();
        ids.iter().filter(|id| self.cancel(id)).count() as u64
    }

    /// Remembers a filter-based cancel (the oldest goes when full).
    pub(crate) fn record_bulk_action(
        &mut self,
        filter: BTreeMap<String, Vec<String>>,
        total: u64,
        created_at: i64,
    ) -> String {
        while self.bulk_actions.len() >= self.config.limits.max_bulk_actions.max(1) {
            self.bulk_actions.pop_first();
        }
        let seq = self.seq();
        let id = new_id("act_");
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

    // --- Dead letter queue ----------------------------------------------

    fn dead_letter(&mut self, info: &Arc<MessageInfo>, reply: Arc<Reply>) -> String {
        while self.dlq.len() >= self.config.limits.max_dlq_entries {
            match self.dlq.pop_first() {
                Some((_, old)) => {
                    self.dlq_ids.remove(&old.dlq_id);
                }
                None => return String::new(),
            }
        }
        let seq = self.seq();
        let dlq_id = new_id("dlq_");
        self.dlq_ids.insert(dlq_id.clone(), seq);
        self.dlq.insert(
            seq,
            DlqEntry {
                dlq_id: dlq_id.clone(),
                info: Arc::clone(info),
                reply,
            },
        );
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
            .remove(dlq_id)
            .ok_or_else(|| ApiError::not_found(format!("DLQ message `{dlq_id}` not found")))?;
        self.dlq
            .remove(&seq)
            .ok_or_else(|| ApiError::not_found(format!("DLQ message `{dlq_id}` not found")))
    }

    /// DLQ sequence numbers selected by ids or by a filter, after `cursor`,
    /// at most `count`; with the cursor of the next page, if there is one.
    pub(crate) fn dlq_select(
        &self,
        ids: &[String],
        filter: &Filter,
        cursor: Option<u64>,
        count: usize,
    ) -> (Vec<u64>, Option<u64>) {
        let start = cursor.map_or(0, |c| c.saturating_add(1));
        let mut matching = self.dlq.range(start..).filter(|(_, e)| {
            if ids.is_empty() {
                filter.matches(&e.info, e.info.created_at, Some(e.reply.status))
            } else {
                ids.contains(&e.dlq_id)
            }
        });
        let page: Vec<u64> = matching.by_ref().take(count).map(|(s, _)| *s).collect();
        let next = match (page.last(), matching.next()) {
            (Some(last), Some(_)) => Some(*last),
            _ => None,
        };
        (page, next)
    }

    /// Re-publishes a fresh copy of a DLQ entry and removes the original.
    /// `retries` overrides the retry budget.
    pub(crate) fn dlq_retry(&mut self, seq: u64, retries: Option<u32>) -> ApiResult<Published> {
        let entry = self
            .dlq
            .get(&seq)
            .cloned()
            .ok_or_else(|| ApiError::not_found("DLQ message not found"))?;
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
            opts: Arc::new(opts),
        });
        let published = Published {
            message_id: info.id.clone(),
            url: info.url.clone(),
            deduplicated: false,
        };
        self.insert(info, now);
        self.dlq.remove(&seq);
        self.dlq_ids.remove(&entry.dlq_id);
        Ok(published)
    }

    // --- Queues ---------------------------------------------------------

    /// Messages of queue `name` waiting for delivery.
    pub(crate) fn queue_lag(&self, name: &str) -> usize {
        self.messages
            .values()
            .filter(|s| !s.in_flight && s.info.queue.as_deref() == Some(name))
            .count()
    }

    /// Removes a queue and cancels its waiting messages.
    pub(crate) fn delete_queue(&mut self, name: &str) {
        self.queues.remove(name);
        let ids: Vec<String> = self
            .messages
            .values()
            .filter(|s| s.info.queue.as_deref() == Some(name))
            .map(|s| s.info.id.clone())
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
        let mut done: Vec<Outcome> = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            match self.publish(req) {
                Ok(outcome) => done.push(outcome),
                Err(e) => {
                    let created: Vec<String> = done.iter().flat_map(created_ids).collect();
                    self.withdraw(&created);
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
        let mut new_queues: Vec<&str> = Vec::new();
        let mut dedup_keys: std::collections::HashSet<String> = std::collections::HashSet::new();
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
                new_queues.push(q);
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

    /// Takes back messages just created by a request that failed as a
    /// whole: they are cancelled (never delivered) and their deduplication
    /// IDs forgotten (the request can be sent again).
    fn withdraw(&mut self, ids: &[String]) {
        for id in ids {
            self.cancel(id);
        }
        self.dedup.retain(|_, (id, _)| !ids.contains(id));
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
        let mut new_queues: Vec<&str> = Vec::new();
        for seq in seqs {
            let entry = self
                .dlq
                .get(seq)
                .ok_or_else(|| ApiError::not_found("DLQ message not found"))?;
            if let Some(q) = entry.info.queue.as_deref()
                && !self.queues.contains_key(q)
                && !new_queues.contains(&q)
            {
                if self.queues.len() + new_queues.len() >= limits.max_queues {
                    return Err(ApiError::limit(format!(
                        "DLQ message `{}`: its queue `{q}` would be created again and the queue limit is reached ({}); nothing was retried",
                        entry.dlq_id, limits.max_queues
                    )));
                }
                new_queues.push(q);
            }
        }
        let mut done: Vec<(u64, DlqEntry, Published)> = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let Some(entry) = self.dlq.get(&seq).cloned() else {
                continue;
            };
            match self.dlq_retry(seq, retries) {
                Ok(published) => done.push((seq, entry, published)),
                Err(e) => {
                    let created: Vec<String> =
                        done.iter().map(|(_, _, p)| p.message_id.clone()).collect();
                    self.withdraw(&created);
                    for (seq, old, _) in done {
                        self.dlq_ids.insert(old.dlq_id.clone(), seq);
                        self.dlq.insert(seq, old);
                    }
                    return Err(ApiError::new(
                        e.status,
                        format!(
                            "DLQ message `{}`: {}; nothing was retried",
                            entry.dlq_id, e.message
                        ),
                    ));
                }
            }
        }
        Ok(done.into_iter().map(|(_, _, p)| p).collect())
    }
}

/// The ids of the messages a publish created (not the deduplicated ones).
fn created_ids(outcome: &Outcome) -> Vec<String> {
    let all = match outcome {
        Outcome::Single(p) => std::slice::from_ref(p),
        Outcome::Group(all) => all.as_slice(),
    };
    all.iter()
        .filter(|p| !p.deduplicated)
        .map(|p| p.message_id.clone())
        .collect()
}

/// The JSON body of a callback (after each attempt) or failure callback
/// (after the last one): the destination's answer and the source message.
fn callback_body(
    info: &MessageInfo,
    reply: &Reply,
    retried: u32,
    max_retries: u32,
    dlq_id: Option<&str>,
) -> Bytes {
    let mut body = json!({
        "status": reply.status,
        "header": reply.headers,
        "body": STANDARD.encode(&reply.body),
        "retried": retried,
        "maxRetries": max_retries,
        "sourceMessageId": info.id,
        "url": info.url,
        "method": info.opts.method,
        "sourceHeader": info.opts.header,
        "sourceBody": STANDARD.encode(&info.opts.body),
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
