#!/usr/bin/env python3
"""Run `cargo bench --bench principals` several times, pinned to one CPU, and
report what binding a session costs a cookie-only read in each run (bound
minus unbound, from criterion's medians) and across runs (the median).

Bound and unbound are measured one after the other, so a run's difference
carries the machine's drift between them; on a shared 2-core VM that drift is
often larger than the difference itself, which is why one run proves little
and this script repeats it.

Usage: python3 benches/principals_runs.py [RUNS] [CPU]   (default 5 runs, CPU 1;
CPU "none" runs unpinned). Extra criterion arguments go in PRINCIPALS_ARGS
(default "--measurement-time 6")."""

import json
import os
import statistics
import subprocess
import sys

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
cpu = sys.argv[2] if len(sys.argv) > 2 else "1"
extra = os.environ.get("PRINCIPALS_ARGS", "--measurement-time 6").split()
root = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
groups = ("cookie_read", "cookie_read_larger")
cases = ("unbound", "unbound_same_size", "bound")


def median(group, case):
    with open(os.path.join(root, group, case, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]


command = ["cargo", "bench", "--bench", "principals", "--", *extra]
if cpu != "none":
    command = ["taskset", "-c", cpu, *command]
subprocess.run(["cargo", "bench", "--bench", "principals", "--no-run"], check=True)
deltas = {g: [] for g in groups}
print(f"{'run':>3} {'group':<20} " + " ".join(f"{c:>18}" for c in cases) + f" {'bound - unbound':>16}")
for run in range(1, runs + 1):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for g in groups:
        m = {c: median(g, c) for c in cases}
        delta = m["bound"] - m["unbound"]
        deltas[g].append(delta)
        print(f"{run:>3} {g:<20} " + " ".join(f"{m[c]:>15.0f} ns" for c in cases) + f" {delta:>+13.0f} ns")
print()
for g in groups:
    d = sorted(deltas[g])
    print(f"{g}: bound - unbound over {len(d)} runs: median {statistics.median(d):+.0f} ns, "
          f"range {d[0]:+.0f} to {d[-1]:+.0f} ns")
every = [x for g in groups for x in deltas[g]]
print(f"both sizes: median {statistics.median(every):+.0f} ns over {len(every)} differences")
