//! `/api/v1`: thin handlers. Each extracts the caller and the body, calls the service, and
//! answers; errors become problems in `error.rs`.

use crate::AppState;
use crate::error::ApiError;
use crate::service::{AuditQuery, CasesQuery, EnforcementQuery, Idem, NoticesQuery};
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
use warden_core::lifecycle::MeasureCommand;
use warden_core::notice::KeySet;
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
        .route("/keys", get(keys))
        .route("/notices", get(list_notices))
        .route("/notices/{id}", get(get_notice))
        .route("/notices/{id}/ack", post(ack))
        .route("/notices/{id}/feedback", post(feedback))
        .route("/notices/{id}/verification", post(verification))
        .route("/measures/{id}/appeals", post(file_appeal))
        .route("/appeals/{id}", get(get_appeal))
        .route("/appeals/{id}/decision", post(decide_appeal))
        .route("/public/appeals", post(public_appeal))
        .route("/admin/clock/advance", post(advance_clock))
        .route("/audit", get(audit))
        .route("/enforcements", get(list_enforcements))
        .route("/enforcements/{id}/actions", post(record_enforcement))
        .route("/compliance", get(compliance))
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

/// Public: anyone verifying a notice needs the keys.
async fn keys(State(s): State<AppState>) -> Result<Json<KeySet>, ApiError> {
    Ok(Json(crate::keys::published(s.svc.store.as_ref()).await?))
}

async fn list_notices(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<NoticesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<NoticeList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.notices(&c, q).await?))
}

async fn get_notice(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
) -> Result<Json<NoticeView>, ApiError> {
    Ok(Json(s.svc.notice(&c, id(&nid)?).await?))
}

async fn ack(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = idem(&c, &headers, &format!("POST /notices/{nid}/ack"), &body)?;
    if !body.is_empty() {
        let _: AckRequest = parse_body(&body)?;
    }
    let r = s
        .svc
        .notice_step(&c, id(&nid)?, MeasureCommand::Acknowledge, idem)
        .await?;
    Ok(Json(r))
}

async fn feedback(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /notices/{nid}/feedback"),
        &body,
    )?;
    let req: FeedbackRequest = parse_body(&body)?;
    let cmd = MeasureCommand::FileFeedback {
        outcome: req.outcome,
        actions_taken: req.actions_taken,
        completed_at: req.completed_at,
    };
    Ok(Json(s.svc.notice_step(&c, id(&nid)?, cmd, idem).await?))
}

async fn verification(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /notices/{nid}/verification"),
        &body,
    )?;
    let req: VerificationRequest = parse_body(&body)?;
    let cmd = MeasureCommand::Verify {
        result: req.result,
        method: req.method,
        notes: req.notes,
    };
    Ok(Json(s.svc.notice_step(&c, id(&nid)?, cmd, idem).await?))
}

async fn file_appeal(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(mid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<AppealCreated>), ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /measures/{mid}/appeals"),
        &body,
    )?;
    let req = parse_body(&body)?;
    let a = s
        .svc
        .file_appeal(&c, Some(id(&mid)?), None, req, idem)
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// Unauthenticated and rate-limited: the affected party usually has no account.
async fn public_appeal(
    State(s): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    body: Bytes,
) -> Result<(StatusCode, Json<AppealCreated>), ApiError> {
    s.limiter.check(peer.ip()).map_err(ApiError::RateLimited)?;
    let req: PublicAppealRequest = parse_body(&body)?;
    let inner = AppealRequest {
        appellant: req.appellant,
        grounds: req.grounds,
    };
    let a = s
        .svc
        .file_appeal(&Actor::Public, None, Some(&req.reference), inner, None)
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

async fn get_appeal(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(aid): Path<String>,
) -> Result<Json<AppealView>, ApiError> {
    Ok(Json(s.svc.appeal(&c, id(&aid)?).await?))
}

async fn decide_appeal(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(aid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<AppealDecisionResponse>, ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /appeals/{aid}/decision"),
        &body,
    )?;
    let req = parse_body(&body)?;
    Ok(Json(s.svc.decide_appeal(&c, id(&aid)?, req, idem).await?))
}

async fn advance_clock(
    State(s): State<AppState>,
    caller: Result<Caller, ApiError>,
    body: Bytes,
) -> Result<Json<ClockResponse>, ApiError> {
    // On the system clock the endpoint does not exist, whoever asks (DESIGN §5.2).
    if s.svc.simulated.is_none() {
        return Err(ApiError::NotFound(
            "the clock (this server runs on the system clock)".into(),
        ));
    }
    let Caller(c) = caller?;
    let req: ClockAdvanceRequest = parse_body(&body)?;
    Ok(Json(s.svc.advance_clock(&c, req.seconds)?))
}

async fn audit(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.audit(&c, q).await?))
}

async fn list_enforcements(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<EnforcementQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EnforcementList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.enforcements(&c, q).await?))
}

async fn record_enforcement(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(eid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<EnforcementView>, ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /enforcements/{eid}/actions"),
        &body,
    )?;
    let req = parse_body(&body)?;
    Ok(Json(
        s.svc.record_enforcement(&c, id(&eid)?, req, idem).await?,
    ))
}

async fn compliance(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<EnforcementQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ComplianceRecord>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.compliance(&c, q).await?))
}
