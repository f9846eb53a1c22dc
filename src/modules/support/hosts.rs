//! Agent hosts as the host modules see them: the `/agents` rows, and the active tasks of many
//! hosts read in one call and grouped by host.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::api::client::{Client, ClientError};
use crate::api::methods::GetTasksWithoutConfigs;
use crate::api::types::{
    JobKey, MaintenanceMode, Result as Payload, ScheduleStatus, ScheduledTask, TaskQuery,
};

use super::tasks::{config, instance_id, status, task_id};

/// The mode names of results and options: `NONE`, `SCHEDULED`, `DRAINING`, `DRAINED`.
pub fn mode_name(mode: MaintenanceMode) -> &'static str {
    match mode {
        MaintenanceMode::NONE => "NONE",
        MaintenanceMode::SCHEDULED => "SCHEDULED",
        MaintenanceMode::DRAINING => "DRAINING",
        MaintenanceMode::DRAINED => "DRAINED",
        _ => "NONE",
    }
}

/// The active tasks on `hosts` (on every host when `None`), by host name, each host's tasks
/// sorted by job and instance: one getTasksWithoutConfigs, whatever the number of hosts.
pub fn active_tasks_by_host(
    client: &Client,
    hosts: Option<&[String]>,
) -> Result<BTreeMap<String, Vec<ScheduledTask>>, ClientError> {
    let mut by_host: BTreeMap<String, Vec<ScheduledTask>> = BTreeMap::new();
    if hosts.is_some_and(<[String]>::is_empty) {
        return Ok(by_host);
    }
    let query = TaskQuery {
        slave_hosts: hosts.map(<[String]>::to_vec),
        statuses: Some(ScheduleStatus::ACTIVE.to_vec()),
        ..TaskQuery::default()
    };
    let response = client.call_ok(&GetTasksWithoutConfigs { query: Some(query) })?;
    let tasks = match response.result {
        Some(Payload::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
        _ => Vec::new(),
    };
    for task in tasks {
        // PENDING tasks have no host yet.
        let Some(host) = task
            .assigned_task
            .as_ref()
            .and_then(|a| a.slave_host.clone())
            .filter(|h| !h.is_empty())
        else {
            continue;
        };
        by_host.entry(host).or_default().push(task);
    }
    for tasks in by_host.values_mut() {
        tasks.sort_by_cached_key(|t| (job_key(t).to_string(), instance_id(t)));
    }
    Ok(by_host)
}

/// The task's job; empty parts when the scheduler left it out.
pub fn job_key(task: &ScheduledTask) -> JobKey {
    config(task).and_then(|c| c.job.clone()).unwrap_or_default()
}

/// A task as the host modules return it: `{job, role, environment, name, instance, task_id,
/// status}`.
pub fn task_json(task: &ScheduledTask) -> Value {
    let key = job_key(task);
    json!({
        "job": key.to_string(),
        "role": key.role,
        "environment": key.environment,
        "name": key.name,
        "instance": instance_id(task),
        "task_id": task_id(task),
        "status": status(task).to_string(),
    })
}
