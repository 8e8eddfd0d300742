//! Verification probes (Art. 9): does the block hold? A DNS query through the recipient's
//! resolvers, an HTTP request, a TCP connection, each against addresses policy allows only,
//! with a timeout and a limit on how many run at once. The answer, raw, becomes the
//! verification's evidence.

use crate::error::ServiceError;
use crate::proto::*;
use crate::service::{Idem, Service};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use uuid::Uuid;
use warden_core::indicator::IndicatorType;
use warden_core::lifecycle::{
    Measure, MeasureCommand, ProbeSpec, VerificationMethod, VerificationResult,
};
use warden_core::org::Actor;
use warden_core::policy::ProbeRules;
use warden_core::resources::{ClaimStatus, ResourceKind};
use warden_match::allow::AllowTarget;

/// Probes running at once, across all requests.
const CONCURRENT: usize = 16;

fn permits() -> &'static Semaphore {
    static S: OnceLock<Semaphore> = OnceLock::new();
    S.get_or_init(|| Semaphore::new(CONCURRENT))
}

/// The special-purpose networks (IANA registries, shipped with the allow-lists).
fn special() -> &'static [IpNet] {
    static S: OnceLock<Vec<IpNet>> = OnceLock::new();
    S.get_or_init(|| {
        warden_match::Allowlist::shipped()
            .entries()
            .iter()
            .filter(|e| e.list.starts_with("iana-special"))
            .filter_map(|e| match e.target {
                AllowTarget::Net(n) => Some(n),
                AllowTarget::Name(_) => None,
            })
            .collect()
    })
}

/// Refuses an address a probe must not reach: special-purpose (loopback, private, …) unless
/// policy allows that network.
pub fn check_address(a: IpAddr, rules: &ProbeRules) -> Result<(), String> {
    if rules.allow_networks.iter().any(|n| n.contains(&a)) {
        return Ok(());
    }
    if let Some(n) = special().iter().find(|n| n.contains(&a)) {
        return Err(format!(
            "{a} is in the special-purpose network {n}: probes do not go there unless policy (probes.allow_networks) allows it"
        ));
    }
    Ok(())
}

/// Resolvers one DNS probe may ask.
pub const MAX_RESOLVERS: usize = 8;
/// The shortest and longest interval of a repeating probe.
const EVERY_MIN: time::Duration = time::Duration::minutes(15);
const EVERY_MAX: time::Duration = time::Duration::days(7);

/// A resolver's address: port 53, unless policy allows its network (a test rig, the
/// operator's own resolvers on another port): a probe cannot be aimed at any service.
fn resolver_address(r: &str, rules: &ProbeRules) -> Result<SocketAddr, String> {
    let sa: SocketAddr = r
        .parse()
        .or_else(|_| r.parse::<IpAddr>().map(|a| SocketAddr::new(a, 53)))
        .map_err(|_| format!("resolver {r:?} is not an address"))?;
    check_address(sa.ip(), rules)?;
    let allowed = rules.allow_networks.iter().any(|n| n.contains(&sa.ip()));
    if sa.port() != 53 && !allowed {
        return Err(format!(
            "resolver {r}: DNS probes go to port 53 (another port only in networks policy allows: probes.allow_networks)"
        ));
    }
    Ok(sa)
}

pub struct Outcome {
    pub passed: bool,
    pub evidence: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An A query for `name`, id `id`, recursion desired.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// Skips a (possibly compressed) name at `at`; the offset after it.
fn skip_name(b: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *b.get(at)?;
        if len & 0xC0 == 0xC0 {
            return Some(at + 2);
        }
        if len == 0 {
            return Some(at + 1);
        }
        at += 1 + usize::from(len);
    }
}

/// (rcode, addresses in the answer section).
fn dns_answer(b: &[u8], id: u16) -> Result<(u8, Vec<IpAddr>), String> {
    if b.len() < 12 || b[0..2] != id.to_be_bytes() {
        return Err("the answer is not a DNS response to the query".into());
    }
    let rcode = b[3] & 0x0F;
    let qd = u16::from_be_bytes([b[4], b[5]]);
    let an = u16::from_be_bytes([b[6], b[7]]);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(b, at).ok_or("truncated question")? + 4;
    }
    let mut addrs = vec![];
    for _ in 0..an {
        at = skip_name(b, at).ok_or("truncated answer")?;
        let f = b.get(at..at + 10).ok_or("truncated answer")?;
        let (ty, len) = (
            u16::from_be_bytes([f[0], f[1]]),
            usize::from(u16::from_be_bytes([f[8], f[9]])),
        );
        let data = b.get(at + 10..at + 10 + len).ok_or("truncated answer")?;
        match (ty, len) {
            (1, 4) => addrs.push(IpAddr::from([data[0], data[1], data[2], data[3]])),
            (28, 16) => {
                let mut o = [0u8; 16];
                o.copy_from_slice(data);
                addrs.push(IpAddr::from(o));
            }
            _ => {}
        }
        at += 10 + len;
    }
    Ok((rcode, addrs))
}

/// Asks `resolver` for `name`: blocked when it answers NXDOMAIN, no address (NODATA), or only
/// sinkhole addresses.
pub async fn dns(
    resolver: SocketAddr,
    name: &str,
    sinkholes: &[IpAddr],
    timeout: Duration,
) -> Result<Outcome, String> {
    let sock = tokio::net::UdpSocket::bind(if resolver.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })
    .await
    .map_err(|e| format!("no UDP socket: {e}"))?;
    let id: u16 = rand_u16();
    let q = dns_query(id, name);
    let mut buf = vec![0u8; 4096];
    let exchange = async {
        sock.send_to(&q, resolver).await?;
        loop {
            let (n, from) = sock.recv_from(&mut buf).await?;
            if from == resolver {
                return Ok::<usize, std::io::Error>(n);
            }
        }
    };
    let n = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => return Err(format!("resolver {resolver}: {e}")),
        Err(_) => {
            return Err(format!(
                "resolver {resolver} did not answer within {} ms: nothing verified",
                timeout.as_millis()
            ));
        }
    };
    let raw = &buf[..n];
    let (rcode, addrs) = dns_answer(raw, id)?;
    let (passed, said) = match rcode {
        3 => (true, "NXDOMAIN".to_owned()),
        0 if addrs.is_empty() => (true, "NODATA".to_owned()),
        0 if addrs.iter().all(|a| sinkholes.contains(a)) => (true, format!("sinkhole {addrs:?}")),
        0 => (false, format!("resolves to {addrs:?}")),
        r => {
            return Err(format!(
                "resolver {resolver} answered rcode {r}: nothing verified"
            ));
        }
    };
    Ok(Outcome {
        passed,
        evidence: format!(
            "DNS A {name} via {resolver}: {said}; raw answer {}",
            hex(raw)
        ),
    })
}

fn rand_u16() -> u16 {
    let mut b = [0u8; 2];
    // A fixed id only weakens spoofing resistance of this one probe; never fails in practice.
    let _ = getrandom::fill(&mut b);
    u16::from_be_bytes(b)
}

/// Connects to `addr`: blocked when no connection is made in time.
pub async fn tcp(addr: SocketAddr, timeout: Duration) -> Outcome {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Outcome {
            passed: false,
            evidence: format!("TCP {addr}: connection accepted"),
        },
        Ok(Err(e)) => Outcome {
            passed: true,
            evidence: format!("TCP {addr}: no connection ({e})"),
        },
        Err(_) => Outcome {
            passed: true,
            evidence: format!(
                "TCP {addr}: no connection within {} ms",
                timeout.as_millis()
            ),
        },
    }
}

/// A TLS ClientHello naming `sni`: enough for any TLS 1.2 or 1.3 server to answer.
fn client_hello(sni: &str) -> Vec<u8> {
    let mut random = [0u8; 32];
    let _ = getrandom::fill(&mut random);
    let name = sni.as_bytes();
    let mut ext = vec![];
    // server_name
    let sni_len = name.len() as u16;
    ext.extend_from_slice(&[0x00, 0x00]);
    ext.extend_from_slice(&(sni_len + 5).to_be_bytes());
    ext.extend_from_slice(&(sni_len + 3).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&sni_len.to_be_bytes());
    ext.extend_from_slice(name);
    // supported_groups: x25519, secp256r1, secp384r1
    ext.extend_from_slice(&[
        0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18,
    ]);
    // ec_point_formats: uncompressed
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256
    ext.extend_from_slice(&[
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
    ]);
    let mut hello = vec![0x03, 0x03];
    hello.extend_from_slice(&random);
    hello.push(0);
    // ECDHE-ECDSA/RSA with AES-GCM (TLS 1.2)
    let suites = [0xc0u8, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9c];
    hello.extend_from_slice(&(suites.len() as u16).to_be_bytes());
    hello.extend_from_slice(&suites);
    hello.extend_from_slice(&[0x01, 0x00]);
    hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    hello.extend_from_slice(&ext);
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&hello);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// Opens TLS to `addr` naming `host`: blocked when there is no connection, or the connection
/// is cut or silent after the ClientHello (SNI filtering). A server that answers (a
/// handshake or an alert) is reachable. Certificates are not judged: an operator's block
/// page behind TLS cannot be read without trusting it.
pub async fn tls(addr: SocketAddr, host: &str, timeout: Duration) -> Outcome {
    let hello = client_hello(host);
    let run = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(&hello).await?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await?;
        Ok::<Vec<u8>, std::io::Error>(buf[..n].to_vec())
    };
    match tokio::time::timeout(timeout, run).await {
        Err(_) => Outcome {
            passed: true,
            evidence: format!(
                "TLS {host} at {addr}: no answer to the ClientHello within {} ms",
                timeout.as_millis()
            ),
        },
        Ok(Err(e)) => Outcome {
            passed: true,
            evidence: format!("TLS {host} at {addr}: no connection or cut ({e})"),
        },
        Ok(Ok(b)) if b.is_empty() => Outcome {
            passed: true,
            evidence: format!("TLS {host} at {addr}: closed after the ClientHello"),
        },
        Ok(Ok(b)) => Outcome {
            passed: false,
            evidence: format!(
                "TLS {host} at {addr}: the server answered ({}); first bytes {}",
                match b[0] {
                    0x16 => "handshake",
                    0x15 => "alert",
                    _ => "not TLS",
                },
                hex(&b)
            ),
        },
    }
}

/// GETs `path` from `host` at `addr` (already vetted): blocked when no connection, status
/// 451, or a page carrying a block-page marker.
pub async fn http(
    addr: SocketAddr,
    host: &str,
    path: &str,
    markers: &[String],
    timeout: Duration,
) -> Outcome {
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: warden-probe\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await?;
        let mut body = Vec::with_capacity(8192);
        let mut chunk = [0u8; 8192];
        while body.len() < 64 * 1024 {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Ok::<Vec<u8>, std::io::Error>(body)
    };
    match tokio::time::timeout(timeout, fetch).await {
        Err(_) => Outcome {
            passed: true,
            evidence: format!(
                "HTTP {host} at {addr}: no answer within {} ms",
                timeout.as_millis()
            ),
        },
        Ok(Err(e)) => Outcome {
            passed: true,
            evidence: format!("HTTP {host} at {addr}: no connection ({e})"),
        },
        Ok(Ok(raw)) => {
            let text = String::from_utf8_lossy(&raw);
            let status = text
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("?")
                .to_owned();
            let marker = markers.iter().find(|m| text.contains(m.as_str()));
            let passed = status == "451" || marker.is_some();
            let excerpt: String = text.chars().take(2000).collect();
            Outcome {
                passed,
                evidence: format!(
                    "HTTP GET http://{host}{path} at {addr}: status {status}{}; first bytes: {excerpt}",
                    marker
                        .map(|m| format!(", block page ({m:?})"))
                        .unwrap_or_default()
                ),
            }
        }
    }
}

/// `30m`, `1h`, `2d`: how often a probe repeats.
fn parse_every(s: &str) -> Result<time::Duration, String> {
    let s = s.trim();
    let bad = || format!("every: {s:?} is not like 30m, 1h or 2d");
    // The unit is the last character, whatever its width (`5分` is refused, not a panic).
    let Some(unit) = s.chars().last() else {
        return Err(bad());
    };
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let every = match unit {
        'm' => time::Duration::minutes(n),
        'h' => time::Duration::hours(n),
        'd' => time::Duration::days(n),
        _ => return Err(bad()),
    };
    // Often enough to follow an operator's work, not so often that it floods anyone.
    if every < EVERY_MIN || every > EVERY_MAX {
        return Err(format!(
            "every: {s:?} is outside 15m–7d: a probe repeats at most every 15 minutes and at least weekly"
        ));
    }
    Ok(every)
}

/// The explicit port of a canonical URL (`http://host:8080/…`), if any.
fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let after_host = match authority.rfind(']') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    after_host.rsplit_once(':')?.1.parse().ok()
}

fn refused(m: String) -> ServiceError {
    ServiceError::Refused(warden_core::lifecycle::Refusal {
        code: warden_core::lifecycle::RefusalCode::Invalid,
        message: m,
    })
}

impl Service {
    /// Runs a probe on a notice's target and records it as the verification (the same rules
    /// as a verification by hand: the determining institution's verifier, after feedback).
    pub async fn probe(
        &self,
        actor: &Actor,
        notice_id: Uuid,
        req: ProbeRequest,
        idem: Option<Idem>,
    ) -> Result<ProbeResponse, ServiceError> {
        let m = self
            .store
            .measure_by_notice(notice_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("notice {notice_id}")))?;
        let now = self.now();
        // Permission first: nobody may make the platform send traffic by asking.
        let dry = MeasureCommand::Verify {
            result: VerificationResult::Passed,
            method: req.method,
            notes: String::new(),
        };
        m.value.apply(actor, dry, now)?;
        let spec = ProbeSpec {
            method: req.method,
            resolvers: req.resolvers.clone(),
            port: req.port,
        };
        let every = req
            .every
            .as_deref()
            .map(parse_every)
            .transpose()
            .map_err(refused)?;
        let outcome = self.run_probe(&m.value, &spec).await?;
        let resp = self
            .record(actor, notice_id, req.method, outcome, idem)
            .await?;
        if let Some(every) = every {
            let cmd = MeasureCommand::ScheduleProbe { probe: spec, every };
            let notice = self.notice_step(actor, notice_id, cmd, None).await?;
            return Ok(ProbeResponse { notice, ..resp });
        }
        Ok(resp)
    }

    /// Runs `spec` on the measure's target; Err when the probe may not run or could not
    /// tell (no answer): nothing is recorded then.
    pub async fn run_probe(&self, m: &Measure, spec: &ProbeSpec) -> Result<Outcome, ServiceError> {
        let req = spec;
        let target = m
            .target
            .clone()
            .ok_or_else(|| refused("the measure has no target to probe".into()))?;
        let rules = &self.policy.for_province(m.province).probes;
        let timeout = Duration::from_millis(rules.timeout_ms);
        let _permit = permits()
            .acquire()
            .await
            .map_err(|e| ServiceError::Internal(format!("probe limiter: {e}")))?;
        // The name to resolve (domains, URLs with a name), or the address in a URL.
        let url_host = (target.kind() == IndicatorType::Url)
            .then(|| warden_match::index::url_parts(target.value()).map(|(h, _)| h.to_owned()))
            .flatten();
        let url_ip = url_host.as_deref().and_then(|h| h.parse::<IpAddr>().ok());
        let host = match target.kind() {
            IndicatorType::Domain => Some(target.value().to_owned()),
            IndicatorType::Url if url_ip.is_none() => url_host.clone(),
            _ => None,
        };
        let outcome = match req.method {
            VerificationMethod::Dns => {
                let name = host.ok_or_else(|| {
                    refused(format!("a DNS probe needs a name; the target is {target}"))
                })?;
                let resolvers: Vec<String> = if req.resolvers.is_empty() {
                    self.store
                        .resource_claims()
                        .await?
                        .into_iter()
                        .map(|c| c.value)
                        .filter(|c| {
                            c.org.id == m.recipient.id
                                && c.kind == ResourceKind::Resolver
                                && c.status == ClaimStatus::Approved
                        })
                        .map(|c| c.value)
                        .collect()
                } else {
                    req.resolvers.clone()
                };
                if resolvers.is_empty() {
                    return Err(refused(format!(
                        "{} has declared no resolver: name resolvers, or have it declare one (kind resolver)",
                        m.recipient.slug
                    )));
                }
                let sinkholes: Vec<IpAddr> = match self.policy.national().blocklists.sinkhole {
                    Some((v4, v6)) => v4
                        .map(IpAddr::from)
                        .into_iter()
                        .chain(v6.map(IpAddr::from))
                        .collect(),
                    None => vec![],
                };
                let mut all = Outcome {
                    passed: true,
                    evidence: String::new(),
                };
                if resolvers.len() > MAX_RESOLVERS {
                    return Err(refused(format!(
                        "a DNS probe asks at most {MAX_RESOLVERS} resolvers; {} were given",
                        resolvers.len()
                    )));
                }
                for r in &resolvers {
                    let sa = resolver_address(r, rules).map_err(refused)?;
                    let o = dns(sa, &name, &sinkholes, timeout).await.map_err(refused)?;
                    all.passed &= o.passed;
                    all.evidence.push_str(&o.evidence);
                    all.evidence.push('\n');
                }
                all
            }
            VerificationMethod::Tcp | VerificationMethod::Http => {
                let port = req.port.unwrap_or(80);
                let (addrs, path): (Vec<IpAddr>, String) = match target.kind() {
                    IndicatorType::Ipv4 | IndicatorType::Ipv6 => {
                        (target.ip().into_iter().collect(), "/".into())
                    }
                    IndicatorType::Url if url_ip.is_some() => (
                        url_ip.into_iter().collect(),
                        warden_match::index::url_parts(target.value())
                            .map(|(_, p)| if p.is_empty() { "/" } else { p })
                            .unwrap_or("/")
                            .to_owned(),
                    ),
                    IndicatorType::Domain | IndicatorType::Url => {
                        let h = host.clone().unwrap_or_default();
                        let found: Vec<IpAddr> = tokio::net::lookup_host((h.as_str(), port))
                            .await
                            .map(|it| it.map(|sa| sa.ip()).collect())
                            .unwrap_or_default();
                        let path = if target.kind() == IndicatorType::Url {
                            warden_match::index::url_parts(target.value())
                                .map(|(_, p)| if p.is_empty() { "/" } else { p })
                                .unwrap_or("/")
                                .to_owned()
                        } else {
                            "/".into()
                        };
                        if found.is_empty() {
                            // Not resolvable from here: nothing to connect to, so it is blocked
                            // as far as this probe can tell.
                            let o = Outcome {
                                passed: true,
                                evidence: format!("{h}: does not resolve from the platform"),
                            };
                            return Ok(o);
                        }
                        (found, path)
                    }
                    _ => {
                        return Err(refused(format!(
                            "a {} probe needs an address, a domain or a URL; the target is {target}",
                            if req.method == VerificationMethod::Tcp {
                                "TCP"
                            } else {
                                "HTTP"
                            }
                        )));
                    }
                };
                for a in &addrs {
                    check_address(*a, rules).map_err(refused)?;
                }
                let https =
                    target.kind() == IndicatorType::Url && target.value().starts_with("https://");
                // The port the request names, else the URL's, else the scheme's.
                let port = req
                    .port
                    .or_else(|| url_port(target.value()))
                    .unwrap_or(if https { 443 } else { 80 });
                let a = SocketAddr::new(addrs[0], port);
                if req.method == VerificationMethod::Tcp {
                    tcp(a, timeout).await
                } else if https {
                    let h = host.clone().or(url_host.clone()).unwrap_or_default();
                    tls(a, &h, timeout).await
                } else {
                    let h = host.or(url_host).unwrap_or_else(|| addrs[0].to_string());
                    http(a, &h, &path, &rules.block_page_markers, timeout).await
                }
            }
            VerificationMethod::Manual => {
                return Err(refused(
                    "a probe is dns, http or tcp; record a manual check as a verification".into(),
                ));
            }
        };
        Ok(outcome)
    }

    /// The probe job: runs every repeating probe that is due and records what it saw.
    pub async fn run_due_probes(&self) -> Result<usize, ServiceError> {
        let actor = Actor::system("probes");
        let mut done = 0;
        loop {
            let now = self.now();
            let due = self.store.probes_due(now, 100).await?;
            if due.is_empty() {
                return Ok(done);
            }
            let mut progressed = false;
            for m in due {
                let Some(sched) = &m.value.probe else {
                    continue;
                };
                let (result, evidence) = match self.run_probe(&m.value, &sched.probe).await {
                    Ok(o) => (
                        Some(if o.passed {
                            VerificationResult::Passed
                        } else {
                            VerificationResult::Failed
                        }),
                        o.evidence,
                    ),
                    Err(e) => (None, format!("inconclusive: {e}")),
                };
                let cmd = MeasureCommand::ProbeRan { result, evidence };
                let Ok(out) = m.value.apply(&actor, cmd, now) else {
                    continue;
                };
                let mut events = out.events;
                let mut writes = vec![];
                // The threat came back after verification: a failure under Art. 12.
                if events.iter().any(|e| e.name == "measure.threat_returned") {
                    let (records, raised) = self
                        .raise_records(
                            &out.next,
                            warden_core::lifecycle::EnforcementReason::VerificationFailed,
                            now,
                        )
                        .await?;
                    writes.extend(records);
                    events.extend(raised);
                }
                writes.insert(
                    0,
                    warden_store::Write::Measure {
                        measure: out.next,
                        expected: Some(m.version),
                    },
                );
                let changes = warden_store::Changeset::new(actor.clone(), now, writes, events);
                match self.store.commit(changes).await {
                    Ok(_) => {
                        done += 1;
                        progressed = true;
                    }
                    Err(warden_store::StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if !progressed {
                return Ok(done);
            }
        }
    }

    async fn record(
        &self,
        actor: &Actor,
        notice_id: Uuid,
        method: VerificationMethod,
        o: Outcome,
        idem: Option<Idem>,
    ) -> Result<ProbeResponse, ServiceError> {
        let result = if o.passed {
            VerificationResult::Passed
        } else {
            VerificationResult::Failed
        };
        let cmd = MeasureCommand::Verify {
            result,
            method,
            notes: o.evidence.clone(),
        };
        let notice = self.notice_step(actor, notice_id, cmd, idem).await?;
        Ok(ProbeResponse {
            result,
            evidence: o.evidence,
            notice,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_every;

    #[test]
    fn repeat_intervals_parse_or_say_why() {
        assert_eq!(parse_every("30m"), Ok(time::Duration::minutes(30)));
        assert_eq!(parse_every(" 2d "), Ok(time::Duration::days(2)));
        for bad in ["5分", "分", "", "m", "10x", "1.5h"] {
            assert!(parse_every(bad).is_err(), "{bad:?}");
        }
        // Neither a flood nor a schedule that never comes round.
        for out in ["1m", "14m", "0h", "-1d", "8d", "100000d"] {
            assert!(parse_every(out).unwrap_err().contains("15m–7d"), "{out:?}");
        }
    }

    #[test]
    fn resolvers_are_asked_on_port_53_unless_policy_allows_their_network() {
        use warden_core::policy::ProbeRules;
        let rules = ProbeRules {
            allow_networks: vec!["127.0.0.0/8".parse().unwrap()],
            ..ProbeRules::default()
        };
        assert!(
            super::resolver_address("192.0.2.53", &rules).is_err(),
            "special-purpose"
        );
        assert_eq!(
            super::resolver_address("8.8.8.8", &rules).unwrap().port(),
            53
        );
        assert!(
            super::resolver_address("8.8.8.8:25", &rules)
                .unwrap_err()
                .contains("port 53")
        );
        assert_eq!(
            super::resolver_address("127.0.0.1:5353", &rules)
                .unwrap()
                .port(),
            5353
        );
    }
}
