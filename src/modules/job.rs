//! `aurora.scheduler.job`: a service or batch job as desired state. Compares what the scheduler
//! runs with what the options describe, then creates, updates (rolling, scheduler-driven),
//! restarts, kills or runs the job to completion, and waits for the outcome.

use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::methods::{CreateJob, GetJobUpdateDiff, KillTasks, RestartShards};
use crate::api::types::{
    ConfigGroup, GetJobUpdateDiffResult, JobKey, JobUpdateKey, JobUpdateRequest, JobUpdateStatus,
    JobUpdateSummary, Range, Result as Payload, ScheduleStatus, ScheduledTask, TaskConfig,
};
use crate::spec::{adopt_running, Job as JobModel, JobOptions};

use super::support::connection::{Connection, ConnectionOptions};
use super::support::instances::{instance_failed, wait_for_instances, wait_until_killed, Goal};
use super::support::job_key::checked_job_key;
use super::support::job_model::{
    build_job, populated, same_config, state_json, task_config_mut, with_diff,
};
use super::support::races::{maybe_applied, refused, update_in_flight, MAX_ROUNDS};
use super::support::tasks::{
    config, counts_by_status, describe_ids, instance_id, newest_per_instance, status, task_id,
};
use super::support::updates::{
    describe, metadata_value, update_json, update_metadata, OnConflict, OnTimeout, Start,
    FINGERPRINT_KEY,
};
use super::support::wait::{poll, secs_since, Deadline, Look};

pub struct Job;

/// The state the job should be in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Running with this configuration: created when absent, updated (rolling, with the
    /// C(update) settings) when it differs, left alone when it matches.
    #[default]
    Present,
    /// Not running: every instance killed.
    Absent,
    /// Every instance restarted, C(update.batch_size) at a time, each batch running again
    /// before the next starts. Always reports a change.
    Restarted,
    /// For batch jobs (C(service=false)): run to completion. Created, then waited for until every
    /// instance has FINISHED; unchanged when a run of this configuration already finished.
    Finished,
}

/// Options of `aurora.scheduler.job`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    #[serde(flatten)]
    pub job: JobOptions,

    /// What the job should be: see the choices.
    #[serde(default)]
    pub state: State,

    /// Whether to wait for the outcome: the update ROLLED_FORWARD and every instance RUNNING
    /// (C(state=present) or C(restarted)), every task gone (C(absent)), every instance FINISHED
    /// (C(finished)). Without it the module returns once the scheduler has accepted the change.
    #[serde(default = "default_true")]
    pub wait: bool,

    /// Seconds to wait, in all, before giving up (see C(on_timeout)).
    #[serde(default = "default_wait_timeout")]
    pub wait_timeout: u64,

    /// What happens to an update still rolling when C(wait_timeout) passes. The task fails in
    /// every case.
    #[serde(default)]
    pub on_timeout: OnTimeout,

    /// Leave the number of instances of a running service as it is: C(instances) is only the
    /// count a new job starts with, and an update changes the configuration of the instances
    /// that run. For services whose count something else sets (the platform's fair-share
    /// allocator, M(aurora.scheduler.instances)), so that re-running a playbook does not undo it.
    #[serde(default)]
    pub keep_instance_count: bool,

    /// What to do when another update of the job, with a different configuration, is in
    /// flight, or starts while this run compares (C(wait): wait for its end, then compare
    /// again). An update of this very configuration (started by an earlier run, or by another
    /// run at the same time) is always joined instead.
    #[serde(default)]
    pub on_conflict: OnConflict,

    /// Roll out a configuration whose last update ROLLED_BACK. Without it such a rollout is
    /// refused, naming that update and its reason, and the job is left alone: a pipeline
    /// re-run on a known-bad version does not take instances down again. Configurations are
    /// told apart by the fingerprint the module tags its updates with.
    #[serde(default)]
    pub retry_failed: bool,
}

fn default_true() -> bool {
    true
}

fn default_wait_timeout() -> u64 {
    600
}

impl Module for Job {
    const NAME: &'static str = "job";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new("Run a service or batch job on Apache Aurora as desired state")
            .description(
                "Creates, updates, restarts, kills or runs to completion a job on an Apache Aurora \
                 scheduler, so that it runs with the configuration the options describe.",
            )
            .description(
                "Changes to a running service are rolled out by the scheduler as a rolling update \
                 with the C(update) settings; the module waits for it and fails with the reason \
                 when it rolls back.",
            )
            .description(
                "The job is submitted exactly as Aurora's own client would submit it (the \
                 TaskConfig and the Thermos executor configuration), so jobs created by the \
                 C(aurora) command line and by this module can be managed by either.",
            )
            .description(
                "Comparison is semantic: a job first created by Aurora's own client is not \
                 restarted because of JSON key order or the submitting user.",
            )
            .note(
                "Check mode asks the scheduler for the plan (C(populateJobConfig), \
                 C(getJobUpdateDiff)) and changes nothing.",
            )
            .note(
                "With C(--diff) the job is shown before and after as options, as a playbook \
                 writes them: C(instances), C(task) with its processes by name and sizes such \
                 as C(128MiB), C(constraints), C(metadata) and the others, options at their \
                 default left out; under headers naming the job, C(CLUSTER/ROLE/ENV/NAME). \
                 Check mode shows the same diff as the run.",
            )
            .note(
                "Runs at the same time on the same job end as if one had come after the other: \
                 the run whose create or update loses the race reads the job again, then joins \
                 the update of the same configuration, waits for another one (C(on_conflict)) \
                 or reports C(changed=false). A run that fails after changing the job (the \
                 scheduler gone while it waits, an update rolled back) still reports \
                 C(changed=true) with what it did, such as C(update_id).",
            )
            .note(
                "Aurora's templates such as C({{thermos.ports[http]}}) or C({{mesos.instance}}) \
                 collide with Jinja. Pass them with Ansible's C(!unsafe) tag, or write them as \
                 C(%{thermos.ports[http]}) and C(%{mesos.instance}), which the module turns into \
                 Aurora's spelling (only for C(thermos.) and C(mesos.) names).",
            )
            .examples(EXAMPLES)
            .returns(RETURN)
            .check_mode(Support::Full)
            .diff_mode(Support::Full)
    }

    fn run(options: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
        let started = Instant::now();
        let conn = options.connection.connect()?;
        let report = match options.state {
            State::Present => present(&conn, &options, ctx),
            State::Absent => absent(&conn, &options, ctx),
            State::Restarted => restarted(&conn, &options, ctx),
            State::Finished => finished(&conn, &options, ctx),
        }
        .map_err(|failure| failure.field("scheduler_url", json!(conn.url)))?;
        Ok(report.into_outcome(&conn, started, ctx))
    }
}

/// What a run did, gathered as it goes and turned into the result in one place.
struct Report {
    changed: bool,
    msg: String,
    key: JobKey,
    update: Option<Value>,
    plan: Option<Value>,
    instances: Value,
    before: Value,
    after: Value,
    waited_secs: f64,
}

impl Report {
    fn new(key: &JobKey, changed: bool, msg: impl Into<String>) -> Self {
        Report {
            changed,
            msg: msg.into(),
            key: key.clone(),
            update: None,
            plan: None,
            instances: json!({}),
            before: json!({}),
            after: json!({}),
            waited_secs: 0.0,
        }
    }

    /// What was done so far: changed, the message, the job, instances, update and plan.
    fn so_far(&self) -> Outcome {
        let mut outcome = Outcome::changed(self.changed)
            .msg(self.msg.clone())
            .field("job", json!(self.key.to_string()))
            .field("instances", self.instances.clone());
        if let Some(update) = &self.update {
            outcome = outcome
                .field("update_id", update["id"].clone())
                .field("update", update.clone());
        }
        if let Some(plan) = &self.plan {
            outcome = outcome.field("plan", plan.clone());
        }
        outcome
    }

    /// A failure after this run changed the job (or joined an update): the result still says
    /// `changed` and what was done (`Failure::after`).
    fn failed(&self, failure: Failure) -> Failure {
        failure.after(self.so_far())
    }

    fn into_outcome(self, conn: &Connection, started: Instant, ctx: &Context) -> Outcome {
        let mut outcome = self.so_far().field("scheduler_url", json!(conn.url)).field(
            "durations",
            json!({"total_secs": secs_since(started), "wait_secs": self.waited_secs}),
        );
        if ctx.diff {
            outcome = with_diff(outcome, conn, "job", &self.key, self.before, self.after);
        }
        outcome
    }
}

/// How one round of reading, comparing and writing ended.
enum Round {
    Done(Box<Report>),
    /// Another run changed the job after this round read it: read it again.
    Again,
}

impl Round {
    fn done(report: Report) -> Round {
        Round::Done(Box::new(report))
    }
}

// ---------------------------------------------------------------------------------------------
// state: present

fn present(conn: &Connection, o: &Options, ctx: &mut Context) -> Result<Report, Failure> {
    let job = build(conn, o, ctx)?;
    let deadline = Deadline::after_secs(o.wait_timeout);
    in_rounds(&job.key, || {
        let mut wanted = job.clone();
        if o.keep_instance_count {
            keep_running_count(conn, &mut wanted)?;
        }
        let fingerprint = wanted.fingerprint();
        present_round(conn, o, ctx, wanted, &fingerprint, &deadline)
    })
}

/// Runs `round` until it is done; each round reads the job again, so a run that lost a race to
/// another acts on what that run did. Gives up after `MAX_ROUNDS`.
fn in_rounds(
    key: &JobKey,
    mut round: impl FnMut() -> Result<Round, Failure>,
) -> Result<Report, Failure> {
    for _ in 0..MAX_ROUNDS {
        if let Round::Done(report) = round()? {
            return Ok(*report);
        }
    }
    Err(kept_changing(key))
}

/// One round of `present`: reads the job, compares, and creates it or starts its update. A
/// round whose write another run got ahead of ends in `Round::Again`.
fn present_round(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    mut job: JobModel,
    fingerprint: &str,
    deadline: &Deadline,
) -> Result<Round, Failure> {
    let key = job.key.clone();
    if let Some(update) = conn.active_update(&key)? {
        if metadata_value(&update, FINGERPRINT_KEY) == Some(fingerprint) {
            return join_update(conn, o, ctx, &job, update, deadline).map(Round::done);
        }
        conn.wait_out_update(&update, o.on_conflict, ctx.check_mode, deadline)?;
        if o.keep_instance_count {
            // The update waited out may have changed the count: read it again.
            return Ok(Round::Again);
        }
    }

    let active = conn.active_tasks(&key, true)?;
    if let Some(running) = active.iter().find_map(config) {
        adopt_running(task_config_mut(&mut job.config), running);
    }
    let before = current_state(&active);
    if active.is_empty() {
        return Ok(match create(conn, o, ctx, &job, before, deadline)? {
            Some(report) => Round::done(report),
            None => Round::Again,
        });
    }
    if !job
        .config
        .task_config
        .as_ref()
        .is_some_and(|t| t.is_service)
    {
        return batch_already_running(conn, ctx, &job, &active, before).map(Round::done);
    }

    let request = update_request(&job, fingerprint);
    let plan = update_plan(conn, &request)?;
    let mut report = Report::new(&key, false, "");
    report.instances = counts_by_status(&active);
    report.before = before;
    if ctx.diff || ctx.check_mode {
        report.after = desired_state(conn, &job)?;
    }
    if plan.is_noop() {
        report.msg = format!("{key} already runs this configuration");
        return Ok(Round::done(report));
    }
    if !o.retry_failed {
        if let Some(failed) = conn.rolled_back_update(&key, fingerprint)? {
            return Err(known_bad(conn, &failed, fingerprint));
        }
    }
    report.changed = true;
    report.plan = Some(plan.to_json());
    if ctx.check_mode {
        report.msg = format!("{key} would be updated: {}", plan.describe());
        return Ok(Round::done(report));
    }
    let update_key = match conn.begin_update(request, "aurora.scheduler.job")? {
        Start::Started(update_key) => update_key,
        // Another run rolled this configuration out since the plan was read.
        Start::Unchanged => {
            report.changed = false;
            report.plan = None;
            report.msg = format!("{key} already runs this configuration");
            return Ok(Round::done(report));
        }
        // Another run started an update since this one looked: as if this run came second.
        Start::Conflict(update) => {
            if metadata_value(&update, FINGERPRINT_KEY) == Some(fingerprint) {
                return join_update(conn, o, ctx, &job, *update, deadline).map(Round::done);
            }
            conn.wait_out_update(&update, o.on_conflict, ctx.check_mode, deadline)?;
            return Ok(Round::Again);
        }
    };
    report.update = Some(json!({"id": update_key.id, "status": "ROLLING_FORWARD"}));
    report.msg = format!("{} started: {}", describe(&update_key), plan.describe());
    if !o.wait {
        return Ok(Round::done(report));
    }
    finish_update(conn, o, &job, &update_key, deadline, report).map(Round::done)
}

/// The refusal to roll out again a configuration whose last update rolled back.
fn known_bad(conn: &Connection, failed: &JobUpdateSummary, fingerprint: &str) -> Failure {
    let update_key = failed.key.clone().unwrap_or_default();
    Failure::new(format!(
        "{} rolled out this very configuration (fingerprint {fingerprint}) and ROLLED_BACK: {}; \
         not rolling it out again: fix the configuration, or set retry_failed=true to try it \
         once more",
        describe(&update_key),
        conn.update_failure_reason(&update_key)
    ))
    .field("update", update_json(failed))
    .field("update_id", json!(update_key.id))
    .field("fingerprint", json!(fingerprint))
}

/// The failure of a run whose job other runs kept changing under it.
fn kept_changing(key: &JobKey) -> Failure {
    Failure::new(format!(
        "{key} kept changing while this run compared it: other runs created or updated it \
         {MAX_ROUNDS} times in a row; run again once they are done"
    ))
}

/// With `keep_instance_count`, a running service keeps its number of instances.
fn keep_running_count(conn: &Connection, job: &mut JobModel) -> Result<(), Failure> {
    let running = sorted(
        conn.active_tasks(&job.key, false)?
            .iter()
            .map(instance_id)
            .collect(),
    );
    if !running.is_empty() {
        job.config.instance_count = i32::try_from(running.len()).unwrap_or(i32::MAX);
    }
    Ok(())
}

/// Joins an update of this very configuration that an earlier run started.
fn join_update(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    job: &JobModel,
    update: JobUpdateSummary,
    deadline: &Deadline,
) -> Result<Report, Failure> {
    let update_key = update.key.clone().unwrap_or_default();
    let mut report = Report::new(
        &job.key,
        true,
        format!(
            "{} for this configuration is in flight",
            describe(&update_key)
        ),
    );
    report.update = Some(update_json(&update));
    if ctx.check_mode || !o.wait {
        return Ok(report);
    }
    report.msg = format!("joined {}", describe(&update_key));
    finish_update(conn, o, job, &update_key, deadline, report)
}

/// Waits for the update to roll forward and the instances to run; fails with the update's own
/// reason otherwise, still reporting the update this run started or joined.
fn finish_update(
    conn: &Connection,
    o: &Options,
    job: &JobModel,
    update_key: &JobUpdateKey,
    deadline: &Deadline,
    mut report: Report,
) -> Result<Report, Failure> {
    let waiting = Instant::now();
    let followed = conn
        .follow_update(update_key, deadline)
        .map_err(|e| report.failed(e))?;
    let Some(end) = followed else {
        let done = conn
            .settle_timed_out_update(update_key, o.on_timeout)
            .map_err(|e| report.failed(e.into()))?;
        return Err(report.failed(Failure::new(format!(
            "{} was still rolling after wait_timeout ({} s); on_timeout={}: {done}",
            describe(update_key),
            o.wait_timeout,
            o.on_timeout.as_str()
        ))));
    };
    report.update = Some(json!({"id": update_key.id, "status": end.to_string()}));
    if end != JobUpdateStatus::ROLLED_FORWARD {
        let reason = conn.update_failure_reason(update_key);
        return Err(report.failed(Failure::new(format!(
            "{} ended {end}: {reason}",
            describe(update_key)
        ))));
    }
    let tasks = wait_for_instances(
        conn,
        &job.key,
        0..job.instance_count(),
        Goal::Running,
        deadline,
    )
    .map_err(|e| report.failed(e))?;
    report.waited_secs = secs_since(waiting);
    report.instances = counts_by_status(&tasks);
    report.msg = format!("{} rolled forward", describe(update_key));
    Ok(report)
}

fn update_request(job: &JobModel, fingerprint: &str) -> JobUpdateRequest {
    JobUpdateRequest {
        metadata: Some(update_metadata(fingerprint)),
        ..job.update_request()
    }
}

/// A batch job (not a service) cannot be updated: matching is fine, anything else is an error.
fn batch_already_running(
    conn: &Connection,
    ctx: &Context,
    job: &JobModel,
    active: &[ScheduledTask],
    before: Value,
) -> Result<Report, Failure> {
    let desired = populated(conn, job)?;
    let mut report = Report::new(
        &job.key,
        false,
        format!("{} is running this configuration", job.key),
    );
    report.instances = counts_by_status(active);
    report.before = before;
    if ctx.diff {
        report.after = state_json(job.instance_count(), &desired);
    }
    if same_as_running(&desired, active) && active.len() as i32 == job.instance_count() {
        return Ok(report);
    }
    Err(Failure::new(format!(
        "{} is a batch job (service=false) running a different configuration; only services \
         can be updated: let it finish, or kill it first (state=absent)",
        job.key
    )))
}

// ---------------------------------------------------------------------------------------------
// Creating a job (state present and finished)

/// Creates the job and waits for it; `None` when another run created it (or started an update
/// of it) after this run found it absent, so that the caller reads it again as a run coming
/// second would.
fn create(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    job: &JobModel,
    before: Value,
    deadline: &Deadline,
) -> Result<Option<Report>, Failure> {
    let count = job.instance_count();
    let mut report = Report::new(&job.key, true, "");
    report.before = before;
    report.plan = Some(
        json!({"add": (0..count).collect::<Vec<_>>(), "update": [], "remove": [], "unchanged": []}),
    );
    if ctx.check_mode || ctx.diff {
        // The scheduler validates the job and fills its defaults: the plan comes from it.
        report.after = desired_state(conn, job)?;
    }
    if ctx.check_mode {
        report.msg = format!("{} would be created with {count} instances", job.key);
        return Ok(Some(report));
    }
    report.msg = format!("{} created with {count} instances", job.key);
    let created = conn.client.call_ok(&CreateJob {
        description: Some(job.config.clone()),
    });
    match created {
        Ok(_) => {}
        Err(e) if refused(&e) || update_in_flight(&e) => {
            // Refused as existing or updating: another run got there after this one looked.
            if conn.active_update(&job.key)?.is_some()
                || !conn.active_tasks(&job.key, false)?.is_empty()
            {
                return Ok(None);
            }
            return Err(e.into());
        }
        // Its answer lost: createJob was applied if the job has tasks now.
        Err(e) if maybe_applied(&e) => match conn.active_tasks(&job.key, false) {
            Ok(tasks) if !tasks.is_empty() => {
                report.msg = format!(
                    "{} created with {count} instances (the scheduler's answer was lost; its \
                     tasks show it was applied)",
                    job.key
                );
            }
            _ => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    }
    if o.wait {
        let waiting = Instant::now();
        let goal = if o.state == State::Finished {
            Goal::Finished
        } else {
            Goal::Running
        };
        let tasks = wait_for_instances(conn, &job.key, 0..count, goal, deadline)
            .map_err(|e| report.failed(e))?;
        report.waited_secs = secs_since(waiting);
        report.instances = counts_by_status(&tasks);
    }
    Ok(Some(report))
}

// ---------------------------------------------------------------------------------------------
// state: absent

fn absent(conn: &Connection, o: &Options, ctx: &Context) -> Result<Report, Failure> {
    let key = job_key(o)?;
    let deadline = Deadline::after_secs(o.wait_timeout);
    in_rounds(&key, || absent_round(conn, o, ctx, &key, &deadline))
}

fn absent_round(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    key: &JobKey,
    deadline: &Deadline,
) -> Result<Round, Failure> {
    let active = conn.active_tasks(key, ctx.diff)?;
    let mut report = Report::new(key, false, format!("{key} has no active instances"));
    report.instances = counts_by_status(&active);
    if active.is_empty() {
        return Ok(Round::done(report));
    }
    if let Some(update) = conn.active_update(key)? {
        conn.wait_out_update(&update, o.on_conflict, ctx.check_mode, deadline)?;
        return Ok(Round::Again);
    }
    let ids: Vec<i32> = active.iter().map(instance_id).collect();
    report.changed = true;
    report.before = current_state(&active);
    report.after = json!({});
    report.plan = Some(json!({"remove": sorted(ids.clone())}));
    if ctx.check_mode {
        report.msg = format!("{key} would be killed (instances {})", describe_ids(&ids));
        return Ok(Round::done(report));
    }
    let killed = conn.client.call_ok(&KillTasks {
        job: Some(key.clone()),
        instances: None,
        message: Some("state=absent in aurora.scheduler.job".to_string()),
    });
    match killed {
        Ok(_) => {}
        // Another run started an update since this one looked: wait it out (or fail naming it).
        Err(e) if update_in_flight(&e) => return Ok(Round::Again),
        Err(e) => return Err(e.into()),
    }
    report.msg = format!("{key} killed (instances {})", describe_ids(&ids));
    if o.wait {
        let waiting = Instant::now();
        wait_until_killed(conn, key, None, deadline).map_err(|e| report.failed(e))?;
        report.waited_secs = secs_since(waiting);
        report.instances = json!({});
    }
    Ok(Round::done(report))
}

// ---------------------------------------------------------------------------------------------
// state: restarted

fn restarted(conn: &Connection, o: &Options, ctx: &Context) -> Result<Report, Failure> {
    let key = job_key(o)?;
    let deadline = Deadline::after_secs(o.wait_timeout);
    in_rounds(&key, || restarted_round(conn, o, ctx, &key, &deadline))
}

fn restarted_round(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    key: &JobKey,
    deadline: &Deadline,
) -> Result<Round, Failure> {
    let batch_size = restart_batch_size(o);
    let active = conn.active_tasks(key, false)?;
    let ids = sorted(active.iter().map(instance_id).collect());
    if ids.is_empty() {
        return Err(Failure::new(format!(
            "{key} has no active instances to restart; create it first (state=present)"
        )));
    }
    if let Some(update) = conn.active_update(key)? {
        conn.wait_out_update(&update, o.on_conflict, ctx.check_mode, deadline)?;
        return Ok(Round::Again);
    }
    let batches: Vec<Vec<i32>> = ids.chunks(batch_size).map(<[i32]>::to_vec).collect();
    let mut report = Report::new(key, true, "");
    report.instances = counts_by_status(&active);
    report.plan = Some(json!({"restart": batches}));
    if ctx.check_mode {
        report.msg = format!(
            "{key} would be restarted in {} batches of up to {batch_size}",
            batches.len()
        );
        return Ok(Round::done(report));
    }
    let waiting = Instant::now();
    for (n, batch) in batches.iter().enumerate() {
        let old_ids: Vec<String> = active
            .iter()
            .filter(|t| batch.contains(&instance_id(t)))
            .map(|t| task_id(t).to_string())
            .collect();
        let restart = conn.client.call_ok(&RestartShards {
            job: Some(key.clone()),
            shard_ids: Some(batch.clone()),
        });
        match restart {
            Ok(_) => {}
            // Another run started an update before the first batch: wait it out, start again.
            Err(e) if n == 0 && update_in_flight(&e) => return Ok(Round::Again),
            Err(e) if n == 0 => return Err(e.into()),
            Err(e) => return Err(report.failed(e.into())),
        }
        report.msg = format!(
            "{key}: {} of {} restart batches started",
            n + 1,
            batches.len()
        );
        // Each batch runs again before the next starts; `wait` decides only about the last one.
        if o.wait || n + 1 < batches.len() {
            wait_for_restart(conn, key, batch, &old_ids, deadline).map_err(|e| {
                report.failed(e.prefixed(&format!(
                    "restarting {key}, batch {} of {}",
                    n + 1,
                    batches.len()
                )))
            })?;
        }
    }
    report.waited_secs = secs_since(waiting);
    report.instances = counts_by_status(
        &conn
            .active_tasks(key, false)
            .map_err(|e| report.failed(e.into()))?,
    );
    report.msg = format!(
        "{key} restarted: {} instances in {} batches",
        ids.len(),
        batches.len()
    );
    Ok(Round::done(report))
}

fn wait_for_restart(
    conn: &Connection,
    key: &JobKey,
    batch: &[i32],
    old_task_ids: &[String],
    deadline: &Deadline,
) -> Result<(), Failure> {
    let done = poll(deadline, || {
        let tasks = conn.active_tasks(key, false)?;
        let mut ready = 0;
        for task in tasks.iter().filter(|t| batch.contains(&instance_id(t))) {
            if old_task_ids.iter().any(|old| old == task_id(task)) {
                continue;
            }
            if task.failure_count > 0 {
                return Err(instance_failed(conn, key, task));
            }
            if status(task) == ScheduleStatus::RUNNING {
                ready += 1;
            }
        }
        Ok(if ready == batch.len() {
            Look::Done(())
        } else {
            Look::NotYet
        })
    })?;
    done.ok_or_else(|| {
        Failure::new(format!(
            "instances {} did not run again within wait_timeout ({} s)",
            describe_ids(batch),
            deadline.limit_secs()
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// state: finished

fn finished(conn: &Connection, o: &Options, ctx: &mut Context) -> Result<Report, Failure> {
    let job = build(conn, o, ctx)?;
    let deadline = Deadline::after_secs(o.wait_timeout);
    in_rounds(&job.key, || {
        finished_round(conn, o, ctx, job.clone(), &deadline)
    })
}

fn finished_round(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    mut job: JobModel,
    deadline: &Deadline,
) -> Result<Round, Failure> {
    let key = job.key.clone();
    if job
        .config
        .task_config
        .as_ref()
        .is_some_and(|t| t.is_service)
    {
        return Err(Failure::new(format!(
            "state=finished runs a batch job to completion, but {key} is a service; set \
             service: false (services never finish)"
        )));
    }
    let tasks = conn.tasks(&key, &[], true)?;
    let active: Vec<ScheduledTask> = tasks
        .iter()
        .filter(|t| status(t).is_active())
        .cloned()
        .collect();
    if let Some(previous) = tasks.iter().find_map(config) {
        adopt_running(task_config_mut(&mut job.config), previous);
    }
    let desired = populated(conn, &job)?;
    if !active.is_empty() {
        if !same_as_running(&desired, &active) {
            return Err(Failure::new(format!(
                "{key} is running a different configuration; let it finish, or kill it first \
                 (state=absent)"
            )));
        }
        let mut report = Report::new(&key, true, format!("{key}: joined the run in progress"));
        report.instances = counts_by_status(&active);
        if o.wait && !ctx.check_mode {
            let waiting = Instant::now();
            let done = wait_for_instances(
                conn,
                &key,
                0..job.instance_count(),
                Goal::Finished,
                deadline,
            )
            .map_err(|e| report.failed(e))?;
            report.waited_secs = secs_since(waiting);
            report.instances = counts_by_status(&done);
            report.msg = format!("{key}: the run in progress finished");
        }
        return Ok(Round::done(report));
    }
    let newest = newest_per_instance(&tasks);
    let all_finished = (0..job.instance_count()).all(|id| {
        newest.get(&id).is_some_and(|t| {
            status(t) == ScheduleStatus::FINISHED
                && config(t).is_some_and(|c| same_config(c, &desired))
        })
    });
    if all_finished {
        let mut report = Report::new(
            &key,
            false,
            format!("{key} already finished with this configuration"),
        );
        report.instances = counts_by_status(newest.values().copied());
        return Ok(Round::done(report));
    }
    Ok(
        match create(conn, o, ctx, &job, current_state(&tasks), deadline)? {
            Some(report) => Round::done(report),
            None => Round::Again,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The job model, compared with what runs

/// The job model from the options; a batch job for `state=finished` unless `service` says
/// otherwise (then `finished` refuses it).
fn build(conn: &Connection, o: &Options, ctx: &mut Context) -> Result<JobModel, Failure> {
    let mut options = o.job.clone();
    if o.state == State::Finished && options.service.is_none() {
        options.service = Some(false);
    }
    build_job(conn, ctx, |context| options.build(context))
}

/// The job key of the options, for the states that need nothing else.
fn job_key(o: &Options) -> Result<JobKey, Failure> {
    checked_job_key(&o.job.role, &o.job.environment, &o.job.name)
}

/// Instances restarted at a time: `update.batch_size` (Aurora's default 1).
fn restart_batch_size(o: &Options) -> usize {
    let size = o.job.update.as_ref().map_or(1, |u| u.batch_size);
    usize::try_from(size).unwrap_or(1).max(1)
}

fn same_as_running(desired: &TaskConfig, tasks: &[ScheduledTask]) -> bool {
    tasks
        .iter()
        .all(|t| config(t).is_some_and(|c| same_config(c, desired)))
}

/// The job's configuration as it runs, for `--diff`: its live instances and the configuration
/// of the first of them (`state_json`).
fn current_state(tasks: &[ScheduledTask]) -> Value {
    let newest = newest_per_instance(tasks);
    let live: Vec<&ScheduledTask> = newest
        .values()
        .copied()
        .filter(|t| status(t).is_active())
        .collect();
    let Some(first) = live.first().and_then(|t| config(t)) else {
        return json!({});
    };
    state_json(i32::try_from(live.len()).unwrap_or(i32::MAX), first)
}

fn desired_state(conn: &Connection, job: &JobModel) -> Result<Value, Failure> {
    let desired = populated(conn, job)?;
    Ok(state_json(job.instance_count(), &desired))
}

fn sorted(mut ids: Vec<i32>) -> Vec<i32> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What an update would do, per instance, as the scheduler computes it (getJobUpdateDiff).
struct Plan {
    add: Vec<i32>,
    update: Vec<i32>,
    remove: Vec<i32>,
    unchanged: Vec<i32>,
}

fn update_plan(conn: &Connection, request: &JobUpdateRequest) -> Result<Plan, Failure> {
    let mut preview = request.clone();
    preview.metadata = None;
    let response = conn.client.call_ok(&GetJobUpdateDiff {
        request: Some(preview),
    })?;
    let diff = match response.result {
        Some(Payload::GetJobUpdateDiffResult(d)) => d,
        _ => GetJobUpdateDiffResult::default(),
    };
    let ids = |groups: &Option<Vec<ConfigGroup>>| -> Vec<i32> {
        sorted(
            groups
                .iter()
                .flatten()
                .flat_map(|g| g.instances.iter().flatten())
                .flat_map(|r: &Range| r.first..=r.last)
                .collect(),
        )
    };
    Ok(Plan {
        add: ids(&diff.add),
        update: ids(&diff.update),
        remove: ids(&diff.remove),
        unchanged: ids(&diff.unchanged),
    })
}

impl Plan {
    fn is_noop(&self) -> bool {
        self.add.is_empty() && self.update.is_empty() && self.remove.is_empty()
    }

    fn to_json(&self) -> Value {
        json!({"add": self.add, "update": self.update, "remove": self.remove, "unchanged": self.unchanged})
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("add", &self.add),
            ("update", &self.update),
            ("remove", &self.remove),
            ("leave alone", &self.unchanged),
        ]
        .iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(what, ids)| format!("{what} {}", describe_ids(ids)))
        .collect();
        parts.join(", ")
    }
}

const EXAMPLES: &str = r#"- name: Run a Python web service, two instances
  aurora.scheduler.job:
    scheduler_url: http://aurora.example.com:8081
    role: www-data
    environment: prod
    name: hello
    instances: 2
    task:
      processes:
        - name: web
          # Aurora's own template, kept from Jinja with !unsafe:
          cmdline: !unsafe "python3 -m http.server {{thermos.ports[http]}}"
      resources: {cpu: 0.5, ram: 128MiB, disk: 256MiB}
    update:
      batch_size: 1
      watch_secs: 30

- name: The same, with the spelling neither Jinja nor the shell claims
  aurora.scheduler.job:
    role: www-data
    environment: prod
    name: hello
    instances: 2
    task:
      processes:
        - name: web
          cmdline: "python3 -m http.server %{thermos.ports[http]} --instance %{mesos.instance}"
      resources: {cpu: 0.5, ram: 128MiB, disk: 256MiB}

- name: Deploy version 1.4.2 and fail with the reason if the update rolls back
  aurora.scheduler.job:
    role: ml
    environment: prod
    name: scorer
    instances: 6
    tier: preferred
    metadata: {version: "1.4.2", team: search}
    constraints: {rack: "limit:2"}
    health_check:
      http: {endpoint: /health}
    task:
      processes:
        - {name: fetch, cmdline: "fetch-model scorer 1.4.2"}
        - {name: serve, cmdline: "scorer --port %{thermos.ports[http]} --admin-port %{thermos.ports[health]}"}
      ordering: [fetch, serve]
      resources: {cpu: 2, ram: 4GiB, disk: 10GiB}
    update: {batch_size: 2, watch_secs: 60, max_total_failures: 1}
    wait_timeout: 1800
    on_timeout: rollback

- name: Run a batch job to completion
  aurora.scheduler.job:
    role: ml
    environment: devel
    name: train-2026-11
    service: false
    state: finished
    task:
      processes:
        - {name: train, cmdline: "python3 train.py --epochs 10"}
      resources: {cpu: 4, ram: 8GiB, disk: 20GiB}

- name: Roll a restart through the instances, two at a time
  aurora.scheduler.job:
    role: www-data
    environment: prod
    name: hello
    state: restarted
    update: {batch_size: 2}

- name: Kill the job
  aurora.scheduler.job:
    role: www-data
    environment: prod
    name: hello
    state: absent

- name: Bring a job defined in an .aurora file (aurora job inspect --write-json)
  aurora.scheduler.job:
    role: www-data
    environment: prod
    name: legacy
    instances: 3
    executor_config: "{{ lookup('file', 'legacy.json') }}"
"#;

const RETURN: &str = r#"job:
  description: The job key, C(role/environment/name).
  returned: always
  type: str
  sample: www-data/prod/hello
fingerprint:
  description: >-
    The fingerprint of the configuration refused because its last update ROLLED_BACK (see
    C(retry_failed)); C(update) and C(update_id) name that update.
  returned: when a rollout is refused
  type: str
  sample: 5d1c0e7a9b3f2264
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
  sample: http://aurora.example.com:8081
instances:
  description: Instance counts by task status, after the change (or as found, in check mode).
  returned: always
  type: dict
  sample: {RUNNING: 2}
plan:
  description:
    - What the scheduler would do, or did, per instance id.
    - For C(present), the groups of C(getJobUpdateDiff) (C(add), C(update), C(remove),
        C(unchanged)); for C(absent), C(remove); for C(restarted), the C(restart) batches.
  returned: when something changes
  type: dict
  sample: {add: [], update: [0, 1], remove: [], unchanged: []}
update_id:
  description: The id of the rolling update started or joined.
  returned: when an update was started or joined
  type: str
  sample: 5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11
update:
  description: The update started or joined, with its final status.
  returned: when an update was started or joined
  type: dict
  sample: {id: 5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11, status: ROLLED_FORWARD}
durations:
  description: Seconds spent in all (C(total_secs)) and waiting for the outcome (C(wait_secs)).
  returned: always
  type: dict
  sample: {total_secs: 48.2, wait_secs: 47.9}
msg:
  description: What was done, or would be done in check mode.
  returned: always
  type: str
  sample: www-data/prod/hello update 5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11 rolled forward
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::support::job_model::spec_failure;
    use crate::spec::BuildContext;

    #[test]
    fn every_example_is_a_job_the_model_builds() {
        let examples = crate::ansible::validated_examples(&Job).unwrap_or_else(|e| panic!("{e}"));
        assert!(examples.len() >= 5, "{} examples", examples.len());
        for (name, params) in examples {
            let options: Options = serde_json::from_value(Value::Object(params))
                .unwrap_or_else(|e| panic!("example {name:?}: {e}"));
            // These two need only the job key.
            if matches!(options.state, State::Absent | State::Restarted) {
                assert!(job_key(&options).is_ok(), "example {name:?}");
                continue;
            }
            let mut job = options.job.clone();
            if options.state == State::Finished && job.service.is_none() {
                job.service = Some(false);
            }
            let context = BuildContext {
                cluster: "example",
                owner: "someone",
                tiers: None,
            };
            if let Err(e) = job.build(&context) {
                panic!("example {name:?}: {}", spec_failure(e).msg());
            }
        }
    }

    #[test]
    fn restart_batch_size_follows_the_update_settings() {
        let options = |update: Option<i64>| -> Options {
            let mut args = json!({"role": "r", "environment": "devel", "name": "n"});
            if let Some(size) = update {
                args["update"] = json!({"batch_size": size});
            }
            serde_json::from_value(args).unwrap()
        };
        assert_eq!(restart_batch_size(&options(None)), 1);
        assert_eq!(restart_batch_size(&options(Some(3))), 3);
    }

    #[test]
    fn job_key_names_the_bad_option() {
        let options: Options =
            serde_json::from_value(json!({"role": "r", "environment": "dev el", "name": "n"}))
                .unwrap();
        let failure = job_key(&options).unwrap_err();
        assert!(
            failure.msg().starts_with("environment:"),
            "{}",
            failure.msg()
        );
    }
}
