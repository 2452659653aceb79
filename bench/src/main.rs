//! `cargo run --release -p qstash-bench [-- --skip-build] [--quick] [--only SECTION]`
//!
//! Measures the qstash client and its code generation against their
//! baselines, side by side in one run, and prints one markdown table.
//! Baseline and subject runs are interleaved; each figure is the median of
//! the repetitions. Nothing here asserts on timings.

mod alloc;
mod baseline;
mod build;
mod codegen;
mod cursor;
mod instructions;
mod local;
mod overhead;
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// Sizes of one run; `--quick` shrinks them for development.
pub struct Config {
    /// Repetitions of every interleaved client measurement.
    pub reps: usize,
    /// Repetitions of the codegen passes (the slowest runs).
    pub codegen_reps: usize,
    /// Requests per overhead run.
    pub requests: usize,
    /// Paired overhead runs (baseline, qstash) of `requests` each: many short
    /// pairs make the median ratio robust to load that comes and goes.
    pub overhead_pairs: usize,
    /// Requests in flight in the concurrent overhead run.
    pub in_flight: usize,
    /// Page counts of the cursor runs: small and large.
    pub pages: [usize; 2],
    /// Small and large request counts of the instruction-count runs (the
    /// cursor runs use a tenth as many pages).
    pub instruction_sizes: [usize; 2],
    /// Items per page.
    pub per_page: usize,
    /// Copies of every path in the synthetic codegen document.
    pub copies: usize,
    /// Publishes of the three local-QStash load runs, smallest first.
    pub local_messages: [usize; 3],
    /// Repetitions of each local-QStash load run (interleaved by size).
    pub local_reps: usize,
}

impl Config {
    fn full() -> Self {
        Self {
            reps: 9,
            codegen_reps: 5,
            requests: 500,
            overhead_pairs: 41,
            in_flight: 32,
            pages: [100, 1000],
            instruction_sizes: [200, 1200],
            per_page: 100,
            copies: 10,
            local_messages: [10_000, 30_000, 100_000],
            local_reps: 3,
        }
    }

    fn quick() -> Self {
        Self {
            reps: 1,
            codegen_reps: 1,
            requests: 200,
            overhead_pairs: 3,
            pages: [10, 100],
            instruction_sizes: [50, 150],
            local_messages: [1_000, 3_000, 10_000],
            local_reps: 1,
            ..Self::full()
        }
    }
}

/// One line of the table.
pub struct Row {
    pub bench: String,
    pub baseline: String,
    pub subject: String,
    pub ratio: String,
    pub target: String,
    pub met: String,
}

/// One line of the side-by-side table against the peer crate, `qstash-rs`
/// 0.6, with plain reqwest 0.13 as the floor.
pub struct PeerRow {
    pub bench: String,
    pub floor: String,
    pub subject: String,
    pub peer: String,
    /// qstash / qstash-rs.
    pub ratio: String,
    pub target: String,
    pub met: String,
}

/// What a section contributes: rows, rows against the peer crate, and notes
/// printed under the tables.
#[derive(Default)]
pub struct Section {
    pub rows: Vec<Row>,
    pub peer_rows: Vec<PeerRow>,
    pub notes: Vec<String>,
}

/// Median of measurements (upper median for an even count).
pub fn median<T: PartialOrd + Copy>(values: &[T]) -> T {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("comparable measurements"));
    v[v.len() / 2]
}

/// Median of the per-repetition ratios `subject[i] / baseline[i]`: each pair
/// ran back to back, so load that drifts between repetitions cancels out.
pub fn paired_ratio(subject: &[f64], baseline: &[f64]) -> f64 {
    let ratios: Vec<f64> = subject.iter().zip(baseline).map(|(s, b)| s / b).collect();
    median(&ratios)
}

/// Seconds with three significant-ish decimals.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

pub fn kib(bytes: usize) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

pub fn yes_no(ok: bool) -> String {
    if ok { "yes" } else { "no" }.into()
}

/// The workspace root (the bench crate's parent).
pub fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .expect("workspace root")
}

/// A single-threaded runtime for the client side: the server has its own
/// thread, so client and server get one core each on a two-core machine.
pub fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
}

fn machine_facts() -> Vec<String> {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown".into(), |(_, m)| m.trim().to_string());
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    vec![
        format!("- CPU: {model}, {cores} cores (nproc)"),
        format!("- {rustc}; release profile"),
        format!("- load average at start: {}", load.join(" ")),
    ]
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo run --release -p qstash-bench [-- --skip-build] [--quick] [--only overhead|cursor|instructions|codegen|local|waiting|build]"
    );
    std::process::exit(2)
}

fn main() {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = Config::full();
    let mut skip_build = false;
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--skip-build" => skip_build = true,
            "--quick" => config = Config::quick(),
            "--only" => only = Some(it.next().cloned().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    let runs = |name: &str| only.as_deref().is_none_or(|o| o == name);

    let mut sections = Vec::new();
    if runs("overhead") {
        eprintln!("[1/7] request overhead ...");
        sections.push(overhead::run(&config));
    }
    if runs("cursor") {
        eprintln!("[2/7] cursor exhaustion ...");
        sections.push(cursor::run(&config));
    }
    if runs("instructions") {
        eprintln!("[3/7] instruction counts under callgrind ...");
        sections.push(instructions::run(&config));
    }
    if runs("codegen") {
        eprintln!("[4/7] codegen ...");
        sections.push(codegen::run(&config));
    }
    if runs("local") {
        eprintln!("[5/7] local QStash load ...");
        sections.push(local::run_section(&config));
    }
    if runs("waiting") {
        eprintln!("[6/7] local QStash: heap per waiting message ...");
        sections.push(local::waiting_section());
    }
    if runs("build") && !skip_build {
        eprintln!("[7/7] build (minutes; --skip-build skips it) ...");
        sections.push(build::run());
    }

    let command = std::iter::once("cargo run --release -p qstash-bench".to_string())
        .chain((!args.is_empty()).then(|| format!("-- {}", args.join(" "))))
        .collect::<Vec<_>>()
        .join(" ");
    println!("Command: `{command}`\n");
    for fact in machine_facts() {
        println!("{fact}");
    }
    println!(
        "- {} repetitions ({} pairs of {} requests for overhead, {} for codegen), baseline and qstash \
         interleaved (alternating which goes first); figures are medians, ratios the median of the \
         per-repetition ratios\n",
        config.reps, config.overhead_pairs, config.requests, config.codegen_reps
    );
    println!("| Benchmark | Baseline | qstash | Ratio | Target | Met |");
    println!("|---|---|---|---|---|---|");
    for row in sections.iter().flat_map(|s| &s.rows) {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.bench, row.baseline, row.subject, row.ratio, row.target, row.met
        );
    }
    println!();
    if sections.iter().any(|s| !s.peer_rows.is_empty()) {
        println!(
            "Side by side with the peer crate, `qstash-rs` 0.6 (plain reqwest 0.13 is the floor):\n"
        );
        println!(
            "| Benchmark | reqwest 0.13 | qstash | qstash-rs 0.6 | qstash / qstash-rs | Target | Met |"
        );
        println!("|---|---|---|---|---|---|---|");
        for row in sections.iter().flat_map(|s| &s.peer_rows) {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                row.bench, row.floor, row.subject, row.peer, row.ratio, row.target, row.met
            );
        }
        println!();
    }
    for note in sections.iter().flat_map(|s| &s.notes) {
        println!("- {note}");
    }
    if skip_build && runs("build") {
        println!("- Build section skipped (--skip-build).");
    }
    println!("\nWall time of this run: {}", secs(started.elapsed()));
}
