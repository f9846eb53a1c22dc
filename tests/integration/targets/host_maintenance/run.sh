#!/usr/bin/env bash
# aurora.scheduler.host_maintenance through ansible-playbook against a live aurora-sim of 6 hosts in
# 2 racks, SLAs enforced from one instance on (--min-required-instances-for-sla-check 1): every
# state twice, check mode, SLA and forced drains, fleet mode by rack with resume after a timeout,
# the blocking report, bad inputs. Modes are read back with aurora.scheduler.host_info.
set -euo pipefail
source tests/integration/lib.sh
failed=0
for playbook in tests/integration/targets/host_maintenance/playbooks/*.yml; do
  # A fresh simulator per playbook: each starts from every host in service. The last one is
  # stopped by lib.sh's exit trap.
  if [ -n "${SIM_PID:-}" ]; then
    kill "$SIM_PID"
    wait "$SIM_PID" 2>/dev/null || true
    rm -f "$SIM_LOG" "$SIM_LOG.err"
  fi
  start_sim --hosts 6 --racks 2 --time-scale 100 --min-required-instances-for-sla-check 1 \
    --host-maintenance-polling-interval 5s
  run_playbook "$playbook" -e "helpers=$(pwd)/tests/integration/targets/host_maintenance" || failed=1
done
exit $failed
