//! Matcher throughput on 1M listed targets per kind, queries half hits. `warden bench match`
//! runs the same data through 10M queries and prints the figures in docs/performance.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_match::synth::{self as synth, Rng};
use warden_match::{Index, Snapshot};

const N: usize = 1_000_000;
const BATCH: usize = 4096;
const Q: usize = 1 << 20;

fn ipv4(c: &mut Criterion) {
    let mut rng = Rng::new(1);
    let p = synth::ipv4_prefixes(N, &mut rng);
    let ix = Index::build(synth::ipv4_entries(&p));
    let qs = synth::ipv4_queries(&p, Q, &mut rng);
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut at = 0;
    g.bench_function("ipv4_lpm_1m", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for q in &qs[at..at + BATCH] {
                hits += ix.v4(*q).len();
            }
            at = (at + BATCH) % Q;
            black_box(hits)
        })
    });
    g.finish();
}

fn ipv6(c: &mut Criterion) {
    let mut rng = Rng::new(2);
    let p = synth::ipv6_prefixes(N, &mut rng);
    let ix = Index::build(synth::ipv6_entries(&p));
    let qs = synth::ipv6_queries(&p, Q, &mut rng);
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut at = 0;
    g.bench_function("ipv6_lpm_1m", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for q in &qs[at..at + BATCH] {
                hits += ix.v6(*q).len();
            }
            at = (at + BATCH) % Q;
            black_box(hits)
        })
    });
    g.finish();
}

fn domains(c: &mut Criterion) {
    let mut rng = Rng::new(3);
    let names = synth::domains(N, &mut rng);
    let ix = Index::build(synth::domain_entries(&names));
    let qs = synth::domain_queries(&names, Q, &mut rng);
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut at = 0;
    let mut out = Vec::new();
    g.bench_function("domain_subtree_1m", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for q in &qs[at..at + BATCH] {
                out.clear();
                ix.domain(q, &mut out);
                hits += out.len();
            }
            at = (at + BATCH) % Q;
            black_box(hits)
        })
    });
    g.finish();
}

fn exact(c: &mut Criterion) {
    let mut rng = Rng::new(4);
    let vals = synth::exact_values(IndicatorType::Sha256, N, &mut rng);
    let ix = Index::build(synth::exact_entries(IndicatorType::Sha256, &vals));
    let qs: Vec<Indicator> = synth::exact_queries(IndicatorType::Sha256, &vals, Q, &mut rng)
        .iter()
        .filter_map(|v| Indicator::parse(IndicatorType::Sha256, v).ok())
        .collect();
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut at = 0;
    let mut out = Vec::new();
    g.bench_function("exact_sha256_1m", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for q in &qs[at..at + BATCH] {
                out.clear();
                ix.lookup(q, &mut out);
                hits += out.len();
            }
            at = (at + BATCH) % Q;
            black_box(hits)
        })
    });
    g.finish();
}

fn urls(c: &mut Criterion) {
    let mut rng = Rng::new(5);
    let us = synth::urls(N, &mut rng);
    let ix = Index::build(synth::url_entries(&us));
    let qs = synth::url_queries(&us, 1 << 16, &mut rng);
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(1024));
    let mut at = 0;
    let mut out = Vec::new();
    g.bench_function("url_canonicalise_and_match_1m", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for q in &qs[at..at + 1024] {
                if let Ok(u) = Indicator::parse(IndicatorType::Url, q) {
                    out.clear();
                    ix.lookup(&u, &mut out);
                    hits += out.len();
                }
            }
            at = (at + 1024) % (1 << 16);
            black_box(hits)
        })
    });
    g.finish();
}

fn build(c: &mut Criterion) {
    let mut rng = Rng::new(6);
    let p = synth::ipv4_prefixes(N, &mut rng);
    let entries = synth::ipv4_entries(&p);
    let mut g = c.benchmark_group("snapshot");
    g.sample_size(10);
    g.bench_function("build_ipv4_1m", |b| {
        b.iter(|| black_box(Snapshot::build(entries.clone(), 1).len()))
    });
    g.finish();
}

criterion_group!(benches, ipv4, ipv6, domains, exact, urls, build);
criterion_main!(benches);
