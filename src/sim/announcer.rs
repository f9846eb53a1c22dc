//! The executor's announcer, played for every host: each RUNNING task whose Thermos config has
//! `announce` is a ServerSet member in ZooKeeper, as Aurora's executor makes it
//! (client-reference §1.8.2 "Announcer"; Aurora's
//! src/main/python/apache/aurora/executor/common/announcer.py and
//! executor/bin/thermos_executor_main.py, whose `--announcer-*` flags `AnnouncerFlags` mirrors).
//!
//! Which members should exist is a pure function of the tasks ([`announcements`]), computed under
//! the scheduler's lock after every call and tick and handed over a watch channel; one async task
//! ([`Announcer`]) reconciles ZooKeeper with it, outside the lock.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use zookeeper_client::{Acls, Client, CreateMode, Error as ZkError};

use crate::api::types::{JobKey, ScheduleStatus};
use crate::api::zookeeper::{Endpoint, ServiceInstance, MEMBER_PREFIX};

/// The executor's `--announcer-*` flags (thermos_executor_main.py), for every simulated host.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnouncerFlags {
    /// `--announcer-ensemble`: the connect string, `host:port,...`.
    pub ensemble: String,
    /// `--announcer-serverset-path` (default `/aurora`): members go under ROOT/ROLE/ENV/JOB.
    pub serverset_path: String,
    /// `--announcer-allow-custom-serverset-path`: whether `announce.zk_path` is honoured.
    pub allow_custom_serverset_path: bool,
    /// `--announcer-hostname`: announced instead of the agent's host name.
    pub hostname: Option<String>,
}

/// What the announcer needs of one task.
#[derive(Clone, Debug)]
pub struct TaskView<'a> {
    pub id: &'a str,
    pub job: &'a JobKey,
    pub instance: i32,
    pub status: ScheduleStatus,
    /// The agent's host name (AssignedTask.slaveHost).
    pub host: Option<&'a str>,
    /// AssignedTask.assignedPorts.
    pub ports: &'a BTreeMap<String, i32>,
    /// TaskConfig.executorConfig.data, the Thermos JSON (client-reference §1.8).
    pub executor_data: Option<&'a str>,
}

/// One member to hold: the ServerSet path it goes under and its data.
#[derive(Clone, Debug, PartialEq)]
pub struct Announcement {
    pub path: String,
    pub member: ServiceInstance,
}

/// The members that should exist, by task id.
pub type Announcements = BTreeMap<String, Announcement>;

/// The members the tasks should have now. The executor starts its announcer with the task's
/// status checkers, just before it reports RUNNING, and stops it when the task shuts down
/// (aurora_executor.py `_start_status_manager`, `_shutdown`): so a task is announced while it is
/// RUNNING, and not once killed, finished, failed, lost, drained or replaced.
///
/// A task whose `announce.zk_path` is refused (no `--announcer-allow-custom-serverset-path`) is
/// not announced; Aurora's executor stops on it with an error instead.
pub fn announcements<'a>(
    tasks: impl IntoIterator<Item = TaskView<'a>>,
    flags: &AnnouncerFlags,
) -> Announcements {
    tasks
        .into_iter()
        .filter(|t| t.status == ScheduleStatus::RUNNING)
        .filter_map(|t| Some((t.id.to_string(), announcement(&t, flags)?)))
        .collect()
}

/// AnnouncerCheckerProvider.from_assigned_task: the path, the endpoints and the shard.
fn announcement(task: &TaskView, flags: &AnnouncerFlags) -> Option<Announcement> {
    let doc: Value = serde_json::from_str(task.executor_data?).ok()?;
    let announce = doc.get("announce").filter(|a| a.is_object())?;
    let path = match announce.get("zk_path").and_then(Value::as_str) {
        Some(custom) if flags.allow_custom_serverset_path => custom.to_string(),
        Some(_) => return None,
        None => format!(
            "{}/{}/{}/{}",
            flags.serverset_path.trim_end_matches('/'),
            task.job.role.as_deref().unwrap_or_default(),
            task.job.environment.as_deref().unwrap_or_default(),
            task.job.name.as_deref().unwrap_or_default()
        ),
    };
    let host = flags.hostname.as_deref().or(task.host)?.to_string();
    let portmap = resolve_ports(announce.get("portmap"), task.ports);
    let endpoint = |port: u16| Endpoint {
        host: host.clone(),
        port,
    };
    let primary_port = announce
        .get("primary_port")
        .and_then(Value::as_str)
        .unwrap_or("http");
    // make_endpoints: port 0 when the primary port was not allocated.
    let service_endpoint = endpoint(portmap.get(primary_port).copied().unwrap_or(0));
    let additional_endpoints = portmap
        .iter()
        .map(|(name, port)| (name.clone(), endpoint(*port)))
        .collect();
    Some(Announcement {
        path,
        member: ServiceInstance {
            service_endpoint,
            additional_endpoints,
            status: Some("ALIVE".into()),
            shard: Some(task.instance),
        },
    })
}

/// task_info.resolve_ports with config/port_resolver.py: the announcer's portmap overlaid with the
/// assigned ports, aliases followed to a number; names that end nowhere (or in a loop) are left
/// out, as the executor leaves out what is not an integer.
fn resolve_ports(
    portmap: Option<&Value>,
    assigned: &BTreeMap<String, i32>,
) -> BTreeMap<String, u16> {
    #[derive(Clone)]
    enum Target {
        Port(i64),
        Alias(String),
    }
    let mut map: BTreeMap<String, Target> = BTreeMap::new();
    for (name, value) in portmap.and_then(Value::as_object).into_iter().flatten() {
        let target = match value {
            Value::Number(n) => n.as_i64().map(Target::Port),
            Value::String(s) => Some(
                s.trim()
                    .parse::<i64>()
                    .map(Target::Port)
                    .unwrap_or_else(|_| Target::Alias(s.clone())),
            ),
            _ => None,
        };
        if let Some(target) = target {
            map.insert(name.clone(), target);
        }
    }
    for (name, port) in assigned {
        map.insert(name.clone(), Target::Port(i64::from(*port)));
    }
    let resolve = |start: &str| {
        let mut target = map.get(start)?;
        for _ in 0..=map.len() {
            match target {
                Target::Port(port) => return u16::try_from(*port).ok(),
                Target::Alias(next) => target = map.get(next)?,
            }
        }
        None // a loop
    };
    map.keys()
        .filter_map(|name| Some((name.clone(), resolve(name)?)))
        .collect()
}

/// How often the announcer checks that its members still exist, besides reconciling on every
/// change: a member deleted behind its back is joined again, as Aurora's e2e test
/// (src/test/sh/org/apache/aurora/e2e/validate_serverset.py) expects of the executor.
const RECHECK: Duration = Duration::from_secs(1);
/// How long a ZooKeeper session may stay silent; also the bound on connecting.
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for the members to be removed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The announcer task and the channel it is told the desired members on.
pub struct Announcer {
    flags: AnnouncerFlags,
    desired: watch::Sender<Announcements>,
    stopping: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Announcer {
    /// Starts the announcer on the current tokio runtime.
    pub fn start(flags: AnnouncerFlags) -> Announcer {
        let (desired, desired_rx) = watch::channel(Announcements::new());
        let (stopping, stopping_rx) = watch::channel(false);
        let task = tokio::spawn(reconcile_loop(flags.clone(), desired_rx, stopping_rx));
        Announcer {
            flags,
            desired,
            stopping,
            task: Mutex::new(Some(task)),
        }
    }

    pub fn flags(&self) -> &AnnouncerFlags {
        &self.flags
    }

    /// Hands over the members that should exist; no I/O, so it may run under the scheduler's lock.
    pub fn publish(&self, announcements: Announcements) {
        self.desired.send_if_modified(|current| {
            let changed = *current != announcements;
            if changed {
                *current = announcements;
            }
            changed
        });
    }

    /// Removes the members (the executor cancels its membership on stop) and ends the task,
    /// within `STOP_GRACE`.
    pub async fn stop(&self) {
        let _ = self.stopping.send(true);
        let task = self
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(mut task) = task {
            if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

/// The members this session holds: the announcement each stands for and its znode.
type Held = BTreeMap<String, (Announcement, String)>;

async fn reconcile_loop(
    flags: AnnouncerFlags,
    mut desired: watch::Receiver<Announcements>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut session: Option<Client> = None;
    let mut held = Held::new();
    let mut last_error = String::new();
    loop {
        if *stopping.borrow() {
            break;
        }
        if session.as_ref().is_some_and(|c| c.state().is_terminated()) {
            // Session expired: its ephemeral members are gone, so every one is joined again, as
            // Aurora's Announcer.on_expiration does (announcer.py: membership dropped, rejoin).
            eprintln!("aurora-sim: announcer: ZooKeeper session ended; announcing again");
            session = None;
            held.clear();
        }
        if session.is_none() {
            session = connect(&flags.ensemble)
                .await
                .map_err(|e| report(&mut last_error, e))
                .ok();
        }
        if let Some(client) = &session {
            let want = desired.borrow_and_update().clone();
            match reconcile(client, &mut held, &want).await {
                Ok(()) => last_error.clear(),
                Err(e) => report(&mut last_error, e),
            }
        }
        tokio::select! {
            changed = desired.changed() => if changed.is_err() { break },
            _ = stopping.changed() => {}
            () = tokio::time::sleep(RECHECK) => {}
        }
    }
    if let Some(client) = session {
        for (_, znode) in held.values() {
            let _ = client.delete(znode, None).await;
        }
    }
}

/// Logs an error once until it changes, so that an unreachable ensemble does not flood stderr.
fn report(last: &mut String, error: String) {
    if *last != error {
        eprintln!("aurora-sim: announcer: {error}");
        *last = error;
    }
}

async fn connect(ensemble: &str) -> Result<Client, String> {
    let connector = Client::connector()
        .with_session_timeout(SESSION_TIMEOUT)
        .with_connection_timeout(Duration::from_secs(4));
    tokio::time::timeout(SESSION_TIMEOUT, connector.connect(ensemble))
        .await
        .map_err(|_| format!("timed out connecting to ZooKeeper at {ensemble}"))?
        .map_err(|e| format!("cannot connect to ZooKeeper at {ensemble}: {e}"))
}

/// Brings the session's members to `want`: members no longer wanted (or changed, or deleted by
/// someone else) are removed, missing ones created as ServerSet.join does, an ephemeral
/// sequential `member_` under the path, its parents created first (kazoo's makepath).
async fn reconcile(client: &Client, held: &mut Held, want: &Announcements) -> Result<(), String> {
    let mut gone = Vec::new();
    for (id, (announcement, znode)) in held.iter() {
        if want.get(id) != Some(announcement) {
            match client.delete(znode, None).await {
                Ok(()) | Err(ZkError::NoNode) => gone.push(id.clone()),
                Err(e) => return Err(format!("removing {znode}: {e}")),
            }
        } else if client
            .check_stat(znode)
            .await
            .map_err(|e| format!("checking {znode}: {e}"))?
            .is_none()
        {
            gone.push(id.clone());
        }
    }
    for id in gone {
        held.remove(&id);
    }
    let open = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let member = CreateMode::EphemeralSequential.with_acls(Acls::anyone_all());
    for (id, announcement) in want {
        if held.contains_key(id) {
            continue;
        }
        let path = announcement.path.trim_end_matches('/');
        let data = serde_json::to_vec(&announcement.member).map_err(|e| e.to_string())?;
        let prefix = format!("{path}/{MEMBER_PREFIX}");
        let created = match client.create(&prefix, &data, &member).await {
            Err(ZkError::NoNode) => {
                client
                    .mkdir(path, &open)
                    .await
                    .map_err(|e| format!("creating {path}: {e}"))?;
                client.create(&prefix, &data, &member).await
            }
            other => other,
        };
        let (_, sequence) = created.map_err(|e| format!("announcing in {path}: {e}"))?;
        held.insert(
            id.clone(),
            (announcement.clone(), format!("{prefix}{sequence}")),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> AnnouncerFlags {
        AnnouncerFlags {
            ensemble: "127.0.0.1:2181".into(),
            serverset_path: "/aurora".into(),
            allow_custom_serverset_path: false,
            hostname: None,
        }
    }

    fn job() -> JobKey {
        JobKey {
            role: Some("ml".into()),
            environment: Some("devel".into()),
            name: Some("tuner-master".into()),
        }
    }

    fn endpoint(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
        }
    }

    /// The announcement of one task (instance 2 on host-002) with the given status, executor JSON
    /// and assigned ports, under `flags`.
    fn announced(
        status: ScheduleStatus,
        data: &str,
        ports: &[(&str, i32)],
        flags: &AnnouncerFlags,
    ) -> Option<Announcement> {
        let job = job();
        let ports: BTreeMap<String, i32> = ports.iter().map(|(n, p)| (n.to_string(), *p)).collect();
        let task = TaskView {
            id: "ml-devel-tuner-master-2-x",
            job: &job,
            instance: 2,
            status,
            host: Some("host-002"),
            ports: &ports,
            executor_data: Some(data),
        };
        announcements([task], flags).remove("ml-devel-tuner-master-2-x")
    }

    const DEFAULT: &str =
        r#"{"announce": {"primary_port": "http", "portmap": {"aurora": "http"}}}"#;

    #[test]
    fn a_running_task_with_announce_is_one_member_with_its_host_ports_and_shard() {
        // client-reference §1.8.2 Announcer; announcer.py make_endpoints and make_zk_path.
        let got = announced(
            ScheduleStatus::RUNNING,
            DEFAULT,
            &[("http", 31001), ("health", 31002)],
            &flags(),
        )
        .unwrap();
        assert_eq!(got.path, "/aurora/ml/devel/tuner-master");
        assert_eq!(got.member.service_endpoint, endpoint("host-002", 31001));
        assert_eq!(
            got.member.additional_endpoints,
            BTreeMap::from([
                ("aurora".to_string(), endpoint("host-002", 31001)),
                ("health".to_string(), endpoint("host-002", 31002)),
                ("http".to_string(), endpoint("host-002", 31001)),
            ])
        );
        assert_eq!(got.member.status.as_deref(), Some("ALIVE"));
        assert_eq!(got.member.shard, Some(2));
    }

    #[test]
    fn only_running_tasks_are_announced() {
        use ScheduleStatus as S;
        for status in [
            S::INIT,
            S::THROTTLED,
            S::PENDING,
            S::ASSIGNED,
            S::STARTING,
            S::KILLING,
            S::KILLED,
            S::FINISHED,
            S::FAILED,
            S::LOST,
            S::DRAINING,
            S::RESTARTING,
            S::PREEMPTING,
            S::PARTITIONED,
        ] {
            assert_eq!(
                announced(status, DEFAULT, &[("http", 31001)], &flags()),
                None,
                "{status:?}"
            );
        }
        assert!(announced(S::RUNNING, DEFAULT, &[("http", 31001)], &flags()).is_some());
    }

    #[test]
    fn the_path_and_endpoints_follow_the_config_and_the_flags() {
        // (executor JSON, assigned ports, flags, expected path, primary endpoint, additional
        // ports by name) or None for no member; announcer.py and port_resolver.py.
        let allow = AnnouncerFlags {
            allow_custom_serverset_path: true,
            ..flags()
        };
        let renamed = AnnouncerFlags {
            hostname: Some("edge.example".into()),
            serverset_path: "/serversets/".into(),
            ..flags()
        };
        type Case<'a> = (
            &'a str,
            Vec<(&'a str, i32)>,
            AnnouncerFlags,
            Option<(&'a str, (&'a str, u16), Vec<(&'a str, u16)>)>,
        );
        let cases: Vec<Case> = vec![
            // No announce, or null: nothing.
            (r#"{"task": {}}"#, vec![("http", 1)], flags(), None),
            (r#"{"announce": null}"#, vec![("http", 1)], flags(), None),
            // Not the Thermos JSON (another executor): nothing.
            ("not json", vec![("http", 1)], flags(), None),
            // A custom path only with --announcer-allow-custom-serverset-path.
            (
                r#"{"announce": {"primary_port": "http", "zk_path": "/custom/tuner"}}"#,
                vec![("http", 31000)],
                flags(),
                None,
            ),
            (
                r#"{"announce": {"primary_port": "http", "zk_path": "/custom/tuner"}}"#,
                vec![("http", 31000)],
                allow.clone(),
                Some(("/custom/tuner", ("host-002", 31000), vec![("http", 31000)])),
            ),
            // --announcer-hostname and the serverset root.
            (
                DEFAULT,
                vec![("http", 31000)],
                renamed,
                Some((
                    "/serversets/ml/devel/tuner-master",
                    ("edge.example", 31000),
                    vec![("aurora", 31000), ("http", 31000)],
                )),
            ),
            // A primary port that was not assigned is announced as port 0 (make_endpoints).
            (
                r#"{"announce": {"primary_port": "thrift", "portmap": {}}}"#,
                vec![("http", 31000)],
                flags(),
                Some((
                    "/aurora/ml/devel/tuner-master",
                    ("host-002", 0),
                    vec![("http", 31000)],
                )),
            ),
            // Static ports and alias chains resolve; dangling aliases and loops are left out.
            (
                r#"{"announce": {"primary_port": "web", "portmap":
                    {"web": "aurora", "aurora": "http", "admin": "8080", "stats": 9090,
                     "nowhere": "missing", "a": "b", "b": "a"}}}"#,
                vec![("http", 31005)],
                flags(),
                Some((
                    "/aurora/ml/devel/tuner-master",
                    ("host-002", 31005),
                    vec![
                        ("admin", 8080),
                        ("aurora", 31005),
                        ("http", 31005),
                        ("stats", 9090),
                        ("web", 31005),
                    ],
                )),
            ),
            // An assigned port wins over the portmap's entry of the same name (resolve_ports).
            (
                r#"{"announce": {"primary_port": "http", "portmap": {"http": "80"}}}"#,
                vec![("http", 31007)],
                flags(),
                Some((
                    "/aurora/ml/devel/tuner-master",
                    ("host-002", 31007),
                    vec![("http", 31007)],
                )),
            ),
        ];
        for (data, ports, flags, expected) in cases {
            let got = announced(ScheduleStatus::RUNNING, data, &ports, &flags);
            let expected = expected.map(|(path, (host, port), additional)| Announcement {
                path: path.into(),
                member: ServiceInstance {
                    service_endpoint: endpoint(host, port),
                    additional_endpoints: additional
                        .into_iter()
                        .map(|(name, port)| (name.to_string(), endpoint(host, port)))
                        .collect(),
                    status: Some("ALIVE".into()),
                    shard: Some(2),
                },
            });
            assert_eq!(got, expected, "{data}");
        }
    }

    #[test]
    fn a_member_is_the_serverset_json_with_its_shard() {
        let member = announced(
            ScheduleStatus::RUNNING,
            DEFAULT,
            &[("http", 31001)],
            &flags(),
        )
        .unwrap()
        .member;
        let json: Value = serde_json::to_value(&member).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "serviceEndpoint": {"host": "host-002", "port": 31001},
                "additionalEndpoints": {
                    "aurora": {"host": "host-002", "port": 31001},
                    "http": {"host": "host-002", "port": 31001}
                },
                "status": "ALIVE",
                "shard": 2
            })
        );
    }
}
