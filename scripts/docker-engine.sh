#!/usr/bin/env bash
# Private Docker engines for LogsMigration's CI, tests and README.
# Each engine NAME keeps all its state under $LOGS_ENGINE_ROOT/NAME so that several
# can run side by side (one per simulated host) without touching a system daemon.
# Usage: docker-engine.sh install | start|stop|image|swarm|socket [NAME] | stop-all | status
#        | join-worker MANAGER WORKER | connections SOCKET_PATH PID
# Only values (socket URIs, counts, the status table) go to stdout; chatter goes to stderr.
set -euo pipefail

ROOT="${LOGS_ENGINE_ROOT:-/tmp/logsmigration-engine}"
IMAGE="local/busybox:latest"
APPLETS="sh echo sleep seq cat date printf yes head tr wc awk sed true false env tail stat dd cmp"
SWARM_PORT="${LOGS_ENGINE_SWARM_PORT:-2377}"  # bound on loopback only (see cmd_swarm)
# The manager's loopback address: another one (127.0.0.60, with its own LOGS_ENGINE_SWARM_PORT) lets a second
# swarm run beside the default one, whose manager holds 127.0.0.1:$SWARM_PORT and the gossip port 127.0.0.1:7946.
SWARM_ADDR="${LOGS_ENGINE_SWARM_ADDR:-127.0.0.1}"

log() { echo "docker-engine: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Prefer the client of the docker.io package that `install` guarantees (it matches
# dockerd 20.10, API 1.41); any other `docker` on PATH is not ours to rely on.
docker_cli() { if [[ -x /usr/bin/docker ]]; then echo /usr/bin/docker; else echo docker; fi; }

engine_dir() {
  local name="${1:-main}"
  # The name becomes a path component: refuse anything that could escape ROOT.
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad engine name '$name'"
  echo "$ROOT/$name"
}

dk() { local dir=$1; shift; "$(docker_cli)" -H "unix://$dir/docker.sock" "$@"; }

# Not exited and not a zombie: a killed daemon not yet reaped by init still passes kill -0.
alive() { local st; st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) && [[ -n $st && $st != Z ]]; }

# The pidfile's pid counts only while it is a live dockerd: never signal a recycled pid.
daemon_pid() {
  local dir=$1 pid
  [[ -s $dir/dockerd.pid ]] || return 1
  pid=$(<"$dir/dockerd.pid")
  [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] && alive "$pid" || return 1
  echo "$pid"
}

answers() { curl -sf --max-time 2 --unix-socket "$1/docker.sock" http://localhost/_ping >/dev/null 2>&1; }

swarm_state() {  # prints e.g. "active true" (state, is-manager) or "inactive false"
  dk "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null || echo "unknown false"
}

require_running() { answers "$1" || die "engine $(basename "$1") is not running (run: $0 start $(basename "$1"))"; }

pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

cmd_install() {
  local missing=() p
  for p in docker.io busybox-static curl; do pkg_installed "$p" || missing+=("$p"); done
  # ss (for `connections`) and ip (for link cleanup) both come from iproute2.
  if ! command -v ip >/dev/null || ! command -v ss >/dev/null; then missing+=(iproute2); fi
  if ((${#missing[@]} == 0)); then log "install: nothing to do"; return; fi
  log "install: ${missing[*]}"
  # Only refresh the lists when something must be installed: update is the slow part.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# dockerd follows a json-file log with one inotify instance per reader: a few hundred legacy viewers exhaust
# Debian's default of 128 instances per user, and then any other process of that user (the service's own
# configuration watcher, a test host) fails at start. Raised when we may (root), never lowered.
raise_inotify_limit() {
  local current
  current=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
  if [ "$current" -lt 8192 ] && [ -w /proc/sys/fs/inotify/max_user_instances ]; then
    echo 8192 >/proc/sys/fs/inotify/max_user_instances || true
  fi
}

cmd_start() {
  local dir pid launcher="" i
  dir=$(engine_dir "${1:-}")
  mkdir -p "$dir"
  # Tests may start the same engine in parallel: one launcher at a time per engine.
  exec 9>"$dir/start.lock"
  flock 9
  if ! daemon_pid "$dir" >/dev/null; then
    command -v dockerd >/dev/null || die "dockerd missing (run: $0 install)"
    raise_inotify_limit
    # No dockerd runs here, so a containerd under this exec-root is a previous daemon's, maybe still shutting down:
    # a new dockerd that connected to it got "rpc error: code = Canceled ... the client connection is closing".
    reap_leftovers "$dir"
    # exec-root holds containerd's sockets, whose paths must stay under the 108-byte
    # unix socket limit, hence the one-letter folder.
    # setsid: the daemon outlives the shell or test runner that started it (Ctrl-C,
    # process-group kills); stdin closed and lock fd 9 not inherited, so it never
    # holds a CI pipe or the lock.
    setsid dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
      --host="unix://$dir/docker.sock" --data-root="$dir/data" --exec-root="$dir/x" \
      --pidfile="$dir/dockerd.pid" </dev/null >>"$dir/dockerd.log" 2>&1 9>&- &
    launcher=$!
  fi
  # A daemon already running (maybe still starting) is waited for, not launched again.
  for ((i = 0; i < 300; i++)); do  # 300 x 0.1 s = 30 s
    if answers "$dir"; then echo "unix://$dir/docker.sock"; return; fi
    # Fail fast when the daemon we launched died instead of waiting out the timeout.
    if [[ -n $launcher ]] && ! alive "$launcher"; then break; fi
    sleep 0.1
  done
  log "dockerd '$dir' did not answer /_ping; last lines of $dir/dockerd.log:"
  tail -n 30 "$dir/dockerd.log" >&2 || true
  if [[ -n $launcher ]] && pid=$(daemon_pid "$dir"); then kill -KILL "$pid" 2>/dev/null || true; fi
  exit 1
}

wait_gone() {  # wait_gone PID SECONDS: true once the process has exited
  local i
  for ((i = 0; i < $2 * 10; i++)); do alive "$1" || return 0; sleep 0.1; done
  return 1
}

# A dockerd that was SIGKILLed (here or by anyone) leaves its containerd, the containers
# and their shims running, reparented to init, with their rootfs still mounted. Find
# them through the pidfiles containerd keeps under exec-root, never by process name.
reap_leftovers() {
  local dir=$1 f p ppid cpid
  for f in "$dir"/x/containerd/daemon/io.containerd.runtime.v2.task/*/*/init.pid; do
    p=$(cat "$f" 2>/dev/null) || continue
    [[ $p =~ ^[0-9]+$ && -r /proc/$p/status ]] || continue
    ppid=$(awk '/^PPid:/ {print $2}' "/proc/$p/status")
    # A container's init is the child of its shim; anything else is a recycled pid.
    [[ $(cat "/proc/$ppid/comm" 2>/dev/null) == containerd-shim ]] || continue
    kill -KILL "$p" "$ppid" 2>/dev/null || true
  done
  cpid=$(cat "$dir/x/containerd/containerd.pid" 2>/dev/null) || cpid=""
  if [[ -n $cpid && $(cat "/proc/$cpid/comm" 2>/dev/null) == containerd ]]; then
    kill -TERM "$cpid"; wait_gone "$cpid" 10 || kill -KILL "$cpid" 2>/dev/null || true
  fi
  # Also a worker whose overlay sandbox failed leaves its netns bind-mounted (nsfs)
  # after a clean exit: unmount whatever is still mounted under this engine.
  awk -v p="$dir/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "stop: cannot unmount $m"
  done
}

cmd_stop() {
  local dir pid i
  dir=$(engine_dir "${1:-}")
  if pid=$(daemon_pid "$dir"); then
    # Leaving first lets dockerd tear down its swarm tasks and ingress sandbox itself.
    if answers "$dir" && [[ $(swarm_state "$dir") == active* ]]; then
      dk "$dir" swarm leave --force >/dev/null 2>&1 || log "stop: swarm leave failed on $dir"
    fi
    # On TERM dockerd gives each container its own 10 s stop timeout (--shutdown-timeout
    # does not shorten it) and busybox sh as PID 1 ignores TERM: stop them all at once
    # with a 1 s grace instead, so a teardown takes seconds, not tens of seconds.
    if answers "$dir"; then
      dk "$dir" ps -q | xargs -r "$(docker_cli)" -H "unix://$dir/docker.sock" stop -t 1 >/dev/null 2>&1 || true
    fi
    kill -TERM "$pid"
    if ! wait_gone "$pid" 40; then log "stop: dockerd $pid ignored TERM; killing"; kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 5 || true; fi
  fi
  rm -f "$dir/dockerd.pid"
  # Never reap under a daemon that still answers (one running without its pidfile).
  answers "$dir" || reap_leftovers "$dir"
  # docker_gwbridge is one host-wide link shared by every swarm engine on the machine,
  # and it outlives even a clean swarm leave: delete it only when no interface is
  # attached, i.e. when no engine's sandbox (ours or anyone's) still uses it.
  # A netns unmounted just before releases its veth asynchronously: allow it 2 s.
  for ((i = 0; i < 20; i++)); do
    ip link show docker_gwbridge >/dev/null 2>&1 || return 0
    if [[ -z $(ip -o link show master docker_gwbridge) ]]; then
      ip link del docker_gwbridge && log "stop: removed leftover docker_gwbridge"; return 0
    fi
    sleep 0.1
  done
}

cmd_stop_all() {
  local d
  [[ -d $ROOT ]] || return 0
  # Workers first, so they do not spend their shutdown retrying a vanished manager.
  for d in "$ROOT"/*/; do [[ -d $d ]] && [[ $(swarm_state "${d%/}") != "active true" ]] && cmd_stop "$(basename "$d")"; done
  for d in "$ROOT"/*/; do [[ -d $d ]] && cmd_stop "$(basename "$d")"; done
  return 0
}

cmd_image() {
  local dir tmp a
  dir=$(engine_dir "${1:-}")
  require_running "$dir"
  # The image names its applets in a label: an engine whose state outlived a change of APPLETS gets the new set.
  local applets
  applets=$(echo "$APPLETS" | tr -s ' ')
  [[ $(dk "$dir" image inspect --format '{{index .Config.Labels "logsmigration.applets"}}' "$IMAGE" 2>/dev/null) == "$applets" ]] && return 0
  # busybox-static's binary runs in an empty rootfs; a dynamic busybox would not.
  [[ -x /bin/busybox ]] || die "/bin/busybox missing (run: $0 install)"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/bin" && cp /bin/busybox "$tmp/bin/busybox"
  for a in $APPLETS; do ln -sf busybox "$tmp/bin/$a"; done
  # The first call that reaches containerd: a daemon just started may still be settling, so three tries.
  for ((a = 1; ; a++)); do
    tar -C "$tmp" -c . | dk "$dir" import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' -c "LABEL logsmigration.applets=\"$applets\"" - "$IMAGE" >/dev/null && break
    ((a < 3)) || { rm -rf "$tmp"; die "could not import $IMAGE into $(basename "$dir")"; }
    log "import into $(basename "$dir") failed (try $a of 3); again in 2 s"
    sleep 2
  done
  rm -rf "$tmp"
}

cmd_swarm() {
  local dir state
  dir=$(engine_dir "${1:-}")
  require_running "$dir"
  state=$(swarm_state "$dir")
  case $state in
    "active true") return 0 ;;
    active*) die "$(basename "$dir") is already a swarm worker" ;;
  esac
  # listen-addr on loopback: the default 0.0.0.0 would expose the cluster port and also
  # claim the gossip port on every address, blocking a second engine's worker.
  dk "$dir" swarm init --advertise-addr "$SWARM_ADDR" --listen-addr "$SWARM_ADDR:$SWARM_PORT" >/dev/null
}

cmd_join_worker() {
  local mdir wdir token node_id addr
  mdir=$(engine_dir "${1:?usage: join-worker MANAGER WORKER}"); wdir=$(engine_dir "${2:?usage: join-worker MANAGER WORKER}")
  require_running "$mdir"; require_running "$wdir"
  [[ $(swarm_state "$mdir") == "active true" ]] || die "$1 is not a swarm manager (run: $0 swarm $1)"
  node_id=$(dk "$wdir" info --format '{{.Swarm.NodeID}}')
  if [[ -n $node_id ]] && dk "$mdir" node inspect "$node_id" >/dev/null 2>&1; then return 0; fi
  [[ $(swarm_state "$wdir") == inactive* ]] || die "$2 is in another swarm"
  # Every swarm engine binds the gossip port 7946 on its listen address, so each worker
  # needs a loopback address of its own: 127.0.0.2, .3, ... picked by free address (never the manager's, which
  # holds its gossip port; a busy address, even of another swarm, is skipped).
  addr=""
  local candidate
  for candidate in 127.0.0.{2..254}; do
    [[ $candidate == "$SWARM_ADDR" ]] && continue
    if ! ss -Hltun "src $candidate:$SWARM_PORT or src $candidate:7946" | grep -q .; then addr=$candidate; break; fi
  done
  [[ -n $addr ]] || die "no free loopback address for a worker"
  token=$(dk "$mdir" swarm join-token -q worker)
  dk "$wdir" swarm join --token "$token" --listen-addr "$addr:$SWARM_PORT" --advertise-addr "$addr" \
    "$SWARM_ADDR:$SWARM_PORT" >/dev/null
}

cmd_status() {
  local d pid ok sw
  printf '%-12s %-8s %-8s %s\n' NAME PID ANSWERS SWARM
  [[ -d $ROOT ]] || return 0
  for d in "$ROOT"/*/; do
    [[ -d $d ]] || continue
    d=${d%/}; pid=$(daemon_pid "$d") || pid=-; ok=no; sw=-
    if answers "$d"; then
      ok=yes; sw=$(swarm_state "$d" | sed 's/^active true$/manager/; s/^active false$/worker/; s/ .*//')
    fi
    printf '%-12s %-8s %-8s %s\n' "$(basename "$d")" "$pid" "$ok" "$sw"
  done
}

# connections SOCKET_PATH PID: how many connections PID holds to the listening socket.
# A client's socket has no path; only the server's accepted ends carry the listener's
# path. So ask the kernel (sock_diag, via ss) for the accepted ends at SOCKET_PATH and
# their peer inodes, then count PID's fds that are those peer sockets.
cmd_connections() {
  local sock=${1:?usage: connections SOCKET_PATH PID} pid=${2:?usage: connections SOCKET_PATH PID}
  [[ $pid =~ ^[0-9]+$ ]] || die "bad pid '$pid'"
  sock=${sock#unix://}  # accept what `start` and `socket` print
  # A process that has exited holds no connection: 0, so callers can poll for it.
  [[ -d /proc/$pid/fd ]] || { echo 0; return; }
  local peers
  # ss -H columns: netid state recv-q send-q local-addr local-inode peer-addr peer-inode.
  peers=$(ss -Hxn state connected | awk -v s="$sock" '$5 == s {print "socket:[" $8 "]"}')
  # grep -c prints 0 (and exits 1) when nothing matches: that 0 is the answer.
  find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null \
    | grep -cxFf <(printf '%s\n' "$peers") || true
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  stop-all) cmd_stop_all ;;
  image) cmd_image "${2:-}" ;;
  swarm) cmd_swarm "${2:-}" ;;
  join-worker) cmd_join_worker "${2:-}" "${3:-}" ;;
  socket) echo "unix://$(engine_dir "${2:-}")/docker.sock" ;;
  status) cmd_status ;;
  connections) cmd_connections "${2:-}" "${3:-}" ;;
  *) sed -n '2,7p' "$0" >&2; exit 2 ;;
esac
