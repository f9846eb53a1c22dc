//! What a data scientist asks for: *what* to run (a service, a cron job or a batch framework),
//! by name, version and command, with a few optional choices. The profile decides the rest.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::profile::Override;
use crate::spec::options::{ContainerOptions, HealthCheckOptions, SlaPolicyOptions, TextValue};
use crate::spec::task_options::{LoggerOptions, ResourcesOptions};
use crate::spec::update::UpdateOptions;

/// The kind of workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A long-running service (for example a Python microservice) listening on the profile's
    /// port: one job.
    Service,
    /// A job run on a schedule: one cron job.
    Cron,
    /// A master job and a worker job that belong together: C(NAME-master), a service, and
    /// C(NAME-worker), whose instances are told where the master is announced.
    BatchFramework,
}

/// Whether the workload should run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Running as asked: created, or updated by a rolling update when it differs.
    #[default]
    Present,
    /// Removed: every job of the workload killed (a cron job descheduled).
    Absent,
}

/// A batch framework's number of workers: fixed, or C(auto), left to the fair-share allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Workers {
    Count(i32),
    #[schemars(with = "AutoWord")]
    Auto,
}

/// The word C(auto).
#[derive(JsonSchema)]
#[allow(dead_code)]
enum AutoWord {
    #[serde(rename = "auto")]
    Auto,
}

impl<'de> Deserialize<'de> for Workers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) if s == "auto" => Ok(Workers::Auto),
            serde_json::Value::String(s) => s.trim().parse().map(Workers::Count).map_err(|_| {
                serde::de::Error::custom(format!("{s:?} is neither a number nor auto"))
            }),
            serde_json::Value::Number(n) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Workers::Count)
                .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number"))),
            other => Err(serde::de::Error::custom(format!(
                "expected a number or auto, found {other}"
            ))),
        }
    }
}

impl fmt::Display for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workers::Count(n) => write!(f, "{n}"),
            Workers::Auto => f.write_str("auto"),
        }
    }
}

/// What the data scientist asks for.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct Request {
    /// What kind of workload this is.
    pub kind: Kind,
    /// Whether it should run (C(present)) or be removed (C(absent)).
    #[serde(default)]
    pub state: State,
    /// The team, which is the Aurora role that owns the jobs.
    pub team: String,
    /// The environment, one of the profile's C(environments).
    pub environment: String,
    /// Name of the workload (the job name; a batch framework's jobs are C(NAME-master) and
    /// C(NAME-worker)).
    pub name: String,
    /// Version of the software, stamped as metadata and used for the container image's tag.
    /// Required with C(state=present).
    pub version: Option<TextValue>,
    /// Shell command of a service or cron job. A service's command listens on the profile's
    /// port, written C(%{thermos.ports[http]}).
    pub command: Option<String>,
    /// Instead of C(command): a Python entry point (module) run with the profile's entry point
    /// command.
    pub entry_point: Option<String>,
    /// Instances of a service (or of a cron job's runs). Left out, a service starts with the
    /// environment's count and then keeps whatever count it runs with, so that a re-run never
    /// undoes a count the platform set.
    pub instances: Option<i32>,
    /// Size class, one of the profile's C(sizes). Default the profile's C(default_size).
    pub size: Option<String>,
    /// When a cron job runs: five crontab fields, in UTC.
    pub schedule: Option<String>,
    /// Batch framework: shell command of the master (listening on the profile's port).
    pub master_command: Option<String>,
    /// Batch framework: Python entry point of the master, instead of C(master_command).
    pub master_entry_point: Option<String>,
    /// Batch framework: shell command of each worker. Workers find their master through the
    /// environment variables C(AURORA_MASTER_JOB) (C(ROLE/ENV/NAME)), C(AURORA_MASTER_SERVERSET)
    /// (the ZooKeeper path where Aurora's announcer registers the master) and, when C(zookeeper) or
    /// the profile names the ensemble, C(AURORA_MASTER_ZOOKEEPER).
    pub worker_command: Option<String>,
    /// Batch framework: Python entry point of each worker, instead of C(worker_command).
    pub worker_entry_point: Option<String>,
    /// Batch framework: the number of workers, or C(auto) to leave it to the fair-share
    /// allocator (the framework starts with the profile's C(batch.initial_workers), and re-runs
    /// keep the count the allocator set).
    pub workers: Option<Workers>,
    /// Batch framework: the ZooKeeper ensemble (C(host:port,...)) the executors announce the
    /// master in, told to the workers as C(AURORA_MASTER_ZOOKEEPER). Default the profile's
    /// C(services.zookeeper).
    pub zookeeper: Option<String>,
    /// Batch framework: size class of the master. Default the profile's C(batch.master_size).
    pub master_size: Option<String>,
    /// Batch framework: size class of the workers. Default the profile's C(batch.worker_size).
    pub worker_size: Option<String>,
    /// Project the workload belongs to, stamped as metadata. Default the team.
    pub project: Option<String>,
    /// Source repository of the software, stamped as metadata.
    pub source_repository: Option<String>,
    /// Source commit of the software, stamped as metadata.
    pub source_commit: Option<TextValue>,
    /// Changes to what the profile decides, each allowed only when the profile's
    /// C(allowed_overrides) (or the environment's) lists it.
    #[serde(default)]
    pub overrides: Overrides,
}

/// What a data scientist may ask to change, where the profile allows it.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Resources of each instance instead of a size class.
    pub resources: Option<ResourcesOptions>,
    /// Rolling-update settings instead of the environment's.
    pub update: Option<UpdateOptions>,
    /// Health check instead of the profile's.
    pub health_check: Option<HealthCheckOptions>,
    /// Placement constraints added to the profile's.
    pub constraints: Option<BTreeMap<String, TextValue>>,
    /// Metadata added to the stamped metadata (stamped keys cannot be replaced).
    pub metadata: Option<BTreeMap<String, TextValue>>,
    /// Tier instead of the environment's.
    pub tier: Option<String>,
    /// SLA policy instead of the environment's.
    pub sla_policy: Option<SlaPolicyOptions>,
    /// Preemption priority among the team's jobs.
    pub priority: Option<i32>,
    /// Container instead of the profile's image convention.
    pub container: Option<ContainerOptions>,
    /// Logging of every process instead of the profile's.
    pub logging: Option<LoggerOptions>,
    /// Failures tolerated per instance of a cron job.
    pub max_task_failures: Option<i32>,
}

impl Overrides {
    /// The overrides that were given.
    pub fn given(&self) -> Vec<Override> {
        [
            (Override::Resources, self.resources.is_some()),
            (Override::Update, self.update.is_some()),
            (Override::HealthCheck, self.health_check.is_some()),
            (Override::Constraints, self.constraints.is_some()),
            (Override::Metadata, self.metadata.is_some()),
            (Override::Tier, self.tier.is_some()),
            (Override::SlaPolicy, self.sla_policy.is_some()),
            (Override::Priority, self.priority.is_some()),
            (Override::Container, self.container.is_some()),
            (Override::Logging, self.logging.is_some()),
            (Override::MaxTaskFailures, self.max_task_failures.is_some()),
        ]
        .into_iter()
        .filter_map(|(which, given)| given.then_some(which))
        .collect()
    }

    /// Leaves one override out.
    pub fn clear(&mut self, which: Override) {
        match which {
            Override::Resources => self.resources = None,
            Override::Update => self.update = None,
            Override::HealthCheck => self.health_check = None,
            Override::Constraints => self.constraints = None,
            Override::Metadata => self.metadata = None,
            Override::Tier => self.tier = None,
            Override::SlaPolicy => self.sla_policy = None,
            Override::Priority => self.priority = None,
            Override::Container => self.container = None,
            Override::Logging => self.logging = None,
            Override::MaxTaskFailures => self.max_task_failures = None,
        }
    }
}
