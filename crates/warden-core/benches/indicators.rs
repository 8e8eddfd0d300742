//! Indicator parsing and normalisation throughput, per type, on varied inputs.
//! `cargo bench -p warden-core --bench indicators`; figures in docs/performance.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use warden_core::indicator::IndicatorType;

const N: u32 = 1024;

/// A cheap deterministic sequence, so every run parses the same inputs.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

fn inputs(kind: IndicatorType) -> Vec<String> {
    let mut s = 42u64;
    let tlds = ["com", "cn", "com.cn", "net", "org", "co.uk", "xyz", "top"];
    (0..N)
        .map(|i| {
            let r = lcg(&mut s);
            match kind {
                IndicatorType::Ipv4 => format!(
                    "{}.{}.{}.{}",
                    r % 224,
                    (r >> 8) % 256,
                    (r >> 16) % 256,
                    i % 256
                ),
                IndicatorType::Ipv6 => {
                    format!("2001:db8:{:x}:{:x}::{:x}", r % 65536, (r >> 16) % 65536, i)
                }
                IndicatorType::Domain => format!(
                    "{}login-{i}.Secure-{}.{}",
                    if r.is_multiple_of(3) { "www." } else { "" },
                    r % 100_000,
                    tlds[(r % 8) as usize]
                ),
                IndicatorType::Url => format!(
                    "http://Secure-{}.{}/account/{i}/verify.php?id={}&s=a%2fb#top",
                    r % 100_000,
                    tlds[(r % 8) as usize],
                    r % 9999
                ),
                IndicatorType::Email => {
                    format!("User.{i}@Mail-{}.{}", r % 1000, tlds[(r % 8) as usize])
                }
                IndicatorType::Phone => format!("1{}{:09}", 3 + r % 7, r % 1_000_000_000),
                IndicatorType::Sha256 => format!(
                    "{:016x}{:016x}{:016x}{:016x}",
                    r,
                    r ^ 0xdead,
                    r.rotate_left(7),
                    i
                ),
                _ => String::new(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(u64::from(N)));
    for kind in [
        IndicatorType::Ipv4,
        IndicatorType::Ipv6,
        IndicatorType::Domain,
        IndicatorType::Url,
        IndicatorType::Email,
        IndicatorType::Phone,
        IndicatorType::Sha256,
    ] {
        let data = inputs(kind);
        // Every generated input must be valid, or the figure would measure the error path.
        if let Some(bad) = data.iter().find(|v| kind.normalize(v).is_err()) {
            eprintln!("benchmark input {bad:?} is not a valid {kind}");
            std::process::exit(1);
        }
        g.bench_with_input(BenchmarkId::from_parameter(kind), &data, |b, data| {
            b.iter(|| {
                for v in data {
                    let _ = black_box(kind.normalize(black_box(v)));
                }
            })
        });
    }
    // Internationalised names take the IDNA path.
    let idn: Vec<String> = (0..N).map(|i| format!("银行-{i}.例子.中国")).collect();
    g.bench_with_input(
        BenchmarkId::from_parameter("domain-idn"),
        &idn,
        |b, data| {
            b.iter(|| {
                for v in data {
                    let _ = black_box(IndicatorType::Domain.normalize(black_box(v)));
                }
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
