//! The tokens this process's clients use, in every form a server could echo
//! them back, so that no text from a response that the layer keeps (an
//! error message, a raw body, a decode-error excerpt) repeats one.
//!
//! The registry is process-wide because the text is kept where no client is
//! at hand (`Error::from` a generated error). It only grows by the distinct
//! tokens configured, and is read only on error paths.

use std::sync::RwLock;

/// What a token is replaced with.
pub(crate) const REDACTED: &str = "<redacted>";

/// Tokens shorter than this are not scrubbed: no QStash token is that short,
/// and replacing a few common characters would garble every message.
const MIN_LEN: usize = 8;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers `token` (raw, form-encoded, percent-encoded, JSON-escaped).
pub(crate) fn register(token: &str) {
    if token.len() < MIN_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for form in forms(token) {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first, so a form that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

fn forms(token: &str) -> Vec<String> {
    let mut url = reqwest::Url::parse("http://x/").expect("a valid URL");
    url.query_pairs_mut().append_pair("t", token);
    let form = url.query().unwrap_or_default()["t=".len()..].to_string();
    let percent = form.replace('+', "%20");
    let json = serde_json::to_string(token).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let mut out = vec![token.to_string(), form, percent, json];
    out.dedup();
    out
}

/// `text` with every registered token replaced by [`REDACTED`].
pub(crate) fn scrub(text: String) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return text;
    }
    secrets
        .iter()
        .fold(text, |t, s| t.replace(s.as_str(), REDACTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_registered_token_is_scrubbed() {
        let token = "unit+Secret/Token=x%y";
        register(token);
        let text = format!(
            "raw {token}; query qstash_token=unit%2BSecret%2FToken%3Dx%25y; header Bearer {token}"
        );
        let clean = scrub(text);
        assert!(!clean.contains("Secret"), "{clean}");
        assert_eq!(clean.matches(REDACTED).count(), 3, "{clean}");
    }

    #[test]
    fn text_without_a_token_is_left_alone_and_short_tokens_are_not_registered() {
        register("short");
        assert_eq!(scrub("a short message".into()), "a short message");
    }
}
