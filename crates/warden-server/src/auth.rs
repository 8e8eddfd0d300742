//! Credentials: API tokens (random, shown once, stored as SHA-256 hashes, with a visible
//! prefix) and argon2 password hashes; turning an `Authorization` header into an [`Actor`].

use crate::ratelimit::Limiter;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;
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
    #[error(
        "too many password checks from this address: retry in {0} seconds, or use an API token"
    )]
    Limited(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Where a request came from, for what authenticating it may cost.
#[derive(Clone, Copy)]
pub struct Origin<'a> {
    pub passwords: &'a BasicPasswords,
    /// The client's address, when the connection gives one.
    pub peer: Option<IpAddr>,
}

/// The actor behind an `Authorization` header value: `Bearer <token>`, or `Basic` for
/// clients that only do Basic (TAXII clients, feed readers), with an API token as the
/// password or the user's own sign-in name and password.
pub async fn authenticate(
    store: &dyn Store,
    header: Option<&str>,
    now: OffsetDateTime,
    origin: Origin<'_>,
) -> Result<Actor, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    if let Some(b) = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
    {
        return basic(store, b.trim(), now, origin).await;
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

async fn basic(
    store: &dyn Store,
    encoded: &str,
    now: OffsetDateTime,
    origin: Origin<'_>,
) -> Result<Actor, AuthError> {
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
    origin
        .passwords
        .sign_in(store, user, password, origin.peer)
        .await
}

/// A person by sign-in name and password (the console's sign-in, HTTP Basic).
pub async fn sign_in(
    store: &dyn Store,
    user: &str,
    password: &str,
    _now: OffsetDateTime,
) -> Result<Actor, AuthError> {
    check_person(store, user, |_, phc| verify_password(password, phc)).await
}

/// The person named `user`, if `accept` takes their id and stored password hash and the
/// account is usable.
async fn check_person(
    store: &dyn Store,
    user: &str,
    accept: impl FnOnce(Uuid, &str) -> bool,
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
    if !accept(principal.id, &hash) {
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

/// How long a verified Basic name and password is taken without argon2.
const REMEMBER: Duration = Duration::from_secs(300);

/// At most this many remembered pairs; past it, expired ones go, then all.
const MAX_REMEMBERED: usize = 10_000;

/// Passwords sent with HTTP Basic come with every request. Checking each with argon2 would
/// cost tens of milliseconds of CPU a request, and would let anyone guess passwords at that
/// rate, past the console's limit. So a verified pair is remembered for a while, keyed by a
/// salted hash of name and password (the password itself is not kept), together with the
/// stored hash it was checked against: a changed password or a disabled account ends it at
/// once, as both are re-read every time. The checks that do run argon2 count against the
/// same per-address limit as console sign-ins.
pub struct BasicPasswords {
    salt: [u8; 32],
    remembered: Mutex<HashMap<[u8; 32], Verified>>,
    limiter: Arc<Limiter>,
}

struct Verified {
    principal: Uuid,
    phc: String,
    at: Instant,
}

impl BasicPasswords {
    pub fn new(limiter: Arc<Limiter>) -> Self {
        // SipHash under the process's random key (from the OS): unpredictable without it,
        // which is all a salt against precomputed tables needs.
        use std::hash::BuildHasher;
        let state = std::hash::RandomState::new();
        let mut salt = [0u8; 32];
        for (i, part) in salt.chunks_exact_mut(8).enumerate() {
            part.copy_from_slice(&state.hash_one(i).to_le_bytes());
        }
        BasicPasswords {
            salt,
            remembered: Mutex::default(),
            limiter,
        }
    }

    fn key(&self, user: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update((user.len() as u64).to_le_bytes());
        h.update(user.as_bytes());
        h.update(password.as_bytes());
        h.finalize().into()
    }

    fn recall(&self, key: &[u8; 32]) -> Option<(Uuid, String)> {
        let seen = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(key)
            .filter(|v| v.at.elapsed() < REMEMBER)
            .map(|v| (v.principal, v.phc.clone()))
    }

    fn remember(&self, key: [u8; 32], principal: Uuid, phc: String) {
        let mut seen = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, v| v.at.elapsed() < REMEMBER);
            if seen.len() >= MAX_REMEMBERED {
                seen.clear();
            }
        }
        seen.insert(
            key,
            Verified {
                principal,
                phc,
                at: Instant::now(),
            },
        );
    }

    fn forget(&self, key: &[u8; 32]) {
        let mut seen = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        seen.remove(key);
    }

    /// A person by name and password sent with HTTP Basic.
    pub async fn sign_in(
        &self,
        store: &dyn Store,
        user: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Result<Actor, AuthError> {
        let key = self.key(user, password);
        if let Some((id, phc)) = self.recall(&key) {
            match check_person(store, user, |p, stored| p == id && stored == phc).await {
                Err(AuthError::Invalid) => self.forget(&key),
                done => return done,
            }
        }
        if let Some(ip) = peer {
            self.limiter.check(ip).map_err(AuthError::Limited)?;
        }
        let mut verified = None;
        let actor = check_person(store, user, |p, stored| {
            let ok = verify_password(password, stored);
            if ok {
                verified = Some((p, stored.to_owned()));
            }
            ok
        })
        .await?;
        if let Some((p, phc)) = verified {
            self.remember(key, p, phc);
        }
        Ok(actor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_pairs_are_keyed_apart() {
        let limiter = Arc::new(Limiter::new(1, Duration::from_secs(60)));
        let a = BasicPasswords::new(limiter.clone());
        let b = BasicPasswords::new(limiter);
        // Where the name ends is part of the key; each process salts its own.
        assert_ne!(a.key("ab", "c"), a.key("a", "bc"));
        assert_eq!(a.key("ab", "c"), a.key("ab", "c"));
        assert_ne!(a.key("ab", "c"), b.key("ab", "c"));
        let id = Uuid::from_u128(7);
        a.remember(a.key("u", "p"), id, "$argon2id$x".into());
        assert_eq!(a.recall(&a.key("u", "p")), Some((id, "$argon2id$x".into())));
        assert_eq!(a.recall(&a.key("u", "q")), None);
        a.forget(&a.key("u", "p"));
        assert_eq!(a.recall(&a.key("u", "p")), None);
    }

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
