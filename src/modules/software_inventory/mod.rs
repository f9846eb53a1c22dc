//! `aurora.scheduler.software_inventory`: read-only, for compliance. Every job of the cluster
//! (or of some roles) with the version of each instance, as job_info reads them, checked
//! against the security team's policy (`policy.rs`); the playbook writes the files.

mod policy;

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::spec::provenance::UNKNOWN_VERSION;

use super::job_info::{read_jobs, Filter};
use super::support::connection::ConnectionOptions;

pub use policy::{check, Deviation, Policy, PolicyOption, RunningConfig, RunningJob};

pub struct SoftwareInventory;

/// Deviations named in the message; the rest are in C(deviations).
const DEVIATIONS_IN_MESSAGE: usize = 10;

/// Options of `aurora.scheduler.software_inventory`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    /// Only the jobs of these roles; every role when empty.
    #[serde(default)]
    pub roles: Vec<String>,

    /// Only the jobs of this environment.
    pub environment: Option<String>,

    /// Only the jobs whose name matches this regular expression (searched).
    pub name: Option<String>,

    /// The security team's policy, usually read from its file with
    /// C(lookup('file', policy_file) | from_yaml). Without it, nothing deviates.
    pub policy: Option<PolicyOption>,

    /// Whether the task fails when a job deviates from the policy. The compliance playbook
    /// leaves it false, writes the report, then fails.
    #[serde(default)]
    pub fail_on_deviation: bool,
}

impl Module for SoftwareInventory {
    const NAME: &'static str = "software_inventory";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new(
            "Inventory of the software versions running on Aurora, checked against a policy",
        )
        .description(
            "Read-only: every service, batch job and cron job with, per instance, its \
                 status, host, version (with where it was read: C(version) metadata, container \
                 image tag, or C(unknown)) and configuration fingerprint; per job the number of \
                 active instances of each version, mixed versions during a rollout, and the \
                 deviations from the security team's policy.",
        )
        .description(
            "The policy: allowed versions or semver ranges per project (the C(project) \
                 metadata the platform stamps, else the job name), denied versions with their \
                 reason, required metadata keys, and whether an unknown version deviates. Each \
                 deviation names the job, the instances and the policy entry.",
        )
        .note("The same few calls as M(aurora.scheduler.job_info), which reads the jobs.")
        .note(
            "C(playbooks/compliance_report.yml) writes this as JSON, CSV and a \
                 self-contained HTML page, and fails when the policy is violated.",
        )
        .examples(EXAMPLES)
        .returns(RETURN)
        .check_mode(Support::Full)
        .diff_mode(Support::None)
    }

    fn run(options: Options, _ctx: &mut Context) -> Result<Outcome, Failure> {
        let policy = options
            .policy
            .as_ref()
            .map(Policy::from_option)
            .transpose()?
            .unwrap_or_default();
        let filter = Filter::new(
            ("roles", options.roles.clone()),
            options.environment.clone(),
            options.name.as_deref(),
            Vec::new(),
        )?;
        let conn = options.connection.connect()?;
        let mut rows = Vec::new();
        let mut deviations: Vec<Deviation> = Vec::new();
        let mut cluster_versions: BTreeMap<String, u64> = BTreeMap::new();
        let mut unknown = Vec::new();
        let mut mixed = Vec::new();
        let mut instance_total = 0;
        read_jobs(&conn, &filter, |info| {
            let running = running_job(&info);
            let found = check(&policy, &running);
            let row = inventory_row(info, &running, &found);
            for (version, count) in row["versions"].as_object().into_iter().flatten() {
                *cluster_versions.entry(version.clone()).or_default() +=
                    count.as_u64().unwrap_or(0);
            }
            if row["version_unknown"] == json!(true) {
                unknown.push(row["job"].clone());
            }
            if row["mixed_versions"] == json!(true) {
                mixed.push(row["job"].clone());
            }
            instance_total += row["instances"].as_array().map_or(0, Vec::len);
            deviations.extend(found);
            rows.push(row);
        })?;

        let msg = if deviations.is_empty() {
            format!(
                "{} jobs of {}, no deviation from the policy",
                rows.len(),
                filter.scope()
            )
        } else {
            let named: Vec<String> = deviations
                .iter()
                .take(DEVIATIONS_IN_MESSAGE)
                .map(Deviation::describe)
                .collect();
            let more = deviations.len().saturating_sub(DEVIATIONS_IN_MESSAGE);
            format!(
                "{} deviations from the policy in {} jobs of {}: {}{}",
                deviations.len(),
                rows.len(),
                filter.scope(),
                named.join("; "),
                if more > 0 {
                    format!("; and {more} more (see deviations)")
                } else {
                    String::new()
                }
            )
        };
        let summary = json!({
            "jobs": rows.len(),
            "instances": instance_total,
            "versions": cluster_versions,
            "unknown_version_jobs": unknown,
            "mixed_version_jobs": mixed,
            "deviations": deviations.len(),
        });
        let outcome = Outcome::unchanged()
            .msg(msg.clone())
            .field("jobs", Value::Array(rows))
            .field("deviations", json!(deviations))
            .field("compliant", deviations.is_empty())
            .field("summary", summary)
            .field("scheduler_url", conn.url.clone());
        if options.fail_on_deviation && !deviations.is_empty() {
            return Err(Failure::new(msg).after(outcome));
        }
        Ok(outcome)
    }
}

/// What the policy check needs of one job as job_info lists it: its project and its distinct
/// configurations (and a cron job's template) with their instances, version and metadata keys.
fn running_job(info: &Value) -> RunningJob {
    let mut configs: Vec<RunningConfig> = info["configs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|config| RunningConfig {
            instances: config["instance_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|id| id.as_i64().and_then(|id| i32::try_from(id).ok()))
                .collect(),
            template: false,
            version: text(&config["version"]),
            version_known: config["version_source"] != json!("unknown"),
            metadata_keys: keys(&config["metadata"]),
        })
        .collect();
    let template = &info["template"];
    if template.is_object() {
        configs.push(RunningConfig {
            instances: Vec::new(),
            template: true,
            version: text(&template["version"]),
            version_known: template["version_source"] != json!("unknown"),
            metadata_keys: keys(&template["metadata"]),
        });
    }
    let project = info["configs"]
        .get(0)
        .map(|c| &c["metadata"]["project"])
        .filter(|p| p.is_string())
        .or(Some(&template["metadata"]["project"]).filter(|p| p.is_string()))
        .and_then(Value::as_str)
        .or(info["name"].as_str())
        .unwrap_or_default()
        .to_string();
    RunningJob {
        job: text(&info["job"]),
        project,
        configs,
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or(UNKNOWN_VERSION).to_string()
}

fn keys(metadata: &Value) -> BTreeSet<String> {
    metadata
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// One job of the inventory: job_info's listing cut down to what an auditor reads, with the
/// versions counted per active instance (a cron template's version counted with its running
/// instances, 0 when none run) and the job's deviations.
fn inventory_row(mut info: Value, running: &RunningJob, deviations: &[Deviation]) -> Value {
    let instances: Vec<Value> = info["tasks"]
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default()
        .into_iter()
        .map(|mut task| {
            json!({
                "id": task["instance"].take(),
                "status": task["status"].take(),
                "host": task["host"].take(),
                "version": task["version"].take(),
                "version_source": task["version_source"].take(),
                "fingerprint": task["fingerprint"].take(),
            })
        })
        .collect();
    let mut versions: BTreeMap<String, Value> = info["version_counts"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if let Some(version) = info["template"]["version"].as_str() {
        versions.entry(version.to_string()).or_insert(json!(0));
    }
    let version_unknown = running.configs.iter().any(|c| !c.version_known);
    json!({
        "job": info["job"].take(),
        "role": info["role"].take(),
        "environment": info["environment"].take(),
        "name": info["name"].take(),
        "kind": info["kind"].take(),
        "project": running.project,
        "instance_count": info["instance_count"].take(),
        "instances": instances,
        "versions": versions,
        "mixed_versions": info["mixed_versions"].take(),
        "version_unknown": version_unknown,
        "cron_schedule": info["cron_schedule"].take(),
        "template": info["template"].take(),
        "active_update": info["active_update"].take(),
        "deviations": deviations,
    })
}

const EXAMPLES: &str = r#"- name: What runs, checked against the security team's policy
  aurora.scheduler.software_inventory:
    policy: "{{ lookup('file', 'policy.yml') | from_yaml }}"
  register: inventory

- name: Only the ml and fraud roles, failing on any deviation
  aurora.scheduler.software_inventory:
    roles: [ml, fraud]
    policy:
      require_known_version: true
      required_metadata: [team, source_commit]
      projects:
        scorer:
          allowed: [">=1.4.0, <2.0.0"]
          denied:
            - {version: "1.4.1", reason: "CVE-2026-1234: remote code execution"}
    fail_on_deviation: true
"#;

const RETURN: &str = r#"jobs:
  description: Every job (services, batch jobs, cron jobs), sorted by key.
  returned: always
  type: list
  elements: dict
  contains:
    job:
      description: The job key, C(role/environment/name).
      type: str
      sample: ml/prod/scorer
    role:
      description: The job's role.
      type: str
    environment:
      description: The job's environment.
      type: str
    name:
      description: The job's name.
      type: str
    kind:
      description: C(service), C(batch) or C(cron).
      type: str
      sample: service
    project:
      description: The project the policy applies, the C(project) metadata, else the job name.
      type: str
      sample: scorer
    instance_count:
      description: The number of instances with an active task.
      type: int
      sample: 3
    instances:
      description: >-
        Each active instance: C(id), C(status), C(host) (null while PENDING), C(version),
        C(version_source) (C(metadata), C(image) or C(unknown)) and the C(fingerprint) of its
        configuration.
      type: list
      elements: dict
      sample: [{id: 0, status: RUNNING, host: agent-1, version: "1.4.2", version_source: metadata, fingerprint: 5d1c0e7a9b3f2264}]
    versions:
      description: >-
        Each version with its number of active instances; a cron job's template version is
        listed with 0 when no run is active.
      type: dict
      sample: {"1.4.1": 2, "1.4.2": 1}
    mixed_versions:
      description: Whether the active instances run more than one version (a rollout).
      type: bool
    version_unknown:
      description: Whether some instance (or the cron template) has no known version.
      type: bool
    cron_schedule:
      description: The cron schedule of a cron job, else null.
      type: str
    template:
      description: A cron job's template (see M(aurora.scheduler.job_info)), else null.
      type: dict
    active_update:
      description: The update in flight, else null.
      type: dict
    deviations:
      description: This job's deviations (see C(deviations)).
      type: list
      elements: dict
deviations:
  description: >-
    Every deviation from the policy: the C(job), its C(project), the C(instances) (empty with
    C(template=true) for a cron job's template), the C(version), the C(rule)
    (C(denied_version), C(version_not_allowed), C(missing_metadata), C(unknown_version)), the
    C(policy_entry) broken and the C(detail) (the denial's reason, the allowed versions, the
    missing keys).
  returned: always
  type: list
  elements: dict
  sample: [{job: ml/prod/scorer, project: scorer, instances: [0, 2], template: false, version: "1.4.1", rule: denied_version, policy_entry: "projects.scorer.denied[0]", detail: "CVE-2026-1234"}]
compliant:
  description: Whether nothing deviates from the policy.
  returned: always
  type: bool
summary:
  description: >-
    Counts for the report: C(jobs), C(instances), C(versions) (each version with its active
    instances across the jobs), C(unknown_version_jobs), C(mixed_version_jobs) and
    C(deviations).
  returned: always
  type: dict
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// A job as job_info lists it: a cron job whose run is active on two instances, one of them
    /// from an older template, and its template.
    fn listed() -> Value {
        json!({
            "job": "fraud/prod/retrain", "role": "fraud", "environment": "prod", "name": "retrain",
            "kind": "cron", "instance_count": 2, "cron_schedule": "0 3 * * *",
            "mixed_versions": true, "version_counts": {"1.0.0": 1, "1.1.0": 1},
            "template": {"version": "1.1.0", "version_source": "metadata",
                         "metadata": {"version": "1.1.0", "project": "retraining"}},
            "configs": [
                {"instance_ids": [0], "version": "1.0.0", "version_source": "metadata",
                 "metadata": {"version": "1.0.0", "project": "retraining", "team": "fraud"}},
                {"instance_ids": [1], "version": "1.1.0", "version_source": "metadata",
                 "metadata": {"version": "1.1.0", "project": "retraining"}},
            ],
            "tasks": [
                {"instance": 0, "status": "RUNNING", "host": "h1", "version": "1.0.0",
                 "version_source": "metadata", "fingerprint": "a", "task_id": "t0", "ports": {}},
                {"instance": 1, "status": "RUNNING", "host": "h2", "version": "1.1.0",
                 "version_source": "metadata", "fingerprint": "b", "task_id": "t1", "ports": {}},
            ],
            "active_update": null,
        })
    }

    #[test]
    fn a_job_is_checked_per_configuration_and_template_under_its_project() {
        let running = running_job(&listed());
        assert_eq!(running.project, "retraining");
        let shape: Vec<(Vec<i32>, bool, &str)> = running
            .configs
            .iter()
            .map(|c| (c.instances.clone(), c.template, c.version.as_str()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (vec![0], false, "1.0.0"),
                (vec![1], false, "1.1.0"),
                (vec![], true, "1.1.0")
            ]
        );
        let option: PolicyOption =
            serde_json::from_value(json!({"required_metadata": ["team"]})).unwrap();
        let found = check(&Policy::from_option(&option).unwrap(), &running);
        let named: Vec<(Vec<i32>, bool)> = found
            .iter()
            .map(|d| (d.instances.clone(), d.template))
            .collect();
        assert_eq!(named, vec![(vec![1], false), (vec![], true)]);
    }

    #[test]
    fn every_key_of_an_inventory_row_is_documented() {
        let info = listed();
        let running = running_job(&info);
        let row = inventory_row(info, &running, &[]);
        let mut keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        keys.sort();
        let docs: Value = serde_yaml_ng::from_str(RETURN).unwrap();
        let mut documented: Vec<&String> = docs["jobs"]["contains"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        documented.sort();
        assert_eq!(keys, documented);
        assert_eq!(row["versions"], json!({"1.0.0": 1, "1.1.0": 1}));
        assert_eq!(row["instances"][1]["id"], 1);
        assert_eq!(row["instances"][1]["host"], "h2");
    }
}
