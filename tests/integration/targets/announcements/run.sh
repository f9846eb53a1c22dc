#!/usr/bin/env bash
# Tasks' endpoints announced in a real ZooKeeper as Aurora's executor announces them
# (client-reference §1.8.2 "Announcer"; Aurora's executor/common/announcer.py): aurora-sim plays
# every host's executor with --announcer-ensemble. The batch framework role, run twice, gets one
# member per RUNNING instance under /aurora/ROLE/ENV/JOB with the task's host, ports and shard
# (read with job_info endpoints=true, checked against the simulator's tasks); its workers are told
# the master's serverset and ensemble; a job with announce has one member per instance; a member
# deleted behind the announcer's back comes back (as Aurora's e2e validate_serverset.py expects),
# and so do all of them after the announcer's session expired (the simulator frozen past it);
# scaling down and removing the framework remove the members; a job without announce has none.
set -euo pipefail
source tests/integration/lib.sh
start_zookeeper
start_sim --hosts 4 --racks 2 --time-scale 100 --announcer-ensemble "127.0.0.1:$ZK_PORT"
zk_hosts="127.0.0.1:$ZK_PORT"
# The simulator as the cluster's scheduler too, so that job_info with cluster: finds both.
sim_host_port=${AURORA_URL#http://}
zk_create /aurora
zk_create /aurora/scheduler
zk_create /aurora/scheduler/member_0000000000 \
  "{\"serviceEndpoint\": {\"host\": \"${sim_host_port%:*}\", \"port\": ${sim_host_port##*:}}, \"status\": \"ALIVE\"}"
use_zk_cluster announced "/aurora/scheduler"

failed=0
run_playbook tests/integration/targets/announcements/playbooks/10_batch_framework.yml -e "zk_hosts=$zk_hosts" || failed=1

# members PATH: the member_ children of PATH in ZooKeeper, one per line.
members() { zk_children "$1" | grep '^member_' || true; }
# wait_members PATH COUNT: until PATH has COUNT members, at most 15 s.
wait_members() {
  local got
  for _ in $(seq 10); do
    got=$(members "$1" | wc -l)
    [ "$got" = "$2" ] && return 0
    sleep 1
  done
  echo "$1: $got members, expected $2" >&2
  return 1
}
# A member deleted behind the announcer's back is joined again (the executor rejoins when its
# membership is lost: announcer.py on_expiration; validate_serverset.py deletes one and waits).
echo "--- a deleted member comes back"
web_path=/aurora/ml/devel/web
wait_members "$web_path" 3 || failed=1
wait_members /aurora/ml/devel/tuner-master 1 || failed=1
gone=$(members "$web_path" | head -n 1)
timeout 60 /usr/share/zookeeper/bin/zkCli.sh -server "$zk_hosts" delete "$web_path/$gone" >/dev/null 2>&1
wait_members "$web_path" 3 || failed=1
members "$web_path" | grep -qx "$gone" && { echo "$gone was not deleted" >&2; failed=1; }

echo "--- after a session expiry, every member is announced again"
# The announcer's session timeout is 10 s (src/sim/announcer.rs): frozen past it, the simulator's
# ephemeral members are removed by ZooKeeper; awake, it finds its session expired and joins again
# (announcer.py on_expiration).
kill -STOP "$SIM_PID"
wait_members "$web_path" 0 || failed=1
kill -CONT "$SIM_PID"
wait_members "$web_path" 3 || failed=1
wait_members /aurora/ml/devel/tuner-master 1 || failed=1

run_playbook tests/integration/targets/announcements/playbooks/20_scale_down_and_remove.yml -e "zk_hosts=$zk_hosts" || failed=1
echo "--- nothing left announced in ZooKeeper"
wait_members /aurora/ml/devel/tuner-master 0 || failed=1
wait_members "$web_path" 0 || failed=1
exit $failed
