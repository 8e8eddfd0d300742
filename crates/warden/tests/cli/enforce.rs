//! Exported blocklists enforced by real DNS servers and nftables.

use super::*;

/// A resolver under test: Unbound on a free loopback port, serving an upstream zone of
/// `example.cn` names and enforcing `rpz`. Stopped when dropped.
pub(crate) struct Unbound {
    child: std::process::Child,
    pub(crate) port: u16,
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) const UPSTREAM_ZONE: &str = "$ORIGIN example.cn.
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

pub(crate) fn unbound(dir: &std::path::Path, rpz: &std::path::Path) -> Unbound {
    unbound_with(dir, rpz, UPSTREAM_ZONE)
}

pub(crate) fn unbound_with(
    dir: &std::path::Path,
    rpz: &std::path::Path,
    upstream: &str,
) -> Unbound {
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
pub(crate) fn dig(u: &Unbound, name: &str) -> (String, String) {
    dig_type(u, name, "A")
}

pub(crate) fn dig_type(u: &Unbound, name: &str, qtype: &str) -> (String, String) {
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

pub(crate) fn nft_check(file: &std::path::Path) {
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
pub(crate) fn nft_load_then_apply(full: &std::path::Path, delta: &std::path::Path) -> String {
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
