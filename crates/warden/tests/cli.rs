//! The `warden` binary, as people and scripts run it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    let (code, out, err) = warden_with_input(&["init", "--db", &db], "correct horse battery\n");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("35 organisations added") && out.contains("admin@miit"),
        "{out}"
    );
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
    drop(serve_demo(dir.path(), &db, &[]));
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

/// A resolver under test: Unbound on a free loopback port, serving an upstream zone of
/// `example.cn` names and enforcing `rpz`. Stopped when dropped.
struct Unbound {
    child: std::process::Child,
    port: u16,
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const UPSTREAM_ZONE: &str = "$ORIGIN example.cn.
$TTL 300
@ IN SOA ns.example.cn. hostmaster.example.cn. 1 3600 600 604800 300
@ IN NS ns.example.cn.
ns IN A 127.0.0.1
secure-pay-check IN A 203.0.113.10
www.secure-pay-check IN A 203.0.113.10
deep.www.secure-pay-check IN A 203.0.113.10
notsecure-pay-check IN A 203.0.113.11
bot-cnc IN A 203.0.113.12
ip-host IN A 198.51.100.77
other IN A 203.0.113.13
";

fn unbound(dir: &std::path::Path, rpz: &std::path::Path) -> Unbound {
    unbound_with(dir, rpz, UPSTREAM_ZONE)
}

fn unbound_with(dir: &std::path::Path, rpz: &std::path::Path, upstream: &str) -> Unbound {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let zone = dir.join(format!("upstream-{port}.zone"));
    std::fs::write(&zone, upstream).unwrap();
    let conf = dir.join(format!("unbound-{port}.conf"));
    // The upstream names come from an auth-zone used "for upstream", so answers pass through
    // the resolver's policy like fetched ones (a local-zone would bypass RPZ).
    std::fs::write(
        &conf,
        format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  use-syslog: no\n  logfile: \"\"\n  username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"\"\n  module-config: \"respip iterator\"\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\nauth-zone:\n  name: \"example.cn.\"\n  zonefile: \"{z}\"\n  for-upstream: yes\n  for-downstream: no\n  fallback-enabled: no\nrpz:\n  name: \"rpz.warden.\"\n  zonefile: \"{r}\"\n",
            d = dir.display(),
            z = zone.display(),
            r = rpz.display()
        ),
    )
    .unwrap();
    let check = Command::new("unbound-checkconf")
        .arg(&conf)
        .output()
        .expect(
            "unbound-checkconf is not installed: scripts/test installs Debian's unbound package",
        );
    assert!(check.status.success(), "{check:?}");
    let child = Command::new("unbound")
        .args(["-d", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("unbound is not installed: scripts/test installs Debian's unbound package");
    let mut u = Unbound { child, port };
    // Ready when it answers for a name it serves; a loaded machine may take a while.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(45);
    while std::time::Instant::now() < until {
        if dig(&u, "other.example.cn").0 == "NOERROR" {
            return u;
        }
        if let Ok(Some(status)) = u.child.try_wait() {
            panic!("unbound exited before answering on port {port}: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("unbound did not start answering on port {port} within 45 s");
}

/// (status, first answer) for an A query.
fn dig(u: &Unbound, name: &str) -> (String, String) {
    dig_type(u, name, "A")
}

fn dig_type(u: &Unbound, name: &str, qtype: &str) -> (String, String) {
    let out = Command::new("dig")
        .args([
            "@127.0.0.1",
            "-p",
            &u.port.to_string(),
            name,
            qtype,
            "+time=2",
            "+tries=1",
            "+noall",
            "+comments",
            "+answer",
        ])
        .output()
        .expect("dig is not installed: .ci/run installs Debian's dnsutils package");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("NO ANSWER")
        .to_owned();
    let answer = text
        .lines()
        .find(|l| !l.starts_with(';') && l.contains(&format!("\t{qtype}\t")))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or("")
        .to_owned();
    (status, answer)
}

#[test]
fn exports_are_enforced_by_unbound_and_accepted_by_nft() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/demo.db", dir.path().display());
    // The demo world blocks secure-pay-check.example.cn and bot-cnc.example.cn with their
    // subdomains, and the address 198.51.100.77.
    let served = serve_demo(dir.path(), &db, &[]);
    let rpz = dir.path().join("warden.rpz");
    let (code, _, err) = warden(&["export", "rpz", "--db", &db, "--out", rpz.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("serial"), "{err}");
    {
        let u = unbound(dir.path(), &rpz);
        for (name, status) in [
            ("secure-pay-check.example.cn", "NXDOMAIN"),
            ("www.secure-pay-check.example.cn", "NXDOMAIN"),
            ("deep.www.secure-pay-check.example.cn", "NXDOMAIN"),
            ("bot-cnc.example.cn", "NXDOMAIN"),
            // Listed by address: the answer carries it, so rpz-ip refuses it.
            ("ip-host.example.cn", "NXDOMAIN"),
            ("notsecure-pay-check.example.cn", "NOERROR"),
            ("other.example.cn", "NOERROR"),
        ] {
            assert_eq!(dig(&u, name).0, status, "{name}");
        }
        assert_eq!(dig(&u, "other.example.cn").1, "203.0.113.13");
    }

    // A policy that sinkholes instead: listed names answer the sinkhole address.
    let policy = dir.path().join("policy");
    std::fs::create_dir(&policy).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/policy");
    for f in ["national.toml", "44.toml"] {
        let mut text = std::fs::read_to_string(root.join(f)).unwrap();
        if f == "national.toml" {
            text = text.replace(
                "rpz_action = \"nxdomain\"",
                "rpz_action = \"sinkhole\"\nsinkhole_ipv4 = \"10.10.10.10\"",
            );
        }
        std::fs::write(policy.join(f), text).unwrap();
    }
    let sink = dir.path().join("sinkhole.rpz");
    let (code, _, err) = warden(&[
        "export",
        "rpz",
        "--db",
        &db,
        "--policy-dir",
        policy.to_str().unwrap(),
        "--out",
        sink.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    {
        let u = unbound(dir.path(), &sink);
        assert_eq!(
            dig(&u, "www.secure-pay-check.example.cn"),
            ("NOERROR".to_owned(), "10.10.10.10".to_owned())
        );
        assert_eq!(dig(&u, "other.example.cn").1, "203.0.113.13");
    }

    // nftables: the full table, then a delta applied on top, in one checked transaction.
    let nft = dir.path().join("warden.nft");
    let (code, _, err) = warden(&[
        "export",
        "nftables",
        "--db",
        &db,
        "--out",
        nft.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, delta, err) = warden(&["export", "nftables", "--since", "0", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    assert!(
        delta.contains("add element inet warden blocked_v4 { 198.51.100.77 }"),
        "{delta}"
    );
    nft_check(&nft);
    // The delta since serial 0 applies to the table as it was then: empty.
    let empty = dir.path().join("empty.nft");
    let mut text = vec![];
    warden_match::render::full(
        warden_match::render::Format::Nftables,
        &[],
        &warden_match::render::Options::default(),
        0,
        &mut text,
        |_| {},
    )
    .unwrap();
    std::fs::write(&empty, text).unwrap();
    let delta_file = dir.path().join("delta.nft");
    std::fs::write(&delta_file, &delta).unwrap();
    let set = nft_load_then_apply(&empty, &delta_file);
    assert!(set.contains("198.51.100.77"), "{set}");
    // Bad requests are messages and failures.
    let (code, _, err) = warden(&["export", "bind", "--db", &db]);
    assert_eq!(code, 1);
    assert!(
        err.contains("expected one of rpz, nftables, suricata, plain, csv"),
        "{err}"
    );
    let (code, out, _) = warden(&["lookup", "--db", &db, "www.bot-cnc.example.cn"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"listed\":true"), "{out}");
    drop(served);
}

fn nft_check(file: &std::path::Path) {
    // `nft -c` needs network-admin rights even though it commits nothing. As root it runs in
    // a network namespace of its own; otherwise in a user namespace, whose small netlink
    // buffers refuse large sets ("Message too long").
    let run = |args: &[&str]| {
        Command::new("unshare")
            .args(args)
            .args(["nft", "-c", "-f"])
            .arg(file)
            .output()
            .expect("unshare and nft are needed: .ci/run installs Debian's nftables package")
    };
    let mut out = run(&["-n"]);
    if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not permitted") {
        out = run(&["-rn"]);
    }
    assert!(out.status.success(), "{}: {out:?}", file.display());
}

/// Loads `full` into a kernel, in a network namespace of its own, then applies `delta` as an
/// enforcer would; returns what the IPv4 set then holds.
fn nft_load_then_apply(full: &std::path::Path, delta: &std::path::Path) -> String {
    let script = format!(
        "nft -f '{}' && nft -f '{}' && nft list set inet warden blocked_v4",
        full.display(),
        delta.display()
    );
    let run = |args: &[&str]| {
        Command::new("unshare")
            .args(args)
            .args(["sh", "-c", &script])
            .output()
            .expect("unshare and nft are needed: .ci/run installs Debian's nftables package")
    };
    let mut out = run(&["-n"]);
    if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not permitted") {
        out = run(&["-rn"]);
    }
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Generated lists, larger and messier than the demo's: nested IPv4 and IPv6 networks,
/// thousands of names with and without subdomains, then a delta that uncovers networks.
#[test]
fn generated_lists_load_in_unbound_and_nft() {
    use warden_core::indicator::{Indicator, IndicatorType, TargetScope};
    use warden_match::delta::{Touched, delta_units};
    use warden_match::render::{self, Format, Options};
    use warden_match::synth::{self, Rng};
    use warden_match::{Change, Snapshot};

    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(42);
    let p4 = synth::ipv4_prefixes(3000, &mut rng);
    let p6 = synth::ipv6_prefixes(3000, &mut rng);
    let names = synth::domains(4000, &mut rng);
    let mut entries = synth::ipv4_entries(&p4);
    entries.extend(synth::ipv6_entries(&p6));
    let sub = synth::domain_entries(&names[..3000]);
    entries.extend(sub.iter().cloned());
    for (i, n) in names[3000..].iter().enumerate() {
        let t = Indicator::parse(IndicatorType::Domain, n).unwrap();
        entries.push(synth::entry(10_000 + i as u64, t, TargetScope::Exact));
    }
    // A network with networks inside it, for the delta below.
    let outer = synth::entry(
        20_000,
        Indicator::parse(IndicatorType::Cidr, "100.20.0.0/16").unwrap(),
        TargetScope::Exact,
    );
    let inner = synth::entry(
        20_001,
        Indicator::parse(IndicatorType::Ipv4, "100.20.3.4").unwrap(),
        TargetScope::Exact,
    );
    let v6host = synth::entry(
        20_002,
        Indicator::parse(IndicatorType::Cidr, "2400:cb00:2048::/48").unwrap(),
        TargetScope::Exact,
    );
    entries.extend([outer.clone(), inner, v6host]);
    let snap = Snapshot::build(entries, 7);
    let opts = Options::default();
    let write = |name: &str, f: Format, s: &Snapshot| {
        let path = dir.path().join(name);
        let units = render::units(f, s.entries().cloned());
        let mut file = std::fs::File::create(&path).unwrap();
        render::full(f, &units, &opts, s.serial, &mut file, |_| {}).unwrap();
        path
    };

    let rpz = write("gen.rpz", Format::Rpz, &snap);
    let upstream =
        format!("{UPSTREAM_ZONE}v6host IN AAAA 2400:cb00:2048:1::5\nv4host IN A 100.20.9.9\n");
    let u = unbound_with(dir.path(), &rpz, &upstream);
    // Names are refused by policy before any resolution, so no upstream is needed.
    for n in names[..3000].iter().step_by(97) {
        assert_eq!(dig(&u, n).0, "NXDOMAIN", "{n}");
        assert_eq!(dig(&u, &format!("a.b.{n}")).0, "NXDOMAIN", "below {n}");
    }
    for n in names[3000..].iter().step_by(97) {
        assert_eq!(dig(&u, n).0, "NXDOMAIN", "{n}");
    }
    assert_eq!(
        dig_type(&u, "v6host.example.cn", "AAAA").0,
        "NXDOMAIN",
        "rpz-ip on IPv6"
    );
    assert_eq!(
        dig(&u, "v4host.example.cn").0,
        "NXDOMAIN",
        "rpz-ip on a network"
    );
    assert_eq!(dig(&u, "other.example.cn").0, "NOERROR");
    drop(u);

    // nftables: the full table; then a delta removing the /16, which must put the address
    // inside it back into the set, applied on top in the same checked transaction.
    let nft = write("gen.nft", Format::Nftables, &snap);
    nft_check(&nft);
    let next = snap.apply(&[Change::Remove(outer.measure_id)], 8);
    let touched = vec![Touched {
        entry: outer,
        listed_then: true,
    }];
    let (removed, added) = delta_units(Format::Nftables, &next, &touched, &|_| true);
    let mut delta = vec![];
    render::delta(Format::Nftables, &removed, &added, &opts, 7, 8, &mut delta).unwrap();
    let delta = String::from_utf8(delta).unwrap();
    assert!(
        delta.contains("delete element inet warden blocked_v4 { 100.20.0.0/16 }"),
        "{delta}"
    );
    assert!(
        delta.contains("add element inet warden blocked_v4 { 100.20.3.4 }"),
        "{delta}"
    );
    let delta_file = dir.path().join("delta.nft");
    std::fs::write(&delta_file, &delta).unwrap();
    let set = nft_load_then_apply(&nft, &delta_file);
    assert!(set.contains("100.20.3.4"), "{set}");
    assert!(!set.contains("100.20.0.0/16"), "{set}");
}

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
fn python() -> String {
    std::env::var("WARDEN_PYTHON").unwrap_or_else(|_| {
        panic!("WARDEN_PYTHON is unset: run scripts/test, or set it to the python that scripts/python-env prints")
    })
}

fn demo_token(dir: &std::path::Path, org: &str, role: &str) -> String {
    let text = std::fs::read_to_string(dir.join("warden-data/demo-tokens.txt")).unwrap();
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 3 && f[0] == org && f[1] == role).then(|| f[2].to_owned())
        })
        .unwrap_or_else(|| panic!("no demo token for {role}@{org}"))
}

fn post_json(url: &str, token: &str, body: &str) -> (u16, serde_json::Value) {
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

fn get_json(url: &str, token: &str) -> serde_json::Value {
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
fn import(file: &str, format: &str, org: &str, db: &str, extra: &[&str]) -> (i32, String, String) {
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

/// The web console in Debian's chromium, driven by playwright-core against `warden serve
/// --demo` on a free port: `scripts/console-check.cjs` walks one part (the public pages in
/// Chinese and English, or one role doing its main work through the console's forms) and fails
/// on any browser console error. WARDEN_NODE_PATH is the node_modules that `scripts/node-env`
/// prints (scripts/test sets it); WARDEN_SCREENSHOTS, when set, names the directory the
/// screenshots go to (docs/console/ holds the published ones).
fn console_check(part: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let node_path = std::env::var("WARDEN_NODE_PATH").unwrap_or_else(|_| {
        panic!(
            "WARDEN_NODE_PATH is unset: run scripts/test, or set it to what scripts/node-env prints"
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let served = serve_demo(dir.path(), "sqlite://warden-data/demo.db", &[]);
    let shots = std::env::var("WARDEN_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("shots"));
    std::fs::create_dir_all(&shots).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/console-check.cjs"
    );
    let out = Command::new("node")
        .env("NODE_PATH", &node_path)
        .args([script, &served.base, &shots.display().to_string(), part])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("no browser errors"), "{stdout}");
    drop(served);
    (dir, shots)
}

fn shot_size(shots: &std::path::Path, name: &str) -> u64 {
    shots.join(format!("{name}.png")).metadata().unwrap().len()
}

#[test]
fn the_console_serves_the_public_in_a_real_browser() {
    let (_dir, shots) = console_check("public");
    assert!(shot_size(&shots, "public-appeal-zh") > 10_000);
}

#[test]
fn the_console_serves_the_administrator_in_a_real_browser() {
    let (_dir, shots) = console_check("admin");
    assert!(shot_size(&shots, "people-admin") > 10_000);
}

#[test]
fn the_console_serves_the_reporter_in_a_real_browser() {
    let (_dir, shots) = console_check("reporter");
    assert!(shot_size(&shots, "report-check") > 10_000);
}

#[test]
fn the_console_serves_the_analyst_in_a_real_browser() {
    let (_dir, shots) = console_check("analyst");
    assert!(shot_size(&shots, "case-analyst") > 10_000);
}

#[test]
fn the_console_serves_the_reviewer_in_a_real_browser() {
    let (_dir, shots) = console_check("reviewer");
    assert!(shot_size(&shots, "appeal-reviewer") > 10_000);
}

#[test]
fn the_console_serves_the_responder_in_a_real_browser() {
    let (_dir, shots) = console_check("responder");
    assert!(shot_size(&shots, "home-responder-zh") > 10_000);
}

#[test]
fn the_console_serves_the_verifier_in_a_real_browser() {
    let (_dir, shots) = console_check("verifier");
    assert!(shot_size(&shots, "notice-verifier") > 10_000);
}

#[test]
fn the_console_serves_the_auditor_in_a_real_browser() {
    let (_dir, shots) = console_check("auditor");
    assert!(shot_size(&shots, "audit-trail") > 10_000);
}

/// A free TCP port on loopback (nothing listens on it when this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `curl` over TLS through the proxy, trusting `ca`: status and body.
fn curl(
    ca: &std::path::Path,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args([
        "-sS",
        "--cacert",
        ca.to_str().unwrap(),
        "-X",
        method,
        "-w",
        "\n%{http_code}",
    ])
    .args(["-H", &format!("Authorization: Bearer {token}")]);
    if let Some(b) = body {
        c.args(["-H", "content-type: application/json", "--data-binary", b]);
    }
    let o = c.arg(url).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// docs/operations.md's production shape, tried: an initialised PostgreSQL database, two
/// nodes sharing it and its master key, and deploy/nginx/warden.conf in front ending TLS.
/// Requests reach both nodes, a write through one is read through the other, and when one
/// node stops the proxy carries on with the other.
#[test]
fn two_nodes_behind_nginx() {
    let Ok(pg) = std::env::var("WARDEN_TEST_POSTGRES") else {
        assert!(std::env::var("CI").is_err(), "CI runs this with PostgreSQL");
        eprintln!("WARDEN_TEST_POSTGRES is unset: two nodes on PostgreSQL not tested");
        return;
    };
    if pg.is_empty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!(
        "warden_nodes_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let psql = |sql: &str| {
        let o = Command::new("psql")
            .args([&pg, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    psql(&format!("CREATE DATABASE {name}"));
    struct Cleanup(Box<dyn Fn()>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    let pg2 = pg.clone();
    let name2 = name.clone();
    let _cleanup = Cleanup(Box::new(move || {
        let _ = Command::new("psql")
            .args([
                &pg2,
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {name2} WITH (FORCE)"),
            ])
            .output();
    }));
    let db = match pg.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("{pg} names no database"),
    };
    let (code, _, err) = warden_with_input(&["init", "--db", &db], "production passphrase\n");
    assert_eq!(code, 0, "{err}");
    let (code, token, err) = warden(&[
        "admin", "token", "create", "--org", "miit", "--role", "admin", "--db", &db,
    ]);
    assert_eq!(code, 0, "{err}");
    let token = token.lines().last().unwrap().to_owned();

    // Two nodes, one database, one master key (the first creates it, the second reads it).
    let mk = dir.path().join("master.key");
    let node = |n: &str| {
        let d = dir.path().join(n);
        std::fs::create_dir_all(&d).unwrap();
        serve(
            &d,
            &db,
            &[
                "--master-key-file",
                mk.to_str().unwrap(),
                "--trusted-proxies",
                "127.0.0.1/32",
            ],
        )
    };
    let a = node("a");
    let b = node("b");
    let addr = |s: &Served| s.base.trim_start_matches("http://").to_owned();
    let (a_addr, b_addr) = (addr(&a), addr(&b));

    // A certificate for the proxy, and the shipped configuration pointed at the two nodes.
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-days",
            "2",
        ])
        .args([
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/nginx/warden.conf"
    ))
    .unwrap();
    let port = free_port();
    let site = shipped
        .replace("127.0.0.1:8081", &a_addr)
        .replace("127.0.0.1:8082", &b_addr)
        .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"))
        .replace("/etc/warden/tls/fullchain.pem", cert.to_str().unwrap())
        .replace("/etc/warden/tls/privkey.pem", key.to_str().unwrap());
    assert_ne!(site, shipped);
    let d = dir.path().display();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("warden.conf"), site).unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;\n\
             events {{ worker_connections 128; }}\n\
             http {{ log_format up '$upstream_addr $status'; access_log {d}/access.log up;\n\
               client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;\n\
               uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n\
               include {d}/warden.conf; }}\n"
        ),
    )
    .unwrap();
    let mut nginx = Command::new("nginx")
        .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let base = format!("https://localhost:{port}");
    let mut up = false;
    for _ in 0..50 {
        if curl(&cert, "GET", &format!("{base}/healthz"), &token, None).0 == 200 {
            up = true;
            break;
        }
        if let Ok(Some(st)) = nginx.try_wait() {
            panic!(
                "nginx exited {st}: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _nginx = Kill(nginx);
    assert!(up, "nginx did not answer");

    let (st, body) = curl(
        &cert,
        "POST",
        &format!("{base}/api/v1/organisations"),
        &token,
        Some(
            r#"{"slug": "js-telecom", "name": "江苏电信", "type": "telecom_operator", "province": "32",
               "contacts": {"responsible_department": "网络安全部",
                 "responsible_person": {"name": "甲", "phone": "+862555500001", "email": ""},
                 "contact_person": {"name": "乙", "phone": "+862555500002", "email": ""}}}"#,
        ),
    );
    assert_eq!(st, 201, "{body}");
    for _ in 0..8 {
        let (st, body) = curl(
            &cert,
            "GET",
            &format!("{base}/api/v1/organisations/js-telecom"),
            &token,
            None,
        );
        assert_eq!(st, 200, "{body}");
    }
    let log = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    assert!(
        log.contains(&a_addr) && log.contains(&b_addr),
        "both nodes answer: {log}"
    );
    // One node stops: the other carries on behind the same name.
    drop(a);
    for _ in 0..4 {
        let (st, body) = curl(
            &cert,
            "GET",
            &format!("{base}/api/v1/organisations?type=provincial_authority"),
            &token,
            None,
        );
        assert_eq!(st, 200, "{body}");
        assert!(body.contains("ca-xinjiang"));
    }
    drop(b);
}

/// HTTPS served directly from PEM files (rustls), for an installation without a proxy: curl
/// checks the certificate; plain HTTP on that port gets nowhere; a key that is not one stops
/// the start with the file named.
#[test]
fn serves_https_directly() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-days",
            "2",
        ])
        .args([
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let db = format!("sqlite://{}/w.db", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .current_dir(dir.path())
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .args([
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let served = Served {
        child,
        base: String::new(),
        _stdout: stdout,
    };
    let addr = line
        .split("https://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no https address in {line:?}"))
        .to_owned();
    let port = addr.rsplit(':').next().unwrap();
    let (st, body) = curl(
        &cert,
        "GET",
        &format!("https://127.0.0.1:{port}/healthz"),
        "none",
        None,
    );
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    // Browsers are told to come back over TLS only.
    let o = Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null", "--cacert"])
        .arg(&cert)
        .arg(format!("https://127.0.0.1:{port}/console/login"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
    assert!(
        head.contains("strict-transport-security: max-age="),
        "{head}"
    );
    assert!(head.contains("; secure"), "the console's cookie: {head}");
    // The certificate is checked: without the CA, refused.
    let o = Command::new("curl")
        .args(["-sS", &format!("https://127.0.0.1:{port}/healthz")])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let o = Command::new("curl")
        .args([
            "-sS",
            "-m",
            "5",
            &format!("http://127.0.0.1:{port}/healthz"),
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains("\"status\":\"ok\""));
    drop(served);
    let (code, _, err) = warden(&[
        "serve",
        "--db",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        cert.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cert.pem") && err.contains("private key"),
        "{err}"
    );
}
