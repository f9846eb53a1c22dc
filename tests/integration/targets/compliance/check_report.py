#!/usr/bin/env python3
"""Checks that the three files of a compliance report agree with each other and with
aurora-sim's state, read through the CLI: every active task is an instance row with its status,
host and version (metadata `version`, else the image tag, else `unknown`), every cron template
is listed, `versions` counts the active instances.

usage: check_report.py REPORT_DIR AURORA_CLI SCHEDULER_URL [ROLE...]
"""
import csv
import json
import re
import subprocess
import sys
from collections import Counter

ACTIVE = ["PENDING", "THROTTLED", "ASSIGNED", "STARTING", "RUNNING", "KILLING",
          "RESTARTING", "PREEMPTING", "DRAINING"]


def call(cli, url, method, args):
    out = subprocess.run([cli, "--scheduler-url", url, "--output", "json", "call", method,
                          "--json", json.dumps(args)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["result"]


def key(job_key):
    return "{role}/{environment}/{name}".format(**job_key)


def version_of(config):
    for item in config.get("metadata") or []:
        if item.get("key") == "version" and (item.get("value") or "").strip():
            return item["value"]
    image = ((config.get("container") or {}).get("mesos") or {}).get("image") or {}
    tag = (image.get("docker") or {}).get("tag")
    return tag or "unknown"


def main():
    report, cli, url, *roles = sys.argv[1:]
    problems = []

    tasks = call(cli, url, "getTasksWithoutConfigs", {"query": {"statuses": ACTIVE}})
    tasks = tasks["scheduleStatusResult"].get("tasks") or []
    expected = set()
    for task in tasks:
        assigned = task["assignedTask"]
        job = key(assigned["task"]["job"])
        if roles and job.split("/")[0] not in roles:
            continue
        expected.add((job, assigned["instanceId"], task["status"], assigned.get("slaveHost"),
                      version_of(assigned["task"])))
    summaries = call(cli, url, "getJobSummary", {})["jobSummaryResult"]["summaries"]
    crons = {key(s["job"]["key"]): version_of(s["job"]["taskConfig"])
             for s in summaries if s["job"].get("cronSchedule")
             and (not roles or s["job"]["key"]["role"] in roles)}
    all_jobs = {key(s["job"]["key"]) for s in summaries
                if not roles or s["job"]["key"]["role"] in roles}

    with open(f"{report}/software-inventory.json") as f:
        jobs = json.load(f)
    listed = {(j["job"], i["id"], i["status"], i["host"], i["version"])
              for j in jobs for i in j["instances"]}
    if listed != expected:
        problems.append(f"JSON instances differ from the simulator: extra {listed - expected}, "
                        f"missing {expected - listed}")
    if {j["job"] for j in jobs} != all_jobs:
        problems.append(f"JSON jobs {sorted(j['job'] for j in jobs)} != {sorted(all_jobs)}")
    for job in jobs:
        counts = Counter(i["version"] for i in job["instances"])
        if job["job"] in crons:
            if job["kind"] != "cron" or job["template"]["version"] != crons[job["job"]]:
                problems.append(f"{job['job']}: cron template not listed with its version")
            counts.setdefault(crons[job["job"]], 0)
        if dict(counts) != job["versions"]:
            problems.append(f"{job['job']}: versions {job['versions']} != {dict(counts)}")
        if job["mixed_versions"] != (len([v for v, n in counts.items() if n]) > 1):
            problems.append(f"{job['job']}: mixed_versions wrong")
        if job["instance_count"] != len({i["id"] for i in job["instances"]}):
            problems.append(f"{job['job']}: instance_count {job['instance_count']} is not the active count")

    with open(f"{report}/software-inventory.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    from_csv = {(r["job"], int(r["instance"]), r["status"], r["host"] or None, r["version"])
                for r in rows if r["instance"] not in ("", "template")}
    if from_csv != expected:
        problems.append(f"CSV rows differ from the simulator: extra {from_csv - expected}, "
                        f"missing {expected - from_csv}")
    templates = {r["job"]: r["version"] for r in rows if r["instance"] == "template"}
    if templates != crons:
        problems.append(f"CSV templates {templates} != {crons}")

    with open(f"{report}/software-inventory.html") as f:
        page = f.read()
    embedded = re.search(r'<script id="inventory" type="application/json">(.*?)</script>', page, re.S)
    if not embedded or json.loads(embedded.group(1)) != jobs:
        problems.append("the HTML page does not embed the same inventory as the JSON file")
    if re.search(r'\b(src|href)="(https?:)?//', page):
        problems.append("the HTML page loads something from the network")

    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"report checked: {len(jobs)} jobs, {len(expected)} instances, {len(crons)} cron templates")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
