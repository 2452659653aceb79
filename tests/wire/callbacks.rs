//! What QStash sends to a callback URL, decoded: the docs' example payloads
//! (https://upstash.com/docs/qstash/features/callbacks, restated as valid
//! JSON: the page has comments and a missing comma), the SDKs' shapes, and
//! what a decoder meets in real data.

use qstash::{CallbackDelivery, CallbackError};
use serde_json::json;

fn decode(value: serde_json::Value) -> Result<CallbackDelivery, CallbackError> {
    CallbackDelivery::from_json(value.to_string().as_bytes())
}

/// The docs' callback example, as the page has it: `sourceMessasgeId`
/// misspelt (older revisions of the page), `notBefore` and `createdAt` as
/// strings, `sourceHeader` values as one string. Its `sourceBody`
/// (`YmFzZTY0kZWQgcm9keQ==`, the `body` with four characters cut) is not
/// base64 (19 symbols, then `==`): refused, naming the field; with one
/// `=` it is bytes that are not text.
#[test]
fn the_docs_callback_example() {
    let mut payload = json!({
        "status": 200,
        "header": { "key": ["value"] },
        "body": "YmFzZTY0IGVuY29kZWQgcm9keQ==",
        "retried": 2,
        "maxRetries": 3,
        "sourceMessasgeId": "msg_xxx",
        "topicName": "myTopic",
        "endpointName": "myEndpoint",
        "url": "http://myurl.com",
        "method": "GET",
        "sourceHeader": { "key": "value" },
        "sourceBody": "YmFzZTY0kZWQgcm9keQ==",
        "notBefore": "1701198458025",
        "createdAt": "1701198447054",
        "scheduleId": "scd_xxx",
        "callerIP": "178.247.74.179"
    });
    let err = decode(payload.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            CallbackError::InvalidBase64 {
                field: "sourceBody",
                ..
            }
        ),
        "{err:?}"
    );
    payload["sourceBody"] = json!("YmFzZTY0kZWQgcm9keQ=");
    let c = decode(payload).unwrap();
    assert_eq!(c.status, 200);
    assert!(c.is_success());
    assert_eq!(c.headers.get("Key"), Some("value"));
    assert_eq!(c.body, "base64 encoded rody");
    assert_eq!(c.body_text().unwrap(), "base64 encoded rody");
    assert_eq!((c.retried, c.max_retries), (2, 3));
    assert!(!c.retries_exhausted());
    assert_eq!(c.dlq_id, None);
    assert_eq!(c.source_message_id, "msg_xxx");
    assert_eq!(c.topic_name.as_deref(), Some("myTopic"));
    assert_eq!(c.endpoint_name.as_deref(), Some("myEndpoint"));
    assert_eq!(c.url, "http://myurl.com");
    assert_eq!(c.method.as_deref(), Some("GET"));
    assert_eq!(c.source_headers.get("key"), Some("value"));
    assert_eq!(
        c.source_body,
        &b"base64\x91\x95\x90\x81\xc9\xbd\x91\xe4"[..],
        "bytes, not text"
    );
    assert_eq!(
        c.source_body_text(),
        Err(CallbackError::NotText {
            field: "sourceBody"
        })
    );
    assert_eq!(c.not_before, Some(1_701_198_458_025));
    assert_eq!(c.created_at, Some(1_701_198_447_054));
    assert_eq!(c.schedule_id.as_deref(), Some("scd_xxx"));
    assert_eq!(c.caller_ip.as_deref(), Some("178.247.74.179"));
}

/// The docs' failure-callback example: `dlqId`, and retries exhausted.
#[test]
fn the_docs_failure_callback_example() {
    let c = decode(json!({
        "status": 400,
        "header": { "key": ["value"] },
        "body": "YmFzZTY0IGVuY29kZWQgcm9keQ==",
        "retried": 3,
        "maxRetries": 3,
        "dlqId": "1725323658779-0",
        "sourceMessageId": "msg_xxx",
        "topicName": "myTopic",
        "endpointName": "myEndpoint",
        "url": "http://myurl.com",
        "method": "GET",
        "sourceHeader": { "key": "value" },
        "sourceBody": "YmFzZTY0IGVuY29kZWQgcm9keQ==",
        "notBefore": "1701198458025",
        "createdAt": "1701198447054",
        "scheduleId": "scd_xxx",
        "callerIP": "178.247.74.179"
    }))
    .unwrap();
    assert_eq!(c.status, 400);
    assert!(!c.is_success());
    assert_eq!((c.retried, c.max_retries), (3, 3));
    assert!(c.retries_exhausted());
    assert_eq!(c.dlq_id.as_deref(), Some("1725323658779-0"));
    assert_eq!(c.source_message_id, "msg_xxx");
    assert_eq!(c.source_body_text().unwrap(), "base64 encoded rody");
}

/// qstash-js `skills/advanced/callbacks.md`: numbers as numbers, the
/// field spelt `sourceMessageId`.
#[test]
fn the_js_sdk_failure_callback_example() {
    let c = decode(json!({
        "status": 500,
        "header": { "content-type": ["text/plain"] },
        "body": "RXJyb3IgbWVzc2FnZQ==",
        "retried": 3,
        "maxRetries": 3,
        "dlqId": "1725323658779-0",
        "sourceMessageId": "msg_xxx",
        "topicName": "myTopic",
        "endpointName": "myEndpoint",
        "url": "https://api.example.com/webhook",
        "method": "POST",
        "sourceHeader": { "content-type": "application/json" },
        "sourceBody": "YmFzZTY0IGVuY29kZWQgcm9keQ==",
        "notBefore": 1701198458025_u64,
        "createdAt": 1701198447054_u64,
        "scheduleId": "scd_xxx",
        "callerIP": "178.247.74.179"
    }))
    .unwrap();
    assert_eq!(c.status, 500);
    assert_eq!(c.headers.get("Content-Type"), Some("text/plain"));
    assert_eq!(c.body_text().unwrap(), "Error message");
    assert_eq!(
        c.source_headers.get("Content-Type"),
        Some("application/json")
    );
    assert_eq!(c.not_before, Some(1_701_198_458_025));
    assert_eq!(c.created_at, Some(1_701_198_447_054));
    assert_eq!(c.url, "https://api.example.com/webhook");
}

/// qstash-js issue #88: a non-ASCII answer, which `atob` garbles.
#[test]
fn non_ascii_bodies_are_utf8_bytes() {
    let c = decode(json!({
        "sourceMessageId": "msg_1", "url": "https://example.com",
        "body": "Y2hpbmVzZeWNjuivrQ==",
        "sourceBody": "eyJvcmRlciI6IuiuouWNlSJ9"
    }))
    .unwrap();
    assert_eq!(c.body_text().unwrap(), "chinese华语");
    assert_eq!(&c.body[..], "chinese华语".as_bytes());
    let source: serde_json::Value = c.source_body_json().unwrap();
    assert_eq!(source, json!({"order": "订单"}));
}

/// Binary answers (qstash-js PR #189: an mp3 corrupted by text decoding)
/// come back byte for byte.
#[test]
fn binary_bodies_are_kept_byte_for_byte() {
    let c = decode(json!({
        "sourceMessageId": "msg_1", "url": "https://example.com",
        "body": "AJ+Slv/+", "sourceBody": "AJ+Slv/+"
    }))
    .unwrap();
    assert_eq!(&c.body[..], [0, 0x9f, 0x92, 0x96, 0xff, 0xfe]);
    assert_eq!(c.source_body, c.body);
    assert_eq!(c.body_text(), Err(CallbackError::NotText { field: "body" }));
    assert!(matches!(
        c.body_json::<serde_json::Value>(),
        Err(CallbackError::BodyJson { field: "body", .. })
    ));
}

/// workflow-js (`src/workflow-requests.ts`): `retried` is "only set after
/// the first try" and `body` may be absent. Everything optional may be.
#[test]
fn a_payload_with_only_the_ids_decodes_with_defaults() {
    let c = decode(json!({"sourceMessageId": "msg_1", "url": "https://example.com"})).unwrap();
    assert_eq!(c.status, 0);
    assert!(!c.is_success());
    assert!(c.headers.is_empty());
    assert!(c.body.is_empty());
    assert_eq!((c.retried, c.max_retries), (0, 0));
    assert_eq!(c.dlq_id, None);
    assert_eq!(c.source_message_id, "msg_1");
    assert_eq!(c.url, "https://example.com");
    assert_eq!(c.topic_name, None);
    assert_eq!(c.endpoint_name, None);
    assert_eq!(c.method, None);
    assert!(c.source_headers.is_empty());
    assert!(c.source_body.is_empty());
    assert_eq!(c.not_before, None);
    assert_eq!(c.created_at, None);
    assert_eq!(c.schedule_id, None);
    assert_eq!(c.caller_ip, None);
}

#[test]
fn unknown_fields_nulls_empty_texts_and_odd_values_are_tolerated() {
    let c = decode(json!({
        "sourceMessageId": "msg_1", "url": "https://example.com",
        "workflowRunId": "wfr_1", "queueName": "q", "error": "boom", "future": {"a": [1]},
        "status": 70000, "retried": "soon", "maxRetries": -1,
        "header": ["not", "a", "map"], "sourceHeader": {"Bad Name\u{e9}": ["x"], "X-N": 3},
        "body": null, "topicName": "", "endpointName": null, "method": 1,
        "notBefore": "later", "createdAt": 1.5, "scheduleId": "", "callerIp": "10.0.0.1"
    }))
    .unwrap();
    assert_eq!(c.status, 0, "not an HTTP status");
    assert_eq!((c.retried, c.max_retries), (0, 0));
    assert!(c.headers.is_empty());
    assert_eq!(c.source_headers.get("bad name\u{e9}"), Some("x"));
    assert_eq!(c.source_headers.get("x-n"), Some("3"));
    assert!(c.body.is_empty());
    assert_eq!(c.topic_name, None);
    assert_eq!(c.endpoint_name, None);
    assert_eq!(c.method, None);
    assert_eq!((c.not_before, c.created_at), (None, None));
    assert_eq!(c.schedule_id, None);
    assert_eq!(
        c.caller_ip.as_deref(),
        Some("10.0.0.1"),
        "the other spelling"
    );
}

#[test]
fn retries_exhausted_compares_retried_with_max_retries() {
    let at = |retried: u32, max: u32| {
        decode(json!({
            "sourceMessageId": "m", "url": "u", "retried": retried, "maxRetries": max
        }))
        .unwrap()
        .retries_exhausted()
    };
    assert!(!at(0, 3));
    assert!(!at(2, 3));
    assert!(at(3, 3));
    assert!(at(4, 3));
    assert!(at(0, 0));
}

#[test]
fn success_is_a_2xx_status() {
    let status = |s: u16| {
        decode(json!({"sourceMessageId": "m", "url": "u", "status": s}))
            .unwrap()
            .is_success()
    };
    assert!(!status(199));
    assert!(status(200));
    assert!(status(204));
    assert!(status(299));
    assert!(!status(300));
    assert!(!status(503));
}

#[test]
fn invalid_base64_is_an_error_naming_the_field() {
    for field in ["body", "sourceBody"] {
        let mut payload = json!({"sourceMessageId": "m", "url": "u"});
        payload[field] = json!("not base64!");
        let err = decode(payload).unwrap_err();
        assert!(
            matches!(&err, CallbackError::InvalidBase64 { field: f, .. } if *f == field),
            "{err:?}"
        );
        assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
        assert!(err.to_string().contains("base64"), "{err}");

        let mut payload = json!({"sourceMessageId": "m", "url": "u"});
        payload[field] = json!(["AA=="]);
        let err = decode(payload).unwrap_err();
        assert!(
            matches!(&err, CallbackError::WrongType { field: f, .. } if *f == field),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("callback payload field `{field}` is not a base64 string")
        );
    }
}

#[test]
fn what_is_not_a_callback_is_refused_clearly() {
    let err = CallbackDelivery::from_json(b"order 42").unwrap_err();
    assert!(matches!(err, CallbackError::NotAnObject(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("not a QStash callback payload: ")
    );

    let err = CallbackDelivery::from_json(b"[1, 2]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a QStash callback payload: expected a JSON object, found an array"
    );

    // A plain delivery's JSON body, decoded by mistake.
    let err = decode(json!({"order": 42, "url": "u"})).unwrap_err();
    assert_eq!(err, CallbackError::MissingField("sourceMessageId"));
    assert_eq!(
        err.to_string(),
        "not a QStash callback payload: no `sourceMessageId` field"
    );
    let err = decode(json!({"sourceMessageId": "m"})).unwrap_err();
    assert_eq!(err, CallbackError::MissingField("url"));

    let err = decode(json!({"sourceMessageId": 7, "url": "u"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "callback payload field `sourceMessageId` is not a string"
    );
}

#[test]
fn bodies_as_text_and_json_name_the_field_when_they_are_not() {
    let c = decode(json!({
        "sourceMessageId": "m", "url": "u",
        "body": "eyJvayI6dHJ1ZX0=", "sourceBody": "bm90IGpzb24="
    }))
    .unwrap();
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Answer {
        ok: bool,
    }
    assert_eq!(c.body_json::<Answer>().unwrap(), Answer { ok: true });
    assert_eq!(c.source_body_text().unwrap(), "not json");
    let err = c.source_body_json::<Answer>().unwrap_err();
    assert!(
        matches!(
            &err,
            CallbackError::BodyJson {
                field: "sourceBody",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("callback `sourceBody` is not the JSON expected: "),
        "{err}"
    );
    let err = c.body_json::<Vec<u8>>().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("callback `body` is not the JSON expected: ")
    );
    assert_eq!(
        CallbackError::NotText { field: "body" }.to_string(),
        "callback `body` is not UTF-8 text"
    );
}

#[test]
fn parse_and_serde_read_the_same_way() {
    let text =
        r#"{"sourceMessageId": "msg_1", "url": "https://e.x", "body": "aGk=", "status": "201"}"#;
    let parsed: CallbackDelivery = text.parse().unwrap();
    assert_eq!(
        parsed,
        CallbackDelivery::from_json(text.as_bytes()).unwrap()
    );
    assert_eq!(parsed.status, 201);
    assert_eq!(parsed.body, "hi");

    #[derive(serde::Deserialize)]
    struct Envelope {
        callback: CallbackDelivery,
    }
    let envelope: Envelope = serde_json::from_str(&format!(r#"{{"callback": {text}}}"#)).unwrap();
    assert_eq!(envelope.callback, parsed);

    let err = serde_json::from_str::<CallbackDelivery>(r#"{"url": "u", "body": "%%"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no `sourceMessageId` field"), "{err}");
    let err = serde_json::from_str::<CallbackDelivery>(
        r#"{"sourceMessageId": "m", "url": "u", "body": "%%"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`body` is not valid base64"), "{err}");
    assert!("[]".parse::<CallbackDelivery>().is_err());
}

/// `Debug` shows bodies as lengths and hides credential-like header
/// values; a forwarded `Authorization` comes back in `sourceHeader`.
#[test]
fn debug_hides_bodies_and_credentials() {
    let c = decode(json!({
        "status": 200, "sourceMessageId": "msg_1", "url": "https://example.com/hook",
        "header": {"Set-Cookie": ["session=s3cret-cookie"], "X-Request-Id": ["req-7"]},
        "body": "c2VjcmV0LWFuc3dlcg==",
        "sourceHeader": {
            "Authorization": ["Bearer s3cret-token"], "X-Api-Key": "s3cret-key",
            "Content-Type": ["application/json"]
        },
        "sourceBody": "c2VjcmV0LXNvdXJjZQ==",
        "dlqId": "dlq_9"
    }))
    .unwrap();
    assert_eq!(c.body, "secret-answer");
    assert_eq!(
        c.source_headers.get("authorization"),
        Some("Bearer s3cret-token")
    );
    let debug = format!("{c:?}");
    for hidden in ["s3cret", "secret-answer", "secret-source"] {
        assert!(!debug.contains(hidden), "{hidden} in {debug}");
    }
    for shown in [
        "CallbackDelivery",
        "status: 200",
        "\"X-Request-Id\": [\"req-7\"]",
        "\"Set-Cookie\": <redacted>",
        "\"Authorization\": <redacted>",
        "\"X-Api-Key\": <redacted>",
        "\"Content-Type\": [\"application/json\"]",
        "body: <13 bytes>",
        "source_body: <13 bytes>",
        "source_message_id: \"msg_1\"",
        "url: \"https://example.com/hook\"",
        "dlq_id: Some(\"dlq_9\")",
    ] {
        assert!(debug.contains(shown), "{shown} not in {debug}");
    }
}

#[test]
fn headers_can_be_walked_and_taken_as_a_map() {
    let c = decode(json!({
        "sourceMessageId": "m", "url": "u",
        "header": {"B": ["2", "3"], "A": "1"}
    }))
    .unwrap();
    let walked: Vec<(&str, Vec<&str>)> = c
        .headers
        .iter()
        .map(|(n, v)| (n, v.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(walked, [("A", vec!["1"]), ("B", vec!["2", "3"])]);
    assert_eq!(c.headers.as_map()["B"], ["2", "3"]);
    assert_eq!(c.headers.len(), 2);
    let map = c.headers.clone().into_map();
    assert_eq!(map["A"], ["1"]);
    assert_eq!(c.headers.get("b"), Some("2"));
    assert_eq!(c.headers.get("c"), None);
}
