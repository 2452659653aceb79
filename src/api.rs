//! Provider destinations: publish to an LLM or an email API by naming the
//! provider and its key instead of a URL, as the official SDKs' `api`
//! option does (qstash-js `src/client/api/`, qstash-py `LlmApi`).
//!
//! A provider becomes what QStash needs to call it: the destination URL,
//! the provider's key forwarded as `Upstash-Forward-Authorization` (or its
//! own header), the provider's other headers forwarded, `Content-Type:
//! application/json` and `Upstash-Method: POST` (unless the options set a
//! method). The request is the one qstash-js sends for the same call.
//!
//! The keys are secrets: they are sent as sensitive header values, and no
//! `Debug` output or error of this crate shows them.

use std::fmt;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::Error;

/// Where a message goes when it goes to a provider's API rather than to a
/// URL: give it to [`api`](crate::builder::Publish::api) on publish and
/// enqueue, or to [`BatchEntry::api`](crate::BatchEntry::api). Made from
/// an [`LlmProvider`] or an [`EmailProvider`] (both convert into it).
///
/// ```no_run
/// use qstash::{Body, Callback, EmailProvider, LlmProvider, MessageOptions};
///
/// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
/// // A chat completion; QStash delivers the answer to the callback.
/// client
///     .publish()
///     .api(LlmProvider::openai("sk-..."))
///     .payload(Body::json(&serde_json::json!({
///         "model": "gpt-4o-mini",
///         "messages": [{"role": "user", "content": "Hello"}],
///     }))?)
///     .options(MessageOptions::new().callback(Callback::new("https://example.com/answer")))
///     .send()
///     .await?;
///
/// // An email through Resend.
/// client
///     .publish()
///     .api(EmailProvider::resend("re_..."))
///     .payload(Body::json(&serde_json::json!({
///         "from": "Acme <onboarding@resend.dev>",
///         "to": ["delivered@resend.dev"],
///         "subject": "hello",
///         "html": "<p>it works</p>",
///     }))?)
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Api {
    /// A chat-completion API: OpenAI, Anthropic or an OpenAI-compatible one.
    Llm(LlmProvider),
    /// An email API: Resend.
    Email(EmailProvider),
}

impl From<LlmProvider> for Api {
    fn from(provider: LlmProvider) -> Self {
        Api::Llm(provider)
    }
}

impl From<EmailProvider> for Api {
    fn from(provider: EmailProvider) -> Self {
        Api::Email(provider)
    }
}

/// A chat-completion API and its key. The message body is the provider's
/// request body as JSON (`Body::json`), and the call needs a callback
/// (`MessageOptions::callback`): QStash delivers the provider's answer
/// there.
///
/// ```
/// use qstash::{Analytics, LlmProvider};
///
/// let openai = LlmProvider::openai("sk-...").organization("org-...");
/// let anthropic = LlmProvider::anthropic("sk-ant-...");
/// // Any OpenAI-compatible API; a trailing `/v1/chat/completions` is trimmed.
/// let together = LlmProvider::custom("https://api.together.xyz", "key")
///     .analytics(Analytics::helicone("helicone-key"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct LlmProvider {
    kind: LlmKind,
    key: Key,
    organization: Option<String>,
    analytics: Option<Analytics>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum LlmKind {
    OpenAi,
    Anthropic,
    /// The base URL as given.
    Custom(String),
}

impl LlmProvider {
    /// OpenAI's chat completions (`https://api.openai.com/v1/chat/completions`),
    /// with this API key (sent as `Authorization: Bearer <key>`).
    pub fn openai(api_key: impl Into<String>) -> Self {
        Self::new(LlmKind::OpenAi, api_key)
    }

    /// Anthropic's messages API (`https://api.anthropic.com/v1/messages`),
    /// with this API key (sent as `x-api-key`, with `anthropic-version:
    /// 2023-06-01`).
    pub fn anthropic(api_key: impl Into<String>) -> Self {
        Self::new(LlmKind::Anthropic, api_key)
    }

    /// An OpenAI-compatible API at `base_url` (http or https): the call goes
    /// to `<base_url>/v1/chat/completions`, with `Authorization: Bearer
    /// <key>`. A `base_url` that already ends in `/v1/chat/completions` or
    /// `/chat/completions` has it trimmed first (as the official SDKs do),
    /// and so has a trailing `/`.
    pub fn custom(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self::new(LlmKind::Custom(base_url.into()), api_key)
    }

    /// The OpenAI organization the call is billed to (`OpenAI-Organization`).
    /// OpenAI only: on another provider, sending is refused.
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// Sends the call through an analytics proxy, which records it.
    pub fn analytics(mut self, analytics: Analytics) -> Self {
        self.analytics = Some(analytics);
        self
    }

    fn new(kind: LlmKind, api_key: impl Into<String>) -> Self {
        Self {
            kind,
            key: Key(api_key.into()),
            organization: None,
            analytics: None,
        }
    }

    /// The provider's own base URL (custom: trimmed as the SDKs do).
    fn base_url(&self) -> String {
        match &self.kind {
            LlmKind::OpenAi => "https://api.openai.com".into(),
            LlmKind::Anthropic => "https://api.anthropic.com".into(),
            LlmKind::Custom(url) => trim_custom_base_url(url).into(),
        }
    }

    fn route(&self) -> &'static str {
        match self.kind {
            LlmKind::Anthropic => "v1/messages",
            LlmKind::OpenAi | LlmKind::Custom(_) => "v1/chat/completions",
        }
    }

    fn name(&self) -> &'static str {
        match self.kind {
            LlmKind::OpenAi => "OpenAI",
            LlmKind::Anthropic => "Anthropic",
            LlmKind::Custom(_) => "custom LLM",
        }
    }
}

/// qstash-js `custom`: `baseUrl.replace(/\/(v1\/)?chat\/completions$/, "")`,
/// after a trailing `/` is removed (the SDK would send `//v1/...`).
fn trim_custom_base_url(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    ["/v1/chat/completions", "/chat/completions"]
        .iter()
        .find_map(|suffix| url.strip_suffix(suffix))
        .unwrap_or(url)
}

/// An analytics proxy an LLM call goes through: the call is sent to the
/// proxy, which forwards it to the provider and records it.
///
/// ```
/// use qstash::{Analytics, LlmProvider};
///
/// let provider = LlmProvider::openai("sk-...").analytics(Analytics::helicone("helicone-key"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Analytics {
    key: Key,
}

impl Analytics {
    /// [Helicone](https://helicone.ai), with this API key: the call goes to
    /// `https://gateway.helicone.ai` with `Helicone-Auth: Bearer <key>` and
    /// `Helicone-Target-Url` naming the provider.
    pub fn helicone(api_key: impl Into<String>) -> Self {
        Self {
            key: Key(api_key.into()),
        }
    }
}

/// An email API and its key. The message body is the provider's request
/// body as JSON (`Body::json`).
///
/// ```
/// use qstash::EmailProvider;
///
/// // One email per message: https://api.resend.com/emails
/// let single = EmailProvider::resend("re_...");
/// // Several emails in one message (the body is a JSON array): /emails/batch
/// let batch = EmailProvider::resend("re_...").batch();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct EmailProvider {
    key: Key,
    batch: bool,
}

impl EmailProvider {
    /// [Resend](https://resend.com)'s `https://api.resend.com/emails`, with
    /// this API key (sent as `Authorization: Bearer <key>`).
    pub fn resend(api_key: impl Into<String>) -> Self {
        Self {
            key: Key(api_key.into()),
            batch: false,
        }
    }

    /// Resend's batch endpoint (`/emails/batch`): the body is an array of
    /// emails.
    pub fn batch(mut self) -> Self {
        self.batch = true;
        self
    }
}

/// A provider's key: never printed.
#[derive(Clone, PartialEq, Eq)]
struct Key(String);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::secrets::REDACTED)
    }
}

impl Api {
    /// The destination URL QStash calls: the URL qstash-js computes.
    pub(crate) fn destination(&self) -> String {
        match self {
            Api::Llm(p) => {
                let base = match p.analytics {
                    Some(_) => "https://gateway.helicone.ai".to_string(),
                    None => p.base_url(),
                };
                format!("{base}/{}", p.route())
            }
            Api::Email(p) => {
                let route = if p.batch { "emails/batch" } else { "emails" };
                format!("https://api.resend.com/{route}")
            }
        }
    }

    /// The headers the provider needs forwarded, checked: the keys are
    /// sensitive values. The error names `api` and never shows a key.
    pub(crate) fn forwarded_headers(&self) -> Result<HeaderMap, Error> {
        let mut h = HeaderMap::new();
        match self {
            Api::Llm(p) => {
                if let LlmKind::Custom(url) = &p.kind {
                    check_base_url(url)?;
                }
                let name = p.name();
                let key = key_value(name, &p.key)?;
                match p.kind {
                    LlmKind::Anthropic => {
                        forward(&mut h, "upstash-forward-x-api-key", secret(name, key)?);
                        forward(
                            &mut h,
                            "upstash-forward-anthropic-version",
                            HeaderValue::from_static("2023-06-01"),
                        );
                    }
                    LlmKind::OpenAi | LlmKind::Custom(_) => {
                        forward(&mut h, "upstash-forward-authorization", bearer(name, key)?);
                    }
                }
                if let Some(org) = &p.organization {
                    if p.kind != LlmKind::OpenAi {
                        return Err(invalid(format!(
                            "an organization (`.organization(...)`) applies to OpenAI only; remove it from the {name} provider"
                        )));
                    }
                    let value = HeaderValue::from_str(org).map_err(|_| {
                        invalid("the OpenAI organization is not a valid header value")
                    })?;
                    forward(&mut h, "upstash-forward-openai-organization", value);
                }
                if let Some(analytics) = &p.analytics {
                    let key = key_value("Helicone", &analytics.key)?;
                    forward(
                        &mut h,
                        "upstash-forward-helicone-auth",
                        bearer("Helicone", key)?,
                    );
                    let target = HeaderValue::from_str(&p.base_url()).map_err(|_| {
                        invalid("the custom LLM provider's base URL is not a valid header value")
                    })?;
                    forward(&mut h, "upstash-forward-helicone-target-url", target);
                }
            }
            Api::Email(p) => {
                let key = key_value("Resend", &p.key)?;
                forward(
                    &mut h,
                    "upstash-forward-authorization",
                    bearer("Resend", key)?,
                );
            }
        }
        Ok(h)
    }

    /// What qstash-js refuses without: an LLM call has a callback.
    fn needs_callback(&self) -> bool {
        matches!(self, Api::Llm(_))
    }

    /// Checks the message's own headers (`headers`: the request's, or a
    /// batch entry's) against the destination and adds the destination's:
    /// its forwarded headers, `Content-Type: application/json` and
    /// `Upstash-Method: POST` where the message set none.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) -> Result<(), Error> {
        let forwarded = self.forwarded_headers()?;
        if let Some(name) = forwarded.keys().find(|n| headers.contains_key(*n)) {
            let header = name
                .as_str()
                .strip_prefix("upstash-forward-")
                .unwrap_or(name.as_str());
            return Err(invalid(format!(
                "the destination sets the forwarded header {header} itself; remove it from the message's forwarded headers"
            )));
        }
        match headers.get(CONTENT_TYPE) {
            None => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Some(value) if is_json(value) => {}
            Some(_) => {
                return Err(invalid(
                    "the provider takes a JSON body, but the message's Content-Type is not application/json; give the body with `Body::json`",
                ));
            }
        }
        if self.needs_callback() && !headers.contains_key("upstash-callback") {
            return Err(invalid(
                "an LLM call needs a callback: QStash delivers the provider's answer there. Set one with `MessageOptions::new().callback(...)`",
            ));
        }
        if !headers.contains_key("upstash-method") {
            headers.insert(
                HeaderName::from_static("upstash-method"),
                HeaderValue::from_static("POST"),
            );
        }
        headers.extend(forwarded);
        Ok(())
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidOption {
        option: "api".into(),
        reason: reason.into(),
    }
}

fn check_base_url(url: &str) -> Result<(), Error> {
    if url.trim().is_empty() {
        return Err(invalid("the custom LLM provider's base URL is empty"));
    }
    // A URL parser drops tabs and line breaks and encodes the rest; the
    // destination and the forwarded target URL would not.
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "the custom LLM provider's base URL holds a space, a control or a non-ASCII character (percent-encode them; an international domain name goes in its xn-- form)",
        ));
    }
    let parsed = reqwest::Url::parse(trim_custom_base_url(url)).map_err(|e| {
        invalid(format!(
            "the custom LLM provider's base URL is not a URL ({e})"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(
            "the custom LLM provider's base URL must be an http or https URL",
        ));
    }
    Ok(())
}

/// The key, refused when empty (as qstash-js refuses an empty token).
fn key_value<'k>(provider: &str, key: &'k Key) -> Result<&'k str, Error> {
    if key.0.trim().is_empty() {
        return Err(invalid(format!("the {provider} API key is empty")));
    }
    Ok(&key.0)
}

fn bearer(provider: &str, key: &str) -> Result<HeaderValue, Error> {
    secret(provider, &format!("Bearer {key}"))
}

fn secret(provider: &str, value: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        invalid(format!(
            "the {provider} API key is not a valid header value (a line break or a character outside visible ASCII)"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Adds a forwarded header (`name`: `upstash-forward-...`, lower case).
fn forward(h: &mut HeaderMap, name: &'static str, value: HeaderValue) {
    h.insert(HeaderName::from_static(name), value);
}

/// `application/json`, with or without parameters.
fn is_json(value: &HeaderValue) -> bool {
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The destination's part of a publish or enqueue request: refused when a
/// `.destination(...)` after `.api(...)` changed where it goes (the key
/// would go elsewhere), else its headers are added as
/// [`Api::apply`] says.
pub(crate) fn apply_to_request(api: &Api, request: &mut reqwest::Request) -> Result<(), Error> {
    let destination = api.destination();
    let segment = format!("/{}", crate::urls::encode_path(&destination));
    if !request.url().path().ends_with(&segment) {
        return Err(invalid(
            "`.destination(...)` after `.api(...)` would send the provider's key to another URL; set the destination one way only",
        ));
    }
    api.apply(request.headers_mut())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(api: impl Into<Api>) -> String {
        match api.into().forwarded_headers().unwrap_err() {
            Error::InvalidOption { option, reason } => {
                assert_eq!(option, "api");
                reason
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn custom_base_urls_are_trimmed_as_qstash_js_does() {
        for (given, trimmed) in [
            ("https://x.example", "https://x.example"),
            ("https://x.example/v1/chat/completions", "https://x.example"),
            ("https://x.example/chat/completions", "https://x.example"),
            (
                "https://x.example/v2/chat/completions",
                "https://x.example/v2",
            ),
            (
                "https://x.example/api/v1/chat/completions/",
                "https://x.example/api",
            ),
            ("https://x.example/v1", "https://x.example/v1"),
            (
                "https://x.example/chat/completions/more",
                "https://x.example/chat/completions/more",
            ),
        ] {
            assert_eq!(trim_custom_base_url(given), trimmed, "{given}");
        }
    }

    #[test]
    fn every_key_is_a_sensitive_header_value() {
        let apis: [Api; 4] = [
            LlmProvider::openai("sk-1")
                .organization("org")
                .analytics(Analytics::helicone("h-1"))
                .into(),
            LlmProvider::anthropic("sk-2").into(),
            LlmProvider::custom("https://x.example", "sk-3").into(),
            EmailProvider::resend("re-4").batch().into(),
        ];
        let mut keys = 0;
        for api in apis {
            for (name, value) in &api.forwarded_headers().unwrap() {
                let secret = ["authorization", "x-api-key", "helicone-auth"]
                    .iter()
                    .any(|k| name.as_str() == format!("upstash-forward-{k}"));
                assert_eq!(value.is_sensitive(), secret, "{name}");
                keys += usize::from(secret);
            }
        }
        assert_eq!(keys, 5);
    }

    #[test]
    fn base_urls_that_a_parser_would_clean_up_are_refused() {
        for url in [
            "https://x.example/\n",
            "https://x.example/a b",
            "https://x.example\t",
            "https://bücher.example",
        ] {
            let reason = reason(LlmProvider::custom(url, "k"));
            assert!(reason.contains("non-ASCII character"), "{url}: {reason}");
        }
        assert!(
            Api::from(LlmProvider::custom(
                "https://xn--bcher-kva.example/a%20b",
                "k"
            ))
            .forwarded_headers()
            .is_ok()
        );
    }
}
