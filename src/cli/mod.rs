//! The `aurora-ansible` command line: a few direct calls to the scheduler for people and scripts,
//! with the same connection options as the modules. `jobs` and `tasks` read, `create` and `kill`
//! write, `call` sends any method with JSON arguments; `schema` and `docs` describe the modules;
//! `rebalance` runs the fair-share allocator in a loop.

mod docs;
mod jobs;
mod raw;
mod rebalance;
mod table;
mod write;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::api::client::{Client, ClientConfig, ClientError, Rediscover, RetryPolicy};
use crate::api::clusters::{ClusterError, Clusters};
use crate::api::keys::{parse_instances, KeyError};
use crate::api::types::JobKey;

/// Exit statuses, also listed in `--help`.
pub mod exit {
    pub const OK: u8 = 0;
    /// The scheduler answered with a response code other than OK.
    pub const SCHEDULER: u8 = 1;
    /// The command line was wrong (clap uses 2 for its own errors too).
    pub const USAGE: u8 = 2;
    /// The scheduler could not be reached or answered at the HTTP/Thrift level with an error.
    pub const TRANSPORT: u8 = 3;
    /// The cluster could not be looked up, or the connection options are unusable.
    pub const CONFIG: u8 = 4;
    /// `docs --check`: a documentation or action file differs from what the code generates.
    pub const DOCS_DIFFER: u8 = 5;
}

const AFTER_HELP: &str = "\
Exit status:
  0  success
  1  the scheduler answered with an error (a response code other than OK)
  2  usage error (bad options or arguments)
  3  transport, HTTP or authentication error (scheduler unreachable, timeout, TLS, 401, 503, ...)
  4  cluster lookup or configuration error (clusters.json, scheduler URL, ca_path)
  5  docs --check: a module's documentation or action file differs from what the code generates

The scheduler is --scheduler-url (or AURORA_SCHEDULER_URL), or that of --cluster in clusters.json
($AURORA_CONFIG_ROOT/clusters.json, default /etc/aurora, then ~/.aurora/clusters.json): the leader
found in ZooKeeper for an entry with zk and scheduler_zk_path, else its scheduler_uri.";

#[derive(Debug, Parser)]
#[command(
    name = "aurora-ansible",
    version,
    about = "Talk to an Apache Aurora scheduler; also the executable behind the aurora.scheduler Ansible modules",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// How read commands print their results.
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,

    #[command(subcommand)]
    pub command: Command,
}

/// The connection options of every module, as flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection options")]
pub struct ConnectionArgs {
    /// Base URL of the scheduler, e.g. http://127.0.0.1:8081 (calls go to its /api).
    #[arg(long, env = "AURORA_SCHEDULER_URL", global = true)]
    pub scheduler_url: Option<String>,

    /// A cluster name looked up in clusters.json instead of --scheduler-url.
    #[arg(long, global = true)]
    pub cluster: Option<String>,

    /// User for HTTP basic authentication.
    #[arg(long, env = "AURORA_USERNAME", global = true)]
    pub username: Option<String>,

    /// Password for HTTP basic authentication (never printed).
    #[arg(long, env = "AURORA_PASSWORD", hide_env_values = true, global = true)]
    pub password: Option<String>,

    /// Do not verify the scheduler's TLS certificate.
    #[arg(long, global = true)]
    pub no_validate_certs: bool,

    /// PEM file of CA certificates to trust in addition to the system's.
    #[arg(long, value_name = "PATH", global = true)]
    pub ca_path: Option<PathBuf>,

    /// Seconds to wait for each call.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_timeout, global = true)]
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List jobs with their task counts by state (getJobSummary).
    Jobs {
        /// Only the jobs of this role.
        role: Option<String>,
    },
    /// List the tasks of a job, active ones unless --all (getTasksWithoutConfigs).
    Tasks {
        /// ROLE/ENV/NAME
        #[arg(value_parser = parse_job_key)]
        job: JobKey,
        /// Include tasks in terminal states.
        #[arg(long)]
        all: bool,
    },
    /// Create a job running one command (createJob).
    Create(write::CreateArgs),
    /// Kill all instances of a job, or some (killTasks).
    Kill {
        /// ROLE/ENV/NAME
        #[arg(value_parser = parse_job_key)]
        job: JobKey,
        /// Instances to kill, e.g. 0,1,5-7 (default: all).
        #[arg(long, value_parser = parse_instance_list)]
        instances: Option<InstanceList>,
        /// Message recorded with the kill.
        #[arg(long)]
        message: Option<String>,
    },
    /// Call any method with its arguments as JSON and print the Response as JSON.
    Call {
        /// Method name as in the API, e.g. getJobSummary.
        method: String,
        /// The method's arguments as a JSON object with the IDL's camelCase field names,
        /// e.g. '{"role":"www-data"}'.
        #[arg(long, value_name = "ARGS", default_value = "{}")]
        json: String,
    },
    /// Print the JSON Schema of a module's options.
    Schema {
        /// Module name, e.g. job or aurora.scheduler.job.
        module: String,
    },
    /// Run aurora.scheduler.fair_share every SECONDS until SIGTERM: one JSON line per decision.
    Rebalance(rebalance::RebalanceArgs),
    /// Write each module's documentation (modules/NAME.py, read by ansible-doc) and action plugin
    /// (action/NAME.py, which runs the executable).
    Docs {
        /// Write nothing; fail listing the files that differ from what the code generates.
        #[arg(long)]
        check: bool,
        /// The collection's plugin directory.
        #[arg(default_value = crate::ansible::PLUGINS_DIR)]
        dir: PathBuf,
    },
}

fn parse_job_key(text: &str) -> Result<JobKey, KeyError> {
    JobKey::parse(text)
}

/// Instance ids given as one value; wrapped because clap reads a bare `Vec` as repeated values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceList(pub Vec<i32>);

fn parse_instance_list(text: &str) -> Result<InstanceList, KeyError> {
    parse_instances(text).map(InstanceList)
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "{text:?} is out of range; give seconds between 0 and 86400"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Why a command failed; decides the exit status.
#[derive(Debug)]
pub enum CliError {
    Usage(String),
    Client(ClientError),
    Cluster(ClusterError),
    Config(String),
    DocsDiffer(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::Client(ClientError::Scheduler { .. }) => exit::SCHEDULER,
            CliError::Client(ClientError::Config { .. }) => exit::CONFIG,
            CliError::Client(_) => exit::TRANSPORT,
            CliError::Cluster(_) | CliError::Config(_) => exit::CONFIG,
            CliError::DocsDiffer(_) => exit::DOCS_DIFFER,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Config(m) | CliError::DocsDiffer(m) => f.write_str(m),
            CliError::Client(e) => e.fmt(f),
            CliError::Cluster(e) => e.fmt(f),
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        CliError::Client(e)
    }
}

impl From<ClusterError> for CliError {
    fn from(e: ClusterError) -> Self {
        CliError::Cluster(e)
    }
}

impl ConnectionArgs {
    /// The scheduler base URL: from the cluster when one is named, else the URL option; with the
    /// way to find the leader again when the cluster is in ZooKeeper.
    fn scheduler_url(
        &self,
        clusters: impl FnOnce() -> Result<Clusters, ClusterError>,
    ) -> Result<(String, Option<Rediscover>), CliError> {
        match (&self.cluster, &self.scheduler_url) {
            (Some(name), _) => {
                let clusters = clusters()?;
                let cluster = clusters.find(name)?;
                Ok((cluster.scheduler_url()?, cluster.rediscover()))
            }
            (None, Some(url)) => Ok((url.clone(), None)),
            (None, None) => Err(CliError::Config(
                "no scheduler given: pass --scheduler-url (or set AURORA_SCHEDULER_URL), or \
                 --cluster with a name from clusters.json"
                    .into(),
            )),
        }
    }

    pub fn client_config(
        &self,
        clusters: impl FnOnce() -> Result<Clusters, ClusterError>,
    ) -> Result<ClientConfig, CliError> {
        let (scheduler_url, rediscover) = self.scheduler_url(clusters)?;
        let config = ClientConfig {
            scheduler_url,
            username: self.username.clone(),
            password: self.password.clone(),
            validate_certs: !self.no_validate_certs,
            ca_path: self.ca_path.clone(),
            timeout: self.timeout,
            retry: RetryPolicy::default(),
            rediscover: None,
        };
        Ok(match rediscover {
            Some(rediscover) => config.following_leader(rediscover),
            None => config,
        })
    }
}

/// Parses the arguments, the program name first. Errors, help and version come back as clap's
/// error, whose `exit_code` is 2 for usage errors and 0 for help.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    // An explicit --scheduler-url next to --cluster is ambiguous; the variable is just a default.
    if cli.connection.cluster.is_some()
        && matches.value_source("scheduler_url") == Some(ValueSource::CommandLine)
    {
        return Err(command.error(
            clap::error::ErrorKind::ArgumentConflict,
            "give either --scheduler-url or --cluster, not both",
        ));
    }
    Ok(cli)
}

/// Parses the arguments (the program name first) and runs the command; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    let mut stdout = std::io::stdout().lock();
    match run(&cli, &mut stdout) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("aurora-ansible: error: {e}");
            e.exit_code()
        }
    }
}

/// Prints clap's message (help and version go to stdout) and returns clap's status: 0 or 2.
fn clap_exit(e: clap::Error) -> u8 {
    let _ = e.print();
    if e.use_stderr() {
        exit::USAGE
    } else {
        exit::OK
    }
}

/// Runs a parsed command, writing results to `out`.
pub fn run(cli: &Cli, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    // Only the commands that talk to the scheduler need a client.
    let client = || -> Result<Client, CliError> {
        let config = cli.connection.client_config(Clusters::load_default)?;
        Ok(Client::new(&config)?)
    };
    match &cli.command {
        Command::Jobs { role } => jobs::jobs(&client()?, role.as_deref(), cli.output, out),
        Command::Tasks { job, all } => jobs::tasks(&client()?, job, *all, cli.output, out),
        Command::Create(args) => write::create(
            &client()?,
            args,
            cli.connection.cluster.as_deref(),
            cli.output,
            out,
        ),
        Command::Kill {
            job,
            instances,
            message,
        } => write::kill(
            &client()?,
            job,
            instances.as_ref().map(|i| i.0.as_slice()),
            message.as_deref(),
            cli.output,
            out,
        ),
        Command::Call { method, json } => raw::call(&client()?, method, json, out),
        Command::Schema { module } => docs::schema(crate::modules::ALL, module, out),
        Command::Docs { check, dir } => docs::docs(crate::modules::ALL, *check, dir, out),
        Command::Rebalance(args) => rebalance::rebalance(&cli.connection, args, out),
    }
}

/// Writes a result; a closed pipe is not worth a different exit status.
fn emit(out: &mut dyn std::io::Write, text: &str) {
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing the API types to JSON cannot fail: keys are strings, no custom errors.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
