#!/usr/bin/env bash
# aurora-sim --state-dir (issue 17, part 2): the state a simulator accepted survives SIGKILL, as
# Aurora's leader recovers from its replicated log. A quota, a service job, a cron job, a drained
# host and a paused update are made with the modules; the simulator is killed while another update
# rolls; its successor on the same directory shows the same tasks (same ids), the paused update
# still paused and resumable, the rolling one finishing, and the same playbook changes nothing.
# Then a log whose last record is torn (a crash mid-append) is cut and reported on stderr.
set -euo pipefail
source tests/integration/lib.sh
state=$(mktemp -d)
LIB_FILES+=("$state")
sim_args=(--hosts 4 --racks 2 --time-scale 100 --state-dir "$state")
playbooks=tests/integration/targets/state_dir/playbooks
cli() { "$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json "$@"; }
# What must survive: every task of the role (id, instance, status, host) and update (id, status)
# but those of the rolling job, the cron templates, the quota and the host modes.
kept_state() {
  cli call getTasksWithoutConfigs --json '{"query": {"role": "ml"}}' >"$state/tasks.json"
  cli call getJobSummary --json '{"role": "ml"}' >"$state/jobs.json"
  cli call getQuota --json '{"ownerRole": "ml"}' >"$state/quota.json"
  cli call getJobUpdateSummaries --json '{"jobUpdateQuery": {"role": "ml"}}' >"$state/updates.json"
  cli call maintenanceStatus --json '{"hosts": {"hostNames": ["host-001", "host-002", "host-003", "host-004"]}}' >"$state/hosts.json"
  "$PYTHON" - "$state" <<'PY'
import json, sys
d = sys.argv[1]
load = lambda n: json.load(open(f"{d}/{n}.json"))["result"]
tasks = sorted(
    (t["assignedTask"]["taskId"], t["assignedTask"]["instanceId"], t["status"], t["assignedTask"].get("slaveHost"))
    for t in load("tasks")["scheduleStatusResult"]["tasks"]
    if t["assignedTask"]["task"]["job"]["name"] != "roll")
crons = sorted(s["job"]["key"]["name"] for s in load("jobs")["jobSummaryResult"]["summaries"] if s["job"].get("cronSchedule"))
updates = sorted((u["key"]["id"], u["key"]["job"]["name"], u["state"]["status"])
    for u in load("updates")["getJobUpdateSummariesResult"]["updateSummaries"] if u["key"]["job"]["name"] != "roll")
print(json.dumps({"tasks": tasks, "updates": updates, "crons": crons, "quota": load("quota")["getQuotaResult"]["quota"],
                  "hosts": sorted((s["host"], s["mode"]) for s in load("hosts")["maintenanceStatusResult"]["statuses"])}))
PY
}
update_status() {
  cli call getJobUpdateSummaries --json "{\"jobUpdateQuery\": {\"jobKey\": {\"role\": \"ml\", \"environment\": \"devel\", \"name\": \"$1\"}}}" |
    "$PYTHON" -c 'import json, sys; s = json.load(sys.stdin)["result"]["getJobUpdateSummariesResult"]["updateSummaries"]; print(max(s, key=lambda u: u["state"]["createdTimestampMs"])["state"]["status"])'
}
failed=0

start_sim "${sim_args[@]}"
run_playbook "$playbooks/10_setup.yml" || failed=1
run_playbook "$playbooks/20_rolling.yml" || failed=1
before=$(kept_state)
rolling=$(update_status roll)
echo "before the kill: roll is $rolling"
kill -KILL "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
[ "$rolling" = ROLLING_FORWARD ] || { echo "the roll update was $rolling when the simulator was killed, not ROLLING_FORWARD" >&2; failed=1; }

start_sim "${sim_args[@]}"
grep -q "replayed [0-9]* records" "$SIM_LOG.err" || { echo "the successor did not say it replayed the state dir:" >&2; cat "$SIM_LOG.err" >&2; failed=1; }
after=$(kept_state)
if [ "$before" != "$after" ]; then
  echo "the state differs after the restart:" >&2
  echo "before: $before" >&2
  echo "after:  $after" >&2
  failed=1
fi
grep -q '"host-001", "DRAINED"' <<<"$after" || { echo "host-001 is not DRAINED after the restart: $after" >&2; failed=1; }
grep -q '"nightly"' <<<"$after" || { echo "the cron job is gone after the restart: $after" >&2; failed=1; }
run_playbook "$playbooks/10_setup.yml" -e '{"rerun": true}' || failed=1
[ "$(kept_state)" = "$after" ] || { echo "the second run changed the scheduler: $(kept_state)" >&2; failed=1; }
run_playbook "$playbooks/30_after_restart.yml" || failed=1

# A crash in the middle of an append leaves a torn last record: cut off, reported, state kept.
kill -KILL "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
printf '\x40\x00\x00\x00\x01\x02\x03' >>"$state/calls.log"
start_sim "${sim_args[@]}"
grep -q "torn record" "$SIM_LOG.err" || { echo "no torn record reported on stderr:" >&2; cat "$SIM_LOG.err" >&2; failed=1; }
cpus=$(cli call getQuota --json '{"ownerRole": "ml"}' | "$PYTHON" -c 'import json, sys; print([r["numCpus"] for r in json.load(sys.stdin)["result"]["getQuotaResult"]["quota"]["resources"] if "numCpus" in r])')
[ "$cpus" = "[8.0]" ] || { echo "the quota is lost after the torn tail: $cpus" >&2; failed=1; }
exit $failed
