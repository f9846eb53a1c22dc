//! aurora-sim's `--state-dir` (issue 17, part 2): a scheduler driven through jobs, kills,
//! restarts, an update paused and resumed, another left paused, a cron job, a quota and host
//! maintenance, with every write recorded as the server records it, is replayed from its log
//! into a fresh scheduler that shows the same state (task ids, hosts, statuses and events, update
//! details and events, cron jobs, quotas, host modes). And the log's framing: a torn tail is cut
//! off at any byte, a damaged record before the last is refused with its offset.

use aurora_ansible::api::codec::{self, Encoding, Incoming};
use aurora_ansible::api::methods::*;
use aurora_ansible::api::types::*;
use aurora_ansible::sim::config::{ClusterSpec, HostResources, SimConfig};
use aurora_ansible::sim::scheduler::Scheduler;
use aurora_ansible::sim::state_dir::{self, frame, parse_log, Record, StateDir, LOG_FILE};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000_000;
const SEC: i64 = 1_000;
/// The live scheduler's tick, in virtual time; the replay only advances to recorded instants.
const TICK_MS: i64 = 250;

fn config() -> SimConfig {
    SimConfig::new(ClusterSpec::generated(4, 2, &HostResources::default()).unwrap())
}

fn key(name: &str) -> JobKey {
    JobKey::new("www-data", "prod", name)
}

fn task(name: &str, version: &str, service: bool) -> TaskConfig {
    TaskConfig {
        job: Some(key(name)),
        is_service: service,
        max_task_failures: 1,
        production: Some(true),
        tier: Some("preferred".into()),
        resources: Some(vec![
            Resource::NumCpus(0.5),
            Resource::RamMb(64),
            Resource::DiskMb(64),
        ]),
        executor_config: Some(ExecutorConfig {
            name: Some(AURORA_EXECUTOR_NAME.into()),
            data: Some(format!(r#"{{"name":"{name}","version":"{version}"}}"#)),
        }),
        ..TaskConfig::default()
    }
}

fn job(name: &str, instances: i32) -> JobConfiguration {
    JobConfiguration {
        key: Some(key(name)),
        instance_count: instances,
        task_config: Some(task(name, "v1", true)),
        ..JobConfiguration::default()
    }
}

fn update(name: &str, version: &str, instances: i32, watch_ms: i32) -> StartJobUpdate {
    StartJobUpdate {
        request: Some(JobUpdateRequest {
            task_config: Some(task(name, version, true)),
            instance_count: instances,
            settings: Some(JobUpdateSettings {
                update_group_size: 1,
                min_wait_in_instance_running_ms: watch_ms,
                rollback_on_failure: true,
                sla_aware: Some(false),
                ..JobUpdateSettings::default()
            }),
            metadata: None,
        }),
        message: Some(format!("to {version}")),
    }
}

fn hosts(names: &[&str]) -> Option<Hosts> {
    Some(Hosts {
        host_names: Some(names.iter().map(|n| n.to_string()).collect()),
    })
}

/// A scheduler run as the server runs it: ticks between calls, each write recorded after it is
/// handled, the coordinator answers before it.
struct Live {
    scheduler: Scheduler,
    dir: StateDir,
    now: i64,
}

impl Live {
    fn run_until(&mut self, until: i64) {
        while self.now + TICK_MS <= until {
            self.now += TICK_MS;
            self.scheduler.advance(self.now);
        }
        self.now = until;
        self.scheduler.advance(until);
        let answers = self.scheduler.take_applied_answers();
        self.dir.record_answers(answers).unwrap();
    }

    fn call<M: Method>(&mut self, at: i64, args: &M) -> Response {
        self.run_until(at);
        let body = codec::encode_call(Encoding::Binary, 1, args).unwrap();
        let Ok(Incoming::Call { call, .. }) = codec::decode_call(Encoding::Binary, &body) else {
            panic!("{} does not decode", M::NAME);
        };
        let logged = state_dir::is_logged(&call);
        let response = self.scheduler.handle(*call, "alice", at);
        self.dir
            .record_answers(self.scheduler.take_applied_answers())
            .unwrap();
        if logged {
            self.dir
                .record_call(at, "alice", Encoding::Binary, &body)
                .unwrap();
        }
        response
    }

    fn ok<M: Method>(&mut self, at: i64, args: &M) -> Response {
        let response = self.call(at, args);
        assert_eq!(
            response.response_code,
            Some(ResponseCode::OK),
            "{}: {:?}",
            M::NAME,
            response.details
        );
        response
    }
}

fn update_key(response: &Response) -> JobUpdateKey {
    match &response.result {
        Some(Result::StartJobUpdateResult(r)) => r.key.clone().unwrap(),
        other => panic!("{other:?}"),
    }
}

/// Everything a client can see of the scheduler at `at`, as JSON.
fn observed(scheduler: &mut Scheduler, at: i64) -> serde_json::Value {
    let mut read = |call: Call| {
        let response = scheduler.handle(call, "bob", at);
        serde_json::to_value(response.result).unwrap()
    };
    serde_json::json!({
        "tasks": read(Call::GetTasksStatus(GetTasksStatus { query: Some(TaskQuery::default()) })),
        "updates": read(Call::GetJobUpdateDetails(GetJobUpdateDetails {
            key: None,
            query: Some(JobUpdateQuery::default()),
        })),
        "jobs": read(Call::GetJobs(GetJobs { owner_role: None })),
        "quota": read(Call::GetQuota(GetQuota { owner_role: Some("www-data".into()) })),
        "hosts": read(Call::MaintenanceStatus(MaintenanceStatus {
            hosts: hosts(&["host-001", "host-002", "host-003", "host-004"]),
        })),
    })
}

#[test]
fn a_replayed_log_gives_the_same_tasks_updates_cron_jobs_quota_and_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateDir::open(dir.path()).unwrap();
    let scheduler = state.recover(&config(), T0).unwrap();
    let mut live = Live {
        scheduler,
        dir: state,
        now: T0,
    };
    let mut at = T0 + SEC;
    let mut step = |secs: i64| {
        at += secs * SEC;
        at
    };
    live.ok(
        step(0),
        &SetQuota {
            owner_role: Some("www-data".into()),
            quota: Some(ResourceAggregate {
                resources: Some(vec![
                    Resource::NumCpus(20.0),
                    Resource::RamMb(4096),
                    Resource::DiskMb(4096),
                ]),
            }),
        },
    );
    live.ok(
        step(1),
        &CreateJob {
            description: Some(job("web", 4)),
        },
    );
    live.ok(
        step(1),
        &CreateJob {
            description: Some(job("api", 3)),
        },
    );
    live.ok(
        step(20),
        &KillTasks {
            job: Some(key("web")),
            instances: Some(vec![1]),
            message: Some("one down".into()),
        },
    );
    live.ok(
        step(5),
        &RestartShards {
            job: Some(key("api")),
            shard_ids: Some(vec![0]),
        },
    );
    let web_update = update_key(&live.ok(step(10), &update("web", "v2", 4, 5_000)));
    live.ok(
        step(4),
        &PauseJobUpdate {
            key: Some(web_update.clone()),
            message: Some("look first".into()),
        },
    );
    live.ok(
        step(30),
        &ResumeJobUpdate {
            key: Some(web_update),
            message: None,
        },
    );
    let mut cron = job("nightly", 2);
    cron.cron_schedule = Some("* * * * *".into());
    cron.task_config = Some(task("nightly", "v1", false));
    live.ok(
        step(1),
        &ScheduleCronJob {
            description: Some(cron),
        },
    );
    live.ok(
        step(5),
        &StartCronJob {
            job: Some(key("nightly")),
        },
    );
    live.ok(
        step(10),
        &DrainHosts {
            hosts: hosts(&["host-001"]),
        },
    );
    live.ok(
        step(2),
        &StartMaintenance {
            hosts: hosts(&["host-003"]),
        },
    );
    let api_update = update_key(&live.ok(step(30), &update("api", "v2", 3, 60_000)));
    live.ok(
        step(8),
        &PauseJobUpdate {
            key: Some(api_update),
            message: Some("left paused".into()),
        },
    );
    // A refused write is logged too, and refused again on replay.
    let refused = live.call(
        step(1),
        &CreateJob {
            description: Some(job("web", 1)),
        },
    );
    assert_ne!(refused.response_code, Some(ResponseCode::OK));
    live.dir.record_time(step(5)).unwrap();
    let end = step(200);
    live.run_until(end);
    let expected = observed(&mut live.scheduler, end);

    let text = expected.to_string();
    for seen in [
        "ROLLED_FORWARD",
        "ROLL_FORWARD_PAUSED",
        "DRAINED",
        "SCHEDULED",
        "nightly",
    ] {
        assert!(text.contains(seen), "the scenario reaches {seen}");
    }
    drop(live);

    let mut reopened = StateDir::open(dir.path()).unwrap();
    assert_eq!(reopened.torn_tail(), None);
    assert!(reopened.last_ms() >= Some(end - 200 * SEC));
    let mut replayed = reopened.recover(&config(), end).unwrap();
    let seen = observed(&mut replayed, end);
    for part in ["tasks", "updates", "jobs", "quota", "hosts"] {
        assert!(
            seen[part] == expected[part],
            "the replay's {part} differ:\nreplayed {}\nlive     {}",
            seen[part],
            expected[part]
        );
    }
}

#[test]
fn a_state_dir_is_used_by_one_simulator_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let _first = StateDir::open(dir.path()).unwrap();
    let second = StateDir::open(dir.path()).unwrap_err().to_string();
    assert!(second.contains("in use by another aurora-sim"), "{second}");
}

#[test]
fn a_log_that_does_not_begin_with_its_start_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(LOG_FILE),
        frame(&Record::Time { at_ms: T0 }),
    )
    .unwrap();
    let mut state = StateDir::open(dir.path()).unwrap();
    let Err(error) = state.recover(&config(), T0) else {
        panic!("a log without its start record was replayed");
    };
    let error = error.to_string();
    assert!(
        error.contains("does not begin with a start record"),
        "{error}"
    );
}

#[test]
fn reads_are_not_logged_and_writes_are() {
    assert!(!state_dir::is_logged(&Call::GetQuota(GetQuota::default())));
    assert!(!state_dir::is_logged(&Call::MaintenanceStatus(
        MaintenanceStatus::default()
    )));
    assert!(state_dir::is_logged(&Call::SetQuota(SetQuota::default())));
    assert!(state_dir::is_logged(&Call::PulseJobUpdate(
        PulseJobUpdate::default()
    )));
}

/// A few records of each kind, framed one after the other.
fn log_of(records: &[Record]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut starts = Vec::new();
    for record in records {
        starts.push(bytes.len());
        bytes.extend(frame(record));
    }
    (bytes, starts)
}

fn sample_records(user: String, body: Vec<u8>, task: String) -> Vec<Record> {
    vec![
        Record::Start {
            seed: 42,
            at_ms: T0,
        },
        Record::Call {
            at_ms: T0 + 1,
            user,
            encoding: Encoding::Binary,
            body: body.clone(),
        },
        Record::Answer(aurora_ansible::sim::scheduler::CoordinatorAnswer {
            at_ms: T0 + 2,
            task_id: task,
            allows: true,
        }),
        Record::Time { at_ms: T0 + 3 },
        Record::Call {
            at_ms: T0 + 4,
            user: "UNSECURE".into(),
            encoding: Encoding::Json,
            body,
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_log_cut_anywhere_in_its_last_record_keeps_every_record_before_it(
        user in "[a-z]{0,12}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
        task in "[a-z0-9-]{1,40}",
    ) {
        let records = sample_records(user, body, task);
        let (bytes, starts) = log_of(&records);
        let parsed = parse_log(&bytes).unwrap();
        prop_assert_eq!(parsed.torn_at, None);
        prop_assert_eq!(
            parsed.records.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
            records.clone()
        );
        let last = *starts.last().unwrap();
        for cut in last..bytes.len() {
            let parsed = parse_log(&bytes[..cut]).unwrap();
            let expected_torn = (cut > last).then_some(last as u64);
            prop_assert_eq!(parsed.torn_at, expected_torn, "cut at {}", cut);
            prop_assert_eq!(parsed.records.len(), records.len() - 1, "cut at {}", cut);
        }
        // A tail of zeros, as a file system may leave of an unsynced append, is torn too.
        let mut zeros = bytes.clone();
        zeros.extend([0u8; 40]);
        prop_assert_eq!(parse_log(&zeros).unwrap().torn_at, Some(bytes.len() as u64));
    }

    #[test]
    fn a_damaged_byte_before_the_last_record_is_refused_with_its_record_offset(
        user in "[a-z]{0,12}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
        task in "[a-z0-9-]{1,40}",
        flip in 1u8..=255,
    ) {
        let records = sample_records(user, body, task);
        let (bytes, starts) = log_of(&records);
        let last = *starts.last().unwrap();
        for at in 0..last {
            let mut damaged = bytes.clone();
            damaged[at] ^= flip;
            let record = *starts.iter().rfind(|s| **s <= at).unwrap();
            let (offset, _) = parse_log(&damaged).unwrap_err();
            prop_assert_eq!(offset, record as u64, "byte {} flipped", at);
        }
    }
}

#[test]
fn opening_cuts_a_torn_tail_and_refuses_a_corrupt_log_without_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample_records("alice".into(), b"not a call".to_vec(), "t".into());
    let (bytes, starts) = log_of(&records);
    let path = dir.path().join(LOG_FILE);

    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let state = StateDir::open(dir.path()).unwrap();
    let torn = state.torn_tail().unwrap();
    assert_eq!(torn.offset, *starts.last().unwrap() as u64);
    assert_eq!(state.records(), records.len() - 1);
    drop(state);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes[..*starts.last().unwrap()].to_vec()
    );

    let mut corrupt = bytes.clone();
    corrupt[starts[2] + 14] ^= 0x40;
    std::fs::write(&path, &corrupt).unwrap();
    let error = StateDir::open(dir.path()).unwrap_err().to_string();
    assert!(error.contains(LOG_FILE), "{error}");
    assert!(
        error.contains(&format!("byte offset {}", starts[2])),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), corrupt, "nothing is written");
}
