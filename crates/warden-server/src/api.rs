//! `/api/v1`: thin handlers. Each extracts the caller, the parameters and the body, calls
//! the service, and answers; query strings become the service's typed filters here, and
//! errors become problems in `error.rs`.

mod audit;
mod inquiries;
mod members;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, Idempotent, JsonBody, Params, id};
use crate::state::{AppState, Peer};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use warden_core::bulletin::{BulletinDraft, BulletinKind};
use warden_core::lifecycle::MeasureCommand;
use warden_core::notice::KeySet;
use warden_core::org::Actor;
use warden_service::ServiceError;
use warden_service::filters::{Lookup, PageRequest};
use warden_service::proto::*;

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
        .routes(routes!(telephone_sheet))
        .routes(routes!(penalty_table))
        .routes(routes!(issue_written_notice))
        .routes(routes!(file_appeal))
        .routes(routes!(public_appeal))
        .routes(routes!(get_appeal))
        .routes(routes!(decide_appeal))
        .routes(routes!(advance_clock))
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
        .merge(audit::router())
        .merge(inquiries::router())
        .merge(members::router())
}

#[utoipa::path(
    post,
    path = "/reports",
    tag = "reports",
    summary = "Submit a threat report (Art. 6); correlated into an open case when it shares an indicator",
    request_body = ReportRequest,
    params(IdempotencyKey),
    responses((status = 201, description = "Created", body = ReportCreated)),
    security(("bearer" = []))
)]
async fn submit_report(
    State(s): State<AppState>,
    Caller(c): Caller,
    w: Idempotent,
) -> Result<(StatusCode, Json<ReportCreated>), ApiError> {
    let idem = w.idem(&c);
    let created = s.svc.submit_report(&c, w.json()?, idem).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/reports/{id}",
    tag = "reports",
    summary = "A report",
    params(("id" = Uuid, Path, description = "The report id")),
    responses((status = 200, description = "OK", body = ReportView)),
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
    responses((status = 200, description = "OK", body = CaseList)),
    security(("bearer" = []))
)]
async fn list_cases(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<CasesQuery>,
) -> Result<Json<CaseList>, ApiError> {
    Ok(Json(s.svc.cases(&c, q.try_into()?).await?))
}

#[utoipa::path(
    get,
    path = "/cases/{id}",
    tag = "cases",
    summary = "A case",
    params(("id" = Uuid, Path, description = "The case id")),
    responses((status = 200, description = "OK", body = CaseView)),
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
    params(("id" = Uuid, Path, description = "The case id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = CaseStatusResponse)),
    security(("bearer" = []))
)]
async fn assign(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    w: Idempotent,
) -> Result<Json<CaseStatusResponse>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(s.svc.assign(&c, id(&cid)?, w.json()?, idem).await?))
}

#[utoipa::path(
    post,
    path = "/cases/{id}/determination",
    tag = "cases",
    summary = "Record the determination (Art. 7) by an analyst of the assigned institution",
    request_body = DeterminationRequest,
    params(("id" = Uuid, Path, description = "The case id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = CaseStatusResponse)),
    security(("bearer" = []))
)]
async fn determine(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    w: Idempotent,
) -> Result<Json<CaseStatusResponse>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(s.svc.determine(&c, id(&cid)?, w.json()?, idem).await?))
}

#[utoipa::path(
    post,
    path = "/cases/{id}/decision",
    tag = "cases",
    summary = "Decide measures (Art. 8) as a reviewer of the competent authority; signed notices are issued",
    request_body = DecisionRequest,
    params(("id" = Uuid, Path, description = "The case id"), IdempotencyKey),
    responses((status = 201, description = "Created", body = DecisionResponse)),
    security(("bearer" = []))
)]
async fn decide(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    w: Idempotent,
) -> Result<(StatusCode, Json<DecisionResponse>), ApiError> {
    let idem = w.idem(&c);
    let d = s.svc.decide(&c, id(&cid)?, w.json()?, idem).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

#[utoipa::path(
    get,
    path = "/keys",
    tag = "notices",
    summary = "Public keys that verify notice signatures (retired ones included)",
    responses((status = 200, description = "OK", body = warden_core::notice::KeySet))
)]
/// Public: anyone verifying a notice needs the keys.
async fn keys(State(s): State<AppState>) -> Result<Json<KeySet>, ApiError> {
    Ok(Json(s.svc.published_keys().await?))
}

#[utoipa::path(
    get,
    path = "/notices",
    tag = "notices",
    summary = "Notices the caller may see",
    params(NoticesQuery),
    responses((status = 200, description = "OK", body = NoticeList)),
    security(("bearer" = []))
)]
async fn list_notices(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<NoticesQuery>,
) -> Result<Json<NoticeList>, ApiError> {
    Ok(Json(s.svc.notices(&c, q.try_into()?).await?))
}

#[utoipa::path(
    get,
    path = "/notices/{id}",
    tag = "notices",
    summary = "A signed notice; the recipient's first fetch records delivery",
    params(("id" = Uuid, Path, description = "The notice id")),
    responses((status = 200, description = "OK", body = NoticeView)),
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
    params(("id" = Uuid, Path, description = "The notice id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = NoticeStatusResponse)),
    security(("bearer" = []))
)]
async fn ack(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    w: Idempotent,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = w.idem(&c);
    if !w.is_empty() {
        let _: AckRequest = w.json()?;
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
    params(("id" = Uuid, Path, description = "The notice id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = NoticeStatusResponse)),
    security(("bearer" = []))
)]
async fn feedback(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    w: Idempotent,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = w.idem(&c);
    let req: FeedbackRequest = w.json()?;
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
    params(("id" = Uuid, Path, description = "The notice id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = NoticeStatusResponse)),
    security(("bearer" = []))
)]
async fn verification(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    w: Idempotent,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = w.idem(&c);
    let req: VerificationRequest = w.json()?;
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
    params(("id" = Uuid, Path, description = "The measure id"), IdempotencyKey),
    responses((status = 201, description = "Created", body = AppealCreated)),
    security(("bearer" = []))
)]
async fn file_appeal(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(mid): Path<String>,
    w: Idempotent,
) -> Result<(StatusCode, Json<AppealCreated>), ApiError> {
    let idem = w.idem(&c);
    let req = w.json()?;
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
    params(IdempotencyKey),
    responses((status = 201, description = "Created", body = AppealCreated))
)]
/// Unauthenticated and rate-limited: the affected party usually has no account.
async fn public_appeal(
    State(s): State<AppState>,
    peer: Peer,
    _anyone: crate::auth::AnyoneButWrong,
    w: Idempotent,
) -> Result<(StatusCode, Json<AppealCreated>), ApiError> {
    s.limiter
        .check(peer.addr())
        .map_err(ApiError::RateLimited)?;
    let idem = w.idem(&Actor::Public);
    let req: PublicAppealRequest = w.json()?;
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
    responses((status = 200, description = "OK", body = AppealView)),
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
    params(("id" = Uuid, Path, description = "The appeal id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = AppealDecisionResponse)),
    security(("bearer" = []))
)]
async fn decide_appeal(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(aid): Path<String>,
    w: Idempotent,
) -> Result<Json<AppealDecisionResponse>, ApiError> {
    let idem = w.idem(&c);
    let req = w.json()?;
    Ok(Json(s.svc.decide_appeal(&c, id(&aid)?, req, idem).await?))
}

#[utoipa::path(
    post,
    path = "/admin/clock/advance",
    tag = "admin",
    summary = "Move a simulated clock forward (ministry admins; 404 on the system clock)",
    request_body = ClockAdvanceRequest,
    responses((status = 200, description = "OK", body = ClockResponse)),
    security(("bearer" = []))
)]
async fn advance_clock(
    State(s): State<AppState>,
    caller: Result<Caller, ApiError>,
    body: JsonBody,
) -> Result<Json<ClockResponse>, ApiError> {
    // On the system clock the endpoint does not exist, whoever asks (DESIGN §5.2).
    if !s.svc.simulated() {
        return Err(ServiceError::NotFound(
            "the clock (this server runs on the system clock)".into(),
        )
        .into());
    }
    let Caller(c) = caller?;
    let req: ClockAdvanceRequest = body.json()?;
    Ok(Json(s.svc.advance_clock(&c, req.seconds)?))
}

#[utoipa::path(
    get,
    path = "/enforcements",
    tag = "enforcement",
    summary = "Enforcement records (Art. 12)",
    params(EnforcementQuery),
    responses((status = 200, description = "OK", body = EnforcementList)),
    security(("bearer" = []))
)]
async fn list_enforcements(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<EnforcementQuery>,
) -> Result<Json<EnforcementList>, ApiError> {
    Ok(Json(s.svc.enforcements(&c, q.try_into()?).await?))
}

#[utoipa::path(
    post,
    path = "/enforcements/{id}/actions",
    tag = "enforcement",
    summary = "Record a talk, warning or fine",
    request_body = EnforcementActionRequest,
    params(("id" = Uuid, Path, description = "The enforcement record id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = EnforcementView)),
    security(("bearer" = []))
)]
async fn record_enforcement(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(eid): Path<String>,
    w: Idempotent,
) -> Result<Json<EnforcementView>, ApiError> {
    let idem = w.idem(&c);
    let req = w.json()?;
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
    responses((status = 200, description = "OK", body = ComplianceRecord)),
    security(("bearer" = []))
)]
async fn compliance(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<EnforcementQuery>,
) -> Result<Json<ComplianceRecord>, ApiError> {
    Ok(Json(s.svc.compliance(&c, q.try_into()?).await?))
}

#[utoipa::path(
    post,
    path = "/self-reports",
    tag = "reports",
    summary = "File a threat handled in the reporter's own systems (Art. 6, 11); opens no case",
    request_body = SelfReportRequest,
    params(IdempotencyKey),
    responses((status = 201, description = "Created", body = SelfReportCreated)),
    security(("bearer" = []))
)]
async fn submit_self_report(
    State(s): State<AppState>,
    Caller(c): Caller,
    w: Idempotent,
) -> Result<(StatusCode, Json<SelfReportCreated>), ApiError> {
    let idem = w.idem(&c);
    let created = s.svc.submit_self_report(&c, w.json()?, idem).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/notices/{id}/print",
    tag = "notices",
    summary = "The printable notice (HTML): reference, deadline, signature fingerprint, how to verify",
    params(("id" = Uuid, Path, description = "The notice id")),
    responses((status = 200, description = "OK", content_type = "text/html")),
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
    responses((status = 200, description = "OK", body = TimelinessReport)),
    security(("bearer" = []))
)]
async fn timeliness(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<TimelinessQuery>,
) -> Result<Json<TimelinessReport>, ApiError> {
    Ok(Json(s.svc.timeliness(&c, q.try_into()?).await?))
}

#[utoipa::path(
    post,
    path = "/notices/{id}/phone-notification",
    tag = "notices",
    summary = "Record the telephone call that precedes the written notice on the emergency path (Art. 8, 13)",
    request_body = PhoneNotificationRequest,
    params(("id" = Uuid, Path, description = "The notice id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = NoticeStatusResponse)),
    security(("bearer" = []))
)]
async fn phone_notification(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    w: Idempotent,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = w.idem(&c);
    let req: PhoneNotificationRequest = w.json()?;
    let cmd = MeasureCommand::RecordPhoneNotification {
        called_person: req.called_person,
        called_number: req.called_number,
        answered_by: req.answered_by,
        summary: req.summary,
        at: req.at,
    };
    Ok(Json(s.svc.notice_step(&c, id(&nid)?, cmd, idem).await?))
}

#[utoipa::path(
    get,
    path = "/penalties",
    tag = "enforcement",
    summary = "The penalty table of Art. 12: what each cited article of the Cybersecurity Law allows, with the version of the law it follows",
    responses((status = 200, description = "OK", body = warden_core::penalties::PenaltyTable)),
    security(("bearer" = []))
)]
async fn penalty_table(
    State(s): State<AppState>,
    Caller(_c): Caller,
) -> Json<warden_core::penalties::PenaltyTable> {
    Json(s.svc.policy().penalties().clone())
}

#[utoipa::path(
    get,
    path = "/notices/{id}/telephone",
    tag = "notices",
    summary = "Whom to telephone first on the emergency path, the calls made and the written notice still owed (the deciding authority, Art. 8, 13)",
    params(("id" = Uuid, Path, description = "The notice id")),
    responses((status = 200, description = "OK", body = TelephoneSheet)),
    security(("bearer" = []))
)]
async fn telephone_sheet(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
) -> Result<Json<TelephoneSheet>, ApiError> {
    Ok(Json(s.svc.telephone_sheet(&c, id(&nid)?).await?))
}

#[utoipa::path(
    post,
    path = "/notices/{id}/written-notice",
    tag = "notices",
    summary = "Issue the signed written notice that follows the telephone call on the emergency path (the deciding authority, Art. 8)",
    params(("id" = Uuid, Path, description = "The notice id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = NoticeStatusResponse)),
    security(("bearer" = []))
)]
async fn issue_written_notice(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    w: Idempotent,
) -> Result<Json<NoticeStatusResponse>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(s.svc.issue_written_notice(&c, id(&nid)?, idem).await?))
}

#[utoipa::path(
    post,
    path = "/bulletins",
    tag = "sharing",
    summary = "Notify members (通报, Art. 6): reviewers of the authorities and institutions",
    request_body = BulletinRequest,
    params(IdempotencyKey),
    responses((status = 201, description = "Created", body = warden_core::bulletin::Bulletin)),
    security(("bearer" = []))
)]
async fn issue_bulletin(
    State(s): State<AppState>,
    Caller(c): Caller,
    w: Idempotent,
) -> Result<(StatusCode, Json<warden_core::bulletin::Bulletin>), ApiError> {
    let idem = w.idem(&c);
    let req: BulletinRequest = w.json()?;
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
    responses((status = 200, description = "OK", body = BulletinList)),
    security(("bearer" = []))
)]
async fn list_bulletins(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<PageQuery>,
) -> Result<Json<BulletinList>, ApiError> {
    Ok(Json(
        s.svc
            .bulletins(&c, BulletinKind::Bulletin, q.try_into()?)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/publications",
    tag = "sharing",
    summary = "Publish to the public (发布, Art. 6); always TLP:CLEAR",
    request_body = PublicationRequest,
    params(IdempotencyKey),
    responses((status = 201, description = "Created", body = warden_core::bulletin::Bulletin)),
    security(("bearer" = []))
)]
async fn issue_publication(
    State(s): State<AppState>,
    Caller(c): Caller,
    w: Idempotent,
) -> Result<(StatusCode, Json<warden_core::bulletin::Bulletin>), ApiError> {
    let idem = w.idem(&c);
    let req: PublicationRequest = w.json()?;
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
    responses((status = 200, description = "OK", body = BulletinList))
)]
async fn list_publications(
    State(s): State<AppState>,
    _anyone: crate::auth::AnyoneButWrong,
    Params(q): Params<PageQuery>,
) -> Result<Json<BulletinList>, ApiError> {
    Ok(Json(
        s.svc
            .bulletins(&Actor::Public, BulletinKind::Publication, q.try_into()?)
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
    responses((status = 200, description = "OK", content_type = "application/json")),
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
    responses((status = 200, description = "OK", content_type = "application/atom+xml"))
)]
async fn publications_atom(
    State(s): State<AppState>,
    _anyone: crate::auth::AnyoneButWrong,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    let list = s
        .svc
        .bulletins(
            &Actor::Public,
            BulletinKind::Publication,
            PageRequest::first(50),
        )
        .await?;
    let xml = warden_core::bulletin::atom_feed(
        &crate::extract::public_base_url(&headers),
        &list.items,
        s.svc.now(),
    );
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
    path = "/lookup",
    tag = "blocklists",
    summary = "Is this value listed, under which measures, since when (the reference number is what an appeal quotes)",
    params(LookupQuery),
    responses((status = 200, description = "OK", body = LookupResult)),
    security(("bearer" = []))
)]
async fn lookup(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<LookupQuery>,
) -> Result<Json<LookupResult>, ApiError> {
    Ok(Json(s.svc.lookup(&c, &Lookup::try_from(q)?)?))
}

#[utoipa::path(
    post,
    path = "/lookup",
    tag = "blocklists",
    summary = "Look up to 10,000 values at once: one result per value, in order; a malformed value gets its own error",
    request_body = LookupBatchRequest,
    responses((status = 200, description = "OK", body = LookupBatchResponse)),
    security(("bearer" = []))
)]
async fn lookup_batch(
    State(s): State<AppState>,
    Caller(c): Caller,
    body: JsonBody,
) -> Result<Json<LookupBatchResponse>, ApiError> {
    let req: LookupBatchRequest = body.json()?;
    Ok(Json(s.svc.lookup_batch(&c, &req)?))
}

#[utoipa::path(
    get,
    path = "/blocklists/{format}",
    tag = "blocklists",
    summary = "The blocklist to enforce, streamed: rpz, nftables, suricata, plain or csv; with since=SERIAL only the changes after that serial",
    params(
        ("format" = String, Path, description = "rpz | nftables | suricata | plain | csv"),
        ExportQuery
    ),
    responses(
        (status = 200, description = "The list; X-Warden-Serial names its serial", content_type = "text/plain")
    ),
    security(("bearer" = []))
)]
async fn blocklist(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(format): Path<String>,
    Params(q): Params<ExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    let export = s.svc.export(&c, &format, &q.try_into()?).await?;
    let mut headers = HeaderMap::new();
    let ct = export.format.content_type();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(ct),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&export.serial.to_string()) {
        headers.insert("x-warden-serial", v);
    }
    if let warden_service::exports::ExportBody::Delta { from, .. } = &export.body
        && let Ok(v) = axum::http::HeaderValue::from_str(&from.to_string())
    {
        headers.insert("x-warden-delta-from", v);
    }
    Ok((headers, crate::stream::body(export)).into_response())
}

#[utoipa::path(
    get,
    path = "/allowlist",
    tag = "blocklists",
    summary = "The false-positive guards: shipped lists with their sources, and the entries organisations maintain",
    responses((status = 200, description = "OK", body = AllowlistList)),
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
    params(IdempotencyKey),
    responses((status = 201, description = "Created", body = AllowlistItem)),
    security(("bearer" = []))
)]
async fn add_allowlist(
    State(s): State<AppState>,
    Caller(c): Caller,
    w: Idempotent,
) -> Result<(StatusCode, Json<AllowlistItem>), ApiError> {
    let idem = w.idem(&c);
    let item = s.svc.add_allowlist_entry(&c, w.json()?, idem).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

#[utoipa::path(
    delete,
    path = "/allowlist/{id}",
    tag = "blocklists",
    summary = "Remove an allow-list entry (its organisation's administrators, or the authorities' and institutions')",
    params(("id" = Uuid, Path, description = "The entry id")),
    responses((status = 204, description = "Removed")),
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
    responses((status = 200, description = "OK", body = ResourceList)),
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
    params(IdempotencyKey),
    responses((status = 201, description = "Declared, pending approval; overlaps with other organisations' claims listed", body = ResourceView)),
    security(("bearer" = []))
)]
async fn declare_resource(
    State(s): State<AppState>,
    Caller(c): Caller,
    w: Idempotent,
) -> Result<(StatusCode, Json<ResourceView>), ApiError> {
    let idem = w.idem(&c);
    let v = s.svc.declare_resource(&c, w.json()?, idem).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(
    post,
    path = "/resources/{id}/decision",
    tag = "registry",
    summary = "Approve or reject a resource claim (telecom authorities' reviewers)",
    request_body = ClaimDecisionRequest,
    params(("id" = Uuid, Path, description = "The claim id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = ResourceView)),
    security(("bearer" = []))
)]
async fn decide_resource(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    w: Idempotent,
) -> Result<Json<ResourceView>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(
        s.svc
            .decide_resource(&c, id(&cid)?, w.json()?, idem)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/attribution",
    tag = "registry",
    summary = "Who holds this value (prefix holder and AS, registrar and registry, carrier, mail provider, operator), with the evidence each answer came from",
    params(LookupQuery),
    responses((status = 200, description = "OK", body = AttributionResult)),
    security(("bearer" = []))
)]
async fn attribution(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<LookupQuery>,
) -> Result<Json<AttributionResult>, ApiError> {
    Ok(Json(s.svc.attribution(&c, &Lookup::try_from(q)?).await?))
}

#[utoipa::path(
    post,
    path = "/attribution",
    tag = "registry",
    summary = "Attribute up to 10,000 values at once, one result per value in order",
    request_body = LookupBatchRequest,
    responses((status = 200, description = "OK", body = AttributionBatchResponse)),
    security(("bearer" = []))
)]
async fn attribution_batch(
    State(s): State<AppState>,
    Caller(c): Caller,
    body: JsonBody,
) -> Result<Json<AttributionBatchResponse>, ApiError> {
    let req: LookupBatchRequest = body.json()?;
    Ok(Json(s.svc.attribution_batch(&c, &req).await?))
}

#[utoipa::path(
    post,
    path = "/cases/{id}/referral",
    tag = "cases",
    summary = "Refer an undecided case up to MIIT or across to another province's authority (telecom authorities' reviewers)",
    request_body = ReferralRequest,
    params(("id" = Uuid, Path, description = "The case id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = CaseStatusResponse)),
    security(("bearer" = []))
)]
async fn refer(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(cid): Path<String>,
    w: Idempotent,
) -> Result<Json<CaseStatusResponse>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(s.svc.refer(&c, id(&cid)?, w.json()?, idem).await?))
}

#[utoipa::path(
    post,
    path = "/notices/{id}/probes",
    tag = "notices",
    summary = "Run a verification probe (DNS through the recipient's resolvers, HTTP, TCP) and record its result with the raw answer (the determining institution's verifiers)",
    request_body = ProbeRequest,
    params(("id" = Uuid, Path, description = "The notice id"), IdempotencyKey),
    responses((status = 200, description = "Probed and recorded", body = ProbeResponse)),
    security(("bearer" = []))
)]
async fn probe(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(nid): Path<String>,
    w: Idempotent,
) -> Result<Json<ProbeResponse>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(s.svc.probe(&c, id(&nid)?, w.json()?, idem).await?))
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
    responses((status = 202, description = "Accepted: the feed is stored and queued", body = ImportJob)),
    security(("bearer" = []))
)]
async fn upload_import(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<UploadQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<axum::response::Response, ApiError> {
    // Checked before the body is read, so a refused sender does not upload for nothing.
    warden_core::lifecycle::may_import(&c)?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = upload_format(q.format.as_deref(), content_type)?;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let job = s
        .svc
        .receive_import(
            &c,
            format,
            q.source.as_deref(),
            declared,
            body.into_data_stream(),
        )
        .await?;
    warden_service::imports::start_pending(s.svc.clone(), warden_service::jobs::owner().to_owned());
    let location = format!("/api/v1/imports/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        Json(job),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/imports",
    tag = "reports",
    summary = "The caller organisation's feed imports, newest first",
    params(ImportsQuery),
    responses((status = 200, description = "OK", body = ImportList)),
    security(("bearer" = []))
)]
async fn list_imports(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<ImportsQuery>,
) -> Result<Json<ImportList>, ApiError> {
    Ok(Json(s.svc.import_jobs(&c, q.limit.unwrap_or(50)).await?))
}

#[utoipa::path(
    get,
    path = "/imports/{id}",
    tag = "reports",
    summary = "A feed import: its status (receiving, queued, running, complete, failed) and counts so far",
    params(("id" = Uuid, Path, description = "The import id")),
    responses((status = 200, description = "OK", body = ImportJob)),
    security(("bearer" = []))
)]
async fn get_import(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(i): Path<String>,
) -> Result<Json<ImportJob>, ApiError> {
    Ok(Json(s.svc.import_job(&c, id(&i)?).await?))
}

#[utoipa::path(
    get,
    path = "/imports/{id}/rejects",
    tag = "reports",
    summary = "The lines a feed import refused, each with its place and reason, in order",
    params(("id" = Uuid, Path, description = "The import id"), RejectsQuery),
    responses((status = 200, description = "OK", body = ImportRejectList)),
    security(("bearer" = []))
)]
async fn import_rejects(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(i): Path<String>,
    Params(q): Params<RejectsQuery>,
) -> Result<Json<ImportRejectList>, ApiError> {
    Ok(Json(
        s.svc
            .import_rejects(&c, id(&i)?, q.after.unwrap_or(0), q.limit.unwrap_or(1000))
            .await?,
    ))
}

/// The line format of an upload: `format=` if given, else from its Content-Type.
fn upload_format(
    param: Option<&str>,
    content_type: Option<&str>,
) -> Result<warden_interop::feed::Format, ApiError> {
    let from_type = || {
        let essence = content_type?.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
                Some(warden_interop::feed::Format::Ndjson)
            }
            "text/csv" => Some(warden_interop::feed::Format::Csv),
            "text/plain" => Some(warden_interop::feed::Format::Plain),
            _ => None,
        }
    };
    match param {
        Some("stix") => Err(ServiceError::InvalidQuery(
            "format=stix: send STIX objects to your TAXII inbound collection (/taxii2/members/collections/inbound-<slug>/objects/)".into(),
        )
        .into()),
        Some("misp") => Err(ServiceError::InvalidQuery(
            "format=misp: MISP events and feeds are imported with `warden import --format misp`".into(),
        )
        .into()),
        Some(p) => warden_interop::feed::Format::parse(p).ok_or_else(|| {
            ApiError::from(ServiceError::InvalidQuery(format!("format={p}: expected ndjson, csv or plain")))
        }),
        None => from_type().ok_or_else(|| {
            ApiError::UnsupportedMediaType(format!(
                "no format: give format=ndjson|csv|plain, or Content-Type application/x-ndjson, text/csv or text/plain (got {})",
                content_type.unwrap_or("none")
            ))
        }),
    }
}
