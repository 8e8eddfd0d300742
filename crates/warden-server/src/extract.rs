//! What handlers take from a request besides the caller: query parameters (refused with
//! `invalid-query`), ids in the path, JSON bodies (refused with `invalid-body`), and the body
//! of an idempotent write with its `Idempotency-Key`.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use warden_core::org::Actor;
use warden_service::{Idem, ServiceError};

/// Query parameters; parameters that do not parse are the caller's `invalid-query`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, s).await {
            Ok(q) => Ok(Params(q.0)),
            Err(e) => Err(ServiceError::InvalidQuery(e.body_text()).into()),
        }
    }
}

/// An object's id from the path; one that is not an id names nothing.
pub fn id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|_| ServiceError::NotFound(format!("{s:?} (not a valid id)")).into())
}

/// A JSON body.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ServiceError::InvalidBody(format!("JSON body: {e}")).into())
}

/// The body of a write and its `Idempotency-Key`, bound to the route as requested and to
/// the body's bytes: the same key with another request is refused by the store, the same
/// key with the same request answers the first response again.
pub struct Idempotent {
    body: Bytes,
    key: Option<(String, String)>,
}

impl Idempotent {
    /// The key scoped to its caller (without an account, keys share one public scope; the
    /// request hash still binds each key to its own request).
    pub fn idem(&self, caller: &Actor) -> Option<Idem> {
        self.key.as_ref().map(|(key, request_hash)| Idem {
            scope: caller
                .principal_id()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "public".to_owned()),
            key: key.clone(),
            request_hash: request_hash.clone(),
        })
    }

    /// The body, as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        json(&self.body)
    }

    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

/// Where the API is mounted: routes are hashed as the API names them.
const API_ROOT: &str = "/api/v1";

impl<S: Send + Sync> FromRequest<S> for Idempotent {
    type Rejection = Response;

    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        // The API's router is nested under its root, which it does not see; strip it in
        // case a route is mounted elsewhere.
        let route = {
            let path = req.uri().path();
            let path = path.strip_prefix(API_ROOT).unwrap_or(path);
            format!("{} {path}", req.method())
        };
        let key = match req.headers().get("idempotency-key") {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .filter(|k| (1..=255).contains(&k.len()))
                    .ok_or_else(|| {
                        ApiError::from(ServiceError::InvalidBody(
                            "Idempotency-Key must be 1–255 visible ASCII characters".into(),
                        ))
                        .into_response()
                    })?
                    .to_owned(),
            ),
        };
        let body = Bytes::from_request(req, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let key = key.map(|k| {
            let mut h = Sha256::new();
            h.update(route.as_bytes());
            h.update([0]);
            h.update(&body);
            let hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            (k, hash)
        });
        Ok(Idempotent { body, key })
    }
}
