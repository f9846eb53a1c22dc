#!/usr/bin/env bash
# aurora.scheduler.job_info through ansible-playbook against a live aurora-sim: list jobs with
# their instances, configurations, versions, updates and pending reasons, with filters; read-only,
# so it is checked to change nothing.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 4 --racks 2 --time-scale 100
failed=0
result=$(mktemp)
LIB_FILES+=("$result")
for playbook in tests/integration/targets/job_info/playbooks/*.yml; do
  run_playbook "$playbook" -e "job_info_result=$result" || failed=1
done
# Every key job_info returned over the simulator's cluster (services, a rolled update, a PENDING
# job) is in its RETURN docs, as ansible-doc reads them.
"$PYTHON" tests/integration/targets/job_info/undocumented_keys.py aurora.scheduler.job_info "$result" || failed=1
exit $failed
