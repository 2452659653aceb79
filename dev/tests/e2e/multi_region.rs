//! Multi-region receiving: two local QStash servers with different signing
//! keys and `Upstash-Region` headers stand in for QStash's two regions; one
//! axum service, its receiver set up from the environment
//! (`QSTASH_REGION` and the regional keys, through `from_env_with`),
//! verifies deliveries from both, and refuses one whose `Upstash-Region`
//! names the other region.

use crate::common;

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use common::{Sink, bounded, client, wait_until};
use qstash::axum::Verified;
use qstash_dev::Server;

const US_CURRENT: &str = "sig_e2e_us_current_3c1d";
const US_NEXT: &str = "sig_e2e_us_next_97ab";
const EU_CURRENT: &str = "sig_e2e_eu_current_44f0";
const EU_NEXT: &str = "sig_e2e_eu_next_b2e6";

async fn region_server(region: &str, current: &str, next: &str) -> Server {
    Server::builder()
        .port(0)
        .retry_delay_scale(0.001)
        .signing_keys(current, next)
        .region(region)
        .start()
        .await
        .expect("start the server")
}

/// What the service handled: each body with the region header it came with.
type Handled = Arc<Mutex<Vec<(String, Option<String>)>>>;

#[derive(Clone)]
struct Service {
    verifier: qstash::DeliveryVerifier,
    handled: Handled,
}

impl axum::extract::FromRef<Service> for qstash::DeliveryVerifier {
    fn from_ref(s: &Service) -> Self {
        s.verifier.clone()
    }
}

async fn orders(
    State(s): State<Service>,
    headers: axum::http::HeaderMap,
    delivery: Verified,
) -> &'static str {
    let region = headers
        .get("upstash-region")
        .map(|v| v.to_str().unwrap().to_owned());
    s.handled
        .lock()
        .unwrap()
        .push((String::from_utf8_lossy(&delivery.body).into_owned(), region));
    "ok"
}

/// The service, its receiver from this environment; its URL and what it
/// handled.
async fn service(env: HashMap<&'static str, &'static str>) -> (String, Handled) {
    let receiver =
        qstash::Receiver::from_env_with(|name| env.get(name).map(OsString::from)).unwrap();
    let handled = Handled::default();
    let s = Service {
        verifier: receiver.into(),
        handled: handled.clone(),
    };
    let router = Router::new()
        .route("/hooks/orders", post(orders))
        .with_state(s);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/orders", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, handled)
}

async fn publish(server: &Server, url: &str, body: &str) {
    client(server)
        .publish()
        .destination(url)
        .payload(qstash::Body::text(body))
        .options(qstash::MessageOptions::new().retries(0))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn one_receiver_verifies_both_regions_with_their_keys() {
    bounded(async {
        let us = region_server("us-east-1", US_CURRENT, US_NEXT).await;
        let eu = region_server("eu-central-1", EU_CURRENT, EU_NEXT).await;
        // EU's keys, but it says it is US: what a forged or misrouted
        // delivery looks like.
        let impostor = region_server("us-east-1", EU_CURRENT, EU_NEXT).await;
        let (url, handled) = service(HashMap::from([
            ("QSTASH_REGION", "US_EAST_1"),
            ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", US_CURRENT),
            ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", US_NEXT),
            ("EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY", EU_CURRENT),
            ("EU_CENTRAL_1_QSTASH_NEXT_SIGNING_KEY", EU_NEXT),
        ]))
        .await;

        publish(&us, &url, "from us").await;
        publish(&eu, &url, "from eu").await;
        wait_until(|| handled.lock().unwrap().len() == 2).await;
        let mut got = handled.lock().unwrap().clone();
        got.sort();
        assert_eq!(
            got,
            [
                ("from eu".to_owned(), Some("eu-central-1".to_owned())),
                ("from us".to_owned(), Some("us-east-1".to_owned())),
            ]
        );

        publish(&impostor, &url, "from eu, said to be us").await;
        let dead = loop {
            let dead = client(&impostor)
                .list_dlq_messages()
                .collect_all()
                .await
                .unwrap();
            if !dead.is_empty() {
                break dead;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
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
        assert_eq!(handled.lock().unwrap().len(), 2, "the handler never ran");
    })
    .await;
}

#[tokio::test]
async fn a_delivery_from_an_unknown_region_is_refused_naming_it() {
    bounded(async {
        let elsewhere = region_server("ap-southeast-1", US_CURRENT, US_NEXT).await;
        let (url, handled) = service(HashMap::from([
            ("QSTASH_REGION", "us-east-1"),
            ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", US_CURRENT),
            ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", US_NEXT),
            // The default pair would verify it: it must not be used.
            ("QSTASH_CURRENT_SIGNING_KEY", US_CURRENT),
            ("QSTASH_NEXT_SIGNING_KEY", US_NEXT),
        ]))
        .await;
        publish(&elsewhere, &url, "hello").await;
        let dead = loop {
            let dead = client(&elsewhere)
                .list_dlq_messages()
                .collect_all()
                .await
                .unwrap();
            if !dead.is_empty() {
                break dead;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        assert_eq!(dead[0].response_status, Some(401));
        let body = dead[0].response_body.clone().unwrap_or_default();
        assert!(
            body.contains("Upstash-Region header \"ap-southeast-1\" names no known region"),
            "{body}"
        );
        assert!(handled.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_region_header_is_sent_only_when_set() {
    bounded(async {
        let sink = Sink::start().await;
        let plain = common::server().await;
        let regional = region_server("eu-central-1", EU_CURRENT, EU_NEXT).await;
        publish(&plain, &sink.url("/plain"), "a").await;
        publish(&regional, &sink.url("/regional"), "b").await;
        let mut got = sink.wait_for(2).await;
        got.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(got[0].path, "/plain");
        assert_eq!(got[0].header("upstash-region"), None);
        assert_eq!(got[1].header("upstash-region"), Some("eu-central-1"));

        for bad in ["", "us east", "us-east-1\n", "é"] {
            let Err(err) = Server::builder().port(0).region(bad).start().await else {
                panic!("{bad:?} was accepted");
            };
            assert!(
                err.to_string().contains("must be non-empty visible ASCII"),
                "{bad:?}: {err}"
            );
        }
    })
    .await;
}
