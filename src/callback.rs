//! Decoding what QStash sends to a callback or failure-callback URL.
//!
//! A message published with a callback (`MessageOptions::callback`) makes
//! QStash call that URL after each delivery attempt; with a failure callback
//! (`MessageOptions::failure_callback`), once its retries are exhausted. The
//! request body is a JSON description of the original message and of the
//! destination's answer, with both bodies base64-encoded.
//! [`CallbackDelivery::from_json`] decodes it, bodies as bytes.
//!
//! The fields, and where each is stated (the table "Callback payloads" in
//! `openapi/qstash/EVIDENCE.md` has the details):
//!
//! | JSON | Rust | Source |
//! |---|---|---|
//! | `status` | [`status`](CallbackDelivery::status) | docs, both examples; workflow-js types |
//! | `header` | [`headers`](CallbackDelivery::headers) | docs; workflow-js `Record<string, string[]>` |
//! | `body` | [`body`](CallbackDelivery::body) | docs ("base64 encoded response body"); workflow-js `body?: string` |
//! | `retried` | [`retried`](CallbackDelivery::retried) | docs; workflow-js `retried?: number // only set after the first try` |
//! | `maxRetries` | [`max_retries`](CallbackDelivery::max_retries) | docs |
//! | `dlqId` | [`dlq_id`](CallbackDelivery::dlq_id) | docs, failure callbacks only |
//! | `sourceMessageId` | [`source_message_id`](CallbackDelivery::source_message_id) | docs (spelt `sourceMessasgeId` in one revision, also accepted); workflow-js |
//! | `topicName` | [`topic_name`](CallbackDelivery::topic_name) | docs, URL groups only |
//! | `endpointName` | [`endpoint_name`](CallbackDelivery::endpoint_name) | docs, named endpoints only |
//! | `url` | [`url`](CallbackDelivery::url) | docs; workflow-js |
//! | `method` | [`method`](CallbackDelivery::method) | docs |
//! | `sourceHeader` | [`source_headers`](CallbackDelivery::source_headers) | docs; workflow-js `Record<string, string[]>` |
//! | `sourceBody` | [`source_body`](CallbackDelivery::source_body) | docs; workflow-js |
//! | `notBefore` | [`not_before`](CallbackDelivery::not_before) | docs (as a string there) |
//! | `createdAt` | [`created_at`](CallbackDelivery::created_at) | docs (as a string there) |
//! | `scheduleId` | [`schedule_id`](CallbackDelivery::schedule_id) | docs, scheduled messages only |
//! | `callerIP` | [`caller_ip`](CallbackDelivery::caller_ip) | docs |
//!
//! Docs: <https://upstash.com/docs/qstash/features/callbacks>; workflow-js:
//! `upstash/workflow-js` `src/workflow-requests.ts` and `src/workflow-parser.ts`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use serde_json::{Map, Value};

/// Standard base64 (what QStash writes), padded or not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What QStash sends to a callback or failure-callback URL: the answer of
/// the destination to one delivery attempt, and the message it was for.
///
/// Decode the body of the request that reached your callback URL with
/// [`from_json`](Self::from_json) (or [`str::parse`], or serde: it implements
/// `Deserialize`). Both bodies come base64-encoded in the JSON and are
/// decoded here to bytes, whatever they hold: UTF-8 text in any script,
/// JSON, or binary. Read them as text with [`body_text`](Self::body_text),
/// as JSON with [`body_json`](Self::body_json), or as bytes.
///
/// A **callback** comes after each delivery attempt, successful or not
/// (so several for a message that was retried); a **failure callback**
/// once, after the last attempt failed, with [`dlq_id`](Self::dlq_id) set.
/// QStash signs both like any delivery: verify the request first
/// ([`Receiver`](crate::Receiver), or the `axum` extractor), then decode its
/// body.
///
/// **What decoding tolerates.** Fields it does not know are ignored, and so
/// is anything else that does not change what a field says: fields that
/// are absent or `null`, numbers written as strings (the docs' examples
/// write `notBefore` and `createdAt` so), header values given as one
/// string instead of a list (the docs' `sourceHeader` example), base64 with
/// or without padding. Numbers left out read as 0 (Upstash's workflow SDK
/// notes that `retried` is only set after the first try); optional texts
/// that are empty read as `None`. Decoding fails only on what is not a callback at all (not
/// a JSON object, no `sourceMessageId` or `url`) and on a body that is not
/// valid base64, with a [`CallbackError`] naming the field.
///
/// **`Debug`** shows the bodies' lengths, not their bytes, and hides the
/// values of credential-like headers (see [`CallbackHeaders`]):
/// [`source_headers`](Self::source_headers) holds the headers the original
/// message was delivered with, forwarded ones included, so an
/// `Authorization` header you forwarded to the destination comes back
/// here. The QStash token itself is never in the payload: QStash forwards
/// only the headers you prefix with `Upstash-Forward-`.
///
/// # Example
///
/// The docs' callback example, with the body of qstash-js issue #88
/// (`"chinese华语"`, which JavaScript's `atob` garbles):
///
/// ```
/// use qstash::CallbackDelivery;
///
/// # fn main() -> Result<(), qstash::CallbackError> {
/// let payload = br#"{
///     "status": 200,
///     "header": {"Content-Type": ["text/plain; charset=utf-8"]},
///     "body": "Y2hpbmVzZeWNjuivrQ==",
///     "retried": 2,
///     "maxRetries": 3,
///     "sourceMessageId": "msg_xxx",
///     "url": "https://example.com/hooks/orders",
///     "method": "POST",
///     "sourceHeader": {"Content-Type": ["application/json"]},
///     "sourceBody": "eyJvcmRlciI6NDJ9",
///     "notBefore": 1701198458025,
///     "createdAt": 1701198447054,
///     "callerIP": "178.247.74.179"
/// }"#;
/// let callback = CallbackDelivery::from_json(payload)?;
/// assert!(callback.is_success());
/// assert_eq!(callback.body_text()?, "chinese华语");
/// assert_eq!(callback.headers.get("content-type"), Some("text/plain; charset=utf-8"));
/// assert_eq!(callback.source_message_id, "msg_xxx");
/// assert_eq!(callback.source_body_json::<serde_json::Value>()?["order"], 42);
/// assert_eq!((callback.retried, callback.max_retries), (2, 3));
/// assert_eq!(callback.dlq_id, None); // a callback, not a failure callback
///
/// // A body that is not base64 is an error naming the field.
/// let err = CallbackDelivery::from_json(
///     br#"{"sourceMessageId": "msg_xxx", "url": "https://example.com", "body": "not base64!"}"#,
/// )
/// .unwrap_err();
/// assert!(err.to_string().contains("`body`"));
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackDelivery {
    /// `status`: the HTTP status the destination answered; 0 when the
    /// payload has none (the local QStash, `qstash-dev`, sends 0 when the
    /// destination gave no HTTP answer at all).
    pub status: u16,
    /// `header`: the headers of the destination's answer.
    pub headers: CallbackHeaders,
    /// `body`: the body of the destination's answer, decoded from base64
    /// (QStash may cut a long one to the plan's message size).
    pub body: Bytes,
    /// `retried`: how many times the message had been retried before this
    /// attempt (0 on the first attempt).
    pub retried: u32,
    /// `maxRetries`: how many retries the message has in all; when
    /// [`retried`](Self::retried) reaches it, the attempt was the last.
    pub max_retries: u32,
    /// `dlqId`: set on a failure callback: the id of the message in the
    /// dead letter queue, for [`get_dlq_message`](crate::Client::get_dlq_message),
    /// [`retry_dlq_message`](crate::Client::retry_dlq_message) or
    /// [`delete_dlq_message`](crate::Client::delete_dlq_message).
    pub dlq_id: Option<String>,
    /// `sourceMessageId`: the id of the message this callback is about.
    pub source_message_id: String,
    /// `topicName`: the URL group the message was published to, if any.
    pub topic_name: Option<String>,
    /// `endpointName`: the name of the URL group's endpoint, if it has one.
    pub endpoint_name: Option<String>,
    /// `url`: the destination URL of the message.
    pub url: String,
    /// `method`: the HTTP method the message was delivered with.
    pub method: Option<String>,
    /// `sourceHeader`: the headers the message was delivered with
    /// (forwarded ones included; see the type's notes on `Debug`).
    pub source_headers: CallbackHeaders,
    /// `sourceBody`: the body of the message, decoded from base64.
    pub source_body: Bytes,
    /// `notBefore`: when the message was (or is) due, in milliseconds since
    /// the Unix epoch.
    pub not_before: Option<u64>,
    /// `createdAt`: when the message was created, in milliseconds since the
    /// Unix epoch.
    pub created_at: Option<u64>,
    /// `scheduleId`: the schedule that produced the message, if any.
    pub schedule_id: Option<String>,
    /// `callerIP`: the address the message was published from.
    pub caller_ip: Option<String>,
}

impl CallbackDelivery {
    /// Decodes the body of a callback or failure-callback request.
    ///
    /// Fails with a [`CallbackError`] when the payload is not a JSON object,
    /// lacks `sourceMessageId` or `url`, or has a `body` or `sourceBody`
    /// that is not base64; see the type's notes on what it tolerates.
    pub fn from_json(payload: &[u8]) -> Result<Self, CallbackError> {
        let value: Value = serde_json::from_slice(payload)
            .map_err(|e| CallbackError::NotAnObject(e.to_string()))?;
        Self::from_value(value)
    }

    fn from_value(value: Value) -> Result<Self, CallbackError> {
        let Value::Object(map) = value else {
            return Err(CallbackError::NotAnObject(format!(
                "expected a JSON object, found {}",
                json_kind(&value)
            )));
        };
        // What makes it a callback first: a plain delivery decoded by
        // mistake is refused as such, not for its `body`.
        let source_message_id = required_text(&map, "sourceMessageId", &["sourceMessasgeId"])?;
        let url = required_text(&map, "url", &[])?;
        Ok(Self {
            status: number(&map, "status")
                .and_then(|n| u16::try_from(n).ok())
                .unwrap_or(0),
            headers: CallbackHeaders::from_json(map.get("header")),
            body: base64_body(&map, "body")?,
            retried: small_number(&map, "retried"),
            max_retries: small_number(&map, "maxRetries"),
            dlq_id: text(&map, &["dlqId"]),
            source_message_id,
            topic_name: text(&map, &["topicName"]),
            endpoint_name: text(&map, &["endpointName"]),
            url,
            method: text(&map, &["method"]),
            source_headers: CallbackHeaders::from_json(map.get("sourceHeader")),
            source_body: base64_body(&map, "sourceBody")?,
            not_before: number(&map, "notBefore"),
            created_at: number(&map, "createdAt"),
            schedule_id: text(&map, &["scheduleId"]),
            caller_ip: text(&map, &["callerIP", "callerIp"]),
        })
    }

    /// Whether the destination answered with a 2xx status: the message was
    /// delivered.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether this attempt was the message's last one as the docs put it
    /// (`retried == maxRetries`): no retry follows if it failed.
    pub fn retries_exhausted(&self) -> bool {
        self.retried >= self.max_retries
    }

    /// The destination's answer as UTF-8 text; [`CallbackError::NotText`]
    /// if it is not (binary data: read [`body`](Self::body) instead).
    pub fn body_text(&self) -> Result<&str, CallbackError> {
        as_text(&self.body, "body")
    }

    /// The destination's answer decoded from JSON into `T`;
    /// [`CallbackError::BodyJson`] if it is not that JSON.
    pub fn body_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, CallbackError> {
        as_json(&self.body, "body")
    }

    /// The original message's body as UTF-8 text; [`CallbackError::NotText`]
    /// if it is not.
    pub fn source_body_text(&self) -> Result<&str, CallbackError> {
        as_text(&self.source_body, "sourceBody")
    }

    /// The original message's body decoded from JSON into `T`;
    /// [`CallbackError::BodyJson`] if it is not that JSON.
    pub fn source_body_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, CallbackError> {
        as_json(&self.source_body, "sourceBody")
    }
}

impl FromStr for CallbackDelivery {
    type Err = CallbackError;

    /// Same as [`CallbackDelivery::from_json`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_json(s.as_bytes())
    }
}

impl<'de> serde::Deserialize<'de> for CallbackDelivery {
    /// Reads any self-describing format (JSON above all) with the rules of
    /// [`CallbackDelivery::from_json`].
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for CallbackDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackDelivery")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &ByteCount(self.body.len()))
            .field("retried", &self.retried)
            .field("max_retries", &self.max_retries)
            .field("dlq_id", &self.dlq_id)
            .field("source_message_id", &self.source_message_id)
            .field("topic_name", &self.topic_name)
            .field("endpoint_name", &self.endpoint_name)
            .field("url", &self.url)
            .field("method", &self.method)
            .field("source_headers", &self.source_headers)
            .field("source_body", &ByteCount(self.source_body.len()))
            .field("not_before", &self.not_before)
            .field("created_at", &self.created_at)
            .field("schedule_id", &self.schedule_id)
            .field("caller_ip", &self.caller_ip)
            .finish()
    }
}

/// A body in `Debug` output: its length only.
struct ByteCount(usize);

impl fmt::Debug for ByteCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

/// Headers in a callback payload (`header`, `sourceHeader`): each name as
/// QStash wrote it, with its values in order.
///
/// Names are kept as they come, whatever they are (nothing is refused or
/// dropped, unlike [`http::HeaderMap`]); [`get`](Self::get) and
/// [`get_all`](Self::get_all) look them up ignoring ASCII case.
///
/// `Debug` shows every name but hides the values of headers that may carry
/// credentials: those whose lowercased name contains `auth` (`Authorization`,
/// `Proxy-Authorization`, ...), `cookie`, `token`, `secret`, `password`,
/// `signature`, `api-key` or `apikey`.
///
/// ```
/// let callback: qstash::CallbackDelivery = r#"{
///     "sourceMessageId": "msg_1", "url": "https://example.com/hook",
///     "sourceHeader": {"Authorization": ["Bearer s3cret"], "X-Order": ["1", "2"]}
/// }"#.parse()?;
/// let headers = &callback.source_headers;
/// assert_eq!(headers.get("authorization"), Some("Bearer s3cret"));
/// assert_eq!(headers.get_all("x-order").collect::<Vec<_>>(), ["1", "2"]);
/// assert!(!format!("{headers:?}").contains("s3cret"));
/// # Ok::<(), qstash::CallbackError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CallbackHeaders(BTreeMap<String, Vec<String>>);

impl CallbackHeaders {
    /// Reads a JSON object of header names to a list of values (or to one
    /// value); anything else is no headers.
    fn from_json(value: Option<&Value>) -> Self {
        let mut headers = BTreeMap::new();
        if let Some(Value::Object(entries)) = value {
            for (name, values) in entries {
                let values = match values {
                    Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
                    one => scalar_text(one).into_iter().collect(),
                };
                headers.insert(name.clone(), values);
            }
        }
        Self(headers)
    }

    /// The first value of header `name` (ASCII case ignored).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of header `name` (ASCII case ignored), in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter().map(String::as_str))
    }

    /// Every header: its name as written and its values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// How many header names there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The headers as a map of names (as written) to values.
    pub fn as_map(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    /// The map of names (as written) to values.
    pub fn into_map(self) -> BTreeMap<String, Vec<String>> {
        self.0
    }
}

impl fmt::Debug for CallbackHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, values) in &self.0 {
            if is_sensitive(name) {
                map.entry(name, &format_args!("<redacted>"));
            } else {
                map.entry(name, values);
            }
        }
        map.finish()
    }
}

/// Whether `Debug` hides the values of header `name`.
fn is_sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "cookie",
        "token",
        "secret",
        "password",
        "signature",
        "api-key",
        "apikey",
    ]
    .iter()
    .any(|part| name.contains(part))
}

/// Why a callback payload, or one of its bodies, could not be read.
///
/// Each variant names the JSON field at fault (`body`, `sourceBody`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// The payload is not a JSON object: not JSON at all, or another JSON
    /// value. Most likely not a callback (a plain delivery of a message?).
    NotAnObject(String),
    /// A field every callback carries is missing (`sourceMessageId`,
    /// `url`): not a callback payload.
    MissingField(&'static str),
    /// A field has a JSON type it never has in a callback.
    WrongType {
        /// The JSON field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// `body` or `sourceBody` is not valid base64.
    InvalidBase64 {
        /// The JSON field.
        field: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// The body asked for as text is not UTF-8 (binary data).
    NotText {
        /// `body` or `sourceBody`.
        field: &'static str,
    },
    /// The body asked for as JSON is not JSON of the type asked for.
    BodyJson {
        /// `body` or `sourceBody`.
        field: &'static str,
        /// What the JSON decoder said.
        reason: String,
    },
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject(reason) => write!(f, "not a QStash callback payload: {reason}"),
            Self::MissingField(field) => {
                write!(f, "not a QStash callback payload: no `{field}` field")
            }
            Self::WrongType { field, expected } => {
                write!(f, "callback payload field `{field}` is not {expected}")
            }
            Self::InvalidBase64 { field, reason } => {
                write!(
                    f,
                    "callback payload field `{field}` is not valid base64: {reason}"
                )
            }
            Self::NotText { field } => write!(f, "callback `{field}` is not UTF-8 text"),
            Self::BodyJson { field, reason } => {
                write!(f, "callback `{field}` is not the JSON expected: {reason}")
            }
        }
    }
}

impl std::error::Error for CallbackError {}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A non-negative integer, written as a number or as a string of digits;
/// `None` for anything else.
fn number(map: &Map<String, Value>, field: &str) -> Option<u64> {
    match map.get(field)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A count: 0 when absent or unreadable, the largest `u32` when larger.
fn small_number(map: &Map<String, Value>, field: &str) -> u32 {
    number(map, field).map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// The first of `fields` holding a non-empty string.
fn text(map: &Map<String, Value>, fields: &[&str]) -> Option<String> {
    fields.iter().find_map(|field| match map.get(*field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    })
}

/// A string every callback has, under `field` or one of its `aliases`.
fn required_text(
    map: &Map<String, Value>,
    field: &'static str,
    aliases: &[&str],
) -> Result<String, CallbackError> {
    let found = std::iter::once(field)
        .chain(aliases.iter().copied())
        .find_map(|name| map.get(name).filter(|v| !v.is_null()));
    match found {
        None => Err(CallbackError::MissingField(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(CallbackError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// A base64 body; empty when absent or `null`.
fn base64_body(map: &Map<String, Value>, field: &'static str) -> Result<Bytes, CallbackError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(Bytes::new()),
        Some(Value::String(s)) => {
            BASE64
                .decode(s.trim())
                .map(Bytes::from)
                .map_err(|e| CallbackError::InvalidBase64 {
                    field,
                    reason: e.to_string(),
                })
        }
        Some(_) => Err(CallbackError::WrongType {
            field,
            expected: "a base64 string",
        }),
    }
}

/// A header value written as a string, a number or a boolean.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_text<'a>(bytes: &'a [u8], field: &'static str) -> Result<&'a str, CallbackError> {
    std::str::from_utf8(bytes).map_err(|_| CallbackError::NotText { field })
}

fn as_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    field: &'static str,
) -> Result<T, CallbackError> {
    serde_json::from_slice(bytes).map_err(|e| CallbackError::BodyJson {
        field,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn numbers_are_read_from_numbers_and_digit_strings_only() {
        let m = map(json!({
            "n": 7, "s": " 1701198458025 ", "neg": -1, "float": 1.5,
            "word": "soon", "null": null, "bool": true, "list": [1]
        }));
        assert_eq!(number(&m, "n"), Some(7));
        assert_eq!(number(&m, "s"), Some(1_701_198_458_025));
        for field in ["neg", "float", "word", "null", "bool", "list", "absent"] {
            assert_eq!(number(&m, field), None, "{field}");
        }
    }

    #[test]
    fn counts_default_to_zero_and_saturate() {
        let m = map(json!({"one": 1, "huge": 5_000_000_000_u64, "word": "x"}));
        assert_eq!(small_number(&m, "one"), 1);
        assert_eq!(small_number(&m, "huge"), u32::MAX);
        assert_eq!(small_number(&m, "word"), 0);
        assert_eq!(small_number(&m, "absent"), 0);
    }

    #[test]
    fn optional_texts_take_the_first_non_empty_string() {
        let m = map(json!({"a": "", "b": "x", "c": 3, "d": "y"}));
        assert_eq!(text(&m, &["a", "b"]), Some("x".into()));
        assert_eq!(text(&m, &["c", "d"]), Some("y".into()));
        assert_eq!(text(&m, &["a"]), None);
        assert_eq!(text(&m, &["c"]), None);
        assert_eq!(text(&m, &["absent"]), None);
    }

    #[test]
    fn required_texts_name_the_field_and_take_aliases() {
        let m = map(json!({"alias": "v", "num": 1, "nul": null}));
        assert_eq!(required_text(&m, "field", &["alias"]), Ok("v".into()));
        assert_eq!(
            required_text(&m, "field", &[]),
            Err(CallbackError::MissingField("field"))
        );
        assert_eq!(
            required_text(&m, "nul", &[]),
            Err(CallbackError::MissingField("nul"))
        );
        assert_eq!(
            required_text(&m, "num", &[]),
            Err(CallbackError::WrongType {
                field: "num",
                expected: "a string"
            })
        );
    }

    #[test]
    fn base64_bodies_take_padding_or_not_and_name_the_field_when_invalid() {
        let m = map(json!({
            "padded": "aGk=", "bare": "aGk", "empty": "", "nul": null,
            "bad": "aGk*", "urlsafe": "-_8", "num": 1
        }));
        assert_eq!(base64_body(&m, "padded").unwrap(), "hi");
        assert_eq!(base64_body(&m, "bare").unwrap(), "hi");
        assert!(base64_body(&m, "empty").unwrap().is_empty());
        assert!(base64_body(&m, "nul").unwrap().is_empty());
        assert!(base64_body(&m, "absent").unwrap().is_empty());
        for field in ["bad", "urlsafe"] {
            assert!(
                matches!(
                    base64_body(&m, field),
                    Err(CallbackError::InvalidBase64 { field: f, .. }) if f == field
                ),
                "{field}"
            );
        }
        assert_eq!(
            base64_body(&m, "num"),
            Err(CallbackError::WrongType {
                field: "num",
                expected: "a base64 string"
            })
        );
    }

    #[test]
    fn header_values_may_be_lists_or_one_value_and_odd_names_are_kept() {
        let h = CallbackHeaders::from_json(Some(&json!({
            "X-List": ["a", "b"], "X-One": "c", "X-Num": 5, "X-Bool": false,
            "x-list": ["d"], "Bad Name é": ["e"], "X-Null": null, "X-Mixed": ["f", null, {}]
        })));
        assert_eq!(h.get_all("X-LIST").collect::<Vec<_>>(), ["a", "b", "d"]);
        assert_eq!(h.get("x-one"), Some("c"));
        assert_eq!(h.get("x-num"), Some("5"));
        assert_eq!(h.get("x-bool"), Some("false"));
        assert_eq!(h.get("bad name é"), Some("e"));
        assert_eq!(h.get("x-null"), None);
        assert_eq!(h.get_all("x-mixed").collect::<Vec<_>>(), ["f"]);
        assert_eq!(h.len(), 8);
        assert!(!h.is_empty());
        for odd in [json!(["a"]), json!("a"), json!(null)] {
            assert!(CallbackHeaders::from_json(Some(&odd)).is_empty());
        }
        assert!(CallbackHeaders::from_json(None).is_empty());
    }

    #[test]
    fn credential_like_header_names_are_sensitive() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Set-Cookie",
            "X-Auth-Token",
            "X-Api-Key",
            "X-Apikey",
            "X-Client-Secret",
            "X-Password",
            "Upstash-Signature",
            "X-Token",
        ] {
            assert!(is_sensitive(name), "{name}");
        }
        for name in [
            "Content-Type",
            "X-Order",
            "Upstash-Flow-Control-Key",
            "Accept",
        ] {
            assert!(!is_sensitive(name), "{name}");
        }
    }
}
