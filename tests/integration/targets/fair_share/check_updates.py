#!/usr/bin/env python3
"""Checks the updates one aurora.scheduler.fair_share run made, as the scheduler recorded them.

    check_updates.py RESULT_JSON AURORA_CLI SCHEDULER_URL BATCH_SIZE

For each framework whose count changed (the result's allocation rows with an `update`): the
update rolled forward; it is tagged with the count and with the decision (who decided, the
figures); it rolled out with the job's batch size, and never had more than that many instances
in flight at once (from the update's instance events); and every shrinking framework's update
ended before the first growing framework's began. Prints one line of figures; exits 1 naming
what is wrong.
"""

import json
import subprocess
import sys

DECISION_KEY = "org.apache.aurora.ansible.fair_share"
COUNT_KEY = "org.apache.aurora.ansible.instance_count"


def details(cli, url, job, update_id):
    role, environment, name = job.split("/")
    query = {"query": {"key": {"job": {"role": role, "environment": environment, "name": name},
                               "id": update_id}}}
    out = subprocess.run([cli, "--scheduler-url", url, "--output", "json", "call", "getJobUpdateDetails",
                          "--json", json.dumps(query)], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)["result"]["getJobUpdateDetailsResult"]["detailsList"][0]


def most_in_flight(instance_events):
    """The most instances the update worked on at the same time: each instance is in flight from
    its first event to its last (one that ends as another begins is not counted twice)."""
    spans = {}
    for event in instance_events:
        first, last = spans.get(event["instanceId"], (event["timestampMs"], event["timestampMs"]))
        spans[event["instanceId"]] = (min(first, event["timestampMs"]), max(last, event["timestampMs"]))
    points = sorted([(first, 1) for first, _ in spans.values()] + [(last, -1) for _, last in spans.values()],
                    key=lambda p: (p[0], p[1]))
    most = current = 0
    for _, step in points:
        current += step
        most = max(most, current)
    return most


def main():
    result_file, cli, url, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    result = json.load(open(result_file, encoding="utf-8"))
    problems, shrink_ends, grow_starts, in_flight = [], [], [], {}
    for row in result["allocation"]:
        if "update" not in row:
            continue
        job, target = row["job"], row["target"]
        found = details(cli, url, job, row["update"]["id"])
        summary = found["update"]["summary"]
        state = summary["state"]
        tags = {m["key"]: m["value"] for m in summary.get("metadata", [])}
        decision = json.loads(tags.get(DECISION_KEY, "{}"))
        settings = found["update"]["instructions"]["settings"]
        if state["status"] != "ROLLED_FORWARD":
            problems.append(f"{job}: update {state['status']}")
        if tags.get(COUNT_KEY) != str(target) or decision.get("target") != target:
            problems.append(f"{job}: update tagged {tags}, not with the target {target}")
        if not str(decision.get("decided_by", "")).startswith("aurora.scheduler.fair_share"):
            problems.append(f"{job}: the decision does not say who made it: {decision}")
        if settings["updateGroupSize"] != batch:
            problems.append(f"{job}: rolled out in groups of {settings['updateGroupSize']}, not {batch}")
        in_flight[job] = most_in_flight(found.get("instanceEvents", []))
        if in_flight[job] > batch:
            problems.append(f"{job}: {in_flight[job]} instances in flight at once, more than {batch}")
        if row["target"] < row["current"]:
            shrink_ends.append(state["lastModifiedTimestampMs"])
        else:
            grow_starts.append(state["createdTimestampMs"])
    if shrink_ends and grow_starts and max(shrink_ends) > min(grow_starts):
        problems.append("a growing framework's update began before every shrinking one had ended")
    print(json.dumps({"most_in_flight": in_flight, "shrinks_ended_ms": shrink_ends, "growths_began_ms": grow_starts}))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
