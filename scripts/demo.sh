#!/usr/bin/env bash
# make demo: start aurora-sim with a small sample cluster and show, through the aurora-ansible
# CLI, a job being created, listed and killed. (The job-module issue turns this into a playbook.)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}

log=$(mktemp)
"$BIN/aurora-sim" --listen 127.0.0.1:0 --hosts 6 --racks 3 --time-scale 20 >"$log" 2>/dev/null &
sim=$!
trap 'kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; rm -f "$log"' EXIT

# The simulator prints the URL it serves on its first line.
for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.05; done
export AURORA_SCHEDULER_URL=$(head -n1 "$log")
[ -n "$AURORA_SCHEDULER_URL" ] || { echo "aurora-sim did not start" >&2; exit 1; }
echo "aurora-sim serving a 6-host, 3-rack cluster at $AURORA_SCHEDULER_URL (20x virtual time)"

cli() { echo; echo "\$ aurora-ansible $*"; "$BIN/aurora-ansible" "$@"; }

cli create www-data/devel/hello --cmd 'python3 -m http.server {{thermos.ports[http]}}' --instances 3 --service
sleep 0.5   # 10 s of virtual time: PENDING -> ASSIGNED -> STARTING -> RUNNING
cli jobs
cli tasks www-data/devel/hello
cli kill www-data/devel/hello
sleep 0.3
cli tasks www-data/devel/hello --all
echo
echo "Done. The simulator stops with this script."
