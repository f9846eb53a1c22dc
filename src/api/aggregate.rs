//! CPU, RAM, disk and GPUs as tasks and the quota calls carry them (`Resource`,
//! `ResourceAggregate`, api-reference §4.9): read, summed, compared, written back. Shared by the
//! quota module, the platform's pre-flight and the fair-share allocator.

use serde_json::{json, Value};

use super::types::{Resource, ResourceAggregate};

/// CPU cores, RAM and disk in MiB, GPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Amounts {
    pub cpu: f64,
    pub ram_mb: i64,
    pub disk_mb: i64,
    pub gpu: i64,
}

impl Amounts {
    /// The sum of each quota kind in a quota aggregate: CPU, RAM and disk (ports and GPUs are
    /// not quota).
    pub fn of(aggregate: Option<&ResourceAggregate>) -> Amounts {
        let all = Amounts::of_resources(
            aggregate
                .and_then(|a| a.resources.as_deref())
                .unwrap_or_default(),
        );
        Amounts { gpu: 0, ..all }
    }

    /// The sum of each kind in a task's resources (ports are not amounts).
    pub fn of_resources<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Amounts {
        let mut amounts = Amounts::default();
        for resource in resources {
            match resource {
                Resource::NumCpus(cpu) => amounts.cpu += cpu,
                Resource::RamMb(mb) => amounts.ram_mb += mb,
                Resource::DiskMb(mb) => amounts.disk_mb += mb,
                Resource::NumGpus(n) => amounts.gpu += n,
                Resource::NamedPort(_) => {}
            }
        }
        amounts
    }

    /// As an aggregate; GPUs only when there are some, as the Aurora client writes them.
    pub fn wire(self) -> ResourceAggregate {
        let mut resources = vec![
            Resource::NumCpus(self.cpu),
            Resource::RamMb(self.ram_mb),
            Resource::DiskMb(self.disk_mb),
        ];
        if self.gpu != 0 {
            resources.push(Resource::NumGpus(self.gpu));
        }
        ResourceAggregate {
            resources: Some(resources),
        }
    }

    pub fn plus(self, other: Amounts) -> Amounts {
        Amounts {
            cpu: self.cpu + other.cpu,
            ram_mb: self.ram_mb + other.ram_mb,
            disk_mb: self.disk_mb + other.disk_mb,
            gpu: self.gpu + other.gpu,
        }
    }

    pub fn minus(self, other: Amounts) -> Amounts {
        Amounts {
            cpu: self.cpu - other.cpu,
            ram_mb: self.ram_mb - other.ram_mb,
            disk_mb: self.disk_mb - other.disk_mb,
            gpu: self.gpu - other.gpu,
        }
    }

    pub fn times(self, n: i32) -> Amounts {
        Amounts {
            cpu: self.cpu * f64::from(n),
            ram_mb: self.ram_mb * i64::from(n),
            disk_mb: self.disk_mb * i64::from(n),
            gpu: self.gpu * i64::from(n),
        }
    }

    /// Whether this fits in `limit` in every kind (CPU with the scheduler's float tolerance).
    pub fn fits_in(self, limit: Amounts) -> bool {
        self.cpu <= limit.cpu + 1e-9
            && self.ram_mb <= limit.ram_mb
            && self.disk_mb <= limit.disk_mb
            && self.gpu <= limit.gpu
    }

    /// For results; `gpu` only when there are some.
    pub fn json(self) -> Value {
        let mut value = json!({"cpu": self.cpu, "ram_mb": self.ram_mb, "disk_mb": self.disk_mb});
        if self.gpu != 0 {
            value["gpu"] = json!(self.gpu);
        }
        value
    }
}

impl std::fmt::Display for Amounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} CPU, {} MiB RAM, {} MiB disk",
            (self.cpu * 1000.0).round() / 1000.0,
            self.ram_mb,
            self.disk_mb
        )?;
        if self.gpu != 0 {
            write!(f, ", {} GPU", self.gpu)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_add_up_resources_of_each_kind() {
        let aggregate = ResourceAggregate {
            resources: Some(vec![
                Resource::NumCpus(1.5),
                Resource::RamMb(512),
                Resource::DiskMb(1024),
                Resource::NumCpus(0.5),
            ]),
        };
        assert_eq!(
            Amounts::of(Some(&aggregate)).json(),
            json!({"cpu": 2.0, "ram_mb": 512, "disk_mb": 1024})
        );
    }

    #[test]
    fn a_need_fits_only_when_every_kind_fits() {
        let limit = Amounts {
            cpu: 2.0,
            ram_mb: 1024,
            disk_mb: 1024,
            gpu: 1,
        };
        let need = |cpu, ram_mb, gpu| Amounts {
            cpu,
            ram_mb,
            disk_mb: 0,
            gpu,
        };
        assert!(need(2.0, 1024, 1).fits_in(limit));
        assert!(!need(0.5, 2048, 0).fits_in(limit));
        assert!(!need(0.5, 512, 2).fits_in(limit));
    }

    #[test]
    fn gpus_count_in_a_tasks_resources_but_not_in_quota() {
        let resources = [
            Resource::NumCpus(1.0),
            Resource::NumGpus(2),
            Resource::NamedPort("http".into()),
        ];
        assert_eq!(Amounts::of_resources(&resources).gpu, 2);
        let aggregate = ResourceAggregate {
            resources: Some(resources.to_vec()),
        };
        assert_eq!(Amounts::of(Some(&aggregate)).gpu, 0);
        assert_eq!(
            Amounts::of_resources(&resources).json(),
            json!({"cpu": 1.0, "ram_mb": 0, "disk_mb": 0, "gpu": 2})
        );
    }
}
