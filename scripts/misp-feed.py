"""Writes a MISP feed with PyMISP (manifest.json and one file per event, as MISP's own feed
export does) and prints how many attributes it holds and how many have a Warden indicator
type, as JSON.

    misp-feed.py OUTDIR
"""
import json
import os
import sys

from pymisp import MISPEvent, MISPObject, MISPOrganisation

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

e1 = MISPEvent()
e1.info = "Phishing wave"
e1.add_attribute("ip-dst", "198.51.100.31")
e1.add_attribute("domain", "Pay-Check.Misp-Feed.example.cn")
e1.add_attribute("url", "http://pay-check.misp-feed.example.cn/login")
e1.add_attribute("sha256", "ab" * 32)
e1.add_attribute("comment", "seen in mail to three banks")
obj = MISPObject("domain-ip")
obj.add_attribute("domain", value="cdn.misp-feed.example.cn")
obj.add_attribute("ip", value="203.0.113.31")
e1.add_object(obj)

e2 = MISPEvent()
e2.info = "Bot C2"
e2.add_attribute("ip-src|port", "203.0.113.32|8443")
e2.add_attribute("hostname", "c2.misp-feed.example.cn")
e2.add_attribute("email-src", "Boss@Misp-Feed.example.cn")
e2.add_attribute("domain", "pay-check.misp-feed.example.cn")  # a repeat of e1's, in another case

org = MISPOrganisation()
org.from_dict(name="SecCo Alpha", uuid="6d1c5f2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f")
for ev in (e1, e2):
    ev.Orgc = org

manifest = {}
total = mappable = 0
warden_types = {"ip-dst", "ip-src", "ip-src|port", "ip-dst|port", "domain", "hostname", "url",
                "sha256", "email-src", "ip"}
for ev in (e1, e2):
    feed = ev.to_feed(with_meta=True)
    manifest.update(feed["Event"].pop("_manifest"))
    feed["Event"].pop("_hashes", None)
    with open(os.path.join(out, ev.uuid + ".json"), "w", encoding="utf-8") as f:
        json.dump(feed, f)
    attrs = list(ev.attributes) + [a for o in ev.objects for a in o.attributes]
    total += len(attrs)
    mappable += sum(1 for a in attrs if a.type in warden_types)
with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f)
print(json.dumps({"attributes": total, "mappable": mappable}))
