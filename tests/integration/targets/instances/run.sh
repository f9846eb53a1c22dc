#!/usr/bin/env bash
# aurora.scheduler.instances through ansible-playbook against a live aurora-sim: grow and shrink a
# running service, each change run twice, check mode, bad inputs; the simulator's tasks checked
# through the aurora-ansible CLI.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 4 --racks 2 --time-scale 100
failed=0
for playbook in tests/integration/targets/instances/playbooks/*.yml; do
  run_playbook "$playbook" || failed=1
done
exit $failed
