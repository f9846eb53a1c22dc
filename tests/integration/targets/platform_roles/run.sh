#!/usr/bin/env bash
# The platform layer through ansible-playbook against a live aurora-sim: the roles
# aurora.scheduler.aurora_service, cron and batch_framework with the default profile and with the demo's,
# each deployment run twice (the second unchanged) and in check mode first (nothing written);
# the simulator's state shows what the mediator produced. The data scientists' example playbooks
# (playbooks/examples, at most 12 lines each) run as they are, twice, with the demo inventory.
# The scheduler SLA-checks jobs of 3 instances and more here, so that SLA policies can be seen on
# small jobs (--min-required-instances-for-sla-check, matched by the profiles' min_sla_instances).
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 8 --racks 4 --time-scale 200 --min-required-instances-for-sla-check 3
failed=0
for playbook in tests/integration/targets/platform_roles/playbooks/*.yml; do
  run_playbook "$playbook" || failed=1
done

# The examples, exactly as a data scientist runs them, with the platform team's inventory.
examples() {
  for example in playbooks/examples/*.yml; do
    [ "$(wc -l <"$example")" -le 12 ] || { echo "$example is longer than 12 lines" >&2; return 1; }
    echo "--- $example"
    AURORA_SCHEDULER_URL=$AURORA_URL timeout 600 ansible-playbook -i inventories/demo "$example" || return 1
  done
}
# The platform team gives the fraud team production quota first.
ansible localhost -i localhost, -c local -e "ansible_python_interpreter=$PYTHON" \
  -m aurora.scheduler.quota -a "scheduler_url=$AURORA_URL role=fraud cpu=8 ram=16GiB disk=32GiB" >/dev/null
first=$(examples) || { echo "$first"; failed=1; }
# What the examples deployed, the demo profile's way: 2 production instances of the scorer, one
# per rack; the retraining cron template; the tuner's master and 3 workers.
count() {
  "$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json tasks "$1" |
    python3 -c 'import json, sys; print(sum(t["status"] == "RUNNING" for t in json.load(sys.stdin)))'
}
for expected in fraud/prod/scorer=2 search/staging/tuner-master=1 search/staging/tuner-worker=3; do
  got=$(count "${expected%=*}")
  [ "$got" = "${expected#*=}" ] || { echo "$expected: $got RUNNING" >&2; failed=1; }
done
"$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" jobs | grep -q 'fraud/prod/retrain' ||
  { echo "the retraining cron job is not scheduled" >&2; failed=1; }
second=$(examples) || { echo "$second"; failed=1; }
echo "$second" | grep -E '^localhost' || true
if echo "$second" | grep -E '^localhost' | grep -vq 'changed=0'; then
  echo "a second run of the examples changed something" >&2
  failed=1
fi
# ansible-doc renders each role's variables and the mediator's profile.
for role in service cron batch_framework; do
  doc=$(ANSIBLE_NOCOLOR=1 ansible-doc -t role "aurora.scheduler.aurora_$role")
  grep -q "aurora_${role}_team" <<<"$doc" || { echo "ansible-doc -t role aurora.scheduler.aurora_$role lacks its variables (aurora_${role})" >&2; failed=1; }
done
doc=$(ANSIBLE_NOCOLOR=1 ansible-doc aurora.scheduler.platform)
for expected in "MODULE aurora.scheduler.platform" "allowed_overrides" "min_sla_instances" "RETURN VALUES"; do
  grep -q "$expected" <<<"$doc" || { echo "ansible-doc aurora.scheduler.platform lacks: $expected" >&2; failed=1; }
done
exit $failed
