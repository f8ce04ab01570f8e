#!/usr/bin/env bash
# Three instances of the service behind Debian's HAProxy, on loopback: the cluster mode of docs/scale-out.md.
# Usage: cluster.sh [start]   build, start three instances and HAProxy (deploy/haproxy/haproxy.cfg), print the URLs
#        cluster.sh add       start one more instance and add it to the running HAProxy (runtime API, fixed id)
#                             and to the cluster's copy of the configuration (kept across a reload)
#        cluster.sh stop      stop HAProxy and the instances (by the pids recorded at start)
#        cluster.sh status    the recorded pids and whether each still runs
# TLS: LOGS_CLUSTER_TLS_CERT=/path/cert+key.pem serves the proxy with TLS (https/wss).
# Docker: DOCKER_HOST when it answers, else the project's private engine 'demo' (scripts/docker-engine.sh) with the
# demo container and service, as scripts/run.sh does. Ports (127.0.0.1): LOGS_CLUSTER_PORT (18400) is the proxy,
# the next three the instances, +9 HAProxy's stats, +10 its peers port. State under LOGS_CLUSTER_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state="${LOGS_CLUSTER_DIR:-/tmp/logsmigration-cluster}"
base_port="${LOGS_CLUSTER_PORT:-18400}"

log() { echo "cluster: $*" >&2; }

# A recorded pid counts only while it is still the process we started (its command line names what we ran).
owned_pid() {  # owned_pid FILE PATTERN
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
  echo "$pid"
}

stop_one() {  # stop_one FILE PATTERN
  local pid i
  pid=$(owned_pid "$1" "$2") || { rm -f "$1"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  # The service drains its viewers first (Streaming:ShutdownDrainWindow, 10 s by default).
  for ((i = 0; i < 400; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
  [[ -d /proc/$pid ]] && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

cmd_stop() {
  [[ -d $state ]] || { log "nothing recorded under $state"; return; }
  stop_one "$state/haproxy.pid" haproxy
  local f
  for f in "$state"/instance-*.pid; do [[ -e $f ]] && stop_one "$f" LogsMigration.Api.dll; done
  log "stopped"
}

cmd_status() {
  local f pid
  for f in "$state"/*.pid; do
    [[ -e $f ]] || continue
    if pid=$(owned_pid "$f" "haproxy\|LogsMigration.Api.dll"); then echo "$(basename "$f" .pid) $pid running"; else echo "$(basename "$f" .pid) - gone"; fi
  done
}

ping_docker() { local sock=${1#unix://}; [[ -S $sock ]] && curl -fsS --max-time 3 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }

cmd_start() {
  mkdir -p "$state"
  if owned_pid "$state/haproxy.pid" haproxy >/dev/null; then log "already running (cluster.sh stop first)"; exit 1; fi
  scripts/haproxy.sh install
  local docker_host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
  if [[ $docker_host != unix://* ]] || ! ping_docker "$docker_host"; then
    if [[ -n ${DOCKER_HOST:-} && $docker_host != unix://* ]]; then
      log "using DOCKER_HOST=$docker_host"
    else
      log "no Docker engine answers at $docker_host; starting the project's private engine 'demo'"
      scripts/docker-engine.sh install
      export LOGS_ENGINE_SWARM_PORT="${LOGS_ENGINE_SWARM_PORT:-2387}"
      docker_host=$(scripts/docker-engine.sh start demo)
      scripts/docker-engine.sh image demo
      local dk="/usr/bin/docker -H $docker_host"
      $dk inspect logs-demo >/dev/null 2>&1 || $dk run -d --name logs-demo --restart unless-stopped local/busybox:latest \
        sh -c 'i=0; while true; do i=$((i+1)); echo "level=info n=$i demo container line"; sleep 1; done' >/dev/null
    fi
  fi
  # Equal on every instance: the signing key (tokens from any instance's issuer work on all) and the hosts.
  if [[ -z ${Auth__SigningKey:-} ]]; then
    Auth__SigningKey=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    log "generated a signing key for this run (set Auth__SigningKey to use the auth service's key)"
  fi
  export Auth__SigningKey
  printf '%s' "$Auth__SigningKey" >"$state/signing-key"; chmod 600 "$state/signing-key"

  printf '%s' "$docker_host" >"$state/docker-host"
  dotnet build src/Api -c Release -v quiet -nologo >&2
  local i port scheme=http ws=ws
  for i in 1 2 3; do start_instance "$i" "$docker_host"; done
  for i in 1 2 3; do wait_instance "$i" || { cmd_stop; exit 1; }; done

  # The bind's address and options in one variable, split into words by the configuration ("${LOGS_PROXY_BIND[*]}").
  LOGS_PROXY_BIND="127.0.0.1:$base_port"
  if [[ -n ${LOGS_CLUSTER_TLS_CERT:-} ]]; then
    [[ -r $LOGS_CLUSTER_TLS_CERT ]] || { log "LOGS_CLUSTER_TLS_CERT=$LOGS_CLUSTER_TLS_CERT is not readable"; cmd_stop; exit 1; }
    LOGS_PROXY_BIND+=" ssl crt $LOGS_CLUSTER_TLS_CERT"; scheme=https; ws=wss
  fi
  export LOGS_PROXY_BIND LOGS_DEFAULT_HOST=local LOGS_HAPROXY_LOG=stdout
  export LOGS_INSTANCE_1="127.0.0.1:$((base_port + 1))" LOGS_INSTANCE_2="127.0.0.1:$((base_port + 2))" LOGS_INSTANCE_3="127.0.0.1:$((base_port + 3))"
  export LOGS_STATS_BIND="127.0.0.1:$((base_port + 9))" LOGS_PEER_NAME=proxy1 LOGS_PEER_ADDR="127.0.0.1:$((base_port + 10))"
  export LOGS_PEER2_NAME=proxy2 LOGS_PEER2_ADDR="127.0.0.1:$((base_port + 11))" LOGS_HAPROXY_RUNTIME="$state/haproxy.sock"
  export LOGS_HAPROXY_HARD_STOP_AFTER="${LOGS_HAPROXY_HARD_STOP_AFTER:-30s}"
  # A copy of the shipped file, so `cluster.sh add` can write its server lines where a reload finds them.
  cp deploy/haproxy/haproxy.cfg "$state/haproxy.cfg"
  haproxy -c -q -f "$state/haproxy.cfg"
  setsid haproxy -f "$state/haproxy.cfg" -p "$state/haproxy.pid" </dev/null >"$state/haproxy.log" 2>&1 &
  for ((n = 0; n < 100; n++)); do [[ -s $state/haproxy.pid ]] && break; sleep 0.1; done

  local token
  token=$(mint_token admin)
  cat >&2 <<MSG

LogsMigration cluster: HAProxy on $scheme://127.0.0.1:$base_port in front of three instances (Docker: $docker_host)
  container logs: $ws://127.0.0.1:$base_port/ws/containers/logs-demo/logs?token=$token
  instances:      http://127.0.0.1:$((base_port + 1)) .. $((base_port + 3))   (curl -H "Authorization: Bearer \$TOKEN" .../admin/streams)
  HAProxy stats:  http://127.0.0.1:$((base_port + 9))/stats   runtime API: socat - UNIX:$state/haproxy.sock
  logs:           $state/*.log      stop: scripts/cluster.sh stop
MSG
  echo "$scheme://127.0.0.1:$base_port"
}

start_instance() {  # start_instance N DOCKER_HOST
  local dll="$root/src/Api/bin/Release/net10.0/LogsMigration.Api.dll" port=$((base_port + $1))
  # From its own folder, which holds appsettings.json (the content root). exec: the recorded pid is dotnet's.
  (cd "$(dirname "$dll")" && Docker__DefaultHost=local Docker__Hosts__local__Endpoint="$2" Streaming__InstanceId="i$1" Pipeline__ResolveCacheTtl="${Pipeline__ResolveCacheTtl:-00:00:05}" \
    Auth__SigningKey="$(<"$state/signing-key")" exec setsid dotnet "$dll" --urls "http://127.0.0.1:$port" </dev/null >"$state/instance-$1.log" 2>&1) &
  echo $! >"$state/instance-$1.pid"
}

wait_instance() {  # wait_instance N
  local port=$((base_port + $1)) n
  for ((n = 0; n < 600; n++)); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "instance $1 did not start; see $state/instance-$1.log"; return 1
}

runtime() { echo "$1" | socat - "UNIX:$state/haproxy.sock"; }

# One more instance, numbered after the highest so far; its server name and id follow its number, never reused (the
# stick table keeps both, and the hash ring places servers by id). Dynamic servers take nothing from default-server.
cmd_add() {
  owned_pid "$state/haproxy.pid" haproxy >/dev/null || { log "no cluster running (cluster.sh start first)"; exit 1; }
  local n=3 f
  for f in "$state"/instance-*.pid; do f=${f##*/instance-}; f=${f%.pid}; ((f > n)) && n=$f; done
  n=$((n + 1))
  ((n <= 8)) || { log "at most 8 instances (the ports after them are HAProxy's)"; exit 1; }
  start_instance "$n" "$(<"$state/docker-host")"
  wait_instance "$n" || exit 1
  local address="127.0.0.1:$((base_port + n))"
  local check="check inter 2s fastinter 1s downinter 2s fall 3 rise 2 on-marked-down shutdown-sessions"
  local answer
  answer=$(runtime "add server instances/i$n $address id $n $check")
  echo "$answer" >&2
  # A refused add (an id in use, a bad keyword) must not reach the file: the next reload would fail on it.
  if ! grep -q "New server registered" <<<"$answer"; then
    log "HAProxy refused the new server; the config file is unchanged (instance $n still runs: cluster.sh stop ends it)"
    exit 1
  fi
  runtime "enable health instances/i$n" >&2
  runtime "enable server instances/i$n" >&2
  # And in the file, after the last server line, for the next reload (kill -USR2 of the master).
  python3 - "$state/haproxy.cfg" "    server i$n \"$address\" id $n" <<'PY'
import sys
path, line = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
last = max(i for i, l in enumerate(lines) if l.startswith("    server i"))
lines.insert(last + 1, line)
open(path, "w").write("\n".join(lines))
PY
  log "added i$n at $address (server id $n)"
}

# shellcheck source=lib/token.sh
source scripts/lib/token.sh  # the working directory is the repository (see the cd above)

case "${1:-start}" in
  start) cmd_start ;;
  add) cmd_add ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
