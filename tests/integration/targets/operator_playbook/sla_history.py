"""Checks from the simulator's task history that no job ever had fewer RUNNING instances than its
SLA allows, once it was first fully running, and that the drains really moved its instances.

Reads a getTasksWithoutConfigs response (JSON, every status) on stdin; arguments are
ROLE/ENV/NAME=MIN_RUNNING:INSTANCES for each job to check. Exits 1 naming the job and the moment
its SLA was broken.
"""

import json
import sys
from collections import defaultdict


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


def check(tasks_by_job, job, min_running, instances):
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
    if moved == 0:
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
    errors = []
    for spec in sys.argv[1:]:
        job, rule = spec.split("=")
        min_running, instances = (int(n) for n in rule.split(":"))
        error = check(tasks_by_job, job, min_running, instances)
        if error:
            errors.append(error)
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
