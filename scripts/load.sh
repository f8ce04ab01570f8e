#!/usr/bin/env bash
# The load harness of issue 6: the service's legacy and unified paths against the raw ceiling, on a private Docker
# engine named "load" (never the engines other suites use), with the service and the raw broadcaster as their own
# processes and the viewers in the harness.
#   bash scripts/load.sh --quick   every scenario briefly; exits non-zero on any lost or duplicated line   (~3 min)
#   bash scripts/load.sh --full    the report: docs/benchmarks.md, docs/benchmarks/*.png, results.json    (~20-25 min)
# Its engine is "load" unless LOGS_LOAD_ENGINE (or --engine NAME) names another, so two harness runs never share one.
# Extra arguments go to the harness, e.g. --only fan-out,churn; --n 100,1000 --r 1000 --paths unified,raw --formats batch (fan-out
# points); --service Streaming__BatchLinger=00:00:00 (the service's settings in fan-out runs); --seconds 30 (each full-mode fan-out writer's run, to profile a point); --out DIR. Rewrite the report from the last full run's JSON: dotnet tests/Load/bin/Release/net10.0/LogsMigration.Load.dll report
# Quick results: artifacts/load/quick-results.json; server logs of every run: artifacts/load/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=quick
case "${1:-}" in
  --quick) shift ;;
  --full) mode=full; shift ;;
  -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
esac

engine="${LOGS_LOAD_ENGINE:-load}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ ${args[i]} == --engine ]] && ((i + 1 < ${#args[@]})); then engine=${args[i + 1]}; fi
done

scripts/docker-engine.sh install
scripts/haproxy.sh install  # the cluster scenario's proxy (Debian's haproxy)
# The harness stops its engine itself; this also covers a harness that was killed.
trap 'scripts/docker-engine.sh stop "$engine" >/dev/null 2>&1 || true' EXIT
# 1,000 viewers hold 1,000 sockets in the harness and as many (twice on the legacy path) in the service.
ulimit -n 65536 2>/dev/null || true

dotnet build src/Api -c Release -v quiet -nologo
dotnet build tests/Load -c Release -v quiet -nologo
dotnet tests/Load/bin/Release/net10.0/LogsMigration.Load.dll "$mode" --command "bash scripts/load.sh --$mode${*:+ $*}" --engine "$engine" "$@"
