//! Typed options on the generated publish, enqueue, schedule, batch and DLQ
//! retry builders.
//!
//! The generated builders cannot send the wildcard header families, so
//! [`options`](crate::builder::Publish::options) takes [`MessageOptions`]
//! into the builder's own state: they are checked there (an invalid one is
//! reported when the request is sent, before anything leaves), and their
//! headers go with every request the builder sends.

use reqwest::header::{CONTENT_TYPE, HeaderValue};

use crate::Error;
use crate::generated::{builder, types};
use crate::message::{Body, MessageOptions, Target};
use crate::secrets::REDACTED;
use crate::transport::SecretBody;

macro_rules! takes_options {
    ($builder:ident, $target:expr, payload: $payload:tt) => {
        takes_options!($builder, $target, payload: $payload, prepare: |b, _o| b);
    };
    ($builder:ident, $target:expr, payload: $payload:tt, prepare: |$b:ident, $o:ident| $prepare:expr) => {
        impl<'a> builder::$builder<'a> {
            /// Message options (delay, retries, callbacks, forwarded headers,
            /// ...), checked and sent as headers with the request; the typed
            /// way to set what the raw `upstash_*` setters set. An invalid
            /// option fails `send` with [`Error::InvalidOption`] before
            /// anything is sent. Called again, the last options win.
            ///
            /// ```no_run
            /// use std::time::Duration;
            /// use qstash::{Body, MessageOptions};
            ///
            /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
            /// // Publish with a delay and a label (a delay on enqueue is refused:
            /// // the service does not take one there).
            /// client
            ///     .publish()
            ///     .destination("https://example.com/send-email")
            ///     .payload(Body::text("welcome"))
            ///     .options(MessageOptions::new().delay(Duration::from_secs(300)).label("onboarding"))
            ///     .send()
            ///     .await?;
            ///
            /// // A schedule: every day at 03:00, with a fixed id (creating it
            /// // again updates it).
            /// client
            ///     .create_schedule()
            ///     .destination("https://example.com/nightly-report")
            ///     .payload(Body::json(&serde_json::json!({"report": "daily"}))?)
            ///     .options(MessageOptions::new().cron("0 3 * * *").schedule_id("nightly-report"))
            ///     .send()
            ///     .await?;
            ///
            /// // Retry every dead-lettered message of a queue, with fewer
            /// // delivery retries this time; `.all()` and `.options(...)`
            /// // combine in either order.
            /// client
            ///     .retry_dlq_messages()
            ///     .queue_name("orders")
            ///     .options(MessageOptions::new().retries(0))
            ///     .send_all()
            ///     .await?;
            /// # Ok(()) }
            /// ```
            pub fn options(self, options: MessageOptions) -> Self {
                let $b = self;
                let $o = &options;
                let mut builder = $prepare;
                builder.request_state.set_options(&options, $target);
                builder
            }
            takes_options!(@payload $payload);
        }
    };
    (@payload yes) => {
        /// The message body and its `Content-Type`.
        pub fn payload(self, body: Body) -> Self {
            self.content_type(body.content_type).body(body.bytes)
        }
    };
    (@payload no) => {};
}

takes_options!(Publish, Target::Message, payload: yes);
takes_options!(Enqueue, Target::Enqueue, payload: yes);
// The cron is a required generated parameter: filled from the options, so
// either way of giving it works.
takes_options!(CreateSchedule, Target::Schedule, payload: yes,
prepare: |b, o| match o.cron_expression() {
    Some(cron) => b.upstash_cron(cron),
    None => b,
});
takes_options!(RetryDlqMessage, Target::Retry, payload: no);
takes_options!(RetryDlqMessages, Target::Retry, payload: no);

macro_rules! takes_api {
    ($builder:ident, $example:literal) => {
        impl<'a> builder::$builder<'a> {
            /// Sends the message to a provider's API instead of a URL: sets
            /// the destination to the provider's URL, and sends with the
            /// message the provider's key and headers for QStash to forward,
            /// `Content-Type: application/json` and `Upstash-Method: POST`
            /// (unless the options set a method): the request the official
            /// SDKs send for the same call. The body is the provider's JSON
            /// request (`Body::json`); an LLM call also needs a callback,
            /// where QStash delivers the answer.
            ///
            /// `send` fails with [`Error::InvalidOption`] (option `api`),
            /// before anything is sent, when the provider's key is empty,
            /// an LLM call has no callback, the body is not JSON, a forwarded
            /// header of the options is one the provider sets, or a
            /// `.destination(...)` after this one changed where the message
            /// goes (a `.destination(...)` before it is replaced). Called
            /// again, the last provider wins.
            ///
            #[doc = $example]
            pub fn api(self, api: impl Into<crate::Api>) -> Self {
                let api = api.into();
                let mut builder = self.destination(api.destination());
                builder.request_state.api = Some(api);
                builder
            }
        }
    };
}

takes_api!(
    Publish,
    r#"```no_run
use qstash::{Analytics, Body, Callback, LlmProvider, MessageOptions};

# async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
let sent = client
    .publish()
    .api(LlmProvider::openai("sk-...").analytics(Analytics::helicone("helicone-key")))
    .payload(Body::json(&serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Write a haiku about queues"}],
    }))?)
    .options(MessageOptions::new().callback(Callback::new("https://example.com/haiku")))
    .send()
    .await?;
println!("{:?}", sent.message_id());
# Ok(()) }
```"#
);
takes_api!(
    Enqueue,
    r#"```no_run
use qstash::{Body, EmailProvider};

# async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
// Emails go out one at a time, in order, through the queue.
client
    .enqueue()
    .queue_name("emails")
    .api(EmailProvider::resend("re_..."))
    .payload(Body::json(&serde_json::json!({
        "from": "Acme <onboarding@resend.dev>",
        "to": ["delivered@resend.dev"],
        "subject": "Welcome",
        "html": "<p>Welcome aboard</p>",
    }))?)
    .send()
    .await?;
# Ok(()) }
```"#
);

/// One message of a batch: a destination (URL, URL group or provider API),
/// optionally a queue, a body and options.
///
/// ```no_run
/// use qstash::{BatchEntry, Body, MessageOptions};
///
/// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
/// let results = client
///     .batch()
///     .entries([
///         BatchEntry::new("https://example.com/a").payload(Body::text("first")),
///         BatchEntry::new("https://example.com/b")
///             .queue("orders")
///             .payload(Body::json(&serde_json::json!({"n": 2}))?)
///             .options(MessageOptions::new().retries(1).deduplication_id("b-2")),
///     ])
///     .send()
///     .await?;
/// assert_eq!(results.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct BatchEntry {
    destination: String,
    api: Option<crate::Api>,
    queue: Option<String>,
    body: Option<Body>,
    options: MessageOptions,
}

impl BatchEntry {
    /// A message to `destination`.
    pub fn new(destination: impl Into<String>) -> Self {
        Self {
            destination: destination.into(),
            api: None,
            queue: None,
            body: None,
            options: MessageOptions::new(),
        }
    }

    /// A message to a provider's API, as
    /// [`Publish::api`](crate::builder::Publish::api) sends it: the
    /// provider's URL, key and headers, a JSON body (`Body::json`), and for
    /// an LLM call a callback. The key is sent inside the batch request's
    /// body; the builder's `Debug` shows it redacted.
    ///
    /// ```no_run
    /// use qstash::{BatchEntry, Body, Callback, EmailProvider, LlmProvider, MessageOptions};
    ///
    /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
    /// let email = serde_json::json!({
    ///     "from": "Acme <onboarding@resend.dev>",
    ///     "to": ["delivered@resend.dev"],
    ///     "subject": "hello",
    ///     "html": "<p>it works</p>",
    /// });
    /// client
    ///     .batch()
    ///     .entries([
    ///         BatchEntry::api(EmailProvider::resend("re_...")).payload(Body::json(&email)?),
    ///         BatchEntry::api(LlmProvider::anthropic("sk-ant-..."))
    ///             .payload(Body::json(&serde_json::json!({
    ///                 "model": "claude-3-5-haiku-latest",
    ///                 "max_tokens": 256,
    ///                 "messages": [{"role": "user", "content": "Summarize the email"}],
    ///             }))?)
    ///             .options(MessageOptions::new().callback(Callback::new("https://example.com/summary"))),
    ///     ])
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn api(api: impl Into<crate::Api>) -> Self {
        let api = api.into();
        Self {
            destination: api.destination(),
            api: Some(api),
            queue: None,
            body: None,
            options: MessageOptions::new(),
        }
    }

    /// Enqueues the message on this queue instead of publishing it directly.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// The body (text only: batch bodies travel inside JSON).
    pub fn payload(mut self, body: Body) -> Self {
        self.body = Some(body);
        self
    }

    /// The message's options.
    pub fn options(mut self, options: MessageOptions) -> Self {
        self.options = options;
        self
    }

    /// The entry as an item of the batch body, with the names of its
    /// headers that hold a secret (a provider's key).
    fn into_item(self, index: usize) -> Result<(types::BatchBodyItem, Vec<String>), Error> {
        let at = |e: Error| match e {
            Error::InvalidOption { option, reason } => Error::InvalidOption {
                option: format!("batch entry {index}: {option}"),
                reason,
            },
            other => other,
        };
        let mut headers = std::collections::HashMap::new();
        let target = if self.queue.is_some() {
            Target::Enqueue
        } else {
            Target::Message
        };
        let mut map = self.options.to_headers(target).map_err(at)?;
        if let Some(api) = &self.api {
            // The body's content type is the message's, as on publish.
            if let Some(b) = &self.body {
                let value = HeaderValue::from_str(&b.content_type).map_err(|_| {
                    at(Error::InvalidOption {
                        option: "body".into(),
                        reason: "its content type is not a valid header value".into(),
                    })
                })?;
                map.insert(CONTENT_TYPE, value);
            }
            api.apply(&mut map).map_err(at)?;
        }
        let secret = map
            .iter()
            .filter(|(_, value)| value.is_sensitive())
            .map(|(name, _)| name.to_string())
            .collect();
        for (name, value) in map.iter() {
            let value = value.to_str().map_err(|_| {
                at(Error::InvalidOption {
                    option: name.to_string(),
                    reason: "is not visible ASCII".into(),
                })
            })?;
            headers
                .entry(name.to_string())
                .and_modify(|v: &mut String| {
                    v.push(',');
                    v.push_str(value);
                })
                .or_insert_with(|| value.to_string());
        }
        let body = match self.body {
            None => None,
            Some(b) => {
                headers.insert("content-type".into(), b.content_type);
                Some(String::from_utf8(b.bytes.to_vec()).map_err(|_| {
                    at(Error::InvalidOption {
                        option: "body".into(),
                        reason: "is not UTF-8 text (batch bodies travel inside JSON)".into(),
                    })
                })?)
            }
        };
        let item = types::BatchBodyItem {
            body,
            destination: self.destination,
            headers,
            queue: self.queue,
        };
        Ok((item, secret))
    }
}

impl<'a> builder::Batch<'a> {
    /// The messages of the batch, each with its own options, in order;
    /// `send` returns one result per entry, in the same order (a URL-group
    /// entry's result lists one message per endpoint: read each with
    /// [`messages`](types::BatchResponseItem::messages)). An invalid entry
    /// fails `send` with [`Error::InvalidOption`] naming it, before
    /// anything is sent.
    pub fn entries(mut self, entries: impl IntoIterator<Item = BatchEntry>) -> Self {
        let items = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| e.into_item(i))
            .collect::<Result<Vec<_>, _>>();
        // Called again, the last entries win.
        self.request_state.secret_body = None;
        match items {
            Ok(items) => {
                self.request_state.invalid_option = None;
                let (items, secret_body) = redact_secrets(items);
                self.request_state.secret_body = secret_body;
                self.body(items)
            }
            Err(e) => {
                self.request_state.refuse(e);
                self
            }
        }
    }
}

/// The batch body's items with their secrets redacted, and when there were
/// any, the body to send instead: the items as they are, serialized, with
/// the redacted copy's serialization to recognize it by.
fn redact_secrets(
    items: Vec<(types::BatchBodyItem, Vec<String>)>,
) -> (Vec<types::BatchBodyItem>, Option<SecretBody>) {
    if items.iter().all(|(_, secret)| secret.is_empty()) {
        return (items.into_iter().map(|(item, _)| item).collect(), None);
    }
    let full: Vec<&types::BatchBodyItem> = items.iter().map(|(item, _)| item).collect();
    let full = serde_json::to_vec(&full);
    let redacted: Vec<types::BatchBodyItem> = items
        .iter()
        .map(|(item, secret)| {
            let mut item = item.clone();
            for name in secret {
                item.headers.insert(name.clone(), REDACTED.into());
            }
            item
        })
        .collect();
    // Serializing strings cannot fail; were it to, the redacted body
    // would go and the service would refuse the key.
    let secret_body = match (full, serde_json::to_vec(&redacted)) {
        (Ok(full), Ok(shown)) => Some(SecretBody {
            full: full.into(),
            shown: shown.into(),
        }),
        _ => None,
    };
    (redacted, secret_body)
}

/// One message the service created: a publish, an enqueue or a batch entry
/// to a URL creates one, to a URL group one per endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishedMessage {
    /// ID of the message; for a deduplicated request, of the earlier one.
    pub message_id: Option<String>,
    /// The URL it is delivered to.
    pub url: Option<String>,
    /// The request matched an earlier message and was not delivered again.
    pub deduplicated: bool,
}

macro_rules! published_messages {
    ($($result:ident),*) => {$(
        impl types::$result {
            /// The id of the one message this created, for the common case
            /// of a single destination URL; `None` when the destination was
            /// a URL group (one message per endpoint: see
            /// [`messages`](Self::messages)) or the service sent no id.
            ///
            /// ```no_run
            /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
            /// let sent = client
            ///     .publish()
            ///     .destination("https://example.com/hooks/orders")
            ///     .payload(qstash::Body::text("hello"))
            ///     .send()
            ///     .await?;
            /// println!("published {:?}", sent.message_id());
            /// # Ok(()) }
            /// ```
            pub fn message_id(&self) -> Option<&str> {
                match self {
                    Self::PublishResponse(r) => r.message_id.as_deref(),
                    Self::Array(_) => None,
                }
            }

            /// Every message this created, in the service's order: one for a
            /// URL, one per endpoint for a URL group.
            ///
            /// ```no_run
            /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
            /// let sent = client
            ///     .publish()
            ///     .destination("my-url-group")
            ///     .payload(qstash::Body::text("hello"))
            ///     .send()
            ///     .await?;
            /// for message in sent.messages() {
            ///     println!("{:?} -> {:?}", message.message_id, message.url);
            /// }
            /// # Ok(()) }
            /// ```
            pub fn messages(&self) -> Vec<PublishedMessage> {
                match self {
                    Self::PublishResponse(r) => vec![PublishedMessage {
                        message_id: r.message_id.clone(),
                        url: r.url.clone(),
                        deduplicated: r.deduplicated.unwrap_or(false),
                    }],
                    Self::Array(endpoints) => endpoints
                        .iter()
                        .map(|r| PublishedMessage {
                            message_id: r.message_id.clone(),
                            url: r.url.clone(),
                            deduplicated: r.deduplicated.unwrap_or(false),
                        })
                        .collect(),
                }
            }
        }
    )*};
}

published_messages!(PublishResult, EnqueueResponse, BatchResponseItem);

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> crate::Client {
        crate::Client::builder()
            .token("t0ken-value")
            .build()
            .unwrap()
    }

    #[test]
    fn only_a_batch_with_a_provider_key_has_a_body_to_swap_in() {
        let c = client();
        let plain = c
            .batch()
            .entries([BatchEntry::new("https://example.com/a")]);
        assert!(plain.request_state.secret_body.is_none());
        let keyed = c
            .batch()
            .entries([BatchEntry::api(crate::EmailProvider::resend("re-key-1"))]);
        // The builder's Debug shows neither the key nor the body holding it.
        let shown = format!("{keyed:?}");
        assert!(!shown.contains("re-key-1"), "{shown}");
        assert!(shown.contains("secret_body: Some(<redacted>)"), "{shown}");
        let body = keyed.request_state.secret_body.as_ref().unwrap();
        let full: serde_json::Value = serde_json::from_slice(&body.full).unwrap();
        let shown: serde_json::Value = serde_json::from_slice(&body.shown).unwrap();
        let key = "/0/headers/upstash-forward-authorization";
        assert_eq!(full.pointer(key).unwrap(), "Bearer re-key-1");
        assert_eq!(shown.pointer(key).unwrap(), REDACTED);
        let mut unkeyed = full.clone();
        *unkeyed.pointer_mut(key).unwrap() = REDACTED.into();
        assert_eq!(unkeyed, shown);
        // The last entries win, the swap with them.
        let replaced = keyed.entries([BatchEntry::new("https://example.com/a")]);
        assert!(replaced.request_state.secret_body.is_none());
    }
}
