//! Hostile inputs through the HTTP API, as curl sends them: bounded at
//! parse time, answered with the service's error shape, and never able to
//! stop the dispatcher.

use crate::common;

use common::{Sink, bounded, server};
use qstash_dev::Server;
use serde_json::Value;

/// Sends `method path` with the token and `headers`; the status and the
/// JSON body (`Null` when empty).
pub async fn raw(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = crate::common::http()
        .request(method, format!("{}{path}", server.url()))
        .header("Authorization", format!("Bearer {}", server.token()))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

fn error_of(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_huge_flow_control_period_is_refused_and_delivery_goes_on() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let path = format!("/v2/publish/{}", sink.url("/a"));
        let (status, body) = raw(
            &server,
            "POST",
            &path,
            &[
                ("Upstash-Flow-Control-Key", "k"),
                (
                    "Upstash-Flow-Control-Value",
                    "rate=1, period=10000000000000000s",
                ),
            ],
            "x",
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(error_of(&body).contains("period"), "{body}");
        let (status, body) = raw(
            &server,
            "POST",
            "/v2/flowControl/k/pin?rate=1&period=18446744073709552",
            &[],
            "",
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(error_of(&body).contains("period"), "{body}");
        // The dispatcher still delivers, flow-controlled or not.
        let (status, body) = raw(
            &server,
            "POST",
            &path,
            &[
                ("Upstash-Flow-Control-Key", "k"),
                ("Upstash-Flow-Control-Value", "rate=1, period=1s"),
            ],
            "y",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        sink.wait_for(1).await;
    })
    .await;
}

#[tokio::test]
async fn oversized_message_settings_are_refused_naming_the_limit() {
    bounded(async {
        let server = server().await;
        let long = "x".repeat(5000);
        let cases: Vec<(&str, &str, &str)> = vec![
            ("Upstash-Timeout", "1000000h", "timeout"),
            ("Upstash-Retries", "1000000", "retries"),
            ("Upstash-Delay", "100000d", "delay"),
            ("Upstash-Not-Before", "99999999999999", "not-before"),
            ("Upstash-Not-Before", "-5", "not-before"),
            ("Upstash-Retry-Delay", &long, "retry-delay"),
            ("Upstash-Callback-Retries", "1000000", "retries"),
            ("Upstash-Failure-Callback-Timeout", "1000000h", "timeout"),
        ];
        for (name, value, word) in cases {
            let mut headers = vec![(name, value)];
            if name.starts_with("Upstash-Callback-") {
                headers.push(("Upstash-Callback", "http://127.0.0.1:1/cb"));
            }
            if name.starts_with("Upstash-Failure-Callback-") {
                headers.push(("Upstash-Failure-Callback", "http://127.0.0.1:1/cb"));
            }
            let (status, body) = raw(
                &server,
                "POST",
                "/v2/publish/http://127.0.0.1:1/x",
                &headers,
                "x",
            )
            .await;
            assert_eq!(status, 400, "{name}: {body}");
            let error = error_of(&body).to_ascii_lowercase();
            assert!(error.contains(word), "{name}: {body}");
            assert!(error.contains("at most"), "{name}: {body}");
        }
        for value in ["parallelism=1000000", "rate=100000000", "period=30d"] {
            let (status, body) = raw(
                &server,
                "POST",
                "/v2/publish/http://127.0.0.1:1/x",
                &[
                    ("Upstash-Flow-Control-Key", "k"),
                    ("Upstash-Flow-Control-Value", value),
                ],
                "x",
            )
            .await;
            assert_eq!(status, 400, "{value}: {body}");
            assert!(error_of(&body).contains("at most"), "{value}: {body}");
        }
        for query in ["parallelism=1000000", "rate=100000000", "period=30d"] {
            let (status, body) = raw(
                &server,
                "POST",
                &format!("/v2/flowControl/k/pin?{query}"),
                &[],
                "",
            )
            .await;
            assert_eq!(status, 400, "{query}: {body}");
            assert!(error_of(&body).contains("at most"), "{query}: {body}");
        }
        // At the limits, all is accepted.
        let (status, body) = raw(
            &server,
            "POST",
            "/v2/publish/http://127.0.0.1:1/x",
            &[
                ("Upstash-Timeout", "2h"),
                ("Upstash-Retries", "100"),
                ("Upstash-Delay", "365d"),
                ("Upstash-Flow-Control-Key", "k"),
                (
                    "Upstash-Flow-Control-Value",
                    "parallelism=1000, rate=1000000, period=7d",
                ),
            ],
            "x",
        )
        .await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
}

/// Evidence row 21: periods as durations, the default period, no `rate`
/// when only parallelism was set; in the header and in the pin route.
#[tokio::test]
async fn flow_control_periods_read_as_durations_with_a_default() {
    bounded(async {
        let server = server().await;
        let publish = |value: &'static str, key: &'static str| {
            let server = &server;
            async move {
                let (status, body) = raw(
                    server,
                    "POST",
                    "/v2/publish/http://127.0.0.1:1/x",
                    &[
                        ("Upstash-Delay", "1h"),
                        ("Upstash-Flow-Control-Key", key),
                        ("Upstash-Flow-Control-Value", value),
                    ],
                    "x",
                )
                .await;
                assert_eq!(status, 200, "{body}");
                let id = body["messageId"].as_str().expect("messageId").to_owned();
                let (status, message) =
                    raw(server, "GET", &format!("/v2/messages/{id}"), &[], "").await;
                assert_eq!(status, 200, "{message}");
                message
            }
        };
        let m = publish("rate=10, period=1h30m3s", "a").await;
        assert_eq!(m["period"], 5403, "{m}");
        assert_eq!(m["rate"], 10, "{m}");
        let m = publish("parallelism=2", "b").await;
        assert_eq!(m["period"], 1, "{m}");
        assert_eq!(m["parallelism"], 2, "{m}");
        assert!(m.get("rate").is_none(), "{m}");
        let (_, key) = raw(&server, "GET", "/v2/flowControl/b", &[], "").await;
        assert_eq!(key["ratePeriod"], 1, "{key}");
        assert!(key.get("rateMax").is_none(), "{key}");

        let (status, body) = raw(
            &server,
            "POST",
            "/v2/flowControl/c/pin?rate=5&period=1h30m3s",
            &[],
            "",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (_, key) = raw(&server, "GET", "/v2/flowControl/c", &[], "").await;
        assert_eq!(key["ratePeriod"], 5403, "{key}");
        assert_eq!(key["rateMax"], 5, "{key}");
        let (status, body) = raw(
            &server,
            "POST",
            "/v2/flowControl/d/pin?parallelism=3",
            &[],
            "",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (_, key) = raw(&server, "GET", "/v2/flowControl/d", &[], "").await;
        assert_eq!(key["ratePeriod"], 1, "{key}");
        assert_eq!(key["parallelismMax"], 3, "{key}");
        assert!(key.get("rateMax").is_none(), "{key}");
        let (status, body) = raw(&server, "POST", "/v2/flowControl/d/pin?period=1x", &[], "").await;
        assert_eq!(status, 400, "{body}");
    })
    .await;
}

#[tokio::test]
async fn publishing_past_the_byte_budget_answers_412() {
    bounded(async {
        let server = Server::builder()
            .port(0)
            .limits(qstash_dev::Limits {
                max_store_bytes: 1_000_000,
                ..qstash_dev::Limits::default()
            })
            .start()
            .await
            .expect("start");
        let body = "b".repeat(200_000);
        let mut accepted = 0;
        loop {
            let (status, answer) = raw(
                &server,
                "POST",
                "/v2/publish/http://127.0.0.1:1/x",
                &[("Upstash-Delay", "1h")],
                &body,
            )
            .await;
            if status == 412 {
                assert!(error_of(&answer).contains("bytes"), "{answer}");
                break;
            }
            assert_eq!(status, 200, "{answer}");
            accepted += 1;
            assert!(accepted < 10, "never refused");
        }
        assert_eq!(accepted, 4);
    })
    .await;
}

/// A destination that answers 500 with a body that never ends.
async fn endless_destination() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use axum::body::{Body, Bytes};
    use axum::http::StatusCode;
    let app = axum::Router::new().fallback(|| async {
        let chunks = futures::stream::repeat_with(|| {
            Ok::<_, std::convert::Infallible>(Bytes::from(vec![b'z'; 64 * 1024]))
        });
        (StatusCode::INTERNAL_SERVER_ERROR, Body::from_stream(chunks))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

#[tokio::test]
async fn a_response_body_past_the_cap_is_not_read_to_the_end() {
    bounded(async {
        let server = Server::builder()
            .port(0)
            .limits(qstash_dev::Limits {
                max_response_bytes: 1000,
                ..qstash_dev::Limits::default()
            })
            .start()
            .await
            .expect("start");
        let (addr, task) = endless_destination().await;
        let (status, answer) = raw(
            &server,
            "POST",
            &format!("/v2/publish/http://{addr}/endless"),
            &[("Upstash-Retries", "0")],
            "x",
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let entry = loop {
            let (_, dlq) = raw(&server, "GET", "/v2/dlq", &[], "").await;
            if let Some(m) = dlq["messages"].as_array().and_then(|a| a.first()) {
                break m.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert_eq!(entry["responseStatus"], 500);
        assert_eq!(entry["responseBody"].as_str().map(str::len), Some(1000));
        task.abort();
    })
    .await;
}

#[tokio::test]
async fn a_refused_add_endpoints_leaves_no_empty_group_behind() {
    bounded(async {
        let server = Server::builder()
            .port(0)
            .limits(qstash_dev::Limits {
                max_url_groups: 1,
                max_endpoints_per_group: 1,
                ..qstash_dev::Limits::default()
            })
            .start()
            .await
            .expect("start");
        let two =
            r#"{"endpoints":[{"url":"http://127.0.0.1:1/a"},{"url":"http://127.0.0.1:1/b"}]}"#;
        let json = [("Content-Type", "application/json")];
        let (status, body) = raw(&server, "POST", "/v2/topics/a/endpoints", &json, two).await;
        assert_eq!(status, 412, "{body}");
        let (status, body) = raw(&server, "GET", "/v2/topics/a", &[], "").await;
        assert_eq!(status, 404, "{body}");
        let one = r#"{"endpoints":[{"url":"http://127.0.0.1:1/a"}]}"#;
        let (status, body) = raw(&server, "POST", "/v2/topics/b/endpoints", &json, one).await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
}

/// A message that asks for redaction does not give its body or its
/// redacted headers away through its callback, nor in the callback's own
/// record.
#[tokio::test]
async fn callbacks_keep_the_redaction_of_their_message() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let (status, answer) = raw(
            &server,
            "POST",
            &format!("/v2/publish/{}", sink.url("/dest")),
            &[
                ("Upstash-Redact-Fields", "body, header[X-Secret]"),
                ("Upstash-Forward-X-Secret", "s3cr3t-header"),
                ("Upstash-Forward-X-Plain", "plain"),
                ("Upstash-Callback", &sink.url("/cb")),
                ("Upstash-Callback-Forward-X-Secret", "s3cr3t-callback"),
            ],
            "s3cr3t-body",
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let got = sink.wait_for(2).await;
        let cb = got.iter().find(|r| r.path == "/cb").expect("the callback");
        let payload: Value = serde_json::from_slice(&cb.body).expect("JSON");
        let text = payload.to_string();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t-body");
        assert!(!text.contains("s3cr3t") && !text.contains(&b64), "{text}");
        assert_eq!(payload["sourceHeader"]["X-Plain"][0], "plain", "{text}");
        assert!(
            payload["sourceBody"]
                .as_str()
                .is_some_and(|b| b.starts_with("REDACTED:")),
            "{text}"
        );
        // The callback's own log records show neither.
        let (_, logs) = raw(&server, "GET", "/v2/logs", &[], "").await;
        for entry in logs["logs"].as_array().expect("logs") {
            if entry["url"].as_str().is_some_and(|u| u.ends_with("/cb")) {
                let shown = entry.to_string();
                assert!(!shown.contains("s3cr3t-callback"), "{shown}");
                assert!(
                    entry["body"]
                        .as_str()
                        .is_some_and(|b| b.starts_with("REDACTED:")),
                    "{shown}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn past_the_key_limit_an_idle_flow_control_key_goes_never_one_in_use() {
    bounded(async {
        let server = Server::builder()
            .port(0)
            .limits(qstash_dev::Limits {
                max_messages: 2,
                ..qstash_dev::Limits::default()
            })
            .start()
            .await
            .expect("start");
        let sink = Sink::start().await;
        let path = format!("/v2/publish/{}", sink.url("/a"));
        let publish = |key: &'static str| {
            let (server, path) = (&server, path.clone());
            async move {
                let headers = [
                    ("Upstash-Flow-Control-Key", key),
                    ("Upstash-Flow-Control-Value", "parallelism=1"),
                    ("Upstash-Delay", "1h"),
                ];
                let (status, body) = raw(server, "POST", &path, &headers, "x").await;
                assert_eq!(status, 200, "{key}: {body}");
            }
        };
        // `used` holds a waiting message; `idle` was paused and resumed:
        // nothing waits under it and nothing is pinned.
        publish("used").await;
        for action in ["pause", "resume"] {
            let path = format!("/v2/flowControl/idle/{action}");
            let (status, body) = raw(&server, "POST", &path, &[], "").await;
            assert_eq!(status, 200, "{action}: {body}");
        }
        // A third key makes room by dropping the idle one.
        publish("new").await;
        for (key, expected) in [("used", 200), ("new", 200), ("idle", 404)] {
            let path = format!("/v2/flowControl/{key}");
            let (status, body) = raw(&server, "GET", &path, &[], "").await;
            assert_eq!(status, expected, "{key}: {body}");
        }
    })
    .await;
}
