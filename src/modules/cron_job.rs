//! `aurora.scheduler.cron_job`: a cron job as desired state. Schedules the template (or replaces
//! it when it differs), deschedules it, or triggers a run now and follows that run to its end.
//! The job itself is described with the options of `aurora.scheduler.job` and built by the same
//! model (api-reference §4.5, client-reference §2.4 and §7 item 10).

use std::collections::HashSet;
use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::methods::{
    DescheduleCronJob, GetJobSummary, KillTasks, ScheduleCronJob, StartCronJob,
};
use crate::api::types::{
    CronCollisionPolicy, JobConfiguration, JobKey, JobSummary, Result as Payload, ScheduleStatus,
    ScheduledTask,
};
use crate::spec::cron::{check_schedule, CollisionPolicy, CronSpec};
use crate::spec::utc::utc_millis;
use crate::spec::{adopt_running, Job as JobModel, JobOptions};

use super::support::connection::{Connection, ConnectionOptions};
use super::support::instances::wait_until_killed;
use super::support::job_key::checked_job_key;
use super::support::job_model::{
    build_job, populated, same_config, spec_failure, state_json, task_config_mut, with_diff,
};
use super::support::races::{maybe_applied, refused, update_in_flight, MAX_ROUNDS};
use super::support::tasks::{
    counts_by_status, describe_ids, instance_id, last_message, status, task_id,
};
use super::support::wait::{poll, secs_since, Deadline, Look};

pub struct CronJob;

/// The state the cron job should be in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Scheduled with this template: scheduled when absent, replaced when it differs, left
    /// alone when it matches. Runs in progress are not touched.
    #[default]
    Present,
    /// Not scheduled: the template is removed. Runs in progress go on unless C(kill_running).
    Absent,
    /// A run triggered now, outside the schedule (the collision policy applies). Always reports
    /// a change. The job must be scheduled already.
    Started,
}

/// Options of `aurora.scheduler.cron_job`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    #[serde(flatten)]
    pub job: JobOptions,

    /// When the job runs, as five crontab fields in the scheduler's time zone (UTC by default):
    /// minute (0-59), hour (0-23), day of month (1-31), month (1-12 or C(JAN)-C(DEC)), day of
    /// week (0-6, 0 is Sunday, or C(SUN)-C(SAT)). Each field is a value, C(*), a range C(a-b), a
    /// step C(*/n) or C(a-b/n), or a comma list; day of month and day of week cannot both be
    /// restricted. Required with C(state=present).
    pub cron_schedule: Option<String>,

    /// What a run does when the previous run is still active. Default C(KILL_EXISTING).
    pub cron_collision_policy: Option<CollisionPolicy>,

    /// What the cron job should be: see the choices.
    #[serde(default)]
    pub state: State,

    /// With C(state=absent), also kill the tasks of a run in progress.
    #[serde(default)]
    pub kill_running: bool,

    /// With C(state=started), wait until every instance of the run has ended, and fail when one
    /// did not finish. With C(kill_running), wait until the killed tasks are gone.
    #[serde(default)]
    pub wait: bool,

    /// Seconds to wait, in all, before giving up.
    #[serde(default = "default_wait_timeout")]
    pub wait_timeout: u64,
}

fn default_wait_timeout() -> u64 {
    600
}

impl Module for CronJob {
    const NAME: &'static str = "cron_job";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new("Schedule, deschedule or start a cron job on Apache Aurora")
            .description(
                "Keeps a cron job on an Apache Aurora scheduler: its template (the job, described \
                 with the same options as M(aurora.scheduler.job)) scheduled with C(cron_schedule) \
                 and C(cron_collision_policy), or descheduled, or a run started now.",
            )
            .description(
                "The template is compared with the one the scheduler stores (schedule, collision \
                 policy, instance count and task configuration, semantically); it is replaced \
                 only when they differ.",
            )
            .description(
                "A cron job is a batch job: each run creates one task per instance, which runs to \
                 completion. A service job of the same key is not a cron job: manage it with \
                 M(aurora.scheduler.job).",
            )
            .note("Check mode reads the scheduler and changes nothing.")
            .note(
                "The job options are those of M(aurora.scheduler.job), with two exceptions: \
                 C(service=true) and C(update) do not apply to a cron job and are refused.",
            )
            .note(
                "The schedule is checked as the scheduler checks it before any call; an error \
                 names the field at fault.",
            )
            .note(
                "With C(--diff) the template is shown before and after as options: \
                 C(cron_schedule), C(cron_collision_policy) and the job options as a playbook \
                 writes them (sizes such as C(128MiB), processes by name, options at their \
                 default left out), under headers naming the job, C(CLUSTER/ROLE/ENV/NAME).",
            )
            .examples(EXAMPLES)
            .returns(RETURN)
            .check_mode(Support::Full)
            .diff_mode(Support::Full)
    }

    fn run(options: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
        let started = Instant::now();
        let key = checked_job_key(
            &options.job.role,
            &options.job.environment,
            &options.job.name,
        )?;
        let spec = cron_spec(&options)?;
        let conn = options.connection.connect()?;
        let report = match options.state {
            State::Present => present(&conn, &options, &key, spec, ctx)?,
            State::Absent => absent(&conn, &options, &key, ctx)?,
            State::Started => start(&conn, &options, &key, ctx)?,
        };
        Ok(report.into_outcome(&conn, started, ctx))
    }
}

/// The schedule and policy of the options, checked before any call: required for `present`.
fn cron_spec(o: &Options) -> Result<Option<CronSpec>, Failure> {
    if o.cron_collision_policy == Some(CollisionPolicy::RunOverlap) {
        return Err(Failure::new(
            "cron_collision_policy: RUN_OVERLAP was removed from Aurora (AURORA-38) and current \
             schedulers refuse it; use KILL_EXISTING or CANCEL_NEW",
        ));
    }
    let Some(schedule) = o.cron_schedule.as_deref() else {
        if o.state == State::Present {
            return Err(Failure::new(
                "cron_schedule is required with state=present: five crontab fields, such as \
                 '0 2 * * *' for 02:00 every day",
            ));
        }
        return Ok(None);
    };
    check_schedule(schedule).map_err(spec_failure)?;
    Ok(Some(CronSpec {
        schedule: schedule.to_string(),
        collision_policy: o.cron_collision_policy,
    }))
}

/// What a run did, turned into the result in one place.
struct Report {
    changed: bool,
    msg: String,
    key: JobKey,
    schedule: Option<String>,
    next_run_ms: Option<i64>,
    run: Option<Value>,
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
            schedule: None,
            next_run_ms: None,
            run: None,
            before: json!({}),
            after: json!({}),
            waited_secs: 0.0,
        }
    }

    /// The schedule and next run of the template as the scheduler has it now.
    fn with_template(mut self, summary: Option<&JobSummary>) -> Self {
        self.schedule = summary
            .and_then(|s| s.job.as_ref())
            .and_then(|j| j.cron_schedule.clone());
        self.next_run_ms = summary.and_then(|s| s.next_cron_run_ms);
        self
    }

    /// What was done so far, for a failure after a change (`Failure::after`).
    fn so_far(&self) -> Outcome {
        Outcome::changed(self.changed)
            .msg(self.msg.clone())
            .field("job", json!(self.key.to_string()))
    }

    fn into_outcome(self, conn: &Connection, started: Instant, ctx: &Context) -> Outcome {
        let mut outcome = Outcome::changed(self.changed)
            .msg(self.msg)
            .field("job", json!(self.key.to_string()))
            .field("scheduler_url", json!(conn.url))
            .field("cron_schedule", json!(self.schedule))
            .field("next_run", json!(self.next_run_ms.map(utc_millis)))
            .field("next_run_ms", json!(self.next_run_ms))
            .field(
                "durations",
                json!({"total_secs": secs_since(started), "wait_secs": self.waited_secs}),
            );
        if let Some(run) = self.run {
            outcome = outcome.field("run", run);
        }
        if ctx.diff {
            outcome = with_diff(
                outcome,
                conn,
                "cron job",
                &self.key,
                self.before,
                self.after,
            );
        }
        outcome
    }
}

// ---------------------------------------------------------------------------------------------
// Reading what the scheduler has

/// What the scheduler has under the key: nothing, a cron template, or a job that is not a cron
/// job (synthesized from its active tasks).
enum Found {
    Nothing,
    Template(Box<JobSummary>),
    NotCron,
}

fn find(conn: &Connection, key: &JobKey) -> Result<Found, Failure> {
    let response = conn.client.call_ok(&GetJobSummary {
        role: key.role.clone(),
    })?;
    let summaries = match response.result {
        Some(Payload::JobSummaryResult(r)) => r.summaries.unwrap_or_default(),
        _ => Vec::new(),
    };
    let Some(summary) = summaries
        .into_iter()
        .find(|s| s.job.as_ref().and_then(|j| j.key.as_ref()) == Some(key))
    else {
        return Ok(Found::Nothing);
    };
    let is_cron = summary
        .job
        .as_ref()
        .and_then(|j| j.cron_schedule.as_deref())
        .is_some_and(|s| !s.is_empty());
    if is_cron {
        return Ok(Found::Template(Box::new(summary)));
    }
    // Jobs whose tasks have all ended are listed too; only active ones stand in the way.
    if conn.active_tasks(key, false)?.is_empty() {
        Ok(Found::Nothing)
    } else {
        Ok(Found::NotCron)
    }
}

fn not_a_cron_job(key: &JobKey) -> Failure {
    Failure::new(format!(
        "{key} is a job that is not scheduled with cron (it has active tasks); manage it with \
         aurora.scheduler.job, or kill it (aurora.scheduler.job state=absent) before scheduling \
         a cron job of this name"
    ))
}

fn not_scheduled(key: &JobKey) -> Failure {
    Failure::new(format!(
        "{key} is not scheduled with cron; schedule it first (state=present with cron_schedule)"
    ))
}

fn template_of(summary: &JobSummary) -> JobConfiguration {
    summary.job.clone().unwrap_or_default()
}

/// A template for `--diff`: the options it is scheduled with (`state_json`), with its schedule
/// and collision policy.
fn template_json(template: &JobConfiguration) -> Value {
    let task = template.task_config.clone().unwrap_or_default();
    let mut value = state_json(template.instance_count, &task);
    value["cron_schedule"] = json!(template.cron_schedule);
    value["cron_collision_policy"] = json!(policy_of(template).to_string());
    value
}

/// Unset means KILL_EXISTING (api-reference §3.3.3).
fn policy_of(template: &JobConfiguration) -> CronCollisionPolicy {
    template
        .cron_collision_policy
        .unwrap_or(CronCollisionPolicy::KILL_EXISTING)
}

/// The same template as the scheduler compares it (client-reference §7 item 10).
fn same_template(stored: &JobConfiguration, desired: &JobConfiguration) -> bool {
    stored.cron_schedule == desired.cron_schedule
        && policy_of(stored) == policy_of(desired)
        && stored.instance_count == desired.instance_count
        && match (&stored.task_config, &desired.task_config) {
            (Some(a), Some(b)) => same_config(a, b),
            _ => false,
        }
}

// ---------------------------------------------------------------------------------------------
// state: present

fn present(
    conn: &Connection,
    o: &Options,
    key: &JobKey,
    spec: Option<CronSpec>,
    ctx: &mut Context,
) -> Result<Report, Failure> {
    let spec = spec.ok_or_else(|| Failure::new("cron_schedule is required with state=present"))?;
    let job = build_job(conn, ctx, |context| o.job.build_cron(context, &spec))?;
    for _ in 0..MAX_ROUNDS {
        if let Some(report) = present_round(conn, key, &spec, job.clone(), ctx)? {
            return Ok(report);
        }
    }
    Err(Failure::new(format!(
        "{key} kept changing while this run compared it: other runs scheduled or created it \
         {MAX_ROUNDS} times in a row; run again once they are done"
    )))
}

/// One round of `present`; `None` when another run created a job of this key (or started an
/// update of it) after this round read it, so that the next round reads it again.
fn present_round(
    conn: &Connection,
    key: &JobKey,
    spec: &CronSpec,
    mut job: JobModel,
    ctx: &Context,
) -> Result<Option<Report>, Failure> {
    let stored = match find(conn, key)? {
        Found::NotCron => return Err(not_a_cron_job(key)),
        Found::Template(summary) => Some(template_of(&summary)),
        Found::Nothing => None,
    };
    if let Some(stored_task) = stored.as_ref().and_then(|t| t.task_config.as_ref()) {
        adopt_running(task_config_mut(&mut job.config), stored_task);
    }
    // Templates are stored populated: compare (and show) what the scheduler would store.
    let mut desired = job.config.clone();
    if stored.is_some() || ctx.diff {
        desired.task_config = Some(populated(conn, &job)?);
    }
    let mut report = Report::new(key, true, "");
    report.before = stored.as_ref().map_or(json!({}), template_json);
    report.after = template_json(&desired);
    match &stored {
        Some(stored) if same_template(stored, &desired) => {
            report.changed = false;
            report.msg = format!("{key} is scheduled with this template");
            report.schedule = stored.cron_schedule.clone();
            report.next_run_ms = next_run_ms(conn, key)?;
            return Ok(Some(report));
        }
        Some(_) if ctx.check_mode => report.msg = format!("{key} would be rescheduled"),
        None if ctx.check_mode => report.msg = format!("{key} would be scheduled"),
        Some(_) => report.msg = format!("{key} rescheduled with the new template"),
        None => report.msg = format!("{key} scheduled"),
    }
    if ctx.check_mode {
        report.schedule = Some(spec.schedule.clone());
        report.next_run_ms = check_schedule(&spec.schedule)
            .ok()
            .and_then(|crontab| crontab.next_after(now_ms()));
        return Ok(Some(report));
    }
    // scheduleCronJob creates or replaces (§4.5); replaceCronTemplate would only add a failure
    // when the template vanished in between.
    let scheduled = conn.client.call_ok(&ScheduleCronJob {
        description: Some(job.config.clone()),
    });
    match scheduled {
        Ok(_) => {}
        // Refused as existing or updating: if another run got there after this one looked,
        // read the key again, as a run coming second would.
        Err(e) if refused(&e) || update_in_flight(&e) => {
            let changed_since = match (&stored, find(conn, key)?) {
                (_, Found::NotCron) => true,
                (None, Found::Template(_)) => true,
                _ => conn.active_update(key)?.is_some(),
            };
            return if changed_since {
                Ok(None)
            } else {
                Err(e.into())
            };
        }
        // Its answer lost: scheduleCronJob was applied if the scheduler holds this template.
        Err(e) if maybe_applied(&e) => {
            let wanted = JobConfiguration {
                task_config: Some(populated(conn, &job)?),
                ..job.config.clone()
            };
            match find(conn, key)? {
                Found::Template(s) if same_template(&template_of(&s), &wanted) => {
                    report.msg.push_str(
                        " (the scheduler's answer was lost; the template it holds shows it was \
                         applied)",
                    );
                }
                _ => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    }
    let summary = match find(conn, key) {
        Ok(Found::Template(summary)) => Some(summary),
        Ok(_) => None,
        Err(e) => return Err(e.after(report.so_far())),
    };
    Ok(Some(report.with_template(summary.as_deref())))
}

fn next_run_ms(conn: &Connection, key: &JobKey) -> Result<Option<i64>, Failure> {
    Ok(match find(conn, key)? {
        Found::Template(summary) => summary.next_cron_run_ms,
        _ => None,
    })
}

/// Wall-clock now, for the next run predicted in check mode.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

// ---------------------------------------------------------------------------------------------
// state: absent

fn absent(conn: &Connection, o: &Options, key: &JobKey, ctx: &Context) -> Result<Report, Failure> {
    let found = find(conn, key)?;
    let template = match &found {
        Found::NotCron if o.kill_running => return Err(not_a_cron_job(key)),
        Found::Template(summary) => Some(template_of(summary)),
        _ => None,
    };
    let running = if o.kill_running {
        conn.active_tasks(key, false)?
    } else {
        Vec::new()
    };
    let mut report = Report::new(key, false, format!("{key} is not scheduled with cron"));
    let mut done: Vec<String> = Vec::new();
    if let Some(template) = &template {
        report.changed = true;
        report.before = template_json(template);
        done.push("descheduled".into());
    }
    let ids: Vec<i32> = running.iter().map(instance_id).collect();
    if !running.is_empty() {
        report.changed = true;
        done.push(format!(
            "run in progress killed (instances {})",
            describe_ids(&ids)
        ));
    }
    if !report.changed {
        return Ok(report);
    }
    let would = if ctx.check_mode { "would be " } else { "" };
    report.msg = format!("{key} {would}{}", done.join(", "));
    if ctx.check_mode {
        return Ok(report);
    }
    if template.is_some() {
        conn.client.call_ok(&DescheduleCronJob {
            job: Some(key.clone()),
        })?;
    }
    if !running.is_empty() {
        conn.client.call_ok(&KillTasks {
            job: Some(key.clone()),
            instances: None,
            message: Some("state=absent, kill_running in aurora.scheduler.cron_job".to_string()),
        })?;
        if o.wait {
            let waiting = Instant::now();
            wait_until_killed(conn, key, None, &Deadline::after_secs(o.wait_timeout))
                .map_err(|e| e.after(report.so_far()))?;
            report.waited_secs = secs_since(waiting);
        }
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// state: started

fn start(conn: &Connection, o: &Options, key: &JobKey, ctx: &Context) -> Result<Report, Failure> {
    let template = match find(conn, key)? {
        Found::Template(summary) => *summary,
        Found::NotCron => return Err(not_a_cron_job(key)),
        Found::Nothing => return Err(not_scheduled(key)),
    };
    let config = template_of(&template);
    let known = conn.tasks(key, &[], false)?;
    let active = known.iter().filter(|t| status(t).is_active()).count();
    if active > 0 && policy_of(&config) == CronCollisionPolicy::CANCEL_NEW {
        return Err(Failure::new(format!(
            "{key} has a run in progress ({active} active tasks) and its collision policy is \
             CANCEL_NEW, so the scheduler would skip this run; wait for the run to end, or kill \
             it (state=absent with kill_running=true, then state=present)"
        )));
    }
    let mut report = Report::new(key, true, "").with_template(Some(&template));
    report.before = template_json(&config);
    report.after = report.before.clone();
    let replaces = if active > 0 {
        " (the run in progress is killed first: KILL_EXISTING)"
    } else {
        ""
    };
    if ctx.check_mode {
        report.msg = format!("{key}: a run would be started{replaces}");
        return Ok(report);
    }
    conn.client.call_ok(&StartCronJob {
        job: Some(key.clone()),
    })?;
    report.msg = format!("{key}: a run was started{replaces}");
    if !o.wait {
        return Ok(report);
    }
    let known: HashSet<String> = known.iter().map(|t| task_id(t).to_string()).collect();
    let waiting = Instant::now();
    let deadline = Deadline::after_secs(o.wait_timeout);
    let run = wait_for_run(conn, key, config.instance_count, &known, &deadline)
        .map_err(|e| e.after(report.so_far()))?;
    report.waited_secs = secs_since(waiting);
    let failed: Vec<&ScheduledTask> = run
        .iter()
        .filter(|t| status(t) != ScheduleStatus::FINISHED)
        .collect();
    let run_json = json!({
        "instances": counts_by_status(&run),
        "tasks": run.iter().map(task_json).collect::<Vec<_>>(),
    });
    if !failed.is_empty() {
        let lines: Vec<String> = failed
            .iter()
            .map(|t| {
                format!(
                    "instance {} {}: {}",
                    instance_id(t),
                    status(t),
                    last_message(t)
                )
            })
            .collect();
        return Err(
            Failure::new(format!("{key}: the run failed: {}", lines.join("; ")))
                .field("run", run_json)
                .after(report.so_far()),
        );
    }
    report.run = Some(run_json);
    report.msg = format!("{key}: the run finished ({} instances)", run.len());
    Ok(report)
}

/// Waits until every instance of the run started after `known` has ended for good; returns the
/// last task of each instance. A task replaced by a retry is not its instance's last.
fn wait_for_run(
    conn: &Connection,
    key: &JobKey,
    instance_count: i32,
    known: &HashSet<String>,
    deadline: &Deadline,
) -> Result<Vec<ScheduledTask>, Failure> {
    let mut last_seen: Vec<ScheduledTask> = Vec::new();
    let ended = poll(deadline, || {
        let tasks: Vec<ScheduledTask> = conn
            .tasks(key, &[], false)?
            .into_iter()
            .filter(|t| !known.contains(task_id(t)))
            .collect();
        let retried: HashSet<&str> = tasks
            .iter()
            .filter_map(|t| t.ancestor_id.as_deref())
            .collect();
        let mut run: Vec<ScheduledTask> = tasks
            .iter()
            .filter(|t| !retried.contains(task_id(t)))
            .cloned()
            .collect();
        run.sort_by_key(instance_id);
        let every_instance = (0..instance_count).all(|id| run.iter().any(|t| instance_id(t) == id));
        let all_ended = run.iter().all(|t| status(t).is_terminal());
        let done = every_instance && all_ended;
        last_seen = run;
        Ok(if done {
            Look::Done(last_seen.clone())
        } else {
            Look::NotYet
        })
    })?;
    ended.ok_or_else(|| {
        Failure::new(format!(
            "{key}: the run had not ended after wait_timeout ({} s)",
            deadline.limit_secs()
        ))
        .field("run", json!({"instances": counts_by_status(&last_seen)}))
    })
}

fn task_json(task: &ScheduledTask) -> Value {
    json!({
        "instance": instance_id(task),
        "task_id": task_id(task),
        "status": status(task).to_string(),
        "message": last_message(task),
    })
}

const EXAMPLES: &str = r#"- name: Train the model every night at 02:00 UTC
  aurora.scheduler.cron_job:
    scheduler_url: http://aurora.example.com:8081
    role: ml
    environment: prod
    name: nightly-train
    cron_schedule: "0 2 * * *"
    cron_collision_policy: CANCEL_NEW
    task:
      processes:
        - {name: train, cmdline: "python3 train.py --epochs 10"}
      resources: {cpu: 4, ram: 8GiB, disk: 20GiB}

- name: Run it now and wait for the run to finish
  aurora.scheduler.cron_job:
    role: ml
    environment: prod
    name: nightly-train
    state: started
    wait: true
    wait_timeout: 7200

- name: Deschedule it and kill a run in progress
  aurora.scheduler.cron_job:
    role: ml
    environment: prod
    name: nightly-train
    state: absent
    kill_running: true
    wait: true
"#;

const RETURN: &str = r#"job:
  description: The job key, C(role/environment/name).
  returned: always
  type: str
  sample: ml/prod/nightly-train
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
  sample: http://aurora.example.com:8081
cron_schedule:
  description: The schedule the scheduler has for the job (in check mode, the one it would have); null when not scheduled.
  returned: always
  type: str
  sample: 0 2 * * *
next_run:
  description: When the job runs next, in ISO 8601 UTC (from the scheduler's C(nextCronRunMs)); null when not scheduled.
  returned: always
  type: str
  sample: "2026-11-03T02:00:00Z"
next_run_ms:
  description: When the job runs next, in milliseconds since the epoch; null when not scheduled.
  returned: always
  type: int
  sample: 1793671200000
run:
  description:
    - The run started with C(state=started) and C(wait), once it ended (also in the failure).
    - C(instances) counts the final statuses; C(tasks) has each instance's last task.
  returned: when a run was waited for
  type: dict
  sample: {instances: {FINISHED: 2}, tasks: [{instance: 0, task_id:
      "1700000000000-ml-prod-nightly-train-0-5b1c", status: FINISHED, message: "exit status 0"}]}
durations:
  description: Seconds spent in all (C(total_secs)) and waiting (C(wait_secs)).
  returned: always
  type: dict
  sample: {total_secs: 61.3, wait_secs: 60.9}
msg:
  description: What was done, or would be done in check mode.
  returned: always
  type: str
  sample: ml/prod/nightly-train scheduled
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::BuildContext;

    fn options(args: Value) -> Options {
        serde_json::from_value(args).unwrap()
    }

    fn base(extra: Value) -> Value {
        let mut args = json!({"role": "ml", "environment": "devel", "name": "nightly"});
        if let (Some(map), Value::Object(extra)) = (args.as_object_mut(), extra) {
            map.extend(extra);
        }
        args
    }

    #[test]
    fn every_example_is_a_cron_job_the_model_builds() {
        let examples =
            crate::ansible::validated_examples(&CronJob).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(examples.len(), 3);
        for (name, params) in examples {
            let o: Options = serde_json::from_value(Value::Object(params))
                .unwrap_or_else(|e| panic!("example {name:?}: {e}"));
            let spec = cron_spec(&o).unwrap_or_else(|e| panic!("example {name:?}: {}", e.msg()));
            let Some(spec) = spec else { continue };
            let context = BuildContext {
                cluster: "example",
                owner: "someone",
                tiers: None,
            };
            let job = o
                .job
                .build_cron(&context, &spec)
                .unwrap_or_else(|e| panic!("example {name:?}: {e}"));
            assert_eq!(job.config.cron_schedule.as_deref(), Some("0 2 * * *"));
            assert_eq!(
                job.config.cron_collision_policy,
                Some(CronCollisionPolicy::CANCEL_NEW)
            );
            assert!(!job.task_config().is_service);
        }
    }

    #[test]
    fn a_bad_schedule_is_refused_naming_the_field() {
        let o = options(base(json!({"cron_schedule": "61 * * * *"})));
        let failure = cron_spec(&o).unwrap_err();
        assert_eq!(
            failure.msg(),
            "cron_schedule '61 * * * *': minute field '61' is out of range 0-59"
        );
    }

    #[test]
    fn run_overlap_is_refused_saying_schedulers_removed_it() {
        let o = options(base(
            json!({"cron_schedule": "* * * * *", "cron_collision_policy": "RUN_OVERLAP"}),
        ));
        let failure = cron_spec(&o).unwrap_err();
        assert!(
            failure.msg().contains("current schedulers refuse it"),
            "{}",
            failure.msg()
        );
    }

    #[test]
    fn present_needs_a_schedule_but_absent_and_started_do_not() {
        let failure = cron_spec(&options(base(json!({})))).unwrap_err();
        assert!(
            failure.msg().starts_with("cron_schedule is required"),
            "{}",
            failure.msg()
        );
        for state in ["absent", "started"] {
            assert!(cron_spec(&options(base(json!({"state": state})))).is_ok());
        }
    }

    #[test]
    fn templates_compare_by_schedule_policy_count_and_task() {
        let task = crate::api::types::TaskConfig::default();
        let stored = JobConfiguration {
            cron_schedule: Some("0 2 * * *".into()),
            cron_collision_policy: None,
            task_config: Some(task),
            instance_count: 1,
            ..JobConfiguration::default()
        };
        let mut desired = stored.clone();
        desired.cron_collision_policy = Some(CronCollisionPolicy::KILL_EXISTING);
        assert!(
            same_template(&stored, &desired),
            "unset policy is KILL_EXISTING"
        );
        desired.cron_schedule = Some("0 3 * * *".into());
        assert!(!same_template(&stored, &desired));
        let mut more = stored.clone();
        more.instance_count = 2;
        assert!(!same_template(&stored, &more));
    }
}
