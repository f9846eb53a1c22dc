//! CPU, RAM and disk as the quota calls carry them (`ResourceAggregate`, api-reference §4.9):
//! read from an aggregate, summed, compared, written back. Shared by the quota module and the
//! platform's pre-flight.

use serde_json::{json, Value};

use super::types::{Resource, ResourceAggregate};

/// CPU cores, RAM and disk in MiB.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Amounts {
    pub cpu: f64,
    pub ram_mb: i64,
    pub disk_mb: i64,
}

impl Amounts {
    /// The sum of each kind in an aggregate; other resources (ports, GPUs) are not quota.
    pub fn of(aggregate: Option<&ResourceAggregate>) -> Amounts {
        Amounts::of_resources(
            aggregate
                .and_then(|a| a.resources.as_deref())
                .unwrap_or_default(),
        )
    }

    /// The sum of each kind in a task's resources.
    pub fn of_resources<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Amounts {
        let mut amounts = Amounts::default();
        for resource in resources {
            match resource {
                Resource::NumCpus(cpu) => amounts.cpu += cpu,
                Resource::RamMb(mb) => amounts.ram_mb += mb,
                Resource::DiskMb(mb) => amounts.disk_mb += mb,
                _ => {}
            }
        }
        amounts
    }

    pub fn wire(self) -> ResourceAggregate {
        ResourceAggregate {
            resources: Some(vec![
                Resource::NumCpus(self.cpu),
                Resource::RamMb(self.ram_mb),
                Resource::DiskMb(self.disk_mb),
            ]),
        }
    }

    pub fn plus(self, other: Amounts) -> Amounts {
        Amounts {
            cpu: self.cpu + other.cpu,
            ram_mb: self.ram_mb + other.ram_mb,
            disk_mb: self.disk_mb + other.disk_mb,
        }
    }

    pub fn minus(self, other: Amounts) -> Amounts {
        Amounts {
            cpu: self.cpu - other.cpu,
            ram_mb: self.ram_mb - other.ram_mb,
            disk_mb: self.disk_mb - other.disk_mb,
        }
    }

    pub fn times(self, n: i32) -> Amounts {
        Amounts {
            cpu: self.cpu * f64::from(n),
            ram_mb: self.ram_mb * i64::from(n),
            disk_mb: self.disk_mb * i64::from(n),
        }
    }

    /// Whether this fits in `limit` in every kind (CPU with the scheduler's float tolerance).
    pub fn fits_in(self, limit: Amounts) -> bool {
        self.cpu <= limit.cpu + 1e-9 && self.ram_mb <= limit.ram_mb && self.disk_mb <= limit.disk_mb
    }

    pub fn json(self) -> Value {
        json!({"cpu": self.cpu, "ram_mb": self.ram_mb, "disk_mb": self.disk_mb})
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
        )
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
        };
        assert!(Amounts {
            cpu: 2.0,
            ram_mb: 1024,
            disk_mb: 0
        }
        .fits_in(limit));
        assert!(!Amounts {
            cpu: 0.5,
            ram_mb: 2048,
            disk_mb: 0
        }
        .fits_in(limit));
    }
}
