//! The one error type, filled from what the wire carried: JSON error
//! bodies, plain-text bodies, rate-limit headers; network, timeout and
//! decoding failures kept apart.

use crate::common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{client, closed_port_url};
use qstash::{AuthMode, Client, Error, RateLimit};
use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server_answering(route: &str, response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(route))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn get_message_error(server: &MockServer, id: &str) -> Error {
    let client = client(server, "t", AuthMode::Bearer);
    client
        .get_message()
        .message_id(id)
        .send()
        .await
        .expect_err("the server answers with an error")
}

#[tokio::test]
async fn json_error_body_gives_status_and_message() {
    let server = server_answering(
        "/v2/messages/msg_404",
        ResponseTemplate::new(404).set_body_json(json!({"error": "message msg_404 not found"})),
    )
    .await;
    let err = get_message_error(&server, "msg_404").await;

    let Error::Api(api) = &err else {
        panic!("expected Error::Api, got {err:?}");
    };
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.message.as_deref(), Some("message msg_404 not found"));
    assert_eq!(api.raw_body(), None);
    assert_eq!(api.rate_limit, RateLimit::default());
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(err.message(), Some("message msg_404 not found"));
    assert!(err.is_not_found());
    assert!(!err.is_rate_limited());
    assert!(!err.is_unauthorized());
    assert!(!err.is_network());
    assert!(!err.is_timeout());
    assert_eq!(err.retry_after(), None);
    assert_eq!(
        err.to_string(),
        "QStash answered 404 Not Found: message msg_404 not found"
    );
}

#[tokio::test]
async fn plain_text_body_is_kept_raw_with_its_status() {
    let server = server_answering(
        "/v2/messages/msg_1",
        ResponseTemplate::new(502)
            .insert_header("content-type", "text/html")
            .set_body_string("<html>Bad Gateway</html>"),
    )
    .await;
    let err = get_message_error(&server, "msg_1").await;

    let api = err.api().expect("an API error");
    assert_eq!(api.status, StatusCode::BAD_GATEWAY);
    assert_eq!(api.message, None);
    assert_eq!(api.raw_body().as_deref(), Some("<html>Bad Gateway</html>"));
    assert_eq!(err.message(), None);
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
    assert!(!err.is_not_found());
    assert_eq!(
        err.to_string(),
        r#"QStash answered 502 Bad Gateway with a non-JSON body: "<html>Bad Gateway</html>""#
    );
}

#[tokio::test]
async fn json_that_is_not_the_error_shape_is_kept_raw() {
    let server = server_answering(
        "/v2/messages/msg_1",
        ResponseTemplate::new(400)
            .insert_header("content-type", "application/json")
            .set_body_string(r#"{"message":"wrong shape","code":7}"#),
    )
    .await;
    let err = get_message_error(&server, "msg_1").await;
    let api = err.api().expect("an API error");
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.message, None);
    assert_eq!(
        api.raw_body().as_deref(),
        Some(r#"{"message":"wrong shape","code":7}"#)
    );
}

#[tokio::test]
async fn empty_error_body_keeps_the_status() {
    let server = server_answering("/v2/messages/msg_1", ResponseTemplate::new(503)).await;
    let err = get_message_error(&server, "msg_1").await;
    let api = err.api().expect("an API error");
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.message, None);
    assert_eq!(api.raw_body().as_deref(), Some(""));
}

#[tokio::test]
async fn rate_limited_with_retry_after_and_rate_limit_headers() {
    let server = server_answering(
        "/v2/messages/msg_1",
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "7")
            .insert_header("RateLimit-Limit", "1000")
            .insert_header("RateLimit-Remaining", "0")
            .insert_header("RateLimit-Reset", "1767225600")
            .insert_header("Burst-RateLimit-Limit", "100")
            .insert_header("Burst-RateLimit-Remaining", "3")
            .insert_header("Burst-RateLimit-Reset", "1767225601")
            .set_body_json(json!({"error": "daily quota exceeded"})),
    )
    .await;
    let err = get_message_error(&server, "msg_1").await;

    assert!(err.is_rate_limited());
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(err.message(), Some("daily quota exceeded"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    let r: &RateLimit = &err.api().unwrap().rate_limit;
    assert_eq!(
        (
            r.retry_after,
            r.limit,
            r.remaining,
            r.reset,
            r.burst_limit,
            r.burst_remaining,
            r.burst_reset
        ),
        (
            Some(Duration::from_secs(7)),
            Some(1000),
            Some(0),
            Some(1_767_225_600),
            Some(100),
            Some(3),
            Some(1_767_225_601)
        )
    );
    assert_eq!(
        err.to_string(),
        "QStash answered 429 Too Many Requests: daily quota exceeded (rate limited: retry after 7 s)"
    );
}

#[tokio::test]
async fn rate_limited_with_a_plain_text_body_keeps_the_headers() {
    let server = server_answering(
        "/v2/queues",
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "2")
            .insert_header("Burst-RateLimit-Remaining", "0")
            .set_body_string("slow down"),
    )
    .await;
    let client = client(&server, "t", AuthMode::QueryParameter);
    let err = client.list_queues().send().await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    let api = err.api().unwrap();
    assert_eq!(api.raw_body().as_deref(), Some("slow down"));
    assert_eq!(api.rate_limit.burst_remaining, Some(0));
    assert_eq!(api.rate_limit.limit, None);
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// QStash documents `Burst-RateLimit-Reset` and `RateLimit-Reset` as Unix
/// timestamps: without `Retry-After`, the wait is the time until then.
#[tokio::test]
async fn rate_limited_without_retry_after_waits_until_the_reset_time() {
    let reset = unix_now() + 5;
    let server = server_answering(
        "/v2/messages/msg_1",
        ResponseTemplate::new(429)
            .insert_header("Burst-RateLimit-Limit", "100")
            .insert_header("Burst-RateLimit-Remaining", "0")
            .insert_header("Burst-RateLimit-Reset", reset.to_string().as_str())
            .set_body_json(json!({"error": "burst limit"})),
    )
    .await;
    let err = get_message_error(&server, "msg_1").await;
    assert_eq!(err.api().unwrap().rate_limit.burst_reset, Some(reset));
    let wait = err.retry_after().expect("a wait from the reset header");
    assert!(
        wait <= Duration::from_secs(5) && wait >= Duration::from_secs(3),
        "wait {wait:?} for a reset 5 s ahead"
    );

    // Daily limit only, reset already past: retry now.
    let server = server_answering(
        "/v2/messages/msg_1",
        ResponseTemplate::new(429)
            .insert_header("RateLimit-Reset", (unix_now() - 30).to_string().as_str())
            .set_body_json(json!({"error": "daily limit"})),
    )
    .await;
    let err = get_message_error(&server, "msg_1").await;
    assert_eq!(err.retry_after(), Some(Duration::ZERO));

    // A value too small to be a timestamp is a delay in seconds; one in
    // milliseconds is read as such.
    for (value, low, high) in [
        ("3".to_string(), 3, 3),
        (((unix_now() + 5) * 1000).to_string(), 3, 5),
    ] {
        let server = server_answering(
            "/v2/messages/msg_1",
            ResponseTemplate::new(429)
                .insert_header("Burst-RateLimit-Reset", value.as_str())
                .set_body_json(json!({"error": "burst limit"})),
        )
        .await;
        let wait = get_message_error(&server, "msg_1")
            .await
            .retry_after()
            .unwrap();
        assert!(
            wait >= Duration::from_secs(low) && wait <= Duration::from_secs(high),
            "{value}: {wait:?}"
        );
    }

    // Not rate limited: reset headers alone do not make a wait.
    let server = server_answering(
        "/v2/messages/msg_1",
        ResponseTemplate::new(500)
            .insert_header("Burst-RateLimit-Reset", reset.to_string().as_str())
            .set_body_json(json!({"error": "boom"})),
    )
    .await;
    let err = get_message_error(&server, "msg_1").await;
    assert_eq!(err.retry_after(), None);
}

#[tokio::test]
async fn retry_after_as_an_http_date() {
    let at = SystemTime::now() + Duration::from_secs(30);
    let server = server_answering(
        "/v2/messages/msg_1",
        ResponseTemplate::new(429)
            .insert_header("Retry-After", httpdate::fmt_http_date(at).as_str())
            .set_body_json(json!({"error": "later"})),
    )
    .await;
    let err = get_message_error(&server, "msg_1").await;
    let wait = err.retry_after().unwrap();
    assert!(
        wait <= Duration::from_secs(30) && wait >= Duration::from_secs(27),
        "{wait:?}"
    );
}

#[tokio::test]
async fn unauthorized_points_at_the_token() {
    let server = server_answering(
        "/v2/queues",
        ResponseTemplate::new(401).set_body_json(json!({"error": "invalid token"})),
    )
    .await;
    let client = client(&server, "t", AuthMode::Bearer);
    let err = client.list_queues().send().await.unwrap_err();
    assert!(err.is_unauthorized());
    assert_eq!(
        err.to_string(),
        "QStash answered 401 Unauthorized: invalid token (check the token, QSTASH_TOKEN)"
    );
}

/// `GET /v2/queues` documents no error response at all; an error still
/// comes back typed, with the server's message.
#[tokio::test]
async fn operation_without_documented_errors_still_gives_a_typed_api_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/queues"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "queue listing disabled"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, "t", AuthMode::Bearer);
    let err = client.list_queues().send().await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Error::Api, got {err:?}");
    };
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.message.as_deref(), Some("queue listing disabled"));
    assert_eq!(api.raw_body(), None);
}

#[tokio::test]
async fn garbage_success_body_is_a_decode_error() {
    let server = server_answering(
        "/v2/queues",
        ResponseTemplate::new(200).set_body_string("this is not JSON"),
    )
    .await;
    let client = client(&server, "t", AuthMode::Bearer);
    let err = client.list_queues().send().await.unwrap_err();
    let Error::Decode { body, reason } = &err else {
        panic!("expected Error::Decode, got {err:?}");
    };
    assert_eq!(body, "this is not JSON");
    assert!(reason.contains("expected"), "{reason}");
    assert_eq!(err.status(), None);
    assert!(!err.is_network());
    assert!(!err.is_timeout());
    assert!(
        err.to_string()
            .starts_with("QStash's response is not the documented JSON ("),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with(r#"; body starts "this is not JSON""#),
        "{err}"
    );
}

#[tokio::test]
async fn long_garbage_body_is_cut_to_512_bytes() {
    let server = server_answering(
        "/v2/queues",
        ResponseTemplate::new(200).set_body_string("x".repeat(2000)),
    )
    .await;
    let client = client(&server, "t", AuthMode::Bearer);
    let err = client.list_queues().send().await.unwrap_err();
    let Error::Decode { body, .. } = &err else {
        panic!("expected Error::Decode, got {err:?}");
    };
    assert_eq!(body.len(), 512);
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    let client = Client::builder()
        .token("t")
        .base_url(closed_port_url())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = client.list_queues().send().await.unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert!(err.is_network());
    assert!(!err.is_timeout());
    assert_eq!(err.status(), None);
    // Display says what happened and where; the cause is the source, not
    // repeated in the message.
    assert!(
        err.to_string()
            .starts_with("could not reach QStash at http://127.0.0.1:"),
        "{err}"
    );
    let source = std::error::Error::source(&err).expect("the HTTP client's error");
    assert!(!err.to_string().contains(&source.to_string()), "{err}");
    // The transport error is opaque: it tells where, says what the HTTP
    // client said, and leads to that error as its source.
    let Error::Network(transport) = &err else {
        unreachable!()
    };
    assert!(
        transport
            .origin()
            .is_some_and(|o| o.starts_with("http://127.0.0.1:")),
        "{transport:?}"
    );
    assert_eq!(transport.to_string(), source.to_string());
    let inner = std::error::Error::source(transport).expect("the HTTP client's error");
    assert_eq!(inner.to_string(), source.to_string());
}

// The clock is paused: the client's timeout elapses in virtual time, as
// soon as the runtime waits on the (real-time, much slower) server, so the
// test neither waits nor depends on the machine's speed.
#[tokio::test(start_paused = true)]
async fn slow_answer_is_a_timeout() {
    let server = server_answering(
        "/v2/queues",
        ResponseTemplate::new(200)
            .set_body_json(json!([]))
            .set_delay(Duration::from_secs(30)),
    )
    .await;
    let client = Client::builder()
        .token("t")
        .base_url(server.uri())
        .retry_policy(qstash::RetryPolicy::none())
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let err = client.list_queues().send().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.is_timeout());
    assert!(!err.is_network());
    assert_eq!(err.to_string(), "QStash did not answer in time");
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(start.elapsed(), Duration::from_millis(150), "virtual time");
}

#[tokio::test(start_paused = true)]
async fn timeout_applies_to_a_caller_supplied_http_client() {
    let server = server_answering(
        "/v2/queues",
        ResponseTemplate::new(200)
            .set_body_json(json!([]))
            .set_delay(Duration::from_secs(30)),
    )
    .await;
    let client = Client::builder()
        .token("t")
        .base_url(server.uri())
        .http_client(
            reqwest::Client::builder()
                .pool_idle_timeout(None)
                .build()
                .unwrap(),
        )
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let err = client.list_queues().send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn status_outside_the_description_is_unexpected() {
    let server = server_answering("/v2/queues", ResponseTemplate::new(304)).await;
    let client = client(&server, "t", AuthMode::Bearer);
    let err = client.list_queues().send().await.unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedStatus(StatusCode::NOT_MODIFIED)),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(StatusCode::NOT_MODIFIED));
    assert_eq!(
        err.to_string(),
        "QStash answered with unexpected status 304 Not Modified"
    );
}

#[tokio::test]
async fn missing_required_parameter_is_an_invalid_request() {
    let server = MockServer::start().await;
    let client = client(&server, "t", AuthMode::Bearer);
    let err = client.get_message().send().await.unwrap_err();
    let Error::InvalidRequest(message) = &err else {
        panic!("expected InvalidRequest, got {err:?}");
    };
    // The operation, the parameter and the fix, and that nothing was sent.
    assert_eq!(
        message,
        "get_message (`GET /v2/messages/{messageId}`): `message_id` is required and was not set: set it with `.message_id(...)`. Nothing was sent."
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
