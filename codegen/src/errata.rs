//! Errata: where the running service disagrees with its published
//! description, kept apart from our description as an OpenAPI Overlay 1.0
//! document (`openapi/qstash/errata.yaml`) and applied to whatever
//! document is built, before the normalization passes.
//!
//! An overlay is a list of actions, each a JSONPath `target` (RFC 9535, the
//! part of it `crate::jsonpath` matches) with an `update` or `remove: true`:
//!
//! - `update` on an object merges recursively: objects merge key by key,
//!   any other value (arrays included) replaces what was there;
//! - `update` on an array appends the value as one element;
//! - `remove: true` deletes every selected node.
//!
//! Every action gets a [`Verdict`]: [`Applied`](Verdict::Applied),
//! [`AlreadyTrue`](Verdict::AlreadyTrue) when the document already says
//! what the action would make it say (prose aside: upstream absorbed the
//! correction, so the erratum can be retired), or
//! [`TargetMissing`](Verdict::TargetMissing) when the target selects
//! nothing (the build goes on and warns).

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use crate::jsonpath::{JsonPath, Step};
use crate::report::{Refusal, pointer};

/// A parsed errata document.
#[derive(Debug, Clone)]
pub struct Errata {
    actions: Vec<Action>,
}

/// One action of the overlay.
#[derive(Debug, Clone)]
pub struct Action {
    /// Position in `actions`, from 0.
    pub index: usize,
    /// The JSONPath expression, as written.
    pub target: String,
    /// What is wrong upstream and the evidence for it.
    pub description: String,
    path: JsonPath,
    edit: Edit,
}

#[derive(Debug, Clone)]
enum Edit {
    Update(Value),
    Remove,
}

/// What applying one action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The document changed at this many of the selected nodes.
    Applied {
        /// Nodes changed.
        changed: usize,
    },
    /// The document already says this (prose aside): the erratum can be retired.
    AlreadyTrue,
    /// The target selects nothing in this document.
    TargetMissing,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Applied { changed: 1 } => f.write_str("applied"),
            Verdict::Applied { changed } => write!(f, "applied at {changed} places"),
            Verdict::AlreadyTrue => f.write_str("already true upstream (retire it)"),
            Verdict::TargetMissing => f.write_str("target missing"),
        }
    }
}

/// The verdict on one action, with what identifies the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Position in `actions`, from 0.
    pub index: usize,
    /// The action's target.
    pub target: String,
    /// The start of the action's description, on one line.
    pub summary: String,
    /// What happened.
    pub verdict: Verdict,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "erratum {} ({}): {} -- {}",
            self.index, self.target, self.verdict, self.summary
        )
    }
}

/// Counts of each verdict, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Actions that changed the document.
    pub applied: usize,
    /// Actions the document already satisfied.
    pub already_true: usize,
    /// Actions whose target selected nothing.
    pub missing: usize,
}

impl Tally {
    /// Counts the verdicts of `outcomes`.
    pub fn of(outcomes: &[Outcome]) -> Self {
        let mut t = Self::default();
        for o in outcomes {
            match o.verdict {
                Verdict::Applied { .. } => t.applied += 1,
                Verdict::AlreadyTrue => t.already_true += 1,
                Verdict::TargetMissing => t.missing += 1,
            }
        }
        t
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} applied, {} already true upstream, {} target missing",
            self.applied, self.already_true, self.missing
        )
    }
}

impl Errata {
    /// Parses and checks an overlay document (YAML or JSON).
    ///
    /// A refusal names the pointer of the offending part (`/actions/3/target`)
    /// and what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, Refusal> {
        let doc = crate::document::parse(text)?;
        match doc.get("overlay").and_then(Value::as_str) {
            Some(v) if v == "1.0.0" || v.starts_with("1.0.") => {}
            Some(v) => {
                return Err(Refusal::new(
                    "/overlay",
                    format!("overlay version `{v}` is not supported (1.0.x is)"),
                ));
            }
            None => {
                return Err(Refusal::new(
                    "/overlay",
                    "not an overlay document: `overlay: 1.0.0` is missing",
                ));
            }
        }
        for field in ["title", "version"] {
            if !doc
                .pointer(&pointer(["info", field]))
                .is_some_and(Value::is_string)
            {
                return Err(Refusal::new(
                    pointer(["info", field]),
                    format!("`info.{field}` (a string) is required"),
                ));
            }
        }
        let actions = doc
            .get("actions")
            .and_then(Value::as_array)
            .ok_or_else(|| Refusal::new("/actions", "`actions` (a list) is required"))?;
        if actions.is_empty() {
            return Err(Refusal::new("/actions", "`actions` is empty"));
        }
        let actions = actions
            .iter()
            .enumerate()
            .map(|(i, a)| Action::parse(i, a))
            .collect::<Result<_, _>>()?;
        Ok(Self { actions })
    }

    /// The actions, in order.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Applies every action to `doc`, in order, and says what each did.
    ///
    /// Refuses (naming the action) an update whose shape cannot merge into
    /// what the target selects (an object into a string, say).
    pub fn apply(&self, doc: &mut Value) -> Result<Vec<Outcome>, Refusal> {
        self.actions.iter().map(|a| a.apply(doc)).collect()
    }
}

impl Action {
    fn parse(index: usize, value: &Value) -> Result<Self, Refusal> {
        let at = pointer(["actions", &index.to_string()]);
        let obj = value
            .as_object()
            .ok_or_else(|| Refusal::new(&at, format!("action {index} is not a mapping")))?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "target" | "description" | "update" | "remove")
                && !key.starts_with("x-")
            {
                return Err(Refusal::new(
                    format!("{at}{}", pointer([key])),
                    format!("action {index}: unknown field `{key}`"),
                ));
            }
        }
        let target = obj
            .get("target")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Refusal::new(
                    format!("{at}/target"),
                    format!("action {index}: `target` (a JSONPath string) is required"),
                )
            })?
            .to_string();
        let path = JsonPath::parse(&target).map_err(|e| {
            Refusal::new(
                format!("{at}/target"),
                format!("action {index}: `{target}` is not a JSONPath expression: {e}"),
            )
        })?;
        let description = obj
            .get("description")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                Refusal::new(
                    format!("{at}/description"),
                    format!(
                        "action {index} ({target}): `description` is required: say what is wrong upstream and name the evidence"
                    ),
                )
            })?
            .to_string();
        let edit = match (obj.get("update"), obj.get("remove")) {
            (Some(u), None | Some(Value::Bool(false))) => Edit::Update(u.clone()),
            (None, Some(Value::Bool(true))) => Edit::Remove,
            (Some(_), Some(Value::Bool(true))) => {
                return Err(Refusal::new(
                    &at,
                    format!("action {index} ({target}): has both `update` and `remove: true`"),
                ));
            }
            (_, Some(other)) if !other.is_boolean() => {
                return Err(Refusal::new(
                    format!("{at}/remove"),
                    format!("action {index} ({target}): `remove` must be a boolean"),
                ));
            }
            _ => {
                return Err(Refusal::new(
                    &at,
                    format!("action {index} ({target}): needs `update` or `remove: true`"),
                ));
            }
        };
        Ok(Self {
            index,
            target,
            description,
            path,
            edit,
        })
    }

    fn refusal(&self, construct: String) -> Refusal {
        Refusal::new(
            pointer(["actions", &self.index.to_string()]),
            format!("action {} ({}): {construct}", self.index, self.target),
        )
    }

    fn outcome(&self, verdict: Verdict) -> Outcome {
        Outcome {
            index: self.index,
            target: self.target.clone(),
            summary: summary(&self.description),
            verdict,
        }
    }

    /// Applies this action to `doc`.
    pub fn apply(&self, doc: &mut Value) -> Result<Outcome, Refusal> {
        let mut locations: Vec<Location> = self.path.locate(doc);
        if locations.is_empty() {
            return Ok(self.outcome(Verdict::TargetMissing));
        }
        let changed = match &self.edit {
            Edit::Remove => {
                // Later siblings first, so earlier indices stay valid.
                locations.sort_by(|a, b| compare(b, a));
                locations.dedup();
                let mut removed = 0;
                for loc in &locations {
                    if remove_at(doc, loc) {
                        removed += 1;
                    }
                }
                removed
            }
            Edit::Update(update) => {
                let prose_only = is_prose_only(update);
                let mut changed = 0;
                for loc in &locations {
                    let node = node_mut(doc, loc).ok_or_else(|| {
                        self.refusal(format!("selected node {} vanished", to_pointer(loc)))
                    })?;
                    let before = node.clone();
                    match node {
                        Value::Object(map) => {
                            let Value::Object(fields) = update else {
                                return Err(self.refusal(format!(
                                    "`update` must be a mapping to merge into the mapping at {}",
                                    to_pointer(loc)
                                )));
                            };
                            let mut merged = map.clone();
                            merge(&mut merged, fields);
                            let merged = Value::Object(merged);
                            if !same(&before, &merged, prose_only) {
                                *node = merged;
                                changed += 1;
                            }
                        }
                        Value::Array(items) => {
                            if !items.iter().any(|i| same(i, update, prose_only)) {
                                items.push(update.clone());
                                changed += 1;
                            }
                        }
                        other => {
                            return Err(self.refusal(format!(
                                "the target selects a {} at {}; `update` needs a mapping or a list",
                                kind(other),
                                to_pointer(loc)
                            )));
                        }
                    }
                }
                changed
            }
        };
        Ok(self.outcome(if changed == 0 {
            Verdict::AlreadyTrue
        } else {
            Verdict::Applied { changed }
        }))
    }
}

/// The first paragraph of a description on one line, cut at about 120
/// characters.
fn summary(description: &str) -> String {
    let paragraph = description
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    const MAX: usize = 120;
    if paragraph.chars().count() <= MAX {
        return paragraph;
    }
    let cut: String = paragraph.chars().take(MAX).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}...")
}

type Location = Vec<Step>;

fn compare(a: &Location, b: &Location) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Step::Index(i), Step::Index(j)) => i.cmp(j),
            (Step::Name(m), Step::Name(n)) => m.cmp(n),
            (Step::Index(_), Step::Name(_)) => Ordering::Less,
            (Step::Name(_), Step::Index(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn to_pointer(loc: &Location) -> String {
    pointer(loc.iter().map(|s| match s {
        Step::Name(n) => n.clone(),
        Step::Index(i) => i.to_string(),
    }))
}

fn node_mut<'a>(doc: &'a mut Value, loc: &Location) -> Option<&'a mut Value> {
    loc.iter().try_fold(doc, |node, step| match (step, node) {
        (Step::Name(n), Value::Object(m)) => m.get_mut(n),
        (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
        _ => None,
    })
}

fn remove_at(doc: &mut Value, loc: &Location) -> bool {
    let Some((last, parent)) = loc.split_last() else {
        // The root itself: an empty document is what is left.
        *doc = Value::Object(Map::new());
        return true;
    };
    match (node_mut(doc, &parent.to_vec()), last) {
        (Some(Value::Object(m)), Step::Name(n)) => m.shift_remove(n).is_some(),
        (Some(Value::Array(a)), Step::Index(i)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

/// Overlay merge: objects merge key by key, anything else replaces.
fn merge(target: &mut Map<String, Value>, update: &Map<String, Value>) {
    for (key, value) in update {
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(fields)) => merge(existing, fields),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Keys that carry prose, not API facts.
const PROSE: [&str; 2] = ["description", "summary"];

/// Whether an update says nothing but prose.
fn is_prose_only(update: &Value) -> bool {
    match update {
        Value::Object(m) => m
            .iter()
            .all(|(k, v)| (PROSE.contains(&k.as_str()) && v.is_string()) || is_prose_only(v)),
        _ => false,
    }
}

/// Equal as facts: prose is ignored unless the update is only prose.
fn same(a: &Value, b: &Value, with_prose: bool) -> bool {
    if with_prose {
        a == b
    } else {
        without_prose(a) == without_prose(b)
    }
}

fn without_prose(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| !(PROSE.contains(&k.as_str()) && v.is_string()))
                .map(|(k, v)| (k.clone(), without_prose(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_prose).collect()),
        other => other.clone(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errata(actions: &str) -> Errata {
        Errata::parse(&format!(
            "overlay: 1.0.0\ninfo: {{title: t, version: '1'}}\nactions:\n{actions}"
        ))
        .unwrap()
    }

    fn doc() -> Value {
        json!({
            "paths": {"/v2/dlq": {"get": {"parameters": [
                {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "c"}
            ]}}},
            "components": {"schemas": {"DLQMessage": {"type": "object", "properties": {
                "messageId": {"type": "string", "description": "id"}
            }}}}
        })
    }

    #[test]
    fn update_merges_into_objects_and_appends_to_arrays() {
        let e = errata(
            "  - target: $.components.schemas.DLQMessage.properties\n    description: dlqId exists\n    update: {dlqId: {type: string}}\n  - target: \"$.paths['/v2/dlq'].get.parameters\"\n    description: a filter\n    update: {name: dlqIds, in: query, schema: {type: array}}\n",
        );
        let mut d = doc();
        let out = e.apply(&mut d).unwrap();
        assert_eq!(out[0].verdict, Verdict::Applied { changed: 1 });
        assert_eq!(out[1].verdict, Verdict::Applied { changed: 1 });
        assert_eq!(
            d["components"]["schemas"]["DLQMessage"]["properties"]["dlqId"],
            json!({"type": "string"})
        );
        // The existing property is kept.
        assert_eq!(
            d["components"]["schemas"]["DLQMessage"]["properties"]["messageId"]["type"],
            "string"
        );
        let params = d["paths"]["/v2/dlq"]["get"]["parameters"]
            .as_array()
            .unwrap();
        assert_eq!(params.len(), 2);
        assert_eq!(params[1]["name"], "dlqIds");
    }

    #[test]
    fn nested_objects_merge_and_arrays_replace() {
        let mut d = json!({"s": {"a": {"x": 1, "y": [1, 2]}, "keep": true}});
        let e = errata("  - target: $.s\n    description: d\n    update: {a: {y: [3], z: 2}}\n");
        e.apply(&mut d).unwrap();
        assert_eq!(
            d,
            json!({"s": {"a": {"x": 1, "y": [3], "z": 2}, "keep": true}})
        );
    }

    #[test]
    fn remove_deletes_every_selected_node() {
        let mut d = json!({"p": [{"n": "a"}, {"n": "b"}, {"n": "a"}], "q": {"r": 1, "s": 2}});
        let e = errata(
            "  - target: \"$.p[?@.n == 'a']\"\n    description: d\n    remove: true\n  - target: $.q.r\n    description: d\n    remove: true\n",
        );
        let out = e.apply(&mut d).unwrap();
        assert_eq!(out[0].verdict, Verdict::Applied { changed: 2 });
        assert_eq!(d, json!({"p": [{"n": "b"}], "q": {"s": 2}}));
    }

    #[test]
    fn an_update_the_document_already_has_is_a_no_op() {
        let mut d = doc();
        let before = d.clone();
        // Same facts, other prose: upstream absorbed it.
        let e = errata(
            "  - target: $.components.schemas.DLQMessage.properties\n    description: d\n    update: {messageId: {type: string, description: other words}}\n  - target: \"$.paths['/v2/dlq'].get.parameters\"\n    description: d\n    update: {name: cursor, in: query, schema: {type: string}}\n",
        );
        let out = e.apply(&mut d).unwrap();
        assert_eq!(out[0].verdict, Verdict::AlreadyTrue);
        assert_eq!(out[1].verdict, Verdict::AlreadyTrue);
        assert_eq!(d, before, "a no-op leaves the document alone");
        assert_eq!(
            Tally::of(&out),
            Tally {
                applied: 0,
                already_true: 2,
                missing: 0
            }
        );
    }

    #[test]
    fn a_prose_only_update_is_judged_on_its_prose() {
        let mut d = doc();
        let e = errata(
            "  - target: $.components.schemas.DLQMessage.properties.messageId\n    description: d\n    update: {description: better words}\n",
        );
        assert_eq!(
            e.apply(&mut d).unwrap()[0].verdict,
            Verdict::Applied { changed: 1 }
        );
        assert_eq!(
            e.apply(&mut d).unwrap()[0].verdict,
            Verdict::AlreadyTrue,
            "applied twice, the second time changes nothing"
        );
    }

    #[test]
    fn a_target_that_selects_nothing_is_reported_not_refused() {
        let mut d = doc();
        let before = d.clone();
        let e = errata(
            "  - target: $.components.schemas.Nope\n    description: |\n      Gone upstream.\n      More.\n    update: {a: 1}\n  - target: $.paths.nope\n    description: d\n    remove: true\n",
        );
        let out = e.apply(&mut d).unwrap();
        assert_eq!(out[0].verdict, Verdict::TargetMissing);
        assert_eq!(out[1].verdict, Verdict::TargetMissing);
        assert_eq!(out[0].summary, "Gone upstream. More.");
        assert!(out[0].to_string().contains("$.components.schemas.Nope"));
        assert_eq!(d, before);
    }

    #[test]
    fn an_update_of_the_wrong_shape_is_refused_naming_the_action() {
        let mut d = doc();
        let e = errata(
            "  - target: $.components.schemas.DLQMessage.type\n    description: d\n    update: {a: 1}\n",
        );
        let err = e.apply(&mut d).unwrap_err();
        assert_eq!(err.pointer, "/actions/0");
        assert!(err.construct.contains("selects a string"), "{err}");
        let e = errata(
            "  - target: $.components.schemas.DLQMessage\n    description: d\n    update: [1]\n",
        );
        assert!(
            e.apply(&mut d)
                .unwrap_err()
                .construct
                .contains("must be a mapping")
        );
    }

    #[test]
    fn malformed_overlays_are_refused_naming_the_place() {
        let parse = |actions: &str| {
            Errata::parse(&format!(
                "overlay: 1.0.0\ninfo: {{title: t, version: '1'}}\nactions:\n{actions}"
            ))
            .unwrap_err()
        };
        let err = parse("  - target: \"$.paths[\"\n    description: d\n    remove: true\n");
        assert_eq!(err.pointer, "/actions/0/target");
        assert!(err.construct.contains("not a JSONPath"), "{err}");
        let err = parse(
            "  - target: $.a\n    description: d\n    remove: true\n  - target: $.b\n    update: {}\n",
        );
        assert_eq!(err.pointer, "/actions/1/description");
        let err = parse("  - target: $.a\n    description: d\n");
        assert!(err.construct.contains("needs `update`"), "{err}");
        let err = parse("  - target: $.a\n    description: d\n    update: {}\n    remove: true\n");
        assert!(err.construct.contains("both"), "{err}");
        let err = parse("  - target: $.a\n    description: d\n    remove: yes please\n");
        assert_eq!(err.pointer, "/actions/0/remove");
        let err = parse("  - target: $.a\n    description: d\n    remove: true\n    copy: $.b\n");
        assert!(err.construct.contains("unknown field `copy`"), "{err}");
        let err = Errata::parse("openapi: 3.1.0\n").unwrap_err();
        assert!(err.construct.contains("not an overlay"), "{err}");
        let err = Errata::parse("overlay: 2.0.0\ninfo: {title: t, version: '1'}\nactions: []")
            .unwrap_err();
        assert!(err.construct.contains("not supported"), "{err}");
        let err = Errata::parse("overlay: 1.0.0\ninfo: {title: t}\nactions: []").unwrap_err();
        assert_eq!(err.pointer, "/info/version");
        let err = Errata::parse("overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions: []")
            .unwrap_err();
        assert!(err.construct.contains("empty"), "{err}");
        assert!(
            Errata::parse("overlay: [")
                .unwrap_err()
                .construct
                .contains("YAML")
        );
    }
}
