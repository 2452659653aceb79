//! What the client refuses to send, checked on every request before it
//! leaves (nothing is sent on refusal), from the request itself: its URL,
//! its operation's facts and its state.
//!
//! - An empty path parameter: `DELETE /v2/messages/` reaches the collection
//!   endpoint, which the service treats as the bulk operation (an empty
//!   message id would cancel every message).
//! - A bulk operation (the names table's `bulk` list) without any filter: it
//!   would act on every item; the caller says so with `.all()`.
//!
//! `.all()` shows on the wire too ([`mark_everything`]): such a request
//! carries `count`, as the JS SDK's `{ all: true }` does, so that a bare
//! request (what a client sends when it drops an empty filter) is never
//! what "everything" looks like; `qstash-dev` refuses a bare one.
//!
//! Both are derived from the API description, so a new operation is covered
//! without new code.

use reqwest::Url;

use crate::operation::Operation;
use crate::transport::RequestState;

/// Why `url`, of operation `op` sent with `state`, must not be sent.
pub(crate) fn refusal(op: &Operation, state: &RequestState, url: &Url) -> Option<String> {
    empty_path_parameter(op, url).or_else(|| unfiltered_bulk(op, state, url))
}

/// Adds `count` to the URL of a bulk request sent with `.all()` and neither
/// a filter nor a `count`: the operation's `all_count`, what it takes per
/// call (100, the service's default and the JS SDKs' `DEFAULT_BULK_COUNT`,
/// QStash evidence rows 5 and 16; 50 for the workflow DLQ's bulk restart,
/// whose description allows at most 50 runs a call).
pub(crate) fn mark_everything(op: &Operation, state: &RequestState, url: &mut Url) {
    let Some(filters) = op.bulk_filters else {
        return;
    };
    if !state.everything || has_any(url, filters) || has_any(url, &["count"]) {
        return;
    }
    url.query_pairs_mut()
        .append_pair("count", &op.all_count.to_string());
}

/// Whether the query of `url` has a parameter named in `names`.
fn has_any(url: &Url, names: &[&str]) -> bool {
    url.query_pairs().any(|(k, _)| names.contains(&k.as_ref()))
}

fn empty_path_parameter(op: &Operation, url: &Url) -> Option<String> {
    let path = url.path();
    // The cheap test first: an empty segment shows as `//` or a trailing `/`.
    if !(path.ends_with('/') || path.contains("//")) {
        return None;
    }
    let expected: Vec<&str> = op.path.split('/').collect();
    let actual: Vec<&str> = path.split('/').collect();
    // The base URL may carry a path of its own: compare from the end.
    let offset = actual.len().checked_sub(expected.len())?;
    expected.iter().zip(&actual[offset..]).find_map(|(t, a)| {
        let name = t.strip_prefix('{')?.strip_suffix('}')?;
        a.is_empty().then(|| {
            format!(
                "{op}: the path parameter `{name}` is empty; an empty value would reach another endpoint (the collection, which may act on every item). Give it a value. Nothing was sent."
            )
        })
    })
}

fn unfiltered_bulk(op: &Operation, state: &RequestState, url: &Url) -> Option<String> {
    let filters = op.bulk_filters?;
    if state.everything || has_any(url, filters) {
        return None;
    }
    Some(format!(
        "{}: no filter given, so it would act on every item. Give a filter ({}), or call `.all()` to act on everything on purpose. Nothing was sent.",
        op.name,
        filters
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{builder, spec_facts};

    fn url(path: &str) -> Url {
        Url::parse(&format!("http://127.0.0.1:1{path}")).unwrap()
    }

    fn plain() -> RequestState {
        RequestState::default()
    }

    /// The URL progenitor builds for `template` with every path parameter
    /// set to `value`, under `base`.
    fn filled(base: &str, template: &str, value: &str) -> Url {
        let path: Vec<String> = template
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    value.to_string()
                } else {
                    s.to_string()
                }
            })
            .collect();
        url(&format!("{base}{}", path.join("/")))
    }

    #[test]
    fn every_operation_with_a_path_parameter_refuses_an_empty_one() {
        let mut checked = 0;
        for op in spec_facts::OPERATIONS {
            if !op.path.contains('{') {
                continue;
            }
            for base in ["", "/proxy/qstash"] {
                let refused = refusal(op, &plain(), &filled(base, op.path, ""))
                    .unwrap_or_else(|| panic!("{} {} with an empty parameter", op.method, op.path));
                assert!(refused.starts_with(op.name), "{refused}");
                assert!(refused.contains("is empty"), "{refused}");
                assert!(refused.contains("Nothing was sent"), "{refused}");
                assert_eq!(
                    refusal(op, &plain(), &filled(base, op.path, "id_1")),
                    None,
                    "{} {} with a value",
                    op.method,
                    op.path
                );
            }
            checked += 1;
        }
        assert!(checked >= 20, "{checked} operations with path parameters");
    }

    #[test]
    fn the_refusal_names_the_parameter() {
        let refused = refusal(
            &builder::CancelMessage::OPERATION,
            &plain(),
            &url("/v2/messages/"),
        )
        .unwrap();
        assert!(refused.contains("`messageId`"), "{refused}");
        let refused = refusal(
            &builder::Enqueue::OPERATION,
            &plain(),
            &url("/v2/enqueue//https:%2F%2Fx"),
        )
        .unwrap();
        assert!(refused.contains("`queueName`"), "{refused}");
    }

    #[test]
    fn bulk_operations_need_a_filter_or_all() {
        let mut bulk = 0;
        for op in spec_facts::OPERATIONS {
            let Some(filters) = op.bulk_filters else {
                continue;
            };
            bulk += 1;
            let bare = refusal(op, &plain(), &url("/v2/x?count=10&cursor=c"))
                .unwrap_or_else(|| panic!("{} without a filter", op.name));
            assert!(bare.contains("`.all()`"), "{bare}");
            for filter in filters {
                assert_eq!(
                    refusal(op, &plain(), &url(&format!("/v2/x?{filter}=v"))),
                    None,
                    "{} with {filter}",
                    op.name
                );
            }
            let everything = RequestState {
                everything: true,
                ..RequestState::default()
            };
            assert_eq!(refusal(op, &everything, &url("/v2/x")), None, "{}", op.name);
        }
        assert_eq!(bulk, 7);
        // Other operations are not bulk.
        assert_eq!(
            refusal(
                &builder::ListDlqMessages::OPERATION,
                &plain(),
                &url("/v2/dlq")
            ),
            None
        );
    }

    #[test]
    fn all_sends_count_unless_a_filter_or_a_count_is_there() {
        let everything = RequestState {
            everything: true,
            ..RequestState::default()
        };
        let marked = |op: &Operation, state: &RequestState, path: &str| {
            let mut u = url(path);
            mark_everything(op, state, &mut u);
            u.query().unwrap_or_default().to_owned()
        };
        for op in spec_facts::OPERATIONS {
            let Some(filters) = op.bulk_filters else {
                assert_eq!(marked(op, &everything, "/v2/x"), "", "{}", op.name);
                continue;
            };
            let count = if op.name == "restart_workflow_dlq_entries" {
                50
            } else {
                100
            };
            assert_eq!(op.all_count, count, "{}", op.name);
            assert_eq!(
                marked(op, &everything, "/v2/x"),
                format!("count={count}"),
                "{}",
                op.name
            );
            assert_eq!(
                marked(op, &everything, "/v2/x?cursor=c"),
                format!("cursor=c&count={count}")
            );
            assert_eq!(marked(op, &everything, "/v2/x?count=7"), "count=7");
            assert_eq!(marked(op, &plain(), "/v2/x"), "", "without `.all()`");
            let filter = format!("{}=v", filters[0]);
            assert_eq!(marked(op, &everything, &format!("/v2/x?{filter}")), filter);
        }
    }
}
