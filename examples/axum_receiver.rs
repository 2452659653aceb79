//! A service that receives QStash deliveries and accepts only verified ones.
//!
//! ```sh
//! # With the signing keys in the environment (from `cargo run -p qstash-dev`):
//! QSTASH_CURRENT_SIGNING_KEY=... QSTASH_NEXT_SIGNING_KEY=... \
//!     cargo run --example axum_receiver --features axum
//! ```
//!
//! It listens on 127.0.0.1:3000 (`PORT` to change) and answers
//! `POST /hooks/orders`. With `FAIL=1` it answers every delivery with 500,
//! so QStash retries it and, after its retries, moves it to the DLQ.

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use qstash::axum::Verified;

#[derive(Clone)]
struct App {
    verifier: qstash::DeliveryVerifier,
    fail: bool,
}

/// `Verified` takes its `DeliveryVerifier` from the state.
impl axum::extract::FromRef<App> for qstash::DeliveryVerifier {
    fn from_ref(app: &App) -> Self {
        app.verifier.clone()
    }
}

async fn orders(
    axum::extract::State(app): axum::extract::State<App>,
    delivery: Verified,
) -> (StatusCode, &'static str) {
    let fail = app.fail;
    println!(
        "delivery {} to {}: {}",
        delivery.claims.jti.as_deref().unwrap_or("?"),
        delivery.claims.sub,
        String::from_utf8_lossy(&delivery.body)
    );
    if fail {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "failing on purpose (FAIL=1)",
        )
    } else {
        (StatusCode::OK, "ok")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App {
        verifier: qstash::DeliveryVerifier::new(qstash::Receiver::from_env()?),
        fail: std::env::var("FAIL").is_ok_and(|v| v == "1"),
    };
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "receiving on http://{}/hooks/orders",
        listener.local_addr()?
    );
    let router = Router::new()
        .route("/hooks/orders", post(orders))
        .with_state(app);
    axum::serve(listener, router).await?;
    Ok(())
}
