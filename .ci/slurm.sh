#!/usr/bin/env bash
# A throwaway single-node Slurm cluster for the job-array sweep test.
#
#   .ci/slurm.sh up DIR    installs slurm-wlm and munge if missing, starts munged, slurmctld
#                          and slurmd with state under DIR, waits until the node is idle, and
#                          writes DIR/env (source it: it exports SLURM_CONF)
#   .ci/slurm.sh down DIR  stops every daemon it started, by PID
#
# Nothing is written under /etc/slurm; everything lives in DIR. Needs root (the daemons run as
# root and munged as the munge user).
set -euo pipefail

cmd=${1:?usage: slurm.sh up|down DIR}
S=${2:?usage: slurm.sh up|down DIR}

stop() {
  for pid_file in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/munged.pid"; do
    if [ -f "$pid_file" ]; then
      kill "$(cat "$pid_file")" 2>/dev/null || true
    fi
  done
}

case "$cmd" in
down)
  stop
  exit 0
  ;;
up) ;;
*)
  echo "usage: slurm.sh up|down DIR" >&2
  exit 2
  ;;
esac

if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null; }
fi

mkdir -p "$S/munge" "$S/etc" "$S/state" "$S/spool"
# munged runs as the munge user and must reach its socket folder (mktemp -d makes 0700).
chmod 755 "$S"
# munged refuses a socket folder that is not 0711, and runs as the munge user.
chown munge:munge "$S/munge"
chmod 711 "$S/munge"
[ -f /etc/munge/munge.key ] || /usr/sbin/mungekey --create >/dev/null 2>&1 || true
runuser -u munge -- /usr/sbin/munged --socket="$S/munge/munge.socket" \
  --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" \
  --seed-file="$S/munge/munged.seed" --key-file=/etc/munge/munge.key
munge -S "$S/munge/munge.socket" -n | unmunge -S "$S/munge/munge.socket" >/dev/null

HOST=$(hostname -s)
CPUS=$(nproc)
cat >"$S/etc/slurm.conf" <<EOF
ClusterName=faultlineci
SlurmctldHost=$HOST
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$HOST CPUs=$CPUS RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/etc/slurm.conf
slurmctld -i
slurmd
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -q idle; then
    echo "export SLURM_CONF=$SLURM_CONF" >"$S/env"
    echo "slurm: node $HOST idle (state in $S)"
    exit 0
  fi
  sleep 1
done
echo "slurm did not come up; logs in $S" >&2
tail -n 20 "$S/slurmctld.log" "$S/slurmd.log" >&2 || true
stop
exit 1
