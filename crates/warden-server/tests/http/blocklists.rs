//! Lookups, exports and deltas, allow-lists, and a second server following the blocklist.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use warden_core::clock::FixedClock;
use warden_service::keys;

on_both!(
    blocklists_answer_lookups_and_export,
    allowlists_guard_blocks,
    a_second_server_follows_the_blocklist,
    a_serial_seen_on_another_node_is_answered,
);

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
    let trail = s.store.audit(0, 10_000, None).await.unwrap();
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

/// A client behind a proxy takes a serial from one node and asks another for the changes since
/// it: a node that has not caught up yet reads the database instead of refusing the serial;
/// a serial past the database's is still refused.
async fn a_serial_seen_on_another_node_is_answered(s: Server) {
    decided_block(&s, "seen-elsewhere.example.cn").await;
    let r = s
        .http
        .get(format!("{}/api/v1/blocklists/rpz", s.base))
        .bearer_auth(&s.tokens["telecom"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let serial: i64 = r.headers()["x-warden-serial"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(serial > 0);
    // Never started: its matcher is empty, at serial 0.
    let other = node_beside(&s).build();
    let telecom = other.token_actor(&s.tokens["telecom"]).await.unwrap();
    let since = |n| warden_service::filters::ExportFilter {
        since: Some(n),
        ..Default::default()
    };
    let e = other.export(&telecom, "rpz", &since(serial)).await.unwrap();
    assert_eq!(e.serial, serial);
    let e = other
        .export(&telecom, "rpz", &since(serial - 1))
        .await
        .unwrap();
    assert_eq!(e.serial, serial);
    let err = other
        .export(&telecom, "rpz", &since(serial + 1))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("not between 0 and the current serial"),
        "{err}"
    );
}
