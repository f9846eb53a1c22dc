//! The modules of the `aurora.scheduler` collection, one file each. `ALL` is what the
//! executable dispatches on (`_ansible_module_name`) and what `aurora-ansible docs` documents.

use crate::ansible::AnyModule;

pub mod cron_job;
pub mod host_info;
pub mod host_maintenance;
pub mod instances;
pub mod job;
pub mod job_info;
pub mod job_update;
pub mod quota;
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
];
