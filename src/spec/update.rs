//! Rolling-update settings: the `update` options (Aurora's `update_config`) and their mapping to
//! `JobUpdateSettings` with the client's validation (client-reference §4.1-4.2, §1.9).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::SpecError;
use crate::api::types::{
    BatchJobUpdateStrategy, JobUpdateSettings, JobUpdateStrategy, QueueJobUpdateStrategy,
    VariableBatchJobUpdateStrategy,
};

/// Smallest pulse interval the Aurora client accepts, in seconds.
const MIN_PULSE_INTERVAL_SECS: i64 = 60;

/// How a change is rolled out; defaults are the Aurora client's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", default)]
pub struct UpdateOptions {
    /// Instances updated at the same time.
    pub batch_size: i64,
    /// Seconds an updated instance must keep running (and stay healthy) to count as updated.
    pub watch_secs: i64,
    /// Times one instance may fail to update before it counts as failed.
    pub max_per_shard_failures: i64,
    /// Failed instances tolerated before the update fails; must be below C(instances).
    pub max_total_failures: i64,
    /// Whether a failed update rolls the job back to its previous configuration.
    pub rollback_on_failure: bool,
    /// Whether each batch must finish completely before the next one starts.
    pub wait_for_batch_completion: bool,
    /// Seconds after which the update pauses unless something pulses it (for coordinated
    /// updates; at least 60). Unset means no pulses are needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pulse_interval_secs: Option<i64>,
    /// Whether the scheduler checks the job's C(sla_policy) before taking each instance down.
    pub sla_aware: bool,
    /// An explicit update strategy. Without it, instances are updated C(batch_size) at a time as
    /// slots free up, or batch by batch with C(wait_for_batch_completion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyOptions>,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            batch_size: 1,
            watch_secs: 45,
            max_per_shard_failures: 0,
            max_total_failures: 0,
            rollback_on_failure: true,
            wait_for_batch_completion: false,
            pulse_interval_secs: None,
            sla_aware: false,
            strategy: None,
        }
    }
}

/// An explicit update strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct StrategyOptions {
    /// C(queue): keep C(batch_size) instances updating, starting the next as one finishes;
    /// C(batch): update C(batch_size) instances, wait for all of them, then the next batch;
    /// C(variable_batch): batches of the sizes in C(batch_sizes), the last size repeating.
    pub kind: StrategyKind,
    /// Instances per group, for C(queue) and C(batch). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<i64>,
    /// Sizes of the successive batches, for C(variable_batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_sizes: Option<Vec<i64>>,
    /// Whether the update pauses after each batch until resumed, for C(batch) and
    /// C(variable_batch).
    #[serde(default)]
    pub autopause_after_batch: bool,
}

/// Kinds of update strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    Queue,
    Batch,
    VariableBatch,
}

/// Checks the update options against the job (client-reference §1.9, §4.2) and maps them to the
/// settings of `startJobUpdate`; `prefix` is the option path of the update options.
pub(crate) fn settings(
    update: &UpdateOptions,
    prefix: &str,
    instances: i32,
    dedicated: bool,
    has_sla_policy: bool,
) -> Result<JobUpdateSettings, SpecError> {
    let err = |field: &str, message: String| SpecError::new(format!("{prefix}.{field}"), message);
    let group = |field: &str, value: i64| -> Result<i32, SpecError> {
        if value <= 0 {
            return Err(err(field, format!("is {value}; it must be at least 1")));
        }
        i32::try_from(value).map_err(|_| err(field, format!("{value} is too large")))
    };
    let count = |field: &str, value: i64| -> Result<i32, SpecError> {
        if value < 0 {
            return Err(err(field, format!("is {value}; it must be 0 or more")));
        }
        i32::try_from(value).map_err(|_| err(field, format!("{value} is too large")))
    };
    let millis = |field: &str, secs: i64| -> Result<i32, SpecError> {
        secs.checked_mul(1000)
            .and_then(|ms| i32::try_from(ms).ok())
            .ok_or_else(|| err(field, format!("{secs} seconds is too long")))
    };

    let batch_size = group("batch_size", update.batch_size)?;
    let watch_secs = count("watch_secs", update.watch_secs)?;
    let max_per_shard_failures = count("max_per_shard_failures", update.max_per_shard_failures)?;
    let max_total_failures = count("max_total_failures", update.max_total_failures)?;
    if max_total_failures >= instances {
        return Err(err(
            "max_total_failures",
            format!(
                "must be lower than the number of instances; with {instances} instance(s) use \
                 at most {}",
                instances - 1
            ),
        ));
    }
    // The Aurora client's rule for dedicated jobs: tolerate at least 2% failed instances.
    let dedicated_minimum = instances / 50;
    if dedicated && max_total_failures < dedicated_minimum {
        return Err(err(
            "max_total_failures",
            format!(
                "is {max_total_failures}, but a job with a dedicated constraint must tolerate at \
                 least 2% of its {instances} instances failing; use at least {dedicated_minimum}"
            ),
        ));
    }
    let pulse = match update.pulse_interval_secs {
        Some(secs) if secs < MIN_PULSE_INTERVAL_SECS => {
            return Err(err(
                "pulse_interval_secs",
                format!("is {secs}; it must be at least {MIN_PULSE_INTERVAL_SECS} seconds"),
            ))
        }
        Some(secs) => Some(millis("pulse_interval_secs", secs)?),
        None => None,
    };
    if update.sla_aware && !has_sla_policy {
        return Err(err(
            "sla_aware",
            "needs an sla_policy on the job: the scheduler checks that policy before taking each \
             instance down; add sla_policy or set sla_aware to false"
                .into(),
        ));
    }

    let (update_group_size, wait_for_batch_completion, strategy) = match &update.strategy {
        None if update.wait_for_batch_completion => (
            batch_size,
            true,
            JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                group_size: batch_size,
                autopause_after_batch: false,
            }),
        ),
        None => (
            batch_size,
            false,
            JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
                group_size: batch_size,
            }),
        ),
        Some(strategy) => {
            if update.wait_for_batch_completion {
                return Err(err(
                    "wait_for_batch_completion",
                    "is ambiguous together with an explicit strategy; remove it and use \
                     strategy.kind batch instead"
                        .into(),
                ));
            }
            if batch_size > 1 {
                return Err(err(
                    "batch_size",
                    "is ambiguous together with an explicit strategy; set strategy.batch_size \
                     (or strategy.batch_sizes) instead"
                        .into(),
                ));
            }
            strategy_settings(strategy, &format!("{prefix}.strategy"), batch_size)?
        }
    };

    Ok(JobUpdateSettings {
        update_group_size,
        max_per_instance_failures: max_per_shard_failures,
        max_failed_instances: max_total_failures,
        min_wait_in_instance_running_ms: millis("watch_secs", i64::from(watch_secs))?,
        rollback_on_failure: update.rollback_on_failure,
        update_only_these_instances: None,
        wait_for_batch_completion,
        block_if_no_pulses_after_ms: pulse,
        sla_aware: Some(update.sla_aware),
        update_strategy: Some(strategy),
    })
}

/// An explicit strategy as the Aurora client intends it (§4.2 step 3-4).
fn strategy_settings(
    strategy: &StrategyOptions,
    prefix: &str,
    batch_size: i32,
) -> Result<(i32, bool, JobUpdateStrategy), SpecError> {
    let err = |field: &str, message: &str| SpecError::new(format!("{prefix}.{field}"), message);
    let size = |field: &str, value: i64| -> Result<i32, SpecError> {
        if value <= 0 {
            return Err(err(
                field,
                &format!("has {value}; sizes must be at least 1"),
            ));
        }
        i32::try_from(value).map_err(|_| err(field, &format!("{value} is too large")))
    };
    match strategy.kind {
        StrategyKind::Queue | StrategyKind::Batch => {
            if strategy.batch_sizes.is_some() {
                return Err(err(
                    "batch_sizes",
                    "only applies to kind variable_batch; use batch_size for queue and batch",
                ));
            }
            let group = size("batch_size", strategy.batch_size.unwrap_or(1))?;
            if strategy.kind == StrategyKind::Queue {
                if strategy.autopause_after_batch {
                    return Err(err(
                        "autopause_after_batch",
                        "only applies to kinds batch and variable_batch",
                    ));
                }
                Ok((
                    group,
                    false,
                    JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy { group_size: group }),
                ))
            } else {
                Ok((
                    group,
                    true,
                    JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                        group_size: group,
                        autopause_after_batch: strategy.autopause_after_batch,
                    }),
                ))
            }
        }
        StrategyKind::VariableBatch => {
            if strategy.batch_size.is_some() {
                return Err(err(
                    "batch_size",
                    "does not apply to kind variable_batch; list the sizes in batch_sizes",
                ));
            }
            let sizes = match &strategy.batch_sizes {
                Some(sizes) if !sizes.is_empty() => sizes
                    .iter()
                    .map(|s| size("batch_sizes", *s))
                    .collect::<Result<Vec<_>, _>>()?,
                _ => {
                    return Err(err(
                        "batch_sizes",
                        "is required for kind variable_batch: give the size of each batch, e.g. [1, 5, 10]",
                    ))
                }
            };
            Ok((
                batch_size,
                false,
                JobUpdateStrategy::VarBatchStrategy(VariableBatchJobUpdateStrategy {
                    group_sizes: Some(sizes),
                    autopause_after_batch: strategy.autopause_after_batch,
                }),
            ))
        }
    }
}

/// Reads a Thermos document's `update_config` (Aurora's field names; the strategy is told apart
/// by its fields, since the JSON carries no type tag) into update options.
pub(crate) fn from_document(config: &Value, prefix: &str) -> Result<UpdateOptions, SpecError> {
    let Value::Object(map) = config else {
        return Err(SpecError::new(prefix, "must be a dict of update settings"));
    };
    let mut options = UpdateOptions::default();
    let int = |key: &str| -> Result<Option<i64>, SpecError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_int(v)
                .map(Some)
                .ok_or_else(|| SpecError::new(format!("{prefix}.{key}"), "must be an integer")),
        }
    };
    let boolean = |key: &str| -> Result<Option<bool>, SpecError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(SpecError::new(
                format!("{prefix}.{key}"),
                "must be true or false",
            )),
        }
    };
    if let Some(v) = int("batch_size")? {
        options.batch_size = v;
    }
    if let Some(v) = int("watch_secs")? {
        options.watch_secs = v;
    }
    if let Some(v) = int("max_per_shard_failures")? {
        options.max_per_shard_failures = v;
    }
    if let Some(v) = int("max_total_failures")? {
        options.max_total_failures = v;
    }
    if let Some(v) = boolean("rollback_on_failure")? {
        options.rollback_on_failure = v;
    }
    if let Some(v) = boolean("wait_for_batch_completion")? {
        options.wait_for_batch_completion = v;
    }
    options.pulse_interval_secs = int("pulse_interval_secs")?;
    if let Some(v) = boolean("sla_aware")? {
        options.sla_aware = v;
    }
    options.strategy = match map.get("update_strategy") {
        None | Some(Value::Null) => None,
        Some(Value::Object(s)) => {
            let path = format!("{prefix}.update_strategy");
            let autopause = match s.get("autopause_after_batch") {
                None => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => {
                    return Err(SpecError::new(
                        format!("{path}.autopause_after_batch"),
                        "must be true or false",
                    ))
                }
            };
            if let Some(sizes) = s.get("batch_sizes") {
                let sizes = sizes
                    .as_array()
                    .and_then(|a| a.iter().map(as_int).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| {
                        SpecError::new(format!("{path}.batch_sizes"), "must be a list of integers")
                    })?;
                Some(StrategyOptions {
                    kind: StrategyKind::VariableBatch,
                    batch_size: None,
                    batch_sizes: Some(sizes),
                    autopause_after_batch: autopause.unwrap_or(false),
                })
            } else {
                let batch_size = match s.get("batch_size") {
                    None => None,
                    Some(v) => Some(as_int(v).ok_or_else(|| {
                        SpecError::new(format!("{path}.batch_size"), "must be an integer")
                    })?),
                };
                Some(StrategyOptions {
                    kind: if autopause.is_some() {
                        StrategyKind::Batch
                    } else {
                        StrategyKind::Queue
                    },
                    batch_size,
                    batch_sizes: None,
                    autopause_after_batch: autopause.unwrap_or(false),
                })
            }
        }
        Some(_) => {
            return Err(SpecError::new(
                format!("{prefix}.update_strategy"),
                "must be a dict (a queue, batch or variable-batch strategy)",
            ))
        }
    };
    Ok(options)
}

/// An integer, also from a float without fraction (pystachio's Integer accepts both).
pub(crate) fn as_int(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings_for(update: &UpdateOptions) -> Result<JobUpdateSettings, SpecError> {
        settings(update, "update", 10, false, false)
    }

    #[test]
    fn defaults_map_to_the_clients_settings() {
        let s = settings_for(&UpdateOptions::default()).unwrap();
        assert_eq!(
            s,
            JobUpdateSettings {
                update_group_size: 1,
                max_per_instance_failures: 0,
                max_failed_instances: 0,
                min_wait_in_instance_running_ms: 45_000,
                rollback_on_failure: true,
                update_only_these_instances: None,
                wait_for_batch_completion: false,
                block_if_no_pulses_after_ms: None,
                sla_aware: Some(false),
                update_strategy: Some(JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
                    group_size: 1
                })),
            }
        );
    }

    #[test]
    fn wait_for_batch_completion_without_a_strategy_gives_the_batch_strategy() {
        let update = UpdateOptions {
            batch_size: 3,
            wait_for_batch_completion: true,
            pulse_interval_secs: Some(60),
            ..UpdateOptions::default()
        };
        let s = settings_for(&update).unwrap();
        assert_eq!(s.update_group_size, 3);
        assert!(s.wait_for_batch_completion);
        assert_eq!(s.block_if_no_pulses_after_ms, Some(60_000));
        assert_eq!(
            s.update_strategy,
            Some(JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                group_size: 3,
                autopause_after_batch: false
            }))
        );
    }

    #[test]
    fn explicit_strategies_follow_the_clients_intent() {
        let with = |strategy: StrategyOptions| UpdateOptions {
            strategy: Some(strategy),
            ..UpdateOptions::default()
        };
        let s = settings_for(&with(StrategyOptions {
            kind: StrategyKind::VariableBatch,
            batch_size: None,
            batch_sizes: Some(vec![1, 2, 5]),
            autopause_after_batch: true,
        }))
        .unwrap();
        assert_eq!(
            (s.update_group_size, s.wait_for_batch_completion),
            (1, false)
        );
        assert_eq!(
            s.update_strategy,
            Some(JobUpdateStrategy::VarBatchStrategy(
                VariableBatchJobUpdateStrategy {
                    group_sizes: Some(vec![1, 2, 5]),
                    autopause_after_batch: true
                }
            ))
        );
        let s = settings_for(&with(StrategyOptions {
            kind: StrategyKind::Batch,
            batch_size: Some(4),
            batch_sizes: None,
            autopause_after_batch: false,
        }))
        .unwrap();
        assert_eq!(
            (s.update_group_size, s.wait_for_batch_completion),
            (4, true)
        );
        let s = settings_for(&with(StrategyOptions {
            kind: StrategyKind::Queue,
            batch_size: Some(2),
            batch_sizes: None,
            autopause_after_batch: false,
        }))
        .unwrap();
        assert_eq!(
            s.update_strategy,
            Some(JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
                group_size: 2
            }))
        );
    }

    #[test]
    fn ambiguous_combinations_are_refused_naming_the_option() {
        let strategy = StrategyOptions {
            kind: StrategyKind::VariableBatch,
            batch_size: None,
            batch_sizes: Some(vec![1]),
            autopause_after_batch: false,
        };
        let e = settings_for(&UpdateOptions {
            wait_for_batch_completion: true,
            strategy: Some(strategy.clone()),
            ..UpdateOptions::default()
        })
        .unwrap_err();
        assert_eq!(e.option, "update.wait_for_batch_completion");
        assert!(e.message.contains("ambiguous"));
        let e = settings_for(&UpdateOptions {
            batch_size: 2,
            strategy: Some(strategy),
            ..UpdateOptions::default()
        })
        .unwrap_err();
        assert_eq!(e.option, "update.batch_size");
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_option() {
        let cases: Vec<(UpdateOptions, &str)> = vec![
            (
                UpdateOptions {
                    batch_size: 0,
                    ..Default::default()
                },
                "update.batch_size",
            ),
            (
                UpdateOptions {
                    watch_secs: -1,
                    ..Default::default()
                },
                "update.watch_secs",
            ),
            (
                UpdateOptions {
                    pulse_interval_secs: Some(59),
                    ..Default::default()
                },
                "update.pulse_interval_secs",
            ),
            (
                UpdateOptions {
                    max_total_failures: 10,
                    ..Default::default()
                },
                "update.max_total_failures",
            ),
            (
                UpdateOptions {
                    sla_aware: true,
                    ..Default::default()
                },
                "update.sla_aware",
            ),
            (
                UpdateOptions {
                    strategy: Some(StrategyOptions {
                        kind: StrategyKind::VariableBatch,
                        batch_size: None,
                        batch_sizes: None,
                        autopause_after_batch: false,
                    }),
                    ..Default::default()
                },
                "update.strategy.batch_sizes",
            ),
        ];
        for (update, option) in cases {
            let e = settings_for(&update).unwrap_err();
            assert_eq!(e.option, option, "{e}");
        }
    }

    #[test]
    fn dedicated_jobs_must_tolerate_two_percent_failures() {
        let e = settings(&UpdateOptions::default(), "update", 100, true, false).unwrap_err();
        assert!(e.message.contains("at least 2"), "{e}");
        let ok = UpdateOptions {
            max_total_failures: 2,
            ..Default::default()
        };
        assert!(settings(&ok, "update", 100, true, false).is_ok());
    }

    #[test]
    fn a_documents_update_config_is_read_with_its_strategy() {
        let options = from_document(
            &json!({"batch_size": 1, "watch_secs": 30, "update_strategy": {"batch_sizes": [1, 3], "autopause_after_batch": false}}),
            "executor_config.update_config",
        )
        .unwrap();
        assert_eq!(options.watch_secs, 30);
        assert_eq!(options.strategy.unwrap().kind, StrategyKind::VariableBatch);
        let options = from_document(&json!({"update_strategy": {"batch_size": 2}}), "u").unwrap();
        assert_eq!(options.strategy.unwrap().kind, StrategyKind::Queue);
        let e = from_document(&json!({"watch_secs": "x"}), "u").unwrap_err();
        assert_eq!(e.option, "u.watch_secs");
    }
}
