//! `aurora.scheduler.job_info`: what runs on the cluster, read-only. Per job: instances by
//! status, the running configurations with their instance ranges, metadata and versions, active
//! and recent updates, and why PENDING tasks wait. A few calls for the whole cluster, so that it
//! stays quick on a thousand jobs; the tasks are read a batch of jobs per call, folded into
//! per-job summaries and each batch's jobs handed on as soon as it is read, so that the tasks
//! never all sit in memory at once (`read_jobs`, which the software inventory shares).

use std::collections::BTreeMap;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::client::ClientError;
use crate::api::keys::check_identifier;
use crate::api::methods::{GetJobSummary, GetJobUpdateSummaries, GetPendingReason};
use crate::api::types::{
    JobConfiguration, JobKey, JobSummary, JobUpdateQuery, JobUpdateSummary, Resource,
    Result as Payload, ScheduleStatus, ScheduledTask, TaskConfig, TaskQuery,
};
use crate::spec::provenance::{config_fingerprint, image, version_of, Version, VersionSource};

use super::support::announced::{match_members, Announcer};
use super::support::connection::{Connection, ConnectionOptions};
use super::support::tasks::{config, describe_ids, instance_id, status, task_id};
use super::support::updates::{summary_status, update_json};

pub struct JobInfo;

/// Recent updates listed per job, newest first.
const RECENT_UPDATES: usize = 5;

/// Jobs whose tasks are asked for in one getTasksWithoutConfigs call: a few thousand tasks per
/// answer keeps memory flat on a large cluster, at a few dozen calls for a thousand jobs.
const JOBS_PER_TASK_CALL: usize = 50;

/// getTasksWithoutConfigs calls in flight at once: while one answer is decoded here, the
/// scheduler prepares the next.
const TASK_READERS: usize = 2;

/// Options of `aurora.scheduler.job_info`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    /// Only the jobs of this role; every role when left out.
    pub role: Option<String>,

    /// Only the jobs of this environment.
    pub environment: Option<String>,

    /// Only the jobs whose name matches this regular expression (searched, as Ansible's
    /// C(search) test does: anchor it with C(^) and C($) for a whole-name match).
    pub name: Option<String>,

    /// Only the jobs with at least one active task in one of these statuses, for example
    /// C([PENDING]) for jobs waiting for resources.
    #[serde(default)]
    pub status: Vec<TaskStatus>,

    /// Also give each task the endpoints announced for it in ZooKeeper, as
    /// RV(jobs[].tasks[].announced): the ServerSet member Aurora's executor registers for each
    /// instance of a job with C(announce), under
    /// O(announcer_serverset_path)C(/ROLE/ENVIRONMENT/NAME). One ZooKeeper read per job listed.
    #[serde(default)]
    pub endpoints: bool,

    /// With O(endpoints), the ZooKeeper ensemble the executors announce to, C(host:port,...) with
    /// one port (the executors' C(--announcer-ensemble)). Default the C(zk) and C(zk_port) of
    /// O(cluster) in C(clusters.json).
    pub announcer_ensemble: Option<String>,

    /// With O(endpoints), the root under which the executors announce (their
    /// C(--announcer-serverset-path)). A job announced at its own C(announce.zk_path) is not
    /// found there.
    #[serde(default = "default_serverset_path")]
    pub announcer_serverset_path: String,
}

fn default_serverset_path() -> String {
    "/aurora".into()
}

/// Active task statuses a job can be filtered on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum TaskStatus {
    PENDING,
    THROTTLED,
    ASSIGNED,
    STARTING,
    RUNNING,
    KILLING,
    RESTARTING,
    PREEMPTING,
    DRAINING,
}

impl TaskStatus {
    fn wire(self) -> ScheduleStatus {
        match self {
            TaskStatus::PENDING => ScheduleStatus::PENDING,
            TaskStatus::THROTTLED => ScheduleStatus::THROTTLED,
            TaskStatus::ASSIGNED => ScheduleStatus::ASSIGNED,
            TaskStatus::STARTING => ScheduleStatus::STARTING,
            TaskStatus::RUNNING => ScheduleStatus::RUNNING,
            TaskStatus::KILLING => ScheduleStatus::KILLING,
            TaskStatus::RESTARTING => ScheduleStatus::RESTARTING,
            TaskStatus::PREEMPTING => ScheduleStatus::PREEMPTING,
            TaskStatus::DRAINING => ScheduleStatus::DRAINING,
        }
    }
}

/// The filters, checked once.
pub(crate) struct Filter {
    /// Only the jobs of these roles; every role when empty.
    roles: Vec<String>,
    environment: Option<String>,
    name: Option<Regex>,
    statuses: Vec<ScheduleStatus>,
}

impl Filter {
    fn from(o: &Options) -> Result<Filter, Failure> {
        let statuses = o.status.iter().map(|s| s.wire()).collect();
        Filter::new(
            ("role", o.role.iter().cloned().collect()),
            o.environment.clone(),
            o.name.as_deref(),
            statuses,
        )
    }

    /// `roles` names the option the roles came from, for messages.
    pub(crate) fn new(
        roles: (&str, Vec<String>),
        environment: Option<String>,
        name: Option<&str>,
        statuses: Vec<ScheduleStatus>,
    ) -> Result<Filter, Failure> {
        let (roles_option, roles) = roles;
        for role in &roles {
            check_identifier(roles_option, role)
                .map_err(|e| Failure::new(format!("{roles_option}: {}", e.0)))?;
        }
        if let Some(value) = &environment {
            check_identifier("environment", value)
                .map_err(|e| Failure::new(format!("environment: {}", e.0)))?;
        }
        let name = name
            .map(Regex::new)
            .transpose()
            .map_err(|e| Failure::new(format!("name: not a regular expression: {e}")))?;
        Ok(Filter {
            roles,
            environment,
            name,
            statuses,
        })
    }

    /// The role to ask the scheduler for: the one role when there is exactly one, else every
    /// role (the others are filtered out here).
    fn scheduler_role(&self) -> Option<String> {
        match self.roles.as_slice() {
            [role] => Some(role.clone()),
            _ => None,
        }
    }

    fn keeps(&self, key: &JobKey) -> bool {
        (self.roles.is_empty()
            || key
                .role
                .as_deref()
                .is_some_and(|role| self.roles.iter().any(|r| r == role)))
            && self
                .environment
                .as_deref()
                .is_none_or(|env| key.environment.as_deref() == Some(env))
            && self
                .name
                .as_ref()
                .is_none_or(|re| re.is_match(key.name.as_deref().unwrap_or("")))
    }

    /// What the jobs were read from, for messages.
    pub(crate) fn scope(&self) -> String {
        if self.roles.is_empty() {
            "the cluster".to_string()
        } else {
            self.roles.join(", ")
        }
    }
}

impl Module for JobInfo {
    const NAME: &'static str = "job_info";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new("List Aurora jobs with their instances, configurations and versions")
            .description(
                "Read-only: lists the jobs of a role, or of the whole cluster, with per job the \
                 instances by status, the running configurations (config groups with their \
                 instance ranges, resources, tier, container image and metadata), the software \
                 versions they run, per instance, the active update and the recent ones, and \
                 why PENDING tasks are not scheduled. Cron jobs are listed with their template.",
            )
            .description(
                "C(versions) answers \"which software versions run on the cluster\": each \
                 version with the jobs running it. A version is the C(version) metadata the \
                 platform stamps, else the container image's tag, else C(unknown); never left \
                 out.",
            )
            .note(
                "A few calls in all: the job summaries, the active tasks without their \
                 executor data (one call per 50 jobs, two at a time), the update summaries and \
                 the pending reasons.",
            )
            .examples(EXAMPLES)
            .returns(RETURN)
            .check_mode(Support::Full)
            .diff_mode(Support::None)
    }

    fn run(options: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
        let filter = Filter::from(&options)?;
        let announcer = options
            .endpoints
            .then(|| {
                Announcer::new(
                    options.announcer_ensemble.as_deref(),
                    options.connection.cluster.as_deref(),
                    &options.announcer_serverset_path,
                    "announcer_ensemble",
                )
            })
            .transpose()?;
        let conn = options.connection.connect()?;
        let mut jobs = Vec::new();
        read_jobs(&conn, &filter, |job| {
            let mut listed = job.to_json();
            if let Some(announcer) = &announcer {
                let key = job.key;
                let path = announcer.path(
                    key.role.as_deref().unwrap_or_default(),
                    key.environment.as_deref().unwrap_or_default(),
                    key.name.as_deref().unwrap_or_default(),
                );
                let members = announcer.members(&path)?;
                if let Some(tasks) = listed["tasks"].as_array_mut() {
                    for znode in match_members(&path, &members, tasks) {
                        ctx.warn(format!(
                            "{znode} is not Aurora's ServerSet JSON; left out of the endpoints"
                        ));
                    }
                }
            }
            jobs.push(listed);
            Ok(())
        })?;
        let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for info in &jobs {
            for version in info["versions"].as_array().into_iter().flatten() {
                if let (Some(version), Some(job)) = (version.as_str(), info["job"].as_str()) {
                    versions
                        .entry(version.to_string())
                        .or_default()
                        .push(job.to_string());
                }
            }
        }
        Ok(Outcome::unchanged()
            .msg(format!("{} jobs of {}", jobs.len(), filter.scope()))
            .field("jobs", Value::Array(jobs))
            .field("versions", json!(versions))
            .field("scheduler_url", conn.url.clone()))
    }
}

/// The jobs the filter keeps, sorted by key, each given to `each` one at a time, typed (job_info
/// lists it with `ListedJob::to_json`). The tasks are read a batch of jobs per call by
/// `TASK_READERS` threads while the jobs of the batches already read are given: a caller that
/// keeps less of each job than this never holds the whole listing, and no more than a few
/// batches of tasks are held at once. An error of `each` stops the reading and is returned.
pub(crate) fn read_jobs(
    conn: &Connection,
    filter: &Filter,
    mut each: impl FnMut(ListedJob<'_>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let summaries = job_summaries(conn, filter)?;
    let updates = update_summaries(conn, filter)?;
    let mut updates_by_job: BTreeMap<String, Vec<&JobUpdateSummary>> = BTreeMap::new();
    for update in &updates {
        if let Some(job) = update.key.as_ref().and_then(|k| k.job.as_ref()) {
            updates_by_job
                .entry(job.to_string())
                .or_default()
                .push(update);
        }
    }
    // Asked for once, when the first PENDING task is seen.
    let mut pending: Option<BTreeMap<String, String>> = None;
    let no_reasons = BTreeMap::new();

    read_task_batches(conn, &summaries, |batch, mut by_job| {
        if pending.is_none() && by_job.values().any(|tasks| !tasks.pending.is_empty()) {
            pending = Some(pending_reasons(conn, filter)?);
        }
        for summary in batch {
            let Some(key) = summary.job.as_ref().and_then(|j| j.key.as_ref()) else {
                continue;
            };
            let name = key.to_string();
            let tasks = by_job.remove(&name).unwrap_or_default();
            if !filter.statuses.is_empty() && !tasks.has_any_status(&filter.statuses) {
                continue;
            }
            let updates = updates_by_job.get(&name).map_or(&[][..], Vec::as_slice);
            each(ListedJob {
                key,
                name,
                summary,
                tasks,
                updates,
                pending: pending.as_ref().unwrap_or(&no_reasons),
            })?;
        }
        Ok(())
    })
}

fn job_summaries(conn: &Connection, filter: &Filter) -> Result<Vec<JobSummary>, Failure> {
    let response = conn.client.call_ok(&GetJobSummary {
        role: filter.scheduler_role(),
    })?;
    let mut summaries = match response.result {
        Some(Payload::JobSummaryResult(r)) => r.summaries.unwrap_or_default(),
        _ => Vec::new(),
    };
    summaries.retain(|s| {
        s.job
            .as_ref()
            .and_then(|j| j.key.as_ref())
            .is_some_and(|k| filter.keeps(k))
    });
    summaries.sort_by_key(|s| {
        s.job
            .as_ref()
            .and_then(|j| j.key.as_ref())
            .map(|k| k.to_string())
    });
    Ok(summaries)
}

/// What is listed of one job's active tasks, folded task by task so that the tasks themselves
/// can be dropped once read.
#[derive(Default)]
struct JobTasks {
    /// Task count by status name.
    instances: BTreeMap<String, u32>,
    /// The distinct configurations with the instances running each, in order of first sight.
    configs: Vec<ConfigGroup>,
    /// The PENDING tasks' instance and task id, in the scheduler's order.
    pending: Vec<(i32, String)>,
    /// Each active task: where it runs and on which ports (typed, not JSON, until listed: a
    /// large cluster's tasks all wait here until their job is listed).
    tasks: Vec<TaskRow>,
}

impl JobTasks {
    fn add(&mut self, task: ScheduledTask) {
        let status = status(&task);
        *self.instances.entry(status.to_string()).or_default() += 1;
        let instance = instance_id(&task);
        if status == ScheduleStatus::PENDING {
            self.pending.push((instance, task_id(&task).to_string()));
        }
        let Some(assigned) = task.assigned_task else {
            return;
        };
        let Some(config) = assigned.task else {
            return;
        };
        let at = match self.configs.iter().position(|group| group.config == config) {
            Some(at) => at,
            None => {
                self.configs.push(ConfigGroup::new(config));
                self.configs.len() - 1
            }
        };
        self.configs[at].instances.push(instance);
        self.tasks.push(TaskRow {
            instance,
            status,
            task_id: assigned.task_id,
            host: assigned.slave_host,
            ports: assigned.assigned_ports.unwrap_or_default(),
            group: at,
        });
    }

    fn has_any_status(&self, statuses: &[ScheduleStatus]) -> bool {
        statuses
            .iter()
            .any(|s| self.instances.contains_key(&s.to_string()))
    }

    /// The configurations with their instances sorted, in order of their lowest instance.
    fn config_groups(&self) -> Vec<(&ConfigGroup, Vec<i32>)> {
        let mut groups: Vec<(&ConfigGroup, Vec<i32>)> = self
            .configs
            .iter()
            .map(|group| {
                let mut ids = group.instances.clone();
                ids.sort_unstable();
                (group, ids)
            })
            .collect();
        groups.sort_by_key(|(_, ids)| ids.first().copied());
        groups
    }

    /// Each version with its number of active instances (tasks with a configuration).
    fn version_counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for group in &self.configs {
            *counts.entry(group.version.version.as_str()).or_default() += group.instances.len();
        }
        counts
    }

    /// The number of distinct instance ids with an active task.
    fn active_instance_count(&self) -> usize {
        let mut ids: Vec<i32> = self
            .configs
            .iter()
            .flat_map(|group| group.instances.iter().copied())
            .chain(self.pending.iter().map(|(id, _)| *id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

/// One active task of a job, as read.
struct TaskRow {
    instance: i32,
    status: ScheduleStatus,
    task_id: Option<String>,
    host: Option<String>,
    ports: BTreeMap<String, i32>,
    /// Its configuration, an index into `JobTasks::configs`.
    group: usize,
}

/// One distinct configuration of a job's active tasks, with what is derived from it once.
pub(crate) struct ConfigGroup {
    config: TaskConfig,
    pub version: Version,
    pub fingerprint: String,
    instances: Vec<i32>,
}

impl ConfigGroup {
    /// The configuration's metadata, key to value.
    pub fn metadata(&self) -> BTreeMap<&str, &str> {
        metadata_map(&self.config)
    }

    fn new(config: TaskConfig) -> ConfigGroup {
        ConfigGroup {
            version: version_of(&config),
            fingerprint: config_fingerprint(&config),
            config,
            instances: Vec::new(),
        }
    }
}

/// The active tasks of the summarized jobs, without executor data, folded by job key, given to
/// `each` a batch of `JOBS_PER_TASK_CALL` jobs at a time, in the summaries' order, with the
/// batch's summaries. Reader `r` of `TASK_READERS` reads batches `r`, `r + TASK_READERS`, ...
/// and hands each over through its own channel of one, so that batches come in order and a
/// reader is never more than two batches ahead. Once `each` fails or a read does, the readers
/// stop at their next batch (the channels close).
fn read_task_batches(
    conn: &Connection,
    summaries: &[JobSummary],
    mut each: impl FnMut(&[JobSummary], BTreeMap<String, JobTasks>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let keys: Vec<JobKey> = summaries
        .iter()
        .filter_map(|s| s.job.as_ref()?.key.clone())
        .collect();
    // job_summaries keeps only summaries with a key, so the batches of keys and of summaries
    // line up.
    let batches: Vec<(&[JobKey], &[JobSummary])> = keys
        .chunks(JOBS_PER_TASK_CALL)
        .zip(summaries.chunks(JOBS_PER_TASK_CALL))
        .collect();
    let read = |batch: &[JobKey]| -> Result<BTreeMap<String, JobTasks>, ClientError> {
        let mut by_job: BTreeMap<String, JobTasks> = BTreeMap::new();
        for task in conn.tasks_of_jobs(batch, ScheduleStatus::ACTIVE, false)? {
            if let Some(key) = config(&task).and_then(|c| c.job.as_ref()) {
                by_job.entry(key.to_string()).or_default().add(task);
            }
        }
        Ok(by_job)
    };
    std::thread::scope(|scope| {
        let batches = &batches;
        let read = &read;
        let readers: Vec<_> = (0..TASK_READERS)
            .map(|reader| {
                let (sender, receiver) = std::sync::mpsc::sync_channel(1);
                scope.spawn(move || {
                    for (keys, _) in batches.iter().skip(reader).step_by(TASK_READERS) {
                        let tasks = read(keys);
                        let failed = tasks.is_err();
                        if sender.send(tasks).is_err() || failed {
                            return;
                        }
                    }
                });
                receiver
            })
            .collect();
        for (at, (_, batch)) in batches.iter().enumerate() {
            // A reader that ended without sending its batch panicked: the scope says so.
            let Ok(tasks) = readers[at % TASK_READERS].recv() else {
                return Err(Failure::new("reading the tasks stopped unexpectedly"));
            };
            each(batch, tasks?)?;
        }
        Ok(())
    })
}

fn update_summaries(conn: &Connection, filter: &Filter) -> Result<Vec<JobUpdateSummary>, Failure> {
    let query = JobUpdateQuery {
        role: filter.scheduler_role(),
        ..JobUpdateQuery::default()
    };
    let response = conn.client.call_ok(&GetJobUpdateSummaries {
        job_update_query: Some(query),
    })?;
    let mut updates = match response.result {
        Some(Payload::GetJobUpdateSummariesResult(r)) => r.update_summaries.unwrap_or_default(),
        _ => Vec::new(),
    };
    updates
        .sort_by_key(|u| std::cmp::Reverse(u.state.as_ref().map_or(0, |s| s.created_timestamp_ms)));
    Ok(updates)
}

/// Why each PENDING task waits, by task id.
fn pending_reasons(
    conn: &Connection,
    filter: &Filter,
) -> Result<BTreeMap<String, String>, Failure> {
    // The scheduler refuses a query with statuses or hosts here (api-reference §2).
    let query = TaskQuery {
        role: filter.scheduler_role(),
        environment: filter.environment.clone(),
        ..TaskQuery::default()
    };
    let response = conn
        .client
        .call_ok(&GetPendingReason { query: Some(query) })?;
    let reasons = match response.result {
        Some(Payload::GetPendingReasonResult(r)) => r.reasons.unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(reasons
        .into_iter()
        .filter_map(|r| Some((r.task_id?, r.reason.unwrap_or_default())))
        .collect())
}

/// One job as read: its summary, its active tasks folded (`JobTasks`), its updates and the
/// pending reasons, typed until listed. job_info lists it with `to_json`; the software inventory
/// takes only what its report needs.
pub(crate) struct ListedJob<'a> {
    pub key: &'a JobKey,
    /// The key as `role/environment/name`.
    pub name: String,
    summary: &'a JobSummary,
    tasks: JobTasks,
    updates: &'a [&'a JobUpdateSummary],
    pending: &'a BTreeMap<String, String>,
}

/// A cron job's template: what its next run starts.
#[derive(Serialize)]
pub(crate) struct Template<'a> {
    pub instance_count: i32,
    pub version: String,
    pub version_source: VersionSource,
    pub fingerprint: String,
    pub image: Option<String>,
    pub metadata: BTreeMap<&'a str, &'a str>,
}

/// One active task with its configuration, as listed.
pub(crate) struct ListedTask<'a> {
    pub instance: i32,
    pub status: ScheduleStatus,
    pub task_id: Option<&'a str>,
    pub host: Option<&'a str>,
    pub ports: &'a BTreeMap<String, i32>,
    pub config: &'a ConfigGroup,
}

impl<'a> ListedJob<'a> {
    fn job(&self) -> Option<&'a JobConfiguration> {
        self.summary.job.as_ref()
    }

    pub fn cron_schedule(&self) -> Option<&'a str> {
        self.job().and_then(|j| j.cron_schedule.as_deref())
    }

    /// `service`, `batch` or `cron`.
    pub fn kind(&self) -> &'static str {
        // The configuration of the lowest instance tells, else the job's own.
        let service = self
            .tasks
            .configs
            .iter()
            .min_by_key(|group| group.instances.iter().min())
            .map(|group| group.config.is_service)
            .into_iter()
            .chain(
                self.job()
                    .and_then(|j| j.task_config.as_ref())
                    .map(|t| t.is_service),
            )
            .next()
            .unwrap_or(false);
        job_kind(self.cron_schedule().is_some(), service)
    }

    /// The number of distinct instances with an active task.
    pub fn active_instance_count(&self) -> usize {
        self.tasks.active_instance_count()
    }

    /// A cron job's template (its version counts as running), else None.
    pub fn template(&self) -> Option<Template<'a>> {
        self.cron_schedule()?;
        let job = self.job()?;
        let config = job.task_config.as_ref()?;
        let version = version_of(config);
        Some(Template {
            instance_count: job.instance_count,
            version: version.version,
            version_source: version.source,
            fingerprint: config_fingerprint(config),
            image: image(config),
            metadata: metadata_map(config),
        })
    }

    /// Each version with its number of active instances (tasks with a configuration).
    pub fn version_counts(&self) -> BTreeMap<&str, usize> {
        self.tasks.version_counts()
    }

    /// The configurations with their instances sorted, in order of their lowest instance.
    pub fn config_groups(&self) -> Vec<(&ConfigGroup, Vec<i32>)> {
        self.tasks.config_groups()
    }

    /// The active tasks with a configuration, by instance.
    pub fn tasks(&self) -> Vec<ListedTask<'_>> {
        let mut rows: Vec<ListedTask> = self
            .tasks
            .tasks
            .iter()
            .map(|row| ListedTask {
                instance: row.instance,
                status: row.status,
                task_id: row.task_id.as_deref(),
                host: row.host.as_deref(),
                ports: &row.ports,
                config: &self.tasks.configs[row.group],
            })
            .collect();
        rows.sort_by_key(|row| row.instance);
        rows
    }

    /// The update in flight, else None.
    pub fn active_update(&self) -> Option<Value> {
        self.updates
            .iter()
            .find(|u| summary_status(u).is_some_and(|s| s.is_active()))
            .map(|u| update_json(u))
    }

    /// A job as read from its summary and its active tasks, for tests of what is made of it.
    #[cfg(test)]
    pub fn of(
        key: &'a JobKey,
        summary: &'a JobSummary,
        tasks: Vec<ScheduledTask>,
        pending: &'a BTreeMap<String, String>,
    ) -> ListedJob<'a> {
        let mut folded = JobTasks::default();
        for task in tasks {
            folded.add(task);
        }
        ListedJob {
            key,
            name: key.to_string(),
            summary,
            tasks: folded,
            updates: &[],
            pending,
        }
    }

    /// The job as job_info lists it (see RETURN).
    pub fn to_json(&self) -> Value {
        let template = self.template();
        let version_counts = self.version_counts();
        let mut versions: Vec<&str> = version_counts
            .keys()
            .copied()
            .chain(template.as_ref().map(|t| t.version.as_str()))
            .collect();
        versions.sort_unstable();
        versions.dedup();
        let recent: Vec<Value> = self
            .updates
            .iter()
            .take(RECENT_UPDATES)
            .map(|u| update_json(u))
            .collect();
        let waiting: Vec<Value> = self
            .tasks
            .pending
            .iter()
            .map(|(instance, task_id)| {
                json!({
                    "instance": instance,
                    "task_id": task_id,
                    "reason": self.pending.get(task_id).cloned().unwrap_or_default(),
                })
            })
            .collect();
        let tasks: Vec<Value> = self
            .tasks()
            .into_iter()
            .map(|task| {
                json!({
                    "instance": task.instance,
                    "status": task.status,
                    "task_id": task.task_id,
                    "host": task.host,
                    "ports": task.ports,
                    "version": task.config.version.version,
                    "version_source": task.config.version.source,
                    "fingerprint": task.config.fingerprint,
                })
            })
            .collect();
        let stats = self.summary.stats.clone().unwrap_or_default();
        let key = self.key;
        json!({
            "job": self.name,
            "role": key.role,
            "environment": key.environment,
            "name": key.name,
            "kind": self.kind(),
            "instance_count": self.active_instance_count(),
            "template": template,
            "cron_schedule": self.cron_schedule(),
            "next_cron_run_ms": self.summary.next_cron_run_ms,
            "instances": self.tasks.instances,
            "tasks": tasks,
            "stats": {
                "active": stats.active_task_count,
                "pending": stats.pending_task_count,
                "finished": stats.finished_task_count,
                "failed": stats.failed_task_count,
            },
            "configs": self
                .config_groups()
                .iter()
                .map(|(group, ids)| config_json(group, ids))
                .collect::<Vec<_>>(),
            "versions": versions,
            "version_counts": version_counts,
            "mixed_versions": version_counts.len() > 1,
            "active_update": self.active_update(),
            "recent_updates": recent,
            "pending": waiting,
        })
    }
}

/// What a job is: `cron` when it has a cron schedule, else `service` or `batch`.
fn job_kind(cron: bool, service: bool) -> &'static str {
    match (cron, service) {
        (true, _) => "cron",
        (false, true) => "service",
        (false, false) => "batch",
    }
}

fn metadata_map(config: &TaskConfig) -> BTreeMap<&str, &str> {
    config
        .metadata
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|m| Some((m.key.as_deref()?, m.value.as_deref()?)))
        .collect()
}

fn config_json(group: &ConfigGroup, ids: &[i32]) -> Value {
    let config = &group.config;
    let mut resources = json!({});
    for resource in config.resources.as_deref().unwrap_or_default() {
        match resource {
            Resource::NumCpus(cpu) => resources["cpu"] = json!(cpu),
            Resource::RamMb(mb) => resources["ram_mb"] = json!(mb),
            Resource::DiskMb(mb) => resources["disk_mb"] = json!(mb),
            Resource::NumGpus(n) => resources["gpu"] = json!(n),
            Resource::NamedPort(_) => {}
        }
    }
    let ports: Vec<&str> = config
        .resources
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| match r {
            Resource::NamedPort(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    json!({
        "instances": describe_ids(ids),
        "instance_ids": ids,
        "service": config.is_service,
        "tier": config.tier,
        "production": config.production,
        "resources": resources,
        "ports": ports,
        "image": image(config),
        "metadata": metadata_map(config),
        "version": group.version.version,
        "version_source": group.version.source,
        "fingerprint": group.fingerprint,
    })
}

const EXAMPLES: &str = r#"- name: Which versions of our software run on the cluster?
  aurora.scheduler.job_info:
    scheduler_url: http://aurora.example.com:8081
  register: cluster

- name: Show them
  ansible.builtin.debug:
    var: cluster.versions

- name: The ml team's production jobs waiting for resources, and why
  aurora.scheduler.job_info:
    role: ml
    environment: prod
    status: [PENDING]
  register: waiting

- name: The workers of every project
  aurora.scheduler.job_info:
    name: "-worker$"

- name: Where the tuner's master is announced, read from the cluster's ZooKeeper
  aurora.scheduler.job_info:
    cluster: prod
    role: ml
    name: "^tuner-master$"
    endpoints: true
  register: master

- name: Its address
  ansible.builtin.debug:
    msg: "{{ master.jobs[0].tasks[0].announced.service_endpoint }}"
"#;

const RETURN: &str = r#"jobs:
  description: >-
    The jobs, sorted by key: services, batch jobs and cron jobs (a cron job is listed with its
    template even when no run is active).
  returned: always
  type: list
  elements: dict
  contains:
    job:
      description: The job key, C(role/environment/name).
      type: str
      sample: ml/prod/scorer
    role:
      description: The job's role.
      type: str
      sample: ml
    environment:
      description: The job's environment.
      type: str
      sample: prod
    name:
      description: The job's name.
      type: str
      sample: scorer
    kind:
      description: C(service), C(batch) (an ad-hoc job that runs to completion) or C(cron).
      type: str
      sample: service
    instance_count:
      description: >-
        The number of instances with an active task (any active status, PENDING included),
        not the count the job was configured with.
      type: int
      sample: 3
    template:
      description: For a cron job, its template (what the next run starts); null for other jobs.
      type: dict
      sample: {instance_count: 1, version: "2.0.1", version_source: metadata, fingerprint:
          3f2a9c0d11b7e845, image: null, metadata: {version: "2.0.1"}}
      contains:
        instance_count:
          description: The number of instances each run starts.
          type: int
          sample: 1
        version:
          description: The version the template runs (see C(versions)).
          type: str
          sample: "2.0.1"
        version_source:
          description: Where the version was read from, C(metadata), C(image) or C(unknown).
          type: str
          sample: metadata
        fingerprint:
          description: A short hash of the template's configuration.
          type: str
          sample: 3f2a9c0d11b7e845
        image:
          description: The container image, C(name:tag), else null.
          type: str
          sample: ml/trainer:2.0.1
        metadata:
          description: The template's metadata, key to value.
          type: dict
          sample: {version: "2.0.1"}
    instances:
      description: Active tasks by status.
      type: dict
      sample: {RUNNING: 5, PENDING: 1}
    tasks:
      description: >-
        Each active task, by instance. How a batch framework's workers, or anything else,
        reach an instance.
      type: list
      elements: dict
      sample: [{instance: 0, status: RUNNING, task_id: "ml-prod-scorer-0-...", host: agent-3, ports:
          {http: 31002}, version: "1.4.2", version_source: metadata, fingerprint: 5d1c0e7a9b3f2264}]
      contains:
        instance:
          description: The instance id.
          type: int
          sample: 0
        status:
          description: The task's status, such as C(RUNNING) or C(PENDING).
          type: str
          sample: RUNNING
        task_id:
          description: The scheduler's id of the task.
          type: str
          sample: ml-prod-scorer-0-5a3e1c2b
        host:
          description: The host the task runs on; null while PENDING.
          type: str
          sample: agent-3
        ports:
          description: The task's assigned ports, port name to number.
          type: dict
          sample: {http: 31002}
        version:
          description: The version the task runs (see C(versions)).
          type: str
          sample: "1.4.2"
        version_source:
          description: Where the version was read from, C(metadata), C(image) or C(unknown).
          type: str
          sample: metadata
        fingerprint:
          description: A short hash of the task's configuration.
          type: str
          sample: 5d1c0e7a9b3f2264
        announced:
          description: >-
            With O(endpoints), the ServerSet member announced in ZooKeeper for the task's
            instance (its C(shard)); null when none is (a job without C(announce), or a task not
            RUNNING).
          returned: when O(endpoints=true)
          type: dict
          sample:
            member: /aurora/ml/prod/scorer/member_0000000003
            service_endpoint: {host: agent-3, port: 31002}
            additional_endpoints: {http: {host: agent-3, port: 31002}}
            status: ALIVE
            shard: 0
          contains:
            member:
              description: The member's znode.
              type: str
              sample: /aurora/ml/prod/scorer/member_0000000003
            service_endpoint:
              description: >-
                The primary endpoint, C(host) and C(port) (the announcer's C(primary_port)).
              type: dict
              sample: {host: agent-3, port: 31002}
            additional_endpoints:
              description: Every announced port by name, each C(host) and C(port).
              type: dict
              sample: {http: {host: agent-3, port: 31002}}
            status:
              description: The member's status, C(ALIVE).
              type: str
              sample: ALIVE
            shard:
              description: The instance id the member was announced for.
              type: int
              sample: 0
    stats:
      description: The scheduler's counts of the job's tasks.
      type: dict
      sample: {active: 5, pending: 1, finished: 0, failed: 2}
      contains:
        active:
          description: Active tasks.
          type: int
          sample: 5
        pending:
          description: PENDING tasks.
          type: int
          sample: 1
        finished:
          description: Tasks that FINISHED.
          type: int
          sample: 0
        failed:
          description: Tasks that FAILED.
          type: int
          sample: 2
    configs:
      description: The running configurations, in order of their lowest instance.
      type: list
      elements: dict
      sample: [{instances: "0-2", instance_ids: [0, 1, 2], service: true, tier: preferred,
          production: true, resources: {cpu: 1.0, ram_mb: 512, disk_mb: 1024}, ports: [http], image:
          null, metadata: {version: "1.4.2"}, version: "1.4.2", version_source: metadata,
          fingerprint: 5d1c0e7a9b3f2264}]
      contains:
        instances:
          description: The instances running it, as ranges such as C(0-3,7).
          type: str
          sample: 0-3,7
        instance_ids:
          description: The instances running it, as a list.
          type: list
          elements: int
          sample: [0, 1, 2, 3, 7]
        service:
          description: Whether it is a service.
          type: bool
          sample: true
        tier:
          description: Its tier.
          type: str
          sample: preferred
        production:
          description: Whether it is a production configuration (from its tier).
          type: bool
          sample: true
        resources:
          description: >-
            Per instance: C(cpu) cores, C(ram_mb) and C(disk_mb) in MiB, C(gpu) when it has
            any.
          type: dict
          sample: {cpu: 1.0, ram_mb: 512, disk_mb: 1024}
        ports:
          description: The names of the ports it asks for.
          type: list
          elements: str
          sample: [http, health]
        image:
          description: The container image, C(name:tag), else null.
          type: str
          sample: ml/scorer:1.4.2
        metadata:
          description: Its metadata, key to value.
          type: dict
          sample: {version: "1.4.2"}
        version:
          description: The version it runs (see C(versions)).
          type: str
          sample: "1.4.2"
        version_source:
          description: Where the version was read from, C(metadata), C(image) or C(unknown).
          type: str
          sample: metadata
        fingerprint:
          description: A short hash of the configuration.
          type: str
          sample: 5d1c0e7a9b3f2264
    versions:
      description: >-
        The versions the job's active instances run, and for a cron job its template's: the
        C(version) metadata (which the platform stamps), else the tag of the container image,
        else C(unknown) (C(version_source) of each task says which).
      type: list
      elements: str
      sample: ["1.4.2"]
    version_counts:
      description: Each version with the number of active instances running it.
      type: dict
      sample: {"1.4.1": 2, "1.4.2": 1}
    mixed_versions:
      description: Whether the active instances run more than one version, as during a rollout.
      type: bool
      sample: false
    cron_schedule:
      description: The cron schedule of a cron job, else null.
      type: str
      sample: 0 3 * * *
    next_cron_run_ms:
      description: When a cron job runs next (milliseconds since the epoch), else null.
      type: int
      sample: 1796450400000
    active_update:
      description: The update in flight, else null.
      type: dict
      sample: {id: 5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11, status: ROLLING_FORWARD, user: deployer,
          created_ms: 1796451839531, last_modified_ms: 1796451841200}
      contains:
        id:
          description: The update's id.
          type: str
          sample: 5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11
        status:
          description: The update's status, such as C(ROLLING_FORWARD).
          type: str
          sample: ROLLING_FORWARD
        user:
          description: Who started it.
          type: str
          sample: deployer
        created_ms:
          description: When it started (milliseconds since the epoch).
          type: int
          sample: 1796451839531
        last_modified_ms:
          description: When its status last changed (milliseconds since the epoch).
          type: int
          sample: 1796451841200
    recent_updates:
      description: >-
        Up to five most recent updates, newest first, each with the keys of C(active_update)
        (C(id), C(status), C(user), C(created_ms), C(last_modified_ms)).
      type: list
      elements: dict
      sample: [{id: 5f1c7a9e-3d0a-4c1e-9a51-0e5d2f1b7c11, status: ROLLED_FORWARD, user: deployer,
          created_ms: 1796451839531, last_modified_ms: 1796451901200}]
      contains:
        id:
          description: The update's id.
          type: str
        status:
          description: The update's status, such as C(ROLLED_FORWARD).
          type: str
        user:
          description: Who started it.
          type: str
        created_ms:
          description: When it started (milliseconds since the epoch).
          type: int
        last_modified_ms:
          description: When its status last changed (milliseconds since the epoch).
          type: int
    pending:
      description: PENDING tasks with the scheduler's reason for not placing them.
      type: list
      elements: dict
      sample: [{instance: 4, task_id: ml-prod-scorer-4-..., reason: "Insufficient: CPU"}]
      contains:
        instance:
          description: The instance id.
          type: int
          sample: 4
        task_id:
          description: The scheduler's id of the task.
          type: str
          sample: ml-prod-scorer-4-5a3e1c2b
        reason:
          description: Why the scheduler has not placed it (empty when it gave none).
          type: str
          sample: "Insufficient: CPU"
  sample: []
versions:
  description: Each version (see C(jobs[].versions)) with the jobs that run it.
  returned: always
  type: dict
  sample: {"1.4.2": [ml/prod/scorer], "0.9.0": [ml/prod/features], "unknown": [ml/devel/notebook]}
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
  sample: http://aurora.example.com:8081
msg:
  description: How many jobs were listed, and of which roles (or of the whole cluster).
  returned: always
  type: str
  sample: 3 jobs of ml
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of `value` that `docs` (a RETURN's keys, or a key's `contains`) does not
    /// document, as paths; dicts and lists of dicts are followed where the docs say what they
    /// contain.
    fn undocumented(value: &Value, docs: &Value, path: &str) -> Vec<String> {
        let mut missing = Vec::new();
        for (key, item) in value.as_object().into_iter().flatten() {
            let at = format!("{path}{key}");
            let Some(contains) = docs.get(key).map(|doc| doc.get("contains")) else {
                missing.push(at);
                continue;
            };
            let Some(contains) = contains else { continue };
            let items = match item {
                Value::Array(items) => items.iter().collect(),
                Value::Object(_) => vec![item],
                _ => Vec::new(),
            };
            for item in items {
                missing.extend(undocumented(item, contains, &format!("{at}.")));
            }
        }
        missing
    }

    fn return_docs() -> Value {
        serde_yaml_ng::from_str(RETURN).unwrap()
    }

    fn task(config: &TaskConfig, instance: i32, status: ScheduleStatus) -> ScheduledTask {
        let running = status != ScheduleStatus::PENDING;
        ScheduledTask {
            assigned_task: Some(crate::api::types::AssignedTask {
                task_id: Some(format!("ml-prod-retrain-{instance}")),
                slave_host: running.then(|| "agent-1".into()),
                task: Some(config.clone()),
                instance_id: instance,
                assigned_ports: running.then(|| BTreeMap::from([("http".into(), 31000)])),
                ..Default::default()
            }),
            status: Some(status),
            ..ScheduledTask::default()
        }
    }

    /// Every key of a listed job, nested ones included, is in the RETURN docs, and every key of
    /// the docs is listed (a cron job with a run in progress, one instance PENDING).
    #[test]
    fn every_key_of_a_listed_job_is_documented() {
        let key = JobKey {
            role: Some("ml".into()),
            environment: Some("prod".into()),
            name: Some("retrain".into()),
        };
        let template = TaskConfig {
            metadata: Some(vec![crate::api::types::Metadata {
                key: Some("version".into()),
                value: Some("2.0".into()),
            }]),
            resources: Some(vec![Resource::NumCpus(1.0), Resource::RamMb(512)]),
            ..TaskConfig::default()
        };
        let summary = JobSummary {
            job: Some(crate::api::types::JobConfiguration {
                key: Some(key.clone()),
                cron_schedule: Some("0 3 * * *".into()),
                task_config: Some(template.clone()),
                instance_count: 8,
                ..Default::default()
            }),
            stats: Some(Default::default()),
            ..JobSummary::default()
        };
        let pending = BTreeMap::from([(
            "ml-prod-retrain-1".to_string(),
            "Insufficient: CPU".to_string(),
        )]);
        let tasks = vec![
            task(&template, 0, ScheduleStatus::RUNNING),
            task(&template, 1, ScheduleStatus::PENDING),
        ];
        let listed = ListedJob::of(&key, &summary, tasks, &pending).to_json();
        let docs = return_docs();
        let job_docs = &docs["jobs"]["contains"];
        assert_eq!(
            undocumented(&listed, job_docs, "jobs[]."),
            Vec::<String>::new()
        );
        let mut listed_keys: Vec<&String> = listed.as_object().unwrap().keys().collect();
        let mut documented_keys: Vec<&String> = job_docs.as_object().unwrap().keys().collect();
        listed_keys.sort();
        documented_keys.sort();
        assert_eq!(listed_keys, documented_keys, "no documented key is missing");
        assert_eq!(listed["pending"][0]["reason"], "Insufficient: CPU");
        assert_eq!(listed["kind"], "cron");
        assert_eq!(
            listed["instance_count"], 2,
            "the active count, not the configured 8"
        );
        assert_eq!(listed["template"]["instance_count"], 8);
        assert_eq!(listed["versions"], json!(["2.0"]));
    }

    #[test]
    fn an_update_is_listed_with_documented_keys() {
        let update = update_json(&JobUpdateSummary::default());
        let docs = return_docs();
        let update_docs = &docs["jobs"]["contains"]["active_update"]["contains"];
        assert_eq!(undocumented(&update, update_docs, ""), Vec::<String>::new());
        assert_eq!(
            update_docs.as_object().unwrap().keys().collect::<Vec<_>>(),
            docs["jobs"]["contains"]["recent_updates"]["contains"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn kinds_are_cron_then_service_or_batch() {
        assert_eq!(job_kind(true, true), "cron");
        assert_eq!(job_kind(true, false), "cron");
        assert_eq!(job_kind(false, true), "service");
        assert_eq!(job_kind(false, false), "batch");
    }

    #[test]
    fn a_bad_name_pattern_is_refused_naming_the_option() {
        let options: Options = serde_json::from_value(json!({"name": "("})).unwrap();
        let failure = Filter::from(&options).err().unwrap();
        assert!(failure.msg().starts_with("name:"), "{}", failure.msg());
    }
}
