//! The `Service`: what every operation reaches (the store, the clock, the calendar, the
//! policy, the keys, the matcher and the registry), how it is built, and how a write is
//! committed: once per idempotency key, with its audit records, and then seen at once by
//! this process's lookups and exports.

use crate::attribution::Registry;
use crate::blocklist::Blocklist;
use crate::error::ServiceError;
use crate::keys::KeyRing;
use crate::stix_index::{IdIndex, ThreatIndex};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use time::OffsetDateTime;
use warden_core::calendar::Calendar;
use warden_core::clock::{Clock, SimulatedClock, SystemClock};
use warden_core::lifecycle::Context;
use warden_core::org::{Organisation, Province};
use warden_core::policy::Policy;
use warden_store::{Backend, Changeset, CommitOutcome, Health, IdempotencyClaim, Store, Write};

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// The application: built once per process with [`Service::builder`], shared behind an `Arc`.
pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) calendar: Arc<Calendar>,
    pub(crate) policy: Arc<Policy>,
    pub(crate) keys: Arc<KeyRing>,
    /// Present when the service runs on a simulated clock (training, tests).
    pub(crate) simulated: Option<Arc<SimulatedClock>>,
    /// The matcher over listed blocks and the allow-lists.
    pub(crate) blocklist: Arc<Blocklist>,
    /// Who holds which resources (attribution and routing).
    pub(crate) registry: Arc<Registry>,
    /// STIX ids of blocks, for TAXII requests that name objects.
    pub(crate) taxii_ids: IdIndex,
    /// Cases of threat objects, for TAXII requests that name objects.
    pub(crate) taxii_threats: ThreatIndex,
    /// When this process last recorded each token's use: at most a write a minute per token.
    pub(crate) token_seen: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, OffsetDateTime>>,
    /// Password checks (argon2) run on the blocking pool, at most this many at once: a flood
    /// of guesses queues here instead of stalling the request workers.
    pub(crate) password_slots: Arc<tokio::sync::Semaphore>,
    /// How large an upload, how many unfinished imports an organisation may have, and how
    /// many run at once in this process.
    pub(crate) import_limits: crate::limits::ImportLimits,
    pub(crate) import_slots: Arc<tokio::sync::Semaphore>,
    /// The public TAXII collection of publications, as last built.
    pub(crate) publications_cache: crate::items::PublicationsCache,
    /// Timeliness and dashboard figures kept between requests.
    pub(crate) stats_cache: Arc<crate::stats_cache::StatsCache<Vec<warden_core::stats::Group>>>,
    pub(crate) dashboard_cache: Arc<crate::stats_cache::StatsCache<crate::proto::Dashboard>>,
}

/// How many argon2 checks run at once: one per core.
fn password_slots() -> Arc<tokio::sync::Semaphore> {
    let n = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    Arc::new(tokio::sync::Semaphore::new(n))
}

/// Builds a [`Service`]: the store, calendar, policy and keys are required; the clock is the
/// system's unless another is given.
pub struct ServiceBuilder {
    store: Arc<dyn Store>,
    calendar: Calendar,
    policy: Policy,
    keys: KeyRing,
    clock: Arc<dyn Clock>,
    simulated: Option<Arc<SimulatedClock>>,
    import_limits: crate::limits::ImportLimits,
    statistics_max_age: time::Duration,
}

impl ServiceBuilder {
    /// How old timeliness and dashboard figures may be when writes came after them: up to this
    /// age a request gets the kept figures (saying when they were computed), and past a quarter
    /// of it one recomputation runs in the background. Zero (the default) recomputes after
    /// every write.
    pub fn statistics_max_age(mut self, age: time::Duration) -> Self {
        self.statistics_max_age = age;
        self
    }

    /// Bounds feed imports (the defaults otherwise).
    pub fn import_limits(mut self, limits: crate::limits::ImportLimits) -> Self {
        self.import_limits = limits;
        self
    }

    /// Runs on `clock` (tests pin time with a fixed clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self.simulated = None;
        self
    }

    /// Runs on a simulated clock that `advance_clock` moves (DESIGN §5.2).
    pub fn simulated_clock(mut self, clock: Arc<SimulatedClock>) -> Self {
        self.clock = clock.clone();
        self.simulated = Some(clock);
        self
    }

    pub fn build(self) -> Service {
        Service {
            store: self.store,
            clock: self.clock,
            calendar: Arc::new(self.calendar),
            policy: Arc::new(self.policy),
            keys: Arc::new(self.keys),
            simulated: self.simulated,
            blocklist: Arc::new(Blocklist::new()),
            registry: Arc::new(Registry::new()),
            taxii_ids: IdIndex::default(),
            taxii_threats: ThreatIndex::default(),
            token_seen: Default::default(),
            password_slots: password_slots(),
            import_limits: self.import_limits,
            import_slots: Arc::new(tokio::sync::Semaphore::new(
                self.import_limits.running.max(1),
            )),
            publications_cache: Default::default(),
            stats_cache: Arc::new(crate::stats_cache::StatsCache::new(self.statistics_max_age)),
            dashboard_cache: Arc::new(crate::stats_cache::StatsCache::new(self.statistics_max_age)),
        }
    }
}

/// The `Idempotency-Key` of a write, scoped to its caller and bound to its request.
#[derive(Debug, Clone)]
pub struct Idem {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

/// A cursor the store did not recognise is the caller's mistake, not a missing object.
pub(crate) fn cursor_error(e: warden_store::StoreError) -> ServiceError {
    match e {
        warden_store::StoreError::NotFound { kind: "cursor", .. } => {
            ServiceError::InvalidQuery("cursor: not one this server issued".into())
        }
        other => other.into(),
    }
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `f` as the handling of request `id`: every audit entry it causes records the id.
pub async fn with_request_id<F: std::future::Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The id of the request being served, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|s| s.clone()).ok()
}

impl Service {
    pub fn builder(
        store: Arc<dyn Store>,
        calendar: Calendar,
        policy: Policy,
        keys: KeyRing,
    ) -> ServiceBuilder {
        ServiceBuilder {
            store,
            calendar,
            policy,
            keys,
            clock: Arc::new(SystemClock),
            simulated: None,
            import_limits: crate::limits::ImportLimits::default(),
            statistics_max_age: time::Duration::ZERO,
        }
    }

    /// The same service on another clock, sharing the store, matcher and registry: the demo
    /// writes its month of history through it.
    pub fn on_clock(&self, clock: Arc<dyn Clock>) -> Service {
        Service {
            store: self.store.clone(),
            clock,
            calendar: self.calendar.clone(),
            policy: self.policy.clone(),
            keys: self.keys.clone(),
            simulated: None,
            blocklist: self.blocklist.clone(),
            registry: self.registry.clone(),
            taxii_ids: IdIndex::default(),
            taxii_threats: ThreatIndex::default(),
            token_seen: Default::default(),
            password_slots: self.password_slots.clone(),
            import_limits: self.import_limits,
            import_slots: self.import_slots.clone(),
            publications_cache: Default::default(),
            stats_cache: self.stats_cache.clone(),
            dashboard_cache: self.dashboard_cache.clone(),
        }
    }

    /// Times are given in Asia/Shanghai, where the measures' deadlines are defined.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now().to_offset(warden_core::calendar::SHANGHAI)
    }

    /// Whether this service runs on a simulated clock.
    pub fn simulated(&self) -> bool {
        self.simulated.is_some()
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Whether the database answers, and with which schema.
    pub async fn health(&self) -> Result<Health> {
        Ok(self.store.health().await?)
    }

    /// Builds the matcher and the registry from the database, then follows other servers'
    /// changes until the process ends. Lookups and exports answer from memory: call this
    /// before taking requests.
    pub async fn start(&self) -> Result<()> {
        self.blocklist
            .load(self.store.as_ref())
            .await
            .map_err(|e| ServiceError::Internal(format!("loading the blocklist: {e}")))?;
        self.blocklist.clone().follow(self.store.clone());
        // Routing and attribution read the registry: built from the claims already approved,
        // then kept current with other servers' decisions.
        self.registry.reload(self.store.as_ref()).await?;
        self.registry.clone().follow(self.store.clone());
        Ok(())
    }

    /// Puts a prepared matcher in place (benchmarks load synthetic lists this way); later
    /// changes in the database apply on top of it.
    pub async fn install_blocklist(&self, snap: warden_match::Snapshot) {
        self.blocklist.install(snap).await;
    }

    pub(crate) fn ctx(&self, now: OffsetDateTime, province: Option<Province>) -> Context<'_> {
        Context {
            now,
            calendar: &self.calendar,
            rules: self.policy.for_province(province),
        }
    }

    pub(crate) async fn org(&self, field: &str, slug: &str) -> Result<Organisation> {
        self.store
            .organisation_by_slug(slug)
            .await?
            .map(|o| o.value)
            .ok_or_else(|| ServiceError::UnknownOrganisation {
                field: field.to_owned(),
                slug: slug.to_owned(),
            })
    }

    /// An organisation that may be sent a measure or notification now: not a suspended one.
    pub(crate) async fn recipient(&self, field: &str, slug: &str) -> Result<Organisation> {
        let org = self.org(field, slug).await?;
        if let Some(s) = &org.suspended {
            return Err(ServiceError::Unroutable(format!(
                "{field}: {slug} is suspended (since {}: {}) and is routed nothing new",
                s.since.date(),
                s.reason
            )));
        }
        Ok(org)
    }

    /// Runs a write once per idempotency key: a retry gets the first response back.
    pub(crate) async fn once<T, F, Fut>(&self, idem: Option<Idem>, build: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(T, Changeset)>>,
    {
        if let Some(i) = &idem
            && let Some(stored) = self
                .store
                .idempotent_response(&i.scope, &i.key, &i.request_hash)
                .await?
        {
            return serde_json::from_value(stored).map_err(|e| {
                ServiceError::InvalidBody(format!("stored response unreadable: {e}"))
            });
        }
        let (response, mut changes) = build().await?;
        changes.request_id = current_request_id();
        if let Some(i) = idem {
            changes.idempotency = Some(IdempotencyClaim {
                scope: i.scope,
                key: i.key,
                request_hash: i.request_hash,
                response: serde_json::to_value(&response)
                    .map_err(|e| ServiceError::InvalidBody(e.to_string()))?,
            });
        }
        // Only block measures are listed: other measure writes cannot change the blocklist.
        let touches_blocks = changes
            .writes
            .iter()
            .any(|w| matches!(w, Write::Measure { measure, .. } if measure.block.is_some()));
        let touches_allowlist = changes
            .writes
            .iter()
            .any(|w| matches!(w, Write::AllowlistEntry { .. }));
        let touches_registry = changes
            .writes
            .iter()
            .any(|w| matches!(w, Write::ResourceClaim { .. }));
        match self.store.commit(changes).await? {
            CommitOutcome::Applied { .. } => {
                self.after_commit(touches_blocks, touches_allowlist).await;
                if touches_registry && let Err(e) = self.registry.reload(self.store.as_ref()).await
                {
                    tracing::warn!(error = %e, "registry reload failed; the poll will retry");
                }
                Ok(response)
            }
            CommitOutcome::Replayed { response } => serde_json::from_value(response)
                .map_err(|e| ServiceError::InvalidBody(format!("stored response unreadable: {e}"))),
        }
    }

    /// This server's own writes show in its lookups and exports before it answers; other
    /// servers see them at their next poll.
    pub(crate) async fn after_commit(&self, blocks: bool, allowlist: bool) {
        if blocks && let Err(e) = self.blocklist.sync(&self.store).await {
            tracing::warn!(error = %e, "blocklist sync after commit failed; the poll will retry");
        }
        if allowlist && let Err(e) = self.blocklist.reload_allowlist(self.store.as_ref()).await {
            tracing::warn!(error = %e, "allow-list reload failed");
        }
    }
}
