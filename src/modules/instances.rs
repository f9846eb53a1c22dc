//! `aurora.scheduler.instances`: the number of instances of a running service, for elastic
//! workers. Grows with addInstances from a running instance's configuration, shrinks by killing
//! the highest instance ids, and waits for the outcome.

use std::time::Instant;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::methods::{AddInstances, KillTasks};
use crate::api::types::{InstanceKey, JobKey, ScheduledTask};
use crate::spec::MaxTasksPerJob;

use super::support::connection::{Connection, ConnectionOptions};
use super::support::instances::{wait_for_instances, wait_until_killed, Goal};
use super::support::job_key::JobKeyOptions;
use super::support::tasks::{config, counts_by_status, describe_ids, instance_id};
use super::support::updates::describe;
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

    /// Whether to wait until new instances are RUNNING, or removed ones are gone.
    #[serde(default = "default_true")]
    pub wait: bool,

    /// Seconds to wait before giving up.
    #[serde(default = "default_wait_timeout")]
    pub wait_timeout: u64,
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
                 case: new instances are added with the scheduler's C(addInstances), copying the \
                 configuration of the lowest running instance; surplus instances are killed, \
                 highest instance ids first.",
            )
            .description(
                "Unchanged when the job already has C(count) active instances. The job's \
                 configuration is not touched: to change it, use M(aurora.scheduler.job), whose \
                 C(instances) option also sets the count through a rolling update.",
            )
            .note(
                "New instances get the ids after the highest active one (Aurora does not fill \
                 gaps), so after a shrink and a grow the ids are contiguous again.",
            )
            .note("Fails, changing nothing, while an update of the job is in flight.")
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

        let active = conn.active_tasks(&key, true)?;
        let ids = sorted_ids(&active);
        if ids.is_empty() {
            return Err(Failure::new(format!(
                "{key} has no active instances; create it first with aurora.scheduler.job"
            )));
        }
        if !active.iter().filter_map(config).any(|c| c.is_service) {
            return Err(Failure::new(format!(
                "{key} is a batch job; instances sets the size of services (a batch job's \
                 instances finish on their own)"
            )));
        }
        if let Some(update) = conn.active_update(&key)? {
            return Err(Failure::new(format!(
                "{} is in flight; wait for it to end (aurora.scheduler.job_update, \
                 state=finished) before changing the instance count",
                describe(&update.key.unwrap_or_default())
            )));
        }

        let current = ids.len() as i32;
        let wanted = options.count;
        let change = Change::between(&ids, wanted);
        let mut outcome = Outcome::changed(!change.is_none())
            .field("job", key.to_string())
            .field("scheduler_url", conn.url.clone())
            .field("count_before", current)
            .field("count", wanted)
            .field("plan", change.to_json());
        if ctx.diff {
            outcome = outcome.diff(json!({"count": current}), json!({"count": wanted}));
        }
        let waited = Instant::now();
        let msg = match &change {
            Change::None => {
                outcome = outcome.field("instances", counts_by_status(&active));
                format!("{key} already has {wanted} instances")
            }
            _ if ctx.check_mode => format!(
                "{key} would go from {current} to {wanted} instances: {}",
                change.describe()
            ),
            Change::Add(new_ids) => {
                add(&conn, &key, ids[0], new_ids.len() as i32)?;
                if options.wait {
                    let tasks = wait_for_instances(
                        &conn,
                        &key,
                        ids.iter().chain(new_ids).copied(),
                        Goal::Running,
                        &deadline,
                    )?;
                    outcome = outcome.field("instances", counts_by_status(&tasks));
                }
                format!(
                    "{key} grew from {current} to {wanted} instances: {}",
                    change.describe()
                )
            }
            Change::Remove(gone) => {
                conn.client.call_ok(&KillTasks {
                    job: Some(key.clone()),
                    instances: Some(gone.clone()),
                    message: Some(format!("scaled to {wanted} by aurora.scheduler.instances")),
                })?;
                if options.wait {
                    wait_until_killed(&conn, &key, Some(gone), &deadline)?;
                    outcome = outcome.field(
                        "instances",
                        counts_by_status(&conn.active_tasks(&key, false)?),
                    );
                }
                format!(
                    "{key} shrank from {current} to {wanted} instances: {}",
                    change.describe()
                )
            }
        };
        Ok(outcome.msg(msg).field(
            "durations",
            json!({"total_secs": secs_since(started), "wait_secs": secs_since(waited)}),
        ))
    }
}

/// How the instance ids change.
enum Change {
    None,
    /// New instance ids, after the highest active one (api-reference §4.4, addInstances).
    Add(Vec<i32>),
    /// The highest ids, killed.
    Remove(Vec<i32>),
}

impl Change {
    /// From the active ids (sorted) to `wanted` instances.
    fn between(ids: &[i32], wanted: i32) -> Change {
        let current = ids.len() as i32;
        let highest = ids.last().copied().unwrap_or(-1);
        if wanted > current {
            Change::Add((highest + 1..=highest + wanted - current).collect())
        } else if wanted < current {
            let mut gone = ids[wanted as usize..].to_vec();
            gone.sort_unstable();
            Change::Remove(gone)
        } else {
            Change::None
        }
    }

    fn is_none(&self) -> bool {
        matches!(self, Change::None)
    }

    fn to_json(&self) -> Value {
        match self {
            Change::None => json!({}),
            Change::Add(ids) => json!({"add": ids}),
            Change::Remove(ids) => json!({"remove": ids}),
        }
    }

    fn describe(&self) -> String {
        match self {
            Change::None => "no change".to_string(),
            Change::Add(ids) => format!("adds instances {}", describe_ids(ids)),
            Change::Remove(ids) => format!("kills instances {}", describe_ids(ids)),
        }
    }
}

/// The distinct active instance ids, lowest first.
fn sorted_ids(active: &[ScheduledTask]) -> Vec<i32> {
    let mut ids: Vec<i32> = active.iter().map(instance_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// addInstances copying instance `template`.
fn add(conn: &Connection, key: &JobKey, template: i32, count: i32) -> Result<(), Failure> {
    conn.client.call_ok(&AddInstances {
        key: Some(InstanceKey {
            job_key: Some(key.clone()),
            instance_id: template,
        }),
        count,
    })?;
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
  description: The instance ids added (C(add)) or killed (C(remove)); empty when nothing changes.
  returned: always
  type: dict
  sample: {add: [2, 3, 4]}
instances:
  description: Instances by task status, after waiting (or as found, when unchanged).
  returned: when unchanged, or after waiting
  type: dict
  sample: {RUNNING: 5}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_adds_ids_after_the_highest_active_one() {
        assert_eq!(
            Change::between(&[0, 1, 4], 5).to_json(),
            json!({"add": [5, 6]})
        );
    }

    #[test]
    fn shrinking_kills_the_highest_ids() {
        assert_eq!(
            Change::between(&[0, 1, 2, 3], 2).to_json(),
            json!({"remove": [2, 3]})
        );
        assert!(Change::between(&[0, 1], 2).is_none());
    }
}
