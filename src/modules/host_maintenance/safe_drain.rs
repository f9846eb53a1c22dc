//! `state=drained` with `drain=sla`: read where every job runs, plan with `safety::plan_drain`,
//! refuse an unsafe plan before any write (check mode fails the same way), then batch by batch:
//! start the extra instances a batch needs, wait until every job on it can lose its instances
//! there and stay within its SLA, drain, wait for DRAINED; at the end wait for the moved
//! instances to run and remove the extra ones.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::ansible::{Context, Failure, Outcome};
use crate::api::methods::GetPendingReason;
use crate::api::types::{
    JobKey, JobUpdateKey, MaintenanceMode, Result as Payload, ScheduleStatus, ScheduledTask,
    SlaPolicy, TaskQuery,
};
use crate::modules::support::hosts::job_key;
use crate::modules::support::tasks::{config, instance_id, status};
use crate::modules::support::wait::{poll, Deadline, Look};

use super::plan::batch_step;
use super::predict::Blocker;
use super::safety::{
    plan_drain, safe_now, surge_needed, DrainHost, DrainPlan, JobFacts, LiveCount, SINGLE_COPY_KEY,
};
use super::surge::{self, surges_in_place};
use super::{describe_hosts, wait_for, Action, Run};

/// What the run knows of each job while it drains: its facts, and the extra instances it has.
struct Jobs {
    facts: BTreeMap<String, JobFacts>,
    /// Job → the count it had before this run's (or an earlier run's) surge.
    surged: BTreeMap<String, usize>,
    /// Scaling updates this run started, to follow at the end.
    updates: Vec<JobUpdateKey>,
}

pub(super) fn drain_safely(
    run: &mut Run,
    ctx: &mut Context,
    attributes: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
) -> Result<Outcome, Failure> {
    let pending: Vec<String> = run
        .settings
        .hosts
        .iter()
        .filter(|h| run.mode(h) != MaintenanceMode::DRAINED)
        .cloned()
        .collect();
    if pending.is_empty() {
        return Ok(super::with_empty_prediction(
            run.outcome(ctx, "every host is already DRAINED".to_string()),
            ctx,
        ));
    }
    let on_hosts = run.scheduler.active_tasks(&pending)?;
    let mut keys: Vec<JobKey> = on_hosts.values().flatten().map(job_key).collect();
    keys.sort();
    keys.dedup();
    let job_tasks = run.scheduler.job_tasks(keys)?;
    let mut counts: BTreeMap<JobKey, usize> = BTreeMap::new();
    for task in &job_tasks {
        *counts.entry(job_key(task)).or_default() += 1;
    }
    let surged = run
        .scheduler
        .counted_failure(|| surges_in_place(run.scheduler.conn, &counts))?;
    let facts = job_facts(&job_tasks, &surged, run);
    let hosts = drain_hosts(&pending, &on_hosts, attributes, run)?;
    let mut plan = plan_drain(&hosts, &facts, run.settings.batch_size);
    // Hosts already on their way (an interrupted run) go first: their tasks are moving already.
    plan.batches
        .sort_by_key(|b| !b.iter().any(|h| run.mode(h) == MaintenanceMode::DRAINING));
    run.batches = plan.batches.clone();
    let prediction = prediction_json(&pending, &on_hosts, &plan);

    if let Some(refusal) = plan.refusal() {
        return Err(run
            .failure(refusal)
            .field("prediction", prediction)
            .field("problems", json!(plan.problems)));
    }
    if ctx.check_mode {
        for host in &pending {
            run.modes.insert(host.clone(), MaintenanceMode::DRAINED);
        }
        run.changed = true;
        let msg = format!(
            "{} host(s) would be drained in {} batch(es){}",
            pending.len(),
            plan.batches.len(),
            surges_text(&plan, "would run")
        );
        return Ok(run.outcome(ctx, msg).field("prediction", prediction));
    }

    let to_schedule: Vec<String> = pending
        .iter()
        .filter(|h| run.mode(h) == MaintenanceMode::NONE)
        .cloned()
        .collect();
    run.apply(Action::Schedule, &to_schedule)?;
    run.changed |= !to_schedule.is_empty();

    let mut jobs = Jobs {
        facts: facts.into_iter().map(|f| (f.job.clone(), f)).collect(),
        surged,
        updates: Vec::new(),
    };
    let deadline = Deadline::after_secs(run.settings.wait_timeout);
    let batches = plan.batches.clone();
    run.batches.clear();
    let mut left_waiting = 0;
    for (index, batch) in batches.iter().enumerate() {
        let step = batch_step(batch, &run.modes);
        if step.is_done() {
            continue;
        }
        if !run.batches.is_empty() && !run.settings.wait {
            left_waiting = batches.len() - index;
            break;
        }
        let coordinated = make_room(run, &mut jobs, batch, &deadline)?;
        // Hosts DRAINING since an earlier run are asked again: the plan just checked is the one
        // that holds now, whatever that run's SLA was.
        let to_drain = step.to_wait_for.clone();
        let action = if coordinated {
            Action::Drain
        } else {
            Action::ForceDrain
        };
        run.apply(action, &to_drain)?;
        run.changed = true;
        let now = super::now_epoch_secs();
        for host in &to_drain {
            run.drain_requested_at.insert(host.clone(), now);
        }
        run.batches.push(batch.clone());
        if run.settings.wait {
            wait_for(run, &to_drain, MaintenanceMode::DRAINED, &deadline)?;
        }
    }
    let mut kept = BTreeMap::new();
    if left_waiting == 0 && run.settings.wait {
        for job in wait_for_moved(run, &jobs, &deadline)? {
            if let Some(before) = jobs.surged.remove(&job) {
                kept.insert(job, before);
            }
        }
        remove_surges(run, &mut jobs, &deadline)?;
    }
    let msg = if left_waiting > 0 {
        format!(
            "draining batch {} of {}; wait=false: re-run to drain the {left_waiting} batch(es) left",
            batches.len() - left_waiting,
            batches.len()
        )
    } else if run.settings.wait {
        format!(
            "{} host(s) DRAINED in {} batch(es), every job within its SLA{}",
            pending.len(),
            run.batches.len(),
            surges_text(&plan, "ran")
        )
    } else {
        format!("{} host(s) draining", pending.len())
    };
    let mut outcome = run.outcome(ctx, msg).field("surged", json!(plan.surges()));
    if !kept.is_empty() {
        let jobs: Vec<String> = kept
            .iter()
            .map(|(job, count)| format!("{job} (back to {count})"))
            .collect();
        ctx.warn(format!(
            "{} keep their extra instances: giving them back now would take them below \
                 their SLA, their own instances having no room to run while these hosts are \
                 drained. Once the hosts are back (state=active), give them back with \
                 aurora.scheduler.instances, or let the next drain of these jobs' hosts do it",
            jobs.join(", ")
        ));
        outcome = outcome.field("extra_instances_left", json!(kept));
    }
    Ok(outcome)
}

/// `; a/prod/ui ran 1 extra instance while its host drained`, for the result's message.
fn surges_text(plan: &DrainPlan, verb: &str) -> String {
    plan.surges()
        .iter()
        .map(|(job, n)| format!("; {job} {verb} {n} extra instance(s) while its hosts drained"))
        .collect()
}

/// Per job: its count (without a surge in place), its SLA (its own, else the drain's), whether
/// it is a service, a single copy, or allowed downtime.
fn job_facts(
    job_tasks: &[ScheduledTask],
    surged: &BTreeMap<String, usize>,
    run: &Run,
) -> Vec<JobFacts> {
    let mut facts: BTreeMap<String, JobFacts> = BTreeMap::new();
    for task in job_tasks {
        let job = job_key(task).to_string();
        let entry = facts.entry(job.clone()).or_insert_with(|| {
            let c = config(task);
            JobFacts {
                downtime_allowed: run.settings.allow_downtime.contains(&job),
                job,
                instances: 0,
                policy: c
                    .and_then(|c| c.sla_policy.clone())
                    .unwrap_or_else(|| run.settings.sla_policy.clone()),
                is_service: c.is_some_and(|c| c.is_service),
                single_copy: c.is_some_and(is_single_copy),
            }
        });
        entry.instances += 1;
    }
    for fact in facts.values_mut() {
        if let Some(before) = surged.get(&fact.job) {
            fact.instances = (*before).min(fact.instances);
        }
    }
    facts.into_values().collect()
}

fn is_single_copy(config: &crate::api::types::TaskConfig) -> bool {
    config.metadata.iter().flatten().any(|m| {
        m.key.as_deref() == Some(SINGLE_COPY_KEY)
            && m.value
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    })
}

/// The hosts to drain with their failure domain and instances per job.
fn drain_hosts(
    pending: &[String],
    on_hosts: &BTreeMap<String, Vec<ScheduledTask>>,
    attributes: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    run: &Run,
) -> Result<Vec<DrainHost>, Failure> {
    pending
        .iter()
        .map(|name| {
            let group = match &run.settings.group_by {
                None => String::new(),
                Some(attribute) => match attributes.get(name).and_then(|a| a.get(attribute)) {
                    Some(values) if !values.is_empty() => values.join(","),
                    _ => {
                        return Err(Failure::new(format!(
                            "group_by: host {name} has no attribute {attribute:?}; group by an \
                             attribute every host has (see aurora.scheduler.host_info), or leave \
                             it out"
                        )))
                    }
                },
            };
            let mut instances = BTreeMap::new();
            for task in on_hosts.get(name).into_iter().flatten() {
                *instances.entry(job_key(task).to_string()).or_default() += 1;
            }
            Ok(DrainHost {
                name: name.clone(),
                group,
                instances,
            })
        })
        .collect()
}

/// The check-mode prediction, also returned by a real run and with a refusal: per host the
/// tasks that move, per job how it is kept whole.
fn prediction_json(
    pending: &[String],
    on_hosts: &BTreeMap<String, Vec<ScheduledTask>>,
    plan: &DrainPlan,
) -> Value {
    json!({
        "hosts": super::moving_tasks_json(pending, on_hosts),
        "jobs": plan.jobs,
        "batches": plan.batches
    })
}

/// Whether the task has been RUNNING for the SLA's duration at `now_ms` (the scheduler's clock).
fn is_up(task: &ScheduledTask, policy: &SlaPolicy, now_ms: i64) -> bool {
    if status(task) != ScheduleStatus::RUNNING {
        return false;
    }
    let duration_ms = match policy {
        SlaPolicy::PercentageSlaPolicy(p) => p.duration_secs,
        SlaPolicy::CountSlaPolicy(c) => c.duration_secs,
        SlaPolicy::CoordinatorSlaPolicy(_) => 0,
    }
    .saturating_mul(1000);
    let since = task
        .task_events
        .iter()
        .flatten()
        .filter(|e| e.status == Some(ScheduleStatus::RUNNING))
        .map(|e| e.timestamp)
        .max()
        .unwrap_or(i64::MAX);
    now_ms.saturating_sub(since) >= duration_ms
}

/// Before a batch drains: every job with instances on it gets the extra instances it needs, then
/// the wait until each keeps its SLA without them. Returns whether a task on the batch has a
/// coordinator SLA (the batch then goes through slaDrainHosts).
fn make_room(
    run: &mut Run,
    jobs: &mut Jobs,
    batch: &[String],
    deadline: &Deadline,
) -> Result<bool, Failure> {
    let batch_hosts: BTreeSet<&str> = batch.iter().map(String::as_str).collect();
    let mut blocking: Vec<Blocker> = Vec::new();
    let mut coordinated = false;
    let mut error = None;
    let done = poll(deadline, || {
        let (on_batch, tasks) = match read_batch(run, batch) {
            Ok(read) => read,
            Err(e) => {
                error = Some(e);
                return Ok(Look::Done(()));
            }
        };
        let now_ms = run.scheduler.conn.client.scheduler_now_ms();
        blocking.clear();
        coordinated = false;
        for job in &on_batch {
            let facts = match jobs.facts.get(job) {
                Some(f) => f.clone(),
                // A task placed on the batch's hosts since the plan was made.
                None => match job_facts(&tasks, &jobs.surged, run)
                    .into_iter()
                    .find(|f| &f.job == job)
                {
                    Some(f) => {
                        jobs.facts.insert(job.clone(), f.clone());
                        f
                    }
                    None => continue,
                },
            };
            if matches!(facts.policy, SlaPolicy::CoordinatorSlaPolicy(_)) {
                coordinated = true;
                continue;
            }
            if facts.downtime_allowed {
                continue;
            }
            let mine: Vec<&ScheduledTask> = tasks
                .iter()
                .filter(|t| job_key(t).to_string() == *job)
                .collect();
            let on_batch_host = |t: &ScheduledTask| {
                t.assigned_task
                    .as_ref()
                    .and_then(|a| a.slave_host.as_deref())
                    .is_some_and(|h| batch_hosts.contains(h))
            };
            let live = LiveCount {
                active: mine.len(),
                up: mine
                    .iter()
                    .filter(|t| is_up(t, &facts.policy, now_ms))
                    .count(),
                up_on_batch: mine
                    .iter()
                    .filter(|t| on_batch_host(t) && is_up(t, &facts.policy, now_ms))
                    .count(),
                on_batch: mine.iter().filter(|t| on_batch_host(t)).count(),
            };
            let min_up = facts.min_up();
            let extra = surge_needed(min_up, live);
            if extra > 0 {
                if !facts.is_service || facts.single_copy {
                    error = Some(Failure::new(format!(
                        "{job}: draining {} would leave {} of its {} instances and it cannot run \
                         an extra copy; list it in allow_downtime or move it first",
                        describe_hosts(batch),
                        live.active - live.on_batch,
                        facts.instances
                    )));
                    return Ok(Look::Done(()));
                }
                let before = *jobs.surged.entry(job.clone()).or_insert(facts.instances);
                let key = JobKey::parse(job).unwrap_or_default();
                match run.scheduler.counted_failure(|| {
                    surge::scale(run.scheduler.conn, &key, live.active + extra, Some(before))
                }) {
                    Ok(Some(update)) => {
                        run.changed = true;
                        if !jobs.updates.contains(&update) {
                            jobs.updates.push(update);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        error = Some(e);
                        return Ok(Look::Done(()));
                    }
                }
            }
            if extra > 0 || !safe_now(min_up, live) {
                let mut instances: Vec<i32> = mine
                    .iter()
                    .filter(|t| on_batch_host(t))
                    .map(|t| instance_id(t))
                    .collect();
                instances.sort_unstable();
                blocking.push(Blocker {
                    host: describe_hosts(batch),
                    job: job.clone(),
                    instances,
                    sla: format!(
                        "{}; {} of {} instances up, {} needed while the batch drains",
                        super::predict::policy_text(Some(&facts.policy)),
                        live.up - live.up_on_batch,
                        facts.instances,
                        min_up
                    ),
                    forced_at: None,
                });
            }
        }
        Ok(if blocking.is_empty() {
            Look::Done(())
        } else {
            Look::NotYet
        })
    })?;
    if let Some(e) = error {
        return Err(run.failure(e.msg().to_string()));
    }
    if done.is_some() && blocking.is_empty() {
        return Ok(coordinated);
    }
    let words: Vec<String> = blocking
        .iter()
        .map(|b| {
            format!(
                "{} instances {:?} on {} ({})",
                b.job, b.instances, b.host, b.sla
            )
        })
        .collect();
    let keys: Vec<JobKey> = blocking
        .iter()
        .filter_map(|b| JobKey::parse(&b.job).ok())
        .collect();
    let waiting = pending_reasons(run, keys).unwrap_or_default();
    let waiting = if waiting.is_empty() {
        String::new()
    } else {
        format!(
            ". Waiting to be placed: {}; more capacity outside these hosts, a lower SLA or \
             allow_downtime would make it safe",
            waiting.join("; ")
        )
    };
    Err(run
        .failure(format!(
            "batch {} not drained: after wait_timeout={}s some jobs would still fall below their \
             SLA, their moved or extra instances not up yet: {}{waiting}. Nothing on this batch \
             was drained; re-run to carry on",
            describe_hosts(batch),
            deadline.limit_secs(),
            words.join("; ")
        ))
        .field("blocking", json!(blocking)))
}

/// Why the jobs' PENDING tasks wait (getPendingReason): `ml/prod/web instance 2: Insufficient: CPU`.
fn pending_reasons(run: &Run, keys: Vec<JobKey>) -> Result<Vec<String>, Failure> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let pending: BTreeMap<String, (String, i32)> = run
        .scheduler
        .job_tasks(keys.clone())?
        .iter()
        .filter(|t| status(t) == ScheduleStatus::PENDING)
        .map(|t| {
            let id = t
                .assigned_task
                .as_ref()
                .and_then(|a| a.task_id.clone())
                .unwrap_or_default();
            (id, (job_key(t).to_string(), instance_id(t)))
        })
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    // The scheduler refuses statuses in this query (api-reference §2): one job key at a time.
    let mut words = Vec::new();
    for key in keys {
        let query = TaskQuery {
            job_keys: Some(vec![key]),
            ..TaskQuery::default()
        };
        let response = run.scheduler.counted(|| {
            run.scheduler
                .client
                .call_ok(&GetPendingReason { query: Some(query) })
        })?;
        if let Some(Payload::GetPendingReasonResult(r)) = response.result {
            for reason in r.reasons.unwrap_or_default() {
                if let Some((job, instance)) = reason.task_id.and_then(|id| pending.get(&id)) {
                    words.push(format!(
                        "{job} instance {instance}: {}",
                        reason.reason.unwrap_or_default()
                    ));
                }
            }
        }
    }
    Ok(words)
}

/// The jobs with active tasks on the batch's hosts, and every active task of those jobs.
fn read_batch(run: &Run, batch: &[String]) -> Result<(Vec<String>, Vec<ScheduledTask>), Failure> {
    let on_hosts = run.scheduler.active_tasks(batch)?;
    let mut keys: Vec<JobKey> = on_hosts.values().flatten().map(job_key).collect();
    keys.sort();
    keys.dedup();
    let names = keys.iter().map(ToString::to_string).collect();
    Ok((names, run.scheduler.job_tasks(keys)?))
}

/// How long, on the scheduler's clock, an own instance may stay PENDING at the end of a drain
/// before the job is taken to have no room for it while the hosts are drained: placement takes
/// seconds when there is room.
const NO_ROOM_AFTER_MS: i64 = 60_000;

/// After the last batch, before the extra instances go: each job that has them must keep its
/// SLA without them, that is run enough of its own instances (ids below its own count; the
/// updater removes the highest ids). For a lone service: its own instance RUNNING again
/// elsewhere. Waits while an own instance is on its way; a job whose missing instances have been
/// PENDING for a minute has no room while the hosts are drained: it is returned, and keeps its
/// extra instances (for example with a per-host limit). Other jobs are not waited for: their
/// SLA held before each batch.
fn wait_for_moved(run: &Run, jobs: &Jobs, deadline: &Deadline) -> Result<Vec<String>, Failure> {
    let keys: Vec<JobKey> = jobs
        .surged
        .keys()
        .filter_map(|j| JobKey::parse(j).ok())
        .collect();
    let mut short: Vec<String> = Vec::new();
    let done = poll(deadline, || {
        let tasks = run.scheduler.job_tasks(keys.clone())?;
        let now_ms = run.scheduler.conn.client.scheduler_now_ms();
        let mut on_the_way = false;
        short.clear();
        for (job, before) in &jobs.surged {
            let own: Vec<&ScheduledTask> = tasks
                .iter()
                .filter(|t| {
                    job_key(t).to_string() == *job
                        && usize::try_from(instance_id(t)).is_ok_and(|id| id < *before)
                })
                .collect();
            let running = own
                .iter()
                .filter(|t| status(t) == ScheduleStatus::RUNNING)
                .count();
            let min_up = jobs.facts.get(job).map_or(*before, JobFacts::min_up);
            if running >= min_up {
                continue;
            }
            short.push(job.clone());
            on_the_way |= own.iter().any(|t| {
                let since = t
                    .task_events
                    .iter()
                    .flatten()
                    .map(|e| e.timestamp)
                    .max()
                    .unwrap_or(0);
                status(t) != ScheduleStatus::RUNNING
                    && (status(t) != ScheduleStatus::PENDING
                        || now_ms.saturating_sub(since) < NO_ROOM_AFTER_MS)
            });
        }
        Ok(if short.is_empty() || !on_the_way {
            Look::Done(())
        } else {
            Look::NotYet
        })
    })?;
    if done.is_none() {
        return Err(run.failure(format!(
            "every host is DRAINED, but after wait_timeout={}s the instances of {} are still \
             starting; re-run to give back their extra instances",
            deadline.limit_secs(),
            short.join(", ")
        )));
    }
    Ok(short)
}

/// Removes the extra instances: each surged job back to its own count, through the updater.
fn remove_surges(run: &mut Run, jobs: &mut Jobs, deadline: &Deadline) -> Result<(), Failure> {
    for update in std::mem::take(&mut jobs.updates) {
        run.scheduler
            .counted_failure(|| surge::follow(run.scheduler.conn, &update, deadline))
            .map_err(|f| run.failure(f.msg().to_string()))?;
    }
    let mut removals = Vec::new();
    for (job, before) in std::mem::take(&mut jobs.surged) {
        let key = JobKey::parse(&job).unwrap_or_default();
        match run
            .scheduler
            .counted_failure(|| surge::scale(run.scheduler.conn, &key, before, None))
        {
            Ok(Some(update)) => {
                run.changed = true;
                removals.push((job, update));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(run.failure(format!(
                    "removing the extra instances of {job} (back to {before}): {}",
                    e.msg()
                )))
            }
        }
    }
    for (job, update) in removals {
        run.scheduler
            .counted_failure(|| surge::follow(run.scheduler.conn, &update, deadline))
            .map_err(|f| {
                run.failure(format!(
                    "removing the extra instances of {job}: {}",
                    f.msg()
                ))
            })?;
    }
    Ok(())
}
