# Shared by the targets' run.sh: start aurora-sim on 127.0.0.1 for the duration of the target, and
# run playbooks against it. Source it from the repo root; it stops the simulator on exit.

# Cargo's target directory may be relative to the repo root or absolute.
TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$(pwd)/$TARGET_DIR
AURORA_BIN=${AURORA_BIN:-$TARGET_DIR/release}
export ANSIBLE_CONFIG=$(pwd)/ansible.cfg
# Python modules (command, assert's helpers) run with the venv's interpreter, not a guessed one.
PYTHON=$(command -v python3)

# What the target started and wrote: stopped and removed when the script exits. Globals, since
# the EXIT trap reads them after the functions that set them have returned.
LIB_PIDS=()
LIB_FILES=()
lib_cleanup() {
  local status=$? pid
  # Some may have been stopped already (a target restarting its simulator): never an error.
  for pid in "${LIB_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "${LIB_FILES[@]}" || true
  return "$status"
}
trap lib_cleanup EXIT

# start_sim ARGS...: starts aurora-sim with ARGS, sets AURORA_URL; stopped when the script exits.
start_sim() {
  SIM_LOG=$(mktemp)
  local log=$SIM_LOG
  "$AURORA_BIN/aurora-sim" --listen 127.0.0.1:0 "$@" >"$log" 2>"$log.err" &
  SIM_PID=$!
  LIB_PIDS+=("$SIM_PID")
  LIB_FILES+=("$log" "$log.err")
  for _ in $(seq 200); do [ -s "$log" ] && break; sleep 0.05; done
  AURORA_URL=$(head -n1 "$log")
  if [ -z "$AURORA_URL" ]; then
    echo "aurora-sim did not start:" >&2
    cat "$log.err" >&2
    return 1
  fi
  export AURORA_URL
}

# run_playbook FILE [ARGS...]: one ansible-playbook run on localhost against the simulator.
run_playbook() {
  local playbook=$1
  shift
  echo "--- $(basename "$playbook")"
  timeout 600 ansible-playbook -i localhost, -c local \
    -e "aurora_url=$AURORA_URL" -e "aurora_cli=$AURORA_BIN/aurora-ansible" \
    -e "ansible_python_interpreter=$PYTHON" "$@" "$playbook"
}

# start_proxy ARGS...: starts tests/integration/fault_proxy.py in front of the simulator
# (AURORA_URL) with ARGS; sets PROXY_URL (the port that leads first), PROXY_URL_B and PROXY_LOG
# (its request log, JSON lines). Stopped when the script exits.
start_proxy() {
  PROXY_LOG=$(mktemp)
  local urls=$PROXY_LOG.urls
  "$PYTHON" tests/integration/fault_proxy.py serve --upstream "$AURORA_URL" --log "$PROXY_LOG" \
    "$@" >"$urls" 2>"$urls.err" &
  PROXY_PID=$!
  LIB_PIDS+=("$PROXY_PID")
  LIB_FILES+=("$PROXY_LOG" "$urls" "$urls.err")
  for _ in $(seq 200); do [ -s "$urls" ] && break; sleep 0.05; done
  read -r PROXY_URL PROXY_URL_B <"$urls" || true
  if [ -z "${PROXY_URL:-}" ]; then
    echo "fault_proxy.py did not start:" >&2
    cat "$urls.err" >&2
    return 1
  fi
  export PROXY_URL PROXY_URL_B PROXY_LOG
}

# proxy_control PATH?QUERY: one control request to the proxy (mark, faults, blackout, stats).
proxy_control() {
  "$PYTHON" -c 'import sys, urllib.request; print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="POST"), timeout=10).read().decode())' \
    "$PROXY_URL/__proxy/$1"
}

# role_tasks_json ROLE: every task of the role the scheduler keeps, as getTasksWithoutConfigs answers.
role_tasks_json() {
  "$AURORA_BIN/aurora-ansible" call getTasksWithoutConfigs --json "{\"query\":{\"role\":\"$1\"}}"
}
# active_task_ids ROLE: the sorted ids of the role's active tasks (a drain moves them: new ids).
active_task_ids() {
  role_tasks_json "$1" | python3 -c 'import json,sys; print(sorted(t["assignedTask"]["taskId"] for t in json.load(sys.stdin)["result"]["scheduleStatusResult"]["tasks"] if t["status"] in ("RUNNING","STARTING","ASSIGNED","PENDING")))'
}
# hosts_in_maintenance: the hosts the scheduler's /maintenance page lists (every mode but NONE).
hosts_in_maintenance() {
  python3 -c 'import json,sys,urllib.request; p=json.load(urllib.request.urlopen(sys.argv[1] + "/maintenance")); print(sorted(p["DRAINED"] + p["SCHEDULED"] + list(p["DRAINING"])))' "$AURORA_URL"
}

# start_zookeeper: a standalone ZooKeeper (Debian's zookeeper package, `make zookeeper`) on
# 127.0.0.1 with its data in a temporary directory; sets ZK_PORT. Stopped when the script exits.
# When it cannot start, says why and fails: the targets that need it never pass without it.
start_zookeeper() {
  if [ ! -x /usr/share/zookeeper/bin/zkServer.sh ] || ! command -v java >/dev/null 2>&1; then
    echo "ZooKeeper is not installed (make zookeeper installs Debian's package): cannot run this target" >&2
    return 1
  fi
  local dir
  dir=$(mktemp -d)
  LIB_FILES+=("$dir")
  ZK_PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n' \
    "$dir/data" "$ZK_PORT" >"$dir/zoo.cfg"
  java -cp "/etc/zookeeper/conf:/usr/share/java/*" -Dzookeeper.log.dir="$dir" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/log" 2>&1 &
  ZK_PID=$!
  LIB_PIDS+=("$ZK_PID")
  # Ready when it answers the four-letter word srvr with its mode (standalone); 30 s at most.
  for _ in $(seq 150); do
    if zk_command srvr 2>/dev/null | grep -q Mode; then
      export ZK_PORT
      return 0
    fi
    kill -0 "$ZK_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "ZooKeeper did not start on 127.0.0.1:$ZK_PORT:" >&2
  tail -n 20 "$dir/log" >&2
  return 1
}

# zk_command WORD: ZooKeeper's answer to a four-letter word (srvr, ...), within 2 s.
zk_command() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf %s "$2" >&3; cat <&3' _ "$ZK_PORT" "$1"
}

# zk_create PATH [DATA]: creates a persistent znode with zkCli.sh; fails, saying so, when it was not.
zk_create() {
  local out
  out=$(timeout 60 /usr/share/zookeeper/bin/zkCli.sh -server "127.0.0.1:$ZK_PORT" create "$1" "${2:-}" 2>&1)
  if ! grep -q "^Created $1" <<<"$out"; then
    echo "zkCli.sh could not create $1:" >&2
    echo "$out" | tail -n 5 >&2
    return 1
  fi
}

# --- simzk (issue 17): several simulators in one ZooKeeper election.

# start_sims N ARGS...: starts N simulators with the same ARGS (start_sim each); appends their
# URLs, pids and stderr logs to SIM_URLS, SIM_PIDS and SIM_ERRS. Stopped when the script exits.
SIM_URLS=() SIM_PIDS=() SIM_ERRS=()
start_sims() {
  local count=$1 i
  shift
  for ((i = 0; i < count; i++)); do
    start_sim "$@" || return 1
    SIM_URLS+=("$AURORA_URL") SIM_PIDS+=("$SIM_PID") SIM_ERRS+=("$SIM_LOG.err")
  done
}

# fail MESSAGE: says why a target with several simulators failed, with each one's stderr, and
# stops the target.
fail() {
  echo "FAILED: $*" >&2
  for i in "${!SIM_ERRS[@]}"; do
    echo "--- simulator $i (${SIM_URLS[$i]}) stderr:" >&2
    cat "${SIM_ERRS[$i]}" >&2
  done
  exit 1
}

# use_zk_cluster NAME PATH: a clusters.json with one entry NAME found only through ZooKeeper
# (zk, zk_port and scheduler_zk_path = PATH, client-reference §6.1), in a directory of its own
# exported as AURORA_CONFIG_ROOT.
use_zk_cluster() {
  local root
  root=$(mktemp -d)
  LIB_FILES+=("$root")
  printf '[{"name": "%s", "zk": "127.0.0.1", "zk_port": %s, "scheduler_zk_path": "%s"}]\n' \
    "$1" "$ZK_PORT" "$2" >"$root/clusters.json"
  export AURORA_CONFIG_ROOT=$root
}

# zk_children PATH: the children of a znode, one a line (zkCli.sh ls), within 60 s.
zk_children() {
  timeout 60 /usr/share/zookeeper/bin/zkCli.sh -server "127.0.0.1:$ZK_PORT" ls "$1" 2>/dev/null |
    tail -n1 | grep '^\[' | tr -d '[] ' | tr ',' '\n' | grep -v '^$' || true
}

# zk_data ZNODE: a znode's data (zkCli.sh get), within 60 s.
zk_data() {
  timeout 60 /usr/share/zookeeper/bin/zkCli.sh -server "127.0.0.1:$ZK_PORT" get "$1" 2>/dev/null | tail -n1
}

# probe URL [METHOD]: "STATUS LOCATION" of one request, without following redirects; "000" when
# nothing answers within 2 s.
probe() {
  "$PYTHON" - "$@" <<'PY'
import http.client, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
try:
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=2)
    conn.request(sys.argv[2] if len(sys.argv) > 2 else "GET", url.path or "/", body=b"" if len(sys.argv) > 2 else None)
    response = conn.getresponse()
    print(response.status, response.getheader("Location") or "")
except OSError:
    print("000")
PY
}

# wait_for_leader: the index (in SIM_URLS) of the single simulator of LIVE (the indexes of those
# running) whose /leaderhealth is 200 while every other answers 503 and ZK_PATH has one member_;
# 30 s at most.
wait_for_leader() {
  local attempt i leaders status members
  for attempt in $(seq 60); do
    leaders=() status=ok
    for i in "${LIVE[@]}"; do
      case $(probe "${SIM_URLS[$i]}/leaderhealth") in
        "200 "*) leaders+=("$i") ;;
        "503 "*) ;;
        *) status=unsettled ;;
      esac
    done
    if [ "$status" = ok ] && [ "${#leaders[@]}" = 1 ]; then
      members=$(zk_children "$ZK_PATH" | grep -c '^member_' || true)
      if [ "$members" = 1 ]; then
        echo "${leaders[0]}"
        return 0
      fi
    fi
    sleep 0.5
  done
  return 1
}

# without INDEX: LIVE without INDEX.
without() {
  local i out=()
  for i in "${LIVE[@]}"; do [ "$i" = "$1" ] || out+=("$i"); done
  LIVE=("${out[@]}")
}

