//! Which named ports a task asks the scheduler for (client-reference §1.4): the names its
//! processes use as `{{thermos.ports[NAME]}}` and the announcer's portmap, with aliases followed
//! and static (numeric) ports left out.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::error::{Source, SpecError};
use super::template::port_references;

/// The ports of a task.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Ports {
    /// Port names to request, sorted.
    pub requested: Vec<String>,
    /// Every name a process or the executor can use: the requested ones and the portmap's
    /// aliases.
    pub available: BTreeSet<String>,
    /// Whether the portmap pins a port number, which needs a `dedicated` constraint.
    pub has_static: bool,
    /// Advice that does not stop the job.
    pub warnings: Vec<String>,
}

enum Target<'a> {
    Named(&'a str),
    Static,
}

/// Works out the ports of a completed, resolved document.
pub(crate) fn ports(doc: &Map<String, Value>, source: Source) -> Result<Ports, SpecError> {
    let mut referenced: Vec<String> = Vec::new();
    if let Some(processes) = doc.get("task").and_then(|t| t.get("processes")) {
        collect_references(processes, &mut referenced);
    }
    let announce = doc.get("announce").and_then(Value::as_object);
    let portmap: BTreeMap<&str, &str> = announce
        .and_then(|a| a.get("portmap"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();

    let mut requested = BTreeSet::new();
    let mut has_static = false;
    for name in portmap.keys() {
        match resolve(name, &portmap, source)? {
            Target::Named(port) => {
                requested.insert(port.to_string());
            }
            Target::Static => has_static = true,
        }
    }
    for name in &referenced {
        if let Target::Named(port) = resolve(name, &portmap, source)? {
            requested.insert(port.to_string());
        }
    }

    let mut warnings = Vec::new();
    if let Some(primary) = announce
        .and_then(|a| a.get("primary_port"))
        .and_then(Value::as_str)
    {
        let in_portmap = portmap.contains_key(primary) || portmap.values().any(|v| *v == primary);
        if !referenced.iter().any(|r| r == primary) && !in_portmap {
            warnings.push(format!(
                "announce.primary_port is {primary:?}, but no process uses that port and the \
                 portmap does not name it; listen on %{{thermos.ports[{primary}]}} in a process \
                 to use it"
            ));
        }
    }
    let mut available: BTreeSet<String> = portmap.keys().map(|k| k.to_string()).collect();
    available.extend(requested.iter().cloned());
    Ok(Ports {
        available,
        requested: requested.into_iter().collect(),
        has_static,
        warnings,
    })
}

/// Follows aliases from `start` to a port name, or to a port number.
fn resolve<'a>(
    start: &'a str,
    portmap: &BTreeMap<&'a str, &'a str>,
    source: Source,
) -> Result<Target<'a>, SpecError> {
    let mut name = start;
    let mut seen = vec![start];
    while let Some(next) = portmap.get(name) {
        if next.parse::<i64>().is_ok() {
            return Ok(Target::Static);
        }
        if seen.contains(next) {
            seen.push(next);
            return Err(source.error(
                "announce.portmap",
                format!(
                    "aliases form a loop ({}); map one of them to a port name or number",
                    seen.join(" -> ")
                ),
            ));
        }
        seen.push(next);
        name = next;
    }
    Ok(Target::Named(name))
}

fn collect_references(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            for name in port_references(text) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, names)),
        Value::Object(map) => map.values().for_each(|v| collect_references(v, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ports_of(cmdline: &str, announce: Option<Value>) -> Result<Ports, SpecError> {
        let mut doc = json!({"task": {"processes": [{"name": "p", "cmdline": cmdline}]}});
        if let Some(a) = announce {
            doc["announce"] = a;
        }
        ports(doc.as_object().unwrap(), Source::Options)
    }

    #[test]
    fn ports_used_by_processes_are_requested() {
        let p = ports_of(
            "serve {{thermos.ports[http]}} {{thermos.ports[admin]}}",
            None,
        )
        .unwrap();
        assert_eq!(p.requested, vec!["admin", "http"]);
        assert!(!p.has_static);
    }

    #[test]
    fn a_default_announcer_requests_the_primary_port() {
        let p = ports_of(
            "true",
            Some(json!({"primary_port": "http", "portmap": {"aurora": "http"}})),
        )
        .unwrap();
        assert_eq!(p.requested, vec!["http"]);
        assert!(p.warnings.is_empty());
        let p = ports_of(
            "true",
            Some(json!({"primary_port": "web", "portmap": {"aurora": "http"}})),
        )
        .unwrap();
        assert_eq!(p.warnings.len(), 1, "primary port unused: {:?}", p.warnings);
    }

    #[test]
    fn aliases_are_followed_and_static_ports_are_not_requested() {
        let announce = json!({"primary_port": "http", "portmap": {"aurora": "http", "web": "aurora", "admin": "8080"}});
        let p = ports_of(
            "serve {{thermos.ports[web]}} {{thermos.ports[admin]}} {{thermos.ports[http]}}",
            Some(announce),
        )
        .unwrap();
        assert_eq!(p.requested, vec!["http"]);
        assert!(p.has_static);
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn alias_loops_are_refused() {
        let e = ports_of(
            "true",
            Some(json!({"primary_port": "a", "portmap": {"a": "b", "b": "a"}})),
        )
        .unwrap_err();
        assert_eq!(e.option, "announce.portmap");
        assert!(e.message.contains("loop"), "{}", e.message);
    }
}
