#!/usr/bin/env bash
# Three instances of the service behind Debian's HAProxy, on loopback: the cluster mode of docs/scale-out.md.
# Usage: cluster.sh [start]   build, start three instances and HAProxy (deploy/haproxy/haproxy.cfg), print the URLs
#        cluster.sh stop      stop HAProxy and the instances (by the pids recorded at start)
#        cluster.sh status    the recorded pids and whether each still runs
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

  dotnet build src/Api -c Release -v quiet -nologo >&2
  local dll="$root/src/Api/bin/Release/net10.0/LogsMigration.Api.dll" i port
  for i in 1 2 3; do
    port=$((base_port + i))
    # From its own folder, which holds appsettings.json (the content root). exec: the recorded pid is dotnet's.
    (cd "$(dirname "$dll")" && Docker__DefaultHost=local Docker__Hosts__local__Endpoint="$docker_host" Streaming__InstanceId="i$i" Pipeline__ResolveCacheTtl="${Pipeline__ResolveCacheTtl:-00:00:05}" \
      exec setsid dotnet "$dll" --urls "http://127.0.0.1:$port" </dev/null >"$state/instance-$i.log" 2>&1) &
    echo $! >"$state/instance-$i.pid"
  done
  for i in 1 2 3; do
    port=$((base_port + i))
    for ((n = 0; n < 600; n++)); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { log "instance $i did not start; see $state/instance-$i.log"; cmd_stop; exit 1; }
  done

  export LOGS_PROXY_BIND="127.0.0.1:$base_port" LOGS_DEFAULT_HOST=local LOGS_HAPROXY_LOG=stdout
  export LOGS_INSTANCE_1="127.0.0.1:$((base_port + 1))" LOGS_INSTANCE_2="127.0.0.1:$((base_port + 2))" LOGS_INSTANCE_3="127.0.0.1:$((base_port + 3))"
  export LOGS_STATS_BIND="127.0.0.1:$((base_port + 9))" LOGS_PEER_NAME=proxy1 LOGS_PEER_ADDR="127.0.0.1:$((base_port + 10))"
  export LOGS_PEER2_NAME=proxy2 LOGS_PEER2_ADDR="127.0.0.1:$((base_port + 11))" LOGS_HAPROXY_RUNTIME="$state/haproxy.sock"
  export LOGS_HAPROXY_HARD_STOP_AFTER="${LOGS_HAPROXY_HARD_STOP_AFTER:-30s}"
  haproxy -c -q -f deploy/haproxy/haproxy.cfg
  setsid haproxy -f deploy/haproxy/haproxy.cfg -p "$state/haproxy.pid" </dev/null >"$state/haproxy.log" 2>&1 &
  for ((n = 0; n < 100; n++)); do [[ -s $state/haproxy.pid ]] && break; sleep 0.1; done

  local token
  token=$(mint_token admin)
  cat >&2 <<MSG

LogsMigration cluster: HAProxy on http://127.0.0.1:$base_port in front of three instances (Docker: $docker_host)
  container logs: ws://127.0.0.1:$base_port/ws/containers/logs-demo/logs?token=$token
  instances:      http://127.0.0.1:$((base_port + 1)) .. $((base_port + 3))   (curl -H "Authorization: Bearer \$TOKEN" .../admin/streams)
  HAProxy stats:  http://127.0.0.1:$((base_port + 9))/stats   runtime API: socat - UNIX:$state/haproxy.sock
  logs:           $state/*.log      stop: scripts/cluster.sh stop
MSG
  echo "http://127.0.0.1:$base_port"
}

# shellcheck source=lib/token.sh
source scripts/lib/token.sh  # the working directory is the repository (see the cd above)

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
