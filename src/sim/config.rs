//! What the simulator simulates: the cluster's hosts (generated, or read from a YAML cluster file)
//! and the scheduler flags that change its behaviour, with the upstream defaults.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

/// Everything a simulated scheduler needs to start.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// `-cluster_name`, reported in every reply's `serverInfo`.
    pub cluster_name: String,
    pub cluster: ClusterSpec,
    pub flags: SchedulerFlags,
}

impl SimConfig {
    pub fn new(cluster: ClusterSpec) -> Self {
        SimConfig {
            cluster_name: "devcluster".into(),
            cluster,
            flags: SchedulerFlags::default(),
        }
    }
}

/// Scheduler flags (api-reference §4), defaults as upstream.
#[derive(Clone, Debug)]
pub struct SchedulerFlags {
    /// `-max_tasks_per_job`.
    pub max_tasks_per_job: i32,
    /// `-allowed_job_environments`.
    pub allowed_job_environments: String,
    /// `-allowed_container_types` includes DOCKER.
    pub allow_docker: bool,
    /// `-allow_docker_parameters`.
    pub allow_docker_parameters: bool,
    /// `-allow_gpu_resource`.
    pub allow_gpu_resource: bool,
    /// `-enable_mesos_fetcher`.
    pub enable_mesos_fetcher: bool,
    /// `-allow_container_volumes`.
    pub allow_container_volumes: bool,
    /// `-min_required_instances_for_sla_check`.
    pub min_required_instances_for_sla_check: i32,
    /// `-sla_aware_kill_non_prod`.
    pub sla_aware_kill_non_prod: bool,
    /// `-max_sla_duration_secs`.
    pub max_sla_duration_secs: i64,
    /// `-max_update_instance_failures`.
    pub max_update_instance_failures: i32,
    /// `-host_maintenance_polling_interval`, in virtual time.
    pub host_maintenance_polling_interval: Duration,
    /// `-sla_coordinator_timeout`, in real time: it bounds a real HTTP call.
    pub sla_coordinator_timeout: Duration,
}

impl Default for SchedulerFlags {
    fn default() -> Self {
        SchedulerFlags {
            max_tasks_per_job: 4000,
            allowed_job_environments: r"^(prod|devel|test|staging\d*)$".into(),
            allow_docker: false,
            allow_docker_parameters: false,
            allow_gpu_resource: false,
            enable_mesos_fetcher: false,
            allow_container_volumes: false,
            min_required_instances_for_sla_check: 20,
            sla_aware_kill_non_prod: false,
            max_sla_duration_secs: 7200,
            max_update_instance_failures: 20_000,
            host_maintenance_polling_interval: Duration::from_secs(60),
            sla_coordinator_timeout: Duration::from_secs(60),
        }
    }
}

/// The simulated Mesos agents.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSpec {
    pub hosts: Vec<HostSpec>,
}

/// One simulated agent: its resources and attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSpec {
    pub name: String,
    pub cpus: f64,
    pub ram_mb: i64,
    pub disk_mb: i64,
    pub gpus: i64,
    /// Inclusive range of ports offered for named ports.
    pub ports: (u16, u16),
    /// Attribute name → values; always holds `host` (the host name), which limit constraints use.
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Per-host resources used when a host does not give its own.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostResources {
    pub cpus: f64,
    pub ram_mb: i64,
    pub disk_mb: i64,
    pub gpus: i64,
    pub ports: String,
}

impl Default for HostResources {
    fn default() -> Self {
        HostResources {
            cpus: 8.0,
            ram_mb: 16 * 1024,
            disk_mb: 100 * 1024,
            gpus: 0,
            ports: "31000-31999".into(),
        }
    }
}

impl ClusterSpec {
    /// `--hosts N --racks R`: hosts `host-001`… spread over racks `r1`…`rR` in contiguous blocks.
    pub fn generated(
        hosts: usize,
        racks: usize,
        resources: &HostResources,
    ) -> anyhow::Result<Self> {
        if hosts == 0 {
            bail!("--hosts must be at least 1");
        }
        if racks == 0 || racks > hosts {
            bail!("--racks must be between 1 and the number of hosts ({hosts})");
        }
        let ports = parse_port_range(&resources.ports)?;
        let width = hosts.to_string().len().max(3);
        let hosts = (0..hosts)
            .map(|i| {
                let name = format!("host-{:0width$}", i + 1);
                let rack = format!("r{}", i * racks / hosts + 1);
                let mut attributes = BTreeMap::new();
                attributes.insert("host".to_string(), vec![name.clone()]);
                attributes.insert("rack".to_string(), vec![rack]);
                HostSpec {
                    name,
                    cpus: resources.cpus,
                    ram_mb: resources.ram_mb,
                    disk_mb: resources.disk_mb,
                    gpus: resources.gpus,
                    ports,
                    attributes,
                }
            })
            .collect();
        Ok(ClusterSpec { hosts })
    }

    /// Reads a cluster file (YAML):
    ///
    /// ```yaml
    /// defaults: {cpus: 8, ram_mb: 16384, disk_mb: 102400, ports: "31000-31999"}
    /// hosts:
    ///   - name: gpu-1
    ///     gpus: 2
    ///     attributes: {rack: r1, zone: [a, b]}
    /// ```
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read cluster file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid cluster file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            defaults: HostResources,
            hosts: Vec<FileHost>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FileHost {
            name: String,
            cpus: Option<f64>,
            ram_mb: Option<i64>,
            disk_mb: Option<i64>,
            gpus: Option<i64>,
            ports: Option<String>,
            #[serde(default)]
            attributes: BTreeMap<String, OneOrMany>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }

        let file: File = serde_yaml_ng::from_str(text)?;
        if file.hosts.is_empty() {
            bail!("the cluster file names no hosts");
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut hosts = Vec::with_capacity(file.hosts.len());
        for h in file.hosts {
            if !seen.insert(h.name.clone()) {
                bail!("host {:?} is listed twice", h.name);
            }
            let d = &file.defaults;
            let mut attributes: BTreeMap<String, Vec<String>> = h
                .attributes
                .into_iter()
                .map(|(k, v)| match v {
                    OneOrMany::One(s) => (k, vec![s]),
                    OneOrMany::Many(v) => (k, v),
                })
                .collect();
            attributes
                .entry("host".into())
                .or_insert_with(|| vec![h.name.clone()]);
            let host = HostSpec {
                cpus: h.cpus.unwrap_or(d.cpus),
                ram_mb: h.ram_mb.unwrap_or(d.ram_mb),
                disk_mb: h.disk_mb.unwrap_or(d.disk_mb),
                gpus: h.gpus.unwrap_or(d.gpus),
                ports: parse_port_range(h.ports.as_deref().unwrap_or(&d.ports))
                    .with_context(|| format!("host {:?}", h.name))?,
                attributes,
                name: h.name,
            };
            if host.cpus <= 0.0 || host.ram_mb <= 0 || host.disk_mb <= 0 || host.gpus < 0 {
                bail!(
                    "host {:?}: cpus, ram_mb and disk_mb must be positive",
                    host.name
                );
            }
            hosts.push(host);
        }
        Ok(ClusterSpec { hosts })
    }
}

/// A duration flag value: a number and a unit (`ms`, `s`, `m`, `h`, `d`), several of them added up
/// (`90s`, `1m`, `1m30s`, `500ms`); Aurora's own spellings (`1mins`, `30secs`) are accepted too.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let bad = || {
        anyhow::anyhow!(
            "duration {text:?} is not a number with a unit, like 60s, 1m, 1m30s or 500ms"
        )
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_end = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .map_or(rest.len(), |i| digits + i);
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit_ms: u64 = match &rest[digits..unit_end] {
            "ms" | "msecs" => 1,
            "s" | "sec" | "secs" => 1_000,
            "m" | "min" | "mins" => 60_000,
            "h" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            _ => return Err(bad()),
        };
        total_ms = number
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(bad)?;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_millis(total_ms))
}

/// `"31000-31999"` → (31000, 31999).
fn parse_port_range(text: &str) -> anyhow::Result<(u16, u16)> {
    let (a, b) = text
        .split_once('-')
        .with_context(|| format!("port range {text:?} is not of the form FIRST-LAST"))?;
    let (a, b): (u16, u16) = (
        a.trim()
            .parse()
            .with_context(|| format!("bad port in {text:?}"))?,
        b.trim()
            .parse()
            .with_context(|| format!("bad port in {text:?}"))?,
    );
    if a == 0 || a > b {
        bail!("port range {text:?} is empty or starts at 0");
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_hosts_carry_host_and_rack_attributes() {
        let c = ClusterSpec::generated(6, 3, &HostResources::default()).unwrap();
        assert_eq!(c.hosts.len(), 6);
        assert_eq!(c.hosts[0].name, "host-001");
        let racks: Vec<_> = c
            .hosts
            .iter()
            .map(|h| h.attributes["rack"][0].clone())
            .collect();
        assert_eq!(racks, ["r1", "r1", "r2", "r2", "r3", "r3"]);
        assert_eq!(c.hosts[5].attributes["host"], ["host-006"]);
    }

    #[test]
    fn cluster_file_fills_defaults_and_the_host_attribute() {
        let c = ClusterSpec::parse(
            "defaults: {cpus: 4}\nhosts:\n  - name: a\n    attributes: {rack: r1, zone: [x, y]}\n  - name: b\n    cpus: 2\n    ports: 1000-1001\n",
        )
        .unwrap();
        assert_eq!(c.hosts[0].cpus, 4.0);
        assert_eq!(c.hosts[0].attributes["zone"], ["x", "y"]);
        assert_eq!(c.hosts[0].attributes["host"], ["a"]);
        assert_eq!(c.hosts[1].cpus, 2.0);
        assert_eq!(c.hosts[1].ports, (1000, 1001));
    }

    #[test]
    fn durations_take_units_and_add_up() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1mins").unwrap(), Duration::from_secs(60));
        for bad in ["", "60", "s", "1x", "-1s", "1.5s"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(format!("{err}").contains("like 60s"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn cluster_file_errors_name_the_problem() {
        let err = ClusterSpec::parse("hosts:\n  - name: a\n  - name: a\n").unwrap_err();
        assert!(format!("{err:#}").contains("listed twice"));
        let err = ClusterSpec::parse("hosts:\n  - name: a\n    cpu: 3\n").unwrap_err();
        assert!(format!("{err:#}").contains("cpu"));
    }
}
