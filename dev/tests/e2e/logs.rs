//! The server's logs through `tracing`: what is logged, at which level,
//! and that no secret is.

use crate::common;

use std::time::Duration;

use base64::Engine as _;
use common::{Sink, bounded, capture_logs};
use qstash_dev::{Limits, Server};
use serde_json::Value;

const TOKEN: &str = "TOKEN-SECRET-4f1e9";
const WRONG_TOKEN: &str = "WRONG-SECRET-31c";
const CURRENT_KEY: &str = "sig_CURRENTSECRET9a2";
const NEXT_KEY: &str = "sig_NEXTSECRET77b";
const BODY: &str = "BODY-SECRET-c3d2e";
const HEADER_VALUE: &str = "HEADER-SECRET-88f";

/// The number a log line gives `name`.
fn field(line: &str, name: &str) -> u64 {
    let (_, rest) = line
        .split_once(&format!(" {name}="))
        .unwrap_or_else(|| panic!("{name} in {line}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{name} in {line}"))
}

/// The message id of a publish answer.
async fn message_id(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("JSON");
    answer["messageId"]
        .as_str()
        .expect("a message id")
        .to_owned()
}

#[tokio::test]
async fn publishes_deliveries_and_dlq_moves_are_logged_without_secrets() {
    let (logs, _guard) = capture_logs();
    bounded(async {
        let server = Server::builder()
            .token(TOKEN)
            .signing_keys(CURRENT_KEY, NEXT_KEY)
            .retry_delay_scale(0.001)
            .start()
            .await
            .expect("start");
        let base = server.url().to_owned();
        let ok = Sink::start().await;
        let failing = Sink::start().await;
        failing.set_status(500);
        failing.set_delay(Duration::from_millis(50));
        let http = common::http();
        let bearer = format!("Bearer {TOKEN}");

        // The token as a bearer, in the query, and in the query with its
        // name encoded; a forwarded header and a body each time.
        let by_bearer = message_id(
            http.post(format!("{base}/v2/publish/{}", ok.url("/bearer")))
                .header("Authorization", &bearer)
                .header("Upstash-Forward-X-Secret", HEADER_VALUE)
                .body(BODY)
                .send()
                .await
                .expect("publish"),
        )
        .await;
        let by_query = message_id(
            http.post(format!(
                "{base}/v2/publish/{}?x=1&qstash_token={TOKEN}",
                ok.url("/query")
            ))
            .header("Upstash-Forward-X-Secret", HEADER_VALUE)
            .body(BODY)
            .send()
            .await
            .expect("publish"),
        )
        .await;
        let by_encoded_query = message_id(
            http.post(format!(
                "{base}/v2/publish/{}?qstash%5Ftoken={TOKEN}&y=2",
                ok.url("/encoded")
            ))
            .body(BODY)
            .send()
            .await
            .expect("publish"),
        )
        .await;
        let dead = message_id(
            http.post(format!("{base}/v2/publish/{}", failing.url("/fail")))
                .header("Authorization", &bearer)
                .header("Upstash-Retries", "1")
                .header("Upstash-Failure-Callback", ok.url("/failure"))
                .header("Upstash-Forward-X-Secret", HEADER_VALUE)
                .body(BODY)
                .send()
                .await
                .expect("publish"),
        )
        .await;
        let refused = http
            .get(format!("{base}/v2/messages/{by_bearer}"))
            .header("Authorization", format!("Bearer {WRONG_TOKEN}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(refused.status(), 401);
        let missing = http
            .get(format!("{base}/v2/messages/msg_none?qstash_token={TOKEN}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(missing.status(), 404);

        // Three deliveries and the failure callback; two failed attempts.
        ok.wait_for(4).await;
        failing.wait_for(2).await;
        let dlq: Value = http
            .get(format!("{base}/v2/dlq"))
            .header("Authorization", &bearer)
            .send()
            .await
            .expect("GET /v2/dlq")
            .json()
            .await
            .expect("JSON");
        let dlq_id = dlq["messages"][0]["dlqId"]
            .as_str()
            .expect("a DLQ entry")
            .to_owned();

        // Accepted (debug), with the URL as published: the token gone.
        let line = logs.line_with(&["message accepted", &by_bearer]);
        assert!(line.contains("DEBUG"), "{line}");
        assert!(
            line.contains(&format!("url={}", ok.url("/bearer"))),
            "{line}"
        );
        let line = logs.line_with(&["message accepted", &by_query]);
        assert!(
            line.contains(&format!("url={}?x=1", ok.url("/query"))),
            "{line}"
        );
        let line = logs.line_with(&["message accepted", &by_encoded_query]);
        assert!(
            line.contains(&format!("url={}?y=2", ok.url("/encoded"))),
            "{line}"
        );

        // Delivered (debug): the attempt, the status, how long it took.
        for id in [&by_bearer, &by_query, &by_encoded_query] {
            let line = logs.wait_for(&["delivered", id]).await;
            assert!(line.contains("DEBUG"), "{line}");
            assert!(line.contains("attempt=1 status=200"), "{line}");
            assert!(line.contains("duration_ms="), "{line}");
            assert!(!line.contains("routed_to"), "{line}");
        }

        // A failed attempt with a retry left (info), then the DLQ (warn),
        // then the failure callback (debug).
        let line = logs.wait_for(&["retry scheduled", &dead]).await;
        assert!(line.contains(" INFO "), "{line}");
        assert!(line.contains("attempt=1 status=500"), "{line}");
        assert!(line.contains("retry_in_ms="), "{line}");
        assert!(
            line.contains(&format!("url={}", failing.url("/fail"))),
            "{line}"
        );
        assert!(field(&line, "duration_ms") >= 50, "{line}");
        let line = logs.wait_for(&["moved to the DLQ", &dead]).await;
        assert!(line.contains(" WARN "), "{line}");
        assert!(line.contains("attempt=2 status=500"), "{line}");
        assert!(line.contains(&format!("dlq_id={dlq_id}")), "{line}");
        let line = logs.line_with(&["callback queued", &dead]);
        assert!(line.contains("DEBUG"), "{line}");
        assert!(line.contains("callback_id=msg_"), "{line}");
        assert!(line.contains("kind=\"failure callback\""), "{line}");
        assert!(
            line.contains(&format!("url={}", ok.url("/failure"))),
            "{line}"
        );
        let callback = logs.wait_for(&["delivered", "callback=true"]).await;
        assert!(
            callback.contains(&format!("url={}", ok.url("/failure"))),
            "{callback}"
        );

        // Retried from the DLQ (debug): the new message and the entry.
        failing.set_status(200);
        let retried: Value = http
            .post(format!("{base}/v2/dlq/retry/{dlq_id}"))
            .header("Authorization", &bearer)
            .send()
            .await
            .expect("retry")
            .json()
            .await
            .expect("JSON");
        let again = retried["messageId"].as_str().expect("an id");
        let line = logs.line_with(&["retried from the DLQ", again]);
        assert!(line.contains("DEBUG"), "{line}");
        assert!(line.contains(&format!("dlq_id={dlq_id}")), "{line}");
        logs.wait_for(&["delivered", again]).await;

        // Every request (debug): method, path, status; refusals with why.
        let line = logs.line_with(&["request answered", "/query\""]);
        assert!(line.contains("DEBUG"), "{line}");
        assert!(
            line.contains(&format!(
                "method=POST path=\"/v2/publish/{}\" status=200",
                ok.url("/query")
            )),
            "{line}"
        );
        let line = logs.line_with(&["request refused", "status=401"]);
        assert!(line.contains("DEBUG"), "{line}");
        assert!(line.contains("error=\"invalid token\""), "{line}");
        let line = logs.line_with(&["request refused", "status=404"]);
        assert!(line.contains("path=\"/v2/messages/msg_none\""), "{line}");
        assert!(line.contains("not found"), "{line}");

        server.shutdown().await;
        let text = logs.text();
        assert!(text.contains(&format!("listening url={base}")), "{text}");
        assert!(
            text.contains(" INFO qstash_dev::delivery: stopped"),
            "{text}"
        );

        // Never: the token (presented or wrong), the keys, bodies (as sent
        // or as a callback carries them), header values, query strings.
        let encoded_body = base64::engine::general_purpose::STANDARD.encode(BODY);
        for secret in [
            TOKEN,
            WRONG_TOKEN,
            CURRENT_KEY,
            NEXT_KEY,
            BODY,
            &encoded_body,
            HEADER_VALUE,
            "qstash_token",
            "qstash%5Ftoken",
        ] {
            assert!(!text.contains(secret), "{secret} in:\n{text}");
        }
    })
    .await;
}

/// A limit refusing a publish is a warning, from the API or from a
/// schedule; a schedule firing is `info`.
#[tokio::test]
async fn limits_and_schedules_are_logged() {
    let (logs, _guard) = capture_logs();
    bounded(async {
        let server = Server::builder()
            .token(TOKEN)
            .cron_seconds(true)
            .limits(Limits {
                max_messages: 1,
                ..Limits::default()
            })
            .start()
            .await
            .expect("start");
        let base = server.url().to_owned();
        let sink = Sink::start().await;
        let http = common::http();
        let bearer = format!("Bearer {TOKEN}");
        let publish = || {
            http.post(format!("{base}/v2/publish/{}", sink.url("/later")))
                .header("Authorization", &bearer)
                .header("Upstash-Delay", "1h")
                .body(BODY)
        };
        let waiting = message_id(publish().send().await.expect("publish")).await;
        let refused = publish().send().await.expect("publish");
        assert_eq!(refused.status(), 412);
        let line = logs.line_with(&["request refused", "status=412"]);
        assert!(line.contains(" WARN "), "{line}");
        assert!(line.contains("message limit reached"), "{line}");

        let created: Value = http
            .post(format!("{base}/v2/schedules/{}", sink.url("/tick")))
            .header("Authorization", &bearer)
            .header("Upstash-Cron", "* * * * * *")
            .body(BODY)
            .send()
            .await
            .expect("schedule")
            .json()
            .await
            .expect("JSON");
        let schedule = created["scheduleId"].as_str().expect("an id").to_owned();
        let line = logs.wait_for(&["its publish was refused", &schedule]).await;
        assert!(line.contains(" WARN "), "{line}");
        assert!(line.contains("message limit reached"), "{line}");
        assert!(
            line.contains(&format!("destination={}", sink.url("/tick"))),
            "{line}"
        );

        let cancelled = http
            .delete(format!("{base}/v2/messages/{waiting}"))
            .header("Authorization", &bearer)
            .send()
            .await
            .expect("cancel");
        assert_eq!(cancelled.status(), 202);
        let fired = logs.wait_for(&["schedule fired", &schedule, "msg_"]).await;
        assert!(fired.contains(" INFO "), "{fired}");
        let delivery = sink.wait_for(1).await.remove(0);
        let id = delivery.header("Upstash-Message-Id").expect("an id");
        assert!(fired.contains(id), "{fired}");
        let line = logs.line_with(&["message accepted", id]);
        assert!(line.contains(&format!("schedule_id={schedule}")), "{line}");
        assert!(!logs.text().contains(BODY), "{}", logs.text());
    })
    .await;
}

/// Stopping: the grace period, then the deliveries cut short.
#[tokio::test]
async fn deliveries_cut_short_by_a_stop_are_warned_about() {
    let (logs, _guard) = capture_logs();
    bounded(async {
        let server = Server::builder()
            .shutdown_grace(Duration::from_millis(50))
            .start()
            .await
            .expect("start");
        let sink = Sink::start().await;
        sink.set_delay(Duration::from_secs(60));
        let id = message_id(
            common::http()
                .post(format!("{}/v2/publish/{}", server.url(), sink.url("/slow")))
                .header("Authorization", format!("Bearer {}", server.token()))
                .send()
                .await
                .expect("publish"),
        )
        .await;
        common::wait_until(|| sink.max_in_flight() >= 1).await;
        server.shutdown().await;
        let line = logs.line_with(&["stopping"]);
        assert!(line.contains(" INFO "), "{line}");
        assert!(line.contains("grace=50ms in_flight=1"), "{line}");
        let line = logs.line_with(&["retry scheduled", &id]);
        assert!(line.contains("development server stopped"), "{line}");
        assert!(!line.contains("duration_ms"), "{line}");
        let line = logs.line_with(&["stopped;"]);
        assert!(line.contains(" WARN "), "{line}");
        assert!(line.contains("cut_short=1"), "{line}");
    })
    .await;
}
