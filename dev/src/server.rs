//! Starting and stopping the server.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::middleware;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{Config, Limits};
use crate::error::Error;
use crate::route::Route;
use crate::signing::SigningKeys;
use crate::state::Shared;
use crate::store::Store;
use crate::{api, auth, delivery, ids, scheduler, telemetry};

/// The port of the official QStash development server
/// (`npx @upstash/qstash-cli dev`), which the `qstash-dev` command listens
/// on unless told otherwise, and where the SDKs' dev mode (`QSTASH_DEV=1`)
/// looks. [`Server::builder`] picks a free port instead.
pub const DEFAULT_PORT: u16 = 8080;

/// The public API token of the official QStash development server, baked
/// into it and published in the JS SDK (`src/dev-server/constants.ts`): the
/// `qstash-dev` command's token unless `--random-credentials` is given.
/// Equal to `qstash::DEV_TOKEN`. Public: never use it for anything but a
/// local server.
pub const DEV_TOKEN: &str =
    "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=";

/// The official development server's public current signing key (see
/// [`DEV_TOKEN`]). Equal to `qstash::DEV_CURRENT_SIGNING_KEY`.
pub const DEV_CURRENT_SIGNING_KEY: &str = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r";

/// The official development server's public next signing key (see
/// [`DEV_TOKEN`]). Equal to `qstash::DEV_NEXT_SIGNING_KEY`.
pub const DEV_NEXT_SIGNING_KEY: &str = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs";

/// Longest a delivery may take unless the message sets `Upstash-Timeout`.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long deliveries in flight may finish once the server stops, unless
/// set with [`ServerBuilder::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running development server on `127.0.0.1`.
///
/// Dropping it, or [`shutdown`](Self::shutdown), stops it: at once, no
/// connection is accepted and every request (on a connection kept alive
/// from before) is answered `503` and its connection closed; the
/// deliveries in flight may finish within the grace period
/// ([`ServerBuilder::shutdown_grace`]), and those cut short are recorded
/// as failed attempts. Dropping does not wait for that; `shutdown` does.
///
/// ```no_run
/// # async fn run() -> Result<(), qstash_dev::Error> {
/// let server = qstash_dev::Server::builder().start().await?;
/// println!("QStash at {} with token {}", server.url(), server.token());
/// # Ok(()) }
/// ```
pub struct Server {
    addr: SocketAddr,
    url: String,
    pub(crate) shared: Arc<Shared>,
    serve: Option<JoinHandle<()>>,
    dispatcher: Option<JoinHandle<()>>,
    schedules: Option<JoinHandle<()>>,
}

/// Without the token or the signing keys.
impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("routes", &self.shared.routes)
            .field("stopping", &self.shared.is_stopping())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts a server with the default settings: a free port, a random
    /// token and random signing keys.
    ///
    /// # Errors
    ///
    /// [`Error`] if the socket cannot be bound or the HTTP client for
    /// deliveries cannot be built.
    pub async fn start() -> Result<Self, Error> {
        Self::builder().start().await
    }

    /// Configures a server: unless changed, on a free port of `127.0.0.1`
    /// with a random token and random signing keys, so that tests run side
    /// by side. The `qstash-dev` command starts it on [`DEFAULT_PORT`] with
    /// the public development credentials instead
    /// ([`ServerBuilder::dev_credentials`]).
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

    /// Stops the server as dropping it does, and waits until it has
    /// stopped: the deliveries in flight finished or, past the grace
    /// period, cut short and recorded as failed attempts.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(dispatcher) = self.dispatcher.take() {
            let _ = dispatcher.await;
        }
        if let Some(serve) = self.serve.take() {
            let _ = serve.await;
        }
    }

    /// Stops accepting, and tells the background tasks to wind down.
    fn stop(&mut self) {
        self.shared.stop();
        if let Some(schedules) = self.schedules.take() {
            schedules.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The listener and the dispatcher wind down on their own (within the
        // grace period); they need no handle for that.
        self.stop();
    }
}

/// Settings of a [`Server`]; made by [`Server::builder`].
#[derive(Clone)]
pub struct ServerBuilder {
    port: u16,
    token: Option<String>,
    signing_keys: Option<(String, String)>,
    retry_delay_scale: f64,
    limits: Limits,
    region: Option<String>,
    cron_seconds: bool,
    routes: Vec<(String, String)>,
    shutdown_grace: Duration,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            token: None,
            signing_keys: None,
            retry_delay_scale: 1.0,
            limits: Limits::default(),
            region: None,
            cron_seconds: false,
            routes: Vec::new(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// Whether a token and signing keys are set, not what they are.
impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |set: bool| if set { "<redacted>" } else { "<random>" };
        f.debug_struct("ServerBuilder")
            .field("port", &self.port)
            .field("token", &secret(self.token.is_some()))
            .field("signing_keys", &secret(self.signing_keys.is_some()))
            .field("retry_delay_scale", &self.retry_delay_scale)
            .field("limits", &self.limits)
            .field("region", &self.region)
            .field("cron_seconds", &self.cron_seconds)
            .field("routes", &self.routes)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

impl ServerBuilder {
    /// The port to listen on, on `127.0.0.1`; `0` (the default) picks a
    /// free one.
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

    /// The official development server's public credentials: [`DEV_TOKEN`],
    /// [`DEV_CURRENT_SIGNING_KEY`] and [`DEV_NEXT_SIGNING_KEY`], which the
    /// SDKs' dev mode (`QSTASH_DEV=1`) uses.
    #[must_use]
    pub fn dev_credentials(self) -> Self {
        self.token(DEV_TOKEN)
            .signing_keys(DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY)
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

    /// Sends deliveries whose destination has the origin `origin` (scheme,
    /// host and port, such as `https://app.example.com`) to `url` instead
    /// (such as `http://127.0.0.1:3000`), with their path and query; the
    /// signature's `sub`, the logs and the DLQ keep the URL published to.
    /// Repeatable; the first route whose origin matches applies. See
    /// [`Route`].
    #[must_use]
    pub fn route(mut self, origin: impl Into<String>, url: impl Into<String>) -> Self {
        self.routes.push((origin.into(), url.into()));
        self
    }

    /// How long deliveries in flight may finish once the server stops
    /// ([`DEFAULT_SHUTDOWN_GRACE`] unless set); those still running then are
    /// cut short and recorded as failed attempts.
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Binds the socket and starts serving.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for an empty token, a negative or
    /// non-finite retry delay scale, a region that is empty or not visible
    /// ASCII, or a route that is not an origin and a URL ([`Route::new`]),
    /// [`Error::Bind`] if the port is taken, [`Error::HttpClient`] if the
    /// delivery client cannot be built.
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
        let routes = self
            .routes
            .iter()
            .map(|(origin, url)| Route::new(origin, url))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = match self.signing_keys {
            Some((current, next)) => SigningKeys { current, next },
            None => SigningKeys::generate(),
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(Error::Io)?;
        let http = delivery::client(DELIVERY_TIMEOUT)?;
        let url = format!("http://{addr}");
        tracing::info!(%url, region = self.region.as_deref(), "listening");
        for route in &routes {
            tracing::info!(
                origin = route.origin(),
                target = route.target(),
                "routing deliveries"
            );
        }
        let max_body = self.limits.max_body_bytes;
        let config = Config {
            retry_delay_scale: self.retry_delay_scale,
            limits: self.limits,
            region: self.region,
            cron_seconds: self.cron_seconds,
        };
        let mut shared = Shared::new(Store::new(config, keys), http, token);
        shared.routes = routes;
        shared.shutdown_grace = self.shutdown_grace;
        let shared = Arc::new(shared);
        let app = api::router(Arc::clone(&shared), max_body)
            .layer(middleware::from_fn_with_state(
                Arc::clone(&shared),
                auth::refuse_when_stopping,
            ))
            .layer(middleware::from_fn(telemetry::log_request))
            .into_make_service_with_connect_info::<SocketAddr>();
        let serve = tokio::spawn(serve(listener, app, Arc::clone(&shared)));
        let dispatcher = tokio::spawn(delivery::run(Arc::clone(&shared)));
        let schedules = tokio::spawn(scheduler::run(Arc::clone(&shared)));
        Ok(Server {
            addr,
            url,
            shared,
            serve: Some(serve),
            dispatcher: Some(dispatcher),
            schedules: Some(schedules),
        })
    }
}

/// Serves until the server stops, then accepts no more connections, closes
/// those kept alive once their request in progress is answered, and waits
/// for them at most the grace period.
async fn serve(
    listener: TcpListener,
    app: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr>,
    shared: Arc<Shared>,
) {
    let stopped = {
        let shared = Arc::clone(&shared);
        async move { shared.stopped().await }
    };
    let serving = axum::serve(listener, app).with_graceful_shutdown(stopped);
    let deadline = async {
        shared.stopped().await;
        tokio::time::sleep(shared.shutdown_grace).await;
    };
    tokio::select! {
        // Ends with the graceful shutdown (or if accepting fails for good).
        _ = serving => {}
        () = deadline => {}
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::Server;
    use crate::{api, delivery};

    /// A destination that reads a request, then answers 200 after `delay`:
    /// its address, and how many requests it started and answered.
    async fn slow_destination(delay: Duration) -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let (s, a) = (Arc::clone(&started), Arc::clone(&answered));
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (s, a) = (Arc::clone(&s), Arc::clone(&a));
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    s.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    a.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        (addr, started, answered)
    }

    async fn publish(server: &Server, destination: SocketAddr) {
        let http = delivery::client(Duration::from_secs(10)).unwrap();
        let response = http
            .post(format!(
                "{}/v2/publish/http://{destination}/slow",
                server.url()
            ))
            .header("Authorization", format!("Bearer {}", server.token()))
            .header("Upstash-Retries", "3")
            .body("slow")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    async fn wait_for(counter: &AtomicUsize, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while counter.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("waited too long");
    }

    /// The logs of a stopped server, through its API served anew.
    async fn logs_after_stop(shared: Arc<crate::state::Shared>, token: &str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = api::router(shared, 1 << 20).into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let text = delivery::client(Duration::from_secs(10))
            .unwrap()
            .get(format!("http://{addr}/v2/logs"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        task.abort();
        text
    }

    #[tokio::test]
    async fn shutdown_lets_a_delivery_in_flight_finish() {
        let (dest, started, answered) = slow_destination(Duration::from_millis(300)).await;
        let server = Server::builder()
            .shutdown_grace(Duration::from_secs(20))
            .start()
            .await
            .unwrap();
        let token = server.token().to_owned();
        publish(&server, dest).await;
        wait_for(&started, 1).await;
        let shared = Arc::clone(&server.shared);
        let begun = Instant::now();
        server.shutdown().await;
        assert_eq!(
            answered.load(Ordering::SeqCst),
            1,
            "finished before shutdown returned"
        );
        assert!(
            begun.elapsed() < Duration::from_secs(10),
            "{:?}",
            begun.elapsed()
        );
        let logs = logs_after_stop(shared, &token).await;
        assert!(logs.contains("\"DELIVERED\""), "{logs}");
        assert!(!logs.contains(delivery::CUT_SHORT), "{logs}");
    }

    #[tokio::test]
    async fn a_delivery_past_the_grace_period_is_recorded_as_a_failed_attempt() {
        let (dest, started, answered) = slow_destination(Duration::from_secs(60)).await;
        let server = Server::builder()
            .shutdown_grace(Duration::from_millis(100))
            .start()
            .await
            .unwrap();
        let token = server.token().to_owned();
        publish(&server, dest).await;
        wait_for(&started, 1).await;
        let shared = Arc::clone(&server.shared);
        let begun = Instant::now();
        server.shutdown().await;
        assert!(
            begun.elapsed() < Duration::from_secs(5),
            "{:?}",
            begun.elapsed()
        );
        assert_eq!(answered.load(Ordering::SeqCst), 0);
        let logs = logs_after_stop(shared, &token).await;
        assert!(logs.contains(delivery::CUT_SHORT), "{logs}");
        assert!(logs.contains("\"RETRY\""), "{logs}");
        assert!(!logs.contains("\"DELIVERED\""), "{logs}");
    }

    #[tokio::test]
    async fn dropping_stops_the_dispatcher_after_the_grace_period() {
        let (dest, started, _) = slow_destination(Duration::from_secs(60)).await;
        let server = Server::builder()
            .shutdown_grace(Duration::from_millis(50))
            .start()
            .await
            .unwrap();
        let token = server.token().to_owned();
        publish(&server, dest).await;
        wait_for(&started, 1).await;
        let shared = Arc::clone(&server.shared);
        drop(server);
        // The dispatcher records the delivery it cut short on its own.
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let logs = logs_after_stop(Arc::clone(&shared), &token).await;
                if logs.contains(delivery::CUT_SHORT) {
                    return logs;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the cut delivery is recorded");
        assert!(found.contains("\"RETRY\""), "{found}");
    }

    #[test]
    fn debug_of_the_builder_shows_no_secret() {
        let builder = Server::builder()
            .token("TOKENSECRET")
            .signing_keys("sig_CURRENTSECRET", "sig_NEXTSECRET")
            .route("https://app.example.com", "http://127.0.0.1:3000");
        let text = format!("{builder:?} {builder:#?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
        assert!(text.contains("https://app.example.com"), "{text}");
        let random = format!("{:?}", Server::builder());
        assert!(random.contains("<random>"), "{random}");
        assert!(random.contains("port: 0"), "{random}");
    }
}
