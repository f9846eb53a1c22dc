//! `make bench`: prints the figures design.md sets targets for. Figures, not pass/fail tests.
//!
//! Run one group with `cargo bench --bench figures -- codec` (groups: codec, sim, fair_share,
//! state_dir).
//! The simulator figures run `aurora-sim` as its own process on 127.0.0.1, as a user would.

use std::time::{Duration, Instant};

use aurora_ansible::api::aggregate::Amounts;
use aurora_ansible::api::client::{Client, ClientConfig, RetryPolicy};
use aurora_ansible::api::codec::{self, Encoding};
use aurora_ansible::api::methods::{CreateJob, GetJobSummary};
use aurora_ansible::api::types::*;
use aurora_ansible::fair_share::{
    allocate, damp, fit_growth, Capacity, Damped, Damping, Framework, Kind,
};

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |group: &str| only.is_empty() || only.iter().any(|o| o == group);
    if wants("codec") {
        codec_figures();
    }
    if wants("sim") {
        sim_figures();
    }
    if wants("fair_share") {
        fair_share_figures();
    }
    if wants("state_dir") {
        state_dir_figures();
    }
}

/// aurora-sim --state-dir: how long a start takes to replay a log of 10,000 records (2,500 jobs
/// created, their quota set, then killed, and time marks), and one synced append.
fn state_dir_figures() {
    use aurora_ansible::api::methods::{KillTasks, SetQuota};
    use aurora_ansible::sim::config::{ClusterSpec, HostResources, SimConfig};
    use aurora_ansible::sim::state_dir::{frame, Record, StateDir, LOG_FILE};

    println!("## simulator: --state-dir replay and append");
    const T0: i64 = 1_700_000_000_000;
    let call = |at_ms: i64, body: Vec<u8>| Record::Call {
        at_ms,
        user: "alice".into(),
        encoding: Encoding::Binary,
        body,
    };
    let mut log = frame(&Record::Start { seed: 1, at_ms: T0 });
    let mut records = 0;
    for i in 0..2_500i64 {
        let at = T0 + i * 30_000;
        let key = JobKey::new("www-data", "prod", &format!("job-{i}"));
        let create = CreateJob {
            description: Some(small_job(&key, 2)),
        };
        let quota = SetQuota {
            owner_role: Some(format!("role-{i}")),
            quota: Some(ResourceAggregate {
                resources: Some(vec![
                    Resource::NumCpus(1.0),
                    Resource::RamMb(64),
                    Resource::DiskMb(64),
                ]),
            }),
        };
        let kill = KillTasks {
            job: Some(key),
            instances: None,
            message: None,
        };
        log.extend(frame(&call(
            at,
            codec::encode_call(Encoding::Binary, 1, &create).unwrap(),
        )));
        log.extend(frame(&call(
            at + 1_000,
            codec::encode_call(Encoding::Binary, 1, &quota).unwrap(),
        )));
        log.extend(frame(&call(
            at + 10_000,
            codec::encode_call(Encoding::Binary, 1, &kill).unwrap(),
        )));
        log.extend(frame(&Record::Time { at_ms: at + 20_000 }));
        records += 4;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(LOG_FILE), &log).expect("log");
    let config = SimConfig::new(ClusterSpec::generated(20, 2, &HostResources::default()).unwrap());
    let started = Instant::now();
    let mut state = StateDir::open(dir.path()).expect("open");
    let end = state.last_ms().unwrap_or(T0);
    let _scheduler = state.recover(&config, end).expect("recover");
    println!(
        "replay of {records} records ({} KiB): {:.2} s",
        log.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    let append = median_time(Duration::from_secs(2), || {
        state.record_time(end).expect("append");
    });
    println!(
        "one synced append: {:.2} ms (median)",
        append.as_secs_f64() * 1e3
    );
}

/// An `aurora-sim` process on 127.0.0.1, stopped when dropped.
struct SimProcess {
    child: std::process::Child,
    url: String,
}

impl SimProcess {
    fn start(args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aurora-sim"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("aurora-sim starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("URL line");
        SimProcess {
            child,
            url: line.trim().to_string(),
        }
    }

    /// CPU seconds the process has used (user + system), from /proc.
    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<f64> = after
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0.0))
            .collect();
        let ticks = fields.get(11).copied().unwrap_or(0.0) + fields.get(12).copied().unwrap_or(0.0);
        ticks / 100.0 // USER_HZ is 100 on Linux
    }

    /// Resident and peak resident memory, in MiB, from /proc.
    fn memory_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(url: &str) -> Client {
    let mut config = ClientConfig::new(url);
    config.retry = RetryPolicy::never();
    Client::new(&config).expect("client")
}

/// A service job of `instances` tasks small enough to pack 100 per host.
fn small_job(key: &JobKey, instances: i32) -> JobConfiguration {
    JobConfiguration {
        key: Some(key.clone()),
        instance_count: instances,
        task_config: Some(TaskConfig {
            job: Some(key.clone()),
            is_service: true,
            resources: Some(vec![
                Resource::NumCpus(0.01),
                Resource::RamMb(8),
                Resource::DiskMb(8),
            ]),
            executor_config: Some(ExecutorConfig {
                name: Some(AURORA_EXECUTOR_NAME.into()),
                data: Some("{}".into()),
            }),
            ..TaskConfig::default()
        }),
        ..JobConfiguration::default()
    }
}

fn sim_figures() {
    println!("## simulator: getJobSummary from 16 concurrent loopback clients (5 s)");
    let sim = SimProcess::start(&["--hosts", "20", "--time-scale", "100"]);
    let admin = client(&sim.url);
    for j in 0..20 {
        let key = JobKey::new("bench", "prod", &format!("job{j}"));
        admin
            .call_ok(&CreateJob {
                description: Some(small_job(&key, 10)),
            })
            .expect("createJob");
    }
    let cpu_before = sim.cpu_secs();
    let deadline = Instant::now() + Duration::from_secs(5);
    let calls: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    let c = client(&sim.url);
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        c.call_ok(&GetJobSummary {
                            role: Some("bench".into()),
                        })
                        .expect("getJobSummary");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    let sim_cpu = sim.cpu_secs() - cpu_before;
    println!(
        "{:.0} calls/s measured ({calls} calls over 20 jobs of 10 tasks; the 16 clients share the same 2 cores)",
        calls as f64 / 5.0
    );
    println!(
        "simulator CPU: {:.1} us per call, i.e. {:.0} calls/s per core, {:.0} calls/s on 2 cores without the clients",
        sim_cpu / calls as f64 * 1e6,
        calls as f64 / sim_cpu,
        2.0 * calls as f64 / sim_cpu
    );
    drop(sim);

    println!("## simulator: memory with 100,000 tasks (25 jobs x 4,000 on 1,000 hosts)");
    let sim = SimProcess::start(&["--hosts", "1000", "--racks", "10", "--time-scale", "1000"]);
    let (idle, _) = sim.memory_mib();
    let admin = client(&sim.url);
    let started = Instant::now();
    for j in 0..25 {
        let key = JobKey::new("bench", "prod", &format!("big{j}"));
        admin
            .call_ok(&CreateJob {
                description: Some(small_job(&key, 4000)),
            })
            .expect("createJob");
    }
    let created = started.elapsed();
    // Let every task reach RUNNING (about 3 s of virtual time).
    std::thread::sleep(Duration::from_millis(500));
    let summary = admin
        .call_ok(&GetJobSummary {
            role: Some("bench".into()),
        })
        .expect("getJobSummary");
    let running: i32 = match summary.result {
        Some(Result::JobSummaryResult(r)) => r
            .summaries
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.stats.as_ref())
            .map(|s| s.active_task_count)
            .sum(),
        _ => 0,
    };
    let (rss, peak) = sim.memory_mib();
    println!(
        "{running} active tasks: RSS {rss:.0} MiB (peak {peak:.0} MiB, {idle:.0} MiB before any job); 25 createJob calls with placement took {:.2} s",
        created.as_secs_f64()
    );
}

/// Runs `f` repeatedly for about `budget` and returns the median time of one run.
fn median_time(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < budget || samples.len() < 5 {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

/// A getTasksStatus reply with `n` running tasks of one job, configs and events included.
fn tasks_reply(n: usize) -> Response {
    let key = JobKey::new("www-data", "prod", "hello");
    let config = TaskConfig {
        job: Some(key.clone()),
        owner: Some(Identity { user: Some("www-data".into()) }),
        is_service: true,
        tier: Some("preemptible".into()),
        production: Some(false),
        resources: Some(vec![Resource::NumCpus(0.5), Resource::RamMb(128), Resource::DiskMb(256), Resource::NamedPort("http".into())]),
        executor_config: Some(ExecutorConfig {
            name: Some(AURORA_EXECUTOR_NAME.into()),
            data: Some(r#"{"name":"hello","task":{"processes":[{"cmdline":"python -m http.server {{thermos.ports[http]}}","name":"hello"}],"resources":{"cpu":0.5,"ram":134217728,"disk":268435456}}}"#.into()),
        }),
        metadata: Some(vec![Metadata { key: Some("version".into()), value: Some("1.4.2".into()) }]),
        container: Some(Container::Mesos(MesosContainer::default())),
        ..TaskConfig::default()
    };
    let tasks = (0..n)
        .map(|i| ScheduledTask {
            assigned_task: Some(AssignedTask {
                task_id: Some(format!(
                    "www-data-prod-hello-{i}-0d9f6a6c-1f2e-4b7a-9c3d-{i:012}"
                )),
                slave_id: Some(format!("agent-{}", i % 50)),
                slave_host: Some(format!("host-{:03}", i % 50)),
                task: Some(config.clone()),
                assigned_ports: Some([("http".to_string(), 31000 + (i % 1000) as i32)].into()),
                instance_id: i as i32,
            }),
            status: Some(ScheduleStatus::RUNNING),
            task_events: Some(
                [
                    ScheduleStatus::PENDING,
                    ScheduleStatus::ASSIGNED,
                    ScheduleStatus::STARTING,
                    ScheduleStatus::RUNNING,
                ]
                .iter()
                .enumerate()
                .map(|(k, s)| TaskEvent {
                    timestamp: 1_700_000_000_000 + k as i64,
                    status: Some(*s),
                    message: None,
                    scheduler: Some("sim".into()),
                })
                .collect(),
            ),
            ..ScheduledTask::default()
        })
        .collect();
    Response {
        response_code: Some(ResponseCode::OK),
        server_info: Some(ServerInfo {
            cluster_name: Some("devcluster".into()),
            stats_url_prefix: Some(String::new()),
        }),
        result: Some(Result::ScheduleStatusResult(ScheduleStatusResult {
            tasks: Some(tasks),
        })),
        details: Some(vec![]),
    }
}

fn codec_figures() {
    let reply = tasks_reply(1000);
    println!("## codec: getTasksStatus reply with 1,000 tasks (encode + decode, median)");
    for encoding in [Encoding::Binary, Encoding::Json] {
        let bytes = codec::encode_reply(encoding, "getTasksStatus", 1, &reply).expect("encodes");
        let encode = median_time(Duration::from_secs(2), || {
            std::hint::black_box(
                codec::encode_reply(encoding, "getTasksStatus", 1, &reply).expect("encodes"),
            );
        });
        let decode = median_time(Duration::from_secs(2), || {
            std::hint::black_box(
                codec::decode_reply(encoding, "getTasksStatus", &bytes).expect("decodes"),
            );
        });
        println!(
            "{:<7} {:>9} bytes  encode {:>8.2} ms  decode {:>8.2} ms  total {:>8.2} ms",
            format!("{encoding:?}"),
            bytes.len(),
            encode.as_secs_f64() * 1e3,
            decode.as_secs_f64() * 1e3,
            (encode + decode).as_secs_f64() * 1e3
        );
    }
}

/// 1,000 frameworks of assorted worker shapes over 4 limited resources, from a fixed seed.
fn thousand_frameworks(capacity_scale: f64) -> (Capacity, Vec<Framework>) {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |below: u64| {
        // xorshift64*: reproducible without a crate.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_f491_4f6c_dd1d) % below
    };
    let frameworks: Vec<Framework> = (0..1000)
        .map(|i| Framework {
            job: format!("team{:02}/prod/framework{i:04}-worker", i % 50),
            per_worker: Amounts {
                cpu: 0.25 * (1 + next(16)) as f64,
                ram_mb: 256 * (1 + next(64)) as i64,
                disk_mb: 1024 * (1 + next(32)) as i64,
                gpu: i64::from(next(10) == 0),
            },
            demand: next(100) as u32,
            weight: (1 + next(4)) as f64,
            min_workers: u32::from(next(5) == 0),
            max_workers: (next(3) == 0).then(|| 20 + next(60) as u32),
        })
        .collect();
    let total = Amounts {
        cpu: 20_000.0 * capacity_scale,
        ram_mb: (40_000_000.0 * capacity_scale) as i64,
        disk_mb: (400_000_000.0 * capacity_scale) as i64,
        gpu: (400.0 * capacity_scale) as i64,
    };
    (Capacity::new(total, &Kind::ALL), frameworks)
}

fn fair_share_figures() {
    println!("## fair_share: allocation of 1,000 frameworks over 4 resources (median; target under 5 ms)");
    for (label, scale) in [("scarce", 0.25), ("contended", 1.0), ("ample", 4.0)] {
        let (capacity, frameworks) = thousand_frameworks(scale);
        let workers = allocate(&capacity, &frameworks).expect("minimums fit");
        let allocation = median_time(Duration::from_secs(2), || {
            std::hint::black_box(allocate(&capacity, &frameworks).expect("minimums fit"));
        });
        // A whole decision: the allocation, then damping and fitting from other counts.
        let current: Vec<u32> = workers.iter().map(|n| n / 2 + 1).collect();
        let rules = Damping::default();
        let decision = median_time(Duration::from_secs(2), || {
            let fair = allocate(&capacity, &frameworks).expect("minimums fit");
            let mut damped: Vec<Damped> = frameworks
                .iter()
                .enumerate()
                .map(|(i, f)| damp(current[i], fair[i], f, Some(600.0), &rules))
                .collect();
            fit_growth(&capacity, &frameworks, &current, &mut damped, &rules);
            std::hint::black_box(damped);
        });
        let demand: u32 = frameworks.iter().map(Framework::ceiling).sum();
        println!(
            "{label:<9} {:>6} of {:>6} workers demanded  allocate {:>6.2} ms  with damping {:>6.2} ms",
            workers.iter().sum::<u32>(),
            demand,
            allocation.as_secs_f64() * 1e3,
            decision.as_secs_f64() * 1e3
        );
    }
}
