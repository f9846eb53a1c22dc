#!/usr/bin/env bash
# aurora.scheduler.job through ansible-playbook against a live aurora-sim: each playbook changes
# something, runs the same task again to prove it reports no change, and checks the simulator's
# state through the aurora-ansible CLI.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 6 --racks 3 --time-scale 100
failed=0
for playbook in tests/integration/targets/job/playbooks/*.yml; do
  run_playbook "$playbook" || failed=1
done
# ansible-doc renders the module's documentation from its sidecar file.
doc=$(ANSIBLE_NOCOLOR=1 ansible-doc aurora.scheduler.job)
for expected in "MODULE aurora.scheduler.job" "scheduler_url" "on_timeout" "EXAMPLES" "RETURN VALUES"; do
  grep -q "$expected" <<<"$doc" || { echo "ansible-doc aurora.scheduler.job lacks: $expected" >&2; failed=1; }
done
exit $failed
