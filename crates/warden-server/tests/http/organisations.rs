//! Organisations over the API: the installed national bodies, registration by MIIT and by a
//! province, Art. 5 contacts kept by the organisation, suspension, and a whole lifecycle
//! carried out by organisations registered through the API.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_core::org::{Actor, Role};
use warden_service::admin;

on_both!(
    organisations_are_registered_by_their_authority,
    a_suspended_organisation_stops_at_once,
    members_registered_through_the_api_carry_a_case_to_the_end,
);

fn contacts(tag: &str) -> Value {
    json!({
        "responsible_department": "网络安全部",
        "responsible_person": {"name": format!("负责人{tag}"), "phone": "+862555501234", "email": ""},
        "contact_person": {"name": format!("联系人{tag}"), "phone": "", "email": format!("soc@{tag}.example.cn")}
    })
}

fn member(slug: &str, t: &str, province: &str) -> Value {
    json!({"slug": slug, "name": format!("{slug} 有限公司"), "type": t, "province": province,
           "contacts": contacts(slug)})
}

/// A token of `org` with `role`, as `warden admin token create` makes it.
async fn token(s: &mut Server, name: &'static str, org: &str, role: Role) {
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
    s.tokens.insert(name, t.token);
}

async fn organisations_are_registered_by_their_authority(mut s: Server) {
    // All 31 provincial communications administrations, with their codes.
    let (st, list) = s
        .get("secco", "/api/v1/organisations?type=provincial_authority")
        .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 31);
    let js = items.iter().find(|o| o["slug"] == "ca-jiangsu").unwrap();
    assert_eq!(
        (&js["province"], &js["jurisdiction"], &js["name"]),
        (&json!("32"), &json!("32"), &json!("江苏省通信管理局"))
    );
    // Paging in slug order.
    let (_, page) = s
        .get(
            "secco",
            "/api/v1/organisations?type=provincial_authority&limit=20",
        )
        .await;
    let next = page["next"].as_str().unwrap();
    let (_, rest) = s
        .get(
            "secco",
            &format!("/api/v1/organisations?type=provincial_authority&limit=20&cursor={next}"),
        )
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(),
        31
    );
    assert!(rest["next"].is_null());
    let (st, p) = s.get("secco", "/api/v1/organisations?type=bank").await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-query"));

    // MIIT registers anywhere; Jiangsu in Jiangsu only.
    let (st, o) = s
        .post(
            "miit-admin",
            "/api/v1/organisations",
            member("gd-cloud", "service_provider", "44"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    let (st, o) = s
        .post(
            "js-admin",
            "/api/v1/organisations",
            member("js-net", "internet_company", "32"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    assert_eq!(
        (&o["status"], &o["art5_incomplete"]),
        (&json!("active"), &json!(false))
    );
    let (st, p) = s
        .post(
            "js-admin",
            "/api/v1/organisations",
            member("js-elsewhere", "internet_company", "44"),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction"),
        "{p}"
    );
    let (st, p) = s
        .post(
            "js-admin",
            "/api/v1/organisations",
            member("js-inst", "institution", "32"),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction")
    );
    let (st, p) = s
        .post(
            "js",
            "/api/v1/organisations",
            member("js-other", "internet_company", "32"),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, p) = s
        .post(
            "telecom-admin",
            "/api/v1/organisations",
            member("js-other", "internet_company", "32"),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation")
    );
    // A duplicate slug; missing and incomplete Art. 5 contacts; a province that is not one.
    let (st, p) = s
        .post(
            "js-admin",
            "/api/v1/organisations",
            member("js-net", "internet_company", "32"),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "duplicate"));
    assert!(p["detail"].as_str().unwrap().contains("js-net"), "{p}");
    let mut bare = member("js-bare", "telecom_operator", "32");
    bare.as_object_mut().unwrap().remove("contacts");
    let (st, p) = s.post("js-admin", "/api/v1/organisations", bare).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-organisation")
    );
    assert!(p["detail"].as_str().unwrap().contains("contacts"), "{p}");
    let mut half = member("js-half", "telecom_operator", "32");
    half["contacts"]["responsible_person"]["name"] = json!(" ");
    let (st, p) = s.post("js-admin", "/api/v1/organisations", half).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-organisation")
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("contacts.responsible_person"),
        "{p}"
    );
    let (st, p) = s
        .post(
            "js-admin",
            "/api/v1/organisations",
            member("js-city", "internet_company", "320100"),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-province")
    );
    let (st, _) = s.get("js-admin", "/api/v1/organisations/js-bare").await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "nothing of a refused registration stays"
    );

    // Contacts: the organisation and its authorities see them, other members do not.
    let (_, seen) = s.get("js-admin", "/api/v1/organisations/js-net").await;
    assert!(seen["contacts"].is_object(), "{seen}");
    let (_, seen) = s.get("secco", "/api/v1/organisations/js-net").await;
    assert!(seen.get("contacts").is_none(), "{seen}");
    let (_, seen) = s.get("gd", "/api/v1/organisations/js-net").await;
    assert!(seen.get("contacts").is_none(), "another province: {seen}");

    // Its own admin keeps the contacts current, and only them; each change is audited.
    token(&mut s, "js-net-admin", "js-net", Role::Admin).await;
    let patch = |body: Value| {
        let s = &s;
        async move {
            s.call(
                Some("js-net-admin"),
                Method::PATCH,
                "/api/v1/organisations/js-net",
                Some(body),
                None,
            )
            .await
        }
    };
    let (st, o) = patch(json!({"contacts": contacts("new")})).await;
    assert_eq!(st, StatusCode::OK, "{o}");
    assert_eq!(o["contacts"]["contact_person"]["name"], "联系人new");
    let (st, p) = patch(json!({"name": "改名"})).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation")
    );
    let (st, p) = patch(json!({"type": "security_company"})).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
    let (st, p) = patch(json!({"contacts": null})).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-organisation")
    );
    let (st, p) = patch(json!({"colour": "red"})).await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    // Jiangsu renames it but may not move it out of the province; MIIT may.
    let (st, o) = s
        .call(
            Some("js-admin"),
            Method::PATCH,
            "/api/v1/organisations/js-net",
            Some(json!({"name": "江苏网络科技有限公司", "supervising_unit": "supervisor-alpha"})),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{o}");
    assert_eq!(o["supervising_unit"], "supervisor-alpha");
    let (st, p) = s
        .call(
            Some("js-admin"),
            Method::PATCH,
            "/api/v1/organisations/js-net",
            Some(json!({"supervising_unit": "china-telecom"})),
            None,
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-organisation")
    );
    let (st, p) = s
        .call(
            Some("js-admin"),
            Method::PATCH,
            "/api/v1/organisations/js-net",
            Some(json!({"province": "44"})),
            None,
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction")
    );
    let (st, _) = s
        .call(
            Some("miit-admin"),
            Method::PATCH,
            "/api/v1/organisations/js-net",
            Some(json!({"province": "44"})),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, audit) = s.get("miit-auditor", "/api/v1/audit?limit=1000").await;
    let changes: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "organisation.updated")
        .collect();
    assert_eq!(changes.len(), 3, "only the accepted changes");
    assert!(
        changes
            .iter()
            .any(|e| e["data"]["changed"]["contacts"]["contact_person"]["name"] == "联系人new"),
        "{changes:?}"
    );
}

async fn a_suspended_organisation_stops_at_once(s: Server) {
    let (st, _) = s.get("mobile", "/api/v1/notices").await;
    assert_eq!(st, StatusCode::OK);
    // A province's admin suspends only its own members; MIIT anyone.
    let (st, p) = s
        .post(
            "js-admin",
            "/api/v1/organisations/china-mobile/suspension",
            json!({"reason": "licence revoked"}),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction")
    );
    let (st, o) = s
        .post(
            "miit-admin",
            "/api/v1/organisations/china-mobile/suspension",
            json!({"reason": "licence revoked"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{o}");
    assert_eq!(o["status"], "suspended");
    // Its tokens stop at once.
    let (st, p) = s.get("mobile", "/api/v1/notices").await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNAUTHORIZED, "credentials-unusable")
    );
    let (st, p) = s.get("mobile-admin", "/api/v1/organisations").await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNAUTHORIZED, "credentials-unusable")
    );
    // It is routed nothing new.
    let (st, p) = decide_measure(
        &s,
        "suspended-recipient.example.cn",
        json!({"kind": "block", "target": {"type": "domain", "value": "suspended-recipient.example.cn"}, "recipient_org": "china-mobile"}),
    )
    .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unroutable"),
        "{p}"
    );
    let (_, listed) = s
        .get("miit", "/api/v1/organisations?status=suspended")
        .await;
    assert_eq!(listed["items"][0]["slug"], "china-mobile");
    let (st, p) = s
        .post(
            "miit-admin",
            "/api/v1/organisations/china-mobile/suspension",
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    let (st, o) = s
        .call(
            Some("miit-admin"),
            Method::DELETE,
            "/api/v1/organisations/china-mobile/suspension",
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{o}");
    assert_eq!(o["status"], "active");
    let (st, _) = s.get("mobile", "/api/v1/notices").await;
    assert_eq!(st, StatusCode::OK);
}

/// The whole lifecycle carried out only by organisations registered through the API, with
/// tokens made as `warden admin token create` makes them, decided by Jiangsu.
async fn members_registered_through_the_api_carry_a_case_to_the_end(mut s: Server) {
    for (slug, t) in [
        ("js-mobile", "telecom_operator"),
        ("js-secco", "security_company"),
    ] {
        let (st, o) = s
            .post("js-admin", "/api/v1/organisations", member(slug, t, "32"))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{o}");
    }
    token(&mut s, "js-secco-reporter", "js-secco", Role::Reporter).await;
    token(&mut s, "js-mobile-responder", "js-mobile", Role::Responder).await;
    let mut r = report("js-phish.example.cn");
    r["province"] = json!("32");
    let (st, created) = s.post("js-secco-reporter", "/api/v1/reports", r).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let det = json!({"verdict": "confirmed", "severity": "medium", "rationale": "Confirmed"});
    let (st, d) = s
        .post("cncert", &format!("{case}/determination"), det)
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let decision = json!({"outcome": "approved", "reasons": "Block it", "measures": [
        {"kind": "block", "target": {"type": "domain", "value": "js-phish.example.cn"}, "recipient_org": "js-mobile"}
    ]});
    // Another province's reviewer is told nothing of the case.
    let (st, p) = s
        .post("gd", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::NOT_FOUND, "not-found"), "{p}");
    let (st, d) = s.post("js", &format!("{case}/decision"), decision).await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    let nid = d["measures"][0]["notice_id"].as_str().unwrap().to_owned();
    let (st, notice) = s
        .get("js-mobile-responder", &format!("/api/v1/notices/{nid}"))
        .await;
    assert_eq!(st, StatusCode::OK, "{notice}");
    assert!(
        s.keys().await.keys.iter().any(|k| k.org == "ca-jiangsu"),
        "Jiangsu signs its notices with its own key"
    );
    let (st, _) = s
        .post(
            "js-mobile-responder",
            &format!("/api/v1/notices/{nid}/ack"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .post(
            "js-mobile-responder",
            &format!("/api/v1/notices/{nid}/feedback"),
            json!({"outcome": "done", "actions_taken": "Listed in the RPZ"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s
        .post(
            "cncert-verifier",
            &format!("/api/v1/notices/{nid}/verification"),
            json!({"result": "passed", "method": "dns", "notes": "NXDOMAIN"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, hit) = s
        .get(
            "js-mobile-responder",
            "/api/v1/lookup?value=www.js-phish.example.cn",
        )
        .await;
    assert_eq!(hit["listed"], true, "{hit}");
}
