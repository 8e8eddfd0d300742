//! Warden's HTTP service: the API of DESIGN §5 under `/api/v1`, TAXII 2.1 under `/taxii2/`,
//! the web console, the health check and the metrics. Handlers extract, call the service
//! (`warden-service`), and answer; errors become problems in one place (`error`).

mod api;
pub mod auth;
pub mod console;
mod error;
mod extract;
mod health;
pub mod listen;
mod metrics;
mod openapi;
mod passwords;
mod print;
mod problem;
mod ratelimit;
mod state;
mod stream;
mod taxii;
pub mod tls;

pub use error::{ApiError, PROBLEMS};
pub use health::{DatabaseHealth, HealthResponse};
pub use problem::{Problem, TYPE_PREFIX};
pub use state::{AppState, BODY_LIMIT, Peer, SIGN_IN_ATTEMPTS, client_of};

use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tokio::net::TcpListener;

fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    let (router, mut doc) =
        utoipa_axum::router::OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
            .routes(utoipa_axum::routes!(health::healthz))
            .nest("/api/v1", api::router())
            .split_for_parts();
    openapi::add_problems(&mut doc);
    (router, doc)
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

pub fn router(state: AppState) -> Router {
    metrics::handle();
    let (router, doc) = routes();
    let doc = Arc::new(doc);
    router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/metrics", get(metrics::render))
        .merge(taxii::router())
        .merge(console::router())
        .fallback(health::not_found)
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(problems_only))
        .layer(axum::middleware::from_fn(declared_length))
        .layer(axum::middleware::from_fn(header_size))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            secure_transport,
        ))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

/// Problem types given to errors that the HTTP layers answer before a handler runs (for the
/// test that every type has its status and title).
#[cfg(test)]
pub(crate) const HTTP_LAYER_PROBLEMS: [&str; 4] = [
    "bad-request",
    "method-not-allowed",
    "body-too-large",
    "headers-too-large",
];

/// Request headers, all together, and how many.
pub const HEADER_BYTES: usize = 64 * 1024;
pub const HEADER_COUNT: usize = 100;

/// Headers over the limits are refused with a problem (431). The connection reads up to
/// 1 MiB and 500 headers so that this check, not the HTTP parser's bare 431, answers.
async fn header_size(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::StatusCode;
    let count = req.headers().len();
    let bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if count > HEADER_COUNT || bytes > HEADER_BYTES {
        metrics::refused("headers-too-large");
        return axum::response::IntoResponse::into_response(Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request headers too large",
            format!(
                "{count} headers of {bytes} bytes: at most {HEADER_COUNT} headers and {HEADER_BYTES} bytes"
            ),
        ));
    }
    next.run(req).await
}

/// The API and TAXII answer every error as problem details: errors the HTTP layers make
/// (a body over the limit, an unreadable path or query, a wrong method) come as plain text
/// or empty, and are rewritten here with the status, headers and message kept.
async fn problems_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::{StatusCode, header};
    let path = req.uri().path();
    let api = path.starts_with("/api/") || path.starts_with("/taxii2");
    let resp = next.run(req).await;
    let status = resp.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|c| c.starts_with("text/plain"));
    if !plain {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, title) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "Request body too large"),
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("bad-request", "The request cannot be read"),
    };
    let detail = match (status, text.is_empty()) {
        (StatusCode::METHOD_NOT_ALLOWED, _) => {
            let allow = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            format!("this path answers {allow}")
        }
        (_, false) => text,
        (_, true) => status
            .canonical_reason()
            .unwrap_or("the request cannot be read")
            .to_owned(),
    };
    let mut out =
        axum::response::IntoResponse::into_response(Problem::new(status, code, title, detail));
    for (k, v) in &parts.headers {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// A body whose declared length is over the limit is refused at once, before any of it is
/// waited for: a feed upload may carry up to the import limit, anything else `BODY_LIMIT`.
async fn declared_length(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::{Method, StatusCode, header};
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = if req.method() == Method::POST && req.uri().path() == "/api/v1/imports" {
        warden_service::imports::UPLOAD_LIMIT
    } else {
        BODY_LIMIT as u64
    };
    if let Some(n) = declared.filter(|n| *n > limit) {
        metrics::refused("body-too-large");
        return axum::response::IntoResponse::into_response(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the declared body of {n} bytes is over the limit of {limit} bytes"),
        ));
    }
    next.run(req).await
}

/// Over TLS (served directly, or ended at a trusted proxy that says so with
/// `X-Forwarded-Proto: https`), browsers are told to come back only over TLS (HSTS) and the
/// console's cookies are marked `Secure`, so they never travel in clear.
async fn secure_transport(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::{HeaderValue, header};
    let direct = req
        .extensions()
        .get::<axum::extract::ConnectInfo<tls::TlsPeer>>()
        .is_some();
    let proxied = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|c| {
            let ip = c.0.ip().to_canonical();
            s.trusted_proxies.iter().any(|n| n.contains(&ip))
        })
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let mut resp = next.run(req).await;
    if !(direct || proxied) {
        return resp;
    }
    let headers = resp.headers_mut();
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if !cookies.is_empty() {
        headers.remove(header::SET_COOKIE);
        for c in cookies {
            let secured = match c.to_str() {
                Ok(t) if !t.to_ascii_lowercase().contains("; secure") => {
                    HeaderValue::from_str(&format!("{t}; Secure")).unwrap_or(c)
                }
                _ => c,
            };
            headers.append(header::SET_COOKIE, secured);
        }
    }
    resp
}

/// Gives every request an id: the caller's `X-Request-Id` when it is sensible, else a new
/// one; echoed in the response and written with every audit entry the request causes.
async fn request_id(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let mut resp = warden_service::service::with_request_id(id.clone(), next.run(req)).await;
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// Serves until `shutdown` resolves; in-flight requests finish first. Connections are held
/// to `state.connections` (see [`listen`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    start(&state).await?;
    let limits = state.connections;
    use axum::serve::ListenerExt as _;
    listen::serve(
        // Answers are often written in two parts (headers, then a streamed body): without
        // TCP_NODELAY the last part waits for the client's delayed ACK, 40 ms on Linux.
        listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        router(state),
        limits,
        |peer: std::net::SocketAddr, ext: &mut axum::http::Extensions| {
            ext.insert(axum::extract::ConnectInfo(peer));
        },
        shutdown,
    )
    .await
}

/// As [`serve`], over TLS with `config` (see [`tls::config`]).
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    start(&state).await?;
    let limits = state.connections;
    listen::serve(
        tls::TlsListener::new(listener, config)?,
        router(state),
        limits,
        |peer: std::net::SocketAddr, ext: &mut axum::http::Extensions| {
            ext.insert(axum::extract::ConnectInfo(tls::TlsPeer(peer)));
        },
        shutdown,
    )
    .await
}

/// Lookups, exports and routing answer from memory: build it before taking requests.
async fn start(state: &AppState) -> std::io::Result<()> {
    state
        .svc
        .start()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
}
