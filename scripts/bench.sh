#!/usr/bin/env bash
# make bench: prints the figures design.md sets targets for: the codec, the simulator and the
# fair-share allocation (benches/figures.rs), then the modules (scripts/bench_modules.py), job_info
# over a large cluster (scripts/bench_job_info.py), the scheduler calls of a rebalance
# (scripts/bench_fair_share.py), the compliance report over 5,000 jobs
# (scripts/bench_compliance.py), a zero-impact drain rack by rack against its lower bound
# (scripts/bench_drain.py) and aurora-sim's memory under a body made to expand
# (scripts/bench_sim_amplification.py). Figures, not tests.
# Arguments name figure groups of benches/figures.rs (codec, sim, fair_share); with any, the
# modules are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%dT%H:%MZ)"
cargo bench --locked --bench figures -- "$@"
if [ $# -eq 0 ]; then
  .venv/bin/python3 scripts/bench_modules.py
  .venv/bin/python3 scripts/bench_job_info.py
  .venv/bin/python3 scripts/bench_fair_share.py
  .venv/bin/python3 scripts/bench_compliance.py
  .venv/bin/python3 scripts/bench_drain.py
  .venv/bin/python3 scripts/bench_sim_amplification.py
fi
