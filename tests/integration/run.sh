#!/usr/bin/env bash
# Runs every ansible-playbook test: each tests/integration/targets/NAME/run.sh, from the repo root,
# with the venv's ansible on PATH. Prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0 failed=0 failures=() timings=()
for target in tests/integration/targets/*/run.sh; do
  [ -e "$target" ] || continue
  name=$(basename "$(dirname "$target")")
  echo "=== $name"
  started=$SECONDS
  if bash "$target"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
  timings+=("$name $((SECONDS - started))s")
done
echo "seconds per target: ${timings[*]}"
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
