//! `/api/v1/audit`: the trail for auditors, and its signed checkpoints for everyone.

use crate::auth::{AnyoneButWrong, Caller};
use crate::error::ApiError;
use crate::extract::Params;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use warden_service::proto::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit))
        .routes(routes!(verify_audit))
        .routes(routes!(audit_status))
        .routes(routes!(checkpoints))
        .routes(routes!(checkpoints_atom))
}

#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    summary = "The hash-chained audit trail (auditors)",
    params(AuditQuery),
    responses((status = 200, description = "OK", body = AuditPage)),
    security(("bearer" = []))
)]
async fn audit(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(s.svc.audit(&c, q.try_into()?).await?))
}

#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "audit",
    summary = "Re-walk the whole hash chain and check the numbered, linked, signed checkpoints (auditors)",
    responses((status = 200, description = "OK", body = AuditVerification)),
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
    path = "/audit/status",
    tag = "audit",
    summary = "The trail since the last checkpoint, that checkpoint, and the alerts the checkpoint job raised (auditors)",
    responses((status = 200, description = "OK", body = AuditStatus)),
    security(("bearer" = []))
)]
async fn audit_status(
    State(s): State<AppState>,
    Caller(c): Caller,
) -> Result<Json<AuditStatus>, ApiError> {
    Ok(Json(s.svc.audit_status(&c).await?))
}

/// Query parameters of `GET /api/v1/audit/checkpoints`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CheckpointQuery {
    /// Checkpoints numbered after this one.
    after: Option<i64>,
    /// At most this many (1–1000, default 1000).
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/audit/checkpoints",
    tag = "audit",
    summary = "Public: the signed checkpoints of the audit chain, oldest first, with the key that signs them; save them, and check a database against them with warden audit verify --against",
    params(CheckpointQuery),
    responses((status = 200, description = "OK", body = CheckpointPage))
)]
async fn checkpoints(
    State(s): State<AppState>,
    _anyone: AnyoneButWrong,
    Params(q): Params<CheckpointQuery>,
) -> Result<Json<CheckpointPage>, ApiError> {
    Ok(Json(
        s.svc
            .published_checkpoints(q.after.unwrap_or(0).max(0), q.limit.unwrap_or(1000))
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/audit/checkpoints.atom",
    tag = "audit",
    summary = "Public: Atom feed (RFC 4287) of the latest 50 signed checkpoints",
    responses((status = 200, description = "OK", content_type = "application/atom+xml"))
)]
async fn checkpoints_atom(
    State(s): State<AppState>,
    _anyone: AnyoneButWrong,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    let xml = s
        .svc
        .checkpoints_atom(&crate::extract::public_base_url(&headers))
        .await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/atom+xml; charset=utf-8",
        )],
        xml,
    )
        .into_response())
}
