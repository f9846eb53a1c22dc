"""make bench, zero-impact drain figure (issue 14): host_maintenance draining a cluster rack by rack
while services of 1, 2, 3 and 25 instances, a batch framework (single-copy master, 3 workers) and a
cron run are running, with the drain's default SLA (95%, up once RUNNING for 60 s).

Per rack: the drain's time on the simulator's clock (the Date header of its replies), against its
lower bound, the critical path: per job, the instances that must move one after another (those on
the rack over the instances its SLA lets go at once) times one move (reschedule 2 s + start 3 s +
watch 60 s, the simulator's timings and the SLA's duration); efficiency = lower bound / actual. A
make-before-break job can beat its bound: its extra instance lets two go at once. Also the
scheduler calls, which grow with batches, not hosts or tasks.

Run by scripts/bench.sh with the venv's python, after `make build`. Figures, not pass/fail.
"""

import email.utils
import math
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from pathlib import Path

from bench_modules import BIN, module_run

HOSTS = 16
RACKS = 4
TIME_SCALE = 10
MOVE_SECS = 2 + 3 + 60
MASTER = "ml/staging/tuner-master"
TASK = {"processes": [{"name": "serve", "cmdline": "sleep 86400"}],
        "resources": {"cpu": 0.25, "ram": "64MiB", "disk": "64MiB"}}


def scheduler_now(url):
    """The simulator's clock, from the Date header of a reply (whole seconds)."""
    with urllib.request.urlopen(url + "/health", timeout=10) as reply:
        return email.utils.parsedate_to_datetime(reply.headers["Date"]).timestamp()


def job(url, role, env, name, instances, per_host, **extra):
    return dict({"scheduler_url": url, "role": role, "environment": env, "name": name,
                 "instances": instances, "constraints": {"host": f"limit:{per_host}"},
                 "task": TASK, "wait": True}, **extra)


def max_down(instances, service=True):
    """Instances the default SLA lets go at once (95%, relaxed to one), 0 for a lone service."""
    if instances == 1 and service:
        return 0
    return max(1, instances - math.ceil(instances * 0.95 - 1e-9))


def lower_bound(url, work, hosts):
    """Seconds of the critical path of draining `hosts`."""
    listed, _, _ = module_run(work, "host_info", {"scheduler_url": url, "hosts": hosts})
    on_rack = Counter(t["job"] for h in listed["hosts"] for t in h["tasks"])
    steps = 0
    for name, count in on_rack.items():
        if name == MASTER or name.endswith("/nightly"):
            continue  # downtime allowed; a cron run is rerun elsewhere at once
        total = TOTALS[name]
        allowed = max_down(total)
        steps = max(steps, 1 if allowed == 0 else math.ceil(count / allowed))
    return steps * MOVE_SECS, on_rack


TOTALS = {"ml/prod/svc1": 1, "ml/prod/svc2": 2, "ml/prod/svc3": 3, "ml/prod/svc25": 25,
          "ml/staging/tuner-worker": 3}


def main():
    sim = subprocess.Popen(
        [BIN / "aurora-sim", "--listen", "127.0.0.1:0", "--hosts", str(HOSTS), "--racks", str(RACKS),
         "--time-scale", str(TIME_SCALE)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = sim.stdout.readline().strip()
    try:
        if not url.startswith("http://127.0.0.1:"):
            sys.exit(f"aurora-sim did not start (first line: {url!r})")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for n, per_host in ((1, 1), (2, 1), (3, 1), (25, 2)):
                module_run(work, "job", job(url, "ml", "prod", f"svc{n}", n, per_host))
            module_run(work, "job", job(url, "ml", "staging", "tuner-master", 1, 1,
                                        metadata={"single_copy": "true"}))
            module_run(work, "job", job(url, "ml", "staging", "tuner-worker", 3, 1))
            cron = {"scheduler_url": url, "role": "ml", "environment": "prod", "name": "nightly",
                    "cron_schedule": "0 0 1 1 *", "task": TASK}
            module_run(work, "cron_job", dict(cron, state="present"))
            module_run(work, "cron_job", dict(cron, state="started"))
            total_bound = total_actual = 0.0
            for rack in range(1, RACKS + 1):
                hosts = [f"host-{h:03d}" for h in range((rack - 1) * HOSTS // RACKS + 1,
                                                         rack * HOSTS // RACKS + 1)]
                bound, on_rack = lower_bound(url, work, hosts)
                start = scheduler_now(url)
                drained, wall, cpu = module_run(work, "host_maintenance", {
                    "scheduler_url": url, "hosts": hosts, "state": "drained", "group_by": "rack",
                    "allow_downtime": [MASTER], "wait_timeout": 600})
                actual = scheduler_now(url) - start
                module_run(work, "host_maintenance", {"scheduler_url": url, "hosts": hosts,
                                                      "state": "active"})
                total_bound += bound
                total_actual += actual
                print(f"drain of rack r{rack} ({len(hosts)} hosts, {sum(on_rack.values())} tasks): "
                      f"{len(drained['batches'])} batches, {drained['scheduler_calls']} scheduler calls, "
                      f"surged {drained.get('surged', {})}; {actual:.0f} s on the scheduler's clock, "
                      f"lower bound {bound} s, efficiency {bound / max(actual, 1):.2f}; "
                      f"module CPU {cpu * 1000:.0f} ms, wall {wall:.1f} s")
            print(f"zero-impact drain, whole cluster rack by rack: efficiency "
                  f"{total_bound / max(total_actual, 1):.2f} (lower bound {total_bound:.0f} s / actual "
                  f"{total_actual:.0f} s on the scheduler's clock; target at least 0.8)")
    finally:
        sim.kill()
        sim.wait()


if __name__ == "__main__":
    main()
