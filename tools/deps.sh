#!/bin/bash
# Installs the Debian packages tenantfs needs to build, run and test, and only
# those that are missing.  Run as root on Debian 12; quiet unless it fails.
# Used by tools/demo and (with --test) tools/test-all.
set -euo pipefail

# Building and running (tools/demo).
PACKAGES=(
  gcc libc6-dev meson ninja-build pkg-config
  fuse3 libfuse3-dev liblmdb-dev libsodium-dev
  procps util-linux mount passwd coreutils findutils
)
# Testing too (tools/test-all passes --test): the clients the integration
# tests drive, pytest, and valgrind for the unit tests.
if [ "${1:-}" = --test ]; then
  PACKAGES+=(attr python3 python3-pytest rsync sqlite3 git tar diffutils valgrind)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/tenantfs-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
     </dev/null >"$log" 2>&1; then
  cat "$log" >&2
  echo "deps.sh: installing ${missing[*]} failed" >&2
  exit 1
fi
