//! Instruction counts: the `requests` binary run under callgrind, which
//! counts every instruction the process executes. Unlike time, the count does
//! not depend on the machine's load, so small ratios can be trusted. Each
//! figure is per unit of work: the difference between a small and a large run
//! divided by the difference in size, which cancels start-up costs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Config, Row, Section, workspace, yes_no};

const TARGET: f64 = 1.05;

/// One comparison: the row's label, the baseline mode of `requests` and its
/// name in the table, the qstash mode, requests in flight, and the two sizes.
type Case = (
    String,
    (&'static str, &'static str),
    &'static str,
    usize,
    [usize; 2],
);

pub fn run(config: &Config) -> Section {
    let mut section = Section::default();
    if Command::new("valgrind").arg("--version").output().is_err() {
        section.notes.push(
            "Instructions: skipped, `valgrind` is not on PATH (Debian: `apt-get install valgrind`)."
                .into(),
        );
        return section;
    }
    let binary = requests_binary();
    let [small, large] = config.instruction_sizes;
    let reqwest = ("reqwest", "reqwest");
    let get_queue = "Instructions per `get_queue`";
    let cases: [Case; 4] = [
        (
            format!("{get_queue}, sequential"),
            reqwest,
            "qstash",
            1,
            [small, large],
        ),
        (
            format!("{get_queue}, {} in flight", config.in_flight),
            reqwest,
            "qstash",
            config.in_flight,
            [small, large],
        ),
        (
            format!("{get_queue}, sequential, `RetryPolicy::none()`"),
            reqwest,
            "qstash-no-retry",
            1,
            [small, large],
        ),
        (
            format!("Instructions per DLQ page, {} items", config.per_page),
            ("cursor-hand", "hand loop"),
            "cursor-stream",
            1,
            [small / 10, large / 10],
        ),
    ];
    // Runs shared by several rows (the sequential baseline) are counted once.
    let mut counted = HashMap::new();
    for (what, (baseline, baseline_name), subject, in_flight, sizes) in cases {
        let mut per_unit = |mode: &'static str| {
            *counted.entry((mode, in_flight)).or_insert_with(|| {
                let [a, b] = sizes.map(|n| count(&binary, mode, n, in_flight));
                b.saturating_sub(a) as f64 / (sizes[1] - sizes[0]) as f64
            })
        };
        let (base, subject) = (per_unit(baseline), per_unit(subject));
        let ratio = subject / base;
        section.rows.push(Row {
            bench: what,
            baseline: format!("{} ({baseline_name})", thousands(base)),
            subject: thousands(subject),
            ratio: format!("{ratio:.3}"),
            target: format!("≤ {TARGET:.2}"),
            met: yes_no(ratio <= TARGET),
        });
    }
    // Building the first client of a process (a cold start): one build
    // against none. Later clients with default settings share the first's
    // HTTP client.
    let first = |mode: &str| count(&binary, mode, 1, 1).saturating_sub(count(&binary, mode, 0, 1));
    let (base, subject) = (first("build-reqwest"), first("build-qstash"));
    section.rows.push(Row {
        bench: "Instructions to build a `Client` (the first of a process, default settings)".into(),
        baseline: format!("{} (reqwest, system root store)", thousands(base as f64)),
        subject: format!("{} (Mozilla roots compiled in)", thousands(subject as f64)),
        ratio: format!("{:.3}", subject as f64 / base.max(1) as f64),
        target: "≤ 1 M".into(),
        met: yes_no(subject <= 1_000_000),
    });
    section.notes.push(format!(
        "Instructions: `valgrind --tool=callgrind target/release/requests MODE N [IN_FLIGHT]`, the \
         same in-process server and requests as the overhead and cursor rows; per unit from the \
         difference between N = {small} and {large} requests ({} and {} pages).",
        small / 10,
        large / 10
    ));
    section
}

/// `target/release/requests`, built first so that it matches the sources.
fn requests_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "build",
            "--release",
            "-p",
            "qstash-bench",
            "--bin",
            "requests",
        ])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --bin requests failed");
    let own = std::env::current_exe().expect("path of this benchmark");
    own.with_file_name("requests")
}

/// Instructions executed by one `requests MODE n in_flight` run.
fn count(binary: &Path, mode: &str, n: usize, in_flight: usize) -> u64 {
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(binary)
        .args([mode.to_string(), n.to_string()])
        .args((in_flight > 1).then(|| in_flight.to_string()))
        .output()
        .expect("run valgrind");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "requests {mode} {n} {in_flight} failed under valgrind:\n{stderr}"
    );
    // callgrind's summary: "==PID== Collected : 123456789".
    stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().to_string())
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no instruction count in callgrind's output:\n{stderr}"))
}

fn thousands(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.3} M", n / 1e6)
    } else {
        format!("{:.1} K", n / 1e3)
    }
}
