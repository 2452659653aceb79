//! `.options(...)` and `.all()` are settings of the request builder itself:
//! they combine in either order, every terminal of the operation sends
//! them on every call, and a refusal (an invalid option, a bulk call
//! without a filter or `.all()`) leaves before anything is sent, whichever
//! terminal was used.

use crate::common;

use common::{client, cursors, query_without_cursor, requests};
use futures::TryStreamExt;
use qstash::builder::{CancelMessages, DeleteDlqMessages, RetryDlqMessages};
use qstash::{AuthMode, Client, Error, MessageOptions};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Two pages of bulk DLQ retries: the first returns `c1`, the second none.
async fn retry_pages() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/dlq/retry"))
        .and(query_param("cursor", "c1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"responses": [{"messageId": "m2"}]})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/dlq/retry"))
        .and(query_param_is_missing("cursor"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"cursor": "c1", "responses": [{"messageId": "m1"}]})),
        )
        .mount(&server)
        .await;
    server
}

fn retries_once() -> MessageOptions {
    MessageOptions::new().retries(1)
}

/// The ways of asking for every DLQ message with options: `.all()` before
/// and after `.options(...)` (on the wire: `count`, the service's default,
/// and no filter), and a filter instead of `.all()`.
/// A request, what it is called, and the query parameters it sends.
type Combination<'c> = (&'static str, RetryDlqMessages<'c>, Vec<(String, String)>);

fn retry_requests(c: &Client) -> [Combination<'_>; 3] {
    let label = vec![("label".to_string(), "billing".to_string())];
    let everything = vec![("count".to_string(), "100".to_string())];
    [
        (
            ".all().options(..)",
            c.retry_dlq_messages().all().options(retries_once()),
            everything.clone(),
        ),
        (
            ".options(..).all()",
            c.retry_dlq_messages().options(retries_once()).all(),
            everything,
        ),
        (
            ".label(..).options(..)",
            c.retry_dlq_messages()
                .label("billing")
                .options(retries_once()),
            label,
        ),
    ]
}

/// Every request carried the options' header and exactly `filters`, and the
/// requests followed the cursor: the first without one, then `c1`, ...
async fn assert_sent(server: &MockServer, what: &str, filters: &[(String, String)], calls: usize) {
    let seen = requests(server).await;
    assert_eq!(seen.len(), calls, "{what}: calls");
    for (i, r) in seen.iter().enumerate() {
        assert_eq!(
            r.headers
                .get("upstash-retries")
                .map(|v| v.to_str().unwrap()),
            Some("1"),
            "{what}: request {i} without the options"
        );
        assert_eq!(query_without_cursor(r), filters, "{what}: request {i}");
        let expected: Vec<String> = if i == 0 {
            vec![]
        } else {
            vec![format!("c{i}")]
        };
        assert_eq!(cursors(r), expected, "{what}: request {i}");
    }
}

#[tokio::test]
async fn options_and_all_reach_the_wire_with_every_terminal_in_either_order() {
    for terminal in [
        "send",
        "send_all",
        "send_all_max",
        "pages",
        "stream",
        "collect_all",
    ] {
        for index in 0..3 {
            let server = retry_pages().await;
            let c = client(&server, "t", AuthMode::Bearer);
            let (combo, request, filters) = retry_requests(&c).into_iter().nth(index).unwrap();
            let what = format!("{combo}.{terminal}()");
            let (ids, calls): (Vec<String>, usize) = match terminal {
                "send" => {
                    let page = request.send().await.unwrap().into_inner();
                    (ids(&page.responses), 1)
                }
                "send_all" => (ids(&request.send_all().await.unwrap()), 2),
                "send_all_max" => {
                    let progress = request.send_all_max(1).await.unwrap();
                    assert!(!progress.finished, "{what}");
                    assert_eq!(progress.next_cursor.as_deref(), Some("c1"), "{what}");
                    (ids(&progress.done), 1)
                }
                "pages" => {
                    let pages: Vec<_> = request.pages().try_collect().await.unwrap();
                    let all: Vec<_> = pages.into_iter().flat_map(|p| p.responses).collect();
                    (ids(&all), 2)
                }
                "stream" => {
                    let all: Vec<_> = request.stream().try_collect().await.unwrap();
                    (ids(&all), 2)
                }
                "collect_all" => (ids(&request.collect_all().await.unwrap()), 2),
                _ => unreachable!(),
            };
            let expected: Vec<&str> = ["m1", "m2"][..calls].to_vec();
            assert_eq!(ids, expected, "{what}");
            assert_sent(&server, &what, &filters, calls).await;
        }
    }
}

fn ids(responses: &[qstash::types::PublishResponse]) -> Vec<String> {
    responses
        .iter()
        .map(|r| r.message_id.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn all_without_options_reaches_the_wire_with_every_terminal() {
    // DELETE /v2/dlq: two pages, 2 then 1 deleted.
    for terminal in ["send", "send_all", "send_all_max", "pages"] {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/v2/dlq"))
            .and(query_param("cursor", "c1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"deleted": 1})))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/v2/dlq"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"cursor": "c1", "deleted": 2})),
            )
            .mount(&server)
            .await;
        let c = client(&server, "t", AuthMode::Bearer);
        let request: DeleteDlqMessages<'_> = c.delete_dlq_messages().all();
        let (deleted, calls) = match terminal {
            "send" => (request.send().await.unwrap().deleted.unwrap(), 1),
            "send_all" => (request.send_all().await.unwrap() as i64, 2),
            "send_all_max" => (request.send_all_max(5).await.unwrap().done as i64, 2),
            "pages" => {
                let pages: Vec<_> = request.pages().try_collect().await.unwrap();
                (pages.iter().map(|p| p.deleted.unwrap()).sum(), 2)
            }
            _ => unreachable!(),
        };
        assert_eq!(deleted, [2, 3][calls - 1], "{terminal}");
        let seen = requests(&server).await;
        assert_eq!(seen.len(), calls, "{terminal}");
        // `.all()` on the wire: `count` and no filter.
        for r in &seen {
            assert_eq!(
                query_without_cursor(r),
                [("count".to_string(), "100".to_string())],
                "{terminal}"
            );
        }
    }

    // DELETE /v2/messages: until a call cancels nothing.
    for terminal in ["send", "send_all"] {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/v2/messages"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cancelled": 4})))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/v2/messages"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cancelled": 0})))
            .mount(&server)
            .await;
        let c = client(&server, "t", AuthMode::Bearer);
        let request: CancelMessages<'_> = c.cancel_messages().all();
        let (cancelled, calls) = match terminal {
            "send" => (request.send().await.unwrap().cancelled.unwrap() as u64, 1),
            "send_all" => (request.send_all().await.unwrap(), 2),
            _ => unreachable!(),
        };
        assert_eq!(cancelled, 4, "{terminal}");
        assert_eq!(requests(&server).await.len(), calls, "{terminal}");
    }
}

#[tokio::test]
async fn refusals_leave_before_anything_is_sent_whatever_the_terminal() {
    let server = MockServer::start().await;
    let c = client(&server, "t", AuthMode::Bearer);
    let invalid = || MessageOptions::new().label("a,b");

    // Options without `.all()` or a filter: the bulk guard.
    let unfiltered = || c.retry_dlq_messages().options(retries_once());
    // An invalid option, with `.all()` before or after it.
    let bad_all = || c.retry_dlq_messages().all().options(invalid());
    let bad_options_first = || c.retry_dlq_messages().options(invalid()).all();

    type Make<'c> = Box<dyn Fn() -> RetryDlqMessages<'c> + 'c>;
    type Case<'c> = (&'static str, Make<'c>, fn(&Error) -> bool);
    let cases: [Case<'_>; 3] = [
        (
            "unfiltered",
            Box::new(unfiltered),
            |e| matches!(e, Error::InvalidRequest(m) if m.contains("`.all()`") && m.contains("Nothing was sent")),
        ),
        (
            ".all().options(bad)",
            Box::new(bad_all),
            |e| matches!(e, Error::InvalidOption { option, .. } if option == "label"),
        ),
        (
            ".options(bad).all()",
            Box::new(bad_options_first),
            |e| matches!(e, Error::InvalidOption { option, .. } if option == "label"),
        ),
    ];
    for (what, make, expected) in &cases {
        let errors = [
            make().send().await.unwrap_err(),
            make().send_all().await.unwrap_err(),
            make().send_all_max(3).await.unwrap_err(),
            make().pages().try_next().await.unwrap_err(),
            make().stream().try_next().await.unwrap_err(),
            make().collect_all().await.unwrap_err(),
        ];
        for (i, e) in errors.iter().enumerate() {
            assert!(expected(e), "{what}, terminal {i}: {e:?}");
        }
    }
    // A batch entry that fails its checks, reported before the batch is
    // built (its body is never set).
    let err = c
        .batch()
        .entries([
            qstash::BatchEntry::new("https://example.com/a"),
            qstash::BatchEntry::new("https://example.com/b").options(invalid()),
        ])
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidOption { option, .. } if option == "batch entry 1: label"),
        "{err:?}"
    );
    assert!(requests(&server).await.is_empty(), "nothing was sent");

    // The last entries win.
    Mock::given(method("POST"))
        .and(path("/v2/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"messageId": "b1"}])))
        .mount(&server)
        .await;
    let results = c
        .batch()
        .entries([qstash::BatchEntry::new("x").options(invalid())])
        .entries([qstash::BatchEntry::new("https://example.com/a")])
        .send()
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].message_id(), Some("b1"));
    assert_eq!(requests(&server).await.len(), 1);
    server.reset().await;

    // The last options win: a valid call after an invalid one goes out.
    Mock::given(method("POST"))
        .and(path("/v2/publish/https:%2F%2Fexample.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messageId": "m"})))
        .mount(&server)
        .await;
    let sent = c
        .publish()
        .destination("https://example.com")
        .payload(qstash::Body::text("hi"))
        .options(invalid())
        .options(retries_once())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.message_id(), Some("m"));
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].headers.get("upstash-retries").unwrap(), "1");
}
