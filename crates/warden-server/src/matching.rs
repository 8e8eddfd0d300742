//! Lookups, blocklist exports and the allow-lists: the service side of the indicator engine.
//! Who may do what is the core's (`blocklist_scope`, `may_lookup`, `AllowlistRecord`).

use crate::error::ApiError;
use crate::service::{Idem, Service};
use crate::types::*;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use uuid::Uuid;
use warden_core::allowlist::AllowlistRecord;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_core::lifecycle::{BlocklistScope, blocklist_scope, may_lookup};
use warden_core::org::Actor;
use warden_match::delta::{Touched, Units, delta_units};
use warden_match::render::{self, Format, Options, RpzAction};
use warden_match::{Entry, Snapshot};
use warden_store::{Changeset, Write as StoreWrite};

/// Query parameters of `GET /api/v1/blocklists/{format}`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Slug of the organisation whose blocks to export (yours by default unless you oversee).
    pub recipient: Option<String>,
    /// Only the changes after this serial (a delta).
    pub since: Option<i64>,
    /// Only targets of this indicator type (`plain` and `csv`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// Query parameters of `GET /api/v1/lookup`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The value: an address, network, domain, URL, e-mail address, phone number, hash…
    pub value: String,
    /// Its indicator type, when it should not be recognised from its shape.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A blocklist ready to write: everything decided, nothing left to fail but the writer.
pub struct Export {
    pub format: Format,
    pub serial: i64,
    pub body: ExportBody,
    pub options: Options,
}

pub enum ExportBody {
    Full(Units),
    Delta {
        from: i64,
        removed: Units,
        added: Units,
    },
}

impl Export {
    /// Units (records, set elements, rows) the export holds.
    pub fn len(&self) -> usize {
        match &self.body {
            ExportBody::Full(u) => u.len(),
            ExportBody::Delta { removed, added, .. } => removed.len() + added.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn write(&self, w: &mut impl Write, progress: impl FnMut(usize)) -> std::io::Result<()> {
        match &self.body {
            ExportBody::Full(units) => {
                render::full(self.format, units, &self.options, self.serial, w, progress)
            }
            ExportBody::Delta {
                from,
                removed,
                added,
            } => render::delta(
                self.format,
                removed,
                added,
                &self.options,
                *from,
                self.serial,
                w,
            ),
        }
    }
}

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

/// Export options from the policy's `[blocklists]` rules.
pub fn rpz_options(b: &warden_core::policy::BlocklistRules) -> Options {
    Options {
        zone: b.rpz_zone.clone(),
        action: match b.sinkhole {
            None => RpzAction::Nxdomain,
            Some((v4, v6)) => RpzAction::Sinkhole { v4, v6 },
        },
        ..Options::default()
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

/// A value as sent, typed or recognised from its shape.
pub(crate) fn parse_value(kind: Option<&str>, value: &str) -> Result<Indicator, String> {
    match kind {
        Some(k) => {
            let t: IndicatorType = k.parse().map_err(|e| format!("type: {e}"))?;
            Indicator::parse(t, value).map_err(|e| e.to_string())
        }
        None => Indicator::detect(value).map_err(|e| e.to_string()),
    }
}

impl Service {
    pub fn rpz_options(&self) -> Options {
        rpz_options(&self.policy.national().blocklists)
    }

    pub fn lookup(&self, actor: &Actor, q: &LookupQuery) -> Result<LookupResult, ApiError> {
        may_lookup(actor)?;
        let ind = parse_value(q.kind.as_deref(), &q.value).map_err(|m| ApiError::Indicator {
            field: "value".into(),
            source: warden_core::indicator::IndicatorError {
                kind: None,
                input: q.value.clone(),
                reason: m,
            },
        })?;
        Ok(answer(&self.blocklist.snapshot(), &q.value, &ind))
    }

    /// The public's question, "is my domain or address blocked, and how do I appeal": whether
    /// a value is listed, under which reference number, since and until when. Who enforces a
    /// block is for members.
    pub fn public_lookup(&self, q: &LookupQuery) -> Result<LookupResult, ApiError> {
        let ind = parse_value(q.kind.as_deref(), &q.value).map_err(|m| ApiError::Indicator {
            field: "value".into(),
            source: warden_core::indicator::IndicatorError {
                kind: None,
                input: q.value.clone(),
                reason: m,
            },
        })?;
        let mut r = answer(&self.blocklist.snapshot(), &q.value, &ind);
        for m in &mut r.matches {
            m.recipient_org.clear();
        }
        Ok(r)
    }

    pub fn lookup_batch(
        &self,
        actor: &Actor,
        req: &LookupBatchRequest,
    ) -> Result<LookupBatchResponse, ApiError> {
        may_lookup(actor)?;
        if req.values.len() > LOOKUP_BATCH_MAX {
            return Err(ApiError::BatchTooLarge(format!(
                "{} values: at most {LOOKUP_BATCH_MAX} per request; split the batch",
                req.values.len()
            )));
        }
        // One snapshot for the whole batch: every answer reflects the same serial.
        Ok(lookup_in(&self.blocklist.snapshot(), req))
    }

    /// Prepares a blocklist: the whole list, or a delta since a serial.
    pub async fn export(
        &self,
        actor: &Actor,
        format: &str,
        q: &ExportQuery,
    ) -> Result<Export, ApiError> {
        prepare_export(
            self.store.as_ref(),
            &self.blocklist,
            self.rpz_options(),
            actor,
            format,
            q,
        )
        .await
    }

    pub async fn allowlist(&self, actor: &Actor) -> Result<AllowlistList, ApiError> {
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
    ) -> Result<AllowlistItem, ApiError> {
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

    pub async fn remove_allowlist_entry(&self, actor: &Actor, id: Uuid) -> Result<(), ApiError> {
        let Some(cur) = self.store.allowlist_entry(id).await? else {
            return Err(ApiError::NotFound(format!("allow-list entry {id}")));
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

/// Prepares a blocklist from a matcher: the whole list, or a delta since a serial. The server
/// and `warden export` share it.
pub async fn prepare_export(
    store: &dyn warden_store::Store,
    blocklist: &crate::blocklist::Blocklist,
    options: Options,
    actor: &Actor,
    format: &str,
    q: &ExportQuery,
) -> Result<Export, ApiError> {
    let format = Format::parse(format).ok_or_else(|| {
        ApiError::UnknownFormat(format!(
            "no export format {format:?}: expected one of rpz, nftables, suricata, plain, csv"
        ))
    })?;
    let requested = match &q.recipient {
        Some(slug) => Some(
            store
                .organisation_by_slug(slug)
                .await?
                .ok_or_else(|| ApiError::UnknownOrganisation {
                    field: "recipient".into(),
                    slug: slug.clone(),
                })?
                .value
                .org_ref(),
        ),
        None => None,
    };
    let scope = blocklist_scope(actor, requested.as_ref())?;
    let kind = match &q.kind {
        None => None,
        Some(k) => Some(
            k.parse::<IndicatorType>()
                .map_err(|e| ApiError::InvalidQuery(format!("type: {e}")))?,
        ),
    };
    let in_scope = move |e: &Entry| {
        (match scope {
            BlocklistScope::All => true,
            BlocklistScope::Recipient(id) => e.recipient_id == id,
        }) && kind.is_none_or(|k| e.target.kind() == k)
    };
    let snap = blocklist.snapshot();
    let body = match q.since {
        None => {
            let snap2 = snap.clone();
            let units = tokio::task::spawn_blocking(move || {
                render::units(format, snap2.entries().filter(|e| in_scope(e)).cloned())
            })
            .await
            .map_err(|e| ApiError::Internal(format!("export: {e}")))?;
            ExportBody::Full(units)
        }
        Some(from) if from > snap.serial || from < 0 => {
            return Err(ApiError::InvalidQuery(format!(
                "since: serial {from} is not between 0 and the current serial {}",
                snap.serial
            )));
        }
        Some(from) => {
            let touched = touched_between(store, from, snap.serial).await?;
            let (removed, added) = delta_units(format, &snap, &touched, &in_scope);
            ExportBody::Delta {
                from,
                removed,
                added,
            }
        }
    };
    Ok(Export {
        format,
        serial: snap.serial,
        body,
        options,
    })
}

/// The measures whose listing changed in (from, to], each with its state at `from`.
async fn touched_between(
    store: &dyn warden_store::Store,
    from: i64,
    to: i64,
) -> Result<Vec<Touched>, ApiError> {
    let mut first: HashMap<Uuid, Touched> = HashMap::new();
    let mut order = vec![];
    let mut at = from;
    'pages: loop {
        let page = store.block_changes(at, 10_000).await?;
        let n = page.len();
        for c in page {
            if c.serial > to {
                break 'pages;
            }
            at = c.serial;
            if first.contains_key(&c.block.measure_id) {
                continue;
            }
            if let Some(entry) = crate::blocklist::entry_of(&c.block) {
                order.push(c.block.measure_id);
                // The first change after `from` tells the state at `from`.
                first.insert(
                    c.block.measure_id,
                    Touched {
                        entry,
                        listed_then: !c.listed,
                    },
                );
            }
        }
        if n < 10_000 || at >= to {
            break;
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|id| first.remove(&id))
        .collect())
}

/// Streams an export as HTTP body chunks, rendered on a blocking thread.
pub fn stream(export: Export) -> axum::body::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            tx: tx.clone(),
        };
        let r = export.write(&mut w, |_| {}).and_then(|_| w.flush());
        if let Err(e) = r {
            // The client went away, or rendering failed: the stream ends with the error.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    axum::body::Body::from_stream(stream)
}

const CHUNK: usize = 64 * 1024;

struct ChunkWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>,
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl crate::service::Service {
    /// A file of the MISP feed of blocks in force that `actor` may export: `manifest.json`
    /// or one event (`UUID.json`) per recipient organisation.
    pub async fn misp_feed(
        &self,
        actor: &Actor,
        file: &str,
    ) -> Result<serde_json::Value, ApiError> {
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
        let not_found = || ApiError::NotFound(format!("MISP feed file {file:?}"));
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
