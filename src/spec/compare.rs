//! Comparing what we want with what runs (client-reference §7): executor documents compared
//! by meaning, adopting the running task's owner and exact bytes when nothing else differs, a
//! stable form to compare configurations by, and a fingerprint of a desired configuration.

use serde_json::{Map, Value};

use super::pyjson;
use crate::api::types::TaskConfig;

/// Whether two executor documents mean the same: parsed as JSON, numbers compared by value (so
/// `1` equals `1.0`), key order and spacing ignored. Text that is not JSON compares as bytes.
pub fn same_executor_data(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => same_value(&a, &b),
        _ => false,
    }
}

pub(super) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(i), Some(j), _, _) => i == j,
                (_, _, Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// Makes `desired` take over what the running task has that does not change what runs: its
/// `owner` (the scheduler compares it, but it only records who submitted), and its exact
/// executor data when that means the same as ours (a job created by Aurora's own client has
/// the same document in another key order). Without this, the first run against such a job
/// would restart every instance for nothing.
pub fn adopt_running(desired: &mut TaskConfig, running: &TaskConfig) {
    if running.owner.is_some() {
        desired.owner.clone_from(&running.owner);
    }
    let (Some(ours), Some(theirs)) = (&mut desired.executor_config, &running.executor_config)
    else {
        return;
    };
    if ours.name != theirs.name {
        return;
    }
    if let (Some(our_data), Some(their_data)) = (&ours.data, &theirs.data) {
        if our_data != their_data && same_executor_data(our_data, their_data) {
            ours.data = Some(their_data.clone());
        }
    }
}

/// A stable form of a TaskConfig for comparing and fingerprinting: unset fields left out, sets
/// sorted, and the executor document parsed into nested JSON. (`--diff` shows the options
/// instead: `as_options`.)
pub fn readable(config: &TaskConfig) -> Value {
    let mut value = serde_json::to_value(config).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for key in ["resources", "constraints", "metadata", "mesosFetcherUris"] {
            if let Some(Value::Array(items)) = map.get_mut(key) {
                for item in items.iter_mut() {
                    sort_value_sets(item);
                }
                items.sort_by_cached_key(pyjson::dumps);
            }
        }
        if let Some(Value::Object(executor)) = map.get_mut("executorConfig") {
            if let Some(Value::String(data)) = executor.get("data") {
                if let Ok(parsed) = serde_json::from_str::<Value>(data) {
                    executor.insert("data".into(), parsed);
                }
            }
        }
    }
    value
}

/// Sorts the `values` set inside a value constraint.
fn sort_value_sets(item: &mut Value) {
    if let Some(Value::Array(values)) = item.pointer_mut("/constraint/value/values") {
        values.sort_by_cached_key(pyjson::dumps);
    }
}

/// A short hash of a desired configuration: 16 hex digits of 64-bit FNV-1a over the canonical
/// text of the parts. The same configuration always gives the same fingerprint, across runs,
/// machines and versions of Rust.
pub(crate) fn fingerprint(parts: &Map<String, Value>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let text = pyjson::dumps(&Value::Object(parts.clone()));
    let hash = text
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{ExecutorConfig, Identity, Resource};

    fn task(owner: &str, data: &str) -> TaskConfig {
        TaskConfig {
            owner: Some(Identity {
                user: Some(owner.into()),
            }),
            executor_config: Some(ExecutorConfig {
                name: Some("AuroraExecutor".into()),
                data: Some(data.into()),
            }),
            ..TaskConfig::default()
        }
    }

    #[test]
    fn executor_data_is_compared_by_meaning() {
        assert!(same_executor_data(
            r#"{"a": 1, "b": [1.0, "x"]}"#,
            r#"{"b":[1,"x"],"a":1.0}"#
        ));
        assert!(!same_executor_data(r#"{"a": 1}"#, r#"{"a": 2}"#));
        assert!(!same_executor_data(r#"{"a": 1}"#, r#"{"a": 1, "b": null}"#));
        assert!(!same_executor_data(r#"{"a": [1, 2]}"#, r#"{"a": [2, 1]}"#));
        assert!(same_executor_data("not json", "not json"));
        assert!(!same_executor_data("not json", "{}"));
    }

    #[test]
    fn adopting_keeps_the_running_owner_and_equivalent_bytes() {
        let mut desired = task("ansible", r#"{"a": 1, "b": 2}"#);
        let running = task("alice", r#"{"b":2,"a":1}"#);
        adopt_running(&mut desired, &running);
        assert_eq!(desired, running);
    }

    #[test]
    fn adopting_keeps_our_data_when_it_means_something_else() {
        let mut desired = task("ansible", r#"{"a": 1}"#);
        adopt_running(&mut desired, &task("alice", r#"{"a": 2}"#));
        assert_eq!(desired.owner.unwrap().user.as_deref(), Some("alice"));
        assert_eq!(
            desired.executor_config.unwrap().data.as_deref(),
            Some(r#"{"a": 1}"#)
        );
    }

    #[test]
    fn readable_sorts_sets_parses_the_document_and_omits_unset_fields() {
        let mut config = task("alice", r#"{"task": {"name": "x"}}"#);
        config.resources = Some(vec![
            Resource::NamedPort("http".into()),
            Resource::NumCpus(1.0),
        ]);
        let mut other = config.clone();
        other.resources = Some(vec![
            Resource::NumCpus(1.0),
            Resource::NamedPort("http".into()),
        ]);
        assert_eq!(readable(&config), readable(&other));
        let value = readable(&config);
        assert_eq!(value["executorConfig"]["data"]["task"]["name"], "x");
        assert!(value.get("contactEmail").is_none());
        assert!(value.get("slaPolicy").is_none());
    }

    #[test]
    fn fingerprints_are_stable_and_tell_configurations_apart() {
        let parts = |n: i64| {
            let mut m = Map::new();
            m.insert("instances".into(), n.into());
            m
        };
        assert_eq!(fingerprint(&parts(1)), fingerprint(&parts(1)));
        assert_ne!(fingerprint(&parts(1)), fingerprint(&parts(2)));
        assert_eq!(fingerprint(&parts(1)).len(), 16);
        // Pinned: the hash must not change between versions, or every job would look changed.
        assert_eq!(fingerprint(&Map::new()), "08f44b07b5901a25");
    }
}
