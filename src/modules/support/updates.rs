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
    JobUpdateQuery, JobUpdateRequest, JobUpdateStatus, JobUpdateSummary, Metadata,
    Result as Payload,
};

use super::connection::Connection;
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

impl Connection {
    /// Starts an update; `None` when the scheduler found nothing to change (OK without a
    /// result, client-reference §4.3 step 7). `message` says who started it.
    pub fn start_update(
        &self,
        request: JobUpdateRequest,
        message: &str,
    ) -> Result<Option<JobUpdateKey>, Failure> {
        let response = self.client.call(&StartJobUpdate {
            request: Some(request),
            message: Some(message.to_string()),
        })?;
        let response = self.client.check("startJobUpdate", response)?;
        Ok(match response.result {
            Some(Payload::StartJobUpdateResult(r)) => r.key,
            _ => None,
        })
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
        Metadata {
            key: Some(UPDATE_ID_KEY.to_string()),
            value: Some(uuid::Uuid::new_v4().to_string()),
        },
        Metadata {
            key: Some(FINGERPRINT_KEY.to_string()),
            value: Some(fingerprint.to_string()),
        },
    ]
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
