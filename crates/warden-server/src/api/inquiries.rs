//! `/api/v1/inquiries`: look-up requests (Art. 9), asked and answered.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, Idempotent, Params, id};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use warden_service::ServiceError;
use warden_service::proto::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ask_inquiry, list_inquiries))
        .routes(routes!(get_inquiry))
        .routes(routes!(answer_inquiry))
}

#[utoipa::path(
    post,
    path = "/inquiries",
    tag = "inquiries",
    summary = "Ask an organisation who holds an address, a broadband account, a domain or a number (Art. 9): an authority's reviewer, or an institution's analyst on its behalf",
    request_body = InquiryRequest,
    params(IdempotencyKey),
    responses((status = 201, description = "Created", body = InquiryView)),
    security(("bearer" = []))
)]
async fn ask_inquiry(
    State(s): State<AppState>,
    Caller(c): Caller,
    w: Idempotent,
) -> Result<(StatusCode, Json<InquiryView>), ApiError> {
    let idem = w.idem(&c);
    let req: InquiryRequest = w.json()?;
    Ok((
        StatusCode::CREATED,
        Json(s.svc.ask_inquiry(&c, req, idem).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/inquiries",
    tag = "inquiries",
    summary = "Look-up requests (Art. 9): those asked of the caller's organisation, or asked by or within its authority",
    params(InquiryQuery),
    responses((status = 200, description = "OK", body = InquiryList)),
    security(("bearer" = []))
)]
async fn list_inquiries(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<InquiryQuery>,
) -> Result<Json<InquiryList>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ServiceError::InvalidQuery(format!(
            "limit: {limit} is not between 1 and 1000"
        ))
        .into());
    }
    Ok(Json(
        s.svc
            .inquiries(&c, q.open.unwrap_or(false), limit, q.cursor.as_deref())
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/inquiries/{id}",
    tag = "inquiries",
    summary = "One look-up request and its answer",
    params(("id" = Uuid, Path, description = "The request's id")),
    responses((status = 200, description = "OK", body = InquiryView)),
    security(("bearer" = []))
)]
async fn get_inquiry(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(qid): Path<String>,
) -> Result<Json<InquiryView>, ApiError> {
    Ok(Json(s.svc.inquiry(&c, id(&qid)?).await?))
}

#[utoipa::path(
    post,
    path = "/inquiries/{id}/answer",
    tag = "inquiries",
    summary = "Answer a look-up request: the holder, the registrant, a contact and the evidence (the organisation asked)",
    request_body = InquiryAnswerRequest,
    params(("id" = Uuid, Path, description = "The request's id"), IdempotencyKey),
    responses((status = 200, description = "OK", body = InquiryView)),
    security(("bearer" = []))
)]
async fn answer_inquiry(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(qid): Path<String>,
    w: Idempotent,
) -> Result<Json<InquiryView>, ApiError> {
    let idem = w.idem(&c);
    let req: InquiryAnswerRequest = w.json()?;
    Ok(Json(s.svc.answer_inquiry(&c, id(&qid)?, req, idem).await?))
}
