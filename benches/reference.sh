#!/usr/bin/env bash
# The reference LLM scenario (benches/reference.toml: 4 tenants, 3 API providers and a GPU pool,
# every gateway policy, 4 SLOs with burn-rate alerts, a chaos experiment; 1,000 virtual hours x 2
# replications), run whole with `faultline run` on 2 threads and on 1, alternating, REPS times
# each (default 1). Prints, per thread count, the median of: events simulated, wall seconds, CPU
# seconds (user + system), events per CPU-second, virtual hours per wall-second (2,000 virtual
# hours over the run's wall time) and peak RSS; then the speed-up of 2 threads over 1.
#
# Usage: benches/reference.sh [REPS] [extra faultline run arguments, e.g. --set horizon=100h]
#                                                                  (Linux; needs python3)
# THREADS="2" benches/reference.sh runs the 2-thread case only (default THREADS="2 1").
#
# Wall, CPU and peak RSS are those of the faultline process alone (plots, report.html and
# report.json included), reaped with wait4() through a child subreaper as in horizon_memory.sh,
# so python's own size does not leak into ru_maxrss.
set -euo pipefail

REPS="${1:-1}"
shift || true
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/faultline-reference.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "building faultline (cargo build --release)..." >&2
(cd "$ROOT" && cargo build --release --quiet --bin faultline)

THREADS="${THREADS:-2 1}" "$PYTHON" - "$ROOT/target/release/faultline" "$ROOT/benches/reference.toml" "$REPS" "$WORK" "$@" <<'EOF'
import ctypes
import json
import os
import re
import statistics
import subprocess
import sys
import time

faultline, scenario, reps, work, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")


def run(threads, i):
    out = f"{work}/out-{threads}-{i}"
    log = f"{work}/log-{threads}-{i}"
    cmd = [faultline, "run", scenario, "--threads", str(threads), "--out", out, *extra]
    start = time.monotonic()
    sh = subprocess.run(["/bin/sh", "-c", '"$@" </dev/null >"$LOG" 2>&1 & echo $!', "sh", *cmd],
                        check=True, stdout=subprocess.PIPE, text=True, env={**os.environ, "LOG": log})
    _, status, usage = os.wait4(int(sh.stdout), 0)
    wall = time.monotonic() - start
    text = open(log).read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"faultline failed:\n{text}")
    m = re.search(r"simulated (\d+) events", text)
    if not m:
        sys.exit(f"no event count in faultline's output:\n{text}")
    report = json.load(open(f"{out}/report.json"))
    scen = report["scenario"]
    hours = report["replications"] * parse_hours(scen["horizon"])
    return {"events": int(m.group(1)), "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024, "hours": hours, "digest": report["results_digest"]}


def parse_hours(h):
    """Virtual hours of a horizon as the report writes it (nanoseconds, or a duration string)."""
    if isinstance(h, (int, float)):
        return h / 3.6e12
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|min|h|d)", h)
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
    return float(m.group(1)) * scale[m.group(2)] / 3600


counts = [int(t) for t in os.environ["THREADS"].split()]
runs = {t: [] for t in counts}
for i in range(reps):
    for threads in counts:
        r = run(threads, i)
        runs[threads].append(r)
        print(f"  run {i + 1}/{reps}, {threads} thread(s): {r['wall']:.1f} s wall, {r['cpu']:.1f} CPU-s, "
              f"{r['rss_mib']:.1f} MiB", file=sys.stderr)

digests = {r["digest"] for rs in runs.values() for r in rs}
med = {t: {k: statistics.median(r[k] for r in rs) for k in ("events", "wall", "cpu", "rss_mib", "hours")}
       for t, rs in runs.items()}
print()
first = med[counts[0]]
print(f"benches/reference.toml, {first['hours']:,.0f} virtual hours in all "
      f"(median of {reps} run(s) each, alternating; whole process)")
print(f"{'':<34}" + "".join(f"{f'{t} thread(s)':>14}" for t in counts))
rows = [("events", "{:,.0f}", lambda m: m["events"]),
        ("wall seconds", "{:.2f}", lambda m: m["wall"]),
        ("CPU seconds (user + system)", "{:.2f}", lambda m: m["cpu"]),
        ("events per CPU-second", "{:,.0f}", lambda m: m["events"] / m["cpu"]),
        ("virtual hours per wall-second", "{:,.1f}", lambda m: m["hours"] / m["wall"]),
        ("times real time", "{:,.0f}", lambda m: m["hours"] * 3600 / m["wall"]),
        ("peak RSS (MiB)", "{:.1f}", lambda m: m["rss_mib"])]
for label, fmt, f in rows:
    print(f"{label:<34}" + "".join(f"{fmt.format(f(med[t])):>14}" for t in counts))
print()
if 1 in med and 2 in med:
    print(f"2 threads / 1 thread speed-up (wall): {med[1]['wall'] / med[2]['wall']:.2f}x")
if len(digests) != 1:
    sys.exit(f"error: the runs disagree on the results digest: {sorted(digests)}")
print(f"results digest (the same in every run): {digests.pop()}")
EOF
