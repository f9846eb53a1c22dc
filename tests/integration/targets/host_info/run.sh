#!/usr/bin/env bash
# aurora.scheduler.host_info through ansible-playbook against a live aurora-sim of 4 hosts in 2
# racks: every host with its tasks, filters on names, modes and attributes, unknown names, check
# mode, bad inputs.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 4 --racks 2 --time-scale 100
failed=0
for playbook in tests/integration/targets/host_info/playbooks/*.yml; do
  run_playbook "$playbook" || failed=1
done
exit $failed
