//! TAXII 2.1 (OASIS) at `/taxii2/`: discovery, two API roots (`members`, `public`), their
//! collections, objects with paging and filters, versions, manifests, and envelopes POSTed to
//! an organisation's inbound collection, with a status resource. This is the HTTP side
//! (media types, envelopes, headers, errors as TAXII error messages); what each collection
//! holds and who may read or write it is the service's (`warden_service::taxii`).

use crate::error::ApiError;
use crate::state::{AppState, BODY_LIMIT, Peer};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::Value;
use warden_core::org::Actor;
use warden_interop::stix;
use warden_interop::taxii::{self as t, Filter, Manifest, ManifestRecord, VersionFilter, Versions};
use warden_service::ServiceError;
use warden_service::taxii::{
    Coll, Item, MEMBERS, PUBLIC, Page, Source, collections as visible, date_added,
    find_collection as find, forbid,
};

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
    Ok(crate::auth::authenticate(s, header, peer.0).await?)
}

/// The caller of an API root: members must authenticate; the public root is open.
async fn root_caller(s: &AppState, peer: Peer, root: &str, headers: &HeaderMap) -> Result<Actor> {
    negotiate(headers)?;
    match root {
        MEMBERS => caller(s, peer, headers).await,
        PUBLIC => {
            // Open to all, but credentials that are sent must be good.
            let header = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            crate::auth::check_if_sent(s, header, peer.0).await?;
            Ok(Actor::Public)
        }
        other => Err(ServiceError::NotFound(format!(
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
        .map_err(|e| ServiceError::InvalidQuery(e).into())
}

fn added_headers(items: &[Item]) -> Option<(String, String)> {
    Some((
        date_added(items.first()?.added),
        date_added(items.last()?.added),
    ))
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
    let p = s.svc.taxii_page(actor, c, f, Some(object_id)).await?;
    if p.items.is_empty() && f.next.is_none() {
        return Err(
            ServiceError::NotFound(format!("object {object_id} in collection {id}")).into(),
        );
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
    let p = s.svc.taxii_page(&actor, &c, &f, None).await?;
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
        return Err(ServiceError::InvalidQuery(
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
    let p = s.svc.taxii_page(&actor, &c, &f, None).await?;
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
    Err(TaxiiError::from(forbid(
        "objects are never deleted: a block leaves the collection as a revoked version when it expires or is revoked (by appeal or by the authority)",
    )))
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
        return Err(TaxiiError::from(forbid(
            "this collection cannot be written: send objects to your organisation's inbound collection",
        )));
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
        .map_err(|e| ServiceError::InvalidBody(format!("the envelope is not JSON: {e}")))?;
    let objects = match env.get("objects") {
        Some(Value::Array(a)) => a.clone(),
        None => vec![],
        Some(_) => {
            return Err(
                ServiceError::InvalidBody("the envelope's objects must be a list".into()).into(),
            );
        }
    };
    let status = s.svc.take_in(&actor, org_id, &objects).await?;
    Ok(taxii_json(StatusCode::ACCEPTED, &status, None))
}

async fn status(
    State(s): State<AppState>,
    Path((root, status_id)): Path<(String, String)>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response> {
    let actor = root_caller(&s, peer, &root, &headers).await?;
    // Only the organisation that sent the envelope sees how it went.
    let status = s.svc.taxii_status(&actor, &status_id).await?;
    Ok(taxii_json(StatusCode::OK, &status, None))
}

fn json<T: Serialize>(o: &T) -> String {
    serde_json::to_string(o).unwrap_or_default()
}
