//! How credentials travel over HTTP: `Authorization: Bearer <token>`, or `Basic` for clients
//! that only do Basic (TAXII clients, feed readers), with an API token as the password or a
//! person's own name and password. What a credential is worth is the service's.

use crate::error::ApiError;
use crate::state::{AppState, Peer};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::net::IpAddr;
use warden_core::org::Actor;
use warden_service::credentials::{AuthError, TOKEN_TAG};

/// The authenticated caller of an API or TAXII request.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(Peer(peer)) = Peer::from_request_parts(parts, s).await;
        let header = authorization(parts)?;
        Ok(Caller(authenticate(s, header, peer).await?))
    }
}

/// The caller of a route open to everyone (publications, the public appeal form): no
/// credentials is fine, but credentials that are sent must be good. A wrong or revoked
/// token is told so (401) rather than quietly treated as nobody's.
pub struct AnyoneButWrong;

impl FromRequestParts<AppState> for AnyoneButWrong {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(Peer(peer)) = Peer::from_request_parts(parts, s).await;
        let header = authorization(parts)?;
        check_if_sent(s, header, peer).await?;
        Ok(AnyoneButWrong)
    }
}

/// The `Authorization` header of a request, when its scheme is taken on this route.
fn authorization(parts: &Parts) -> Result<Option<&str>, AuthError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    refuse_basic_outside_feeds(parts, header)?;
    Ok(header)
}

/// HTTP Basic is taken where clients that know nothing else need it: TAXII, and reading
/// the blocklist and MISP feeds. Elsewhere a browser's remembered Basic credentials must not
/// ride along on a request another site makes it send.
fn refuse_basic_outside_feeds(parts: &Parts, header: Option<&str>) -> Result<(), AuthError> {
    let basic = header.is_some_and(|h| h.starts_with("Basic ") || h.starts_with("basic "));
    if !basic {
        return Ok(());
    }
    // Routers nested under a prefix see the rest of the path; the whole one is kept aside.
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path(), |u| u.0.path());
    let feed = parts.method == axum::http::Method::GET
        && (path.starts_with("/api/v1/blocklists/") || path.starts_with("/api/v1/misp/"));
    if path.starts_with("/taxii2/") || feed {
        return Ok(());
    }
    Err(AuthError::Unusable(
        "HTTP Basic is taken only by TAXII and the blocklist and MISP feeds: send Authorization: Bearer TOKEN",
    ))
}

/// Checks credentials when they are sent at all.
pub async fn check_if_sent(
    s: &AppState,
    header: Option<&str>,
    peer: Option<IpAddr>,
) -> Result<(), AuthError> {
    match header {
        None => Ok(()),
        Some(_) => authenticate(s, header, peer).await.map(|_| ()),
    }
}

/// The actor behind an `Authorization` header value.
pub async fn authenticate(
    s: &AppState,
    header: Option<&str>,
    peer: Option<IpAddr>,
) -> Result<Actor, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    if let Some(b) = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
    {
        return basic(s, b.trim(), peer).await;
    }
    let secret = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(AuthError::Missing)?
        .trim();
    s.svc.token_actor(secret).await
}

async fn basic(s: &AppState, encoded: &str, peer: Option<IpAddr>) -> Result<Actor, AuthError> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| AuthError::Invalid)?;
    let raw = String::from_utf8(raw).map_err(|_| AuthError::Invalid)?;
    let (user, password) = raw.split_once(':').ok_or(AuthError::Invalid)?;
    // No name or password holds a NUL; it never reaches the database.
    if raw.contains('\0') {
        return Err(AuthError::Invalid);
    }
    if password.starts_with(TOKEN_TAG) {
        // The token names its principal; the user name is ignored, as many clients insist
        // on sending one.
        return s.svc.token_actor(password).await;
    }
    s.basic_passwords
        .sign_in(&s.svc, user, password, peer)
        .await
}
