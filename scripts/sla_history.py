"""From the simulator's task history: the fewest RUNNING instances each job had at once, once it was
first fully running, against its SLA. Used by the drain tests and by the demo.

Reads a getTasksWithoutConfigs response (JSON, every status) on stdin. With arguments
ROLE/ENV/NAME=MIN_RUNNING:INSTANCES, checks those jobs, and that the drains really moved their
instances. Without, reports every service (a batch or cron run is rerun elsewhere), its instances
being those RUNNING now and its minimum host_maintenance's default SLA (95%, relaxed to one
instance down; a lone instance never down), except the jobs named with --allow (their downtime was
accepted). Exits 1 naming the job and the moment its SLA was broken.
"""

import json
import math
import sys
from collections import defaultdict


def default_min_running(instances):
    """What host_maintenance's default SLA keeps running (safety.rs, max_down)."""
    if instances <= 1:
        return instances
    return instances - max(1, instances - math.ceil(instances * 0.95 - 1e-9))


def running_timeline(tasks):
    """(timestamp, +1/-1) steps of the job's RUNNING instance count, in time order."""
    steps = []
    for task in tasks:
        events = sorted(task.get("taskEvents", []), key=lambda e: e["timestamp"])
        up_since = None
        for event in events:
            if event["status"] == "RUNNING" and up_since is None:
                up_since = event["timestamp"]
                steps.append((event["timestamp"], +1))
            elif event["status"] != "RUNNING" and up_since is not None:
                up_since = None
                steps.append((event["timestamp"], -1))
    # At equal timestamps a start counts before an end: the scheduler only drains an instance once
    # its replacement (or another instance) counted, so a tie is not a dip.
    return sorted(steps, key=lambda s: (s[0], -s[1]))


def check(tasks_by_job, job, min_running, instances, must_move=True):
    count = 0
    fully_running_at = None
    lowest = None
    lowest_at = None
    for timestamp, step in running_timeline(tasks_by_job.get(job, [])):
        count += step
        if fully_running_at is None:
            if count >= instances:
                fully_running_at = timestamp
            continue
        if lowest is None or count < lowest:
            lowest, lowest_at = count, timestamp
    moved = sum(1 for t in tasks_by_job.get(job, []) if t["status"] in ("KILLED", "KILLING", "LOST"))
    if fully_running_at is None:
        return "%s never had its %d instances running" % (job, instances)
    if lowest is not None and lowest < min_running:
        return "%s had %d instances running at %d ms, below its SLA of %d" % (job, lowest, lowest_at, min_running)
    if must_move and moved == 0:
        return "%s: no instance was ever drained, so the test proved nothing" % job
    print("%s: at least %d of %d instances running throughout (SLA %d); %d instances moved"
          % (job, lowest if lowest is not None else instances, instances, min_running, moved))
    return None


def main():
    response = json.load(sys.stdin)
    tasks_by_job = defaultdict(list)
    for task in response["result"]["scheduleStatusResult"]["tasks"]:
        key = task["assignedTask"]["task"]["job"]
        tasks_by_job["%s/%s/%s" % (key["role"], key["environment"], key["name"])].append(task)
    args = sys.argv[1:]
    allowed = {args[i + 1] for i, a in enumerate(args) if a == "--allow" and i + 1 < len(args)}
    specs = [a for i, a in enumerate(args) if a != "--allow" and (i == 0 or args[i - 1] != "--allow")]
    checks = []
    for spec in specs:
        job, rule = spec.split("=")
        min_running, instances = (int(n) for n in rule.split(":"))
        checks.append((job, min_running, instances, True))
    if not specs:
        for job, tasks in sorted(tasks_by_job.items()):
            running = {t["assignedTask"]["instanceId"] for t in tasks if t["status"] == "RUNNING"}
            service = any(t["assignedTask"]["task"].get("isService") for t in tasks)
            if job in allowed or not service or not running:
                continue
            checks.append((job, default_min_running(len(running)), len(running), False))
    errors = []
    for job, min_running, instances, must_move in checks:
        error = check(tasks_by_job, job, min_running, instances, must_move)
        if error:
            errors.append(error)
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
