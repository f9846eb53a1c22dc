#!/usr/bin/env bash
# make test's system tools from Debian's packages (Chromium for the compliance report's HTML test,
# qemu-user for the aarch64 executable's test), installed when missing.
# Usage: install_deb.sh COMMAND PACKAGE WHAT_NEEDS_IT
# Idempotent: nothing happens when COMMAND is on PATH. Installs with apt-get as root (or through
# passwordless sudo); only where there is no apt-get at all does it skip, saying so (the test that
# needs it then skips too, saying so).
set -euo pipefail
command=$1 package=$2 needed_by=$3
if command -v "$command" >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: $package not installed, $needed_by will be skipped" >&2
  exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  sudo -n true 2>/dev/null || { echo "installing $package needs root: run 'sudo apt-get install -y $package'" >&2; exit 1; }
  as_root=(sudo -n)
fi
echo "installing $package (Debian package) for $needed_by"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y --no-install-recommends "$package" ||
  { "${as_root[@]}" apt-get update && "${as_root[@]}" apt-get install -y --no-install-recommends "$package"; }
