//! `aurora.scheduler.instances`: the number of instances of a running service, for elastic
//! workers. The count changes through Aurora's job updater: an update of the running
//! configuration limited to the instances added or removed (api-reference §4.6.2), so that two
//! runs at once cannot both add, and a run that meets another's update joins it or waits.

use std::time::Instant;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::types::{JobKey, JobUpdateKey, JobUpdateStatus, JobUpdateSummary};
use crate::spec::MaxTasksPerJob;

use super::support::connection::{Connection, ConnectionOptions};
use super::support::job_key::JobKeyOptions;
use super::support::races::MAX_ROUNDS;
use super::support::scaling::{
    own_update_settings, running_template, scales_to, scaling_request, sorted_ids, Change,
};
use super::support::tasks::{config, counts_by_status};
use super::support::updates::{describe, update_json, OnConflict, Start};
use super::support::wait::{secs_since, Deadline};

pub struct Instances;

/// Options of `aurora.scheduler.instances`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    #[serde(flatten)]
    pub job: JobKeyOptions,

    /// How many instances should run. New instances copy the configuration of a running one;
    /// removed instances are those with the highest ids. To stop every instance, use
    /// M(aurora.scheduler.job) with C(state=absent).
    #[schemars(range(min = 1))]
    pub count: i32,

    pub max_tasks_per_job: Option<MaxTasksPerJob>,

    /// Whether to wait until the scaling update has rolled forward: new instances RUNNING (and
    /// healthy for the update's C(watch_secs)), removed ones gone.
    #[serde(default = "default_true")]
    pub wait: bool,

    /// Seconds to wait, in all, before giving up (the update is left rolling).
    #[serde(default = "default_wait_timeout")]
    pub wait_timeout: u64,

    /// What to do when another update of the job is in flight: fail naming it, or wait for it
    /// to end and then scale. An update started by this module for the same C(count) (another
    /// run at the same time) is always joined instead.
    #[serde(default)]
    pub on_conflict: OnConflict,
}

fn default_true() -> bool {
    true
}

fn default_wait_timeout() -> u64 {
    600
}

impl Module for Instances {
    const NAME: &'static str = "instances";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new("Set the number of instances of a running Aurora service")
            .description(
                "Grows or shrinks a running service job to C(count) instances, the elastic-worker \
                 case, through the scheduler's job updater: an update of the configuration of the \
                 lowest running instance, limited (C(updateOnlyTheseInstances)) to the instances \
                 added or removed, rolled out with the settings of the job's last update that \
                 was not itself a scaling (or Aurora's defaults). New instances get the ids \
                 after the highest active one; surplus instances are removed, highest ids first.",
            )
            .description(
                "Unchanged when the job already has C(count) active instances. The configuration \
                 of the running instances is not touched: to change it, use \
                 M(aurora.scheduler.job), whose C(instances) option also sets the count.",
            )
            .description(
                "Runs at the same time cannot overshoot: the scheduler allows one update per \
                 job. A run that meets the update of another run asking for the same C(count) \
                 joins it; any other update in flight fails the run naming it, or, with \
                 C(on_conflict=wait), is waited for, after which the count is read again. The \
                 job always ends at the count asked for, or the task fails.",
            )
            .note(
                "The scaling update never waits for pulses and never pauses itself after a \
                 batch, whatever the job's last update did: nothing would pulse or resume it.",
            )
            .note(
                "Check mode reads the job and reports the instance ids that would be added or \
                 removed.",
            )
            .examples(EXAMPLES)
            .returns(RETURN)
            .check_mode(Support::Full)
            .diff_mode(Support::Full)
    }

    fn run(options: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
        let started = Instant::now();
        // Before anything is asked or allocated for the count.
        options
            .max_tasks_per_job
            .unwrap_or_default()
            .check("count", options.count.into())
            .map_err(|e| Failure::new(e.to_string()))?;
        let key = options.job.key()?;
        let conn = options.connection.connect()?;
        let deadline = Deadline::after_secs(options.wait_timeout);
        let mut scaling = Scaling::new(&key, &conn, options.count);
        for _ in 0..MAX_ROUNDS {
            match round(&conn, &options, ctx, &mut scaling, &deadline) {
                Ok(None) => continue,
                Ok(Some(msg)) => {
                    let mut outcome = scaling.so_far().msg(msg).field(
                        "durations",
                        json!({"total_secs": secs_since(started), "wait_secs": scaling.waited_secs}),
                    );
                    if ctx.diff {
                        let before = scaling.count_before.unwrap_or_default();
                        outcome =
                            outcome.diff(json!({"count": before}), json!({"count": options.count}));
                    }
                    return Ok(outcome);
                }
                Err(failure) => return Err(failure.after(scaling.so_far())),
            }
        }
        Err(Failure::new(format!(
            "{key} kept changing while this run scaled it: other runs changed its instances \
             {MAX_ROUNDS} times in a row; run again once they are done"
        ))
        .after(scaling.so_far()))
    }
}

/// What this run found and did, gathered over its rounds, for the result.
struct Scaling {
    key: JobKey,
    url: String,
    wanted: i32,
    changed: bool,
    /// Active instances when the run first looked.
    count_before: Option<i32>,
    plan: Value,
    instances: Value,
    /// The update this run started or joined.
    update: Option<Value>,
    /// What was done so far, for a failure's message.
    done: String,
    waited_secs: f64,
}

impl Scaling {
    fn new(key: &JobKey, conn: &Connection, wanted: i32) -> Scaling {
        Scaling {
            key: key.clone(),
            url: conn.url.clone(),
            wanted,
            changed: false,
            count_before: None,
            plan: json!({}),
            instances: json!({}),
            update: None,
            done: String::new(),
            waited_secs: 0.0,
        }
    }

    /// The message of a run whose update (started or joined) rolled forward.
    fn went(&self, before: i32) -> String {
        format!(
            "{} went from {before} to {} instances: {}",
            self.key, self.wanted, self.done
        )
    }

    fn so_far(&self) -> Outcome {
        let mut outcome = Outcome::changed(self.changed)
            .msg(self.done.clone())
            .field("job", self.key.to_string())
            .field("scheduler_url", self.url.clone())
            .field("count", self.wanted)
            .field("plan", self.plan.clone())
            .field("instances", self.instances.clone());
        if let Some(before) = self.count_before {
            outcome = outcome.field("count_before", before);
        }
        if let Some(update) = &self.update {
            outcome = outcome
                .field("update_id", update["id"].clone())
                .field("update", update.clone());
        }
        outcome
    }
}

/// One round: reads the job; done (`Some(msg)`) when it has the count asked for, after starting
/// or joining the update that scales it without waiting, or when another run's update followed
/// this run's; another round (`None`) after an update this run followed or waited out ended,
/// to read the count it left.
fn round(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    scaling: &mut Scaling,
    deadline: &Deadline,
) -> Result<Option<String>, Failure> {
    let key = scaling.key.clone();
    let wanted = o.count;
    let active = conn.active_tasks(&key, true)?;
    let ids = sorted_ids(&active);
    let Some(template) = running_template(&active) else {
        return Err(Failure::new(format!(
            "{key} has no active instances; create it first with aurora.scheduler.job"
        )));
    };
    if !active.iter().filter_map(config).any(|c| c.is_service) {
        return Err(Failure::new(format!(
            "{key} is a batch job; instances sets the size of services (a batch job's \
             instances finish on their own)"
        )));
    }
    let current = ids.len() as i32;
    let before = *scaling.count_before.get_or_insert(current);
    scaling.instances = counts_by_status(&active);
    let change = Change::between(&ids, wanted);

    if let Some(update) = conn.active_update(&key)? {
        return meet(conn, o, ctx, scaling, &change, &update, deadline);
    }
    if change.is_none() {
        return Ok(Some(if scaling.changed {
            scaling.went(before)
        } else {
            format!("{key} already has {wanted} instances")
        }));
    }
    scaling.plan = change.to_json();
    if ctx.check_mode {
        scaling.changed = true;
        return Ok(Some(format!(
            "{key} would go from {current} to {wanted} instances: {}",
            change.describe()
        )));
    }
    let settings = own_update_settings(conn, &key)?;
    let request = scaling_request(template, &change, wanted, settings, Vec::new())?;
    match conn.begin_update(request, "aurora.scheduler.instances")? {
        // Another run scaled the job since this round read it: read the count again.
        Start::Unchanged => Ok(None),
        Start::Conflict(update) => meet(conn, o, ctx, scaling, &change, &update, deadline),
        Start::Started(update_key) => {
            scaling.changed = true;
            scaling.update = Some(json!({"id": update_key.id, "status": "ROLLING_FORWARD"}));
            scaling.done = format!(
                "{} started: {key} from {current} to {wanted} instances, {}",
                describe(&update_key),
                change.describe()
            );
            if !o.wait {
                return Ok(Some(scaling.done.clone()));
            }
            follow(conn, scaling, &update_key, deadline)?;
            rolled_forward(conn, scaling, &update_key)
        }
    }
}

/// Another update of the job is in flight: joined when it is another run's scaling to the same
/// count, else waited out or named in the failure (`on_conflict`).
fn meet(
    conn: &Connection,
    o: &Options,
    ctx: &Context,
    scaling: &mut Scaling,
    change: &Change,
    update: &JobUpdateSummary,
    deadline: &Deadline,
) -> Result<Option<String>, Failure> {
    if !scales_to(update, o.count) {
        conn.wait_out_update(update, o.on_conflict, ctx.check_mode, deadline)?;
        return Ok(None);
    }
    let update_key = update.key.clone().unwrap_or_default();
    scaling.changed = true;
    scaling.plan = change.to_json();
    scaling.update = Some(update_json(update));
    scaling.done = format!(
        "joined {}, which scales {} to {} instances",
        describe(&update_key),
        scaling.key,
        o.count
    );
    if ctx.check_mode || !o.wait {
        return Ok(Some(scaling.done.clone()));
    }
    follow(conn, scaling, &update_key, deadline)?;
    rolled_forward(conn, scaling, &update_key)
}

/// This run's update (started or joined) rolled forward. When another update of the job came
/// after it, the run ends there, as if it had come first: fighting the later run round after
/// round would leave neither count. Otherwise another round reads the count the update left:
/// a plan read just before another run's update landed can leave a count other than the one
/// asked for, and the next round scales from there.
fn rolled_forward(
    conn: &Connection,
    scaling: &Scaling,
    update_key: &JobUpdateKey,
) -> Result<Option<String>, Failure> {
    let newest = conn.job_updates(&scaling.key)?.into_iter().next();
    if newest
        .and_then(|u| u.key)
        .is_some_and(|key| key != *update_key)
    {
        return Ok(Some(scaling.went(scaling.count_before.unwrap_or_default())));
    }
    Ok(None)
}

/// Follows the update to its end; fails with the update's reason unless it rolled forward.
fn follow(
    conn: &Connection,
    scaling: &mut Scaling,
    update_key: &JobUpdateKey,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let waiting = Instant::now();
    let end = conn.follow_update(update_key, deadline)?;
    scaling.waited_secs += secs_since(waiting);
    let Some(end) = end else {
        return Err(Failure::new(format!(
            "{} was still rolling after wait_timeout ({} s); the scheduler carries on with it",
            describe(update_key),
            deadline.limit_secs()
        )));
    };
    scaling.update = Some(json!({"id": update_key.id, "status": end.to_string()}));
    if end != JobUpdateStatus::ROLLED_FORWARD {
        return Err(Failure::new(format!(
            "{} ended {end}: {}",
            describe(update_key),
            conn.update_failure_reason(update_key)
        )));
    }
    Ok(())
}

const EXAMPLES: &str = r#"- name: Scale the workers to the queue's length, at most 40
  aurora.scheduler.instances:
    scheduler_url: http://aurora.example.com:8081
    role: ml
    environment: prod
    name: batch-worker
    count: "{{ [queue_length | int // 100, 1] | max | min(40) }}"

- name: Back to two workers, without waiting for the surplus to stop
  aurora.scheduler.instances:
    role: ml
    environment: prod
    name: batch-worker
    count: 2
    wait: false

- name: Scale up after whatever update is rolling now
  aurora.scheduler.instances:
    role: ml
    environment: prod
    name: batch-worker
    count: 8
    on_conflict: wait
"#;

const RETURN: &str = r#"job:
  description: The job key, C(role/environment/name).
  returned: always
  type: str
  sample: ml/prod/batch-worker
count_before:
  description: Active instances before the change.
  returned: always
  type: int
  sample: 2
count:
  description: The instance count asked for.
  returned: always
  type: int
  sample: 5
plan:
  description: The instance ids added (C(add)) or removed (C(remove)); empty when nothing changes.
  returned: always
  type: dict
  sample: {add: [2, 3, 4]}
instances:
  description: Instances by task status, after the update rolled forward (or as found, when unchanged or not waiting).
  returned: always
  type: dict
  sample: {RUNNING: 5}
update_id:
  description: The id of the scaling update started or joined.
  returned: when an update was started or joined
  type: str
  sample: 5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11
update:
  description: The scaling update started or joined, with its last known status.
  returned: when an update was started or joined
  type: dict
  sample: {id: 5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11, status: ROLLED_FORWARD}
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
durations:
  description: Seconds spent in all and waiting.
  returned: always
  type: dict
  sample: {total_secs: 4.2, wait_secs: 3.9}
"#;
