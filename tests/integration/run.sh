#!/usr/bin/env bash
# Runs every ansible-playbook test: each tests/integration/targets/NAME/run.sh, from the repo root,
# with the venv's ansible on PATH. Prints one closing line "N passed, N failed". The output of a
# failed target is printed again at the end (its last lines), since CI keeps only the end of a log.
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0 failed=0 failures=() timings=()
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for target in tests/integration/targets/*/run.sh; do
  [ -e "$target" ] || continue
  name=$(basename "$(dirname "$target")")
  [ -z "${TARGETS:-}" ] || [[ " $TARGETS " == *" $name "* ]] || continue
  echo "=== $name"
  started=$SECONDS
  if bash "$target" 2>&1 | tee "$logs/$name.log"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)) failures+=("$name")
  fi
  timings+=("$name $((SECONDS - started))s")
done
for name in "${failures[@]}"; do
  echo "=== $name failed; its last lines:"
  tail -n 60 "$logs/$name.log"
done
echo "seconds per target: ${timings[*]}"
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
