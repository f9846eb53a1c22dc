//! The platform profile: the one place where the platform team decides *how* every job runs
//! (tier per environment, resource classes, logging, stamped metadata, placement, SLA, update
//! settings, port and image conventions, what data scientists may override). Its `Default` is
//! the profile the roles ship, so that they work before a platform team writes its own; a
//! profile given by the team replaces the defaults key by key (a top-level key given replaces
//! that whole key).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::options::{
    HealthCheckOptions, HttpHealthCheckOptions, SlaPolicyOptions, TextValue,
};
use crate::spec::task_options::{
    LogDestination, LogMode, LoggerOptions, ResourcesOptions, RotateOptions,
};
use crate::spec::update::UpdateOptions;
use crate::spec::Size;

/// How every job of the platform runs. Usually the C(aurora_platform) variable in
/// C(group_vars); each top-level key given replaces the default of that key as a whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// The Aurora environments data scientists may deploy to, each with how its jobs run.
    /// Default C(prod) (production tier C(preferred), SLA 95% over 30 minutes for jobs the
    /// scheduler SLA-checks, 2 instances), C(staging) and C(devel) (tier C(preemptible)).
    pub environments: BTreeMap<String, EnvironmentProfile>,
    /// Named resource classes a data scientist picks with a size. Default C(small) (0.5 CPU,
    /// 512MiB RAM, 1GiB disk), C(medium) (1 CPU, 2GiB, 4GiB), C(large) (4 CPU, 8GiB, 16GiB) and
    /// C(gpu) (4 CPU, 16GiB, 32GiB, 1 GPU).
    pub sizes: BTreeMap<String, ResourcesOptions>,
    /// The size class of a job that names none.
    pub default_size: String,
    /// Where every process's stdout and stderr go (the Thermos process logger). Default a file
    /// per process in the sandbox, rotated at 100MiB with 5 backups.
    pub logging: LoggerOptions,
    /// Metadata stamped on every job besides C(team), C(project), C(version),
    /// C(source_repository) and C(source_commit), which come from the caller. Keep these
    /// stable: a value that changes on every run makes every run an update.
    pub metadata: BTreeMap<String, TextValue>,
    /// Placement constraints of every job (host attribute to C(value), C(v1,v2), C(!value) or
    /// C(limit:N)), for example C({rack: "limit:2"}) to spread instances across racks.
    /// Environments add their own.
    pub constraints: BTreeMap<String, TextValue>,
    /// Conventions for services and batch framework masters.
    pub services: ServiceConventions,
    /// Command run for an entry point (cron jobs and batch workers); C({entry_point}) is
    /// replaced by the entry point given.
    pub entry_point_command: String,
    /// Container every job runs in. Default none: a plain Mesos container on the host's
    /// filesystem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerConvention>,
    /// E-mail address of a job's owner; C({team}) is replaced by the team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// What a data scientist may override in C(overrides), unless the environment has its own
    /// list.
    pub allowed_overrides: Vec<Override>,
    /// Most instances (or batch workers) a data scientist may ask for.
    pub max_instances: i32,
    /// The scheduler's C(-min_required_instances_for_sla_check): a percentage or count SLA
    /// policy is only allowed on jobs with at least this many instances (Aurora's default 20).
    /// The environment's C(sla_policy) is applied to jobs of this size and more.
    pub min_sla_instances: i32,
    /// Batch frameworks: a master job and a worker job that belong together.
    pub batch: BatchConventions,
}

impl Default for Profile {
    fn default() -> Self {
        let production = EnvironmentProfile {
            tier: "preferred".into(),
            production: Some(true),
            instances: 2,
            sla_policy: Some(SlaPolicyOptions {
                percentage: Some(95.0),
                duration_secs: Some(1800),
                ..SlaPolicyOptions::default()
            }),
            update: UpdateOptions {
                batch_size: 1,
                watch_secs: 30,
                ..UpdateOptions::default()
            },
            ..EnvironmentProfile::default()
        };
        let non_production = |batch_size| EnvironmentProfile {
            tier: "preemptible".into(),
            production: Some(false),
            update: UpdateOptions {
                batch_size,
                watch_secs: 10,
                ..UpdateOptions::default()
            },
            ..EnvironmentProfile::default()
        };
        let size = |cpu, ram_mib, disk_mib, gpu| ResourcesOptions {
            cpu,
            ram: Size::mib(ram_mib),
            disk: Size::mib(disk_mib),
            gpu,
        };
        Profile {
            environments: BTreeMap::from([
                ("prod".to_string(), production),
                ("staging".to_string(), non_production(2)),
                ("devel".to_string(), non_production(5)),
            ]),
            sizes: BTreeMap::from([
                ("small".to_string(), size(0.5, 512, 1024, 0)),
                ("medium".to_string(), size(1.0, 2048, 4096, 0)),
                ("large".to_string(), size(4.0, 8192, 16384, 0)),
                ("gpu".to_string(), size(4.0, 16384, 32768, 1)),
            ]),
            default_size: "small".into(),
            logging: LoggerOptions {
                destination: LogDestination::File,
                mode: LogMode::Rotate,
                rotate: Some(RotateOptions {
                    log_size: Size::mib(100),
                    backups: 5,
                }),
            },
            metadata: BTreeMap::new(),
            constraints: BTreeMap::new(),
            services: ServiceConventions::default(),
            entry_point_command: "python3 -m {entry_point}".into(),
            container: None,
            contact: None,
            allowed_overrides: vec![
                Override::Resources,
                Override::Update,
                Override::HealthCheck,
                Override::Constraints,
                Override::Metadata,
            ],
            max_instances: 100,
            min_sla_instances: 20,
            batch: BatchConventions::default(),
        }
    }
}

/// How the jobs of one environment run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EnvironmentProfile {
    /// Aurora tier of every job of the environment, such as C(preferred) (production, not
    /// preemptible) or C(preemptible). Required.
    pub tier: String,
    /// Whether jobs of this environment are production jobs (use quota, keep their SLA, are
    /// never pre-empted). When given, the pre-flight checks that the scheduler's C(tier) agrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<bool>,
    /// Instances of a service whose data scientist asks for no count.
    pub instances: i32,
    /// SLA policy of the jobs of this environment that have at least C(min_sla_instances)
    /// instances (smaller jobs get none: the scheduler refuses percentage and count policies
    /// on them). Only production tiers accept SLA policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla_policy: Option<SlaPolicyOptions>,
    /// How changes are rolled out to the running instances of the environment's services.
    pub update: UpdateOptions,
    /// Placement constraints added to the profile's C(constraints) for this environment.
    pub constraints: BTreeMap<String, TextValue>,
    /// What a data scientist may override in this environment; the profile's
    /// C(allowed_overrides) when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_overrides: Option<Vec<Override>>,
}

impl Default for EnvironmentProfile {
    fn default() -> Self {
        EnvironmentProfile {
            tier: String::new(),
            production: None,
            instances: 1,
            sla_policy: None,
            update: UpdateOptions::default(),
            constraints: BTreeMap::new(),
            allowed_overrides: None,
        }
    }
}

/// Conventions for jobs that serve (services and batch framework masters).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConventions {
    /// Name of the port a service listens on: its command uses C(%{thermos.ports[http]}).
    pub port: String,
    /// How the executor checks a service (on the C(port) above, aliased as C(health)); null for
    /// no health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckOptions>,
    /// Whether services are announced in ZooKeeper (a ServerSet per job, with C(port) as the
    /// primary endpoint), which is also how a batch framework's workers find their master.
    pub announce: bool,
    /// Where Aurora's executor announces jobs: its C(--announcer-serverset-path), under which
    /// each job is at C(ROOT/ROLE/ENVIRONMENT/NAME).
    pub serverset_root: String,
    /// ZooKeeper ensemble the executor announces to (C(host:port,...)), passed to batch
    /// workers; unset when workers need not be told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zookeeper: Option<String>,
    /// Command run for a service's entry point: C({entry_point}) is replaced by the entry
    /// point given, and the command must listen on C(port).
    pub entry_point_command: String,
}

impl Default for ServiceConventions {
    fn default() -> Self {
        ServiceConventions {
            port: "http".into(),
            health_check: Some(HealthCheckOptions {
                http: Some(HttpHealthCheckOptions::default()),
                ..HealthCheckOptions::default()
            }),
            announce: true,
            serverset_root: "/aurora".into(),
            zookeeper: None,
            entry_point_command: "python3 -m {entry_point} --port %{thermos.ports[http]}".into(),
        }
    }
}

/// The container image convention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerConvention {
    /// C(docker) runs the Docker containerizer; C(mesos) runs the image in a Mesos container.
    #[serde(default)]
    pub kind: ContainerKind,
    /// Image as C(NAME:TAG), where C({team}), C({name}), C({environment}) and C({version}) are
    /// replaced, for example C(registry.example.com/{team}/{name}:{version}).
    pub image: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContainerKind {
    #[default]
    Mesos,
    Docker,
}

/// Conventions for batch frameworks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConventions {
    /// Size class of a framework's master when its data scientist names none.
    pub master_size: String,
    /// Size class of a framework's workers when its data scientist names none.
    pub worker_size: String,
    /// Workers a framework starts with when its count is left to the fair-share allocator
    /// (C(workers=auto)); the allocator changes it afterwards, and re-runs keep its count.
    pub initial_workers: i32,
}

impl Default for BatchConventions {
    fn default() -> Self {
        BatchConventions {
            master_size: "small".into(),
            worker_size: "medium".into(),
            initial_workers: 1,
        }
    }
}

/// A job option a data scientist may be allowed to override.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Override {
    Resources,
    Update,
    HealthCheck,
    Constraints,
    Metadata,
    Tier,
    SlaPolicy,
    Priority,
    Container,
    Logging,
    MaxTaskFailures,
}

impl Override {
    pub fn as_str(self) -> &'static str {
        match self {
            Override::Resources => "resources",
            Override::Update => "update",
            Override::HealthCheck => "health_check",
            Override::Constraints => "constraints",
            Override::Metadata => "metadata",
            Override::Tier => "tier",
            Override::SlaPolicy => "sla_policy",
            Override::Priority => "priority",
            Override::Container => "container",
            Override::Logging => "logging",
            Override::MaxTaskFailures => "max_task_failures",
        }
    }
}

impl Profile {
    /// What a data scientist may override in `environment`.
    pub fn allowed_overrides<'a>(&'a self, environment: &'a EnvironmentProfile) -> &'a [Override] {
        environment
            .allowed_overrides
            .as_deref()
            .unwrap_or(&self.allowed_overrides)
    }
}
