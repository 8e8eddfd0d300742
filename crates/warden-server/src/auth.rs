//! Credentials: API tokens (random, shown once, stored as SHA-256 hashes, with a visible
//! prefix) and argon2 password hashes; turning an `Authorization` header into an [`Actor`].

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use warden_core::org::Actor;
use warden_store::{Store, StoreError};

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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// The actor behind an `Authorization` header value: `Bearer <token>`, or `Basic` for
/// clients that only do Basic (TAXII clients, feed readers), with an API token as the
/// password or the user's own sign-in name and password.
pub async fn authenticate(
    store: &dyn Store,
    header: Option<&str>,
    now: OffsetDateTime,
) -> Result<Actor, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    if let Some(b) = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
    {
        return basic(store, b.trim(), now).await;
    }
    let secret = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(AuthError::Missing)?
        .trim();
    by_token(store, secret, now).await
}

async fn by_token(
    store: &dyn Store,
    secret: &str,
    now: OffsetDateTime,
) -> Result<Actor, AuthError> {
    if !secret.starts_with(TOKEN_TAG) {
        return Err(AuthError::Invalid);
    }
    let (token, principal, org) = store
        .credentials(&hash_token(secret))
        .await?
        .ok_or(AuthError::Invalid)?;
    if let Some(why) = token.unusable(now) {
        return Err(AuthError::Unusable(why));
    }
    if principal.disabled {
        return Err(AuthError::Unusable("the account is disabled"));
    }
    Ok(Actor::principal(&principal, &org))
}

async fn basic(store: &dyn Store, encoded: &str, now: OffsetDateTime) -> Result<Actor, AuthError> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| AuthError::Invalid)?;
    let raw = String::from_utf8(raw).map_err(|_| AuthError::Invalid)?;
    let (user, password) = raw.split_once(':').ok_or(AuthError::Invalid)?;
    if password.starts_with(TOKEN_TAG) {
        // The token names its principal; the user name is ignored, as many clients insist
        // on sending one.
        return by_token(store, password, now).await;
    }
    sign_in(store, user, password, now).await
}

/// A person by sign-in name and password (the console's sign-in, HTTP Basic).
pub async fn sign_in(
    store: &dyn Store,
    user: &str,
    password: &str,
    _now: OffsetDateTime,
) -> Result<Actor, AuthError> {
    let principal = store
        .principal_by_name(user)
        .await?
        .ok_or(AuthError::Invalid)?
        .value;
    let hash = store
        .password_hash(principal.id)
        .await?
        .ok_or(AuthError::Invalid)?;
    if !verify_password(password, &hash) {
        return Err(AuthError::Invalid);
    }
    if principal.disabled {
        return Err(AuthError::Unusable("the account is disabled"));
    }
    let org = store
        .organisation(principal.org_id)
        .await?
        .ok_or(AuthError::Invalid)?
        .value;
    Ok(Actor::principal(&principal, &org))
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
