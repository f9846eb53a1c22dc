//! The job model seen from a module: built from the options with the scheduler's facts (cluster
//! name, tiers) and the local user, populated by the scheduler as it would store it, and
//! compared or shown for `--diff` in one readable form. Shared by the job and cron_job modules.

use serde_json::{json, Value};

use crate::ansible::{Context, Failure};
use crate::api::methods::PopulateJobConfig;
use crate::api::types::{JobConfiguration, ResponseCode, Result as Payload, TaskConfig};
use crate::spec::{readable, BuildContext, Job as JobModel, SpecError};

use super::connection::{local_user, Connection};

/// Builds the job with `build` (`JobOptions::build` or `build_cron`) in the context of this
/// scheduler and user; the model's warnings become the module's.
pub fn build_job(
    conn: &Connection,
    ctx: &mut Context,
    build: impl FnOnce(&BuildContext) -> Result<JobModel, SpecError>,
) -> Result<JobModel, Failure> {
    let facts = conn.facts()?;
    let owner = local_user();
    let job = build(&BuildContext {
        cluster: &facts.cluster_name,
        owner: &owner,
        tiers: Some(&facts.tiers),
    })
    .map_err(spec_failure)?;
    for warning in &job.warnings {
        ctx.warn(warning.clone());
    }
    Ok(job)
}

pub fn spec_failure(e: impl std::fmt::Display) -> Failure {
    Failure::new(e.to_string())
}

pub fn task_config_mut(config: &mut JobConfiguration) -> &mut TaskConfig {
    config.task_config.get_or_insert_with(TaskConfig::default)
}

/// The desired TaskConfig as the scheduler would store it (tier, production, task links filled).
pub fn populated(conn: &Connection, job: &JobModel) -> Result<TaskConfig, Failure> {
    let response = conn.client.call(&PopulateJobConfig {
        description: Some(job.config.clone()),
    })?;
    if response.code() != ResponseCode::OK {
        return Err(Failure::new(format!(
            "the scheduler refuses {}: {}",
            job.key,
            response.detail_messages().join("; ")
        )));
    }
    match response.result {
        Some(Payload::PopulateJobResult(r)) => r
            .task_config
            .ok_or_else(|| Failure::new("populateJobConfig answered without a task configuration")),
        _ => Err(Failure::new("populateJobConfig answered without a result")),
    }
}

/// Equal as the executor and the scheduler see them: sets in any order, executor JSON parsed.
pub fn same_config(a: &TaskConfig, b: &TaskConfig) -> bool {
    readable(a) == readable(b)
}

/// A job's configuration for `--diff`: its instance count and readable task configuration.
pub fn state_json(instances: i32, config: &TaskConfig) -> Value {
    json!({"instances": instances, "task_config": readable(config)})
}
