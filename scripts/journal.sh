#!/usr/bin/env bash
# What the host and daemon log tests need from Debian: journalctl (systemd) to read journals and
# systemd-journal-remote to write real journal files from export format. Nothing is started as a service.
# Usage: journal.sh install
set -euo pipefail

log() { echo "journal: $*" >&2; }

pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

cmd_install() {
  local missing=() p
  for p in systemd systemd-journal-remote; do pkg_installed "$p" || missing+=("$p"); done
  if ((${#missing[@]} == 0)); then log "install: nothing to do"; return; fi
  log "install: ${missing[*]}"
  # Another apt run (a parallel install) holds the lock for a while: wait for it instead of failing.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get -o DPkg::Lock::Timeout=600 update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2; }
}

case "${1:-}" in
  install) cmd_install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
