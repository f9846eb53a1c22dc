#!/usr/bin/env bash
# Pairs of simultaneous ansible-playbook runs on the same job: create, update (the same
# configuration; two configurations with on_conflict=wait), scale (the same count; two counts
# with on_conflict=wait), drain. Each pair must end in the requested state with honest results:
# no raw scheduler error, changed for exactly the runs that did something (or both joining the
# same update). The runs go through fault_proxy.py with 80-160 ms of latency per call and no
# faults, so that their reads and writes interleave.
set -euo pipefail
source tests/integration/lib.sh
TARGET=tests/integration/targets/concurrency
start_sim --hosts 6 --racks 2 --time-scale 100
start_proxy --faults-off --min-latency-ms 80 --latency-ms 160
WORK=$(mktemp -d)
LIB_FILES+=("$WORK")
failed=0 pairs=0

# pair STEP: both sides of STEP at once, started at the same instant, then the checks.
pair() {
  local step=$1 pids=() who
  pairs=$((pairs + 1))
  proxy_control "mark?label=$step" >/dev/null
  # Far enough ahead for both ansible-playbook processes to reach the step on 2 busy cores.
  local start_at
  start_at=$("$PYTHON" -c 'import time; print(time.time() + 6)')
  for who in a b; do
    run_playbook "$TARGET/pair.yml" -e "step=$step" -e "who=$who" -e "start_at=$start_at" \
      -e "proxy_url=$PROXY_URL" -e "out=$WORK/$step.$who.json" >"$WORK/$step.$who.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  if ! "$PYTHON" "$TARGET/check_pair.py" "$step" "$WORK/$step.a.json" "$WORK/$step.b.json" \
    "$AURORA_BIN/aurora-ansible" "$AURORA_URL"; then
    failed=1
    tail -n 30 "$WORK/$step.a.log" "$WORK/$step.b.log"
  fi
}

# again STEP: one more run of STEP alone; it must change nothing.
again() {
  local step=$1
  run_playbook "$TARGET/pair.yml" -e "step=$step" -e "who=a" -e "start_at=0" \
    -e "proxy_url=$PROXY_URL" -e "out=$WORK/$step.again.json" >"$WORK/$step.again.log" 2>&1 || true
  if ! "$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(r.get("changed") or r.get("failed"))' \
    "$WORK/$step.again.json"; then
    echo "  $step: a run after the pair is not unchanged"
    tail -n 30 "$WORK/$step.again.log"
    failed=1
  fi
}

pair create
again create
pair update_same
pair update_other_wait
pair scale_same
again scale_same
pair scale_other_wait
pair drain
again drain
run_playbook "$TARGET/pair.yml" -e step=restore -e who=a -e start_at=0 -e "proxy_url=$PROXY_URL" \
  -e "out=$WORK/restore.json" >"$WORK/restore.log" 2>&1 || {
  echo "  restore: the hosts could not be put back in service"
  tail -n 30 "$WORK/restore.log"
  failed=1
}

# Two runs may send the same write (two identical createJob calls): the proxy's figures are
# shown, not its duplicate rule, which holds within one run (the faults target).
figures=$("$PYTHON" tests/integration/fault_proxy.py check "$PROXY_LOG") || true
echo "concurrent pairs tried: $pairs; proxy: $figures"
exit $failed
