//! Two documents, one client: the QStash description and the Workflow
//! description (served by the same host) merged into one document.
//!
//! Each document is read and corrected by its own errata before it comes
//! here; the merged document is then normalized as one. The rules:
//!
//! - **Operations stated in both** (the same method and path: flow control,
//!   global parallelism, signing keys) must state the same facts in both:
//!   parameters (by location and name, path-level ones included), their
//!   schemas and requiredness, the request body, every response status with
//!   its media types and schemas, `deprecated` and `security`. References
//!   are followed on each side before comparing, so a `$ref` to a component
//!   and the same schema written out agree; prose (`description`,
//!   `summary`, `title`), examples and `x-` extensions are not facts. One
//!   differing fact refuses the merge, naming the pointer in each document
//!   and the fact. When they agree, the first document's operation is kept.
//! - **Components with the same name** (schemas, parameters, responses,
//!   ...) that state the same facts are one component, the first
//!   document's. With different facts, the second document's is renamed
//!   `{prefix}{Name}` (`WorkflowFlowControlKey`) with every reference to it
//!   in the second document, so neither overwrites the other; if that name
//!   is taken too, or the component is a security scheme (which is named,
//!   not referenced), the merge is refused naming both pointers.
//! - Everything else of the second document is added: its other paths and
//!   operations, its other components, its tags. An operation of the second
//!   document keeps the document's top-level `security` if it differs from
//!   the first's, and path-level parameters of a path both documents have
//!   are moved into each of its operations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::document::{METHODS, OperationKey, operation_keys};
use crate::report::{Refusal, Report, child, pointer};

const PASS: &str = "merge";

/// Keys that are prose, not facts.
fn is_prose(key: &str) -> bool {
    matches!(
        key,
        "description" | "summary" | "title" | "example" | "examples" | "externalDocs"
    ) || key.starts_with("x-")
}

/// Flags whose absence means `false`: stating `false` is no other fact.
fn is_false_by_default(key: &str) -> bool {
    matches!(
        key,
        "required"
            | "deprecated"
            | "nullable"
            | "readOnly"
            | "writeOnly"
            | "uniqueItems"
            | "allowEmptyValue"
    )
}

/// One document to merge: where it was read from, and its content (errata
/// applied).
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The file it was read from, for messages.
    pub file: &'a Path,
    /// The document.
    pub doc: &'a Value,
}

/// A fact two documents state differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Pointer of the fact in the first document.
    pub first: String,
    /// Pointer of the fact in the second document.
    pub second: String,
    /// What differs, in a few words.
    pub what: String,
}

/// A component of the second document renamed because the first document
/// has a different one of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    /// The components section (`schemas`, `responses`, ...).
    pub section: String,
    /// Its name in its own document.
    pub from: String,
    /// Its name in the merged document.
    pub to: String,
    /// The first differing fact.
    pub because: Mismatch,
}

/// What merging did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The merged document.
    pub document: Value,
    /// The first document's file.
    pub first: PathBuf,
    /// The second document's file.
    pub second: PathBuf,
    /// Operations stated in both, with the same facts (the first document's
    /// is kept), in the first document's order.
    pub shared: Vec<OperationKey>,
    /// Components stated in both with the same facts: `(section, name)`.
    pub same_components: Vec<(String, String)>,
    /// Components of the second document renamed.
    pub renamed: Vec<Renamed>,
    /// Operations only the second document states.
    pub from_second: Vec<OperationKey>,
    /// Components only the second document states: `(section, name)`.
    pub added_from_second: Vec<(String, String)>,
}

impl Merged {
    /// The file and the pointer in it that a pointer of the merged document
    /// comes from, so that a refusal met later names the right document.
    pub fn origin(&self, at: &str) -> (PathBuf, String) {
        let tokens: Vec<String> = at
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let second = (self.second.clone(), at.to_string());
        let first = (self.first.clone(), at.to_string());
        match tokens.as_slice() {
            [p, path, method, ..] if p == "paths" => {
                let key = OperationKey {
                    method: method.clone(),
                    path: path.clone(),
                };
                if self.from_second.contains(&key) {
                    second
                } else {
                    first
                }
            }
            [p, path] if p == "paths" => {
                let methods: Vec<&String> = self.document["paths"][path]
                    .as_object()
                    .map(|item| {
                        item.keys()
                            .filter(|m| METHODS.contains(&m.as_str()))
                            .collect()
                    })
                    .unwrap_or_default();
                let of_second = |m: &String| {
                    self.from_second
                        .iter()
                        .any(|k| &k.path == path && &k.method == m)
                };
                if !methods.is_empty() && methods.into_iter().all(of_second) {
                    second
                } else {
                    first
                }
            }
            [c, section, name, rest @ ..] if c == "components" => {
                match self
                    .renamed
                    .iter()
                    .find(|r| &r.section == section && &r.to == name)
                {
                    Some(r) => {
                        let mut tokens = vec!["components", section.as_str(), r.from.as_str()];
                        tokens.extend(rest.iter().map(String::as_str));
                        (self.second.clone(), pointer(tokens))
                    }
                    None if self
                        .added_from_second
                        .iter()
                        .any(|(s, n)| s == section && n == name) =>
                    {
                        second
                    }
                    None => first,
                }
            }
            _ => first,
        }
    }

    /// Attaches the right file (and the pointer in it) to a refusal met in
    /// the merged document.
    pub fn locate(&self, refusal: Refusal) -> Refusal {
        let (file, at) = self.origin(&refusal.pointer);
        Refusal {
            file: Some(file),
            pointer: at,
            construct: refusal.construct,
        }
    }
}

/// A refusal that names a fact in both documents.
fn refusal(first: Input<'_>, second: Input<'_>, m: &Mismatch, about: &str) -> Refusal {
    Refusal::new(
        m.first.clone(),
        format!(
            "{about}: {}; in {}: at {}",
            m.what,
            second.file.display(),
            if m.second.is_empty() { "/" } else { &m.second }
        ),
    )
    .in_file(first.file)
}

/// Merges `second` into `first`, renaming clashing components of `second`
/// with `prefix`; records what it did in `report`.
pub fn merge(
    first: Input<'_>,
    second: Input<'_>,
    prefix: &str,
    report: &mut Report,
) -> Result<Merged, Refusal> {
    for input in [first, second] {
        let mut scratch = Report::default();
        crate::passes::references::run(input.doc, &mut scratch)
            .map_err(|r| r.in_file(input.file))?;
        if !input.doc.is_object() {
            return Err(Refusal::new("", "the document is not a mapping").in_file(input.file));
        }
    }
    let mut doc = first.doc.clone();
    let mut other = second.doc.clone();

    // Shared operations: same facts, or refused.
    let first_keys = operation_keys(first.doc);
    let second_keys = operation_keys(second.doc);
    let mut shared = Vec::new();
    for key in &first_keys {
        if !second_keys.contains(key) {
            continue;
        }
        if let Some(m) = compare_operations(first.doc, second.doc, key) {
            return Err(refusal(
                first,
                second,
                &m,
                &format!(
                    "`{}` is stated in both documents with different facts",
                    key.label()
                ),
            ));
        }
        report.record(
            PASS,
            key.pointer(),
            format!(
                "stated in {} too, with the same facts: one operation (this document's)",
                second.file.display()
            ),
        );
        shared.push(key.clone());
    }

    // Components: same facts are one; different ones renamed.
    let mut same_components = Vec::new();
    let mut renamed = Vec::new();
    let sections: Vec<String> = other
        .get("components")
        .and_then(Value::as_object)
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    for section in &sections {
        let names: Vec<String> = other["components"][section]
            .as_object()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        for name in names {
            let at = pointer(["components", section, &name]);
            let Some(mine) = first.doc.pointer(&at) else {
                continue;
            };
            let theirs = &second.doc[&"components"][section][&name];
            let mut seen = BTreeSet::new();
            match compare(first.doc, mine, &at, second.doc, theirs, &at, &mut seen) {
                None => {
                    report.record(
                        PASS,
                        &at,
                        format!(
                            "stated in {} too, with the same facts: one component (this document's)",
                            second.file.display()
                        ),
                    );
                    same_components.push((section.clone(), name.clone()));
                }
                Some(m) if section == "securitySchemes" => {
                    return Err(refusal(
                        first,
                        second,
                        &m,
                        &format!("security scheme `{name}` differs between the documents"),
                    ));
                }
                Some(m) => {
                    let to = format!("{prefix}{name}");
                    let taken =
                        |d: &Value| d.pointer(&pointer(["components", section, &to])).is_some();
                    if taken(first.doc) || taken(second.doc) {
                        return Err(refusal(
                            first,
                            second,
                            &m,
                            &format!(
                                "component `{name}` differs between the documents, and `{to}`, the name the second one would take, is taken"
                            ),
                        ));
                    }
                    report.record(
                        PASS,
                        pointer(["components", section, &to]),
                        format!(
                            "`{name}` of {} renamed `{to}` with every reference to it: {} has another `{name}` ({})",
                            second.file.display(),
                            first.file.display(),
                            m.what
                        ),
                    );
                    renamed.push(Renamed {
                        section: section.clone(),
                        from: name.clone(),
                        to,
                        because: m,
                    });
                }
            }
        }
    }
    for r in &renamed {
        let from = format!("#{}", pointer(["components", &r.section, &r.from]));
        let to = format!("#{}", pointer(["components", &r.section, &r.to]));
        rewrite_refs(&mut other, &from, &to);
        if let Some(section) = other["components"][&r.section].as_object_mut() {
            let value = section.remove(&r.from).unwrap_or(Value::Null);
            section.insert(r.to.clone(), value);
        }
    }

    // Components of the second document not in the first.
    let mut added_from_second = Vec::new();
    for section in &sections {
        let Some(theirs) = other["components"][section].as_object().cloned() else {
            continue;
        };
        let components = doc
            .as_object_mut()
            .expect("checked above")
            .entry("components")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(components) = components.as_object_mut() else {
            return Err(
                Refusal::new("/components", "`components` is not a mapping").in_file(first.file)
            );
        };
        let mine = components
            .entry(section.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(mine) = mine.as_object_mut() else {
            return Err(
                Refusal::new(pointer(["components", section]), "not a mapping").in_file(first.file),
            );
        };
        for (name, value) in theirs {
            if !mine.contains_key(&name) {
                added_from_second.push((section.clone(), name.clone()));
                mine.insert(name, value);
            }
        }
    }

    // Operations of the second document not in the first.
    let security_differs = other.get("security").is_some()
        && crate::facts::canonical(&other["security"])
            != crate::facts::canonical(doc.get("security").unwrap_or(&Value::Null));
    let mut from_second = Vec::new();
    let item_params = |d: &Value, path: &str| d["paths"][path].get("parameters").cloned();
    for key in &second_keys {
        if shared.contains(key) {
            continue;
        }
        let mut op = other["paths"][&key.path][&key.method].clone();
        if security_differs && op.get("security").is_none() {
            op["security"] = other["security"].clone();
            report.record(
                PASS,
                key.pointer(),
                "given the top-level `security` of its document, which the first document does not share",
            );
        }
        let paths = doc
            .as_object_mut()
            .expect("checked above")
            .entry("paths")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(paths) = paths.as_object_mut() else {
            return Err(Refusal::new("/paths", "`paths` is not a mapping").in_file(first.file));
        };
        match paths.get_mut(&key.path) {
            None => {
                let mut item = other["paths"][&key.path].clone();
                if let Some(item) = item.as_object_mut() {
                    item.retain(|k, _| !METHODS.contains(&k.as_str()));
                    item.insert(key.method.clone(), op);
                }
                paths.insert(key.path.clone(), item);
            }
            Some(item) => {
                // A path both documents have: path-level parameters move
                // into each operation, so neither document's apply to the
                // other's operations.
                let theirs = item_params(&other, &key.path);
                hoist(item);
                if let Some(params) = theirs {
                    prepend_parameters(&mut op, &params);
                }
                if let Some(item) = item.as_object_mut() {
                    item.insert(key.method.clone(), op);
                }
                report.record(
                    PASS,
                    key.pointer(),
                    format!(
                        "from {}, on a path both documents have",
                        second.file.display()
                    ),
                );
            }
        }
        from_second.push(key.clone());
    }

    // Tags: the first document's, then the second's others.
    if let Some(tags) = other.get("tags").and_then(Value::as_array) {
        let root = doc.as_object_mut().expect("checked above");
        let mine = root
            .entry("tags")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(mine) = mine.as_array_mut() {
            for t in tags {
                if !mine.iter().any(|m| m["name"] == t["name"]) {
                    mine.push(t.clone());
                }
            }
        }
    }
    // The newer OpenAPI version of the two, so the 3.1 forms of either are
    // lowered.
    if let (Some(a), Some(b)) = (
        doc.get("openapi").and_then(Value::as_str),
        other.get("openapi").and_then(Value::as_str),
    ) && b.starts_with("3.1.")
        && !a.starts_with("3.1.")
    {
        doc["openapi"] = Value::String(b.to_string());
    }
    Ok(Merged {
        document: doc,
        first: first.file.to_path_buf(),
        second: second.file.to_path_buf(),
        shared,
        same_components,
        renamed,
        from_second,
        added_from_second,
    })
}

fn hoist(item: &mut Value) {
    let Some(obj) = item.as_object_mut() else {
        return;
    };
    let Some(params) = obj.remove("parameters") else {
        return;
    };
    for m in METHODS {
        if let Some(op) = obj.get_mut(m) {
            prepend_parameters(op, &params);
        }
    }
}

/// Adds path-level parameters to an operation, unless it declares the same
/// location and name itself (which overrides them).
fn prepend_parameters(op: &mut Value, params: &Value) {
    let Some(params) = params.as_array() else {
        return;
    };
    let own: Vec<(Value, Value)> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| (p["in"].clone(), p["name"].clone()))
        .collect();
    let mut list: Vec<Value> = params
        .iter()
        .filter(|p| !own.contains(&(p["in"].clone(), p["name"].clone())))
        .cloned()
        .collect();
    list.extend(
        op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .cloned(),
    );
    if let Some(o) = op.as_object_mut() {
        o.insert("parameters".into(), Value::Array(list));
    }
}

fn rewrite_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "$ref"
                    && let Value::String(s) = v
                    && (s == from || s.starts_with(&format!("{from}/")))
                {
                    *s = format!("{to}{}", &s[from.len()..]);
                    continue;
                }
                rewrite_refs(v, from, to);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, from, to)),
        _ => {}
    }
}

/// The parameters that apply to an operation, by location and name (the
/// operation's own override the path's), each resolved, with its pointer.
fn effective_parameters<'a>(
    doc: &'a Value,
    key: &OperationKey,
) -> BTreeMap<(String, String), (&'a Value, String)> {
    let mut out = BTreeMap::new();
    let item_at = pointer(["paths", &key.path]);
    let lists = [
        (
            doc.pointer(&child(&item_at, ["parameters"])),
            child(&item_at, ["parameters"]),
        ),
        (
            doc.pointer(&child(&key.pointer(), ["parameters"])),
            child(&key.pointer(), ["parameters"]),
        ),
    ];
    for (list, at) in lists {
        for (i, p) in list
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = child(&at, [i.to_string()]);
            let Ok((p, _)) = crate::document::resolve(doc, p, &at) else {
                continue;
            };
            let id = (
                p["in"].as_str().unwrap_or_default().to_string(),
                p["name"].as_str().unwrap_or_default().to_string(),
            );
            out.insert(id, (p, at));
        }
    }
    out
}

/// The first fact in which the operation `key` differs between `a` and
/// `b`, or `None` when they state the same facts.
pub fn compare_operations(a: &Value, b: &Value, key: &OperationKey) -> Option<Mismatch> {
    let at = key.pointer();
    let (pa, pb) = (effective_parameters(a, key), effective_parameters(b, key));
    for (id, (p, p_at)) in &pa {
        let Some((q, q_at)) = pb.get(id) else {
            return Some(Mismatch {
                first: p_at.clone(),
                second: at.clone(),
                what: format!(
                    "{} parameter `{}` is stated in the first document only",
                    id.0, id.1
                ),
            });
        };
        let mut seen = BTreeSet::new();
        if let Some(m) = compare(a, p, p_at, b, q, q_at, &mut seen) {
            return Some(m);
        }
    }
    if let Some((id, (_, q_at))) = pb.iter().find(|(id, _)| !pa.contains_key(*id)) {
        return Some(Mismatch {
            first: at.clone(),
            second: q_at.clone(),
            what: format!(
                "{} parameter `{}` is stated in the second document only",
                id.0, id.1
            ),
        });
    }
    let (oa, ob) = (
        &a["paths"][&key.path][&key.method],
        &b["paths"][&key.path][&key.method],
    );
    for field in ["requestBody", "responses", "deprecated", "security"] {
        let f_at = child(&at, [field]);
        match (oa.get(field), ob.get(field)) {
            (None, None) => {}
            (Some(x), Some(y)) => {
                let mut seen = BTreeSet::new();
                if let Some(m) = compare(a, x, &f_at, b, y, &f_at, &mut seen) {
                    return Some(m);
                }
            }
            (Some(_), None) => {
                return Some(Mismatch {
                    first: f_at,
                    second: at,
                    what: format!("`{field}` is stated in the first document only"),
                });
            }
            (None, Some(_)) => {
                return Some(Mismatch {
                    first: at,
                    second: f_at,
                    what: format!("`{field}` is stated in the second document only"),
                });
            }
        }
    }
    None
}

fn short(v: &Value) -> String {
    let s = crate::facts::canonical(v).to_string();
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

/// Compares two nodes fact by fact, following references on each side
/// (a pair of references already being compared counts as equal, so
/// recursive schemas end). Returns the first difference.
fn compare(
    a: &Value,
    x: &Value,
    x_at: &str,
    b: &Value,
    y: &Value,
    y_at: &str,
    seen: &mut BTreeSet<(String, String)>,
) -> Option<Mismatch> {
    let x_ref = x.get("$ref").and_then(Value::as_str).map(str::to_string);
    let y_ref = y.get("$ref").and_then(Value::as_str).map(str::to_string);
    if x_ref.is_some() || y_ref.is_some() {
        let pair = (
            x_ref.clone().unwrap_or_else(|| x_at.to_string()),
            y_ref.clone().unwrap_or_else(|| y_at.to_string()),
        );
        if !seen.insert(pair) {
            return None;
        }
        let (x, x_at) = match crate::document::resolve(a, x, x_at) {
            Ok(r) => r,
            Err(e) => {
                return Some(Mismatch {
                    first: e.pointer,
                    second: y_at.to_string(),
                    what: e.construct,
                });
            }
        };
        let (y, y_at) = match crate::document::resolve(b, y, y_at) {
            Ok(r) => r,
            Err(e) => {
                return Some(Mismatch {
                    first: x_at,
                    second: e.pointer,
                    what: e.construct,
                });
            }
        };
        return compare(a, x, &x_at, b, y, &y_at, seen);
    }
    match (x, y) {
        (Value::Object(xm), Value::Object(ym)) => {
            let keys: BTreeSet<&String> = xm
                .keys()
                .chain(ym.keys())
                .filter(|k| !is_prose(k))
                .collect();
            for k in keys {
                let (cx, cy) = (child(x_at, [k]), child(y_at, [k]));
                match (xm.get(k), ym.get(k)) {
                    (Some(vx), Some(vy)) => {
                        if let Some(m) = compare(a, vx, &cx, b, vy, &cy, seen) {
                            return Some(m);
                        }
                    }
                    (Some(Value::Bool(false)), None) | (None, Some(Value::Bool(false)))
                        if is_false_by_default(k) => {}
                    (Some(vx), None) => {
                        return Some(Mismatch {
                            first: cx,
                            second: y_at.to_string(),
                            what: format!(
                                "`{k}: {}` is stated in the first document only",
                                short(vx)
                            ),
                        });
                    }
                    (None, Some(vy)) => {
                        return Some(Mismatch {
                            first: x_at.to_string(),
                            second: cy,
                            what: format!(
                                "`{k}: {}` is stated in the second document only",
                                short(vy)
                            ),
                        });
                    }
                    (None, None) => {}
                }
            }
            None
        }
        (Value::Array(xs), Value::Array(ys)) => {
            let scalars = |v: &[Value]| v.iter().all(|e| !e.is_object() && !e.is_array());
            if scalars(xs) && scalars(ys) {
                // `required`, `enum`, `type`: sets.
                let set = |v: &[Value]| v.iter().map(Value::to_string).collect::<BTreeSet<_>>();
                if set(xs) == set(ys) {
                    return None;
                }
                return Some(Mismatch {
                    first: x_at.to_string(),
                    second: y_at.to_string(),
                    what: format!(
                        "{} in the first document, {} in the second",
                        short(x),
                        short(y)
                    ),
                });
            }
            if xs.len() != ys.len() {
                return Some(Mismatch {
                    first: x_at.to_string(),
                    second: y_at.to_string(),
                    what: format!(
                        "{} entries in the first document, {} in the second",
                        xs.len(),
                        ys.len()
                    ),
                });
            }
            xs.iter().zip(ys).enumerate().find_map(|(i, (vx, vy))| {
                compare(
                    a,
                    vx,
                    &child(x_at, [i.to_string()]),
                    b,
                    vy,
                    &child(y_at, [i.to_string()]),
                    seen,
                )
            })
        }
        _ if x == y => None,
        _ => Some(Mismatch {
            first: x_at.to_string(),
            second: y_at.to_string(),
            what: format!(
                "{} in the first document, {} in the second",
                short(x),
                short(y)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(a: &Value, b: &Value) -> Result<(Merged, Report), Refusal> {
        let mut report = Report::default();
        let m = merge(
            Input {
                file: Path::new("a.yaml"),
                doc: a,
            },
            Input {
                file: Path::new("b.yaml"),
                doc: b,
            },
            "Workflow",
            &mut report,
        )?;
        Ok((m, report))
    }

    fn key(method: &str, path: &str) -> OperationKey {
        OperationKey {
            method: method.into(),
            path: path.into(),
        }
    }

    /// A document with one flow control lookup answering `FlowControlKey`
    /// (with `backlog` as its backlog property).
    fn flow(backlog: &str, prose: &str) -> Value {
        json!({"openapi": "3.1.0", "info": {"title": prose, "version": "1"},
            "components": {"schemas": {
                "FlowControlKey": {"type": "object", "description": prose, "properties": {
                    "flowControlKey": {"type": "string"}, backlog: {"type": "integer"}}},
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}},
            "paths": {"/v2/flowControl/{flowControlKey}": {"get": {
                "summary": prose,
                "parameters": [{"name": "flowControlKey", "in": "path", "required": true,
                    "schema": {"type": "string"}, "description": prose}],
                "responses": {
                    "200": {"description": prose, "content": {"application/json": {"schema":
                        {"$ref": "#/components/schemas/FlowControlKey"}}}},
                    "404": {"description": prose, "content": {"application/json": {"schema":
                        {"$ref": "#/components/schemas/Error"}}}}}}}}})
    }

    #[test]
    fn an_operation_both_state_with_the_same_facts_is_one() {
        let mut b = flow("waitListSize", "other prose");
        b["paths"]["/v2/notify/{eventId}"] =
            json!({"post": {"responses": {"200": {"description": "ok"}}}});
        // A reference on one side, the same schema written out on the other.
        b["paths"]["/v2/flowControl/{flowControlKey}"]["get"]["responses"]["404"]["content"]["application/json"]
            ["schema"] = json!({"type": "object", "required": ["error"],
                "properties": {"error": {"type": "string", "description": "why"}}});
        let (m, report) = merged(&flow("waitListSize", "prose"), &b).unwrap();
        assert_eq!(m.shared, [key("get", "/v2/flowControl/{flowControlKey}")]);
        assert_eq!(m.from_second, [key("post", "/v2/notify/{eventId}")]);
        assert!(m.renamed.is_empty());
        // The first document's operation (and prose) is kept.
        assert_eq!(
            m.document["paths"]["/v2/flowControl/{flowControlKey}"]["get"]["summary"],
            "prose"
        );
        assert!(m.document["paths"]["/v2/notify/{eventId}"]["post"].is_object());
        assert!(
            report.by_pass("merge").any(|c| c.pointer
                == "/paths/~1v2~1flowControl~1{flowControlKey}/get"
                && c.what.contains("same facts")),
            "{report:?}"
        );
        assert_eq!(
            m.same_components,
            [
                ("schemas".to_string(), "FlowControlKey".to_string()),
                ("schemas".to_string(), "Error".to_string())
            ]
        );
    }

    #[test]
    fn an_operation_both_state_differently_is_refused_naming_both_pointers() {
        // The published Workflow document's `waitlistSize` against QStash's
        // `waitListSize`, behind a reference on each side.
        let err = merged(&flow("waitListSize", "a"), &flow("waitlistSize", "b")).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.file.as_deref(), Some(Path::new("a.yaml")));
        assert!(
            text.starts_with(
                "a.yaml: at /components/schemas/FlowControlKey/properties/waitListSize: "
            ),
            "{text}"
        );
        assert!(
            text.contains("`GET /v2/flowControl/{flowControlKey}` is stated in both documents with different facts"),
            "{text}"
        );
        assert!(
            text.contains(
                "`waitListSize: {\"type\":\"integer\"}` is stated in the first document only"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("in b.yaml: at /components/schemas/FlowControlKey/properties"),
            "{text}"
        );
    }

    #[test]
    fn every_kind_of_operation_fact_is_compared() {
        let base = flow("waitListSize", "a");
        let op = "/paths/~1v2~1flowControl~1{flowControlKey}/get";
        let cases: [(&str, Value, &str); 6] = [
            (
                "/parameters/0/required",
                json!(false),
                "true in the first document, false in the second",
            ),
            (
                "/parameters/0/in",
                json!("query"),
                "path parameter `flowControlKey` is stated in the first document only",
            ),
            (
                "/parameters/0/schema/type",
                json!("integer"),
                "\"string\" in the first document, \"integer\" in the second",
            ),
            (
                "/responses/404/content/application~1json/schema",
                json!({"type": "string"}),
                "stated in the first document only",
            ),
            (
                "/responses/200/content/application~1xml",
                json!({}),
                "`application/xml: {}` is stated in the second document only",
            ),
            (
                "/requestBody",
                json!({"content": {"text/plain": {"schema": {"type": "string"}}}}),
                "`requestBody` is stated in the second document only",
            ),
        ];
        for (at, value, what) in cases {
            let mut b = base.clone();
            let (parent, last) = format!("{op}{at}")
                .rsplit_once('/')
                .map(|(p, l)| (p.to_string(), l.replace("~1", "/")))
                .unwrap();
            b.pointer_mut(&parent).unwrap()[&last] = value;
            let err = merged(&base, &b).unwrap_err();
            assert!(err.construct.contains(what), "{at}: {err}");
        }
        // A status code only one states.
        let mut b = base.clone();
        b.pointer_mut(&format!("{op}/responses")).unwrap()["500"] = json!({"description": "x"});
        let err = merged(&base, &b).unwrap_err();
        assert!(
            err.construct
                .contains("`500: {}` is stated in the second document only"),
            "{err}"
        );
        assert!(
            err.construct
                .contains(&format!("b.yaml: at {op}/responses/500")),
            "{err}"
        );
        // `required: false` states nothing more than its absence; the order
        // of `required` names is no fact.
        let mut b = base.clone();
        b.pointer_mut(&format!("{op}/parameters/0")).unwrap()["deprecated"] = json!(false);
        b["components"]["schemas"]["Error"]["required"] = json!(["error"]);
        assert!(merged(&base, &b).is_ok());
    }

    #[test]
    fn path_level_parameters_count_as_the_operations_own() {
        let base = flow("waitListSize", "a");
        let mut b = base.clone();
        let item = &mut b["paths"]["/v2/flowControl/{flowControlKey}"];
        let param = item["get"]["parameters"].take();
        item["parameters"] = param;
        item["get"].as_object_mut().unwrap().remove("parameters");
        assert!(merged(&base, &b).is_ok());
        b["paths"]["/v2/flowControl/{flowControlKey}"]["parameters"][0]["required"] = json!(false);
        assert!(merged(&base, &b).is_err());
    }

    #[test]
    fn components_with_one_name_and_different_facts_are_renamed_in_the_second_document() {
        let a = json!({"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {"description": "",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}}}}}},
            "components": {"schemas": {"Run": {"type": "object", "properties": {"id": {"type": "string"}}}}}});
        let b = json!({"openapi": "3.1.0", "paths": {"/b": {"get": {"responses": {"200": {"description": "",
                "content": {"application/json": {"schema": {"type": "array",
                    "items": {"$ref": "#/components/schemas/Run"}}}}}}}}},
            "components": {"schemas": {
                "Run": {"type": "object", "properties": {"id": {"type": "integer"},
                    "parent": {"$ref": "#/components/schemas/Run"}}},
                "Step": {"type": "object", "properties": {"run": {"$ref": "#/components/schemas/Run"}}}}}});
        let (m, report) = merged(&a, &b).unwrap();
        assert_eq!(m.renamed.len(), 1);
        let r = &m.renamed[0];
        assert_eq!(
            (r.section.as_str(), r.from.as_str(), r.to.as_str()),
            ("schemas", "Run", "WorkflowRun")
        );
        assert_eq!(
            r.because.first,
            "/components/schemas/Run/properties/id/type"
        );
        let schemas = &m.document["components"]["schemas"];
        // Neither overwrites the other; the second document's references
        // follow its own schema, the first's stay.
        assert_eq!(schemas["Run"]["properties"]["id"]["type"], "string");
        assert_eq!(
            schemas["WorkflowRun"]["properties"]["id"]["type"],
            "integer"
        );
        assert_eq!(
            schemas["WorkflowRun"]["properties"]["parent"]["$ref"],
            "#/components/schemas/WorkflowRun"
        );
        assert_eq!(
            schemas["Step"]["properties"]["run"]["$ref"],
            "#/components/schemas/WorkflowRun"
        );
        assert_eq!(
            m.document["paths"]["/b"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["items"]["$ref"],
            "#/components/schemas/WorkflowRun"
        );
        assert_eq!(
            m.document["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"],
            "#/components/schemas/Run"
        );
        assert!(
            report
                .by_pass("merge")
                .any(|c| c.what.contains("renamed `WorkflowRun`"))
        );
        // A refusal met later in a renamed or added component names the
        // second file and the component's own name there.
        assert_eq!(
            m.origin("/components/schemas/WorkflowRun/properties/id"),
            (
                PathBuf::from("b.yaml"),
                "/components/schemas/Run/properties/id".to_string()
            )
        );
        assert_eq!(
            m.origin("/components/schemas/Step").0,
            PathBuf::from("b.yaml")
        );
        assert_eq!(
            m.origin("/components/schemas/Run").0,
            PathBuf::from("a.yaml")
        );
        assert_eq!(
            m.origin("/paths/~1b/get/responses").0,
            PathBuf::from("b.yaml")
        );
        assert_eq!(m.origin("/paths/~1b").0, PathBuf::from("b.yaml"));
        assert_eq!(m.origin("/paths/~1a/get").0, PathBuf::from("a.yaml"));

        // Renaming is deterministic: the same documents, the same result.
        assert_eq!(merged(&a, &b).unwrap().0, m);

        // A prefixed name that is taken refuses, naming both pointers.
        let mut taken = b.clone();
        taken["components"]["schemas"]["WorkflowRun"] = json!({"type": "string"});
        let err = merged(&a, &taken).unwrap_err();
        assert!(
            err.construct
                .contains("`WorkflowRun`, the name the second one would take, is taken"),
            "{err}"
        );
        assert_eq!(err.pointer, "/components/schemas/Run/properties/id/type");
        assert!(
            err.construct
                .contains("in b.yaml: at /components/schemas/Run/properties/id/type"),
            "{err}"
        );
    }

    #[test]
    fn security_schemes_with_one_name_must_agree() {
        let scheme = |scheme: &str| {
            json!({"openapi": "3.1.0", "paths": {},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": scheme}}}})
        };
        assert!(merged(&scheme("bearer"), &scheme("bearer")).is_ok());
        let err = merged(&scheme("bearer"), &scheme("basic")).unwrap_err();
        assert!(
            err.construct
                .contains("security scheme `bearerAuth` differs"),
            "{err}"
        );
    }

    #[test]
    fn recursive_schemas_compare_and_end() {
        let tree = |leaf: &str| {
            json!({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {
            "Node": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                "value": {"type": leaf}}}}}})
        };
        let (m, _) = merged(&tree("string"), &tree("string")).unwrap();
        assert!(m.renamed.is_empty());
        let (m, _) = merged(&tree("string"), &tree("integer")).unwrap();
        assert_eq!(m.renamed[0].to, "WorkflowNode");
        assert_eq!(
            m.document["components"]["schemas"]["WorkflowNode"]["properties"]["children"]["items"]
                ["$ref"],
            "#/components/schemas/WorkflowNode"
        );
    }

    #[test]
    fn a_path_both_have_gets_the_second_documents_other_methods() {
        let a = json!({"openapi": "3.0.3", "paths": {"/v2/keys/rotate": {
            "parameters": [{"name": "x", "in": "query", "schema": {"type": "string"}}],
            "post": {"responses": {"200": {"description": ""}}}}}});
        let b = json!({"openapi": "3.1.0", "security": [{"other": []}], "paths": {"/v2/keys/rotate": {
            "parameters": [{"name": "x", "in": "query", "schema": {"type": "string"}}],
            "post": {"responses": {"200": {"description": ""}}},
            "get": {"responses": {"200": {"description": ""}}}}}});
        let (m, _) = merged(&a, &b).unwrap();
        let item = &m.document["paths"]["/v2/keys/rotate"];
        assert!(item.get("parameters").is_none(), "{item}");
        assert_eq!(item["post"]["parameters"][0]["name"], "x");
        assert_eq!(item["get"]["parameters"][0]["name"], "x");
        // The second document's own security goes with its operations.
        assert_eq!(item["get"]["security"], json!([{"other": []}]));
        assert!(item["post"].get("security").is_none());
        // The newer version, so the 3.1 forms of either are lowered.
        assert_eq!(m.document["openapi"], "3.1.0");
        assert_eq!(
            m.origin("/paths/~1v2~1keys~1rotate/get").0,
            PathBuf::from("b.yaml")
        );
        assert_eq!(
            m.origin("/paths/~1v2~1keys~1rotate").0,
            PathBuf::from("a.yaml")
        );
    }

    #[test]
    fn broken_input_is_refused_in_its_file() {
        let ok = json!({"openapi": "3.1.0", "paths": {}});
        let dangling = json!({"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {
            "description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}}}}}}}});
        let err = merged(&ok, &dangling).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("b.yaml")));
        assert!(err.construct.contains("points to nothing"), "{err}");
        let err = merged(&json!([1]), &ok).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("a.yaml")));
    }
}
