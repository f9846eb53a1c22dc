//! `JobOptions::build`: checks the options, builds (or takes) the Thermos document, completes
//! it as the Aurora client does (defaults, tier, templates), checks it (§1.9) and derives the
//! `JobConfiguration` and update settings from it. Both ways in — options and `executor_config`
//! — share every step after the document exists, so they cannot drift apart.

use serde_json::{Map, Value};

use super::constraints::is_dedicated;
use super::cron::{refuse_service, CronSpec};
use super::document::document;
use super::error::{Source, SpecError};
use super::normalize::normalize;
use super::options::{ContainerOptions, JobOptions, LifecycleOptions, SlaPolicyOptions};
use super::plan::check_plan;
use super::ports::{ports, Ports};
use super::task_config::{check_health, check_sla, job_key, task_config};
use super::template::{convert_document_spelling, resolve_document};
use super::tiers::back_fill;
use super::update::{self, as_int, UpdateOptions};
use super::{BuildContext, Job};
use crate::api::keys::check_identifier;
use crate::api::types::{CronCollisionPolicy, Identity, JobConfiguration};

/// Options that a document in `executor_config` carries itself.
const DOCUMENT_OPTIONS: &[&str] = &[
    "task",
    "service",
    "tier",
    "priority",
    "max_task_failures",
    "contact",
    "metadata",
    "constraints",
    "container",
    "health_check",
    "announce",
    "lifecycle",
    "sla_policy",
    "partition_policy",
];

impl JobOptions {
    /// The job as Aurora's client would submit it, or the first problem found, naming the option.
    pub fn build(&self, ctx: &BuildContext) -> Result<Job, SpecError> {
        self.build_with(ctx, None)
    }

    /// `build`, or with `cron` the cron job of `build_cron`: the steps are the same.
    pub(super) fn build_with(
        &self,
        ctx: &BuildContext,
        cron: Option<&CronSpec>,
    ) -> Result<Job, SpecError> {
        for (option, value) in [
            ("role", &self.role),
            ("environment", &self.environment),
            ("name", &self.name),
        ] {
            check_identifier(option, value).map_err(|e| SpecError::new(option, e.0))?;
        }
        let limit = self.max_tasks_per_job.unwrap_or_default();
        if let Some(instances) = self.instances {
            limit.check("instances", instances.into())?;
        }

        let (mut doc, source, document_instances, document_update) = match &self.executor_config {
            Some(given) => {
                self.check_nothing_beside_the_document()?;
                let mut doc = given.0.clone();
                let instances = doc.remove("instances");
                let update_config = doc.remove("update_config");
                (doc, Source::ExecutorConfig, instances, update_config)
            }
            None => {
                let task = self.task.as_ref().ok_or_else(|| {
                    SpecError::new(
                        "task",
                        "is required: describe the processes and resources of the task, or give \
                         a whole Thermos document in executor_config",
                    )
                })?;
                if task.processes.is_empty() {
                    return Err(SpecError::new(
                        "task.processes",
                        "is empty; give at least one process with a name and a cmdline",
                    ));
                }
                self.check_options()?;
                (
                    document(self, task, ctx.cluster),
                    Source::Options,
                    None,
                    None,
                )
            }
        };

        if let Some(cron) = cron {
            cron.put_into(&mut doc, source)?;
        }
        doc.values_mut().for_each(convert_document_spelling);
        normalize(&mut doc, source)?;
        if cron.is_some() {
            refuse_service(&doc, source)?;
        }
        if let Some(tiers) = ctx.tiers {
            back_fill(&mut doc, tiers, source)?;
        }
        let mut warnings = Vec::new();
        if let Some(warning) = self.production_on_a_preemptible_tier(&doc) {
            warnings.push(warning);
        }
        resolve_document(&mut doc, source)?;
        self.check_identity(&doc, ctx, source, cron.is_some())?;

        let instances = match (self.instances, &document_instances) {
            (Some(n), _) => n,
            (None, Some(value)) => {
                let option = "executor_config.instances";
                let n = as_int(value)
                    .ok_or_else(|| SpecError::new(option, "must be a whole number, at least 1"))?;
                limit.check(option, n)?;
                // Within 1..=limit after the check, so it fits.
                i32::try_from(n).unwrap_or(limit.0)
            }
            (None, None) => 1,
        };

        let task = doc
            .get("task")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        check_plan(&task, source)?;
        check_health(&doc, source)?;
        check_sla(&doc, instances, source)?;
        let ports = ports(&doc, source)?;
        self.check_health_port(&ports)?;
        let owner = ctx.owner;
        let task_config = task_config(&doc, &ports, owner, source)?;
        let constraints = task_config.constraints.as_deref().unwrap_or_default();
        let dedicated = is_dedicated(constraints);
        if ports.has_static && !dedicated {
            return Err(source.error(
                "announce.portmap",
                "maps a name to a fixed port number, which is only allowed for jobs with a \
                 dedicated constraint (fixed ports would collide on shared hosts); use a port \
                 name or add constraints.dedicated",
            ));
        }

        let (update, update_path) = match (&self.update, &document_update) {
            (Some(update), _) => (update.clone(), "update".to_string()),
            (None, Some(config)) => (
                update::from_document(config, "executor_config.update_config")?,
                "executor_config.update_config".to_string(),
            ),
            (None, None) => (UpdateOptions::default(), "update".to_string()),
        };
        let settings = update::settings(
            &update,
            &update_path,
            instances,
            dedicated,
            task_config.sla_policy.is_some(),
        )?;

        let key = job_key(&doc);
        let collision = match doc.get("cron_collision_policy").and_then(Value::as_str) {
            Some("CANCEL_NEW") => CronCollisionPolicy::CANCEL_NEW,
            Some("RUN_OVERLAP") => CronCollisionPolicy::RUN_OVERLAP,
            _ => CronCollisionPolicy::KILL_EXISTING,
        };
        Ok(Job {
            key: key.clone(),
            config: JobConfiguration {
                key: Some(key),
                owner: Some(Identity {
                    user: Some(owner.to_string()),
                }),
                cron_schedule: cron.map(|c| c.schedule.clone()),
                cron_collision_policy: Some(collision),
                task_config: Some(task_config),
                instance_count: instances,
            },
            settings,
            warnings: warnings.into_iter().chain(ports.warnings).collect(),
        })
    }

    /// A job of environment `prod` with no tier lands on a preemptible tier with the stock tier
    /// file (client-reference §1.7): not production, no quota, no SLA, pre-emptible. Aurora
    /// allows it, so this is advice, not a refusal.
    fn production_on_a_preemptible_tier(&self, doc: &Map<String, Value>) -> Option<String> {
        let production = doc
            .get("production")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if self.tier.is_some() || self.environment != "prod" || production {
            return None;
        }
        let tier = doc
            .get("tier")
            .and_then(Value::as_str)
            .unwrap_or("the default");
        Some(format!(
            "{}/prod/{} has no tier and runs on tier {tier}, which is not a production tier: no \
             quota, no SLA, and it can be pre-empted; set tier (for example preferred) for a \
             production job",
            self.role, self.name
        ))
    }

    /// An HTTP health check needs a port named `health`: without one the executor skips the
    /// check silently (client-reference §1.8.2), and an unhealthy instance would count as
    /// healthy in updates.
    fn check_health_port(&self, ports: &Ports) -> Result<(), SpecError> {
        let Some(check) = &self.health_check else {
            return Ok(());
        };
        if check.shell.is_some() || ports.available.contains("health") {
            return Ok(());
        }
        Err(SpecError::new(
            "health_check.http",
            "checks over HTTP on the port named health, which the task does not have, so the \
             executor would skip the check silently; listen on %{thermos.ports[health]} in a \
             process, alias health to the port the service listens on (announce.portmap \
             {health: http}), or check with health_check.shell",
        ))
    }

    /// Options next to `executor_config` that the document itself carries.
    fn check_nothing_beside_the_document(&self) -> Result<(), SpecError> {
        let given = [
            self.task.is_some(),
            self.service.is_some(),
            self.tier.is_some(),
            self.priority.is_some(),
            self.max_task_failures.is_some(),
            self.contact.is_some(),
            self.metadata.is_some(),
            self.constraints.is_some(),
            self.container.is_some(),
            self.health_check.is_some(),
            self.announce.is_some(),
            self.lifecycle.is_some(),
            self.sla_policy.is_some(),
            self.partition_policy.is_some(),
        ];
        match DOCUMENT_OPTIONS.iter().zip(given).find(|(_, set)| *set) {
            Some((option, _)) => Err(SpecError::new(
                *option,
                "cannot be combined with executor_config, whose document carries it; set it \
                     inside the document instead",
            )),
            None => Ok(()),
        }
    }

    /// Combinations inside the options that the schema alone cannot refuse.
    fn check_options(&self) -> Result<(), SpecError> {
        if let Some(lifecycle) = &self.lifecycle {
            check_lifecycle(lifecycle)?;
        }
        if let Some(sla) = &self.sla_policy {
            check_sla_kind(sla)?;
        }
        if let Some(container) = &self.container {
            check_container(container)?;
        }
        if let Some(check) = &self.health_check {
            if check.http.is_some() && check.shell.is_some() {
                return Err(SpecError::new(
                    "health_check.shell",
                    "cannot be combined with health_check.http; choose one kind of check",
                ));
            }
        }
        Ok(())
    }

    /// The document must be for this job, on this cluster, and a cron job only when `cron`.
    fn check_identity(
        &self,
        doc: &Map<String, Value>,
        ctx: &BuildContext,
        source: Source,
        cron: bool,
    ) -> Result<(), SpecError> {
        let mismatch = |key: &str, option: &str, wanted: &str| -> Result<(), SpecError> {
            let found = doc.get(key).and_then(Value::as_str).unwrap_or_default();
            if found == wanted {
                return Ok(());
            }
            Err(source.error(
                key,
                format!(
                    "the document's {key} is {found:?} but {option} is {wanted:?}; they must match"
                ),
            ))
        };
        mismatch("role", "the option role", &self.role)?;
        mismatch("environment", "the option environment", &self.environment)?;
        mismatch("name", "the option name", &self.name)?;
        mismatch("cluster", "the scheduler's cluster", ctx.cluster)?;
        if !cron && doc.contains_key("cron_schedule") {
            return Err(source.error(
                "cron_schedule",
                "makes this a cron job, which is scheduled rather than created or updated; \
                 remove cron_schedule from the document, or use aurora.scheduler.cron_job",
            ));
        }
        Ok(())
    }
}

fn check_lifecycle(lifecycle: &LifecycleOptions) -> Result<(), SpecError> {
    if lifecycle.enabled {
        return Ok(());
    }
    let given = [
        ("port", lifecycle.port.is_some()),
        (
            "graceful_shutdown_endpoint",
            lifecycle.graceful_shutdown_endpoint.is_some(),
        ),
        ("shutdown_endpoint", lifecycle.shutdown_endpoint.is_some()),
        (
            "graceful_shutdown_wait_secs",
            lifecycle.graceful_shutdown_wait_secs.is_some(),
        ),
        ("shutdown_wait_secs", lifecycle.shutdown_wait_secs.is_some()),
    ];
    match given.into_iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(SpecError::new(
            format!("lifecycle.{field}"),
            "has no effect while lifecycle.enabled is false; remove one of them",
        )),
        None => Ok(()),
    }
}

fn check_sla_kind(sla: &SlaPolicyOptions) -> Result<(), SpecError> {
    let kinds = [
        sla.percentage.is_some(),
        sla.count.is_some(),
        sla.coordinator_url.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(SpecError::new(
            "sla_policy",
            "must be exactly one kind of policy: percentage with duration_secs, count with \
             duration_secs, or coordinator_url (with an optional status_key)",
        ));
    }
    if sla.coordinator_url.is_some() {
        if sla.duration_secs.is_some() {
            return Err(SpecError::new(
                "sla_policy.duration_secs",
                "does not apply to a coordinator policy; remove it",
            ));
        }
    } else {
        if sla.status_key.is_some() {
            return Err(SpecError::new(
                "sla_policy.status_key",
                "only applies with coordinator_url; remove it",
            ));
        }
        if sla.duration_secs.is_none() {
            return Err(SpecError::new(
                "sla_policy.duration_secs",
                "is required with percentage or count: how many seconds an instance must have \
                 been running to count",
            ));
        }
    }
    Ok(())
}

fn check_container(container: &ContainerOptions) -> Result<(), SpecError> {
    match (&container.docker, &container.mesos) {
        (Some(_), Some(_)) | (None, None) => Err(SpecError::new(
            "container",
            "must have exactly one of docker or mesos",
        )),
        (None, Some(mesos)) => match mesos.image.as_ref().map(|i| (&i.docker, &i.appc)) {
            Some((Some(_), Some(_)) | (None, None)) => Err(SpecError::new(
                "container.mesos.image",
                "must have exactly one of docker or appc",
            )),
            _ => Ok(()),
        },
        (Some(_), None) => Ok(()),
    }
}
