//! A client's token in every form a server could echo it back, so that no
//! text or body from a response that an error keeps (a message, a raw body,
//! a decode-error excerpt) repeats it.
//!
//! Each client holds its own [`Secrets`], made once when it is built: the
//! error path scrubs with the client at hand, and nothing is process-wide.

use std::sync::Arc;

use bytes::Bytes;

/// What a token is replaced with.
pub(crate) const REDACTED: &str = "<redacted>";

/// Tokens shorter than this are not scrubbed: no QStash token is that short,
/// and replacing a few common characters would garble every message.
const MIN_LEN: usize = 8;

/// The forms of one token, longest first (so a form that contains another
/// is replaced whole).
/// No `Debug`: nothing that prints may hold one.
#[derive(Clone, Default)]
pub(crate) struct Secrets(Arc<[String]>);

impl Secrets {
    /// The forms of `token`: raw, form-encoded, percent-encoded, JSON-escaped.
    pub(crate) fn of(token: &str) -> Self {
        if token.len() < MIN_LEN {
            return Self::default();
        }
        let mut url = reqwest::Url::parse("http://x/").expect("a valid URL");
        url.query_pairs_mut().append_pair("t", token);
        let form = url.query().unwrap_or_default()["t=".len()..].to_string();
        let percent = form.replace('+', "%20");
        let json = serde_json::to_string(token).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        let mut forms = vec![token.to_string(), form, percent, json];
        forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
        forms.dedup();
        Self(forms.into())
    }

    /// `text` with every form of the token replaced by [`REDACTED`].
    pub(crate) fn scrub(&self, text: String) -> String {
        if !self.0.iter().any(|s| text.contains(s.as_str())) {
            return text;
        }
        self.0
            .iter()
            .fold(text, |t, s| t.replace(s.as_str(), REDACTED))
    }

    /// `body` with every form of the token replaced by [`REDACTED`], byte
    /// for byte otherwise (a body need not be UTF-8).
    pub(crate) fn scrub_bytes(&self, body: Bytes) -> Bytes {
        if !self.0.iter().any(|s| find(&body, s.as_bytes()).is_some()) {
            return body;
        }
        let mut out = body.to_vec();
        for secret in self.0.iter() {
            out = replace(&out, secret.as_bytes(), REDACTED.as_bytes());
        }
        Bytes::from(out)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = find(rest, needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_token_is_scrubbed() {
        let token = "unit+Secret/Token=x%y";
        let secrets = Secrets::of(token);
        let text = format!(
            "raw {token}; query qstash_token=unit%2BSecret%2FToken%3Dx%25y; header Bearer {token}"
        );
        let clean = secrets.scrub(text.clone());
        assert!(!clean.contains("Secret"), "{clean}");
        assert_eq!(clean.matches(REDACTED).count(), 3, "{clean}");
        let bytes = secrets.scrub_bytes(Bytes::from(text.into_bytes()));
        assert_eq!(bytes, clean.as_bytes());
    }

    #[test]
    fn bytes_that_are_not_text_keep_every_other_byte() {
        let secrets = Secrets::of("sEcReT-t0ken-123");
        let mut body = vec![0xff, 0x00, b'a'];
        body.extend_from_slice(b"sEcReT-t0ken-123");
        body.extend_from_slice(&[0xfe, b'z']);
        let clean = secrets.scrub_bytes(Bytes::from(body));
        let mut expected = vec![0xff, 0x00, b'a'];
        expected.extend_from_slice(REDACTED.as_bytes());
        expected.extend_from_slice(&[0xfe, b'z']);
        assert_eq!(clean, expected);
    }

    #[test]
    fn another_clients_token_and_short_tokens_are_left_alone() {
        let secrets = Secrets::of("first-client-token");
        assert_eq!(
            secrets.scrub("second-client-token here".into()),
            "second-client-token here"
        );
        let short = Secrets::of("short");
        assert_eq!(short.scrub("a short message".into()), "a short message");
        // Eight characters are enough to be scrubbed; seven are not.
        assert_eq!(
            Secrets::of("8charsOK").scrub("x 8charsOK".into()),
            "x <redacted>"
        );
        assert_eq!(
            Secrets::of("7chars!").scrub("x 7chars!".into()),
            "x 7chars!"
        );
    }
}
