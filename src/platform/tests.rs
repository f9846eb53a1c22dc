//! Tables of what the mediator and the pre-flight make of requests and profiles: the jobs they
//! render, and each problem named by the variable to change.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::preflight::{preflight, RunningJob, SchedulerView};
use super::*;
use crate::api::aggregate::Amounts;
use crate::api::types::{GetQuotaResult, GetTierConfigResult, TierConfig};

fn names() -> Names {
    Names {
        prefix: "aurora_service_".into(),
    }
}

fn request(yaml: &str) -> Request {
    serde_yaml_ng::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn profile(yaml: &str) -> Profile {
    serde_yaml_ng::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

const SERVICE: &str =
    "{kind: service, team: ml, environment: prod, name: scorer, version: '1.4.2', \
                       command: 'python3 -m scorer --port %{thermos.ports[http]}'}";

fn with(base: &str, extra: &str) -> Request {
    let mut value: Value = serde_yaml_ng::from_str(base).unwrap();
    let extra: Value = serde_yaml_ng::from_str(extra).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        value[k] = v.clone();
    }
    serde_json::from_value(value).unwrap()
}

fn planned(request: &Request) -> Vec<PlannedJob> {
    mediate(&Profile::default(), request, &names()).unwrap_or_else(|p| panic!("{p:?}"))
}

fn problems(profile: &Profile, request: &Request) -> Vec<Problem> {
    mediate(profile, request, &names()).expect_err("the request should be refused")
}

fn variables(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.variable.as_str()).collect()
}

#[test]
fn the_default_profile_runs_prod_on_the_production_tier_with_rotating_logs_and_stamps() {
    let jobs = planned(&request(SERVICE));
    let args = jobs[0].args();
    assert_eq!(args["tier"], "preferred");
    assert_eq!(args["service"], true);
    assert_eq!(args["instances"], 2);
    assert_eq!(args["keep_instance_count"], true);
    assert_eq!(
        args["metadata"],
        json!({"team": "ml", "project": "ml", "version": "1.4.2"})
    );
    let process = &args["task"]["processes"][0];
    assert_eq!(process["logger"]["mode"], "rotate");
    assert_eq!(process["logger"]["destination"], "file");
    assert_eq!(process["logger"]["rotate"]["backups"], 5);
    assert_eq!(args["task"]["resources"]["cpu"], 0.5);
    assert_eq!(
        args["announce"]["portmap"],
        json!({"aurora": "http", "health": "http"})
    );
    assert_eq!(args["health_check"]["http"]["endpoint"], "/health");
    assert_eq!(jobs[0].production, Some(true));
}

#[test]
fn a_service_given_a_count_keeps_exactly_that_count() {
    let jobs = planned(&with(SERVICE, "{instances: 3, size: large}"));
    let args = jobs[0].args();
    assert_eq!(args["instances"], 3);
    assert!(args.get("keep_instance_count").is_none());
    assert_eq!(args["task"]["resources"]["cpu"], 4.0);
}

#[test]
fn the_same_request_always_renders_the_same_job() {
    let request = with(
        SERVICE,
        "{source_commit: abc123, source_repository: 'git@x:ml/scorer'}",
    );
    assert_eq!(planned(&request)[0].args(), planned(&request)[0].args());
    let metadata = &planned(&request)[0].args()["metadata"];
    assert_eq!(metadata["source_commit"], "abc123");
    assert_eq!(metadata["source_repository"], "git@x:ml/scorer");
}

#[test]
fn bad_requests_are_refused_naming_the_variable() {
    let cases: &[(&str, &str)] = &[
        ("{environment: qa}", "aurora_service_environment"),
        ("{size: huge}", "aurora_service_size"),
        ("{version: null}", "aurora_service_version"),
        ("{command: null}", "aurora_service_command"),
        ("{entry_point: scorer}", "aurora_service_command"),
        ("{instances: 0}", "aurora_service_instances"),
        ("{instances: 1000}", "aurora_service_instances"),
        ("{name: 'has space'}", "aurora_service_name"),
        ("{schedule: '0 3 * * *'}", "aurora_service_schedule"),
        ("{workers: 3}", "aurora_service_workers"),
        (
            "{overrides: {tier: preemptible}}",
            "aurora_service_overrides.tier",
        ),
        (
            "{overrides: {metadata: {version: '2'}}}",
            "aurora_service_overrides.metadata.version",
        ),
        ("{command: 'python3 -m scorer'}", "aurora_service_command"),
        (
            "{instances: 3, overrides: {sla_policy: {percentage: 50}}}",
            "aurora_service_overrides.sla_policy",
        ),
    ];
    let mut allow_sla = Profile::default();
    allow_sla
        .allowed_overrides
        .push(profile::Override::SlaPolicy);
    for (extra, variable) in cases {
        let found = problems(&allow_sla, &with(SERVICE, extra));
        assert!(
            variables(&found).contains(variable),
            "{extra}: expected {variable}, got {found:?}"
        );
    }
}

#[test]
fn a_forbidden_override_names_the_rule_that_forbids_it() {
    let found = problems(
        &Profile::default(),
        &with(SERVICE, "{overrides: {tier: preemptible}}"),
    );
    assert!(
        found[0]
            .message
            .contains("aurora_platform.allowed_overrides"),
        "{found:?}"
    );
    let per_env =
        profile("{environments: {prod: {tier: preferred, allowed_overrides: [resources]}}}");
    let found = problems(
        &per_env,
        &with(SERVICE, "{overrides: {update: {batch_size: 3}}}"),
    );
    assert!(
        found[0]
            .message
            .contains("aurora_platform.environments.prod.allowed_overrides allows: resources"),
        "{found:?}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let found = problems(
        &Profile::default(),
        &with(SERVICE, "{size: huge, version: null, overrides: {tier: x}}"),
    );
    assert_eq!(
        variables(&found),
        [
            "aurora_service_version",
            "aurora_service_overrides.tier",
            "aurora_service_size"
        ]
    );
}

#[test]
fn the_environment_sla_policy_goes_only_on_jobs_the_scheduler_checks() {
    let small = planned(&with(SERVICE, "{instances: 19}"));
    assert!(small[0].options.sla_policy.is_none());
    let large = planned(&with(SERVICE, "{instances: 20}"));
    assert_eq!(
        large[0].options.sla_policy.as_ref().unwrap().percentage,
        Some(95.0)
    );
    assert_eq!(
        large[0].sla_variable.as_deref(),
        Some("aurora_platform.environments.prod.sla_policy")
    );
}

#[test]
fn a_profile_sla_that_lets_no_instance_go_down_names_the_profile() {
    let strict = profile(
        "{environments: {prod: {tier: preferred, sla_policy: {count: 30, duration_secs: 60}}}}",
    );
    let found = problems(&strict, &with(SERVICE, "{instances: 25}"));
    assert_eq!(
        variables(&found),
        ["aurora_platform.environments.prod.sla_policy"]
    );
    assert!(
        found[0].message.contains("lets no instance of 25 go down"),
        "{found:?}"
    );
}

#[test]
fn an_entry_point_runs_with_the_profile_command_and_listens_on_the_service_port() {
    let jobs = planned(&with(SERVICE, "{command: null, entry_point: scorer.app}"));
    assert_eq!(
        jobs[0].args()["task"]["processes"][0]["cmdline"],
        "python3 -m scorer.app --port %{thermos.ports[http]}"
    );
}

#[test]
fn without_announcing_the_health_check_needs_a_port_named_health() {
    let quiet = profile("{services: {announce: false}}");
    let found = problems(&quiet, &request(SERVICE));
    assert_eq!(variables(&found), ["aurora_service_command"]);
    assert!(
        found[0].message.contains("%{thermos.ports[health]}"),
        "{found:?}"
    );
    let listening = with(
        SERVICE,
        "{command: 'serve --admin %{thermos.ports[health]}'}",
    );
    assert!(mediate(&quiet, &listening, &names()).is_ok());
}

const FRAMEWORK: &str =
    "{kind: batch_framework, team: ml, environment: devel, name: tuner, version: '0.3', \
                         master_command: 'tuner-master --port %{thermos.ports[http]}', \
                         worker_command: 'tuner-worker'}";

#[test]
fn a_batch_framework_is_a_master_then_workers_told_where_the_master_is() {
    let jobs = planned(&request(FRAMEWORK));
    assert_eq!(
        jobs.iter().map(|j| j.part).collect::<Vec<_>>(),
        [Part::Master, Part::Worker]
    );
    let (master, worker) = (jobs[0].args(), jobs[1].args());
    assert_eq!(master["name"], "tuner-master");
    assert_eq!(master["instances"], 1);
    assert_eq!(worker["name"], "tuner-worker");
    assert_eq!(
        worker["task"]["processes"][0]["cmdline"],
        "export AURORA_MASTER_JOB=ml/devel/tuner-master \
         AURORA_MASTER_SERVERSET=/aurora/ml/devel/tuner-master; tuner-worker"
    );
    // auto: the allocator's count is kept; the framework starts with one worker.
    assert_eq!(worker["instances"], 1);
    assert_eq!(worker["keep_instance_count"], true);
    assert!(worker.get("health_check").is_none());
    assert_eq!(worker["metadata"]["batch_framework"], "tuner");
    assert_eq!(worker["metadata"]["batch_framework_part"], "worker");
    assert_eq!(
        worker["task"]["resources"]["cpu"], 1.0,
        "the profile's worker size"
    );

    // The ensemble the master is announced in, when given (or the profile's).
    let told = planned(&with(FRAMEWORK, "{zookeeper: 'zk1:2181,zk2:2181'}"));
    assert_eq!(
        told[1].args()["task"]["processes"][0]["cmdline"],
        "export AURORA_MASTER_JOB=ml/devel/tuner-master \
         AURORA_MASTER_SERVERSET=/aurora/ml/devel/tuner-master \
         AURORA_MASTER_ZOOKEEPER=zk1:2181,zk2:2181; tuner-worker"
    );

    let fixed = planned(&with(FRAMEWORK, "{workers: 4}"));
    assert_eq!(fixed[1].args()["instances"], 4);
    assert!(fixed[1].args().get("keep_instance_count").is_none());
}

#[test]
fn removing_a_batch_framework_removes_its_workers_first() {
    let jobs = planned(&with(FRAMEWORK, "{state: absent, version: null}"));
    let args: Vec<Value> = jobs.iter().map(PlannedJob::args).collect();
    assert_eq!(
        args,
        [
            json!({"role": "ml", "environment": "devel", "name": "tuner-worker", "state": "absent"}),
            json!({"role": "ml", "environment": "devel", "name": "tuner-master", "state": "absent"}),
        ]
    );
}

const CRON: &str = "{kind: cron, team: ml, environment: devel, name: nightly, version: '2', \
                    command: 'python3 -m retrain', schedule: '0 3 * * *'}";

#[test]
fn a_cron_job_is_a_batch_job_with_its_schedule_and_no_update_settings() {
    let args = planned(&request(CRON))[0].args();
    assert_eq!(args["cron_schedule"], "0 3 * * *");
    assert_eq!(args["service"], false);
    assert!(args.get("update").is_none());
    assert!(args.get("announce").is_none());
    let found = problems(&Profile::default(), &with(CRON, "{schedule: '61 * * * *'}"));
    assert_eq!(variables(&found), ["aurora_service_schedule"]);
    assert!(found[0].message.contains("minute"), "{found:?}");
}

#[test]
fn the_image_convention_tags_the_image_with_the_version() {
    let docker = profile(
        "{container: {kind: docker, image: 'registry.example.com/{team}/{name}:{version}'}}",
    );
    let jobs = mediate(&docker, &request(SERVICE), &names()).unwrap();
    assert_eq!(
        jobs[0].args()["container"],
        json!({"docker": {"image": "registry.example.com/ml/scorer:1.4.2", "parameters": []}})
    );
    let untagged = profile("{container: {image: 'registry.example.com/{name}'}}");
    assert_eq!(
        variables(&problems(&untagged, &request(SERVICE))),
        ["aurora_platform.container.image"]
    );
}

// ---------------------------------------------------------------------------------------------
// The pre-flight

fn stock_tiers() -> GetTierConfigResult {
    let tier = |name: &str, preemptible: bool, revocable: bool| TierConfig {
        name: Some(name.into()),
        settings: Some(BTreeMap::from([
            ("preemptible".to_string(), preemptible.to_string()),
            ("revocable".to_string(), revocable.to_string()),
        ])),
    };
    GetTierConfigResult {
        default_tier_name: Some("preemptible".into()),
        tiers: Some(
            [
                tier("preferred", false, false),
                tier("preemptible", true, false),
                tier("revocable", true, true),
            ]
            .into_iter()
            .collect(),
        ),
    }
}

fn quota(quota: Amounts, used: Amounts) -> GetQuotaResult {
    GetQuotaResult {
        quota: Some(quota.wire()),
        prod_shared_consumption: Some(used.wire()),
        ..GetQuotaResult::default()
    }
}

fn amounts(cpu: f64, ram_mb: i64, disk_mb: i64) -> Amounts {
    Amounts {
        cpu,
        ram_mb,
        disk_mb,
        gpu: 0,
    }
}

fn checked(
    jobs: &[PlannedJob],
    quota: &GetQuotaResult,
    running: &BTreeMap<String, RunningJob>,
) -> Vec<Problem> {
    let tiers = stock_tiers();
    let view = SchedulerView {
        tiers: &tiers,
        quota,
        running,
    };
    preflight(jobs, &view, &names()).problems
}

#[test]
fn a_team_without_production_quota_is_told_before_anything_is_written() {
    let jobs = planned(&request(SERVICE));
    let found = checked(&jobs, &GetQuotaResult::default(), &BTreeMap::new());
    assert_eq!(variables(&found), ["aurora_service_team"]);
    assert!(
        found[0].message.contains("team ml has no production quota"),
        "{found:?}"
    );
    assert!(
        found[0]
            .message
            .contains("1 CPU, 1024 MiB RAM, 2048 MiB disk"),
        "{found:?}"
    );
}

#[test]
fn quota_counts_only_what_the_jobs_need_beyond_what_they_use_now() {
    let jobs = planned(&request(SERVICE));
    // Two small instances already run: keeping the count needs nothing more.
    let running = BTreeMap::from([(
        "ml/prod/scorer".to_string(),
        RunningJob {
            instances: 2,
            per_instance: amounts(0.5, 512, 1024),
            uses_quota: true,
        },
    )]);
    let full = quota(amounts(1.0, 1024, 2048), amounts(1.0, 1024, 2048));
    assert!(checked(&jobs, &full, &running).is_empty());
    // Growing to three needs one more instance, which does not fit.
    let grown = planned(&with(SERVICE, "{instances: 3}"));
    assert_eq!(
        variables(&checked(&grown, &full, &running)),
        ["aurora_service_team"]
    );
}

#[test]
fn non_production_jobs_use_no_quota() {
    let jobs = planned(&request(CRON));
    assert!(checked(&jobs, &GetQuotaResult::default(), &BTreeMap::new()).is_empty());
}

#[test]
fn a_production_environment_on_a_preemptible_tier_is_refused_naming_the_profile() {
    let wrong = profile("{environments: {prod: {tier: preemptible, production: true}}}");
    let jobs = mediate(&wrong, &request(SERVICE), &names()).unwrap();
    let found = checked(&jobs, &GetQuotaResult::default(), &BTreeMap::new());
    assert_eq!(
        variables(&found),
        ["aurora_platform.environments.prod.tier"]
    );
    assert!(
        found[0].message.contains("could be pre-empted"),
        "{found:?}"
    );
}

#[test]
fn an_sla_policy_on_a_tier_that_is_not_production_is_refused() {
    let wrong = profile(
        "{environments: {devel: {tier: preemptible, sla_policy: {coordinator_url: 'http://c'}}}}",
    );
    let jobs = mediate(&wrong, &with(SERVICE, "{environment: devel}"), &names()).unwrap();
    let found = checked(&jobs, &GetQuotaResult::default(), &BTreeMap::new());
    assert_eq!(
        variables(&found),
        ["aurora_platform.environments.devel.sla_policy"]
    );
}

#[test]
fn an_unknown_tier_names_the_tiers_of_the_scheduler() {
    let wrong = profile("{environments: {prod: {tier: gold}}}");
    let jobs = mediate(&wrong, &request(SERVICE), &names()).unwrap();
    let found = checked(&jobs, &GetQuotaResult::default(), &BTreeMap::new());
    assert!(
        found[0]
            .message
            .contains("preemptible, preferred, revocable")
            || found[0].message.contains("preferred"),
        "{found:?}"
    );
}

proptest! {
    /// The environment's percentage SLA goes on a job exactly when the scheduler would accept
    /// it: at least min_sla_instances instances, and it lets one go down.
    #[test]
    fn the_profile_sla_is_set_exactly_where_the_scheduler_accepts_it(instances in 1i32..=100) {
        let request = with(SERVICE, &format!("{{instances: {instances}}}"));
        match mediate(&Profile::default(), &request, &names()) {
            Ok(jobs) => {
                let has_sla = jobs[0].options.sla_policy.is_some();
                prop_assert_eq!(has_sla, instances >= 20);
            }
            Err(found) => {
                // 95% of 20 leaves exactly one: accepted. Nothing else is refused here.
                prop_assert!(false, "{instances}: {found:?}");
            }
        }
    }
}
