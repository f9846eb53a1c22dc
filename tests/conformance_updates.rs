//! Conformance of aurora-sim's job updater to api-reference §4.6 (rolling updates), through the
//! project's own client against a live simulator on 127.0.0.1 running 200x virtual time. Each test
//! names the section it follows; every wait is bounded.

use std::time::{Duration, Instant};

use aurora_ansible::api::client::{Client, ClientConfig, RetryPolicy};
use aurora_ansible::api::methods::*;
use aurora_ansible::api::types::*;
use aurora_ansible::sim::config::{ClusterSpec, HostResources, SimConfig};
use aurora_ansible::sim::server::{RunningSim, ServerOptions};

/// Real time any one wait may take (200x: 10 s real is over half an hour of virtual time).
const WAIT: Duration = Duration::from_secs(10);
/// A watch time long enough that an update stays where a test put it.
const FOREVER_MS: i32 = 3_600_000;

struct Sim {
    _sim: RunningSim,
    client: Client,
}

fn sim() -> Sim {
    let cluster = ClusterSpec::generated(4, 1, &HostResources::default()).unwrap();
    let sim = RunningSim::start(SimConfig::new(cluster), ServerOptions::default(), 200.0).unwrap();
    let mut client_config = ClientConfig::new(sim.url());
    client_config.retry = RetryPolicy::never();
    let client = Client::new(&client_config).unwrap();
    Sim { _sim: sim, client }
}

fn key(name: &str) -> JobKey {
    JobKey::new("www-data", "prod", name)
}

fn task(name: &str, version: &str) -> TaskConfig {
    TaskConfig {
        job: Some(key(name)),
        is_service: true,
        max_task_failures: 1,
        resources: Some(vec![
            Resource::NumCpus(0.25),
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

fn failing(name: &str, version: &str) -> TaskConfig {
    TaskConfig {
        metadata: Some(vec![Metadata {
            key: Some("sim.behavior".into()),
            value: Some("fail".into()),
        }]),
        ..task(name, version)
    }
}

/// The Python client's defaults (client-reference §4.1) with a shorter watch time.
fn settings(watch_ms: i32) -> JobUpdateSettings {
    JobUpdateSettings {
        update_group_size: 1,
        max_per_instance_failures: 0,
        max_failed_instances: 0,
        min_wait_in_instance_running_ms: watch_ms,
        rollback_on_failure: true,
        wait_for_batch_completion: false,
        sla_aware: Some(false),
        ..JobUpdateSettings::default()
    }
}

fn request(config: TaskConfig, instances: i32, settings: JobUpdateSettings) -> JobUpdateRequest {
    JobUpdateRequest {
        task_config: Some(config),
        instance_count: instances,
        settings: Some(settings),
        metadata: Some(vec![Metadata {
            key: Some("org.apache.aurora.client.update_id".into()),
            value: Some("c0ffee".into()),
        }]),
    }
}

fn code(r: &Response) -> ResponseCode {
    r.response_code.unwrap()
}

fn detail(r: &Response) -> String {
    r.details
        .iter()
        .flatten()
        .filter_map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

fn update_key(id: &str, name: &str) -> JobUpdateKey {
    JobUpdateKey {
        job: Some(key(name)),
        id: Some(id.into()),
    }
}

impl Sim {
    fn create(&self, name: &str, instances: i32) {
        let job = JobConfiguration {
            key: Some(key(name)),
            instance_count: instances,
            task_config: Some(task(name, "v1")),
            ..JobConfiguration::default()
        };
        self.client
            .call_ok(&CreateJob {
                description: Some(job),
            })
            .unwrap();
    }

    fn start_update(&self, request: JobUpdateRequest) -> Response {
        self.client
            .call(&StartJobUpdate {
                request: Some(request),
                message: Some("rolling out".into()),
            })
            .unwrap()
    }

    /// Starts an update that must be accepted; answers its key.
    fn start(&self, request: JobUpdateRequest) -> JobUpdateKey {
        let r = self.start_update(request);
        assert_eq!(code(&r), ResponseCode::OK, "{}", detail(&r));
        match r.result {
            Some(Result::StartJobUpdateResult(s)) => s.key.unwrap(),
            other => panic!("{other:?}"),
        }
    }

    fn summaries(&self, query: JobUpdateQuery) -> Vec<JobUpdateSummary> {
        let r = self
            .client
            .call_ok(&GetJobUpdateSummaries {
                job_update_query: Some(query),
            })
            .unwrap();
        match r.result {
            Some(Result::GetJobUpdateSummariesResult(s)) => s.update_summaries.unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    }

    fn status(&self, key: &JobUpdateKey) -> JobUpdateStatus {
        let found = self.summaries(JobUpdateQuery {
            key: Some(key.clone()),
            ..JobUpdateQuery::default()
        });
        assert_eq!(found.len(), 1, "{found:?}");
        found[0].state.as_ref().unwrap().status.unwrap()
    }

    /// Polls getJobUpdateSummaries as a client does until the update reaches `want` (bounded);
    /// answers every status seen on the way.
    fn wait_status(&self, key: &JobUpdateKey, want: JobUpdateStatus) -> Vec<JobUpdateStatus> {
        let started = Instant::now();
        let mut seen: Vec<JobUpdateStatus> = Vec::new();
        loop {
            let status = self.status(key);
            if seen.last() != Some(&status) {
                seen.push(status);
            }
            if status == want {
                return seen;
            }
            assert!(
                started.elapsed() < WAIT,
                "update never reached {want}; seen {seen:?}: {:#?}",
                self.details(key)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn details(&self, key: &JobUpdateKey) -> JobUpdateDetails {
        let r = self
            .client
            .call_ok(&GetJobUpdateDetails {
                key: None,
                query: Some(JobUpdateQuery {
                    key: Some(key.clone()),
                    ..JobUpdateQuery::default()
                }),
            })
            .unwrap();
        match r.result {
            Some(Result::GetJobUpdateDetailsResult(d)) => {
                d.details_list.unwrap().into_iter().next().unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    fn tasks(&self, name: &str) -> Vec<ScheduledTask> {
        let query = TaskQuery {
            job_keys: Some(vec![key(name)]),
            ..TaskQuery::default()
        };
        match self
            .client
            .call_ok(&GetTasksStatus { query: Some(query) })
            .unwrap()
            .result
        {
            Some(Result::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    }

    /// (instance, version, status) of the job's active tasks, by instance.
    fn active(&self, name: &str) -> Vec<(i32, String, ScheduleStatus)> {
        let mut out: Vec<(i32, String, ScheduleStatus)> = self
            .tasks(name)
            .into_iter()
            .filter(|t| t.status.unwrap().is_active())
            .map(|t| {
                let assigned = t.assigned_task.unwrap();
                let data = assigned
                    .task
                    .unwrap()
                    .executor_config
                    .unwrap()
                    .data
                    .unwrap();
                let version = data.split("\"version\":\"").nth(1).unwrap_or_default();
                let version = version.trim_end_matches("\"}").to_string();
                (assigned.instance_id, version, t.status.unwrap())
            })
            .collect();
        out.sort_by_key(|(i, _, _)| *i);
        out
    }

    fn wait_running(&self, name: &str, instances: usize) {
        let started = Instant::now();
        while self
            .active(name)
            .iter()
            .filter(|(_, _, s)| *s == ScheduleStatus::RUNNING)
            .count()
            < instances
        {
            assert!(started.elapsed() < WAIT, "{name}: {:?}", self.active(name));
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn control(&self, key: &JobUpdateKey, action: &str) -> Response {
        let key = Some(key.clone());
        let message = Some(format!("{action} by test"));
        match action {
            "pause" => self.client.call(&PauseJobUpdate { key, message }),
            "resume" => self.client.call(&ResumeJobUpdate { key, message }),
            "abort" => self.client.call(&AbortJobUpdate { key, message }),
            "rollback" => self.client.call(&RollbackJobUpdate { key, message }),
            other => panic!("{other}"),
        }
        .unwrap()
    }

    fn pulse(&self, key: JobUpdateKey) -> JobUpdatePulseStatus {
        let r = self
            .client
            .call_ok(&PulseJobUpdate { key: Some(key) })
            .unwrap();
        match r.result {
            Some(Result::PulseJobUpdateResult(p)) => p.status.unwrap(),
            other => panic!("{other:?}"),
        }
    }
}

fn instance_actions(d: &JobUpdateDetails) -> Vec<(i32, JobUpdateAction)> {
    d.instance_events
        .iter()
        .flatten()
        .map(|e| (e.instance_id, e.action.unwrap()))
        .collect()
}

fn event_statuses(d: &JobUpdateDetails) -> Vec<JobUpdateStatus> {
    d.update_events
        .iter()
        .flatten()
        .map(|e| e.status.unwrap())
        .collect()
}

#[test]
fn an_update_rolls_forward_and_leaves_the_new_config_running() {
    // §4.6.1 (OK with a fresh key and a summary without state), §4.6.3, §4.6.6 (a polling client
    // sees ROLLING_FORWARD then ROLLED_FORWARD).
    let s = sim();
    s.create("web", 3);
    s.wait_running("web", 3);
    let r = s.start_update(request(task("web", "v2"), 3, settings(30_000)));
    assert_eq!(code(&r), ResponseCode::OK, "{}", detail(&r));
    let Some(Result::StartJobUpdateResult(started)) = r.result else {
        panic!("{r:?}")
    };
    let key = started.key.unwrap();
    assert_eq!(key.job, Some(key_of("web")));
    let summary = started.update_summary.unwrap();
    assert_eq!(
        summary.state, None,
        "§6.1 item 6: no state in the echoed summary"
    );
    assert_eq!(summary.user.as_deref(), Some("UNSECURE"));
    assert!(summary.metadata.unwrap()[0].value.as_deref() == Some("c0ffee"));
    let seen = s.wait_status(&key, JobUpdateStatus::ROLLED_FORWARD);
    assert_eq!(
        seen,
        [
            JobUpdateStatus::ROLLING_FORWARD,
            JobUpdateStatus::ROLLED_FORWARD
        ]
    );
    let versions: Vec<(i32, String)> = s
        .active("web")
        .into_iter()
        .map(|(i, v, st)| {
            assert_eq!(st, ScheduleStatus::RUNNING);
            (i, v)
        })
        .collect();
    assert_eq!(
        versions,
        [(0, "v2".into()), (1, "v2".into()), (2, "v2".into())]
    );
    let d = s.details(&key);
    let events = d.update_events.clone().unwrap();
    assert_eq!(events[0].user.as_deref(), Some("UNSECURE"));
    assert_eq!(events[0].message.as_deref(), Some("rolling out"));
    let mut actions = instance_actions(&d);
    actions.sort_by_key(|(i, a)| (*i, a.0));
    assert_eq!(actions.len(), 6, "UPDATING and UPDATED for each instance");
    let instructions = d.update.unwrap().instructions.unwrap();
    assert_eq!(
        instructions.desired_state.unwrap().instances,
        Some(vec![Range { first: 0, last: 2 }])
    );
    assert!(
        matches!(
            instructions.settings.unwrap().update_strategy,
            Some(JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
                group_size: 1
            }))
        ),
        "§4.6.1 check 2: the strategy is filled in from updateGroupSize"
    );
}

fn key_of(name: &str) -> JobKey {
    key(name)
}

#[test]
fn an_unchanged_job_answers_ok_without_a_result() {
    // §4.6.1 check 12, §6.1 item 5: "Job is unchanged by proposed update."
    let s = sim();
    s.create("same", 2);
    let r = s.start_update(request(task("same", "v1"), 2, settings(1_000)));
    assert_eq!(code(&r), ResponseCode::OK);
    assert_eq!(r.result, None);
    assert_eq!(detail(&r), "Job is unchanged by proposed update.");
    assert!(s
        .summaries(JobUpdateQuery {
            job_key: Some(key("same")),
            ..JobUpdateQuery::default()
        })
        .is_empty());
}

#[test]
fn a_second_update_is_refused_with_the_active_key_and_state() {
    // §4.6.1 check 14, §6.1 item 4: INVALID_REQUEST, not JOB_UPDATING_ERROR, with the result.
    let s = sim();
    s.create("busy", 2);
    let first = s.start(request(task("busy", "v2"), 2, settings(FOREVER_MS)));
    let r = s.start_update(request(task("busy", "v3"), 2, settings(1_000)));
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(
        detail(&r).contains("active update already exists"),
        "{}",
        detail(&r)
    );
    let Some(Result::StartJobUpdateResult(conflict)) = r.result else {
        panic!("{r:?}")
    };
    assert_eq!(conflict.key.as_ref(), Some(&first));
    let summary = conflict.update_summary.unwrap();
    assert_eq!(
        summary.state.unwrap().status,
        Some(JobUpdateStatus::ROLLING_FORWARD)
    );
    assert_eq!(
        summary.metadata.unwrap()[0].value.as_deref(),
        Some("c0ffee"),
        "client-reference §4.3 step 5 finds its own update id here"
    );
}

#[test]
fn an_update_creates_a_job_that_does_not_exist() {
    // client-reference §4.3: every instance is an add; §4.6.2.
    let s = sim();
    let key = s.start(request(task("fresh", "v1"), 2, settings(5_000)));
    s.wait_status(&key, JobUpdateStatus::ROLLED_FORWARD);
    assert_eq!(
        s.active("fresh"),
        [
            (0, "v1".into(), ScheduleStatus::RUNNING),
            (1, "v1".into(), ScheduleStatus::RUNNING)
        ]
    );
    let d = s.details(&key);
    let instructions = d.update.unwrap().instructions.unwrap();
    assert_eq!(instructions.initial_state, Some(vec![]));
}

#[test]
fn fewer_instances_kill_the_extra_ones_for_good() {
    // §4.6.2: removed instances end KILLED and are not rescheduled; UPDATING then UPDATED.
    let s = sim();
    s.create("shrink", 4);
    s.wait_running("shrink", 4);
    let key = s.start(request(task("shrink", "v1"), 2, settings(1_000)));
    s.wait_status(&key, JobUpdateStatus::ROLLED_FORWARD);
    let d = s.details(&key);
    assert_eq!(
        instance_actions(&d),
        [
            (2, JobUpdateAction::INSTANCE_UPDATING),
            (2, JobUpdateAction::INSTANCE_UPDATED),
            (3, JobUpdateAction::INSTANCE_UPDATING),
            (3, JobUpdateAction::INSTANCE_UPDATED)
        ]
    );
    assert!(d
        .update
        .unwrap()
        .instructions
        .unwrap()
        .desired_state
        .is_none());
    // Well after the kills, still exactly two KILLED tasks and two running.
    std::thread::sleep(Duration::from_millis(100));
    let tasks = s.tasks("shrink");
    let killed: Vec<i32> = tasks
        .iter()
        .filter(|t| t.status == Some(ScheduleStatus::KILLED))
        .map(|t| t.assigned_task.as_ref().unwrap().instance_id)
        .collect();
    assert_eq!(killed, [2, 3]);
    assert_eq!(s.active("shrink").len(), 2);
}

#[test]
fn a_failing_version_rolls_back_with_instance_events_and_a_reason() {
    // §4.6.3 with the client defaults (0, 0, rollbackOnFailure): ROLLING_BACK then ROLLED_BACK; the
    // status message names the failed instance, how its task ended and why.
    let s = sim();
    s.create("flaky", 2);
    s.wait_running("flaky", 2);
    let key = s.start(request(failing("flaky", "v2"), 2, settings(10_000)));
    let seen = s.wait_status(&key, JobUpdateStatus::ROLLED_BACK);
    assert_eq!(seen.first(), Some(&JobUpdateStatus::ROLLING_FORWARD));
    let d = s.details(&key);
    assert_eq!(
        event_statuses(&d),
        [
            JobUpdateStatus::ROLLING_FORWARD,
            JobUpdateStatus::ROLLING_BACK,
            JobUpdateStatus::ROLLED_BACK
        ]
    );
    let reason = d.update_events.as_ref().unwrap()[1]
        .message
        .clone()
        .unwrap();
    assert!(
        reason.starts_with(
            "Latest failure: instance 0 of www-data/prod/flaky: task www-data-prod-flaky-0-"
        ) && reason
            .contains("ended FAILED (Task process exited with status 1 (sim.behavior=fail))"),
        "{reason}"
    );
    let actions = instance_actions(&d);
    let of = |instance: i32| -> Vec<JobUpdateAction> {
        actions
            .iter()
            .filter(|(i, _)| *i == instance)
            .map(|(_, a)| *a)
            .collect()
    };
    assert_eq!(
        of(0),
        [
            JobUpdateAction::INSTANCE_UPDATING,
            JobUpdateAction::INSTANCE_UPDATE_FAILED,
            JobUpdateAction::INSTANCE_ROLLING_BACK,
            JobUpdateAction::INSTANCE_ROLLED_BACK
        ]
    );
    // Instance 1 was never updated; the rollback pass may still watch its task (running for less
    // than the watch time when the rollback starts), which records ROLLING_BACK, ROLLED_BACK.
    assert!(
        !of(1).contains(&JobUpdateAction::INSTANCE_UPDATING),
        "{actions:?}"
    );
    assert_eq!(
        s.active("flaky")
            .into_iter()
            .map(|(i, v, _)| (i, v))
            .collect::<Vec<_>>(),
        [(0, "v1".into()), (1, "v1".into())]
    );
}

#[test]
fn without_rollback_on_failure_the_update_fails() {
    // §4.6.3: failure threshold with rollbackOnFailure false -> FAILED.
    let s = sim();
    s.create("stuck", 1);
    let mut no_rollback = settings(1_000);
    no_rollback.rollback_on_failure = false;
    let key = s.start(request(failing("stuck", "v2"), 1, no_rollback));
    s.wait_status(&key, JobUpdateStatus::FAILED);
    let d = s.details(&key);
    assert_eq!(
        event_statuses(&d),
        [JobUpdateStatus::ROLLING_FORWARD, JobUpdateStatus::FAILED]
    );
    assert!(d.update_events.unwrap()[1]
        .message
        .as_deref()
        .unwrap()
        .contains("instance 0"));
}

#[test]
fn pause_resume_rollback_and_abort_follow_the_transition_table() {
    // §4.6.4: transitions, no-ops, and INVALID_REQUEST once terminal; events keep user and message.
    let s = sim();
    s.create("ctl", 2);
    let key = s.start(request(task("ctl", "v2"), 2, settings(FOREVER_MS)));
    let ok = |action: &str, want: JobUpdateStatus| {
        let r = s.control(&key, action);
        assert_eq!(code(&r), ResponseCode::OK, "{action}: {}", detail(&r));
        assert_eq!(s.status(&key), want, "after {action}");
    };
    ok("resume", JobUpdateStatus::ROLLING_FORWARD); // no-op
    ok("pause", JobUpdateStatus::ROLL_FORWARD_PAUSED);
    ok("pause", JobUpdateStatus::ROLL_FORWARD_PAUSED); // no-op
    ok("resume", JobUpdateStatus::ROLLING_FORWARD);
    ok("rollback", JobUpdateStatus::ROLLING_BACK);
    ok("rollback", JobUpdateStatus::ROLLING_BACK); // no-op
    ok("pause", JobUpdateStatus::ROLL_BACK_PAUSED);
    ok("resume", JobUpdateStatus::ROLLING_BACK);
    ok("abort", JobUpdateStatus::ABORTED);
    for action in ["pause", "resume", "abort", "rollback"] {
        let r = s.control(&key, action);
        assert_eq!(
            code(&r),
            ResponseCode::INVALID_REQUEST,
            "{action} on ABORTED"
        );
    }
    let d = s.details(&key);
    assert_eq!(
        event_statuses(&d),
        [
            JobUpdateStatus::ROLLING_FORWARD,
            JobUpdateStatus::ROLL_FORWARD_PAUSED,
            JobUpdateStatus::ROLLING_FORWARD,
            JobUpdateStatus::ROLLING_BACK,
            JobUpdateStatus::ROLL_BACK_PAUSED,
            JobUpdateStatus::ROLLING_BACK,
            JobUpdateStatus::ABORTED
        ],
        "no-ops record nothing"
    );
    let abort = d.update_events.unwrap().last().cloned().unwrap();
    assert_eq!(abort.user.as_deref(), Some("UNSECURE"));
    assert_eq!(abort.message.as_deref(), Some("abort by test"));
    let unknown = s.control(&update_key("nope", "ctl"), "pause");
    assert_eq!(code(&unknown), ResponseCode::INVALID_REQUEST);
    let bad = s.control(
        &JobUpdateKey {
            job: Some(JobKey::new("www-data", "prod", "bad name")),
            id: Some("x".into()),
        },
        "pause",
    );
    assert_eq!(code(&bad), ResponseCode::ERROR, "§4.1: invalid job key");
}

#[test]
fn a_coordinated_update_waits_for_pulses() {
    // §4.6.5: starts awaiting a pulse; a pulse unblocks it; expiry blocks it again at the next
    // evaluation; FINISHED for unknown and non-coordinated updates.
    let s = sim();
    s.create("coord", 1);
    let mut coordinated = settings(120_000);
    coordinated.block_if_no_pulses_after_ms = Some(60_000);
    let key = s.start(request(task("coord", "v2"), 1, coordinated));
    assert_eq!(s.status(&key), JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        s.active("coord")[0].1,
        "v1",
        "nothing happens before the first pulse"
    );
    assert_eq!(s.pulse(key.clone()), JobUpdatePulseStatus::OK);
    assert_eq!(s.status(&key), JobUpdateStatus::ROLLING_FORWARD);
    // No more pulses: the watch time (120 s) outlasts the pulse timeout (60 s).
    s.wait_status(&key, JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE);
    let d = s.details(&key);
    assert_eq!(
        d.update_events.unwrap().last().unwrap().message.as_deref(),
        Some("Pulses from external service have timed out.")
    );
    assert_eq!(s.pulse(key.clone()), JobUpdatePulseStatus::OK);
    s.wait_status(&key, JobUpdateStatus::ROLLED_FORWARD);
    assert_eq!(s.pulse(key), JobUpdatePulseStatus::FINISHED, "finished");
    assert_eq!(
        s.pulse(update_key("no-such-update", "coord")),
        JobUpdatePulseStatus::FINISHED,
        "§6.1 item 7: unknown keys are FINISHED, not INVALID_REQUEST"
    );
    let plain = s.start(request(task("coord", "v3"), 1, settings(FOREVER_MS)));
    assert_eq!(
        s.pulse(plain),
        JobUpdatePulseStatus::FINISHED,
        "not coordinated"
    );
}

#[test]
fn job_update_diff_groups_instances_by_what_would_happen() {
    // §4.6.2 getJobUpdateDiff: add (new config), remove/update/unchanged (current config).
    let s = sim();
    s.create("diff", 3);
    let diff = |config: TaskConfig, count: i32, only: Option<Vec<Range>>| {
        let mut settings = settings(1_000);
        settings.update_only_these_instances = only;
        let r = s
            .client
            .call_ok(&GetJobUpdateDiff {
                request: Some(request(config, count, settings)),
            })
            .unwrap();
        match r.result {
            Some(Result::GetJobUpdateDiffResult(d)) => d,
            other => panic!("{other:?}"),
        }
    };
    let ranges = |groups: &Option<Vec<ConfigGroup>>| -> Vec<Range> {
        groups
            .iter()
            .flatten()
            .flat_map(|g| g.instances.clone().unwrap())
            .collect()
    };
    let grow = diff(task("diff", "v2"), 5, None);
    assert_eq!(ranges(&grow.add), [Range { first: 3, last: 4 }]);
    assert_eq!(ranges(&grow.update), [Range { first: 0, last: 2 }]);
    assert!(ranges(&grow.remove).is_empty() && ranges(&grow.unchanged).is_empty());
    let shown = |groups: &Option<Vec<ConfigGroup>>| {
        groups.as_ref().unwrap()[0]
            .config
            .as_ref()
            .unwrap()
            .executor_config
            .clone()
            .unwrap()
            .data
            .unwrap()
    };
    assert!(shown(&grow.add).contains("v2"), "add shows the new config");
    assert!(
        shown(&grow.update).contains("v1"),
        "update shows the current config"
    );
    let shrink = diff(task("diff", "v1"), 1, None);
    assert_eq!(ranges(&shrink.remove), [Range { first: 1, last: 2 }]);
    assert_eq!(ranges(&shrink.unchanged), [Range { first: 0, last: 0 }]);
    let canary = diff(
        task("diff", "v2"),
        3,
        Some(vec![Range { first: 1, last: 1 }]),
    );
    assert_eq!(ranges(&canary.update), [Range { first: 1, last: 1 }]);
    assert_eq!(
        ranges(&canary.unchanged),
        [Range { first: 0, last: 0 }, Range { first: 2, last: 2 }]
    );
    assert!(
        s.summaries(JobUpdateQuery::default()).is_empty(),
        "a diff starts nothing"
    );
}

#[test]
fn update_queries_filter_sort_and_page() {
    // §4.6.6: terms ANDed, newest-modified first, offset then limit; details in detailsList, the
    // deprecated key form in details.
    let s = sim();
    let a = s.start(request(task("qa", "v1"), 1, settings(0)));
    s.wait_status(&a, JobUpdateStatus::ROLLED_FORWARD);
    let b = s.start(request(task("qb", "v1"), 1, settings(FOREVER_MS)));
    let ids = |found: Vec<JobUpdateSummary>| -> Vec<String> {
        found
            .into_iter()
            .map(|u| u.key.unwrap().id.unwrap())
            .collect()
    };
    let (a_id, b_id) = (a.id.clone().unwrap(), b.id.clone().unwrap());
    assert_eq!(
        ids(s.summaries(JobUpdateQuery::default())),
        [b_id.as_str(), a_id.as_str()]
    );
    let q = |f: &dyn Fn(&mut JobUpdateQuery)| {
        let mut query = JobUpdateQuery::default();
        f(&mut query);
        ids(s.summaries(query))
    };
    assert_eq!(q(&|q| q.job_key = Some(key("qa"))), [a_id.as_str()]);
    assert_eq!(q(&|q| q.key = Some(b.clone())), [b_id.as_str()]);
    assert_eq!(
        q(&|q| q.update_statuses = Some(JobUpdateStatus::ACTIVE.to_vec())),
        [b_id.as_str()]
    );
    assert_eq!(q(&|q| q.role = Some("www-data".into())).len(), 2);
    assert!(q(&|q| q.role = Some("other".into())).is_empty());
    assert_eq!(q(&|q| q.user = Some("UNSECURE".into())).len(), 2);
    assert!(q(&|q| {
        q.user = Some("UNSECURE".into());
        q.job_key = Some(key("nothing"));
    })
    .is_empty());
    assert_eq!(q(&|q| q.limit = 1), [b_id.as_str()]);
    assert_eq!(
        q(&|q| {
            q.offset = 1;
            q.limit = 5;
        }),
        [a_id.as_str()]
    );
    let r = s
        .client
        .call_ok(&GetJobUpdateDetails {
            key: Some(a.clone()),
            query: None,
        })
        .unwrap();
    assert!(detail(&r).contains("deprecated"), "{}", detail(&r));
    let Some(Result::GetJobUpdateDetailsResult(d)) = r.result else {
        panic!("{r:?}")
    };
    assert!(d.details_list.is_none());
    assert_eq!(
        d.details.unwrap().update.unwrap().summary.unwrap().key,
        Some(a)
    );
    let unknown = s
        .client
        .call(&GetJobUpdateDetails {
            key: Some(update_key("nope", "qa")),
            query: None,
        })
        .unwrap();
    assert_eq!(code(&unknown), ResponseCode::INVALID_REQUEST);
    let neither = s
        .client
        .call(&GetJobUpdateDetails {
            key: None,
            query: None,
        })
        .unwrap();
    assert_eq!(code(&neither), ResponseCode::ERROR);
}

#[test]
fn an_active_update_blocks_job_changes_even_when_paused() {
    // §4.6.3 "While an update is active", §6.1 item 20: JOB_UPDATING_ERROR.
    let s = sim();
    s.create("locked", 2);
    let key = s.start(request(task("locked", "v2"), 2, settings(FOREVER_MS)));
    s.control(&key, "pause");
    let kill = s
        .client
        .call(&KillTasks {
            job: Some(key_of("locked")),
            ..KillTasks::default()
        })
        .unwrap();
    assert_eq!(
        code(&kill),
        ResponseCode::JOB_UPDATING_ERROR,
        "{}",
        detail(&kill)
    );
    assert!(
        detail(&kill).contains(key.id.as_deref().unwrap()),
        "{}",
        detail(&kill)
    );
    let restart = s
        .client
        .call(&RestartShards {
            job: Some(key_of("locked")),
            shard_ids: Some(vec![0]),
        })
        .unwrap();
    assert_eq!(code(&restart), ResponseCode::JOB_UPDATING_ERROR);
    let add = s
        .client
        .call(&AddInstances {
            key: Some(InstanceKey {
                job_key: Some(key_of("locked")),
                instance_id: 0,
            }),
            count: 1,
        })
        .unwrap();
    assert_eq!(code(&add), ResponseCode::JOB_UPDATING_ERROR);
    let create = s
        .client
        .call(&CreateJob {
            description: Some(JobConfiguration {
                key: Some(key_of("locked")),
                instance_count: 1,
                task_config: Some(task("locked", "v1")),
                ..JobConfiguration::default()
            }),
        })
        .unwrap();
    assert_eq!(code(&create), ResponseCode::JOB_UPDATING_ERROR);
    s.control(&key, "abort");
    let kill = s
        .client
        .call(&KillTasks {
            job: Some(key_of("locked")),
            ..KillTasks::default()
        })
        .unwrap();
    assert_eq!(code(&kill), ResponseCode::OK, "free again once aborted");
}

#[test]
fn batch_strategy_starts_a_batch_only_when_the_previous_one_is_done() {
    // §4.6.3 Batch(groupSize): batches of two, the second after both of the first succeeded.
    let s = sim();
    s.create("batched", 4);
    let mut batched = settings(5_000);
    batched.update_strategy = Some(JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
        group_size: 2,
        autopause_after_batch: false,
    }));
    let key = s.start(request(task("batched", "v2"), 4, batched));
    s.wait_status(&key, JobUpdateStatus::ROLLED_FORWARD);
    let events = s.details(&key).instance_events.unwrap();
    let at = |instance: i32, action: JobUpdateAction| {
        events
            .iter()
            .find(|e| e.instance_id == instance && e.action == Some(action))
            .map(|e| e.timestamp_ms)
            .unwrap()
    };
    let first_done =
        at(0, JobUpdateAction::INSTANCE_UPDATED).max(at(1, JobUpdateAction::INSTANCE_UPDATED));
    assert_eq!(
        at(0, JobUpdateAction::INSTANCE_UPDATING),
        at(1, JobUpdateAction::INSTANCE_UPDATING)
    );
    assert_eq!(at(2, JobUpdateAction::INSTANCE_UPDATING), first_done);
    assert_eq!(at(3, JobUpdateAction::INSTANCE_UPDATING), first_done);
}

#[test]
fn variable_batches_use_their_sizes_and_can_pause_after_each() {
    // §4.6.3 VariableBatch(groupSizes) with autopauseAfterBatch: ROLL_FORWARD_PAUSED after the
    // first batch of one; resume runs the next batch of three.
    let s = sim();
    s.create("canary", 4);
    let mut variable = settings(5_000);
    variable.update_strategy = Some(JobUpdateStrategy::VarBatchStrategy(
        VariableBatchJobUpdateStrategy {
            group_sizes: Some(vec![1, 3]),
            autopause_after_batch: true,
        },
    ));
    let key = s.start(request(task("canary", "v2"), 4, variable));
    s.wait_status(&key, JobUpdateStatus::ROLL_FORWARD_PAUSED);
    let d = s.details(&key);
    assert_eq!(
        instance_actions(&d),
        [
            (0, JobUpdateAction::INSTANCE_UPDATING),
            (0, JobUpdateAction::INSTANCE_UPDATED)
        ]
    );
    assert!(d.update_events.unwrap()[1]
        .message
        .as_deref()
        .unwrap()
        .contains("auto-paused"));
    assert_eq!(code(&s.control(&key, "resume")), ResponseCode::OK);
    s.wait_status(&key, JobUpdateStatus::ROLLED_FORWARD);
    let events = s.details(&key).instance_events.unwrap();
    let started: Vec<i64> = events
        .iter()
        .filter(|e| e.instance_id > 0 && e.action == Some(JobUpdateAction::INSTANCE_UPDATING))
        .map(|e| e.timestamp_ms)
        .collect();
    assert_eq!(started.len(), 3);
    assert!(
        started.iter().all(|t| *t == started[0]),
        "one batch of three"
    );
}

#[test]
fn start_job_update_refusals_follow_the_reference_table() {
    // §4.6.1 checks 0, 1, 3, 5, 6, 7, 8, 9, 11 and 13, each with its response code.
    let s = sim();
    s.create("checks", 2);
    let refused = |request: JobUpdateRequest, want: ResponseCode, words: &str| {
        let r = s.start_update(request);
        assert_eq!(code(&r), want, "{words}: {}", detail(&r));
        assert!(
            detail(&r).to_lowercase().contains(&words.to_lowercase()),
            "{words}: {}",
            detail(&r)
        );
    };
    let mut batch = task("checks", "v2");
    batch.is_service = false;
    refused(
        request(batch, 2, settings(0)),
        ResponseCode::INVALID_REQUEST,
        "non-service",
    );
    let mut no_settings = request(task("checks", "v2"), 2, settings(0));
    no_settings.settings = None;
    refused(no_settings, ResponseCode::ERROR, "settings");
    let with = |f: &dyn Fn(&mut JobUpdateSettings)| {
        let mut settings = settings(0);
        f(&mut settings);
        request(task("checks", "v2"), 2, settings)
    };
    let bad = ResponseCode::INVALID_REQUEST;
    refused(with(&|s| s.update_group_size = 0), bad, "groupSize");
    refused(
        with(&|s| s.max_failed_instances = -1),
        bad,
        "maxFailedInstances",
    );
    refused(
        with(&|s| s.max_per_instance_failures = 10_001),
        bad,
        "too many failures",
    );
    refused(
        with(&|s| s.min_wait_in_instance_running_ms = -1),
        bad,
        "minWaitInInstanceRunningMs",
    );
    refused(
        with(&|s| s.block_if_no_pulses_after_ms = Some(-5)),
        bad,
        "blockIfNoPulsesAfterMs",
    );
    refused(with(&|s| s.sla_aware = Some(true)), bad, "slaPolicy");
    refused(
        with(&|s| s.update_only_these_instances = Some(vec![Range { first: 7, last: 8 }])),
        bad,
        "[7, 8]",
    );
    let mut unknown_tier = task("checks", "v2");
    unknown_tier.tier = Some("gold".into());
    refused(request(unknown_tier, 2, settings(0)), bad, "tier");
    refused(
        request(task("checks", "v2"), 5_000, settings(0)),
        bad,
        "instance count",
    );
    let mut production = task("checks", "v2");
    production.tier = Some("preferred".into());
    refused(request(production, 2, settings(0)), bad, "quota");
    let long = s
        .client
        .call(&PauseJobUpdate {
            key: Some(update_key("x", "checks")),
            message: Some("x".repeat(1025)),
        })
        .unwrap();
    assert_eq!(
        code(&long),
        ResponseCode::ERROR,
        "message over 1024 characters"
    );
}

#[test]
fn a_canary_update_changes_only_the_named_instances() {
    // §4.6.2 and §5.2 "Canary / partial updates": updateOnlyTheseInstances restricts the update;
    // the job then runs two configurations.
    let s = sim();
    s.create("canary-web", 3);
    let mut canary = settings(1_000);
    canary.update_only_these_instances = Some(vec![Range { first: 1, last: 1 }]);
    let key = s.start(request(task("canary-web", "v2"), 3, canary));
    s.wait_status(&key, JobUpdateStatus::ROLLED_FORWARD);
    assert_eq!(
        s.active("canary-web")
            .into_iter()
            .map(|(i, v, _)| (i, v))
            .collect::<Vec<_>>(),
        [(0, "v1".into()), (1, "v2".into()), (2, "v1".into())]
    );
    let instructions = s.details(&key).update.unwrap().instructions.unwrap();
    assert_eq!(
        instructions.desired_state.unwrap().instances,
        Some(vec![Range { first: 1, last: 1 }])
    );
    assert_eq!(
        instructions.initial_state.unwrap()[0].instances,
        Some(vec![Range { first: 1, last: 1 }])
    );
}
