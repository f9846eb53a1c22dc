//! `aurora.scheduler.host_info`: the cluster's agent hosts, read-only: each host's maintenance
//! mode, agent id, attributes and active tasks. Two requests whatever the number of hosts: the
//! `/agents` page and one task query.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::host_pages::AgentRow;
use crate::api::types::MaintenanceMode;

use super::support::connection::ConnectionOptions;
use super::support::hosts::{active_tasks_by_host, mode_name, task_json};

pub struct HostInfo;

/// Options of `aurora.scheduler.host_info`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    /// Only these hosts (names as the agents report them); every host of the scheduler's
    /// C(/agents) page when left out. Names the scheduler does not know are listed in
    /// C(unknown_hosts), as the scheduler itself silently ignores them.
    pub hosts: Option<Vec<String>>,

    /// Only the hosts in one of these maintenance modes.
    #[serde(default)]
    pub modes: Vec<ModeFilter>,

    /// Only the hosts that have, for every entry, the attribute with that value (one of its
    /// values), for example C({rack: r1}).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,

    /// Whether to list each host's active tasks in C(tasks); C(task_count) is returned either way.
    #[serde(default = "default_true")]
    pub tasks: bool,
}

fn default_true() -> bool {
    true
}

/// A maintenance mode, as the C(modes) filter names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModeFilter {
    /// In service.
    None,
    /// Marked for maintenance; new tasks go elsewhere when they can.
    Scheduled,
    /// Tasks being moved off.
    Draining,
    /// No active task left.
    Drained,
}

impl ModeFilter {
    fn wire(self) -> MaintenanceMode {
        match self {
            ModeFilter::None => MaintenanceMode::NONE,
            ModeFilter::Scheduled => MaintenanceMode::SCHEDULED,
            ModeFilter::Draining => MaintenanceMode::DRAINING,
            ModeFilter::Drained => MaintenanceMode::DRAINED,
        }
    }
}

/// The hosts the options select among the scheduler's, sorted by name, and the named hosts it
/// does not know, in the order given.
pub fn select_hosts<'a>(
    rows: &'a [AgentRow],
    names: Option<&[String]>,
    modes: &[MaintenanceMode],
    attributes: &BTreeMap<String, String>,
) -> (Vec<&'a AgentRow>, Vec<String>) {
    let by_name: BTreeMap<&str, &AgentRow> = rows.iter().map(|r| (r.host.as_str(), r)).collect();
    let mut unknown = Vec::new();
    let named: Vec<&AgentRow> = match names {
        None => by_name.values().copied().collect(),
        Some(names) => {
            let mut seen = BTreeSet::new();
            let mut found = Vec::new();
            for name in names {
                if !seen.insert(name.as_str()) {
                    continue;
                }
                match by_name.get(name.as_str()) {
                    Some(row) => found.push(*row),
                    None => unknown.push(name.clone()),
                }
            }
            found.sort_by(|a, b| a.host.cmp(&b.host));
            found
        }
    };
    let selected = named
        .into_iter()
        .filter(|row| modes.is_empty() || modes.contains(&row.mode))
        .filter(|row| {
            attributes.iter().all(|(name, value)| {
                row.attributes
                    .get(name)
                    .is_some_and(|values| values.iter().any(|v| v == value))
            })
        })
        .collect();
    (selected, unknown)
}

impl Module for HostInfo {
    const NAME: &'static str = "host_info";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new("List Aurora agent hosts with their maintenance mode and tasks")
            .description(
                "Read-only: lists the agent hosts the scheduler knows (its C(/agents) page, as the \
                 Thrift API cannot list hosts), each with its maintenance mode (C(NONE), \
                 C(SCHEDULED), C(DRAINING), C(DRAINED)), agent id, attributes (such as C(rack)) \
                 and active tasks.",
            )
            .description(
                "Filters on host names, modes and attribute values. The tasks of every host are \
                 read in one query, so the module stays quick on thousands of hosts.",
            )
            .note(
                "Host names the scheduler does not know are returned in C(unknown_hosts), not \
                 as an error: the scheduler's maintenance calls silently ignore them too.",
            )
            .examples(EXAMPLES)
            .returns(RETURN)
            .check_mode(Support::Full)
            .diff_mode(Support::None)
    }

    fn run(options: Options, _ctx: &mut Context) -> Result<Outcome, Failure> {
        if let Some(name) = options.hosts.iter().flatten().find(|h| h.trim().is_empty()) {
            return Err(Failure::new(format!(
                "hosts: {name:?} is not a host name; give the names the agents report"
            )));
        }
        let modes: Vec<MaintenanceMode> = options.modes.iter().map(|m| m.wire()).collect();
        let conn = options.connection.connect()?;
        let rows = conn
            .client
            .agents()
            .map_err(|e| Failure::new(format!("listing the agent hosts: {e}")))?;
        let (selected, unknown) =
            select_hosts(&rows, options.hosts.as_deref(), &modes, &options.attributes);
        let names: Vec<String> = selected.iter().map(|r| r.host.clone()).collect();
        // Every host: no host filter in the query, which is then shorter.
        let everyone = names.len() == rows.len();
        let mut tasks = active_tasks_by_host(&conn.client, (!everyone).then_some(&names[..]))
            .map_err(|e| Failure::new(format!("reading the tasks of the hosts: {e}")))?;
        let hosts: Vec<Value> = selected
            .iter()
            .map(|row| {
                let on_host = tasks.remove(&row.host).unwrap_or_default();
                let mut host = json!({
                    "name": row.host,
                    "mode": mode_name(row.mode),
                    "agent_id": (!row.agent_id.is_empty()).then_some(&row.agent_id),
                    "attributes": row.attributes,
                    "task_count": on_host.len(),
                });
                if options.tasks {
                    host["tasks"] = on_host.iter().map(task_json).collect();
                }
                host
            })
            .collect();
        let mut msg = format!("{} host(s)", hosts.len());
        if !unknown.is_empty() {
            msg.push_str(&format!(
                "; unknown to the scheduler: {}",
                unknown.join(", ")
            ));
        }
        Ok(Outcome::unchanged()
            .msg(msg)
            .field("hosts", hosts)
            .field("unknown_hosts", unknown)
            .field("scheduler_url", conn.url))
    }
}

const EXAMPLES: &str = r#"- name: Every agent host with its mode and tasks
  aurora.scheduler.host_info:
    scheduler_url: http://aurora.example.com:8081
  register: cluster_hosts

- name: The hosts of rack r1 that are in maintenance, without their task lists
  aurora.scheduler.host_info:
    attributes:
      rack: r1
    modes: [scheduled, draining, drained]
    tasks: false
  register: r1_maintenance

- name: What runs on two hosts
  aurora.scheduler.host_info:
    hosts: [host-001.example.com, host-002.example.com]
  register: two_hosts

- name: Fail when a name was mistyped
  ansible.builtin.assert:
    that: two_hosts.unknown_hosts | length == 0
"#;

const RETURN: &str = r#"hosts:
  description: The selected hosts, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The host name, as the agent reports it.
      type: str
    mode:
      description: The maintenance mode, C(NONE), C(SCHEDULED), C(DRAINING) or C(DRAINED).
      type: str
    agent_id:
      description: The Mesos agent id; null when the scheduler has none.
      type: str
    attributes:
      description: Attribute name to its values.
      type: dict
    task_count:
      description: How many active tasks the host holds (also with C(tasks=false)).
      type: int
    tasks:
      description: The host's active tasks, by job and instance; only with C(tasks=true).
      type: list
      elements: dict
  sample:
    - name: host-001
      mode: NONE
      agent_id: host-001-agent
      attributes: {host: [host-001], rack: [r1]}
      task_count: 1
      tasks:
        - {job: www-data/prod/web, role: www-data, environment: prod, name: web, instance: 0,
           task_id: www-data-prod-web-0-1f3a, status: RUNNING}
unknown_hosts:
  description: Names given in C(hosts) that the scheduler does not know.
  returned: always
  type: list
  elements: str
  sample: [host-999]
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn row(host: &str, mode: MaintenanceMode, rack: &str) -> AgentRow {
        AgentRow {
            host: host.into(),
            agent_id: format!("{host}-agent"),
            mode,
            attributes: [("rack".to_string(), vec![rack.to_string()])].into(),
        }
    }

    fn names(rows: &[&AgentRow]) -> Vec<String> {
        rows.iter().map(|r| r.host.clone()).collect()
    }

    #[test]
    fn named_hosts_are_sorted_and_unknown_ones_reported_once() {
        let rows = [
            row("b", MaintenanceMode::NONE, "r1"),
            row("a", MaintenanceMode::DRAINED, "r2"),
        ];
        let asked = ["b".to_string(), "x".into(), "a".into(), "x".into()];
        let (selected, unknown) = select_hosts(&rows, Some(&asked), &[], &BTreeMap::new());
        assert_eq!(names(&selected), ["a", "b"]);
        assert_eq!(unknown, ["x"]);
    }

    #[test]
    fn modes_and_attributes_filter_every_host() {
        let rows = [
            row("c", MaintenanceMode::NONE, "r1"),
            row("a", MaintenanceMode::DRAINED, "r1"),
            row("b", MaintenanceMode::DRAINED, "r2"),
        ];
        let (all, _) = select_hosts(&rows, None, &[], &BTreeMap::new());
        assert_eq!(names(&all), ["a", "b", "c"]);
        let rack1 = [("rack".to_string(), "r1".to_string())].into();
        let (drained_r1, _) = select_hosts(&rows, None, &[MaintenanceMode::DRAINED], &rack1);
        assert_eq!(names(&drained_r1), ["a"]);
        let no_such = [("zone".to_string(), "z".to_string())].into();
        assert!(select_hosts(&rows, None, &[], &no_such).0.is_empty());
    }
}
