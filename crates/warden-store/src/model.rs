//! What the store keeps and hands back: versioned objects, the changesets that write them,
//! the filters and pages of listings, and the records of blocks, imports and sessions.

use crate::error::{Result, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::{Appeal, Case, Enforcement, Event, Measure, Report};
use warden_core::notice::SignedNotice;
use warden_core::org::{Actor, ApiToken, Organisation, Principal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    pub backend: Backend,
    pub schema_version: i64,
}

/// An object with the version a later write must name.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub version: i64,
    pub value: T,
}

/// One object written by a commit. `expected: None` inserts; `Some(v)` updates version `v`
/// and fails with [`StoreError::Conflict`] if someone else wrote it first.
#[derive(Debug, Clone)]
pub enum Write {
    Organisation {
        org: Organisation,
        expected: Option<i64>,
    },
    Principal {
        principal: Principal,
        expected: Option<i64>,
    },
    Report {
        report: Report,
        expected: Option<i64>,
    },
    Case {
        case: Case,
        expected: Option<i64>,
    },
    Measure {
        measure: Measure,
        expected: Option<i64>,
    },
    Appeal {
        appeal: Appeal,
        expected: Option<i64>,
    },
    Inquiry {
        inquiry: warden_core::lifecycle::Inquiry,
        expected: Option<i64>,
    },
    /// `hash` (SHA-256 of the secret, hex) is required on insert and never changes.
    Token {
        token: ApiToken,
        hash: Option<String>,
        expected: Option<i64>,
    },
    SigningKey {
        key: SigningKeyRecord,
        expected: Option<i64>,
    },
    Enforcement {
        enforcement: Enforcement,
        expected: Option<i64>,
    },
    Bulletin {
        bulletin: warden_core::bulletin::Bulletin,
        expected: Option<i64>,
    },
    AllowlistEntry {
        entry: warden_core::allowlist::AllowlistRecord,
        expected: Option<i64>,
    },
    ResourceClaim {
        claim: warden_core::resources::ResourceClaim,
        expected: Option<i64>,
    },
    /// Notices are immutable once signed: insert only.
    Notice {
        notice: SignedNotice,
        recipient_org_id: Uuid,
    },
    /// A one-time link (invitation or password reset): insert only.
    Link {
        link: LinkRecord,
    },
    /// Uses a one-time link: refused (`Conflict`) when it was used already or has expired.
    UseLink {
        id_hash: String,
    },
    /// Sets (or replaces) a person's TOTP second factor.
    SecondFactor {
        factor: SecondFactorRecord,
    },
    /// Sets (or replaces) a person's argon2 password hash. Not versioned in history: old
    /// hashes are not worth keeping.
    Password {
        principal_id: Uuid,
        hash: String,
    },
}

/// An authority's signing key. The private half is sealed (encrypted under the master key)
/// by the service; the store never sees it in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    pub key_id: String,
    pub org_id: Uuid,
    pub org_slug: String,
    /// Base64 of the Ed25519 public key.
    pub public_key: String,
    /// Base64 of nonce ‖ ciphertext of the 32-byte secret key.
    pub sealed_private: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
    /// The platform root key's signature over the key as published (its state now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement: Option<String>,
}

/// How many notices an organisation received (in a province, or in all) and how many of them
/// went overdue: the compliance figures, as the tallies keep them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureCount {
    pub recipient_org: Uuid,
    pub recipient_slug: String,
    pub notices: u64,
    pub overdue: u64,
}

/// A block measure as the blocklist sees it: its target and the facts an export shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBlock {
    pub measure_id: Uuid,
    pub target_kind: String,
    pub target_value: String,
    /// None in records written before scopes existed: the type's default applies.
    pub scope: Option<String>,
    pub range_last: Option<String>,
    pub recipient_id: Uuid,
    pub recipient_slug: String,
    pub reference: String,
    pub since: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub listed_serial: i64,
}

/// One step of the blocklist change sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockChange {
    pub serial: i64,
    /// Listed from here on (true) or no longer (false).
    pub listed: bool,
    /// When the change was recorded.
    pub at: OffsetDateTime,
    pub block: ListedBlock,
}

/// Which versions of each block a `block_versions` read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionSelect {
    /// Only each block's latest change.
    #[default]
    Last,
    /// Only each block's first change.
    First,
    All,
}

/// A read of the blocklist change sequence as versions of each block (TAXII collections).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockVersionQuery {
    /// Changes after this serial (paging).
    pub after_serial: i64,
    /// Changes recorded strictly after this time.
    pub added_after: Option<OffsetDateTime>,
    pub recipient: Option<Uuid>,
    pub measure: Option<Uuid>,
    pub versions: VersionSelect,
    pub limit: u32,
}

/// Which versions of cases to page through, in the order they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseVersionQuery {
    /// The position of the last version already seen (0: from the start).
    pub after: i64,
    pub added_after: Option<OffsetDateTime>,
    /// One case only.
    pub case: Option<Uuid>,
    pub versions: VersionSelect,
    pub limit: u32,
}

/// A stored version of a case, with its position in the write order.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseVersion {
    pub position: i64,
    pub version: i64,
    pub at: OffsetDateTime,
    pub case: warden_core::lifecycle::Case,
}

/// A one-time link that lets a person set a password: an invitation or a reset. The link
/// holds a random secret; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    pub id_hash: String,
    pub principal_id: Uuid,
    /// `invitation` or `reset`.
    pub purpose: String,
    pub created: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub used: Option<OffsetDateTime>,
}

/// A person's TOTP (RFC 6238) second factor: the secret sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactorRecord {
    pub principal_id: Uuid,
    pub sealed_secret: String,
    /// When the person proved it with a first code; until then it is not asked at sign-in.
    pub confirmed: Option<OffsetDateTime>,
    /// The last time step accepted: a code is good once.
    pub last_step: i64,
}

/// A console session (its secret's hash, never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub principal_id: Uuid,
    /// The token every form of the session must carry.
    pub csrf: String,
    pub created: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub ended: Option<OffsetDateTime>,
}

/// One bulk feed import and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    /// csv, ndjson, plain, stix, misp.
    pub format: String,
    /// The file name, or the label an HTTP upload gave.
    pub source: String,
    /// receiving (HTTP upload arriving), queued, running, complete, failed.
    pub status: String,
    pub started: OffsetDateTime,
    pub finished: Option<OffsetDateTime>,
    /// Lines read (and committed, with what they brought) so far.
    pub lines: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Indicators no feed had brought before.
    pub new_indicators: u64,
    /// Bytes of an HTTP upload.
    pub bytes: u64,
    /// Why an import failed.
    pub detail: Option<String>,
}

impl ImportRecord {
    /// A new import of `org_id`, running from `now`.
    pub fn start(org_id: Uuid, format: &str, source: &str, now: OffsetDateTime) -> ImportRecord {
        ImportRecord {
            id: Uuid::now_v7(),
            org_id,
            format: format.to_owned(),
            source: source.to_owned(),
            status: "running".into(),
            started: now,
            finished: None,
            lines: 0,
            accepted: 0,
            rejected: 0,
            new_indicators: 0,
            bytes: 0,
            detail: None,
        }
    }
}

/// A line or object an import refused: its number among the import's rejects (from 1),
/// where it was, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReject {
    pub n: u64,
    pub place: String,
    pub reason: String,
}

/// The rejects kept per import (all are counted).
pub const IMPORT_REJECTS_KEPT: u64 = 100_000;

/// A batch of feed indicators made ready for `Store::add_feed_rows`: in key order (the
/// writes then walk the index forwards), repeats merged, and encoded once. Making one is pure
/// work, so an import does it on its parsing thread while the writer writes the batch before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRows {
    /// `[[kind, value, count], …]`, unpacked by the database itself: one statement per batch.
    json: String,
}

impl FeedRows {
    /// From (kind, value, count) triples: each indicator a feed brought, `count` times.
    pub fn new<K: AsRef<str>, V: AsRef<str>>(
        rows: impl IntoIterator<Item = (K, V, u64)>,
    ) -> Result<FeedRows> {
        let mut rows: Vec<(K, V, u64)> = rows.into_iter().collect();
        rows.sort_unstable_by(|a, b| {
            (a.0.as_ref(), a.1.as_ref()).cmp(&(b.0.as_ref(), b.1.as_ref()))
        });
        let mut merged: Vec<(&str, &str, i64)> = Vec::with_capacity(rows.len());
        for (k, v, n) in &rows {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            match merged.last_mut() {
                // One indicator twice: one row (a database refuses to upsert a row twice in
                // one statement).
                Some(last) if last.0 == k.as_ref() && last.1 == v.as_ref() => {
                    last.2 = last.2.saturating_add(n)
                }
                _ => merged.push((k.as_ref(), v.as_ref(), n)),
            }
        }
        let json =
            serde_json::to_string(&merged).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(FeedRows { json })
    }

    pub(crate) fn into_json(self) -> String {
        self.json
    }
}

impl Default for FeedRows {
    fn default() -> Self {
        FeedRows { json: "[]".into() }
    }
}

/// What the feeds know of one indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedIndicator {
    pub kind: String,
    pub value: String,
    pub sightings: u64,
    pub first_seen: OffsetDateTime,
    pub last_seen: OffsetDateTime,
    pub first_org: Uuid,
    pub first_import: Uuid,
    pub last_import: Uuid,
}

/// Which measures (notices) to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeasureFilter {
    pub recipient_org: Option<Uuid>,
    pub deciding_org: Option<Uuid>,
    pub determining_org: Option<Uuid>,
    pub province: Option<String>,
    pub status: Option<String>,
    pub overdue: Option<bool>,
    /// The category of the measure's case.
    pub category: Option<String>,
    /// Decided at or after.
    pub decided_from: Option<OffsetDateTime>,
    /// Decided before.
    pub decided_to: Option<OffsetDateTime>,
    /// Leave out measures whose recipient has not been told yet (status `pending`).
    pub notified_only: bool,
    /// The measures of one case.
    pub case_id: Option<Uuid>,
}

/// Which look-up requests to list (Art. 9).
#[derive(Debug, Clone, Default)]
pub struct InquiryFilter {
    pub addressee_org: Option<Uuid>,
    /// Asked by or for this organisation (the authority or the asking institution).
    pub party_org: Option<Uuid>,
    pub province: Option<String>,
    pub status: Option<String>,
    pub overdue: Option<bool>,
}

/// A retried write carries the same key: the first commit stores its response, later ones get
/// that response back without applying anything.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    /// Whose key it is (a principal id): keys of different callers never collide.
    pub scope: String,
    pub key: String,
    /// A digest of the request, so a reused key with another request is refused.
    pub request_hash: String,
    pub response: serde_json::Value,
}

/// Objects and their audit records, written in one transaction or not at all.
#[derive(Debug, Clone)]
pub struct Changeset {
    pub actor: Actor,
    pub at: OffsetDateTime,
    pub writes: Vec<Write>,
    pub events: Vec<Event>,
    pub idempotency: Option<IdempotencyClaim>,
    /// The request that caused the change, recorded with each audit entry.
    pub request_id: Option<String>,
}

impl Changeset {
    /// Objects and their audit events, without an idempotency key or request id.
    pub fn new(actor: Actor, at: OffsetDateTime, writes: Vec<Write>, events: Vec<Event>) -> Self {
        Changeset {
            actor,
            at,
            writes,
            events,
            idempotency: None,
            request_id: None,
        }
    }
}

/// What a bulk load wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    pub changesets: u64,
    pub writes: u64,
    pub audit_entries: u64,
    /// The audit chain's last sequence number after the load.
    pub audit_seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    Applied {
        audit_seq: i64,
    },
    /// The idempotency key was already used for this request: nothing was applied again.
    Replayed {
        response: serde_json::Value,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub category: Option<String>,
    pub province: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub reporter_org: Option<Uuid>,
    pub opened_from: Option<OffsetDateTime>,
    pub opened_to: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass back to get the next page. None on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectVersion {
    pub version: i64,
    pub body: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Which cases and notices the timeliness figures and the dashboard count. Cases are
/// selected by the `case_*` and `opened_*` fields; notices by the `measure_*` fields, and in
/// the timeliness report also by their case being selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimingScope {
    /// Cases opened at or after.
    pub opened_from: Option<OffsetDateTime>,
    /// Cases opened before.
    pub opened_to: Option<OffsetDateTime>,
    pub case_province: Option<String>,
    pub case_assigned_to: Option<Uuid>,
    /// Cases a report of this organisation joined.
    pub case_reporter: Option<Uuid>,
    /// Notices decided at or after (the dashboard's window).
    pub decided_from: Option<OffsetDateTime>,
    pub measure_province: Option<String>,
    pub measure_determining_org: Option<Uuid>,
    pub measure_recipient: Option<Uuid>,
}

/// The dashboard's figures of the notices decided in its window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeFigures {
    pub notices: u64,
    /// Decision → first report-back, in `warden_core::stats::HANDLING_BUCKETS` and beyond.
    pub handling: [u64; 7],
    /// Notices with no report-back yet.
    pub awaiting_report: u64,
    /// Overdue notices by province (None: no province) and by recipient slug, every one.
    pub overdue_by_province: Vec<(Option<String>, u64)>,
    pub overdue_by_org: Vec<(String, u64)>,
}
