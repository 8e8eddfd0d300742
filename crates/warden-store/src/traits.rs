//! The storage traits, one per concern. `Store` is their sum: a backend implements each, and
//! `Arc<dyn Store>` reaches all of them. A caller names the traits whose methods it uses
//! (`use warden_store::{CaseStore, NoticeStore}`), or takes them all with
//! `use warden_store::traits::*`.

use crate::audit::{AuditAlert, AuditCheck, AuditEntry, AuditScope, Checkpoint, DeepCheck};
use crate::error::Result;
use crate::model::{
    Backend, BlockChange, BlockVersionQuery, BulkOutcome, CaseFilter, CaseVersion,
    CaseVersionQuery, Changeset, CommitOutcome, FeedIndicator, FeedRows, Health, ImportRecord,
    ImportReject, InquiryFilter, LinkRecord, ListedBlock, MeasureCount, MeasureFilter,
    NoticeFigures, ObjectVersion, Page, SecondFactorRecord, SessionRecord, SigningKeyRecord,
    TimingScope, Versioned,
};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::allowlist::AllowlistRecord;
use warden_core::bulletin::{Bulletin, BulletinKind};
use warden_core::indicator::Indicator;
use warden_core::lifecycle::{Appeal, Case, Enforcement, Inquiry, Measure, Report};
use warden_core::notice::SignedNotice;
use warden_core::org::{ApiToken, Organisation, Principal};
use warden_core::resources::ResourceClaim;

/// Every write, and what the database is: the one way in for changes.
#[async_trait]
pub trait CommitStore: Send + Sync {
    fn backend(&self) -> Backend;

    /// Reachability and schema version.
    async fn health(&self) -> Result<Health>;

    /// Writes objects and their audit records atomically; durable when it returns.
    async fn commit(&self, changes: Changeset) -> Result<CommitOutcome>;

    /// Writes many changesets in order in one transaction, each exactly as `commit` would
    /// (rows, versions, block changes, audit chain): the way data sets are loaded. The batch
    /// may update only objects it creates, and takes no idempotency keys.
    async fn bulk_commit(&self, batch: &[Changeset]) -> Result<BulkOutcome>;

    /// Brings the query planner's statistics up to date (`ANALYZE`): after a bulk load, before
    /// the database's own maintenance has seen the new rows.
    async fn refresh_statistics(&self) -> Result<()>;

    /// The stored response of an earlier write with this key, if any; refuses a key reused
    /// for a different request.
    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<serde_json::Value>>;

    /// `(table, column)` of every Warden table, sorted: both backends' migrations must agree.
    async fn schema_columns(&self) -> Result<Vec<(String, String)>>;

    /// Writes a consistent copy of an SQLite database to `path` (a new file) while it keeps
    /// serving: `VACUUM INTO` reads one snapshot, whatever commits meanwhile. PostgreSQL is
    /// backed up with its own tools (`pg_dump`) and answers `Unavailable`.
    async fn snapshot_to(&self, path: &str) -> Result<()>;
}

/// Organisations, their people and API clients, their signing keys and the resources they
/// declared (Art. 5).
#[async_trait]
pub trait OrganisationStore: Send + Sync {
    async fn organisation(&self, id: Uuid) -> Result<Option<Versioned<Organisation>>>;
    async fn organisation_by_slug(&self, slug: &str) -> Result<Option<Versioned<Organisation>>>;
    async fn organisations(&self) -> Result<Vec<Versioned<Organisation>>>;

    async fn principal(&self, id: Uuid) -> Result<Option<Versioned<Principal>>>;
    async fn principal_by_name(&self, name: &str) -> Result<Option<Versioned<Principal>>>;
    async fn principals_of_org(&self, org_id: Uuid) -> Result<Vec<Versioned<Principal>>>;

    async fn signing_keys(&self) -> Result<Vec<Versioned<SigningKeyRecord>>>;

    /// Every claim of the resource registry, oldest first.
    async fn resource_claims(&self) -> Result<Vec<Versioned<ResourceClaim>>>;
    async fn resource_claim(&self, id: Uuid) -> Result<Option<Versioned<ResourceClaim>>>;
    /// The audit sequence number of the last write to a claim (0 before the first): what a
    /// server polls to know whether its attribution index is stale. Drawn in commit order,
    /// whichever server commits, so it only grows.
    async fn resource_claims_stamp(&self) -> Result<i64>;
}

/// Credentials and console sessions: who is asking.
#[async_trait]
pub trait SessionStore: Send + Sync {
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

    async fn put_session(&self, s: &SessionRecord) -> Result<()>;
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>>;
    /// Ends a session (signing out); false when there was no open one.
    async fn end_session(&self, id_hash: &str, at: OffsetDateTime) -> Result<bool>;
    /// Ends every open session of a person (a password reset, a disabled account).
    async fn end_sessions_of(&self, principal_id: Uuid, at: OffsetDateTime) -> Result<u64>;

    /// A one-time link by its secret's hash.
    async fn link(&self, id_hash: &str) -> Result<Option<LinkRecord>>;

    /// Counts a failed sign-in of a person: `limit` failures within `window` lock the account
    /// for `lock`. Returns until when it is locked, if it is now.
    async fn sign_in_failed(
        &self,
        principal_id: Uuid,
        now: OffsetDateTime,
        window: time::Duration,
        limit: i64,
        lock: time::Duration,
    ) -> Result<Option<OffsetDateTime>>;
    /// A person's failed sign-ins since the last good one, and until when the account is
    /// locked (if it was ever); none when there is nothing to remember.
    async fn sign_in_state(
        &self,
        principal_id: Uuid,
    ) -> Result<Option<(i64, Option<OffsetDateTime>)>>;
    /// Forgets a person's failed sign-ins (after a good one).
    async fn sign_in_cleared(&self, principal_id: Uuid) -> Result<()>;

    /// A person's second factor.
    async fn second_factor(&self, principal_id: Uuid) -> Result<Option<SecondFactorRecord>>;
    /// Accepts a TOTP time step once: false when this or a later step was used already.
    async fn accept_totp_step(&self, principal_id: Uuid, step: i64) -> Result<bool>;

    /// Notes that a token was used at `at` (callers limit how often).
    async fn touch_token(&self, token_id: Uuid, at: OffsetDateTime) -> Result<()>;
    /// When each token of an organisation was last used.
    async fn token_uses(&self, org_id: Uuid) -> Result<Vec<(Uuid, OffsetDateTime)>>;
}

/// Reports, cases and their versions, and the bulletins that share them (Art. 6, 7).
#[async_trait]
pub trait CaseStore: Send + Sync {
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
    /// Versions of cases in the order they were written.
    async fn case_versions(&self, q: &CaseVersionQuery) -> Result<Vec<CaseVersion>>;

    /// Bulletins or publications, newest first, a page at a time.
    async fn bulletins(
        &self,
        kind: BulletinKind,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Bulletin>>>;
}

/// Measures and their signed notices, and what follows them: deadlines, reminders, probes,
/// appeals (Art. 10) and enforcement records (Art. 12).
#[async_trait]
pub trait NoticeStore: Send + Sync {
    async fn measure(&self, id: Uuid) -> Result<Option<Versioned<Measure>>>;
    async fn measure_by_notice(&self, notice_id: Uuid) -> Result<Option<Versioned<Measure>>>;
    /// By public reference number (`WD-YYYYMMDD-XXXXXXXXXXXX`).
    async fn measure_by_reference(&self, reference: &str) -> Result<Option<Versioned<Measure>>>;
    async fn measures_of_case(&self, case_id: Uuid) -> Result<Vec<Versioned<Measure>>>;
    /// Notices and overdue notices per recipient (of one province, or one recipient), by
    /// slug: kept by the commits, read without counting measures.
    async fn measure_counts(
        &self,
        province: Option<&str>,
        recipient: Option<Uuid>,
    ) -> Result<Vec<MeasureCount>>;
    /// Measures matching `filter`, newest decision first, a page at a time.
    async fn measures(
        &self,
        filter: &MeasureFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Measure>>>;

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
    /// Measures whose repeating probe is due at `now`.
    async fn probes_due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Versioned<Measure>>>;
    /// Active blocks expiring by `horizon` that were not yet put up for re-review.
    async fn blocks_due_review(
        &self,
        horizon: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>>;
    /// Active blocks whose expiry is at or before `now`: work for the expiry job.
    async fn blocks_expiring(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>>;

    async fn notice(&self, id: Uuid) -> Result<Option<SignedNotice>>;
    async fn notices_of_measure(&self, measure_id: Uuid) -> Result<Vec<SignedNotice>>;

    async fn appeal(&self, id: Uuid) -> Result<Option<Versioned<Appeal>>>;
    async fn appeals_of_measure(&self, measure_id: Uuid) -> Result<Vec<Versioned<Appeal>>>;
    /// Appeals an authority has yet to answer, the reply due soonest first.
    async fn open_appeals(&self, deciding_org: Uuid, limit: u32) -> Result<Vec<Versioned<Appeal>>>;
    /// Every appeal not yet answered, of every authority (few: Art. 10 appeals are rare),
    /// the reply due soonest first.
    async fn undecided_appeals(&self) -> Result<Vec<Versioned<Appeal>>>;

    async fn inquiry(&self, id: Uuid) -> Result<Option<Versioned<Inquiry>>>;
    /// Look-up requests, newest first, a page at a time.
    async fn inquiries(
        &self,
        f: &InquiryFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Inquiry>>>;
    /// Open requests whose time limit passed, not yet marked overdue.
    async fn inquiries_past_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Inquiry>>>;
    /// The member organisation the latest answer about this subject names as its holder.
    async fn inquiry_holder(&self, kind: &str, value: &str) -> Result<Option<String>>;

    async fn enforcement(&self, id: Uuid) -> Result<Option<Versioned<Enforcement>>>;
    /// Enforcement records, newest first, of one organisation and/or one province.
    async fn enforcements(
        &self,
        org: Option<Uuid>,
        province: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Versioned<Enforcement>>>;
}

/// The blocks in force, their change sequence, and the allow-lists that guard them.
#[async_trait]
pub trait BlocklistStore: Send + Sync {
    /// Active block measures by id, after `after` (paged).
    async fn listed_blocks(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<ListedBlock>>;
    /// The blocklist change sequence after `serial`, oldest first.
    async fn block_changes(&self, after: i64, limit: u32) -> Result<Vec<BlockChange>>;
    /// The last serial of the change sequence (0 when nothing was ever listed).
    async fn block_serial(&self) -> Result<i64>;
    /// Block changes as object versions, in serial order.
    async fn block_versions(&self, q: &BlockVersionQuery) -> Result<Vec<BlockChange>>;

    /// Operator-managed allow-list entries, removed ones included.
    async fn allowlist_entries(&self) -> Result<Vec<Versioned<AllowlistRecord>>>;
    async fn allowlist_entry(&self, id: Uuid) -> Result<Option<Versioned<AllowlistRecord>>>;
}

/// Bulk feeds and what they brought, and the status of TAXII envelopes taken in.
#[async_trait]
pub trait ImportStore: Send + Sync {
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

    /// Keeps the status resource of a TAXII envelope (JSON), replacing an earlier one.
    async fn put_taxii_status(
        &self,
        id: Uuid,
        org_id: Uuid,
        at: OffsetDateTime,
        body: &str,
    ) -> Result<()>;
    /// The organisation and body of a TAXII status resource.
    async fn taxii_status(&self, id: Uuid) -> Result<Option<(Uuid, String)>>;
}

/// The audit trail, its signed checkpoints, and every version of every object.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Audit entries after `after_seq`, oldest first; within `scope` when given.
    async fn audit(
        &self,
        after_seq: i64,
        limit: u32,
        scope: Option<&AuditScope>,
    ) -> Result<Vec<AuditEntry>>;
    /// Recomputes the whole hash chain, and checks that the checkpoints are numbered and
    /// linked and that each one's hash is the chain's hash at its sequence number (signatures
    /// are checked by the caller).
    async fn verify_audit(&self) -> Result<AuditCheck> {
        self.verify_audit_from(None, &[]).await
    }
    /// Recomputes the chain after `from` (a checkpoint the caller trusts: the entry it names
    /// must still carry its hash), or from the start, and checks every stored checkpoint it
    /// passes, and `saved` ones kept outside the database, against it.
    async fn verify_audit_from(
        &self,
        from: Option<&Checkpoint>,
        saved: &[Checkpoint],
    ) -> Result<AuditCheck>;
    /// The current head of the chain: (sequence, hash).
    async fn audit_head(&self) -> Result<(i64, String)>;
    /// Records a signed checkpoint; one per number and per sequence number.
    async fn add_checkpoint(&self, cp: &Checkpoint) -> Result<()>;
    /// Every checkpoint, by number.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>>;
    /// Checkpoints numbered after `after`, by number.
    async fn checkpoints_after(&self, after: i64, limit: u32) -> Result<Vec<Checkpoint>>;
    async fn last_checkpoint(&self) -> Result<Option<Checkpoint>>;
    /// Records (or, for the same first broken entry, sees again) a failed verification.
    async fn raise_audit_alert(
        &self,
        first_broken: i64,
        problem: &str,
        at: OffsetDateTime,
    ) -> Result<()>;
    /// Failed verifications, newest first.
    async fn audit_alerts(&self, limit: u32) -> Result<Vec<AuditAlert>>;
    /// Reads every object's live row back: its body against the state its last audit entry
    /// recorded, and the columns derived from the body against the body.
    async fn deep_check(&self) -> Result<DeepCheck>;

    /// Every stored version of an object, oldest first.
    async fn history(&self, subject_type: &str, id: Uuid) -> Result<Vec<ObjectVersion>>;
}

/// Leases on background jobs, so that with several servers each run happens once.
#[async_trait]
pub trait JobStore: Send + Sync {
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
}

/// Timeliness (Art. 4), aggregated in the database from the timing rows every commit keeps.
#[async_trait]
pub trait StatisticsStore: Send + Sync {
    /// Count, median and 90th percentile (nearest rank) of each step, and the notices and
    /// overdue notices, per group of the cases and notices `scope` selects.
    async fn timeliness(
        &self,
        scope: &TimingScope,
        by: warden_core::stats::GroupBy,
    ) -> Result<Vec<warden_core::stats::Group>>;
    /// Cases opened per Asia/Shanghai day (days since 1970-01-01) and category. Selects by
    /// the scope's case fields; its notice fields must be unset (else nothing is counted).
    async fn cases_opened(&self, scope: &TimingScope) -> Result<Vec<(i64, String, u64)>>;
    /// The dashboard's figures of the notices `scope` selects by its notice fields; its case
    /// fields must be unset (else nothing is counted).
    async fn notice_figures(&self, scope: &TimingScope) -> Result<NoticeFigures>;
}

/// The storage: everything Warden persists goes through it. The sum of the traits above,
/// so `Arc<dyn Store>` reaches them all.
pub trait Store:
    CommitStore
    + OrganisationStore
    + SessionStore
    + CaseStore
    + NoticeStore
    + BlocklistStore
    + ImportStore
    + AuditStore
    + JobStore
    + StatisticsStore
    + 'static
{
}

impl<T> Store for T where
    T: CommitStore
        + OrganisationStore
        + SessionStore
        + CaseStore
        + NoticeStore
        + BlocklistStore
        + ImportStore
        + AuditStore
        + JobStore
        + StatisticsStore
        + 'static
{
}
