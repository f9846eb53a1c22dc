//! The options of the task every instance runs: processes, their order, resources and limits
//! (the Thermos `Task`, client-reference §1.8.2).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::size::Size;

/// The task: one or more processes sharing the instance's resources and sandbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskOptions {
    /// Name of the task. Default is the name of the first process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The processes to run, in the task's sandbox.
    pub processes: Vec<ProcessOptions>,
    /// Order in which processes run: a list of process names (each starts after the previous
    /// one finished successfully), or a list of such lists for several independent chains. By
    /// default all processes start at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<Ordering>,
    /// Resources reserved for each instance.
    pub resources: ResourcesOptions,
    /// Seconds processes get to stop after the task is asked to finish, before they are killed.
    #[serde(default = "default_finalization_wait")]
    pub finalization_wait: i64,
    /// Most processes running at once; 0 means no limit.
    #[serde(default)]
    pub max_concurrency: i64,
    /// Failed processes after which the whole task fails.
    #[serde(default = "one")]
    pub max_failures: i64,
    /// Unix user the processes run as, when not the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions {
            name: None,
            processes: Vec::new(),
            ordering: None,
            resources: ResourcesOptions::default(),
            finalization_wait: default_finalization_wait(),
            max_concurrency: 0,
            max_failures: 1,
            user: None,
        }
    }
}

fn default_finalization_wait() -> i64 {
    30
}

fn one() -> i64 {
    1
}

fn five() -> i64 {
    5
}

/// Process ordering: one chain of names, or several chains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Ordering {
    /// One chain: each process starts after the previous one finished.
    Chain(Vec<String>),
    /// Several independent chains.
    Chains(Vec<Vec<String>>),
}

impl Ordering {
    /// The chains, one list of names each.
    pub fn chains(&self) -> Vec<Vec<String>> {
        match self {
            Ordering::Chain(names) => vec![names.clone()],
            Ordering::Chains(chains) => chains.clone(),
        }
    }
}

/// One process of the task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ProcessOptions {
    /// Name of the process, unique in the task; it must not start with C(.) nor contain C(/).
    pub name: String,
    /// Command line, run by bash. Write Aurora's port and instance references as
    /// C(%{thermos.ports[http]}) or C(%{mesos.instance}) (or as C({{thermos.ports[http]}})
    /// marked C(!unsafe)); C({{role}}), C({{name}}) and other fields of the job are filled in.
    pub cmdline: String,
    /// Times the process is restarted after failing before it counts as failed; 0 means always.
    #[serde(default = "one")]
    pub max_failures: i64,
    /// Whether the process is restarted even after a successful exit.
    #[serde(default)]
    pub daemon: bool,
    /// Whether the task may finish while this process still runs.
    #[serde(default)]
    pub ephemeral: bool,
    /// Minimum seconds between two starts of the process.
    #[serde(default = "five")]
    pub min_duration: i64,
    /// Whether this is a cleanup process, run after the others finished or were stopped.
    #[serde(default, rename = "final")]
    pub is_final: bool,
    /// Where the process's stdout and stderr go. Default is files in the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<LoggerOptions>,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            name: String::new(),
            cmdline: String::new(),
            max_failures: 1,
            daemon: false,
            ephemeral: false,
            min_duration: 5,
            is_final: false,
            logger: None,
        }
    }
}

/// Logging of a process's output.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", default)]
pub struct LoggerOptions {
    /// Where output goes.
    pub destination: LogDestination,
    /// Whether log files are rotated (C(rotate)) or grow (C(standard)).
    pub mode: LogMode,
    /// Rotation settings, with C(mode=rotate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate: Option<RotateOptions>,
}

/// Destination of process output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogDestination {
    #[default]
    File,
    Console,
    Both,
    None,
}

impl LogDestination {
    pub fn as_str(self) -> &'static str {
        match self {
            LogDestination::File => "file",
            LogDestination::Console => "console",
            LogDestination::Both => "both",
            LogDestination::None => "none",
        }
    }
}

/// Log file handling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogMode {
    #[default]
    Standard,
    Rotate,
}

impl LogMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LogMode::Standard => "standard",
            LogMode::Rotate => "rotate",
        }
    }
}

/// Log rotation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", default)]
pub struct RotateOptions {
    /// Size at which a log file is rotated: bytes, or text such as C(100MiB).
    pub log_size: Size,
    /// Rotated files kept.
    pub backups: i64,
}

impl Default for RotateOptions {
    fn default() -> Self {
        RotateOptions {
            log_size: Size::mib(100),
            backups: 5,
        }
    }
}

/// Resources reserved for each instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ResourcesOptions {
    /// CPU cores, such as C(0.5).
    pub cpu: f64,
    /// Memory: bytes, or text such as C(512MiB) or C(2GiB) (C(MB) and C(M) also mean MiB).
    pub ram: Size,
    /// Disk space in the sandbox: bytes, or text such as C(1GiB).
    pub disk: Size,
    /// GPUs (the scheduler must allow them).
    #[serde(default)]
    pub gpu: i64,
}
