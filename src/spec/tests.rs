//! End-to-end behaviour of the job model: options or documents in, what Aurora's client would
//! submit out.

use serde_json::{json, Value};

use super::options::*;
use super::task_options::*;
use super::tiers::stock_tiers;
use super::update::UpdateOptions;
use super::*;
use crate::api::types::{
    Container, DockerContainer, DockerImage, DockerParameter, Image, MesosContainer, Mode,
    PercentageSlaPolicy, Resource, SlaPolicy, Volume,
};

fn ctx() -> BuildContext<'static> {
    BuildContext {
        cluster: "devcluster",
        owner: "alice",
        tiers: None,
    }
}

fn with_tiers(tiers: &GetTierConfigResult) -> BuildContext<'_> {
    BuildContext {
        tiers: Some(tiers),
        ..ctx()
    }
}

/// Options as a data scientist writes them in a playbook.
fn from_yaml(yaml: &str) -> JobOptions {
    serde_yaml_ng::from_str(yaml).expect("valid options")
}

/// The job of client-reference §1.8.5.
fn hello() -> JobOptions {
    from_yaml(
        r#"
role: www-data
environment: devel
name: hello
instances: 2
task:
  processes:
    - name: hello
      cmdline: "python -m http.server {{thermos.ports[http]}}"
  resources: {cpu: 0.5, ram: 128MiB, disk: 256MiB}
"#,
    )
}

fn data(job: &Job) -> Value {
    serde_json::from_str(job.executor_data()).expect("executor data is JSON")
}

fn build_err(options: &JobOptions) -> SpecError {
    options.build(&ctx()).expect_err("should be refused")
}

const REFERENCE_DOCUMENT: &str = r#"{
  "cluster": "devcluster",
  "cron_collision_policy": "KILL_EXISTING",
  "enable_hooks": false,
  "environment": "devel",
  "executor_config": {"data": "", "name": "AuroraExecutor"},
  "health_check_config": {
    "health_checker": {
      "http": {"endpoint": "/health", "expected_response": "ok", "expected_response_code": 0}
    },
    "initial_interval_secs": 15.0,
    "interval_secs": 10.0,
    "max_consecutive_failures": 0,
    "min_consecutive_successes": 1,
    "timeout_secs": 1.0
  },
  "lifecycle": {
    "http": {
      "graceful_shutdown_endpoint": "/quitquitquit",
      "graceful_shutdown_wait_secs": 5,
      "port": "health",
      "shutdown_endpoint": "/abortabortabort",
      "shutdown_wait_secs": 5
    }
  },
  "max_task_failures": 1,
  "metadata": [],
  "name": "hello",
  "priority": 0,
  "production": false,
  "role": "www-data",
  "service": true,
  "task": {
    "constraints": [],
    "finalization_wait": 30,
    "max_concurrency": 0,
    "max_failures": 1,
    "name": "hello",
    "processes": [
      {
        "cmdline": "python -m http.server {{thermos.ports[http]}}",
        "daemon": false,
        "ephemeral": false,
        "final": false,
        "max_failures": 1,
        "min_duration": 5,
        "name": "hello"
      }
    ],
    "resources": {"cpu": 0.5, "disk": 268435456, "gpu": 0, "ram": 134217728}
  },
  "tier": "preemptible"
}"#;

#[test]
fn the_reference_example_is_reproduced_exactly() {
    let tiers = stock_tiers();
    let job = hello().build(&with_tiers(&tiers)).unwrap();
    let want: Value = serde_json::from_str(REFERENCE_DOCUMENT).unwrap();
    assert_eq!(data(&job), want);
    assert!(same_executor_data(job.executor_data(), REFERENCE_DOCUMENT));

    let task = job.task_config();
    assert_eq!(task.job, Some(JobKey::new("www-data", "devel", "hello")));
    assert_eq!(task.owner.as_ref().unwrap().user.as_deref(), Some("alice"));
    assert!(task.is_service);
    assert_eq!((task.priority, task.max_task_failures), (0, 1));
    assert_eq!(task.production, Some(false));
    assert_eq!(task.tier.as_deref(), Some("preemptible"));
    assert_eq!(
        task.resources,
        Some(vec![
            Resource::NumCpus(0.5),
            Resource::RamMb(128),
            Resource::DiskMb(256),
            Resource::NamedPort("http".into()),
        ])
    );
    assert_eq!(task.constraints, Some(vec![]));
    assert_eq!(task.metadata, Some(vec![]));
    assert_eq!(task.task_links, Some(Default::default()));
    assert_eq!(task.contact_email, None);
    assert_eq!(task.partition_policy, None);
    assert_eq!(task.sla_policy, None);
    assert_eq!(
        task.container,
        Some(Container::Mesos(MesosContainer::default()))
    );
    let executor = task.executor_config.as_ref().unwrap();
    assert_eq!(executor.name.as_deref(), Some("AuroraExecutor"));

    let config = &job.config;
    assert_eq!(config.key, task.job);
    assert_eq!(config.owner, task.owner);
    assert_eq!(config.cron_schedule, None);
    assert_eq!(
        config.cron_collision_policy,
        Some(crate::api::types::CronCollisionPolicy::KILL_EXISTING)
    );
    assert_eq!(config.instance_count, 2);
}

#[test]
fn the_executor_data_is_one_line_in_pythons_style() {
    let job = hello().build(&ctx()).unwrap();
    let text = job.executor_data();
    assert!(!text.contains('\n'));
    assert!(
        text.starts_with(r#"{"cluster": "devcluster", "cron_collision_policy": "KILL_EXISTING", "#)
    );
    assert!(text
        .contains(r#""resources": {"cpu": 0.5, "disk": 268435456, "gpu": 0, "ram": 134217728}"#));
    assert!(text.contains(r#""initial_interval_secs": 15.0"#));
}

#[test]
fn the_same_options_give_the_same_bytes_and_fingerprint() {
    let a = rich().build(&ctx()).unwrap();
    let b = rich().build(&ctx()).unwrap();
    assert_eq!(a.executor_data(), b.executor_data());
    assert_eq!(a, b);
    assert_eq!(a.fingerprint(), b.fingerprint());
    let mut more = rich();
    more.instances = Some(6);
    assert_ne!(more.build(&ctx()).unwrap().fingerprint(), a.fingerprint());
}

#[test]
fn the_fingerprint_ignores_the_submitting_user() {
    let a = hello().build(&ctx()).unwrap();
    let b = hello()
        .build(&BuildContext {
            owner: "bob",
            ..ctx()
        })
        .unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
}

#[test]
fn defaults_without_tiers_leave_the_tier_to_the_scheduler() {
    let job = hello().build(&ctx()).unwrap();
    let doc = data(&job);
    assert!(doc.get("tier").is_none());
    assert_eq!(job.task_config().tier, None);
    assert_eq!(doc["service"], true);
    assert_eq!(
        job.settings,
        update::settings(&UpdateOptions::default(), "update", 2, false, false).unwrap()
    );
}

#[test]
fn one_instance_by_default() {
    let mut options = hello();
    options.instances = None;
    assert_eq!(options.build(&ctx()).unwrap().instance_count(), 1);
}

#[test]
fn a_named_tier_sets_production_in_the_document_and_the_task() {
    let tiers = stock_tiers();
    let mut options = hello();
    options.tier = Some("preferred".into());
    let job = options.build(&with_tiers(&tiers)).unwrap();
    assert_eq!(job.task_config().production, Some(true));
    assert_eq!(data(&job)["production"], true);
    assert_eq!(data(&job)["tier"], "preferred");
    options.tier = Some("gold".into());
    assert_eq!(
        options.build(&with_tiers(&tiers)).unwrap_err().option,
        "tier"
    );
}

#[test]
fn ram_and_disk_are_bytes_in_the_document_and_truncated_mib_in_the_task() {
    let mut options = hello();
    let resources = &mut options.task.as_mut().unwrap().resources;
    resources.ram = Size(3 * size::MIB - 1);
    resources.disk = Size::parse("1.5G").unwrap();
    resources.cpu = 2.0;
    resources.gpu = 1;
    let job = options.build(&ctx()).unwrap();
    assert_eq!(
        data(&job)["task"]["resources"],
        json!({"cpu": 2.0, "ram": 3 * size::MIB - 1, "disk": 1536 * size::MIB, "gpu": 1})
    );
    assert!(job.executor_data().contains(r#""cpu": 2.0"#));
    let resources = job.task_config().resources.clone().unwrap();
    assert_eq!(
        &resources[..4],
        &[
            Resource::NumCpus(2.0),
            Resource::RamMb(2),
            Resource::DiskMb(1536),
            Resource::NumGpus(1)
        ]
    );
}

#[test]
fn resources_below_one_mib_or_without_cpu_are_refused() {
    let mut options = hello();
    options.task.as_mut().unwrap().resources.ram = Size(512);
    let e = build_err(&options);
    assert_eq!(e.option, "task.resources.ram");
    assert!(e.message.contains("512MiB"), "{e}");
    let mut options = hello();
    options.task.as_mut().unwrap().resources.cpu = 0.0;
    assert_eq!(build_err(&options).option, "task.resources.cpu");
}

#[test]
fn ports_follow_the_portmap_and_static_ports_need_a_dedicated_constraint() {
    let mut options = hello();
    options.task.as_mut().unwrap().processes[0].cmdline =
        "serve --web %{thermos.ports[web]} --health %{thermos.ports[health]} --admin %{thermos.ports[admin]}".into();
    options.announce = Some(AnnounceOptions {
        portmap: Some(
            [("aurora", "http"), ("web", "aurora"), ("admin", "8080")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), TextValue::from(v)))
                .collect(),
        ),
        ..AnnounceOptions::default()
    });
    let e = build_err(&options);
    assert_eq!(e.option, "announce.portmap");
    assert!(e.message.contains("dedicated"), "{e}");

    options.constraints = Some([("dedicated".to_string(), TextValue::from("www-data/web"))].into());
    options.update = Some(UpdateOptions::default());
    let job = options.build(&ctx()).unwrap();
    let ports: Vec<&Resource> = job
        .task_config()
        .resources
        .iter()
        .flatten()
        .filter(|r| matches!(r, Resource::NamedPort(_)))
        .collect();
    assert_eq!(
        ports,
        vec![
            &Resource::NamedPort("health".into()),
            &Resource::NamedPort("http".into())
        ]
    );
    assert_eq!(data(&job)["announce"]["portmap"]["admin"], "8080");
    assert!(job.warnings.is_empty(), "{:?}", job.warnings);
}

#[test]
fn a_default_announcer_announces_http_and_warns_about_an_unused_primary_port() {
    let mut options = hello();
    options.task.as_mut().unwrap().processes[0].cmdline = "sleep 1000".into();
    options.announce = Some(AnnounceOptions::default());
    let job = options.build(&ctx()).unwrap();
    assert_eq!(
        data(&job)["announce"],
        json!({"primary_port": "http", "portmap": {"aurora": "http"}})
    );
    assert!(job
        .task_config()
        .resources
        .as_ref()
        .unwrap()
        .contains(&Resource::NamedPort("http".into())));
    assert!(job.warnings.is_empty());
    options.announce = Some(AnnounceOptions {
        primary_port: "thrift".into(),
        portmap: Some([("aurora".to_string(), TextValue::from("http"))].into()),
        ..Default::default()
    });
    let job = options.build(&ctx()).unwrap();
    assert_eq!(job.warnings.len(), 1);
    assert!(job.warnings[0].contains("primary_port"));
}

#[test]
fn constraints_and_metadata_arrive_as_text_and_are_sorted() {
    let options = from_yaml(
        r#"
role: www-data
environment: prod
name: web
metadata: {team: ml, build: 42}
constraints: {rack: "!r1,r2", host: "limit:1", zone: 3}
task:
  processes: [{name: web, cmdline: run}]
  resources: {cpu: 1, ram: 1GiB, disk: 1GiB}
"#,
    );
    let job = options.build(&ctx()).unwrap();
    let doc = data(&job);
    assert_eq!(
        doc["metadata"],
        json!([{"key": "build", "value": "42"}, {"key": "team", "value": "ml"}])
    );
    assert_eq!(
        doc["constraints"],
        json!({"rack": "!r1,r2", "host": "limit:1", "zone": "3"})
    );
    let names: Vec<&str> = job
        .task_config()
        .constraints
        .iter()
        .flatten()
        .filter_map(|c| c.name.as_deref())
        .collect();
    assert_eq!(names, vec!["host", "rack", "zone"]);
    let e = build_err(&from_yaml(
        r#"
role: www-data
environment: prod
name: web
constraints: {host: "limit:many"}
task: {processes: [{name: web, cmdline: run}], resources: {cpu: 1, ram: 1GiB, disk: 1GiB}}
"#,
    ));
    assert_eq!(e.option, "constraints.host");
}

#[test]
fn containers_map_to_docker_and_mesos() {
    let mut options = hello();
    options.container = Some(from_yaml_container(
        "docker: {image: 'python:3.12', parameters: [{name: env, value: A=1}]}",
    ));
    let job = options.build(&ctx()).unwrap();
    assert_eq!(
        job.task_config().container,
        Some(Container::Docker(DockerContainer {
            image: Some("python:3.12".into()),
            parameters: Some(vec![DockerParameter {
                name: Some("env".into()),
                value: Some("A=1".into())
            }]),
        }))
    );
    assert_eq!(
        data(&job)["container"],
        json!({"image": "python:3.12", "parameters": [{"name": "env", "value": "A=1"}]})
    );

    options.container = Some(from_yaml_container(
        "mesos: {image: {docker: {name: library/python, tag: 3.12}}, volumes: [{container_path: /data, host_path: /srv/data, mode: RW}]}",
    ));
    let job = options.build(&ctx()).unwrap();
    assert_eq!(
        job.task_config().container,
        Some(Container::Mesos(MesosContainer {
            image: Some(Image::Docker(DockerImage {
                name: Some("library/python".into()),
                tag: Some("3.12".into())
            })),
            volumes: Some(vec![Volume {
                container_path: Some("/data".into()),
                host_path: Some("/srv/data".into()),
                mode: Some(Mode::RW),
            }]),
        }))
    );
    assert_eq!(
        data(&job)["container"]["image"],
        json!({"name": "library/python", "tag": "3.12"})
    );

    options.container = Some(from_yaml_container(
        "mesos: {image: {appc: {name: app, image_id: sha512-1}}}",
    ));
    let job = options.build(&ctx()).unwrap();
    let Some(Container::Mesos(mesos)) = &job.task_config().container else {
        panic!("mesos")
    };
    assert_eq!(mesos.volumes, Some(vec![]));
    assert!(
        matches!(&mesos.image, Some(Image::Appc(a)) if a.image_id.as_deref() == Some("sha512-1"))
    );

    options.container = Some(ContainerOptions::default());
    assert_eq!(build_err(&options).option, "container");
}

fn from_yaml_container(yaml: &str) -> ContainerOptions {
    serde_yaml_ng::from_str(yaml).unwrap()
}

#[test]
fn a_shell_health_check_has_no_http_checker() {
    let mut options = hello();
    options.health_check = Some(
        serde_yaml_ng::from_str("{shell: {command: 'curl -f localhost'}, interval_secs: 30}")
            .unwrap(),
    );
    let job = options.build(&ctx()).unwrap();
    let check = &data(&job)["health_check_config"];
    assert_eq!(
        check["health_checker"],
        json!({"shell": {"shell_command": "curl -f localhost"}})
    );
    assert_eq!(check["interval_secs"], json!(30.0));
    assert!(job.executor_data().contains(r#""interval_secs": 30.0"#));
    options.health_check = Some(HealthCheckOptions {
        interval_secs: -1.0,
        ..Default::default()
    });
    assert_eq!(build_err(&options).option, "health_check.interval_secs");
}

#[test]
fn lifecycle_can_be_disabled_or_customised() {
    let mut options = hello();
    options.lifecycle = Some(LifecycleOptions {
        enabled: false,
        ..Default::default()
    });
    assert_eq!(
        data(&options.build(&ctx()).unwrap())["lifecycle"],
        json!({})
    );
    options.lifecycle = Some(LifecycleOptions {
        enabled: false,
        port: Some("admin".into()),
        ..Default::default()
    });
    assert_eq!(build_err(&options).option, "lifecycle.port");
    options.lifecycle = Some(LifecycleOptions {
        port: Some("admin".into()),
        ..Default::default()
    });
    assert_eq!(
        data(&options.build(&ctx()).unwrap())["lifecycle"]["http"]["port"],
        "admin"
    );
}

#[test]
fn sla_policies_of_each_kind() {
    let mut options = hello();
    options.instances = Some(20);
    options.sla_policy = Some(SlaPolicyOptions {
        percentage: Some(95.0),
        duration_secs: Some(1800),
        ..Default::default()
    });
    options.update = Some(UpdateOptions {
        sla_aware: true,
        ..Default::default()
    });
    let job = options.build(&ctx()).unwrap();
    assert_eq!(
        job.task_config().sla_policy,
        Some(SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
            percentage: 95.0,
            duration_secs: 1800
        }))
    );
    assert_eq!(
        data(&job)["sla_policy"],
        json!({"percentage": 95.0, "duration_secs": 1800})
    );
    assert_eq!(job.settings.sla_aware, Some(true));

    options.sla_policy = Some(SlaPolicyOptions {
        count: Some(18),
        duration_secs: Some(60),
        ..Default::default()
    });
    assert!(matches!(
        options.build(&ctx()).unwrap().task_config().sla_policy,
        Some(SlaPolicy::CountSlaPolicy(_))
    ));

    options.sla_policy = Some(SlaPolicyOptions {
        coordinator_url: Some("http://coord/check".into()),
        ..Default::default()
    });
    let job = options.build(&ctx()).unwrap();
    assert_eq!(
        data(&job)["sla_policy"],
        json!({"coordinator_url": "http://coord/check", "status_key": "drain"})
    );

    for (bad, option) in [
        (
            SlaPolicyOptions {
                percentage: Some(90.0),
                count: Some(3),
                duration_secs: Some(60),
                ..Default::default()
            },
            "sla_policy",
        ),
        (SlaPolicyOptions::default(), "sla_policy"),
        (
            SlaPolicyOptions {
                count: Some(3),
                ..Default::default()
            },
            "sla_policy.duration_secs",
        ),
        (
            SlaPolicyOptions {
                count: Some(20),
                duration_secs: Some(60),
                ..Default::default()
            },
            "sla_policy.count",
        ),
        (
            SlaPolicyOptions {
                percentage: Some(100.0),
                duration_secs: Some(60),
                ..Default::default()
            },
            "sla_policy.percentage",
        ),
    ] {
        options.sla_policy = Some(bad);
        assert_eq!(build_err(&options).option, option);
    }
}

#[test]
fn partition_policy_and_contact_are_sent_when_given() {
    let mut options = hello();
    options.partition_policy = Some(PartitionPolicyOptions {
        reschedule: false,
        delay_secs: 60,
    });
    options.contact = Some("ml@example.com".into());
    let job = options.build(&ctx()).unwrap();
    let task = job.task_config();
    assert_eq!(task.contact_email.as_deref(), Some("ml@example.com"));
    let policy = task.partition_policy.as_ref().unwrap();
    assert_eq!((policy.reschedule, policy.delay_secs), (false, Some(60)));
    assert_eq!(
        data(&job)["partition_policy"],
        json!({"reschedule": false, "delay_secs": 60})
    );
}

#[test]
fn ordering_chains_become_order_constraints() {
    let mut options = hello();
    let task = options.task.as_mut().unwrap();
    task.processes.push(ProcessOptions {
        name: "fetch".into(),
        cmdline: "fetch".into(),
        ..Default::default()
    });
    task.processes.push(ProcessOptions {
        name: "cleanup".into(),
        cmdline: "rm -rf tmp".into(),
        is_final: true,
        ..Default::default()
    });
    task.ordering = Some(Ordering::Chain(vec!["fetch".into(), "hello".into()]));
    let job = options.build(&ctx()).unwrap();
    let doc = data(&job);
    assert_eq!(
        doc["task"]["constraints"],
        json!([{"order": ["fetch", "hello"]}])
    );
    assert_eq!(doc["task"]["processes"][2]["final"], true);
    assert_eq!(doc["task"]["name"], "hello");

    let task = options.task.as_mut().unwrap();
    task.ordering = Some(Ordering::Chains(vec![
        vec!["fetch".into(), "hello".into()],
        vec!["hello".into(), "fetch".into()],
    ]));
    assert_eq!(build_err(&options).option, "task.ordering");
    let task = options.task.as_mut().unwrap();
    task.ordering = None;
    task.processes[1].name = "hello".into();
    assert_eq!(build_err(&options).option, "task.processes[1].name");
}

#[test]
fn ordering_accepts_a_list_or_a_list_of_lists() {
    let one: Ordering = serde_yaml_ng::from_str("[a, b]").unwrap();
    assert_eq!(one.chains(), vec![vec!["a".to_string(), "b".to_string()]]);
    let two: Ordering = serde_yaml_ng::from_str("[[a, b], [c, d]]").unwrap();
    assert_eq!(two.chains().len(), 2);
}

#[test]
fn templates_resolve_and_both_spellings_reach_the_executor() {
    let mut options = hello();
    options.contact = Some("{{role}}@example.com".into());
    let task = options.task.as_mut().unwrap();
    task.processes[0].cmdline =
        "run --port %{thermos.ports[http]} --shard %{mesos.instance} --host {{mesos.hostname}} --id {{thermos.task_id}} --job {{role}}/{{environment}}/{{cluster}} --task {{task.name}} --user %{thermos.user}".into();
    let job = options.build(&ctx()).unwrap();
    let doc = data(&job);
    assert_eq!(
        doc["task"]["processes"][0]["cmdline"],
        "run --port {{thermos.ports[http]}} --shard {{mesos.instance}} --host {{mesos.hostname}} --id {{thermos.task_id}} --job www-data/devel/devcluster --task hello --user www-data"
    );
    assert_eq!(doc["contact"], "www-data@example.com");
    assert_eq!(
        job.task_config().contact_email.as_deref(),
        Some("www-data@example.com")
    );
    assert!(job
        .task_config()
        .resources
        .as_ref()
        .unwrap()
        .contains(&Resource::NamedPort("http".into())));
}

#[test]
fn an_unbound_reference_is_refused_naming_it_and_where_it_is() {
    let mut options = hello();
    options.task.as_mut().unwrap().processes[0].cmdline = "run {{version}}".into();
    let e = build_err(&options);
    assert_eq!(e.option, "task.processes[0].cmdline");
    assert!(e.message.contains("{{version}}"), "{e}");
    let mut options = hello();
    options.health_check = Some(HealthCheckOptions {
        http: Some(HttpHealthCheckOptions {
            endpoint: "/{{mesos.port}}".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(build_err(&options).option, "health_check.http.endpoint");
}

#[test]
fn bad_job_keys_and_instance_counts_are_refused_naming_the_option() {
    let mut options = hello();
    options.name = "hello world".into();
    assert_eq!(build_err(&options).option, "name");
    let mut options = hello();
    options.instances = Some(0);
    assert_eq!(build_err(&options).option, "instances");
    let mut options = hello();
    options.task = None;
    assert_eq!(build_err(&options).option, "task");
    let mut options = hello();
    options.task.as_mut().unwrap().processes.clear();
    assert_eq!(build_err(&options).option, "task.processes");
    let mut options = hello();
    options.update = Some(UpdateOptions {
        max_total_failures: 2,
        ..Default::default()
    });
    assert_eq!(build_err(&options).option, "update.max_total_failures");
}

/// A document as `aurora job inspect --write-json` prints it: other key order, `instances` and
/// `update_config` included.
fn inspected_document() -> Value {
    let mut doc: Value = serde_json::from_str(REFERENCE_DOCUMENT).unwrap();
    doc["instances"] = json!(3);
    doc["update_config"] = json!({"batch_size": 2, "watch_secs": 30, "max_total_failures": 1});
    doc
}

fn passthrough(doc: Value) -> JobOptions {
    JobOptions {
        role: "www-data".into(),
        environment: "devel".into(),
        name: "hello".into(),
        executor_config: Some(ExecutorDocument(doc.as_object().unwrap().clone())),
        ..JobOptions::default()
    }
}

#[test]
fn an_executor_document_is_taken_as_is_with_instances_and_update_config_stripped() {
    let tiers = stock_tiers();
    let job = passthrough(inspected_document())
        .build(&with_tiers(&tiers))
        .unwrap();
    let want: Value = serde_json::from_str(REFERENCE_DOCUMENT).unwrap();
    assert_eq!(data(&job), want);
    assert_eq!(job.instance_count(), 3);
    assert_eq!(
        (
            job.settings.update_group_size,
            job.settings.min_wait_in_instance_running_ms
        ),
        (2, 30_000)
    );
    // Same TaskConfig as the options would give.
    let mut from_options = hello();
    from_options.instances = Some(3);
    let expected = from_options.build(&with_tiers(&tiers)).unwrap();
    assert_eq!(job.task_config(), expected.task_config());
}

#[test]
fn an_executor_document_may_be_json_text_and_gets_the_clients_defaults() {
    let text = r#"{"role": "www-data", "environment": "devel", "cluster": "devcluster", "name": "hello", "service": true,
                  "task": {"processes": [{"name": "hello", "cmdline": "python -m http.server {{thermos.ports[http]}}"}],
                           "resources": {"cpu": 0.5, "ram": 134217728, "disk": 268435456}}}"#;
    let options: JobOptions = serde_json::from_value(json!({
        "role": "www-data", "environment": "devel", "name": "hello", "instances": 2, "executor_config": text
    }))
    .unwrap();
    let tiers = stock_tiers();
    let job = options.build(&with_tiers(&tiers)).unwrap();
    assert_eq!(
        data(&job),
        serde_json::from_str::<Value>(REFERENCE_DOCUMENT).unwrap()
    );
    assert_eq!(job, hello().build(&with_tiers(&tiers)).unwrap());
}

#[test]
fn an_executor_document_lacking_what_the_executor_needs_is_refused_naming_it_all() {
    let doc = json!({"role": "www-data", "environment": "devel", "name": "hello",
                     "task": {"processes": [{"name": "hello"}], "resources": {"cpu": 1}}});
    let e = passthrough(doc).build(&ctx()).unwrap_err();
    assert_eq!(e.option, "executor_config");
    for missing in [
        "cluster",
        "task.processes[0].cmdline",
        "task.resources.ram",
        "task.resources.disk",
    ] {
        assert!(e.message.contains(missing), "{missing}: {e}");
    }
    let e = passthrough(json!({"role": "www-data"}))
        .build(&ctx())
        .unwrap_err();
    assert!(e.message.contains("task"), "{e}");
}

#[test]
fn an_executor_document_for_another_job_is_refused_naming_both() {
    let mut doc = inspected_document();
    doc["role"] = json!("other");
    let e = passthrough(doc).build(&ctx()).unwrap_err();
    assert_eq!(e.option, "executor_config.role");
    assert!(
        e.message.contains("\"other\"") && e.message.contains("\"www-data\""),
        "{e}"
    );
    let mut doc = inspected_document();
    doc["cluster"] = json!("west");
    assert_eq!(
        passthrough(doc).build(&ctx()).unwrap_err().option,
        "executor_config.cluster"
    );
    let mut doc = inspected_document();
    doc["cron_schedule"] = json!("0 * * * *");
    assert_eq!(
        passthrough(doc).build(&ctx()).unwrap_err().option,
        "executor_config.cron_schedule"
    );
}

#[test]
fn options_the_document_carries_cannot_be_set_beside_it() {
    let mut options = passthrough(inspected_document());
    options.tier = Some("preferred".into());
    let e = options.build(&ctx()).unwrap_err();
    assert_eq!(e.option, "tier");
    assert!(e.message.contains("inside the document"), "{e}");
}

#[test]
fn executor_document_errors_are_named_under_executor_config() {
    let mut doc = inspected_document();
    doc["task"]["processes"][0]["cmdline"] = json!("run {{undefined}}");
    assert_eq!(
        passthrough(doc).build(&ctx()).unwrap_err().option,
        "executor_config.task.processes[0].cmdline"
    );
    let mut doc = inspected_document();
    doc["update_config"]["batch_size"] = json!(0);
    assert_eq!(
        passthrough(doc).build(&ctx()).unwrap_err().option,
        "executor_config.update_config.batch_size"
    );
}

#[test]
fn a_job_created_by_aurora_s_client_is_adopted_without_change() {
    // The Aurora client's bytes: another key order, another owner.
    let python_bytes = r#"{"environment": "devel", "health_check_config": {"initial_interval_secs": 15.0, "interval_secs": 10.0, "health_checker": {"http": {"expected_response_code": 0, "endpoint": "/health", "expected_response": "ok"}}, "max_consecutive_failures": 0, "timeout_secs": 1.0, "min_consecutive_successes": 1}, "cron_collision_policy": "KILL_EXISTING", "enable_hooks": false, "cluster": "devcluster", "task": {"processes": [{"daemon": false, "name": "hello", "ephemeral": false, "max_failures": 1, "min_duration": 5, "cmdline": "python -m http.server {{thermos.ports[http]}}", "final": false}], "name": "hello", "finalization_wait": 30, "max_failures": 1, "max_concurrency": 0, "resources": {"gpu": 0, "disk": 268435456, "ram": 134217728, "cpu": 0.5}, "constraints": []}, "production": false, "role": "www-data", "tier": "preemptible", "lifecycle": {"http": {"graceful_shutdown_endpoint": "/quitquitquit", "port": "health", "graceful_shutdown_wait_secs": 5, "shutdown_endpoint": "/abortabortabort", "shutdown_wait_secs": 5}}, "priority": 0, "name": "hello", "executor_config": {"data": "", "name": "AuroraExecutor"}, "max_task_failures": 1, "service": true, "metadata": []}"#;
    let tiers = stock_tiers();
    let job = hello().build(&with_tiers(&tiers)).unwrap();
    let mut running = job.task_config().clone();
    running.owner = Some(crate::api::types::Identity {
        user: Some("carol".into()),
    });
    running.executor_config.as_mut().unwrap().data = Some(python_bytes.into());
    assert_ne!(job.task_config(), &running);
    let mut desired = job.task_config().clone();
    adopt_running(&mut desired, &running);
    assert_eq!(desired, running);
}

#[test]
fn the_schema_carries_the_validator_conventions() {
    let schema = serde_json::to_value(schemars::schema_for!(JobOptions)).unwrap();
    let exclusive = &schema["x-mutually-exclusive"];
    assert!(exclusive
        .as_array()
        .unwrap()
        .contains(&json!(["executor_config", "task"])));
    // No schema rule requires `task`: state=absent needs only the key; build() names it.
    assert!(schema.get("x-required-one-of").is_none());
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, vec!["role", "environment", "name"]);
    let text = schema.to_string();
    assert!(text.contains(r#""format":"bytes""#), "sizes are marked");
    assert!(schema["properties"]["role"]["description"]
        .as_str()
        .unwrap()
        .contains("Role"));
}

/// A job using most options, for the snapshot of its executor data.
fn rich() -> JobOptions {
    from_yaml(
        r#"
role: ml
environment: prod
name: trainer
instances: 5
service: true
tier: preferred
priority: 10
max_task_failures: 3
contact: ml-team@example.com
metadata: {team: ml, "caf\u00e9": "cr\u00e8me"}
constraints: {rack: "!r1", host: "limit:1"}
container:
  mesos:
    image: {docker: {name: ml/trainer, tag: "1.4.2"}}
    volumes: [{container_path: /data, host_path: /srv/data, mode: RO}]
health_check:
  http: {endpoint: /ready, expected_response_code: 200}
  initial_interval_secs: 30
announce: {primary_port: http, zk_path: /aurora/ml}
sla_policy: {percentage: 80, duration_secs: 600}
partition_policy: {reschedule: true, delay_secs: 30}
task:
  processes:
    - {name: fetch, cmdline: "fetch-model {{name}} --to ./model", max_failures: 3}
    - name: serve
      cmdline: "serve --port %{thermos.ports[http]} --health %{thermos.ports[health]} --shard %{mesos.instance} --role {{role}}"
      logger: {destination: both, mode: rotate, rotate: {log_size: 50MiB, backups: 3}}
    - {name: cleanup, cmdline: "rm -rf ./model", final: true}
  ordering: [fetch, serve]
  resources: {cpu: 2, ram: 4GiB, disk: 10GiB, gpu: 1}
  max_concurrency: 2
  user: trainer
update:
  batch_size: 2
  watch_secs: 60
  max_total_failures: 1
"#,
    )
}

#[test]
fn snapshot_of_a_rich_job() {
    let tiers = stock_tiers();
    let job = rich().build(&with_tiers(&tiers)).unwrap();
    insta::assert_snapshot!("rich_job_executor_data", job.executor_data());
    insta::assert_json_snapshot!("rich_job_task_config", readable(job.task_config()));
    assert_eq!(job.settings.update_group_size, 2);
    assert!(
        job.executor_data().contains(r#""caf\u00e9": "#)
            || job.executor_data().contains(r#""key": "caf\u00e9""#)
    );
}

/// How the module embeds the options: flattened next to its own.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct ModuleOptions {
    #[serde(flatten)]
    job: JobOptions,
    #[allow(dead_code)]
    state: String,
}

#[test]
fn the_options_work_flattened_into_a_modules_options() {
    let options: ModuleOptions = serde_json::from_value(json!({
        "state": "present",
        "role": "www-data", "environment": "devel", "name": "hello", "instances": 2,
        "metadata": {"build": 42},
        "task": {"processes": [{"name": "hello", "cmdline": "python -m http.server {{thermos.ports[http]}}"}],
                 "resources": {"cpu": 0.5, "ram": "128MiB", "disk": 268435456}}
    }))
    .unwrap();
    assert_eq!(
        options.job.metadata.as_ref().unwrap()["build"],
        TextValue::from("42")
    );
    let mut expected = hello();
    expected.metadata = options.job.metadata.clone();
    assert_eq!(options.job, expected);
    let schema = serde_json::to_value(schemars::schema_for!(ModuleOptions)).unwrap();
    assert!(schema["x-mutually-exclusive"].is_array());
    assert!(schema["properties"]["state"].is_object());
    assert!(schema["properties"]["executor_config"].is_object());
}

#[test]
fn an_http_health_check_needs_a_port_named_health() {
    let mut options = hello();
    options.health_check = Some(HealthCheckOptions {
        http: Some(HttpHealthCheckOptions::default()),
        ..Default::default()
    });
    // hello() listens on the port named http only.
    let e = build_err(&options);
    assert_eq!(e.option, "health_check.http");
    assert!(e.message.contains("port named health"), "{e}");

    // An alias in the announcer's portmap gives the task a health port (client-reference §1.4).
    options.announce = Some(AnnounceOptions {
        portmap: Some(std::collections::BTreeMap::from([(
            "health".to_string(),
            TextValue::from("http"),
        )])),
        ..Default::default()
    });
    assert!(options.build(&ctx()).is_ok());

    // So does listening on it.
    options.announce = None;
    options.task.as_mut().unwrap().processes[0].cmdline =
        "serve {{thermos.ports[http]}} --admin {{thermos.ports[health]}}".into();
    assert!(options.build(&ctx()).is_ok());

    // A shell check needs no port.
    options.task.as_mut().unwrap().processes[0].cmdline = "serve {{thermos.ports[http]}}".into();
    options.health_check = Some(HealthCheckOptions {
        shell: Some(ShellHealthCheckOptions {
            command: "true".into(),
        }),
        ..Default::default()
    });
    assert!(options.build(&ctx()).is_ok());
}

#[test]
fn a_prod_job_without_a_tier_is_warned_that_it_is_not_production() {
    let mut options = hello();
    options.environment = "prod".into();
    let job = options.build(&ctx()).unwrap();
    assert!(
        job.warnings
            .iter()
            .any(|w| w.contains("not a production tier")),
        "{:?}",
        job.warnings
    );
    options.tier = Some("preferred".into());
    let job = options.build(&ctx()).unwrap();
    assert!(job.warnings.is_empty(), "{:?}", job.warnings);
}

/// `hello()` with these options set (top-level keys replaced).
fn hello_with(extra: Value) -> JobOptions {
    let mut all = serde_json::to_value(hello()).unwrap();
    for (key, value) in extra.as_object().unwrap() {
        all[key] = value.clone();
    }
    serde_json::from_value(all).unwrap()
}

/// Issue 18: values the scheduler or Thermos cannot mean, accepted before.
#[test]
fn counts_and_retries_that_mean_nothing_are_refused_naming_the_option() {
    let task = |process: Value, extra: Value| {
        let mut task = json!({"processes": [process], "resources": {"cpu": 1, "ram": "64MiB", "disk": "64MiB"}});
        for (key, value) in extra.as_object().unwrap() {
            task[key] = value.clone();
        }
        json!({"task": task})
    };
    let main = json!({"name": "main", "cmdline": "x"});
    let cases = [
        (
            json!({"max_task_failures": -2}),
            "max_task_failures",
            "at least -1",
        ),
        (
            json!({"partition_policy": {"delay_secs": -1}}),
            "partition_policy.delay_secs",
            "at least 0",
        ),
        (
            task(
                json!({"name": "main", "cmdline": "x", "max_failures": -3}),
                json!({}),
            ),
            "task.processes[0].max_failures",
            "is -3",
        ),
        (
            task(main.clone(), json!({"max_failures": -1})),
            "task.max_failures",
            "is -1",
        ),
        (
            task(main.clone(), json!({"finalization_wait": -5})),
            "task.finalization_wait",
            "is -5",
        ),
        (
            json!({"constraints": {"": "rack1"}}),
            "constraints",
            "attribute name",
        ),
        (
            json!({"constraints": {" rack": "r1"}}),
            "constraints",
            "attribute name",
        ),
        (
            json!({"instances": 1_000_000_000}),
            "instances",
            "-max_tasks_per_job",
        ),
        (json!({"instances": 4001}), "instances", "4000"),
    ];
    for (extra, option, says) in cases {
        let e = build_err(&hello_with(extra.clone()));
        assert_eq!(e.option, option, "{extra}: {e}");
        assert!(e.message.contains(says), "{extra}: {e}");
    }

    // The edges still pass: -1 retries for ever, 0 retries without limit, no delay.
    let accepted = hello_with(json!({
        "max_task_failures": -1,
        "partition_policy": {"reschedule": true, "delay_secs": 0},
        "instances": 4000,
        "task": {"processes": [{"name": "main", "cmdline": "x", "max_failures": 0}],
                 "resources": {"cpu": 1, "ram": "64MiB", "disk": "64MiB"}}
    }));
    assert!(accepted.build(&ctx()).is_ok());
}

#[test]
fn max_tasks_per_job_raises_the_instance_limit() {
    let mut options = hello();
    options.instances = Some(5000);
    assert_eq!(build_err(&options).option, "instances");
    options.max_tasks_per_job = Some(MaxTasksPerJob(10_000));
    assert_eq!(options.build(&ctx()).unwrap().instance_count(), 5000);
}

#[test]
fn an_executor_document_with_too_many_instances_is_refused() {
    let mut doc = inspected_document();
    doc["instances"] = json!(1e9);
    let e = passthrough(doc).build(&ctx()).unwrap_err();
    assert_eq!(e.option, "executor_config.instances");
    assert!(e.message.contains("4000"), "{e}");
}
