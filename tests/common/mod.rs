//! Helpers shared by the test binaries (wire, tls, contract): the one way
//! they build a client, the requests a mock server saw, and token-leak
//! checks. Each binary includes this file with `#[path]`.
#![allow(dead_code)]

use std::time::Duration;

use qstash::{AuthMode, Client, ClientBuilder};
use wiremock::MockServer;

/// A token with every character that needs percent-encoding in a query
/// string, and long enough that it cannot appear by accident.
pub const NASTY_TOKEN: &str = "sEcReT+t0k/en=pad%25x";

/// A builder for `base_url` with `token` and the library's defaults for
/// everything else: what every test client starts from.
pub fn builder(base_url: impl Into<String>, token: &str) -> ClientBuilder {
    Client::builder().token(token).base_url(base_url)
}

/// A client for `base_url` with `token`, and `settings`: the settings that
/// test needs beyond the library's defaults, stated where it is built.
pub fn client_with(
    base_url: impl Into<String>,
    token: &str,
    settings: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Client {
    settings(builder(base_url, token))
        .build()
        .expect("valid client settings")
}

/// The wire tests' client: for `server` with `token`, in `mode`, with
/// short timeouts so that no test can hang, and without retries: these
/// tests look at single exchanges (retries have their own tests in
/// `publishing.rs`).
pub fn client(server: &MockServer, token: &str, mode: AuthMode) -> Client {
    client_with(server.uri(), token, |b| {
        b.retry_policy(qstash::RetryPolicy::none())
            .auth_mode(mode)
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
    })
}

/// Every request the server received, in order.
pub async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

/// The vendored descriptions (QStash's and Workflow's), each corrected by
/// its errata and named by its table, merged and normalized: what the
/// crate was built from.
pub fn vendored_spec() -> qstash_codegen::Normalized {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = |dir: &str| qstash_codegen::Source {
        spec: root.join(format!("openapi/{dir}/openapi.yaml")),
        names: root.join(format!("openapi/{dir}/operations.yaml")),
        errata: Some(root.join(format!("openapi/{dir}/errata.yaml"))),
    };
    qstash_codegen::normalize_merged(&source("qstash"), &source("workflow"))
        .expect("the vendored specs normalize")
}

/// The decoded query pairs of a request, in order.
pub fn query(request: &wiremock::Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The query pairs of a request without the `cursor` parameter.
pub fn query_without_cursor(request: &wiremock::Request) -> Vec<(String, String)> {
    query(request)
        .into_iter()
        .filter(|(k, _)| k != "cursor")
        .collect()
}

/// The `cursor` values of a request.
pub fn cursors(request: &wiremock::Request) -> Vec<String> {
    query(request)
        .into_iter()
        .filter(|(k, _)| k == "cursor")
        .map(|(_, v)| v)
        .collect()
}

/// A header of a request, as text.
pub fn header(request: &wiremock::Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_string())
}

/// The token, as it would appear raw, form-encoded or percent-encoded.
fn token_forms(token: &str) -> Vec<String> {
    let form: String = url_form(token);
    let percent = form.replace('+', "%20");
    vec![token.to_string(), form, percent]
}

fn url_form(s: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").unwrap();
    url.query_pairs_mut().append_pair("t", s);
    url.query().unwrap()["t=".len()..].to_string()
}

/// Panics when `text` (named `what` in the message) shows the token in any
/// encoding.
pub fn assert_no_token(what: &str, text: &str, token: &str) {
    for form in token_forms(token) {
        assert!(
            !text.contains(&form),
            "{what} leaks the token (as {form:?}): {text}"
        );
    }
}

/// Display and Debug of a value, both checked for the token.
pub fn assert_display_debug_clean<E: std::fmt::Display + std::fmt::Debug>(
    what: &str,
    value: &E,
    token: &str,
) {
    assert_no_token(&format!("{what} (Display)"), &value.to_string(), token);
    assert_no_token(&format!("{what} (Debug)"), &format!("{value:?}"), token);
    assert_no_token(
        &format!("{what} (Debug, pretty)"),
        &format!("{value:#?}"),
        token,
    );
}

/// A loopback URL nobody listens on.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Both auth modes.
pub const MODES: [AuthMode; 2] = [AuthMode::Bearer, AuthMode::QueryParameter];

/// An `Upstash-Signature` value for `body` delivered to `url`, signed with
/// `key` as QStash signs (HS256 JWT), valid for five minutes from now.
pub fn sign_delivery(key: &str, url: &str, body: &[u8]) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": "Upstash", "sub": url, "iat": now, "nbf": now, "exp": now + 300,
        "jti": format!("jwt_{now}"), "body": URL_SAFE_NO_PAD.encode(Sha256::digest(body)),
    });
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap()
        .chain_update(input.as_bytes())
        .finalize()
        .into_bytes();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// What the code under test logged through `tracing` on this thread while
/// the returned guard lives: one `LEVEL message` line per event, with the
/// event's other fields after it as `name=value`.
///
/// Works whichever test thread reaches a log statement first: while a
/// single subscriber exists, tracing-core computes a callsite's interest
/// from the subscriber of the thread that reaches it first
/// (`Dispatchers::has_just_one`), so an event reached first on another
/// test's thread would be left out here for good. A second subscriber that
/// lives as long as the test binary makes every callsite ask each one.
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    static ALWAYS_THERE: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    ALWAYS_THERE.get_or_init(|| tracing::Dispatch::new(Logs::default()));
    let logs = Logs::default();
    let guard = tracing::subscriber::set_default(logs.clone());
    (logs, guard)
}

/// The lines captured by [`capture_logs`].
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Logs {
    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Every line so far, one per line of text.
    pub fn text(&self) -> String {
        self.lines().join("\n")
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Line(String, String);
        impl tracing::field::Visit for Line {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                } else {
                    self.1.push_str(&format!(" {}={value:?}", field.name()));
                }
            }
        }
        let mut line = Line(String::new(), String::new());
        event.record(&mut line);
        let level = event.metadata().level();
        self.0
            .lock()
            .unwrap()
            .push(format!("{level} {}{}", line.0, line.1));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// An answer read off the wire by [`raw_http`].
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// The header block, one `name: value` a line.
    pub headers: String,
    pub body: String,
}

impl RawAnswer {
    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends `head` (the request line and headers, without the blank line) and
/// then `body` to `addr` over a plain TCP connection, leaves the connection
/// open (whatever `Content-Length` promised), and reads the answer, within
/// five seconds: for checking that a server answers before it has read, or
/// could have read, the whole body.
pub async fn raw_http(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> RawAnswer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let read = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("{head}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        // The server may answer and close before taking all of it.
        let _ = stream.write_all(body).await;
        let mut received = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let text = String::from_utf8_lossy(&received[..end]).into_owned();
                let length: usize = text
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if received.len() >= end + 4 + length {
                    let mut lines = text.lines();
                    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
                    return RawAnswer {
                        status: status.parse().unwrap(),
                        headers: lines.collect::<Vec<_>>().join("\n"),
                        body: String::from_utf8_lossy(&received[end + 4..end + 4 + length])
                            .into_owned(),
                    };
                }
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "connection closed before a whole answer: {received:?}"
            );
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), read)
        .await
        .expect("an answer within five seconds")
}

/// An `Upstash-Signature` value with these claims, signed with `key` as
/// QStash signs (HS256 JWT): for claims [`sign_delivery`] does not make
/// (expired, not yet valid, another issuer).
pub fn sign_claims(key: &str, claims: &serde_json::Value) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap()
        .chain_update(input.as_bytes())
        .finalize()
        .into_bytes();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
}
