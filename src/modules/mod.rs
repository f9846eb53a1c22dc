//! The modules of the `aurora.scheduler` collection, one file each. `ALL` is what the
//! executable dispatches on (`_ansible_module_name`) and what `aurora-ansible docs` documents.

use crate::ansible::AnyModule;

pub mod cron_job;
pub mod fair_share;
pub mod host_info;
pub mod host_maintenance;
pub mod instances;
pub mod job;
pub mod job_info;
pub mod job_update;
pub mod platform;
pub mod quota;
pub mod software_inventory;
pub mod support;

/// Every module, each a unit struct implementing `ansible::Module`.
pub const ALL: &[&dyn AnyModule] = &[
    &job::Job,
    &job_info::JobInfo,
    &job_update::JobUpdate,
    &instances::Instances,
    &quota::Quota,
    &cron_job::CronJob,
    &host_info::HostInfo,
    &host_maintenance::HostMaintenance,
    &platform::Platform,
    &fair_share::FairShare,
    &software_inventory::SoftwareInventory,
];

#[cfg(test)]
mod tests {
    use super::ALL;
    use crate::ansible::{check_sidecar, committed_module_docs_dir, validated_examples};

    #[test]
    fn every_module_sidecar_is_current() {
        for module in ALL {
            if let Err(stale) = check_sidecar(*module, &committed_module_docs_dir()) {
                panic!(
                    "{stale}; run `aurora-ansible docs` and commit plugins/modules/{}.yml",
                    module.name()
                );
            }
        }
    }

    #[test]
    fn every_module_example_is_valid() {
        for module in ALL {
            validated_examples(*module).unwrap_or_else(|e| panic!("{}: {e}", module.name()));
        }
    }
}
