"""make bench, fair-share figure: the scheduler calls of one rebalance of 20 batch frameworks by
aurora.scheduler.fair_share (design.md target: reads independent of the number of instances, one
update per changed framework), counted by tests/integration/fault_proxy.py (faults off, no added
latency) between the module and aurora-sim. The same rebalance runs over workers of 2 and of 10
instances each; first without waiting (the decision's calls and the writes), then a rebalance
that shrinks half the frameworks and grows the other half. Calls before the first write are the
decision's reads; those after it, the updates' own settings and the polls that follow updates to
their end (they grow with time, not with instances).

Run by scripts/bench.sh with the venv's python, after `make build venv`. Starts aurora-sim and
the proxy on 127.0.0.1 and stops them on exit. Figures, not pass/fail.
"""

import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_modules import BIN, ROOT, module_run

FRAMEWORKS = 20
ROLES = 4  # the frameworks' workers belong to 4 teams


def start(command):
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = process.stdout.readline().split()
    if not first or not first[0].startswith("http://127.0.0.1:"):
        process.kill()
        sys.exit(f"{command[0]} did not start")
    return process, first[0]


def calls_since_mark(log, label):
    """Calls by Thrift method after the mark `label`: (before the first write, writes, after)."""
    before, writes, after = collections.Counter(), collections.Counter(), collections.Counter()
    counting = False
    with open(log, encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            if "mark" in entry:
                counting = entry["mark"] == label
            elif counting and entry["write"]:
                writes[entry["method"]] += 1
            elif counting:
                (after if writes else before)[entry["method"]] += 1
    return before, writes, after


def mark(url, label):
    subprocess.run([sys.executable, "-c", "import sys, urllib.request; urllib.request.urlopen("
                    "urllib.request.Request(sys.argv[1], method='POST'), timeout=10).read()",
                    f"{url}/__proxy/mark?label={label}"], check=True)


def worker(role, name, instances):
    return {"role": role, "environment": "devel", "name": name, "instances": instances, "wait": True,
            "task": {"processes": [{"name": "work", "cmdline": "sleep 100000"}],
                     "resources": {"cpu": 0.05, "ram": "16MiB", "disk": "16MiB"}}}


def rebalance(work, proxy, log, instances, label, loads):
    frameworks = [{"job": f"team{i % ROLES}/devel/fw{i:02d}-worker", "load": load} for i, load in enumerate(loads)]
    args = {"scheduler_url": proxy, "capacity": {"cpu": 1000}, "frameworks": frameworks,
            "scale_down_window_secs": 0, "scale_down_limit_percent": 100,
            "update": {"batch_size": 5, "watch_secs": 1}}
    mark(proxy, label)
    result, wall, cpu = module_run(work, "fair_share", args)
    before, writes, after = calls_since_mark(log, label)
    changed = sum(row["target"] != row["current"] for row in result["allocation"])
    listed = lambda counts: ", ".join(f"{m} {n}" for m, n in sorted(counts.items())) or "none"
    print(f"  {instances:>2} instances each, {label}: {changed} frameworks changed; "
          f"decision reads {sum(before.values())} ({listed(before)}); writes {listed(writes)}; "
          f"then {sum(after.values())} reads ({listed(after)}); module wall {wall:.2f} s, CPU {cpu * 1000:.0f} ms")


def main():
    print(f"## fair_share: one rebalance of {FRAMEWORKS} frameworks in {ROLES} roles, scheduler calls "
          "(target: reads independent of instances, one update per changed framework)")
    for instances in (2, 10):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            sim, url = start([BIN / "aurora-sim", "--listen", "127.0.0.1:0", "--hosts", "20", "--time-scale", "200"])
            log = work / "proxy.log"
            proxy_process, proxy = start([sys.executable, ROOT / "tests/integration/fault_proxy.py", "serve",
                                          "--upstream", url, "--log", log, "--faults-off",
                                          "--latency-ms", "0", "--max-secs", "600"])
            try:
                for i in range(FRAMEWORKS):
                    module_run(work, "job", dict(worker(f"team{i % ROLES}", f"fw{i:02d}-worker", instances),
                                                 scheduler_url=url))
                # Every framework grows by 2; then half shrink by 2 and half grow by 2.
                rebalance(work, proxy, log, instances, "grow", [instances + 2] * FRAMEWORKS)
                loads = [instances if i % 2 else instances + 4 for i in range(FRAMEWORKS)]
                rebalance(work, proxy, log, instances, "shrink-then-grow", loads)
            finally:
                for process in (proxy_process, sim):
                    process.kill()
                    process.wait()


if __name__ == "__main__":
    main()
