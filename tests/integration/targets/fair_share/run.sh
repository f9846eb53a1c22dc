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

counts() {
  for name in trainer ranker etl; do
    "$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json tasks "ds/devel/$name-worker" |
      "$PYTHON" -c 'import json, sys; print(sum(t["status"] == "RUNNING" for t in json.load(sys.stdin)))'
  done | paste -sd, -
}

# The allocator as a loop: from the playbooks' 1,7,14 workers to the allocation of the options'
# loads (7,3,7), half the surplus per decision, then a decision that changes nothing; SIGTERM
# stops it with a last line and status 0.
"$PYTHON" -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1]))["aurora_fair_share"], sys.stdout)' \
  "$TARGET/allocator.yml" >"$WORK/allocator.json"
"$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" rebalance --config "$WORK/allocator.json" --every 1 \
  >"$WORK/loop.out" 2>"$WORK/loop.err" &
loop=$!
LIB_PIDS+=("$loop")
for _ in $(seq 120); do
  "$PYTHON" - "$WORK/loop.out" <<'PY' && break
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
changed = [l.get("changed") for l in lines]
sys.exit(0 if True in changed and changed[-1] is False else 1)
PY
  sleep 0.5
done
kill -TERM "$loop"
status=0
wait "$loop" || status=$?
echo "--- aurora-ansible rebalance: $(wc -l <"$WORK/loop.out") lines, status $status, workers $(counts)"
if ! "$PYTHON" - "$WORK/loop.out" "$status" "$(counts)" <<'PY'; then
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
decisions, last = lines[:-1], lines[-1]
problems = []
if sys.argv[2] != "0":
    problems.append(f"exit status {sys.argv[2]}")
if last.get("stopped") != "SIGTERM":
    problems.append(f"last line {last}")
if not decisions or decisions[-1].get("changed") is not False or not any(d.get("changed") for d in decisions):
    problems.append("no decision changed the counts, or the last one did")
if any(d.get("failed") for d in decisions):
    problems.append(f"a decision failed: {[d['msg'] for d in decisions if d.get('failed')]}")
if sys.argv[3] != "7,3,7":
    problems.append(f"workers {sys.argv[3]}, not 7,3,7")
for d in decisions:
    print(f"  round {d.get('round')}: changed={d.get('changed')} {d.get('msg')}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY
  failed=1
  cat "$WORK/loop.err" >&2
fi

# The platform's playbooks find the scheduler as a platform team's would: in the environment.
export AURORA_SCHEDULER_URL=$AURORA_URL

# playbooks/rebalance.yml with the same options: nothing left to change, twice.
for run in 1 2; do
  out=$(run_playbook playbooks/rebalance.yml -e "@$TARGET/allocator.yml") || { echo "$out"; failed=1; }
  echo "$out" | grep -qE 'ok=[0-9]+ +changed=0 .*failed=0' || { echo "$out"; echo "rebalance.yml run $run changed something" >&2; failed=1; }
done
[ "$(counts)" = "7,3,7" ] || { echo "workers $(counts) after rebalance.yml" >&2; failed=1; }

# playbooks/rebalance_service.yml: the loop as an Aurora service, deployed twice (unchanged).
for run in 1 2; do
  out=$(run_playbook playbooks/rebalance_service.yml -e "@$TARGET/allocator.yml" \
    -e aurora_rebalance_role=ds -e aurora_rebalance_environment=devel -e aurora_rebalance_every=30 \
    -e "aurora_rebalance_scheduler_url=$AURORA_URL") || { echo "$out"; failed=1; }
  expect=$([ $run = 1 ] && echo 'changed=1' || echo 'changed=0')
  echo "$out" | grep -qE "ok=[0-9]+ +$expect " || { echo "$out"; echo "rebalance_service.yml run $run: not $expect" >&2; failed=1; }
done
"$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json call getTasksStatus \
  --json '{"query": {"role": "ds", "environment": "devel", "jobName": "fair-share", "statuses": ["RUNNING"]}}' \
  >"$WORK/service.json"
"$PYTHON" - "$WORK/service.json" "$TARGET/allocator.yml" "$AURORA_URL" <<'PY' || failed=1
import base64, json, re, sys, yaml
tasks = json.load(open(sys.argv[1]))["result"]["scheduleStatusResult"]["tasks"]
wanted = yaml.safe_load(open(sys.argv[2]))["aurora_fair_share"]
assert len(tasks) == 1, f"{len(tasks)} instances of ds/devel/fair-share"
processes = {p["name"]: p["cmdline"] for p in json.loads(tasks[0]["assignedTask"]["task"]["executorConfig"]["data"])["task"]["processes"]}
written = json.loads(base64.b64decode(re.search(r"echo (\S+) \| base64 -d", processes["write_config"]).group(1)))
assert written == wanted, f"the service writes {written}"
loop = f"exec /usr/local/bin/aurora-ansible --scheduler-url {sys.argv[3]} rebalance --config rebalance.json --every 30"
assert processes["rebalance"] == loop, processes["rebalance"]
print("--- the allocator's service runs:", processes["rebalance"])
PY
exit $failed
