//! Cron jobs (api-reference §4.5): the stored templates with their next trigger on the virtual
//! clock, and KILL_EXISTING runs waiting for the previous run's tasks to end. The calls that
//! change them, and what a run does to the task store, are in `scheduler::cron_calls`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::types::{CronCollisionPolicy, JobConfiguration, JobKey, TaskConfig};
use crate::spec::crontab::Crontab;

/// `-cron_start_initial_backoff`: first wait for a killed run to end (§4.5).
pub const START_INITIAL_BACKOFF_MS: i64 = 5_000;
/// `-cron_start_max_backoff`: the wait doubles up to this.
pub const START_MAX_BACKOFF_MS: i64 = 60_000;

/// A registered cron job.
#[derive(Clone, Debug)]
pub struct CronJob {
    /// The template as getJobs and getJobSummary return it, with the populated TaskConfig.
    pub config: JobConfiguration,
    /// The populated TaskConfig every run's tasks share.
    pub task: Arc<TaskConfig>,
    pub crontab: Crontab,
    /// The next scheduled trigger; `None` when the schedule never fires.
    pub next_run_ms: Option<i64>,
}

impl CronJob {
    /// A template scheduled from virtual time `now_ms` on.
    pub fn new(config: JobConfiguration, task: TaskConfig, crontab: Crontab, now_ms: i64) -> Self {
        let next_run_ms = crontab.next_after(now_ms);
        CronJob {
            config,
            task: Arc::new(task),
            crontab,
            next_run_ms,
        }
    }

    /// Unset means KILL_EXISTING (§3.1).
    pub fn policy(&self) -> CronCollisionPolicy {
        self.config
            .cron_collision_policy
            .unwrap_or(CronCollisionPolicy::KILL_EXISTING)
    }

    pub fn instance_count(&self) -> i32 {
        self.config.instance_count
    }
}

/// A KILL_EXISTING run that killed the previous run's tasks and starts once none is active.
#[derive(Clone, Debug)]
pub struct DeferredLaunch {
    /// The template as it was when the run was triggered.
    pub task: Arc<TaskConfig>,
    pub instance_count: i32,
    /// The tasks killed for this run.
    pub killed: Vec<String>,
    pub next_check_ms: i64,
    /// The wait after the next check, should the killed tasks still be active then.
    pub backoff_ms: i64,
}

impl DeferredLaunch {
    /// Waits `backoff_ms` from `now_ms` for the next check, doubling the wait after it.
    pub fn wait(&mut self, now_ms: i64) {
        self.next_check_ms = now_ms + self.backoff_ms;
        self.backoff_ms = (self.backoff_ms * 2).min(START_MAX_BACKOFF_MS);
    }
}

/// What is due at a virtual instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CronEvent {
    /// The schedule of this job fires.
    Trigger(JobKey),
    /// A deferred launch of this job checks whether the killed tasks have ended.
    CheckDeferred(JobKey),
}

/// Every cron template, by job key, and the runs waiting to start.
#[derive(Default)]
pub struct CronJobs {
    jobs: BTreeMap<JobKey, CronJob>,
    deferred: BTreeMap<JobKey, DeferredLaunch>,
}

impl CronJobs {
    pub fn get(&self, key: &JobKey) -> Option<&CronJob> {
        self.jobs.get(key)
    }

    pub fn contains(&self, key: &JobKey) -> bool {
        self.jobs.contains_key(key)
    }

    /// Registers or replaces a template.
    pub fn save(&mut self, key: JobKey, job: CronJob) {
        self.jobs.insert(key, job);
    }

    /// Removes a template; answers whether there was one. A run already waiting to start still
    /// starts (the scheduler does not interrupt a trigger in progress).
    pub fn remove(&mut self, key: &JobKey) -> bool {
        self.jobs.remove(key).is_some()
    }

    /// Templates in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&JobKey, &CronJob)> {
        self.jobs.iter()
    }

    pub fn is_launch_pending(&self, key: &JobKey) -> bool {
        self.deferred.contains_key(key)
    }

    pub fn defer(&mut self, key: JobKey, launch: DeferredLaunch) {
        self.deferred.insert(key, launch);
    }

    pub fn take_deferred(&mut self, key: &JobKey) -> Option<DeferredLaunch> {
        self.deferred.remove(key)
    }

    /// The earliest virtual time something is due.
    pub fn next_due(&self) -> Option<i64> {
        let triggers = self.jobs.values().filter_map(|j| j.next_run_ms);
        let checks = self.deferred.values().map(|d| d.next_check_ms);
        triggers.chain(checks).min()
    }

    /// Takes one event due at or before `at`, moving that job's schedule to its next trigger.
    pub fn take_due(&mut self, at: i64) -> Option<CronEvent> {
        if let Some((key, job)) = self
            .jobs
            .iter_mut()
            .find(|(_, j)| j.next_run_ms.is_some_and(|t| t <= at))
        {
            job.next_run_ms = job.crontab.next_after(at);
            return Some(CronEvent::Trigger(key.clone()));
        }
        self.deferred
            .iter()
            .find(|(_, d)| d.next_check_ms <= at)
            .map(|(key, _)| CronEvent::CheckDeferred(key.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_714_564_800_000; // 2024-05-01T12:00:00Z

    fn job(schedule: &str, now: i64) -> CronJob {
        let config = JobConfiguration {
            key: Some(JobKey::new("www-data", "prod", "nightly")),
            cron_schedule: Some(schedule.into()),
            instance_count: 1,
            ..JobConfiguration::default()
        };
        CronJob::new(
            config,
            TaskConfig::default(),
            Crontab::parse(schedule).unwrap(),
            now,
        )
    }

    #[test]
    fn a_trigger_moves_the_schedule_to_the_next_instant() {
        let key = JobKey::new("www-data", "prod", "nightly");
        let mut cron = CronJobs::default();
        cron.save(key.clone(), job("*/5 * * * *", T0));
        assert_eq!(cron.next_due(), Some(T0 + 300_000));
        assert_eq!(cron.take_due(T0 + 299_999), None);
        assert_eq!(cron.take_due(T0 + 300_000), Some(CronEvent::Trigger(key)));
        assert_eq!(cron.next_due(), Some(T0 + 600_000));
    }

    #[test]
    fn an_unset_collision_policy_is_kill_existing() {
        assert_eq!(
            job("* * * * *", T0).policy(),
            CronCollisionPolicy::KILL_EXISTING
        );
    }

    #[test]
    fn deferred_launch_checks_back_off_from_5_s_to_1_min() {
        let mut launch = DeferredLaunch {
            task: Arc::new(TaskConfig::default()),
            instance_count: 1,
            killed: vec![],
            next_check_ms: T0,
            backoff_ms: START_INITIAL_BACKOFF_MS,
        };
        let mut waits = vec![];
        let mut now = T0;
        for _ in 0..7 {
            launch.wait(now);
            waits.push(launch.next_check_ms - now);
            now = launch.next_check_ms;
        }
        assert_eq!(
            waits,
            [5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]
        );
    }
}
