//! The `warden` binary, as people and scripts run it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod deploy;
mod enforce;
mod interop;

use enforce::*;
use interop::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// `warden serve --demo` on a free port in `dir`; stopped when dropped.
struct Served {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`, read from the start-up banner.
    base: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_demo(dir: &std::path::Path, db: &str, extra: &[&str]) -> Served {
    let mut args = vec!["--demo"];
    args.extend_from_slice(extra);
    serve(dir, db, &args)
}

/// `warden serve` on a free port in `dir` with `extra` options.
fn serve(dir: &std::path::Path, db: &str, extra: &[&str]) -> Served {
    let mut args = vec!["serve", "--db", db, "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    start(dir, &args)
}

/// `warden ARGS` in `dir`, serving: the address read from its banner.
fn start(dir: &std::path::Path, args: &[&str]) -> Served {
    // The server's log goes to a file, so a start that fails can say why.
    let log_path = dir.join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let Some(addr) = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
    else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "warden serve did not start: {line:?}\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    };
    Served {
        base: format!("http://{addr}"),
        child,
        _stdout: stdout,
    }
}

fn warden(args: &[&str]) -> (i32, String, String) {
    // A directory of its own: defaults such as warden-data/master.key never land in the
    // source tree, nor leak from one test into another.
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .current_dir(cwd.path())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn calendar_answers() {
    assert_eq!(
        warden(&["calendar", "add-working-days", "2026-09-28", "10"]).1,
        "2026-10-16\n"
    );
    assert_eq!(
        warden(&["calendar", "add-working-days", "2026-02-10", "10"]).1,
        "2026-03-02\n"
    );
    assert_eq!(
        warden(&["calendar", "add-working-days", "2031-06-02", "5"]).1,
        "2031-06-09 provisional\n"
    );
    assert_eq!(
        warden(&["calendar", "is-working-day", "2026-10-10"]).1,
        "working\n"
    );
    assert_eq!(
        warden(&["calendar", "is-working-day", "2026-10-01"]).1,
        "rest\n"
    );
    assert_eq!(
        warden(&["calendar", "count", "2026-09-28", "2026-10-16"]).1,
        "10\n"
    );
    let (_, list, _) = warden(&["calendar", "list", "2026-10-07", "2026-10-08"]);
    assert_eq!(list, "2026-10-07 rest\n2026-10-08 working\n");
}

#[test]
fn bad_input_is_a_message_and_a_failure() {
    let (code, out, err) = warden(&["calendar", "add-working-days", "2026-02-30", "1"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("not a date like 2026-09-28"), "{err}");
    let (code, _, err) = warden(&["calendar", "count", "2026-01-01"]);
    assert_eq!(code, 2, "usage error: {err}");
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cal.toml");
    std::fs::write(
        &cal,
        "[[notice]]\nyear = 2027\nsource = \"x\"\nholidays = []\nworkdays = [2027-01-05]\n",
    )
    .unwrap();
    let (code, _, err) = warden(&[
        "calendar",
        "--calendar",
        cal.to_str().unwrap(),
        "is-working-day",
        "2027-01-05",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cal.toml: notice[0] (year 2027).workdays[0]: 2027-01-05 is a Tuesday"),
        "{err}"
    );
    let (code, _, err) = warden(&["migrate", "--db", "mysql://x"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid database URL"), "{err}");
    // A read-only node reads PostgreSQL (a replica), never an embedded file.
    let ro_db = format!("sqlite://{}/ro.db", dir.path().display());
    let (code, _, err) = warden(&[
        "serve",
        "--read-only",
        "--db",
        &ro_db,
        "--master-key-file",
        dir.path().join("ro.key").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("a read-only node reads a PostgreSQL"), "{err}");
    assert!(!dir.path().join("ro.db").exists());
    // Refused before anything is created.
    let key = dir.path().join("master.key");
    let (code, _, err) = warden(&[
        "serve",
        "--metrics-from",
        "10.0.0.0/8,intranet",
        "--master-key-file",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--metrics-from \"intranet\" is not a network like 10.0.0.0/8"),
        "{err}"
    );
    assert!(!key.exists());
}

#[test]
fn a_calendar_file_replaces_the_builtin_one() {
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cn.toml");
    let builtin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/calendar/cn.toml"
    ))
    .unwrap();
    std::fs::write(
        &cal,
        format!("{builtin}\n[[notice]]\nyear = 2027\nsource = \"test\"\nholidays = [{{ name = \"元旦\", from = 2027-01-01, to = 2027-01-03 }}]\nworkdays = []\n"),
    )
    .unwrap();
    let c = cal.to_str().unwrap();
    assert_eq!(
        warden(&[
            "calendar",
            "--calendar",
            c,
            "add-working-days",
            "2026-12-31",
            "1"
        ])
        .1,
        "2027-01-04\n"
    );
    assert_eq!(
        warden(&["calendar", "add-working-days", "2026-12-31", "1"]).1,
        "2027-01-01 provisional\n"
    );
}

#[test]
fn migrate_then_serve_with_health() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    let (code, out, err) = warden(&["migrate", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("schema version {}", warden_store::SCHEMA_VERSION)),
        "{out}"
    );
    let served = serve_demo(
        dir.path(),
        &db,
        &["--clock-start", "2026-09-28T10:00:00+08:00"],
    );
    let base = served.base.clone();
    let body: serde_json::Value = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    drop(served);
    assert_eq!(body["status"], "ok");
    assert_eq!(
        body["database"]["schema_version"],
        warden_store::SCHEMA_VERSION
    );
    assert!(
        body["time"]
            .as_str()
            .unwrap()
            .starts_with("2026-09-28T02:0"),
        "simulated clock: {body}"
    );
}

/// `warden` with `stdin` as its standard input.
fn warden_with_input(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// An empty database made ready for production: the national bodies and the first person,
/// once; then served without the demo, administered by MIIT over the API.
#[test]
fn init_prepares_an_empty_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    let (code, _, err) = warden_with_input(&["init", "--db", &db], "short\n");
    assert_eq!(code, 1);
    assert!(err.contains("at least 12 characters"), "{err}");
    let mk = dir.path().join("warden-data/master.key");
    let mk = mk.to_str().unwrap();
    let (code, out, err) = warden_with_input(
        &["init", "--db", &db, "--master-key-file", mk],
        "correct horse battery\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("35 organisations added") && out.contains("admin@miit"),
        "{out}"
    );
    // The root key's fingerprint, to be handed to members out of band.
    let fingerprint = out
        .lines()
        .skip_while(|l| !l.starts_with("Root key fingerprint"))
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(fingerprint.len(), 64, "{out}");
    // The database file is the owner's alone, whatever the umask.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("w.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (code, out, _) = warden_with_input(&["init", "--db", &db], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("already initialised") && out.contains("nothing changed"),
        "{out}"
    );
    let (code, token, err) = warden(&[
        "admin", "token", "create", "--org", "miit", "--role", "admin", "--db", &db,
    ]);
    assert_eq!(code, 0, "{err}");
    let token = token.lines().last().unwrap().to_owned();
    let served = serve(dir.path(), &db, &[]);
    // The key set the server publishes is endorsed by the root with that fingerprint.
    let keys = get_json(&format!("{}/api/v1/keys", served.base), &token);
    assert_eq!(keys["root"]["fingerprint"], fingerprint.as_str());
    assert!(
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["endorsement"].is_string()),
        "{keys}"
    );
    let list = get_json(
        &format!(
            "{}/api/v1/organisations?type=provincial_authority",
            served.base
        ),
        &token,
    );
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["province"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 31, "{list}");
    assert!(codes.contains(&"32") && codes.contains(&"65"));
    let (status, o) = post_json(
        &format!("{}/api/v1/organisations", served.base),
        &token,
        r#"{"slug": "js-mobile", "name": "江苏移动", "type": "telecom_operator", "province": "32",
            "contacts": {"responsible_department": "网络安全部",
              "responsible_person": {"name": "甲", "phone": "+862555500001", "email": ""},
              "contact_person": {"name": "乙", "phone": "+862555500002", "email": ""}}}"#,
    );
    assert_eq!(status, 201, "{o}");
    // The first person signs in to the console with the password given to init.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let login = c
            .get(format!("{}/console/login", served.base))
            .send()
            .await
            .unwrap();
        let cookie = login
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("warden_login="))
            .and_then(|v| v.split(';').next())
            .unwrap()
            .to_owned();
        let html = login.text().await.unwrap();
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        c.post(format!("{}/console/login", served.base))
            .header("cookie", format!("warden_login={cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "username=admin%40miit&password=correct+horse+battery&csrf={csrf}"
            ))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 303, "signed in and sent on");
    drop(served);

    // The same rules from the shell, acting with MIIT's authority.
    let (code, out, err) = warden(&["org", "list", "--type", "provincial_authority", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 31, "{out}");
    assert!(
        out.contains("ca-jiangsu\tprovincial_authority\t32\tactive\t江苏省通信管理局"),
        "{out}"
    );
    let file = dir.path().join("org.json");
    std::fs::write(
        &file,
        r#"{"slug": "js-unicom", "name": "江苏联通", "type": "telecom_operator", "province": "32"}"#,
    )
    .unwrap();
    let (code, _, err) = warden(&[
        "org",
        "register",
        "--file",
        file.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("Art. 5"), "{err}");
    let (code, _, err) = warden(&[
        "org",
        "suspend",
        "js-mobile",
        "--reason",
        "licence revoked",
        "--db",
        &db,
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = warden(&["org", "show", "js-mobile", "--db", &db]);
    assert!(
        out.contains("\"status\": \"suspended\"") && out.contains("cli:"),
        "{out}"
    );
    let (code, _, err) = warden(&[
        "org",
        "suspend",
        "js-mobile",
        "--reason",
        "again",
        "--db",
        &db,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("already suspended"), "{err}");
}

/// A binary older than its database refuses to run rather than write a schema it does not
/// know.
#[test]
fn a_database_newer_than_the_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    let (code, _, err) = warden(&["migrate", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from a newer warden', 1, x'00', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
    });
    for args in [
        vec!["migrate", "--db", db.as_str()],
        vec!["serve", "--db", db.as_str(), "--listen", "127.0.0.1:0"],
    ] {
        let (code, _, err) = warden(&args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains("newer than this binary"), "{err}");
    }
}

/// A first demo start killed at any point leaves a database every later start completes.
#[test]
fn a_demo_start_cut_short_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/demo.db", dir.path().display());
    for ms in [100u64, 200, 300, 400, 500, 700] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .current_dir(dir.path())
            .args(["serve", "--demo", "--db", &db, "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        // SIGKILL: nothing runs after it.
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let served = serve_demo(dir.path(), &db, &[]);
    let token = demo_token(dir.path(), "secco-alpha", "reporter");
    let cases = get_json(&format!("{}/api/v1/cases?limit=100", served.base), &token);
    assert!(
        cases["items"].as_array().is_some_and(|c| !c.is_empty()),
        "{cases}"
    );
    let miit = demo_token(dir.path(), "miit", "reviewer");
    let all = get_json(&format!("{}/api/v1/cases?limit=100", served.base), &miit);
    assert_eq!(all["items"].as_array().unwrap().len(), 15, "{all}");
}

#[test]
fn tokens_and_users_are_administered() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    // Load the demo organisations, then stop.
    drop(serve_demo(dir.path(), &db, &[]));

    let (code, stdout, stderr) = warden(&[
        "admin",
        "token",
        "create",
        "--org",
        "secco-alpha",
        "--role",
        "reporter",
        "--db",
        &db,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let token = stdout.lines().last().unwrap();
    assert!(token.starts_with("wdn_") && token.len() == 61, "{stdout}");
    assert!(stderr.contains("shown only now"));
    let prefix = &token[..12];
    let (_, list, _) = warden(&[
        "admin",
        "token",
        "list",
        "--org",
        "secco-alpha",
        "--db",
        &db,
    ]);
    assert!(list.contains(prefix) && list.contains("active"), "{list}");
    assert!(!list.contains(&token[13..]), "secrets are never listed");
    let (code, _, _) = warden(&["admin", "token", "revoke", prefix, "--db", &db]);
    assert_eq!(code, 0);
    let (_, list, _) = warden(&[
        "admin",
        "token",
        "list",
        "--org",
        "secco-alpha",
        "--db",
        &db,
    ]);
    assert!(list.contains("revoked"), "{list}");
    let (code, _, err) = warden(&[
        "admin", "token", "create", "--org", "nobody", "--role", "reporter", "--db", &db,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no organisation with slug \"nobody\""),
        "{err}"
    );

    let user = |name: &str, password: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args([
                "admin", "user", "create", "--org", "cncert", "--name", name, "--role", "analyst",
                "--db", &db,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        writeln!(c.stdin.take().unwrap(), "{password}").unwrap();
        let o = c.wait_with_output().unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(user("ann", "a long enough passphrase").0, 0);
    let (code, err) = user("ann", "a long enough passphrase");
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, err) = user("bob", "short");
    assert_eq!(code, 1);
    assert!(err.contains("at least 12"), "{err}");
}

/// A block on `domain` reported, determined and decided over HTTP by clients made with
/// `warden admin token create`: the recipient's signed notice and the published keys.
fn decided_notice(base: &str, db: &str, domain: &str) -> (String, String) {
    let token = |org: &str, role: &str| {
        let (code, out, err) = warden(&[
            "admin", "token", "create", "--org", org, "--role", role, "--db", db,
        ]);
        assert_eq!(code, 0, "{err}");
        out.lines().last().unwrap().to_owned()
    };
    let (reporter, analyst, reviewer, responder) = (
        token("secco-alpha", "reporter"),
        token("cncert", "analyst"),
        token("ca-guangdong", "reviewer"),
        token("china-telecom", "responder"),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let post = |t: &str, p: String, b: serde_json::Value| {
            c.post(format!("{base}{p}")).bearer_auth(t).json(&b).send()
        };
        let r: serde_json::Value = post(&reporter, "/api/v1/reports".into(), serde_json::json!({
            "category": "malicious_resource", "subtype": "c2", "title": "C2", "description": "Botnet C2",
            "observed_at": "2026-11-01T10:00:00+08:00", "province": "44",
            "indicators": [{"type": "domain", "value": domain}]
        })).await.unwrap().json().await.unwrap();
        let case = r["case_id"].as_str().unwrap().to_owned();
        let d = post(&analyst, format!("/api/v1/cases/{case}/determination"),
            serde_json::json!({"verdict": "confirmed", "severity": "high", "rationale": "sandbox"})).await.unwrap();
        assert_eq!(d.status(), 200);
        let out: serde_json::Value = post(&reviewer, format!("/api/v1/cases/{case}/decision"), serde_json::json!({
            "outcome": "approved", "reasons": "block",
            "measures": [{"kind": "block", "target": {"type": "domain", "value": domain}, "recipient_org": "china-telecom"}]
        })).await.unwrap().json().await.unwrap();
        let nid = out["measures"][0]["notice_id"].as_str().unwrap().to_owned();
        let notice = c.get(format!("{base}/api/v1/notices/{nid}")).bearer_auth(&responder).send().await.unwrap().text().await.unwrap();
        let keys = c.get(format!("{base}/api/v1/keys")).send().await.unwrap().text().await.unwrap();
        (notice, keys)
    })
}

/// `warden notice verify` on a notice and the key set saved to files: exit code and output.
fn verify_notice(dir: &std::path::Path, notice: &str, keys: &str) -> (i32, String, String) {
    let np = dir.join("notice.json");
    let kp = dir.join("keys.json");
    std::fs::write(&np, notice).unwrap();
    std::fs::write(&kp, keys).unwrap();
    warden(&[
        "notice",
        "verify",
        np.to_str().unwrap(),
        "--keys",
        kp.to_str().unwrap(),
    ])
}

/// A backup taken while the server writes, restored elsewhere: the trail verifies, and the
/// restored server signs notices with the authorities' keys the master key unseals.
#[test]
fn a_backup_taken_while_serving_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/warden-data/demo.db", dir.path().display());
    let served = serve_demo(dir.path(), &db, &[]);
    let reporter = demo_token(dir.path(), "secco-alpha", "reporter");
    // Writes keep arriving while the backup runs.
    let base = served.base.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..40 {
            let (st, body) = post_json(
                &format!("{base}/api/v1/reports"),
                &reporter,
                &format!(
                    r#"{{"category": "malicious_resource", "subtype": "c2", "title": "During backup {i}",
                        "description": "d", "observed_at": "2026-11-01T10:00:00+08:00", "province": "44",
                        "indicators": [{{"type": "domain", "value": "during-{i}.example.cn"}}]}}"#
                ),
            );
            assert_eq!(st, 201, "{body}");
        }
    });
    let to = dir.path().join("backup");
    let mk = dir.path().join("warden-data/master.key");
    let (code, out, err) = warden(&[
        "backup",
        "--db",
        &db,
        "--to",
        to.to_str().unwrap(),
        "--master-key-file",
        mk.to_str().unwrap(),
    ]);
    writer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("backed up"), "{out}");
    // A second backup into the same place is refused rather than overwriting.
    let (code, _, err) = warden(&[
        "backup",
        "--db",
        &db,
        "--to",
        to.to_str().unwrap(),
        "--master-key-file",
        mk.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("exists"), "{err}");
    drop(served);

    let restored = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(restored.path().join("data")).unwrap();
    std::fs::copy(to.join("warden.db"), restored.path().join("data/warden.db")).unwrap();
    std::fs::copy(
        to.join("master.key"),
        restored.path().join("data/master.key"),
    )
    .unwrap();
    let rdb = format!("sqlite://{}/data/warden.db", restored.path().display());
    let rmk = restored.path().join("data/master.key");
    // The restored key is the one that signed the checkpoints.
    let (code, out, err) = warden(&[
        "audit",
        "verify",
        "--db",
        &rdb,
        "--master-key-file",
        rmk.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("intact: ") && out.contains("signed checkpoints verified"),
        "{out}"
    );
    let served = serve(
        restored.path(),
        &rdb,
        &["--master-key-file", rmk.to_str().unwrap()],
    );
    let (notice, keys) = decided_notice(&served.base, &rdb, "after-restore.example.cn");
    drop(served);
    let (code, out, err) = verify_notice(restored.path(), &notice, &keys);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("valid: notice"), "{out}");
    // Held to the root fingerprint: the restored platform's root, and no other.
    let root = serde_json::from_str::<serde_json::Value>(&keys).unwrap()["root"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let (np, kp) = (
        restored.path().join("notice.json"),
        restored.path().join("keys.json"),
    );
    let rooted = |fp: &str| {
        warden(&[
            "notice",
            "verify",
            np.to_str().unwrap(),
            "--keys",
            kp.to_str().unwrap(),
            "--root",
            fp,
        ])
    };
    let (code, out, err) = rooted(&root);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("endorsed by the root key"), "{out}");
    let (code, _, err) = rooted(&"0".repeat(64));
    assert_eq!(code, 1);
    assert!(err.contains("not this platform's"), "{err}");
}

/// The configuration file: serve's options by name, the environment and the command line
/// winning over it, `config check` naming the first mistake.
#[test]
fn a_configuration_file_sets_serve_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("warden.toml");
    std::fs::write(
        &conf,
        "db = \"sqlite://configured.db\"\nlisten = \"127.0.0.1:0\"\nmetrics_from = [\"10.0.0.0/8\", \"127.0.0.0/8\"]\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
    )
    .unwrap();
    let check = |env: &[(&str, &str)]| {
        let o = Command::new(env!("CARGO_BIN_EXE_warden"))
            .current_dir(dir.path())
            .args(["config", "check"])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, err) = check(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("sqlite://configured.db") && out.contains("10.0.0.0/8,127.0.0.0/8"),
        "{out}"
    );
    let (_, out, _) = check(&[("WARDEN_DB", "sqlite://from-env.db")]);
    assert!(
        out.contains("sqlite://from-env.db"),
        "the environment wins: {out}"
    );
    // serve reads it: the database named there is the one created.
    drop(serve(dir.path(), "sqlite://cli.db", &[]));
    assert!(dir.path().join("cli.db").exists(), "the command line wins");
    drop(start(dir.path(), &["serve", "--listen", "127.0.0.1:0"]));
    assert!(dir.path().join("configured.db").exists());
    for (bad, says) in [
        ("lisen = \"127.0.0.1:1\"\n", "unknown setting \"lisen\""),
        ("metrics_from = \"10.0.0.0/33\"\n", "metrics_from"),
        ("listen = 8080\n", "expected a string"),
        ("db = \"mysql://x\"\n", "neither sqlite"),
    ] {
        std::fs::write(&conf, bad).unwrap();
        let (code, _, err) = check(&[]);
        assert_eq!(code, 1, "{bad}");
        assert!(err.contains(says), "{bad}: {err}");
    }
}

/// From a decision over HTTP to `warden notice verify` on the saved documents.
#[test]
fn notices_verify_offline_and_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    let mk = dir.path().join("master.key");
    let served = serve_demo(
        dir.path(),
        &db,
        &["--master-key-file", mk.to_str().unwrap()],
    );
    let (notice, keys) = decided_notice(&served.base, &db, "c2.example.cn");
    drop(served);
    let np = dir.path().join("notice.json");
    let kp = dir.path().join("keys.json");
    std::fs::write(&np, &notice).unwrap();
    std::fs::write(&kp, &keys).unwrap();
    let (code, out, err) = warden(&[
        "notice",
        "verify",
        np.to_str().unwrap(),
        "--keys",
        kp.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("valid: notice"), "{out}");
    // One changed character of the target is caught.
    let tampered = notice.replacen("c2.example.cn", "c3.example.cn", 1);
    assert_ne!(tampered, notice);
    std::fs::write(&np, tampered).unwrap();
    let (code, _, err) = warden(&[
        "notice",
        "verify",
        np.to_str().unwrap(),
        "--keys",
        kp.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("INVALID"), "{err}");
    // The master key file was created private, and no private key is in the database file.
    let db_bytes = std::fs::read(dir.path().join("w.db")).unwrap();
    let master = std::fs::read_to_string(&mk).unwrap();
    assert!(
        !db_bytes
            .windows(master.trim().len())
            .any(|w| w == master.trim().as_bytes())
    );
}

#[test]
fn audit_verify_names_the_first_altered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    let served = serve_demo(dir.path(), &db, &[]);
    // A member keeps a copy of the published checkpoints, fetched without credentials.
    let saved = dir.path().join("checkpoints.json");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let page: serde_json::Value = rt.block_on(async {
        for _ in 0..100 {
            let page: serde_json::Value =
                reqwest::get(format!("{}/api/v1/audit/checkpoints", served.base))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
            if !page["items"].as_array().unwrap().is_empty() {
                return page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no checkpoint was signed");
    });
    assert_eq!(page["items"][0]["number"], 1);
    std::fs::write(&saved, page.to_string()).unwrap();
    drop(served);
    let saved = saved.to_str().unwrap();
    // The saved page's key checks the signatures where no master key is.
    let (code, out, err) = warden(&["audit", "verify", "--db", &db, "--against", saved, "--deep"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("saved checkpoints found unchanged"), "{out}");
    assert!(out.contains("each agrees with the trail"), "{out}");
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
        // Whoever can write to the database makes a block look revoked in the live row.
        sqlx::query("UPDATE measures SET block_status = 'revoked' WHERE block_status = 'active' AND id = (SELECT MIN(id) FROM measures WHERE block_status = 'active')")
            .execute(&pool)
            .await
            .unwrap();
    });
    let (code, out, err) = warden(&["audit", "verify", "--db", &db, "--no-signatures", "--deep"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("DIFFERS measure") && out.contains("block_status"),
        "{out}"
    );
    assert!(err.contains("1 of"), "{err}");
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
        sqlx::query("UPDATE measures SET block_status = 'active' WHERE block_status = 'revoked' AND body LIKE '%\"status\":\"active\"%'")
            .execute(&pool)
            .await
            .unwrap();
        // ... and removes the checkpoints, so a rewritten chain would verify by itself.
        sqlx::query("DELETE FROM audit_checkpoints")
            .execute(&pool)
            .await
            .unwrap();
    });
    let (code, _, _) = warden(&["audit", "verify", "--db", &db, "--no-signatures"]);
    assert_eq!(code, 0, "without a saved copy nothing shows");
    let (code, _, err) = warden(&["audit", "verify", "--db", &db, "--against", saved]);
    assert_eq!(code, 1);
    assert!(
        err.contains("checkpoint 1") && err.contains("missing from the database"),
        "{err}"
    );
    for _ in 0..3 {
        let (code, _, err) = warden(&[
            "admin", "token", "create", "--org", "cncert", "--role", "analyst", "--db", &db,
        ]);
        assert_eq!(code, 0, "{err}");
    }
    // Without the master key the signatures cannot be checked: that fails unless asked for.
    let (code, _, err) = warden(&["audit", "verify", "--db", &db]);
    assert_eq!(code, 1);
    assert!(err.contains("--no-signatures"), "{err}");
    let mk = dir.path().join("warden-data/master.key");
    let (code, out, err) = warden(&[
        "audit",
        "verify",
        "--db",
        &db,
        "--master-key-file",
        mk.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("intact: "), "{out}");
    let (code, out, err) = warden(&["audit", "verify", "--db", &db, "--no-signatures"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("signatures not checked"), "{out}");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = '{\"kind\":\"public\"}' WHERE seq = 20")
            .execute(&pool)
            .await
            .unwrap();
    });
    let (code, _, err) = warden(&["audit", "verify", "--db", &db, "--no-signatures"]);
    assert_eq!(code, 1);
    assert!(err.contains("BROKEN at entry 20"), "{err}");
}

/// `warden bench seed` fills an initialised database with a data set whose trail and rows
/// verify, and refuses a database that holds cases already.
#[test]
fn bench_seed_fills_an_initialised_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    let mk = dir.path().join("master.key");
    let mk = mk.to_str().unwrap();
    let (code, _, err) = warden_with_input(
        &["init", "--db", &db, "--master-key-file", mk],
        "correct horse battery\n",
    );
    assert_eq!(code, 0, "{err}");
    let seed = [
        "bench",
        "seed",
        "--db",
        &db,
        "--master-key-file",
        mk,
        "--orgs",
        "80",
        "--cases",
        "400",
        "--blocks",
        "600",
        "--batch",
        "150",
    ];
    let (code, out, err) = warden(&seed);
    assert_eq!(code, 0, "{out}{err}");
    let done = out.lines().find(|l| l.starts_with("done in")).unwrap();
    assert!(
        done.contains("80 organisations") && done.contains("400 cases"),
        "{done}"
    );
    // The blocks asked for are in force (a generated value that does not parse is dropped).
    let in_force: usize = done
        .split(" blocks in force")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((590..=600).contains(&in_force), "{done}");
    let (code, out, err) = warden(&[
        "audit",
        "verify",
        "--db",
        &db,
        "--master-key-file",
        mk,
        "--deep",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("intact"), "{out}");
    // A compliance tally edited behind the server's back no longer matches the measures.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
        sqlx::query("UPDATE measure_tallies SET overdue = overdue + 1 WHERE rowid = (SELECT MIN(rowid) FROM measure_tallies)")
            .execute(&pool)
            .await
            .unwrap();
    });
    let (code, out, _) = warden(&["audit", "verify", "--db", &db, "--no-signatures", "--deep"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DIFFERS measure_tally"), "{out}");
    let (code, _, err) = warden(&seed);
    assert_ne!(code, 0);
    assert!(err.contains("holds cases"), "{err}");
}
