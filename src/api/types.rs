//! Every type of the Aurora scheduler API (api-reference §3), field ids and declaration order as
//! listed there. Rust field names are the IDL names in snake_case; JSON uses the IDL names.

use std::collections::BTreeMap;

use crate::{thrift_enum, thrift_struct, thrift_union};

// ---------------------------------------------------------------------------------------------
// Enums (§3.1)

thrift_enum! {
    /// Outcome of a call.
    pub enum ResponseCode {
        INVALID_REQUEST = 0,
        OK = 1,
        ERROR = 2,
        WARNING = 3,
        AUTH_FAILED = 4,
        JOB_UPDATING_ERROR = 5,
        ERROR_TRANSIENT = 6,
    }
}

thrift_enum! {
    /// State of a task (§3.1, §4.7).
    pub enum ScheduleStatus {
        PENDING = 0,
        STARTING = 1,
        RUNNING = 2,
        FINISHED = 3,
        FAILED = 4,
        KILLED = 5,
        KILLING = 6,
        LOST = 7,
        ASSIGNED = 9,
        INIT = 11,
        RESTARTING = 12,
        PREEMPTING = 13,
        THROTTLED = 16,
        DRAINING = 17,
        PARTITIONED = 18,
    }
}

impl ScheduleStatus {
    /// ACTIVE_STATES (§3.2).
    pub const ACTIVE: &'static [Self] = &[
        Self::ASSIGNED,
        Self::DRAINING,
        Self::KILLING,
        Self::PENDING,
        Self::PREEMPTING,
        Self::RESTARTING,
        Self::RUNNING,
        Self::STARTING,
        Self::PARTITIONED,
        Self::THROTTLED,
    ];
    /// SLAVE_ASSIGNED_STATES (§3.2).
    pub const SLAVE_ASSIGNED: &'static [Self] = &[
        Self::ASSIGNED,
        Self::DRAINING,
        Self::KILLING,
        Self::PREEMPTING,
        Self::RESTARTING,
        Self::RUNNING,
        Self::PARTITIONED,
        Self::STARTING,
    ];
    /// LIVE_STATES (§3.2).
    pub const LIVE: &'static [Self] = &[
        Self::KILLING,
        Self::PREEMPTING,
        Self::RESTARTING,
        Self::DRAINING,
        Self::PARTITIONED,
        Self::RUNNING,
    ];
    /// TERMINAL_STATES (§3.2).
    pub const TERMINAL: &'static [Self] = &[Self::FAILED, Self::FINISHED, Self::KILLED, Self::LOST];

    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }
    pub fn is_slave_assigned(self) -> bool {
        Self::SLAVE_ASSIGNED.contains(&self)
    }
    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }
}

thrift_enum! {
    /// State of a job update (§3.1, §4.6.4).
    pub enum JobUpdateStatus {
        ROLLING_FORWARD = 0,
        ROLLING_BACK = 1,
        ROLL_FORWARD_PAUSED = 2,
        ROLL_BACK_PAUSED = 3,
        ROLLED_FORWARD = 4,
        ROLLED_BACK = 5,
        ABORTED = 6,
        ERROR = 7,
        FAILED = 8,
        ROLL_FORWARD_AWAITING_PULSE = 9,
        ROLL_BACK_AWAITING_PULSE = 10,
    }
}

impl JobUpdateStatus {
    /// ACTIVE_JOB_UPDATE_STATES (§3.2).
    pub const ACTIVE: &'static [Self] = &[
        Self::ROLLING_FORWARD,
        Self::ROLLING_BACK,
        Self::ROLL_FORWARD_PAUSED,
        Self::ROLL_BACK_PAUSED,
        Self::ROLL_FORWARD_AWAITING_PULSE,
        Self::ROLL_BACK_AWAITING_PULSE,
    ];
    /// AWAITNG_PULSE_JOB_UPDATE_STATES (§3.2; the IDL misspells it).
    pub const AWAITING_PULSE: &'static [Self] = &[
        Self::ROLL_FORWARD_AWAITING_PULSE,
        Self::ROLL_BACK_AWAITING_PULSE,
    ];

    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }
    pub fn is_terminal(self) -> bool {
        !self.is_active()
    }
}

thrift_enum! {
    /// What happened to one instance during an update.
    pub enum JobUpdateAction {
        INSTANCE_UPDATED = 1,
        INSTANCE_ROLLED_BACK = 2,
        INSTANCE_UPDATING = 3,
        INSTANCE_ROLLING_BACK = 4,
        INSTANCE_UPDATE_FAILED = 5,
        INSTANCE_ROLLBACK_FAILED = 6,
    }
}

thrift_enum! {
    /// Answer to pulseJobUpdate.
    pub enum JobUpdatePulseStatus {
        OK = 1,
        FINISHED = 2,
    }
}

thrift_enum! {
    /// Maintenance mode of a host (§4.8).
    pub enum MaintenanceMode {
        NONE = 1,
        SCHEDULED = 2,
        DRAINING = 3,
        DRAINED = 4,
    }
}

thrift_enum! {
    /// What a cron run does when the previous run is still active (§4.5).
    pub enum CronCollisionPolicy {
        KILL_EXISTING = 0,
        CANCEL_NEW = 1,
        RUN_OVERLAP = 2,
    }
}

thrift_enum! {
    /// Volume mount mode.
    pub enum Mode {
        RW = 1,
        RO = 2,
    }
}

// ---------------------------------------------------------------------------------------------
// Constants (§3.2)

pub const AURORA_EXECUTOR_NAME: &str = "AuroraExecutor";
pub const GOOD_IDENTIFIER_PATTERN: &str = r"^[\w\-\.]+$";
pub const BYPASS_LEADER_REDIRECT_HEADER_NAME: &str = "Bypass-Leader-Redirect";
pub const TASK_FILESYSTEM_MOUNT_POINT: &str = "taskfs";

// ---------------------------------------------------------------------------------------------
// Reply envelope (§3.3.1)

thrift_struct! {
    /// What every method returns.
    pub struct Response {
        1: response_code: Option<ResponseCode>,
        5: server_info: Option<ServerInfo>,
        3: result: Option<Result>,
        6: details: Option<Vec<ResponseDetail>>,
    }
}

thrift_struct! {
    pub struct ResponseDetail {
        1: message: Option<String>,
    }
}

thrift_struct! {
    pub struct ServerInfo {
        1: cluster_name: Option<String>,
        3: stats_url_prefix: Option<String>,
    }
}

thrift_union! {
    /// The payload of a reply; each method uses at most one member.
    pub enum Result {
        1: PopulateJobResult(PopulateJobResult),
        3: ScheduleStatusResult(ScheduleStatusResult),
        4: GetJobsResult(GetJobsResult),
        5: GetQuotaResult(GetQuotaResult),
        6: ListBackupsResult(ListBackupsResult),
        7: StartMaintenanceResult(StartMaintenanceResult),
        8: DrainHostsResult(DrainHostsResult),
        9: QueryRecoveryResult(QueryRecoveryResult),
        10: MaintenanceStatusResult(MaintenanceStatusResult),
        11: EndMaintenanceResult(EndMaintenanceResult),
        17: RoleSummaryResult(RoleSummaryResult),
        18: JobSummaryResult(JobSummaryResult),
        20: ConfigSummaryResult(ConfigSummaryResult),
        21: GetPendingReasonResult(GetPendingReasonResult),
        22: StartJobUpdateResult(StartJobUpdateResult),
        23: GetJobUpdateSummariesResult(GetJobUpdateSummariesResult),
        24: GetJobUpdateDetailsResult(GetJobUpdateDetailsResult),
        25: PulseJobUpdateResult(PulseJobUpdateResult),
        26: GetJobUpdateDiffResult(GetJobUpdateDiffResult),
        27: GetTierConfigResult(GetTierConfigResult),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys and small shared types (§3.3.2)

thrift_struct! {
    /// Identifies a job: `role/environment/name`.
    #[derive(Eq, Hash, PartialOrd, Ord)]
    pub struct JobKey {
        1: role: Option<String>,
        2: environment: Option<String>,
        3: name: Option<String>,
    }
}

thrift_struct! {
    pub struct InstanceKey {
        1: job_key: Option<JobKey>,
        2: instance_id: i32,
    }
}

thrift_struct! {
    /// Deprecated owner identity; only field 2 remains.
    #[derive(Eq, Hash)]
    pub struct Identity {
        2: user: Option<String>,
    }
}

thrift_struct! {
    #[derive(Eq, Hash, PartialOrd, Ord)]
    pub struct Metadata {
        1: key: Option<String>,
        2: value: Option<String>,
    }
}

thrift_struct! {
    /// Closed instance-id range.
    #[derive(Copy, Eq, Hash, PartialOrd, Ord)]
    pub struct Range {
        1: first: i32,
        2: last: i32,
    }
}

// ---------------------------------------------------------------------------------------------
// Job and task configuration (§3.3.3)

thrift_struct! {
    /// A job: key, task template, instance count, and for cron jobs a schedule.
    pub struct JobConfiguration {
        9: key: Option<JobKey>,
        7: owner: Option<Identity>,
        4: cron_schedule: Option<String>,
        5: cron_collision_policy: Option<CronCollisionPolicy>,
        6: task_config: Option<TaskConfig>,
        8: instance_count: i32,
    }
}

thrift_struct! {
    /// The template of every task of a job.
    pub struct TaskConfig {
        28: job: Option<JobKey>,
        17: owner: Option<Identity>,
        7: is_service: bool,
        11: priority: i32,
        13: max_task_failures: i32,
        18: production: Option<bool>,
        30: tier: Option<String>,
        32: resources: Option<Vec<Resource>> as set,
        20: constraints: Option<Vec<Constraint>> as set,
        33: mesos_fetcher_uris: Option<Vec<MesosFetcherUri>> as set,
        22: task_links: Option<BTreeMap<String, String>>,
        23: contact_email: Option<String>,
        25: executor_config: Option<ExecutorConfig>,
        27: metadata: Option<Vec<Metadata>> as set,
        34: partition_policy: Option<PartitionPolicy>,
        35: sla_policy: Option<SlaPolicy>,
        29: container: Option<Container>,
    }
}

thrift_struct! {
    pub struct ExecutorConfig {
        1: name: Option<String>,
        2: data: Option<String>,
    }
}

thrift_union! {
    /// One resource of a task.
    pub enum Resource {
        1: NumCpus(f64),
        2: RamMb(i64),
        3: DiskMb(i64),
        4: NamedPort(String),
        5: NumGpus(i64),
    }
}

thrift_struct! {
    /// A placement constraint on a host attribute.
    pub struct Constraint {
        1: name: Option<String>,
        2: constraint: Option<TaskConstraint>,
    }
}

thrift_union! {
    pub enum TaskConstraint {
        1: Value(ValueConstraint),
        2: Limit(LimitConstraint),
    }
}

thrift_struct! {
    pub struct ValueConstraint {
        1: negated: bool,
        2: values: Option<Vec<String>> as set,
    }
}

thrift_struct! {
    pub struct LimitConstraint {
        1: limit: i32,
    }
}

thrift_struct! {
    pub struct MesosFetcherUri {
        1: value: Option<String>,
        2: extract: Option<bool>,
        3: cache: Option<bool>,
        4: output_file: Option<String>,
    }
}

thrift_union! {
    pub enum Container {
        1: Mesos(MesosContainer),
        2: Docker(DockerContainer),
    }
}

thrift_struct! {
    pub struct MesosContainer {
        1: image: Option<Image>,
        2: volumes: Option<Vec<Volume>>,
    }
}

thrift_struct! {
    pub struct DockerContainer {
        1: image: Option<String>,
        2: parameters: Option<Vec<DockerParameter>>,
    }
}

thrift_struct! {
    pub struct DockerParameter {
        1: name: Option<String>,
        2: value: Option<String>,
    }
}

thrift_union! {
    pub enum Image {
        1: Docker(DockerImage),
        2: Appc(AppcImage),
    }
}

thrift_struct! {
    pub struct DockerImage {
        1: name: Option<String>,
        2: tag: Option<String>,
    }
}

thrift_struct! {
    pub struct AppcImage {
        1: name: Option<String>,
        2: image_id: Option<String>,
    }
}

thrift_struct! {
    pub struct Volume {
        1: container_path: Option<String>,
        2: host_path: Option<String>,
        3: mode: Option<Mode>,
    }
}

thrift_struct! {
    pub struct PartitionPolicy {
        1: reschedule: bool,
        2: delay_secs: Option<i64>,
    }
}

thrift_union! {
    /// How many instances of a job must stay up during maintenance and SLA-aware updates.
    pub enum SlaPolicy {
        1: PercentageSlaPolicy(PercentageSlaPolicy),
        2: CountSlaPolicy(CountSlaPolicy),
        3: CoordinatorSlaPolicy(CoordinatorSlaPolicy),
    }
}

thrift_struct! {
    pub struct PercentageSlaPolicy {
        1: percentage: f64,
        2: duration_secs: i64,
    }
}

thrift_struct! {
    pub struct CountSlaPolicy {
        1: count: i64,
        2: duration_secs: i64,
    }
}

thrift_struct! {
    pub struct CoordinatorSlaPolicy {
        1: coordinator_url: Option<String>,
        2: status_key: Option<String>,
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks, queries and job summaries (§3.3.4)

thrift_struct! {
    pub struct ScheduledTask {
        1: assigned_task: Option<AssignedTask>,
        2: status: Option<ScheduleStatus>,
        3: failure_count: i32,
        6: times_partitioned: i32,
        4: task_events: Option<Vec<TaskEvent>>,
        5: ancestor_id: Option<String>,
    }
}

thrift_struct! {
    pub struct AssignedTask {
        1: task_id: Option<String>,
        2: slave_id: Option<String>,
        3: slave_host: Option<String>,
        4: task: Option<TaskConfig>,
        5: assigned_ports: Option<BTreeMap<String, i32>>,
        6: instance_id: i32,
    }
}

thrift_struct! {
    pub struct TaskEvent {
        1: timestamp: i64,
        2: status: Option<ScheduleStatus>,
        3: message: Option<String>,
        4: scheduler: Option<String>,
    }
}

thrift_struct! {
    /// A filter over tasks; unset terms do not filter.
    pub struct TaskQuery {
        14: role: Option<String>,
        9: environment: Option<String>,
        2: job_name: Option<String>,
        4: task_ids: Option<Vec<String>> as set,
        5: statuses: Option<Vec<ScheduleStatus>> as set,
        7: instance_ids: Option<Vec<i32>> as set,
        10: slave_hosts: Option<Vec<String>> as set,
        11: job_keys: Option<Vec<JobKey>> as set,
        12: offset: Option<i32>,
        13: limit: Option<i32>,
    }
}

thrift_struct! {
    pub struct JobSummary {
        1: job: Option<JobConfiguration>,
        2: stats: Option<JobStats>,
        3: next_cron_run_ms: Option<i64>,
    }
}

thrift_struct! {
    pub struct JobStats {
        1: active_task_count: i32,
        2: finished_task_count: i32,
        3: failed_task_count: i32,
        4: pending_task_count: i32,
    }
}

thrift_struct! {
    pub struct RoleSummary {
        1: role: Option<String>,
        2: job_count: i32,
        3: cron_job_count: i32,
    }
}

thrift_struct! {
    pub struct ConfigSummary {
        1: key: Option<JobKey>,
        2: groups: Option<Vec<ConfigGroup>> as set,
    }
}

thrift_struct! {
    pub struct ConfigGroup {
        1: config: Option<TaskConfig>,
        3: instances: Option<Vec<Range>> as set,
    }
}

thrift_struct! {
    pub struct PendingReason {
        1: task_id: Option<String>,
        2: reason: Option<String>,
    }
}

// ---------------------------------------------------------------------------------------------
// Quota and tiers (§3.3.5)

thrift_struct! {
    pub struct ResourceAggregate {
        4: resources: Option<Vec<Resource>> as set,
    }
}

thrift_struct! {
    pub struct GetQuotaResult {
        1: quota: Option<ResourceAggregate>,
        2: prod_shared_consumption: Option<ResourceAggregate>,
        3: non_prod_shared_consumption: Option<ResourceAggregate>,
        4: prod_dedicated_consumption: Option<ResourceAggregate>,
        5: non_prod_dedicated_consumption: Option<ResourceAggregate>,
    }
}

thrift_struct! {
    pub struct TierConfig {
        1: name: Option<String>,
        2: settings: Option<BTreeMap<String, String>>,
    }
}

thrift_struct! {
    pub struct GetTierConfigResult {
        1: default_tier_name: Option<String>,
        2: tiers: Option<Vec<TierConfig>> as set,
    }
}

// ---------------------------------------------------------------------------------------------
// Host maintenance (§3.3.6)

thrift_struct! {
    pub struct Hosts {
        1: host_names: Option<Vec<String>> as set,
    }
}

thrift_struct! {
    pub struct HostStatus {
        1: host: Option<String>,
        2: mode: Option<MaintenanceMode>,
    }
}

thrift_struct! {
    /// Internal/storage shape; not returned by any call.
    pub struct HostAttributes {
        1: host: Option<String>,
        2: attributes: Option<Vec<Attribute>> as set,
        3: mode: Option<MaintenanceMode>,
        4: slave_id: Option<String>,
    }
}

thrift_struct! {
    pub struct Attribute {
        1: name: Option<String>,
        2: values: Option<Vec<String>> as set,
    }
}

thrift_struct! {
    /// Internal record of a drain request; not returned by any call.
    pub struct HostMaintenanceRequest {
        1: host: Option<String>,
        2: default_sla_policy: Option<SlaPolicy>,
        3: timeout_secs: i64,
        4: created_timestamp_ms: i64,
    }
}

// ---------------------------------------------------------------------------------------------
// Job updates (§3.3.7)

thrift_struct! {
    #[derive(Eq, Hash, PartialOrd, Ord)]
    pub struct JobUpdateKey {
        1: job: Option<JobKey>,
        2: id: Option<String>,
    }
}

thrift_struct! {
    pub struct JobUpdateRequest {
        1: task_config: Option<TaskConfig>,
        2: instance_count: i32,
        3: settings: Option<JobUpdateSettings>,
        4: metadata: Option<Vec<Metadata>> as set,
    }
}

thrift_struct! {
    pub struct JobUpdateSettings {
        1: update_group_size: i32,
        2: max_per_instance_failures: i32,
        3: max_failed_instances: i32,
        5: min_wait_in_instance_running_ms: i32,
        6: rollback_on_failure: bool,
        7: update_only_these_instances: Option<Vec<Range>> as set,
        8: wait_for_batch_completion: bool,
        9: block_if_no_pulses_after_ms: Option<i32>,
        10: sla_aware: Option<bool>,
        11: update_strategy: Option<JobUpdateStrategy>,
    }
}

thrift_union! {
    pub enum JobUpdateStrategy {
        1: QueueStrategy(QueueJobUpdateStrategy),
        2: BatchStrategy(BatchJobUpdateStrategy),
        3: VarBatchStrategy(VariableBatchJobUpdateStrategy),
    }
}

thrift_struct! {
    pub struct QueueJobUpdateStrategy {
        1: group_size: i32,
    }
}

thrift_struct! {
    pub struct BatchJobUpdateStrategy {
        1: group_size: i32,
        2: autopause_after_batch: bool,
    }
}

thrift_struct! {
    pub struct VariableBatchJobUpdateStrategy {
        1: group_sizes: Option<Vec<i32>>,
        2: autopause_after_batch: bool,
    }
}

thrift_struct! {
    /// A filter over updates. Fields have default requiredness: offset and limit always travel.
    pub struct JobUpdateQuery {
        2: role: Option<String>,
        8: key: Option<JobUpdateKey>,
        3: job_key: Option<JobKey>,
        4: user: Option<String>,
        5: update_statuses: Option<Vec<JobUpdateStatus>> as set,
        6: offset: i32,
        7: limit: i32,
    }
}

thrift_struct! {
    pub struct JobUpdateSummary {
        5: key: Option<JobUpdateKey>,
        3: user: Option<String>,
        4: state: Option<JobUpdateState>,
        6: metadata: Option<Vec<Metadata>> as set,
    }
}

thrift_struct! {
    pub struct JobUpdateState {
        1: status: Option<JobUpdateStatus>,
        2: created_timestamp_ms: i64,
        3: last_modified_timestamp_ms: i64,
    }
}

thrift_struct! {
    pub struct JobUpdate {
        1: summary: Option<JobUpdateSummary>,
        2: instructions: Option<JobUpdateInstructions>,
    }
}

thrift_struct! {
    pub struct JobUpdateInstructions {
        1: initial_state: Option<Vec<InstanceTaskConfig>> as set,
        2: desired_state: Option<InstanceTaskConfig>,
        3: settings: Option<JobUpdateSettings>,
    }
}

thrift_struct! {
    pub struct InstanceTaskConfig {
        1: task: Option<TaskConfig>,
        2: instances: Option<Vec<Range>> as set,
    }
}

thrift_struct! {
    pub struct JobUpdateDetails {
        1: update: Option<JobUpdate>,
        2: update_events: Option<Vec<JobUpdateEvent>>,
        3: instance_events: Option<Vec<JobInstanceUpdateEvent>>,
    }
}

thrift_struct! {
    pub struct JobUpdateEvent {
        1: status: Option<JobUpdateStatus>,
        2: timestamp_ms: i64,
        3: user: Option<String>,
        4: message: Option<String>,
    }
}

thrift_struct! {
    pub struct JobInstanceUpdateEvent {
        1: instance_id: i32,
        2: timestamp_ms: i64,
        3: action: Option<JobUpdateAction>,
        4: message: Option<String>,
    }
}

// ---------------------------------------------------------------------------------------------
// Result payloads (§3.3.8)

thrift_struct! {
    pub struct PopulateJobResult {
        2: task_config: Option<TaskConfig>,
    }
}

thrift_struct! {
    pub struct ScheduleStatusResult {
        1: tasks: Option<Vec<ScheduledTask>>,
    }
}

thrift_struct! {
    pub struct GetJobsResult {
        1: configs: Option<Vec<JobConfiguration>> as set,
    }
}

thrift_struct! {
    pub struct ListBackupsResult {
        1: backups: Option<Vec<String>> as set,
    }
}

thrift_struct! {
    pub struct StartMaintenanceResult {
        1: statuses: Option<Vec<HostStatus>> as set,
    }
}

thrift_struct! {
    pub struct DrainHostsResult {
        1: statuses: Option<Vec<HostStatus>> as set,
    }
}

thrift_struct! {
    pub struct QueryRecoveryResult {
        1: tasks: Option<Vec<ScheduledTask>> as set,
    }
}

thrift_struct! {
    pub struct MaintenanceStatusResult {
        1: statuses: Option<Vec<HostStatus>> as set,
    }
}

thrift_struct! {
    pub struct EndMaintenanceResult {
        1: statuses: Option<Vec<HostStatus>> as set,
    }
}

thrift_struct! {
    pub struct RoleSummaryResult {
        1: summaries: Option<Vec<RoleSummary>> as set,
    }
}

thrift_struct! {
    pub struct JobSummaryResult {
        1: summaries: Option<Vec<JobSummary>> as set,
    }
}

thrift_struct! {
    pub struct ConfigSummaryResult {
        1: summary: Option<ConfigSummary>,
    }
}

thrift_struct! {
    pub struct GetPendingReasonResult {
        1: reasons: Option<Vec<PendingReason>> as set,
    }
}

thrift_struct! {
    pub struct StartJobUpdateResult {
        1: key: Option<JobUpdateKey>,
        2: update_summary: Option<JobUpdateSummary>,
    }
}

thrift_struct! {
    pub struct GetJobUpdateSummariesResult {
        1: update_summaries: Option<Vec<JobUpdateSummary>>,
    }
}

thrift_struct! {
    pub struct GetJobUpdateDetailsResult {
        1: details: Option<JobUpdateDetails>,
        2: details_list: Option<Vec<JobUpdateDetails>>,
    }
}

thrift_struct! {
    pub struct PulseJobUpdateResult {
        1: status: Option<JobUpdatePulseStatus>,
    }
}

thrift_struct! {
    pub struct GetJobUpdateDiffResult {
        1: add: Option<Vec<ConfigGroup>> as set,
        2: remove: Option<Vec<ConfigGroup>> as set,
        3: update: Option<Vec<ConfigGroup>> as set,
        4: unchanged: Option<Vec<ConfigGroup>> as set,
    }
}

// ---------------------------------------------------------------------------------------------
// Admin-only and legacy types (§3.3.9)

thrift_struct! {
    pub struct ExplicitReconciliationSettings {
        1: batch_size: Option<i32>,
    }
}

thrift_struct! {
    /// Legacy; referenced by no method.
    pub struct Package {
        1: role: Option<String>,
        2: name: Option<String>,
        3: version: i32,
    }
}

thrift_union! {
    /// Deprecated legacy union.
    pub enum LockKey {
        1: Job(JobKey),
    }
}

thrift_struct! {
    /// Deprecated legacy struct.
    pub struct Lock {
        1: key: Option<LockKey>,
        2: token: Option<String>,
        3: user: Option<String>,
        4: timestamp_ms: i64,
        5: message: Option<String>,
    }
}
