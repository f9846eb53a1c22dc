//! Hides secret option values in a result, as AnsibleModule's `remove_values` does: a value that
//! *is* a secret becomes `VALUE_SPECIFIED_IN_NO_LOG_PARAMETER`, a secret inside a longer string
//! (a message, a URL, a dict key) becomes `********`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

pub const NO_LOG_PLACEHOLDER: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";
const HIDDEN: &str = "********";

/// `value` with every occurrence of the secrets hidden.
pub fn remove_values(value: &Value, secrets: &BTreeSet<String>) -> Value {
    if secrets.is_empty() {
        return value.clone();
    }
    // Longest first, so that a secret containing another is hidden whole.
    let mut ordered: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    hide(value, &ordered)
}

fn hide(value: &Value, secrets: &[&str]) -> Value {
    match value {
        Value::String(text) if secrets.contains(&text.as_str()) => {
            Value::String(NO_LOG_PLACEHOLDER.to_owned())
        }
        Value::String(text) => Value::String(hide_inside(text, secrets)),
        Value::Number(number) => {
            let text = number.to_string();
            if secrets.iter().any(|s| text.contains(s)) {
                Value::String(NO_LOG_PLACEHOLDER.to_owned())
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| hide(v, secrets)).collect()),
        Value::Object(map) => {
            let hidden: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (hide_inside(k, secrets), hide(v, secrets)))
                .collect();
            Value::Object(hidden)
        }
        Value::Null | Value::Bool(_) => value.clone(),
    }
}

fn hide_inside(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if text.contains(secret) {
            text = text.replace(secret, HIDDEN);
        }
    }
    text
}
