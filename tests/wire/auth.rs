//! Dual authentication and the user agent, checked on the wire; the token
//! never shows in `Debug` output or in any error the tests can provoke.

use crate::common;

use std::time::Duration;

use common::{
    MODES, NASTY_TOKEN, assert_display_debug_clean, assert_no_token, client, closed_port_url,
    header, query, requests,
};
use qstash::{AuthMode, Client, Error};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DEFAULT_UA: &str = concat!("qstash/", env!("CARGO_PKG_VERSION"));

async fn mount_operations(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v2/queues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"name": "orders"}])))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/messages/msg_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messageId": "msg_1"})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/v2/publish/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messageId": "msg_2"})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/dlq"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [{"messageId": "m"}]})),
        )
        .mount(server)
        .await;
}

/// Runs four different operations (no parameters, a path parameter, a body,
/// repeated query filters) and returns what the server saw.
async fn run_operations(client: &Client, server: &MockServer) -> Vec<wiremock::Request> {
    let queues = client.list_queues().send().await.unwrap();
    assert_eq!(queues.into_inner()[0].name.as_deref(), Some("orders"));
    let message = client
        .get_message()
        .message_id("msg_1")
        .send()
        .await
        .unwrap();
    assert_eq!(message.message_id.as_deref(), Some("msg_1"));
    let published = client
        .publish()
        .destination("https://example.com/hook")
        .content_type("application/json")
        .body(r#"{"order":42}"#)
        .send()
        .await
        .unwrap();
    let published = serde_json::to_value(published.into_inner()).unwrap();
    assert_eq!(published["messageId"], "msg_2");
    let dlq = client
        .list_dlq_messages()
        .label(["a", "b"])
        .queue_name("orders")
        .count(5)
        .send()
        .await
        .unwrap();
    assert_eq!(dlq.messages.len(), 1);
    let seen = requests(server).await;
    assert_eq!(seen.len(), 4);
    seen
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn bearer_mode_sends_the_authorization_header_and_no_query_token() {
    let server = MockServer::start().await;
    mount_operations(&server).await;
    let client = client(&server, NASTY_TOKEN, AuthMode::Bearer);
    assert_eq!(client.auth_mode(), AuthMode::Bearer);

    let seen = run_operations(&client, &server).await;
    for request in &seen {
        assert_eq!(
            header(request, "authorization").as_deref(),
            Some(&*format!("Bearer {NASTY_TOKEN}")),
            "{} {}",
            request.method,
            request.url
        );
        assert_eq!(header(request, "user-agent").as_deref(), Some(DEFAULT_UA));
        assert!(
            query(request).iter().all(|(k, _)| k != "qstash_token"),
            "query token in bearer mode: {}",
            request.url
        );
    }
    assert_eq!(query(&seen[0]), pairs(&[]));
    assert_eq!(query(&seen[1]), pairs(&[]));
    assert_eq!(query(&seen[2]), pairs(&[]));
    assert_eq!(
        query(&seen[3]),
        pairs(&[
            ("count", "5"),
            ("label", "a"),
            ("label", "b"),
            ("queueName", "orders")
        ])
    );
    assert_eq!(seen[2].body, br#"{"order":42}"#);
}

#[tokio::test]
async fn bearer_is_the_default_mode() {
    let server = MockServer::start().await;
    mount_operations(&server).await;
    let client = Client::builder()
        .token("plain-token")
        .base_url(server.uri())
        .build()
        .unwrap();
    assert_eq!(client.auth_mode(), AuthMode::Bearer);
    client.list_queues().send().await.unwrap();
    let seen = requests(&server).await;
    assert_eq!(
        header(&seen[0], "authorization").as_deref(),
        Some("Bearer plain-token")
    );
    assert_eq!(seen[0].url.query(), None);
}

#[tokio::test]
async fn query_mode_sends_the_percent_encoded_token_and_no_authorization_header() {
    let server = MockServer::start().await;
    mount_operations(&server).await;
    let client = client(&server, NASTY_TOKEN, AuthMode::QueryParameter);
    assert_eq!(client.auth_mode(), AuthMode::QueryParameter);

    let seen = run_operations(&client, &server).await;
    for request in &seen {
        assert_eq!(
            header(request, "authorization"),
            None,
            "{} {}",
            request.method,
            request.url
        );
        assert_eq!(header(request, "user-agent").as_deref(), Some(DEFAULT_UA));
        // Exactly one token parameter, percent-encoded on the wire.
        let raw = request.url.query().expect("query carries the token");
        assert_eq!(
            raw.matches("qstash_token=").count(),
            1,
            "token parameter count in {raw}"
        );
        assert!(
            raw.contains("qstash_token=sEcReT%2Bt0k%2Fen%3Dpad%2525x"),
            "raw query: {raw}"
        );
    }
    let token = (String::from("qstash_token"), String::from(NASTY_TOKEN));
    assert_eq!(query(&seen[0]), vec![token.clone()]);
    assert_eq!(query(&seen[1]), vec![token.clone()]);
    assert_eq!(query(&seen[2]), vec![token.clone()]);
    let mut dlq = pairs(&[
        ("count", "5"),
        ("label", "a"),
        ("label", "b"),
        ("queueName", "orders"),
    ]);
    dlq.push(token);
    assert_eq!(query(&seen[3]), dlq);
    assert_eq!(seen[2].body, br#"{"order":42}"#);
}

#[tokio::test]
async fn query_mode_token_with_reserved_characters_arrives_intact() {
    for token in ["a+b/c=d%e", "%2B%25", "a&b#c?d;e"] {
        let server = MockServer::start().await;
        mount_operations(&server).await;
        let client = client(&server, token, AuthMode::QueryParameter);
        client.list_queues().send().await.unwrap();
        let seen = requests(&server).await;
        let values: Vec<String> = query(&seen[0])
            .into_iter()
            .filter(|(k, _)| k == "qstash_token")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(values, [token], "raw query: {:?}", seen[0].url.query());
    }
}

#[tokio::test]
async fn custom_user_agent_replaces_the_default() {
    for mode in MODES {
        let server = MockServer::start().await;
        mount_operations(&server).await;
        let client = Client::builder()
            .token("t")
            .base_url(server.uri())
            .auth_mode(mode)
            .user_agent("billing-worker/3.1")
            .build()
            .unwrap();
        client.list_queues().send().await.unwrap();
        client
            .get_message()
            .message_id("msg_1")
            .send()
            .await
            .unwrap();
        for request in requests(&server).await {
            assert_eq!(
                header(&request, "user-agent").as_deref(),
                Some("billing-worker/3.1")
            );
        }
    }
}

#[tokio::test]
async fn invalid_user_agent_is_a_config_error() {
    let err = Client::builder()
        .token("t")
        .user_agent("bad\nagent")
        .build()
        .unwrap_err();
    let Error::Config(message) = &err else {
        panic!("expected a config error, got {err:?}");
    };
    assert_eq!(
        message,
        r#"user agent "bad\nagent" is not a valid header value"#
    );
}

#[tokio::test]
async fn caller_supplied_http_client_still_gets_token_and_user_agent() {
    for mode in MODES {
        let server = MockServer::start().await;
        mount_operations(&server).await;
        let http = reqwest::Client::builder()
            .user_agent("from-the-http-client")
            .build()
            .unwrap();
        let client = Client::builder()
            .token("shared-pool-token")
            .base_url(server.uri())
            .auth_mode(mode)
            .http_client(http)
            .build()
            .unwrap();
        client.list_queues().send().await.unwrap();
        let seen = requests(&server).await;
        assert_eq!(header(&seen[0], "user-agent").as_deref(), Some(DEFAULT_UA));
        match mode {
            AuthMode::Bearer => assert_eq!(
                header(&seen[0], "authorization").as_deref(),
                Some("Bearer shared-pool-token")
            ),
            AuthMode::QueryParameter => {
                assert_eq!(header(&seen[0], "authorization"), None);
                assert_eq!(
                    query(&seen[0]),
                    [("qstash_token".to_string(), "shared-pool-token".to_string())]
                );
            }
        }
    }
}

#[tokio::test]
async fn base_url_with_a_trailing_slash_or_path_stem_is_joined_cleanly() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/qstash/v2/queues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .token("t")
        .base_url(format!("{}/qstash/", server.uri()))
        .build()
        .unwrap();
    client.list_queues().send().await.unwrap();
}

#[tokio::test]
async fn debug_of_client_builder_and_token_never_shows_the_token() {
    for mode in MODES {
        let builder = Client::builder()
            .token(NASTY_TOKEN)
            .auth_mode(mode)
            .base_url("https://qstash.example");
        let shown = format!("{builder:?}");
        assert_no_token("builder Debug", &shown, NASTY_TOKEN);
        assert!(shown.contains(r#"token: Some("<redacted>")"#), "{shown}");

        let client = builder.clone().build().unwrap();
        let shown = format!("{client:?}");
        assert_no_token("client Debug", &shown, NASTY_TOKEN);
        assert_no_token(
            "client Debug (pretty)",
            &format!("{client:#?}"),
            NASTY_TOKEN,
        );
        assert!(shown.contains("Token(<redacted>)"), "{shown}");

        // Request builders print their client too.
        let request = client.list_dlq_messages().label("x");
        assert_no_token(
            "request builder Debug",
            &format!("{request:?}"),
            NASTY_TOKEN,
        );
    }
}

#[tokio::test]
async fn invalid_tokens_give_clear_config_errors_without_the_token() {
    let cases = [
        ("", "the token is empty"),
        (
            "sekrit tok",
            "the token contains whitespace (character 7); copy it again without spaces or line breaks",
        ),
        (
            "sekrit\n",
            "the token contains whitespace (character 7); copy it again without spaces or line breaks",
        ),
        (
            " sekrit",
            "the token contains whitespace (character 1); copy it again without spaces or line breaks",
        ),
        (
            "sek\u{7}rit",
            "the token contains a control character (character 4)",
        ),
        (
            "sekrit\u{7f}",
            "the token contains a control character (character 7)",
        ),
    ];
    for (token, expected) in cases {
        let builder = Client::builder().token(token);
        if !token.is_empty() {
            assert_no_token("builder Debug", &format!("{builder:?}"), token);
        }
        let err = builder.build().unwrap_err();
        let Error::Config(message) = &err else {
            panic!("expected a config error for {token:?}, got {err:?}");
        };
        assert_eq!(message, expected, "token {token:?}");
        assert_eq!(
            err.to_string(),
            format!("invalid configuration: {expected}")
        );
        if !token.is_empty() {
            assert_display_debug_clean("config error", &err, token);
            assert!(!err.to_string().contains("sekrit"), "{err}");
        }
    }

    let err = Client::builder().build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: no token: call .token(...) or use Client::from_env()"
    );
}

/// Every error the tests can provoke, in both modes: none shows the token.
#[tokio::test]
async fn no_error_shows_the_token_in_either_mode() {
    for mode in MODES {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/messages/missing"))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({"error": "message not found"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/messages/plain"))
            .respond_with(ResponseTemplate::new(500).set_body_string("internal failure"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/messages/limited"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("Retry-After", "7")
                    .set_body_json(json!({"error": "too many requests"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/messages/garbage"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/messages/moved"))
            .respond_with(ResponseTemplate::new(304))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/messages/slow"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({}))
                    .set_delay(Duration::from_secs(3)),
            )
            .mount(&server)
            .await;
        let client = client(&server, NASTY_TOKEN, mode);
        let fast = Client::builder()
            .token(NASTY_TOKEN)
            .base_url(server.uri())
            .auth_mode(mode)
            .timeout(Duration::from_millis(150))
            .build()
            .unwrap();

        let mut errors = Vec::new();
        for id in ["missing", "plain", "limited", "garbage", "moved"] {
            let raw = client
                .get_message()
                .message_id(id)
                .send()
                .await
                .unwrap_err();
            assert_display_debug_clean(&format!("{mode:?} raw {id}"), &raw, NASTY_TOKEN);
            errors.push((id, raw));
        }
        let raw = fast
            .get_message()
            .message_id("slow")
            .send()
            .await
            .unwrap_err();
        assert_display_debug_clean(&format!("{mode:?} raw timeout"), &raw, NASTY_TOKEN);
        errors.push(("slow", raw));

        let refused = Client::builder()
            .token(NASTY_TOKEN)
            .base_url(closed_port_url())
            .auth_mode(mode)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let raw = refused.list_queues().send().await.unwrap_err();
        assert_display_debug_clean(&format!("{mode:?} raw refused"), &raw, NASTY_TOKEN);
        if mode == AuthMode::QueryParameter {
            // The URL is in the error's source, with the token replaced.
            let shown = chain(&raw);
            assert_no_token("refused error chain", &shown, NASTY_TOKEN);
            assert!(
                shown.contains("qstash_token=%3Credacted%3E"),
                "refused error shows no redacted URL: {shown}"
            );
        }
        errors.push(("refused", raw));

        let kinds: Vec<&str> = errors
            .iter()
            .map(|(_, e)| match e {
                Error::Api(_) => "api",
                Error::Decode { .. } => "decode",
                Error::Timeout(_) => "timeout",
                Error::Network(_) => "network",
                Error::UnexpectedStatus(_) => "status",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "api", "api", "api", "decode", "status", "timeout", "network"
            ],
            "{mode:?}"
        );
        for (id, err) in &errors {
            assert_display_debug_clean(&format!("{mode:?} {id}"), err, NASTY_TOKEN);
            let mut source = std::error::Error::source(err);
            while let Some(s) = source {
                assert_display_debug_clean(&format!("{mode:?} {id} source"), &s, NASTY_TOKEN);
                source = s.source();
            }
        }
    }
}

/// An error and its sources, as a reporter (anyhow, tracing) prints them.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[tokio::test]
async fn query_mode_timeout_error_shows_the_redacted_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/queues"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let client = Client::builder()
        .token(NASTY_TOKEN)
        .base_url(server.uri())
        .auth_mode(AuthMode::QueryParameter)
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let err = client.list_queues().send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.to_string(), "QStash did not answer in time");
    // The URL is in the source (Display does not repeat it), redacted.
    let shown = chain(&err);
    assert!(
        shown.contains("/v2/queues?qstash_token=%3Credacted%3E"),
        "{shown}"
    );
    assert_no_token("timeout error chain", &shown, NASTY_TOKEN);
    assert_no_token("timeout Debug", &format!("{err:?}"), NASTY_TOKEN);
}

#[tokio::test]
async fn base_url_errors_do_not_echo_a_query_that_may_hold_the_token() {
    let cases = [
        (
            format!("https://qstash.example/?qstash_token={NASTY_TOKEN}"),
            r#"the base URL "https://qstash.example/…" must not carry a query or fragment"#,
        ),
        (
            format!("qstash.example?qstash_token={NASTY_TOKEN}"),
            r#"the base URL "qstash.example…" is not a URL: relative URL without a base"#,
        ),
        (
            format!("ftp://qstash.example#{NASTY_TOKEN}"),
            r#"the base URL "ftp://qstash.example…" must start with http:// or https://"#,
        ),
    ];
    for (url, expected) in cases {
        let err = Client::builder()
            .token("t")
            .base_url(&url)
            .build()
            .unwrap_err();
        let Error::Config(message) = &err else {
            panic!("expected a config error, got {err:?}");
        };
        assert_eq!(message, expected);
        assert_display_debug_clean("base URL error", &err, NASTY_TOKEN);
    }
}

/// A server that sends the headers of a 200 and part of the body, then
/// stalls (`close: false`) or hangs up (`close: true`).
async fn half_body_server(close: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n[{\"name\"",
                    )
                    .await;
                let _ = socket.flush().await;
                if !close {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn body_failures_do_not_show_the_token() {
    for close in [false, true] {
        let url = half_body_server(close).await;
        let client = Client::builder()
            .token(NASTY_TOKEN)
            .base_url(url)
            .auth_mode(AuthMode::QueryParameter)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let raw = client.list_queues().send().await.unwrap_err();
        assert_display_debug_clean("raw body error", &raw, NASTY_TOKEN);
        let err = raw;
        assert_display_debug_clean("body error", &err, NASTY_TOKEN);
        if close {
            assert!(err.is_network(), "{err:?}");
        } else {
            assert!(err.is_timeout(), "{err:?}");
        }
    }
}
