#!/usr/bin/env bash
# The collection as users get it: the tarball `make collection` builds (refused without an
# executable for every platform), installed with ansible-galaxy into an empty collections path and
# used from an unrelated directory, with no repository file in reach. Checked: ansible-doc lists
# every module, role and the inventory plugin, with docs for each; a role and the playbook
# aurora.scheduler.host_maintenance run from the installed copy against aurora-sim, twice (the
# second unchanged); a task under become takes ansible-core's copy-and-run path with the
# executable for the host's platform; the static executables are what they claim, and the
# aarch64 one answers a module request against aurora-sim under qemu-user.
set -euo pipefail
source tests/integration/lib.sh
REPO=$(pwd)
TARGET=$REPO/tests/integration/targets/collection
COLLECTION=$REPO/ansible_collections/aurora/scheduler
WORK=$(mktemp -d)
LIB_FILES+=("$WORK")
fail() { echo "FAILED: $*" >&2; exit 1; }

echo "--- ansible-doc lists every module from the repository itself"
expected_modules=$(cd "$COLLECTION/plugins/modules" && ls *.py | sed 's/\.py$//' | sort)
[ "$(echo "$expected_modules" | wc -l)" -ge 11 ] || fail "fewer module docs than expected in the repository"
listed=$(ansible-doc -l aurora.scheduler 2>"$WORK/repo-doc.err" | awk '{print $1}' | sed 's/^aurora\.scheduler\.//' | sort)
[ "$listed" = "$expected_modules" ] || fail "ansible-doc -l in the repository lists:\n$listed\n$(cat "$WORK/repo-doc.err")"

echo "--- the build refuses a collection without an executable for every platform"
if scripts/build_collection.sh "$(command -v ansible-galaxy)" "$COLLECTION" "$WORK/refused" x86_64 riscv64 2>"$WORK/refused.err"; then
  fail "build_collection.sh built a collection without a riscv64 executable"
fi
grep -q "executables/aurora-ansible-linux-riscv64 (build it with \`make executables\`)" "$WORK/refused.err" ||
  fail "the refusal does not name the missing executable: $(cat "$WORK/refused.err")"
[ ! -e "$WORK/refused" ] || [ -z "$(ls "$WORK/refused")" ] || fail "a tarball was written anyway"

# From here on, only the installed copy: its own ansible.cfg (not the repository's), and below
# an empty working directory.
cat >"$WORK/ansible.cfg" <<CFG
[defaults]
collections_path = $WORK/collections
collections_scan_sys_path = False
roles_path = $WORK/no-roles
interpreter_python = $PYTHON
retry_files_enabled = False
CFG
export ANSIBLE_CONFIG=$WORK/ansible.cfg
echo "--- build and install the tarball"
tarball=$(scripts/build_collection.sh "$(command -v ansible-galaxy)" "$COLLECTION" "$WORK/build" x86_64 aarch64 | tail -1)
ansible-galaxy collection install --force "$tarball" -p "$WORK/collections" >/dev/null
INSTALLED=$WORK/collections/ansible_collections/aurora/scheduler
[ -x "$INSTALLED/executables/aurora-ansible-linux-x86_64" ] || fail "the installed collection has no x86_64 executable"
[ -f "$INSTALLED/playbooks/host_maintenance.yml" ] || fail "the installed collection has no playbooks"
[ -f "$INSTALLED/LICENSE" ] || fail "the installed collection has no LICENSE"

mkdir "$WORK/cwd"
cd "$WORK/cwd"

echo "--- ansible-doc finds every module, role and plugin of the installed copy"
listed=$(ansible-doc -l aurora.scheduler 2>"$WORK/doc.err" | awk '{print $1}' | sed 's/^aurora\.scheduler\.//' | sort)
[ "$listed" = "$expected_modules" ] || fail "ansible-doc -l lists:\n$listed\nexpected:\n$expected_modules\n$(cat "$WORK/doc.err")"
! grep -q "WARNING" "$WORK/doc.err" || fail "ansible-doc -l warned: $(cat "$WORK/doc.err")"
ansible-doc --metadata-dump aurora.scheduler >"$WORK/dump.json" 2>/dev/null
"$PYTHON" - "$WORK/dump.json" "$INSTALLED" $expected_modules <<'PY'
import json, sys
dump, installed, modules = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3:]
docs = dump["all"]["module"]
for name in modules:
    entry = docs.get("aurora.scheduler." + name) or {}
    doc = entry.get("doc") or {}
    assert doc.get("module") == name and doc.get("options"), "no docs for %s: %s" % (name, entry)
    assert entry.get("examples") and entry.get("return") is not None, "no examples/return for %s" % name
    assert doc["filename"].startswith(installed), doc["filename"]
assert set(dump["all"]["role"]) >= {"aurora.scheduler.aurora_service", "aurora.scheduler.aurora_cron",
    "aurora.scheduler.aurora_batch_framework", "aurora.scheduler.aurora_host_maintenance"}, dump["all"]["role"].keys()
assert "aurora.scheduler.aurora" in dump["all"]["inventory"], dump["all"]["inventory"].keys()
print("metadata dump: %d modules with docs, 4 roles, the inventory plugin" % len(modules))
PY
ansible-doc aurora.scheduler.job | grep -q "aurora.scheduler.job" || fail "ansible-doc aurora.scheduler.job shows no page"

echo "--- which executable runs where (plugin_utils/executable.py, the installed copy)"
PYTHONPATH=$WORK/collections "$PYTHON" - <<'PY'
from ansible.errors import AnsibleActionFail
from ansible_collections.aurora.scheduler.plugins.plugin_utils import executable as e
table = [("Linux", "x86_64", "aurora-ansible-linux-x86_64"), ("Linux", "amd64", "aurora-ansible-linux-x86_64"),
         ("Linux", "aarch64", "aurora-ansible-linux-aarch64"), ("linux", "arm64", "aurora-ansible-linux-aarch64"),
         ("Darwin", "arm64", None), ("Linux", "ppc64le", None), ("FreeBSD", "amd64", None)]
for system, machine, name in table:
    assert e.executable_name(system, machine) == name, (system, machine, e.executable_name(system, machine))
try:
    e.executable_path("Darwin", "arm64", "host mac-1")
    raise SystemExit("no error for a macOS host")
except AnsibleActionFail as error:
    message = str(error)
    assert "host mac-1, which is Darwin arm64" in message and "Linux on x86_64 and aarch64" in message, message
    assert "aurora-ansible-linux-aarch64, aurora-ansible-linux-x86_64" in message, message
print("platform table: %d cases; an unsupported host is named with what to do" % len(table))
PY

echo "--- a data scientist's role from the installed copy, twice"
start_sim --hosts 4 --racks 2 --time-scale 60 --host-maintenance-polling-interval 10s
export AURORA_SCHEDULER_URL=$AURORA_URL
for round in first second; do
  timeout 600 ansible-playbook -i localhost, -c local "$TARGET/service.yml" | tee "$WORK/service-$round.log"
done
grep -q "localhost *: ok=[0-9]* *changed=[1-9]" "$WORK/service-first.log" || fail "the first run changed nothing"
grep -q "localhost *: ok=[0-9]* *changed=0 " "$WORK/service-second.log" || fail "the second run changed something"
echo "--- on the controller the executable runs in place: no copy, no temporary directory on the target"
timeout 300 ansible-playbook -vvv -i localhost, -c local "$TARGET/service.yml" >"$WORK/in-place.log" 2>&1 ||
  { tail -40 "$WORK/in-place.log"; fail "the -vvv run failed"; }
grep -q "Running $INSTALLED/executables/aurora-ansible-linux-.* in place for aurora.scheduler.platform" "$WORK/in-place.log" ||
  fail "the executable did not run in place: $(grep -E 'PUT|EXEC|Running' "$WORK/in-place.log" | head)"
! grep -q "PUT .*aurora-ansible-linux" "$WORK/in-place.log" || fail "the executable was copied on the controller"
"$AURORA_BIN/aurora-ansible" --scheduler-url "$AURORA_URL" --output json tasks ml/devel/scorer |
  "$PYTHON" -c 'import json,sys; t=[x for x in json.load(sys.stdin) if x["status"] in ("RUNNING","STARTING","ASSIGNED","PENDING")]; assert len(t)==2, t; print("scorer: 2 active instances")'

echo "--- a task's environment reaches the executable run in place"
env -u AURORA_SCHEDULER_URL timeout 300 ansible-playbook -i localhost, -c local "$TARGET/environment.yml" \
  -e "scheduler_url_from_environment=$AURORA_URL" || fail "the task's environment did not reach the executable"

echo "--- the same task under become: copied to a temporary directory and run there"
# The data scientist's playbook itself, with become set from the command line.
timeout 300 ansible-playbook -vvv -i localhost, -c local "$TARGET/service.yml" -e ansible_become=true \
  -e ansible_become_method=ansible.builtin.su -e ansible_become_user=root >"$WORK/become.log" 2>&1 ||
  { tail -40 "$WORK/become.log"; fail "the become run failed"; }
grep -q "PUT .*/executables/aurora-ansible-linux-$(uname -m | sed s/arm64/aarch64/) TO .*AnsiballZ_aurora-ansible-linux-" "$WORK/become.log" ||
  fail "under become the executable was not copied: $(grep -E 'PUT|EXEC' "$WORK/become.log" | head)"
grep -q "localhost *: ok=[0-9]* *changed=0 " "$WORK/become.log" || fail "under become the role was not unchanged"

echo "--- the operator's playbook aurora.scheduler.host_maintenance from the installed copy"
cat >"$WORK/sim.aurora.yml" <<YAML
plugin: aurora.scheduler.aurora
compose:
  ansible_connection: "'local'"
  ansible_python_interpreter: "'$PYTHON'"
YAML
for round in first second; do
  timeout 600 ansible-playbook -i "$WORK/sim.aurora.yml" aurora.scheduler.host_maintenance -l host-001 \
    -e aurora_host_maintenance_tasks_file="$TARGET/kernel_update.yml" -e "marker_dir=$WORK" \
    -e "@$TARGET/maintenance_vars.yml" | tee "$WORK/maintenance-$round.log"
done
grep -q "^host-001 *: ok=[0-9]* *changed=[1-9]" "$WORK/maintenance-first.log" || fail "the drain changed nothing"
grep -q "^host-001 *: ok=[0-9]* *changed=0 " "$WORK/maintenance-second.log" || fail "the second drain changed something"
[ -e "$WORK/host-001.maintained" ] || fail "the operator's task did not run on host-001"
[ "$(hosts_in_maintenance)" = "[]" ] || fail "hosts left in maintenance: $(hosts_in_maintenance)"
cd "$REPO"

echo "--- the static executables"
for platform in x86_64 aarch64; do
  executable=$INSTALLED/executables/aurora-ansible-linux-$platform
  description=$(readelf -h -l "$executable")
  ! grep -q "Requesting program interpreter" <<<"$description" || fail "$platform: dynamically linked"
  want=$([ $platform = x86_64 ] && echo "X86-64" || echo "AArch64")
  grep -q "Machine: *.*$want" <<<"$description" || fail "$platform: not a $want executable"
  echo "$platform: static, $(stat -c %s "$executable") bytes"
done
if command -v qemu-aarch64 >/dev/null; then
  printf '{"_ansible_module_name": "aurora.scheduler.job_info", "_ansible_check_mode": false, "scheduler_url": "%s", "role": "ml"}' \
    "$AURORA_URL" >"$WORK/args.json"
  qemu-aarch64 "$INSTALLED/executables/aurora-ansible-linux-aarch64" "$WORK/args.json" >"$WORK/aarch64.json"
  "$PYTHON" - "$WORK/aarch64.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
assert not result.get("failed"), result
names = sorted(job["name"] for job in result["jobs"])
assert "scorer" in names, names
print("aarch64 executable under qemu-user: job_info found", names)
PY
else
  echo "SKIPPED: the aarch64 executable's run (no qemu-aarch64; make qemu installs Debian's qemu-user)"
fi
