//! The options of `host_maintenance` and `Settings`, the same checked once: every invalid
//! combination is refused here, naming the option.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::ansible::Failure;
use crate::api::types::{CountSlaPolicy, PercentageSlaPolicy, SlaPolicy};
use crate::modules::support::connection::ConnectionOptions;

use super::plan::BatchSize;

/// The SLA percentage of `aurora_admin`'s drains (client-reference §5.2, §5.4).
pub const DEFAULT_SLA_PERCENTAGE: f64 = 95.0;
/// The SLA duration of `aurora_admin`'s drains: 30 minutes.
pub const DEFAULT_SLA_DURATION_SECS: u64 = 1800;
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

    #[serde(default)]
    pub state: State,

    /// How C(state=drained) drains.
    #[serde(default)]
    pub drain: Drain,

    /// The SLA of C(drain=sla) for tasks without their own C(sla_policy), and the measure of
    /// the check-mode prediction: C(percentage) or C(count) of instances that must stay up,
    /// for C(duration_secs) seconds. Default C({percentage: 95, duration_secs: 1800}). Not
    /// accepted with C(drain=force), which ignores SLAs.
    pub sla_policy: Option<SlaPolicyOption>,

    /// Seconds after which the scheduler drains a host of C(drain=sla) regardless of SLAs.
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

    /// Hosts drained at a time (C(state=drained)); every host at once when neither this nor
    /// C(batch_percentage) nor C(group_by) is set. Exclusive with C(batch_percentage).
    pub batch_size: Option<u64>,

    /// Hosts drained at a time, as a percentage of C(hosts), rounded up. Exclusive with
    /// C(batch_size).
    pub batch_percentage: Option<f64>,

    /// A host attribute, for example C(rack), so that one failure domain drains at a time: a
    /// batch never mixes hosts of different values; without a batch size, one batch per value.
    pub group_by: Option<String>,
}

fn default_true() -> bool {
    true
}

fn default_wait_timeout() -> u64 {
    DEFAULT_WAIT_TIMEOUT_SECS
}

/// The wanted maintenance state of the hosts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Marked for maintenance (mode SCHEDULED): the scheduler places new tasks elsewhere when
    /// it can; running tasks stay.
    Scheduled,
    /// Every task gone: marked for maintenance, drained, and waited for until DRAINED.
    #[default]
    Drained,
    /// Maintenance ended: back in service, waited for until NONE.
    Active,
}

/// How hosts are drained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Drain {
    /// The scheduler's C(slaDrainHosts): a task goes only while its job's SLA (its own, else
    /// C(sla_policy)) holds, until C(sla_timeout), after which the drain is forced.
    #[default]
    Sla,
    /// The scheduler's C(drainHosts): every task is moved at once.
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

        let batch_size = match (o.batch_size, o.batch_percentage) {
            (Some(_), Some(_)) => {
                return fail(
                    "batch_size and batch_percentage are mutually exclusive: give one of them"
                        .into(),
                )
            }
            (Some(0), None) => return fail("batch_size: must be at least 1 host".into()),
            (Some(n), None) => BatchSize::Count(usize::try_from(n).unwrap_or(usize::MAX)),
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
        })
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
        let mut args = json!({"scheduler_url": "http://127.0.0.1:9", "hosts": ["b", "a", "b"]});
        if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
            args.extend(extra.clone());
        }
        let options: Options = serde_json::from_value(args).map_err(|e| e.to_string())?;
        Settings::from_options(&options).map_err(|f| f.msg().to_string())
    }

    #[test]
    fn defaults_are_a_sla_drain_of_95_percent_over_30_minutes_forced_after_7_days() {
        let s = settings(json!({})).unwrap();
        assert_eq!(s.hosts, vec!["a", "b"]);
        assert_eq!(s.state, State::Drained);
        assert_eq!(s.drain, Drain::Sla);
        assert_eq!(
            s.sla_policy,
            SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
                percentage: 95.0,
                duration_secs: 1800
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
