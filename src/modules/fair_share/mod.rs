//! `aurora.scheduler.fair_share`: competing batch frameworks get their weighted fair shares of a
//! capacity as worker counts, changed through Aurora's job updater. This file reads the
//! scheduler and the loads, asks the allocator (`crate::fair_share`) for the targets and applies
//! them: shrinking frameworks first, waited for, then growing ones, each change one update of
//! the running configuration (`support::scaling`) tagged with who decided it and on what figures.

mod docs;
mod load;
mod options;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome};
use crate::api::aggregate::Amounts;
use crate::api::types::{
    JobKey, JobUpdateKey, JobUpdateStatus, JobUpdateSummary, Metadata, ScheduleStatus,
    ScheduledTask, TaskConfig, TaskQuery,
};
use crate::fair_share::{
    allocate, damp, dominant_share, fit_growth, jain_index, Capacity, Damped, Damping, Framework,
    Kind, Why,
};

use super::quota::read_quota;
use super::support::connection::{local_user, Connection};
use super::support::hosts::active_tasks_by_host;
use super::support::scaling::{
    own_update, running_template, scales_to, scaling_request, sorted_ids, update_settings_of,
    Change,
};
use super::support::tasks::config;
use super::support::updates::{describe, metadata_value, summary_status, update_json, Start};
use super::support::wait::{secs_since, Deadline};
use crate::spec::update::settings as update_settings;
pub use options::Options;
use options::{CapacitySource, FrameworkSettings, Settings};

pub struct FairShare;

/// The metadata key of the allocator's updates: who decided, and the figures it decided on. The
/// newest update carrying it dates the allocator's last change of a job (the stabilisation
/// window), so that runs keep no state of their own.
pub const DECISION_KEY: &str = "org.apache.aurora.ansible.fair_share";

/// The task metadata the batch framework role stamps on a framework's jobs.
const FRAMEWORK_KEY: &str = "batch_framework";
const FRAMEWORK_PART_KEY: &str = "batch_framework_part";

impl Module for FairShare {
    const NAME: &'static str = "fair_share";
    type Options = Options;

    fn documentation() -> Documentation {
        docs::documentation()
    }

    fn run(options: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
        let started = Instant::now();
        let settings = Settings::from_options(&options)?;
        let conn = options.connection.connect()?;
        let found = read_frameworks(&conn, &settings)?;
        let capacity = read_capacity(&conn, &settings, &found)?;
        let loads = load::read_loads(&settings.frameworks, settings.load_timeout);
        let mut decisions = decide(&settings, &capacity.capacity, &found, &loads, now_ms())?;

        let mut applied = Applied::new(&conn);
        let result = if ctx.check_mode {
            Ok(())
        } else {
            let deadline = Deadline::after_secs(settings.wait_timeout);
            apply(
                &conn,
                &settings,
                &found,
                &mut decisions,
                &mut applied,
                &deadline,
            )
        };
        let outcome = outcome(
            ctx,
            &settings.damping,
            &capacity,
            &decisions,
            &applied,
            started,
        );
        match result {
            Ok(()) => Ok(outcome),
            Err(failure) => Err(failure.after(outcome)),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A framework's worker job as the scheduler has it.
struct Found {
    key: JobKey,
    /// Active instance ids, lowest first.
    ids: Vec<i32>,
    per_worker: Amounts,
    production: bool,
    /// Why it is not sized this run (it keeps its count).
    kept: Option<String>,
    /// When the allocator last changed it (the scheduler's time of that update, ms).
    last_change_ms: Option<i64>,
    /// Its newest update of its own (not a scaling), whose settings a scaling rolls out with.
    own_update: Option<JobUpdateKey>,
}

impl Found {
    fn current(&self) -> u32 {
        u32::try_from(self.ids.len()).unwrap_or(u32::MAX)
    }

    fn in_use(&self) -> Amounts {
        self.per_worker
            .times(i32::try_from(self.ids.len()).unwrap_or(i32::MAX))
    }
}

/// Reads every worker job's active tasks in one call and each role's updates in one call.
fn read_frameworks(conn: &Connection, settings: &Settings) -> Result<Vec<Found>, Failure> {
    let keys: Vec<JobKey> = settings.frameworks.iter().map(|f| f.key.clone()).collect();
    let tasks = conn.tasks_of_jobs(&keys, ScheduleStatus::ACTIVE, false)?;
    let mut by_job: BTreeMap<String, Vec<ScheduledTask>> = BTreeMap::new();
    for task in tasks {
        let job = config(&task)
            .and_then(|c| c.job.as_ref())
            .map(JobKey::to_string)
            .unwrap_or_default();
        by_job.entry(job).or_default().push(task);
    }
    let roles: BTreeSet<&str> = keys.iter().filter_map(|k| k.role.as_deref()).collect();
    let mut updates: BTreeMap<String, Vec<JobUpdateSummary>> = BTreeMap::new();
    for role in roles {
        for summary in conn.role_updates(role)? {
            let job = summary
                .key
                .as_ref()
                .and_then(|k| k.job.as_ref())
                .map(JobKey::to_string)
                .unwrap_or_default();
            updates.entry(job).or_default().push(summary);
        }
    }
    settings
        .frameworks
        .iter()
        .map(|f| {
            let job = f.key.to_string();
            let active = by_job.remove(&job).unwrap_or_default();
            let mut job_updates = updates.remove(&job).unwrap_or_default();
            job_updates.sort_by_key(|u| {
                std::cmp::Reverse(u.state.as_ref().map_or(0, |s| s.created_timestamp_ms))
            });
            found(f, &active, &job_updates)
        })
        .collect()
}

fn found(
    framework: &FrameworkSettings,
    active: &[ScheduledTask],
    updates: &[JobUpdateSummary],
) -> Result<Found, Failure> {
    let key = framework.key.clone();
    let template = running_template(active);
    let metadata = |name: &str| -> Option<String> {
        template.as_ref()?.metadata.iter().flatten().find_map(|m| {
            (m.key.as_deref() == Some(name))
                .then(|| m.value.clone())
                .flatten()
        })
    };
    if metadata(FRAMEWORK_PART_KEY).as_deref() == Some("master") {
        let name = metadata(FRAMEWORK_KEY).unwrap_or_default();
        return Err(Failure::new(format!(
            "{key} is the master of batch framework {name}; give its worker job \
             ({}/{}/{name}-worker) instead",
            key.role.as_deref().unwrap_or_default(),
            key.environment.as_deref().unwrap_or_default()
        )));
    }
    let in_flight = updates
        .iter()
        .find(|u| summary_status(u).is_some_and(|s| s.is_active()));
    let kept = match (&template, in_flight) {
        (None, _) => Some(format!(
            "{key} has no active instances: deploy it first (aurora.scheduler.aurora_batch_framework); \
             left out"
        )),
        (Some(t), _) if !t.is_service => Some(format!(
            "{key} is not a service: its instances finish on their own; left out"
        )),
        (Some(_), Some(update)) => Some(format!(
            "{} is in flight ({}, started by {}); kept its count until it ends",
            describe(&update.key.clone().unwrap_or_default()),
            summary_status(update)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            update.user.as_deref().unwrap_or("unknown user")
        )),
        _ => None,
    };
    let last_change_ms = updates
        .iter()
        .find(|u| metadata_value(u, DECISION_KEY).is_some())
        .and_then(|u| u.state.as_ref())
        .map(|s| s.created_timestamp_ms);
    Ok(Found {
        key,
        ids: sorted_ids(active),
        per_worker: template
            .as_ref()
            .map(|t| Amounts::of_resources(t.resources.iter().flatten()))
            .unwrap_or_default(),
        production: template
            .as_ref()
            .and_then(|t| t.production)
            .unwrap_or(false),
        kept,
        last_change_ms,
        own_update: own_update(updates),
    })
}

/// The capacity the frameworks share, and where it came from, for the result.
struct CapacityFound {
    capacity: Capacity,
    json: Value,
}

fn read_capacity(
    conn: &Connection,
    settings: &Settings,
    found: &[Found],
) -> Result<CapacityFound, Failure> {
    let managed: BTreeSet<String> = found.iter().map(|f| f.key.to_string()).collect();
    let (capacity, mut json) = match &settings.capacity {
        CapacitySource::Budget { total, kinds } => {
            (Capacity::new(*total, kinds), json!({"source": "capacity"}))
        }
        CapacitySource::Quota { role } => {
            let quota = read_quota(&conn.client, role)?;
            let limit = Amounts::of(quota.quota.as_ref());
            let used = Amounts::of(quota.prod_shared_consumption.as_ref());
            // The frameworks' own production workers are what is being shared.
            let workers = found
                .iter()
                .filter(|f| f.key.role.as_deref() == Some(role.as_str()) && f.production)
                .fold(Amounts::default(), |sum, f| sum.plus(f.in_use()));
            let others = Amounts {
                gpu: 0,
                ..used.minus(workers)
            };
            let capacity = Capacity::new(limit, &[Kind::Cpu, Kind::Ram, Kind::Disk]);
            (
                capacity.minus(others),
                json!({"source": format!("quota of {role}"), "quota": limit.json(),
                       "used_by_other_jobs": others.json()}),
            )
        }
        CapacitySource::Hosts { hosts, size, kinds } => {
            let known: BTreeSet<String> =
                conn.client.agents()?.into_iter().map(|a| a.host).collect();
            let unknown: Vec<&str> = hosts
                .iter()
                .filter(|h| !known.contains(*h))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(Failure::new(format!(
                    "capacity_from_hosts.hosts: the scheduler knows no agent named {}",
                    unknown.join(", ")
                )));
            }
            let mut others = Amounts::default();
            for task in active_tasks_by_host(&conn.client, Some(hosts))?
                .values()
                .flatten()
            {
                let Some(task_config) = config(task) else {
                    continue;
                };
                let job = task_config.job.as_ref().map(JobKey::to_string);
                if job.is_some_and(|j| managed.contains(&j)) {
                    continue;
                }
                others = others.plus(Amounts::of_resources(
                    task_config.resources.iter().flatten(),
                ));
            }
            let total = size.times(i32::try_from(hosts.len()).unwrap_or(i32::MAX));
            (
                Capacity::new(total, kinds).minus(others),
                json!({"source": format!("{} hosts", hosts.len()), "hosts": total.json(),
                       "used_by_other_jobs": others.json()}),
            )
        }
    };
    let limited: Vec<&str> = Kind::ALL
        .iter()
        .filter(|k| capacity.limits(**k))
        .map(|k| k.name())
        .collect();
    json["shared"] = capacity.total.json();
    json["limited"] = json!(limited);
    Ok(CapacityFound { capacity, json })
}

/// What the run decides for one framework.
#[derive(Clone, Debug)]
struct Decision {
    job: JobKey,
    current: u32,
    load: Option<f64>,
    demand: Option<u32>,
    fair: Option<u32>,
    target: u32,
    /// The allocator's reason, or why the framework keeps its count.
    why: Result<Why, String>,
    weight: f64,
    min_workers: u32,
    max_workers: Option<u32>,
    per_worker: Amounts,
}

impl Decision {
    fn changes(&self) -> bool {
        self.why.is_ok() && self.target != self.current
    }

    /// Whether it has work for more workers than its target, within its `max_workers`.
    fn wants_more(&self) -> bool {
        self.demand.is_some_and(|demand| {
            let ceiling = self.max_workers.map_or(demand, |max| demand.min(max));
            ceiling > self.target
        })
    }

    /// `grow`, `shrink`, `held` (a shrink held back by the window), `unchanged` or `kept` (not
    /// sized this run).
    fn action(&self) -> &'static str {
        match &self.why {
            Err(_) => "kept",
            Ok(Why::Held { .. }) => "held",
            Ok(_) if self.target > self.current => "grow",
            Ok(_) if self.target < self.current => "shrink",
            Ok(_) => "unchanged",
        }
    }

    fn reason(&self, damping: &Damping) -> String {
        let fair = self.fair.unwrap_or(self.current);
        let (tolerance, limit_percent) = (damping.tolerance, damping.max_scale_down_percent);
        let damping_window = damping.window_secs;
        match &self.why {
            Err(why) => why.clone(),
            Ok(Why::AtFairShare) => "has its fair share".into(),
            Ok(Why::WithinTolerance) => format!(
                "its fair share of {fair} is within the tolerance ({}%) of its count",
                tolerance * 100.0
            ),
            Ok(Why::Grow) => format!("grows to its fair share of {fair}"),
            Ok(Why::Shrink) => format!("shrinks to its fair share of {fair}"),
            Ok(Why::ShrinkLimited) => format!(
                "shrinks by the most one run removes ({limit_percent}%), towards its fair share \
                 of {fair}"
            ),
            Ok(Why::Held { since_secs }) => format!(
                "shrinking to {fair} held: the allocator changed it {since_secs:.0} s ago, \
                 within the window of {damping_window:.0} s"
            ),
            Ok(Why::GrowthTrimmed) => format!(
                "grows less than its fair share of {fair}: frameworks whose shrinking is held \
                 back still use the rest"
            ),
            Ok(Why::AboveMax) => "above max_workers: brought down to it".into(),
        }
    }
}

/// The targets: frameworks kept at their counts (load unreadable, another update in flight)
/// hold what they use; the others share the rest by weighted DRF, damped.
fn decide(
    settings: &Settings,
    capacity: &Capacity,
    found: &[Found],
    loads: &[Result<f64, String>],
    now_ms: i64,
) -> Result<Vec<Decision>, Failure> {
    let mut held = Amounts::default();
    let mut decisions = Vec::new();
    let mut sized = Vec::new();
    for (i, (f, job)) in settings.frameworks.iter().zip(found).enumerate() {
        let load = loads[i].as_ref().ok().copied();
        let kept = match (&job.kept, &loads[i]) {
            (Some(why), _) => Some(why.clone()),
            (None, Err(why)) => Some(format!("load unreadable ({why}); kept its count")),
            (None, Ok(_)) => None,
        };
        if kept.is_some() {
            held = held.plus(job.in_use());
        } else {
            sized.push(i);
        }
        decisions.push(Decision {
            job: job.key.clone(),
            current: job.current(),
            load,
            demand: load.map(|l| f.demand(l)),
            fair: None,
            target: job.current(),
            why: kept.map_or(Ok(Why::AtFairShare), Err),
            weight: f.weight,
            min_workers: f.min_workers,
            max_workers: f.max_workers,
            per_worker: job.per_worker,
        });
    }
    let left = capacity.minus(held);
    let claims: Vec<Framework> = sized
        .iter()
        .map(|&i| Framework {
            job: decisions[i].job.to_string(),
            per_worker: decisions[i].per_worker,
            demand: decisions[i].demand.unwrap_or(0),
            weight: decisions[i].weight,
            min_workers: decisions[i].min_workers,
            max_workers: decisions[i].max_workers,
        })
        .collect();
    let fair = allocate(&left, &claims).map_err(|shortfall| Failure::new(shortfall.to_string()))?;
    let current: Vec<u32> = sized.iter().map(|&i| decisions[i].current).collect();
    let mut damped: Vec<Damped> = sized
        .iter()
        .enumerate()
        .map(|(c, &i)| {
            let since = found[i]
                .last_change_ms
                .map(|ms| (now_ms - ms) as f64 / 1000.0);
            damp(current[c], fair[c], &claims[c], since, &settings.damping)
        })
        .collect();
    fit_growth(&left, &claims, &current, &mut damped, &settings.damping);
    for (c, &i) in sized.iter().enumerate() {
        decisions[i].fair = Some(fair[c]);
        decisions[i].target = damped[c].target;
        decisions[i].why = Ok(damped[c].why);
    }
    Ok(decisions)
}

/// What was done, for the result.
struct Applied {
    url: String,
    changed: bool,
    /// Per job: the update started or joined, with its last known status.
    updates: BTreeMap<String, Value>,
    /// What was done, in order, for the message.
    done: Vec<String>,
    waited_secs: f64,
}

impl Applied {
    fn new(conn: &Connection) -> Applied {
        Applied {
            url: conn.url.clone(),
            changed: false,
            updates: BTreeMap::new(),
            done: Vec::new(),
            waited_secs: 0.0,
        }
    }
}

/// Shrinking frameworks first, each an update, all waited for; then growing ones, waited for
/// when `wait`.
fn apply(
    conn: &Connection,
    settings: &Settings,
    found: &[Found],
    decisions: &mut [Decision],
    applied: &mut Applied,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let changing: Vec<usize> = (0..decisions.len())
        .filter(|&i| decisions[i].changes())
        .collect();
    if changing.is_empty() {
        return Ok(());
    }
    let templates = templates(conn, found, &changing)?;
    let (shrinking, growing): (Vec<usize>, Vec<usize>) = changing
        .iter()
        .partition(|&&i| decisions[i].target < decisions[i].current);
    let started = start_all(
        conn, settings, found, decisions, &templates, &shrinking, applied,
    )?;
    follow_all(conn, &started, applied, deadline)?;
    let started = start_all(
        conn, settings, found, decisions, &templates, &growing, applied,
    )?;
    if settings.wait {
        follow_all(conn, &started, applied, deadline)?;
    }
    Ok(())
}

/// The running configuration of each changing job: its lowest instance's, executor data
/// included, all in one call.
fn templates(
    conn: &Connection,
    found: &[Found],
    changing: &[usize],
) -> Result<BTreeMap<String, TaskConfig>, Failure> {
    let query = TaskQuery {
        job_keys: Some(changing.iter().map(|&i| found[i].key.clone()).collect()),
        instance_ids: Some(
            changing
                .iter()
                .filter_map(|&i| found[i].ids.first().copied())
                .collect(),
        ),
        statuses: Some(ScheduleStatus::ACTIVE.to_vec()),
        ..TaskQuery::default()
    };
    let tasks = conn.query_tasks(query, true)?;
    let mut templates = BTreeMap::new();
    for &i in changing {
        let job = found[i].key.to_string();
        let lowest = found[i].ids.first().copied();
        let own: Vec<ScheduledTask> = tasks
            .iter()
            .filter(|t| {
                config(t)
                    .and_then(|c| c.job.as_ref())
                    .map(JobKey::to_string)
                    == Some(job.clone())
                    && t.assigned_task.as_ref().map(|a| a.instance_id) == lowest
            })
            .cloned()
            .collect();
        if let Some(template) = running_template(&own) {
            templates.insert(job, template);
        }
    }
    Ok(templates)
}

/// Starts the updates of `which`; returns the updates to follow (started or joined), by index.
fn start_all(
    conn: &Connection,
    settings: &Settings,
    found: &[Found],
    decisions: &mut [Decision],
    templates: &BTreeMap<String, TaskConfig>,
    which: &[usize],
    applied: &mut Applied,
) -> Result<Vec<(usize, JobUpdateKey)>, Failure> {
    let mut started = Vec::new();
    for &i in which {
        let decision = decisions[i].clone();
        let job = decision.job.to_string();
        let Some(template) = templates.get(&job).cloned() else {
            decisions[i].target = decision.current;
            decisions[i].why = Err(format!(
                "{job} had no active instance left to copy; kept its count"
            ));
            continue;
        };
        let target = i32::try_from(decision.target).unwrap_or(i32::MAX);
        let change = Change::between(&found[i].ids, target);
        let own = match &found[i].own_update {
            Some(update) => update_settings_of(conn, update)?,
            None => None,
        };
        let framework = &settings.frameworks[i];
        let rollout = match (own, &framework.update) {
            (Some(own), _) => Some(own),
            (None, Some(update)) => Some(
                update_settings(
                    update,
                    &framework.update_option,
                    target,
                    false,
                    template.sla_policy.is_some(),
                )
                .map_err(|e| Failure::new(e.to_string()))?,
            ),
            (None, None) => None,
        };
        let request = scaling_request(
            template,
            &change,
            target,
            rollout,
            vec![Metadata {
                key: Some(DECISION_KEY.to_string()),
                value: Some(decision_record(&decision, settings).to_string()),
            }],
        )?;
        let message = format!(
            "aurora.scheduler.fair_share: {} -> {} workers ({})",
            decision.current,
            decision.target,
            decision.reason(&settings.damping)
        );
        let step = format!("{job} {} -> {}", decision.current, decision.target);
        match conn.begin_update(request, &message)? {
            Start::Started(key) => {
                applied.changed = true;
                applied
                    .updates
                    .insert(job, json!({"id": key.id, "status": "ROLLING_FORWARD"}));
                applied.done.push(format!("{step} ({})", change.describe()));
                started.push((i, key));
            }
            Start::Conflict(update) if scales_to(&update, target) => {
                // Another run decided the same: its update is this run's.
                applied.changed = true;
                applied.updates.insert(job, update_json(&update));
                applied
                    .done
                    .push(format!("{step} (joined {})", describe_key(&update)));
                started.push((i, update.key.clone().unwrap_or_default()));
            }
            Start::Conflict(update) => {
                decisions[i].target = decision.current;
                decisions[i].why = Err(format!(
                    "{} started meanwhile; kept its count until it ends",
                    describe_key(&update)
                ));
            }
            Start::Unchanged => {
                decisions[i].target = decision.current;
                decisions[i].why = Err(format!(
                    "the scheduler found nothing to change in {job}; kept its count"
                ));
            }
        }
    }
    Ok(started)
}

fn describe_key(update: &JobUpdateSummary) -> String {
    describe(&update.key.clone().unwrap_or_default())
}

/// Follows each update to its end; the failures of all are reported together.
fn follow_all(
    conn: &Connection,
    started: &[(usize, JobUpdateKey)],
    applied: &mut Applied,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let mut failures = Vec::new();
    for (_, key) in started {
        let waiting = Instant::now();
        let end = conn.follow_update(key, deadline)?;
        applied.waited_secs += secs_since(waiting);
        let job = key.job.as_ref().map(JobKey::to_string).unwrap_or_default();
        let Some(end) = end else {
            failures.push(format!(
                "{} was still rolling after wait_timeout ({} s); the scheduler carries on with it",
                describe(key),
                deadline.limit_secs()
            ));
            continue;
        };
        applied
            .updates
            .insert(job, json!({"id": key.id, "status": end.to_string()}));
        if end != JobUpdateStatus::ROLLED_FORWARD {
            failures.push(format!(
                "{} ended {end}: {}",
                describe(key),
                conn.update_failure_reason(key)
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(failures.join("; ")))
    }
}

/// What an update's metadata says about the decision: who made it and on which figures.
fn decision_record(decision: &Decision, settings: &Settings) -> Value {
    json!({
        "decided_by": format!("aurora.scheduler.fair_share ({})", local_user()),
        "current": decision.current,
        "demand": decision.demand,
        "fair_share": decision.fair,
        "target": decision.target,
        "weight": decision.weight,
        "reason": decision.reason(&settings.damping),
    })
}

fn round(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

fn outcome(
    ctx: &Context,
    damping: &Damping,
    capacity: &CapacityFound,
    decisions: &[Decision],
    applied: &Applied,
    started: Instant,
) -> Outcome {
    let rows: Vec<Value> = decisions
        .iter()
        .map(|d| {
            let share = dominant_share(&capacity.capacity, &d.per_worker, d.target);
            let mut row = json!({
                "job": d.job.to_string(),
                "current": d.current,
                "demand": d.demand,
                "load": d.load,
                "fair_share": d.fair,
                "target": d.target,
                "dominant_share": round(share, 4),
                "weighted_dominant_share": round(share / d.weight, 4),
                "weight": d.weight,
                "min_workers": d.min_workers,
                "max_workers": d.max_workers,
                "action": d.action(),
                "reason": d.reason(damping),
            });
            if let Some(update) = applied.updates.get(&d.job.to_string()) {
                row["update"] = update.clone();
            }
            row
        })
        .collect();
    // A framework that has all it asks for is held back by its own demand, not by the others.
    let competing: Vec<f64> = decisions
        .iter()
        .filter(|d| d.wants_more())
        .map(|d| dominant_share(&capacity.capacity, &d.per_worker, d.target) / d.weight)
        .collect();
    let jain = round(jain_index(&competing), 4);
    let changing: Vec<&Decision> = decisions.iter().filter(|d| d.changes()).collect();
    let plan = json!({
        "shrink": changing.iter().filter(|d| d.target < d.current).map(|d| d.job.to_string()).collect::<Vec<_>>(),
        "grow": changing.iter().filter(|d| d.target > d.current).map(|d| d.job.to_string()).collect::<Vec<_>>(),
    });
    let msg = if changing.is_empty() {
        "every framework keeps its count".to_string()
    } else if ctx.check_mode {
        let steps: Vec<String> = changing
            .iter()
            .map(|d| format!("{} {} -> {}", d.job, d.current, d.target))
            .collect();
        format!("would rebalance: {}", steps.join(", "))
    } else {
        format!("rebalanced: {}", applied.done.join(", "))
    };
    let changed = if ctx.check_mode {
        !changing.is_empty()
    } else {
        applied.changed
    };
    let mut outcome = Outcome::changed(changed)
        .msg(msg)
        .field("allocation", rows)
        .field("jain_index", jain)
        .field("capacity", capacity.json.clone())
        .field("plan", plan)
        .field("table", table(decisions, capacity, jain))
        .field("scheduler_url", applied.url.clone())
        .field(
            "durations",
            json!({"total_secs": secs_since(started), "wait_secs": applied.waited_secs}),
        );
    if ctx.diff {
        let counts = |f: &dyn Fn(&Decision) -> u32| -> Value {
            decisions
                .iter()
                .map(|d| (d.job.to_string(), json!(f(d))))
                .collect::<serde_json::Map<String, Value>>()
                .into()
        };
        outcome = outcome.diff(counts(&|d| d.current), counts(&|d| d.target));
    }
    outcome
}

/// The allocation as text lines, for a debug task or a log.
fn table(decisions: &[Decision], capacity: &CapacityFound, jain: f64) -> Vec<String> {
    let width = decisions
        .iter()
        .map(|d| d.job.to_string().len())
        .max()
        .unwrap_or(3)
        .max(3);
    let mut lines = vec![format!(
        "{:<width$}  {:>7}  {:>6}  {:>4}  {:>6}  {:>8}  ACTION",
        "JOB", "CURRENT", "DEMAND", "FAIR", "TARGET", "DOMINANT"
    )];
    for d in decisions {
        let share = dominant_share(&capacity.capacity, &d.per_worker, d.target);
        let dash = |v: Option<u32>| v.map_or("-".to_string(), |n| n.to_string());
        lines.push(format!(
            "{:<width$}  {:>7}  {:>6}  {:>4}  {:>6}  {:>7.1}%  {}",
            d.job.to_string(),
            d.current,
            dash(d.demand),
            dash(d.fair),
            d.target,
            share * 100.0,
            d.action()
        ));
    }
    lines.push(format!(
        "Jain's index over the competing frameworks' weighted dominant shares: {jain}"
    ));
    lines
}
