//! What every handler can reach, and who the client is.

use crate::passwords::BasicPasswords;
use crate::ratelimit::Limiter;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use warden_service::Service;

/// Request bodies larger than this are refused (a report of 10,000 indicators fits).
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Console sign-in attempts (and HTTP Basic password checks) an address may make in a minute.
pub const SIGN_IN_ATTEMPTS: u32 = 10;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub svc: Arc<Service>,
    /// Limits the unauthenticated public endpoints per client address.
    pub limiter: Arc<Limiter>,
    /// Limits console sign-in attempts per client address (password guessing).
    pub sign_in_limiter: Arc<Limiter>,
    /// Networks whose clients may read `/metrics` (default: loopback only).
    pub metrics_from: Arc<Vec<ipnet::IpNet>>,
    /// Proxies whose `X-Forwarded-For` names the client (default: none).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// HTTP Basic passwords verified lately, and the limit on verifying more.
    pub basic_passwords: Arc<BasicPasswords>,
    /// How many connections at once, and how long a slow or quiet one is kept.
    pub connections: crate::listen::ConnectionLimits,
}

impl AppState {
    pub fn new(svc: Arc<Service>) -> Self {
        // Console sign-ins and HTTP Basic passwords share one limit per address: both are
        // ways to guess the same passwords.
        let sign_in_limiter = Arc::new(Limiter::new(SIGN_IN_ATTEMPTS, Duration::from_secs(60)));
        AppState {
            svc,
            limiter: Arc::new(Limiter::new(10, Duration::from_secs(60))),
            basic_passwords: Arc::new(BasicPasswords::new(sign_in_limiter.clone())),
            sign_in_limiter,
            metrics_from: Arc::new(loopback()),
            trusted_proxies: Arc::default(),
            connections: crate::listen::ConnectionLimits::default(),
        }
    }
}

/// Loopback, IPv4 and IPv6.
pub fn loopback() -> Vec<ipnet::IpNet> {
    vec![
        ipnet::IpNet::V4(ipnet::Ipv4Net::new_assert(Ipv4Addr::LOCALHOST, 8)),
        ipnet::IpNet::V6(ipnet::Ipv6Net::new_assert(
            std::net::Ipv6Addr::LOCALHOST,
            128,
        )),
    ]
}

/// The client's address, when the connection gives one (it does as `serve` runs the app):
/// the connection's peer, or, when that is a trusted proxy, the client it forwarded for.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

impl Peer {
    /// The address to count requests against (unspecified when there is none).
    pub fn addr(&self) -> IpAddr {
        self.0.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
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
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
                .or_else(|| {
                    parts
                        .extensions
                        .get::<axum::extract::ConnectInfo<crate::tls::TlsPeer>>()
                        .map(|c| c.0.0)
                })
                .map(|a| client_of(a.ip(), &parts.headers, &s.trusted_proxies)),
        ))
    }
}

/// The client behind a connection from `peer`. Only a trusted proxy's word is taken: then
/// the client is the nearest address in `X-Forwarded-For` (each proxy appends the address it
/// saw, so the list is read from its end) that is not itself a trusted proxy. Anything a
/// client writes there itself stays to the left of that and is never read.
pub fn client_of(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let trusts = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
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
            .parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
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
