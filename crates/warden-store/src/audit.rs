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
}

pub(crate) fn entry_hash(f: &Fields<'_>) -> String {
    let material = serde_json::json!([
        f.prev_hash,
        f.seq,
        f.at_us,
        f.actor,
        f.event,
        f.subject_type,
        f.subject_id,
        f.data
    ])
    .to_string();
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
