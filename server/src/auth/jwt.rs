//! HS256 identity tokens: the app's backend signs `{sub, aud, email?, iat, exp}` with the app's identity secret;
//! the server verifies. Hand-rolled on purpose: one algorithm, a few dozen lines, and no JWT library to pull in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chatflow_protocol::IdentityClaims;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Tolerated clock difference between the app's backend and this server, in seconds.
pub const CLOCK_LEEWAY_SECS: i64 = 30;
/// Longest identity token read (a well-formed one is a few hundred bytes).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
const MAX_SUB_CHARS: usize = 256;
const MAX_EMAIL_CHARS: usize = 320;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("identity token is malformed: {0}")]
    Malformed(String),
    #[error("identity token signature does not match this app's identity secret")]
    Forged,
    #[error("identity token was issued for app `{aud}`, not for this app")]
    WrongApp { aud: String },
    #[error("identity token expired at {exp} (Unix seconds); ask the app's backend for a fresh one")]
    Expired { exp: i64 },
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long keys are hashed, short ones padded): this cannot fail.
    match <HmacSha256 as KeyInit>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// Signs `claims` as a compact HS256 JWT. Used by tests, the docs and any app backend written in Rust.
pub fn sign_identity_token(secret: &[u8], claims: &IdentityClaims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    // Serializing a struct of strings and integers cannot fail.
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut m = mac(secret);
    m.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

fn decode_part(name: &str, part: &str) -> Result<Vec<u8>, IdentityError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| IdentityError::Malformed(format!("the {name} is not unpadded base64url")))
}

/// Verifies `token` for `app_id` at `now_secs` (Unix seconds).
///
/// Order of checks: shape, then audience, then signature, then time. The audience is read before the signature is
/// checked only to choose the more helpful error (a token for another app is signed with that app's secret, so it
/// would otherwise always look forged); nothing from an unverified token is trusted.
pub fn verify_identity_token(
    token: &str,
    secret: &[u8],
    app_id: &str,
    now_secs: i64,
) -> Result<IdentityClaims, IdentityError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(IdentityError::Malformed(format!("longer than {MAX_TOKEN_BYTES} bytes")));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(IdentityError::Malformed("expected three dot-separated parts (header.payload.signature)".into()));
    };
    let header: Header = serde_json::from_slice(&decode_part("header", h)?)
        .map_err(|e| IdentityError::Malformed(format!("header is not a JSON object with `alg`: {e}")))?;
    if header.alg != "HS256" {
        return Err(IdentityError::Malformed(format!("alg must be HS256, got `{}`", header.alg)));
    }
    let claims: IdentityClaims = serde_json::from_slice(&decode_part("payload", p)?).map_err(|e| {
        IdentityError::Malformed(format!("claims must hold string `sub`, `aud` and integer `iat`, `exp`: {e}"))
    })?;
    let signature = decode_part("signature", s)?;
    if claims.sub.trim().is_empty() || claims.sub.chars().count() > MAX_SUB_CHARS {
        return Err(IdentityError::Malformed(format!("`sub` must be 1..={MAX_SUB_CHARS} characters")));
    }
    if let Some(email) = &claims.email {
        if email.chars().count() > MAX_EMAIL_CHARS || !email.contains('@') {
            return Err(IdentityError::Malformed("`email` must be an email address".into()));
        }
    }
    if claims.exp <= claims.iat {
        return Err(IdentityError::Malformed("`exp` must be after `iat`".into()));
    }
    if claims.aud != app_id {
        return Err(IdentityError::WrongApp { aud: claims.aud });
    }
    let mut m = mac(secret);
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    // verify_slice compares in constant time.
    m.verify_slice(&signature).map_err(|_| IdentityError::Forged)?;
    // Saturating: `exp` is whatever the app's backend signed, up to i64::MAX.
    if claims.exp.saturating_add(CLOCK_LEEWAY_SECS) <= now_secs {
        return Err(IdentityError::Expired { exp: claims.exp });
    }
    if claims.iat > now_secs.saturating_add(CLOCK_LEEWAY_SECS) {
        return Err(IdentityError::Malformed(format!("`iat` {} is in the future", claims.iat)));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn claims() -> IdentityClaims {
        IdentityClaims {
            sub: "user-1".into(),
            aud: "app1".into(),
            email: Some("u@example.com".into()),
            iat: NOW - 10,
            exp: NOW + 300,
        }
    }

    #[test]
    fn a_signed_token_verifies() {
        let t = sign_identity_token(b"secret", &claims());
        assert_eq!(verify_identity_token(&t, b"secret", "app1", NOW).unwrap(), claims());
    }

    #[test]
    fn another_secret_is_forged() {
        let t = sign_identity_token(b"other", &claims());
        assert_eq!(verify_identity_token(&t, b"secret", "app1", NOW), Err(IdentityError::Forged));
    }

    #[test]
    fn a_tampered_payload_is_forged() {
        let t = sign_identity_token(b"secret", &claims());
        let evil = IdentityClaims { sub: "admin".into(), ..claims() };
        let evil_payload = sign_identity_token(b"x", &evil).split('.').nth(1).unwrap().to_owned();
        let parts: Vec<&str> = t.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], evil_payload, parts[2]);
        assert_eq!(verify_identity_token(&forged, b"secret", "app1", NOW), Err(IdentityError::Forged));
    }

    #[test]
    fn expiry_respects_the_leeway() {
        let c = IdentityClaims { iat: NOW - 600, exp: NOW - CLOCK_LEEWAY_SECS, ..claims() };
        let t = sign_identity_token(b"secret", &c);
        assert_eq!(verify_identity_token(&t, b"secret", "app1", NOW), Err(IdentityError::Expired { exp: c.exp }));
        let c = IdentityClaims { exp: NOW - CLOCK_LEEWAY_SECS + 1, ..c };
        assert!(verify_identity_token(&sign_identity_token(b"secret", &c), b"secret", "app1", NOW).is_ok());
    }

    /// Found while writing the `identity_token` fuzz target: `exp + leeway` overflowed for a signed token expiring at
    /// the end of time (a panic in debug builds, "expired" in release).
    #[test]
    fn a_token_expiring_at_the_end_of_time_verifies() {
        let c = IdentityClaims { exp: i64::MAX, ..claims() };
        let t = sign_identity_token(b"secret", &c);
        assert_eq!(verify_identity_token(&t, b"secret", "app1", NOW), Ok(c));
        let c = IdentityClaims { iat: i64::MAX - 1, exp: i64::MAX, ..claims() };
        let t = sign_identity_token(b"secret", &c);
        assert_eq!(verify_identity_token(&t, b"secret", "app1", i64::MAX - 5), Ok(c));
    }

    #[test]
    fn another_audience_is_wrong_app_even_with_its_own_secret() {
        let c = IdentityClaims { aud: "app2".into(), ..claims() };
        let t = sign_identity_token(b"app2-secret", &c);
        assert_eq!(
            verify_identity_token(&t, b"secret", "app1", NOW),
            Err(IdentityError::WrongApp { aud: "app2".into() })
        );
    }

    #[test]
    fn malformed_tokens() {
        let good = sign_identity_token(b"secret", &claims());
        let parts: Vec<&str> = good.split('.').collect();
        let none_alg = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#), parts[1]);
        let no_sub =
            format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(br#"{"aud":"app1","iat":1,"exp":2}"#), parts[2]);
        let cases = [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.@@@.###",
            &format!("{}.{}.{}", URL_SAFE_NO_PAD.encode("not json"), parts[1], parts[2]),
            &none_alg,
            &no_sub,
            &format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        ];
        for case in cases {
            assert!(
                matches!(verify_identity_token(case, b"secret", "app1", NOW), Err(IdentityError::Malformed(_))),
                "{case:?}"
            );
        }
        let backwards = IdentityClaims { iat: NOW, exp: NOW - 1, ..claims() };
        assert!(matches!(
            verify_identity_token(&sign_identity_token(b"secret", &backwards), b"secret", "app1", NOW),
            Err(IdentityError::Malformed(_))
        ));
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(verify_identity_token(&huge, b"secret", "app1", NOW), Err(IdentityError::Malformed(_))));
    }
}
