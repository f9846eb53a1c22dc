//! Readers of the scheduler's plain host pages (http-endpoints.md), which the Thrift API lacks:
//! `/agents` (every agent host, its mode and attributes) and `/maintenance` (hosts by mode).
//!
//! `/agents` is HTML. It is read by a strict hand parser of the documented row shape rather than
//! an HTML crate: the page is one generated table of four text cells per row, the executable must
//! stay small (design.md: under 8 MB), and the HTML crates that would fit (html5ever, scraper,
//! tl) bring far more than a table of four cells needs. The parser accepts both closed cells
//! (`<td>x</td>`) and the unclosed ones of the upstream template (`<td>x`), decodes character
//! entities, and refuses a row that does not have the four documented cells, so a changed page
//! shape is an error that says so, never a silently wrong host list.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::api::client::{Client, ClientError};
use crate::api::types::MaintenanceMode;

/// One row of `/agents`.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentRow {
    pub host: String,
    /// Empty when the scheduler has none recorded.
    pub agent_id: String,
    pub mode: MaintenanceMode,
    /// Attribute name → values, in the page's order.
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// `/maintenance`: the hosts in maintenance by mode; hosts in mode NONE are not listed.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct MaintenancePage {
    #[serde(rename = "SCHEDULED", default)]
    pub scheduled: Vec<String>,
    /// Each draining host with the ids of the tasks still assigned to it.
    #[serde(rename = "DRAINING", default)]
    pub draining: BTreeMap<String, Vec<String>>,
    #[serde(rename = "DRAINED", default)]
    pub drained: Vec<String>,
}

impl Client {
    /// Every agent host the scheduler knows: one GET of `/agents`.
    pub fn agents(&self) -> Result<Vec<AgentRow>, ClientError> {
        const LABEL: &str = "GET /agents";
        let page = self.get_page(LABEL, "agents")?;
        parse_agents_page(&page).map_err(|detail| ClientError::Malformed {
            method: LABEL,
            url: self
                .endpoint()
                .join("agents")
                .map_or_else(|_| self.endpoint().to_string(), |u| u.to_string()),
            detail,
        })
    }

    /// The hosts in maintenance: one GET of `/maintenance`.
    pub fn maintenance_page(&self) -> Result<MaintenancePage, ClientError> {
        const LABEL: &str = "GET /maintenance";
        let page = self.get_page(LABEL, "maintenance")?;
        parse_maintenance_page(&page).map_err(|detail| ClientError::Malformed {
            method: LABEL,
            url: self.endpoint().to_string(),
            detail,
        })
    }
}

/// The `/maintenance` JSON object.
pub fn parse_maintenance_page(json: &str) -> Result<MaintenancePage, String> {
    serde_json::from_str(json).map_err(|e| format!("not the documented /maintenance JSON: {e}"))
}

/// The rows of the `/agents` table, in page order. Rows of header cells (`<th>`) are skipped.
pub fn parse_agents_page(html: &str) -> Result<Vec<AgentRow>, String> {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `html`.
    let lower = html.to_ascii_lowercase();
    let body_start = lower.find("<tbody").unwrap_or(0);
    let body_end = lower[body_start..]
        .find("</tbody")
        .map_or(lower.len(), |i| body_start + i);
    let mut rows = Vec::new();
    let mut at = body_start;
    while let Some(offset) = find_tag(&lower[at..body_end], "tr") {
        let start = at + offset;
        let end = lower[start + 3..body_end]
            .find("<tr")
            .map_or(body_end, |i| start + 3 + i);
        let cells = row_cells(&html[start..end], &lower[start..end]);
        at = end;
        if cells.is_empty() {
            continue;
        }
        rows.push(agent_row(&cells).map_err(|e| format!("row {}: {e}", rows.len() + 1))?);
    }
    Ok(rows)
}

/// The position of the next `<name>` or `<name ...>` start tag (not `<names>`).
fn find_tag(lower: &str, name: &str) -> Option<usize> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(i) = lower[from..].find(&open) {
        let at = from + i;
        match lower[at + open.len()..].chars().next() {
            Some('>') | Some(' ') | Some('\t') | Some('\n') | Some('\r') | Some('/') => {
                return Some(at)
            }
            _ => from = at + open.len(),
        }
    }
    None
}

/// The text of each `<td>` of one row: up to its `</td>`, the next `<td>` or the row's end;
/// inner tags dropped, entities decoded, whitespace trimmed.
fn row_cells(row: &str, lower: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut at = 0;
    while let Some(offset) = find_tag(&lower[at..], "td") {
        let open = at + offset;
        let content_start = match lower[open..].find('>') {
            Some(i) => open + i + 1,
            None => break,
        };
        let rest = &lower[content_start..];
        let content_end = [rest.find("</td"), find_tag(rest, "td"), rest.find("</tr")]
            .into_iter()
            .flatten()
            .min()
            .map_or(row.len(), |i| content_start + i);
        cells.push(decode_entities(
            strip_tags(&row[content_start..content_end]).trim(),
        ));
        at = content_end;
    }
    cells
}

fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// Named entities of HTML escaping, and numeric ones; an unknown entity is kept as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..].find(';').filter(|&i| i <= 10).and_then(|semi| {
            let name = &rest[1..1 + semi];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, semi + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn agent_row(cells: &[String]) -> Result<AgentRow, String> {
    let [host, agent_id, mode, attributes] = cells else {
        return Err(format!(
            "{} cells where the page documents 4 (Host, Agent ID, Maintenance mode, \
             Attributes): {cells:?}",
            cells.len()
        ));
    };
    if host.is_empty() {
        return Err("no host name".to_string());
    }
    let mode = parse_mode(mode).ok_or_else(|| {
        format!(
            "host {host}: unknown maintenance mode {mode:?} (NONE, SCHEDULED, DRAINING or DRAINED)"
        )
    })?;
    let attributes =
        parse_attributes(attributes).map_err(|e| format!("host {host}: attributes: {e}"))?;
    Ok(AgentRow {
        host: host.clone(),
        agent_id: agent_id.clone(),
        mode,
        attributes,
    })
}

fn parse_mode(text: &str) -> Option<MaintenanceMode> {
    match text {
        "NONE" => Some(MaintenanceMode::NONE),
        "SCHEDULED" => Some(MaintenanceMode::SCHEDULED),
        "DRAINING" => Some(MaintenanceMode::DRAINING),
        "DRAINED" => Some(MaintenanceMode::DRAINED),
        _ => None,
    }
}

/// `name=[v1,v2], other=[v]` → `{name: [v1, v2], other: [v]}`; an empty cell has none.
pub fn parse_attributes(cell: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut attributes = BTreeMap::new();
    let mut rest = cell.trim();
    while !rest.is_empty() {
        let Some(open) = rest.find("=[") else {
            return Err(format!("expected name=[values] at {rest:?}"));
        };
        let name = rest[..open].trim();
        if name.is_empty() {
            return Err(format!("an attribute without a name at {rest:?}"));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find(']') else {
            return Err(format!("attribute {name}: no closing ]"));
        };
        let values: Vec<String> = after[..close]
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        attributes.insert(name.to_string(), values);
        rest = after[close + 1..].trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return Err(format!("expected , between attributes at {rest:?}"));
        }
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::host_pages::{agents_html, maintenance_json, HostView};

    /// The upstream template's shape: unclosed cells, header cells without a row, a link per host.
    const UPSTREAM_SHAPED: &str = r#"<html><head><title>Aurora devcluster agents</title></head>
<body>
<table class="table table-striped table-condensed table-hover">
  <thead>
    <th>Host
    <th>Agent ID
    <th>Maintenance mode
    <th>Attributes
  </thead>
  <tbody>
    <tr>
      <td><a href="http://web-1.example.com:1338">web-1.example.com</a>
      <td>a1b2-S0
      <td>DRAINING
      <td>dedicated=[www-data/web], host=[web-1.example.com], rack=[r1,r&amp;2]
    </tr>
    <TR>
      <TD><A HREF="http://db-1:1338">db-1</A></TD>
      <TD></TD>
      <TD>NONE</TD>
      <TD></TD>
    </TR>
  </tbody>
</table>
</body></html>"#;

    #[test]
    fn upstream_shaped_rows_with_unclosed_cells_and_entities_are_read() {
        let rows = parse_agents_page(UPSTREAM_SHAPED).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].host, "web-1.example.com");
        assert_eq!(rows[0].agent_id, "a1b2-S0");
        assert_eq!(rows[0].mode, MaintenanceMode::DRAINING);
        assert_eq!(rows[0].attributes["rack"], vec!["r1", "r&2"]);
        assert_eq!(rows[0].attributes["dedicated"], vec!["www-data/web"]);
        assert_eq!(rows[1].host, "db-1");
        assert_eq!(rows[1].agent_id, "");
        assert_eq!(rows[1].mode, MaintenanceMode::NONE);
        assert!(rows[1].attributes.is_empty());
    }

    #[test]
    fn the_simulators_page_reads_back_as_the_hosts_it_was_made_of() {
        let host = HostView {
            name: "host-001".into(),
            slave_id: "agent-<1>".into(),
            mode: MaintenanceMode::SCHEDULED,
            attributes: [
                ("rack".to_string(), vec!["r1".to_string()]),
                ("zone".to_string(), vec!["a".to_string(), "b'c".to_string()]),
            ]
            .into(),
            active_task_ids: vec!["t1".into()],
        };
        let rows = parse_agents_page(&agents_html("dev", std::slice::from_ref(&host))).unwrap();
        assert_eq!(
            rows,
            vec![AgentRow {
                host: host.name.clone(),
                agent_id: host.slave_id.clone(),
                mode: host.mode,
                attributes: host.attributes.clone(),
            }]
        );
        let page = parse_maintenance_page(&maintenance_json(&[host]).to_string()).unwrap();
        assert_eq!(page.scheduled, vec!["host-001"]);
        assert!(page.draining.is_empty() && page.drained.is_empty());
    }

    #[test]
    fn a_page_without_rows_lists_no_host() {
        assert_eq!(
            parse_agents_page("<html><table><tbody></tbody></table></html>"),
            Ok(vec![])
        );
    }

    #[test]
    fn a_row_of_another_shape_is_an_error_naming_the_row() {
        let page = "<table><tbody><tr><td>h1</td><td>id</td><td>NONE</td></tr></tbody></table>";
        let error = parse_agents_page(page).unwrap_err();
        assert!(error.starts_with("row 1: 3 cells"), "{error}");
        let page = "<tbody><tr><td>h1<td>id<td>SOMETIMES<td></tr></tbody>";
        let error = parse_agents_page(page).unwrap_err();
        assert!(
            error.contains("host h1: unknown maintenance mode"),
            "{error}"
        );
    }

    #[test]
    fn attributes_cells_parse_and_malformed_ones_are_refused() {
        assert_eq!(parse_attributes("").unwrap(), BTreeMap::new());
        assert_eq!(parse_attributes("a=[]").unwrap()["a"], Vec::<String>::new());
        assert_eq!(
            parse_attributes("host=[h], rack=[r1,r2]").unwrap()["rack"],
            vec!["r1", "r2"]
        );
        assert!(parse_attributes("rack=r1").is_err());
        assert!(parse_attributes("rack=[r1").is_err());
        assert!(parse_attributes("rack=[r1] zone=[a]").is_err());
    }

    #[test]
    fn entities_decode_and_unknown_ones_stay() {
        assert_eq!(
            decode_entities("a&lt;b&gt;&amp;&#39;&#x41;&quot;"),
            "a<b>&'A\""
        );
        assert_eq!(decode_entities("R&D &unknown; &"), "R&D &unknown; &");
    }

    #[test]
    fn the_maintenance_json_reads_into_modes() {
        let page = parse_maintenance_page(
            r#"{"DRAINED": ["d"], "SCHEDULED": ["s"], "DRAINING": {"g": ["t1", "t2"]}}"#,
        )
        .unwrap();
        assert_eq!(page.drained, vec!["d"]);
        assert_eq!(page.draining["g"], vec!["t1", "t2"]);
        assert!(parse_maintenance_page("<html>").is_err());
    }
}
