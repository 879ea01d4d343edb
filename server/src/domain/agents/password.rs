//! Agent passwords: argon2id PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a random salt per hash.
//!
//! Parameters: OWASP's first argon2id choice (19 MiB of memory, 2 passes, 1 lane). Verification reads the
//! parameters from the stored string, so raising them later keeps old hashes working. The same parameters apply
//! everywhere, tests included: a test-only cost would test another thing than the server runs.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory in KiB, passes, lanes.
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

fn hasher() -> Result<Argon2<'static>, String> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| format!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let h: PasswordHash =
        hasher()?.hash_password(password.as_bytes()).map_err(|e| format!("cannot hash the password: {e}"))?;
    Ok(h.to_string())
}

/// Does `password` match the stored PHC string? A malformed string matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    match hasher() {
        Ok(a) => a.verify_password(password.as_bytes(), phc).is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification, for sign-ins with an unknown email (an attacker must not learn which
/// emails exist from the answer's timing).
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("dummy password for unknown emails").unwrap_or_default());
    let _ = verify(password, phc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let started = std::time::Instant::now();
        let a = hash("correct horse battery").unwrap();
        eprintln!("one argon2id hash: {:?}", started.elapsed());
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a random salt per hash");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("correct horse battery", "not a phc string"));
        verify_dummy("anything");
    }
}
