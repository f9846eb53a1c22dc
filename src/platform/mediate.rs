//! The mediator: a data scientist's request (*what*) and the platform profile (*how*) become the
//! options of each job to run, or every problem found, each naming the variable to change in
//! the data scientist's or the platform team's words. A pure function: the scheduler's side of
//! the checks is in `preflight.rs`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

use super::profile::{ContainerKind, EnvironmentProfile, Profile};
use super::request::{Kind, Overrides, Request, State, Workers};
use crate::api::keys::check_identifier;
use crate::spec::cron::check_schedule;
use crate::spec::options::{
    AnnounceOptions, ContainerOptions, DockerImageOptions, DockerOptions, HealthCheckOptions,
    JobOptions, MesosImageOptions, MesosOptions, SlaPolicyOptions, TextValue,
};
use crate::spec::task_options::{ProcessOptions, ResourcesOptions, TaskOptions};
use crate::spec::{convert_percent_spelling, port_references};

/// The variable through which the platform team gives the profile.
pub const PROFILE_VARIABLE: &str = "aurora_platform";

/// Something to change before anything is written, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The variable to change: a data scientist's (`aurora_service_size`) or the profile's
    /// (`aurora_platform.environments.prod.tier`).
    pub variable: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// How the request's fields are called where the data scientist set them: a role's variables
/// share a prefix (`aurora_service_`), the module's options have none.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub prefix: String,
}

impl Names {
    pub fn var(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    pub fn profile(path: &str) -> String {
        format!("{PROFILE_VARIABLE}.{path}")
    }
}

/// Which job of the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Service,
    Cron,
    Master,
    Worker,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Service => "service",
            Part::Cron => "cron",
            Part::Master => "master",
            Part::Worker => "worker",
        }
    }

    /// The module that applies this job.
    pub fn module(self) -> &'static str {
        match self {
            Part::Cron => "cron_job",
            _ => "job",
        }
    }
}

/// One job the workload consists of, as the job (or cron_job) module will get it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedJob {
    pub part: Part,
    pub state: State,
    pub options: JobOptions,
    pub cron_schedule: Option<String>,
    /// A running service keeps its instance count; `options.instances` is the first count.
    pub keep_instance_count: bool,
    /// What the profile says about production, to hold against the scheduler's tier.
    pub production: Option<bool>,
    /// The variable that decided the tier, the SLA policy and the count, for the pre-flight's
    /// messages.
    pub tier_variable: String,
    pub sla_variable: Option<String>,
    pub instances_variable: String,
}

impl PlannedJob {
    /// The module's arguments (without connection options, which come from module_defaults).
    pub fn args(&self) -> Value {
        let mut args = serde_json::to_value(&self.options).unwrap_or_else(|_| json!({}));
        let map = args.as_object_mut().expect("job options are an object");
        match self.state {
            State::Absent => {
                map.retain(|k, _| matches!(k.as_str(), "role" | "environment" | "name"));
                map.insert("state".into(), json!("absent"));
            }
            State::Present => {
                map.insert("state".into(), json!("present"));
                if let Some(schedule) = &self.cron_schedule {
                    map.insert("cron_schedule".into(), json!(schedule));
                }
                if self.keep_instance_count {
                    map.insert("keep_instance_count".into(), json!(true));
                }
            }
        }
        args
    }

    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.options.role, self.options.environment, self.options.name
        )
    }
}

/// The jobs of the workload, in the order they are applied: a batch framework's master before
/// its workers when it should run, its workers before the master when it should go.
pub fn mediate(
    profile: &Profile,
    request: &Request,
    names: &Names,
) -> Result<Vec<PlannedJob>, Vec<Problem>> {
    let mut m = Mediation {
        profile,
        request,
        names,
        overrides: request.overrides.clone(),
        problems: Vec::new(),
    };
    let jobs = m.jobs();
    if m.problems.is_empty() {
        return Ok(jobs);
    }
    // A batch framework's two jobs can meet the same problem; say it once.
    let mut problems: Vec<Problem> = Vec::new();
    for problem in m.problems {
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
    Err(problems)
}

struct Mediation<'a> {
    profile: &'a Profile,
    request: &'a Request,
    names: &'a Names,
    /// The request's overrides that the profile allows; a refused one is reported once and
    /// then left out, so that it raises no further problems.
    overrides: Overrides,
    problems: Vec<Problem>,
}

impl<'a> Mediation<'a> {
    fn problem(&mut self, variable: String, message: impl Into<String>) {
        self.problems.push(Problem {
            variable,
            message: message.into(),
        });
    }

    fn var(&self, field: &str) -> String {
        self.names.var(field)
    }

    fn jobs(&mut self) -> Vec<PlannedJob> {
        let r = self.request;
        self.check_identifiers();
        self.check_kind_fields();
        let Some(environment) = self.environment() else {
            return Vec::new();
        };
        let parts: &[Part] = match (r.kind, r.state) {
            (Kind::Service, _) => &[Part::Service],
            (Kind::Cron, _) => &[Part::Cron],
            (Kind::BatchFramework, State::Present) => &[Part::Master, Part::Worker],
            (Kind::BatchFramework, State::Absent) => &[Part::Worker, Part::Master],
        };
        if r.state == State::Absent {
            return parts.iter().map(|p| self.absent_job(*p)).collect();
        }
        self.check_version();
        self.check_overrides_allowed(environment);
        parts
            .iter()
            .filter_map(|part| self.present_job(*part, environment))
            .collect()
    }

    fn check_identifiers(&mut self) {
        let r = self.request;
        let checks = [
            ("team", r.team.clone()),
            ("environment", r.environment.clone()),
            ("name", r.name.clone()),
        ];
        for (field, value) in checks {
            if let Err(e) = check_identifier(field, &value) {
                self.problem(self.var(field), e.0);
            }
        }
    }

    fn check_kind_fields(&mut self) {
        let kind = self.request.kind;
        for (field, given, kinds) in kind_fields(self.request) {
            if given && !kinds.contains(&kind) {
                let kind_names: Vec<&str> = kinds.iter().map(|k| kind_name(*k)).collect();
                self.problem(
                    self.var(field),
                    format!(
                        "applies to {} only, not to a {}; remove it",
                        kind_names.join(" and "),
                        kind_name(kind)
                    ),
                );
            }
        }
    }

    fn environment(&mut self) -> Option<&'a EnvironmentProfile> {
        let name = &self.request.environment;
        if let Some(environment) = self.profile.environments.get(name) {
            if environment.tier.trim().is_empty() {
                self.problem(
                    Names::profile(&format!("environments.{name}.tier")),
                    "is required: name the Aurora tier of the environment's jobs, such as \
                     preferred (production) or preemptible",
                );
                return None;
            }
            return Some(environment);
        }
        let known: Vec<&str> = self
            .profile
            .environments
            .keys()
            .map(String::as_str)
            .collect();
        self.problem(
            self.var("environment"),
            format!(
                "{name:?} is not an environment of the platform; use one of: {} (or ask the \
                 platform team to add it to {PROFILE_VARIABLE}.environments)",
                known.join(", ")
            ),
        );
        None
    }

    fn check_version(&mut self) {
        let missing = self
            .request
            .version
            .as_ref()
            .is_none_or(|v| v.as_str().trim().is_empty());
        if missing {
            self.problem(
                self.var("version"),
                "is required to deploy: give the version of the software (it is stamped on the \
                 job, so that the platform knows exactly what runs)",
            );
        }
    }

    fn check_schedule(&mut self) {
        match &self.request.schedule {
            None => self.problem(
                self.var("schedule"),
                "is required for a cron job: five crontab fields in UTC, such as '0 3 * * *' \
                 (every day at 03:00)",
            ),
            Some(schedule) => {
                if let Err(e) = check_schedule(schedule) {
                    self.problem(self.var("schedule"), format!("{schedule:?}: {}", e.message));
                }
            }
        }
    }

    fn check_overrides_allowed(&mut self, environment: &EnvironmentProfile) {
        let allowed = self.profile.allowed_overrides(environment);
        for wanted in self.request.overrides.given() {
            if allowed.contains(&wanted) {
                continue;
            }
            self.overrides.clear(wanted);
            let list: Vec<&str> = allowed.iter().map(|o| o.as_str()).collect();
            let rule = match environment.allowed_overrides {
                Some(_) => format!(
                    "{PROFILE_VARIABLE}.environments.{}.allowed_overrides",
                    self.request.environment
                ),
                None => format!("{PROFILE_VARIABLE}.allowed_overrides"),
            };
            self.problem(
                self.var(&format!("overrides.{}", wanted.as_str())),
                format!(
                    "the platform profile does not let data scientists override {} in \
                     environment {} ({rule} allows: {}); remove it, or ask the platform team",
                    wanted.as_str(),
                    self.request.environment,
                    if list.is_empty() {
                        "nothing".to_string()
                    } else {
                        list.join(", ")
                    }
                ),
            );
        }
    }

    fn absent_job(&self, part: Part) -> PlannedJob {
        PlannedJob {
            part,
            state: State::Absent,
            options: JobOptions {
                role: self.request.team.clone(),
                environment: self.request.environment.clone(),
                name: self.job_name(part),
                ..JobOptions::default()
            },
            cron_schedule: None,
            keep_instance_count: false,
            production: None,
            tier_variable: String::new(),
            sla_variable: None,
            instances_variable: String::new(),
        }
    }

    fn job_name(&self, part: Part) -> String {
        match part {
            Part::Master => format!("{}-master", self.request.name),
            Part::Worker => format!("{}-worker", self.request.name),
            Part::Service | Part::Cron => self.request.name.clone(),
        }
    }

    fn present_job(
        &mut self,
        part: Part,
        environment: &'a EnvironmentProfile,
    ) -> Option<PlannedJob> {
        let r = self.request;
        let o = self.overrides.clone();
        let serves = matches!(part, Part::Service | Part::Master);
        let env_path = format!("environments.{}", r.environment);

        if part == Part::Cron {
            self.check_schedule();
        }
        let (instances, keep_instance_count, instances_variable) =
            self.instances(part, environment)?;
        let resources = self.resources(part)?;
        let cmdline = self.command(part)?;
        let (tier, tier_variable) = match &o.tier {
            Some(tier) => (tier.clone(), self.var("overrides.tier")),
            None => (
                environment.tier.clone(),
                Names::profile(&format!("{env_path}.tier")),
            ),
        };
        let health_check = match (&o.health_check, serves) {
            (Some(check), _) => Some(check.clone()),
            (None, true) => self.profile.services.health_check.clone(),
            (None, false) => None,
        };
        let announce = (serves && self.profile.services.announce).then(|| {
            let port = self.profile.services.port.clone();
            AnnounceOptions {
                primary_port: port.clone(),
                portmap: Some(BTreeMap::from([
                    ("aurora".to_string(), TextValue(port.clone())),
                    ("health".to_string(), TextValue(port)),
                ])),
                zk_path: None,
            }
        });
        self.check_health_port(part, &cmdline, health_check.as_ref(), announce.is_some());
        let (sla_policy, sla_variable) = self.sla_policy(part, environment, instances, &env_path);
        let logger = o
            .logging
            .clone()
            .unwrap_or_else(|| self.profile.logging.clone());

        let options = JobOptions {
            role: r.team.clone(),
            environment: r.environment.clone(),
            name: self.job_name(part),
            instances: Some(instances),
            service: Some(part != Part::Cron),
            tier: Some(tier),
            priority: o.priority,
            max_task_failures: o.max_task_failures,
            contact: self
                .profile
                .contact
                .as_ref()
                .map(|c| c.replace("{team}", &r.team)),
            metadata: Some(self.metadata(part)),
            constraints: Some(self.constraints(environment)).filter(|c| !c.is_empty()),
            container: self.container(),
            health_check,
            announce,
            lifecycle: None,
            sla_policy,
            partition_policy: None,
            task: Some(TaskOptions {
                processes: vec![ProcessOptions {
                    name: part.as_str().to_string(),
                    cmdline,
                    logger: Some(logger),
                    ..ProcessOptions::default()
                }],
                resources,
                ..TaskOptions::default()
            }),
            update: (part != Part::Cron).then(|| {
                o.update
                    .clone()
                    .unwrap_or_else(|| environment.update.clone())
            }),
            executor_config: None,
            max_tasks_per_job: None,
        };
        Some(PlannedJob {
            part,
            state: State::Present,
            options,
            cron_schedule: (part == Part::Cron).then(|| r.schedule.clone()).flatten(),
            keep_instance_count,
            production: if o.tier.is_some() {
                None
            } else {
                environment.production
            },
            tier_variable,
            sla_variable,
            instances_variable,
        })
    }

    /// The first instance count, whether a running job keeps its own, and the variable that
    /// decided it.
    fn instances(
        &mut self,
        part: Part,
        environment: &EnvironmentProfile,
    ) -> Option<(i32, bool, String)> {
        let r = self.request;
        let (count, keep, variable) = match part {
            Part::Master => (1, false, String::new()),
            Part::Worker => match r.workers.unwrap_or(Workers::Auto) {
                Workers::Count(n) => (n, false, self.var("workers")),
                Workers::Auto => (
                    self.profile.batch.initial_workers,
                    true,
                    Names::profile("batch.initial_workers"),
                ),
            },
            Part::Cron => (r.instances.unwrap_or(1), false, self.var("instances")),
            Part::Service => match r.instances {
                Some(n) => (n, false, self.var("instances")),
                None => (
                    environment.instances,
                    true,
                    Names::profile(&format!("environments.{}.instances", r.environment)),
                ),
            },
        };
        let max = self.profile.max_instances;
        if count < 1 || count > max {
            self.problem(
                variable,
                format!(
                    "is {count}; give 1 to {max} (the platform's max_instances){}",
                    if count > max {
                        ", or ask the platform team"
                    } else {
                        ""
                    }
                ),
            );
            return None;
        }
        Some((count, keep, variable))
    }

    fn resources(&mut self, part: Part) -> Option<ResourcesOptions> {
        let r = self.request;
        if let Some(resources) = &self.overrides.resources {
            return Some(resources.clone());
        }
        let (given, field, fallback, fallback_path) = match part {
            Part::Master => (
                &r.master_size,
                "master_size",
                &self.profile.batch.master_size,
                "batch.master_size",
            ),
            Part::Worker => (
                &r.worker_size,
                "worker_size",
                &self.profile.batch.worker_size,
                "batch.worker_size",
            ),
            Part::Service | Part::Cron => {
                (&r.size, "size", &self.profile.default_size, "default_size")
            }
        };
        let (name, variable) = match given {
            Some(name) => (name, self.var(field)),
            None => (fallback, Names::profile(fallback_path)),
        };
        if let Some(resources) = self.profile.sizes.get(name) {
            return Some(resources.clone());
        }
        let known: Vec<&str> = self.profile.sizes.keys().map(String::as_str).collect();
        self.problem(
            variable,
            format!(
                "{name:?} is not a size class of the platform; use one of: {}",
                known.join(", ")
            ),
        );
        None
    }

    /// The process's command line: the command, or the entry point run by the profile's
    /// command; a worker's is told where its master is.
    fn command(&mut self, part: Part) -> Option<String> {
        let r = self.request;
        let (command, entry_point, prefix) = match part {
            Part::Master => (&r.master_command, &r.master_entry_point, "master_"),
            Part::Worker => (&r.worker_command, &r.worker_entry_point, "worker_"),
            Part::Service | Part::Cron => (&r.command, &r.entry_point, ""),
        };
        let command_var = self.var(&format!("{prefix}command"));
        let entry_var = self.var(&format!("{prefix}entry_point"));
        let cmdline = match (command, entry_point) {
            (Some(command), None) if !command.trim().is_empty() => command.clone(),
            (None, Some(entry)) if !entry.trim().is_empty() => {
                let template = match part {
                    Part::Service | Part::Master => &self.profile.services.entry_point_command,
                    Part::Cron | Part::Worker => &self.profile.entry_point_command,
                };
                template.replace("{entry_point}", entry.trim())
            }
            (Some(_), Some(_)) => {
                self.problem(
                    command_var,
                    format!("and {entry_var} are both given; give one"),
                );
                return None;
            }
            _ => {
                self.problem(
                    command_var,
                    format!("is required to deploy: give the command to run (or {entry_var})"),
                );
                return None;
            }
        };
        if part != Part::Worker {
            return Some(cmdline);
        }
        let master = self.job_name(Part::Master);
        let (team, env) = (&r.team, &r.environment);
        let mut exports = format!("export AURORA_MASTER_JOB={team}/{env}/{master}");
        if self.profile.services.announce {
            let root = self.profile.services.serverset_root.trim_end_matches('/');
            exports.push_str(&format!(
                " AURORA_MASTER_SERVERSET={root}/{team}/{env}/{master}"
            ));
            let zookeeper = r
                .zookeeper
                .as_ref()
                .or(self.profile.services.zookeeper.as_ref());
            if let Some(zk) = zookeeper.map(|zk| zk.trim()).filter(|zk| !zk.is_empty()) {
                exports.push_str(&format!(" AURORA_MASTER_ZOOKEEPER={zk}"));
            }
        }
        Some(format!("{exports}; {cmdline}"))
    }

    /// An HTTP health check needs a port named `health`: the executor skips the check silently
    /// without one (client-reference §1.8.2). With announcing, `health` is an alias of the
    /// service's port, which the command must then listen on.
    fn check_health_port(
        &mut self,
        part: Part,
        cmdline: &str,
        check: Option<&HealthCheckOptions>,
        aliased: bool,
    ) {
        let Some(check) = check else { return };
        if check.shell.is_some() {
            return;
        }
        let port = if aliased {
            self.profile.services.port.as_str()
        } else {
            "health"
        };
        let used = port_references(&convert_percent_spelling(cmdline));
        if used.iter().any(|p| p == port) {
            return;
        }
        let field = match part {
            Part::Master => "master_command",
            Part::Worker => "worker_command",
            _ => "command",
        };
        self.problem(
            self.var(field),
            format!(
                "does not listen on the port named {port}, where the platform checks the {} \
                 over HTTP ({}); make it listen on %{{thermos.ports[{port}]}}, for example \
                 with --port %{{thermos.ports[{port}]}}",
                part.as_str(),
                check
                    .http
                    .as_ref()
                    .map(|h| h.endpoint.as_str())
                    .unwrap_or("/health"),
            ),
        );
    }

    /// The environment's SLA policy applies to jobs the scheduler accepts it on; one the data
    /// scientist gives is checked against the same rules.
    fn sla_policy(
        &mut self,
        part: Part,
        environment: &EnvironmentProfile,
        instances: i32,
        env_path: &str,
    ) -> (Option<SlaPolicyOptions>, Option<String>) {
        let minimum = self.profile.min_sla_instances;
        let counted = |p: &SlaPolicyOptions| p.coordinator_url.is_none();
        if let Some(policy) = self.overrides.sla_policy.clone() {
            let variable = self.var("overrides.sla_policy");
            if counted(&policy) && instances < minimum {
                self.problem(
                    variable.clone(),
                    format!(
                        "a percentage or count SLA policy needs at least {minimum} instances \
                         (the scheduler's min_required_instances_for_sla_check), and this job \
                         has {instances}; remove it or use a coordinator_url policy"
                    ),
                );
            } else if let Some(message) = lets_none_go_down(&policy, instances) {
                self.problem(variable.clone(), message);
            }
            return (Some(policy), Some(variable));
        }
        let applies = part != Part::Cron
            && environment
                .sla_policy
                .as_ref()
                .is_some_and(|p| !counted(p) || instances >= minimum);
        if !applies {
            return (None, None);
        }
        let policy = environment.sla_policy.clone().expect("checked above");
        let variable = Names::profile(&format!("{env_path}.sla_policy"));
        if let Some(message) = lets_none_go_down(&policy, instances) {
            self.problem(
                variable.clone(),
                format!("{message} (a job of {instances} instances)"),
            );
        }
        (Some(policy), Some(variable))
    }

    fn metadata(&mut self, part: Part) -> BTreeMap<String, TextValue> {
        let r = self.request;
        let mut metadata = self.profile.metadata.clone();
        let mut stamped = BTreeMap::from([
            ("team".to_string(), TextValue(r.team.clone())),
            (
                "project".to_string(),
                TextValue(r.project.clone().unwrap_or_else(|| r.team.clone())),
            ),
        ]);
        if let Some(version) = &r.version {
            stamped.insert("version".into(), version.clone());
        }
        if let Some(repository) = &r.source_repository {
            stamped.insert("source_repository".into(), TextValue(repository.clone()));
        }
        if let Some(commit) = &r.source_commit {
            stamped.insert("source_commit".into(), commit.clone());
        }
        if matches!(part, Part::Master | Part::Worker) {
            stamped.insert("batch_framework".into(), TextValue(r.name.clone()));
            stamped.insert(
                "batch_framework_part".into(),
                TextValue(part.as_str().into()),
            );
        }
        if matches!(part, Part::Master) {
            // Workers follow one master: a host drain never starts a second one
            // (host_maintenance's make-before-break leaves single copies alone).
            stamped.insert("single_copy".into(), TextValue("true".into()));
        }
        if let Some(extra) = self.overrides.metadata.clone() {
            for (key, value) in extra {
                if stamped.contains_key(&key) {
                    self.problem(
                        self.var(&format!("overrides.metadata.{key}")),
                        format!(
                            "{key} is stamped by the platform; set it through its own variable, \
                             not as metadata"
                        ),
                    );
                    continue;
                }
                metadata.insert(key, value);
            }
        }
        metadata.extend(stamped);
        metadata
    }

    fn constraints(&self, environment: &EnvironmentProfile) -> BTreeMap<String, TextValue> {
        let mut constraints = self.profile.constraints.clone();
        constraints.extend(environment.constraints.clone());
        if let Some(extra) = &self.overrides.constraints {
            constraints.extend(extra.clone());
        }
        constraints
    }

    fn container(&mut self) -> Option<ContainerOptions> {
        let r = self.request;
        if let Some(container) = &self.overrides.container {
            return Some(container.clone());
        }
        let convention = self.profile.container.as_ref()?;
        let version = r.version.as_ref().map(|v| v.as_str()).unwrap_or_default();
        let image = convention
            .image
            .replace("{team}", &r.team)
            .replace("{name}", &r.name)
            .replace("{environment}", &r.environment)
            .replace("{version}", version);
        let tag_at = image.rfind(':').filter(|at| !image[*at..].contains('/'));
        let Some(at) = tag_at else {
            self.problem(
                Names::profile("container.image"),
                format!(
                    "{:?} has no tag; write it as NAME:TAG, for example \
                     registry.example.com/{{team}}/{{name}}:{{version}}",
                    convention.image
                ),
            );
            return None;
        };
        Some(match convention.kind {
            ContainerKind::Docker => ContainerOptions {
                docker: Some(DockerOptions {
                    image,
                    parameters: Vec::new(),
                }),
                mesos: None,
            },
            ContainerKind::Mesos => ContainerOptions {
                docker: None,
                mesos: Some(MesosOptions {
                    image: Some(MesosImageOptions {
                        docker: Some(DockerImageOptions {
                            name: image[..at].to_string(),
                            tag: TextValue(image[at + 1..].to_string()),
                        }),
                        appc: None,
                    }),
                    volumes: Vec::new(),
                }),
            },
        })
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Service => "service",
        Kind::Cron => "cron job",
        Kind::BatchFramework => "batch framework",
    }
}

/// The request's fields that only some kinds take: name, whether given, and those kinds.
fn kind_fields(r: &Request) -> [(&'static str, bool, &'static [Kind]); 13] {
    const ONE_JOB: &[Kind] = &[Kind::Service, Kind::Cron];
    const CRON: &[Kind] = &[Kind::Cron];
    const BATCH: &[Kind] = &[Kind::BatchFramework];
    [
        ("command", r.command.is_some(), ONE_JOB),
        ("entry_point", r.entry_point.is_some(), ONE_JOB),
        ("instances", r.instances.is_some(), ONE_JOB),
        ("size", r.size.is_some(), ONE_JOB),
        ("schedule", r.schedule.is_some(), CRON),
        ("master_command", r.master_command.is_some(), BATCH),
        ("master_entry_point", r.master_entry_point.is_some(), BATCH),
        ("worker_command", r.worker_command.is_some(), BATCH),
        ("worker_entry_point", r.worker_entry_point.is_some(), BATCH),
        ("workers", r.workers.is_some(), BATCH),
        ("master_size", r.master_size.is_some(), BATCH),
        ("worker_size", r.worker_size.is_some(), BATCH),
        ("zookeeper", r.zookeeper.is_some(), BATCH),
    ]
}

/// The scheduler's rule: an SLA policy must let at least one instance go down
/// (api-reference §4.3), or maintenance and SLA-aware updates could never proceed.
fn lets_none_go_down(policy: &SlaPolicyOptions, instances: i32) -> Option<String> {
    let total = f64::from(instances);
    if let Some(count) = policy.count {
        if count >= i64::from(instances) {
            return Some(format!(
                "count {count} lets no instance of {instances} go down for maintenance or \
                 updates; give fewer than {instances}"
            ));
        }
    }
    if let Some(percentage) = policy.percentage {
        if total - total * percentage / 100.0 < 1.0 {
            return Some(format!(
                "percentage {percentage} lets no instance of {instances} go down for maintenance \
                 or updates; give at most {:.1}",
                100.0 - 100.0 / total
            ));
        }
    }
    None
}
