//! The tamper-evident audit trail: a SHA-256 hash chain over every recorded event.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub actor: serde_json::Value,
    pub actor_org: Option<String>,
    pub event: String,
    pub subject_type: String,
    pub subject_id: String,
    pub data: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
    /// The request that caused the entry.
    pub request_id: Option<String>,
    /// SHA-256 of the subject's new state, when the change wrote it.
    pub state_hash: Option<String>,
}

/// A signed statement of the chain's head at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at_us: i64,
    pub key_id: String,
    /// Base64 Ed25519 signature over [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    /// The bytes signed: `{"at_us":…,"hash":"…","seq":…}` (keys sorted, no spaces).
    pub fn message(seq: i64, hash: &str, at_us: i64) -> Vec<u8> {
        format!("{{\"at_us\":{at_us},\"hash\":\"{hash}\",\"seq\":{seq}}}").into_bytes()
    }
}

/// The result of recomputing the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditCheck {
    pub entries: i64,
    pub intact: bool,
    pub head_hash: String,
    /// The first entry whose sequence, link or hash does not hold.
    pub first_broken: Option<i64>,
    pub problem: Option<String>,
    /// Checkpoints whose hash matched the recomputed chain.
    pub checkpoints: i64,
}

/// The stored text fields are hashed as stored, so verification never depends on how JSON
/// would be re-serialised.
pub(crate) struct Fields<'a> {
    pub prev_hash: &'a str,
    pub seq: i64,
    pub at_us: i64,
    pub actor: &'a str,
    pub event: &'a str,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub data: &'a str,
    pub request_id: Option<&'a str>,
    pub state_hash: Option<&'a str>,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn entry_hash(f: &Fields<'_>) -> String {
    let mut material = serde_json::json!([
        f.prev_hash,
        f.seq,
        f.at_us,
        f.actor,
        f.event,
        f.subject_type,
        f.subject_id,
        f.data
    ]);
    // Entries written before request ids and state hashes existed keep their original
    // material; newer ones cover both.
    if (f.request_id.is_some() || f.state_hash.is_some())
        && let Some(a) = material.as_array_mut()
    {
        a.push(f.request_id.into());
        a.push(f.state_hash.into());
    }
    let material = material.to_string();
    let digest = Sha256::digest(material.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_covered() {
        let base = Fields {
            prev_hash: GENESIS_HASH,
            seq: 1,
            at_us: 5,
            actor: "{}",
            event: "case.opened",
            subject_type: "case",
            subject_id: "x",
            data: "{}",
            request_id: None,
            state_hash: None,
        };
        let h = entry_hash(&base);
        assert_eq!(h.len(), 64);
        let variants = [
            Fields { seq: 2, ..base },
            Fields { at_us: 6, ..base },
            Fields {
                actor: "{\"a\":1}",
                ..base
            },
            Fields {
                event: "case.closed",
                ..base
            },
            Fields {
                subject_type: "measure",
                ..base
            },
            Fields {
                subject_id: "y",
                ..base
            },
            Fields {
                data: "{\"b\":1}",
                ..base
            },
            Fields {
                prev_hash: "1",
                ..base
            },
        ];
        for v in &variants {
            assert_ne!(entry_hash(v), h);
        }
    }
}
