//! The local HTTP/1.1 server both sides of every comparison talk to: loopback,
//! keep-alive, its own thread and single-threaded runtime, answering each
//! request with a pre-built body chosen by a handler (a cheap `Bytes` clone).

use std::convert::Infallible;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// The `Queue` JSON the overhead benchmarks answer `get_queue` with.
pub const QUEUE: &[u8] = br#"{"name":"orders","parallelism":4,"lag":12,"paused":false,"createdAt":1733000000000,"updatedAt":1733000100000}"#;

/// The page a cursor benchmark asks for: the `cursor` query parameter (the
/// page index as a number), 0 on the first request.
pub fn cursor_index(uri: &Uri) -> usize {
    uri.query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("cursor="))
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0)
}

/// Picks the JSON body for a request URI.
pub type Handler = Arc<dyn Fn(&Uri) -> Bytes + Send + Sync>;

/// A running server; stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: Handler) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = accept_loop(listener, handler) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime ends every connection task.
        });
        Self {
            base_url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, handler: Handler) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = service_fn(move |req: Request<hyper::body::Incoming>| {
            let body = handler(req.uri());
            async move {
                let mut response = Response::new(Full::new(body));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Ok::<_, Infallible>(response)
            }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
