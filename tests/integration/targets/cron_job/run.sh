#!/usr/bin/env bash
# aurora.scheduler.cron_job through ansible-playbook against a live aurora-sim: schedule, replace
# and deschedule a cron job, start runs that finish and that fail, kill a run in progress; each
# change run twice, check mode left the simulator as it was, bad inputs. The simulator's cron
# templates and tasks are read back through the aurora-ansible CLI.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 4 --racks 2 --time-scale 100
failed=0
for playbook in tests/integration/targets/cron_job/playbooks/*.yml; do
  run_playbook "$playbook" || failed=1
done
exit $failed
