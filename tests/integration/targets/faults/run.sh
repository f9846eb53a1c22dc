#!/usr/bin/env bash
# Faults between the modules and the scheduler, through fault_proxy.py on 127.0.0.1:
# 1. The scheduler goes away while a module waits after its write (went_away.yml): the task fails
#    and still reports changed, with what it did.
# 2. Rounds of a realistic sequence (sequence.yml: create, update, scale, cron, drain) while the
#    proxy adds latency, answers 503, drops connections before and after forwarding, and moves
#    the leadership between its two ports (307 redirects). Each round must converge within
#    FAULT_MAX_ATTEMPTS runs, a run after it must change nothing, the simulator must hold the
#    round's state, and the proxy's log must show no write delivered twice within one run.
# FAULT_ROUNDS (default 4) and FAULT_SEED set the length and the draw; `make soak` runs more.
set -euo pipefail
source tests/integration/lib.sh
TARGET=tests/integration/targets/faults
ROUNDS=${FAULT_ROUNDS:-4}
MAX_ATTEMPTS=${FAULT_MAX_ATTEMPTS:-8}
start_sim --hosts 6 --racks 2 --time-scale 100
start_proxy --faults-off --seed "${FAULT_SEED:-18}" --latency-ms 20 --p503 0.06 \
  --p-drop-before 0.04 --p-drop-after 0.04 --switch-every 40 --max-secs $((ROUNDS * 300 + 300))
WORK=$(mktemp -d)
LIB_FILES+=("$WORK")
failed=0

proxy_control "mark?label=went_away" >/dev/null
run_playbook "$TARGET/went_away.yml" -e "proxy_url=$PROXY_URL" || failed=1

proxy_control "faults?on=1" >/dev/null
runs=0 converged=0
# sequence ROUND LOG: one run of the sequence through the proxy, as its own run in the log.
sequence() {
  runs=$((runs + 1))
  proxy_control "mark?label=round-$1-run-$runs" >/dev/null
  run_playbook "$TARGET/sequence.yml" -e "round=$1" -e "proxy_url=$PROXY_URL" >"$2" 2>&1
}
for round in $(seq "$ROUNDS"); do
  attempt=0
  until sequence "$round" "$WORK/round.log"; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      echo "round $round did not converge in $MAX_ATTEMPTS runs:"; tail -n 40 "$WORK/round.log"
      failed=1; break 2
    fi
  done
  # A run after convergence changes nothing (a faulty attempt of it may fail: it is run again).
  attempt=0
  until sequence "$round" "$WORK/again.log"; do
    attempt=$((attempt + 1))
    [ "$attempt" -lt "$MAX_ATTEMPTS" ] || { echo "round $round: no clean run after converging"; failed=1; break 2; }
  done
  if ! grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$WORK/again.log"; then
    echo "round $round: the run after converging changed something:"; tail -n 40 "$WORK/again.log"
    failed=1; break
  fi
  "$PYTHON" "$TARGET/check_state.py" "$round" "$AURORA_BIN/aurora-ansible" "$AURORA_URL" || { failed=1; break; }
  converged=$((converged + 1))
done

figures=$("$PYTHON" tests/integration/fault_proxy.py check "$PROXY_LOG") || failed=1
echo "rounds converged: $converged of $ROUNDS, sequence runs: $runs; proxy: $figures"
exit $failed
