//! `qstash-dev`: runs a local QStash until Ctrl-C (or SIGTERM); a drop-in for the
//! official development server (`npx @upstash/qstash-cli dev`): the same
//! port and the same public credentials unless told otherwise.
//!
//! Prints the `QSTASH_*` variables to use, one `NAME=value` per line, on
//! stdout; logs on stderr, filtered by `RUST_LOG`; `qstash-dev --help`
//! lists every option and its environment variable.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use qstash_dev::{DEFAULT_PORT, Limits, Route, Server};
use tracing_subscriber::EnvFilter;

/// What is logged when `RUST_LOG` is unset or empty.
const DEFAULT_LOG_FILTER: &str = "qstash_dev=info";

/// The end of `--help`.
const AFTER_HELP: &str = "\
Logs go to stderr, filtered by RUST_LOG (tracing's EnvFilter syntax; \
default: qstash_dev=info, which shows the server starting and stopping, \
schedules firing, failed deliveries, DLQ moves and limits reached). \
RUST_LOG=qstash_dev=debug adds every request, message and delivery. \
Tokens, signing keys, message bodies, header values and query strings \
are never logged.";

/// A local QStash: the QStash REST API in memory, with real deliveries,
/// signed, retried and dead-lettered.
///
/// Serves on 127.0.0.1 until Ctrl-C, with the official development
/// server's port and public credentials unless told otherwise, so that the
/// SDKs' dev mode (QSTASH_DEV=1) finds it. Prints QSTASH_URL, QSTASH_TOKEN,
/// QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY on stdout, one
/// NAME=value line each.
#[derive(Debug, Parser)]
#[command(name = "qstash-dev", version, about, long_about, after_help = AFTER_HELP)]
struct Cli {
    /// The port to listen on, on 127.0.0.1; 0 picks a free one.
    #[arg(long, short, env = "QSTASH_DEV_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,

    /// Deliver messages for ORIGIN (scheme, host and port) to URL instead,
    /// path and query kept; the signature's `sub`, the logs and the DLQ keep
    /// the URL published to. Repeatable; in the variable, comma-separated.
    /// Example: --route https://app.example.com=http://127.0.0.1:3000
    #[arg(
        long = "route",
        value_name = "ORIGIN=URL",
        env = "QSTASH_DEV_ROUTES",
        value_delimiter = ',',
        value_parser = parse_route
    )]
    routes: Vec<Route>,

    /// A new random token and random signing keys instead of the public
    /// development credentials, to keep this server to whoever reads its
    /// output.
    #[arg(long, env = "QSTASH_DEV_RANDOM_CREDENTIALS")]
    random_credentials: bool,

    /// Multiplies the waits between delivery retries (1 s doubled per
    /// retry): 0.001 makes them milliseconds.
    #[arg(long, value_name = "SCALE", env = "QSTASH_DEV_RETRY_DELAY_SCALE", default_value_t = 1.0, value_parser = parse_scale)]
    retry_delay_scale: f64,

    /// Sent as Upstash-Region with every delivery (us-east-1, eu-central-1,
    /// ...); none unless set.
    #[arg(long, env = "QSTASH_DEV_REGION")]
    region: Option<String>,

    /// Seconds deliveries in flight may finish once the server stops; those
    /// still running then are recorded as failed attempts.
    #[arg(long, value_name = "SECONDS", env = "QSTASH_DEV_SHUTDOWN_GRACE", default_value_t = qstash_dev::DEFAULT_SHUTDOWN_GRACE.as_secs_f64(), value_parser = parse_seconds)]
    shutdown_grace: f64,

    #[command(flatten)]
    limits: LimitArgs,
}

/// The memory limits (`qstash_dev::Limits`).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Limits")]
struct LimitArgs {
    /// Messages waiting for or in delivery (callbacks included); publishing
    /// past it is answered 412.
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_MESSAGES", default_value_t = Limits::default().max_messages)]
    max_messages: usize,
    /// Log entries kept (the oldest are dropped).
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_LOG_ENTRIES", default_value_t = Limits::default().max_log_entries)]
    max_log_entries: usize,
    /// DLQ entries kept (the oldest are dropped).
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_DLQ_ENTRIES", default_value_t = Limits::default().max_dlq_entries)]
    max_dlq_entries: usize,
    /// Schedules.
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_SCHEDULES", default_value_t = Limits::default().max_schedules)]
    max_schedules: usize,
    /// Queues.
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_QUEUES", default_value_t = Limits::default().max_queues)]
    max_queues: usize,
    /// URL groups.
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_URL_GROUPS", default_value_t = Limits::default().max_url_groups)]
    max_url_groups: usize,
    /// Endpoints per URL group.
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_ENDPOINTS_PER_GROUP", default_value_t = Limits::default().max_endpoints_per_group)]
    max_endpoints_per_group: usize,
    /// Bulk actions remembered.
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_BULK_ACTIONS", default_value_t = Limits::default().max_bulk_actions)]
    max_bulk_actions: usize,
    /// Deliveries in flight at once (the global parallelism).
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_IN_FLIGHT", default_value_t = Limits::default().max_in_flight)]
    max_in_flight: usize,
    /// Largest accepted request body, in bytes.
    #[arg(long, value_name = "BYTES", env = "QSTASH_DEV_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Largest response body kept from a destination, in bytes.
    #[arg(long, value_name = "BYTES", env = "QSTASH_DEV_MAX_RESPONSE_BYTES", default_value_t = Limits::default().max_response_bytes)]
    max_response_bytes: usize,
    /// Deduplication IDs remembered (each for 10 minutes).
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_DEDUP_IDS", default_value_t = Limits::default().max_dedup_ids)]
    max_dedup_ids: usize,
    /// Workflow runs remembered (the oldest ended run goes when full;
    /// starting a run while all are going is answered 412).
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_WORKFLOW_RUNS", default_value_t = Limits::default().max_workflow_runs)]
    max_workflow_runs: usize,
    /// Workflow steps waiting for an event at once; waiting past it is
    /// answered 412.
    #[arg(long, value_name = "N", env = "QSTASH_DEV_MAX_WORKFLOW_WAITERS", default_value_t = Limits::default().max_workflow_waiters)]
    max_workflow_waiters: usize,
    /// Byte budget of the whole store (bodies, headers, DLQ entries with
    /// their responses, log records, callback bodies); publishing past it
    /// is answered 412 once the logs and the DLQ have dropped their oldest.
    #[arg(long, value_name = "BYTES", env = "QSTASH_DEV_MAX_STORE_BYTES", default_value_t = Limits::default().max_store_bytes)]
    max_store_bytes: usize,
}

impl LimitArgs {
    /// The limits, any others at their defaults.
    // The update keeps this compiling when `Limits` gains a field.
    #[allow(clippy::needless_update)]
    fn limits(&self) -> Limits {
        Limits {
            max_messages: self.max_messages,
            max_log_entries: self.max_log_entries,
            max_dlq_entries: self.max_dlq_entries,
            max_schedules: self.max_schedules,
            max_queues: self.max_queues,
            max_url_groups: self.max_url_groups,
            max_endpoints_per_group: self.max_endpoints_per_group,
            max_bulk_actions: self.max_bulk_actions,
            max_in_flight: self.max_in_flight,
            max_body_bytes: self.max_body_bytes,
            max_response_bytes: self.max_response_bytes,
            max_dedup_ids: self.max_dedup_ids,
            max_workflow_runs: self.max_workflow_runs,
            max_workflow_waiters: self.max_workflow_waiters,
            max_store_bytes: self.max_store_bytes,
            ..Limits::default()
        }
    }
}

fn parse_route(text: &str) -> Result<Route, String> {
    text.parse::<Route>().map_err(|e| e.to_string())
}

fn parse_scale(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{text}` is not a finite number of at least 0")),
    }
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        // At most a day: `Duration::from_secs_f64` panics past its range.
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{text}` is not a number of seconds from 0 to 86400"
        )),
    }
}

/// The log filter: `RUST_LOG`, or [`DEFAULT_LOG_FILTER`] when it is unset
/// or empty; an error naming the variable when it does not parse.
fn log_filter(rust_log: Option<&std::ffi::OsStr>) -> Result<EnvFilter, String> {
    let Some(value) = rust_log else {
        return Ok(EnvFilter::new(DEFAULT_LOG_FILTER));
    };
    let Some(text) = value.to_str() else {
        return Err("the variable RUST_LOG is not valid UTF-8".to_owned());
    };
    if text.trim().is_empty() {
        return Ok(EnvFilter::new(DEFAULT_LOG_FILTER));
    }
    EnvFilter::builder()
        .parse(text)
        .map_err(|e| format!("the variable RUST_LOG=`{text}` is not a valid log filter: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors exit with 2 and `--help` with 0, through clap.
    let cli = Cli::parse();
    // Logs on stderr: stdout carries the variables only.
    let filter = match log_filter(std::env::var_os("RUST_LOG").as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("qstash-dev: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
    {
        eprintln!("qstash-dev: cannot set up the logs: {e}");
        return ExitCode::FAILURE;
    }
    let mut builder = Server::builder()
        .port(cli.port)
        .retry_delay_scale(cli.retry_delay_scale)
        .limits(cli.limits.limits())
        .shutdown_grace(Duration::from_secs_f64(cli.shutdown_grace));
    if !cli.random_credentials {
        builder = builder.dev_credentials();
    }
    if let Some(region) = cli.region {
        builder = builder.region(region);
    }
    for route in &cli.routes {
        builder = builder.route(route.origin(), route.target());
    }
    // Listening before the variables are printed: whoever reads them may
    // stop the server at once.
    let mut stop = match StopSignals::listen() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("qstash-dev: cannot listen for Ctrl-C: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match builder.start().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("qstash-dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    for line in server.env_lines() {
        println!("{line}");
    }
    // The server logged its address and routes.
    tracing::info!(
        credentials = if cli.random_credentials {
            "random"
        } else {
            "the public development ones"
        },
        "serving; Ctrl-C to stop"
    );
    stop.recv().await;
    tracing::info!("stopping; Ctrl-C again to stop at once");
    tokio::select! {
        () = server.shutdown() => {}
        () = stop.recv() => {}
    }
    ExitCode::SUCCESS
}

/// Ctrl-C (SIGINT), and on Unix SIGTERM (`kill`), listened for from
/// [`listen`](Self::listen) on.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    #[cfg(unix)]
    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(unix)]
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    fn listen() -> std::io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
