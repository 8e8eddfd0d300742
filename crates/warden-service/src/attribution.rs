//! The attribution index: who holds which resource (Art. 9), built from the approved claims
//! of the registry and the reference data, rebuilt when a claim is decided, and followed
//! for other servers' decisions.

use crate::error::ServiceError;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use warden_core::resources::ClaimStatus;
use warden_match::attribution::{Attributor, Holding, mobile_segments};
use warden_store::Store;

pub struct Registry {
    current: ArcSwap<Attributor>,
    reference: Vec<Holding>,
    /// The claims' stamp (`resource_claims_stamp`) as of the index in use.
    stamp: AtomicI64,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    pub fn new() -> Registry {
        let reference = mobile_segments().unwrap_or_else(|e| {
            tracing::error!(error = %e, "reference data unreadable: carriers of mobile numbers unknown");
            vec![]
        });
        Registry {
            current: ArcSwap::from_pointee(Attributor::build(reference.clone())),
            reference,
            stamp: AtomicI64::new(-1),
        }
    }

    pub fn get(&self) -> Arc<Attributor> {
        self.current.load_full()
    }

    /// Rebuilds the index from the approved claims and the reference data.
    pub async fn reload(&self, store: &dyn Store) -> Result<(), ServiceError> {
        // Read first: a claim written while the index is built changes the stamp again.
        let stamp = store.resource_claims_stamp().await?;
        let mut holdings = self.reference.clone();
        for c in store.resource_claims().await? {
            let c = c.value;
            if c.status != ClaimStatus::Approved {
                continue;
            }
            holdings.push(Holding {
                kind: c.kind,
                value: c.value,
                range_last: c.range_last,
                asn: c.asn,
                province: c.province.map(|p| p.to_string()),
                org_slug: c.org.slug,
                claim_id: Some(c.id),
                source: c.source,
                at: c.decided_at,
            });
        }
        let built = tokio::task::spawn_blocking(move || Attributor::build(holdings))
            .await
            .map_err(|e| ServiceError::Internal(format!("attribution build: {e}")))?;
        self.current.store(Arc::new(built));
        self.stamp.store(stamp, Ordering::SeqCst);
        Ok(())
    }

    /// Rebuilds the index if a claim was written since it was built; whether it did.
    pub async fn refresh(&self, store: &dyn Store) -> Result<bool, ServiceError> {
        if store.resource_claims_stamp().await? == self.stamp.load(Ordering::SeqCst) {
            return Ok(false);
        }
        self.reload(store).await?;
        Ok(true)
    }

    /// Looks every few seconds for other servers' decisions, and rebuilds only when there
    /// are some: a national registry holds millions of claims.
    pub fn follow(self: Arc<Self>, store: Arc<dyn Store>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.refresh(store.as_ref()).await {
                    tracing::warn!(error = %e, "registry reload failed; retrying");
                }
            }
        });
    }
}
