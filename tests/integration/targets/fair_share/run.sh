#!/usr/bin/env bash
# aurora.scheduler.fair_share against a live aurora-sim: three batch frameworks deployed through
# the batch_framework role share a budget smaller than the cluster; their masters' loads come
# from load_server.py on 127.0.0.1 and change between runs. The playbooks check the counts on the
# simulator against the weighted DRF allocation, the job updater's batches and ordering, no
# flapping under a noisy load, the stabilisation window and the scale-down limit, a master that
# cannot say its load, the capacity sources and the errors; then `aurora-ansible rebalance` runs
# as a loop and stops on SIGTERM, and its Aurora job definition deploys (twice, unchanged).
set -euo pipefail
source tests/integration/lib.sh
TARGET=tests/integration/targets/fair_share
start_sim --hosts 6 --racks 2 --time-scale 200
WORK=$(mktemp -d)
LIB_FILES+=("$WORK")

# The frameworks' masters: GET /NAME answers {"pending": LOAD}.
"$PYTHON" "$TARGET/load_server.py" --max-secs 900 >"$WORK/load.url" 2>"$WORK/load.err" &
LIB_PIDS+=($!)
for _ in $(seq 200); do [ -s "$WORK/load.url" ] && break; sleep 0.05; done
LOAD_URL=$(head -n1 "$WORK/load.url")
[ -n "$LOAD_URL" ] || { echo "load_server.py did not start:" >&2; cat "$WORK/load.err" >&2; exit 1; }

failed=0
for playbook in "$TARGET"/playbooks/*.yml; do
  run_playbook "$playbook" -e "load_url=$LOAD_URL" -e "work=$WORK" -e "target=$(pwd)/$TARGET" || failed=1
done
exit $failed
