//! Routes: deliveries to one origin sent to another address instead
//! (`--route https://app.example.com=http://127.0.0.1:3000`).

use std::fmt;
use std::str::FromStr;

use url::{Origin, Url};

/// Deliveries whose destination has the origin (scheme, host and port) of
/// `from` go to `to` instead, with their path and query kept: a message
/// published to `https://app.example.com/api/hook?x=1` with the route
/// `https://app.example.com=http://127.0.0.1:3000` is delivered to
/// `http://127.0.0.1:3000/api/hook?x=1`.
///
/// The signature's `sub`, the logs and the DLQ keep the URL the message was
/// published to: a receiver verifying `sub` against its public address
/// accepts the delivery. A path in `to` is put before the destination's
/// path (`http://127.0.0.1:3000/base` gives `/base/api/hook`).
///
/// Parsed from `ORIGIN=URL`, as the command line's `--route` takes it:
///
/// ```
/// let route: qstash_dev::Route = "https://app.example.com=http://127.0.0.1:3000".parse()?;
/// assert_eq!(
///     route.apply("https://app.example.com/api/hook?x=1").as_deref(),
///     Some("http://127.0.0.1:3000/api/hook?x=1")
/// );
/// assert_eq!(route.apply("https://other.example.com/api/hook"), None);
/// # Ok::<(), qstash_dev::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Route {
    /// As given, for `Display` and errors.
    from_text: String,
    origin: Origin,
    /// The target without a trailing `/`: scheme, authority and a path
    /// prefix.
    to: String,
}

impl Route {
    /// A route from the origin `from` (`https://app.example.com`, or with
    /// a port: `https://app.example.com:8443`) to the base URL `to`
    /// (`http://127.0.0.1:3000`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming the
    /// part at fault: `from` must be an `http` or `https` origin (no path
    /// other than `/`, no query, fragment or user information), `to` an
    /// `http` or `https` URL without a query, fragment or user information.
    pub fn new(from: &str, to: &str) -> Result<Self, crate::Error> {
        let invalid = |what: String| {
            crate::Error::InvalidConfig(format!(
                "the route {from}={to}: {what} (expected ORIGIN=URL, such as https://app.example.com=http://127.0.0.1:3000)"
            ))
        };
        let from_url = parse_http(from).map_err(|e| invalid(format!("the origin {e}")))?;
        if from_url.path() != "/" {
            return Err(invalid(format!(
                "the origin `{from}` has a path; give scheme, host and port only"
            )));
        }
        let to_url = parse_http(to).map_err(|e| invalid(format!("the target {e}")))?;
        let mut target = to_url.as_str().to_owned();
        while target.ends_with('/') {
            target.pop();
        }
        Ok(Self {
            from_text: from_url.origin().ascii_serialization(),
            origin: from_url.origin(),
            to: target,
        })
    }

    /// The origin whose deliveries are routed, such as
    /// `https://app.example.com`.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.from_text
    }

    /// Where they go instead, such as `http://127.0.0.1:3000`.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.to
    }

    /// The address a delivery to `url` goes to, if this route applies to
    /// it: the target followed by `url`'s path and query.
    #[must_use]
    pub fn apply(&self, url: &str) -> Option<String> {
        let url = Url::parse(url).ok()?;
        if url.origin() != self.origin {
            return None;
        }
        let mut out = self.to.clone();
        out.push_str(url.path());
        if let Some(query) = url.query() {
            out.push('?');
            out.push_str(query);
        }
        Some(out)
    }
}

/// The address of a delivery to `url` under `routes`: the first route that
/// applies, or `url` itself.
pub(crate) fn resolve<'a>(routes: &[Route], url: &'a str) -> std::borrow::Cow<'a, str> {
    routes
        .iter()
        .find_map(|r| r.apply(url))
        .map_or(std::borrow::Cow::Borrowed(url), std::borrow::Cow::Owned)
}

/// An absolute `http` or `https` URL with a host and nothing a route cannot
/// keep or would silently drop.
fn parse_http(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{text}` is not an http or https URL"));
    }
    if url.host().is_none() {
        return Err(format!("`{text}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{text}` has user information"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{text}` has a query or a fragment"));
    }
    Ok(url)
}

impl FromStr for Route {
    type Err = crate::Error;

    /// Parses `ORIGIN=URL`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (from, to) = s.split_once('=').ok_or_else(|| {
            crate::Error::InvalidConfig(format!(
                "the route `{s}` has no `=`: expected ORIGIN=URL, such as https://app.example.com=http://127.0.0.1:3000"
            ))
        })?;
        Self::new(from.trim(), to.trim())
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.from_text, self.to)
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("origin", &self.from_text)
            .field("target", &self.to)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{Route, resolve};

    fn route(s: &str) -> Route {
        s.parse().unwrap()
    }

    #[test]
    fn same_origin_is_routed_with_path_and_query() {
        let r = route("https://App.Example.com=http://127.0.0.1:3000/");
        assert_eq!(r.origin(), "https://app.example.com");
        assert_eq!(r.target(), "http://127.0.0.1:3000");
        assert_eq!(
            r.to_string(),
            "https://app.example.com=http://127.0.0.1:3000"
        );
        assert_eq!(
            r.apply("https://app.example.com/a/b?x=1&y=%20").as_deref(),
            Some("http://127.0.0.1:3000/a/b?x=1&y=%20")
        );
        // The default port is the same origin; another port, scheme or host is not.
        assert_eq!(
            r.apply("https://app.example.com:443/").as_deref(),
            Some("http://127.0.0.1:3000/")
        );
        assert_eq!(r.apply("https://app.example.com:8443/a"), None);
        assert_eq!(r.apply("http://app.example.com/a"), None);
        assert_eq!(r.apply("https://api.example.com/a"), None);
        assert_eq!(r.apply("https://app.example.com.evil.test/a"), None);
        assert_eq!(r.apply("not a url"), None);
    }

    #[test]
    fn a_target_path_is_a_prefix() {
        let r = route("http://localhost:8000=http://127.0.0.1:9000/base/");
        assert_eq!(
            r.apply("http://localhost:8000/hook").as_deref(),
            Some("http://127.0.0.1:9000/base/hook")
        );
    }

    #[test]
    fn the_first_route_that_applies_wins() {
        let routes = [
            route("https://a.test=http://127.0.0.1:1"),
            route("https://a.test=http://127.0.0.1:2"),
        ];
        assert_eq!(resolve(&routes, "https://a.test/x"), "http://127.0.0.1:1/x");
        assert_eq!(resolve(&routes, "https://b.test/x"), "https://b.test/x");
        assert_eq!(resolve(&[], "https://b.test/x"), "https://b.test/x");
    }

    #[test]
    fn bad_routes_are_refused_naming_the_part() {
        for (text, part) in [
            ("https://a.test", "no `=`"),
            ("a.test=http://127.0.0.1:1", "the origin"),
            (
                "ftp://a.test=http://127.0.0.1:1",
                "not an http or https URL",
            ),
            ("https://a.test/path=http://127.0.0.1:1", "has a path"),
            ("https://a.test?q=1=http://127.0.0.1:1", "the origin"),
            ("https://u:p@a.test=http://127.0.0.1:1", "user information"),
            ("https://u@a.test=http://127.0.0.1:1", "user information"),
            ("https://:p@a.test=http://127.0.0.1:1", "user information"),
            ("https://a.test=http://u@127.0.0.1:1", "user information"),
            ("https://a.test=127.0.0.1:1", "the target"),
            (
                "https://a.test=http://127.0.0.1:1/?x=1",
                "query or a fragment",
            ),
            ("https://a.test=", "the target"),
        ] {
            let err = text.parse::<Route>().unwrap_err().to_string();
            assert!(err.contains(part), "{text}: {err}");
        }
    }

    #[test]
    fn debug_shows_the_origin_and_the_target() {
        let r = route("https://App.Example.com=http://127.0.0.1:3000/base/");
        assert_eq!(
            format!("{r:?}"),
            r#"Route { origin: "https://app.example.com", target: "http://127.0.0.1:3000/base" }"#
        );
    }
}
