#!/usr/bin/env python3
"""Checks that the simulator holds what round ROUND of sequence.yml asks for, read directly (not
through the proxy): the web service's version on every instance, the workers' count, the report's
schedule, and the drained host. Prints the problems; exits 1 when there is one.

    check_state.py ROUND CLI SIM_URL
"""

import json
import subprocess
import sys


def cli(binary, url, *args):
    out = subprocess.run(
        [binary, "--scheduler-url", url, "--output", "json", *args],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def version(task):
    metadata = task["assignedTask"]["task"].get("metadata") or []
    return next((m["value"] for m in metadata if m["key"] == "version"), None)


def main():
    round_number, binary, url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    problems = []
    web = cli(binary, url, "tasks", "ml/prod/web")
    versions = sorted({version(t) for t in web})
    if len(web) != 2 or versions != [str(round_number)]:
        problems.append(f"web: {len(web)} instances of versions {versions}")
    workers = cli(binary, url, "tasks", "ml/prod/workers")
    wanted = 2 + round_number % 3
    if len(workers) != wanted:
        problems.append(f"workers: {len(workers)} instances, {wanted} wanted")
    summary = cli(binary, url, "call", "getJobSummary", "--json", '{"role": "ml"}')
    schedules = {
        s["job"]["key"]["name"]: s["job"].get("cronSchedule")
        for s in summary["result"]["jobSummaryResult"]["summaries"]
    }
    if schedules.get("report") != f"{round_number % 60} 2 * * *":
        problems.append(f"report: scheduled {schedules.get('report')!r}")
    drained = f"host-00{(round_number - 1) % 6 + 1}"
    hosts = [f"host-00{i}" for i in range(1, 7)]
    status = cli(binary, url, "call", "maintenanceStatus", "--json",
                 json.dumps({"hosts": {"hostNames": hosts}}))
    modes = {s["host"]: s["mode"] for s in status["result"]["maintenanceStatusResult"]["statuses"]}
    expected = {h: ("DRAINED" if h == drained else "NONE") for h in hosts}
    if modes != expected:
        problems.append(f"hosts: {modes}, {drained} alone DRAINED wanted")
    for problem in problems:
        print(f"  round {round_number}: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
