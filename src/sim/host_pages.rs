//! The scheduler's plain HTTP pages about hosts (http-endpoints.md): `/maintenance` (JSON of the
//! hosts in maintenance) and `/agents` (HTML table of every agent), built from `HostView`s.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::api::types::MaintenanceMode;

/// What the pages show of one agent host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostView {
    pub name: String,
    pub slave_id: String,
    pub mode: MaintenanceMode,
    /// Attribute name → values, names in order.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Ids of the active tasks assigned to the host, sorted.
    pub active_task_ids: Vec<String>,
}

/// `/maintenance`: `DRAINED` and `SCHEDULED` list host names, `DRAINING` maps each draining host
/// to the ids of the tasks still on it; hosts in mode NONE are left out.
pub fn maintenance_json(hosts: &[HostView]) -> Value {
    let names = |mode: MaintenanceMode| -> Vec<&str> {
        hosts
            .iter()
            .filter(|h| h.mode == mode)
            .map(|h| h.name.as_str())
            .collect()
    };
    let draining: Map<String, Value> = hosts
        .iter()
        .filter(|h| h.mode == MaintenanceMode::DRAINING)
        .map(|h| (h.name.clone(), json!(h.active_task_ids)))
        .collect();
    json!({
        "DRAINED": names(MaintenanceMode::DRAINED),
        "SCHEDULED": names(MaintenanceMode::SCHEDULED),
        "DRAINING": draining,
    })
}

/// The attributes cell: `name=[v1,v2], other=[v]`, attributes sorted by name.
pub fn attributes_cell(attributes: &BTreeMap<String, Vec<String>>) -> String {
    attributes
        .iter()
        .map(|(name, values)| format!("{name}=[{}]", values.join(",")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/agents`: one table row per host (Host linked to its observer on port 1338, Agent ID,
/// Maintenance mode, Attributes).
pub fn agents_html(cluster_name: &str, hosts: &[HostView]) -> String {
    let mut rows = String::new();
    for host in hosts {
        let name = escape(&host.name);
        rows.push_str(&format!(
            "        <tr>\n          <td><a href=\"http://{name}:1338\">{name}</a></td>\n          <td>{}</td>\n          <td>{}</td>\n          <td>{}</td>\n        </tr>\n",
            escape(&host.slave_id),
            host.mode,
            escape(&attributes_cell(&host.attributes)),
        ));
    }
    format!(
        "<html>\n  <head>\n    <title>Aurora {} agents</title>\n  </head>\n  <body>\n    <h2>Agent Hosts</h2>\n    <table>\n      <thead>\n        <tr><th>Host</th><th>Agent ID</th><th>Maintenance mode</th><th>Attributes</th></tr>\n      </thead>\n      <tbody>\n{rows}      </tbody>\n    </table>\n  </body>\n</html>\n",
        escape(cluster_name)
    )
}

/// Text made safe inside HTML elements and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, mode: MaintenanceMode, tasks: &[&str]) -> HostView {
        HostView {
            name: name.into(),
            slave_id: format!("{name}-agent"),
            mode,
            attributes: [
                ("rack".to_string(), vec!["r1".to_string()]),
                ("host".to_string(), vec![name.to_string()]),
                ("zone".to_string(), vec!["a".to_string(), "b".to_string()]),
            ]
            .into(),
            active_task_ids: tasks.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn maintenance_lists_hosts_by_mode_and_draining_hosts_with_their_tasks() {
        let hosts = [
            host("a", MaintenanceMode::NONE, &["t1"]),
            host("b", MaintenanceMode::SCHEDULED, &["t2"]),
            host("c", MaintenanceMode::DRAINING, &["t3", "t4"]),
            host("d", MaintenanceMode::DRAINED, &[]),
        ];
        assert_eq!(
            maintenance_json(&hosts),
            json!({"DRAINED": ["d"], "SCHEDULED": ["b"], "DRAINING": {"c": ["t3", "t4"]}})
        );
    }

    #[test]
    fn attributes_are_sorted_by_name_with_values_joined_by_commas() {
        let h = host("a", MaintenanceMode::NONE, &[]);
        assert_eq!(
            attributes_cell(&h.attributes),
            "host=[a], rack=[r1], zone=[a,b]"
        );
    }

    #[test]
    fn agents_page_has_one_escaped_row_per_host() {
        let page = agents_html("dev<1>", &[host("a", MaintenanceMode::DRAINED, &[])]);
        assert!(page.contains("<title>Aurora dev&lt;1&gt; agents</title>"));
        assert!(page.contains("<td><a href=\"http://a:1338\">a</a></td>"));
        assert!(page.contains("<td>a-agent</td>"));
        assert!(page.contains("<td>DRAINED</td>"));
        assert!(page.contains("<td>host=[a], rack=[r1], zone=[a,b]</td>"));
    }
}
