//! `/api/v1/organisations`, `/people`, `/tokens`: the members, their people and their API
//! clients, administered under the core's membership rules.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, Idempotent, JsonBody, Params};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use warden_service::proto::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organisations, register_organisation))
        .routes(routes!(get_organisation, amend_organisation))
        .routes(routes!(suspend_organisation, reactivate_organisation))
        .routes(routes!(list_people, invite_person))
        .routes(routes!(amend_person))
        .routes(routes!(reset_person))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[utoipa::path(
    get,
    path = "/organisations",
    tag = "organisations",
    summary = "Member organisations in slug order; Art. 5 contacts only for the organisation itself and the bodies that oversee it",
    params(OrganisationsQuery),
    responses((status = 200, description = "OK", body = OrganisationList)),
    security(("bearer" = []))
)]
async fn list_organisations(
    State(s): State<AppState>,
    Caller(c): Caller,
    Params(q): Params<OrganisationsQuery>,
) -> Result<Json<OrganisationList>, ApiError> {
    Ok(Json(s.svc.organisations(&c, q.try_into()?).await?))
}

#[utoipa::path(
    post,
    path = "/organisations",
    tag = "organisations",
    summary = "Register an organisation (Art. 5): admins of MIIT anywhere, of a provincial authority in its province",
    request_body = OrganisationRequest,
    params(IdempotencyKey),
    responses((status = 201, description = "Created", body = OrganisationView)),
    security(("bearer" = []))
)]
async fn register_organisation(
    State(s): State<AppState>,
    Caller(c): Caller,
    w: Idempotent,
) -> Result<(StatusCode, Json<OrganisationView>), ApiError> {
    let idem = w.idem(&c);
    let v = s.svc.register_organisation(&c, w.json()?, idem).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(
    get,
    path = "/organisations/{slug}",
    tag = "organisations",
    summary = "An organisation, with its declared resources for those who oversee it",
    params(("slug" = String, Path, description = "The organisation's slug")),
    responses((status = 200, description = "OK", body = OrganisationView)),
    security(("bearer" = []))
)]
async fn get_organisation(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(slug): Path<String>,
) -> Result<Json<OrganisationView>, ApiError> {
    Ok(Json(s.svc.organisation(&c, &slug).await?))
}

#[utoipa::path(
    patch,
    path = "/organisations/{slug}",
    tag = "organisations",
    summary = "Change an organisation: its own admin the Art. 5 contacts, its authority the rest; audited",
    params(("slug" = String, Path, description = "The organisation's slug"), IdempotencyKey),
    request_body = OrganisationPatch,
    responses((status = 200, description = "OK", body = OrganisationView)),
    security(("bearer" = []))
)]
async fn amend_organisation(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(slug): Path<String>,
    w: Idempotent,
) -> Result<Json<OrganisationView>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(
        s.svc.amend_organisation(&c, &slug, w.json()?, idem).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/organisations/{slug}/suspension",
    tag = "organisations",
    summary = "Suspend an organisation: its tokens and sessions stop at once and it is routed nothing new",
    params(("slug" = String, Path, description = "The organisation's slug"), IdempotencyKey),
    request_body = SuspendRequest,
    responses((status = 200, description = "OK", body = OrganisationView)),
    security(("bearer" = []))
)]
async fn suspend_organisation(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(slug): Path<String>,
    w: Idempotent,
) -> Result<Json<OrganisationView>, ApiError> {
    let idem = w.idem(&c);
    let req: SuspendRequest = w.json()?;
    Ok(Json(
        s.svc
            .set_suspension(&c, &slug, Some(req.reason), idem)
            .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/organisations/{slug}/suspension",
    tag = "organisations",
    summary = "Reactivate a suspended organisation",
    params(("slug" = String, Path, description = "The organisation's slug"), IdempotencyKey),
    responses((status = 200, description = "OK", body = OrganisationView)),
    security(("bearer" = []))
)]
async fn reactivate_organisation(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(slug): Path<String>,
    w: Idempotent,
) -> Result<Json<OrganisationView>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(s.svc.set_suspension(&c, &slug, None, idem).await?))
}

#[utoipa::path(
    get,
    path = "/organisations/{slug}/people",
    tag = "organisations",
    summary = "The people of an organisation: its admins and those of the authority that administers it",
    params(("slug" = String, Path, description = "The organisation's slug")),
    responses((status = 200, description = "OK", body = PeopleList)),
    security(("bearer" = []))
)]
async fn list_people(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(slug): Path<String>,
) -> Result<Json<PeopleList>, ApiError> {
    Ok(Json(s.svc.people(&c, &slug).await?))
}

/// The link's secret is shown once and never stored: no Idempotency-Key replay; inviting the
/// same name again answers 409.
#[utoipa::path(
    post,
    path = "/organisations/{slug}/people",
    tag = "organisations",
    summary = "Invite a person: the account and a one-time link (7 days) to set a password and second factor",
    params(("slug" = String, Path, description = "The organisation's slug")),
    request_body = PersonRequest,
    responses((status = 201, description = "Created", body = LinkIssued)),
    security(("bearer" = []))
)]
async fn invite_person(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(slug): Path<String>,
    body: JsonBody,
) -> Result<(StatusCode, Json<LinkIssued>), ApiError> {
    let req: PersonRequest = body.json()?;
    Ok((
        StatusCode::CREATED,
        Json(s.svc.invite_person(&c, &slug, req).await?),
    ))
}

#[utoipa::path(
    patch,
    path = "/people/{name}",
    tag = "organisations",
    summary = "Change a person's roles, display name or whether they are disabled (their sessions end at once)",
    params(("name" = String, Path, description = "The person's sign-in name"), IdempotencyKey),
    request_body = PersonPatch,
    responses((status = 200, description = "OK", body = PersonView)),
    security(("bearer" = []))
)]
async fn amend_person(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(name): Path<String>,
    w: Idempotent,
) -> Result<Json<PersonView>, ApiError> {
    let idem = w.idem(&c);
    Ok(Json(s.svc.amend_person(&c, &name, w.json()?, idem).await?))
}

#[utoipa::path(
    post,
    path = "/people/{name}/reset",
    tag = "organisations",
    summary = "A one-time link (24 hours) for a person to set a new password and second factor; earlier links stop working",
    params(("name" = String, Path, description = "The person's sign-in name")),
    responses((status = 201, description = "Created", body = LinkIssued)),
    security(("bearer" = []))
)]
async fn reset_person(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<LinkIssued>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.svc.reset_person(&c, &name).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/organisations/{slug}/tokens",
    tag = "organisations",
    summary = "An organisation's API tokens with their last use (never their secrets)",
    params(("slug" = String, Path, description = "The organisation's slug")),
    responses((status = 200, description = "OK", body = TokenList)),
    security(("bearer" = []))
)]
async fn list_tokens(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(slug): Path<String>,
) -> Result<Json<TokenList>, ApiError> {
    Ok(Json(s.svc.org_tokens(&c, &slug).await?))
}

/// The secret is shown once and never stored: no Idempotency-Key replay.
#[utoipa::path(
    post,
    path = "/organisations/{slug}/tokens",
    tag = "organisations",
    summary = "A new API client of the organisation with its token (the secret is in this answer only)",
    params(("slug" = String, Path, description = "The organisation's slug")),
    request_body = TokenRequest,
    responses((status = 201, description = "Created", body = TokenCreated)),
    security(("bearer" = []))
)]
async fn create_token(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(slug): Path<String>,
    body: JsonBody,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let req: TokenRequest = body.json()?;
    Ok((
        StatusCode::CREATED,
        Json(s.svc.create_org_token(&c, &slug, req).await?),
    ))
}

#[utoipa::path(
    delete,
    path = "/tokens/{prefix}",
    tag = "organisations",
    summary = "Revoke a token: it stops working at once",
    params(("prefix" = String, Path, description = "The token's public prefix (wdn_xxxxxxxx)")),
    responses((status = 200, description = "OK", body = TokenView)),
    security(("bearer" = []))
)]
async fn revoke_token(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(prefix): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    Ok(Json(s.svc.revoke_org_token(&c, &prefix).await?))
}
