"""Pages one TAXII 2.1 collection with the OASIS taxii2-client and prints one JSON line:
requests, objects, seconds. With --dump FILE, also writes the objects and a manifest (for
loading the same objects into another server). With --budget SECONDS, stops after the page
that crosses it (slow servers).

    taxii-page.py COLLECTION_URL USER PASSWORD PER_REQUEST [--dump FILE] [--budget S]
"""
import json
import sys
import time

from taxii2client.v21 import Collection, as_pages

url, user, password, per = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
dump = sys.argv[sys.argv.index("--dump") + 1] if "--dump" in sys.argv else None
budget = float(sys.argv[sys.argv.index("--budget") + 1]) if "--budget" in sys.argv else None

coll = Collection(url, user=user, password=password)
coll.refresh()
objects = []
requests = count = 0
start = time.monotonic()
for env in as_pages(coll.get_objects, per_request=per):
    requests += 1
    page = env.get("objects", [])
    count += len(page)
    if dump:
        objects.extend(page)
    if budget is not None and time.monotonic() - start > budget:
        break
seconds = time.monotonic() - start
if dump:
    with open(dump, "w", encoding="utf-8") as f:
        json.dump(objects, f)
print(json.dumps({"requests": requests, "objects": count, "seconds": seconds}))
