//! Production shapes: TLS served directly, and several nodes behind nginx.

use super::*;

/// A free TCP port on loopback (nothing listens on it when this returns).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `curl` over TLS through the proxy, trusting `ca`: status and body.
pub(crate) fn curl(
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

/// docs/operations.md's production shape, tried: an initialised PostgreSQL database, three
/// nodes sharing it and its master key, deploy/nginx/warden.conf in front ending TLS, and a
/// read-only node. Requests reach the nodes, a write through one is read through the others,
/// decisions reach every node's lookups, writes to the read-only node are refused, a node
/// killed under load loses no acknowledged write, and the proxy carries on with the last.
#[test]
fn nodes_behind_nginx() {
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
    let c = node("c");
    let addr = |s: &Served| s.base.trim_start_matches("http://").to_owned();
    let (a_addr, b_addr, c_addr) = (addr(&a), addr(&b), addr(&c));

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
        .replace("127.0.0.1:8083", &c_addr)
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
    // A read-only node (on a replica in production; here read-only transactions on the same
    // database) serves what the others wrote and refuses writes with a problem that says
    // where they go, having written nothing.
    let ro_dir = dir.path().join("ro");
    std::fs::create_dir_all(&ro_dir).unwrap();
    let ro = serve(
        &ro_dir,
        &db,
        &["--read-only", "--master-key-file", mk.to_str().unwrap()],
    );
    let (st, body) = curl(
        &cert,
        "GET",
        &format!("{}/api/v1/organisations/js-telecom", ro.base),
        &token,
        None,
    );
    assert_eq!(st, 200, "{body}");
    let (st, body) = curl(
        &cert,
        "POST",
        &format!("{}/api/v1/organisations", ro.base),
        &token,
        Some(
            r#"{"slug": "sh-telecom", "name": "上海电信", "type": "telecom_operator", "province": "31",
               "contacts": {"responsible_department": "网络安全部",
                 "responsible_person": {"name": "甲", "phone": "+862155500001", "email": ""},
                 "contact_person": {"name": "乙", "phone": "+862155500002", "email": ""}}}"#,
        ),
    );
    assert_eq!(st, 503, "{body}");
    assert!(body.contains("read-only-node"), "{body}");
    let (st, _) = curl(
        &cert,
        "GET",
        &format!("{base}/api/v1/organisations/sh-telecom"),
        &token,
        None,
    );
    assert_eq!(st, 404, "the refused write left nothing");
    // Decisions through one node show in every node's lookups, the read-only one's too.
    let token_of = |org: &str, role: &str| {
        let (code, out, err) = warden(&[
            "admin", "token", "create", "--org", org, "--role", role, "--db", &db,
        ]);
        assert_eq!(code, 0, "{err}");
        out.lines().last().unwrap().to_owned()
    };
    let (reporter, analyst, reviewer) = (
        token_of("js-telecom", "reporter"),
        token_of("cncert", "analyst"),
        token_of("ca-jiangsu", "reviewer"),
    );
    let read = format!("{},{},{},{}", a.base, b.base, c.base, ro.base);
    let (code, out, err) = warden(&[
        "bench",
        "propagation",
        "--write",
        &a.base,
        "--read",
        &read,
        "--reporter",
        &reporter,
        "--analyst",
        &analyst,
        "--reviewer",
        &reviewer,
        "--recipient",
        "js-telecom",
        "--province",
        "32",
        "--samples",
        "3",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    for node in [&a.base, &b.base, &c.base, &ro.base] {
        assert!(out.contains(&format!("| {node} | 3 |")), "{out}");
    }
    let log = std::fs::read_to_string(ro_dir.join("serve.log")).unwrap();
    assert!(
        !log.contains("WARN") && !log.contains("ERROR"),
        "a read-only node runs no job and records no token use: {log}"
    );
    drop(ro);

    // Reports through the proxy from four clients; one node is killed (SIGKILL) under them.
    // Every report acknowledged with 201 is there afterwards, read through another node.
    let mut c = c;
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let (cert, base, reporter) = (cert.clone(), base.clone(), reporter.clone());
            std::thread::spawn(move || {
                (0..30)
                    .map(|i| {
                        let body = format!(
                            r#"{{"category": "malicious_resource", "subtype": "c2", "title": "Under load",
                               "description": "Sent while a node dies", "observed_at": "2026-11-01T00:00:00Z",
                               "province": "32",
                               "indicators": [{{"type": "domain", "value": "kill-{t}-{i}.load-test.cn"}}]}}"#
                        );
                        curl(&cert, "POST", &format!("{base}/api/v1/reports"), &reporter, Some(&body))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(400));
    c.child.kill().unwrap();
    c.child.wait().unwrap();
    let answers: Vec<(u16, String)> = clients
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let acknowledged: Vec<String> = answers
        .iter()
        .filter(|(st, _)| *st == 201)
        .map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            v["report_id"]
                .as_str()
                .or(v["id"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    // At most the requests in flight at the kill fail (nginx does not resend a POST).
    assert!(acknowledged.len() >= 112, "{answers:?}");
    for id in &acknowledged {
        let (st, body) = curl(
            &cert,
            "GET",
            &format!("{}/api/v1/reports/{id}", a.base),
            &reporter,
            None,
        );
        assert_eq!(st, 200, "acknowledged report {id} lost: {body}");
    }
    // Another node stops: the last carries on behind the same name.
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
