//! Building a client: token, base URL, auth mode, timeouts, user agent.

use std::fmt;
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use crate::Error;
use crate::generated::Client;
use crate::retry::RetryPolicy;
use crate::secrets::Secrets;

/// The QStash API address used when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://qstash.upstash.io";
/// The user agent sent unless another is configured.
pub const DEFAULT_USER_AGENT: &str = concat!("qstash/", env!("CARGO_PKG_VERSION"));
/// Time allowed to open a connection unless another is configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request unless another is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How the token travels with each request.
///
/// ```
/// use qstash::{AuthMode, Client};
///
/// // `Authorization: Bearer <token>` on every request (the default).
/// let bearer = Client::builder().token("my-token").build()?;
/// assert_eq!(bearer.auth_mode(), AuthMode::Bearer);
///
/// // `?qstash_token=<token>` on every request instead.
/// let query = Client::builder()
///     .token("my-token")
///     .auth_mode(AuthMode::QueryParameter)
///     .build()?;
/// assert_eq!(query.auth_mode(), AuthMode::QueryParameter);
/// # Ok::<(), qstash::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// `Authorization: Bearer <token>` (the default).
    #[default]
    Bearer,
    /// The `qstash_token` query parameter, percent-encoded. For callers
    /// that cannot set headers (some proxies); the token then sits in URLs,
    /// so this crate redacts it from every error it reports.
    QueryParameter,
}

/// A QStash token. Checked when made; never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(String);

impl Token {
    /// Checks a token: it must be non-empty and free of whitespace and
    /// control characters. The error never contains the token.
    fn checked(token: String, source: &str) -> Result<Self, String> {
        if token.is_empty() {
            return Err(format!("{source} is empty"));
        }
        if let Some(i) = token.chars().position(char::is_whitespace) {
            return Err(format!(
                "{source} contains whitespace (character {}); copy it again without spaces or line breaks",
                i + 1
            ));
        }
        if let Some(i) = token.chars().position(char::is_control) {
            return Err(format!(
                "{source} contains a control character (character {})",
                i + 1
            ));
        }
        Ok(Self(token))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Per-client state the generated client carries and the transport reads.
#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) token: Token,
    /// The base URL, parsed once: a request's URL is this with the
    /// operation's path after `base_path` (see `urls::endpoint`).
    pub(crate) base: reqwest::Url,
    /// The base URL's own path without its trailing `/`: empty, or a
    /// prefix such as `/qstash` behind a proxy.
    pub(crate) base_path: String,
    pub(crate) auth: AuthMode,
    /// Set per request only with a caller-supplied HTTP client; our own
    /// client carries it as its default.
    pub(crate) user_agent: Option<reqwest::header::HeaderValue>,
    /// `Authorization: Bearer <token>`, made once, marked sensitive.
    pub(crate) bearer: reqwest::header::HeaderValue,
    /// Set per request only with a caller-supplied HTTP client; our own
    /// client carries the timeout itself.
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    /// The token's forms, to scrub from what the server sends back.
    pub(crate) secrets: Secrets,
    /// Headers sent on every request that does not set them itself.
    pub(crate) default_headers: reqwest::header::HeaderMap,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("token", &self.token)
            .field("auth", &self.auth)
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field(
                "default_headers",
                &self.default_headers.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Configures a [`Client`]; made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use qstash::{AuthMode, Client};
///
/// let client = Client::builder()
///     .token("my-qstash-token")
///     .base_url("https://qstash.upstash.io")
///     .auth_mode(AuthMode::Bearer)
///     .connect_timeout(Duration::from_secs(5))
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// # Ok::<(), qstash::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    token: Option<Result<Token, String>>,
    base_url: String,
    base_url_source: String,
    auth: AuthMode,
    connect_timeout: Duration,
    timeout: Option<Duration>,
    user_agent: String,
    http: Option<reqwest::Client>,
    /// Roots trusted besides the compiled-in set, or why the PEM was refused.
    extra_roots: Result<Vec<CertificateDer<'static>>, String>,
    retry: RetryPolicy,
    /// `(name, value)`, checked by `build`; a later one replaces an earlier
    /// one of the same name.
    default_headers: Vec<(String, String)>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("http", &self.http.is_some())
            .field("extra_roots", &self.extra_roots.as_ref().map(Vec::len))
            .field("retry", &self.retry)
            .field(
                "default_headers",
                &self
                    .default_headers
                    .iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            token: None,
            base_url: DEFAULT_BASE_URL.into(),
            base_url_source: "the base URL".into(),
            auth: AuthMode::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: Some(DEFAULT_TIMEOUT),
            user_agent: DEFAULT_USER_AGENT.into(),
            http: None,
            extra_roots: Ok(Vec::new()),
            retry: RetryPolicy::default(),
            default_headers: Vec::new(),
        }
    }
}

impl ClientBuilder {
    /// The QStash token (required). Checked by [`build`](Self::build).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Token::checked(token.into(), "the token"));
        self
    }

    /// The API address; defaults to [`DEFAULT_BASE_URL`].
    ///
    /// The address is the API's root, to which the client adds the API paths
    /// (`/v2/...`). An address that already ends in an API path, such as
    /// `https://qstash.upstash.io/v2/publish` (a value found in old console
    /// snippets), is cut before its `/v2` segment, as the JS SDK does, and
    /// [`build`](Self::build) logs a warning through `tracing` saying what to
    /// write instead.
    ///
    /// ```
    /// let client = qstash::Client::builder()
    ///     .token("my-token")
    ///     .base_url("https://qstash.upstash.io/v2/publish")
    ///     .build()?;
    /// assert_eq!(client.base_url(), "https://qstash.upstash.io");
    /// # Ok::<(), qstash::Error>(())
    /// ```
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self.base_url_source = "the base URL".into();
        self
    }

    /// Dev mode: the official local dev server at `http://127.0.0.1:8080`
    /// ([`DEFAULT_DEV_PORT`](crate::DEFAULT_DEV_PORT)) with its public token
    /// ([`DEV_TOKEN`](crate::DEV_TOKEN)), as `QSTASH_DEV=1` does for
    /// [`Client::from_env`]. A later [`token`](Self::token) or
    /// [`base_url`](Self::base_url) replaces the one set here (a dev server
    /// on another port: `.dev().base_url("http://127.0.0.1:9000")`).
    /// [`build`](Self::build) says at `info`, through `tracing`, which server
    /// a client with the dev token talks to.
    ///
    /// ```
    /// let client = qstash::Client::builder().dev().build()?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
    /// # Ok::<(), qstash::Error>(())
    /// ```
    pub fn dev(self) -> Self {
        self.dev_on(crate::DEFAULT_DEV_PORT)
    }

    fn dev_on(mut self, port: u16) -> Self {
        self = self
            .token(crate::DEV_TOKEN)
            .base_url(crate::dev::dev_url(port));
        self.base_url_source = format!("the dev server address (port {port})");
        self
    }

    /// How the token is sent; defaults to [`AuthMode::Bearer`].
    pub fn auth_mode(mut self, mode: AuthMode) -> Self {
        self.auth = mode;
        self
    }

    /// Time allowed to open a connection (default
    /// [`DEFAULT_CONNECT_TIMEOUT`], 10 s). Not applied to a
    /// caller-supplied [`http_client`](Self::http_client), which keeps its own.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole request, response body included (default
    /// [`DEFAULT_TIMEOUT`], 60 s). Applied to every request, also with a
    /// caller-supplied client.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No total timeout: requests may take as long as the server does.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// A header sent on every request, unless the request sets the same
    /// header itself (a parameter, or [`MessageOptions`](crate::MessageOptions)),
    /// which then wins. Called again with the same name, the last value
    /// wins. Checked by [`build`](Self::build); `Authorization` is refused
    /// there, since the token sets it. Values are never printed.
    ///
    /// ```
    /// let client = qstash::Client::builder()
    ///     .token("my-token")
    ///     .default_header("X-Tenant", "acme")
    ///     .default_header("Upstash-Retries", "5")
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), qstash::Error>(())
    /// ```
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.default_headers.push((name.into(), value.into()));
        self
    }

    /// The `User-Agent` header; defaults to [`DEFAULT_USER_AGENT`].
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sends requests through this `reqwest::Client` (to share a
    /// connection pool, or set proxies and TLS yourself).
    ///
    /// The client's own HTTP client trusts Mozilla's root certificates,
    /// compiled in (`webpki-roots`), and does not read the system's store:
    /// that keeps building a client cheap (a serverless cold start). In a
    /// network with its own CA, add it with
    /// [`root_certificate_pem`](Self::root_certificate_pem), or pass a
    /// `reqwest::Client` built with reqwest's defaults here, which verifies
    /// against the system's store.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Trusts the certificate authorities of this PEM text too (a company
    /// proxy's CA, a local server's), besides the compiled-in roots. A PEM
    /// without a certificate is refused by [`build`](Self::build).
    pub fn root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        use rustls::pki_types::pem::PemObject;
        let parsed = CertificateDer::pem_slice_iter(pem.as_ref())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("the root certificate PEM is invalid: {e}"))
            .and_then(|certs| {
                if certs.is_empty() {
                    Err("the root certificate PEM holds no certificate".to_string())
                } else {
                    Ok(certs)
                }
            });
        self.extra_roots = match (self.extra_roots, parsed) {
            (Ok(mut roots), Ok(certs)) => {
                roots.extend(certs);
                Ok(roots)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        self
    }

    /// How failed requests are retried; see [`RetryPolicy`] for what is
    /// retried when. Defaults to [`RetryPolicy::default`]; use
    /// [`RetryPolicy::none`] to turn retries off.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Checks the settings and makes the client.
    pub fn build(self) -> Result<Client, Error> {
        let token = self
            .token
            .ok_or_else(|| {
                Error::Config("no token: call .token(...) or use Client::from_env()".into())
            })?
            .map_err(Error::Config)?;
        let (base_url, base, api_path) = check_base_url(&self.base_url, &self.base_url_source)?;
        if let Some(api_path) = api_path {
            tracing::warn!(
                target: "qstash",
                "{} ends in the API path {api_path:?}, which the client adds itself: using {base_url:?} instead (set that to silence this warning)",
                self.base_url_source
            );
        }
        if token.expose() == crate::DEV_TOKEN {
            crate::dev::log_client(&base_url);
        }
        let user_agent =
            reqwest::header::HeaderValue::from_str(&self.user_agent).map_err(|_| {
                Error::Config(format!(
                    "user agent {:?} is not a valid header value",
                    self.user_agent
                ))
            })?;
        let mut bearer =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| Error::Config("the token is not a valid header value".into()))?;
        bearer.set_sensitive(true);
        let secrets = Secrets::of(token.expose());
        let default_headers = default_headers(&self.default_headers)?;
        let extra_roots = self.extra_roots.map_err(Error::Config)?;
        let (http, per_request_timeout, per_request_user_agent) = match self.http {
            Some(http) => (http, self.timeout, Some(user_agent)),
            None => (
                http_client(self.connect_timeout, self.timeout, user_agent, extra_roots)?,
                None,
                None,
            ),
        };
        let inner = Inner {
            token,
            base_path: base.path().trim_end_matches('/').to_string(),
            base,
            auth: self.auth,
            user_agent: per_request_user_agent,
            bearer,
            timeout: per_request_timeout,
            retry: self.retry,
            secrets,
            default_headers,
        };
        Ok(Client::new_with_client(&base_url, http, inner))
    }
}

/// The default headers, checked: each name and value must be valid in HTTP,
/// and `Authorization` belongs to the token. Errors name the header, never
/// the value.
fn default_headers(headers: &[(String, String)]) -> Result<reqwest::header::HeaderMap, Error> {
    use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::Config(format!(
                "default header {name:?} is not a valid header name"
            ))
        })?;
        if header == AUTHORIZATION {
            return Err(Error::Config(
                "default header `Authorization` is set by the token: use .token(...) instead"
                    .into(),
            ));
        }
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            Error::Config(format!(
                "the value of default header `{header}` is not a valid header value (visible ASCII)"
            ))
        })?;
        value.set_sensitive(true);
        map.insert(header, value);
    }
    Ok(map)
}

/// The HTTP client of a [`Client`] built without a caller's: connect and
/// total timeouts and the user agent as its defaults, TLS with the
/// compiled-in roots (and `extra_roots`). Clients built with the default
/// settings share one (its connection pool and TLS setup), which is built
/// once per process.
fn http_client(
    connect_timeout: Duration,
    timeout: Option<Duration>,
    user_agent: reqwest::header::HeaderValue,
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<reqwest::Client, Error> {
    static SHARED: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let defaults = connect_timeout == DEFAULT_CONNECT_TIMEOUT
        && timeout == Some(DEFAULT_TIMEOUT)
        && user_agent == DEFAULT_USER_AGENT
        && extra_roots.is_empty();
    if defaults && let Some(shared) = SHARED.get() {
        return Ok(shared.clone());
    }
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(user_agent)
        .tls_backend_preconfigured(tls_config(extra_roots)?)
        // Retries are the client's own policy (`RetryPolicy`). reqwest's
        // default one, for HTTP/2 refusals this client never sees, would
        // copy every request before sending it.
        .retry(reqwest::retry::never().max_retries_per_request(0));
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    let http = builder
        .build()
        .map_err(|e| Error::Config(format!("cannot set up the HTTP client: {e}")))?;
    if defaults {
        return Ok(SHARED.get_or_init(|| http).clone());
    }
    Ok(http)
}

/// TLS 1.2 and 1.3 with the provider of the crate's features, verifying
/// servers against Mozilla's root set (compiled in: nothing to read or
/// parse at run time) and `extra_roots`.
fn tls_config(extra_roots: Vec<CertificateDer<'static>>) -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots
            .add(cert)
            .map_err(|e| Error::Config(format!("a root certificate is not usable: {e}")))?;
    }
    let provider = std::sync::Arc::new(tls_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The cryptography of TLS: feature `rustls-aws-lc-rs` if on, otherwise
/// `rustls-ring` (the default).
#[cfg(feature = "rustls-aws-lc-rs")]
pub(crate) fn tls_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

#[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc-rs")))]
pub(crate) fn tls_provider() -> rustls::crypto::CryptoProvider {
    // rustls 0.23.48 deprecates this function ("no support for post-quantum
    // algorithms": ring has no ML-KEM, so no X25519MLKEM768) and offers no
    // other way to get ring's provider. We keep ring as the default
    // deliberately: the benchmark's build rows chose it for build time and
    // binary size, the key exchange stays classical X25519, and whoever
    // wants the post-quantum hybrid turns on `rustls-aws-lc-rs`. So the
    // deprecation is allowed here, and only here; `allow` rather than
    // `expect`, because locks before 0.23.48 have no deprecation.
    // scripts/fresh-deps-check builds against the newest rustls.
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

#[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")))]
compile_error!(
    "qstash needs a TLS provider: enable the feature `rustls-ring` (the default) or `rustls-aws-lc-rs`"
);

/// The base URL without its trailing `/`, and parsed.
fn check_base_url(
    raw: &str,
    source: &str,
) -> Result<(String, reqwest::Url, Option<String>), Error> {
    // Errors show the URL without its query or fragment: they could carry
    // a token (`?qstash_token=...`).
    let shown = match raw.find(['?', '#']) {
        Some(i) => format!("{}…", &raw[..i]),
        None => raw.to_string(),
    };
    let url = reqwest::Url::parse(raw)
        .map_err(|e| Error::Config(format!("{source} {shown:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "{source} {shown:?} must start with http:// or https://"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "{source} {shown:?} must not carry a query or fragment"
        )));
    }
    let mut url = url;
    let cut = cut_api_path(&mut url);
    let root = match &cut {
        // Rebuilt from the parsed URL: the raw text still holds the API path.
        Some(_) => url.as_str().trim_end_matches('/').to_string(),
        None => raw.trim_end_matches('/').to_string(),
    };
    Ok((root, url, cut))
}

/// Cuts an API path off a base URL: from its first `v2` path segment on
/// (`https://qstash.upstash.io/v2/publish` → `https://qstash.upstash.io`,
/// `https://proxy.example/qstash/v2` → `https://proxy.example/qstash`).
/// Returns the path cut off, if any. The client adds `/v2/...` itself, so a
/// base URL holding it would make every request `/v2/publish/v2/...`, a 404
/// (qstash-js issue #226; the JS SDK corrects that one URL).
fn cut_api_path(url: &mut reqwest::Url) -> Option<String> {
    let path = url.path().to_string();
    let start = path.match_indices('/').map(|(i, _)| i).find(|&i| {
        let segment = &path[i + 1..];
        segment == "v2" || segment.starts_with("v2/")
    })?;
    let (root, api) = path.split_at(start);
    let root = if root.is_empty() { "/" } else { root };
    url.set_path(root);
    Some(api.to_string())
}

/// The environment variable of the token, read by [`Client::from_env`].
pub const TOKEN_ENV: &str = "QSTASH_TOKEN";
/// The environment variable of the API address (optional), read by
/// [`Client::from_env`].
pub const URL_ENV: &str = "QSTASH_URL";
/// The environment variable of the region (optional), read by
/// [`Client::from_env`]: `EU_CENTRAL_1`, `US_EAST_1`, ... When set,
/// `<REGION>_QSTASH_TOKEN` and `<REGION>_QSTASH_URL` are used instead of the
/// defaults, when both are set.
pub const REGION_ENV: &str = "QSTASH_REGION";

impl ClientBuilder {
    /// Settings from the environment (see [`Client::from_env`]), through a
    /// lookup function so it can be driven without touching the process
    /// environment.
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, Error> {
        // Dev mode comes first, as in the JS SDK: the dev server's address
        // and public token, whatever else is set.
        if let Some(port) = crate::dev::dev_port_from(&lookup).map_err(Error::Config)? {
            return Ok(ClientBuilder::default().dev_on(port));
        }
        let var = |name: &str| -> Result<Option<String>, Error> {
            match lookup(name).map(std::ffi::OsString::into_string) {
                None => Ok(None),
                Some(Err(_)) => Err(Error::Config(format!(
                    "environment variable {name} is not valid UTF-8"
                ))),
                Some(Ok(v)) if v.trim().is_empty() => Err(Error::Config(format!(
                    "environment variable {name} is set but empty"
                ))),
                Some(Ok(v)) => Ok(Some(v)),
            }
        };
        let region = var(REGION_ENV)?
            .map(|r| {
                let normal = r.trim().to_ascii_uppercase().replace('-', "_");
                if normal.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    Ok(normal)
                } else {
                    Err(Error::Config(format!(
                        "environment variable {} is {r:?}; expected a region such as EU_CENTRAL_1 or US_EAST_1",
                        REGION_ENV
                    )))
                }
            })
            .transpose()?;
        // Tokens are per region: the regional URL and token are used as a
        // pair, only when both are set (as in the JS SDK); otherwise both
        // come from the default variables, never one of each.
        let mut half_pair = None;
        let regional = match &region {
            None => None,
            Some(region) => {
                let token_var = format!("{region}_{}", TOKEN_ENV);
                let url_var = format!("{region}_{}", URL_ENV);
                match (var(&token_var)?, var(&url_var)?) {
                    (Some(token), Some(url)) => Some(((token, token_var), Some((url, url_var)))),
                    (Some(_), None) => {
                        half_pair = Some((url_var, token_var));
                        None
                    }
                    (None, Some(_)) => {
                        half_pair = Some((token_var, url_var));
                        None
                    }
                    (None, None) => None,
                }
            }
        };
        let ((token, token_var), url) = match regional {
            Some(pair) => pair,
            None => {
                let token = var(TOKEN_ENV)?.ok_or_else(|| {
                    Error::Config(match (&region, &half_pair) {
                        (_, Some((missing, set))) => format!(
                            "environment variable {missing} is not set (needed with {set}), and {} is not set either",
                            TOKEN_ENV
                        ),
                        (Some(r), None) => {
                            format!("neither {r}_{} nor {} is set", TOKEN_ENV, TOKEN_ENV)
                        }
                        (None, None) => format!("environment variable {} is not set", TOKEN_ENV),
                    })
                })?;
                let url = var(URL_ENV)?.map(|u| (u, URL_ENV.to_string()));
                ((token, TOKEN_ENV.to_string()), url)
            }
        };
        let token = Token::checked(token, &format!("environment variable {token_var}"))
            .map_err(Error::Config)?;
        let mut builder = ClientBuilder {
            token: Some(Ok(token)),
            ..ClientBuilder::default()
        };
        if let Some((url, url_var)) = url {
            check_base_url(&url, &format!("environment variable {url_var}"))?;
            builder.base_url = url;
            builder.base_url_source = format!("environment variable {url_var}");
        }
        Ok(builder)
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment.
    ///
    /// Reads `QSTASH_TOKEN` (required) and `QSTASH_URL` (default
    /// `https://qstash.upstash.io`). When `QSTASH_REGION` is set (for
    /// example `EU_CENTRAL_1` or `US_EAST_1`) and both
    /// `<REGION>_QSTASH_TOKEN` and `<REGION>_QSTASH_URL` are set, that pair
    /// takes precedence, as in the official SDKs; tokens are per region, so
    /// half a regional pair is never mixed with the default variables. A
    /// missing or invalid setting gives an error naming the variable.
    ///
    /// With `QSTASH_DEV=1` (or `true`), none of those are read: the client
    /// is in dev mode ([`ClientBuilder::dev`]), on port `QSTASH_DEV_PORT`
    /// (default 8080).
    ///
    /// ```no_run
    /// let client = qstash::Client::from_env()?;
    /// # Ok::<(), qstash::Error>(())
    /// ```
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env_with(|name| std::env::var_os(name))?.build()
    }

    /// How this client sends its token.
    pub fn auth_mode(&self) -> AuthMode {
        self.inner.auth
    }

    /// The API address this client sends to, without a trailing `/`.
    ///
    /// ```
    /// let client = qstash::Client::builder()
    ///     .token("my-token")
    ///     .base_url("https://qstash.example.com/")
    ///     .build()?;
    /// assert_eq!(client.base_url(), "https://qstash.example.com");
    /// # Ok::<(), qstash::Error>(())
    /// ```
    pub fn base_url(&self) -> &str {
        &self.baseurl
    }
}
