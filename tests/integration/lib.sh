# Shared by the targets' run.sh: start aurora-sim on 127.0.0.1 for the duration of the target, and
# run playbooks against it. Source it from the repo root; it stops the simulator on exit.

# Cargo's target directory may be relative to the repo root or absolute.
TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$(pwd)/$TARGET_DIR
AURORA_BIN=${AURORA_BIN:-$TARGET_DIR/release}
export ANSIBLE_CONFIG=$(pwd)/ansible.cfg
# Python modules (command, assert's helpers) run with the venv's interpreter, not a guessed one.
PYTHON=$(command -v python3)

# start_sim ARGS...: starts aurora-sim with ARGS, sets AURORA_URL; stopped when the script exits.
start_sim() {
  # Global, not local: the EXIT trap reads it after this function has returned.
  SIM_LOG=$(mktemp)
  local log=$SIM_LOG
  "$AURORA_BIN/aurora-sim" --listen 127.0.0.1:0 "$@" >"$log" 2>"$log.err" &
  SIM_PID=$!
  trap 'kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; rm -f "$SIM_LOG" "$SIM_LOG.err"' EXIT
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
