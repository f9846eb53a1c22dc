//! The write commands: `create` (createJob with a one-process Thermos job) and `kill` (killTasks).
//! The job built here is deliberately minimal; the full job model lives with the modules.

use std::collections::BTreeMap;
use std::io::Write;

use clap::Args;
use serde_json::json;

use super::{emit, parse_job_key, to_json, CliError, Output};
use crate::api::client::Client;
use crate::api::methods::{CreateJob, GetTierConfigs, KillTasks};
use crate::api::types::{
    Container, CronCollisionPolicy, ExecutorConfig, Identity, JobConfiguration, JobKey,
    MesosContainer, Resource, Result as ApiResult, TaskConfig, AURORA_EXECUTOR_NAME,
};

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

/// Bytes in a MiB: the executor JSON counts RAM and disk in bytes, TaskConfig in MiB.
const MIB: i64 = 1024 * 1024;

/// The named ports a command line refers to as `{{thermos.ports[NAME]}}`; the scheduler only
/// assigns ports that the TaskConfig asks for.
fn referenced_ports(cmd: &str) -> Vec<String> {
    let mut ports = Vec::new();
    let mut rest = cmd;
    while let Some(start) = rest.find("{{thermos.ports[") {
        rest = &rest[start + "{{thermos.ports[".len()..];
        if let Some(end) = rest.find("]}}") {
            let name = rest[..end].trim();
            if !name.is_empty() && !ports.iter().any(|p| p == name) {
                ports.push(name.to_string());
            }
            rest = &rest[end..];
        }
    }
    ports
}

/// The Thermos executor document for one process running `cmd`, in the shape the Aurora client
/// produces (client-reference §1.8.5).
fn executor_data(args: &CreateArgs, cluster: &str, tier: &str) -> serde_json::Value {
    let job = &args.job;
    let name = job.name.clone().unwrap_or_default();
    json!({
        "cluster": cluster,
        "cron_collision_policy": "KILL_EXISTING",
        "enable_hooks": false,
        "environment": job.environment,
        "executor_config": {"data": "", "name": AURORA_EXECUTOR_NAME},
        "health_check_config": {
            "health_checker": {
                "http": {"endpoint": "/health", "expected_response": "ok", "expected_response_code": 0}
            },
            "initial_interval_secs": 15.0,
            "interval_secs": 10.0,
            "max_consecutive_failures": 0,
            "min_consecutive_successes": 1,
            "timeout_secs": 1.0
        },
        "lifecycle": {
            "http": {
                "graceful_shutdown_endpoint": "/quitquitquit",
                "graceful_shutdown_wait_secs": 5,
                "port": "health",
                "shutdown_endpoint": "/abortabortabort",
                "shutdown_wait_secs": 5
            }
        },
        "max_task_failures": 1,
        "metadata": [],
        "name": name,
        "priority": 0,
        "production": false,
        "role": job.role,
        "service": args.service,
        "task": {
            "constraints": [],
            "finalization_wait": 30,
            "max_concurrency": 0,
            "max_failures": 1,
            "name": name,
            "processes": [{
                "cmdline": args.cmd,
                "daemon": false,
                "ephemeral": false,
                "final": false,
                "max_failures": 1,
                "min_duration": 5,
                "name": name
            }],
            "resources": {
                "cpu": args.cpu,
                "disk": args.disk_mb * MIB,
                "gpu": 0,
                "ram": args.ram_mb * MIB
            }
        },
        "tier": tier
    })
}

/// The JobConfiguration `create` sends.
fn job_configuration(args: &CreateArgs, cluster: &str, tier: &str, user: &str) -> JobConfiguration {
    let owner = Identity {
        user: Some(user.to_string()),
    };
    let mut resources = vec![
        Resource::NumCpus(args.cpu),
        Resource::RamMb(args.ram_mb),
        Resource::DiskMb(args.disk_mb),
    ];
    resources.extend(
        referenced_ports(&args.cmd)
            .into_iter()
            .map(Resource::NamedPort),
    );
    let task = TaskConfig {
        job: Some(args.job.clone()),
        owner: Some(owner.clone()),
        is_service: args.service,
        priority: 0,
        max_task_failures: 1,
        production: Some(false),
        tier: Some(tier.to_string()),
        resources: Some(resources),
        constraints: Some(vec![]),
        task_links: Some(BTreeMap::new()),
        metadata: Some(vec![]),
        container: Some(Container::Mesos(MesosContainer::default())),
        executor_config: Some(ExecutorConfig {
            name: Some(AURORA_EXECUTOR_NAME.to_string()),
            data: Some(executor_data(args, cluster, tier).to_string()),
        }),
        ..TaskConfig::default()
    };
    JobConfiguration {
        key: Some(args.job.clone()),
        owner: Some(owner),
        cron_schedule: None,
        cron_collision_policy: Some(CronCollisionPolicy::KILL_EXISTING),
        task_config: Some(task),
        instance_count: args.instances,
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
    // As the Aurora client does before createJob: learn the cluster name and the default tier.
    let tiers = client.call_ok(&GetTierConfigs {})?;
    let cluster = tiers
        .server_info
        .as_ref()
        .and_then(|s| s.cluster_name.clone())
        .filter(|c| !c.is_empty())
        .or_else(|| cluster_option.map(str::to_string))
        .unwrap_or_else(|| "devcluster".to_string());
    let default_tier = match &tiers.result {
        Some(ApiResult::GetTierConfigResult(r)) => r.default_tier_name.clone(),
        _ => None,
    };
    let tier = args.tier.clone().or(default_tier).ok_or_else(|| {
        CliError::Usage("the scheduler names no default tier; pass --tier".to_string())
    })?;
    let role = args.job.role.clone().unwrap_or_default();
    let config = job_configuration(args, &cluster, &tier, &local_user(&role));
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
    fn the_executor_document_matches_the_reference_minimal_example() {
        // client-reference §1.8.5, with the command of the example.
        let a = args("python -m http.server {{thermos.ports[http]}}");
        let doc = executor_data(&a, "devcluster", "preemptible");
        let want: serde_json::Value = serde_json::from_str(
            r#"{
              "cluster": "devcluster",
              "cron_collision_policy": "KILL_EXISTING",
              "enable_hooks": false,
              "environment": "devel",
              "executor_config": {"data": "", "name": "AuroraExecutor"},
              "health_check_config": {
                "health_checker": {
                  "http": {"endpoint": "/health", "expected_response": "ok", "expected_response_code": 0}
                },
                "initial_interval_secs": 15.0,
                "interval_secs": 10.0,
                "max_consecutive_failures": 0,
                "min_consecutive_successes": 1,
                "timeout_secs": 1.0
              },
              "lifecycle": {
                "http": {
                  "graceful_shutdown_endpoint": "/quitquitquit",
                  "graceful_shutdown_wait_secs": 5,
                  "port": "health",
                  "shutdown_endpoint": "/abortabortabort",
                  "shutdown_wait_secs": 5
                }
              },
              "max_task_failures": 1,
              "metadata": [],
              "name": "hello",
              "priority": 0,
              "production": false,
              "role": "www-data",
              "service": true,
              "task": {
                "constraints": [],
                "finalization_wait": 30,
                "max_concurrency": 0,
                "max_failures": 1,
                "name": "hello",
                "processes": [
                  {
                    "cmdline": "python -m http.server {{thermos.ports[http]}}",
                    "daemon": false,
                    "ephemeral": false,
                    "final": false,
                    "max_failures": 1,
                    "min_duration": 5,
                    "name": "hello"
                  }
                ],
                "resources": {"cpu": 0.5, "disk": 268435456, "gpu": 0, "ram": 134217728}
              },
              "tier": "preemptible"
            }"#,
        )
        .unwrap();
        assert_eq!(doc, want);
    }

    #[test]
    fn the_task_config_asks_for_the_resources_and_the_ports_the_command_uses() {
        let a = args("serve --http {{thermos.ports[http]}} --admin {{thermos.ports[admin]}} {{thermos.ports[http]}}");
        let config = job_configuration(&a, "devcluster", "preemptible", "alice");
        assert_eq!(config.instance_count, 2);
        assert_eq!(config.key, Some(a.job.clone()));
        let task = config.task_config.unwrap();
        assert!(task.is_service);
        assert_eq!(task.tier.as_deref(), Some("preemptible"));
        assert_eq!(task.owner.unwrap().user.as_deref(), Some("alice"));
        assert_eq!(
            task.resources.unwrap(),
            vec![
                Resource::NumCpus(0.5),
                Resource::RamMb(128),
                Resource::DiskMb(256),
                Resource::NamedPort("http".into()),
                Resource::NamedPort("admin".into()),
            ]
        );
        let executor = task.executor_config.unwrap();
        assert_eq!(executor.name.as_deref(), Some("AuroraExecutor"));
        let data: serde_json::Value = serde_json::from_str(&executor.data.unwrap()).unwrap();
        assert_eq!(data["task"]["processes"][0]["cmdline"], a.cmd.as_str());
    }
}
