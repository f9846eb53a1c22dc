//! Reading a job's tasks: which instances exist, in which state, with which configuration, and
//! why the last one of an instance ended.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::api::client::ClientError;
use crate::api::methods::{GetTasksStatus, GetTasksWithoutConfigs};
use crate::api::types::{
    JobKey, Result as Payload, ScheduleStatus, ScheduledTask, TaskConfig, TaskQuery,
};

use super::connection::Connection;

impl Connection {
    /// The job's tasks in `statuses` (all retained tasks when empty), with their configurations
    /// when `with_configs`.
    pub fn tasks(
        &self,
        key: &JobKey,
        statuses: &[ScheduleStatus],
        with_configs: bool,
    ) -> Result<Vec<ScheduledTask>, ClientError> {
        self.tasks_of_jobs(std::slice::from_ref(key), statuses, with_configs)
    }

    /// The tasks of several jobs in one call, as `tasks` answers them for one. No jobs, no tasks
    /// (and no call: a query without job keys would ask for every task of the cluster).
    pub fn tasks_of_jobs(
        &self,
        keys: &[JobKey],
        statuses: &[ScheduleStatus],
        with_configs: bool,
    ) -> Result<Vec<ScheduledTask>, ClientError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let query = TaskQuery {
            job_keys: Some(keys.to_vec()),
            statuses: (!statuses.is_empty()).then(|| statuses.to_vec()),
            ..TaskQuery::default()
        };
        self.query_tasks(query, with_configs)
    }

    /// The tasks a query finds, with their configurations when `with_configs`.
    pub fn query_tasks(
        &self,
        query: TaskQuery,
        with_configs: bool,
    ) -> Result<Vec<ScheduledTask>, ClientError> {
        let response = if with_configs {
            self.client
                .call_ok(&GetTasksStatus { query: Some(query) })?
        } else {
            self.client
                .call_ok(&GetTasksWithoutConfigs { query: Some(query) })?
        };
        Ok(match response.result {
            Some(Payload::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
            _ => Vec::new(),
        })
    }

    pub fn active_tasks(
        &self,
        key: &JobKey,
        with_configs: bool,
    ) -> Result<Vec<ScheduledTask>, ClientError> {
        self.tasks(key, ScheduleStatus::ACTIVE, with_configs)
    }
}

pub fn instance_id(task: &ScheduledTask) -> i32 {
    task.assigned_task.as_ref().map_or(-1, |a| a.instance_id)
}

pub fn task_id(task: &ScheduledTask) -> &str {
    task.assigned_task
        .as_ref()
        .and_then(|a| a.task_id.as_deref())
        .unwrap_or("")
}

pub fn status(task: &ScheduledTask) -> ScheduleStatus {
    task.status.unwrap_or(ScheduleStatus::INIT)
}

pub fn config(task: &ScheduledTask) -> Option<&TaskConfig> {
    task.assigned_task.as_ref().and_then(|a| a.task.as_ref())
}

/// When the task was created: the time of its first event.
fn created_ms(task: &ScheduledTask) -> i64 {
    task.task_events
        .as_ref()
        .and_then(|e| e.first())
        .map_or(0, |e| e.timestamp)
}

/// The newest task of each instance.
pub fn newest_per_instance(tasks: &[ScheduledTask]) -> BTreeMap<i32, &ScheduledTask> {
    let mut newest: BTreeMap<i32, &ScheduledTask> = BTreeMap::new();
    for task in tasks {
        let id = instance_id(task);
        match newest.get(&id) {
            Some(seen) if created_ms(seen) > created_ms(task) => {}
            _ => {
                newest.insert(id, task);
            }
        }
    }
    newest
}

/// The message of the task's last event, which says why it ended (for example the exit status).
pub fn last_message(task: &ScheduledTask) -> String {
    task.task_events
        .as_ref()
        .and_then(|events| events.iter().rev().find_map(|e| e.message.clone()))
        .unwrap_or_else(|| "no message".to_string())
}

/// Instance counts by status, for results: `{"RUNNING": 3, "PENDING": 1}`.
pub fn counts_by_status<'a>(tasks: impl IntoIterator<Item = &'a ScheduledTask>) -> Value {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for task in tasks {
        *counts.entry(status(task).to_string()).or_default() += 1;
    }
    json!(counts)
}

/// `0-3,7`: instance ids as compact ranges, for messages.
pub fn describe_ids(ids: &[i32]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let first = sorted[i];
        let mut last = first;
        while i + 1 < sorted.len() && sorted[i + 1] == last + 1 {
            i += 1;
            last = sorted[i];
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_described_as_ranges() {
        assert_eq!(describe_ids(&[3, 0, 1, 2, 7, 9, 8]), "0-3,7-9");
        assert_eq!(describe_ids(&[5]), "5");
        assert_eq!(describe_ids(&[]), "");
    }
}
