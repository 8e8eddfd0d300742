//! TAXII 2.1 and STIX 2.1: blocks, threats version by version, envelopes taken in.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both!(
    taxii_serves_blocks_and_takes_in_stix,
    taxii_shares_threats_version_by_version,
);

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
    // A later TLP:RED sighting of the same threat makes the case red as a whole, yet what
    // the green report brought stays shared and nothing of the red report reaches members.
    let mut red = report("green.example.cn");
    red["tlp"] = json!("red");
    red["title"] = json!("Red-only title");
    red["indicators"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "domain", "value": "red.example.cn"}));
    let (st, r) = s.post("netco", "/api/v1/reports", red).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["case_id"], g["case_id"], "a sighting of the green case");
    let (_, whole) = s.get("cncert", &gcase).await;
    assert_eq!(whole["tlp"], "red", "the most restrictive of its reports");
    assert!(whole["indicators"].to_string().contains("red.example.cn"));
    let (others, _) = taxii_all(&s, "mobile", "threats", "").await;
    let gid = g["case_id"].as_str().unwrap();
    let shared: Vec<&Value> = others.iter().filter(|o| ext(o, "case_id") == gid).collect();
    assert!(
        shared
            .iter()
            .any(|o| o["name"] == "domain green.example.cn")
    );
    assert!(
        shared.iter().all(|o| {
            let t = o.to_string();
            !t.contains("red.example.cn") && !t.contains("Red-only")
        }),
        "{shared:#?}"
    );
    assert!(
        shared
            .iter()
            .filter(|o| o["type"] == "indicator")
            .all(|o| o["object_marking_refs"][0] == stix_tlp("green")),
        "marked at the level of what is shown"
    );
    // A sighting makes its sender no party to the case: it sees its own report and the
    // outcome, not the institution's reasoning.
    let (st, seen) = s.get("netco", &gcase).await;
    assert_eq!(st, StatusCode::OK, "{seen}");
    assert_eq!(seen["determination"]["verdict"], "confirmed");
    assert_eq!(seen["determination"]["rationale"], "", "{seen}");
    assert!(
        seen["indicators"].to_string().contains("red.example.cn"),
        "{seen}"
    );
    // Its reporter sees its own red report's part, the handling institution everything.
    let (theirs, _) = taxii_all(&s, "netco", "threats", "").await;
    assert!(theirs.iter().any(|o| o["name"] == "domain red.example.cn"));
    let (inside, _) = taxii_all(&s, "cncert", "threats", "").await;
    assert!(inside.iter().any(|o| o["name"] == "domain red.example.cn"));
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
