//! CLI behaviour against a scripted scheduler on 127.0.0.1: what each command sends, what it
//! prints, and its exit status.

use std::path::Path;

use super::*;
use crate::api::methods::Call;
use crate::api::test_server::*;
use crate::api::types::{
    AssignedTask, GetTierConfigResult, JobConfiguration, JobStats, JobSummary, JobSummaryResult,
    Resource, Response, ResponseCode, Result as ApiResult, ScheduleStatus, ScheduleStatusResult,
    ScheduledTask, ServerInfo, TaskEvent,
};

/// Parses and runs a command line, returning the outcome and what was printed.
fn run_cli(args: &[&str]) -> (Result<(), CliError>, String) {
    let cli = Cli::try_parse_from(std::iter::once("aurora-ansible").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?} did not parse: {e}"));
    let mut out = Vec::new();
    let result = run(&cli, &mut out);
    (result, String::from_utf8(out).unwrap())
}

fn with_result(result: ApiResult) -> Response {
    Response {
        result: Some(result),
        ..response(ResponseCode::OK, &[])
    }
}

fn job_summary(key: &str, stats: JobStats, cron: Option<(&str, i64)>) -> JobSummary {
    JobSummary {
        job: Some(JobConfiguration {
            key: Some(JobKey::parse(key).unwrap()),
            cron_schedule: cron.map(|(s, _)| s.to_string()),
            ..JobConfiguration::default()
        }),
        stats: Some(stats),
        next_cron_run_ms: cron.map(|(_, ms)| ms),
    }
}

fn summaries_server() -> TestServer {
    TestServer::start(|_, r, _| {
        let summaries = vec![
            job_summary(
                "www/prod/web",
                JobStats {
                    active_task_count: 3,
                    pending_task_count: 1,
                    finished_task_count: 0,
                    failed_task_count: 2,
                },
                None,
            ),
            job_summary(
                "batch/devel/nightly",
                JobStats::default(),
                Some(("0 2 * * *", 1_714_528_800_000)),
            ),
        ];
        thrift_reply(
            r,
            &with_result(ApiResult::JobSummaryResult(JobSummaryResult {
                summaries: Some(summaries),
            })),
        )
    })
}

#[test]
fn jobs_prints_a_table_of_jobs_with_counts_by_state_and_the_next_cron_run() {
    let server = summaries_server();
    let (result, out) = run_cli(&["--scheduler-url", &server.url(), "jobs", "www"]);
    result.unwrap();
    assert_eq!(
        out,
        "\
JOB                  PENDING  ACTIVE  FINISHED  FAILED  CRON       NEXT CRON RUN
batch/devel/nightly  0        0       0         0       0 2 * * *  2024-05-01T02:00:00Z
www/prod/web         1        3       0         2
"
    );
    let requests = server.requests();
    assert_eq!(
        decoded_call(&requests[0]),
        Call::GetJobSummary(crate::api::methods::GetJobSummary {
            role: Some("www".into())
        })
    );
}

#[test]
fn jobs_with_json_output_prints_the_summaries_in_the_api_field_names() {
    let server = summaries_server();
    let (result, out) = run_cli(&["--scheduler-url", &server.url(), "jobs", "--output", "json"]);
    result.unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json[1]["job"]["key"]["role"], "www");
    assert_eq!(json[1]["stats"]["activeTaskCount"], 3);
    assert_eq!(json[0]["nextCronRunMs"], 1_714_528_800_000i64);
}

fn task(instance: i32, id: &str, status: ScheduleStatus, events: &[(i64, &str)]) -> ScheduledTask {
    ScheduledTask {
        assigned_task: Some(AssignedTask {
            task_id: Some(id.into()),
            slave_host: Some(format!("host{instance}")),
            instance_id: instance,
            ..AssignedTask::default()
        }),
        status: Some(status),
        task_events: Some(
            events
                .iter()
                .map(|(ts, m)| TaskEvent {
                    timestamp: *ts,
                    message: Some(m.to_string()),
                    ..TaskEvent::default()
                })
                .collect(),
        ),
        ..ScheduledTask::default()
    }
}

#[test]
fn tasks_lists_the_active_tasks_of_the_job_by_instance_with_the_last_event() {
    let server = TestServer::start(|_, r, _| {
        let tasks = vec![
            task(1, "t-1", ScheduleStatus::PENDING, &[(5, "Task pending")]),
            task(
                0,
                "t-0",
                ScheduleStatus::RUNNING,
                &[(1, "assigned"), (9, "Task is healthy")],
            ),
        ];
        thrift_reply(
            r,
            &with_result(ApiResult::ScheduleStatusResult(ScheduleStatusResult {
                tasks: Some(tasks),
            })),
        )
    });
    let (result, out) = run_cli(&["--scheduler-url", &server.url(), "tasks", "www/prod/web"]);
    result.unwrap();
    assert_eq!(
        out,
        "\
INSTANCE  STATUS   HOST   TASK ID  LAST EVENT
0         RUNNING  host0  t-0      Task is healthy
1         PENDING  host1  t-1      Task pending
"
    );
    let Call::GetTasksWithoutConfigs(args) = decoded_call(&server.requests()[0]) else {
        panic!("wrong method");
    };
    let query = args.query.unwrap();
    assert_eq!(
        query.job_keys,
        Some(vec![JobKey::new("www", "prod", "web")])
    );
    let mut statuses = query.statuses.unwrap();
    statuses.sort();
    let mut active = ScheduleStatus::ACTIVE.to_vec();
    active.sort();
    assert_eq!(statuses, active);

    let (result, _) = run_cli(&[
        "--scheduler-url",
        &server.url(),
        "tasks",
        "www/prod/web",
        "--all",
    ]);
    result.unwrap();
    let Call::GetTasksWithoutConfigs(args) = decoded_call(&server.requests()[1]) else {
        panic!("wrong method");
    };
    assert_eq!(
        args.query.unwrap().statuses,
        None,
        "--all filters on no status"
    );
}

#[test]
fn create_sends_a_one_process_job_in_the_schedulers_default_tier() {
    let server = TestServer::start(|_, r, _| match decoded_call(r) {
        Call::GetTierConfigs(_) => thrift_reply(
            r,
            &Response {
                server_info: Some(ServerInfo {
                    cluster_name: Some("simcluster".into()),
                    stats_url_prefix: None,
                }),
                ..with_result(ApiResult::GetTierConfigResult(GetTierConfigResult {
                    default_tier_name: Some("preemptible".into()),
                    tiers: Some(vec![]),
                }))
            },
        ),
        _ => ok_reply(r),
    });
    let (result, out) = run_cli(&[
        "--scheduler-url",
        &server.url(),
        "create",
        "www/devel/hello",
        "--cmd",
        "echo hi",
        "--instances",
        "3",
        "--cpu",
        "0.25",
        "--ram-mb",
        "64",
        "--service",
    ]);
    result.unwrap();
    assert_eq!(
        out,
        "created service www/devel/hello with 3 instance(s) in tier preemptible\n"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let Call::CreateJob(args) = decoded_call(&requests[1]) else {
        panic!("second call is not createJob");
    };
    let config = args.description.unwrap();
    assert_eq!(config.instance_count, 3);
    let task = config.task_config.unwrap();
    assert!(task.is_service);
    assert_eq!(task.tier.as_deref(), Some("preemptible"));
    assert_eq!(
        task.resources.unwrap(),
        vec![
            Resource::NumCpus(0.25),
            Resource::RamMb(64),
            Resource::DiskMb(128)
        ]
    );
    let data: serde_json::Value =
        serde_json::from_str(&task.executor_config.unwrap().data.unwrap()).unwrap();
    assert_eq!(data["cluster"], "simcluster");
    assert_eq!(data["task"]["processes"][0]["cmdline"], "echo hi");
    assert_eq!(data["task"]["resources"]["ram"], 64 * 1024 * 1024);
}

#[test]
fn kill_sends_the_instances_given_and_prints_the_schedulers_details() {
    let server = TestServer::start(|_, r, _| {
        thrift_reply(r, &response(ResponseCode::OK, &["No tasks to kill."]))
    });
    let (result, out) = run_cli(&[
        "--scheduler-url",
        &server.url(),
        "kill",
        "www/prod/web",
        "--instances",
        "2,0-1",
    ]);
    result.unwrap();
    assert_eq!(
        out,
        "kill requested for instances 0,1,2 of www/prod/web\nscheduler: No tasks to kill.\n"
    );
    let Call::KillTasks(args) = decoded_call(&server.requests()[0]) else {
        panic!("wrong method");
    };
    assert_eq!(args.job, Some(JobKey::new("www", "prod", "web")));
    assert_eq!(args.instances, Some(vec![0, 1, 2]));

    run_cli(&["--scheduler-url", &server.url(), "kill", "www/prod/web"])
        .0
        .unwrap();
    let Call::KillTasks(args) = decoded_call(&server.requests()[1]) else {
        panic!("wrong method");
    };
    assert_eq!(args.instances, None, "no --instances kills all");
}

#[test]
fn call_sends_json_arguments_and_prints_the_response_as_json() {
    let server = TestServer::start(|_, r, _| ok_reply(r));
    let (result, out) = run_cli(&[
        "--scheduler-url",
        &server.url(),
        "call",
        "getQuota",
        "--json",
        r#"{"ownerRole": "www"}"#,
    ]);
    result.unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["responseCode"], "OK");
    assert_eq!(
        decoded_call(&server.requests()[0]),
        Call::GetQuota(crate::api::methods::GetQuota {
            owner_role: Some("www".into())
        })
    );
}

#[test]
fn a_non_ok_answer_is_printed_by_call_and_exits_1() {
    let server = TestServer::start(|_, r, _| {
        thrift_reply(
            r,
            &response(ResponseCode::INVALID_REQUEST, &["No such job"]),
        )
    });
    let (result, out) = run_cli(&[
        "--scheduler-url",
        &server.url(),
        "call",
        "killTasks",
        "--json",
        r#"{"job": {"role": "www", "environment": "prod", "name": "x"}}"#,
    ]);
    let e = result.unwrap_err();
    assert_eq!(e.exit_code(), exit::SCHEDULER);
    assert!(
        e.to_string().contains("INVALID_REQUEST: No such job"),
        "{e}"
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["responseCode"], "INVALID_REQUEST");

    let (result, _) = run_cli(&["--scheduler-url", &server.url(), "kill", "www/prod/x"]);
    assert_eq!(result.unwrap_err().exit_code(), exit::SCHEDULER);
}

#[test]
fn transport_and_http_errors_exit_3() {
    // HTTP 500 is never retried, so the default backoff does not slow the test.
    let server = TestServer::start(|_, _, _| Reply::status(500));
    let (result, _) = run_cli(&["--scheduler-url", &server.url(), "kill", "www/prod/web"]);
    let e = result.unwrap_err();
    assert!(e.to_string().contains("HTTP 500"), "{e}");
    assert_eq!(e.exit_code(), exit::TRANSPORT);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn bad_raw_call_arguments_are_usage_errors() {
    let server = TestServer::start(|_, r, _| ok_reply(r));
    for (method, json) in [
        ("getFoo", "{}"),
        ("getQuota", "{"),
        ("getQuota", r#"{"role": "x"}"#),
    ] {
        let (result, _) = run_cli(&[
            "--scheduler-url",
            &server.url(),
            "call",
            method,
            "--json",
            json,
        ]);
        assert_eq!(
            result.unwrap_err().exit_code(),
            exit::USAGE,
            "{method} {json}"
        );
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let status = |args: &[&str]| {
        parse(
            std::iter::once("aurora-ansible")
                .chain(args.iter().copied())
                .map(OsString::from),
        )
        .err()
        .map(|e| e.exit_code())
    };
    assert_eq!(status(&["tasks", "www/prod"]), Some(2));
    assert_eq!(status(&["frobnicate"]), Some(2));
    assert_eq!(
        status(&["kill", "www/prod/web", "--instances", "0,x"]),
        Some(2)
    );
    assert_eq!(
        status(&["create", "www/prod/web"]),
        Some(2),
        "--cmd is required"
    );
    assert_eq!(
        status(&["create", "w/p/n", "--cmd", "x", "--service", "--batch"]),
        Some(2)
    );
    assert_eq!(
        status(&["--scheduler-url", "http://h", "--cluster", "c", "jobs"]),
        Some(2),
        "an explicit URL next to a cluster is ambiguous"
    );
    assert_eq!(status(&["--help"]), Some(0));
    assert_eq!(status(&["--cluster", "c", "jobs"]), None);
}

#[test]
fn the_help_documents_the_exit_statuses_and_hides_the_password_value() {
    let help = Cli::command().render_long_help().to_string();
    for line in [
        "0  success",
        "1  the scheduler answered",
        "2  usage error",
        "3  transport",
        "4  cluster lookup",
    ] {
        assert!(help.contains(line), "{line:?} missing from help");
    }
    let password = Cli::command()
        .get_arguments()
        .find(|a| a.get_id() == "password")
        .map(|a| a.is_hide_env_values_set());
    assert_eq!(password, Some(true));
}

fn connection(args: &[&str]) -> ConnectionArgs {
    Cli::try_parse_from(
        std::iter::once("aurora-ansible")
            .chain(args.iter().copied())
            .chain(["jobs"]),
    )
    .unwrap()
    .connection
}

fn clusters_file(dir: &Path) -> Vec<PathBuf> {
    let path = dir.join("clusters.json");
    std::fs::write(
        &path,
        r#"[{"name": "dev", "scheduler_uri": "http://dev.example:8081"},
            {"name": "zk", "zk": "zk1", "scheduler_zk_path": "/aurora"}]"#,
    )
    .unwrap();
    vec![path]
}

#[test]
fn a_cluster_name_resolves_to_its_scheduler_uri_and_lookup_errors_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let paths = clusters_file(dir.path());
    let load = || Clusters::load(&paths);

    let config = connection(&[
        "--cluster",
        "dev",
        "--timeout",
        "2.5",
        "--no-validate-certs",
    ])
    .client_config(load)
    .unwrap();
    assert_eq!(config.scheduler_url, "http://dev.example:8081");
    assert_eq!(config.timeout, Duration::from_millis(2500));
    assert!(!config.validate_certs);

    for name in ["zk", "nowhere"] {
        let e = connection(&["--cluster", name])
            .client_config(load)
            .unwrap_err();
        assert_eq!(e.exit_code(), exit::CONFIG, "{e}");
    }
}

#[test]
fn a_cluster_on_the_command_line_wins_over_a_url_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let paths = clusters_file(dir.path());
    let mut args = connection(&["--cluster", "dev"]);
    // As clap fills it from AURORA_SCHEDULER_URL (an explicit flag next to --cluster is refused).
    args.scheduler_url = Some("http://from-the-environment:8081".into());
    let config = args.client_config(|| Clusters::load(&paths)).unwrap();
    assert_eq!(config.scheduler_url, "http://dev.example:8081");

    let mut args = connection(&["--cluster", "nowhere"]);
    args.scheduler_url = Some("http://from-the-environment:8081".into());
    let e = args.client_config(|| Clusters::load(&paths)).unwrap_err();
    assert!(e.to_string().contains("unknown cluster \"nowhere\""), "{e}");
}

#[test]
fn a_password_in_the_scheduler_url_is_refused_with_exit_4_and_not_shown() {
    let args = connection(&["--scheduler-url", "https://ops:hunter2@127.0.0.1:1/"]);
    let config = args.client_config(|| Ok(Clusters::default())).unwrap();
    let e = CliError::from(Client::new(&config).unwrap_err());
    assert_eq!(e.exit_code(), exit::CONFIG);
    let msg = e.to_string();
    assert!(msg.contains("--username and --password"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[test]
fn missing_or_unusable_connection_settings_exit_4() {
    // The environment may name a scheduler; these tests must not depend on it.
    let mut args = connection(&[]);
    args.scheduler_url = None;
    args.cluster = None;
    let e = args.client_config(|| Ok(Clusters::default())).unwrap_err();
    assert_eq!(e.exit_code(), exit::CONFIG);
    assert!(e.to_string().contains("--scheduler-url"), "{e}");

    let args = connection(&[
        "--scheduler-url",
        "http://127.0.0.1:1",
        "--ca-path",
        "/nonexistent/ca.pem",
    ]);
    let config = args.client_config(|| Ok(Clusters::default())).unwrap();
    let e = CliError::from(Client::new(&config).unwrap_err());
    assert_eq!(e.exit_code(), exit::CONFIG);
}

#[test]
fn timeouts_must_be_positive_seconds() {
    for bad in ["0", "-1", "abc", "1e9"] {
        assert!(
            Cli::try_parse_from(["aurora-ansible", "--timeout", bad, "jobs"]).is_err(),
            "{bad}"
        );
    }
}
