//! `make bench`: prints the figures design.md sets targets for. Figures, not pass/fail tests.
//!
//! Run one group with `cargo bench --bench figures -- codec` (groups: codec, sim).

use std::time::{Duration, Instant};

use aurora_ansible::api::codec::{self, Encoding};
use aurora_ansible::api::types::*;

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |group: &str| only.is_empty() || only.iter().any(|o| o == group);
    if wants("codec") {
        codec_figures();
    }
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
