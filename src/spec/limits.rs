//! The scheduler's limit on instances per job (`-max_tasks_per_job`, api-reference §4.4), checked
//! before anything is sent for a count or allocated in proportion to it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::SpecError;

/// Aurora's default `-max_tasks_per_job`.
pub const DEFAULT_MAX_TASKS_PER_JOB: i32 = 4000;

/// The most instances the scheduler accepts in one job, its C(-max_tasks_per_job) flag: an
/// instance count above it is refused before anything is sent. Default 4000, Aurora's default;
/// set it when the scheduler runs with another limit (at most 100000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct MaxTasksPerJob(#[schemars(range(min = 1, max = 100000))] pub i32);

impl Default for MaxTasksPerJob {
    fn default() -> Self {
        MaxTasksPerJob(DEFAULT_MAX_TASKS_PER_JOB)
    }
}

impl MaxTasksPerJob {
    /// Refuses an instance `count`, given as `option`, outside 1..=the limit.
    pub fn check(self, option: &str, count: i64) -> Result<(), SpecError> {
        let limit = self.0;
        if count < 1 {
            return Err(SpecError::new(
                option,
                format!("is {count}; a job has at least 1 instance"),
            ));
        }
        if count > i64::from(limit) {
            let whose = if limit == DEFAULT_MAX_TASKS_PER_JOB {
                format!("{limit}, Aurora's default -max_tasks_per_job")
            } else {
                format!("{limit}, as max_tasks_per_job says")
            };
            return Err(SpecError::new(
                option,
                format!(
                    "is {count}, more instances than the scheduler accepts in one job ({whose}); \
                     lower it, or set max_tasks_per_job if your scheduler runs with a higher \
                     -max_tasks_per_job"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_the_default_limit_pass() {
        let limit = MaxTasksPerJob::default();
        assert!(limit.check("instances", 1).is_ok());
        assert!(limit.check("instances", 4000).is_ok());
    }

    #[test]
    fn a_count_above_the_limit_names_the_option_and_the_limit() {
        let e = MaxTasksPerJob::default()
            .check("count", 1_000_000_000)
            .unwrap_err();
        assert_eq!(e.option, "count");
        assert!(e.message.contains("4000"), "{e}");
        assert!(e.message.contains("max_tasks_per_job"), "{e}");
        let e = MaxTasksPerJob(10).check("instances", 11).unwrap_err();
        assert!(e.message.contains("10, as max_tasks_per_job says"), "{e}");
        assert!(MaxTasksPerJob(10_000).check("instances", 5000).is_ok());
    }

    #[test]
    fn a_count_below_one_is_refused() {
        let e = MaxTasksPerJob::default().check("count", 0).unwrap_err();
        assert!(e.message.contains("at least 1"), "{e}");
    }
}
