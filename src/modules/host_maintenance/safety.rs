//! The drain planner of `host_maintenance`, as pure functions: how many instances of each job may
//! be down at once (its SLA, read as Aurora reads it, for every job whatever its size or tier),
//! which jobs need a temporary extra instance first (make before break), which hosts go down
//! together so that no job loses more than that, and what makes a plan unsafe. The module reads
//! the scheduler, calls `plan_drain`, and applies the plan; `instances_up` and `surge_needed`
//! are the same rules applied to the live tasks before each batch.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::api::types::SlaPolicy;

use super::plan::{batch_len, BatchSize};
use super::predict::policy_text;

/// The metadata key (and value) by which a job says that two copies of it must never run at
/// once, as the platform stamps a batch framework's master: it is never surged.
pub const SINGLE_COPY_KEY: &str = "single_copy";

/// What the planner knows of one job with instances on the hosts to drain.
#[derive(Clone, Debug, PartialEq)]
pub struct JobFacts {
    /// `role/environment/name`.
    pub job: String,
    /// Its active instances, cluster wide, without the extra ones of a surge.
    pub instances: usize,
    /// Its own SLA, else the drain's default.
    pub policy: SlaPolicy,
    pub is_service: bool,
    pub single_copy: bool,
    /// Listed in `allow_downtime`.
    pub downtime_allowed: bool,
}

/// How a job is kept whole while its hosts drain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Batches never take down more instances than its SLA lets go.
    Sla,
    /// An extra instance runs elsewhere before its host drains (make before break).
    Surge,
    /// Its SLA is a coordinator's, asked by the scheduler before each of its tasks moves.
    Coordinator,
    /// The operator accepts its downtime (`allow_downtime`).
    DowntimeAllowed,
}

impl JobFacts {
    /// Instances that may be down at once, by Aurora's rule (api-reference §4.8): the policy's
    /// count or percentage of the active instances, and a policy that would let none go down
    /// is relaxed to one. Except that the only instance of a service is never stopped: 0.
    pub fn max_down(&self) -> usize {
        let n = self.instances;
        if self.downtime_allowed {
            return n;
        }
        let from_policy = match &self.policy {
            SlaPolicy::CoordinatorSlaPolicy(_) => return n,
            SlaPolicy::CountSlaPolicy(c) => n.saturating_sub(usize::try_from(c.count).unwrap_or(0)),
            SlaPolicy::PercentageSlaPolicy(p) => {
                // Up must be at least p% of n; a hair below an integer is that integer.
                let up = (n as f64 * p.percentage / 100.0 - 1e-9).ceil().max(0.0) as usize;
                n.saturating_sub(up)
            }
        };
        if n == 1 && self.is_service {
            0
        } else {
            from_policy.max(1)
        }
    }

    /// Instances that must stay up throughout.
    pub fn min_up(&self) -> usize {
        self.instances - self.max_down().min(self.instances)
    }

    fn may_surge(&self) -> bool {
        self.is_service && !self.single_copy
    }

    fn protection(&self, surge: usize) -> Protection {
        if self.downtime_allowed {
            Protection::DowntimeAllowed
        } else if matches!(self.policy, SlaPolicy::CoordinatorSlaPolicy(_)) {
            Protection::Coordinator
        } else if surge > 0 {
            Protection::Surge
        } else {
            Protection::Sla
        }
    }
}

/// A host to drain and the active instances on it, per job.
#[derive(Clone, Debug, PartialEq)]
pub struct DrainHost {
    pub name: String,
    /// The failure domain (the `group_by` attribute's value; empty without it).
    pub group: String,
    pub instances: BTreeMap<String, usize>,
}

/// One job in the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobPlan {
    pub job: String,
    /// Active instances now, as `instances_total` was before.
    pub instances_total: usize,
    /// The most of its instances one batch takes down.
    pub instances_down: usize,
    /// The instances that stay up at all times, by its SLA.
    pub min_running: usize,
    pub sla: String,
    pub protection: Protection,
    /// Extra instances started elsewhere before its hosts drain, removed afterwards.
    pub surge: usize,
    /// Whether the plan keeps its SLA.
    pub holds: bool,
}

/// Why a plan is not safe, naming the job, the hosts and what would make it safe.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    pub job: String,
    pub hosts: Vec<String>,
    pub reason: String,
    pub remedy: String,
}

impl Problem {
    pub fn describe(&self) -> String {
        format!(
            "{} on {}: {}; {}",
            self.job,
            self.hosts.join(", "),
            self.reason,
            self.remedy
        )
    }
}

/// The whole drain: batches in order, per job how it is kept whole, and what makes it unsafe.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrainPlan {
    pub batches: Vec<Vec<String>>,
    pub jobs: Vec<JobPlan>,
    pub problems: Vec<Problem>,
}

impl DrainPlan {
    pub fn surges(&self) -> BTreeMap<String, usize> {
        self.jobs
            .iter()
            .filter(|j| j.surge > 0)
            .map(|j| (j.job.clone(), j.surge))
            .collect()
    }

    /// The refusal of an unsafe plan, the same in check mode and in a real run.
    pub fn refusal(&self) -> Option<String> {
        if self.problems.is_empty() {
            return None;
        }
        let described: Vec<String> = self.problems.iter().map(Problem::describe).collect();
        Some(format!(
            "no safe drain plan: {}. Nothing was drained; drain=force ignores SLAs",
            described.join("; ")
        ))
    }
}

/// Plans the drain of `hosts` (in order: failure domains by their value, hosts by name within
/// one). A batch holds at most `size` hosts of one failure domain (`BatchSize::All`: as many as
/// are safe), and is filled first fit: a host joins the first batch of its domain where no job
/// would lose more than `max_down + surge` instances at once.
pub fn plan_drain(hosts: &[DrainHost], jobs: &[JobFacts], size: BatchSize) -> DrainPlan {
    let facts: BTreeMap<&str, &JobFacts> = jobs.iter().map(|j| (j.job.as_str(), j)).collect();
    let mut problems = Vec::new();
    let mut surge: BTreeMap<&str, usize> = BTreeMap::new();
    let mut allowance: BTreeMap<&str, usize> = BTreeMap::new();
    for job in jobs {
        let max_down = job.max_down();
        let crowded: Vec<(&str, usize)> = hosts
            .iter()
            .filter_map(|h| {
                let n = h.instances.get(&job.job).copied().unwrap_or(0);
                (n > max_down).then_some((h.name.as_str(), n))
            })
            .collect();
        let most = crowded.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let extra = most.saturating_sub(max_down);
        if extra > 0 {
            if job.may_surge() {
                surge.insert(&job.job, extra);
            } else {
                problems.push(crowded_problem(job, &crowded));
            }
        }
        allowance.insert(&job.job, max_down + extra);
    }

    let mut ordered: Vec<&DrainHost> = hosts.iter().collect();
    ordered.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
    let per_batch = batch_len(size, hosts.len());
    // Per batch: its group, its hosts, and how many instances of each job it takes down.
    let mut batches: Vec<(&str, Vec<String>, BTreeMap<&str, usize>)> = Vec::new();
    for host in ordered {
        let fits = |(group, names, down): &(&str, Vec<String>, BTreeMap<&str, usize>)| {
            *group == host.group.as_str()
                && names.len() < per_batch
                && host.instances.iter().all(|(job, n)| {
                    let limit = allowance.get(job.as_str()).copied().unwrap_or(usize::MAX);
                    down.get(job.as_str()).copied().unwrap_or(0) + n <= limit
                })
        };
        let index = match batches.iter().position(fits) {
            Some(index) => index,
            None => {
                batches.push((host.group.as_str(), Vec::new(), BTreeMap::new()));
                batches.len() - 1
            }
        };
        let (_, names, down) = &mut batches[index];
        names.push(host.name.clone());
        for (job, n) in &host.instances {
            if let Some((key, _)) = facts.get_key_value(job.as_str()) {
                *down.entry(key).or_default() += n;
            }
        }
    }

    let refused: BTreeSet<&str> = problems.iter().map(|p| p.job.as_str()).collect();
    let job_plans = jobs
        .iter()
        .map(|job| {
            let down = batches
                .iter()
                .map(|(_, _, d)| d.get(job.job.as_str()).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            let extra = surge.get(job.job.as_str()).copied().unwrap_or(0);
            JobPlan {
                job: job.job.clone(),
                instances_total: job.instances,
                instances_down: down,
                min_running: job.min_up(),
                sla: policy_text(Some(&job.policy)),
                protection: job.protection(extra),
                surge: extra,
                holds: !refused.contains(job.job.as_str()),
            }
        })
        .collect();
    DrainPlan {
        batches: batches.into_iter().map(|(_, names, _)| names).collect(),
        jobs: job_plans,
        problems,
    }
}

/// A job that would lose more instances with one host than its SLA allows, and cannot be given
/// an extra instance first.
fn crowded_problem(job: &JobFacts, crowded: &[(&str, usize)]) -> Problem {
    let hosts: Vec<String> = crowded.iter().map(|(h, _)| h.to_string()).collect();
    let most = crowded.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let allow = format!("list {} in allow_downtime to accept its downtime", job.job);
    if job.instances == 1 {
        let why = if job.single_copy {
            format!("its metadata {SINGLE_COPY_KEY}=true forbids a second copy")
        } else {
            "it is not a service, so no second copy is started".to_string()
        };
        return Problem {
            job: job.job.clone(),
            hosts,
            reason: format!("draining stops its only instance, and {why}"),
            remedy: format!("{allow}, or move it off these hosts first"),
        };
    }
    let why = if job.single_copy {
        format!("; its metadata {SINGLE_COPY_KEY}=true forbids an extra copy")
    } else if !job.is_service {
        "; it is not a service, so no extra copy is started".to_string()
    } else {
        String::new()
    };
    Problem {
        job: job.job.clone(),
        hosts,
        reason: format!(
            "one host holds {most} of its {} instances and its SLA ({}) lets {} be down at once{why}",
            job.instances,
            policy_text(Some(&job.policy)),
            job.max_down()
        ),
        remedy: format!(
            "spread its instances (a host limit constraint), add capacity, lower its SLA, or {allow}"
        ),
    }
}

/// What a job has now, from its live tasks: active instances, and those up (RUNNING for at least
/// the SLA's duration, as the scheduler counts them).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiveCount {
    pub active: usize,
    pub up: usize,
    /// Of those up, the ones on the batch about to drain.
    pub up_on_batch: usize,
    /// Active ones on the batch, up or not.
    pub on_batch: usize,
}

/// Extra instances a job needs before the batch can drain: what keeps `min_up` instances up
/// once the batch's are gone, counting those already there.
pub fn surge_needed(min_up: usize, live: LiveCount) -> usize {
    min_up.saturating_sub(live.active - live.on_batch.min(live.active))
}

/// Whether the batch may drain now: the job keeps `min_up` instances up without its instances on
/// the batch.
pub fn safe_now(min_up: usize, live: LiveCount) -> bool {
    live.up.saturating_sub(live.up_on_batch) >= min_up
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{CountSlaPolicy, PercentageSlaPolicy};
    use proptest::prelude::*;

    fn percentage(p: f64) -> SlaPolicy {
        SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
            percentage: p,
            duration_secs: 60,
        })
    }

    fn service(job: &str, instances: usize) -> JobFacts {
        JobFacts {
            job: job.into(),
            instances,
            policy: percentage(95.0),
            is_service: true,
            single_copy: false,
            downtime_allowed: false,
        }
    }

    fn host(name: &str, group: &str, jobs: &[(&str, usize)]) -> DrainHost {
        DrainHost {
            name: name.into(),
            group: group.into(),
            instances: jobs.iter().map(|(j, n)| (j.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn the_default_sla_lets_one_instance_go_up_to_twenty_and_five_percent_above() {
        // (instances, max down): 95% as Aurora reads it, relaxed to one, never a lone service.
        for (n, down) in [(1, 0), (2, 1), (3, 1), (20, 1), (25, 1), (40, 2), (100, 5)] {
            assert_eq!(service("a/prod/x", n).max_down(), down, "{n} instances");
        }
    }

    #[test]
    fn own_policies_are_read_as_aurora_reads_them() {
        let mut job = service("a/prod/x", 10);
        job.policy = SlaPolicy::CountSlaPolicy(CountSlaPolicy {
            count: 7,
            duration_secs: 60,
        });
        assert_eq!(job.max_down(), 3);
        job.policy = SlaPolicy::CountSlaPolicy(CountSlaPolicy {
            count: 10,
            duration_secs: 60,
        });
        assert_eq!(
            job.max_down(),
            1,
            "a policy allowing none is relaxed to one"
        );
        job.policy = percentage(50.0);
        assert_eq!(job.max_down(), 5);
        let mut batch = service("a/prod/cron", 1);
        batch.is_service = false;
        assert_eq!(
            batch.max_down(),
            1,
            "a batch run is rerun elsewhere, as Aurora does"
        );
        let mut allowed = service("a/prod/y", 3);
        allowed.downtime_allowed = true;
        assert_eq!(allowed.max_down(), 3);
    }

    #[test]
    fn hosts_of_one_job_drain_one_after_another_and_others_together() {
        let jobs = [service("a/prod/web", 3), service("b/prod/db", 25)];
        let hosts = [
            host("h1", "", &[("a/prod/web", 1)]),
            host("h2", "", &[("a/prod/web", 1), ("b/prod/db", 1)]),
            host("h3", "", &[("b/prod/db", 1)]),
            host("h4", "", &[]),
        ];
        let plan = plan_drain(&hosts, &jobs, BatchSize::All);
        assert_eq!(plan.batches, [vec!["h1", "h3", "h4"], vec!["h2"]]);
        assert!(plan.problems.is_empty());
        assert!(plan.jobs.iter().all(|j| j.instances_down == 1 && j.holds));
    }

    #[test]
    fn batches_never_mix_failure_domains_nor_exceed_their_size() {
        let hosts = [
            host("h1", "r1", &[]),
            host("h2", "r1", &[]),
            host("h3", "r2", &[]),
            host("h4", "r1", &[]),
        ];
        let plan = plan_drain(&hosts, &[], BatchSize::All);
        assert_eq!(plan.batches, [vec!["h1", "h2", "h4"], vec!["h3"]]);
        let plan = plan_drain(&hosts, &[], BatchSize::Count(2));
        assert_eq!(plan.batches, [vec!["h1", "h2"], vec!["h4"], vec!["h3"]]);
    }

    #[test]
    fn a_lone_service_instance_gets_an_extra_one_first() {
        let plan = plan_drain(
            &[host("h1", "", &[("a/prod/ui", 1)])],
            &[service("a/prod/ui", 1)],
            BatchSize::All,
        );
        assert!(plan.problems.is_empty());
        assert_eq!(plan.jobs[0].protection, Protection::Surge);
        assert_eq!(plan.jobs[0].surge, 1);
        assert_eq!(plan.jobs[0].min_running, 1);
        assert_eq!(
            plan.surges(),
            BTreeMap::from([("a/prod/ui".to_string(), 1)])
        );
    }

    #[test]
    fn a_single_copy_master_is_refused_unless_its_downtime_is_allowed() {
        let mut master = service("ml/prod/master", 1);
        master.single_copy = true;
        let hosts = [host("h1", "", &[("ml/prod/master", 1)])];
        let plan = plan_drain(&hosts, &[master.clone()], BatchSize::All);
        let refusal = plan.refusal().unwrap();
        assert!(refusal.contains("ml/prod/master on h1"), "{refusal}");
        assert!(refusal.contains("single_copy=true"), "{refusal}");
        assert!(refusal.contains("allow_downtime"), "{refusal}");
        assert!(!plan.jobs[0].holds);
        master.downtime_allowed = true;
        let plan = plan_drain(&hosts, &[master], BatchSize::All);
        assert!(plan.refusal().is_none());
        assert_eq!(plan.jobs[0].protection, Protection::DowntimeAllowed);
    }

    #[test]
    fn instances_crowded_on_one_host_are_surged_for_services_and_refused_otherwise() {
        let hosts = [host("h1", "", &[("a/prod/web", 2)])];
        let plan = plan_drain(&hosts, &[service("a/prod/web", 3)], BatchSize::All);
        assert_eq!(plan.jobs[0].surge, 1);
        let mut batch = service("a/prod/web", 3);
        batch.is_service = false;
        let plan = plan_drain(&hosts, &[batch], BatchSize::All);
        let refusal = plan.refusal().unwrap();
        assert!(
            refusal.contains("one host holds 2 of its 3 instances"),
            "{refusal}"
        );
        assert!(refusal.contains("spread its instances"), "{refusal}");
    }

    #[test]
    fn live_counts_say_when_a_batch_may_drain_and_what_surge_it_needs() {
        let live = LiveCount {
            active: 3,
            up: 3,
            up_on_batch: 1,
            on_batch: 1,
        };
        assert!(safe_now(2, live));
        assert!(!safe_now(3, live));
        assert_eq!(surge_needed(2, live), 0);
        let lone = LiveCount {
            active: 1,
            up: 1,
            up_on_batch: 1,
            on_batch: 1,
        };
        assert_eq!(surge_needed(1, lone), 1);
        let surged = LiveCount {
            active: 2,
            up: 2,
            up_on_batch: 1,
            on_batch: 1,
        };
        assert_eq!(surge_needed(1, surged), 0);
        assert!(safe_now(1, surged));
    }

    proptest! {
        #[test]
        fn no_batch_takes_down_more_than_a_job_may_lose(
            placement in proptest::collection::vec(
                proptest::collection::vec((0usize..4, 0usize..3), 0..4), 1..12),
            sizes in proptest::collection::vec(1usize..30, 4),
            cap in 0usize..4,
        ) {
            let jobs: Vec<JobFacts> = sizes
                .iter()
                .enumerate()
                .map(|(i, n)| service(&format!("r/prod/j{i}"), *n))
                .collect();
            let hosts: Vec<DrainHost> = placement
                .iter()
                .enumerate()
                .map(|(h, tasks)| {
                    let mut instances = BTreeMap::new();
                    for (job, n) in tasks {
                        *instances.entry(format!("r/prod/j{job}")).or_insert(0) += n;
                    }
                    DrainHost { name: format!("h{h:02}"), group: format!("r{}", h % 3), instances }
                })
                .collect();
            let size = if cap == 0 { BatchSize::All } else { BatchSize::Count(cap) };
            let plan = plan_drain(&hosts, &jobs, size);
            // Every host in exactly one batch, of one group, within the size.
            let mut seen: Vec<&String> = plan.batches.iter().flatten().collect();
            seen.sort();
            prop_assert_eq!(seen.len(), hosts.len());
            seen.dedup();
            prop_assert_eq!(seen.len(), hosts.len());
            for batch in &plan.batches {
                if cap > 0 { prop_assert!(batch.len() <= cap); }
                let groups: BTreeSet<&String> = batch
                    .iter()
                    .map(|n| &hosts.iter().find(|h| &h.name == n).unwrap().group)
                    .collect();
                prop_assert_eq!(groups.len(), 1);
                for job in &plan.jobs {
                    let facts = jobs.iter().find(|j| j.job == job.job).unwrap();
                    let down: usize = batch
                        .iter()
                        .map(|n| hosts.iter().find(|h| &h.name == n).unwrap())
                        .map(|h| h.instances.get(&job.job).copied().unwrap_or(0))
                        .sum();
                    // What stays up, counting the surge, never falls below the SLA's minimum.
                    prop_assert!(down <= facts.max_down() + job.surge,
                        "{} loses {down} of {} (+{})", job.job, facts.instances, job.surge);
                }
            }
        }
    }
}
