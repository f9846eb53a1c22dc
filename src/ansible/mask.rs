//! Hides secret option values in a result, as AnsibleModule's `remove_values` does: a value that
//! *is* a secret becomes `VALUE_SPECIFIED_IN_NO_LOG_PARAMETER`, a secret inside a longer string
//! (a message, a URL, a dict key) becomes `********`. Passwords written into URLs are found as
//! AnsibleModule's `heuristic_log_sanitize` finds them, and become secrets too.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

pub const NO_LOG_PLACEHOLDER: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";
const HIDDEN: &str = "********";

/// `value` with every occurrence of the secrets hidden. Takes the value, so that a large result
/// (the software inventory of a whole cluster) is not copied when there is nothing to hide.
pub fn remove_values(value: Value, secrets: &BTreeSet<String>) -> Value {
    if secrets.is_empty() {
        return value;
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

fn hide(value: Value, secrets: &[&str]) -> Value {
    match value {
        Value::String(text) if secrets.contains(&text.as_str()) => {
            Value::String(NO_LOG_PLACEHOLDER.to_owned())
        }
        Value::String(text) => Value::String(hide_inside(&text, secrets)),
        Value::Number(number) => {
            let text = number.to_string();
            if secrets.iter().any(|s| text.contains(s)) {
                Value::String(NO_LOG_PLACEHOLDER.to_owned())
            } else {
                Value::Number(number)
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| hide(v, secrets)).collect()),
        Value::Object(map) => {
            let hidden: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (hide_inside(&k, secrets), hide(v, secrets)))
                .collect();
            Value::Object(hidden)
        }
        Value::Null | Value::Bool(_) => value,
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

/// The passwords written into URLs in `text` (`scheme://user:password@host`). The userinfo ends at
/// the authority's last `@`, as URL parsers read it, so an unencoded `@` in a password is kept
/// whole.
pub fn url_passwords(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let after = &rest[at + 3..];
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        if let Some((userinfo, _host)) = authority.rsplit_once('@') {
            if let Some((_user, password)) = userinfo.split_once(':') {
                if !password.is_empty() {
                    found.push(password.to_owned());
                }
            }
        }
        rest = &after[end..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_found_wherever_they_stand() {
        let cases: [(&str, &[&str]); 7] = [
            ("https://alice:s3cret@h:8081/x", &["s3cret"]),
            (
                "curl -u x http://a:b%40c@h/ and ftp://u:p@ss@h2?q",
                &["b%40c", "p@ss"],
            ),
            ("http://alice@h/", &[]),
            ("http://h/?next=https://u:pw@x", &["pw"]),
            ("http://:@h/", &[]),
            ("no url here: a:b@c", &[]),
            ("https://u:pw", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(url_passwords(text), want, "{text}");
        }
    }

    #[test]
    fn a_url_password_is_hidden_inside_longer_strings() {
        let secrets: BTreeSet<String> = url_passwords("https://u:pw-123@h").into_iter().collect();
        let masked = remove_values(
            serde_json::json!({"scheduler_url": "https://u:pw-123@h", "msg": "at https://u:pw-123@h/api"}),
            &secrets,
        );
        assert_eq!(
            masked,
            serde_json::json!({"scheduler_url": "https://u:********@h", "msg": "at https://u:********@h/api"})
        );
    }
}
