#!/usr/bin/env bash
# make test's browser: headless Chromium from Debian's packages for the compliance report's HTML
# test. Idempotent: nothing happens when chromium is installed. Installs with apt-get as root (or
# through passwordless sudo); only where there is no apt-get at all does it skip, saying so (the
# browser test then skips too).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: chromium not installed, the compliance report's browser test will be skipped" >&2
  exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  sudo -n true 2>/dev/null || { echo "installing chromium needs root: run 'sudo apt-get install -y chromium'" >&2; exit 1; }
  as_root=(sudo -n)
fi
echo "installing chromium (Debian package) for the browser test"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y --no-install-recommends chromium ||
  { "${as_root[@]}" apt-get update && "${as_root[@]}" apt-get install -y --no-install-recommends chromium; }
