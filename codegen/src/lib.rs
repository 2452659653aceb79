//! Spec processing for the `qstash` crate.
//!
//! The QStash OpenAPI document is written in OpenAPI 3.1 with constructs the
//! generator (progenitor 0.15, on openapiv3 2.2) cannot take. This crate
//! turns such a document into a client in three steps:
//!
//! 1. [`document::parse`] reads the YAML, and [`errata`] applies our
//!    corrections (where the running service disagrees with the document);
//! 2. [`normalize`] runs the [`passes`], each one concern, each recording what
//!    it changed in a [`Report`] and refusing what it cannot handle with a
//!    [`Refusal`] that names the JSON pointer and the construct;
//! 3. [`generate`] runs progenitor and formats the code with prettyplease.
//!
//! [`facts`] compares two documents fact by fact (the maintainer's `diff`
//! and the drift test). [`normalize_merged`] makes one client of two
//! documents (QStash's and Workflow's, served by the same host): each
//! corrected by its own errata, named by its own names table, then
//! [`merge`]d (operations both state must state the same facts) and
//! normalized as one.

pub mod build_script;
pub mod document;
pub mod errata;
pub mod facts;
mod generate;
pub mod idents;
mod jsonpath;
pub mod merge;
pub mod names;
mod net;
pub mod pagination;
pub mod passes;
pub mod report;
mod requests;
mod shape;

use std::path::Path;

use serde_json::Value;

pub use document::OperationKey;
pub use generate::{Settings, generate};
pub use names::Names;
pub use passes::parameters::WildcardHeader;
pub use report::{Change, Refusal, Report};

/// A document made ready for the generator, with everything learned on the way.
#[derive(Debug, Clone)]
pub struct Normalized {
    /// The normalized document (OpenAPI 3.0), as JSON.
    pub document: Value,
    /// Every change the passes made.
    pub report: Report,
    /// Every operation and its method name, in document order.
    pub operations: Vec<(OperationKey, String)>,
    /// Operations the names table does not know, with their derived names.
    pub unknown_operations: Vec<(OperationKey, String)>,
    /// Names in the table that match no operation of the document.
    pub stale_names: Vec<(String, String)>,
    /// Wildcard header families taken out of generation.
    pub wildcard_headers: Vec<WildcardHeader>,
    /// Cursor-paginated operations.
    pub paginated: Vec<pagination::Paginated>,
    /// Cursor-paginated operations whose pages the layer cannot follow.
    pub unsupported_pagination: Vec<pagination::Unsupported>,
    /// Operations that act on everything without a filter (the names
    /// table's `bulk` list), with their filter parameters.
    pub bulk: Vec<BulkOperation>,
    /// Properties folded into a twin spelled another way: their spellings
    /// decode into the kept field.
    pub property_aliases: Vec<passes::collisions::PropertyAlias>,
    /// Method names of POST/PATCH operations that only set state (the names
    /// table's `retry.idempotent`) present in the document.
    pub idempotent: Vec<String>,
    /// Method names of operations that create messages (the names
    /// table's `retry.creates_messages`) present in the document.
    pub creates_messages: Vec<String>,
    /// String enums only responses use: generated to accept unlisted values.
    pub response_enums: Vec<passes::response_enums::TolerantEnum>,
    /// What each erratum did, when errata were applied ([`normalize_files`]).
    /// For two documents ([`normalize_merged`]), the first document's.
    pub errata: Vec<errata::Outcome>,
    /// For a client of two documents ([`normalize_merged`]): what merging
    /// them did, and the second document's errata.
    pub merge: Option<Box<MergeInfo>>,
}

/// What [`normalize_merged`] learned beyond one document's normalization.
#[derive(Debug, Clone)]
pub struct MergeInfo {
    /// What merging did: operations and components stated in both,
    /// renamed components, what came from the second document.
    pub merged: merge::Merged,
    /// What each erratum of the second document did.
    pub second_errata: Vec<errata::Outcome>,
}

/// Where one document of a client comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The OpenAPI document.
    pub spec: std::path::PathBuf,
    /// Its names table.
    pub names: std::path::PathBuf,
    /// Its errata, if applied.
    pub errata: Option<std::path::PathBuf>,
}

/// The prefix a component of the second document takes when the first has
/// a different one of the same name (`WorkflowFlowControlKey`).
pub const SECOND_PREFIX: &str = "Workflow";

pub(crate) fn read_names(path: &Path) -> Result<Names, Refusal> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Refusal::new("", format!("cannot read the names table: {e}")).in_file(path))?;
    Names::parse(&text).map_err(|r| r.in_file(path))
}

/// Makes one client of two documents: each is read and corrected by its
/// own errata, the names tables are joined ([`Names::merge`]), the
/// documents are merged ([`merge::merge`], components of the second that
/// clash renamed with [`SECOND_PREFIX`]) and the result normalized.
///
/// Every refusal names the file it comes from (both files, with a pointer
/// in each, when the documents disagree).
pub fn normalize_merged(first: &Source, second: &Source) -> Result<Normalized, Refusal> {
    let names = read_names(&first.names)?
        .merge(&read_names(&second.names)?)
        .map_err(|r| r.in_file(&second.names))?;
    let (doc_a, errata_a) = load_corrected(&first.spec, first.errata.as_deref())?;
    let (doc_b, errata_b) = load_corrected(&second.spec, second.errata.as_deref())?;
    let mut report = Report::default();
    let merged = merge::merge(
        merge::Input {
            file: &first.spec,
            doc: &doc_a,
        },
        merge::Input {
            file: &second.spec,
            doc: &doc_b,
        },
        SECOND_PREFIX,
        &mut report,
    )?;
    let mut normalized =
        normalize(merged.document.clone(), &names).map_err(|r| merged.locate(r))?;
    report.extend(std::mem::take(&mut normalized.report));
    normalized.report = report;
    normalized.errata = errata_a;
    normalized.merge = Some(Box::new(MergeInfo {
        merged,
        second_errata: errata_b,
    }));
    Ok(normalized)
}

/// Runs every pass over a parsed document.
pub fn normalize(mut doc: Value, names: &Names) -> Result<Normalized, Refusal> {
    let mut report = Report::default();
    passes::references::run(&doc, &mut report)?;
    passes::openapi31::run(&mut doc, &mut report)?;
    passes::strings::run(&mut doc, &mut report);
    let wildcard_headers = passes::parameters::run(&mut doc, &mut report)?;
    let property_aliases = passes::collisions::run(&mut doc, &mut report)?;
    passes::bodies::run(&mut doc, &mut report)?;
    passes::responses::run(&mut doc, &mut report)?;
    passes::one_of::run(&mut doc, &mut report)?;
    let unknown_operations = passes::operation_ids::run(&mut doc, names, &mut report)?;
    passes::type_names::run(&mut doc, &mut report)?;
    let response_enums = passes::response_enums::run(&doc, &mut report)?;
    let operations: Vec<(OperationKey, String)> = document::operation_keys(&doc)
        .into_iter()
        .map(|k| {
            let name = document::operation(&doc, &k)
                .and_then(|op| op.get("operationId"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (k, name)
        })
        .collect();
    let stale_names = names
        .operations()
        .filter(|(label, _)| !operations.iter().any(|(k, _)| &k.label() == label))
        .map(|(l, n)| (l.to_string(), n.to_string()))
        .collect();
    let (paginated, unsupported_pagination) = pagination::find(&doc);
    let bulk = bulk_operations(&doc, names, &operations)?;
    let named = |listed: &[String]| -> Vec<String> {
        operations
            .iter()
            .filter(|(_, n)| listed.contains(n))
            .map(|(_, n)| n.clone())
            .collect()
    };
    let idempotent = named(&names.retry().idempotent);
    let creates_messages = named(&names.retry().creates_messages);
    Ok(Normalized {
        document: doc,
        report,
        operations,
        unknown_operations,
        stale_names,
        wildcard_headers,
        paginated,
        unsupported_pagination,
        bulk,
        idempotent,
        creates_messages,
        property_aliases,
        response_enums,
        errata: Vec::new(),
        merge: None,
    })
}

/// An operation that acts on every item its filters match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOperation {
    /// Where it is.
    pub operation: OperationKey,
    /// Its method name.
    pub method: String,
    /// Its query parameters that select items (wire names).
    pub filters: Vec<String>,
    /// The `count` that `.all()` sends (the names table's `bulk.all_count`,
    /// else [`names::DEFAULT_ALL_COUNT`]); never above the `maximum` of the
    /// operation's `count` parameter.
    pub all_count: u32,
}

fn bulk_operations(
    doc: &Value,
    names: &Names,
    operations: &[(OperationKey, String)],
) -> Result<Vec<BulkOperation>, Refusal> {
    let not_filters = &names.bulk().not_filters;
    operations
        .iter()
        .filter(|(_, method)| names.bulk().operations.contains(method))
        .map(|(key, method)| {
            let query: Vec<(usize, &Value)> = document::operation(doc, key)
                .and_then(|op| op.get("parameters"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, p)| p["in"] == "query")
                .collect();
            let filters = query
                .iter()
                .filter_map(|(_, p)| p["name"].as_str())
                .filter(|name| !not_filters.iter().any(|n| n == name))
                .map(str::to_string)
                .collect();
            let all_count = names
                .bulk()
                .all_count
                .get(method)
                .copied()
                .unwrap_or(names::DEFAULT_ALL_COUNT);
            // `.all()` must send a count the operation takes.
            if let Some((i, maximum)) = query.iter().find_map(|(i, p)| {
                (p["name"] == "count")
                    .then(|| p["schema"]["maximum"].as_u64())
                    .flatten()
                    .map(|m| (*i, m))
            }) && u64::from(all_count) > maximum
            {
                return Err(Refusal::new(
                    crate::report::child(&key.pointer(), ["parameters", &i.to_string()]),
                    format!(
                        "`.all()` of `{method}` would send count {all_count}, above the parameter's maximum {maximum}: set `bulk.all_count` for it in the names table"
                    ),
                ));
            }
            Ok(BulkOperation {
                operation: key.clone(),
                method: method.clone(),
                filters,
                all_count,
            })
        })
        .collect()
}

/// Reads a spec file and applies the errata file to it, if one is given.
///
/// Returns the corrected document (still in the spec's own OpenAPI
/// version, as the contract suite serves it) and each erratum's verdict.
/// Every refusal names the file it comes from.
pub fn load_corrected(
    spec: &Path,
    errata: Option<&Path>,
) -> Result<(Value, Vec<errata::Outcome>), Refusal> {
    let text = std::fs::read_to_string(spec)
        .map_err(|e| Refusal::new("", format!("cannot read the spec: {e}")).in_file(spec))?;
    let mut doc = document::parse(&text).map_err(|r| r.in_file(spec))?;
    let Some(errata) = errata else {
        return Ok((doc, Vec::new()));
    };
    let text = std::fs::read_to_string(errata)
        .map_err(|e| Refusal::new("", format!("cannot read the errata: {e}")).in_file(errata))?;
    let outcomes = errata::Errata::parse(&text)
        .and_then(|e| e.apply(&mut doc))
        .map_err(|r| r.in_file(errata))?;
    Ok((doc, outcomes))
}

/// Reads a spec file, applies the errata file (if given) and normalizes the
/// result with a names table file.
///
/// Every refusal names the file it comes from.
pub fn normalize_files(
    spec: &Path,
    names: &Path,
    errata: Option<&Path>,
) -> Result<Normalized, Refusal> {
    let names = read_names(names)?;
    let (doc, outcomes) = load_corrected(spec, errata)?;
    let mut normalized = normalize(doc, &names).map_err(|r| r.in_file(spec))?;
    normalized.errata = outcomes;
    Ok(normalized)
}
