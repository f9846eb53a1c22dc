//! The scheduler's methods (api-reference §2): one argument struct per method, named after it,
//! with the argument ids of the IDL, and `Call`, the decoded form of any incoming call.
//!
//! Every method returns `Response`, carried in field 0 of its `<method>_result` struct.

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

/// A method's argument struct.
pub trait Method: crate::api::wire::Wire {
    /// The method name that travels in the message header.
    const NAME: &'static str;
    const SERVICE: Service;

    /// Read-only calls may be repeated after a transport error; writes never are (§1.7).
    fn is_read_only() -> bool {
        Self::SERVICE == Service::ReadOnly
    }
}

thrift_struct! {
    /// The `<method>_result` struct: one field, id 0, the Response.
    pub struct MethodResult {
        0: success: Option<Response>,
    }
}

macro_rules! methods {
    ( $( $service:ident $method:literal $name:ident { $($fields:tt)* } )* ) => {
        $(
            thrift_struct! {
                #[doc = concat!("Arguments of `", $method, "`.")]
                pub struct $name { $($fields)* }
            }

            impl Method for $name {
                const NAME: &'static str = $method;
                const SERVICE: Service = Service::$service;
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
    };
}

methods! {
    // ReadOnlyScheduler (§2.2)
    ReadOnly "getRoleSummary" GetRoleSummary {}
    ReadOnly "getJobSummary" GetJobSummary { 1: role: Option<String> }
    ReadOnly "getTasksStatus" GetTasksStatus { 1: query: Option<TaskQuery> }
    ReadOnly "getTasksWithoutConfigs" GetTasksWithoutConfigs { 1: query: Option<TaskQuery> }
    ReadOnly "getPendingReason" GetPendingReason { 1: query: Option<TaskQuery> }
    ReadOnly "getConfigSummary" GetConfigSummary { 1: job: Option<JobKey> }
    ReadOnly "getJobs" GetJobs { 1: owner_role: Option<String> }
    ReadOnly "getQuota" GetQuota { 1: owner_role: Option<String> }
    ReadOnly "populateJobConfig" PopulateJobConfig { 1: description: Option<JobConfiguration> }
    ReadOnly "getJobUpdateSummaries" GetJobUpdateSummaries { 1: job_update_query: Option<JobUpdateQuery> }
    ReadOnly "getJobUpdateDetails" GetJobUpdateDetails {
        1: key: Option<JobUpdateKey>,
        2: query: Option<JobUpdateQuery>,
    }
    ReadOnly "getJobUpdateDiff" GetJobUpdateDiff { 1: request: Option<JobUpdateRequest> }
    ReadOnly "getTierConfigs" GetTierConfigs {}

    // AuroraSchedulerManager (§2.3)
    SchedulerManager "createJob" CreateJob { 1: description: Option<JobConfiguration> }
    SchedulerManager "scheduleCronJob" ScheduleCronJob { 1: description: Option<JobConfiguration> }
    SchedulerManager "descheduleCronJob" DescheduleCronJob { 4: job: Option<JobKey> }
    SchedulerManager "startCronJob" StartCronJob { 4: job: Option<JobKey> }
    SchedulerManager "restartShards" RestartShards {
        5: job: Option<JobKey>,
        3: shard_ids: Option<Vec<i32>> as set,
    }
    SchedulerManager "killTasks" KillTasks {
        4: job: Option<JobKey>,
        5: instances: Option<Vec<i32>> as set,
        6: message: Option<String>,
    }
    SchedulerManager "addInstances" AddInstances {
        3: key: Option<InstanceKey>,
        4: count: i32,
    }
    SchedulerManager "replaceCronTemplate" ReplaceCronTemplate { 1: config: Option<JobConfiguration> }
    SchedulerManager "startJobUpdate" StartJobUpdate {
        1: request: Option<JobUpdateRequest>,
        3: message: Option<String>,
    }
    SchedulerManager "pauseJobUpdate" PauseJobUpdate {
        1: key: Option<JobUpdateKey>,
        3: message: Option<String>,
    }
    SchedulerManager "resumeJobUpdate" ResumeJobUpdate {
        1: key: Option<JobUpdateKey>,
        3: message: Option<String>,
    }
    SchedulerManager "abortJobUpdate" AbortJobUpdate {
        1: key: Option<JobUpdateKey>,
        3: message: Option<String>,
    }
    SchedulerManager "rollbackJobUpdate" RollbackJobUpdate {
        1: key: Option<JobUpdateKey>,
        2: message: Option<String>,
    }
    SchedulerManager "pulseJobUpdate" PulseJobUpdate { 1: key: Option<JobUpdateKey> }

    // AuroraAdmin (§2.4)
    Admin "setQuota" SetQuota {
        1: owner_role: Option<String>,
        2: quota: Option<ResourceAggregate>,
    }
    Admin "forceTaskState" ForceTaskState {
        1: task_id: Option<String>,
        2: status: Option<ScheduleStatus>,
    }
    Admin "performBackup" PerformBackup {}
    Admin "listBackups" ListBackups {}
    Admin "stageRecovery" StageRecovery { 1: backup_id: Option<String> }
    Admin "queryRecovery" QueryRecovery { 1: query: Option<TaskQuery> }
    Admin "deleteRecoveryTasks" DeleteRecoveryTasks { 1: query: Option<TaskQuery> }
    Admin "commitRecovery" CommitRecovery {}
    Admin "unloadRecovery" UnloadRecovery {}
    Admin "startMaintenance" StartMaintenance { 1: hosts: Option<Hosts> }
    Admin "drainHosts" DrainHosts { 1: hosts: Option<Hosts> }
    Admin "maintenanceStatus" MaintenanceStatus { 1: hosts: Option<Hosts> }
    Admin "endMaintenance" EndMaintenance { 1: hosts: Option<Hosts> }
    Admin "slaDrainHosts" SlaDrainHosts {
        1: hosts: Option<Hosts>,
        2: default_sla_policy: Option<SlaPolicy>,
        3: timeout_secs: i64,
    }
    Admin "snapshot" Snapshot {}
    Admin "triggerExplicitTaskReconciliation" TriggerExplicitTaskReconciliation {
        1: settings: Option<ExplicitReconciliationSettings>,
    }
    Admin "triggerImplicitTaskReconciliation" TriggerImplicitTaskReconciliation {}
    Admin "pruneTasks" PruneTasks { 1: query: Option<TaskQuery> }
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
}
