#!/usr/bin/env python3
"""The same normalisation work done by IntelMQ's harmonization (what an IntelMQ pipeline
runs on every field it adds to an event): validate with sanitising, then sanitise.

Inputs are generated exactly as in crates/warden-core/benches/indicators.rs.

usage: python3 scripts/bench-intelmq.py      (needs `pip install intelmq==3.5.0`)
"""
import time

from intelmq.lib import harmonization as h

N = 1024
MASK = (1 << 64) - 1


def inputs(kind):
    s = 42
    tlds = ["com", "cn", "com.cn", "net", "org", "co.uk", "xyz", "top"]
    out = []
    for i in range(N):
        s = (s * 6364136223846793005 + 1442695040888963407) & MASK
        r = s >> 33
        if kind == "ipv4":
            out.append(f"{r % 224}.{(r >> 8) % 256}.{(r >> 16) % 256}.{i % 256}")
        elif kind == "ipv6":
            out.append(f"2001:db8:{r % 65536:x}:{(r >> 16) % 65536:x}::{i:x}")
        elif kind == "domain":
            www = "www." if r % 3 == 0 else ""
            out.append(f"{www}login-{i}.Secure-{r % 100000}.{tlds[r % 8]}")
        elif kind == "url":
            out.append(f"http://Secure-{r % 100000}.{tlds[r % 8]}/account/{i}/verify.php?id={r % 9999}&s=a%2fb#top")
    return out


def run(kind, cls):
    data = inputs(kind)
    for v in data:
        assert cls.is_valid(v, sanitize=True), (kind, v)
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        rounds = 0
        while time.perf_counter() - t < 1.0:
            for v in data:
                if cls.is_valid(v, sanitize=True):
                    cls.sanitize(v)
            rounds += 1
        rate = rounds * N / (time.perf_counter() - t)
        best = max(best, rate)
    print(f"{kind:8} {best / 1e6:8.3f} M/s")


run("ipv4", h.IPAddress)
run("ipv6", h.IPAddress)
run("domain", h.FQDN)
run("url", h.URL)
