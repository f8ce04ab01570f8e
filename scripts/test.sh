#!/usr/bin/env bash
# Runs every test suite of the project and ends with the line "N passed, N failed".
# Integration tests need real Docker engines: this script installs Docker from Debian when it is missing and
# starts two private daemons (scripts/docker-engine.sh), so it works on a fresh Debian machine as root.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

if [ -x scripts/docker-engine.sh ] && [ "${LOGS_TEST_NO_ENGINE:-0}" != 1 ]; then
  scripts/docker-engine.sh install
  scripts/prometheus.sh install
  # Debian's HAProxy for the cluster tests (tests/Integration/Cluster); never started as a system service.
  scripts/haproxy.sh install
  # main: a Swarm manager; worker: a worker of main's swarm; second: a host outside any swarm.
  LOGS_TEST_DOCKER_MAIN=$(scripts/docker-engine.sh start main)
  LOGS_TEST_DOCKER_SECOND=$(scripts/docker-engine.sh start second)
  LOGS_TEST_DOCKER_WORKER=$(scripts/docker-engine.sh start worker)
  for engine in main second worker; do scripts/docker-engine.sh image "$engine"; done
  scripts/docker-engine.sh swarm main
  scripts/docker-engine.sh join-worker main worker
  export LOGS_TEST_DOCKER_MAIN LOGS_TEST_DOCKER_SECOND LOGS_TEST_DOCKER_WORKER
fi

# journalctl and systemd-journal-remote for the host and daemon log tests (real journal files).
if [ -x scripts/journal.sh ]; then
  scripts/journal.sh install
fi

status=0
dotnet test LogsMigration.sln --logger "trx" --results-directory "$results" "$@" || status=$?
# The cluster tests' measured figures (daemon reads, recovery times, inspects), from their output in the TRX files.
grep -ho 'MEASURED [^<]*' "$results"/*.trx 2>/dev/null | sed 's/&gt;/>/g; s/^/  /' || true

# The runner's own summary is per project; add up the TRX counters of every test project.
passed=0
failed=0
skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  skipped=$((skipped + ${t:-0} - ${e:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build or a test host failed before any result was written: count that as a failure, never as a pass.
  failed=1
fi

# The load harness's quick mode: every scenario briefly on its own engine ("load"), legacy, unified and the raw
# ceiling; a run fails on any lost or duplicated line for a viewer that keeps up. Each run counts as one test.
# LOGS_TEST_NO_LOAD=1 skips it (about 2-3 minutes) while iterating on the suites above; so does LOGS_TEST_NO_ENGINE=1
# (it needs an engine of its own).
if [ "${LOGS_TEST_NO_LOAD:-0}" != 1 ] && [ "${LOGS_TEST_NO_ENGINE:-0}" != 1 ]; then
  load_log="$results/load-quick.log"
  load_status=0
  bash scripts/load.sh --quick 2>&1 | tee "$load_log" || load_status=$?
  summary=$(grep -o 'load harness: [0-9]* runs passed, [0-9]* runs failed' "$load_log" | tail -n 1 || true)
  load_passed=$(sed -n 's/load harness: \([0-9]*\) runs passed.*/\1/p' <<<"$summary")
  load_failed=$(sed -n 's/.* \([0-9]*\) runs failed/\1/p' <<<"$summary")
  passed=$((passed + ${load_passed:-0}))
  failed=$((failed + ${load_failed:-0}))
  if [ "$load_status" -ne 0 ]; then
    status=$load_status
    # The harness stopped before its summary (build error, engine that would not start): one failure.
    if [ -z "$summary" ] || [ "${load_failed:-0}" -eq 0 ]; then
      failed=$((failed + 1))
    fi
  fi
fi
# The viewer page (web/, scripts/web.sh): the client module's and the hook's vitest tests, then the browser tests in
# Debian's Chromium against the real service and the main engine. Each test counts; a step that crashes before its
# summary counts as one failure. LOGS_TEST_NO_WEB=1 skips it; without engines only the vitest tests run.
if [ "${LOGS_TEST_NO_WEB:-0}" != 1 ]; then
  web_status=0
  if [ "${LOGS_TEST_NO_ENGINE:-0}" != 1 ] && [ -n "${LOGS_TEST_DOCKER_MAIN:-}" ]; then
    web_summary=$(bash scripts/web.sh test "$LOGS_TEST_DOCKER_MAIN" | tail -n 1) || web_status=$?
  else
    web_summary=$( (bash scripts/web.sh build >&2 && bash scripts/web.sh unit | sed 's/^\([0-9]*\) \([0-9]*\)$/web: \1 passed, \2 failed/') | tail -n 1) || web_status=$?
  fi
  echo "viewer page (scripts/web.sh): $web_summary"
  web_passed=$(sed -n 's/^web: \([0-9]*\) passed.*/\1/p' <<<"$web_summary")
  web_failed=$(sed -n 's/.* \([0-9]*\) failed$/\1/p' <<<"$web_summary")
  if [ -z "$web_passed" ]; then web_passed=0; web_failed=1; fi
  if [ "$web_status" -ne 0 ] && [ "${web_failed:-0}" -eq 0 ]; then web_failed=1; fi
  passed=$((passed + web_passed))
  failed=$((failed + web_failed))
  if [ "$web_status" -ne 0 ]; then status=$web_status; fi
fi
# CI shows only the tail of this output: name every failed .NET test here, next to the closing line, with the first
# lines of its message and the last lines of its output (scripts/trx-failed.awk).
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  awk -f scripts/trx-failed.awk "$trx" || true
done
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
