#!/usr/bin/env bash
# playbooks/deploy.yml as a CI pipeline runs it, against the simulator run.sh started (sourced
# lib.sh's AURORA_URL): version 1 deploys (twice: the second unchanged); version 2, whose tasks
# fail (sim.behavior=fail through the metadata override), rolls back and fails the pipeline with
# the scheduler's reason, writing the JSON result and the JUnit XML; the re-run is refused naming
# that update, without touching the job (same tasks, no new update); -e retry_failed=true tries
# again (a new update, rolled back again). Then a pipeline re-run while version 4 still rolls out
# (its instances start slowly, one at a time) joins that update: both runs succeed with the same
# update id, and no second update is started.
set -euo pipefail
source tests/integration/lib.sh
out=$(mktemp -d)
LIB_FILES+=("$out")
failed=0
deploy() {
  local name=$1
  shift
  run_playbook playbooks/deploy.yml -e "aurora_scheduler_url=$AURORA_URL" -e team=ci -e env=devel \
    -e service=web -e '{"command": "serve --port %{thermos.ports[http]}"}' -e instances=2 -e "result_dir=$out/$name" \
    "$@" >"$out/$name.log" 2>&1
}
bad='{"overrides": {"metadata": {"sim.behavior": "fail"}}}'
state() {
  # The job's active task ids and its update ids: what "untouched" compares.
  "$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json call getTasksWithoutConfigs \
    --json '{"query": {"jobKeys": [{"role": "ci", "environment": "devel", "name": "web"}], "statuses": ["PENDING", "ASSIGNED", "STARTING", "RUNNING", "KILLING"]}}' |
    "$PYTHON" -c 'import json, sys; print(sorted(t["assignedTask"]["taskId"] for t in json.load(sys.stdin)["result"]["scheduleStatusResult"].get("tasks") or []))'
  "$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json call getJobUpdateSummaries \
    --json '{"jobUpdateQuery": {"jobKey": {"role": "ci", "environment": "devel", "name": "web"}}}' |
    "$PYTHON" -c 'import json, sys; print(sorted(u["key"]["id"] for u in json.load(sys.stdin)["result"]["getJobUpdateSummariesResult"].get("updateSummaries") or []))'
}
result() { "$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$out/$1/deploy-result.json" "$2"; }
expect() { # NAME PYTHON-EXPRESSION over r (the JSON result)
  [ "$(result "$1" "$2")" = True ] || { echo "$1: not true of deploy-result.json: $2" >&2; cat "$out/$1/deploy-result.json" >&2; failed=1; }
}

deploy v1 -e version=1.0.0 || { cat "$out/v1.log"; failed=1; }
expect v1 'r["succeeded"] and r["changed"] and r["version"] == "1.0.0"'
deploy v1-again -e version=1.0.0 || { cat "$out/v1-again.log"; failed=1; }
expect v1-again 'r["succeeded"] and not r["changed"]'

if deploy v2 -e version=2.0.0 -e "$bad"; then echo "the failing version passed the pipeline" >&2; failed=1; fi
expect v2 'not r["succeeded"] and r["changed"] and "ROLLED_BACK" in r["msg"] and "exited with status 1" in r["msg"] and not r["refused"]'
grep -q 'ROLLED_BACK' "$out/v2.log" || { echo "the pipeline's failure does not give the reason" >&2; failed=1; }
"$PYTHON" - "$out/v2/deploy-junit.xml" <<'PY' || failed=1
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
case = suite.find("testsuite/testcase")
failure = case.find("failure")
assert suite.get("failures") == "1" and failure is not None and failure.get("type") == "rolled_back", ET.tostring(suite)
assert "ROLLED_BACK" in failure.get("message")
print("JUnit XML:", case.get("classname"), case.get("name"), "failed:", failure.get("type"))
PY
rolled_back=$(result v2 'r["update_id"]')

before=$(state)
if deploy v2-again -e version=2.0.0 -e "$bad"; then echo "the re-run of the failed version passed" >&2; failed=1; fi
expect v2-again "not r['succeeded'] and r['refused'] and not r['changed'] and '$rolled_back' in r['msg'] and 'retry_failed' in r['msg']"
after=$(state)
[ "$before" = "$after" ] || { echo "the refused re-run touched the job: $before -> $after" >&2; failed=1; }
"$PYTHON" -c 'import sys, xml.etree.ElementTree as ET; f = ET.parse(sys.argv[1]).find("testsuite/testcase/failure"); assert f.get("type") == "refused", f.attrib' \
  "$out/v2-again/deploy-junit.xml" || failed=1

if deploy v2-retry -e version=2.0.0 -e "$bad" -e retry_failed=true; then echo "the retried failing version passed" >&2; failed=1; fi
expect v2-retry "not r['succeeded'] and r['changed'] and not r['refused'] and 'ROLLED_BACK' in r['msg'] and r['update_id'] != '$rolled_back'"

deploy v3 -e version=3.0.0 || { cat "$out/v3.log"; failed=1; }
expect v3 'r["succeeded"] and r["changed"]'

# The rollout of 4.0.0 takes about 12 s here (two instances one at a time, each 1,200 virtual
# seconds to start at the simulator's 200x): long enough for a second ansible-playbook to reach
# its job task while the first one waits.
slow='{"overrides": {"metadata": {"sim.behavior": "slow_start:1200"}, "update": {"batch_size": 1}}}'
updates() {
  "$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json call getJobUpdateSummaries \
    --json '{"jobUpdateQuery": {"jobKey": {"role": "ci", "environment": "devel", "name": "web"}}}' |
    "$PYTHON" -c 'import json, sys; print(" ".join(sorted(u["key"]["id"] + ":" + u["state"]["status"] for u in json.load(sys.stdin)["result"]["getJobUpdateSummariesResult"].get("updateSummaries") or [])))'
}
before=$(updates)
SECONDS=0
deploy v4 -e version=4.0.0 -e "$slow" &
first=$!
rolling=""
for _ in $(seq 150); do
  now=$(updates)
  if [ "$now" != "$before" ] && [[ $now == *ROLLING_FORWARD* ]]; then rolling=yes; break; fi
  sleep 0.2
done
[ -n "$rolling" ] || { echo "the rollout of 4.0.0 did not start" >&2; failed=1; }
echo "4.0.0 rolling out after ${SECONDS} s"
deploy v4-again -e version=4.0.0 -e "$slow" || { cat "$out/v4-again.log"; failed=1; }
echo "the re-run done after ${SECONDS} s"
wait "$first" || { cat "$out/v4.log"; failed=1; }
echo "the first run done after ${SECONDS} s"
expect v4 'r["succeeded"] and r["changed"] and bool(r["update_id"])'
joined=$(result v4 'r["update_id"]')
expect v4-again "r['succeeded'] and r['update_id'] == '$joined'"
"$PYTHON" - "$before" "$(updates)" "$joined" <<'PY' || failed=1
import sys
before, after = ({u.split(":")[0]: u.split(":")[1] for u in text.split()} for text in sys.argv[1:3])
new = {id: status for id, status in after.items() if id not in before}
assert new == {sys.argv[3]: "ROLLED_FORWARD"}, f"updates started for 4.0.0: {new}"
print("the re-run joined update", sys.argv[3], "and started none")
PY
echo "deploy: v1 twice, v2 rolled back, refused, retried, v3, v4 joined by its re-run: $([ $failed = 0 ] && echo ok || echo FAILED)"
exit $failed
