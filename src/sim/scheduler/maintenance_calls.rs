//! The scheduler's host maintenance calls and the moves of the periodic maintenance poll
//! (api-reference §4.8); what is decided about one task is in `sim::maintenance`.

use super::{CoordinatorAnswer, Reply, Scheduler};
use crate::api::methods::SlaDrainHosts;
use crate::api::types::{
    DrainHostsResult, EndMaintenanceResult, HostStatus, Hosts, MaintenanceMode,
    MaintenanceStatusResult, Result as Payload, ScheduleStatus, StartMaintenanceResult, TaskQuery,
};
use crate::sim::host_pages::HostView;
use crate::sim::maintenance::{can_drain, zero_percent_policy, DrainContext, DRAINING_MESSAGE};
use crate::sim::tasks::Task;

impl Scheduler {
    /// The known hosts among `hosts` (unknown names are dropped silently), each once, by name.
    fn known_hosts(&self, hosts: Option<Hosts>) -> Vec<usize> {
        let names = hosts.and_then(|h| h.host_names).unwrap_or_default();
        let mut known: Vec<usize> = names
            .iter()
            .filter_map(|name| self.hosts.iter().position(|h| h.spec.name == *name))
            .collect();
        known.sort_by(|a, b| self.hosts[*a].spec.name.cmp(&self.hosts[*b].spec.name));
        known.dedup();
        known
    }

    fn set_mode(&mut self, host: usize, mode: MaintenanceMode) {
        if let Some(h) = self.hosts.get_mut(host) {
            if h.mode != mode {
                h.mode = mode;
                // A host back in service may take PENDING tasks.
                self.placement_due = true;
            }
        }
    }

    fn statuses(&self, hosts: &[usize]) -> Vec<HostStatus> {
        hosts
            .iter()
            .filter_map(|i| self.hosts.get(*i))
            .map(|h| HostStatus {
                host: Some(h.spec.name.clone()),
                mode: Some(h.mode),
            })
            .collect()
    }

    /// Ids of the active tasks assigned to a host.
    fn active_on_host(&self, host: usize) -> Vec<String> {
        let Some(name) = self.hosts.get(host).map(|h| h.spec.name.clone()) else {
            return Vec::new();
        };
        let query = TaskQuery {
            slave_hosts: Some(vec![name]),
            statuses: Some(ScheduleStatus::ACTIVE.to_vec()),
            ..TaskQuery::default()
        };
        self.tasks
            .query(&query, &self.hosts)
            .into_iter()
            .map(|t| t.id.clone())
            .collect()
    }

    /// startMaintenance: known hosts → SCHEDULED from any mode; tasks stay.
    pub(super) fn start_maintenance(&mut self, hosts: Option<Hosts>) -> Reply {
        let hosts = self.known_hosts(hosts);
        for &host in &hosts {
            self.set_mode(host, MaintenanceMode::SCHEDULED);
        }
        Ok(Some(Payload::StartMaintenanceResult(
            StartMaintenanceResult {
                statuses: Some(self.statuses(&hosts)),
            },
        )))
    }

    /// drainHosts: a forced drain (0 % policy, 0 s timeout); empty hosts are DRAINED at once,
    /// the others DRAINING with their tasks moved to DRAINING now.
    pub(super) fn drain_hosts(&mut self, hosts: Option<Hosts>) -> Reply {
        let hosts = self.known_hosts(hosts);
        for &host in &hosts {
            let name = self.hosts[host].spec.name.clone();
            self.maintenance
                .record(&name, Some(zero_percent_policy()), 0, self.now);
            if self.active_on_host(host).is_empty() {
                self.set_mode(host, MaintenanceMode::DRAINED);
            } else {
                self.set_mode(host, MaintenanceMode::DRAINING);
                self.drain_tasks_on_host(host);
            }
        }
        Ok(Some(Payload::DrainHostsResult(DrainHostsResult {
            statuses: Some(self.statuses(&hosts)),
        })))
    }

    /// slaDrainHosts: records the request and sets DRAINING, even on empty hosts; the poll
    /// drains.
    pub(super) fn sla_drain_hosts(&mut self, a: SlaDrainHosts) -> Reply {
        let hosts = self.known_hosts(a.hosts);
        for &host in &hosts {
            let name = self.hosts[host].spec.name.clone();
            self.maintenance.record(
                &name,
                a.default_sla_policy.clone(),
                a.timeout_secs,
                self.now,
            );
            self.set_mode(host, MaintenanceMode::DRAINING);
        }
        Ok(Some(Payload::DrainHostsResult(DrainHostsResult {
            statuses: Some(self.statuses(&hosts)),
        })))
    }

    pub(super) fn maintenance_status(&self, hosts: Option<Hosts>) -> Reply {
        let hosts = self.known_hosts(hosts);
        Ok(Some(Payload::MaintenanceStatusResult(
            MaintenanceStatusResult {
                statuses: Some(self.statuses(&hosts)),
            },
        )))
    }

    /// endMaintenance: the request is deleted and the hosts go back to NONE; tasks stay where
    /// they were moved.
    pub(super) fn end_maintenance(&mut self, hosts: Option<Hosts>) -> Reply {
        let hosts = self.known_hosts(hosts);
        for &host in &hosts {
            let name = self.hosts[host].spec.name.clone();
            self.maintenance.forget(&name);
            self.set_mode(host, MaintenanceMode::NONE);
        }
        Ok(Some(Payload::EndMaintenanceResult(EndMaintenanceResult {
            statuses: Some(self.statuses(&hosts)),
        })))
    }

    /// Tries each drainable task of a host, in random order, moving those allowed to DRAINING.
    fn drain_tasks_on_host(&mut self, host: usize) {
        let name = self.hosts[host].spec.name.clone();
        let active = self.active_on_host(host);
        for id in self.ids.shuffled(active) {
            let allowed = {
                let Some(task) = self.tasks.get(&id).filter(|t| can_drain(t.status)) else {
                    continue;
                };
                let hosts = &self.hosts;
                let wire = |t: &Task| t.to_wire(hosts, true);
                let context = DrainContext {
                    cluster_name: &self.cluster_name,
                    flags: &self.flags,
                    job_active: self.tasks.active_of_job(&task.job),
                    wire: &wire,
                    now_ms: self.now,
                };
                self.maintenance.may_drain(task, &name, &context)
            };
            if allowed {
                self.transition(&id, ScheduleStatus::DRAINING, Some(DRAINING_MESSAGE.into()));
            }
        }
    }

    /// The periodic poll (§4.8 "Poller"), due at `at`: each DRAINING host without active tasks
    /// becomes DRAINED, the others have their tasks tried.
    pub(super) fn poll_maintenance(&mut self, at: i64) {
        self.maintenance.polled(at);
        let draining: Vec<usize> = (0..self.hosts.len())
            .filter(|i| self.hosts[*i].mode == MaintenanceMode::DRAINING)
            .collect();
        for host in draining {
            if self.active_on_host(host).is_empty() {
                self.set_mode(host, MaintenanceMode::DRAINED);
            } else {
                self.drain_tasks_on_host(host);
            }
        }
    }

    /// Drains the tasks coordinators allowed, if they are still drainable on a DRAINING host.
    /// Answers are taken only here, at the end of `advance`, so that a replay can apply each
    /// at the instant it was recorded (`take_applied_answers`).
    pub(super) fn apply_coordinator_answers(&mut self) {
        for (id, allows) in self.maintenance.coordinator_answers() {
            self.apply_coordinator_answer(&id, allows);
            self.applied_answers.push(CoordinatorAnswer {
                at_ms: self.now,
                task_id: id,
                allows,
            });
        }
    }

    fn apply_coordinator_answer(&mut self, id: &str, allows: bool) {
        let still_draining = self.tasks.get(id).is_some_and(|t| {
            can_drain(t.status)
                && t.host
                    .and_then(|h| self.hosts.get(h))
                    .is_some_and(|h| h.mode == MaintenanceMode::DRAINING)
        });
        if allows && still_draining {
            self.transition(id, ScheduleStatus::DRAINING, Some(DRAINING_MESSAGE.into()));
        }
    }

    /// The coordinator answers applied since the last time they were taken, oldest first.
    pub fn take_applied_answers(&mut self) -> Vec<CoordinatorAnswer> {
        std::mem::take(&mut self.applied_answers)
    }

    /// Applies an answer recorded earlier, at its virtual time, as `advance` applied it then.
    pub fn replay_coordinator_answer(&mut self, answer: &CoordinatorAnswer) {
        self.advance(answer.at_ms);
        self.apply_coordinator_answer(&answer.task_id, answer.allows);
        self.settle();
    }

    /// While replaying, coordinators are not asked: their answers then are in the record.
    pub fn set_replaying(&mut self, replaying: bool) {
        self.maintenance.set_asking(!replaying);
    }

    /// A task on `host` ended: a DRAINING host left without active tasks is DRAINED, and its
    /// request is done.
    pub(super) fn task_left_host(&mut self, host: usize) {
        let draining = self
            .hosts
            .get(host)
            .is_some_and(|h| h.mode == MaintenanceMode::DRAINING);
        if draining && self.active_on_host(host).is_empty() {
            let name = self.hosts[host].spec.name.clone();
            self.set_mode(host, MaintenanceMode::DRAINED);
            self.maintenance.forget(&name);
        }
    }

    /// Every host as the HTTP pages show it, after running the cluster up to `now_ms`.
    pub fn host_views(&mut self, now_ms: i64) -> Vec<HostView> {
        self.advance(now_ms);
        let query = TaskQuery {
            statuses: Some(ScheduleStatus::ACTIVE.to_vec()),
            ..TaskQuery::default()
        };
        let mut per_host: Vec<Vec<String>> = vec![Vec::new(); self.hosts.len()];
        for task in self.tasks.query(&query, &self.hosts) {
            if let Some(ids) = task.host.and_then(|h| per_host.get_mut(h)) {
                ids.push(task.id.clone());
            }
        }
        let mut views: Vec<HostView> = self
            .hosts
            .iter()
            .zip(per_host)
            .map(|(h, mut ids)| {
                ids.sort();
                HostView {
                    name: h.spec.name.clone(),
                    slave_id: h.slave_id.clone(),
                    mode: h.mode,
                    attributes: h.spec.attributes.clone(),
                    active_task_ids: ids,
                }
            })
            .collect();
        views.sort_by(|a, b| a.name.cmp(&b.name));
        views
    }

    pub fn cluster_name(&self) -> &str {
        &self.cluster_name
    }
}

#[cfg(test)]
mod tests {
    //! The calls driven directly at explicit virtual times, for what depends on the exact poll
    //! times (the conformance tests run them live).
    use super::*;
    use crate::api::methods::{Call, CreateJob, DrainHosts, MaintenanceStatus};
    use crate::api::types::{
        ExecutorConfig, JobConfiguration, JobKey, Resource, TaskConfig, AURORA_EXECUTOR_NAME,
    };
    use crate::sim::config::{ClusterSpec, HostResources, SimConfig};

    const T0: i64 = 1_700_000_000_000;
    const SEC: i64 = 1_000;

    fn scheduler() -> Scheduler {
        let cluster = ClusterSpec::generated(2, 1, &HostResources::default()).unwrap();
        Scheduler::new(&SimConfig::new(cluster)).unwrap()
    }

    fn mode(s: &mut Scheduler, host: &str, at: i64) -> MaintenanceMode {
        let call = Call::MaintenanceStatus(MaintenanceStatus {
            hosts: Some(Hosts {
                host_names: Some(vec![host.into()]),
            }),
        });
        match s.handle(call, "UNSECURE", at).result {
            Some(Payload::MaintenanceStatusResult(r)) => r.statuses.unwrap()[0].mode.unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_poll_runs_every_polling_interval_of_virtual_time() {
        // §4.8 Poller, default -host_maintenance_polling_interval of 1 min: an empty host put
        // DRAINING by slaDrainHosts is DRAINED at the first poll, a minute after the clock started.
        let mut s = scheduler();
        assert_eq!(mode(&mut s, "host-001", T0), MaintenanceMode::NONE);
        let call = Call::SlaDrainHosts(SlaDrainHosts {
            hosts: Some(Hosts {
                host_names: Some(vec!["host-001".into()]),
            }),
            default_sla_policy: None,
            timeout_secs: 0,
        });
        s.handle(call, "UNSECURE", T0 + 10 * SEC);
        assert_eq!(
            mode(&mut s, "host-001", T0 + 59 * SEC),
            MaintenanceMode::DRAINING
        );
        assert_eq!(
            mode(&mut s, "host-001", T0 + 60 * SEC),
            MaintenanceMode::DRAINED
        );
    }

    #[test]
    fn a_draining_host_is_drained_as_soon_as_its_last_task_ends() {
        // §4.8 DRAINING -> DRAINED when the last active task reaches a terminal state, without
        // waiting for the poll; here the kill grace period of 2 s after drainHosts.
        let mut s = scheduler();
        let job = JobKey::new("www-data", "prod", "web");
        let config = TaskConfig {
            job: Some(job.clone()),
            is_service: true,
            resources: Some(vec![
                Resource::NumCpus(1.0),
                Resource::RamMb(64),
                Resource::DiskMb(64),
            ]),
            executor_config: Some(ExecutorConfig {
                name: Some(AURORA_EXECUTOR_NAME.into()),
                data: Some("{}".into()),
            }),
            ..Default::default()
        };
        let create = Call::CreateJob(CreateJob {
            description: Some(JobConfiguration {
                key: Some(job),
                instance_count: 1,
                task_config: Some(config),
                ..Default::default()
            }),
        });
        s.handle(create, "UNSECURE", T0);
        let drain = Call::DrainHosts(DrainHosts {
            hosts: Some(Hosts {
                host_names: Some(vec!["host-001".into()]),
            }),
        });
        s.handle(drain, "UNSECURE", T0 + 5 * SEC);
        assert_eq!(
            mode(&mut s, "host-001", T0 + 6 * SEC),
            MaintenanceMode::DRAINING
        );
        assert_eq!(
            mode(&mut s, "host-001", T0 + 7 * SEC),
            MaintenanceMode::DRAINED
        );
    }
}
