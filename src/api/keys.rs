//! Job keys and instance lists as users type them: `role/env/name` and `0,1,5-7`. Parsed once
//! here so that the CLI and every module check identifiers the same way the scheduler does.

use std::fmt;

use crate::api::types::{JobKey, Range};

/// Longest role, environment or job name the scheduler's identifier check accepts.
pub const MAX_IDENTIFIER_LEN: usize = 255;

/// Why a job key or instance list was refused. The message names the input and says what is
/// expected, so it can be shown to the user as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError(pub String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// Checks one part of a job key against `GOOD_IDENTIFIER_PATTERN` (`^[\w\-\.]+$`, where `\w` is
/// ASCII as in Java and Python 2) and the length limit. `what` names the part in the message.
pub fn check_identifier(what: &str, value: &str) -> Result<(), KeyError> {
    if value.is_empty() {
        return Err(KeyError(format!("{what} must not be empty")));
    }
    if value.len() > MAX_IDENTIFIER_LEN {
        return Err(KeyError(format!(
            "{what} is {} characters long; at most {MAX_IDENTIFIER_LEN} are allowed",
            value.len()
        )));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(KeyError(format!(
            "{what} {value:?} contains {bad:?}; only letters, digits, '_', '-' and '.' are allowed"
        )));
    }
    Ok(())
}

impl JobKey {
    /// A job key with all three parts set.
    pub fn new(role: &str, environment: &str, name: &str) -> JobKey {
        JobKey {
            role: Some(role.to_string()),
            environment: Some(environment.to_string()),
            name: Some(name.to_string()),
        }
    }

    /// Whether all three parts are set and are good identifiers (api-reference §4.2).
    pub fn is_valid(&self) -> bool {
        [
            ("role", &self.role),
            ("environment", &self.environment),
            ("name", &self.name),
        ]
        .into_iter()
        .all(|(what, part)| {
            part.as_deref()
                .is_some_and(|p| check_identifier(what, p).is_ok())
        })
    }

    /// Parses `role/env/name`, checking each part as the scheduler does.
    pub fn parse(text: &str) -> Result<JobKey, KeyError> {
        let parts: Vec<&str> = text.split('/').collect();
        if parts.len() != 3 {
            let hint = if parts.len() == 4 {
                "; the Aurora client's CLUSTER/ROLE/ENV/NAME form is not used here, \
                 give the cluster separately"
            } else {
                ""
            };
            return Err(KeyError(format!(
                "job key {text:?} must have the form ROLE/ENV/NAME (3 parts separated by '/'), \
                 found {} part(s){hint}",
                parts.len()
            )));
        }
        for (what, part) in ["role", "environment", "name"].iter().zip(&parts) {
            check_identifier(&format!("{what} in job key {text:?}:"), part)?;
        }
        Ok(JobKey::new(parts[0], parts[1], parts[2]))
    }
}

/// `role/env/name`; unset parts print as empty.
impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |p: &Option<String>| p.clone().unwrap_or_default();
        write!(
            f,
            "{}/{}/{}",
            part(&self.role),
            part(&self.environment),
            part(&self.name)
        )
    }
}

/// Largest instance id accepted in a list; the scheduler's default cap on instances is 4000, so
/// anything far beyond is a typo, and the bound keeps a range like `0-2000000000` from allocating.
pub const MAX_INSTANCE_ID: i32 = 99_999;

/// Parses an instance list such as `0,1,5-7` into sorted, distinct ids.
pub fn parse_instances(text: &str) -> Result<Vec<i32>, KeyError> {
    let bad = |why: &str| {
        KeyError(format!(
            "instance list {text:?} {why}; expected ids and ranges like 0,1,5-7"
        ))
    };
    let id = |s: &str| -> Result<i32, KeyError> {
        let n: i32 = s
            .trim()
            .parse()
            .map_err(|_| bad(&format!("has {:?}, which is not an instance id", s.trim())))?;
        if !(0..=MAX_INSTANCE_ID).contains(&n) {
            return Err(bad(&format!(
                "has {n}; instance ids go from 0 to {MAX_INSTANCE_ID}"
            )));
        }
        Ok(n)
    };
    let mut ids = Vec::new();
    for item in text.split(',') {
        if item.trim().is_empty() {
            return Err(bad("has an empty item"));
        }
        match item.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (id(first)?, id(last)?);
                if first > last {
                    return Err(bad(&format!("has the backwards range {first}-{last}")));
                }
                ids.extend(first..=last);
            }
            None => ids.push(id(item)?),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Instance ids as maximal closed ranges, as the scheduler writes them (api-reference §3.3.4
/// ConfigGroup, §3.3.7 updateOnlyTheseInstances).
pub fn ranges(mut ids: Vec<i32>) -> Vec<Range> {
    ids.sort_unstable();
    ids.dedup();
    let mut out: Vec<Range> = Vec::new();
    for id in ids {
        match out.last_mut() {
            Some(r) if r.last + 1 == id => r.last = id,
            _ => out.push(Range {
                first: id,
                last: id,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_three_part_key_parses_into_role_environment_and_name() {
        let key = JobKey::parse("www-data/prod/hello_world.v2").unwrap();
        assert_eq!(key, JobKey::new("www-data", "prod", "hello_world.v2"));
        assert_eq!(key.to_string(), "www-data/prod/hello_world.v2");
    }

    #[test]
    fn a_key_with_the_wrong_number_of_parts_is_refused_with_the_expected_form() {
        for text in ["www/prod", "www", "", "a/b/c/d/e"] {
            let e = JobKey::parse(text).unwrap_err().0;
            assert!(e.contains("ROLE/ENV/NAME"), "{e}");
        }
        let e = JobKey::parse("devcluster/www/prod/hello").unwrap_err().0;
        assert!(e.contains("cluster separately"), "{e}");
    }

    #[test]
    fn a_key_part_outside_the_identifier_pattern_is_refused_naming_the_part() {
        let e = JobKey::parse("www/prod/hello world").unwrap_err().0;
        assert!(e.contains("name in job key"), "{e}");
        assert!(e.contains("' '"), "{e}");
        let e = JobKey::parse("www//hello").unwrap_err().0;
        assert!(e.contains("environment"), "{e}");
        assert!(e.contains("empty"), "{e}");
        // \w is ASCII only, as in the scheduler's Java pattern.
        assert!(JobKey::parse("wéb/prod/hello").is_err());
    }

    #[test]
    fn a_key_part_longer_than_255_characters_is_refused() {
        let long = "a".repeat(256);
        let e = JobKey::parse(&format!("www/prod/{long}")).unwrap_err().0;
        assert!(e.contains("256 characters"), "{e}");
        let ok = "a".repeat(255);
        assert!(JobKey::parse(&format!("www/prod/{ok}")).is_ok());
    }

    #[test]
    fn instance_lists_accept_ids_and_ranges_and_come_back_sorted_and_distinct() {
        assert_eq!(parse_instances("0,1,2").unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_instances("7-9, 1,8").unwrap(), vec![1, 7, 8, 9]);
        assert_eq!(parse_instances("3").unwrap(), vec![3]);
    }

    #[test]
    fn malformed_instance_lists_are_refused_with_the_input_named() {
        for text in ["", "1,,2", "a", "-1", "3-1", "0-100000", "1.5"] {
            let e = parse_instances(text).unwrap_err().0;
            assert!(e.contains(&format!("{text:?}")), "{e}");
        }
    }
}
