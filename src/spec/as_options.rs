//! A job configuration as the scheduler stores it (a `TaskConfig` with its Thermos document)
//! turned back into the module's options, as a playbook writes them: the reverse of
//! `document.rs`, for `--diff` of the job and cron_job modules. Option names in snake_case,
//! sizes as `128MiB`, processes keyed by name, constraints and metadata as dicts, and options
//! left at their defaults left out, so that each change shows once, under the option that
//! makes it. The Thermos document is the source for everything it carries (the `TaskConfig`'s
//! resources and constraints are derived from it); the `TaskConfig` for the fields the
//! scheduler fills or keeps typed (tier, priority, service...), and for resources when a task
//! has no Thermos document.

use serde_json::{json, Map, Value};

use super::compare::same_value;
use super::document::{document, logger_document, process_document, task_document};
use super::options::JobOptions;
use super::size::Size;
use super::task_options::{LoggerOptions, ProcessOptions, TaskOptions};
use crate::api::types::{Resource, TaskConfig};

/// The job's options: `instances` and every option of `JobOptions` that its configuration
/// sets to something other than the default. Keys are sorted (as Ansible prints a diff).
pub fn as_options(instances: i32, config: &TaskConfig) -> Value {
    let doc = thermos_document(config).unwrap_or_default();
    let defaults = Value::Object(document(
        &JobOptions::default(),
        &TaskOptions::default(),
        "",
    ));
    let mut options = Map::new();
    options.insert("instances".into(), json!(instances));
    if !config.is_service {
        options.insert("service".into(), json!(false));
    }
    if let Some(tier) = &config.tier {
        options.insert("tier".into(), json!(tier));
    }
    if config.priority != 0 {
        options.insert("priority".into(), json!(config.priority));
    }
    if config.max_task_failures != 1 {
        options.insert("max_task_failures".into(), json!(config.max_task_failures));
    }
    if let Some(contact) = &config.contact_email {
        options.insert("contact".into(), json!(contact));
    }
    let metadata = metadata(&doc);
    if !metadata.is_empty() {
        options.insert("metadata".into(), Value::Object(metadata));
    }
    if let Some(constraints) = doc.get("constraints").filter(|c| !is_empty(c)) {
        options.insert("constraints".into(), constraints.clone());
    }
    if let Some(container) = doc.get("container").and_then(Value::as_object) {
        options.insert("container".into(), container_options(container));
    }
    if let Some(check) = doc.get("health_check_config").and_then(Value::as_object) {
        let check = health_check_options(check, &defaults);
        if !check.is_empty() {
            options.insert("health_check".into(), Value::Object(check));
        }
    }
    if let Some(announce) = doc.get("announce").and_then(Value::as_object) {
        options.insert("announce".into(), announce_options(announce));
    }
    if let Some(lifecycle) = doc.get("lifecycle") {
        if !same_value(lifecycle, &defaults["lifecycle"]) {
            options.insert("lifecycle".into(), lifecycle_options(lifecycle, &defaults));
        }
    }
    if let Some(Value::Object(sla)) = doc.get("sla_policy") {
        let mut sla = sla.clone();
        drop_if(&mut sla, "status_key", &json!("drain"));
        options.insert("sla_policy".into(), Value::Object(sla));
    }
    if let Some(Value::Object(policy)) = doc.get("partition_policy") {
        let mut policy = policy.clone();
        drop_if(&mut policy, "reschedule", &json!(true));
        drop_if(&mut policy, "delay_secs", &json!(0));
        options.insert("partition_policy".into(), Value::Object(policy));
    }
    if doc.get("enable_hooks").and_then(Value::as_bool) == Some(true) {
        // Not an option of the module, but it changes what runs: shown under its own name.
        options.insert("enable_hooks".into(), json!(true));
    }
    let task = match doc.get("task").and_then(Value::as_object) {
        Some(task) => task_options(task),
        None => task_from_resources(config),
    };
    if !task.is_empty() {
        options.insert("task".into(), Value::Object(task));
    }
    Value::Object(options)
}

/// The cluster the job's Thermos document names, if it has one.
pub fn cluster_of(config: &TaskConfig) -> Option<String> {
    thermos_document(config)?
        .get("cluster")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn thermos_document(config: &TaskConfig) -> Option<Map<String, Value>> {
    let data = config.executor_config.as_ref()?.data.as_deref()?;
    match serde_json::from_str(data) {
        Ok(Value::Object(doc)) => Some(doc),
        _ => None,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Removes `key` from `map` when it has the default value (numbers compared by value).
fn drop_if(map: &mut Map<String, Value>, key: &str, default: &Value) {
    if map.get(key).is_some_and(|v| same_value(v, default)) {
        map.remove(key);
    }
}

/// Removes every key whose value is the one `defaults` gives it.
fn drop_defaults(map: &mut Map<String, Value>, defaults: &Value) {
    if let Some(defaults) = defaults.as_object() {
        for (key, default) in defaults {
            drop_if(map, key, default);
        }
    }
}

/// The document's `[{key, value}]` list as the option's dict.
fn metadata(doc: &Map<String, Value>) -> Map<String, Value> {
    doc.get("metadata")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let key = item.get("key")?.as_str()?;
            Some((key.to_string(), item.get("value")?.clone()))
        })
        .collect()
}

/// `{docker: {image, parameters}}` or `{mesos: {image: {docker|appc}, volumes}}`; the
/// document writes a Docker container flat or in the legacy `docker` wrapper.
fn container_options(container: &Map<String, Value>) -> Value {
    let docker = container
        .get("docker")
        .and_then(Value::as_object)
        .or(container
            .get("image")
            .is_some_and(Value::is_string)
            .then_some(container));
    if let Some(docker) = docker {
        let mut docker = docker.clone();
        drop_if(&mut docker, "parameters", &json!([]));
        return json!({ "docker": docker });
    }
    let mut mesos = Map::new();
    if let Some(image) = container.get("image").and_then(Value::as_object) {
        let kind = if image.contains_key("image_id") {
            "appc"
        } else {
            "docker"
        };
        mesos.insert("image".into(), json!({ kind: image }));
    }
    if let Some(volumes) = container.get("volumes").filter(|v| !is_empty(v)) {
        mesos.insert("volumes".into(), volumes.clone());
    }
    json!({ "mesos": mesos })
}

/// `health_check_config` as `health_check`: the kind of check (`http` only when not the
/// default one, `shell` with its `command`) and the timings that differ from the defaults.
fn health_check_options(check: &Map<String, Value>, defaults: &Value) -> Map<String, Value> {
    let default_check = &defaults["health_check_config"];
    let mut options = check.clone();
    let checker = options.remove("health_checker");
    drop_defaults(&mut options, default_check);
    match checker {
        Some(Value::Object(mut checker)) => {
            if let Some(Value::Object(shell)) = checker.remove("shell") {
                let command = shell.get("shell_command").cloned().unwrap_or_default();
                options.insert("shell".into(), json!({ "command": command }));
            } else if let Some(Value::Object(mut http)) = checker.remove("http") {
                drop_defaults(&mut http, &default_check["health_checker"]["http"]);
                if !http.is_empty() {
                    options.insert("http".into(), Value::Object(http));
                }
            }
        }
        Some(other) if !other.is_null() => {
            options.insert("health_checker".into(), other);
        }
        _ => {}
    }
    options
}

/// `announce` keeps its shape; the default `portmap` (`aurora` to the primary port) is left out.
fn announce_options(announce: &Map<String, Value>) -> Value {
    let mut options = announce.clone();
    if let (Some(primary), Some(Value::Object(portmap))) =
        (announce.get("primary_port"), announce.get("portmap"))
    {
        let only_aurora = portmap.len() == 1
            && portmap
                .get("aurora")
                .is_some_and(|p| p == primary || p == "{{primary_port}}");
        if only_aurora {
            options.remove("portmap");
        }
    }
    Value::Object(options)
}

/// `lifecycle`: `enabled: false` for an empty one, else its HTTP settings that differ from the
/// defaults (names as in the options: the document nests them under `http`).
fn lifecycle_options(lifecycle: &Value, defaults: &Value) -> Value {
    match lifecycle.get("http").and_then(Value::as_object) {
        Some(http) => {
            let mut http = http.clone();
            drop_defaults(&mut http, &defaults["lifecycle"]["http"]);
            Value::Object(http)
        }
        None if is_empty(lifecycle) => json!({ "enabled": false }),
        None => lifecycle.clone(),
    }
}

/// The document's `task`: processes keyed by name, `ordering` from the order constraints,
/// sizes as written, the task's name only when it is not its first process's.
fn task_options(task: &Map<String, Value>) -> Map<String, Value> {
    let defaults = task_document(&TaskOptions::default());
    let mut options = task.clone();
    let processes = options.remove("processes");
    let orders = options.remove("constraints");
    let resources = options.remove("resources");
    drop_defaults(&mut options, &defaults);

    let processes: Vec<&Map<String, Value>> = processes
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect();
    let first_name = processes.first().and_then(|p| p.get("name"));
    if options.get("name").is_some_and(|n| Some(n) == first_name) {
        options.remove("name");
    }
    if !processes.is_empty() {
        let by_name: Map<String, Value> = processes
            .iter()
            .map(|process| {
                let name = process.get("name").and_then(Value::as_str).unwrap_or("");
                (name.to_string(), Value::Object(process_options(process)))
            })
            .collect();
        options.insert("processes".into(), Value::Object(by_name));
    }
    if let Some(ordering) = ordering(orders.as_ref()) {
        options.insert("ordering".into(), ordering);
    }
    if let Some(Value::Object(resources)) = resources {
        options.insert("resources".into(), resources_options(&resources));
    }
    options
}

/// One process, without its name (the key it is listed under) and its defaults.
fn process_options(process: &Map<String, Value>) -> Map<String, Value> {
    let mut options = process.clone();
    options.remove("name");
    let logger = options.remove("logger");
    let mut defaults = process_document(&ProcessOptions::default());
    if let Some(defaults) = defaults.as_object_mut() {
        defaults.remove("cmdline");
    }
    drop_defaults(&mut options, &defaults);
    if let Some(Value::Object(mut logger)) = logger {
        drop_defaults(&mut logger, &logger_document(&LoggerOptions::default()));
        if let Some(Value::Object(rotate)) = logger.get_mut("rotate") {
            if let Some(bytes) = rotate.get("log_size").and_then(Value::as_u64) {
                rotate.insert("log_size".into(), json!(Size(bytes).as_written()));
            }
        }
        if !logger.is_empty() {
            options.insert("logger".into(), Value::Object(logger));
        }
    }
    options
}

/// The order constraints `[{order: [a, b]}]` as `ordering`: one chain, or a list of chains.
fn ordering(orders: Option<&Value>) -> Option<Value> {
    let chains: Vec<Value> = orders?
        .as_array()?
        .iter()
        .filter_map(|c| c.get("order").cloned())
        .collect();
    match chains.len() {
        0 => None,
        1 => chains.into_iter().next(),
        _ => Some(Value::Array(chains)),
    }
}

/// `cpu`, `ram` and `disk` as written (`128MiB`), `gpu` when there are any.
fn resources_options(resources: &Map<String, Value>) -> Value {
    let mut options = resources.clone();
    for key in ["ram", "disk"] {
        if let Some(bytes) = resources.get(key).and_then(Value::as_u64) {
            options.insert(key.into(), json!(Size(bytes).as_written()));
        }
    }
    drop_if(&mut options, "gpu", &json!(0));
    Value::Object(options)
}

/// The resources of a task without a Thermos document, from the `TaskConfig` (whole MiB).
fn task_from_resources(config: &TaskConfig) -> Map<String, Value> {
    let mut resources = Map::new();
    for resource in config.resources.as_deref().unwrap_or_default() {
        let mib = |n: &i64| json!(Size::mib(u64::try_from(*n).unwrap_or(0)).as_written());
        match resource {
            Resource::NumCpus(cpu) => resources.insert("cpu".into(), json!(cpu)),
            Resource::RamMb(n) => resources.insert("ram".into(), mib(n)),
            Resource::DiskMb(n) => resources.insert("disk".into(), mib(n)),
            Resource::NumGpus(n) if *n != 0 => resources.insert("gpu".into(), json!(n)),
            Resource::NumGpus(_) | Resource::NamedPort(_) => None,
        };
    }
    let mut task = Map::new();
    if !resources.is_empty() {
        task.insert("resources".into(), Value::Object(resources));
    }
    task
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::ExecutorConfig;
    use crate::spec::{BuildContext, Job};

    fn build(yaml: &str) -> Job {
        let options: JobOptions = serde_yaml_ng::from_str(yaml).expect("valid options");
        options
            .build(&BuildContext {
                cluster: "devcluster",
                owner: "alice",
                tiers: None,
            })
            .expect("a valid job")
    }

    fn view(yaml: &str) -> Value {
        let job = build(yaml);
        as_options(job.instance_count(), job.task_config())
    }

    const HELLO: &str = r#"
role: www-data
environment: prod
name: hello
instances: 2
task:
  processes:
    - {name: fetch, cmdline: "curl -O https://example.com/app.tar.gz"}
    - {name: serve, cmdline: "./app --port %{thermos.ports[http]}", daemon: true}
  resources: {cpu: 0.5, ram: 128MiB, disk: 1536MiB}
"#;

    #[test]
    fn sizes_are_shown_as_written_not_in_bytes_nor_as_ram_mb() {
        let options = view(HELLO);
        let resources = &options["task"]["resources"];
        assert_eq!(
            resources,
            &json!({"cpu": 0.5, "ram": "128MiB", "disk": "1536MiB"})
        );
        let text = options.to_string();
        for raw in [
            "134217728",
            "ramMb",
            "RamMb",
            "executorConfig",
            "task_config",
        ] {
            assert!(!text.contains(raw), "{raw} in {text}");
        }
    }

    #[test]
    fn processes_are_keyed_by_name_with_only_what_differs_from_the_defaults() {
        let options = view(HELLO);
        assert_eq!(
            options["task"]["processes"],
            json!({
                "fetch": {"cmdline": "curl -O https://example.com/app.tar.gz"},
                "serve": {"cmdline": "./app --port {{thermos.ports[http]}}", "daemon": true},
            })
        );
        assert!(
            options["task"].get("name").is_none(),
            "the task's name is its first process's: left out"
        );
    }

    #[test]
    fn options_left_at_their_defaults_are_left_out() {
        let options = view(HELLO);
        let keys: Vec<&str> = options
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["instances", "task"]);
        assert_eq!(
            options["task"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["processes", "resources"]
        );
    }

    #[test]
    fn ordering_constraints_metadata_and_health_check_keep_the_options_shape() {
        let options = view(
            r#"
role: www-data
environment: prod
name: hello
service: false
priority: 5
metadata: {team: web, build: 42}
constraints: {rack: "!r1", host: "limit:1"}
health_check: {shell: {command: "test -f ready"}, interval_secs: 30}
lifecycle: {enabled: false}
container: {docker: {image: "python:3.12-slim"}}
task:
  processes:
    - {name: fetch, cmdline: fetch, logger: {mode: rotate, rotate: {log_size: 50MiB, backups: 3}}}
    - {name: run, cmdline: run}
  ordering: [fetch, run]
  resources: {cpu: 1, ram: 2GiB, disk: 1GiB, gpu: 1}
"#,
        );
        assert_eq!(options["service"], false);
        assert_eq!(options["priority"], 5);
        assert_eq!(options["metadata"], json!({"team": "web", "build": "42"}));
        assert_eq!(
            options["constraints"],
            json!({"rack": "!r1", "host": "limit:1"})
        );
        assert_eq!(
            options["health_check"],
            json!({"shell": {"command": "test -f ready"}, "interval_secs": 30.0})
        );
        assert_eq!(options["lifecycle"], json!({"enabled": false}));
        assert_eq!(
            options["container"],
            json!({"docker": {"image": "python:3.12-slim"}})
        );
        assert_eq!(options["task"]["ordering"], json!(["fetch", "run"]));
        assert_eq!(
            options["task"]["resources"],
            json!({"cpu": 1.0, "ram": "2GiB", "disk": "1GiB", "gpu": 1})
        );
        assert_eq!(
            options["task"]["processes"]["fetch"]["logger"],
            json!({"mode": "rotate", "rotate": {"log_size": "50MiB", "backups": 3}})
        );
    }

    /// What the view shows can be pasted back as options (processes as a list again) and
    /// builds the same job.
    #[test]
    fn the_view_reads_back_as_the_same_options() {
        let yaml = r#"
role: ml
environment: prod
name: trainer
instances: 5
tier: preferred
priority: 10
max_task_failures: 3
contact: ml-team@example.com
metadata: {team: ml}
constraints: {rack: "!r1", host: "limit:1"}
container:
  mesos:
    image: {docker: {name: ml/trainer, tag: "1.4.2"}}
    volumes: [{container_path: /data, host_path: /srv/data, mode: RO}]
health_check:
  http: {endpoint: /ready, expected_response_code: 200}
  initial_interval_secs: 30
announce: {primary_port: http, zk_path: /aurora/ml}
lifecycle: {graceful_shutdown_wait_secs: 10}
sla_policy: {percentage: 80, duration_secs: 600}
partition_policy: {reschedule: true, delay_secs: 30}
task:
  processes:
    - {name: fetch, cmdline: "fetch-model --to ./model", max_failures: 3}
    - {name: serve, cmdline: "serve --port %{thermos.ports[http]} --health %{thermos.ports[health]}"}
    - {name: cleanup, cmdline: "rm -rf ./model", final: true}
  ordering: [fetch, serve]
  resources: {cpu: 2, ram: 4GiB, disk: 10GiB, gpu: 1}
  max_concurrency: 2
  user: trainer
"#;
        let job = build(yaml);
        let mut options = as_options(job.instance_count(), job.task_config());
        let processes: Vec<Value> = options["task"]["processes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, process)| {
                let mut process = process.clone();
                process["name"] = json!(name);
                process
            })
            .collect();
        // Keyed by name, the processes come back sorted; their order in the task is free.
        let order = ["fetch", "serve", "cleanup"];
        let mut processes = processes;
        processes.sort_by_key(|p| order.iter().position(|n| p["name"] == *n));
        options["task"]["processes"] = Value::Array(processes);
        options["role"] = json!("ml");
        options["environment"] = json!("prod");
        options["name"] = json!("trainer");
        let again: JobOptions = serde_json::from_value(options).expect("the view is options");
        let rebuilt = again
            .build(&BuildContext {
                cluster: "devcluster",
                owner: "alice",
                tiers: None,
            })
            .unwrap();
        assert_eq!(rebuilt.config, job.config);
    }

    #[test]
    fn a_task_without_a_thermos_document_shows_its_resources() {
        let config = TaskConfig {
            is_service: true,
            max_task_failures: 1,
            resources: Some(vec![
                Resource::NumCpus(1.0),
                Resource::RamMb(2048),
                Resource::DiskMb(512),
                Resource::NamedPort("http".into()),
            ]),
            executor_config: Some(ExecutorConfig {
                name: Some("custom".into()),
                data: Some("not json".into()),
            }),
            ..TaskConfig::default()
        };
        assert_eq!(
            as_options(1, &config),
            json!({"instances": 1, "task": {"resources": {"cpu": 1.0, "ram": "2GiB", "disk": "512MiB"}}})
        );
    }

    #[test]
    fn the_cluster_is_read_from_the_document() {
        let job = build(HELLO);
        assert_eq!(cluster_of(job.task_config()).as_deref(), Some("devcluster"));
        assert_eq!(cluster_of(&TaskConfig::default()), None);
    }
}
