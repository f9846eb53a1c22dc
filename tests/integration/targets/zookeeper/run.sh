#!/usr/bin/env bash
# Leader discovery through a real ZooKeeper (client-reference §6.1, §6.2; api-reference §1.5):
# aurora-sim registered as the single ServerSet member of a path, a clusters.json entry with only
# zk, zk_port and scheduler_zk_path; a module with cluster: and the CLI with --cluster find it, and
# an unreachable ensemble, an empty serverset, several members and a malformed member each fail
# with a message naming the hosts and the path.
set -euo pipefail
source tests/integration/lib.sh
start_sim --hosts 4 --racks 2 --time-scale 100
start_zookeeper
sim_host_port=${AURORA_URL#http://}
sim_host=${sim_host_port%:*} sim_port=${sim_host_port##*:}
member="{\"serviceEndpoint\": {\"host\": \"$sim_host\", \"port\": $sim_port}, \"additionalEndpoints\": {\"http\": {\"host\": \"$sim_host\", \"port\": $sim_port}}, \"status\": \"ALIVE\"}"
zk_create /aurora
zk_create /aurora/scheduler
zk_create /aurora/scheduler/member_0000000000 "$member"
zk_create /aurora/empty
zk_create /aurora/several
zk_create /aurora/several/member_0000000000 "$member"
zk_create /aurora/several/member_0000000001 "$member"
zk_create /aurora/malformed
zk_create /aurora/malformed/member_0000000000 '{"serviceEndpoint": "nowhere"}'

# A loopback port nothing listens on: the unreachable ensemble.
closed_port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
config_root=$(mktemp -d)
LIB_FILES+=("$config_root")
cat >"$config_root/clusters.json" <<JSON
[
  {"name": "zk-dev", "zk": "127.0.0.1", "zk_port": $ZK_PORT, "scheduler_zk_path": "/aurora/scheduler",
   "auth_mechanism": "UNAUTHENTICATED"},
  {"name": "zk-unreachable", "zk": "127.0.0.1", "zk_port": $closed_port, "scheduler_zk_path": "/aurora/scheduler"},
  {"name": "zk-empty", "zk": "127.0.0.1", "zk_port": $ZK_PORT, "scheduler_zk_path": "/aurora/empty"},
  {"name": "zk-several", "zk": "127.0.0.1", "zk_port": $ZK_PORT, "scheduler_zk_path": "/aurora/several"},
  {"name": "zk-malformed", "zk": "127.0.0.1", "zk_port": $ZK_PORT, "scheduler_zk_path": "/aurora/malformed"},
  {"name": "zk-no-path", "zk": "127.0.0.1", "zk_port": $ZK_PORT, "scheduler_zk_path": "/aurora/nowhere"}
]
JSON
export AURORA_CONFIG_ROOT=$config_root
# The modules and the CLI must find the scheduler through the cluster alone.
unset AURORA_SCHEDULER_URL

failed=0
for playbook in tests/integration/targets/zookeeper/playbooks/*.yml; do
  run_playbook "$playbook" -e "zk_hosts=127.0.0.1:$ZK_PORT" -e "zk_closed=127.0.0.1:$closed_port" || failed=1
done

# The CLI with --cluster: the quota the playbook set, read from the leader found in ZooKeeper.
cli() { "$AURORA_BIN/aurora-ansible" --cluster "$@"; }
echo "--- CLI --cluster zk-dev"
quota=$(cli zk-dev --output json call getQuota --json '{"ownerRole": "zk"}') || { echo "CLI --cluster zk-dev failed" >&2; failed=1; }
cpus=$("$PYTHON" -c 'import json, sys; print([r["numCpus"] for r in json.load(sys.stdin)["result"]["getQuotaResult"]["quota"]["resources"] if "numCpus" in r])' <<<"$quota")
[ "$cpus" = "[4.0]" ] || { echo "CLI: not the quota set through the cluster: $quota" >&2; failed=1; }
# expect_cli_error CLUSTER TEXT...: the CLI exits 4 (cluster lookup) and says each TEXT.
expect_cli_error() {
  local name=$1 out status=0 text
  shift
  echo "--- CLI --cluster $name fails"
  out=$(cli "$name" call getQuota --json '{"ownerRole": "zk"}' 2>&1) || status=$?
  [ "$status" = 4 ] || { echo "CLI --cluster $name: exit $status, expected 4: $out" >&2; failed=1; }
  for text in "$@"; do
    grep -qF -- "$text" <<<"$out" || { echo "CLI --cluster $name: no '$text' in: $out" >&2; failed=1; }
  done
}
expect_cli_error zk-unreachable "127.0.0.1:$closed_port" "path /aurora/scheduler" "no ZooKeeper host answered"
expect_cli_error zk-empty "path /aurora/empty" "no leader"
expect_cli_error zk-several "no leader: 2 members are ALIVE"
expect_cli_error zk-malformed "member /aurora/malformed/member_0000000000 is not Aurora's ServerSet JSON"
expect_cli_error zk-no-path "path /aurora/nowhere" "the path does not exist"

# The inventory plugin with cluster: the simulator's 4 hosts, found through ZooKeeper.
echo "--- the inventory plugin with cluster: zk-dev"
printf 'plugin: aurora.scheduler.aurora\ncluster: zk-dev\n' >"$config_root/zk.aurora.yml"
if ANSIBLE_INVENTORY_UNPARSED_FAILED=true ansible-inventory -i "$config_root/zk.aurora.yml" --list >"$config_root/inventory.json"; then
  "$PYTHON" -c 'import json, sys; hosts = json.load(open(sys.argv[1]))["aurora_agents"]["hosts"]; assert len(hosts) == 4, hosts' \
    "$config_root/inventory.json" || { echo "inventory: not the simulator's 4 hosts" >&2; failed=1; }
else
  echo "the inventory plugin failed with cluster: zk-dev" >&2
  failed=1
fi
printf 'plugin: aurora.scheduler.aurora\ncluster: zk-empty\n' >"$config_root/empty.aurora.yml"
if ANSIBLE_INVENTORY_UNPARSED_FAILED=true ansible-inventory -i "$config_root/empty.aurora.yml" --list >/dev/null 2>"$config_root/err"; then
  echo "the inventory plugin must fail with an empty serverset" >&2
  failed=1
fi
grep -q "no leader" "$config_root/err" || { cat "$config_root/err" >&2; echo "inventory: unclear error for an empty serverset" >&2; failed=1; }
exit $failed
