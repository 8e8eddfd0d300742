//! `/api/v1`: thin handlers. Each extracts the caller and the body, calls the service, and
//! answers; errors become problems in `error.rs`.

use crate::AppState;
use crate::error::ApiError;
use crate::service::{
    AuditQuery, CasesQuery, EnforcementQuery, Idem, NoticesQuery, PageQuery, TimelinessQuery,
};
use crate::types::*;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse as _;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use warden_core::bulletin::{BulletinDraft, BulletinKind};
use warden_core::lifecycle::MeasureCommand;
use warden_core::notice::KeySet;
use warden_core::org::Actor;

/// The authenticated caller.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(crate::Peer(peer)) = crate::Peer::from_request_parts(parts, s).await;
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let actor = crate::auth::authenticate(
            s.svc.store.as_ref(),
            header,
            s.svc.clock.now(),
            s.origin(peer),
        )
        .await?;
        Ok(Caller(actor))
    }
}

/// The API, each route registered with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_report))
        .routes(routes!(get_report))
        .routes(routes!(submit_self_report))
        .routes(routes!(list_cases))
        .routes(routes!(get_case))
        .routes(routes!(assign))
        .routes(routes!(refer))
        .routes(routes!(probe))
        .routes(routes!(determine))
        .routes(routes!(decide))
        .routes(routes!(keys))
        .routes(routes!(list_notices))
        .routes(routes!(get_notice))
        .routes(routes!(print_notice))
        .routes(routes!(ack))
        .routes(routes!(feedback))
        .routes(routes!(verification))
        .routes(routes!(phone_notification))
        .routes(routes!(file_appeal))
        .routes(routes!(public_appeal))
        .routes(routes!(get_appeal))
        .routes(routes!(decide_appeal))
        .routes(routes!(advance_clock))
        .routes(routes!(audit))
        .routes(routes!(verify_audit))
        .routes(routes!(list_enforcements))
        .routes(routes!(record_enforcement))
        .routes(routes!(compliance))
        .routes(routes!(timeliness))
        .routes(routes!(issue_bulletin, list_bulletins))
        .routes(routes!(issue_publication, list_publications))
        .routes(routes!(publications_atom))
        .routes(routes!(misp_feed))
        .routes(routes!(upload_import, list_imports))
        .routes(routes!(get_import))
        .routes(routes!(import_rejects))
        .routes(routes!(lookup, lookup_batch))
        .routes(routes!(blocklist))
        .routes(routes!(list_allowlist, add_allowlist))
        .routes(routes!(remove_allowlist))
        .routes(routes!(list_resources, declare_resource))
        .routes(routes!(decide_resource))
        .routes(routes!(attribution, attribution_batch))
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
        // Without an account, keys share one public scope; the request hash still binds each
        // key to its own body.
        scope: caller
            .principal_id()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "public".to_owned()),
        key: key.to_owned(),
        request_hash,
    }))
}

fn id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|_| ApiError::NotFound(format!("{s:?} (not a valid id)")))
}

#[utoipa::path(
    post,
    path = "/reports",
    tag = "reports",
    summary = "Submit a threat report (Art. 6); correlated into an open case when it shares an indicator",
    request_body = ReportRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Created", body = ReportCreated), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/reports/{id}",
    tag = "reports",
    summary = "A report",
    params(("id" = Uuid, Path, description = "The report id")),
    responses((status = 200, description = "OK", body = ReportView), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn get_report(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(rid): Path<String>,
) -> Result<Json<ReportView>, ApiError> {
    Ok(Json(s.svc.report(&c, id(&rid)?).await?))
}

#[utoipa::path(
    get,
    path = "/cases",
    tag = "cases",
    summary = "Cases the caller may see, newest first",
    params(CasesQuery),
    responses((status = 200, description = "OK", body = CaseList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn list_cases(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<CasesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.cases(&c, q).await?))
}

#[utoipa::path(
    get,
    path = "/cases/{id}",
    tag = "cases",
    summary = "A case",
    params(("id" = Uuid, Path, description = "The case id")),
    responses((status = 200, description = "OK", body = CaseView), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn get_case(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(s.svc.case(&c, id(&cid)?).await?))
}

#[utoipa::path(
    post,
    path = "/cases/{id}/assignment",
    tag = "cases",
    summary = "Assign or reassign a case to an institution (telecom authorities)",
    request_body = AssignmentRequest,
    params(("id" = Uuid, Path, description = "The case id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = CaseStatusResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/cases/{id}/determination",
    tag = "cases",
    summary = "Record the determination (Art. 7) by an analyst of the assigned institution",
    request_body = DeterminationRequest,
    params(("id" = Uuid, Path, description = "The case id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = CaseStatusResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/cases/{id}/decision",
    tag = "cases",
    summary = "Decide measures (Art. 8) as a reviewer of the competent authority; signed notices are issued",
    request_body = DecisionRequest,
    params(("id" = Uuid, Path, description = "The case id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Created", body = DecisionResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/keys",
    tag = "notices",
    summary = "Public keys that verify notice signatures (retired ones included)",
    responses((status = 200, description = "OK", body = warden_core::notice::KeySet), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json"))
)]
/// Public: anyone verifying a notice needs the keys.
async fn keys(State(s): State<AppState>) -> Result<Json<KeySet>, ApiError> {
    Ok(Json(
        crate::keys::published(s.svc.store.as_ref(), &s.svc.keys).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/notices",
    tag = "notices",
    summary = "Notices the caller may see",
    params(NoticesQuery),
    responses((status = 200, description = "OK", body = NoticeList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn list_notices(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<NoticesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<NoticeList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.notices(&c, q).await?))
}

#[utoipa::path(
    get,
    path = "/notices/{id}",
    tag = "notices",
    summary = "A signed notice; the recipient's first fetch records delivery",
    params(("id" = Uuid, Path, description = "The notice id")),
    responses((status = 200, description = "OK", body = NoticeView), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn get_notice(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
) -> Result<Json<NoticeView>, ApiError> {
    Ok(Json(s.svc.notice(&c, id(&nid)?).await?))
}

#[utoipa::path(
    post,
    path = "/notices/{id}/ack",
    tag = "notices",
    summary = "Acknowledge a notice (recipient)",
    request_body = AckRequest,
    params(("id" = Uuid, Path, description = "The notice id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = NoticeStatusResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/notices/{id}/feedback",
    tag = "notices",
    summary = "Report the handling result (Art. 9)",
    request_body = FeedbackRequest,
    params(("id" = Uuid, Path, description = "The notice id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = NoticeStatusResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/notices/{id}/verification",
    tag = "notices",
    summary = "Record the verification by the determining institution (Art. 9)",
    request_body = VerificationRequest,
    params(("id" = Uuid, Path, description = "The notice id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = NoticeStatusResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/measures/{id}/appeals",
    tag = "appeals",
    summary = "Appeal a block measure on behalf of the affected party (Art. 10)",
    request_body = AppealRequest,
    params(("id" = Uuid, Path, description = "The measure id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Created", body = AppealCreated), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/public/appeals",
    tag = "appeals",
    summary = "Appeal without an account, by the measure's reference number (rate-limited)",
    request_body = PublicAppealRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Created", body = AppealCreated), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json"))
)]
/// Unauthenticated and rate-limited: the affected party usually has no account.
async fn public_appeal(
    State(s): State<AppState>,
    peer: crate::Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<AppealCreated>), ApiError> {
    s.limiter
        .check(peer.addr())
        .map_err(ApiError::RateLimited)?;
    let idem = idem(&Actor::Public, &headers, "POST /public/appeals", &body)?;
    let req: PublicAppealRequest = parse_body(&body)?;
    let inner = AppealRequest {
        appellant: req.appellant,
        grounds: req.grounds,
    };
    let a = s
        .svc
        .file_appeal(&Actor::Public, None, Some(&req.reference), inner, idem)
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[utoipa::path(
    get,
    path = "/appeals/{id}",
    tag = "appeals",
    summary = "An appeal",
    params(("id" = Uuid, Path, description = "The appeal id")),
    responses((status = 200, description = "OK", body = AppealView), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn get_appeal(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(aid): Path<String>,
) -> Result<Json<AppealView>, ApiError> {
    Ok(Json(s.svc.appeal(&c, id(&aid)?).await?))
}

#[utoipa::path(
    post,
    path = "/appeals/{id}/decision",
    tag = "appeals",
    summary = "Answer an appeal (the deciding authority); revocation and modification take effect at once",
    request_body = AppealDecisionRequest,
    params(("id" = Uuid, Path, description = "The appeal id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = AppealDecisionResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/admin/clock/advance",
    tag = "admin",
    summary = "Move a simulated clock forward (ministry admins; 404 on the system clock)",
    request_body = ClockAdvanceRequest,
    responses((status = 200, description = "OK", body = ClockResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    summary = "The hash-chained audit trail (auditors)",
    params(AuditQuery),
    responses((status = 200, description = "OK", body = AuditPage), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn audit(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.audit(&c, q).await?))
}

#[utoipa::path(
    get,
    path = "/enforcements",
    tag = "enforcement",
    summary = "Enforcement records (Art. 12)",
    params(EnforcementQuery),
    responses((status = 200, description = "OK", body = EnforcementList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn list_enforcements(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<EnforcementQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EnforcementList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.enforcements(&c, q).await?))
}

#[utoipa::path(
    post,
    path = "/enforcements/{id}/actions",
    tag = "enforcement",
    summary = "Record a talk, warning or fine",
    request_body = EnforcementActionRequest,
    params(("id" = Uuid, Path, description = "The enforcement record id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = EnforcementView), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/compliance",
    tag = "enforcement",
    summary = "An organisation's compliance record",
    params(EnforcementQuery),
    responses((status = 200, description = "OK", body = ComplianceRecord), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn compliance(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<EnforcementQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ComplianceRecord>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.compliance(&c, q).await?))
}

#[utoipa::path(
    post,
    path = "/self-reports",
    tag = "reports",
    summary = "File a threat handled in the reporter's own systems (Art. 6, 11); opens no case",
    request_body = SelfReportRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Created", body = SelfReportCreated), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn submit_self_report(
    State(s): State<AppState>,
    Caller(c): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<SelfReportCreated>), ApiError> {
    let idem = idem(&c, &headers, "POST /self-reports", &body)?;
    let created = s
        .svc
        .submit_self_report(&c, parse_body(&body)?, idem)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/notices/{id}/print",
    tag = "notices",
    summary = "The printable notice (HTML): reference, deadline, signature fingerprint, how to verify",
    params(("id" = Uuid, Path, description = "The notice id")),
    responses((status = 200, description = "OK", content_type = "text/html"), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn print_notice(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
) -> Result<axum::response::Html<String>, ApiError> {
    let v = s.svc.notice(&c, id(&nid)?).await?;
    Ok(axum::response::Html(crate::print::notice_html(
        &v.notice, &v.status,
    )))
}

#[utoipa::path(
    get,
    path = "/stats/timeliness",
    tag = "statistics",
    summary = "Time to determine, decide, acknowledge, report back and verify, and overdue rates (Art. 4)",
    params(TimelinessQuery),
    responses((status = 200, description = "OK", body = TimelinessReport), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn timeliness(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<TimelinessQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TimelinessReport>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.timeliness(&c, q).await?))
}

#[utoipa::path(
    post,
    path = "/notices/{id}/phone-notification",
    tag = "notices",
    summary = "Record the telephone call that precedes the written notice on the emergency path (Art. 8, 13)",
    request_body = PhoneNotificationRequest,
    params(("id" = Uuid, Path, description = "The notice id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = NoticeStatusResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn phone_notification(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /notices/{nid}/phone-notification"),
        &body,
    )?;
    let req: PhoneNotificationRequest = parse_body(&body)?;
    let cmd = MeasureCommand::RecordPhoneNotification {
        called_person: req.called_person,
        called_number: req.called_number,
        summary: req.summary,
        at: req.at,
    };
    Ok(Json(s.svc.notice_step(&c, id(&nid)?, cmd, idem).await?))
}

#[utoipa::path(
    post,
    path = "/bulletins",
    tag = "sharing",
    summary = "Notify members (通报, Art. 6): reviewers of the authorities and institutions",
    request_body = BulletinRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Created", body = warden_core::bulletin::Bulletin), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn issue_bulletin(
    State(s): State<AppState>,
    Caller(c): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<warden_core::bulletin::Bulletin>), ApiError> {
    let idem = idem(&c, &headers, "POST /bulletins", &body)?;
    let req: BulletinRequest = parse_body(&body)?;
    let draft = BulletinDraft {
        kind: BulletinKind::Bulletin,
        title: req.title,
        body: req.body,
        tlp: req.tlp.unwrap_or(warden_core::lifecycle::Tlp::Green),
        audience: req.audience,
        case_ids: req.case_ids,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.svc.issue_bulletin(&c, draft, idem).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/bulletins",
    tag = "sharing",
    summary = "Bulletins addressed to the caller's organisation, newest first",
    params(PageQuery),
    responses((status = 200, description = "OK", body = BulletinList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn list_bulletins(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<BulletinList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.bulletins(&c, BulletinKind::Bulletin, q).await?))
}

#[utoipa::path(
    post,
    path = "/publications",
    tag = "sharing",
    summary = "Publish to the public (发布, Art. 6); always TLP:CLEAR",
    request_body = PublicationRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Created", body = warden_core::bulletin::Bulletin), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn issue_publication(
    State(s): State<AppState>,
    Caller(c): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<warden_core::bulletin::Bulletin>), ApiError> {
    let idem = idem(&c, &headers, "POST /publications", &body)?;
    let req: PublicationRequest = parse_body(&body)?;
    let draft = BulletinDraft {
        kind: BulletinKind::Publication,
        title: req.title,
        body: req.body,
        tlp: warden_core::lifecycle::Tlp::Clear,
        audience: vec![],
        case_ids: req.case_ids,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.svc.issue_bulletin(&c, draft, idem).await?),
    ))
}

/// Public: no account needed.
#[utoipa::path(
    get,
    path = "/publications",
    tag = "sharing",
    summary = "Public publications, newest first",
    params(PageQuery),
    responses((status = 200, description = "OK", body = BulletinList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json"))
)]
async fn list_publications(
    State(s): State<AppState>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<BulletinList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(
        s.svc
            .bulletins(&Actor::Public, BulletinKind::Publication, q)
            .await?,
    ))
}

/// The blocks in force as a MISP feed: one event per recipient organisation.
#[utoipa::path(
    get,
    path = "/misp/{file}",
    tag = "blocklists",
    summary = "Blocks in force as a MISP feed: manifest.json, then one EVENT-UUID.json per recipient organisation (subscribe MISP to /api/v1/misp/ with an Authorization header)",
    params(("file" = String, Path, description = "manifest.json or EVENT-UUID.json")),
    responses((status = 200, description = "OK", content_type = "application/json"), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn misp_feed(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(file): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(s.svc.misp_feed(&c, &file).await?))
}

/// Public: the Atom feed of publications.
#[utoipa::path(
    get,
    path = "/publications.atom",
    tag = "sharing",
    summary = "Atom feed (RFC 4287) of the latest publications",
    responses((status = 200, description = "OK", content_type = "application/atom+xml"), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json"))
)]
async fn publications_atom(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    let list = s
        .svc
        .bulletins(
            &Actor::Public,
            BulletinKind::Publication,
            PageQuery {
                limit: Some(50),
                cursor: None,
            },
        )
        .await?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b))
        })
        .unwrap_or("localhost");
    let xml = warden_core::bulletin::atom_feed(&format!("http://{host}"), &list.items, s.svc.now());
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/atom+xml; charset=utf-8",
        )],
        xml,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "audit",
    summary = "Re-walk the hash chain and check the signed checkpoints (auditors)",
    responses((status = 200, description = "OK", body = AuditVerification), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn verify_audit(
    State(s): State<AppState>,
    Caller(c): Caller,
) -> Result<Json<AuditVerification>, ApiError> {
    Ok(Json(s.svc.verify_audit(&c).await?))
}

#[utoipa::path(
    get,
    path = "/lookup",
    tag = "blocklists",
    summary = "Is this value listed, under which measures, since when (the reference number is what an appeal quotes)",
    params(crate::matching::LookupQuery),
    responses((status = 200, description = "OK", body = LookupResult), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn lookup(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<crate::matching::LookupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LookupResult>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.lookup(&c, &q)?))
}

#[utoipa::path(
    post,
    path = "/lookup",
    tag = "blocklists",
    summary = "Look up to 10,000 values at once: one result per value, in order; a malformed value gets its own error",
    request_body = LookupBatchRequest,
    responses((status = 200, description = "OK", body = LookupBatchResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn lookup_batch(
    State(s): State<AppState>,
    Caller(c): Caller,
    body: Bytes,
) -> Result<Json<LookupBatchResponse>, ApiError> {
    let req: LookupBatchRequest = parse_body(&body)?;
    Ok(Json(s.svc.lookup_batch(&c, &req)?))
}

#[utoipa::path(
    get,
    path = "/blocklists/{format}",
    tag = "blocklists",
    summary = "The blocklist to enforce, streamed: rpz, nftables, suricata, plain or csv; with since=SERIAL only the changes after that serial",
    params(
        ("format" = String, Path, description = "rpz | nftables | suricata | plain | csv"),
        crate::matching::ExportQuery
    ),
    responses(
        (status = 200, description = "The list; X-Warden-Serial names its serial", content_type = "text/plain"),
        (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
async fn blocklist(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(format): Path<String>,
    q: Result<Query<crate::matching::ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    let export = s.svc.export(&c, &format, &q).await?;
    let mut headers = HeaderMap::new();
    let ct = export.format.content_type();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(ct),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&export.serial.to_string()) {
        headers.insert("x-warden-serial", v);
    }
    if let crate::matching::ExportBody::Delta { from, .. } = &export.body
        && let Ok(v) = axum::http::HeaderValue::from_str(&from.to_string())
    {
        headers.insert("x-warden-delta-from", v);
    }
    Ok((headers, crate::matching::stream(export)).into_response())
}

#[utoipa::path(
    get,
    path = "/allowlist",
    tag = "blocklists",
    summary = "The false-positive guards: shipped lists with their sources, and the entries organisations maintain",
    responses((status = 200, description = "OK", body = AllowlistList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn list_allowlist(
    State(s): State<AppState>,
    Caller(c): Caller,
) -> Result<Json<AllowlistList>, ApiError> {
    Ok(Json(s.svc.allowlist(&c).await?))
}

#[utoipa::path(
    post,
    path = "/allowlist",
    tag = "blocklists",
    summary = "Add an entry to your organisation's allow-list (administrators)",
    request_body = AllowlistRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Created", body = AllowlistItem), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn add_allowlist(
    State(s): State<AppState>,
    Caller(c): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<AllowlistItem>), ApiError> {
    let idem = idem(&c, &headers, "POST /allowlist", &body)?;
    let item = s
        .svc
        .add_allowlist_entry(&c, parse_body(&body)?, idem)
        .await?;
    Ok((StatusCode::CREATED, Json(item)))
}

#[utoipa::path(
    delete,
    path = "/allowlist/{id}",
    tag = "blocklists",
    summary = "Remove an allow-list entry (its organisation's administrators, or the authorities' and institutions')",
    params(("id" = Uuid, Path, description = "The entry id")),
    responses((status = 204, description = "Removed"), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn remove_allowlist(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(eid): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.svc.remove_allowlist_entry(&c, id(&eid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/resources",
    tag = "registry",
    summary = "The resource registry: what each organisation declared it holds or sponsors, and the authorities' decisions",
    responses((status = 200, description = "OK", body = ResourceList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn list_resources(
    State(s): State<AppState>,
    Caller(c): Caller,
) -> Result<Json<ResourceList>, ApiError> {
    Ok(Json(s.svc.resources(&c).await?))
}

#[utoipa::path(
    post,
    path = "/resources",
    tag = "registry",
    summary = "Declare a resource your organisation holds (administrators); an authority approves it",
    request_body = ResourceRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 201, description = "Declared, pending approval; overlaps with other organisations' claims listed", body = ResourceView), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn declare_resource(
    State(s): State<AppState>,
    Caller(c): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ResourceView>), ApiError> {
    let idem = idem(&c, &headers, "POST /resources", &body)?;
    let v = s.svc.declare_resource(&c, parse_body(&body)?, idem).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(
    post,
    path = "/resources/{id}/decision",
    tag = "registry",
    summary = "Approve or reject a resource claim (telecom authorities' reviewers)",
    request_body = ClaimDecisionRequest,
    params(("id" = Uuid, Path, description = "The claim id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = ResourceView), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn decide_resource(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ResourceView>, ApiError> {
    let idem = idem(
        &c,
        &headers,
        &format!("POST /resources/{cid}/decision"),
        &body,
    )?;
    Ok(Json(
        s.svc
            .decide_resource(&c, id(&cid)?, parse_body(&body)?, idem)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/attribution",
    tag = "registry",
    summary = "Who holds this value (prefix holder and AS, registrar and registry, carrier, mail provider, operator), with the evidence each answer came from",
    params(crate::matching::LookupQuery),
    responses((status = 200, description = "OK", body = AttributionResult), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn attribution(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<crate::matching::LookupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AttributionResult>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.attribution(&c, &q).await?))
}

#[utoipa::path(
    post,
    path = "/attribution",
    tag = "registry",
    summary = "Attribute up to 10,000 values at once, one result per value in order",
    request_body = LookupBatchRequest,
    responses((status = 200, description = "OK", body = AttributionBatchResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn attribution_batch(
    State(s): State<AppState>,
    Caller(c): Caller,
    body: Bytes,
) -> Result<Json<AttributionBatchResponse>, ApiError> {
    let req: LookupBatchRequest = parse_body(&body)?;
    Ok(Json(s.svc.attribution_batch(&c, &req).await?))
}

#[utoipa::path(
    post,
    path = "/cases/{id}/referral",
    tag = "cases",
    summary = "Refer an undecided case up to MIIT or across to another province's authority (telecom authorities' reviewers)",
    request_body = ReferralRequest,
    params(("id" = Uuid, Path, description = "The case id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "OK", body = CaseStatusResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn refer(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CaseStatusResponse>, ApiError> {
    let idem = idem(&c, &headers, &format!("POST /cases/{cid}/referral"), &body)?;
    Ok(Json(
        s.svc.refer(&c, id(&cid)?, parse_body(&body)?, idem).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/notices/{id}/probes",
    tag = "notices",
    summary = "Run a verification probe (DNS through the recipient's resolvers, HTTP, TCP) and record its result with the raw answer (the determining institution's verifiers)",
    request_body = ProbeRequest,
    params(("id" = Uuid, Path, description = "The notice id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried write apply once: the same key and body return the first response.")),
    responses((status = 200, description = "Probed and recorded", body = ProbeResponse), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn probe(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ProbeResponse>, ApiError> {
    let idem = idem(&c, &headers, &format!("POST /notices/{nid}/probes"), &body)?;
    Ok(Json(
        s.svc.probe(&c, id(&nid)?, parse_body(&body)?, idem).await?,
    ))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// ndjson, csv or plain; else taken from the Content-Type.
    pub format: Option<String>,
    /// A label for the feed (its file name, say); default `http`.
    pub source: Option<String>,
}

/// A bulk feed, streamed: kept whole in the database as it arrives, then imported in the
/// background. Poll the job it answers with.
#[utoipa::path(
    post,
    path = "/imports",
    tag = "reports",
    summary = "Send a bulk feed (NDJSON, CSV or one value per line), streamed; answers 202 with the import job to poll (Location). Each indicator is kept once; repeats within and across feeds count as sightings",
    params(UploadQuery),
    request_body(content = String, content_type = "application/x-ndjson", description = "The feed: NDJSON ({\"type\", \"value\"} or {\"value\"} per line), CSV (a header with a `value` column, optionally `type`) or one value per line (text/plain)"),
    responses((status = 202, description = "Accepted: the feed is stored and queued", body = ImportJob), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn upload_import(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<axum::response::Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    // Checked before the body is read, so a refused sender does not upload for nothing.
    warden_core::lifecycle::may_import(&c)?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = crate::imports::upload_format(q.format.as_deref(), content_type)?;
    let job = s
        .svc
        .receive_import(&c, format, q.source.as_deref(), body.into_data_stream())
        .await?;
    crate::imports::start_pending(s.svc.clone(), crate::jobs::owner().to_owned());
    let location = format!("/api/v1/imports/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        Json(job),
    )
        .into_response())
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportsQuery {
    /// At most this many (default 50, at most 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/imports",
    tag = "reports",
    summary = "The caller organisation's feed imports, newest first",
    params(ImportsQuery),
    responses((status = 200, description = "OK", body = ImportList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn list_imports(
    State(s): State<AppState>,
    Caller(c): Caller,
    q: Result<Query<ImportsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ImportList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(s.svc.import_jobs(&c, q.limit.unwrap_or(50)).await?))
}

#[utoipa::path(
    get,
    path = "/imports/{id}",
    tag = "reports",
    summary = "A feed import: its status (receiving, queued, running, complete, failed) and counts so far",
    params(("id" = Uuid, Path, description = "The import id")),
    responses((status = 200, description = "OK", body = ImportJob), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn get_import(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(i): Path<String>,
) -> Result<Json<ImportJob>, ApiError> {
    Ok(Json(s.svc.import_job(&c, id(&i)?).await?))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RejectsQuery {
    /// Rejects after this number (the last `n` of the previous page).
    pub after: Option<u64>,
    /// At most this many (default 1000, at most 10000).
    pub limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/imports/{id}/rejects",
    tag = "reports",
    summary = "The lines a feed import refused, each with its place and reason, in order",
    params(("id" = Uuid, Path, description = "The import id"), RejectsQuery),
    responses((status = 200, description = "OK", body = ImportRejectList), (status = "4XX", description = "Problem details (RFC 9457)", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn import_rejects(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(i): Path<String>,
    q: Result<Query<RejectsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ImportRejectList>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    Ok(Json(
        s.svc
            .import_rejects(&c, id(&i)?, q.after.unwrap_or(0), q.limit.unwrap_or(1000))
            .await?,
    ))
}
