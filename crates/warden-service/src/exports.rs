//! Blocklist exports: the whole list or a delta since a serial, in every format the matcher
//! renders, prepared here and written by whoever holds the output (an HTTP body, a file).

use crate::blocklist::{Blocklist, entry_of};
use crate::error::ServiceError;
use crate::filters::ExportFilter;
use crate::service::{Result, Service};
use std::collections::HashMap;
use std::io::Write;
use uuid::Uuid;
use warden_core::lifecycle::{BlocklistScope, blocklist_scope};
use warden_core::org::Actor;
use warden_match::Entry;
use warden_match::delta::{Touched, Units, delta_units};
use warden_match::render::{self, Format, Options, RpzAction};

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

impl Service {
    pub fn rpz_options(&self) -> Options {
        rpz_options(&self.policy.national().blocklists)
    }

    /// Prepares a blocklist: the whole list, or a delta since a serial.
    pub async fn export(
        &self,
        actor: &Actor,
        format: &str,
        q: &ExportFilter,
    ) -> Result<Export, ServiceError> {
        // A serial newer than this node's was seen on another node (clients behind a proxy
        // move between nodes): catch up from the database before answering, instead of
        // waiting for the next poll or refusing a serial that exists.
        if q.since
            .is_some_and(|s| s > self.blocklist.snapshot().serial)
        {
            self.blocklist.sync(&self.store).await?;
        }
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
}

/// Prepares a blocklist from a matcher: the whole list, or a delta since a serial. The server
/// and `warden export` share it.
pub async fn prepare_export(
    store: &dyn warden_store::Store,
    blocklist: &Blocklist,
    options: Options,
    actor: &Actor,
    format: &str,
    q: &ExportFilter,
) -> Result<Export, ServiceError> {
    let format = Format::parse(format).ok_or_else(|| {
        ServiceError::UnknownFormat(format!(
            "no export format {format:?}: expected one of rpz, nftables, suricata, plain, csv"
        ))
    })?;
    let requested = match &q.recipient {
        Some(slug) => Some(
            store
                .organisation_by_slug(slug)
                .await?
                .ok_or_else(|| ServiceError::UnknownOrganisation {
                    field: "recipient".into(),
                    slug: slug.clone(),
                })?
                .value
                .org_ref(),
        ),
        None => None,
    };
    let scope = blocklist_scope(actor, requested.as_ref())?;
    let kind = q.kind;
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
            .map_err(|e| ServiceError::Internal(format!("export: {e}")))?;
            ExportBody::Full(units)
        }
        Some(from) if from > snap.serial || from < 0 => {
            return Err(ServiceError::InvalidQuery(format!(
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
) -> Result<Vec<Touched>, ServiceError> {
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
            if let Some(entry) = entry_of(&c.block) {
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
