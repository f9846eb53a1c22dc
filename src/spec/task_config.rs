//! From a completed, resolved Thermos document to the `TaskConfig` the Aurora client sends
//! (client-reference §1.3-1.6): resources in whole MiB with the requested ports, constraints,
//! metadata, container, SLA and partition policies, and the document itself as executor data.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::constraints::constraints;
use super::error::{Source, SpecError};
use super::ports::Ports;
use super::pyjson;
use super::size::{Size, MIB};
use crate::api::types::{
    AppcImage, Container, CoordinatorSlaPolicy, CountSlaPolicy, DockerContainer, DockerImage,
    DockerParameter, ExecutorConfig, Identity, Image, JobKey, MesosContainer, Metadata, Mode,
    PartitionPolicy, PercentageSlaPolicy, Resource, SlaPolicy, TaskConfig, Volume,
    AURORA_EXECUTOR_NAME,
};

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_string)
}

fn int(map: &Map<String, Value>, key: &str) -> i64 {
    map.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn float(map: &Map<String, Value>, key: &str) -> f64 {
    map.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn flag(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn dict<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    map.get(key).and_then(Value::as_object)
}

fn list<'a>(map: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    map.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The job key the document names.
pub(crate) fn job_key(doc: &Map<String, Value>) -> JobKey {
    let part = |key| text(doc, key).unwrap_or_default();
    JobKey::new(&part("role"), &part("environment"), &part("name"))
}

/// The task's resources, checked positive as the client and the scheduler require.
fn resources(
    doc: &Map<String, Value>,
    ports: &Ports,
    source: Source,
) -> Result<Vec<Resource>, SpecError> {
    let empty = Map::new();
    let resources = dict(doc, "task")
        .and_then(|t| dict(t, "resources"))
        .unwrap_or(&empty);
    let cpu = float(resources, "cpu");
    if !(cpu > 0.0 && cpu.is_finite()) {
        return Err(source.error(
            "task.resources.cpu",
            format!("is {cpu}; give a positive number of cores, such as 0.5"),
        ));
    }
    let mib = |key: &str| -> Result<i64, SpecError> {
        let bytes = int(resources, key);
        if bytes < MIB as i64 {
            return Err(source.error(
                &format!("task.resources.{key}"),
                format!(
                    "is {} bytes; give at least 1MiB (sizes without a unit are bytes: write 512MiB rather than 512)",
                    bytes.max(0)
                ),
            ));
        }
        Ok(Size(bytes as u64).whole_mib() as i64)
    };
    let mut out = vec![
        Resource::NumCpus(cpu),
        Resource::RamMb(mib("ram")?),
        Resource::DiskMb(mib("disk")?),
    ];
    match int(resources, "gpu") {
        0 => {}
        gpu if gpu < 0 => {
            return Err(source.error(
                "task.resources.gpu",
                format!("is {gpu}; give 0 or more GPUs"),
            ))
        }
        gpu => out.push(Resource::NumGpus(gpu)),
    }
    out.extend(ports.requested.iter().cloned().map(Resource::NamedPort));
    Ok(out)
}

/// Health-check numbers the client refuses when negative (§1.9).
pub(crate) fn check_health(doc: &Map<String, Value>, source: Source) -> Result<(), SpecError> {
    let Some(config) = dict(doc, "health_check_config") else {
        return Ok(());
    };
    for key in [
        "initial_interval_secs",
        "interval_secs",
        "max_consecutive_failures",
        "min_consecutive_successes",
        "timeout_secs",
    ] {
        let value = float(config, key);
        if value < 0.0 {
            return Err(source.error(
                &format!("health_check_config.{key}"),
                format!("is {value}; it must be 0 or more"),
            ));
        }
    }
    Ok(())
}

fn metadata(doc: &Map<String, Value>) -> Vec<Metadata> {
    let mut out: Vec<Metadata> = list(doc, "metadata")
        .iter()
        .filter_map(Value::as_object)
        .map(|m| Metadata {
            key: text(m, "key"),
            value: text(m, "value"),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn container(doc: &Map<String, Value>) -> Container {
    let Some(container) = dict(doc, "container") else {
        return Container::Mesos(MesosContainer::default());
    };
    let docker = dict(container, "docker").or_else(|| {
        container
            .get("image")
            .is_some_and(Value::is_string)
            .then_some(container)
    });
    if let Some(docker) = docker {
        return Container::Docker(DockerContainer {
            image: text(docker, "image"),
            parameters: Some(
                list(docker, "parameters")
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|p| DockerParameter {
                        name: text(p, "name"),
                        value: text(p, "value"),
                    })
                    .collect(),
            ),
        });
    }
    let image = dict(container, "image").map(|image| match text(image, "image_id") {
        Some(image_id) => Image::Appc(AppcImage {
            name: text(image, "name"),
            image_id: Some(image_id),
        }),
        None => Image::Docker(DockerImage {
            name: text(image, "name"),
            tag: text(image, "tag"),
        }),
    });
    let volumes = list(container, "volumes")
        .iter()
        .filter_map(Value::as_object)
        .map(|v| Volume {
            container_path: text(v, "container_path"),
            host_path: text(v, "host_path"),
            mode: Some(if text(v, "mode").as_deref() == Some("RW") {
                Mode::RW
            } else {
                Mode::RO
            }),
        })
        .collect();
    Container::Mesos(MesosContainer {
        image,
        volumes: Some(volumes),
    })
}

fn sla_policy(doc: &Map<String, Value>) -> Option<SlaPolicy> {
    let sla = dict(doc, "sla_policy")?;
    Some(if sla.contains_key("percentage") {
        SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
            percentage: float(sla, "percentage"),
            duration_secs: int(sla, "duration_secs"),
        })
    } else if sla.contains_key("count") {
        SlaPolicy::CountSlaPolicy(CountSlaPolicy {
            count: int(sla, "count"),
            duration_secs: int(sla, "duration_secs"),
        })
    } else {
        SlaPolicy::CoordinatorSlaPolicy(CoordinatorSlaPolicy {
            coordinator_url: text(sla, "coordinator_url"),
            status_key: text(sla, "status_key"),
        })
    })
}

/// Checks SLA values that no scheduler setting could make acceptable.
pub(crate) fn check_sla(
    doc: &Map<String, Value>,
    instances: i32,
    source: Source,
) -> Result<(), SpecError> {
    let Some(sla) = dict(doc, "sla_policy") else {
        return Ok(());
    };
    if sla.contains_key("percentage") {
        let percentage = float(sla, "percentage");
        if !(percentage > 0.0 && percentage < 100.0) {
            return Err(source.error(
                "sla_policy.percentage",
                format!("is {percentage}; give a share between 0 and 100 (exclusive), so that at least one instance may go down"),
            ));
        }
        // The scheduler's rule: the policy must let at least one whole instance go down.
        let total = f64::from(instances);
        if total - total * percentage / 100.0 < 1.0 {
            return Err(source.error(
                "sla_policy.percentage",
                format!(
                    "is {percentage}, which with {instances} instance(s) lets no instance go down;                      lower it to at most {}",
                    100.0 - 100.0 / total
                ),
            ));
        }
    }
    if sla.contains_key("count") {
        let count = int(sla, "count");
        if count < 1 || count >= i64::from(instances) {
            return Err(source.error(
                "sla_policy.count",
                format!("is {count}; give at least 1 and fewer than the {instances} instance(s), so that one may go down"),
            ));
        }
    }
    if sla.contains_key("duration_secs") && int(sla, "duration_secs") < 0 {
        return Err(source.error("sla_policy.duration_secs", "must be 0 or more seconds"));
    }
    Ok(())
}

fn partition_policy(doc: &Map<String, Value>) -> Option<PartitionPolicy> {
    let policy = dict(doc, "partition_policy")?;
    Some(PartitionPolicy {
        reschedule: flag(policy, "reschedule"),
        delay_secs: Some(int(policy, "delay_secs")),
    })
}

/// The executor config: the document itself for Thermos, or the data of another executor.
fn executor_config(doc: &Map<String, Value>) -> ExecutorConfig {
    let executor = dict(doc, "executor_config");
    let name = executor
        .and_then(|e| text(e, "name"))
        .unwrap_or_else(|| AURORA_EXECUTOR_NAME.to_string());
    let data = if name == AURORA_EXECUTOR_NAME {
        pyjson::dumps(&Value::Object(doc.clone()))
    } else {
        executor.and_then(|e| text(e, "data")).unwrap_or_default()
    };
    ExecutorConfig {
        name: Some(name),
        data: Some(data),
    }
}

/// The TaskConfig of a completed, resolved, checked document.
pub(crate) fn task_config(
    doc: &Map<String, Value>,
    ports: &Ports,
    owner: &str,
    source: Source,
) -> Result<TaskConfig, SpecError> {
    let role = text(doc, "role").unwrap_or_default();
    Ok(TaskConfig {
        job: Some(job_key(doc)),
        owner: Some(Identity {
            user: Some(owner.to_string()),
        }),
        is_service: flag(doc, "service"),
        priority: clamp(int(doc, "priority"), "priority", source)?,
        max_task_failures: clamp(int(doc, "max_task_failures"), "max_task_failures", source)?,
        production: Some(flag(doc, "production")),
        tier: text(doc, "tier"),
        resources: Some(resources(doc, ports, source)?),
        constraints: Some(constraints(dict(doc, "constraints"), &role, source)?),
        mesos_fetcher_uris: None,
        task_links: Some(BTreeMap::new()),
        contact_email: text(doc, "contact"),
        executor_config: Some(executor_config(doc)),
        metadata: Some(metadata(doc)),
        partition_policy: partition_policy(doc),
        sla_policy: sla_policy(doc),
        container: Some(container(doc)),
    })
}

fn clamp(value: i64, key: &str, source: Source) -> Result<i32, SpecError> {
    i32::try_from(value).map_err(|_| source.error(key, format!("{value} is out of range")))
}
