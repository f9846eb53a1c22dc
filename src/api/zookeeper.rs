//! Finding Aurora's leading scheduler in ZooKeeper, as Aurora's client does (client-reference
//! §6.2 item 2, api-reference §1.5): the ServerSet members under `scheduler_zk_path`, the leader's
//! JSON, and the base URL built from it. Choosing the leader is a pure function of the members
//! read ([`leader_url`]); the ZooKeeper reads are apart from it ([`read_members`]).
//!
//! The ZooKeeper client is `zookeeper-client` (kezhuw): a complete, maintained implementation of
//! the ZooKeeper protocol in Rust (sessions, chroots, 3.4 to 3.9 servers), MIT, no C library to
//! link (so the static musl executables still build), and async on the tokio runtime this project
//! already has. The older `zookeeper` crate is synchronous but unmaintained.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long discovery may take, connecting included: Aurora's client waits up to 10 s for the
/// member set (client-reference §6.2 item 2).
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The port appended to each host when a cluster entry gives none (client-reference §6.1).
pub const DEFAULT_ZK_PORT: u16 = 2181;

/// The prefix of ServerSet members' znode names: the schedulers' and the tasks' announced by the
/// executor alike.
pub const MEMBER_PREFIX: &str = "member_";

/// A ZooKeeper ensemble as a cluster entry describes it: hosts without ports, and one port.
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble {
    pub hosts: Vec<String>,
    pub port: u16,
}

impl Ensemble {
    /// `zk` is comma-separated hosts (client-reference §6.1); blanks around them are ignored.
    pub fn new(zk: &str, port: u16) -> Ensemble {
        let hosts = zk
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(String::from)
            .collect();
        Ensemble { hosts, port }
    }

    /// The connect string: the port appended to each host, as Aurora's client does.
    pub fn connect_string(&self) -> String {
        self.hosts
            .iter()
            .map(|h| format!("{h}:{}", self.port))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One ServerSet member as read: its znode name and its data.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub name: String,
    pub data: Vec<u8>,
}

/// Why no scheduler URL came out of ZooKeeper. The messages complete "no scheduler found in
/// ZooKeeper at HOSTS, path PATH: ...", said by the caller.
#[derive(Clone, Debug, PartialEq)]
pub enum DiscoveryError {
    /// No session with any host within the time bound.
    Unreachable { timeout: Duration, error: String },
    /// The path does not exist.
    NoPath,
    /// A read failed after connecting.
    Read { error: String },
    /// No ALIVE member: no scheduler leads now.
    NoLeader { members: Vec<String> },
    /// More than one ALIVE member, which Aurora counts as no leader (api-reference §1.5).
    SeveralLeaders { members: Vec<String> },
    /// A member's data is not Aurora's ServerSet JSON.
    Malformed { member: String, error: String },
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Unreachable { timeout, error } => write!(
                f,
                "no ZooKeeper host answered within {} s ({error}); check the cluster's zk and \
                 zk_port, and that the ensemble is reachable from here",
                timeout.as_secs_f64()
            ),
            DiscoveryError::NoPath => write!(
                f,
                "the path does not exist; check the cluster's scheduler_zk_path (the schedulers' \
                 -serverset_path)"
            ),
            DiscoveryError::Read { error } => write!(f, "reading the members failed: {error}"),
            DiscoveryError::NoLeader { members } if members.is_empty() => write!(
                f,
                "no leader: the path has no {MEMBER_PREFIX}* member, so no scheduler leads now \
                 (is a scheduler running and registered under this path?)"
            ),
            DiscoveryError::NoLeader { members } => {
                write!(f, "no leader: no member is ALIVE ({})", members.join(", "))
            }
            DiscoveryError::SeveralLeaders { members } => write!(
                f,
                "no leader: {} members are ALIVE ({}), and the leader is the single member",
                members.len(),
                members.join(", ")
            ),
            DiscoveryError::Malformed { member, error } => write!(
                f,
                "member {member} is not Aurora's ServerSet JSON \
                 ({{\"serviceEndpoint\": {{\"host\", \"port\"}}, \"additionalEndpoints\": ..., \
                 \"status\": \"ALIVE\"}}): {error}"
            ),
        }
    }
}

impl std::error::Error for DiscoveryError {}

/// One ServerSet member's data, Aurora's (and Twitter's ServerSet) JSON: what the schedulers write
/// for themselves and the executor for each announced task (`shard` = its instance id).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstance {
    pub service_endpoint: Endpoint,
    #[serde(default)]
    pub additional_endpoints: std::collections::BTreeMap<String, Endpoint>,
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    fn url(&self, scheme: &str) -> String {
        // An IPv6 literal is bracketed in a URL.
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The leader's base URL from the members read under the ServerSet path (`path` names the znodes
/// in messages). Only `member_*` znodes count, only ALIVE ones lead, and the leader is the single
/// one (api-reference §1.5). Its URL is `https` from an `https` endpoint when it advertises one,
/// else `http` from its `http` endpoint, else from its serviceEndpoint (client-reference §6.2).
pub fn leader_url(path: &str, members: &[Member]) -> Result<String, DiscoveryError> {
    let mut members: Vec<&Member> = members
        .iter()
        .filter(|m| m.name.starts_with(MEMBER_PREFIX))
        .collect();
    // Sequence order, as Aurora's client sorts them: the names differ only in their sequence.
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let znode = |name: &str| format!("{}/{name}", path.trim_end_matches('/'));
    let mut alive = Vec::new();
    for member in &members {
        let instance: ServiceInstance =
            serde_json::from_slice(&member.data).map_err(|e| DiscoveryError::Malformed {
                member: znode(&member.name),
                error: e.to_string(),
            })?;
        // A member without a status is taken as alive: only ALIVE is ever written by Aurora.
        if instance.status.as_deref().is_none_or(|s| s == "ALIVE") {
            alive.push((member, instance));
        }
    }
    let names = |list: &[&Member]| list.iter().map(|m| znode(&m.name)).collect::<Vec<_>>();
    match alive.as_slice() {
        [] => Err(DiscoveryError::NoLeader {
            members: names(&members),
        }),
        [(_, leader)] => {
            let endpoints = &leader.additional_endpoints;
            Ok(if let Some(https) = endpoints.get("https") {
                https.url("https")
            } else if let Some(http) = endpoints.get("http") {
                http.url("http")
            } else {
                leader.service_endpoint.url("http")
            })
        }
        several => Err(DiscoveryError::SeveralLeaders {
            members: several.iter().map(|(m, _)| znode(&m.name)).collect(),
        }),
    }
}

/// Reads every child of `path` with its data, within `timeout` in all (connecting included).
pub fn read_members(
    ensemble: &Ensemble,
    path: &str,
    timeout: Duration,
) -> Result<Vec<Member>, DiscoveryError> {
    // Its own thread and runtime: callers are synchronous, and may themselves run inside a
    // runtime, where blocking on another one is refused.
    let connect = ensemble.connect_string();
    let path = path.to_string();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| DiscoveryError::Read {
                        error: format!("cannot start the ZooKeeper client: {e}"),
                    })?;
                runtime.block_on(read_members_async(&connect, &path, timeout))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(DiscoveryError::Read {
                    error: "the ZooKeeper client stopped unexpectedly".into(),
                })
            })
    })
}

async fn read_members_async(
    connect: &str,
    path: &str,
    timeout: Duration,
) -> Result<Vec<Member>, DiscoveryError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let connector = zookeeper_client::Client::connector()
        .with_session_timeout(timeout)
        .with_connection_timeout(timeout.min(Duration::from_secs(4)))
        .with_readonly(true);
    let client = match tokio::time::timeout_at(deadline, connector.connect(connect)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            return Err(DiscoveryError::Unreachable {
                timeout,
                error: e.to_string(),
            })
        }
        Err(_) => {
            return Err(DiscoveryError::Unreachable {
                timeout,
                error: "timed out connecting".into(),
            })
        }
    };
    let read = async {
        let names = client.list_children(path).await?;
        let mut members = Vec::new();
        for name in names {
            if !name.starts_with(MEMBER_PREFIX) {
                continue;
            }
            let child = format!("{}/{name}", path.trim_end_matches('/'));
            match client.get_data(&child).await {
                Ok((data, _)) => members.push(Member { name, data }),
                // Gone between listing and reading: a scheduler that just left.
                Err(zookeeper_client::Error::NoNode) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(members)
    };
    match tokio::time::timeout_at(deadline, read).await {
        Ok(Ok(members)) => Ok(members),
        Ok(Err(zookeeper_client::Error::NoNode)) => Err(DiscoveryError::NoPath),
        Ok(Err(e)) => Err(DiscoveryError::Read {
            error: e.to_string(),
        }),
        Err(_) => Err(DiscoveryError::Read {
            error: format!("timed out after {} s", timeout.as_secs_f64()),
        }),
    }
}

/// The leader's base URL under `path` in the ensemble, within `timeout`.
pub fn discover_leader(
    ensemble: &Ensemble,
    path: &str,
    timeout: Duration,
) -> Result<String, DiscoveryError> {
    let members = read_members(ensemble, path, timeout)?;
    leader_url(path, &members)
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

    const LEADER: &str = r#"{"serviceEndpoint": {"host": "s1", "port": 8081},
        "additionalEndpoints": {"http": {"host": "s1", "port": 8081}}, "status": "ALIVE"}"#;

    #[test]
    fn the_leader_url_follows_the_members_as_aurora_reads_them() {
        // (members, expected URL or the start of the error message); api-reference §1.5 and
        // client-reference §6.2 item 2.
        let cases: Vec<(Vec<Member>, Result<&str, &str>)> = vec![
            (
                vec![member("member_0000000001", LEADER)],
                Ok("http://s1:8081"),
            ),
            (
                vec![member(
                    "member_0000000001",
                    r#"{"serviceEndpoint": {"host": "s1", "port": 8081},
                        "additionalEndpoints": {"http": {"host": "s1", "port": 8081},
                                                "https": {"host": "lb.example", "port": 443}},
                        "status": "ALIVE"}"#,
                )],
                Ok("https://lb.example:443"),
            ),
            (
                vec![member(
                    "member_0000000001",
                    r#"{"serviceEndpoint": {"host": "s2", "port": 9000}, "status": "ALIVE"}"#,
                )],
                Ok("http://s2:9000"),
            ),
            (
                vec![member(
                    "member_0000000001",
                    r#"{"serviceEndpoint": {"host": "::1", "port": 8081}}"#,
                )],
                Ok("http://[::1]:8081"),
            ),
            // Other children (a lock, a leftover) are not members.
            (
                vec![
                    member("lock", "not json"),
                    member("member_0000000007", LEADER),
                ],
                Ok("http://s1:8081"),
            ),
            (vec![], Err("no leader: the path has no member_*")),
            (
                vec![member("other", "{}")],
                Err("no leader: the path has no member_*"),
            ),
            (
                vec![member(
                    "member_0000000001",
                    r#"{"serviceEndpoint": {"host": "s1", "port": 8081}, "status": "DEAD"}"#,
                )],
                Err("no leader: no member is ALIVE (/aurora/scheduler/member_0000000001)"),
            ),
            (
                vec![
                    member("member_0000000002", LEADER),
                    member("member_0000000001", LEADER),
                ],
                Err(
                    "no leader: 2 members are ALIVE (/aurora/scheduler/member_0000000001, \
                     /aurora/scheduler/member_0000000002)",
                ),
            ),
            (
                vec![member("member_0000000003", "{not json")],
                Err("member /aurora/scheduler/member_0000000003 is not Aurora's ServerSet JSON"),
            ),
            (
                vec![member("member_0000000003", r#"{"status": "ALIVE"}"#)],
                Err("member /aurora/scheduler/member_0000000003 is not Aurora's ServerSet JSON"),
            ),
            (
                vec![member(
                    "member_0000000003",
                    r#"{"serviceEndpoint": {"host": "s1", "port": 99999}}"#,
                )],
                Err("member /aurora/scheduler/member_0000000003 is not Aurora's ServerSet JSON"),
            ),
        ];
        for (members, expected) in cases {
            let got = leader_url("/aurora/scheduler/", &members);
            match (expected, &got) {
                (Ok(url), Ok(got)) => assert_eq!(got, url, "{members:?}"),
                (Err(start), Err(e)) => {
                    let msg = e.to_string();
                    assert!(msg.starts_with(start), "{msg}\nexpected: {start}");
                }
                _ => panic!("{members:?}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn the_connect_string_appends_the_port_to_each_host() {
        let ensemble = Ensemble::new(" zk1, zk2 ,,zk3", 2181);
        assert_eq!(ensemble.hosts, vec!["zk1", "zk2", "zk3"]);
        assert_eq!(ensemble.connect_string(), "zk1:2181,zk2:2181,zk3:2181");
        assert_eq!(Ensemble::new("h", 9).connect_string(), "h:9");
    }

    #[test]
    fn an_ensemble_that_does_not_answer_is_unreachable_within_the_bound() {
        // A loopback port with nothing listening: closed at once.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let started = std::time::Instant::now();
        let e = discover_leader(
            &Ensemble::new("127.0.0.1", port),
            "/aurora/scheduler",
            Duration::from_millis(1500),
        )
        .unwrap_err();
        assert!(
            matches!(e, DiscoveryError::Unreachable { .. }),
            "{e:?}: {e}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{e}");
    }
}
