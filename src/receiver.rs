//! Verifying that an incoming delivery really comes from QStash.

use std::ffi::OsString;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::REGION_ENV;

/// Name of the HTTP header that carries QStash's signature.
pub const SIGNATURE_HEADER: &str = "Upstash-Signature";

/// Environment variable read by [`Receiver::from_env`] for the current signing key.
pub const CURRENT_SIGNING_KEY_ENV: &str = "QSTASH_CURRENT_SIGNING_KEY";

/// Environment variable read by [`Receiver::from_env`] for the next signing key.
pub const NEXT_SIGNING_KEY_ENV: &str = "QSTASH_NEXT_SIGNING_KEY";

/// Name of the HTTP header in which QStash names the region a delivery
/// comes from (`us-east-1`, `EU-CENTRAL-1`, ...). Read by
/// [`Receiver::verify_headers`] when the receiver has regional keys.
pub const REGION_HEADER: &str = "Upstash-Region";

/// The only issuer QStash signs as.
const ISSUER: &str = "Upstash";

/// The only signing algorithm accepted.
const ALGORITHM: &str = "HS256";

/// Longest attacker-controlled header value quoted in an error message.
const MAX_QUOTED_CHARS: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// Verifies the `Upstash-Signature` header of deliveries from QStash.
///
/// Holds the project's current and next signing keys (both shown in the
/// QStash console), optionally a pair per region for multi-region projects
/// ([`with_region`](Receiver::with_region), `QSTASH_REGION` for
/// [`from_env`](Receiver::from_env)), and a clock tolerance. Cloning is cheap enough to share
/// one receiver per request handler, and it is `Send + Sync`.
///
/// The keys are used as the UTF-8 bytes of the strings given, unmodified. An
/// empty key is never used for verification: a receiver whose keys are both
/// empty rejects every token with [`VerifyError::InvalidSignature`].
///
/// `Debug` output redacts both keys.
///
/// When QStash delivers a message to your endpoint it adds an
/// `Upstash-Signature` header. Its value is a JWT signed with HMAC-SHA256,
/// keyed by one of your project's two signing keys (the *current* and the
/// *next* key, which QStash rotates). [`Receiver`] checks that header against
/// the raw request body and, optionally, the URL the request was sent to.
///
/// The checks are those of the official QStash SDKs, applied strictly:
///
/// * the token has exactly three unpadded base64url parts
///   (`header.payload.signature`);
/// * the header's `alg` is `HS256` (`none`, `HS512` and everything else are
///   rejected), its `typ`, if present, is `JWT`, and it has no `crit`
///   parameter;
/// * the signature is a valid HMAC-SHA256 under the current signing key or,
///   failing that, the next one (compared in constant time), of the region
///   named by the `Upstash-Region` header when the receiver has regional
///   keys;
/// * the `iss` claim is `Upstash`;
/// * the `sub` claim equals the expected URL, when one is given;
/// * the `exp` and `nbf` claims are present and hold at the time of
///   verification, give or take the [clock tolerance](Receiver::with_clock_tolerance);
/// * the `body` claim equals the unpadded base64url encoding of the SHA-256
///   hash of the raw body (trailing `=` padding is ignored on both sides).
///
/// Each failed check has its own [`VerifyError`] variant. Neither the signing
/// keys nor the token ever appear in error messages or in `Debug` output.
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
///
/// use qstash::{Receiver, VerifyError};
///
/// # fn main() -> Result<(), VerifyError> {
/// // In production: `let receiver = Receiver::from_env()?;`
/// let receiver = Receiver::new("sig_current_key", "sig_next_key");
///
/// // The value of the `Upstash-Signature` header and the raw request body.
/// let signature = concat!(
///     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
///     "eyJpc3MiOiJVcHN0YXNoIiwic3ViIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9hcGkvd2ViaG9vayIsImV4cCI6MTcw",
///     "MDAwMDMwMCwibmJmIjoxNzAwMDAwMDAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6Imp3dF9kb2NfZXhhbXBsZSIs",
///     "ImJvZHkiOiJrNkk1Y2FrVTVlckw4S2pTVVZUTm93bkR3Y2N2dTVrVTFIeGc4OHRvRllnIn0.",
///     "9okAihbDAVSCl053IO8JREl2xFv2JPLoLULgy9Q7JEc",
/// );
/// let body = br#"{"hello":"world"}"#;
/// let url = "https://example.com/api/webhook";
///
/// // `verify` checks the token against the current time; this example token
/// // was valid for five minutes in November 2023, so check it at that time.
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_100);
/// let claims = receiver.verify_at(signature, body, Some(url), now)?;
/// assert_eq!(claims.iss, "Upstash");
/// assert_eq!(claims.sub, url);
/// assert_eq!(claims.jti.as_deref(), Some("jwt_doc_example"));
///
/// // A body that was tampered with is rejected.
/// let err = receiver
///     .verify_at(signature, br#"{"hello":"mallory"}"#, Some(url), now)
///     .unwrap_err();
/// assert!(matches!(err, VerifyError::BodyHashMismatch));
///
/// // So is a delivery meant for another endpoint.
/// let err = receiver
///     .verify_at(signature, body, Some("https://example.com/other"), now)
///     .unwrap_err();
/// assert!(matches!(err, VerifyError::SubjectMismatch { .. }));
///
/// // And the token has long expired by now.
/// let err = receiver.verify(signature, body, Some(url)).unwrap_err();
/// assert!(matches!(err, VerifyError::Expired { .. }));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Receiver {
    /// The pair used when no regional pair applies; `None` only for a
    /// receiver from the environment that has regional pairs alone.
    default_keys: Option<KeyPair>,
    /// Regional pairs, chosen by the delivery's `Upstash-Region` header.
    regions: Vec<(Region, KeyPair)>,
    /// Whether the `Upstash-Region` header is read at all: with
    /// `QSTASH_REGION` set, or once a regional pair is given.
    regional: bool,
    /// Set up with the dev server's public keys (shown by `Debug`).
    dev: bool,
    clock_tolerance: Duration,
}

/// A current and next signing key. Never printed.
#[derive(Clone)]
struct KeyPair {
    current: String,
    next: String,
}

impl KeyPair {
    fn new(current: impl Into<String>, next: impl Into<String>) -> Self {
        Self {
            current: current.into(),
            next: next.into(),
        }
    }

    /// Whether `mac` is the HMAC-SHA256 of `signed` under the current key
    /// or, failing that, the next one. Empty keys are skipped.
    fn signed(&self, signed: &[u8], mac: &[u8]) -> bool {
        [&self.current, &self.next]
            .into_iter()
            .filter(|key| !key.is_empty())
            .any(|key| {
                HmacSha256::new_from_slice(key.as_bytes())
                    .is_ok_and(|hmac| hmac.chain_update(signed).verify_slice(mac).is_ok())
            })
    }
}

impl Receiver {
    /// Creates a receiver from the current and next signing keys, with no
    /// clock tolerance.
    ///
    /// ```
    /// use qstash::Receiver;
    ///
    /// let receiver = Receiver::new("sig_current_key", "sig_next_key");
    /// assert!(!format!("{receiver:?}").contains("sig_current_key"));
    /// ```
    pub fn new(
        current_signing_key: impl Into<String>,
        next_signing_key: impl Into<String>,
    ) -> Self {
        Self {
            default_keys: Some(KeyPair::new(current_signing_key, next_signing_key)),
            regions: Vec::new(),
            regional: false,
            dev: false,
            clock_tolerance: Duration::ZERO,
        }
    }

    /// A receiver for the official local dev server: it verifies with the
    /// server's public signing keys ([`DEV_CURRENT_SIGNING_KEY`](crate::DEV_CURRENT_SIGNING_KEY),
    /// [`DEV_NEXT_SIGNING_KEY`](crate::DEV_NEXT_SIGNING_KEY)), as
    /// `QSTASH_DEV=1` does for [`from_env`](Self::from_env), and says so once
    /// at `info` through `tracing`. Those keys are published: never use this
    /// receiver for deliveries from the internet.
    ///
    /// ```
    /// let receiver = qstash::Receiver::dev();
    /// assert!(format!("{receiver:?}").contains("dev: true"));
    /// ```
    #[must_use]
    pub fn dev() -> Self {
        crate::dev::log_receiver();
        Self {
            dev: true,
            ..Self::new(crate::DEV_CURRENT_SIGNING_KEY, crate::DEV_NEXT_SIGNING_KEY)
        }
    }

    /// Adds the signing keys of one region, used for deliveries whose
    /// `Upstash-Region` header names it (in any case, with `-` or `_`);
    /// the keys given to [`new`](Self::new) stay in use for deliveries
    /// without the header and from regions without keys of their own.
    ///
    /// Once a receiver has a regional pair it reads the header of every
    /// delivery, and refuses one that names no known region
    /// ([`VerifyError::UnknownRegion`]) rather than guess its keys.
    ///
    /// ```
    /// use qstash::{Receiver, Region};
    ///
    /// let receiver = Receiver::new("sig_eu_current", "sig_eu_next")
    ///     .with_region(Region::UsEast1, "sig_us_current", "sig_us_next");
    /// assert!(!format!("{receiver:?}").contains("sig_us_current"));
    /// ```
    #[must_use]
    pub fn with_region(
        mut self,
        region: Region,
        current_signing_key: impl Into<String>,
        next_signing_key: impl Into<String>,
    ) -> Self {
        let keys = KeyPair::new(current_signing_key, next_signing_key);
        self.regions.retain(|(r, _)| *r != region);
        self.regions.push((region, keys));
        self.regional = true;
        self
    }

    /// A receiver configured from the environment, with no clock tolerance.
    ///
    /// The keys are chosen as in the official SDKs:
    ///
    /// 1. dev mode: with `QSTASH_DEV=1` (or `true`), the dev server's public
    ///    keys ([`Receiver::dev`]), whatever else is set;
    /// 2. with `QSTASH_REGION` set (`EU_CENTRAL_1` or `US_EAST_1`, in any
    ///    case, with `-` or `_`), each region's
    ///    `<REGION>_QSTASH_CURRENT_SIGNING_KEY` and
    ///    `<REGION>_QSTASH_NEXT_SIGNING_KEY`, for deliveries whose
    ///    `Upstash-Region` header names that region (see
    ///    [`with_region`](Self::with_region));
    /// 3. `QSTASH_CURRENT_SIGNING_KEY` and `QSTASH_NEXT_SIGNING_KEY`: for
    ///    every delivery, or, with `QSTASH_REGION`, for those without the
    ///    header or from a region without keys of its own.
    ///
    /// Keys given in code ([`new`](Self::new), [`with_region`](Self::with_region))
    /// never read the environment, `QSTASH_DEV` included.
    ///
    /// # Errors
    ///
    /// [`VerifyError::MissingEnv`], naming the variable, if either default
    /// key is unset, empty, or not valid Unicode (with `QSTASH_REGION`, the
    /// default pair may be left out when a regional pair is set);
    /// [`VerifyError::InvalidEnv`], naming the variable, for a
    /// `QSTASH_DEV` or `QSTASH_REGION` that cannot be understood, half a
    /// regional pair, or `QSTASH_REGION` without any signing keys.
    ///
    /// ```no_run
    /// let receiver = qstash::Receiver::from_env()?;
    /// # Ok::<(), qstash::VerifyError>(())
    /// ```
    pub fn from_env() -> Result<Self, VerifyError> {
        Self::from_env_with(|name| std::env::var_os(name))
    }

    /// Like [`from_env`](Self::from_env), reading each variable through
    /// `lookup` instead of the process environment (tests, or settings kept
    /// elsewhere).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::ffi::OsString;
    ///
    /// let vars: HashMap<&str, OsString> = HashMap::from([
    ///     ("QSTASH_REGION", "us-east-1".into()),
    ///     ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", "sig_us_current".into()),
    ///     ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", "sig_us_next".into()),
    ///     ("QSTASH_CURRENT_SIGNING_KEY", "sig_current".into()),
    ///     ("QSTASH_NEXT_SIGNING_KEY", "sig_next".into()),
    /// ]);
    /// let receiver = qstash::Receiver::from_env_with(|name| vars.get(name).cloned())?;
    /// # Ok::<(), qstash::VerifyError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`from_env`](Self::from_env).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, VerifyError> {
        if crate::dev::dev_port_from(&lookup)
            .map_err(VerifyError::InvalidEnv)?
            .is_some()
        {
            return Ok(Self::dev());
        }
        // Set, non-empty and valid Unicode; anything else counts as unset.
        let var = |name: &str| {
            lookup(name)
                .and_then(|value| value.into_string().ok())
                .filter(|value| !value.is_empty())
        };
        let region = match lookup(REGION_ENV) {
            None => None,
            Some(value) if value.is_empty() => None,
            Some(value) => {
                let shown = value.to_string_lossy();
                Some(Region::parse(&shown).ok_or_else(|| {
                    VerifyError::InvalidEnv(format!(
                        "environment variable {REGION_ENV} is {:?}; expected {}",
                        quote(&shown),
                        Region::EXPECTED
                    ))
                })?)
            }
        };
        let Some(region) = region else {
            let current = var(CURRENT_SIGNING_KEY_ENV)
                .ok_or(VerifyError::MissingEnv(CURRENT_SIGNING_KEY_ENV))?;
            let next =
                var(NEXT_SIGNING_KEY_ENV).ok_or(VerifyError::MissingEnv(NEXT_SIGNING_KEY_ENV))?;
            return Ok(Self::new(current, next));
        };
        let mut receiver = Self {
            default_keys: None,
            regions: Vec::new(),
            regional: true,
            dev: false,
            clock_tolerance: Duration::ZERO,
        };
        for r in Region::ALL {
            let current = format!("{}_{CURRENT_SIGNING_KEY_ENV}", r.as_str());
            let next = format!("{}_{NEXT_SIGNING_KEY_ENV}", r.as_str());
            let missing = match (var(&current), var(&next)) {
                (Some(c), Some(n)) => {
                    receiver.regions.push((r, KeyPair::new(c, n)));
                    continue;
                }
                (None, None) => continue,
                (Some(_), None) => next,
                (None, Some(_)) => current,
            };
            return Err(VerifyError::InvalidEnv(format!(
                "environment variable {missing} is not set, empty, or not valid Unicode; \
                 a region's two keys are used as a pair"
            )));
        }
        receiver.default_keys = match (var(CURRENT_SIGNING_KEY_ENV), var(NEXT_SIGNING_KEY_ENV)) {
            (Some(current), Some(next)) => Some(KeyPair::new(current, next)),
            (None, None) => None,
            (Some(_), None) => return Err(VerifyError::MissingEnv(NEXT_SIGNING_KEY_ENV)),
            (None, Some(_)) => return Err(VerifyError::MissingEnv(CURRENT_SIGNING_KEY_ENV)),
        };
        if receiver.default_keys.is_none() && receiver.regions.is_empty() {
            let name = region.as_str();
            return Err(VerifyError::InvalidEnv(format!(
                "{REGION_ENV} is {name}, but no signing keys are set: set \
                 {name}_{CURRENT_SIGNING_KEY_ENV} and {name}_{NEXT_SIGNING_KEY_ENV}, \
                 or {CURRENT_SIGNING_KEY_ENV} and {NEXT_SIGNING_KEY_ENV}"
            )));
        }
        Ok(receiver)
    }

    /// Sets how far the local clock may disagree with QStash's.
    ///
    /// A token is accepted until `tolerance` after its `exp` claim and from
    /// `tolerance` before its `nbf` claim. The default is zero, as in the
    /// official SDKs: a token is valid from `nbf` (inclusive) until `exp`
    /// (exclusive).
    ///
    /// ```
    /// use std::time::Duration;
    /// use qstash::Receiver;
    ///
    /// let receiver = Receiver::new("sig_current_key", "sig_next_key")
    ///     .with_clock_tolerance(Duration::from_secs(5));
    /// assert_eq!(receiver.clock_tolerance(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn with_clock_tolerance(mut self, tolerance: Duration) -> Self {
        self.clock_tolerance = tolerance;
        self
    }

    /// The clock tolerance set with [`with_clock_tolerance`](Self::with_clock_tolerance)
    /// (zero by default).
    #[must_use]
    pub fn clock_tolerance(&self) -> Duration {
        self.clock_tolerance
    }

    /// Verifies a delivery at the current system time.
    ///
    /// `signature` is the value of the `Upstash-Signature` header, `raw_body`
    /// the request body exactly as received (before any JSON parsing), and
    /// `expected_url`, if given, the URL QStash was asked to deliver to; it
    /// must equal the token's `sub` claim exactly. With `None`, `sub` is not
    /// checked.
    ///
    /// Returns the token's claims if every check passes.
    ///
    /// # Errors
    ///
    /// The [`VerifyError`] of the first check that fails; see the
    /// [`Receiver`] documentation for the list of checks.
    pub fn verify(
        &self,
        signature: &str,
        raw_body: &[u8],
        expected_url: Option<&str>,
    ) -> Result<Claims, VerifyError> {
        self.verify_at(signature, raw_body, expected_url, SystemTime::now())
    }

    /// Like [`verify`](Self::verify), but checks `exp` and `nbf` against
    /// `now` instead of the system clock.
    ///
    /// # Errors
    ///
    /// As for [`verify`](Self::verify).
    pub fn verify_at(
        &self,
        signature: &str,
        raw_body: &[u8],
        expected_url: Option<&str>,
        now: SystemTime,
    ) -> Result<Claims, VerifyError> {
        self.verify_token_at(signature, None, expected_url, now)?
            .check_body(raw_body)
    }

    /// The first of two phases: checks the token alone (its structure, `alg`,
    /// signature, `iss`, `sub` and time claims), before the body is read;
    /// [`PendingBody::check_body`] then checks the body against it.
    ///
    /// `region` is the value of the delivery's `Upstash-Region` header, if
    /// any: it picks the keys of a receiver with regional keys (see
    /// [`with_region`](Self::with_region)), and is ignored by one without.
    /// Frameworks built on the `http` crate have
    /// [`verify_headers`](Self::verify_headers), which reads both headers.
    ///
    /// ```
    /// use qstash::{Receiver, VerifyError};
    ///
    /// let receiver = Receiver::new("sig_current_key", "sig_next_key");
    /// let err = receiver.verify_token("not.a.token", None, None).unwrap_err();
    /// assert!(matches!(err, VerifyError::Malformed(_)));
    /// ```
    ///
    /// # Errors
    ///
    /// The [`VerifyError`] of the first check that fails, among them
    /// [`VerifyError::UnknownRegion`] and [`VerifyError::NoSigningKeys`].
    pub fn verify_token(
        &self,
        signature: &str,
        region: Option<&str>,
        expected_url: Option<&str>,
    ) -> Result<PendingBody, VerifyError> {
        self.verify_token_at(signature, region, expected_url, SystemTime::now())
    }

    /// Like [`verify_token`](Self::verify_token), but checks `exp` and `nbf`
    /// against `now` instead of the system clock.
    ///
    /// # Errors
    ///
    /// As for [`verify_token`](Self::verify_token).
    pub fn verify_token_at(
        &self,
        signature: &str,
        region: Option<&str>,
        expected_url: Option<&str>,
        now: SystemTime,
    ) -> Result<PendingBody, VerifyError> {
        let keys = self.keys_for(region)?;
        let mut parts = signature.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(MalformedReason::NotThreeParts.into());
        };

        let header = decode_json_object(header_b64, TokenPart::Header)?;
        check_header(&header)?;

        let mac = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| MalformedReason::InvalidBase64(TokenPart::Signature))?;
        let Some((signed, _)) = signature.rsplit_once('.') else {
            return Err(MalformedReason::NotThreeParts.into());
        };
        if !keys.signed(signed.as_bytes(), &mac) {
            return Err(VerifyError::InvalidSignature);
        }

        let payload = decode_json_object(payload_b64, TokenPart::Payload)?;
        let claims = Claims::from_payload(&payload)?;

        if claims.iss != ISSUER {
            return Err(VerifyError::InvalidIssuer { issuer: claims.iss });
        }
        if let Some(expected) = expected_url
            && claims.sub != expected
        {
            return Err(VerifyError::SubjectMismatch {
                expected: expected.to_owned(),
                actual: claims.sub,
            });
        }

        let now = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let tolerance = self.clock_tolerance;
        let exp_limit = Duration::from_secs(claims.exp)
            .checked_add(tolerance)
            .unwrap_or(Duration::MAX);
        if now >= exp_limit {
            return Err(VerifyError::Expired { exp: claims.exp });
        }
        let now_tolerant = now.checked_add(tolerance).unwrap_or(Duration::MAX);
        if now_tolerant < Duration::from_secs(claims.nbf) {
            return Err(VerifyError::NotYetValid { nbf: claims.nbf });
        }

        Ok(PendingBody { claims })
    }

    /// Verifies a delivery from its request headers and raw body, at the
    /// current system time.
    ///
    /// Reads the `Upstash-Signature` and `Upstash-Region` headers
    /// (case-insensitively, as [`http::HeaderMap`] does) and checks the
    /// token and then the body, as [`verify_headers`](Self::verify_headers)
    /// and [`PendingBody::check_body`] do. Works with any server built on
    /// the `http` crate (axum, hyper, ...) without depending on one.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use qstash::{Receiver, VerifyError};
    ///
    /// let receiver = Receiver::new("sig_current_key", "sig_next_key");
    /// let headers = HeaderMap::new();
    /// let err = receiver.verify_request(&headers, b"{}", None).unwrap_err();
    /// assert!(matches!(err, VerifyError::MissingSignature));
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`verify_headers`](Self::verify_headers) and
    /// [`PendingBody::check_body`].
    pub fn verify_request(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        expected_url: Option<&str>,
    ) -> Result<Claims, VerifyError> {
        self.verify_request_at(headers, body, expected_url, SystemTime::now())
    }

    /// Like [`verify_request`](Self::verify_request), but checks `exp` and
    /// `nbf` against `now` instead of the system clock.
    ///
    /// # Errors
    ///
    /// As for [`verify_request`](Self::verify_request).
    pub fn verify_request_at(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        expected_url: Option<&str>,
        now: SystemTime,
    ) -> Result<Claims, VerifyError> {
        self.verify_headers_at(headers, expected_url, now)?
            .check_body(body)
    }

    /// The first of two phases, from the request headers: checks the token
    /// of the `Upstash-Signature` header, with the keys of the region named
    /// by the `Upstash-Region` header (see [`verify_token`](Self::verify_token)),
    /// before the body is read. [`PendingBody::check_body`] then checks the
    /// body.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use qstash::{Receiver, Region, VerifyError};
    ///
    /// let receiver = Receiver::new("sig_current", "sig_next")
    ///     .with_region(Region::UsEast1, "sig_us_current", "sig_us_next");
    /// let mut headers = HeaderMap::new();
    /// headers.insert("upstash-signature", "a.b.c".parse().unwrap());
    /// headers.insert("upstash-region", "../x".parse().unwrap());
    /// let err = receiver.verify_headers(&headers, None).unwrap_err();
    /// assert_eq!(err, VerifyError::UnknownRegion { region: "../x".into() });
    /// ```
    ///
    /// # Errors
    ///
    /// [`VerifyError::MissingSignature`] if the signature header is absent;
    /// [`VerifyError::Malformed`] if it appears more than once or is not
    /// visible ASCII; [`VerifyError::UnknownRegion`] if a receiver with
    /// regional keys gets a region header it does not know (or several);
    /// otherwise as for [`verify_token`](Self::verify_token).
    pub fn verify_headers(
        &self,
        headers: &http::HeaderMap,
        expected_url: Option<&str>,
    ) -> Result<PendingBody, VerifyError> {
        self.verify_headers_at(headers, expected_url, SystemTime::now())
    }

    /// Like [`verify_headers`](Self::verify_headers), but checks `exp` and
    /// `nbf` against `now` instead of the system clock.
    ///
    /// # Errors
    ///
    /// As for [`verify_headers`](Self::verify_headers).
    pub fn verify_headers_at(
        &self,
        headers: &http::HeaderMap,
        expected_url: Option<&str>,
        now: SystemTime,
    ) -> Result<PendingBody, VerifyError> {
        let mut values = headers.get_all(SIGNATURE_HEADER).iter();
        let value = values.next().ok_or(VerifyError::MissingSignature)?;
        if values.next().is_some() {
            return Err(MalformedReason::MultipleSignatureHeaders.into());
        }
        let signature = value
            .to_str()
            .map_err(|_| MalformedReason::InvalidHeaderValue)?;
        // Several region headers read as one list, which names no region.
        let regions: Vec<_> = headers
            .get_all(REGION_HEADER)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect();
        let region = (!regions.is_empty()).then(|| regions.join(", "));
        self.verify_token_at(signature, region.as_deref(), expected_url, now)
    }

    /// The keys for a delivery with this `Upstash-Region` header value.
    fn keys_for(&self, region: Option<&str>) -> Result<&KeyPair, VerifyError> {
        let region = match region {
            Some(value) if self.regional => {
                Some(
                    Region::parse(value).ok_or_else(|| VerifyError::UnknownRegion {
                        region: quote(value),
                    })?,
                )
            }
            _ => None,
        };
        region
            .and_then(|region| {
                self.regions
                    .iter()
                    .find(|(r, _)| *r == region)
                    .map(|(_, keys)| keys)
            })
            .or(self.default_keys.as_ref())
            .ok_or(VerifyError::NoSigningKeys { region })
    }
}

/// A delivery whose token checked out, its body still to be checked: made
/// by [`Receiver::verify_headers`] or [`Receiver::verify_token`] before the
/// body is read; [`check_body`](Self::check_body) finishes the
/// verification.
///
/// ```
/// # use std::time::{Duration, UNIX_EPOCH};
/// use qstash::{Receiver, VerifyError};
///
/// # let token = concat!(
/// #     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
/// #     "eyJpc3MiOiJVcHN0YXNoIiwic3ViIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9hcGkvd2ViaG9vayIsImV4cCI6MTcw",
/// #     "MDAwMDMwMCwibmJmIjoxNzAwMDAwMDAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6Imp3dF9kb2NfZXhhbXBsZSIs",
/// #     "ImJvZHkiOiJrNkk1Y2FrVTVlckw4S2pTVVZUTm93bkR3Y2N2dTVrVTFIeGc4OHRvRllnIn0.",
/// #     "9okAihbDAVSCl053IO8JREl2xFv2JPLoLULgy9Q7JEc",
/// # );
/// # let now = UNIX_EPOCH + Duration::from_secs(1_700_000_100);
/// let receiver = Receiver::new("sig_current_key", "sig_next_key");
/// // `token` is the `Upstash-Signature` header; the body is not read yet.
/// let pending = receiver.verify_token_at(token, None, None, now)?;
/// // ... read the body (with a size limit), then:
/// let claims = pending.check_body(br#"{"hello":"world"}"#)?;
/// assert_eq!(claims.jti.as_deref(), Some("jwt_doc_example"));
/// # Ok::<(), VerifyError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "the body is not verified until `check_body` is called"]
pub struct PendingBody {
    claims: Claims,
}

impl PendingBody {
    /// Checks that `raw_body`, exactly as received, is the body the token
    /// was signed for (its SHA-256 hash is the `body` claim), and returns
    /// the claims.
    ///
    /// # Errors
    ///
    /// [`VerifyError::BodyHashMismatch`] if it is not.
    pub fn check_body(self, raw_body: &[u8]) -> Result<Claims, VerifyError> {
        let body_hash = URL_SAFE_NO_PAD.encode(Sha256::digest(raw_body));
        let claimed = self.claims.body.trim_end_matches('=');
        if !bool::from(claimed.as_bytes().ct_eq(body_hash.as_bytes())) {
            return Err(VerifyError::BodyHashMismatch);
        }
        Ok(self.claims)
    }
}

/// A QStash region, as named by the `Upstash-Region` header of a delivery
/// and the `QSTASH_REGION` environment variable.
///
/// ```
/// use qstash::Region;
///
/// assert_eq!(Region::parse("us-east-1"), Some(Region::UsEast1));
/// assert_eq!(Region::parse("EU_CENTRAL_1"), Some(Region::EuCentral1));
/// assert_eq!(Region::parse("../x"), None);
/// assert_eq!(Region::UsEast1.to_string(), "US_EAST_1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// `EU_CENTRAL_1` (Frankfurt).
    EuCentral1,
    /// `US_EAST_1` (Virginia).
    UsEast1,
}

impl Region {
    /// Every region, in the order of [`as_str`](Self::as_str).
    const ALL: [Region; 2] = [Region::EuCentral1, Region::UsEast1];

    /// The regions, for messages.
    const EXPECTED: &'static str = "EU_CENTRAL_1 or US_EAST_1";

    /// The region's name as in environment variables: `EU_CENTRAL_1`,
    /// `US_EAST_1`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Region::EuCentral1 => "EU_CENTRAL_1",
            Region::UsEast1 => "US_EAST_1",
        }
    }

    /// The region a header or variable names: its name in any case, with
    /// `-` or `_` between the words, surrounding spaces ignored (as
    /// qstash-js's `normalizeRegionHeader`). `None` for anything else.
    #[must_use]
    pub fn parse(name: &str) -> Option<Region> {
        let normal = name.trim().to_ascii_uppercase().replace('-', "_");
        Region::ALL.into_iter().find(|r| r.as_str() == normal)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Region {
    type Err = VerifyError;

    /// As [`Region::parse`]; the error is [`VerifyError::UnknownRegion`].
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Region::parse(name).ok_or_else(|| VerifyError::UnknownRegion {
            region: quote(name),
        })
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let regions: Vec<Region> = self.regions.iter().map(|(r, _)| *r).collect();
        f.debug_struct("Receiver")
            .field(
                "default_keys",
                &self.default_keys.as_ref().map(|_| "<redacted>"),
            )
            .field("regions", &regions)
            .field("regional", &self.regional)
            .field("dev", &self.dev)
            .field("clock_tolerance", &self.clock_tolerance)
            .finish()
    }
}

/// The claims of a verified QStash signature.
///
/// Returned by [`Receiver::verify`] once every check has passed. Times are
/// seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Claims {
    /// Issuer; always `Upstash` once verified.
    pub iss: String,
    /// Subject: the URL QStash delivered to.
    pub sub: String,
    /// Expiration time: the token is rejected from this second on.
    pub exp: u64,
    /// Not-before time: the token is rejected before this second.
    pub nbf: u64,
    /// Issued-at time, if the token has one.
    pub iat: Option<u64>,
    /// Unique token identifier, if the token has one.
    pub jti: Option<String>,
    /// Base64url SHA-256 hash of the body, as it appears in the token
    /// (possibly with `=` padding).
    pub body: String,
}

impl Claims {
    fn from_payload(payload: &Map<String, Value>) -> Result<Self, VerifyError> {
        Ok(Self {
            iss: required(payload, "iss", string_claim)?,
            sub: required(payload, "sub", string_claim)?,
            exp: required(payload, "exp", time_claim)?,
            nbf: required(payload, "nbf", time_claim)?,
            iat: optional(payload, "iat", time_claim)?,
            jti: optional(payload, "jti", string_claim)?,
            body: required(payload, "body", string_claim)?,
        })
    }
}

fn string_claim(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn time_claim(value: &Value) -> Option<u64> {
    value.as_u64()
}

fn required<T>(
    payload: &Map<String, Value>,
    name: &'static str,
    parse: fn(&Value) -> Option<T>,
) -> Result<T, VerifyError> {
    optional(payload, name, parse)?.ok_or(MalformedReason::MissingClaim(name).into())
}

fn optional<T>(
    payload: &Map<String, Value>,
    name: &'static str,
    parse: fn(&Value) -> Option<T>,
) -> Result<Option<T>, VerifyError> {
    match payload.get(name) {
        None => Ok(None),
        Some(value) => parse(value)
            .map(Some)
            .ok_or(MalformedReason::InvalidClaim(name).into()),
    }
}

fn decode_json_object(part_b64: &str, part: TokenPart) -> Result<Map<String, Value>, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part_b64)
        .map_err(|_| MalformedReason::InvalidBase64(part))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(MalformedReason::InvalidJson(part).into()),
    }
}

fn check_header(header: &Map<String, Value>) -> Result<(), VerifyError> {
    match header.get("alg") {
        None => return Err(MalformedReason::MissingHeaderField("alg").into()),
        Some(Value::String(alg)) if alg == ALGORITHM => {}
        Some(Value::String(alg)) => {
            return Err(MalformedReason::UnsupportedAlgorithm(quote(alg)).into());
        }
        Some(_) => return Err(MalformedReason::InvalidHeaderField("alg").into()),
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
        Some(Value::String(typ)) => {
            return Err(MalformedReason::UnsupportedType(quote(typ)).into());
        }
        Some(_) => return Err(MalformedReason::InvalidHeaderField("typ").into()),
    }
    if header.contains_key("crit") {
        return Err(MalformedReason::CriticalHeader.into());
    }
    Ok(())
}

/// Truncates an attacker-controlled string before it is kept for an error.
fn quote(value: &str) -> String {
    value.chars().take(MAX_QUOTED_CHARS).collect()
}

/// Why a delivery failed verification.
///
/// Each variant names the check that failed. Messages never contain the
/// signing keys or the token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The request has no `Upstash-Signature` header.
    MissingSignature,
    /// The token is not a well-formed QStash JWT.
    Malformed(MalformedReason),
    /// The signature matches neither the current nor the next signing key.
    InvalidSignature,
    /// The `iss` claim is not `Upstash`.
    InvalidIssuer {
        /// The issuer found in the token.
        issuer: String,
    },
    /// The `sub` claim is not the expected URL.
    SubjectMismatch {
        /// The URL given to `verify`.
        expected: String,
        /// The `sub` claim of the token.
        actual: String,
    },
    /// The token expired (its `exp` claim, plus the clock tolerance, has
    /// passed).
    Expired {
        /// The `exp` claim, in seconds since the Unix epoch.
        exp: u64,
    },
    /// The token is not valid yet (its `nbf` claim, minus the clock
    /// tolerance, is still to come).
    NotYetValid {
        /// The `nbf` claim, in seconds since the Unix epoch.
        nbf: u64,
    },
    /// The `body` claim is not the hash of the body received.
    BodyHashMismatch,
    /// An environment variable read by [`Receiver::from_env`] is unset,
    /// empty, or not valid Unicode.
    MissingEnv(&'static str),
    /// The environment read by [`Receiver::from_env`] cannot be understood:
    /// the message names the variable and what is wrong with it.
    InvalidEnv(String),
    /// A receiver with regional keys got an `Upstash-Region` header that
    /// names no known region (or several headers); it is refused rather than
    /// verified with keys that were not meant for it.
    UnknownRegion {
        /// The header's value (truncated to 32 characters).
        region: String,
    },
    /// The receiver has no keys for this delivery: the region named by its
    /// `Upstash-Region` header (or the absent header) has no keys of its
    /// own, and the receiver has no default pair.
    NoSigningKeys {
        /// The region named by the delivery, if any.
        region: Option<Region>,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSignature => write!(f, "missing {SIGNATURE_HEADER} header"),
            Self::Malformed(reason) => write!(f, "malformed QStash signature: {reason}"),
            Self::InvalidSignature => {
                f.write_str("QStash signature does not match the current or the next signing key")
            }
            Self::InvalidIssuer { issuer } => {
                write!(
                    f,
                    "QStash signature has issuer {issuer:?}, expected {ISSUER:?}"
                )
            }
            Self::SubjectMismatch { expected, actual } => write!(
                f,
                "QStash signature is for URL {actual:?}, expected {expected:?}"
            ),
            Self::Expired { exp } => write!(f, "QStash signature expired (exp {exp})"),
            Self::NotYetValid { nbf } => {
                write!(f, "QStash signature is not valid yet (nbf {nbf})")
            }
            Self::BodyHashMismatch => {
                f.write_str("body does not match the hash in the QStash signature")
            }
            Self::MissingEnv(var) => {
                write!(
                    f,
                    "environment variable {var} is not set, empty, or not valid Unicode"
                )
            }
            Self::InvalidEnv(message) => f.write_str(message),
            Self::UnknownRegion { region } => write!(
                f,
                "{REGION_HEADER} header {region:?} names no known region (expected {})",
                Region::EXPECTED
            ),
            Self::NoSigningKeys {
                region: Some(region),
            } => write!(
                f,
                "no signing keys for deliveries from region {region}, and no default pair"
            ),
            Self::NoSigningKeys { region: None } => write!(
                f,
                "no default signing keys for a delivery without an {REGION_HEADER} header"
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<MalformedReason> for VerifyError {
    fn from(reason: MalformedReason) -> Self {
        Self::Malformed(reason)
    }
}

/// Why a token is malformed; carried by [`VerifyError::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedReason {
    /// The token does not have exactly three `.`-separated parts.
    NotThreeParts,
    /// A part is not valid unpadded base64url.
    InvalidBase64(TokenPart),
    /// The header or payload is not a JSON object.
    InvalidJson(TokenPart),
    /// A required header parameter (`alg`) is missing.
    MissingHeaderField(&'static str),
    /// A header parameter has the wrong JSON type.
    InvalidHeaderField(&'static str),
    /// The header's `alg` is not `HS256`. Holds the algorithm found
    /// (truncated to 32 characters).
    UnsupportedAlgorithm(String),
    /// The header's `typ` is present but not `JWT`. Holds the type found
    /// (truncated to 32 characters).
    UnsupportedType(String),
    /// The header has a `crit` parameter; no extensions are supported.
    CriticalHeader,
    /// A required claim (`iss`, `sub`, `exp`, `nbf` or `body`) is missing.
    MissingClaim(&'static str),
    /// A claim has the wrong type: `iss`, `sub`, `jti` and `body` must be
    /// strings; `exp`, `nbf` and `iat` non-negative integers.
    InvalidClaim(&'static str),
    /// The `Upstash-Signature` header value is not visible ASCII.
    InvalidHeaderValue,
    /// The request has more than one `Upstash-Signature` header.
    MultipleSignatureHeaders,
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotThreeParts => f.write_str("token does not have three parts"),
            Self::InvalidBase64(part) => write!(f, "token {part} is not valid base64url"),
            Self::InvalidJson(part) => write!(f, "token {part} is not a JSON object"),
            Self::MissingHeaderField(name) => write!(f, "missing header parameter {name}"),
            Self::InvalidHeaderField(name) => {
                write!(f, "header parameter {name} has the wrong type")
            }
            Self::UnsupportedAlgorithm(alg) => {
                write!(f, "unsupported algorithm {alg:?}, expected {ALGORITHM:?}")
            }
            Self::UnsupportedType(typ) => write!(f, "unsupported token type {typ:?}"),
            Self::CriticalHeader => f.write_str("unsupported crit header parameter"),
            Self::MissingClaim(name) => write!(f, "missing claim {name}"),
            Self::InvalidClaim(name) => write!(f, "claim {name} has the wrong type"),
            Self::InvalidHeaderValue => {
                write!(f, "{SIGNATURE_HEADER} header is not visible ASCII")
            }
            Self::MultipleSignatureHeaders => {
                write!(f, "more than one {SIGNATURE_HEADER} header")
            }
        }
    }
}

/// A part of a JWT, as named in [`MalformedReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPart {
    /// The first part: the JOSE header.
    Header,
    /// The second part: the claims.
    Payload,
    /// The third part: the HMAC.
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Receiver>();
        assert_send_sync::<VerifyError>();
    }

    #[test]
    fn quote_truncates_by_chars() {
        assert_eq!(quote("HS512"), "HS512");
        let long = "é".repeat(100);
        assert_eq!(quote(&long).chars().count(), MAX_QUOTED_CHARS);
    }

    #[test]
    fn empty_keys_never_verify() {
        let signed = b"header.payload";
        let mac = HmacSha256::new_from_slice(b"")
            .unwrap()
            .chain_update(signed)
            .finalize()
            .into_bytes();
        assert!(!KeyPair::new("", "").signed(signed, &mac));
        assert!(
            KeyPair::new("", "k").signed(
                signed,
                &HmacSha256::new_from_slice(b"k")
                    .unwrap()
                    .chain_update(signed)
                    .finalize()
                    .into_bytes()
            )
        );
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let receiver = Receiver::new("k", "k").with_clock_tolerance(Duration::MAX);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(
            serde_json::json!({
                "iss": "Upstash", "sub": "u", "exp": u64::MAX, "nbf": u64::MAX,
                "body": URL_SAFE_NO_PAD.encode(Sha256::digest(b"")),
            })
            .to_string(),
        );
        let signed = format!("{header}.{payload}");
        let mac = HmacSha256::new_from_slice(b"k")
            .unwrap()
            .chain_update(signed.as_bytes())
            .finalize()
            .into_bytes();
        let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac));
        let before_epoch = UNIX_EPOCH - Duration::from_secs(10);
        assert!(receiver.verify_at(&token, b"", None, before_epoch).is_ok());
        let strict = Receiver::new("k", "k");
        assert_eq!(
            strict.verify_at(&token, b"", None, before_epoch),
            Err(VerifyError::NotYetValid { nbf: u64::MAX })
        );
    }
}
