//! The scheduler's validate-and-populate of job configurations (api-reference §4.2, §4.3): the
//! checks, in the scheduler's order, and the defaults it fills in (what populateJobConfig returns).

use std::collections::BTreeMap;

use regex::Regex;

use crate::api::types::{
    Constraint, Container, JobConfiguration, JobKey, MesosContainer, Resource, SlaPolicy,
    TaskConfig, TaskConstraint, AURORA_EXECUTOR_NAME,
};
use crate::sim::config::SchedulerFlags;

/// A tier of the stock tier file (§4.4 getTierConfigs).
#[derive(Clone, Debug)]
pub struct Tier {
    pub name: &'static str,
    pub preemptible: bool,
    pub revocable: bool,
}

impl Tier {
    /// Production = neither preemptible nor revocable (§3.3.3 TaskConfig.production).
    pub fn is_production(&self) -> bool {
        !self.preemptible && !self.revocable
    }
}

pub const DEFAULT_TIER: &str = "preemptible";
pub const TIERS: &[Tier] = &[
    Tier {
        name: "preferred",
        preemptible: false,
        revocable: false,
    },
    Tier {
        name: "preemptible",
        preemptible: true,
        revocable: false,
    },
    Tier {
        name: "revocable",
        preemptible: true,
        revocable: true,
    },
];

pub fn tier(name: &str) -> Option<&'static Tier> {
    TIERS.iter().find(|t| t.name == name)
}

/// Checks a whole JobConfiguration (createJob, scheduleCronJob, populateJobConfig) and returns its
/// key and populated TaskConfig. `Err` is the INVALID_REQUEST detail.
pub fn validate_job(
    job: &JobConfiguration,
    flags: &SchedulerFlags,
) -> Result<(JobKey, TaskConfig), String> {
    let task = job
        .task_config
        .as_ref()
        .ok_or("Job configuration must have a taskConfig")?;
    if job.instance_count <= 0 {
        return Err(format!(
            "Instance count must be positive, got {}",
            job.instance_count
        ));
    }
    let key = job.key.clone().filter(JobKey::is_valid).ok_or_else(|| {
        format!("Job key {} is invalid: each part must match [\\w\\-\\.]+ and be at most 255 characters",
            job.key.clone().unwrap_or_default())
    })?;
    let environments = Regex::new(&flags.allowed_job_environments).map_err(|e| e.to_string())?;
    let environment = key.environment.as_deref().unwrap_or_default();
    if !environments.is_match(environment) {
        return Err(format!(
            "Job environment {environment} doesn't match: {}",
            flags.allowed_job_environments
        ));
    }
    if let Some(user) = job.owner.as_ref().and_then(|o| o.user.as_deref()) {
        if crate::api::keys::check_identifier("owner user", user).is_err() {
            return Err(format!("Job owner user {user:?} is not a valid identifier"));
        }
    }
    let cron = job
        .cron_schedule
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    if cron && task.is_service {
        return Err(format!("Job {key} is set to run on a cron schedule but is a service: a cron job must not be a service"));
    }
    let populated = validate_task(task, job.instance_count, flags)?;
    Ok((key, populated))
}

/// Checks a TaskConfig (§4.3 items 1-10, in order) and returns it populated.
pub fn validate_task(
    task: &TaskConfig,
    instance_count: i32,
    flags: &SchedulerFlags,
) -> Result<TaskConfig, String> {
    let mut t = task.clone();

    // 1. Tier, and production derived from it.
    let tier_name = t.tier.clone().unwrap_or_else(|| DEFAULT_TIER.to_string());
    if crate::api::keys::check_identifier("tier", &tier_name).is_err() {
        return Err(format!("Tier {tier_name:?} is not a valid identifier"));
    }
    let tier = tier(&tier_name).ok_or_else(|| {
        let names: Vec<&str> = TIERS.iter().map(|t| t.name).collect();
        format!(
            "Tier {tier_name} does not exist; known tiers: {}",
            names.join(", ")
        )
    })?;
    t.tier = Some(tier_name.clone());
    t.production = Some(tier.is_production());

    // 2. The task's own job key.
    let key = t
        .job
        .clone()
        .filter(JobKey::is_valid)
        .ok_or("TaskConfig.job must be a valid job key")?;

    // 3. Executor, unless Docker.
    let container = t
        .container
        .clone()
        .unwrap_or(Container::Mesos(MesosContainer::default()));
    let is_docker = matches!(container, Container::Docker(_));
    match &t.executor_config {
        Some(executor) => match executor.name.as_deref() {
            Some(AURORA_EXECUTOR_NAME) => {}
            Some(other) => return Err(format!("Configuration may not use an executor not configured on the scheduler: {other}")),
            None => return Err("Executor name must be set when executorConfig is present".into()),
        },
        None if is_docker => {}
        None => return Err("Configuration may not be null: executorConfig is required unless the container is Docker".into()),
    }

    // 4. Dedicated constraint.
    for constraint in t.constraints.iter().flatten() {
        if constraint.name.as_deref() == Some("dedicated") {
            check_dedicated(constraint, key.role.as_deref().unwrap_or_default())?;
        }
    }

    // 5 and 6. Containers.
    if let Container::Docker(docker) = &container {
        if !flags.allow_docker {
            return Err("The container type DOCKER is not allowed (allowed: MESOS)".into());
        }
        if docker.image.as_deref().is_none_or(str::is_empty) {
            return Err("A Docker container must name an image".into());
        }
        if docker.parameters.as_ref().is_some_and(|p| !p.is_empty())
            && !flags.allow_docker_parameters
        {
            return Err("Docker parameters are not allowed on this scheduler".into());
        }
        if t.executor_config.is_none() {
            return Err("A Docker container without an executor is not allowed (-require_docker_use_executor)".into());
        }
    }

    // 7. Resources.
    let resources = t.resources.clone().unwrap_or_default();
    let (mut cpus, mut ram, mut disk, mut gpus) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in &resources {
        match r {
            Resource::NumCpus(v) => cpus.push(*v),
            Resource::RamMb(v) => ram.push(*v as f64),
            Resource::DiskMb(v) => disk.push(*v as f64),
            Resource::NumGpus(v) => gpus.push(*v as f64),
            Resource::NamedPort(_) => {}
        }
    }
    for (what, values) in [
        ("numCpus", &cpus),
        ("ramMb", &ram),
        ("diskMb", &disk),
        ("numGpus", &gpus),
    ] {
        if values.len() > 1 {
            return Err(format!(
                "Multiple resource values for {what} are not supported"
            ));
        }
    }
    for (what, values) in [("CPU", &cpus), ("RAM", &ram), ("disk", &disk)] {
        if values.first().copied().unwrap_or(0.0) <= 0.0 {
            return Err(format!("Task must have a positive amount of {what}"));
        }
    }
    if !gpus.is_empty() && !flags.allow_gpu_resource {
        return Err("GPU resource support is disabled in this cluster".into());
    }

    // 8. Fetcher and volumes.
    if t.mesos_fetcher_uris.as_ref().is_some_and(|u| !u.is_empty()) && !flags.enable_mesos_fetcher {
        return Err("Mesos Fetcher for individual jobs is disabled in this cluster".into());
    }
    if let Container::Mesos(mesos) = &container {
        if mesos.volumes.as_ref().is_some_and(|v| !v.is_empty()) && !flags.allow_container_volumes {
            return Err("The ability to mount volumes is not allowed on this scheduler".into());
        }
    }

    // 9. SLA policy.
    if let Some(policy) = &t.sla_policy {
        check_sla_policy(policy, tier, instance_count, flags)?;
    }

    // 10. Task links for ports named http and health.
    if t.task_links.as_ref().is_none_or(BTreeMap::is_empty) {
        let mut links = BTreeMap::new();
        for r in &resources {
            if let Resource::NamedPort(name) = r {
                if name == "http" || name == "health" {
                    links.insert(name.clone(), format!("http://%host%:%port:{name}%"));
                }
            }
        }
        t.task_links = Some(links);
    }
    t.container = Some(container);
    Ok(t)
}

fn check_dedicated(constraint: &Constraint, role: &str) -> Result<(), String> {
    let values = match &constraint.constraint {
        Some(TaskConstraint::Value(v)) if !v.negated => v.values.clone().unwrap_or_default(),
        _ => return Err("A dedicated constraint must be a value constraint with one value".into()),
    };
    let [value] = values.as_slice() else {
        return Err("A dedicated constraint must have exactly one value".into());
    };
    let owner = value.split('/').next().unwrap_or_default();
    if owner != role && owner != "*" {
        return Err(format!(
            "Only {owner} may use hosts dedicated for that role (dedicated={value})"
        ));
    }
    Ok(())
}

fn check_sla_policy(
    policy: &SlaPolicy,
    tier: &Tier,
    instances: i32,
    flags: &SchedulerFlags,
) -> Result<(), String> {
    if !tier.is_production() && !flags.sla_aware_kill_non_prod {
        return Err(format!(
            "Tier '{}' does not support SLA policies (only production tiers do)",
            tier.name
        ));
    }
    let duration = match policy {
        SlaPolicy::CoordinatorSlaPolicy(_) => return Ok(()),
        SlaPolicy::CountSlaPolicy(p) => p.duration_secs,
        SlaPolicy::PercentageSlaPolicy(p) => p.duration_secs,
    };
    let minimum = flags.min_required_instances_for_sla_check;
    if instances < minimum {
        return Err(format!(
            "Job with fewer than {minimum} instances cannot have Percentage/Count SLA policies"
        ));
    }
    match policy {
        SlaPolicy::CountSlaPolicy(p) if p.count >= instances as i64 => {
            return Err(format!("Current CountSlaPolicy: count={} will not allow any instances to be killed. Must be less than instanceCount={instances}", p.count));
        }
        SlaPolicy::PercentageSlaPolicy(p)
            if (instances as f64 - instances as f64 * p.percentage / 100.0) < 1.0 =>
        {
            return Err(format!("Current PercentageSlaPolicy: percentage={} will not allow any instances to be killed. Must be less than {}", p.percentage, (instances as f64 - 1.0) / instances as f64 * 100.0));
        }
        _ => {}
    }
    if duration > flags.max_sla_duration_secs {
        return Err(format!(
            "durationSecs {duration} exceeds the maximum of {} seconds",
            flags.max_sla_duration_secs
        ));
    }
    Ok(())
}
