//! Issue 22 through plain HTTP, shaped as the official SDKs and curl send
//! it: the bulk routes never act on everything unless asked (filters from
//! the query and a JSON body, unknown names and empty lists refused), the
//! service's shapes (`GET /v2/events`, schedules without a body, flow
//! control periods, cron errors), and batches and bulk DLQ retries that
//! queue all of their entries or none.

use crate::common;

use reqwest::Method;
use serde_json::{Value, json};

use common::{Sink, bounded};
use qstash_dev::{Limits, Server};

/// A server and raw requests to it with its token.
struct Api {
    server: Server,
    http: reqwest::Client,
}

/// A status and a JSON body (`Null` when there is none).
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

impl Api {
    async fn start() -> Self {
        Self::with_limits(Limits::default()).await
    }

    async fn with_limits(limits: Limits) -> Self {
        let server = Server::builder()
            .port(0)
            .retry_delay_scale(0.001)
            .limits(limits)
            .start()
            .await
            .expect("start the server");
        Self {
            server,
            http: crate::common::http(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.server.url()))
            .bearer_auth(self.server.token())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let text = response.text().await.expect("read the body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Answer { status, body }
    }

    async fn call(&self, method: Method, path: &str) -> Answer {
        self.send(self.request(method, path)).await
    }

    /// `method path` with a JSON body, as qstash-py sends its bulk filters.
    async fn call_json(&self, method: Method, path: &str, body: &Value) -> Answer {
        self.send(
            self.request(method, path)
                .header("Content-Type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        let answer = self.call(Method::GET, path).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
        answer.body
    }

    /// Publishes to `url` (raw in the path, as the SDKs send it) with
    /// `headers`; the message id.
    async fn publish(&self, url: &str, headers: &[(&str, &str)]) -> String {
        let mut request = self
            .request(Method::POST, &format!("/v2/publish/{url}"))
            .body("payload");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let answer = self.send(request).await;
        assert_eq!(answer.status, 200, "publish: {}", answer.body);
        answer.body["messageId"]
            .as_str()
            .expect("a message id")
            .to_owned()
    }

    /// A message that waits an hour: it stays until cancelled.
    async fn waiting_message(&self, url: &str) -> String {
        self.publish(url, &[("Upstash-Delay", "1h")]).await
    }

    async fn message_exists(&self, id: &str) -> bool {
        let answer = self.call(Method::GET, &format!("/v2/messages/{id}")).await;
        answer.status == 200
    }

    async fn dlq_ids(&self) -> Vec<String> {
        let page = self.get("/v2/dlq").await;
        page["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["dlqId"].as_str().expect("a dlqId").to_owned())
            .collect()
    }

    /// `n` messages that fail at once into the DLQ (a sink answering 500);
    /// their DLQ ids, oldest first.
    async fn dead_letters(&self, sink: &Sink, n: usize) -> Vec<String> {
        sink.set_status(500);
        let before = self.dlq_ids().await.len();
        for _ in 0..n {
            self.publish(&sink.url("/fail"), &[("Upstash-Retries", "0")])
                .await;
        }
        loop {
            let ids = self.dlq_ids().await;
            if ids.len() >= before + n {
                return ids;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    async fn log_count(&self) -> usize {
        self.get("/v2/logs").await["logs"]
            .as_array()
            .expect("logs")
            .len()
    }
}

#[tokio::test]
async fn the_issues_curl_deletes_nothing_and_ids_in_the_body_delete_only_those() {
    bounded(async {
        let api = Api::start().await;
        let sink = Sink::start().await;
        let ids = api.dead_letters(&sink, 3).await;
        assert_eq!(ids.len(), 3);

        // curl -X DELETE $QSTASH_URL/v2/dlq -H "Content-Type: application/json"
        //      -d '{"dlqIds":["nonexistent"]}'
        let answer = api
            .call_json(
                Method::DELETE,
                "/v2/dlq",
                &json!({ "dlqIds": ["nonexistent"] }),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body, json!({ "deleted": 0 }));
        assert_eq!(api.dlq_ids().await, ids, "nothing was deleted");

        // qstash-py `dlq.delete_many([a, b])`.
        let answer = api
            .call_json(
                Method::DELETE,
                "/v2/dlq",
                &json!({ "dlqIds": [ids[0], ids[2]] }),
            )
            .await;
        assert_eq!(answer.body, json!({ "deleted": 2 }));
        assert_eq!(api.dlq_ids().await, [ids[1].clone()]);

        // A form body, as `curl -d 'dlqIds=...'` sends it.
        let answer = api
            .send(
                api.request(Method::DELETE, "/v2/dlq")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body("dlqIds=nonexistent"),
            )
            .await;
        assert_eq!(answer.body, json!({ "deleted": 0 }));
        assert_eq!(api.dlq_ids().await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn cancel_many_by_ids_in_the_body_cancels_only_those() {
    bounded(async {
        let api = Api::start().await;
        let sink = Sink::start().await;
        let a = api.waiting_message(&sink.url("/a")).await;
        let b = api.waiting_message(&sink.url("/b")).await;
        let c = api.waiting_message(&sink.url("/c")).await;
        // qstash-py `message.cancel_many([a, b])`.
        let answer = api
            .call_json(
                Method::DELETE,
                "/v2/messages",
                &json!({ "messageIds": [a, b] }),
            )
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        assert_eq!(answer.body["cancelled"], 2);
        assert!(!api.message_exists(&a).await);
        assert!(!api.message_exists(&b).await);
        assert!(api.message_exists(&c).await, "the third one stays");

        // Filters in the body, under their query names.
        let answer = api
            .call_json(
                Method::DELETE,
                "/v2/messages",
                &json!({ "url": [sink.url("/elsewhere")] }),
            )
            .await;
        assert_eq!(answer.body["cancelled"], 0);
        assert!(api.message_exists(&c).await);
        let answer = api
            .call_json(
                Method::DELETE,
                "/v2/messages",
                &json!({ "url": sink.url("/c") }),
            )
            .await;
        assert_eq!(answer.body["cancelled"], 1);
        assert!(!api.message_exists(&c).await);
    })
    .await;
}

#[tokio::test]
async fn unknown_filter_names_are_refused_on_every_filtered_route() {
    bounded(async {
        let api = Api::start().await;
        let sink = Sink::start().await;
        let dlq = api.dead_letters(&sink, 2).await;
        let waiting = api.waiting_message(&sink.url("/w")).await;
        for (method, path) in [
            (Method::DELETE, "/v2/dlq"),
            (Method::POST, "/v2/dlq/retry"),
            (Method::DELETE, "/v2/messages"),
            (Method::GET, "/v2/dlq"),
            (Method::GET, "/v2/logs"),
            (Method::GET, "/v2/events"),
        ] {
            // The JS SDK's live test: `dlq.delete({ filter: { labeel: ... } })`.
            let answer = api.call(method.clone(), &format!("{path}?labeel=x")).await;
            assert_eq!(answer.status, 400, "{method} {path}: {}", answer.body);
            assert!(answer.error().contains("`labeel`"), "{}", answer.error());
            if method != Method::GET {
                let answer = api
                    .call_json(method.clone(), path, &json!({ "labeel": "x" }))
                    .await;
                assert_eq!(answer.status, 400, "{method} {path}: {}", answer.body);
                assert!(answer.error().contains("`labeel`"), "{}", answer.error());
                // Next to a real filter, too.
                let answer = api
                    .call_json(method.clone(), path, &json!({ "label": "x", "lable": "y" }))
                    .await;
                assert_eq!(answer.status, 400, "{method} {path}: {}", answer.body);
                assert!(answer.error().contains("`lable`"), "{}", answer.error());
            }
        }
        // The DLQ routes take no `host`.
        let answer = api.call(Method::DELETE, "/v2/dlq?host=127.0.0.1").await;
        assert_eq!(answer.status, 400);
        assert!(answer.error().contains("`host`"));
        assert_eq!(api.dlq_ids().await, dlq, "the DLQ is untouched");
        assert!(
            api.message_exists(&waiting).await,
            "the message is untouched"
        );
    })
    .await;
}

#[tokio::test]
async fn empty_id_lists_and_empty_filters_are_refused() {
    bounded(async {
        let api = Api::start().await;
        let sink = Sink::start().await;
        let dlq = api.dead_letters(&sink, 2).await;
        let waiting = api.waiting_message(&sink.url("/w")).await;
        for (method, path) in [
            (Method::DELETE, "/v2/dlq?dlqIds="),
            (Method::POST, "/v2/dlq/retry?dlqIds="),
            (Method::POST, "/v2/dlq/retry?dlqIds=&count=100"),
            (Method::DELETE, "/v2/messages?messageIds="),
            (Method::DELETE, "/v2/messages?label="),
        ] {
            let answer = api.call(method.clone(), path).await;
            assert_eq!(answer.status, 400, "{method} {path}: {}", answer.body);
            assert!(
                answer.error().contains("without a value"),
                "{}",
                answer.error()
            );
        }
        for (method, path, body) in [
            (Method::DELETE, "/v2/dlq", json!({ "dlqIds": [] })),
            (Method::DELETE, "/v2/dlq", json!({ "dlqIds": null })),
            (Method::POST, "/v2/dlq/retry", json!({ "dlqIds": [] })),
            (Method::DELETE, "/v2/messages", json!({ "messageIds": [] })),
            (
                Method::DELETE,
                "/v2/messages",
                json!({ "messageIds": [""] }),
            ),
        ] {
            let answer = api.call_json(method.clone(), path, &body).await;
            assert_eq!(
                answer.status, 400,
                "{method} {path} {body}: {}",
                answer.body
            );
            assert!(
                answer.error().contains("without a value"),
                "{}",
                answer.error()
            );
        }
        assert_eq!(api.dlq_ids().await, dlq, "the DLQ is untouched");
        assert!(
            api.message_exists(&waiting).await,
            "the message is untouched"
        );
    })
    .await;
}

#[tokio::test]
async fn a_bare_bulk_request_is_refused_and_count_alone_asks_for_everything() {
    bounded(async {
        let api = Api::start().await;
        let sink = Sink::start().await;
        let dlq = api.dead_letters(&sink, 3).await;
        let a = api.waiting_message(&sink.url("/a")).await;
        let b = api.waiting_message(&sink.url("/b")).await;
        for (method, path) in [
            (Method::DELETE, "/v2/dlq"),
            (Method::POST, "/v2/dlq/retry"),
            (Method::DELETE, "/v2/messages"),
            // Paging and options are no filter either.
            (Method::DELETE, "/v2/dlq?cursor=1"),
            (Method::DELETE, "/v2/messages?async=true"),
        ] {
            let answer = api.call(method.clone(), path).await;
            assert_eq!(answer.status, 400, "{method} {path}: {}", answer.body);
            let error = answer.error();
            assert!(error.contains("without a filter"), "{error}");
            assert!(
                error.contains("`count`") && error.contains("all: true"),
                "{error}"
            );
            // An empty JSON object is no filter.
            let answer = api.call_json(method.clone(), path, &json!({})).await;
            assert_eq!(answer.status, 400, "{method} {path} {{}}: {}", answer.body);
        }
        // An empty id in a path reaches no bulk route.
        for (method, path) in [
            (Method::DELETE, "/v2/messages/"),
            (Method::DELETE, "/v2/dlq/"),
            (Method::POST, "/v2/dlq/retry/"),
        ] {
            let answer = api.call(method.clone(), path).await;
            assert_eq!(answer.status, 404, "{method} {path}: {}", answer.body);
        }
        assert_eq!(api.dlq_ids().await, dlq, "the DLQ is untouched");
        assert!(api.message_exists(&a).await && api.message_exists(&b).await);

        // What the JS SDK sends for `dlq.delete({ all: true, count: 2 })`,
        // then with the cursor it got back.
        let first = api.call(Method::DELETE, "/v2/dlq?count=2").await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(first.body["deleted"], 2);
        let cursor = first.body["cursor"].as_str().expect("a cursor").to_owned();
        let second = api
            .call(Method::DELETE, &format!("/v2/dlq?count=2&cursor={cursor}"))
            .await;
        assert_eq!(second.body, json!({ "deleted": 1 }), "no cursor at the end");
        assert!(api.dlq_ids().await.is_empty());

        // `messages.cancel({ all: true })`.
        let answer = api.call(Method::DELETE, "/v2/messages?count=100").await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        assert_eq!(answer.body["cancelled"], 2);
        assert!(!api.message_exists(&a).await && !api.message_exists(&b).await);
    })
    .await;
}

#[tokio::test]
async fn bulk_retry_takes_ids_from_the_body_and_retries_all_or_nothing() {
    bounded(async {
        let api = Api::with_limits(Limits {
            max_messages: 2,
            ..Limits::default()
        })
        .await;
        let sink = Sink::start().await;
        // Two at a time: the message limit is 2.
        api.dead_letters(&sink, 2).await;
        let dlq = api.dead_letters(&sink, 1).await;
        assert_eq!(dlq.len(), 3);
        // Park a message that holds one of the two places.
        let parked = api.waiting_message(&sink.url("/parked")).await;

        // Three entries, room for one: none is retried.
        let answer = api.call(Method::POST, "/v2/dlq/retry?count=100").await;
        assert_eq!(answer.status, 412, "{}", answer.body);
        assert!(
            answer.error().contains("nothing was retried"),
            "{}",
            answer.error()
        );
        assert_eq!(api.dlq_ids().await, dlq, "every entry is still there");
        // An unknown id next to known ones: none is retried.
        let answer = api
            .call_json(
                Method::POST,
                "/v2/dlq/retry",
                &json!({ "dlqIds": [dlq[0], "dlq_unknown"] }),
            )
            .await;
        assert_eq!(answer.status, 404, "{}", answer.body);
        assert!(answer.error().contains("dlq_unknown"), "{}", answer.error());
        assert_eq!(api.dlq_ids().await, dlq);

        // By id in the body, within the room there is.
        sink.set_status(200);
        let answer = api
            .call_json(
                Method::POST,
                "/v2/dlq/retry",
                &json!({ "dlqIds": [dlq[1]] }),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.body["responses"].as_array().map(Vec::len), Some(1));
        assert_eq!(api.dlq_ids().await, [dlq[0].clone(), dlq[2].clone()]);
        assert!(api.message_exists(&parked).await);
    })
    .await;
}

#[tokio::test]
async fn a_batch_queues_every_entry_or_none_and_names_the_refused_one() {
    bounded(async {
        let api = Api::with_limits(Limits {
            max_messages: 3,
            max_queues: 1,
            ..Limits::default()
        })
        .await;
        let sink = Sink::start().await;
        let entry = |path: &str| {
            json!({
                "destination": sink.url(path),
                "body": "x",
                "headers": { "Upstash-Delay": "1h" },
            })
        };

        // Entry 2 has a bad option.
        let mut bad = entry("/2");
        bad["headers"]["Upstash-Retries"] = json!("many");
        let answer = api
            .call_json(
                Method::POST,
                "/v2/batch",
                &json!([entry("/0"), entry("/1"), bad]),
            )
            .await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(
            answer.error().starts_with("batch entry 2: "),
            "{}",
            answer.error()
        );
        assert_eq!(api.log_count().await, 0, "nothing was queued");

        // Entry 1 goes to a URL group that does not exist.
        let answer = api
            .call_json(
                Method::POST,
                "/v2/batch",
                &json!([entry("/0"), { "destination": "no-such-group" }]),
            )
            .await;
        assert_eq!(answer.status, 404, "{}", answer.body);
        assert!(
            answer.error().starts_with("batch entry 1: "),
            "{}",
            answer.error()
        );
        assert_eq!(api.log_count().await, 0, "nothing was queued");

        // Entry 1 needs a second queue, past the queue limit of 1.
        let mut first = entry("/0");
        first["queue"] = json!("q1");
        let mut second = entry("/1");
        second["queue"] = json!("q2");
        let answer = api
            .call_json(Method::POST, "/v2/batch", &json!([first, second]))
            .await;
        assert_eq!(answer.status, 412, "{}", answer.body);
        assert!(
            answer.error().starts_with("batch entry 1: "),
            "{}",
            answer.error()
        );
        assert_eq!(api.log_count().await, 0, "nothing was queued");

        // Entry 3 is one message past the limit of 3.
        let four = json!([entry("/0"), entry("/1"), entry("/2"), entry("/3")]);
        let answer = api.call_json(Method::POST, "/v2/batch", &four).await;
        assert_eq!(answer.status, 412, "{}", answer.body);
        assert!(
            answer.error().starts_with("batch entry 3: "),
            "{}",
            answer.error()
        );
        assert_eq!(api.log_count().await, 0, "nothing was queued");

        // A deduplicated entry makes no message: four entries, three messages.
        let dedup = |path: &str| {
            let mut e = entry(path);
            e["headers"]["Upstash-Deduplication-Id"] = json!("same");
            e
        };
        let answer = api
            .call_json(
                Method::POST,
                "/v2/batch",
                &json!([dedup("/0"), entry("/1"), dedup("/0"), entry("/2")]),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let results = answer.body.as_array().expect("one result per entry");
        assert_eq!(results.len(), 4);
        assert_eq!(results[2]["deduplicated"], true);
        assert_eq!(results[2]["messageId"], results[0]["messageId"]);
        for i in [0, 1, 3] {
            assert_eq!(results[i]["deduplicated"], false, "{}", answer.body);
            let id = results[i]["messageId"].as_str().expect("an id");
            assert!(api.message_exists(id).await);
        }
    })
    .await;
}

#[tokio::test]
async fn a_refused_batch_can_be_sent_again_without_duplicates() {
    bounded(async {
        let api = Api::start().await;
        let sink = Sink::start().await;
        let good = json!({
            "destination": sink.url("/once"),
            "body": "x",
            "headers": { "Upstash-Deduplication-Id": "order-1" },
        });
        let bad = json!({
            "destination": sink.url("/bad"),
            "headers": { "Upstash-Delay": "soon" },
        });
        let answer = api
            .call_json(Method::POST, "/v2/batch", &json!([good, bad]))
            .await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(
            answer.error().starts_with("batch entry 1: "),
            "{}",
            answer.error()
        );
        let answer = api
            .call_json(Method::POST, "/v2/batch", &json!([good]))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body[0]["deduplicated"], false, "{}", answer.body);
        sink.wait_for(1).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(sink.count(), 1, "delivered once");
    })
    .await;
}

#[tokio::test]
async fn events_list_the_logs_under_events_with_no_cursor_on_the_last_page() {
    bounded(async {
        let api = Api::start().await;
        let sink = Sink::start().await;
        let a = api.waiting_message(&sink.url("/a")).await;
        let b = api.waiting_message(&sink.url("/b")).await;
        let all = api.get("/v2/events").await;
        let events = all["events"].as_array().expect("events");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["messageId"], b.as_str(), "newest first");
        assert!(all.get("cursor").is_none(), "no cursor field: {all}");
        assert!(all.get("logs").is_none());
        assert_eq!(api.get("/v2/logs").await["logs"], all["events"]);

        // Page by page, as the JS SDK does.
        let first = api.get("/v2/events?count=1").await;
        assert_eq!(first["events"][0]["messageId"], b.as_str());
        let cursor = first["cursor"].as_str().expect("a cursor");
        let last = api
            .get(&format!("/v2/events?count=1&cursor={cursor}"))
            .await;
        assert_eq!(last["events"][0]["messageId"], a.as_str());
        assert!(last.get("cursor").is_none(), "no cursor field: {last}");

        // The filters of the logs.
        let by_id = api.get(&format!("/v2/events?messageIds={a}")).await;
        assert_eq!(by_id["events"].as_array().map(Vec::len), Some(1));
        let by_state = api.get("/v2/events?state=CREATED&url=nowhere").await;
        assert_eq!(by_state["events"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn schedules_show_no_body_without_one_and_refuse_six_field_crons() {
    bounded(async {
        let api = Api::start().await;
        let create = |cron: &str, body: &'static str| {
            api.request(Method::POST, "/v2/schedules/https://example.com/tick")
                .header("Upstash-Cron", cron)
                .body(body)
        };
        let answer = api.send(create("*/5 * * * *", "")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let id = answer.body["scheduleId"].as_str().expect("an id").to_owned();
        let schedule = api.get(&format!("/v2/schedules/{id}")).await;
        assert!(schedule.get("body").is_none(), "no body field: {schedule}");
        assert!(schedule.get("bodyBase64").is_none(), "{schedule}");
        let listed = api.get("/v2/schedules").await;
        assert!(listed[0].get("body").is_none(), "{listed}");

        let answer = api.send(create("*/5 * * * *", "hello")).await;
        let id = answer.body["scheduleId"].as_str().expect("an id").to_owned();
        let schedule = api.get(&format!("/v2/schedules/{id}")).await;
        assert_eq!(schedule["body"], "hello");

        // Seconds are refused as the service refuses them.
        let answer = api.send(create("0 */5 * * * *", "")).await;
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.body,
            json!({ "error": "Invalid cron expression expected exactly 5 fields, found 6: [0 */5 * * * *]" })
        );
        for bad in ["not a cron", "61 * * * *", "* * * *"] {
            let answer = api.send(create(bad, "")).await;
            assert_eq!(answer.status, 400, "{bad}");
            assert!(
                answer.error().starts_with("Invalid cron expression "),
                "{bad}: {}",
                answer.body
            );
        }
        assert_eq!(api.get("/v2/schedules").await.as_array().map(Vec::len), Some(2));
    })
    .await;
}

#[tokio::test]
async fn a_flow_control_key_without_a_period_shows_period_one_and_no_rate() {
    bounded(async {
        let api = Api::start().await;
        let id = api
            .publish(
                "https://example.com/flow",
                &[
                    ("Upstash-Delay", "1h"),
                    ("Upstash-Flow-Control-Key", "fk"),
                    ("Upstash-Flow-Control-Value", "parallelism=2"),
                ],
            )
            .await;
        let message = api.get(&format!("/v2/messages/{id}")).await;
        assert_eq!(message["flowControlKey"], "fk");
        assert_eq!(message["parallelism"], 2);
        assert_eq!(message["period"], 1, "{message}");
        assert!(message.get("rate").is_none(), "{message}");
    })
    .await;
}
