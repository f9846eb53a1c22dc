//! The options of `host_maintenance` and `Settings`, the same checked once: every invalid
//! combination is refused here, naming the option.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::ansible::Failure;
use crate::api::types::{CountSlaPolicy, JobKey, PercentageSlaPolicy, SlaPolicy};
use crate::modules::support::connection::ConnectionOptions;

use super::plan::BatchSize;

/// The SLA percentage of `aurora_admin`'s drains (client-reference §5.2, §5.4).
pub const DEFAULT_SLA_PERCENTAGE: f64 = 95.0;
/// How long an instance must have been RUNNING to count as up, unless its job's own SLA says
/// otherwise: a minute, after the health checks that come before RUNNING. (`aurora_admin`'s 30
/// minutes paced a 3-instance service at half an hour per instance.)
pub const DEFAULT_SLA_DURATION_SECS: u64 = 60;
/// `aurora_admin sla_host_drain`'s force timeout: 7 days (client-reference §5.4).
pub const DEFAULT_SLA_TIMEOUT_SECS: u64 = 7 * 24 * 3600;
pub const DEFAULT_WAIT_TIMEOUT_SECS: u64 = 3600;

/// Options of `aurora.scheduler.host_maintenance`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    /// The agent hosts, as the agents name themselves. A name the scheduler does not know fails
    /// the task (the scheduler would silently ignore it).
    pub hosts: Vec<String>,

    pub state: State,

    /// How C(state=drained) drains.
    #[serde(default)]
    pub drain: Drain,

    /// The SLA of C(drain=sla) for jobs without their own C(sla_policy): C(percentage) or
    /// C(count) of a job's instances that stay up, an instance counting as up once RUNNING for
    /// C(duration_secs) seconds. Default C({percentage: 95, duration_secs: 60}), which, read as
    /// Aurora reads it (a policy that lets no instance go down is relaxed to one), keeps N-1 of
    /// N instances up for jobs of up to 20 instances and 95% above. It applies to every job,
    /// whatever its size or tier (the scheduler itself checks only production jobs of 20
    /// instances or more). The only instance of a service is never stopped: it gets an extra
    /// instance first (see C(allow_downtime)). Not accepted with C(drain=force).
    pub sla_policy: Option<SlaPolicyOption>,

    /// Jobs (C(role/environment/name)) whose instances may all go down while their hosts drain:
    /// they are neither held to an SLA nor given an extra instance. A job whose metadata says
    /// C(single_copy=true) (a batch framework's master) cannot run an extra instance, so a drain
    /// of its host is refused unless the job is listed here.
    #[serde(default)]
    pub allow_downtime: Vec<String>,

    /// Seconds after which the scheduler drains regardless of SLAs the tasks whose jobs have a
    /// coordinator SLA (C(drain=sla) hands their hosts to the scheduler's C(slaDrainHosts)).
    /// Default 604800 (7 days, as C(aurora_admin sla_host_drain)). Not accepted with
    /// C(drain=force).
    pub sla_timeout: Option<u64>,

    /// Whether to wait until the hosts reach the wanted mode. With C(wait=false),
    /// C(state=drained) asks for the drain of the next batch only; re-run to go on.
    #[serde(default = "default_true")]
    pub wait: bool,

    /// Seconds to wait in all, every batch included; on timeout the task fails saying which
    /// jobs and instances still hold each host.
    #[serde(default = "default_wait_timeout")]
    pub wait_timeout: u64,

    /// Hosts drained at a time (C(state=drained)): C(auto) (the default) plans the largest
    /// batches in which no job loses more instances than its SLA allows; a number caps batches
    /// at that many hosts, still split where a job would lose too many. With C(drain=force),
    /// C(auto) drains every host (of a C(group_by) group) at once. Exclusive with
    /// C(batch_percentage).
    pub batch_size: Option<serde_json::Value>,

    /// Hosts drained at a time at most, as a percentage of C(hosts), rounded up. Exclusive with
    /// C(batch_size).
    pub batch_percentage: Option<f64>,

    /// A host attribute, for example C(rack), so that one failure domain drains at a time: a
    /// batch never mixes hosts of different values.
    pub group_by: Option<String>,
}

fn default_true() -> bool {
    true
}

fn default_wait_timeout() -> u64 {
    DEFAULT_WAIT_TIMEOUT_SECS
}

/// The wanted maintenance state of the hosts.
/// Required: a drain is never the silent default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Marked for maintenance (mode SCHEDULED): the scheduler places new tasks elsewhere when
    /// it can; running tasks stay.
    Scheduled,
    /// Every task gone: marked for maintenance, drained batch by batch, and waited for until
    /// DRAINED.
    Drained,
    /// Maintenance ended: back in service, waited for until NONE.
    Active,
}

/// How hosts are drained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Drain {
    /// Every job kept to its SLA (its own, else C(sla_policy)): the module plans which hosts
    /// go down together, waits before each batch until the instances moved by the last one are
    /// up elsewhere, starts an extra instance first for a service that would lose its only
    /// one, and refuses an unsafe plan before draining anything. Each batch is then drained with
    /// the scheduler's C(drainHosts), as C(aurora_admin host_drain) does after its own SLA check,
    /// or with C(slaDrainHosts) when a task on it has a coordinator SLA, so that its coordinator
    /// is asked.
    #[default]
    Sla,
    /// The scheduler's C(drainHosts) on each batch as sized, whatever the jobs' SLAs: every
    /// task is moved at once. The explicit way to ignore SLAs.
    Force,
}

/// An SLA: C(percentage) or C(count), and C(duration_secs).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyOption {
    /// Share of the job's instances, in (0, 100], that must have run for C(duration_secs).
    pub percentage: Option<f64>,
    /// Number of the job's instances that must have run for C(duration_secs).
    pub count: Option<i64>,
    /// Seconds an instance must have been running to count as up.
    #[serde(default = "default_duration")]
    pub duration_secs: u64,
}

fn default_duration() -> u64 {
    DEFAULT_SLA_DURATION_SECS
}

/// The options, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Sorted, each once.
    pub hosts: Vec<String>,
    pub state: State,
    pub drain: Drain,
    pub sla_policy: SlaPolicy,
    pub sla_timeout_secs: i64,
    pub wait: bool,
    pub wait_timeout: u64,
    pub batch_size: BatchSize,
    pub group_by: Option<String>,
    /// `role/environment/name` of each job in `allow_downtime`.
    pub allow_downtime: BTreeSet<String>,
}

impl Settings {
    pub fn from_options(o: &Options) -> Result<Settings, Failure> {
        let fail = |msg: String| Err(Failure::new(msg));
        if o.hosts.is_empty() {
            return fail("hosts: give at least one host name".into());
        }
        if let Some(bad) = o
            .hosts
            .iter()
            .find(|h| h.trim().is_empty() || h.trim() != *h)
        {
            return fail(format!(
                "hosts: {bad:?} is not a host name; give the names the agents report"
            ));
        }
        let mut hosts = o.hosts.clone();
        hosts.sort();
        hosts.dedup();

        let batch_size = match (batch_count(o.batch_size.as_ref())?, o.batch_percentage) {
            (Some(_), Some(_)) => {
                return fail(
                    "batch_size and batch_percentage are mutually exclusive: give one of them"
                        .into(),
                )
            }
            (Some(n), None) => BatchSize::Count(n),
            (None, Some(p)) if !(p > 0.0 && p <= 100.0) => {
                return fail(format!(
                    "batch_percentage: {p} is not a percentage in (0, 100]"
                ))
            }
            (None, Some(p)) => BatchSize::Percentage(p),
            (None, None) => BatchSize::All,
        };
        if o.group_by.as_deref().is_some_and(|g| g.trim().is_empty()) {
            return fail("group_by: give a host attribute name, for example rack".into());
        }

        if o.drain == Drain::Force {
            // A forced drain moves every task at once: an SLA given with it would be ignored.
            let given = [
                ("sla_policy", o.sla_policy.is_some()),
                ("sla_timeout", o.sla_timeout.is_some()),
            ];
            if let Some((option, _)) = given.iter().find(|(_, set)| *set) {
                return fail(format!(
                    "{option}: applies to drain=sla only; drain=force moves every task at once, \
                     whatever the jobs' SLAs; remove {option} or drain with drain=sla"
                ));
            }
        }
        if o.drain == Drain::Force && !o.allow_downtime.is_empty() {
            return fail(
                "allow_downtime: applies to drain=sla only; drain=force already lets every job \
                 go down; remove allow_downtime or drain with drain=sla"
                    .into(),
            );
        }
        let mut allow_downtime = BTreeSet::new();
        for job in &o.allow_downtime {
            let key = JobKey::parse(job).map_err(|_| {
                Failure::new(format!(
                    "allow_downtime: {job:?} is not a job key; give role/environment/name"
                ))
            })?;
            allow_downtime.insert(key.to_string());
        }
        let sla_policy = sla_policy(o.sla_policy.as_ref())?;
        let sla_timeout = o.sla_timeout.unwrap_or(DEFAULT_SLA_TIMEOUT_SECS);
        let sla_timeout_secs = i64::try_from(sla_timeout)
            .map_err(|_| Failure::new(format!("sla_timeout: {sla_timeout} is too large")))?;
        Ok(Settings {
            hosts,
            state: o.state,
            drain: o.drain,
            sla_policy,
            sla_timeout_secs,
            wait: o.wait,
            wait_timeout: o.wait_timeout,
            batch_size,
            group_by: o.group_by.clone(),
            allow_downtime,
        })
    }
}

/// `batch_size`: `None` for C(auto) or no value, else a number of hosts of at least one.
fn batch_count(value: Option<&serde_json::Value>) -> Result<Option<usize>, Failure> {
    let bad = |v: &serde_json::Value| {
        Failure::new(format!(
            "batch_size: {v} is neither auto nor a number of hosts of at least 1"
        ))
    };
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s == "auto" => Ok(None),
        Some(v @ serde_json::Value::String(s)) => match s.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(bad(v)),
        },
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            _ => Err(bad(v)),
        },
    }
}

fn sla_policy(option: Option<&SlaPolicyOption>) -> Result<SlaPolicy, Failure> {
    let (percentage, count, duration) = match option {
        None => (None, None, DEFAULT_SLA_DURATION_SECS),
        Some(o) => (o.percentage, o.count, o.duration_secs),
    };
    let duration_secs = i64::try_from(duration)
        .map_err(|_| Failure::new(format!("sla_policy.duration_secs: {duration} is too large")))?;
    match (percentage, count) {
        (Some(_), Some(_)) => Err(Failure::new(
            "sla_policy: give either percentage or count, not both",
        )),
        (Some(p), None) if !(p > 0.0 && p <= 100.0) => Err(Failure::new(format!(
            "sla_policy.percentage: {p} is not a percentage in (0, 100]"
        ))),
        (None, Some(c)) if c < 1 => Err(Failure::new(format!(
            "sla_policy.count: {c} must be at least 1 instance"
        ))),
        (None, Some(count)) => Ok(SlaPolicy::CountSlaPolicy(CountSlaPolicy {
            count,
            duration_secs,
        })),
        (p, None) => Ok(SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
            percentage: p.unwrap_or(DEFAULT_SLA_PERCENTAGE),
            duration_secs,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(extra: serde_json::Value) -> Result<Settings, String> {
        let mut args = json!({"scheduler_url": "http://127.0.0.1:9", "hosts": ["b", "a", "b"], "state": "drained"});
        if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
            args.extend(extra.clone());
        }
        let options: Options = serde_json::from_value(args).map_err(|e| e.to_string())?;
        Settings::from_options(&options).map_err(|f| f.msg().to_string())
    }

    #[test]
    fn defaults_are_a_planned_sla_drain_of_95_percent_over_a_minute() {
        let s = settings(json!({})).unwrap();
        assert_eq!(s.hosts, vec!["a", "b"]);
        assert_eq!(s.state, State::Drained);
        assert_eq!(s.drain, Drain::Sla);
        assert_eq!(
            s.sla_policy,
            SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
                percentage: 95.0,
                duration_secs: 60
            })
        );
        assert_eq!(s.sla_timeout_secs, 604_800);
        assert_eq!(s.batch_size, BatchSize::All);
        assert!(s.wait);
        assert_eq!(s.wait_timeout, 3600);
    }

    #[test]
    fn invalid_combinations_fail_naming_the_option() {
        for (extra, expected) in [
            (json!({"hosts": []}), "hosts:"),
            (json!({"hosts": [" "]}), "hosts:"),
            (
                json!({"batch_size": 2, "batch_percentage": 10.0}),
                "batch_size and batch_percentage",
            ),
            (json!({"batch_size": 0}), "batch_size:"),
            (json!({"batch_size": "most"}), "batch_size:"),
            (json!({"batch_size": -1}), "batch_size:"),
            (json!({"allow_downtime": ["web"]}), "allow_downtime:"),
            (
                json!({"drain": "force", "allow_downtime": ["a/prod/web"]}),
                "allow_downtime:",
            ),
            (json!({"batch_percentage": 0.0}), "batch_percentage:"),
            (json!({"batch_percentage": 100.5}), "batch_percentage:"),
            (
                json!({"sla_policy": {"percentage": 0.0}}),
                "sla_policy.percentage:",
            ),
            (
                json!({"sla_policy": {"percentage": 101.0}}),
                "sla_policy.percentage:",
            ),
            (json!({"sla_policy": {"count": 0}}), "sla_policy.count:"),
            (
                json!({"sla_policy": {"count": 1, "percentage": 50.0}}),
                "sla_policy:",
            ),
            (json!({"group_by": ""}), "group_by:"),
        ] {
            let error = settings(extra.clone()).unwrap_err();
            assert!(error.starts_with(expected), "{extra}: {error}");
        }
    }

    #[test]
    fn batch_size_is_auto_or_a_number_of_hosts() {
        for (given, expected) in [
            (json!("auto"), BatchSize::All),
            (json!(3), BatchSize::Count(3)),
            (json!("2"), BatchSize::Count(2)),
        ] {
            assert_eq!(
                settings(json!({"batch_size": given})).unwrap().batch_size,
                expected
            );
        }
    }

    #[test]
    fn state_is_required() {
        let options: Result<Options, _> =
            serde_json::from_value(json!({"scheduler_url": "http://127.0.0.1:9", "hosts": ["a"]}));
        assert!(options.unwrap_err().to_string().contains("state"));
    }

    #[test]
    fn a_count_policy_keeps_its_duration() {
        let s = settings(json!({"sla_policy": {"count": 3, "duration_secs": 60}})).unwrap();
        assert_eq!(
            s.sla_policy,
            SlaPolicy::CountSlaPolicy(CountSlaPolicy {
                count: 3,
                duration_secs: 60
            })
        );
    }
}
