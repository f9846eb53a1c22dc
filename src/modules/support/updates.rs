//! Rolling updates seen from a module: finding a job's active update, starting one tagged with
//! the desired configuration's fingerprint, following it to its end, and explaining a failure
//! from the update's own events (client-reference §4.3-4.4, §7 items 11-12).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ansible::Failure;
use crate::api::client::ClientError;
use crate::api::methods::{
    AbortJobUpdate, GetJobUpdateDetails, GetJobUpdateSummaries, PauseJobUpdate, RollbackJobUpdate,
    StartJobUpdate,
};
use crate::api::types::{
    JobInstanceUpdateEvent, JobKey, JobUpdateAction, JobUpdateDetails, JobUpdateKey,
    JobUpdateQuery, JobUpdateRequest, JobUpdateStatus, JobUpdateSummary, Metadata, ResponseCode,
    Result as Payload, StartJobUpdateResult,
};

use super::connection::Connection;
use super::races::maybe_applied;
use super::wait::{poll, Deadline, Look};

/// The metadata key Aurora's client tags each update with (client-reference §4.1).
pub const UPDATE_ID_KEY: &str = "org.apache.aurora.client.update_id";
/// The metadata key carrying the fingerprint of the configuration an update rolls out, so that a
/// re-run recognises its own update in flight.
pub const FINGERPRINT_KEY: &str = "org.apache.aurora.ansible.fingerprint";

/// What to do when another update of the job is in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Fail, naming the update in flight.
    #[default]
    Fail,
    /// Wait (up to C(wait_timeout)) until it ends, then go on.
    Wait,
}

/// What to do with an update still running when C(wait_timeout) passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// Leave it running; the scheduler carries on without us.
    #[default]
    Leave,
    /// Pause it (it can be resumed later).
    Pause,
    /// Abort it, leaving the job partly updated.
    Abort,
    /// Roll it back to the previous configuration.
    Rollback,
}

impl OnTimeout {
    /// The option value, as a user writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OnTimeout::Leave => "leave",
            OnTimeout::Pause => "pause",
            OnTimeout::Abort => "abort",
            OnTimeout::Rollback => "rollback",
        }
    }
}

/// What startJobUpdate came to.
#[derive(Debug)]
pub enum Start {
    /// This run's update started.
    Started(JobUpdateKey),
    /// The scheduler found nothing to change (OK without a result, api-reference §4.6.1 check 12,
    /// client-reference §4.3 step 7).
    Unchanged,
    /// Another update of the job is in flight (§4.6.1 check 14), as the scheduler has it now.
    Conflict(Box<JobUpdateSummary>),
}

impl Connection {
    /// Starts an update, tagged (`update_metadata`) with a client update id of its own; `message`
    /// says who started it. Another update in flight is an answer, not an error: the caller
    /// joins it, waits it out or fails naming it. When the answer is lost, the update is looked
    /// for by its client update id before the error is reported: if it started, it is this
    /// run's, and nothing is sent again.
    pub fn begin_update(&self, request: JobUpdateRequest, message: &str) -> Result<Start, Failure> {
        let job = request
            .task_config
            .as_ref()
            .and_then(|t| t.job.clone())
            .unwrap_or_default();
        let client_id = request
            .metadata
            .iter()
            .flatten()
            .find(|m| m.key.as_deref() == Some(UPDATE_ID_KEY))
            .and_then(|m| m.value.clone());
        let call = StartJobUpdate {
            request: Some(request),
            message: Some(message.to_string()),
        };
        let response = match self.client.call(&call) {
            Ok(response) => response,
            Err(error) if maybe_applied(&error) => {
                let started = client_id.and_then(|id| self.update_tagged(&job, &id).ok().flatten());
                return match started {
                    Some(key) => Ok(Start::Started(key)),
                    None => Err(error.into()),
                };
            }
            Err(error) => return Err(error.into()),
        };
        if response.code() == ResponseCode::INVALID_REQUEST {
            if let Some(Payload::StartJobUpdateResult(r)) = &response.result {
                if let Some(key) = &r.key {
                    // The echoed summary may lack what a query gives (state, metadata).
                    let summary = self
                        .update_summary(key)?
                        .or_else(|| r.update_summary.clone())
                        .unwrap_or_else(|| JobUpdateSummary {
                            key: Some(key.clone()),
                            ..JobUpdateSummary::default()
                        });
                    return Ok(Start::Conflict(Box::new(summary)));
                }
            }
        }
        let response = self.client.check("startJobUpdate", response)?;
        Ok(match response.result {
            Some(Payload::StartJobUpdateResult(StartJobUpdateResult {
                key: Some(key), ..
            })) => Start::Started(key),
            _ => Start::Unchanged,
        })
    }

    /// Starts an update; `None` when the scheduler found nothing to change. Another update in
    /// flight fails, naming it.
    pub fn start_update(
        &self,
        request: JobUpdateRequest,
        message: &str,
    ) -> Result<Option<JobUpdateKey>, Failure> {
        match self.begin_update(request, message)? {
            Start::Started(key) => Ok(Some(key)),
            Start::Unchanged => Ok(None),
            Start::Conflict(update) => Err(conflict_failure(&update)),
        }
    }

    /// The update of `job` tagged with the client update id `client_id`, if the scheduler has it.
    fn update_tagged(
        &self,
        job: &JobKey,
        client_id: &str,
    ) -> Result<Option<JobUpdateKey>, ClientError> {
        Ok(self
            .job_updates(job)?
            .into_iter()
            .find(|u| metadata_value(u, UPDATE_ID_KEY) == Some(client_id))
            .and_then(|u| u.key))
    }

    /// Another run's update is in flight: fail naming it (`on_conflict=fail`, and always in
    /// check mode), or wait until it ends (`on_conflict=wait`, up to the deadline).
    pub fn wait_out_update(
        &self,
        update: &JobUpdateSummary,
        on_conflict: OnConflict,
        check_mode: bool,
        deadline: &Deadline,
    ) -> Result<(), Failure> {
        if on_conflict == OnConflict::Fail || check_mode {
            return Err(conflict_failure(update));
        }
        let update_key = update.key.clone().unwrap_or_default();
        match self.follow_update(&update_key, deadline)? {
            Some(_) => Ok(()),
            None => Err(Failure::new(format!(
                "waited wait_timeout ({} s) for {} to end; it is still in flight",
                deadline.limit_secs(),
                describe_in_flight(update)
            ))),
        }
    }

    /// Every update of `job` the scheduler keeps, newest first.
    pub fn job_updates(&self, job: &JobKey) -> Result<Vec<JobUpdateSummary>, ClientError> {
        let mut updates = self.update_summaries(JobUpdateQuery {
            job_key: Some(job.clone()),
            ..JobUpdateQuery::default()
        })?;
        updates.sort_by_key(|u| {
            std::cmp::Reverse(u.state.as_ref().map_or(0, |s| s.created_timestamp_ms))
        });
        Ok(updates)
    }

    /// The newest update of `job` that rolled out the configuration with this fingerprint, when
    /// it ROLLED_BACK: a rollout of this very configuration already failed.
    pub fn rolled_back_update(
        &self,
        job: &JobKey,
        fingerprint: &str,
    ) -> Result<Option<JobUpdateSummary>, ClientError> {
        Ok(last_rolled_back(self.job_updates(job)?, fingerprint))
    }

    /// Every update of the jobs of `role` the scheduler keeps, in one call.
    pub fn role_updates(&self, role: &str) -> Result<Vec<JobUpdateSummary>, ClientError> {
        self.update_summaries(JobUpdateQuery {
            role: Some(role.to_string()),
            ..JobUpdateQuery::default()
        })
    }

    /// The update of `job` in flight (any active status), if there is one.
    pub fn active_update(&self, job: &JobKey) -> Result<Option<JobUpdateSummary>, ClientError> {
        let query = JobUpdateQuery {
            job_key: Some(job.clone()),
            update_statuses: Some(JobUpdateStatus::ACTIVE.to_vec()),
            ..JobUpdateQuery::default()
        };
        Ok(self.update_summaries(query)?.into_iter().next())
    }

    pub fn update_summary(
        &self,
        key: &JobUpdateKey,
    ) -> Result<Option<JobUpdateSummary>, ClientError> {
        let query = JobUpdateQuery {
            key: Some(key.clone()),
            ..JobUpdateQuery::default()
        };
        Ok(self.update_summaries(query)?.into_iter().next())
    }

    fn update_summaries(
        &self,
        query: JobUpdateQuery,
    ) -> Result<Vec<JobUpdateSummary>, ClientError> {
        let response = self.client.call_ok(&GetJobUpdateSummaries {
            job_update_query: Some(query),
        })?;
        Ok(match response.result {
            Some(Payload::GetJobUpdateSummariesResult(r)) => r.update_summaries.unwrap_or_default(),
            _ => Vec::new(),
        })
    }

    pub fn update_details(
        &self,
        key: &JobUpdateKey,
    ) -> Result<Option<JobUpdateDetails>, ClientError> {
        let query = JobUpdateQuery {
            key: Some(key.clone()),
            ..JobUpdateQuery::default()
        };
        let response = self.client.call_ok(&GetJobUpdateDetails {
            key: None,
            query: Some(query),
        })?;
        Ok(match response.result {
            Some(Payload::GetJobUpdateDetailsResult(r)) => r
                .details_list
                .and_then(|l| l.into_iter().next())
                .or(r.details),
            _ => None,
        })
    }

    /// Waits until the update leaves the active states; `Ok(None)` at the deadline.
    pub fn follow_update(
        &self,
        key: &JobUpdateKey,
        deadline: &Deadline,
    ) -> Result<Option<JobUpdateStatus>, Failure> {
        poll(deadline, || {
            let summary = self.update_summary(key)?.ok_or_else(|| {
                Failure::new(format!(
                    "update {} disappeared from the scheduler",
                    describe(key)
                ))
            })?;
            match summary_status(&summary) {
                Some(status) if !status.is_active() => Ok(Look::Done(status)),
                _ => Ok(Look::NotYet),
            }
        })
    }

    /// Applies `on_timeout` to an update still running at the deadline, and says what was done.
    pub fn settle_timed_out_update(
        &self,
        key: &JobUpdateKey,
        on_timeout: OnTimeout,
    ) -> Result<&'static str, ClientError> {
        let message = Some("wait_timeout passed in aurora.scheduler".to_string());
        let key = Some(key.clone());
        match on_timeout {
            OnTimeout::Leave => return Ok("left it running"),
            OnTimeout::Pause => self.client.call_ok(&PauseJobUpdate { key, message })?,
            OnTimeout::Abort => self.client.call_ok(&AbortJobUpdate { key, message })?,
            OnTimeout::Rollback => self.client.call_ok(&RollbackJobUpdate { key, message })?,
        };
        Ok(match on_timeout {
            OnTimeout::Pause => "paused it",
            OnTimeout::Abort => "aborted it",
            _ => "started its rollback",
        })
    }

    /// Why an update ended as it did: the message of the event that ended the forward pass, and
    /// each failed instance with the last words of its task.
    pub fn update_failure_reason(&self, key: &JobUpdateKey) -> String {
        let Ok(Some(details)) = self.update_details(key) else {
            return "the scheduler gave no details".to_string();
        };
        let mut reasons: Vec<String> = details
            .update_events
            .iter()
            .flatten()
            .filter_map(|e| {
                let status = e.status?;
                // The first event carries the message the update was started with, not a reason.
                if status == JobUpdateStatus::ROLLING_FORWARD {
                    return None;
                }
                let message = e.message.as_deref().filter(|m| !m.is_empty())?;
                Some(format!("{status}: {message}"))
            })
            .collect();
        reasons.dedup();
        let failed: Vec<&JobInstanceUpdateEvent> = details
            .instance_events
            .iter()
            .flatten()
            .filter(|e| {
                matches!(
                    e.action,
                    Some(JobUpdateAction::INSTANCE_UPDATE_FAILED)
                        | Some(JobUpdateAction::INSTANCE_ROLLBACK_FAILED)
                )
            })
            .collect();
        for event in failed {
            let mut line = format!(
                "instance {} {}",
                event.instance_id,
                event.action.map(|a| a.to_string()).unwrap_or_default()
            );
            match event.message.as_deref().filter(|m| !m.is_empty()) {
                // Already told by the update's own event (the scheduler repeats it there).
                Some(message) if reasons.iter().any(|r| r.contains(message)) => continue,
                Some(message) => line.push_str(&format!(": {message}")),
                None => {}
            }
            reasons.push(line);
        }
        if reasons.is_empty() {
            "the update's events give no reason".to_string()
        } else {
            reasons.join("; ")
        }
    }
}

/// Of a job's updates, newest first, the newest tagged with `fingerprint` when it ROLLED_BACK;
/// `None` when it ended otherwise (a later retry rolled forward) or there is none.
pub fn last_rolled_back(
    updates_newest_first: Vec<JobUpdateSummary>,
    fingerprint: &str,
) -> Option<JobUpdateSummary> {
    updates_newest_first
        .into_iter()
        .find(|u| metadata_value(u, FINGERPRINT_KEY) == Some(fingerprint))
        .filter(|u| summary_status(u) == Some(JobUpdateStatus::ROLLED_BACK))
}

pub fn summary_status(summary: &JobUpdateSummary) -> Option<JobUpdateStatus> {
    summary.state.as_ref().and_then(|s| s.status)
}

pub fn metadata_value<'a>(summary: &'a JobUpdateSummary, key: &str) -> Option<&'a str> {
    summary
        .metadata
        .iter()
        .flatten()
        .find(|m| m.key.as_deref() == Some(key))
        .and_then(|m| m.value.as_deref())
}

/// The metadata a module tags its update with: Aurora's client update id and our fingerprint.
pub fn update_metadata(fingerprint: &str) -> Vec<Metadata> {
    vec![
        client_update_id(),
        Metadata {
            key: Some(FINGERPRINT_KEY.to_string()),
            value: Some(fingerprint.to_string()),
        },
    ]
}

/// The failure of a run that meets another update in flight, naming it and what to do.
pub fn conflict_failure(update: &JobUpdateSummary) -> Failure {
    Failure::new(format!(
        "another update of this job is in flight: {}; wait for it to end, pause or abort it \
         (aurora.scheduler.job_update), or set on_conflict=wait",
        describe_in_flight(update)
    ))
    .field("update", update_json(update))
}

/// `ml/devel/web update 7c1e... (ROLLING_FORWARD, started by alice)`, for messages.
fn describe_in_flight(update: &JobUpdateSummary) -> String {
    let status = summary_status(update)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let who = update.user.as_deref().unwrap_or("unknown user");
    format!(
        "{} ({status}, started by {who})",
        describe(&update.key.clone().unwrap_or_default())
    )
}

/// A fresh client update id (client-reference §4.1), by which `begin_update` recognises its own
/// update when the scheduler's answer was lost.
pub fn client_update_id() -> Metadata {
    Metadata {
        key: Some(UPDATE_ID_KEY.to_string()),
        value: Some(uuid::Uuid::new_v4().to_string()),
    }
}

/// `www-data/devel/hello update 7c1e...`, for messages.
pub fn describe(key: &JobUpdateKey) -> String {
    let job = key.job.as_ref().map(JobKey::to_string).unwrap_or_default();
    format!("{job} update {}", key.id.as_deref().unwrap_or("?"))
}

/// An update for results: id, status, user.
pub fn update_json(summary: &JobUpdateSummary) -> Value {
    json!({
        "id": summary.key.as_ref().and_then(|k| k.id.clone()),
        "status": summary_status(summary).map(|s| s.to_string()),
        "user": summary.user,
        "created_ms": summary.state.as_ref().map(|s| s.created_timestamp_ms),
        "last_modified_ms": summary.state.as_ref().map(|s| s.last_modified_timestamp_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::JobUpdateState;

    fn update(id: &str, fingerprint: &str, status: JobUpdateStatus) -> JobUpdateSummary {
        JobUpdateSummary {
            key: Some(JobUpdateKey {
                job: None,
                id: Some(id.into()),
            }),
            state: Some(JobUpdateState {
                status: Some(status),
                ..JobUpdateState::default()
            }),
            metadata: Some(vec![Metadata {
                key: Some(FINGERPRINT_KEY.into()),
                value: Some(fingerprint.into()),
            }]),
            ..JobUpdateSummary::default()
        }
    }

    #[test]
    fn only_a_configuration_whose_newest_update_rolled_back_is_known_bad() {
        const ROLLED_BACK: JobUpdateStatus = JobUpdateStatus::ROLLED_BACK;
        const ROLLED_FORWARD: JobUpdateStatus = JobUpdateStatus::ROLLED_FORWARD;
        const ABORTED: JobUpdateStatus = JobUpdateStatus::ABORTED;
        const ROLLING_FORWARD: JobUpdateStatus = JobUpdateStatus::ROLLING_FORWARD;
        let table: Vec<(Vec<JobUpdateSummary>, Option<&str>)> = vec![
            (vec![], None),
            (vec![update("u1", "f", ROLLED_BACK)], Some("u1")),
            (vec![update("u1", "other", ROLLED_BACK)], None),
            (
                vec![
                    update("u2", "other", ROLLED_FORWARD),
                    update("u1", "f", ROLLED_BACK),
                ],
                Some("u1"),
            ),
            // Retried with retry_failed and rolled forward since: no longer refused.
            (
                vec![
                    update("u2", "f", ROLLED_FORWARD),
                    update("u1", "f", ROLLED_BACK),
                ],
                None,
            ),
            (vec![update("u1", "f", ABORTED)], None),
            (vec![update("u1", "f", ROLLING_FORWARD)], None),
        ];
        for (updates, expected) in table {
            let found = last_rolled_back(updates, "f");
            assert_eq!(
                found.and_then(|u| u.key?.id).as_deref(),
                expected,
                "expected {expected:?}"
            );
        }
    }
}
