//! Conformance of aurora-sim's host maintenance to api-reference §4.8 (and the plain HTTP pages
//! of http-endpoints.md), through the project's own client against a live simulator on 127.0.0.1
//! running 200x virtual time with a 5 s maintenance poll. Each test names the section it follows;
//! every wait is bounded. Timing claims are checked on the tasks' virtual event times.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aurora_ansible::api::client::{Client, ClientConfig, RetryPolicy};
use aurora_ansible::api::methods::*;
use aurora_ansible::api::types::*;
use aurora_ansible::sim::config::{ClusterSpec, HostResources, SimConfig};
use aurora_ansible::sim::server::{Leadership, RunningSim, ServerOptions};

const TIME_SCALE: f64 = 200.0;
/// Real time any one wait may take (200x: 10 s real is over half an hour of virtual time).
const WAIT: Duration = Duration::from_secs(10);
/// -host_maintenance_polling_interval in these tests (virtual).
const POLL_SECS: u64 = 5;
/// An SLA duration no task reaches during a test.
const NEVER_HEALTHY_SECS: i64 = 7_200;
/// A drain timeout no test reaches.
const NO_TIMEOUT_SECS: i64 = 7 * 24 * 3_600;
const DRAINING_MESSAGE: &str = "Draining machine for maintenance.";

struct Sim {
    sim: RunningSim,
    client: Client,
}

/// A sim of `hosts` hosts with the test poll interval and -min_required_instances_for_sla_check
/// lowered to 4, after `configure`.
fn sim_with(hosts: usize, cpus: f64, configure: impl FnOnce(&mut SimConfig)) -> Sim {
    let resources = HostResources {
        cpus,
        ..HostResources::default()
    };
    let cluster = ClusterSpec::generated(hosts, 1, &resources).unwrap();
    let mut config = SimConfig::new(cluster);
    config.flags.host_maintenance_polling_interval = Duration::from_secs(POLL_SECS);
    config.flags.min_required_instances_for_sla_check = 4;
    configure(&mut config);
    let sim = RunningSim::start(config, ServerOptions::default(), TIME_SCALE).unwrap();
    let mut client_config = ClientConfig::new(sim.url());
    client_config.retry = RetryPolicy::never();
    let client = Client::new(&client_config).unwrap();
    let s = Sim { sim, client };
    // Production jobs need quota (§4.9).
    s.client
        .call_ok(&SetQuota {
            owner_role: Some("www-data".into()),
            quota: Some(ResourceAggregate {
                resources: Some(vec![
                    Resource::NumCpus(1_000.0),
                    Resource::RamMb(1_000_000),
                    Resource::DiskMb(1_000_000),
                ]),
            }),
        })
        .unwrap();
    s
}

fn sim(hosts: usize) -> Sim {
    sim_with(hosts, 8.0, |_| {})
}

fn key(name: &str) -> JobKey {
    JobKey::new("www-data", "prod", name)
}

fn hosts(names: &[&str]) -> Option<Hosts> {
    Some(Hosts {
        host_names: Some(names.iter().map(|n| n.to_string()).collect()),
    })
}

fn count_policy(count: i64, duration_secs: i64) -> SlaPolicy {
    SlaPolicy::CountSlaPolicy(CountSlaPolicy {
        count,
        duration_secs,
    })
}

fn percentage_policy(percentage: f64, duration_secs: i64) -> SlaPolicy {
    SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
        percentage,
        duration_secs,
    })
}

/// A service job: `tier` decides production (`preferred`) or not (`preemptible`).
struct JobSpec<'a> {
    name: &'a str,
    instances: i32,
    tier: &'a str,
    cpus: f64,
    sla_policy: Option<SlaPolicy>,
}

impl<'a> JobSpec<'a> {
    fn new(name: &'a str, instances: i32) -> Self {
        JobSpec {
            name,
            instances,
            tier: "preemptible",
            cpus: 0.25,
            sla_policy: None,
        }
    }

    fn production(self) -> Self {
        JobSpec {
            tier: "preferred",
            ..self
        }
    }
}

fn host_of(t: &ScheduledTask) -> Option<String> {
    t.assigned_task.as_ref().and_then(|a| a.slave_host.clone())
}

fn id_of(t: &ScheduledTask) -> String {
    t.assigned_task
        .as_ref()
        .and_then(|a| a.task_id.clone())
        .unwrap_or_default()
}

fn status_of(t: &ScheduledTask) -> ScheduleStatus {
    t.status.unwrap()
}

/// Virtual time of the task's latest event in `status`.
fn event_time(t: &ScheduledTask, status: ScheduleStatus) -> Option<i64> {
    t.task_events
        .iter()
        .flatten()
        .rev()
        .find(|e| e.status == Some(status))
        .map(|e| e.timestamp)
}

fn event_message(t: &ScheduledTask, status: ScheduleStatus) -> Option<String> {
    t.task_events
        .iter()
        .flatten()
        .find(|e| e.status == Some(status))
        .and_then(|e| e.message.clone())
}

fn sorted(mut statuses: Vec<HostStatus>) -> Vec<(String, MaintenanceMode)> {
    statuses.sort_by(|a, b| a.host.cmp(&b.host));
    statuses
        .into_iter()
        .map(|s| (s.host.unwrap(), s.mode.unwrap()))
        .collect()
}

fn pairs(expected: &[(&str, MaintenanceMode)]) -> Vec<(String, MaintenanceMode)> {
    expected.iter().map(|(h, m)| (h.to_string(), *m)).collect()
}

/// Sleeps `virtual_secs` of virtual time (the clock is wall-clock based, so this is a bound).
fn sleep_virtual(virtual_secs: u64) {
    std::thread::sleep(Duration::from_secs_f64(virtual_secs as f64 / TIME_SCALE));
}

impl Sim {
    fn create(&self, spec: JobSpec) {
        let config = TaskConfig {
            job: Some(key(spec.name)),
            is_service: true,
            max_task_failures: 1,
            tier: Some(spec.tier.into()),
            resources: Some(vec![
                Resource::NumCpus(spec.cpus),
                Resource::RamMb(64),
                Resource::DiskMb(64),
            ]),
            executor_config: Some(ExecutorConfig {
                name: Some(AURORA_EXECUTOR_NAME.into()),
                data: Some(format!(r#"{{"name":"{}"}}"#, spec.name)),
            }),
            sla_policy: spec.sla_policy,
            ..TaskConfig::default()
        };
        let r = self
            .client
            .call(&CreateJob {
                description: Some(JobConfiguration {
                    key: Some(key(spec.name)),
                    instance_count: spec.instances,
                    task_config: Some(config),
                    ..JobConfiguration::default()
                }),
            })
            .unwrap();
        assert_eq!(r.response_code, Some(ResponseCode::OK), "{:?}", r.details);
    }

    fn tasks(&self, query: TaskQuery) -> Vec<ScheduledTask> {
        match self
            .client
            .call_ok(&GetTasksStatus { query: Some(query) })
            .unwrap()
            .result
        {
            Some(Result::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    }

    fn tasks_of(&self, name: &str) -> Vec<ScheduledTask> {
        self.tasks(TaskQuery {
            job_keys: Some(vec![key(name)]),
            ..TaskQuery::default()
        })
    }

    fn active_on(&self, host: &str) -> Vec<ScheduledTask> {
        self.tasks(TaskQuery {
            slave_hosts: Some(vec![host.into()]),
            statuses: Some(ScheduleStatus::ACTIVE.to_vec()),
            ..TaskQuery::default()
        })
    }

    /// Polls until `done` holds (bounded), describing the cluster if it never does.
    fn wait_until(&self, what: &str, mut done: impl FnMut(&Sim) -> bool) {
        let started = Instant::now();
        while !done(self) {
            assert!(
                started.elapsed() < WAIT,
                "never saw: {what}; tasks: {:#?}",
                self.tasks(TaskQuery::default())
                    .iter()
                    .map(|t| (id_of(t), host_of(t), status_of(t)))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_running(&self, name: &str, instances: usize) {
        self.wait_until(&format!("{instances} tasks of {name} RUNNING"), |s| {
            s.tasks_of(name)
                .iter()
                .filter(|t| status_of(t) == ScheduleStatus::RUNNING)
                .count()
                == instances
        });
    }

    fn wait_mode(&self, host: &str, mode: MaintenanceMode) {
        self.wait_until(&format!("{host} in {mode}"), |s| {
            s.status(&[host]) == pairs(&[(host, mode)])
        });
    }

    fn statuses_of(&self, r: Response) -> Vec<(String, MaintenanceMode)> {
        assert_eq!(r.response_code, Some(ResponseCode::OK), "{:?}", r.details);
        let statuses = match r.result {
            Some(Result::StartMaintenanceResult(s)) => s.statuses,
            Some(Result::DrainHostsResult(s)) => s.statuses,
            Some(Result::MaintenanceStatusResult(s)) => s.statuses,
            Some(Result::EndMaintenanceResult(s)) => s.statuses,
            other => panic!("{other:?}"),
        };
        sorted(statuses.unwrap_or_default())
    }

    fn start_maintenance(&self, names: &[&str]) -> Vec<(String, MaintenanceMode)> {
        self.statuses_of(
            self.client
                .call(&StartMaintenance {
                    hosts: hosts(names),
                })
                .unwrap(),
        )
    }

    fn drain(&self, names: &[&str]) -> Vec<(String, MaintenanceMode)> {
        self.statuses_of(
            self.client
                .call(&DrainHosts {
                    hosts: hosts(names),
                })
                .unwrap(),
        )
    }

    fn sla_drain(
        &self,
        names: &[&str],
        policy: Option<SlaPolicy>,
        timeout_secs: i64,
    ) -> Vec<(String, MaintenanceMode)> {
        self.statuses_of(
            self.client
                .call(&SlaDrainHosts {
                    hosts: hosts(names),
                    default_sla_policy: policy,
                    timeout_secs,
                })
                .unwrap(),
        )
    }

    fn status(&self, names: &[&str]) -> Vec<(String, MaintenanceMode)> {
        self.statuses_of(
            self.client
                .call(&MaintenanceStatus {
                    hosts: hosts(names),
                })
                .unwrap(),
        )
    }

    fn end_maintenance(&self, names: &[&str]) -> Vec<(String, MaintenanceMode)> {
        self.statuses_of(
            self.client
                .call(&EndMaintenance {
                    hosts: hosts(names),
                })
                .unwrap(),
        )
    }

    /// The scheduler's virtual time now, read from the PENDING event of a throwaway task too big
    /// to be placed anywhere (a lower bound for anything the next call does).
    fn virtual_now(&self, probe: &str) -> i64 {
        self.create(JobSpec {
            cpus: 1_000.0,
            ..JobSpec::new(probe, 1)
        });
        let tasks = self.tasks_of(probe);
        event_time(&tasks[0], ScheduleStatus::PENDING).unwrap()
    }

    /// The tasks of `name` that were on `host` and were drained, with their DRAINING times.
    fn drained_from(&self, name: &str, host: &str) -> Vec<(ScheduledTask, i64)> {
        let mut drained: Vec<(ScheduledTask, i64)> = self
            .tasks_of(name)
            .into_iter()
            .filter(|t| host_of(t).as_deref() == Some(host))
            .filter_map(|t| event_time(&t, ScheduleStatus::DRAINING).map(|at| (t, at)))
            .collect();
        drained.sort_by_key(|(_, at)| *at);
        drained
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::blocking::Response {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only(Vec::new())
            .timeout(WAIT)
            .build()
            .unwrap();
        let mut request = client.get(format!("{}{path}", self.sim.url()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().unwrap()
    }
}

#[test]
fn unknown_hosts_are_dropped_silently_by_every_call() {
    // §4.8: all calls ignore unknown hosts, answer OK and list known hosts only (§6.1 item 10).
    let s = sim(2);
    let names = ["host-001", "no-such-host", "host-001"];
    let only = |mode| pairs(&[("host-001", mode)]);
    assert_eq!(
        s.start_maintenance(&names),
        only(MaintenanceMode::SCHEDULED)
    );
    assert_eq!(s.status(&names), only(MaintenanceMode::SCHEDULED));
    assert_eq!(
        s.sla_drain(&names, Some(percentage_policy(95.0, 1800)), 60),
        only(MaintenanceMode::DRAINING)
    );
    assert_eq!(s.drain(&names), only(MaintenanceMode::DRAINED));
    assert_eq!(s.end_maintenance(&names), only(MaintenanceMode::NONE));
    assert!(s.status(&["no-such-host"]).is_empty());
    let r = s.client.call(&MaintenanceStatus { hosts: None }).unwrap();
    assert!(s.statuses_of(r).is_empty(), "no hosts named: empty reply");
}

#[test]
fn maintenance_status_reports_the_current_mode_of_known_hosts() {
    // §4.8 maintenanceStatus: read only; hosts never put in maintenance are NONE.
    let s = sim(3);
    s.start_maintenance(&["host-002"]);
    s.drain(&["host-003"]);
    assert_eq!(
        s.status(&["host-003", "host-001", "host-002"]),
        pairs(&[
            ("host-001", MaintenanceMode::NONE),
            ("host-002", MaintenanceMode::SCHEDULED),
            ("host-003", MaintenanceMode::DRAINED),
        ])
    );
}

#[test]
fn start_maintenance_schedules_from_any_mode_and_scheduled_hosts_are_used_last() {
    // §4.8 startMaintenance: mode := SCHEDULED from any mode, tasks untouched; a SCHEDULED host is
    // offered to tasks last (§3.1 MaintenanceMode).
    let s = sim(2);
    s.create(JobSpec::new("web", 1));
    s.wait_running("web", 1);
    let busy = host_of(&s.tasks_of("web")[0]).unwrap();
    assert_eq!(
        s.start_maintenance(&[&busy]),
        pairs(&[(&busy, MaintenanceMode::SCHEDULED)])
    );
    assert_eq!(status_of(&s.tasks_of("web")[0]), ScheduleStatus::RUNNING);
    s.drain(&["host-001", "host-002"]);
    for name in ["host-001", "host-002"] {
        s.wait_mode(name, MaintenanceMode::DRAINED);
    }
    assert_eq!(
        s.start_maintenance(&["host-001", "host-002"]),
        pairs(&[
            ("host-001", MaintenanceMode::SCHEDULED),
            ("host-002", MaintenanceMode::SCHEDULED)
        ]),
        "DRAINED -> SCHEDULED"
    );
    s.sla_drain(&["host-001"], None, NO_TIMEOUT_SECS);
    assert_eq!(
        s.start_maintenance(&["host-001"]),
        pairs(&[("host-001", MaintenanceMode::SCHEDULED)]),
        "DRAINING -> SCHEDULED"
    );
    s.end_maintenance(&["host-002"]);
    s.create(JobSpec::new("next", 1));
    s.wait_running("next", 1);
    assert_eq!(
        host_of(&s.tasks_of("next")[0]).as_deref(),
        Some("host-002"),
        "the host in NONE is preferred over the SCHEDULED one"
    );
}

#[test]
fn drain_hosts_on_an_empty_host_drains_it_at_once() {
    // §4.8 drainHosts: a host with no active tasks goes straight to DRAINED (§6.1 item 9).
    let s = sim(2);
    assert_eq!(
        s.drain(&["host-002"]),
        pairs(&[("host-002", MaintenanceMode::DRAINED)])
    );
    assert_eq!(
        s.status(&["host-002"]),
        pairs(&[("host-002", MaintenanceMode::DRAINED)])
    );
}

#[test]
fn drain_hosts_on_a_busy_host_drains_its_tasks_and_reschedules_them_elsewhere() {
    // §4.8 drainHosts: DRAINING, every active task moved to DRAINING at once (§4.7: kill, then a
    // replacement with ancestorId placed elsewhere); DRAINED once the last task has ended.
    let s = sim(2);
    s.create(JobSpec::new("web", 4));
    s.wait_running("web", 4);
    let before: Vec<ScheduledTask> = s.active_on("host-001");
    assert_eq!(before.len(), 2);
    assert_eq!(
        s.drain(&["host-001"]),
        pairs(&[("host-001", MaintenanceMode::DRAINING)])
    );
    let tasks = s.tasks_of("web");
    for old in &before {
        let now = tasks.iter().find(|t| id_of(t) == id_of(old)).unwrap();
        assert_eq!(
            event_message(now, ScheduleStatus::DRAINING).as_deref(),
            Some(DRAINING_MESSAGE),
            "moved to DRAINING by the call"
        );
    }
    s.wait_mode("host-001", MaintenanceMode::DRAINED);
    s.wait_running("web", 4);
    let tasks = s.tasks_of("web");
    for old in &before {
        let ended = tasks.iter().find(|t| id_of(t) == id_of(old)).unwrap();
        assert_eq!(status_of(ended), ScheduleStatus::KILLED);
        let replacement = tasks
            .iter()
            .find(|t| t.ancestor_id.as_deref() == Some(id_of(old).as_str()))
            .expect("a replacement");
        assert_eq!(host_of(replacement).as_deref(), Some("host-002"));
        assert_eq!(status_of(replacement), ScheduleStatus::RUNNING);
    }
    assert!(s.active_on("host-001").is_empty());
}

#[test]
fn a_drain_without_room_elsewhere_leaves_replacements_pending() {
    // §4.8: DRAINING and DRAINED hosts receive no new tasks, so with no room elsewhere the
    // replacements stay PENDING (getPendingReason names the vetoes), and are placed once the host
    // is back in service.
    let s = sim_with(2, 0.25, |_| {});
    s.create(JobSpec::new("web", 2));
    s.wait_running("web", 2);
    s.drain(&["host-001"]);
    s.wait_mode("host-001", MaintenanceMode::DRAINED);
    let pending: Vec<ScheduledTask> = s
        .tasks_of("web")
        .into_iter()
        .filter(|t| status_of(t) == ScheduleStatus::PENDING)
        .collect();
    assert_eq!(pending.len(), 1);
    let reasons = match s
        .client
        .call_ok(&GetPendingReason {
            query: Some(TaskQuery {
                job_keys: Some(vec![key("web")]),
                ..TaskQuery::default()
            }),
        })
        .unwrap()
        .result
    {
        Some(Result::GetPendingReasonResult(r)) => r.reasons.unwrap(),
        other => panic!("{other:?}"),
    };
    let reason = reasons[0].reason.clone().unwrap();
    assert!(
        reason.contains("DRAINED") && reason.contains("Insufficient CPU"),
        "{reason}"
    );
    s.end_maintenance(&["host-001"]);
    s.wait_running("web", 2);
    assert_eq!(s.active_on("host-001").len(), 1);
}

#[test]
fn sla_drain_sets_even_empty_hosts_draining_and_the_poll_drains_them() {
    // §4.8 slaDrainHosts: DRAINING for every known host, even empty ones, which become DRAINED
    // at the next poll (§6.1 item 9); busy hosts are drained by the poll, not by the call.
    let s = sim(3);
    s.create(JobSpec::new("web", 1));
    s.wait_running("web", 1);
    let busy = host_of(&s.tasks_of("web")[0]).unwrap();
    let empty = if busy == "host-002" {
        "host-003"
    } else {
        "host-002"
    };
    let asked_at = s.virtual_now("clock");
    let mut expected = pairs(&[
        (&busy, MaintenanceMode::DRAINING),
        (empty, MaintenanceMode::DRAINING),
    ]);
    expected.sort();
    assert_eq!(
        s.sla_drain(&[&busy, empty], Some(percentage_policy(95.0, 1800)), 60),
        expected
    );
    s.wait_mode(empty, MaintenanceMode::DRAINED);
    s.wait_mode(&busy, MaintenanceMode::DRAINED);
    let drained = s.drained_from("web", &busy);
    assert_eq!(drained.len(), 1);
    // Non-production, single-instance: the check is skipped, so the first poll drains it.
    let at = drained[0].1;
    assert!(
        at > asked_at && at <= asked_at + (POLL_SECS as i64 + 2) * 1_000,
        "drained at +{} ms",
        at - asked_at
    );
}

/// A production job of 4 instances on 2 hosts, all RUNNING for longer than 60 s; `policy` (over
/// 60 s) passed as the default of an SLA drain of host-001 must drain its two tasks one at a
/// time: the second only once the first one's replacement has run for 60 s.
fn assert_drained_one_at_a_time(policy: SlaPolicy) {
    let s = sim(2);
    s.create(JobSpec::new("web", 4).production());
    s.wait_running("web", 4);
    sleep_virtual(90);
    s.sla_drain(&["host-001"], Some(policy), NO_TIMEOUT_SECS);
    s.wait_mode("host-001", MaintenanceMode::DRAINED);
    let drained = s.drained_from("web", "host-001");
    assert_eq!(drained.len(), 2, "both tasks of host-001 drained");
    let (first, first_at) = &drained[0];
    let second_at = drained[1].1;
    let tasks = s.tasks_of("web");
    let replacement = tasks
        .iter()
        .find(|t| t.ancestor_id.as_deref() == Some(id_of(first).as_str()))
        .expect("a replacement of the first drained task");
    let healthy_at = event_time(replacement, ScheduleStatus::RUNNING).unwrap() + 60_000;
    assert!(
        second_at > healthy_at,
        "second drained at +{} ms, replacement healthy at +{} ms",
        second_at - first_at,
        healthy_at - first_at
    );
    assert!(
        second_at <= healthy_at + (POLL_SECS as i64 + 2) * 1_000,
        "let through at the first poll after"
    );
}

#[test]
fn count_policy_holds_a_drain_back_until_the_job_is_healthy_again() {
    // §4.8 SLA check: Count passes when healthy (RUNNING longer than durationSecs, the drained
    // task not counted) >= count; 3 of 4.
    assert_drained_one_at_a_time(count_policy(3, 60));
}

#[test]
fn percentage_policy_holds_a_drain_back_until_the_job_is_healthy_again() {
    // §4.8 SLA check: Percentage passes when healthy/total*100 >= percentage; 75 % of 4.
    assert_drained_one_at_a_time(percentage_policy(75.0, 60));
}

#[test]
fn a_policy_that_lets_no_instance_down_is_relaxed_to_let_one_down() {
    // §4.8: a policy allowing no instance down at all is relaxed to allow exactly one
    // (100 % of 4 acts as 75 %, count 4 as 3); without that nothing would ever drain here.
    assert_drained_one_at_a_time(percentage_policy(100.0, 60));
}

#[test]
fn jobs_with_fewer_instances_than_the_minimum_are_not_checked() {
    // §4.8 skip rule: fewer active tasks than -min_required_instances_for_sla_check (4 here).
    let s = sim(2);
    s.create(JobSpec::new("small", 3).production());
    s.wait_running("small", 3);
    s.sla_drain(
        &["host-001"],
        Some(percentage_policy(100.0, NEVER_HEALTHY_SECS)),
        NO_TIMEOUT_SECS,
    );
    s.wait_mode("host-001", MaintenanceMode::DRAINED);
    let drained = s.drained_from("small", "host-001");
    assert_eq!(drained.len(), 2);
    assert_eq!(drained[0].1, drained[1].1, "both at the same poll");
}

#[test]
fn non_production_jobs_are_not_checked_unless_sla_aware_kill_non_prod() {
    // §4.8 skip rule: a non-production tier skips the check, unless -sla_aware_kill_non_prod.
    let policy = Some(percentage_policy(100.0, NEVER_HEALTHY_SECS));
    let skipped = sim(2);
    skipped.create(JobSpec::new("batchy", 4));
    skipped.wait_running("batchy", 4);
    skipped.sla_drain(&["host-001"], policy.clone(), NO_TIMEOUT_SECS);
    skipped.wait_mode("host-001", MaintenanceMode::DRAINED);
    let drained = skipped.drained_from("batchy", "host-001");
    assert_eq!(drained.len(), 2);
    assert_eq!(drained[0].1, drained[1].1, "both at the same poll");

    let checked = sim_with(2, 8.0, |c| c.flags.sla_aware_kill_non_prod = true);
    checked.create(JobSpec::new("batchy", 4));
    checked.wait_running("batchy", 4);
    checked.sla_drain(&["host-001"], policy, NO_TIMEOUT_SECS);
    sleep_virtual(8 * POLL_SECS);
    assert!(checked.drained_from("batchy", "host-001").is_empty());
    let held = checked.active_on("host-001");
    assert_eq!(held.len(), 2);
    assert!(held.iter().all(|t| status_of(t) == ScheduleStatus::RUNNING));
    assert_eq!(
        checked.status(&["host-001"]),
        pairs(&[("host-001", MaintenanceMode::DRAINING)])
    );
}

#[test]
fn a_drain_is_forced_once_timeout_secs_have_passed() {
    // §4.8 "Draining one task": after timeoutSecs the task is drained without any check.
    let s = sim(2);
    s.create(JobSpec::new("web", 4).production());
    s.wait_running("web", 4);
    let asked_at = s.virtual_now("clock");
    s.sla_drain(
        &["host-001"],
        Some(percentage_policy(100.0, NEVER_HEALTHY_SECS)),
        60,
    );
    s.wait_mode("host-001", MaintenanceMode::DRAINED);
    let drained = s.drained_from("web", "host-001");
    assert_eq!(drained.len(), 2);
    assert_eq!(drained[0].1, drained[1].1, "forced together at one poll");
    let after = drained[0].1 - asked_at;
    assert!(
        (61_000..61_000 + 30_000).contains(&after),
        "forced {after} ms after the request"
    );
}

#[test]
fn a_tasks_own_sla_policy_wins_over_the_default() {
    // §4.8 "Draining one task": policy = the task's own slaPolicy if set, else the default.
    let s = sim(2);
    s.create(JobSpec {
        sla_policy: Some(count_policy(3, NEVER_HEALTHY_SECS)),
        ..JobSpec::new("strict", 4).production()
    });
    s.create(JobSpec::new("loose", 4).production());
    s.wait_running("strict", 4);
    s.wait_running("loose", 4);
    s.sla_drain(
        &["host-001"],
        Some(percentage_policy(0.0, 0)),
        NO_TIMEOUT_SECS,
    );
    s.wait_until("loose drained from host-001", |s| {
        s.drained_from("loose", "host-001").len() == 2
    });
    sleep_virtual(4 * POLL_SECS);
    assert!(s.drained_from("strict", "host-001").is_empty());
    let left: Vec<String> = s
        .active_on("host-001")
        .iter()
        .map(|t| {
            t.assigned_task
                .as_ref()
                .unwrap()
                .task
                .as_ref()
                .unwrap()
                .job
                .clone()
                .unwrap()
                .name
                .unwrap()
        })
        .collect();
    assert_eq!(left, ["strict", "strict"]);
}

#[test]
fn drain_hosts_checks_a_tasks_own_policy_once_then_forces_it_at_the_next_poll() {
    // §4.8 drainHosts records a 0 % policy with a 0 s timeout: a task with its own policy is
    // checked against it during the call, then forced by the poll (client-reference §5.2).
    let s = sim(2);
    s.create(JobSpec {
        sla_policy: Some(count_policy(3, NEVER_HEALTHY_SECS)),
        ..JobSpec::new("strict", 4).production()
    });
    s.create(JobSpec::new("loose", 4).production());
    s.wait_running("strict", 4);
    s.wait_running("loose", 4);
    s.drain(&["host-001"]);
    s.wait_mode("host-001", MaintenanceMode::DRAINED);
    let loose = s.drained_from("loose", "host-001");
    let strict = s.drained_from("strict", "host-001");
    assert_eq!((loose.len(), strict.len()), (2, 2));
    assert_eq!(loose[0].1, loose[1].1, "drained by the call itself");
    assert!(
        strict[0].1 > loose[0].1 && strict[0].1 <= loose[0].1 + (2 * POLL_SECS as i64 + 2) * 1_000,
        "strict drained {} ms after the call",
        strict[0].1 - loose[0].1
    );
}

/// A coordinator on 127.0.0.1 answering `{"drain": <answer>}`, recording what it was asked.
struct Coordinator {
    url: String,
    answer: Arc<AtomicBool>,
    /// (path with query, body) of each request.
    requests: Arc<Mutex<Vec<(String, String)>>>,
    most_at_once: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Coordinator {
    fn start(answer: bool) -> Coordinator {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/coordinator", listener.local_addr().unwrap());
        let answer = Arc::new(AtomicBool::new(answer));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let most_at_once = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (answer, requests, most_at_once, stop) = (
                answer.clone(),
                requests.clone(),
                most_at_once.clone(),
                stop.clone(),
            );
            move || {
                let in_flight = Arc::new(AtomicUsize::new(0));
                let mut handlers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (answer, requests, most_at_once, in_flight) = (
                                answer.clone(),
                                requests.clone(),
                                most_at_once.clone(),
                                in_flight.clone(),
                            );
                            handlers.push(std::thread::spawn(move || {
                                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                                most_at_once.fetch_max(now, Ordering::SeqCst);
                                // Slow enough for a second question to overlap, were one sent.
                                std::thread::sleep(Duration::from_millis(20));
                                let _ = serve_one(stream, answer.load(Ordering::SeqCst), &requests);
                                in_flight.fetch_sub(1, Ordering::SeqCst);
                            }));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
                for handler in handlers {
                    let _ = handler.join();
                }
            }
        });
        Coordinator {
            url,
            answer,
            requests,
            most_at_once,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one HTTP/1.1 request (headers, then Content-Length bytes) and answers it.
fn serve_one(
    mut stream: TcpStream,
    answer: bool,
    requests: &Mutex<Vec<(String, String)>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..header_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < header_end + length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let target = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_string();
    let body = String::from_utf8_lossy(&data[header_end..]).to_string();
    requests.lock().unwrap().push((target, body));
    let reply = format!("{{\"drain\": {answer}}}");
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    )?;
    stream.flush()
}

#[test]
fn a_coordinator_decides_each_drain_and_is_asked_one_task_at_a_time() {
    // §4.8 Coordinator policy: POST to coordinatorUrl with ?task=<cluster>/<role>/<env>/<name>/
    // <instance> and a JSON body {taskConfig, task, forceMaintenanceCountdownMs}; {"drain": true}
    // allows the drain, anything else holds it for a later poll; one request per URL at a time.
    let coordinator = Coordinator::start(false);
    let s = sim(2);
    s.create(JobSpec::new("web", 4));
    s.wait_running("web", 4);
    let on_host: Vec<ScheduledTask> = s.active_on("host-001");
    let policy = SlaPolicy::CoordinatorSlaPolicy(CoordinatorSlaPolicy {
        coordinator_url: Some(coordinator.url.clone()),
        status_key: None,
    });
    s.sla_drain(&["host-001"], Some(policy), NO_TIMEOUT_SECS);
    s.wait_until("the coordinator asked three times", |_| {
        coordinator.requests().len() >= 3
    });
    assert!(
        s.drained_from("web", "host-001").is_empty(),
        "denied drains wait"
    );
    let (target, body) = coordinator.requests()[0].clone();
    let instances: Vec<i32> = on_host
        .iter()
        .map(|t| t.assigned_task.as_ref().unwrap().instance_id)
        .collect();
    let task_key = target
        .strip_prefix("/coordinator?task=")
        .unwrap_or_else(|| panic!("{target}"))
        .replace("%2F", "/");
    assert!(
        instances
            .iter()
            .any(|i| task_key == format!("devcluster/www-data/prod/web/{i}")),
        "{task_key} names a task of host-001 ({instances:?})"
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["task"], serde_json::json!(task_key));
    let countdown: i64 = body["forceMaintenanceCountdownMs"]
        .as_str()
        .expect("the countdown is a string")
        .parse()
        .unwrap();
    assert!(countdown > 0 && countdown <= NO_TIMEOUT_SECS * 1_000);
    let asked_id = body["taskConfig"]["assignedTask"]["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(on_host.iter().any(|t| id_of(t) == asked_id));
    assert_eq!(
        body["taskConfig"]["assignedTask"]["slaveHost"],
        serde_json::json!("host-001")
    );

    coordinator.answer.store(true, Ordering::SeqCst);
    s.wait_mode("host-001", MaintenanceMode::DRAINED);
    assert_eq!(s.drained_from("web", "host-001").len(), 2);
    assert_eq!(
        coordinator.most_at_once.load(Ordering::SeqCst),
        1,
        "never two questions to one coordinator at once"
    );
}

#[test]
fn end_maintenance_returns_hosts_to_none_and_leaves_tasks_where_they_went() {
    // §4.8 endMaintenance: request deleted, mode := NONE; tasks are not moved back.
    let s = sim(2);
    s.create(JobSpec::new("web", 2));
    s.wait_running("web", 2);
    s.drain(&["host-001"]);
    s.wait_mode("host-001", MaintenanceMode::DRAINED);
    s.wait_running("web", 2);
    assert_eq!(
        s.end_maintenance(&["host-001"]),
        pairs(&[("host-001", MaintenanceMode::NONE)])
    );
    sleep_virtual(4 * POLL_SECS);
    assert!(s.active_on("host-001").is_empty());
    assert_eq!(s.active_on("host-002").len(), 2);
    assert_eq!(
        s.status(&["host-001"]),
        pairs(&[("host-001", MaintenanceMode::NONE)])
    );
}

#[test]
fn health_answers_ok_and_leaderhealth_200_on_the_leader() {
    // http-endpoints.md /health and /leaderhealth (api-reference §1.5).
    let s = sim(1);
    let health = s.get("/health", &[]);
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().unwrap(), "OK");
    assert_eq!(s.get("/leaderhealth", &[]).status(), 200);
}

#[test]
fn a_non_leader_answers_503_on_leaderhealth_and_redirects_the_host_pages() {
    // http-endpoints.md: the host pages sit behind the leader-redirect filter (§1.5); /health
    // answers on any live process; /leaderhealth is 503 on a non-leader, 502 with no leader.
    let cluster = ClusterSpec::generated(1, 1, &HostResources::default()).unwrap();
    let options = ServerOptions {
        leadership: Leadership::RedirectTo("http://127.0.0.1:1".into()),
        ..ServerOptions::default()
    };
    let sim = RunningSim::start(SimConfig::new(cluster.clone()), options, TIME_SCALE).unwrap();
    let client = Client::new(&ClientConfig::new(sim.url())).unwrap();
    let s = Sim { sim, client };
    assert_eq!(s.get("/health", &[]).status(), 200);
    assert_eq!(s.get("/leaderhealth", &[]).status(), 503);
    for page in ["/maintenance", "/agents"] {
        let r = s.get(page, &[]);
        assert_eq!(r.status(), 307, "{page}");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(location, format!("http://127.0.0.1:1{page}"));
        let bypass = s.get(page, &[(BYPASS_LEADER_REDIRECT_HEADER_NAME, "true")]);
        assert_eq!(bypass.status(), 200, "{page} with the bypass header");
    }

    let options = ServerOptions {
        leadership: Leadership::NoLeader,
        ..ServerOptions::default()
    };
    let sim = RunningSim::start(SimConfig::new(cluster), options, TIME_SCALE).unwrap();
    let client = Client::new(&ClientConfig::new(sim.url())).unwrap();
    let s = Sim { sim, client };
    assert_eq!(s.get("/leaderhealth", &[]).status(), 502);
    assert_eq!(s.get("/maintenance", &[]).status(), 503);
}

#[test]
fn maintenance_page_lists_hosts_by_mode_with_the_tasks_of_draining_hosts() {
    // http-endpoints.md /maintenance: DRAINED and SCHEDULED list host names, DRAINING maps each
    // draining host to its task ids; hosts in NONE are not listed.
    let s = sim(4);
    s.create(JobSpec::new("web", 1));
    s.wait_running("web", 1);
    let task = s.tasks_of("web").remove(0);
    assert_eq!(host_of(&task).as_deref(), Some("host-001"));
    // Without any policy the drain waits (§4.8), so host-001 stays DRAINING with its task.
    s.sla_drain(&["host-001"], None, NO_TIMEOUT_SECS);
    s.start_maintenance(&["host-002"]);
    s.drain(&["host-003"]);
    let page = s.get("/maintenance", &[]);
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let json: serde_json::Value = serde_json::from_str(&page.text().unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "DRAINED": ["host-003"],
            "SCHEDULED": ["host-002"],
            "DRAINING": {"host-001": [id_of(&task)]},
        })
    );
}

#[test]
fn agents_page_has_a_row_per_host_with_mode_and_sorted_attributes() {
    // http-endpoints.md /agents: title `Aurora <cluster> agents`; Host (linked to port 1338),
    // Agent ID, Maintenance mode, Attributes as `name=[v1,v2], other=[v]` sorted by name.
    let cluster = ClusterSpec::parse(
        "hosts:\n  - name: b-host\n    attributes: {zone: [a, b], rack: r2}\n  - name: a-host\n    attributes: {rack: r1}\n",
    )
    .unwrap();
    let sim = RunningSim::start(
        SimConfig::new(cluster),
        ServerOptions::default(),
        TIME_SCALE,
    )
    .unwrap();
    let client = Client::new(&ClientConfig::new(sim.url())).unwrap();
    let s = Sim { sim, client };
    s.drain(&["b-host"]);
    let page = s.get("/agents", &[]);
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().unwrap();
    assert!(
        html.contains("<title>Aurora devcluster agents</title>"),
        "{html}"
    );
    for header in ["Host", "Agent ID", "Maintenance mode", "Attributes"] {
        assert!(html.contains(&format!("<th>{header}</th>")), "{html}");
    }
    let row = |host: &str, agent: &str, mode: &str, attributes: &str| {
        format!(
            "<td><a href=\"http://{host}:1338\">{host}</a></td>\n          <td>{agent}</td>\n          <td>{mode}</td>\n          <td>{attributes}</td>"
        )
    };
    let b = row(
        "b-host",
        "b-host-agent-0",
        "DRAINED",
        "host=[b-host], rack=[r2], zone=[a,b]",
    );
    let a = row(
        "a-host",
        "a-host-agent-1",
        "NONE",
        "host=[a-host], rack=[r1]",
    );
    assert!(html.contains(&a) && html.contains(&b), "{html}");
    assert!(html.find(&a) < html.find(&b), "rows by host name");
}
