//! Host maintenance state and policy (api-reference §4.8): the drain request stored per host, the
//! clock of the periodic maintenance poll, the Count/Percentage SLA check, and the coordinators
//! asked about Coordinator policies (real HTTP, on threads of their own, off the scheduler's lock).
//!
//! The scheduler side (the five calls, the poll's moves) is in `scheduler::maintenance_calls`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::api::types::{
    CoordinatorSlaPolicy, HostMaintenanceRequest, PercentageSlaPolicy, ScheduleStatus,
    ScheduledTask, SlaPolicy,
};
use crate::sim::config::SchedulerFlags;
use crate::sim::tasks::Task;
use crate::sim::validation::{self, DEFAULT_TIER};

/// The audit message of a task moved to DRAINING for maintenance.
pub const DRAINING_MESSAGE: &str = "Draining machine for maintenance.";
/// The key read from a coordinator's reply when the policy names none.
const DEFAULT_STATUS_KEY: &str = "drain";
/// `-max_parallel_coordinated_maintenance`.
const MAX_PARALLEL_COORDINATORS: usize = 10;
/// The query parameter, and body key, naming the task a coordinator is asked about.
const TASK_PARAM: &str = "task";

/// The policy drainHosts records: nothing may hold a forced drain back.
pub fn zero_percent_policy() -> SlaPolicy {
    SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
        percentage: 0.0,
        duration_secs: 0,
    })
}

/// Whether a task in this state can be moved to DRAINING (§4.7 transition table).
pub fn can_drain(status: ScheduleStatus) -> bool {
    matches!(
        status,
        ScheduleStatus::ASSIGNED
            | ScheduleStatus::STARTING
            | ScheduleStatus::RUNNING
            | ScheduleStatus::PARTITIONED
    )
}

/// Whether `timeoutSecs` have passed since the request, counted in whole seconds as the
/// scheduler counts them.
fn is_expired(request: &HostMaintenanceRequest, now_ms: i64) -> bool {
    request.timeout_secs < (now_ms - request.created_timestamp_ms) / 1_000
}

/// Milliseconds left before the request forces its drains (negative once it does).
fn countdown_ms(request: &HostMaintenanceRequest, now_ms: i64) -> i64 {
    request
        .timeout_secs
        .saturating_mul(1_000)
        .saturating_sub(now_ms - request.created_timestamp_ms)
}

/// The SLA check of a Count or Percentage policy (§4.8): may `task` go down now, given the
/// job's active tasks? A Coordinator policy is not decided here and answers false.
pub fn sla_allows(
    policy: &SlaPolicy,
    task: &Task,
    job_active: &[&Task],
    flags: &SchedulerFlags,
    now_ms: i64,
) -> bool {
    let duration_secs = match policy {
        SlaPolicy::PercentageSlaPolicy(p) => p.duration_secs,
        SlaPolicy::CountSlaPolicy(c) => c.duration_secs,
        SlaPolicy::CoordinatorSlaPolicy(_) => return false,
    };
    let total = job_active.len() as i64;
    let tier = task.config.tier.as_deref().unwrap_or(DEFAULT_TIER);
    let production = validation::tier(tier).is_some_and(|t| t.is_production());
    if (!production && !flags.sla_aware_kill_non_prod)
        || total < i64::from(flags.min_required_instances_for_sla_check)
    {
        return true;
    }
    let duration_ms = duration_secs.saturating_mul(1_000);
    let healthy = job_active
        .iter()
        .filter(|t| t.id != task.id && t.status == ScheduleStatus::RUNNING)
        .filter(|t| {
            t.running_since()
                .is_some_and(|since| now_ms - since > duration_ms)
        })
        .count() as i64;
    meets_sla(policy, healthy, total)
}

/// Whether `healthy` of `total` instances satisfy the policy, relaxed to let exactly one
/// instance down when it would let none.
fn meets_sla(policy: &SlaPolicy, healthy: i64, total: i64) -> bool {
    if total <= 0 {
        return true;
    }
    match policy {
        SlaPolicy::PercentageSlaPolicy(p) => {
            let mut required = p.percentage;
            // Truncated as the scheduler truncates it.
            let may_be_down = ((1.0 - required / 100.0) * total as f64) as i64;
            if may_be_down < 1 {
                required = (total - 1) as f64 / total as f64 * 100.0;
            }
            healthy as f64 / total as f64 * 100.0 >= required
        }
        SlaPolicy::CountSlaPolicy(c) => {
            let required = if total - c.count < 1 {
                total - 1
            } else {
                c.count
            };
            healthy >= required
        }
        SlaPolicy::CoordinatorSlaPolicy(_) => false,
    }
}

/// The maintenance state the scheduler keeps besides host modes.
pub struct Maintenance {
    /// One request per host; a new one replaces the old.
    requests: HashMap<String, HostMaintenanceRequest>,
    interval_ms: i64,
    next_poll_ms: Option<i64>,
    coordinators: Coordinators,
    /// Off while a state dir is replayed: the answers are in the record, not asked again.
    asking: bool,
}

impl Maintenance {
    pub fn new(flags: &SchedulerFlags) -> Self {
        Maintenance {
            requests: HashMap::new(),
            // At least 1 ms, so that the poll always moves virtual time on.
            interval_ms: (flags.host_maintenance_polling_interval.as_millis() as i64).max(1),
            next_poll_ms: None,
            coordinators: Coordinators::new(flags.sla_coordinator_timeout),
            asking: true,
        }
    }

    pub fn set_asking(&mut self, asking: bool) {
        self.asking = asking;
    }

    /// Stores a drain request for `host`, replacing any earlier one.
    pub fn record(
        &mut self,
        host: &str,
        policy: Option<SlaPolicy>,
        timeout_secs: i64,
        now_ms: i64,
    ) {
        self.requests.insert(
            host.to_string(),
            HostMaintenanceRequest {
                host: Some(host.to_string()),
                default_sla_policy: policy,
                timeout_secs,
                created_timestamp_ms: now_ms,
            },
        );
    }

    pub fn forget(&mut self, host: &str) {
        self.requests.remove(host);
    }

    /// When the next poll is due; the first one is an interval after the clock was first read.
    pub fn next_poll(&mut self, now_ms: i64) -> i64 {
        *self.next_poll_ms.get_or_insert(now_ms + self.interval_ms)
    }

    /// Notes that the poll due at `at_ms` ran.
    pub fn polled(&mut self, at_ms: i64) {
        self.next_poll_ms = Some(at_ms + self.interval_ms);
    }

    /// Whether `task`, active on the DRAINING host `host`, may be drained now (§4.8 "Draining one
    /// task"): forced once the request's timeout has passed, else its own policy or the
    /// request's default must allow it. A Coordinator policy is asked (when its coordinator is
    /// free) and answers false here; an allowing answer comes back through `coordinator_answers`.
    pub fn may_drain(&self, task: &Task, host: &str, context: &DrainContext) -> bool {
        let Some(request) = self.requests.get(host) else {
            // Without a request the scheduler assumes the SLA is not met.
            return false;
        };
        if is_expired(request, context.now_ms) {
            return true;
        }
        let policy = task
            .config
            .sla_policy
            .as_ref()
            .or(request.default_sla_policy.as_ref());
        match policy {
            // No policy at all: the drain fails until the request times out.
            None => false,
            Some(SlaPolicy::CoordinatorSlaPolicy(coordinator)) => {
                if !self.asking {
                    return false;
                }
                let task_key = format!("{}/{}/{}", context.cluster_name, task.job, task.instance);
                self.coordinators.ask(Question {
                    policy: coordinator.clone(),
                    task_key,
                    task_id: task.id.clone(),
                    scheduled_task: (context.wire)(task),
                    countdown_ms: countdown_ms(request, context.now_ms),
                });
                false
            }
            Some(policy) => sla_allows(
                policy,
                task,
                &context.job_active,
                context.flags,
                context.now_ms,
            ),
        }
    }

    /// Coordinator answers that came back since the last call, as (task id, drain allowed); their
    /// coordinators are free again.
    pub fn coordinator_answers(&self) -> Vec<(String, bool)> {
        self.coordinators.take_answers()
    }
}

/// What deciding on one task needs from the scheduler.
pub struct DrainContext<'a> {
    pub cluster_name: &'a str,
    pub flags: &'a SchedulerFlags,
    /// The active tasks of the task's job.
    pub job_active: Vec<&'a Task>,
    /// The wire form of a task, for a coordinator's request body.
    pub wire: &'a dyn Fn(&Task) -> ScheduledTask,
    pub now_ms: i64,
}

/// One question to a coordinator: may this task be drained?
struct Question {
    policy: CoordinatorSlaPolicy,
    task_key: String,
    task_id: String,
    scheduled_task: ScheduledTask,
    countdown_ms: i64,
}

impl Question {
    fn url(&self) -> &str {
        self.policy.coordinator_url.as_deref().unwrap_or_default()
    }

    fn body(&self) -> String {
        serde_json::json!({
            "taskConfig": serde_json::to_value(&self.scheduled_task).unwrap_or_default(),
            TASK_PARAM: self.task_key,
            "forceMaintenanceCountdownMs": self.countdown_ms.to_string(),
        })
        .to_string()
    }

    /// POSTs the question and reads the answer: allowed only on HTTP 200 with `true` under the
    /// status key.
    fn send(&self, timeout: Duration) -> Result<bool, String> {
        let mut url = reqwest::Url::parse(self.url()).map_err(|e| format!("bad URL: {e}"))?;
        url.query_pairs_mut()
            .append_pair(TASK_PARAM, &self.task_key);
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none());
        if url.scheme() == "https" {
            // An error means a provider is installed already, which serves as well.
            let _ = rustls::crypto::ring::default_provider().install_default();
        } else {
            // Plain HTTP needs no CA certificates; loading the system's is slow.
            builder = builder.tls_certs_only(Vec::new());
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let response = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(self.body())
            .send()
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!("answered HTTP {status}"));
        }
        let bytes = response.bytes().map_err(|e| e.to_string())?;
        let reply: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("answered no JSON: {e}"))?;
        let key = self
            .policy
            .status_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or(DEFAULT_STATUS_KEY);
        Ok(reply.get(key).and_then(serde_json::Value::as_bool) == Some(true))
    }
}

/// Where the exchange with one coordinator URL stands.
enum Exchange {
    Asking,
    Answered { task_id: String, allows: bool },
}

/// The coordinators being asked: at most one question per URL at a time, and at most
/// `MAX_PARALLEL_COORDINATORS` URLs at once (§4.8).
struct Coordinators {
    exchanges: Arc<Mutex<HashMap<String, Exchange>>>,
    timeout: Duration,
}

fn lock(exchanges: &Mutex<HashMap<String, Exchange>>) -> MutexGuard<'_, HashMap<String, Exchange>> {
    exchanges
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Coordinators {
    fn new(timeout: Duration) -> Self {
        Coordinators {
            exchanges: Arc::new(Mutex::new(HashMap::new())),
            timeout,
        }
    }

    /// Sends `question` on its own thread, unless its coordinator is busy (it is then asked
    /// again at a later poll, as the scheduler skips a busy coordinator).
    fn ask(&self, question: Question) {
        let url = question.url().to_string();
        {
            let mut exchanges = lock(&self.exchanges);
            let asking = exchanges
                .values()
                .filter(|e| matches!(e, Exchange::Asking))
                .count();
            if exchanges.contains_key(&url) || asking >= MAX_PARALLEL_COORDINATORS {
                return;
            }
            exchanges.insert(url.clone(), Exchange::Asking);
        }
        let exchanges = self.exchanges.clone();
        let timeout = self.timeout;
        let spawned = std::thread::Builder::new()
            .name("sla-coordinator".into())
            .spawn(move || {
                let allows = question.send(timeout).unwrap_or_else(|e| {
                    eprintln!(
                        "aurora-sim: coordinator {} asked about {}: {e}; the drain waits",
                        question.url(),
                        question.task_key
                    );
                    false
                });
                lock(&exchanges).insert(
                    question.url().to_string(),
                    Exchange::Answered {
                        task_id: question.task_id,
                        allows,
                    },
                );
            });
        if spawned.is_err() {
            lock(&self.exchanges).remove(&url);
        }
    }

    fn take_answers(&self) -> Vec<(String, bool)> {
        let mut exchanges = lock(&self.exchanges);
        if exchanges.is_empty() {
            return Vec::new();
        }
        let answered: Vec<String> = exchanges
            .iter()
            .filter(|(_, e)| matches!(e, Exchange::Answered { .. }))
            .map(|(url, _)| url.clone())
            .collect();
        answered
            .into_iter()
            .filter_map(|url| match exchanges.remove(&url) {
                Some(Exchange::Answered { task_id, allows }) => Some((task_id, allows)),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{CountSlaPolicy, JobKey, TaskConfig, TaskEvent};

    const NOW: i64 = 1_700_000_000_000;

    fn percentage(p: f64) -> SlaPolicy {
        SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
            percentage: p,
            duration_secs: 60,
        })
    }

    fn count(c: i64) -> SlaPolicy {
        SlaPolicy::CountSlaPolicy(CountSlaPolicy {
            count: c,
            duration_secs: 60,
        })
    }

    /// A task of a production job, RUNNING since `running_for_secs` ago (None: still STARTING).
    fn task(id: &str, running_for_secs: Option<i64>, tier: &str) -> Task {
        let (status, events) = match running_for_secs {
            Some(secs) => (
                ScheduleStatus::RUNNING,
                vec![TaskEvent {
                    timestamp: NOW - secs * 1_000,
                    status: Some(ScheduleStatus::RUNNING),
                    message: None,
                    scheduler: None,
                }],
            ),
            None => (ScheduleStatus::STARTING, vec![]),
        };
        Task {
            id: id.into(),
            job: JobKey::new("www-data", "prod", "web"),
            instance: 0,
            config: Arc::new(TaskConfig {
                tier: Some(tier.into()),
                ..TaskConfig::default()
            }),
            status,
            events,
            host: Some(0),
            ports: Default::default(),
            failure_count: 0,
            ancestor: None,
            flaps: 0,
            seq: 0,
        }
    }

    fn flags(min_required: i32, kill_non_prod: bool) -> SchedulerFlags {
        SchedulerFlags {
            min_required_instances_for_sla_check: min_required,
            sla_aware_kill_non_prod: kill_non_prod,
            ..SchedulerFlags::default()
        }
    }

    /// Four tasks: the one to drain, and three others running for the given times.
    fn job(others: [Option<i64>; 3], tier: &str) -> Vec<Task> {
        let mut tasks = vec![task("drained", Some(600), tier)];
        for (i, running) in others.into_iter().enumerate() {
            tasks.push(task(&format!("t{i}"), running, tier));
        }
        tasks
    }

    fn allows(policy: &SlaPolicy, tasks: &[Task], flags: &SchedulerFlags) -> bool {
        let active: Vec<&Task> = tasks.iter().collect();
        sla_allows(policy, &tasks[0], &active, flags, NOW)
    }

    #[test]
    fn healthy_means_running_longer_than_the_duration_and_the_drained_task_does_not_count() {
        // §4.8: 75 % of 4 needs 3 healthy others; one has run exactly 60 s, one is starting.
        let f = flags(4, false);
        assert!(allows(
            &percentage(75.0),
            &job([Some(61), Some(61), Some(61)], "preferred"),
            &f
        ));
        assert!(!allows(
            &percentage(75.0),
            &job([Some(61), Some(61), Some(60)], "preferred"),
            &f
        ));
        assert!(!allows(
            &count(3),
            &job([Some(61), Some(61), None], "preferred"),
            &f
        ));
        assert!(allows(
            &count(2),
            &job([Some(61), Some(61), None], "preferred"),
            &f
        ));
    }

    #[test]
    fn a_policy_that_lets_no_instance_down_is_relaxed_to_let_one_down() {
        // §4.8 "relaxed to allow exactly one": 100 % of 4 acts as 75 %, count 4 (or 9) as 3.
        let f = flags(4, false);
        let all_healthy = job([Some(61), Some(61), Some(61)], "preferred");
        let one_unhealthy = job([Some(61), Some(61), None], "preferred");
        for policy in [percentage(100.0), percentage(95.0), count(4), count(9)] {
            assert!(allows(&policy, &all_healthy, &f), "{policy:?}");
            assert!(!allows(&policy, &one_unhealthy, &f), "{policy:?}");
        }
    }

    #[test]
    fn small_jobs_and_non_production_tiers_skip_the_check() {
        // §4.8 skip rules: fewer active tasks than -min_required_instances_for_sla_check, or a
        // non-production tier without -sla_aware_kill_non_prod.
        let none_healthy = job([None, None, None], "preferred");
        assert!(allows(&count(3), &none_healthy, &flags(5, false)));
        assert!(!allows(&count(3), &none_healthy, &flags(4, false)));
        let non_prod = job([None, None, None], "preemptible");
        assert!(allows(&count(3), &non_prod, &flags(4, false)));
        assert!(!allows(&count(3), &non_prod, &flags(4, true)));
    }

    #[test]
    fn requests_expire_after_their_timeout_in_whole_seconds() {
        let request = HostMaintenanceRequest {
            host: Some("h".into()),
            default_sla_policy: None,
            timeout_secs: 30,
            created_timestamp_ms: NOW,
        };
        assert!(!is_expired(&request, NOW + 30_999));
        assert!(is_expired(&request, NOW + 31_000));
        assert_eq!(countdown_ms(&request, NOW + 10_000), 20_000);
    }
}
