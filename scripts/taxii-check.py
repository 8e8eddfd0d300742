"""Warden's TAXII 2.1 service seen by the OASIS tools: taxii2-client pages every collection
and POSTs an envelope; stix2-validator checks every object Warden serves. Exits non-zero,
saying what failed.

    taxii-check.py BASE_URL DEMO_TOKENS_FILE
"""
import json
import sys

import requests
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Server, as_pages

base, tokens_file = sys.argv[1], sys.argv[2]
tokens = {}
for line in open(tokens_file, encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    if len(f) == 3 and not line.startswith("#"):
        tokens[(f[0], f[1])] = f[2]


def fail(msg):
    print("taxii-check: " + msg, file=sys.stderr)
    sys.exit(1)


def rest(who, path, body):
    r = requests.post(base + "/api/v1" + path, json=body,
                      headers={"Authorization": "Bearer " + tokens[who]}, timeout=30)
    if r.status_code >= 300:
        fail(f"POST {path}: {r.status_code} {r.text}")
    return r.json()


def block(domain):
    """A new block through the REST lifecycle: report, determination, decision."""
    rep = rest(("china-telecom", "reporter"), "/reports", {
        "category": "malicious_resource", "subtype": "phishing_site", "title": "Phishing " + domain,
        "description": "Seen in mail", "observed_at": "2026-11-01T00:00:00Z", "province": "44",
        "indicators": [{"type": "domain", "value": domain}]})
    case = "/cases/" + rep["case_id"]
    rest(("cncert", "analyst"), case + "/determination",
         {"verdict": "confirmed", "severity": "high", "rationale": "Confirmed"})
    rest(("ca-guangdong", "reviewer"), case + "/decision", {
        "outcome": "approved", "reasons": "Block it", "measures": [
            {"kind": "block", "target": {"type": "domain", "value": domain},
             "recipient_org": "china-telecom"}]})


# Something of every kind Warden serves: a publication beside the demo world's blocks, and
# threats of every category: a trojan, a vulnerability, and a domain reported twice.
rest(("miit", "reviewer"), "/publications",
     {"title": "Phishing wave", "body": "Domains imitating payment sites are being blocked."})


def report(who, category, subtype, title, indicators):
    return rest((who, "reporter"), "/reports", {
        "category": category, "subtype": subtype, "title": title, "description": title,
        "observed_at": "2026-11-02T00:00:00Z", "province": "44",
        "indicators": [{"type": t, "value": v} for t, v in indicators]})


report("secco-alpha", "malicious_program", "trojan", "Banking trojan",
       [("sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")])
report("secco-alpha", "vulnerability", "code_vulnerability", "Router firmware RCE",
       [("cve", "CVE-2026-12345")])
for who in ("secco-alpha", "china-telecom"):
    report(who, "malicious_resource", "c2", "Botnet C2", [("domain", "c2.sighting.example.cn")])

# Basic authentication, the API token as the password.
analyst = Server(base + "/taxii2/", user="feed", password=tokens[("cncert", "analyst")])
public = Server(base + "/taxii2/", user="", password="")
roots = {r.url.rstrip("/").rsplit("/", 1)[-1]: r for r in analyst.api_roots}
if set(roots) != {"members", "public"}:
    fail(f"api roots: {sorted(roots)}")

objects = []
for root in (analyst.default, public.api_roots[1]):
    for coll in root.collections:
        if not coll.can_read:
            continue
        pages = 0
        for env in as_pages(coll.get_objects, per_request=2):
            pages += 1
            objects.extend(env.get("objects", []))
        print(f"{root.url} {coll.alias}: {pages} pages")
types = sorted({o["type"] for o in objects})
print(f"{len(objects)} objects of types {types}")
for want in ["extension-definition", "identity", "indicator", "marking-definition", "report",
             "infrastructure", "malware", "vulnerability", "course-of-action", "relationship",
             "sighting"]:
    if want not in types:
        fail(f"no {want} object was served")

# Every object valid STIX 2.1. Warden's ids are UUIDv5 on purpose (a re-export is
# byte-stable), which the validator mentions as a warning (103), never as an error.
errors = 0
warnings = set()
opts = ValidationOptions(version="2.1")
for o in objects:
    res = validate_instance(o, opts)
    for e in res.errors:
        errors += 1
        print(f"error: {o['id']}: {e}", file=sys.stderr)
    for w in res.warnings:
        warnings.add(str(w).split("}")[0].split("{")[-1])
print(f"stix2-validator: {errors} errors; warning codes {sorted(warnings)}")
if errors:
    fail(f"{errors} validation errors")

# added_after: a block decided now is all that is new.
blocks = [c for c in analyst.default.collections if c.alias == "blocks"][0]
manifest = blocks.get_manifest()
last = max(r["date_added"] for r in manifest["objects"])
block("added-after.example.cn")
newer = blocks.get_objects(added_after=last).get("objects", [])
names = [o["name"] for o in newer]
if names != ["Block domain added-after.example.cn"]:
    fail(f"added_after {last} returned {names}")
print(f"added_after {last}: {names}")

# An envelope POSTed by a reporter reaches complete.
reporter = Server(base + "/taxii2/", user="feed", password=tokens[("china-telecom", "reporter")])
inbound = [c for c in reporter.default.collections if c.can_write][0]
env = {"objects": [{
    "type": "indicator", "spec_version": "2.1",
    "id": "indicator--6b1e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
    "name": "C2", "indicator_types": ["malicious-activity"], "valid_from": "2026-11-01T00:00:00Z",
    "pattern": "[ipv4-addr:value = '203.0.113.9' OR domain-name:value = 'c2.taxii-check.example.cn']",
    "pattern_type": "stix"}]}
status = inbound.add_objects(json.dumps(env), wait_for_completion=True)
if status.status != "complete" or status.success_count != 1 or status.failure_count != 0:
    fail(f"status {status.status}: {status.success_count} ok, {status.failure_count} failed: {status.failures}")
status.refresh()
print(f"envelope {status.id}: {status.status}, {status.success_count} taken in")
