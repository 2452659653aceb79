//! Starting and stopping the server.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{Config, Limits};
use crate::error::Error;
use crate::signing::SigningKeys;
use crate::state::Shared;
use crate::store::Store;
use crate::{api, delivery, ids, scheduler};

/// Port used when none is configured.
pub const DEFAULT_PORT: u16 = 8080;

/// Longest a delivery may take unless the message sets `Upstash-Timeout`.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running development server on `127.0.0.1`.
///
/// Dropping it stops the server: the listener, the dispatcher, the
/// scheduler and every delivery in flight.
///
/// ```no_run
/// # async fn run() -> Result<(), qstash_dev::Error> {
/// let server = qstash_dev::Server::builder().port(0).start().await?;
/// println!("QStash at {} with token {}", server.url(), server.token());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    url: String,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts a server with the default settings on a free port.
    ///
    /// # Errors
    ///
    /// [`Error`] if the socket cannot be bound or the HTTP client for
    /// deliveries cannot be built.
    pub async fn start() -> Result<Self, Error> {
        Self::builder().port(0).start().await
    }

    /// Configures a server (port [`DEFAULT_PORT`] unless changed).
    #[must_use]
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The base URL of the API, e.g. `http://127.0.0.1:8080`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token every request must carry.
    #[must_use]
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The key deliveries are signed with now.
    #[must_use]
    pub fn current_signing_key(&self) -> String {
        self.shared.lock().keys.current.clone()
    }

    /// The key that becomes current on the next rotation.
    #[must_use]
    pub fn next_signing_key(&self) -> String {
        self.shared.lock().keys.next.clone()
    }

    /// `NAME=value` lines for a shell or a `.env` file: `QSTASH_URL`,
    /// `QSTASH_TOKEN`, `QSTASH_CURRENT_SIGNING_KEY`, `QSTASH_NEXT_SIGNING_KEY`.
    #[must_use]
    pub fn env_lines(&self) -> Vec<String> {
        vec![
            format!("QSTASH_URL={}", self.url),
            format!("QSTASH_TOKEN={}", self.token()),
            format!("QSTASH_CURRENT_SIGNING_KEY={}", self.current_signing_key()),
            format!("QSTASH_NEXT_SIGNING_KEY={}", self.next_signing_key()),
        ]
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Settings of a [`Server`]; made by [`Server::builder`].
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    port: u16,
    token: Option<String>,
    signing_keys: Option<(String, String)>,
    retry_delay_scale: f64,
    limits: Limits,
    region: Option<String>,
    cron_seconds: bool,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            token: None,
            signing_keys: None,
            retry_delay_scale: 1.0,
            limits: Limits::default(),
            region: None,
            cron_seconds: false,
        }
    }
}

impl ServerBuilder {
    /// The port to listen on, on `127.0.0.1`; `0` picks a free one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The API token (a random one unless set).
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The current and next signing keys (random ones unless set).
    #[must_use]
    pub fn signing_keys(mut self, current: impl Into<String>, next: impl Into<String>) -> Self {
        self.signing_keys = Some((current.into(), next.into()));
        self
    }

    /// Multiplies the waits between delivery retries (one second, doubled
    /// per retry): `0.001` makes them milliseconds, for tests.
    #[must_use]
    pub fn retry_delay_scale(mut self, scale: f64) -> Self {
        self.retry_delay_scale = scale;
        self
    }

    /// The region this server stands for: sent as the `Upstash-Region`
    /// header of every delivery (`us-east-1`, `eu-central-1`, ...), as QStash
    /// does for a multi-region project; none unless set. Two servers with
    /// different regions and signing keys stand in for two regions.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Accepts cron expressions with a sixth, leading seconds field
    /// (`* * * * * *` fires every second), for tests that cannot wait a
    /// minute. Off by default: like the service, the server then takes
    /// five fields only and refuses six.
    #[must_use]
    pub fn cron_seconds(mut self, allow: bool) -> Self {
        self.cron_seconds = allow;
        self
    }

    /// The memory limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Binds the socket and starts serving.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for an empty token, a negative or
    /// non-finite retry delay scale, or a region that is empty or not
    /// visible ASCII, [`Error::Bind`] if the port is taken,
    /// [`Error::HttpClient`] if the delivery client cannot be built.
    pub async fn start(self) -> Result<Server, Error> {
        if !self.retry_delay_scale.is_finite() || self.retry_delay_scale < 0.0 {
            return Err(Error::InvalidConfig(
                "the retry delay scale must be a finite number of at least 0".into(),
            ));
        }
        let token = self
            .token
            .unwrap_or_else(|| format!("qstash_dev_{}", ids::random_string(32)));
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidConfig(
                "the token must be non-empty, without spaces or control characters".into(),
            ));
        }
        if let Some(region) = &self.region
            && (region.is_empty() || !region.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(Error::InvalidConfig(format!(
                "the region {region:?} must be non-empty visible ASCII, such as us-east-1"
            )));
        }
        let keys = match self.signing_keys {
            Some((current, next)) => SigningKeys { current, next },
            None => SigningKeys::generate(),
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(Error::Io)?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(DELIVERY_TIMEOUT)
            .build()
            .map_err(Error::HttpClient)?;
        let max_body = self.limits.max_body_bytes;
        let config = Config {
            retry_delay_scale: self.retry_delay_scale,
            limits: self.limits,
            region: self.region,
            cron_seconds: self.cron_seconds,
        };
        let shared = Arc::new(Shared::new(Store::new(config, keys), http, token));
        let app = api::router(Arc::clone(&shared), max_body)
            .into_make_service_with_connect_info::<SocketAddr>();
        let serve = tokio::spawn(async move {
            // Ends only when aborted (or if accepting fails for good).
            let _ = axum::serve(listener, app).await;
        });
        let dispatcher = tokio::spawn(delivery::run(Arc::clone(&shared)));
        let schedules = tokio::spawn(scheduler::run(Arc::clone(&shared)));
        Ok(Server {
            addr,
            url: format!("http://{addr}"),
            shared,
            tasks: vec![serve, dispatcher, schedules],
        })
    }
}
