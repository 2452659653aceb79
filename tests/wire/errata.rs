//! Each erratum of openapi/qstash/errata.yaml on the wire: what the client
//! sends where the service differs from the published description, and
//! that what the service sends back decodes.

use crate::common;

use common::{client, header, query, requests};
use qstash::AuthMode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answer(server: &MockServer, verb: &str, route: &str, status: u16, body: Value) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

async fn answer_empty(server: &MockServer, verb: &str, route: &str, status: u16) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status))
        .mount(server)
        .await;
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn body_json(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// Rows 1 and 13: DLQ entries carry their `dlqId` (and the fields the
/// description lacks), so a listed entry can be retried and deleted by id.
#[tokio::test]
async fn a_listed_dlq_entry_is_retried_and_another_deleted_by_its_dlq_id() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/v2/dlq",
        200,
        json!({"messages": [
            {"messageId": "msg_1", "dlqId": "dlq_1", "retryDelayExpression": "1000 * retried",
             "callbackHeader": {"X-A": ["a"]}, "failureCallbackHeader": {"X-B": ["b", "c"]}},
            {"messageId": "msg_2", "dlqId": "dlq_2"}
        ]}),
    )
    .await;
    answer(
        &server,
        "POST",
        "/v2/dlq/retry/dlq_1",
        201,
        json!({"messageId": "msg_3"}),
    )
    .await;
    answer_empty(&server, "DELETE", "/v2/dlq/dlq_2", 200).await;
    let c = client(&server, "t", AuthMode::Bearer);

    let entries = c.list_dlq_messages().collect_all().await.unwrap();
    let first = &entries[0];
    assert_eq!(first.dlq_id.as_deref(), Some("dlq_1"));
    assert_eq!(
        first.retry_delay_expression.as_deref(),
        Some("1000 * retried")
    );
    assert_eq!(first.callback_header["X-A"], ["a"]);
    assert_eq!(first.failure_callback_header["X-B"], ["b", "c"]);

    let retried = c
        .retry_dlq_message()
        .dlq_id(first.dlq_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(retried.message_id.as_deref(), Some("msg_3"));
    c.delete_dlq_message()
        .dlq_id(entries[1].dlq_id.clone().unwrap())
        .send()
        .await
        .unwrap();

    let seen = requests(&server).await;
    let lines: Vec<String> = seen
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        lines,
        [
            "GET /v2/dlq",
            "POST /v2/dlq/retry/dlq_1",
            "DELETE /v2/dlq/dlq_2"
        ]
    );
}

/// Row 13 for messages too.
#[tokio::test]
async fn a_message_decodes_its_undocumented_fields() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/v2/messages/msg_1",
        200,
        json!({"messageId": "msg_1", "retryDelayExpression": "pow(2, retried)",
               "callbackHeader": {"X-A": ["a"]}, "failureCallbackHeader": {}}),
    )
    .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let m = c.get_message().message_id("msg_1").send().await.unwrap();
    assert_eq!(m.retry_delay_expression.as_deref(), Some("pow(2, retried)"));
    assert_eq!(m.callback_header["X-A"], ["a"]);
}

/// Rows 2 and 14: to a URL one result (with its `url`); to a URL group a
/// bare array, one result per endpoint.
#[tokio::test]
async fn publish_and_enqueue_give_one_result_per_message_created() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        "/v2/publish/https:%2F%2Fexample.com%2Fa",
        200,
        json!({"messageId": "m1", "url": "https://example.com/a"}),
    )
    .await;
    let group = json!([
        {"messageId": "m2", "url": "https://a.example/x", "deduplicated": false},
        {"messageId": "m3", "url": "https://b.example/y", "deduplicated": true}
    ]);
    answer(&server, "POST", "/v2/publish/my-group", 200, group.clone()).await;
    answer(&server, "POST", "/v2/enqueue/orders/my-group", 200, group).await;
    let c = client(&server, "t", AuthMode::Bearer);

    let one = c
        .publish()
        .destination("https://example.com/a")
        .payload(qstash::Body::text("hi"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let one = one.messages();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].message_id.as_deref(), Some("m1"));
    assert_eq!(one[0].url.as_deref(), Some("https://example.com/a"));
    assert!(!one[0].deduplicated);

    let to_group = c
        .publish()
        .destination("my-group")
        .payload(qstash::Body::text("hi"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<(Option<String>, Option<String>, bool)> = to_group
        .messages()
        .into_iter()
        .map(|m| (m.message_id, m.url, m.deduplicated))
        .collect();
    assert_eq!(
        ids,
        [
            (Some("m2".into()), Some("https://a.example/x".into()), false),
            (Some("m3".into()), Some("https://b.example/y".into()), true)
        ]
    );

    let queued = c
        .enqueue()
        .queue_name("orders")
        .destination("my-group")
        .payload(qstash::Body::text("hi"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(queued.messages().len(), 2);
    assert_eq!(queued.messages()[1].message_id.as_deref(), Some("m3"));
}

/// Row 3: a batch entry that targeted a URL group comes back as a nested
/// array; results stay per entry, in order.
#[tokio::test]
async fn batch_results_are_per_entry_with_url_groups_nested() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        "/v2/batch",
        200,
        json!([
            {"messageId": "m1", "url": "https://example.com/a"},
            [{"messageId": "m2", "url": "https://a.example"}, {"messageId": "m3", "url": "https://b.example"}],
            {"messageId": "m4"}
        ]),
    )
    .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let results = c
        .batch()
        .entries([
            qstash::BatchEntry::new("https://example.com/a"),
            qstash::BatchEntry::new("my-group"),
            qstash::BatchEntry::new("https://example.com/c").queue("q"),
        ])
        .send()
        .await
        .unwrap();
    let per_entry: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            r.messages()
                .into_iter()
                .map(|m| m.message_id.unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        per_entry,
        [
            vec!["m1".to_string()],
            vec!["m2".into(), "m3".into()],
            vec!["m4".into()]
        ]
    );
}

/// Row 4: pause and resume a schedule with PATCH.
#[tokio::test]
async fn schedules_are_paused_and_resumed_with_patch() {
    let server = MockServer::start().await;
    answer_empty(&server, "PATCH", "/v2/schedules/sch_1/pause", 200).await;
    answer_empty(&server, "PATCH", "/v2/schedules/sch_1/resume", 200).await;
    let c = client(&server, "t", AuthMode::Bearer);
    c.pause_schedule()
        .schedule_id("sch_1")
        .send()
        .await
        .unwrap();
    c.resume_schedule()
        .schedule_id("sch_1")
        .send()
        .await
        .unwrap();
    let methods: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        methods,
        [
            "PATCH /v2/schedules/sch_1/pause",
            "PATCH /v2/schedules/sch_1/resume"
        ]
    );
}

/// Row 5: bulk DLQ retry takes `count` and passes the returned cursor back.
#[tokio::test]
async fn bulk_retry_sends_count_and_passes_the_cursor_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/dlq/retry"))
        .and(wiremock::matchers::query_param("cursor", "r1"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"cursor": "", "responses": [{"messageId": "n2"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/dlq/retry"))
        .and(wiremock::matchers::query_param_is_missing("cursor"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"cursor": "r1", "responses": [{"messageId": "n1"}]})),
        )
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let all = c
        .retry_dlq_messages()
        .queue_name("orders")
        .count(1)
        .send_all()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().filter_map(|r| r.message_id.as_deref()).collect();
    assert_eq!(ids, ["n1", "n2"]);
    let seen = requests(&server).await;
    assert_eq!(
        query(&seen[0]),
        pairs(&[("count", "1"), ("queueName", "orders")])
    );
    assert_eq!(
        query(&seen[1]),
        pairs(&[("count", "1"), ("cursor", "r1"), ("queueName", "orders")])
    );
}

/// Row 6: the DLQ is listed by flow-control key and by DLQ ids.
#[tokio::test]
async fn the_dlq_is_listed_by_flow_control_key_and_dlq_ids() {
    let server = MockServer::start().await;
    answer(&server, "GET", "/v2/dlq", 200, json!({"messages": []})).await;
    let c = client(&server, "t", AuthMode::Bearer);
    c.list_dlq_messages()
        .flow_control_key(["tenant-1", "tenant-2"])
        .dlq_ids(["d1", "d2"])
        .send()
        .await
        .unwrap();
    let q = query(&requests(&server).await[0]);
    assert_eq!(
        q,
        pairs(&[
            ("dlqIds", "d1"),
            ("dlqIds", "d2"),
            ("flowControlKey", "tenant-1"),
            ("flowControlKey", "tenant-2")
        ])
    );
}

/// Rows 7 and 8: a schedule that enqueues, and the schedule fields the
/// service sends (`callerIP`, `queueName`, `bodyBase64`, `timeout`, `error`).
#[tokio::test]
async fn a_schedule_targets_a_queue_and_decodes_what_the_service_sends() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        "/v2/schedules/https:%2F%2Fexample.com%2Fnightly",
        200,
        json!({"scheduleId": "sch_1"}),
    )
    .await;
    answer(
        &server,
        "GET",
        "/v2/schedules/sch_1",
        200,
        json!({"scheduleId": "sch_1", "cron": "0 3 * * *", "destination": "https://example.com/nightly",
               "createdAt": 1, "method": "POST", "isPaused": false, "callerIP": "203.0.113.9",
               "queueName": "nightly", "bodyBase64": "AAE=", "timeout": 30, "error": "last run failed"}),
    )
    .await;
    let c = client(&server, "t", AuthMode::Bearer);
    c.create_schedule()
        .destination("https://example.com/nightly")
        .upstash_cron("0 3 * * *")
        .upstash_queue_name("nightly")
        .payload(qstash::Body::text("report"))
        .send()
        .await
        .unwrap();
    let seen = requests(&server).await;
    assert_eq!(
        header(&seen[0], "upstash-queue-name").as_deref(),
        Some("nightly")
    );
    let s = c
        .get_schedule()
        .schedule_id("sch_1")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.caller_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(s.queue_name.as_deref(), Some("nightly"));
    assert_eq!(s.body_base64.as_deref(), Some("AAE="));
    assert_eq!(s.timeout, Some(30));
    assert_eq!(s.error.as_deref(), Some("last run failed"));
}

/// Row 9: a queue can be created paused.
#[tokio::test]
async fn a_queue_is_created_paused() {
    let server = MockServer::start().await;
    answer_empty(&server, "POST", "/v2/queues", 200).await;
    let c = client(&server, "t", AuthMode::Bearer);
    c.upsert_queue()
        .body(
            qstash::types::UpsertQueueBody::builder()
                .queue_name("orders")
                .parallelism(std::num::NonZeroU64::new(2).unwrap())
                .paused(Some(true)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        body_json(&requests(&server).await[0]),
        json!({"queueName": "orders", "parallelism": 2, "paused": true})
    );
}

/// Row 11: log filters take several values, and the filters the
/// description lacks.
#[tokio::test]
async fn logs_are_filtered_by_several_values_and_the_undocumented_filters() {
    let server = MockServer::start().await;
    answer(&server, "GET", "/v2/logs", 200, json!({"logs": []})).await;
    let c = client(&server, "t", AuthMode::Bearer);
    c.list_logs()
        .url(["https://a.example", "https://b.example"])
        .topic_name("group")
        .queue_name(["q1", "q2"])
        .schedule_id("sch_1")
        .host("a.example")
        .path("/hook")
        .flow_control_key("tenant")
        .caller_ip("203.0.113.9")
        .message_ids(["m1", "m2"])
        .send()
        .await
        .unwrap();
    let mut q = query(&requests(&server).await[0]);
    q.sort();
    let mut expected = pairs(&[
        ("url", "https://a.example"),
        ("url", "https://b.example"),
        ("topicName", "group"),
        ("queueName", "q1"),
        ("queueName", "q2"),
        ("scheduleId", "sch_1"),
        ("host", "a.example"),
        ("path", "/hook"),
        ("flowControlKey", "tenant"),
        ("callerIp", "203.0.113.9"),
        ("messageIds", "m1"),
        ("messageIds", "m2"),
    ]);
    expected.sort();
    assert_eq!(q, expected);
}

/// Row 16: bulk cancel sends `count` and repeats until nothing is
/// cancelled.
#[tokio::test]
async fn bulk_cancel_repeats_until_nothing_is_cancelled() {
    let server = MockServer::start().await;
    for cancelled in [2, 1, 0] {
        Mock::given(method("DELETE"))
            .and(path("/v2/messages"))
            .respond_with(ResponseTemplate::new(202).set_body_json(json!({"cancelled": cancelled})))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server, "t", AuthMode::Bearer);
    let total = c
        .cancel_messages()
        .queue_name("orders")
        .count(2)
        .send_all()
        .await
        .unwrap();
    assert_eq!(total, 3);
    for r in requests(&server).await {
        assert_eq!(query(&r), pairs(&[("count", "2"), ("queueName", "orders")]));
    }
}

/// Row 16, asynchronous form: a started bulk action is not repeated.
#[tokio::test]
async fn bulk_cancel_with_async_stops_after_the_action_starts() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/messages"))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(json!({"cancelled": 40, "actionId": "act_1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let total = c
        .cancel_messages()
        .label("old")
        .async_(true)
        .send_all()
        .await
        .unwrap();
    assert_eq!(total, 40);
}

/// Row 17: any 2xx is success, whatever code the description documents.
#[tokio::test]
async fn any_2xx_is_success() {
    let server = MockServer::start().await;
    // Documented 200 with a body; the service answers 201.
    answer(
        &server,
        "GET",
        "/v2/queues/orders",
        201,
        json!({"name": "orders"}),
    )
    .await;
    // Documented 201; the service answers 200.
    answer(
        &server,
        "POST",
        "/v2/dlq/retry/dlq_1",
        200,
        json!({"messageId": "m"}),
    )
    .await;
    // Documented 200 without a body; the service answers 204.
    answer_empty(&server, "DELETE", "/v2/schedules/sch_1", 204).await;
    let c = client(&server, "t", AuthMode::Bearer);
    let q = c.get_queue().queue_name("orders").send().await.unwrap();
    assert_eq!(q.name.as_deref(), Some("orders"));
    let r = c.retry_dlq_message().dlq_id("dlq_1").send().await.unwrap();
    assert_eq!(r.message_id.as_deref(), Some("m"));
    c.delete_schedule()
        .schedule_id("sch_1")
        .send()
        .await
        .unwrap();
}
