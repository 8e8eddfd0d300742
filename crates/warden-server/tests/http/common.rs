//! What every area's tests share: a server on port 0 over SQLite or PostgreSQL with the
//! demo organisations and a token per person, and helpers to call it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use time::macros::datetime;
use warden_core::clock::FixedClock;
use warden_core::org::{Actor, Role};
use warden_server::AppState;
use warden_service::{Service, admin, keys};
use warden_store::Store;

pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) state: AppState,
    pub(crate) clock: Option<Arc<FixedClock>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) tokens: HashMap<&'static str, String>,
    pub(crate) http: reqwest::Client,
    pub(crate) _stop: tokio::sync::oneshot::Sender<()>,
    pub(crate) _dir: Option<tempfile::TempDir>,
}

pub(crate) const NOW: time::OffsetDateTime = datetime!(2026-09-28 10:00 +8);

/// Who acts in the tests: name → (organisation, roles).
pub(crate) const PEOPLE: &[(&str, &str, &[Role])] = &[
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
    ("js-admin", "ca-jiangsu", &[Role::Admin]),
    ("js", "ca-jiangsu", &[Role::Reviewer]),
    ("gd-admin", "ca-guangdong", &[Role::Admin]),
];

pub(crate) async fn start(store: Arc<dyn Store>, dir: Option<tempfile::TempDir>) -> Server {
    start_with(store, dir, false).await
}

pub(crate) async fn start_with(
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

pub(crate) async fn start_full(
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
        32,
        "miit and the 31 provincial authorities"
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

/// Another node's service on the server's database (its own keys, the test clock), not
/// started: its matcher is empty until it catches up.
pub(crate) fn node_beside(s: &Server) -> warden_service::service::ServiceBuilder {
    let keydir = tempfile::tempdir().unwrap();
    let ring = keys::KeyRing::new(
        keys::MasterKey::load_or_create(&keydir.path().join("master.key")).unwrap(),
    );
    Service::builder(
        s.store.clone(),
        warden_core::calendar::Calendar::builtin().unwrap(),
        warden_core::policy::Policy::builtin().unwrap(),
        ring,
    )
    .clock(Arc::new(FixedClock::new(NOW)))
}

/// Another server's state on `store`, with its own clock and keys.
pub(crate) fn app(
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

pub(crate) async fn on_sqlite() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(&format!("sqlite://{}/w.db", dir.path().display()))
        .await
        .unwrap();
    start(store, Some(dir)).await
}

pub(crate) async fn on_postgres() -> Option<Server> {
    let store = warden_store::test_postgres().await.unwrap()?;
    Some(start(store, None).await)
}

impl Server {
    /// The published keys, as anyone verifying a notice reads them.
    pub(crate) async fn keys(&self) -> warden_core::notice::KeySet {
        self.public_json("/api/v1/keys").await
    }

    /// A GET as `who`, or without credentials.
    async fn fetch(&self, who: Option<&str>, path: &str) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(w) = who {
            req = req.bearer_auth(&self.tokens[w]);
        }
        req.send().await.unwrap()
    }

    /// A GET without credentials, as JSON.
    pub(crate) async fn public_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.fetch(None, path).await.json().await.unwrap()
    }

    /// A GET without credentials, as text.
    pub(crate) async fn public_text(&self, path: &str) -> String {
        self.fetch(None, path).await.text().await.unwrap()
    }

    /// A GET as `who`, as text.
    pub(crate) async fn text_as(&self, who: &str, path: &str) -> String {
        self.fetch(Some(who), path).await.text().await.unwrap()
    }

    pub(crate) async fn call(
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

    pub(crate) async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(who), reqwest::Method::POST, path, Some(body), None)
            .await
    }

    pub(crate) async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.call(Some(who), reqwest::Method::GET, path, None, None)
            .await
    }
}

pub(crate) fn report(domain: &str) -> Value {
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

pub(crate) fn kind(p: &Value) -> &str {
    p["type"].as_str().unwrap().rsplit('/').next().unwrap()
}

/// Another server on the same database, serving metrics to `metrics_from` and trusting the
/// proxies named: its base URL, and what stops it when dropped.
pub(crate) async fn second_server(
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

pub(crate) async fn decided_block(s: &Server, domain: &str) -> Value {
    let (st, out) = decide_measure(
        s,
        domain,
        json!({"kind": "block", "target": {"type": "domain", "value": domain}, "recipient_org": "china-telecom"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    out["measures"][0].clone()
}

/// Decides one block measure with `measure` (kind, target, …) for china-telecom; returns the
/// decision's status and body.
pub(crate) async fn decide_measure(
    s: &Server,
    domain: &str,
    measure: Value,
) -> (StatusCode, Value) {
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

pub(crate) async fn export(s: &Server, who: &str, path: &str) -> (StatusCode, String, Option<i64>) {
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

pub(crate) const TAXII: &str = "application/taxii+json;version=2.1";

/// A TAXII request: status, headers and JSON body.
pub(crate) async fn taxii(
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
pub(crate) async fn taxii_all(
    s: &Server,
    who: &str,
    coll: &str,
    query: &str,
) -> (Vec<Value>, usize) {
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

pub(crate) fn ext(o: &Value, key: &str) -> String {
    o["extensions"]
        .as_object()
        .and_then(|e| e.values().next())
        .and_then(|v| v[key].as_str())
        .unwrap_or("")
        .to_owned()
}

pub(crate) fn stix_tlp(level: &str) -> &'static str {
    match level {
        "amber" => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "green" => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        _ => "",
    }
}

/// Polls an import until it has finished.
pub(crate) async fn finished_import(s: &Server, who: &str, id: &str) -> Value {
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

/// A block on `target` (an allow-listed loopback address, so with a reason), acknowledged and
/// reported back by the recipient: ready to verify. Returns the notice id.
pub(crate) async fn awaiting_verification(s: &Server, domain: &str, target: Value) -> String {
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

/// The cookie `name` that a response sets, if any.
pub(crate) fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

/// A form body, as a browser sends it.
pub(crate) fn form(
    req: reqwest::RequestBuilder,
    fields: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    req.header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

pub(crate) fn hidden_csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// A console page as a signed-in person sees it (English): status and body.
pub(crate) async fn console_get(s: &Server, session: &str, path: &str) -> (StatusCode, String) {
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
pub(crate) async fn console_post(
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
pub(crate) async fn add_person(s: &Server, org: &str, name: &str, role: Role, password: &str) {
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
pub(crate) async fn post_console_login(
    s: &Server,
    name: &str,
    password: &str,
) -> reqwest::Response {
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
pub(crate) async fn console_sign_in(s: &Server, org: &str, role: Role) -> (String, String) {
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
