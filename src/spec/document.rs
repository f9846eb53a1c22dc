//! From the module's options to a Thermos job document (client-reference §1.8): the same shape
//! a `.aurora` file gives the Aurora client, before defaults and templates are applied.

use serde_json::{json, Map, Value};

use super::options::{
    AnnounceOptions, ContainerOptions, HealthCheckOptions, JobOptions, LifecycleOptions,
    PartitionPolicyOptions, SlaPolicyOptions, VolumeMode,
};
use super::task_options::{LoggerOptions, ProcessOptions, TaskOptions};

/// The job's Thermos document, every key the Aurora client writes included. `instances` and
/// `update_config` are not part of it: they travel outside the executor's data.
pub(crate) fn document(
    options: &JobOptions,
    task: &TaskOptions,
    cluster: &str,
) -> Map<String, Value> {
    let mut doc = Map::new();
    let mut put = |key: &str, value: Value| {
        doc.insert(key.to_string(), value);
    };
    put("name", json!(options.name));
    put("role", json!(options.role));
    put("environment", json!(options.environment));
    put("cluster", json!(cluster));
    put("service", json!(options.service.unwrap_or(true)));
    put("priority", json!(options.priority.unwrap_or(0)));
    put(
        "max_task_failures",
        json!(options.max_task_failures.unwrap_or(1)),
    );
    put("production", json!(false));
    if let Some(tier) = &options.tier {
        put("tier", json!(tier));
    }
    if let Some(contact) = &options.contact {
        put("contact", json!(contact));
    }
    let metadata: Vec<Value> = options
        .metadata
        .iter()
        .flatten()
        .map(|(key, value)| json!({"key": key, "value": value.as_str()}))
        .collect();
    put("metadata", Value::Array(metadata));
    if let Some(constraints) = options.constraints.as_ref().filter(|c| !c.is_empty()) {
        let map: Map<String, Value> = constraints
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.as_str())))
            .collect();
        put("constraints", Value::Object(map));
    }
    if let Some(container) = &options.container {
        put("container", container_document(container));
    }
    put(
        "health_check_config",
        health_check_document(
            options
                .health_check
                .as_ref()
                .unwrap_or(&HealthCheckOptions::default()),
        ),
    );
    put(
        "lifecycle",
        lifecycle_document(
            options
                .lifecycle
                .as_ref()
                .unwrap_or(&LifecycleOptions::default()),
        ),
    );
    if let Some(announce) = &options.announce {
        put("announce", announce_document(announce));
    }
    if let Some(sla) = &options.sla_policy {
        put("sla_policy", sla_document(sla));
    }
    if let Some(PartitionPolicyOptions {
        reschedule,
        delay_secs,
    }) = &options.partition_policy
    {
        put(
            "partition_policy",
            json!({"reschedule": reschedule, "delay_secs": delay_secs}),
        );
    }
    put("cron_collision_policy", json!("KILL_EXISTING"));
    put("enable_hooks", json!(false));
    put(
        "executor_config",
        json!({"name": crate::api::types::AURORA_EXECUTOR_NAME, "data": ""}),
    );
    put("task", task_document(task));
    doc
}

pub(super) fn task_document(task: &TaskOptions) -> Value {
    let order: Vec<Value> = task
        .ordering
        .iter()
        .flat_map(|o| o.chains())
        .map(|chain| json!({"order": chain}))
        .collect();
    let mut doc = json!({
        "name": task.name.clone().unwrap_or_else(|| "{{processes[0].name}}".to_string()),
        "processes": task.processes.iter().map(process_document).collect::<Vec<_>>(),
        "constraints": order,
        "resources": {
            "cpu": task.resources.cpu,
            "ram": task.resources.ram.bytes(),
            "disk": task.resources.disk.bytes(),
            "gpu": task.resources.gpu,
        },
        "max_failures": task.max_failures,
        "max_concurrency": task.max_concurrency,
        "finalization_wait": task.finalization_wait,
    });
    if let (Some(user), Value::Object(map)) = (&task.user, &mut doc) {
        map.insert("user".into(), json!(user));
    }
    doc
}

pub(super) fn process_document(process: &ProcessOptions) -> Value {
    let mut doc = json!({
        "name": process.name,
        "cmdline": process.cmdline,
        "max_failures": process.max_failures,
        "daemon": process.daemon,
        "ephemeral": process.ephemeral,
        "min_duration": process.min_duration,
        "final": process.is_final,
    });
    if let (Some(logger), Value::Object(map)) = (&process.logger, &mut doc) {
        map.insert("logger".into(), logger_document(logger));
    }
    doc
}

pub(super) fn logger_document(logger: &LoggerOptions) -> Value {
    let mut doc = json!({
        "destination": logger.destination.as_str(),
        "mode": logger.mode.as_str(),
    });
    if let (Some(rotate), Value::Object(map)) = (&logger.rotate, &mut doc) {
        map.insert(
            "rotate".into(),
            json!({"log_size": rotate.log_size.bytes(), "backups": rotate.backups}),
        );
    }
    doc
}

fn container_document(container: &ContainerOptions) -> Value {
    if let Some(docker) = &container.docker {
        let parameters: Vec<Value> = docker
            .parameters
            .iter()
            .map(|p| json!({"name": p.name, "value": p.value.as_str()}))
            .collect();
        return json!({"image": docker.image, "parameters": parameters});
    }
    let mesos = container.mesos.clone().unwrap_or_default();
    let volumes: Vec<Value> = mesos
        .volumes
        .iter()
        .map(|v| {
            json!({
                "container_path": v.container_path,
                "host_path": v.host_path,
                "mode": match v.mode { VolumeMode::RW => "RW", VolumeMode::RO => "RO" },
            })
        })
        .collect();
    let mut doc = json!({"volumes": volumes});
    let image = mesos
        .image
        .as_ref()
        .and_then(|image| match (&image.docker, &image.appc) {
            (Some(d), _) => Some(json!({"name": d.name, "tag": d.tag.as_str()})),
            (None, Some(a)) => Some(json!({"name": a.name, "image_id": a.image_id})),
            (None, None) => None,
        });
    if let (Some(image), Value::Object(map)) = (image, &mut doc) {
        map.insert("image".into(), image);
    }
    doc
}

fn health_check_document(check: &HealthCheckOptions) -> Value {
    let checker = match (&check.http, &check.shell) {
        (_, Some(shell)) if check.http.is_none() => {
            json!({"shell": {"shell_command": shell.command}})
        }
        (http, _) => {
            let http = http.clone().unwrap_or_default();
            json!({"http": {
                "endpoint": http.endpoint,
                "expected_response": http.expected_response,
                "expected_response_code": http.expected_response_code,
            }})
        }
    };
    json!({
        "health_checker": checker,
        "initial_interval_secs": check.initial_interval_secs,
        "interval_secs": check.interval_secs,
        "max_consecutive_failures": check.max_consecutive_failures,
        "min_consecutive_successes": check.min_consecutive_successes,
        "timeout_secs": check.timeout_secs,
    })
}

fn lifecycle_document(lifecycle: &LifecycleOptions) -> Value {
    if !lifecycle.enabled {
        return json!({});
    }
    json!({"http": {
        "port": lifecycle.port.as_deref().unwrap_or("health"),
        "graceful_shutdown_endpoint":
            lifecycle.graceful_shutdown_endpoint.as_deref().unwrap_or("/quitquitquit"),
        "shutdown_endpoint": lifecycle.shutdown_endpoint.as_deref().unwrap_or("/abortabortabort"),
        "graceful_shutdown_wait_secs": lifecycle.graceful_shutdown_wait_secs.unwrap_or(5),
        "shutdown_wait_secs": lifecycle.shutdown_wait_secs.unwrap_or(5),
    }})
}

fn announce_document(announce: &AnnounceOptions) -> Value {
    let portmap: Map<String, Value> = match &announce.portmap {
        Some(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.as_str())))
            .collect(),
        None => [("aurora".to_string(), json!("{{primary_port}}"))]
            .into_iter()
            .collect(),
    };
    let mut doc = json!({"primary_port": announce.primary_port, "portmap": portmap});
    if let (Some(zk_path), Value::Object(map)) = (&announce.zk_path, &mut doc) {
        map.insert("zk_path".into(), json!(zk_path));
    }
    doc
}

/// The SLA policy document; which kind it is was checked with the other options.
fn sla_document(sla: &SlaPolicyOptions) -> Value {
    if let Some(url) = &sla.coordinator_url {
        return json!({
            "coordinator_url": url,
            "status_key": sla.status_key.as_deref().unwrap_or("drain"),
        });
    }
    let duration = sla.duration_secs.unwrap_or(0);
    match (sla.percentage, sla.count) {
        (Some(percentage), _) => json!({"percentage": percentage, "duration_secs": duration}),
        (None, count) => json!({"count": count.unwrap_or(0), "duration_secs": duration}),
    }
}
