//! The job model seen from a module: built from the options with the scheduler's facts (cluster
//! name, tiers) and the local user, populated by the scheduler as it would store it, and
//! compared; shown for `--diff` as the options that describe it, under headers naming the job.
//! Shared by the job and cron_job modules.

use serde_json::Value;

use crate::ansible::{Context, Failure, Outcome};
use crate::api::methods::PopulateJobConfig;
use crate::api::types::{JobConfiguration, JobKey, ResponseCode, Result as Payload, TaskConfig};
use crate::spec::{as_options, readable, BuildContext, Job as JobModel, SpecError};

use super::connection::{local_user, Connection};

/// Builds the job with `build` (`JobOptions::build` or `build_cron`) in the context of this
/// scheduler and user; the model's warnings become the module's.
pub fn build_job(
    conn: &Connection,
    ctx: &mut Context,
    build: impl FnOnce(&BuildContext) -> Result<JobModel, SpecError>,
) -> Result<JobModel, Failure> {
    let facts = conn.facts()?;
    let owner = local_user();
    let job = build(&BuildContext {
        cluster: &facts.cluster_name,
        owner: &owner,
        tiers: Some(&facts.tiers),
    })
    .map_err(spec_failure)?;
    for warning in &job.warnings {
        ctx.warn(warning.clone());
    }
    Ok(job)
}

pub fn spec_failure(e: impl std::fmt::Display) -> Failure {
    Failure::new(e.to_string())
}

pub fn task_config_mut(config: &mut JobConfiguration) -> &mut TaskConfig {
    config.task_config.get_or_insert_with(TaskConfig::default)
}

/// The desired TaskConfig as the scheduler would store it (tier, production, task links filled).
pub fn populated(conn: &Connection, job: &JobModel) -> Result<TaskConfig, Failure> {
    let response = conn.client.call(&PopulateJobConfig {
        description: Some(job.config.clone()),
    })?;
    if response.code() != ResponseCode::OK {
        return Err(Failure::new(format!(
            "the scheduler refuses {}: {}",
            job.key,
            response.detail_messages().join("; ")
        )));
    }
    match response.result {
        Some(Payload::PopulateJobResult(r)) => r
            .task_config
            .ok_or_else(|| Failure::new("populateJobConfig answered without a task configuration")),
        _ => Err(Failure::new("populateJobConfig answered without a result")),
    }
}

/// Equal as the executor and the scheduler see them: sets in any order, executor JSON parsed.
pub fn same_config(a: &TaskConfig, b: &TaskConfig) -> bool {
    readable(a) == readable(b)
}

/// A job's configuration for `--diff`: its instance count and task configuration as the
/// module's options (`spec::as_options`).
pub fn state_json(instances: i32, config: &TaskConfig) -> Value {
    as_options(instances, config)
}

/// The `--diff` of a job (`what` is `job` or `cron job`): its configuration before and after
/// (`state_json`, `{}` when there is none), under headers naming the job with its cluster. The
/// cluster is the scheduler's name for itself (asked only in diff mode); the key alone when the
/// scheduler does not answer.
pub fn with_diff(
    outcome: Outcome,
    conn: &Connection,
    what: &str,
    key: &JobKey,
    before: Value,
    after: Value,
) -> Outcome {
    let cluster = conn.facts().ok().map(|facts| facts.cluster_name);
    let (before_header, after_header) = diff_headers(what, cluster.as_deref(), key);
    outcome.diff_with_headers(before, after, &before_header, &after_header)
}

/// `aurora job CLUSTER/ROLE/ENV/NAME (before)` and `(after)`, as Aurora's client names jobs.
pub fn diff_headers(what: &str, cluster: Option<&str>, key: &JobKey) -> (String, String) {
    let job = match cluster {
        Some(cluster) => format!("{cluster}/{key}"),
        None => key.to_string(),
    };
    (
        format!("aurora {what} {job} (before)"),
        format!("aurora {what} {job} (after)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::JobOptions;

    fn built(yaml: &str) -> JobModel {
        let options: JobOptions = serde_yaml_ng::from_str(yaml).expect("valid options");
        options
            .build(&BuildContext {
                cluster: "devcluster",
                owner: "alice",
                tiers: None,
            })
            .expect("a valid job")
    }

    /// The diff as Ansible's callback prints it: each side as JSON with sorted keys and four
    /// spaces of indent, compared line by line with three lines of context, under the headers.
    fn as_ansible_prints_it(diff: &Value) -> String {
        let side = |key: &str| {
            let mut text = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut serializer = serde_json::Serializer::with_formatter(&mut text, formatter);
            serde::Serialize::serialize(&diff[key], &mut serializer).unwrap();
            String::from_utf8(text).unwrap() + "\n"
        };
        let (before, after) = (side("before"), side("after"));
        similar::TextDiff::from_lines(&before, &after)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("before: {}", diff["before_header"].as_str().unwrap()),
                &format!("after: {}", diff["after_header"].as_str().unwrap()),
            )
            .to_string()
    }

    fn hello(instances: u32, ram: &str, serve: &str) -> JobModel {
        built(&format!(
            r#"
role: www-data
environment: prod
name: hello
instances: {instances}
tier: preferred
metadata: {{version: "1.4.2"}}
announce: {{primary_port: http, portmap: {{aurora: http, health: http}}}}
health_check: {{initial_interval_secs: 30}}
task:
  processes:
    - {{name: fetch, cmdline: "curl -fO https://artifacts.example.com/hello-1.4.2.tar.gz"}}
    - {{name: serve, cmdline: "{serve}"}}
  ordering: [fetch, serve]
  resources: {{cpu: 0.5, ram: {ram}, disk: 1GiB}}
"#
        ))
    }

    /// Resources, a process's command line and the instance count changed: the diff names the
    /// job, speaks in options and shows each change once.
    #[test]
    fn a_job_diff_shows_each_change_once_in_the_options_vocabulary() {
        let before = hello(2, "128MiB", "./hello --port %{thermos.ports[http]}");
        let after = hello(
            3,
            "256MiB",
            "./hello --port %{thermos.ports[http]} --workers 4",
        );
        let (before_header, after_header) = diff_headers("job", Some("devcluster"), &before.key);
        let outcome = Outcome::changed(true).diff_with_headers(
            state_json(before.instance_count(), before.task_config()),
            state_json(after.instance_count(), after.task_config()),
            &before_header,
            &after_header,
        );
        let diff = outcome.diff_value().unwrap();
        insta::assert_json_snapshot!("job_diff", diff);
        let printed = as_ansible_prints_it(diff);
        insta::assert_snapshot!("job_diff_as_printed", printed);
        let changed: Vec<&str> = printed
            .lines()
            .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
            .collect();
        assert_eq!(changed.len(), 6, "each of the 3 changes once: {changed:#?}");
    }

    #[test]
    fn headers_name_the_job_with_its_cluster() {
        let key = JobKey::new("www-data", "prod", "hello");
        assert_eq!(
            diff_headers("job", Some("devcluster"), &key),
            (
                "aurora job devcluster/www-data/prod/hello (before)".to_string(),
                "aurora job devcluster/www-data/prod/hello (after)".to_string()
            )
        );
        assert_eq!(
            diff_headers("cron job", None, &key).0,
            "aurora cron job www-data/prod/hello (before)"
        );
    }
}
