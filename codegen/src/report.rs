//! What the pipeline changed, and why it refused.

use std::fmt;
use std::path::{Path, PathBuf};

/// One change a normalization pass made to the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The pass that made the change (`openapi31`, `parameters`, ...).
    pub pass: &'static str,
    /// JSON pointer of the changed node, in the document as it was read.
    pub pointer: String,
    /// What was changed, in a few words.
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.pass, self.pointer, self.what)
    }
}

/// Every change the normalization made, in the order it was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    changes: Vec<Change>,
}

impl Report {
    /// Records a change.
    pub fn record(
        &mut self,
        pass: &'static str,
        pointer: impl Into<String>,
        what: impl Into<String>,
    ) {
        self.changes.push(Change {
            pass,
            pointer: pointer.into(),
            what: what.into(),
        });
    }

    /// Appends every change of `later`, in order.
    pub fn extend(&mut self, later: Report) {
        self.changes.extend(later.changes);
    }

    /// All changes, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The changes one pass made.
    pub fn by_pass<'a>(&'a self, pass: &'a str) -> impl Iterator<Item = &'a Change> + 'a {
        self.changes.iter().filter(move |c| c.pass == pass)
    }
}

/// The pipeline cannot handle something in the document.
///
/// It names the file (when known), the JSON pointer and the construct, so a
/// maintainer can go straight to the offending node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The document the construct was found in.
    pub file: Option<PathBuf>,
    /// JSON pointer of the offending node.
    pub pointer: String,
    /// What the construct is and why it is refused.
    pub construct: String,
}

impl Refusal {
    /// A refusal at `pointer`, for `construct`.
    pub fn new(pointer: impl Into<String>, construct: impl Into<String>) -> Self {
        Self {
            file: None,
            pointer: pointer.into(),
            construct: construct.into(),
        }
    }

    /// Attaches the file the document was read from.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self
            .file
            .as_deref()
            .map_or_else(|| "<spec>".to_string(), |p| p.display().to_string());
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{file}: at {pointer}: {}", self.construct)
    }
}

impl std::error::Error for Refusal {}

/// Builds a JSON pointer from its tokens, escaping `~` and `/`.
pub fn pointer<I, S>(tokens: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for t in tokens {
        out.push('/');
        out.push_str(&t.as_ref().replace('~', "~0").replace('/', "~1"));
    }
    out
}

/// Appends tokens to an existing pointer.
pub fn child<I, S>(base: &str, tokens: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    format!("{base}{}", pointer(tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_escapes_slash_and_tilde() {
        assert_eq!(
            pointer(["paths", "/v2/a~b", "get"]),
            "/paths/~1v2~1a~0b/get"
        );
        assert_eq!(child("/paths", ["x/y"]), "/paths/x~1y");
    }

    #[test]
    fn refusal_names_file_pointer_and_construct() {
        let r = Refusal::new("/components/schemas/A", "`prefixItems` is not supported")
            .in_file(Path::new("spec.yaml"));
        assert_eq!(
            r.to_string(),
            "spec.yaml: at /components/schemas/A: `prefixItems` is not supported"
        );
    }
}
