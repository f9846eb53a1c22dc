//! The job a module addresses by its key alone (role, environment, name), checked once the way
//! the scheduler checks it, so that a bad key fails naming the option before any call.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::ansible::Failure;
use crate::api::keys::check_identifier;
use crate::api::types::JobKey;

/// Options naming one job.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct JobKeyOptions {
    /// The job's role: the user its tasks run as, and whose quota they use.
    pub role: String,
    /// The job's environment, such as C(prod), C(devel) or C(test).
    pub environment: String,
    /// The job's name.
    pub name: String,
}

impl JobKeyOptions {
    pub fn key(&self) -> Result<JobKey, Failure> {
        checked_job_key(&self.role, &self.environment, &self.name)
    }
}

/// The job key of three options, each checked as an Aurora identifier.
pub fn checked_job_key(role: &str, environment: &str, name: &str) -> Result<JobKey, Failure> {
    for (option, value) in [("role", role), ("environment", environment), ("name", name)] {
        check_identifier(option, value).map_err(|e| Failure::new(format!("{option}: {}", e.0)))?;
    }
    Ok(JobKey::new(role, environment, name))
}
