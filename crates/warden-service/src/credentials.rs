//! Credentials: API tokens (random, shown once, stored as SHA-256 hashes, with a visible
//! prefix), argon2 password hashes, and why a credential was not accepted.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use warden_store::StoreError;

/// Every token starts with this, so leaked tokens are recognisable (secret scanners).
pub const TOKEN_TAG: &str = "wdn";

/// A new token: the secret to show once, its public prefix, and the hash to store.
pub struct NewToken {
    pub secret: String,
    pub prefix: String,
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_token(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// `wdn_<8 hex prefix>_<48 hex secret>`: 28 random bytes in all.
pub fn new_token() -> Result<NewToken, AuthError> {
    let mut buf = [0u8; 28];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Internal(format!("no randomness: {e}")))?;
    let prefix = format!("{TOKEN_TAG}_{}", hex(&buf[..4]));
    let secret = format!("{prefix}_{}", hex(&buf[4..]));
    Ok(NewToken {
        hash: hash_token(&secret),
        secret,
        prefix,
    })
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "missing credentials: send Authorization: Bearer <token> (or Basic with a token as the password)"
    )]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    #[error("{0}")]
    Unusable(&'static str),
    #[error(
        "too many password checks from this address: retry in {0} seconds, or use an API token"
    )]
    Limited(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(&format!("{}_", a.prefix)));
        assert_eq!(a.prefix.len(), 12);
        assert_eq!(a.secret.len(), 12 + 1 + 48);
        assert_eq!(a.hash, hash_token(&a.secret));
        assert!(!a.hash.contains(&a.secret[13..]));
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horse.", &h));
        assert!(!verify_password("x", "not a phc string"));
    }
}
