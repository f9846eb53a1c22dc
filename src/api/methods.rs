//! The scheduler's methods (api-reference §2): one argument struct per method, named after it,
//! with the argument ids of the IDL, and `Call`, the decoded form of any incoming call.
//!
//! Every method returns `Response`, carried in field 0 of its `<method>_result` struct.
//!
//! The table below is also the one place that says whether a method reads or writes. That is
//! decided by what the method does, not by the service declaring it: the admin service has reads
//! (`maintenanceStatus`, `listBackups`, `queryRecovery`) that are as safe to repeat as any
//! `ReadOnlyScheduler` call, and the client retries them the same way.

use crate::api::types::*;
use crate::thrift_struct;

/// The service that declares a method, which decides the permission it needs (§1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// No authentication needed.
    ReadOnly,
    /// `thrift.AuroraSchedulerManager:<method>:<role>:<env>:<name>`.
    SchedulerManager,
    /// `thrift.AuroraAdmin:<method>`.
    Admin,
}

/// What a method does to the scheduler's state, which decides how the client may repeat it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Changes nothing: safe to send again after any failure (§1.7).
    Read,
    /// Changes state: sent again only when the scheduler certainly did not act on it.
    Write,
}

/// A method's argument struct.
pub trait Method: crate::api::wire::Wire {
    /// The method name that travels in the message header.
    const NAME: &'static str;
    const SERVICE: Service;
    const EFFECT: Effect;

    /// Read-only calls may be repeated after a transport error; writes never are (§1.7).
    fn is_read_only() -> bool {
        Self::EFFECT == Effect::Read
    }
}

thrift_struct! {
    /// The `<method>_result` struct: one field, id 0, the Response.
    pub struct MethodResult {
        0: success: Option<Response>,
    }
}

macro_rules! methods {
    ( $( $service:ident $effect:ident $method:literal $name:ident { $($fields:tt)* } )* ) => {
        $(
            thrift_struct! {
                #[doc = concat!("Arguments of `", $method, "`.")]
                pub struct $name { $($fields)* }
            }

            impl Method for $name {
                const NAME: &'static str = $method;
                const SERVICE: Service = Service::$service;
                const EFFECT: Effect = Effect::$effect;
            }
        )*

        /// A decoded call of any method.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Call {
            $( $name($name), )*
        }

        impl Call {
            /// Decodes the arguments of method `name`; `None` when no such method exists.
            pub fn read(
                name: &str,
                i: &mut dyn ::thrift::protocol::TInputProtocol,
            ) -> Option<::thrift::Result<Call>> {
                use crate::api::wire::Wire;
                match name {
                    $( $method => Some($name::read(i).map(Call::$name)), )*
                    _ => None,
                }
            }

            pub fn name(&self) -> &'static str {
                match self {
                    $( Call::$name(_) => $method, )*
                }
            }

            pub fn service(&self) -> Service {
                match self {
                    $( Call::$name(_) => Service::$service, )*
                }
            }
        }

        /// Every method: name and declaring service.
        pub const METHODS: &[(&str, Service)] = &[ $( ($method, Service::$service), )* ];

        /// Every method: name and what it does.
        pub const EFFECTS: &[(&str, Effect)] = &[ $( ($method, Effect::$effect), )* ];
    };
}

// Each line: declaring service, what the method does (Read or Write), wire name, argument struct.
methods! {
    // ReadOnlyScheduler (§2.2)
    ReadOnly Read "getRoleSummary" GetRoleSummary {}
    ReadOnly Read "getJobSummary" GetJobSummary { 1: role: Option<String> }
    ReadOnly Read "getTasksStatus" GetTasksStatus { 1: query: Option<TaskQuery> }
    ReadOnly Read "getTasksWithoutConfigs" GetTasksWithoutConfigs { 1: query: Option<TaskQuery> }
    ReadOnly Read "getPendingReason" GetPendingReason { 1: query: Option<TaskQuery> }
    ReadOnly Read "getConfigSummary" GetConfigSummary { 1: job: Option<JobKey> }
    ReadOnly Read "getJobs" GetJobs { 1: owner_role: Option<String> }
    ReadOnly Read "getQuota" GetQuota { 1: owner_role: Option<String> }
    ReadOnly Read "populateJobConfig" PopulateJobConfig { 1: description: Option<JobConfiguration> }
    ReadOnly Read "getJobUpdateSummaries" GetJobUpdateSummaries { 1: job_update_query: Option<JobUpdateQuery> }
    ReadOnly Read "getJobUpdateDetails" GetJobUpdateDetails {
        1: key: Option<JobUpdateKey>,
        2: query: Option<JobUpdateQuery>,
    }
    ReadOnly Read "getJobUpdateDiff" GetJobUpdateDiff { 1: request: Option<JobUpdateRequest> }
    ReadOnly Read "getTierConfigs" GetTierConfigs {}

    // AuroraSchedulerManager (§2.3)
    SchedulerManager Write "createJob" CreateJob { 1: description: Option<JobConfiguration> }
    SchedulerManager Write "scheduleCronJob" ScheduleCronJob { 1: description: Option<JobConfiguration> }
    SchedulerManager Write "descheduleCronJob" DescheduleCronJob { 4: job: Option<JobKey> }
    SchedulerManager Write "startCronJob" StartCronJob { 4: job: Option<JobKey> }
    SchedulerManager Write "restartShards" RestartShards {
        5: job: Option<JobKey>,
        3: shard_ids: Option<Vec<i32>> as set,
    }
    SchedulerManager Write "killTasks" KillTasks {
        4: job: Option<JobKey>,
        5: instances: Option<Vec<i32>> as set,
        6: message: Option<String>,
    }
    SchedulerManager Write "addInstances" AddInstances {
        3: key: Option<InstanceKey>,
        4: count: i32,
    }
    SchedulerManager Write "replaceCronTemplate" ReplaceCronTemplate { 1: config: Option<JobConfiguration> }
    SchedulerManager Write "startJobUpdate" StartJobUpdate {
        1: request: Option<JobUpdateRequest>,
        3: message: Option<String>,
    }
    SchedulerManager Write "pauseJobUpdate" PauseJobUpdate {
        1: key: Option<JobUpdateKey>,
        3: message: Option<String>,
    }
    SchedulerManager Write "resumeJobUpdate" ResumeJobUpdate {
        1: key: Option<JobUpdateKey>,
        3: message: Option<String>,
    }
    SchedulerManager Write "abortJobUpdate" AbortJobUpdate {
        1: key: Option<JobUpdateKey>,
        3: message: Option<String>,
    }
    SchedulerManager Write "rollbackJobUpdate" RollbackJobUpdate {
        1: key: Option<JobUpdateKey>,
        2: message: Option<String>,
    }
    SchedulerManager Write "pulseJobUpdate" PulseJobUpdate { 1: key: Option<JobUpdateKey> }

    // AuroraAdmin (§2.4)
    Admin Write "setQuota" SetQuota {
        1: owner_role: Option<String>,
        2: quota: Option<ResourceAggregate>,
    }
    Admin Write "forceTaskState" ForceTaskState {
        1: task_id: Option<String>,
        2: status: Option<ScheduleStatus>,
    }
    Admin Write "performBackup" PerformBackup {}
    Admin Read "listBackups" ListBackups {}
    Admin Write "stageRecovery" StageRecovery { 1: backup_id: Option<String> }
    Admin Read "queryRecovery" QueryRecovery { 1: query: Option<TaskQuery> }
    Admin Write "deleteRecoveryTasks" DeleteRecoveryTasks { 1: query: Option<TaskQuery> }
    Admin Write "commitRecovery" CommitRecovery {}
    Admin Write "unloadRecovery" UnloadRecovery {}
    Admin Write "startMaintenance" StartMaintenance { 1: hosts: Option<Hosts> }
    Admin Write "drainHosts" DrainHosts { 1: hosts: Option<Hosts> }
    Admin Read "maintenanceStatus" MaintenanceStatus { 1: hosts: Option<Hosts> }
    Admin Write "endMaintenance" EndMaintenance { 1: hosts: Option<Hosts> }
    Admin Write "slaDrainHosts" SlaDrainHosts {
        1: hosts: Option<Hosts>,
        2: default_sla_policy: Option<SlaPolicy>,
        3: timeout_secs: i64,
    }
    Admin Write "snapshot" Snapshot {}
    Admin Write "triggerExplicitTaskReconciliation" TriggerExplicitTaskReconciliation {
        1: settings: Option<ExplicitReconciliationSettings>,
    }
    Admin Write "triggerImplicitTaskReconciliation" TriggerImplicitTaskReconciliation {}
    Admin Write "pruneTasks" PruneTasks { 1: query: Option<TaskQuery> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_of_the_three_services_is_declared() {
        let count = |s| METHODS.iter().filter(|(_, svc)| *svc == s).count();
        assert_eq!(
            count(Service::ReadOnly),
            13,
            "§2.2 lists 13 read-only methods"
        );
        assert_eq!(
            count(Service::SchedulerManager),
            14,
            "§2.3 lists 14 methods"
        );
        assert_eq!(count(Service::Admin), 18, "§2.4 lists 18 methods");
    }

    fn effect_of(name: &str) -> Option<Effect> {
        EFFECTS.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
    }

    #[test]
    fn every_method_is_classified_as_read_or_write_once() {
        assert_eq!(EFFECTS.len(), METHODS.len());
        let mut names: Vec<&str> = EFFECTS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METHODS.len(), "each method once");
        for (name, _) in METHODS {
            assert!(effect_of(name).is_some(), "{name} is not classified");
        }
    }

    #[test]
    fn every_read_only_scheduler_method_is_a_read() {
        for (name, service) in METHODS {
            if *service == Service::ReadOnly {
                assert_eq!(effect_of(name), Some(Effect::Read), "{name}");
            }
        }
    }

    #[test]
    fn the_admin_reads_are_reads_and_every_other_admin_or_manager_method_a_write() {
        // client-reference §5 (aurora_admin host_status, scheduler_list_backups,
        // scheduler_print_recovery_tasks): these admin calls only report.
        let admin_reads = ["maintenanceStatus", "listBackups", "queryRecovery"];
        for (name, service) in METHODS {
            let want = if *service == Service::ReadOnly || admin_reads.contains(name) {
                Effect::Read
            } else {
                Effect::Write
            };
            assert_eq!(effect_of(name), Some(want), "{name} ({service:?})");
        }
        assert!(MaintenanceStatus::is_read_only());
        assert!(GetQuota::is_read_only());
        assert!(!SetQuota::is_read_only());
        assert!(!DrainHosts::is_read_only());
        assert!(
            !PulseJobUpdate::is_read_only(),
            "a pulse changes the update's state"
        );
        assert!(!RestartShards::is_read_only(), "restarts tasks");
    }

    #[test]
    fn reads_and_writes_add_up_to_every_method() {
        let reads = EFFECTS.iter().filter(|(_, e)| *e == Effect::Read).count();
        let writes = EFFECTS.iter().filter(|(_, e)| *e == Effect::Write).count();
        assert_eq!((reads, writes), (13 + 3, 14 + 15));
    }
}
