//! TAXII 2.1 (OASIS) at `/taxii2/`: discovery, two API roots (`members`, `public`), their
//! collections, objects with paging and filters, versions, manifests, and envelopes POSTed to
//! an organisation's inbound collection, with a status resource. The content is STIX 2.1 from
//! `warden-interop`; who may read or write what is decided by the core, as for the REST API.

use crate::Peer;
use crate::error::ApiError;
use crate::service::{Idem, Service};
use crate::types::{IndicatorInput, ReportRequest};
use crate::{AppState, BODY_LIMIT};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;
use warden_core::bulletin::{Bulletin, BulletinKind};
use warden_core::indicator::TargetScope;
use warden_core::lifecycle::Tlp;
use warden_core::lifecycle::{BlocklistScope, blocklist_scope};
use warden_core::org::Actor;
use warden_interop::map::BlockVersion;
use warden_interop::stix::{self, Ts};
use warden_interop::taxii::{
    self as t, Collection, Filter, Manifest, ManifestRecord, VersionFilter, Versions,
};
use warden_interop::{ids, inbound};
use warden_store::{BlockChange, BlockVersionQuery, CaseVersionQuery, VersionSelect};

const MEMBERS: &str = "members";
const PUBLIC: &str = "public";
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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/{root}/", get(api_root))
        .route("/taxii2/{root}/collections/", get(collections))
        .route("/taxii2/{root}/collections/{id}/", get(collection))
        .route(
            "/taxii2/{root}/collections/{id}/objects/",
            get(objects).post(add_objects),
        )
        .route(
            "/taxii2/{root}/collections/{id}/objects/{object_id}/",
            get(object).delete(delete_object),
        )
        .route(
            "/taxii2/{root}/collections/{id}/objects/{object_id}/versions/",
            get(versions),
        )
        .route("/taxii2/{root}/collections/{id}/manifest/", get(manifest))
        .route("/taxii2/{root}/status/{status_id}/", get(status))
}

/// A TAXII error message resource with the API's stable codes.
pub struct TaxiiError(ApiError);

impl<E: Into<ApiError>> From<E> for TaxiiError {
    fn from(e: E) -> Self {
        TaxiiError(e.into())
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let (status, code, title, detail) = self.0.describe();
        let body = t::Error {
            title: title.to_owned(),
            description: detail,
            error_code: code,
            http_status: status.as_u16().to_string(),
        };
        let mut resp = taxii_json(status, &body, None);
        if let Some(secs) = self.0.retry_after()
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"warden\", Bearer"),
            );
        }
        resp
    }
}

type Result<T> = std::result::Result<T, TaxiiError>;

fn taxii_json<T: Serialize>(
    status: StatusCode,
    body: &T,
    added: Option<(String, String)>,
) -> Response {
    taxii_raw(status, serde_json::to_vec(body).unwrap_or_default(), added)
}

fn taxii_raw(status: StatusCode, bytes: Vec<u8>, added: Option<(String, String)>) -> Response {
    let mut resp = (status, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(t::MEDIA_TYPE),
    );
    if let Some((first, last)) = added
        && let (Ok(f), Ok(l)) = (HeaderValue::from_str(&first), HeaderValue::from_str(&last))
    {
        h.insert("x-taxii-date-added-first", f);
        h.insert("x-taxii-date-added-last", l);
    }
    resp
}

/// One media range of an Accept or Content-Type header: `application/taxii+json` with no
/// version or version 2.1.
fn is_taxii_21(range: &str) -> bool {
    let mut parts = range.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    if essence != "application/taxii+json" {
        return false;
    }
    parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("version") => {
            v.trim().trim_matches('"') == "2.1"
        }
        _ => true,
    })
}

/// TAXII 2.1 §1.6.8: a request must accept the TAXII media type, version 2.1.
fn negotiate(headers: &HeaderMap) -> Result<()> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.split(',').any(is_taxii_21) {
        return Ok(());
    }
    Err(ApiError::NotAcceptable(format!(
        "Accept {accept:?}: this server answers only {}",
        t::MEDIA_TYPE
    ))
    .into())
}

async fn caller(s: &AppState, peer: Peer, headers: &HeaderMap) -> Result<Actor> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(crate::auth::authenticate(
        s.svc.store.as_ref(),
        header,
        s.svc.clock.now(),
        s.origin(peer.0),
    )
    .await?)
}

/// The caller of an API root: members must authenticate; the public root is open.
async fn root_caller(s: &AppState, peer: Peer, root: &str, headers: &HeaderMap) -> Result<Actor> {
    negotiate(headers)?;
    match root {
        MEMBERS => caller(s, peer, headers).await,
        PUBLIC => Ok(Actor::Public),
        other => Err(ApiError::NotFound(format!(
            "API root {other:?}: this server has {MEMBERS} and {PUBLIC}"
        ))
        .into()),
    }
}

fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}/taxii2")
}

async fn discovery(headers: HeaderMap) -> Result<Response> {
    negotiate(&headers)?;
    let b = base(&headers);
    Ok(taxii_json(
        StatusCode::OK,
        &t::Discovery {
            title: "Warden".into(),
            description: "Public-internet cyber threat sharing: blocks in force, publications, and an inbound collection per member organisation".into(),
            contact: "the platform operator (CNCERT)".into(),
            default: format!("{b}/{MEMBERS}/"),
            api_roots: vec![format!("{b}/{MEMBERS}/"), format!("{b}/{PUBLIC}/")],
        },
        None,
    ))
}

async fn api_root(
    State(s): State<AppState>,
    Path(root): Path<String>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    root_caller(&s, peer, &root, &headers).await?;
    let (title, description) = if root == MEMBERS {
        (
            "Members",
            "For member organisations: the blocks they enforce and their inbound collection",
        )
    } else {
        ("Public", "Publications of the platform, open to all")
    };
    Ok(taxii_json(
        StatusCode::OK,
        &t::ApiRoot {
            title: title.into(),
            description: description.into(),
            versions: vec![t::MEDIA_TYPE],
            max_content_length: BODY_LIMIT,
        },
        None,
    ))
}

/// What a collection holds.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Definitions,
    Blocks,
    Threats,
    Publications,
    /// The inbound collection of an organisation.
    Inbound(Uuid),
}

struct Coll {
    meta: Collection,
    source: Source,
}

/// The collections of a root the caller may see (a collection it may not see is a 404).
fn visible(root: &str, actor: &Actor) -> Vec<Coll> {
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

fn find(root: &str, actor: &Actor, id: &str) -> Result<Coll> {
    visible(root, actor)
        .into_iter()
        .find(|c| c.meta.id == id || c.meta.alias == id)
        .ok_or_else(|| ApiError::NotFound(format!("collection {id}")).into())
}

fn forbid(what: &str) -> TaxiiError {
    ApiError::Refused(warden_core::lifecycle::Refusal {
        code: warden_core::lifecycle::RefusalCode::Role,
        message: what.into(),
    })
    .into()
}

async fn collections(
    State(s): State<AppState>,
    Path(root): Path<String>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let actor = root_caller(&s, peer, &root, &headers).await?;
    let collections = visible(&root, &actor).into_iter().map(|c| c.meta).collect();
    Ok(taxii_json(
        StatusCode::OK,
        &t::Collections { collections },
        None,
    ))
}

async fn collection(
    State(s): State<AppState>,
    Path((root, id)): Path<(String, String)>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let actor = root_caller(&s, peer, &root, &headers).await?;
    Ok(taxii_json(
        StatusCode::OK,
        &find(&root, &actor, &id)?.meta,
        None,
    ))
}

fn filter(q: Option<&str>) -> Result<Filter> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    Filter::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| ApiError::InvalidQuery(e).into())
}

/// One version of one object in a collection, with when it was added.
struct Item {
    /// The object, serialised.
    json: String,
    kind: &'static str,
    id: String,
    version: Ts,
    added: time::OffsetDateTime,
    /// Where the next page starts after this item.
    cursor: i64,
}

/// A page of items and whether more follow.
struct Page {
    items: Vec<Item>,
    more: bool,
}

fn added_headers(items: &[Item]) -> Option<(String, String)> {
    Some((
        date_added(items.first()?.added),
        date_added(items.last()?.added),
    ))
}

fn date_added(t: time::OffsetDateTime) -> String {
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

/// Maps the STIX ids of threat objects back to the cases they appear in. Ids are UUIDv5 and
/// cannot be inverted, and searching every case for one id on each request would cost
/// database round trips per case. So the first request that names an object reads the
/// latest version of every case once, later ones only the versions written since; each id is
/// kept by a keyed 64-bit hash (a collision only adds a candidate, which the reader's own
/// share then rules out) with the cases it appeared in.
pub struct ThreatIndex {
    hasher: std::hash::RandomState,
    inner: tokio::sync::Mutex<ThreatIds>,
}

#[derive(Default)]
struct ThreatIds {
    /// The position of the last case version read.
    after: i64,
    cases: HashMap<u64, Vec<Uuid>>,
}

impl Default for ThreatIndex {
    fn default() -> Self {
        ThreatIndex {
            hasher: std::hash::RandomState::new(),
            inner: tokio::sync::Mutex::default(),
        }
    }
}

impl ThreatIndex {
    /// The cases an object with this id may belong to, most recently seen first, each once.
    async fn cases(&self, svc: &Service, stix_id: &str) -> Result<Vec<Uuid>> {
        use std::hash::BuildHasher;
        // One reader at a time: the first read of every case is not worth doing twice.
        let mut ids = self.inner.lock().await;
        // A case's latest version holds every object its earlier ones did.
        let versions = if ids.after == 0 {
            VersionSelect::Last
        } else {
            VersionSelect::All
        };
        loop {
            let rows = svc
                .store
                .case_versions(&CaseVersionQuery {
                    after: ids.after,
                    added_after: None,
                    case: None,
                    versions,
                    limit: 500,
                })
                .await?;
            for v in &rows {
                for id in svc.threat_object_ids(v).await? {
                    let cases = ids.cases.entry(self.hasher.hash_one(&id)).or_default();
                    if cases.last() != Some(&v.case.id) {
                        cases.push(v.case.id);
                    }
                }
                ids.after = ids.after.max(v.position);
            }
            if rows.len() < 500 {
                break;
            }
        }
        let mut seen = std::collections::HashSet::new();
        Ok(ids
            .cases
            .get(&self.hasher.hash_one(stix_id))
            .map(|c| {
                c.iter()
                    .rev()
                    .filter(|c| seen.insert(**c))
                    .copied()
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Maps STIX indicator ids back to block measures. Ids are UUIDv5 and cannot be inverted,
/// so this remembers every block the change sequence has named, reading only new changes.
#[derive(Default)]
pub struct IdIndex {
    inner: Mutex<(i64, HashMap<String, Uuid>)>,
}

impl IdIndex {
    async fn measure(&self, svc: &Service, stix_id: &str) -> Result<Option<Uuid>> {
        let from = match self.inner.lock() {
            Ok(g) => {
                if let Some(m) = g.1.get(stix_id) {
                    return Ok(Some(*m));
                }
                g.0
            }
            Err(_) => 0,
        };
        let mut after = from;
        let mut found = HashMap::new();
        loop {
            let rows = svc.store.block_changes(after, 10_000).await?;
            let Some(last) = rows.last() else { break };
            after = last.serial;
            for r in &rows {
                found
                    .entry(ids::block_indicator(r.block.measure_id))
                    .or_insert(r.block.measure_id);
            }
        }
        let hit = found.get(stix_id).copied();
        if let Ok(mut g) = self.inner.lock() {
            g.0 = g.0.max(after);
            g.1.extend(found);
        }
        Ok(hit)
    }
}

impl Service {
    /// A page of the blocks collection, as `f` asks.
    async fn block_page(&self, actor: &Actor, f: &Filter, only: Option<Uuid>) -> Result<Page> {
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
    async fn threat_page(
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

    /// The reports and measures of a case as they stood at one of its versions.
    async fn version_parts(
        &self,
        v: &warden_store::CaseVersion,
    ) -> Result<(
        Vec<warden_core::lifecycle::Report>,
        Vec<warden_core::lifecycle::Measure>,
    )> {
        let reports = self
            .store
            .reports_of_case(v.case.id)
            .await?
            .into_iter()
            .map(|r| r.value)
            .filter(|r| written_by(r.submitted_at, v.at))
            .collect();
        let measures = self
            .store
            .measures_of_case(v.case.id)
            .await?
            .into_iter()
            .map(|m| m.value)
            .filter(|m| written_by(m.decided_at, v.at))
            .collect();
        Ok((reports, measures))
    }

    /// The objects one case version shares with `actor` (none if it shares nothing).
    async fn threat_objects(
        &self,
        actor: &Actor,
        v: &warden_store::CaseVersion,
    ) -> Result<Vec<warden_interop::threat::Object>> {
        use warden_core::lifecycle::{
            can_view_measure, can_view_report, case_insider, shared_threat,
        };
        if !warden_core::lifecycle::can_view_case(actor, &v.case)
            && !matches!(v.case.tlp, Tlp::Clear | Tlp::Green)
        {
            return Ok(vec![]);
        }
        let (reports, measures) = self.version_parts(v).await?;
        let own: Vec<&warden_core::lifecycle::Report> = reports
            .iter()
            .filter(|r| actor.org().is_some_and(|o| o.id == r.reporter.id))
            .collect();
        let Some(case) = shared_threat(actor, &v.case, &own) else {
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

    /// The ids of every object a case version can share with anyone: what any reader's
    /// share is drawn from (a reader sees fewer objects, never others).
    async fn threat_object_ids(&self, v: &warden_store::CaseVersion) -> Result<Vec<String>> {
        let (reports, measures) = self.version_parts(v).await?;
        let threat = warden_interop::threat::ThreatVersion {
            case: &v.case,
            at: v.at,
            reports: reports.iter().collect(),
            measures: measures
                .iter()
                .map(|m| (m, warden_core::notice::reference_number(m)))
                .collect(),
            insider: true,
        };
        Ok(threat.objects().into_iter().map(|o| o.id).collect())
    }

    /// Every publication as STIX: a report, plus the identity of each issuer it refers to.
    async fn publication_items(&self) -> Result<Vec<Item>> {
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

/// Whether something that happened at `t` is part of a version written at `at`: versions
/// keep microseconds, the records' own times nanoseconds.
fn written_by(t: time::OffsetDateTime, at: time::OffsetDateTime) -> bool {
    t - at < time::Duration::microseconds(1)
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

/// The page `f` asks of a collection, optionally of one object only.
async fn page(
    s: &AppState,
    actor: &Actor,
    c: &Coll,
    f: &Filter,
    object: Option<&str>,
) -> Result<Page> {
    match &c.source {
        Source::Inbound(_) => Err(forbid(
            "an inbound collection can be written, not read: what it receives becomes reports, read through /api/v1/reports",
        )),
        Source::Publications => Ok(static_page(s.svc.publication_items().await?, f, object)),
        Source::Threats => match object {
            None => s.svc.threat_page(actor, f, None, None).await,
            Some(o) => {
                // The first case that shares the object with this reader answers.
                for case in s.taxii_threats.cases(&s.svc, o).await? {
                    let p = s.svc.threat_page(actor, f, Some(case), Some(o)).await?;
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
                return s.svc.block_page(actor, f, None).await;
            }
            // Named objects: each one's versions, merged in change order.
            let mut items = vec![];
            for id in wanted {
                if let Some(m) = s.taxii_ids.measure(&s.svc, id).await? {
                    let one = Filter {
                        limit: Some(MAX_LIMIT),
                        next: None,
                        ids: vec![],
                        ..f.clone()
                    };
                    items.extend(s.svc.block_page(actor, &one, Some(m)).await?.items);
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

fn json<T: Serialize>(o: &T) -> String {
    serde_json::to_string(o).unwrap_or_default()
}

/// The envelope of a page, written from the objects' own serialisations.
fn envelope(p: &Page, added: Option<(String, String)>) -> Response {
    let mut out =
        String::with_capacity(64 + p.items.iter().map(|i| i.json.len() + 1).sum::<usize>());
    out.push_str(if p.more {
        "{\"more\":true"
    } else {
        "{\"more\":false"
    });
    if let Some(n) = next_of(p) {
        out.push_str(",\"next\":");
        out.push_str(&json(&n));
    }
    if !p.items.is_empty() {
        out.push_str(",\"objects\":[");
        for (k, i) in p.items.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push_str(&i.json);
        }
        out.push(']');
    }
    out.push('}');
    taxii_raw(StatusCode::OK, out.into_bytes(), added)
}

fn next_of(p: &Page) -> Option<String> {
    p.more
        .then(|| p.items.last().map(|i| i.cursor.to_string()))
        .flatten()
}

/// The caller, the collection and the filters of a request on a collection's content.
async fn request(
    s: &AppState,
    root: &str,
    id: &str,
    q: Option<&str>,
    peer: Peer,
    headers: &HeaderMap,
) -> Result<(Actor, Coll, Filter)> {
    let actor = root_caller(s, peer, root, headers).await?;
    let c = find(root, &actor, id)?;
    let f = filter(q)?;
    Ok((actor, c, f))
}

/// A page of one object's versions; a 404 when the object is not there at all.
async fn object_page(
    s: &AppState,
    (actor, c, f): &(Actor, Coll, Filter),
    id: &str,
    object_id: &str,
) -> Result<Page> {
    let p = page(s, actor, c, f, Some(object_id)).await?;
    if p.items.is_empty() && f.next.is_none() {
        return Err(ApiError::NotFound(format!("object {object_id} in collection {id}")).into());
    }
    Ok(p)
}

async fn objects(
    State(s): State<AppState>,
    Path((root, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let (actor, c, f) = request(&s, &root, &id, q.as_deref(), peer, &headers).await?;
    let p = page(&s, &actor, &c, &f, None).await?;
    Ok(envelope(&p, added_headers(&p.items)))
}

async fn object(
    State(s): State<AppState>,
    Path((root, id, object_id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let req = request(&s, &root, &id, q.as_deref(), peer, &headers).await?;
    let p = object_page(&s, &req, &id, &object_id).await?;
    Ok(envelope(&p, added_headers(&p.items)))
}

async fn versions(
    State(s): State<AppState>,
    Path((root, id, object_id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let (actor, c, mut f) = request(&s, &root, &id, q.as_deref(), peer, &headers).await?;
    if !f.ids.is_empty() || !matches!(f.version, VersionFilter::Last) {
        return Err(ApiError::InvalidQuery(
            "the versions endpoint takes limit, added_after, next and match[spec_version] only"
                .into(),
        )
        .into());
    }
    f.version = VersionFilter::All;
    let p = object_page(&s, &(actor, c, f), &id, &object_id).await?;
    let body = Versions {
        more: p.more,
        next: next_of(&p),
        versions: p.items.iter().map(|i| i.version).collect(),
    };
    Ok(taxii_json(StatusCode::OK, &body, added_headers(&p.items)))
}

async fn manifest(
    State(s): State<AppState>,
    Path((root, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let (actor, c, f) = request(&s, &root, &id, q.as_deref(), peer, &headers).await?;
    let p = page(&s, &actor, &c, &f, None).await?;
    let body = Manifest {
        more: p.more,
        next: next_of(&p),
        objects: p
            .items
            .iter()
            .map(|i| ManifestRecord {
                id: i.id.clone(),
                date_added: t::DateAdded(i.added),
                version: i.version,
                media_type: stix::MEDIA_TYPE,
            })
            .collect(),
    };
    Ok(taxii_json(StatusCode::OK, &body, added_headers(&p.items)))
}

async fn delete_object(
    State(s): State<AppState>,
    Path((root, id, _object_id)): Path<(String, String, String)>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let actor = root_caller(&s, peer, &root, &headers).await?;
    find(&root, &actor, &id)?;
    Err(forbid(
        "objects are never deleted: a block leaves the collection as a revoked version when it expires or is revoked (by appeal or by the authority)",
    ))
}

/// Envelopes POSTed to an inbound collection: each object becomes a report of the caller's
/// organisation or is refused with its reason; the status resource says which.
async fn add_objects(
    State(s): State<AppState>,
    Path((root, id)): Path<(String, String)>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let actor = root_caller(&s, peer, &root, &headers).await?;
    let c = find(&root, &actor, &id)?;
    let Source::Inbound(org_id) = c.source else {
        return Err(forbid(
            "this collection cannot be written: send objects to your organisation's inbound collection",
        ));
    };
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_taxii_21(ctype) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {ctype:?}: send {}",
            t::MEDIA_TYPE
        ))
        .into());
    }
    let env: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidBody(format!("the envelope is not JSON: {e}")))?;
    let objects = match env.get("objects") {
        Some(Value::Array(a)) => a.clone(),
        None => vec![],
        Some(_) => {
            return Err(
                ApiError::InvalidBody("the envelope's objects must be a list".into()).into(),
            );
        }
    };
    let status = s.svc.take_in(&actor, org_id, &objects).await?;
    Ok(taxii_json(StatusCode::ACCEPTED, &status, None))
}

impl Service {
    /// Takes in STIX objects as reports of `actor`, one by one; the status is kept before it
    /// is returned.
    pub async fn take_in(
        &self,
        actor: &Actor,
        org_id: Uuid,
        objects: &[Value],
    ) -> std::result::Result<t::Status, ApiError> {
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
                        .map_err(|e| e.describe().3)
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
        let body = serde_json::to_string(&status).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.store.put_taxii_status(id, org_id, now, &body).await?;
        Ok(status)
    }
}

async fn status(
    State(s): State<AppState>,
    Path((root, status_id)): Path<(String, String)>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let actor = root_caller(&s, peer, &root, &headers).await?;
    let not_found = || TaxiiError(ApiError::NotFound(format!("status {status_id}")));
    let sid = Uuid::parse_str(&status_id).map_err(|_| not_found())?;
    let (org, body) = s.svc.store.taxii_status(sid).await?.ok_or_else(not_found)?;
    // Only the organisation that sent the envelope sees how it went.
    match &actor {
        Actor::Principal { org: o, .. } if o.id == org => {}
        _ => return Err(not_found()),
    }
    let status: t::Status =
        serde_json::from_str(&body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(taxii_json(StatusCode::OK, &status, None))
}
