//! The simulator's task store: tasks with shared configurations, indexed by job, turned into the
//! wire `ScheduledTask` only when a call asks for them (api-reference §3.3.4, §4.4).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::api::types::{
    AssignedTask, ExecutorConfig, JobKey, ScheduleStatus, ScheduledTask, TaskConfig, TaskEvent,
    TaskQuery,
};
use crate::sim::cluster::Host;

/// The metadata key that makes a job's tasks misbehave on purpose.
pub const BEHAVIOR_KEY: &str = "sim.behavior";

/// What a task does once started (`sim.behavior` metadata); services run until killed otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Behavior {
    RunUntilKilled,
    /// Fails right after starting.
    Fail,
    /// Exits successfully after this many ms of running.
    Finish(i64),
    /// Fails after this many ms of running, every time.
    Flap(i64),
    /// Stays STARTING this many ms, then runs until killed.
    SlowStart(i64),
}

impl Behavior {
    pub fn of(config: &TaskConfig) -> Self {
        let value = config
            .metadata
            .iter()
            .flatten()
            .find(|m| m.key.as_deref() == Some(BEHAVIOR_KEY))
            .and_then(|m| m.value.as_deref());
        let Some(value) = value else {
            return Behavior::RunUntilKilled;
        };
        let (kind, arg) = value.split_once(':').unwrap_or((value, ""));
        let secs = || {
            arg.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| *s >= 0.0)
                .map(|s| (s * 1000.0) as i64)
        };
        match (kind.trim(), secs()) {
            ("fail", _) => Behavior::Fail,
            ("finish", Some(ms)) => Behavior::Finish(ms),
            ("flap", Some(ms)) => Behavior::Flap(ms),
            ("slow_start", Some(ms)) => Behavior::SlowStart(ms),
            _ => Behavior::RunUntilKilled,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Behavior::RunUntilKilled => "run".into(),
            Behavior::Fail => "fail".into(),
            Behavior::Finish(ms) => format!("finish:{}", ms / 1000),
            Behavior::Flap(ms) => format!("flap:{}", ms / 1000),
            Behavior::SlowStart(ms) => format!("slow_start:{}", ms / 1000),
        }
    }
}

/// One task: an instance of a job in one incarnation.
#[derive(Clone, Debug)]
pub struct Task {
    pub id: String,
    pub job: JobKey,
    pub instance: i32,
    pub config: Arc<TaskConfig>,
    pub status: ScheduleStatus,
    pub events: Vec<TaskEvent>,
    pub host: Option<usize>,
    pub ports: BTreeMap<String, i32>,
    pub failure_count: i32,
    pub ancestor: Option<String>,
    /// Consecutive incarnations that ended within the flapping threshold (for THROTTLED).
    pub flaps: u32,
    /// Creation order, to keep answers and placement deterministic.
    pub seq: u64,
}

impl Task {
    /// When the task last entered RUNNING.
    pub fn running_since(&self) -> Option<i64> {
        self.events
            .iter()
            .rev()
            .find(|e| e.status == Some(ScheduleStatus::RUNNING))
            .map(|e| e.timestamp)
    }

    pub fn is_dedicated(&self) -> bool {
        self.config
            .constraints
            .iter()
            .flatten()
            .any(|c| c.name.as_deref() == Some("dedicated"))
    }

    /// The wire form; `with_executor_data: false` is getTasksWithoutConfigs (§4.4).
    pub fn to_wire(&self, hosts: &[Host], with_executor_data: bool) -> ScheduledTask {
        let host = self.host.and_then(|h| hosts.get(h));
        let config = if with_executor_data {
            (*self.config).clone()
        } else {
            without_executor_data(&self.config)
        };
        ScheduledTask {
            assigned_task: Some(AssignedTask {
                task_id: Some(self.id.clone()),
                slave_id: host.map(|h| h.slave_id.clone()),
                slave_host: host.map(|h| h.spec.name.clone()),
                task: Some(config),
                assigned_ports: Some(self.ports.clone()),
                instance_id: self.instance,
            }),
            status: Some(self.status),
            failure_count: self.failure_count,
            times_partitioned: 0,
            task_events: Some(self.events.clone()),
            ancestor_id: self.ancestor.clone(),
        }
    }
}

/// A copy of the configuration without the executor's data, which is the bulk of it and is not
/// copied only to be dropped (getTasksWithoutConfigs answers thousands of tasks).
fn without_executor_data(config: &TaskConfig) -> TaskConfig {
    let executor_config = config.executor_config.as_ref().map(|e| ExecutorConfig {
        name: e.name.clone(),
        data: None,
    });
    // Every field named, so that a new one is not forgotten here.
    TaskConfig {
        job: config.job.clone(),
        owner: config.owner.clone(),
        is_service: config.is_service,
        priority: config.priority,
        max_task_failures: config.max_task_failures,
        production: config.production,
        tier: config.tier.clone(),
        resources: config.resources.clone(),
        constraints: config.constraints.clone(),
        mesos_fetcher_uris: config.mesos_fetcher_uris.clone(),
        task_links: config.task_links.clone(),
        contact_email: config.contact_email.clone(),
        executor_config,
        metadata: config.metadata.clone(),
        partition_policy: config.partition_policy.clone(),
        sla_policy: config.sla_policy.clone(),
        container: config.container.clone(),
    }
}

/// Task id as the scheduler makes it: `role-env-name-instance-uuid`, with every character outside
/// `[A-Za-z0-9_-]` replaced by `-` (§4.4).
pub fn task_id(job: &JobKey, instance: i32, uuid: uuid::Uuid) -> String {
    let part = |p: &Option<String>| p.clone().unwrap_or_default();
    let raw = format!(
        "{}-{}-{}-{instance}-{}",
        part(&job.role),
        part(&job.environment),
        part(&job.name),
        uuid
    );
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Whether a query term is set: unset and empty terms do not filter (§3.3.4).
fn non_empty<T>(term: &Option<Vec<T>>) -> bool {
    term.as_ref().is_some_and(|v| !v.is_empty())
}

/// Every task the scheduler retains, indexed by job.
#[derive(Default)]
pub struct TaskStore {
    tasks: HashMap<String, Task>,
    by_job: BTreeMap<JobKey, BTreeSet<String>>,
    next_seq: u64,
}

impl TaskStore {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub fn insert(&mut self, task: Task) {
        self.by_job
            .entry(task.job.clone())
            .or_default()
            .insert(task.id.clone());
        self.tasks.insert(task.id.clone(), task);
    }

    pub fn remove(&mut self, id: &str) -> Option<Task> {
        let task = self.tasks.remove(id)?;
        if let Some(ids) = self.by_job.get_mut(&task.job) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_job.remove(&task.job);
            }
        }
        Some(task)
    }

    pub fn get(&self, id: &str) -> Option<&Task> {
        self.tasks.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Task> {
        self.tasks.get_mut(id)
    }

    /// Every retained task, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values()
    }

    /// Job keys that have any retained task, in key order.
    pub fn jobs(&self) -> impl Iterator<Item = &JobKey> {
        self.by_job.keys()
    }

    /// The tasks of one job, by instance then age.
    pub fn of_job(&self, job: &JobKey) -> Vec<&Task> {
        let mut tasks: Vec<&Task> = self
            .by_job
            .get(job)
            .into_iter()
            .flatten()
            .filter_map(|id| self.tasks.get(id))
            .collect();
        tasks.sort_by_key(|t| (t.instance, t.seq));
        tasks
    }

    pub fn active_of_job(&self, job: &JobKey) -> Vec<&Task> {
        self.of_job(job)
            .into_iter()
            .filter(|t| t.status.is_active())
            .collect()
    }

    /// Tasks matching a TaskQuery (§3.3.4: terms ANDed, unset or empty terms do not filter),
    /// without offset and limit.
    pub fn query(&self, q: &TaskQuery, hosts: &[Host]) -> Vec<&Task> {
        let role = q.role.as_deref().map(str::trim).filter(|r| !r.is_empty());
        // The job index gives the tasks of the named jobs (so the job keys need no further
        // check), or every task in job order without sorting them all.
        let candidates: Vec<&Task> = if non_empty(&q.job_keys) {
            q.job_keys
                .iter()
                .flatten()
                .flat_map(|k| self.of_job(k))
                .collect()
        } else if let (Some(r), Some(e), Some(n)) =
            (role, q.environment.as_deref(), q.job_name.as_deref())
        {
            self.of_job(&JobKey::new(r, e, n))
        } else {
            self.by_job.keys().flat_map(|k| self.of_job(k)).collect()
        };
        candidates
            .into_iter()
            .filter(|t| role.is_none_or(|r| t.job.role.as_deref() == Some(r)))
            .filter(|t| q.environment.is_none() || t.job.environment == q.environment)
            .filter(|t| q.job_name.is_none() || t.job.name == q.job_name)
            .filter(|t| {
                !non_empty(&q.task_ids) || q.task_ids.iter().flatten().any(|id| *id == t.id)
            })
            .filter(|t| {
                !non_empty(&q.statuses) || q.statuses.iter().flatten().any(|s| *s == t.status)
            })
            .filter(|t| {
                !non_empty(&q.instance_ids)
                    || q.instance_ids.iter().flatten().any(|i| *i == t.instance)
            })
            .filter(|t| {
                !non_empty(&q.slave_hosts)
                    || t.host.and_then(|h| hosts.get(h)).is_some_and(|h| {
                        q.slave_hosts
                            .iter()
                            .flatten()
                            .any(|name| *name == h.spec.name)
                    })
            })
            .collect()
    }

    /// Drops the oldest terminal tasks of a job beyond `keep` (the scheduler prunes similarly, §4.4).
    pub fn prune_terminal(&mut self, job: &JobKey, keep: usize) {
        let mut terminal: Vec<(u64, String)> = self
            .of_job(job)
            .into_iter()
            .filter(|t| t.status.is_terminal())
            .map(|t| (t.seq, t.id.clone()))
            .collect();
        if terminal.len() > keep {
            terminal.sort();
            for (_, id) in terminal.drain(..terminal.len() - keep) {
                self.remove(&id);
            }
        }
    }
}
