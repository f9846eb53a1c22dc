//! The constraint grammar of a job's `constraints` map (client-reference §1.5) and the
//! scheduler's rule for `dedicated` constraints, checked before submitting.

use serde_json::{Map, Value};

use super::error::{Source, SpecError};
use crate::api::types::{Constraint, LimitConstraint, TaskConstraint, ValueConstraint};

pub(crate) const DEDICATED: &str = "dedicated";

/// The placement constraints of a job, sorted by attribute name.
pub(crate) fn constraints(
    map: Option<&Map<String, Value>>,
    role: &str,
    source: Source,
) -> Result<Vec<Constraint>, SpecError> {
    let mut out = Vec::new();
    for (attribute, value) in map.into_iter().flatten() {
        let path = format!("constraints.{attribute}");
        if attribute.trim().is_empty() || attribute.trim() != attribute {
            return Err(source.error(
                "constraints",
                format!(
                    "has the attribute name {attribute:?}; name a host attribute, such as host \
                     or rack, without surrounding spaces"
                ),
            ));
        }
        let text = value.as_str().unwrap_or_default();
        let constraint = parse(text).map_err(|why| source.error(&path, why))?;
        if attribute == DEDICATED {
            check_dedicated(&constraint, role).map_err(|why| source.error(&path, why))?;
        }
        out.push(Constraint {
            name: Some(attribute.clone()),
            constraint: Some(constraint),
        });
    }
    Ok(out)
}

/// `limit:N`, `v1,v2` or `!v1,v2`.
fn parse(text: &str) -> Result<TaskConstraint, String> {
    if let Some(limit) = text.strip_prefix("limit:") {
        let limit: i32 = limit.trim().parse().map_err(|_| {
            format!("{text:?} is not a limit; write limit:N with a whole number N, e.g. limit:1")
        })?;
        if limit < 1 {
            return Err(format!(
                "{text:?} allows no instance at all; the limit must be at least 1"
            ));
        }
        return Ok(TaskConstraint::Limit(LimitConstraint { limit }));
    }
    let (negated, list) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut values: Vec<String> = Vec::new();
    for value in list.split(',') {
        if value.is_empty() {
            return Err(format!(
                "{text:?} has an empty value; write value, v1,v2, !value or limit:N"
            ));
        }
        if value.trim() != value {
            return Err(format!(
                "{text:?} has spaces around {value:?}; write the values without spaces, as in v1,v2"
            ));
        }
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
        }
    }
    values.sort();
    Ok(TaskConstraint::Value(ValueConstraint {
        negated,
        values: Some(values),
    }))
}

/// The scheduler's rule: one value, whose part before the first `/` is the role or `*`.
fn check_dedicated(constraint: &TaskConstraint, role: &str) -> Result<(), String> {
    let TaskConstraint::Value(ValueConstraint {
        values: Some(values),
        ..
    }) = constraint
    else {
        return Err("must name a dedicated group, such as ROLE/group, not a limit".into());
    };
    let [value] = values.as_slice() else {
        return Err("must have exactly one value, such as ROLE/group".into());
    };
    let owner = value.split('/').next().unwrap_or_default();
    if owner != role && owner != "*" {
        return Err(format!(
            "{value:?} belongs to role {owner:?}; a dedicated constraint must start with this \
             job's role ({role}/...) or with */"
        ));
    }
    Ok(())
}

/// Whether the constraints include a `dedicated` one.
pub(crate) fn is_dedicated(constraints: &[Constraint]) -> bool {
    constraints
        .iter()
        .any(|c| c.name.as_deref() == Some(DEDICATED))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_one(attribute: &str, value: &str) -> Result<Constraint, SpecError> {
        let map = json!({attribute: value});
        constraints(map.as_object(), "www", Source::Options).map(|mut c| c.remove(0))
    }

    fn value(negated: bool, values: &[&str]) -> Option<TaskConstraint> {
        Some(TaskConstraint::Value(ValueConstraint {
            negated,
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }))
    }

    #[test]
    fn the_grammar_gives_value_negated_and_limit_constraints() {
        assert_eq!(
            parse_one("rack", "r1").unwrap().constraint,
            value(false, &["r1"])
        );
        assert_eq!(
            parse_one("rack", "r2,r1").unwrap().constraint,
            value(false, &["r1", "r2"])
        );
        assert_eq!(
            parse_one("rack", "!r1,r2").unwrap().constraint,
            value(true, &["r1", "r2"])
        );
        assert_eq!(
            parse_one("rack", "!!r1").unwrap().constraint,
            value(true, &["!r1"])
        );
        assert_eq!(
            parse_one("host", "limit:1").unwrap().constraint,
            Some(TaskConstraint::Limit(LimitConstraint { limit: 1 }))
        );
    }

    #[test]
    fn malformed_constraints_are_refused_naming_the_attribute() {
        for bad in ["limit:x", "limit:0", "a,,b", "a, b", ""] {
            let e = parse_one("rack", bad).unwrap_err();
            assert_eq!(e.option, "constraints.rack", "{bad}");
        }
    }

    #[test]
    fn dedicated_constraints_must_name_the_role_or_a_wildcard() {
        assert!(parse_one("dedicated", "www/gpu").is_ok());
        assert!(parse_one("dedicated", "*/gpu").is_ok());
        assert!(parse_one("dedicated", "www").is_ok());
        for bad in ["other/gpu", "www/a,www/b", "limit:2"] {
            let e = parse_one("dedicated", bad).unwrap_err();
            assert_eq!(e.option, "constraints.dedicated", "{bad}");
        }
    }
}
