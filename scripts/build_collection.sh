#!/usr/bin/env bash
# Builds the collection tarball, refusing to when an executable is missing: ansible-galaxy would
# otherwise pack a collection whose modules cannot run anywhere, silently.
# Usage: build_collection.sh ANSIBLE_GALAXY COLLECTION_DIR OUTPUT_DIR PLATFORM...
set -euo pipefail
galaxy=$1 collection=$2 output=$3
shift 3
missing=()
for platform in "$@"; do
  executable=$collection/executables/aurora-ansible-linux-$platform
  # A static ELF executable: no interpreter (PT_INTERP) means no dynamic loader, so no libc needed.
  if [ ! -x "$executable" ]; then
    missing+=("$executable (build it with \`make executables\`)")
  elif ! head -c 4 "$executable" | grep -q ELF || readelf -l "$executable" 2>/dev/null | grep -q "Requesting program interpreter"; then
    missing+=("$executable is not a static ELF executable")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'cannot build the collection:\n' >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
mkdir -p "$output"
"$galaxy" collection build --force --output-path "$output" "$collection"
tarball=$(ls -t "$output"/aurora-scheduler-*.tar.gz | head -1)
contents=$(tar -tzf "$tarball")
for platform in "$@"; do
  grep -qx "executables/aurora-ansible-linux-$platform" <<<"$contents" ||
    { echo "$tarball lacks executables/aurora-ansible-linux-$platform" >&2; exit 1; }
done
echo "$tarball"
