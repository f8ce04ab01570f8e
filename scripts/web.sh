#!/usr/bin/env bash
# The viewer page (web/): install what it needs, build it into src/Api/wwwroot, run its tests.
# Usage: web.sh install            Debian's chromium (for the browser tests) and the npm packages (npm ci, lock file)
#        web.sh build              type-check and build the page into src/Api/wwwroot (served at / by the service)
#        web.sh unit               the client module's and the React hook's vitest tests
#        web.sh browser ENGINE     the browser tests against the real service and ENGINE (a unix:// Docker socket)
#        web.sh test ENGINE        all of it; ends with "web: N passed, N failed" (a crashed step counts as a failure)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
results="$root/artifacts/web"

log() { echo "web: $*" >&2; }

cmd_install() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "install: nodejs npm"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >&2
  fi
  if [[ ${1:-} == browser ]] && [[ ! -x /usr/bin/chromium ]]; then
    log "install: chromium (Debian's; no browser is downloaded)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
  fi
  if [[ ! -d web/node_modules ]] || [[ web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

cmd_build() {
  cmd_install
  # Its own status: called as `if ! cmd_build`, where set -e does not stop at a failed type-check or build.
  (cd web && npx tsc --noEmit -p . >&2 && npx vite build --logLevel warn >&2) || return 1
  log "built the page into src/Api/wwwroot"
}

# Each runner's own counts, as "passed failed" on stdout.
cmd_unit() {
  mkdir -p "$results"
  local report="$results/vitest.json" status=0
  rm -f "$report"
  (cd web && npx vitest run --reporter=default --reporter=json --outputFile.json="$report" >&2) || status=$?
  if [[ -s $report ]]; then
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["numPassedTests"], r["numFailedTests"] + (1 if sys.argv[2] != "0" and r["numFailedTests"] == 0 else 0))' "$report" "$status"
  else
    echo "0 1"
  fi
}

# The process groups the browser tests started (the service, Chromium) that are still alive because the runner was
# killed before its own cleanup: only groups the runner wrote, and only if a member of the group (the leader may be
# gone, a child still holding the port) still is the service or Chromium. The whole group is killed, never a lone pid.
kill_leftovers() {
  local file=$1 pid members
  [[ -s $file ]] || return 0
  while read -r pid; do
    [[ $pid =~ ^[0-9]+$ ]] || continue
    members=$(ps -e -o pgid=,pid=,args= | awk -v g="$pid" '$1 == g { $1 = ""; print }') || true
    if grep -q -e 'LogsMigration.Api' -e 'chromium' <<<"$members"; then
      log "killing process group $pid left by the browser tests: $(head -c 80 <<<"$members" | head -n 1)"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done <"$file"
  rm -f "$file"
}

cmd_browser() {
  local engine=${1:?usage: web.sh browser unix:///path/docker.sock} out status=0
  mkdir -p "$results"
  cmd_install browser
  [[ -f src/Api/wwwroot/index.html ]] || cmd_build
  # A build that fails is a failure of the browser tests, never a run against a stale build.
  dotnet build src/Api -c Release -v quiet -nologo >&2 || { echo "0 1"; return; }
  out="$results/browser.log"
  local pids="$results/e2e.pids"
  rm -f "$pids"
  # Every test runs here (LOGS_WEB_ONLY is a developer's pick, never the suite's). On a timeout node gets SIGTERM and
  # stops the service and Chromium itself; SIGKILL 30 s later if it hangs, and then what it left is killed below.
  (cd web && env -u LOGS_WEB_ONLY LOGS_WEB_DOCKER="$engine" LOGS_WEB_PIDFILE="$pids" timeout --kill-after=30 2400 node e2e/run.mjs) 2>&1 | tee "$out" >&2 || status=$?
  kill_leftovers "$pids"
  local summary
  summary=$(grep -o 'web browser tests: [0-9]* passed, [0-9]* failed' "$out" | tail -n 1 || true)
  if [[ -z $summary ]]; then echo "0 1"; return; fi
  local p f
  p=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$summary")
  f=$(sed -n 's/.* \([0-9]*\) failed/\1/p' <<<"$summary")
  if [[ $status -ne 0 && $f -eq 0 ]]; then f=1; fi
  echo "$p $f"
}

cmd_test() {
  local engine=${1:?usage: web.sh test unix:///path/docker.sock} passed=0 failed=0 counts
  cmd_install browser
  if ! cmd_build; then echo "web: 0 passed, 1 failed"; return 1; fi
  counts=$(cmd_unit) || true
  passed=$((passed + ${counts% *})); failed=$((failed + ${counts#* }))
  counts=$(cmd_browser "$engine") || true
  passed=$((passed + ${counts% *})); failed=$((failed + ${counts#* }))
  echo "web: ${passed} passed, ${failed} failed"
  [[ $failed -eq 0 ]]
}

case "${1:-}" in
  install) cmd_install browser ;;
  build) cmd_build ;;
  unit) cmd_unit ;;
  browser) cmd_browser "${2:-}" ;;
  test) cmd_test "${2:-}" ;;
  *) echo "usage: $0 install|build|unit|browser ENGINE|test ENGINE" >&2; exit 2 ;;
esac
