//! The drain plan of `host_maintenance`, as pure functions: how the host set splits into batches
//! (by size, percentage and failure domain), and what a batch still needs given the hosts'
//! current modes, so that a re-run after an interruption carries on where the last one stopped.

use std::collections::BTreeMap;

use crate::api::types::MaintenanceMode;

/// How many hosts a batch holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BatchSize {
    /// Every host (of a group, with `group_by`) in one batch.
    All,
    Count(usize),
    /// A share of the whole host set, rounded up, at least one host.
    Percentage(f64),
}

/// What the planner needs to know of one host.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedHost {
    pub name: String,
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Hosts per batch for a set of `total` hosts.
pub fn batch_len(size: BatchSize, total: usize) -> usize {
    match size {
        BatchSize::All => total.max(1),
        BatchSize::Count(n) => n.max(1),
        BatchSize::Percentage(p) => ((p / 100.0 * total as f64).ceil() as usize).max(1),
    }
}

/// The batches of the whole host set, in drain order: with `group_by`, groups in order of their
/// attribute value, a batch never mixing groups; hosts by name within a group. The plan depends
/// only on the set, never on the modes, so that every run of the same task plans the same
/// batches. Fails naming a host without the `group_by` attribute.
pub fn plan_batches(
    hosts: &[PlannedHost],
    size: BatchSize,
    group_by: Option<&str>,
) -> Result<Vec<Vec<String>>, String> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for host in hosts {
        let key = match group_by {
            None => String::new(),
            Some(attribute) => match host.attributes.get(attribute) {
                Some(values) if !values.is_empty() => values.join(","),
                _ => {
                    return Err(format!(
                        "group_by: host {} has no attribute {attribute:?}; group by an attribute \
                         every host has (see aurora.scheduler.host_info), or leave it out",
                        host.name
                    ))
                }
            },
        };
        groups.entry(key).or_default().push(host.name.clone());
    }
    let per_batch = batch_len(size, hosts.len());
    let mut batches = Vec::new();
    for (_, mut names) in groups {
        names.sort();
        names.dedup();
        batches.extend(names.chunks(per_batch).map(<[String]>::to_vec));
    }
    Ok(batches)
}

/// What a batch still needs, given the current modes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchStep {
    /// Hosts to ask to drain: in mode NONE or SCHEDULED.
    pub to_drain: Vec<String>,
    /// Hosts not yet DRAINED (those to drain, and those already DRAINING, which are waited for
    /// and not asked again).
    pub to_wait_for: Vec<String>,
}

impl BatchStep {
    pub fn is_done(&self) -> bool {
        self.to_wait_for.is_empty()
    }
}

pub fn batch_step(batch: &[String], modes: &BTreeMap<String, MaintenanceMode>) -> BatchStep {
    let mut step = BatchStep::default();
    for host in batch {
        let mode = modes.get(host).copied().unwrap_or(MaintenanceMode::NONE);
        if mode == MaintenanceMode::DRAINED {
            continue;
        }
        if mode != MaintenanceMode::DRAINING {
            step.to_drain.push(host.clone());
        }
        step.to_wait_for.push(host.clone());
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, rack: &str) -> PlannedHost {
        PlannedHost {
            name: name.into(),
            attributes: [("rack".to_string(), vec![rack.to_string()])].into(),
        }
    }

    fn fleet() -> Vec<PlannedHost> {
        vec![
            host("h5", "r2"),
            host("h1", "r1"),
            host("h3", "r1"),
            host("h2", "r1"),
            host("h4", "r2"),
        ]
    }

    #[test]
    fn without_options_every_host_is_one_batch_sorted_by_name() {
        let batches = plan_batches(&fleet(), BatchSize::All, None).unwrap();
        assert_eq!(batches, vec![vec!["h1", "h2", "h3", "h4", "h5"]]);
    }

    #[test]
    fn batch_size_splits_the_sorted_set() {
        let batches = plan_batches(&fleet(), BatchSize::Count(2), None).unwrap();
        assert_eq!(
            batches,
            vec![vec!["h1", "h2"], vec!["h3", "h4"], vec!["h5"]]
        );
    }

    #[test]
    fn batch_percentage_counts_the_whole_set_rounded_up() {
        assert_eq!(batch_len(BatchSize::Percentage(40.0), 5), 2);
        assert_eq!(batch_len(BatchSize::Percentage(1.0), 5), 1);
        assert_eq!(batch_len(BatchSize::Percentage(100.0), 5), 5);
        assert_eq!(batch_len(BatchSize::Percentage(10.0), 1000), 100);
    }

    #[test]
    fn group_by_gives_one_batch_per_group_in_group_order() {
        let batches = plan_batches(&fleet(), BatchSize::All, Some("rack")).unwrap();
        assert_eq!(batches, vec![vec!["h1", "h2", "h3"], vec!["h4", "h5"]]);
    }

    #[test]
    fn a_batch_never_mixes_groups() {
        let batches = plan_batches(&fleet(), BatchSize::Count(2), Some("rack")).unwrap();
        assert_eq!(
            batches,
            vec![vec!["h1", "h2"], vec!["h3"], vec!["h4", "h5"]]
        );
    }

    #[test]
    fn a_host_without_the_group_attribute_is_named() {
        let mut hosts = fleet();
        hosts.push(PlannedHost {
            name: "bare".into(),
            attributes: BTreeMap::new(),
        });
        let error = plan_batches(&hosts, BatchSize::All, Some("rack")).unwrap_err();
        assert!(
            error.contains("host bare has no attribute \"rack\""),
            "{error}"
        );
    }

    #[test]
    fn resuming_skips_drained_hosts_and_waits_for_draining_ones_without_asking_again() {
        let batch: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let modes = [
            ("a".to_string(), MaintenanceMode::DRAINED),
            ("b".to_string(), MaintenanceMode::DRAINING),
            ("c".to_string(), MaintenanceMode::SCHEDULED),
        ]
        .into();
        let step = batch_step(&batch, &modes);
        assert_eq!(step.to_drain, vec!["c", "d"]);
        assert_eq!(step.to_wait_for, vec!["b", "c", "d"]);
        let all_drained = batch
            .iter()
            .map(|h| (h.clone(), MaintenanceMode::DRAINED))
            .collect();
        assert!(batch_step(&batch, &all_drained).is_done());
    }
}
