//! The JSONPath (RFC 9535) that errata targets are written in: the part of
//! it an overlay over an OpenAPI document needs, matched here rather than
//! by a general JSONPath crate that every build of the client would
//! compile.
//!
//! - the root `$`, then segments:
//! - a member by name: `.name`, `['name']` or `["name"]`;
//! - an element by index: `[0]`, or from the end, `[-1]`;
//! - the wildcard: `.*` or `[*]`, every member or element;
//! - a filter on the members or elements: `[?@.key == 'value']` or `!=`,
//!   the key a name path (`@.a.b`, `@['a']`), the value a string, number,
//!   `true`, `false` or `null`.
//!
//! Anything else (descendants `..`, slices, unions, functions) is refused
//! with what and where: an erratum's target must mean one thing.

use serde_json::Value;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Name(String),
    Index(i64),
    Wildcard,
    Filter {
        key: Vec<String>,
        equal: bool,
        value: Value,
    },
}

/// One step of a node's location: a member name or an element index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Name(String),
    Index(usize),
}

impl JsonPath {
    /// Parses `text`; the error says what is wrong and at which character.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser { text, at: 0 };
        if !p.eat("$") {
            return Err(p.error("must start with `$`"));
        }
        let mut segments = Vec::new();
        while !p.done() {
            segments.push(p.segment()?);
        }
        Ok(Self { segments })
    }

    /// The locations of every node the expression selects in `doc`, in
    /// document order.
    pub fn locate(&self, doc: &Value) -> Vec<Vec<Step>> {
        let mut found: Vec<(Vec<Step>, &Value)> = vec![(Vec::new(), doc)];
        for segment in &self.segments {
            let mut next = Vec::new();
            for (at, node) in found {
                for (step, child) in children(node) {
                    if segment.selects(&step, child, node) {
                        let mut location = at.clone();
                        location.push(step);
                        next.push((location, child));
                    }
                }
            }
            found = next;
        }
        found.into_iter().map(|(at, _)| at).collect()
    }
}

/// The members of an object or the elements of an array, with their steps.
fn children(node: &Value) -> Vec<(Step, &Value)> {
    match node {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (Step::Name(k.clone()), v))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::Index(i), v))
            .collect(),
        _ => Vec::new(),
    }
}

impl Segment {
    fn selects(&self, step: &Step, child: &Value, parent: &Value) -> bool {
        match (self, step) {
            (Segment::Name(name), Step::Name(n)) => name == n,
            (Segment::Index(i), Step::Index(n)) => {
                let len = parent.as_array().map_or(0, Vec::len) as i64;
                let i = if *i < 0 { len + i } else { *i };
                i == *n as i64
            }
            (Segment::Wildcard, _) => true,
            (Segment::Filter { key, equal, value }, _) => {
                let mut node = Some(child);
                for k in key {
                    node = node.and_then(|n| n.get(k));
                }
                // RFC 9535: a missing member equals nothing, so `!=` holds;
                // numbers compare by value (`1 == 1.0`).
                let same = match (node, value) {
                    (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
                    (node, value) => node == Some(value),
                };
                same == *equal
            }
            _ => false,
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn done(&self) -> bool {
        self.at == self.text.len()
    }

    fn eat(&mut self, token: &str) -> bool {
        let found = self.rest().starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    fn skip_blanks(&mut self) {
        let blanks = self.rest().len() - self.rest().trim_start().len();
        self.at += blanks;
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at character {} (`{}`)", self.at + 1, self.rest())
    }

    fn segment(&mut self) -> Result<Segment, String> {
        if self.rest().starts_with("..") {
            return Err(self.error("descendant segments (`..`) are not supported"));
        }
        if self.eat(".") {
            if self.eat("*") {
                return Ok(Segment::Wildcard);
            }
            return self.name().map(Segment::Name);
        }
        if !self.eat("[") {
            return Err(self.error("expected `.` or `[`"));
        }
        self.skip_blanks();
        let segment = if self.eat("*") {
            Segment::Wildcard
        } else if self.eat("?") {
            self.filter()?
        } else if self.rest().starts_with(['\'', '"']) {
            Segment::Name(self.string()?)
        } else {
            Segment::Index(self.integer()?)
        };
        self.skip_blanks();
        if !self.eat("]") {
            return Err(self.error("expected `]` (unions, slices and functions are not supported)"));
        }
        Ok(segment)
    }

    /// A member name after `.` (RFC 9535's shorthand): letters, `_` and
    /// non-ASCII characters, then digits too. Other names need `['...']`.
    fn name(&mut self) -> Result<String, String> {
        let first = |c: char| !c.is_ascii() || c.is_ascii_alphabetic() || c == '_';
        if !self.rest().starts_with(first) {
            return Err(self.error("expected a member name (others need `['...']`)"));
        }
        let len = self
            .rest()
            .find(|c: char| !(first(c) || c.is_ascii_digit()))
            .unwrap_or(self.rest().len());
        let name = self.rest()[..len].to_string();
        self.at += len;
        Ok(name)
    }

    /// A quoted string, `'...'` or `"..."`, with `\` escapes of the quote,
    /// `\` and `/`.
    fn string(&mut self) -> Result<String, String> {
        let quote = self.rest().chars().next().unwrap_or('\'');
        let start = self.at;
        self.at += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e)) if e == quote || e == '\\' || e == '/' => out.push(e),
                    _ => {
                        self.at += i;
                        return Err(self.error("unsupported escape in a string"));
                    }
                },
                c if c == quote => {
                    self.at += i + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        self.at = start;
        Err(self.error("unterminated string"))
    }

    fn integer(&mut self) -> Result<i64, String> {
        let len = self
            .rest()
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
            .map_or(self.rest().len(), |(i, _)| i);
        let number = self.rest()[..len]
            .parse()
            .map_err(|_| self.error("expected a name, an index, `*` or a filter"))?;
        self.at += len;
        Ok(number)
    }

    /// `@.key == value` (or `!=`) after `[?`.
    fn filter(&mut self) -> Result<Segment, String> {
        self.skip_blanks();
        if !self.eat("@") {
            return Err(self.error("a filter must compare a member of `@`"));
        }
        let mut key = Vec::new();
        loop {
            if self.eat(".") {
                key.push(self.name()?);
            } else if self.rest().starts_with("['") || self.rest().starts_with("[\"") {
                self.at += 1;
                key.push(self.string()?);
                if !self.eat("]") {
                    return Err(self.error("expected `]`"));
                }
            } else {
                break;
            }
        }
        if key.is_empty() {
            return Err(self.error("a filter must name a member of `@`"));
        }
        self.skip_blanks();
        let equal = if self.eat("==") {
            true
        } else if self.eat("!=") {
            false
        } else {
            return Err(self.error("a filter must compare with `==` or `!=`"));
        };
        self.skip_blanks();
        let value = self.literal()?;
        Ok(Segment::Filter { key, equal, value })
    }

    fn literal(&mut self) -> Result<Value, String> {
        if self.rest().starts_with(['\'', '"']) {
            return self.string().map(Value::String);
        }
        for (word, value) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if self.eat(word) {
                return Ok(value);
            }
        }
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || "-+.eE".contains(c)))
            .unwrap_or(self.rest().len());
        let number: serde_json::Number = self.rest()[..len]
            .parse()
            .map_err(|_| self.error("expected a string, a number, `true`, `false` or `null`"))?;
        self.at += len;
        Ok(Value::Number(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(path: &str, doc: &Value) -> Vec<String> {
        JsonPath::parse(path)
            .unwrap()
            .locate(doc)
            .into_iter()
            .map(|at| {
                at.iter()
                    .map(|s| match s {
                        Step::Name(n) => n.clone(),
                        Step::Index(i) => i.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect()
    }

    fn doc() -> Value {
        json!({"paths": {
            "/v2/logs": {"get": {"parameters": [
                {"name": "url", "in": "query"},
                {"name": "queueName", "in": "query", "deprecated": true},
                {"name": "it's", "in": "query"}
            ]}},
            "/v2/dlq": {"get": {"parameters": []}, "post": {"parameters": [{"name": "url"}]}}
        }})
    }

    #[test]
    fn the_forms_errata_use_select_what_they_say() {
        let d = doc();
        assert_eq!(names("$.paths", &d), ["paths"]);
        assert_eq!(
            names(
                "$.paths['/v2/logs'].get.parameters[?@.name == 'queueName']",
                &d
            ),
            ["paths//v2/logs/get/parameters/1"]
        );
        assert_eq!(
            names(
                r#"$.paths["/v2/logs"].get.parameters[?@['name']=="it's"]"#,
                &d
            ),
            ["paths//v2/logs/get/parameters/2"]
        );
        assert_eq!(
            names("$.paths[*].post.parameters[?@.name == 'url']", &d),
            ["paths//v2/dlq/post/parameters/0"]
        );
        assert_eq!(
            names("$.paths.*.get.parameters[?@.name == 'url']", &d),
            ["paths//v2/logs/get/parameters/0"]
        );
        assert_eq!(
            names(
                "$.paths['/v2/logs'].get.parameters[?@.deprecated == true]",
                &d
            ),
            ["paths//v2/logs/get/parameters/1"]
        );
        assert_eq!(
            names(
                "$.paths['/v2/logs'].get.parameters[?@.deprecated != true]",
                &d
            ),
            [
                "paths//v2/logs/get/parameters/0",
                "paths//v2/logs/get/parameters/2"
            ]
        );
        assert_eq!(
            names("$.paths['/v2/logs'].get.parameters[-1]", &d),
            ["paths//v2/logs/get/parameters/2"]
        );
        assert_eq!(
            names("$.paths['/v2/logs'].get.parameters[0].name", &d),
            ["paths//v2/logs/get/parameters/0/name"]
        );
        assert!(names("$.paths.nope", &d).is_empty());
        let counts = json!({"items": [{"n": 1}, {"n": 2.0}, {"n": "1"}]});
        assert_eq!(names("$.items[?@.n == 1.0]", &counts), ["items/0"]);
        assert_eq!(names("$.items[?@.n == 2]", &counts), ["items/1"]);
        assert!(names("$.paths['/v2/dlq'].get.parameters[0]", &d).is_empty());
        assert_eq!(names("$", &d), [""]);
    }

    #[test]
    fn what_is_not_supported_or_malformed_is_refused_saying_where() {
        for (path, what) in [
            ("paths", "must start with `$`"),
            ("$..name", "descendant"),
            ("$.paths[", "expected a name, an index"),
            ("$.paths['/v2", "unterminated string"),
            ("$.paths[0:2]", "expected `]`"),
            ("$.paths['a','b']", "expected `]`"),
            ("$.paths[?length(@) > 1]", "member of `@`"),
            ("$.paths[?@.name > 1]", "`==` or `!=`"),
            ("$.paths[?@.name == nope]", "expected a string, a number"),
            ("$.paths.", "expected a member name"),
            ("$.a-b", "expected `.` or `[`"),
            ("$.2fa", "expected a member name"),
            ("$ .paths", "expected `.` or `[`"),
        ] {
            let err = JsonPath::parse(path).unwrap_err();
            assert!(err.contains(what), "{path}: {err}");
            assert!(err.contains("at character"), "{path}: {err}");
        }
    }
}
