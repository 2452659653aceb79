//! Following `cursor` through every page.
//!
//! Every operation that takes a `cursor` query parameter and returns a
//! `cursor` field is paginated; which ones they are is read from the spec at
//! build time, and their builders get [`pages`](Pages), `stream` and
//! `collect_all`. The stream sends the same filters on every page, holds one
//! page in memory at a time, stops when the server returns no cursor (absent
//! or empty), and ends with [`Error::RepeatedCursor`] instead of looping when
//! the server repeats one.
//!
//! ```no_run
//! use futures::TryStreamExt;
//!
//! # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
//! let mut messages = client.list_dlq_messages().label("billing").stream();
//! while let Some(message) = messages.try_next().await? {
//!     println!("{:?}", message.message_id);
//! }
//!
//! // At most 5 pages, then resume later from where it stopped.
//! let mut pages = client.list_logs().pages().max_pages(5);
//! while let Some(page) = pages.try_next().await? {
//!     println!("{} log entries", page.logs.len());
//! }
//! let resume_from = pages.next_cursor();
//! # let _ = resume_from;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use progenitor_client::ResponseValue;

use crate::Error;

mod sealed {
    /// Only the generated builders and pages implement the pagination
    /// traits.
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// A request builder of a paginated operation (implemented by generated
/// code; sealed).
///
/// The trait has no lifetime parameter (the builder's borrow of the client
/// lives in [`Future`](Self::Future)), so that futures and streams over it
/// are `Send` and can be spawned.
pub trait CursorRequest: Sealed + Clone + Send + Sized {
    /// The operation's method name, for errors.
    const OPERATION: &'static str;
    /// One page of the response.
    type Page: Page + Send;
    /// The future of one page request.
    type Future: Future<Output = Result<ResponseValue<Self::Page>, Error>> + Send + Unpin;
    /// The same request, continuing from `cursor`.
    fn with_cursor(self, cursor: &str) -> Self;
    /// Sends the request.
    fn send_page(self) -> Self::Future;
}

/// A response page that may point to the next one.
pub trait Page: Sealed {
    /// The cursor of the next page; `None` (absent or empty) on the last page.
    fn next_cursor(&self) -> Option<&str>;
}

/// A page that carries a list of items.
pub trait Items: Sealed {
    /// One item.
    type Item;
    /// The page's items.
    fn into_items(self) -> Vec<Self::Item>;
}

/// Notices a server that sends back a cursor it sent before, in constant
/// memory (Brent's cycle detection): a loop of `n` cursors is caught within
/// about `2n` pages of entering it, however many pages came before.
#[derive(Debug)]
pub(crate) struct CycleGuard {
    checkpoint: Option<String>,
    power: usize,
    steps: usize,
}

impl CycleGuard {
    pub(crate) fn new() -> Self {
        Self {
            checkpoint: None,
            power: 1,
            steps: 0,
        }
    }

    /// Records the next cursor; `false` when following it would loop.
    pub(crate) fn admit(&mut self, cursor: &str) -> bool {
        if self.checkpoint.as_deref() == Some(cursor) {
            return false;
        }
        self.steps += 1;
        if self.steps == self.power {
            self.checkpoint = Some(cursor.to_owned());
            self.power = self.power.saturating_mul(2);
            self.steps = 0;
        }
        true
    }
}

enum State<F> {
    Ready(Option<String>),
    Fetching(F),
    Failed(Error),
    Done,
}

/// A stream of the pages of a paginated request.
#[must_use = "streams do nothing unless polled"]
pub struct Pages<R: CursorRequest> {
    request: R,
    state: State<R::Future>,
    guard: CycleGuard,
    fetched: usize,
    max_pages: Option<usize>,
    next_cursor: Option<String>,
}

impl<R: CursorRequest> Pages<R> {
    /// Pages of `request`, starting from its own cursor if it has one.
    pub fn new(request: R) -> Self {
        Self {
            request,
            state: State::Ready(None),
            guard: CycleGuard::new(),
            fetched: 0,
            max_pages: None,
            next_cursor: None,
        }
    }

    /// Stops after `n` pages, without error; [`next_cursor`](Self::next_cursor)
    /// then tells where to resume.
    pub fn max_pages(mut self, n: usize) -> Self {
        self.max_pages = Some(n);
        self
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> usize {
        self.fetched
    }

    /// The cursor the last page returned: where a stopped stream would go on.
    pub fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }

    /// The items of every page, one page in memory at a time.
    pub fn items(self) -> ItemStream<R>
    where
        R::Page: Items,
    {
        ItemStream {
            pages: self,
            current: Vec::new().into_iter(),
        }
    }

    /// Every item of every page, collected.
    pub async fn collect_items(self) -> Result<Vec<<R::Page as Items>::Item>, Error>
    where
        R::Page: Items,
    {
        use futures_util::TryStreamExt;
        self.items().try_collect().await
    }
}

impl<R: CursorRequest> Unpin for Pages<R> {}

impl<R: CursorRequest> Stream for Pages<R> {
    type Item = Result<R::Page, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Failed(_) => {
                    let State::Failed(e) = std::mem::replace(&mut this.state, State::Done) else {
                        unreachable!()
                    };
                    return Poll::Ready(Some(Err(e)));
                }
                State::Ready(cursor) => {
                    if this.max_pages.is_some_and(|max| this.fetched >= max) {
                        this.state = State::Done;
                        return Poll::Ready(None);
                    }
                    let request = match cursor.take() {
                        Some(c) => this.request.clone().with_cursor(&c),
                        None => this.request.clone(),
                    };
                    this.state = State::Fetching(request.send_page());
                }
                State::Fetching(future) => {
                    let result = match Pin::new(future).poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(r) => r,
                    };
                    let page = match result {
                        Ok(page) => page.into_inner(),
                        Err(e) => {
                            this.state = State::Done;
                            return Poll::Ready(Some(Err(e)));
                        }
                    };
                    this.fetched += 1;
                    this.next_cursor = page.next_cursor().map(str::to_owned);
                    this.state = match &this.next_cursor {
                        None => State::Done,
                        Some(c) if !this.guard.admit(c) => State::Failed(Error::RepeatedCursor {
                            operation: R::OPERATION,
                            page: this.fetched,
                        }),
                        Some(c) => State::Ready(Some(c.clone())),
                    };
                    return Poll::Ready(Some(Ok(page)));
                }
            }
        }
    }
}

/// A stream of the items of every page.
#[must_use = "streams do nothing unless polled"]
pub struct ItemStream<R: CursorRequest>
where
    R::Page: Items,
{
    pages: Pages<R>,
    current: std::vec::IntoIter<<R::Page as Items>::Item>,
}

impl<R: CursorRequest> ItemStream<R>
where
    R::Page: Items,
{
    /// The page stream underneath (page count, next cursor).
    pub fn pages(&self) -> &Pages<R> {
        &self.pages
    }
}

impl<R: CursorRequest> Unpin for ItemStream<R> where R::Page: Items {}

impl<R: CursorRequest> Stream for ItemStream<R>
where
    R::Page: Items,
{
    type Item = Result<<R::Page as Items>::Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.current.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            // Free the spent page before the next one is parsed, so that only
            // one page is ever held (an empty Vec does not allocate).
            this.current = Vec::new().into_iter();
            match Pin::new(&mut this.pages).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(page))) => this.current = page.into_items().into_iter(),
            }
        }
    }
}

#[cfg(test)]
mod guard_tests {
    use super::CycleGuard;

    /// The page at which the guard stops a cursor sequence, if it does.
    fn stops_at(cursors: &[&str]) -> Option<usize> {
        let mut g = CycleGuard::new();
        cursors.iter().position(|c| !g.admit(c)).map(|i| i + 1)
    }

    #[test]
    fn a_repeated_cursor_is_caught_at_once() {
        assert_eq!(stops_at(&["a", "a"]), Some(2));
        assert_eq!(stops_at(&["a", "b", "a"]), Some(3));
    }

    #[test]
    fn longer_loops_are_caught_within_twice_their_length() {
        let looped: Vec<String> = (0..40).map(|i| format!("c{}", 5 + i % 7)).collect();
        let mut seq: Vec<&str> = vec!["x1", "x2", "x3", "x4", "x5"];
        seq.extend(looped.iter().map(String::as_str));
        let at = stops_at(&seq).expect("a loop is caught");
        assert!(at <= 5 + 2 * 7 + 7, "caught at {at}");
    }

    #[test]
    fn distinct_cursors_pass() {
        let seq: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
        let refs: Vec<&str> = seq.iter().map(String::as_str).collect();
        assert_eq!(stops_at(&refs), None);
    }
}
