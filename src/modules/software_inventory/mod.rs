//! `aurora.scheduler.software_inventory`: read-only on the scheduler, for compliance. Every job
//! of the cluster (or of some roles) with the version of each instance, as job_info reads them,
//! checked against the security team's policy (`policy.rs`); with `report_dir`, the report files
//! written as the jobs are read (`report.rs`) and only counts and deviations returned.

mod policy;
mod report;

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::types::ScheduleStatus;
use crate::spec::provenance::VersionSource;
use crate::spec::utc::utc_millis;

use super::job_info::{read_jobs, Filter, ListedJob, Template};
use super::support::connection::ConnectionOptions;

pub use policy::{check, Deviation, Policy, PolicyOption, RunningConfig, RunningJob};
use report::{PageHeading, Report};

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

    /// A directory on the host the module runs on (the controller, in
    /// C(playbooks/compliance_report.yml)) to write the report into, created when missing:
    /// C(software-inventory.json) (the jobs, as C(jobs) lists them), C(software-inventory.csv) (a
    /// row per instance and per cron template, with its deviations) and
    /// C(software-inventory.html) (a self-contained page: sortable tables of the deviations, the
    /// jobs and the instances, a bar of the versions of each job). Each file is written beside
    /// its final name and renamed over it when whole, never left half-written. With it the
    /// result leaves out C(jobs), which can be large, and gives C(files), and the task reports
    /// C(changed) (the page says when it was read); in check mode nothing is written. A relative
    /// path is relative to the module's working directory.
    pub report_dir: Option<PathBuf>,
}

impl Module for SoftwareInventory {
    const NAME: &'static str = "software_inventory";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new(
            "Inventory of the software versions running on Aurora, checked against a policy",
        )
        .description(
            "Read-only on the scheduler: every service, batch job and cron job with, per \
                 instance, its status, host, version (with where it was read: C(version) \
                 metadata, container image tag, or C(unknown)) and configuration fingerprint; \
                 per job the number of active instances of each version, mixed versions during \
                 a rollout, and the deviations from the security team's policy.",
        )
        .description(
            "The policy: allowed versions or semver ranges per project (the C(project) \
                 metadata the platform stamps, else the job name), denied versions with their \
                 reason, required metadata keys, and whether an unknown version deviates. Each \
                 deviation names the job, the instances and the policy entry.",
        )
        .description(
            "With O(report_dir), writes the report an auditor receives, as JSON, CSV and a \
                 self-contained HTML page, while it reads the jobs, and returns only the \
                 counts, the deviations and the files' paths: the way to report on a large \
                 cluster.",
        )
        .note("The same few calls as M(aurora.scheduler.job_info), which reads the jobs.")
        .note(
            "C(playbooks/compliance_report.yml) runs it with O(report_dir) on the controller, \
                 and fails when the policy is violated.",
        )
        .examples(EXAMPLES)
        .returns(RETURN)
        .check_mode(Support::Full)
        .diff_mode(Support::None)
    }

    fn run(options: Options, ctx: &mut Context) -> Result<Outcome, Failure> {
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
        let report_dir = options
            .report_dir
            .as_deref()
            .map(|dir| {
                std::path::absolute(dir)
                    .map_err(|e| Failure::new(format!("report_dir: {}: {e}", dir.display())))
            })
            .transpose()?;
        let read_at = read_at();
        let mut report = match &report_dir {
            Some(dir) if !ctx.check_mode => Some(Report::start(
                dir,
                &PageHeading {
                    scheduler_url: &conn.url,
                    read_at: &read_at,
                    roles: &options.roles,
                },
            )?),
            _ => None,
        };
        let mut listed: Vec<Value> = Vec::new();
        let mut totals = Totals::default();
        read_jobs(&conn, &filter, |job| {
            let template = job.template();
            let running = running_job(&job, template.as_ref());
            let found = check(&policy, &running);
            let row = inventory_row(&job, template, &running, found);
            totals.add(&row);
            match &mut report {
                Some(report) => report.add(&row)?,
                None if report_dir.is_none() => listed.push(
                    serde_json::to_value(&row)
                        .map_err(|e| Failure::new(format!("{}: {e}", row.job)))?,
                ),
                None => {}
            }
            totals.deviations.extend(row.deviations);
            Ok(())
        })?;
        let files = report.map(Report::finish).transpose()?;

        let deviations = &totals.deviations;
        let mut msg = if deviations.is_empty() {
            format!(
                "{} jobs of {}, no deviation from the policy",
                totals.jobs,
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
                totals.jobs,
                filter.scope(),
                named.join("; "),
                if more > 0 {
                    format!("; and {more} more (see deviations)")
                } else {
                    String::new()
                }
            )
        };
        let mut outcome = Outcome::changed(report_dir.is_some());
        match (&report_dir, files) {
            (_, Some(files)) => {
                msg = format!("{msg}; report written to {}", files.html.display());
                outcome = outcome.field("files", json!(files));
            }
            (Some(dir), None) => {
                msg = format!("{msg}; check mode: no report written to {}", dir.display());
                outcome = outcome.field("files", json!(report::ReportPaths::in_dir(dir)));
            }
            (None, None) => outcome = outcome.field("jobs", Value::Array(listed)),
        }
        let compliant = deviations.is_empty();
        let outcome = outcome
            .msg(msg.clone())
            .field("summary", totals.summary())
            .field("deviations", json!(deviations))
            .field("compliant", compliant)
            .field("scheduler_url", conn.url.clone());
        if options.fail_on_deviation && !compliant {
            return Err(Failure::new(msg).after(outcome));
        }
        Ok(outcome)
    }
}

/// Now, as the report's page says when the jobs were read: `YYYY-MM-DD HH:MM:SS` (UTC).
fn read_at() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    utc_millis(ms).replace('T', " ").replace('Z', "")
}

/// The counts of the report, summed job by job, and every deviation.
#[derive(Default)]
struct Totals {
    jobs: usize,
    instances: usize,
    versions: BTreeMap<String, usize>,
    unknown_version_jobs: Vec<String>,
    mixed_version_jobs: Vec<String>,
    deviations: Vec<Deviation>,
}

impl Totals {
    fn add(&mut self, row: &InventoryRow) {
        self.jobs += 1;
        self.instances += row.instances.len();
        for (version, count) in &row.versions {
            *self.versions.entry(version.clone()).or_default() += count;
        }
        if row.version_unknown {
            self.unknown_version_jobs.push(row.job.clone());
        }
        if row.mixed_versions {
            self.mixed_version_jobs.push(row.job.clone());
        }
    }

    fn summary(&self) -> Value {
        json!({
            "jobs": self.jobs,
            "instances": self.instances,
            "versions": self.versions,
            "unknown_version_jobs": self.unknown_version_jobs,
            "mixed_version_jobs": self.mixed_version_jobs,
            "deviations": self.deviations.len(),
        })
    }
}

/// One job of the inventory (see RETURN, C(jobs)): job_info's listing cut down to what an
/// auditor reads, with the versions counted per active instance (a cron template's version
/// counted with its running instances, 0 when none run) and the job's deviations. It borrows
/// from the job as read, so that a row costs no copy of its instances.
#[derive(Serialize)]
pub(crate) struct InventoryRow<'a> {
    pub job: String,
    pub role: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub name: Option<&'a str>,
    pub kind: &'static str,
    pub project: String,
    pub instance_count: usize,
    pub instances: Vec<InstanceRow<'a>>,
    pub versions: BTreeMap<String, usize>,
    pub mixed_versions: bool,
    pub version_unknown: bool,
    pub cron_schedule: Option<&'a str>,
    pub template: Option<Template<'a>>,
    pub active_update: Option<Value>,
    pub deviations: Vec<Deviation>,
}

/// One active instance of a job.
#[derive(Serialize)]
pub(crate) struct InstanceRow<'a> {
    pub id: i32,
    pub status: ScheduleStatus,
    pub host: Option<&'a str>,
    pub version: &'a str,
    pub version_source: VersionSource,
    pub fingerprint: &'a str,
}

/// What the policy check needs of one job: its project and its distinct configurations (and a
/// cron job's template) with their instances, version and metadata keys.
fn running_job(job: &ListedJob, template: Option<&Template>) -> RunningJob {
    let groups = job.config_groups();
    let mut configs: Vec<RunningConfig> = groups
        .iter()
        .map(|(group, ids)| RunningConfig {
            instances: ids.clone(),
            template: false,
            version: group.version.version.clone(),
            version_known: group.version.is_known(),
            metadata_keys: group.metadata().keys().map(|k| k.to_string()).collect(),
        })
        .collect();
    if let Some(template) = template {
        configs.push(RunningConfig {
            instances: Vec::new(),
            template: true,
            version: template.version.clone(),
            version_known: template.version_source != VersionSource::Unknown,
            metadata_keys: template.metadata.keys().map(|k| k.to_string()).collect(),
        });
    }
    // The project of the lowest instance's configuration, else the template's, else the name.
    let project = groups
        .first()
        .and_then(|(group, _)| group.metadata().get("project").map(|p| p.to_string()))
        .or_else(|| template.and_then(|t| t.metadata.get("project").map(|p| p.to_string())))
        .unwrap_or_else(|| job.key.name.clone().unwrap_or_default());
    RunningJob {
        job: job.name.clone(),
        project,
        configs,
    }
}

fn inventory_row<'a>(
    job: &'a ListedJob,
    template: Option<Template<'a>>,
    running: &RunningJob,
    deviations: Vec<Deviation>,
) -> InventoryRow<'a> {
    let instances: Vec<InstanceRow> = job
        .tasks()
        .into_iter()
        .map(|task| InstanceRow {
            id: task.instance,
            status: task.status,
            host: task.host,
            version: &task.config.version.version,
            version_source: task.config.version.source,
            fingerprint: &task.config.fingerprint,
        })
        .collect();
    let counts = job.version_counts();
    let mut versions: BTreeMap<String, usize> = counts
        .iter()
        .map(|(version, count)| (version.to_string(), *count))
        .collect();
    if let Some(template) = &template {
        versions.entry(template.version.clone()).or_insert(0);
    }
    let version_unknown = running.configs.iter().any(|c| !c.version_known);
    InventoryRow {
        job: job.name.clone(),
        role: job.key.role.as_deref(),
        environment: job.key.environment.as_deref(),
        name: job.key.name.as_deref(),
        kind: job.kind(),
        project: running.project.clone(),
        instance_count: job.active_instance_count(),
        instances,
        versions,
        mixed_versions: counts.len() > 1,
        version_unknown,
        cron_schedule: job.cron_schedule(),
        template,
        active_update: job.active_update(),
        deviations,
    }
}

const EXAMPLES: &str = r#"- name: What runs, checked against the security team's policy
  aurora.scheduler.software_inventory:
    policy: "{{ lookup('file', 'policy.yml') | from_yaml }}"
  register: inventory

- name: The report an auditor receives, written on the controller
  aurora.scheduler.software_inventory:
    policy: "{{ lookup('file', 'policy.yml') | from_yaml }}"
    report_dir: /srv/audit/{{ now(utc=true, fmt='%Y-%m-%d') }}
  delegate_to: localhost
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
  description: >-
    Every job (services, batch jobs, cron jobs), sorted by key; with O(report_dir) the same
    list is in C(software-inventory.json) instead.
  returned: when report_dir is not given
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
  sample: [{job: ml/prod/scorer, project: scorer, instances: [0, 2], template: false, version:
      "1.4.1", rule: denied_version, policy_entry: "projects.scorer.denied[0]", detail:
      "CVE-2026-1234"}]
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
files:
  description: >-
    The report's files, by C(json), C(csv) and C(html), as absolute paths (in check mode, where
    they would be written).
  returned: when report_dir is given
  type: dict
  sample: {json: /srv/audit/software-inventory.json, csv: /srv/audit/software-inventory.csv, html: /srv/audit/software-inventory.html}
scheduler_url:
  description: The scheduler the module talked to.
  returned: always
  type: str
"#;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::types::{
        AssignedTask, JobConfiguration, JobKey, JobSummary, Metadata, ScheduledTask, TaskConfig,
    };

    pub(crate) fn config(key: &JobKey, metadata: &[(&str, &str)]) -> TaskConfig {
        TaskConfig {
            job: Some(key.clone()),
            metadata: Some(
                metadata
                    .iter()
                    .map(|(k, v)| Metadata {
                        key: Some(k.to_string()),
                        value: Some(v.to_string()),
                    })
                    .collect(),
            ),
            ..TaskConfig::default()
        }
    }

    pub(crate) fn running(config: &TaskConfig, instance: i32, host: &str) -> ScheduledTask {
        ScheduledTask {
            assigned_task: Some(AssignedTask {
                task_id: Some(format!("t{instance}")),
                slave_host: Some(host.into()),
                task: Some(config.clone()),
                instance_id: instance,
                ..AssignedTask::default()
            }),
            status: Some(ScheduleStatus::RUNNING),
            ..ScheduledTask::default()
        }
    }

    /// A cron job whose run is active on two instances, one of them from an older template
    /// that has the team metadata the newer one lacks, and its template.
    pub(crate) fn cron_job() -> (JobKey, JobSummary, Vec<ScheduledTask>) {
        let key = JobKey::new("fraud", "prod", "retrain");
        let old = config(
            &key,
            &[
                ("version", "1.0.0"),
                ("project", "retraining"),
                ("team", "fraud"),
            ],
        );
        let new = config(&key, &[("version", "1.1.0"), ("project", "retraining")]);
        let summary = JobSummary {
            job: Some(JobConfiguration {
                key: Some(key.clone()),
                cron_schedule: Some("0 3 * * *".into()),
                task_config: Some(new.clone()),
                instance_count: 2,
                ..JobConfiguration::default()
            }),
            ..JobSummary::default()
        };
        let tasks = vec![running(&new, 1, "h2"), running(&old, 0, "h1")];
        (key, summary, tasks)
    }

    fn policy(option: Value) -> Policy {
        Policy::from_option(&serde_json::from_value(option).unwrap()).unwrap()
    }

    #[test]
    fn a_job_is_checked_per_configuration_and_template_under_its_project() {
        let (key, summary, tasks) = cron_job();
        let pending = BTreeMap::new();
        let job = ListedJob::of(&key, &summary, tasks, &pending);
        let template = job.template();
        let running = running_job(&job, template.as_ref());
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
        let found = check(&policy(json!({"required_metadata": ["team"]})), &running);
        let named: Vec<(Vec<i32>, bool)> = found
            .iter()
            .map(|d| (d.instances.clone(), d.template))
            .collect();
        assert_eq!(named, vec![(vec![1], false), (vec![], true)]);
    }

    #[test]
    fn a_job_without_project_metadata_is_checked_under_its_name() {
        let key = JobKey::new("ml", "prod", "scorer");
        let summary = JobSummary {
            job: Some(JobConfiguration {
                key: Some(key.clone()),
                ..JobConfiguration::default()
            }),
            ..JobSummary::default()
        };
        let pending = BTreeMap::new();
        let tasks = vec![running(&config(&key, &[("version", "2.0")]), 0, "h1")];
        let job = ListedJob::of(&key, &summary, tasks, &pending);
        assert_eq!(running_job(&job, None).project, "scorer");
    }

    #[test]
    fn every_key_of_an_inventory_row_is_documented() {
        let (key, summary, tasks) = cron_job();
        let pending = BTreeMap::new();
        let job = ListedJob::of(&key, &summary, tasks, &pending);
        let template = job.template();
        let running = running_job(&job, template.as_ref());
        let row =
            serde_json::to_value(inventory_row(&job, template, &running, Vec::new())).unwrap();
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
        assert_eq!(row["instances"][1]["status"], "RUNNING");
        assert_eq!(row["instances"][0]["version_source"], "metadata");
        assert_eq!(row["mixed_versions"], true);
        assert_eq!(row["kind"], "cron");
        assert_eq!(row["template"]["version"], "1.1.0");
    }

    #[test]
    fn every_key_of_the_result_is_documented_with_and_without_report_dir() {
        let docs: Value = serde_yaml_ng::from_str(RETURN).unwrap();
        let documented: BTreeSet<&str> = docs
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let common = ["msg", "summary", "deviations", "compliant", "scheduler_url"];
        for (key, returned) in [
            ("jobs", "report_dir is not given"),
            ("files", "report_dir is given"),
        ] {
            assert!(documented.contains(key), "{key} is not documented");
            let when = docs[key]["returned"].as_str().unwrap_or_default();
            assert!(when.contains(returned), "{key} returned: {when}");
        }
        for key in common.iter().filter(|k| **k != "msg") {
            assert!(documented.contains(key), "{key} is not documented");
        }
        let summary: BTreeSet<String> = Totals::default()
            .summary()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let described = docs["summary"]["description"].as_str().unwrap();
        for key in &summary {
            assert!(
                described.contains(&format!("C({key})")),
                "summary.{key} is not described"
            );
        }
    }
}
