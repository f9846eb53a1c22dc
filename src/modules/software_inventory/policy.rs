//! The security team's software policy and its check, a pure function of what runs: allowed
//! versions or semver ranges per project, denied versions with a reason (a CVE id), required
//! metadata keys, and whether an unknown version is a deviation. Ranges use the `semver` crate
//! (Cargo's own); an entry without an operator is an exact version, so `1.4.2` never means
//! `^1.4.2`.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ansible::Failure;

/// The policy file, as the security team writes it (YAML or JSON, passed as C(policy)).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyOption {
    /// Metadata keys every job must carry, on every instance (and a cron job's template).
    #[serde(default)]
    pub required_metadata: Vec<String>,

    /// Whether a job whose version is unknown (no C(version) metadata, no image tag) deviates.
    #[serde(default)]
    pub require_known_version: bool,

    /// Per project (the C(project) metadata the platform stamps, else the job name): which
    /// versions may run.
    #[serde(default)]
    pub projects: BTreeMap<String, ProjectPolicyOption>,

    /// Versions denied in every project, each with its reason.
    #[serde(default)]
    pub denied: Vec<DeniedOption>,
}

/// What one project may run.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPolicyOption {
    /// Versions allowed: exact versions (C(1.4.2)) or semver ranges (C(>=1.4.0, <2.0.0),
    /// C(~1.3)). Any version when empty.
    #[serde(default)]
    pub allowed: Vec<String>,

    /// Versions denied, each with its reason; a denial wins over C(allowed).
    #[serde(default)]
    pub denied: Vec<DeniedOption>,

    /// Metadata keys this project's jobs must carry, besides the policy-wide ones.
    #[serde(default)]
    pub required_metadata: Vec<String>,
}

/// A denied version or range with the reason, such as a CVE id.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeniedOption {
    /// An exact version or a semver range.
    pub version: String,
    /// Why, as the report shows it: C(CVE-2026-1234: remote code execution).
    pub reason: String,
}

/// A version entry of the policy, checked once.
#[derive(Clone, Debug)]
enum Matcher {
    Exact(String),
    Range(semver::VersionReq),
}

impl Matcher {
    fn parse(option: &str, text: &str) -> Result<Matcher, Failure> {
        let text = text.trim();
        let is_range =
            text.starts_with(['>', '<', '=', '~', '^']) || text.contains(',') || text.contains('*');
        if !is_range {
            return Ok(Matcher::Exact(text.to_string()));
        }
        semver::VersionReq::parse(text)
            .map(Matcher::Range)
            .map_err(|e| {
                Failure::new(format!(
                    "{option}: {text:?} is neither a version nor a semver range ({e}); write \
                     1.4.2 or >=1.4.0, <2.0.0"
                ))
            })
    }

    fn matches(&self, version: &str) -> bool {
        match self {
            Matcher::Exact(exact) => exact == version,
            Matcher::Range(range) => lenient_semver(version).is_some_and(|v| range.matches(&v)),
        }
    }
}

/// `1.4` is read as `1.4.0` and a leading `v` is dropped, as image tags are often written.
fn lenient_semver(version: &str) -> Option<semver::Version> {
    let version = version.strip_prefix('v').unwrap_or(version);
    semver::Version::parse(version).ok().or_else(|| {
        let core = version.split(['-', '+']).next()?;
        let parts = core.split('.').count();
        let padded = match parts {
            1 => format!("{version}.0.0"),
            2 => format!("{core}.0{}", &version[core.len()..]),
            _ => return None,
        };
        semver::Version::parse(&padded).ok()
    })
}

#[derive(Clone, Debug)]
struct Denial {
    matcher: Matcher,
    reason: String,
    /// The policy entry, for the report: `projects.scorer.denied[0]`.
    rule: String,
}

#[derive(Clone, Debug, Default)]
struct ProjectPolicy {
    allowed: Vec<(Matcher, String)>,
    denied: Vec<Denial>,
    required_metadata: Vec<String>,
}

/// The policy with every version entry parsed; built once, checked against every job.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    required_metadata: Vec<String>,
    require_known_version: bool,
    denied: Vec<Denial>,
    projects: BTreeMap<String, ProjectPolicy>,
}

fn denials(prefix: &str, denied: &[DeniedOption]) -> Result<Vec<Denial>, Failure> {
    denied
        .iter()
        .enumerate()
        .map(|(at, d)| {
            let rule = format!("{prefix}denied[{at}]");
            Ok(Denial {
                matcher: Matcher::parse(&format!("policy.{rule}.version"), &d.version)?,
                reason: d.reason.clone(),
                rule,
            })
        })
        .collect()
}

impl Policy {
    pub fn from_option(option: &PolicyOption) -> Result<Policy, Failure> {
        let mut projects = BTreeMap::new();
        for (name, project) in &option.projects {
            let prefix = format!("projects.{name}.");
            let allowed = project
                .allowed
                .iter()
                .enumerate()
                .map(|(at, text)| {
                    let option = format!("policy.{prefix}allowed[{at}]");
                    Ok((Matcher::parse(&option, text)?, text.trim().to_string()))
                })
                .collect::<Result<_, Failure>>()?;
            projects.insert(
                name.clone(),
                ProjectPolicy {
                    allowed,
                    denied: denials(&prefix, &project.denied)?,
                    required_metadata: project.required_metadata.clone(),
                },
            );
        }
        Ok(Policy {
            required_metadata: option.required_metadata.clone(),
            require_known_version: option.require_known_version,
            denied: denials("", &option.denied)?,
            projects,
        })
    }
}

/// What runs of one job, as the check needs it: one entry per distinct configuration.
#[derive(Clone, Debug)]
pub struct RunningJob {
    pub job: String,
    pub project: String,
    pub configs: Vec<RunningConfig>,
}

#[derive(Clone, Debug)]
pub struct RunningConfig {
    /// The instances running it; empty for a cron job's template.
    pub instances: Vec<i32>,
    /// Whether this is a cron job's template rather than running instances.
    pub template: bool,
    pub version: String,
    pub version_known: bool,
    pub metadata_keys: BTreeSet<String>,
}

/// One deviation from the policy, naming the job, the instances and the rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deviation {
    pub job: String,
    pub project: String,
    /// The instances concerned (empty for a cron job's template, see C(template)).
    pub instances: Vec<i32>,
    pub template: bool,
    pub version: String,
    /// `denied_version`, `version_not_allowed`, `missing_metadata` or `unknown_version`.
    pub rule: &'static str,
    /// The policy entry broken, such as `projects.scorer.denied[0]`.
    pub policy_entry: String,
    /// The reason, in words: the denial's reason, the allowed versions, the missing keys.
    pub detail: String,
}

impl Deviation {
    /// `ml/prod/scorer instances 0,2 run 1.4.1: denied_version (projects.scorer.denied[0]:
    /// CVE-2026-1234)`, for the failure message.
    pub fn describe(&self) -> String {
        let which = if self.template {
            "template".to_string()
        } else {
            format!("instances {}", describe_list(&self.instances))
        };
        format!(
            "{} {which} ({}): {} [{}] {}",
            self.job, self.version, self.rule, self.policy_entry, self.detail
        )
    }
}

fn describe_list(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Every deviation of one job from the policy, in order of its configurations.
pub fn check(policy: &Policy, job: &RunningJob) -> Vec<Deviation> {
    let project = policy.projects.get(&job.project);
    let mut found = Vec::new();
    for config in &job.configs {
        let deviation = |rule: &'static str, entry: String, detail: String| Deviation {
            job: job.job.clone(),
            project: job.project.clone(),
            instances: config.instances.clone(),
            template: config.template,
            version: config.version.clone(),
            rule,
            policy_entry: entry,
            detail,
        };
        if !config.version_known {
            if policy.require_known_version {
                found.push(deviation(
                    "unknown_version",
                    "require_known_version".into(),
                    "no version metadata and no image tag".into(),
                ));
            }
        } else {
            let denial = policy
                .denied
                .iter()
                .chain(project.into_iter().flat_map(|p| p.denied.iter()))
                .find(|d| d.matcher.matches(&config.version));
            if let Some(denial) = denial {
                found.push(deviation(
                    "denied_version",
                    denial.rule.clone(),
                    denial.reason.clone(),
                ));
            } else if let Some(project) = project.filter(|p| !p.allowed.is_empty()) {
                if !project
                    .allowed
                    .iter()
                    .any(|(m, _)| m.matches(&config.version))
                {
                    let allowed: Vec<&str> =
                        project.allowed.iter().map(|(_, t)| t.as_str()).collect();
                    found.push(deviation(
                        "version_not_allowed",
                        format!("projects.{}.allowed", job.project),
                        format!("allowed: {}", allowed.join(" | ")),
                    ));
                }
            }
        }
        let required = policy
            .required_metadata
            .iter()
            .map(|k| (k, "required_metadata".to_string()))
            .chain(project.into_iter().flat_map(|p| {
                p.required_metadata
                    .iter()
                    .map(|k| (k, format!("projects.{}.required_metadata", job.project)))
            }));
        let mut missing: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (key, entry) in required {
            if !config.metadata_keys.contains(key) {
                missing.entry(entry).or_default().push(key);
            }
        }
        for (entry, keys) in missing {
            found.push(deviation(
                "missing_metadata",
                entry,
                format!("missing metadata: {}", keys.join(", ")),
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> Policy {
        let option: PolicyOption = serde_json::from_value(json!({
            "required_metadata": ["team"],
            "denied": [{"version": "0.0.1", "reason": "test build"}],
            "projects": {
                "scorer": {
                    "allowed": [">=1.4.0, <2.0.0", "1.3.7"],
                    "denied": [{"version": "1.4.1", "reason": "CVE-2026-1234"}],
                    "required_metadata": ["source_commit"],
                },
                "tuner": {"allowed": ["~2.1"]},
            },
        }))
        .unwrap();
        Policy::from_option(&option).unwrap()
    }

    fn running(project: &str, version: &str, keys: &[&str]) -> RunningJob {
        RunningJob {
            job: "ml/prod/x".into(),
            project: project.into(),
            configs: vec![RunningConfig {
                instances: vec![0, 2],
                template: false,
                version: version.into(),
                version_known: version != "unknown",
                metadata_keys: keys.iter().map(|k| k.to_string()).collect(),
            }],
        }
    }

    /// Project, version, metadata keys present, and the (rule, policy entry) pairs expected.
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

    #[test]
    fn each_rule_is_found_and_named() {
        let all = ["team", "source_commit"];
        let table: &[Case] = &[
            ("scorer", "1.4.2", &all, &[]),
            ("scorer", "1.9.0", &all, &[]),
            ("scorer", "1.3.7", &all, &[]),
            ("scorer", "v1.5", &all, &[]),
            (
                "scorer",
                "1.4.1",
                &all,
                &[("denied_version", "projects.scorer.denied[0]")],
            ),
            (
                "scorer",
                "2.0.0",
                &all,
                &[("version_not_allowed", "projects.scorer.allowed")],
            ),
            (
                "scorer",
                "1.3.8",
                &all,
                &[("version_not_allowed", "projects.scorer.allowed")],
            ),
            (
                "other",
                "0.0.1",
                &["team"],
                &[("denied_version", "denied[0]")],
            ),
            ("other", "anything", &["team"], &[]),
            ("other", "unknown", &["team"], &[]),
            ("tuner", "2.1.7", &["team"], &[]),
            (
                "tuner",
                "2.2.0",
                &["team"],
                &[("version_not_allowed", "projects.tuner.allowed")],
            ),
            (
                "scorer",
                "1.4.2",
                &[],
                &[
                    ("missing_metadata", "projects.scorer.required_metadata"),
                    ("missing_metadata", "required_metadata"),
                ],
            ),
        ];
        let policy = policy();
        for (project, version, keys, expected) in table {
            let found: Vec<(&str, String)> = check(&policy, &running(project, version, keys))
                .into_iter()
                .map(|d| (d.rule, d.policy_entry))
                .collect();
            let expected: Vec<(&str, String)> =
                expected.iter().map(|(r, e)| (*r, e.to_string())).collect();
            assert_eq!(found, expected, "{project} {version} {keys:?}");
        }
    }

    #[test]
    fn an_unknown_version_deviates_only_when_the_policy_says_so() {
        let mut policy = policy();
        let job = running("other", "unknown", &["team"]);
        assert!(check(&policy, &job).is_empty());
        policy.require_known_version = true;
        let found = check(&policy, &job);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "unknown_version");
        assert_eq!(found[0].instances, vec![0, 2]);
    }

    #[test]
    fn a_deviation_names_job_instances_rule_and_reason() {
        let found = check(
            &policy(),
            &running("scorer", "1.4.1", &["team", "source_commit"]),
        );
        let text = found[0].describe();
        for part in [
            "ml/prod/x",
            "instances 0,2",
            "1.4.1",
            "denied_version",
            "CVE-2026-1234",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }

    #[test]
    fn a_bad_range_is_refused_naming_the_entry() {
        let option: PolicyOption = serde_json::from_value(json!({
            "projects": {"scorer": {"allowed": [">=1.x.y"]}}
        }))
        .unwrap();
        let failure = Policy::from_option(&option).unwrap_err();
        assert!(
            failure
                .msg()
                .starts_with("policy.projects.scorer.allowed[0]:"),
            "{}",
            failure.msg()
        );
    }

    proptest::proptest! {
        #[test]
        fn an_exact_entry_matches_only_itself(a in "[0-9]\\.[0-9]\\.[0-9]", b in "[0-9]\\.[0-9]\\.[0-9]") {
            let matcher = Matcher::parse("x", &a).unwrap();
            proptest::prop_assert_eq!(matcher.matches(&b), a == b);
        }
    }
}
