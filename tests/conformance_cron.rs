//! Conformance of aurora-sim's cron jobs to api-reference §4.5 (and the cron parts of §4.4, §4.6
//! and §4.9), through the project's own client against a live simulator on 127.0.0.1 running 600x
//! virtual time (a virtual minute is 0.1 s). Each test names the section it follows; every wait
//! is bounded.

use std::time::{Duration, Instant};

use aurora_ansible::api::client::{Client, ClientConfig, RetryPolicy};
use aurora_ansible::api::methods::*;
use aurora_ansible::api::types::*;
use aurora_ansible::sim::config::{ClusterSpec, HostResources, SimConfig};
use aurora_ansible::sim::server::{RunningSim, ServerOptions};

/// Real time any one wait may take (600x: 10 s real is 100 minutes of virtual time).
const WAIT: Duration = Duration::from_secs(10);
const MINUTE_MS: i64 = 60_000;
/// A schedule that does not fire while a test runs (29 February, midnight).
const RARELY: &str = "0 0 29 2 *";

struct Sim {
    _sim: RunningSim,
    client: Client,
    url: String,
}

fn sim() -> Sim {
    let cluster = ClusterSpec::generated(4, 1, &HostResources::default()).unwrap();
    let sim = RunningSim::start(SimConfig::new(cluster), ServerOptions::default(), 600.0).unwrap();
    let mut client_config = ClientConfig::new(sim.url());
    client_config.retry = RetryPolicy::never();
    let client = Client::new(&client_config).unwrap();
    let url = sim.url().to_string();
    Sim {
        _sim: sim,
        client,
        url,
    }
}

fn key(name: &str) -> JobKey {
    JobKey::new("www-data", "prod", name)
}

fn task(name: &str) -> TaskConfig {
    TaskConfig {
        job: Some(key(name)),
        is_service: false,
        max_task_failures: 1,
        resources: Some(vec![
            Resource::NumCpus(0.25),
            Resource::RamMb(64),
            Resource::DiskMb(64),
        ]),
        executor_config: Some(ExecutorConfig {
            name: Some(AURORA_EXECUTOR_NAME.into()),
            data: Some(format!(r#"{{"name":"{name}"}}"#)),
        }),
        ..TaskConfig::default()
    }
}

/// A cron job whose tasks run until killed, as the Python client sends it (policy always set).
fn cron_job(name: &str, schedule: &str, instances: i32) -> JobConfiguration {
    JobConfiguration {
        key: Some(key(name)),
        cron_schedule: Some(schedule.into()),
        cron_collision_policy: Some(CronCollisionPolicy::KILL_EXISTING),
        task_config: Some(task(name)),
        instance_count: instances,
        ..JobConfiguration::default()
    }
}

fn with_policy(mut job: JobConfiguration, policy: CronCollisionPolicy) -> JobConfiguration {
    job.cron_collision_policy = Some(policy);
    job
}

/// Tasks that end on their own (`sim.behavior`) after `secs` of running.
fn finishing(mut job: JobConfiguration, secs: u32) -> JobConfiguration {
    if let Some(task) = job.task_config.as_mut() {
        task.metadata = Some(vec![Metadata {
            key: Some("sim.behavior".into()),
            value: Some(format!("finish:{secs}")),
        }]);
    }
    job
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

fn count(tasks: &[ScheduledTask], status: ScheduleStatus) -> usize {
    tasks.iter().filter(|t| t.status == Some(status)).count()
}

fn active(tasks: &[ScheduledTask]) -> usize {
    tasks
        .iter()
        .filter(|t| t.status.is_some_and(|s| s.is_active()))
        .count()
}

/// When the task was created (its first event).
fn created_at(task: &ScheduledTask) -> i64 {
    task.task_events.as_ref().unwrap()[0].timestamp
}

/// When the task entered `status`.
fn entered(task: &ScheduledTask, status: ScheduleStatus) -> Option<i64> {
    task.task_events
        .iter()
        .flatten()
        .find(|e| e.status == Some(status))
        .map(|e| e.timestamp)
}

fn task_id(task: &ScheduledTask) -> String {
    task.assigned_task
        .as_ref()
        .unwrap()
        .task_id
        .clone()
        .unwrap()
}

/// The distinct creation instants of a job's tasks: one per run.
fn runs(tasks: &[ScheduledTask]) -> Vec<i64> {
    let mut at: Vec<i64> = tasks.iter().map(created_at).collect();
    at.sort_unstable();
    at.dedup();
    at
}

impl Sim {
    fn schedule(&self, job: JobConfiguration) -> Response {
        self.client
            .call(&ScheduleCronJob {
                description: Some(job),
            })
            .unwrap()
    }

    fn schedule_ok(&self, job: JobConfiguration) {
        let r = self.schedule(job);
        assert_eq!(code(&r), ResponseCode::OK, "{}", detail(&r));
    }

    fn replace(&self, job: JobConfiguration) -> Response {
        self.client
            .call(&ReplaceCronTemplate { config: Some(job) })
            .unwrap()
    }

    fn deschedule(&self, job: JobKey) -> Response {
        self.client
            .call(&DescheduleCronJob { job: Some(job) })
            .unwrap()
    }

    fn start(&self, job: JobKey) -> Response {
        self.client.call(&StartCronJob { job: Some(job) }).unwrap()
    }

    fn create(&self, job: JobConfiguration) -> Response {
        self.client
            .call(&CreateJob {
                description: Some(job),
            })
            .unwrap()
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

    /// Polls the job's tasks until `done` holds (bounded); answers them.
    fn wait_for(
        &self,
        name: &str,
        what: &str,
        done: impl Fn(&[ScheduledTask]) -> bool,
    ) -> Vec<ScheduledTask> {
        let started = Instant::now();
        loop {
            let tasks = self.tasks(name);
            if done(&tasks) {
                return tasks;
            }
            assert!(
                started.elapsed() < WAIT,
                "{name}: never {what}: {:?}",
                tasks
                    .iter()
                    .map(|t| (task_id(t), t.status))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn summary(&self, name: &str) -> Option<JobSummary> {
        let r = self
            .client
            .call_ok(&GetJobSummary {
                role: Some("www-data".into()),
            })
            .unwrap();
        let Some(Result::JobSummaryResult(s)) = r.result else {
            panic!("{r:?}")
        };
        s.summaries
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.job.as_ref().and_then(|j| j.key.clone()) == Some(key(name)))
    }

    fn next_run(&self, name: &str) -> i64 {
        self.summary(name)
            .and_then(|s| s.next_cron_run_ms)
            .unwrap_or_else(|| panic!("{name} has no nextCronRunMs"))
    }

    fn jobs(&self) -> Vec<JobConfiguration> {
        let r = self
            .client
            .call_ok(&GetJobs {
                owner_role: Some("www-data".into()),
            })
            .unwrap();
        let Some(Result::GetJobsResult(j)) = r.result else {
            panic!("{r:?}")
        };
        j.configs.unwrap_or_default()
    }

    fn stored(&self, name: &str) -> Option<JobConfiguration> {
        self.jobs()
            .into_iter()
            .find(|j| j.key.as_ref() == Some(&key(name)))
    }
}

// ---------------------------------------------------------------------------------------------
// scheduleCronJob, replaceCronTemplate, descheduleCronJob, startCronJob

#[test]
fn schedule_cron_job_registers_a_populated_template_and_starts_nothing() {
    // §2.3 and §4.5: "OK; nothing runs until the schedule fires or startCronJob is called";
    // §4.4: getJobs returns the stored template, getRoleSummary counts it.
    let s = sim();
    s.schedule_ok(cron_job("nightly", RARELY, 2));
    std::thread::sleep(Duration::from_millis(100));
    assert!(s.tasks("nightly").is_empty(), "scheduling starts nothing");
    let stored = s.stored("nightly").expect("the template in getJobs");
    assert_eq!(stored.cron_schedule.as_deref(), Some(RARELY));
    assert_eq!(
        stored.cron_collision_policy,
        Some(CronCollisionPolicy::KILL_EXISTING)
    );
    assert_eq!(stored.instance_count, 2);
    let populated = stored.task_config.unwrap();
    assert_eq!(
        populated.tier.as_deref(),
        Some("preemptible"),
        "stored populated"
    );
    assert_eq!(populated.production, Some(false));
    let r = s.client.call_ok(&GetRoleSummary {}).unwrap();
    let Some(Result::RoleSummaryResult(roles)) = r.result else {
        panic!("{r:?}")
    };
    let role = roles
        .summaries
        .unwrap()
        .into_iter()
        .find(|r| r.role.as_deref() == Some("www-data"))
        .expect("a role with only a cron template is listed");
    assert_eq!((role.job_count, role.cron_job_count), (0, 1));
}

#[test]
fn schedule_cron_job_again_replaces_the_template() {
    // §4.5: "Template already exists → template replaced and rescheduled; OK".
    let s = sim();
    s.schedule_ok(cron_job("nightly", RARELY, 1));
    s.schedule_ok(with_policy(
        cron_job("nightly", "*/5 * * * *", 3),
        CronCollisionPolicy::CANCEL_NEW,
    ));
    let stored = s.stored("nightly").unwrap();
    assert_eq!(stored.cron_schedule.as_deref(), Some("*/5 * * * *"));
    assert_eq!(
        stored.cron_collision_policy,
        Some(CronCollisionPolicy::CANCEL_NEW)
    );
    assert_eq!(stored.instance_count, 3);
    assert_eq!(
        s.next_run("nightly") % (5 * MINUTE_MS),
        0,
        "rescheduled on the new schedule"
    );
    assert_eq!(s.jobs().len(), 1);
}

#[test]
fn replace_cron_template_needs_an_existing_template() {
    // §4.5: replaceCronTemplate replaces an existing template; "no template exists →
    // INVALID_REQUEST".
    let s = sim();
    let r = s.replace(cron_job("nightly", RARELY, 1));
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(
        detail(&r).contains("No cron job found for www-data/prod/nightly"),
        "{}",
        detail(&r)
    );
    assert!(s.stored("nightly").is_none(), "nothing was created");
    s.schedule_ok(cron_job("nightly", RARELY, 1));
    let r = s.replace(cron_job("nightly", "30 4 * * *", 2));
    assert_eq!(code(&r), ResponseCode::OK, "{}", detail(&r));
    let stored = s.stored("nightly").unwrap();
    assert_eq!(stored.cron_schedule.as_deref(), Some("30 4 * * *"));
    assert_eq!(stored.instance_count, 2);
}

#[test]
fn deschedule_removes_the_template_and_an_unknown_job_is_ok_with_a_message() {
    // §4.5 descheduleCronJob: "template removed → OK; no such template → still OK, with a
    // detail saying the job is not scheduled with cron".
    let s = sim();
    s.schedule_ok(cron_job("nightly", RARELY, 1));
    let r = s.deschedule(key("nightly"));
    assert_eq!(code(&r), ResponseCode::OK);
    assert!(detail(&r).is_empty(), "{}", detail(&r));
    assert!(s.stored("nightly").is_none());
    assert!(s.summary("nightly").is_none());
    let again = s.deschedule(key("nightly"));
    assert_eq!(code(&again), ResponseCode::OK);
    assert_eq!(
        detail(&again),
        "Job www-data/prod/nightly is not scheduled with cron"
    );
}

#[test]
fn start_cron_job_runs_the_template_now_and_needs_a_template() {
    // §4.5 startCronJob: "no template → INVALID_REQUEST; otherwise OK and one run is
    // triggered"; a run creates PENDING tasks for instances 0..instanceCount-1.
    let s = sim();
    let r = s.start(key("nightly"));
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(
        detail(&r).contains("No cron job found for www-data/prod/nightly"),
        "{}",
        detail(&r)
    );
    s.schedule_ok(cron_job("nightly", RARELY, 3));
    assert_eq!(code(&s.start(key("nightly"))), ResponseCode::OK);
    let tasks = s.wait_for("nightly", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 3
    });
    let mut instances: Vec<i32> = tasks
        .iter()
        .map(|t| t.assigned_task.as_ref().unwrap().instance_id)
        .collect();
    instances.sort_unstable();
    assert_eq!(instances, [0, 1, 2]);
    for t in &tasks {
        assert!(
            entered(t, ScheduleStatus::PENDING).is_some(),
            "every task starts PENDING"
        );
        assert!(
            !t.assigned_task
                .as_ref()
                .unwrap()
                .task
                .as_ref()
                .unwrap()
                .is_service
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Validation (§4.5 table, §4.1, §4.3)

#[test]
fn schedule_cron_job_refuses_a_job_without_a_schedule_and_a_service() {
    // §4.5: "cronSchedule empty/absent → INVALID_REQUEST (job has no cron schedule)";
    // "Validation failure (4.3), e.g. isService = true → INVALID_REQUEST".
    let s = sim();
    for schedule in [None, Some(String::new())] {
        let mut job = cron_job("nightly", RARELY, 1);
        job.cron_schedule = schedule;
        let r = s.schedule(job);
        assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
        assert!(
            detail(&r).contains("Job www-data/prod/nightly has no cron schedule"),
            "{}",
            detail(&r)
        );
    }
    let mut service = cron_job("web", RARELY, 1);
    service.task_config.as_mut().unwrap().is_service = true;
    let r = s.schedule(service);
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(detail(&r).contains("service"), "{}", detail(&r));
    let mut bad_environment = cron_job("nightly", RARELY, 1);
    bad_environment.key = Some(JobKey::new("www-data", "qa", "nightly"));
    bad_environment.task_config.as_mut().unwrap().job = bad_environment.key.clone();
    assert_eq!(
        code(&s.schedule(bad_environment)),
        ResponseCode::INVALID_REQUEST
    );
    let mut no_instances = cron_job("nightly", RARELY, 1);
    no_instances.instance_count = 0;
    assert_eq!(
        code(&s.schedule(no_instances)),
        ResponseCode::INVALID_REQUEST
    );
    assert!(s.jobs().is_empty(), "nothing was stored");
}

#[test]
fn schedule_cron_job_refuses_schedules_aurora_does_not_parse() {
    // §4.5 crontab syntax: five fields; day-of-week 0-6 (7 is not accepted); not both day fields;
    // no @hourly-style shortcuts. "Schedule does not parse → INVALID_REQUEST".
    let s = sim();
    for bad in [
        "0 0 * * 7",
        "@hourly",
        "* * * *",
        "0 0 * * * *",
        "0 0 15 * MON",
        "61 * * * *",
        "0 0 L * *",
        "every day",
    ] {
        let r = s.schedule(cron_job("nightly", bad, 1));
        assert_eq!(
            code(&r),
            ResponseCode::INVALID_REQUEST,
            "{bad:?} was accepted"
        );
        assert!(
            detail(&r).contains(&format!("Invalid cron schedule: {bad}")),
            "{}",
            detail(&r)
        );
    }
    for good in ["*/15 2-4 * * MON-FRI", "0 12 1,15 jan,jul *", "5 4 * * sun"] {
        let r = s.schedule(cron_job("nightly", good, 1));
        assert_eq!(code(&r), ResponseCode::OK, "{good:?}: {}", detail(&r));
    }
}

#[test]
fn run_overlap_is_refused_by_schedule_and_replace() {
    // §3.1 and §4.5: "cronCollisionPolicy = RUN_OVERLAP → INVALID_REQUEST (policy removed)".
    let s = sim();
    let overlap = with_policy(
        cron_job("nightly", RARELY, 1),
        CronCollisionPolicy::RUN_OVERLAP,
    );
    let r = s.schedule(overlap.clone());
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(
        detail(&r).contains("The RUN_OVERLAP collision policy has been removed"),
        "{}",
        detail(&r)
    );
    s.schedule_ok(cron_job("nightly", RARELY, 1));
    let r = s.replace(overlap);
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert_eq!(
        s.stored("nightly").unwrap().cron_collision_policy,
        Some(CronCollisionPolicy::KILL_EXISTING),
        "the template is unchanged"
    );
}

#[test]
fn cron_calls_with_an_invalid_job_key_are_errors() {
    // §4.1: without authentication an invalid job key fails an assertion: ERROR.
    let s = sim();
    let bad = JobKey::new("www-data", "prod", "bad name");
    let mut job = cron_job("nightly", RARELY, 1);
    job.key = Some(bad.clone());
    assert_eq!(code(&s.schedule(job.clone())), ResponseCode::ERROR);
    assert_eq!(code(&s.replace(job)), ResponseCode::ERROR);
    assert_eq!(code(&s.deschedule(bad.clone())), ResponseCode::ERROR);
    assert_eq!(code(&s.start(bad)), ResponseCode::ERROR);
}

#[test]
fn schedule_cron_job_refuses_a_key_with_active_non_cron_tasks() {
    // §4.5: "No template, but the key has active (non-cron) tasks → INVALID_REQUEST (job already
    // exists)".
    let s = sim();
    let mut batch = cron_job("adhoc", RARELY, 1);
    batch.cron_schedule = None;
    let r = s.create(batch);
    assert_eq!(code(&r), ResponseCode::OK, "{}", detail(&r));
    let r = s.schedule(cron_job("adhoc", RARELY, 1));
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(
        detail(&r).contains("Job www-data/prod/adhoc already exists"),
        "{}",
        detail(&r)
    );
}

#[test]
fn create_job_refuses_a_cron_schedule_and_a_key_holding_a_cron_template() {
    // §4.4 createJob: "cronSchedule non-empty → INVALID_REQUEST (use scheduleCronJob)"; "Job
    // already exists: any active task with this key, or a cron template with this key".
    let s = sim();
    let r = s.create(cron_job("nightly", RARELY, 1));
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(detail(&r).contains("scheduleCronJob"), "{}", detail(&r));
    assert!(s.tasks("nightly").is_empty());
    s.schedule_ok(cron_job("nightly", RARELY, 1));
    let mut plain = cron_job("nightly", RARELY, 1);
    plain.cron_schedule = None;
    let r = s.create(plain);
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(
        detail(&r).contains("Job www-data/prod/nightly already exists"),
        "{}",
        detail(&r)
    );
}

#[test]
fn add_instances_and_updates_refuse_cron_jobs() {
    // §4.4 addInstances: "Job is a cron job: INVALID_REQUEST"; §4.6.1 check 10 and §4.6.2:
    // startJobUpdate and getJobUpdateDiff reject cron jobs.
    let s = sim();
    s.schedule_ok(cron_job("nightly", RARELY, 1));
    assert_eq!(code(&s.start(key("nightly"))), ResponseCode::OK);
    s.wait_for("nightly", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 1
    });
    let r = s
        .client
        .call(&AddInstances {
            key: Some(InstanceKey {
                job_key: Some(key("nightly")),
                instance_id: 0,
            }),
            count: 1,
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(detail(&r).contains("cron"), "{}", detail(&r));
    let mut service = task("nightly");
    service.is_service = true;
    let request = JobUpdateRequest {
        task_config: Some(service),
        instance_count: 1,
        settings: Some(JobUpdateSettings {
            update_group_size: 1,
            ..JobUpdateSettings::default()
        }),
        metadata: None,
    };
    let r = s
        .client
        .call(&StartJobUpdate {
            request: Some(request.clone()),
            message: None,
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(
        detail(&r).contains("Cron jobs may only be created/updated by calling scheduleCronJob"),
        "{}",
        detail(&r)
    );
    let r = s
        .client
        .call(&GetJobUpdateDiff {
            request: Some(request),
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert_eq!(active(&s.tasks("nightly")), 1, "nothing changed");
}

#[test]
fn an_active_update_blocks_schedule_and_deschedule() {
    // §4.5: "Job has an active update → JOB_UPDATING_ERROR" for scheduleCronJob and
    // descheduleCronJob (§4.6.3 lists both).
    let s = sim();
    let mut service = task("web");
    service.is_service = true;
    let r = s.create(JobConfiguration {
        key: Some(key("web")),
        task_config: Some(service.clone()),
        instance_count: 1,
        ..JobConfiguration::default()
    });
    assert_eq!(code(&r), ResponseCode::OK, "{}", detail(&r));
    service.executor_config.as_mut().unwrap().data = Some(r#"{"name":"web","v":2}"#.into());
    // A coordinated update waits for its first pulse, so it stays active.
    let r = s
        .client
        .call(&StartJobUpdate {
            request: Some(JobUpdateRequest {
                task_config: Some(service),
                instance_count: 1,
                settings: Some(JobUpdateSettings {
                    update_group_size: 1,
                    block_if_no_pulses_after_ms: Some(3_600_000),
                    ..JobUpdateSettings::default()
                }),
                metadata: None,
            }),
            message: None,
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::OK, "{}", detail(&r));
    let r = s.schedule(cron_job("web", RARELY, 1));
    assert_eq!(code(&r), ResponseCode::JOB_UPDATING_ERROR, "{}", detail(&r));
    let r = s.deschedule(key("web"));
    assert_eq!(code(&r), ResponseCode::JOB_UPDATING_ERROR, "{}", detail(&r));
}

// ---------------------------------------------------------------------------------------------
// Runs on the virtual clock and nextCronRunMs

#[test]
fn runs_fire_at_the_scheduled_instants_on_the_virtual_clock() {
    // §4.5 "What a run does (scheduled ...)": a run at every scheduled instant (UTC, whole
    // minutes); each run creates the template's instances; finished runs do not collide.
    let s = sim();
    s.schedule_ok(finishing(cron_job("minutely", "* * * * *", 2), 1));
    let first = s.next_run("minutely");
    assert_eq!(first % MINUTE_MS, 0, "a whole minute");
    let tasks = s.wait_for("minutely", "ran three times", |t| runs(t).len() >= 3);
    let at = runs(&tasks);
    assert_eq!(
        at[0], first,
        "the first run starts at the predicted instant"
    );
    assert_eq!(at[1], first + MINUTE_MS);
    assert_eq!(at[2], first + 2 * MINUTE_MS);
    for run in &at[..3] {
        let instances: Vec<i32> = tasks
            .iter()
            .filter(|t| created_at(t) == *run)
            .map(|t| t.assigned_task.as_ref().unwrap().instance_id)
            .collect();
        assert_eq!(instances.len(), 2, "two instances per run");
        assert!(instances.contains(&0) && instances.contains(&1));
    }
    assert!(
        tasks
            .iter()
            .filter(|t| created_at(t) < at[2])
            .all(|t| t.status == Some(ScheduleStatus::FINISHED)),
        "earlier runs finished on their own"
    );
}

#[test]
fn next_cron_run_ms_predicts_the_next_trigger_and_moves_on_after_it() {
    // §3.3.4 JobSummary.nextCronRunMs: "Cron jobs only: predicted next trigger, epoch ms";
    // §4.4 getJobSummary counts the cron job's tasks.
    let s = sim();
    s.schedule_ok(finishing(cron_job("every5", "*/5 * * * *", 1), 1));
    let summary = s
        .summary("every5")
        .expect("a cron job without tasks is listed");
    let next = summary.next_cron_run_ms.unwrap();
    assert_eq!(next % (5 * MINUTE_MS), 0);
    assert_eq!(
        summary.job.unwrap().cron_schedule.as_deref(),
        Some("*/5 * * * *")
    );
    assert_eq!(summary.stats.unwrap(), JobStats::default());
    let tasks = s.wait_for("every5", "ran", |t| !t.is_empty());
    assert_eq!(created_at(&tasks[0]), next);
    assert!(s.next_run("every5") >= next + 5 * MINUTE_MS);
    let finished = s.wait_for("every5", "finished", |t| {
        count(t, ScheduleStatus::FINISHED) >= 1
    });
    assert!(!finished.is_empty());
    let stats = s.summary("every5").unwrap().stats.unwrap();
    assert!(stats.finished_task_count >= 1, "{stats:?}");
    // A plain job has no next run.
    let mut plain = cron_job("adhoc", RARELY, 1);
    plain.cron_schedule = None;
    assert_eq!(code(&s.create(plain)), ResponseCode::OK);
    assert_eq!(s.summary("adhoc").unwrap().next_cron_run_ms, None);
}

// ---------------------------------------------------------------------------------------------
// Collision policies

#[test]
fn kill_existing_kills_the_running_run_then_starts_the_new_one() {
    // §4.5 KILL_EXISTING: "Move every active task to KILLING; ... poll with backoff until none of
    // those tasks is active, then create the new tasks."
    let s = sim();
    s.schedule_ok(cron_job("nightly", RARELY, 2));
    assert_eq!(code(&s.start(key("nightly"))), ResponseCode::OK);
    let first = s.wait_for("nightly", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 2
    });
    let old_ids: Vec<String> = first.iter().map(task_id).collect();
    assert_eq!(code(&s.start(key("nightly"))), ResponseCode::OK);
    let tasks = s.wait_for("nightly", "ran again", |t| {
        count(t, ScheduleStatus::KILLED) == 2 && count(t, ScheduleStatus::RUNNING) == 2
    });
    let old: Vec<&ScheduledTask> = tasks
        .iter()
        .filter(|t| old_ids.contains(&task_id(t)))
        .collect();
    let new: Vec<&ScheduledTask> = tasks
        .iter()
        .filter(|t| !old_ids.contains(&task_id(t)))
        .collect();
    assert_eq!((old.len(), new.len()), (2, 2));
    let last_killed = old
        .iter()
        .map(|t| entered(t, ScheduleStatus::KILLED).unwrap())
        .max()
        .unwrap();
    for t in &old {
        let killing = t
            .task_events
            .iter()
            .flatten()
            .find(|e| e.status == Some(ScheduleStatus::KILLING))
            .unwrap();
        assert_eq!(killing.message.as_deref(), Some("Killed by cronScheduler"));
    }
    for t in &new {
        assert!(
            created_at(t) >= last_killed,
            "the new run starts only after the old one ended"
        );
        assert!(t.ancestor_id.is_none(), "a new run, not a reschedule");
    }
}

#[test]
fn kill_existing_of_a_run_not_yet_placed_starts_the_new_one_at_once() {
    // §4.5 KILL_EXISTING and §4.7: killed PENDING tasks are deleted, so none is active and the new
    // run is created in the same instant.
    let s = sim();
    let mut huge = cron_job("huge", RARELY, 1);
    huge.task_config.as_mut().unwrap().resources = Some(vec![
        Resource::NumCpus(1000.0),
        Resource::RamMb(64),
        Resource::DiskMb(64),
    ]);
    s.schedule_ok(huge);
    assert_eq!(code(&s.start(key("huge"))), ResponseCode::OK);
    let first = s.wait_for("huge", "pending", |t| {
        count(t, ScheduleStatus::PENDING) == 1
    });
    assert_eq!(code(&s.start(key("huge"))), ResponseCode::OK);
    let tasks = s.tasks("huge");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].status, Some(ScheduleStatus::PENDING));
    assert_ne!(task_id(&tasks[0]), task_id(&first[0]), "a new task");
}

#[test]
fn cancel_new_skips_runs_while_the_previous_run_is_active() {
    // §4.5 CANCEL_NEW: "Do nothing for this trigger", for scheduled and manual triggers alike.
    let s = sim();
    s.schedule_ok(with_policy(
        cron_job("minutely", "* * * * *", 1),
        CronCollisionPolicy::CANCEL_NEW,
    ));
    let first = s.wait_for("minutely", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 1
    });
    let first_id = task_id(&first[0]);
    assert_eq!(code(&s.start(key("minutely"))), ResponseCode::OK);
    // Three more scheduled triggers go by.
    let wait_until = s.next_run("minutely") + 2 * MINUTE_MS;
    let started = Instant::now();
    while s.next_run("minutely") <= wait_until {
        assert!(started.elapsed() < WAIT, "the schedule did not move on");
        std::thread::sleep(Duration::from_millis(5));
    }
    let tasks = s.tasks("minutely");
    assert_eq!(tasks.len(), 1, "no new run: {tasks:?}");
    assert_eq!(task_id(&tasks[0]), first_id);
    assert_eq!(tasks[0].status, Some(ScheduleStatus::RUNNING));
}

// ---------------------------------------------------------------------------------------------
// Descheduling and killing

#[test]
fn deschedule_leaves_running_tasks_alone_and_stops_further_runs() {
    // §2.3 / §4.5 descheduleCronJob: "Running tasks are untouched"; the schedule no longer fires.
    let s = sim();
    // CANCEL_NEW, so that a trigger slipping in before the deschedule changes nothing either.
    s.schedule_ok(with_policy(
        cron_job("minutely", "* * * * *", 2),
        CronCollisionPolicy::CANCEL_NEW,
    ));
    let running = s.wait_for("minutely", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 2
    });
    assert_eq!(code(&s.deschedule(key("minutely"))), ResponseCode::OK);
    // Two virtual minutes later nothing was killed and nothing new was started.
    std::thread::sleep(Duration::from_millis(300));
    let tasks = s.tasks("minutely");
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!(count(&tasks, ScheduleStatus::RUNNING), 2);
    let mut before: Vec<String> = running.iter().map(task_id).collect();
    let mut after: Vec<String> = tasks.iter().map(task_id).collect();
    before.sort();
    after.sort();
    assert_eq!(before, after);
    assert!(
        s.stored("minutely").is_some(),
        "getJobs still lists the running job"
    );
    assert_eq!(
        s.summary("minutely").unwrap().next_cron_run_ms,
        None,
        "no longer a cron job"
    );
}

#[test]
fn killing_every_task_of_a_cron_job_keeps_its_template() {
    // §4.4 killTasks: "Killing every task of a cron job does not deschedule the cron template."
    let s = sim();
    s.schedule_ok(cron_job("nightly", RARELY, 2));
    assert_eq!(code(&s.start(key("nightly"))), ResponseCode::OK);
    s.wait_for("nightly", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 2
    });
    s.client
        .call_ok(&KillTasks {
            job: Some(key("nightly")),
            instances: None,
            message: None,
        })
        .unwrap();
    s.wait_for("nightly", "killed", |t| {
        count(t, ScheduleStatus::KILLED) == 2
    });
    let stored = s.stored("nightly").expect("the template stays");
    assert_eq!(stored.cron_schedule.as_deref(), Some(RARELY));
    assert!(s.summary("nightly").unwrap().next_cron_run_ms.is_some());
}

// ---------------------------------------------------------------------------------------------
// Quota (§4.9)

#[test]
fn a_production_cron_template_holds_quota_for_its_full_instance_count() {
    // §4.9: "for cron templates it uses the template's full instance count (or the running cron
    // tasks, whichever is larger)"; roles without quota refuse production jobs.
    let s = sim();
    let mut prod = cron_job("prod", RARELY, 2);
    prod.task_config.as_mut().unwrap().tier = Some("preferred".into());
    let r = s.schedule(prod.clone());
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST, "no quota yet");
    assert!(detail(&r).contains("quota"), "{}", detail(&r));
    s.client
        .call_ok(&SetQuota {
            owner_role: Some("www-data".into()),
            quota: Some(ResourceAggregate {
                resources: Some(vec![
                    Resource::NumCpus(1.0),
                    Resource::RamMb(1024),
                    Resource::DiskMb(1024),
                ]),
            }),
        })
        .unwrap();
    s.schedule_ok(prod.clone());
    let r = s
        .client
        .call_ok(&GetQuota {
            owner_role: Some("www-data".into()),
        })
        .unwrap();
    let Some(Result::GetQuotaResult(q)) = r.result else {
        panic!("{r:?}")
    };
    let used = q.prod_shared_consumption.unwrap().resources.unwrap();
    assert!(
        used.contains(&Resource::NumCpus(0.5)) && used.contains(&Resource::RamMb(128)),
        "the template is counted with no task running: {used:?}"
    );
    // Replacing the template counts the new one instead of the old: 4 x 0.25 fits in 1 cpu.
    prod.instance_count = 4;
    s.schedule_ok(prod.clone());
    prod.instance_count = 5;
    assert_eq!(code(&s.schedule(prod)), ResponseCode::INVALID_REQUEST);
    let mut other = cron_job("other", RARELY, 1);
    other.cron_schedule = None;
    other.task_config.as_mut().unwrap().tier = Some("preferred".into());
    let r = s.create(other);
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST, "{}", detail(&r));
}

// ---------------------------------------------------------------------------------------------
// The project's CLI

#[test]
fn cli_jobs_table_shows_the_cron_schedule_and_next_run() {
    // client-reference §2.4 / the `jobs` command: CRON and NEXT CRON RUN columns from
    // getJobSummary's cronSchedule and nextCronRunMs.
    use clap::Parser;
    let s = sim();
    s.schedule_ok(cron_job("nightly", "0 2 * * *", 1));
    let next = s.next_run("nightly");
    let cli = aurora_ansible::cli::Cli::try_parse_from([
        "aurora-ansible",
        "--scheduler-url",
        &s.url,
        "jobs",
        "www-data",
    ])
    .unwrap();
    let mut out = Vec::new();
    aurora_ansible::cli::run(&cli, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with("www-data/prod/nightly"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("0 2 * * *"), "{text}");
    assert_eq!(next % 86_400_000, 2 * 3_600_000, "02:00 UTC");
    assert!(
        regex::Regex::new(r"\d{4}-\d{2}-\d{2}T02:00:00Z")
            .unwrap()
            .is_match(row),
        "{text}"
    );
}
