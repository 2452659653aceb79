//! The whole path a user sees: the client publishes to the local QStash,
//! which delivers to an axum service that accepts only verified deliveries
//! (`qstash::axum::Verified`); a service that fails sends the message to the
//! DLQ, from where it is retried by its `dlq_id` and delivered.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::{bounded, client, server, wait_until};
use qstash::axum::Verified;

#[derive(Clone)]
struct Service {
    receiver: qstash::Receiver,
    failing: Arc<AtomicBool>,
    handled: Arc<Mutex<Vec<(String, String)>>>,
}

impl axum::extract::FromRef<Service> for qstash::DeliveryVerifier {
    fn from_ref(s: &Service) -> Self {
        s.receiver.clone().into()
    }
}

async fn orders(State(s): State<Service>, delivery: Verified) -> StatusCode {
    if s.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    s.handled.lock().unwrap().push((
        String::from_utf8_lossy(&delivery.body).into_owned(),
        delivery.claims.sub.clone(),
    ));
    StatusCode::OK
}

/// The service on 127.0.0.1, with the given signing keys.
async fn service(current: String, next: String) -> (String, Service) {
    let s = Service {
        receiver: qstash::Receiver::new(current, next),
        failing: Arc::default(),
        handled: Arc::default(),
    };
    let router = Router::new()
        .route("/hooks/orders", post(orders))
        .with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/orders", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, s)
}

/// The DLQ once something is in it (bounded by the test timeout).
async fn dead_letters(c: &qstash::Client) -> Vec<qstash::types::DlqMessage> {
    loop {
        let dead = c.list_dlq_messages().collect_all().await.unwrap();
        if !dead.is_empty() {
            return dead;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn published_verified_failed_dead_lettered_retried_delivered() {
    bounded(async {
        let qstash = server().await;
        let c = client(&qstash);
        let (url, svc) = service(qstash.current_signing_key(), qstash.next_signing_key()).await;

        // Published, delivered, verified by the extractor.
        c.publish()
            .destination(&url)
            .payload(qstash::Body::text("order 1"))
            .send()
            .await
            .unwrap();
        wait_until(|| svc.handled.lock().unwrap().len() == 1).await;
        assert_eq!(
            svc.handled.lock().unwrap()[0],
            ("order 1".to_string(), url.clone())
        );

        // The service fails: retries, then the DLQ.
        svc.failing.store(true, Ordering::SeqCst);
        c.publish()
            .destination(&url)
            .payload(qstash::Body::text("order 2"))
            .options(qstash::MessageOptions::new().retries(2))
            .send()
            .await
            .unwrap();
        let dead = dead_letters(&c).await;
        assert_eq!(dead.len(), 1, "the failed message is in the DLQ");
        assert_eq!(dead[0].body.as_deref(), Some("order 2"));

        // Fixed, and retried by its DLQ id: delivered.
        svc.failing.store(false, Ordering::SeqCst);
        let dlq_id = dead[0]
            .dlq_id
            .clone()
            .expect("a DLQ entry carries its dlqId");
        c.retry_dlq_message().dlq_id(dlq_id).send().await.unwrap();
        wait_until(|| svc.handled.lock().unwrap().len() == 2).await;
        assert_eq!(svc.handled.lock().unwrap()[1].0, "order 2");
        assert!(
            c.list_dlq_messages()
                .collect_all()
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_service_with_other_keys_refuses_every_delivery() {
    bounded(async {
        let qstash = server().await;
        let c = client(&qstash);
        let (url, svc) = service("sig_not_this".into(), "sig_nor_this".into()).await;
        c.publish()
            .destination(&url)
            .payload(qstash::Body::text("forged?"))
            .options(qstash::MessageOptions::new().retries(0))
            .send()
            .await
            .unwrap();
        let dead = dead_letters(&c).await;
        assert_eq!(dead[0].response_status, Some(401), "{:?}", dead[0]);
        assert!(
            dead[0]
                .response_body
                .as_deref()
                .unwrap_or_default()
                .contains("does not match the current or the next signing key"),
            "{:?}",
            dead[0].response_body
        );
        assert!(svc.handled.lock().unwrap().is_empty());
    })
    .await;
}
