//! Checks of the Thermos plan the Aurora client makes before submitting (client-reference §1.9):
//! legal and unique process names, and order constraints that the executor can follow.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::error::{Source, SpecError};

struct Process<'a> {
    daemon: bool,
    ephemeral: bool,
    is_final: bool,
    index: usize,
    name: &'a str,
}

/// Checks `task.processes` and `task.constraints` of a completed document.
pub(crate) fn check_plan(task: &Map<String, Value>, source: Source) -> Result<(), SpecError> {
    let empty = Vec::new();
    let list = |key: &str| task.get(key).and_then(Value::as_array).unwrap_or(&empty);
    let flag = |p: &Value, key: &str| p.get(key).and_then(Value::as_bool).unwrap_or(false);
    let mut processes: BTreeMap<&str, Process> = BTreeMap::new();
    for (index, p) in list("processes").iter().enumerate() {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        let path = format!("task.processes[{index}].name");
        if name.is_empty() || name.starts_with('.') || name.contains('/') {
            return Err(source.error(
                &path,
                format!("{name:?} is not a valid process name: it must not be empty, start with '.' or contain '/'"),
            ));
        }
        let process = Process {
            daemon: flag(p, "daemon"),
            ephemeral: flag(p, "ephemeral"),
            is_final: flag(p, "final"),
            index,
            name,
        };
        if let Some(first) = processes.insert(name, process) {
            return Err(source.error(
                &path,
                format!(
                    "{name:?} is also the name of task.processes[{}]; process names must be unique",
                    first.index
                ),
            ));
        }
    }

    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (i, constraint) in list("constraints").iter().enumerate() {
        let path = format!("task.constraints[{i}].order");
        let order = constraint
            .get("order")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let mut chain = Vec::new();
        for name in order {
            let name = name.as_str().unwrap_or("");
            let Some(process) = processes.get(name) else {
                let known: Vec<&str> = processes.keys().copied().collect();
                return Err(source.error(
                    &path,
                    format!(
                        "names {name:?}, which is not a process of the task ({})",
                        known.join(", ")
                    ),
                ));
            };
            chain.push(process);
        }
        if chain.iter().any(|p| p.is_final) && chain.iter().any(|p| !p.is_final) {
            return Err(source.error(
                &path,
                "mixes final and non-final processes; final processes run after all others, so \
                 order them in a separate list",
            ));
        }
        for pair in chain.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            if before.daemon {
                return Err(source.error(
                    &path,
                    format!(
                        "orders {:?} after the daemon process {:?}, which never finishes; put the daemon last",
                        after.name, before.name
                    ),
                ));
            }
            if before.ephemeral && !after.ephemeral {
                return Err(source.error(
                    &path,
                    format!(
                        "orders the non-ephemeral process {:?} after the ephemeral process {:?}; \
                         an ephemeral process may be left running, so nothing that must finish can wait for it",
                        after.name, before.name
                    ),
                ));
            }
            edges.entry(before.name).or_default().insert(after.name);
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        return Err(source.error(
            "task.constraints",
            format!(
                "orders processes in a loop ({}); remove one of the orderings",
                cycle.join(" -> ")
            ),
        ));
    }
    Ok(())
}

/// A cycle in the "runs before" graph, as the names along it.
fn find_cycle<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = stack.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(node);
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Visiting);
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(task: Value) -> Result<(), SpecError> {
        check_plan(task.as_object().unwrap(), Source::Options)
    }

    fn process(name: &str) -> Value {
        json!({"name": name, "cmdline": "true", "daemon": false, "ephemeral": false, "final": false})
    }

    #[test]
    fn ordered_processes_pass() {
        let task = json!({"processes": [process("fetch"), process("run")],
                          "constraints": [{"order": ["fetch", "run"]}]});
        assert!(check(task).is_ok());
    }

    #[test]
    fn illegal_and_duplicate_names_are_refused_naming_the_process() {
        for bad in [".hidden", "a/b", ""] {
            let e = check(json!({"processes": [process("ok"), process(bad)]})).unwrap_err();
            assert_eq!(e.option, "task.processes[1].name", "{bad}");
        }
        let e = check(json!({"processes": [process("a"), process("a")]})).unwrap_err();
        assert_eq!(e.option, "task.processes[1].name");
        assert!(e.message.contains("unique"));
    }

    #[test]
    fn unknown_names_and_cycles_in_orderings_are_refused() {
        let e = check(json!({"processes": [process("a")], "constraints": [{"order": ["a", "b"]}]}))
            .unwrap_err();
        assert_eq!(e.option, "task.ordering[0]");
        let e = check(json!({"processes": [process("a"), process("b")],
                             "constraints": [{"order": ["a", "b"]}, {"order": ["b", "a"]}]}))
        .unwrap_err();
        assert_eq!(e.option, "task.ordering");
        assert!(e.message.contains("loop"), "{}", e.message);
    }

    #[test]
    fn nothing_waits_for_a_daemon_or_an_ephemeral_process() {
        let mut daemon = process("d");
        daemon["daemon"] = json!(true);
        let e = check(
            json!({"processes": [daemon, process("x")], "constraints": [{"order": ["d", "x"]}]}),
        )
        .unwrap_err();
        assert!(e.message.contains("daemon"), "{}", e.message);
        let mut ephemeral = process("e");
        ephemeral["ephemeral"] = json!(true);
        let e = check(
            json!({"processes": [ephemeral, process("x")], "constraints": [{"order": ["e", "x"]}]}),
        )
        .unwrap_err();
        assert!(e.message.contains("ephemeral"), "{}", e.message);
    }

    #[test]
    fn final_and_regular_processes_are_ordered_separately() {
        let mut cleanup = process("cleanup");
        cleanup["final"] = json!(true);
        let e = check(json!({"processes": [process("run"), cleanup], "constraints": [{"order": ["run", "cleanup"]}]}))
            .unwrap_err();
        assert!(e.message.contains("final"), "{}", e.message);
    }
}
