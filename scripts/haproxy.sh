#!/usr/bin/env bash
# Debian's HAProxy for LogsMigration's cluster mode and tests; never started as a system service.
# Usage: haproxy.sh install            install the haproxy package from Debian (no service is enabled or started)
#        haproxy.sh check CONFIG       validate a configuration (haproxy -c)
# Only values go to stdout; chatter goes to stderr.
set -euo pipefail

log() { echo "haproxy: $*" >&2; }

pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

cmd_install() {
  local missing=() p
  for p in haproxy socat curl; do pkg_installed "$p" || missing+=("$p"); done
  if ((${#missing[@]} == 0)); then log "install: nothing to do"; return; fi
  log "install: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The package's postinst would start the system service: policy-rc.d 101 forbids that for this install only.
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || { ((created)) && rm -f "$policy"; exit 1; }
  if ((created)); then rm -f "$policy"; fi
}

case "${1:-}" in
  install) cmd_install ;;
  check) haproxy -c -f "${2:?usage: check CONFIG}" >&2 ;;
  *) sed -n '2,5p' "$0" >&2; exit 2 ;;
esac
