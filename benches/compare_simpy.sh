#!/usr/bin/env bash
# CPU cost of simulating the same M/M/4 queue (lambda = 3.2/s, 4 servers, exponential service
# with mean 1 s, rho = 0.8, FIFO) for 1,000,000 customers in SimPy and in faultline's `mmc`
# example. Both report their mean time in system (theory: W = 1.745541 s) as a check that they
# simulate the same model.
#
# Usage: benches/compare_simpy.sh [REPS]     (needs python3 with simpy installed, or with venv and
#                                             PyPI access to install it in a throwaway venv)
#
# The two run one after the other, alternating, REPS times each (default 3); the medians of their
# CPU times are compared, per customer.
#
# SimPy's CPU time is time.process_time() around env.run() only. faultline's is the user+system
# time of the whole `faultline run` process (start-up, scenario loading and writing the report
# included), read with getrusage(RUSAGE_CHILDREN) by a python wrapper.
set -euo pipefail

CUSTOMERS=1000000
# 1,000,000 customers at 3.2/s.
HORIZON_S=312500
SEED=1
REPS="${1:-3}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/faultline-simpy.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "building faultline (cargo build --release)..." >&2
(cd "$ROOT" && cargo build --release --quiet)
FAULTLINE="$ROOT/target/release/faultline"

if "$PYTHON" -c 'import simpy' 2>/dev/null; then
    VPY="$PYTHON"
else
    echo "installing simpy into a temporary venv..." >&2
    "$PYTHON" -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check simpy
    VPY="$WORK/venv/bin/python"
fi
echo "SimPy $("$VPY" -c 'import simpy; print(simpy.__version__)')" >&2

cat >"$WORK/simpy_mmc.py" <<'EOF'
"""M/M/4 FIFO queue in SimPy; prints one JSON line of results."""
import json
import random
import sys
import time

import simpy

customers, seed = int(sys.argv[1]), int(sys.argv[2])
LAMBDA, SERVERS, SERVICE_MEAN = 3.2, 4, 1.0

rng = random.Random(seed)
env = simpy.Environment()
servers = simpy.Resource(env, capacity=SERVERS)  # FIFO request queue
stats = {"n": 0, "wait": 0.0, "tis": 0.0}  # completed customers and running means


def customer(env):
    arrived = env.now
    with servers.request() as req:
        yield req
        wait = env.now - arrived
        yield env.timeout(rng.expovariate(1.0 / SERVICE_MEAN))
    n = stats["n"] + 1
    stats["n"] = n
    stats["wait"] += (wait - stats["wait"]) / n
    stats["tis"] += ((env.now - arrived) - stats["tis"]) / n


def source(env):
    for _ in range(customers):
        yield env.timeout(rng.expovariate(LAMBDA))
        env.process(customer(env))


env.process(source(env))
start = time.process_time()
env.run()
cpu = time.process_time() - start
print(json.dumps({
    "customers": stats["n"],
    "cpu_s": cpu,
    "wait_mean_s": stats["wait"],
    "time_in_system_mean_s": stats["tis"],
    "simulated_s": env.now,
}))
EOF

cat >"$WORK/run_faultline.py" <<'EOF'
"""Runs faultline as a child process; prints its CPU time and results as one JSON line."""
import json
import resource
import subprocess
import sys

faultline, horizon_s, seed, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
cmd = [
    faultline, "run", "example:mmc",
    "--set", f"horizon={horizon_s}s", "--set", "warmup=0s",
    "--seed", seed, "--replications", "1", "--threads", "1", "--out", out,
]
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(f"{out}/report.json") as f:
    metrics = json.load(f)["metrics"]
print(json.dumps({
    "customers": int(metrics["completions"]["mean"]),
    "cpu_s": usage.ru_utime + usage.ru_stime,
    "wait_mean_s": metrics["queue_wait_mean_s"]["mean"],
    "time_in_system_mean_s": metrics["time_in_system_mean_s"]["mean"],
    "simulated_s": float(horizon_s),
}))
EOF

for i in $(seq 1 "$REPS"); do
    echo "run $i/$REPS: SimPy for $CUSTOMERS customers, then faultline for ${HORIZON_S}s..." >&2
    "$VPY" "$WORK/simpy_mmc.py" "$CUSTOMERS" "$SEED" >>"$WORK/simpy.json"
    "$PYTHON" "$WORK/run_faultline.py" "$FAULTLINE" "$HORIZON_S" "$SEED" "$WORK/out" >>"$WORK/faultline.json"
done

"$PYTHON" - "$WORK/simpy.json" "$WORK/faultline.json" <<'EOF'
import json
import sys


def median_run(path):
    """The run with the median CPU time (the lower middle one for an even count)."""
    runs = sorted((json.loads(line) for line in open(path)), key=lambda r: r["cpu_s"])
    return runs[(len(runs) - 1) // 2], len(runs)


simpy_r, reps = median_run(sys.argv[1])
fl, _ = median_run(sys.argv[2])
THEORY_W, THEORY_WQ = 1.745541, 0.745541

for r in (simpy_r, fl):
    r["rate"] = r["customers"] / r["cpu_s"]

rows = [
    ("customers simulated", "{:,}", "customers"),
    ("CPU seconds", "{:.3f}", "cpu_s"),
    ("customers per CPU-second", "{:,.0f}", "rate"),
    ("mean wait in queue (s)", "{:.4f}", "wait_mean_s"),
    ("mean time in system (s)", "{:.4f}", "time_in_system_mean_s"),
]
print()
print(f"M/M/4, lambda = 3.2/s, rho = 0.8 (theory: Wq = {THEORY_WQ} s, W = {THEORY_W} s)")
print(f"median of {reps} alternating runs each; one thread")
print(f"{'':<26}{'SimPy':>16}{'faultline':>16}")
for label, fmt, key in rows:
    print(f"{label:<26}{fmt.format(simpy_r[key]):>16}{fmt.format(fl[key]):>16}")
print()
print(f"faultline/SimPy customers per CPU-second (per-customer speed ratio): "
      f"{fl['rate'] / simpy_r['rate']:.1f}x")

bad = [
    name for name, r in (("SimPy", simpy_r), ("faultline", fl))
    if abs(r["time_in_system_mean_s"] - THEORY_W) > 0.05 * THEORY_W
]
if bad:
    print(f"error: mean time in system of {', '.join(bad)} is more than 5% from theory; "
          "the two runs do not simulate the same model", file=sys.stderr)
    sys.exit(1)
EOF
