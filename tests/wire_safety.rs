//! Wire safety and tolerance: what the client refuses to send, what it
//! accepts from the service, and what it never repeats of the token.

mod common;

use common::{client, requests};
use qstash::AuthMode;
use qstash::enums::{BulkActionState, LogEntryState};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A page with values the description does not list decodes whole: both
/// spellings of cancelled, and a state nobody has heard of yet.
#[tokio::test]
async fn a_logs_page_with_unlisted_states_decodes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/logs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"logs": [
            {"messageId": "m1", "state": "CANCELED"},
            {"messageId": "m2", "state": "CANCELLED"},
            {"messageId": "m3", "state": "TELEPORTED"},
            {"messageId": "m4", "state": "DELIVERED"},
            {"messageId": "m5"}
        ]})))
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let logs = c.list_logs().collect_all().await.unwrap();
    let states: Vec<Option<LogEntryState>> = logs.into_iter().map(|l| l.state).collect();
    assert_eq!(
        states,
        [
            Some(LogEntryState::Cancelled),
            Some(LogEntryState::Cancelled),
            Some(LogEntryState::Unknown("TELEPORTED".into())),
            Some(LogEntryState::Delivered),
            None
        ]
    );
    // The unknown value keeps its text, and goes back out as it came.
    let unknown = LogEntryState::Unknown("TELEPORTED".into());
    assert_eq!(unknown.as_str(), "TELEPORTED");
    assert_eq!(serde_json::to_value(&unknown).unwrap(), json!("TELEPORTED"));
    assert_eq!(
        serde_json::to_value(LogEntryState::Cancelled).unwrap(),
        json!("CANCELLED")
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_bulk_action_in_a_new_state_decodes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/bulkActions/act_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"actionId": "act_1", "kind": "cancel", "state": "PAUSED_BY_OPERATOR"}),
        ))
        .mount(&server)
        .await;
    let c = client(&server, "t", AuthMode::Bearer);
    let action = c
        .get_bulk_action()
        .action_id("act_1")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        action.state,
        Some(BulkActionState::Unknown("PAUSED_BY_OPERATOR".into()))
    );
}
