//! Several strings for one query parameter.

use std::fmt;
use std::ops::Deref;

/// The values of a query parameter that may repeat (`label=a&label=b`).
///
/// Filters such as `label` or `dlqIds` take one value or several; several
/// are combined with OR by QStash. Converts from a single string, arrays,
/// vectors and slices of strings:
///
/// ```no_run
/// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
/// client.list_dlq_messages().label("billing").send().await?;
/// client.list_dlq_messages().label(["billing", "urgent"]).send().await?;
/// # Ok(()) }
/// ```
///
/// A list is never empty and holds no empty value: the service reads
/// `dlqIds=` or no `dlqIds` at all as "no filter", which on the bulk
/// operations means every item. Such a list is refused before anything is
/// sent ([`EmptyList`]).
#[derive(Clone, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(transparent)]
pub struct StringList(Vec<String>);

/// A filter list that is empty or holds an empty value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmptyList;

impl fmt::Display for EmptyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an empty list or an empty value selects nothing (the service would read it as no filter at all)")
    }
}

impl std::error::Error for EmptyList {}

impl StringList {
    /// The values, in order; refused if there is none or one is empty.
    pub fn new<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Result<Self, EmptyList> {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        if values.is_empty() || values.iter().any(String::is_empty) {
            return Err(EmptyList);
        }
        Ok(Self(values))
    }

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

impl TryFrom<&str> for StringList {
    type Error = EmptyList;
    fn try_from(value: &str) -> Result<Self, EmptyList> {
        Self::new([value])
    }
}

impl TryFrom<String> for StringList {
    type Error = EmptyList;
    fn try_from(value: String) -> Result<Self, EmptyList> {
        Self::new([value])
    }
}

impl TryFrom<&String> for StringList {
    type Error = EmptyList;
    fn try_from(value: &String) -> Result<Self, EmptyList> {
        Self::new([value.as_str()])
    }
}

impl<S: Into<String>> TryFrom<Vec<S>> for StringList {
    type Error = EmptyList;
    fn try_from(values: Vec<S>) -> Result<Self, EmptyList> {
        Self::new(values)
    }
}

impl<S: Into<String>, const N: usize> TryFrom<[S; N]> for StringList {
    type Error = EmptyList;
    fn try_from(values: [S; N]) -> Result<Self, EmptyList> {
        Self::new(values)
    }
}

impl<S: Clone + Into<String>> TryFrom<&[S]> for StringList {
    type Error = EmptyList;
    fn try_from(values: &[S]) -> Result<Self, EmptyList> {
        Self::new(values.iter().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_keep_order() {
        assert_eq!(&*StringList::try_from("a").unwrap(), ["a"]);
        assert_eq!(&*StringList::try_from(["a", "b"]).unwrap(), ["a", "b"]);
        assert_eq!(
            &*StringList::try_from(vec![String::from("x")]).unwrap(),
            ["x"]
        );
        assert_eq!(
            StringList::try_from(&["p", "q"][..]).unwrap().into_vec(),
            ["p", "q"]
        );
    }

    #[test]
    fn empty_lists_and_empty_values_are_refused() {
        assert_eq!(StringList::try_from(Vec::<String>::new()), Err(EmptyList));
        assert_eq!(StringList::try_from([""; 0]), Err(EmptyList));
        assert_eq!(StringList::try_from(""), Err(EmptyList));
        assert_eq!(StringList::try_from(["a", ""]), Err(EmptyList));
        assert_eq!(StringList::new(std::iter::empty::<&str>()), Err(EmptyList));
    }

    #[test]
    fn serializes_as_a_sequence() {
        assert_eq!(
            serde_json::to_string(&StringList::try_from(["a", "b"]).unwrap()).unwrap(),
            r#"["a","b"]"#
        );
        let back: StringList = serde_json::from_str(r#"["z"]"#).unwrap();
        assert_eq!(&*back, ["z"]);
    }
}
