//! Codegen: parse + normalize + generate + format (what `build.rs` does,
//! minus writing the file) for our spec, upstream `latest.yaml`, and a
//! synthetic document with every path cloned under several prefixes.

use std::path::Path;
use std::time::{Duration, Instant};

use qstash_codegen::{Names, Settings, document, generate, normalize};
use serde_json::Value;

use crate::{Config, Row, Section, median, secs, workspace, yes_no};

const TARGET: Duration = Duration::from_millis(500);

/// The settings of `build.rs`.
fn settings() -> Settings {
    qstash_codegen::build_script::qstash_settings()
}

/// Stage times of one pass over a document, and what it produced.
#[derive(Clone, Copy)]
struct Pass {
    parse: Duration,
    normalize: Duration,
    generate: Duration,
    operations: usize,
    lines: usize,
}

impl Pass {
    fn total(&self) -> Duration {
        self.parse + self.normalize + self.generate
    }
}

fn pass(text: &str, names: &Names, settings: &Settings) -> Pass {
    let t0 = Instant::now();
    let doc = document::parse(text).expect("spec parses");
    let t1 = Instant::now();
    let normalized = normalize(doc, names).expect("spec normalizes");
    let t2 = Instant::now();
    let code = generate(&normalized, settings).expect("client generates");
    let t3 = Instant::now();
    Pass {
        parse: t1 - t0,
        normalize: t2 - t1,
        generate: t3 - t2,
        operations: normalized.operations.len(),
        lines: code.lines().count(),
    }
}

/// Our spec with every path cloned under `/v2/copy{i}/...` for each of
/// `copies` prefixes (the originals dropped): `copies` times the operations,
/// sharing the same components.
fn synthetic(text: &str, copies: usize) -> String {
    let mut doc = document::parse(text).expect("spec parses");
    let paths = doc["paths"].as_object().expect("paths").clone();
    let cloned = (0..copies)
        .flat_map(|i| {
            paths.iter().map(move |(path, item)| {
                let rest = path.strip_prefix("/v2").unwrap_or(path);
                (format!("/v2/copy{i}{rest}"), item.clone())
            })
        })
        .collect();
    doc["paths"] = Value::Object(cloned);
    serde_yaml::to_string(&doc).expect("YAML")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn run(config: &Config) -> Section {
    let root = workspace();
    let ours = read(&root.join("openapi/qstash/openapi.yaml"));
    let names = Names::parse(&read(&root.join("openapi/qstash/operations.yaml"))).expect("names");
    let latest_path = root.join("../shared/qstash-openapi/upstream/latest.yaml");
    let latest = latest_path.exists().then(|| read(&latest_path));
    let synthetic_doc = synthetic(&ours, config.copies);
    let settings = settings();

    let mut docs: Vec<(String, &str)> = vec![("`openapi.yaml` (ours)".into(), &ours)];
    if let Some(latest) = &latest {
        docs.push(("upstream `latest.yaml`".into(), latest));
    }
    docs.push((
        format!("synthetic, {}× the operations", config.copies),
        &synthetic_doc,
    ));

    // Warm-up, then interleaved repetitions.
    for (_, text) in &docs {
        pass(text, &names, &settings);
    }
    let mut runs: Vec<Vec<Pass>> = vec![Vec::new(); docs.len()];
    for _ in 0..config.codegen_reps {
        for (i, (_, text)) in docs.iter().enumerate() {
            runs[i].push(pass(text, &names, &settings));
        }
    }
    let medians: Vec<Pass> = runs
        .iter()
        .map(|r| {
            let m = |f: fn(&Pass) -> Duration| median(&r.iter().map(f).collect::<Vec<_>>());
            Pass {
                parse: m(|p| p.parse),
                normalize: m(|p| p.normalize),
                generate: m(|p| p.generate),
                ..r[0]
            }
        })
        .collect();

    let mut section = Section::default();
    let base = medians[0];
    for ((label, _), p) in docs.iter().zip(&medians) {
        let per_op = p.total().as_secs_f64() * 1e3 / p.operations as f64;
        let is_synthetic = label.starts_with("synthetic");
        let growth = p.total().as_secs_f64() / base.total().as_secs_f64();
        let op_ratio = p.operations as f64 / base.operations as f64;
        section.rows.push(Row {
            bench: format!(
                "Codegen: {label}, {} operations → {} lines",
                p.operations, p.lines
            ),
            baseline: "—".into(),
            subject: format!(
                "{} ({per_op:.1} ms/op): parse {}, normalize {}, generate & format {}",
                secs(p.total()),
                secs(p.parse),
                secs(p.normalize),
                secs(p.generate)
            ),
            ratio: if is_synthetic {
                format!("{growth:.2} vs ours ({op_ratio:.0}× ops)")
            } else {
                "—".into()
            },
            target: if is_synthetic {
                "≈ linear".into()
            } else {
                format!("< {}", secs(TARGET))
            },
            met: if is_synthetic {
                yes_no(growth <= op_ratio * 1.5)
            } else {
                yes_no(p.total() < TARGET)
            },
        });
    }
    if latest.is_none() {
        section.notes.push(format!(
            "Codegen: {} is absent; upstream `latest.yaml` skipped.",
            latest_path.display()
        ));
    }
    section.notes.push(format!(
        "Codegen: in-process calls of `qstash_codegen::{{document::parse, normalize, generate}}` \
         with the settings of `build.rs`, compiled optimized; the build script runs the same code \
         unoptimized (cargo's default `build-override` is opt-level 0), see the build rows. The synthetic document clones every path of ours \
         under {} prefixes (`/v2/copyN/...`, derived method names) sharing the same components; \
         'linear' counts as met when time grows at most 1.5× faster than operations.",
        config.copies
    ));
    section
}
