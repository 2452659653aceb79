//! Maintainer tools for the QStash spec.
//!
//! ```text
//! qstash-codegen report [SPEC] [--names TABLE] [--errata FILE | --no-errata] [--workflow WF_SPEC]
//!                                                 every operation, erratum and normalization change
//!                                                 (by default of the client: both documents)
//! qstash-codegen diff OLD NEW                     what changed between two versions, fact by fact
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const DEFAULT_SPEC: &str = "openapi/qstash/openapi.yaml";
const DEFAULT_NAMES: &str = "openapi/qstash/operations.yaml";
const DEFAULT_ERRATA: &str = "openapi/qstash/errata.yaml";
const WORKFLOW_SPEC: &str = "openapi/workflow/openapi.yaml";
const WORKFLOW_NAMES: &str = "openapi/workflow/operations.yaml";
const WORKFLOW_ERRATA: &str = "openapi/workflow/errata.yaml";
const USAGE: &str = "usage:
  qstash-codegen report [SPEC] [--names TABLE] [--errata FILE | --no-errata] [--workflow WF_SPEC]
      Prints every operation as `METHOD /path  method_name`, what each erratum
      did (applied, already true upstream, target missing) and every change
      the normalization made. Without SPEC, the client as the build makes it:
      openapi/qstash/openapi.yaml and openapi/workflow/openapi.yaml merged, each
      with its own table and errata, with the verdict on every operation and
      component both state. With SPEC, that document alone; TABLE and FILE
      default to the operations.yaml and errata.yaml beside SPEC, or else to
      openapi/qstash/operations.yaml and openapi/qstash/errata.yaml (relative
      to the workspace root). For an upstream Workflow version alone, pass
      --names openapi/workflow/operations.yaml --errata openapi/workflow/errata.yaml.
      --workflow WF_SPEC merges WF_SPEC (with the Workflow table and errata)
      into SPEC (default: ours), as QSTASH_WORKFLOW_OPENAPI_SPEC does.
  qstash-codegen diff OLD NEW
      Prints what changed between two versions of the document: operations,
      parameters, bodies, responses, schemas. Exits 1 when they differ.";

/// Resolves a default path against the workspace root, so the tool works
/// from the root and from `codegen/`.
fn default_path(rel: &str) -> PathBuf {
    let here = Path::new(rel);
    if here.exists() {
        return here.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// The table or errata file of a spec: the file of the same name beside it
/// (`openapi/workflow/operations.yaml` for `openapi/workflow/openapi.yaml`),
/// or else the QStash one (an upstream version stands alone).
fn beside_or_default(spec: &Path, default: &str) -> PathBuf {
    let name = Path::new(default).file_name().unwrap_or_default();
    match spec.parent() {
        Some(dir) if dir.join(name).is_file() => dir.join(name),
        _ => default_path(default),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    match args.first().map(String::as_str) {
        Some("report") => {
            let mut spec = None;
            let mut names = None;
            let mut errata = Some(None);
            let mut workflow = None;
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--workflow" => {
                        workflow =
                            Some(PathBuf::from(rest.next().ok_or("--workflow needs a path")?))
                    }
                    "--names" => {
                        names = Some(PathBuf::from(rest.next().ok_or("--names needs a path")?))
                    }
                    "--errata" => {
                        errata = Some(Some(PathBuf::from(
                            rest.next().ok_or("--errata needs a path")?,
                        )))
                    }
                    "--no-errata" => errata = None,
                    s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
                    s if spec.is_none() => spec = Some(PathBuf::from(s)),
                    s => return Err(format!("unexpected argument {s}\n{USAGE}")),
                }
            }
            let both = spec.is_none() || workflow.is_some();
            let spec = spec.unwrap_or_else(|| default_path(DEFAULT_SPEC));
            let names = names.unwrap_or_else(|| beside_or_default(&spec, DEFAULT_NAMES));
            let with_errata = errata.is_some();
            let errata =
                errata.map(|e| e.unwrap_or_else(|| beside_or_default(&spec, DEFAULT_ERRATA)));
            if both {
                let first = qstash_codegen::Source {
                    spec,
                    names,
                    errata,
                };
                let second = qstash_codegen::Source {
                    spec: workflow.unwrap_or_else(|| default_path(WORKFLOW_SPEC)),
                    names: default_path(WORKFLOW_NAMES),
                    errata: with_errata.then(|| default_path(WORKFLOW_ERRATA)),
                };
                return report_merged(&first, &second);
            }
            report(&spec, &names, errata.as_deref())
        }
        Some("diff") => match &args[1..] {
            [old, new] => diff(Path::new(old), Path::new(new)),
            _ => Err(format!("diff needs OLD and NEW\n{USAGE}")),
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(USAGE.to_string()),
    }
}

fn report(spec: &Path, names: &Path, errata: Option<&Path>) -> Result<ExitCode, String> {
    let n = qstash_codegen::normalize_files(spec, names, errata).map_err(|e| e.to_string())?;
    println!("# {}: {} operations", spec.display(), n.operations.len());
    let width = width(&n);
    print_operations(&n, width, |_| "");
    print_sections(&n, width);
    print_errata(errata, &n.errata);
    print_changes(&n, |_| String::new());
    Ok(ExitCode::SUCCESS)
}

fn report_merged(
    first: &qstash_codegen::Source,
    second: &qstash_codegen::Source,
) -> Result<ExitCode, String> {
    let n = qstash_codegen::normalize_merged(first, second).map_err(|e| e.to_string())?;
    let m = n.merge.as_deref().ok_or("no merge information")?;
    println!(
        "# {} and {}, one client: {} operations ({} from the second, {} in both)",
        first.spec.display(),
        second.spec.display(),
        n.operations.len(),
        m.merged.from_second.len(),
        m.merged.shared.len()
    );
    let width = width(&n);
    print_operations(&n, width, |key| {
        if m.merged.from_second.contains(key) {
            "  [workflow]"
        } else if m.merged.shared.contains(key) {
            "  [both]"
        } else {
            ""
        }
    });
    println!(
        "\n# Operations stated in both documents: {} (compared fact by fact, references followed)",
        m.merged.shared.len()
    );
    for key in &m.merged.shared {
        let name = n
            .operations
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, name)| name.as_str());
        println!("{:width$}  {name}  same facts in both", key.label());
    }
    println!("\n# Components stated in both documents");
    for (section, name) in &m.merged.same_components {
        println!("{section}/{name}  same facts in both: one component");
    }
    for r in &m.merged.renamed {
        println!(
            "{}/{}  differs ({}): the second document's renamed {}",
            r.section, r.from, r.because.what, r.to
        );
    }
    print_sections(&n, width);
    print_errata(first.errata.as_deref(), &n.errata);
    print_errata(second.errata.as_deref(), &m.second_errata);
    print_changes(&n, |c| {
        let (file, _) = m.merged.origin(&c.pointer);
        format!("  ({})", file.display())
    });
    Ok(ExitCode::SUCCESS)
}

fn width(n: &qstash_codegen::Normalized) -> usize {
    n.operations
        .iter()
        .map(|(k, _)| k.label().len())
        .max()
        .unwrap_or(0)
}

fn print_operations(
    n: &qstash_codegen::Normalized,
    width: usize,
    mark: impl Fn(&qstash_codegen::OperationKey) -> &'static str,
) {
    for (key, name) in &n.operations {
        let unknown = n.unknown_operations.iter().any(|(k, _)| k == key);
        let derived = if unknown {
            "  (not in the names table: derived)"
        } else {
            ""
        };
        println!("{:width$}  {name}{derived}{}", key.label(), mark(key));
    }
}

fn print_sections(n: &qstash_codegen::Normalized, width: usize) {
    println!("\n# Wildcard header families (sent by the hand-written layer)");
    for w in &n.wildcard_headers {
        println!("{:width$}  {}", w.operation.label(), w.name);
    }
    println!("\n# Cursor-paginated operations");
    for p in &n.paginated {
        let items = match (&p.items, &p.inline_items) {
            (Some((f, t)), _) => format!("{f}: {t}"),
            (None, Some(f)) => format!("(items written in place, `{f}`: pages only)"),
            (None, None) => "(no items)".to_string(),
        };
        println!("{:width$}  {}  {items}", p.operation.label(), p.method);
    }
    for u in &n.unsupported_pagination {
        println!("{:width$}  NOT FOLLOWED: {}", u.operation.label(), u.reason);
    }
    println!("\n# Bulk operations (refused without a filter unless `.all()`)");
    for b in &n.bulk {
        println!(
            "{:width$}  {}  filters: {}",
            b.operation.label(),
            b.method,
            b.filters.join(", ")
        );
    }
    if !n.stale_names.is_empty() {
        println!("\n# Names in the table that match no operation");
        for (label, name) in &n.stale_names {
            println!("{label:width$}  {name}");
        }
    }
}

fn print_errata(file: Option<&Path>, outcomes: &[qstash_codegen::errata::Outcome]) {
    match file {
        Some(file) => {
            println!(
                "\n# Errata from {}: {}",
                file.display(),
                qstash_codegen::errata::Tally::of(outcomes)
            );
            for outcome in outcomes {
                println!("{outcome}");
            }
        }
        None => println!("\n# Errata: not applied (--no-errata)"),
    }
}

fn print_changes(
    n: &qstash_codegen::Normalized,
    origin: impl Fn(&qstash_codegen::Change) -> String,
) {
    println!("\n# Normalization: {} changes", n.report.changes().len());
    for c in n.report.changes() {
        println!("{c}{}", origin(c));
    }
}

fn diff(old: &Path, new: &Path) -> Result<ExitCode, String> {
    let read = |p: &Path| -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        qstash_codegen::document::parse(&text).map_err(|e| e.in_file(p).to_string())
    };
    let differences = qstash_codegen::facts::diff(&read(old)?, &read(new)?);
    if differences.is_empty() {
        println!("no differences in API facts");
        return Ok(ExitCode::SUCCESS);
    }
    for d in &differences {
        println!("{d}");
    }
    let count = |f: fn(&qstash_codegen::facts::Difference) -> bool| {
        differences.iter().filter(|d| f(d)).count()
    };
    println!(
        "\n{} differences: {} added, {} removed, {} changed",
        differences.len(),
        count(|d| matches!(d, qstash_codegen::facts::Difference::Added { .. })),
        count(|d| matches!(d, qstash_codegen::facts::Difference::Removed { .. })),
        count(|d| matches!(d, qstash_codegen::facts::Difference::Changed { .. })),
    );
    Ok(ExitCode::from(1))
}
