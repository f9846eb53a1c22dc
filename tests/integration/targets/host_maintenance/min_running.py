"""Reads `aurora-ansible --output json call getTasksStatus` on stdin and prints the fewest RUNNING
instances of the job at any moment after all of them first ran: the SLA a drain must keep."""
import json
import sys

tasks = json.load(sys.stdin)["result"]["scheduleStatusResult"]["tasks"]
changes = []  # (timestamp, +1 when a task starts RUNNING, -1 when it stops)
for task in tasks:
    running = False
    for event in task.get("taskEvents", []):
        now_running = event.get("status") == "RUNNING"
        if now_running != running:
            changes.append((event["timestamp"], 1 if now_running else -1))
            running = now_running
instances = len({t["assignedTask"]["instanceId"] for t in tasks})
changes.sort()
count, fewest, full = 0, None, False
for _, delta in changes:
    count += delta
    full = full or count >= instances
    if full:
        fewest = count if fewest is None else min(fewest, count)
print(fewest if fewest is not None else 0)
