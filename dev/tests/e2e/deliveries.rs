//! End-to-end: the real client against the development server, with real
//! deliveries to a local receiver.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Sink, bounded, client, server};
use futures::TryStreamExt;
use qstash::{Receiver, types};

#[tokio::test]
async fn publish_is_delivered_once_with_a_valid_signature() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let sink = Sink::start().await;
        let url = sink.url("/hook");
        let sent = client
            .publish()
            .destination(url.as_str())
            .content_type("application/json")
            .upstash_label("billing")
            .body(r#"{"order":42}"#)
            .send()
            .await
            .expect("publish")
            .into_inner();
        let types::PublishResult::PublishResponse(sent) = sent else {
            panic!("one message expected, got {sent:?}");
        };
        let got = sink.wait_for(1).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(sink.count(), 1, "delivered exactly once");
        let r = &got[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/hook");
        assert_eq!(&r.body[..], br#"{"order":42}"#);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("upstash-message-id"), sent.message_id.as_deref());
        assert_eq!(r.header("upstash-retried"), Some("0"));
        let signature = r.header("upstash-signature").expect("a signature");
        let receiver = Receiver::new(server.current_signing_key(), server.next_signing_key());
        let claims = receiver
            .verify(signature, &r.body, Some(&url))
            .expect("the signature verifies");
        assert_eq!(claims.iss, "Upstash");
        // A tampered body does not verify.
        assert!(receiver.verify(signature, b"{}", Some(&url)).is_err());

        // The logs tell the story, newest first.
        let logs = client
            .list_logs()
            .message_id(sent.message_id.clone().unwrap_or_default())
            .send()
            .await
            .expect("logs")
            .into_inner();
        let states: Vec<String> = logs
            .logs
            .iter()
            .filter_map(|l| l.state.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(states, ["DELIVERED", "ACTIVE", "CREATED"]);
    })
    .await;
}

#[tokio::test]
async fn forwarded_headers_method_and_delay_are_honoured() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let sink = Sink::start().await;
        let started = std::time::Instant::now();
        client
            .publish()
            .destination(sink.url("/put"))
            .upstash_method(types::PublishUpstashMethod::Put)
            .upstash_delay("1s")
            .body("hello")
            .options(qstash::MessageOptions::new().forward_header("X-Order-Source", "test"))
            .send()
            .await
            .expect("publish");
        let got = sink.wait_for(1).await;
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "the delay is honoured"
        );
        assert_eq!(got[0].method, "PUT");
        assert_eq!(got[0].header("x-order-source"), Some("test"));
    })
    .await;
}

#[tokio::test]
async fn failures_are_retried_then_dead_lettered_and_retried_from_the_dlq() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let sink = Sink::start().await;
        sink.set_status(500);
        client
            .publish()
            .destination(sink.url("/flaky"))
            .upstash_retries(2)
            .body("payload")
            .send()
            .await
            .expect("publish");
        let got = sink.wait_for(3).await;
        let retried: Vec<_> = got
            .iter()
            .filter_map(|r| r.header("upstash-retried"))
            .collect();
        assert_eq!(retried, ["0", "1", "2"]);

        let mut dlq = Vec::new();
        for _ in 0..200 {
            dlq = client
                .list_dlq_messages()
                .send()
                .await
                .expect("list the DLQ")
                .into_inner()
                .messages;
            if !dlq.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(dlq.len(), 1);
        assert_eq!(dlq[0].response_status, Some(500));
        assert_eq!(dlq[0].body.as_deref(), Some("payload"));
        let dlq_id = dlq[0].dlq_id.clone().expect("a dlqId");
        assert_eq!(sink.count(), 3, "no attempt after the last retry");

        sink.set_status(200);
        client
            .retry_dlq_message()
            .dlq_id(dlq_id.as_str())
            .send()
            .await
            .expect("retry from the DLQ");
        sink.wait_for(4).await;
        let err = client
            .get_dlq_message()
            .dlq_id(dlq_id.as_str())
            .send()
            .await
            .expect_err("the original left the DLQ");
        assert!(err.is_not_found(), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn a_url_group_fans_out_to_every_endpoint() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let (a, b) = (Sink::start().await, Sink::start().await);
        client
            .add_url_group_endpoints()
            .url_group_name("team")
            .body(types::AddUrlGroupEndpointsBody {
                endpoints: vec![
                    types::AddUrlGroupEndpointsBodyEndpointsItem {
                        name: Some("a".into()),
                        url: a.url("/a"),
                    },
                    types::AddUrlGroupEndpointsBodyEndpointsItem {
                        name: None,
                        url: b.url("/b"),
                    },
                ],
            })
            .send()
            .await
            .expect("add endpoints");
        let sent = client
            .publish()
            .destination("team")
            .body("to all")
            .send()
            .await
            .expect("publish")
            .into_inner();
        let types::PublishResult::Array(all) = sent else {
            panic!("one result per endpoint expected, got {sent:?}");
        };
        assert_eq!(all.len(), 2);
        assert_eq!(&a.wait_for(1).await[0].body[..], b"to all");
        assert_eq!(&b.wait_for(1).await[0].body[..], b"to all");
        assert_eq!(a.received()[0].header("upstash-topic-name"), Some("team"));
    })
    .await;
}

#[tokio::test]
async fn a_schedule_fires_every_second_and_stops_when_deleted() {
    bounded(async {
        // Seconds in a cron expression are a test setting: the service (and
        // this server by default) takes five fields only.
        let server = qstash_dev::Server::builder()
            .port(0)
            .retry_delay_scale(0.001)
            .cron_seconds(true)
            .start()
            .await
            .expect("start the server");
        let client = client(&server);
        let sink = Sink::start().await;
        let created = client
            .create_schedule()
            .destination(sink.url("/tick"))
            .upstash_cron("* * * * * *")
            .body("tick")
            .send()
            .await
            .expect("create the schedule")
            .into_inner();
        let id = created.schedule_id.expect("a schedule id");
        tokio::time::timeout(Duration::from_secs(3), sink.wait_for(1))
            .await
            .expect("the schedule fired within 3 s");
        assert_eq!(
            sink.received()[0].header("upstash-schedule-id"),
            Some(id.as_str())
        );
        let schedule = client
            .get_schedule()
            .schedule_id(id.as_str())
            .send()
            .await
            .expect("get the schedule")
            .into_inner();
        assert_eq!(schedule.cron, "* * * * * *");
        assert!(schedule.last_schedule_time.is_some());
        client
            .delete_schedule()
            .schedule_id(id.as_str())
            .send()
            .await
            .expect("delete the schedule");
        let after_delete = sink.count();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        // A message created just before the delete may still arrive.
        assert!(sink.count() <= after_delete + 1, "the schedule kept firing");
    })
    .await;
}

#[tokio::test]
async fn a_queue_with_parallelism_one_delivers_one_at_a_time_in_order() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let sink = Sink::start().await;
        sink.set_delay(Duration::from_millis(80));
        client
            .upsert_queue()
            .body(types::UpsertQueueBody {
                queue_name: "serial".into(),
                parallelism: std::num::NonZeroU64::MIN,
                paused: None,
            })
            .send()
            .await
            .expect("upsert the queue");
        for i in 0..5 {
            client
                .enqueue()
                .queue_name("serial")
                .destination(sink.url("/q"))
                .body(i.to_string())
                .send()
                .await
                .expect("enqueue");
        }
        let got = sink.wait_for(5).await;
        assert_eq!(sink.max_in_flight(), 1, "deliveries overlapped");
        let order: Vec<String> = got
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        assert_eq!(order, ["0", "1", "2", "3", "4"]);
    })
    .await;
}

#[tokio::test]
async fn a_paused_queue_holds_its_messages_until_resumed() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let sink = Sink::start().await;
        client
            .upsert_queue()
            .body(types::UpsertQueueBody {
                queue_name: "held".into(),
                parallelism: std::num::NonZeroU64::MIN,
                paused: Some(true),
            })
            .send()
            .await
            .expect("upsert the queue");
        for _ in 0..2 {
            client
                .enqueue()
                .queue_name("held")
                .destination(sink.url("/held"))
                .body("wait")
                .send()
                .await
                .expect("enqueue");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sink.count(), 0);
        let get_queue = || async {
            client
                .get_queue()
                .queue_name("held")
                .send()
                .await
                .expect("get the queue")
                .into_inner()
        };
        let queue = get_queue().await;
        assert_eq!((queue.lag, queue.paused), (Some(2), Some(true)));
        client
            .resume_queue()
            .queue_name("held")
            .send()
            .await
            .expect("resume");
        sink.wait_for(2).await;
        // Nothing waits any more.
        while get_queue().await.lag != Some(0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn bulk_delete_of_the_dlq_pages_through_cursors() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let sink = Sink::start().await;
        sink.set_status(500);
        let entries: Vec<types::BatchBodyItem> = (0..130)
            .map(|i| types::BatchBodyItem {
                destination: sink.url("/dead"),
                body: Some(i.to_string()),
                headers: HashMap::from([("Upstash-Retries".to_string(), "0".to_string())]),
                queue: None,
            })
            .collect();
        client.batch().body(entries).send().await.expect("batch");
        sink.wait_for(130).await;
        let mut listed = 0;
        for _ in 0..300 {
            let all: Vec<_> = client
                .list_dlq_messages()
                .stream()
                .try_collect()
                .await
                .expect("list the DLQ");
            listed = all.len();
            if listed == 130 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            listed, 130,
            "every failed message is in the DLQ, over two pages"
        );
        // Everything, on purpose: `.all()` sends no filter and a `count`, as
        // the JS SDK's `{ all: true }` does (the server refuses a bare
        // request).
        let deleted = client
            .delete_dlq_messages()
            .all()
            .send_all()
            .await
            .expect("delete everything");
        assert_eq!(deleted, 130);
        let left = client
            .list_dlq_messages()
            .send()
            .await
            .expect("list")
            .into_inner();
        assert!(left.messages.is_empty());
        assert!(left.cursor.is_none());
    })
    .await;
}

#[tokio::test]
async fn after_key_rotation_deliveries_verify_with_the_old_next_key() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let sink = Sink::start().await;
        let old_next = server.next_signing_key();
        let rotated = client
            .rotate_signing_keys()
            .send()
            .await
            .expect("rotate")
            .into_inner();
        assert_eq!(rotated.current.as_deref(), Some(old_next.as_str()));
        let url = sink.url("/rotated");
        client
            .publish()
            .destination(url.as_str())
            .body("signed")
            .send()
            .await
            .expect("publish");
        let got = sink.wait_for(1).await;
        let signature = got[0].header("upstash-signature").expect("a signature");
        let new_next = rotated.next.unwrap_or_default();
        Receiver::new(old_next, new_next)
            .verify(signature, &got[0].body, Some(&url))
            .expect("verifies with the promoted key");
    })
    .await;
}

#[tokio::test]
async fn callbacks_report_each_attempt_and_failure_callbacks_the_end() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let (target, callbacks) = (Sink::start().await, Sink::start().await);
        target.set_status(503);
        client
            .publish()
            .destination(target.url("/t"))
            .upstash_retries(1)
            .upstash_callback(callbacks.url("/callback"))
            .upstash_failure_callback(callbacks.url("/failure"))
            .body("x")
            .send()
            .await
            .expect("publish");
        let got = callbacks.wait_for(3).await;
        let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths.iter().filter(|p| **p == "/callback").count(), 2);
        assert_eq!(paths.iter().filter(|p| **p == "/failure").count(), 1);
        let failure = got
            .iter()
            .find(|r| r.path == "/failure")
            .expect("failure callback");
        let body: serde_json::Value = serde_json::from_slice(&failure.body).expect("JSON");
        assert_eq!(body["status"], 503);
        assert_eq!(body["retried"], 1);
        assert!(body["dlqId"].is_string());
    })
    .await;
}

#[tokio::test]
async fn cancelled_messages_are_not_delivered() {
    bounded(async {
        let server = server().await;
        let client = client(&server);
        let sink = Sink::start().await;
        for label in ["drop", "keep"] {
            client
                .publish()
                .destination(sink.url("/later"))
                .upstash_delay("1s")
                .upstash_label(label)
                .body(label)
                .send()
                .await
                .expect("publish");
        }
        let cancelled = client
            .cancel_messages()
            .label(["drop"])
            .send()
            .await
            .expect("cancel")
            .into_inner();
        assert_eq!(cancelled.cancelled, Some(1));
        sink.wait_for(1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got = sink.received();
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0].body[..], b"keep");
    })
    .await;
}
