//! Make before break: the extra instances a service runs elsewhere while its host drains, started
//! and removed through Aurora's job updater as `instances` scales a job (support::scaling), and
//! tagged with the count the job had before, so that a re-run after an interruption knows the
//! job's own count and removes the extra instances it left.

use std::collections::BTreeMap;

use crate::ansible::Failure;
use crate::api::types::{JobKey, JobUpdateKey, JobUpdateStatus, Metadata, ScheduledTask};
use crate::modules::support::connection::Connection;
use crate::modules::support::scaling::{
    own_update_settings, running_template, scales_to, scaling_request, sorted_ids, Change,
};
use crate::modules::support::updates::{conflict_failure, describe, metadata_value, Start};
use crate::modules::support::wait::Deadline;

/// The metadata key of a surge update: the job's instance count before it.
pub const SURGE_KEY: &str = "org.apache.aurora.ansible.drain_surge";

/// The count each job had before a surge still in place: the job's newest update is a surge
/// (tagged `SURGE_KEY`) and the job has more instances than that. One read per role.
pub fn surges_in_place(
    conn: &Connection,
    active_counts: &BTreeMap<JobKey, usize>,
) -> Result<BTreeMap<String, usize>, Failure> {
    let mut roles: Vec<&str> = active_counts
        .keys()
        .filter_map(|k| k.role.as_deref())
        .collect();
    roles.dedup();
    let mut found = BTreeMap::new();
    for role in roles {
        let mut updates = conn.role_updates(role)?;
        updates.sort_by_key(|u| {
            std::cmp::Reverse(u.state.as_ref().map_or(0, |s| s.created_timestamp_ms))
        });
        let mut newest_seen = std::collections::BTreeSet::new();
        for update in &updates {
            let Some(job) = update.key.as_ref().and_then(|k| k.job.clone()) else {
                continue;
            };
            if !newest_seen.insert(job.clone()) {
                continue;
            }
            let before = metadata_value(update, SURGE_KEY).and_then(|v| v.parse::<usize>().ok());
            if let (Some(before), Some(active)) = (before, active_counts.get(&job)) {
                if *active > before {
                    found.insert(job.to_string(), before);
                }
            }
        }
    }
    Ok(found)
}

/// Scales `key` to `wanted` instances, copying the running configuration, and returns the
/// update's key without waiting for it; `surge_from` tags an update that adds extra instances
/// with the job's own count. Joins this module's own scaling to the same count in flight; any
/// other update in flight fails, naming it: the drain cannot add instances under it.
pub fn scale(
    conn: &Connection,
    key: &JobKey,
    wanted: usize,
    surge_from: Option<usize>,
) -> Result<Option<JobUpdateKey>, Failure> {
    let active: Vec<ScheduledTask> = conn.active_tasks(key, true)?;
    let ids = sorted_ids(&active);
    let template = running_template(&active).ok_or_else(|| {
        Failure::new(format!(
            "{key}: no active instance left to copy for an extra one"
        ))
    })?;
    let wanted = i32::try_from(wanted).unwrap_or(i32::MAX);
    let change = Change::between(&ids, wanted);
    if change.is_none() {
        return Ok(None);
    }
    let settings = own_update_settings(conn, key)?;
    let tags: Vec<Metadata> = surge_from
        .map(|before| Metadata {
            key: Some(SURGE_KEY.to_string()),
            value: Some(before.to_string()),
        })
        .into_iter()
        .collect();
    let request = scaling_request(template, &change, wanted, settings, tags)?;
    match conn.begin_update(request, "aurora.scheduler.host_maintenance")? {
        Start::Started(update) => Ok(Some(update)),
        Start::Unchanged => Ok(None),
        Start::Conflict(update) if scales_to(&update, wanted) => Ok(update.key.clone()),
        Start::Conflict(update) => Err(conflict_failure(&update).prefixed(&format!(
            "{key} needs an extra instance elsewhere before its host drains, and an update is in \
             flight; wait for it to end, or list {key} in allow_downtime"
        ))),
    }
}

/// Follows a scaling update to its end; fails with the scheduler's reason unless it rolled
/// forward.
pub fn follow(
    conn: &Connection,
    update: &JobUpdateKey,
    deadline: &Deadline,
) -> Result<(), Failure> {
    match conn.follow_update(update, deadline)? {
        Some(JobUpdateStatus::ROLLED_FORWARD) => Ok(()),
        Some(end) => Err(Failure::new(format!(
            "{} ended {end}: {}",
            describe(update),
            conn.update_failure_reason(update)
        ))),
        None => Err(Failure::new(format!(
            "{} was still rolling after wait_timeout ({} s); re-run to carry on",
            describe(update),
            deadline.limit_secs()
        ))),
    }
}
