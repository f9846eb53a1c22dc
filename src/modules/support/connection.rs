//! The connection options every module shares (design.md "Names that everyone relies on"), and
//! the connection they open: a client plus the facts about the scheduler a module needs first.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::ansible::Failure;
use crate::api::client::{Client, ClientConfig, ClientError, Rediscover};
use crate::api::clusters::Clusters;
use crate::api::methods::GetTierConfigs;
use crate::api::types::{GetTierConfigResult, Response, Result as Payload};

/// How to reach the Aurora scheduler. The same options on every module of the collection; set
/// them once for a play with `module_defaults: {group/aurora.scheduler.all: {...}}`.
///
/// An option given to the task (module_defaults included) always wins over an environment
/// variable: the validator reads `AURORA_SCHEDULER_URL` only when neither `scheduler_url` nor
/// `cluster` is given, and refuses the two given together.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[schemars(extend("x-mutually-exclusive-connection" = [["scheduler_url", "cluster"]]))]
pub struct ConnectionOptions {
    /// Base URL of the Aurora scheduler, for example C(http://aurora.example.com:8081); calls go
    /// to its C(/api) endpoint and follow leader redirects (never from C(https) to C(http)).
    /// Either this or O(cluster) is needed. The environment variable is used only when neither
    /// is given in the task. Credentials do not belong in the URL (it is shown in results and
    /// errors): a URL with C(user:password@) is refused; use O(username) and O(password).
    #[schemars(extend("x-env" = "AURORA_SCHEDULER_URL"))]
    pub scheduler_url: Option<String>,

    /// Name of a cluster in Aurora's C(clusters.json) (C(/etc/aurora/clusters.json), then
    /// C(~/.aurora/clusters.json)), looked up the way the Aurora client does: with C(zk) and
    /// C(scheduler_zk_path), the leading scheduler is read from ZooKeeper (within 10 seconds);
    /// else its C(scheduler_uri) is used. Given in the task, it wins over C(AURORA_SCHEDULER_URL).
    pub cluster: Option<String>,

    /// User for HTTP basic authentication, when the scheduler requires it for changes.
    #[schemars(extend("x-env" = "AURORA_USERNAME"))]
    pub username: Option<String>,

    /// Password for HTTP basic authentication. Never printed. Export C(AURORA_PASSWORD) in the
    /// environment of ansible-playbook itself: a value set with the play's C(environment) keyword
    /// is shown by Ansible on its command lines at C(-vvv).
    #[schemars(extend("x-env" = "AURORA_PASSWORD", "x-secret" = true))]
    pub password: Option<String>,

    /// Whether to verify the scheduler's TLS certificate. Only turn off for test clusters.
    #[serde(default = "default_true")]
    pub validate_certs: bool,

    /// A PEM file of CA certificates to trust, in addition to the system's, for C(https) URLs.
    /// A certificate in it is also accepted as the server's own certificate (a self-signed one,
    /// as C(openssl req -x509) makes), when it names the host and is within its dates.
    pub ca_path: Option<PathBuf>,

    /// Seconds to wait for each call to the scheduler (reads are retried with backoff; a write
    /// is sent again only when the scheduler certainly did not take it: HTTP 503 or no
    /// connection).
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
    /// The scheduler URL: `scheduler_url` or the `cluster` entry of clusters.json, whichever is
    /// set (the validator lets only one through); with the way to find the leader again when the
    /// cluster is in ZooKeeper.
    fn url(&self) -> Result<(String, Option<Rediscover>), Failure> {
        let url = self
            .scheduler_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let name = match (url, self.cluster.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(Failure::new(
                    "parameters are mutually exclusive: scheduler_url|cluster",
                ))
            }
            (Some(url), None) => return Ok((url.to_string(), None)),
            (None, Some(name)) => name,
            (None, None) => {
                return Err(Failure::new(
                    "no scheduler to talk to: set scheduler_url (or the AURORA_SCHEDULER_URL \
                     environment variable), or cluster (a name from clusters.json)",
                ))
            }
        };
        let clusters =
            Clusters::load_default().map_err(|e| Failure::new(format!("cluster {name:?}: {e}")))?;
        // Its errors name the cluster already.
        let cluster = clusters
            .find(name)
            .map_err(|e| Failure::new(e.to_string()))?;
        let url = cluster
            .scheduler_url()
            .map_err(|e| Failure::new(e.to_string()))?;
        Ok((url, cluster.rediscover()))
    }

    pub fn connect(&self) -> Result<Connection, Failure> {
        let (url, rediscover) = self.url()?;
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
        if let Some(rediscover) = rediscover {
            config = config.following_leader(rediscover);
        }
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
