//! Build: clean builds, dev and release, of three hello-world programs that
//! publish one 200-byte JSON message once — plain reqwest (the floor), this
//! crate and the peer crate `qstash-rs` 0.6 — with the stripped size of each
//! release binary; then, for this crate alone, a rebuild after only the mtime
//! of `src/lib.rs` changed, checking from cargo's verbose output that the
//! build script did not rerun.
//!
//! The hello-world sources are templates in `bench/hello/<name>/`
//! (`src/main.rs` and `Cargo.toml.in`), copied at run time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::{PeerRow, Row, Section, secs, workspace, yes_no};

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The last lines of a failed command's stderr.
fn stderr_tail(output: &Output, lines: usize) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(lines).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn cargo_build(root: &Path, target: &Path, extra: &[&str]) -> (Duration, Output) {
    let start = Instant::now();
    let output = Command::new(cargo())
        .current_dir(root)
        .args(["build", "-p", "qstash", "--target-dir"])
        .arg(target)
        .args(extra)
        .output()
        .expect("run cargo");
    let time = start.elapsed();
    if !output.status.success() {
        panic!("cargo build failed:\n{}", stderr_tail(&output, 30));
    }
    (time, output)
}

/// How long the qstash build script ran, from cargo's `--timings` report.
fn build_script_time(target: &Path) -> Option<Duration> {
    let html = std::fs::read_to_string(target.join("cargo-timings/cargo-timing.html")).ok()?;
    let data = html.split_once("const UNIT_DATA = ")?.1;
    let data = &data[..data.find("];")? + 1];
    let units: Vec<Value> = serde_json::from_str(data).ok()?;
    units
        .iter()
        .find(|u| u["name"] == "qstash" && u["mode"] == "run-custom-build")
        .and_then(|u| u["duration"].as_f64())
        .map(Duration::from_secs_f64)
}

/// Sets a file's mtime to now without touching its content.
fn touch(path: &Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .unwrap_or_else(|e| panic!("touch {}: {e}", path.display()));
}

fn remove_dir(path: &Path) {
    if path.exists() {
        std::fs::remove_dir_all(path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }
}

/// Clock ticks per second of `/proc/self/stat`'s times: `getconf CLK_TCK`,
/// else Linux's usual 100.
fn clock_ticks() -> (u64, &'static str) {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|&t: &u64| t > 0)
        .map_or((100, "assumed"), |t| (t, "from `getconf CLK_TCK`"))
}

/// utime + stime + cutime + cstime of this process (fields 14-17 of
/// `/proc/self/stat`), in clock ticks: the CPU time of this process and of
/// every child it (or its children, recursively) waited for.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count from its closing
    // parenthesis, after which field 3 comes first.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum()
}

#[derive(Clone, Copy, PartialEq)]
enum Profile {
    Dev,
    Release,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Release => "release",
        }
    }
}

/// One clean build of a hello-world.
struct Build {
    wall: Duration,
    /// CPU time of cargo and everything it ran; `None` without `/proc`.
    cpu: Option<Duration>,
}

/// The figures of one hello-world, or why there are none.
struct Hello {
    name: &'static str,
    dev: Result<Build, String>,
    release: Result<Build, String>,
    stripped: Result<u64, String>,
}

/// The hello-worlds: the floor, qstash, the peer crate, and qstash with the
/// other TLS provider (the qstash program with other features), which tells
/// whether the default provider is the cheaper one.
const HELLOS: [&str; 4] = ["reqwest", "qstash", "qstash-rs", "qstash-aws-lc-rs"];

/// The template of a hello-world, and the features of its qstash dependency.
fn template(name: &str) -> (&str, &'static str) {
    match name {
        "qstash-aws-lc-rs" => (
            "qstash",
            r#", default-features = false, features = ["rustls-aws-lc-rs"]"#,
        ),
        other => (other, ""),
    }
}

/// Writes the hello-world `name` into `dir` (removed first), with the
/// workspace's lock file.
fn write_hello(root: &Path, name: &str, dir: &Path) {
    remove_dir(dir);
    let (template_name, features) = template(name);
    let template = root.join("bench/hello").join(template_name);
    std::fs::create_dir_all(dir.join("src")).expect("create the hello-world dir");
    let manifest = std::fs::read_to_string(template.join("Cargo.toml.in"))
        .expect("read the Cargo.toml template")
        .replace("@QSTASH_PATH@", &root.display().to_string())
        .replace("@QSTASH_FEATURES@", features)
        .replace("@NAME@", name);
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    std::fs::copy(template.join("src/main.rs"), dir.join("src/main.rs")).expect("copy main.rs");
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");
}

/// `cargo build [--release] --offline` of the crate in `dir` into `target`.
fn hello_cargo(dir: &Path, target: &Path, profile: Profile) -> Output {
    let mut command = Command::new(cargo());
    command
        .current_dir(dir)
        .args(["build", "--offline", "--target-dir"])
        .arg(target);
    if profile == Profile::Release {
        command.arg("--release");
    }
    command.output().expect("run cargo")
}

/// A clean build of the hello-world `name`: a fresh copy of its sources and
/// of the lock file, a fresh target dir. If the offline build fails for
/// want of a crate in the local cache, `cargo fetch` (online, not timed)
/// and one more clean offline build.
fn build_hello(
    root: &Path,
    name: &str,
    profile: Profile,
    ticks: u64,
    notes: &mut Vec<String>,
) -> Result<(Build, PathBuf), String> {
    let dir = root
        .join("target/bench-build")
        .join(format!("hello-{name}"));
    let target = dir.join(format!("target-{}", profile.name()));
    let mut fetched = false;
    loop {
        write_hello(root, name, &dir);
        let cpu_before = cpu_ticks();
        let start = Instant::now();
        let output = hello_cargo(&dir, &target, profile);
        let wall = start.elapsed();
        let cpu_after = cpu_ticks();
        if output.status.success() {
            let cpu = cpu_before
                .zip(cpu_after)
                .map(|(b, a)| Duration::from_secs_f64(a.saturating_sub(b) as f64 / ticks as f64));
            return Ok((Build { wall, cpu }, dir));
        }
        remove_dir(&target);
        let tail = stderr_tail(&output, 12);
        if fetched || !tail.contains("offline") {
            return Err(tail);
        }
        // Not in the local registry cache: fetch it online, then build again.
        let fetch = Command::new(cargo())
            .current_dir(&dir)
            .arg("fetch")
            .output()
            .expect("run cargo fetch");
        if !fetch.status.success() {
            return Err(format!(
                "offline build failed:\n{tail}\n`cargo fetch` failed too:\n{}",
                stderr_tail(&fetch, 12)
            ));
        }
        notes.push(format!(
            "Build: hello-{name} ({}) did not build `--offline` (a crate missing from the local \
             registry cache); `cargo fetch` ran online, untimed, and the clean build was redone \
             `--offline`.",
            profile.name()
        ));
        fetched = true;
    }
}

/// The dev and release builds of one hello-world, back to back, and the
/// size of its stripped release binary. Target dirs are removed after each.
fn measure_hello(root: &Path, name: &'static str, ticks: u64, notes: &mut Vec<String>) -> Hello {
    let mut run = |profile: Profile| {
        eprintln!("  hello-{name}, {} ...", profile.name());
        let result = build_hello(root, name, profile, ticks, notes);
        if let Ok((build, _)) = &result {
            eprintln!("    {}", wall_cpu(build));
        }
        result
    };
    let dev = run(Profile::Dev).map(|(build, dir)| {
        remove_dir(&dir.join("target-dev"));
        build
    });
    let (release, stripped) = match run(Profile::Release) {
        Ok((build, dir)) => {
            let stripped = strip_copy(&dir, name);
            remove_dir(&dir.join("target-release"));
            (Ok(build), stripped)
        }
        Err(e) => (Err(e), Err("no release build".into())),
    };
    Hello {
        name,
        dev,
        release,
        stripped,
    }
}

/// Copies the release binary out of the target dir, strips the copy and
/// returns its size in bytes.
fn strip_copy(dir: &Path, name: &str) -> Result<u64, String> {
    let binary = dir.join(format!("target-release/release/hello-{name}"));
    let copy = dir.join(format!("hello-{name}-stripped"));
    std::fs::copy(&binary, &copy).map_err(|e| format!("copy {}: {e}", binary.display()))?;
    let output = Command::new("strip")
        .arg(&copy)
        .output()
        .map_err(|e| format!("run strip: {e}"))?;
    if !output.status.success() {
        return Err(format!("strip failed: {}", stderr_tail(&output, 5)));
    }
    std::fs::metadata(&copy)
        .map(|m| m.len())
        .map_err(|e| format!("size of {}: {e}", copy.display()))
}

fn wall_cpu(build: &Build) -> String {
    format!(
        "{:.1} s / {}",
        build.wall.as_secs_f64(),
        build
            .cpu
            .map_or("n/a".into(), |c| format!("{:.1} s", c.as_secs_f64()))
    )
}

fn cell<T>(result: &Result<T, String>, show: impl Fn(&T) -> String) -> String {
    result.as_ref().map_or("build failed".into(), show)
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The row of one build profile: wall and CPU, ratios qstash / qstash-rs,
/// "met" on the wall ratio.
fn build_row(
    bench: &str,
    target: f64,
    [floor, subject, peer]: [&Result<Build, String>; 3],
) -> PeerRow {
    let (ratio, met) = match (subject, peer) {
        (Ok(s), Ok(p)) => {
            let wall = s.wall.as_secs_f64() / p.wall.as_secs_f64();
            let cpu = s.cpu.zip(p.cpu).map_or("n/a".into(), |(s, p)| {
                format!("{:.2}", s.as_secs_f64() / p.as_secs_f64())
            });
            (format!("{wall:.2} / {cpu}"), yes_no(wall <= target))
        }
        _ => ("—".into(), "—".into()),
    };
    PeerRow {
        bench: bench.into(),
        floor: cell(floor, wall_cpu),
        subject: cell(subject, wall_cpu),
        peer: cell(peer, wall_cpu),
        ratio,
        target: format!("≤ {target}×"),
        met,
    }
}

/// The default TLS provider (ring) against the other (aws-lc-rs): the
/// default must be the cheaper on every count.
fn provider_row(ring: &Hello, aws_lc: &Hello) -> Row {
    let figures = |h: &Hello| -> Option<[f64; 3]> {
        Some([
            h.dev.as_ref().ok()?.wall.as_secs_f64(),
            h.release.as_ref().ok()?.wall.as_secs_f64(),
            *h.stripped.as_ref().ok()? as f64,
        ])
    };
    let show = |f: &[f64; 3]| format!("{:.1} s / {:.1} s / {}", f[0], f[1], mib(f[2] as u64));
    let (baseline, subject, ratio, met) = match (figures(ring), figures(aws_lc)) {
        (Some(r), Some(a)) => (
            show(&r),
            show(&a),
            format!(
                "{:.2} / {:.2} / {:.2}",
                a[0] / r[0],
                a[1] / r[1],
                a[2] / r[2]
            ),
            yes_no(r.iter().zip(&a).all(|(r, a)| r <= a)),
        ),
        _ => ("—".into(), "—".into(), "—".into(), "—".into()),
    };
    Row {
        bench: "TLS provider of the hello-world: clean dev build / clean release build / stripped \
                binary, default `rustls-ring` (baseline) against `rustls-aws-lc-rs`"
            .into(),
        baseline,
        subject,
        ratio,
        target: "the default is the cheaper on all three".into(),
        met,
    }
}

fn strip_version() -> String {
    Command::new("strip")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into())
}

pub fn run() -> Section {
    let root = workspace();
    let base = root.join("target/bench-build");
    remove_dir(&base);
    let target = base.join("lib");

    // This crate alone: a clean build, then the rebuild check.
    eprintln!("  cargo build -p qstash (clean), then the rebuild ...");
    let (clean, _) = cargo_build(&root, &target, &["--timings"]);
    let script = build_script_time(&target);

    touch(&root.join("src/lib.rs"));
    let (rebuild, output) = cargo_build(&root, &target, &["-v", "--message-format=json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // `-v` prints `Running `…/build/qstash-HASH/build-script-build`` when the script runs.
    let reran = stderr.lines().any(|l| {
        let l = l.trim();
        l.starts_with("Running `") && l.ends_with("build-script-build`") && l.contains("qstash-")
    });
    let dirty = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("Dirty qstash v"))
        .map(|l| l.trim().to_string());
    // The library itself must have been recompiled, or the rebuild proves nothing.
    let recompiled = String::from_utf8_lossy(&output.stdout).lines().any(|l| {
        serde_json::from_str::<Value>(l).is_ok_and(|m| {
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == "qstash"
                && m["target"]["kind"][0] == "lib"
                && m["fresh"] == false
        })
    });
    remove_dir(&target);

    let mut section = Section::default();
    section.rows.push(Row {
        bench: format!(
            "Build: rebuild after touching only `src/lib.rs` (mtime); qstash recompiled: {}; build script reran: {}",
            yes_no(recompiled),
            yes_no(reran)
        ),
        baseline: "—".into(),
        subject: secs(rebuild),
        ratio: "—".into(),
        target: "script does not rerun".into(),
        met: yes_no(recompiled && !reran),
    });
    section.notes.push(format!(
        "Build: rebuild check: `cargo build -p qstash --target-dir {}` (removed first; this clean \
         dev build took {}, of which the build script ran {}), then the rebuild, timed end to \
         end; the build script's run time is from cargo's `--timings` report. Rebuild checked \
         with `-v` (no `Running …/build-script-build`) and `--message-format=json` (qstash lib \
         not fresh).{}",
        target.strip_prefix(&root).unwrap_or(&target).display(),
        secs(clean),
        script.map_or("n/a".into(), secs),
        dirty.map_or(String::new(), |d| format!(" Cargo: \"{d}\"."))
    ));

    // The three hello-worlds, each dev then release, in the order of HELLOS.
    let (ticks, ticks_source) = clock_ticks();
    let hellos: Vec<Hello> = HELLOS
        .iter()
        .map(|name| measure_hello(&root, name, ticks, &mut section.notes))
        .collect();
    let [floor, subject, peer, aws_lc] = [&hellos[0], &hellos[1], &hellos[2], &hellos[3]];
    section.rows.push(provider_row(subject, aws_lc));

    section.peer_rows.push(build_row(
        "Clean dev build of a hello-world that publishes once (wall / CPU)",
        1.5,
        [&floor.dev, &subject.dev, &peer.dev],
    ));
    section.peer_rows.push(build_row(
        "Clean release build (wall / CPU)",
        1.3,
        [&floor.release, &subject.release, &peer.release],
    ));
    let size_target = 1.2;
    let (ratio, met) = match (&subject.stripped, &peer.stripped) {
        (Ok(s), Ok(p)) => {
            let ratio = *s as f64 / *p as f64;
            (format!("{ratio:.2}"), yes_no(ratio <= size_target))
        }
        _ => ("—".into(), "—".into()),
    };
    section.peer_rows.push(PeerRow {
        bench: "Stripped release binary".into(),
        floor: cell(&floor.stripped, |b| mib(*b)),
        subject: cell(&subject.stripped, |b| mib(*b)),
        peer: cell(&peer.stripped, |b| mib(*b)),
        ratio,
        target: format!("≤ {size_target}×"),
        met,
    });

    for hello in &hellos {
        for (what, error) in [
            ("dev build", hello.dev.as_ref().err()),
            ("release build", hello.release.as_ref().err()),
            ("stripped size", hello.stripped.as_ref().err()),
        ] {
            if let Some(error) = error {
                section.notes.push(format!(
                    "Build: hello-{} {what} failed:\n\n```\n{error}\n```\n",
                    hello.name
                ));
            }
        }
    }
    let sizes: Vec<String> = hellos
        .iter()
        .filter_map(|h| Some(format!("hello-{} {} B", h.name, h.stripped.as_ref().ok()?)))
        .collect();
    section.notes.push(format!(
        "Build: hello-worlds (`bench/hello/<name>/`): each publishes one 200-byte JSON message \
         once, on a current-thread tokio runtime — plain reqwest 0.13 (features json, query, \
         stream, rustls: reqwest's own TLS, aws-lc-rs), qstash (path dependency, default \
         features: rustls-ring), qstash-rs =0.6.0 (reqwest 0.12, ring), and qstash again with \
         `rustls-aws-lc-rs` instead; each with serde_json and tokio (rt, macros). Each build: the crate written afresh \
         under `target/bench-build/hello-<name>/` with its own `[workspace]` and a copy of the \
         workspace's `Cargo.lock` (cargo prunes and extends it), then `cargo build [--release] \
         --offline --target-dir …/target-<profile>` into a fresh target dir (default profiles, \
         all dependencies compiled), removed afterwards. Order: {}, each dev then release, one \
         run each, back to back. Wall is end to end; CPU is user + system time of cargo and \
         every process it ran (`/proc/self/stat` utime+stime+cutime+cstime, {ticks} ticks/s \
         {ticks_source}), shown next to wall; \"met\" is judged on the wall ratio, the CPU ratio \
         is reported too. Size: the release binary copied out and stripped with `strip` \
         ({}): {}.",
        HELLOS.map(|n| format!("hello-{n}")).join(", "),
        strip_version(),
        sizes.join(", ")
    ));
    section
}
