//! What the HTTP handlers, the dispatcher and the scheduler share.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::store::Store;

/// The store behind a lock, and the wake-ups of the background tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    store: Mutex<Store>,
    /// Something may have become deliverable.
    pub(crate) dispatch: Notify,
    /// A schedule was created, changed or removed.
    pub(crate) schedules_changed: Notify,
    /// The client deliveries are made with.
    pub(crate) http: reqwest::Client,
    /// The API token.
    pub(crate) token: String,
}

impl Shared {
    pub(crate) fn new(store: Store, http: reqwest::Client, token: String) -> Self {
        Self {
            store: Mutex::new(store),
            dispatch: Notify::new(),
            schedules_changed: Notify::new(),
            http,
            token,
        }
    }

    /// The store. Never held across an `.await`.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
