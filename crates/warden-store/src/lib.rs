//! Warden's storage: one trait, two backends (SQLite embedded, PostgreSQL for production).
//!
//! Both backends run the same SQL through a small dialect-neutral layer (`db`), so the logic
//! of a commit (version checks, audit chain, idempotency) exists once. Queries are checked at
//! run time: building needs no database.

mod audit;
mod db;
mod postgres;
mod sql;
mod sqlite;

pub use audit::{AuditCheck, AuditEntry, Checkpoint, GENESIS_HASH};
pub use postgres::redact as redact_url;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::Indicator;
use warden_core::lifecycle::{Appeal, Case, Enforcement, Event, Measure, Report};
use warden_core::notice::SignedNotice;
use warden_core::org::{Actor, ApiToken, Organisation, Principal};

/// One error type for the crate; `code()` is stable and what the HTTP layer maps.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error(
        "{kind} {id} was changed by someone else (expected version {expected}); reload and try again"
    )]
    Conflict {
        kind: &'static str,
        id: String,
        expected: i64,
    },
    #[error("{kind} {id} already exists")]
    Duplicate { kind: &'static str, id: String },
    #[error("idempotency key {key:?} was already used for a different request")]
    IdempotencyKeyReused { key: String },
    #[error("the database schema is newer than this binary understands ({0}); upgrade warden")]
    SchemaTooNew(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("invalid database URL {url:?}: {problem}")]
    BadUrl { url: String, problem: String },
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// One error of each kind, for listing their codes.
    pub const EXAMPLES: [StoreError; 9] = [
        StoreError::NotFound {
            kind: "",
            id: String::new(),
        },
        StoreError::Conflict {
            kind: "",
            id: String::new(),
            expected: 0,
        },
        StoreError::Duplicate {
            kind: "",
            id: String::new(),
        },
        StoreError::IdempotencyKeyReused { key: String::new() },
        StoreError::SchemaTooNew(String::new()),
        StoreError::Migration(String::new()),
        StoreError::BadUrl {
            url: String::new(),
            problem: String::new(),
        },
        StoreError::Unavailable(String::new()),
        StoreError::Corrupt(String::new()),
    ];

    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "not-found",
            StoreError::Conflict { .. } => "conflict",
            StoreError::Duplicate { .. } => "duplicate",
            StoreError::IdempotencyKeyReused { .. } => "idempotency-key-reused",
            StoreError::SchemaTooNew(_) => "schema-too-new",
            StoreError::Migration(_) => "migration-failed",
            StoreError::BadUrl { .. } => "bad-database-url",
            StoreError::Unavailable(_) => "database-unavailable",
            StoreError::Corrupt(_) => "corrupt-data",
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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

/// The storage trait: everything Warden persists goes through it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Reachability and schema version.
    async fn health(&self) -> Result<Health>;

    /// Writes objects and their audit records atomically; durable when it returns.
    async fn commit(&self, changes: Changeset) -> Result<CommitOutcome>;

    /// The stored response of an earlier write with this key, if any; refuses a key reused
    /// for a different request.
    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<serde_json::Value>>;

    async fn organisation(&self, id: Uuid) -> Result<Option<Versioned<Organisation>>>;
    async fn organisation_by_slug(&self, slug: &str) -> Result<Option<Versioned<Organisation>>>;
    async fn organisations(&self) -> Result<Vec<Versioned<Organisation>>>;

    async fn principal(&self, id: Uuid) -> Result<Option<Versioned<Principal>>>;
    async fn principal_by_name(&self, name: &str) -> Result<Option<Versioned<Principal>>>;
    async fn principals_of_org(&self, org_id: Uuid) -> Result<Vec<Versioned<Principal>>>;

    /// The token whose secret hashes to `hash`.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<Versioned<ApiToken>>>;
    /// The token, its principal and the principal's organisation, in one round trip: what
    /// every authenticated request needs.
    async fn credentials(&self, hash: &str) -> Result<Option<(ApiToken, Principal, Organisation)>>;
    async fn token_by_prefix(&self, prefix: &str) -> Result<Option<Versioned<ApiToken>>>;
    /// Every token of the organisation's principals, newest first.
    async fn tokens_of_org(&self, org_id: Uuid) -> Result<Vec<Versioned<ApiToken>>>;
    /// A person's argon2 password hash (PHC string).
    async fn password_hash(&self, principal_id: Uuid) -> Result<Option<String>>;

    async fn report(&self, id: Uuid) -> Result<Option<Versioned<Report>>>;
    async fn reports_of_case(&self, case_id: Uuid) -> Result<Vec<Versioned<Report>>>;

    async fn case(&self, id: Uuid) -> Result<Option<Versioned<Case>>>;
    async fn cases(
        &self,
        filter: &CaseFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Case>>>;
    /// The most recent case that is still open (not rejected or dismissed) and shares a
    /// normalised indicator with `indicators`: correlation of repeat reports.
    async fn open_case_matching(&self, indicators: &[Indicator]) -> Result<Option<Uuid>>;

    async fn measure(&self, id: Uuid) -> Result<Option<Versioned<Measure>>>;
    async fn measure_by_notice(&self, notice_id: Uuid) -> Result<Option<Versioned<Measure>>>;
    /// By public reference number (`WD-YYYYMMDD-XXXXXXXXXXXX`).
    async fn measure_by_reference(&self, reference: &str) -> Result<Option<Versioned<Measure>>>;
    async fn measures_of_case(&self, case_id: Uuid) -> Result<Vec<Versioned<Measure>>>;
    /// Notices still awaiting their recipient whose deadline is before `now` and that are not
    /// yet marked overdue: work for the deadline job.
    async fn measures_past_deadline(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>>;
    /// Notices whose reminder is due at `now`.
    async fn reminders_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>>;
    /// Emergency notices whose written form was not delivered by its due time.
    async fn written_notices_overdue(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>>;
    /// Active blocks whose expiry is at or before `now`: work for the expiry job.
    /// Measures whose repeating probe is due at `now`.
    async fn probes_due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Versioned<Measure>>>;
    /// Active blocks expiring by `horizon` that were not yet put up for re-review.
    async fn blocks_due_review(
        &self,
        horizon: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>>;
    async fn blocks_expiring(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>>;

    /// Measures matching `filter`, newest decision first, a page at a time.
    async fn measures(
        &self,
        filter: &MeasureFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Measure>>>;

    /// Active block measures by id, after `after` (paged).
    async fn listed_blocks(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<ListedBlock>>;
    /// The blocklist change sequence after `serial`, oldest first.
    async fn block_changes(&self, after: i64, limit: u32) -> Result<Vec<BlockChange>>;
    /// The last serial of the change sequence (0 when nothing was ever listed).
    async fn block_serial(&self) -> Result<i64>;
    /// Block changes as object versions, in serial order.
    async fn block_versions(&self, q: &BlockVersionQuery) -> Result<Vec<BlockChange>>;
    /// Keeps the status resource of a TAXII envelope (JSON), replacing an earlier one.
    async fn put_taxii_status(
        &self,
        id: Uuid,
        org_id: Uuid,
        at: OffsetDateTime,
        body: &str,
    ) -> Result<()>;
    /// Creates or updates an import's record.
    async fn put_import(&self, rec: &ImportRecord) -> Result<()>;
    async fn import(&self, id: Uuid) -> Result<Option<ImportRecord>>;
    /// Adds a batch of feed indicators in one transaction:
    /// known ones gain `count` sightings. In the same transaction the import's record takes
    /// the counts of `import` (read through this batch; `new_indicators` is increased by the
    /// batch's new ones) and the batch's rejects are kept (the first
    /// `IMPORT_REJECTS_KEPT`), so a resumed import knows exactly where it stopped.
    /// Returns how many were new.
    async fn add_feed_rows(
        &self,
        import: &ImportRecord,
        at: OffsetDateTime,
        rows: FeedRows,
        rejects: &[ImportReject],
    ) -> Result<u64>;
    /// The imports of an organisation, newest first.
    async fn imports_of_org(&self, org_id: Uuid, limit: u32) -> Result<Vec<ImportRecord>>;
    /// Imports queued or left running (by a server that stopped): to be run or resumed.
    async fn imports_pending(&self) -> Result<Vec<ImportRecord>>;
    /// A rejected line or object of an import, `n` after `after`, in order.
    async fn import_rejects(&self, id: Uuid, after: u64, limit: u32) -> Result<Vec<ImportReject>>;
    /// Keeps chunk `seq` (from 0) of an uploaded feed.
    async fn add_import_chunk(&self, id: Uuid, seq: u64, data: Vec<u8>) -> Result<()>;
    async fn import_chunk(&self, id: Uuid, seq: u64) -> Result<Option<Vec<u8>>>;
    /// Drops the upload once its import has finished with it.
    async fn drop_import_chunks(&self, id: Uuid) -> Result<()>;
    async fn feed_indicator(&self, kind: &str, value: &str) -> Result<Option<FeedIndicator>>;
    /// The organisation and body of a TAXII status resource.
    async fn taxii_status(&self, id: Uuid) -> Result<Option<(Uuid, String)>>;
    /// Operator-managed allow-list entries, removed ones included.
    async fn allowlist_entries(
        &self,
    ) -> Result<Vec<Versioned<warden_core::allowlist::AllowlistRecord>>>;
    async fn allowlist_entry(
        &self,
        id: Uuid,
    ) -> Result<Option<Versioned<warden_core::allowlist::AllowlistRecord>>>;

    /// Every claim of the resource registry, oldest first.
    async fn resource_claims(
        &self,
    ) -> Result<Vec<Versioned<warden_core::resources::ResourceClaim>>>;
    async fn resource_claim(
        &self,
        id: Uuid,
    ) -> Result<Option<Versioned<warden_core::resources::ResourceClaim>>>;

    async fn signing_keys(&self) -> Result<Vec<Versioned<SigningKeyRecord>>>;
    async fn notice(&self, id: Uuid) -> Result<Option<SignedNotice>>;
    async fn notices_of_measure(&self, measure_id: Uuid) -> Result<Vec<SignedNotice>>;

    async fn enforcement(&self, id: Uuid) -> Result<Option<Versioned<Enforcement>>>;
    /// Bulletins or publications, newest first, a page at a time.
    async fn bulletins(
        &self,
        kind: warden_core::bulletin::BulletinKind,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<warden_core::bulletin::Bulletin>>>;
    /// Enforcement records, newest first, of one organisation and/or one province.
    async fn enforcements(
        &self,
        org: Option<Uuid>,
        province: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Versioned<Enforcement>>>;

    /// Takes the lease of job `name` until `lease_until` if it is due at `now` and nobody
    /// holds it; true when this caller now holds it.
    async fn claim_job(
        &self,
        name: &str,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool>;
    /// Extends a lease this caller holds; false when it no longer holds it.
    async fn renew_job(&self, name: &str, owner: &str, lease_until: OffsetDateTime)
    -> Result<bool>;
    /// Releases the lease and sets the next run.
    async fn finish_job(
        &self,
        name: &str,
        owner: &str,
        now: OffsetDateTime,
        next_run: OffsetDateTime,
    ) -> Result<()>;

    async fn appeal(&self, id: Uuid) -> Result<Option<Versioned<Appeal>>>;
    async fn appeals_of_measure(&self, measure_id: Uuid) -> Result<Vec<Versioned<Appeal>>>;
    /// Appeals an authority has yet to answer, the reply due soonest first.
    async fn open_appeals(&self, deciding_org: Uuid, limit: u32) -> Result<Vec<Versioned<Appeal>>>;

    async fn put_session(&self, s: &SessionRecord) -> Result<()>;
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>>;
    /// Ends a session (signing out); false when there was no open one.
    async fn end_session(&self, id_hash: &str, at: OffsetDateTime) -> Result<bool>;
    /// Versions of cases in the order they were written.
    async fn case_versions(&self, q: &CaseVersionQuery) -> Result<Vec<CaseVersion>>;
    /// Every stored version of an object, oldest first.
    async fn history(&self, subject_type: &str, id: Uuid) -> Result<Vec<ObjectVersion>>;

    /// Audit entries after `after_seq`, oldest first.
    async fn audit(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>>;
    /// Recomputes the whole hash chain, and checks that every checkpoint's hash is the
    /// chain's hash at its sequence number (signatures are checked by the caller).
    async fn verify_audit(&self) -> Result<AuditCheck>;

    /// The current head of the chain: (sequence, hash).
    async fn audit_head(&self) -> Result<(i64, String)>;
    /// Records a signed checkpoint; one per sequence number.
    async fn add_checkpoint(&self, cp: &Checkpoint) -> Result<()>;
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>>;

    /// `(table, column)` of every Warden table, sorted: both backends' migrations must agree.
    async fn schema_columns(&self) -> Result<Vec<(String, String)>>;
}

/// The schema version this binary migrates to: the number of the last migration.
pub const SCHEMA_VERSION: i64 = 19;

/// The default database: an SQLite file under `./warden-data/`.
pub const DEFAULT_DB_URL: &str = "sqlite://warden-data/warden.db";

/// Opens (creating if needed) and migrates the database that `url` names:
/// `sqlite://PATH` or `postgres://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::connect(url).await?
    } else if url.starts_with("sqlite:") {
        sqlite::connect(url).await?
    } else {
        return Err(StoreError::BadUrl {
            url: url.to_owned(),
            problem: "expected sqlite://PATH or postgres://USER@HOST/DB".to_owned(),
        });
    };
    Ok(Arc::new(sql::SqlStore::new(db)))
}

/// For tests: a fresh PostgreSQL schema of its own inside the database `url` names, so tests
/// running at once never see each other's rows.
pub async fn open_isolated_postgres(url: &str) -> Result<Arc<dyn Store>> {
    let db = postgres::connect_isolated(url).await?;
    Ok(Arc::new(sql::SqlStore::new(db)))
}
