#!/usr/bin/env bash
# Builds and starts the service on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run --project src/Api -c Release -- --urls "${LOGS_URLS:-http://127.0.0.1:8080}"
