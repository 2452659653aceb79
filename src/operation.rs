//! What the API description and the names table say of an operation beyond
//! its parameters. The pipeline generates one [`Operation`] per request
//! builder, as its constant `OPERATION`, and the transport reads it from
//! there: the request path looks nothing up by name.

/// The facts of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The Rust method name (`list_dlq_messages`), for errors.
    pub(crate) name: &'static str,
    /// The HTTP method, upper case.
    pub(crate) method: &'static str,
    /// The path template (`/v2/dlq/{dlqId}`).
    pub(crate) path: &'static str,
    /// Whether a failed request may be sent again.
    pub(crate) repeat: Repeat,
    /// For an operation that acts on every item its filters match (the
    /// names table's `bulk` list): its filter parameters. Sent without any
    /// of them only after `.all()`.
    pub(crate) bulk_filters: Option<&'static [&'static str]>,
    /// The `count` a bulk operation sends after `.all()` when the caller set
    /// none (the names table's `bulk.all_count`, else 100); 0 for the others.
    pub(crate) all_count: u32,
    /// The 3xx statuses the description documents for an operation that
    /// documents no 2xx (`cancel_workflow_failure_callback`: 302): taken as
    /// its success, as the description says they are. Empty for every
    /// other operation, whose 3xx stay `Error::UnexpectedStatus`.
    pub(crate) success_redirects: &'static [u16],
}

impl std::fmt::Display for Operation {
    /// How errors name the operation: `publish (`POST /v2/publish/{destination}`)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (`{} {}`)", self.name, self.method, self.path)
    }
}

/// Whether sending a request twice is harmless, so that a failure that
/// may have reached the service (a 5xx, a timeout) can be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// GET, HEAD, PUT and DELETE, and the POST and PATCH operations that
    /// only set state (the names table's `retry.idempotent`).
    Always,
    /// Operations that create messages (`retry.creates_messages`): only
    /// when QStash drops the duplicate, i.e. the request carries a
    /// deduplication id (for a batch, every entry does).
    IfDeduplicated,
    /// Everything else.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{builder, spec_facts};

    /// The documents and names tables the crate was built from (QStash's
    /// and Workflow's), merged and normalized.
    fn normalized() -> qstash_codegen::Normalized {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let source = |dir: &str| qstash_codegen::Source {
            spec: root.join(format!("openapi/{dir}/openapi.yaml")),
            names: root.join(format!("openapi/{dir}/operations.yaml")),
            errata: Some(root.join(format!("openapi/{dir}/errata.yaml"))),
        };
        qstash_codegen::normalize_merged(&source("qstash"), &source("workflow"))
            .expect("the vendored specs normalize")
    }

    #[test]
    fn every_operation_of_the_document_has_its_facts() {
        let n = normalized();
        assert_eq!(spec_facts::OPERATIONS.len(), n.operations.len());
        for ((key, name), op) in n.operations.iter().zip(spec_facts::OPERATIONS) {
            assert_eq!(op.name, name);
            assert_eq!(op.method, key.method.to_uppercase());
            assert_eq!(op.path, key.path);
        }
    }

    #[test]
    fn bulk_operations_carry_their_filters() {
        let bulk: Vec<(&str, &[&str])> = spec_facts::OPERATIONS
            .iter()
            .filter_map(|op| Some((op.name, op.bulk_filters?)))
            .collect();
        let names: Vec<&str> = bulk.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "cancel_messages",
                "delete_dlq_messages",
                "retry_dlq_messages",
                "cancel_workflow_runs",
                "delete_workflow_dlq_entries",
                "resume_workflow_dlq_entries",
                "restart_workflow_dlq_entries"
            ]
        );
        assert_eq!(normalized().bulk.len(), names.len());
        for (name, filters) in &bulk {
            assert!(filters.contains(&"label"), "{name}: {filters:?}");
            for paging in ["cursor", "count", "async", "workflowUrlExactMatch"] {
                assert!(!filters.contains(&paging), "{name}: {filters:?}");
            }
        }
        assert_eq!(
            builder::DeleteDlqMessages::OPERATION.bulk_filters,
            bulk.iter()
                .find(|(n, _)| *n == "delete_dlq_messages")
                .map(|(_, f)| *f)
        );
        assert_eq!(builder::ListDlqMessages::OPERATION.bulk_filters, None);
    }

    #[test]
    fn retry_safety_comes_from_the_method_and_the_names_table() {
        let repeat = |name: &str| {
            spec_facts::OPERATIONS
                .iter()
                .find(|op| op.name == name)
                .unwrap_or_else(|| panic!("{name}"))
                .repeat
        };
        for name in [
            "list_queues",
            "delete_queue",
            "get_message",
            "cancel_messages",
        ] {
            assert_eq!(repeat(name), Repeat::Always, "{name}");
        }
        // POST and PATCH that only set state.
        for name in [
            "upsert_queue",
            "pause_queue",
            "pause_schedule",
            "unpin_flow_control_key",
        ] {
            assert_eq!(repeat(name), Repeat::Always, "{name}");
        }
        for name in [
            "publish",
            "enqueue",
            "batch",
            "retry_dlq_message",
            "retry_dlq_messages",
        ] {
            assert_eq!(repeat(name), Repeat::IfDeduplicated, "{name}");
        }
        for name in ["rotate_signing_keys", "reset_flow_control_rate"] {
            assert_eq!(repeat(name), Repeat::Never, "{name}");
        }
        // Starting, resuming or restarting runs, notifying and calling a
        // failure callback again: never repeated (no evidence yet that the
        // service drops a repeated one; openapi/workflow/operations.yaml).
        for name in [
            "trigger_workflow",
            "trigger_workflows",
            "resume_workflow_dlq_entry",
            "resume_workflow_dlq_entries",
            "restart_workflow_dlq_entry",
            "restart_workflow_dlq_entries",
            "notify_event",
            "notify_workflow_run",
            "retry_workflow_failure_callback",
        ] {
            assert_eq!(repeat(name), Repeat::Never, "{name}");
        }
        // DELETE and GET of the workflow API, and the flow control POSTs
        // both tables call idempotent.
        for name in [
            "cancel_workflow_run",
            "cancel_workflow_runs",
            "delete_workflow_dlq_entries",
            "list_workflow_logs",
            "pin_flow_control_key",
        ] {
            assert_eq!(repeat(name), Repeat::Always, "{name}");
        }
        assert_eq!(builder::Publish::OPERATION.repeat, Repeat::IfDeduplicated);
        assert_eq!(builder::PauseSchedule::OPERATION.method, "PATCH");
    }

    #[test]
    fn wildcard_headers_are_read_from_the_spec() {
        let prefixes: Vec<_> = spec_facts::WILDCARD_HEADERS
            .iter()
            .filter(|(op, _)| *op == "publish")
            .map(|(_, p)| *p)
            .collect();
        assert_eq!(
            prefixes,
            [
                "Upstash-Forward-",
                "Upstash-Callback-Forward-",
                "Upstash-Callback-",
                "Upstash-Failure-Callback-Forward-",
                "Upstash-Failure-Callback-"
            ]
        );
    }
}
