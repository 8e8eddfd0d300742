//! Warden's HTTP service: the health check and the API of DESIGN §5 under `/api/v1`.

pub mod admin;
mod api;
pub mod auth;
pub mod blocklist;
pub mod console;
pub mod demo;
mod error;
pub mod imports;
pub mod jobs;
pub mod keys;
pub mod matching;
mod metrics;
mod print;
pub mod probes;
mod problem;
mod ratelimit;
pub mod registry;
pub mod service;
pub mod taxii;
pub mod types;

pub use error::ApiError;

pub use problem::Problem;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::sync::Arc;
use tokio::net::TcpListener;
use warden_core::calendar::Calendar;
use warden_core::clock::Clock;
use warden_core::policy::Policy;
use warden_store::{Backend, Store};

/// The client's address, when the connection gives one (it does as `serve` runs the app):
/// the connection's peer, or, when that is a trusted proxy, the client it forwarded for.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<std::net::IpAddr>);

impl Peer {
    /// The address to count requests against (unspecified when there is none).
    pub fn addr(&self) -> std::net::IpAddr {
        self.0
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }
}

impl axum::extract::FromRequestParts<AppState> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| client_of(c.0.ip(), &parts.headers, &s.trusted_proxies)),
        ))
    }
}

/// The client behind a connection from `peer`. Only a trusted proxy's word is taken: then
/// the client is the nearest address in `X-Forwarded-For` (each proxy appends the address it
/// saw, so the list is read from its end) that is not itself a trusted proxy. Anything a
/// client writes there itself stays to the left of that and is never read.
pub fn client_of(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let trusts = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer.to_canonical();
    if !trusts(&client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        let hop = hop.trim();
        let Some(ip) = hop
            .parse::<std::net::IpAddr>()
            .ok()
            .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        else {
            // Not an address: the last proxy trusted so far is as near as can be told.
            break;
        };
        client = ip.to_canonical();
        if !trusts(&client) {
            break;
        }
    }
    client
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub svc: Arc<service::Service>,
    /// Limits the unauthenticated public endpoints per client address.
    pub limiter: Arc<ratelimit::Limiter>,
    /// Limits console sign-in attempts per client address (password guessing).
    pub sign_in_limiter: Arc<ratelimit::Limiter>,
    /// STIX ids of blocks, for TAXII requests that name objects.
    pub taxii_ids: Arc<taxii::IdIndex>,
    /// Cases of threat objects, for TAXII requests that name objects.
    pub taxii_threats: Arc<taxii::ThreatIndex>,
    /// Networks whose clients may read `/metrics` (default: loopback only).
    pub metrics_from: Arc<Vec<ipnet::IpNet>>,
    /// Proxies whose `X-Forwarded-For` names the client (default: none).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// HTTP Basic passwords verified lately, and the limit on verifying more.
    pub basic_passwords: Arc<auth::BasicPasswords>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        calendar: Calendar,
        policy: Policy,
        keys: keys::KeyRing,
    ) -> Self {
        // Console sign-ins and HTTP Basic passwords share one limit per address: both are
        // ways to guess the same passwords.
        let sign_in_limiter = Arc::new(ratelimit::Limiter::new(
            console::SIGN_IN_ATTEMPTS,
            std::time::Duration::from_secs(60),
        ));
        AppState {
            svc: Arc::new(service::Service {
                store,
                clock,
                calendar: Arc::new(calendar),
                policy: Arc::new(policy),
                keys: Arc::new(keys),
                simulated: None,
                blocklist: Arc::new(blocklist::Blocklist::new()),
                registry: Arc::new(registry::Registry::new()),
            }),
            limiter: Arc::new(ratelimit::Limiter::new(
                10,
                std::time::Duration::from_secs(60),
            )),
            basic_passwords: Arc::new(auth::BasicPasswords::new(sign_in_limiter.clone())),
            sign_in_limiter,
            taxii_ids: Arc::default(),
            taxii_threats: Arc::default(),
            metrics_from: Arc::new(metrics::loopback()),
            trusted_proxies: Arc::default(),
        }
    }

    /// What authenticating a request from `peer` may use.
    pub fn origin(&self, peer: Option<std::net::IpAddr>) -> auth::Origin<'_> {
        auth::Origin {
            passwords: &self.basic_passwords,
            peer,
        }
    }

    /// The same, on a simulated clock that `POST /api/v1/admin/clock/advance` can move.
    pub fn with_simulated_clock(
        store: Arc<dyn Store>,
        clock: Arc<warden_core::clock::SimulatedClock>,
        calendar: Calendar,
        policy: Policy,
        keys: keys::KeyRing,
    ) -> Self {
        let mut s = AppState::new(store, clock.clone(), calendar, policy, keys);
        if let Some(svc) = Arc::get_mut(&mut s.svc) {
            svc.simulated = Some(clock);
        }
        s
    }
}

/// Request bodies larger than this are refused (a report of 10,000 indicators fits).
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The interface specification (接口规范, Art. 6): generated from the handlers themselves.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Warden",
        version = "1",
        description = "Public-internet cyber-threat monitoring and handling platform (工信部网安〔2017〕202号). Errors are application/problem+json (RFC 9457) with a stable `type`; writes accept an Idempotency-Key header; lists page with an opaque cursor; times are RFC 3339 in Asia/Shanghai."
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(utoipa_axum::routes!(healthz))
        .nest("/api/v1", api::router())
        .split_for_parts()
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
        .fallback(not_found)
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served (recorded in the audit trail), if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|s| s.clone()).ok()
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
    let mut resp = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// Serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Lookups and exports answer from memory: build it before taking requests.
    state
        .svc
        .blocklist
        .load(state.svc.store.as_ref())
        .await
        .map_err(|e| std::io::Error::other(format!("loading the blocklist: {e}")))?;
    state.svc.blocklist.clone().follow(state.svc.store.clone());
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

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
async fn healthz(State(s): State<AppState>) -> Response {
    let time = s
        .svc
        .clock
        .now()
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let (code, database) = match s.svc.store.health().await {
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
                    backend: s.svc.store.backend(),
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

async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        format!("nothing is served at {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::client_of;
    use axum::http::{HeaderMap, HeaderValue};
    use std::net::IpAddr;

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        let headers = |vals: &[&'static str]| {
            let mut h = HeaderMap::new();
            for v in vals {
                h.append("x-forwarded-for", HeaderValue::from_static(v));
            }
            h
        };
        // Not a proxy: the header is the client's own claim and is ignored.
        let h = headers(&["198.51.100.1"]);
        assert_eq!(
            client_of(ip("203.0.113.9"), &h, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_of(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
        // Through two proxies; what the client wrote on the left is never read.
        let h = headers(&["1.2.3.4, 198.51.100.1", "10.0.0.2"]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.1"));
        // IPv6 and the IPv4-mapped form of a dual-stack listener.
        let h = headers(&["2001:db8::7, 192.0.2.4"]);
        assert_eq!(client_of(ip("2001:db8::1"), &h, &trusted), ip("192.0.2.4"));
        let h = headers(&["192.0.2.4"]);
        assert_eq!(
            client_of(ip("::ffff:10.0.0.1"), &h, &trusted),
            ip("192.0.2.4")
        );
        // Nothing but proxies, no header, or a hop that is not an address: the nearest
        // proxy is as far as can be told.
        let h = headers(&["10.0.0.3"]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.3"));
        assert_eq!(
            client_of(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        let h = headers(&["198.51.100.1, unknown, 10.0.0.4"]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.4"));
        let h = headers(&["198.51.100.1:4711"]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.1"));
    }
}
