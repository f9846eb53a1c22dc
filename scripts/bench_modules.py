"""make bench, module figures (design.md targets): the per-task cost of the job module in
ansible-playbook against a do-nothing compiled module and a Python module (ansible.builtin.uri)
making a scheduler call; one run of the module outside Ansible; the executable's size; a drain of
1,000 simulated hosts by host_maintenance in one task (scheduler calls, module CPU, wall and
simulator time).

Run by scripts/bench.sh with the venv's python, after `make build venv`. Starts aurora-sim on
127.0.0.1 and stops it on exit. Figures, not pass/fail: the targets are printed beside them.
"""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "release"
EXECUTABLES = ROOT / "ansible_collections/aurora/scheduler/executables"
# The executable for this machine, as the action plugin picks it on the controller.
MODULE = EXECUTABLES / ("aurora-ansible-linux-" + {"arm64": "aarch64"}.get(os.uname().machine, os.uname().machine))
TASKS = 50  # tasks per playbook
ROUNDS = 3  # playbook runs per case; the median counts
DIRECT_RUNS = 50

JOB = {
    "role": "bench",
    "environment": "devel",
    "name": "noop",
    "instances": 2,
    "wait": True,
    "task": {
        "processes": [{"name": "main", "cmdline": "sleep 100000"}],
        "resources": {"cpu": 0.1, "ram": "16MiB", "disk": "16MiB"},
    },
}


def start_simulator():
    sim = subprocess.Popen(
        [BIN / "aurora-sim", "--listen", "127.0.0.1:0", "--hosts", "6", "--time-scale", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = sim.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        sim.kill()
        sys.exit(f"aurora-sim did not start (first line: {url!r})")
    return sim, url


def run_module_once(args_file, executable=MODULE):
    """Wall time in ms and stdout of one direct run of a module executable. No timeout here:
    Python waits for one by polling at growing intervals, which would add milliseconds; the
    module bounds its own calls (its `timeout` option)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        subprocess.run([executable, args_file], stdout=out, stderr=subprocess.DEVNULL)
        elapsed_ms = (time.perf_counter() - start) * 1000
        out.seek(0)
        return elapsed_ms, out.read()


def peak_rss_kib(args_file):
    """Peak RSS of one direct run, as /usr/bin/time measures it; None without it. (A child forked
    from this Python process would count Python's own pages, as rusage carries them over exec.)"""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    if gnu_time is None:
        return None
    done = subprocess.run([gnu_time, "-f", "%M", MODULE, args_file],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    return int(done.stderr.strip().splitlines()[-1])


def playbook(tasks):
    return [{"name": "bench", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]


def time_playbook(path, env, work):
    """Median wall seconds of ROUNDS runs of ansible-playbook on PATH."""
    runs = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        done = subprocess.run(
            ["ansible-playbook", "-i", "localhost,", path],
            cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
        )
        runs.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"{path.name} failed:\n{done.stdout[-3000:]}")
        if "changed=" in done.stdout and "changed=0" not in done.stdout:
            sys.exit(f"{path.name}: a no-op task reported a change:\n{done.stdout[-3000:]}")
    return statistics.median(runs)


def main():
    if not MODULE.exists():
        sys.exit(f"{MODULE} is missing: run make build first")
    work = Path(tempfile.mkdtemp(prefix="aurora-bench-"))
    sim, url = start_simulator()
    try:
        measure(work, url)
    finally:
        sim.kill()
        sim.wait()
    try:
        measure_drain(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(work, url):
    job = dict(JOB, scheduler_url=url)
    args_file = work / "args.json"
    args_file.write_text(json.dumps(dict(job, _ansible_module_name="aurora.scheduler.job")))

    # The job is created once; every measured run finds it as wanted and changes nothing.
    _, out = run_module_once(args_file)
    if json.loads(out).get("failed"):
        sys.exit(f"creating the bench job failed: {out.decode()}")

    # The do-nothing compiled module, built here so no binary is ever committed.
    library = work / "library"
    library.mkdir()
    noop = library / "noop_module"
    subprocess.run(
        ["rustc", "-O", "-C", "strip=symbols", "-o", noop, ROOT / "benches/noop_module/main.rs"],
        check=True, timeout=300,
    )

    # One run outside Ansible, beside the floor of starting any process from here.
    times = sorted(run_module_once(args_file)[0] for _ in range(DIRECT_RUNS))
    floor = statistics.median(run_module_once(args_file, noop)[0] for _ in range(DIRECT_RUNS))
    rss = [peak_rss_kib(args_file) for _ in range(5)]
    rss_text = "n/a (no /usr/bin/time)" if None in rss else f"{max(rss) / 1024:.1f} MiB"
    p90 = times[int(len(times) * 0.9) - 1]
    print(f"job module run directly, no-op, {DIRECT_RUNS} runs: median {statistics.median(times):.2f} ms, "
          f"p90 {p90:.2f} ms, peak RSS {rss_text}  (target: under 5 ms median, under 10 MB); "
          f"the do-nothing module takes {floor:.2f} ms")

    for executable in sorted(EXECUTABLES.glob("aurora-ansible-*")):
        size_mib = executable.stat().st_size / (1024 * 1024)
        print(f"module executable {executable.name}: {size_mib:.2f} MiB, static  (target: under 8 MB); "
              f"copied to a remote host on every task, run in place on the controller")

    get_tasks = [1, "getTasksStatus", 1, 0,
                 {"1": {"rec": {"14": {"str": "bench"}, "9": {"str": "devel"}, "2": {"str": "noop"}}}}]
    cases = {
        "empty": [],
        "job": [{"aurora.scheduler.job": job}] * TASKS,
        # Under become the executable takes ansible-core's remote path: copied, run, removed.
        "job_copied": [{"aurora.scheduler.job": job, "become": True,
                        "become_method": "ansible.builtin.su"}] * TASKS,
        "noop": [{"noop_module": {}}] * TASKS,
        # The same floor given the job task's options: what templating them costs Ansible.
        "noop_args": [{"noop_module": job}] * TASKS,
        # The floor through the collection's action plugin (the do-nothing executable run in
        # place of the module's, see below): what the plugin itself costs.
        "noop_plugin": [{"aurora.scheduler.job": job}] * TASKS,
        "uri": [{"ansible.builtin.uri": {
            "url": f"{url}/api", "method": "POST", "body_format": "raw", "body": json.dumps(get_tasks),
            "headers": {"Content-Type": "application/vnd.apache.thrift.json"},
        }}] * TASKS,
    }
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LIBRARY=str(library),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    seconds = {}
    for name, tasks in cases.items():
        path = work / f"{name}.yml"
        path.write_text(json.dumps(playbook(tasks)))  # JSON is YAML
        case_env = dict(env, AURORA_ANSIBLE_EXECUTABLE=str(noop)) if name == "noop_plugin" else env
        seconds[name] = time_playbook(path, case_env, work)
    per_task = {name: (seconds[name] - seconds["empty"]) / TASKS * 1000
                for name in ("job", "job_copied", "noop", "noop_args", "noop_plugin", "uri")}
    print(f"per task in ansible-playbook ({TASKS} tasks, median of {ROUNDS}, net of an empty play "
          f"of {seconds['empty']:.2f} s): job no-op run in place {per_task['job']:.1f} ms, "
          f"copied per task (become) {per_task['job_copied']:.1f} ms, do-nothing compiled module "
          f"{per_task['noop']:.1f} ms ({per_task['noop_args']:.1f} ms given the job's options), "
          f"ansible.builtin.uri (one getTasksStatus call) {per_task['uri']:.1f} ms")
    print(f"the action plugin, running the do-nothing executable in place: {per_task['noop_plugin']:.1f} ms per "
          f"task, {per_task['noop_plugin'] / per_task['noop_args']:.2f}x the do-nothing module given the same "
          f"options through ansible-core's own path  (target: at most 1.0x)")
    print(f"job / do-nothing module given the same options: {per_task['job'] / per_task['noop_args']:.2f}x "
          f"in place, {per_task['job_copied'] / per_task['noop_args']:.2f}x copied (the module's own scheduler calls included); "
          f"job / do-nothing module without options: {per_task['job'] / per_task['noop']:.2f}x; "
          f"job / uri: {per_task['job'] / per_task['uri']:.2f}x  (target: at most 0.3x)")


DRAIN_HOSTS = 1000
DRAIN_RACKS = 10
# Virtual seconds per real second: the maintenance poll (1 min) then takes 0.1 s.
DRAIN_TIME_SCALE = 600
DRAIN_JOBS = 5
DRAIN_INSTANCES = 100


def module_run(work, name, args):
    """One direct run of the module executable as `name`: (result, wall s, CPU s of the child)."""
    args_file = work / f"{name}.json"
    args_file.write_text(json.dumps(dict(args, _ansible_module_name=f"aurora.scheduler.{name}")))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([MODULE, args_file], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = json.loads(done.stdout)
    if result.get("failed"):
        sys.exit(f"{name} failed: {result.get('msg')}")
    return result, wall, cpu


def simulator_now_ms(work, url, label):
    """The simulator's virtual time: the first event of a one-instance job created now."""
    probe = dict(JOB, scheduler_url=url, name=f"clock-{label}", instances=1, wait=False)
    module_run(work, "job", probe)
    done = subprocess.run(
        [BIN / "aurora-ansible", "--scheduler-url", url, "--output", "json", "call", "getTasksWithoutConfigs",
         "--json", json.dumps({"query": {"role": "bench", "environment": "devel", "jobName": f"clock-{label}"}})],
        stdout=subprocess.PIPE, text=True, timeout=60, check=True)
    tasks = json.loads(done.stdout)["result"]["scheduleStatusResult"]["tasks"]
    return min(e["timestamp"] for t in tasks for e in t["taskEvents"])


def measure_drain(work):
    """host_maintenance draining 1,000 hosts of 10 racks, one rack per batch, then back in service."""
    sim = subprocess.Popen(
        [BIN / "aurora-sim", "--listen", "127.0.0.1:0", "--hosts", str(DRAIN_HOSTS), "--racks", str(DRAIN_RACKS),
         "--time-scale", str(DRAIN_TIME_SCALE)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    url = sim.stdout.readline().strip()
    try:
        if not url.startswith("http://127.0.0.1:"):
            sys.exit(f"aurora-sim did not start (first line: {url!r})")
        for j in range(DRAIN_JOBS):
            module_run(work, "job", dict(JOB, scheduler_url=url, name=f"fleet{j}", instances=DRAIN_INSTANCES))
        listed, _, _ = module_run(work, "host_info", {"scheduler_url": url, "tasks": False})
        hosts = [h["name"] for h in listed["hosts"]]
        # A forced drain of the whole cluster: calls per batch, whatever the number of hosts (the
        # SLA-planned drain is measured by bench_drain.py on a cluster that has room to move).
        drain = {"scheduler_url": url, "hosts": hosts, "state": "drained", "drain": "force",
                 "group_by": "rack", "wait_timeout": 600}
        virtual_start = simulator_now_ms(work, url, "start")
        drained, drain_wall, drain_cpu = module_run(work, "host_maintenance", drain)
        virtual_end = simulator_now_ms(work, url, "end")
        active, active_wall, active_cpu = module_run(work, "host_maintenance",
                                                     dict(drain, state="active"))
    finally:
        sim.kill()
        sim.wait()
    modes = {h["mode"] for h in drained["hosts"]}
    batches = len(drained["batches"])
    calls = drained["scheduler_calls"]
    print(f"host_maintenance drain of {DRAIN_HOSTS} hosts ({DRAIN_RACKS} racks, group_by rack, "
          f"{DRAIN_JOBS * DRAIN_INSTANCES} tasks, --time-scale {DRAIN_TIME_SCALE}): {batches} batches, "
          f"{calls} scheduler calls ({calls / max(batches, 1):.1f} per batch), module CPU {drain_cpu * 1000:.0f} ms, "
          f"wall {drain_wall:.2f} s, simulator time {(virtual_end - virtual_start) / 1000:.0f} s; "
          f"modes after: {sorted(modes)}  (target: calls grow with batches, not hosts; under 1 s of module CPU)")
    print(f"host_maintenance back to active, {DRAIN_HOSTS} hosts: {active['scheduler_calls']} scheduler calls, "
          f"module CPU {active_cpu * 1000:.0f} ms, wall {active_wall:.2f} s")


if __name__ == "__main__":
    main()
