//! The real server on port 0, driven over HTTP, on SQLite and (when `WARDEN_TEST_POSTGRES`
//! names a database) on PostgreSQL.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use time::macros::datetime;
use warden_core::clock::FixedClock;
use warden_core::org::{Actor, Role};
use warden_server::{AppState, HealthResponse, Problem};
use warden_service::{Service, admin, keys};
use warden_store::Store;

struct Server {
    base: String,
    state: AppState,
    clock: Option<Arc<FixedClock>>,
    store: Arc<dyn Store>,
    tokens: HashMap<&'static str, String>,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: Option<tempfile::TempDir>,
}

const NOW: time::OffsetDateTime = datetime!(2026-09-28 10:00 +8);

/// Who acts in the tests: name → (organisation, roles).
const PEOPLE: &[(&str, &str, &[Role])] = &[
    ("secco", "secco-alpha", &[Role::Reporter]),
    ("netco", "netco-alpha", &[Role::Reporter]),
    ("netco-2", "netco-alpha", &[Role::Reporter]),
    ("cncert", "cncert", &[Role::Analyst]),
    ("cncert-both", "cncert", &[Role::Analyst, Role::Reviewer]),
    ("caict", "caict", &[Role::Analyst]),
    ("gd", "ca-guangdong", &[Role::Reviewer]),
    ("bj", "ca-beijing", &[Role::Reviewer]),
    ("miit", "miit", &[Role::Reviewer]),
    ("telecom", "china-telecom", &[Role::Responder]),
    ("mobile", "china-mobile", &[Role::Responder]),
    ("cncert-verifier", "cncert", &[Role::Verifier]),
    ("miit-admin", "miit", &[Role::Admin]),
    ("miit-auditor", "miit", &[Role::Auditor]),
    ("cac", "cac", &[Role::Responder]),
    ("supervisor", "supervisor-alpha", &[Role::Responder]),
    ("secco-auditor", "secco-alpha", &[Role::Auditor]),
    ("telecom-admin", "china-telecom", &[Role::Admin]),
    ("cnnic-admin", "cnnic", &[Role::Admin]),
    ("registrar-admin", "registrar-alpha", &[Role::Admin]),
    ("mobile-admin", "china-mobile", &[Role::Admin]),
];

async fn start(store: Arc<dyn Store>, dir: Option<tempfile::TempDir>) -> Server {
    start_with(store, dir, false).await
}

async fn start_with(
    store: Arc<dyn Store>,
    dir: Option<tempfile::TempDir>,
    simulated: bool,
) -> Server {
    start_full(
        store,
        dir,
        simulated,
        warden_core::policy::Policy::builtin().unwrap(),
    )
    .await
}

async fn start_full(
    store: Arc<dyn Store>,
    dir: Option<tempfile::TempDir>,
    simulated: bool,
    pol: warden_core::policy::Policy,
) -> Server {
    warden_service::demo::load(store.as_ref(), NOW)
        .await
        .unwrap();
    let mut tokens = HashMap::new();
    for (name, org, roles) in PEOPLE {
        let t = admin::create_token(
            store.as_ref(),
            &Actor::system("test"),
            NOW,
            org,
            roles.iter().copied().collect(),
            None,
            None,
        )
        .await
        .unwrap();
        tokens.insert(*name, t.token);
    }
    let keydir = tempfile::tempdir().unwrap();
    let master = keys::MasterKey::load_or_create(&keydir.path().join("master.key")).unwrap();
    let ring = keys::KeyRing::new(master);
    assert_eq!(
        ring.ensure_keys(store.as_ref(), NOW).await.unwrap(),
        4,
        "miit and three provinces"
    );
    let cal = warden_core::calendar::Calendar::builtin().unwrap();
    let fixed = Arc::new(FixedClock::new(NOW));
    let builder = Service::builder(store.clone(), cal, pol, ring);
    let state = AppState::new(Arc::new(if simulated {
        let clock = Arc::new(warden_core::clock::SimulatedClock::new(NOW));
        builder.simulated_clock(clock).build()
    } else {
        builder.clock(fixed.clone()).build()
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(warden_server::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Server {
        base: format!("http://{addr}"),
        state,
        clock: (!simulated).then_some(fixed),
        store,
        tokens,
        http: reqwest::Client::new(),
        _stop: tx,
        _dir: dir,
    }
}

/// Another server's state on `store`, with its own clock and keys.
fn app(
    store: Arc<dyn Store>,
    clock: Arc<dyn warden_core::clock::Clock>,
    pol: warden_core::policy::Policy,
    ring: keys::KeyRing,
) -> AppState {
    let cal = warden_core::calendar::Calendar::builtin().unwrap();
    AppState::new(Arc::new(
        Service::builder(store, cal, pol, ring).clock(clock).build(),
    ))
}

async fn on_sqlite() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(&format!("sqlite://{}/w.db", dir.path().display()))
        .await
        .unwrap();
    start(store, Some(dir)).await
}

async fn on_postgres() -> Option<Server> {
    let url = std::env::var("WARDEN_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())?;
    let store = warden_store::open_isolated_postgres(&url).await.unwrap();
    Some(start(store, None).await)
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::on_sqlite().await).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                match super::on_postgres().await {
                    Some(s) => super::$name(s).await,
                    None => eprintln!("WARDEN_TEST_POSTGRES is unset: PostgreSQL not tested"),
                }
            })*
        }
    };
}

on_both!(
    party_government_victims_bring_art_8_3_notifications,
    bulletins_reach_their_audience_and_publications_everyone,
    emergencies_phone_first_and_write_after,
    authorization_matrix,
    overdue_notices_raise_enforcement,
    audit_is_for_auditors,
    appeals_follow_article_10,
    notices_are_signed_and_followed_up,
    health_and_problems,
    reports_are_validated_and_correlated,
    determination_and_decision_respect_the_rules,
    lists_are_scoped_to_the_caller,
    blocklists_answer_lookups_and_export,
    allowlists_guard_blocks,
    a_second_server_follows_the_blocklist,
    the_registry_attributes_and_routes,
    probes_check_http_and_tcp_and_refuse_special_addresses,
    the_demo_registry_answers_and_routes,
    taxii_serves_blocks_and_takes_in_stix,
    feeds_upload_over_http_and_resume,
    taxii_shares_threats_version_by_version,
    the_console_guards_its_sessions,
    basic_passwords_are_remembered_and_guessing_is_limited,
    the_console_moves_a_case_through_its_forms,
    the_console_keeps_enforcement_records,
);

impl Server {
    async fn call(
        &self,
        who: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(w) = who {
            r = r.bearer_auth(&self.tokens[w]);
        }
        if let Some(k) = idem {
            r = r.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let problem = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json");
        let text = resp.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            assert!(problem, "{status} without a problem body: {v}");
        }
        (status, v)
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(who), reqwest::Method::POST, path, Some(body), None)
            .await
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.call(Some(who), reqwest::Method::GET, path, None, None)
            .await
    }
}

fn report(domain: &str) -> Value {
    json!({
        "category": "malicious_resource",
        "subtype": "phishing_site",
        "title": "Phishing site imitating a bank",
        "description": "Collects card numbers and SMS codes.",
        "observed_at": "2026-09-28T08:00:00+08:00",
        "province": "44",
        "tlp": "amber",
        "indicators": [{"type": "domain", "value": domain}, {"type": "url", "value": format!("http://{domain}/login")}]
    })
}

fn kind(p: &Value) -> &str {
    p["type"].as_str().unwrap().rsplit('/').next().unwrap()
}

async fn health_and_problems(s: Server) {
    let r = s
        .http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h: HealthResponse = r.json().await.unwrap();
    assert_eq!(h.status, "ok");
    assert!(h.database.reachable);
    assert_eq!(
        h.database.schema_version,
        Some(warden_store::SCHEMA_VERSION)
    );
    assert_eq!(h.time, "2026-09-28T02:00:00Z");

    let r = s.http.get(format!("{}/nope", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Problem = r.json().await.unwrap();
    assert!(p.kind.ends_with("/not-found"));

    // No token, a malformed token, a revoked token.
    let (st, p) = s
        .call(None, reqwest::Method::GET, "/api/v1/cases", None, None)
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let r = s
        .http
        .get(format!("{}/api/v1/cases", s.base))
        .bearer_auth("wdn_00000000_0000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer, Basic realm=\"warden\""
    );
    let prefix = &s.tokens["netco"][..12];
    admin::revoke_token(s.store.as_ref(), &Actor::system("test"), NOW, prefix)
        .await
        .unwrap();
    let (st, p) = s.get("netco", "/api/v1/cases").await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNAUTHORIZED, "credentials-unusable")
    );
    // Requests are counted by route template, never by raw path.
    let text = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("warden_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/cases\""), "{text}");
    assert!(text.contains("warden_http_request_duration_seconds"));
    assert!(p["detail"].as_str().unwrap().contains("revoked"));
    // Metrics go only to the networks named: a server serving them to 10.0.0.0/8 refuses
    // this (loopback) client, and says how to allow it; what the client claims in
    // X-Forwarded-For counts for nothing unless the server trusts the proxy it came through.
    let metrics = |base: String, forwarded: Option<&'static str>| {
        let mut rb = s.http.get(format!("{base}/metrics"));
        if let Some(f) = forwarded {
            rb = rb.header("x-forwarded-for", f);
        }
        async move {
            let r = rb.send().await.unwrap();
            let st = r.status();
            (st, r.text().await.unwrap())
        }
    };
    let (direct, _stop1) = second_server(&s, "10.0.0.0/8", &[]).await;
    let (st, body) = metrics(direct.clone(), Some("10.1.2.3")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let p: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(kind(&p), "forbidden-address");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("10.0.0.0/8")
            && detail.contains("127.0.0.1")
            && detail.contains("--metrics-from"),
        "{detail}"
    );
    // Behind a trusted proxy (loopback here), the client is the nearest untrusted hop.
    let (proxied, _stop2) = second_server(&s, "203.0.113.0/24", &["127.0.0.0/8"]).await;
    assert_eq!(
        metrics(proxied.clone(), Some("203.0.113.9")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        metrics(proxied.clone(), Some("203.0.113.9, 127.0.0.5"))
            .await
            .0,
        StatusCode::OK
    );
    let (st, body) = metrics(proxied.clone(), Some("203.0.113.9, 198.51.100.1")).await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "the hop the proxy saw counts, not the claim"
    );
    assert!(body.contains("198.51.100.1"), "{body}");
    let (st, body) = metrics(proxied, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(body.contains("127.0.0.1"), "{body}");
}

/// Another server on the same database, serving metrics to `metrics_from` and trusting the
/// proxies named: its base URL, and what stops it when dropped.
async fn second_server(
    s: &Server,
    metrics_from: &str,
    proxies: &[&str],
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let keydir = tempfile::tempdir().unwrap();
    let mut other = app(
        s.store.clone(),
        Arc::new(FixedClock::new(NOW)),
        warden_core::policy::Policy::builtin().unwrap(),
        keys::KeyRing::new(
            keys::MasterKey::load_or_create(&keydir.path().join("master.key")).unwrap(),
        ),
    );
    other.metrics_from = Arc::new(vec![metrics_from.parse().unwrap()]);
    other.trusted_proxies = Arc::new(proxies.iter().map(|p| p.parse().unwrap()).collect());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(warden_server::serve(listener, other, async move {
        let _ = rx.await;
    }));
    (base, stop)
}

async fn reports_are_validated_and_correlated(s: Server) {
    // The wrong role.
    let (st, p) = s
        .post("cncert", "/api/v1/reports", report("evil-bank.example.cn"))
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    // A bad indicator names its place; nothing is stored.
    let mut bad = report("evil-bank.example.cn");
    bad["indicators"][1]["value"] = json!("http://evil-bank.example.cn:99999/");
    let (st, p) = s.post("secco", "/api/v1/reports", bad).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-indicator")
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .starts_with("indicators[1]: invalid url"),
        "{p}"
    );
    // Unknown fields, wrong subtypes, bad provinces, malformed JSON.
    let mut extra = report("evil-bank.example.cn");
    extra["severity"] = json!("high");
    let (st, p) = s.post("secco", "/api/v1/reports", extra).await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `severity`"),
        "{p}"
    );
    let mut wrong = report("evil-bank.example.cn");
    wrong["subtype"] = json!("trojan");
    let (st, p) = s.post("secco", "/api/v1/reports", wrong).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-classification")
    );
    let mut wrong = report("evil-bank.example.cn");
    wrong["province"] = json!("99");
    let (st, p) = s.post("secco", "/api/v1/reports", wrong).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-province")
    );
    let r = s
        .http
        .post(format!("{}/api/v1/reports", s.base))
        .bearer_auth(&s.tokens["secco"])
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (_, list) = s.get("miit", "/api/v1/cases").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "refused requests change nothing"
    );

    // A report opens a case assigned by policy; the same threat spelled otherwise joins it.
    let (st, first) = s
        .post("secco", "/api/v1/reports", report("evil-bank.example.cn"))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    assert_eq!(first["status"], "assigned");
    assert_eq!(first["correlated"], false);
    let (st, second) = s
        .post("netco", "/api/v1/reports", report("EVIL-BANK.example.cn."))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{second}");
    assert_eq!(second["case_id"], first["case_id"]);
    assert_eq!(second["correlated"], true);
    let case_id = first["case_id"].as_str().unwrap();
    let (_, case) = s.get("miit", &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(case["report_ids"].as_array().unwrap().len(), 2);
    assert_eq!(case["assigned_to"]["slug"], "cncert");
    // Each reporter sees the case's progress and only its own report, not the other's (TLP).
    let (_, mine) = s.get("netco", &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(mine["report_ids"], json!([second["id"]]));
    assert_eq!(mine["status"], "assigned");
    let (st, _) = s
        .get(
            "netco",
            &format!("/api/v1/reports/{}", first["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "secco's report stays secco's");
    let (st, r) = s
        .get(
            "netco",
            &format!("/api/v1/reports/{}", second["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["indicators"][0]["value"], "evil-bank.example.cn");

    // Idempotency: a retried POST returns the first answer and creates nothing.
    let body = report("retry.example.cn");
    let (st1, a) = s
        .call(
            Some("secco"),
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(body.clone()),
            Some("k-1"),
        )
        .await;
    let (st2, b) = s
        .call(
            Some("secco"),
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(body),
            Some("k-1"),
        )
        .await;
    assert_eq!((st1, st2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(a, b);
    let (st, p) = s
        .call(
            Some("secco"),
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(report("other.example.cn")),
            Some("k-1"),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused")
    );
    let (_, list) = s.get("miit", "/api/v1/cases").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // A threat handled in the reporter's own systems is filed, and opens no case.
    let body = json!({"report": report("own-host.example.cn"), "actions_taken": "Reimaged the host, rotated credentials"});
    let (st, sr) = s.post("secco", "/api/v1/self-reports", body).await;
    assert_eq!(
        (st, sr["status"].as_str()),
        (StatusCode::CREATED, Some("self_handled")),
        "{sr}"
    );
    let sid = sr["id"].as_str().unwrap();
    let (st, r) = s.get("gd", &format!("/api/v1/reports/{sid}")).await;
    assert_eq!(st, StatusCode::OK, "the provincial authority sees it");
    assert!(r["case_id"].is_null());
    assert_eq!(r["self_handled"], "Reimaged the host, rotated credentials");
    let (st, _) = s.get("bj", &format!("/api/v1/reports/{sid}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, p) = s
        .post(
            "secco",
            "/api/v1/self-reports",
            json!({"report": report("x.example.cn")}),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    let (_, list) = s.get("miit", "/api/v1/cases").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "no case for the self-handled report"
    );
    assert!(s.store.verify_audit().await.unwrap().intact);
}

async fn determination_and_decision_respect_the_rules(s: Server) {
    let (_, created) = s
        .post("secco", "/api/v1/reports", report("c2.example.cn"))
        .await;
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let det = json!({
        "verdict": "confirmed", "severity": "high", "rationale": "Kit fingerprint matches",
        "recommended_measures": [{"kind": "block", "target": {"type": "domain", "value": "c2.example.cn"}}]
    });
    // Not the assigned institution; not an analyst.
    let (st, p) = s
        .post("caict", &format!("{case}/determination"), det.clone())
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::NOT_FOUND, "not-found"),
        "caict cannot see it: {p}"
    );
    let (st, p) = s
        .post("gd", &format!("{case}/determination"), det.clone())
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, d) = s
        .post("cncert-both", &format!("{case}/determination"), det.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "determined");
    let (st, p) = s
        .post("cncert", &format!("{case}/determination"), det)
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));

    let decision = json!({
        "outcome": "approved", "reasons": "Confirmed phishing infrastructure",
        "measures": [{"kind": "block", "target": {"type": "domain", "value": "c2.example.cn"}, "recipient_org": "china-telecom"}]
    });
    // The determining organisation, another province, a measure without a recipient.
    let (st, p) = s
        .post("cncert-both", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation"),
        "{p}"
    );
    let (st, p) = s
        .post("bj", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction"),
        "{p}"
    );
    let mut unroutable = decision.clone();
    unroutable["measures"][0]
        .as_object_mut()
        .unwrap()
        .remove("recipient_org");
    let (st, p) = s.post("gd", &format!("{case}/decision"), unroutable).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unroutable")
    );
    let mut unknown = decision.clone();
    unknown["measures"][0]["recipient_org"] = json!("no-such-org");
    let (st, p) = s.post("gd", &format!("{case}/decision"), unknown).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-organisation")
    );
    // The competent provincial authority decides; the deadline comes from its policy.
    let (st, out) = s
        .post("gd", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    assert_eq!(out["status"], "decided");
    assert_eq!(out["policy_version"], "national-2026.1+44-2026.1");
    let m = &out["measures"][0];
    assert_eq!(m["recipient_org"], "china-telecom");
    assert_eq!(
        m["deadline"], "2026-09-28T16:00:00+08:00",
        "Guangdong: 6 hours for high-severity blocks"
    );
    let (st, p) = s.post("miit", &format!("{case}/decision"), decision).await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    let id: uuid::Uuid = m["id"].as_str().unwrap().parse().unwrap();
    let stored = s.store.measure(id).await.unwrap().unwrap().value;
    assert!(stored.block_active());
    assert!(s.store.verify_audit().await.unwrap().intact);
}

async fn lists_are_scoped_to_the_caller(s: Server) {
    let (_, a) = s
        .post("secco", "/api/v1/reports", report("a.example.cn"))
        .await;
    let mut bj = report("b.example.cn");
    bj["province"] = json!("11");
    let (_, b) = s.post("netco", "/api/v1/reports", bj).await;
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = s.get("miit", "/api/v1/cases").await;
    assert_eq!(ids(&all).len(), 2);
    let (_, gd) = s.get("gd", "/api/v1/cases").await;
    assert_eq!(ids(&gd), vec![a["case_id"].as_str().unwrap()]);
    let (_, gd11) = s.get("gd", "/api/v1/cases?province=11").await;
    assert!(
        ids(&gd11).is_empty(),
        "a province filter cannot widen the scope"
    );
    let (_, bjl) = s.get("bj", "/api/v1/cases").await;
    assert_eq!(ids(&bjl), vec![b["case_id"].as_str().unwrap()]);
    let (_, mine) = s.get("secco", "/api/v1/cases").await;
    assert_eq!(ids(&mine), vec![a["case_id"].as_str().unwrap()]);
    let (_, inst) = s.get("cncert", "/api/v1/cases").await;
    assert_eq!(ids(&inst).len(), 2);
    let (_, none) = s.get("caict", "/api/v1/cases").await;
    assert!(ids(&none).is_empty());
    let (_, recips) = s.get("telecom", "/api/v1/cases").await;
    assert!(ids(&recips).is_empty());
    let (st, _) = s
        .get(
            "telecom",
            &format!("/api/v1/cases/{}", a["case_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .get(
            "bj",
            &format!("/api/v1/reports/{}", a["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Filters and pages.
    let (_, f) = s.get("miit", "/api/v1/cases?org=netco-alpha").await;
    assert_eq!(ids(&f), vec![b["case_id"].as_str().unwrap()]);
    let (_, p1) = s.get("miit", "/api/v1/cases?limit=1").await;
    assert_eq!(ids(&p1).len(), 1);
    let next = p1["next"].as_str().unwrap();
    let (_, p2) = s
        .get("miit", &format!("/api/v1/cases?limit=1&cursor={next}"))
        .await;
    assert_eq!(ids(&p2).len(), 1);
    assert_ne!(ids(&p1), ids(&p2));
    assert!(p2["next"].is_null());
    for (q, expect) in [
        ("limit=0", "invalid-query"),
        ("cursor=zz", "invalid-query"),
        ("from=yesterday", "invalid-query"),
        ("colour=red", "invalid-query"),
        ("org=nobody", "unknown-organisation"),
        ("province=99", "invalid-province"),
    ] {
        let (st, p) = s.get("miit", &format!("/api/v1/cases?{q}")).await;
        assert!(st.is_client_error(), "{q}: {st}");
        assert_eq!(kind(&p), expect, "{q}: {p}");
    }
}

async fn decided_block(s: &Server, domain: &str) -> Value {
    let (st, out) = decide_measure(
        s,
        domain,
        json!({"kind": "block", "target": {"type": "domain", "value": domain}, "recipient_org": "china-telecom"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    out["measures"][0].clone()
}

async fn notices_are_signed_and_followed_up(s: Server) {
    let m = decided_block(&s, "notice.example.cn").await;
    let nid = m["notice_id"].as_str().unwrap();
    let path = format!("/api/v1/notices/{nid}");
    // Others cannot see it; the recipient's first fetch is the delivery.
    let (st, _) = s.get("mobile", &path).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, n) = s.get("telecom", &path).await;
    assert_eq!(st, StatusCode::OK, "{n}");
    assert_eq!(n["status"], "delivered");
    assert_eq!(n["recipient_org"], "china-telecom");
    assert_eq!(n["body"]["issuer"]["slug"], "ca-guangdong");
    assert_eq!(n["body"]["appeal"]["until"], "2026-10-16");
    assert_eq!(n["signature"]["alg"], "Ed25519");
    // Anyone can check the signature with the published keys.
    let keys: warden_core::notice::KeySet = s
        .http
        .get(format!("{}/api/v1/keys", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys.keys.len(), 5, "four authorities and the platform");
    let signed: warden_core::notice::SignedNotice = serde_json::from_value(n.clone()).unwrap();
    assert_eq!(warden_core::notice::verify(&signed, &keys), Ok(()));
    let mut forged = signed.clone();
    forged.body.deadline = "2026-10-28T16:00:00+08:00".into();
    assert!(warden_core::notice::verify(&forged, &keys).is_err());

    // The printable form carries the reference, the fingerprint and how to verify.
    let html = s
        .http
        .get(format!("{}{path}/print", s.base))
        .bearer_auth(&s.tokens["telecom"])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(signed.body.reference.as_str()));
    assert!(html.contains(&warden_core::notice::fingerprint(&signed.body.canonical())));
    assert!(html.contains("warden notice verify"));
    assert!(html.contains("notice.example.cn"));

    // Listing: the recipient sees it, another operator does not.
    let (_, list) = s.get("telecom", "/api/v1/notices").await;
    assert_eq!(list["items"][0]["id"], nid);
    assert!(
        list["items"][0]["reference"]
            .as_str()
            .unwrap()
            .starts_with("WD-20260928-")
    );
    let (_, list) = s.get("mobile", "/api/v1/notices").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, list) = s.get("cncert", "/api/v1/notices?status=delivered").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = s.get("miit", "/api/v1/notices?category=malicious_resource&from=2026-09-28T00:00:00%2B08:00&to=2026-09-29T00:00:00%2B08:00").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = s.get("miit", "/api/v1/notices?category=incident").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, list) = s
        .get("miit", "/api/v1/notices?from=2026-09-29T00:00:00%2B08:00")
        .await;
    assert!(list["items"].as_array().unwrap().is_empty());

    // Feedback needs an acknowledgement; only the recipient gives either.
    let fb = json!({"outcome": "done", "actions_taken": "RPZ entry deployed on all resolvers"});
    let (st, p) = s
        .post("telecom", &format!("{path}/feedback"), fb.clone())
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    let (st, p) = s.post("mobile", &format!("{path}/ack"), json!({})).await;
    assert_eq!((st, kind(&p)), (StatusCode::NOT_FOUND, "not-found"));
    let (st, a) = s.post("telecom", &format!("{path}/ack"), json!({})).await;
    assert_eq!(
        (st, a["status"].as_str()),
        (StatusCode::OK, Some("acknowledged"))
    );
    let (st, f) = s
        .post("telecom", &format!("{path}/feedback"), fb.clone())
        .await;
    assert_eq!(
        (st, f["status"].as_str()),
        (StatusCode::OK, Some("feedback_filed"))
    );
    // Verification belongs to the determining institution's verifiers.
    let failed = json!({"result": "failed", "method": "manual", "notes": "still resolves"});
    let (st, p) = s
        .post("cncert", &format!("{path}/verification"), failed.clone())
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, v) = s
        .post("cncert-verifier", &format!("{path}/verification"), failed)
        .await;
    assert_eq!(
        (st, v["status"].as_str()),
        (StatusCode::OK, Some("reopened"))
    );
    let (_, f) = s.post("telecom", &format!("{path}/feedback"), fb).await;
    assert_eq!(f["status"], "feedback_filed");
    let passed = json!({"result": "passed", "method": "dns", "notes": "NXDOMAIN"});
    let (_, v) = s
        .post("cncert-verifier", &format!("{path}/verification"), passed)
        .await;
    assert_eq!(v["status"], "verified");
    let (st, p) = s
        .post(
            "telecom",
            &format!("{path}/verification"),
            json!({"result": "passed", "method": "tcp", "extra": 1}),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    assert!(s.store.verify_audit().await.unwrap().intact);
}

async fn appeals_follow_article_10(s: Server) {
    let m = decided_block(&s, "appeal.example.cn").await;
    let mid = m["id"].as_str().unwrap();
    let grounds = json!({"appellant": {"name": "Domain holder", "contact": "holder@example.cn"}, "grounds": "The site was cleaned"});
    // A member files on behalf of the affected party; the reply is due in 30 working days.
    let (st, a) = s
        .post(
            "netco-2",
            &format!("/api/v1/measures/{mid}/appeals"),
            grounds.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["reply_due"], "2026-11-14T00:00:00+08:00");
    assert_eq!(a["status"], "filed");
    let reference = a["reference"].as_str().unwrap().to_owned();
    // The public form takes the reference number, without an account.
    let public = |r: &str| json!({"reference": r, "appellant": {"name": "Owner", "contact": "+8613800138000"}, "grounds": "Not mine"});
    let (st, p) = s
        .call(
            None,
            reqwest::Method::POST,
            "/api/v1/public/appeals",
            Some(public(&reference.to_lowercase())),
            Some("form-1"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let (_, again) = s
        .call(
            None,
            reqwest::Method::POST,
            "/api/v1/public/appeals",
            Some(public(&reference.to_lowercase())),
            Some("form-1"),
        )
        .await;
    assert_eq!(again["id"], p["id"], "a resubmitted form files once");
    let (st, p) = s
        .call(
            None,
            reqwest::Method::POST,
            "/api/v1/public/appeals",
            Some(public("WD-20260928-000000000000")),
            None,
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::NOT_FOUND, "not-found"));
    // Only the deciding authority answers.
    let aid = a["id"].as_str().unwrap();
    let revoke = json!({"outcome": "revoked", "reasons": "Verified clean by CNCERT"});
    let (st, p) = s
        .post(
            "bj",
            &format!("/api/v1/appeals/{aid}/decision"),
            revoke.clone(),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation"),
        "{p}"
    );
    let (st, d) = s
        .post(
            "gd",
            &format!("/api/v1/appeals/{aid}/decision"),
            revoke.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "revoked");
    assert_eq!(d["block_active"], false);
    assert_eq!(d["late"], false);
    let (st, p) = s
        .post("gd", &format!("/api/v1/appeals/{aid}/decision"), revoke)
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    // The recipient gets a signed revocation notice.
    let (st, n) = s
        .get(
            "telecom",
            &format!("/api/v1/notices/{}", d["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(n["body"]["type"], "revocation");
    assert_eq!(n["body"]["reasons"], "Verified clean by CNCERT");
    let keys: warden_core::notice::KeySet = s
        .http
        .get(format!("{}/api/v1/keys", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signed: warden_core::notice::SignedNotice = serde_json::from_value(n).unwrap();
    assert_eq!(warden_core::notice::verify(&signed, &keys), Ok(()));
    // A revoked block cannot be appealed again; the appeal is visible to its filer.
    let (st, p) = s
        .post(
            "netco-2",
            &format!("/api/v1/measures/{mid}/appeals"),
            grounds,
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    let (st, v) = s.get("netco-2", &format!("/api/v1/appeals/{aid}")).await;
    assert_eq!(
        (st, v["status"].as_str()),
        (StatusCode::OK, Some("revoked"))
    );
    let (st, _) = s.get("mobile", &format!("/api/v1/appeals/{aid}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The clock cannot be moved on a server with the system clock (here: a fixed one).
    let (st, _) = s
        .post(
            "miit-admin",
            "/api/v1/admin/clock/advance",
            json!({"seconds": 60}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(s.store.verify_audit().await.unwrap().intact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_appeals_are_refused_on_the_simulated_clock() {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(&format!("sqlite://{}/w.db", dir.path().display()))
        .await
        .unwrap();
    let s = start_with(store, Some(dir), true).await;
    let m = decided_block(&s, "late.example.cn").await;
    let (st, p) = s
        .post("gd", "/api/v1/admin/clock/advance", json!({"seconds": 60}))
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, p) = s
        .post(
            "miit-admin",
            "/api/v1/admin/clock/advance",
            json!({"seconds": -5}),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    // Decided Monday 2026-09-28: the window ends with Friday 2026-10-16.
    let (st, now) = s
        .post(
            "miit-admin",
            "/api/v1/admin/clock/advance",
            json!({"seconds": 18 * 86_400 + 13 * 3600}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{now}");
    assert!(
        now["now"].as_str().unwrap().starts_with("2026-10-16T23:"),
        "{now}"
    );
    let grounds =
        json!({"appellant": {"name": "Holder", "contact": "h@example.cn"}, "grounds": "Cleaned"});
    let mid = m["id"].as_str().unwrap();
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{mid}/appeals"),
            grounds.clone(),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::CREATED,
        "the last evening of the 10th working day: {a}"
    );
    s.post(
        "miit-admin",
        "/api/v1/admin/clock/advance",
        json!({"seconds": 3600}),
    )
    .await;
    let (st, p) = s
        .post("netco", &format!("/api/v1/measures/{mid}/appeals"), grounds)
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "window-closed"),
        "{p}"
    );
    assert!(p["detail"].as_str().unwrap().contains("2026-10-16"), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_form_is_rate_limited() {
    let s = on_sqlite().await;
    let body = json!({"reference": "WD-20260928-000000000000", "appellant": {"name": "A", "contact": "B"}, "grounds": "C"});
    for _ in 0..10 {
        let (st, _) = s
            .call(
                None,
                reqwest::Method::POST,
                "/api/v1/public/appeals",
                Some(body.clone()),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
    let r = s
        .http
        .post(format!("{}/api/v1/public/appeals", s.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

async fn audit_is_for_auditors(s: Server) {
    decided_block(&s, "audited.example.cn").await;
    let (st, p) = s.get("secco-auditor", "/api/v1/audit").await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, p) = s.get("gd", "/api/v1/audit").await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, page) = s.get("miit-auditor", "/api/v1/audit?limit=5").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["items"][0]["seq"], 1);
    let after = page["next_after"].as_i64().unwrap();
    let (_, all) = s
        .get(
            "miit-auditor",
            &format!("/api/v1/audit?after={after}&limit=1000"),
        )
        .await;
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for n in [
        "token.created",
        "signing_key.created",
        "report.submitted",
        "case.determined",
        "case.decided",
        "measure.issued",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(all["next_after"].is_null());
    let decided = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "case.decided")
        .unwrap();
    assert_eq!(decided["actor_org"], "ca-guangdong");
    // Each entry names its request and the hash of the object's new state.
    assert!(
        decided["request_id"]
            .as_str()
            .is_some_and(|r| r.len() == 36),
        "{decided}"
    );
    assert_eq!(decided["state_hash"].as_str().map(str::len), Some(64));
    let r = s
        .http
        .post(format!("{}/api/v1/reports", s.base))
        .bearer_auth(&s.tokens["secco"])
        .header("x-request-id", "trace-42")
        .json(&report("traced.example.cn"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42");
    let (_, tail) = s.get("miit-auditor", "/api/v1/audit?limit=1000").await;
    assert!(
        tail["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["request_id"] == "trace-42" && e["event"] == "case.opened")
    );
    assert!(s.store.verify_audit().await.unwrap().intact);
    let (st, p) = s.get("miit-auditor", "/api/v1/audit?limit=5000").await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-query"));
}

async fn overdue_notices_raise_enforcement(s: Server) {
    use warden_service::jobs;
    let m = decided_block(&s, "late-operator.example.cn").await;
    let clock = s.clock.clone().unwrap();
    let svc = s.state.svc.clone();
    let r = jobs::run_due(&svc, "a").await.unwrap();
    assert_eq!((r.ran, r.overdue, r.checkpoints), (4, 0, 1));
    // The checkpoint is signed by the platform key published with the others.
    let cps = s.store.checkpoints().await.unwrap();
    let keys: warden_core::notice::KeySet = s
        .http
        .get(format!("{}/api/v1/keys", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let platform = keys.keys.iter().find(|k| k.org == "platform").unwrap();
    assert_eq!(cps[0].key_id, platform.key_id);
    assert_eq!(s.store.verify_audit().await.unwrap().checkpoints, 1);
    let r = jobs::run_due(&svc, "b").await.unwrap();
    assert_eq!(r.ran, 0, "not due again yet");
    // A quarter of the six hours left: the recipient is reminded, once.
    clock.set(NOW + time::Duration::hours(5));
    let r = jobs::run_due(&svc, "b").await.unwrap();
    assert_eq!((r.reminded, r.overdue), (1, 0));
    clock.set(NOW + time::Duration::hours(5) + time::Duration::minutes(1));
    assert_eq!(jobs::run_due(&svc, "a").await.unwrap().reminded, 0);
    // Six hours for a high-severity block in Guangdong; seven hours later it is overdue.
    clock.set(NOW + time::Duration::hours(7));
    let r = jobs::run_due(&svc, "b").await.unwrap();
    assert_eq!(
        (r.ran, r.overdue, r.checkpoints),
        (4, 1, 1),
        "seven hours on, every job is due"
    );
    clock.set(NOW + time::Duration::hours(8));
    assert_eq!(
        jobs::run_due(&svc, "a").await.unwrap().overdue,
        0,
        "once only"
    );
    let (_, n) = s
        .get(
            "telecom",
            &format!("/api/v1/notices/{}", m["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(n["overdue"], true);

    let count = |v: &Value| v["items"].as_array().unwrap().len();
    let (_, gd) = s.get("gd", "/api/v1/enforcements").await;
    assert_eq!(count(&gd), 1);
    assert_eq!(gd["items"][0]["org"]["slug"], "china-telecom");
    let (_, own) = s.get("telecom", "/api/v1/enforcements").await;
    assert_eq!(count(&own), 1);
    let (_, other) = s.get("mobile", "/api/v1/enforcements").await;
    assert_eq!(count(&other), 0);
    let (_, bj) = s.get("bj", "/api/v1/enforcements").await;
    assert_eq!(count(&bj), 0);
    let (st, p) = s
        .get("mobile", "/api/v1/enforcements?org=china-telecom")
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation")
    );

    let eid = gd["items"][0]["id"].as_str().unwrap().to_owned();
    let act = |kind: &str, amount: Option<u64>| json!({"kind": kind, "basis": "csl-56", "amount_yuan": amount, "notes": "Summoned the head of security"});
    let (st, p) = s
        .post(
            "telecom",
            &format!("/api/v1/enforcements/{eid}/actions"),
            act("talk", None),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, p) = s
        .post(
            "gd",
            &format!("/api/v1/enforcements/{eid}/actions"),
            act("fine", None),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
    let (st, _) = s
        .post(
            "gd",
            &format!("/api/v1/enforcements/{eid}/actions"),
            act("talk", None),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut fine = act("fine", Some(50_000));
    fine["basis"] = json!("csl-59");
    let (st, e) = s
        .post("gd", &format!("/api/v1/enforcements/{eid}/actions"), fine)
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["actions"].as_array().unwrap().len(), 2);
    let (st, c) = s.get("gd", "/api/v1/compliance?org=china-telecom").await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(
        (
            c["notices"].as_u64(),
            c["overdue"].as_u64(),
            c["enforcement_records"].as_u64(),
            c["talks"].as_u64(),
            c["fines_total_yuan"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1), Some(50_000))
    );
    let (st, own) = s.get("telecom", "/api/v1/compliance").await;
    assert_eq!(
        (st, own["org"].as_str()),
        (StatusCode::OK, Some("china-telecom"))
    );
    assert!(s.store.verify_audit().await.unwrap().intact);
}

/// Every route the server serves is in the OpenAPI document, and every documented operation
/// is served: a request to each reaches its handler, not the fallback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route() {
    let s = on_sqlite().await;
    let doc: Value = s
        .http
        .get(format!("{}/api/v1/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let expected: &[(&str, &str)] = &[
        ("get", "/healthz"),
        ("post", "/api/v1/reports"),
        ("get", "/api/v1/reports/{id}"),
        ("post", "/api/v1/self-reports"),
        ("get", "/api/v1/cases"),
        ("get", "/api/v1/cases/{id}"),
        ("post", "/api/v1/cases/{id}/assignment"),
        ("post", "/api/v1/cases/{id}/determination"),
        ("post", "/api/v1/cases/{id}/decision"),
        ("post", "/api/v1/cases/{id}/referral"),
        ("get", "/api/v1/keys"),
        ("get", "/api/v1/notices"),
        ("get", "/api/v1/notices/{id}"),
        ("get", "/api/v1/notices/{id}/print"),
        ("post", "/api/v1/notices/{id}/ack"),
        ("post", "/api/v1/notices/{id}/feedback"),
        ("post", "/api/v1/notices/{id}/verification"),
        ("post", "/api/v1/notices/{id}/phone-notification"),
        ("post", "/api/v1/notices/{id}/probes"),
        ("post", "/api/v1/measures/{id}/appeals"),
        ("post", "/api/v1/public/appeals"),
        ("get", "/api/v1/appeals/{id}"),
        ("post", "/api/v1/appeals/{id}/decision"),
        ("post", "/api/v1/admin/clock/advance"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/audit/verify"),
        ("get", "/api/v1/enforcements"),
        ("post", "/api/v1/enforcements/{id}/actions"),
        ("get", "/api/v1/compliance"),
        ("get", "/api/v1/stats/timeliness"),
        ("post", "/api/v1/bulletins"),
        ("get", "/api/v1/bulletins"),
        ("post", "/api/v1/publications"),
        ("get", "/api/v1/publications"),
        ("get", "/api/v1/publications.atom"),
        ("get", "/api/v1/misp/{file}"),
        ("post", "/api/v1/imports"),
        ("get", "/api/v1/imports"),
        ("get", "/api/v1/imports/{id}"),
        ("get", "/api/v1/imports/{id}/rejects"),
        ("get", "/api/v1/lookup"),
        ("post", "/api/v1/lookup"),
        ("get", "/api/v1/blocklists/{format}"),
        ("get", "/api/v1/allowlist"),
        ("post", "/api/v1/allowlist"),
        ("delete", "/api/v1/allowlist/{id}"),
        ("get", "/api/v1/resources"),
        ("post", "/api/v1/resources"),
        ("post", "/api/v1/resources/{id}/decision"),
        ("get", "/api/v1/attribution"),
        ("post", "/api/v1/attribution"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = vec![];
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.push((method.clone(), path.clone()));
            }
        }
    }
    documented.sort();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| ((*m).into(), (*p).into()))
        .collect();
    want.sort();
    assert_eq!(documented, want);
    for (method, path) in &documented {
        let url = format!(
            "{}{}",
            s.base,
            path.replace("{id}", "00000000-0000-0000-0000-000000000000")
        );
        let req = match method.as_str() {
            "get" => s.http.get(&url),
            _ => s.http.post(&url).json(&json!({})),
        };
        let r = req.bearer_auth(&s.tokens["miit"]).send().await.unwrap();
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("nothing is served at"),
            "{method} {path} is documented but not served"
        );
    }
    // Request bodies are described field by field.
    let report = &doc["components"]["schemas"]["ReportRequest"];
    let required: Vec<&str> = report["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for f in ["category", "subtype", "title", "description", "observed_at"] {
        assert!(required.contains(&f), "{f} not required: {report}");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_world_has_cases_in_every_state() {
    let s = on_sqlite().await;
    let world = warden_service::demo::populate(&s.state.svc, true)
        .await
        .unwrap();
    assert!(world.users.contains(&"reviewer@ca-guangdong".to_owned()));
    let p = s
        .store
        .principal_by_name("reviewer@ca-guangdong")
        .await
        .unwrap()
        .unwrap()
        .value;
    let hash = s.store.password_hash(p.id).await.unwrap().unwrap();
    assert!(warden_service::credentials::verify_password(
        warden_service::demo::DEMO_PASSWORD,
        &hash
    ));
    assert_eq!(world.cases, 8);
    assert!(
        world
            .tokens
            .iter()
            .any(|(o, r, _)| o == "ca-guangdong" && *r == Role::Reviewer)
    );
    let (_, list) = s.get("miit", "/api/v1/cases").await;
    let mut states: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    states.sort();
    states.dedup();
    assert_eq!(
        states,
        vec![
            "assigned",
            "decided",
            "determined",
            "dismissed",
            "more_info",
            "rejected"
        ]
    );
    let (_, notices) = s.get("miit", "/api/v1/notices").await;
    let mut ns: Vec<&str> = notices["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    ns.sort();
    assert_eq!(
        ns,
        vec![
            "acknowledged",
            "feedback_filed",
            "issued",
            "issued",
            "issued",
            "verified"
        ]
    );
    // A second start adds nothing.
    let again = warden_service::demo::populate(&s.state.svc, true)
        .await
        .unwrap();
    assert_eq!((again.cases, again.tokens.len()), (0, 0));
    assert!(s.store.verify_audit().await.unwrap().intact);
}

/// Every documented route × every role × organisations inside and outside the case's
/// jurisdiction or concern: each cell is allowed or denied exactly as the rules say.
/// Denied means 401, 403 or 404; allowed means anything else (a 409 for a step already
/// taken got past the permission checks).
async fn authorization_matrix(s: Server) {
    const ORGS: [&str; 10] = [
        "miit",
        "ca-guangdong",
        "ca-beijing",
        "cncert",
        "caict",
        "china-telecom",
        "china-mobile",
        "secco-alpha",
        "netco-alpha",
        "registrar-alpha",
    ];
    // The fixture: a Guangdong case reported by secco-alpha, determined by CNCERT, decided by
    // Guangdong with a block on china-telecom, appealed by registrar-alpha, overdue with an
    // enforcement record.
    let m = decided_block(&s, "matrix.example.cn").await;
    let mid = m["id"].as_str().unwrap().to_owned();
    let nid = m["notice_id"].as_str().unwrap().to_owned();
    let measure = s
        .store
        .measure(mid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .value;
    let case_id = measure.case_id.to_string();
    let report_id = s.store.reports_of_case(measure.case_id).await.unwrap()[0]
        .value
        .id
        .to_string();
    let mut tokens = std::collections::HashMap::new();
    for org in ORGS {
        for role in Role::ALL {
            let t = admin::create_token(
                s.store.as_ref(),
                &Actor::system("test"),
                NOW,
                org,
                [role].into_iter().collect(),
                None,
                None,
            )
            .await
            .unwrap();
            tokens.insert((org, role), t.token);
        }
    }
    let appeal_body =
        json!({"appellant": {"name": "Holder", "contact": "h@example.cn"}, "grounds": "Cleaned"});
    let r = s
        .http
        .post(format!("{}/api/v1/measures/{mid}/appeals", s.base))
        .bearer_auth(&tokens[&("registrar-alpha", Role::Reporter)])
        .json(&appeal_body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let appeal_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.clock
        .as_ref()
        .unwrap()
        .set(NOW + time::Duration::hours(7));
    let jobs = warden_service::jobs::run_due(&s.state.svc, "matrix")
        .await
        .unwrap();
    assert_eq!(jobs.overdue, 1);
    let enf = s.store.enforcements(None, None, 10).await.unwrap()[0]
        .value
        .id
        .to_string();

    let (st, claim) = s
        .post(
            "telecom-admin",
            "/api/v1/resources",
            json!({"kind": "prefix", "value": "61.140.0.0/14"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{claim}");
    let claim_id = claim["id"].as_str().unwrap().to_owned();
    let r = s
        .http
        .post(format!("{}/api/v1/imports?format=plain", s.base))
        .bearer_auth(&tokens[&("china-telecom", Role::Reporter)])
        .body("198.51.100.7\nnot a value\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let import_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc = warden_server::openapi();
    let authority44 = |o: &str| o == "miit" || o == "ca-guangdong";
    let sees_case = |o: &str| authority44(o) || o == "cncert" || o == "secco-alpha";
    let sees_measure = |o: &str| authority44(o) || o == "cncert" || o == "china-telecom";
    let oversight =
        |o: &str| ["miit", "ca-guangdong", "ca-beijing", "cncert", "caict"].contains(&o);
    let mut cells = 0;
    let mut bad = vec![];
    for (path, item) in doc.paths.paths.iter() {
        let path = path.as_str();
        for (method, op_ok) in [("get", item.get.is_some()), ("post", item.post.is_some())] {
            let public = [
                "/healthz",
                "/api/v1/keys",
                "/api/v1/public/appeals",
                "/api/v1/publications.atom",
            ]
            .contains(&path)
                || (method == "get" && path == "/api/v1/publications");
            if !op_ok || public {
                continue;
            }
            let url = match path {
                "/api/v1/stats/timeliness" => format!("{path}?group_by=province"),
                "/api/v1/lookup" if method == "get" => {
                    format!("{path}?value=www.matrix.example.cn")
                }
                "/api/v1/blocklists/{format}" => {
                    "/api/v1/blocklists/rpz?recipient=china-telecom".to_owned()
                }
                "/api/v1/misp/{file}" => "/api/v1/misp/manifest.json".to_owned(),
                _ => path.to_owned(),
            };
            let url = url
                .replace(
                    "/api/v1/reports/{id}",
                    &format!("/api/v1/reports/{report_id}"),
                )
                .replace("/api/v1/cases/{id}", &format!("/api/v1/cases/{case_id}"))
                .replace("/api/v1/notices/{id}", &format!("/api/v1/notices/{nid}"))
                .replace("/api/v1/measures/{id}", &format!("/api/v1/measures/{mid}"))
                .replace(
                    "/api/v1/appeals/{id}",
                    &format!("/api/v1/appeals/{appeal_id}"),
                )
                .replace(
                    "/api/v1/enforcements/{id}",
                    &format!("/api/v1/enforcements/{enf}"),
                )
                .replace(
                    "/api/v1/resources/{id}",
                    &format!("/api/v1/resources/{claim_id}"),
                )
                .replace(
                    "/api/v1/imports/{id}",
                    &format!("/api/v1/imports/{import_id}"),
                );
            let body = match path {
                "/api/v1/reports" => report("new.example.cn"),
                "/api/v1/self-reports" => {
                    json!({"report": report("own.example.cn"), "actions_taken": "Cleaned"})
                }
                "/api/v1/cases/{id}/assignment" => json!({"institution": "cncert"}),
                "/api/v1/cases/{id}/determination" => {
                    json!({"verdict": "confirmed", "severity": "high", "rationale": "r"})
                }
                "/api/v1/cases/{id}/decision" => json!({"outcome": "dismissed", "reasons": "r"}),
                // To where it already lies: refused as pointless, never carried out.
                "/api/v1/cases/{id}/referral" => json!({"to": "44", "reasons": "r"}),
                "/api/v1/notices/{id}/ack" => json!({}),
                "/api/v1/notices/{id}/feedback" => {
                    json!({"outcome": "done", "actions_taken": "blocked"})
                }
                "/api/v1/notices/{id}/phone-notification" => {
                    json!({"called_person": "Duty officer", "called_number": "+861012345678", "summary": "Block now"})
                }
                "/api/v1/notices/{id}/verification" => {
                    json!({"result": "passed", "method": "manual", "notes": ""})
                }
                // Nothing to verify yet: refused by state before any probe runs.
                "/api/v1/notices/{id}/probes" => json!({"method": "tcp"}),
                "/api/v1/measures/{id}/appeals" => appeal_body.clone(),
                "/api/v1/appeals/{id}/decision" => json!({"outcome": "upheld", "reasons": "r"}),
                "/api/v1/admin/clock/advance" => json!({"seconds": 0}),
                "/api/v1/bulletins" | "/api/v1/publications" => json!({"title": "t", "body": "b"}),
                "/api/v1/enforcements/{id}/actions" => {
                    json!({"kind": "talk", "basis": "csl-56", "notes": "n"})
                }
                "/api/v1/lookup" | "/api/v1/attribution" => {
                    json!({"values": ["matrix.example.cn", "not a value"]})
                }
                "/api/v1/resources" => json!({"kind": "domain", "value": "holder.example.cn"}),
                "/api/v1/resources/{id}/decision" => {
                    json!({"outcome": "approved", "reasons": "r"})
                }
                "/api/v1/allowlist" => json!({"value": "matrix-guard.example.cn", "reason": "r"}),
                _ => Value::Null,
            };
            for org in ORGS {
                for role in Role::ALL {
                    use Role::*;
                    let expect = match (method, path) {
                        ("post", "/api/v1/reports") | ("post", "/api/v1/self-reports") => {
                            role == Reporter
                        }
                        ("get", "/api/v1/reports/{id}") | ("get", "/api/v1/cases/{id}") => {
                            sees_case(org)
                        }
                        ("get", "/api/v1/cases")
                        | ("get", "/api/v1/notices")
                        | ("get", "/api/v1/enforcements")
                        | ("get", "/api/v1/compliance") => true,
                        ("post", "/api/v1/cases/{id}/assignment") => {
                            (role == Reviewer || role == Admin) && authority44(org)
                        }
                        ("post", "/api/v1/cases/{id}/determination") => {
                            role == Analyst && org == "cncert"
                        }
                        ("post", "/api/v1/cases/{id}/decision")
                        | ("post", "/api/v1/cases/{id}/referral") => {
                            role == Reviewer && authority44(org)
                        }
                        ("get", "/api/v1/notices/{id}") | ("get", "/api/v1/notices/{id}/print") => {
                            sees_measure(org)
                        }
                        ("post", "/api/v1/notices/{id}/ack")
                        | ("post", "/api/v1/notices/{id}/feedback") => {
                            role == Responder && org == "china-telecom"
                        }
                        ("post", "/api/v1/notices/{id}/phone-notification") => {
                            role == Reviewer && org == "ca-guangdong"
                        }
                        ("post", "/api/v1/notices/{id}/verification")
                        | ("post", "/api/v1/notices/{id}/probes") => {
                            role == Verifier && org == "cncert"
                        }
                        ("post", "/api/v1/measures/{id}/appeals") => true,
                        ("get", "/api/v1/appeals/{id}") => {
                            authority44(org) || org == "registrar-alpha"
                        }
                        ("post", "/api/v1/appeals/{id}/decision") => {
                            role == Reviewer && org == "ca-guangdong"
                        }
                        ("post", "/api/v1/admin/clock/advance") => false,
                        ("get", "/api/v1/audit/verify") => {
                            (role == Auditor && oversight(org)) || (role == Admin && org == "miit")
                        }
                        ("get", "/api/v1/audit") => {
                            (role == Auditor && oversight(org)) || (role == Admin && org == "miit")
                        }
                        ("post", "/api/v1/enforcements/{id}/actions") => {
                            role == Reviewer && authority44(org)
                        }
                        ("post", "/api/v1/bulletins") | ("post", "/api/v1/publications") => {
                            role == Reviewer && oversight(org)
                        }
                        ("get", "/api/v1/bulletins") | ("get", "/api/v1/misp/{file}") => true,
                        ("get", "/api/v1/lookup")
                        | ("post", "/api/v1/lookup")
                        | ("get", "/api/v1/allowlist") => true,
                        // Overseers export anyone's list; others only their own.
                        ("get", "/api/v1/blocklists/{format}") => {
                            oversight(org) || org == "china-telecom"
                        }
                        ("post", "/api/v1/allowlist") => role == Admin,
                        ("get", "/api/v1/resources")
                        | ("get", "/api/v1/attribution")
                        | ("post", "/api/v1/attribution") => true,
                        ("post", "/api/v1/resources") => role == Admin && !oversight(org),
                        ("post", "/api/v1/resources/{id}/decision") => {
                            role == Reviewer
                                && ["miit", "ca-guangdong", "ca-beijing"].contains(&org)
                        }
                        ("get", "/api/v1/stats/timeliness") => oversight(org),
                        ("post", "/api/v1/imports") => role == Reporter,
                        ("get", "/api/v1/imports") => true,
                        ("get", "/api/v1/imports/{id}")
                        | ("get", "/api/v1/imports/{id}/rejects") => {
                            org == "china-telecom" || org == "miit"
                        }
                        other => {
                            panic!("no expectation for {other:?}: add the route to the matrix")
                        }
                    };
                    let mut req = if method == "get" {
                        s.http.get(format!("{}{url}", s.base))
                    } else {
                        s.http.post(format!("{}{url}", s.base)).json(&body)
                    };
                    req = req.bearer_auth(&tokens[&(org, role)]);
                    let status = req.send().await.unwrap().status().as_u16();
                    let allowed = ![401, 403, 404].contains(&status);
                    cells += 1;
                    if allowed != expect {
                        bad.push(format!(
                            "{method} {path} as {role}@{org}: {status}, expected {}",
                            if expect { "allowed" } else { "denied" }
                        ));
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(
        cells,
        45 * ORGS.len() * Role::ALL.len(),
        "45 authenticated routes"
    );
    // Without a token, only the public routes answer.
    let r = s
        .http
        .get(format!("{}/api/v1/cases/{case_id}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(s.store.verify_audit().await.unwrap().intact);
}

async fn emergencies_phone_first_and_write_after(s: Server) {
    let (_, created) = s
        .post("secco", "/api/v1/reports", report("ransom-c2.example.cn"))
        .await;
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let det = json!({"verdict": "confirmed", "severity": "critical", "incident_level": "I", "rationale": "Nationwide ransomware C2"});
    s.post("cncert", &format!("{case}/determination"), det)
        .await;
    let (_, c) = s.get("gd", &case).await;
    assert_eq!(c["warning_colour"], "red");
    let decision = json!({
        "outcome": "approved", "reasons": "Emergency block",
        "measures": [{"kind": "block", "target": {"type": "domain", "value": "ransom-c2.example.cn"}, "recipient_org": "china-telecom"}]
    });
    let (st, out) = s.post("gd", &format!("{case}/decision"), decision).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    assert_eq!(
        out["measures"][0]["deadline"], "2026-09-28T11:00:00+08:00",
        "emergency: one hour"
    );
    let nid = out["measures"][0]["notice_id"].as_str().unwrap();
    let call = json!({"called_person": "Duty officer Wang", "called_number": "+861012345678", "summary": "Block ransom-c2.example.cn now; written notice follows"});
    let (st, p) = s
        .post(
            "telecom",
            &format!("/api/v1/notices/{nid}/phone-notification"),
            call.clone(),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, _) = s
        .post(
            "gd",
            &format!("/api/v1/notices/{nid}/phone-notification"),
            call.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let m = s
        .store
        .measure_by_notice(nid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(m.phone_notifications.len(), 1);
    assert_eq!(m.written_notice_due, Some(NOW + time::Duration::hours(24)));
    // Nobody fetched the written notice within 24 hours: flagged for the authority.
    let clock = s.clock.clone().unwrap();
    clock.set(NOW + time::Duration::hours(25));
    let r = warden_service::jobs::run_due(&s.state.svc, "w")
        .await
        .unwrap();
    assert_eq!((r.written_overdue, r.overdue), (1, 1));
    let m = s
        .store
        .measure_by_notice(nid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .value;
    assert!(m.written_notice_overdue);
    // A non-emergency notice has no telephone path.
    let other = decided_block(&s, "calm.example.cn").await;
    let (st, p) = s
        .post(
            "gd",
            &format!(
                "/api/v1/notices/{}/phone-notification",
                other["notice_id"].as_str().unwrap()
            ),
            call,
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
}

async fn bulletins_reach_their_audience_and_publications_everyone(s: Server) {
    let b = json!({"title": "Botnet wave targeting home routers", "body": "Block the listed C2 domains.", "audience": ["telecom_operator"]});
    let (st, p) = s.post("telecom", "/api/v1/bulletins", b.clone()).await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, issued) = s.post("gd", "/api/v1/bulletins", b).await;
    assert_eq!(st, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["tlp"], "green");
    let count = |v: &Value| v["items"].as_array().unwrap().len();
    let (_, l) = s.get("telecom", "/api/v1/bulletins").await;
    assert_eq!(count(&l), 1);
    let (_, l) = s.get("secco", "/api/v1/bulletins").await;
    assert_eq!(count(&l), 0, "not for security companies");
    let (_, l) = s.get("bj", "/api/v1/bulletins").await;
    assert_eq!(count(&l), 1, "authorities see every bulletin");
    let (st, p) = s
        .post(
            "gd",
            "/api/v1/bulletins",
            json!({"title": "t", "body": "b", "tlp": "red"}),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
    // Publications are public, in JSON and Atom.
    let (st, _) = s
        .post(
            "cncert",
            "/api/v1/publications",
            json!({"title": "t", "body": "b"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "analysts do not publish");
    let pubreq = json!({"title": "Phishing <campaign> & fake banks", "body": "Do not enter card numbers on login-bank-verify.example.cn."});
    let (st, _) = s.post("miit", "/api/v1/publications", pubreq).await;
    assert_eq!(st, StatusCode::CREATED);
    let list: Value = s
        .http
        .get(format!("{}/api/v1/publications", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count(&list), 1);
    assert_eq!(list["items"][0]["tlp"], "clear");
    let r = s
        .http
        .get(format!("{}/api/v1/publications.atom", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let xml = r.text().await.unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(
        xml.contains("<title>Phishing &lt;campaign&gt; &amp; fake banks</title>"),
        "{xml}"
    );
    assert!(xml.contains("<author><name>miit</name></author>"));
}

async fn party_government_victims_bring_art_8_3_notifications(s: Server) {
    let mut r = report("city-portal.example.cn");
    r["category"] = json!("incident");
    r["subtype"] = json!("defacement");
    r["victim"] = json!({"name": "某市人民政府门户网站", "kind": "party_government"});
    let (st, created) = s.post("secco", "/api/v1/reports", r).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    s.post(
        "cncert",
        &format!("{case}/determination"),
        json!({"verdict": "confirmed", "severity": "medium", "rationale": "Defaced"}),
    )
    .await;
    let mut decision = json!({
        "outcome": "approved", "reasons": "Restore and patch",
        "measures": [{"kind": "remediate", "recipient_org": "cloud-alpha"}]
    });
    let (st, p) = s
        .post("gd", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
    assert!(p["detail"].as_str().unwrap().contains("Art. 8(3)"), "{p}");
    decision["notify"] = json!(["supervisor-alpha", "cac"]);
    let (st, out) = s.post("gd", &format!("{case}/decision"), decision).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let notes = out["notifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    let to_cac = notes.iter().find(|n| n["org"] == "cac").unwrap();
    let (st, n) = s
        .get(
            "cac",
            &format!("/api/v1/notices/{}", to_cac["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{n}");
    assert_eq!(n["body"]["type"], "notification");
    assert_eq!(n["body"]["recipient"]["slug"], "cac");
    assert!(
        n["body"]["reasons"]
            .as_str()
            .unwrap()
            .contains("cloud-alpha must remediate")
    );
    let keys: warden_core::notice::KeySet = s
        .http
        .get(format!("{}/api/v1/keys", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signed: warden_core::notice::SignedNotice = serde_json::from_value(n).unwrap();
    assert_eq!(warden_core::notice::verify(&signed, &keys), Ok(()));
    // A victim whose superior unit the report names: the decision need not name anyone.
    let mut r = report("county-portal.example.cn");
    r["category"] = json!("incident");
    r["subtype"] = json!("defacement");
    r["victim"] = json!({"name": "某县人民政府门户网站", "kind": "party_government", "supervising_org": "nobody"});
    let (st, p) = s.post("secco", "/api/v1/reports", r.clone()).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-organisation")
    );
    r["victim"]["supervising_org"] = json!("supervisor-alpha");
    let (st, created) = s.post("secco", "/api/v1/reports", r).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let case2 = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    s.post(
        "cncert",
        &format!("{case2}/determination"),
        json!({"verdict": "confirmed", "severity": "medium", "rationale": "Defaced"}),
    )
    .await;
    let (st, out2) = s
        .post(
            "gd",
            &format!("{case2}/decision"),
            json!({"outcome": "approved", "reasons": "Restore and patch",
                   "measures": [{"kind": "remediate", "recipient_org": "cloud-alpha"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{out2}");
    let mut to: Vec<&str> = out2["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["org"].as_str().unwrap())
        .collect();
    to.sort();
    assert_eq!(to, ["cac", "supervisor-alpha"]);
    // The supervising unit cannot read the CAC's copy, nor the order itself.
    let (st, _) = s
        .get(
            "supervisor",
            &format!("/api/v1/notices/{}", to_cac["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .get(
            "supervisor",
            &format!(
                "/api/v1/notices/{}",
                out["measures"][0]["notice_id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// A row of the audit trail edited in the database is found over the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_audit_row_is_detected_over_http() {
    let s = on_sqlite().await;
    decided_block(&s, "tamper.example.cn").await;
    warden_service::jobs::run_due(&s.state.svc, "t")
        .await
        .unwrap();
    let (st, v) = s.get("miit-auditor", "/api/v1/audit/verify").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["intact"].as_bool(), v["checkpoints"].as_i64()),
        (Some(true), Some(1))
    );
    let (st, _) = s.get("secco-auditor", "/api/v1/audit/verify").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let db = s._dir.as_ref().unwrap().path().join("w.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM audit_log WHERE event = 'case.decided'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET data = '{\"reasons\":\"nothing to see\"}' WHERE seq = ?1")
        .bind(seq)
        .execute(&pool)
        .await
        .unwrap();
    let (_, v) = s.get("miit-auditor", "/api/v1/audit/verify").await;
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_broken"], seq);
    assert!(v["problem"].as_str().unwrap().contains("altered"), "{v}");
}

/// Decides one block measure with `measure` (kind, target, …) for china-telecom; returns the
/// decision's status and body.
async fn decide_measure(s: &Server, domain: &str, measure: Value) -> (StatusCode, Value) {
    let (_, created) = s.post("secco", "/api/v1/reports", report(domain)).await;
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let det = json!({"verdict": "confirmed", "severity": "high", "rationale": "Confirmed"});
    let (st, _) = s
        .post("cncert", &format!("{case}/determination"), det)
        .await;
    assert_eq!(st, StatusCode::OK);
    let decision = json!({"outcome": "approved", "reasons": "Block it", "measures": [measure]});
    s.post("gd", &format!("{case}/decision"), decision).await
}

async fn export(s: &Server, who: &str, path: &str) -> (StatusCode, String, Option<i64>) {
    let r = s
        .http
        .get(format!("{}{path}", s.base))
        .bearer_auth(&s.tokens[who])
        .send()
        .await
        .unwrap();
    let st = r.status();
    let serial = r
        .headers()
        .get("x-warden-serial")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (st, r.text().await.unwrap(), serial)
}

async fn blocklists_answer_lookups_and_export(s: Server) {
    let m = decided_block(&s, "listed.example.cn").await;
    let mid = m["id"].as_str().unwrap().to_owned();
    let (st, out) = decide_measure(
        &s,
        "ipblock.example.cn",
        json!({"kind": "block", "target": {"type": "cidr", "value": "45.77.12.0/24"}, "recipient_org": "china-telecom"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let (st, out) = decide_measure(
        &s,
        "exact.example.cn",
        json!({"kind": "block", "target": {"type": "domain", "value": "exact.example.cn"}, "scope": "exact", "recipient_org": "china-mobile"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");

    // Listed at once: the decision's answer came after the matcher saw it.
    let (st, r) = s
        .get("netco", "/api/v1/lookup?value=WWW.Listed.Example.CN.")
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["type"], "domain");
    assert_eq!(r["normalized"], "www.listed.example.cn");
    assert_eq!(r["listed"], true);
    assert_eq!(r["matches"][0]["measure_id"], mid.as_str());
    assert_eq!(r["matches"][0]["indicator"]["value"], "listed.example.cn");
    assert_eq!(r["matches"][0]["scope"], "subdomains");
    assert!(
        r["matches"][0]["reference"]
            .as_str()
            .unwrap()
            .starts_with("WD-")
    );
    let (_, r) = s.get("netco", "/api/v1/lookup?value=45.77.12.200").await;
    assert_eq!(r["matches"][0]["indicator"]["value"], "45.77.12.0/24");
    let (_, r) = s
        .get("netco", "/api/v1/lookup?value=www.exact.example.cn")
        .await;
    assert_eq!(
        r["listed"], false,
        "an exact block does not reach subdomains"
    );
    let (_, r) = s
        .get(
            "netco",
            "/api/v1/lookup?value=http://a.listed.example.cn/x?y=1",
        )
        .await;
    assert_eq!(r["listed"], true, "a URL on a listed domain");
    let (st, p) = s
        .get("netco", "/api/v1/lookup?value=no%20such%20thing")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(kind(&p), "invalid-indicator");
    let (st, p) = s
        .get("netco", "/api/v1/lookup?value=1.2.3.4&type=ipv9")
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-indicator")
    );

    // Batches: one answer per value, in order; bad values answer alone.
    let (st, b) = s
        .post(
            "netco",
            "/api/v1/lookup",
            json!({"values": ["45.77.12.1", {"type": "domain", "value": "x.listed.example.cn"}, "??", "45.77.13.1"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let res = b["results"].as_array().unwrap();
    assert_eq!(res.len(), 4);
    assert_eq!(
        res.iter()
            .map(|r| r["listed"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, true, false, false]
    );
    assert_eq!(res[2]["error"]["type"], "invalid-indicator");
    assert!(res[3]["error"].is_null());
    let many: Vec<String> = (0..10_001).map(|i| format!("h{i}.example.cn")).collect();
    let (st, p) = s
        .post("netco", "/api/v1/lookup", json!({"values": many}))
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::PAYLOAD_TOO_LARGE, "batch-too-large")
    );

    // Exports: the recipient's own list by default.
    let (st, zone, serial) = export(&s, "telecom", "/api/v1/blocklists/rpz").await;
    assert_eq!(st, StatusCode::OK, "{zone}");
    let serial = serial.unwrap();
    assert_eq!(serial, 3);
    assert!(zone.contains("$ORIGIN rpz.warden."), "{zone}");
    assert!(
        zone.contains(" IN SOA localhost. hostmaster.localhost. 3 "),
        "{zone}"
    );
    assert!(zone.contains("\nlisted.example.cn CNAME .\n"), "{zone}");
    assert!(zone.contains("\n*.listed.example.cn CNAME .\n"), "{zone}");
    assert!(zone.contains("\n24.0.12.77.45.rpz-ip CNAME .\n"), "{zone}");
    assert!(
        !zone.contains("exact.example.cn"),
        "china-mobile's block is not telecom's"
    );
    let (_, all, _) = export(&s, "gd", "/api/v1/blocklists/plain").await;
    let mut lines: Vec<&str> = all.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["45.77.12.0/24", "exact.example.cn", "listed.example.cn"]
    );
    let (_, csv, _) = export(&s, "gd", "/api/v1/blocklists/csv?type=cidr").await;
    assert!(csv.starts_with("value,type,scope,measure,reference,recipient,since,expires\n"));
    assert_eq!(csv.lines().count(), 2, "{csv}");
    let (_, nft, _) = export(&s, "telecom", "/api/v1/blocklists/nftables").await;
    assert!(nft.contains("elements = { 45.77.12.0/24 }"), "{nft}");
    let (_, rules, _) = export(&s, "telecom", "/api/v1/blocklists/suricata").await;
    assert!(
        rules.contains("dns.query; content:\".listed.example.cn\"; nocase; endswith;"),
        "{rules}"
    );
    let (st, p, _) = export(&s, "telecom", "/api/v1/blocklists/bind").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(p.contains("unknown-format"), "{p}");
    let (st, _, _) = export(
        &s,
        "telecom",
        "/api/v1/blocklists/rpz?recipient=china-mobile",
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = export(&s, "telecom", "/api/v1/blocklists/rpz?since=99").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Revoked on appeal: gone from lookups and the next delta at once.
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{mid}/appeals"),
            json!({"appellant": {"name": "Holder", "contact": "h@example.cn"}, "grounds": "Cleaned"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let aid = a["id"].as_str().unwrap();
    let (st, out) = s
        .post(
            "gd",
            &format!("/api/v1/appeals/{aid}/decision"),
            json!({"outcome": "revoked", "reasons": "Cleaned up"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let (_, r) = s
        .get("netco", "/api/v1/lookup?value=listed.example.cn")
        .await;
    assert_eq!(r["listed"], false);
    let (st, delta, now) = export(
        &s,
        "telecom",
        &format!("/api/v1/blocklists/rpz?since={serial}"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(now, Some(4));
    // Old SOA, the deleted records, new SOA, nothing added.
    let body: Vec<&str> = delta
        .lines()
        .filter(|l| !l.starts_with(';') && !l.starts_with('$'))
        .collect();
    assert_eq!(body.len(), 4, "{delta}");
    assert!(body[0].contains(" 3 3600 "), "{delta}");
    assert_eq!(body[1], "listed.example.cn CNAME .");
    assert_eq!(body[2], "*.listed.example.cn CNAME .");
    assert!(body[3].contains(" 4 3600 "), "{delta}");
    let (_, plain, _) = export(
        &s,
        "telecom",
        &format!("/api/v1/blocklists/plain?since={serial}"),
    )
    .await;
    assert_eq!(plain, "-listed.example.cn\n");
    let (_, none, _) = export(&s, "telecom", "/api/v1/blocklists/plain?since=4").await;
    assert_eq!(none, "");

    // Expired blocks leave lookups and exports; the re-review came first.
    if let Some(clock) = &s.clock {
        // Guangdong's policy keeps address blocks 90 days, re-reviewed 14 days before.
        clock.set(NOW + time::Duration::days(80));
        let jobs = warden_service::jobs::run_due(&s.state.svc, "t")
            .await
            .unwrap();
        assert_eq!(jobs.reviews, 1, "the network's block is up for review");
        assert_eq!(jobs.expired, 0);
        clock.set(NOW + time::Duration::days(91));
        let jobs = warden_service::jobs::run_due(&s.state.svc, "t")
            .await
            .unwrap();
        assert_eq!(jobs.expired, 1);
        let (_, r) = s.get("netco", "/api/v1/lookup?value=45.77.12.200").await;
        assert_eq!(r["listed"], false);
        let (_, plain, _) = export(&s, "telecom", "/api/v1/blocklists/plain?since=4").await;
        assert_eq!(plain, "-45.77.12.0/24\n");
    }
}

async fn allowlists_guard_blocks(s: Server) {
    // Reports on guarded values are flagged at once, and so is their case.
    let mut r = report("flagged.example.cn");
    r["indicators"] = json!([{"type": "ipv4", "value": "10.1.2.3"}, {"type": "domain", "value": "flagged.example.cn"}]);
    let (st, created) = s.post("secco", "/api/v1/reports", r).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["allowlist_flags"][0]["indicator"]["value"],
        "10.1.2.3"
    );
    assert_eq!(
        created["allowlist_flags"][0]["hits"][0]["list"],
        "iana-special-ipv4"
    );
    assert_eq!(created["allowlist_flags"].as_array().unwrap().len(), 1);
    let (_, case) = s
        .get(
            "cncert",
            &format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(case["allowlist_flags"][0]["indicator"]["value"], "10.1.2.3");

    let block_dns = json!({"kind": "block", "target": {"type": "ipv4", "value": "8.8.8.8"}, "recipient_org": "china-telecom"});
    let (st, p) = decide_measure(&s, "guard.example.cn", block_dns.clone()).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "allowlisted-target")
    );
    assert!(p["detail"].as_str().unwrap().contains("public-dns"), "{p}");
    let mut with_reason = block_dns.clone();
    with_reason["allowlist_override"] = json!("Hijacked resolver answering for the botnet");
    let (st, out) = decide_measure(&s, "guard2.example.cn", with_reason).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let mid: uuid::Uuid = out["measures"][0]["id"].as_str().unwrap().parse().unwrap();
    let m = s.store.measure(mid).await.unwrap().unwrap().value;
    let o = m.allowlist_override.unwrap();
    assert_eq!(o.reason, "Hijacked resolver answering for the botnet");
    assert_eq!(o.hits[0].list, "public-dns");
    // The audit trail keeps the override with the decision.
    let trail = s.store.audit(0, 10_000).await.unwrap();
    let issued = trail
        .iter()
        .find(|e| e.event == "measure.issued" && e.subject_id == mid.to_string())
        .unwrap();
    assert_eq!(
        issued.data["allowlist_override"]["reason"],
        "Hijacked resolver answering for the botnet"
    );
    // A subdomain block on a public suffix is refused outright.
    let (st, p) = decide_measure(
        &s,
        "guard3.example.cn",
        json!({"kind": "block", "target": {"type": "domain", "value": "com.cn"}, "recipient_org": "china-telecom", "allowlist_override": "x"}),
    )
    .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command"),
        "{p}"
    );
    // Organisations add their own guards; administrators only.
    let (st, _) = s
        .post(
            "gd",
            "/api/v1/allowlist",
            json!({"value": "bank.example.cn", "reason": "Bank portal"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, e) = s
        .post(
            "miit-admin",
            "/api/v1/allowlist",
            json!({"value": "Bank.Example.CN", "reason": "Bank portal"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    assert_eq!(e["value"], "bank.example.cn");
    let (st, p) = s
        .post(
            "miit-admin",
            "/api/v1/allowlist",
            json!({"value": "not valid!", "reason": "r"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (st, p) = decide_measure(
        &s,
        "guard4.example.cn",
        json!({"kind": "block", "target": {"type": "url", "value": "http://www.bank.example.cn/login"}, "recipient_org": "china-telecom"}),
    )
    .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "allowlisted-target"),
        "{p}"
    );
    let (_, list) = s.get("netco", "/api/v1/allowlist").await;
    let items = list["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["list"] == "iana-special-ipv4" && i["value"] == "10.0.0.0/8")
    );
    assert!(
        items
            .iter()
            .any(|i| i["list"] == "operator" && i["org"] == "miit")
    );
    let id = e["id"].as_str().unwrap();
    let (st, _) = s
        .call(
            Some("telecom"),
            reqwest::Method::DELETE,
            &format!("/api/v1/allowlist/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .call(
            Some("miit-admin"),
            reqwest::Method::DELETE,
            &format!("/api/v1/allowlist/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, out) = decide_measure(
        &s,
        "guard5.example.cn",
        json!({"kind": "block", "target": {"type": "url", "value": "http://www.bank.example.cn/login"}, "recipient_org": "china-telecom"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
}

/// Another server on the same database (scale-out): it learns of listings made elsewhere
/// from the change sequence, without a restart.
async fn a_second_server_follows_the_blocklist(s: Server) {
    let keydir = tempfile::tempdir().unwrap();
    let ring = keys::KeyRing::new(
        keys::MasterKey::load_or_create(&keydir.path().join("master.key")).unwrap(),
    );
    let other = app(
        s.store.clone(),
        Arc::new(FixedClock::new(NOW)),
        warden_core::policy::Policy::builtin().unwrap(),
        ring,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(warden_server::serve(listener, other, async move {
        let _ = rx.await;
    }));
    let ask = |value: &'static str| {
        let (http, base, token) = (s.http.clone(), base.clone(), s.tokens["netco"].clone());
        async move {
            for _ in 0..200 {
                if let Ok(r) = http
                    .get(format!("{base}/api/v1/lookup?value={value}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    && r.status() == 200
                {
                    return r.json::<Value>().await.unwrap();
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("the second server never answered");
        }
    };
    assert_eq!(ask("www.follow.example.cn").await["listed"], false);
    let m = decided_block(&s, "follow.example.cn").await;
    // Listed on the second server within two seconds (it polls every 100 ms).
    let mut listed = false;
    for _ in 0..100 {
        if ask("www.follow.example.cn").await["listed"] == true {
            listed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(listed, "the second server did not follow the listing");
    // Revoked through the first server: gone from the second too.
    let mid = m["id"].as_str().unwrap();
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{mid}/appeals"),
            json!({"appellant": {"name": "Holder", "contact": "h@example.cn"}, "grounds": "Cleaned"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let (st, _) = s
        .post(
            "gd",
            &format!("/api/v1/appeals/{}/decision", a["id"].as_str().unwrap()),
            json!({"outcome": "revoked", "reasons": "Cleaned up"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut gone = false;
    for _ in 0..100 {
        if ask("www.follow.example.cn").await["listed"] == false {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the second server kept a revoked block");
}

async fn the_registry_attributes_and_routes(s: Server) {
    let declare = |who: &'static str, body: Value| {
        let s = &s;
        async move { s.post(who, "/api/v1/resources", body).await }
    };
    let (st, prefix) = declare(
        "telecom-admin",
        json!({"kind": "prefix", "value": "61.140.0.0/14", "asn": 4134, "province": "44"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{prefix}");
    assert_eq!(prefix["status"], "pending");
    let pid = prefix["id"].as_str().unwrap().to_owned();
    // Not yet approved: not yet an answer.
    let (_, a) = s.get("netco", "/api/v1/attribution?value=61.141.2.3").await;
    assert!(a["holder"].is_null(), "{a}");
    let (st, p) = declare("telecom", json!({"kind": "prefix", "value": "61.0.0.0/8"})).await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, p) = declare(
        "miit-admin",
        json!({"kind": "prefix", "value": "61.0.0.0/8"}),
    )
    .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation")
    );
    let (st, p) = declare(
        "telecom-admin",
        json!({"kind": "prefix", "value": "61.140.0.1/14"}),
    )
    .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
    assert!(p["detail"].as_str().unwrap().contains("host bits"), "{p}");
    let decide = |claim: String, who: &'static str, outcome: &'static str| {
        let s = &s;
        async move {
            s.post(
                who,
                &format!("/api/v1/resources/{claim}/decision"),
                json!({"outcome": outcome, "reasons": "checked against the RIR records"}),
            )
            .await
        }
    };
    let (st, _) = decide(pid.clone(), "telecom-admin", "approved").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, out) = decide(pid.clone(), "gd", "approved").await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let (st, p) = decide(pid.clone(), "gd", "approved").await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    let (_, a) = s.get("netco", "/api/v1/attribution?value=61.141.2.3").await;
    assert_eq!(a["holder"]["org"], "china-telecom", "{a}");
    assert_eq!(a["holder"]["evidence"]["claim_id"], pid.as_str());
    assert_eq!(a["holder"]["evidence"]["resource"], "61.140.0.0/14");
    assert_eq!(a["asn"], 4134);
    assert_eq!(
        a["province"], "44",
        "where the prefix is used, not the holder's seat (11)"
    );
    // A report that names no province goes to the province of the resources it names.
    let mut r = report("inferred.example.cn");
    r.as_object_mut().unwrap().remove("province");
    r["indicators"] = json!([{"type": "ipv4", "value": "61.141.7.7"}]);
    let (st, created) = s.post("secco", "/api/v1/reports", r).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let (_, case) = s
        .get(
            "gd",
            &format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(case["province"], "44", "{case}");
    // Guangdong refers it to Beijing; Beijing takes it, Guangdong no longer can.
    let case_path = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let (st, out) = s
        .post(
            "gd",
            &format!("{case_path}/referral"),
            json!({"to": "11", "reasons": "Used in Beijing"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let (st, _) = s
        .post(
            "gd",
            &format!("{case_path}/referral"),
            json!({"reasons": "Up"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, out) = s
        .post(
            "bj",
            &format!("{case_path}/referral"),
            json!({"reasons": "Spans provinces"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let (_, case) = s.get("miit", &case_path).await;
    assert!(case["province"].is_null(), "{case}");
    // Someone else's overlapping claim is flagged.
    let (st, other) = declare(
        "cnnic-admin",
        json!({"kind": "prefix", "value": "61.141.0.0/16"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{other}");
    assert_eq!(other["overlaps"][0], pid.as_str());

    for (who, body) in [
        (
            "registrar-admin",
            json!({"kind": "sponsored_domain", "value": "routed.example.cn"}),
        ),
        ("cnnic-admin", json!({"kind": "tld", "value": "cn"})),
    ] {
        let (st, c) = declare(who, body).await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        let (st, _) = decide(c["id"].as_str().unwrap().to_owned(), "miit", "approved").await;
        assert_eq!(st, StatusCode::OK);
    }
    let (_, a) = s
        .get("netco", "/api/v1/attribution?value=www.routed.example.cn")
        .await;
    assert_eq!(a["registrar"]["org"], "registrar-alpha", "{a}");
    assert_eq!(a["registry"]["org"], "cnnic");
    let (_, a) = s
        .get("netco", "/api/v1/attribution?value=%2B8613312345678")
        .await;
    assert_eq!(a["carrier"]["org"], "china-telecom", "{a}");
    assert!(
        a["carrier"]["evidence"]["source"]
            .as_str()
            .unwrap()
            .contains("MIIT")
    );
    let (st, b) = s
        .post("netco", "/api/v1/attribution", json!({"values": ["61.140.9.9", "??", {"type": "broadband_account", "value": "china-unicom:gd1"}]}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0]["holder"]["org"], "china-telecom");
    assert_eq!(b["results"][1]["error"]["type"], "invalid-indicator");
    assert_eq!(b["results"][2]["operator"]["org"], "china-unicom");

    // Measures without a recipient go where the registry says.
    for (i, (target, to)) in [
        (
            json!({"type": "domain", "value": "routed.example.cn"}),
            "registrar-alpha",
        ),
        (
            json!({"type": "domain", "value": "unsponsored.example.cn"}),
            "cnnic",
        ),
        (
            json!({"type": "ipv4", "value": "61.141.2.3"}),
            "china-telecom",
        ),
        (
            json!({"type": "phone", "value": "+8613412345678"}),
            "china-mobile",
        ),
        (
            json!({"type": "broadband_account", "value": "china-unicom:gd1"}),
            "china-unicom",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (st, out) = decide_measure(
            &s,
            &format!("routing-{i}.example.cn"),
            json!({"kind": "block", "target": target}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{out}");
        assert_eq!(out["measures"][0]["recipient_org"], to, "{target}");
    }
    for (i, (target, says)) in [
        (
            json!({"type": "url", "value": "http://x.example.cn/a"}),
            "filters URLs in province 44",
        ),
        (
            json!({"type": "ipv4", "value": "45.77.1.1"}),
            "no approved prefix claim covers 45.77.1.1",
        ),
        (
            json!({"type": "domain", "value": "x.example.org"}),
            "no registrar of record or registry",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (st, p) = decide_measure(
            &s,
            &format!("unroutable-{i}.example.cn"),
            json!({"kind": "block", "target": target}),
        )
        .await;
        assert_eq!(
            (st, kind(&p)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unroutable"),
            "{p}"
        );
        assert!(p["detail"].as_str().unwrap().contains(says), "{p}");
    }
    // Operators declare where they filter URLs; a URL block goes to each of them.
    for who in ["telecom-admin", "mobile-admin"] {
        let (st, c) = declare(who, json!({"kind": "url_filtering", "value": "44"})).await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        assert!(c["overlaps"].as_array().unwrap().is_empty(), "{c}");
        let (st, _) = decide(c["id"].as_str().unwrap().to_owned(), "gd", "approved").await;
        assert_eq!(st, StatusCode::OK);
    }
    let (st, out) = decide_measure(
        &s,
        "url-routed.example.cn",
        json!({"kind": "block", "target": {"type": "url", "value": "http://url-routed.example.cn/pay"}}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let to: Vec<&str> = out["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["recipient_org"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["china-mobile", "china-telecom"]);
}

/// A block on `target` (an allow-listed loopback address, so with a reason), acknowledged and
/// reported back by the recipient: ready to verify. Returns the notice id.
async fn awaiting_verification(s: &Server, domain: &str, target: Value) -> String {
    let (st, out) = decide_measure(
        s,
        domain,
        json!({"kind": "block", "target": target, "recipient_org": "china-telecom",
               "allowlist_override": "Test server on loopback"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let nid = out["measures"][0]["notice_id"].as_str().unwrap().to_owned();
    let (st, _) = s
        .post("telecom", &format!("/api/v1/notices/{nid}/ack"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .post(
            "telecom",
            &format!("/api/v1/notices/{nid}/feedback"),
            json!({"outcome": "done", "actions_taken": "Blocked"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    nid
}

async fn probes_check_http_and_tcp_and_refuse_special_addresses(s: Server) {
    // The built-in policy keeps probes off loopback: refused, nothing recorded.
    let nid = awaiting_verification(
        &s,
        "probe-refused.example.cn",
        json!({"type": "ipv4", "value": "127.0.0.9"}),
    )
    .await;
    let (st, p) = s
        .post(
            "cncert-verifier",
            &format!("/api/v1/notices/{nid}/probes"),
            json!({"method": "tcp", "port": 9}),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command"),
        "{p}"
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("special-purpose network 127.0.0.0/8"),
        "{p}"
    );

    // A server whose policy lets probes reach loopback, on the same database.
    let text = include_str!("../../../data/policy/national.toml")
        .replace("allow_networks = []", "allow_networks = [\"127.0.0.0/8\"]");
    let pol = warden_core::policy::Policy::load(&[
        ("national.toml", text.as_str()),
        ("44.toml", include_str!("../../../data/policy/44.toml")),
    ])
    .unwrap();
    let keydir = tempfile::tempdir().unwrap();
    let ring = keys::KeyRing::new(
        keys::MasterKey::load_or_create(&keydir.path().join("master.key")).unwrap(),
    );
    let other_clock = Arc::new(FixedClock::new(NOW));
    let other = app(s.store.clone(), other_clock.clone(), pol, ring);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(warden_server::serve(listener, other.clone(), async move {
        let _ = rx.await;
    }));
    let probe = |nid: String, body: Value| {
        let (http, base, token) = (
            s.http.clone(),
            base.clone(),
            s.tokens["cncert-verifier"].clone(),
        );
        async move {
            for _ in 0..200 {
                if let Ok(r) = http
                    .post(format!("{base}/api/v1/notices/{nid}/probes"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    let st = r.status();
                    return (st, r.json::<Value>().await.unwrap());
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("the second server never answered");
        }
    };

    // TCP: a listening service fails the check; once it is gone, the check passes.
    let svc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = svc.local_addr().unwrap().port();
    let nid = awaiting_verification(
        &s,
        "probe-tcp.example.cn",
        json!({"type": "ipv4", "value": "127.0.0.1"}),
    )
    .await;
    let (st, r) = probe(nid.clone(), json!({"method": "tcp", "port": port})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["result"], "failed", "{r}");
    assert_eq!(r["notice"]["status"], "reopened");
    drop(svc);
    let (st, _) = s
        .post(
            "telecom",
            &format!("/api/v1/notices/{nid}/feedback"),
            json!({"outcome": "done", "actions_taken": "Null-routed"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, r) = probe(nid, json!({"method": "tcp", "port": port})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["result"], "passed", "{r}");
    assert!(
        r["evidence"].as_str().unwrap().contains("no connection"),
        "{r}"
    );

    // HTTP: the page still served fails; the operator's block page passes.
    let web = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let wport = web.local_addr().unwrap().port();
    let pages = Arc::new(std::sync::Mutex::new(vec![
        "HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\nEnter your bank card..",
        "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n该网站已依法拦截 (blocked)",
    ]));
    let served = pages.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut c, _)) = web.accept().await else {
                return;
            };
            let page = served.lock().unwrap().remove(0);
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf).await;
            let _ = c.write_all(page.as_bytes()).await;
        }
    });
    let url = format!("http://127.0.0.1:{wport}/phish");
    let nid = awaiting_verification(
        &s,
        "probe-http.example.cn",
        json!({"type": "url", "value": url}),
    )
    .await;
    let (st, r) = probe(nid.clone(), json!({"method": "http", "port": wport})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["result"], "failed", "{r}");
    assert!(
        r["evidence"]
            .as_str()
            .unwrap()
            .contains("Enter your bank card"),
        "{r}"
    );
    let (st, _) = s
        .post(
            "telecom",
            &format!("/api/v1/notices/{nid}/feedback"),
            json!({"outcome": "done", "actions_taken": "Block page"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, r) = probe(nid, json!({"method": "http", "port": wport})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["result"], "passed", "{r}");
    assert!(
        r["evidence"].as_str().unwrap().contains("block page"),
        "{r}"
    );
    assert!(pages.lock().unwrap().is_empty());
}

/// Attribution and routing over the demo world's registry, table by table: nested prefixes
/// (the more specific holder wins), missing data, and reports across provinces.
async fn the_demo_registry_answers_and_routes(s: Server) {
    warden_service::demo::populate(&s.state.svc, false)
        .await
        .unwrap();
    // (value, holder, province, registrar, registry, carrier)
    type Row<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let table: &[Row] = &[
        (
            "61.141.2.3",
            Some("china-telecom"),
            Some("44"),
            None,
            None,
            None,
        ),
        (
            "61.140.200.9",
            Some("cloud-alpha"),
            Some("44"),
            None,
            None,
            None,
        ),
        (
            "61.140.0.0/16",
            Some("china-telecom"),
            Some("44"),
            None,
            None,
            None,
        ),
        (
            "120.196.1.1",
            Some("china-mobile"),
            Some("44"),
            None,
            None,
            None,
        ),
        (
            "123.113.5.5",
            Some("china-unicom"),
            Some("11"),
            None,
            None,
            None,
        ),
        ("8.8.8.8", None, None, None, None, None),
        (
            "www.example.cn",
            None,
            None,
            Some("registrar-alpha"),
            Some("cnnic"),
            None,
        ),
        ("shop.example.com.cn", None, None, None, Some("cnnic"), None),
        ("x.example.org", None, None, None, None, None),
        (
            "+8613412345678",
            Some("china-mobile"),
            None,
            None,
            None,
            Some("china-mobile"),
        ),
        (
            "+8617312345678",
            Some("china-telecom"),
            None,
            None,
            None,
            Some("china-telecom"),
        ),
        ("+442079460000", None, None, None, None, None),
    ];
    let values: Vec<&str> = table.iter().map(|r| r.0).collect();
    let (st, b) = s
        .post("netco", "/api/v1/attribution", json!({"values": values}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    for (r, (value, holder, province, registrar, registry, carrier)) in
        b["results"].as_array().unwrap().iter().zip(table)
    {
        let org = |k: &str| r[k]["org"].as_str();
        assert_eq!(org("holder"), *holder, "holder of {value}: {r}");
        assert_eq!(
            r["province"].as_str(),
            *province,
            "province of {value}: {r}"
        );
        assert_eq!(org("registrar"), *registrar, "registrar of {value}: {r}");
        assert_eq!(org("registry"), *registry, "registry of {value}: {r}");
        assert_eq!(org("carrier"), *carrier, "carrier of {value}: {r}");
    }
    // Reports without a province: one province's resources go there; mixed ones to MIIT.
    for (indicators, province) in [
        (
            json!([{"type": "ipv4", "value": "61.141.2.3"}, {"type": "ipv4", "value": "120.196.1.1"}]),
            json!("44"),
        ),
        (
            json!([{"type": "ipv4", "value": "123.113.5.5"}]),
            json!("11"),
        ),
        // (Distinct values: a shared one would join the earlier case as a sighting.)
        (
            json!([{"type": "ipv4", "value": "61.141.9.9"}, {"type": "ipv4", "value": "123.113.9.9"}]),
            Value::Null,
        ),
        (
            json!([{"type": "ipv4", "value": "61.142.1.1"}, {"type": "ipv4", "value": "8.8.4.4"}]),
            Value::Null,
        ),
    ] {
        let mut r = report("across.example.cn");
        r.as_object_mut().unwrap().remove("province");
        r["indicators"] = indicators.clone();
        let (st, created) = s.post("secco", "/api/v1/reports", r).await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        let (_, case) = s
            .get(
                "miit",
                &format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap()),
            )
            .await;
        assert_eq!(case["province"], province, "{indicators}");
    }
    // Routing over the same registry.
    for (i, (target, to)) in [
        (
            json!({"type": "ipv4", "value": "61.140.200.9"}),
            vec!["cloud-alpha"],
        ),
        (
            json!({"type": "domain", "value": "pay.example.cn"}),
            vec!["registrar-alpha"],
        ),
        (
            json!({"type": "url", "value": "http://pay.example.cn/x"}),
            vec!["china-mobile", "china-telecom"],
        ),
        (
            json!({"type": "phone", "value": "+8613412345678"}),
            vec!["china-mobile"],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (st, out) = decide_measure(
            &s,
            &format!("demo-routing-{i}.example.cn"),
            json!({"kind": "block", "target": target}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{out}");
        let got: Vec<&str> = out["measures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["recipient_org"].as_str().unwrap())
            .collect();
        assert_eq!(got, to, "{target}");
    }
}

const TAXII: &str = "application/taxii+json;version=2.1";

/// A TAXII request: status, headers and JSON body.
async fn taxii(
    s: &Server,
    who: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut rb = s
        .http
        .request(method, format!("{}{path}", s.base))
        .header("accept", TAXII);
    if let Some(w) = who {
        rb = rb.bearer_auth(&s.tokens[w]);
    }
    if let Some(b) = body {
        rb = rb.header("content-type", TAXII).body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    let st = r.status();
    let h = r.headers().clone();
    if st != StatusCode::NO_CONTENT {
        assert_eq!(h["content-type"], TAXII, "{path}");
    }
    let v = r.json().await.unwrap_or(Value::Null);
    (st, h, v)
}

/// Every page of a collection's objects from `query`, following `next`.
async fn taxii_all(s: &Server, who: &str, coll: &str, query: &str) -> (Vec<Value>, usize) {
    let mut out = vec![];
    let mut pages = 0;
    let mut next: Option<String> = None;
    loop {
        let sep = if query.is_empty() { "" } else { "&" };
        let q = match &next {
            Some(n) => format!("?{query}{sep}next={n}"),
            None => format!("?{query}"),
        };
        let (st, h, env) = taxii(
            s,
            Some(who),
            reqwest::Method::GET,
            &format!("/taxii2/members/collections/{coll}/objects/{q}"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{env}");
        pages += 1;
        let objs = env["objects"].as_array().cloned().unwrap_or_default();
        if !objs.is_empty() {
            assert!(h.contains_key("x-taxii-date-added-first"));
            assert!(h.contains_key("x-taxii-date-added-last"));
        }
        out.extend(objs);
        if env["more"] == true {
            next = Some(env["next"].as_str().unwrap().to_owned());
        } else {
            assert!(env.get("next").is_none());
            return (out, pages);
        }
    }
}

fn ext(o: &Value, key: &str) -> String {
    o["extensions"]
        .as_object()
        .and_then(|e| e.values().next())
        .and_then(|v| v[key].as_str())
        .unwrap_or("")
        .to_owned()
}

async fn taxii_serves_blocks_and_takes_in_stix(s: Server) {
    use reqwest::Method as M;
    // Content negotiation: the TAXII 2.1 media type only.
    let r = s
        .http
        .get(format!("{}/taxii2/", s.base))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    assert_eq!(r.headers()["content-type"], TAXII);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error_code"], "not-acceptable");
    assert_eq!(e["http_status"], "406");
    let (st, _, d) = taxii(&s, None, M::GET, "/taxii2/", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["api_roots"].as_array().unwrap().len(), 2);
    assert!(d["default"].as_str().unwrap().ends_with("/taxii2/members/"));
    let (st, h, _) = taxii(&s, None, M::GET, "/taxii2/members/collections/", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(h["www-authenticate"].to_str().unwrap().contains("Basic"));
    let (st, _, e) = taxii(&s, Some("cncert"), M::GET, "/taxii2/nope/", None).await;
    assert_eq!(
        (st, e["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let (st, _, root) = taxii(&s, Some("cncert"), M::GET, "/taxii2/members/", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(root["versions"][0], TAXII);

    // Blocks: three on china-telecom, one on china-mobile.
    let mut ids = vec![];
    for d in ["t1.example.cn", "t2.example.cn", "t3.example.cn"] {
        ids.push(
            decided_block(&s, d).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (st, _) = decide_measure(
        &s,
        "m1.example.cn",
        json!({"kind": "block", "target": {"type": "domain", "value": "m1.example.cn"}, "recipient_org": "china-mobile"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let listed = s.store.listed_blocks(None, 1000).await.unwrap();
    let (all, pages) = taxii_all(&s, "cncert", "blocks", "limit=2").await;
    assert_eq!(all.len(), listed.len());
    assert_eq!(pages, listed.len().div_ceil(2));
    let stix_ids: std::collections::BTreeSet<&str> =
        all.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(stix_ids.len(), all.len(), "each block once");
    assert!(
        all.iter()
            .all(|o| o["type"] == "indicator" && o["spec_version"] == "2.1")
    );
    let t1 = all
        .iter()
        .find(|o| ext(o, "measure_id") == ids[0])
        .unwrap()
        .clone();
    assert_eq!(
        t1["pattern"],
        "[domain-name:value = 't1.example.cn' OR domain-name:value LIKE '%.t1.example.cn']"
    );
    // A recipient sees what it must enforce; a reporter enforces nothing.
    let (mine, _) = taxii_all(&s, "telecom", "blocks", "").await;
    assert!(
        mine.len() >= 3 && mine.len() < all.len(),
        "{} of {}",
        mine.len(),
        all.len()
    );
    assert!(mine.iter().all(|o| ext(o, "recipient") == "china-telecom"));
    assert!(taxii_all(&s, "secco", "blocks", "").await.0.is_empty());

    // Revoked by appeal: the next version is a revoked indicator, added later.
    s.clock.as_ref().unwrap().advance(time::Duration::hours(1));
    let coll = "/taxii2/members/collections/blocks";
    let (_, h, _) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/objects/"),
        None,
    )
    .await;
    let before = h["x-taxii-date-added-last"].to_str().unwrap().to_owned();
    let grounds =
        json!({"appellant": {"name": "Holder", "contact": "h@example.cn"}, "grounds": "Cleaned"});
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{}/appeals", ids[0]),
            grounds,
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let revoke = json!({"outcome": "revoked", "reasons": "Cleaned"});
    let (st, d) = s
        .post(
            "gd",
            &format!("/api/v1/appeals/{}/decision", a["id"].as_str().unwrap()),
            revoke,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let q = format!("added_after={before}");
    let (after, _) = taxii_all(&s, "cncert", "blocks", &q).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["id"], t1["id"]);
    assert_eq!(after[0]["revoked"], true);
    assert!(after[0]["modified"].as_str() > t1["modified"].as_str());
    let id = t1["id"].as_str().unwrap();
    let (st, _, v) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/objects/{id}/versions/"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["versions"].as_array().unwrap().len(), 2);
    assert_eq!(v["versions"][0], t1["modified"]);
    let (_, _, first) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/objects/{id}/?match[version]=first"),
        None,
    )
    .await;
    assert_eq!(first["objects"][0], t1);
    let (_, _, both) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/objects/?match[id]={id}&match[version]=all"),
        None,
    )
    .await;
    assert_eq!(both["objects"].as_array().unwrap().len(), 2);
    let at = &after[0]["modified"].as_str().unwrap();
    let (_, _, one) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/objects/{id}/?match[version]={at}"),
        None,
    )
    .await;
    assert_eq!(one["objects"].as_array().unwrap().len(), 1);
    assert_eq!(one["objects"][0]["revoked"], true);
    // Re-exported unchanged, an object is the same bytes.
    let (_, _, again) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/objects/{id}/?match[version]=first"),
        None,
    )
    .await;
    assert_eq!(again["objects"][0].to_string(), t1.to_string());
    let (st, _, e) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/objects/indicator--00000000-0000-4000-8000-000000000000/"),
        None,
    )
    .await;
    assert_eq!(
        (st, e["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    // Manifest, filters, and what may not be done.
    let (st, _, m) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/manifest/"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let recs = m["objects"].as_array().unwrap();
    assert_eq!(recs.len(), all.len());
    let rec = recs.iter().find(|r| r["id"] == t1["id"]).unwrap();
    assert_eq!(rec["version"], after[0]["modified"]);
    assert_eq!(rec["media_type"], "application/stix+json;version=2.1");
    for q in ["match[type]=malware", "match[spec_version]=2.0"] {
        let (_, _, env) = taxii(
            &s,
            Some("cncert"),
            M::GET,
            &format!("{coll}/objects/?{q}"),
            None,
        )
        .await;
        assert_eq!(env, json!({"more": false}), "{q}");
    }
    let (st, _, e) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("{coll}/objects/?limit=0"),
        None,
    )
    .await;
    assert_eq!(
        (st, e["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-query"))
    );
    let (st, _, _) = taxii(
        &s,
        Some("cncert"),
        M::DELETE,
        &format!("{coll}/objects/{id}/"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = taxii(
        &s,
        Some("cncert"),
        M::POST,
        &format!("{coll}/objects/"),
        Some(json!({"objects": []})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Inbound: one collection per organisation, written, never read.
    let (_, _, cs) = taxii(
        &s,
        Some("secco"),
        M::GET,
        "/taxii2/members/collections/",
        None,
    )
    .await;
    let inbound = cs["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["can_write"] == true)
        .unwrap()
        .clone();
    assert_eq!(inbound["alias"], "inbound-secco-alpha");
    assert_eq!(inbound["can_read"], false);
    let icoll = format!(
        "/taxii2/members/collections/{}",
        inbound["id"].as_str().unwrap()
    );
    let (st, _, _) = taxii(
        &s,
        Some("secco"),
        M::GET,
        &format!("{icoll}/objects/"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = taxii(&s, Some("netco"), M::GET, &format!("{icoll}/"), None).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "another organisation's inbound is not there"
    );
    let envelope = json!({"objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--1f2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created": "2026-09-01T00:00:00.000Z", "modified": "2026-09-01T00:00:00.000Z", "name": "Phishing host",
         "indicator_types": ["malicious-activity"], "valid_from": "2026-09-01T00:00:00Z", "pattern_type": "stix",
         "pattern": "[domain-name:value = 'Phish.Taxii-Example.CN' OR url:value = 'http://phish.taxii-example.cn/login']"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--2f2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created": "2026-09-01T00:00:00.000Z", "modified": "2026-09-01T00:00:00.000Z",
         "valid_from": "2026-09-01T00:00:00Z", "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '198.51.100.9' AND network-traffic:dst_port = 443]"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--3f2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created": "2026-09-01T00:00:00.000Z", "modified": "2026-09-01T00:00:00.000Z",
         "valid_from": "2026-09-01T00:00:00Z", "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '999.1.1.1']"}
    ]});
    let r = s
        .http
        .post(format!("{}{icoll}/objects/", s.base))
        .bearer_auth(&s.tokens["secco"])
        .header("accept", TAXII)
        .header("content-type", "application/json")
        .body(envelope.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (st, _, status) = taxii(
        &s,
        Some("secco"),
        M::POST,
        &format!("{icoll}/objects/"),
        Some(envelope.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{status}");
    assert_eq!(status["status"], "complete");
    assert_eq!(
        (
            status["total_count"].as_u64(),
            status["success_count"].as_u64(),
            status["failure_count"].as_u64(),
            status["pending_count"].as_u64()
        ),
        (Some(3), Some(1), Some(2), Some(0))
    );
    let fails = status["failures"].as_array().unwrap();
    assert!(
        fails[0]["message"].as_str().unwrap().contains("AND"),
        "{status}"
    );
    assert!(
        fails[1]["message"].as_str().unwrap().contains("999.1.1.1"),
        "{status}"
    );
    let msg = status["successes"][0]["message"].as_str().unwrap();
    let report_id = msg.split_whitespace().nth(1).unwrap();
    let (st, rep) = s
        .get("secco", &format!("/api/v1/reports/{report_id}"))
        .await;
    assert_eq!(st, StatusCode::OK, "{rep}");
    let inds = rep.to_string();
    assert!(
        inds.contains("phish.taxii-example.cn"),
        "normalised like any report: {inds}"
    );
    // Sent again: the same report, not a second one.
    let (_, _, again) = taxii(
        &s,
        Some("secco"),
        M::POST,
        &format!("{icoll}/objects/"),
        Some(envelope),
    )
    .await;
    assert_eq!(
        again["successes"][0]["message"],
        status["successes"][0]["message"]
    );
    // The status stays, for its sender only.
    let sid = status["id"].as_str().unwrap();
    let (st, _, kept) = taxii(
        &s,
        Some("secco"),
        M::GET,
        &format!("/taxii2/members/status/{sid}/"),
        None,
    )
    .await;
    assert_eq!((st, &kept), (StatusCode::OK, &status));
    let (st, _, _) = taxii(
        &s,
        Some("netco"),
        M::GET,
        &format!("/taxii2/members/status/{sid}/"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Basic authentication with a token as the password; a wrong one is refused.
    use base64::Engine as _;
    let b64 =
        |u: &str, p: &str| base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
    for (cred, want) in [
        (b64("feed", &s.tokens["cncert"]), 200),
        (b64("feed", "wdn_00000000_0000"), 401),
        (b64("nobody", "secret"), 401),
    ] {
        let r = s
            .http
            .get(format!("{}/taxii2/members/collections/", s.base))
            .header("accept", TAXII)
            .header("authorization", format!("Basic {cred}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want);
    }
    // The public root: definitions and publications, without an account.
    let (st, _, cs) = taxii(&s, None, M::GET, "/taxii2/public/collections/", None).await;
    assert_eq!(st, StatusCode::OK);
    let aliases: Vec<&str> = cs["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["alias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, ["definitions", "publications"]);
    let (_, _, defs) = taxii(
        &s,
        None,
        M::GET,
        "/taxii2/public/collections/definitions/objects/",
        None,
    )
    .await;
    let types: Vec<&str> = defs["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "identity",
            "extension-definition",
            "marking-definition",
            "marking-definition",
            "marking-definition",
            "marking-definition",
            "marking-definition"
        ]
    );
    assert_eq!(
        defs["objects"][1]["id"],
        t1["extensions"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .as_str()
    );

    // The blocks in force as a MISP feed: one event per recipient, scoped like exports.
    let (st, m) = s.get("cncert", "/api/v1/misp/manifest.json").await;
    assert_eq!(st, StatusCode::OK);
    assert!(m.as_object().unwrap().len() >= 2, "{m}");
    let (_, m) = s.get("telecom", "/api/v1/misp/manifest.json").await;
    let events: Vec<&String> = m.as_object().unwrap().keys().collect();
    assert_eq!(events.len(), 1, "{m}");
    assert_eq!(
        m[events[0]]["info"],
        "Warden: blocks in force for china-telecom"
    );
    let (st, ev) = s
        .get("telecom", &format!("/api/v1/misp/{}.json", events[0]))
        .await;
    assert_eq!(st, StatusCode::OK);
    let values: Vec<&str> = ev["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert!(values.contains(&"t2.example.cn"), "{values:?}");
    assert!(!values.contains(&"t1.example.cn"), "revoked: {values:?}");
    assert!(
        !values.contains(&"m1.example.cn"),
        "china-mobile's: {values:?}"
    );
    let (st, _) = s
        .get("mobile", &format!("/api/v1/misp/{}.json", events[0]))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "another recipient's event");
    let (st, _) = s.get("telecom", "/api/v1/misp/hashes.txt").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Polls an import until it has finished.
async fn finished_import(s: &Server, who: &str, id: &str) -> Value {
    for _ in 0..600 {
        let (st, job) = s.get(who, &format!("/api/v1/imports/{id}")).await;
        assert_eq!(st, StatusCode::OK, "{job}");
        if job["status"] == "complete" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish in 30 s");
}

async fn feeds_upload_over_http_and_resume(s: Server) {
    // A feed of more than one stored chunk: 40,000 lines, one in ten a repeat, two bad ones.
    let mut feed = String::new();
    for i in 0..40_000u32 {
        let n = if i % 10 == 9 { i - 1 } else { i };
        feed.push_str(&format!(
            "{{\"type\": \"domain\", \"value\": \"Feed-{n}.Example.CN\"}}\n"
        ));
    }
    feed.push_str("{not json\n");
    feed.push_str("{\"type\": \"ipv4\", \"value\": \"300.1.2.3\"}\n");
    assert!(feed.len() > 1 << 20);
    let upload = |who: &'static str, query: &'static str, ctype: &'static str, body: String| {
        let req = s
            .http
            .post(format!("{}/api/v1/imports{query}", s.base))
            .bearer_auth(&s.tokens[who])
            .header("content-type", ctype)
            .body(body);
        async move { req.send().await.unwrap() }
    };
    let r = upload(
        "secco",
        "?source=daily.ndjson",
        "application/x-ndjson",
        feed,
    )
    .await;
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = r.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/imports/{id}"));
    assert!(
        ["queued", "running", "complete"].contains(&job["status"].as_str().unwrap()),
        "{job}"
    );
    assert_eq!(job["source"], "daily.ndjson");
    let job = finished_import(&s, "secco", &id).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert_eq!(
        (
            &job["lines"],
            &job["accepted"],
            &job["new_indicators"],
            &job["merged"],
            &job["rejected"]
        ),
        (
            &json!(40_002),
            &json!(40_000),
            &json!(36_000),
            &json!(4_000),
            &json!(2)
        ),
        "{job}"
    );
    let (st, rejects) = s
        .get("secco", &format!("/api/v1/imports/{id}/rejects"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(rejects["total"], 2);
    assert_eq!(rejects["items"][0]["place"], "line 40001");
    assert_eq!(rejects["items"][1]["place"], "line 40002");
    assert!(
        rejects["items"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("300.1.2.3"),
        "{rejects}"
    );
    let (_, page) = s
        .get(
            "secco",
            &format!("/api/v1/imports/{id}/rejects?after=1&limit=5"),
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    // The upload was dropped once read.
    let uuid: uuid::Uuid = id.parse().unwrap();
    assert_eq!(s.store.import_chunk(uuid, 0).await.unwrap(), None);
    let f = s
        .store
        .feed_indicator("domain", "feed-8.example.cn")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.sightings, 2);

    // Another feed of the same organisation, one value per line: known values are sightings.
    let r = upload(
        "netco",
        "?format=plain",
        "application/octet-stream",
        "feed-8.example.cn\n  FEED-1.example.cn \n# comment\n".into(),
    )
    .await;
    assert_eq!(r.status(), 202);
    let second: Value = r.json().await.unwrap();
    let second = finished_import(&s, "netco", second["id"].as_str().unwrap()).await;
    assert_eq!(
        (&second["accepted"], &second["merged"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        s.store
            .feed_indicator("domain", "feed-8.example.cn")
            .await
            .unwrap()
            .unwrap()
            .sightings,
        3
    );

    // Who may send and see: reporters send; their organisation (and the ministry) sees.
    let (st, p) = s
        .call(
            Some("telecom"),
            reqwest::Method::POST,
            "/api/v1/imports?format=plain",
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{p}");
    let (st, _) = s.get("netco", &format!("/api/v1/imports/{id}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("miit", &format!("/api/v1/imports/{id}")).await;
    assert_eq!(st, StatusCode::OK);
    let (_, mine) = s.get("secco", "/api/v1/imports").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], json!(id));

    // Bad requests are refused before anything is stored.
    let r = upload("secco", "", "application/json", "{}".into()).await;
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let r = upload("secco", "?format=xml", "text/plain", "x".into()).await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("ndjson, csv or plain"),
        "{p}"
    );
    let r = upload("secco", "?format=stix", "text/plain", "x".into()).await;
    assert!(r.text().await.unwrap().contains("inbound"));
    let (_, mine) = s.get("secco", "/api/v1/imports").await;
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        1,
        "nothing new stored"
    );

    // A server that stopped mid-import left it running: it resumes after the last line it
    // committed, so nothing is counted twice.
    let org = s
        .store
        .organisation_by_slug("secco-alpha")
        .await
        .unwrap()
        .unwrap()
        .value
        .id;
    let mut rec = warden_store::ImportRecord::start(org, "csv", "resumed.csv", NOW);
    rec.status = "queued".into();
    s.store.put_import(&rec).await.unwrap();
    let csv = "type,value\nipv4,203.0.113.9\nipv4,203.0.113.10\nipv4,203.0.113.9\nipv4,x\n";
    let (a, b) = csv.as_bytes().split_at(30);
    s.store
        .add_import_chunk(rec.id, 0, a.to_vec())
        .await
        .unwrap();
    s.store
        .add_import_chunk(rec.id, 1, b.to_vec())
        .await
        .unwrap();
    // The first run committed the header and the first value, then stopped.
    rec.status = "running".into();
    rec.lines = 2;
    rec.accepted = 1;
    let row = warden_store::FeedRows::new([("ipv4", "203.0.113.9", 1)]).unwrap();
    assert_eq!(s.store.add_feed_rows(&rec, NOW, row, &[]).await.unwrap(), 1);
    warden_service::imports::start_pending(s.state.svc.clone(), "another-server".into());
    let done = finished_import(&s, "secco", &rec.id.to_string()).await;
    assert_eq!(
        (
            &done["status"],
            &done["lines"],
            &done["accepted"],
            &done["new_indicators"],
            &done["rejected"]
        ),
        (
            &json!("complete"),
            &json!(5),
            &json!(3),
            &json!(2),
            &json!(1)
        ),
        "{done}"
    );
    let (_, rj) = s
        .get("secco", &format!("/api/v1/imports/{}/rejects", rec.id))
        .await;
    assert_eq!(rj["items"][0]["place"], "line 5");
    assert_eq!(
        s.store
            .feed_indicator("ipv4", "203.0.113.9")
            .await
            .unwrap()
            .unwrap()
            .sightings,
        2
    );
}

async fn taxii_shares_threats_version_by_version(s: Server) {
    use reqwest::Method as M;
    let clock = s.clock.clone().unwrap();
    let step = |m: i64| clock.set(NOW + time::Duration::minutes(m));
    // One threat reported twice (amber), determined and decided, a minute between steps.
    let (_, first) = s
        .post("secco", "/api/v1/reports", report("threat.example.cn"))
        .await;
    let case_id = first["case_id"].as_str().unwrap().to_owned();
    step(1);
    let (_, again) = s
        .post("netco", "/api/v1/reports", report("threat.example.cn"))
        .await;
    assert_eq!(again["case_id"], json!(case_id), "correlated");
    step(2);
    let case = format!("/api/v1/cases/{case_id}");
    let det = json!({"verdict": "confirmed", "severity": "high", "rationale": "Confirmed"});
    let (st, _) = s
        .post("cncert", &format!("{case}/determination"), det)
        .await;
    assert_eq!(st, StatusCode::OK);
    step(3);
    let decision = json!({"outcome": "approved", "reasons": "Block it", "measures": [
        {"kind": "block", "target": {"type": "domain", "value": "threat.example.cn"}, "recipient_org": "china-telecom"}]});
    let (st, d) = s.post("gd", &format!("{case}/decision"), decision).await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    step(4);

    let of_case = |all: &[Value]| -> Vec<Value> {
        all.iter()
            .filter(|o| o["type"] == "identity" || ext(o, "case_id") == case_id)
            .cloned()
            .collect()
    };
    let (all, _) = taxii_all(&s, "cncert", "threats", "").await;
    let mine = of_case(&all);
    let count = |t: &str| mine.iter().filter(|o| o["type"] == t).count();
    assert_eq!(
        (
            count("infrastructure"),
            count("indicator"),
            count("course-of-action"),
            count("report"),
            count("sighting"),
            count("identity")
        ),
        (1, 2, 1, 2, 1, 2),
        "{mine:#?}"
    );
    let infra = mine.iter().find(|o| o["type"] == "infrastructure").unwrap();
    assert_eq!(infra["infrastructure_types"], json!(["phishing"]));
    assert_eq!(infra["object_marking_refs"][0], stix_tlp("amber"));
    assert_eq!(ext(infra, "severity"), "high");
    let coa = mine
        .iter()
        .find(|o| o["type"] == "course-of-action")
        .unwrap();
    assert_eq!(
        ext(coa, "measure_id"),
        d["measures"][0]["id"].as_str().unwrap()
    );
    assert_eq!(ext(coa, "article"), "8(1)");
    assert!(!ext(coa, "reference").is_empty());
    let sighting = mine.iter().find(|o| o["type"] == "sighting").unwrap();
    assert_eq!(sighting["count"], 2);
    assert_eq!(sighting["sighting_of_ref"], infra["id"]);
    assert_eq!(sighting["where_sighted_refs"].as_array().unwrap().len(), 2);
    let rels: Vec<&str> = mine
        .iter()
        .filter(|o| o["type"] == "relationship")
        .map(|o| o["relationship_type"].as_str().unwrap())
        .collect();
    assert_eq!(rels.iter().filter(|r| **r == "indicates").count(), 2);
    assert_eq!(rels.iter().filter(|r| **r == "mitigates").count(), 3);
    // Every object of the version carries the version's time; a re-export is the same bytes.
    assert!(mine.iter().all(|o| o["modified"] == infra["modified"]));
    assert_eq!(taxii_all(&s, "cncert", "threats", "").await.0, all);
    let (paged, pages) = taxii_all(&s, "cncert", "threats", "limit=3").await;
    assert_eq!(paged, all);
    assert!(pages > 3);
    // Old versions stay: one per step of the case.
    let id = infra["id"].as_str().unwrap();
    let (st, _, v) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("/taxii2/members/collections/threats/objects/{id}/versions/"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let versions = v["versions"].as_array().unwrap();
    assert!(versions.len() >= 4, "{v}");
    assert!(versions.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
    let (_, _, one) = taxii(
        &s,
        Some("cncert"),
        M::GET,
        &format!("/taxii2/members/collections/threats/objects/{id}/?match[version]=first"),
        None,
    )
    .await;
    assert_eq!(one["objects"][0]["modified"], versions[0]);
    let (everything, _) = taxii_all(&s, "cncert", "threats", "match[version]=all").await;
    assert!(of_case(&everything).len() > mine.len());

    // A reporter that does not handle the case sees what its own report brought; a member
    // that has nothing to do with an amber threat sees nothing of it.
    let (theirs, _) = taxii_all(&s, "secco", "threats", "").await;
    let theirs = of_case(&theirs);
    assert_eq!(theirs.iter().filter(|o| o["type"] == "report").count(), 1);
    // Nor does it learn that others reported the same threat.
    assert!(theirs.iter().all(|o| o["type"] != "sighting"));
    assert!(theirs.iter().all(|o| o["type"] != "course-of-action"));
    let (others, _) = taxii_all(&s, "mobile", "threats", "").await;
    assert!(of_case(&others).iter().all(|o| o["type"] == "identity"));
    assert!(others.iter().all(|o| ext(o, "case_id") != case_id));
    // A confirmed green threat is shared with every member.
    let mut green = report("green.example.cn");
    green["tlp"] = json!("green");
    let (_, g) = s.post("secco", "/api/v1/reports", green).await;
    let gcase = format!("/api/v1/cases/{}", g["case_id"].as_str().unwrap());
    let det = json!({"verdict": "confirmed", "severity": "medium", "rationale": "Confirmed"});
    s.post("cncert", &format!("{gcase}/determination"), det)
        .await;
    let (others, _) = taxii_all(&s, "mobile", "threats", "").await;
    assert!(
        others
            .iter()
            .any(|o| o["type"] == "indicator" && o["name"] == "domain green.example.cn"),
        "{others:#?}"
    );
    // Every object a reader is shared can be asked for by its id, those of the green case
    // too (written after the first such request); one the reader is not shared is not found.
    let by_id = |who: &'static str, id: String| {
        let s = &s;
        async move {
            taxii(
                s,
                Some(who),
                M::GET,
                &format!("/taxii2/members/collections/threats/objects/{id}/"),
                None,
            )
            .await
        }
    };
    for who in ["cncert", "secco", "mobile"] {
        let (listed, _) = taxii_all(&s, who, "threats", "").await;
        assert!(!listed.is_empty());
        for o in &listed {
            let id = o["id"].as_str().unwrap().to_owned();
            let (st, _, got) = by_id(who, id.clone()).await;
            assert_eq!(st, StatusCode::OK, "{who} {id}");
            let got = got["objects"].as_array().unwrap();
            assert!(
                !got.is_empty() && got.iter().all(|g| g["id"] == o["id"]),
                "{who} {id}"
            );
            // An organisation's identity appears in every case it reported in, each with
            // that case's times; any of them will do.
            if o["type"] != "identity" {
                assert!(got.contains(o), "{who} {id}: the listed version");
            }
        }
    }
    let (st, _, _) = by_id("mobile", infra["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "an amber threat mobile does not handle"
    );
    let (st, _, _) = by_id(
        "cncert",
        format!("infrastructure--{}", uuid::Uuid::new_v4()),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

fn stix_tlp(level: &str) -> &'static str {
    match level {
        "amber" => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        _ => "",
    }
}

/// The cookie `name` that a response sets, if any.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

/// A form body, as a browser sends it.
fn form(req: reqwest::RequestBuilder, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    req.header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

fn hidden_csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

async fn basic_passwords_are_remembered_and_guessing_is_limited(s: Server) {
    for (name, password) in [
        ("reviewer@ca-guangdong", "correct horse"),
        ("second@ca-guangdong", "battery staple"),
    ] {
        add_person(&s, "ca-guangdong", name, Role::Reviewer, password).await;
    }
    use base64::Engine as _;
    let basic = |u: &str, p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    let right = basic("reviewer@ca-guangdong", "correct horse");
    let get = |path: &str, auth: String| {
        s.http
            .get(format!("{}{path}", s.base))
            .header("accept", TAXII)
            .header("authorization", auth)
            .send()
    };
    let collections = "/taxii2/members/collections/";
    // A client polling with a verified password is not held to the guessing limit: only
    // checks that run argon2 count, and a verified pair is remembered.
    for _ in 0..warden_server::SIGN_IN_ATTEMPTS + 5 {
        let r = get(collections, right.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // Guesses count, whatever the password, until the address is held back.
    let mut limited = None;
    for i in 0..=warden_server::SIGN_IN_ATTEMPTS {
        let r = get(
            collections,
            basic("reviewer@ca-guangdong", &format!("guess {i}")),
        )
        .await
        .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["error_code"], "rate-limited");
            assert!(
                e["description"].as_str().unwrap().contains("API token"),
                "{e}"
            );
            limited = Some(i);
            break;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // One check was spent on the first right password, so the limit comes one guess early.
    assert_eq!(
        limited,
        Some(warden_server::SIGN_IN_ATTEMPTS - 1),
        "guesses not limited"
    );
    // The REST API answers the same, as problem+json.
    let r = s
        .http
        .get(format!("{}/api/v1/cases", s.base))
        .header(
            "authorization",
            basic("second@ca-guangdong", "battery staple"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "not even a right one"
    );
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(kind(&r.json().await.unwrap()), "rate-limited");
    // The verified client goes on working; an API token is never limited.
    let r = get(collections, right.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(collections, basic("feed", &s.tokens["cncert"]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The console's sign-in shares the limit: the same passwords, another door.
    let r = post_console_login(&s, "second@ca-guangdong", "battery staple").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn the_console_guards_its_sessions(s: Server) {
    add_person(
        &s,
        "ca-guangdong",
        "reviewer@ca-guangdong",
        Role::Reviewer,
        "correct horse",
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |p: &str| format!("{}{p}", s.base);
    // Every page carries the strict headers; the public home needs no account.
    let r = http.get(url("/console/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.text().await.unwrap().contains("lang=\"zh-CN\""));

    // Sign-in needs the form's token (double-submit cookie) and the right password.
    let login_page = http.get(url("/console/login")).send().await.unwrap();
    let login_cookie = set_cookie(&login_page, "warden_login").unwrap();
    let csrf = hidden_csrf(&login_page.text().await.unwrap());
    assert_eq!(login_cookie, csrf);
    let sign_in = |password: &'static str, token: String, cookie: Option<String>| {
        let mut req = form(
            http.post(url("/console/login")),
            &[
                ("username", "reviewer@ca-guangdong"),
                ("password", password),
                ("csrf", &token),
            ],
        );
        if let Some(c) = cookie {
            req = req.header("cookie", format!("warden_login={c}"));
        }
        async move { req.send().await.unwrap() }
    };
    let r = sign_in("correct horse", csrf.clone(), None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no cookie: refused");
    assert!(set_cookie(&r, "warden_session").is_none());
    let r = sign_in("wrong", csrf.clone(), Some(login_cookie.clone())).await;
    assert!(set_cookie(&r, "warden_session").is_none());
    assert!(r.text().await.unwrap().contains("class=\"error\""));
    let r = sign_in("correct horse", csrf.clone(), Some(login_cookie.clone())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&r, "warden_session").unwrap();
    let sc = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        sc.contains("HttpOnly") && sc.contains("SameSite=Strict"),
        "{sc}"
    );
    // Only the secret's hash is stored.
    let hash = warden_service::credentials::hash_token(&session);
    assert!(s.store.session(&session).await.unwrap().is_none());
    let stored = s.store.session(&hash).await.unwrap().unwrap();

    let home = |cookie: String| {
        let req = http
            .get(url("/console/"))
            .header("cookie", format!("warden_session={cookie}; warden_lang=en"));
        async move { req.send().await.unwrap() }
    };
    let r = home(session.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("reviewer@ca-guangdong") && page.contains("id=\"decisions\""));
    assert!(page.contains("lang=\"en\""));
    let page_csrf = hidden_csrf(&page);
    assert_eq!(page_csrf, stored.csrf);

    // Signing out needs the session's token; then the session is over on the server too.
    let logout = |token: &str| {
        let req = form(
            http.post(url("/console/logout"))
                .header("cookie", format!("warden_session={session}")),
            &[("csrf", token)],
        );
        async move { req.send().await.unwrap() }
    };
    assert_eq!(logout("forged").await.status(), StatusCode::FORBIDDEN);
    assert!(
        home(session.clone())
            .await
            .text()
            .await
            .unwrap()
            .contains("id=\"decisions\"")
    );
    assert_eq!(logout(&page_csrf).await.status(), StatusCode::SEE_OTHER);
    assert!(
        s.store
            .session(&hash)
            .await
            .unwrap()
            .unwrap()
            .ended
            .is_some()
    );
    let r = home(session.clone()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("expired"));

    // Sessions expire.
    let r = sign_in("correct horse", csrf, Some(login_cookie)).await;
    let again = set_cookie(&r, "warden_session").unwrap();
    assert!(
        home(again.clone())
            .await
            .text()
            .await
            .unwrap()
            .contains("id=\"decisions\"")
    );
    s.clock.as_ref().unwrap().set(
        NOW + time::Duration::hours(warden_service::authentication::SESSION_HOURS)
            + time::Duration::seconds(1),
    );
    assert_eq!(home(again).await.status(), StatusCode::UNAUTHORIZED);

    // The public lookup answers with the reference to appeal with, not the enforcer.
    s.clock.as_ref().unwrap().set(NOW);
    decided_block(&s, "console.example.cn").await;
    let r = http
        .get(url("/console/lookup?value=www.console.example.cn"))
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"verdict\""), "{page}");
    assert!(page.contains("已列入处置名单"), "{page}");
    assert!(
        !page.contains("china-telecom"),
        "the public is not told who enforces it"
    );

    // From there, the public appeal form: double-submit token, then filed by reference.
    let (_, n) = s.get("telecom", "/api/v1/notices").await;
    let reference = n["items"][0]["reference"].as_str().unwrap().to_owned();
    assert!(page.contains(&format!("/console/appeal?reference={reference}")));
    let r = http
        .get(url(&format!("/console/appeal?reference={reference}")))
        .send()
        .await
        .unwrap();
    let appeal_cookie = set_cookie(&r, "warden_appeal").unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains(&format!("value=\"{reference}\"")));
    let appeal_csrf = hidden_csrf(&page);
    let file = |reference: &str, cookie: Option<&str>| {
        let mut req = form(
            http.post(url("/console/appeal")),
            &[
                ("csrf", appeal_csrf.as_str()),
                ("reference", reference),
                ("name", "Shop owner"),
                ("contact", "owner@example.cn"),
                ("grounds", "The shop is mine and clean"),
            ],
        );
        if let Some(c) = cookie {
            req = req.header("cookie", format!("warden_appeal={c}"));
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    assert_eq!(file(&reference, None).await.0, StatusCode::FORBIDDEN);
    let (st, page) = file("WD-20260928-000000000000", Some(&appeal_cookie)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (st, page) = file(&reference, Some(&appeal_cookie)).await;
    assert_eq!(st, StatusCode::CREATED, "{page}");
    assert!(page.contains("id=\"filed\""), "{page}");
    let filed: Vec<_> = s
        .store
        .open_appeals(
            s.store
                .organisation_by_slug("ca-guangdong")
                .await
                .unwrap()
                .unwrap()
                .value
                .id,
            10,
        )
        .await
        .unwrap();
    assert_eq!(filed.len(), 1);
    assert!(page.contains(&filed[0].value.id.to_string()));
    assert_eq!(filed[0].value.filed_by_org, None, "filed by the public");

    // Password guessing meets a limit per address, whatever the password.
    let mut limited = None;
    for i in 0..=warden_server::SIGN_IN_ATTEMPTS {
        let login_page = http.get(url("/console/login")).send().await.unwrap();
        let c = set_cookie(&login_page, "warden_login").unwrap();
        let t = hidden_csrf(&login_page.text().await.unwrap());
        let r = sign_in("guess", t, Some(c)).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            limited = Some(i);
            break;
        }
    }
    assert!(limited.is_some(), "no limit on sign-in attempts");
    let login_page = http.get(url("/console/login")).send().await.unwrap();
    let c = set_cookie(&login_page, "warden_login").unwrap();
    let t = hidden_csrf(&login_page.text().await.unwrap());
    let r = sign_in("correct horse", t, Some(c)).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "not even the right one"
    );
    assert!(set_cookie(&r, "warden_session").is_none());
}

/// A console page as a signed-in person sees it (English): status and body.
async fn console_get(s: &Server, session: &str, path: &str) -> (StatusCode, String) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{path}", s.base))
        .header(
            "cookie",
            format!("warden_session={session}; warden_lang=en"),
        )
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A console form sent as a browser sends it, redirects not followed: status, the redirect's
/// target and the body.
async fn console_post(
    s: &Server,
    session: &str,
    path: &str,
    fields: Vec<(&str, String)>,
) -> (StatusCode, Option<String>, String) {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = form(
        client.post(format!("{}{path}", s.base)).header(
            "cookie",
            format!("warden_session={session}; warden_lang=en"),
        ),
        &pairs,
    )
    .send()
    .await
    .unwrap();
    let to = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status(), to, r.text().await.unwrap())
}

/// A person of `org` who signs in as `name` with `password`.
async fn add_person(s: &Server, org: &str, name: &str, role: Role, password: &str) {
    admin::create_user(
        s.store.as_ref(),
        &Actor::system("test"),
        NOW,
        admin::NewUser {
            org: org.into(),
            name: name.into(),
            display_name: None,
            roles: [role].into_iter().collect(),
            password: password.into(),
        },
    )
    .await
    .unwrap();
}

/// The console's sign-in form posted as `name`, with the form's cookie and token.
async fn post_console_login(s: &Server, name: &str, password: &str) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .get(format!("{}/console/login", s.base))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&login, "warden_login").unwrap();
    let csrf = hidden_csrf(&login.text().await.unwrap());
    form(
        http.post(format!("{}/console/login", s.base))
            .header("cookie", format!("warden_login={cookie}")),
        &[("username", name), ("password", password), ("csrf", &csrf)],
    )
    .send()
    .await
    .unwrap()
}

/// A console user `ROLE@ORG` signed in: the session cookie and the session's CSRF token.
async fn console_sign_in(s: &Server, org: &str, role: Role) -> (String, String) {
    let name = format!("{}@{org}", role.as_str());
    add_person(s, org, &name, role, "correct horse").await;
    let r = post_console_login(s, &name, "correct horse").await;
    let session = set_cookie(&r, "warden_session").unwrap();
    let home = s
        .http
        .get(format!("{}/console/", s.base))
        .header("cookie", format!("warden_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (session, hidden_csrf(&home))
}

async fn the_console_moves_a_case_through_its_forms(s: Server) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases_of_secco = || async {
        let (_, list) = s.get("secco", "/api/v1/cases").await;
        list["items"].as_array().unwrap().len()
    };

    // The reporter pastes values; "check" reads each with the core parser and files nothing.
    let (rep, rep_csrf) = console_sign_in(&s, "secco-alpha", Role::Reporter).await;
    let (st, page) = console_get(&s, &rep, "/console/reports/new").await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("malicious_resource/phishing_site"), "{page}");
    let before = cases_of_secco().await;
    let report = |csrf: &str, action: &str, values: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("subtype", "malicious_resource/phishing_site".to_owned()),
            ("title", "Console phishing".to_owned()),
            ("description", "Seen in SMS".to_owned()),
            ("province", "440000".to_owned()),
            ("indicators", values.to_owned()),
            ("action", action.to_owned()),
        ]
    };
    let pasted = "WWW.Console-Form.example.cn\nhttp://console-form.example.cn/pay, 1.2.3\n";
    let (st, _, page) = console_post(
        &s,
        &rep,
        "/console/reports",
        report(&rep_csrf, "check", pasted),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        page.contains("www.console-form.example.cn"),
        "normalised: {page}"
    );
    assert!(page.contains("class=\"alert\""), "the bad value is marked");
    // The same check as a fragment for the page's live validation (htmx), under the CSRF rule.
    let (st, _, frag) = console_post(
        &s,
        &rep,
        "/console/reports/check",
        report(&rep_csrf, "", pasted),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(frag.starts_with("<section id=\"checked\""), "{frag}");
    assert!(!frag.contains("<html"), "a fragment, not a page");
    assert!(frag.contains("www.console-form.example.cn") && frag.contains("class=\"alert\""));
    let (st, _, _) = console_post(
        &s,
        &rep,
        "/console/reports/check",
        report("forged", "", pasted),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, page) = console_post(
        &s,
        &rep,
        "/console/reports",
        report(&rep_csrf, "submit", pasted),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("could not be read"), "{page}");
    let (st, _, _) = console_post(
        &s,
        &rep,
        "/console/reports",
        report("forged", "submit", "console-form.example.cn"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(cases_of_secco().await, before, "refused forms file nothing");
    let good = "console-form.example.cn\nhttp://console-form.example.cn/pay";
    let (st, to, _) = console_post(
        &s,
        &rep,
        "/console/reports",
        report(&rep_csrf, "submit", good),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let case_page = to.unwrap().replace("?done=1", "");
    let case_id = case_page.rsplit('/').next().unwrap().to_owned();
    assert_eq!(cases_of_secco().await, before + 1);
    let (st, page) = console_get(&s, &rep, &case_page).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("Console phishing") && page.contains("console-form.example.cn"));
    assert!(
        !page.contains("id=\"determine\""),
        "reporters do not determine"
    );
    assert!(
        page.contains("id=\"reports\"") && page.contains("secco-alpha"),
        "{page}"
    );

    // A threat handled in the reporter's own systems goes on file (Art. 6, 11).
    let mut own = report(&rep_csrf, "submit", "192.0.2.201");
    own.push(("self_handled", "1".to_owned()));
    own.push((
        "actions_taken",
        "Isolated the VM and restored it".to_owned(),
    ));
    let (st, to, _) = console_post(&s, &rep, "/console/reports", own).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let to = to.unwrap();
    let rid = to.split("filed=").nth(1).unwrap().to_owned();
    let (_, page) = console_get(&s, &rep, &to).await;
    assert!(page.contains("id=\"filed\"") && page.contains(&rid));
    let (st, r) = s.get("secco", &format!("/api/v1/reports/{rid}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["self_handled"], "Isolated the VM and restored it");

    // The analyst determines through the form; a bad choice is refused with its reason.
    let (ana, ana_csrf) = console_sign_in(&s, "cncert", Role::Analyst).await;
    let (_, page) = console_get(&s, &ana, &case_page).await;
    assert!(page.contains("id=\"determine\""), "{page}");
    let det = |verdict: &str| {
        vec![
            ("csrf", ana_csrf.clone()),
            ("verdict", verdict.to_owned()),
            ("severity", "high".to_owned()),
            ("incident_level", "".to_owned()),
            ("rationale", "Confirmed by a test purchase".to_owned()),
        ]
    };
    let path = format!("{case_page}/determination");
    let (st, _, page) = console_post(&s, &ana, &path, det("guilty")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("verdict"), "{page}");
    let (st, _, _) = console_post(&s, &ana, &path, det("confirmed")).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, c) = s.get("cncert", &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(c["status"], "determined");
    let (_, page) = console_get(&s, &ana, &case_page).await;
    assert!(page.contains("awaiting decision") && page.contains("Confirmed by a test purchase"));
    // The filtered list finds it by state and category, and not under another state.
    let (st, page) = console_get(
        &s,
        &ana,
        "/console/cases?status=determined&category=malicious_resource",
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains(&case_page), "{page}");
    let (_, page) = console_get(&s, &ana, "/console/cases?status=assigned").await;
    assert!(!page.contains(&case_page));
    let (st, page) = console_get(&s, &ana, "/console/cases?province=999999").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("province"), "{page}");
    // The same form again is refused by the core: the case has moved on.
    let (_, page) = console_get(&s, &rep, &case_page).await;
    assert!(!page.contains("id=\"determine\""));

    // The reviewer decides through the form: each indicator a row, with where routing sends
    // it and the policy deadline; an approval without a measure is refused.
    let (rev, rev_csrf) = console_sign_in(&s, "ca-guangdong", Role::Reviewer).await;
    let (_, page) = console_get(&s, &rev, &case_page).await;
    assert!(
        page.contains("id=\"decide\"") && page.contains(" h → "),
        "{page}"
    );
    let (_, c) = s.get("gd", &format!("/api/v1/cases/{case_id}")).await;
    let indicators = c["indicators"].as_array().unwrap().clone();
    let decide = |use_domain: bool| {
        let mut f = vec![
            ("csrf", rev_csrf.clone()),
            ("outcome", "approved".to_owned()),
            ("reasons", "Confirmed phishing".to_owned()),
        ];
        for (i, ind) in indicators.iter().enumerate() {
            let key = |k: &str| -> &'static str { Box::leak(format!("m{i}_{k}").into_boxed_str()) };
            f.push((key("type"), ind["type"].as_str().unwrap().to_owned()));
            f.push((key("value"), ind["value"].as_str().unwrap().to_owned()));
            f.push((key("kind"), "block".to_owned()));
            if use_domain && ind["type"] == "domain" {
                f.push((key("use"), "1".to_owned()));
                f.push((key("recipient"), "china-telecom".to_owned()));
            }
        }
        f
    };
    let path = format!("{case_page}/decision");
    let (st, _, page) = console_post(&s, &rev, &path, decide(false)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("at least one measure"), "{page}");
    let (st, _, _) = console_post(&s, &rev, &path, decide(true)).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, notices) = s.get("telecom", "/api/v1/notices").await;
    let nid = notices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["case_id"] == case_id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notice_page = format!("/console/notices/{nid}");
    // The responder finds the notice in the inbox, signs for it and reports back.
    let (resp, resp_csrf) = console_sign_in(&s, "china-telecom", Role::Responder).await;
    let (_, home) = console_get(&s, &resp, "/console/").await;
    assert!(home.contains(&notice_page), "the inbox links the notice");
    let (st, page) = console_get(&s, &resp, &notice_page).await;
    assert_eq!(st, StatusCode::OK);
    let (_, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(n["status"], "delivered", "the first view is the delivery");
    let signed: warden_core::notice::SignedNotice = serde_json::from_value(n).unwrap();
    let fp = warden_core::notice::fingerprint(&signed.body.canonical());
    assert!(
        page.contains(&fp) && page.contains(&signed.body.reference),
        "{page}"
    );
    assert!(page.contains("id=\"acknowledge\"") && page.contains("id=\"feedback\""));
    let (st, _, _) = console_post(
        &s,
        &resp,
        &format!("{notice_page}/acknowledge"),
        vec![("csrf", "x".into())],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = console_post(
        &s,
        &resp,
        &format!("{notice_page}/acknowledge"),
        vec![("csrf", resp_csrf.clone())],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let fb = |outcome: &str| {
        vec![
            ("csrf", resp_csrf.clone()),
            ("outcome", outcome.to_owned()),
            ("actions_taken", "Blocked at the resolvers".to_owned()),
        ]
    };
    let (st, _, _) = console_post(&s, &resp, &format!("{notice_page}/feedback"), fb("maybe")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _, _) = console_post(&s, &resp, &format!("{notice_page}/feedback"), fb("done")).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(n["status"], "feedback_filed");
    // Another operator's responder cannot see it at all.
    let (other, _) = console_sign_in(&s, "china-mobile", Role::Responder).await;
    let (st, _) = console_get(&s, &other, &notice_page).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The institution's verifier records the result.
    let (ver, ver_csrf) = console_sign_in(&s, "cncert", Role::Verifier).await;
    let (_, page) = console_get(&s, &ver, &notice_page).await;
    assert!(page.contains("id=\"verify\""), "{page}");
    // A probe from the page: a bad port is refused with its reason; a DNS probe asks the
    // recipient's declared resolvers, and this world declares none.
    let probe = |method: &str, port: &str| {
        vec![
            ("csrf", ver_csrf.clone()),
            ("method", method.to_owned()),
            ("port", port.to_owned()),
            ("every", "".to_owned()),
        ]
    };
    let (st, _, page) = console_post(
        &s,
        &ver,
        &format!("{notice_page}/probes"),
        probe("tcp", "99999"),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("is not a port number"), "{page}");
    let (st, _, page) =
        console_post(&s, &ver, &format!("{notice_page}/probes"), probe("dns", "")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("has declared no resolver"), "{page}");
    let (st, _, _) = console_post(
        &s,
        &ver,
        &format!("{notice_page}/verification"),
        vec![
            ("csrf", ver_csrf),
            ("result", "passed".into()),
            ("notes", "Resolvers answer NXDOMAIN".into()),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(n["status"], "verified");
    let (_, page) = console_get(&s, &ver, &case_page).await;
    assert!(
        page.contains(&notice_page) && page.contains("verified"),
        "{page}"
    );
    // An appeal reaches the deciding authority's home with the reply countdown in working
    // days (30 from the filing); the reviewer shortens the block through the form.
    let (_, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    let mid = n["measure_id"].as_str().unwrap().to_owned();
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{mid}/appeals"),
            json!({"appellant": {"name": "Shop owner", "contact": "owner@example.cn"}, "grounds": "The site was cleaned"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let appeal_id = a["id"].as_str().unwrap().to_owned();
    let appeal_page = format!("/console/appeals/{appeal_id}");
    let (_, home) = console_get(&s, &rev, "/console/").await;
    assert!(home.contains(&appeal_page), "{home}");
    assert!(home.contains("30 working days"), "{home}");
    let (_, page) = console_get(&s, &rev, &notice_page).await;
    assert!(page.contains(&appeal_page), "the notice lists its appeals");
    let (_, page) = console_get(&s, &resp, &notice_page).await;
    assert!(
        !page.contains(&appeal_page),
        "the appellant's details are not the recipient's to see"
    );
    let (_, page) = console_get(&s, &rev, &appeal_page).await;
    assert!(page.contains("id=\"answer\"") && page.contains("The site was cleaned"));
    let (_, page) = console_get(&s, &resp, &appeal_page).await;
    assert!(
        !page.contains("id=\"answer\""),
        "only the deciding authority answers"
    );
    let answer = |outcome: &str| {
        vec![
            ("csrf", rev_csrf.clone()),
            ("outcome", outcome.to_owned()),
            ("reasons", "Cleaned, checked".to_owned()),
        ]
    };
    let (st, _, _) = console_post(
        &s,
        &rev,
        &format!("{appeal_page}/decision"),
        answer("pardoned"),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // "Modified" needs the change; a date must be a date.
    let mut modify = answer("modified");
    let (st, _, page) =
        console_post(&s, &rev, &format!("{appeal_page}/decision"), modify.clone()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    modify.push(("new_expiry", "next week".to_owned()));
    let (st, _, page) = console_post(&s, &rev, &format!("{appeal_page}/decision"), modify).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("is not a date"), "{page}");
    let mut modify = answer("modified");
    modify.push(("new_expiry", "2026-10-31".to_owned()));
    let (st, _, page) = console_post(&s, &rev, &format!("{appeal_page}/decision"), modify).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{page}");
    let (_, a) = s.get("gd", &format!("/api/v1/appeals/{appeal_id}")).await;
    assert_eq!(a["status"], "modified");
    assert_eq!(
        a["decision"]["modification"]["expires_at"], "2026-11-01T00:00:00+08:00",
        "the block ends with the chosen day, Beijing time"
    );
    let (_, home) = console_get(&s, &rev, "/console/").await;
    assert!(
        !home.contains(&appeal_page),
        "an answered appeal leaves the queue"
    );

    // The auditor reads the trail, with the chain's state; nobody else can.
    let (aud, _) = console_sign_in(&s, "miit", Role::Auditor).await;
    let (st, page) = console_get(&s, &aud, "/console/audit").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        page.contains("intact") && page.contains("case.assigned"),
        "{page}"
    );
    let (st, _) = console_get(&s, &rev, "/console/audit").await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The dashboard: SVG drawn on the server, over what the person may see.
    let (st, page) = console_get(&s, &rev, "/console/dashboard").await;
    assert_eq!(st, StatusCode::OK);
    for id in ["opened", "handling", "overdue-province", "overdue-org"] {
        assert!(
            page.contains(&format!("<section id=\"{id}\"")),
            "{id}: {page}"
        );
    }
    assert!(page.contains("<svg") && page.contains("Cases opened per day"));
    assert!(
        page.contains("<title>2026-09-28 malicious network resource: 1"),
        "today's case is drawn: {page}"
    );
    let (st, page) = console_get(&s, &other, "/console/dashboard").await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("<section id=\"opened\""));
    assert!(
        !page.contains("<title>2026-09-28 malicious network resource: 1"),
        "china-mobile reported no case and sees none"
    );
    let r = http
        .get(format!("{}/console/dashboard", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the public signs in first"
    );
}

async fn the_console_keeps_enforcement_records(s: Server) {
    // A notice goes overdue: the deadline job raises the record.
    decided_block(&s, "late-console.example.cn").await;
    s.clock
        .as_ref()
        .unwrap()
        .set(NOW + time::Duration::hours(7));
    let r = warden_service::jobs::run_due(&s.state.svc, "a")
        .await
        .unwrap();
    assert_eq!(r.overdue, 1);
    let (_, list) = s.get("gd", "/api/v1/enforcements").await;
    let eid = list["items"][0]["id"].as_str().unwrap().to_owned();
    let page_path = format!("/console/enforcements/{eid}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (rev, csrf) = console_sign_in(&s, "ca-guangdong", Role::Reviewer).await;
    let (_, home) = console_get(&s, &rev, "/console/").await;
    assert!(
        home.contains("id=\"enforcement\"") && home.contains(&page_path),
        "{home}"
    );
    let (st, page) = console_get(&s, &rev, &page_path).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("no report back by the deadline") && page.contains("id=\"act\""));
    let (sr, rev_s, csrf_s, actions) = (
        &s,
        rev.as_str(),
        csrf.as_str(),
        format!("{page_path}/actions"),
    );
    let actions = actions.as_str();
    let act = move |kind: &str, basis: &str, amount: &str| {
        let fields = vec![
            ("csrf", csrf_s.to_owned()),
            ("kind", kind.to_owned()),
            ("basis", basis.to_owned()),
            ("amount_yuan", amount.to_owned()),
            ("notes", "Summoned the head of security".to_owned()),
        ];
        async move {
            let (st, _, page) = console_post(sr, rev_s, actions, fields).await;
            (st, page)
        }
    };
    // The core's rules show as the page's refusal: a fine needs its amount.
    let (st, page) = act("fine", "csl-59", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("class=\"error\""), "{page}");
    let (st, _) = act("fine", "csl-59", "fifty").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(act("talk", "csl-56", "").await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        act("fine", "csl-59", "50000").await.0,
        StatusCode::SEE_OTHER
    );
    let (_, page) = console_get(&s, &rev, &page_path).await;
    assert!(page.contains("Cybersecurity Law Art. 59") && page.contains("50000"));
    assert!(
        page.contains("1 talk · 0 warning · 1 fine (50000 ¥)"),
        "{page}"
    );
    // Compliance of every organisation in the authority's province, most overdue first.
    let (st, page) = console_get(&s, &rev, "/console/compliance").await;
    assert_eq!(st, StatusCode::OK);
    let row = page
        .split("<tr")
        .find(|r| r.contains("china-telecom"))
        .unwrap_or_default();
    assert!(
        row.contains("class=\"alert\"")
            && row.contains("<td>100%</td>")
            && row.contains("1 (50000 ¥)"),
        "{page}"
    );
    // The operator sees its own record, without the form; another authority sees nothing.
    let (op, _) = console_sign_in(&s, "china-telecom", Role::Responder).await;
    let (st, page) = console_get(&s, &op, &page_path).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!page.contains("id=\"act\""));
    let (bj, _) = console_sign_in(&s, "ca-beijing", Role::Reviewer).await;
    assert_eq!(
        console_get(&s, &bj, &page_path).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        console_get(&s, &op, "/console/compliance").await.0,
        StatusCode::FORBIDDEN
    );
    let (_, page) = console_get(&s, &bj, "/console/compliance").await;
    assert!(!page.contains("china-telecom"), "Beijing sees Beijing only");

    // An emergency: the deciding authority records the telephone call from the notice page.
    let (_, created) = s
        .post(
            "secco",
            "/api/v1/reports",
            report("ransom-console.example.cn"),
        )
        .await;
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let det = json!({"verdict": "confirmed", "severity": "critical", "incident_level": "I", "rationale": "Ransomware C2"});
    s.post("cncert", &format!("{case}/determination"), det)
        .await;
    let decision = json!({"outcome": "approved", "reasons": "Emergency block", "measures": [
        {"kind": "block", "target": {"type": "domain", "value": "ransom-console.example.cn"}, "recipient_org": "china-telecom"}]});
    let (st, out) = s.post("gd", &format!("{case}/decision"), decision).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let nid = out["measures"][0]["notice_id"].as_str().unwrap().to_owned();
    let (_, page) = console_get(&s, &rev, &format!("/console/notices/{nid}")).await;
    assert!(page.contains("id=\"phone\""), "{page}");
    let (_, page) = console_get(&s, &op, &format!("/console/notices/{nid}")).await;
    assert!(
        !page.contains("id=\"phone\""),
        "the recipient does not record the call"
    );
    let call = vec![
        ("csrf", csrf.clone()),
        ("called_person", "Duty officer Wang".to_owned()),
        ("called_number", "+861012345678".to_owned()),
        (
            "summary",
            "Block it now; the written notice follows".to_owned(),
        ),
    ];
    let (st, _, _) = console_post(&s, &rev, &format!("/console/notices/{nid}/phone"), call).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let m = s
        .store
        .measure_by_notice(nid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(m.phone_notifications.len(), 1);

    // Bulletins to members and publications to the public, issued from the console.
    let (_, page) = console_get(&s, &rev, "/console/bulletins").await;
    assert!(page.contains("id=\"issue\""));
    let issue = move |kind: &str, title: &str| {
        let fields = vec![
            ("csrf", csrf_s.to_owned()),
            ("kind", kind.to_owned()),
            ("tlp", "amber".to_owned()),
            ("title", title.to_owned()),
            ("body", "Block the listed domains.".to_owned()),
        ];
        async move {
            console_post(sr, rev_s, "/console/bulletins", fields)
                .await
                .0
        }
    };
    assert_eq!(issue("memo", "x").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        issue("bulletin", "Operators: new phishing wave").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        issue("publication", "Phishing wave closed down").await,
        StatusCode::SEE_OTHER
    );
    let (_, page) = console_get(&s, &op, "/console/bulletins").await;
    assert!(!page.contains("id=\"issue\""), "operators do not issue");
    assert!(page.contains("Operators: new phishing wave") && page.contains("TLP:AMBER"));
    let public = http
        .get(format!("{}/console/", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public.contains("Phishing wave closed down"));
    assert!(
        !public.contains("Operators: new phishing wave"),
        "bulletins stay with members"
    );
}
