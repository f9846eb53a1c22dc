//! The connection options every module shares (design.md "Names that everyone relies on"), and
//! the connection they open: a client plus the facts about the scheduler a module needs first.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::ansible::Failure;
use crate::api::client::{Client, ClientConfig, ClientError};
use crate::api::clusters::Clusters;
use crate::api::methods::GetTierConfigs;
use crate::api::types::{GetTierConfigResult, Response, Result as Payload};

/// How to reach the Aurora scheduler. The same options on every module of the collection; set
/// them once for a play with `module_defaults: {group/aurora.scheduler.all: {...}}`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct ConnectionOptions {
    /// Base URL of the Aurora scheduler, for example C(http://aurora.example.com:8081); calls go
    /// to its C(/api) endpoint and follow leader redirects. Either this or C(cluster) is needed;
    /// when both are set, C(scheduler_url) wins.
    #[schemars(extend("x-env" = "AURORA_SCHEDULER_URL"))]
    pub scheduler_url: Option<String>,

    /// Name of a cluster in Aurora's C(clusters.json) (C(/etc/aurora/clusters.json), then
    /// C(~/.aurora/clusters.json)), looked up the way the Aurora client does; its
    /// C(scheduler_uri) is used.
    pub cluster: Option<String>,

    /// User for HTTP basic authentication, when the scheduler requires it for changes.
    #[schemars(extend("x-env" = "AURORA_USERNAME"))]
    pub username: Option<String>,

    /// Password for HTTP basic authentication. Never printed.
    #[schemars(extend("x-env" = "AURORA_PASSWORD", "x-secret" = true))]
    pub password: Option<String>,

    /// Whether to verify the scheduler's TLS certificate. Only turn off for test clusters.
    #[serde(default = "default_true")]
    pub validate_certs: bool,

    /// A PEM file of CA certificates to trust, in addition to the system's, for C(https) URLs.
    pub ca_path: Option<PathBuf>,

    /// Seconds to wait for each call to the scheduler (reads are retried with backoff on
    /// transport errors; writes are sent once).
    #[serde(default = "default_timeout")]
    pub timeout: u64,
}

fn default_true() -> bool {
    true
}

fn default_timeout() -> u64 {
    30
}

/// An open connection: the client, the URL it talks to, and the scheduler's tiers and cluster
/// name, which building any job needs.
pub struct Connection {
    pub client: Client,
    pub url: String,
}

impl ConnectionOptions {
    /// The scheduler URL: `scheduler_url`, else the `cluster` entry of clusters.json.
    fn url(&self) -> Result<String, Failure> {
        if let Some(url) = self
            .scheduler_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            return Ok(url.trim().to_string());
        }
        let Some(name) = self.cluster.as_deref() else {
            return Err(Failure::new(
                "no scheduler to talk to: set scheduler_url (or the AURORA_SCHEDULER_URL \
                 environment variable), or cluster (a name from clusters.json)",
            ));
        };
        let clusters =
            Clusters::load_default().map_err(|e| Failure::new(format!("cluster {name:?}: {e}")))?;
        clusters
            .scheduler_url(name)
            .map_err(|e| Failure::new(format!("cluster {name:?}: {e}")))
    }

    pub fn connect(&self) -> Result<Connection, Failure> {
        let url = self.url()?;
        if self.timeout == 0 {
            return Err(Failure::new(
                "timeout must be at least 1 (seconds per call to the scheduler)",
            ));
        }
        let mut config = ClientConfig::new(url.clone());
        config.username = self.username.clone();
        config.password = self.password.clone();
        config.validate_certs = self.validate_certs;
        config.ca_path = self.ca_path.clone();
        config.timeout = Duration::from_secs(self.timeout);
        let client = Client::new(&config).map_err(|e| Failure::new(e.to_string()))?;
        Ok(Connection { client, url })
    }
}

/// The scheduler's tiers and the cluster name it reports (the executor JSON embeds it).
pub struct SchedulerFacts {
    pub cluster_name: String,
    pub tiers: GetTierConfigResult,
}

impl Connection {
    /// One read that gives both the tiers (for the tier back-fill of client-reference §1.7) and,
    /// in its ServerInfo, the cluster's name.
    pub fn facts(&self) -> Result<SchedulerFacts, ClientError> {
        let response = self.client.call_ok(&GetTierConfigs {})?;
        let cluster_name = cluster_name(&response);
        let tiers = match response.result {
            Some(Payload::GetTierConfigResult(t)) => t,
            _ => GetTierConfigResult::default(),
        };
        Ok(SchedulerFacts {
            cluster_name,
            tiers,
        })
    }
}

fn cluster_name(response: &Response) -> String {
    response
        .server_info
        .as_ref()
        .and_then(|s| s.cluster_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "aurora".to_string())
}

/// The local login name, found as Python's `getpass.getuser()` does (client-reference §1.2): the
/// Aurora client stamps it into `owner.user`.
pub fn local_user() -> String {
    for var in ["LOGNAME", "USER", "LNAME", "USERNAME"] {
        if let Ok(name) = std::env::var(var) {
            if !name.is_empty() {
                return name;
            }
        }
    }
    user_of_this_process().unwrap_or_else(|| "aurora-ansible".to_string())
}

/// The passwd entry of the process's real uid, without linking libc.
fn user_of_this_process() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_string())
    })
}
