//! Typed options for starting Upstash Workflow runs.
//!
//! [`WorkflowOptions`] becomes the `Upstash-*` headers that
//! `POST /v2/trigger/{workflowUrl}` declares (run id, retries, retry delay,
//! delay, not-before, labels, flow control, failure callback), including the
//! wildcard families the generated builders cannot send
//! (`Upstash-Forward-*`, `Upstash-Failure-Callback-Forward-*`). It shares
//! [`MessageOptions`]' checks and header formats; what a run does not take
//! (callbacks, timeouts, deduplication, ...) it does not offer.
//! [`WorkflowTrigger`] is one run of `trigger_workflows` (the batch
//! trigger, whose entries carry the same headers in the body); it exists
//! when the Workflow document states that operation (the oldest upstream
//! versions do not: see `qstash_operation` in `MAINTAINING.md`).
//!
//! ```no_run
//! use std::time::Duration;
//! use qstash::{Body, FlowControl, WorkflowOptions};
//!
//! # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
//! let started = client
//!     .trigger_workflow()
//!     .workflow_url("https://app.example.com/api/onboarding")
//!     .payload(Body::json(&serde_json::json!({"user": 42}))?)
//!     .options(
//!         WorkflowOptions::new()
//!             .run_id("user-42")
//!             .forward_header("X-Tenant", "acme")
//!             .delay(Duration::from_secs(60))
//!             .retries(2)
//!             .flow_control(FlowControl::new("tenant-acme").parallelism(3))
//!             .label("onboarding")
//!             .failure_callback("https://app.example.com/api/onboarding-failed"),
//!     )
//!     .send()
//!     .await?;
//! println!("run {:?}", started.workflow_run_id);
//! # Ok(()) }
//! ```

#[cfg(qstash_operation = "trigger_workflows")]
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::Error;
use crate::generated::builder;
#[cfg(qstash_operation = "trigger_workflows")]
use crate::generated::types;
#[cfg(qstash_operation = "trigger_workflows")]
use crate::message::invalid;
use crate::message::{Body, Callback, FlowControl, Headers, MessageOptions, Target, non_empty};

/// Every option of starting a workflow run. Unset options are not sent, so
/// the service's defaults apply.
///
/// Checked when the request is sent (before anything leaves): an invalid
/// option fails `send` with [`Error::InvalidOption`] naming it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct WorkflowOptions {
    run_id: Option<String>,
    /// The options a run shares with a message, with their checks.
    message: MessageOptions,
    failure_callback: Option<String>,
    failure_callback_forward_headers: Vec<(String, String)>,
}

impl WorkflowOptions {
    /// No options set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The new run's id (`Upstash-Workflow-RunId`), sent as given (workflow-js
    /// prefixes `wfr_` to an id it is given; this client does not); without
    /// it the service makes one up.
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }

    /// A header for the workflow: sent as `Upstash-Forward-<name>`, which the
    /// workflow receives as `<name>`. `Content-Type` and `Upstash-*` headers
    /// go as they are, as with [`MessageOptions::forward_header`].
    pub fn forward_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.message = self.message.forward_header(name, value);
        self
    }

    /// Starts the run after this delay (whole seconds, rounded up; at most
    /// [`MAX_DELAY`](crate::MAX_DELAY)).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.message = self.message.delay(delay);
        self
    }

    /// Starts the run no earlier than this time (takes precedence over a delay).
    pub fn not_before(mut self, at: SystemTime) -> Self {
        self.message = self.message.not_before(at);
        self
    }

    /// How many times a failing step is tried again (the service's default: 3).
    pub fn retries(mut self, retries: u32) -> Self {
        self.message = self.message.retries(retries);
        self
    }

    /// Milliseconds between the retries of a failing step, as an expression
    /// over `retried` (`1000 * (1 + retried)`); without it, backoff is
    /// exponential.
    pub fn retry_delay(mut self, expression: impl Into<String>) -> Self {
        self.message = self.message.retry_delay(expression);
        self
    }

    /// Limits shared by the steps of every run with the same key.
    pub fn flow_control(mut self, flow_control: FlowControl) -> Self {
        self.message = self.message.flow_control(flow_control);
        self
    }

    /// Adds a label of the run (logs and the workflow DLQ filter on them);
    /// call again for more.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.message = self.message.label(label);
        self
    }

    /// A URL (http or https) called when the run has failed for good, in
    /// place of the failure function the workflow serves itself.
    pub fn failure_callback(mut self, url: impl Into<String>) -> Self {
        self.failure_callback = Some(url.into());
        self
    }

    /// A header for the failure callback: sent as
    /// `Upstash-Failure-Callback-Forward-<name>`. It reaches the failure
    /// callback URL, or the workflow's own failure function without one.
    pub fn failure_callback_forward_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.failure_callback_forward_headers
            .push((name.into(), value.into()));
        self
    }

    /// Checks every option and turns them into request headers.
    pub(crate) fn to_headers(&self) -> Result<HeaderMap, Error> {
        let mut message = self.message.clone();
        if let Some(url) = &self.failure_callback {
            message = message.failure_callback(Callback::new(url.clone()));
        }
        let mut h = Headers(message.to_headers(Target::Message)?);
        if let Some(id) = &self.run_id {
            non_empty("run_id", id)?;
            h.add("run_id", "Upstash-Workflow-RunId", id)?;
        }
        for (name, value) in &self.failure_callback_forward_headers {
            h.add(
                "failure_callback_forward_header",
                &format!("Upstash-Failure-Callback-Forward-{name}"),
                value,
            )?;
        }
        Ok(h.0)
    }
}

impl<'a> builder::TriggerWorkflow<'a> {
    /// The run's options (run id, forwarded headers, delay, retries, flow
    /// control, labels, failure callback), checked and sent as headers; the
    /// typed way to set what the raw `upstash_*` setters set. An invalid
    /// option fails `send` with [`Error::InvalidOption`] before anything is
    /// sent. Called again, the last options win.
    ///
    /// ```no_run
    /// use qstash::{Body, WorkflowOptions};
    ///
    /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
    /// client
    ///     .trigger_workflow()
    ///     .workflow_url("https://app.example.com/api/report")
    ///     .payload(Body::text("2026-12"))
    ///     .options(
    ///         WorkflowOptions::new()
    ///             .forward_header("Authorization", "Bearer app-secret")
    ///             .failure_callback_forward_header("X-Alert-Channel", "ops"),
    ///     )
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn options(mut self, options: WorkflowOptions) -> Self {
        self.request_state.set_headers(options.to_headers());
        self
    }

    /// The run's input and its `Content-Type`.
    ///
    /// ```no_run
    /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
    /// client
    ///     .trigger_workflow()
    ///     .workflow_url("https://app.example.com/api/report")
    ///     .payload(qstash::Body::json(&serde_json::json!({"month": "2026-12"}))?)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn payload(self, body: Body) -> Self {
        self.content_type(body.content_type).body(body.bytes)
    }
}

#[cfg(qstash_operation = "trigger_workflows")]
/// One run of a batch trigger (`trigger_workflows`): the workflow's URL, an
/// input and options.
///
/// ```no_run
/// use qstash::{Body, WorkflowOptions, WorkflowTrigger};
///
/// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
/// let started = client
///     .trigger_workflows()
///     .runs([
///         WorkflowTrigger::new("https://app.example.com/api/onboarding")
///             .payload(Body::json(&serde_json::json!({"user": 1}))?)
///             .options(WorkflowOptions::new().run_id("user-1")),
///         WorkflowTrigger::new("https://app.example.com/api/billing")
///             .options(WorkflowOptions::new().label("nightly").retries(1)),
///     ])
///     .send()
///     .await?;
/// assert_eq!(started.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct WorkflowTrigger {
    workflow_url: String,
    body: Option<Body>,
    options: WorkflowOptions,
}

#[cfg(qstash_operation = "trigger_workflows")]
impl WorkflowTrigger {
    /// A run of the workflow served at `workflow_url`.
    pub fn new(workflow_url: impl Into<String>) -> Self {
        Self {
            workflow_url: workflow_url.into(),
            body: None,
            options: WorkflowOptions::new(),
        }
    }

    /// The run's input (text only: batch bodies travel inside JSON).
    pub fn payload(mut self, body: Body) -> Self {
        self.body = Some(body);
        self
    }

    /// The run's options.
    pub fn options(mut self, options: WorkflowOptions) -> Self {
        self.options = options;
        self
    }

    /// The run as an item of the batch body; an error names the run by
    /// its index.
    fn into_item(self, index: usize) -> Result<types::TriggerWorkflowsBodyItem, Error> {
        let at = |e: Error| match e {
            Error::InvalidOption { option, reason } => Error::InvalidOption {
                option: format!("run {index}: {option}"),
                reason,
            },
            other => other,
        };
        let map = self.options.to_headers().map_err(at)?;
        let mut headers: HashMap<String, String> = HashMap::new();
        for (name, value) in &map {
            let value = value
                .to_str()
                .map_err(|_| at(invalid(name.as_str(), "is not visible ASCII")))?;
            headers
                .entry(name.to_string())
                .and_modify(|v| {
                    v.push(',');
                    v.push_str(value);
                })
                .or_insert_with(|| value.to_string());
        }
        let body = match self.body {
            None => None,
            Some(b) => {
                headers.insert("content-type".into(), b.content_type);
                Some(String::from_utf8(b.bytes.to_vec()).map_err(|_| {
                    at(invalid(
                        "body",
                        "is not UTF-8 text (batch bodies travel inside JSON)",
                    ))
                })?)
            }
        };
        Ok(types::TriggerWorkflowsBodyItem {
            body,
            destination: self.workflow_url,
            headers,
        })
    }
}

#[cfg(qstash_operation = "trigger_workflows")]
impl<'a> builder::TriggerWorkflows<'a> {
    /// The runs to start, each with its own input and options, in order;
    /// `send` answers one result per run, in the same order. An invalid
    /// run fails `send` with [`Error::InvalidOption`] naming it (`run 1:
    /// label`), before anything is sent. Called again, the last runs win.
    pub fn runs(mut self, runs: impl IntoIterator<Item = WorkflowTrigger>) -> Self {
        let items = runs
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.into_item(i))
            .collect::<Result<Vec<_>, _>>();
        match items {
            Ok(items) => {
                self.request_state.invalid_option = None;
                self.body(items)
            }
            Err(e) => {
                self.request_state.refuse(e);
                self
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn headers(o: &WorkflowOptions) -> Vec<(String, String)> {
        o.to_headers()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn every_option_has_the_header_the_trigger_declares() {
        let h = headers(
            &WorkflowOptions::new()
                .run_id("wfr_user-42")
                .forward_header("X-Tenant", "acme")
                .delay(Duration::from_millis(90_500))
                .not_before(UNIX_EPOCH + Duration::from_secs(1_900_000_000))
                .retries(0)
                .retry_delay("1000 * (1 + retried)")
                .flow_control(FlowControl::new("tenant-1").parallelism(2).rate(10))
                .label("a")
                .label("b")
                .failure_callback("https://example.com/failed")
                .failure_callback_forward_header("X-Trace", "t-1"),
        );
        let expected = [
            ("upstash-forward-x-tenant", "acme"),
            ("upstash-delay", "91s"),
            ("upstash-not-before", "1900000000"),
            ("upstash-retries", "0"),
            ("upstash-retry-delay", "1000 * (1 + retried)"),
            ("upstash-failure-callback", "https://example.com/failed"),
            ("upstash-flow-control-key", "tenant-1"),
            ("upstash-flow-control-value", "parallelism=2, rate=10"),
            ("upstash-label", "a,b"),
            ("upstash-workflow-runid", "wfr_user-42"),
            ("upstash-failure-callback-forward-x-trace", "t-1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(h, expected);
        assert!(headers(&WorkflowOptions::new()).is_empty());
    }

    #[test]
    fn failure_callback_headers_go_without_a_url_too() {
        // Without a URL they reach the workflow's own failure function.
        let h = headers(&WorkflowOptions::new().failure_callback_forward_header("X-A", "1"));
        assert_eq!(
            h,
            [(
                "upstash-failure-callback-forward-x-a".to_string(),
                "1".to_string()
            )]
        );
    }

    #[test]
    fn invalid_options_are_named() {
        for (options, option) in [
            (WorkflowOptions::new().run_id(" "), "run_id"),
            (WorkflowOptions::new().run_id("a\nb"), "run_id"),
            (
                WorkflowOptions::new().failure_callback("ftp://x/y"),
                "failure_callback",
            ),
            (
                WorkflowOptions::new().failure_callback_forward_header("Bad Name", "v"),
                "failure_callback_forward_header",
            ),
            (
                WorkflowOptions::new().forward_header("X-A", "line\nbreak"),
                "forward_header",
            ),
            (WorkflowOptions::new().label("a,b"), "label"),
            (
                WorkflowOptions::new().flow_control(FlowControl::new("k")),
                "flow_control",
            ),
        ] {
            match options.to_headers() {
                Err(Error::InvalidOption { option: got, .. }) => assert_eq!(got, option),
                other => panic!("{option}: {other:?}"),
            }
        }
    }

    #[cfg(qstash_operation = "trigger_workflows")]
    #[test]
    fn a_batch_run_carries_its_headers_and_body() {
        let item = WorkflowTrigger::new("https://app.example.com/wf")
            .payload(Body::text("hi"))
            .options(
                WorkflowOptions::new()
                    .run_id("r-1")
                    .forward_header("X-A", "1"),
            )
            .into_item(0)
            .unwrap();
        assert_eq!(item.destination, "https://app.example.com/wf");
        assert_eq!(item.body.as_deref(), Some("hi"));
        assert_eq!(
            item.headers,
            HashMap::from(
                [
                    ("upstash-workflow-runid", "r-1"),
                    ("upstash-forward-x-a", "1"),
                    ("content-type", "text/plain; charset=utf-8"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string()))
            )
        );
        let bare = WorkflowTrigger::new("https://app.example.com/wf")
            .into_item(0)
            .unwrap();
        assert_eq!((bare.body, bare.headers.len()), (None, 0));
        let err = WorkflowTrigger::new("https://app.example.com/wf")
            .payload(Body::bytes(vec![0xff], "application/octet-stream"))
            .into_item(3)
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidOption { option, .. } if option == "run 3: body"),
            "{err:?}"
        );
    }
}
