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

/// A signed statement of the chain's head at a time. Checkpoints are numbered from 1 and each
/// signs the digest of the one before it (`prev`), so they form a chain of their own: one
/// taken away, put back in another order or made up shows at the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub number: i64,
    pub seq: i64,
    pub hash: String,
    pub at_us: i64,
    /// [`Checkpoint::digest`] of checkpoint `number - 1` ([`GENESIS_HASH`] for the first);
    /// empty in checkpoints signed before they were linked.
    #[serde(default)]
    pub prev: String,
    pub key_id: String,
    /// Base64 Ed25519 signature over [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    /// The bytes signed: `{"at_us":…,"hash":"…","number":…,"prev":"…","seq":…}` (keys sorted,
    /// no spaces); checkpoints from before the link sign `{"at_us":…,"hash":"…","seq":…}`.
    pub fn message(&self) -> Vec<u8> {
        let (at_us, hash, seq) = (self.at_us, &self.hash, self.seq);
        if self.prev.is_empty() {
            return format!("{{\"at_us\":{at_us},\"hash\":\"{hash}\",\"seq\":{seq}}}").into_bytes();
        }
        format!(
            "{{\"at_us\":{at_us},\"hash\":\"{hash}\",\"number\":{},\"prev\":\"{}\",\"seq\":{seq}}}",
            self.number, self.prev
        )
        .into_bytes()
    }

    /// SHA-256 (hex) of the signed message: what the next checkpoint links to.
    pub fn digest(&self) -> String {
        sha256_hex(&self.message())
    }

    /// The link the next checkpoint carries: the digest of `last`, or the genesis value.
    pub fn link_after(last: Option<&Checkpoint>) -> String {
        last.map_or_else(|| GENESIS_HASH.to_owned(), Checkpoint::digest)
    }
}

/// Checks that checkpoints (sorted by number) are numbered 1, 2, … without a gap, cover a
/// growing part of the chain, and each links to the one before; checkpoints signed before
/// links existed may only come first. Returns the first that does not hold, and why.
pub fn check_checkpoint_links(cps: &[Checkpoint]) -> std::result::Result<(), (i64, String)> {
    let mut before: Option<&Checkpoint> = None;
    for (i, cp) in cps.iter().enumerate() {
        let want = i as i64 + 1;
        if cp.number != want {
            return Err((
                cp.seq,
                format!(
                    "checkpoint {want} is missing (the next one is numbered {}): checkpoints were removed",
                    cp.number
                ),
            ));
        }
        if let Some(b) = before {
            if cp.seq <= b.seq {
                return Err((
                    cp.seq,
                    format!(
                        "checkpoint {} covers entry {} but checkpoint {} already covered entry {}: checkpoints were reordered",
                        cp.number, cp.seq, b.number, b.seq
                    ),
                ));
            }
            if cp.prev.is_empty() && !b.prev.is_empty() {
                return Err((
                    cp.seq,
                    format!(
                        "checkpoint {} carries no link to checkpoint {}",
                        cp.number, b.number
                    ),
                ));
            }
        }
        if !cp.prev.is_empty() && cp.prev != Checkpoint::link_after(before) {
            return Err((
                cp.seq,
                format!(
                    "checkpoint {} does not link to checkpoint {}: checkpoints were removed, reordered or replaced",
                    cp.number,
                    cp.number - 1
                ),
            ));
        }
        before = Some(cp);
    }
    Ok(())
}

/// What the checkpoint job found when the trail since the last checkpoint did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditAlert {
    pub first_broken: i64,
    pub problem: String,
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: time::OffsetDateTime,
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

/// The part of the trail a provincial authority's auditors read: the entries about its
/// province's cases, measures, reports, appeals, look-ups and enforcement records, and those
/// its own organisation made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditScope {
    pub province: String,
    pub org_slug: String,
}

/// One object whose live row disagrees with the trail or with itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    pub subject_type: String,
    pub id: String,
    /// `body`, `state`, `id` or the column that disagrees.
    pub field: String,
    pub problem: String,
}

/// What the deep check read and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeepCheck {
    pub objects: i64,
    /// Every difference found; the first 1,000 are in `discrepancies`.
    pub differences: i64,
    pub discrepancies: Vec<Discrepancy>,
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

/// Feeds what a serialiser writes straight into the digest.
struct Digesting(Sha256);

impl std::io::Write for Digesting {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The SHA-256 of an entry's material: the compact JSON array of its fields, serialised
/// straight into the digest (a tuple serialises as the array `serde_json::json!` would make).
pub(crate) fn entry_hash(f: &Fields<'_>) -> String {
    let mut d = Digesting(Sha256::new());
    let head = (
        f.prev_hash,
        f.seq,
        f.at_us,
        f.actor,
        f.event,
        f.subject_type,
        f.subject_id,
        f.data,
    );
    // Entries written before request ids and state hashes existed keep their original
    // material; newer ones cover both. Writing to a digest cannot fail.
    let _ = if f.request_id.is_some() || f.state_hash.is_some() {
        let (a, b, c, e, g, h, i, j) = head;
        serde_json::to_writer(
            &mut d,
            &(a, b, c, e, g, h, i, j, f.request_id, f.state_hash),
        )
    } else {
        serde_json::to_writer(&mut d, &head)
    };
    hex(&d.0.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The material as it was first hashed: the chain of every installation depends on the
    /// streamed hash giving the very same digest.
    fn reference_hash(f: &Fields<'_>) -> String {
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
        if (f.request_id.is_some() || f.state_hash.is_some())
            && let Some(a) = material.as_array_mut()
        {
            a.push(f.request_id.into());
            a.push(f.state_hash.into());
        }
        let digest = Sha256::digest(material.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn streamed_hash_is_the_reference_hash() {
        let texts = [
            "",
            "plain",
            "\"quoted\" \\ back\\slash",
            "tab\tnew\nline\r\u{0}\u{1f}\u{7f}",
            "中文 网络安全 🚫 \u{2028}\u{2029}",
            r#"{"kind":"principal","name":"rob","org":{"slug":"ca-guangdong"}}"#,
        ];
        for (i, t) in texts.iter().enumerate() {
            for (request_id, state_hash) in [
                (None, None),
                (Some(*t), None),
                (None, Some("ab12")),
                (Some("req-1"), Some(*t)),
            ] {
                let f = Fields {
                    prev_hash: t,
                    seq: i as i64 * 1_000_000_007 - 3,
                    at_us: -(i as i64) * 86_400_000_000 + i64::MAX / 3,
                    actor: t,
                    event: "case.decided",
                    subject_type: t,
                    subject_id: t,
                    data: t,
                    request_id,
                    state_hash,
                };
                assert_eq!(entry_hash(&f), reference_hash(&f), "{t:?}");
            }
        }
    }

    fn chain(n: i64) -> Vec<Checkpoint> {
        let mut out: Vec<Checkpoint> = Vec::new();
        for i in 1..=n {
            let cp = Checkpoint {
                number: i,
                seq: i * 10,
                hash: format!("{i:064x}"),
                at_us: i,
                prev: Checkpoint::link_after(out.last()),
                key_id: "platform:k".into(),
                signature: "s".into(),
            };
            out.push(cp);
        }
        out
    }

    #[test]
    fn checkpoints_removed_reordered_or_replaced_show() {
        assert!(check_checkpoint_links(&chain(4)).is_ok());
        let mut gap = chain(4);
        gap.remove(1);
        assert!(
            check_checkpoint_links(&gap)
                .unwrap_err()
                .1
                .contains("checkpoint 2 is missing")
        );
        let mut first_gone = chain(3);
        first_gone.remove(0);
        assert!(check_checkpoint_links(&first_gone).is_err());
        // Renumbered after a removal: the links no longer hold.
        let mut renumbered = chain(4);
        renumbered.remove(1);
        for (i, c) in renumbered.iter_mut().enumerate() {
            c.number = i as i64 + 1;
        }
        assert!(
            check_checkpoint_links(&renumbered)
                .unwrap_err()
                .1
                .contains("does not link")
        );
        let mut swapped = chain(3);
        let (a, b) = (swapped[1].seq, swapped[2].seq);
        swapped[1].seq = b;
        swapped[2].seq = a;
        assert!(check_checkpoint_links(&swapped).is_err());
        let mut replaced = chain(3);
        replaced[1].hash = format!("{:064x}", 99);
        assert!(
            check_checkpoint_links(&replaced)
                .unwrap_err()
                .1
                .contains("checkpoint 3 does not link")
        );
        // Unlinked checkpoints from before links existed may only come first.
        let mut legacy = chain(3);
        legacy[0].prev.clear();
        legacy[1].prev = Checkpoint::link_after(Some(&legacy[0]));
        legacy[2].prev = Checkpoint::link_after(Some(&legacy[1]));
        assert!(check_checkpoint_links(&legacy).is_ok());
        legacy[2].prev.clear();
        assert!(check_checkpoint_links(&legacy).is_err());
    }

    #[test]
    fn the_signed_message_covers_the_link_and_number() {
        let c = chain(2);
        let mut d = c[1].clone();
        d.number = 5;
        assert_ne!(c[1].message(), d.message());
        let mut e = c[1].clone();
        e.prev = GENESIS_HASH.into();
        assert_ne!(c[1].message(), e.message());
        assert_eq!(
            String::from_utf8(c[0].message()).unwrap(),
            format!(
                "{{\"at_us\":1,\"hash\":\"{:064x}\",\"number\":1,\"prev\":\"{GENESIS_HASH}\",\"seq\":10}}",
                1
            )
        );
    }

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
