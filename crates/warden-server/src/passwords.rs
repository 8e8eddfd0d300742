//! HTTP Basic with a person's own password: verified once with argon2, then remembered for
//! a while, and the password checks that do run argon2 limited per address.

use crate::ratelimit::Limiter;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;
use warden_core::org::Actor;
use warden_service::Service;
use warden_service::authentication::Proof;
use warden_service::credentials::AuthError;

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
        svc: &Service,
        user: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Result<Actor, AuthError> {
        let key = self.key(user, password);
        if let Some((id, phc)) = self.recall(&key) {
            let proof = Proof::Remembered {
                principal: id,
                phc: &phc,
            };
            match svc.person(user, proof).await {
                Err(AuthError::Invalid) => self.forget(&key),
                done => return done.map(|(a, _)| a),
            }
        }
        if let Some(ip) = peer {
            self.limiter.check(ip).map_err(AuthError::Limited)?;
        }
        let (actor, phc) = svc.person(user, Proof::Password(password)).await?;
        if let Some(p) = actor.principal_id() {
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
}
