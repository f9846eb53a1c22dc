//! What startJobUpdate and getJobUpdateDiff are asked (api-reference §4.6.1, §4.6.2): the request
//! checks in the scheduler's order, the typed update settings and strategies, and the diff of a
//! proposal against the job's active tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::api::keys::MAX_INSTANCE_ID;
use crate::api::types::{
    BatchJobUpdateStrategy, ConfigGroup, GetJobUpdateDiffResult, JobKey, JobUpdateRequest,
    JobUpdateSettings, JobUpdateStrategy, Metadata, QueueJobUpdateStrategy, ResponseCode,
    TaskConfig,
};
use crate::sim::config::SchedulerFlags;
use crate::sim::scheduler::ranges;
use crate::sim::validation;

/// A refused request: the response code and its one detail.
pub type Refusal = (ResponseCode, String);

fn invalid(message: impl Into<String>) -> Refusal {
    (ResponseCode::INVALID_REQUEST, message.into())
}

fn error(message: impl Into<String>) -> Refusal {
    (ResponseCode::ERROR, message.into())
}

/// How the updater paces instances (§3.3.7 strategies, §4.6.3).
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Up to `group_size` instances in flight; a new one starts whenever one finishes.
    Queue { group_size: usize },
    /// Batches of `group_size`; the next starts when the whole batch is done.
    Batch { group_size: usize, autopause: bool },
    /// Batches of the given sizes, the last repeating.
    VariableBatch {
        group_sizes: Vec<usize>,
        autopause: bool,
    },
}

impl Strategy {
    /// The wire strategy checked (§4.6.1 checks 3 and 4).
    fn parse(wire: &JobUpdateStrategy) -> Result<Strategy, Refusal> {
        let positive = |size: i32, what: &str| {
            usize::try_from(size).ok().filter(|s| *s > 0).ok_or_else(|| {
                invalid(format!(
                    "{what} must be positive, got {size}: every group of an update must hold at least one instance"
                ))
            })
        };
        Ok(match wire {
            JobUpdateStrategy::QueueStrategy(q) => Strategy::Queue {
                group_size: positive(q.group_size, "queueStrategy.groupSize")?,
            },
            JobUpdateStrategy::BatchStrategy(b) => Strategy::Batch {
                group_size: positive(b.group_size, "batchStrategy.groupSize")?,
                autopause: b.autopause_after_batch,
            },
            JobUpdateStrategy::VarBatchStrategy(v) => {
                let sizes = v.group_sizes.clone().unwrap_or_default();
                if sizes.is_empty() {
                    return Err(invalid(
                        "varBatchStrategy.groupSizes must not be empty: give at least one batch size",
                    ));
                }
                Strategy::VariableBatch {
                    group_sizes: sizes
                        .iter()
                        .map(|s| positive(*s, "every varBatchStrategy.groupSizes entry"))
                        .collect::<Result<_, _>>()?,
                    autopause: v.autopause_after_batch,
                }
            }
        })
    }

    /// Whether the update pauses itself after each batch while rolling forward.
    pub fn autopause(&self) -> bool {
        match self {
            Strategy::Queue { .. } => false,
            Strategy::Batch { autopause, .. } | Strategy::VariableBatch { autopause, .. } => {
                *autopause
            }
        }
    }

    /// How many instances a queue keeps in flight; `None` for batch strategies.
    pub fn queue_size(&self) -> Option<usize> {
        match self {
            Strategy::Queue { group_size } => Some(*group_size),
            _ => None,
        }
    }

    /// Batch lengths over `count` instances taken in pass order, for batch strategies. A variable
    /// batch rollback mirrors the forward batches (§4.6.3): forward 1,2,3 rolls back as 3,2,1.
    pub fn batches(&self, count: usize, forward: bool) -> Option<Vec<usize>> {
        let sizes: &[usize] = match self {
            Strategy::Queue { .. } => return None,
            Strategy::Batch { group_size, .. } => std::slice::from_ref(group_size),
            Strategy::VariableBatch { group_sizes, .. } => group_sizes,
        };
        let mut lengths = Vec::new();
        let mut left = count;
        let mut index = 0;
        while left > 0 {
            let size = sizes
                .get(index)
                .or(sizes.last())
                .copied()
                .unwrap_or(1)
                .max(1);
            lengths.push(size.min(left));
            left -= size.min(left);
            index += 1;
        }
        if !forward && matches!(self, Strategy::VariableBatch { .. }) {
            lengths.reverse();
        }
        Some(lengths)
    }
}

/// JobUpdateSettings checked and typed (§3.3.7).
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateSettings {
    pub strategy: Strategy,
    pub max_per_instance_failures: i32,
    pub max_failed_instances: i32,
    pub min_wait_in_running_ms: i64,
    pub rollback_on_failure: bool,
    /// `blockIfNoPulsesAfterMs` when > 0: the update is coordinated (§4.6.5).
    pub pulse_timeout_ms: Option<i64>,
    /// Accepted and stored; the simulator does not hold kills for SLA checks yet.
    pub sla_aware: bool,
}

/// A startJobUpdate request that passed checks 0 to 9 of §4.6.1.
#[derive(Clone, Debug)]
pub struct ProposedUpdate {
    pub job: JobKey,
    /// The populated TaskConfig (§4.3), what the tasks will carry.
    pub config: TaskConfig,
    pub instance_count: i32,
    pub settings: UpdateSettings,
    /// The settings as stored and shown by getJobUpdateDetails: the strategy is always filled in.
    pub wire_settings: JobUpdateSettings,
    pub metadata: Option<Vec<Metadata>>,
    /// `updateOnlyTheseInstances` as ids; empty = every instance.
    pub scope: BTreeSet<i32>,
}

/// Checks 0 to 9 of §4.6.1 in the scheduler's order (10, cron jobs, needs the cron store; 11 to 14
/// need the job's tasks and the update store).
pub fn check_start_request(
    request: Option<JobUpdateRequest>,
    flags: &SchedulerFlags,
) -> Result<ProposedUpdate, Refusal> {
    // 0 and 1.
    let request = request.ok_or_else(|| error("request must not be null"))?;
    let task = request
        .task_config
        .as_ref()
        .ok_or_else(|| error("request.taskConfig must not be null"))?;
    if !task.is_service {
        return Err(invalid(
            "Updates are not supported for non-service tasks: set isService to update this job, or kill and create it again",
        ));
    }
    let mut wire_settings = request
        .settings
        .clone()
        .ok_or_else(|| error("request.settings must not be null"))?;
    // 2. Old clients send only updateGroupSize and waitForBatchCompletion.
    let wire_strategy = wire_settings
        .update_strategy
        .get_or_insert_with(|| {
            let group_size = wire_settings.update_group_size;
            if wire_settings.wait_for_batch_completion {
                JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                    group_size,
                    autopause_after_batch: false,
                })
            } else {
                JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy { group_size })
            }
        })
        .clone();
    // 3 and 4.
    let strategy = Strategy::parse(&wire_strategy)?;
    // 5 to 8.
    let s = &wire_settings;
    if s.max_per_instance_failures < 0 {
        return Err(invalid(format!(
            "maxPerInstanceFailures must be non-negative, got {}",
            s.max_per_instance_failures
        )));
    }
    if s.max_failed_instances < 0 {
        return Err(invalid(format!(
            "maxFailedInstances must be non-negative, got {}",
            s.max_failed_instances
        )));
    }
    let potential_failures = s.max_per_instance_failures as i64 * request.instance_count as i64;
    if potential_failures > flags.max_update_instance_failures as i64 {
        return Err(invalid(format!(
            "Your update allows too many failures to occur ({} per instance x {} instances > {}, -max_update_instance_failures): decrease maxPerInstanceFailures",
            s.max_per_instance_failures, request.instance_count, flags.max_update_instance_failures
        )));
    }
    if s.min_wait_in_instance_running_ms < 0 {
        return Err(invalid(format!(
            "minWaitInInstanceRunningMs must be non-negative, got {}",
            s.min_wait_in_instance_running_ms
        )));
    }
    let pulse = s.block_if_no_pulses_after_ms.unwrap_or(0);
    if pulse < 0 {
        return Err(invalid(format!(
            "blockIfNoPulsesAfterMs must not be negative, got {pulse}"
        )));
    }
    let sla_aware = s.sla_aware.unwrap_or(false);
    if sla_aware && task.sla_policy.is_none() {
        return Err(invalid(
            "slaAware updates need an slaPolicy in the TaskConfig: add one, or set slaAware false",
        ));
    }
    // 9.
    let config = validation::validate_task(task, request.instance_count, flags).map_err(invalid)?;
    let job = config.job.clone().unwrap_or_default();
    let scope = parse_scope(&wire_settings)?;
    Ok(ProposedUpdate {
        job,
        settings: UpdateSettings {
            strategy,
            max_per_instance_failures: wire_settings.max_per_instance_failures,
            max_failed_instances: wire_settings.max_failed_instances,
            min_wait_in_running_ms: wire_settings.min_wait_in_instance_running_ms as i64,
            rollback_on_failure: wire_settings.rollback_on_failure,
            pulse_timeout_ms: (pulse > 0).then_some(pulse as i64),
            sla_aware,
        },
        config,
        instance_count: request.instance_count,
        wire_settings,
        metadata: request.metadata,
        scope,
    })
}

/// A getJobUpdateDiff request checked: only the TaskConfig is validated (§4.6.2).
pub fn check_diff_request(
    request: Option<JobUpdateRequest>,
    flags: &SchedulerFlags,
) -> Result<(JobKey, TaskConfig, i32, BTreeSet<i32>), Refusal> {
    let request = request.ok_or_else(|| error("request must not be null"))?;
    let task = request
        .task_config
        .as_ref()
        .ok_or_else(|| error("request.taskConfig must not be null"))?;
    let config = validation::validate_task(task, request.instance_count, flags).map_err(invalid)?;
    let settings = request
        .settings
        .as_ref()
        .ok_or_else(|| error("request.settings must not be null"))?;
    let scope = parse_scope(settings)?;
    Ok((
        config.job.clone().unwrap_or_default(),
        config,
        request.instance_count,
        scope,
    ))
}

/// `updateOnlyTheseInstances` as ids. Ranges are bounded like instance lists so that a range such
/// as 0-2000000000 cannot make the simulator allocate billions of ids.
fn parse_scope(settings: &JobUpdateSettings) -> Result<BTreeSet<i32>, Refusal> {
    let mut ids = BTreeSet::new();
    for range in settings.update_only_these_instances.iter().flatten() {
        if range.first < 0 || range.first > range.last || range.last > MAX_INSTANCE_ID {
            return Err(invalid(format!(
                "updateOnlyTheseInstances range {}-{} is invalid: it needs 0 <= first <= last <= {MAX_INSTANCE_ID}",
                range.first, range.last
            )));
        }
        ids.extend(range.first..=range.last);
    }
    Ok(ids)
}

/// Whole-struct equality of populated configs, with a shortcut for shared ones.
pub fn same_config(a: &Arc<TaskConfig>, b: &Arc<TaskConfig>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

/// Instances grouped by equal config, groups in order of their lowest instance.
pub fn group_by_config<'a>(
    instances: impl IntoIterator<Item = (i32, &'a Arc<TaskConfig>)>,
) -> Vec<(Arc<TaskConfig>, Vec<i32>)> {
    let mut groups: Vec<(Arc<TaskConfig>, Vec<i32>)> = Vec::new();
    for (instance, config) in instances {
        match groups.iter_mut().find(|(c, _)| same_config(c, config)) {
            Some((_, ids)) => ids.push(instance),
            None => groups.push((config.clone(), vec![instance])),
        }
    }
    groups.sort_by_key(|(_, ids)| ids.iter().min().copied());
    groups
}

fn config_groups<'a>(
    instances: impl IntoIterator<Item = (i32, &'a Arc<TaskConfig>)>,
) -> Vec<ConfigGroup> {
    group_by_config(instances)
        .into_iter()
        .map(|(config, ids)| ConfigGroup {
            config: Some((*config).clone()),
            instances: Some(ranges(ids)),
        })
        .collect()
}

/// A proposal against the job's active tasks (§4.6.2).
#[derive(Clone, Debug, Default)]
pub struct JobDiff {
    /// Instances whose task is replaced or removed, with their current configs.
    pub replaced: BTreeMap<i32, Arc<TaskConfig>>,
    /// Instances that get the proposed config (added or updated).
    pub replacements: BTreeSet<i32>,
    /// Instances left alone, with their current configs.
    pub unchanged: BTreeMap<i32, Arc<TaskConfig>>,
}

impl JobDiff {
    /// `current` maps instance ids to the configs of the job's active tasks; `proposed` is
    /// populated; a non-empty `scope` restricts both sides to those ids.
    pub fn compute(
        current: &BTreeMap<i32, Arc<TaskConfig>>,
        proposed: &Arc<TaskConfig>,
        instance_count: i32,
        scope: &BTreeSet<i32>,
    ) -> JobDiff {
        let in_scope = |id: i32| scope.is_empty() || scope.contains(&id);
        // Past the largest id anyone may name, an instance count is refused later (§4.6.1 check
        // 13) whatever the diff says, so the ids considered stay bounded.
        let proposed_ids: Vec<i32> = if scope.is_empty() {
            (0..instance_count.min(MAX_INSTANCE_ID + 1)).collect()
        } else {
            scope
                .iter()
                .copied()
                .filter(|id| *id < instance_count)
                .collect()
        };
        let mut diff = JobDiff::default();
        for id in proposed_ids {
            match current.get(&id) {
                Some(config) if same_config(config, proposed) => {}
                Some(config) => {
                    diff.replaced.insert(id, config.clone());
                    diff.replacements.insert(id);
                }
                None => {
                    diff.replacements.insert(id);
                }
            }
        }
        for (id, config) in current {
            if *id >= instance_count && in_scope(*id) {
                diff.replaced.insert(*id, config.clone());
            }
        }
        diff.unchanged = current
            .iter()
            .filter(|(id, _)| !diff.replaced.contains_key(id))
            .map(|(id, config)| (*id, config.clone()))
            .collect();
        diff
    }

    /// Nothing to add, change or remove (§4.6.1 check 12).
    pub fn is_noop(&self) -> bool {
        self.replaced.is_empty() && self.replacements.is_empty()
    }

    /// Scope ids that are neither current instances nor proposed ones (§4.6.1 check 11).
    pub fn out_of_scope(
        scope: &BTreeSet<i32>,
        current: &BTreeMap<i32, Arc<TaskConfig>>,
        instance_count: i32,
    ) -> Vec<i32> {
        scope
            .iter()
            .copied()
            .filter(|id| *id >= instance_count && !current.contains_key(id))
            .collect()
    }

    /// The getJobUpdateDiff answer: `add` shows the proposed config, the others the current one.
    pub fn to_wire(&self, proposed: &Arc<TaskConfig>) -> GetJobUpdateDiffResult {
        let added = self
            .replacements
            .iter()
            .filter(|id| !self.replaced.contains_key(id))
            .map(|id| (*id, proposed));
        let removed = self
            .replaced
            .iter()
            .filter(|(id, _)| !self.replacements.contains(id))
            .map(|(id, config)| (*id, config));
        let updated = self
            .replaced
            .iter()
            .filter(|(id, _)| self.replacements.contains(id))
            .map(|(id, config)| (*id, config));
        GetJobUpdateDiffResult {
            add: Some(config_groups(added)),
            remove: Some(config_groups(removed)),
            update: Some(config_groups(updated)),
            unchanged: Some(config_groups(
                self.unchanged.iter().map(|(id, config)| (*id, config)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{Range, VariableBatchJobUpdateStrategy};

    fn config(data: &str) -> Arc<TaskConfig> {
        Arc::new(TaskConfig {
            contact_email: Some(data.into()),
            ..TaskConfig::default()
        })
    }

    fn current(entries: &[(i32, &Arc<TaskConfig>)]) -> BTreeMap<i32, Arc<TaskConfig>> {
        entries.iter().map(|(i, c)| (*i, (*c).clone())).collect()
    }

    #[test]
    fn diff_classifies_added_updated_removed_and_unchanged_instances() {
        // §4.6.2: ids 0..n-1 proposed; equal configs untouched; ids >= n removed.
        let (old, new) = (config("old"), config("new"));
        let now = current(&[(0, &new), (1, &old), (2, &old), (3, &old)]);
        let diff = JobDiff::compute(&now, &new, 3, &BTreeSet::new());
        assert_eq!(diff.replacements, BTreeSet::from([1, 2]));
        assert_eq!(diff.replaced.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(diff.unchanged.keys().copied().collect::<Vec<_>>(), [0]);
        let grown = JobDiff::compute(&now, &new, 6, &BTreeSet::new());
        let wire = grown.to_wire(&new);
        let ids = |groups: &Option<Vec<ConfigGroup>>| -> Vec<Range> {
            groups
                .iter()
                .flatten()
                .flat_map(|g| g.instances.clone().unwrap())
                .collect()
        };
        assert_eq!(ids(&wire.add), [Range { first: 4, last: 5 }]);
        assert_eq!(ids(&wire.update), [Range { first: 1, last: 3 }]);
        assert!(ids(&wire.remove).is_empty());
        assert_eq!(ids(&wire.unchanged), [Range { first: 0, last: 0 }]);
    }

    #[test]
    fn a_scoped_diff_leaves_other_instances_unchanged() {
        // §4.6.2: both sides restricted to updateOnlyTheseInstances.
        let (old, new) = (config("old"), config("new"));
        let now = current(&[(0, &old), (1, &old), (2, &old)]);
        let diff = JobDiff::compute(&now, &new, 3, &BTreeSet::from([1]));
        assert_eq!(diff.replacements, BTreeSet::from([1]));
        assert_eq!(diff.unchanged.keys().copied().collect::<Vec<_>>(), [0, 2]);
        assert_eq!(JobDiff::out_of_scope(&BTreeSet::from([1, 7]), &now, 3), [7]);
    }

    #[test]
    fn unchanged_proposal_is_a_noop() {
        // §4.6.1 check 12.
        let same = config("same");
        let copy = Arc::new((*same).clone());
        let now = current(&[(0, &same), (1, &same)]);
        assert!(JobDiff::compute(&now, &copy, 2, &BTreeSet::new()).is_noop());
    }

    #[test]
    fn batch_lengths_repeat_the_last_size_and_variable_rollback_mirrors_them() {
        // §4.6.3 strategies.
        let batch = Strategy::Batch {
            group_size: 3,
            autopause: false,
        };
        assert_eq!(batch.batches(8, true), Some(vec![3, 3, 2]));
        assert_eq!(batch.batches(8, false), Some(vec![3, 3, 2]));
        let variable = Strategy::VariableBatch {
            group_sizes: vec![1, 2],
            autopause: true,
        };
        assert_eq!(variable.batches(7, true), Some(vec![1, 2, 2, 2]));
        assert_eq!(variable.batches(7, false), Some(vec![2, 2, 2, 1]));
        assert_eq!(Strategy::Queue { group_size: 2 }.batches(5, true), None);
    }

    #[test]
    fn strategy_sizes_must_be_positive_and_variable_lists_non_empty() {
        // §4.6.1 checks 3 and 4.
        let empty = JobUpdateStrategy::VarBatchStrategy(VariableBatchJobUpdateStrategy {
            group_sizes: Some(vec![]),
            autopause_after_batch: false,
        });
        assert!(Strategy::parse(&empty).is_err());
        let zero = JobUpdateStrategy::VarBatchStrategy(VariableBatchJobUpdateStrategy {
            group_sizes: Some(vec![2, 0]),
            autopause_after_batch: false,
        });
        assert!(Strategy::parse(&zero).is_err());
        let queue = JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy { group_size: 0 });
        assert_eq!(
            Strategy::parse(&queue).unwrap_err().0,
            ResponseCode::INVALID_REQUEST
        );
    }
}
