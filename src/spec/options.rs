//! The options of a job as a data scientist writes them in YAML (`aurora.scheduler.job`): the
//! job key, scheduling, placement, container, health checking, announcing, SLA. The task itself
//! is in `task_options.rs`, rolling-update settings in `update.rs`.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::limits::MaxTasksPerJob;
use super::task_options::TaskOptions;
use super::update::UpdateOptions;

/// The job to run on Aurora. Either describe it with C(task) and the options next to it, or give
/// a whole Thermos document in C(executor_config).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(extend("x-mutually-exclusive" = [
    ["executor_config", "task"],
    ["executor_config", "service"],
    ["executor_config", "tier"],
    ["executor_config", "priority"],
    ["executor_config", "max_task_failures"],
    ["executor_config", "contact"],
    ["executor_config", "metadata"],
    ["executor_config", "constraints"],
    ["executor_config", "container"],
    ["executor_config", "health_check"],
    ["executor_config", "announce"],
    ["executor_config", "lifecycle"],
    ["executor_config", "sla_policy"],
    ["executor_config", "partition_policy"]
]))]
pub struct JobOptions {
    /// Role that owns the job, usually the Unix user the tasks run as (letters, digits, C(_),
    /// C(-), C(.)).
    pub role: String,
    /// Aurora environment of the job, such as C(prod), C(devel), C(test) or C(staging1); not to be
    /// confused with environment variables.
    pub environment: String,
    /// Name of the job; with C(role) and C(environment) it makes the job key.
    pub name: String,
    /// Number of instances (copies) of the task. Default 1; with C(executor_config) the
    /// document's own C(instances) when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tasks_per_job: Option<MaxTasksPerJob>,
    /// Whether the job is a service, restarted whenever an instance exits; C(false) runs each
    /// instance to completion. Default C(true). Rolling updates need a service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<bool>,
    /// Tier of the job, such as C(preferred) (production, not preemptible) or C(preemptible).
    /// Default is chosen as the Aurora client does: the first non-revocable preemptible tier, else
    /// the scheduler's default tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Preemption priority among the role's jobs of the same tier; higher wins. Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// For jobs that are not services, how many times an instance may fail before the scheduler
    /// gives up on it; -1 means never give up. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_task_failures: Option<i32>,
    /// E-mail address of the job's owner, shown in the scheduler's UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Free-form key/value pairs shown in the scheduler's UI (numbers are turned into text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, TextValue>>,
    /// Placement constraints: host attribute name to C(value), C(v1,v2) (any of), C(!value)
    /// (none of) or C(limit:N) (at most N instances per attribute value). A C(dedicated)
    /// constraint must name the job's role, as in C(www-data/gpu), or C(*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<BTreeMap<String, TextValue>>,
    /// Container the task runs in. Default is a plain Mesos container without an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerOptions>,
    /// How the executor checks that an instance is healthy. Default is an HTTP check of
    /// C(/health) on the port named C(health), when the task has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckOptions>,
    /// Announce instances in ZooKeeper (ServerSet) for service discovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announce: Option<AnnounceOptions>,
    /// Graceful shutdown over HTTP. By default the executor asks an instance to quit through
    /// C(/quitquitquit) then C(/abortabortabort) on the port named C(health), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleOptions>,
    /// How many instances must stay up when the scheduler removes instances for maintenance or
    /// SLA-aware updates: give C(percentage) or C(count) with C(duration_secs), or
    /// C(coordinator_url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla_policy: Option<SlaPolicyOptions>,
    /// What the scheduler does with an instance whose host became unreachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_policy: Option<PartitionPolicyOptions>,
    /// The task each instance runs: its processes and resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskOptions>,
    /// How a change to the job is rolled out to running instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateOptions>,
    /// For teams with C(.aurora) files: a whole Thermos job document (a dict, or its JSON text),
    /// for example from C(aurora job inspect --write-json CLUSTER/ROLE/ENV/NAME FILE). It is used
    /// as is; its C(role), C(environment) and C(name) must match the options of the same names,
    /// and options that the document carries (C(task), C(tier), C(constraints)...) must be set
    /// inside it instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor_config: Option<ExecutorDocument>,
}

/// A text value that may arrive as a YAML number or boolean; kept as text.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct TextValue(pub String);

impl TextValue {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TextValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TextValue {
    fn from(text: &str) -> Self {
        TextValue(text.to_string())
    }
}

impl<'de> Deserialize<'de> for TextValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => Ok(TextValue(s)),
            serde_json::Value::Number(n) => Ok(TextValue(n.to_string())),
            serde_json::Value::Bool(b) => Ok(TextValue(b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected text, a number or a boolean, found {other}"
            ))),
        }
    }
}

/// A whole Thermos job document given in C(executor_config): a JSON object, or its JSON text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ExecutorDocument(pub serde_json::Map<String, serde_json::Value>);

impl<'de> Deserialize<'de> for ExecutorDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => serde_json::from_str(&text)
                .map_err(|e| serde::de::Error::custom(format!("is not a JSON document: {e}")))?,
            other => other,
        };
        match value {
            serde_json::Value::Object(map) => Ok(ExecutorDocument(map)),
            other => Err(serde::de::Error::custom(format!(
                "must be a Thermos job document (a JSON object), found {}",
                json_kind(&other)
            ))),
        }
    }
}

pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a dict",
    }
}

/// The container of the task: give either C(docker) or C(mesos).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(extend("x-mutually-exclusive" = [["docker", "mesos"]]))]
#[schemars(extend("x-required-one-of" = [["docker", "mesos"]]))]
pub struct ContainerOptions {
    /// Run in a Docker container (the scheduler must allow Docker containers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerOptions>,
    /// Run in a Mesos container, optionally from an image and with host volumes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mesos: Option<MesosOptions>,
}

/// A Docker container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct DockerOptions {
    /// Docker image, such as C(python:3.12-slim).
    pub image: String,
    /// Extra C(docker run) parameters, as name/value pairs (the scheduler must allow them).
    #[serde(default)]
    pub parameters: Vec<DockerParameterOptions>,
}

/// One C(docker run) parameter, such as name C(env) and value C(LANG=C.UTF-8).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct DockerParameterOptions {
    /// Parameter name, without the leading dashes.
    pub name: String,
    /// Parameter value.
    pub value: TextValue,
}

/// A Mesos container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct MesosOptions {
    /// Filesystem image of the task; without it the task runs on the host's filesystem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<MesosImageOptions>,
    /// Host paths mounted into the container (the scheduler must allow volumes).
    #[serde(default)]
    pub volumes: Vec<VolumeOptions>,
}

/// An image for a Mesos container: give either C(docker) or C(appc).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(extend("x-mutually-exclusive" = [["docker", "appc"]]))]
#[schemars(extend("x-required-one-of" = [["docker", "appc"]]))]
pub struct MesosImageOptions {
    /// A Docker image by name and tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerImageOptions>,
    /// An AppC image by name and image id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appc: Option<AppcImageOptions>,
}

/// A Docker image for a Mesos container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct DockerImageOptions {
    /// Image name, such as C(library/python).
    pub name: String,
    /// Image tag, such as C(3.12).
    pub tag: TextValue,
}

/// An AppC image for a Mesos container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct AppcImageOptions {
    /// Image name.
    pub name: String,
    /// Image id.
    pub image_id: String,
}

/// A host path mounted into a Mesos container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct VolumeOptions {
    /// Where the volume appears inside the container.
    pub container_path: String,
    /// The path on the host.
    pub host_path: String,
    /// C(RW) for read-write, C(RO) for read-only. Default C(RO).
    #[serde(default)]
    pub mode: VolumeMode,
}

/// Access mode of a volume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum VolumeMode {
    RW,
    #[default]
    RO,
}

/// Health checking by the executor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", default)]
#[schemars(extend("x-mutually-exclusive" = [["http", "shell"]]))]
pub struct HealthCheckOptions {
    /// Check over HTTP (the default kind): the task needs a port named C(health).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpHealthCheckOptions>,
    /// Check by running a shell command; exit status 0 means healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<ShellHealthCheckOptions>,
    /// Seconds to wait after start before failed checks count.
    pub initial_interval_secs: f64,
    /// Seconds between checks.
    pub interval_secs: f64,
    /// Failed checks in a row after which the instance is killed; 0 means the first failure.
    pub max_consecutive_failures: i64,
    /// Successful checks in a row needed before the instance counts as healthy.
    pub min_consecutive_successes: i64,
    /// Seconds a check may take.
    pub timeout_secs: f64,
}

impl Default for HealthCheckOptions {
    fn default() -> Self {
        HealthCheckOptions {
            http: None,
            shell: None,
            initial_interval_secs: 15.0,
            interval_secs: 10.0,
            max_consecutive_failures: 0,
            min_consecutive_successes: 1,
            timeout_secs: 1.0,
        }
    }
}

/// An HTTP health check on the port named C(health).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", default)]
pub struct HttpHealthCheckOptions {
    /// Path requested.
    pub endpoint: String,
    /// Body the answer must have.
    pub expected_response: String,
    /// HTTP status the answer must have; 0 means any, the body is checked instead.
    pub expected_response_code: i64,
}

impl Default for HttpHealthCheckOptions {
    fn default() -> Self {
        HttpHealthCheckOptions {
            endpoint: "/health".into(),
            expected_response: "ok".into(),
            expected_response_code: 0,
        }
    }
}

/// A health check by shell command.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ShellHealthCheckOptions {
    /// Command run by the shell in the task's sandbox.
    pub command: String,
}

/// ServerSet announcement in ZooKeeper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", default)]
pub struct AnnounceOptions {
    /// Name of the port announced as the primary endpoint.
    pub primary_port: String,
    /// Extra endpoints: announced name to a port name of the task, or to a fixed port number
    /// (fixed ports need a C(dedicated) constraint). Default C({aurora: PRIMARY_PORT}).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portmap: Option<BTreeMap<String, TextValue>>,
    /// ZooKeeper path to announce under, when not the cluster's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zk_path: Option<String>,
}

impl Default for AnnounceOptions {
    fn default() -> Self {
        AnnounceOptions {
            primary_port: "http".into(),
            portmap: None,
            zk_path: None,
        }
    }
}

/// Graceful shutdown over HTTP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", default)]
pub struct LifecycleOptions {
    /// Set to C(false) to turn graceful shutdown off: the executor then just kills the
    /// processes. The other lifecycle options must not be given with it.
    pub enabled: bool,
    /// Name of the task's port the shutdown requests go to. Default C(health).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Path asked first, to let the instance finish its work. Default C(/quitquitquit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graceful_shutdown_endpoint: Option<String>,
    /// Path asked next, to make the instance stop now. Default C(/abortabortabort).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_endpoint: Option<String>,
    /// Seconds to wait after the graceful request. Default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graceful_shutdown_wait_secs: Option<i64>,
    /// Seconds to wait after the second request before killing. Default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_wait_secs: Option<i64>,
}

impl Default for LifecycleOptions {
    fn default() -> Self {
        LifecycleOptions {
            enabled: true,
            port: None,
            graceful_shutdown_endpoint: None,
            shutdown_endpoint: None,
            graceful_shutdown_wait_secs: None,
            shutdown_wait_secs: None,
        }
    }
}

/// SLA of the job: exactly one of C(percentage), C(count) or C(coordinator_url).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(extend("x-mutually-exclusive" = [
    ["percentage", "count", "coordinator_url"],
    ["status_key", "percentage"],
    ["status_key", "count"],
    ["duration_secs", "coordinator_url"]
]))]
#[schemars(extend("x-required-one-of" = [["percentage", "count", "coordinator_url"]]))]
pub struct SlaPolicyOptions {
    /// Share of the instances (0-100) that must have been running for C(duration_secs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage: Option<f64>,
    /// Number of instances that must have been running for C(duration_secs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// Seconds an instance must have been running to count, with C(percentage) or C(count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
    /// URL of a coordinator service the scheduler asks before taking an instance down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinator_url: Option<String>,
    /// Boolean key of the coordinator's JSON answer that allows it. Default C(drain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_key: Option<String>,
}

/// Partition policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", default)]
pub struct PartitionPolicyOptions {
    /// Whether to replace an instance whose host is unreachable, after C(delay_secs).
    pub reschedule: bool,
    /// Seconds to wait before replacing it.
    pub delay_secs: i64,
}

impl Default for PartitionPolicyOptions {
    fn default() -> Self {
        PartitionPolicyOptions {
            reschedule: true,
            delay_secs: 0,
        }
    }
}
