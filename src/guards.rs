//! What the client refuses to send, checked on every request before it
//! leaves (nothing is sent on refusal).
//!
//! - An empty path parameter: `DELETE /v2/messages/` reaches the collection
//!   endpoint, which the service treats as the bulk operation (an empty
//!   message id would cancel every message).
//! - A bulk operation (the names table's `bulk` list) without any filter: it
//!   would act on every item; the caller says so with `.all()`.
//!
//! Both are derived from the API description ([`spec_facts`]), so a new
//! operation is covered without new code.

use reqwest::Url;

use crate::generated::spec_facts;

tokio::task_local! {
    /// Set while a request the caller made with `.all()` is sent.
    pub(crate) static EVERYTHING: ();
}

/// Why `url`, for the operation named `operation`, must not be sent.
pub(crate) fn refusal(operation: &str, url: &Url) -> Option<String> {
    empty_path_parameter(operation, url).or_else(|| unfiltered_bulk(operation, url))
}

fn empty_path_parameter(operation: &str, url: &Url) -> Option<String> {
    let path = url.path();
    // The cheap test first: an empty segment shows as `//` or a trailing `/`.
    if !(path.ends_with('/') || path.contains("//")) {
        return None;
    }
    let (method, template, _) = spec_facts::OPERATIONS
        .iter()
        .find(|(_, _, name)| *name == operation)?;
    let expected: Vec<&str> = template.split('/').collect();
    let actual: Vec<&str> = path.split('/').collect();
    // The base URL may carry a path of its own: compare from the end.
    let offset = actual.len().checked_sub(expected.len())?;
    expected.iter().zip(&actual[offset..]).find_map(|(t, a)| {
        let name = t.strip_prefix('{')?.strip_suffix('}')?;
        a.is_empty().then(|| {
            format!(
                "{operation} (`{method} {template}`): the path parameter `{name}` is empty; an empty value would reach another endpoint (the collection, which may act on every item). Give it a value. Nothing was sent."
            )
        })
    })
}

fn unfiltered_bulk(operation: &str, url: &Url) -> Option<String> {
    let (_, filters) = spec_facts::BULK
        .iter()
        .find(|(name, _)| *name == operation)?;
    let filtered = url
        .query_pairs()
        .any(|(k, _)| filters.contains(&k.as_ref()));
    if filtered || EVERYTHING.try_with(|_| ()).is_ok() {
        return None;
    }
    Some(format!(
        "{operation}: no filter given, so it would act on every item. Give a filter ({}), or call `.all()` to act on everything on purpose. Nothing was sent.",
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

    fn url(path: &str) -> Url {
        Url::parse(&format!("http://127.0.0.1:1{path}")).unwrap()
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
        for (method, template, name) in spec_facts::OPERATIONS {
            if !template.contains('{') {
                continue;
            }
            for base in ["", "/proxy/qstash"] {
                let refused = refusal(name, &filled(base, template, ""))
                    .unwrap_or_else(|| panic!("{method} {template} with an empty parameter"));
                assert!(refused.starts_with(name), "{refused}");
                assert!(refused.contains("is empty"), "{refused}");
                assert!(refused.contains("Nothing was sent"), "{refused}");
                assert_eq!(
                    refusal(name, &filled(base, template, "id_1")),
                    None,
                    "{method} {template} with a value"
                );
            }
            checked += 1;
        }
        assert!(checked >= 20, "{checked} operations with path parameters");
    }

    #[test]
    fn the_refusal_names_the_parameter() {
        let refused = refusal("cancel_message", &url("/v2/messages/")).unwrap();
        assert!(refused.contains("`messageId`"), "{refused}");
        let refused = refusal("enqueue", &url("/v2/enqueue//https:%2F%2Fx")).unwrap();
        assert!(refused.contains("`queueName`"), "{refused}");
    }

    #[test]
    fn bulk_operations_need_a_filter_or_all() {
        for (name, filters) in spec_facts::BULK {
            let bare = refusal(name, &url("/v2/x?count=10&cursor=c"))
                .unwrap_or_else(|| panic!("{name} without a filter"));
            assert!(bare.contains("`.all()`"), "{bare}");
            for filter in *filters {
                assert_eq!(
                    refusal(name, &url(&format!("/v2/x?{filter}=v"))),
                    None,
                    "{name} with {filter}"
                );
            }
        }
        let names: Vec<&str> = spec_facts::BULK.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "cancel_messages",
                "delete_dlq_messages",
                "retry_dlq_messages"
            ]
        );
        // Other operations are not bulk.
        assert_eq!(refusal("list_dlq_messages", &url("/v2/dlq")), None);
    }

    #[tokio::test]
    async fn all_lets_an_unfiltered_bulk_request_through() {
        let bare = url("/v2/dlq");
        let inside = EVERYTHING
            .scope((), async { refusal("delete_dlq_messages", &bare) })
            .await;
        assert_eq!(inside, None);
        assert!(refusal("delete_dlq_messages", &bare).is_some());
    }
}
