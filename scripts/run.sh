#!/usr/bin/env bash
# Builds and starts the service on http://127.0.0.1:8080 (LOGS_URLS to change it).
#
# Docker: uses DOCKER_HOST, else /var/run/docker.sock. When neither answers, it starts the project's own
# private engine (scripts/docker-engine.sh, installing docker.io from Debian if needed) with a demo container
# and a demo Swarm service that write a line every second, so there is something to watch.
# Auth: uses Auth__SigningKey when set; otherwise it generates a key for this run only. Either way it prints
# the viewer page's URL (already signed in: the token is in the #fragment, which the page removes at once) and
# ready-to-open WebSocket URLs carrying a freshly minted token (valid 12 hours).
set -euo pipefail
cd "$(dirname "$0")/.."

urls="${LOGS_URLS:-http://127.0.0.1:8080}"
base="${urls%%;*}"
ws_base="${base/http:/ws:}"
ws_base="${ws_base/https:/wss:}"

ping_docker() {  # $1: a unix:// URI
  local sock=${1#unix://}
  [[ -S $sock ]] && curl -fsS --max-time 3 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

docker_host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
demo=0
if [[ $docker_host == unix://* ]] && ! command -v curl >/dev/null; then
  scripts/docker-engine.sh install
fi
if [[ $docker_host != unix://* ]] || ! ping_docker "$docker_host"; then
  if [[ -n ${DOCKER_HOST:-} && $docker_host != unix://* ]]; then
    echo "run: using DOCKER_HOST=$docker_host" >&2
  else
    echo "run: no Docker engine answers at $docker_host; starting the project's private engine 'demo'" >&2
    scripts/docker-engine.sh install
    export LOGS_ENGINE_SWARM_PORT="${LOGS_ENGINE_SWARM_PORT:-2387}"
    docker_host=$(scripts/docker-engine.sh start demo)
    scripts/docker-engine.sh image demo
    scripts/docker-engine.sh swarm demo
    demo=1
  fi
fi
export DOCKER_HOST="$docker_host"

if [[ $demo == 1 ]]; then
  dk() { /usr/bin/docker -H "$docker_host" "$@"; }
  if ! dk inspect logs-demo >/dev/null 2>&1; then
    dk run -d --name logs-demo --restart unless-stopped local/busybox:latest \
      sh -c 'i=0; while true; do i=$((i+1)); echo "level=info n=$i demo container line"; if [ $((i % 10)) -eq 0 ]; then echo "level=error n=$i something failed" >&2; fi; sleep 1; done' >/dev/null
  fi
  if ! dk service inspect logs-demo-svc >/dev/null 2>&1; then
    dk service create -d --name logs-demo-svc --replicas 2 local/busybox:latest \
      sh -c 'i=0; while true; do i=$((i+1)); echo "n=$i from a replica"; sleep 1; done' >/dev/null 2>&1
  fi
  # A demo stack (two services, deployed with `docker stack deploy`) for the stack route. Its services use the host
  # network: the private engine shares this machine's kernel, where an overlay network is not always possible.
  engine_dir="${LOGS_ENGINE_ROOT:-/tmp/logsmigration-engine}/demo"
  if ! dk stack ls --format '{{.Name}}' 2>/dev/null | grep -qx logs-demo-stack; then
    cat >"$engine_dir/demo-stack.yml" <<'YAML'
version: "3.8"
services:
  web:
    image: local/busybox:latest
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo \"level=info n=$$i web answered GET /\"; sleep 2; done"]
    networks: [hostnet]
    deploy: {replicas: 2}
  worker:
    image: local/busybox:latest
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo \"level=warn n=$$i worker queue is long\"; sleep 3; done"]
    networks: [hostnet]
networks:
  hostnet:
    external: true
    name: host
YAML
    dk stack deploy -c "$engine_dir/demo-stack.yml" logs-demo-stack >/dev/null 2>&1 || echo "run: could not deploy the demo stack" >&2
  fi
  # The daemon route reads the private engine's own log; the host route a system log. This machine may have no
  # journal or syslog file: then a demo syslog file is fed with the engine's events, as a host's syslog would note them.
  export Docker__Hosts__local__Endpoint="$docker_host"
  export Docker__Hosts__local__DaemonLog__File="$engine_dir/dockerd.log"
  if ! ls /run/log/journal/*/ /var/log/journal/*/ >/dev/null 2>&1 && [[ ! -f /var/log/syslog && ! -f /var/log/messages ]]; then
    syslog_file="$engine_dir/syslog"
    export Docker__Hosts__local__SystemLog__File="$syslog_file"
    touch "$syslog_file"
    if ! pgrep -f "logs-demo-syslog" >/dev/null; then
      (exec -a logs-demo-syslog bash -c '
        /usr/bin/docker -H "$1" events --format "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}" | while read -r line; do
          printf "%s %s dockerd-events[%d]: %s\n" "$(LC_ALL=C date "+%b %e %H:%M:%S")" "$(hostname)" "$$" "$line"
        done >>"$2"' _ "$docker_host" "$syslog_file" </dev/null >/dev/null 2>&1 &)
    fi
  fi
fi

if ! command -v openssl >/dev/null; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends openssl >&2
fi
if [[ -z ${Auth__SigningKey:-} ]]; then
  Auth__SigningKey=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export Auth__SigningKey
  echo "run: generated a signing key for this run (set Auth__SigningKey to use the auth service's key)" >&2
fi

# shellcheck source=lib/token.sh
source scripts/lib/token.sh  # the working directory is the repository (see the cd above)
token=$(mint_token admin)

# The viewer page, served at / (scripts/web.sh: npm packages from the lock file, built into src/Api/wwwroot).
bash scripts/web.sh build
export Viewer__Root="$PWD/src/Api/wwwroot"
dotnet build src/Api -c Release -v quiet -nologo >&2

cat >&2 <<MSG

LogsMigration on $base  (Docker: $DOCKER_HOST)
  viewer (signed in): $base/?src=container:local:logs-demo#token=$token
  merged demo view:   $base/?src=container:local:logs-demo&src=service:local:logs-demo-svc#token=$token
  stack logs:     $ws_base/ws/stacks/logs-demo-stack/logs?token=$token
  host log:       $ws_base/ws/hosts/local/logs?token=$token
  daemon log:     $ws_base/ws/daemon/local/logs?token=$token
  container logs: $ws_base/ws/containers/logs-demo/logs?token=$token
  service logs:   $ws_base/api/v1/services/logs-demo-svc/logs?host_id=local&token=$token
  live streams:   curl -H "Authorization: Bearer $token" $base/admin/streams
  health:         $base/healthz  $base/readyz
(The demo container, service and stack exist only when the private engine was started.)

MSG
exec dotnet run --project src/Api -c Release --no-build -- --urls "$urls"
