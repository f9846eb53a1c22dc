//! aurora-sim's job updater (api-reference §4.6.3 to §4.6.6): update records, the status machine,
//! the per-instance algorithm and the strategies, pulses, and the update queries.
//!
//! The scheduler owns the tasks. The updater reads one job's tasks and answers with `Action`s (kill
//! a task, add one) that the scheduler carries out; the task changes that follow mark the job for
//! another evaluation, and watch times set wake-ups on the virtual clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::api::types::{
    InstanceTaskConfig, JobInstanceUpdateEvent, JobKey, JobUpdate, JobUpdateAction,
    JobUpdateDetails, JobUpdateEvent, JobUpdateInstructions, JobUpdateKey, JobUpdatePulseStatus,
    JobUpdateQuery, JobUpdateSettings, JobUpdateState, JobUpdateStatus, JobUpdateSummary, Metadata,
    ScheduleStatus, TaskConfig,
};
use crate::sim::scheduler::ranges;
use crate::sim::tasks::{Task, TaskStore};
use crate::sim::update_request::{
    group_by_config, same_config, JobDiff, ProposedUpdate, UpdateSettings,
};

/// Finished updates kept per job, and how long (§4.6.6).
const FINISHED_UPDATES_KEPT: usize = 10;
const FINISHED_UPDATE_MAX_AGE_MS: i64 = 30 * 24 * 60 * 60 * 1000;
pub const PULSE_TIMEOUT_MESSAGE: &str = "Pulses from external service have timed out.";
pub const AUTO_PAUSE_MESSAGE: &str =
    "Update auto-paused after a batch completed (autopauseAfterBatch); resume it to start the next batch.";

type Status = JobUpdateStatus;

/// What the updater asks the scheduler to do to a job's tasks.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send the task to KILLING (a PENDING one is deleted); it is not rescheduled.
    Kill { task_id: String, message: String },
    /// Create a PENDING task for the instance with this config.
    Add {
        instance: i32,
        config: Arc<TaskConfig>,
    },
}

/// The user calls of §4.6.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserAction {
    Pause,
    Resume,
    Abort,
    Rollback,
}

impl UserAction {
    fn verb(self) -> &'static str {
        match self {
            UserAction::Pause => "paused",
            UserAction::Resume => "resumed",
            UserAction::Abort => "aborted",
            UserAction::Rollback => "rolled back",
        }
    }
}

fn is_forward(status: Status) -> bool {
    matches!(
        status,
        Status::ROLLING_FORWARD | Status::ROLL_FORWARD_PAUSED | Status::ROLL_FORWARD_AWAITING_PULSE
    )
}

fn awaiting_pulse(status: Status) -> bool {
    Status::AWAITING_PULSE.contains(&status)
}

/// The user-action table of §4.6.4: `Ok(None)` is a no-op, `Err` (why) an INVALID_REQUEST.
/// `pulse_expired` holds for a coordinated update whose last pulse is too old.
pub fn user_transition(
    status: Status,
    action: UserAction,
    pulse_expired: bool,
) -> Result<Option<Status>, String> {
    if status.is_terminal() {
        return Err(format!(
            "it is {status}, a finished update cannot be {}",
            action.verb()
        ));
    }
    let forward = is_forward(status);
    let (rolling, paused, blocked) = if forward {
        (
            Status::ROLLING_FORWARD,
            Status::ROLL_FORWARD_PAUSED,
            Status::ROLL_FORWARD_AWAITING_PULSE,
        )
    } else {
        (
            Status::ROLLING_BACK,
            Status::ROLL_BACK_PAUSED,
            Status::ROLL_BACK_AWAITING_PULSE,
        )
    };
    Ok(match action {
        UserAction::Abort => Some(Status::ABORTED),
        UserAction::Pause if status == paused => None,
        UserAction::Pause => Some(paused),
        UserAction::Rollback if status == Status::ROLLING_BACK => None,
        UserAction::Rollback => Some(Status::ROLLING_BACK),
        UserAction::Resume if status == paused => Some(if pulse_expired { blocked } else { rolling }),
        UserAction::Resume if status == rolling && pulse_expired => {
            return Err(format!(
                "it is {status} but its pulses have timed out: send pulseJobUpdate to unblock it"
            ))
        }
        UserAction::Resume if status == rolling => None,
        UserAction::Resume if pulse_expired => None,
        UserAction::Resume => {
            return Err(format!(
                "it is {status} and its last pulse is still valid: it resumes by itself, or send pulseJobUpdate"
            ))
        }
    })
}

/// Every transition the scheduler allows, user- or system-driven (§4.6.4).
pub fn is_allowed_transition(from: Status, to: Status) -> bool {
    use JobUpdateStatus as S;
    let targets: &[Status] = match from {
        S::ROLLING_FORWARD => &[
            S::ROLLING_BACK,
            S::ROLL_FORWARD_PAUSED,
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ROLLED_FORWARD,
            S::ABORTED,
            S::FAILED,
            S::ERROR,
        ],
        S::ROLLING_BACK => &[
            S::ROLL_BACK_PAUSED,
            S::ROLL_BACK_AWAITING_PULSE,
            S::ROLLED_BACK,
            S::ABORTED,
            S::FAILED,
            S::ERROR,
        ],
        S::ROLL_FORWARD_PAUSED => &[
            S::ROLLING_BACK,
            S::ROLLING_FORWARD,
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_BACK_PAUSED => &[
            S::ROLLING_BACK,
            S::ROLL_BACK_AWAITING_PULSE,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_FORWARD_AWAITING_PULSE => &[
            S::ROLLING_BACK,
            S::ROLLING_FORWARD,
            S::ROLL_FORWARD_PAUSED,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_BACK_AWAITING_PULSE => {
            &[S::ROLLING_BACK, S::ROLL_BACK_PAUSED, S::ABORTED, S::ERROR]
        }
        _ => &[],
    };
    targets.contains(&to)
}

/// What an update changes, fixed when it starts (its JobUpdateInstructions).
struct Plan {
    key: JobUpdateKey,
    settings: UpdateSettings,
    wire_settings: JobUpdateSettings,
    desired: Option<Arc<TaskConfig>>,
    desired_instances: BTreeSet<i32>,
    initial: BTreeMap<i32, Arc<TaskConfig>>,
}

impl Plan {
    /// An instance's target config in a direction; `None` = the instance must not exist.
    fn target(&self, forward: bool, instance: i32) -> Option<&Arc<TaskConfig>> {
        if forward {
            self.desired
                .as_ref()
                .filter(|_| self.desired_instances.contains(&instance))
        } else {
            self.initial.get(&instance)
        }
    }

    /// Adds, then updates, then removals, numeric within each; reversed to roll back (§4.6.3).
    fn order(&self, forward: bool) -> Vec<i32> {
        let initial: BTreeSet<i32> = self.initial.keys().copied().collect();
        let mut order: Vec<i32> = self
            .desired_instances
            .difference(&initial)
            .copied()
            .collect();
        order.extend(self.desired_instances.intersection(&initial));
        order.extend(initial.difference(&self.desired_instances));
        if !forward {
            order.reverse();
        }
        order
    }

    fn instructions(&self) -> JobUpdateInstructions {
        let initial_state = group_by_config(self.initial.iter().map(|(i, c)| (*i, c)))
            .into_iter()
            .map(|(config, ids)| InstanceTaskConfig {
                task: Some((*config).clone()),
                instances: Some(ranges(ids)),
            })
            .collect();
        JobUpdateInstructions {
            initial_state: Some(initial_state),
            desired_state: self.desired.as_ref().map(|config| InstanceTaskConfig {
                task: Some((**config).clone()),
                instances: Some(ranges(self.desired_instances.iter().copied().collect())),
            }),
            settings: Some(self.wire_settings.clone()),
        }
    }
}

/// Per-instance actions recorded for an update, each at most once per instance (§4.6.3).
#[derive(Default)]
struct InstanceLog {
    events: Vec<JobInstanceUpdateEvent>,
    recorded: HashMap<i32, Vec<JobUpdateAction>>,
}

impl InstanceLog {
    fn has_events(&self, instance: i32) -> bool {
        self.recorded.contains_key(&instance)
    }

    fn record(&mut self, instance: i32, action: JobUpdateAction, at: i64, message: Option<String>) {
        let seen = self.recorded.entry(instance).or_default();
        if seen.contains(&action) {
            return;
        }
        seen.push(action);
        self.events.push(JobInstanceUpdateEvent {
            instance_id: instance,
            timestamp_ms: at,
            action: Some(action),
            message,
        });
    }
}

/// Where one instance of a pass stands, as seen by its latest evaluation.
enum InstanceOutcome {
    Working,
    Succeeded,
    /// Why, naming the task and how it ended.
    Failed(String),
}

#[derive(Default)]
struct InstanceProgress {
    /// Times a task with the target config ended during this pass.
    failures: i32,
    /// The task with the target config being watched, to notice when it ends.
    watched: Option<String>,
}

enum PassResult {
    Working,
    AutoPaused,
    Succeeded,
    /// The status message: which instance failed and why.
    Failed(String),
}

/// What one evaluation asks of the scheduler and the clock.
#[derive(Default)]
struct Effects {
    actions: Vec<Action>,
    wake_at: Option<i64>,
}

impl Effects {
    fn wake(&mut self, at: i64) {
        self.wake_at = Some(self.wake_at.map_or(at, |w| w.min(at)));
    }
}

/// The job's tasks as one evaluation sees them.
struct JobView<'a> {
    active: HashMap<i32, &'a Task>,
    store: &'a TaskStore,
    now: i64,
}

impl<'a> JobView<'a> {
    fn of(store: &'a TaskStore, job: &JobKey, now: i64) -> Self {
        // Newest last, so the newest active task of an instance wins.
        let active = store
            .active_of_job(job)
            .into_iter()
            .map(|t| (t.instance, t))
            .collect();
        JobView { active, store, now }
    }
}

/// One direction of an update: the instances in order, paced by the strategy.
struct Pass {
    forward: bool,
    /// The job, as status messages name it.
    job: String,
    order: Vec<i32>,
    /// Queue strategies: instances in flight at most.
    queue_size: Option<usize>,
    /// Batch strategies: end index in `order` of each batch.
    batch_ends: Vec<usize>,
    next_batch: usize,
    /// `order[..started]` have been started.
    started: usize,
    working: BTreeSet<i32>,
    progress: HashMap<i32, InstanceProgress>,
    failed: usize,
    last_failure: Option<String>,
    /// The batch before which the update already paused itself, so a resume starts it.
    autopaused_before: Option<usize>,
}

impl Pass {
    fn new(plan: &Plan, forward: bool) -> Pass {
        let order = plan.order(forward);
        let strategy = &plan.settings.strategy;
        let batch_ends = strategy
            .batches(order.len(), forward)
            .unwrap_or_default()
            .into_iter()
            .scan(0, |end, length| {
                *end += length;
                Some(*end)
            })
            .collect();
        Pass {
            forward,
            job: plan.key.job.clone().unwrap_or_default().to_string(),
            queue_size: strategy.queue_size(),
            order,
            batch_ends,
            next_batch: 0,
            started: 0,
            working: BTreeSet::new(),
            progress: HashMap::new(),
            failed: 0,
            last_failure: None,
            autopaused_before: None,
        }
    }

    fn actions(&self) -> (JobUpdateAction, JobUpdateAction, JobUpdateAction) {
        if self.forward {
            (
                JobUpdateAction::INSTANCE_UPDATING,
                JobUpdateAction::INSTANCE_UPDATED,
                JobUpdateAction::INSTANCE_UPDATE_FAILED,
            )
        } else {
            (
                JobUpdateAction::INSTANCE_ROLLING_BACK,
                JobUpdateAction::INSTANCE_ROLLED_BACK,
                JobUpdateAction::INSTANCE_ROLLBACK_FAILED,
            )
        }
    }

    /// Evaluates the instances in flight, then starts what the strategy allows.
    fn evaluate(
        &mut self,
        plan: &Plan,
        view: &JobView,
        log: &mut InstanceLog,
        effects: &mut Effects,
    ) -> PassResult {
        let in_flight: Vec<i32> = self.working.iter().copied().collect();
        for instance in in_flight {
            let outcome = self.evaluate_instance(plan, instance, view, effects);
            self.settle(instance, outcome, false, view.now, log);
        }
        loop {
            if self.failed > plan.settings.max_failed_instances.max(0) as usize {
                let message = self
                    .last_failure
                    .clone()
                    .unwrap_or_else(|| "Too many instances failed".into());
                return PassResult::Failed(message);
            }
            if self.started == self.order.len() && self.working.is_empty() {
                return PassResult::Succeeded;
            }
            let group = match self.next_group(plan) {
                NextGroup::Start(group) => group,
                NextGroup::Wait => return PassResult::Working,
                NextGroup::AutoPause => return PassResult::AutoPaused,
            };
            for instance in group {
                let outcome = self.evaluate_instance(plan, instance, view, effects);
                self.settle(instance, outcome, true, view.now, log);
            }
        }
    }

    fn next_group(&mut self, plan: &Plan) -> NextGroup {
        let remaining = self.order.len() - self.started;
        if remaining == 0 {
            return NextGroup::Wait;
        }
        let count = match self.queue_size {
            Some(size) => {
                let free = size.saturating_sub(self.working.len());
                if free == 0 {
                    return NextGroup::Wait;
                }
                free.min(remaining)
            }
            None => {
                if !self.working.is_empty() {
                    return NextGroup::Wait;
                }
                let batch = self.next_batch;
                if self.forward
                    && plan.settings.strategy.autopause()
                    && batch > 0
                    && self.autopaused_before != Some(batch)
                {
                    self.autopaused_before = Some(batch);
                    return NextGroup::AutoPause;
                }
                self.next_batch += 1;
                let end = self
                    .batch_ends
                    .get(batch)
                    .copied()
                    .unwrap_or(self.order.len());
                end.saturating_sub(self.started).clamp(1, remaining)
            }
        };
        let group = self.order[self.started..self.started + count].to_vec();
        self.started += count;
        NextGroup::Start(group)
    }

    /// Records what an evaluation found. An instance found healthy at once, with no events from
    /// earlier in the update, gets no events at all (§4.6.3).
    fn settle(
        &mut self,
        instance: i32,
        outcome: InstanceOutcome,
        first: bool,
        now: i64,
        log: &mut InstanceLog,
    ) {
        let (working, succeeded, failed) = self.actions();
        match outcome {
            InstanceOutcome::Working => {
                log.record(instance, working, now, None);
                self.working.insert(instance);
            }
            InstanceOutcome::Succeeded => {
                self.working.remove(&instance);
                if !first || log.has_events(instance) {
                    log.record(instance, working, now, None);
                    log.record(instance, succeeded, now, None);
                }
            }
            InstanceOutcome::Failed(why) => {
                self.working.remove(&instance);
                log.record(instance, working, now, None);
                log.record(instance, failed, now, Some(why.clone()));
                self.failed += 1;
                self.last_failure = Some(format!(
                    "Latest failure: instance {instance} of {}: {why}",
                    self.job
                ));
            }
        }
    }

    /// The per-instance algorithm of §4.6.3.
    fn evaluate_instance(
        &mut self,
        plan: &Plan,
        instance: i32,
        view: &JobView,
        effects: &mut Effects,
    ) -> InstanceOutcome {
        let settings = &plan.settings;
        let progress = self.progress.entry(instance).or_default();
        if let Some(watched) = progress.watched.clone() {
            let ended = match view.store.get(&watched) {
                None => Some(format!("task {watched} is gone")),
                Some(task) if task.status.is_terminal() => Some(describe_end(task)),
                Some(_) => None,
            };
            if let Some(ended) = ended {
                progress.watched = None;
                progress.failures += 1;
                if progress.failures > settings.max_per_instance_failures {
                    return InstanceOutcome::Failed(format!(
                        "{ended}; {} failure(s) with maxPerInstanceFailures {}",
                        progress.failures, settings.max_per_instance_failures
                    ));
                }
            }
        }
        let target = plan.target(self.forward, instance);
        let active = view.active.get(&instance).copied();
        let kill = |task: &Task, effects: &mut Effects| {
            if task.status != ScheduleStatus::KILLING {
                effects.actions.push(Action::Kill {
                    task_id: task.id.clone(),
                    message: format!(
                        "Killed for job update {}",
                        plan.key.id.as_deref().unwrap_or_default()
                    ),
                });
            }
        };
        match (target, active) {
            (None, None) => InstanceOutcome::Succeeded,
            (None, Some(task)) => {
                kill(task, effects);
                InstanceOutcome::Working
            }
            (Some(config), None) => {
                effects.actions.push(Action::Add {
                    instance,
                    config: config.clone(),
                });
                InstanceOutcome::Working
            }
            (Some(config), Some(task)) if same_config(config, &task.config) => {
                progress.watched = Some(task.id.clone());
                if task.status != ScheduleStatus::RUNNING {
                    return InstanceOutcome::Working;
                }
                let since = task.events.last().map_or(view.now, |e| e.timestamp);
                let healthy_at = since + settings.min_wait_in_running_ms;
                if view.now >= healthy_at {
                    InstanceOutcome::Succeeded
                } else {
                    effects.wake(healthy_at);
                    InstanceOutcome::Working
                }
            }
            (Some(_), Some(task)) => {
                kill(task, effects);
                InstanceOutcome::Working
            }
        }
    }
}

enum NextGroup {
    Start(Vec<i32>),
    Wait,
    AutoPause,
}

/// How a watched task ended, for the update's status message.
fn describe_end(task: &Task) -> String {
    let message = task
        .events
        .last()
        .and_then(|e| e.message.as_deref())
        .filter(|m| !m.is_empty());
    match message {
        Some(m) => format!("task {} ended {} ({m})", task.id, task.status),
        None => format!("task {} ended {}", task.id, task.status),
    }
}

/// One job update: its plan, status history and the pass in progress.
struct Update {
    plan: Plan,
    user: String,
    metadata: Option<Vec<Metadata>>,
    status: Status,
    events: Vec<JobUpdateEvent>,
    log: InstanceLog,
    last_pulse: Option<i64>,
    pass: Option<Pass>,
}

impl Update {
    fn job(&self) -> JobKey {
        self.plan.key.job.clone().unwrap_or_default()
    }

    fn is_coordinated(&self) -> bool {
        self.plan.settings.pulse_timeout_ms.is_some()
    }

    /// A coordinated update whose last pulse (or start, without one) is too old (§4.6.5).
    fn pulse_expired(&self, now: i64) -> bool {
        match self.plan.settings.pulse_timeout_ms {
            Some(timeout) => self.last_pulse.is_none_or(|p| now - p >= timeout),
            None => false,
        }
    }

    fn set_status(&mut self, status: Status, user: Option<&str>, message: Option<String>, at: i64) {
        debug_assert!(
            is_allowed_transition(self.status, status),
            "{} -> {status}",
            self.status
        );
        self.status = status;
        self.events.push(JobUpdateEvent {
            status: Some(status),
            timestamp_ms: at,
            user: user.map(str::to_string),
            message,
        });
        if status.is_terminal() {
            self.pass = None;
        }
    }

    /// Starts a rollback pass unless one is in progress (a paused rollback continues).
    fn ensure_pass(&mut self, forward: bool) {
        if self.pass.as_ref().is_none_or(|p| p.forward != forward) {
            self.pass = Some(Pass::new(&self.plan, forward));
        }
    }

    /// Runs the pass of a ROLLING_FORWARD / ROLLING_BACK update at `now`.
    fn evaluate(&mut self, store: &TaskStore, now: i64) -> Effects {
        let mut effects = Effects::default();
        let view = JobView::of(store, &self.job(), now);
        // A failed forward pass hands over to the rollback pass in the same evaluation.
        for _ in 0..2 {
            let forward = match self.status {
                Status::ROLLING_FORWARD => true,
                Status::ROLLING_BACK => false,
                _ => return effects,
            };
            if self.pulse_expired(now) {
                let blocked = if forward {
                    Status::ROLL_FORWARD_AWAITING_PULSE
                } else {
                    Status::ROLL_BACK_AWAITING_PULSE
                };
                self.set_status(blocked, None, Some(PULSE_TIMEOUT_MESSAGE.into()), now);
                return effects;
            }
            self.ensure_pass(forward);
            let Update {
                plan, pass, log, ..
            } = self;
            let Some(pass) = pass.as_mut() else {
                return effects;
            };
            let mut step = Effects::default();
            match pass.evaluate(plan, &view, log, &mut step) {
                PassResult::Working => return step,
                PassResult::AutoPaused => {
                    self.set_status(
                        Status::ROLL_FORWARD_PAUSED,
                        None,
                        Some(AUTO_PAUSE_MESSAGE.into()),
                        now,
                    );
                    return step;
                }
                PassResult::Succeeded => {
                    let done = if forward {
                        Status::ROLLED_FORWARD
                    } else {
                        Status::ROLLED_BACK
                    };
                    self.set_status(done, None, None, now);
                    return effects;
                }
                // The actions of a failed pass are dropped: the rollback pass decides anew.
                PassResult::Failed(message) => {
                    if forward && self.plan.settings.rollback_on_failure {
                        self.set_status(Status::ROLLING_BACK, None, Some(message), now);
                        effects = Effects::default();
                    } else {
                        self.set_status(Status::FAILED, None, Some(message), now);
                        return effects;
                    }
                }
            }
        }
        effects
    }

    fn summary(&self, with_state: bool) -> JobUpdateSummary {
        JobUpdateSummary {
            key: Some(self.plan.key.clone()),
            user: Some(self.user.clone()),
            state: with_state.then(|| self.state()),
            metadata: self.metadata.clone(),
        }
    }

    fn created_ms(&self) -> i64 {
        self.events.first().map_or(0, |e| e.timestamp_ms)
    }

    fn last_modified_ms(&self) -> i64 {
        let update = self.events.last().map_or(0, |e| e.timestamp_ms);
        let instance = self.log.events.last().map_or(0, |e| e.timestamp_ms);
        update.max(instance)
    }

    fn state(&self) -> JobUpdateState {
        JobUpdateState {
            status: Some(self.status),
            created_timestamp_ms: self.created_ms(),
            last_modified_timestamp_ms: self.last_modified_ms(),
        }
    }

    fn details(&self) -> JobUpdateDetails {
        JobUpdateDetails {
            update: Some(JobUpdate {
                summary: Some(self.summary(true)),
                instructions: Some(self.plan.instructions()),
            }),
            update_events: Some(self.events.clone()),
            instance_events: Some(self.log.events.clone()),
        }
    }

    /// JobUpdateQuery terms, ANDed; unset ones do not filter (§4.6.6).
    fn matches(&self, q: &JobUpdateQuery) -> bool {
        let job = self.plan.key.job.as_ref();
        q.role
            .as_ref()
            .is_none_or(|r| job.and_then(|j| j.role.as_ref()) == Some(r))
            && q.key.as_ref().is_none_or(|k| *k == self.plan.key)
            && q.job_key.as_ref().is_none_or(|k| Some(k) == job)
            && q.user.as_ref().is_none_or(|u| *u == self.user)
            && q.update_statuses
                .as_ref()
                .is_none_or(|s| s.is_empty() || s.contains(&self.status))
    }
}

/// Every update the scheduler keeps, and the evaluations due.
#[derive(Default)]
pub struct Updater {
    updates: HashMap<String, Update>,
    /// Update ids of each job, oldest first.
    by_job: HashMap<JobKey, Vec<String>>,
    /// The one active update of each job.
    active: HashMap<JobKey, String>,
    /// Jobs whose active update should be evaluated.
    dirty: BTreeSet<JobKey>,
    /// Watch times: when to evaluate a job's update again.
    wakeups: BTreeSet<(i64, JobKey)>,
}

impl Updater {
    fn find(&self, key: &JobUpdateKey) -> Option<&Update> {
        let update = self.updates.get(key.id.as_deref()?)?;
        (update.plan.key.job == key.job).then_some(update)
    }

    fn find_mut(&mut self, key: &JobUpdateKey) -> Option<&mut Update> {
        let update = self.updates.get_mut(key.id.as_deref()?)?;
        (update.plan.key.job == key.job).then_some(update)
    }

    /// The key and status of the job's active update (including paused and awaiting pulse).
    pub fn active_update(&self, job: &JobKey) -> Option<(JobUpdateKey, Status)> {
        let update = self.updates.get(self.active.get(job)?)?;
        Some((update.plan.key.clone(), update.status))
    }

    /// The job's active update summary, with its state (§4.6.1 check 14).
    pub fn active_summary(&self, job: &JobKey) -> Option<JobUpdateSummary> {
        let update = self.updates.get(self.active.get(job)?)?;
        Some(update.summary(true))
    }

    /// Starts an update that passed every check of §4.6.1; answers its summary without state.
    pub fn start(
        &mut self,
        proposal: ProposedUpdate,
        diff: JobDiff,
        id: String,
        user: &str,
        message: Option<String>,
        now: i64,
    ) -> JobUpdateSummary {
        let job = proposal.job.clone();
        let plan = Plan {
            key: JobUpdateKey {
                job: Some(job.clone()),
                id: Some(id.clone()),
            },
            desired: (!diff.replacements.is_empty()).then(|| Arc::new(proposal.config)),
            desired_instances: diff.replacements,
            initial: diff.replaced,
            settings: proposal.settings,
            wire_settings: proposal.wire_settings,
        };
        let status = if plan.settings.pulse_timeout_ms.is_some() {
            Status::ROLL_FORWARD_AWAITING_PULSE
        } else {
            Status::ROLLING_FORWARD
        };
        let pass = Pass::new(&plan, true);
        let update = Update {
            plan,
            user: user.to_string(),
            metadata: proposal.metadata,
            status,
            events: vec![JobUpdateEvent {
                status: Some(status),
                timestamp_ms: now,
                user: Some(user.to_string()),
                message,
            }],
            log: InstanceLog::default(),
            last_pulse: None,
            pass: Some(pass),
        };
        let summary = update.summary(false);
        self.updates.insert(id.clone(), update);
        self.by_job.entry(job.clone()).or_default().push(id.clone());
        self.active.insert(job.clone(), id);
        self.dirty.insert(job);
        summary
    }

    /// pauseJobUpdate, resumeJobUpdate, abortJobUpdate, rollbackJobUpdate (§4.6.4); `Err` is the
    /// INVALID_REQUEST detail.
    pub fn user_action(
        &mut self,
        key: &JobUpdateKey,
        action: UserAction,
        user: &str,
        message: Option<String>,
        now: i64,
    ) -> Result<(), String> {
        let update = self.find_mut(key).ok_or_else(|| {
            format!(
                "Update {} of job {} does not exist",
                key.id.as_deref().unwrap_or_default(),
                key.job.clone().unwrap_or_default()
            )
        })?;
        let expired = update.pulse_expired(now);
        let next = user_transition(update.status, action, expired).map_err(|why| {
            format!(
                "Update {} of job {} cannot be {}: {why}",
                key.id.as_deref().unwrap_or_default(),
                update.job(),
                action.verb()
            )
        })?;
        let Some(next) = next else {
            return Ok(());
        };
        update.set_status(next, Some(user), message, now);
        if next == Status::ROLLING_BACK {
            update.ensure_pass(false);
        }
        let job = update.job();
        if next.is_terminal() {
            self.finish(&job, now);
        } else {
            self.dirty.insert(job);
        }
        Ok(())
    }

    /// pulseJobUpdate (§4.6.5): FINISHED for unknown, finished or non-coordinated updates.
    pub fn pulse(&mut self, key: &JobUpdateKey, now: i64) -> JobUpdatePulseStatus {
        let Some(update) = self.find_mut(key) else {
            return JobUpdatePulseStatus::FINISHED;
        };
        if update.status.is_terminal() || !update.is_coordinated() {
            return JobUpdatePulseStatus::FINISHED;
        }
        update.last_pulse = Some(now);
        if awaiting_pulse(update.status) {
            let unblocked = if is_forward(update.status) {
                Status::ROLLING_FORWARD
            } else {
                Status::ROLLING_BACK
            };
            update.set_status(unblocked, None, None, now);
            let job = update.job();
            self.dirty.insert(job);
        }
        JobUpdatePulseStatus::OK
    }

    /// A task of `job` changed: its active update, if any, evaluates again.
    pub fn task_changed(&mut self, job: &JobKey) {
        if self.active.contains_key(job) && !self.dirty.contains(job) {
            self.dirty.insert(job.clone());
        }
    }

    /// The next job to evaluate.
    pub fn take_dirty(&mut self) -> Option<JobKey> {
        self.dirty.pop_first()
    }

    /// When the next watch time ends.
    pub fn next_wakeup(&self) -> Option<i64> {
        self.wakeups.first().map(|(at, _)| *at)
    }

    /// Marks the jobs whose watch times end by `now` for evaluation.
    pub fn wake_until(&mut self, now: i64) {
        while let Some((at, job)) = self.wakeups.first().cloned() {
            if at > now {
                break;
            }
            self.wakeups.pop_first();
            self.task_changed(&job);
        }
    }

    /// Evaluates the job's active update at `now` against its tasks; answers what to do to them.
    pub fn evaluate(&mut self, job: &JobKey, store: &TaskStore, now: i64) -> Vec<Action> {
        let Some(update) = self.active.get(job).and_then(|id| self.updates.get_mut(id)) else {
            return Vec::new();
        };
        let effects = update.evaluate(store, now);
        let finished = update.status.is_terminal();
        if let Some(at) = effects.wake_at {
            self.wakeups.insert((at, job.clone()));
        }
        if finished {
            self.finish(job, now);
        }
        effects.actions
    }

    /// A job's update ended: the job is free again, and old finished updates go (§4.6.6).
    fn finish(&mut self, job: &JobKey, now: i64) {
        self.active.remove(job);
        let Some(ids) = self.by_job.get_mut(job) else {
            return;
        };
        let finished: Vec<String> = ids
            .iter()
            .filter(|id| {
                self.updates
                    .get(*id)
                    .is_some_and(|u| u.status.is_terminal())
            })
            .cloned()
            .collect();
        let surplus = finished.len().saturating_sub(FINISHED_UPDATES_KEPT);
        let stale: BTreeSet<String> = finished
            .iter()
            .enumerate()
            .filter(|(i, id)| {
                *i < surplus
                    || self
                        .updates
                        .get(*id)
                        .is_some_and(|u| u.last_modified_ms() < now - FINISHED_UPDATE_MAX_AGE_MS)
            })
            .map(|(_, id)| id.clone())
            .collect();
        ids.retain(|id| !stale.contains(id));
        if ids.is_empty() {
            self.by_job.remove(job);
        }
        for id in stale {
            self.updates.remove(&id);
        }
    }

    fn query(&self, q: &JobUpdateQuery) -> Vec<&Update> {
        let mut found: Vec<&Update> = self.updates.values().filter(|u| u.matches(q)).collect();
        found.sort_by(|a, b| {
            (b.last_modified_ms(), b.created_ms(), &b.plan.key.id).cmp(&(
                a.last_modified_ms(),
                a.created_ms(),
                &a.plan.key.id,
            ))
        });
        let offset = q.offset.max(0) as usize;
        let limit = if q.limit > 0 {
            q.limit as usize
        } else {
            usize::MAX
        };
        found.into_iter().skip(offset).take(limit).collect()
    }

    /// getJobUpdateSummaries (§4.6.6): newest-modified first.
    pub fn summaries(&self, q: &JobUpdateQuery) -> Vec<JobUpdateSummary> {
        self.query(q).iter().map(|u| u.summary(true)).collect()
    }

    /// getJobUpdateDetails with a query (§4.6.6).
    pub fn details(&self, q: &JobUpdateQuery) -> Vec<JobUpdateDetails> {
        self.query(q).iter().map(|u| u.details()).collect()
    }

    /// getJobUpdateDetails with the deprecated key.
    pub fn details_of(&self, key: &JobUpdateKey) -> Option<JobUpdateDetails> {
        self.find(key).map(Update::details)
    }
}

#[cfg(test)]
mod tests {
    //! The updater driven through the scheduler with explicit virtual times (no sleeping). Each
    //! test cites the api-reference section it follows.
    use super::*;
    use crate::api::methods::*;
    use crate::api::types::{
        BatchJobUpdateStrategy, ExecutorConfig, JobConfiguration, JobUpdateRequest,
        JobUpdateStrategy, Metadata, QueueJobUpdateStrategy, Resource, Response, ResponseCode,
        Result as Payload, ScheduledTask, TaskQuery, VariableBatchJobUpdateStrategy,
        AURORA_EXECUTOR_NAME,
    };
    use crate::sim::config::{ClusterSpec, HostResources, SimConfig};
    use crate::sim::scheduler::Scheduler;

    const T0: i64 = 1_700_000_000_000;
    const SEC: i64 = 1_000;

    fn scheduler() -> Scheduler {
        let cluster = ClusterSpec::generated(4, 1, &HostResources::default()).unwrap();
        Scheduler::new(&SimConfig::new(cluster)).unwrap()
    }

    fn job_key() -> JobKey {
        JobKey::new("www-data", "prod", "web")
    }

    fn task(version: &str) -> TaskConfig {
        TaskConfig {
            job: Some(job_key()),
            is_service: true,
            max_task_failures: 1,
            resources: Some(vec![
                Resource::NumCpus(0.5),
                Resource::RamMb(64),
                Resource::DiskMb(64),
            ]),
            executor_config: Some(ExecutorConfig {
                name: Some(AURORA_EXECUTOR_NAME.into()),
                data: Some(format!(r#"{{"version":"{version}"}}"#)),
            }),
            ..TaskConfig::default()
        }
    }

    fn failing(version: &str) -> TaskConfig {
        TaskConfig {
            metadata: Some(vec![Metadata {
                key: Some("sim.behavior".into()),
                value: Some("fail".into()),
            }]),
            ..task(version)
        }
    }

    fn create(s: &mut Scheduler, instances: i32, at: i64) {
        let job = JobConfiguration {
            key: Some(job_key()),
            instance_count: instances,
            task_config: Some(task("v1")),
            ..JobConfiguration::default()
        };
        let r = s.handle(
            Call::CreateJob(CreateJob {
                description: Some(job),
            }),
            "alice",
            at,
        );
        assert_eq!(r.response_code, Some(ResponseCode::OK), "{r:?}");
    }

    fn settings(strategy: JobUpdateStrategy, watch_ms: i32) -> JobUpdateSettings {
        JobUpdateSettings {
            update_group_size: 1,
            min_wait_in_instance_running_ms: watch_ms,
            rollback_on_failure: true,
            update_strategy: Some(strategy),
            ..JobUpdateSettings::default()
        }
    }

    fn queue(size: i32) -> JobUpdateStrategy {
        JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy { group_size: size })
    }

    fn start(
        s: &mut Scheduler,
        config: TaskConfig,
        instances: i32,
        settings: JobUpdateSettings,
        at: i64,
    ) -> JobUpdateKey {
        let r = s.handle(
            Call::StartJobUpdate(StartJobUpdate {
                request: Some(JobUpdateRequest {
                    task_config: Some(config),
                    instance_count: instances,
                    settings: Some(settings),
                    metadata: None,
                }),
                message: Some("deploy".into()),
            }),
            "alice",
            at,
        );
        match r.result {
            Some(Payload::StartJobUpdateResult(res)) => res.key.unwrap(),
            _ => panic!("{r:?}"),
        }
    }

    fn details(s: &mut Scheduler, key: &JobUpdateKey, at: i64) -> JobUpdateDetails {
        let query = JobUpdateQuery {
            key: Some(key.clone()),
            ..JobUpdateQuery::default()
        };
        match s
            .handle(
                Call::GetJobUpdateDetails(GetJobUpdateDetails {
                    key: None,
                    query: Some(query),
                }),
                "UNSECURE",
                at,
            )
            .result
        {
            Some(Payload::GetJobUpdateDetailsResult(r)) => {
                r.details_list.unwrap().into_iter().next().unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    fn status(s: &mut Scheduler, key: &JobUpdateKey, at: i64) -> Status {
        details(s, key, at)
            .update
            .unwrap()
            .summary
            .unwrap()
            .state
            .unwrap()
            .status
            .unwrap()
    }

    fn statuses(s: &mut Scheduler, key: &JobUpdateKey, at: i64) -> Vec<Status> {
        details(s, key, at)
            .update_events
            .unwrap()
            .iter()
            .map(|e| e.status.unwrap())
            .collect()
    }

    fn instance_events(
        s: &mut Scheduler,
        key: &JobUpdateKey,
        at: i64,
    ) -> Vec<(i32, JobUpdateAction)> {
        details(s, key, at)
            .instance_events
            .unwrap()
            .iter()
            .map(|e| (e.instance_id, e.action.unwrap()))
            .collect()
    }

    fn tasks(s: &mut Scheduler, at: i64) -> Vec<ScheduledTask> {
        let query = TaskQuery {
            job_keys: Some(vec![job_key()]),
            ..TaskQuery::default()
        };
        match s
            .handle(
                Call::GetTasksStatus(GetTasksStatus { query: Some(query) }),
                "UNSECURE",
                at,
            )
            .result
        {
            Some(Payload::ScheduleStatusResult(r)) => r.tasks.unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    }

    /// Version and status of each active task, by instance.
    fn running_versions(s: &mut Scheduler, at: i64) -> Vec<(i32, String, ScheduleStatus)> {
        let mut out: Vec<(i32, String, ScheduleStatus)> = tasks(s, at)
            .into_iter()
            .filter(|t| t.status.unwrap().is_active())
            .map(|t| {
                let a = t.assigned_task.unwrap();
                let data = a.task.unwrap().executor_config.unwrap().data.unwrap();
                (a.instance_id, data, t.status.unwrap())
            })
            .collect();
        out.sort_by_key(|(i, _, _)| *i);
        out
    }

    fn control(s: &mut Scheduler, call: Call, at: i64) -> Response {
        s.handle(call, "bob", at)
    }

    #[test]
    fn queue_update_rolls_forward_after_each_watch_time_on_the_virtual_clock() {
        // §4.6.3: one instance at a time; each succeeds once RUNNING for minWaitInInstanceRunningMs.
        let mut s = scheduler();
        create(&mut s, 2, T0);
        let at = T0 + 10 * SEC;
        let key = start(&mut s, task("v2"), 2, settings(queue(1), 10_000), at);
        // Instance 0 is killed (2 s), replaced (3 s to RUNNING) and watched 10 s.
        assert_eq!(status(&mut s, &key, at + 14 * SEC), Status::ROLLING_FORWARD);
        assert_eq!(
            instance_events(&mut s, &key, at + 14 * SEC),
            [(0, JobUpdateAction::INSTANCE_UPDATING)]
        );
        assert_eq!(
            instance_events(&mut s, &key, at + 15 * SEC),
            [
                (0, JobUpdateAction::INSTANCE_UPDATING),
                (0, JobUpdateAction::INSTANCE_UPDATED),
                (1, JobUpdateAction::INSTANCE_UPDATING)
            ]
        );
        assert_eq!(status(&mut s, &key, at + 30 * SEC), Status::ROLLED_FORWARD);
        let d = details(&mut s, &key, at + 30 * SEC);
        let events = d.update_events.unwrap();
        assert_eq!(events[0].user.as_deref(), Some("alice"));
        assert_eq!(events[0].message.as_deref(), Some("deploy"));
        assert_eq!(events[1].timestamp_ms, at + 30 * SEC);
        assert!(running_versions(&mut s, at + 30 * SEC)
            .iter()
            .all(|(_, v, st)| v.contains("v2") && *st == ScheduleStatus::RUNNING));
    }

    #[test]
    fn watch_time_counts_from_the_most_recent_state_change() {
        // §4.6.3: "measured from T's most recent state change".
        let mut s = scheduler();
        let key = start(&mut s, task("v1"), 1, settings(queue(1), 5_000), T0);
        // Added at T0, RUNNING at T0+3 s: healthy at T0+8 s, not before.
        assert_eq!(status(&mut s, &key, T0 + 7_999), Status::ROLLING_FORWARD);
        assert_eq!(status(&mut s, &key, T0 + 8 * SEC), Status::ROLLED_FORWARD);
    }

    #[test]
    fn failing_version_rolls_back_to_the_initial_configs_with_instance_events() {
        // §4.6.3 failure -> ROLLING_BACK -> ROLLED_BACK with default limits (0, 0, rollback).
        let mut s = scheduler();
        create(&mut s, 2, T0);
        let at = T0 + 10 * SEC;
        let key = start(&mut s, failing("v2"), 2, settings(queue(1), 1_000), at);
        let end = at + 60 * SEC;
        assert_eq!(
            statuses(&mut s, &key, end),
            [
                Status::ROLLING_FORWARD,
                Status::ROLLING_BACK,
                Status::ROLLED_BACK
            ]
        );
        let d = details(&mut s, &key, end);
        let rollback = &d.update_events.unwrap()[1];
        let message = rollback.message.clone().unwrap();
        assert!(
            message.starts_with("Latest failure: instance 0 of www-data/prod/web: task ")
                && message.contains("ended FAILED (Task process exited with status 1"),
            "{message}"
        );
        assert_eq!(
            instance_events(&mut s, &key, end),
            [
                (0, JobUpdateAction::INSTANCE_UPDATING),
                (0, JobUpdateAction::INSTANCE_UPDATE_FAILED),
                (0, JobUpdateAction::INSTANCE_ROLLING_BACK),
                (0, JobUpdateAction::INSTANCE_ROLLED_BACK),
            ],
            "instance 1 was never touched, so it has no events"
        );
        assert_eq!(
            running_versions(&mut s, end)
                .iter()
                .map(|(i, v, st)| (*i, v.contains("v1"), *st))
                .collect::<Vec<_>>(),
            [
                (0, true, ScheduleStatus::RUNNING),
                (1, true, ScheduleStatus::RUNNING)
            ]
        );
    }

    #[test]
    fn without_rollback_on_failure_a_failed_update_ends_failed() {
        // §4.6.3: failure threshold with rollbackOnFailure false -> FAILED.
        let mut s = scheduler();
        create(&mut s, 1, T0);
        let mut settings = settings(queue(1), 1_000);
        settings.rollback_on_failure = false;
        let key = start(&mut s, failing("v2"), 1, settings, T0 + 10 * SEC);
        assert_eq!(
            statuses(&mut s, &key, T0 + 60 * SEC),
            [Status::ROLLING_FORWARD, Status::FAILED]
        );
        // The job is free again: killTasks works.
        let r = control(
            &mut s,
            Call::KillTasks(KillTasks {
                job: Some(job_key()),
                ..KillTasks::default()
            }),
            T0 + 61 * SEC,
        );
        assert_eq!(r.response_code, Some(ResponseCode::OK));
    }

    #[test]
    fn per_instance_failures_are_tolerated_up_to_the_limit() {
        // §4.6.3: the instance fails when its failure count exceeds maxPerInstanceFailures.
        let mut s = scheduler();
        let mut settings = settings(queue(1), 1_000);
        settings.max_per_instance_failures = 1;
        settings.rollback_on_failure = false;
        let mut flapping = task("v1");
        flapping.metadata = Some(vec![Metadata {
            key: Some("sim.behavior".into()),
            value: Some("fail".into()),
        }]);
        let key = start(&mut s, flapping, 1, settings, T0);
        // First failure at T0+1 s is tolerated; the replacement is THROTTLED 30 s, then fails again.
        assert_eq!(status(&mut s, &key, T0 + 20 * SEC), Status::ROLLING_FORWARD);
        let message = details(&mut s, &key, T0 + 120 * SEC).update_events.unwrap()[1]
            .message
            .clone()
            .unwrap();
        assert!(
            message.contains("2 failure(s) with maxPerInstanceFailures 1"),
            "{message}"
        );
        assert_eq!(status(&mut s, &key, T0 + 120 * SEC), Status::FAILED);
    }

    #[test]
    fn max_failed_instances_lets_an_update_finish_with_failures() {
        // §4.6.3: the update fails only once more than maxFailedInstances instances failed.
        let mut s = scheduler();
        let mut settings = settings(queue(2), 1_000);
        settings.max_failed_instances = 2;
        let key = start(&mut s, failing("v1"), 2, settings, T0);
        assert_eq!(status(&mut s, &key, T0 + 30 * SEC), Status::ROLLED_FORWARD);
    }

    #[test]
    fn batches_wait_for_the_whole_batch_and_queues_refill() {
        // §4.6.3: Batch starts a batch only when none is in flight; Queue keeps groupSize going.
        let batch = JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
            group_size: 2,
            autopause_after_batch: false,
        });
        let mut s = scheduler();
        let key = start(&mut s, task("v1"), 4, settings(batch, 2_000), T0);
        let started: Vec<i32> = instance_events(&mut s, &key, T0)
            .iter()
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(started, [0, 1]);
        // Batch 1 healthy at T0+5 s; batch 2 starts then.
        assert_eq!(instance_events(&mut s, &key, T0 + 4_999).len(), 2);
        assert_eq!(instance_events(&mut s, &key, T0 + 5 * SEC).len(), 6);
        assert_eq!(status(&mut s, &key, T0 + 10 * SEC), Status::ROLLED_FORWARD);
    }

    #[test]
    fn variable_batches_use_their_sizes_and_autopause_between_batches() {
        // §4.6.3 VariableBatch and auto-pause (forward only): ROLL_FORWARD_PAUSED, resume continues.
        let strategy = JobUpdateStrategy::VarBatchStrategy(VariableBatchJobUpdateStrategy {
            group_sizes: Some(vec![1, 2]),
            autopause_after_batch: true,
        });
        let mut s = scheduler();
        let key = start(&mut s, task("v1"), 3, settings(strategy, 1_000), T0);
        assert_eq!(
            status(&mut s, &key, T0 + 10 * SEC),
            Status::ROLL_FORWARD_PAUSED
        );
        let d = details(&mut s, &key, T0 + 10 * SEC);
        assert_eq!(
            d.update_events.unwrap()[1].message.as_deref(),
            Some(AUTO_PAUSE_MESSAGE)
        );
        assert_eq!(instance_events(&mut s, &key, T0 + 10 * SEC).len(), 2);
        let r = control(
            &mut s,
            Call::ResumeJobUpdate(ResumeJobUpdate {
                key: Some(key.clone()),
                message: None,
            }),
            T0 + 20 * SEC,
        );
        assert_eq!(r.response_code, Some(ResponseCode::OK));
        let second: Vec<i32> = instance_events(&mut s, &key, T0 + 20 * SEC)[2..]
            .iter()
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(second, [1, 2], "the second batch holds two instances");
        assert_eq!(status(&mut s, &key, T0 + 40 * SEC), Status::ROLLED_FORWARD);
    }

    #[test]
    fn fewer_instances_kill_the_extra_ones_without_rescheduling() {
        // §4.6.2 removals: killed, not replaced; UPDATING then UPDATED.
        let mut s = scheduler();
        create(&mut s, 3, T0);
        let at = T0 + 10 * SEC;
        let key = start(&mut s, task("v1"), 1, settings(queue(1), 1_000), at);
        assert_eq!(status(&mut s, &key, at + 10 * SEC), Status::ROLLED_FORWARD);
        assert_eq!(
            instance_events(&mut s, &key, at + 10 * SEC),
            [
                (1, JobUpdateAction::INSTANCE_UPDATING),
                (1, JobUpdateAction::INSTANCE_UPDATED),
                (2, JobUpdateAction::INSTANCE_UPDATING),
                (2, JobUpdateAction::INSTANCE_UPDATED)
            ]
        );
        let all = tasks(&mut s, at + 60 * SEC);
        assert_eq!(all.len(), 3);
        let killed: Vec<i32> = all
            .iter()
            .filter(|t| t.status == Some(ScheduleStatus::KILLED))
            .map(|t| t.assigned_task.as_ref().unwrap().instance_id)
            .collect();
        assert_eq!(killed, [1, 2]);
    }

    #[test]
    fn user_rollback_removes_added_instances_and_restores_updated_ones() {
        // §4.6.3 rollback pass: initialState configs back, instances the update added removed.
        let mut s = scheduler();
        create(&mut s, 1, T0);
        let at = T0 + 10 * SEC;
        // Instance 0 runs v2 from +5 s and would be healthy at +15 s; 1 and 2 are added.
        let key = start(&mut s, task("v2"), 3, settings(queue(3), 10_000), at);
        let r = control(
            &mut s,
            Call::RollbackJobUpdate(RollbackJobUpdate {
                key: Some(key.clone()),
                message: Some("oops".into()),
            }),
            at + 10 * SEC,
        );
        assert_eq!(r.response_code, Some(ResponseCode::OK));
        let end = at + 30 * SEC;
        assert_eq!(status(&mut s, &key, end), Status::ROLLED_BACK);
        let d = details(&mut s, &key, end);
        let rollback = &d.update_events.unwrap()[1];
        assert_eq!(
            (rollback.user.as_deref(), rollback.message.as_deref()),
            (Some("bob"), Some("oops"))
        );
        assert_eq!(
            running_versions(&mut s, end)
                .iter()
                .map(|(i, v, _)| (*i, v.contains("v1")))
                .collect::<Vec<_>>(),
            [(0, true)]
        );
    }

    #[test]
    fn the_user_action_table_is_followed_exactly() {
        // §4.6.4 user actions: transitions, no-ops and refusals.
        use UserAction::*;
        let t = |s, a, expired| user_transition(s, a, expired);
        assert_eq!(
            t(Status::ROLLING_FORWARD, Pause, false),
            Ok(Some(Status::ROLL_FORWARD_PAUSED))
        );
        assert_eq!(t(Status::ROLLING_FORWARD, Resume, false), Ok(None));
        assert!(t(Status::ROLLING_FORWARD, Resume, true).is_err());
        assert_eq!(
            t(Status::ROLLING_FORWARD, Rollback, false),
            Ok(Some(Status::ROLLING_BACK))
        );
        assert_eq!(t(Status::ROLLING_BACK, Rollback, false), Ok(None));
        assert_eq!(
            t(Status::ROLLING_BACK, Pause, false),
            Ok(Some(Status::ROLL_BACK_PAUSED))
        );
        assert_eq!(t(Status::ROLL_FORWARD_PAUSED, Pause, false), Ok(None));
        assert_eq!(
            t(Status::ROLL_FORWARD_PAUSED, Resume, false),
            Ok(Some(Status::ROLLING_FORWARD))
        );
        assert_eq!(
            t(Status::ROLL_FORWARD_PAUSED, Resume, true),
            Ok(Some(Status::ROLL_FORWARD_AWAITING_PULSE))
        );
        assert_eq!(
            t(Status::ROLL_BACK_PAUSED, Resume, false),
            Ok(Some(Status::ROLLING_BACK))
        );
        assert_eq!(
            t(Status::ROLL_BACK_PAUSED, Resume, true),
            Ok(Some(Status::ROLL_BACK_AWAITING_PULSE))
        );
        assert_eq!(
            t(Status::ROLL_BACK_PAUSED, Rollback, false),
            Ok(Some(Status::ROLLING_BACK))
        );
        assert!(t(Status::ROLL_FORWARD_AWAITING_PULSE, Resume, false).is_err());
        assert_eq!(
            t(Status::ROLL_FORWARD_AWAITING_PULSE, Resume, true),
            Ok(None)
        );
        assert_eq!(
            t(Status::ROLL_BACK_AWAITING_PULSE, Pause, false),
            Ok(Some(Status::ROLL_BACK_PAUSED))
        );
        for status in Status::ALL.iter().copied() {
            for action in [Pause, Resume, Abort, Rollback] {
                match t(status, action, false) {
                    _ if status.is_terminal() => assert!(t(status, action, false).is_err()),
                    Ok(Some(next)) => assert!(
                        is_allowed_transition(status, next),
                        "{status} -{action:?}-> {next}"
                    ),
                    _ => {}
                }
                if !status.is_terminal() {
                    assert_eq!(t(status, Abort, false), Ok(Some(Status::ABORTED)));
                }
            }
        }
    }

    #[test]
    fn pause_holds_progress_and_an_aborted_update_refuses_more_actions() {
        // §4.6.4: pause stops progress; abort leaves the job as is; terminal -> INVALID_REQUEST.
        let mut s = scheduler();
        create(&mut s, 2, T0);
        let at = T0 + 10 * SEC;
        let key = start(&mut s, task("v2"), 2, settings(queue(1), 1_000), at);
        let pause = Call::PauseJobUpdate(PauseJobUpdate {
            key: Some(key.clone()),
            message: None,
        });
        control(&mut s, pause.clone(), at + SEC);
        assert_eq!(
            status(&mut s, &key, at + 60 * SEC),
            Status::ROLL_FORWARD_PAUSED
        );
        assert!(instance_events(&mut s, &key, at + 60 * SEC)
            .iter()
            .all(|(i, _)| *i == 0));
        let abort = Call::AbortJobUpdate(AbortJobUpdate {
            key: Some(key.clone()),
            message: None,
        });
        assert_eq!(
            control(&mut s, abort, at + 61 * SEC).response_code,
            Some(ResponseCode::OK)
        );
        assert_eq!(status(&mut s, &key, at + 61 * SEC), Status::ABORTED);
        assert_eq!(
            control(&mut s, pause, at + 62 * SEC).response_code,
            Some(ResponseCode::INVALID_REQUEST)
        );
    }

    #[test]
    fn coordinated_update_waits_for_a_pulse_and_blocks_lazily_when_pulses_stop() {
        // §4.6.5: starts awaiting a pulse; a pulse unblocks it; expiry shows at the next evaluation.
        let mut s = scheduler();
        let mut coordinated = settings(queue(1), 10_000);
        coordinated.block_if_no_pulses_after_ms = Some(5_000);
        let key = start(&mut s, task("v1"), 2, coordinated, T0);
        assert_eq!(
            status(&mut s, &key, T0 + 60 * SEC),
            Status::ROLL_FORWARD_AWAITING_PULSE
        );
        assert!(
            tasks(&mut s, T0 + 60 * SEC).is_empty(),
            "nothing before the first pulse"
        );
        let pulse = Call::PulseJobUpdate(PulseJobUpdate {
            key: Some(key.clone()),
        });
        let r = control(&mut s, pulse.clone(), T0 + 60 * SEC);
        assert!(matches!(
            r.result,
            Some(Payload::PulseJobUpdateResult(ref p)) if p.status == Some(JobUpdatePulseStatus::OK)
        ));
        assert_eq!(status(&mut s, &key, T0 + 60 * SEC), Status::ROLLING_FORWARD);
        // Instance 0 RUNNING at +3 s, watched 10 s: the wake-up at +13 s finds the pulse expired.
        assert_eq!(
            status(&mut s, &key, T0 + 80 * SEC),
            Status::ROLL_FORWARD_AWAITING_PULSE
        );
        let d = details(&mut s, &key, T0 + 80 * SEC);
        let blocked = d.update_events.unwrap().last().cloned().unwrap();
        assert_eq!(blocked.message.as_deref(), Some(PULSE_TIMEOUT_MESSAGE));
        // Pulsed at +60 s; RUNNING at +63 s (pulse still valid); the watch-time wake-up at +73 s
        // is the first evaluation past the expiry at +65 s.
        assert_eq!(blocked.timestamp_ms, T0 + 73 * SEC);
        let unknown = JobUpdateKey {
            job: Some(job_key()),
            id: Some("no-such-update".into()),
        };
        let r = control(
            &mut s,
            Call::PulseJobUpdate(PulseJobUpdate { key: Some(unknown) }),
            T0 + 81 * SEC,
        );
        assert!(matches!(
            r.result,
            Some(Payload::PulseJobUpdateResult(ref p)) if p.status == Some(JobUpdatePulseStatus::FINISHED)
        ));
    }

    #[test]
    fn only_ten_finished_updates_are_kept_per_job() {
        // §4.6.6 retention.
        let mut s = scheduler();
        let mut at = T0;
        let mut keys = Vec::new();
        for version in 0..12 {
            keys.push(start(
                &mut s,
                task(&format!("v{version}")),
                1,
                settings(queue(1), 0),
                at,
            ));
            at += 10 * SEC;
            assert_eq!(
                status(&mut s, keys.last().unwrap(), at),
                Status::ROLLED_FORWARD
            );
        }
        let all = match s
            .handle(
                Call::GetJobUpdateSummaries(GetJobUpdateSummaries {
                    job_update_query: Some(JobUpdateQuery::default()),
                }),
                "UNSECURE",
                at,
            )
            .result
        {
            Some(Payload::GetJobUpdateSummariesResult(r)) => r.update_summaries.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(all.len(), 10);
        assert_eq!(all[0].key.as_ref(), keys.last(), "newest first");
    }
}
