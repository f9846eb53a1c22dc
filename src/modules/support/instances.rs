//! Waiting on a job's instances: until some run (or finish), failing as soon as one fails for
//! good, and until killed ones are gone. Shared by the modules that start or stop instances.

use serde_json::json;

use crate::ansible::Failure;
use crate::api::types::{JobKey, ScheduleStatus, ScheduledTask};

use super::connection::Connection;
use super::tasks::{
    counts_by_status, instance_id, last_message, newest_per_instance, status, task_id,
};
use super::wait::{poll, Deadline, Look};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// Services: RUNNING. Batch jobs: RUNNING or already FINISHED.
    Running,
    /// Every instance FINISHED.
    Finished,
}

/// Waits until the instances `ids` reach `goal`; fails as soon as one fails for good (a batch
/// instance FAILED with no retry left, a service instance that failed and is being restarted).
/// Returns the newest task of each of those instances.
pub fn wait_for_instances(
    conn: &Connection,
    key: &JobKey,
    ids: impl IntoIterator<Item = i32>,
    goal: Goal,
    deadline: &Deadline,
) -> Result<Vec<ScheduledTask>, Failure> {
    let ids: Vec<i32> = ids.into_iter().collect();
    let mut last_seen: Vec<ScheduledTask> = Vec::new();
    let done = poll(deadline, || {
        let tasks = conn.tasks(key, &[], false)?;
        let newest = newest_per_instance(&tasks);
        let mut ready = 0;
        for id in &ids {
            let Some(task) = newest.get(id) else {
                continue;
            };
            match (status(task), goal) {
                (ScheduleStatus::FINISHED, _) => ready += 1,
                (ScheduleStatus::RUNNING, Goal::Running) if task.failure_count == 0 => ready += 1,
                (s, _) if s.is_terminal() => return Err(instance_failed(conn, key, task)),
                (_, _) if task.failure_count > 0 && goal == Goal::Running => {
                    return Err(instance_failed(conn, key, task))
                }
                _ => {}
            }
        }
        // Only these instances: others (removed by a scale-down) are no longer wanted.
        last_seen = ids
            .iter()
            .filter_map(|id| newest.get(id).map(|task| (*task).clone()))
            .collect();
        Ok(if ready == ids.len() {
            Look::Done(last_seen.clone())
        } else {
            Look::NotYet
        })
    })?;
    done.ok_or_else(|| {
        let want = match goal {
            Goal::Finished => "FINISHED",
            Goal::Running => "RUNNING",
        };
        Failure::new(format!(
            "{key}: not every instance was {want} within wait_timeout ({} s)",
            deadline.limit_secs()
        ))
        .field("instances", counts_by_status(&last_seen))
    })
}

/// Waits until none of the instances `ids` (every instance when `None`) has an active task.
pub fn wait_until_killed(
    conn: &Connection,
    key: &JobKey,
    ids: Option<&[i32]>,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let gone = poll(deadline, || {
        let left = conn.active_tasks(key, false)?;
        let still_there = left
            .iter()
            .any(|t| ids.is_none_or(|ids| ids.contains(&instance_id(t))));
        Ok(if still_there {
            Look::NotYet
        } else {
            Look::Done(())
        })
    })?;
    gone.ok_or_else(|| {
        Failure::new(format!(
            "{key}: instances still active after wait_timeout ({} s) of waiting for them to be \
             killed",
            deadline.limit_secs()
        ))
    })
}

/// The failure of an instance, with its final status and message (the previous run's, when the
/// scheduler is already restarting it).
pub fn instance_failed(conn: &Connection, key: &JobKey, task: &ScheduledTask) -> Failure {
    let id = instance_id(task);
    let (final_status, message) = if status(task).is_terminal() {
        (status(task), last_message(task))
    } else {
        let ancestor = task.ancestor_id.clone().unwrap_or_default();
        let history = conn
            .tasks(key, ScheduleStatus::TERMINAL, false)
            .unwrap_or_default();
        match history.iter().find(|t| task_id(t) == ancestor) {
            Some(previous) => (status(previous), last_message(previous)),
            None => (ScheduleStatus::FAILED, "no message".to_string()),
        }
    };
    Failure::new(format!("{key} instance {id} {final_status}: {message}"))
        .field("instance", json!(id))
}
