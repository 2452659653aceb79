//! Signing keys and the `Upstash-Signature` JWT of each delivery.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::ids;

/// Seconds a signature stays valid, as with the service.
const VALIDITY_SECS: i64 = 300;

/// The current and next signing keys.
#[derive(Clone)]
pub(crate) struct SigningKeys {
    pub(crate) current: String,
    pub(crate) next: String,
}

impl SigningKeys {
    /// Two fresh random keys.
    pub(crate) fn generate() -> Self {
        Self {
            current: new_key(),
            next: new_key(),
        }
    }

    /// Makes the next key current and generates a new next key.
    pub(crate) fn rotate(&mut self) {
        self.current = std::mem::replace(&mut self.next, new_key());
    }
}

/// Without the keys: this may end up in a log (the store's `Debug`).
impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("current", &"<redacted>")
            .field("next", &"<redacted>")
            .finish()
    }
}

fn new_key() -> String {
    format!("sig_{}", ids::random_string(28))
}

/// The signature JWT for a delivery of `body` to `url`, signed with `key`
/// at `now_secs` (Unix seconds).
pub(crate) fn sign(key: &str, url: &str, body: &[u8], now_secs: i64) -> Result<String, String> {
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let claims = json!({
        "iss": "Upstash",
        "sub": url,
        "exp": now_secs + VALIDITY_SECS,
        "nbf": now_secs,
        "iat": now_secs,
        "jti": ids::new_id("jwt_"),
        "body": URL_SAFE_NO_PAD.encode(Sha256::digest(body)),
    });
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .map_err(|e| format!("cannot use the signing key: {e}"))?;
    mac.update(signed.as_bytes());
    Ok(format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::SigningKeys;

    #[test]
    fn debug_shows_no_key() {
        let keys = SigningKeys {
            current: "sig_CURRENTSECRET".into(),
            next: "sig_NEXTSECRET".into(),
        };
        let text = format!("{keys:?} {keys:#?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
