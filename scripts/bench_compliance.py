"""make bench, compliance report figure (design.md target: 5,000 jobs / 200,000 tasks in under
3 s and under 200 MB): the software_inventory module executable, which reads every job, checks
it against a policy and writes the report's JSON, CSV and HTML files (report_dir), run directly
on the whole cluster; the same returning the whole inventory as data instead (no report_dir),
for comparison; then, once, the whole playbooks/compliance_report.yml, end to end.

Run by scripts/bench.sh with the venv's python, after `make build`. Starts aurora-sim on
127.0.0.1, creates the jobs with the job module executable (a few workers in parallel, without
waiting for the tasks; a version per job from metadata, every tenth from an image tag, every
fiftieth without one), then times the module. Stops the simulator on exit. Figures, not pass/fail.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_job_info import WORKERS, seed_cluster, start_simulator
from bench_modules import ROOT

MODULES = ROOT / "ansible_collections/aurora/scheduler/plugins/modules"
JOBS = int(os.environ.get("COMPLIANCE_JOBS", 5000))
INSTANCES = int(os.environ.get("COMPLIANCE_INSTANCES", 40))  # per job: 200,000 tasks in all
ROLES = 50
RUNS = 5  # timed runs writing the report; the median counts
DATA_RUNS = 3  # timed runs returning the inventory as data
SETUP_LIMIT_SECS = 1800
PLAYBOOK_LIMIT_SECS = 600
# 0.005 CPU, 1 MiB tasks: 1,000 hosts of 8 CPUs hold 200,000 with room to spare.
HOSTS = 1000
POLICY = {
    "required_metadata": ["team"],
    "denied": [{"version": "0.0.1", "reason": "a test build"}],
    "projects": {f"project{p}": {"allowed": [">=1.0.0, <1.5.0"],
                                 "denied": [{"version": "1.3.0", "reason": "CVE-2026-0001"}]}
                 for p in range(10)},
}


def job_args(url, number):
    args = {
        "_ansible_module_name": "aurora.scheduler.job",
        "scheduler_url": url,
        "role": f"team{number % ROLES:02d}",
        "environment": "prod" if number % 3 == 0 else "devel",
        "name": f"service{number:04d}",
        "instances": INSTANCES,
        "wait": False,
        "metadata": {"team": f"team{number % ROLES:02d}", "project": f"project{number % 10}"},
        "task": {
            "processes": [{"name": "main", "cmdline": f"serve --shard {number}"}],
            "resources": {"cpu": 0.005, "ram": "1MiB", "disk": "1MiB"},
        },
    }
    version = f"1.{number % 7}.0"
    if number % 50 == 0:
        pass  # no version at all
    elif number % 10 == 0:
        args["container"] = {"mesos": {"image": {"docker": {"name": "registry/app", "tag": version}}}}
    else:
        args["metadata"]["version"] = version
    return args


def run_timed(executable, args_file):
    """Wall seconds, the process's CPU seconds (user + system) and peak RSS (KiB) of one direct
    run, measured by /usr/bin/time, and its stdout."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    command = [executable, args_file]
    if gnu_time:
        command = [gnu_time, "-f", "%U %S %M"] + command
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120)
    wall = time.perf_counter() - start
    cpu = rss = None
    if gnu_time:
        user, system, rss = done.stderr.strip().splitlines()[-1].split()
        cpu, rss = float(user) + float(system), int(rss)
    return {"wall": wall, "cpu": cpu, "rss": rss, "stdout": done.stdout}


def main():
    inventory = MODULES / "software_inventory"
    if not inventory.exists():
        sys.exit(f"{inventory} is missing: run make build first")
    work = Path(tempfile.mkdtemp(prefix="aurora-bench-compliance-"))
    sim, url = start_simulator(hosts=HOSTS, racks=20)
    try:
        measure(work, url, inventory)
    finally:
        sim.kill()
        sim.wait()
        shutil.rmtree(work, ignore_errors=True)


def measure(work, url, inventory):
    setup, active = seed_cluster(work, url, JOBS, job_args, SETUP_LIMIT_SECS)
    print(f"compliance bench setup: {JOBS} jobs, {active} active tasks created in {setup:.1f} s "
          f"({WORKERS} workers)")

    report = work / "report"
    args = {"_ansible_module_name": "aurora.scheduler.software_inventory", "scheduler_url": url,
            "policy": POLICY}
    for label, extra, runs in [("writing the report (report_dir)", {"report_dir": str(report)}, RUNS),
                               ("returning the inventory as data", {}, DATA_RUNS)]:
        args_file = work / "inventory.json"
        args_file.write_text(json.dumps(dict(args, **extra)))
        measured = [run_timed(inventory, args_file) for _ in range(runs)]
        result = json.loads(measured[-1]["stdout"])
        if result.get("failed"):
            sys.exit(f"software_inventory failed: {result.get('msg')}")
        summary = result["summary"]
        seconds = statistics.median(m["wall"] for m in measured)
        cpu = [m["cpu"] for m in measured]
        cpu_text = "" if None in cpu else f" ({statistics.median(cpu):.2f} s of it the module's CPU)"
        rss = [m["rss"] for m in measured]
        rss_text = "n/a (no /usr/bin/time)" if None in rss else f"{max(rss) / 1024:.1f} MiB"
        print(f"software_inventory {label} over {summary['jobs']} jobs / {summary['instances']} "
              f"instances ({summary['deviations']} deviations, {len(summary['unknown_version_jobs'])} "
              f"jobs without a version), {runs} runs: median {seconds:.3f} s{cpu_text}, peak RSS "
              f"{rss_text}, {len(measured[-1]['stdout']) / 2**20:.1f} MiB of result  "
              f"(target: under 3 s, under 200 MB)")
    sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 2**20:.1f} MiB" for p in sorted(report.iterdir()))
    print(f"report files: {sizes}")
    shutil.rmtree(report)

    policy_file = work / "policy.json"
    policy_file.write_text(json.dumps(POLICY))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               PATH=f"{ROOT / '.venv/bin'}:{os.environ['PATH']}")
    start = time.perf_counter()
    try:
        done = subprocess.run(
            ["ansible-playbook", "-i", "localhost,", "-c", "local",
             "-e", f"ansible_python_interpreter={sys.executable}",
             "-e", f"aurora_scheduler_url={url}", "-e", f"report_dir={report}",
             "-e", f"policy_file={policy_file}",
             str(ROOT / "playbooks/compliance_report.yml")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=PLAYBOOK_LIMIT_SECS)
    except subprocess.TimeoutExpired:
        print(f"compliance_report.yml end to end: not done after {PLAYBOOK_LIMIT_SECS} s")
        return
    elapsed = time.perf_counter() - start
    # The policy is violated on purpose: the run fails after writing the files, as it should.
    if done.returncode == 0 or "policy violated" not in done.stdout or not report.is_dir():
        print(f"compliance_report.yml did not fail on the policy after {elapsed:.1f} s:\n"
              f"{done.stdout[-3000:]}")
        return
    sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 2**20:.1f} MiB"
                      for p in sorted(report.iterdir()))
    print(f"compliance_report.yml end to end (ansible-playbook with the policy file, files "
          f"written: {sizes}, failing on the deviations as it should): {elapsed:.1f} s")


if __name__ == "__main__":
    main()
