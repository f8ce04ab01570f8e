#!/usr/bin/env bash
# A private Prometheus for LogsMigration's tests and demos: Debian's package, never run as a system service.
# Usage: prometheus.sh install
#        prometheus.sh start CONFIG DATA_DIR PORT   (prints http://127.0.0.1:PORT once /-/ready answers)
#        prometheus.sh stop DATA_DIR
#        prometheus.sh status DATA_DIR             (prints the pid and exits 0 while it runs, else exits 1)
# Everything of one instance lives in DATA_DIR: the TSDB (DATA_DIR/data), prometheus.pid, prometheus.port and
# prometheus.log.
# start and stop are idempotent: a Prometheus already running from DATA_DIR is reused, a stopped one is left alone.
# Only values (the URL, the pid) go to stdout; chatter goes to stderr.
set -euo pipefail

PROMETHEUS=/usr/bin/prometheus
READY_TIMEOUT_TENTHS=300  # 30 s

log() { echo "prometheus: $*" >&2; }
die() { log "error: $*"; exit 1; }

pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

# Not exited and not a zombie.
alive() { local st; st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) && [[ -n $st && $st != Z ]]; }

# The pidfile's pid counts only while it is a live prometheus: never signal a recycled pid.
server_pid() {
  local dir=$1 pid
  [[ -s $dir/prometheus.pid ]] || return 1
  pid=$(<"$dir/prometheus.pid")
  [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == prometheus ]] && alive "$pid" || return 1
  echo "$pid"
}

ready() { curl -sf --max-time 2 "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1; }

cmd_install() {
  local missing=() p policy=/usr/sbin/policy-rc.d
  for p in prometheus curl; do pkg_installed "$p" || missing+=("$p"); done
  if ((${#missing[@]} == 0)); then log "install: nothing to do"; return; fi
  log "install: ${missing[*]}"
  # The package's postinst starts its init.d service through invoke-rc.d: a policy-rc.d that answers 101
  # ("forbidden") stops that. Put one in place only for this install when the machine has none.
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# Written by LogsMigration scripts/prometheus.sh for the length of one apt-get install.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    # A global, not a local: the trap runs after this function has returned.
    CREATED_POLICY=$policy
    trap 'rm -f "$CREATED_POLICY"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No recommends: prometheus-node-exporter would be one more system service.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  [[ -x $PROMETHEUS ]] || die "$PROMETHEUS missing after install"
}

cmd_start() {
  local config=${1:-} dir=${2:-} port=${3:-} pid launcher="" i
  [[ -n $config && -n $dir && -n $port ]] || die "usage: $0 start CONFIG DATA_DIR PORT"
  [[ $port =~ ^[0-9]+$ ]] || die "bad port '$port'"
  [[ -r $config ]] || die "no config at $config"
  [[ -x $PROMETHEUS ]] || die "$PROMETHEUS missing (run: $0 install)"
  mkdir -p "$dir"
  config=$(realpath "$config")
  dir=$(realpath "$dir")
  exec 9>"$dir/start.lock"
  flock 9
  if pid=$(server_pid "$dir"); then
    [[ $(cat "$dir/prometheus.port" 2>/dev/null) == "$port" ]] \
      || die "start: already running from $dir (pid $pid) on port $(cat "$dir/prometheus.port" 2>/dev/null || echo '?'), not $port"
    log "start: already running from $dir (pid $pid)"
  else
    # Someone else's server on the port would answer /-/ready for ours, which then fails to bind.
    if curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$port/"; then die "start: port $port is already in use"; fi
    # setsid: it outlives the shell or test runner that started it; its output goes to a file so it never
    # holds the caller's pipes, and the lock's fd 9 is not inherited.
    setsid "$PROMETHEUS" --config.file="$config" --web.listen-address="127.0.0.1:$port" --storage.tsdb.path="$dir/data" \
      --storage.tsdb.retention.time=1d </dev/null >>"$dir/prometheus.log" 2>&1 9>&- &
    launcher=$!
    echo "$launcher" >"$dir/prometheus.pid"
    echo "$port" >"$dir/prometheus.port"
  fi
  for ((i = 0; i < READY_TIMEOUT_TENTHS; i++)); do
    if ready "$port"; then echo "http://127.0.0.1:$port"; return; fi
    if [[ -n $launcher ]] && ! alive "$launcher"; then break; fi
    sleep 0.1
  done
  log "Prometheus from $dir did not answer /-/ready on 127.0.0.1:$port; last lines of $dir/prometheus.log:"
  tail -n 30 "$dir/prometheus.log" >&2 || true
  if [[ -n $launcher ]] && alive "$launcher"; then kill -KILL "$launcher" 2>/dev/null || true; fi
  rm -f "$dir/prometheus.pid" "$dir/prometheus.port"
  exit 1
}

cmd_stop() {
  local dir=${1:-} pid i
  [[ -n $dir ]] || die "usage: $0 stop DATA_DIR"
  if pid=$(server_pid "$dir"); then
    kill -TERM "$pid"
    for ((i = 0; i < 150; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then log "stop: prometheus $pid ignored TERM; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$dir/prometheus.pid" "$dir/prometheus.port"
}

cmd_status() {
  local dir=${1:-} pid
  [[ -n $dir ]] || die "usage: $0 status DATA_DIR"
  pid=$(server_pid "$dir") || return 1
  echo "$pid"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) die "usage: $0 install | start CONFIG DATA_DIR PORT | stop DATA_DIR | status DATA_DIR" ;;
esac
