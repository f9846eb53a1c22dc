//! The pre-flight: the planned jobs held against what the scheduler says (its tiers, the team's
//! quota, what runs now), so that what the scheduler would refuse or silently degrade is found
//! before anything is written, in the words of whoever has to change it. Pure: the `platform`
//! module reads the facts.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::mediate::{Names, PlannedJob, Problem};
use super::request::State;
use crate::api::aggregate::Amounts;
use crate::api::types::{GetQuotaResult, GetTierConfigResult};

/// A job as it runs now.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunningJob {
    /// Active instances.
    pub instances: i32,
    /// What one instance uses.
    pub per_instance: Amounts,
    /// Whether its tasks count against the production quota (production and not dedicated).
    pub uses_quota: bool,
}

/// What the scheduler says, read once for all the workload's jobs.
pub struct SchedulerView<'a> {
    pub tiers: &'a GetTierConfigResult,
    /// The team's quota and consumption.
    pub quota: &'a GetQuotaResult,
    /// The workload's jobs that run now, by job key.
    pub running: &'a BTreeMap<String, RunningJob>,
}

/// The problems found, and what was checked, for the result.
pub struct Preflight {
    pub problems: Vec<Problem>,
    pub summary: Value,
}

/// Whether a tier is a production tier: neither preemptible nor revocable
/// (client-reference §1.7, the scheduler's rule).
fn tier_production(tiers: &GetTierConfigResult, name: &str) -> Option<bool> {
    let tier = tiers
        .tiers
        .iter()
        .flatten()
        .find(|t| t.name.as_deref() == Some(name))?;
    let setting = |key: &str| {
        tier.settings
            .as_ref()
            .and_then(|s| s.get(key))
            .is_some_and(|v| v == "true")
    };
    Some(!setting("preemptible") && !setting("revocable"))
}

fn per_instance(job: &PlannedJob) -> Amounts {
    let Some(task) = &job.options.task else {
        return Amounts::default();
    };
    let whole_mib = |size: crate::spec::Size| i64::try_from(size.whole_mib()).unwrap_or(i64::MAX);
    Amounts {
        cpu: task.resources.cpu,
        ram_mb: whole_mib(task.resources.ram),
        disk_mb: whole_mib(task.resources.disk),
        gpu: task.resources.gpu,
    }
}

fn is_dedicated(job: &PlannedJob) -> bool {
    job.options
        .constraints
        .as_ref()
        .is_some_and(|c| c.contains_key("dedicated"))
}

/// Checks the planned jobs of one team against the scheduler's view.
pub fn preflight(jobs: &[PlannedJob], view: &SchedulerView, names: &Names) -> Preflight {
    let mut problems = Vec::new();
    let mut tiers_seen = serde_json::Map::new();
    let mut needed = Amounts::default();
    let mut needing: Vec<String> = Vec::new();
    let mut team = String::new();

    for job in jobs.iter().filter(|j| j.state == State::Present) {
        let key = job.key();
        team = job.options.role.clone();
        let tier = job.options.tier.clone().unwrap_or_default();
        let Some(production) = tier_production(view.tiers, &tier) else {
            let known: Vec<&str> = view
                .tiers
                .tiers
                .iter()
                .flatten()
                .filter_map(|t| t.name.as_deref())
                .collect();
            problems.push(Problem {
                variable: job.tier_variable.clone(),
                message: format!(
                    "tier {tier:?} does not exist on this scheduler; its tiers are: {}",
                    known.join(", ")
                ),
            });
            continue;
        };
        tiers_seen.insert(key.clone(), json!({"tier": tier, "production": production}));

        if let Some(expected) = job.production {
            if expected != production {
                problems.push(Problem {
                    variable: job.tier_variable.clone(),
                    message: if expected {
                        format!(
                            "tier {tier:?} is not a production tier on this scheduler, but \
                             environment {} is production: {key} would use no quota, keep no \
                             SLA and could be pre-empted; use a production tier such as preferred",
                            job.options.environment
                        )
                    } else {
                        format!(
                            "tier {tier:?} is a production tier on this scheduler, but \
                             environment {} is not production; use a preemptible tier, or mark \
                             the environment production: true",
                            job.options.environment
                        )
                    },
                });
            }
        }

        if let (Some(_), Some(variable)) = (&job.options.sla_policy, &job.sla_variable) {
            if !production {
                problems.push(Problem {
                    variable: variable.clone(),
                    message: format!(
                        "{key} runs on tier {tier:?}, which is not a production tier: the \
                         scheduler refuses SLA policies there (api-reference §4.3); remove the \
                         SLA policy or use a production tier"
                    ),
                });
            }
        }

        if production && !is_dedicated(job) {
            let running = view.running.get(&key);
            let count = match running {
                Some(r) if job.keep_instance_count && r.instances > 0 => r.instances,
                _ => job.options.instances.unwrap_or(1),
            };
            let wanted = per_instance(job).times(count);
            let already = running
                .filter(|r| r.uses_quota)
                .map(|r| r.per_instance.times(r.instances))
                .unwrap_or_default();
            let more = wanted.minus(already);
            needed = needed.plus(more);
            if more != Amounts::default() {
                needing.push(format!("{key} ({count} x {})", per_instance(job)));
            }
        }
    }

    let quota = Amounts::of(view.quota.quota.as_ref());
    let used = Amounts::of(view.quota.prod_shared_consumption.as_ref());
    let left = quota.minus(used);
    let positive = Amounts {
        cpu: needed.cpu.max(0.0),
        ram_mb: needed.ram_mb.max(0),
        disk_mb: needed.disk_mb.max(0),
        // GPUs are not quota (Amounts::of).
        gpu: 0,
    };
    if !positive.fits_in(left) {
        let why = if quota == Amounts::default() {
            format!("team {team} has no production quota")
        } else {
            format!("only {left} of team {team}'s production quota are left (quota {quota}, used {used})")
        };
        problems.push(Problem {
            variable: names.var("team"),
            message: format!(
                "production needs {positive} more for {}, but {why}; ask the platform team to \
                 raise the quota (aurora.scheduler.quota), or deploy fewer or smaller instances",
                needing.join(" and ")
            ),
        });
    }
    Preflight {
        problems,
        summary: json!({
            "tiers": tiers_seen,
            "quota": {"team": team, "needed": needed.json(), "left": left.json(), "quota": quota.json()},
        }),
    }
}
