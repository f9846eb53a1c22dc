//! The scheduler's cron calls (api-reference §4.5): scheduleCronJob, replaceCronTemplate,
//! descheduleCronJob and startCronJob; what a run does to the task store under each collision
//! policy; and what cron templates add to the reads (§4.4) and to quota (§4.9).

use std::collections::BTreeMap;

use super::update_calls::is_production_shared;
use super::{invalid, quota_slot, Aggregate, Reply, Scheduler};
use crate::api::types::{
    CronCollisionPolicy, JobConfiguration, JobKey, ResponseCode, ScheduleStatus, TaskConfig,
};
use crate::sim::cluster::Demand;
use crate::sim::cron::{CronEvent, CronJob, DeferredLaunch, START_INITIAL_BACKOFF_MS};
use crate::sim::validation;
use crate::spec::crontab::Crontab;

/// The audit message on tasks killed by a KILL_EXISTING run.
const KILLED_BY_CRON: &str = "Killed by cronScheduler";
/// startJobUpdate on a cron job (§4.6.1 check 10).
pub(super) const CRON_NOT_UPDATABLE: &str =
    "Cron jobs may only be created/updated by calling scheduleCronJob.";
/// getJobUpdateDiff on a cron job (§4.6.2).
pub(super) const CRON_NOT_DIFFABLE: &str = "Cron jobs are not supported.";

type Refusal = (ResponseCode, String);

impl Scheduler {
    /// scheduleCronJob, and replaceCronTemplate when `replace_only` (§4.5), with the scheduler's
    /// checks in its order.
    pub(super) fn schedule_cron_job(
        &mut self,
        description: Option<JobConfiguration>,
        replace_only: bool,
    ) -> Reply {
        let job = description.ok_or_else(|| super::error("description must not be null"))?;
        // Without authentication an invalid key fails an assertion before anything else (§4.1).
        let key = Self::valid_key(job.key.clone())?;
        let (_, task) = validation::validate_job(&job, &self.flags).map_err(invalid)?;
        let schedule = job
            .cron_schedule
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                invalid(format!(
                    "Job {key} has no cron schedule: set cronSchedule, or use createJob for a job that runs once"
                ))
            })?;
        self.check_no_active_update(&key)?;
        self.check_instance_count(job.instance_count)?;
        self.check_cron_quota(&key, &task, job.instance_count)?;
        let exists = self.cron.contains(&key);
        if !exists && !replace_only && !self.tasks.active_of_job(&key).is_empty() {
            return Err(invalid(format!(
                "Job {key} already exists: kill its active tasks before scheduling it with cron"
            )));
        }
        let crontab = Crontab::parse(&schedule)
            .map_err(|e| invalid(format!("Invalid cron schedule: {schedule} ({e})")))?;
        if job.cron_collision_policy == Some(CronCollisionPolicy::RUN_OVERLAP) {
            return Err(invalid(
                "The RUN_OVERLAP collision policy has been removed (AURORA-38). Use KILL_EXISTING or CANCEL_NEW.",
            ));
        }
        if replace_only && !exists {
            return Err(invalid(format!(
                "No cron job found for {key}. Use scheduleCronJob to create it."
            )));
        }
        let stored = JobConfiguration {
            key: Some(key.clone()),
            owner: job.owner.clone(),
            cron_schedule: Some(schedule.clone()),
            cron_collision_policy: job.cron_collision_policy,
            task_config: Some(task.clone()),
            instance_count: job.instance_count,
        };
        let cron_job = CronJob::new(stored, task, crontab, self.now);
        if cron_job.next_run_ms.is_none() {
            return Err(invalid(format!(
                "Invalid cron schedule: {schedule} (based on the configured schedule, the trigger will never fire)"
            )));
        }
        self.cron.save(key, cron_job);
        Ok(None)
    }

    /// descheduleCronJob (§4.5): the template goes, running tasks stay.
    pub(super) fn deschedule_cron_job(&mut self, job: Option<JobKey>) -> Reply {
        let key = Self::valid_key(job)?;
        self.check_no_active_update(&key)?;
        if self.cron.remove(&key) {
            Ok(None)
        } else {
            Err((
                ResponseCode::OK,
                format!("Job {key} is not scheduled with cron"),
            ))
        }
    }

    /// startCronJob (§4.5): one run now, collision policy applied; no active-update check.
    pub(super) fn start_cron_job(&mut self, job: Option<JobKey>) -> Reply {
        let key = Self::valid_key(job)?;
        if !self.cron.contains(&key) {
            return Err(invalid(format!(
                "Failed to start cron job - No cron job found for {key}. Schedule it with scheduleCronJob first."
            )));
        }
        self.trigger_cron(&key);
        Ok(None)
    }

    /// Refuses a call that cron jobs do not support (addInstances, updates).
    pub(super) fn refuse_cron_job(&self, key: &JobKey, message: &str) -> Result<(), Refusal> {
        if self.cron.contains(key) {
            return Err(invalid(message));
        }
        Ok(())
    }

    /// Whether a cron template holds this key (createJob then finds the job existing).
    pub(super) fn is_cron_job(&self, key: &JobKey) -> bool {
        self.cron.contains(key)
    }

    // ----------------------------------------------------------------------------------------
    // Runs

    /// When a cron trigger or a deferred launch check is next due.
    pub(super) fn next_cron_due(&self) -> Option<i64> {
        self.cron.next_due()
    }

    /// Carries out one cron event due at `at`; answers whether there was one.
    pub(super) fn run_cron_due(&mut self, at: i64) -> bool {
        match self.cron.take_due(at) {
            Some(CronEvent::Trigger(key)) => self.trigger_cron(&key),
            Some(CronEvent::CheckDeferred(key)) => self.check_deferred_launch(&key),
            None => return false,
        }
        true
    }

    /// One run of a cron job (§4.5 "What a run does").
    fn trigger_cron(&mut self, key: &JobKey) {
        // Triggers while a KILL_EXISTING run waits for its predecessor are ignored.
        if self.cron.is_launch_pending(key) {
            return;
        }
        let Some(job) = self.cron.get(key) else {
            return;
        };
        let (task, instance_count, policy) = (job.task.clone(), job.instance_count(), job.policy());
        let active: Vec<(String, ScheduleStatus)> = self
            .tasks
            .active_of_job(key)
            .iter()
            .map(|t| (t.id.clone(), t.status))
            .collect();
        if active.is_empty() {
            self.launch_cron_run(key, &task, instance_count);
            return;
        }
        // CANCEL_NEW skips this run; RUN_OVERLAP, refused for new templates, behaves the same.
        if policy != CronCollisionPolicy::KILL_EXISTING {
            return;
        }
        for (id, status) in &active {
            if *status != ScheduleStatus::KILLING {
                self.transition(id, ScheduleStatus::KILLING, Some(KILLED_BY_CRON.into()));
            }
        }
        self.cron.defer(
            key.clone(),
            DeferredLaunch {
                task,
                instance_count,
                killed: active.into_iter().map(|(id, _)| id).collect(),
                next_check_ms: self.now,
                backoff_ms: START_INITIAL_BACKOFF_MS,
            },
        );
        // The first check is at once: killed PENDING tasks are already gone.
        self.check_deferred_launch(key);
    }

    /// Starts a waiting KILL_EXISTING run once none of the tasks it killed is active, else waits
    /// with backoff.
    fn check_deferred_launch(&mut self, key: &JobKey) {
        let Some(mut launch) = self.cron.take_deferred(key) else {
            return;
        };
        let still_active = launch
            .killed
            .iter()
            .any(|id| self.tasks.get(id).is_some_and(|t| t.status.is_active()));
        if still_active {
            launch.wait(self.now);
            self.cron.defer(key.clone(), launch);
        } else {
            let task = launch.task.clone();
            self.launch_cron_run(key, &task, launch.instance_count);
        }
    }

    /// PENDING tasks for instances `0..instance_count` from the template.
    fn launch_cron_run(
        &mut self,
        key: &JobKey,
        task: &std::sync::Arc<TaskConfig>,
        instance_count: i32,
    ) {
        for instance in 0..instance_count {
            self.add_task(key, instance, task.clone(), None, 0);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Reads (§4.4) and quota (§4.9)

    /// The stored templates of a role (all roles when `None`), as getJobs returns them.
    pub(super) fn cron_templates(&self, role: Option<&str>) -> Vec<JobConfiguration> {
        self.cron
            .iter()
            .filter(|(key, _)| Self::role_matches(key, role))
            .map(|(_, job)| job.config.clone())
            .collect()
    }

    /// A cron job's template and next trigger, for getJobSummary.
    pub(super) fn cron_summary(&self, key: &JobKey) -> Option<(JobConfiguration, Option<i64>)> {
        self.cron
            .get(key)
            .map(|job| (job.config.clone(), job.next_run_ms))
    }

    /// Keys of the cron templates of a role (all roles when `None`).
    pub(super) fn cron_keys(&self, role: Option<&str>) -> Vec<JobKey> {
        self.cron
            .iter()
            .filter(|(key, _)| Self::role_matches(key, role))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Cron templates per role, for getRoleSummary.
    pub(super) fn cron_job_counts(&self) -> BTreeMap<String, i32> {
        let mut counts = BTreeMap::new();
        for (key, _) in self.cron.iter() {
            *counts
                .entry(key.role.clone().unwrap_or_default())
                .or_default() += 1;
        }
        counts
    }

    /// A cron job holds quota for its template's full instance count even between runs: on top
    /// of its active tasks (already in `totals`) it adds what its template needs beyond them.
    pub(super) fn add_cron_reservations(&self, role: &str, totals: &mut [Aggregate; 4]) {
        for (key, job) in self
            .cron
            .iter()
            .filter(|(key, _)| key.role.as_deref() == Some(role))
        {
            let slot = quota_slot(&job.task);
            let active = self
                .tasks
                .active_of_job(key)
                .into_iter()
                .filter(|t| quota_slot(&t.config) == slot)
                .fold(Aggregate::default(), |sum, t| {
                    sum.plus(Aggregate::of(&Demand::of(&t.config), 1))
                });
            let template = Aggregate::of(&Demand::of(&job.task), job.instance_count() as i64);
            totals[slot] = totals[slot].plus(template.max(active).minus(active));
        }
    }

    /// What a key uses of its role's production quota with the given template: the larger of the
    /// template's full instance count and the key's active production tasks.
    fn cron_key_usage(&self, key: &JobKey, template: Option<(&TaskConfig, i32)>) -> Aggregate {
        let active = self
            .tasks
            .active_of_job(key)
            .into_iter()
            .filter(|t| is_production_shared(&t.config))
            .fold(Aggregate::default(), |sum, t| {
                sum.plus(Aggregate::of(&Demand::of(&t.config), 1))
            });
        let template = template
            .filter(|(task, _)| is_production_shared(task))
            .map(|(task, count)| Aggregate::of(&Demand::of(task), count as i64))
            .unwrap_or_default();
        template.max(active)
    }

    /// The role's production consumption with this template in place of the key's current one
    /// must fit its quota (§4.9).
    fn check_cron_quota(
        &self,
        key: &JobKey,
        task: &TaskConfig,
        instance_count: i32,
    ) -> Result<(), Refusal> {
        if !is_production_shared(task) {
            return Ok(());
        }
        let role = key.role.clone().unwrap_or_default();
        let current = self.cron_key_usage(
            key,
            self.cron
                .get(key)
                .map(|job| (job.task.as_ref(), job.instance_count())),
        );
        let proposed = self.cron_key_usage(key, Some((task, instance_count)));
        let wanted = self.consumption(&role)[0].minus(current).plus(proposed);
        self.check_role_quota(&role, wanted)
    }
}

#[cfg(test)]
mod tests {
    //! Cron runs driven directly at explicit virtual times (no sleeping), for exact instants.
    use super::*;
    use crate::api::methods::{Call, DescheduleCronJob, ScheduleCronJob, StartCronJob};
    use crate::api::types::{
        ExecutorConfig, Metadata, Resource, ScheduledTask, TaskQuery, AURORA_EXECUTOR_NAME,
    };
    use crate::sim::config::{ClusterSpec, HostResources, SimConfig};

    /// 2024-05-01T12:00:00Z, on a whole minute.
    const T0: i64 = 1_714_564_800_000;
    const SEC: i64 = 1_000;

    fn scheduler() -> Scheduler {
        let cluster = ClusterSpec::generated(2, 1, &HostResources::default()).unwrap();
        let mut s = Scheduler::new(&SimConfig::new(cluster)).unwrap();
        s.advance(T0);
        s
    }

    fn key() -> JobKey {
        JobKey::new("www-data", "prod", "nightly")
    }

    fn cron_job(schedule: &str, behavior: Option<&str>) -> JobConfiguration {
        JobConfiguration {
            key: Some(key()),
            cron_schedule: Some(schedule.into()),
            instance_count: 1,
            task_config: Some(TaskConfig {
                job: Some(key()),
                max_task_failures: 1,
                resources: Some(vec![
                    Resource::NumCpus(0.5),
                    Resource::RamMb(64),
                    Resource::DiskMb(64),
                ]),
                executor_config: Some(ExecutorConfig {
                    name: Some(AURORA_EXECUTOR_NAME.into()),
                    data: Some("{}".into()),
                }),
                metadata: behavior.map(|b| {
                    vec![Metadata {
                        key: Some("sim.behavior".into()),
                        value: Some(b.into()),
                    }]
                }),
                ..TaskConfig::default()
            }),
            ..JobConfiguration::default()
        }
    }

    fn call(s: &mut Scheduler, call: Call, at: i64) -> ResponseCode {
        s.handle(call, "UNSECURE", at).response_code.unwrap()
    }

    fn schedule(s: &mut Scheduler, job: JobConfiguration, at: i64) {
        let description = Some(job);
        assert_eq!(
            call(
                s,
                Call::ScheduleCronJob(ScheduleCronJob { description }),
                at
            ),
            ResponseCode::OK
        );
    }

    fn start(s: &mut Scheduler, at: i64) {
        let job = Some(key());
        assert_eq!(
            call(s, Call::StartCronJob(StartCronJob { job }), at),
            ResponseCode::OK
        );
    }

    fn tasks(s: &mut Scheduler, at: i64) -> Vec<ScheduledTask> {
        s.advance(at);
        let query = TaskQuery {
            job_keys: Some(vec![key()]),
            ..TaskQuery::default()
        };
        s.tasks
            .query(&query, &s.hosts)
            .iter()
            .map(|t| t.to_wire(&s.hosts, false))
            .collect()
    }

    /// Creation instants of the job's tasks, oldest first.
    fn created(s: &mut Scheduler, at: i64) -> Vec<i64> {
        let mut at: Vec<i64> = tasks(s, at)
            .iter()
            .map(|t| t.task_events.as_ref().unwrap()[0].timestamp)
            .collect();
        at.sort_unstable();
        at
    }

    #[test]
    fn a_long_gap_between_calls_still_fires_every_trigger_at_its_own_minute() {
        // §4.5 runs at the scheduled instants, whatever the cadence of calls.
        let mut s = scheduler();
        schedule(&mut s, cron_job("* * * * *", Some("finish:1")), T0);
        let minute = 60 * SEC;
        assert_eq!(
            created(&mut s, T0 + 5 * minute),
            (1..=5).map(|m| T0 + m * minute).collect::<Vec<_>>()
        );
    }

    #[test]
    fn kill_existing_starts_the_new_run_at_the_first_check_after_the_old_one_ended() {
        // §4.5 KILL_EXISTING: kill, check at once, then every 5 s (doubling) until none of the
        // killed tasks is active. Killed tasks end 2 s after KILLING, so the 5 s check launches.
        let mut s = scheduler();
        schedule(&mut s, cron_job("0 0 29 2 *", None), T0);
        start(&mut s, T0);
        assert_eq!(
            tasks(&mut s, T0 + 5 * SEC)[0].status,
            Some(ScheduleStatus::RUNNING)
        );
        start(&mut s, T0 + 10 * SEC);
        assert_eq!(created(&mut s, T0 + 14 * SEC), [T0], "not before the check");
        assert_eq!(created(&mut s, T0 + 15 * SEC), [T0, T0 + 15 * SEC]);
    }

    #[test]
    fn triggers_while_a_run_waits_for_its_predecessor_are_ignored() {
        // §4.5: "Further triggers for the same job while this is pending are ignored."
        let mut s = scheduler();
        schedule(&mut s, cron_job("0 0 29 2 *", None), T0);
        start(&mut s, T0);
        start(&mut s, T0 + 10 * SEC);
        start(&mut s, T0 + 11 * SEC);
        start(&mut s, T0 + 12 * SEC);
        assert_eq!(created(&mut s, T0 + 60 * SEC), [T0, T0 + 15 * SEC]);
    }

    #[test]
    fn a_run_already_waiting_for_its_predecessor_still_starts_after_deschedule() {
        // The scheduler does not interrupt a trigger in progress when the template goes (§4.5:
        // descheduling removes the template; running work is left alone).
        let mut s = scheduler();
        schedule(&mut s, cron_job("0 0 29 2 *", None), T0);
        start(&mut s, T0);
        start(&mut s, T0 + 10 * SEC);
        let job = Some(key());
        assert_eq!(
            call(
                &mut s,
                Call::DescheduleCronJob(DescheduleCronJob { job }),
                T0 + 11 * SEC
            ),
            ResponseCode::OK
        );
        assert_eq!(created(&mut s, T0 + 60 * SEC), [T0, T0 + 15 * SEC]);
    }
}
