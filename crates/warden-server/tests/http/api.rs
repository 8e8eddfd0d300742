//! The service as a whole: health, problems, the OpenAPI document, who may call what, and
//! the demo world.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use warden_core::org::{Actor, Role};
use warden_server::{HealthResponse, Problem};
use warden_service::admin;

on_both!(
    health_and_problems,
    authorization_matrix,
    timeliness_figures_are_kept_between_writes,
);

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
    // Errors the HTTP layers make come as problems too, with their headers kept.
    let as_problem = |r: reqwest::Response| async move {
        let st = r.status();
        let allow = r.headers().get("allow").cloned();
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{st}"
        );
        let p: Problem = r.json().await.unwrap();
        (st, p.kind.rsplit('/').next().unwrap().to_owned(), allow)
    };
    let r = s
        .http
        .delete(format!("{}/api/v1/cases", s.base))
        .bearer_auth(&s.tokens["miit"])
        .send()
        .await
        .unwrap();
    let (st, k, allow) = as_problem(r).await;
    assert_eq!(
        (st, k.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
    );
    assert!(allow.is_some(), "Allow is kept");
    let r = s
        .http
        .get(format!("{}/api/v1/cases?limit=abc", s.base))
        .bearer_auth(&s.tokens["miit"])
        .send()
        .await
        .unwrap();
    let (st, k, _) = as_problem(r).await;
    assert_eq!((st, k.as_str()), (StatusCode::BAD_REQUEST, "invalid-query"));
    // Every JSON body must be declared as JSON, batch look-ups and invitations included.
    for (who, path, body) in [
        ("miit", "/api/v1/lookup", r#"{"values": ["a.example.cn"]}"#),
        (
            "telecom-admin",
            "/api/v1/organisations/china-telecom/people",
            r#"{"name": "x@china-telecom", "roles": ["responder"]}"#,
        ),
    ] {
        let r = s
            .http
            .post(format!("{}{path}", s.base))
            .bearer_auth(&s.tokens[who])
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{path}");
    }
    // Open routes take no credentials, but credentials that are sent must be good.
    for path in [
        "/api/v1/publications",
        "/api/v1/publications.atom",
        "/api/v1/audit/checkpoints",
        "/api/v1/audit/checkpoints.atom",
    ] {
        let url = format!("{}{path}", s.base);
        let open = s.http.get(&url).send().await.unwrap();
        assert_eq!(open.status(), 200, "{path}");
        let wrong = s
            .http
            .get(&url)
            .bearer_auth("wdn_00000000_not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
    }
    // A declared length over the limit is refused at once, without waiting for the body.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = s.base.trim_start_matches("http://").to_owned();
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        conn.write_all(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n",
        )
        .await
        .unwrap();
        let mut head = vec![0u8; 512];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut head))
            .await
            .expect("answered without the body")
            .unwrap();
        let head = String::from_utf8_lossy(&head[..n]).into_owned();
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
        assert!(head.contains("application/problem+json"), "{head}");
    }
    let r = s
        .http
        .get(format!("{}/api/v1/reports/%FF", s.base))
        .bearer_auth(&s.tokens["miit"])
        .send()
        .await
        .unwrap();
    let (st, _, _) = as_problem(r).await;
    assert!(st.is_client_error(), "{st}");

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
    // Only Bearer is offered: Basic is for TAXII and the feeds.
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"warden\"");
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
    let text = s.public_text("/metrics").await;
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
    let (st, body) = metrics(proxied.clone(), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(body.contains("127.0.0.1"), "{body}");
    // TLS ended at the trusted proxy: HSTS, and the console's cookies only over TLS. The
    // same header from anyone else changes nothing.
    let login = |base: String, proto: Option<&'static str>| async move {
        let mut r = reqwest::Client::new().get(format!("{base}/console/login"));
        if let Some(p) = proto {
            r = r.header("x-forwarded-proto", p);
        }
        let r = r.send().await.unwrap();
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (
            r.headers().contains_key("strict-transport-security"),
            cookie,
        )
    };
    let (hsts, cookie) = login(proxied.clone(), Some("https")).await;
    assert!(hsts && cookie.contains("; Secure"), "{cookie}");
    let (hsts, cookie) = login(proxied, None).await;
    assert!(!hsts && !cookie.contains("Secure"), "{cookie}");
    let (hsts, cookie) = login(direct, Some("https")).await;
    assert!(
        !hsts && !cookie.contains("Secure"),
        "not a trusted proxy: {cookie}"
    );
}

/// Every route the server serves is in the OpenAPI document, and every documented operation
/// is served: a request to each reaches its handler, not the fallback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route() {
    let s = on_sqlite().await;
    let doc: Value = s.public_json("/api/v1/openapi.json").await;
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
        ("get", "/api/v1/notices/{id}/telephone"),
        ("get", "/api/v1/penalties"),
        ("post", "/api/v1/inquiries"),
        ("get", "/api/v1/inquiries"),
        ("get", "/api/v1/inquiries/{id}"),
        ("post", "/api/v1/inquiries/{id}/answer"),
        ("post", "/api/v1/notices/{id}/written-notice"),
        ("post", "/api/v1/notices/{id}/probes"),
        ("post", "/api/v1/measures/{id}/appeals"),
        ("post", "/api/v1/public/appeals"),
        ("get", "/api/v1/appeals/{id}"),
        ("post", "/api/v1/appeals/{id}/decision"),
        ("post", "/api/v1/admin/clock/advance"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/audit/verify"),
        ("get", "/api/v1/audit/status"),
        ("get", "/api/v1/audit/checkpoints"),
        ("get", "/api/v1/audit/checkpoints.atom"),
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
        ("get", "/api/v1/organisations"),
        ("post", "/api/v1/organisations"),
        ("get", "/api/v1/organisations/{slug}"),
        ("patch", "/api/v1/organisations/{slug}"),
        ("post", "/api/v1/organisations/{slug}/suspension"),
        ("delete", "/api/v1/organisations/{slug}/suspension"),
        ("get", "/api/v1/organisations/{slug}/people"),
        ("post", "/api/v1/organisations/{slug}/people"),
        ("patch", "/api/v1/people/{name}"),
        ("post", "/api/v1/people/{name}/reset"),
        ("get", "/api/v1/organisations/{slug}/tokens"),
        ("post", "/api/v1/organisations/{slug}/tokens"),
        ("delete", "/api/v1/tokens/{prefix}"),
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
                .replace("{slug}", "no-such-org")
                .replace("{name}", "nobody")
                .replace("{prefix}", "wdn_00000000")
        );
        let req = match method.as_str() {
            "get" => s.http.get(&url),
            "patch" => s.http.patch(&url).json(&json!({})),
            "delete" => s.http.delete(&url),
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
    let (_, inq) = s
        .post(
            "gd",
            "/api/v1/inquiries",
            json!({"addressee": "china-telecom", "subject": {"type": "ipv4", "value": "45.33.12.9"},
                   "question": "Who holds it?", "province": "44"}),
        )
        .await;
    let inquiry_id = inq["id"].as_str().unwrap().to_owned();
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
    // A person of a Guangdong member the people routes act on.
    add_person(
        &s,
        "cloud-alpha",
        "matrix.person@cloud-alpha",
        Role::Reporter,
        "a matrix passphrase",
    )
    .await;
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
                "/api/v1/audit/checkpoints",
                "/api/v1/audit/checkpoints.atom",
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
                .replace(
                    "/api/v1/inquiries/{id}",
                    &format!("/api/v1/inquiries/{inquiry_id}"),
                )
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
                )
                // Not one of ORGS: suspending it leaves the matrix's tokens working.
                .replace(
                    "/api/v1/organisations/{slug}",
                    "/api/v1/organisations/cloud-alpha",
                )
                .replace("{name}", "matrix.person@cloud-alpha");
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
                "/api/v1/organisations" => json!({
                    "slug": "matrix-co", "name": "矩阵公司", "type": "internet_company", "province": "44",
                    "contacts": {"responsible_department": "安全部",
                        "responsible_person": {"name": "甲", "phone": "+862055501234", "email": ""},
                        "contact_person": {"name": "乙", "phone": "", "email": "soc@matrix.example.cn"}}
                }),
                "/api/v1/organisations/{slug}/suspension" => json!({"reason": "r"}),
                "/api/v1/organisations/{slug}/people" => {
                    json!({"name": "matrix.invited@cloud-alpha", "roles": ["reporter"]})
                }
                "/api/v1/organisations/{slug}/tokens" => json!({"roles": ["reporter"]}),
                "/api/v1/inquiries" => json!({"addressee": "china-telecom", "province": "44",
                    "subject": {"type": "domain", "value": "matrix-lookup.example.cn"}, "question": "Registrant?"}),
                "/api/v1/inquiries/{id}/answer" => {
                    json!({"holder": "Holder", "evidence": "WHOIS record"})
                }
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
                        ("post", "/api/v1/notices/{id}/phone-notification")
                        | ("post", "/api/v1/notices/{id}/written-notice") => {
                            role == Reviewer && org == "ca-guangdong"
                        }
                        // The matrix's notice is not an emergency: no one has a sheet.
                        ("get", "/api/v1/notices/{id}/telephone") => false,
                        ("get", "/api/v1/penalties") | ("get", "/api/v1/inquiries") => true,
                        // Asked of china-telecom by Guangdong's reviewer (see below).
                        ("post", "/api/v1/inquiries") => {
                            (role == Reviewer && authority44(org))
                                || (role == Analyst && ["cncert", "caict"].contains(&org))
                        }
                        ("get", "/api/v1/inquiries/{id}") => {
                            authority44(org) || org == "china-telecom"
                        }
                        ("post", "/api/v1/inquiries/{id}/answer") => {
                            org == "china-telecom" && (role == Responder || role == Admin)
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
                        ("get", "/api/v1/audit/verify") | ("get", "/api/v1/audit/status") => {
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
                        ("get", "/api/v1/organisations")
                        | ("get", "/api/v1/organisations/{slug}") => true,
                        // A Guangdong member: MIIT's and Guangdong's admins administer it.
                        ("post", "/api/v1/organisations")
                        | ("post", "/api/v1/organisations/{slug}/suspension")
                        | ("get", "/api/v1/organisations/{slug}/people")
                        | ("post", "/api/v1/organisations/{slug}/people")
                        | ("post", "/api/v1/people/{name}/reset")
                        | ("get", "/api/v1/organisations/{slug}/tokens")
                        | ("post", "/api/v1/organisations/{slug}/tokens") => {
                            role == Admin && authority44(org)
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
        62 * ORGS.len() * Role::ALL.len(),
        "62 authenticated routes"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_world_has_cases_in_every_state() {
    let s = on_sqlite().await;
    // A first start whose tokens cannot be kept stops before committing any account.
    let failed = warden_service::demo::populate(&s.state.svc, &mut |_, _| {
        Err(std::io::Error::other("disk full"))
    })
    .await;
    assert!(failed.is_err());
    assert!(
        s.store
            .principal_by_name("reviewer@ca-guangdong")
            .await
            .unwrap()
            .is_none()
    );
    let mut kept = vec![];
    let world = warden_service::demo::populate(&s.state.svc, &mut |t, all| {
        assert!(all, "a first start makes every demo account");
        kept = t.to_vec();
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(kept, world.tokens);
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
    assert_eq!(world.cases, 15);
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
            "acknowledged",
            // Telephoned on the emergency path, the written notice still owed.
            "delivered",
            "feedback_filed",
            "issued",
            "issued",
            "issued",
            "verified",
            "verified",
            "verified",
            "verified",
            "verified"
        ]
    );
    // A month of use: cases opened over at least three weeks, on working days, in the past.
    let opened: Vec<time::OffsetDateTime> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            time::OffsetDateTime::parse(
                c["opened_at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .collect();
    let first = opened.iter().min().unwrap();
    assert!(*first <= NOW - time::Duration::days(21), "{first}");
    assert!(opened.iter().all(|t| *t <= NOW));
    // A publication on the public page and in the feed, and a bulletin to the operators.
    let (_, publications) = s.get("secco", "/api/v1/publications").await;
    assert_eq!(publications["items"].as_array().unwrap().len(), 1);
    let atom = s.public_text("/api/v1/publications.atom").await;
    assert!(atom.contains("仿冒政府补贴网站"), "{atom}");
    let (_, bulletins) = s.get("telecom", "/api/v1/bulletins").await;
    assert_eq!(bulletins["items"].as_array().unwrap().len(), 1);
    // A second start adds nothing.
    let again = warden_service::demo::populate(&s.state.svc, &mut |_, _| Ok(()))
        .await
        .unwrap();
    assert_eq!((again.cases, again.tokens.len()), (0, 0));
    assert!(s.store.verify_audit().await.unwrap().intact);
}

/// Slow and idle clients cannot hold the server: connections over the cap get a 503
/// problem at once, a half-sent header is dropped after the header timeout, a quiet
/// connection after the idle timeout, and a slot freed serves the next client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_and_slow_clients_dropped() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    let s = on_sqlite().await;
    let mut state = s.state.clone();
    state.connections = warden_server::listen::ConnectionLimits {
        max_connections: 2,
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warden_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    async fn read_all(c: &mut TcpStream) -> String {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }
    // Two clients: one sends half a header, one sends nothing.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut quiet = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The third is over the cap: answered at once, without its request being read.
    let started = Instant::now();
    let mut third = TcpStream::connect(addr).await.unwrap();
    let answer = read_all(&mut third).await;
    assert!(
        answer.starts_with("HTTP/1.1 503") && answer.contains("too-many-connections"),
        "{answer}"
    );
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // The half-sent header is dropped within the header timeout (hyper answers 408 or closes).
    let started = Instant::now();
    let answer = read_all(&mut slow).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The quiet one within its timeouts too, and the freed slots serve a new client.
    let _ = read_all(&mut quiet).await;
    let mut next = TcpStream::connect(addr).await.unwrap();
    next.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut next).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A connection that stops in the middle of a body is closed once quiet.
    let mut body = TcpStream::connect(addr).await.unwrap();
    body.write_all(
        b"POST /api/v1/public/appeals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ref",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let _ = read_all(&mut body).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    // Headers over the limits are a problem too, not a bare 431.
    let http = reqwest::Client::new();
    let mut many = http.get(format!("http://{addr}/api/v1/cases"));
    for i in 0..150 {
        many = many.header(format!("x-h{i}"), "1");
    }
    let big = http
        .get(format!("http://{addr}/api/v1/cases"))
        .header("x-big", "a".repeat(70_000));
    for req in [many, big] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 431);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert_eq!(kind(&p), "headers-too-large");
    }
}

/// Timeliness figures are kept: a node with a maximum age serves the figures it has after a
/// write (saying when they were computed) while it recomputes them in the background; a node
/// without one (the test server) recomputes at once.
async fn timeliness_figures_are_kept_between_writes(s: Server) {
    let clock = std::sync::Arc::new(warden_core::clock::FixedClock::new(NOW));
    let kept = node_beside(&s)
        .clock(clock.clone())
        .statistics_max_age(time::Duration::seconds(60))
        .build();
    let miit = kept.token_actor(&s.tokens["miit"]).await.unwrap();
    let filter = || warden_service::filters::TimelinessFilter {
        group_by: warden_core::stats::GroupBy::Province,
        from: None,
        to: None,
    };
    let cases = |r: &warden_service::proto::TimelinessReport| -> u64 {
        r.groups.iter().map(|g| g.cases).sum()
    };
    let first = kept.timeliness(&miit, filter()).await.unwrap();
    assert_eq!(first.as_of, "2026-09-28T10:00:00+08:00", "{}", first.as_of);
    let (st, body) = s
        .post("secco", "/api/v1/reports", report("kept-figures.evil.cn"))
        .await;
    assert_eq!(st, 201, "{body}");

    // The test server recomputes after every write.
    let (st, now) = s
        .get("miit", "/api/v1/stats/timeliness?group_by=province")
        .await;
    assert_eq!(st, 200, "{now}");
    let total: u64 = now["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["cases"].as_u64().unwrap())
        .sum();
    assert_eq!(total, cases(&first) + 1);

    // The node with a maximum age answers with what it has; once they are a quarter of that
    // age old, it recomputes them in the background and catches up.
    let stale = kept.timeliness(&miit, filter()).await.unwrap();
    assert_eq!(stale.groups, first.groups);
    clock.advance(time::Duration::seconds(20));
    let stale = kept.timeliness(&miit, filter()).await.unwrap();
    assert_eq!(stale.groups, first.groups);
    assert_eq!(stale.as_of, first.as_of);
    let mut caught_up = None;
    for _ in 0..200 {
        let r = kept.timeliness(&miit, filter()).await.unwrap();
        if cases(&r) == total {
            caught_up = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let r = caught_up.expect("the background recomputation never landed");
    assert_eq!(r.as_of, "2026-09-28T10:00:20+08:00");
    // Older than the maximum age after a write, figures are computed before answering.
    let (st, body) = s
        .post("secco", "/api/v1/reports", report("kept-figures-2.evil.cn"))
        .await;
    assert_eq!(st, 201, "{body}");
    clock.advance(time::Duration::seconds(61));
    let r = kept.timeliness(&miit, filter()).await.unwrap();
    assert_eq!(cases(&r), total + 1);
    assert_eq!(r.as_of, "2026-09-28T10:01:21+08:00");
}
