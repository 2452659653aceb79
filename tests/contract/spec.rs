//! What the spec asks to be exercised, read from the document itself, and
//! what the recorded requests exercised.
//!
//! Nothing here is listed by hand: operations, parameters (with path-item
//! parameters and `$ref`s resolved), wildcard header families, request body
//! media types, security schemes and documented error statuses all come
//! from the document; the only exclusions are parameters the normalization
//! reports it dropped (deprecated names that collide with current ones), so
//! the generated client cannot send them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use qstash_codegen::document::{self, OperationKey};
use serde_json::Value;

use super::proxy::Exchange;

/// One parameter of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// As declared (`Upstash-Forward-*`, `label`).
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    /// For a wildcard header family, the lower-case prefix before `*`.
    pub wildcard_prefix: Option<String>,
    /// Marked `deprecated: true`.
    pub deprecated: bool,
}

impl Param {
    /// The key coverage is recorded under (header names are case-insensitive).
    pub fn key(&self) -> (String, String) {
        let name = if self.location == "header" {
            self.name.to_ascii_lowercase()
        } else {
            self.name.clone()
        };
        (self.location.clone(), name)
    }

    /// `query label`, `header Upstash-Forward-*`.
    pub fn describe(&self) -> String {
        format!("{} parameter `{}`", self.location, self.name)
    }
}

/// One operation of the spec.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Method and path template.
    pub key: OperationKey,
    /// The client's method name for it (from the names table, as the build uses).
    pub method_name: String,
    /// The operation's tags.
    pub tags: Vec<String>,
    /// Every parameter, path-item ones included, duplicates merged.
    pub params: Vec<Param>,
    /// Media types of the request body.
    pub body_media: Vec<String>,
    /// Documented 2xx statuses.
    pub success: Vec<u16>,
    /// Documented 3xx statuses (the client's success only where no 2xx is
    /// documented).
    pub redirects: Vec<u16>,
    /// Documented 4xx/5xx statuses.
    pub errors: Vec<u16>,
    /// Those of `errors` documented without a body (no `content`).
    pub errors_without_body: Vec<u16>,
}

impl Operation {
    /// `GET /v2/dlq (list_dlq_messages)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.key.label(), self.method_name)
    }

    fn matches(&self, method: &str, path: &str) -> Option<(usize, BTreeMap<String, String>)> {
        if !self.key.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let template: Vec<&str> = self.key.path.trim_matches('/').split('/').collect();
        let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
        if template.len() != actual.len() {
            return None;
        }
        let mut literal = 0;
        let mut vars = BTreeMap::new();
        for (t, a) in template.iter().zip(&actual) {
            if let Some(var) = t.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
                if a.is_empty() {
                    return None;
                }
                vars.insert(var.to_string(), a.to_string());
            } else if t == a {
                literal += 1;
            } else {
                return None;
            }
        }
        Some((literal, vars))
    }
}

/// How a security scheme puts the token on a request.
#[derive(Debug, Clone)]
pub enum SchemeKind {
    /// `Authorization: Bearer ...`
    Bearer,
    /// An API key in a query parameter of this name.
    Query(String),
    /// An API key in a header of this (lower-case) name.
    Header(String),
    /// Something this suite cannot recognise on a request.
    Other(String),
}

/// A parameter the client cannot send, and why.
#[derive(Debug, Clone)]
pub struct Exclusion {
    /// Index of the operation.
    pub op: usize,
    /// The parameter.
    pub param: Param,
    /// The normalization report's words.
    pub why: String,
}

/// The spec, as far as the contract suite needs it.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The file.
    pub file: PathBuf,
    /// Every operation, in document order.
    pub ops: Vec<Operation>,
    /// Security schemes by name.
    pub schemes: BTreeMap<String, SchemeKind>,
    /// Parameters the normalization dropped.
    pub exclusions: Vec<Exclusion>,
}

/// What the recorded requests exercised.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    ops: BTreeSet<usize>,
    params: BTreeSet<(usize, String, String)>,
    bodies: BTreeSet<(usize, String)>,
    schemes: BTreeSet<String>,
    errors: BTreeSet<(usize, u16)>,
}

/// What one recorded request was.
#[derive(Debug)]
pub struct Matched {
    /// The operation it matched.
    pub op: Option<usize>,
    /// Anything wrong with it that Prism would not say.
    pub problems: Vec<String>,
}

fn statuses(op: &serde_json::Map<String, Value>, range: std::ops::RangeInclusive<u16>) -> Vec<u16> {
    let mut out: Vec<u16> = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|r| {
            r.keys()
                .filter_map(|k| k.parse::<u16>().ok())
                .filter(|s| range.contains(s))
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out
}

impl Spec {
    /// Reads `spec`, applies the errata and normalizes it with the names
    /// table, as the build does. The contract is the corrected document.
    pub fn load(spec: &Path, names: &Path, errata: &Path) -> Result<Spec, String> {
        let (raw, _) =
            qstash_codegen::load_corrected(spec, Some(errata)).map_err(|e| e.to_string())?;
        let normalized = qstash_codegen::normalize_files(spec, names, Some(errata))
            .map_err(|e| e.to_string())?;
        let method_names: BTreeMap<OperationKey, String> =
            normalized.operations.iter().cloned().collect();

        let mut ops = Vec::new();
        for key in document::operation_keys(&raw) {
            let op = document::operation(&raw, &key).ok_or("operation vanished")?;
            let item_at = format!("/paths/{}", key.path.replace('~', "~0").replace('/', "~1"));
            let mut params: Vec<Param> = Vec::new();
            let lists = [
                raw.pointer(&format!("{item_at}/parameters")),
                op.get("parameters"),
            ];
            for list in lists.into_iter().flatten() {
                for p in list.as_array().into_iter().flatten() {
                    let (p, _) = document::resolve(&raw, p, &item_at).map_err(|e| e.to_string())?;
                    let name = p["name"].as_str().unwrap_or_default().to_string();
                    let location = p["in"].as_str().unwrap_or_default().to_string();
                    let wildcard_prefix = name.contains('*').then(|| {
                        name.split('*')
                            .next()
                            .unwrap_or_default()
                            .to_ascii_lowercase()
                    });
                    let param = Param {
                        name,
                        location,
                        wildcard_prefix,
                        deprecated: p.get("deprecated") == Some(&Value::Bool(true)),
                    };
                    if !params.iter().any(|q| q.key() == param.key()) {
                        params.push(param);
                    }
                }
            }
            let body_media = match op.get("requestBody") {
                Some(b) => {
                    let (b, _) = document::resolve(&raw, b, &item_at).map_err(|e| e.to_string())?;
                    b.get("content")
                        .and_then(Value::as_object)
                        .map(|c| c.keys().map(|k| k.to_ascii_lowercase()).collect())
                        .unwrap_or_default()
                }
                None => Vec::new(),
            };
            ops.push(Operation {
                method_name: method_names
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| qstash_codegen::names::derived_name(&key)),
                tags: op
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|t| {
                        t.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
                params,
                body_media,
                success: statuses(op, 200..=299),
                redirects: statuses(op, 300..=399),
                errors_without_body: statuses(op, 400..=599)
                    .into_iter()
                    .filter(|s| {
                        let Some(r) = op.get("responses").and_then(|r| r.get(s.to_string())) else {
                            return false;
                        };
                        document::resolve(&raw, r, &item_at).is_ok_and(|(r, _)| {
                            r.get("content")
                                .and_then(Value::as_object)
                                .is_none_or(|c| c.is_empty())
                        })
                    })
                    .collect(),
                errors: statuses(op, 400..=599),
                key,
            });
        }

        let mut schemes = BTreeMap::new();
        if let Some(all) = raw
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
        {
            for (name, s) in all {
                let (s, _) = document::resolve(&raw, s, "/components/securitySchemes")
                    .map_err(|e| e.to_string())?;
                let kind = match (
                    s.get("type").and_then(Value::as_str),
                    s.get("scheme").and_then(Value::as_str),
                    s.get("in").and_then(Value::as_str),
                    s.get("name").and_then(Value::as_str),
                ) {
                    (Some("http"), Some(sch), _, _) if sch.eq_ignore_ascii_case("bearer") => {
                        SchemeKind::Bearer
                    }
                    (Some("apiKey"), _, Some("query"), Some(n)) => SchemeKind::Query(n.into()),
                    (Some("apiKey"), _, Some("header"), Some(n)) => {
                        SchemeKind::Header(n.to_ascii_lowercase())
                    }
                    _ => SchemeKind::Other(s.to_string()),
                };
                schemes.insert(name.clone(), kind);
            }
        }

        // Parameters the normalization dropped: the client has no way to send them.
        let mut exclusions = Vec::new();
        for change in normalized.report.by_pass("parameters") {
            if !change.what.contains("dropped") {
                continue;
            }
            let Some(node) = raw.pointer(&change.pointer) else {
                continue;
            };
            let (p, _) =
                document::resolve(&raw, node, &change.pointer).map_err(|e| e.to_string())?;
            let (Some(name), Some(location)) = (p["name"].as_str(), p["in"].as_str()) else {
                continue;
            };
            for (i, op) in ops.iter().enumerate() {
                let op_at = op.key.pointer();
                let item_at = format!(
                    "/paths/{}/parameters/",
                    op.key.path.replace('~', "~0").replace('/', "~1")
                );
                if change.pointer.starts_with(&format!("{op_at}/parameters/"))
                    || change.pointer.starts_with(&item_at)
                {
                    exclusions.push(Exclusion {
                        op: i,
                        param: Param {
                            name: name.to_string(),
                            location: location.to_string(),
                            wildcard_prefix: None,
                            deprecated: p.get("deprecated") == Some(&Value::Bool(true)),
                        },
                        why: change.to_string(),
                    });
                }
            }
        }

        Ok(Spec {
            file: spec.to_path_buf(),
            ops,
            schemes,
            exclusions,
        })
    }

    fn excluded(&self, op: usize, p: &Param) -> bool {
        self.exclusions
            .iter()
            .any(|e| e.op == op && e.param.key() == p.key())
    }

    /// A request-side `sl-violations` entry that is no fault of the
    /// client: Prism's warning that a parameter the spec marks deprecated
    /// was sent (the suite sends every parameter the client can send).
    pub fn tolerated(&self, op: Option<usize>, v: &Value) -> bool {
        let Some(op) = op else { return false };
        if v.get("code").and_then(Value::as_str) != Some("deprecated")
            || v.get("severity").and_then(Value::as_str) != Some("Warning")
        {
            return false;
        }
        let Some(loc) = v.get("location").and_then(Value::as_array) else {
            return false;
        };
        let (Some(location), Some(name)) = (
            loc.get(1).and_then(Value::as_str),
            loc.get(2).and_then(Value::as_str),
        ) else {
            return false;
        };
        self.ops[op].params.iter().any(|p| {
            p.deprecated
                && p.location == location
                && if location == "header" {
                    p.name.eq_ignore_ascii_case(name)
                } else {
                    p.name == name
                }
        })
    }

    /// The operation a request is for: the template with the most literal
    /// segments among those that match.
    pub fn operation_of(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(usize, BTreeMap<String, String>)> {
        self.ops
            .iter()
            .enumerate()
            .filter_map(|(i, op)| op.matches(method, path).map(|(lit, vars)| (lit, i, vars)))
            .max_by_key(|(lit, _, _)| *lit)
            .map(|(_, i, vars)| (i, vars))
    }

    /// Records what one request exercised.
    pub fn record(&self, ex: &Exchange, cov: &mut Coverage) -> Matched {
        let mut problems = Vec::new();
        let Some((i, vars)) = self.operation_of(&ex.method, ex.path()) else {
            return Matched {
                op: None,
                problems: vec![format!(
                    "{} matches no operation of {}",
                    ex.describe(),
                    self.file.display()
                )],
            };
        };
        let op = &self.ops[i];
        cov.ops.insert(i);
        let query = ex.query();
        let security_queries: Vec<&str> = self
            .schemes
            .values()
            .filter_map(|s| match s {
                SchemeKind::Query(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();

        // Parameters.
        let wildcard_prefixes: Vec<&str> = op
            .params
            .iter()
            .filter_map(|p| p.wildcard_prefix.as_deref())
            .collect();
        for p in &op.params {
            let seen = match (p.location.as_str(), &p.wildcard_prefix) {
                ("path", _) => vars.get(&p.name).is_some_and(|v| !v.is_empty()),
                ("query", _) => query.iter().any(|(k, _)| *k == p.name),
                ("header", Some(prefix)) => ex.headers.iter().any(|(h, _)| {
                    // A header counts for the most specific family it belongs to.
                    h.starts_with(prefix.as_str())
                        && wildcard_prefixes
                            .iter()
                            .filter(|other| h.starts_with(**other))
                            .all(|other| other.len() <= prefix.len())
                }),
                ("header", None) => !ex.header(&p.name).is_empty(),
                _ => false,
            };
            if seen {
                cov.params.insert((i, p.key().0, p.key().1));
            }
        }
        for (k, _) in &query {
            let documented = op
                .params
                .iter()
                .any(|p| p.location == "query" && p.name == *k)
                || security_queries.contains(&k.as_str());
            if !documented {
                problems.push(format!(
                    "{}: query parameter `{k}` is not documented for {}",
                    ex.describe(),
                    op.describe()
                ));
            }
        }

        // `Upstash-*` headers are the API's own: each one sent must be
        // documented for this operation (by name or by family).
        for (h, _) in &ex.headers {
            if !h.starts_with("upstash-") {
                continue;
            }
            let documented = op.params.iter().any(|p| {
                p.location == "header"
                    && match &p.wildcard_prefix {
                        Some(prefix) => h.starts_with(prefix.as_str()),
                        None => p.name.eq_ignore_ascii_case(h),
                    }
            });
            if !documented {
                problems.push(format!(
                    "{}: header `{h}` is not documented for {}",
                    ex.describe(),
                    op.describe()
                ));
            }
        }

        // Request body.
        let content_types = ex.header("content-type");
        if !op.body_media.is_empty() && (!ex.body.is_empty() || !content_types.is_empty()) {
            match content_types.as_slice() {
                [one] => {
                    let media = one
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase();
                    if op.body_media.contains(&media) {
                        cov.bodies.insert((i, media));
                    } else {
                        problems.push(format!(
                            "{}: body sent as `{media}`; the spec documents {:?}",
                            ex.describe(),
                            op.body_media
                        ));
                    }
                }
                more => problems.push(format!(
                    "{}: {} Content-Type headers ({more:?}); expected exactly one",
                    ex.describe(),
                    more.len()
                )),
            }
        } else if op.body_media.is_empty() && !ex.body.is_empty() {
            problems.push(format!(
                "{}: a body was sent but the spec documents none",
                ex.describe()
            ));
        }

        // Security.
        for (name, kind) in &self.schemes {
            let used = match kind {
                SchemeKind::Bearer => ex
                    .header("authorization")
                    .iter()
                    .any(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ")),
                SchemeKind::Query(n) => query.iter().any(|(k, v)| k == n && !v.is_empty()),
                SchemeKind::Header(n) => !ex.header(n).is_empty(),
                SchemeKind::Other(_) => false,
            };
            if used {
                cov.schemes.insert(name.clone());
            }
        }

        // Documented error statuses.
        if op.errors.contains(&ex.status) {
            cov.errors.insert((i, ex.status));
        }

        Matched {
            op: Some(i),
            problems,
        }
    }

    /// Every item of the spec that no recorded request exercised.
    pub fn missing(&self, cov: &Coverage) -> Vec<String> {
        let mut out = Vec::new();
        for (i, op) in self.ops.iter().enumerate() {
            if !cov.ops.contains(&i) {
                out.push(format!("operation {} was never called", op.describe()));
                continue;
            }
            for p in &op.params {
                if self.excluded(i, p) {
                    continue;
                }
                let (l, n) = p.key();
                if !cov.params.contains(&(i, l, n)) {
                    out.push(format!("{}: {} never sent", op.describe(), p.describe()));
                }
            }
            for m in &op.body_media {
                if !cov.bodies.contains(&(i, m.clone())) {
                    out.push(format!("{}: request body `{m}` never sent", op.describe()));
                }
            }
            for s in &op.errors {
                if !cov.errors.contains(&(i, *s)) {
                    out.push(format!(
                        "{}: documented error status {s} never answered",
                        op.describe()
                    ));
                }
            }
        }
        for (name, kind) in &self.schemes {
            if cov.schemes.contains(name) {
                continue;
            }
            match kind {
                SchemeKind::Other(def) => out.push(format!(
                    "security scheme `{name}` never used (the suite cannot recognise this kind on a request: {def})"
                )),
                _ => out.push(format!("security scheme `{name}` never used")),
            }
        }
        out
    }

    /// Counts, for the summary line.
    pub fn summary(&self, cov: &Coverage) -> String {
        let mut params_total = 0;
        let mut params_seen = 0;
        let mut bodies_total = 0;
        let mut errors_total = 0;
        for (i, op) in self.ops.iter().enumerate() {
            for p in &op.params {
                if self.excluded(i, p) {
                    continue;
                }
                params_total += 1;
                let (l, n) = p.key();
                if cov.params.contains(&(i, l, n)) {
                    params_seen += 1;
                }
            }
            bodies_total += op.body_media.len();
            errors_total += op.errors.len();
        }
        let excluded: Vec<String> = self
            .exclusions
            .iter()
            .map(|e| {
                format!(
                    "{} {}: {}",
                    self.ops[e.op].key.label(),
                    e.param.describe(),
                    e.why
                )
            })
            .collect();
        let tags: BTreeSet<&str> = self
            .ops
            .iter()
            .flat_map(|o| o.tags.iter().map(String::as_str))
            .collect();
        format!(
            "operations {}/{}, parameters {params_seen}/{params_total} (+{} excluded{}), \
             request body media types {}/{bodies_total}, documented error statuses {}/{errors_total} \
             over {} tags, security schemes {}/{}",
            cov.ops.len(),
            self.ops.len(),
            excluded.len(),
            if excluded.is_empty() {
                String::new()
            } else {
                format!(": {}", excluded.join("; "))
            },
            cov.bodies.len(),
            cov.errors.len(),
            tags.len(),
            cov.schemes.len(),
            self.schemes.len()
        )
    }
}
