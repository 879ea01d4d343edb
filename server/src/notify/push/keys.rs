//! The providers' signing keys and JSON Web Tokens: RS256 for Google's OAuth2 assertion, ES256 for the APNs provider
//! token. Keys arrive as PKCS#8 PEM (a service account's `private_key`, an APNs `.p8` file).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256};

/// The DER inside a `-----BEGIN PRIVATE KEY-----` block.
pub fn pkcs8_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if body.is_empty() {
        return Err("expected a PKCS#8 PEM block (-----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----)".into());
    }
    STANDARD.decode(body).map_err(|e| format!("the PEM block is not valid base64 ({e})"))
}

pub fn rsa_key(pem: &str) -> Result<RsaKeyPair, String> {
    let der = pkcs8_der(pem)?;
    RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("not a usable RSA PKCS#8 key ({e})"))
}

pub fn ec_key(pem: &str) -> Result<EcdsaKeyPair, String> {
    let der = pkcs8_der(pem)?;
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
        .map_err(|e| format!("not a usable P-256 (ES256) PKCS#8 key ({e})"))
}

fn signing_input(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// A compact RS256 JWT.
pub fn sign_rs256(key: &RsaKeyPair, claims: &serde_json::Value) -> Result<String, String> {
    let input = signing_input(&serde_json::json!({"alg": "RS256", "typ": "JWT"}), claims);
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut sig)
        .map_err(|_| "RSA signing failed".to_owned())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// A compact ES256 JWT with the key id in its header (APNs wants `kid`).
pub fn sign_es256(key: &EcdsaKeyPair, key_id: &str, claims: &serde_json::Value) -> Result<String, String> {
    let input = signing_input(&serde_json::json!({"alg": "ES256", "kid": key_id}), claims);
    let sig = key.sign(&SystemRandom::new(), input.as_bytes()).map_err(|_| "ECDSA signing failed".to_owned())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    #[test]
    fn es256_tokens_verify_with_the_public_key_and_bad_pem_is_explained() {
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(doc));
        let key = ec_key(&pem).unwrap();
        let jwt = sign_es256(&key, "KEY123", &serde_json::json!({"iss": "TEAM", "iat": 1})).unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key().as_ref().to_vec());
        public.verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
        assert!(ec_key("not a key").unwrap_err().contains("PKCS#8 PEM"));
        assert!(rsa_key(&pem).unwrap_err().contains("RSA"), "an EC key is not an RSA key");
    }
}
