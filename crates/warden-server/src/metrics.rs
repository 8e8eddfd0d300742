//! Prometheus metrics at `GET /metrics`: requests by route and status, their latency, and
//! what the background jobs did. They describe the service's use, so they are served only to
//! the networks the operator names (loopback by default), not to the world.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// The process-wide recorder: installed once, shared by every server in the process.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding program): then this
        // handle renders an empty page rather than failing the server.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub async fn track(req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    // The route template, never the raw path: ids would explode the label space.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("warden_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("warden_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    resp
}

pub use crate::listen::refused;

/// Whether a client at `peer` may read the metrics.
pub fn allowed(from: &[ipnet::IpNet], peer: Option<std::net::IpAddr>) -> bool {
    // An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d.
    peer.is_some_and(|ip| {
        let ip = ip.to_canonical();
        from.iter().any(|n| n.contains(&ip))
    })
}

pub async fn render(
    axum::extract::State(s): axum::extract::State<crate::state::AppState>,
    crate::state::Peer(peer): crate::state::Peer,
) -> Result<Response, crate::error::ApiError> {
    if !allowed(&s.metrics_from, peer) {
        let nets: Vec<String> = s.metrics_from.iter().map(ToString::to_string).collect();
        return Err(crate::error::ApiError::AddressNotAllowed(format!(
            "metrics are served to {} only; {} is not among them (start the server with --metrics-from to add its network)",
            if nets.is_empty() {
                "no network".to_owned()
            } else {
                nets.join(", ")
            },
            peer.map_or_else(|| "this client".to_owned(), |p| p.to_string())
        )));
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_go_only_to_the_named_networks() {
        let lo = crate::state::loopback();
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        assert!(allowed(&lo, ip("127.0.0.1")));
        assert!(allowed(&lo, ip("::1")));
        assert!(allowed(&lo, ip("::ffff:127.0.0.1")));
        assert!(!allowed(&lo, ip("10.1.2.3")));
        assert!(!allowed(&lo, ip("::ffff:10.1.2.3")));
        assert!(!allowed(&lo, None));
        let ops: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(allowed(&ops, ip("10.1.2.3")));
        assert!(!allowed(&ops, ip("127.0.0.1")));
        assert!(!allowed(&[], ip("127.0.0.1")));
    }
}
