#!/usr/bin/env bash
# make bench: prints the figures design.md sets targets for (benches/figures.rs). Figures, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%dT%H:%MZ)"
cargo bench --locked --bench figures -- "$@"
