#!/usr/bin/env bash
# A leader failover in the middle of a rolling update (issue 17, item 5): three aurora-sim in one
# ZooKeeper election sharing one --state-dir (Aurora's replicated log); a playbook waits for an
# update through a cluster entry with only zk, zk_port and scheduler_zk_path. The leader is killed
# (SIGKILL) while the update rolls: another simulator leads, recovers the update from the log and
# finishes it; the module follows the new leader through ZooKeeper (api-reference §1.5, §1.7) and
# either converges in the same run or fails with a message naming the scheduler, and a re-run
# converges. startJobUpdate was sent once: the job has exactly one update, rolled forward, and
# every instance runs version 2. The job and its earlier task ids survive the failover.
set -euo pipefail
source tests/integration/lib.sh
ZK_PATH=/aurora/scheduler
# ZooKeeper's least session timeout with start_zookeeper's tickTime (2 s) is 4 s.
SESSION_TIMEOUT=4
playbooks=tests/integration/targets/failover/playbooks
start_zookeeper
state=$(mktemp -d)
LIB_FILES+=("$state")
start_sims 3 --zk "127.0.0.1:$ZK_PORT" --zk-path "$ZK_PATH" --zk-session-timeout "${SESSION_TIMEOUT}s" \
  --hosts 4 --time-scale 100 --state-dir "$state/log"
LIVE=(0 1 2)

use_zk_cluster zk-sims "$ZK_PATH"
unset AURORA_SCHEDULER_URL

cli() { "$AURORA_BIN/aurora-ansible" --cluster zk-sims --output json "$@"; }
job_query='{"role": "ml", "environment": "devel", "name": "failover"}'
# updates: "ID STATUS" of each update of the job.
updates() {
  cli call getJobUpdateSummaries --json "{\"jobUpdateQuery\": {\"jobKey\": $job_query}}" |
    "$PYTHON" -c 'import json, sys
for u in json.load(sys.stdin)["result"]["getJobUpdateSummariesResult"]["updateSummaries"]:
    print(u["key"]["id"], u["state"]["status"])'
}
# running_versions: "INSTANCE VERSION TASK_ID" of each RUNNING task of the job, by instance.
running_versions() {
  cli call getTasksStatus --json "{\"query\": {\"jobKeys\": [$job_query], \"statuses\": [\"RUNNING\"]}}" |
    "$PYTHON" -c 'import json, sys
tasks = json.load(sys.stdin)["result"]["scheduleStatusResult"]["tasks"]
for t in sorted(tasks, key=lambda t: t["assignedTask"]["instanceId"]):
    version = [m["value"] for m in t["assignedTask"]["task"].get("metadata", []) if m["key"] == "version"]
    print(t["assignedTask"]["instanceId"], ",".join(version), t["assignedTask"]["taskId"])'
}

leader=$(wait_for_leader) || fail "no single leader among three simulators within 30 s"
echo "leader: simulator $leader (${SIM_URLS[$leader]})"
run_playbook "$playbooks/10_job.yml" || fail "the job was not created through the cluster"
before=$(running_versions)
echo "$before"

echo "--- the update rolls; the leader is killed mid-update"
run_playbook "$playbooks/20_update.yml" >"$state/update.out" 2>&1 &
update_pid=$!
LIB_PIDS+=("$update_pid")
# Killed once the update has rolled at least one instance and is still rolling: within 30 s.
for _ in $(seq 60); do
  status=$(updates 2>/dev/null | awk '{print $2}' | head -n1)
  rolled=$(running_versions 2>/dev/null | awk '$2 == "2"' | wc -l)
  [ "$status" = ROLLING_FORWARD ] && [ "$rolled" -ge 1 ] && break
  sleep 0.5
done
[ "$status" = ROLLING_FORWARD ] || fail "the update was '$status', not rolling, before the kill"
kill -KILL "${SIM_PIDS[$leader]}"
wait "${SIM_PIDS[$leader]}" 2>/dev/null || true
without "$leader"
echo "killed simulator $leader with $rolled instance(s) rolled"
leader=$(wait_for_leader) || fail "no new leader within 30 s of the leader's SIGKILL"
echo "new leader: simulator $leader (${SIM_URLS[$leader]})"
grep -q "replayed [0-9]* records" "${SIM_ERRS[$leader]}" || fail "the new leader did not replay the state dir"

update_status=0
wait "$update_pid" || update_status=$?
cat "$state/update.out"
if [ "$update_status" != 0 ]; then
  # A failed run must say why, naming the scheduler; the re-run below must converge.
  grep -q "failed=1" "$state/update.out" || fail "the playbook exited $update_status without a failed task"
  grep -Eq '"msg": ".*(scheduler|leader|ZooKeeper)' "$state/update.out" ||
    fail "the failed task's message does not say what happened to the scheduler"
  echo "the run across the failover failed with a clear message; running it again"
  run_playbook "$playbooks/20_update.yml" || fail "the re-run after the failover did not converge"
fi
run_playbook "$playbooks/20_update.yml" -e converged=true || fail "a run after the update changed something"

echo "--- startJobUpdate was sent once, and the update finished on the new leader"
mapfile -t all < <(updates)
printf '%s\n' "${all[@]}"
[ "${#all[@]}" = 1 ] || fail "the job has ${#all[@]} updates, not 1: a write was sent twice"
[ "${all[0]#* }" = ROLLED_FORWARD ] || fail "the update is '${all[0]#* }', not ROLLED_FORWARD"
after=$(running_versions)
echo "$after"
[ "$(awk '$2 == "2"' <<<"$after" | wc -l)" = 3 ] || fail "not every instance runs version 2"
# The tasks version 1 had before the failover are still known (with their ids) to the new leader.
for id in $(awk '{print $3}' <<<"$before"); do
  cli call getTasksWithoutConfigs --json "{\"query\": {\"taskIds\": [\"$id\"]}}" | grep -q "$id" ||
    fail "task $id from before the failover is unknown to the new leader"
done
echo "failover: ok"
