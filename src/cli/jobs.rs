//! The read commands: `jobs` (getJobSummary) and `tasks` (getTasksWithoutConfigs).

use std::io::Write;

use super::table::render;
use super::{emit, to_json, CliError, Output};
use crate::api::client::Client;
use crate::api::methods::{GetJobSummary, GetTasksWithoutConfigs};
use crate::api::types::{
    JobKey, JobSummary, Result as ApiResult, ScheduleStatus, ScheduledTask, TaskQuery,
};
use crate::spec::utc::utc_millis;

pub fn jobs(
    client: &Client,
    role: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let response = client.call_ok(&GetJobSummary {
        role: role.map(str::to_string),
    })?;
    let mut summaries = match response.result {
        Some(ApiResult::JobSummaryResult(r)) => r.summaries.unwrap_or_default(),
        _ => Vec::new(),
    };
    summaries.sort_by_key(job_key);
    match output {
        Output::Json => emit(out, &to_json(&summaries)),
        Output::Table => emit(out, &jobs_table(&summaries)),
    }
    Ok(())
}

fn job_key(summary: &JobSummary) -> String {
    summary
        .job
        .as_ref()
        .and_then(|j| j.key.as_ref())
        .map(JobKey::to_string)
        .unwrap_or_default()
}

fn jobs_table(summaries: &[JobSummary]) -> String {
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            let stats = s.stats.clone().unwrap_or_default();
            let cron = s
                .job
                .as_ref()
                .and_then(|j| j.cron_schedule.clone())
                .unwrap_or_default();
            let next = s.next_cron_run_ms.map(utc_millis).unwrap_or_default();
            vec![
                job_key(s),
                stats.pending_task_count.to_string(),
                stats.active_task_count.to_string(),
                stats.finished_task_count.to_string(),
                stats.failed_task_count.to_string(),
                cron,
                next,
            ]
        })
        .collect();
    render(
        &[
            "JOB",
            "PENDING",
            "ACTIVE",
            "FINISHED",
            "FAILED",
            "CRON",
            "NEXT CRON RUN",
        ],
        &rows,
    )
}

pub fn tasks(
    client: &Client,
    job: &JobKey,
    all: bool,
    output: Output,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let query = TaskQuery {
        job_keys: Some(vec![job.clone()]),
        statuses: (!all).then(|| ScheduleStatus::ACTIVE.to_vec()),
        ..TaskQuery::default()
    };
    let response = client.call_ok(&GetTasksWithoutConfigs { query: Some(query) })?;
    let mut tasks = match response.result {
        Some(ApiResult::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
        _ => Vec::new(),
    };
    // By instance, and within an instance oldest first, so the current task ends up last.
    tasks.sort_by_key(|t| (instance_id(t), first_event_ms(t)));
    match output {
        Output::Json => emit(out, &to_json(&tasks)),
        Output::Table => emit(out, &tasks_table(&tasks)),
    }
    Ok(())
}

fn instance_id(task: &ScheduledTask) -> i32 {
    task.assigned_task.as_ref().map_or(0, |a| a.instance_id)
}

fn first_event_ms(task: &ScheduledTask) -> i64 {
    task.task_events
        .iter()
        .flatten()
        .map(|e| e.timestamp)
        .min()
        .unwrap_or(0)
}

fn last_event_message(task: &ScheduledTask) -> String {
    task.task_events
        .iter()
        .flatten()
        .max_by_key(|e| e.timestamp)
        .and_then(|e| e.message.clone())
        .unwrap_or_default()
}

fn tasks_table(tasks: &[ScheduledTask]) -> String {
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            let assigned = t.assigned_task.clone().unwrap_or_default();
            vec![
                assigned.instance_id.to_string(),
                t.status.map(|s| s.to_string()).unwrap_or_default(),
                assigned.slave_host.unwrap_or_default(),
                assigned.task_id.unwrap_or_default(),
                last_event_message(t),
            ]
        })
        .collect();
    render(
        &["INSTANCE", "STATUS", "HOST", "TASK ID", "LAST EVENT"],
        &rows,
    )
}
