#!/usr/bin/env bash
# Issue 14, zero user impact: playbooks/host_maintenance.yml drains a simulated cluster rack by
# rack (4 racks of 4 hosts) with the role's defaults and the scheduler's SLA flags at Aurora's
# defaults (-min_required_instances_for_sla_check 20, non-production tiers not checked: the
# scheduler itself protects none of these jobs, api-reference §4.8). Checked from the simulator's
# task history: no job ever below its SLA (N-1 of N up to 20 instances, 95% above), the
# single-instance service never at zero (make before break). The batch framework's master cannot
# run twice: its rack is refused, in check mode and for real, before anything is drained, naming
# it and allow_downtime; with it listed (the operator accepts its restart), every rack drains. Check mode moves nothing; the second run
# changes nothing.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 16 --racks 4 --time-scale 60
TARGET=tests/integration/targets/zero_impact
SLA_HISTORY=scripts/sla_history.py
WORK=$(mktemp -d)
LIB_FILES+=("$WORK")
export AURORA_SCHEDULER_URL=$AURORA_URL
MASTER=ml/staging/tuner-master

cat >"$WORK/sim.aurora.yml" <<YAML
plugin: aurora.scheduler.aurora
group_attributes: [rack]
compose:
  ansible_connection: "'local'"
  ansible_python_interpreter: "'$PYTHON'"
YAML

fail() { echo "FAILED: $*" >&2; exit 1; }
# The rack of the host running the master.
master_rack() {
  role_tasks_json ml | python3 -c '
import json, sys
tasks = json.load(sys.stdin)["result"]["scheduleStatusResult"]["tasks"]
host = [t["assignedTask"]["slaveHost"] for t in tasks
        if t["status"] == "RUNNING" and t["assignedTask"]["task"]["job"]["name"] == "tuner-master"][0]
print("r%d" % ((int(host.split("-")[1]) - 1) // 4 + 1))'
}
operator_run() {
  echo "--- host_maintenance.yml $*"
  timeout 900 ansible-playbook -i "$WORK/sim.aurora.yml" playbooks/host_maintenance.yml \
    -e "kernel_dir=$WORK" -e kernel_version=6.1.0 \
    -e "aurora_host_maintenance_needed={{ lookup('ansible.builtin.file', kernel_dir ~ '/' ~ inventory_hostname ~ '.kernel', errors='ignore') != kernel_version }}" \
    -e "aurora_host_maintenance_tasks_file=$(pwd)/tests/integration/targets/operator_playbook/kernel_update.yml" \
    "$@" | tee "$WORK/last.log"
}
recap_changed() { grep -E '^host-[0-9]+ +:' "$WORK/last.log" | grep -v ' changed=0 ' || true; }

run_playbook "$TARGET/setup.yml"
rack=$(master_rack)
echo "the master runs in rack $rack"

echo "--- an unsafe rack is refused, in check mode and for real, before anything moves"
before=$(active_task_ids ml)
if operator_run -l "aurora_rack_$rack" --check; then fail "check mode accepted a drain that stops the master"; fi
grep -q "no safe drain plan: $MASTER on host-" "$WORK/last.log" || fail "the refusal does not name the master and its host"
grep -q "allow_downtime" "$WORK/last.log" || fail "the refusal does not say what would make it safe"
if operator_run -l "aurora_rack_$rack"; then fail "a drain that stops the master went ahead"; fi
grep -q "no safe drain plan: $MASTER on host-" "$WORK/last.log" || fail "the run's refusal differs from check mode's"
[ "$(active_task_ids ml)" = "$before" ] || fail "a refused drain moved tasks"
[ "$(hosts_in_maintenance)" = "[]" ] || fail "a refused drain left hosts in maintenance: $(hosts_in_maintenance)"

echo "--- check mode over the whole cluster moves nothing"
operator_run -e "{\"aurora_host_maintenance_allow_downtime\": [\"$MASTER\"]}" --check
[ "$(active_task_ids ml)" = "$before" ] || fail "check mode moved tasks"
[ "$(hosts_in_maintenance)" = "[]" ] || fail "check mode left hosts in maintenance: $(hosts_in_maintenance)"
ls "$WORK"/*.kernel >/dev/null 2>&1 && fail "check mode ran the kernel update"

echo "--- rack by rack, with the role's defaults; the operator accepts the master's restart"
# The master moves with each drain, so it is listed for every rack; every other job is kept
# within its SLA by the defaults alone.
for r in r1 r2 r3 r4; do
  operator_run -l "aurora_rack_$r" -e "{\"aurora_host_maintenance_allow_downtime\": [\"$MASTER\"]}"
done
[ "$(ls "$WORK"/*.kernel | wc -l)" -eq 16 ] || fail "not every host got its kernel update"
[ "$(hosts_in_maintenance)" = "[]" ] || fail "hosts left in maintenance: $(hosts_in_maintenance)"
# MIN_RUNNING:INSTANCES per job (api-reference §4.8: 95%, relaxed to one instance down).
role_tasks_json ml | python3 "$SLA_HISTORY" ml/prod/svc1=1:1 ml/prod/svc2=1:2 ml/prod/svc3=2:3 \
  ml/prod/svc25=24:25 ml/staging/tuner-worker=2:3
# Every service back at its own count: the extra instances are gone.
role_tasks_json ml | python3 -c '
import collections, json, sys
tasks = json.load(sys.stdin)["result"]["scheduleStatusResult"]["tasks"]
running = collections.Counter(t["assignedTask"]["task"]["job"]["name"] for t in tasks if t["status"] == "RUNNING")
wanted = {"svc1": 1, "svc2": 2, "svc3": 3, "svc25": 25, "tuner-master": 1, "tuner-worker": 3}
wrong = {job: (running[job], n) for job, n in wanted.items() if running[job] != n}
assert not wrong, "running counts (running, wanted): %s" % wrong
print("every service back at its own count:", dict(running))'

echo "--- the second run changes nothing"
after=$(active_task_ids ml)
operator_run -e "{\"aurora_host_maintenance_allow_downtime\": [\"$MASTER\"]}"
[ -z "$(recap_changed)" ] || fail "the second run changed: $(recap_changed)"
[ "$(active_task_ids ml)" = "$after" ] || fail "the second run moved tasks"
echo "zero_impact: passed"
