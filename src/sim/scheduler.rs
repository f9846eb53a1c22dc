//! The simulated scheduler: answers calls (api-reference §4) and runs the cluster on the virtual
//! clock: placement of PENDING tasks, the task state machine of §4.7, and `sim.behavior`.
//!
//! Task timing, in virtual time (one place for every constant):
//! PENDING → ASSIGNED at the next placement pass; ASSIGNED → STARTING after 1 s; STARTING → RUNNING
//! after 2 s (or the `slow_start` time); KILLING / RESTARTING / DRAINING → KILLED after 2 s
//! (graceful shutdown). A task replaced after running less than 5 min is THROTTLED for 30 s,
//! doubling per consecutive quick end up to 5 min (§4.7 "Reschedule").
//!
//! Job updates (§4.6) run in `updater`: every task change of a job with an active update, and
//! every watch time that ends, has the updater evaluate that job at that virtual instant; the
//! update calls themselves are in `update_calls`.
//!
//! Cron jobs (§4.5) are kept in `cron`; their triggers and KILL_EXISTING launch checks fire at
//! their own virtual instants like timers, and the cron calls are in `cron_calls`.
//! Host maintenance (§4.8) is in `maintenance_calls`, with what is decided about one task in
//! `sim::maintenance`; its poll fires at its own virtual times too, after the timers of an instant.

mod cron_calls;
mod maintenance_calls;
mod update_calls;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use crate::api::methods::*;
use crate::api::types::{
    ConfigGroup, ConfigSummary, ConfigSummaryResult, GetJobsResult, GetPendingReasonResult,
    GetQuotaResult, GetTierConfigResult, JobConfiguration, JobKey, JobStats, JobSummary,
    JobSummaryResult, PendingReason, PopulateJobResult, Resource, ResourceAggregate, Response,
    ResponseCode, ResponseDetail, Result as Payload, RoleSummary, RoleSummaryResult,
    ScheduleStatus, ScheduleStatusResult, ServerInfo, TaskConfig, TaskEvent, TaskQuery, TierConfig,
};
use crate::sim::announcer::{announcements, Announcements, AnnouncerFlags, TaskView};
use crate::sim::cluster::{choose_host, Demand, Host, JobPlacement};
use crate::sim::config::{SchedulerFlags, SimConfig};
use crate::sim::cron::CronJobs;
use crate::sim::ids::Ids;
use crate::sim::maintenance::Maintenance;
use crate::sim::tasks::{task_id, Behavior, Task, TaskStore};
use crate::sim::updater::{Action, Updater, UserAction};
use crate::sim::validation::{self, DEFAULT_TIER, TIERS};

const ASSIGNED_TO_STARTING_MS: i64 = 1_000;
const STARTING_TO_RUNNING_MS: i64 = 2_000;
const KILL_GRACE_MS: i64 = 2_000;
const FLAPPING_THRESHOLD_MS: i64 = 5 * 60_000;
const THROTTLE_INITIAL_MS: i64 = 30_000;
const THROTTLE_MAX_MS: i64 = 5 * 60_000;
/// Terminal tasks kept per job (the scheduler keeps at most 100 per job by default, §4.4).
const TERMINAL_TASKS_KEPT: usize = 100;
/// Where the scheduler says a task event was recorded.
const SCHEDULER_HOST: &str = "aurora-sim";
/// Bounds the placement/update rounds at one virtual instant, against any livelock.
const MAX_SETTLE_ROUNDS: usize = 1_000;
const MAX_UPDATE_EVALUATIONS: usize = 100_000;

/// A task move due at a virtual time, if the task is still in `from` then.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    due: i64,
    seq: u64,
    task: String,
    from: ScheduleStatus,
    to: ScheduleStatus,
    message: String,
}

/// A role's quota: cpu, ram MiB, disk MiB (§4.9).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Aggregate {
    cpus: f64,
    ram_mb: i64,
    disk_mb: i64,
}

impl Aggregate {
    fn of(demand: &Demand, times: i64) -> Self {
        Aggregate {
            cpus: demand.cpus * times as f64,
            ram_mb: demand.ram_mb * times,
            disk_mb: demand.disk_mb * times,
        }
    }
    fn plus(self, o: Aggregate) -> Self {
        Aggregate {
            cpus: self.cpus + o.cpus,
            ram_mb: self.ram_mb + o.ram_mb,
            disk_mb: self.disk_mb + o.disk_mb,
        }
    }
    fn minus(self, o: Aggregate) -> Self {
        Aggregate {
            cpus: self.cpus - o.cpus,
            ram_mb: self.ram_mb - o.ram_mb,
            disk_mb: self.disk_mb - o.disk_mb,
        }
    }
    /// The larger of each resource.
    fn max(self, o: Aggregate) -> Self {
        Aggregate {
            cpus: self.cpus.max(o.cpus),
            ram_mb: self.ram_mb.max(o.ram_mb),
            disk_mb: self.disk_mb.max(o.disk_mb),
        }
    }
    fn fits_in(self, quota: Aggregate) -> bool {
        self.cpus <= quota.cpus + 1e-9
            && self.ram_mb <= quota.ram_mb
            && self.disk_mb <= quota.disk_mb
    }
    fn wire(self) -> ResourceAggregate {
        ResourceAggregate {
            resources: Some(vec![
                Resource::NumCpus(self.cpus),
                Resource::RamMb(self.ram_mb),
                Resource::DiskMb(self.disk_mb),
            ]),
        }
    }
}

pub struct Scheduler {
    cluster_name: String,
    flags: SchedulerFlags,
    hosts: Vec<Host>,
    tasks: TaskStore,
    timers: BinaryHeap<Reverse<Timer>>,
    quotas: HashMap<String, Aggregate>,
    updates: Updater,
    cron: CronJobs,
    maintenance: Maintenance,
    /// Virtual time the cluster has been run up to.
    now: i64,
    /// Whether a placement pass could place something (new PENDING tasks or freed resources).
    placement_due: bool,
    /// Task and update ids and the drain shuffle, from a seed a replay reuses.
    ids: Ids,
    /// Coordinator answers applied since they were last taken: inputs from outside the calls,
    /// which a state dir records so that a replay applies them at the same virtual instant.
    applied_answers: Vec<CoordinatorAnswer>,
}

/// A coordinator's answer about draining a task, applied at virtual time `at_ms` (§4.8).
#[derive(Clone, Debug, PartialEq)]
pub struct CoordinatorAnswer {
    pub at_ms: i64,
    pub task_id: String,
    pub allows: bool,
}

/// A handler's answer: OK with an optional payload, or a response code with one detail message
/// (which may be OK too, for an OK that has something to say, like "No tasks to kill.").
type Reply = std::result::Result<Option<Payload>, (ResponseCode, String)>;

fn invalid(message: impl Into<String>) -> (ResponseCode, String) {
    (ResponseCode::INVALID_REQUEST, message.into())
}

fn error(message: impl Into<String>) -> (ResponseCode, String) {
    (ResponseCode::ERROR, message.into())
}

impl Scheduler {
    pub fn new(config: &SimConfig) -> anyhow::Result<Self> {
        Self::seeded(config, Ids::fresh_seed())
    }

    /// A scheduler whose ids and random choices follow `seed`: the same calls at the same
    /// virtual times then give the same state.
    pub fn seeded(config: &SimConfig, seed: u64) -> anyhow::Result<Self> {
        regex::Regex::new(&config.flags.allowed_job_environments)?;
        Ok(Scheduler {
            cluster_name: config.cluster_name.clone(),
            flags: config.flags.clone(),
            hosts: config
                .cluster
                .hosts
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, h)| Host::new(h, i))
                .collect(),
            tasks: TaskStore::default(),
            timers: BinaryHeap::new(),
            quotas: HashMap::new(),
            updates: Updater::default(),
            cron: CronJobs::default(),
            maintenance: Maintenance::new(&config.flags),
            now: 0,
            placement_due: false,
            ids: Ids::seeded(seed),
            applied_answers: Vec::new(),
        })
    }

    /// The members the executors' announcers should hold for the tasks now (`announcer`).
    pub fn announcements(&self, flags: &AnnouncerFlags) -> Announcements {
        let views = self.tasks.all().map(|t| TaskView {
            id: &t.id,
            job: &t.job,
            instance: t.instance,
            status: t.status,
            host: t
                .host
                .and_then(|h| self.hosts.get(h))
                .map(|h| h.spec.name.as_str()),
            ports: &t.ports,
            executor_data: t
                .config
                .executor_config
                .as_ref()
                .and_then(|e| e.data.as_deref()),
        });
        announcements(views, flags)
    }

    /// Runs the cluster up to virtual time `now_ms`: placement, task transitions, timers, updates,
    /// maintenance polls.
    pub fn advance(&mut self, now_ms: i64) {
        if self.now == 0 {
            self.now = now_ms;
        }
        // Timers and update wake-ups fire in order, each at its own virtual time, with placement
        // and update evaluations in between, so that a long gap between calls gives the same
        // history as frequent ticks.
        loop {
            self.settle();
            let next_timer = self.timers.peek().map(|Reverse(t)| t.due);
            let next_wakeup = self.updates.next_wakeup();
            let next_cron = self.next_cron_due();
            let next_poll = self.maintenance.next_poll(self.now);
            let due = [next_timer, next_wakeup, next_cron, Some(next_poll)]
                .into_iter()
                .flatten()
                .min();
            let Some(due) = due.filter(|due| *due <= now_ms) else {
                break;
            };
            self.now = self.now.max(due);
            if next_wakeup == Some(due) {
                self.updates.wake_until(due);
                continue;
            }
            if next_cron == Some(due) && self.run_cron_due(due) {
                continue;
            }
            // The maintenance poll comes after the timers of its instant.
            if next_timer != Some(due) && next_poll == due {
                self.poll_maintenance(due);
                continue;
            }
            // Every timer of this instant fires before placement and updates look at the result,
            // so that a batch of tasks moving together is evaluated once.
            while self.timers.peek().is_some_and(|Reverse(t)| t.due == due) {
                let Some(Reverse(timer)) = self.timers.pop() else {
                    break;
                };
                if self
                    .tasks
                    .get(&timer.task)
                    .is_some_and(|t| t.status == timer.from)
                {
                    self.transition(&timer.task, timer.to, Some(timer.message));
                }
            }
        }
        self.now = self.now.max(now_ms);
        self.apply_coordinator_answers();
        self.settle();
    }

    /// Placement and update evaluations until neither has anything left to do at this instant.
    fn settle(&mut self) {
        for _ in 0..MAX_SETTLE_ROUNDS {
            self.place_pending();
            if !self.run_updates() {
                break;
            }
        }
    }

    /// Evaluates the updates of jobs whose tasks changed and carries out what they ask; answers
    /// whether anything was done.
    fn run_updates(&mut self) -> bool {
        let mut acted = false;
        for _ in 0..MAX_UPDATE_EVALUATIONS {
            let Some(job) = self.updates.take_dirty() else {
                break;
            };
            let actions = self.updates.evaluate(&job, &self.tasks, self.now);
            if actions.is_empty() {
                continue;
            }
            acted = true;
            for action in actions {
                match action {
                    Action::Kill { task_id, message } => {
                        self.transition(&task_id, ScheduleStatus::KILLING, Some(message))
                    }
                    Action::Add { instance, config } => {
                        self.add_task(&job, instance, config, None, 0)
                    }
                }
            }
            // What was just done is evaluated too (a deleted PENDING task needs its replacement).
            self.updates.task_changed(&job);
        }
        acted
    }

    /// Answers one call by `user` ("UNSECURE" when auth is off) at virtual time `now_ms`, after
    /// running the cluster up to then.
    pub fn handle(&mut self, call: Call, user: &str, now_ms: i64) -> Response {
        self.advance(now_ms);
        let outcome = match call {
            // Its refusal for a conflicting update carries a result (§4.6.1 check 14).
            Call::StartJobUpdate(a) => return self.start_job_update(a, user),
            // Its deprecated key form answers OK with a result and a detail.
            Call::GetJobUpdateDetails(a) => return self.update_details(a.key, a.query),
            Call::GetRoleSummary(_) => Ok(Some(self.role_summary())),
            Call::GetJobSummary(a) => Ok(Some(self.job_summary(a.role.as_deref()))),
            Call::GetTasksStatus(a) => {
                Ok(Some(self.tasks_status(&a.query.unwrap_or_default(), true)))
            }
            Call::GetTasksWithoutConfigs(a) => {
                Ok(Some(self.tasks_status(&a.query.unwrap_or_default(), false)))
            }
            Call::GetPendingReason(a) => self.pending_reason(&a.query.unwrap_or_default()),
            Call::GetConfigSummary(a) => self.config_summary(a.job),
            Call::GetJobs(a) => Ok(Some(self.jobs(a.owner_role.as_deref()))),
            Call::GetQuota(a) => self.quota(a.owner_role.as_deref()),
            Call::PopulateJobConfig(a) => self.populate(a.description),
            Call::GetTierConfigs(_) => Ok(Some(tier_configs())),
            Call::CreateJob(a) => self.create_job(a.description),
            Call::KillTasks(a) => self.kill_tasks(a, user),
            Call::RestartShards(a) => self.restart_shards(a, user),
            Call::AddInstances(a) => self.add_instances(a),
            Call::SetQuota(a) => self.set_quota(a),
            Call::PauseJobUpdate(a) => {
                self.control_update(a.key, UserAction::Pause, a.message, user)
            }
            Call::ResumeJobUpdate(a) => {
                self.control_update(a.key, UserAction::Resume, a.message, user)
            }
            Call::AbortJobUpdate(a) => {
                self.control_update(a.key, UserAction::Abort, a.message, user)
            }
            Call::RollbackJobUpdate(a) => {
                self.control_update(a.key, UserAction::Rollback, a.message, user)
            }
            Call::PulseJobUpdate(a) => self.pulse_update(a.key),
            Call::GetJobUpdateSummaries(a) => self.update_summaries(a.job_update_query),
            Call::GetJobUpdateDiff(a) => self.update_diff(a.request),
            Call::ScheduleCronJob(a) => self.schedule_cron_job(a.description, false),
            Call::ReplaceCronTemplate(a) => self.schedule_cron_job(a.config, true),
            Call::DescheduleCronJob(a) => self.deschedule_cron_job(a.job),
            Call::StartCronJob(a) => self.start_cron_job(a.job),
            Call::StartMaintenance(a) => self.start_maintenance(a.hosts),
            Call::DrainHosts(a) => self.drain_hosts(a.hosts),
            Call::SlaDrainHosts(a) => self.sla_drain_hosts(a),
            Call::MaintenanceStatus(a) => self.maintenance_status(a.hosts),
            Call::EndMaintenance(a) => self.end_maintenance(a.hosts),
            other => Err(invalid(format!(
                "{} is not simulated by aurora-sim",
                other.name()
            ))),
        };
        self.settle();
        match outcome {
            Ok(result) => self.reply(ResponseCode::OK, result, vec![]),
            Err((code, message)) => self.reply(code, None, vec![message]),
        }
    }

    fn reply(&self, code: ResponseCode, result: Option<Payload>, details: Vec<String>) -> Response {
        Response {
            response_code: Some(code),
            server_info: Some(ServerInfo {
                cluster_name: Some(self.cluster_name.clone()),
                stats_url_prefix: Some(String::new()),
            }),
            result,
            details: Some(
                details
                    .into_iter()
                    .map(|m| ResponseDetail { message: Some(m) })
                    .collect(),
            ),
        }
    }

    // ----------------------------------------------------------------------------------------
    // The task state machine (§4.7)

    fn schedule(
        &mut self,
        task: &str,
        delay_ms: i64,
        from: ScheduleStatus,
        to: ScheduleStatus,
        message: String,
    ) {
        let seq = self.tasks.next_seq();
        self.timers.push(Reverse(Timer {
            due: self.now + delay_ms,
            seq,
            task: task.to_string(),
            from,
            to,
            message,
        }));
    }

    fn record(task: &mut Task, status: ScheduleStatus, at: i64, message: Option<String>) {
        task.status = status;
        task.events.push(TaskEvent {
            timestamp: at,
            status: Some(status),
            message,
            scheduler: Some(SCHEDULER_HOST.into()),
        });
    }

    /// Creates a task in PENDING (or THROTTLED when `throttle_ms` > 0).
    fn add_task(
        &mut self,
        job: &JobKey,
        instance: i32,
        config: Arc<TaskConfig>,
        ancestor: Option<&Task>,
        throttle_ms: i64,
    ) {
        let seq = self.tasks.next_seq();
        let mut task = Task {
            id: task_id(job, instance, self.ids.uuid()),
            job: job.clone(),
            instance,
            config,
            status: ScheduleStatus::INIT,
            events: Vec::new(),
            host: None,
            ports: Default::default(),
            failure_count: ancestor.map_or(0, |a| a.failure_count),
            ancestor: ancestor.map(|a| a.id.clone()),
            flaps: ancestor.map_or(0, |a| a.flaps),
            seq,
        };
        let id = task.id.clone();
        if throttle_ms > 0 {
            Self::record(
                &mut task,
                ScheduleStatus::THROTTLED,
                self.now,
                Some(format!(
                    "Rescheduled, penalized for {} ms for flapping",
                    throttle_ms
                )),
            );
            self.tasks.insert(task);
            self.schedule(
                &id,
                throttle_ms,
                ScheduleStatus::THROTTLED,
                ScheduleStatus::PENDING,
                "Penalty expired".into(),
            );
        } else {
            Self::record(&mut task, ScheduleStatus::PENDING, self.now, None);
            self.tasks.insert(task);
            self.placement_due = true;
        }
    }

    /// Moves a task and applies the side effects of §4.7.
    fn transition(&mut self, id: &str, to: ScheduleStatus, message: Option<String>) {
        let Some(task) = self.tasks.get(id) else {
            return;
        };
        let from = task.status;
        self.updates.task_changed(&task.job);
        // Killing a task that was never placed deletes it (§4.7 side effects, §6.1 item 11).
        if to == ScheduleStatus::KILLING
            && matches!(from, ScheduleStatus::PENDING | ScheduleStatus::THROTTLED)
        {
            self.tasks.remove(id);
            return;
        }
        let now = self.now;
        let Some(task) = self.tasks.get_mut(id) else {
            return;
        };
        Self::record(task, to, now, message);
        if from.is_slave_assigned() && !to.is_slave_assigned() {
            if let Some(host) = task.host.and_then(|h| self.hosts.get_mut(h)) {
                host.release(&Demand::of(&task.config), &task.ports);
            }
            self.placement_due = true;
        }
        let behavior = Behavior::of(&task.config);
        let task = task.clone();
        match to {
            ScheduleStatus::PENDING => self.placement_due = true,
            ScheduleStatus::ASSIGNED => {
                self.schedule(
                    id,
                    ASSIGNED_TO_STARTING_MS,
                    to,
                    ScheduleStatus::STARTING,
                    "Launching on the agent".into(),
                );
            }
            ScheduleStatus::STARTING => match behavior {
                Behavior::Fail => self.schedule(
                    id,
                    0,
                    to,
                    ScheduleStatus::FAILED,
                    "Task process exited with status 1 (sim.behavior=fail)".into(),
                ),
                Behavior::SlowStart(ms) => self.schedule(
                    id,
                    ms,
                    to,
                    ScheduleStatus::RUNNING,
                    "Task is healthy".into(),
                ),
                _ => self.schedule(
                    id,
                    STARTING_TO_RUNNING_MS,
                    to,
                    ScheduleStatus::RUNNING,
                    "Task is healthy".into(),
                ),
            },
            ScheduleStatus::RUNNING => match behavior {
                Behavior::Finish(ms) => self.schedule(
                    id,
                    ms,
                    to,
                    ScheduleStatus::FINISHED,
                    format!(
                        "Task finished successfully (sim.behavior={})",
                        behavior.describe()
                    ),
                ),
                Behavior::Flap(ms) => self.schedule(
                    id,
                    ms,
                    to,
                    ScheduleStatus::FAILED,
                    format!(
                        "Task process exited with status 1 (sim.behavior={})",
                        behavior.describe()
                    ),
                ),
                _ => {}
            },
            ScheduleStatus::KILLING
            | ScheduleStatus::RESTARTING
            | ScheduleStatus::DRAINING
            | ScheduleStatus::PREEMPTING
                if from.is_slave_assigned() =>
            {
                self.schedule(
                    id,
                    KILL_GRACE_MS,
                    to,
                    ScheduleStatus::KILLED,
                    "Task killed".into(),
                );
            }
            _ if to.is_terminal() => self.after_terminal(&task, from, to),
            _ => {}
        }
        if let (true, Some(host)) = (to.is_terminal(), task.host) {
            self.task_left_host(host);
        }
    }

    /// Rescheduling rules when a task ends (§4.7 side effects).
    fn after_terminal(&mut self, task: &Task, from: ScheduleStatus, to: ScheduleStatus) {
        let interrupted = matches!(
            from,
            ScheduleStatus::RESTARTING | ScheduleStatus::DRAINING | ScheduleStatus::PREEMPTING
        );
        let reschedule = match (from, to) {
            (ScheduleStatus::KILLING, _) => false,
            _ if interrupted => true,
            (_, ScheduleStatus::FINISHED) => task.config.is_service,
            (_, ScheduleStatus::FAILED) => {
                let max = task.config.max_task_failures;
                task.config.is_service || max == -1 || task.failure_count < max - 1
            }
            (_, ScheduleStatus::KILLED) | (_, ScheduleStatus::LOST) => true,
            _ => false,
        };
        if to == ScheduleStatus::FAILED {
            if let Some(t) = self.tasks.get_mut(&task.id) {
                t.failure_count += 1;
            }
        }
        if reschedule {
            let ended = self
                .tasks
                .get(&task.id)
                .cloned()
                .unwrap_or_else(|| task.clone());
            // Interrupted tasks are not penalized; others that ran briefly are flapping.
            let ran_ms = ended.running_since().map_or(0, |since| self.now - since);
            let mut ancestor = ended;
            ancestor.flaps = if !interrupted && ran_ms < FLAPPING_THRESHOLD_MS {
                ancestor.flaps + 1
            } else {
                0
            };
            let throttle = if ancestor.flaps == 0 {
                0
            } else {
                (THROTTLE_INITIAL_MS << (ancestor.flaps - 1).min(8)).min(THROTTLE_MAX_MS)
            };
            self.add_task(
                &task.job.clone(),
                task.instance,
                task.config.clone(),
                Some(&ancestor),
                throttle,
            );
        }
        self.tasks.prune_terminal(&task.job, TERMINAL_TASKS_KEPT);
    }

    /// Active tasks of a job on each host.
    fn tasks_per_host(&self, job: &JobKey) -> HashMap<usize, u32> {
        let mut counts = HashMap::new();
        for task in self.tasks.active_of_job(job) {
            if let (Some(host), true) = (task.host, task.status.is_slave_assigned()) {
                *counts.entry(host).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Places every PENDING task that fits somewhere, oldest first.
    fn place_pending(&mut self) {
        if !self.placement_due {
            return;
        }
        self.placement_due = false;
        let mut pending: Vec<(u64, String, JobKey)> = self
            .tasks
            .query(
                &TaskQuery {
                    statuses: Some(vec![ScheduleStatus::PENDING]),
                    ..TaskQuery::default()
                },
                &self.hosts,
            )
            .into_iter()
            .map(|t| (t.seq, t.id.clone(), t.job.clone()))
            .collect();
        pending.sort();
        let mut per_job: HashMap<JobKey, HashMap<usize, u32>> = HashMap::new();
        for (_, id, job) in pending {
            let Some(task) = self.tasks.get(&id) else {
                continue;
            };
            let config = task.config.clone();
            let demand = Demand::of(&config);
            let counts = per_job
                .entry(job.clone())
                .or_insert_with(|| self.tasks_per_host(&job));
            let placement = JobPlacement {
                config: &config,
                tasks_per_host: counts,
            };
            let Ok(host_index) = choose_host(&self.hosts, &placement, &demand) else {
                continue;
            };
            *counts.entry(host_index).or_insert(0) += 1;
            let ports = self.hosts[host_index].claim(&demand);
            let host_name = self.hosts[host_index].spec.name.clone();
            if let Some(task) = self.tasks.get_mut(&id) {
                task.host = Some(host_index);
                task.ports = ports;
            }
            self.transition(
                &id,
                ScheduleStatus::ASSIGNED,
                Some(format!("Assigned to {host_name}")),
            );
        }
    }

    // ----------------------------------------------------------------------------------------
    // Job lifecycle (§4.4)

    /// Refuses calls on a job with an active update, paused and awaiting pulse included
    /// (JOB_UPDATING_ERROR, §4.6.3, §6.1 item 20).
    fn check_no_active_update(
        &self,
        job: &JobKey,
    ) -> std::result::Result<(), (ResponseCode, String)> {
        match self.updates.active_update(job) {
            None => Ok(()),
            Some((key, status)) => Err((
                ResponseCode::JOB_UPDATING_ERROR,
                format!(
                    "Job {job} is being updated (update {} is {status}): wait for the update to finish, or abort it with abortJobUpdate",
                    key.id.unwrap_or_default()
                ),
            )),
        }
    }

    fn valid_key(key: Option<JobKey>) -> std::result::Result<JobKey, (ResponseCode, String)> {
        // Without authentication an invalid key fails an assertion: ERROR (§4.1).
        key.filter(JobKey::is_valid)
            .ok_or_else(|| error("Invalid job key"))
    }

    fn create_job(&mut self, description: Option<JobConfiguration>) -> Reply {
        let job = description.ok_or_else(|| error("description must not be null"))?;
        let (key, config) = validation::validate_job(&job, &self.flags).map_err(invalid)?;
        if job
            .cron_schedule
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
        {
            return Err(invalid(format!(
                "Job {key} has a cron schedule: use scheduleCronJob to schedule cron jobs"
            )));
        }
        self.check_no_active_update(&key)?;
        if !self.tasks.active_of_job(&key).is_empty() || self.is_cron_job(&key) {
            return Err(invalid(format!("Job {key} already exists")));
        }
        self.check_instance_count(job.instance_count)?;
        self.check_quota(&key, &config, job.instance_count as i64)?;
        let config = Arc::new(config);
        for instance in 0..job.instance_count {
            self.add_task(&key, instance, config.clone(), None, 0);
        }
        self.place_pending();
        Ok(None)
    }

    fn check_instance_count(&self, count: i32) -> std::result::Result<(), (ResponseCode, String)> {
        if count < 1 || count > self.flags.max_tasks_per_job {
            return Err(invalid(format!(
                "Instance count {count} is out of range: a job may have 1 to {} tasks (-max_tasks_per_job)",
                self.flags.max_tasks_per_job
            )));
        }
        Ok(())
    }

    fn kill_tasks(&mut self, a: KillTasks, user: &str) -> Reply {
        let key = Self::valid_key(a.job)?;
        self.check_no_active_update(&key)?;
        let wanted = a.instances.unwrap_or_default();
        let targets: Vec<String> = self
            .tasks
            .active_of_job(&key)
            .into_iter()
            .filter(|t| wanted.is_empty() || wanted.contains(&t.instance))
            .filter(|t| t.status != ScheduleStatus::KILLING)
            .map(|t| t.id.clone())
            .collect();
        if targets.is_empty() {
            return Err((ResponseCode::OK, "No tasks to kill.".into()));
        }
        let audit = match a.message.as_deref() {
            Some(m) if !m.is_empty() => format!("Killed by {user}\n{m}"),
            _ => format!("Killed by {user}"),
        };
        for id in targets {
            self.transition(&id, ScheduleStatus::KILLING, Some(audit.clone()));
        }
        Ok(None)
    }

    fn restart_shards(&mut self, a: RestartShards, user: &str) -> Reply {
        let key = Self::valid_key(a.job)?;
        let shards = a
            .shard_ids
            .filter(|s| !s.is_empty())
            .ok_or_else(|| error("shardIds must not be empty"))?;
        self.check_no_active_update(&key)?;
        let active = self.tasks.active_of_job(&key);
        if !shards
            .iter()
            .all(|s| active.iter().any(|t| t.instance == *s))
        {
            return Err(invalid("Not all requested shards are active."));
        }
        let targets: Vec<String> = active
            .iter()
            .filter(|t| {
                shards.contains(&t.instance)
                    && t.status.is_slave_assigned()
                    && t.status != ScheduleStatus::KILLING
            })
            .map(|t| t.id.clone())
            .collect();
        for id in targets {
            self.transition(
                &id,
                ScheduleStatus::RESTARTING,
                Some(format!("Restarted by {user}")),
            );
        }
        Ok(None)
    }

    fn add_instances(&mut self, a: AddInstances) -> Reply {
        let key = a.key.unwrap_or_default();
        let job = Self::valid_key(key.job_key)?;
        if a.count <= 0 {
            return Err(invalid("Instance count must be positive."));
        }
        self.refuse_cron_job(&job, "Instances may not be added to cron jobs.")?;
        self.check_no_active_update(&job)?;
        let active = self.tasks.active_of_job(&job);
        let template = active
            .iter()
            .find(|t| t.instance == key.instance_id)
            .map(|t| t.config.clone())
            .ok_or_else(|| {
                invalid(format!(
                    "Instance {} of {job} is not active: it cannot serve as a template",
                    key.instance_id
                ))
            })?;
        let max_id = active.iter().map(|t| t.instance).max().unwrap_or(-1);
        let total = active.len() as i64 + a.count as i64;
        if total > self.flags.max_tasks_per_job as i64 {
            return Err(invalid(format!(
                "Instance count {total} exceeds -max_tasks_per_job {}",
                self.flags.max_tasks_per_job
            )));
        }
        self.check_quota(&job, &template, a.count as i64)?;
        for instance in max_id + 1..=max_id + a.count {
            self.add_task(&job, instance, template.clone(), None, 0);
        }
        self.place_pending();
        Ok(None)
    }

    // ----------------------------------------------------------------------------------------
    // Reads (§4.4)

    fn tasks_status(&self, q: &TaskQuery, with_executor_data: bool) -> Payload {
        let mut tasks = self.tasks.query(q, &self.hosts);
        let offset = q.offset.filter(|o| *o > 0).unwrap_or(0) as usize;
        tasks = tasks.into_iter().skip(offset).collect();
        if let Some(limit) = q.limit.filter(|l| *l > 0) {
            tasks.truncate(limit as usize);
        }
        let tasks = tasks
            .iter()
            .map(|t| t.to_wire(&self.hosts, with_executor_data))
            .collect();
        Payload::ScheduleStatusResult(ScheduleStatusResult { tasks: Some(tasks) })
    }

    /// The job configuration synthesized from tasks (§4.4 getJobs / getJobSummary).
    fn synthesized(
        key: &JobKey,
        tasks: &[&Task],
        instance_count: usize,
    ) -> Option<JobConfiguration> {
        let newest = tasks
            .iter()
            .filter(|t| t.status.is_active())
            .max_by_key(|t| t.seq)
            .or_else(|| tasks.iter().max_by_key(|t| t.seq))?;
        Some(JobConfiguration {
            key: Some(key.clone()),
            owner: newest.config.owner.clone(),
            cron_schedule: None,
            cron_collision_policy: None,
            task_config: Some((*newest.config).clone()),
            instance_count: instance_count as i32,
        })
    }

    fn role_matches(key: &JobKey, role: Option<&str>) -> bool {
        role.is_none_or(|r| key.role.as_deref() == Some(r))
    }

    fn jobs(&self, role: Option<&str>) -> Payload {
        // A cron job's stored template wins over what its tasks would give.
        let configs = self
            .tasks
            .jobs()
            .filter(|k| Self::role_matches(k, role) && !self.is_cron_job(k))
            .filter_map(|key| {
                let active = self.tasks.active_of_job(key);
                (!active.is_empty())
                    .then(|| Self::synthesized(key, &active, active.len()))
                    .flatten()
            })
            .chain(self.cron_templates(role))
            .collect();
        Payload::GetJobsResult(GetJobsResult {
            configs: Some(configs),
        })
    }

    fn job_summary(&self, role: Option<&str>) -> Payload {
        let keys: BTreeSet<JobKey> = self
            .tasks
            .jobs()
            .filter(|k| Self::role_matches(k, role))
            .cloned()
            .chain(self.cron_keys(role))
            .collect();
        let summaries = keys
            .iter()
            .map(|key| {
                let tasks = self.tasks.of_job(key);
                let mut stats = JobStats::default();
                for t in &tasks {
                    match t.status {
                        ScheduleStatus::PENDING
                        | ScheduleStatus::THROTTLED
                        | ScheduleStatus::INIT => stats.pending_task_count += 1,
                        ScheduleStatus::FINISHED | ScheduleStatus::KILLED => {
                            stats.finished_task_count += 1
                        }
                        ScheduleStatus::FAILED | ScheduleStatus::LOST => {
                            stats.failed_task_count += 1
                        }
                        _ => stats.active_task_count += 1,
                    }
                }
                match self.cron_summary(key) {
                    Some((template, next_run_ms)) => JobSummary {
                        job: Some(template),
                        stats: Some(stats),
                        next_cron_run_ms: next_run_ms,
                    },
                    None => JobSummary {
                        job: Self::synthesized(key, &tasks, tasks.len()),
                        stats: Some(stats),
                        next_cron_run_ms: None,
                    },
                }
            })
            .collect();
        Payload::JobSummaryResult(JobSummaryResult {
            summaries: Some(summaries),
        })
    }

    fn role_summary(&self) -> Payload {
        let mut per_role: std::collections::BTreeMap<String, i32> = Default::default();
        for key in self.tasks.jobs() {
            *per_role
                .entry(key.role.clone().unwrap_or_default())
                .or_default() += 1;
        }
        let cron_counts = self.cron_job_counts();
        for role in cron_counts.keys() {
            per_role.entry(role.clone()).or_default();
        }
        let summaries = per_role
            .into_iter()
            .map(|(role, job_count)| RoleSummary {
                cron_job_count: cron_counts.get(&role).copied().unwrap_or(0),
                role: Some(role),
                job_count,
            })
            .collect();
        Payload::RoleSummaryResult(RoleSummaryResult {
            summaries: Some(summaries),
        })
    }

    fn config_summary(&self, job: Option<JobKey>) -> Reply {
        let key = Self::valid_key(job)?;
        let mut groups: Vec<(Arc<TaskConfig>, Vec<i32>)> = Vec::new();
        for task in self.tasks.active_of_job(&key) {
            match groups
                .iter_mut()
                .find(|(c, _)| Arc::ptr_eq(c, &task.config) || **c == *task.config)
            {
                Some((_, ids)) => ids.push(task.instance),
                None => groups.push((task.config.clone(), vec![task.instance])),
            }
        }
        let groups = groups
            .into_iter()
            .map(|(config, ids)| ConfigGroup {
                config: Some((*config).clone()),
                instances: Some(ranges(ids)),
            })
            .collect();
        Ok(Some(Payload::ConfigSummaryResult(ConfigSummaryResult {
            summary: Some(ConfigSummary {
                key: Some(key),
                groups: Some(groups),
            }),
        })))
    }

    fn pending_reason(&self, q: &TaskQuery) -> Reply {
        if q.slave_hosts.as_ref().is_some_and(|h| !h.is_empty())
            || q.statuses.as_ref().is_some_and(|s| !s.is_empty())
        {
            return Err(invalid(
                "Statuses or slaveHosts are not supported in the query of getPendingReason",
            ));
        }
        let query = TaskQuery {
            statuses: Some(vec![ScheduleStatus::PENDING]),
            ..q.clone()
        };
        let reasons = self
            .tasks
            .query(&query, &self.hosts)
            .into_iter()
            .map(|t| {
                let counts = self.tasks_per_host(&t.job);
                let placement = JobPlacement {
                    config: &t.config,
                    tasks_per_host: &counts,
                };
                let reason = match choose_host(&self.hosts, &placement, &Demand::of(&t.config)) {
                    Ok(_) => String::new(),
                    Err(vetoes) => vetoes.join(","),
                };
                PendingReason {
                    task_id: Some(t.id.clone()),
                    reason: Some(reason),
                }
            })
            .collect();
        Ok(Some(Payload::GetPendingReasonResult(
            GetPendingReasonResult {
                reasons: Some(reasons),
            },
        )))
    }

    fn populate(&self, description: Option<JobConfiguration>) -> Reply {
        let job = description.ok_or_else(|| error("description must not be null"))?;
        let (_, config) = validation::validate_job(&job, &self.flags)
            .map_err(|m| invalid(format!("Invalid configuration: {m}")))?;
        Ok(Some(Payload::PopulateJobResult(PopulateJobResult {
            task_config: Some(config),
        })))
    }

    // ----------------------------------------------------------------------------------------
    // Quota (§4.9)

    /// A role's consumption: (prod shared, non-prod shared, prod dedicated, non-prod dedicated).
    fn consumption(&self, role: &str) -> [Aggregate; 4] {
        let mut totals = [Aggregate::default(); 4];
        for key in self
            .tasks
            .jobs()
            .filter(|k| k.role.as_deref() == Some(role))
        {
            for task in self.tasks.active_of_job(key) {
                let slot = quota_slot(&task.config);
                totals[slot] = totals[slot].plus(Aggregate::of(&Demand::of(&task.config), 1));
            }
        }
        self.add_cron_reservations(role, &mut totals);
        totals
    }

    fn check_quota(
        &self,
        key: &JobKey,
        config: &TaskConfig,
        instances: i64,
    ) -> std::result::Result<(), (ResponseCode, String)> {
        let dedicated = config
            .constraints
            .iter()
            .flatten()
            .any(|c| c.name.as_deref() == Some("dedicated"));
        if !config.production.unwrap_or(false) || dedicated {
            return Ok(());
        }
        let role = key.role.clone().unwrap_or_default();
        let wanted = self.consumption(&role)[0].plus(Aggregate::of(&Demand::of(config), instances));
        self.check_role_quota(&role, wanted)
    }

    /// Refuses a role's production consumption above its quota (§4.9).
    fn check_role_quota(
        &self,
        role: &str,
        wanted: Aggregate,
    ) -> std::result::Result<(), (ResponseCode, String)> {
        let quota = self.quotas.get(role).copied().unwrap_or_default();
        if !wanted.fits_in(quota) {
            return Err(invalid(format!(
                "Insufficient resource quota for role {role}: production use would be cpu {:.2}, ram {} MiB, disk {} MiB; quota is cpu {:.2}, ram {} MiB, disk {} MiB",
                wanted.cpus, wanted.ram_mb, wanted.disk_mb, quota.cpus, quota.ram_mb, quota.disk_mb
            )));
        }
        Ok(())
    }

    fn quota(&self, role: Option<&str>) -> Reply {
        let role = role
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| error("ownerRole must not be blank"))?;
        let [prod, non_prod, prod_dedicated, non_prod_dedicated] = self.consumption(role);
        Ok(Some(Payload::GetQuotaResult(GetQuotaResult {
            quota: Some(self.quotas.get(role).copied().unwrap_or_default().wire()),
            prod_shared_consumption: Some(prod.wire()),
            non_prod_shared_consumption: Some(non_prod.wire()),
            prod_dedicated_consumption: Some(prod_dedicated.wire()),
            non_prod_dedicated_consumption: Some(non_prod_dedicated.wire()),
        })))
    }

    fn set_quota(&mut self, a: SetQuota) -> Reply {
        let role = a
            .owner_role
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| error("ownerRole must not be blank"))?;
        let resources = a.quota.and_then(|q| q.resources).unwrap_or_default();
        let mut quota = Aggregate::default();
        let (mut cpus, mut rams, mut disks) = (0, 0, 0);
        for r in &resources {
            match r {
                Resource::NumCpus(v) => (quota.cpus, cpus) = (*v, cpus + 1),
                Resource::RamMb(v) => (quota.ram_mb, rams) = (*v, rams + 1),
                Resource::DiskMb(v) => (quota.disk_mb, disks) = (*v, disks + 1),
                _ => return Err(error("A quota may only hold numCpus, ramMb and diskMb")),
            }
        }
        if (cpus, rams, disks) != (1, 1, 1) {
            return Err(error(
                "A quota must hold exactly one numCpus, one ramMb and one diskMb",
            ));
        }
        if quota.cpus < 0.0 || quota.ram_mb < 0 || quota.disk_mb < 0 {
            return Err(invalid("Negative values in quota are not allowed"));
        }
        let used = self.consumption(&role)[0];
        if !used.fits_in(quota) {
            return Err(invalid(format!(
                "Quota for {role} is below its current production consumption (cpu {:.2}, ram {} MiB, disk {} MiB)",
                used.cpus, used.ram_mb, used.disk_mb
            )));
        }
        self.quotas.insert(role, quota);
        Ok(None)
    }
}

/// Where a task's resources count in a role's consumption: prod shared, non-prod shared, prod
/// dedicated, non-prod dedicated (§4.9, the order of getQuota's aggregates).
fn quota_slot(config: &TaskConfig) -> usize {
    let prod = config.production.unwrap_or(false);
    let dedicated = config
        .constraints
        .iter()
        .flatten()
        .any(|c| c.name.as_deref() == Some("dedicated"));
    match (prod, dedicated) {
        (true, false) => 0,
        (false, false) => 1,
        (true, true) => 2,
        (false, true) => 3,
    }
}

fn tier_configs() -> Payload {
    let tiers = TIERS
        .iter()
        .map(|t| TierConfig {
            name: Some(t.name.into()),
            settings: Some(
                [
                    ("preemptible".to_string(), t.preemptible.to_string()),
                    ("revocable".to_string(), t.revocable.to_string()),
                ]
                .into(),
            ),
        })
        .collect();
    Payload::GetTierConfigResult(GetTierConfigResult {
        default_tier_name: Some(DEFAULT_TIER.into()),
        tiers: Some(tiers),
    })
}

/// Instance ids as maximal closed ranges (§3.3.4 ConfigGroup), shared with the modules.
pub use crate::api::keys::ranges;

#[cfg(test)]
mod tests {
    //! The scheduler driven directly, with explicit virtual times (no sleeping). Each test cites
    //! the api-reference section it follows.
    use super::*;
    use crate::api::types::{
        Constraint, ExecutorConfig, LimitConstraint, Metadata, Range, TaskConstraint,
        ValueConstraint, AURORA_EXECUTOR_NAME,
    };
    use crate::sim::config::{ClusterSpec, HostResources};

    const T0: i64 = 1_700_000_000_000;
    const SEC: i64 = 1_000;

    fn scheduler(hosts: usize, racks: usize) -> Scheduler {
        let cluster = ClusterSpec::generated(hosts, racks, &HostResources::default()).unwrap();
        Scheduler::new(&SimConfig::new(cluster)).unwrap()
    }

    fn job(name: &str, instances: i32, service: bool) -> JobConfiguration {
        let key = JobKey::new("www-data", "prod", name);
        JobConfiguration {
            key: Some(key.clone()),
            instance_count: instances,
            task_config: Some(TaskConfig {
                job: Some(key),
                is_service: service,
                max_task_failures: 1,
                resources: Some(vec![
                    Resource::NumCpus(1.0),
                    Resource::RamMb(128),
                    Resource::DiskMb(128),
                ]),
                executor_config: Some(ExecutorConfig {
                    name: Some(AURORA_EXECUTOR_NAME.into()),
                    data: Some("{}".into()),
                }),
                ..TaskConfig::default()
            }),
            ..JobConfiguration::default()
        }
    }

    fn with_behavior(mut j: JobConfiguration, behavior: &str) -> JobConfiguration {
        let task = j.task_config.as_mut().unwrap();
        task.metadata = Some(vec![Metadata {
            key: Some("sim.behavior".into()),
            value: Some(behavior.into()),
        }]);
        j
    }

    fn create(s: &mut Scheduler, j: JobConfiguration, at: i64) -> Response {
        s.handle(
            Call::CreateJob(CreateJob {
                description: Some(j),
            }),
            "UNSECURE",
            at,
        )
    }

    fn tasks(s: &mut Scheduler, name: &str, at: i64) -> Vec<crate::api::types::ScheduledTask> {
        let query = TaskQuery {
            job_keys: Some(vec![JobKey::new("www-data", "prod", name)]),
            ..TaskQuery::default()
        };
        match s
            .handle(
                Call::GetTasksStatus(GetTasksStatus { query: Some(query) }),
                "UNSECURE",
                at,
            )
            .result
        {
            Some(Payload::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    }

    fn statuses(s: &mut Scheduler, name: &str, at: i64) -> Vec<ScheduleStatus> {
        tasks(s, name, at)
            .iter()
            .map(|t| t.status.unwrap())
            .collect()
    }

    #[test]
    fn a_new_task_walks_pending_assigned_starting_running_on_the_virtual_clock() {
        // §4.7 normal path; timing constants at the top of this file.
        let mut s = scheduler(2, 1);
        assert_eq!(
            create(&mut s, job("web", 1, true), T0).response_code,
            Some(ResponseCode::OK)
        );
        assert_eq!(statuses(&mut s, "web", T0), [ScheduleStatus::ASSIGNED]);
        assert_eq!(
            statuses(&mut s, "web", T0 + SEC),
            [ScheduleStatus::STARTING]
        );
        assert_eq!(
            statuses(&mut s, "web", T0 + 3 * SEC),
            [ScheduleStatus::RUNNING]
        );
        let events: Vec<(ScheduleStatus, i64)> = tasks(&mut s, "web", T0 + 3 * SEC)[0]
            .task_events
            .clone()
            .unwrap()
            .iter()
            .map(|e| (e.status.unwrap(), e.timestamp))
            .collect();
        assert_eq!(
            events,
            [
                (ScheduleStatus::PENDING, T0),
                (ScheduleStatus::ASSIGNED, T0),
                (ScheduleStatus::STARTING, T0 + SEC),
                (ScheduleStatus::RUNNING, T0 + 3 * SEC)
            ]
        );
    }

    #[test]
    fn one_long_gap_gives_the_same_history_as_frequent_ticks() {
        // Timers fire at their own virtual times, whatever the real cadence of calls.
        let mut fine = scheduler(1, 1);
        let mut coarse = scheduler(1, 1);
        create(
            &mut fine,
            with_behavior(job("b", 1, false), "finish:10"),
            T0,
        );
        create(
            &mut coarse,
            with_behavior(job("b", 1, false), "finish:10"),
            T0,
        );
        for t in (0..30).map(|i| T0 + i * SEC) {
            fine.advance(t);
        }
        let history = |s: &mut Scheduler| -> Vec<(ScheduleStatus, i64)> {
            tasks(s, "b", T0 + 30 * SEC)[0]
                .task_events
                .clone()
                .unwrap()
                .iter()
                .map(|e| (e.status.unwrap(), e.timestamp))
                .collect()
        };
        assert_eq!(history(&mut fine), history(&mut coarse));
        assert_eq!(
            history(&mut coarse).last().unwrap(),
            &(ScheduleStatus::FINISHED, T0 + 13 * SEC)
        );
    }

    #[test]
    fn failing_service_is_rescheduled_throttled_with_failure_count_and_ancestor() {
        // §4.7: FAILED → failureCount + 1, services rescheduled; quick ends are flapping → THROTTLED.
        let mut s = scheduler(1, 1);
        create(&mut s, with_behavior(job("web", 1, true), "fail"), T0);
        let all = tasks(&mut s, "web", T0 + 2 * SEC);
        let failed = all
            .iter()
            .find(|t| t.status == Some(ScheduleStatus::FAILED))
            .expect("a FAILED task");
        let replacement = all
            .iter()
            .find(|t| t.status == Some(ScheduleStatus::THROTTLED))
            .expect("a THROTTLED replacement");
        assert_eq!(failed.failure_count, 1);
        assert_eq!(replacement.failure_count, 1);
        assert_eq!(
            replacement.ancestor_id,
            failed.assigned_task.as_ref().unwrap().task_id
        );
        // The penalty (30 s), then PENDING and placed again at once.
        assert!(statuses(&mut s, "web", T0 + 31 * SEC + 500).contains(&ScheduleStatus::ASSIGNED));
    }

    #[test]
    fn batch_job_is_retried_until_max_task_failures_attempts() {
        // §4.7: maxTaskFailures is the total number of attempts for non-service jobs.
        let mut s = scheduler(1, 1);
        let mut j = with_behavior(job("batch", 1, false), "fail");
        j.task_config.as_mut().unwrap().max_task_failures = 3;
        create(&mut s, j, T0);
        let all = tasks(&mut s, "batch", T0 + 3_600 * SEC);
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|t| t.status == Some(ScheduleStatus::FAILED)));
    }

    #[test]
    fn killing_a_pending_task_deletes_it_and_a_running_one_ends_killed_not_rescheduled() {
        // §4.7 side effects and §6.1 item 11.
        let mut s = scheduler(1, 1);
        let mut big = job("big", 1, true);
        big.task_config.as_mut().unwrap().resources = Some(vec![
            Resource::NumCpus(100.0),
            Resource::RamMb(1),
            Resource::DiskMb(1),
        ]);
        create(&mut s, big, T0);
        create(&mut s, job("web", 1, true), T0);
        let kill = |name: &str| {
            Call::KillTasks(KillTasks {
                job: Some(JobKey::new("www-data", "prod", name)),
                instances: None,
                message: Some("bye".into()),
            })
        };
        s.handle(kill("big"), "alice", T0 + 5 * SEC);
        assert!(
            tasks(&mut s, "big", T0 + 5 * SEC).is_empty(),
            "a PENDING task never shows KILLED"
        );
        s.handle(kill("web"), "alice", T0 + 5 * SEC);
        assert_eq!(
            statuses(&mut s, "web", T0 + 5 * SEC),
            [ScheduleStatus::KILLING]
        );
        let done = tasks(&mut s, "web", T0 + 60 * SEC);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].status, Some(ScheduleStatus::KILLED));
        let killing = done[0]
            .task_events
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.status == Some(ScheduleStatus::KILLING))
            .unwrap();
        assert_eq!(killing.message.as_deref(), Some("Killed by alice\nbye"));
        let again = s.handle(kill("web"), "alice", T0 + 61 * SEC);
        assert_eq!(again.response_code, Some(ResponseCode::OK));
        assert_eq!(
            again.details.unwrap()[0].message.as_deref(),
            Some("No tasks to kill.")
        );
    }

    #[test]
    fn limit_and_value_constraints_decide_placement_and_pending_reasons() {
        // §4.3 constraints; getPendingReason §4.4.
        let mut s = scheduler(4, 2);
        let mut j = job("spread", 3, true);
        j.task_config.as_mut().unwrap().constraints = Some(vec![
            Constraint {
                name: Some("rack".into()),
                constraint: Some(TaskConstraint::Value(ValueConstraint {
                    negated: false,
                    values: Some(vec!["r2".into()]),
                })),
            },
            Constraint {
                name: Some("host".into()),
                constraint: Some(TaskConstraint::Limit(LimitConstraint { limit: 1 })),
            },
        ]);
        create(&mut s, j, T0);
        let placed = tasks(&mut s, "spread", T0 + 5 * SEC);
        let hosts: Vec<Option<String>> = placed
            .iter()
            .map(|t| t.assigned_task.as_ref().unwrap().slave_host.clone())
            .collect();
        assert!(
            hosts.contains(&Some("host-003".into())) && hosts.contains(&Some("host-004".into())),
            "{hosts:?}"
        );
        assert!(placed
            .iter()
            .any(|t| t.status == Some(ScheduleStatus::PENDING)));
        let query = TaskQuery {
            role: Some("www-data".into()),
            ..TaskQuery::default()
        };
        let reasons = match s
            .handle(
                Call::GetPendingReason(GetPendingReason { query: Some(query) }),
                "UNSECURE",
                T0 + 5 * SEC,
            )
            .result
        {
            Some(Payload::GetPendingReasonResult(r)) => r.reasons.unwrap(),
            other => panic!("{other:?}"),
        };
        let reason = reasons[0].reason.clone().unwrap();
        assert!(
            reason.contains("Constraint not satisfied: rack")
                && reason.contains("Limit not satisfied: host"),
            "{reason}"
        );
    }

    #[test]
    fn resources_are_freed_when_tasks_end() {
        // A host's room comes back when its task is terminal, so PENDING work gets placed.
        let mut s = scheduler(1, 1);
        let mut hog = job("hog", 1, true);
        hog.task_config.as_mut().unwrap().resources = Some(vec![
            Resource::NumCpus(8.0),
            Resource::RamMb(1),
            Resource::DiskMb(1),
        ]);
        create(&mut s, hog, T0);
        create(&mut s, job("next", 1, true), T0);
        assert_eq!(
            statuses(&mut s, "next", T0 + 5 * SEC),
            [ScheduleStatus::PENDING]
        );
        s.handle(
            Call::KillTasks(KillTasks {
                job: Some(JobKey::new("www-data", "prod", "hog")),
                ..KillTasks::default()
            }),
            "UNSECURE",
            T0 + 5 * SEC,
        );
        assert_eq!(
            statuses(&mut s, "next", T0 + 20 * SEC),
            [ScheduleStatus::RUNNING]
        );
    }

    #[test]
    fn instance_ranges_are_maximal() {
        // §3.3.4 ConfigGroup.instances: maximal closed ranges.
        assert_eq!(
            ranges(vec![3, 0, 1, 5, 2, 7, 6]),
            [Range { first: 0, last: 3 }, Range { first: 5, last: 7 }]
        );
        assert!(ranges(vec![]).is_empty());
    }
}
