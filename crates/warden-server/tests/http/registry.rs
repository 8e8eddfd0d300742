//! The resource registry: attribution, routing, and verification probes.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use warden_core::clock::FixedClock;
use warden_service::keys;

on_both!(
    the_registry_attributes_and_routes,
    a_server_started_later_knows_and_follows_the_registry,
    probes_check_http_and_tcp_and_refuse_special_addresses,
    the_demo_registry_answers_and_routes,
);

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
    let text = include_str!("../../../../data/policy/national.toml")
        .replace("allow_networks = []", "allow_networks = [\"127.0.0.0/8\"]");
    let pol = warden_core::policy::Policy::load(&[
        ("national.toml", text.as_str()),
        ("44.toml", include_str!("../../../../data/policy/44.toml")),
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
    warden_service::demo::populate(&s.state.svc, &mut |_, _| Ok(()))
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

/// Another server on the same database (scale-out, or a restart): it attributes with the
/// claims approved before it started, and learns of those approved elsewhere after.
async fn a_server_started_later_knows_and_follows_the_registry(s: Server) {
    let approve = |body: Value| {
        let s = &s;
        async move {
            let (st, claim) = s.post("telecom-admin", "/api/v1/resources", body).await;
            assert_eq!(st, StatusCode::CREATED, "{claim}");
            let id = claim["id"].as_str().unwrap().to_owned();
            let (st, out) = s
                .post(
                    "gd",
                    &format!("/api/v1/resources/{id}/decision"),
                    json!({"outcome": "approved", "reasons": "checked against the RIR records"}),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{out}");
        }
    };
    approve(json!({"kind": "prefix", "value": "61.140.0.0/14", "asn": 4134, "province": "44"}))
        .await;
    let (base, _stop) = second_server(&s, "127.0.0.0/8", &[]).await;
    let holder = |value: &'static str| {
        let (http, base, token) = (s.http.clone(), base.clone(), s.tokens["netco"].clone());
        async move {
            let r = http
                .get(format!("{base}/api/v1/attribution?value={value}"))
                .bearer_auth(token)
                .send()
                .await
                .ok()?;
            let a: Value = r.json().await.ok()?;
            a["holder"]["org"].as_str().map(str::to_owned)
        }
    };
    let mut first = None;
    for _ in 0..50 {
        first = holder("61.141.2.3").await;
        if first.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        first.as_deref(),
        Some("china-telecom"),
        "known from the start"
    );
    approve(json!({"kind": "prefix", "value": "58.60.0.0/14", "asn": 4134, "province": "44"}))
        .await;
    let mut later = None;
    for _ in 0..100 {
        later = holder("58.61.2.3").await;
        if later.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(later.as_deref(), Some("china-telecom"), "followed after");
}
