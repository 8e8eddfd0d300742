//! Registry data, feeds and the standard tools that talk to Warden (pymisp, the OASIS TAXII
//! client and STIX validator), and verification probes against a resolver.

use super::*;

#[test]
fn registry_imports_feed_attribution() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/demo.db", dir.path().display());
    drop(serve_demo(dir.path(), &db, &[]));
    let delegated = dir.path().join("delegated-apnic-extended-latest");
    std::fs::write(
        &delegated,
        "2|apnic|20261128|5|19830613|20261127|+1000\n\
         apnic|*|ipv4|*|3|summary\n\
         apnic|CN|ipv4|1.0.1.0|256|20110414|allocated|A1\n\
         apnic|CN|ipv4|1.0.2.0|768|20110414|allocated|A1\n\
         apnic|CN|asn|4134|1|20020801|allocated|A1\n\
         apnic|CN|ipv4|1.1.0.0|256|20110414|allocated|B2\n\
         apnic|CN|ipv4|1.2.x.0|256|20110414|allocated|A1\n",
    )
    .unwrap();
    let file = delegated.to_str().unwrap();
    let (code, _, err) = warden(&[
        "registry",
        "import",
        "--db",
        &db,
        "--format",
        "delegated",
        file,
    ]);
    assert_eq!(code, 1, "the holder must be named");
    assert!(err.contains("--org"), "{err}");
    let (code, out, err) = warden(&[
        "registry",
        "import",
        "--db",
        &db,
        "--format",
        "delegated",
        file,
        "--org",
        "china-telecom",
        "--opaque-id",
        "A1",
    ]);
    assert_eq!(code, 1, "one bad line: {err}");
    assert!(
        err.contains("line 7: start \"1.2.x.0\" is not an IPv4 address"),
        "{err}"
    );
    // The demo world already holds AS4134 for china-telecom.
    assert!(
        out.contains("3 claims imported, 1 already in the registry, 1 lines rejected"),
        "{out}"
    );
    let pfx = dir.path().join("routeviews-rv2-pfx2as.txt");
    std::fs::write(&pfx, "1.0.1.0\t24\t4134\n1.0.64.0\t18\t18144\n").unwrap();
    let (code, out, err) = warden(&[
        "registry",
        "import",
        "--db",
        &db,
        "--format",
        "pfx2as",
        pfx.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("line 2: AS18144 is claimed by no organisation"),
        "{err}"
    );
    assert!(
        out.contains("0 claims imported, 1 already in the registry"),
        "{out}"
    );
    let reg = dir.path().join("registrars.csv");
    std::fs::write(&reg, "shop.example.cn,registrar-alpha\n").unwrap();
    let (code, out, err) = warden(&[
        "registry",
        "import",
        "--db",
        &db,
        "--format",
        "registrar",
        reg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 claims imported"), "{out}");
    let (code, out, err) = warden(&[
        "attribute",
        "--db",
        &db,
        "1.0.3.7",
        "www.shop.example.cn",
        "+8618912345678",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["attribution"]["holder"]["org"], "china-telecom");
    assert_eq!(
        lines[0]["attribution"]["holder"]["evidence"]["resource"],
        "1.0.2.0/23"
    );
    assert!(
        lines[0]["attribution"]["holder"]["evidence"]["source"]
            .as_str()
            .unwrap()
            .starts_with("import:delegated-apnic-extended-latest:4")
    );
    assert_eq!(
        lines[1]["attribution"]["registrar"]["org"],
        "registrar-alpha"
    );
    assert_eq!(lines[2]["attribution"]["carrier"]["org"], "china-telecom");
}

/// The demo world's token of `org` with `role`, from the tokens file `serve --demo` writes.
/// The python with the OASIS tools and PyMISP (scripts/test sets WARDEN_PYTHON).
pub(crate) fn python() -> String {
    std::env::var("WARDEN_PYTHON").unwrap_or_else(|_| {
        panic!("WARDEN_PYTHON is unset: run scripts/test, or set it to the python that scripts/python-env prints")
    })
}

pub(crate) fn demo_token(dir: &std::path::Path, org: &str, role: &str) -> String {
    let text = std::fs::read_to_string(dir.join("warden-data/demo-tokens.txt")).unwrap();
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 3 && f[0] == org && f[1] == role).then(|| f[2].to_owned())
        })
        .unwrap_or_else(|| panic!("no demo token for {role}@{org}"))
}

pub(crate) fn post_json(url: &str, token: &str, body: &str) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        (st, r.json().await.unwrap_or_default())
    })
}

pub(crate) fn get_json(url: &str, token: &str) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}

#[test]
fn dns_probes_pass_against_a_resolver_enforcing_the_export_and_fail_without() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/demo.db", dir.path().display());
    // Probes may reach loopback here only because this policy says so.
    let policy = dir.path().join("policy");
    std::fs::create_dir(&policy).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/policy");
    for f in ["national.toml", "44.toml"] {
        let text = std::fs::read_to_string(root.join(f))
            .unwrap()
            .replace("allow_networks = []", "allow_networks = [\"127.0.0.0/8\"]");
        std::fs::write(policy.join(f), text).unwrap();
    }
    let served = serve_demo(dir.path(), &db, &["--policy-dir", policy.to_str().unwrap()]);
    let verifier = demo_token(dir.path(), "cncert", "verifier");
    let responder = demo_token(dir.path(), "china-telecom", "responder");
    let list = get_json(
        &format!("{}/api/v1/notices?status=feedback_filed", served.base),
        &verifier,
    );
    let notice = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["target"]["value"] == "fake-shop.example.cn")
        .unwrap_or_else(|| panic!("no notice awaiting verification: {list}"));
    let nid = notice["id"].as_str().unwrap().to_owned();
    let probe_url = format!("{}/api/v1/notices/{nid}/probes", served.base);

    let zone = format!("{UPSTREAM_ZONE}fake-shop IN A 203.0.113.20\n");
    let rpz = dir.path().join("warden.rpz");
    let (code, _, err) = warden(&["export", "rpz", "--db", &db, "--out", rpz.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let empty = dir.path().join("empty.rpz");
    std::fs::write(
        &empty,
        "$TTL 300\n@ IN SOA localhost. hostmaster.localhost. 1 3600 600 604800 300\n@ IN NS localhost.\n",
    )
    .unwrap();
    let enforcing = unbound_with(dir.path(), &rpz, &zone);
    let open = unbound_with(dir.path(), &empty, &zone);

    // Refused before any packet leaves: a special-purpose address policy does not allow.
    let (st, p) = post_json(
        &probe_url,
        &verifier,
        r#"{"method": "dns", "resolvers": ["10.0.0.1"]}"#,
    );
    assert_eq!(st, 422, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("special-purpose"),
        "{p}"
    );
    // Only the determining institution's verifiers probe.
    let (st, _) = post_json(&probe_url, &responder, r#"{"method": "tcp"}"#);
    assert_eq!(st, 403);

    // A resolver without the zone still answers: the block does not hold, the notice reopens.
    let body = format!(
        r#"{{"method": "dns", "resolvers": ["127.0.0.1:{}"]}}"#,
        open.port
    );
    let (st, r) = post_json(&probe_url, &verifier, &body);
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["result"], "failed", "{r}");
    assert!(
        r["evidence"].as_str().unwrap().contains("203.0.113.20"),
        "{r}"
    );
    assert_eq!(r["notice"]["status"], "reopened");
    // The recipient reports back again; the resolver enforcing Warden's export passes.
    let (st, _) = post_json(
        &format!("{}/api/v1/notices/{nid}/feedback", served.base),
        &responder,
        r#"{"outcome": "done", "actions_taken": "Loaded the RPZ on every resolver"}"#,
    );
    assert_eq!(st, 200);
    let body = format!(
        r#"{{"method": "dns", "resolvers": ["127.0.0.1:{}"]}}"#,
        enforcing.port
    );
    let (st, r) = post_json(&probe_url, &verifier, &body);
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["result"], "passed", "{r}");
    assert!(r["evidence"].as_str().unwrap().contains("NXDOMAIN"), "{r}");
    assert!(
        r["evidence"].as_str().unwrap().contains("raw answer"),
        "{r}"
    );
    assert_eq!(r["notice"]["status"], "verified");
    drop(served);
}

/// The OASIS tools against `serve --demo`: taxii2-client pages every collection, filters by
/// `added_after` and POSTs an envelope to `complete`; stix2-validator finds no error in any
/// object served. WARDEN_PYTHON is the venv `scripts/python-env` makes (scripts/test sets it).
#[test]
fn oasis_taxii_client_and_stix_validator_accept_the_taxii_service() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let served = serve_demo(dir.path(), "sqlite://warden-data/demo.db", &[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/taxii-check.py");
    let out = Command::new(&python)
        .args([
            script,
            &served.base,
            &dir.path()
                .join("warden-data/demo-tokens.txt")
                .display()
                .to_string(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("stix2-validator: 0 errors"), "{stdout}");
    assert!(stdout.contains(": complete, 1 taken in"), "{stdout}");
}

/// `warden import`: plain, CSV, NDJSON, MISP and STIX feeds; bad lines go to the reject file
/// with their line and reason and make the exit status 1; repeats within and across feeds
/// are counted as sightings.
/// `warden import FILE --format F --as-org ORG --db DB`, then `extra`.
pub(crate) fn import(
    file: &str,
    format: &str,
    org: &str,
    db: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "import", file, "--format", format, "--as-org", org, "--db", db,
    ];
    args.extend_from_slice(extra);
    warden(&args)
}

#[test]
fn feeds_import_with_rejects_and_sightings() {
    let dir = tempfile::tempdir().unwrap();
    let _served = serve_demo(dir.path(), "sqlite://warden-data/demo.db", &[]);
    let db = format!("sqlite://{}/warden-data/demo.db", dir.path().display());
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let plain = write(
        "feed.txt",
        "# a feed\n  Evil.Feed-Test.CN \n198.51.100.200\nevil.feed-test.cn\nnot a value\n\n2001:DB8::77\n",
    );
    let (code, out, err) = import(&plain, "plain", "secco-alpha", &db, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("7 lines, 4 indicators accepted (3 new, 1 merged as sightings), 1 rejected"),
        "{out}"
    );
    let rejects = std::fs::read_to_string(format!("{plain}.rejects")).unwrap();
    assert!(rejects.starts_with("line 5: "), "{rejects}");
    // Clean feeds exit 0; what an earlier feed brought is merged.
    let csv = write(
        "feed.csv",
        "first_seen,type,value\n2026-11-01,domain,EVIL.feed-test.cn\n2026-11-01,url,\"http://x.feed-test.cn/a,b\"\n",
    );
    let (code, out, _) = import(&csv, "csv", "secco-alpha", &db, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 indicators accepted (1 new, 1 merged as sightings), 0 rejected"),
        "{out}"
    );
    assert!(!std::path::Path::new(&format!("{csv}.rejects")).exists());
    let nd = write(
        "feed.ndjson",
        "{\"type\":\"ipv4\",\"value\":\"198.51.100.200\"}\n{\"value\":\"203.0.113.201\"}\n",
    );
    let (code, out, _) = import(&nd, "ndjson", "netco-alpha", &db, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 indicators accepted (1 new, 1 merged"),
        "{out}"
    );
    // A MISP feed directory: manifest.json and its events.
    let misp = dir.path().join("misp");
    std::fs::create_dir(&misp).unwrap();
    let uuid = "5f3e1c0a-0d2e-4d8e-9a3f-1c2b3d4e5f60";
    std::fs::write(
        misp.join("manifest.json"),
        format!("{{\"{uuid}\": {{\"info\": \"wave\"}}}}"),
    )
    .unwrap();
    std::fs::write(
        misp.join(format!("{uuid}.json")),
        r#"{"Event": {"uuid": "5f3e1c0a-0d2e-4d8e-9a3f-1c2b3d4e5f60", "Attribute": [
            {"type": "ip-dst|port", "value": "203.0.113.202|443"},
            {"type": "text", "value": "campaign notes"}],
          "Object": [{"Attribute": [{"type": "hostname", "value": "c2.Feed-Test.cn"}]}]}}"#,
    )
    .unwrap();
    let misp_rejects = dir.path().join("misp.rejects").display().to_string();
    let (code, out, _) = import(
        &misp.display().to_string(),
        "misp",
        "secco-alpha",
        &db,
        &["--rejects", &misp_rejects],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("3 lines, 2 indicators accepted (2 new, 0 merged as sightings), 1 rejected"),
        "{out}"
    );
    let rejects = std::fs::read_to_string(dir.path().join("misp.rejects")).unwrap();
    assert!(
        rejects.contains("attribute 2") && rejects.contains("\"text\""),
        "{rejects}"
    );
    // A STIX bundle.
    let stix = write(
        "bundle.json",
        r#"{"type": "bundle", "id": "bundle--1", "objects": [
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--5b1e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
             "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
             "valid_from": "2026-11-01T00:00:00Z", "pattern_type": "stix",
             "pattern": "[domain-name:value = 'evil.feed-test.cn' OR url:value = 'http://y.feed-test.cn/']"}]}"#,
    );
    let (code, out, _) = import(&stix, "stix", "secco-alpha", &db, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 indicators accepted (1 new, 1 merged"),
        "{out}"
    );
    let (code, _, err) = import(&stix, "xml", "secco-alpha", &db, &[]);
    assert_ne!(code, 0);
    assert!(
        err.contains("expected csv, ndjson, plain, stix or misp"),
        "{err}"
    );
    // Documents are streamed: a bundle cut short fails where it breaks, after what came before.
    let cut = write(
        "cut.json",
        "{\"type\": \"bundle\", \"objects\": [{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--6b1e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"created\": \"2026-11-01T00:00:00.000Z\", \"modified\": \"2026-11-01T00:00:00.000Z\", \"valid_from\": \"2026-11-01T00:00:00Z\", \"pattern_type\": \"stix\", \"pattern\": \"[ipv4-addr:value = '198.51.100.251']\"},\n {\"type\": \"indic",
    );
    let (code, out, err) = import(&cut, "stix", "secco-alpha", &db, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("cut.json: not a STIX bundle") && err.contains("line 2"),
        "{err}"
    );
    let (code, _, err) = import(&stix, "stix", "nobody", &db, &[]);
    assert_ne!(code, 0);
    assert!(err.contains("--as-org nobody"), "{err}");
}

/// A feed longer than one batch: batches grow from 25,000 distinct indicators, and a repeat
/// of what an earlier batch brought is merged, not counted new, whichever batch it falls in.
#[test]
fn a_feed_of_many_batches_counts_each_indicator_once() {
    let dir = tempfile::tempdir().unwrap();
    drop(serve_demo(dir.path(), "sqlite://warden-data/demo.db", &[]));
    let db = format!("sqlite://{}/warden-data/demo.db", dir.path().display());
    let ip = |i: u32| std::net::Ipv4Addr::from(0x0A00_0000 + i).to_string();
    let mut feed = String::new();
    for i in 0..60_000u32 {
        feed.push_str(&ip(i));
        feed.push('\n');
        // Every twelfth line repeats a value of the first batch.
        if i % 12 == 11 {
            feed.push_str(&format!(" {} \n", ip(i % 20_000)));
        }
    }
    feed.push_str("10.0.0.300\n");
    let path = dir.path().join("big.txt");
    std::fs::write(&path, feed).unwrap();
    let path = path.display().to_string();
    let (code, out, err) = import(&path, "plain", "secco-alpha", &db, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(
            "65001 lines, 65000 indicators accepted (60000 new, 5000 merged as sightings), 1 rejected"
        ),
        "{out}"
    );
    let rejects = std::fs::read_to_string(format!("{path}.rejects")).unwrap();
    assert!(rejects.starts_with("line 65001: "), "{rejects}");
    // Again: nothing is new, everything is a sighting.
    let (_, out, _) = import(&path, "plain", "netco-alpha", &db, &[]);
    assert!(
        out.contains("65000 indicators accepted (0 new, 65000 merged as sightings)"),
        "{out}"
    );
}

/// A MISP feed written by PyMISP (manifest.json and event files, objects included) imports
/// with the counts PyMISP reports: every attribute a line, those without a Warden type rejected.
#[test]
fn a_misp_feed_written_by_pymisp_imports_with_the_same_counts() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let _served = serve_demo(dir.path(), "sqlite://warden-data/demo.db", &[]);
    let feed = dir.path().join("misp-feed");
    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/misp-feed.py"
        ))
        .arg(&feed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (total, mappable) = (
        counts["attributes"].as_u64().unwrap(),
        counts["mappable"].as_u64().unwrap(),
    );
    let db = format!("sqlite://{}/warden-data/demo.db", dir.path().display());
    let rejects = dir.path().join("rejects.txt").display().to_string();
    let (code, out, err) = import(
        &feed.display().to_string(),
        "misp",
        "secco-alpha",
        &db,
        &["--rejects", &rejects],
    );
    assert_eq!(code, i32::from(total != mappable), "{out}{err}");
    let want = format!(
        "{total} lines, {mappable} indicators accepted (9 new, 1 merged as sightings), {} rejected",
        total - mappable
    );
    assert!(out.contains(&want), "{out}\nwanted: {want}");
}
