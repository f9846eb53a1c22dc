#!/usr/bin/env bash
# aurora.scheduler.job_update through ansible-playbook against a live aurora-sim: control a job's
# rolling update (pause, resume, abort, roll back, await, pulse, revert), each change run twice;
# the simulator's update states read back with job_info.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 4 --racks 2 --time-scale 100
failed=0
for playbook in tests/integration/targets/job_update/playbooks/*.yml; do
  run_playbook "$playbook" || failed=1
done
exit $failed
