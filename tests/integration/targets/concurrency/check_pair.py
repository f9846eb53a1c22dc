#!/usr/bin/env python3
"""Checks a pair of simultaneous runs: both ended well (no raw scheduler error), their results
are honest (changed for exactly the runs that did something, or both joined the same update),
and the simulator holds what was asked for. Reads the simulator directly, not through the proxy.

    check_pair.py STEP A.json B.json CLI SIM_URL
"""

import json
import subprocess
import sys

# What a module must never hand back raw: the scheduler's words for a race it lost.
RAW_ERRORS = ("An active update already exists", "already exists", "JOB_UPDATING_ERROR")


def cli(binary, url, *args):
    out = subprocess.run(
        [binary, "--scheduler-url", url, "--output", "json", *args],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def web_tasks(binary, url):
    return cli(binary, url, "tasks", "ml/devel/web")


def version(task):
    metadata = task["assignedTask"]["task"].get("metadata") or []
    return next((m["value"] for m in metadata if m["key"] == "version"), None)


def host_modes(binary, url, hosts):
    answer = cli(binary, url, "call", "maintenanceStatus",
                 "--json", json.dumps({"hosts": {"hostNames": hosts}}))
    statuses = answer["result"]["maintenanceStatusResult"]["statuses"]
    return {s["host"]: s["mode"] for s in statuses}


def honest_pair(a, b):
    """Exactly one run changed something, or both joined the very same update."""
    changed = [r for r in (a, b) if r.get("changed")]
    if len(changed) == 1:
        return None
    if len(changed) == 2 and a.get("update_id") and a.get("update_id") == b.get("update_id"):
        return None
    return (f"changed={a.get('changed')}/{b.get('changed')}, "
            f"update_id={a.get('update_id')}/{b.get('update_id')}")


def main():
    step, a_file, b_file, binary, url = sys.argv[1:6]
    a, b = (json.load(open(f, encoding="utf-8")) for f in (a_file, b_file))
    problems = []
    for who, result in (("a", a), ("b", b)):
        if result.get("failed"):
            problems.append(f"run {who} failed: {result.get('msg')}")
        if any(raw in str(result.get("msg", "")) for raw in RAW_ERRORS):
            problems.append(f"run {who} hands back a raw scheduler error: {result.get('msg')}")

    tasks = web_tasks(binary, url)
    running = [t for t in tasks if t["status"] == "RUNNING"]
    if step == "create":
        if len(tasks) != 3:
            problems.append(f"{len(tasks)} active instances, 3 wanted")
        if [r.get("changed") for r in (a, b)].count(True) != 1:
            problems.append(f"changed={a.get('changed')}/{b.get('changed')}: exactly one run creates")
    elif step == "update_same":
        versions = {version(t) for t in tasks}
        if versions != {"2"} or len(running) != 3:
            problems.append(f"versions {versions}, {len(running)} running; version 2 on 3 wanted")
        why = honest_pair(a, b)
        if why:
            problems.append(f"not honest: {why}")
    elif step == "update_other_wait":
        versions = {version(t) for t in tasks}
        if len(versions) != 1 or not versions <= {"3", "4"} or len(running) != 3:
            problems.append(f"versions {versions}, {len(running)} running; 3 or 4 on 3 wanted")
        if not (a.get("changed") and b.get("changed")):
            problems.append(f"changed={a.get('changed')}/{b.get('changed')}: both roll out")
    elif step == "scale_same":
        if len(tasks) != 5:
            problems.append(f"{len(tasks)} active instances, 5 wanted")
        why = honest_pair(a, b)
        if why:
            problems.append(f"not honest: {why}")
    elif step == "scale_other_wait":
        if len(tasks) not in (4, 6):
            problems.append(f"{len(tasks)} active instances, 4 or 6 wanted")
    elif step == "drain":
        modes = host_modes(binary, url, ["host-001", "host-002"])
        if set(modes.values()) != {"DRAINED"}:
            problems.append(f"host modes {modes}, DRAINED wanted")
        if not (a.get("changed") or b.get("changed")):
            problems.append("neither run reports the drain")
    summary = {
        "step": step,
        "changed": [a.get("changed"), b.get("changed")],
        "update_id": [a.get("update_id"), b.get("update_id")],
        "active_instances": len(tasks),
    }
    print(json.dumps(summary))
    for problem in problems:
        print(f"  {step}: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
