#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on this machine (munged + slurmctld + slurmd on
# 127.0.0.1), everything under one directory. Used by tests/test_slurm.py; also by hand:
#
#   tests/slurm/cluster.sh start /some/dir    # prints `export SLURM_CONF=/some/dir/slurm.conf`
#   export SLURM_CONF=/some/dir/slurm.conf; sinfo; sbatch --wrap hostname; squeue --states=all
#   tests/slurm/cluster.sh stop /some/dir     # cancels its jobs, stops the daemons it started
#
# Needs root (slurmd starts job steps as the submitting user) and Debian's slurm-wlm and munge
# (`make slurm-packages`). On failure `start` says why on stderr, exits non-zero and stops
# whatever it had already started.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
DIR=${2:-}
if [[ -z $cmd || -z $DIR ]]; then
  echo "usage: $0 start|stop|status DIR" >&2
  exit 2
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
export SLURM_CONF=$DIR/slurm.conf

die() { echo "SLURM test cluster: $*" >&2; exit 1; }

log_tail() {  # file, lines
  [[ -s $1 ]] && { echo "--- last lines of $1:"; tail -n "${2:-15}" "$1"; } >&2 || true
}

pid_of() {  # pid file -> pid if that process is alive
  local f=$1 pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

wait_gone() {  # pid, seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

stop_pid() {  # name, pid file: TERM, then KILL after 10 s; only the pid recorded in the file
  local pid
  pid=$(pid_of "$2") || return 0
  kill "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 10; then
    echo "SLURM test cluster: $1 ($pid) ignored SIGTERM for 10 s: SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || true
  fi
  rm -f "$2"
}

our_stepds() {  # slurmstepd processes forked by our slurmd: they inherit SLURM_CONF=$DIR/...
  local p
  for p in /proc/[0-9]*; do
    [[ $(cat "$p/comm" 2>/dev/null) == slurmstepd ]] || continue
    tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "SLURM_CONF=$SLURM_CONF" && echo "${p#/proc/}"
  done
  return 0
}

stop() {
  if [[ -f $SLURM_CONF ]] && pid_of "$DIR/slurmctld.pid" >/dev/null; then
    scancel --full --quiet --user "$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do  # up to 5 s for running jobs to end
      [[ -z $(squeue --noheader --states=running,completing 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
  stop_pid slurmd "$DIR/slurmd.pid"
  stop_pid slurmctld "$DIR/slurmctld.pid"
  local p
  for p in $(our_stepds); do kill -9 "$p" 2>/dev/null || true; done
  stop_pid munged "$DIR/munge/munged.pid"
}

exited() {  # pid file, loop iteration: true once the daemon is known to be gone
  # A daemon writes its pid file after it forks, so a missing or empty file right after start
  # means "not yet", not "exited" (CI once failed on exactly that race); a pid that is dead twice,
  # 0.2 s apart, or no pid file after 10 s, means exited.
  [[ -s $1 ]] || { (( $2 >= 100 )); return; }
  pid_of "$1" >/dev/null && return 1
  sleep 0.2
  ! pid_of "$1" >/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  [[ $(id -u) == 0 ]] || die "needs root: slurmd runs job steps as the submitting user (uid $(id -u) here)"
  local exe
  for exe in munged munge unmunge slurmctld slurmd sbatch srun squeue sinfo scontrol scancel; do
    command -v "$exe" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$exe" >/dev/null \
      || die "'$exe' not found: install Debian's slurm-wlm and munge (make slurm-packages)"
  done
  export PATH=$PATH:/usr/sbin:/sbin
  if pid_of "$DIR/slurmctld.pid" >/dev/null; then die "a cluster is already running in $DIR"; fi
  trap 'rc=$?; if [[ $rc != 0 ]]; then stop; fi' EXIT

  mkdir -p "$DIR/munge" "$DIR/state" "$DIR/spool"
  chmod 700 "$DIR/munge"
  # munge: a fresh key, a private socket (the system's munged, if any, is left alone).
  [[ -s $DIR/munge/munge.key ]] || { head -c 1024 /dev/urandom >"$DIR/munge/munge.key"; }
  chmod 400 "$DIR/munge/munge.key"
  munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" \
    || { log_tail "$DIR/munge/munged.log"; die "munged did not start"; }
  munge -n -S "$DIR/munge/munge.socket" | unmunge -S "$DIR/munge/munge.socket" >/dev/null \
    || { log_tail "$DIR/munge/munged.log"; die "munge credential round trip failed"; }

  local ctld_port slurmd_port
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  [[ $ctld_port != "$slurmd_port" ]] || slurmd_port=$(free_port)
  sed -e "s|@DIR@|$DIR|g" -e "s|@CTLD_PORT@|$ctld_port|g" -e "s|@SLURMD_PORT@|$slurmd_port|g" \
    -e "s|@HOST@|$(hostname)|g" -e "s|@CPUS@|$(( $(nproc) > 4 ? $(nproc) : 4 ))|g" "$HERE/slurm.conf.in" >"$SLURM_CONF"
  cp "$HERE/gres.conf.in" "$DIR/gres.conf"
  : >"$DIR/plugstack.conf"  # no SPANK plugins (not the system's /etc/slurm/plugstack.conf)

  # -i: ignore state left in $DIR by an earlier run; -c: clear it.
  slurmctld -i -c || { log_tail "$DIR/slurmctld.log"; die "slurmctld did not start"; }
  slurmd -N node1 || { log_tail "$DIR/slurmd.log"; die "slurmd did not start"; }

  local state="" i
  for ((i = 0; i < 300; i++)); do  # up to 30 s for node1 to register and become idle
    state=$(sinfo --noheader --nodes=node1 --partition=cpu --format=%T 2>/dev/null || true)
    [[ $state == idle ]] && break
    [[ $state == inval* || $state == drain* || $state == down* ]] && break
    exited "$DIR/slurmctld.pid" "$i" && { log_tail "$DIR/slurmctld.log"; die "slurmctld exited"; }
    exited "$DIR/slurmd.pid" "$i" && { log_tail "$DIR/slurmd.log"; die "slurmd exited"; }
    sleep 0.1
  done
  if [[ $state != idle ]]; then
    log_tail "$DIR/slurmctld.log"
    log_tail "$DIR/slurmd.log"
    scontrol show node node1 >&2 || true
    die "node1 is '${state:-unknown}' after 30 s, not idle"
  fi
  trap - EXIT
  echo "export SLURM_CONF=$SLURM_CONF"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status)
    pid_of "$DIR/slurmctld.pid" >/dev/null || die "slurmctld not running in $DIR"
    sinfo
    squeue --states=all
    ;;
  *) echo "usage: $0 start|stop|status DIR" >&2; exit 2 ;;
esac
