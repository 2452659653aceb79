//! Several strings for one query parameter.

use std::fmt;
use std::ops::Deref;

/// The values of a query parameter that may repeat (`label=a&label=b`).
///
/// Filters such as `label` or `dlqIds` take one value or several; several
/// are combined with OR by QStash. Converts from a single string, arrays,
/// vectors and iterators of strings:
///
/// ```no_run
/// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
/// client.list_dlq_messages().label("billing").send().await?;
/// client.list_dlq_messages().label(["billing", "urgent"]).send().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(transparent)]
pub struct StringList(Vec<String>);

impl StringList {
    /// The values, in order.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl fmt::Debug for StringList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Deref for StringList {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

/// Serializes as a sequence, which the query encoder sends as one
/// `name=value` pair per value.
impl serde::Serialize for StringList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

impl From<&str> for StringList {
    fn from(value: &str) -> Self {
        Self(vec![value.to_string()])
    }
}

impl From<String> for StringList {
    fn from(value: String) -> Self {
        Self(vec![value])
    }
}

impl From<&String> for StringList {
    fn from(value: &String) -> Self {
        Self(vec![value.clone()])
    }
}

impl<S: Into<String>> From<Vec<S>> for StringList {
    fn from(values: Vec<S>) -> Self {
        values.into_iter().collect()
    }
}

impl<S: Into<String>, const N: usize> From<[S; N]> for StringList {
    fn from(values: [S; N]) -> Self {
        values.into_iter().collect()
    }
}

impl<S: Clone + Into<String>> From<&[S]> for StringList {
    fn from(values: &[S]) -> Self {
        values.iter().cloned().collect()
    }
}

impl<S: Into<String>> FromIterator<S> for StringList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_keep_order() {
        assert_eq!(&*StringList::from("a"), ["a"]);
        assert_eq!(&*StringList::from(["a", "b"]), ["a", "b"]);
        assert_eq!(&*StringList::from(vec![String::from("x")]), ["x"]);
        assert_eq!(StringList::from(&["p", "q"][..]).into_vec(), ["p", "q"]);
    }

    #[test]
    fn serializes_as_a_sequence() {
        assert_eq!(
            serde_json::to_string(&StringList::from(["a", "b"])).unwrap(),
            r#"["a","b"]"#
        );
        let back: StringList = serde_json::from_str(r#"["z"]"#).unwrap();
        assert_eq!(&*back, ["z"]);
    }
}
