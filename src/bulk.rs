//! Bulk operations: acting on everything only when asked, and the loops
//! that repeat a bulk call until the service has nothing left to do.
//!
//! `DELETE /v2/dlq`, `POST /v2/dlq/retry` and `DELETE /v2/messages`, and of
//! the workflow API `DELETE /v2/workflows/runs`, `DELETE /v2/workflows/dlq`,
//! `POST /v2/workflows/dlq/resume` and `POST /v2/workflows/dlq/restart` (the
//! names tables' `bulk` lists) act on every item their filters match, and on
//! every item at all without a filter. The client refuses to send them
//! without a filter unless the caller asks for everything with `.all()`,
//! which sends `count` (100, the service's default, unless set) so that the
//! request says so on the wire too:
//!
//! ```no_run
//! # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
//! // Only what the filter selects.
//! client.delete_dlq_messages().queue_name("orders").send_all().await?;
//! // Everything, on purpose.
//! let emptied = client.delete_dlq_messages().all().send_all().await?;
//! println!("{emptied} messages deleted");
//! # Ok(()) }
//! ```
//!
//! The bulk resume and restart of the workflow DLQ act on a batch of runs a
//! call (`count`; a restart at most 50) and answer a cursor with the runs
//! they started: `send()` makes one
//! call, and `send_all()` follows the cursor until the service gives none
//! (or a call starts no run), returning every new run. A bulk cancel of runs
//! has no cursor: `send_all()` calls again until a call cancels none (runs
//! that cannot be cancelled yet are skipped, so a later call may cancel
//! more).

use futures_util::TryStreamExt;

use crate::Error;
use crate::generated::{builder, types};
use crate::pagination::{CursorRequest, Pages};

/// What a bulk loop did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkProgress<T> {
    /// What the calls did: how many messages were deleted or cancelled, or
    /// the publish response of every retried message.
    pub done: T,
    /// Calls made.
    pub calls: usize,
    /// `true` when the service had nothing left to do; `false` when the
    /// loop stopped at its call limit.
    pub finished: bool,
    /// The cursor the last call returned, to go on from where a stopped loop
    /// ended (operations that page with a cursor).
    pub next_cursor: Option<String>,
}

fn count(n: Option<i64>) -> u64 {
    n.map_or(0, |n| u64::try_from(n).unwrap_or(0))
}

/// Pages through `request` for at most `max_calls` calls, adding up what
/// each page did with `add`, which says how much it did; stops early when a
/// page did nothing.
async fn page_loop<R, T>(
    request: R,
    max_calls: usize,
    mut done: T,
    add: impl Fn(&mut T, R::Page) -> usize,
) -> Result<BulkProgress<T>, Error>
where
    R: CursorRequest,
{
    let mut pages = Pages::new(request).max_pages(max_calls);
    let mut calls = 0;
    while let Some(page) = pages.try_next().await? {
        calls += 1;
        if add(&mut done, page) == 0 {
            return Ok(BulkProgress {
                done,
                calls,
                finished: true,
                next_cursor: pages.next_cursor().map(str::to_owned),
            });
        }
    }
    let next_cursor = pages.next_cursor().map(str::to_owned);
    Ok(BulkProgress {
        done,
        calls,
        finished: next_cursor.is_none(),
        next_cursor,
    })
}

/// [`page_loop`] adding up the count each page reports (how many it
/// deleted, ...).
async fn count_loop<R>(
    request: R,
    max_calls: usize,
    counted: impl Fn(R::Page) -> Option<i64>,
) -> Result<BulkProgress<u64>, Error>
where
    R: CursorRequest,
{
    page_loop(request, max_calls, 0u64, |total, page| {
        let n = count(counted(page));
        *total += n;
        usize::try_from(n).unwrap_or(usize::MAX)
    })
    .await
}

/// [`page_loop`] collecting the items each page lists (the messages it
/// retried, the runs it resumed, ...).
async fn items_loop<R, I>(
    request: R,
    max_calls: usize,
    items: impl Fn(R::Page) -> Vec<I>,
) -> Result<BulkProgress<Vec<I>>, Error>
where
    R: CursorRequest,
{
    page_loop(request, max_calls, Vec::new(), |all, page| {
        let items = items(page);
        let n = items.len();
        all.extend(items);
        n
    })
    .await
}

async fn delete_loop<R>(request: R, max_calls: usize) -> Result<BulkProgress<u64>, Error>
where
    R: CursorRequest<Page = types::DeleteDlqMessagesResponse>,
{
    count_loop(request, max_calls, |page| page.deleted).await
}

async fn retry_loop<R>(
    request: R,
    max_calls: usize,
) -> Result<BulkProgress<Vec<types::PublishResponse>>, Error>
where
    R: CursorRequest<Page = types::RetryDlqMessagesResponse>,
{
    items_loop(request, max_calls, |page| page.responses).await
}

async fn delete_workflow_loop<R>(request: R, max_calls: usize) -> Result<BulkProgress<u64>, Error>
where
    R: CursorRequest<Page = types::DeleteWorkflowDlqEntriesResponse>,
{
    count_loop(request, max_calls, |page| page.deleted).await
}

async fn resume_workflow_loop(
    request: builder::ResumeWorkflowDlqEntries<'_>,
    max_calls: usize,
) -> Result<BulkProgress<Vec<types::ResumeWorkflowDlqEntriesResponseWorkflowRunsItem>>, Error> {
    items_loop(request, max_calls, |page| page.workflow_runs).await
}

async fn restart_workflow_loop(
    request: builder::RestartWorkflowDlqEntries<'_>,
    max_calls: usize,
) -> Result<BulkProgress<Vec<types::RestartWorkflowDlqEntriesResponseWorkflowRunsItem>>, Error> {
    items_loop(request, max_calls, |page| page.workflow_runs).await
}

/// Calls again (`call`) for at most `max_calls` calls, adding up what each
/// answer says it cancelled, until one cancelled nothing or `ends` says the
/// answer ends the loop.
async fn cancel_until_none<P, F, Fut>(
    max_calls: usize,
    mut call: F,
    cancelled: impl Fn(&P) -> Option<i64>,
    ends: impl Fn(&P) -> bool,
) -> Result<BulkProgress<u64>, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<crate::ResponseValue<P>, Error>>,
{
    let mut progress = BulkProgress {
        done: 0u64,
        calls: 0,
        finished: false,
        next_cursor: None,
    };
    while progress.calls < max_calls {
        let page = call().await?.into_inner();
        progress.calls += 1;
        let n = count(cancelled(&page));
        progress.done += n;
        if n == 0 || ends(&page) {
            progress.finished = true;
            break;
        }
    }
    Ok(progress)
}

async fn cancel_workflow_loop(
    request: builder::CancelWorkflowRuns<'_>,
    max_calls: usize,
) -> Result<BulkProgress<u64>, Error> {
    cancel_until_none(
        max_calls,
        || request.clone().send(),
        |page| page.cancelled,
        |_| false,
    )
    .await
}

async fn cancel_loop(
    request: builder::CancelMessages<'_>,
    max_calls: usize,
) -> Result<BulkProgress<u64>, Error> {
    // With `async_(true)` the service starts a background bulk action
    // and answers at once: the loop stops there.
    cancel_until_none(
        max_calls,
        || request.clone().send(),
        |page| page.cancelled,
        started_a_bulk_action,
    )
    .await
}

fn started_a_bulk_action(page: &types::CancelMessagesResponse) -> bool {
    serde_json::to_value(page).is_ok_and(|v| v.get("actionId").is_some_and(|id| !id.is_null()))
}

macro_rules! bulk_loop {
    ($builder:ident, $done:ty, $loop:ident, $what:literal, $example:literal) => {
        impl<'a> builder::$builder<'a> {
            #[doc = concat!("Repeats the call until the service has nothing left to do: ", $what, " Returns ", stringify!($done), " in all.")]
            ///
            /// A filter is required, or [`all`](Self::all) to act on every
            /// item; options and `.all()` set on the builder go with every
            /// call. The loop also stops at a call that did nothing, and
            /// with [`Error::RepeatedCursor`] if the service repeats a cursor.
            ///
            /// ```no_run
            /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
            #[doc = $example]
            /// # Ok(()) }
            /// ```
            pub async fn send_all(self) -> Result<$done, Error> {
                Ok($loop(self, usize::MAX).await?.done)
            }

            /// [`send_all`](Self::send_all) with at most `max_calls` calls;
            /// the progress says whether the service had nothing left to do.
            pub async fn send_all_max(self, max_calls: usize) -> Result<BulkProgress<$done>, Error> {
                $loop(self, max_calls).await
            }
        }
    };
}

bulk_loop!(
    DeleteDlqMessages,
    u64,
    delete_loop,
    "deletes the matching DLQ messages batch after batch, passing the returned cursor back.",
    "let deleted = client.delete_dlq_messages().label(\"old\").send_all().await?;"
);
bulk_loop!(
    RetryDlqMessages,
    Vec<types::PublishResponse>,
    retry_loop,
    "retries up to `count` matching DLQ messages per call, passing the returned cursor back.",
    "let retried = client.retry_dlq_messages().queue_name(\"orders\").count(50).send_all().await?;"
);
bulk_loop!(
    CancelMessages,
    u64,
    cancel_loop,
    "cancels up to `count` matching messages per call, until a call cancels none. With `async_(true)` the service starts a background bulk action instead, and the loop stops after that call.",
    "let cancelled = client.cancel_messages().queue_name(\"orders\").send_all().await?;"
);
bulk_loop!(
    DeleteWorkflowDlqEntries,
    u64,
    delete_workflow_loop,
    "deletes the matching workflow DLQ entries batch after batch, passing the returned cursor back.",
    "let deleted = client.delete_workflow_dlq_entries().label(\"old\").send_all().await?;"
);
bulk_loop!(
    ResumeWorkflowDlqEntries,
    Vec<types::ResumeWorkflowDlqEntriesResponseWorkflowRunsItem>,
    resume_workflow_loop,
    "resumes the matching failed runs batch after batch (`count` a call), passing the returned cursor back; gives every resumed run.",
    "let resumed = client.resume_workflow_dlq_entries().label(\"billing\").send_all().await?;"
);
bulk_loop!(
    RestartWorkflowDlqEntries,
    Vec<types::RestartWorkflowDlqEntriesResponseWorkflowRunsItem>,
    restart_workflow_loop,
    "restarts the matching failed runs from their first step, at most 50 per call, passing the returned cursor back; gives every new run.",
    "let restarted = client.restart_workflow_dlq_entries().all().send_all().await?;"
);
bulk_loop!(
    CancelWorkflowRuns,
    u64,
    cancel_workflow_loop,
    "cancels up to `count` matching runs per call, until a call cancels none.",
    "let cancelled = client.cancel_workflow_runs().label(\"nightly\").send_all().await?;"
);
