//! Identity tokens (`verify_identity_token`) with a fixed secret. Any text: never a panic, never verifies (the corpus
//! holds no token signed with this secret). A token this target signs from fuzzed claims: verifies to the same
//! claims or is refused as malformed / for another app, never as forged; once mutated (any byte changed, added or
//! removed) it never verifies.
#![no_main]

use chatflow_protocol::IdentityClaims;
use chatflow_server::auth::jwt::{sign_identity_token, verify_identity_token, IdentityError};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-identity-secret-0123456789";
const APP: &str = "app1";

#[derive(Debug, Arbitrary)]
enum Input {
    Text(String),
    Signed {
        sub: String,
        email: Option<String>,
        other_app: bool,
        iat: i64,
        ttl: i64,
        now_offset: i16,
        edits: Vec<Edit>,
    },
}

#[derive(Debug, Arbitrary)]
enum Edit {
    Set(u16, u8),
    Insert(u16, u8),
    Remove(u16),
}

fn mutate(token: &str, edits: &[Edit]) -> String {
    let mut bytes = token.as_bytes().to_vec();
    for edit in edits {
        let at = |i: u16, len: usize| usize::from(i) % len.max(1);
        match *edit {
            Edit::Set(i, b) if !bytes.is_empty() => {
                let i = at(i, bytes.len());
                bytes[i] = b;
            }
            Edit::Insert(i, b) => {
                let i = at(i, bytes.len() + 1);
                bytes.insert(i, b);
            }
            Edit::Remove(i) if !bytes.is_empty() => {
                bytes.remove(at(i, bytes.len()));
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fuzz_target!(|input: Input| match input {
    Input::Text(text) => {
        let result = verify_identity_token(&text, SECRET, APP, 1_800_000_000);
        assert!(result.is_err(), "unsigned text verified: {text:?}");
    }
    Input::Signed { sub, email, other_app, iat, ttl, now_offset, edits } => {
        let aud = if other_app { "app2" } else { APP }.to_owned();
        let claims = IdentityClaims { sub, aud, email, iat, exp: iat.wrapping_add(ttl) };
        // The server's clock is a real date (Unix seconds until year ~36,800); the claims are anything.
        let now = iat.clamp(0, 1 << 40) + i64::from(now_offset);
        let token = sign_identity_token(SECRET, &claims);
        match verify_identity_token(&token, SECRET, APP, now) {
            Ok(verified) => assert_eq!(verified, claims),
            Err(IdentityError::Forged) => panic!("a token signed with the secret is called forged: {token}"),
            Err(_) => {}
        }
        let mutated = mutate(&token, &edits);
        if mutated != token {
            let result = verify_identity_token(&mutated, SECRET, APP, now);
            assert!(result.is_err(), "a mutated token verified: {token} → {mutated}");
        }
    }
});
