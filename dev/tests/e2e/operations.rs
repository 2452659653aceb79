//! Every operation of the client gets an answer that decodes; auth,
//! limits, raw destinations and error bodies.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Sink, bounded, client, server};
use qstash::{AuthMode, types};
use qstash_dev::{Limits, Server};

/// Waits until the DLQ holds at least `n` entries; returns their DLQ ids.
async fn dlq_ids(client: &qstash::Client, n: usize) -> Vec<String> {
    loop {
        let page = client
            .list_dlq_messages()
            .send()
            .await
            .expect("list the DLQ")
            .into_inner();
        if page.messages.len() >= n {
            return page.messages.into_iter().filter_map(|m| m.dlq_id).collect();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn every_operation_answers_and_decodes() {
    bounded(async {
        let server = server().await;
        let c = client(&server);
        let sink = Sink::start().await;
        let failing = Sink::start().await;
        failing.set_status(500);

        // Messages.
        c.publish()
            .destination(sink.url("/p"))
            .body("a")
            .send()
            .await
            .expect("publish");
        c.enqueue()
            .queue_name("ops")
            .destination(sink.url("/e"))
            .body("b")
            .send()
            .await
            .expect("enqueue");
        let batch = c
            .batch()
            .body(vec![
                types::BatchBodyItem {
                    destination: sink.url("/b1"),
                    body: Some("c".into()),
                    headers: HashMap::new(),
                    queue: None,
                },
                types::BatchBodyItem {
                    destination: sink.url("/b2"),
                    body: None,
                    headers: HashMap::new(),
                    queue: Some("ops".into()),
                },
            ])
            .send()
            .await
            .expect("batch")
            .into_inner();
        assert_eq!(batch.len(), 2);
        let delayed = c
            .publish()
            .destination(sink.url("/later"))
            .upstash_delay("1h")
            .upstash_flow_control_key("fk")
            .upstash_flow_control_value("parallelism=2, rate=10, period=1s")
            .body("d")
            .send()
            .await
            .expect("publish delayed")
            .into_inner();
        let types::PublishResult::PublishResponse(delayed) = delayed else {
            panic!("a single result expected");
        };
        let id = delayed.message_id.expect("message id");
        let message = c
            .get_message()
            .message_id(id.as_str())
            .send()
            .await
            .expect("get_message");
        assert_eq!(message.flow_control_key.as_deref(), Some("fk"));
        c.cancel_message()
            .message_id(id.as_str())
            .send()
            .await
            .expect("cancel_message");
        let err = c
            .get_message()
            .message_id(id.as_str())
            .send()
            .await
            .expect_err("gone");
        assert!(err.is_not_found());
        c.publish()
            .destination(sink.url("/later"))
            .upstash_delay("1h")
            .upstash_label("old")
            .body("e")
            .send()
            .await
            .expect("publish labelled");
        let cancelled = c
            .cancel_messages()
            .label(["old"])
            .async_(true)
            .send()
            .await
            .expect("cancel_messages")
            .into_inner();
        assert_eq!(cancelled.cancelled, Some(1));
        let action = cancelled.action_id.expect("an action id");
        let actions = c
            .list_bulk_actions()
            .send()
            .await
            .expect("list_bulk_actions")
            .into_inner();
        assert_eq!(actions.bulk_actions.len(), 1);
        c.get_bulk_action()
            .action_id(action.as_str())
            .send()
            .await
            .expect("get_bulk_action");

        // Queues.
        c.upsert_queue()
            .body(types::UpsertQueueBody {
                queue_name: "orders".into(),
                parallelism: std::num::NonZeroU64::new(2).expect("non-zero"),
                paused: Some(false),
            })
            .send()
            .await
            .expect("upsert_queue");
        let queues = c
            .list_queues()
            .send()
            .await
            .expect("list_queues")
            .into_inner();
        assert!(queues.iter().any(|q| q.name.as_deref() == Some("orders")));
        let q = c
            .get_queue()
            .queue_name("orders")
            .send()
            .await
            .expect("get_queue");
        assert_eq!(q.parallelism, Some(2));
        c.pause_queue()
            .queue_name("orders")
            .send()
            .await
            .expect("pause_queue");
        c.resume_queue()
            .queue_name("orders")
            .send()
            .await
            .expect("resume_queue");
        c.delete_queue()
            .queue_name("orders")
            .send()
            .await
            .expect("delete_queue");
        assert!(
            c.get_queue()
                .queue_name("orders")
                .send()
                .await
                .expect_err("gone")
                .is_not_found()
        );

        // Schedules.
        let created = c
            .create_schedule()
            .destination(sink.url("/cron"))
            .upstash_cron("0 0 1 1 *")
            .upstash_schedule_id("yearly")
            .upstash_queue_name("ops")
            .body("f")
            .send()
            .await
            .expect("create_schedule")
            .into_inner();
        assert_eq!(created.schedule_id.as_deref(), Some("yearly"));
        let all = c
            .list_schedules()
            .send()
            .await
            .expect("list_schedules")
            .into_inner();
        assert_eq!(all.len(), 1);
        c.pause_schedule()
            .schedule_id("yearly")
            .send()
            .await
            .expect("pause_schedule");
        let s = c
            .get_schedule()
            .schedule_id("yearly")
            .send()
            .await
            .expect("get_schedule");
        assert!(s.is_paused);
        assert_eq!(s.queue_name.as_deref(), Some("ops"));
        c.resume_schedule()
            .schedule_id("yearly")
            .send()
            .await
            .expect("resume_schedule");
        c.delete_schedule()
            .schedule_id("yearly")
            .send()
            .await
            .expect("delete_schedule");

        // URL groups.
        c.add_url_group_endpoints()
            .url_group_name("group")
            .body(types::AddUrlGroupEndpointsBody {
                endpoints: vec![
                    types::AddUrlGroupEndpointsBodyEndpointsItem {
                        name: Some("one".into()),
                        url: sink.url("/g1"),
                    },
                    types::AddUrlGroupEndpointsBodyEndpointsItem {
                        name: None,
                        url: sink.url("/g2"),
                    },
                ],
            })
            .send()
            .await
            .expect("add_url_group_endpoints");
        let groups = c
            .list_url_groups()
            .send()
            .await
            .expect("list_url_groups")
            .into_inner();
        assert_eq!(groups.len(), 1);
        let g = c
            .get_url_group()
            .url_group_name("group")
            .send()
            .await
            .expect("get_url_group");
        assert_eq!(g.endpoints.len(), 2);
        c.remove_url_group_endpoints()
            .url_group_name("group")
            .body(types::RemoveUrlGroupEndpointsBody {
                endpoints: vec![types::Endpoint {
                    name: Some("one".into()),
                    url: None,
                }],
            })
            .send()
            .await
            .expect("remove_url_group_endpoints");
        c.delete_url_group()
            .url_group_name("group")
            .send()
            .await
            .expect("delete_url_group");

        // Dead letter queue.
        for i in 0..4 {
            c.publish()
                .destination(failing.url("/fail"))
                .upstash_retries(0)
                .body(i.to_string())
                .send()
                .await
                .expect("publish failing");
        }
        let ids = dlq_ids(&c, 4).await;
        c.get_dlq_message()
            .dlq_id(ids[0].as_str())
            .send()
            .await
            .expect("get_dlq_message");
        c.retry_dlq_message()
            .dlq_id(ids[0].as_str())
            .send()
            .await
            .expect("retry_dlq_message");
        let retried = c
            .retry_dlq_messages()
            .dlq_ids([ids[1].as_str()])
            .send()
            .await
            .expect("retry_dlq_messages")
            .into_inner();
        assert_eq!(retried.responses.len(), 1);
        c.delete_dlq_message()
            .dlq_id(ids[2].as_str())
            .send()
            .await
            .expect("delete_dlq_message");
        let deleted = c
            .delete_dlq_messages()
            .dlq_ids([ids[3].as_str()])
            .send()
            .await
            .expect("delete_dlq_messages")
            .into_inner();
        assert_eq!(deleted.deleted, Some(1));
        let err = c
            .get_dlq_message()
            .dlq_id(ids[2].as_str())
            .send()
            .await
            .expect_err("gone");
        assert!(err.is_not_found());

        // Flow control (the key appeared with the delayed message above).
        let keys = c
            .list_flow_control_keys()
            .send()
            .await
            .expect("list_flow_control_keys");
        assert!(
            keys.iter()
                .any(|k| k.flow_control_key.as_deref() == Some("fk"))
        );
        let k = c
            .get_flow_control_key()
            .flow_control_key("fk")
            .send()
            .await
            .expect("get_flow_control_key");
        assert_eq!(
            (k.parallelism_max, k.rate_max, k.rate_period),
            (Some(2), Some(10), Some(1))
        );
        c.pause_flow_control_key()
            .flow_control_key("fk")
            .send()
            .await
            .expect("pause");
        c.resume_flow_control_key()
            .flow_control_key("fk")
            .send()
            .await
            .expect("resume");
        c.pin_flow_control_key()
            .flow_control_key("fk")
            .parallelism(4)
            .rate(100)
            .period(60)
            .send()
            .await
            .expect("pin");
        let k = c
            .get_flow_control_key()
            .flow_control_key("fk")
            .send()
            .await
            .expect("get");
        assert_eq!(
            (k.is_pinned_parallelism, k.parallelism_max),
            (Some(true), Some(4))
        );
        c.unpin_flow_control_key()
            .flow_control_key("fk")
            .parallelism(true)
            .rate(true)
            .send()
            .await
            .expect("unpin");
        c.reset_flow_control_rate()
            .flow_control_key("fk")
            .send()
            .await
            .expect("reset rate");
        let global = c
            .get_global_parallelism()
            .send()
            .await
            .expect("global parallelism");
        assert!(global.parallelism_max.is_some());
        let err = c
            .get_flow_control_key()
            .flow_control_key("unknown")
            .send()
            .await
            .expect_err("unknown key");
        assert!(err.is_not_found());

        // Keys and logs.
        let keys = c.get_signing_keys().send().await.expect("get_signing_keys");
        assert_eq!(
            keys.current.as_deref(),
            Some(server.current_signing_key().as_str())
        );
        c.rotate_signing_keys()
            .send()
            .await
            .expect("rotate_signing_keys");
        let logs = c
            .list_logs()
            .state(types::ListLogsState::Created)
            .count(5)
            .send()
            .await
            .expect("list_logs")
            .into_inner();
        assert_eq!(logs.logs.len(), 5);
        assert!(logs.cursor.is_some());
    })
    .await;
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_the_query_parameter_works() {
    bounded(async {
        let server = server().await;
        let wrong = qstash::Client::builder()
            .token("not-the-token")
            .base_url(server.url())
            .retry_policy(qstash::RetryPolicy::none())
            .build()
            .expect("client");
        let err = wrong.get_signing_keys().send().await.expect_err("401");
        assert!(err.is_unauthorized(), "{err:?}");
        let by_query = qstash::Client::builder()
            .token(server.token())
            .base_url(server.url())
            .auth_mode(AuthMode::QueryParameter)
            .build()
            .expect("client");
        by_query
            .get_signing_keys()
            .send()
            .await
            .expect("token in the query");
        let sink = Sink::start().await;
        by_query
            .publish()
            .destination(sink.url("/q"))
            .body("by query")
            .send()
            .await
            .expect("publish with the token in the query");
        let got = sink.wait_for(1).await;
        assert_eq!(
            got[0].path, "/q",
            "the token is not part of the destination"
        );
    })
    .await;
}

#[tokio::test]
async fn publishing_past_the_message_limit_is_refused_and_logs_stay_bounded() {
    bounded(async {
        let server = Server::builder()
            .port(0)
            .limits(Limits {
                max_messages: 3,
                max_log_entries: 4,
                ..Limits::default()
            })
            .start()
            .await
            .expect("start");
        let c = client(&server);
        let sink = Sink::start().await;
        for _ in 0..3 {
            c.publish()
                .destination(sink.url("/x"))
                .upstash_delay("1h")
                .body("x")
                .send()
                .await
                .expect("under the limit");
        }
        let err = c
            .publish()
            .destination(sink.url("/x"))
            .body("x")
            .send()
            .await
            .expect_err("over the limit");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(412));
        assert!(err.message().is_some_and(|m| m.contains("limit")));
        let logs = c.list_logs().send().await.expect("logs").into_inner();
        assert_eq!(logs.logs.len(), 3);
        // Everything, on purpose: `.all()` sends no filter and a `count`
        // (the server refuses a bare request).
        c.cancel_messages()
            .all()
            .send()
            .await
            .expect("cancel everything");
        let logs = c.list_logs().send().await.expect("logs").into_inner();
        assert_eq!(logs.logs.len(), 4, "the oldest entries were dropped");
    })
    .await;
}

#[tokio::test]
async fn raw_destinations_and_json_errors_over_plain_http() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        let http = common::http();
        let auth = format!("Bearer {}", server.token());
        // The official SDKs send the destination unencoded, query included.
        let response = http
            .post(format!(
                "{}/v2/publish/{}?x=1",
                server.url(),
                sink.url("/raw")
            ))
            .header("Authorization", &auth)
            .body("raw")
            .send()
            .await
            .expect("publish");
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(answer["url"], format!("{}?x=1", sink.url("/raw")));
        sink.wait_for(1).await;

        for (method, path, status) in [
            (reqwest::Method::GET, "/v2/nothing", 404),
            (reqwest::Method::PUT, "/v2/keys", 405),
            (reqwest::Method::GET, "/v2/messages/msg_unknown", 404),
            (reqwest::Method::GET, "/v2/queues/bad%20name", 400),
            (
                reqwest::Method::POST,
                "/v2/enqueue/q/https:%2F%2Fx.test",
                400,
            ),
        ] {
            let mut request = http
                .request(method.clone(), format!("{}{path}", server.url()))
                .header("Authorization", &auth);
            if path.starts_with("/v2/enqueue") {
                request = request.header("Upstash-Delay", "10s");
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status().as_u16(), status, "{method} {path}");
            let body: serde_json::Value = response.json().await.expect("a JSON error");
            assert!(body["error"].is_string(), "{method} {path}: {body}");
        }
        let response = http
            .get(format!("{}/v2/keys", server.url()))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401);
    })
    .await;
}

#[tokio::test]
async fn global_parallelism_counts_the_deliveries_in_flight() {
    bounded(async {
        let server = server().await;
        let sink = Sink::start().await;
        sink.set_delay(Duration::from_millis(500));
        let running = || async {
            let (status, body) =
                crate::bounds::raw(&server, "GET", "/v2/globalParallelism", &[], "").await;
            assert_eq!(status, 200, "{body}");
            body["parallelismCount"].as_u64().expect("parallelismCount")
        };
        assert_eq!(running().await, 0);
        let path = format!("/v2/publish/{}", sink.url("/slow"));
        let (status, body) = crate::bounds::raw(&server, "POST", &path, &[], "x").await;
        assert_eq!(status, 200, "{body}");
        while running().await != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sink.wait_for(1).await;
        while running().await != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
