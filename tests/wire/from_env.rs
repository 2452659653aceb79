//! Configuration from the environment: `ClientBuilder::from_env_with` over
//! a map (each variable set, unset, invalid), and `Client::from_env` once
//! over the real process environment.

use crate::common;

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use common::{assert_no_token, header, requests};
use qstash::{Client, ClientBuilder, Error};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn env(vars: &[(&str, &str)]) -> HashMap<String, OsString> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect()
}

fn from_map(vars: &HashMap<String, OsString>) -> Result<ClientBuilder, Error> {
    ClientBuilder::from_env_with(|name| vars.get(name).cloned())
}

fn build(vars: &[(&str, &str)]) -> Result<Client, Error> {
    from_map(&env(vars))?.build()
}

fn config_message(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    }
}

/// The token a client sends, read off the wire.
async fn token_on_the_wire(client: &Client, server: &MockServer) -> String {
    client.list_queues().send().await.expect("mock answers");
    let seen = requests(server).await;
    let auth = header(seen.last().unwrap(), "authorization").expect("bearer header");
    auth.strip_prefix("Bearer ").unwrap().to_string()
}

async fn queues_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/queues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn token_and_url_are_read() {
    let server = queues_server().await;
    let client = build(&[("QSTASH_TOKEN", "env-token"), ("QSTASH_URL", &server.uri())]).unwrap();
    assert_eq!(client.base_url(), server.uri());
    assert_eq!(token_on_the_wire(&client, &server).await, "env-token");
}

#[tokio::test]
async fn default_url_when_qstash_url_is_unset() {
    let client = build(&[("QSTASH_TOKEN", "env-token")]).unwrap();
    assert_eq!(client.base_url(), "https://qstash.upstash.io");
    assert_eq!(qstash::DEFAULT_BASE_URL, "https://qstash.upstash.io");
}

#[tokio::test]
async fn trailing_slash_of_qstash_url_is_dropped() {
    let client = build(&[
        ("QSTASH_TOKEN", "t"),
        ("QSTASH_URL", "https://qstash.example.com/"),
    ])
    .unwrap();
    assert_eq!(client.base_url(), "https://qstash.example.com");
}

#[tokio::test]
async fn builder_settings_override_the_environment() {
    let server = queues_server().await;
    let client = from_map(&env(&[("QSTASH_TOKEN", "env-token")]))
        .unwrap()
        .base_url(server.uri())
        .token("explicit-token")
        .build()
        .unwrap();
    assert_eq!(token_on_the_wire(&client, &server).await, "explicit-token");
}

#[tokio::test]
async fn missing_token_names_qstash_token() {
    assert_eq!(
        config_message(from_map(&env(&[]))),
        "environment variable QSTASH_TOKEN is not set"
    );
    assert_eq!(
        config_message(from_map(&env(&[("QSTASH_URL", "https://q.example")]))),
        "environment variable QSTASH_TOKEN is not set"
    );
}

#[tokio::test]
async fn empty_token_names_qstash_token() {
    for value in ["", "   ", "\n"] {
        assert_eq!(
            config_message(from_map(&env(&[("QSTASH_TOKEN", value)]))),
            "environment variable QSTASH_TOKEN is set but empty",
            "{value:?}"
        );
    }
}

#[tokio::test]
async fn invalid_token_names_qstash_token_without_showing_it() {
    let message = config_message(from_map(&env(&[("QSTASH_TOKEN", "sekrit value\n")])));
    assert_eq!(
        message,
        "environment variable QSTASH_TOKEN contains whitespace (character 7); copy it again without spaces or line breaks"
    );
    assert_no_token("env error", &message, "sekrit value");
    assert!(!message.contains("sekrit"));

    let message = config_message(from_map(&env(&[("QSTASH_TOKEN", "sek\u{1b}rit")])));
    assert_eq!(
        message,
        "environment variable QSTASH_TOKEN contains a control character (character 4)"
    );
}

#[tokio::test]
async fn invalid_url_names_qstash_url() {
    assert_eq!(
        config_message(from_map(&env(&[
            ("QSTASH_TOKEN", "t"),
            ("QSTASH_URL", "not a url")
        ]))),
        r#"environment variable QSTASH_URL "not a url" is not a URL: relative URL without a base"#
    );
    assert_eq!(
        config_message(from_map(&env(&[
            ("QSTASH_TOKEN", "t"),
            ("QSTASH_URL", "ftp://qstash.example")
        ]))),
        r#"environment variable QSTASH_URL "ftp://qstash.example" must start with http:// or https://"#
    );
    assert_eq!(
        config_message(from_map(&env(&[
            ("QSTASH_TOKEN", "t"),
            ("QSTASH_URL", "https://q.example/?x=1")
        ]))),
        r#"environment variable QSTASH_URL "https://q.example/…" must not carry a query or fragment"#
    );
    assert_eq!(
        config_message(from_map(&env(&[("QSTASH_TOKEN", "t"), ("QSTASH_URL", "")]))),
        "environment variable QSTASH_URL is set but empty"
    );
}

#[tokio::test]
async fn non_utf8_values_name_the_variable() {
    for name in ["QSTASH_TOKEN", "QSTASH_URL", "QSTASH_REGION"] {
        let mut vars = env(&[("QSTASH_TOKEN", "t")]);
        vars.insert(name.to_string(), OsString::from_vec(vec![b'a', 0xff, b'z']));
        assert_eq!(
            config_message(from_map(&vars)),
            format!("environment variable {name} is not valid UTF-8")
        );
    }
    let mut vars = env(&[("QSTASH_REGION", "EU_CENTRAL_1"), ("QSTASH_TOKEN", "t")]);
    vars.insert(
        "EU_CENTRAL_1_QSTASH_TOKEN".to_string(),
        OsString::from_vec(vec![0xfe]),
    );
    vars.insert(
        "EU_CENTRAL_1_QSTASH_URL".to_string(),
        OsString::from("https://eu.example"),
    );
    assert_eq!(
        config_message(from_map(&vars)),
        "environment variable EU_CENTRAL_1_QSTASH_TOKEN is not valid UTF-8"
    );
}

#[tokio::test]
async fn region_credentials_take_precedence() {
    let regional = queues_server().await;
    let client = build(&[
        ("QSTASH_REGION", "EU_CENTRAL_1"),
        ("EU_CENTRAL_1_QSTASH_TOKEN", "eu-token"),
        ("EU_CENTRAL_1_QSTASH_URL", &regional.uri()),
        ("US_EAST_1_QSTASH_TOKEN", "us-token"),
        ("US_EAST_1_QSTASH_URL", "https://us.example"),
        ("QSTASH_TOKEN", "default-token"),
        ("QSTASH_URL", "https://default.example"),
    ])
    .unwrap();
    assert_eq!(client.base_url(), regional.uri());
    assert_eq!(token_on_the_wire(&client, &regional).await, "eu-token");
}

#[tokio::test]
async fn region_name_is_normalised() {
    for region in ["us-east-1", "us_east_1", " US-EAST-1 "] {
        let client = build(&[
            ("QSTASH_REGION", region),
            ("US_EAST_1_QSTASH_TOKEN", "us-token"),
            ("US_EAST_1_QSTASH_URL", "https://us.example"),
            ("QSTASH_TOKEN", "default-token"),
        ])
        .unwrap();
        assert_eq!(client.base_url(), "https://us.example", "{region:?}");
    }
}

#[tokio::test]
async fn region_without_regional_variables_falls_back() {
    let server = queues_server().await;
    let client = build(&[
        ("QSTASH_REGION", "US_EAST_1"),
        ("QSTASH_TOKEN", "default-token"),
        ("QSTASH_URL", &server.uri()),
    ])
    .unwrap();
    assert_eq!(client.base_url(), server.uri());
    assert_eq!(token_on_the_wire(&client, &server).await, "default-token");

    let client = build(&[("QSTASH_REGION", "US_EAST_1"), ("QSTASH_TOKEN", "t")]).unwrap();
    assert_eq!(client.base_url(), "https://qstash.upstash.io");
}

/// Tokens are per region: a regional URL is never paired with the default
/// token, nor a regional token with the default URL. As in the JS SDK, the
/// regional pair is used only when both are set.
#[tokio::test]
async fn half_a_regional_pair_is_not_mixed_with_the_defaults() {
    let default = queues_server().await;
    // Regional URL only: the default pair is used.
    let client = build(&[
        ("QSTASH_REGION", "US_EAST_1"),
        ("US_EAST_1_QSTASH_URL", "https://us.example"),
        ("QSTASH_TOKEN", "default-token"),
        ("QSTASH_URL", &default.uri()),
    ])
    .unwrap();
    assert_eq!(client.base_url(), default.uri());
    assert_eq!(token_on_the_wire(&client, &default).await, "default-token");

    // Regional token only: the default pair is used.
    let client = build(&[
        ("QSTASH_REGION", "US_EAST_1"),
        ("US_EAST_1_QSTASH_TOKEN", "us-token"),
        ("QSTASH_TOKEN", "default-token"),
    ])
    .unwrap();
    assert_eq!(client.base_url(), "https://qstash.upstash.io");
    let default2 = queues_server().await;
    let client = build(&[
        ("QSTASH_REGION", "US_EAST_1"),
        ("US_EAST_1_QSTASH_TOKEN", "us-token"),
        ("QSTASH_TOKEN", "default-token"),
        ("QSTASH_URL", &default2.uri()),
    ])
    .unwrap();
    assert_eq!(token_on_the_wire(&client, &default2).await, "default-token");

    // Regional token only, no default token: the error names what is missing.
    assert_eq!(
        config_message(from_map(&env(&[
            ("QSTASH_REGION", "US_EAST_1"),
            ("US_EAST_1_QSTASH_TOKEN", "us-token"),
        ]))),
        "environment variable US_EAST_1_QSTASH_URL is not set (needed with US_EAST_1_QSTASH_TOKEN), and QSTASH_TOKEN is not set either"
    );
}

#[tokio::test]
async fn region_set_and_no_token_anywhere_names_both_variables() {
    assert_eq!(
        config_message(from_map(&env(&[("QSTASH_REGION", "EU_CENTRAL_1")]))),
        "neither EU_CENTRAL_1_QSTASH_TOKEN nor QSTASH_TOKEN is set"
    );
}

#[tokio::test]
async fn invalid_region_names_qstash_region() {
    assert_eq!(
        config_message(from_map(&env(&[
            ("QSTASH_REGION", "eu.central/1"),
            ("QSTASH_TOKEN", "t")
        ]))),
        r#"environment variable QSTASH_REGION is "eu.central/1"; expected a region such as EU_CENTRAL_1 or US_EAST_1"#
    );
    assert_eq!(
        config_message(from_map(&env(&[
            ("QSTASH_REGION", ""),
            ("QSTASH_TOKEN", "t")
        ]))),
        "environment variable QSTASH_REGION is set but empty"
    );
}

#[tokio::test]
async fn invalid_regional_values_name_the_regional_variable() {
    let base = [
        ("QSTASH_REGION", "EU_CENTRAL_1"),
        ("QSTASH_TOKEN", "default-token"),
    ];
    let mut vars = base.to_vec();
    vars.extend([
        ("EU_CENTRAL_1_QSTASH_TOKEN", "eu token"),
        ("EU_CENTRAL_1_QSTASH_URL", "https://eu.example"),
    ]);
    let message = config_message(from_map(&env(&vars)));
    assert_eq!(
        message,
        "environment variable EU_CENTRAL_1_QSTASH_TOKEN contains whitespace (character 3); copy it again without spaces or line breaks"
    );

    let mut vars = base.to_vec();
    vars.extend([
        ("EU_CENTRAL_1_QSTASH_TOKEN", "eu-token"),
        ("EU_CENTRAL_1_QSTASH_URL", "eu.example"),
    ]);
    assert_eq!(
        config_message(from_map(&env(&vars))),
        r#"environment variable EU_CENTRAL_1_QSTASH_URL "eu.example" is not a URL: relative URL without a base"#
    );
}

/// The only test that touches the process environment: every change to it
/// stays in this one function.
#[tokio::test]
async fn client_from_env_reads_the_process_environment() {
    const ALL: [&str; 7] = [
        "QSTASH_TOKEN",
        "QSTASH_URL",
        "QSTASH_REGION",
        "EU_CENTRAL_1_QSTASH_TOKEN",
        "EU_CENTRAL_1_QSTASH_URL",
        "US_EAST_1_QSTASH_TOKEN",
        "US_EAST_1_QSTASH_URL",
    ];
    let saved: Vec<(&str, Option<OsString>)> =
        ALL.iter().map(|n| (*n, std::env::var_os(n))).collect();
    // SAFETY: no other test in this binary reads or writes these
    // variables, and std serializes its own environment access.
    let set = |name: &str, value: Option<&str>| unsafe {
        match value {
            Some(v) => std::env::set_var(name, v),
            None => std::env::remove_var(name),
        }
    };
    for name in ALL {
        set(name, None);
    }

    let missing = Client::from_env().unwrap_err();
    assert_eq!(
        missing.to_string(),
        "invalid configuration: environment variable QSTASH_TOKEN is not set"
    );

    let server = queues_server().await;
    set("QSTASH_TOKEN", Some("process-env-token"));
    set("QSTASH_URL", Some(&server.uri()));
    let client = Client::from_env().unwrap();
    assert_eq!(
        token_on_the_wire(&client, &server).await,
        "process-env-token"
    );

    let regional = queues_server().await;
    set("QSTASH_REGION", Some("us-east-1"));
    set("US_EAST_1_QSTASH_TOKEN", Some("us-process-token"));
    set("US_EAST_1_QSTASH_URL", Some(&regional.uri()));
    let client = Client::from_env().unwrap();
    assert_eq!(
        token_on_the_wire(&client, &regional).await,
        "us-process-token"
    );

    set("QSTASH_REGION", None);
    set("QSTASH_URL", Some("qstash.upstash.io"));
    let err = Client::from_env().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid configuration: environment variable QSTASH_URL "qstash.upstash.io" is not a URL: relative URL without a base"#
    );

    for (name, value) in saved {
        // SAFETY: as above.
        unsafe {
            match value {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
        }
    }
}

#[tokio::test]
async fn dev_mode_uses_the_dev_server_and_its_public_token() {
    let (logs, _guard) = common::capture_logs();
    let client = build(&[
        ("QSTASH_DEV", "1"),
        // Ignored in dev mode, as in the JS SDK.
        ("QSTASH_TOKEN", "production-token"),
        ("QSTASH_URL", "https://qstash.upstash.io"),
        ("QSTASH_REGION", "US_EAST_1"),
    ])
    .unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:8080");
    let text = logs.text();
    assert!(
        text.contains("INFO QStash dev mode: the client sends to the local dev server http://127.0.0.1:8080 with the public dev token"),
        "{text}"
    );
    assert!(!text.contains(qstash::DEV_TOKEN), "{text}");
}

#[tokio::test]
async fn dev_mode_sends_the_dev_token_to_the_dev_port() {
    let server = queues_server().await;
    let port = server.address().port().to_string();
    let client = build(&[("QSTASH_DEV", "true"), ("QSTASH_DEV_PORT", &port)]).unwrap();
    assert_eq!(client.base_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(token_on_the_wire(&client, &server).await, qstash::DEV_TOKEN);
}

#[tokio::test]
async fn dev_mode_off_reads_the_usual_variables() {
    for off in ["0", "false", ""] {
        let client = build(&[
            ("QSTASH_DEV", off),
            ("QSTASH_DEV_PORT", "9000"),
            ("QSTASH_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(client.base_url(), "https://qstash.upstash.io", "{off:?}");
    }
}

#[tokio::test]
async fn bad_dev_settings_name_the_variable() {
    assert_eq!(
        config_message(from_map(&env(&[
            ("QSTASH_DEV", "yes"),
            ("QSTASH_TOKEN", "t")
        ]))),
        "environment variable QSTASH_DEV is \"yes\"; expected 1 or true (dev mode on), 0 or false (off)"
    );
    assert_eq!(
        config_message(from_map(&env(&[
            ("QSTASH_DEV", "1"),
            ("QSTASH_DEV_PORT", "http")
        ]))),
        "environment variable QSTASH_DEV_PORT is \"http\"; expected a port from 1 to 65535"
    );
}

#[tokio::test]
async fn dev_builder_is_the_dev_server_and_later_settings_win() {
    let server = queues_server().await;
    let client = qstash::Client::builder().dev().build().unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:8080");
    let client = qstash::Client::builder()
        .dev()
        .base_url(server.uri())
        .build()
        .unwrap();
    assert_eq!(token_on_the_wire(&client, &server).await, qstash::DEV_TOKEN);
    let client = qstash::Client::builder()
        .dev()
        .base_url(server.uri())
        .token("mine")
        .build()
        .unwrap();
    assert_eq!(token_on_the_wire(&client, &server).await, "mine");
}

#[tokio::test]
async fn a_client_without_the_dev_token_logs_nothing() {
    let (logs, _guard) = common::capture_logs();
    build(&[("QSTASH_TOKEN", "t")]).unwrap();
    assert_eq!(logs.lines(), Vec::<String>::new());
}

#[tokio::test]
async fn an_api_path_in_the_base_url_is_cut_with_a_warning() {
    let server = queues_server().await;
    let cases = [
        (
            "https://qstash.upstash.io/v2/publish",
            "https://qstash.upstash.io",
            "/v2/publish",
        ),
        (
            "https://qstash.upstash.io/v2/publish/",
            "https://qstash.upstash.io",
            "/v2/publish/",
        ),
        (
            "https://qstash.upstash.io/v2",
            "https://qstash.upstash.io",
            "/v2",
        ),
        (
            "https://proxy.example/qstash/v2/queues",
            "https://proxy.example/qstash",
            "/v2/queues",
        ),
    ];
    for (given, root, cut) in cases {
        let (logs, _guard) = common::capture_logs();
        let client = build(&[("QSTASH_TOKEN", "t"), ("QSTASH_URL", given)]).unwrap();
        assert_eq!(client.base_url(), root, "{given}");
        assert_eq!(
            logs.lines(),
            [format!(
                "WARN environment variable QSTASH_URL ends in the API path {cut:?}, which the client adds itself: using {root:?} instead (set that to silence this warning)"
            )],
            "{given}"
        );
    }
    // Not an API path: a segment that merely starts with v2, and no path.
    for kept in [
        "https://proxy.example/v20",
        "https://proxy.example/api/v2x/y",
    ] {
        let (logs, _guard) = common::capture_logs();
        let client = build(&[("QSTASH_TOKEN", "t"), ("QSTASH_URL", kept)]).unwrap();
        assert_eq!(client.base_url(), kept);
        assert!(logs.lines().is_empty(), "{kept}: {:?}", logs.lines());
    }
    // The corrected client sends to the API path once.
    let client = qstash::Client::builder()
        .token("t")
        .base_url(format!("{}/v2/publish", server.uri()))
        .build()
        .unwrap();
    assert_eq!(token_on_the_wire(&client, &server).await, "t");
}
