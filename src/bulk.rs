//! Bulk operations that work in batches: repeat the call until the server
//! says the work is done.

use futures::TryStreamExt;

use crate::Error;
use crate::generated::{builder, types};

impl<'a> builder::DeleteDlqMessages<'a> {
    /// Deletes every DLQ message matching the filters, following `cursor`
    /// batch after batch; returns how many were deleted in all.
    ///
    /// ```no_run
    /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
    /// let deleted = client.delete_dlq_messages().label("old").send_all().await?;
    /// println!("{deleted} messages deleted");
    /// # Ok(()) }
    /// ```
    pub async fn send_all(self) -> Result<u64, Error> {
        self.pages()
            .try_fold(0u64, |total, page| async move {
                Ok(total + page.deleted.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
            })
            .await
    }
}

impl<'a> builder::RetryDlqMessages<'a> {
    /// Retries every DLQ message matching the filters. The server retries
    /// up to `count` messages per call and returns a cursor while more
    /// remain; the cursor is passed back on the next call until none comes
    /// back. Returns the publish response of every retry.
    ///
    /// A server that returns the same cursor twice ends the loop with
    /// [`Error::RepeatedCursor`].
    ///
    /// ```no_run
    /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
    /// let retried = client.retry_dlq_messages().queue_name("orders").count(50).send_all().await?;
    /// println!("{} messages published again", retried.len());
    /// # Ok(()) }
    /// ```
    pub async fn send_all(self) -> Result<Vec<types::PublishResponse>, Error> {
        self.collect_all().await
    }
}

impl<'a> builder::CancelMessages<'a> {
    /// Cancels every message matching the filters (or ids). The service
    /// cancels up to `count` messages per call, so the call is repeated
    /// until it cancels none; returns how many were cancelled in all.
    ///
    /// With `async_(true)` the service starts a background bulk action and
    /// answers with its `actionId`: there is nothing to repeat, so the loop
    /// stops after that call.
    ///
    /// ```no_run
    /// # async fn run(client: qstash::Client) -> Result<(), qstash::Error> {
    /// let cancelled = client.cancel_messages().queue_name("orders").count(100).send_all().await?;
    /// println!("{cancelled} messages cancelled");
    /// # Ok(()) }
    /// ```
    pub async fn send_all(self) -> Result<u64, Error> {
        let mut total = 0u64;
        loop {
            let page = self.clone().send().await?.into_inner();
            let cancelled = page.cancelled.map_or(0, |n| u64::try_from(n).unwrap_or(0));
            total += cancelled;
            if cancelled == 0 || started_a_bulk_action(&page) {
                return Ok(total);
            }
        }
    }
}

/// Whether a cancel answer carries an `actionId` (the service started a
/// background bulk action). Read through serde: older descriptions of the
/// API have no such field, and the layer builds from every version.
fn started_a_bulk_action(page: &types::CancelMessagesResponse) -> bool {
    serde_json::to_value(page).is_ok_and(|v| v.get("actionId").is_some_and(|id| !id.is_null()))
}
