//! What a drain does to jobs, as pure functions: the check-mode prediction (per job, how many
//! instances go down at once and whether its SLA holds, the idea of aurora_admin's
//! `sla_probe_hosts`) and the report of what still holds a host when a wait times out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::api::types::{ScheduledTask, SlaPolicy};
use crate::modules::support::hosts::job_key;
use crate::modules::support::tasks::{config, instance_id};

/// The policy a task is drained under: its own, else the drain's default.
pub fn effective_policy<'a>(
    task: &'a ScheduledTask,
    default: Option<&'a SlaPolicy>,
) -> Option<&'a SlaPolicy> {
    config(task).and_then(|c| c.sla_policy.as_ref()).or(default)
}

/// The policy in words, for results and messages.
pub fn policy_text(policy: Option<&SlaPolicy>) -> String {
    match policy {
        None => "none".to_string(),
        Some(SlaPolicy::PercentageSlaPolicy(p)) => {
            format!("{}% of instances up for {}s", p.percentage, p.duration_secs)
        }
        Some(SlaPolicy::CountSlaPolicy(c)) => {
            format!("{} instances up for {}s", c.count, c.duration_secs)
        }
        Some(SlaPolicy::CoordinatorSlaPolicy(c)) => format!(
            "coordinator {}",
            c.coordinator_url.as_deref().unwrap_or("(no URL)")
        ),
    }
}

/// Whether `total - down` instances still meet the policy. A coordinator decides for itself when
/// asked, so it is taken to hold; no policy holds trivially.
pub fn sla_holds(policy: Option<&SlaPolicy>, total: usize, down: usize) -> bool {
    let up = total.saturating_sub(down);
    match policy {
        None | Some(SlaPolicy::CoordinatorSlaPolicy(_)) => true,
        Some(_) if total == 0 => true,
        Some(SlaPolicy::PercentageSlaPolicy(p)) => up as f64 * 100.0 / total as f64 >= p.percentage,
        Some(SlaPolicy::CountSlaPolicy(c)) => up as i64 >= c.count,
    }
}

/// One job in the check-mode prediction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobPrediction {
    pub job: String,
    /// The job's active instances now.
    pub instances_total: usize,
    /// The most instances down at once: batches drain one after the other, so the largest
    /// share of the job on one batch.
    pub instances_down: usize,
    pub sla: String,
    pub holds: bool,
}

/// Per job with tasks on the batches: `job_tasks` are the active tasks of those jobs, cluster
/// wide; `on_hosts` the active tasks by host; `default` the drain's policy for tasks without one.
pub fn predict_jobs(
    batches: &[Vec<String>],
    on_hosts: &BTreeMap<String, Vec<ScheduledTask>>,
    job_tasks: &[ScheduledTask],
    default: Option<&SlaPolicy>,
) -> Vec<JobPrediction> {
    let mut down: BTreeMap<String, usize> = BTreeMap::new();
    for batch in batches {
        let mut in_batch: BTreeMap<String, usize> = BTreeMap::new();
        for task in batch.iter().filter_map(|h| on_hosts.get(h)).flatten() {
            *in_batch.entry(job_key(task).to_string()).or_default() += 1;
        }
        for (job, n) in in_batch {
            let most = down.entry(job).or_default();
            *most = (*most).max(n);
        }
    }
    let mut totals: BTreeMap<String, (usize, Option<&SlaPolicy>)> = BTreeMap::new();
    for task in job_tasks {
        let entry = totals
            .entry(job_key(task).to_string())
            .or_insert((0, effective_policy(task, default)));
        entry.0 += 1;
    }
    down.into_iter()
        .map(|(job, instances_down)| {
            let (total, policy) = totals
                .get(&job)
                .copied()
                .unwrap_or((instances_down, default));
            let instances_total = total.max(instances_down);
            JobPrediction {
                holds: sla_holds(policy, instances_total, instances_down),
                sla: policy_text(policy),
                job,
                instances_total,
                instances_down,
            }
        })
        .collect()
}

/// One job holding one host when a wait gave up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Blocker {
    pub host: String,
    pub job: String,
    pub instances: Vec<i32>,
    /// The SLA that holds the tasks back, in words.
    pub sla: String,
    /// When the scheduler drains them regardless (UTC), when known.
    pub forced_at: Option<String>,
}

/// What holds each host: its active tasks grouped by job.
pub fn blockers(
    on_hosts: &BTreeMap<String, Vec<ScheduledTask>>,
    default: Option<&SlaPolicy>,
    forced_at: &BTreeMap<String, String>,
) -> Vec<Blocker> {
    let mut found = Vec::new();
    for (host, tasks) in on_hosts {
        let mut by_job: BTreeMap<String, (Vec<i32>, Option<&SlaPolicy>)> = BTreeMap::new();
        for task in tasks {
            let entry = by_job
                .entry(job_key(task).to_string())
                .or_insert((Vec::new(), effective_policy(task, default)));
            entry.0.push(instance_id(task));
        }
        for (job, (mut instances, policy)) in by_job {
            instances.sort_unstable();
            found.push(Blocker {
                host: host.clone(),
                job,
                instances,
                sla: policy_text(policy),
                forced_at: forced_at.get(host).cloned(),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{
        AssignedTask, CountSlaPolicy, JobKey, PercentageSlaPolicy, TaskConfig,
    };
    use crate::spec::utc::utc_millis;

    fn task(job: &str, instance: i32, own: Option<SlaPolicy>) -> ScheduledTask {
        let key = JobKey::parse(job).unwrap();
        ScheduledTask {
            assigned_task: Some(AssignedTask {
                instance_id: instance,
                task: Some(TaskConfig {
                    job: Some(key),
                    sla_policy: own,
                    ..TaskConfig::default()
                }),
                ..AssignedTask::default()
            }),
            ..ScheduledTask::default()
        }
    }

    fn percentage(p: f64) -> SlaPolicy {
        SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
            percentage: p,
            duration_secs: 1800,
        })
    }

    #[test]
    fn sla_holds_by_percentage_and_by_count() {
        assert!(sla_holds(Some(&percentage(75.0)), 4, 1));
        assert!(!sla_holds(Some(&percentage(95.0)), 4, 1));
        let count = SlaPolicy::CountSlaPolicy(CountSlaPolicy {
            count: 3,
            duration_secs: 60,
        });
        assert!(sla_holds(Some(&count), 5, 2));
        assert!(!sla_holds(Some(&count), 5, 3));
        assert!(sla_holds(None, 5, 5));
    }

    #[test]
    fn the_prediction_counts_the_most_instances_down_in_one_batch() {
        let on_hosts: BTreeMap<String, Vec<ScheduledTask>> = [
            ("h1".to_string(), vec![task("a/prod/web", 0, None)]),
            (
                "h2".to_string(),
                vec![task("a/prod/web", 1, None), task("b/prod/db", 0, None)],
            ),
            ("h3".to_string(), vec![task("a/prod/web", 2, None)]),
        ]
        .into();
        let cluster: Vec<ScheduledTask> = (0..4)
            .map(|i| task("a/prod/web", i, None))
            .chain([
                task("b/prod/db", 0, Some(percentage(50.0))),
                task("b/prod/db", 1, Some(percentage(50.0))),
            ])
            .collect();
        let batches = vec![
            vec!["h1".to_string(), "h2".to_string()],
            vec!["h3".to_string()],
        ];
        let jobs = predict_jobs(&batches, &on_hosts, &cluster, Some(&percentage(75.0)));
        assert_eq!(
            jobs,
            vec![
                JobPrediction {
                    job: "a/prod/web".into(),
                    instances_total: 4,
                    instances_down: 2,
                    sla: "75% of instances up for 1800s".into(),
                    holds: false,
                },
                JobPrediction {
                    job: "b/prod/db".into(),
                    instances_total: 2,
                    instances_down: 1,
                    sla: "50% of instances up for 1800s".into(),
                    holds: true,
                },
            ]
        );
    }

    #[test]
    fn blockers_group_a_hosts_tasks_by_job_with_the_sla_and_force_time() {
        let on_hosts: BTreeMap<String, Vec<ScheduledTask>> = [(
            "h1".to_string(),
            vec![task("a/prod/web", 3, None), task("a/prod/web", 1, None)],
        )]
        .into();
        let forced = [("h1".to_string(), utc_millis(0))].into();
        let found = blockers(&on_hosts, Some(&percentage(95.0)), &forced);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].instances, vec![1, 3]);
        assert_eq!(found[0].sla, "95% of instances up for 1800s");
        assert_eq!(found[0].forced_at.as_deref(), Some("1970-01-01T00:00:00Z"));
    }
}
