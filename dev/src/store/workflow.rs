//! Workflow runs and the steps that wait for events, over the messages
//! the store delivers.
//!
//! A run is created by a trigger (`POST /v2/trigger/...`, `/v2/batch/trigger`)
//! or by a publish that carries `Upstash-Workflow-Init: true` and an
//! unknown `Upstash-Workflow-RunId` (how workflow-js starts runs). Every
//! later message with that run id header is a step of the run. What ends a
//! run:
//! - `RUN_SUCCESS`: a delivery of one of its messages succeeds and the run
//!   has no other message waiting for delivery and no step waiting for an
//!   event (a workflow endpoint publishes its next step before it answers,
//!   so the run goes on); or the serving side deletes it with
//!   `cancel=false` (what workflow-js does once a run returns);
//! - `RUN_FAILED`: one of its messages fails for good (into the DLQ); its
//!   other messages are cancelled and its waiters dropped;
//! - `RUN_CANCELED`: cancelled through the API; likewise.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{Map, Value, json};

use super::{Fate, RECORD_BYTES, Settled, Store, headers_bytes, opt_len};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::model::{DlqEntry, Kind, MessageInfo, Options, Payload, Reply};

/// The run id header, as this server stores header names.
pub(crate) const RUN_ID_HEADER: &str = "Upstash-Workflow-Runid";
/// `true` on the first call of a run.
pub(crate) const INIT_HEADER: &str = "Upstash-Workflow-Init";
/// The URL the workflow is served at.
pub(crate) const URL_HEADER: &str = "Upstash-Workflow-Url";
/// When the run was created (Unix milliseconds), as workflow-js reads it.
pub(crate) const CREATED_AT_HEADER: &str = "Upstash-Workflow-Createdat";
/// Longest run or event id, in bytes.
pub(crate) const MAX_ID_LEN: usize = 256;
/// Steps kept per run (the oldest go first).
pub(crate) const MAX_STEPS: usize = 100;

/// Whether `id` may be a run or event id: 1 to [`MAX_ID_LEN`] bytes, no
/// control character, no space, no `/`.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '/')
}

/// `id` if it may be a run or event id (see [`valid_id`]); 400 naming the
/// bound otherwise.
pub(crate) fn check_id<'a>(what: &str, id: &'a str) -> ApiResult<&'a str> {
    if valid_id(id) {
        return Ok(id);
    }
    let shown: String = id.chars().take(64).filter(|c| !c.is_control()).collect();
    Err(ApiError::bad_request(format!(
        "invalid {what} `{shown}`: 1 to {MAX_ID_LEN} bytes without spaces, `/` or control characters are accepted ({} bytes given)",
        id.len()
    )))
}

/// State of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    Started,
    Success,
    Failed,
    Canceled,
}

impl RunState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Started => "RUN_STARTED",
            Self::Success => "RUN_SUCCESS",
            Self::Failed => "RUN_FAILED",
            Self::Canceled => "RUN_CANCELED",
        }
    }
}

/// State of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepState {
    Progress,
    Success,
    Retry,
    Failed,
    Canceled,
}

impl StepState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Progress => "STEP_PROGRESS",
            Self::Success => "STEP_SUCCESS",
            Self::Retry => "STEP_RETRY",
            Self::Failed => "STEP_FAILED",
            Self::Canceled => "STEP_CANCELED",
        }
    }

    /// Still to come: waiting for delivery, retried, or waiting for an
    /// event.
    pub(crate) fn is_pending(self) -> bool {
        matches!(self, Self::Progress | Self::Retry)
    }
}

/// Every run and step state, as the `state` filter takes them.
pub(crate) const STATES: &[&str] = &[
    "RUN_STARTED",
    "RUN_SUCCESS",
    "RUN_FAILED",
    "RUN_CANCELED",
    "STEP_PROGRESS",
    "STEP_SUCCESS",
    "STEP_RETRY",
    "STEP_FAILED",
    "STEP_CANCELED",
];

/// One step of a run: a message with its run id header, or a wait.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    /// The message that carries it (empty for a wait).
    pub(crate) message_id: String,
    pub(crate) created_at: i64,
    pub(crate) state: StepState,
    /// `stepId`, `stepName`, `stepType` of the step, when its body (a
    /// workflow SDK's step JSON) or its role (the first call) says.
    pub(crate) step_id: Option<i64>,
    pub(crate) name: Option<String>,
    pub(crate) step_type: Option<String>,
    pub(crate) retries: u32,
    pub(crate) next_delivery_time: Option<i64>,
    pub(crate) wait_event_id: Option<String>,
    pub(crate) wait_timeout: Option<bool>,
}

impl Step {
    fn bytes(&self) -> usize {
        RECORD_BYTES / 2
            + self.message_id.len()
            + opt_len(self.name.as_ref())
            + opt_len(self.step_type.as_ref())
            + opt_len(self.wait_event_id.as_ref())
    }
}

/// State of a failure callback call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallbackState {
    InProgress,
    Success,
    Fail,
    Canceled,
}

impl CallbackState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "CALLBACK_INPROGRESS",
            Self::Success => "CALLBACK_SUCCESS",
            Self::Fail => "CALLBACK_FAIL",
            Self::Canceled => "CALLBACK_CANCELED",
        }
    }
}

/// The failure callback of a failed run.
#[derive(Clone, Debug)]
pub(crate) struct FailureCall {
    /// The message calling it (the latest one).
    pub(crate) message_id: String,
    pub(crate) url: String,
    pub(crate) state: CallbackState,
    /// Its own DLQ entry, once calling it failed.
    pub(crate) dlq_id: Option<String>,
    /// What it answered last.
    pub(crate) reply: Option<Arc<Reply>>,
}

/// A workflow run.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) created_at: i64,
    pub(crate) completed_at: Option<i64>,
    pub(crate) state: RunState,
    pub(crate) caller_ip: String,
    /// The first call (its body and options), for a restart.
    pub(crate) init: Arc<MessageInfo>,
    /// Its messages waiting for or in delivery.
    pub(crate) pending: BTreeSet<String>,
    /// Its steps waiting for an event (waiter sequence numbers).
    pub(crate) waiters: BTreeSet<u64>,
    pub(crate) steps: VecDeque<Step>,
    /// What the run returned, once it succeeded.
    pub(crate) response: Option<String>,
    pub(crate) dlq_id: Option<String>,
    pub(crate) failure: Option<FailureCall>,
    /// Events notified to this run before it waited for them.
    pub(crate) notified: BTreeMap<String, Bytes>,
    /// What the run's own fields take in the store's byte budget.
    bytes: usize,
}

impl Run {
    pub(crate) fn labels(&self) -> &[String] {
        &self.init.opts.labels
    }

    pub(crate) fn flow_key(&self) -> Option<&str> {
        self.init.opts.flow.as_ref().map(|f| f.key.as_str())
    }

    pub(crate) fn is_active(&self) -> bool {
        self.state == RunState::Started
    }

    fn own_bytes(&self) -> usize {
        RECORD_BYTES
            + self.id.len()
            + self.url.len()
            + self.caller_ip.len()
            // Constant time: a run may have thousands of messages queued.
            + self.pending.len() * 64
            + self.waiters.len() * 16
            + self.steps.iter().map(Step::bytes).sum::<usize>()
            + opt_len(self.response.as_ref())
            + opt_len(self.dlq_id.as_ref())
            + self
                .failure
                .as_ref()
                .map_or(0, |f| f.message_id.len() + f.url.len() + 64)
            + self
                .notified
                .iter()
                .map(|(k, v)| k.len() + v.len() + 32)
                .sum::<usize>()
    }
}

/// A step waiting for an event.
#[derive(Clone, Debug)]
pub(crate) struct Waiter {
    pub(crate) event_id: String,
    pub(crate) run_seq: u64,
    pub(crate) run_id: String,
    pub(crate) url: String,
    /// Options of the delivery that carries the event (its headers).
    pub(crate) opts: Arc<Options>,
    /// When the wait gives up (Unix milliseconds).
    pub(crate) deadline: i64,
    pub(crate) timeout_url: String,
    /// Options of the call made when the wait gives up.
    pub(crate) timeout_opts: Arc<Options>,
    /// Body of the call made when the wait gives up (when empty, the step
    /// with `waitTimeout: true`).
    pub(crate) timeout_body: Bytes,
    /// The step, as the wait request described it.
    pub(crate) step: Map<String, Value>,
    pub(crate) caller_ip: String,
    bytes: usize,
}

/// A DLQ entry to rerun, checked: what its new run is made from.
struct RerunPlan {
    seq: u64,
    entry: DlqEntry,
    /// Where the new run's first message goes.
    url: String,
    workflow_url: String,
    /// The call sent again: the run's first (restart) or the failed one.
    template: Arc<MessageInfo>,
}

/// What `POST /v2/wait/{eventId}` asks for, once read.
#[derive(Debug)]
pub(crate) struct WaitRequest {
    pub(crate) event_id: String,
    pub(crate) run_id: String,
    pub(crate) url: String,
    pub(crate) timeout_ms: u64,
    pub(crate) timeout_url: String,
    pub(crate) opts: Options,
    pub(crate) timeout_opts: Options,
    pub(crate) timeout_body: Bytes,
    pub(crate) step: Map<String, Value>,
    pub(crate) caller_ip: String,
}

/// What became of a wait request.
#[derive(Debug)]
pub(crate) enum Waited {
    /// Now waiting until this time (Unix milliseconds).
    Waiting { deadline: i64 },
    /// The event was notified to the run before: delivered at once.
    Delivered { message_id: String },
}

/// What notifying one waiter did.
#[derive(Debug, Clone)]
pub(crate) struct Notified {
    pub(crate) waiter: Waiter,
    pub(crate) message_id: String,
    pub(crate) run_created_at: i64,
}

/// Runs and waiters.
#[derive(Debug, Default)]
pub(crate) struct Workflows {
    pub(crate) runs: BTreeMap<u64, Run>,
    run_ids: HashMap<String, u64>,
    /// Runs that ended, oldest first: what goes when the run limit is
    /// reached.
    ended: BTreeSet<u64>,
    /// Runs still going, oldest first: what a bulk cancel looks at.
    pub(crate) active: BTreeSet<u64>,
    pub(crate) waiters: BTreeMap<u64, Waiter>,
    by_event: HashMap<String, BTreeSet<u64>>,
    /// `(deadline, waiter)`.
    deadlines: BTreeSet<(i64, u64)>,
    /// Failure callback messages to the run they call back for.
    failure_calls: HashMap<String, u64>,
}

/// The run id a message carries, if any.
pub(crate) fn run_id_of(opts: &Options) -> Option<&str> {
    header(opts, RUN_ID_HEADER)
}

fn header<'a>(opts: &'a Options, name: &str) -> Option<&'a str> {
    opts.header
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// Sets header `name` of `opts` to `value`, whatever case it had.
pub(crate) fn set_header(opts: &mut Options, name: &str, value: String) {
    opts.header.retain(|k, _| !k.eq_ignore_ascii_case(name));
    opts.header.insert(name.to_owned(), vec![value]);
}

fn is_init(opts: &Options) -> bool {
    header(opts, INIT_HEADER).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `stepId`, `stepName` and `stepType` of a step body (a workflow SDK's
/// step JSON), if it is one.
fn step_fields(body: &[u8]) -> (Option<i64>, Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        step_id: Option<i64>,
        step_name: Option<String>,
        step_type: Option<String>,
    }
    if body.first() != Some(&b'{') {
        return (None, None, None);
    }
    match serde_json::from_slice::<Fields>(body) {
        Ok(f) => (
            f.step_id,
            f.step_name.map(|s| s.chars().take(MAX_ID_LEN).collect()),
            f.step_type.map(|s| s.chars().take(64).collect()),
        ),
        Err(_) => (None, None, None),
    }
}

impl Store {
    // --- Runs -------------------------------------------------------------

    /// The run `id`.
    pub(crate) fn run(&self, id: &str) -> Option<&Run> {
        self.wf.run_ids.get(id).and_then(|s| self.wf.runs.get(s))
    }

    fn run_seq_of(&self, info: &MessageInfo) -> Option<u64> {
        if info.kind != Kind::Message {
            return None;
        }
        let id = run_id_of(&info.opts)?;
        self.wf.run_ids.get(id).copied()
    }

    /// Makes room for `n` new runs: the oldest ended runs go; 412 when
    /// runs still going fill the limit.
    pub(crate) fn wf_room(&mut self, n: usize) -> ApiResult<()> {
        let max = self.config.limits.max_workflow_runs;
        while self.wf.runs.len().saturating_add(n) > max {
            let Some(oldest) = self.wf.ended.pop_first() else {
                return Err(ApiError::limit(format!(
                    "workflow run limit reached: {} runs are remembered, {} of them still going (limit {max}); cancel runs or wait for them to end",
                    self.wf.runs.len(),
                    self.wf.active.len()
                )));
            };
            self.wf_drop_run(oldest);
        }
        Ok(())
    }

    fn wf_drop_run(&mut self, seq: u64) {
        let Some(run) = self.wf.runs.remove(&seq) else {
            return;
        };
        self.wf.run_ids.remove(&run.id);
        self.wf.ended.remove(&seq);
        self.wf.active.remove(&seq);
        if let Some(f) = &run.failure {
            self.wf.failure_calls.remove(&f.message_id);
        }
        self.ledger.release_info(&run.init);
        self.ledger.sub(run.bytes);
    }

    /// Forgets the run that message `message_id` (with options `opts`)
    /// started, if it did: the message was taken back with the request
    /// that made it, so the run never started.
    pub(super) fn wf_forget_start(&mut self, opts: &Options, message_id: &str) {
        if let Some(seq) = run_id_of(opts).and_then(|id| self.wf.run_ids.get(id).copied())
            && self
                .wf
                .runs
                .get(&seq)
                .is_some_and(|r| r.init.id == message_id)
        {
            self.wf_drop_run(seq);
        }
    }

    /// Whether publishing `opts` would start a run (the first call of a run
    /// not known yet).
    pub(crate) fn wf_starts_run(&self, opts: &Options) -> bool {
        is_init(opts)
            && run_id_of(opts).is_some_and(|id| valid_id(id) && !self.wf.run_ids.contains_key(id))
    }

    /// Records a new run, started by the first call `init` (room was made
    /// by [`wf_room`](Self::wf_room)).
    fn wf_create_run(&mut self, id: &str, url: &str, init: &Arc<MessageInfo>) -> u64 {
        let seq = self.seq();
        let created_at = header(&init.opts, CREATED_AT_HEADER)
            .and_then(|v| v.parse().ok())
            .unwrap_or(init.created_at);
        let mut run = Run {
            id: id.to_owned(),
            url: url.to_owned(),
            created_at,
            completed_at: None,
            state: RunState::Started,
            caller_ip: init.caller_ip.clone(),
            init: Arc::clone(init),
            pending: BTreeSet::new(),
            waiters: BTreeSet::new(),
            steps: VecDeque::new(),
            response: None,
            dlq_id: None,
            failure: None,
            notified: BTreeMap::new(),
            bytes: 0,
        };
        run.bytes = run.own_bytes();
        self.ledger.hold_info(init);
        self.ledger.add(run.bytes);
        self.wf.run_ids.insert(id.to_owned(), seq);
        self.wf.active.insert(seq);
        self.wf.runs.insert(seq, run);
        tracing::debug!(target: "qstash_dev::workflows", run = id, url, "workflow run started");
        seq
    }

    /// Changes run `seq` and counts its bytes again.
    fn wf_update<T>(&mut self, seq: u64, change: impl FnOnce(&mut Run) -> T) -> Option<T> {
        let run = self.wf.runs.get_mut(&seq)?;
        let out = change(run);
        while run.steps.len() > MAX_STEPS {
            run.steps.pop_front();
        }
        let before = run.bytes;
        run.bytes = run.own_bytes();
        let after = run.bytes;
        self.ledger.sub(before);
        self.ledger.add(after);
        Some(out)
    }

    /// Ends run `seq` in `state` (if it is still going).
    fn wf_end(&mut self, seq: u64, state: RunState) -> bool {
        let now = now_ms();
        let ended = self
            .wf_update(seq, |run| {
                if !run.is_active() {
                    return false;
                }
                run.state = state;
                run.completed_at = Some(now);
                true
            })
            .unwrap_or(false);
        if ended {
            self.wf.active.remove(&seq);
            self.wf.ended.insert(seq);
            if let Some(run) = self.wf.runs.get(&seq) {
                tracing::debug!(target: "qstash_dev::workflows", run = %run.id, state = state.as_str(), "workflow run ended");
            }
        }
        ended
    }

    /// A message was queued: a step of its run, or the first call of a new
    /// one.
    pub(super) fn wf_message_added(&mut self, info: &Arc<MessageInfo>) {
        if info.kind != Kind::Message {
            return;
        }
        let Some(id) = run_id_of(&info.opts) else {
            return;
        };
        let init = is_init(&info.opts);
        let seq = match self.wf.run_ids.get(id) {
            Some(seq) => *seq,
            // A run id past the bounds of one starts no run: the message is
            // delivered as any other.
            None if init && valid_id(id) => {
                if self.wf_room(1).is_err() {
                    tracing::warn!(target: "qstash_dev::workflows", run = id, "workflow run not recorded: the run limit is reached");
                    return;
                }
                let url = header(&info.opts, URL_HEADER)
                    .unwrap_or(&info.url)
                    .to_owned();
                let id = id.to_owned();
                self.wf_create_run(&id, &url, info)
            }
            None => return,
        };
        let (step_id, name, step_type) = if init {
            (Some(0), Some("init".to_owned()), Some("Initial".to_owned()))
        } else {
            step_fields(&info.body.bytes)
        };
        let step = Step {
            message_id: info.id.clone(),
            created_at: info.created_at,
            state: StepState::Progress,
            step_id,
            name,
            step_type,
            retries: info.opts.max_retries(),
            next_delivery_time: info.not_before,
            wait_event_id: None,
            wait_timeout: None,
        };
        self.wf_update(seq, |run| {
            if run.is_active() {
                run.pending.insert(info.id.clone());
                run.steps.push_back(step);
            }
        });
    }

    /// A message left the store (delivered, dead, cancelled).
    pub(super) fn wf_message_removed(&mut self, info: &MessageInfo) {
        if let Some(seq) = self.run_seq_of(info) {
            self.wf_update(seq, |run| run.pending.remove(&info.id));
        }
    }

    /// Sets the state of the step carried by message `message_id` of run
    /// `seq`.
    fn wf_step(&mut self, seq: u64, message_id: &str, state: StepState, next: Option<i64>) {
        self.wf_update(seq, |run| {
            if let Some(step) = run
                .steps
                .iter_mut()
                .rev()
                .find(|s| s.message_id == message_id)
            {
                step.state = state;
                step.next_delivery_time = next;
            }
        });
    }

    /// A message was cancelled.
    pub(super) fn wf_message_cancelled(&mut self, info: &MessageInfo) {
        if let Some(seq) = self.run_seq_of(info) {
            self.wf_step(seq, &info.id, StepState::Canceled, None);
        }
        if info.kind == Kind::Callback
            && let Some(seq) = self.wf.failure_calls.remove(&info.id)
        {
            self.wf_update(seq, |run| {
                if let Some(f) = &mut run.failure {
                    f.state = CallbackState::Canceled;
                }
            });
        }
    }

    /// A delivery attempt was settled: the step's state, and the run's when
    /// this ends it (see the module's documentation).
    pub(super) fn wf_settled(&mut self, settled: &Settled) {
        let Some(info) = &settled.info else {
            return;
        };
        if info.kind == Kind::Callback {
            self.wf_failure_call_settled(info, settled);
            return;
        }
        let Some(seq) = self.run_seq_of(info) else {
            return;
        };
        match &settled.fate {
            Fate::Gone => {}
            Fate::Cancelled => self.wf_step(seq, &info.id, StepState::Canceled, None),
            Fate::Retry { at } => self.wf_step(seq, &info.id, StepState::Retry, Some(*at)),
            Fate::Delivered => {
                self.wf_step(seq, &info.id, StepState::Success, None);
                let done =
                    self.wf.runs.get(&seq).is_some_and(|r| {
                        r.is_active() && r.pending.is_empty() && r.waiters.is_empty()
                    });
                if done {
                    let response = settled
                        .reply
                        .as_ref()
                        .map(|r| String::from_utf8_lossy(&r.body).into_owned());
                    self.wf_update(seq, |run| run.response = response);
                    self.wf_end(seq, RunState::Success);
                }
            }
            Fate::Dead { dlq_id } => {
                self.wf_step(seq, &info.id, StepState::Failed, None);
                let failure = settled
                    .callbacks
                    .iter()
                    .find(|c| c.failure)
                    .and_then(|c| c.queued.as_ref().ok().map(|id| (id.clone(), c.url.clone())));
                if self.wf_end(seq, RunState::Failed) {
                    if let Some((message_id, _)) = &failure {
                        self.wf.failure_calls.insert(message_id.clone(), seq);
                    }
                    let dlq_id = dlq_id.clone();
                    self.wf_update(seq, |run| {
                        run.dlq_id = dlq_id;
                        run.failure = failure.map(|(message_id, url)| FailureCall {
                            message_id,
                            url,
                            state: CallbackState::InProgress,
                            dlq_id: None,
                            reply: None,
                        });
                    });
                    self.wf_stop(seq);
                }
            }
        }
    }

    /// A failure callback message was settled.
    fn wf_failure_call_settled(&mut self, info: &MessageInfo, settled: &Settled) {
        let Some(&seq) = self.wf.failure_calls.get(&info.id) else {
            return;
        };
        let (state, dlq_id) = match &settled.fate {
            Fate::Delivered => (CallbackState::Success, None),
            Fate::Dead { dlq_id } => (CallbackState::Fail, dlq_id.clone()),
            Fate::Cancelled => (CallbackState::Canceled, None),
            Fate::Retry { .. } | Fate::Gone => return,
        };
        self.wf.failure_calls.remove(&info.id);
        let reply = settled.reply.clone();
        self.wf_update(seq, |run| {
            if let Some(f) = &mut run.failure {
                f.state = state;
                f.dlq_id = dlq_id;
                f.reply = reply;
            }
        });
    }

    /// Cancels the messages of run `seq` still waiting (those in flight
    /// are not retried) and drops its waiters.
    fn wf_stop(&mut self, seq: u64) {
        let Some(run) = self.wf.runs.get(&seq) else {
            return;
        };
        let pending: Vec<String> = run.pending.iter().cloned().collect();
        let waiters: Vec<u64> = run.waiters.iter().copied().collect();
        for id in pending {
            self.cancel(&id);
        }
        for w in waiters {
            if let Some(waiter) = self.wf_take_waiter(w) {
                self.wf_wait_step(&waiter, StepState::Canceled, None);
            }
        }
    }

    /// Cancels run `id`: `Ok(true)` when it was going, `Ok(false)` when it
    /// had ended already; 404 when unknown.
    pub(crate) fn wf_cancel(&mut self, id: &str) -> ApiResult<bool> {
        let seq = *self
            .wf
            .run_ids
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("workflow run `{id}` not found")))?;
        if !self.wf_end(seq, RunState::Canceled) {
            return Ok(false);
        }
        self.wf_stop(seq);
        Ok(true)
    }

    /// The serving side removes run `id` once it returned (`cancel=false`,
    /// with what it returned): a run still going succeeds with that
    /// response. Whether it was going.
    pub(crate) fn wf_complete(&mut self, id: &str, response: String) -> ApiResult<bool> {
        let seq = *self
            .wf
            .run_ids
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("workflow run `{id}` not found")))?;
        if !self.wf.runs.get(&seq).is_some_and(Run::is_active) {
            return Ok(false);
        }
        // Kept as a destination's answer is: up to `max_response_bytes`.
        let mut response = response;
        let max = self.config.limits.max_response_bytes;
        if response.len() > max {
            let mut end = max;
            while !response.is_char_boundary(end) {
                end -= 1;
            }
            response.truncate(end);
        }
        self.wf_update(seq, |run| run.response = Some(response));
        self.wf_end(seq, RunState::Success);
        self.wf_stop(seq);
        Ok(true)
    }

    /// One step of a bulk cancel: cancels up to `limit` runs still going
    /// that `keep` selects, oldest first, after `after`, looking at no more
    /// than [`MAX_SCAN`](super::MAX_SCAN) runs. How many were cancelled,
    /// and where the next step starts.
    pub(crate) fn wf_cancel_where(
        &mut self,
        keep: impl Fn(&Run) -> bool,
        limit: usize,
        after: Option<u64>,
    ) -> (usize, Option<u64>) {
        let start = after.map_or(0, |c| c.saturating_add(1));
        let runs = &self.wf.runs;
        let page = super::pick(
            self.wf.active.range(start..).map(|seq| (*seq, seq)),
            |seq| runs.get(seq).is_some_and(&keep),
            limit,
            super::MAX_SCAN,
            |seq, _| seq,
        );
        let mut cancelled = 0;
        for seq in page.items {
            if self.wf_end(seq, RunState::Canceled) {
                self.wf_stop(seq);
                cancelled += 1;
            }
        }
        (cancelled, page.next)
    }

    /// One page of runs, newest first: up to `count` runs created before
    /// the run `before` that `keep` selects, looking at no more than
    /// [`MAX_SCAN`](super::MAX_SCAN) runs. Copies, shown once the lock is
    /// released.
    pub(crate) fn wf_page(
        &self,
        before: Option<u64>,
        count: usize,
        keep: impl Fn(&Run) -> bool,
    ) -> super::Page<Run> {
        super::pick(
            self.wf
                .runs
                .range(..before.unwrap_or(u64::MAX))
                .rev()
                .map(|(s, r)| (*s, r)),
            keep,
            count,
            super::MAX_SCAN,
            |_, r| r.clone(),
        )
    }

    // --- Waiters ----------------------------------------------------------

    /// Parks a step of a run until event `event_id` is notified, or
    /// delivers at once an event notified to the run before.
    pub(crate) fn wf_wait(&mut self, req: WaitRequest) -> ApiResult<Waited> {
        let seq = *self.wf.run_ids.get(&req.run_id).ok_or_else(|| {
            ApiError::not_found(format!("workflow run `{}` not found", req.run_id))
        })?;
        let run = self
            .wf
            .runs
            .get(&seq)
            .ok_or_else(|| ApiError::not_found("workflow run not found"))?;
        if !run.is_active() {
            return Err(ApiError::bad_request(format!(
                "workflow run `{}` has ended ({}); it waits for nothing",
                req.run_id,
                run.state.as_str()
            )));
        }
        let now = now_ms();
        let deadline = now.saturating_add(i64::try_from(req.timeout_ms).unwrap_or(i64::MAX));
        let mut step = req.step;
        step.insert("waitEventId".into(), json!(req.event_id));
        if let Some(data) = run.notified.get(&req.event_id).cloned() {
            let body = Payload::new(event_body(&step, &data));
            let message_id = self.wf_send(&req.url, Arc::new(req.opts), body, &req.caller_ip)?;
            self.wf_update(seq, |run| run.notified.remove(&req.event_id));
            return Ok(Waited::Delivered { message_id });
        }
        let limit = self.config.limits.max_workflow_waiters;
        if self.wf.waiters.len() >= limit {
            return Err(ApiError::limit(format!(
                "workflow waiter limit reached: {} steps wait for events (limit {limit}); notify or cancel runs",
                self.wf.waiters.len()
            )));
        }
        let step_bytes = serde_json::to_string(&step).map_or(0, |s| s.len());
        let bytes = RECORD_BYTES
            + req.event_id.len()
            + req.run_id.len()
            + req.url.len()
            + req.timeout_url.len()
            + req.caller_ip.len()
            + step_bytes
            + super::options_bytes(&req.opts)
            + super::options_bytes(&req.timeout_opts)
            + req.timeout_body.len()
            + headers_bytes(&req.opts.header);
        if !self.make_room(bytes) {
            return Err(self.over_budget(bytes));
        }
        let wseq = self.seq();
        let (step_id, name, step_type) = (
            step.get("stepId").and_then(Value::as_i64),
            step.get("stepName")
                .and_then(Value::as_str)
                .map(str::to_owned),
            step.get("stepType")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| Some("Wait".to_owned())),
        );
        let waiter = Waiter {
            event_id: req.event_id.clone(),
            run_seq: seq,
            run_id: req.run_id,
            url: req.url,
            opts: Arc::new(req.opts),
            deadline,
            timeout_url: req.timeout_url,
            timeout_opts: Arc::new(req.timeout_opts),
            timeout_body: req.timeout_body,
            step,
            caller_ip: req.caller_ip,
            bytes,
        };
        self.ledger.add(bytes);
        self.wf
            .by_event
            .entry(req.event_id.clone())
            .or_default()
            .insert(wseq);
        self.wf.deadlines.insert((deadline, wseq));
        self.wf.waiters.insert(wseq, waiter);
        self.wf_update(seq, |run| {
            run.waiters.insert(wseq);
            run.steps.push_back(Step {
                message_id: String::new(),
                created_at: now,
                state: StepState::Progress,
                step_id,
                name,
                step_type,
                retries: 0,
                next_delivery_time: None,
                wait_event_id: Some(req.event_id),
                wait_timeout: None,
            });
        });
        Ok(Waited::Waiting { deadline })
    }

    /// The waiters of event `event_id`, oldest first.
    pub(crate) fn wf_waiters(&self, event_id: &str) -> Vec<Waiter> {
        self.wf
            .by_event
            .get(event_id)
            .into_iter()
            .flatten()
            .filter_map(|s| self.wf.waiters.get(s).cloned())
            .collect()
    }

    fn wf_take_waiter(&mut self, wseq: u64) -> Option<Waiter> {
        let waiter = self.wf.waiters.remove(&wseq)?;
        if let Some(set) = self.wf.by_event.get_mut(&waiter.event_id) {
            set.remove(&wseq);
            if set.is_empty() {
                self.wf.by_event.remove(&waiter.event_id);
            }
        }
        self.wf.deadlines.remove(&(waiter.deadline, wseq));
        self.ledger.sub(waiter.bytes);
        self.wf_update(waiter.run_seq, |run| run.waiters.remove(&wseq));
        Some(waiter)
    }

    /// Sets the state of the wait step of `waiter` in its run.
    fn wf_wait_step(&mut self, waiter: &Waiter, state: StepState, timeout: Option<bool>) {
        self.wf_update(waiter.run_seq, |run| {
            if let Some(step) = run.steps.iter_mut().rev().find(|s| {
                s.message_id.is_empty()
                    && s.state.is_pending()
                    && s.wait_event_id.as_deref() == Some(waiter.event_id.as_str())
            }) {
                step.state = state;
                step.wait_timeout = timeout;
            }
        });
    }

    /// Queues a message of a run to `url` (the run id header in `opts`).
    fn wf_send(
        &mut self,
        url: &str,
        opts: Arc<Options>,
        body: Arc<Payload>,
        caller_ip: &str,
    ) -> ApiResult<String> {
        let limits = &self.config.limits;
        if self.messages.len() >= limits.max_messages {
            return Err(ApiError::limit(format!(
                "message limit reached: {} messages are waiting for delivery (limit {}); wait for deliveries or cancel messages",
                self.messages.len(),
                limits.max_messages
            )));
        }
        let need = self.publish_cost(&opts, &body, 1, url.len() + caller_ip.len());
        if !self.make_room(need) {
            return Err(self.over_budget(need));
        }
        let now = now_ms();
        let info = Arc::new(MessageInfo {
            id: new_id("msg_"),
            kind: Kind::Message,
            url: url.to_owned(),
            topic: None,
            endpoint: None,
            queue: None,
            schedule_id: None,
            caller_ip: caller_ip.to_owned(),
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

    /// Notifies event `event_id` with `data`: every waiter of it (or the
    /// one of run `run_id`) gets it, delivered to its URL. 412, nobody
    /// notified, when the messages do not fit in the message limit or the
    /// byte budget.
    pub(crate) fn wf_notify(
        &mut self,
        event_id: &str,
        run_id: Option<&str>,
        data: &Bytes,
    ) -> ApiResult<Vec<Notified>> {
        let seqs: Vec<u64> = self
            .wf
            .by_event
            .get(event_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|s| {
                run_id.is_none_or(|r| self.wf.waiters.get(s).is_some_and(|w| w.run_id == r))
            })
            .collect();
        let limits = &self.config.limits;
        let free = limits.max_messages.saturating_sub(self.messages.len());
        if seqs.len() > free {
            return Err(ApiError::limit(format!(
                "message limit reached: notifying {} waiters needs room for as many messages and there is room for {free} (limit {}); nothing was notified",
                seqs.len(),
                limits.max_messages
            )));
        }
        // Each delivery's body (the data escaped into the step's JSON: up
        // to six times its size) and the room for all of them are made
        // first: past the byte budget, nobody is notified.
        let calls: Vec<(u64, Waiter, Arc<Payload>)> = seqs
            .iter()
            .filter_map(|s| self.wf.waiters.get(s).map(|w| (*s, w.clone())))
            .map(|(s, w)| {
                let body = Payload::new(event_body(&w.step, data));
                (s, w, body)
            })
            .collect();
        let need = calls
            .iter()
            .map(|(_, w, body)| {
                self.publish_cost(&w.opts, body, 1, w.url.len() + w.caller_ip.len())
            })
            .fold(0usize, usize::saturating_add);
        if !self.make_room(need) {
            return Err(self.over_budget(need));
        }
        let mut out = Vec::with_capacity(calls.len());
        for (wseq, waiter, body) in calls {
            let opts = Arc::clone(&waiter.opts);
            let message_id = self.wf_send(&waiter.url, opts, body, &waiter.caller_ip)?;
            self.wf_take_waiter(wseq);
            self.wf_wait_step(&waiter, StepState::Success, Some(false));
            let run_created_at = self
                .wf
                .runs
                .get(&waiter.run_seq)
                .map_or(0, |r| r.created_at);
            out.push(Notified {
                waiter,
                message_id,
                run_created_at,
            });
        }
        Ok(out)
    }

    /// Keeps `data` for run `run_id` until it waits for `event_id` (the
    /// run waits for nothing of that name now). The run's creation time.
    pub(crate) fn wf_keep_event(
        &mut self,
        run_id: &str,
        event_id: &str,
        data: Bytes,
    ) -> ApiResult<i64> {
        let seq = *self
            .wf
            .run_ids
            .get(run_id)
            .ok_or_else(|| ApiError::not_found(format!("workflow run `{run_id}` not found")))?;
        let run = self
            .wf
            .runs
            .get(&seq)
            .ok_or_else(|| ApiError::not_found("workflow run not found"))?;
        if !run.is_active() {
            return Err(ApiError::bad_request(format!(
                "workflow run `{run_id}` has ended ({}); it waits for nothing",
                run.state.as_str()
            )));
        }
        if run.notified.len() >= MAX_STEPS && !run.notified.contains_key(event_id) {
            return Err(ApiError::limit(format!(
                "workflow run `{run_id}` holds {MAX_STEPS} events it has not waited for yet (limit {MAX_STEPS})"
            )));
        }
        let created_at = run.created_at;
        let need = data.len() + event_id.len() + 32;
        if !self.make_room(need) {
            return Err(self.over_budget(need));
        }
        let data = Bytes::copy_from_slice(&data);
        self.wf_update(seq, |run| run.notified.insert(event_id.to_owned(), data));
        Ok(created_at)
    }

    /// Ends the waits whose time is up: each gives up with a call to its
    /// timeout URL. The earliest deadline left.
    pub(super) fn wf_expire(&mut self, now: i64) -> Option<i64> {
        while let Some(&(deadline, wseq)) = self.wf.deadlines.first() {
            if deadline > now {
                return Some(deadline);
            }
            let Some(waiter) = self.wf_take_waiter(wseq) else {
                self.wf.deadlines.pop_first();
                continue;
            };
            self.wf_wait_step(&waiter, StepState::Success, Some(true));
            let opts = Arc::clone(&waiter.timeout_opts);
            let mut body = waiter.timeout_body.clone();
            if body.is_empty() {
                let mut step = waiter.step.clone();
                step.insert("waitTimeout".into(), json!(true));
                body = Bytes::from(Value::Object(step).to_string());
            }
            let body = Payload::new(body);
            if let Err(e) = self.wf_send(&waiter.timeout_url, opts, body, &waiter.caller_ip) {
                tracing::warn!(target: "qstash_dev::workflows", run = %waiter.run_id, event = %waiter.event_id, error = %e.message, "the timeout call of a wait was not queued");
            }
        }
        None
    }

    // --- Workflow DLQ -----------------------------------------------------

    /// Starts a new run from a DLQ entry `seq` of a run: `restart` from its
    /// first call, else resume from the failed call. `change` applies the
    /// overrides. The entry leaves the DLQ. The new run's id and creation
    /// time.
    pub(crate) fn wf_rerun(
        &mut self,
        seq: u64,
        restart: bool,
        change: &dyn Fn(&mut Options),
    ) -> ApiResult<(String, i64)> {
        let mut runs = self.wf_rerun_all(&[seq], restart, change)?;
        runs.pop()
            .ok_or_else(|| ApiError::not_found("DLQ entry not found"))
    }

    /// [`wf_rerun`](Self::wf_rerun) for each of the DLQ entries `seqs`,
    /// all or none: what can be checked is checked for every entry first
    /// (a workflow run's entry, a restart's first call still remembered,
    /// the queues, the message and run limits); every entry leaves the DLQ
    /// before any run starts (making room drops the oldest DLQ entries,
    /// never one of these); and should one still fail (the byte budget),
    /// the runs started are withdrawn and the entries put back.
    pub(crate) fn wf_rerun_all(
        &mut self,
        seqs: &[u64],
        restart: bool,
        change: &dyn Fn(&mut Options),
    ) -> ApiResult<Vec<(String, i64)>> {
        let limits = &self.config.limits;
        let mut plans = Vec::with_capacity(seqs.len());
        let mut new_queues = HashSet::new();
        for &seq in seqs {
            let plan = self.wf_rerun_plan(seq, restart)?;
            if let Some(q) = plan.entry.info.queue.as_deref()
                && self.queue_past_limit(q, &mut new_queues)
            {
                return Err(ApiError::limit(format!(
                    "workflow DLQ entry `{}`: its queue `{q}` would be created again and the queue limit is reached ({}); nothing was done",
                    plan.entry.dlq_id, limits.max_queues
                )));
            }
            plans.push(plan);
        }
        let free = limits.max_messages.saturating_sub(self.messages.len());
        if plans.len() > free {
            return Err(ApiError::limit(format!(
                "message limit reached: {} runs need as many messages and there is room for {free} (limit {}); nothing was done",
                plans.len(),
                limits.max_messages
            )));
        }
        // What each plan needs is held by the plan: ended runs may go.
        self.wf_room(plans.len())?;
        for plan in &plans {
            self.dlq_take(plan.seq);
        }
        let mut done: Vec<(String, String, i64)> = Vec::with_capacity(plans.len());
        for plan in &plans {
            match self.wf_rerun_planned(plan, restart, change) {
                Ok(started) => done.push(started),
                Err(e) => {
                    for (run_id, message_id, _) in &done {
                        self.cancel(message_id);
                        if let Some(seq) = self.wf.run_ids.get(run_id).copied() {
                            self.wf_drop_run(seq);
                        }
                    }
                    for plan in plans {
                        self.dlq_put_back(plan.seq, plan.entry);
                    }
                    return Err(ApiError::new(e.status, e.message));
                }
            }
        }
        Ok(done.into_iter().map(|(run, _, at)| (run, at)).collect())
    }

    /// What rerunning DLQ entry `seq` takes, checked without changing
    /// anything.
    fn wf_rerun_plan(&self, seq: u64, restart: bool) -> ApiResult<RerunPlan> {
        let entry = self
            .dlq
            .get(&seq)
            .cloned()
            .ok_or_else(|| ApiError::not_found("DLQ entry not found"))?;
        let old_id = run_id_of(&entry.info.opts).ok_or_else(|| {
            ApiError::bad_request(format!("DLQ entry `{}` is no workflow run", entry.dlq_id))
        })?;
        let (url, template) = if restart {
            let run = self.run(old_id).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "DLQ entry `{}`: the first call of run `{old_id}` is no longer remembered (its record was dropped at the run limit), so it cannot be restarted; resume it instead",
                    entry.dlq_id
                ))
            })?;
            (run.url.clone(), Arc::clone(&run.init))
        } else {
            (entry.info.url.clone(), Arc::clone(&entry.info))
        };
        let workflow_url = self
            .run(old_id)
            .map_or_else(|| url.clone(), |r| r.url.clone());
        Ok(RerunPlan {
            seq,
            entry,
            url,
            workflow_url,
            template,
        })
    }

    /// Starts the new run of `plan` (its entry out of the DLQ already):
    /// its id, its message's id and its creation time.
    fn wf_rerun_planned(
        &mut self,
        plan: &RerunPlan,
        restart: bool,
        change: &dyn Fn(&mut Options),
    ) -> ApiResult<(String, String, i64)> {
        let new_id = new_id("wfr_");
        let now = now_ms();
        let mut opts = (*plan.template.opts).clone();
        opts.delay_ms = None;
        opts.not_before_secs = None;
        change(&mut opts);
        set_header(&mut opts, RUN_ID_HEADER, new_id.clone());
        set_header(&mut opts, CREATED_AT_HEADER, now.to_string());
        if restart {
            set_header(&mut opts, INIT_HEADER, "true".to_owned());
        }
        let not_before = opts
            .delay_ms
            .map(|d| now.saturating_add(i64::try_from(d).unwrap_or(i64::MAX)));
        let info = Arc::new(MessageInfo {
            id: new_id_msg(),
            kind: Kind::Message,
            url: plan.url.clone(),
            topic: None,
            endpoint: None,
            queue: plan.entry.info.queue.clone(),
            schedule_id: None,
            caller_ip: plan.entry.info.caller_ip.clone(),
            created_at: now,
            not_before,
            body: Arc::clone(&plan.template.body),
            opts: Arc::new(opts),
            held: Default::default(),
        });
        if let Some(q) = &info.queue {
            self.ensure_queue(q, now)?;
        }
        let need = self.publish_cost(&info.opts, &info.body, 1, super::info_bytes(&info));
        if !self.make_room(need) {
            return Err(self.over_budget(need));
        }
        let message_id = info.id.clone();
        // Recorded before its message, so that the message is its step.
        self.wf_create_run(&new_id, &plan.workflow_url, &info);
        self.insert(info, now);
        Ok((new_id, message_id, now))
    }

    /// Calls the failure callback of the failed run of DLQ entry `dlq_id`
    /// again (its call failed): its own DLQ entry is retried. The run's id
    /// and creation time.
    pub(crate) fn wf_retry_failure_call(&mut self, dlq_id: &str) -> ApiResult<(String, i64)> {
        let seq = self.wf_run_of_dlq(dlq_id)?;
        let run = self
            .wf
            .runs
            .get(&seq)
            .ok_or_else(|| ApiError::not_found("workflow run not found"))?;
        let (run_id, created_at) = (run.id.clone(), run.created_at);
        let failure = run.failure.clone().ok_or_else(|| {
            ApiError::bad_request(format!(
                "DLQ entry `{dlq_id}`: run `{run_id}` has no failure callback"
            ))
        })?;
        if failure.state != CallbackState::Fail {
            return Err(ApiError::bad_request(format!(
                "DLQ entry `{dlq_id}`: the failure callback of run `{run_id}` did not fail ({}); only a failed one is called again",
                failure.state.as_str()
            )));
        }
        let cb_seq = failure
            .dlq_id
            .as_deref()
            .and_then(|id| self.dlq_ids.get(id).copied())
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "DLQ entry `{dlq_id}`: the failed call of the failure callback of run `{run_id}` is no longer in the DLQ, so it cannot be made again"
                ))
            })?;
        let published = self.dlq_retry(cb_seq, None)?;
        self.wf
            .failure_calls
            .insert(published.message_id.clone(), seq);
        self.wf_update(seq, |run| {
            if let Some(f) = &mut run.failure {
                f.message_id = published.message_id;
                f.state = CallbackState::InProgress;
                f.dlq_id = None;
            }
        });
        Ok((run_id, created_at))
    }

    /// Cancels the failure callback call in progress of the run of DLQ
    /// entry `dlq_id`.
    pub(crate) fn wf_cancel_failure_call(&mut self, dlq_id: &str) -> ApiResult<()> {
        let seq = self.wf_run_of_dlq(dlq_id)?;
        let failure = self
            .wf
            .runs
            .get(&seq)
            .and_then(|r| r.failure.clone())
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "DLQ entry `{dlq_id}`: its run has no failure callback"
                ))
            })?;
        if failure.state != CallbackState::InProgress || !self.cancel(&failure.message_id) {
            return Err(ApiError::bad_request(format!(
                "DLQ entry `{dlq_id}`: no failure callback call is in progress ({})",
                failure.state.as_str()
            )));
        }
        // Cancelled at once unless in flight (then `CALLBACK_CANCELED`, see
        // `wf_message_cancelled`); one in flight ends as it ends.
        Ok(())
    }

    /// Sequence numbers of workflow DLQ entries (those of a run), oldest
    /// first, after `cursor`, at most `count`: those of the `ids` given, or
    /// those `keep` selects (looking at no more than
    /// [`MAX_SCAN`](super::MAX_SCAN) entries).
    pub(crate) fn wf_dlq_select(
        &self,
        ids: &[String],
        keep: impl Fn(&DlqEntry, Option<&Run>) -> bool,
        cursor: Option<u64>,
        count: usize,
    ) -> super::Page<u64> {
        let run_of = |e: &DlqEntry| {
            run_id_of(&e.info.opts)
                .and_then(|id| self.wf.run_ids.get(id))
                .and_then(|s| self.wf.runs.get(s))
        };
        let is_run =
            |e: &DlqEntry| e.info.kind == Kind::Message && run_id_of(&e.info.opts).is_some();
        if ids.is_empty() {
            let start = cursor.map_or(0, |c| c.saturating_add(1));
            return super::pick(
                self.dlq.range(start..).map(|(seq, e)| (*seq, e)),
                |e| is_run(e) && keep(e, run_of(e)),
                count,
                super::MAX_SCAN,
                |seq, _| seq,
            );
        }
        let page = self.dlq_select(ids, &crate::filter::Filter::default(), cursor, count);
        super::Page {
            items: page
                .items
                .into_iter()
                .filter(|seq| self.dlq.get(seq).is_some_and(is_run))
                .collect(),
            next: page.next,
            scanned: page.scanned,
        }
    }

    /// The workflow DLQ entry `seq` with its run (if remembered): copies,
    /// shown once the lock is released.
    pub(crate) fn wf_dlq_view(&self, seq: u64) -> Option<(DlqEntry, Option<Run>)> {
        let entry = self.dlq.get(&seq)?.clone();
        let run = run_id_of(&entry.info.opts).and_then(|id| self.run(id).cloned());
        Some((entry, run))
    }

    /// The sequence number of workflow DLQ entry `dlq_id`; 404 when there is
    /// none.
    pub(crate) fn wf_dlq_seq(&self, dlq_id: &str) -> ApiResult<u64> {
        self.dlq_ids
            .get(dlq_id)
            .copied()
            .filter(|seq| {
                self.dlq.get(seq).is_some_and(|e| {
                    e.info.kind == Kind::Message && run_id_of(&e.info.opts).is_some()
                })
            })
            .ok_or_else(|| ApiError::not_found(format!("workflow DLQ entry `{dlq_id}` not found")))
    }

    /// The run (still remembered) of DLQ entry `dlq_id`.
    fn wf_run_of_dlq(&self, dlq_id: &str) -> ApiResult<u64> {
        let entry = self.dlq_entry(dlq_id)?;
        run_id_of(&entry.info.opts)
            .and_then(|id| self.wf.run_ids.get(id).copied())
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "DLQ entry `{dlq_id}` is no workflow run this server remembers"
                ))
            })
    }
}

fn new_id_msg() -> String {
    new_id("msg_")
}

/// The body delivered to a waiter: its step, with the event data as `out`
/// (UTF-8 text; other bytes replaced) and `waitTimeout: false`.
pub(crate) fn event_body(step: &Map<String, Value>, data: &[u8]) -> Bytes {
    let mut step = step.clone();
    step.insert("out".into(), json!(String::from_utf8_lossy(data)));
    step.insert("waitTimeout".into(), json!(false));
    Bytes::from(Value::Object(step).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::store::tests::{Msg, publish, store};

    #[test]
    fn a_step_counts_its_record_and_its_strings_against_the_budget() {
        let step = |name: Option<&str>, kind: Option<&str>, event: Option<&str>| Step {
            message_id: "msg_12345".into(),
            created_at: 0,
            state: StepState::Progress,
            step_id: Some(2),
            name: name.map(str::to_owned),
            step_type: kind.map(str::to_owned),
            retries: 0,
            next_delivery_time: None,
            wait_event_id: event.map(str::to_owned),
            wait_timeout: None,
        };
        assert_eq!(step(None, None, None).bytes(), RECORD_BYTES / 2 + 9);
        assert_eq!(
            step(Some("charge"), Some("Run"), Some("order-paid")).bytes(),
            RECORD_BYTES / 2 + 9 + 6 + 3 + 10
        );
    }

    #[test]
    fn only_steps_in_progress_or_retried_are_still_to_come() {
        let pending: Vec<&str> = [
            StepState::Progress,
            StepState::Success,
            StepState::Retry,
            StepState::Failed,
            StepState::Canceled,
        ]
        .into_iter()
        .filter(|s| s.is_pending())
        .map(StepState::as_str)
        .collect();
        assert_eq!(pending, ["STEP_PROGRESS", "STEP_RETRY"]);
    }

    #[test]
    fn a_refused_id_is_shown_without_its_control_characters() {
        assert_eq!(check_id("run id", "wfr_ok").unwrap(), "wfr_ok");
        let e = check_id("run id", "wfr\u{7}bad id").unwrap_err();
        let text = e.message;
        assert!(text.contains("invalid run id `wfrbad id`"), "{text}");
        assert!(!text.contains('\u{7}'), "{text}");
    }

    fn opts(run: &str, init: bool) -> Options {
        let mut o = Options {
            method: "POST".into(),
            ..Options::default()
        };
        set_header(&mut o, RUN_ID_HEADER, run.to_owned());
        set_header(&mut o, INIT_HEADER, init.to_string());
        o
    }

    fn reply(status: u16, body: &'static str) -> Reply {
        Reply {
            status,
            body: Bytes::from_static(body.as_bytes()),
            ..Reply::default()
        }
    }

    fn state(s: &Store, id: &str) -> RunState {
        s.run(id).expect("the run").state
    }

    /// Starts the deliveries due (far in the future: retries included).
    fn due(s: &mut Store) -> Vec<String> {
        let (jobs, _) = s.take_due(i64::MAX / 4);
        jobs.into_iter().map(|j| j.info.id.clone()).collect()
    }

    fn wait_req(run: &str, event: &str, timeout_ms: u64) -> WaitRequest {
        let mut step = Map::new();
        step.insert("stepName".into(), json!("w"));
        WaitRequest {
            event_id: event.into(),
            run_id: run.into(),
            url: "http://127.0.0.1:1/wf".into(),
            timeout_ms,
            timeout_url: "http://127.0.0.1:1/timeout".into(),
            opts: opts(run, false),
            timeout_opts: opts(run, false),
            timeout_body: Bytes::new(),
            step,
            caller_ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn a_run_goes_on_while_a_step_is_queued_and_succeeds_with_its_last_delivery() {
        let mut s = store(Limits::default());
        publish(&mut s, opts("wfr_a", true)).unwrap();
        assert_eq!(state(&s, "wfr_a"), RunState::Started);
        let first = due(&mut s);
        // The endpoint queues its next step before it answers.
        publish(&mut s, opts("wfr_a", false)).unwrap();
        s.finish(&first[0], reply(200, "step 1"));
        assert_eq!(state(&s, "wfr_a"), RunState::Started);
        let second = due(&mut s);
        s.finish(&second[0], reply(200, "done"));
        let run = s.run("wfr_a").unwrap();
        assert_eq!(run.state, RunState::Success);
        assert_eq!(run.response.as_deref(), Some("done"));
        assert!(run.completed_at.is_some());
        let states: Vec<_> = run.steps.iter().map(|st| st.state).collect();
        assert_eq!(states, [StepState::Success, StepState::Success]);
        assert_eq!(run.steps[0].name.as_deref(), Some("init"));
        // A message without the init header for an unknown run starts none.
        publish(&mut s, opts("wfr_other", false)).unwrap();
        assert!(s.run("wfr_other").is_none());
    }

    #[test]
    fn a_run_waiting_for_an_event_does_not_succeed_until_notified() {
        let mut s = store(Limits::default());
        publish(&mut s, opts("wfr_w", true)).unwrap();
        let first = due(&mut s);
        s.wf_wait(wait_req("wfr_w", "e", 60_000)).unwrap();
        s.finish(&first[0], reply(200, ""));
        assert_eq!(state(&s, "wfr_w"), RunState::Started);
        assert_eq!(s.wf_waiters("e").len(), 1);
        let notified = s
            .wf_notify("e", None, &Bytes::from_static(b"data"))
            .unwrap();
        assert_eq!(notified.len(), 1);
        assert!(s.wf_waiters("e").is_empty());
        let delivery = due(&mut s);
        assert_eq!(delivery, [notified[0].message_id.clone()]);
        s.finish(&delivery[0], reply(200, "out"));
        assert_eq!(state(&s, "wfr_w"), RunState::Success);
        let wait = s
            .run("wfr_w")
            .unwrap()
            .steps
            .iter()
            .find(|st| st.wait_event_id.is_some())
            .cloned()
            .unwrap();
        assert_eq!(wait.state, StepState::Success);
        assert_eq!(wait.wait_timeout, Some(false));
        // Nobody waits now: nothing is notified.
        assert!(s.wf_notify("e", None, &Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn a_step_failing_for_good_fails_the_run_and_cancels_the_rest() {
        let mut s = store(Limits::default());
        let mut failing = opts("wfr_f", true);
        failing.retries = Some(0);
        publish(&mut s, failing).unwrap();
        let mut later = opts("wfr_f", false);
        later.delay_ms = Some(3_600_000);
        publish(&mut s, later).unwrap();
        s.wf_wait(wait_req("wfr_f", "e", 60_000)).unwrap();
        let (jobs, _) = s.take_due(now_ms());
        assert_eq!(jobs.len(), 1);
        s.finish(&jobs[0].info.id, reply(500, "boom"));
        let run = s.run("wfr_f").unwrap();
        assert_eq!(run.state, RunState::Failed);
        let dlq_id = run.dlq_id.clone().expect("a DLQ entry");
        assert!(s.dlq_entry(&dlq_id).is_ok());
        assert!(s.messages.is_empty(), "the delayed step is cancelled");
        assert!(s.wf_waiters("e").is_empty(), "the waiter is dropped");
        let states: Vec<_> = run.steps.iter().map(|st| st.state).collect();
        assert_eq!(
            states,
            [StepState::Failed, StepState::Canceled, StepState::Canceled]
        );
        assert!(run.pending.is_empty() && run.waiters.is_empty());
    }

    #[test]
    fn a_restart_sends_the_first_call_again_and_a_resume_the_failed_one() {
        let mut s = store(Limits::default());
        for (run, restart, sent) in [("wfr_r", true, "input"), ("wfr_s", false, "step")] {
            let call = |init: bool, body: &'static str| Msg {
                opts: Options {
                    retries: Some(0),
                    ..opts(run, init)
                },
                body: Bytes::from_static(body.as_bytes()),
            };
            publish(&mut s, call(true, "input")).unwrap();
            let first = due(&mut s);
            publish(&mut s, call(false, "step")).unwrap();
            s.finish(&first[0], reply(200, ""));
            let second = due(&mut s);
            s.finish(&second[0], reply(500, "boom"));
            let dlq_id = s.run(run).unwrap().dlq_id.clone().expect("a DLQ entry");
            let seq = s.wf_dlq_seq(&dlq_id).unwrap();
            let (new_run, _) = s.wf_rerun(seq, restart, &|_| {}).unwrap();
            let (jobs, _) = s.take_due(i64::MAX / 4);
            assert_eq!(jobs.len(), 1);
            assert_eq!(run_id_of(&jobs[0].info.opts), Some(new_run.as_str()));
            assert_eq!(&jobs[0].info.body.bytes[..], sent.as_bytes(), "{run}");
        }
    }

    /// Runs `ids` failed at their first call: their DLQ entries' sequence
    /// numbers.
    fn failed_runs(s: &mut Store, ids: &[&str]) -> Vec<u64> {
        ids.iter()
            .map(|run| {
                let mut o = opts(run, true);
                o.retries = Some(0);
                publish(s, o).unwrap();
                let call = due(s);
                s.finish(&call[0], reply(500, "boom"));
                let dlq_id = s.run(run).unwrap().dlq_id.clone().expect("a DLQ entry");
                s.wf_dlq_seq(&dlq_id).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_batch_that_fails_late_starts_no_run() {
        let mut s = store(Limits {
            max_store_bytes: 50_000,
            max_log_entries: 0,
            ..Limits::default()
        });
        let entry = |opts: Options, body: usize| crate::store::NewMessages {
            destination: "http://127.0.0.1:1/wf",
            queue: None,
            opts: Arc::new(opts),
            body: Payload::new(Bytes::from(vec![b'b'; body])),
            schedule_id: None,
            caller_ip: "127.0.0.1",
        };
        // A run already going is not the batch's to forget.
        publish(&mut s, opts("wfr_going", true)).unwrap();
        let going = s.messages.keys().next().unwrap().clone();
        // The byte budget is not checked ahead: the last entry fails late.
        let (i, _) = s
            .publish_all(&[
                entry(opts("wfr_b", true), 0),
                entry(opts("wfr_going", false), 0),
                entry(Options::default(), 60_000),
            ])
            .unwrap_err();
        assert_eq!(i, 2);
        assert!(s.run("wfr_b").is_none(), "the run it started is forgotten");
        assert_eq!(s.messages.keys().collect::<Vec<_>>(), [&going]);
        assert_eq!(state(&s, "wfr_going"), RunState::Started);
        // Sent again, it starts the run.
        s.publish_all(&[entry(opts("wfr_b", true), 0)]).unwrap();
        assert_eq!(state(&s, "wfr_b"), RunState::Started);
    }

    #[test]
    fn a_bulk_resume_that_would_recreate_too_many_queues_resumes_none() {
        let mut s = store(Limits {
            max_queues: 2,
            ..Limits::default()
        });
        let mut seqs = Vec::new();
        for (run, queue) in [("wfr_a1", "a"), ("wfr_a2", "a"), ("wfr_c", "c")] {
            let mut o = opts(run, true);
            o.retries = Some(0);
            s.publish(&crate::store::NewMessages {
                destination: "http://127.0.0.1:1/wf",
                queue: Some(queue),
                opts: Arc::new(o),
                body: Arc::default(),
                schedule_id: None,
                caller_ip: "127.0.0.1",
            })
            .unwrap();
            let call = due(&mut s);
            s.finish(&call[0], reply(500, "boom"));
            let dlq_id = s.run(run).unwrap().dlq_id.clone().expect("a DLQ entry");
            seqs.push(s.wf_dlq_seq(&dlq_id).unwrap());
        }
        for queue in ["a", "c"] {
            s.delete_queue(queue);
        }
        s.ensure_queue("b", now_ms()).unwrap();
        // `a` (twice, one queue) fits beside `b`; `c` would be a third.
        let e = s.wf_rerun_all(&seqs, false, &|_| {}).unwrap_err();
        assert_eq!(e.status.as_u16(), 412, "{}", e.message);
        assert!(
            e.message.contains("its queue `c` would be created again"),
            "{}",
            e.message
        );
        assert!(s.messages.is_empty());
        assert_eq!(s.dlq.len(), 3);
        assert!(!s.queues.contains_key("a"));
        // With room for both queues, all three go.
        s.config.limits.max_queues = 3;
        assert_eq!(s.wf_rerun_all(&seqs, false, &|_| {}).unwrap().len(), 3);
        assert!(s.queues.contains_key("a") && s.queues.contains_key("c"));
    }

    #[test]
    fn a_bulk_restart_refused_for_one_entry_restarts_none() {
        let mut s = store(Limits::default());
        let seqs = failed_runs(&mut s, &["wfr_1", "wfr_2"]);
        // The second run's record is gone (as at the run limit): it cannot
        // be restarted, and the first is not either.
        let second = s.wf.run_ids["wfr_2"];
        s.wf_drop_run(second);
        let runs = s.wf.runs.len();
        let e = s.wf_rerun_all(&seqs, true, &|_| {}).unwrap_err();
        assert!(e.message.contains("no longer remembered"), "{}", e.message);
        assert!(s.messages.is_empty());
        assert_eq!(s.wf.runs.len(), runs);
        assert_eq!(s.dlq.keys().copied().collect::<Vec<_>>(), seqs);
        // Resumed, both go.
        assert_eq!(s.wf_rerun_all(&seqs, false, &|_| {}).unwrap().len(), 2);
        assert_eq!(s.messages.len(), 2);
        assert!(s.dlq.is_empty());
    }

    #[test]
    fn a_bulk_resume_past_the_byte_budget_midway_withdraws_what_it_started() {
        let mut s = store(Limits {
            max_store_bytes: 70_000,
            max_log_entries: 0,
            ..Limits::default()
        });
        let seqs = failed_runs(&mut s, &["wfr_1", "wfr_2"]);
        let runs = s.wf.runs.len();
        let bytes = s.bytes();
        // Each new run's options take 40,000 bytes: the first fits, the
        // second does not.
        let big = |o: &mut Options| o.labels = vec!["x".repeat(40_000)];
        let e = s.wf_rerun_all(&seqs, false, &big).unwrap_err();
        assert_eq!(e.status.as_u16(), 412, "{}", e.message);
        assert!(
            s.messages.is_empty(),
            "the first run's message is withdrawn"
        );
        assert_eq!(s.wf.runs.len(), runs, "the first new run is withdrawn");
        assert_eq!(s.dlq.keys().copied().collect::<Vec<_>>(), seqs);
        assert_eq!(s.bytes(), bytes, "every byte given back");
        // Without the overrides, both fit.
        assert_eq!(s.wf_rerun_all(&seqs, false, &|_| {}).unwrap().len(), 2);
        assert!(s.dlq.is_empty());
    }

    #[test]
    fn cancel_ends_a_run_once_and_cancel_false_completes_it() {
        let mut s = store(Limits::default());
        publish(&mut s, opts("wfr_c", true)).unwrap();
        assert!(s.wf_cancel("wfr_c").unwrap());
        assert_eq!(state(&s, "wfr_c"), RunState::Canceled);
        assert!(s.messages.is_empty());
        assert!(!s.wf_cancel("wfr_c").unwrap());
        assert_eq!(s.wf_cancel("wfr_x").unwrap_err().status.as_u16(), 404);
        // A cancelled run does not succeed afterwards.
        assert!(!s.wf_complete("wfr_c", "r".into()).unwrap());
        assert_eq!(state(&s, "wfr_c"), RunState::Canceled);

        publish(&mut s, opts("wfr_d", true)).unwrap();
        let running = due(&mut s);
        assert!(s.wf_complete("wfr_d", "result".into()).unwrap());
        assert_eq!(state(&s, "wfr_d"), RunState::Success);
        assert_eq!(s.run("wfr_d").unwrap().response.as_deref(), Some("result"));
        let mut small = store(Limits {
            max_response_bytes: 4,
            ..Limits::default()
        });
        publish(&mut small, opts("wfr_e", true)).unwrap();
        small.wf_complete("wfr_e", "ab\u{e9}cd".into()).unwrap();
        assert_eq!(
            small.run("wfr_e").unwrap().response.as_deref(),
            Some("ab\u{e9}")
        );
        // The delivery in flight ends as it ends; the run stays succeeded.
        s.finish(&running[0], reply(500, ""));
        assert_eq!(state(&s, "wfr_d"), RunState::Success);
        assert!(s.messages.is_empty(), "not retried");
    }

    #[test]
    fn the_run_limit_drops_the_oldest_ended_run_and_refuses_when_all_go_on() {
        let mut s = store(Limits {
            max_workflow_runs: 2,
            max_log_entries: 0,
            ..Limits::default()
        });
        let empty = s.bytes();
        publish(&mut s, opts("wfr_1", true)).unwrap();
        publish(&mut s, opts("wfr_2", true)).unwrap();
        let e = publish(&mut s, opts("wfr_3", true)).unwrap_err();
        assert_eq!(e.status.as_u16(), 412);
        assert!(e.message.contains("workflow run limit"), "{}", e.message);
        assert!(s.run("wfr_3").is_none());
        s.wf_cancel("wfr_1").unwrap();
        publish(&mut s, opts("wfr_3", true)).unwrap();
        assert!(s.run("wfr_1").is_none(), "the ended run went");
        assert!(s.run("wfr_2").is_some() && s.run("wfr_3").is_some());
        // Every byte comes back once the runs and their messages are gone.
        s.wf_cancel("wfr_2").unwrap();
        s.wf_cancel("wfr_3").unwrap();
        s.wf_room(2).unwrap();
        assert!(s.wf.runs.is_empty());
        assert_eq!(s.bytes(), empty);
    }

    #[test]
    fn a_wait_times_out_into_a_call_of_its_timeout_url_and_waiters_are_bounded() {
        let mut s = store(Limits {
            max_workflow_waiters: 1,
            ..Limits::default()
        });
        publish(&mut s, opts("wfr_t", true)).unwrap();
        due(&mut s);
        let before = s.bytes();
        let Waited::Waiting { deadline } = s.wf_wait(wait_req("wfr_t", "e", 1_000)).unwrap() else {
            panic!("waiting");
        };
        assert!(s.bytes() > before);
        let e = s.wf_wait(wait_req("wfr_t", "f", 1_000)).unwrap_err();
        assert_eq!(e.status.as_u16(), 412);
        // Not before its time; the dispatcher is told when.
        let (jobs, wake) = s.take_due(deadline - 1);
        assert!(jobs.is_empty());
        assert_eq!(wake, Some(deadline));
        let (jobs, _) = s.take_due(deadline);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].info.url, "http://127.0.0.1:1/timeout");
        let body: Value = serde_json::from_slice(&jobs[0].info.body.bytes).unwrap();
        assert_eq!(body["waitTimeout"], true);
        assert_eq!(body["waitEventId"], "e");
        assert!(s.wf_waiters("e").is_empty());
        let run = s.run("wfr_t").unwrap();
        let wait = run
            .steps
            .iter()
            .find(|st| st.wait_event_id.is_some())
            .unwrap();
        assert_eq!(wait.wait_timeout, Some(true));
        // The timeout call is a step of the run: it goes on.
        assert_eq!(run.steps.back().unwrap().message_id, jobs[0].info.id);
        assert_eq!(run.state, RunState::Started);
        // An unknown or ended run waits for nothing.
        assert_eq!(
            s.wf_wait(wait_req("wfr_x", "e", 1))
                .unwrap_err()
                .status
                .as_u16(),
            404
        );
        s.wf_cancel("wfr_t").unwrap();
        assert_eq!(
            s.wf_wait(wait_req("wfr_t", "e", 1))
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
    }

    #[test]
    fn a_failure_callback_is_tracked_and_its_call_cancelled() {
        let mut s = store(Limits::default());
        let mut failing = opts("wfr_cb", true);
        failing.retries = Some(0);
        failing.failure_callback = Some(Box::new(crate::model::CallbackSpec {
            url: "http://127.0.0.1:1/failed".into(),
            ..crate::model::CallbackSpec::default()
        }));
        publish(&mut s, failing).unwrap();
        let first = due(&mut s);
        s.finish(&first[0], reply(500, ""));
        let run = s.run("wfr_cb").unwrap();
        let dlq_id = run.dlq_id.clone().unwrap();
        let call = run.failure.clone().expect("a failure callback");
        assert_eq!(call.state, CallbackState::InProgress);
        assert!(s.messages.contains_key(&call.message_id));
        let e = s.wf_retry_failure_call(&dlq_id).unwrap_err();
        assert_eq!(e.status.as_u16(), 400, "only a failed call is made again");
        s.wf_cancel_failure_call(&dlq_id).unwrap();
        assert!(!s.messages.contains_key(&call.message_id));
        let state = s.run("wfr_cb").unwrap().failure.clone().unwrap().state;
        assert_eq!(state, CallbackState::Canceled);
        assert_eq!(
            s.wf_cancel_failure_call(&dlq_id)
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
    }

    #[test]
    fn notify_past_the_byte_budget_notifies_nobody() {
        // A run with two steps waiting for event `e`, in 64 KiB.
        let two_waiting = || {
            let mut s = store(Limits {
                max_store_bytes: 64 * 1024,
                max_log_entries: 0,
                ..Limits::default()
            });
            publish(&mut s, opts("wfr_n", true)).unwrap();
            for event in ["e", "e"] {
                s.wf_wait(wait_req("wfr_n", event, 60_000)).unwrap();
            }
            s
        };
        let mut s = two_waiting();
        let data = Bytes::from(vec![b'x'; 40 * 1024]);
        let e = s.wf_notify("e", None, &data).unwrap_err();
        assert_eq!(e.status.as_u16(), 412);
        assert_eq!(s.wf_waiters("e").len(), 2, "nobody was notified");
        assert_eq!(s.messages.len(), 1);
        let small = Bytes::from_static(b"ok");
        assert_eq!(s.wf_notify("e", None, &small).unwrap().len(), 2);

        // Data that grows sixfold escaped into the step's JSON: the room
        // is that of the bodies delivered, not of the data.
        let mut s = two_waiting();
        let control = Bytes::from(vec![1u8; 8 * 1024]);
        let e = s.wf_notify("e", None, &control).unwrap_err();
        assert_eq!(e.status.as_u16(), 412);
        assert_eq!(s.wf_waiters("e").len(), 2, "nobody was notified");
        assert_eq!(s.messages.len(), 1);
    }

    #[test]
    fn a_publish_with_a_run_id_past_its_bounds_starts_no_run() {
        let mut s = store(Limits::default());
        let long = "r".repeat(MAX_ID_LEN + 1);
        publish(&mut s, opts(&long, true)).unwrap();
        assert!(s.wf.runs.is_empty());
        assert_eq!(s.messages.len(), 1, "delivered as any other message");
    }

    #[test]
    fn ids_are_bounded() {
        assert!(valid_id("wfr_abc-1.2:x@y"));
        assert!(valid_id(&"a".repeat(MAX_ID_LEN)));
        assert!(!valid_id(&"a".repeat(MAX_ID_LEN + 1)));
        assert!(!valid_id(""));
        assert!(!valid_id("a b"));
        assert!(!valid_id("a/b"));
        assert!(!valid_id("a\nb"));
        let e = check_id("event id", &"x".repeat(300)).unwrap_err();
        assert!(e.message.contains("256 bytes"), "{}", e.message);
    }

    #[test]
    fn a_run_counts_its_record_its_strings_and_all_it_holds_against_the_budget() {
        let mut s = store(Limits::default());
        publish(&mut s, opts("wfr_bytes", true)).unwrap();
        let mut run = s.run("wfr_bytes").unwrap().clone();
        run.url = "http://h/wf".into();
        run.caller_ip = "10.0.0.1".into();
        run.pending = ["msg_1", "msg_2", "msg_3"].map(str::to_owned).into();
        run.waiters = [7, 8].into();
        run.steps = [Step {
            message_id: "msg_12345".into(),
            created_at: 0,
            state: StepState::Success,
            step_id: None,
            name: None,
            step_type: None,
            retries: 0,
            next_delivery_time: None,
            wait_event_id: None,
            wait_timeout: None,
        }]
        .into();
        let bare =
            RECORD_BYTES + "wfr_bytes".len() + 11 + 8 + 3 * 64 + 2 * 16 + RECORD_BYTES / 2 + 9;
        assert_eq!(run.own_bytes(), bare);
        // What it answered, its DLQ entry, its failure callback and the
        // events kept for it count too.
        run.response = Some("done!".into());
        run.dlq_id = Some("dlq_123".into());
        run.failure = Some(FailureCall {
            message_id: "msg_f".into(),
            url: "http://h/failed".into(),
            state: CallbackState::Fail,
            dlq_id: None,
            reply: None,
        });
        run.notified = [("paid".to_owned(), Bytes::from_static(b"yes!!!"))].into();
        assert_eq!(run.own_bytes(), bare + 5 + 7 + (5 + 15 + 64) + (4 + 6 + 32));
    }

    #[test]
    fn a_wait_needs_room_for_its_record_strings_step_and_both_options_and_a_byte_short_is_refused()
    {
        let mut s = store(Limits {
            max_log_entries: 0,
            ..Limits::default()
        });
        publish(&mut s, opts("wfr_w", true)).unwrap();
        let mut timeout_opts = opts("wfr_w", false);
        set_header(
            &mut timeout_opts,
            "Upstash-Workflow-Calltype",
            "step".into(),
        );
        let req = || WaitRequest {
            timeout_opts: timeout_opts.clone(),
            timeout_body: Bytes::from_static(b"gave up waiting"),
            ..wait_req("wfr_w", "e", 1_000)
        };
        let step = r#"{"stepName":"w","waitEventId":"e"}"#;
        let need = RECORD_BYTES
            + "e".len()
            + "wfr_w".len()
            + "http://127.0.0.1:1/wf".len()
            + "http://127.0.0.1:1/timeout".len()
            + "127.0.0.1".len()
            + step.len()
            + super::super::options_bytes(&req().opts)
            + super::super::options_bytes(&timeout_opts)
            + "gave up waiting".len()
            + headers_bytes(&req().opts.header);
        s.config.limits.max_store_bytes = s.bytes() + need - 1;
        let e = s.wf_wait(req()).unwrap_err();
        assert_eq!(e.status.as_u16(), 412, "{}", e.message);
        assert!(s.wf_waiters("e").is_empty());
        s.config.limits.max_store_bytes += 1;
        assert!(matches!(s.wf_wait(req()).unwrap(), Waited::Waiting { .. }));
        let waiters = s.wf_waiters("e");
        assert_eq!(serde_json::to_string(&waiters[0].step).unwrap(), step);
        assert_eq!(waiters[0].bytes, need);
    }

    #[test]
    fn a_kept_event_handed_over_needs_room_for_its_message_url_and_caller_ip_included() {
        let mut s = store(Limits {
            max_log_entries: 0,
            ..Limits::default()
        });
        publish(&mut s, opts("wfr_k", true)).unwrap();
        s.wf_keep_event("wfr_k", "e", Bytes::from_static(b"paid"))
            .unwrap();
        let message = opts("wfr_k", false);
        let mut step = wait_req("wfr_k", "e", 1_000).step;
        step.insert("waitEventId".into(), json!("e"));
        let body = event_body(&step, b"paid");
        let need = super::super::options_bytes(&message)
            + super::super::PAYLOAD_BYTES
            + body.len()
            + 4 * RECORD_BYTES
            + 64
            + "http://127.0.0.1:1/wf".len()
            + "127.0.0.1".len();
        let queued = s.messages.len();
        s.config.limits.max_store_bytes = s.bytes() + need - 1;
        let e = s.wf_wait(wait_req("wfr_k", "e", 1_000)).unwrap_err();
        assert_eq!(e.status.as_u16(), 412, "{}", e.message);
        assert_eq!(s.messages.len(), queued, "nothing was queued");
        assert!(
            s.run("wfr_k").unwrap().notified.contains_key("e"),
            "the event stays kept"
        );
        s.config.limits.max_store_bytes += 1;
        let Waited::Delivered { message_id } = s.wf_wait(wait_req("wfr_k", "e", 1_000)).unwrap()
        else {
            panic!("delivered");
        };
        assert_eq!(s.messages[&message_id].info.body.bytes, body);
        assert!(s.run("wfr_k").unwrap().notified.is_empty());
    }

    #[test]
    fn a_notify_makes_room_for_every_delivery_first_and_a_byte_short_notifies_nobody() {
        let mut s = store(Limits {
            max_log_entries: 0,
            ..Limits::default()
        });
        for run in ["wfr_n1", "wfr_n2"] {
            publish(&mut s, opts(run, true)).unwrap();
            s.wf_wait(wait_req(run, "e", 60_000)).unwrap();
        }
        let data = Bytes::from_static(b"paid in full");
        // Each delivery: its options, its body (the event in the step's
        // JSON), its records, URL and caller IP.
        let each = |run: &str| {
            let mut step = wait_req(run, "e", 60_000).step;
            step.insert("waitEventId".into(), json!("e"));
            super::super::options_bytes(&opts(run, false))
                + super::super::PAYLOAD_BYTES
                + event_body(&step, &data).len()
                + 4 * RECORD_BYTES
                + 64
                + "http://127.0.0.1:1/wf".len()
                + "127.0.0.1".len()
        };
        let need = each("wfr_n1") + each("wfr_n2");
        let queued = s.messages.len();
        s.config.limits.max_store_bytes = s.bytes() + need - 1;
        let e = s.wf_notify("e", None, &data).unwrap_err();
        assert_eq!(e.status.as_u16(), 412, "{}", e.message);
        assert_eq!(s.wf_waiters("e").len(), 2, "nobody was notified");
        assert_eq!(s.messages.len(), queued);
        s.config.limits.max_store_bytes += 1;
        assert_eq!(s.wf_notify("e", None, &data).unwrap().len(), 2);
        assert!(s.wf_waiters("e").is_empty());
        assert_eq!(s.messages.len(), queued + 2);
    }

    #[test]
    fn an_event_kept_for_a_run_needs_room_for_its_data_its_name_and_a_record() {
        let mut s = store(Limits {
            max_log_entries: 0,
            ..Limits::default()
        });
        publish(&mut s, opts("wfr_k", true)).unwrap();
        let data = Bytes::from_static(b"paid in full");
        let need = data.len() + "order-paid".len() + 32;
        s.config.limits.max_store_bytes = s.bytes() + need - 1;
        let e = s
            .wf_keep_event("wfr_k", "order-paid", data.clone())
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 412, "{}", e.message);
        assert!(s.run("wfr_k").unwrap().notified.is_empty());
        s.config.limits.max_store_bytes += 1;
        s.wf_keep_event("wfr_k", "order-paid", data.clone())
            .unwrap();
        assert_eq!(s.run("wfr_k").unwrap().notified["order-paid"], data);
    }
}
