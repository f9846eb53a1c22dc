//! The options of `fair_share` and `Settings`, the same checked once: every invalid value or
//! combination is refused here, naming the option (and the framework, by its place in the list).

use std::collections::BTreeSet;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::ansible::Failure;
use crate::api::aggregate::Amounts;
use crate::api::keys::check_identifier;
use crate::api::types::JobKey;
use crate::fair_share::{Damping, Kind};
use crate::modules::support::connection::ConnectionOptions;
use crate::spec::update::{settings as update_settings, UpdateOptions};
use crate::spec::Size;

/// The most weight a framework may have, so that weights stay exact in the allocator.
const MAX_WEIGHT: f64 = 1e6;
/// The most workers a demand counts (Aurora's `-max_tasks_per_job` is 4,000 by default).
pub const MAX_DEMAND: u32 = 1_000_000;

/// Options of `aurora.scheduler.fair_share`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(extend("x-mutually-exclusive" = [["capacity", "capacity_from_quota", "capacity_from_hosts"]]))]
#[schemars(extend("x-required-one-of" = [["capacity", "capacity_from_quota", "capacity_from_hosts"]]))]
pub struct Options {
    #[serde(flatten)]
    pub connection: ConnectionOptions,

    /// The budget the frameworks share: C(cpu) cores, C(ram) and C(disk) (sizes such as
    /// C(80GiB)), C(gpu). A kind left out is not limited and counts in no dominant share.
    pub capacity: Option<Budget>,

    /// The frameworks share this role's production quota (C(cpu), C(ram), C(disk)), less what
    /// the role's other production jobs use. GPUs are not quota, so not limited.
    pub capacity_from_quota: Option<String>,

    /// The frameworks share what these agent hosts have free: C(host_size) for each host (the
    /// scheduler does not publish hosts' resources), less what the tasks of other jobs on them
    /// use.
    pub capacity_from_hosts: Option<HostPool>,

    /// The competing frameworks, each by its worker job.
    pub frameworks: Vec<FrameworkOptions>,

    /// A framework whose fair share is within this fraction of its current count keeps its
    /// count (Kubernetes' Horizontal Pod Autoscaler uses 0.1).
    #[serde(default = "default_tolerance")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub tolerance: f64,

    /// The most workers one run removes from a framework, in percent of its count (at least
    /// one worker).
    #[serde(default = "default_scale_down_limit")]
    #[schemars(range(min = 1.0, max = 100.0))]
    pub scale_down_limit_percent: f64,

    /// Seconds after the allocator last changed a framework's count during which it is not
    /// shrunk. The time is that of the allocator's last update of the worker job, as the
    /// scheduler records it, measured with this host's clock; C(0) shrinks at once.
    #[serde(default = "default_scale_down_window")]
    pub scale_down_window_secs: u64,

    /// Whether to wait until growing frameworks' updates have rolled forward. Shrinking ones
    /// are always waited for before any framework grows, so that growth does not land PENDING.
    #[serde(default = "default_true")]
    pub wait: bool,

    /// Seconds to wait in all for the updates, shrinking and growing.
    #[serde(default = "default_wait_timeout")]
    pub wait_timeout: u64,

    /// How instances are added and removed for frameworks whose worker job has no update of
    /// its own yet (a job only created, or only scaled since): the C(update) options of
    /// M(aurora.scheduler.job), usually the platform profile's for the environment. The
    /// settings of a job's own last update win; without either, Aurora's defaults.
    pub update: Option<UpdateOptions>,

    /// Seconds to wait for each C(load_url) to answer.
    #[serde(default = "default_load_timeout")]
    #[schemars(range(min = 0.1))]
    pub load_timeout: f64,
}

/// Amounts of each kind of resource; a kind left out is not limited.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// CPU cores.
    #[schemars(range(min = 0.0))]
    pub cpu: Option<f64>,
    /// RAM, for example C(80GiB).
    pub ram: Option<Size>,
    /// Disk, for example C(400GiB).
    pub disk: Option<Size>,
    /// GPUs.
    #[schemars(range(min = 0))]
    pub gpu: Option<i64>,
}

/// Agent hosts and what each has.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostPool {
    /// The hosts, as the agents name themselves (the inventory plugin's groups list them).
    pub hosts: Vec<String>,
    /// What one host has: C(cpu), C(ram), C(disk), C(gpu); a kind left out is not limited.
    pub host_size: Budget,
}

/// One framework.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-mutually-exclusive" = [["load", "load_url"]]))]
#[schemars(extend("x-required-one-of" = [["load", "load_url"]]))]
pub struct FrameworkOptions {
    /// Its worker job, C(ROLE/ENVIRONMENT/NAME), a running service. The resources of one
    /// worker are read from its running configuration.
    pub job: String,

    /// Its weight: a framework of weight 2 is given twice the dominant share of one of weight
    /// 1 when both have work for it.
    #[serde(default = "default_one")]
    #[schemars(range(min = 0.000001, max = 1000000.0))]
    pub weight: f64,

    /// Workers it keeps whatever its load, when the capacity allows (the task fails naming
    /// the frameworks when the minimums do not fit together).
    #[serde(default)]
    pub min_workers: u32,

    /// The most workers it is given.
    pub max_workers: Option<u32>,

    /// Its load: pending work, in the unit of C(work_per_worker).
    #[schemars(range(min = 0.0))]
    pub load: Option<f64>,

    /// Where to read its load: an HTTP GET (usually to the framework's master) answering a
    /// JSON object. When it cannot be read, the framework keeps its count, and the result says
    /// why.
    pub load_url: Option<String>,

    /// The field of C(load_url)'s JSON that holds the load; dots reach into nested objects
    /// (C(queue.pending)).
    #[serde(default = "default_load_field")]
    pub load_field: String,

    /// The work one worker takes: the demand is C(load / work_per_worker) workers, rounded up.
    #[serde(default = "default_one")]
    pub work_per_worker: f64,

    /// C(update) for this framework, instead of the module's.
    pub update: Option<UpdateOptions>,
}

fn default_true() -> bool {
    true
}

fn default_one() -> f64 {
    1.0
}

fn default_tolerance() -> f64 {
    Damping::default().tolerance
}

fn default_scale_down_limit() -> f64 {
    Damping::default().max_scale_down_percent
}

fn default_scale_down_window() -> u64 {
    Damping::default().window_secs as u64
}

fn default_wait_timeout() -> u64 {
    900
}

fn default_load_timeout() -> f64 {
    5.0
}

fn default_load_field() -> String {
    "load".into()
}

/// Where the capacity comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum CapacitySource {
    /// An explicit budget, limited in the kinds given.
    Budget { total: Amounts, kinds: Vec<Kind> },
    /// A role's production quota.
    Quota { role: String },
    /// Hosts, each of `size` in `kinds`.
    Hosts {
        hosts: Vec<String>,
        size: Amounts,
        kinds: Vec<Kind>,
    },
}

/// How a framework's load is known.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadSource {
    Given(f64),
    Url { url: String, field: String },
}

/// One framework, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkSettings {
    pub key: JobKey,
    pub weight: f64,
    pub min_workers: u32,
    pub max_workers: Option<u32>,
    pub load: LoadSource,
    pub work_per_worker: f64,
    /// How to change its count when its job has no update of its own; `update_option` names it.
    pub update: Option<UpdateOptions>,
    pub update_option: String,
}

impl FrameworkSettings {
    /// Workers of work in `load`, rounded up.
    pub fn demand(&self, load: f64) -> u32 {
        let workers = (load / self.work_per_worker).ceil();
        if workers >= f64::from(MAX_DEMAND) {
            MAX_DEMAND
        } else {
            workers.max(0.0) as u32
        }
    }
}

/// The options, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub capacity: CapacitySource,
    pub frameworks: Vec<FrameworkSettings>,
    pub damping: Damping,
    pub wait: bool,
    pub wait_timeout: u64,
    pub load_timeout: Duration,
}

impl Settings {
    pub fn from_options(o: &Options) -> Result<Settings, Failure> {
        let capacity = match (&o.capacity, &o.capacity_from_quota, &o.capacity_from_hosts) {
            (Some(budget), None, None) => {
                let (total, kinds) = amounts("capacity", budget)?;
                CapacitySource::Budget { total, kinds }
            }
            (None, Some(role), None) => {
                check_identifier("capacity_from_quota", role)
                    .map_err(|e| Failure::new(format!("capacity_from_quota: {}", e.0)))?;
                CapacitySource::Quota { role: role.clone() }
            }
            (None, None, Some(pool)) => {
                if pool.hosts.is_empty() {
                    return Err(Failure::new(
                        "capacity_from_hosts.hosts: give at least one host",
                    ));
                }
                let (size, kinds) = amounts("capacity_from_hosts.host_size", &pool.host_size)?;
                let hosts: BTreeSet<String> = pool.hosts.iter().cloned().collect();
                CapacitySource::Hosts {
                    hosts: hosts.into_iter().collect(),
                    size,
                    kinds,
                }
            }
            _ => {
                return Err(Failure::new(
                    "give one of capacity, capacity_from_quota and capacity_from_hosts",
                ))
            }
        };
        if o.frameworks.is_empty() {
            return Err(Failure::new("frameworks: give at least one framework"));
        }
        let mut seen = BTreeSet::new();
        let mut frameworks = Vec::new();
        for (i, f) in o.frameworks.iter().enumerate() {
            let framework = framework(i, f, o.update.as_ref())?;
            if !seen.insert(framework.key.to_string()) {
                return Err(Failure::new(format!(
                    "frameworks[{i}].job: {} is listed twice",
                    framework.key
                )));
            }
            frameworks.push(framework);
        }
        if !(0.0..1.0).contains(&o.tolerance) {
            return Err(Failure::new(format!(
                "tolerance: {} is not a fraction in [0, 1), such as 0.1",
                o.tolerance
            )));
        }
        if !(o.scale_down_limit_percent > 0.0 && o.scale_down_limit_percent <= 100.0) {
            return Err(Failure::new(format!(
                "scale_down_limit_percent: {} is not a percentage in (0, 100]",
                o.scale_down_limit_percent
            )));
        }
        if !(o.load_timeout.is_finite() && o.load_timeout > 0.0) {
            return Err(Failure::new(
                "load_timeout: give a number of seconds above 0",
            ));
        }
        Ok(Settings {
            capacity,
            frameworks,
            damping: Damping {
                tolerance: o.tolerance,
                max_scale_down_percent: o.scale_down_limit_percent,
                window_secs: o.scale_down_window_secs as f64,
            },
            wait: o.wait,
            wait_timeout: o.wait_timeout,
            load_timeout: Duration::from_secs_f64(o.load_timeout.min(3600.0)),
        })
    }
}

/// A budget as amounts, and the kinds it limits.
fn amounts(option: &str, budget: &Budget) -> Result<(Amounts, Vec<Kind>), Failure> {
    let mib = |size: Size| i64::try_from(size.whole_mib()).unwrap_or(i64::MAX);
    let mut kinds = Vec::new();
    let mut total = Amounts::default();
    if let Some(cpu) = budget.cpu {
        if !(cpu.is_finite() && cpu >= 0.0) {
            return Err(Failure::new(format!(
                "{option}.cpu: {cpu} is not a number of cores"
            )));
        }
        total.cpu = cpu;
        kinds.push(Kind::Cpu);
    }
    if let Some(ram) = budget.ram {
        total.ram_mb = mib(ram);
        kinds.push(Kind::Ram);
    }
    if let Some(disk) = budget.disk {
        total.disk_mb = mib(disk);
        kinds.push(Kind::Disk);
    }
    if let Some(gpu) = budget.gpu {
        if gpu < 0 {
            return Err(Failure::new(format!("{option}.gpu: {gpu} is below 0")));
        }
        total.gpu = gpu;
        kinds.push(Kind::Gpu);
    }
    if kinds.is_empty() {
        return Err(Failure::new(format!(
            "{option}: give at least one of cpu, ram, disk and gpu"
        )));
    }
    Ok((total, kinds))
}

fn framework(
    i: usize,
    f: &FrameworkOptions,
    default_update: Option<&UpdateOptions>,
) -> Result<FrameworkSettings, Failure> {
    let name = |option: &str| format!("frameworks[{i}].{option}");
    let key = JobKey::parse(&f.job).map_err(|e| Failure::new(format!("{}: {e}", name("job"))))?;
    if !(f.weight.is_finite() && f.weight > 0.0 && f.weight <= MAX_WEIGHT) {
        return Err(Failure::new(format!(
            "{}: {} is not a weight above 0 (and at most {MAX_WEIGHT})",
            name("weight"),
            f.weight
        )));
    }
    if let Some(max) = f.max_workers {
        if max < f.min_workers {
            return Err(Failure::new(format!(
                "{}: {max} is below min_workers ({})",
                name("max_workers"),
                f.min_workers
            )));
        }
    }
    if !(f.work_per_worker.is_finite() && f.work_per_worker > 0.0) {
        return Err(Failure::new(format!(
            "{}: {} is not an amount of work above 0",
            name("work_per_worker"),
            f.work_per_worker
        )));
    }
    let load = match (f.load, &f.load_url) {
        (Some(load), None) if load.is_finite() && load >= 0.0 => LoadSource::Given(load),
        (Some(load), None) => {
            return Err(Failure::new(format!(
                "{}: {load} is not a load of 0 or more",
                name("load")
            )))
        }
        (None, Some(url)) => {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || reqwest::Url::parse(url).is_err() {
                return Err(Failure::new(format!(
                    "{}: {url:?} is not an http:// or https:// URL",
                    name("load_url")
                )));
            }
            if f.load_field.split('.').any(str::is_empty) {
                return Err(Failure::new(format!(
                    "{}: {:?} is not a field name (dots separate nested fields)",
                    name("load_field"),
                    f.load_field
                )));
            }
            LoadSource::Url {
                url: url.clone(),
                field: f.load_field.clone(),
            }
        }
        _ => {
            return Err(Failure::new(format!(
                "frameworks[{i}]: give one of load and load_url"
            )))
        }
    };
    let (update, update_option) = match (&f.update, default_update) {
        (Some(update), _) => (Some(update.clone()), name("update")),
        (None, update) => (update.cloned(), "update".to_string()),
    };
    if let Some(update) = &update {
        // Checked now with any count; max_total_failures is held against the count later.
        update_settings(update, &update_option, i32::MAX, false, false)
            .map_err(|e| Failure::new(e.to_string()))?;
    }
    Ok(FrameworkSettings {
        key,
        weight: f.weight,
        min_workers: f.min_workers,
        max_workers: f.max_workers,
        load,
        work_per_worker: f.work_per_worker,
        update,
        update_option,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options(value: serde_json::Value) -> Options {
        serde_json::from_value(value).unwrap()
    }

    fn base() -> serde_json::Value {
        json!({
            "capacity": {"cpu": 40, "ram": "80GiB", "disk": "400GiB"},
            "frameworks": [
                {"job": "ds-a/prod/trainer-workers", "weight": 2, "min_workers": 1,
                 "max_workers": 30, "load": 120, "work_per_worker": 10},
                {"job": "ds-b/prod/ranker-workers", "load_url": "http://master.example:8080/stats",
                 "load_field": "pending", "work_per_worker": 5},
            ],
        })
    }

    #[test]
    fn the_issues_example_is_understood() {
        let settings = Settings::from_options(&options(base())).unwrap();
        assert_eq!(
            settings.capacity,
            CapacitySource::Budget {
                total: Amounts {
                    cpu: 40.0,
                    ram_mb: 80 * 1024,
                    disk_mb: 400 * 1024,
                    gpu: 0
                },
                kinds: vec![Kind::Cpu, Kind::Ram, Kind::Disk],
            }
        );
        let trainer = &settings.frameworks[0];
        assert_eq!(trainer.key.to_string(), "ds-a/prod/trainer-workers");
        assert_eq!(trainer.demand(120.0), 12);
        assert_eq!(trainer.demand(121.0), 13);
        assert_eq!(trainer.demand(0.0), 0);
        assert_eq!(
            settings.frameworks[1].load,
            LoadSource::Url {
                url: "http://master.example:8080/stats".into(),
                field: "pending".into()
            }
        );
        assert_eq!(settings.damping, Damping::default());
    }

    #[test]
    fn each_bad_value_is_named() {
        let cases = [
            (
                "/frameworks/0/job",
                json!("ds-a/trainer"),
                "frameworks[0].job",
            ),
            ("/frameworks/0/weight", json!(0), "frameworks[0].weight"),
            (
                "/frameworks/0/max_workers",
                json!(0),
                "frameworks[0].max_workers: 0 is below min_workers",
            ),
            (
                "/frameworks/1/load_url",
                json!("ftp://x/"),
                "frameworks[1].load_url",
            ),
            (
                "/frameworks/1/load_field",
                json!("a..b"),
                "frameworks[1].load_field",
            ),
            (
                "/frameworks/1/work_per_worker",
                json!(0),
                "frameworks[1].work_per_worker",
            ),
            (
                "/frameworks/1/job",
                json!("ds-a/prod/trainer-workers"),
                "listed twice",
            ),
            ("/tolerance", json!(1.5), "tolerance"),
            (
                "/scale_down_limit_percent",
                json!(0),
                "scale_down_limit_percent",
            ),
            ("/capacity", json!({}), "capacity: give at least one of cpu"),
        ];
        for (pointer, value, expected) in cases {
            let mut o = base();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let parent = if parent.is_empty() {
                &mut o
            } else {
                o.pointer_mut(parent).unwrap()
            };
            parent[key] = value;
            let error = Settings::from_options(&options(o)).unwrap_err();
            assert!(error.msg().contains(expected), "{pointer}: {}", error.msg());
        }
    }
}
