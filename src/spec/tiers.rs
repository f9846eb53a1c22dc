//! Tier and `production` back-fill as the Aurora client does it after `getTierConfigs`
//! (client-reference §1.7).

use serde_json::{json, Map, Value};

use super::error::{Source, SpecError};
use crate::api::types::{GetTierConfigResult, TierConfig};

fn setting(tier: &TierConfig, key: &str) -> bool {
    tier.settings
        .as_ref()
        .and_then(|s| s.get(key))
        .is_some_and(|v| v == "true")
}

/// Writes `tier` and `production` into the document: a job without a tier gets the first tier
/// (by name) whose preemptibility fits its `production` flag and that is not revocable, else the
/// default tier; a named tier decides `production` (not preemptible = production).
pub(crate) fn back_fill(
    doc: &mut Map<String, Value>,
    tiers: &GetTierConfigResult,
    source: Source,
) -> Result<(), SpecError> {
    let mut known: Vec<&TierConfig> = tiers.tiers.iter().flatten().collect();
    known.sort_by(|a, b| a.name.cmp(&b.name));
    let production = doc
        .get("production")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match doc.get("tier").and_then(Value::as_str).map(str::to_string) {
        None => {
            let chosen = known
                .iter()
                .find(|t| setting(t, "preemptible") != production && !setting(t, "revocable"))
                .and_then(|t| t.name.clone())
                .or_else(|| tiers.default_tier_name.clone());
            if let Some(name) = chosen {
                doc.insert("tier".into(), json!(name));
            }
        }
        Some(name) => match known
            .iter()
            .find(|t| t.name.as_deref() == Some(name.as_str()))
        {
            Some(tier) => {
                doc.insert("production".into(), json!(!setting(tier, "preemptible")));
            }
            None => {
                let names: Vec<&str> = known.iter().filter_map(|t| t.name.as_deref()).collect();
                return Err(source.error(
                    "tier",
                    format!(
                        "{name:?} is not a tier of this scheduler; use one of: {}",
                        names.join(", ")
                    ),
                ));
            }
        },
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn stock_tiers() -> GetTierConfigResult {
    let tier = |name: &str, preemptible: bool, revocable: bool| TierConfig {
        name: Some(name.into()),
        settings: Some(
            [
                ("preemptible".to_string(), preemptible.to_string()),
                ("revocable".to_string(), revocable.to_string()),
            ]
            .into_iter()
            .collect(),
        ),
    };
    GetTierConfigResult {
        default_tier_name: Some("preemptible".into()),
        tiers: Some(vec![
            tier("revocable", true, true),
            tier("preferred", false, false),
            tier("preemptible", true, false),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(doc: Value) -> Result<Value, SpecError> {
        let Value::Object(mut map) = doc else {
            unreachable!()
        };
        back_fill(&mut map, &stock_tiers(), Source::Options).map(|()| Value::Object(map))
    }

    #[test]
    fn a_job_without_a_tier_gets_the_first_fitting_non_revocable_tier() {
        let doc = fill(json!({"production": false})).unwrap();
        assert_eq!(doc["tier"], "preemptible");
        let doc = fill(json!({"production": true})).unwrap();
        assert_eq!(doc["tier"], "preferred");
    }

    #[test]
    fn a_named_tier_decides_production() {
        assert_eq!(
            fill(json!({"tier": "preferred", "production": false})).unwrap()["production"],
            true
        );
        assert_eq!(
            fill(json!({"tier": "revocable", "production": true})).unwrap()["production"],
            false
        );
    }

    #[test]
    fn an_unknown_tier_is_refused_with_the_known_ones() {
        let e = fill(json!({"tier": "gold"})).unwrap_err();
        assert_eq!(e.option, "tier");
        assert!(
            e.message.contains("preemptible, preferred, revocable"),
            "{}",
            e.message
        );
    }

    #[test]
    fn without_a_fitting_tier_the_default_tier_is_used() {
        let tiers = GetTierConfigResult {
            default_tier_name: Some("standard".into()),
            tiers: Some(vec![]),
        };
        let mut map = Map::new();
        back_fill(&mut map, &tiers, Source::Options).unwrap();
        assert_eq!(map["tier"], "standard");
    }
}
