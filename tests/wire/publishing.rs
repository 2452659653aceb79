//! Issue "Publishing options, retries and rate limits", on the wire.

use std::time::{Duration, UNIX_EPOCH};

use qstash::{
    BatchEntry, Body, Callback, Client, DeliveryMethod, FlowControl, MessageOptions, Redact,
    RetryPolicy,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common;

/// The publishing tests' client: `retry` is what they vary.
fn client(server: &MockServer, retry: RetryPolicy) -> Client {
    common::client_with(server.uri(), "tok", |b| {
        b.retry_policy(retry).timeout(Duration::from_secs(5))
    })
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

fn published() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({"messageId": "msg_1"}))
}

#[tokio::test]
async fn every_option_goes_out_as_its_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/publish/https:%2F%2Fexample.com%2Fhook"))
        .respond_with(published())
        .expect(1)
        .mount(&server)
        .await;
    let options = MessageOptions::new()
        .forward_header("X-Trace", "t-1")
        .forward_header("Content-Type", "text/csv")
        .forward_header("Upstash-Retries", "9")
        .delay(Duration::from_secs(90))
        .not_before(UNIX_EPOCH + Duration::from_secs(1_900_000_000))
        .retry_delay("1000 * retried")
        .timeout(Duration::from_secs(20))
        .method(DeliveryMethod::Patch)
        .callback(
            Callback::new("https://cb.example/done")
                .retries(2)
                .method(DeliveryMethod::Put)
                .forward_header("X-A", "a"),
        )
        .failure_callback(
            Callback::new("https://cb.example/fail")
                .timeout(Duration::from_secs(3))
                .retry_delay("500"),
        )
        .deduplication_id("dedup-1")
        .content_based_deduplication()
        .flow_control(
            FlowControl::new("tenant-7")
                .parallelism(4)
                .rate(100)
                .period(Duration::from_secs(60)),
        )
        .label("billing")
        .label("eu")
        .redact(Redact::Headers);
    let sent = client(&server, RetryPolicy::none())
        .publish()
        .destination("https://example.com/hook")
        .payload(Body::json(&serde_json::json!({"n": 1})).unwrap())
        .options(options)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(sent.into_inner(), qstash::types::PublishResult::PublishResponse(r) if r.message_id.as_deref() == Some("msg_1"))
    );

    let r = &server.received_requests().await.unwrap()[0];
    let expected = [
        ("upstash-forward-x-trace", "t-1"),
        ("content-type", "text/csv"),
        ("upstash-retries", "9"),
        ("upstash-delay", "90s"),
        ("upstash-not-before", "1900000000"),
        ("upstash-retry-delay", "1000 * retried"),
        ("upstash-timeout", "20s"),
        ("upstash-method", "PATCH"),
        ("upstash-callback", "https://cb.example/done"),
        ("upstash-callback-method", "PUT"),
        ("upstash-callback-retries", "2"),
        ("upstash-callback-forward-x-a", "a"),
        ("upstash-failure-callback", "https://cb.example/fail"),
        ("upstash-failure-callback-timeout", "3s"),
        ("upstash-failure-callback-retry-delay", "500"),
        ("upstash-deduplication-id", "dedup-1"),
        ("upstash-content-based-deduplication", "true"),
        ("upstash-flow-control-key", "tenant-7"),
        (
            "upstash-flow-control-value",
            "parallelism=4, rate=100, period=60s",
        ),
        ("upstash-label", "billing,eu"),
        // The service's spelling for every header (service evidence row 10).
        ("upstash-redact-fields", "header"),
    ];
    for (name, value) in expected {
        assert_eq!(header(r, name), Some(value), "{name}");
    }
    assert_eq!(r.body, br#"{"n":1}"#);
    assert_eq!(header(r, "authorization"), Some("Bearer tok"));
}

#[tokio::test]
async fn payloads_set_their_content_type_and_options_win_over_it_when_given() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(published())
        .mount(&server)
        .await;
    let c = client(&server, RetryPolicy::none());
    c.publish()
        .destination("d")
        .payload(Body::text("héllo"))
        .send()
        .await
        .unwrap();
    c.publish()
        .destination("d")
        .payload(Body::bytes(vec![0u8, 159], "application/x-raw"))
        .send()
        .await
        .unwrap();
    let rs = server.received_requests().await.unwrap();
    assert_eq!(
        (header(&rs[0], "content-type"), rs[0].body.as_slice()),
        (Some("text/plain; charset=utf-8"), "héllo".as_bytes())
    );
    assert_eq!(
        (header(&rs[1], "content-type"), rs[1].body.as_slice()),
        (Some("application/x-raw"), &[0u8, 159][..])
    );
}

#[tokio::test]
async fn enqueue_schedule_and_dlq_retry_take_options() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue/orders/https:%2F%2Fe.com%2Fx"))
        .respond_with(published())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/schedules/https:%2F%2Fe.com%2Fx"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"scheduleId": "s-1"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/dlq/retry/dlq-1"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(serde_json::json!({"messageId": "m-2"})),
        )
        .mount(&server)
        .await;
    let c = client(&server, RetryPolicy::none());
    c.enqueue()
        .queue_name("orders")
        .destination("https://e.com/x")
        .payload(Body::text("x"))
        .options(MessageOptions::new().label("q"))
        .send()
        .await
        .unwrap();
    c.create_schedule()
        .destination("https://e.com/x")
        .payload(Body::text("tick"))
        .options(
            MessageOptions::new()
                .cron("*/5 * * * *")
                .schedule_id("s-1")
                .retries(1),
        )
        .send()
        .await
        .unwrap();
    c.retry_dlq_message()
        .dlq_id("dlq-1")
        .options(MessageOptions::new().retries(0))
        .send()
        .await
        .unwrap();
    let rs = server.received_requests().await.unwrap();
    assert_eq!(header(&rs[0], "upstash-label"), Some("q"));
    assert_eq!(
        (
            header(&rs[1], "upstash-cron"),
            header(&rs[1], "upstash-schedule-id")
        ),
        (Some("*/5 * * * *"), Some("s-1"))
    );
    assert_eq!(header(&rs[1], "upstash-retries"), Some("1"));
    assert_eq!(header(&rs[2], "upstash-retries"), Some("0"));
}

#[tokio::test]
async fn batch_entries_become_the_documented_json_and_results_keep_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/batch"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([{"messageId": "a"}, {"messageId": "b"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let results = client(&server, RetryPolicy::none())
        .batch()
        .entries([
            BatchEntry::new("https://e.com/a")
                .payload(Body::text("first"))
                .options(MessageOptions::new().delay(Duration::from_secs(5))),
            BatchEntry::new("https://e.com/b")
                .queue("orders")
                .payload(Body::json(&serde_json::json!({"n": 2})).unwrap())
                .options(
                    MessageOptions::new()
                        .forward_header("X-K", "v")
                        .label("l1")
                        .label("l2"),
                ),
            BatchEntry::new("my-url-group"),
        ])
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = results
        .iter()
        .map(|r| r.messages()[0].message_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    let body: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        body,
        serde_json::json!([
            {"destination": "https://e.com/a", "body": "first", "headers": {"content-type": "text/plain; charset=utf-8", "upstash-delay": "5s"}},
            {"destination": "https://e.com/b", "queue": "orders", "body": "{\"n\":2}", "headers": {
                "content-type": "application/json", "upstash-forward-x-k": "v", "upstash-label": "l1,l2"}},
            {"destination": "my-url-group"}
        ])
    );
}

#[tokio::test]
async fn invalid_options_never_reach_the_server() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(published())
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server, RetryPolicy::none());
    let cases: Vec<(MessageOptions, &str)> = vec![
        (
            MessageOptions::new().forward_header("Bad Header", "v"),
            "forward_header",
        ),
        (
            MessageOptions::new().delay(Duration::from_secs(400 * 24 * 3600)),
            "delay",
        ),
        (MessageOptions::new().label("a,b"), "label"),
        (
            MessageOptions::new().flow_control(FlowControl::new("k").parallelism(0)),
            "flow_control",
        ),
        (MessageOptions::new().cron("* * * * *"), "cron"),
        (
            MessageOptions::new().callback(Callback::new("nope")),
            "callback",
        ),
    ];
    for (options, option) in cases {
        let err = c
            .publish()
            .destination("d")
            .payload(Body::text("x"))
            .options(options)
            .send()
            .await
            .unwrap_err();
        match &err {
            qstash::Error::InvalidOption { option: got, .. } => assert_eq!(got, option),
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains(option), "{err}");
    }
    let err = c
        .batch()
        .entries([
            BatchEntry::new("a"),
            BatchEntry::new("b").options(MessageOptions::new().label("x,y")),
        ])
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("batch entry 1: label"), "{err}");
    let err = c
        .batch()
        .entries([BatchEntry::new("a").payload(Body::bytes(vec![0xff, 0xfe], "application/x-bin"))])
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("batch entry 0: body"), "{err}");
}

/// An HTTP client with no timer of its own (no pool idle timeout, no
/// timeouts), so that under a paused clock time moves only by the retry
/// policy's sleeps.
fn paused_clock_http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(None)
        .build()
        .unwrap()
}

async fn count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn server_errors_are_retried_only_where_repeating_is_harmless() {
    let fast = RetryPolicy::attempts(3)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(2));
    // GET: retried until it succeeds.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    let queues = client(&server, fast.clone())
        .list_queues()
        .send()
        .await
        .unwrap();
    assert!(queues.is_empty());
    assert_eq!(count(&server).await, 3);

    // A state-setting POST (pause) is retried; at most 3 attempts in all.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client(&server, fast.clone())
        .pause_queue()
        .queue_name("q")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(count(&server).await, 3);

    // A POST that is not idempotent is not.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    client(&server, fast.clone())
        .rotate_signing_keys()
        .send()
        .await
        .unwrap_err();
    assert_eq!(count(&server).await, 1);

    // Publish without a deduplication id: once.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let c = client(&server, fast.clone());
    c.publish()
        .destination("d")
        .payload(Body::text("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        count(&server).await,
        1,
        "a publish without deduplication id must not be repeated"
    );

    // With one: retried.
    c.publish()
        .destination("d")
        .payload(Body::text("x"))
        .options(MessageOptions::new().deduplication_id("once"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(count(&server).await, 4);
    let rs = server.received_requests().await.unwrap();
    assert!(
        rs[1..]
            .iter()
            .all(|r| header(r, "upstash-deduplication-id") == Some("once") && r.body == b"x")
    );

    // A batch is retried only when every entry is deduplicated.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let c = client(&server, fast.clone());
    let dedup = |id: &str| MessageOptions::new().deduplication_id(id);
    c.batch()
        .entries([
            BatchEntry::new("a").options(dedup("1")),
            BatchEntry::new("b"),
        ])
        .send()
        .await
        .unwrap_err();
    assert_eq!(count(&server).await, 1);
    c.batch()
        .entries([
            BatchEntry::new("a").options(dedup("1")),
            BatchEntry::new("b").options(dedup("2")),
        ])
        .send()
        .await
        .unwrap_err();
    assert_eq!(count(&server).await, 4);

    // RetryPolicy::none(): never.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    client(&server, RetryPolicy::none())
        .list_queues()
        .send()
        .await
        .unwrap_err();
    assert_eq!(count(&server).await, 1);
}

/// With the clock paused, time moves only by the client's own sleeps: the
/// virtual time a call takes is exactly the backoff it waited, so it counts
/// the retries without any timing of real work.
#[tokio::test(start_paused = true)]
async fn a_connection_failure_before_any_response_is_retried() {
    // Nothing listens on this port: every attempt is refused at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = |retry| {
        Client::builder()
            .token("t")
            .base_url(format!("http://{addr}"))
            .http_client(paused_clock_http())
            .no_timeout()
            .retry_policy(retry)
            .build()
            .unwrap()
    };
    let policy = RetryPolicy::attempts(3)
        .initial_backoff(Duration::from_secs(10))
        .max_backoff(Duration::from_secs(10));
    let start = tokio::time::Instant::now();
    let err = c(policy)
        .publish()
        .destination("d")
        .payload(Body::text("x"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_network(), "{err}");
    // Two backoffs of 5..10 s each (equal jitter): the refused publish,
    // which has no deduplication id, was tried three times.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited <= Duration::from_secs(20),
        "{waited:?}"
    );
    let start = tokio::time::Instant::now();
    c(RetryPolicy::none())
        .publish()
        .destination("d")
        .payload(Body::text("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO, "no retry, no wait");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    let c = Client::builder()
        .token("t")
        .base_url(server.uri())
        .http_client(paused_clock_http())
        .no_timeout()
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    c.list_queues().send().await.unwrap();
    // Virtual time: exactly the wait the client chose, however long the
    // real work took.
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    assert_eq!(count(&server).await, 2);
}

#[tokio::test(start_paused = true)]
async fn a_publish_is_retried_after_a_rate_limit_reset_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Burst-RateLimit-Reset", "3"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(published())
        .mount(&server)
        .await;
    let c = Client::builder()
        .token("t")
        .base_url(server.uri())
        .http_client(paused_clock_http())
        .no_timeout()
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    c.publish()
        .destination("d")
        .payload(Body::text("x"))
        .send()
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        count(&server).await,
        2,
        "429 is retried even for publish: nothing was created"
    );
}
