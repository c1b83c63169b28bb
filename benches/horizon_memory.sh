#!/usr/bin/env bash
# Memory must not grow with the simulated horizon: runs the `mmc` example (one replication, one
# thread, no warm-up) at 10h and at 1000h, prints the peak RSS of each run and their ratio, and
# exits 1 if the 1000h run needs more than 1.5x the memory of the 10h run.
#
# Usage: benches/horizon_memory.sh      (Linux; needs python3)
#
# How the peak RSS is measured: each run gets a fresh python process, so the two never mix.
# A process started directly by python inherits python's own peak RSS (8-14 MiB) in its
# ru_maxrss: the kernel carries the high-water mark of the address space a process had before
# exec() over into it, and python spawns through vfork/fork. That floor is above faultline's
# real peak (~4.5 MiB), so getrusage(RUSAGE_CHILDREN) around subprocess.run would report
# python's size for both runs. Instead python makes itself a child subreaper and has /bin/sh
# (about 1 MiB) start faultline in the background; the orphaned faultline is reparented to
# python, which reaps it with wait4() and reads that process's own ru_maxrss. The floor of this
# method is /bin/sh's size; it is printed for reference.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
MAX_RATIO=1.5

WORK="$(mktemp -d "${TMPDIR:-/tmp}/faultline-memory.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "building faultline (cargo build --release)..." >&2
(cd "$ROOT" && cargo build --release --quiet)
FAULTLINE="$ROOT/target/release/faultline"

cat >"$WORK/maxrss.py" <<'EOF'
"""Runs argv[1:] and prints its peak RSS in KiB (Linux); see the comment in horizon_memory.sh."""
import ctypes
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    errno = ctypes.get_errno()
    raise OSError(errno, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(errno)}")

# sh forks the command (so it starts from sh's small address space, not python's), prints its
# pid and exits; the command is then reparented to this process.
sh = subprocess.run(
    ["/bin/sh", "-c", '"$@" </dev/null >/dev/null 2>&1 & echo $!', "sh", *sys.argv[1:]],
    check=True, stdout=subprocess.PIPE, text=True,
)
pid = int(sh.stdout)
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.exit(f"{' '.join(sys.argv[1:])} failed with exit status {code}")
print(usage.ru_maxrss)
EOF

maxrss() {
    "$PYTHON" "$WORK/maxrss.py" "$@"
}

run_mmc() {
    maxrss "$FAULTLINE" run example:mmc --replications 1 --threads 1 \
        --set warmup=0s --set "horizon=$1" --out "$WORK/out-$1"
}

floor=$(maxrss /bin/true)
rss_10h=$(run_mmc 10h)
rss_1000h=$(run_mmc 1000h)

"$PYTHON" - "$floor" "$rss_10h" "$rss_1000h" "$MAX_RATIO" <<'EOF'
import sys

floor, small, large = (int(a) for a in sys.argv[1:4])
max_ratio = float(sys.argv[4])
ratio = large / small
print(f"mmc, 1 replication, 1 thread, warmup=0s: peak RSS")
print(f"  horizon 10h     {small:>8} KiB")
print(f"  horizon 1000h   {large:>8} KiB")
print(f"  ratio 1000h/10h {ratio:>8.3f}  (limit {max_ratio})")
print(f"  (measurement floor, /bin/true: {floor} KiB)")
if ratio > max_ratio:
    print(f"error: the 1000h run used {ratio:.2f}x the memory of the 10h run "
          f"(limit {max_ratio}x)", file=sys.stderr)
    sys.exit(1)
EOF
