//! Provider destinations (`.api(...)`, `BatchEntry::api`) on the wire: the
//! request qstash-js sends for the same call. Each test restates a test of
//! qstash-js `src/client/api/llm.test.ts` or `email.test.ts` (commit
//! 81d951b), named in its comment, with the whole set of QStash headers
//! checked (the JS mock checks the ones it lists; the rest come from
//! `llm.ts`, `email.ts` and `utils.ts`). The destination goes
//! percent-encoded in the path, as every destination of this crate does
//! (qstash-js sends it raw); decoded, it is the JS one.

use std::collections::BTreeMap;

use qstash::{
    Analytics, Api, BatchEntry, Body, Callback, Client, DeliveryMethod, EmailProvider, Error,
    LlmProvider, MessageOptions,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common;

const QSTASH_TOKEN: &str = "token-qstash-Vd3kq9";
const LLM_TOKEN: &str = "token-llm-h7Ryw2Xp";
const ANALYTICS_TOKEN: &str = "token-analytics-Q2mz8L";
const RESEND_TOKEN: &str = "re_resend-token-9Kd2";
const CALLBACK: &str = "https://website-x1.com/";
const CUSTOM_BASE_URL: &str = "https://custom-llm-x1.com";

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"messageId": "msgId"}])))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messageId": "msgId"})))
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> Client {
    common::client(server, QSTASH_TOKEN, qstash::AuthMode::Bearer)
}

/// The one request the server received.
async fn the_request(server: &MockServer) -> Request {
    let mut requests = common::requests(server).await;
    assert_eq!(requests.len(), 1, "one request");
    requests.remove(0)
}

/// The destination of a request to `prefix` (`/v2/publish/`), decoded.
fn destination(r: &Request, prefix: &str) -> String {
    let encoded = r
        .url
        .path()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{} is not under {prefix}", r.url.path()));
    percent_decode(encoded)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The request's QStash headers (`upstash-*`), `content-type` and
/// `authorization`: everything the JS mock could check.
fn qstash_headers(r: &Request) -> BTreeMap<String, String> {
    r.headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name.starts_with("upstash-") || name == "content-type" || name == "authorization"
        })
        .map(|(name, value)| {
            (
                name.to_string(),
                value.to_str().expect("ASCII header").to_string(),
            )
        })
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn callback() -> MessageOptions {
    MessageOptions::new().callback(Callback::new(CALLBACK))
}

/// Publishes `{"model": "m"}` to `provider` with the callback, as the LLM
/// tests of qstash-js do.
async fn publish_llm(provider: LlmProvider) -> Request {
    let server = server().await;
    client(&server)
        .publish()
        .api(provider)
        .payload(Body::json(&json!({"model": "m"})).unwrap())
        .options(callback())
        .send()
        .await
        .unwrap();
    let r = the_request(&server).await;
    assert_eq!(r.method.as_str(), "POST");
    assert_eq!(r.body_json::<Value>().unwrap(), json!({"model": "m"}));
    r
}

/// The headers every LLM call of qstash-js carries, with `extra`.
fn llm_headers(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let bearer = format!("Bearer {QSTASH_TOKEN}");
    let mut h = map(&[
        ("authorization", &bearer),
        ("upstash-callback", CALLBACK),
        ("upstash-method", "POST"),
        ("content-type", "application/json"),
    ]);
    h.extend(map(extra));
    h
}

// llm.test.ts "should call openai"; the organization is forwarded as
// `OpenAI-Organization` (llm.ts `getHeaders`).
#[tokio::test]
async fn openai() {
    let r = publish_llm(LlmProvider::openai(LLM_TOKEN).organization("my-org")).await;
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://api.openai.com/v1/chat/completions"
    );
    assert_eq!(
        qstash_headers(&r),
        llm_headers(&[
            (
                "upstash-forward-authorization",
                &format!("Bearer {LLM_TOKEN}")
            ),
            ("upstash-forward-openai-organization", "my-org"),
        ])
    );
}

// llm.test.ts "should call openai with analytics".
#[tokio::test]
async fn openai_with_analytics() {
    let r = publish_llm(
        LlmProvider::openai(LLM_TOKEN)
            .organization("my-org")
            .analytics(Analytics::helicone(ANALYTICS_TOKEN)),
    )
    .await;
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://gateway.helicone.ai/v1/chat/completions"
    );
    assert_eq!(
        qstash_headers(&r),
        llm_headers(&[
            (
                "upstash-forward-authorization",
                &format!("Bearer {LLM_TOKEN}")
            ),
            ("upstash-forward-openai-organization", "my-org"),
            (
                "upstash-forward-helicone-auth",
                &format!("Bearer {ANALYTICS_TOKEN}")
            ),
            (
                "upstash-forward-helicone-target-url",
                "https://api.openai.com"
            ),
        ])
    );
}

// llm.test.ts "should call anthropic"; `anthropic-version` from llm.ts
// `getHeaders`.
#[tokio::test]
async fn anthropic() {
    let r = publish_llm(LlmProvider::anthropic(LLM_TOKEN)).await;
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://api.anthropic.com/v1/messages"
    );
    assert_eq!(
        qstash_headers(&r),
        llm_headers(&[
            ("upstash-forward-x-api-key", LLM_TOKEN),
            ("upstash-forward-anthropic-version", "2023-06-01"),
        ])
    );
}

// llm.test.ts "should call anthropic with analytics".
#[tokio::test]
async fn anthropic_with_analytics() {
    let r = publish_llm(
        LlmProvider::anthropic(LLM_TOKEN).analytics(Analytics::helicone(ANALYTICS_TOKEN)),
    )
    .await;
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://gateway.helicone.ai/v1/messages"
    );
    assert_eq!(
        qstash_headers(&r),
        llm_headers(&[
            ("upstash-forward-x-api-key", LLM_TOKEN),
            ("upstash-forward-anthropic-version", "2023-06-01"),
            (
                "upstash-forward-helicone-auth",
                &format!("Bearer {ANALYTICS_TOKEN}")
            ),
            (
                "upstash-forward-helicone-target-url",
                "https://api.anthropic.com"
            ),
        ])
    );
}

// llm.test.ts "should call custom"; the trimming of llm.ts `custom`
// (`/v1/chat/completions` and `/chat/completions`), and of a trailing `/`
// (where qstash-js would send `//v1/...`).
#[tokio::test]
async fn custom() {
    for base in [
        CUSTOM_BASE_URL.to_string(),
        format!("{CUSTOM_BASE_URL}/v1/chat/completions"),
        format!("{CUSTOM_BASE_URL}/chat/completions"),
        format!("{CUSTOM_BASE_URL}/"),
    ] {
        let r = publish_llm(LlmProvider::custom(&base, LLM_TOKEN)).await;
        assert_eq!(
            destination(&r, "/v2/publish/"),
            format!("{CUSTOM_BASE_URL}/v1/chat/completions"),
            "{base}"
        );
        assert_eq!(
            qstash_headers(&r),
            llm_headers(&[(
                "upstash-forward-authorization",
                &format!("Bearer {LLM_TOKEN}")
            )])
        );
    }
    // A path of the base URL's own stays.
    let r = publish_llm(LlmProvider::custom(
        "https://llm.example/api/v1/chat/completions",
        LLM_TOKEN,
    ))
    .await;
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://llm.example/api/v1/chat/completions"
    );
}

// llm.test.ts "should call custom with analytics": the target is the
// trimmed base URL.
#[tokio::test]
async fn custom_with_analytics() {
    let r = publish_llm(
        LlmProvider::custom(format!("{CUSTOM_BASE_URL}/chat/completions"), LLM_TOKEN)
            .analytics(Analytics::helicone(ANALYTICS_TOKEN)),
    )
    .await;
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://gateway.helicone.ai/v1/chat/completions"
    );
    assert_eq!(
        qstash_headers(&r),
        llm_headers(&[
            (
                "upstash-forward-authorization",
                &format!("Bearer {LLM_TOKEN}")
            ),
            (
                "upstash-forward-helicone-auth",
                &format!("Bearer {ANALYTICS_TOKEN}")
            ),
            ("upstash-forward-helicone-target-url", CUSTOM_BASE_URL),
        ])
    );
}

fn email() -> Value {
    json!({
        "from": "Acme <onboarding@resend.dev>",
        "to": ["delivered@resend.dev"],
        "subject": "hello world",
        "html": "<p>it works!</p>",
    })
}

fn emails() -> Value {
    json!([
        {"from": "Acme <onboarding@resend.dev>", "to": ["foo@gmail.com"], "subject": "hello world", "html": "<h1>it works!</h1>"},
        {"from": "Acme <onboarding@resend.dev>", "to": ["bar@outlook.com"], "subject": "world hello", "html": "<p>it works!</p>"},
    ])
}

/// email.test.ts's client: its global headers are forwarded. Here the
/// client's default headers are sent as they are named, so they are named
/// as forwarded headers; the message's own forwarded header of the same
/// name wins, as in the JS test.
fn email_client(server: &MockServer) -> Client {
    common::client_with(server.uri(), QSTASH_TOKEN, |b| {
        b.retry_policy(qstash::RetryPolicy::none())
            .default_header("Upstash-Forward-global-header", "global-value")
            .default_header("Upstash-Forward-global-header-overwritten", "old-value")
    })
}

fn email_options() -> MessageOptions {
    MessageOptions::new()
        .forward_header("global-header-overwritten", "new-value")
        .forward_header("request-header", "request-value")
}

fn email_headers(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut h = map(&[
        ("content-type", "application/json"),
        ("authorization", &format!("Bearer {QSTASH_TOKEN}")),
        (
            "upstash-forward-authorization",
            &format!("Bearer {RESEND_TOKEN}"),
        ),
        ("upstash-forward-request-header", "request-value"),
        ("upstash-forward-global-header", "global-value"),
        ("upstash-forward-global-header-overwritten", "new-value"),
        ("upstash-method", "POST"),
    ]);
    h.extend(map(extra));
    h
}

// email.test.ts "should use resend".
#[tokio::test]
async fn resend() {
    let server = server().await;
    email_client(&server)
        .publish()
        .api(EmailProvider::resend(RESEND_TOKEN))
        .payload(Body::json(&email()).unwrap())
        .options(email_options())
        .send()
        .await
        .unwrap();
    let r = the_request(&server).await;
    assert_eq!(r.method.as_str(), "POST");
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://api.resend.com/emails"
    );
    assert_eq!(r.body_json::<Value>().unwrap(), email());
    assert_eq!(qstash_headers(&r), email_headers(&[]));
}

// email.test.ts "should use resend with batch".
#[tokio::test]
async fn resend_batch() {
    let server = server().await;
    email_client(&server)
        .publish()
        .api(EmailProvider::resend(RESEND_TOKEN).batch())
        .payload(Body::json(&emails()).unwrap())
        .options(email_options())
        .send()
        .await
        .unwrap();
    let r = the_request(&server).await;
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://api.resend.com/emails/batch"
    );
    assert_eq!(r.body_json::<Value>().unwrap(), emails());
    assert_eq!(qstash_headers(&r), email_headers(&[]));
}

// email.test.ts "should be able to overwrite method": the message's method
// wins over the provider's POST.
#[tokio::test]
async fn the_method_can_be_overwritten() {
    let server = server().await;
    client(&server)
        .publish()
        .api(EmailProvider::resend(RESEND_TOKEN).batch())
        .payload(Body::json(&emails()).unwrap())
        .options(MessageOptions::new().method(DeliveryMethod::Put))
        .send()
        .await
        .unwrap();
    let r = the_request(&server).await;
    assert_eq!(r.method.as_str(), "POST");
    assert_eq!(
        destination(&r, "/v2/publish/"),
        "https://api.resend.com/emails/batch"
    );
    assert_eq!(
        qstash_headers(&r),
        map(&[
            ("authorization", &format!("Bearer {QSTASH_TOKEN}")),
            (
                "upstash-forward-authorization",
                &format!("Bearer {RESEND_TOKEN}")
            ),
            ("content-type", "application/json"),
            ("upstash-method", "PUT"),
        ])
    );
}

// email.test.ts "should be able to enqueue".
#[tokio::test]
async fn resend_enqueued() {
    let server = server().await;
    email_client(&server)
        .enqueue()
        .queue_name("resend-queue")
        .api(EmailProvider::resend(RESEND_TOKEN).batch())
        .payload(Body::json(&emails()).unwrap())
        .options(email_options().retry_delay("pow(retried, 2) * 1000"))
        .send()
        .await
        .unwrap();
    let r = the_request(&server).await;
    assert_eq!(
        destination(&r, "/v2/enqueue/resend-queue/"),
        "https://api.resend.com/emails/batch"
    );
    assert_eq!(r.body_json::<Value>().unwrap(), emails());
    assert_eq!(
        qstash_headers(&r),
        email_headers(&[("upstash-retry-delay", "pow(retried, 2) * 1000")])
    );
}

// An LLM call on a queue: qstash-js `Queue.enqueueJSON` processes `api` as
// `publishJSON` does (queue.ts, utils.ts `processApi`).
#[tokio::test]
async fn an_llm_call_can_be_enqueued() {
    let server = server().await;
    client(&server)
        .enqueue()
        .queue_name("llm")
        .api(LlmProvider::anthropic(LLM_TOKEN))
        .payload(Body::json(&json!({"model": "m"})).unwrap())
        .options(callback())
        .send()
        .await
        .unwrap();
    let r = the_request(&server).await;
    assert_eq!(
        destination(&r, "/v2/enqueue/llm/"),
        "https://api.anthropic.com/v1/messages"
    );
    assert_eq!(
        qstash_headers(&r),
        llm_headers(&[
            ("upstash-forward-x-api-key", LLM_TOKEN),
            ("upstash-forward-anthropic-version", "2023-06-01"),
        ])
    );
}

// Batch entries: qstash-js `batchJSON` runs each message through
// `processApi` (client.ts), so an entry carries the same destination and
// headers as a publish; the key travels in the batch body.
#[tokio::test]
async fn batch_entries_go_to_providers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/batch"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"messageId": "a"}, {"messageId": "b"}, {"messageId": "c"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let results = client(&server)
        .batch()
        .entries([
            BatchEntry::api(EmailProvider::resend(RESEND_TOKEN))
                .payload(Body::json(&email()).unwrap())
                .options(MessageOptions::new().forward_header("request-header", "v")),
            BatchEntry::api(
                LlmProvider::openai(LLM_TOKEN).analytics(Analytics::helicone(ANALYTICS_TOKEN)),
            )
            .queue("llm")
            .payload(Body::json(&json!({"model": "m"})).unwrap())
            .options(callback().method(DeliveryMethod::Put)),
            BatchEntry::new("https://example.com/plain").payload(Body::text("plain")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    let body: Value = the_request(&server).await.body_json().unwrap();
    assert_eq!(
        body,
        json!([
            {
                "destination": "https://api.resend.com/emails",
                "body": email().to_string(),
                "headers": {
                    "content-type": "application/json",
                    "upstash-forward-authorization": format!("Bearer {RESEND_TOKEN}"),
                    "upstash-forward-request-header": "v",
                    "upstash-method": "POST",
                },
            },
            {
                "destination": "https://gateway.helicone.ai/v1/chat/completions",
                "queue": "llm",
                "body": r#"{"model":"m"}"#,
                "headers": {
                    "content-type": "application/json",
                    "upstash-callback": CALLBACK,
                    "upstash-method": "PUT",
                    "upstash-forward-authorization": format!("Bearer {LLM_TOKEN}"),
                    "upstash-forward-helicone-auth": format!("Bearer {ANALYTICS_TOKEN}"),
                    "upstash-forward-helicone-target-url": "https://api.openai.com",
                },
            },
            {
                "destination": "https://example.com/plain",
                "body": "plain",
                "headers": {"content-type": "text/plain; charset=utf-8"},
            },
        ])
    );
}

// A batch entry without a body still says its body is JSON (qstash-js
// `batchJSON` sets `Content-Type: application/json` on every message).
#[tokio::test]
async fn a_batch_entry_without_a_body_is_json() {
    let server = server().await;
    client(&server)
        .batch()
        .entries([BatchEntry::api(EmailProvider::resend(RESEND_TOKEN))])
        .send()
        .await
        .unwrap();
    let body: Value = the_request(&server).await.body_json().unwrap();
    assert_eq!(body[0]["headers"]["content-type"], "application/json");
    assert_eq!(
        body[0]["headers"]["upstash-forward-authorization"],
        format!("Bearer {RESEND_TOKEN}")
    );
}

/// The error of a request that must be refused before anything is sent,
/// checked: option `option`, `reason` in its message, no key in it.
fn refused(e: Error, option: &str, reason: &str) {
    match &e {
        Error::InvalidOption { option: got, .. } => assert_eq!(got, option, "{e}"),
        other => panic!("not an invalid option: {other:?}"),
    }
    assert!(e.to_string().contains(reason), "{e}");
    for key in [LLM_TOKEN, RESEND_TOKEN, ANALYTICS_TOKEN] {
        common::assert_display_debug_clean("the refusal", &e, key);
    }
}

// What qstash-js refuses (utils.ts `processApi`, `getProviderInfo`), and
// what this crate refuses besides: nothing reaches the server.
#[tokio::test]
async fn refusals_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messageId": "m"})))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);
    let json = || Body::json(&json!({"model": "m"})).unwrap();
    let publish = |api: Api, options: MessageOptions, body: Body| {
        c.publish().api(api).payload(body).options(options).send()
    };
    let cases: Vec<(Api, MessageOptions, Body, &str)> = vec![
        // "Callback cannot be undefined when using LLM api."
        (
            LlmProvider::openai(LLM_TOKEN).into(),
            MessageOptions::new(),
            json(),
            "needs a callback",
        ),
        // "token cannot be empty or undefined!"
        (
            LlmProvider::openai("").into(),
            callback(),
            json(),
            "the OpenAI API key is empty",
        ),
        (
            LlmProvider::custom(CUSTOM_BASE_URL, "").into(),
            callback(),
            json(),
            "the custom LLM API key is empty",
        ),
        (
            EmailProvider::resend(" ").into(),
            callback(),
            json(),
            "the Resend API key is empty",
        ),
        (
            LlmProvider::openai(LLM_TOKEN)
                .analytics(Analytics::helicone(""))
                .into(),
            callback(),
            json(),
            "the Helicone API key is empty",
        ),
        // "baseUrl cannot be empty or undefined!"
        (
            LlmProvider::custom("", LLM_TOKEN).into(),
            callback(),
            json(),
            "base URL is empty",
        ),
        (
            LlmProvider::custom("llm.example", LLM_TOKEN).into(),
            callback(),
            json(),
            "base URL is not a URL",
        ),
        (
            LlmProvider::custom("ftp://llm.example", LLM_TOKEN).into(),
            callback(),
            json(),
            "must be an http or https URL",
        ),
        // qstash-js takes an organization for OpenAI only.
        (
            LlmProvider::anthropic(LLM_TOKEN).organization("org").into(),
            callback(),
            json(),
            "applies to OpenAI only",
        ),
        (
            LlmProvider::anthropic(format!("{LLM_TOKEN}\n")).into(),
            callback(),
            json(),
            "the Anthropic API key is not a valid header value",
        ),
        (
            LlmProvider::openai(LLM_TOKEN).organization("a\nb").into(),
            callback(),
            json(),
            "organization is not a valid header value",
        ),
        // qstash-js always sends JSON; a body of another type is refused
        // rather than relabelled.
        (
            EmailProvider::resend(RESEND_TOKEN).into(),
            MessageOptions::new(),
            Body::text("hello"),
            "takes a JSON body",
        ),
        (
            EmailProvider::resend(RESEND_TOKEN).into(),
            MessageOptions::new().forward_header("Content-Type", "text/plain"),
            json(),
            "takes a JSON body",
        ),
        // A forwarded header the provider sets: qstash-js keeps one of the
        // two silently (which one depends on publish or batch).
        (
            EmailProvider::resend(RESEND_TOKEN).into(),
            MessageOptions::new().forward_header("Authorization", "Bearer other"),
            json(),
            "forwarded header authorization",
        ),
        (
            LlmProvider::anthropic(LLM_TOKEN).into(),
            callback().forward_header("Upstash-Forward-Anthropic-Version", "2024-01-01"),
            json(),
            "forwarded header anthropic-version",
        ),
    ];
    for (api, options, body, reason) in cases {
        refused(
            publish(api, options, body).await.unwrap_err(),
            "api",
            reason,
        );
    }
    // Reported before a missing body: the provider is checked first.
    let e = c
        .publish()
        .api(LlmProvider::openai(""))
        .send()
        .await
        .unwrap_err();
    refused(e, "api", "the OpenAI API key is empty");
    // Enqueue refuses alike.
    let e = c
        .enqueue()
        .queue_name("q")
        .api(LlmProvider::openai(LLM_TOKEN))
        .payload(json())
        .send()
        .await
        .unwrap_err();
    refused(e, "api", "needs a callback");
    // A batch entry names itself.
    let e = c
        .batch()
        .entries([
            BatchEntry::api(EmailProvider::resend(RESEND_TOKEN)),
            BatchEntry::api(LlmProvider::openai(LLM_TOKEN)).payload(json()),
        ])
        .send()
        .await
        .unwrap_err();
    refused(e, "batch entry 1: api", "needs a callback");
    let e = c
        .batch()
        .entries([BatchEntry::api(EmailProvider::resend(RESEND_TOKEN))
            .payload(Body::bytes("x", "text/plain\n"))])
        .send()
        .await
        .unwrap_err();
    refused(e, "batch entry 0: body", "content type");
    assert!(
        common::requests(&server).await.is_empty(),
        "nothing was sent"
    );
}

// `.api(...)` sets the destination: it replaces an earlier
// `.destination(...)`, and a later one is refused (the key would go to it).
#[tokio::test]
async fn api_and_destination_together() {
    let server = server().await;
    let c = client(&server);
    let e = c
        .publish()
        .api(EmailProvider::resend(RESEND_TOKEN))
        .destination("https://attacker.example/collect")
        .payload(Body::json(&email()).unwrap())
        .send()
        .await
        .unwrap_err();
    refused(e, "api", "`.destination(...)` after `.api(...)`");
    assert!(
        common::requests(&server).await.is_empty(),
        "nothing was sent"
    );

    c.publish()
        .destination("https://example.com/first")
        .api(EmailProvider::resend(RESEND_TOKEN))
        .payload(Body::json(&email()).unwrap())
        .send()
        .await
        .unwrap();
    // The last provider wins too.
    c.enqueue()
        .queue_name("q")
        .api(EmailProvider::resend(RESEND_TOKEN))
        .api(LlmProvider::openai(LLM_TOKEN))
        .payload(Body::json(&email()).unwrap())
        .options(callback())
        .send()
        .await
        .unwrap();
    let rs = common::requests(&server).await;
    assert_eq!(
        destination(&rs[0], "/v2/publish/"),
        "https://api.resend.com/emails"
    );
    assert_eq!(
        destination(&rs[1], "/v2/enqueue/q/"),
        "https://api.openai.com/v1/chat/completions"
    );
    assert_eq!(
        common::header(&rs[1], "upstash-forward-authorization").as_deref(),
        Some(format!("Bearer {LLM_TOKEN}").as_str())
    );
}

// A callback set with the raw setter counts, and a JSON content type with
// parameters is JSON.
#[tokio::test]
async fn a_raw_callback_and_a_json_content_type_with_parameters_do() {
    let server = server().await;
    client(&server)
        .publish()
        .api(LlmProvider::openai(LLM_TOKEN))
        .upstash_callback(CALLBACK)
        .payload(Body::bytes(
            r#"{"model":"m"}"#,
            "Application/JSON; charset=utf-8",
        ))
        .send()
        .await
        .unwrap();
    let r = the_request(&server).await;
    assert_eq!(
        common::header(&r, "content-type").as_deref(),
        Some("Application/JSON; charset=utf-8")
    );
    assert_eq!(
        common::header(&r, "upstash-callback").as_deref(),
        Some(CALLBACK)
    );
}

// The keys never show: not in the providers' `Debug`, the builders'
// (the batch builder shows its body with the keys redacted), or errors.
#[tokio::test]
async fn keys_never_show() {
    let server = server().await;
    let c = client(&server);
    let provider = LlmProvider::openai(LLM_TOKEN).analytics(Analytics::helicone(ANALYTICS_TOKEN));
    let entry = BatchEntry::api(provider.clone()).payload(Body::json(&json!({})).unwrap());
    let publish = c.publish().api(provider.clone());
    let batch = c.batch().entries([entry.clone().options(callback())]);
    let email = EmailProvider::resend(RESEND_TOKEN).batch();
    let shown = [
        format!("{provider:?}"),
        format!("{:?}", Api::from(provider.clone())),
        format!("{entry:#?}"),
        format!("{publish:?}"),
        format!("{batch:?}"),
        format!("{email:?}"),
    ];
    for text in &shown {
        for key in [LLM_TOKEN, ANALYTICS_TOKEN, RESEND_TOKEN] {
            common::assert_no_token("Debug", text, key);
        }
        assert!(text.contains("<redacted>"), "{text}");
    }
    // The batch still sends the keys.
    batch.send().await.unwrap();
    let body: Value = the_request(&server).await.body_json().unwrap();
    assert_eq!(
        body[0]["headers"]["upstash-forward-helicone-auth"],
        format!("Bearer {ANALYTICS_TOKEN}")
    );
}

// The batch body with the keys is sent only in place of the one the
// builder built: a raw `.body(...)` after `.entries(...)` goes as given.
#[tokio::test]
async fn a_raw_batch_body_after_entries_wins() {
    let server = server().await;
    let raw = qstash::types::BatchBodyItem {
        body: Some("raw".into()),
        destination: "https://example.com/raw".into(),
        headers: Default::default(),
        queue: None,
    };
    client(&server)
        .batch()
        .entries([BatchEntry::api(EmailProvider::resend(RESEND_TOKEN))])
        .body(vec![raw])
        .send()
        .await
        .unwrap();
    let body: Value = the_request(&server).await.body_json().unwrap();
    assert_eq!(
        body,
        json!([{"destination": "https://example.com/raw", "body": "raw"}])
    );
}
