//! What `build.rs` of the `qstash` crate does, kept here so it is tested.

use std::path::{Path, PathBuf};

use crate::errata::Verdict;
use crate::{Settings, Source, generate, normalize_files, normalize_merged};

/// Environment variable naming another QStash spec to build from.
pub const SPEC_VAR: &str = "QSTASH_OPENAPI_SPEC";

/// Environment variable naming another Workflow spec to build from.
pub const WORKFLOW_SPEC_VAR: &str = "QSTASH_WORKFLOW_OPENAPI_SPEC";

/// How the `qstash` crate plugs its layer into the generated client: the
/// settings `build.rs` generates with (and the benchmark measures).
pub fn qstash_settings() -> Settings {
    Settings {
        inner_type: Some("crate::config::Inner".into()),
        pagination_module: Some("crate::pagination".into()),
        string_list_type: Some("qstash::StringList".into()),
        enums_module: Some("qstash::enums".into()),
        hooks_expected: false,
        operation_module: Some("crate::operation".into()),
        transport_module: Some("crate::transport".into()),
        error_type: Some("crate::Error".into()),
        urls_module: Some("crate::urls".into()),
    }
}

/// Where `build.rs` reads from and writes to.
#[derive(Debug, Clone)]
pub struct BuildPaths {
    /// The vendored spec, used unless [`SPEC_VAR`] is set.
    pub default_spec: PathBuf,
    /// The names table.
    pub names: PathBuf,
    /// The errata: corrections applied to whichever spec is built.
    pub errata: PathBuf,
    /// The second document merged into the client (Workflow's), if any.
    pub workflow: Option<DocumentPaths>,
    /// The generated file.
    pub out_file: PathBuf,
}

/// The vendored files of one more document.
#[derive(Debug, Clone)]
pub struct DocumentPaths {
    /// The vendored spec, used unless its override is set.
    pub default_spec: PathBuf,
    /// Its names table.
    pub names: PathBuf,
    /// Its errata.
    pub errata: PathBuf,
}

/// Specs to build from instead of the vendored ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Instead of [`BuildPaths::default_spec`] ([`SPEC_VAR`]).
    pub spec: Option<PathBuf>,
    /// Instead of the Workflow document's ([`WORKFLOW_SPEC_VAR`]).
    pub workflow_spec: Option<PathBuf>,
}

impl Overrides {
    /// Read from [`SPEC_VAR`] and [`WORKFLOW_SPEC_VAR`].
    pub fn from_env() -> Self {
        Self {
            spec: std::env::var_os(SPEC_VAR).map(Into::into),
            workflow_spec: std::env::var_os(WORKFLOW_SPEC_VAR).map(Into::into),
        }
    }
}

/// Normalizes, generates and writes the client; returns the lines to print
/// for cargo (`cargo::rerun-if-...` and `cargo::warning=...`).
///
/// On failure the error names the spec file, the JSON pointer and the
/// construct.
pub fn build(
    paths: &BuildPaths,
    overrides: &Overrides,
    settings: &Settings,
) -> Result<Vec<String>, String> {
    let spec = overrides
        .spec
        .clone()
        .unwrap_or_else(|| paths.default_spec.clone());
    let mut lines = vec![
        format!("cargo::rerun-if-changed={}", paths.default_spec.display()),
        format!("cargo::rerun-if-changed={}", paths.names.display()),
        format!("cargo::rerun-if-changed={}", paths.errata.display()),
        format!("cargo::rerun-if-env-changed={SPEC_VAR}"),
    ];
    if spec != paths.default_spec {
        lines.push(format!("cargo::rerun-if-changed={}", spec.display()));
    }
    let first = Source {
        spec: spec.clone(),
        names: paths.names.clone(),
        errata: Some(paths.errata.clone()),
    };
    let second = paths.workflow.as_ref().map(|w| {
        let spec = overrides
            .workflow_spec
            .clone()
            .unwrap_or_else(|| w.default_spec.clone());
        lines.push(format!(
            "cargo::rerun-if-changed={}",
            w.default_spec.display()
        ));
        lines.push(format!("cargo::rerun-if-changed={}", w.names.display()));
        lines.push(format!("cargo::rerun-if-changed={}", w.errata.display()));
        lines.push(format!("cargo::rerun-if-env-changed={WORKFLOW_SPEC_VAR}"));
        if spec != w.default_spec {
            lines.push(format!("cargo::rerun-if-changed={}", spec.display()));
        }
        Source {
            spec,
            names: w.names.clone(),
            errata: Some(w.errata.clone()),
        }
    });
    let normalized = match &second {
        Some(second) => normalize_merged(&first, second),
        None => normalize_files(&spec, &paths.names, Some(&paths.errata)),
    }
    .map_err(|e| e.to_string())?;
    let code = generate(&normalized, settings).map_err(|e| match &normalized.merge {
        Some(m) => m.merged.locate(e).to_string(),
        None => e.in_file(&spec).to_string(),
    })?;
    let from = match &second {
        Some(second) => format!("{} and {}", display_name(&spec), display_name(&second.spec)),
        None => display_name(&spec),
    };
    let header = format!(
        "// @generated by qstash-codegen from {from}. Do not edit: change the spec or the\n// names table and rebuild.\n\n",
    );
    write_if_changed(&paths.out_file, &(header + &code))
        .map_err(|e| format!("{}: {e}", paths.out_file.display()))?;
    lines.extend(operation_cfgs(paths, &normalized)?);
    for (key, name) in &normalized.unknown_operations {
        let of_second = normalized
            .merge
            .as_ref()
            .is_some_and(|m| m.merged.from_second.contains(key));
        let table = match &second {
            Some(second) if of_second => &second.names,
            _ => &paths.names,
        };
        lines.push(format!(
            "cargo::warning=operation `{}` is not in {}: generated as `{name}`; give it a name there",
            key.label(),
            display_name(table)
        ));
    }
    let mut errata = vec![(&spec, &paths.errata, &normalized.errata)];
    if let (Some(second), Some(w), Some(m)) = (&second, &paths.workflow, &normalized.merge) {
        errata.push((&second.spec, &w.errata, &m.second_errata));
    }
    for (spec, file, outcomes) in errata {
        for outcome in outcomes.iter() {
            if outcome.verdict == Verdict::TargetMissing {
                lines.push(format!(
                    "cargo::warning=erratum {} of {} selects nothing in {}: `{}` ({}); see `qstash-codegen report`",
                    outcome.index,
                    display_name(file),
                    display_name(spec),
                    outcome.target,
                    outcome.summary
                ));
            }
        }
    }
    Ok(lines)
}

/// The name of the cfg that says which operations the client has:
/// `#[cfg(qstash_operation = "trigger_workflows")]` on layer code that only
/// exists for an operation some documents (older upstream versions) lack.
pub const OPERATION_CFG: &str = "qstash_operation";

/// `cargo::rustc-check-cfg` with every name of the names tables (the names
/// the layer may test), and one `cargo::rustc-cfg` per operation generated.
fn operation_cfgs(
    paths: &BuildPaths,
    normalized: &crate::Normalized,
) -> Result<Vec<String>, String> {
    let mut tables = vec![paths.names.clone()];
    tables.extend(paths.workflow.as_ref().map(|w| w.names.clone()));
    let mut known = std::collections::BTreeSet::new();
    for table in &tables {
        let names = crate::read_names(table).map_err(|e| e.to_string())?;
        known.extend(names.operations().map(|(_, n)| n.to_string()));
    }
    known.extend(normalized.operations.iter().map(|(_, n)| n.clone()));
    let values = known
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut lines = vec![format!(
        "cargo::rustc-check-cfg=cfg({OPERATION_CFG}, values({values}))"
    )];
    lines.extend(
        normalized
            .operations
            .iter()
            .map(|(_, n)| format!("cargo::rustc-cfg={OPERATION_CFG}={n:?}")),
    );
    Ok(lines)
}

fn display_name(p: &Path) -> String {
    p.display().to_string()
}

/// Writes only when the content differs, so an unchanged client does not
/// make cargo recompile the crate.
fn write_if_changed(path: &Path, content: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content)
}
