#!/usr/bin/env bash
# Three simulators in one ZooKeeper election, as Aurora's schedulers (api-reference §1.5,
# client-reference §6.2; src/sim/election.rs cites Aurora's source): exactly one leads and is the
# single member_ of the path; a module with cluster: finds it; the followers answer 307 to it and
# /leaderhealth 503; a leader stopped with SIGTERM leaves at once, one killed with SIGKILL when its
# session times out, and each time another leads and the module follows; a leader frozen past its
# session timeout stops when it wakes (Aurora: "Lost leadership, committing suicide."), while a
# follower frozen so joins the election again.
set -euo pipefail
source tests/integration/lib.sh
ZK_PATH=/aurora/scheduler
# ZooKeeper's least session timeout with start_zookeeper's tickTime (2 s) is 4 s.
SESSION_TIMEOUT=4
start_zookeeper
sim_args=(--zk "127.0.0.1:$ZK_PORT" --zk-path "$ZK_PATH" --zk-session-timeout "${SESSION_TIMEOUT}s"
  --hosts 4 --time-scale 100)
start_sims 3 "${sim_args[@]}"
LIVE=(0 1 2)

use_zk_cluster zk-sims "$ZK_PATH"
unset AURORA_SCHEDULER_URL

# bypass_code URL: the responseCode of getQuota sent with Bypass-Leader-Redirect (TJSON, §1.2).
bypass_code() {
  "$PYTHON" - "$1" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/api", method="POST",
    data=b'[1,"getQuota",1,0,{"1":{"str":"election"}}]',
    headers={"Content-Type": "application/x-thrift", "Bypass-Leader-Redirect": "true"})
reply = json.load(urllib.request.urlopen(request, timeout=5))
print(reply[4]["0"]["rec"]["1"]["i32"])
PY
}

# check_cluster LEADER: the leader's member, the followers' 307s and everyone's /leaderhealth.
check_cluster() {
  local leader=$1 url=${SIM_URLS[$1]} member data i got
  mapfile -t members < <(zk_children "$ZK_PATH" | grep '^member_')
  [ "${#members[@]}" = 1 ] || fail "expected exactly one member_ under $ZK_PATH: ${members[*]}"
  data=$(zk_data "$ZK_PATH/${members[0]}")
  "$PYTHON" - "$data" "$url" <<'PY' || fail "member ${members[0]} is not the leader's ServerSet JSON: $data"
import json, sys
member = json.loads(sys.argv[1])
host, port = sys.argv[2].removeprefix("http://").rsplit(":", 1)
endpoint = {"host": host, "port": int(port)}
assert member == {"serviceEndpoint": endpoint, "additionalEndpoints": {"http": endpoint}, "status": "ALIVE"}, member
PY
  [ "$(probe "$url/leaderhealth")" = "200 " ] || fail "the leader's /leaderhealth is not 200"
  for i in "${LIVE[@]}"; do
    [ "$i" = "$leader" ] && continue
    got=$(probe "${SIM_URLS[$i]}/api" POST)
    [ "$got" = "307 $url/api" ] || fail "follower $i answered '$got' to POST /api, not 307 to $url/api"
    got=$(probe "${SIM_URLS[$i]}/leaderhealth")
    [ "$got" = "503 " ] || fail "follower $i's /leaderhealth is '$got', not 503"
    # A follower holds no scheduler state: asked past the filter, its storage is not ready (§1.5).
    got=$(bypass_code "${SIM_URLS[$i]}")
    [ "$got" = 6 ] || fail "follower $i answered responseCode $got to a bypassing call, not ERROR_TRANSIENT (6)"
  done
  [ "$(bypass_code "$url")" = 1 ] || fail "the leader does not answer OK (1) to a bypassing call"
  echo "leader: simulator $leader ($url) as ${members[0]}; followers: 307 to it, no state behind the filter"
}

# playbook_reaches LEADER CPU: the playbook through discovery changes the leader's quota to CPU.
playbook_reaches() {
  AURORA_URL=${SIM_URLS[$1]} run_playbook tests/integration/targets/leader_election/playbooks/quota_through_discovery.yml \
    -e "leader_url=${SIM_URLS[$1]}" -e "cpu=$2" || fail "the playbook did not reach leader $1 through ZooKeeper"
}

# wait_exit PID SECONDS: waits for a simulator to exit, at most SECONDS; sets EXIT_STATUS. Not in
# a subshell: only this shell can wait for its children.
wait_exit() {
  local pid=$1
  for _ in $(seq $(($2 * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && return 1
  EXIT_STATUS=0
  wait "$pid" || EXIT_STATUS=$?
}

echo "--- three candidates, one leader"
leader=$(wait_for_leader) || fail "no single leader among three simulators within 30 s"
check_cluster "$leader"
playbook_reaches "$leader" 2

echo "--- a follower frozen past its session timeout joins the election again"
follower=$(without "$leader"; echo "${LIVE[0]}")
kill -STOP "${SIM_PIDS[$follower]}"
sleep $((SESSION_TIMEOUT + 3))
kill -CONT "${SIM_PIDS[$follower]}"
for _ in $(seq 40); do
  grep -q "joining the election again" "${SIM_ERRS[$follower]}" &&
    [ "$(probe "${SIM_URLS[$follower]}/api" POST)" = "307 ${SIM_URLS[$leader]}/api" ] && break
  sleep 0.5
done
grep -q "joining the election again" "${SIM_ERRS[$follower]}" || fail "follower $follower did not join again"
[ "$(wait_for_leader)" = "$leader" ] || fail "the leader changed when a follower's session expired"
check_cluster "$leader"

echo "--- the leader stopped (SIGTERM) leaves at once"
old_member=$(zk_children "$ZK_PATH" | grep '^member_')
kill -TERM "${SIM_PIDS[$leader]}"
wait_exit "${SIM_PIDS[$leader]}" 10 || fail "the leader did not stop within 10 s of SIGTERM"
[ "$EXIT_STATUS" = 0 ] || fail "the leader stopped with status $EXIT_STATUS on SIGTERM"
if zk_children "$ZK_PATH" | grep -qx "$old_member"; then
  fail "$old_member is still there after its simulator stopped"
fi
without "$leader"
leader=$(wait_for_leader) || fail "no new leader within 30 s of the leader's SIGTERM"
start_sims 1 "${sim_args[@]}"
LIVE+=($((${#SIM_URLS[@]} - 1)))
leader=$(wait_for_leader) || fail "no single leader after a candidate joined"
check_cluster "$leader"
playbook_reaches "$leader" 3

echo "--- the leader killed (SIGKILL) leaves when its session times out"
old_member=$(zk_children "$ZK_PATH" | grep '^member_')
kill -KILL "${SIM_PIDS[$leader]}"
killed_at=$SECONDS
wait "${SIM_PIDS[$leader]}" 2>/dev/null || true
without "$leader"
leader=$(wait_for_leader) || fail "no new leader within 30 s of the leader's SIGKILL"
echo "$old_member gone and a new leader $((SECONDS - killed_at)) s after SIGKILL (session timeout ${SESSION_TIMEOUT} s)"
zk_children "$ZK_PATH" | grep -qx "$old_member" && fail "$old_member outlived its session"
check_cluster "$leader"
playbook_reaches "$leader" 4

echo "--- the leader frozen past its session timeout stops when it wakes, another leads"
frozen=$leader
kill -STOP "${SIM_PIDS[$frozen]}"
without "$frozen"
leader=$(wait_for_leader) || { kill -CONT "${SIM_PIDS[$frozen]}"; fail "no new leader while the leader was frozen"; }
kill -CONT "${SIM_PIDS[$frozen]}"
wait_exit "${SIM_PIDS[$frozen]}" 15 || fail "the frozen leader did not stop within 15 s of waking"
[ "$EXIT_STATUS" != 0 ] || fail "the frozen leader stopped with status 0"
grep -q "lost leadership" "${SIM_ERRS[$frozen]}" || fail "the frozen leader did not say it lost leadership"
grep "lost leadership" "${SIM_ERRS[$frozen]}"
check_cluster "$leader"
playbook_reaches "$leader" 5
echo "leader_election: all passed"
