"""make bench, job_info figure (design.md target: under 0.5 s and under 100 MB for a cluster of
1,000 jobs with 50,000 tasks): the job_info module executable run directly on the whole cluster.

Run by scripts/bench.sh with the venv's python, after `make build`. Starts aurora-sim on 127.0.0.1
with enough hosts, creates the jobs by running the job module executable directly (a few workers
in parallel, without waiting for the tasks), then times job_info. Stops the simulator on exit.
Figures, not pass/fail: the target is printed beside them.
"""

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_modules import BIN, ROOT

MODULES = ROOT / "ansible_collections/aurora/scheduler/plugins/modules"
JOBS = 1000
INSTANCES = 50  # per job: 50,000 tasks in all
ROLES = 20
WORKERS = 4
RUNS = 7  # timed runs of job_info; the median counts
SETUP_LIMIT_SECS = 600
# 250 hosts of 8 CPUs hold the 50,000 tasks of 0.02 CPU with room to spare.
HOSTS = 250


def start_simulator(hosts=HOSTS, racks=10):
    sim = subprocess.Popen(
        [BIN / "aurora-sim", "--listen", "127.0.0.1:0", "--hosts", str(hosts), "--racks", str(racks),
         "--time-scale", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = sim.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        sim.kill()
        sys.exit(f"aurora-sim did not start (first line: {url!r})")
    return sim, url


def job_args(url, number):
    return {
        "_ansible_module_name": "aurora.scheduler.job",
        "scheduler_url": url,
        "role": f"team{number % ROLES:02d}",
        "environment": "prod" if number % 3 == 0 else "devel",
        "name": f"service{number:04d}",
        "instances": INSTANCES,
        "wait": False,
        "metadata": {"version": str(number % 7)},
        "task": {
            "processes": [{"name": "main", "cmdline": f"serve --shard {number}"}],
            "resources": {"cpu": 0.02, "ram": "8MiB", "disk": "8MiB"},
        },
    }


def create_job(work, args, number):
    """Runs the job module executable directly with `args` (job number `number`)."""
    args_file = work / f"job{number}.json"
    args_file.write_text(json.dumps(args))
    done = subprocess.run([MODULES / "job", args_file], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, timeout=120)
    result = json.loads(done.stdout or b"{}")
    if result.get("failed") or not result.get("changed"):
        raise RuntimeError(f"creating job {number} failed: {done.stdout.decode()[:2000]}")
    args_file.unlink()


def seed_cluster(work, url, jobs, make_args, limit_secs):
    """Creates `jobs` jobs (make_args(url, number) gives each one's arguments) with WORKERS
    in parallel; returns the seconds it took and the active tasks counted afterwards."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for _ in pool.map(lambda n: create_job(work, make_args(url, n), n), range(jobs)):
            if time.perf_counter() - start > limit_secs:
                sys.exit(f"setup took over {limit_secs} s; giving up")
    return time.perf_counter() - start, count_tasks(url)


def count_tasks(url):
    query = json.dumps({"query": {"statuses": ["PENDING", "ASSIGNED", "STARTING", "RUNNING"]}})
    done = subprocess.run(
        [BIN / "aurora-ansible", "--scheduler-url", url, "--output", "json", "call",
         "getTasksWithoutConfigs", "--json", query],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, timeout=120)
    tasks = json.loads(done.stdout)["result"]["scheduleStatusResult"].get("tasks", [])
    return len(tasks)


def run_once(executable, args_file):
    """Wall seconds and peak RSS (KiB) of one direct run, measured by /usr/bin/time."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    command = [executable, args_file] if gnu_time is None else [gnu_time, "-f", "%M", executable, args_file]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    rss = int(done.stderr.strip().splitlines()[-1]) if gnu_time else None
    return elapsed, rss, done.stdout


def main():
    job_info = MODULES / "job_info"
    if not job_info.exists():
        sys.exit(f"{job_info} is missing: run make build first")
    work = Path(tempfile.mkdtemp(prefix="aurora-bench-info-"))
    sim, url = start_simulator()
    try:
        measure(work, url, job_info)
    finally:
        sim.kill()
        sim.wait()
        shutil.rmtree(work, ignore_errors=True)


def measure(work, url, job_info):
    setup, active = seed_cluster(work, url, JOBS, job_args, SETUP_LIMIT_SECS)
    print(f"job_info bench setup: {JOBS} jobs, {active} active tasks created in {setup:.1f} s "
          f"({WORKERS} workers)")

    args_file = work / "job_info.json"
    args_file.write_text(json.dumps({"_ansible_module_name": "aurora.scheduler.job_info",
                                     "scheduler_url": url}))
    runs = [run_once(job_info, args_file) for _ in range(RUNS)]
    result = json.loads(runs[-1][2])
    if result.get("failed"):
        sys.exit(f"job_info failed: {result.get('msg')}")
    jobs = result.get("jobs", [])
    seen_tasks = sum(sum(j.get("instances", {}).values()) for j in jobs if isinstance(j.get("instances"), dict))
    seconds = statistics.median(r[0] for r in runs)
    rss = [r[1] for r in runs]
    rss_text = "n/a (no /usr/bin/time)" if None in rss else f"{max(rss) / 1024:.1f} MiB"
    print(f"job_info run directly over {len(jobs)} jobs / {seen_tasks} tasks, {RUNS} runs: "
          f"median {seconds:.3f} s, peak RSS {rss_text}  (target: under 0.5 s, under 100 MB)")


if __name__ == "__main__":
    main()
