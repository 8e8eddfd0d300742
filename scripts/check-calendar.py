#!/usr/bin/env python3
"""Compare Warden's working-day calendar with two independent references.

References (PyPI): `chinesecalendar` and `holidays` (its China calendar with substituted
working days). Every date from 2018-01-01 to 2026-12-31 is compared, then random
`add-working-days` questions are put to the warden binary and answered from each reference.

usage: check-calendar.py PATH/TO/warden [SAMPLES]
Exit status 0 only when there are no mismatches.
"""
import datetime as dt
import random
import subprocess
import sys

import chinese_calendar
import holidays

FIRST, LAST = dt.date(2018, 1, 1), dt.date(2026, 12, 31)


def main() -> int:
    warden = sys.argv[1]
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    out = subprocess.run(
        [warden, "calendar", "list", FIRST.isoformat(), LAST.isoformat()],
        check=True, capture_output=True, text=True,
    ).stdout.split("\n")
    ours = {}
    for line in filter(None, out):
        day, word, *rest = line.split()
        if rest:
            print(f"unexpected provisional answer inside 2018–2026: {line}")
            return 1
        ours[dt.date.fromisoformat(day)] = word == "working"
    cn = holidays.China(years=range(2018, 2027))
    refs = {
        "chinesecalendar": chinese_calendar.is_workday,
        "holidays": cn.is_working_day,
    }
    failures = 0
    fails = set()
    for name, is_working in refs.items():
        bad = [d for d in ours if ours[d] != is_working(d)]
        if bad:
            fails.add(name)
        print(f"{name}: {len(ours)} dates compared, {len(bad)} mismatches")
        for d in bad[:20]:
            print(f"  {d}: warden says {'working' if ours[d] else 'rest'}")
        failures += len(bad)

    rng = random.Random(20180101)
    span = (LAST - FIRST).days
    bad = 0
    for _ in range(samples):
        start = FIRST + dt.timedelta(days=rng.randrange(span - 90))
        n = rng.randrange(0, 31)
        got = subprocess.run(
            [warden, "calendar", "add-working-days", start.isoformat(), str(n)],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        d, left = start, n
        while left:
            d += dt.timedelta(days=1)
            if chinese_calendar.is_workday(d) and cn.is_working_day(d):
                left -= 1
        if got != d.isoformat():
            bad += 1
            print(f"  add-working-days {start} {n}: warden {got}, references {d}")
    print(f"add-working-days: {samples} random questions, {bad} mismatches")
    if bad:
        fails.add("add-working-days")
    failures += bad
    checks = ["chinesecalendar", "holidays", "add-working-days"]
    failed = sum(1 for c in checks if c in fails)
    print(f"calendar: {len(checks) - failed} passed, {failed} failed")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
