//! Cursor exhaustion and the bulk DLQ loops, checked on the wire: the same
//! filters on every page, the cursor on pages 2+, stopping on an absent or
//! empty cursor, and an error instead of a loop when a cursor repeats.

use crate::common;

use std::time::Duration;

use common::{client, cursors, query_without_cursor, requests};
use futures::{StreamExt, TryStreamExt};
use qstash::{AuthMode, Client, Error};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every test body runs under this limit: a pagination bug must fail the
/// test, not hang it.
async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("finished in time (no endless paging)")
}

/// Answers `verb route` with `body` for the request carrying `cursor`
/// (`None`: the first page, without a cursor). How often each page was
/// asked for is checked by [`assert_page_requests`].
async fn page(
    server: &MockServer,
    verb: &str,
    route: &str,
    cursor: Option<&str>,
    status: u16,
    body: Value,
) {
    let mock = Mock::given(method(verb)).and(path(route));
    let mock = match cursor {
        None => mock.and(query_param_is_missing("cursor")),
        Some(c) => mock.and(query_param("cursor", c)),
    };
    mock.respond_with(ResponseTemplate::new(status).set_body_json(body))
        .named(format!("{verb} {route} cursor={cursor:?}"))
        .mount(server)
        .await;
}

fn dlq_page(ids: &[&str], cursor: Option<&str>) -> Value {
    let messages: Vec<Value> = ids.iter().map(|id| json!({"messageId": id})).collect();
    match cursor {
        Some(c) => json!({"messages": messages, "cursor": c}),
        None => json!({"messages": messages}),
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The DLQ filters every page request must carry (in the order the client
/// sends them), for [`filtered_dlq`].
fn dlq_filters() -> Vec<(String, String)> {
    pairs(&[
        ("callerIp", "10.0.0.1"),
        ("count", "2"),
        ("fromDate", "1700000000000"),
        ("label", "a"),
        ("label", "b"),
        ("queueName", "orders"),
        ("responseStatus", "500"),
        ("responseStatus", "502"),
        ("toDate", "1800000000000"),
        ("url", "https://example.com/hook"),
    ])
}

fn filtered_dlq(client: &Client) -> qstash::builder::ListDlqMessages<'_> {
    client
        .list_dlq_messages()
        .caller_ip("10.0.0.1")
        .count(2)
        .from_date(1_700_000_000_000_i64)
        .label(["a", "b"])
        .queue_name("orders")
        .response_status(vec![500_i64, 502])
        .to_date(1_800_000_000_000_i64)
        .url("https://example.com/hook")
}

async fn three_dlq_pages(server: &MockServer, last_cursor: Option<&str>) {
    page(
        server,
        "GET",
        "/v2/dlq",
        None,
        200,
        dlq_page(&["m1", "m2"], Some("c1")),
    )
    .await;
    page(
        server,
        "GET",
        "/v2/dlq",
        Some("c1"),
        200,
        dlq_page(&["m3", "m4"], Some("c2")),
    )
    .await;
    page(
        server,
        "GET",
        "/v2/dlq",
        Some("c2"),
        200,
        dlq_page(&["m5"], last_cursor),
    )
    .await;
}

fn ids(messages: &[qstash::types::DlqMessage]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m.message_id.as_deref().unwrap())
        .collect()
}

/// Checks the page requests: the same filters on each, no cursor on the
/// first, then `expected_cursors` in order.
async fn assert_page_requests(
    server: &MockServer,
    filters: &[(String, String)],
    expected_cursors: &[&str],
) {
    let seen = requests(server).await;
    assert_eq!(seen.len(), expected_cursors.len() + 1, "page request count");
    for (i, request) in seen.iter().enumerate() {
        assert_eq!(
            query_without_cursor(request),
            filters,
            "filters of page {}",
            i + 1
        );
        let expected: Vec<&str> = match i {
            0 => vec![],
            _ => vec![expected_cursors[i - 1]],
        };
        assert_eq!(cursors(request), expected, "cursor of page {}", i + 1);
    }
}

#[tokio::test]
async fn stream_follows_the_cursor_with_every_filter_on_every_page() {
    bounded(async {
        let server = MockServer::start().await;
        three_dlq_pages(&server, None).await;
        let client = client(&server, "t", AuthMode::Bearer);

        let items: Vec<_> = filtered_dlq(&client).stream().try_collect().await.unwrap();
        assert_eq!(ids(&items), ["m1", "m2", "m3", "m4", "m5"]);
        assert_page_requests(&server, &dlq_filters(), &["c1", "c2"]).await;
    })
    .await;
}

#[tokio::test]
async fn query_auth_mode_adds_the_token_to_every_page() {
    bounded(async {
        let server = MockServer::start().await;
        three_dlq_pages(&server, None).await;
        let client = client(&server, "tok", AuthMode::QueryParameter);

        let items = filtered_dlq(&client).collect_all().await.unwrap();
        assert_eq!(items.len(), 5);
        let mut filters = dlq_filters();
        filters.push(("qstash_token".into(), "tok".into()));
        assert_page_requests(&server, &filters, &["c1", "c2"]).await;
    })
    .await;
}

#[tokio::test]
async fn collect_all_returns_every_item_in_order() {
    bounded(async {
        let server = MockServer::start().await;
        three_dlq_pages(&server, None).await;
        let client = client(&server, "t", AuthMode::Bearer);

        let items = filtered_dlq(&client).collect_all().await.unwrap();
        assert_eq!(ids(&items), ["m1", "m2", "m3", "m4", "m5"]);
        assert_page_requests(&server, &dlq_filters(), &["c1", "c2"]).await;
    })
    .await;
}

#[tokio::test]
async fn pages_yields_each_page_with_its_cursor() {
    bounded(async {
        let server = MockServer::start().await;
        three_dlq_pages(&server, None).await;
        let client = client(&server, "t", AuthMode::Bearer);

        let mut pages = filtered_dlq(&client).pages();
        let mut seen = Vec::new();
        while let Some(page) = pages.try_next().await.unwrap() {
            seen.push((ids(&page.messages).join(","), page.cursor.clone()));
            assert_eq!(pages.pages_fetched(), seen.len());
            assert_eq!(pages.next_cursor(), page.cursor.as_deref());
        }
        assert_eq!(
            seen,
            [
                ("m1,m2".to_string(), Some("c1".to_string())),
                ("m3,m4".to_string(), Some("c2".to_string())),
                ("m5".to_string(), None),
            ]
        );
        assert_eq!(pages.next_cursor(), None);
        assert!(pages.try_next().await.unwrap().is_none(), "stays ended");
        assert_page_requests(&server, &dlq_filters(), &["c1", "c2"]).await;
    })
    .await;
}

#[tokio::test]
async fn empty_string_cursor_ends_the_stream() {
    bounded(async {
        let server = MockServer::start().await;
        three_dlq_pages(&server, Some("")).await;
        let client = client(&server, "t", AuthMode::Bearer);

        let items = filtered_dlq(&client).collect_all().await.unwrap();
        assert_eq!(ids(&items), ["m1", "m2", "m3", "m4", "m5"]);
        // Three requests, none with an empty cursor.
        assert_page_requests(&server, &dlq_filters(), &["c1", "c2"]).await;
    })
    .await;
}

#[tokio::test]
async fn repeated_cursor_ends_with_an_error_instead_of_looping() {
    bounded(async {
        let server = MockServer::start().await;
        // Whatever it is asked, the server answers with the same cursor.
        Mock::given(method("GET"))
            .and(path("/v2/dlq"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(dlq_page(&["again"], Some("stuck"))),
            )
            .mount(&server)
            .await;
        let client = client(&server, "t", AuthMode::Bearer);

        let mut stream = client.list_dlq_messages().label("x").stream();
        let mut items = Vec::new();
        let err = loop {
            match stream.next().await {
                Some(Ok(item)) => items.push(item.message_id.unwrap()),
                Some(Err(e)) => break e,
                None => panic!("stream ended without the repeated-cursor error"),
            }
        };
        assert_eq!(items, ["again", "again"]);
        assert!(
            matches!(
                err,
                Error::RepeatedCursor {
                    operation: "list_dlq_messages",
                    page: 2
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "list_dlq_messages: the server repeated a cursor on page 2; stopped instead of looping forever"
        );
        assert!(stream.next().await.is_none(), "ends after the error");
        let seen = requests(&server).await;
        assert_eq!(seen.len(), 2);
        assert_eq!(cursors(&seen[1]), ["stuck"]);

        // collect_all gives the same error.
        let err = client
            .list_dlq_messages()
            .collect_all()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::RepeatedCursor { page: 2, .. }),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn cursor_cycle_is_caught_too() {
    bounded(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/dlq"))
            .and(query_param_is_missing("cursor"))
            .respond_with(ResponseTemplate::new(200).set_body_json(dlq_page(&["a"], Some("c1"))))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/dlq"))
            .and(query_param("cursor", "c1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(dlq_page(&["b"], Some("c2"))))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/dlq"))
            .and(query_param("cursor", "c2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(dlq_page(&["c"], Some("c1"))))
            .mount(&server)
            .await;
        let client = client(&server, "t", AuthMode::Bearer);
        let err = client.list_dlq_messages().collect_all().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::RepeatedCursor {
                    operation: "list_dlq_messages",
                    page: 3
                }
            ),
            "{err:?}"
        );
        assert_eq!(requests(&server).await.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn error_on_page_two_comes_after_page_one_items() {
    bounded(async {
        let server = MockServer::start().await;
        page(
            &server,
            "GET",
            "/v2/dlq",
            None,
            200,
            dlq_page(&["m1", "m2"], Some("c1")),
        )
        .await;
        page(
            &server,
            "GET",
            "/v2/dlq",
            Some("c1"),
            500,
            json!({"error": "page two broke"}),
        )
        .await;
        let client = client(&server, "t", AuthMode::Bearer);

        let results: Vec<Result<qstash::types::DlqMessage, Error>> =
            filtered_dlq(&client).stream().collect().await;
        assert_eq!(results.len(), 3, "two items, one error, then the end");
        assert_eq!(
            results[0].as_ref().unwrap().message_id.as_deref(),
            Some("m1")
        );
        assert_eq!(
            results[1].as_ref().unwrap().message_id.as_deref(),
            Some("m2")
        );
        let err = results[2].as_ref().unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
        assert_eq!(err.message(), Some("page two broke"));
        assert_page_requests(&server, &dlq_filters(), &["c1"]).await;

        // collect_all surfaces the same error.
        let err = filtered_dlq(&client).collect_all().await.unwrap_err();
        assert_eq!(err.message(), Some("page two broke"));

        // The page stream ends after the error and still knows where to
        // resume: the cursor of the last good page.
        let mut pages = filtered_dlq(&client).pages();
        assert_eq!(pages.try_next().await.unwrap().unwrap().messages.len(), 2);
        assert!(pages.try_next().await.is_err());
        assert!(pages.try_next().await.unwrap().is_none());
        assert_eq!(pages.pages_fetched(), 1);
        assert_eq!(pages.next_cursor(), Some("c1"));
    })
    .await;
}

#[tokio::test]
async fn max_pages_stops_early_and_tells_where_to_resume() {
    bounded(async {
        let server = MockServer::start().await;
        three_dlq_pages(&server, None).await;
        let client = client(&server, "t", AuthMode::Bearer);

        let mut pages = filtered_dlq(&client).pages().max_pages(2);
        let mut seen = Vec::new();
        while let Some(page) = pages.try_next().await.unwrap() {
            seen.extend(page.messages.into_iter().map(|m| m.message_id.unwrap()));
        }
        assert_eq!(seen, ["m1", "m2", "m3", "m4"]);
        assert_eq!(pages.pages_fetched(), 2);
        assert_eq!(pages.next_cursor(), Some("c2"));
        assert_eq!(requests(&server).await.len(), 2, "no third request");

        // Resuming from there fetches the rest, with the filters.
        let resume = pages.next_cursor().unwrap().to_string();
        let rest = filtered_dlq(&client)
            .cursor(resume)
            .collect_all()
            .await
            .unwrap();
        assert_eq!(ids(&rest), ["m5"]);
        assert_page_requests(&server, &dlq_filters(), &["c1", "c2"]).await;
    })
    .await;
}

#[tokio::test]
async fn max_pages_on_items() {
    bounded(async {
        let server = MockServer::start().await;
        three_dlq_pages(&server, None).await;
        let client = client(&server, "t", AuthMode::Bearer);

        let mut items = filtered_dlq(&client).pages().max_pages(1).items();
        let mut seen = Vec::new();
        while let Some(item) = items.try_next().await.unwrap() {
            seen.push(item.message_id.unwrap());
        }
        assert_eq!(seen, ["m1", "m2"]);
        assert_eq!(items.pages().next_cursor(), Some("c1"));
        assert_eq!(requests(&server).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn stream_fetches_one_page_at_a_time() {
    bounded(async {
        let server = MockServer::start().await;
        three_dlq_pages(&server, None).await;
        let client = client(&server, "t", AuthMode::Bearer);

        let mut stream = filtered_dlq(&client).stream();
        assert_eq!(requests(&server).await.len(), 0, "lazy until polled");
        let first = stream.try_next().await.unwrap().unwrap();
        assert_eq!(first.message_id.as_deref(), Some("m1"));
        let second = stream.try_next().await.unwrap().unwrap();
        assert_eq!(second.message_id.as_deref(), Some("m2"));
        assert_eq!(requests(&server).await.len(), 1, "page 2 not fetched yet");
        let third = stream.try_next().await.unwrap().unwrap();
        assert_eq!(third.message_id.as_deref(), Some("m3"));
        assert_eq!(requests(&server).await.len(), 2);
        drop(stream);
    })
    .await;
}

#[tokio::test]
async fn list_logs_stream_follows_the_cursor_with_its_filters() {
    bounded(async {
        let server = MockServer::start().await;
        let logs = |ids: &[&str], cursor: Option<&str>| {
            let logs: Vec<Value> = ids
                .iter()
                .map(|id| json!({"messageId": id, "state": "DELIVERED"}))
                .collect();
            match cursor {
                Some(c) => json!({"logs": logs, "cursor": c}),
                None => json!({"logs": logs}),
            }
        };
        page(
            &server,
            "GET",
            "/v2/logs",
            None,
            200,
            logs(&["l1", "l2"], Some("p2")),
        )
        .await;
        page(
            &server,
            "GET",
            "/v2/logs",
            Some("p2"),
            200,
            logs(&["l3"], Some("p3")),
        )
        .await;
        page(
            &server,
            "GET",
            "/v2/logs",
            Some("p3"),
            200,
            logs(&["l4"], Some("")),
        )
        .await;
        let client = client(&server, "t", AuthMode::Bearer);

        let items: Vec<_> = client
            .list_logs()
            .count(2)
            .label(["x", "y"])
            .queue_name("orders")
            .state(qstash::types::ListLogsState::Delivered)
            .stream()
            .try_collect()
            .await
            .unwrap();
        let got: Vec<&str> = items
            .iter()
            .map(|l| l.message_id.as_deref().unwrap())
            .collect();
        assert_eq!(got, ["l1", "l2", "l3", "l4"]);
        let filters = pairs(&[
            ("count", "2"),
            ("label", "x"),
            ("label", "y"),
            ("queueName", "orders"),
            ("state", "DELIVERED"),
        ]);
        assert_page_requests(&server, &filters, &["p2", "p3"]).await;
    })
    .await;
}

#[tokio::test]
async fn list_bulk_actions_stream_skips_empty_pages_while_a_cursor_remains() {
    bounded(async {
        let server = MockServer::start().await;
        let actions = |ids: &[&str], cursor: Option<&str>| {
            let actions: Vec<Value> = ids
                .iter()
                .map(|id| json!({"actionId": id, "state": "FINISHED"}))
                .collect();
            match cursor {
                Some(c) => json!({"bulkActions": actions, "cursor": c}),
                None => json!({"bulkActions": actions}),
            }
        };
        page(
            &server,
            "GET",
            "/v2/bulkActions",
            None,
            200,
            actions(&["b1"], Some("k1")),
        )
        .await;
        // The state filter is applied per page: a page may be empty.
        page(
            &server,
            "GET",
            "/v2/bulkActions",
            Some("k1"),
            200,
            actions(&[], Some("k2")),
        )
        .await;
        page(
            &server,
            "GET",
            "/v2/bulkActions",
            Some("k2"),
            200,
            actions(&["b2", "b3"], None),
        )
        .await;
        let client = client(&server, "t", AuthMode::Bearer);

        let items = client
            .list_bulk_actions()
            .count(10)
            .state(qstash::types::ListBulkActionsState::Finished)
            .collect_all()
            .await
            .unwrap();
        let got: Vec<&str> = items
            .iter()
            .map(|a| a.action_id.as_deref().unwrap())
            .collect();
        assert_eq!(got, ["b1", "b2", "b3"]);
        let filters = pairs(&[("count", "10"), ("state", "FINISHED")]);
        assert_page_requests(&server, &filters, &["k1", "k2"]).await;
    })
    .await;
}

#[tokio::test]
async fn every_paginated_operation_of_the_spec_is_covered_here() {
    // A new paginated operation must get a stream test in this file (the
    // workflow ones: in `workflow.rs`).
    let n = common::vendored_spec();
    let paginated: Vec<&str> = n.paginated.iter().map(|p| p.method.as_str()).collect();
    assert_eq!(
        paginated,
        [
            "list_bulk_actions",
            "list_dlq_messages",
            "delete_dlq_messages",
            "retry_dlq_messages",
            "list_logs",
            "list_workflow_logs",
            "list_workflow_dlq",
            "delete_workflow_dlq_entries",
            "resume_workflow_dlq_entries",
            "restart_workflow_dlq_entries"
        ]
    );
    assert!(n.unsupported_pagination.is_empty());
}

// ---- bulk DLQ loops -------------------------------------------------------

fn delete_filters() -> Vec<(String, String)> {
    pairs(&[
        ("fromDate", "1700000000000"),
        ("label", "old"),
        ("label", "stale"),
        ("queueName", "orders"),
    ])
}

fn filtered_delete(client: &Client) -> qstash::builder::DeleteDlqMessages<'_> {
    client
        .delete_dlq_messages()
        .from_date(1_700_000_000_000_i64)
        .label(["old", "stale"])
        .queue_name("orders")
}

#[tokio::test]
async fn bulk_delete_sums_deleted_across_pages() {
    bounded(async {
        let server = MockServer::start().await;
        page(
            &server,
            "DELETE",
            "/v2/dlq",
            None,
            200,
            json!({"deleted": 100, "cursor": "d1"}),
        )
        .await;
        page(
            &server,
            "DELETE",
            "/v2/dlq",
            Some("d1"),
            200,
            json!({"deleted": 100, "cursor": "d2"}),
        )
        .await;
        page(
            &server,
            "DELETE",
            "/v2/dlq",
            Some("d2"),
            200,
            json!({"deleted": 37}),
        )
        .await;
        let client = client(&server, "t", AuthMode::Bearer);

        let deleted = filtered_delete(&client).send_all().await.unwrap();
        assert_eq!(deleted, 237);
        assert_page_requests(&server, &delete_filters(), &["d1", "d2"]).await;
    })
    .await;
}

#[tokio::test]
async fn bulk_delete_stops_on_an_empty_cursor_and_errors_on_a_repeated_one() {
    bounded(async {
        let server = MockServer::start().await;
        page(
            &server,
            "DELETE",
            "/v2/dlq",
            None,
            200,
            json!({"deleted": 5, "cursor": ""}),
        )
        .await;
        let first = client(&server, "t", AuthMode::Bearer);
        assert_eq!(filtered_delete(&first).send_all().await.unwrap(), 5);
        assert_page_requests(&server, &delete_filters(), &[]).await;

        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/v2/dlq"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"deleted": 1, "cursor": "same"})),
            )
            .mount(&server)
            .await;
        let client = client(&server, "t", AuthMode::Bearer);
        let err = filtered_delete(&client).send_all().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::RepeatedCursor {
                    operation: "delete_dlq_messages",
                    page: 2
                }
            ),
            "{err:?}"
        );
        assert_eq!(requests(&server).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn bulk_delete_surfaces_an_error_on_a_later_page() {
    bounded(async {
        let server = MockServer::start().await;
        page(
            &server,
            "DELETE",
            "/v2/dlq",
            None,
            200,
            json!({"deleted": 3, "cursor": "d1"}),
        )
        .await;
        page(
            &server,
            "DELETE",
            "/v2/dlq",
            Some("d1"),
            404,
            json!({"error": "gone"}),
        )
        .await;
        let client = client(&server, "t", AuthMode::Bearer);
        let err = filtered_delete(&client).send_all().await.unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(err.message(), Some("gone"));
    })
    .await;
}

/// Answers `POST /v2/dlq/retry` with `bodies`, one per request, in order.
async fn retry_batches(server: &MockServer, bodies: &[Value]) {
    for (i, body) in bodies.iter().enumerate() {
        Mock::given(method("POST"))
            .and(path("/v2/dlq/retry"))
            .respond_with(ResponseTemplate::new(201).set_body_json(body.clone()))
            .up_to_n_times(1)
            .expect(1)
            .named(format!("retry batch {}", i + 1))
            .mount(server)
            .await;
    }
}

fn published(ids: &[&str]) -> Vec<Value> {
    ids.iter().map(|id| json!({"messageId": id})).collect()
}

#[tokio::test]
async fn bulk_retry_passes_the_cursor_back_until_none_and_returns_every_response_in_order() {
    bounded(async {
        let server = MockServer::start().await;
        retry_batches(
            &server,
            &[
                json!({"cursor": "r1", "responses": published(&["n1", "n2"])}),
                json!({"cursor": "r2", "responses": published(&["n3"])}),
                json!({"responses": published(&["n4", "n5"])}),
            ],
        )
        .await;
        let client = client(&server, "t", AuthMode::Bearer);

        let responses = client
            .retry_dlq_messages()
            .label(["a", "b"])
            .queue_name("orders")
            .send_all()
            .await
            .unwrap();
        let got: Vec<&str> = responses
            .iter()
            .map(|r| r.message_id.as_deref().unwrap())
            .collect();
        assert_eq!(got, ["n1", "n2", "n3", "n4", "n5"]);
        let seen = requests(&server).await;
        assert_eq!(seen.len(), 3);
        for request in &seen {
            assert_eq!(
                query_without_cursor(request),
                pairs(&[("label", "a"), ("label", "b"), ("queueName", "orders")])
            );
        }
        // The service's cursor goes back on the next call (evidence row 5).
        let sent: Vec<Vec<String>> = seen.iter().map(cursors).collect();
        assert_eq!(sent, [vec![], vec!["r1".to_string()], vec!["r2".into()]]);
    })
    .await;
}

#[tokio::test]
async fn bulk_retry_stops_on_an_empty_cursor() {
    bounded(async {
        let server = MockServer::start().await;
        retry_batches(
            &server,
            &[
                json!({"cursor": "r1", "responses": published(&["n1"])}),
                json!({"cursor": "", "responses": published(&["n2"])}),
            ],
        )
        .await;
        let client = client(&server, "t", AuthMode::Bearer);
        let responses = client.retry_dlq_messages().all().send_all().await.unwrap();
        assert_eq!(responses.len(), 2);
        assert_eq!(requests(&server).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn bulk_retry_errors_on_a_repeated_cursor() {
    bounded(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/dlq/retry"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"cursor": "same", "responses": published(&["x"])})),
            )
            .mount(&server)
            .await;
        let client = client(&server, "t", AuthMode::Bearer);
        let err = client
            .retry_dlq_messages()
            .all()
            .send_all()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::RepeatedCursor {
                    operation: "retry_dlq_messages",
                    page: 2
                }
            ),
            "{err:?}"
        );
        assert_eq!(requests(&server).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn bulk_retry_surfaces_an_error_on_a_later_batch() {
    bounded(async {
        let server = MockServer::start().await;
        retry_batches(
            &server,
            &[json!({"cursor": "r1", "responses": published(&["n1"])})],
        )
        .await;
        Mock::given(method("POST"))
            .and(path("/v2/dlq/retry"))
            .respond_with(ResponseTemplate::new(500).set_body_string("retry backend down"))
            .mount(&server)
            .await;
        let client = client(&server, "t", AuthMode::Bearer);
        let err = client
            .retry_dlq_messages()
            .all()
            .send_all()
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
        assert_eq!(
            err.api().unwrap().raw_body().as_deref(),
            Some("retry backend down")
        );
        assert_eq!(requests(&server).await.len(), 2);
    })
    .await;
}
