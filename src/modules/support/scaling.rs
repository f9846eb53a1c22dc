//! Changing a running service's instance count through Aurora's job updater: an update of the
//! running configuration limited (`updateOnlyTheseInstances`) to the instances added or removed
//! (api-reference §4.6.2), rolled out with the job's own update settings, and tagged with the
//! count it scales to, so that another run asking for the same count joins it instead of adding
//! again. Shared by `instances` and `fair_share`.

use crate::ansible::Failure;
use crate::api::keys::ranges;
use crate::api::types::{
    JobKey, JobUpdateKey, JobUpdateRequest, JobUpdateSettings, JobUpdateStrategy, JobUpdateSummary,
    Metadata, ScheduledTask, TaskConfig,
};
use crate::spec::update::{settings as update_settings, UpdateOptions};

use super::connection::Connection;
use super::tasks::{config, describe_ids, instance_id};
use super::updates::{client_update_id, metadata_value};

/// The metadata key of scaling updates: the instance count they scale to.
pub const INSTANCE_COUNT_KEY: &str = "org.apache.aurora.ansible.instance_count";

/// How the instance ids change.
#[derive(Debug, PartialEq)]
pub enum Change {
    None,
    /// New instance ids, after the highest active one.
    Add(Vec<i32>),
    /// The highest ids, removed.
    Remove(Vec<i32>),
}

impl Change {
    /// From the active ids (sorted) to `wanted` instances.
    pub fn between(ids: &[i32], wanted: i32) -> Change {
        let current = ids.len() as i32;
        let highest = ids.last().copied().unwrap_or(-1);
        if wanted > current {
            Change::Add((highest + 1..=highest + wanted - current).collect())
        } else if wanted < current {
            let mut gone = ids[wanted.max(0) as usize..].to_vec();
            gone.sort_unstable();
            Change::Remove(gone)
        } else {
            Change::None
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Change::None)
    }

    /// The update's `updateOnlyTheseInstances` and `instanceCount`: added ids fall below the
    /// count, removed ids at or above it, and no other instance is in scope (§4.6.2).
    pub fn scope(&self, wanted: i32) -> (Vec<i32>, i32) {
        match self {
            Change::Add(ids) => (ids.clone(), ids.iter().max().map_or(wanted, |m| m + 1)),
            Change::Remove(ids) => (ids.clone(), ids.iter().min().copied().unwrap_or(wanted)),
            Change::None => (Vec::new(), wanted),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Change::None => serde_json::json!({}),
            Change::Add(ids) => serde_json::json!({"add": ids}),
            Change::Remove(ids) => serde_json::json!({"remove": ids}),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Change::None => "no change".to_string(),
            Change::Add(ids) => format!("adds instances {}", describe_ids(ids)),
            Change::Remove(ids) => format!("removes instances {}", describe_ids(ids)),
        }
    }
}

/// The distinct active instance ids, lowest first.
pub fn sorted_ids(active: &[ScheduledTask]) -> Vec<i32> {
    let mut ids: Vec<i32> = active.iter().map(instance_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The configuration new instances copy: that of the lowest active instance.
pub fn running_template(active: &[ScheduledTask]) -> Option<TaskConfig> {
    let lowest = sorted_ids(active).first().copied()?;
    active
        .iter()
        .filter(|t| instance_id(t) == lowest)
        .find_map(config)
        .cloned()
}

/// Whether `update` scales its job to `count` instances.
pub fn scales_to(update: &JobUpdateSummary, count: i32) -> bool {
    metadata_value(update, INSTANCE_COUNT_KEY) == Some(&count.to_string())
}

/// The update that adds or removes the instances of `change` and nothing else: the running
/// configuration `template`, `updateOnlyTheseInstances` set to those ids, and an instance count
/// that puts added ids inside the job and removed ids outside it (api-reference §4.6.1 check 11,
/// §4.6.2), rolled out with `settings` (Aurora's defaults without). `metadata` is added to the
/// client update id and the count.
pub fn scaling_request(
    template: TaskConfig,
    change: &Change,
    wanted: i32,
    settings: Option<JobUpdateSettings>,
    metadata: Vec<Metadata>,
) -> Result<JobUpdateRequest, Failure> {
    let (scope, instance_count) = change.scope(wanted);
    let settings = scaling_settings(settings, &scope, template.sla_policy.is_some())?;
    let mut tags = vec![
        client_update_id(),
        Metadata {
            key: Some(INSTANCE_COUNT_KEY.to_string()),
            value: Some(wanted.to_string()),
        },
    ];
    tags.extend(metadata);
    Ok(JobUpdateRequest {
        task_config: Some(template),
        instance_count,
        settings: Some(settings),
        metadata: Some(tags),
    })
}

/// The job's newest update of its own (a configuration rolled out, not a scaling update), among
/// `updates` (newest first): the one whose settings say how the job wants its instances changed.
pub fn own_update(updates: &[JobUpdateSummary]) -> Option<JobUpdateKey> {
    updates
        .iter()
        .find(|u| metadata_value(u, INSTANCE_COUNT_KEY).is_none())
        .and_then(|u| u.key.clone())
}

/// The settings of the job's newest update of its own, if it has one.
pub fn own_update_settings(
    conn: &Connection,
    key: &JobKey,
) -> Result<Option<JobUpdateSettings>, Failure> {
    match own_update(&conn.job_updates(key)?) {
        Some(update) => update_settings_of(conn, &update),
        None => Ok(None),
    }
}

/// The settings an update rolled out with.
pub fn update_settings_of(
    conn: &Connection,
    key: &JobUpdateKey,
) -> Result<Option<JobUpdateSettings>, Failure> {
    Ok(conn
        .update_details(key)?
        .and_then(|d| d.update)
        .and_then(|u| u.instructions)
        .and_then(|i| i.settings))
}

/// The job's update settings (Aurora's defaults without one) limited to `scope`, never waiting
/// for pulses nor pausing itself (nothing would pulse or resume it), and SLA-aware only when
/// the configuration has an SLA policy.
fn scaling_settings(
    previous: Option<JobUpdateSettings>,
    scope: &[i32],
    has_sla_policy: bool,
) -> Result<JobUpdateSettings, Failure> {
    let mut settings = match previous {
        Some(settings) => settings,
        None => update_settings(&UpdateOptions::default(), "update", 1, false, false)
            .map_err(|e| Failure::new(e.to_string()))?,
    };
    settings.update_only_these_instances = Some(ranges(scope.to_vec()));
    settings.block_if_no_pulses_after_ms = None;
    settings.sla_aware = Some(settings.sla_aware == Some(true) && has_sla_policy);
    match &mut settings.update_strategy {
        Some(JobUpdateStrategy::BatchStrategy(batch)) => batch.autopause_after_batch = false,
        Some(JobUpdateStrategy::VarBatchStrategy(batch)) => batch.autopause_after_batch = false,
        _ => {}
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn growing_adds_ids_after_the_highest_active_one() {
        assert_eq!(
            Change::between(&[0, 1, 4], 5).to_json(),
            json!({"add": [5, 6]})
        );
    }

    #[test]
    fn shrinking_removes_the_highest_ids() {
        assert_eq!(
            Change::between(&[0, 1, 2, 3], 2).to_json(),
            json!({"remove": [2, 3]})
        );
        assert!(Change::between(&[0, 1], 2).is_none());
    }

    #[test]
    fn the_update_reaches_only_the_instances_added_or_removed() {
        // (active ids, wanted) -> (updateOnlyTheseInstances, instanceCount)
        let cases: &[(&[i32], i32, &[i32], i32)] = &[
            (&[0, 1, 2], 5, &[3, 4], 5),
            (&[0, 1, 4], 5, &[5, 6], 7),
            (&[0, 1, 2, 3], 2, &[2, 3], 2),
            (&[0, 2, 7], 1, &[2, 7], 2),
        ];
        for (ids, wanted, scope, count) in cases {
            let (got_scope, got_count) = Change::between(ids, *wanted).scope(*wanted);
            assert_eq!(
                (got_scope.as_slice(), got_count),
                (*scope, *count),
                "{ids:?} to {wanted}"
            );
        }
    }

    #[test]
    fn scaling_keeps_the_jobs_update_settings_but_never_waits_for_pulses_or_pauses() {
        let previous = JobUpdateSettings {
            update_group_size: 3,
            min_wait_in_instance_running_ms: 30_000,
            block_if_no_pulses_after_ms: Some(60_000),
            sla_aware: Some(true),
            update_strategy: Some(JobUpdateStrategy::BatchStrategy(
                crate::api::types::BatchJobUpdateStrategy {
                    group_size: 3,
                    autopause_after_batch: true,
                },
            )),
            ..JobUpdateSettings::default()
        };
        let settings = scaling_settings(Some(previous), &[3, 4, 6], false).unwrap();
        assert_eq!(settings.update_group_size, 3);
        assert_eq!(settings.min_wait_in_instance_running_ms, 30_000);
        assert_eq!(settings.block_if_no_pulses_after_ms, None);
        assert_eq!(settings.sla_aware, Some(false));
        assert!(matches!(
            settings.update_strategy,
            Some(JobUpdateStrategy::BatchStrategy(b)) if !b.autopause_after_batch && b.group_size == 3
        ));
        let scope: Vec<(i32, i32)> = settings
            .update_only_these_instances
            .unwrap_or_default()
            .iter()
            .map(|r| (r.first, r.last))
            .collect();
        assert_eq!(scope, [(3, 4), (6, 6)]);
    }

    #[test]
    fn a_job_never_updated_scales_with_aurora_default_settings() {
        let settings = scaling_settings(None, &[2], false).unwrap();
        assert_eq!(settings.update_group_size, 1);
        assert_eq!(settings.min_wait_in_instance_running_ms, 45_000);
        assert!(settings.rollback_on_failure);
    }
}
