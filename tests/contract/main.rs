//! Contract tests: the client against the Prism mock server.
//!
//! Prism (`@stoplight/prism-cli`, pinned in package.json; `npm ci` installs
//! it) serves the spec, checks every request against it and answers from
//! it. Each test starts one Prism for one spec, puts a recording proxy
//! (tests/contract/proxy.rs) between the client and Prism, and calls every
//! operation through the public API: the generated builders, and the
//! layer's streams and bulk loops where users would use those. For every
//! call it checks that Prism found nothing wrong with the request (no
//! request-side `sl-violations` entry), that the status is the documented
//! one and that the body decoded into the generated type; every documented
//! error status is asked for with `Prefer: code=...` and must come back as
//! `qstash::Error::Api` with that status and a message.
//!
//! Coverage is computed (tests/contract/spec.rs): each recorded request is
//! matched to an operation of the spec and marks the parameters, body
//! media type, security scheme and error status it exercised. The test
//! fails naming every operation and parameter no call exercised, so an
//! operation or parameter added to the spec fails here until it is covered.
//!
//! `contract_against_our_spec` runs against openapi/qstash/openapi.yaml
//! with openapi/qstash/errata.yaml applied; `contract_against_upstream_latest`
//! against ../shared/qstash-openapi/upstream/latest.yaml with the same
//! errata, when it exists (SKIPPED otherwise): the same client, generated
//! from our spec, judged by the real contract as corrected. Prism's logs go to target/tmp/prism-*.log.
//!
//! The Workflow document gets the same two runs (tests/contract/workflow.rs:
//! openapi/workflow/openapi.yaml and ../shared/workflow-openapi/upstream/latest.yaml,
//! with openapi/workflow/errata.yaml and its names table), on this machinery:
//! `start_run` and `finish_run` take the document whose errata and names
//! apply, and `call_minimal` knows the operations of both documents (one
//! client).
//!
//! Needs Node.js and `npm ci` (scripts/test runs it): without
//! node_modules/.bin/prism the tests fail and say so.

#[path = "../common/mod.rs"]
mod common;
mod prism;
mod proxy;
mod spec;
mod workflow;

// The spec against the upstream documents (../shared).
mod drift;
mod upstream_versions;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::{Stream, StreamExt};
use qstash::pagination::{CursorRequest, Page, Pages};
use qstash::types;
use qstash::{AuthMode, Callback, Client, MessageOptions, ResponseValue};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use prism::Prism;
use proxy::{Exchange, Recorder, violation_is_request_side};
use spec::{Coverage, Spec};

const TOKEN: &str = "contract-test-token";
const DESTINATION: &str = "https://example.com/hooks/orders";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes straight to stderr, past the test harness's capture.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_against_our_spec() {
    run_contract("ours", &root().join("openapi/qstash/openapi.yaml")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_against_upstream_latest() {
    let latest = root().join("../shared/qstash-openapi/upstream/latest.yaml");
    if !latest.exists() {
        say(&format!(
            "\n!!!!!!!!\nSKIPPED: {} is missing: the contract tests did NOT run against the upstream spec.\n!!!!!!!!\n",
            latest.display()
        ));
        return;
    }
    run_contract("upstream-latest", &latest).await;
}

async fn run_contract(label: &str, spec_file: &Path) {
    let (mut run, prism) = start_run(label, spec_file, "qstash").await;

    unauthenticated(&mut run, &prism, "/v2/queues").await;
    messages(&mut run).await;
    bulk_actions(&mut run).await;
    queues(&mut run).await;
    schedules(&mut run).await;
    url_groups(&mut run).await;
    dlq(&mut run).await;
    flow_control(&mut run).await;
    signing_keys(&mut run).await;
    logs(&mut run).await;
    pagination(&mut run).await;
    query_parameter_auth(&mut run).await;
    documented_errors(&mut run).await;

    finish_run(run, prism);
}

/// Starts Prism on `spec_file` corrected by `openapi/{document}/errata.yaml`
/// (the contract is what the service does, as far as the errata know), with
/// the recorder in front of it, and reads the spec's coverage items with the
/// names table `openapi/{document}/operations.yaml`, as the build does.
async fn start_run(label: &str, spec_file: &Path, document: &str) -> (Run, Prism) {
    let started = Instant::now();
    let errata = root().join(format!("openapi/{document}/errata.yaml"));
    let spec = Spec::load(
        spec_file,
        &root().join(format!("openapi/{document}/operations.yaml")),
        &errata,
    )
    .unwrap_or_else(|e| panic!("cannot read the spec: {e}"));
    // Prism serves the corrected document: the contract is what the
    // service does, as far as the errata know.
    let (corrected, _) = qstash_codegen::load_corrected(spec_file, Some(&errata))
        .unwrap_or_else(|e| panic!("cannot apply the errata: {e}"));
    let served = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{label}-corrected.json"));
    std::fs::create_dir_all(served.parent().unwrap()).unwrap();
    std::fs::write(&served, serde_json::to_vec_pretty(&corrected).unwrap()).unwrap();
    let prism = Prism::start(&root(), &served, label);
    let recorder = Recorder::start(prism.addr).await;
    let run = Run {
        label: label.to_string(),
        started,
        spec,
        recorder,
        prism_log: prism.log.clone(),
        cov: Coverage::default(),
        failures: Vec::new(),
        mark: 0,
        last: None,
        deprecated_sent: BTreeSet::new(),
        response_side: BTreeSet::new(),
        retries: BTreeSet::new(),
        notes: BTreeSet::new(),
    };
    (run, prism)
}

/// Stops Prism, prints the summary and fails with every failed check and
/// every item of the spec that no call exercised.
fn finish_run(run: Run, prism: Prism) {
    let label = run.label.as_str();
    let missing = run.spec.missing(&run.cov);
    let summary = run.spec.summary(&run.cov);
    say(&format!(
        "contract ({label}, {} + errata.yaml): {summary}; {} requests in {:.1} s",
        run.spec.file.display(),
        run.recorder.len(),
        run.started.elapsed().as_secs_f64()
    ));
    for w in &run.response_side {
        say(&format!(
            "contract ({label}): Prism found its own answer off the spec (ignored): {w}"
        ));
    }
    for r in &run.retries {
        say(&format!("contract ({label}): the client retried: {r}"));
    }
    for w in &run.deprecated_sent {
        say(&format!(
            "contract ({label}): deprecated parameter sent on purpose, Prism warns: {w}"
        ));
    }
    for n in &run.notes {
        say(&format!("contract ({label}): NOTE: {n}"));
    }
    drop(prism);
    let mut report = Vec::new();
    if !run.failures.is_empty() {
        report.push(format!("{} failed checks:", run.failures.len()));
        report.extend(run.failures.iter().map(|f| format!("  - {f}")));
    }
    if !missing.is_empty() {
        report.push(format!(
            "{} items of {} that no test exercised:",
            missing.len(),
            run.spec.file.display()
        ));
        report.extend(missing.iter().map(|m| format!("  - {m}")));
    }
    assert!(
        report.is_empty(),
        "contract ({label}) against {}:\n{}\n(coverage: {summary}; Prism log: {})",
        run.spec.file.display(),
        report.join("\n"),
        run.prism_log.display()
    );
}

/// One contract run: the spec, the recorder in front of Prism, what was
/// covered and what failed.
struct Run {
    /// `ours`, `upstream-latest`, `workflow-ours`, ...
    label: String,
    started: Instant,
    spec: Spec,
    recorder: Recorder,
    prism_log: PathBuf,
    cov: Coverage,
    failures: Vec<String>,
    mark: usize,
    /// The last request recorded.
    last: Option<Exchange>,
    /// Prism's warnings about deprecated parameters the suite sent.
    deprecated_sent: BTreeSet<String>,
    /// Response-side `sl-violations` entries (about Prism's answers).
    response_side: BTreeSet<String>,
    /// Calls the client itself repeated (retry policy).
    retries: BTreeSet<String>,
    /// What the summary must say about a documented answer the client
    /// cannot take as a success (a documented 3xx).
    notes: BTreeSet<String>,
}

impl Run {
    /// A client talking to Prism through the recorder. `headers` go on
    /// every request (`Prefer`, and the wildcard header families the
    /// generated builders cannot send).
    fn client(&self, auth: AuthMode, headers: &[(&str, &str)]) -> Client {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        let http = reqwest::Client::builder()
            .default_headers(map)
            .pool_max_idle_per_host(0)
            .build()
            .expect("build the HTTP client");
        common::client_with(self.recorder.url(), TOKEN, |b| {
            b.auth_mode(auth).http_client(http)
        })
    }

    fn bearer(&self) -> Client {
        self.client(AuthMode::Bearer, &[])
    }

    fn fail(&mut self, msg: impl Into<String>) {
        self.failures.push(msg.into());
    }

    /// The requests made since the last call: recorded into the coverage
    /// and checked for request-side violations and undocumented parts.
    fn exchanges(&mut self, step: &str) -> Vec<(Exchange, Option<usize>)> {
        let new = self.recorder.since(self.mark);
        self.mark += new.len();
        let mut out = Vec::new();
        for ex in new {
            let matched = self.spec.record(&ex, &mut self.cov);
            for p in matched.problems {
                self.fail(format!("{step}: {p}"));
            }
            for v in ex.request_violations() {
                if self.spec.tolerated(matched.op, v) {
                    self.deprecated_sent.insert(format!("{v}"));
                    continue;
                }
                self.fail(format!(
                    "{step}: {}: Prism reports a request violation: {v}",
                    ex.describe()
                ));
            }
            for v in ex
                .violations
                .iter()
                .filter(|v| !violation_is_request_side(v))
            {
                // Prism's verdict on its own answer: about the spec's
                // examples, not the client; reported, not failed.
                let op = matched
                    .op
                    .map_or_else(String::new, |i| self.spec.ops[i].describe());
                self.response_side.insert(format!("{op}: {v}"));
            }
            if let Some(u) = &ex.violations_unreadable {
                self.fail(format!("{step}: {}: {u}", ex.describe()));
            }
            self.last = Some(ex.clone());
            out.push((ex, matched.op));
        }
        out
    }

    /// The one request made since the last check, a failure if there is
    /// not exactly one. The client may send the same request again after a
    /// 429 or a 5xx (its retry policy): such repeats count as one call, the
    /// last attempt is the answer, and the summary lists them.
    fn one(&mut self, step: &str) -> Option<(Exchange, Option<usize>)> {
        let mut exs = self.exchanges(step);
        let retried = exs.windows(2).all(|w| {
            let (a, b) = (&w[0].0, &w[1].0);
            (a.status == 429 || a.status >= 500 || a.status == 0)
                && (a.method.as_str(), a.target.as_str(), &a.body)
                    == (b.method.as_str(), b.target.as_str(), &b.body)
        });
        if exs.is_empty() || !retried {
            let seen: Vec<String> = exs.iter().map(|(e, _)| e.describe()).collect();
            self.fail(format!(
                "{step}: expected exactly one request, saw {}: {seen:?}",
                exs.len()
            ));
            return None;
        }
        if exs.len() > 1 {
            let statuses: Vec<u16> = exs.iter().map(|(e, _)| e.status).collect();
            self.retries.insert(format!(
                "{step}: {} attempts, statuses {statuses:?}",
                exs.len()
            ));
        }
        exs.pop()
    }

    /// A call that must succeed: one request, no request-side violation,
    /// the documented status, the body decoded into its generated type.
    async fn ok<T, E>(
        &mut self,
        step: &str,
        call: impl Future<Output = Result<ResponseValue<T>, E>>,
    ) -> Option<T>
    where
        E: Into<qstash::Error>,
    {
        let result = call.await;
        let one = self.one(step);
        let value = match result {
            Err(e) => {
                let e: qstash::Error = e.into();
                let detail = one
                    .as_ref()
                    .map(|(ex, _)| {
                        format!(
                            " [{}; response body {}]",
                            ex.describe(),
                            String::from_utf8_lossy(&ex.response_body)
                        )
                    })
                    .unwrap_or_default();
                self.fail(format!("{step}: {e}{detail}"));
                return None;
            }
            Ok(v) => v,
        };
        let status = value.status().as_u16();
        if let Some((ex, Some(op))) = &one {
            let success = self.spec.ops[*op].success.clone();
            if !success.contains(&status) {
                self.fail(format!(
                    "{step}: {}: status {status}, the spec documents {success:?}",
                    ex.describe()
                ));
            }
        }
        // The same verdict, from the headers the client itself received.
        if let Some(raw) = value.headers().get("sl-violations") {
            let list: Vec<serde_json::Value> =
                serde_json::from_slice(raw.as_bytes()).unwrap_or_default();
            let op = one.as_ref().and_then(|(_, op)| *op);
            for v in list.iter().filter(|v| violation_is_request_side(v)) {
                if !self.spec.tolerated(op, v) {
                    self.fail(format!("{step}: sl-violations seen by the client: {v}"));
                }
            }
        }
        Some(value.into_inner())
    }

    /// A call that must fail with `qstash::Error::Api` of `status` and a
    /// message; where the spec documents that status without a body, with
    /// no message and an empty body (Prism sends none).
    fn api_error<T: Debug>(&mut self, step: &str, status: u16, result: Result<T, qstash::Error>) {
        let one = self.one(step);
        let bodiless = one
            .as_ref()
            .and_then(|(_, op)| *op)
            .is_some_and(|op| self.spec.ops[op].errors_without_body.contains(&status));
        // The message Prism sent: the `error` field of its JSON body.
        let sent = one.and_then(|(ex, _)| {
            serde_json::from_slice::<serde_json::Value>(&ex.response_body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
        });
        match result {
            Err(qstash::Error::Api(e)) => {
                if e.status.as_u16() != status {
                    self.fail(format!("{step}: status {} instead of {status}", e.status));
                }
                if bodiless {
                    if e.message.is_some() || e.raw_body().is_none_or(|b| !b.is_empty()) {
                        self.fail(format!(
                            "{step}: the spec documents no body for {status}; decoded message {:?}, raw body {:?}",
                            e.message,
                            e.raw_body()
                        ));
                    }
                } else if e.message.as_deref().is_none_or(str::is_empty) || e.message != sent {
                    self.fail(format!(
                        "{step}: message {:?} decoded, Prism sent {sent:?} (raw body {:?})",
                        e.message,
                        e.raw_body()
                    ));
                }
            }
            Err(other) => self.fail(format!(
                "{step}: expected qstash::Error::Api({status}), got {other:?}"
            )),
            Ok(v) => self.fail(format!("{step}: expected an API error {status}, got {v:?}")),
        }
    }
}

// --- Prism's own 401 ----------------------------------------------------------

async fn unauthenticated(run: &mut Run, prism: &Prism, path: &str) {
    // Straight to Prism, not through the recorder: no client of this crate
    // can send a request without its token.
    let url = format!("http://{}{path}", prism.addr);
    match reqwest::get(&url).await {
        Ok(r) if r.status() == 401 => {}
        Ok(r) => run.fail(format!(
            "GET {url} without credentials: status {} instead of 401",
            r.status()
        )),
        Err(e) => run.fail(format!("GET {url} without credentials: {e}")),
    }
}

// --- Messages -----------------------------------------------------------------

/// The three documented kinds of raw message body.
fn body_kinds() -> [(&'static str, Vec<u8>); 3] {
    [
        ("text/plain", b"hello from the contract tests".to_vec()),
        (
            "application/json",
            br#"{"order": 42, "items": ["a", "b"]}"#.to_vec(),
        ),
        ("application/octet-stream", vec![0u8, 159, 146, 150, 255, 1]),
    ]
}

/// One header of each wildcard family. The generated builders cannot send
/// them (the normalization takes the families out for the hand-written
/// layer): the layer's typed message options do, on one publish, enqueue and
/// create_schedule call each.
fn wildcard_options() -> MessageOptions {
    MessageOptions::new()
        .forward_header("X-Order-Source", "contract-test")
        .callback(
            Callback::new("https://example.com/callback")
                .retries(2)
                .forward_header("X-Trace", "trace-1"),
        )
        .failure_callback(
            Callback::new("https://example.com/failure")
                .retries(1)
                .forward_header("X-Trace", "trace-2"),
        )
}

async fn messages(run: &mut Run) {
    let c = run.bearer();

    for (i, (media, body)) in body_kinds().into_iter().enumerate() {
        // Every header parameter once with the first kind; the wildcard
        // families with the second.
        let client = &c;
        let mut publish = client
            .publish()
            .destination(DESTINATION)
            .content_type(media)
            .body(body.clone());
        if i == 0 {
            publish = publish
                .upstash_method(types::PublishUpstashMethod::Put)
                .upstash_timeout("30s")
                .upstash_retries(3)
                .upstash_retry_delay("pow(2, retried) * 1000")
                .upstash_delay("10s")
                .upstash_not_before(1_900_000_000i64)
                .upstash_label("billing")
                .upstash_flow_control_key("tenant-1")
                .upstash_flow_control_value("parallelism=2, rate=10, period=1m")
                .upstash_deduplication_id("dedup-1")
                .upstash_content_based_deduplication(
                    types::PublishUpstashContentBasedDeduplication::True,
                )
                .upstash_callback("https://example.com/callback")
                .upstash_failure_callback("https://example.com/failure")
                .upstash_redact_fields("body,header[Authorization]");
        }
        let step = format!("publish ({media})");
        let sent = if i == 1 {
            run.ok(&step, publish.options(wildcard_options()).send())
                .await
        } else {
            run.ok(&step, publish.send()).await
        };
        if let Some(r) = sent {
            // Prism's example for a URL destination is a single message.
            match &r {
                types::PublishResult::PublishResponse(m) if m.message_id.is_some() => {}
                other => run.fail(format!(
                    "{step}: expected one message with a messageId, decoded {other:?}"
                )),
            }
        }
        check_body_sent(run, &step, media, &body);

        let mut enqueue = client
            .enqueue()
            .queue_name("orders")
            .destination(DESTINATION)
            .content_type(media)
            .body(body.clone());
        if i == 0 {
            enqueue = enqueue
                .upstash_method(types::EnqueueUpstashMethod::Post)
                .upstash_timeout("30s")
                .upstash_retries(2)
                .upstash_retry_delay("1000")
                .upstash_label("billing")
                .upstash_deduplication_id("dedup-2")
                .upstash_content_based_deduplication(
                    types::EnqueueUpstashContentBasedDeduplication::False,
                )
                .upstash_callback("https://example.com/callback")
                .upstash_failure_callback("https://example.com/failure")
                .upstash_redact_fields("body");
        }
        let step = format!("enqueue ({media})");
        if i == 1 {
            run.ok(&step, enqueue.options(wildcard_options()).send())
                .await;
        } else {
            run.ok(&step, enqueue.send()).await;
        }
        check_body_sent(run, &step, media, &body);
    }

    let items = vec![
        types::BatchBodyItem {
            destination: DESTINATION.into(),
            body: Some(r#"{"order": 1}"#.into()),
            headers: HashMap::from([
                ("Content-Type".to_string(), "application/json".to_string()),
                ("Upstash-Delay".to_string(), "5s".to_string()),
            ]),
            queue: Some("orders".into()),
        },
        types::BatchBodyItem {
            destination: "my-url-group".into(),
            body: None,
            headers: HashMap::new(),
            queue: None,
        },
    ];
    if let Some(r) = run.ok("batch", c.batch().body(items.clone()).send()).await
        && r.is_empty()
    {
        run.fail("batch: empty response list");
    }

    run.ok("get_message", c.get_message().message_id("msg_1").send())
        .await;
    run.ok(
        "cancel_message",
        c.cancel_message().message_id("msg_1").send(),
    )
    .await;
    run.ok(
        "cancel_messages (every filter)",
        c.cancel_messages()
            .message_ids(["msg_1", "msg_2"])
            .topic_name(["group-a", "group-b"])
            .queue_name(["orders", "invoices"])
            .url(["https://example.com/a", "https://example.com/b"])
            .host(["example.com", "example.org"])
            .path(["/a", "/b"])
            .label(["billing", "urgent"])
            .flow_control_key(["tenant-1", "tenant-2"])
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .schedule_id(["scd_1", "scd_2"])
            .caller_ip(["10.0.0.1", "10.0.0.2"])
            .async_(true)
            .count(10)
            .send(),
    )
    .await;
}

/// The request just made carried `body` with exactly one Content-Type, `media`.
fn check_body_sent(run: &mut Run, step: &str, media: &str, body: &[u8]) {
    let Some(ex) = run.last.clone() else {
        return;
    };
    let types = ex.header("content-type");
    if types != [media] {
        run.fail(format!(
            "{step}: Content-Type headers sent {types:?}, expected exactly [{media:?}]"
        ));
    }
    if ex.body != body {
        run.fail(format!("{step}: body sent differs from the one given"));
    }
}

// --- Bulk actions ---------------------------------------------------------------

async fn bulk_actions(run: &mut Run) {
    let c = run.bearer();
    run.ok(
        "list_bulk_actions",
        c.list_bulk_actions()
            .count(10)
            .cursor("cursor-1")
            .state(types::ListBulkActionsState::InProgress)
            .send(),
    )
    .await;
    run.ok(
        "get_bulk_action",
        c.get_bulk_action().action_id("act_1").send(),
    )
    .await;
}

// --- Queues -----------------------------------------------------------------------

async fn queues(run: &mut Run) {
    let c = run.bearer();
    run.ok("list_queues", c.list_queues().send()).await;
    run.ok(
        "upsert_queue",
        c.upsert_queue()
            .body(types::UpsertQueueBody {
                queue_name: "orders".into(),
                parallelism: std::num::NonZeroU64::new(4).unwrap(),
                paused: Some(true),
            })
            .send(),
    )
    .await;
    run.ok("get_queue", c.get_queue().queue_name("orders").send())
        .await;
    run.ok("pause_queue", c.pause_queue().queue_name("orders").send())
        .await;
    run.ok("resume_queue", c.resume_queue().queue_name("orders").send())
        .await;
    run.ok("delete_queue", c.delete_queue().queue_name("orders").send())
        .await;
}

// --- Schedules ----------------------------------------------------------------------

async fn schedules(run: &mut Run) {
    let c = run.bearer();
    for (i, (media, body)) in body_kinds().into_iter().enumerate() {
        let mut create = c
            .create_schedule()
            .destination(DESTINATION)
            .upstash_cron("*/5 * * * *")
            .content_type(media)
            .body(body.clone());
        if i == 0 {
            create = create
                .upstash_schedule_id("scd_nightly")
                .upstash_method(types::CreateScheduleUpstashMethod::Patch)
                .upstash_timeout("30s")
                .upstash_retries(1)
                .upstash_retry_delay("2000")
                .upstash_delay("1m")
                .upstash_callback("https://example.com/callback")
                .upstash_failure_callback("https://example.com/failure")
                .upstash_redact_fields("body")
                .upstash_label("nightly")
                .upstash_queue_name("orders");
        }
        let step = format!("create_schedule ({media})");
        let created = if i == 1 {
            run.ok(&step, create.options(wildcard_options()).send())
                .await
        } else {
            run.ok(&step, create.send()).await
        };
        if let Some(r) = created
            && r.schedule_id.is_none()
        {
            run.fail(format!("{step}: no scheduleId in {r:?}"));
        }
        check_body_sent(run, &step, media, &body);
    }
    run.ok("list_schedules", c.list_schedules().send()).await;
    run.ok("get_schedule", c.get_schedule().schedule_id("scd_1").send())
        .await;
    run.ok(
        "pause_schedule",
        c.pause_schedule().schedule_id("scd_1").send(),
    )
    .await;
    run.ok(
        "resume_schedule",
        c.resume_schedule().schedule_id("scd_1").send(),
    )
    .await;
    run.ok(
        "delete_schedule",
        c.delete_schedule().schedule_id("scd_1").send(),
    )
    .await;
}

// --- URL Groups -----------------------------------------------------------------------

async fn url_groups(run: &mut Run) {
    let c = run.bearer();
    run.ok(
        "add_url_group_endpoints",
        c.add_url_group_endpoints()
            .url_group_name("my-url-group")
            .body(types::AddUrlGroupEndpointsBody {
                endpoints: vec![
                    types::AddUrlGroupEndpointsBodyEndpointsItem {
                        name: Some("primary".into()),
                        url: "https://example.com/a".into(),
                    },
                    types::AddUrlGroupEndpointsBodyEndpointsItem {
                        name: None,
                        url: "https://example.com/b".into(),
                    },
                ],
            })
            .send(),
    )
    .await;
    run.ok("list_url_groups", c.list_url_groups().send()).await;
    run.ok(
        "get_url_group",
        c.get_url_group().url_group_name("my-url-group").send(),
    )
    .await;
    run.ok(
        "remove_url_group_endpoints",
        c.remove_url_group_endpoints()
            .url_group_name("my-url-group")
            .body(types::RemoveUrlGroupEndpointsBody {
                endpoints: vec![
                    types::Endpoint {
                        name: Some("primary".into()),
                        url: None,
                    },
                    types::Endpoint {
                        name: None,
                        url: Some("https://example.com/b".into()),
                    },
                ],
            })
            .send(),
    )
    .await;
    run.ok(
        "delete_url_group",
        c.delete_url_group().url_group_name("my-url-group").send(),
    )
    .await;
}

// --- DLQ --------------------------------------------------------------------------------

async fn dlq(run: &mut Run) {
    let c = run.bearer();
    run.ok(
        "list_dlq_messages (every filter)",
        c.list_dlq_messages()
            .cursor("cursor-1")
            .message_id("msg_1")
            .url(["https://example.com/a", "https://example.com/b"])
            .topic_name(["group-a", "group-b"])
            .schedule_id(["scd_1", "scd_2"])
            .queue_name(["orders", "invoices"])
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .response_status(vec![500i64, 502])
            .caller_ip(["10.0.0.1", "10.0.0.2"])
            .label(["billing", "urgent"])
            .flow_control_key(["tenant-1", "tenant-2"])
            .dlq_ids(["dlq_1", "dlq_2"])
            .count(50)
            .send(),
    )
    .await;
    check_repeated_query(
        run,
        "list_dlq_messages (every filter)",
        "label",
        &["billing", "urgent"],
    );
    check_repeated_query(
        run,
        "list_dlq_messages (every filter)",
        "dlqIds",
        &["dlq_1", "dlq_2"],
    );
    check_repeated_query(
        run,
        "list_dlq_messages (every filter)",
        "responseStatus",
        &["500", "502"],
    );
    run.ok(
        "delete_dlq_messages (every filter)",
        c.delete_dlq_messages()
            .dlq_ids(["dlq_1", "dlq_2"])
            .cursor("cursor-1")
            .message_id("msg_1")
            .url(["https://example.com/a", "https://example.com/b"])
            .topic_name(["group-a", "group-b"])
            .schedule_id(["scd_1", "scd_2"])
            .queue_name(["orders", "invoices"])
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .response_status(vec![500i64, 502])
            .caller_ip(["10.0.0.1", "10.0.0.2"])
            .label(["billing", "urgent"])
            .flow_control_key(["tenant-1", "tenant-2"])
            .count(50)
            .send(),
    )
    .await;
    check_repeated_query(
        run,
        "delete_dlq_messages (every filter)",
        "dlqIds",
        &["dlq_1", "dlq_2"],
    );
    run.ok(
        "get_dlq_message",
        c.get_dlq_message().dlq_id("dlq_1").send(),
    )
    .await;
    run.ok(
        "retry_dlq_message",
        c.retry_dlq_message().dlq_id("dlq_1").send(),
    )
    .await;
    run.ok(
        "retry_dlq_messages (every filter)",
        c.retry_dlq_messages()
            .dlq_ids(["dlq_1", "dlq_2"])
            .message_id("msg_1")
            .url(["https://example.com/a", "https://example.com/b"])
            .topic_name(["group-a", "group-b"])
            .schedule_id(["scd_1", "scd_2"])
            .queue_name(["orders", "invoices"])
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .response_status(vec![500i64, 502])
            .caller_ip(["10.0.0.1", "10.0.0.2"])
            .label(["billing", "urgent"])
            .flow_control_key(["tenant-1", "tenant-2"])
            .cursor("cursor-1")
            .count(10)
            .send(),
    )
    .await;
    run.ok(
        "delete_dlq_message",
        c.delete_dlq_message().dlq_id("dlq_1").send(),
    )
    .await;
}

/// The last request sent `name` once per value, in order.
fn check_repeated_query(run: &mut Run, step: &str, name: &str, values: &[&str]) {
    let Some(ex) = run.last.clone() else {
        return;
    };
    let sent = ex.query_values(name);
    if sent != values {
        run.fail(format!(
            "{step}: query `{name}` sent as {sent:?}, expected one pair per value {values:?} ({})",
            ex.target
        ));
    }
}

// --- Flow control -------------------------------------------------------------------------

async fn flow_control(run: &mut Run) {
    let c = run.bearer();
    run.ok("list_flow_control_keys", c.list_flow_control_keys().send())
        .await;
    run.ok(
        "get_flow_control_key",
        c.get_flow_control_key().flow_control_key("tenant-1").send(),
    )
    .await;
    run.ok(
        "pause_flow_control_key",
        c.pause_flow_control_key()
            .flow_control_key("tenant-1")
            .send(),
    )
    .await;
    run.ok(
        "resume_flow_control_key",
        c.resume_flow_control_key()
            .flow_control_key("tenant-1")
            .send(),
    )
    .await;
    run.ok(
        "pin_flow_control_key",
        c.pin_flow_control_key()
            .flow_control_key("tenant-1")
            .parallelism(4)
            .rate(100)
            .period(60)
            .send(),
    )
    .await;
    run.ok(
        "unpin_flow_control_key",
        c.unpin_flow_control_key()
            .flow_control_key("tenant-1")
            .parallelism(true)
            .rate(true)
            .send(),
    )
    .await;
    run.ok(
        "reset_flow_control_rate",
        c.reset_flow_control_rate()
            .flow_control_key("tenant-1")
            .send(),
    )
    .await;
    run.ok("get_global_parallelism", c.get_global_parallelism().send())
        .await;
}

// --- Signing keys, logs ---------------------------------------------------------------------

async fn signing_keys(run: &mut Run) {
    let c = run.bearer();
    run.ok("get_signing_keys", c.get_signing_keys().send())
        .await;
    run.ok("rotate_signing_keys", c.rotate_signing_keys().send())
        .await;
}

async fn logs(run: &mut Run) {
    let c = run.bearer();
    run.ok(
        "list_logs (every filter)",
        c.list_logs()
            .cursor("cursor-1")
            .message_id("msg_1")
            .state(types::ListLogsState::Delivered)
            .url(["https://example.com/a", "https://example.com/b"])
            .topic_name("group-a")
            .schedule_id("scd_1")
            .queue_name(["orders", "invoices"])
            .from_date(1_700_000_000_000i64)
            .to_date(1_800_000_000_000i64)
            .count(25)
            .label(["billing", "urgent"])
            .host("example.com")
            .path("/hooks/orders")
            .flow_control_key("tenant-1")
            .caller_ip("10.0.0.1")
            .message_ids(["msg_1", "msg_2"])
            .send(),
    )
    .await;
    check_repeated_query(
        run,
        "list_logs (every filter)",
        "label",
        &["billing", "urgent"],
    );
    check_repeated_query(
        run,
        "list_logs (every filter)",
        "messageIds",
        &["msg_1", "msg_2"],
    );
}

// --- Cursor streams and bulk loops ------------------------------------------------------------

/// Drains a stream (at most 50 items: a broken guard must not hang the suite).
async fn drain<S, T>(mut stream: S) -> Vec<Result<T, qstash::Error>>
where
    S: Stream<Item = Result<T, qstash::Error>> + Unpin,
{
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        out.push(item);
        if out.len() >= 50 {
            break;
        }
    }
    out
}

fn is_repeated(r: &Result<impl Debug, qstash::Error>, operation: &str, page: usize) -> bool {
    matches!(r, Err(qstash::Error::RepeatedCursor { operation: o, page: p }) if *o == operation && *p == page)
}

/// Static Prism answers every page with the same cursor: `max_pages(3)`
/// yields pages 1 and 2, then `RepeatedCursor` on page 2, then ends; the
/// second request carries page 1's cursor and the same filters.
async fn static_pages<R>(run: &mut Run, step: &str, request: R) -> Option<R::Page>
where
    R: CursorRequest,
    R::Page: Debug + Clone,
{
    let mut pages = Pages::new(request).max_pages(3);
    let mut results = Vec::new();
    while let Some(r) = pages.next().await {
        results.push(r);
        if results.len() > 5 {
            break;
        }
    }
    let exs = run.exchanges(step);
    let first = match results.first() {
        Some(Ok(p)) => p.clone(),
        other => {
            run.fail(format!("{step}: first page: {other:?}"));
            return None;
        }
    };
    let Some(cursor) = first.next_cursor().map(str::to_owned) else {
        run.fail(format!(
            "{step}: Prism's first page has no cursor, so paging cannot be shown: {first:?}"
        ));
        return Some(first);
    };
    let shape_ok = results.len() == 3
        && results[1].is_ok()
        && is_repeated(&results[2], R::OPERATION, 2)
        && pages.pages_fetched() == 2
        && pages.next_cursor() == Some(cursor.as_str());
    if !shape_ok {
        run.fail(format!(
            "{step}: expected [page, page, RepeatedCursor {{ page: 2 }}] and 2 pages fetched, got {results:?} ({} fetched)",
            pages.pages_fetched()
        ));
    }
    check_cursor_chain(run, step, &exs, &[cursor]);
    Some(first)
}

/// Requests 2.. carry the cursors of the pages before them, and every
/// request the same other parameters as the first.
fn check_cursor_chain(
    run: &mut Run,
    step: &str,
    exs: &[(Exchange, Option<usize>)],
    cursors: &[String],
) {
    if exs.len() != cursors.len() + 1 {
        run.fail(format!(
            "{step}: {} requests, expected {}",
            exs.len(),
            cursors.len() + 1
        ));
        return;
    }
    let filters = |ex: &Exchange| -> Vec<(String, String)> {
        ex.query()
            .into_iter()
            .filter(|(k, _)| k != "cursor")
            .collect()
    };
    let first_filters = filters(&exs[0].0);
    for (i, ((ex, _), cursor)) in exs[1..].iter().zip(cursors).enumerate() {
        if ex.query_values("cursor") != [cursor.clone()] {
            run.fail(format!(
                "{step}: request {} should continue from cursor {cursor:?}: {}",
                i + 2,
                ex.target
            ));
        }
        if filters(ex) != first_filters {
            run.fail(format!(
                "{step}: request {} changed the filters: {} vs {}",
                i + 2,
                ex.target,
                exs[0].0.target
            ));
        }
    }
}

/// With `Prefer: dynamic=true` every page has a fresh cursor: `max_pages(3)`
/// yields exactly 3 pages and ends cleanly, remembering where to resume.
async fn dynamic_pages<R>(run: &mut Run, step: &str, request: R)
where
    R: CursorRequest,
    R::Page: Debug,
{
    let mut pages = Pages::new(request).max_pages(3);
    let mut results = Vec::new();
    while let Some(r) = pages.next().await {
        results.push(r);
        if results.len() > 5 {
            break;
        }
    }
    let exs = run.exchanges(step);
    let cursors: Vec<Option<String>> = results
        .iter()
        .map(|r| {
            r.as_ref()
                .ok()
                .and_then(|p| p.next_cursor().map(str::to_owned))
        })
        .collect();
    let clean = results.len() == 3
        && results.iter().all(Result::is_ok)
        && cursors.iter().all(Option::is_some)
        && pages.pages_fetched() == 3
        && pages.next_cursor() == cursors[2].as_deref();
    // Prism draws cursors from a small lorem-ipsum vocabulary, so a cursor
    // can come back by chance: then the guard must have stopped the stream
    // right after the page that repeated it, and nowhere else.
    let oks = results.iter().take_while(|r| r.is_ok()).count();
    let chance_repeat = oks >= 2
        && results.len() == oks + 1
        && matches!(results.last(), Some(Err(qstash::Error::RepeatedCursor { page, .. })) if *page == oks)
        && cursors[..oks - 1].contains(&cursors[oks - 1])
        && cursors[..oks - 1]
            .iter()
            .flatten()
            .collect::<BTreeSet<_>>()
            .len()
            == oks - 1;
    if chance_repeat {
        println!(
            "{step}: Prism repeated cursor {:?} by chance; the stream stopped with RepeatedCursor after page {oks}",
            cursors[oks - 1]
        );
        return;
    }
    if !clean {
        let summary: Vec<String> = results
            .iter()
            .zip(&cursors)
            .map(|(r, c)| match r {
                Ok(_) => format!("page (cursor {c:?})"),
                Err(e) => format!("error: {e}"),
            })
            .collect();
        run.fail(format!(
            "{step}: expected exactly 3 pages with cursors, then the end; got {summary:?} ({} fetched)",
            pages.pages_fetched()
        ));
        return;
    }
    let chain: Vec<String> = cursors[..2].iter().flatten().cloned().collect();
    check_cursor_chain(run, step, &exs, &chain);
}

/// An item stream over static pages: the items of pages 1 and 2, then
/// `RepeatedCursor` on page 2, then the end.
async fn static_items<S, T>(run: &mut Run, step: &str, operation: &str, per_page: usize, stream: S)
where
    S: Stream<Item = Result<T, qstash::Error>> + Unpin,
    T: Debug,
{
    let results = drain(stream).await;
    let exs = run.exchanges(step);
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let shape = results.len() == 2 * per_page + 1
        && ok == 2 * per_page
        && results.last().is_some_and(|r| is_repeated(r, operation, 2));
    if !shape || exs.len() != 2 {
        run.fail(format!(
            "{step}: expected {} items then RepeatedCursor {{ page: 2 }} after 2 requests; got {} results ({ok} items, last {:?}) after {} requests",
            2 * per_page,
            results.len(),
            results.last(),
            exs.len()
        ));
    }
}

async fn pagination(run: &mut Run) {
    let c = run.bearer();
    let dynamic = run.client(AuthMode::Bearer, &[("Prefer", "dynamic=true")]);

    // Pages, static: the repeated-cursor guard ends them.
    let dlq = static_pages(
        run,
        "list_dlq_messages().pages().max_pages(3)",
        c.list_dlq_messages().label(["billing", "urgent"]),
    )
    .await;
    let logs = static_pages(
        run,
        "list_logs().pages().max_pages(3)",
        c.list_logs().label(["billing", "urgent"]).count(10),
    )
    .await;
    let bulk = static_pages(
        run,
        "list_bulk_actions().pages().max_pages(3)",
        c.list_bulk_actions()
            .state(types::ListBulkActionsState::Finished),
    )
    .await;
    static_pages(
        run,
        "delete_dlq_messages().pages().max_pages(3)",
        c.delete_dlq_messages().label(["old", "stale"]),
    )
    .await;

    // Pages, dynamic: fresh cursors, so the page limit ends them.
    dynamic_pages(
        run,
        "list_dlq_messages().pages().max_pages(3) (dynamic)",
        dynamic.list_dlq_messages().label(["billing", "urgent"]),
    )
    .await;
    dynamic_pages(
        run,
        "list_logs().pages().max_pages(3) (dynamic)",
        dynamic.list_logs().queue_name("orders"),
    )
    .await;
    dynamic_pages(
        run,
        "list_bulk_actions().pages().max_pages(3) (dynamic)",
        dynamic.list_bulk_actions().count(5),
    )
    .await;
    dynamic_pages(
        run,
        "delete_dlq_messages().pages().max_pages(3) (dynamic)",
        dynamic.delete_dlq_messages().dlq_ids(["dlq_1", "dlq_2"]),
    )
    .await;

    // Item streams, static.
    if let Some(p) = dlq {
        static_items(
            run,
            "list_dlq_messages().stream()",
            "list_dlq_messages",
            p.messages.len(),
            c.list_dlq_messages().label(["billing", "urgent"]).stream(),
        )
        .await;
        match c.list_dlq_messages().label("billing").collect_all().await {
            Err(qstash::Error::RepeatedCursor { operation: "list_dlq_messages", page: 2 }) => {}
            other => run.fail(format!(
                "list_dlq_messages().collect_all(): expected RepeatedCursor on page 2, got {other:?}"
            )),
        }
        let exs = run.exchanges("list_dlq_messages().collect_all()");
        if exs.len() != 2 {
            run.fail(format!(
                "list_dlq_messages().collect_all(): {} requests, expected 2",
                exs.len()
            ));
        }
    }
    if let Some(p) = logs {
        static_items(
            run,
            "list_logs().stream()",
            "list_logs",
            p.logs.len(),
            c.list_logs().state(types::ListLogsState::Error).stream(),
        )
        .await;
    }
    if let Some(p) = bulk {
        static_items(
            run,
            "list_bulk_actions().stream()",
            "list_bulk_actions",
            p.bulk_actions.len(),
            c.list_bulk_actions().stream(),
        )
        .await;
    }

    // Bulk loops, static: Prism's answer deletes nothing (`deleted: 0`), so
    // the loop ends after that call even though a cursor came back.
    let deleted = c
        .delete_dlq_messages()
        .dlq_ids(["dlq_1", "dlq_2"])
        .send_all()
        .await;
    let exs = run.exchanges("delete_dlq_messages().send_all()");
    match &deleted {
        Ok(0) if exs.len() == 1 => {}
        other => run.fail(format!(
            "delete_dlq_messages().send_all(): expected Ok(0) after one call (nothing deleted), got {other:?} after {} calls",
            exs.len()
        )),
    }

    // Everything on purpose: `.all()` sends `count` and no filter, and Prism
    // finds the request valid.
    run.ok(
        "delete_dlq_messages().all().send()",
        c.delete_dlq_messages().all().send(),
    )
    .await;
    run.ok(
        "cancel_messages().all().send()",
        c.cancel_messages().all().send(),
    )
    .await;

    let retried = c
        .retry_dlq_messages()
        .label(["billing", "urgent"])
        .send_all()
        .await;
    if !is_repeated(&retried, "retry_dlq_messages", 2) {
        run.fail(format!(
            "retry_dlq_messages().send_all(): expected RepeatedCursor on page 2, got {retried:?}"
        ));
    }
    // The returned cursor is passed back (service evidence row 5).
    let exs = run.exchanges("retry_dlq_messages().send_all()");
    let cursor = exs
        .first()
        .and_then(|(ex, _)| serde_json::from_slice::<serde_json::Value>(&ex.response_body).ok())
        .and_then(|v| v["cursor"].as_str().map(str::to_owned))
        .unwrap_or_default();
    check_cursor_chain(run, "retry_dlq_messages().send_all()", &exs, &[cursor]);
}

// --- Every operation: token as a query parameter; every documented error ---------------

/// Calls the operation named `method` with its required parameters only;
/// `None` for an operation this suite does not know yet. The operations of
/// both documents: those only the Workflow document states are in
/// `workflow::call_minimal`.
async fn call_minimal(c: &Client, method: &str) -> Option<Result<u16, qstash::Error>> {
    macro_rules! status {
        ($call:expr) => {
            Some(
                $call
                    .await
                    .map(|r| r.status().as_u16())
                    .map_err(qstash::Error::from),
            )
        };
    }
    match method {
        "publish" => status!(
            c.publish()
                .destination(DESTINATION)
                .content_type("text/plain")
                .body("hi")
                .send()
        ),
        "enqueue" => status!(
            c.enqueue()
                .queue_name("orders")
                .destination(DESTINATION)
                .content_type("text/plain")
                .body("hi")
                .send()
        ),
        "batch" => status!(
            c.batch()
                .body(vec![types::BatchBodyItem {
                    destination: DESTINATION.into(),
                    body: None,
                    headers: HashMap::new(),
                    queue: None,
                }])
                .send()
        ),
        "get_message" => status!(c.get_message().message_id("msg_1").send()),
        "cancel_message" => status!(c.cancel_message().message_id("msg_1").send()),
        "cancel_messages" => status!(c.cancel_messages().label("billing").send()),
        "list_bulk_actions" => status!(c.list_bulk_actions().send()),
        "get_bulk_action" => status!(c.get_bulk_action().action_id("act_1").send()),
        "list_queues" => status!(c.list_queues().send()),
        "upsert_queue" => status!(
            c.upsert_queue()
                .body(types::UpsertQueueBody {
                    queue_name: "orders".into(),
                    parallelism: std::num::NonZeroU64::new(1).unwrap(),
                    paused: None,
                })
                .send()
        ),
        "get_queue" => status!(c.get_queue().queue_name("orders").send()),
        "delete_queue" => status!(c.delete_queue().queue_name("orders").send()),
        "pause_queue" => status!(c.pause_queue().queue_name("orders").send()),
        "resume_queue" => status!(c.resume_queue().queue_name("orders").send()),
        "create_schedule" => status!(
            c.create_schedule()
                .destination(DESTINATION)
                .upstash_cron("0 * * * *")
                .content_type("application/json")
                .body("{}")
                .send()
        ),
        "list_schedules" => status!(c.list_schedules().send()),
        "get_schedule" => status!(c.get_schedule().schedule_id("scd_1").send()),
        "delete_schedule" => status!(c.delete_schedule().schedule_id("scd_1").send()),
        "pause_schedule" => status!(c.pause_schedule().schedule_id("scd_1").send()),
        "resume_schedule" => status!(c.resume_schedule().schedule_id("scd_1").send()),
        "list_url_groups" => status!(c.list_url_groups().send()),
        "get_url_group" => status!(c.get_url_group().url_group_name("my-url-group").send()),
        "delete_url_group" => status!(c.delete_url_group().url_group_name("my-url-group").send()),
        "add_url_group_endpoints" => status!(
            c.add_url_group_endpoints()
                .url_group_name("my-url-group")
                .body(types::AddUrlGroupEndpointsBody {
                    endpoints: vec![types::AddUrlGroupEndpointsBodyEndpointsItem {
                        name: None,
                        url: DESTINATION.into()
                    }],
                })
                .send()
        ),
        "remove_url_group_endpoints" => status!(
            c.remove_url_group_endpoints()
                .url_group_name("my-url-group")
                .body(types::RemoveUrlGroupEndpointsBody {
                    endpoints: vec![types::Endpoint {
                        name: None,
                        url: Some(DESTINATION.into())
                    }],
                })
                .send()
        ),
        "list_dlq_messages" => status!(c.list_dlq_messages().send()),
        "delete_dlq_messages" => status!(c.delete_dlq_messages().dlq_ids("dlq_1").send()),
        "get_dlq_message" => status!(c.get_dlq_message().dlq_id("dlq_1").send()),
        "delete_dlq_message" => status!(c.delete_dlq_message().dlq_id("dlq_1").send()),
        "retry_dlq_message" => status!(c.retry_dlq_message().dlq_id("dlq_1").send()),
        "retry_dlq_messages" => status!(c.retry_dlq_messages().dlq_ids("dlq_1").send()),
        "list_flow_control_keys" => status!(c.list_flow_control_keys().send()),
        "get_flow_control_key" => {
            status!(c.get_flow_control_key().flow_control_key("tenant-1").send())
        }
        "pause_flow_control_key" => status!(
            c.pause_flow_control_key()
                .flow_control_key("tenant-1")
                .send()
        ),
        "resume_flow_control_key" => status!(
            c.resume_flow_control_key()
                .flow_control_key("tenant-1")
                .send()
        ),
        "pin_flow_control_key" => status!(
            c.pin_flow_control_key()
                .flow_control_key("tenant-1")
                .parallelism(1)
                .send()
        ),
        "unpin_flow_control_key" => status!(
            c.unpin_flow_control_key()
                .flow_control_key("tenant-1")
                .parallelism(true)
                .send()
        ),
        "reset_flow_control_rate" => status!(
            c.reset_flow_control_rate()
                .flow_control_key("tenant-1")
                .send()
        ),
        "get_global_parallelism" => status!(c.get_global_parallelism().send()),
        "get_signing_keys" => status!(c.get_signing_keys().send()),
        "rotate_signing_keys" => status!(c.rotate_signing_keys().send()),
        "list_logs" => status!(c.list_logs().send()),
        // One client: the Workflow document's own operations.
        _ => workflow::call_minimal(c, method).await,
    }
}

/// Every operation once more with `AuthMode::QueryParameter`: the token in
/// `qstash_token`, no Authorization header, the documented success status.
async fn query_parameter_auth(run: &mut Run) {
    let c = run.client(AuthMode::QueryParameter, &[]);
    let ops: Vec<(String, Vec<u16>, Vec<u16>)> = run
        .spec
        .ops
        .iter()
        .map(|o| {
            (
                o.method_name.clone(),
                o.success.clone(),
                o.redirects.clone(),
            )
        })
        .collect();
    for (method, success, redirects) in ops {
        let step = format!("{method} (AuthMode::QueryParameter)");
        let Some(result) = call_minimal(&c, &method).await else {
            run.fail(format!(
                "{step}: the contract suite has no call for this operation; add one to call_minimal"
            ));
            continue;
        };
        let one = run.one(&step);
        match result {
            Ok(s) if success.contains(&s) => {}
            // A documented 3xx (and no 2xx): the client takes it as the
            // success; the summary says so, every time.
            Ok(s) if success.is_empty() && redirects.contains(&s) => {
                run.notes.insert(format!(
                    "{method}: the spec documents only {redirects:?} for success; the client answers Ok({s})"
                ));
            }
            Ok(s) => run.fail(format!(
                "{step}: status {s}, the spec documents {success:?}"
            )),
            Err(e) => run.fail(format!("{step}: {e}")),
        }
        if let Some((ex, _)) = one
            && (ex.query_values("qstash_token") != [TOKEN]
                || !ex.header("authorization").is_empty())
        {
            run.fail(format!(
                "{step}: the token should travel only as the qstash_token query parameter: {} {:?}",
                ex.target,
                ex.header("authorization")
            ));
        }
    }
}

/// Every documented error status of every operation, chosen with
/// `Prefer: code=NNN`, comes back as `qstash::Error::Api` with that status
/// and the message from the body.
async fn documented_errors(run: &mut Run) {
    let ops: Vec<(String, Vec<u16>)> = run
        .spec
        .ops
        .iter()
        .map(|o| (o.method_name.clone(), o.errors.clone()))
        .collect();
    for (method, errors) in ops {
        for code in errors {
            let prefer = format!("code={code}");
            let c = run.client(AuthMode::Bearer, &[("Prefer", prefer.as_str())]);
            let step = format!("{method} with Prefer: code={code}");
            match call_minimal(&c, &method).await {
                Some(result) => run.api_error(&step, code, result),
                None => run.fail(format!(
                    "{step}: the contract suite has no call for this operation; add one to call_minimal"
                )),
            }
        }
    }
}
