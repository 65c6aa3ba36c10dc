#!/usr/bin/env python3
"""Medians of the last `cargo bench -p tiered-sessions-actix-bench` run, the
overhead of each case over its group's `no_session` baseline, and the targets
of issue #9 (ratios of our overhead to actix-session's; for the Redis ones, the
`paired` group's ours-minus-theirs decides when it ran).

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

# The paired group (ours minus actix-session's, request for request), when
# run: it decides the Redis targets, whose limit is 1.0 (ours no slower),
# since the separate cases drift between runs by more than that difference.
paired = {}
paired_root = os.path.join(root, "paired")
if os.path.isdir(paired_root):
    for case in sorted(os.listdir(paired_root)):
        path = os.path.join(paired_root, case, "new", "estimates.json")
        if os.path.exists(path):
            with open(path) as f:
                paired[case] = json.load(f)["median"]

targets = [
    ("cookie-only read", "cookie_read", "cookie_signed_read", 0.33, None),
    ("cookie-only write", "cookie_write", "cookie_signed_write", 0.33, None),
    ("Redis read", "redis_read", "redis_read", 1.0, "redis_read_ours_minus_actix_session"),
    ("Redis write", "redis_write", "redis_write", 1.0, "redis_write_ours_minus_actix_session"),
    ("rolling read, Redis", "redis_read_rolling", "redis_read_rolling", 0.6, None),
    ("rolling read, cookie", "cookie_read_rolling", "cookie_signed_read_rolling", 0.6, None),
]
print()
print("| target | ours (ns) | actix-session (ns) | ratio | limit | met |")
print("|---|---:|---:|---:|---:|---|")
for name, ours, theirs, limit, paired_case in targets:
    a, b = over.get(("tiered_sessions", ours)), over.get(("actix_session", theirs))
    if a is None or b is None:
        print(f"| {name} | – | – | – | {limit} | not measured |")
        continue
    r = a / b
    met = "yes" if r <= limit else "NO"
    if paired_case in paired:
        d = paired[paired_case]["point_estimate"]
        met = f"{'yes' if d <= 0 else 'NO'} (paired: {d:+,.0f} ns)"
    print(f"| {name} | {a:,.0f} | {b:,.0f} | {r:.2f} | ≤ {limit} | {met} |")

if paired:
    print()
    print("| paired case | ours - actix-session (ns, median) | 95 % interval |")
    print("|---|---:|---|")
    for case, m in paired.items():
        ci = m["confidence_interval"]
        print(f"| {case} | {m['point_estimate']:+,.0f} | "
              f"{ci['lower_bound']:+,.0f} to {ci['upper_bound']:+,.0f} |")
