//! `aurora.scheduler.job_update`: control of a job's rolling update, for CI pipelines and
//! canaries: pause, resume, abort, roll back, wait for the end, keep a coordinated update alive
//! with pulses while a health check passes, or revert to the last configuration that rolled out.

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::methods::{
    AbortJobUpdate, PauseJobUpdate, PulseJobUpdate, ResumeJobUpdate, RollbackJobUpdate,
};
use crate::api::types::{
    JobKey, JobUpdatePulseStatus, JobUpdateRequest, JobUpdateStatus, JobUpdateSummary, Metadata,
    Result as Payload,
};
use crate::spec::readable;

use super::support::connection::{Connection, ConnectionOptions};
use super::support::job_key::JobKeyOptions;
use super::support::tasks::config;
use super::support::updates::{describe, metadata_value, summary_status, update_json};
use super::support::wait::{secs_since, Deadline};
use super::support::web::web_client;

pub struct JobUpdate;

/// The metadata key of an update started by C(state=reverted): the id of the update whose
/// configuration it re-applies, so that a second run knows the revert is done.
pub const REVERTS_KEY: &str = "org.apache.aurora.ansible.reverts";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The update is paused (it can be resumed).
    Paused,
    /// A paused update rolls on; unchanged when none is paused.
    Resumed,
    /// The update is aborted, leaving the job partly updated.
    Aborted,
    /// The update rolls back to the previous configuration; with C(wait), until it has.
    RolledBack,
    /// Waits until the update ends, and fails unless it ROLLED_FORWARD. Changes nothing.
    Finished,
    /// Keeps a coordinated update (one with C(update.pulse_interval_secs)) going: pulses it
    /// while C(health_url) answers 2xx, until it ends or C(wait_timeout) passes; stops pulsing,
    /// and fails, as soon as the health check fails, so that the update blocks.
    Pulsed,
    /// Re-applies, as a new rolling update, the configuration of the last update that rolled
    /// forward before the newest one, even when the newest has finished.
    Reverted,
}

/// Options of `aurora.scheduler.job_update`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    #[serde(flatten)]
    pub job: JobKeyOptions,

    pub state: State,

    /// The update to act on; by default the job's update in flight (for C(finished), the newest).
    pub update_id: Option<String>,

    /// Whether C(rolled_back) and C(reverted) wait for the update to end.
    #[serde(default = "default_true")]
    pub wait: bool,

    /// Seconds to wait, or to pulse, in all.
    #[serde(default = "default_wait_timeout")]
    pub wait_timeout: u64,

    /// For C(pulsed): the URL whose 2xx answer allows the next pulse (for example the canary's
    /// health endpoint, or a metrics check).
    pub health_url: Option<String>,

    /// For C(pulsed): seconds between two pulses. Keep it well under the update's
    /// C(pulse_interval_secs).
    #[serde(default = "default_pulse_every")]
    #[schemars(range(min = 0.01))]
    pub pulse_every: f64,

    /// A message recorded with the change on the scheduler.
    pub message: Option<String>,
}

fn default_true() -> bool {
    true
}

fn default_wait_timeout() -> u64 {
    600
}

fn default_pulse_every() -> f64 {
    15.0
}

impl Module for JobUpdate {
    const NAME: &'static str = "job_update";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new(
            "Pause, resume, abort, roll back, pulse, await or revert Aurora job updates",
        )
        .description(
            "Controls the rolling update of a job, addressed by its job key (the update in \
                 flight) or by C(update_id): for CI pipelines and canaries.",
        )
        .description(
            "C(pulsed) keeps a coordinated update alive only while a health check passes, \
                 as Aurora intends coordinated updates to be used. C(reverted) is the \"roll back \
                 to the last good version\" that Aurora lacks once an update has finished.",
        )
        .note(
            "Each state is idempotent: an update already paused is not paused again, an \
                 update already ended is not aborted, a revert already applied is not repeated.",
        )
        .examples(EXAMPLES)
        .returns(RETURN)
        .check_mode(Support::Full)
        .diff_mode(Support::None)
    }

    fn run(o: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
        let started = Instant::now();
        let key = o.job.key()?;
        if o.state == State::Pulsed && o.health_url.is_none() {
            return Err(Failure::new(
                "state=pulsed needs health_url: the URL whose 2xx answer allows each pulse",
            ));
        }
        let conn = o.connection.connect()?;
        let deadline = Deadline::after_secs(o.wait_timeout);
        let outcome = match o.state {
            State::Paused | State::Resumed | State::Aborted | State::RolledBack => {
                control(&conn, &o, ctx, &key, &deadline)?
            }
            State::Finished => finished(&conn, &o, &key, &deadline)?,
            State::Pulsed => pulsed(&conn, &o, ctx, &key, &deadline)?,
            State::Reverted => reverted(&conn, &o, ctx, &key, &deadline)?,
        };
        Ok(outcome
            .field("job", key.to_string())
            .field("scheduler_url", conn.url.clone())
            .field("durations", json!({"total_secs": secs_since(started)})))
    }
}

/// The update the options address: `update_id`, else the job's update in flight.
fn addressed(
    conn: &Connection,
    o: &Options,
    key: &JobKey,
) -> Result<Option<JobUpdateSummary>, Failure> {
    match &o.update_id {
        Some(id) => {
            let update_key = crate::api::types::JobUpdateKey {
                job: Some(key.clone()),
                id: Some(id.clone()),
            };
            match conn.update_summary(&update_key)? {
                Some(summary) => Ok(Some(summary)),
                None => Err(Failure::new(format!(
                    "update_id: {key} has no update {id}; list them with aurora.scheduler.job_info"
                ))),
            }
        }
        None => Ok(conn.active_update(key)?),
    }
}

fn status_of(update: &JobUpdateSummary) -> JobUpdateStatus {
    summary_status(update).unwrap_or(JobUpdateStatus::ERROR)
}

fn is_paused(status: JobUpdateStatus) -> bool {
    matches!(
        status,
        JobUpdateStatus::ROLL_FORWARD_PAUSED | JobUpdateStatus::ROLL_BACK_PAUSED
    )
}

fn is_rolling_back(status: JobUpdateStatus) -> bool {
    matches!(
        status,
        JobUpdateStatus::ROLLING_BACK
            | JobUpdateStatus::ROLL_BACK_PAUSED
            | JobUpdateStatus::ROLL_BACK_AWAITING_PULSE
    )
}

/// paused, resumed, aborted, rolled_back: compare the update's status with the state, then act.
fn control(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    key: &JobKey,
    deadline: &Deadline,
) -> Result<Outcome, Failure> {
    let Some(update) = addressed(conn, o, key)? else {
        // Nothing in flight: the newest update tells whether an earlier run already did it.
        let newest = conn.job_updates(key)?.into_iter().next();
        return match (o.state, newest.as_ref().map(status_of)) {
            (State::RolledBack, Some(JobUpdateStatus::ROLLED_BACK)) => Ok(Outcome::unchanged()
                .msg(format!("{key}: its newest update already ROLLED_BACK"))
                .field("update", newest.as_ref().map(update_json))),
            (State::Paused, _) => Err(Failure::new(format!(
                "{key} has no update in flight to pause"
            ))),
            (State::RolledBack, _) => Err(Failure::new(format!(
                "{key} has no update in flight to roll back; to go back to an earlier \
                 configuration after an update finished, use state=reverted"
            ))),
            // Resumed or aborted: already so, unless there is no such job.
            _ if newest.is_none() && conn.active_tasks(key, false)?.is_empty() => {
                Err(Failure::new(format!(
                    "{key} has no active instances and has never been updated: no such job? \
                     Check role, environment and name (aurora.scheduler.job_info lists the jobs)"
                )))
            }
            _ => Ok(Outcome::unchanged().msg(format!("{key} has no update in flight"))),
        };
    };
    let update_key = update.key.clone().unwrap_or_default();
    let status = status_of(&update);
    let name = describe(&update_key);
    let unchanged = |why: String| {
        Ok(Outcome::unchanged()
            .msg(why)
            .field("update", update_json(&update)))
    };
    if !status.is_active() {
        return match (o.state, status) {
            (State::Paused, _) => Err(Failure::new(format!(
                "{name} already ended {status}; there is nothing to pause"
            ))),
            (State::RolledBack, JobUpdateStatus::ROLLED_FORWARD) => Err(Failure::new(format!(
                "{name} already ended ROLLED_FORWARD, so the scheduler cannot roll it back; use \
                 state=reverted to re-apply the configuration before it"
            ))),
            _ => unchanged(format!("{name} already ended {status}")),
        };
    }
    let message = Some(
        o.message
            .clone()
            .unwrap_or_else(|| "aurora.scheduler.job_update".to_string()),
    );
    let call_key = Some(update_key.clone());
    let (done, verb) = match o.state {
        State::Paused if is_paused(status) => {
            return unchanged(format!("{name} is already paused"))
        }
        State::Resumed if !is_paused(status) => return unchanged(format!("{name} is not paused")),
        State::RolledBack if is_rolling_back(status) && !o.wait => {
            return unchanged(format!("{name} is already rolling back"))
        }
        State::Paused => (JobUpdateStatus::ROLL_FORWARD_PAUSED, "paused"),
        State::Resumed => (JobUpdateStatus::ROLLING_FORWARD, "resumed"),
        State::Aborted => (JobUpdateStatus::ABORTED, "aborted"),
        _ => (JobUpdateStatus::ROLLING_BACK, "rolling back"),
    };
    let already_rolling_back = o.state == State::RolledBack && is_rolling_back(status);
    let mut outcome = Outcome::changed(!already_rolling_back);
    if ctx.check_mode {
        return Ok(outcome
            .msg(format!("{name} would be {verb}"))
            .field("update", update_json(&update)));
    }
    if !already_rolling_back {
        match o.state {
            State::Paused => conn.client.call_ok(&PauseJobUpdate {
                key: call_key,
                message,
            })?,
            State::Resumed => conn.client.call_ok(&ResumeJobUpdate {
                key: call_key,
                message,
            })?,
            State::Aborted => conn.client.call_ok(&AbortJobUpdate {
                key: call_key,
                message,
            })?,
            _ => conn.client.call_ok(&RollbackJobUpdate {
                key: call_key,
                message,
            })?,
        };
    }
    let mut msg = format!("{name} {verb}");
    let mut final_status = done.to_string();
    if o.state == State::RolledBack && o.wait {
        let Some(end) = conn.follow_update(&update_key, deadline)? else {
            return Err(Failure::new(format!(
                "{name} was still rolling back after wait_timeout ({} s)",
                o.wait_timeout
            )));
        };
        if end != JobUpdateStatus::ROLLED_BACK {
            return Err(Failure::new(format!(
                "{name} ended {end} instead of ROLLED_BACK: {}",
                conn.update_failure_reason(&update_key)
            )));
        }
        final_status = end.to_string();
        msg = format!("{name} rolled back");
    }
    outcome = outcome.msg(msg).field(
        "update",
        json!({"id": update_key.id, "status": final_status}),
    );
    Ok(outcome)
}

/// Waits for the update to end; fails unless it rolled forward.
fn finished(
    conn: &Connection,
    o: &Options,
    key: &JobKey,
    deadline: &Deadline,
) -> Result<Outcome, Failure> {
    let update = match addressed(conn, o, key)? {
        Some(update) => update,
        None => conn
            .job_updates(key)?
            .into_iter()
            .next()
            .ok_or_else(|| Failure::new(format!("{key} has no update to wait for")))?,
    };
    let update_key = update.key.clone().unwrap_or_default();
    let name = describe(&update_key);
    let end = match summary_status(&update) {
        Some(status) if !status.is_active() => status,
        _ => conn.follow_update(&update_key, deadline)?.ok_or_else(|| {
            Failure::new(format!(
                "{name} had not ended after wait_timeout ({} s)",
                o.wait_timeout
            ))
        })?,
    };
    let update_value = json!({"id": update_key.id, "status": end.to_string()});
    if end != JobUpdateStatus::ROLLED_FORWARD {
        return Err(Failure::new(format!(
            "{name} ended {end}: {}",
            conn.update_failure_reason(&update_key)
        ))
        .field("update", update_value));
    }
    Ok(Outcome::unchanged()
        .msg(format!("{name} rolled forward"))
        .field("update", update_value))
}

/// Pulses while the health check passes, until the update ends or the time is up.
fn pulsed(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    key: &JobKey,
    deadline: &Deadline,
) -> Result<Outcome, Failure> {
    let Some(update) = addressed(conn, o, key)? else {
        return Err(Failure::new(format!(
            "{key} has no update in flight to pulse"
        )));
    };
    let update_key = update.key.clone().unwrap_or_default();
    let name = describe(&update_key);
    let status = status_of(&update);
    if !status.is_active() {
        return Ok(Outcome::unchanged()
            .msg(format!("{name} already ended {status}"))
            .field("update", update_json(&update)));
    }
    if ctx.check_mode {
        return Ok(Outcome::changed(true)
            .msg(format!(
                "{name} would be pulsed while {} answers 2xx",
                health_url(o)
            ))
            .field("update", update_json(&update)));
    }
    let http = web_client(
        "health_url",
        Duration::from_secs(o.connection.timeout.max(1)),
    )?;
    let pause = Duration::from_secs_f64(o.pulse_every);
    let mut pulses = 0u32;
    loop {
        if let Err(why) = healthy(&http, health_url(o)) {
            return Err(Failure::new(format!(
                "health_url {why}: stopped pulsing {name} after {pulses} pulses; it blocks \
                 until pulsed again (or abort it: state=aborted)"
            ))
            .field("pulses", pulses)
            .field("update", json!({"id": update_key.id})));
        }
        let response = conn.client.call_ok(&PulseJobUpdate {
            key: Some(update_key.clone()),
        })?;
        pulses += 1;
        let pulse_finished = matches!(
            response.result,
            Some(Payload::PulseJobUpdateResult(ref r)) if r.status == Some(JobUpdatePulseStatus::FINISHED)
        );
        let now = conn
            .update_summary(&update_key)?
            .map(|u| status_of(&u))
            .unwrap_or(JobUpdateStatus::ERROR);
        if pulse_finished || !now.is_active() {
            let outcome = Outcome::changed(true).field("pulses", pulses).field(
                "update",
                json!({"id": update_key.id, "status": now.to_string()}),
            );
            if now != JobUpdateStatus::ROLLED_FORWARD {
                return Err(Failure::new(format!(
                    "{name} ended {now}: {}",
                    conn.update_failure_reason(&update_key)
                ))
                .field("pulses", pulses));
            }
            return Ok(outcome.msg(format!("{name} rolled forward after {pulses} pulses")));
        }
        if deadline.passed() {
            return Ok(Outcome::changed(true)
                .msg(format!(
                    "pulsed {name} {pulses} times for wait_timeout ({} s); it is {now}",
                    o.wait_timeout
                ))
                .field("pulses", pulses)
                .field(
                    "update",
                    json!({"id": update_key.id, "status": now.to_string()}),
                ));
        }
        std::thread::sleep(pause);
    }
}

fn health_url(o: &Options) -> &str {
    o.health_url.as_deref().unwrap_or_default()
}

/// `Ok` when the URL answers 2xx; otherwise what it answered, for the message.
fn healthy(http: &reqwest::blocking::Client, url: &str) -> Result<(), String> {
    match http.get(url).send() {
        Ok(reply) if reply.status().is_success() => Ok(()),
        Ok(reply) => Err(format!("{url} answered HTTP {}", reply.status().as_u16())),
        Err(e) => Err(format!("{url} could not be reached: {e}")),
    }
}

/// Re-applies the configuration of the last update that rolled forward before the newest.
fn reverted(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    key: &JobKey,
    deadline: &Deadline,
) -> Result<Outcome, Failure> {
    let updates = conn.job_updates(key)?;
    let Some(newest) = updates.first() else {
        return Err(Failure::new(format!("{key} has no update to revert")));
    };
    if status_of(newest).is_active() {
        return Err(Failure::new(format!(
            "{} is in flight; let it finish, or roll it back (state=rolled_back)",
            describe(&newest.key.clone().unwrap_or_default())
        )));
    }
    // A revert started by this module names what it reverted to; a re-run keeps that target.
    let target = match metadata_value(newest, REVERTS_KEY) {
        Some(id) => updates
            .iter()
            .find(|u| u.key.as_ref().and_then(|k| k.id.as_deref()) == Some(id)),
        None => updates[1..]
            .iter()
            .find(|u| status_of(u) == JobUpdateStatus::ROLLED_FORWARD),
    };
    let Some(target) = target else {
        return Err(Failure::new(format!(
            "{key} has no update that rolled forward before its newest one; there is nothing to \
             revert to"
        )));
    };
    let target_key = target.key.clone().unwrap_or_default();
    let target_id = target_key.id.clone().unwrap_or_default();
    let details = conn.update_details(&target_key)?;
    let instructions = details
        .and_then(|d| d.update)
        .and_then(|u| u.instructions)
        .ok_or_else(|| {
            Failure::new(format!(
                "{} has no instructions to re-apply",
                describe(&target_key)
            ))
        })?;
    let Some(desired) = instructions.desired_state else {
        return Err(Failure::new(format!(
            "{} removed the job's instances; there is no configuration to re-apply",
            describe(&target_key)
        )));
    };
    let Some(task_config) = desired.task else {
        return Err(Failure::new(format!(
            "{} carries no task configuration",
            describe(&target_key)
        )));
    };
    let instance_count: i32 = desired
        .instances
        .unwrap_or_default()
        .iter()
        .map(|r| r.last - r.first + 1)
        .sum();

    let active = conn.active_tasks(key, true)?;
    let running_target = !active.is_empty()
        && active.len() as i32 == instance_count
        && active
            .iter()
            .all(|t| config(t).is_some_and(|c| readable(c) == readable(&task_config)));
    let reverted_to = json!({"id": target_id, "instances": instance_count});
    if running_target {
        return Ok(Outcome::unchanged()
            .msg(format!(
                "{key} already runs the configuration of {}",
                describe(&target_key)
            ))
            .field("reverted_to", reverted_to));
    }
    if ctx.check_mode {
        return Ok(Outcome::changed(true)
            .msg(format!(
                "{key} would be reverted to the configuration of {}",
                describe(&target_key)
            ))
            .field("reverted_to", reverted_to));
    }
    let request = JobUpdateRequest {
        task_config: Some(task_config),
        instance_count,
        settings: instructions.settings,
        metadata: Some(vec![Metadata {
            key: Some(REVERTS_KEY.to_string()),
            value: Some(target_id.clone()),
        }]),
    };
    let message = o
        .message
        .clone()
        .unwrap_or_else(|| format!("aurora.scheduler.job_update: revert to {target_id}"));
    let Some(update_key) = conn.start_update(request, &message)? else {
        return Ok(Outcome::unchanged()
            .msg(format!("{key} already runs that configuration"))
            .field("reverted_to", reverted_to));
    };
    let mut outcome = Outcome::changed(true).field("reverted_to", reverted_to);
    if !o.wait {
        return Ok(outcome
            .msg(format!("{} started", describe(&update_key)))
            .field(
                "update",
                json!({"id": update_key.id, "status": "ROLLING_FORWARD"}),
            ));
    }
    let Some(end) = conn.follow_update(&update_key, deadline)? else {
        return Err(Failure::new(format!(
            "{} was still rolling after wait_timeout ({} s)",
            describe(&update_key),
            o.wait_timeout
        ))
        .field("update_id", json!(update_key.id)));
    };
    if end != JobUpdateStatus::ROLLED_FORWARD {
        return Err(Failure::new(format!(
            "{} ended {end}: {}",
            describe(&update_key),
            conn.update_failure_reason(&update_key)
        )));
    }
    outcome = outcome
        .msg(format!(
            "{key} reverted to the configuration of {}",
            describe(&target_key)
        ))
        .field(
            "update",
            json!({"id": update_key.id, "status": end.to_string()}),
        );
    Ok(outcome)
}

const EXAMPLES: &str = r#"- name: Pause the rollout of the scorer
  aurora.scheduler.job_update:
    scheduler_url: http://aurora.example.com:8081
    role: ml
    environment: prod
    name: scorer
    state: paused

- name: Let it go on
  aurora.scheduler.job_update:
    role: ml
    environment: prod
    name: scorer
    state: resumed

- name: Keep the canary's coordinated update alive while its health check passes
  aurora.scheduler.job_update:
    role: ml
    environment: prod
    name: scorer
    state: pulsed
    health_url: http://canary.example.com:8080/health
    pulse_every: 30
    wait_timeout: 3600

- name: In CI, wait for the update and fail the pipeline if it did not roll forward
  aurora.scheduler.job_update:
    role: ml
    environment: prod
    name: scorer
    state: finished
    wait_timeout: 1800

- name: The new version misbehaves after its update finished; go back to the previous one
  aurora.scheduler.job_update:
    role: ml
    environment: prod
    name: scorer
    state: reverted
"#;

const RETURN: &str = r#"job:
  description: The job key.
  returned: always
  type: str
  sample: ml/prod/scorer
update:
  description: The update acted on, or started by C(reverted), with its status afterwards.
  returned: when there is one
  type: dict
  sample: {id: 5ec9c9c4-7e4f-4c43-bd22-9d1e1bb5bd67, status: ROLL_FORWARD_PAUSED}
pulses:
  description: Pulses sent (C(pulsed)).
  returned: when state is pulsed
  type: int
  sample: 12
reverted_to:
  description: The update whose configuration C(reverted) re-applies, and its instance count.
  returned: when state is reverted
  type: dict
  sample: {id: 0a1b2c3d-0000-4000-8000-000000000000, instances: 3}
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
durations:
  description: Seconds spent.
  returned: always
  type: dict
"#;
