//! The token and the signing keys stay where they belong: the token in a
//! query authenticates and goes no further (however its name is
//! encoded), the `Bearer` scheme is read in any case, and `Debug` shows
//! neither token nor keys.

use crate::common;

use std::time::Duration;

use common::{Sink, bounded, server};
use serde_json::Value;

#[tokio::test]
async fn a_token_in_the_query_never_reaches_the_destination_sub_logs_or_dlq() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        sink.set_status(500);
        let token = server.token().to_owned();
        let receiver =
            qstash::Receiver::new(server.current_signing_key(), server.next_signing_key());
        // The name as it is, and percent-encoded in two ways: each one
        // authenticates (the query is decoded), so each one is removed.
        for (i, name) in ["qstash_token", "qstash%5Ftoken", "%71stash%5ftoken"]
            .iter()
            .enumerate()
        {
            let destination = sink.url(&format!("/hook/{i}"));
            let response = common::http()
                .post(format!(
                    "{}/v2/publish/{destination}?a=1&{name}={token}&b=%5F",
                    server.url()
                ))
                .header("Upstash-Retries", "0")
                .body("payload")
                .send()
                .await
                .expect("publish");
            assert_eq!(response.status(), 200, "{name}");
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["url"], format!("{destination}?a=1&b=%5F"), "{name}");
        }
        let received = sink.wait_for(3).await;
        for delivery in &received {
            assert_eq!(delivery.query.as_deref(), Some("a=1&b=%5F"), "{delivery:?}");
            let claims = receiver
                .verify_request(&delivery.headers, &delivery.body, None)
                .expect("signed");
            assert!(!claims.sub.contains(&token), "{}", claims.sub);
            assert!(claims.sub.ends_with("?a=1&b=%5F"), "{}", claims.sub);
            for (name, value) in &delivery.headers {
                let value = String::from_utf8_lossy(value.as_bytes());
                assert!(!value.contains(&token), "{name}: {value}");
            }
        }
        let dlq = loop {
            let dlq = common::get_json(&server, "/v2/dlq").await;
            if dlq["messages"].as_array().is_some_and(|m| m.len() == 3) {
                break dlq;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let logs = common::get_json(&server, "/v2/logs").await;
        for text in [dlq.to_string(), logs.to_string()] {
            assert!(!text.contains(&token), "{text}");
            assert!(text.contains("a=1&b=%5F"), "{text}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_wrong_tokens_are_refused() {
    bounded(async {
        let server = server().await;
        let token = server.token();
        let status = |authorization: String| {
            let url = format!("{}/v2/keys", server.url());
            async move {
                common::http()
                    .get(url)
                    .header("Authorization", authorization)
                    .send()
                    .await
                    .expect("GET /v2/keys")
                    .status()
                    .as_u16()
            }
        };
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert_eq!(status(format!("{scheme} {token}")).await, 200, "{scheme}");
        }
        let shorter = &token[..token.len() - 1];
        let longer = format!("{token}x");
        let mut other = token.to_owned().into_bytes();
        other[0] ^= 1;
        let other = String::from_utf8(other).unwrap();
        for wrong in [
            format!("Bearer {shorter}"),
            format!("Bearer {longer}"),
            format!("Bearer {other}"),
            format!("Basic {token}"),
            format!("Bearer{token}"),
            "Bearer ".to_owned(),
        ] {
            assert_eq!(status(wrong.clone()).await, 401, "{wrong}");
        }
    })
    .await;
}

#[tokio::test]
async fn debug_shows_neither_the_token_nor_the_signing_keys() {
    let token = "TOKEN-SECRET-1234";
    let (current, next) = ("sig_CURRENTSECRET", "sig_NEXTSECRET");
    let builder = qstash_dev::Server::builder()
        .token(token)
        .signing_keys(current, next);
    let server = builder.clone().start().await.expect("start");
    let text = format!("{builder:?} {builder:#?} {server:?} {server:#?}");
    for secret in [token, current, next] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains(server.url()), "{text}");
}
