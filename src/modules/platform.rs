//! `aurora.scheduler.platform`: the mediator as a module. Turns what a data scientist asks for
//! and the platform profile into the options of each job (for `aurora.scheduler.job` or
//! `cron_job`), then checks them with the scheduler before anything is written: the scheduler's
//! own validation, tiers, production flag, SLA rules and the team's quota. Read-only; the
//! roles `aurora.scheduler.aurora_service`, `cron` and `batch_framework` apply what it returns.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ansible::{Context, Documentation, Failure, Module, Outcome, Support};
use crate::api::aggregate::Amounts;
use crate::api::methods::GetQuota;
use crate::api::types::{GetQuotaResult, JobKey, Result as Payload, ScheduledTask};
use crate::platform::preflight::{preflight, RunningJob, SchedulerView};
use crate::platform::request::State;
use crate::platform::{mediate, Names, PlannedJob, Problem, Profile, Request};
use crate::spec::cron::CronSpec;
use crate::spec::BuildContext;

use super::support::connection::{local_user, Connection, ConnectionOptions};
use super::support::job_model::populated;
use super::support::tasks::{config, instance_id};

pub struct Platform;

/// Options of `aurora.scheduler.platform`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    #[serde(flatten)]
    pub request: Request,

    /// The platform profile (the C(aurora_platform) variable of the roles): how every job
    /// runs. Each top-level key given replaces the default of that key; left out, the
    /// collection's default profile applies.
    #[serde(default)]
    pub profile: Profile,

    /// Prefix of the variables the request came from, so that messages name them as the data
    /// scientist wrote them (the roles pass C(aurora_service_), C(aurora_cron_) or
    /// C(aurora_batch_framework_)). Default none: messages name this module's options.
    #[serde(default)]
    pub variable_prefix: String,

    /// Whether to check the jobs with the scheduler (its validation, tiers and quota). Without
    /// it the module only renders the jobs and needs no scheduler.
    #[serde(default = "default_true")]
    pub preflight: bool,
}

fn default_true() -> bool {
    true
}

impl Module for Platform {
    const NAME: &'static str = "platform";
    type Options = Options;

    fn documentation() -> Documentation {
        Documentation::new(
            "Turn what a data scientist asks for into Aurora jobs by the platform profile",
        )
        .description(
            "The mediator of a data-science platform: a data scientist says what to run (a \
                 service, a cron job or a batch framework, by name, version and command); the \
                 platform team's profile says how it runs (tier and production flag per \
                 environment, SLA policy, update settings, resource classes, process logging, \
                 stamped metadata, placement, health-check, announce and image conventions). \
                 The module returns the options of each job, ready for M(aurora.scheduler.job) \
                 or M(aurora.scheduler.cron_job).",
        )
        .description(
            "Before anything is written, it reports every problem at once, each naming the \
                 variable to change: an override the profile does not allow, an unknown \
                 environment or size, a missing version or command, a health check on a port \
                 the command does not listen on, an SLA policy the scheduler would refuse (on a \
                 tier that is not production, on a job smaller than the scheduler's minimum, or \
                 one that lets no instance go down), a production job on a tier that is not \
                 production, the team's production quota, and whatever else the scheduler's \
                 own validation (C(populateJobConfig)) refuses.",
        )
        .description(
            "The roles M(aurora.scheduler.aurora_service), M(aurora.scheduler.aurora_cron) and \
                 M(aurora.scheduler.aurora_batch_framework) call it, then apply its C(jobs) in order.",
        )
        .note("Read-only: it never changes the scheduler, and runs the same in check mode.")
        .note(
            "Stamped metadata is what the caller gives (team, project, version, source \
                 repository and commit) and never a time, so that a re-run with the same \
                 version changes nothing.",
        )
        .examples(EXAMPLES)
        .returns(RETURN)
        .check_mode(Support::Full)
        .diff_mode(Support::None)
    }

    fn run(o: Options, _ctx: &mut Context) -> Result<Outcome, Failure> {
        let names = Names {
            prefix: o.variable_prefix.clone(),
        };
        let jobs = mediate(&o.profile, &o.request, &names).map_err(refused)?;
        let mut outcome = Outcome::unchanged().field("jobs", jobs_json(&jobs));
        let keys: Vec<String> = jobs.iter().map(PlannedJob::key).collect();
        if o.request.state == State::Absent || !o.preflight {
            return Ok(outcome.msg(format!("planned {}", keys.join(", "))));
        }
        let conn = o.connection.connect()?;
        let (problems, summary) = check_with_scheduler(&conn, &jobs, &names)?;
        if !problems.is_empty() {
            return Err(refused(problems));
        }
        outcome = outcome
            .field("preflight", summary)
            .field("scheduler_url", conn.url.clone());
        Ok(outcome.msg(format!(
            "planned {}; the scheduler would accept them",
            keys.join(", ")
        )))
    }
}

/// The pre-flight: the jobs held against the tiers, the quota and what runs now, in the
/// platform's words; then, when that finds nothing, each job built and validated by the
/// scheduler itself as the job module would submit it (what else a real scheduler refuses).
fn check_with_scheduler(
    conn: &Connection,
    jobs: &[PlannedJob],
    names: &Names,
) -> Result<(Vec<Problem>, Value), Failure> {
    let facts = conn.facts()?;
    let mut running = BTreeMap::new();
    for job in jobs {
        let key = JobKey::new(
            &job.options.role,
            &job.options.environment,
            &job.options.name,
        );
        running.insert(job.key(), running_job(&conn.active_tasks(&key, false)?));
    }
    let team = jobs
        .first()
        .map(|j| j.options.role.as_str())
        .unwrap_or_default();
    let quota = read_quota(conn, team)?;
    let checked = preflight(
        jobs,
        &SchedulerView {
            tiers: &facts.tiers,
            quota: &quota,
            running: &running,
        },
        names,
    );
    if !checked.problems.is_empty() {
        return Ok((checked.problems, checked.summary));
    }
    let owner = local_user();
    let context = BuildContext {
        cluster: &facts.cluster_name,
        owner: &owner,
        tiers: Some(&facts.tiers),
    };
    let mut problems = Vec::new();
    for job in jobs {
        let built = match &job.cron_schedule {
            Some(schedule) => job.options.build_cron(
                &context,
                &CronSpec {
                    schedule: schedule.clone(),
                    collision_policy: None,
                },
            ),
            None => job.options.build(&context),
        };
        let refusal = match built {
            Ok(model) => populated(conn, &model).err().map(|f| f.msg().to_string()),
            Err(e) => Some(format!("the job the profile gives is invalid: {e}")),
        };
        if let Some(message) = refusal {
            problems.push(Problem {
                variable: job.key(),
                message,
            });
        }
    }
    Ok((problems, checked.summary))
}

fn running_job(tasks: &[ScheduledTask]) -> RunningJob {
    let mut ids: Vec<i32> = tasks.iter().map(instance_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let Some(task) = tasks.iter().find_map(config) else {
        return RunningJob::default();
    };
    let dedicated = task
        .constraints
        .iter()
        .flatten()
        .any(|c| c.name.as_deref() == Some("dedicated"));
    RunningJob {
        instances: i32::try_from(ids.len()).unwrap_or(i32::MAX),
        per_instance: Amounts::of_resources(task.resources.iter().flatten()),
        uses_quota: task.production.unwrap_or(false) && !dedicated,
    }
}

fn read_quota(conn: &Connection, team: &str) -> Result<GetQuotaResult, Failure> {
    let response = conn.client.call_ok(&GetQuota {
        owner_role: Some(team.to_string()),
    })?;
    Ok(match response.result {
        Some(Payload::GetQuotaResult(result)) => result,
        _ => GetQuotaResult::default(),
    })
}

/// The failure that lists every problem, so that one run shows all there is to fix.
fn refused(problems: Vec<Problem>) -> Failure {
    let listed: Vec<String> = problems.iter().map(Problem::to_string).collect();
    let msg = match listed.as_slice() {
        [one] => format!("{one} (nothing was written to the scheduler)"),
        many => format!(
            "{} problems, nothing was written to the scheduler: {}",
            many.len(),
            many.iter()
                .enumerate()
                .map(|(i, p)| format!("({}) {p}", i + 1))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    Failure::new(msg).field(
        "problems",
        json!(problems
            .iter()
            .map(|p| json!({"variable": p.variable, "message": p.message}))
            .collect::<Vec<_>>()),
    )
}

/// The jobs by part, each with its key, module and arguments, plus the order to apply them in.
fn jobs_json(jobs: &[PlannedJob]) -> Value {
    let mut by_part = serde_json::Map::new();
    for job in jobs {
        by_part.insert(
            job.part.as_str().to_string(),
            json!({
                "key": job.key(),
                "module": format!("aurora.scheduler.{}", job.part.module()),
                "args": job.args(),
            }),
        );
    }
    let order: Vec<&str> = jobs.iter().map(|j| j.part.as_str()).collect();
    by_part.insert("order".into(), json!(order));
    Value::Object(by_part)
}

const EXAMPLES: &str = r#"- name: Plan a data scientist's service by the platform profile, checked with the scheduler
  aurora.scheduler.platform:
    scheduler_url: http://aurora.example.com:8081
    profile: "{{ aurora_platform }}"
    kind: service
    team: ml
    environment: prod
    name: scorer
    version: "1.4.2"
    command: "python3 -m scorer --port %{thermos.ports[http]}"
    size: medium
  register: plan

- name: Apply it
  aurora.scheduler.job: "{{ plan.jobs.service.args }}"

- name: Only render a batch framework's two jobs, without a scheduler
  aurora.scheduler.platform:
    kind: batch_framework
    team: ml
    environment: devel
    name: tuner
    version: "0.3.0"
    master_entry_point: tuner.master
    worker_entry_point: tuner.worker
    workers: auto
    preflight: false
  register: tuner
"#;

const RETURN: &str = r#"jobs:
  description:
    - The jobs of the workload by part (C(service), C(cron), C(master), C(worker)), each with its
      job C(key), the C(module) that applies it and that module's C(args); C(order) lists the
      parts in the order to apply them (a batch framework's master first when deploying, its
      workers first when removing).
  returned: always
  type: dict
  sample:
    order: [service]
    service:
      key: ml/prod/scorer
      module: aurora.scheduler.job
      args: {role: ml, environment: prod, name: scorer, instances: 2, tier: preferred, state: present, keep_instance_count: true}
preflight:
  description: What the pre-flight checked - each job's tier and whether it is production, and the
      team's production quota (what the jobs need beyond what they use now, and what is left).
  returned: when the scheduler was asked
  type: dict
  sample:
    tiers: {ml/prod/scorer: {tier: preferred, production: true}}
    quota: {team: ml, needed: {cpu: 1.0, ram_mb: 4096, disk_mb: 8192}, left: {cpu: 10.0, ram_mb:
        20480, disk_mb: 40960}, quota: {cpu: 16.0, ram_mb: 32768, disk_mb: 65536}}
problems:
  description: On failure, every problem found, each with the C(variable) to change and a C(message).
  returned: failure
  type: list
  elements: dict
  sample: [{variable: aurora_service_size, message: "\"huge\" is not a size class of the platform; use one of: gpu, large, medium, small"}]
scheduler_url:
  description: The scheduler the module talked to.
  returned: when the scheduler was asked
  type: str
"#;
