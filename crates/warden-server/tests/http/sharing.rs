//! Bulletins to members and publications to everyone (Art. 6).

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both!(bulletins_reach_their_audience_and_publications_everyone,);

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
    let list: Value = s.public_json("/api/v1/publications").await;
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
