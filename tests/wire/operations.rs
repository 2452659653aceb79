//! Every operation of the vendored spec has its named method on the client.
const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/client.rs"));

#[test]
fn every_operation_has_its_named_method() {
    let n = crate::common::vendored_spec();
    assert!(
        n.unknown_operations.is_empty(),
        "operations without a name in operations.yaml: {:?}",
        n.unknown_operations
    );
    // (That each builder carries its operation's facts is a unit test of
    // `src/operation.rs`.)
    // prettyplease breaks a long signature over lines: compare without
    // whitespace.
    let compact: String = GENERATED.split_whitespace().collect();
    for (key, name) in &n.operations {
        assert!(
            compact.contains(&format!("pubfn{name}(&self,)->builder::"))
                || compact.contains(&format!("pubfn{name}(&self)->builder::")),
            "the client has no method {name} for {}",
            key.label()
        );
    }
}

/// Compiles only while every named method exists with the builder style.
#[test]
fn the_named_methods_exist() {
    let c = qstash::Client::builder().token("t").build().unwrap();
    let _ = (
        c.publish(),
        c.enqueue(),
        c.batch(),
        c.get_message(),
        c.cancel_message(),
    );
    let _ = (
        c.cancel_messages(),
        c.list_bulk_actions(),
        c.get_bulk_action(),
    );
    let _ = (
        c.upsert_queue(),
        c.list_queues(),
        c.get_queue(),
        c.delete_queue(),
    );
    let _ = (
        c.pause_queue(),
        c.resume_queue(),
        c.create_schedule(),
        c.list_schedules(),
    );
    let _ = (
        c.get_schedule(),
        c.delete_schedule(),
        c.pause_schedule(),
        c.resume_schedule(),
    );
    let _ = (c.list_url_groups(), c.get_url_group(), c.delete_url_group());
    let _ = (c.add_url_group_endpoints(), c.remove_url_group_endpoints());
    let _ = (
        c.list_dlq_messages(),
        c.delete_dlq_messages(),
        c.get_dlq_message(),
    );
    let _ = (
        c.delete_dlq_message(),
        c.retry_dlq_message(),
        c.retry_dlq_messages(),
    );
    let _ = (c.list_flow_control_keys(), c.get_flow_control_key());
    let _ = (c.pause_flow_control_key(), c.resume_flow_control_key());
    let _ = (c.pin_flow_control_key(), c.unpin_flow_control_key());
    let _ = (c.reset_flow_control_rate(), c.get_global_parallelism());
    let _ = (c.get_signing_keys(), c.rotate_signing_keys(), c.list_logs());
    // The workflow API.
    let _ = (
        c.trigger_workflow(),
        c.trigger_workflows(),
        c.cancel_workflow_run(),
    );
    let _ = (
        c.cancel_workflow_runs(),
        c.list_workflow_logs(),
        c.list_workflow_dlq(),
    );
    let _ = (
        c.delete_workflow_dlq_entries(),
        c.get_workflow_dlq_entry(),
        c.delete_workflow_dlq_entry(),
    );
    let _ = (
        c.resume_workflow_dlq_entry(),
        c.resume_workflow_dlq_entries(),
        c.restart_workflow_dlq_entry(),
    );
    let _ = (
        c.restart_workflow_dlq_entries(),
        c.retry_workflow_failure_callback(),
        c.cancel_workflow_failure_callback(),
    );
    let _ = (c.notify_event(), c.notify_workflow_run(), c.list_waiters());
}

#[test]
fn the_generated_api_has_no_public_constructor_and_one_error_type() {
    // `client.operation()` makes builders; `Client::builder()` makes clients.
    assert!(!GENERATED.contains("pub fn new("), "a public constructor");
    assert!(!GENERATED.contains("pub fn new_with_client("));
    assert!(GENERATED.contains("pub(crate) fn new(client: &'a super::Client)"));
    // Every public `send` returns the crate's error.
    let public_sends = GENERATED.matches("pub async fn send(").count();
    let operations = GENERATED.matches("pub(crate) const OPERATION:").count();
    assert_eq!(public_sends, operations);
    assert!(operations >= 60, "{operations}");
    let compact: String = GENERATED
        .split_whitespace()
        .collect::<String>()
        .replace(",>", ">");
    assert_eq!(
        compact
            .matches("pubasyncfnsend(self,)->::std::result::Result<")
            .count(),
        public_sends
    );
    assert_eq!(
        compact.matches(",crate::Error>{letSelf{").count(),
        public_sends,
        "every send returns the crate's error"
    );
}
