//! TAXII 2.1's side in the application: which collections a caller sees in each API root,
//! the pages of their objects (blocks in force and revoked, threats version by version,
//! publications, definitions), and envelopes taken in as reports. The HTTP side (media
//! types, envelopes, headers) is the server's; who may read or write what is the core's.

use crate::error::ServiceError;
use crate::proto::{IndicatorInput, ReportRequest};
use crate::service::{Idem, Service};
use crate::stix_index::version_parts;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use warden_core::bulletin::{Bulletin, BulletinKind};
use warden_core::indicator::TargetScope;
use warden_core::lifecycle::Tlp;
use warden_core::lifecycle::{BlocklistScope, blocklist_scope};
use warden_core::org::Actor;
use warden_interop::map::BlockVersion;
use warden_interop::stix::{self, Ts};
use warden_interop::taxii::{self as t, Collection, Filter, VersionFilter};
use warden_interop::{ids, inbound};
use warden_store::{BlockChange, BlockVersionQuery, CaseVersionQuery, VersionSelect};

type Result<T> = std::result::Result<T, ServiceError>;

pub const MEMBERS: &str = "members";
pub const PUBLIC: &str = "public";
const BLOCKS: &str = "blocks";
const PUBLICATIONS: &str = "publications";
const DEFINITIONS: &str = "definitions";
const THREATS: &str = "threats";
/// Item cursors of the threats collection: a case version's position times this, plus the
/// object's place in the version.
const PER_VERSION: i64 = 1 << 20;
/// Objects per page when the client names no limit, and the most it may ask for.
const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

/// What a collection holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Definitions,
    Blocks,
    Threats,
    Publications,
    /// The inbound collection of an organisation.
    Inbound(Uuid),
}

pub struct Coll {
    pub meta: Collection,
    pub source: Source,
}

/// The collections of a root the caller may see (a collection it may not see is a 404).
pub fn collections(root: &str, actor: &Actor) -> Vec<Coll> {
    let mk = |alias: String, title: String, description: &str, r: bool, w: bool, source| Coll {
        meta: Collection {
            id: ids::collection(&alias),
            title,
            description: description.into(),
            alias,
            can_read: r,
            can_write: w,
            media_types: vec![stix::MEDIA_TYPE],
        },
        source,
    };
    let publications = || {
        mk(
            PUBLICATIONS.into(),
            "Publications".into(),
            "Public publications of threats (Art. 6) as STIX reports",
            true,
            false,
            Source::Publications,
        )
    };
    let definitions = || {
        mk(
            DEFINITIONS.into(),
            "Definitions".into(),
            "What Warden's objects refer to: the platform's identity, Warden's property extension (extension-definition) and the TLP 2.0 marking definitions",
            true,
            false,
            Source::Definitions,
        )
    };
    if root == PUBLIC {
        return vec![definitions(), publications()];
    }
    let mut out = vec![definitions()];
    if blocklist_scope(actor, None).is_ok() {
        out.push(mk(
            BLOCKS.into(),
            "Blocks".into(),
            "Art. 8(1) block measures as STIX indicators: listed ones, and revoked versions once they expire or are revoked. Authorities and institutions see every block; other members the blocks they must enforce.",
            true,
            false,
            Source::Blocks,
        ));
    }
    if matches!(actor, Actor::Principal { .. }) {
        out.push(mk(
            THREATS.into(),
            "Threats".into(),
            "Threats (Art. 6) as STIX, version by version: infrastructure, malware or vulnerabilities with their indicators, the reports, sightings when reported again, and the decided measures as courses of action. Those who handle a case see it whole, every member the confirmed threats marked TLP:CLEAR or TLP:GREEN, a reporter what its own reports brought.",
            true,
            false,
            Source::Threats,
        ));
    }
    out.push(publications());
    if let Actor::Principal { org, .. } = actor {
        out.push(mk(
            format!("inbound-{}", org.slug),
            format!("Inbound from {}", org.slug),
            "STIX indicator and vulnerability objects sent here become reports of this organisation",
            false,
            true,
            Source::Inbound(org.id),
        ));
    }
    out
}

pub fn find_collection(root: &str, actor: &Actor, id: &str) -> Result<Coll> {
    collections(root, actor)
        .into_iter()
        .find(|c| c.meta.id == id || c.meta.alias == id)
        .ok_or_else(|| ServiceError::NotFound(format!("collection {id}")))
}

pub fn forbid(what: &str) -> ServiceError {
    ServiceError::Refused(warden_core::lifecycle::Refusal {
        code: warden_core::lifecycle::RefusalCode::Role,
        message: what.into(),
    })
}

pub use crate::items::Item;

/// A page of items and whether more follow.
pub struct Page {
    pub items: Vec<Item>,
    pub more: bool,
}

pub fn date_added(t: time::OffsetDateTime) -> String {
    t::DateAdded(t).to_string()
}

fn block_version(c: &BlockChange) -> Option<BlockVersion> {
    let kind = c.block.target_kind.parse().ok()?;
    Some(BlockVersion {
        measure_id: c.block.measure_id,
        kind,
        value: c.block.target_value.clone(),
        scope: c
            .block
            .scope
            .as_deref()
            .and_then(TargetScope::parse)
            .unwrap_or_else(|| TargetScope::default_for(kind)),
        range_last: c.block.range_last.clone(),
        recipient: c.block.recipient_slug.clone(),
        reference: c.block.reference.clone(),
        since: c.block.since,
        expires: c.block.expires,
        at: c.at,
        listed: c.listed,
    })
}

fn block_item(c: &BlockChange) -> Option<Item> {
    let v = block_version(c)?;
    let ind = v.to_indicator();
    Some(Item {
        id: ind.common.id.clone(),
        version: ind.common.modified,
        json: json(&ind),
        kind: "indicator",
        added: c.at,
        cursor: c.serial,
    })
}

impl Service {
    /// A page of the blocks collection, as `f` asks.
    pub(crate) async fn block_page(
        &self,
        actor: &Actor,
        f: &Filter,
        only: Option<Uuid>,
    ) -> Result<Page> {
        let recipient = match blocklist_scope(actor, None)? {
            BlocklistScope::All => None,
            BlocklistScope::Recipient(id) => Some(id),
        };
        let limit = f.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
        if !f.wants("indicator", stix::SPEC_VERSION) {
            return Ok(Page {
                items: vec![],
                more: false,
            });
        }
        let (versions, at) = version_select(f);
        let mut items = vec![];
        let mut after = f.next.unwrap_or(0);
        let chunk = (limit + 1) as u32;
        loop {
            let rows = self
                .store
                .block_versions(&BlockVersionQuery {
                    after_serial: after,
                    added_after: f.added_after.map(|t| t.0),
                    recipient,
                    measure: only,
                    versions,
                    limit: chunk,
                })
                .await?;
            let exhausted = rows.len() < chunk as usize;
            for r in &rows {
                after = r.serial;
                let Some(item) = block_item(r) else { continue };
                if at.is_some_and(|ts| !ts.contains(&item.version)) {
                    continue;
                }
                items.push(item);
                if items.len() > limit {
                    items.truncate(limit);
                    return Ok(Page { items, more: true });
                }
            }
            if exhausted {
                return Ok(Page { items, more: false });
            }
        }
    }

    /// A page of the threats collection: the objects of each case version the actor may
    /// see, in the order the versions were written; of one case (and one object) if named.
    pub(crate) async fn threat_page(
        &self,
        actor: &Actor,
        f: &Filter,
        case: Option<Uuid>,
        only: Option<&str>,
    ) -> Result<Page> {
        let limit = f.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
        let (versions, at) = version_select(f);
        let next = f.next.unwrap_or(0);
        // The version the previous page stopped in is read again, from its next object.
        let mut after = (next / PER_VERSION - 1).max(0);
        let mut items = vec![];
        loop {
            let rows = self
                .store
                .case_versions(&CaseVersionQuery {
                    after,
                    added_after: f.added_after.map(|t| t.0),
                    case,
                    versions,
                    limit: 200,
                })
                .await?;
            let exhausted = rows.len() < 200;
            for v in &rows {
                after = v.position;
                for (i, o) in self.threat_objects(actor, v).await?.into_iter().enumerate() {
                    let cursor = v.position * PER_VERSION + i as i64;
                    let version = Ts::millis(v.at);
                    if cursor <= next
                        || only.is_some_and(|x| x != o.id)
                        || (!f.ids.is_empty() && !f.ids.contains(&o.id))
                        || !f.wants(o.kind, stix::SPEC_VERSION)
                        || at.is_some_and(|ts| !ts.contains(&version))
                    {
                        continue;
                    }
                    items.push(Item {
                        json: o.json.to_string(),
                        kind: o.kind,
                        id: o.id,
                        version,
                        added: v.at,
                        cursor,
                    });
                    if items.len() > limit {
                        items.truncate(limit);
                        return Ok(Page { items, more: true });
                    }
                }
            }
            if exhausted {
                return Ok(Page { items, more: false });
            }
        }
    }

    /// The objects one case version shares with `actor` (none if it shares nothing).
    pub(crate) async fn threat_objects(
        &self,
        actor: &Actor,
        v: &warden_store::CaseVersion,
    ) -> Result<Vec<warden_interop::threat::Object>> {
        use warden_core::lifecycle::{
            can_view_measure, can_view_report, case_insider, shareable_with_members, shared_threat,
        };
        if !warden_core::lifecycle::can_view_case(actor, &v.case)
            && !shareable_with_members(&v.case)
        {
            return Ok(vec![]);
        }
        let (reports, measures) = version_parts(self.store.as_ref(), v).await?;
        let all: Vec<&warden_core::lifecycle::Report> = reports.iter().collect();
        let Some(case) = shared_threat(actor, &v.case, &all) else {
            return Ok(vec![]);
        };
        let threat = warden_interop::threat::ThreatVersion {
            case: &case,
            at: v.at,
            reports: reports
                .iter()
                .filter(|r| can_view_report(actor, r, Some(&v.case)))
                .collect(),
            measures: measures
                .iter()
                .filter(|m| can_view_measure(actor, m))
                .map(|m| (m, warden_core::notice::reference_number(m)))
                .collect(),
            insider: case_insider(actor, &v.case),
        };
        Ok(threat.objects())
    }

    /// Every publication as STIX, built at most once every few seconds: the collection is
    /// open to anyone, and a flood of requests must not re-read every publication each time.
    pub(crate) async fn publication_items(&self) -> Result<Vec<Item>> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(5);
        if let Some((at, items)) = self
            .publications_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && at.elapsed() < FRESH
        {
            return Ok(items.as_ref().clone());
        }
        let items = std::sync::Arc::new(self.build_publication_items().await?);
        *self
            .publications_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), items.clone()));
        Ok(items.as_ref().clone())
    }

    /// Every publication as STIX: a report, plus the identity of each issuer it refers to.
    async fn build_publication_items(&self) -> Result<Vec<Item>> {
        let mut all: Vec<Bulletin> = vec![];
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .bulletins(BulletinKind::Publication, 1000, cursor.as_deref())
                .await?;
            all.extend(page.items.into_iter().map(|b| b.value));
            match page.next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        all.sort_by_key(|b| (b.published_at, b.id));
        let mut items = vec![];
        let mut issuers = std::collections::BTreeSet::new();
        for (i, b) in all.iter().enumerate() {
            let at = Ts::millis(b.published_at);
            if issuers.insert(b.issuer.slug.clone()) {
                let identity = stix::Identity {
                    common: stix::Common::new(
                        "identity",
                        ids::organisation(&b.issuer.slug),
                        at,
                        at,
                    ),
                    name: b.issuer.slug.clone(),
                    description: None,
                    identity_class: "organization",
                    sectors: vec!["government-national"],
                };
                items.push(Item {
                    id: identity.common.id.clone(),
                    version: at,
                    json: json(&identity),
                    kind: "identity",
                    added: b.published_at,
                    cursor: (2 * i) as i64 + 1,
                });
            }
            let mut common = stix::Common::new(
                "report",
                ids::stix_id("report", &format!("bulletin/{}", b.id)),
                at,
                at,
            );
            common.created_by_ref = Some(ids::organisation(&b.issuer.slug));
            common.object_marking_refs = vec![stix::tlp_marking_id(b.tlp).to_owned()];
            let report = stix::Report {
                common,
                name: b.title.clone(),
                description: Some(b.body.clone()),
                report_types: vec!["threat-report"],
                published: at,
                object_refs: vec![ids::organisation(&b.issuer.slug)],
            };
            items.push(Item {
                id: report.common.id.clone(),
                version: at,
                json: json(&report),
                kind: "report",
                added: b.published_at,
                cursor: (2 * i) as i64 + 2,
            });
        }
        Ok(items)
    }
}

/// Which stored versions `match[version]` asks for, and the exact ones if it names them.
fn version_select(f: &Filter) -> (VersionSelect, Option<&Vec<Ts>>) {
    match &f.version {
        VersionFilter::Last => (VersionSelect::Last, None),
        VersionFilter::First => (VersionSelect::First, None),
        VersionFilter::All => (VersionSelect::All, None),
        VersionFilter::At(ts) => (VersionSelect::All, Some(ts)),
    }
}

/// The definitions every Warden object relies on: the platform's identity, Warden's
/// property extension, and the TLP 2.0 marking definitions.
fn definition_items() -> Vec<Item> {
    let identity = stix::platform_identity();
    let ext = stix::warden_extension();
    let at = identity.common.created.0;
    let mut items = vec![
        Item {
            id: identity.common.id.clone(),
            version: identity.common.modified,
            json: json(&identity),
            kind: "identity",
            added: at,
            cursor: 1,
        },
        Item {
            id: ext.common.id.clone(),
            version: ext.common.modified,
            json: json(&ext),
            kind: "extension-definition",
            added: at,
            cursor: 2,
        },
    ];
    for (i, tlp) in [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ]
    .into_iter()
    .enumerate()
    {
        let m = stix::tlp_marking(tlp);
        let version = Ts::parse(m.created).unwrap_or(Ts(at));
        items.push(Item {
            id: m.id.to_owned(),
            version,
            json: json(&m),
            kind: "marking-definition",
            added: at,
            cursor: 3 + i as i64,
        });
    }
    items
}

/// A page of a collection held whole in memory (small ones: definitions, publications).
fn static_page(all: Vec<Item>, f: &Filter, only: Option<&str>) -> Page {
    let limit = f.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let after = f.next.unwrap_or(0);
    let mut items: Vec<Item> = all
        .into_iter()
        .filter(|i| i.cursor > after)
        .filter(|i| f.added_after.is_none_or(|t| i.added > t.0))
        .filter(|i| only.is_none_or(|o| o == i.id))
        .filter(|i| f.ids.is_empty() || f.ids.contains(&i.id))
        .filter(|i| f.wants(i.kind, stix::SPEC_VERSION))
        .filter(|i| match &f.version {
            VersionFilter::At(ts) => ts.contains(&i.version),
            _ => true,
        })
        .collect();
    let more = items.len() > limit;
    items.truncate(limit);
    Page { items, more }
}

impl Service {
    /// The page `f` asks of a collection, optionally of one object only.
    pub async fn taxii_page(
        &self,
        actor: &Actor,
        c: &Coll,
        f: &Filter,
        object: Option<&str>,
    ) -> Result<Page> {
        match &c.source {
            Source::Inbound(_) => Err(forbid(
                "an inbound collection can be written, not read: what it receives becomes reports, read through /api/v1/reports",
            )),
            Source::Publications => Ok(static_page(self.publication_items().await?, f, object)),
            Source::Threats => match object {
                None => self.threat_page(actor, f, None, None).await,
                Some(o) => {
                    // The first case that shares the object with this reader answers.
                    for case in self.taxii_threats.cases(self.store.as_ref(), o).await? {
                        let p = self.threat_page(actor, f, Some(case), Some(o)).await?;
                        if !p.items.is_empty() {
                            return Ok(p);
                        }
                    }
                    Ok(Page {
                        items: vec![],
                        more: false,
                    })
                }
            },
            Source::Definitions => Ok(static_page(definition_items(), f, object)),
            Source::Blocks => {
                let mut wanted: Vec<&str> = f.ids.iter().map(String::as_str).collect();
                if let Some(o) = object {
                    wanted = vec![o];
                }
                if wanted.is_empty() {
                    return self.block_page(actor, f, None).await;
                }
                // Named objects: each one's versions, merged in change order.
                let mut items = vec![];
                for id in wanted {
                    if let Some(m) = self.taxii_ids.measure(self.store.as_ref(), id).await? {
                        let one = Filter {
                            limit: Some(MAX_LIMIT),
                            next: None,
                            ids: vec![],
                            ..f.clone()
                        };
                        items.extend(self.block_page(actor, &one, Some(m)).await?.items);
                    }
                }
                items.sort_by_key(|i| i.cursor);
                items.retain(|i| i.cursor > f.next.unwrap_or(0));
                let limit = f.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
                let more = items.len() > limit;
                items.truncate(limit);
                Ok(Page { items, more })
            }
        }
    }

    /// Takes in STIX objects as reports of `actor`, one by one; the status is kept before it
    /// is returned.
    pub async fn take_in(
        &self,
        actor: &Actor,
        org_id: Uuid,
        objects: &[Value],
    ) -> std::result::Result<t::Status, ServiceError> {
        let now = self.now();
        let id = Uuid::now_v7();
        let mut status = t::Status {
            id: id.to_string(),
            status: "complete".into(),
            request_timestamp: date_added(now),
            total_count: objects.len(),
            success_count: 0,
            successes: vec![],
            failure_count: 0,
            failures: vec![],
            pending_count: 0,
            pendings: vec![],
        };
        for o in objects {
            let oid = o
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("(no id)")
                .to_owned();
            let version = o
                .get("modified")
                .or_else(|| o.get("created"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let outcome = match inbound::read(o) {
                Err(why) => Err(why),
                Ok(d) => {
                    let req = ReportRequest {
                        category: d.category.as_str().to_owned(),
                        subtype: d.subtype.as_str().to_owned(),
                        title: d.title,
                        description: d.description,
                        observed_at: d.observed_at,
                        province: None,
                        tlp: d.tlp,
                        indicators: d
                            .indicators
                            .into_iter()
                            .map(|(k, v)| IndicatorInput {
                                kind: k.as_str().to_owned(),
                                value: v,
                            })
                            .collect(),
                        victim: None,
                    };
                    // The same object version sent again is the same report, not a second one.
                    let idem = actor.principal_id().map(|p| Idem {
                        scope: p.to_string(),
                        key: format!("stix:{oid}:{version}"),
                        request_hash: Sha256::digest(o.to_string().as_bytes())
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect(),
                    });
                    self.submit_report(actor, req, idem)
                        .await
                        .map(|r| {
                            format!(
                                "report {} in case {}{}",
                                r.id,
                                r.case_id,
                                if r.correlated {
                                    " (a sighting of an open case)"
                                } else {
                                    ""
                                }
                            )
                        })
                        .map_err(|e| e.detail())
                }
            };
            match outcome {
                Ok(msg) => {
                    status.success_count += 1;
                    status.successes.push(t::StatusDetail {
                        id: oid,
                        version,
                        message: Some(msg),
                    });
                }
                Err(why) => {
                    status.failure_count += 1;
                    status.failures.push(t::StatusDetail {
                        id: oid,
                        version,
                        message: Some(why),
                    });
                }
            }
        }
        let body =
            serde_json::to_string(&status).map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.store.put_taxii_status(id, org_id, now, &body).await?;
        Ok(status)
    }

    /// How an envelope went, for the organisation that sent it (to anyone else: not found).
    pub async fn taxii_status(&self, actor: &Actor, status_id: &str) -> Result<t::Status> {
        let not_found = || ServiceError::NotFound(format!("status {status_id}"));
        let sid = Uuid::parse_str(status_id).map_err(|_| not_found())?;
        let (org, body) = self.store.taxii_status(sid).await?.ok_or_else(not_found)?;
        match actor {
            Actor::Principal { org: o, .. } if o.id == org => {}
            _ => return Err(not_found()),
        }
        serde_json::from_str(&body).map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

fn json<T: Serialize>(o: &T) -> String {
    serde_json::to_string(o).unwrap_or_default()
}
