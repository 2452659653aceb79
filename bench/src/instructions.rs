//! Instruction counts: the `requests` binary run under callgrind, which
//! counts every instruction the process executes. Unlike time, the count does
//! not depend on the machine's load, so small ratios can be trusted. Each
//! figure is per unit of work: the difference between a small and a large run
//! divided by the difference in size, which cancels start-up costs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Config, PeerRow, Row, Section, workspace, yes_no};

const TARGET: f64 = 1.05;

/// What one side of a comparison runs: a mode of `requests` and how many
/// requests it keeps in flight.
type Run = (&'static str, usize);

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
    let pages = [small / 10, large / 10];
    let flight = config.in_flight;
    // Every run the rows need, counted once each, two at a time (counts do
    // not depend on the load).
    let request_runs: Vec<Run> = [
        "reqwest",
        "qstash",
        "peer",
        "publish-reqwest",
        "publish-qstash",
        "publish-peer",
    ]
    .into_iter()
    .flat_map(|mode| [(mode, 1), (mode, flight)])
    .chain([("qstash-no-retry", 1)])
    .collect();
    let page_runs: Vec<Run> = [
        "cursor-hand",
        "cursor-pages",
        "cursor-stream",
        "cursor-peer",
    ]
    .map(|mode| (mode, 1))
    .to_vec();
    let mut jobs: Vec<(Run, [usize; 2])> = request_runs
        .into_iter()
        .map(|run| (run, [small, large]))
        .chain(page_runs.into_iter().map(|run| (run, pages)))
        .collect();
    jobs.extend(["build-reqwest", "build-qstash", "build-peer"].map(|m| ((m, 1), [0, 1])));
    let counted = count_all(&binary, &jobs);
    let per = |mode: &'static str, in_flight: usize| counted[&(mode, in_flight)];

    // Against plain reqwest sending the same request (the layer's cost).
    let get_queue = "Instructions per `get_queue`";
    let vs_floor: [(String, Run, Run, &str); 4] = [
        (
            format!("{get_queue}, sequential"),
            ("reqwest", 1),
            ("qstash", 1),
            "reqwest",
        ),
        (
            format!("{get_queue}, {flight} in flight"),
            ("reqwest", flight),
            ("qstash", flight),
            "reqwest",
        ),
        (
            format!("{get_queue}, sequential, `RetryPolicy::none()`"),
            ("reqwest", 1),
            ("qstash-no-retry", 1),
            "reqwest",
        ),
        (
            format!(
                "Instructions per DLQ page, {} items, message by message (`.stream()`)",
                config.per_page
            ),
            ("cursor-hand", 1),
            ("cursor-stream", 1),
            "hand loop",
        ),
    ];
    for (what, base, subject, base_name) in vs_floor {
        let (base, subject) = (per(base.0, base.1), per(subject.0, subject.1));
        let ratio = subject / base;
        section.rows.push(Row {
            bench: what,
            baseline: format!("{} ({base_name})", thousands(base)),
            subject: thousands(subject),
            ratio: format!("{ratio:.3}"),
            target: format!("≤ {TARGET:.2}"),
            met: yes_no(ratio <= TARGET),
        });
    }

    // Side by side with the peer crate, plain reqwest as the floor.
    let peer_rows: [(&str, Run, Run, Run); 4] = [
        (
            "Publish 200 B of JSON (instructions per request)",
            ("publish-reqwest", 1),
            ("publish-qstash", 1),
            ("publish-peer", 1),
        ),
        (
            "Same, 32 in flight",
            ("publish-reqwest", flight),
            ("publish-qstash", flight),
            ("publish-peer", flight),
        ),
        (
            "Get a queue (instructions per request)",
            ("reqwest", 1),
            ("qstash", 1),
            ("peer", 1),
        ),
        (
            "Same, 32 in flight",
            ("reqwest", flight),
            ("qstash", flight),
            ("peer", flight),
        ),
    ];
    for (what, floor, subject, peer) in peer_rows {
        let what = what.replace("32", &flight.to_string());
        let [floor, subject, peer] = [floor, subject, peer].map(|(m, f)| per(m, f));
        let ratio = subject / peer;
        section.peer_rows.push(PeerRow {
            bench: what,
            floor: thousands(floor),
            subject: thousands(subject),
            peer: thousands(peer),
            ratio: format!("{ratio:.3}"),
            target: "≤ 1.00".into(),
            met: yes_no(ratio <= 1.0),
        });
    }
    let [floor, subject, peer] = ["cursor-hand", "cursor-pages", "cursor-peer"].map(|m| per(m, 1));
    let over_floor = subject / floor;
    section.peer_rows.push(PeerRow {
        bench: format!(
            "One DLQ page of {} (instructions per page; qstash `.pages()`, the floor a reqwest loop \
             decoding with serde_json into qstash's types)",
            config.per_page
        ),
        floor: thousands(floor),
        subject: format!("{} ({over_floor:.3}× the floor)", thousands(subject)),
        peer: format!("{} (decodes fewer fields)", thousands(peer)),
        ratio: format!("{:.3}", subject / peer),
        target: "≤ 1.00× the floor".into(),
        met: yes_no(over_floor <= 1.0),
    });
    // Building the first client of a process (a cold start): one build
    // against none. Later clients with default settings share the first's
    // HTTP client.
    let [floor, subject, peer] = ["build-reqwest", "build-qstash", "build-peer"].map(|m| per(m, 1));
    section.peer_rows.push(PeerRow {
        bench: "Build a `Client`, the first of a process, default settings (instructions)".into(),
        floor: format!("{} (system root store)", thousands(floor)),
        subject: format!("{} (Mozilla roots compiled in)", thousands(subject)),
        peer: thousands(peer),
        ratio: format!("{:.3}", subject / peer),
        target: "≤ 1 M".into(),
        met: yes_no(subject <= 1e6),
    });
    section.notes.push(format!(
        "Instructions: `valgrind --tool=callgrind target/release/requests MODE N [IN_FLIGHT]`, \
         counting the client's process only (the server runs in a child process, which callgrind \
         does not follow); per unit from the difference between N = {small} and {large} requests \
         ({} and {} pages; 0 and 1 client builds). Every request mode builds all three clients \
         first, so each side starts from the same heap.",
        pages[0], pages[1]
    ));
    section
}

/// Instructions per unit of every job: `(run, [n_small, n_large])`.
fn count_all(binary: &Path, jobs: &[(Run, [usize; 2])]) -> HashMap<Run, f64> {
    let results = std::sync::Mutex::new(HashMap::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&((mode, in_flight), sizes)) = jobs.get(i) else {
                        break;
                    };
                    let [a, b] = sizes.map(|n| count(binary, mode, n, in_flight));
                    let per = b.saturating_sub(a) as f64 / (sizes[1] - sizes[0]) as f64;
                    results
                        .lock()
                        .expect("results")
                        .insert((mode, in_flight), per);
                }
            });
        }
    });
    results.into_inner().expect("results")
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
