//! Random identifiers and secrets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Base58 (no `0`, `O`, `I`, `l`), as in the service's identifiers.
const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static FALLBACK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `len` random bytes from the operating system; should that ever fail,
/// bytes derived from the clock and a counter (unique, not secret).
fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    if getrandom::fill(&mut buf).is_err() {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let mut h = Sha256::new();
            h.update(
                FALLBACK_COUNTER
                    .fetch_add(1, Ordering::Relaxed)
                    .to_le_bytes(),
            );
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            h.update(nanos.to_le_bytes());
            out.extend_from_slice(&h.finalize());
        }
        out.truncate(len);
        buf = out;
    }
    buf
}

/// A random base58 string of `len` characters.
pub(crate) fn random_string(len: usize) -> String {
    random_bytes(len)
        .into_iter()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// A new identifier: `prefix` followed by 24 random characters.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", random_string(24))
}
