//! Tests of `qstash::receiver`: tokens are signed here with hmac/sha2/base64
//! directly, independently of the receiver's code.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use qstash::{Claims, MalformedReason, Receiver, Region, TokenPart, VerifyError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

const CURRENT: &str = "sig_test_current_7f3a9c1e";
const NEXT: &str = "sig_test_next_2b8e41d0";
const OTHER: &str = "sig_test_other_d05c66a9";
const URL: &str = "https://example.com/api/qstash";
const BODY: &[u8] = br#"{"hello":"world"}"#;
const IAT: u64 = 1_700_000_000;
const NBF: u64 = IAT;
const EXP: u64 = IAT + 300;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A moment well inside the validity window of the default claims.
fn now() -> SystemTime {
    at(IAT + 60)
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn body_hash(body: &[u8]) -> String {
    b64(Sha256::digest(body))
}

fn header() -> Value {
    json!({ "alg": "HS256", "typ": "JWT" })
}

fn claims_for(body: &[u8]) -> Value {
    json!({
        "iss": "Upstash",
        "sub": URL,
        "exp": EXP,
        "nbf": NBF,
        "iat": IAT,
        "jti": "jwt_2x7dYc9kQ",
        "body": body_hash(body),
    })
}

fn claims() -> Value {
    claims_for(BODY)
}

fn hs256(key: &str, signing_input: &str) -> String {
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap()
        .chain_update(signing_input.as_bytes())
        .finalize()
        .into_bytes();
    b64(mac)
}

/// Encodes header and claims and signs them with HMAC-SHA256 under `key`.
fn sign_with(header: &Value, claims: &Value, key: &str) -> String {
    let signing_input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = hs256(key, &signing_input);
    format!("{signing_input}.{signature}")
}

fn sign(claims: &Value, key: &str) -> String {
    sign_with(&header(), claims, key)
}

fn receiver() -> Receiver {
    Receiver::new(CURRENT, NEXT)
}

fn without(claim: &str) -> Value {
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove(claim);
    claims
}

fn with(claim: &str, value: Value) -> Value {
    let mut claims = claims();
    claims[claim] = value;
    claims
}

fn verify(token: &str) -> Result<Claims, VerifyError> {
    receiver().verify_at(token, BODY, Some(URL), now())
}

fn malformed(result: Result<Claims, VerifyError>) -> MalformedReason {
    match result {
        Err(VerifyError::Malformed(reason)) => reason,
        other => panic!("expected VerifyError::Malformed, got {other:?}"),
    }
}

// --- valid deliveries -------------------------------------------------------

#[test]
fn valid_with_current_key() {
    let claims = verify(&sign(&claims(), CURRENT)).unwrap();
    assert_eq!(claims.iss, "Upstash");
    assert_eq!(claims.sub, URL);
    assert_eq!(claims.exp, EXP);
    assert_eq!(claims.nbf, NBF);
    assert_eq!(claims.iat, Some(IAT));
    assert_eq!(claims.jti.as_deref(), Some("jwt_2x7dYc9kQ"));
    assert_eq!(claims.body, body_hash(BODY));
}

#[test]
fn valid_with_next_key_only() {
    let token = sign(&claims(), NEXT);
    // The current key does not match, so this can only pass through the next key.
    assert_eq!(
        Receiver::new(OTHER, CURRENT).verify_at(&token, BODY, Some(URL), now()),
        Err(VerifyError::InvalidSignature)
    );
    let claims = verify(&token).unwrap();
    assert_eq!(claims.sub, URL);
}

#[test]
fn valid_without_optional_claims() {
    let mut claims = without("iat");
    claims.as_object_mut().unwrap().remove("jti");
    let claims = verify(&sign(&claims, CURRENT)).unwrap();
    assert_eq!(claims.iat, None);
    assert_eq!(claims.jti, None);
}

#[test]
fn header_without_typ_or_with_lowercase_typ_is_accepted() {
    let token = sign_with(&json!({ "alg": "HS256" }), &claims(), CURRENT);
    assert!(verify(&token).is_ok());
    let token = sign_with(&json!({ "alg": "HS256", "typ": "jwt" }), &claims(), CURRENT);
    assert!(verify(&token).is_ok());
}

#[test]
fn unknown_claims_are_ignored() {
    let token = sign(&with("aud", json!("someone")), CURRENT);
    assert!(verify(&token).is_ok());
}

#[test]
fn verify_uses_the_system_clock() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = claims();
    claims["nbf"] = json!(now - 10);
    claims["iat"] = json!(now - 10);
    claims["exp"] = json!(now + 300);
    let token = sign(&claims, CURRENT);
    assert!(receiver().verify(&token, BODY, Some(URL)).is_ok());
    // The fixed-time default claims expired long ago.
    assert_eq!(
        receiver().verify(&sign(&self::claims(), CURRENT), BODY, Some(URL)),
        Err(VerifyError::Expired { exp: EXP })
    );
}

// --- body -------------------------------------------------------------------

#[test]
fn tampered_body() {
    let token = sign(&claims(), CURRENT);
    assert_eq!(
        receiver().verify_at(&token, br#"{"hello":"mallory"}"#, Some(URL), now()),
        Err(VerifyError::BodyHashMismatch)
    );
    assert_eq!(
        receiver().verify_at(&token, b"", Some(URL), now()),
        Err(VerifyError::BodyHashMismatch)
    );
}

#[test]
fn empty_body() {
    let token = sign(&claims_for(b""), CURRENT);
    let claims = receiver().verify_at(&token, b"", Some(URL), now()).unwrap();
    // SHA-256 of no bytes.
    assert_eq!(claims.body, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    assert_eq!(
        receiver().verify_at(&token, b" ", Some(URL), now()),
        Err(VerifyError::BodyHashMismatch)
    );
}

#[test]
fn body_claim_with_and_without_padding() {
    let unpadded = body_hash(BODY);
    assert!(!unpadded.ends_with('='));
    assert!(verify(&sign(&with("body", json!(unpadded)), CURRENT)).is_ok());

    let padded = format!("{unpadded}=");
    let claims = verify(&sign(&with("body", json!(padded)), CURRENT)).unwrap();
    assert_eq!(claims.body, padded, "the claim is returned as found");

    // Standard (non-URL-safe) base64 of a hash is not accepted: the hash of
    // the empty body has both `-` and `_` in base64url.
    let standard = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b""));
    assert_eq!(standard, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    let mut claims = claims_for(b"");
    claims["body"] = json!(standard);
    assert_eq!(
        receiver().verify_at(&sign(&claims, CURRENT), b"", Some(URL), now()),
        Err(VerifyError::BodyHashMismatch)
    );
}

// --- subject ----------------------------------------------------------------

#[test]
fn wrong_url() {
    let token = sign(&claims(), CURRENT);
    let other = "https://example.com/api/other";
    assert_eq!(
        receiver().verify_at(&token, BODY, Some(other), now()),
        Err(VerifyError::SubjectMismatch {
            expected: other.to_owned(),
            actual: URL.to_owned(),
        })
    );
    // Exact comparison: no normalisation of a trailing slash.
    assert!(matches!(
        receiver().verify_at(&token, BODY, Some(&format!("{URL}/")), now()),
        Err(VerifyError::SubjectMismatch { .. })
    ));
}

#[test]
fn no_url_given_does_not_check_sub() {
    let token = sign(
        &with("sub", json!("https://elsewhere.example/hook")),
        CURRENT,
    );
    let claims = receiver().verify_at(&token, BODY, None, now()).unwrap();
    assert_eq!(claims.sub, "https://elsewhere.example/hook");
    assert!(matches!(
        receiver().verify_at(&token, BODY, Some(URL), now()),
        Err(VerifyError::SubjectMismatch { .. })
    ));
}

// --- time -------------------------------------------------------------------

#[test]
fn expired() {
    let token = sign(&claims(), CURRENT);
    for time in [at(EXP), at(EXP) + Duration::from_millis(1), at(EXP + 3600)] {
        assert_eq!(
            receiver().verify_at(&token, BODY, Some(URL), time),
            Err(VerifyError::Expired { exp: EXP })
        );
    }
    // Just before `exp` the token is still good.
    let time = at(EXP) - Duration::from_millis(1);
    assert!(receiver().verify_at(&token, BODY, Some(URL), time).is_ok());
}

#[test]
fn not_yet_valid() {
    let token = sign(&claims(), CURRENT);
    for time in [at(NBF) - Duration::from_millis(1), at(NBF - 1), at(0)] {
        assert_eq!(
            receiver().verify_at(&token, BODY, Some(URL), time),
            Err(VerifyError::NotYetValid { nbf: NBF })
        );
    }
    // From `nbf` on the token is good.
    assert!(
        receiver()
            .verify_at(&token, BODY, Some(URL), at(NBF))
            .is_ok()
    );
}

#[test]
fn just_inside_the_tolerance_on_the_exp_side() {
    let token = sign(&claims(), CURRENT);
    let receiver = receiver().with_clock_tolerance(Duration::from_secs(5));
    let just_inside = at(EXP + 5) - Duration::from_millis(1);
    assert!(receiver.verify_at(&token, BODY, Some(URL), at(EXP)).is_ok());
    assert!(
        receiver
            .verify_at(&token, BODY, Some(URL), just_inside)
            .is_ok()
    );
    assert_eq!(
        receiver.verify_at(&token, BODY, Some(URL), at(EXP + 5)),
        Err(VerifyError::Expired { exp: EXP })
    );
}

#[test]
fn just_inside_the_tolerance_on_the_nbf_side() {
    let token = sign(&claims(), CURRENT);
    let receiver = receiver().with_clock_tolerance(Duration::from_secs(5));
    assert!(
        receiver
            .verify_at(&token, BODY, Some(URL), at(NBF - 1))
            .is_ok()
    );
    assert!(
        receiver
            .verify_at(&token, BODY, Some(URL), at(NBF - 5))
            .is_ok()
    );
    assert_eq!(
        receiver.verify_at(
            &token,
            BODY,
            Some(URL),
            at(NBF - 5) - Duration::from_millis(1)
        ),
        Err(VerifyError::NotYetValid { nbf: NBF })
    );
}

#[test]
fn default_clock_tolerance_is_zero() {
    assert_eq!(receiver().clock_tolerance(), Duration::ZERO);
}

// --- issuer and claims ------------------------------------------------------

#[test]
fn wrong_issuer() {
    for issuer in ["upstash", "Upstash ", "Mallory", ""] {
        let token = sign(&with("iss", json!(issuer)), CURRENT);
        assert_eq!(
            verify(&token),
            Err(VerifyError::InvalidIssuer {
                issuer: issuer.to_owned()
            })
        );
    }
}

#[test]
fn missing_claims() {
    for claim in ["exp", "nbf", "iss", "body", "sub"] {
        let token = sign(&without(claim), CURRENT);
        assert_eq!(
            malformed(verify(&token)),
            MalformedReason::MissingClaim(claim),
            "claim {claim}"
        );
        // Also when no URL is given.
        assert_eq!(
            malformed(receiver().verify_at(&token, BODY, None, now())),
            MalformedReason::MissingClaim(claim)
        );
    }
}

#[test]
fn null_claims_are_the_wrong_type() {
    for claim in ["exp", "nbf", "iss", "body", "sub", "iat", "jti"] {
        let token = sign(&with(claim, Value::Null), CURRENT);
        assert_eq!(
            malformed(verify(&token)),
            MalformedReason::InvalidClaim(claim)
        );
    }
}

#[test]
fn claims_of_the_wrong_type() {
    let cases = [
        ("exp", json!(EXP.to_string())),
        ("exp", json!(-1)),
        ("exp", json!(1.7e9)),
        ("nbf", json!(true)),
        ("iat", json!("yesterday")),
        ("iss", json!(["Upstash"])),
        ("sub", json!({ "url": URL })),
        ("body", json!(42)),
        ("jti", json!(7)),
    ];
    for (claim, value) in cases {
        let token = sign(&with(claim, value.clone()), CURRENT);
        assert_eq!(
            malformed(verify(&token)),
            MalformedReason::InvalidClaim(claim),
            "{claim} = {value}"
        );
    }
}

// --- header -----------------------------------------------------------------

#[test]
fn alg_none_with_empty_signature() {
    let header = b64(json!({ "alg": "none", "typ": "JWT" }).to_string());
    let payload = b64(claims().to_string());
    let token = format!("{header}.{payload}.");
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::UnsupportedAlgorithm("none".to_owned())
    );
    // Also with a signature that is valid HS256 under the current key.
    let token = sign_with(&json!({ "alg": "none" }), &claims(), CURRENT);
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::UnsupportedAlgorithm("none".to_owned())
    );
}

#[test]
fn hs512_is_rejected() {
    let header = json!({ "alg": "HS512", "typ": "JWT" });
    let signing_input = format!("{}.{}", b64(header.to_string()), b64(claims().to_string()));
    let mac = Hmac::<Sha512>::new_from_slice(CURRENT.as_bytes())
        .unwrap()
        .chain_update(signing_input.as_bytes())
        .finalize()
        .into_bytes();
    let token = format!("{signing_input}.{}", b64(mac));
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::UnsupportedAlgorithm("HS512".to_owned())
    );
}

#[test]
fn other_algorithms_are_rejected() {
    for alg in ["hs256", "HS384", "RS256", "ES256", "HS256 ", ""] {
        let token = sign_with(&json!({ "alg": alg }), &claims(), CURRENT);
        assert_eq!(
            malformed(verify(&token)),
            MalformedReason::UnsupportedAlgorithm(alg.to_owned())
        );
    }
    let long = "A".repeat(1000);
    let token = sign_with(&json!({ "alg": long }), &claims(), CURRENT);
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::UnsupportedAlgorithm("A".repeat(32))
    );
}

#[test]
fn missing_or_mistyped_alg() {
    let token = sign_with(&json!({ "typ": "JWT" }), &claims(), CURRENT);
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::MissingHeaderField("alg")
    );
    let token = sign_with(&json!({ "alg": 256 }), &claims(), CURRENT);
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::InvalidHeaderField("alg")
    );
}

#[test]
fn typ_other_than_jwt_is_rejected() {
    let token = sign_with(&json!({ "alg": "HS256", "typ": "JWE" }), &claims(), CURRENT);
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::UnsupportedType("JWE".to_owned())
    );
    let token = sign_with(&json!({ "alg": "HS256", "typ": 1 }), &claims(), CURRENT);
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::InvalidHeaderField("typ")
    );
}

#[test]
fn crit_header_is_rejected() {
    let header = json!({ "alg": "HS256", "crit": ["b64"], "b64": false });
    let token = sign_with(&header, &claims(), CURRENT);
    assert_eq!(malformed(verify(&token)), MalformedReason::CriticalHeader);
}

// --- signature --------------------------------------------------------------

#[test]
fn signed_with_a_key_that_is_neither() {
    let token = sign(&claims(), OTHER);
    assert_eq!(verify(&token), Err(VerifyError::InvalidSignature));
}

#[test]
fn receiver_with_empty_keys_rejects_tokens_signed_with_the_empty_key() {
    let token = sign(&claims(), "");
    assert_eq!(
        Receiver::new("", "").verify_at(&token, BODY, Some(URL), now()),
        Err(VerifyError::InvalidSignature)
    );
}

#[test]
fn tampered_payload_or_signature() {
    let token = sign(&claims(), CURRENT);
    let (header, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();

    // Payload swapped for one with another body hash, signature kept.
    let forged = b64(claims_for(b"forged").to_string());
    let token2 = format!("{header}.{forged}.{signature}");
    assert_eq!(verify(&token2), Err(VerifyError::InvalidSignature));

    // Truncated signature.
    let token3 = format!(
        "{header}.{}.{}",
        b64(claims().to_string()),
        &signature[..20]
    );
    assert_eq!(verify(&token3), Err(VerifyError::InvalidSignature));

    // Empty signature.
    let token4 = format!("{header}.{}.", b64(claims().to_string()));
    assert_eq!(verify(&token4), Err(VerifyError::InvalidSignature));

    // Signature of another header.
    let other = sign_with(&json!({ "alg": "HS256" }), &claims(), CURRENT);
    let other_signature = other.rsplit_once('.').unwrap().1;
    let token5 = format!("{header}.{}.{other_signature}", b64(claims().to_string()));
    assert_eq!(verify(&token5), Err(VerifyError::InvalidSignature));
}

#[test]
fn padded_or_non_url_safe_base64_is_malformed() {
    let token = sign(&claims(), CURRENT);
    assert_eq!(
        malformed(verify(&format!("{token}="))),
        MalformedReason::InvalidBase64(TokenPart::Signature)
    );
    // `{"alg": "HS256"}` (16 bytes) encodes with padding.
    let padded_header = base64::engine::general_purpose::URL_SAFE.encode(r#"{"alg": "HS256"}"#);
    assert!(padded_header.ends_with('='));
    let signing_input = format!("{padded_header}.{}", b64(claims().to_string()));
    let token = format!("{signing_input}.{}", hs256(CURRENT, &signing_input));
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::InvalidBase64(TokenPart::Header)
    );
    // `+` and `/` belong to standard base64, not base64url.
    let signed = sign(&claims(), CURRENT);
    let (signing_input, signature) = signed.rsplit_once('.').unwrap();
    let token = format!("{signing_input}.{}+", &signature[..signature.len() - 1]);
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::InvalidBase64(TokenPart::Signature)
    );
}

#[test]
fn validly_signed_garbage_payload() {
    let header = b64(header().to_string());
    let input = format!("{header}.not*base64");
    let token = format!("{input}.{}", hs256(CURRENT, &input));
    assert_eq!(
        malformed(verify(&token)),
        MalformedReason::InvalidBase64(TokenPart::Payload)
    );
    for payload in ["not json", "[1,2,3]", "\"Upstash\"", "null", ""] {
        let input = format!("{header}.{}", b64(payload));
        let token = format!("{input}.{}", hs256(CURRENT, &input));
        assert_eq!(
            malformed(verify(&token)),
            MalformedReason::InvalidJson(TokenPart::Payload),
            "payload {payload:?}"
        );
    }
}

// --- malformed tokens -------------------------------------------------------

#[test]
fn garbage_header_value() {
    let cases = [
        ("not a jwt", MalformedReason::NotThreeParts),
        ("Bearer abc", MalformedReason::NotThreeParts),
        ("a.b.c", MalformedReason::InvalidBase64(TokenPart::Header)),
        (
            "!!!.???.###",
            MalformedReason::InvalidBase64(TokenPart::Header),
        ),
        ("..", MalformedReason::InvalidJson(TokenPart::Header)),
        (
            "héllo.wörld.ß",
            MalformedReason::InvalidBase64(TokenPart::Header),
        ),
    ];
    for (token, reason) in cases {
        assert_eq!(malformed(verify(token)), reason, "token {token:?}");
    }
    // Valid base64url, but not a JSON object.
    for header in ["garbage", "[]", "42", "\"HS256\"", "{\"alg\":"] {
        let token = format!("{}.{}.", b64(header), b64(claims().to_string()));
        assert_eq!(
            malformed(verify(&token)),
            MalformedReason::InvalidJson(TokenPart::Header),
            "header {header:?}"
        );
    }
}

#[test]
fn wrong_number_of_parts() {
    let token = sign(&claims(), CURRENT);
    let (two_parts, _) = token.rsplit_once('.').unwrap();
    let (one_part, _) = token.split_once('.').unwrap();
    let cases = [
        String::new(),
        ".".to_owned(),
        "...".to_owned(),
        one_part.to_owned(),
        two_parts.to_owned(),
        format!("{token}."),
        format!("{token}.{token}"),
        format!(".{token}"),
    ];
    for case in &cases {
        assert_eq!(
            malformed(verify(case)),
            MalformedReason::NotThreeParts,
            "token {case:?}"
        );
    }
}

#[test]
fn odd_inputs_never_panic() {
    let token = sign(&claims(), CURRENT);
    let mut inputs: Vec<String> = vec![
        "\0".into(),
        "\u{feff}".into(),
        ".".repeat(10_000),
        "a".repeat(100_000),
        format!(" {token}"),
        format!("{token} "),
        token.replace('.', "\u{2024}"),
    ];
    for len in 0..token.len() {
        if token.is_char_boundary(len) {
            inputs.push(token[..len].to_owned());
        }
    }
    for input in &inputs {
        for body in [&b""[..], BODY, &[0xff, 0xfe]] {
            for url in [None, Some(""), Some(URL)] {
                assert!(receiver().verify_at(input, body, url, now()).is_err());
                assert!(receiver().verify_at(input, body, url, UNIX_EPOCH).is_err());
            }
        }
    }
    let extreme = Receiver::new(CURRENT, NEXT).with_clock_tolerance(Duration::MAX);
    assert!(
        extreme
            .verify_at(&token, BODY, Some(URL), at(EXP + 1_000_000_000))
            .is_ok()
    );
    assert!(
        extreme
            .verify_at(&token, BODY, Some(URL), UNIX_EPOCH)
            .is_ok()
    );
}

// --- verify_request ---------------------------------------------------------

#[test]
fn verify_request_with_header() {
    let token = sign(&claims(), CURRENT);
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("upstash-signature", HeaderValue::from_str(&token).unwrap());
    let claims = receiver()
        .verify_request_at(&headers, BODY, Some(URL), now())
        .unwrap();
    assert_eq!(claims.sub, URL);
    // The header name is case-insensitive.
    let mut headers = HeaderMap::new();
    headers.insert("Upstash-Signature", HeaderValue::from_str(&token).unwrap());
    assert!(
        receiver()
            .verify_request_at(&headers, BODY, Some(URL), now())
            .is_ok()
    );
    // The checks of `verify` apply.
    assert_eq!(
        receiver().verify_request_at(&headers, b"tampered", Some(URL), now()),
        Err(VerifyError::BodyHashMismatch)
    );
}

#[test]
fn verify_request_uses_the_system_clock() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = claims();
    claims["nbf"] = json!(now - 10);
    claims["exp"] = json!(now + 300);
    let mut headers = HeaderMap::new();
    let token = sign(&claims, NEXT);
    headers.insert("upstash-signature", HeaderValue::from_str(&token).unwrap());
    assert!(receiver().verify_request(&headers, BODY, Some(URL)).is_ok());
}

#[test]
fn verify_request_without_header() {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    assert_eq!(
        receiver().verify_request(&headers, BODY, Some(URL)),
        Err(VerifyError::MissingSignature)
    );
    assert_eq!(
        receiver().verify_request(&HeaderMap::new(), BODY, None),
        Err(VerifyError::MissingSignature)
    );
}

#[test]
fn verify_request_with_two_headers() {
    let token = sign(&claims(), CURRENT);
    let mut headers = HeaderMap::new();
    headers.append("upstash-signature", HeaderValue::from_str(&token).unwrap());
    headers.append("upstash-signature", HeaderValue::from_str(&token).unwrap());
    assert_eq!(
        malformed(receiver().verify_request_at(&headers, BODY, Some(URL), now())),
        MalformedReason::MultipleSignatureHeaders
    );
}

#[test]
fn verify_request_with_non_ascii_header() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "upstash-signature",
        HeaderValue::from_bytes(b"abc.\xe9\xff.def").unwrap(),
    );
    assert_eq!(
        malformed(receiver().verify_request_at(&headers, BODY, Some(URL), now())),
        MalformedReason::InvalidHeaderValue
    );
}

#[test]
fn verify_request_with_empty_header() {
    let mut headers = HeaderMap::new();
    headers.insert("upstash-signature", HeaderValue::from_static(""));
    assert_eq!(
        malformed(receiver().verify_request_at(&headers, BODY, Some(URL), now())),
        MalformedReason::NotThreeParts
    );
}

// --- secrets never leak -----------------------------------------------------

#[test]
fn receiver_debug_redacts_keys() {
    let receiver = receiver().with_clock_tolerance(Duration::from_secs(3));
    for debug in [format!("{receiver:?}"), format!("{receiver:#?}")] {
        assert!(!debug.contains(CURRENT), "{debug}");
        assert!(!debug.contains(NEXT), "{debug}");
        assert!(!debug.contains("sig_test"), "{debug}");
        assert_eq!(debug.matches("<redacted>").count(), 1, "{debug}");
        assert!(debug.contains("clock_tolerance"), "{debug}");
    }
}

#[test]
fn errors_never_echo_token_or_keys() {
    let valid = claims();
    let hs512_header = json!({ "alg": "HS512" });
    let none_header = json!({ "alg": "none" });
    let tokens = [
        sign(&valid, OTHER),
        sign(&with("iss", json!("Mallory")), CURRENT),
        sign(&with("sub", json!("https://elsewhere.example")), CURRENT),
        sign(&with("exp", json!(IAT)), CURRENT),
        sign(&with("nbf", json!(EXP)), NEXT),
        sign(&with("body", json!(body_hash(b"x"))), CURRENT),
        sign(&without("exp"), CURRENT),
        sign(&with("nbf", json!("soon")), CURRENT),
        sign_with(&hs512_header, &valid, CURRENT),
        sign_with(&none_header, &valid, CURRENT),
        format!("{}=", sign(&valid, CURRENT)),
        sign(&valid, CURRENT).replacen('.', "", 1),
        format!("{}.x", sign(&valid, CURRENT)),
    ];
    let mut errors = Vec::new();
    for token in &tokens {
        let err = receiver()
            .verify_at(token, BODY, Some(URL), now())
            .expect_err(token);
        errors.push((token.clone(), err));
    }
    let mut headers = HeaderMap::new();
    errors.push((
        String::new(),
        receiver().verify_request(&headers, BODY, None).unwrap_err(),
    ));
    headers.append(
        "upstash-signature",
        HeaderValue::from_str(&tokens[0]).unwrap(),
    );
    headers.append(
        "upstash-signature",
        HeaderValue::from_str(&tokens[1]).unwrap(),
    );
    errors.push((
        tokens[0].clone(),
        receiver().verify_request(&headers, BODY, None).unwrap_err(),
    ));
    errors.push((
        String::new(),
        VerifyError::MissingEnv("QSTASH_CURRENT_SIGNING_KEY"),
    ));
    let regional = receiver().with_region(Region::UsEast1, OTHER, OTHER);
    errors.push((
        tokens[0].clone(),
        regional
            .verify_token_at(&tokens[0], Some("mars-1"), None, now())
            .unwrap_err(),
    ));
    let only_us = Receiver::from_env_with(env(&[
        ("QSTASH_REGION", "us-east-1"),
        ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", CURRENT),
        ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", NEXT),
    ]))
    .unwrap();
    let token = sign(&claims(), CURRENT);
    errors.push((
        token.clone(),
        only_us.verify_at(&token, BODY, None, now()).unwrap_err(),
    ));
    errors.push((
        String::new(),
        Receiver::from_env_with(env(&[("QSTASH_DEV", "maybe")])).unwrap_err(),
    ));

    let mut kinds = std::collections::HashSet::new();
    for (token, err) in &errors {
        let display = err.to_string();
        let debug = format!("{err:?}");
        kinds.insert(std::mem::discriminant(err));
        for text in [&display, &debug] {
            assert!(!text.is_empty());
            assert!(!text.contains(CURRENT), "{text}");
            assert!(!text.contains(NEXT), "{text}");
            assert!(!text.contains(OTHER), "{text}");
            if !token.is_empty() {
                assert!(!text.contains(token.as_str()), "{text}");
                for part in token.split('.').filter(|part| part.len() > 8) {
                    assert!(!text.contains(part), "{text} contains {part}");
                }
            }
        }
    }
    // Every variant was exercised.
    assert_eq!(kinds.len(), 12, "{errors:#?}");
}

#[test]
fn error_messages_name_the_failed_check() {
    let cases = [
        (VerifyError::MissingSignature, "Upstash-Signature"),
        (VerifyError::InvalidSignature, "signing key"),
        (
            VerifyError::InvalidIssuer {
                issuer: "Mallory".into(),
            },
            "Mallory",
        ),
        (
            VerifyError::SubjectMismatch {
                expected: URL.into(),
                actual: "https://other.example".into(),
            },
            "https://other.example",
        ),
        (VerifyError::Expired { exp: EXP }, "expired"),
        (VerifyError::NotYetValid { nbf: NBF }, "not valid yet"),
        (VerifyError::BodyHashMismatch, "body"),
        (
            VerifyError::MissingEnv("QSTASH_NEXT_SIGNING_KEY"),
            "QSTASH_NEXT_SIGNING_KEY",
        ),
        (
            VerifyError::InvalidEnv("QSTASH_REGION is odd".into()),
            "QSTASH_REGION is odd",
        ),
        (
            VerifyError::UnknownRegion {
                region: "mars-1".into(),
            },
            "Upstash-Region header \"mars-1\" names no known region (expected EU_CENTRAL_1 or US_EAST_1)",
        ),
        (
            VerifyError::NoSigningKeys {
                region: Some(Region::EuCentral1),
            },
            "no signing keys for deliveries from region EU_CENTRAL_1",
        ),
        (
            VerifyError::NoSigningKeys { region: None },
            "without an Upstash-Region header",
        ),
        (MalformedReason::NotThreeParts.into(), "three parts"),
        (
            MalformedReason::InvalidBase64(TokenPart::Payload).into(),
            "payload is not valid base64url",
        ),
        (
            MalformedReason::InvalidJson(TokenPart::Header).into(),
            "header is not a JSON object",
        ),
        (
            MalformedReason::MissingClaim("exp").into(),
            "missing claim exp",
        ),
        (
            MalformedReason::UnsupportedAlgorithm("HS512".into()).into(),
            "unsupported algorithm \"HS512\"",
        ),
    ];
    for (err, needle) in cases {
        let display = err.to_string();
        assert!(display.contains(needle), "{display:?} lacks {needle:?}");
        let as_error: &dyn std::error::Error = &err;
        assert!(as_error.source().is_none());
    }
}

// --- from_env ---------------------------------------------------------------

/// All environment manipulation happens in this one test, so that no other
/// test thread reads these variables while they change.
#[test]
fn from_env() {
    fn set(var: &str, value: Option<&str>) {
        // SAFETY: only this test reads or writes these variables, and it
        // does so from a single thread.
        unsafe {
            match value {
                Some(value) => std::env::set_var(var, value),
                None => std::env::remove_var(var),
            }
        }
    }
    const CUR: &str = "QSTASH_CURRENT_SIGNING_KEY";
    const NXT: &str = "QSTASH_NEXT_SIGNING_KEY";

    set(CUR, None);
    set(NXT, Some(NEXT));
    assert_eq!(
        Receiver::from_env().unwrap_err(),
        VerifyError::MissingEnv(CUR)
    );

    set(CUR, Some(""));
    assert_eq!(
        Receiver::from_env().unwrap_err(),
        VerifyError::MissingEnv(CUR)
    );

    set(CUR, Some(CURRENT));
    set(NXT, None);
    let err = Receiver::from_env().unwrap_err();
    assert_eq!(err, VerifyError::MissingEnv(NXT));
    assert!(err.to_string().contains(NXT));

    set(NXT, Some(""));
    assert_eq!(
        Receiver::from_env().unwrap_err(),
        VerifyError::MissingEnv(NXT)
    );

    set(NXT, Some(NEXT));
    let receiver = Receiver::from_env().unwrap();
    assert_eq!(receiver.clock_tolerance(), Duration::ZERO);
    assert!(!format!("{receiver:?}").contains(CURRENT));
    let token = sign(&claims(), CURRENT);
    assert!(receiver.verify_at(&token, BODY, Some(URL), now()).is_ok());
    let token = sign(&claims(), NEXT);
    assert!(receiver.verify_at(&token, BODY, Some(URL), now()).is_ok());

    set(CUR, None);
    set(NXT, None);
}

// --- regions, dev mode, the environment through a lookup -------------------

const US_CURRENT: &str = "sig_test_us_current_51aa";
const US_NEXT: &str = "sig_test_us_next_8c02";
const EU_CURRENT: &str = "sig_test_eu_current_0d9e";
const EU_NEXT: &str = "sig_test_eu_next_e413";

/// A lookup over these variables only.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> + use<> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
}

/// Both regions and a default pair, with `QSTASH_REGION` set.
fn multi_region_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("QSTASH_REGION", "US_EAST_1"),
        ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", US_CURRENT),
        ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", US_NEXT),
        ("EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY", EU_CURRENT),
        ("EU_CENTRAL_1_QSTASH_NEXT_SIGNING_KEY", EU_NEXT),
        ("QSTASH_CURRENT_SIGNING_KEY", CURRENT),
        ("QSTASH_NEXT_SIGNING_KEY", NEXT),
    ]
}

fn headers_with(signature: &str, regions: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "upstash-signature",
        HeaderValue::from_str(signature).unwrap(),
    );
    for region in regions {
        headers.append(
            "upstash-region",
            HeaderValue::from_bytes(region.as_bytes()).unwrap(),
        );
    }
    headers
}

fn verify_with_region(
    receiver: &Receiver,
    key: &str,
    regions: &[&str],
) -> Result<Claims, VerifyError> {
    let token = sign(&claims(), key);
    receiver.verify_request_at(&headers_with(&token, regions), BODY, Some(URL), now())
}

#[test]
fn the_region_header_picks_the_regions_keys() {
    let from_env = Receiver::from_env_with(env(&multi_region_env())).unwrap();
    let explicit = Receiver::new(CURRENT, NEXT)
        .with_region(Region::UsEast1, US_CURRENT, US_NEXT)
        .with_region(Region::EuCentral1, EU_CURRENT, EU_NEXT);
    for receiver in [&from_env, &explicit] {
        // Each spelling QStash or a user may use.
        for us in ["us-east-1", "US-EAST-1", "US_EAST_1", " us_east_1 "] {
            assert!(
                verify_with_region(receiver, US_CURRENT, &[us]).is_ok(),
                "{us}"
            );
            assert!(verify_with_region(receiver, US_NEXT, &[us]).is_ok(), "{us}");
            // The other region's keys, and the default ones, do not verify it.
            for key in [EU_CURRENT, CURRENT] {
                assert_eq!(
                    verify_with_region(receiver, key, &[us]),
                    Err(VerifyError::InvalidSignature),
                    "{us} {key}"
                );
            }
        }
        assert!(verify_with_region(receiver, EU_NEXT, &["eu-central-1"]).is_ok());
        assert_eq!(
            verify_with_region(receiver, US_CURRENT, &["eu-central-1"]),
            Err(VerifyError::InvalidSignature)
        );
        // Without the header: the default pair, and only it.
        assert!(verify_with_region(receiver, CURRENT, &[]).is_ok());
        assert!(verify_with_region(receiver, NEXT, &[]).is_ok());
        assert_eq!(
            verify_with_region(receiver, US_CURRENT, &[]),
            Err(VerifyError::InvalidSignature)
        );
    }
}

#[test]
fn an_unknown_region_is_refused_naming_it_never_verified_with_other_keys() {
    let receiver = Receiver::from_env_with(env(&multi_region_env())).unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["../x"], "../x"),
        (&["ap-southeast-1"], "ap-southeast-1"),
        (&[""], ""),
        (&["us-east-1", "eu-central-1"], "us-east-1, eu-central-1"),
        (&["us-east-1\u{e9}"], "us-east-1\u{e9}"),
        (&[&"x".repeat(5000)], &"x".repeat(32)),
    ];
    for (values, named) in cases {
        // Signed with the default keys: a fallback would verify it.
        let err = verify_with_region(&receiver, CURRENT, values).unwrap_err();
        assert_eq!(
            err,
            VerifyError::UnknownRegion {
                region: named.to_owned()
            },
            "{values:?}"
        );
        assert!(err.to_string().contains(&format!("{named:?}")), "{err}");
    }
    // Bytes that are not UTF-8 are shown, replaced.
    let mut headers = headers_with(&sign(&claims(), CURRENT), &[]);
    headers.insert(
        "upstash-region",
        HeaderValue::from_bytes(b"us\xffeast").unwrap(),
    );
    assert_eq!(
        receiver.verify_request_at(&headers, BODY, None, now()),
        Err(VerifyError::UnknownRegion {
            region: "us\u{fffd}east".into()
        })
    );
}

#[test]
fn a_receiver_without_regional_keys_ignores_the_region_header() {
    for region in ["../x", "us-east-1"] {
        assert!(verify_with_region(&receiver(), CURRENT, &[region]).is_ok());
        assert!(verify_with_region(&receiver(), CURRENT, &[region, region]).is_ok());
    }
    // `verify` and `verify_token` with no region: the default pair.
    let regional = receiver().with_region(Region::UsEast1, US_CURRENT, US_NEXT);
    let token = sign(&claims(), CURRENT);
    assert!(regional.verify_at(&token, BODY, None, now()).is_ok());
    assert!(
        regional
            .verify_token_at(&token, None, None, now())
            .unwrap()
            .check_body(BODY)
            .is_ok()
    );
    let token = sign(&claims(), US_CURRENT);
    assert!(
        regional
            .verify_token_at(&token, Some("us-east-1"), None, now())
            .unwrap()
            .check_body(BODY)
            .is_ok()
    );
}

#[test]
fn a_known_region_without_keys_uses_the_default_pair_if_any() {
    let receiver = Receiver::new(CURRENT, NEXT).with_region(Region::UsEast1, US_CURRENT, US_NEXT);
    assert!(verify_with_region(&receiver, CURRENT, &["eu-central-1"]).is_ok());
    assert_eq!(
        verify_with_region(&receiver, US_CURRENT, &["eu-central-1"]),
        Err(VerifyError::InvalidSignature)
    );

    // Regional keys alone: nothing to verify the others with.
    let only_us = Receiver::from_env_with(env(&[
        ("QSTASH_REGION", "us-east-1"),
        ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", US_CURRENT),
        ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", US_NEXT),
    ]))
    .unwrap();
    assert!(verify_with_region(&only_us, US_NEXT, &["us-east-1"]).is_ok());
    assert_eq!(
        verify_with_region(&only_us, US_CURRENT, &["eu-central-1"]),
        Err(VerifyError::NoSigningKeys {
            region: Some(Region::EuCentral1)
        })
    );
    assert_eq!(
        verify_with_region(&only_us, US_CURRENT, &[]),
        Err(VerifyError::NoSigningKeys { region: None })
    );
}

#[test]
fn with_region_replaces_a_regions_earlier_keys() {
    let receiver = Receiver::new(CURRENT, NEXT)
        .with_region(Region::UsEast1, OTHER, OTHER)
        .with_region(Region::UsEast1, US_CURRENT, US_NEXT);
    assert!(verify_with_region(&receiver, US_CURRENT, &["us-east-1"]).is_ok());
    assert_eq!(
        verify_with_region(&receiver, OTHER, &["us-east-1"]),
        Err(VerifyError::InvalidSignature)
    );
    assert_eq!(format!("{receiver:?}").matches("UsEast1").count(), 1);
}

#[test]
fn without_qstash_region_the_regional_variables_are_not_read() {
    let mut vars = multi_region_env();
    vars.retain(|(k, _)| *k != "QSTASH_REGION");
    let receiver = Receiver::from_env_with(env(&vars)).unwrap();
    // Header ignored: the default pair, even for a region with keys.
    assert!(verify_with_region(&receiver, CURRENT, &["us-east-1"]).is_ok());
    assert!(verify_with_region(&receiver, CURRENT, &["../x"]).is_ok());
    assert_eq!(
        verify_with_region(&receiver, US_CURRENT, &["us-east-1"]),
        Err(VerifyError::InvalidSignature)
    );
    // An empty QSTASH_REGION is unset.
    vars.push(("QSTASH_REGION", ""));
    let receiver = Receiver::from_env_with(env(&vars)).unwrap();
    assert!(verify_with_region(&receiver, CURRENT, &["../x"]).is_ok());
}

#[test]
fn from_env_with_errors_name_the_variable() {
    let cases: Vec<(Vec<(&str, &str)>, VerifyError)> = vec![
        (vec![], VerifyError::MissingEnv("QSTASH_CURRENT_SIGNING_KEY")),
        (
            vec![("QSTASH_CURRENT_SIGNING_KEY", CURRENT)],
            VerifyError::MissingEnv("QSTASH_NEXT_SIGNING_KEY"),
        ),
        (
            vec![("QSTASH_CURRENT_SIGNING_KEY", ""), ("QSTASH_NEXT_SIGNING_KEY", NEXT)],
            VerifyError::MissingEnv("QSTASH_CURRENT_SIGNING_KEY"),
        ),
        (
            vec![("QSTASH_REGION", "../x"), ("QSTASH_CURRENT_SIGNING_KEY", CURRENT), ("QSTASH_NEXT_SIGNING_KEY", NEXT)],
            VerifyError::InvalidEnv(
                "environment variable QSTASH_REGION is \"../x\"; expected EU_CENTRAL_1 or US_EAST_1".into(),
            ),
        ),
        (
            vec![("QSTASH_REGION", "us-east-1"), ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", US_CURRENT)],
            VerifyError::InvalidEnv(
                "environment variable US_EAST_1_QSTASH_NEXT_SIGNING_KEY is not set, empty, or not valid Unicode; a region's two keys are used as a pair".into(),
            ),
        ),
        (
            vec![("QSTASH_REGION", "us-east-1"), ("EU_CENTRAL_1_QSTASH_NEXT_SIGNING_KEY", EU_NEXT), ("QSTASH_CURRENT_SIGNING_KEY", CURRENT), ("QSTASH_NEXT_SIGNING_KEY", NEXT)],
            VerifyError::InvalidEnv(
                "environment variable EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY is not set, empty, or not valid Unicode; a region's two keys are used as a pair".into(),
            ),
        ),
        (
            vec![("QSTASH_REGION", "us-east-1"), ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", US_CURRENT), ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", US_NEXT), ("QSTASH_CURRENT_SIGNING_KEY", CURRENT)],
            VerifyError::MissingEnv("QSTASH_NEXT_SIGNING_KEY"),
        ),
        (
            vec![("QSTASH_REGION", "us-east-1"), ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", US_CURRENT), ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", US_NEXT), ("QSTASH_NEXT_SIGNING_KEY", NEXT)],
            VerifyError::MissingEnv("QSTASH_CURRENT_SIGNING_KEY"),
        ),
        (
            vec![("QSTASH_REGION", "eu-central-1")],
            VerifyError::InvalidEnv(
                "QSTASH_REGION is EU_CENTRAL_1, but no signing keys are set: set EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY and EU_CENTRAL_1_QSTASH_NEXT_SIGNING_KEY, or QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY".into(),
            ),
        ),
        (
            vec![("QSTASH_DEV", "yes"), ("QSTASH_CURRENT_SIGNING_KEY", CURRENT), ("QSTASH_NEXT_SIGNING_KEY", NEXT)],
            VerifyError::InvalidEnv(
                "environment variable QSTASH_DEV is \"yes\"; expected 1 or true (dev mode on), 0 or false (off)".into(),
            ),
        ),
    ];
    for (vars, expected) in cases {
        let err = Receiver::from_env_with(env(&vars)).unwrap_err();
        assert_eq!(err, expected, "{vars:?}");
        for (_, value) in &vars {
            if value.starts_with("sig_") {
                assert!(!err.to_string().contains(value), "{err}");
            }
        }
    }
    // Not valid Unicode counts as unset.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let err = Receiver::from_env_with(|name| match name {
            "QSTASH_CURRENT_SIGNING_KEY" => Some(std::ffi::OsString::from_vec(vec![0xff])),
            "QSTASH_NEXT_SIGNING_KEY" => Some(NEXT.into()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(err, VerifyError::MissingEnv("QSTASH_CURRENT_SIGNING_KEY"));
    }
}

#[test]
fn dev_mode_comes_first_and_says_so_once() {
    let (logs, _guard) = crate::common::capture_logs();
    let mut vars = multi_region_env();
    vars.push(("QSTASH_DEV", "true"));
    let receiver = Receiver::from_env_with(env(&vars)).unwrap();
    assert!(format!("{receiver:?}").contains("dev: true"));
    assert!(verify_with_region(&receiver, qstash::DEV_CURRENT_SIGNING_KEY, &[]).is_ok());
    assert!(verify_with_region(&receiver, qstash::DEV_NEXT_SIGNING_KEY, &["../x"]).is_ok());
    for key in [CURRENT, US_CURRENT] {
        assert_eq!(
            verify_with_region(&receiver, key, &["us-east-1"]),
            Err(VerifyError::InvalidSignature)
        );
    }
    let lines = logs.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("INFO QStash dev mode"), "{lines:?}");
    assert!(lines[0].contains("public dev signing keys"), "{lines:?}");
    assert!(
        !lines[0].contains(qstash::DEV_CURRENT_SIGNING_KEY),
        "{lines:?}"
    );

    // Off: not dev mode, and not logged.
    vars.pop();
    vars.push(("QSTASH_DEV", "0"));
    let receiver = Receiver::from_env_with(env(&vars)).unwrap();
    assert!(format!("{receiver:?}").contains("dev: false"));
    assert_eq!(
        verify_with_region(&receiver, qstash::DEV_CURRENT_SIGNING_KEY, &[]),
        Err(VerifyError::InvalidSignature)
    );
    assert_eq!(logs.lines().len(), 1);

    assert!(verify_with_region(&Receiver::dev(), qstash::DEV_NEXT_SIGNING_KEY, &[]).is_ok());
    assert_eq!(logs.lines().len(), 2);
}

#[test]
fn debug_never_shows_a_key() {
    let receiver = Receiver::from_env_with(env(&multi_region_env())).unwrap();
    let debug = format!("{receiver:?}");
    for key in [CURRENT, NEXT, US_CURRENT, US_NEXT, EU_CURRENT, EU_NEXT] {
        assert!(!debug.contains(key), "{debug}");
    }
    assert!(
        debug.contains("EuCentral1") && debug.contains("UsEast1"),
        "{debug}"
    );
    assert!(debug.contains("regional: true"), "{debug}");
}

#[test]
fn the_token_is_checked_before_the_body_is_read() {
    let receiver = receiver();
    // Each token check fails without a body.
    let expired = sign(&claims(), CURRENT);
    assert_eq!(
        receiver
            .verify_headers_at(&headers_with(&expired, &[]), Some(URL), at(EXP))
            .unwrap_err(),
        VerifyError::Expired { exp: EXP }
    );
    assert_eq!(
        receiver
            .verify_headers_at(&headers_with(&sign(&claims(), OTHER), &[]), None, now())
            .unwrap_err(),
        VerifyError::InvalidSignature
    );
    assert!(matches!(
        receiver
            .verify_headers_at(
                &headers_with(&expired, &[]),
                Some("https://other.example"),
                now()
            )
            .unwrap_err(),
        VerifyError::SubjectMismatch { .. }
    ));
    assert_eq!(
        receiver
            .verify_headers_at(&HeaderMap::new(), None, now())
            .unwrap_err(),
        VerifyError::MissingSignature
    );
    // A good token, then the body: only the signed one passes.
    let pending = receiver
        .verify_headers_at(&headers_with(&expired, &[]), Some(URL), now())
        .unwrap();
    assert_eq!(
        pending.clone().check_body(b"{}").unwrap_err(),
        VerifyError::BodyHashMismatch
    );
    let claims = pending.check_body(BODY).unwrap();
    assert_eq!(claims.sub, URL);
    // verify_token: the same, from the header's value.
    let pending = receiver
        .verify_token_at(&expired, None, Some(URL), now())
        .unwrap();
    assert_eq!(pending.check_body(BODY).unwrap(), claims);
}

#[test]
fn regions_parse_as_qstash_js_normalizes_them() {
    for (text, region) in [
        ("us-east-1", Region::UsEast1),
        ("US_EAST_1", Region::UsEast1),
        ("Eu-Central-1", Region::EuCentral1),
        ("\teu_central_1 ", Region::EuCentral1),
    ] {
        assert_eq!(Region::parse(text), Some(region), "{text}");
        assert_eq!(text.parse::<Region>(), Ok(region), "{text}");
    }
    for text in [
        "",
        "us-east-2",
        "useast1",
        "../x",
        "US-EAST-1/..",
        "us east 1",
    ] {
        assert_eq!(Region::parse(text), None, "{text}");
        assert_eq!(
            text.parse::<Region>(),
            Err(VerifyError::UnknownRegion {
                region: text.to_owned()
            })
        );
    }
    assert_eq!(Region::EuCentral1.to_string(), "EU_CENTRAL_1");
    assert_eq!(Region::UsEast1.as_str(), "US_EAST_1");
}

// --- DeliveryVerifier and DeliveryRejection, framework-neutral -------------

mod delivery_verifier {
    use super::*;
    use qstash::{DEFAULT_BODY_LIMIT, DeliveryRejection, DeliveryVerifier, SIGNATURE_CHALLENGE};

    fn head(token: &str, content_length: Option<&str>) -> HeaderMap {
        let mut headers = headers_with(token, &[]);
        if let Some(length) = content_length {
            headers.insert("content-length", HeaderValue::from_str(length).unwrap());
        }
        headers
    }

    #[test]
    fn settings_and_the_expected_url() {
        let verifier = DeliveryVerifier::new(receiver());
        assert_eq!(verifier.body_limit(), DEFAULT_BODY_LIMIT);
        assert_eq!(DEFAULT_BODY_LIMIT, 10 * 1024 * 1024);
        assert_eq!(verifier.expected_url("/x"), None);
        let verifier = verifier.with_public_url("https://example.com/api///");
        assert_eq!(
            verifier.expected_url("/qstash?a=1").as_deref(),
            Some("https://example.com/api/qstash?a=1")
        );
        assert_eq!(
            verifier.expected_url("qstash").as_deref(),
            Some("https://example.com/api/qstash")
        );
        assert_eq!(
            verifier.receiver().clock_tolerance(),
            receiver().clock_tolerance()
        );
        let from: DeliveryVerifier = receiver().into();
        assert_eq!(from.body_limit(), DEFAULT_BODY_LIMIT);
        assert!(!format!("{verifier:?}").contains(CURRENT));
    }

    #[test]
    fn the_head_checks_sub_against_the_public_url() {
        let verifier = DeliveryVerifier::new(receiver()).with_public_url("https://example.com/api");
        let token = sign(&claims(), CURRENT);
        // URL is https://example.com/api/qstash.
        let pending = verifier
            .verify_head_at("/qstash", &head(&token, None), now())
            .unwrap();
        assert!(verifier.verify_body(pending, BODY).is_ok());
        let refused = verifier
            .verify_head_at("/qstash?x=1", &head(&token, None), now())
            .unwrap_err();
        assert_eq!(
            refused,
            DeliveryRejection::Unverified(VerifyError::SubjectMismatch {
                expected: "https://example.com/api/qstash?x=1".into(),
                actual: URL.into(),
            })
        );
        // Without a public URL, any sub.
        assert!(
            DeliveryVerifier::new(receiver())
                .verify_head_at("/elsewhere", &head(&token, None), now())
                .is_ok()
        );
    }

    #[test]
    fn a_declared_length_above_the_limit_is_refused_at_the_head() {
        let verifier = DeliveryVerifier::new(receiver()).with_body_limit(BODY.len());
        let token = sign(&claims(), CURRENT);
        let exact = BODY.len().to_string();
        let over = (BODY.len() + 1).to_string();
        assert!(
            verifier
                .verify_head_at("/", &head(&token, Some(&exact)), now())
                .is_ok()
        );
        for unreadable in ["abc", "-1", "99999999999999999999999"] {
            assert!(
                verifier
                    .verify_head_at("/", &head(&token, Some(unreadable)), now())
                    .is_ok(),
                "{unreadable}: left to the reading limit"
            );
        }
        assert_eq!(
            verifier
                .verify_head_at("/", &head(&token, Some(&over)), now())
                .unwrap_err(),
            DeliveryRejection::BodyTooLarge { limit: BODY.len() }
        );
        // The token is checked first: an unsigned big request is a 401.
        assert!(matches!(
            verifier
                .verify_head_at("/", &head("x.y.z", Some(&over)), now())
                .unwrap_err(),
            DeliveryRejection::Unverified(_)
        ));
    }

    #[test]
    fn the_body_is_checked_against_the_limit_and_the_token() {
        let verifier = DeliveryVerifier::new(receiver()).with_body_limit(BODY.len());
        let token = sign(&claims(), CURRENT);
        let pending = || {
            verifier
                .verify_head_at("/", &head(&token, None), now())
                .unwrap()
        };
        assert_eq!(verifier.verify_body(pending(), BODY).unwrap().sub, URL);
        let mut longer = BODY.to_vec();
        longer.push(b' ');
        assert_eq!(
            verifier.verify_body(pending(), &longer).unwrap_err(),
            DeliveryRejection::BodyTooLarge { limit: BODY.len() }
        );
        assert_eq!(
            verifier.verify_body(pending(), b"{}").unwrap_err(),
            DeliveryRejection::Unverified(VerifyError::BodyHashMismatch)
        );
    }

    #[test]
    fn rejections_answer_with_status_challenge_and_reason() {
        let cases = [
            (
                DeliveryRejection::Unverified(VerifyError::InvalidSignature),
                401,
                Some(SIGNATURE_CHALLENGE),
                "not a verified QStash delivery: QStash signature does not match the current or the next signing key",
            ),
            (
                DeliveryRejection::BodyTooLarge { limit: 7 },
                413,
                None,
                "delivery body is larger than the limit of 7 bytes",
            ),
            (
                DeliveryRejection::BodyUnreadable("connection reset".into()),
                400,
                None,
                "cannot read the delivery body: connection reset",
            ),
        ];
        for (rejection, status, challenge, reason) in cases {
            assert_eq!(rejection.status().as_u16(), status);
            assert_eq!(rejection.www_authenticate(), challenge);
            assert_eq!(rejection.to_string(), reason);
            let response: http::Response<String> = rejection.to_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.body(), reason);
            assert_eq!(
                response.headers()["content-type"],
                "text/plain; charset=utf-8"
            );
            assert_eq!(
                response
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap()),
                challenge
            );
            let source = std::error::Error::source(&rejection).map(ToString::to_string);
            assert_eq!(
                source.is_some(),
                status == 401,
                "the verify error is the source"
            );
        }
        assert_eq!(SIGNATURE_CHALLENGE, "Upstash-Signature realm=\"QStash\"");
    }

    #[test]
    fn refusals_are_logged_at_warn_with_the_reason() {
        let (logs, _guard) = crate::common::capture_logs();
        let verifier = DeliveryVerifier::new(receiver()).with_body_limit(4);
        let token = sign(&claims(), CURRENT);
        let _ = verifier.verify_head_at("/", &HeaderMap::new(), now());
        let _ = verifier.verify_head_at("/", &head(&token, Some("5")), now());
        let pending = verifier
            .verify_head_at("/", &head(&token, None), now())
            .unwrap();
        let _ = verifier.verify_body(pending.clone(), b"{}");
        let _ = verifier.verify_body(pending, b"12345");
        DeliveryRejection::BodyUnreadable("reset".into()).log();
        let lines: Vec<_> = logs
            .lines()
            .into_iter()
            .filter(|l| l.contains("QStash delivery"))
            .collect();
        assert_eq!(
            lines,
            [
                "WARN refused a QStash delivery: not a verified QStash delivery: missing Upstash-Signature header status=401",
                "WARN refused a QStash delivery: delivery body is larger than the limit of 4 bytes status=413",
                "WARN refused a QStash delivery: not a verified QStash delivery: body does not match the hash in the QStash signature status=401",
                "WARN refused a QStash delivery: delivery body is larger than the limit of 4 bytes status=413",
                "WARN refused a QStash delivery: cannot read the delivery body: reset status=400",
            ]
        );
    }
}
