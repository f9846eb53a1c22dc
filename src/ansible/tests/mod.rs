//! Tests of the protocol layer on test modules that use every schema shape the validator and
//! the docs renderer know.

mod conversions;
mod docs;
mod protocol;
mod validation;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use super::*;

/// Connection options, flattened into the module's options as the real modules do.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(extend(
    "x-mutually-exclusive-connection" = [["scheduler_url", "cluster"]],
    "x-required-one-of-connection" = [["scheduler_url", "cluster"]]
))]
pub struct Connection {
    /// Base URL of the scheduler, e.g. V(http://127.0.0.1:8081).
    #[schemars(extend("x-env" = "TEST_SCHEDULER_URL"))]
    pub scheduler_url: Option<String>,
    /// A cluster name from C(clusters.json).
    pub cluster: Option<String>,
    /// Password for HTTP basic authentication.
    #[schemars(extend("x-env" = "TEST_PASSWORD", "x-secret" = true))]
    pub password: Option<String>,
    /// Verify the scheduler's TLS certificate.
    #[serde(default = "yes")]
    pub validate_certs: bool,
}

fn yes() -> bool {
    true
}

/// Whether the job should exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The job runs.
    #[default]
    Present,
    /// The job is killed.
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Preemptible,
    Preferred,
}

/// A byte size as the job model reads it: bytes, or a string with MiB or GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bytes(pub u64);

impl JsonSchema for Bytes {
    fn schema_name() -> Cow<'static, str> {
        "Bytes".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["integer", "string"], "format": "bytes"})
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Text(String),
        }
        let unit = |text: &str, suffix: &str, factor: u64| {
            text.strip_suffix(suffix)
                .and_then(|n| n.trim().parse::<u64>().ok())
                .map(|n| Bytes(n * factor))
        };
        match Raw::deserialize(deserializer)? {
            Raw::Count(n) => Ok(Bytes(n)),
            Raw::Text(text) => unit(&text, "MiB", 1 << 20)
                .or_else(|| unit(&text, "GiB", 1 << 30))
                .ok_or_else(|| {
                    serde::de::Error::custom(format!("{text:?} is not a size such as 512MiB"))
                }),
        }
    }
}

/// Resources of each instance.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU cores.
    pub cpu: f64,
    /// Memory.
    pub ram: Bytes,
    /// Disk space.
    pub disk: Option<Bytes>,
}

/// One process of the task.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Process {
    /// Process name.
    pub name: String,
    /// Command line, run by a shell.
    pub cmdline: String,
    /// Restart it when it exits.
    #[serde(default)]
    pub daemon: bool,
}

/// Credentials of a docker registry.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Registry {
    /// Registry user.
    pub username: String,
    /// Registry password.
    #[schemars(extend("x-secret" = true))]
    pub password: String,
}

/// The container the task runs in.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Container {
    /// A Docker container.
    Docker {
        /// Image name.
        image: String,
        /// Registry login.
        registry: Option<Registry>,
    },
    /// The Mesos containerizer.
    Mesos {
        /// Image name.
        image: String,
    },
}

/// Process order: one chain, or several chains.
#[derive(Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Ordering {
    Chain(Vec<String>),
    Chains(Vec<Vec<String>>),
}

/// What the test module does, to drive the protocol tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Behavior {
    Panic,
    Fail,
    Warn,
}

/// The options of the test module.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(extend("x-required-together" = [["tier", "priority"]]))]
pub struct DeployOptions {
    #[serde(flatten)]
    pub connection: Connection,
    /// Job name.
    ///
    /// Letters, digits, C(-) and C(_).
    pub name: String,
    #[serde(default)]
    pub state: State,
    /// Scheduling tier.
    pub tier: Option<Tier>,
    /// Priority within the tier.
    pub priority: Option<i32>,
    /// Number of instances.
    #[serde(default = "one")]
    pub instances: u32,
    /// Seconds to wait for each call.
    #[serde(default = "thirty")]
    pub timeout: f64,
    /// Wait until the instances run.
    #[serde(default)]
    pub wait: bool,
    /// Free labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Metadata key and value pairs.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// CA certificates file.
    #[schemars(extend("format" = "path"))]
    pub ca_path: Option<String>,
    pub resources: Option<Resources>,
    /// The processes to run.
    #[serde(default)]
    pub processes: Vec<Process>,
    pub container: Option<Container>,
    pub ordering: Option<Ordering>,
    /// Test behaviour.
    pub behavior: Option<Behavior>,
}

fn one() -> u32 {
    1
}

fn thirty() -> f64 {
    30.0
}

/// A module with every kind of option, doing nothing but reporting.
pub struct Deploy;

impl Module for Deploy {
    const NAME: &'static str = "deploy";
    type Options = DeployOptions;

    fn documentation() -> Documentation {
        Documentation::new("Deploy a test job")
            .description("Creates or kills a job.")
            .description("Used by the protocol's tests only.")
            .note("Talks to nothing.")
            .examples("- name: Deploy\n  aurora.scheduler.deploy:\n    name: web\n    instances: 2\n")
            .returns("instances:\n  description: Instances asked for.\n  returned: always\n  type: int\n  sample: 2\n")
            .diff_mode(Support::Partial("Only the state is compared.".into()))
    }

    fn run(options: DeployOptions, ctx: &mut Context) -> Result<Outcome, Failure> {
        let password = options.connection.password.clone().unwrap_or_default();
        match options.behavior {
            Some(Behavior::Panic) => panic!("the test module panics on purpose"),
            Some(Behavior::Fail) => {
                return Err(
                    Failure::new(format!("login with password {password} refused"))
                        .field("status", 401),
                );
            }
            Some(Behavior::Warn) => ctx.warn(format!("careful with {}", options.name)),
            None => {}
        }
        let changed = options.state == State::Present && !ctx.check_mode;
        let typed = serde_json::to_value(&options)?;
        Ok(Outcome::changed(changed)
            .msg(format!(
                "{} has {} instances",
                options.name, options.instances
            ))
            .field("instances", options.instances)
            .field("echo_password", password)
            .field("options", typed)
            .diff(json!({"state": "absent"}), json!({"state": "present"})))
    }
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct NoOptions {}

/// A module that cannot run in check mode.
pub struct Restart;

impl Module for Restart {
    const NAME: &'static str = "restart";
    type Options = NoOptions;

    fn documentation() -> Documentation {
        Documentation::new("Restart everything").check_mode(Support::None)
    }

    fn run(_: NoOptions, _: &mut Context) -> Result<Outcome, Failure> {
        Ok(Outcome::changed(true))
    }
}

pub const TEST_MODULES: &[&dyn AnyModule] = &[&Deploy, &Restart];

/// An environment with only these variables.
pub fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// Checks options of the deploy module in an environment without variables.
pub fn check(params: Value) -> Validation {
    check_in(params, &[])
}

pub fn check_in(params: Value, env: &'static [(&'static str, &'static str)]) -> Validation {
    let schema = Deploy.schema();
    let params: Map<String, Value> = serde_json::from_value(params).expect("options are an object");
    validate_options(&schema, &params, "aurora.scheduler.deploy", &env_of(env))
}

/// The minimal valid options.
pub fn minimal() -> Value {
    json!({"name": "web", "cluster": "devcluster"})
}

/// `minimal()` with more options.
pub fn with(extra: Value) -> Value {
    let mut params = minimal();
    if let (Some(params), Value::Object(extra)) = (params.as_object_mut(), extra) {
        params.extend(extra);
    }
    params
}

/// Writes an arguments file as ansible-core does and returns its path (kept with the dir).
pub fn args_file(dir: &Path, args: &Value) -> PathBuf {
    let path = dir.join("args");
    std::fs::write(&path, serde_json::to_string(args).expect("JSON")).expect("write args");
    path
}
