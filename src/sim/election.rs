//! aurora-sim in ZooKeeper as Aurora's schedulers are (api-reference §1.5, client-reference §6.2):
//! each simulator started with `--zk` is a candidate in the leader election under `--zk-path`,
//! the leader alone advertises itself there as a ServerSet `member_` with its URL, and the
//! followers redirect to the member they read. Which candidate leads, and what a follower makes
//! of the members, are pure functions ([`standing`], [`follower_leadership`]); the ZooKeeper
//! session around them is [`Election::run`].
//!
//! Aurora's source (github:apache/aurora) this follows:
//! - `scheduler/discovery/CuratorSingletonService.java`: the election is Curator's
//!   `LeaderSelector` on the serverset path itself, whose candidates are ephemeral sequential
//!   `_c_<uuid>-lock-<sequence>` znodes holding the candidate's host name; the lowest sequence
//!   leads. The leader then advertises one EPHEMERAL_SEQUENTIAL `member_<sequence>` znode (no
//!   GUID protection, so that clients see the `member_` prefix) with the ServerSet JSON of its
//!   endpoint and `additionalEndpoints` (`http`). Only a `LOST` session is fatal, not a
//!   connection blip (`SUSPENDED`).
//! - `scheduler/SchedulerLifecycle.java`: `onDefeated()` ("Lost leadership, committing suicide.")
//!   moves the lifecycle to DEAD and shuts the process down; on shutdown the leader `leave()`s,
//!   closing its member znode at once. So a leader that loses its session exits here too.
//!   The `LeaderSelector`'s listener is registered for every candidate, so Aurora's followers
//!   also exit on a lost session, and their supervisor starts them again as new candidates; a
//!   follower here holds no state, so it joins the election again in-process, which is what that
//!   restart amounts to.
//! - `scheduler/discovery/FlaggedZooKeeperConfig.java` and `common/zookeeper/ZooKeeperUtils.java`:
//!   `-zk_session_timeout` defaults to 15 s.
//!
//! The election is written here on `zookeeper_client` rather than with its `lock()` recipe
//! (which makes Curator's candidates too) because a follower needs the path's children anyway,
//! for the members, and the choice of leader is then one tested function of what was read.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zookeeper_client::{Acls, Client, CreateMode, SessionState};

use crate::api::zookeeper::{leader_url, Endpoint, Member, ServiceInstance, MEMBER_PREFIX};
use crate::sim::config::SimConfig;
use crate::sim::scheduler::Scheduler;
use crate::sim::server::{Leadership, Seat};

/// Aurora's `-zk_session_timeout` default (`ZooKeeperUtils.DEFAULT_ZK_SESSION_TIMEOUT`).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(15);

/// The lock name of Curator's `LeaderSelector` (`InterProcessMutex`): candidates are
/// `_c_<uuid>-lock-<sequence>`.
const CANDIDATE_LOCK_NAME: &str = "lock-";
/// Curator's protection prefix (`CreateBuilder.withProtection`), followed by a UUID and `-`.
const CURATOR_PROTECTION_PREFIX: &str = "_c_";
/// The longest pause between attempts to reach ZooKeeper.
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(5);

/// The scheduler a process serves from when it becomes leader: the cluster's recovered state, as
/// Aurora's leader recovers from its replicated log (`SchedulerLifecycle`'s `handleLeading`
/// starts its storage). The one place a leading simulator gets its state; today a fresh one.
pub fn recover_scheduler(config: &SimConfig) -> anyhow::Result<Scheduler> {
    Scheduler::new(config)
}

/// Where this candidate stands among the children of the election path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Leading,
    Following,
    /// Its candidate znode is not among them: its session is gone.
    Gone,
}

/// The sequence of a candidate znode (the digits after Curator's lock name), or `None` for any
/// other child (the `member_`s, leftovers).
fn candidate_sequence(name: &str) -> Option<&str> {
    let (_, sequence) = name.rsplit_once(CANDIDATE_LOCK_NAME)?;
    (!sequence.is_empty() && sequence.bytes().all(|b| b.is_ascii_digit())).then_some(sequence)
}

/// The candidate that leads among `children`: the lowest sequence, as Curator's `LockInternals`
/// orders them (`StandardLockInternalsDriver.fixForSorting`: the part after the lock name).
/// Curator sorts every child so; members, whose names lack the lock name, sort after the
/// candidates' digits and never lead, so they are left out here.
pub fn leading_candidate(children: &[String]) -> Option<&str> {
    children
        .iter()
        .filter_map(|name| candidate_sequence(name).map(|sequence| (sequence, name)))
        // Same-width zero-padded sequences compare as numbers; ZooKeeper widens them only past
        // i32::MAX, and a longer one is a larger number.
        .min_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)))
        .map(|(_, name)| name.as_str())
}

/// Where the candidate `own` stands among the children read.
pub fn standing(own: &str, children: &[String]) -> Standing {
    if !children.iter().any(|name| name == own) {
        Standing::Gone
    } else if leading_candidate(children) == Some(own) {
        Standing::Leading
    } else {
        Standing::Following
    }
}

/// What a follower answers, from the members read under `path`: 307 to the leader's URL when
/// they name one, as Aurora's `LeaderRedirect` reads the serverset; 503 otherwise.
pub fn follower_leadership(path: &str, members: &[Member]) -> Leadership {
    match leader_url(path, members) {
        Ok(url) => Leadership::RedirectTo(url),
        Err(_) => Leadership::NoLeader,
    }
}

/// The ServerSet JSON the leader advertises: its endpoint, and the same as `http`
/// (`CuratorSingletonService.Advertiser`; the `-serverset_endpoint_name` default).
pub fn advertisement(host: &str, port: u16) -> ServiceInstance {
    let endpoint = Endpoint {
        host: host.to_string(),
        port,
    };
    ServiceInstance {
        service_endpoint: endpoint.clone(),
        additional_endpoints: [("http".to_string(), endpoint)].into(),
        status: Some("ALIVE".to_string()),
        shard: None,
    }
}

/// What `aurora-sim --zk` was given.
#[derive(Clone, Debug)]
pub struct ElectionConfig {
    /// `HOST:PORT[,HOST:PORT...]`, Aurora's `-zk_endpoints`.
    pub connect: String,
    /// Aurora's `-serverset_path`.
    pub path: String,
    pub session_timeout: Duration,
    /// The host and port this simulator serves on, advertised when it leads.
    pub host: String,
    pub port: u16,
}

/// Why the process must stop, as Aurora's scheduler does.
#[derive(Debug)]
pub enum Defeat {
    /// The leader's ZooKeeper session was lost (`onDefeated`).
    LostLeadership(String),
    /// Becoming leader failed (recovering the scheduler or advertising): Aurora's `dieOnError`.
    CannotLead(String),
}

impl std::fmt::Display for Defeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Defeat::LostLeadership(why) => write!(
                f,
                "lost leadership ({why}); stopping, as Aurora's scheduler does \
                 (SchedulerLifecycle: \"Lost leadership, committing suicide.\")"
            ),
            Defeat::CannotLead(why) => write!(f, "elected leader but cannot lead: {why}"),
        }
    }
}

impl std::error::Error for Defeat {}

/// How one ZooKeeper session ended.
enum SessionEnd {
    Stopped,
    /// A follower's session expired: it joins again with a new one.
    FollowerExpired(String),
}

/// One simulator's part in the election, for the life of the process.
pub struct Election {
    config: ElectionConfig,
    seat: Arc<Seat>,
}

fn log(message: impl std::fmt::Display) {
    eprintln!("aurora-sim: zookeeper: {message}");
}

impl Election {
    pub fn new(config: ElectionConfig, seat: Arc<Seat>) -> Election {
        Election { config, seat }
    }

    /// Takes part until `stop` turns true (then leaves: its znodes are deleted at once) or until
    /// this process must stop as Aurora's scheduler would ([`Defeat`]). `recover` gives the
    /// scheduler this process serves when it becomes leader.
    pub async fn run(
        &self,
        recover: impl Fn() -> anyhow::Result<Scheduler>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), Defeat> {
        let mut pause = Duration::from_millis(200);
        loop {
            self.seat.follow(Leadership::NoLeader);
            let connector = Client::connector()
                .with_session_timeout(self.config.session_timeout)
                .with_connection_timeout(self.config.session_timeout.min(Duration::from_secs(4)));
            let connected = tokio::select! {
                connected = connector.connect(&self.config.connect) => connected,
                _ = stop.wait_for(|stop| *stop) => return Ok(()),
            };
            let client = match connected {
                Ok(client) => client,
                Err(e) => {
                    log(format_args!(
                        "cannot reach {} ({e}); trying again in {} ms",
                        self.config.connect,
                        pause.as_millis()
                    ));
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.wait_for(|stop| *stop) => return Ok(()),
                    }
                    pause = (pause * 2).min(MAX_RECONNECT_PAUSE);
                    continue;
                }
            };
            pause = Duration::from_millis(200);
            log(format_args!(
                "session 0x{:x} with {} (timeout {} ms)",
                client.session_id().0,
                self.config.connect,
                client.session_timeout().as_millis()
            ));
            match self.in_session(&client, &recover, &mut stop).await? {
                SessionEnd::Stopped => return Ok(()),
                SessionEnd::FollowerExpired(why) => {
                    log(format_args!(
                        "follower's session ended ({why}); joining the election again"
                    ));
                }
            }
        }
    }

    async fn in_session(
        &self,
        client: &Client,
        recover: &impl Fn() -> anyhow::Result<Scheduler>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<SessionEnd, Defeat> {
        let path = self.config.path.trim_end_matches('/');
        let mut state = client.state_watcher();
        let own = match self.become_candidate(client, path).await {
            Ok(own) => own,
            Err(e) => return Ok(SessionEnd::FollowerExpired(e.to_string())),
        };
        log(format_args!("candidate {path}/{own}"));
        // Following: watch the children until this candidate leads.
        loop {
            let (children, watcher) = match client.list_and_watch_children(path).await {
                Ok(read) => read,
                Err(e) => return Ok(SessionEnd::FollowerExpired(e.to_string())),
            };
            match standing(&own, &children) {
                Standing::Leading => break,
                Standing::Gone => {
                    return Ok(SessionEnd::FollowerExpired(format!(
                        "candidate {path}/{own} is gone"
                    )))
                }
                Standing::Following => {
                    let members = read_members(client, path, &children).await;
                    let leadership = follower_leadership(path, &members);
                    if leadership != self.seat.leadership() {
                        match &leadership {
                            Leadership::RedirectTo(url) => {
                                log(format_args!("following; the leader is {url}"))
                            }
                            _ => log("following; no leader advertised yet"),
                        }
                    }
                    self.seat.follow(leadership);
                }
            }
            tokio::select! {
                _ = watcher.changed() => {}
                ended = session_ends(&mut state, client.session_timeout()) => {
                    return Ok(SessionEnd::FollowerExpired(ended));
                }
                _ = stop.wait_for(|stop| *stop) => {
                    leave(client, path, &[&own]).await;
                    return Ok(SessionEnd::Stopped);
                }
            }
        }
        // Leading: recover the cluster's state, serve it, then advertise.
        log(format_args!(
            "elected leader of {path}; recovering the scheduler"
        ));
        let scheduler = recover().map_err(|e| Defeat::CannotLead(format!("{e:#}")))?;
        self.seat.lead(scheduler);
        let data = serde_json::to_vec(&advertisement(&self.config.host, self.config.port))
            .map_err(|e| Defeat::CannotLead(e.to_string()))?;
        let member = client
            .create(
                &format!("{path}/{MEMBER_PREFIX}"),
                &data,
                &CreateMode::EphemeralSequential.with_acls(Acls::anyone_all()),
            )
            .await
            .map(|(_, sequence)| format!("{MEMBER_PREFIX}{sequence}"))
            .map_err(|e| Defeat::CannotLead(format!("cannot advertise under {path}: {e}")))?;
        log(format_args!(
            "leading; advertised {path}/{member} as http://{}:{}",
            self.config.host, self.config.port
        ));
        tokio::select! {
            ended = session_ends(&mut state, client.session_timeout()) => {
                Err(Defeat::LostLeadership(ended))
            }
            _ = stop.wait_for(|stop| *stop) => {
                leave(client, path, &[&member, &own]).await;
                Ok(SessionEnd::Stopped)
            }
        }
    }

    /// Creates this process's candidate znode (the path first, when missing) and returns its name.
    async fn become_candidate(
        &self,
        client: &Client,
        path: &str,
    ) -> Result<String, zookeeper_client::Error> {
        client
            .mkdir(path, &CreateMode::Persistent.with_acls(Acls::anyone_all()))
            .await?;
        let prefix = format!(
            "{CURATOR_PROTECTION_PREFIX}{}-{CANDIDATE_LOCK_NAME}",
            uuid::Uuid::new_v4()
        );
        let (_, sequence) = client
            .create(
                &format!("{path}/{prefix}"),
                self.config.host.as_bytes(),
                &CreateMode::EphemeralSequential.with_acls(Acls::anyone_all()),
            )
            .await?;
        Ok(format!("{prefix}{sequence}"))
    }
}

/// The `member_` children with their data; one that vanished meanwhile is left out.
async fn read_members(client: &Client, path: &str, children: &[String]) -> Vec<Member> {
    let mut members = Vec::new();
    for name in children.iter().filter(|n| n.starts_with(MEMBER_PREFIX)) {
        if let Ok((data, _)) = client.get_data(&format!("{path}/{name}")).await {
            members.push(Member {
                name: name.clone(),
                data,
            });
        }
    }
    members
}

/// Waits until the session is over: expired or closed, or disconnected for longer than its
/// timeout (by then the ensemble has expired it; Curator 3's standard policy counts that as
/// `LOST` too). A disconnection that heals in time is a blip, as Aurora treats `SUSPENDED`.
async fn session_ends(state: &mut zookeeper_client::StateWatcher, timeout: Duration) -> String {
    let mut disconnected_since = None;
    loop {
        let current = state.peek_state();
        match current {
            SessionState::Expired => return "ZooKeeper session expired".into(),
            SessionState::Closed | SessionState::AuthFailed => {
                return format!("ZooKeeper session {current:?}")
            }
            SessionState::Disconnected => {
                disconnected_since.get_or_insert_with(tokio::time::Instant::now);
            }
            _ => disconnected_since = None,
        }
        match disconnected_since {
            Some(since) => {
                tokio::select! {
                    _ = state.changed() => {}
                    _ = tokio::time::sleep_until(since + timeout) => {
                        return format!(
                            "disconnected from ZooKeeper for longer than the session timeout ({} ms)",
                            timeout.as_millis()
                        );
                    }
                }
            }
            None => {
                state.changed().await;
            }
        }
    }
}

/// Deletes this process's znodes so that the others see it gone at once, as Aurora's leader does
/// on shutdown (`LeaderControl.leave`); the session closes when the client is dropped.
async fn leave(client: &Client, path: &str, names: &[&str]) {
    for name in names {
        let znode = format!("{path}/{name}");
        match client.delete(&znode, None).await {
            Ok(()) | Err(zookeeper_client::Error::NoNode) => log(format_args!("left: {znode}")),
            Err(e) => log(format_args!(
                "could not delete {znode} ({e}); it goes with the session"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const A: &str = "_c_0f1e2d3c-aaaa-4bbb-8ccc-000000000001-lock-0000000003";
    const B: &str = "_c_5a6b7c8d-aaaa-4bbb-8ccc-000000000002-lock-0000000001";
    const C: &str = "_c_9e8d7c6b-aaaa-4bbb-8ccc-000000000003-lock-0000000002";

    #[test]
    fn the_lowest_candidate_sequence_leads_whatever_the_uuid() {
        // (children, expected leader): Curator's LeaderSelector order (CuratorSingletonService).
        let cases: Vec<(Vec<String>, Option<&str>)> = vec![
            (names(&[]), None),
            (names(&[A]), Some(A)),
            (names(&[A, B, C]), Some(B)),
            (names(&[C, A]), Some(C)),
            // The leader's member and leftovers are not candidates.
            (
                names(&["member_0000000000", A, "lock", "zk-lock-"]),
                Some(A),
            ),
            (names(&["member_0000000000"]), None),
            // A sequence past i32::MAX is written wider, and is larger.
            (
                names(&["_c_x-lock-0000000000000000001", "_c_y-lock-2147483647"]),
                Some("_c_y-lock-2147483647"),
            ),
            // Without Curator's protection prefix, as a plain lock- candidate.
            (names(&["lock-0000000009", A]), Some(A)),
        ];
        for (children, expected) in cases {
            assert_eq!(leading_candidate(&children), expected, "{children:?}");
        }
    }

    #[test]
    fn a_candidate_leads_follows_or_is_gone() {
        let all = names(&["member_0000000004", A, B, C]);
        assert_eq!(standing(B, &all), Standing::Leading);
        assert_eq!(standing(A, &all), Standing::Following);
        assert_eq!(standing(C, &all), Standing::Following);
        // Its session expired: its ephemeral candidate went with it.
        assert_eq!(standing(A, &names(&[B, C])), Standing::Gone);
        // The leader left: the next lowest leads.
        assert_eq!(standing(C, &names(&[A, C])), Standing::Leading);
    }

    fn member(name: &str, instance: &ServiceInstance) -> Member {
        Member {
            name: name.into(),
            data: serde_json::to_vec(instance).unwrap(),
        }
    }

    #[test]
    fn a_follower_redirects_to_the_single_advertised_leader_or_answers_no_leader() {
        // api-reference §1.5: the leader is the single member; none or several is no leader.
        let leader = advertisement("127.0.0.1", 40123);
        let other = advertisement("127.0.0.1", 40124);
        let cases: Vec<(Vec<Member>, Leadership)> = vec![
            (
                vec![member("member_0000000001", &leader)],
                Leadership::RedirectTo("http://127.0.0.1:40123".into()),
            ),
            (vec![], Leadership::NoLeader),
            (
                vec![
                    member("member_0000000001", &leader),
                    member("member_0000000002", &other),
                ],
                Leadership::NoLeader,
            ),
            (
                vec![Member {
                    name: "member_0000000001".into(),
                    data: b"{not json".to_vec(),
                }],
                Leadership::NoLeader,
            ),
        ];
        for (members, expected) in cases {
            assert_eq!(
                follower_leadership("/aurora/scheduler", &members),
                expected,
                "{members:?}"
            );
        }
    }

    #[test]
    fn the_advertisement_is_the_serverset_json_aurora_clients_read() {
        let json = serde_json::to_value(advertisement("127.0.0.1", 8081)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "serviceEndpoint": {"host": "127.0.0.1", "port": 8081},
                "additionalEndpoints": {"http": {"host": "127.0.0.1", "port": 8081}},
                "status": "ALIVE"
            })
        );
        let members = [Member {
            name: "member_0000000000".into(),
            data: serde_json::to_vec(&json).unwrap(),
        }];
        assert_eq!(
            leader_url("/aurora/scheduler", &members).unwrap(),
            "http://127.0.0.1:8081"
        );
    }
}
