//! The Rust names the generator gives to what the document names, and the
//! one rule for names that collide.
//!
//! progenitor and typify turn a wire name into an identifier by replacing
//! what cannot stand in one with `-`, changing the case, prefixing a name
//! that cannot start one and suffixing a keyword with `_`. Different wire
//! names can meet there (`callerIp` and `callerIP`, `self` and `Self`,
//! `fast-lane` and `fast_lane`). Such twins are *evidently the same name
//! spelled two ways* when they are equal ignoring case and separators; the
//! pipeline then keeps one ([`canonical`]) and reports what it did with the
//! other. Twins that are not evidently the same are refused.

use heck::{ToLowerCamelCase, ToPascalCase, ToSnakeCase};

/// Every Rust keyword, strict and reserved, as of the 2024 edition (`gen`
/// included), and `_`: the words that cannot be an identifier. The
/// generator suffixes them with `_` (typify's `accept_as_ident`), and the
/// names table may not use them. The one list of the pipeline.
pub const KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "Self", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Whether `word` is a Rust keyword ([`KEYWORDS`]).
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

fn sanitize(input: &str, to_case: fn(&str) -> String) -> String {
    let out = match input {
        "+1" => "plus1".to_string(),
        "-1" => "minus1".to_string(),
        _ => {
            let cleaned: String = input
                .replace('\'', "")
                .chars()
                .map(|c| {
                    if unicode_ident::is_xid_continue(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            to_case(&cleaned)
        }
    };
    let prefix = to_case("x");
    let out = match out.chars().next() {
        None => prefix,
        Some(c) if unicode_ident::is_xid_start(c) => out,
        Some(_) => format!("{prefix}{out}"),
    };
    if is_keyword(&out) {
        format!("{out}_")
    } else {
        out
    }
}

/// The field, parameter or method name generated for `wire`: the one
/// function of the pipeline that turns a name into a Rust identifier.
pub fn snake(wire: &str) -> String {
    sanitize(wire, |s| s.to_snake_case())
}

/// The type or variant name generated for `wire`.
pub fn pascal(wire: &str) -> String {
    sanitize(wire, |s| s.to_pascal_case())
}

/// The name progenitor gives the type of an operation's inline success
/// body: it names it `{operationId}-response`, in Pascal case
/// (`list_dlq_messages` -> `ListDlqMessagesResponse`).
pub fn response_type(operation_id: &str) -> String {
    pascal(&format!("{operation_id}-response"))
}

/// `wire` without case and separators: twins that agree here are the same
/// name spelled two ways.
pub fn spelling(wire: &str) -> String {
    wire.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether every name of `names` is the same name spelled another way.
pub fn same_spelling<S: AsRef<str>>(names: &[S]) -> bool {
    names
        .windows(2)
        .all(|w| spelling(w[0].as_ref()) == spelling(w[1].as_ref()))
}

/// Which of colliding twins keeps the name: one not marked deprecated, then
/// one written the way the document's own convention writes it (lower camel
/// case, or Pascal case for types), then the first in byte order. The
/// choice depends only on the twins, so adding a new twin next to a name
/// written in the convention never takes the name from it.
pub fn canonical<'a>(twins: &[(&'a str, bool)]) -> &'a str {
    let conventional = |n: &str| n == n.to_lower_camel_case() || n == n.to_pascal_case();
    twins
        .iter()
        .min_by_key(|(name, deprecated)| (*deprecated, !conventional(name), *name))
        .map_or("", |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_as_the_generator_makes_them() {
        assert_eq!(snake("callerIp"), "caller_ip");
        assert_eq!(snake("callerIP"), "caller_ip");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("Self"), "self_");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("2fa"), "x2fa");
        assert_eq!(snake("a.b"), "a_b");
        assert_eq!(pascal("fast-lane"), "FastLane");
        assert_eq!(pascal("fast_lane"), "FastLane");
        assert_eq!(pascal("CANCEL_REQUESTED"), "CancelRequested");
        assert_eq!(pascal(""), "X");
        assert_eq!(
            response_type("list_dlq_messages"),
            "ListDlqMessagesResponse"
        );
        assert_eq!(response_type("get_v2_x"), "GetV2XResponse");
    }

    #[test]
    fn every_keyword_is_suffixed() {
        for word in [
            "gen", "try", "box", "yield", "async", "await", "dyn", "abstract", "become",
        ] {
            assert!(is_keyword(word), "{word}");
            assert_eq!(snake(word), format!("{word}_"));
        }
        assert_eq!(pascal("self"), "Self_");
        assert!(!is_keyword("union") && !is_keyword("raw"));
        assert_eq!(snake("generate"), "generate");
        // The list is the one syn knows, plus `gen` (2024's reserved word).
        for word in KEYWORDS.iter().filter(|w| !["_", "gen"].contains(w)) {
            assert!(syn::parse_str::<syn::Ident>(word).is_err(), "{word}");
        }
        assert!(syn::parse_str::<syn::Ident>("union").is_ok());
    }

    #[test]
    fn twins_spelled_two_ways_are_recognised() {
        assert!(same_spelling(&["callerIp", "callerIP", "caller_ip"]));
        assert!(same_spelling(&["self", "Self"]));
        assert!(!same_spelling(&["a1", "a_1_x"]));
    }

    #[test]
    fn the_canonical_twin_does_not_depend_on_order() {
        assert_eq!(
            canonical(&[("callerIP", false), ("callerIp", false)]),
            "callerIp"
        );
        assert_eq!(
            canonical(&[("callerIp", false), ("callerIP", false)]),
            "callerIp"
        );
        assert_eq!(
            canonical(&[("callerIp", true), ("callerIP", false)]),
            "callerIP"
        );
        assert_eq!(canonical(&[("Self", false), ("self", false)]), "Self");
        assert_eq!(
            canonical(&[("fast_lane", false), ("fast-lane", false)]),
            "fast-lane"
        );
    }
}
