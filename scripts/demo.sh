#!/usr/bin/env bash
# make demo: start aurora-sim with a small sample cluster, run playbooks/demo.yml against it with
# the platform team's inventory (the platform profile, then a microservice, a cron job and a
# batch framework deployed through the roles, then two batch frameworks whose worker counts
# follow their loads, then a rack drained while all of it runs, then the compliance report), show
# what runs through the CLI and where the report is, then stop the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
export PATH="$PWD/.venv/bin:$PATH"

log=$(mktemp)
"$BIN/aurora-sim" --listen 127.0.0.1:0 --hosts 6 --racks 3 --time-scale 20 >"$log" 2>/dev/null &
sim=$!
trap 'kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; rm -f "$log"' EXIT

# The simulator prints the URL it serves on its first line.
for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.05; done
export AURORA_SCHEDULER_URL=$(head -n1 "$log")
[ -n "$AURORA_SCHEDULER_URL" ] || { echo "aurora-sim did not start" >&2; exit 1; }
echo "aurora-sim serving a 6-host, 3-rack cluster at $AURORA_SCHEDULER_URL (20x virtual time)"

report=$PWD/build/compliance-report
ANSIBLE_CONFIG=$PWD/ansible.cfg ansible-playbook -i inventories/demo playbooks/demo.yml -e "report_dir=$report" \
  -e "aurora_cli=$(realpath "$BIN")/aurora-ansible"

echo
echo "\$ aurora-ansible jobs"
"$BIN/aurora-ansible" jobs
echo
echo "\$ aurora-ansible tasks fraud/prod/scorer"
"$BIN/aurora-ansible" tasks fraud/prod/scorer
echo
echo "The compliance report (JSON, CSV, and a page to open in a browser):"
ls -1 "$report"/software-inventory.*
echo
echo "Done. The simulator stops with this script."
