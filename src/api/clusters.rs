//! Finding a scheduler by cluster name, as the Aurora client does (client-reference §6.1, §6.2):
//! `clusters.json` files are read and merged, and a cluster's base URL is its `scheduler_uri`, or
//! the leader found in ZooKeeper when the entry has `zk` (api::zookeeper).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::api::client::Rediscover;
use crate::api::zookeeper::{self, DiscoveryError, Ensemble};

/// Directory read when `AURORA_CONFIG_ROOT` is unset.
pub const DEFAULT_CONFIG_ROOT: &str = "/etc/aurora";

/// One cluster entry. Only the keys this project uses are typed; the rest are kept as they are.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub scheduler_uri: Option<String>,
    /// Comma-separated ZooKeeper hosts; when set it wins over `scheduler_uri`, as in Aurora.
    pub zk: Option<String>,
    /// The port appended to each `zk` host (default 2181).
    pub zk_port: Option<u16>,
    pub scheduler_zk_path: Option<String>,
    /// The base of web URLs in ZooKeeper mode (§6.2 item 5); the API goes to the leader itself.
    pub proxy_url: Option<String>,
    pub auth_mechanism: Option<String>,
    /// Every other key of the entry.
    pub extra: BTreeMap<String, Value>,
    /// The file the entry came from, for messages.
    pub source: PathBuf,
}

impl Cluster {
    /// The scheduler's base URL (§6.2 items 1 to 3): the leader read from ZooKeeper when the
    /// entry has `zk` (within [`zookeeper::DISCOVERY_TIMEOUT`]), else `scheduler_uri`.
    pub fn scheduler_url(&self) -> Result<String, ClusterError> {
        self.scheduler_url_within(zookeeper::DISCOVERY_TIMEOUT)
    }

    /// How a client finds the leader again after a failover: for an entry in ZooKeeper, the same
    /// discovery (the fresh leader, or why there is none); `None` for a fixed `scheduler_uri`.
    pub fn rediscover(&self) -> Option<Rediscover> {
        self.zk.as_ref()?;
        let cluster = self.clone();
        Some(Arc::new(move || {
            cluster.scheduler_url().map_err(|e| e.to_string())
        }))
    }

    /// [`Cluster::scheduler_url`] with ZooKeeper discovery bounded by `timeout`.
    pub fn scheduler_url_within(
        &self,
        timeout: std::time::Duration,
    ) -> Result<String, ClusterError> {
        if let Some(zk) = &self.zk {
            let ensemble = Ensemble::new(zk, self.zk_port.unwrap_or(zookeeper::DEFAULT_ZK_PORT));
            let path = match self.scheduler_zk_path.as_deref().map(str::trim) {
                Some(path) if !path.is_empty() => path,
                _ => {
                    return Err(ClusterError::NoZooKeeperPath {
                        name: self.name.clone(),
                        source: self.source.clone(),
                    })
                }
            };
            return zookeeper::discover_leader(&ensemble, path, timeout).map_err(|error| {
                ClusterError::ZooKeeper {
                    name: self.name.clone(),
                    source: self.source.clone(),
                    hosts: ensemble.connect_string(),
                    path: path.to_string(),
                    error: Box::new(error),
                }
            });
        }
        match &self.scheduler_uri {
            Some(uri) if !uri.trim().is_empty() => {
                // The same rule as for scheduler_url (client::refuse_credentials), said with the
                // entry's name and file.
                if let Ok(url) = reqwest::Url::parse(uri.trim()) {
                    if let Err(reason) = crate::api::client::refuse_credentials(&url) {
                        return Err(ClusterError::Credentials {
                            name: self.name.clone(),
                            source: self.source.clone(),
                            reason,
                        });
                    }
                }
                Ok(uri.trim().to_string())
            }
            _ => Err(ClusterError::NoScheduler {
                name: self.name.clone(),
                source: self.source.clone(),
            }),
        }
    }
}

/// Why a cluster could not be resolved. Every message names the cluster or the file concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterError {
    /// A clusters.json exists but could not be read.
    Read { path: PathBuf, error: String },
    /// A clusters.json is not the JSON document Aurora expects.
    Parse { path: PathBuf, error: String },
    /// No file defines the name.
    Unknown {
        name: String,
        known: Vec<String>,
        searched: Vec<PathBuf>,
        read: Vec<PathBuf>,
    },
    /// The cluster is found through ZooKeeper, and no leader was found there.
    ZooKeeper {
        name: String,
        source: PathBuf,
        /// The connect string, ports included.
        hosts: String,
        path: String,
        /// Boxed: the error type stays small for the common case (clippy's result_large_err).
        error: Box<DiscoveryError>,
    },
    /// The entry has `zk` but no `scheduler_zk_path`.
    NoZooKeeperPath { name: String, source: PathBuf },
    /// The entry has neither `zk` nor `scheduler_uri`.
    NoScheduler { name: String, source: PathBuf },
    /// The entry's `scheduler_uri` carries credentials.
    Credentials {
        name: String,
        source: PathBuf,
        reason: String,
    },
}

fn paths_list(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "none".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Read { path, error } => {
                write!(f, "cannot read cluster file {}: {error}", path.display())
            }
            ClusterError::Parse { path, error } => write!(
                f,
                "cluster file {} is not a valid clusters.json (a JSON list of cluster objects, \
                 or an object whose values are cluster objects): {error}",
                path.display()
            ),
            ClusterError::Unknown {
                name,
                known,
                searched,
                read,
            } => {
                let known = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                write!(
                    f,
                    "unknown cluster {name:?}; known clusters: {known}; files read: {}; \
                     files looked for: {} (set AURORA_CONFIG_ROOT to the directory holding \
                     clusters.json, or give scheduler_url instead)",
                    paths_list(read),
                    paths_list(searched)
                )
            }
            ClusterError::ZooKeeper {
                name,
                source,
                hosts,
                path,
                error,
            } => write!(
                f,
                "cluster {name:?} (from {}): no scheduler found in ZooKeeper at {hosts}, path \
                 {path}: {error}",
                source.display()
            ),
            ClusterError::NoZooKeeperPath { name, source } => write!(
                f,
                "cluster {name:?} (from {}) has zk but no scheduler_zk_path; set it to the \
                 path where the schedulers register (their -serverset_path)",
                source.display()
            ),
            ClusterError::Credentials {
                name,
                source,
                reason,
            } => write!(
                f,
                "cluster {name:?} (from {}): its scheduler_uri is refused: {reason}",
                source.display()
            ),
            ClusterError::NoScheduler { name, source } => write!(
                f,
                "cluster {name:?} (from {}) has neither scheduler_uri nor zk; set scheduler_uri \
                 for it, or give scheduler_url instead of cluster",
                source.display()
            ),
        }
    }
}

impl std::error::Error for ClusterError {}

/// Every cluster defined by a set of clusters.json files, later files overriding earlier ones.
#[derive(Clone, Debug, Default)]
pub struct Clusters {
    clusters: BTreeMap<String, Cluster>,
    /// The files looked for, in order.
    searched: Vec<PathBuf>,
    /// The files that existed and were read.
    read: Vec<PathBuf>,
}

impl Clusters {
    /// The files the Aurora client reads, given the values of `AURORA_CONFIG_ROOT` and `HOME`:
    /// `$AURORA_CONFIG_ROOT/clusters.json` (default `/etc/aurora`), then `~/.aurora/clusters.json`.
    pub fn paths(config_root: Option<&Path>, home: Option<&Path>) -> Vec<PathBuf> {
        let root = config_root
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(DEFAULT_CONFIG_ROOT));
        let mut paths = vec![root.join("clusters.json")];
        if let Some(home) = home.filter(|p| !p.as_os_str().is_empty()) {
            paths.push(home.join(".aurora").join("clusters.json"));
        }
        paths
    }

    /// The files named by this process's environment.
    pub fn default_paths() -> Vec<PathBuf> {
        let root = std::env::var_os("AURORA_CONFIG_ROOT").map(PathBuf::from);
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Clusters::paths(root.as_deref(), home.as_deref())
    }

    /// Reads the files in order; a missing file is skipped, as Aurora does.
    pub fn load(paths: &[PathBuf]) -> Result<Clusters, ClusterError> {
        let mut all = Clusters {
            searched: paths.to_vec(),
            ..Clusters::default()
        };
        for path in paths {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(ClusterError::Read {
                        path: path.clone(),
                        error: e.to_string(),
                    })
                }
            };
            for cluster in parse(path, &text)? {
                all.clusters.insert(cluster.name.clone(), cluster);
            }
            all.read.push(path.clone());
        }
        Ok(all)
    }

    /// Reads the files named by this process's environment.
    pub fn load_default() -> Result<Clusters, ClusterError> {
        Clusters::load(&Clusters::default_paths())
    }

    pub fn find(&self, name: &str) -> Result<&Cluster, ClusterError> {
        self.clusters
            .get(name)
            .ok_or_else(|| ClusterError::Unknown {
                name: name.to_string(),
                known: self.names(),
                searched: self.searched.clone(),
                read: self.read.clone(),
            })
    }

    /// The scheduler base URL of cluster `name`.
    pub fn scheduler_url(&self, name: &str) -> Result<String, ClusterError> {
        self.find(name)?.scheduler_url()
    }

    pub fn names(&self) -> Vec<String> {
        self.clusters.keys().cloned().collect()
    }

    /// The files that existed and were read.
    pub fn files_read(&self) -> &[PathBuf] {
        &self.read
    }
}

/// Parses one clusters.json document: a list of cluster objects, or an object whose values are.
fn parse(path: &Path, text: &str) -> Result<Vec<Cluster>, ClusterError> {
    let parse_error = |error: String| ClusterError::Parse {
        path: path.to_path_buf(),
        error,
    };
    let document: Value = serde_json::from_str(text).map_err(|e| parse_error(e.to_string()))?;
    let entries: Vec<Value> = match document {
        Value::Array(items) => items,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        other => {
            return Err(parse_error(format!(
                "the document is a {}",
                json_kind(&other)
            )))
        }
    };
    let mut clusters = Vec::new();
    for entry in entries {
        // Entries without a name are ignored, as Aurora does; so are non-objects.
        let Value::Object(mut fields) = entry else {
            continue;
        };
        let Some(Value::String(name)) = fields.remove("name") else {
            continue;
        };
        let mut string_field = |key: &str| -> Result<Option<String>, ClusterError> {
            match fields.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(parse_error(format!(
                    "cluster {name:?}: {key} must be a string, found a {}",
                    json_kind(&other)
                ))),
            }
        };
        let scheduler_uri = string_field("scheduler_uri")?;
        let zk = string_field("zk")?.filter(|z| !z.trim().is_empty());
        let scheduler_zk_path = string_field("scheduler_zk_path")?;
        let proxy_url = string_field("proxy_url")?;
        let auth_mechanism = string_field("auth_mechanism")?;
        let zk_port = match fields.remove("zk_port") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|p| (1..=65535).contains(&p)) => {
                n.as_u64().map(|p| p as u16)
            }
            Some(other) => {
                return Err(parse_error(format!(
                    "cluster {name:?}: zk_port must be a port number (1 to 65535), found {other}"
                )))
            }
        };
        clusters.push(Cluster {
            name,
            scheduler_uri,
            zk,
            zk_port,
            scheduler_zk_path,
            proxy_url,
            auth_mechanism,
            extra: fields.into_iter().collect(),
            source: path.to_path_buf(),
        });
    }
    Ok(clusters)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("clusters.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn paths_are_the_config_root_then_the_home_directory() {
        let paths = Clusters::paths(Some(Path::new("/opt/aurora")), Some(Path::new("/home/u")));
        assert_eq!(
            paths,
            vec![
                PathBuf::from("/opt/aurora/clusters.json"),
                PathBuf::from("/home/u/.aurora/clusters.json")
            ]
        );
        let paths = Clusters::paths(None, None);
        assert_eq!(paths, vec![PathBuf::from("/etc/aurora/clusters.json")]);
        let paths = Clusters::paths(Some(Path::new("")), None);
        assert_eq!(paths, vec![PathBuf::from("/etc/aurora/clusters.json")]);
    }

    #[test]
    fn a_list_document_gives_each_named_cluster_its_scheduler_uri() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"[{"name": "devcluster", "scheduler_uri": "http://192.168.33.7:8081",
                 "auth_mechanism": "UNAUTHENTICATED", "slave_run_directory": "latest"},
                {"scheduler_uri": "http://nameless:8081"}]"#,
        );
        let clusters = Clusters::load(std::slice::from_ref(&path)).unwrap();
        assert_eq!(clusters.names(), vec!["devcluster"]);
        let c = clusters.find("devcluster").unwrap();
        assert_eq!(c.scheduler_url().unwrap(), "http://192.168.33.7:8081");
        assert_eq!(c.auth_mechanism.as_deref(), Some("UNAUTHENTICATED"));
        assert_eq!(c.extra["slave_run_directory"], "latest");
        assert_eq!(c.source, path);
        assert_eq!(clusters.files_read(), &[path]);
    }

    #[test]
    fn an_object_document_uses_its_values_as_clusters() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"{"a": {"name": "east", "scheduler_uri": "https://east.example:443"},
                "b": {"name": "west", "scheduler_uri": "https://west.example"}}"#,
        );
        let clusters = Clusters::load(&[path]).unwrap();
        assert_eq!(clusters.names(), vec!["east", "west"]);
        assert_eq!(
            clusters.scheduler_url("west").unwrap(),
            "https://west.example"
        );
    }

    #[test]
    fn the_home_file_overrides_the_config_root_entry_of_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            &dir.path().join("etc"),
            r#"[{"name": "dev", "scheduler_uri": "http://etc:8081"},
                {"name": "only-etc", "scheduler_uri": "http://only-etc:8081"}]"#,
        );
        let home = write(
            &dir.path().join("home/.aurora"),
            r#"[{"name": "dev", "scheduler_uri": "http://home:8081"}]"#,
        );
        let clusters = Clusters::load(&[root, home]).unwrap();
        assert_eq!(clusters.scheduler_url("dev").unwrap(), "http://home:8081");
        assert_eq!(
            clusters.scheduler_url("only-etc").unwrap(),
            "http://only-etc:8081"
        );
    }

    #[test]
    fn missing_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let present = write(
            dir.path(),
            r#"[{"name": "dev", "scheduler_uri": "http://h:8081"}]"#,
        );
        let missing = dir.path().join("nowhere/clusters.json");
        let clusters = Clusters::load(&[missing, present.clone()]).unwrap();
        assert_eq!(clusters.files_read(), &[present]);
        assert!(clusters.find("dev").is_ok());
    }

    #[test]
    fn a_zookeeper_cluster_is_read_with_its_port_path_and_proxy_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"[{"name": "prod", "zk": "zk1,zk2", "zk_port": 2182,
                 "scheduler_zk_path": "/aurora/scheduler", "proxy_url": "https://aurora.example",
                 "scheduler_uri": "http://ignored:8081"},
                {"name": "default-port", "zk": "zk1", "scheduler_zk_path": "/a"}]"#,
        );
        let clusters = Clusters::load(&[path]).unwrap();
        let prod = clusters.find("prod").unwrap();
        assert_eq!(prod.zk_port, Some(2182));
        assert_eq!(prod.scheduler_zk_path.as_deref(), Some("/aurora/scheduler"));
        assert_eq!(prod.proxy_url.as_deref(), Some("https://aurora.example"));
        assert_eq!(clusters.find("default-port").unwrap().zk_port, None);
    }

    #[test]
    fn a_zookeeper_cluster_without_a_path_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), r#"[{"name": "prod", "zk": "zk1"}]"#);
        let clusters = Clusters::load(&[path]).unwrap();
        let msg = clusters.scheduler_url("prod").unwrap_err().to_string();
        assert!(msg.contains("\"prod\""), "{msg}");
        assert!(msg.contains("no scheduler_zk_path"), "{msg}");
    }

    #[test]
    fn an_unreachable_ensemble_is_an_error_naming_the_hosts_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // zk wins over scheduler_uri, as in Aurora (§6.2 item 1).
        let path = write(
            dir.path(),
            &format!(
                r#"[{{"name": "prod", "zk": "127.0.0.1", "zk_port": {port},
                     "scheduler_zk_path": "/aurora/scheduler", "scheduler_uri": "http://ignored"}}]"#
            ),
        );
        let clusters = Clusters::load(&[path]).unwrap();
        let e = clusters
            .find("prod")
            .unwrap()
            .scheduler_url_within(std::time::Duration::from_millis(1500))
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
        assert!(msg.contains("path /aurora/scheduler"), "{msg}");
        assert!(msg.contains("no ZooKeeper host answered"), "{msg}");
    }

    #[test]
    fn a_zk_port_that_is_not_a_port_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"[{"name": "p", "zk": "h", "zk_port": "2181x"}]"#,
        );
        let msg = Clusters::load(&[path]).unwrap_err().to_string();
        assert!(msg.contains("zk_port must be a port number"), "{msg}");
    }

    #[test]
    fn a_cluster_without_zk_or_scheduler_uri_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), r#"[{"name": "bare"}]"#);
        let clusters = Clusters::load(&[path]).unwrap();
        let msg = clusters.scheduler_url("bare").unwrap_err().to_string();
        assert!(msg.contains("neither scheduler_uri nor zk"), "{msg}");
    }

    #[test]
    fn a_scheduler_uri_with_credentials_is_refused_naming_the_entry_but_not_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"[{"name": "prod", "scheduler_uri": "https://ops:hunter2@aurora.example:443/"}]"#,
        );
        let clusters = Clusters::load(std::slice::from_ref(&path)).unwrap();
        let e = clusters.scheduler_url("prod").unwrap_err();
        assert!(matches!(e, ClusterError::Credentials { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("\"prod\""), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("https://ops:********@aurora.example"), "{msg}");
        assert!(msg.contains("username and password options"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn an_unknown_name_lists_the_known_clusters_and_the_files_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"[{"name": "east", "scheduler_uri": "http://e"},
                {"name": "west", "scheduler_uri": "http://w"}]"#,
        );
        let missing = dir.path().join("home/.aurora/clusters.json");
        let clusters = Clusters::load(&[path.clone(), missing.clone()]).unwrap();
        let msg = clusters.find("north").unwrap_err().to_string();
        assert!(msg.contains("unknown cluster \"north\""), "{msg}");
        assert!(msg.contains("east, west"), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
    }

    #[test]
    fn an_invalid_document_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "[{\"name\": ");
        let msg = Clusters::load(std::slice::from_ref(&path))
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        let path = write(dir.path(), "\"just a string\"");
        let msg = Clusters::load(&[path]).unwrap_err().to_string();
        assert!(msg.contains("the document is a string"), "{msg}");
        let path = write(dir.path(), r#"[{"name": "x", "scheduler_uri": 8081}]"#);
        let msg = Clusters::load(&[path]).unwrap_err().to_string();
        assert!(msg.contains("scheduler_uri must be a string"), "{msg}");
    }
}
