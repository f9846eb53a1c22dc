//! `aurora.scheduler.host_maintenance`: agent hosts as desired state: marked for maintenance,
//! drained (every job kept within its SLA by a planned drain, `safe_drain`, or forced), batch by
//! batch and failure domain by failure domain, resuming after an interruption, or back in
//! service.

mod options;
mod plan;
mod predict;
mod safe_drain;
mod safety;
mod surge;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome};
use crate::api::client::{Client, ClientError};
use crate::api::host_pages::AgentRow;
use crate::api::methods::{
    DrainHosts, EndMaintenance, GetTasksWithoutConfigs, MaintenanceStatus, SlaDrainHosts,
    StartMaintenance,
};
use crate::api::types::{
    HostStatus, Hosts, JobKey, MaintenanceMode, Result as Payload, ScheduleStatus, ScheduledTask,
    TaskQuery,
};
use crate::spec::utc::utc_millis;

use super::support::connection::Connection;
use super::support::hosts::{active_tasks_by_host, job_key, mode_name, task_json};
use super::support::tasks::describe_ids;
use super::support::wait::{poll, Deadline, Look};
pub use options::Options;
use options::{Drain, Settings, State};
use plan::{batch_step, plan_batches, PlannedHost};
use predict::{blockers, predict_jobs, Blocker};

pub struct HostMaintenance;

/// The scheduler, with a count of the requests made (the `scheduler_calls` result).
struct Scheduler<'a> {
    conn: &'a Connection,
    client: &'a Client,
    calls: Cell<usize>,
}

type Modes = BTreeMap<String, MaintenanceMode>;

impl Scheduler<'_> {
    fn counted<T>(&self, call: impl FnOnce() -> Result<T, ClientError>) -> Result<T, Failure> {
        self.calls.set(self.calls.get() + 1);
        call().map_err(|e| Failure::new(e.to_string()))
    }

    /// A step of several requests made through the connection, counted as one.
    fn counted_failure<T>(&self, step: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
        self.calls.set(self.calls.get() + 1);
        step()
    }

    fn agents(&self) -> Result<Vec<AgentRow>, Failure> {
        self.counted(|| self.client.agents())
    }

    fn active_tasks(
        &self,
        hosts: &[String],
    ) -> Result<BTreeMap<String, Vec<ScheduledTask>>, Failure> {
        if hosts.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.counted(|| active_tasks_by_host(self.client, Some(hosts)))
    }

    /// The active tasks of `jobs`, cluster wide.
    fn job_tasks(&self, jobs: Vec<JobKey>) -> Result<Vec<ScheduledTask>, Failure> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let query = TaskQuery {
            job_keys: Some(jobs),
            statuses: Some(ScheduleStatus::ACTIVE.to_vec()),
            ..TaskQuery::default()
        };
        let response = self.counted(|| {
            self.client
                .call_ok(&GetTasksWithoutConfigs { query: Some(query) })
        })?;
        Ok(match response.result {
            Some(Payload::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
            _ => Vec::new(),
        })
    }

    /// One maintenance call on `hosts`; the modes it reports are merged into `modes`.
    fn maintenance(
        &self,
        action: Action,
        hosts: &[String],
        settings: &Settings,
        modes: &mut Modes,
    ) -> Result<(), Failure> {
        if hosts.is_empty() {
            return Ok(());
        }
        let names = Some(Hosts {
            host_names: Some(hosts.to_vec()),
        });
        let response = self
            .counted(|| match action {
                Action::Schedule => self.client.call_ok(&StartMaintenance { hosts: names }),
                Action::ForceDrain => self.client.call_ok(&DrainHosts { hosts: names }),
                Action::Drain => self.client.call_ok(&SlaDrainHosts {
                    hosts: names,
                    default_sla_policy: Some(settings.sla_policy.clone()),
                    timeout_secs: settings.sla_timeout_secs,
                }),
                Action::End => self.client.call_ok(&EndMaintenance { hosts: names }),
                Action::Status => self.client.call_ok(&MaintenanceStatus { hosts: names }),
            })
            .map_err(|f| f.prefixed(&format!("{} {}", action.verb(), describe_hosts(hosts))))?;
        for status in statuses(response.result) {
            if let (Some(host), Some(mode)) = (status.host, status.mode) {
                modes.insert(host, mode);
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Action {
    Schedule,
    /// slaDrainHosts: the scheduler drains each task when its SLA allows.
    Drain,
    /// drainHosts: every task moves at once.
    ForceDrain,
    End,
    Status,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Schedule => "marking for maintenance",
            Action::Drain | Action::ForceDrain => "draining",
            Action::End => "ending the maintenance of",
            Action::Status => "reading the maintenance mode of",
        }
    }
}

fn statuses(result: Option<Payload>) -> Vec<HostStatus> {
    match result {
        Some(Payload::StartMaintenanceResult(r)) => r.statuses,
        Some(Payload::DrainHostsResult(r)) => r.statuses,
        Some(Payload::MaintenanceStatusResult(r)) => r.statuses,
        Some(Payload::EndMaintenanceResult(r)) => r.statuses,
        _ => None,
    }
    .unwrap_or_default()
}

/// `host-001, host-002 and 3 more`, for messages about many hosts.
fn describe_hosts<S: AsRef<str>>(hosts: &[S]) -> String {
    const SHOWN: usize = 5;
    let shown: Vec<&str> = hosts.iter().take(SHOWN).map(AsRef::as_ref).collect();
    if hosts.len() <= SHOWN {
        shown.join(", ")
    } else {
        format!("{} and {} more", shown.join(", "), hosts.len() - SHOWN)
    }
}

fn now_epoch_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Where a run stands; what the result reports, whether the run ends well or not.
struct Run<'a> {
    settings: &'a Settings,
    scheduler: Scheduler<'a>,
    before: Modes,
    modes: Modes,
    batches: Vec<Vec<String>>,
    changed: bool,
    /// When this run asked for each host's drain, in seconds since the epoch.
    drain_requested_at: BTreeMap<String, i64>,
}

impl Run<'_> {
    fn hosts_json(&self) -> Value {
        self.settings
            .hosts
            .iter()
            .map(|h| {
                json!({
                    "name": h,
                    "mode_before": mode_name(self.before.get(h).copied().unwrap_or(MaintenanceMode::NONE)),
                    "mode": mode_name(self.modes.get(h).copied().unwrap_or(MaintenanceMode::NONE)),
                })
            })
            .collect()
    }

    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("hosts".into(), self.hosts_json());
        fields.insert("batches".into(), json!(self.batches));
        fields.insert("scheduler_calls".into(), json!(self.scheduler.calls.get()));
        fields
    }

    fn modes_json(&self, modes: &Modes) -> Value {
        self.settings
            .hosts
            .iter()
            .map(|h| {
                (
                    h.clone(),
                    json!(mode_name(
                        modes.get(h).copied().unwrap_or(MaintenanceMode::NONE)
                    )),
                )
            })
            .collect::<Map<String, Value>>()
            .into()
    }

    fn outcome(&self, ctx: &Context, msg: String) -> Outcome {
        let mut outcome = Outcome::changed(self.changed)
            .msg(msg)
            .fields(self.fields());
        if ctx.diff {
            outcome = outcome.diff(self.modes_json(&self.before), self.modes_json(&self.modes));
        }
        outcome
    }

    /// A failure that still reports what the run changed before it (`Failure::after`).
    fn failure(&self, msg: String) -> Failure {
        Failure::new(msg).after(Outcome::changed(self.changed).fields(self.fields()))
    }

    /// When the scheduler drains `host` regardless of SLAs, when this run asked for its drain.
    fn forced_at(&self, host: &str) -> Option<String> {
        let requested = *self.drain_requested_at.get(host)?;
        let forced_secs = match self.settings.drain {
            Drain::Force => requested,
            Drain::Sla => requested.saturating_add(self.settings.sla_timeout_secs),
        };
        Some(utc_millis(forced_secs.saturating_mul(1000)))
    }

    /// One maintenance call on `hosts`, its modes noted; a failure reports what the run did.
    fn apply(&mut self, action: Action, hosts: &[String]) -> Result<(), Failure> {
        let mut modes = std::mem::take(&mut self.modes);
        let done = self
            .scheduler
            .maintenance(action, hosts, self.settings, &mut modes);
        self.modes = modes;
        done.map_err(|f| self.failure(f.msg().to_string()))
    }

    fn mode(&self, host: &str) -> MaintenanceMode {
        self.modes
            .get(host)
            .copied()
            .unwrap_or(MaintenanceMode::NONE)
    }
}

impl Module for HostMaintenance {
    const NAME: &'static str = "host_maintenance";
    type Options = Options;

    fn documentation() -> Documentation {
        docs::documentation()
    }

    fn run(options: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
        let settings = Settings::from_options(&options)?;
        let conn = options.connection.connect()?;
        let scheduler = Scheduler {
            conn: &conn,
            client: &conn.client,
            calls: Cell::new(0),
        };
        let rows = scheduler
            .agents()
            .map_err(|f| f.prefixed("listing the agent hosts"))?;
        let known: BTreeMap<&str, &AgentRow> = rows.iter().map(|r| (r.host.as_str(), r)).collect();
        let unknown: Vec<&str> = settings
            .hosts
            .iter()
            .map(String::as_str)
            .filter(|h| !known.contains_key(h))
            .collect();
        if !unknown.is_empty() {
            return Err(Failure::new(format!(
                "hosts: unknown to the scheduler: {}; the scheduler would silently ignore them. \
                 Check the names (aurora.scheduler.host_info lists every host)",
                describe_hosts(&unknown)
            ))
            .field("unknown_hosts", unknown));
        }
        let before: Modes = settings
            .hosts
            .iter()
            .filter_map(|h| known.get(h.as_str()).map(|r| (h.clone(), r.mode)))
            .collect();
        let mut run = Run {
            settings: &settings,
            scheduler,
            modes: before.clone(),
            before,
            batches: Vec::new(),
            changed: false,
            drain_requested_at: BTreeMap::new(),
        };
        let outcome = match settings.state {
            State::Scheduled => set_mode(&mut run, ctx, MaintenanceMode::SCHEDULED)?,
            State::Active => set_mode(&mut run, ctx, MaintenanceMode::NONE)?,
            State::Drained if settings.drain == Drain::Sla => {
                let attributes = rows
                    .iter()
                    .map(|r| (r.host.clone(), r.attributes.clone()))
                    .collect();
                safe_drain::drain_safely(&mut run, ctx, &attributes)?
            }
            State::Drained => {
                let planned: Vec<PlannedHost> = settings
                    .hosts
                    .iter()
                    .filter_map(|h| known.get(h.as_str()))
                    .map(|r| PlannedHost {
                        name: r.host.clone(),
                        attributes: r.attributes.clone(),
                    })
                    .collect();
                let batches =
                    plan_batches(&planned, settings.batch_size, settings.group_by.as_deref())
                        .map_err(Failure::new)?;
                drain(&mut run, ctx, batches)?
            }
        };
        Ok(outcome.field("scheduler_url", conn.url))
    }
}

/// In check mode, the prediction of a run that moves no task.
fn with_empty_prediction(outcome: Outcome, ctx: &Context) -> Outcome {
    if ctx.check_mode {
        outcome.field("prediction", json!({"hosts": {}, "jobs": []}))
    } else {
        outcome
    }
}

/// `scheduled` and `active`: one call for the hosts not yet in `wanted`; then, for `active`, a
/// wait until the scheduler reports them in it.
fn set_mode(run: &mut Run, ctx: &Context, wanted: MaintenanceMode) -> Result<Outcome, Failure> {
    let to_change: Vec<String> = run
        .settings
        .hosts
        .iter()
        .filter(|h| run.mode(h) != wanted)
        .cloned()
        .collect();
    run.changed = !to_change.is_empty();
    let name = mode_name(wanted);
    if to_change.is_empty() {
        return Ok(with_empty_prediction(
            run.outcome(ctx, format!("every host is already {name}")),
            ctx,
        ));
    }
    if ctx.check_mode {
        for host in &to_change {
            run.modes.insert(host.clone(), wanted);
        }
        return Ok(with_empty_prediction(
            run.outcome(
                ctx,
                format!("{} would be set to {name}", describe_hosts(&to_change)),
            ),
            ctx,
        ));
    }
    let action = if wanted == MaintenanceMode::NONE {
        Action::End
    } else {
        Action::Schedule
    };
    let mut modes = std::mem::take(&mut run.modes);
    run.scheduler
        .maintenance(action, &to_change, run.settings, &mut modes)
        .map_err(|f| run.failure(f.msg().to_string()))?;
    run.modes = modes;
    if run.settings.wait {
        wait_for(
            run,
            &to_change,
            wanted,
            &Deadline::after_secs(run.settings.wait_timeout),
        )?;
    }
    Ok(run.outcome(ctx, format!("{} set to {name}", describe_hosts(&to_change))))
}

/// Polls the modes of `hosts` until each is `wanted`; on timeout, fails with the report of what
/// holds the hosts still.
fn wait_for(
    run: &mut Run,
    hosts: &[String],
    wanted: MaintenanceMode,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let mut modes = std::mem::take(&mut run.modes);
    let pending = |modes: &Modes| -> Vec<String> {
        hosts
            .iter()
            .filter(|h| modes.get(*h).copied() != Some(wanted))
            .cloned()
            .collect()
    };
    let mut error = None;
    let done = poll(deadline, || {
        let left = pending(&modes);
        if left.is_empty() {
            return Ok(Look::Done(()));
        }
        if let Err(e) = run
            .scheduler
            .maintenance(Action::Status, &left, run.settings, &mut modes)
        {
            error = Some(e);
            return Ok(Look::Done(()));
        }
        Ok(if pending(&modes).is_empty() {
            Look::Done(())
        } else {
            Look::NotYet
        })
    })?;
    run.modes = modes;
    if let Some(e) = error {
        return Err(run.failure(e.msg().to_string()));
    }
    if done.is_some() {
        return Ok(());
    }
    let left = pending(&run.modes);
    Err(timeout_failure(run, &left, wanted, deadline))
}

/// The failure of a wait that timed out: which hosts, which jobs and instances still hold them,
/// under which SLA, and when the drain is forced.
fn timeout_failure(
    run: &Run,
    left: &[String],
    wanted: MaintenanceMode,
    deadline: &Deadline,
) -> Failure {
    let on_hosts = match run.scheduler.active_tasks(left) {
        Ok(tasks) => tasks,
        Err(e) => {
            return run.failure(format!(
                "{} not {} after wait_timeout={}s; reading their tasks failed too: {}",
                describe_hosts(left),
                mode_name(wanted),
                deadline.limit_secs(),
                e.msg()
            ))
        }
    };
    let default = match run.settings.drain {
        Drain::Sla => Some(&run.settings.sla_policy),
        Drain::Force => None,
    };
    let forced_at: BTreeMap<String, String> = left
        .iter()
        .filter_map(|h| run.forced_at(h).map(|t| (h.clone(), t)))
        .collect();
    let blocking: Vec<Blocker> = blockers(&on_hosts, default, &forced_at);
    let mut words: Vec<String> = blocking
        .iter()
        .map(|b| {
            let forced = match (&run.settings.drain, &b.forced_at) {
                (Drain::Force, _) => {
                    "drain already forced, waiting for the tasks to end".to_string()
                }
                (Drain::Sla, Some(at)) => format!("forced at {at}"),
                (Drain::Sla, None) => format!(
                    "forced sla_timeout={}s after the drain was requested (by an earlier run)",
                    run.settings.sla_timeout_secs
                ),
            };
            format!(
                "{}: {} instances {} (SLA {}; {forced})",
                b.host,
                b.job,
                describe_ids(&b.instances),
                b.sla
            )
        })
        .collect();
    if words.is_empty() {
        words.push(format!(
            "{}: no active task left, the scheduler has not yet marked them {}",
            describe_hosts(left),
            mode_name(wanted)
        ));
    }
    run.failure(format!(
        "{} host(s) not {} after wait_timeout={}s (the scheduler keeps going; re-run to carry \
         on): {}",
        left.len(),
        mode_name(wanted),
        deadline.limit_secs(),
        words.join("; ")
    ))
    .field("blocking", json!(blocking))
}

/// `drained` with `drain=force`: the whole set marked for maintenance first, then batch by batch,
/// each drained at once and waited for; hosts already DRAINED are skipped and a DRAINING batch is
/// waited for, not asked again, so that a re-run carries on.
fn drain(run: &mut Run, ctx: &Context, batches: Vec<Vec<String>>) -> Result<Outcome, Failure> {
    let pending: Vec<String> = run
        .settings
        .hosts
        .iter()
        .filter(|h| run.mode(h) != MaintenanceMode::DRAINED)
        .cloned()
        .collect();
    if pending.is_empty() {
        return Ok(with_empty_prediction(
            run.outcome(ctx, "every host is already DRAINED".to_string()),
            ctx,
        ));
    }
    if ctx.check_mode {
        return predict(run, ctx, &batches, &pending);
    }
    let to_schedule: Vec<String> = pending
        .iter()
        .filter(|h| run.mode(h) == MaintenanceMode::NONE)
        .cloned()
        .collect();
    let mut modes = std::mem::take(&mut run.modes);
    let scheduled =
        run.scheduler
            .maintenance(Action::Schedule, &to_schedule, run.settings, &mut modes);
    run.modes = modes;
    scheduled.map_err(|f| run.failure(f.msg().to_string()))?;
    run.changed |= !to_schedule.is_empty();

    let deadline = Deadline::after_secs(run.settings.wait_timeout);
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
        let mut modes = std::mem::take(&mut run.modes);
        let drained =
            run.scheduler
                .maintenance(Action::ForceDrain, &step.to_drain, run.settings, &mut modes);
        run.modes = modes;
        drained.map_err(|f| run.failure(f.msg().to_string()))?;
        if !step.to_drain.is_empty() {
            run.changed = true;
            let now = now_epoch_secs();
            for host in &step.to_drain {
                run.drain_requested_at.insert(host.clone(), now);
            }
        }
        run.batches.push(batch.clone());
        if run.settings.wait {
            wait_for(run, &step.to_wait_for, MaintenanceMode::DRAINED, &deadline)?;
        }
    }
    let msg = if left_waiting > 0 {
        format!(
            "draining batch {} of {}; wait=false: re-run to drain the {left_waiting} batch(es) left",
            batches.len() - left_waiting,
            batches.len()
        )
    } else if run.settings.wait {
        format!(
            "{} host(s) DRAINED in {} batch(es)",
            pending.len(),
            run.batches.len()
        )
    } else {
        format!("{} host(s) draining", pending.len())
    };
    Ok(run.outcome(ctx, msg))
}

/// Check mode of `drained`: per host the tasks that would move; per job how many instances
/// would be down at once and whether its SLA would hold. Reads only.
fn predict(
    run: &mut Run,
    ctx: &Context,
    batches: &[Vec<String>],
    pending: &[String],
) -> Result<Outcome, Failure> {
    let on_hosts = run.scheduler.active_tasks(pending)?;
    let mut jobs: Vec<JobKey> = on_hosts.values().flatten().map(job_key).collect();
    jobs.sort_by_key(ToString::to_string);
    jobs.dedup();
    let job_tasks = run.scheduler.job_tasks(jobs)?;
    let pending_batches: Vec<Vec<String>> = batches
        .iter()
        .map(|b| batch_step(b, &run.modes).to_wait_for)
        .filter(|b| !b.is_empty())
        .collect();
    let predicted = predict_jobs(
        &pending_batches,
        &on_hosts,
        &job_tasks,
        Some(&run.settings.sla_policy),
    );
    let hosts = moving_tasks_json(pending, &on_hosts);
    for host in pending {
        run.modes.insert(host.clone(), MaintenanceMode::DRAINED);
    }
    run.changed = true;
    run.batches = pending_batches;
    let breaking: Vec<&str> = predicted
        .iter()
        .filter(|j| !j.holds)
        .map(|j| j.job.as_str())
        .collect();
    let mut msg = format!(
        "{} host(s) would be drained in {} batch(es)",
        pending.len(),
        run.batches.len()
    );
    if !breaking.is_empty() {
        msg.push_str(&format!(
            "; the SLA of {} would not hold",
            breaking.join(", ")
        ));
    }
    Ok(run
        .outcome(ctx, msg)
        .field("prediction", json!({"hosts": hosts, "jobs": predicted})))
}

/// Per host to drain, the tasks that would move off it (the prediction's `hosts`).
fn moving_tasks_json(pending: &[String], on_hosts: &BTreeMap<String, Vec<ScheduledTask>>) -> Value {
    pending
        .iter()
        .map(|h| {
            let tasks: Vec<Value> = on_hosts
                .get(h)
                .into_iter()
                .flatten()
                .map(task_json)
                .collect();
            (h.clone(), Value::from(tasks))
        })
        .collect::<Map<String, Value>>()
        .into()
}

mod docs;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_hosts_are_described_by_the_first_few() {
        let hosts: Vec<String> = (1..=7).map(|i| format!("h{i}")).collect();
        assert_eq!(describe_hosts(&hosts[..2]), "h1, h2");
        assert_eq!(describe_hosts(&hosts), "h1, h2, h3, h4, h5 and 2 more");
    }
}
