//! Lookups (is a value listed, under which measure, since when), the allow-lists that guard
//! against blocking what must not be blocked, and the MISP feed of blocks in force. Who may
//! ask is the core's (`may_lookup`, `blocklist_scope`, `AllowlistRecord`).

use crate::error::ServiceError;
use crate::filters::{Lookup, parse_value};
use crate::proto::*;
use crate::service::{Idem, Result, Service};
use std::sync::Arc;
use uuid::Uuid;
use warden_core::allowlist::AllowlistRecord;
use warden_core::indicator::Indicator;
use warden_core::lifecycle::{BlocklistScope, blocklist_scope, may_lookup};
use warden_core::org::Actor;
use warden_match::{Entry, Snapshot};
use warden_store::{Changeset, Write as StoreWrite};

/// Answers a batch from one snapshot.
pub fn lookup_in(snap: &Snapshot, req: &LookupBatchRequest) -> LookupBatchResponse {
    let parsed: Vec<(&str, Result<Indicator, String>)> = req
        .values
        .iter()
        .map(|v| {
            let (kind, value) = match v {
                LookupValue::Text(s) => (None, s.as_str()),
                LookupValue::Typed(i) => (Some(i.kind.as_str()), i.value.as_str()),
            };
            (value, parse_value(kind, value))
        })
        .collect();
    let good: Vec<&Indicator> = parsed.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
    let mut found = snap.lookup_many(&good).into_iter();
    let results = parsed
        .iter()
        .map(|(value, r)| match r {
            Ok(ind) => answer_with(value, ind, found.next().unwrap_or_default()),
            Err(e) => item_error(value, e),
        })
        .collect();
    LookupBatchResponse {
        serial: snap.serial,
        results,
    }
}

fn item_error(value: &str, e: impl std::fmt::Display) -> LookupResult {
    LookupResult {
        value: value.to_owned(),
        kind: None,
        normalized: None,
        listed: false,
        matches: vec![],
        error: Some(LookupItemError {
            kind: "invalid-indicator".into(),
            detail: e.to_string(),
        }),
    }
}

fn answer(snap: &Snapshot, sent: &str, ind: &Indicator) -> LookupResult {
    answer_with(sent, ind, snap.lookup(ind))
}

fn answer_with(sent: &str, ind: &Indicator, found: Vec<Arc<Entry>>) -> LookupResult {
    let matches: Vec<LookupMatch> = found
        .iter()
        .map(|e| LookupMatch {
            measure_id: e.measure_id,
            kind: "block".into(),
            indicator: IndicatorInput {
                kind: e.target.kind().as_str().into(),
                value: e.target.value().into(),
            },
            scope: e.scope.as_str().into(),
            range_last: e.range_last.as_ref().map(|r| r.value().to_owned()),
            reference: e.reference.clone(),
            recipient_org: e.recipient_slug.clone(),
            since: e.since,
            expires: e.expires,
        })
        .collect();
    LookupResult {
        value: sent.to_owned(),
        kind: Some(ind.kind().as_str().into()),
        normalized: Some(ind.value().to_owned()),
        listed: !matches.is_empty(),
        matches,
        error: None,
    }
}

impl Service {
    pub fn lookup(&self, actor: &Actor, q: &Lookup) -> Result<LookupResult> {
        may_lookup(actor)?;
        Ok(answer(&self.blocklist.snapshot(), &q.sent, &q.indicator))
    }

    /// The public's question, "is my domain or address blocked, and how do I appeal": whether
    /// a value is listed, under which reference number, since and until when. Who enforces a
    /// block is for members.
    pub fn public_lookup(&self, q: &Lookup) -> LookupResult {
        let mut r = answer(&self.blocklist.snapshot(), &q.sent, &q.indicator);
        for m in &mut r.matches {
            m.recipient_org.clear();
        }
        r
    }

    pub fn lookup_batch(
        &self,
        actor: &Actor,
        req: &LookupBatchRequest,
    ) -> Result<LookupBatchResponse, ServiceError> {
        may_lookup(actor)?;
        if req.values.len() > LOOKUP_BATCH_MAX {
            return Err(ServiceError::BatchTooLarge(format!(
                "{} values: at most {LOOKUP_BATCH_MAX} per request; split the batch",
                req.values.len()
            )));
        }
        // One snapshot for the whole batch: every answer reflects the same serial.
        Ok(lookup_in(&self.blocklist.snapshot(), req))
    }

    pub async fn allowlist(&self, actor: &Actor) -> Result<AllowlistList, ServiceError> {
        may_lookup(actor)?;
        let mut items: Vec<AllowlistItem> = self
            .blocklist
            .allowlist()
            .entries()
            .iter()
            .filter(|e| !e.list.starts_with("operator:"))
            .map(|e| AllowlistItem {
                id: None,
                list: e.list.clone(),
                value: e.target.display(),
                source: e.source.clone(),
                org: None,
                created_at: None,
            })
            .collect();
        for r in self.store.allowlist_entries().await? {
            if r.value.removed.is_some() {
                continue;
            }
            items.push(AllowlistItem {
                id: Some(r.value.id),
                list: "operator".into(),
                value: r.value.value.clone(),
                source: r.value.reason.clone(),
                org: Some(r.value.org.slug.clone()),
                created_at: Some(r.value.created_at),
            });
        }
        Ok(AllowlistList { items })
    }

    pub async fn add_allowlist_entry(
        &self,
        actor: &Actor,
        req: AllowlistRequest,
        idem: Option<Idem>,
    ) -> Result<AllowlistItem, ServiceError> {
        let now = self.now();
        let (rec, ev) = AllowlistRecord::add(actor, Uuid::now_v7(), &req.value, &req.reason, now)?;
        self.once(idem, || async {
            let item = AllowlistItem {
                id: Some(rec.id),
                list: "operator".into(),
                value: rec.value.clone(),
                source: rec.reason.clone(),
                org: Some(rec.org.slug.clone()),
                created_at: Some(rec.created_at),
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![StoreWrite::AllowlistEntry {
                    entry: rec,
                    expected: None,
                }],
                vec![ev],
            );
            Ok((item, changes))
        })
        .await
    }

    pub async fn remove_allowlist_entry(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(), ServiceError> {
        let Some(cur) = self.store.allowlist_entry(id).await? else {
            return Err(ServiceError::NotFound(format!("allow-list entry {id}")));
        };
        let now = self.now();
        let (next, ev) = cur.value.remove(actor, now)?;
        self.once(None, || async {
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![StoreWrite::AllowlistEntry {
                    entry: next,
                    expected: Some(cur.version),
                }],
                vec![ev],
            );
            Ok(((), changes))
        })
        .await
    }
}

impl Service {
    /// A file of the MISP feed of blocks in force that `actor` may export: `manifest.json`
    /// or one event (`UUID.json`) per recipient organisation.
    pub async fn misp_feed(
        &self,
        actor: &Actor,
        file: &str,
    ) -> Result<serde_json::Value, ServiceError> {
        use warden_interop::misp;
        let scope = blocklist_scope(actor, None)?;
        let snap = self.blocklist.snapshot();
        let mut by_recipient: std::collections::BTreeMap<&str, Vec<misp::FeedBlock>> =
            std::collections::BTreeMap::new();
        for e in snap.entries() {
            if let BlocklistScope::Recipient(id) = scope
                && e.recipient_id != id
            {
                continue;
            }
            by_recipient
                .entry(e.recipient_slug.as_str())
                .or_default()
                .push(misp::FeedBlock {
                    measure_id: e.measure_id,
                    kind: e.target.kind(),
                    value: e.target.value().to_owned(),
                    scope: e.scope,
                    reference: e.reference.clone(),
                    since: e.since,
                });
        }
        let platform = uuid::Uuid::new_v5(&warden_interop::ids::NAMESPACE, b"misp/org/warden");
        if file == "manifest.json" {
            let m: serde_json::Map<String, serde_json::Value> = by_recipient
                .iter()
                .map(|(slug, blocks)| {
                    (
                        misp::event_uuid(slug).to_string(),
                        misp::manifest_entry(slug, platform, blocks),
                    )
                })
                .collect();
            return Ok(serde_json::Value::Object(m));
        }
        let not_found = || ServiceError::NotFound(format!("MISP feed file {file:?}"));
        let uuid = file
            .strip_suffix(".json")
            .and_then(|u| uuid::Uuid::parse_str(u).ok())
            .ok_or_else(not_found)?;
        let (slug, blocks) = by_recipient
            .iter_mut()
            .find(|(slug, _)| misp::event_uuid(slug) == uuid)
            .ok_or_else(not_found)?;
        // Stable order, so an unchanged feed is the same bytes.
        blocks.sort_by_key(|b| b.measure_id);
        Ok(misp::event(slug, platform, blocks))
    }
}
