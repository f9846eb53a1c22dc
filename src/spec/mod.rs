//! The job model: a data scientist's options (or a whole Thermos document) become exactly what
//! Apache Aurora's own client would submit — the `JobConfiguration` with its `TaskConfig`, the
//! Thermos executor JSON, and the rolling-update settings (client-reference §1, §4.1-4.2, §7).
//! Data flows modules → spec → api; nothing here talks to the scheduler.

mod as_options;
mod build;
mod compare;
mod constraints;
pub mod cron;
pub mod crontab;
mod document;
mod error;
pub mod limits;
mod normalize;
pub mod options;
mod plan;
mod ports;
pub mod provenance;
pub mod pyjson;
pub mod size;
mod task_config;
pub mod task_options;
mod template;
mod tiers;
pub mod update;
pub mod utc;

#[cfg(test)]
mod tests;

pub use as_options::{as_options, cluster_of};
pub use compare::{adopt_running, readable, same_executor_data};
pub use error::SpecError;
pub use limits::MaxTasksPerJob;
pub use options::JobOptions;
pub use size::Size;
pub use template::{convert_percent_spelling, port_references};

use serde_json::{json, Map};

use crate::api::types::{
    GetTierConfigResult, JobConfiguration, JobKey, JobUpdateRequest, JobUpdateSettings, TaskConfig,
};

/// What building a job needs to know besides the options.
#[derive(Clone, Copy, Debug)]
pub struct BuildContext<'a> {
    /// Cluster name written into the executor JSON (the scheduler's `ServerInfo.clusterName`).
    pub cluster: &'a str,
    /// Submitting user, recorded as the owner (the local login, as the Aurora client does).
    pub owner: &'a str,
    /// The scheduler's tiers, for the tier back-fill of client-reference §1.7; without them the
    /// tier is left to the scheduler's default.
    pub tiers: Option<&'a GetTierConfigResult>,
}

/// A job ready to submit.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub key: JobKey,
    /// What `createJob` takes; its `taskConfig` is what `startJobUpdate` takes.
    pub config: JobConfiguration,
    /// Rolling-update settings, without `updateOnlyTheseInstances`.
    pub settings: JobUpdateSettings,
    /// Advice that does not stop the job, for the module to pass on as warnings.
    pub warnings: Vec<String>,
}

impl Job {
    pub fn task_config(&self) -> &TaskConfig {
        // Always set by `JobOptions::build`.
        self.config
            .task_config
            .as_ref()
            .expect("a built job has a task config")
    }

    pub fn instance_count(&self) -> i32 {
        self.config.instance_count
    }

    /// The Thermos document sent as `executorConfig.data`.
    pub fn executor_data(&self) -> &str {
        self.task_config()
            .executor_config
            .as_ref()
            .and_then(|e| e.data.as_deref())
            .unwrap_or("")
    }

    /// The request of `startJobUpdate` / `getJobUpdateDiff` for the whole job, without metadata.
    pub fn update_request(&self) -> JobUpdateRequest {
        JobUpdateRequest {
            task_config: self.config.task_config.clone(),
            instance_count: self.config.instance_count,
            settings: Some(self.settings.clone()),
            metadata: None,
        }
    }

    /// A stable short hash of the desired configuration (instance count, task and update
    /// settings; not the submitting user), for tagging updates.
    pub fn fingerprint(&self) -> String {
        let mut task = readable(self.task_config());
        if let Some(map) = task.as_object_mut() {
            map.remove("owner");
        }
        let mut parts = Map::new();
        parts.insert("instances".into(), json!(self.config.instance_count));
        parts.insert("task".into(), task);
        parts.insert(
            "settings".into(),
            serde_json::to_value(&self.settings).unwrap_or_default(),
        );
        compare::fingerprint(&parts)
    }
}
