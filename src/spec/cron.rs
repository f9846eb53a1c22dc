//! Cron jobs in the job model (api-reference §4.5, client-reference §2.4): the schedule checked
//! as the scheduler checks it, the collision policy, and the job built with both — set in the
//! `JobConfiguration` and written into the Thermos document, as Aurora's client does.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::crontab::Crontab;
use super::error::{Source, SpecError};
use super::{BuildContext, Job, JobOptions};
use crate::api::types::CronCollisionPolicy;

/// What a cron run does when the previous run is still active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CollisionPolicy {
    /// Kill the previous run's tasks, then start the new run once they are gone.
    KillExisting,
    /// Skip the new run.
    CancelNew,
    /// Removed from Aurora (AURORA-38): current schedulers refuse it, and so does this module.
    RunOverlap,
}

impl CollisionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            CollisionPolicy::KillExisting => "KILL_EXISTING",
            CollisionPolicy::CancelNew => "CANCEL_NEW",
            CollisionPolicy::RunOverlap => "RUN_OVERLAP",
        }
    }

    fn of_text(text: &str) -> Option<CollisionPolicy> {
        [
            CollisionPolicy::KillExisting,
            CollisionPolicy::CancelNew,
            CollisionPolicy::RunOverlap,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }
}

impl From<CollisionPolicy> for CronCollisionPolicy {
    fn from(policy: CollisionPolicy) -> Self {
        match policy {
            CollisionPolicy::KillExisting => CronCollisionPolicy::KILL_EXISTING,
            CollisionPolicy::CancelNew => CronCollisionPolicy::CANCEL_NEW,
            CollisionPolicy::RunOverlap => CronCollisionPolicy::RUN_OVERLAP,
        }
    }
}

/// The cron part of a job: its schedule, and its collision policy when one is given (else the
/// document's, else KILL_EXISTING).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronSpec {
    pub schedule: String,
    pub collision_policy: Option<CollisionPolicy>,
}

/// Checks a schedule as the scheduler parses it; the error names the bad field, as in
/// `cron_schedule '61 * * * *': minute field '61' is out of range 0-59`.
pub fn check_schedule(schedule: &str) -> Result<Crontab, SpecError> {
    let crontab = Crontab::parse(schedule)
        .map_err(|e| SpecError::new(format!("cron_schedule '{schedule}'"), e.0))?;
    if crontab.next_after(0).is_none() {
        return Err(SpecError::new(
            format!("cron_schedule '{schedule}'"),
            "never fires (no such day in any month); the scheduler refuses it",
        ));
    }
    Ok(crontab)
}

fn refuse_run_overlap(option: String) -> SpecError {
    SpecError::new(
        option,
        "RUN_OVERLAP was removed from Aurora (AURORA-38) and current schedulers refuse it; use \
         KILL_EXISTING or CANCEL_NEW",
    )
}

impl JobOptions {
    /// The cron job as Aurora's client would schedule it (`aurora cron schedule`): a batch job
    /// (`service` defaults to false and may not be true) with `cronSchedule` and
    /// `cronCollisionPolicy` set.
    pub fn build_cron(&self, ctx: &BuildContext, cron: &CronSpec) -> Result<Job, SpecError> {
        check_schedule(&cron.schedule)?;
        if cron.collision_policy == Some(CollisionPolicy::RunOverlap) {
            return Err(refuse_run_overlap("cron_collision_policy".into()));
        }
        if self.service == Some(true) {
            return Err(SpecError::new(
                "service",
                "is true, but a cron job is not a service (each run runs to completion and \
                 the scheduler refuses a service with a cron schedule); remove service, or \
                 manage a service with aurora.scheduler.job",
            ));
        }
        if self.update.is_some() {
            return Err(SpecError::new(
                "update",
                "does not apply to a cron job: each run starts its tasks from the template, \
                 nothing is rolled out; remove it",
            ));
        }
        let mut options = self.clone();
        if options.executor_config.is_none() {
            options.service = Some(false);
        }
        options.build_with(ctx, Some(cron))
    }
}

impl CronSpec {
    /// Writes the schedule and policy into the Thermos document; a document given in
    /// `executor_config` may carry them too, but then they must agree with the options.
    pub(super) fn put_into(
        &self,
        doc: &mut Map<String, Value>,
        source: Source,
    ) -> Result<(), SpecError> {
        let in_document = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_string);
        if source == Source::ExecutorConfig {
            if let Some(found) = in_document("cron_schedule") {
                if found != self.schedule {
                    return Err(source.error(
                        "cron_schedule",
                        format!(
                            "is {found:?} but the option cron_schedule is {:?}; they must match \
                             (or leave it out of the document)",
                            self.schedule
                        ),
                    ));
                }
            }
        }
        let documented = match source {
            Source::ExecutorConfig => in_document("cron_collision_policy"),
            Source::Options => None,
        };
        let policy = match (self.collision_policy, documented) {
            (Some(option), Some(found)) if option.as_str() != found => {
                return Err(source.error(
                    "cron_collision_policy",
                    format!(
                        "is {found:?} but the option cron_collision_policy is {:?}; they must \
                         match (or leave it out of the document)",
                        option.as_str()
                    ),
                ))
            }
            (Some(option), _) => option.as_str().to_string(),
            (None, Some(found)) => found,
            (None, None) => CollisionPolicy::KillExisting.as_str().to_string(),
        };
        match CollisionPolicy::of_text(&policy) {
            Some(CollisionPolicy::RunOverlap) => {
                return Err(refuse_run_overlap(
                    source.option_path("cron_collision_policy"),
                ))
            }
            Some(_) => {}
            None => {
                return Err(source.error(
                    "cron_collision_policy",
                    format!("is {policy:?}; use KILL_EXISTING or CANCEL_NEW"),
                ))
            }
        }
        doc.insert("cron_schedule".into(), json!(self.schedule));
        doc.insert("cron_collision_policy".into(), json!(policy));
        Ok(())
    }
}

/// A cron job is not a service: the scheduler refuses `isService` with a schedule.
pub(super) fn refuse_service(doc: &Map<String, Value>, source: Source) -> Result<(), SpecError> {
    if doc.get("service").and_then(Value::as_bool) == Some(true) {
        return Err(source.error(
            "service",
            "is true, but a cron job is not a service (the scheduler refuses a service with a \
             cron schedule); set it false, or manage a service with aurora.scheduler.job",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::spec::options::ExecutorDocument;

    fn ctx() -> BuildContext<'static> {
        BuildContext {
            cluster: "devcluster",
            owner: "alice",
            tiers: None,
        }
    }

    fn nightly() -> JobOptions {
        serde_yaml_ng::from_str(
            r#"
role: ml
environment: devel
name: nightly
instances: 2
task:
  processes: [{name: train, cmdline: "python3 train.py"}]
  resources: {cpu: 1, ram: 1GiB, disk: 1GiB}
"#,
        )
        .expect("valid options")
    }

    fn cron(schedule: &str, policy: Option<CollisionPolicy>) -> CronSpec {
        CronSpec {
            schedule: schedule.into(),
            collision_policy: policy,
        }
    }

    fn document_of(job: &Job) -> Value {
        serde_json::from_str(job.executor_data()).expect("executor data is JSON")
    }

    /// A job given whole in executor_config, as `aurora job inspect` would write it.
    fn passthrough(doc: Value) -> JobOptions {
        JobOptions {
            role: "ml".into(),
            environment: "devel".into(),
            name: "nightly".into(),
            executor_config: Some(ExecutorDocument(
                doc.as_object().cloned().unwrap_or_default(),
            )),
            ..JobOptions::default()
        }
    }

    #[test]
    fn a_cron_job_has_its_schedule_and_policy_in_the_configuration_and_the_document() {
        let job = nightly()
            .build_cron(&ctx(), &cron("0 2 * * *", Some(CollisionPolicy::CancelNew)))
            .unwrap();
        assert_eq!(job.config.cron_schedule.as_deref(), Some("0 2 * * *"));
        assert_eq!(
            job.config.cron_collision_policy,
            Some(CronCollisionPolicy::CANCEL_NEW)
        );
        assert!(!job.task_config().is_service);
        let doc = document_of(&job);
        assert_eq!(doc["cron_schedule"], "0 2 * * *");
        assert_eq!(doc["cron_collision_policy"], "CANCEL_NEW");
        assert_eq!(doc["service"], false);
    }

    #[test]
    fn the_policy_defaults_to_kill_existing() {
        let job = nightly()
            .build_cron(&ctx(), &cron("* * * * *", None))
            .unwrap();
        assert_eq!(
            job.config.cron_collision_policy,
            Some(CronCollisionPolicy::KILL_EXISTING)
        );
    }

    #[test]
    fn a_service_a_rolling_update_and_run_overlap_are_refused_naming_the_option() {
        let mut service = nightly();
        service.service = Some(true);
        let e = service
            .build_cron(&ctx(), &cron("* * * * *", None))
            .unwrap_err();
        assert_eq!(e.option, "service");
        let mut updated = nightly();
        updated.update = Some(Default::default());
        let e = updated
            .build_cron(&ctx(), &cron("* * * * *", None))
            .unwrap_err();
        assert_eq!(e.option, "update");
        let e = nightly()
            .build_cron(
                &ctx(),
                &cron("* * * * *", Some(CollisionPolicy::RunOverlap)),
            )
            .unwrap_err();
        assert_eq!(e.option, "cron_collision_policy");
        assert!(e.message.contains("current schedulers refuse it"), "{e}");
    }

    #[test]
    fn a_bad_schedule_names_the_schedule_and_the_field() {
        let e = nightly()
            .build_cron(&ctx(), &cron("61 * * * *", None))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cron_schedule '61 * * * *': minute field '61' is out of range 0-59"
        );
        let e = check_schedule("0 0 30 2 *").unwrap_err();
        assert!(e.message.contains("never fires"), "{e}");
    }

    #[test]
    fn a_document_may_carry_the_schedule_and_policy_when_they_agree() {
        let built = nightly()
            .build_cron(&ctx(), &cron("0 2 * * *", Some(CollisionPolicy::CancelNew)))
            .unwrap();
        let doc = document_of(&built);
        let same = passthrough(doc.clone())
            .build_cron(&ctx(), &cron("0 2 * * *", None))
            .unwrap();
        assert_eq!(
            same.config.cron_collision_policy,
            Some(CronCollisionPolicy::CANCEL_NEW),
            "the document's policy is kept"
        );
        let e = passthrough(doc.clone())
            .build_cron(&ctx(), &cron("0 3 * * *", None))
            .unwrap_err();
        assert_eq!(e.option, "executor_config.cron_schedule");
        let e = passthrough(doc.clone())
            .build_cron(
                &ctx(),
                &cron("0 2 * * *", Some(CollisionPolicy::KillExisting)),
            )
            .unwrap_err();
        assert_eq!(e.option, "executor_config.cron_collision_policy");
    }

    #[test]
    fn a_document_that_is_a_service_or_runs_overlapping_is_refused() {
        let built = nightly()
            .build_cron(&ctx(), &cron("0 2 * * *", None))
            .unwrap();
        let mut doc = document_of(&built);
        doc["service"] = json!(true);
        let e = passthrough(doc)
            .build_cron(&ctx(), &cron("0 2 * * *", None))
            .unwrap_err();
        assert_eq!(e.option, "executor_config.service");
        let mut doc = document_of(&built);
        doc["cron_collision_policy"] = json!("RUN_OVERLAP");
        let e = passthrough(doc)
            .build_cron(&ctx(), &cron("0 2 * * *", None))
            .unwrap_err();
        assert_eq!(e.option, "executor_config.cron_collision_policy");
    }

    #[test]
    fn a_plain_job_still_refuses_a_document_with_a_schedule() {
        let built = nightly()
            .build_cron(&ctx(), &cron("0 2 * * *", None))
            .unwrap();
        let e = passthrough(document_of(&built)).build(&ctx()).unwrap_err();
        assert_eq!(e.option, "executor_config.cron_schedule");
        assert!(e.message.contains("aurora.scheduler.cron_job"), "{e}");
    }
}
