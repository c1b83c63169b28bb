#!/usr/bin/env bash
# faultline's whole stack against the smallest event loop that simulates the same model: runs
# `faultline run example:mmc --threads 1` (M/M/4, rho = 0.8, 20 replications of 51,000 s with
# the warm-up, about 3.26 M customers) and `bare_mmc` (benches/src/bin/bare_mmc.rs: a binary
# heap, ChaCha8, u64 ns, the same replications and horizon) one after the other, alternating,
# REPS times each (default 5), and prints the median CPU time (user + system, whole process, from
# getrusage(RUSAGE_CHILDREN) around each run) of each and faultline's speed as a share of the
# bare loop's, per customer.
#
# Usage: benches/compare_bare.sh [REPS]         (needs python3)
#
# Both print their mean time in system; the script fails if either is more than 2% from theory
# (W = 1.745541 s), as a check that the two simulate the same model.
set -euo pipefail

REPS="${1:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/faultline-bare.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "building faultline and bare_mmc (cargo build --release)..." >&2
(cd "$ROOT" && cargo build --release --quiet --bin faultline && cargo build --release --quiet -p faultline-benches --bin bare_mmc)

"$PYTHON" - "$ROOT/target/release/faultline" "$ROOT/target/release/bare_mmc" "$REPS" "$WORK" <<'EOF'
import json
import resource
import statistics
import subprocess
import sys

faultline, bare, reps, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
THEORY_W = 1.745541


def cpu_of(cmd, **kw):
    """Runs cmd; returns (user+system CPU seconds of that child, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kw)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out.stdout


runs = {"faultline": [], "bare": []}
for i in range(reps):
    out = f"{work}/out-{i}"
    cpu, _ = cpu_of([faultline, "run", "example:mmc", "--threads", "1", "--out", out])
    with open(f"{out}/report.json") as f:
        metrics = json.load(f)["metrics"]
    fl = {"cpu_s": cpu, "w": metrics["time_in_system_mean_s"]["mean"]}
    runs["faultline"].append(fl)
    cpu, stdout = cpu_of([bare, "20", "51000", "1"])
    b = json.loads(stdout)
    runs["bare"].append({"cpu_s": cpu, "customers": b["customers"], "w": b["time_in_system_mean_s"]})
    print(f"  run {i + 1}/{reps}: faultline {fl['cpu_s']:.3f} CPU-s, bare loop {cpu:.3f} CPU-s", file=sys.stderr)

print()
print("M/M/4, rho = 0.8, 20 replications x 51,000 s (warm-up included), one thread")
print(f"(median of {reps} alternating runs; user + system CPU of the whole process)")
med = {n: statistics.median(r["cpu_s"] for r in runs[n]) for n in runs}
w = {n: runs[n][0]["w"] for n in runs}
customers = runs["bare"][0]["customers"]
print(f"{'':<32}{'bare loop':>14}{'faultline':>14}")
print(f"{'customers simulated':<32}{customers:>14,}{'same':>14}")
print(f"{'CPU seconds (median)':<32}{med['bare']:>14.3f}{med['faultline']:>14.3f}")
print(f"{'customers per CPU-second':<32}{customers / med['bare']:>14,.0f}{customers / med['faultline']:>14,.0f}")
print(f"{'mean time in system (s)':<32}{w['bare']:>14.4f}{w['faultline']:>14.4f}")
print()
print(f"faultline runs at {100 * med['bare'] / med['faultline']:.0f}% of the bare loop's speed "
      f"(bare/faultline CPU time, same customers)")
bad = [n for n in w if abs(w[n] - THEORY_W) > 0.02 * THEORY_W]
if bad:
    sys.exit(f"error: mean time in system of {', '.join(bad)} is more than 2% from theory")
EOF
