//! The names table: `METHOD /path` to the Rust method name.
//!
//! Names are chosen by people, once, and kept: a spec update never renames a
//! method. An operation the table does not know still generates, under a
//! name derived from its method and path, and is reported so a maintainer
//! can give it a proper name.

use std::collections::BTreeMap;

use heck::ToSnakeCase;

use crate::document::OperationKey;
use crate::report::Refusal;

/// The table, keyed by `METHOD /path`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    by_operation: BTreeMap<String, String>,
    bulk: Bulk,
    retry: Retry,
}

/// What a failed request of an operation may be sent again for, beyond
/// what its HTTP method says (GET, HEAD, PUT and DELETE are repeatable).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Method names of POST or PATCH operations that only set state:
    /// sending one twice changes nothing.
    #[serde(default)]
    pub idempotent: Vec<String>,
    /// Method names of operations that create messages: sent again only
    /// when deduplicated (every entry, for a list body).
    #[serde(default)]
    pub creates_messages: Vec<String>,
}

/// Operations that act on every item their filters match, and so on every
/// item at all without a filter: the client sends them without a filter
/// only when the caller asks for everything (`.all()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bulk {
    /// The method name of each such operation.
    pub operations: Vec<String>,
    /// Their query parameters that are not filters (`cursor`, `count`).
    #[serde(default)]
    pub not_filters: Vec<String>,
    /// The `count` that `.all()` sends, by method name, where it is not
    /// [`DEFAULT_ALL_COUNT`] (an operation that acts on fewer items a call).
    #[serde(default)]
    pub all_count: BTreeMap<String, u32>,
}

/// The `count` that `.all()` sends unless the table says otherwise: the
/// service's default per call, as the JS SDKs' `{ all: true }` sends it.
pub const DEFAULT_ALL_COUNT: u32 = 100;

impl Names {
    /// Parses the table (YAML): an `operations` mapping of `"METHOD /path": name`,
    /// and the `bulk` and `retry` lists.
    pub fn parse(text: &str) -> Result<Self, Refusal> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            operations: BTreeMap<String, String>,
            #[serde(default)]
            bulk: Bulk,
            #[serde(default)]
            retry: Retry,
        }
        let file: File = serde_yaml::from_str(text)
            .map_err(|e| Refusal::new("", format!("names table: {e}")))?;
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (op, name) in &file.operations {
            let at = crate::report::pointer(["operations", op]);
            let mut parts = op.splitn(2, ' ');
            let method = parts.next().unwrap_or_default();
            let path = parts.next().unwrap_or_default();
            if !crate::document::METHODS.contains(&method.to_lowercase().as_str())
                || method != method.to_uppercase()
                || !path.starts_with('/')
            {
                return Err(Refusal::new(
                    at,
                    format!("`{op}` is not `METHOD /path` (upper-case method)"),
                ));
            }
            if !is_method_name(name) {
                return Err(Refusal::new(
                    at,
                    format!("`{name}` is not a snake_case Rust method name"),
                ));
            }
            if let Some(other) = seen.insert(name, op) {
                return Err(Refusal::new(
                    at,
                    format!("`{name}` is also the name of `{other}`"),
                ));
            }
        }
        let lists = [
            ("bulk", "operations", &file.bulk.operations),
            ("retry", "idempotent", &file.retry.idempotent),
            ("retry", "creates_messages", &file.retry.creates_messages),
        ];
        for (table, key, list) in lists {
            for (i, name) in list.iter().enumerate() {
                if !seen.contains_key(name.as_str()) {
                    return Err(Refusal::new(
                        crate::report::pointer([table, key, &i.to_string()]),
                        format!("{table} operation `{name}` is no method name of `operations`"),
                    ));
                }
            }
        }
        for (name, count) in &file.bulk.all_count {
            let at = crate::report::pointer(["bulk", "all_count", name]);
            if !file.bulk.operations.contains(name) {
                return Err(Refusal::new(
                    at,
                    format!("`{name}` is no operation of `bulk.operations`"),
                ));
            }
            if *count == 0 {
                return Err(Refusal::new(at, "a count of 0 acts on nothing"));
            }
        }
        Ok(Self {
            by_operation: file.operations,
            bulk: file.bulk,
            retry: file.retry,
        })
    }

    /// One table for a client generated from two documents: every name of
    /// both, and the union of their `bulk` and `retry` lists.
    ///
    /// An operation named in both must have the same name in both, and no
    /// name may stand for two operations; either is refused at the entry of
    /// `other` (the caller names its file). `bulk.not_filters` are joined:
    /// a parameter that selects nothing in one table's bulk operations
    /// selects nothing in the other's either (paging, call options).
    pub fn merge(&self, other: &Names) -> Result<Names, Refusal> {
        let mut merged = self.clone();
        for (op, name) in &other.by_operation {
            let at = crate::report::pointer(["operations", op]);
            if let Some(mine) = self.by_operation.get(op)
                && mine != name
            {
                return Err(Refusal::new(
                    at,
                    format!(
                        "`{op}` is `{name}` here and `{mine}` in the other table: one operation has one name"
                    ),
                ));
            }
            if let Some((mine, _)) = self
                .by_operation
                .iter()
                .find(|(k, n)| *n == name && *k != op)
            {
                return Err(Refusal::new(
                    at,
                    format!("`{name}` names `{op}` here and `{mine}` in the other table"),
                ));
            }
            merged.by_operation.insert(op.clone(), name.clone());
        }
        let join = |mine: &mut Vec<String>, theirs: &[String]| {
            for t in theirs {
                if !mine.contains(t) {
                    mine.push(t.clone());
                }
            }
        };
        join(&mut merged.bulk.operations, &other.bulk.operations);
        join(&mut merged.bulk.not_filters, &other.bulk.not_filters);
        for (name, count) in &other.bulk.all_count {
            if let Some(mine) = self.bulk.all_count.get(name)
                && mine != count
            {
                return Err(Refusal::new(
                    crate::report::pointer(["bulk", "all_count", name]),
                    format!("`{name}` sends count {count} here and {mine} in the other table"),
                ));
            }
            merged.bulk.all_count.insert(name.clone(), *count);
        }
        join(&mut merged.retry.idempotent, &other.retry.idempotent);
        join(
            &mut merged.retry.creates_messages,
            &other.retry.creates_messages,
        );
        if let Some((i, name)) = other
            .retry
            .idempotent
            .iter()
            .enumerate()
            .find(|(_, n)| merged.retry.creates_messages.contains(n))
        {
            return Err(Refusal::new(
                crate::report::pointer(["retry", "idempotent", &i.to_string()]),
                format!("`{name}` is idempotent here and creates messages in the other table"),
            ));
        }
        if let Some((i, name)) = other
            .retry
            .creates_messages
            .iter()
            .enumerate()
            .find(|(_, n)| self.retry.idempotent.contains(n))
        {
            return Err(Refusal::new(
                crate::report::pointer(["retry", "creates_messages", &i.to_string()]),
                format!("`{name}` creates messages here and is idempotent in the other table"),
            ));
        }
        Ok(merged)
    }

    /// Which operations may be sent again after a failure.
    pub fn retry(&self) -> &Retry {
        &self.retry
    }

    /// The bulk operations and their non-filter parameters.
    pub fn bulk(&self) -> &Bulk {
        &self.bulk
    }

    /// The table's name for an operation.
    pub fn get(&self, key: &OperationKey) -> Option<&str> {
        self.by_operation.get(&key.label()).map(String::as_str)
    }

    /// Every `METHOD /path` the table names.
    pub fn operations(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_operation
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The name an operation unknown to the table gets: its method and path,
/// without the API version prefix, `{param}` segments read as `by_param`.
///
/// `POST /v2/flowControl/{flowControlKey}/resetRate` ->
/// `post_flow_control_by_flow_control_key_reset_rate`.
pub fn derived_name(key: &OperationKey) -> String {
    let mut parts = vec![key.method.to_lowercase()];
    let segments: Vec<&str> = key.path.split('/').filter(|s| !s.is_empty()).collect();
    let skip_version = segments.first().is_some_and(|s| {
        s.len() > 1 && s.starts_with('v') && s[1..].chars().all(|c| c.is_ascii_digit())
    });
    for seg in segments.iter().skip(usize::from(skip_version)) {
        if let Some(var) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            parts.push(format!("by_{}", var.to_snake_case()));
        } else {
            parts.push(seg.to_snake_case());
        }
    }
    parts.retain(|p| !p.is_empty());
    parts.join("_")
}

/// The methods progenitor gives the client itself: no operation may take
/// their names.
const CLIENT_METHODS: &[&str] = &[
    "new",
    "new_with_client",
    "baseurl",
    "client",
    "inner",
    "api_version",
];

/// Whether `name` can name an operation's method: ASCII snake case that the
/// generator keeps as it is ([`crate::idents::snake`] leaves it unchanged:
/// no keyword, no `__`, no trailing `_`), and not a method of the client.
fn is_method_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && crate::idents::snake(name) == name
        && !CLIENT_METHODS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(method: &str, path: &str) -> OperationKey {
        OperationKey {
            method: method.into(),
            path: path.into(),
        }
    }

    #[test]
    fn table_lookup_by_method_and_path() {
        let names = Names::parse("operations: {\"GET /v2/dlq\": list_dlq_messages}\n").unwrap();
        assert_eq!(names.get(&key("get", "/v2/dlq")), Some("list_dlq_messages"));
        assert_eq!(names.get(&key("delete", "/v2/dlq")), None);
    }

    #[test]
    fn derived_names_are_deterministic() {
        assert_eq!(
            derived_name(&key("post", "/v2/flowControl/{flowControlKey}/resetRate")),
            "post_flow_control_by_flow_control_key_reset_rate"
        );
        assert_eq!(derived_name(&key("get", "/v2/dlq")), "get_dlq");
        assert_eq!(derived_name(&key("get", "/")), "get");
        assert_eq!(derived_name(&key("get", "/version/x")), "get_version_x");
    }

    #[test]
    fn bad_tables_are_refused_naming_the_entry() {
        let err = Names::parse("operations: {\"GET /a\": x, \"GET /b\": x}\n").unwrap_err();
        assert!(err.construct.contains("also the name"), "{err}");
        let err = Names::parse("operations: {\"GET /a\": Bad-Name}\n").unwrap_err();
        assert_eq!(err.pointer, "/operations/GET ~1a");
        assert!(Names::parse("operations: {\"get /a\": x}\n").is_err());
        assert!(Names::parse("operations: {\"GET a\": x}\n").is_err());
        assert!(Names::parse("operations: {\"GET /a\": type}\n").is_err());
        assert!(
            Names::parse("ops: {}\n")
                .unwrap_err()
                .construct
                .contains("names table")
        );
        let err = Names::parse("operations: {\"DELETE /a\": x}\nbulk: {\"operations\": [\"y\"]}\n")
            .unwrap_err();
        assert_eq!(err.pointer, "/bulk/operations/0");
        assert!(err.construct.contains("`y` is no method name"), "{err}");
        // Named by method name, not by `METHOD /path`.
        let err = Names::parse(
            "operations: {\"DELETE /a\": x}\nbulk: {\"operations\": [\"DELETE /a\"]}\n",
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/bulk/operations/0");
    }

    #[test]
    fn retry_lists_name_operations_of_the_table() {
        let names = Names::parse(
            "operations: {\"POST /a\": x, \"POST /b\": y}\nretry: {\"idempotent\": [x], \"creates_messages\": [y]}\n",
        )
        .unwrap();
        assert_eq!(names.retry().idempotent, ["x"]);
        assert_eq!(names.retry().creates_messages, ["y"]);
        let err =
            Names::parse("operations: {\"POST /a\": x}\nretry: {\"idempotent\": [x, gone]}\n")
                .unwrap_err();
        assert_eq!(err.pointer, "/retry/idempotent/1");
        assert!(err.construct.contains("`gone`"), "{err}");
    }

    #[test]
    fn keywords_and_client_methods_are_not_method_names() {
        for word in [
            "type", "gen", "try", "box", "yield", "async", "abstract", "become",
        ] {
            let err = Names::parse(&format!("operations: {{\"GET /a\": {word}}}\n")).unwrap_err();
            assert!(err.construct.contains("not a snake_case"), "{word}: {err}");
        }
        for name in [
            "new",
            "baseurl",
            "api_version",
            "a__b",
            "a_",
            "_a",
            "a_B",
            "2a",
        ] {
            assert!(!is_method_name(name), "{name}");
        }
        for name in ["generate", "try_again", "list_v2_things", "get", "yield_x"] {
            assert!(is_method_name(name), "{name}");
        }
    }

    #[test]
    fn two_tables_merge_into_one() {
        let a = Names::parse(
            "operations: {\"GET /a\": x, \"POST /s\": s}\nbulk: {operations: [x], not_filters: [cursor]}\nretry: {idempotent: [s]}\n",
        )
        .unwrap();
        let b = Names::parse(
            "operations: {\"DELETE /b\": y, \"POST /s\": s}\nbulk: {operations: [y], not_filters: [cursor, count]}\n",
        )
        .unwrap();
        let m = a.merge(&b).unwrap();
        assert_eq!(m.get(&key("get", "/a")), Some("x"));
        assert_eq!(m.get(&key("delete", "/b")), Some("y"));
        assert_eq!(m.get(&key("post", "/s")), Some("s"));
        assert_eq!(m.bulk().operations, ["x", "y"]);
        assert_eq!(m.bulk().not_filters, ["cursor", "count"]);
        assert_eq!(m.retry().idempotent, ["s"]);
    }

    #[test]
    fn merged_tables_keep_one_name_per_operation() {
        let a = Names::parse("operations: {\"GET /a\": x}\n").unwrap();
        // The same operation under another name.
        let err = a
            .merge(&Names::parse("operations: {\"GET /a\": z}\n").unwrap())
            .unwrap_err();
        assert_eq!(err.pointer, "/operations/GET ~1a");
        assert!(err.construct.contains("`z` here and `x`"), "{err}");
        // The same name for another operation.
        let err = a
            .merge(&Names::parse("operations: {\"GET /b\": x}\n").unwrap())
            .unwrap_err();
        assert_eq!(err.pointer, "/operations/GET ~1b");
        assert!(
            err.construct
                .contains("`x` names `GET /b` here and `GET /a`"),
            "{err}"
        );
        // Retry kinds that contradict.
        let a = Names::parse("operations: {\"POST /a\": x}\nretry: {idempotent: [x]}\n").unwrap();
        let b =
            Names::parse("operations: {\"POST /a\": x}\nretry: {creates_messages: [x]}\n").unwrap();
        let err = a.merge(&b).unwrap_err();
        assert_eq!(err.pointer, "/retry/creates_messages/0");
    }

    #[test]
    fn all_counts_name_bulk_operations_and_agree_when_merged() {
        let names = Names::parse(
            "operations: {\"DELETE /a\": x}\nbulk: {operations: [x], all_count: {x: 50}}\n",
        )
        .unwrap();
        assert_eq!(names.bulk().all_count["x"], 50);
        let err = Names::parse(
            "operations: {\"DELETE /a\": x, \"GET /b\": y}\nbulk: {operations: [x], all_count: {y: 50}}\n",
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/bulk/all_count/y");
        assert!(
            err.construct.contains("no operation of `bulk.operations`"),
            "{err}"
        );
        let err = Names::parse(
            "operations: {\"DELETE /a\": x}\nbulk: {operations: [x], all_count: {x: 0}}\n",
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/bulk/all_count/x");
        let other = Names::parse(
            "operations: {\"DELETE /a\": x}\nbulk: {operations: [x], all_count: {x: 20}}\n",
        )
        .unwrap();
        let err = names.merge(&other).unwrap_err();
        assert!(err.construct.contains("count 20 here and 50"), "{err}");
        assert_eq!(names.merge(&names).unwrap().bulk().all_count["x"], 50);
    }

    #[test]
    fn bulk_operations_are_read() {
        let names = Names::parse(
            "operations: {\"DELETE /a\": x}\nbulk: {\"operations\": [x], \"not_filters\": [\"cursor\"]}\n",
        )
        .unwrap();
        assert_eq!(names.bulk().operations, ["x"]);
        assert_eq!(names.bulk().not_filters, ["cursor"]);
    }
}
