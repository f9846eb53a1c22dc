#!/usr/bin/env bash
# Compliance and CI deployments through ansible-playbook against a live aurora-sim.
# The report (playbooks/compliance_report.yml) of a cluster with services, a batch job and a cron
# template across two roles, one job mid-rollout and one without a version: its JSON, CSV and
# HTML agree with each other and with the simulator (check_report.py), for the whole cluster and
# for one role; a policy violation fails the run after writing the files, naming the job, the
# instances and the rule; the HTML page in headless Chromium (browser.sh). Then playbooks/deploy.yml
# as a pipeline runs it (20_deploy.sh): a failing version fails once with the scheduler's reason,
# the re-run is refused without touching the job, retry_failed=true tries again; a re-run while a
# rollout is in flight joins it (the same update, no second one).
set -euo pipefail
source tests/integration/lib.sh
here=tests/integration/targets/compliance
start_sim --hosts 6 --racks 3 --time-scale 200
report=$(mktemp -d)
LIB_FILES+=("$report")
failed=0
report_run() {
  run_playbook playbooks/compliance_report.yml -e "aurora_scheduler_url=$AURORA_URL" "$@"
}

run_playbook "$here/playbooks/10_cluster.yml" || failed=1

echo "--- the report of the whole cluster, compliant"
report_run -e "report_dir=$report/all" -e "policy_file=$PWD/$here/files/policy_ok.yml" >"$report/all.log" ||
  { cat "$report/all.log"; failed=1; }
grep -q '"msg": ".* 0 deviations' "$report/all.log" || { echo "the compliant report names deviations" >&2; cat "$report/all.log"; failed=1; }
"$PYTHON" "$here/check_report.py" "$report/all" "$AURORA_BIN/aurora-ansible" "$AURORA_URL" || failed=1

echo "--- the report of the ml role only"
report_run -e "report_dir=$report/ml" -e "roles=[ml]" >"$report/ml.log" || { cat "$report/ml.log"; failed=1; }
"$PYTHON" "$here/check_report.py" "$report/ml" "$AURORA_BIN/aurora-ansible" "$AURORA_URL" ml || failed=1

echo "--- a policy violation fails the run, after writing the files, naming job, instances and rule"
if report_run -e "report_dir=$report/violated" -e "policy_file=$PWD/$here/files/policy_violated.yml" >"$report/violated.log"; then
  echo "the run passed although the policy is violated" >&2
  failed=1
fi
for expected in 'policy violated' 'fraud/prod/api instances [0-9,]+ \(2\.0\.0\): denied_version \[projects\.api\.denied\[0\]\] CVE-2026-4242' \
  'ml/devel/notebook instances 0 \(unknown\): unknown_version'; do
  grep -Eq "$expected" "$report/violated.log" || { echo "the failure does not say: $expected" >&2; failed=1; }
done
"$PYTHON" - "$report/violated/software-inventory.json" <<'PY' || failed=1
import json, sys
jobs = {j["job"]: j for j in json.load(open(sys.argv[1]))}
api = jobs["fraud/prod/api"]
old = sorted(i["id"] for i in api["instances"] if i["version"] == "2.0.0")
rules = [(d["rule"], d["instances"]) for d in api["deviations"]]
assert rules == [("denied_version", old)], rules
assert [d["rule"] for d in jobs["ml/devel/notebook"]["deviations"]] == ["unknown_version"]
assert not jobs["ml/prod/scorer"]["deviations"]
print("violations written to the JSON file:", len(api["deviations"]) + 1)
PY
"$PYTHON" "$here/check_report.py" "$report/violated" "$AURORA_BIN/aurora-ansible" "$AURORA_URL" || failed=1

echo "--- the HTML page in headless Chromium"
rows=$("$PYTHON" -c 'import json, sys; jobs = json.load(open(sys.argv[1])); print(sum(len(j["instances"]) + (1 if j["template"] else 0) for j in jobs))' "$report/all/software-inventory.json")
bash "$here/browser.sh" "$report/all/software-inventory.html" "$rows" || failed=1

echo "--- CI deployments"
bash "$here/20_deploy.sh" || failed=1
exit $failed
