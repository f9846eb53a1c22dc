#!/usr/bin/env bash
# Security end to end, against aurora-sim with basic auth (--users): passwords given as a module
# option, as environment variables and inside scheduler_url / AURORA_SCHEDULER_URL, through
# ansible-playbook at -vvvv, the inventory plugin (ansible-inventory -vvvv) and the CLI. Every
# secret must be used (a write succeeds) or refused clearly, and appear nowhere: not in the
# whole output, the registered results, the simulator's log, nor the TLS fronts' logs, neither as
# itself nor as the base64 of an Authorization header. Also which setting wins (a cluster given in
# the task over AURORA_SCHEDULER_URL), TLS through a front with a self-signed certificate, and a
# front redirecting https to plain http. Prints the number of checks of each kind.
set -euo pipefail
source tests/integration/lib.sh
TARGET=tests/integration/targets/security
WORK=$(mktemp -d)
FRONT_PIDS=()

# One secret per way of giving a password; the users file accepts the first two.
PW_OPTION="opt-Pw-$RANDOM$RANDOM"
PW_ENV="env-Pw-$RANDOM$RANDOM"
PW_WRONG="wrong-Pw-$RANDOM$RANDOM"
PW_IN_URL="url-Pw-$RANDOM$RANDOM"
PW_ENV_URL="envurl-Pw-$RANDOM$RANDOM"
PW_INV_URL="invurl-Pw-$RANDOM$RANDOM"
PW_INV_WRONG="invwrong-Pw-$RANDOM$RANDOM"
PW_CLI_WRONG="cliwrong-Pw-$RANDOM$RANDOM"
PW_CLI_URL="cliurl-Pw-$RANDOM$RANDOM"
SECRETS=("$PW_OPTION" "$PW_ENV" "$PW_WRONG" "$PW_IN_URL" "$PW_ENV_URL" "$PW_INV_URL" "$PW_INV_WRONG" "$PW_CLI_WRONG" "$PW_CLI_URL")
# What an Authorization header would carry for each.
for pair in "optuser:$PW_OPTION" "envuser:$PW_ENV" "optuser:$PW_WRONG" "optuser:$PW_IN_URL" \
  "optuser:$PW_ENV_URL" "optuser:$PW_INV_URL" "optuser:$PW_INV_WRONG" "optuser:$PW_CLI_WRONG" "optuser:$PW_CLI_URL"; do
  SECRETS+=("$(printf %s "$pair" | base64 -w0)")
done

printf '[users]\noptuser = %s, admin\nenvuser = %s, admin\n[roles]\nadmin = *\n' "$PW_OPTION" "$PW_ENV" >"$WORK/users.ini"
start_sim --hosts 2 --racks 1 --time-scale 100 --users "$WORK/users.ini"
cleanup() {
  for pid in "${FRONT_PIDS[@]}" "$SIM_PID"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${FRONT_PIDS[@]}" "$SIM_PID"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK" "$SIM_LOG" "$SIM_LOG.err"
}
trap cleanup EXIT
AUTHORITY=${AURORA_URL#http://}
AUTHORITY=${AUTHORITY%/}
DEAD_URL=http://127.0.0.1:9
printf '[{"name": "sim", "scheduler_uri": "%s"}]\n' "$AURORA_URL" >"$WORK/clusters.json"
export AURORA_CONFIG_ROOT=$WORK HOME=$WORK ANSIBLE_HOME=$WORK/.ansible ANSIBLE_LOCAL_TEMP=$WORK/.ansible/tmp
printf 'pw_option: "%s"\npw_wrong: "%s"\npw_in_url: "%s"\n' "$PW_OPTION" "$PW_WRONG" "$PW_IN_URL" >"$WORK/secrets.yml"

fail() { echo "FAILED: $*" >&2; exit 1; }
checks_redirect=0 checks_tls=0 checks_precedence=0

# start_front MODE ARGS...: a tls_front.py on 127.0.0.1; sets FRONT_URL.
start_front() {
  local out=$WORK/front.$RANDOM
  python3 "$TARGET/tls_front.py" "$@" >"$out" 2>"$out.err" &
  FRONT_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
  FRONT_URL=$(head -n1 "$out")
  [ -n "$FRONT_URL" ] || { cat "$out.err" >&2; fail "tls_front.py $1 did not start"; }
}

echo "--- modules at -vvvv: passwords as option, environment and in URLs; which setting wins"
if ! AURORA_USERNAME=envuser AURORA_PASSWORD=$PW_ENV \
  AURORA_SCHEDULER_URL="http://optuser:$PW_ENV_URL@$AUTHORITY" \
  run_playbook "$TARGET/secrets_and_precedence.yml" -vvvv -e "@$WORK/secrets.yml" \
    -e "aurora_authority=$AUTHORITY" -e "results_file=$WORK/results.json" >"$WORK/play.log" 2>&1; then
  tail -n 80 "$WORK/play.log"
  fail "secrets_and_precedence.yml"
fi
checks_precedence=$((checks_precedence + 5))
quota_cpu() {
  "$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json call getQuota --json "{\"ownerRole\": \"$1\"}" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]["getQuotaResult"]["quota"]["resources"]; print(int(sum(x.get("numCpus", 0) for x in r)))'
}
for role in sec-option sec-env sec-defaults; do
  [ "$(quota_cpu $role)" = 1 ] || fail "the quota of $role was not set"
done
for role in sec-wrong sec-url sec-env-url; do
  [ "$(quota_cpu $role)" = 0 ] || fail "the quota of $role was set: $(quota_cpu $role)"
done

echo "--- modules through TLS fronts: self-signed certificate in ca_path, https redirecting to http"
start_front sink "$WORK/sink.log"
SINK_URL=$FRONT_URL
start_front proxy tests/fixtures/tls/self-signed.pem tests/fixtures/tls/self-signed.key "$AURORA_URL" "$WORK/self.log"
SELF_URL=$FRONT_URL
start_front redirect tests/fixtures/tls/server.pem tests/fixtures/tls/server.key "$SINK_URL/api" "$WORK/redirect.log"
REDIRECT_URL=$FRONT_URL
if ! run_playbook "$TARGET/tls.yml" -vvvv -e "@$WORK/secrets.yml" -e "self_signed_url=$SELF_URL" \
  -e "redirect_url=$REDIRECT_URL" -e "results_file=$WORK/tls-results.json" >"$WORK/tls.log" 2>&1; then
  tail -n 80 "$WORK/tls.log"
  fail "tls.yml"
fi
[ "$(grep -c 'handshake failed' "$WORK/self.log")" -eq 1 ] || { cat "$WORK/self.log"; fail "a refused certificate was tried more than once"; }
grep -q 'POST /api authorization=yes' "$WORK/self.log" || fail "the write did not go through the self-signed front"
[ ! -s "$WORK/sink.log" ] || { cat "$WORK/sink.log"; fail "something reached the plain http side of the redirect"; }
[ "$(grep -c 'POST /api authorization=yes' "$WORK/redirect.log")" -eq 1 ] || { cat "$WORK/redirect.log"; fail "the redirecting front did not get exactly one call"; }
checks_tls=$((checks_tls + 4))
checks_redirect=$((checks_redirect + 3))

echo "--- the inventory plugin at -vvvv"
inventory() { # NAME YAML [ENV...]: ansible-inventory on a file; output in $WORK/inv-NAME.log
  local name=$1 yaml=$2
  shift 2
  printf '%s\n' "plugin: aurora.scheduler.aurora" "$yaml" >"$WORK/$name.aurora.yml"
  env "$@" ANSIBLE_INVENTORY_UNPARSED_FAILED=true timeout 120 ansible-inventory -vvvv -i "$WORK/$name.aurora.yml" --list \
    >"$WORK/inv-$name.log" 2>&1
}
inventory option "$(printf 'scheduler_url: %s\nusername: optuser\npassword: "%s"' "$AURORA_URL" "$PW_OPTION")" ||
  { tail -n 40 "$WORK/inv-option.log"; fail "inventory with the password as an option"; }
grep -q '"host-001"' "$WORK/inv-option.log" || fail "inventory with the password as an option lists no host"
inventory env "$(printf 'scheduler_url: %s' "$AURORA_URL")" AURORA_USERNAME=optuser AURORA_PASSWORD="$PW_INV_WRONG" &&
  fail "inventory with a wrong password from the environment must fail"
grep -q 'credentials of user \\\?"optuser\\\?" were refused' "$WORK/inv-env.log" || { tail -n 20 "$WORK/inv-env.log"; fail "unclear inventory error for a wrong password"; }
inventory url "$(printf 'scheduler_url: http://optuser:%s@%s' "$PW_INV_URL" "$AUTHORITY")" &&
  fail "inventory with a password in scheduler_url must fail"
grep -q 'carries credentials' "$WORK/inv-url.log" || { tail -n 20 "$WORK/inv-url.log"; fail "unclear inventory error for a password in the URL"; }
inventory cluster "cluster: sim" AURORA_SCHEDULER_URL=$DEAD_URL ||
  { tail -n 40 "$WORK/inv-cluster.log"; fail "inventory: cluster in the file must win over AURORA_SCHEDULER_URL"; }
grep -q '"host-001"' "$WORK/inv-cluster.log" || fail "inventory by cluster lists no host"
inventory both "$(printf 'cluster: sim\nscheduler_url: %s' "$AURORA_URL")" && fail "inventory with scheduler_url and cluster must fail"
grep -q 'mutually exclusive' "$WORK/inv-both.log" || { tail -n 20 "$WORK/inv-both.log"; fail "unclear inventory error for scheduler_url with cluster"; }
checks_precedence=$((checks_precedence + 2))

echo "--- the CLI"
cli() { # NAME EXPECTED_STATUS ARGS...: output in $WORK/cli-NAME.log
  local name=$1 want=$2 status=0
  shift 2
  "$AURORA_BIN/aurora-ansible" "$@" >"$WORK/cli-$name.log" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { cat "$WORK/cli-$name.log"; fail "CLI $name exited $status, not $want"; }
}
set_quota=(call setQuota --json '{"ownerRole": "sec-cli", "quota": {"resources": [{"numCpus": 1}, {"ramMb": 64}, {"diskMb": 64}]}}')
cli option 0 --scheduler-url "$AURORA_URL" --username optuser --password "$PW_OPTION" "${set_quota[@]}"
cli wrong 3 --scheduler-url "$AURORA_URL" --username optuser --password "$PW_CLI_WRONG" "${set_quota[@]}"
AURORA_USERNAME=optuser AURORA_PASSWORD=$PW_CLI_WRONG cli env 3 --scheduler-url "$AURORA_URL" "${set_quota[@]}"
cli url 4 --scheduler-url "http://optuser:$PW_CLI_URL@$AUTHORITY" "${set_quota[@]}"
grep -q 'carries credentials' "$WORK/cli-url.log" || fail "unclear CLI error for a password in the URL"
AURORA_SCHEDULER_URL=$DEAD_URL cli cluster 0 --cluster sim --output json jobs
checks_precedence=$((checks_precedence + 1))

echo "--- every secret in every output"
outputs=("$WORK/play.log" "$WORK/results.json" "$WORK/tls.log" "$WORK/tls-results.json" "$SIM_LOG" "$SIM_LOG.err"
  "$WORK/self.log" "$WORK/redirect.log" "$WORK/sink.log" "$WORK"/inv-*.log "$WORK"/cli-*.log)
# The searches are meaningful only if the secrets were given: each password is in the inputs.
for secret in "$PW_OPTION" "$PW_WRONG" "$PW_IN_URL"; do grep -q -- "$secret" "$WORK/secrets.yml" || fail "setup"; done
grep -q -- "$PW_OPTION" "$WORK/users.ini" || fail "setup"
secret_checks=0
for secret in "${SECRETS[@]}"; do
  for output in "${outputs[@]}"; do
    [ -e "$output" ] || fail "missing output $output"
    if grep -q -F -- "$secret" "$output"; then
      grep -n -F -- "$secret" "$output" | head -n 3 | sed "s/$secret/<SECRET>/g" >&2
      fail "a secret appears in $(basename "$output")"
    fi
    secret_checks=$((secret_checks + 1))
  done
done
grep -q 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' "$WORK/play.log" || fail "-vvvv output shows no masked password"
grep -q -F '"scheduler_url": "http://optuser:********@' "$WORK/play.log" || fail "-vvvv output shows no invocation with the URL password masked"

echo "security: $secret_checks secret checks (${#SECRETS[@]} secrets x ${#outputs[@]} outputs), $checks_tls TLS checks, $checks_redirect redirect checks, $checks_precedence precedence checks: passed"
