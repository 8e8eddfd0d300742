//! `/api/v1`: thin handlers. Each extracts the caller and the body, calls the service, and
//! answers; errors become problems in `error.rs`.

use crate::AppState;
use crate::error::ApiError;
use crate::service::{CasesQuery, Idem};
use crate::types::*;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use warden_core::org::Actor;

/// The authenticated caller.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let actor =
            crate::auth::authenticate(s.svc.store.as_ref(), header, s.svc.clock.now()).await?;
        Ok(Caller(actor))
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", post(submit_report))
        .route("/reports/{id}", get(get_report))
        .route("/cases", get(list_cases))
        .route("/cases/{id}", get(get_case))
        .route("/cases/{id}/assignment", post(assign))
        .route("/cases/{id}/determination", post(determine))
        .route("/cases/{id}/decision", post(decide))
}

fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::InvalidBody(format!("JSON body: {e}")))
}

/// The `Idempotency-Key` header, bound to the caller and to this exact request.
fn idem(
    caller: &Actor,
    headers: &HeaderMap,
    route: &str,
    body: &Bytes,
) -> Result<Option<Idem>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| {
            ApiError::InvalidBody("Idempotency-Key must be 1–255 visible ASCII characters".into())
        })?;
    let mut h = Sha256::new();
    h.update(route.as_bytes());
    h.update([0]);
    h.update(body);
    let request_hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(Idem {
        scope: caller
            .principal_id()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        key: key.to_owned(),
        request_hash,
    }))
}

fn id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|_| ApiError::NotFound(format!("{s:?} (not a valid id)")))
}

async fn submit_report(
    State(s): State<AppState>,
    Caller(c): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ReportCreated>), ApiError> {
    let idem = idem(&c, &headers, "POST /reports", &body)?;
    let created = s.svc.submit_report(&c, parse_body(&body)?, idem).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn get_report(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(rid): Path<String>,
) -> Result<Json<ReportView>, ApiError> {
    Ok(Json(s.svc.report(&c, id(&rid)?).await?))
}

async fn list_cases(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<CasesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.cases(&c, q).await?))
}

async fn get_case(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(s.svc.case(&c, id(&cid)?).await?))
}

async fn assign(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CaseStatusResponse>, ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /cases/{cid}/assignment"),
        &body,
    )?;
    Ok(Json(
        s.svc
            .assign(&c, id(&cid)?, parse_body(&body)?, idem)
            .await?,
    ))
}

async fn determine(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CaseStatusResponse>, ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /cases/{cid}/determination"),
        &body,
    )?;
    Ok(Json(
        s.svc
            .determine(&c, id(&cid)?, parse_body(&body)?, idem)
            .await?,
    ))
}

async fn decide(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<DecisionResponse>), ApiError> {
    let idem = idem(&c, &headers, &format!("POST /cases/{cid}/decision"), &body)?;
    let d = s
        .svc
        .decide(&c, id(&cid)?, parse_body(&body)?, idem)
        .await?;
    Ok((StatusCode::CREATED, Json(d)))
}
