//! Tasks' endpoints as Aurora's executor announces them in ZooKeeper (client-reference §1.8.2
//! "Announcer"): the ServerSet members under ROOT/ROLE/ENVIRONMENT/NAME, one per instance with
//! its `shard`. Which member belongs to which task is a pure function ([`match_members`]); the
//! reading is `api::zookeeper::read_members`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::ansible::Failure;
use crate::api::clusters::Clusters;
use crate::api::zookeeper::{
    read_members, DiscoveryError, Ensemble, Member, ServiceInstance, DEFAULT_ZK_PORT,
    DISCOVERY_TIMEOUT, MEMBER_PREFIX,
};

/// Where the executors announce: their `--announcer-ensemble` and `--announcer-serverset-path`.
pub struct Announcer {
    pub ensemble: Ensemble,
    pub serverset_path: String,
}

impl Announcer {
    /// `ensemble` is the executor's flag, `host[:port],...` (one port for all hosts, as a
    /// clusters.json entry has); without it, the `zk` and `zk_port` of the cluster named.
    /// `option` names the ensemble's option in messages.
    pub fn new(
        ensemble: Option<&str>,
        cluster: Option<&str>,
        serverset_path: &str,
        option: &str,
    ) -> Result<Announcer, Failure> {
        if !serverset_path.starts_with('/') {
            return Err(Failure::new(format!(
                "{option}: the serverset path {serverset_path:?} must start with /"
            )));
        }
        let ensemble = match (ensemble.map(str::trim).filter(|e| !e.is_empty()), cluster) {
            (Some(connect), _) => {
                parse_ensemble(connect).map_err(|e| Failure::new(format!("{option}: {e}")))?
            }
            (None, Some(name)) => {
                let clusters = Clusters::load_default()
                    .map_err(|e| Failure::new(format!("cluster {name:?}: {e}")))?;
                let entry = clusters
                    .find(name)
                    .map_err(|e| Failure::new(e.to_string()))?;
                let zk = entry.zk.as_deref().ok_or_else(|| {
                    Failure::new(format!(
                        "{option} is needed: cluster {name:?} names no ZooKeeper (zk) to read \
                         the announced endpoints from"
                    ))
                })?;
                Ensemble::new(zk, entry.zk_port.unwrap_or(DEFAULT_ZK_PORT))
            }
            (None, None) => {
                return Err(Failure::new(format!(
                    "{option} is needed to read the announced endpoints (or cluster, whose zk \
                     is used)"
                )))
            }
        };
        Ok(Announcer {
            ensemble,
            serverset_path: serverset_path.trim_end_matches('/').to_string(),
        })
    }

    /// The ServerSet path of a job, as the executor's make_zk_path builds it.
    pub fn path(&self, role: &str, environment: &str, name: &str) -> String {
        format!("{}/{role}/{environment}/{name}", self.serverset_path)
    }

    /// The members under `path`, none when the path does not exist (nothing announced yet).
    pub fn members(&self, path: &str) -> Result<Vec<Member>, Failure> {
        match read_members(&self.ensemble, path, DISCOVERY_TIMEOUT) {
            Ok(members) => Ok(members),
            Err(DiscoveryError::NoPath) => Ok(Vec::new()),
            Err(e) => Err(Failure::new(format!(
                "reading the announced endpoints at {}, path {path}: {e}",
                self.ensemble.connect_string()
            ))),
        }
    }
}

/// `host[:port],...` with one port for every host (default 2181).
fn parse_ensemble(connect: &str) -> Result<Ensemble, String> {
    let mut hosts = Vec::new();
    let mut port = None;
    for item in connect.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let (host, this_port) = match item.rsplit_once(':') {
            Some((host, p)) => (
                host,
                p.parse::<u16>()
                    .map_err(|_| format!("{item:?} is not host:port"))?,
            ),
            None => (item, DEFAULT_ZK_PORT),
        };
        if port.is_some_and(|p| p != this_port) {
            return Err(format!(
                "{connect:?} gives hosts different ports; give one port for all of them"
            ));
        }
        port = Some(this_port);
        hosts.push(host.to_string());
    }
    match port {
        Some(port) => Ok(Ensemble { hosts, port }),
        None => Err("no ZooKeeper host given".into()),
    }
}

/// Gives each listed task (job_info's `tasks[]` objects, with `instance`, `host`, `ports`) its
/// announced member as `announced`, or null: the member whose shard is the task's instance, the
/// one on the task's host and port when several claim it (an old task still leaving). Members
/// that are not the ServerSet JSON are skipped and returned, by znode, for a warning.
pub fn match_members(path: &str, members: &[Member], tasks: &mut [Value]) -> Vec<String> {
    let mut malformed = Vec::new();
    let mut by_shard: BTreeMap<i64, Vec<(String, ServiceInstance)>> = BTreeMap::new();
    let mut names: Vec<&Member> = members
        .iter()
        .filter(|m| m.name.starts_with(MEMBER_PREFIX))
        .collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    for member in names {
        let znode = format!("{path}/{}", member.name);
        match serde_json::from_slice::<ServiceInstance>(&member.data) {
            Ok(instance) => {
                if let Some(shard) = instance.shard {
                    by_shard
                        .entry(i64::from(shard))
                        .or_default()
                        .push((znode, instance));
                }
            }
            Err(_) => malformed.push(znode),
        }
    }
    for task in tasks.iter_mut() {
        let Some(object) = task.as_object_mut() else {
            continue;
        };
        let instance = object.get("instance").and_then(Value::as_i64);
        let host = object
            .get("host")
            .and_then(Value::as_str)
            .map(str::to_string);
        let ports: Vec<u64> = object
            .get("ports")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(_, p)| p.as_u64())
            .collect();
        let claims = instance.and_then(|i| by_shard.get(&i));
        let chosen = claims.and_then(|claims| {
            claims
                .iter()
                .find(|(_, m)| {
                    Some(&m.service_endpoint.host) == host.as_ref()
                        && ports.contains(&u64::from(m.service_endpoint.port))
                })
                .or_else(|| claims.first())
        });
        let announced = chosen.map_or(Value::Null, |(znode, m)| {
            json!({
                "member": znode,
                "service_endpoint": m.service_endpoint,
                "additional_endpoints": m.additional_endpoints,
                "status": m.status,
                "shard": m.shard,
            })
        });
        object.insert("announced".into(), announced);
    }
    malformed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, data: &str) -> Member {
        Member {
            name: name.into(),
            data: data.as_bytes().to_vec(),
        }
    }

    fn serverset(host: &str, port: u16, shard: i32) -> String {
        format!(
            r#"{{"serviceEndpoint": {{"host": "{host}", "port": {port}}},
                "additionalEndpoints": {{"http": {{"host": "{host}", "port": {port}}}}},
                "status": "ALIVE", "shard": {shard}}}"#
        )
    }

    #[test]
    fn each_task_gets_the_member_of_its_shard() {
        let members = vec![
            member("member_0000000003", &serverset("h2", 31002, 1)),
            member("member_0000000001", &serverset("h1", 31001, 0)),
            // An old incarnation of instance 1 still announced elsewhere: the task's own wins.
            member("member_0000000002", &serverset("h9", 31009, 1)),
            member("member_0000000004", "{not json"),
            member("lock", "whatever"),
        ];
        let mut tasks = vec![
            json!({"instance": 0, "host": "h1", "ports": {"http": 31001}}),
            json!({"instance": 1, "host": "h2", "ports": {"http": 31002}}),
            json!({"instance": 2, "host": "h3", "ports": {"http": 31003}}),
        ];
        let malformed = match_members("/aurora/r/e/j", &members, &mut tasks);
        assert_eq!(malformed, vec!["/aurora/r/e/j/member_0000000004"]);
        assert_eq!(
            tasks[0]["announced"],
            json!({
                "member": "/aurora/r/e/j/member_0000000001",
                "service_endpoint": {"host": "h1", "port": 31001},
                "additional_endpoints": {"http": {"host": "h1", "port": 31001}},
                "status": "ALIVE",
                "shard": 0
            })
        );
        assert_eq!(
            tasks[1]["announced"]["member"],
            "/aurora/r/e/j/member_0000000003"
        );
        assert_eq!(tasks[2]["announced"], Value::Null);
    }

    #[test]
    fn the_ensemble_is_the_executors_connect_string_with_one_port() {
        // (connect string, the hosts and port, or a part of the error).
        type Case<'a> = (&'a str, Result<(Vec<&'a str>, u16), &'a str>);
        let cases: Vec<Case> = vec![
            ("127.0.0.1:2182", Ok((vec!["127.0.0.1"], 2182))),
            ("zk1:2181, zk2:2181", Ok((vec!["zk1", "zk2"], 2181))),
            ("zk1,zk2", Ok((vec!["zk1", "zk2"], 2181))),
            ("zk1:1,zk2:2", Err("different ports")),
            ("zk1:x", Err("not host:port")),
            (" , ", Err("no ZooKeeper host")),
        ];
        for (connect, expected) in cases {
            let got = parse_ensemble(connect);
            match (expected, got) {
                (Ok((hosts, port)), Ok(e)) => {
                    assert_eq!(
                        (e.hosts.iter().map(String::as_str).collect(), e.port),
                        (hosts, port)
                    )
                }
                (Err(text), Err(e)) => assert!(e.contains(text), "{connect}: {e}"),
                (expected, got) => panic!("{connect}: expected {expected:?}, got {got:?}"),
            }
        }
    }
}
