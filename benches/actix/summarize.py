#!/usr/bin/env python3
"""Medians of the last `cargo bench -p tiered-sessions-actix-bench` run, the
overhead of each case over its group's `no_session` baseline, and the targets
of issue #9 (ratios of our overhead to actix-session's).

Usage: python3 benches/actix/summarize.py [CRITERION_DIR]
(default: $CARGO_TARGET_DIR/criterion, else target/criterion)."""

import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")


def median(group, case):
    path = os.path.join(root, group, case, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None


rows = []
over = {}
for group in ("tiered_sessions", "actix_session"):
    base = median(group, "no_session")
    cases = sorted(os.listdir(os.path.join(root, group)))
    for case in cases:
        m = median(group, case)
        if m is None:
            continue
        o = None if case == "no_session" or base is None else m - base
        over[(group, case)] = o
        rows.append((group, case, m, o))

print("| group | case | median (ns) | over no_session (ns) |")
print("|---|---|---:|---:|")
for group, case, m, o in rows:
    print(f"| {group} | {case} | {m:,.0f} | {'(baseline)' if o is None else f'{o:,.0f}'} |")

targets = [
    ("cookie-only read", "cookie_read", "cookie_signed_read", 0.33),
    ("cookie-only write", "cookie_write", "cookie_signed_write", 0.33),
    ("Redis read", "redis_read", "redis_read", 1.0),
    ("Redis write", "redis_write", "redis_write", 1.0),
    ("rolling read, Redis", "redis_read_rolling", "redis_read_rolling", 0.6),
    ("rolling read, cookie", "cookie_read_rolling", "cookie_signed_read_rolling", 0.6),
]
print()
print("| target | ours (ns) | actix-session (ns) | ratio | limit | met |")
print("|---|---:|---:|---:|---:|---|")
for name, ours, theirs, limit in targets:
    a, b = over.get(("tiered_sessions", ours)), over.get(("actix_session", theirs))
    if a is None or b is None:
        print(f"| {name} | – | – | – | {limit} | not measured |")
        continue
    r = a / b
    print(f"| {name} | {a:,.0f} | {b:,.0f} | {r:.2f} | ≤ {limit} | {'yes' if r <= limit else 'NO'} |")


# The paired group (ours minus actix-session's, request for request), when run.
paired = os.path.join(root, "paired")
if os.path.isdir(paired):
    print()
    print("| paired case | ours - actix-session (ns, median) | 95 % interval |")
    print("|---|---:|---|")
    for case in sorted(os.listdir(paired)):
        path = os.path.join(paired, case, "new", "estimates.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            m = json.load(f)["median"]
        ci = m["confidence_interval"]
        print(f"| {case} | {m['point_estimate']:+,.0f} | "
              f"{ci['lower_bound']:+,.0f} to {ci['upper_bound']:+,.0f} |")
