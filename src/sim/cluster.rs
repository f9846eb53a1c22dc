//! The simulated Mesos agents: their free resources and ports, and where a task may go (value,
//! limit and dedicated constraints, maintenance modes), with the veto reasons getPendingReason shows.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::api::types::{MaintenanceMode, Resource, TaskConfig, TaskConstraint};
use crate::sim::config::HostSpec;

/// One agent and what its tasks use.
#[derive(Clone, Debug)]
pub struct Host {
    pub spec: HostSpec,
    pub slave_id: String,
    pub mode: MaintenanceMode,
    used: Usage,
    used_ports: BTreeSet<u16>,
}

/// Resources a task asks for (§1.4 of client-reference: TaskConfig.resources).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Demand {
    pub cpus: f64,
    pub ram_mb: i64,
    pub disk_mb: i64,
    pub gpus: i64,
    pub ports: Vec<String>,
}

#[derive(Clone, Debug, Default)]
struct Usage {
    cpus: f64,
    ram_mb: i64,
    disk_mb: i64,
    gpus: i64,
}

impl Demand {
    pub fn of(config: &TaskConfig) -> Self {
        let mut demand = Demand::default();
        for r in config.resources.iter().flatten() {
            match r {
                Resource::NumCpus(v) => demand.cpus += v,
                Resource::RamMb(v) => demand.ram_mb += v,
                Resource::DiskMb(v) => demand.disk_mb += v,
                Resource::NumGpus(v) => demand.gpus += v,
                Resource::NamedPort(name) => demand.ports.push(name.clone()),
            }
        }
        demand
    }
}

impl Host {
    pub fn new(spec: HostSpec, index: usize) -> Self {
        Host {
            slave_id: format!("{}-agent-{index}", spec.name),
            spec,
            mode: MaintenanceMode::NONE,
            used: Usage::default(),
            used_ports: BTreeSet::new(),
        }
    }

    pub fn free_cpus(&self) -> f64 {
        self.spec.cpus - self.used.cpus
    }

    fn attribute(&self, name: &str) -> &[String] {
        self.spec
            .attributes
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Why `demand` does not fit in what is left, if it does not.
    fn resource_vetoes(&self, demand: &Demand) -> Vec<String> {
        let mut vetoes = Vec::new();
        // A small tolerance: cpu shares add up in floating point.
        if demand.cpus > self.free_cpus() + 1e-9 {
            vetoes.push("Insufficient CPU".to_string());
        }
        if demand.ram_mb > self.spec.ram_mb - self.used.ram_mb {
            vetoes.push("Insufficient RAM".into());
        }
        if demand.disk_mb > self.spec.disk_mb - self.used.disk_mb {
            vetoes.push("Insufficient disk".into());
        }
        if demand.gpus > self.spec.gpus - self.used.gpus {
            vetoes.push("Insufficient GPU".into());
        }
        let (first, last) = self.spec.ports;
        let free_ports = (last - first) as usize + 1 - self.used_ports.len();
        if demand.ports.len() > free_ports {
            vetoes.push("Insufficient ports".into());
        }
        vetoes
    }

    /// Takes the resources of a task and assigns its named ports.
    pub fn claim(&mut self, demand: &Demand) -> BTreeMap<String, i32> {
        self.used.cpus += demand.cpus;
        self.used.ram_mb += demand.ram_mb;
        self.used.disk_mb += demand.disk_mb;
        self.used.gpus += demand.gpus;
        let (first, last) = self.spec.ports;
        let mut free = (first..=last).filter(|p| !self.used_ports.contains(p));
        let mut ports = BTreeMap::new();
        for name in &demand.ports {
            if let Some(port) = free.next() {
                ports.insert(name.clone(), port as i32);
            }
        }
        self.used_ports.extend(ports.values().map(|p| *p as u16));
        ports
    }

    /// Gives back what `claim` took.
    pub fn release(&mut self, demand: &Demand, ports: &BTreeMap<String, i32>) {
        self.used.cpus = (self.used.cpus - demand.cpus).max(0.0);
        self.used.ram_mb -= demand.ram_mb;
        self.used.disk_mb -= demand.disk_mb;
        self.used.gpus -= demand.gpus;
        for port in ports.values() {
            self.used_ports.remove(&(*port as u16));
        }
    }
}

/// What placement needs to know about the job whose task is being placed.
pub struct JobPlacement<'a> {
    pub config: &'a TaskConfig,
    /// Active tasks of this job already on each host (for limit constraints and spreading).
    pub tasks_per_host: &'a HashMap<usize, u32>,
}

/// Picks the host for a task: the fitting host in mode NONE before SCHEDULED, then with the fewest
/// tasks of the same job, then the most free CPU, then the first by name. `Err` carries the vetoes.
pub fn choose_host(
    hosts: &[Host],
    job: &JobPlacement,
    demand: &Demand,
) -> Result<usize, Vec<String>> {
    // For each attribute a limit constraint names: tasks of this job per attribute value.
    let mut per_value: HashMap<(&str, &[String]), u32> = HashMap::new();
    for constraint in job.config.constraints.iter().flatten() {
        if let (Some(name), Some(TaskConstraint::Limit(_))) =
            (constraint.name.as_deref(), &constraint.constraint)
        {
            for (&index, &count) in job.tasks_per_host {
                if let Some(host) = hosts.get(index) {
                    *per_value.entry((name, host.attribute(name))).or_default() += count;
                }
            }
        }
    }
    let mut vetoes = BTreeSet::new();
    let mut best: Option<(usize, (bool, u32, f64))> = None;
    for (index, host) in hosts.iter().enumerate() {
        let host_vetoes = vetoes_for(host, job, demand, &per_value);
        if !host_vetoes.is_empty() {
            vetoes.extend(host_vetoes);
            continue;
        }
        let rank = (
            host.mode != MaintenanceMode::NONE,
            job.tasks_per_host.get(&index).copied().unwrap_or(0),
            -host.free_cpus(),
        );
        let better = match &best {
            None => true,
            Some((_, b)) => rank.partial_cmp(b) == Some(std::cmp::Ordering::Less),
        };
        if better {
            best = Some((index, rank));
        }
    }
    best.map(|(i, _)| i)
        .ok_or_else(|| vetoes.into_iter().collect())
}

fn vetoes_for(
    host: &Host,
    job: &JobPlacement,
    demand: &Demand,
    per_value: &HashMap<(&str, &[String]), u32>,
) -> Vec<String> {
    if matches!(
        host.mode,
        MaintenanceMode::DRAINING | MaintenanceMode::DRAINED
    ) {
        return vec![format!("Host {}", host.mode)];
    }
    let mut vetoes = host.resource_vetoes(demand);
    let constraints = job.config.constraints.as_deref().unwrap_or_default();
    // Hosts dedicated to a role only take jobs that ask for them.
    let asks_dedicated = constraints
        .iter()
        .any(|c| c.name.as_deref() == Some("dedicated"));
    if !host.attribute("dedicated").is_empty() && !asks_dedicated {
        vetoes.push("Host is dedicated".into());
    }
    for constraint in constraints {
        let name = constraint.name.as_deref().unwrap_or_default();
        let values = host.attribute(name);
        match &constraint.constraint {
            Some(TaskConstraint::Value(v)) => {
                let wanted = v.values.as_deref().unwrap_or_default();
                let matches = values.iter().any(|value| wanted.contains(value));
                if matches == v.negated {
                    vetoes.push(format!("Constraint not satisfied: {name}"));
                }
            }
            Some(TaskConstraint::Limit(l)) => {
                let count = per_value.get(&(name, values)).copied().unwrap_or(0);
                if values.is_empty() || count >= l.limit.max(0) as u32 {
                    vetoes.push(format!("Limit not satisfied: {name}"));
                }
            }
            None => {}
        }
    }
    vetoes
}
