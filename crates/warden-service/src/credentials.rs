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

/// TOTP (RFC 6238 over RFC 4226): HMAC-SHA1, 30-second steps, 6 digits — what authenticator
/// apps compute from an `otpauth://` secret.
pub mod totp {
    use hmac::{Hmac, KeyInit, Mac};

    pub const STEP_SECONDS: i64 = 30;
    pub const DIGITS: u32 = 6;

    /// The time step of a Unix time.
    pub fn step(unix: i64) -> i64 {
        unix.div_euclid(STEP_SECONDS)
    }

    /// The code of `secret` at time step `step`.
    pub fn code(secret: &[u8], step: i64) -> u32 {
        let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret) else {
            return u32::MAX; // HMAC takes keys of any length: never reached.
        };
        mac.update(&step.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let off = usize::from(h[h.len() - 1] & 0x0f);
        let bin = (u32::from(h[off] & 0x7f) << 24)
            | (u32::from(h[off + 1]) << 16)
            | (u32::from(h[off + 2]) << 8)
            | u32::from(h[off + 3]);
        bin % 10u32.pow(DIGITS)
    }

    /// The step a typed code belongs to, among the current one and one either side (clocks
    /// drift): the step to mark used, or none.
    pub fn matching_step(secret: &[u8], unix: i64, typed: &str) -> Option<i64> {
        let typed = typed.trim().replace(' ', "");
        if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let want: u32 = typed.parse().ok()?;
        let now = step(unix);
        [now, now - 1, now + 1]
            .into_iter()
            .find(|s| code(secret, *s) == want)
    }

    /// RFC 4648 base32 without padding: how the secret is shown and put in the URI.
    pub fn base32(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
        let (mut buf, mut bits) = (0u32, 0u32);
        for b in bytes {
            buf = (buf << 8) | u32::from(*b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// The `otpauth://` URI an authenticator app reads (as a QR code or typed).
    pub fn uri(secret: &[u8], account: &str) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        format!(
            "otpauth://totp/Warden:{}?secret={}&issuer=Warden&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            enc(account),
            base32(secret)
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn rfc_6238_and_rfc_4648_vectors() {
            // RFC 6238 Appendix B, SHA-1, truncated to six digits.
            let secret = b"12345678901234567890";
            for (t, eight) in [
                (59, 94287082u32),
                (1111111109, 7081804),
                (1111111111, 14050471),
                (1234567890, 89005924),
                (2000000000, 69279037),
                (20000000000, 65353130),
            ] {
                assert_eq!(code(secret, step(t)), eight % 1_000_000, "T={t}");
            }
            assert_eq!(matching_step(secret, 59, "287082"), Some(1));
            assert_eq!(
                matching_step(secret, 59 + 30, "287 082"),
                Some(1),
                "one step late"
            );
            assert_eq!(matching_step(secret, 59 + 90, "287082"), None);
            assert_eq!(matching_step(secret, 59, "28708"), None);
            // RFC 4648 section 10.
            for (plain, enc) in [
                ("f", "MY"),
                ("fo", "MZXQ"),
                ("foo", "MZXW6"),
                ("foob", "MZXW6YQ"),
                ("fooba", "MZXW6YTB"),
                ("foobar", "MZXW6YTBOI"),
            ] {
                assert_eq!(base32(plain.as_bytes()), enc);
            }
            assert!(uri(secret, "admin@miit").starts_with(
                "otpauth://totp/Warden:admin%40miit?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"
            ));
        }
    }
}
