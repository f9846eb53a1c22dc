//! The scheduler's job update calls (api-reference §4.6): the checks of startJobUpdate that need the
//! job's tasks, quota and the update store, then the calls handed to the updater.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cron_calls::{CRON_NOT_DIFFABLE, CRON_NOT_UPDATABLE};
use super::{error, invalid, Aggregate, Reply, Scheduler};
use crate::api::methods::StartJobUpdate;
use crate::api::types::{
    GetJobUpdateDetailsResult, GetJobUpdateSummariesResult, JobKey, JobUpdateKey, JobUpdateQuery,
    JobUpdateRequest, JobUpdateStatus, JobUpdateSummary, PulseJobUpdateResult, Response,
    ResponseCode, Result as Payload, StartJobUpdateResult, TaskConfig,
};
use crate::sim::cluster::Demand;
use crate::sim::update_request::{check_diff_request, check_start_request, JobDiff};
use crate::sim::updater::UserAction;

/// Messages of update calls are capped (§4.6.1).
const MAX_MESSAGE_CHARS: usize = 1024;
const NOOP_UPDATE_MESSAGE: &str = "Job is unchanged by proposed update.";
const DEPRECATED_KEY_MESSAGE: &str =
    "The key argument is deprecated, use the query argument instead";

/// Why startJobUpdate did not start an update.
enum StartRefusal {
    Refused(ResponseCode, String),
    /// Another update of the job is active: its summary goes back with the refusal.
    Conflict(Box<JobUpdateSummary>),
}

impl From<(ResponseCode, String)> for StartRefusal {
    fn from((code, message): (ResponseCode, String)) -> Self {
        StartRefusal::Refused(code, message)
    }
}

fn check_message(message: &Option<String>) -> Result<(), (ResponseCode, String)> {
    match message {
        Some(m) if m.chars().count() > MAX_MESSAGE_CHARS => Err(error(format!(
            "The message is {} characters long; update messages may have at most {MAX_MESSAGE_CHARS}",
            m.chars().count()
        ))),
        _ => Ok(()),
    }
}

pub(super) fn is_production_shared(config: &TaskConfig) -> bool {
    config.production.unwrap_or(false)
        && !config
            .constraints
            .iter()
            .flatten()
            .any(|c| c.name.as_deref() == Some("dedicated"))
}

impl Scheduler {
    /// startJobUpdate (§4.6.1): the reply of a conflict is INVALID_REQUEST *with* a result.
    pub(super) fn start_job_update(&mut self, a: StartJobUpdate, user: &str) -> Response {
        let (code, result, details) = match self.try_start_update(a.request, a.message, user) {
            Ok(summary) => (ResponseCode::OK, Some(summary), vec![]),
            Err(StartRefusal::Refused(code, message)) => (code, None, vec![message]),
            Err(StartRefusal::Conflict(summary)) => {
                let message = format!(
                    "An active update already exists for this job, please terminate it before starting another. Active updates are those in states {:?}",
                    JobUpdateStatus::ACTIVE
                );
                (ResponseCode::INVALID_REQUEST, Some(*summary), vec![message])
            }
        };
        self.settle();
        let result = result.map(|summary| {
            Payload::StartJobUpdateResult(StartJobUpdateResult {
                key: summary.key.clone(),
                update_summary: Some(summary),
            })
        });
        self.reply(code, result, details)
    }

    fn try_start_update(
        &mut self,
        request: Option<JobUpdateRequest>,
        message: Option<String>,
        user: &str,
    ) -> Result<JobUpdateSummary, StartRefusal> {
        check_message(&message)?;
        let proposal = check_start_request(request, &self.flags)?;
        let job = proposal.job.clone();
        self.refuse_cron_job(&job, CRON_NOT_UPDATABLE)?;
        let config = Arc::new(proposal.config.clone());
        let current = self.current_configs(&job);
        let count = proposal.instance_count;
        let strays = JobDiff::out_of_scope(&proposal.scope, &current, count);
        if !strays.is_empty() {
            return Err(invalid(format!(
                "The update request attempted to update specific instances, but some are irrelevant to the update and current job state: {strays:?} (job {job} has instances {:?}, the update asks for 0 to {})",
                current.keys().collect::<Vec<_>>(),
                count - 1
            ))
            .into());
        }
        let diff = JobDiff::compute(&current, &config, count, &proposal.scope);
        if diff.is_noop() {
            return Err(StartRefusal::Refused(
                ResponseCode::OK,
                NOOP_UPDATE_MESSAGE.into(),
            ));
        }
        self.check_instance_count(count)?;
        self.check_update_quota(&job, &config, &diff)?;
        if let Some(active) = self.updates.active_summary(&job) {
            return Err(StartRefusal::Conflict(Box::new(active)));
        }
        let id = self.ids.uuid().to_string();
        Ok(self
            .updates
            .start(proposal, diff, id, user, message, self.now))
    }

    /// The configs of the job's active tasks by instance (the newest task of an instance wins).
    fn current_configs(&self, job: &JobKey) -> BTreeMap<i32, Arc<TaskConfig>> {
        self.tasks
            .active_of_job(job)
            .into_iter()
            .map(|t| (t.instance, t.config.clone()))
            .collect()
    }

    /// The role's production consumption with the update applied must fit its quota (§4.9).
    fn check_update_quota(
        &self,
        job: &JobKey,
        config: &TaskConfig,
        diff: &JobDiff,
    ) -> Result<(), (ResponseCode, String)> {
        if !is_production_shared(config) {
            return Ok(());
        }
        let role = job.role.clone().unwrap_or_default();
        let mut wanted = self.consumption(&role)[0];
        for old in diff.replaced.values().filter(|c| is_production_shared(c)) {
            wanted = wanted.minus(Aggregate::of(&Demand::of(old), 1));
        }
        let added = Aggregate::of(&Demand::of(config), diff.replacements.len() as i64);
        self.check_role_quota(&role, wanted.plus(added))
    }

    /// pauseJobUpdate, resumeJobUpdate, abortJobUpdate, rollbackJobUpdate (§4.6.4).
    pub(super) fn control_update(
        &mut self,
        key: Option<JobUpdateKey>,
        action: UserAction,
        message: Option<String>,
        user: &str,
    ) -> Reply {
        check_message(&message)?;
        let key = key.ok_or_else(|| error("key must not be null"))?;
        Self::valid_key(key.job.clone())?;
        self.updates
            .user_action(&key, action, user, message, self.now)
            .map_err(invalid)?;
        Ok(None)
    }

    /// pulseJobUpdate (§4.6.5).
    pub(super) fn pulse_update(&mut self, key: Option<JobUpdateKey>) -> Reply {
        let key = key.ok_or_else(|| error("key must not be null"))?;
        Self::valid_key(key.job.clone())?;
        if key.id.as_deref().is_none_or(|id| id.trim().is_empty()) {
            return Err(error("The update id must not be blank"));
        }
        let status = self.updates.pulse(&key, self.now);
        Ok(Some(Payload::PulseJobUpdateResult(PulseJobUpdateResult {
            status: Some(status),
        })))
    }

    /// getJobUpdateSummaries (§4.6.6).
    pub(super) fn update_summaries(&self, query: Option<JobUpdateQuery>) -> Reply {
        let query = query.ok_or_else(|| error("jobUpdateQuery must not be null"))?;
        Ok(Some(Payload::GetJobUpdateSummariesResult(
            GetJobUpdateSummariesResult {
                update_summaries: Some(self.updates.summaries(&query)),
            },
        )))
    }

    /// getJobUpdateDetails (§4.6.6): the query form fills `detailsList`; the deprecated key form
    /// fills `details` and says it is deprecated.
    pub(super) fn update_details(
        &self,
        key: Option<JobUpdateKey>,
        query: Option<JobUpdateQuery>,
    ) -> Response {
        let (code, result, details) = match (key, query) {
            (_, Some(query)) => (
                ResponseCode::OK,
                Some(GetJobUpdateDetailsResult {
                    details: None,
                    details_list: Some(self.updates.details(&query)),
                }),
                vec![],
            ),
            (Some(key), None) => match self.updates.details_of(&key) {
                Some(found) => (
                    ResponseCode::OK,
                    Some(GetJobUpdateDetailsResult {
                        details: Some(found),
                        details_list: None,
                    }),
                    vec![DEPRECATED_KEY_MESSAGE.to_string()],
                ),
                None => (
                    ResponseCode::INVALID_REQUEST,
                    None,
                    vec![format!(
                        "Invalid update: no update {} of job {}",
                        key.id.as_deref().unwrap_or_default(),
                        key.job.unwrap_or_default()
                    )],
                ),
            },
            (None, None) => (
                ResponseCode::ERROR,
                None,
                vec!["Either key or query must be set.".to_string()],
            ),
        };
        self.reply(
            code,
            result.map(Payload::GetJobUpdateDetailsResult),
            details,
        )
    }

    /// getJobUpdateDiff (§4.6.2): the classification of startJobUpdate, without starting anything.
    pub(super) fn update_diff(&self, request: Option<JobUpdateRequest>) -> Reply {
        let (job, config, count, scope) = check_diff_request(request, &self.flags)?;
        self.refuse_cron_job(&job, CRON_NOT_DIFFABLE)?;
        let config = Arc::new(config);
        let diff = JobDiff::compute(&self.current_configs(&job), &config, count, &scope);
        Ok(Some(Payload::GetJobUpdateDiffResult(diff.to_wire(&config))))
    }
}
