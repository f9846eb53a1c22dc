//! Conformance of aurora-sim's scheduler to api-reference §4 (job lifecycle, validation, tasks,
//! quota), through the project's own client against a live simulator on 127.0.0.1 running 200x
//! virtual time. Each test names the section it follows.

use std::time::{Duration, Instant};

use aurora_ansible::api::client::{Client, ClientConfig, RetryPolicy};
use aurora_ansible::api::methods::*;
use aurora_ansible::api::types::*;
use aurora_ansible::sim::config::{ClusterSpec, HostResources, SimConfig};
use aurora_ansible::sim::server::{RunningSim, ServerOptions};

struct Sim {
    _sim: RunningSim,
    client: Client,
}

fn sim_with(config: SimConfig) -> Sim {
    let sim = RunningSim::start(config, ServerOptions::default(), 200.0).unwrap();
    let mut client_config = ClientConfig::new(sim.url());
    client_config.retry = RetryPolicy::never();
    let client = Client::new(&client_config).unwrap();
    Sim { _sim: sim, client }
}

fn sim() -> Sim {
    sim_with(SimConfig::new(
        ClusterSpec::generated(3, 1, &HostResources::default()).unwrap(),
    ))
}

fn key(name: &str) -> JobKey {
    JobKey::new("www-data", "prod", name)
}

fn job(name: &str, instances: i32) -> JobConfiguration {
    JobConfiguration {
        key: Some(key(name)),
        instance_count: instances,
        task_config: Some(TaskConfig {
            job: Some(key(name)),
            is_service: true,
            max_task_failures: 1,
            resources: Some(vec![
                Resource::NumCpus(0.5),
                Resource::RamMb(128),
                Resource::DiskMb(128),
            ]),
            executor_config: Some(ExecutorConfig {
                name: Some(AURORA_EXECUTOR_NAME.into()),
                data: Some(r#"{"name":"x"}"#.into()),
            }),
            ..TaskConfig::default()
        }),
        ..JobConfiguration::default()
    }
}

fn task_mut(j: &mut JobConfiguration) -> &mut TaskConfig {
    j.task_config.as_mut().unwrap()
}

fn behave(mut j: JobConfiguration, behavior: &str, service: bool) -> JobConfiguration {
    let t = task_mut(&mut j);
    t.is_service = service;
    t.metadata = Some(vec![Metadata {
        key: Some("sim.behavior".into()),
        value: Some(behavior.into()),
    }]);
    j
}

impl Sim {
    fn create(&self, j: JobConfiguration) -> Response {
        self.client
            .call(&CreateJob {
                description: Some(j),
            })
            .unwrap()
    }

    fn tasks(&self, name: &str) -> Vec<ScheduledTask> {
        let query = TaskQuery {
            job_keys: Some(vec![key(name)]),
            ..TaskQuery::default()
        };
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

    /// Polls until `check` holds for the job's tasks (bounded: 5 s real time).
    fn wait_for(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&[ScheduledTask]) -> bool,
    ) -> Vec<ScheduledTask> {
        let started = Instant::now();
        loop {
            let tasks = self.tasks(name);
            if check(&tasks) {
                return tasks;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{name}: never {what}: {tasks:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn count(tasks: &[ScheduledTask], status: ScheduleStatus) -> usize {
    tasks.iter().filter(|t| t.status == Some(status)).count()
}

fn code(r: &Response) -> ResponseCode {
    r.response_code.unwrap()
}

fn detail(r: &Response) -> String {
    r.details
        .iter()
        .flatten()
        .filter_map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn created_job_runs_with_the_scheduler_task_ids_and_events() {
    // §4.4 createJob, §4.7 normal path, §4.4 "Task ids": role-env-name-instance-uuid, dots → '-'.
    let s = sim();
    let mut j = job("hello.world", 2);
    j.key = Some(JobKey::new("www-data", "prod", "hello.world"));
    task_mut(&mut j).job = j.key.clone();
    assert_eq!(code(&s.create(j)), ResponseCode::OK);
    let query = TaskQuery {
        job_name: Some("hello.world".into()),
        ..TaskQuery::default()
    };
    let started = Instant::now();
    let tasks = loop {
        let tasks = match s
            .client
            .call_ok(&GetTasksStatus {
                query: Some(query.clone()),
            })
            .unwrap()
            .result
        {
            Some(Result::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
            _ => vec![],
        };
        if count(&tasks, ScheduleStatus::RUNNING) == 2 {
            break tasks;
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    };
    for t in &tasks {
        let assigned = t.assigned_task.as_ref().unwrap();
        let id = assigned.task_id.as_deref().unwrap();
        assert!(
            id.starts_with(&format!(
                "www-data-prod-hello-world-{}-",
                assigned.instance_id
            )),
            "{id}"
        );
        assert!(assigned.slave_host.as_deref().unwrap().starts_with("host-"));
        let events: Vec<ScheduleStatus> = t
            .task_events
            .iter()
            .flatten()
            .map(|e| e.status.unwrap())
            .collect();
        assert_eq!(
            events,
            [
                ScheduleStatus::PENDING,
                ScheduleStatus::ASSIGNED,
                ScheduleStatus::STARTING,
                ScheduleStatus::RUNNING
            ]
        );
        let times: Vec<i64> = t
            .task_events
            .iter()
            .flatten()
            .map(|e| e.timestamp)
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }
}

#[test]
fn create_job_refusals_follow_the_reference_table() {
    // §4.4 createJob table and §4.3 validation: each refusal is INVALID_REQUEST naming the problem.
    let mut config =
        SimConfig::new(ClusterSpec::generated(3, 1, &HostResources::default()).unwrap());
    config.flags.max_tasks_per_job = 5;
    let s = sim_with(config);
    let refused = |j: JobConfiguration, words: &str| {
        let r = s.create(j);
        assert_eq!(code(&r), ResponseCode::INVALID_REQUEST, "{words}: {r:?}");
        assert!(
            detail(&r).to_lowercase().contains(&words.to_lowercase()),
            "{words}: {}",
            detail(&r)
        );
    };
    let mut j = job("env", 1);
    j.key = Some(JobKey::new("www-data", "qa", "env"));
    task_mut(&mut j).job = j.key.clone();
    refused(j, "environment");
    for (i, bad) in [
        Resource::NumCpus(0.0),
        Resource::RamMb(0),
        Resource::DiskMb(-1),
    ]
    .into_iter()
    .enumerate()
    {
        let mut j = job("res", 1);
        let resources = task_mut(&mut j).resources.as_mut().unwrap();
        resources[i] = bad;
        refused(j, "positive");
    }
    let mut j = job("tier", 1);
    task_mut(&mut j).tier = Some("gold".into());
    refused(j, "tier");
    let mut j = job("cron", 1);
    task_mut(&mut j).is_service = false;
    j.cron_schedule = Some("* * * * *".into());
    refused(j, "cron");
    refused(job("many", 6), "instance count");
    let mut j = job("prod", 1);
    task_mut(&mut j).tier = Some("preferred".into());
    refused(j.clone(), "quota");
    // With quota the production job is accepted (§4.9).
    let quota = ResourceAggregate {
        resources: Some(vec![
            Resource::NumCpus(2.0),
            Resource::RamMb(1024),
            Resource::DiskMb(1024),
        ]),
    };
    s.client
        .call_ok(&SetQuota {
            owner_role: Some("www-data".into()),
            quota: Some(quota),
        })
        .unwrap();
    assert_eq!(code(&s.create(j)), ResponseCode::OK);
    // A second create of an existing job.
    assert_eq!(code(&s.create(job("dup", 1))), ResponseCode::OK);
    refused(job("dup", 1), "www-data/prod/dup already exists");
}

#[test]
fn a_job_whose_tasks_are_all_terminal_can_be_created_again() {
    // §4.4: "A job whose tasks are all terminal no longer exists and can be created again."
    let s = sim();
    s.create(job("again", 1));
    s.wait_for("again", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 1
    });
    s.client
        .call_ok(&KillTasks {
            job: Some(key("again")),
            ..KillTasks::default()
        })
        .unwrap();
    s.wait_for("again", "killed", |t| count(t, ScheduleStatus::KILLED) == 1);
    assert_eq!(code(&s.create(job("again", 1))), ResponseCode::OK);
}

#[test]
fn populate_job_config_fills_the_scheduler_defaults() {
    // §4.3: tier defaulted, production from the tier, taskLinks for http/health ports, mesos container.
    let s = sim();
    let mut j = job("pop", 1);
    task_mut(&mut j)
        .resources
        .as_mut()
        .unwrap()
        .push(Resource::NamedPort("http".into()));
    let r = s
        .client
        .call_ok(&PopulateJobConfig {
            description: Some(j),
        })
        .unwrap();
    let Some(Result::PopulateJobResult(p)) = r.result else {
        panic!("{r:?}")
    };
    let t = p.task_config.unwrap();
    assert_eq!(t.tier.as_deref(), Some("preemptible"));
    assert_eq!(t.production, Some(false));
    assert_eq!(t.task_links.unwrap()["http"], "http://%host%:%port:http%");
    assert_eq!(
        t.container,
        Some(Container::Mesos(MesosContainer::default()))
    );
    let mut bad = job("pop", 1);
    bad.instance_count = 0;
    let r = s
        .client
        .call(&PopulateJobConfig {
            description: Some(bad),
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(
        detail(&r).starts_with("Invalid configuration"),
        "{}",
        detail(&r)
    );
}

#[test]
fn tier_configs_are_the_stock_tiers() {
    // §4.4 getTierConfigs: preferred (production), preemptible (default), revocable.
    let s = sim();
    let r = s.client.call_ok(&GetTierConfigs {}).unwrap();
    let Some(Result::GetTierConfigResult(t)) = r.result else {
        panic!()
    };
    assert_eq!(t.default_tier_name.as_deref(), Some("preemptible"));
    let tiers = t.tiers.unwrap();
    let settings = |name: &str| {
        tiers
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
            .unwrap()
            .settings
            .clone()
            .unwrap()
    };
    assert_eq!(settings("preferred")["preemptible"], "false");
    assert_eq!(settings("preemptible")["preemptible"], "true");
    assert_eq!(settings("revocable")["revocable"], "true");
}

#[test]
fn tasks_that_fit_nowhere_stay_pending_with_a_reason() {
    // Issue #2 / §4.4 getPendingReason: PENDING with comma-joined vetoes; statuses in the query → INVALID_REQUEST.
    let s = sim();
    let mut j = job("huge", 1);
    task_mut(&mut j).resources = Some(vec![
        Resource::NumCpus(64.0),
        Resource::RamMb(128),
        Resource::DiskMb(128),
    ]);
    s.create(j);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(count(&s.tasks("huge"), ScheduleStatus::PENDING), 1);
    let query = TaskQuery {
        job_keys: Some(vec![key("huge")]),
        ..TaskQuery::default()
    };
    let r = s
        .client
        .call_ok(&GetPendingReason {
            query: Some(query.clone()),
        })
        .unwrap();
    let Some(Result::GetPendingReasonResult(p)) = r.result else {
        panic!()
    };
    assert_eq!(
        p.reasons.unwrap()[0].reason.as_deref(),
        Some("Insufficient CPU")
    );
    let with_statuses = TaskQuery {
        statuses: Some(vec![ScheduleStatus::PENDING]),
        ..query
    };
    let r = s
        .client
        .call(&GetPendingReason {
            query: Some(with_statuses),
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
}

#[test]
fn named_ports_come_from_the_host_range_and_differ_on_one_host() {
    // §3.3.4 AssignedTask.assignedPorts: filled on assignment.
    let s = sim_with(SimConfig::new(
        ClusterSpec::parse("hosts:\n  - name: solo\n    ports: 40000-40009\n").unwrap(),
    ));
    let mut j = job("ports", 2);
    task_mut(&mut j).resources.as_mut().unwrap().extend([
        Resource::NamedPort("http".into()),
        Resource::NamedPort("admin".into()),
    ]);
    s.create(j);
    let tasks = s.wait_for("ports", "assigned", |t| {
        t.iter()
            .all(|t| t.assigned_task.as_ref().unwrap().slave_host.is_some())
    });
    let mut ports: Vec<i32> = tasks
        .iter()
        .flat_map(|t| {
            t.assigned_task
                .as_ref()
                .unwrap()
                .assigned_ports
                .clone()
                .unwrap()
                .into_values()
        })
        .collect();
    assert_eq!(ports.len(), 4);
    assert!(ports.iter().all(|p| (40000..=40009).contains(p)));
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 4, "distinct ports on one host");
}

#[test]
fn restart_shards_replaces_the_task_and_checks_its_arguments() {
    // §4.4 restartShards: RESTARTING, then a new task with ancestorId; empty → ERROR; inactive → INVALID_REQUEST.
    let s = sim();
    s.create(job("restart", 2));
    let before = s.wait_for("restart", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 2
    });
    let old_id = before
        .iter()
        .find(|t| t.assigned_task.as_ref().unwrap().instance_id == 1)
        .unwrap()
        .assigned_task
        .as_ref()
        .unwrap()
        .task_id
        .clone();
    s.client
        .call_ok(&RestartShards {
            job: Some(key("restart")),
            shard_ids: Some(vec![1]),
        })
        .unwrap();
    let after = s.wait_for("restart", "restarted", |t| {
        count(t, ScheduleStatus::RUNNING) == 2 && count(t, ScheduleStatus::KILLED) == 1
    });
    let replacement = after
        .iter()
        .find(|t| t.status == Some(ScheduleStatus::RUNNING) && t.ancestor_id.is_some())
        .unwrap();
    assert_eq!(replacement.ancestor_id, old_id);
    let r = s
        .client
        .call(&RestartShards {
            job: Some(key("restart")),
            shard_ids: Some(vec![]),
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::ERROR);
    let r = s
        .client
        .call(&RestartShards {
            job: Some(key("restart")),
            shard_ids: Some(vec![7]),
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
}

#[test]
fn add_instances_continues_after_the_highest_id() {
    // §4.4 addInstances: ids maxActiveInstanceId+1..; count ≤ 0 and inactive templates refused.
    let s = sim();
    s.create(job("grow", 2));
    s.client
        .call_ok(&AddInstances {
            key: Some(InstanceKey {
                job_key: Some(key("grow")),
                instance_id: 0,
            }),
            count: 2,
        })
        .unwrap();
    let tasks = s.wait_for("grow", "grown", |t| t.len() == 4);
    let mut ids: Vec<i32> = tasks
        .iter()
        .map(|t| t.assigned_task.as_ref().unwrap().instance_id)
        .collect();
    ids.sort();
    assert_eq!(ids, [0, 1, 2, 3]);
    let r = s
        .client
        .call(&AddInstances {
            key: Some(InstanceKey {
                job_key: Some(key("grow")),
                instance_id: 0,
            }),
            count: 0,
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    let r = s
        .client
        .call(&AddInstances {
            key: Some(InstanceKey {
                job_key: Some(key("grow")),
                instance_id: 9,
            }),
            count: 1,
        })
        .unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
}

#[test]
fn sim_behaviors_make_tasks_finish_fail_and_start_slowly() {
    // Issue #2: sim.behavior fail, finish:SECONDS, slow_start:SECONDS; §4.7 reschedule rules.
    let s = sim();
    s.create(behave(job("done", 1), "finish:5", false));
    let done = s.wait_for("done", "finished", |t| {
        count(t, ScheduleStatus::FINISHED) == 1
    });
    assert_eq!(done.len(), 1, "a finished batch task is not rescheduled");
    s.create(behave(job("broken", 1), "fail", false));
    let broken = s.wait_for("broken", "failed", |t| {
        count(t, ScheduleStatus::FAILED) == 1
    });
    let message = broken[0]
        .task_events
        .iter()
        .flatten()
        .last()
        .unwrap()
        .message
        .clone()
        .unwrap();
    assert!(message.contains("sim.behavior=fail"), "{message}");
    s.create(behave(job("again", 1), "finish:5", true));
    s.wait_for("again", "rescheduled", |t| {
        count(t, ScheduleStatus::FINISHED) == 1 && t.len() == 2
    });
    s.create(behave(job("slow", 1), "slow_start:300", true));
    std::thread::sleep(Duration::from_millis(100)); // 20 s of the 300 s of virtual time
    assert_eq!(count(&s.tasks("slow"), ScheduleStatus::STARTING), 1);
    s.wait_for("slow", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 1
    });
}

#[test]
fn get_jobs_counts_active_tasks_and_get_job_summary_counts_all() {
    // §4.4 read calls and §6.1 item 19.
    let s = sim();
    s.create(job("count", 2));
    s.wait_for("count", "running", |t| {
        count(t, ScheduleStatus::RUNNING) == 2
    });
    s.client
        .call_ok(&KillTasks {
            job: Some(key("count")),
            instances: Some(vec![1]),
            message: None,
        })
        .unwrap();
    s.wait_for("count", "killed", |t| count(t, ScheduleStatus::KILLED) == 1);
    let Some(Result::GetJobsResult(jobs)) = s
        .client
        .call_ok(&GetJobs {
            owner_role: Some("www-data".into()),
        })
        .unwrap()
        .result
    else {
        panic!()
    };
    assert_eq!(jobs.configs.unwrap()[0].instance_count, 1);
    let Some(Result::JobSummaryResult(summary)) = s
        .client
        .call_ok(&GetJobSummary { role: None })
        .unwrap()
        .result
    else {
        panic!()
    };
    let summary = &summary.summaries.unwrap()[0];
    assert_eq!(summary.job.as_ref().unwrap().instance_count, 2);
    let stats = summary.stats.clone().unwrap();
    assert_eq!((stats.active_task_count, stats.finished_task_count), (1, 1));
    let Some(Result::RoleSummaryResult(roles)) =
        s.client.call_ok(&GetRoleSummary {}).unwrap().result
    else {
        panic!()
    };
    assert_eq!(roles.summaries.unwrap()[0].job_count, 1);
}

#[test]
fn config_summary_groups_instances_into_ranges() {
    // §4.4 getConfigSummary, §3.3.4 ConfigGroup: one config, instances 0..3 as one range.
    let s = sim();
    s.create(job("cfg", 2));
    s.client
        .call_ok(&AddInstances {
            key: Some(InstanceKey {
                job_key: Some(key("cfg")),
                instance_id: 0,
            }),
            count: 2,
        })
        .unwrap();
    let Some(Result::ConfigSummaryResult(c)) = s
        .client
        .call_ok(&GetConfigSummary {
            job: Some(key("cfg")),
        })
        .unwrap()
        .result
    else {
        panic!()
    };
    let groups = c.summary.unwrap().groups.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].instances, Some(vec![Range { first: 0, last: 3 }]));
}

#[test]
fn tasks_without_configs_blank_the_executor_data() {
    // §4.4: getTasksWithoutConfigs unsets executorConfig.data; getTasksStatus keeps it.
    let s = sim();
    s.create(job("data", 1));
    let query = TaskQuery {
        job_keys: Some(vec![key("data")]),
        ..TaskQuery::default()
    };
    let Some(Result::ScheduleStatusResult(light)) = s
        .client
        .call_ok(&GetTasksWithoutConfigs { query: Some(query) })
        .unwrap()
        .result
    else {
        panic!()
    };
    let executor = |t: &ScheduledTask| {
        t.assigned_task
            .clone()
            .unwrap()
            .task
            .unwrap()
            .executor_config
            .unwrap()
    };
    assert_eq!(executor(&light.tasks.unwrap()[0]).data, None);
    assert_eq!(
        executor(&s.tasks("data")[0]).data.as_deref(),
        Some(r#"{"name":"x"}"#)
    );
}

#[test]
fn task_query_terms_are_anded_and_paged() {
    // §3.3.4 TaskQuery: terms ANDed; offset and limit applied when > 0.
    let s = sim();
    s.create(job("q", 3));
    s.wait_for("q", "running", |t| count(t, ScheduleStatus::RUNNING) == 3);
    let ask = |q: TaskQuery| match s
        .client
        .call_ok(&GetTasksStatus { query: Some(q) })
        .unwrap()
        .result
    {
        Some(Result::ScheduleStatusResult(r)) => r.tasks.unwrap().len(),
        _ => 0,
    };
    let base = TaskQuery {
        role: Some("www-data".into()),
        environment: Some("prod".into()),
        job_name: Some("q".into()),
        ..TaskQuery::default()
    };
    assert_eq!(ask(base.clone()), 3);
    assert_eq!(
        ask(TaskQuery {
            instance_ids: Some(vec![0, 2]),
            ..base.clone()
        }),
        2
    );
    assert_eq!(
        ask(TaskQuery {
            statuses: Some(vec![ScheduleStatus::PENDING]),
            ..base.clone()
        }),
        0
    );
    assert_eq!(
        ask(TaskQuery {
            slave_hosts: Some(vec!["host-001".into()]),
            ..base.clone()
        }),
        1
    );
    assert_eq!(
        ask(TaskQuery {
            offset: Some(1),
            limit: Some(1),
            ..base.clone()
        }),
        1
    );
    assert_eq!(
        ask(TaskQuery {
            role: Some("nobody".into()),
            ..base
        }),
        0
    );
}

#[test]
fn quota_reports_consumption_and_refuses_bad_settings() {
    // §4.9 and §4.4 getQuota: blank role → ERROR; setQuota errors; production use is counted.
    let s = sim();
    assert_eq!(
        code(
            &s.client
                .call(&GetQuota {
                    owner_role: Some(" ".into())
                })
                .unwrap()
        ),
        ResponseCode::ERROR
    );
    let set = |resources: Vec<Resource>| {
        s.client
            .call(&SetQuota {
                owner_role: Some("www-data".into()),
                quota: Some(ResourceAggregate {
                    resources: Some(resources),
                }),
            })
            .unwrap()
    };
    assert_eq!(
        code(&set(vec![Resource::NumCpus(1.0), Resource::RamMb(1)])),
        ResponseCode::ERROR
    );
    assert_eq!(
        code(&set(vec![
            Resource::NumCpus(-1.0),
            Resource::RamMb(1),
            Resource::DiskMb(1)
        ])),
        ResponseCode::INVALID_REQUEST
    );
    assert_eq!(
        code(&set(vec![
            Resource::NumCpus(4.0),
            Resource::RamMb(4096),
            Resource::DiskMb(4096)
        ])),
        ResponseCode::OK
    );
    let mut j = job("prod", 2);
    task_mut(&mut j).tier = Some("preferred".into());
    assert_eq!(code(&s.create(j)), ResponseCode::OK);
    let Some(Result::GetQuotaResult(q)) = s
        .client
        .call_ok(&GetQuota {
            owner_role: Some("www-data".into()),
        })
        .unwrap()
        .result
    else {
        panic!()
    };
    let used = q.prod_shared_consumption.unwrap().resources.unwrap();
    assert!(
        used.contains(&Resource::NumCpus(1.0)) && used.contains(&Resource::RamMb(256)),
        "{used:?}"
    );
    assert_eq!(
        code(&set(vec![
            Resource::NumCpus(0.5),
            Resource::RamMb(4096),
            Resource::DiskMb(4096)
        ])),
        ResponseCode::INVALID_REQUEST
    );
}

#[test]
fn methods_not_simulated_yet_are_refused_not_faked() {
    // Issue #2: "answers as a scheduler that refuses it would (INVALID_REQUEST ... not simulated)".
    let s = sim();
    // Cron jobs and host maintenance are simulated now (conformance_cron, _maintenance);
    // backups are not.
    let r = s.client.call(&PerformBackup {}).unwrap();
    assert_eq!(code(&r), ResponseCode::INVALID_REQUEST);
    assert!(detail(&r).contains("not simulated"), "{}", detail(&r));
}
