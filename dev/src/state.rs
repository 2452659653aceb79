//! What the HTTP handlers, the dispatcher and the scheduler share.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::route::Route;
use crate::store::Store;

/// The store behind a lock, and the wake-ups of the background tasks.
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
    /// Where deliveries to some origins go instead.
    pub(crate) routes: Vec<Route>,
    /// How long deliveries in flight may run on once the server stops.
    pub(crate) shutdown_grace: Duration,
    /// `true` once the server stops: no request is served any more and no
    /// delivery started.
    stopping: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(store: Store, http: reqwest::Client, token: String) -> Self {
        Self {
            store: Mutex::new(store),
            dispatch: Notify::new(),
            schedules_changed: Notify::new(),
            http,
            token,
            routes: Vec::new(),
            shutdown_grace: Duration::from_secs(5),
            stopping: watch::Sender::new(false),
        }
    }

    /// The store. Never held across an `.await`.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts stopping (at once for the API; the dispatcher lets its
    /// deliveries finish within the grace period).
    pub(crate) fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Whether [`stop`](Self::stop) was called.
    pub(crate) fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once [`stop`](Self::stop) is called.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        // `Err` only if the sender is gone, which `&self` rules out.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

/// Without the token, and without the store (messages, keys): this may end
/// up in a log.
impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("token", &"<redacted>")
            .field("routes", &self.routes)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("stopping", &self.is_stopping())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn debug_shows_neither_the_token_nor_the_keys() {
        let server = crate::Server::builder()
            .token("TOKENSECRET")
            .signing_keys("sig_CURRENTSECRET", "sig_NEXTSECRET")
            .start()
            .await
            .unwrap();
        let shared = &server.shared;
        let text = format!("{shared:?} {shared:#?}");
        for secret in ["TOKENSECRET", "CURRENTSECRET", "NEXTSECRET"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("<redacted>"), "{text}");
        assert!(text.contains("stopping: false"), "{text}");
        shared.stop();
        assert!(format!("{shared:?}").contains("stopping: true"));
    }
}
