#!/usr/bin/env bash
# The operator's flow end to end: the aurora.scheduler.aurora inventory plugin lists a simulated
# cluster of 3 racks (2 hosts each); playbooks/host_maintenance.yml drains it rack by rack
# (serial 2, hosts in name order = rack order) under services that allow one instance down at a
# time, runs a "kernel update" on each drained host and brings it back. Checked: check mode
# changes nothing; the task history never shows a job below its SLA (api-reference §4.3: the
# scheduler only drains a task when its job's SLA holds); every host ends active and every job fully
# running; a second run changes nothing. Also the plugin's groups, host variables and errors.
set -euo pipefail
source tests/integration/lib.sh
# Small jobs are SLA-checked only below -min_required_instances_for_sla_check, and non-production
# ones only with -sla_aware_kill_non_prod (api-reference §4.3).
start_sim --hosts 6 --racks 3 --min-required-instances-for-sla-check 1 --sla-aware-kill-non-prod \
  --time-scale 60 --host-maintenance-polling-interval 10s
TARGET=tests/integration/targets/operator_playbook
WORK=$(mktemp -d)
LIB_FILES+=("$WORK")
export AURORA_SCHEDULER_URL=$AURORA_URL

cat >"$WORK/sim.aurora.yml" <<YAML
plugin: aurora.scheduler.aurora
group_attributes: [rack]
compose:
  ansible_connection: "'local'"
  ansible_python_interpreter: "'$PYTHON'"
YAML

fail() { echo "FAILED: $*" >&2; exit 1; }
operator_run() {
  echo "--- host_maintenance.yml $*"
  timeout 900 ansible-playbook -i "$WORK/sim.aurora.yml" playbooks/host_maintenance.yml \
    -e "kernel_dir=$WORK" -e kernel_version=6.1.0 -e "@$TARGET/maintenance_vars.yml" "$@" | tee "$WORK/last.log"
}
recap_changed() { grep -E '^host-[0-9]+ +:' "$WORK/last.log" | grep -v ' changed=0 ' || true; }

run_playbook "$TARGET/setup.yml"

echo "--- the inventory plugin"
ansible-inventory -i "$WORK/sim.aurora.yml" --list >"$WORK/inventory.json"
python3 - "$WORK/inventory.json" <<'PY'
import json, sys
# ansible-inventory marks values that came from an inventory plugin as {"__ansible_unsafe": value}.
def plain(value):
    if isinstance(value, dict):
        return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
    return [plain(v) for v in value] if isinstance(value, list) else value
inv = plain(json.load(open(sys.argv[1])))
hosts = lambda group: sorted(inv.get(group, {}).get("hosts", []))
assert hosts("aurora_agents") == ["host-%03d" % i for i in range(1, 7)], inv.get("aurora_agents")
assert hosts("aurora_mode_none") == hosts("aurora_agents"), inv.get("aurora_mode_none")
assert hosts("aurora_rack_r2") == ["host-003", "host-004"], inv.get("aurora_rack_r2")
assert "aurora_host_host-001" not in inv, "group_attributes [rack] leaves out the host attribute"
hv = inv["_meta"]["hostvars"]["host-001"]
assert hv["aurora_mode"] == "NONE" and hv["aurora_attributes"]["rack"] == ["r1"], hv
assert hv["ansible_connection"] == "local", hv
assert sum(h["aurora_task_count"] for h in inv["_meta"]["hostvars"].values()) == 5, inv["_meta"]["hostvars"]
print("inventory: 6 hosts, groups by mode and rack, task counts add up to 5")
PY

echo "--- the inventory plugin's errors"
printf 'plugin: aurora.scheduler.aurora\nscheduler_url: http://127.0.0.1:9\ntimeout: 2\n' >"$WORK/down.aurora.yml"
if ANSIBLE_INVENTORY_UNPARSED_FAILED=true ansible-inventory -i "$WORK/down.aurora.yml" --list >/dev/null 2>"$WORK/err"; then
  fail "an unreachable scheduler must fail the inventory"
fi
grep -q "cannot list the scheduler's hosts" "$WORK/err" || { cat "$WORK/err"; fail "unclear error for an unreachable scheduler"; }
printf 'plugin: aurora.scheduler.aurora\nexecutable: /nonexistent/host_info\n' >"$WORK/noexe.aurora.yml"
if ANSIBLE_INVENTORY_UNPARSED_FAILED=true ansible-inventory -i "$WORK/noexe.aurora.yml" --list >/dev/null 2>"$WORK/err"; then
  fail "a missing executable must fail the inventory"
fi
grep -q "make build" "$WORK/err" || { cat "$WORK/err"; fail "unclear error for a missing executable"; }

before=$(active_task_ids ml)
operator_run --check
[ "$(active_task_ids ml)" = "$before" ] || fail "check mode moved tasks"
[ "$(hosts_in_maintenance)" = "[]" ] || fail "check mode left hosts in maintenance: $(hosts_in_maintenance)"
ls "$WORK"/*.kernel >/dev/null 2>&1 && fail "check mode ran the kernel update"

operator_run
run_playbook "$TARGET/verify.yml"
role_tasks_json ml | python3 scripts/sla_history.py ml/prod/ranker=2:3 ml/prod/featurizer=1:2
[ "$(ls "$WORK"/*.kernel | wc -l)" -eq 6 ] || fail "not every host got its kernel update"

after=$(active_task_ids ml)
operator_run
[ -z "$(recap_changed)" ] || fail "the second run changed: $(recap_changed)"
[ "$(active_task_ids ml)" = "$after" ] || fail "the second run moved tasks"
echo "operator_playbook: passed"
