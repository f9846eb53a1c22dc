#!/usr/bin/env bash
# aurora.scheduler.job_info through ansible-playbook against a live aurora-sim: list jobs with
# their instances, configurations, versions, updates and pending reasons, with filters; read-only,
# so it is checked to change nothing.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 4 --racks 2 --time-scale 100
failed=0
for playbook in tests/integration/targets/job_info/playbooks/*.yml; do
  run_playbook "$playbook" || failed=1
done
exit $failed
