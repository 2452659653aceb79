//! Query strings with repeated and comma-separated values.

use std::str::FromStr;

use crate::error::{ApiError, ApiResult};

/// The decoded pairs of a query string (and of a JSON body's filters), in
/// order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<Pair>);

/// One `name=value` pair. A query value may hold several values separated
/// by commas; a value taken from a JSON body is one value as it is.
#[derive(Debug, Clone)]
struct Pair {
    name: String,
    value: String,
    split: bool,
}

impl Params {
    /// Parses a raw query string (`None`: no query).
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| Pair {
                    name: k.into_owned(),
                    value: v.into_owned(),
                    split: true,
                })
                .collect(),
        )
    }

    /// Adds the pairs of `other` after these.
    pub(crate) fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    /// Adds one value of `name`, taken as it is (no comma splitting).
    pub(crate) fn push_exact(&mut self, name: &str, value: String) {
        self.0.push(Pair {
            name: name.to_owned(),
            value,
            split: false,
        });
    }

    /// The distinct names, in order of first appearance.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for p in &self.0 {
            if !names.contains(&p.name.as_str()) {
                names.push(&p.name);
            }
        }
        names
    }

    /// Whether `name` appears at all, with or without a value.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|p| p.name == name)
    }

    /// Every value of `name`: repeated parameters and comma-separated
    /// values, trimmed, empty ones left out.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|p| p.name == name)
            .flat_map(|p| {
                if p.split {
                    p.value.split(',').collect::<Vec<_>>()
                } else {
                    vec![p.value.as_str()]
                }
            })
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The first non-empty value of `name`.
    pub(crate) fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.name == name && !p.value.is_empty())
            .map(|p| p.value.as_str())
    }

    /// The value of `name` parsed as `T`; 400 if it does not parse.
    pub(crate) fn parsed<T: FromStr>(&self, name: &str) -> ApiResult<Option<T>> {
        self.one(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid `{name}`: `{v}`")))
            })
            .transpose()
    }

    /// Every `(name, values)` pair except those in `ignored`, for records.
    pub(crate) fn grouped_except(
        &self,
        ignored: &[&str],
    ) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out = std::collections::BTreeMap::new();
        for name in self.names() {
            if !ignored.contains(&name) {
                let values = self.list(name);
                if !values.is_empty() {
                    out.insert(name.to_owned(), values);
                }
            }
        }
        out
    }

    /// The query without the `qstash_token` parameter, however its name is
    /// encoded (`qstash%5Ftoken` authenticates as well), the other pairs as
    /// they were (`None` when nothing is left).
    pub(crate) fn without_token(raw: Option<&str>) -> Option<String> {
        let raw = raw?;
        let is_token = |pair: &str| {
            url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .is_some_and(|(name, _)| name == "qstash_token")
        };
        let kept: Vec<&str> = raw
            .split('&')
            .filter(|pair| !pair.is_empty() && !is_token(pair))
            .collect();
        (!kept.is_empty()).then(|| kept.join("&"))
    }
}

/// The page size of a cursor page: `count` if given (1 to `max`), else `max`.
pub(crate) fn page_size(params: &Params, max: usize) -> ApiResult<usize> {
    match params.parsed::<usize>("count")? {
        None => Ok(max),
        Some(0) => Err(ApiError::bad_request("`count` must be at least 1")),
        Some(n) => Ok(n.min(max)),
    }
}

/// The cursor of a cursor page: a sequence number this server handed out.
pub(crate) fn cursor(params: &Params) -> ApiResult<Option<u64>> {
    params
        .one("cursor")
        .map(|c| {
            c.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid cursor `{c}`")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn repeated_and_comma_separated_values() {
        let p = Params::parse(Some("label=a&label=b,c&x=&count=5"));
        assert_eq!(p.list("label"), ["a", "b", "c"]);
        assert_eq!(p.one("x"), None);
        assert_eq!(p.parsed::<u32>("count").unwrap(), Some(5));
        assert!(p.parsed::<u32>("label").is_err());
    }

    #[test]
    fn token_is_dropped_from_forwarded_queries() {
        assert_eq!(
            Params::without_token(Some("a=1&qstash_token=t&b=2")),
            Some("a=1&b=2".into())
        );
        assert_eq!(Params::without_token(Some("qstash_token=t")), None);
        // Encoded names authenticate (the parser decodes them), so they go too.
        assert_eq!(
            Params::without_token(Some(
                "a=1&qstash%5Ftoken=t&qstash%5ftoken=t&%71stash_token=t&b=%5F"
            )),
            Some("a=1&b=%5F".into())
        );
        assert_eq!(Params::without_token(Some("qstash_token")), None);
        assert_eq!(
            Params::without_token(Some("qstash_tokens=1&xqstash_token=2")),
            Some("qstash_tokens=1&xqstash_token=2".into())
        );
    }
}
