//! `ClientBuilder::default_header`: sent on every request, unless the
//! request sets the same header itself; checked when the client is built.

use crate::common;

use common::{NASTY_TOKEN, requests};
use qstash::{AuthMode, Body, Error, MessageOptions};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn header<'r>(request: &'r wiremock::Request, name: &str) -> Vec<&'r str> {
    request
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

#[tokio::test]
async fn default_headers_go_on_every_request_and_the_request_s_own_win() {
    let server = MockServer::start().await;
    for mode in [AuthMode::Bearer, AuthMode::QueryParameter] {
        server.reset().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "orders"})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messageId": "m"})))
            .mount(&server)
            .await;
        let client = common::builder(server.uri(), NASTY_TOKEN)
            .auth_mode(mode)
            .default_header("X-Tenant", "first")
            .default_header("x-tenant", "acme")
            .default_header("Upstash-Retries", "5")
            .default_header("Content-Type", "text/plain")
            .build()
            .unwrap();
        client
            .get_queue()
            .queue_name("orders")
            .send()
            .await
            .unwrap();
        client
            .publish()
            .destination("https://example.com/a")
            .payload(Body::json(&json!({"n": 1})).unwrap())
            .options(MessageOptions::new().retries(1))
            .send()
            .await
            .unwrap();
        let seen = requests(&server).await;
        assert_eq!(seen.len(), 2, "{mode:?}");
        // On every request; the last value of a name wins.
        for r in &seen {
            assert_eq!(header(r, "x-tenant"), ["acme"], "{mode:?}");
        }
        // A GET sets none of its own.
        assert_eq!(header(&seen[0], "upstash-retries"), ["5"], "{mode:?}");
        // The request's own values win: the options' retries, the body's type.
        assert_eq!(header(&seen[1], "upstash-retries"), ["1"], "{mode:?}");
        assert_eq!(
            header(&seen[1], "content-type"),
            ["application/json"],
            "{mode:?}"
        );
        // The token still travels as the mode says.
        let bearer = header(&seen[0], "authorization");
        match mode {
            AuthMode::Bearer => assert_eq!(bearer, [format!("Bearer {NASTY_TOKEN}")]),
            _ => assert!(bearer.is_empty(), "{bearer:?}"),
        }
    }
}

#[test]
fn a_bad_default_header_is_refused_naming_it_never_its_value() {
    let bad = |name: &str, value: &str| {
        qstash::Client::builder()
            .token("t")
            .default_header(name, value)
            .build()
            .unwrap_err()
    };
    let e = bad("Bad Name", "v");
    assert!(
        matches!(&e, Error::Config(m) if m.contains("\"Bad Name\"")),
        "{e}"
    );
    let e = bad("X-Secret", "line\nbreak-secret-value");
    assert!(
        matches!(&e, Error::Config(m) if m.contains("`x-secret`")),
        "{e}"
    );
    assert!(!e.to_string().contains("secret-value"), "{e}");
    let e = bad("authorization", "Bearer other");
    assert!(
        matches!(&e, Error::Config(m) if m.contains(".token(")),
        "{e}"
    );
    assert!(!e.to_string().contains("other"), "{e}");
    // Debug shows the names only.
    let builder = qstash::Client::builder().default_header("X-Api-Key", "hidden-value");
    let shown = format!("{builder:?}");
    assert!(
        shown.contains("X-Api-Key") && !shown.contains("hidden-value"),
        "{shown}"
    );
}
