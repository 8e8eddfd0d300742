//! `GET /healthz` for load balancers and operators, and the answer to paths that serve
//! nothing.

use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use warden_store::Backend;

#[derive(Debug, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct HealthResponse {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: String,
    pub version: String,
    pub time: String,
    pub database: DatabaseHealth,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct DatabaseHealth {
    /// `sqlite` or `postgres`.
    #[schema(value_type = String)]
    pub backend: Backend,
    pub reachable: bool,
    pub schema_version: Option<i64>,
    pub error: Option<String>,
}

/// Liveness and database reachability, for load balancers and operators.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses(
        (status = 200, description = "Serving, database reachable", body = HealthResponse),
        (status = 503, description = "The database does not answer", body = HealthResponse)
    )
)]
pub(crate) async fn healthz(State(s): State<AppState>) -> Response {
    let time = s
        .svc
        .now()
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let (code, database) = match s.svc.health().await {
        Ok(h) => (
            StatusCode::OK,
            DatabaseHealth {
                backend: h.backend,
                reachable: true,
                schema_version: Some(h.schema_version),
                error: None,
            },
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                DatabaseHealth {
                    backend: s.svc.backend(),
                    reachable: false,
                    schema_version: None,
                    error: Some(e.code().to_owned()),
                },
            )
        }
    };
    let body = HealthResponse {
        status: if code == StatusCode::OK {
            "ok"
        } else {
            "unavailable"
        }
        .to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        time,
        database,
    };
    (code, Json(body)).into_response()
}

pub(crate) async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        format!("nothing is served at {}", uri.path()),
    )
}
