//! Bulk DLQ operations that work in batches: loop until the server says the
//! work is done.

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
    /// Retries every DLQ message matching the filters. The server retries a
    /// batch per request and returns a cursor while matching messages remain
    /// (retried ones leave the DLQ), so the same request is repeated until no
    /// cursor comes back. Returns the publish response of every retry.
    ///
    /// A server that returns the same cursor twice ends the loop with
    /// [`Error::RepeatedCursor`].
    pub async fn send_all(self) -> Result<Vec<types::PublishResponse>, Error> {
        let mut out = Vec::new();
        let mut guard = crate::pagination::CycleGuard::new();
        for page_number in 1usize.. {
            let page = self.clone().send().await?.into_inner();
            out.extend(page.responses);
            match page.cursor.filter(|c| !c.is_empty()) {
                None => break,
                Some(c) if !guard.admit(&c) => {
                    return Err(Error::RepeatedCursor {
                        operation: "retry_dlq_messages",
                        page: page_number,
                    });
                }
                Some(_) => {}
            }
        }
        Ok(out)
    }
}
