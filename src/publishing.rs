//! Typed options on the generated publish, enqueue, schedule, batch and DLQ
//! retry builders.
//!
//! The generated builders cannot send the wildcard header families, so
//! [`options`](crate::builder::Publish::options) wraps a builder: when sent,
//! the options are checked (an invalid one fails before any request), turned
//! into headers, and added to that one request by the client's hook.

use std::future::Future;

use progenitor_client::ResponseValue;
use reqwest::header::HeaderMap;

use crate::Error;
use crate::generated::{builder, types};
use crate::message::{Body, MessageOptions, Target};

tokio::task_local! {
    /// Headers the request hook adds to the requests sent in this scope.
    pub(crate) static EXTRA_HEADERS: HeaderMap;
}

/// Adds `headers` to every request `future` sends.
pub(crate) async fn with_headers<F: Future>(headers: HeaderMap, future: F) -> F::Output {
    EXTRA_HEADERS.scope(headers, future).await
}

mod sealed {
    use super::*;

    /// A generated request builder that takes [`MessageOptions`].
    pub trait TakesOptions: Sized {
        /// The success body.
        type Output;
        fn send_request(
            self,
        ) -> impl Future<Output = Result<ResponseValue<Self::Output>, Error>> + Send;
    }
}
use sealed::TakesOptions;

/// A request with its message options; made by `.options(...)` on the
/// publish, enqueue, create schedule and DLQ retry builders.
///
/// ```no_run
/// use std::time::Duration;
/// use qstash::{Body, MessageOptions};
///
/// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
/// // Publish with a delay and a label (a delay on enqueue is refused: the
/// // service does not take one there).
/// client
///     .publish()
///     .destination("https://example.com/send-email")
///     .payload(Body::text("welcome"))
///     .options(MessageOptions::new().delay(Duration::from_secs(300)).label("onboarding"))
///     .send()
///     .await?;
///
/// // A schedule: every day at 03:00, with a fixed id (creating it again updates it).
/// client
///     .create_schedule()
///     .destination("https://example.com/nightly-report")
///     .payload(Body::json(&serde_json::json!({"report": "daily"}))?)
///     .options(MessageOptions::new().cron("0 3 * * *").schedule_id("nightly-report").retries(1))
///     .send()
///     .await?;
///
/// // Retry a dead-lettered message with fewer delivery retries this time.
/// client
///     .retry_dlq_message()
///     .dlq_id("dlq_123")
///     .options(MessageOptions::new().retries(0))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct WithOptions<B> {
    builder: B,
    options: MessageOptions,
    target: Target,
}

impl<B: TakesOptions> WithOptions<B> {
    /// Checks the options and sends the request with them.
    pub async fn send(self) -> Result<ResponseValue<B::Output>, Error> {
        let headers = self.options.to_headers(self.target)?;
        with_headers(headers, self.builder.send_request()).await
    }
}

impl<'a> WithOptions<builder::RetryDlqMessages<'a>> {
    /// Checks the options and retries every matching DLQ message with them;
    /// see [`send_all`](crate::builder::RetryDlqMessages::send_all).
    pub async fn send_all(self) -> Result<Vec<types::PublishResponse>, Error> {
        let headers = self.options.to_headers(Target::Retry)?;
        with_headers(headers, self.builder.send_all()).await
    }
}

impl<'a> TakesOptions for crate::Everything<builder::RetryDlqMessages<'a>> {
    type Output = types::RetryDlqMessagesResponse;
    fn send_request(
        self,
    ) -> impl Future<Output = Result<ResponseValue<Self::Output>, Error>> + Send {
        crate::bulk::BulkRequest::send_request(self)
    }
}

impl<'a> crate::Everything<builder::RetryDlqMessages<'a>> {
    /// Overrides of the retried messages' settings, checked and sent as
    /// headers on every call.
    pub fn options(self, options: MessageOptions) -> WithOptions<Self> {
        WithOptions {
            builder: self,
            options,
            target: Target::Retry,
        }
    }
}

impl<'a> WithOptions<crate::Everything<builder::RetryDlqMessages<'a>>> {
    /// Checks the options and retries every DLQ message with them.
    pub async fn send_all(self) -> Result<Vec<types::PublishResponse>, Error> {
        let headers = self.options.to_headers(Target::Retry)?;
        with_headers(headers, self.builder.send_all()).await
    }
}

macro_rules! takes_options {
    ($builder:ident, $output:ty, $target:expr, payload: $payload:tt) => {
        takes_options!($builder, $output, $target, payload: $payload, prepare: |b, _o| b);
    };
    ($builder:ident, $output:ty, $target:expr, payload: $payload:tt, prepare: |$b:ident, $o:ident| $prepare:expr) => {
        impl<'a> TakesOptions for builder::$builder<'a> {
            type Output = $output;
            fn send_request(self) -> impl Future<Output = Result<ResponseValue<Self::Output>, Error>> + Send {
                self.send()
            }
        }

        impl<'a> builder::$builder<'a> {
            /// Message options (delay, retries, callbacks, forwarded headers, ...),
            /// checked and sent as headers by `.send()`.
            pub fn options(self, options: MessageOptions) -> WithOptions<Self> {
                let $b = self;
                let $o = &options;
                let builder = $prepare;
                WithOptions { builder, options, target: $target }
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

takes_options!(Publish, types::PublishResult, Target::Message, payload: yes);
takes_options!(Enqueue, types::EnqueueResponse, Target::Enqueue, payload: yes);
// The cron is a required generated parameter: filled from the options, so
// either way of giving it works.
takes_options!(CreateSchedule, types::CreateScheduleResponse, Target::Schedule, payload: yes,
prepare: |b, o| match o.cron_expression() {
    Some(cron) => b.upstash_cron(cron),
    None => b,
});
takes_options!(RetryDlqMessage, types::PublishResponse, Target::Retry, payload: no);
takes_options!(RetryDlqMessages, types::RetryDlqMessagesResponse, Target::Retry, payload: no);

/// One message of a batch: a destination (URL or URL group), optionally a
/// queue, a body and options.
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
    queue: Option<String>,
    body: Option<Body>,
    options: MessageOptions,
}

impl BatchEntry {
    /// A message to `destination`.
    pub fn new(destination: impl Into<String>) -> Self {
        Self {
            destination: destination.into(),
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

    fn into_item(self, index: usize) -> Result<types::BatchBodyItem, Error> {
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
        for (name, value) in self.options.to_headers(target).map_err(at)?.iter() {
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
        Ok(types::BatchBodyItem {
            body,
            destination: self.destination,
            headers,
            queue: self.queue,
        })
    }
}

/// A batch with its entries; made by [`builder::Batch::entries`].
#[derive(Debug, Clone)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct WithEntries<'a> {
    builder: builder::Batch<'a>,
    entries: Vec<BatchEntry>,
}

impl<'a> builder::Batch<'a> {
    /// The messages of the batch, each with its own options.
    pub fn entries(self, entries: impl IntoIterator<Item = BatchEntry>) -> WithEntries<'a> {
        WithEntries {
            builder: self,
            entries: entries.into_iter().collect(),
        }
    }
}

impl WithEntries<'_> {
    /// Checks every entry and sends the batch; returns one result per
    /// entry, in order.
    /// A URL-group entry's result lists one message per endpoint: read
    /// each with [`messages`](types::BatchResponseItem::messages).
    pub async fn send(self) -> Result<Vec<types::BatchResponseItem>, Error> {
        let items = self
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| e.into_item(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.builder.body(items).send().await?.into_inner())
    }
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
            /// Every message this created, in the service's order: one for a
            /// URL, one per endpoint for a URL group.
            ///
            /// ```no_run
            /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
            /// let sent = client.publish().destination("my-url-group").send().await?;
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
