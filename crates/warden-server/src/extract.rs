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
        // NUL reaches no database: PostgreSQL refuses it in text, so it is refused here.
        if parts
            .uri
            .query()
            .is_some_and(|q| q.to_ascii_lowercase().contains("%00"))
        {
            return Err(ServiceError::InvalidQuery(
                "a parameter holds a NUL character (%00), which no parameter accepts".into(),
            )
            .into());
        }
        match axum::extract::Query::<T>::from_request_parts(parts, s).await {
            Ok(q) => Ok(Params(q.0)),
            Err(e) => Err(ServiceError::InvalidQuery(e.body_text()).into()),
        }
    }
}

/// An object's id from the path; one that is not an id names nothing.
/// The base URL a public feed names itself by: the request's Host when it is a plain host
/// name or address (anything else could inject markup), else localhost.
pub fn public_base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

pub fn id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|_| ServiceError::NotFound(format!("{s:?} (not a valid id)")).into())
}

/// A JSON body. Text holding a NUL character is refused: no field accepts one, and
/// PostgreSQL cannot store it.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ServiceError::InvalidBody(format!("JSON body: {e}")))?;
    if holds_nul(&v) {
        return Err(ServiceError::InvalidBody(
            "JSON body: a text holds a NUL character (\\u0000), which no field accepts".into(),
        )
        .into());
    }
    serde_json::from_value(v)
        .map_err(|e| ServiceError::InvalidBody(format!("JSON body: {e}")).into())
}

fn holds_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(holds_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// Whether a request declares a JSON body (`application/json`, or a `+json` type such as
/// TAXII's). A write sent as a form or as text is not taken as JSON: a browser could send
/// such a cross-site request with credentials it remembers.
fn declares_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| {
        let essence = c
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
}

/// The body of a write and its `Idempotency-Key`, bound to the route as requested and to
/// the body's bytes: the same key with another request is refused by the store, the same
/// key with the same request answers the first response again.
pub struct Idempotent {
    body: JsonBody,
    key: Option<(String, String)>,
}

/// A request body meant as JSON, and whether the request declared it so.
pub struct JsonBody {
    bytes: Bytes,
    declared: bool,
}

impl JsonBody {
    /// The body, as JSON; it must be declared so (`Content-Type: application/json`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if !self.declared {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        json(&self.bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Response;

    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        let declared = declares_json(
            req.headers()
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let bytes = Bytes::from_request(req, s)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(JsonBody { bytes, declared })
    }
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

    /// The body, as JSON; it must be declared so (`Content-Type: application/json`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.body.json()
    }

    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

/// The `Idempotency-Key` header of a write, for the OpenAPI document: the `Idempotent`
/// extractor reads it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Never built: only its description is used.
pub struct IdempotencyKey {
    /// Makes a retried write apply once: the same key and body return the first response.
    #[param(rename = "Idempotency-Key")]
    key: Option<String>,
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
        let body = JsonBody::from_request(req, s).await?;
        let key = key.map(|k| {
            let mut h = Sha256::new();
            h.update(route.as_bytes());
            h.update([0]);
            h.update(&body.bytes);
            let hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            (k, hash)
        });
        Ok(Idempotent { body, key })
    }
}
