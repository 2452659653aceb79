//! Build: a clean `cargo build -p qstash` in a fresh target directory, then a
//! rebuild after only the mtime of `src/lib.rs` changed, checking from
//! cargo's verbose output that the build script did not rerun.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::{Row, Section, secs, workspace, yes_no};

fn cargo_build(root: &Path, target: &Path, extra: &[&str]) -> (Duration, Output) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let start = Instant::now();
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["build", "-p", "qstash", "--target-dir"])
        .arg(target)
        .args(extra)
        .output()
        .expect("run cargo");
    let time = start.elapsed();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        panic!(
            "cargo build failed:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
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

pub fn run() -> Section {
    let root = workspace();
    let target = root.join("target/bench-build");
    if target.exists() {
        std::fs::remove_dir_all(&target).expect("remove the old bench target dir");
    }

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

    let mut section = Section::default();
    section.rows.push(Row {
        bench: format!(
            "Build: clean `cargo build -p qstash`, dev profile, fresh target dir, **including all dependencies** (build script ran {})",
            script.map_or("n/a".into(), secs)
        ),
        baseline: "—".into(),
        subject: secs(clean),
        ratio: "—".into(),
        target: "—".into(),
        met: "—".into(),
    });
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
        "Build: `cargo build -p qstash --target-dir {}` (removed first), timed end to end; the \
         build script's run time is from cargo's `--timings` report. Rebuild checked with `-v` \
         (no `Running …/build-script-build`) and `--message-format=json` (qstash lib not fresh).{}",
        target.strip_prefix(&root).unwrap_or(&target).display(),
        dirty.map_or(String::new(), |d| format!(" Cargo: \"{d}\"."))
    ));
    section
}
