//! The authorities' notice-signing keys. Each telecom authority gets an Ed25519 key on first
//! start; private keys are sealed with ChaCha20-Poly1305 under a master key that lives in a
//! file (never in the database, never in logs), so every server sharing the database and
//! the master key file can sign.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ed25519_dalek::SigningKey;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::{Event, Subject, SubjectKind};
use warden_core::notice::{self, KeySet, PublicKey};
use warden_core::org::{Actor, Organisation};
use warden_store::{Changeset, SigningKeyRecord, Store, StoreError, Write};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key file {path}: {problem}")]
    MasterKey { path: String, problem: String },
    #[error("signing key {0} cannot be opened with this master key (a different master key file?)")]
    Unseal(String),
    #[error("{0} has no signing key")]
    NoKey(String),
    #[error("no randomness available: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// 32 secret bytes; `Debug` never shows them.
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(b)
}

impl MasterKey {
    /// Reads the key file, or creates it (owner-only permissions) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, KeyError> {
        let err = |problem: String| KeyError::MasterKey {
            path: path.display().to_string(),
            problem,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                // Like ssh with its keys: a master key others can read is refused, not used.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    let mode = std::fs::metadata(path)
                        .map_err(|e| err(e.to_string()))?
                        .permissions()
                        .mode();
                    if mode & 0o077 != 0 {
                        return Err(err(format!(
                            "readable by others (mode {:o}): make it the owner's alone with chmod 600",
                            mode & 0o777
                        )));
                    }
                }
                let bytes = B64
                    .decode(text.trim())
                    .map_err(|_| err("not base64".into()))?;
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| err("must hold 32 bytes (base64)".into()))?;
                Ok(MasterKey(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random::<32>()?;
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt as _;
                    opts.mode(0o600);
                }
                use std::io::Write as _;
                let mut f = opts.open(path).map_err(|e| err(e.to_string()))?;
                writeln!(f, "{}", B64.encode(key)).map_err(|e| err(e.to_string()))?;
                f.sync_all().map_err(|e| err(e.to_string()))?;
                tracing::info!(path = %path.display(), "created a new master key file");
                Ok(MasterKey(key))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// A key that is never stored, for tools that read and write but sign nothing (the
    /// command line's organisation commands): anything sealed with it is lost with the process.
    pub fn ephemeral() -> Result<MasterKey, KeyError> {
        Ok(MasterKey(random::<32>()?))
    }

    #[cfg(test)]
    pub fn from_bytes(b: [u8; 32]) -> MasterKey {
        MasterKey(b)
    }

    /// The platform's own key, which signs audit checkpoints: derived from the master key,
    /// so every server holding the master key file signs with the same key and nothing
    /// secret is stored for it.
    pub fn platform_key(&self) -> SigningKey {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"warden platform audit checkpoint key\0");
        h.update(self.0);
        SigningKey::from_bytes(&h.finalize().into())
    }

    /// The platform's root key, which endorses every published key: derived from the master
    /// key like the checkpoint key, under another label.
    pub fn root_key(&self) -> SigningKey {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"warden platform root key\0");
        h.update(self.0);
        SigningKey::from_bytes(&h.finalize().into())
    }

    /// The root key's fingerprint: SHA-256 (hex) of its public key, as `warden init` prints
    /// it and `warden notice verify --root` takes it.
    pub fn root_fingerprint(&self) -> String {
        notice::fingerprint(&self.root_key().verifying_key().to_bytes())
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(self.0))
    }

    fn seal(&self, secret: &[u8], aad_key_id: &str) -> Result<String, KeyError> {
        let nonce = random::<12>()?;
        let ct = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                chacha20poly1305::aead::Payload {
                    msg: secret,
                    aad: aad_key_id.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Unseal(aad_key_id.to_owned()))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(B64.encode(out))
    }

    fn unseal(&self, sealed: &str, key_id: &str) -> Result<SigningKey, KeyError> {
        let pt = self.unseal_bytes(sealed, key_id)?;
        let secret: [u8; 32] = pt
            .try_into()
            .map_err(|_| KeyError::Unseal(key_id.to_owned()))?;
        Ok(SigningKey::from_bytes(&secret))
    }

    fn unseal_bytes(&self, sealed: &str, key_id: &str) -> Result<Vec<u8>, KeyError> {
        let bad = || KeyError::Unseal(key_id.to_owned());
        let raw = B64.decode(sealed).map_err(|_| bad())?;
        if raw.len() < 12 {
            return Err(bad());
        }
        let (nonce, ct) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| bad())?;
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                chacha20poly1305::aead::Payload {
                    msg: ct,
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| bad())
    }
}

/// Signing keys by authority, unsealed on first use.
pub struct KeyRing {
    master: MasterKey,
    cache: Mutex<HashMap<Uuid, (String, SigningKey)>>,
}

/// The organisation name under which the platform key is published.
pub const PLATFORM: &str = "platform";

impl KeyRing {
    /// The platform key and its id.
    pub fn platform(&self) -> (String, SigningKey) {
        let k = self.master.platform_key();
        (notice::key_id(PLATFORM, &k.verifying_key()), k)
    }

    pub fn new(master: MasterKey) -> Self {
        KeyRing {
            master,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Seals a secret other than a signing key (a person's TOTP secret) under the master key,
    /// bound to `purpose` (which must be given again to open it).
    pub fn seal_secret(&self, secret: &[u8], purpose: &str) -> Result<String, KeyError> {
        self.master.seal(secret, purpose)
    }

    pub fn unseal_secret(&self, sealed: &str, purpose: &str) -> Result<Vec<u8>, KeyError> {
        self.master.unseal_bytes(sealed, purpose)
    }

    /// Gives every telecom authority without an active key a new one.
    pub async fn ensure_keys(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
    ) -> Result<usize, KeyError> {
        self.endorse_unendorsed(store, now).await?;
        let existing = store.signing_keys().await?;
        let mut created = 0;
        for org in store.organisations().await? {
            let org = org.value;
            let has = existing
                .iter()
                .any(|k| k.value.org_id == org.id && k.value.retired_at.is_none());
            if org.org_type.is_authority() && !has {
                self.create_key(store, &org, now).await?;
                created += 1;
            }
        }
        Ok(created)
    }

    /// The root key's endorsement of a key as published.
    fn endorse(&self, k: &SigningKeyRecord) -> String {
        use ed25519_dalek::ed25519::signature::Signer as _;
        let sig: ed25519_dalek::Signature = self
            .master
            .root_key()
            .sign(&public_key(k.clone()).endorsement_message());
        B64.encode(sig.to_bytes())
    }

    /// Keys from before endorsements existed are endorsed as they stand, but only those whose
    /// sealed private half opens under the master key and matches: a key written into the
    /// database by anyone without the master key is never endorsed.
    async fn endorse_unendorsed(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
    ) -> Result<usize, KeyError> {
        let mut writes = vec![];
        for k in store.signing_keys().await? {
            if k.value.endorsement.is_some() {
                continue;
            }
            let genuine = self
                .master
                .unseal(&k.value.sealed_private, &k.value.key_id)
                .is_ok_and(|s| notice::public_key_b64(&s.verifying_key()) == k.value.public_key);
            if !genuine {
                tracing::error!(key_id = %k.value.key_id, "a signing key in the database does not open under the master key: not endorsed, not published as endorsed");
                continue;
            }
            let mut r = k.value.clone();
            r.endorsement = Some(self.endorse(&r));
            writes.push(Write::SigningKey {
                key: r,
                expected: Some(k.version),
            });
        }
        let n = writes.len();
        if n > 0 {
            tracing::warn!(
                keys = n,
                "endorsed signing keys that carried no endorsement"
            );
            store
                .commit(Changeset::new(Actor::system("keys"), now, writes, vec![]))
                .await?;
        }
        Ok(n)
    }

    /// A new key for `org`; its previous keys are retired but stay published.
    pub async fn create_key(
        &self,
        store: &dyn Store,
        org: &Organisation,
        now: OffsetDateTime,
    ) -> Result<String, KeyError> {
        let secret = random::<32>()?;
        let signing = SigningKey::from_bytes(&secret);
        let key_id = notice::key_id(&org.slug, &signing.verifying_key());
        let record = SigningKeyRecord {
            key_id: key_id.clone(),
            org_id: org.id,
            org_slug: org.slug.clone(),
            public_key: notice::public_key_b64(&signing.verifying_key()),
            sealed_private: self.master.seal(&secret, &key_id)?,
            created_at: now,
            retired_at: None,
            endorsement: None,
        };
        let record = SigningKeyRecord {
            endorsement: Some(self.endorse(&record)),
            ..record
        };
        let mut writes = vec![];
        let mut events = vec![];
        for old in store.signing_keys().await? {
            if old.value.org_id == org.id && old.value.retired_at.is_none() {
                let mut r = old.value.clone();
                r.retired_at = Some(now);
                r.endorsement = Some(self.endorse(&r));
                events.push(Event {
                    name: "signing_key.retired".into(),
                    subject: Subject {
                        kind: SubjectKind::Organisation,
                        id: org.id,
                    },
                    data: serde_json::json!({"key_id": r.key_id}),
                });
                writes.push(Write::SigningKey {
                    key: r,
                    expected: Some(old.version),
                });
            }
        }
        events.push(Event {
            name: "signing_key.created".into(),
            subject: Subject {
                kind: SubjectKind::Organisation,
                id: org.id,
            },
            data: serde_json::json!({"key_id": key_id, "public_key": record.public_key}),
        });
        writes.push(Write::SigningKey {
            key: record,
            expected: None,
        });
        store
            .commit(Changeset::new(Actor::system("keys"), now, writes, events))
            .await?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(org.id, (key_id.clone(), signing));
        Ok(key_id)
    }

    /// The active signing key of `org`. The active key is looked up every time, so a
    /// rotation by another process takes effect at once; only the unsealing is cached.
    pub async fn signer(
        &self,
        store: &dyn Store,
        org: &Organisation,
    ) -> Result<(String, SigningKey), KeyError> {
        let rec = store
            .signing_keys()
            .await?
            .into_iter()
            .map(|k| k.value)
            .find(|k| k.org_id == org.id && k.retired_at.is_none())
            .ok_or_else(|| KeyError::NoKey(org.slug.clone()))?;
        if let Some((id, key)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&org.id)
            && *id == rec.key_id
        {
            return Ok((id.clone(), key.clone()));
        }
        let key = self.master.unseal(&rec.sealed_private, &rec.key_id)?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(org.id, (rec.key_id.clone(), key.clone()));
        Ok((rec.key_id, key))
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(warden_core::calendar::SHANGHAI)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Every public key, retired ones included, and the platform key, each endorsed by the root
/// key published with them: `GET /api/v1/keys`.
pub async fn published(store: &dyn Store, ring: &KeyRing) -> Result<KeySet, StoreError> {
    use ed25519_dalek::ed25519::signature::Signer as _;
    let (platform_id, platform) = ring.platform();
    let mut keys = authority_keys(store).await?;
    let mut p = PublicKey {
        key_id: platform_id,
        org: PLATFORM.to_owned(),
        alg: notice::ALG.to_owned(),
        public_key: notice::public_key_b64(&platform.verifying_key()),
        created_at: String::new(),
        retired_at: None,
        endorsement: None,
    };
    // The platform key is derived from the master key as the root is: endorsing it here
    // endorses nothing the database could have put in.
    let sig: ed25519_dalek::Signature = ring.master.root_key().sign(&p.endorsement_message());
    p.endorsement = Some(B64.encode(sig.to_bytes()));
    keys.push(p);
    let root = ring.master.root_key().verifying_key();
    Ok(KeySet {
        keys,
        root: Some(notice::RootKey {
            public_key: notice::public_key_b64(&root),
            fingerprint: notice::fingerprint(&root.to_bytes()),
        }),
    })
}

fn public_key(k: SigningKeyRecord) -> PublicKey {
    PublicKey {
        key_id: k.key_id,
        org: k.org_slug,
        alg: notice::ALG.to_owned(),
        public_key: k.public_key,
        created_at: rfc3339(k.created_at),
        retired_at: k.retired_at.map(rfc3339),
        endorsement: k.endorsement,
    }
}

/// The authorities' notice-signing keys, retired ones included.
pub async fn authority_keys(store: &dyn Store) -> Result<Vec<PublicKey>, StoreError> {
    Ok(store
        .signing_keys()
        .await?
        .into_iter()
        .map(|k| public_key(k.value))
        .collect())
}

/// Base64 of the platform's checkpoint key, as published beside the checkpoints.
pub fn platform_public_key(ring: &KeyRing) -> String {
    B64.encode(ring.platform().1.verifying_key().to_bytes())
}

pub use ed25519_dalek::VerifyingKey;

/// An Ed25519 public key from its base64 form.
pub fn parse_public_key(b64: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = B64.decode(b64.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Signs checkpoint `last.number + 1` of the audit chain's head, linked to `last`.
pub fn sign_checkpoint(
    ring: &KeyRing,
    last: Option<&warden_store::Checkpoint>,
    seq: i64,
    hash: &str,
    at_us: i64,
) -> warden_store::Checkpoint {
    use ed25519_dalek::ed25519::signature::Signer as _;
    let (key_id, key) = ring.platform();
    let mut cp = warden_store::Checkpoint {
        number: last.map_or(1, |c| c.number + 1),
        seq,
        hash: hash.to_owned(),
        at_us,
        prev: warden_store::Checkpoint::link_after(last),
        key_id,
        signature: String::new(),
    };
    let sig: ed25519_dalek::Signature = key.sign(&cp.message());
    cp.signature = B64.encode(sig.to_bytes());
    cp
}

/// Whether a checkpoint carries a valid signature by this platform key.
pub fn checkpoint_signed_by(
    cp: &warden_store::Checkpoint,
    key: &ed25519_dalek::VerifyingKey,
) -> bool {
    let Some(sig) = B64
        .decode(&cp.signature)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return false;
    };
    key.verify_strict(&cp.message(), &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

/// The first of `cps` not signed by `key`, as (entry, problem).
pub fn first_unsigned_checkpoint(
    cps: &[warden_store::Checkpoint],
    key: &ed25519_dalek::VerifyingKey,
) -> Option<(i64, String)> {
    cps.iter()
        .find(|cp| !checkpoint_signed_by(cp, key))
        .map(|cp| {
            (
                cp.seq,
                format!(
                    "checkpoint {} (entry {}) is not signed by this platform's key",
                    cp.number, cp.seq
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_master_key_and_id() {
        let m = MasterKey::from_bytes([1; 32]);
        let sealed = m.seal(&[9; 32], "ca-guangdong:abcd").unwrap();
        assert!(!sealed.contains(&B64.encode([9u8; 32])));
        let k = m.unseal(&sealed, "ca-guangdong:abcd").unwrap();
        assert_eq!(k.to_bytes(), [9; 32]);
        assert!(
            m.unseal(&sealed, "ca-beijing:abcd").is_err(),
            "bound to its key id"
        );
        assert!(
            MasterKey::from_bytes([2; 32])
                .unseal(&sealed, "ca-guangdong:abcd")
                .is_err()
        );
        assert_eq!(format!("{m:?}"), "MasterKey(redacted)");
    }

    #[test]
    fn master_key_files_are_created_private_and_reread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys/master.key");
        let a = MasterKey::load_or_create(&p).unwrap();
        let b = MasterKey::load_or_create(&p).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::write(&p, "short").unwrap();
        assert!(MasterKey::load_or_create(&p).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let q = dir.path().join("copied.key");
            std::fs::write(&q, format!("{}\n", B64.encode([3u8; 32]))).unwrap();
            std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = MasterKey::load_or_create(&q).unwrap_err().to_string();
            assert!(e.contains("chmod 600") && e.contains("644"), "{e}");
            std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(MasterKey::load_or_create(&q).is_ok());
        }
    }
}
