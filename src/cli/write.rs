//! The write commands: `create` (createJob with a one-process job built by the job model in
//! `crate::spec`) and `kill` (killTasks).

use std::io::Write;

use clap::Args;

use super::{emit, parse_job_key, to_json, CliError, Output};
use crate::api::client::Client;
use crate::api::methods::{CreateJob, GetTierConfigs, KillTasks};
use crate::api::types::{JobKey, Result as ApiResult};
use crate::spec::task_options::{ProcessOptions, ResourcesOptions, TaskOptions};
use crate::spec::{BuildContext, JobOptions, Size};

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// ROLE/ENV/NAME
    #[arg(value_parser = parse_job_key)]
    pub job: JobKey,
    /// Command line of the job's single process, run by bash.
    #[arg(long)]
    pub cmd: String,
    /// Number of instances.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=4000))]
    pub instances: i32,
    /// CPUs per instance.
    #[arg(long, default_value_t = 1.0, value_parser = parse_positive)]
    pub cpu: f64,
    /// RAM per instance, MiB.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(i64).range(1..))]
    pub ram_mb: i64,
    /// Disk per instance, MiB.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(i64).range(1..))]
    pub disk_mb: i64,
    /// Tier (default: the scheduler's default tier).
    #[arg(long)]
    pub tier: Option<String>,
    /// A service: instances are restarted whenever they exit.
    #[arg(long, conflicts_with = "batch")]
    pub service: bool,
    /// A batch job: instances run to completion (the default).
    #[arg(long)]
    pub batch: bool,
}

fn parse_positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{text:?} is not a positive number")),
    }
}

/// The job `create` submits, as options of the job model: one process running `cmd`, named
/// after the job.
fn job_options(args: &CreateArgs) -> JobOptions {
    let part = |p: &Option<String>| p.clone().unwrap_or_default();
    JobOptions {
        role: part(&args.job.role),
        environment: part(&args.job.environment),
        name: part(&args.job.name),
        instances: Some(args.instances),
        service: Some(args.service),
        tier: args.tier.clone(),
        task: Some(TaskOptions {
            processes: vec![ProcessOptions {
                name: part(&args.job.name),
                cmdline: args.cmd.clone(),
                ..ProcessOptions::default()
            }],
            resources: ResourcesOptions {
                cpu: args.cpu,
                ram: Size::mib(args.ram_mb.unsigned_abs()),
                disk: Size::mib(args.disk_mb.unsigned_abs()),
                gpu: 0,
            },
            ..TaskOptions::default()
        }),
        ..JobOptions::default()
    }
}

/// The local login recorded as the job's owner, as the Aurora client does.
fn local_user(fallback: &str) -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

pub fn create(
    client: &Client,
    args: &CreateArgs,
    cluster_option: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    // As the Aurora client does before createJob: learn the cluster name and the tiers.
    let tiers = client.call_ok(&GetTierConfigs {})?;
    let cluster = tiers
        .server_info
        .as_ref()
        .and_then(|s| s.cluster_name.clone())
        .filter(|c| !c.is_empty())
        .or_else(|| cluster_option.map(str::to_string))
        .unwrap_or_else(|| "devcluster".to_string());
    let tier_config = match &tiers.result {
        Some(ApiResult::GetTierConfigResult(r)) => Some(r),
        _ => None,
    };
    let role = args.job.role.clone().unwrap_or_default();
    let owner = local_user(&role);
    let job = job_options(args)
        .build(&BuildContext {
            cluster: &cluster,
            owner: &owner,
            tiers: tier_config,
        })
        .map_err(|e| CliError::Usage(format!("the job is not valid: {e}")))?;
    let tier = job
        .task_config()
        .tier
        .clone()
        .unwrap_or_else(|| "(scheduler default)".into());
    let config = job.config;
    let response = client.call_ok(&CreateJob {
        description: Some(config),
    })?;
    match output {
        Output::Json => emit(out, &to_json(&response)),
        Output::Table => {
            let mut text = format!(
                "created {} {} with {} instance(s) in tier {tier}\n",
                if args.service { "service" } else { "batch job" },
                args.job,
                args.instances
            );
            for detail in response.detail_messages() {
                text.push_str(&format!("scheduler: {detail}\n"));
            }
            emit(out, &text);
        }
    }
    Ok(())
}

pub fn kill(
    client: &Client,
    job: &JobKey,
    instances: Option<&[i32]>,
    message: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let response = client.call_ok(&KillTasks {
        job: Some(job.clone()),
        instances: instances.map(<[i32]>::to_vec),
        message: message.map(str::to_string),
    })?;
    match output {
        Output::Json => emit(out, &to_json(&response)),
        Output::Table => {
            let which = match instances {
                Some(ids) => format!(
                    "instances {} of",
                    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
                ),
                None => "all instances of".to_string(),
            };
            let mut text = format!("kill requested for {which} {job}\n");
            for detail in response.detail_messages() {
                text.push_str(&format!("scheduler: {detail}\n"));
            }
            emit(out, &text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{GetTierConfigResult, Resource, TierConfig};

    fn args(cmd: &str) -> CreateArgs {
        CreateArgs {
            job: JobKey::new("www-data", "devel", "hello"),
            cmd: cmd.into(),
            instances: 2,
            cpu: 0.5,
            ram_mb: 128,
            disk_mb: 256,
            tier: None,
            service: true,
            batch: false,
        }
    }

    #[test]
    fn create_builds_the_reference_minimal_example_through_the_job_model() {
        // client-reference §1.8.5, with the command of the example.
        let tiers = GetTierConfigResult {
            default_tier_name: Some("preemptible".into()),
            tiers: Some(vec![TierConfig {
                name: Some("preemptible".into()),
                settings: Some(
                    [
                        ("preemptible".into(), "true".into()),
                        ("revocable".into(), "false".into()),
                    ]
                    .into(),
                ),
            }]),
        };
        let a = args("python -m http.server {{thermos.ports[http]}}");
        let job = job_options(&a)
            .build(&BuildContext {
                cluster: "devcluster",
                owner: "alice",
                tiers: Some(&tiers),
            })
            .unwrap();
        assert_eq!(job.config.instance_count, 2);
        let task = job.task_config();
        assert!(task.is_service);
        assert_eq!(task.tier.as_deref(), Some("preemptible"));
        assert_eq!(task.owner.as_ref().unwrap().user.as_deref(), Some("alice"));
        assert_eq!(
            task.resources.clone().unwrap(),
            vec![
                Resource::NumCpus(0.5),
                Resource::RamMb(128),
                Resource::DiskMb(256),
                Resource::NamedPort("http".into()),
            ]
        );
        let data: serde_json::Value = serde_json::from_str(job.executor_data()).unwrap();
        assert_eq!(data["task"]["processes"][0]["cmdline"], a.cmd.as_str());
        assert_eq!(data["task"]["resources"]["ram"], 128 * 1024 * 1024);
        assert_eq!(data["cluster"], "devcluster");
    }
}
