//! Whole module runs through `module_result` / `run_module_file_with` on a temp arguments file.

use std::process::ExitCode;

use serde_json::{json, Value};

use super::*;

/// The keys ansible-core 2.19 adds to every arguments file (binary-modules.md §1.3).
fn ansible_keys(check_mode: bool, diff: bool) -> Value {
    json!({
        "_ansible_check_mode": check_mode, "_ansible_no_log": false, "_ansible_debug": false,
        "_ansible_diff": diff, "_ansible_verbosity": 0, "_ansible_version": "2.19.14",
        "_ansible_module_name": "aurora.scheduler.deploy", "_ansible_syslog_facility": "LOG_USER",
        "_ansible_selinux_special_fs": ["fuse", "nfs"], "_ansible_socket": null,
        "_ansible_shell_executable": "/bin/sh", "_ansible_keep_remote_files": false,
        "_ansible_tmpdir": "~/.ansible/tmp/ansible-tmp-1/", "_ansible_remote_tmp": "~/.ansible/tmp",
        "_ansible_ignore_unknown_opts": false, "_ansible_target_log_info": null,
        "_ansible_tracebacks_for": []
    })
}

fn merged(a: Value, b: Value) -> Value {
    let mut a = a;
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Runs the test modules on these arguments (options plus `_ansible_*` keys).
fn run_args(args: Value) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = args_file(dir.path(), &args);
    module_result(TEST_MODULES, &path, &env_of(&[]))
}

/// Runs the deploy module as a plain `ansible-playbook` task would.
fn run_task(options: Value) -> Value {
    run_args(merged(ansible_keys(false, false), options))
}

#[test]
fn a_successful_run_returns_the_outcome_and_the_normalised_invocation() {
    let result = run_task(with(json!({"instances": "2"})));
    assert_eq!(result["changed"], json!(true));
    assert_eq!(result["msg"], json!("web has 2 instances"));
    assert_eq!(result["instances"], json!(2));
    assert_eq!(result["invocation"]["module_args"]["instances"], json!(2));
    assert_eq!(
        result["invocation"]["module_args"]["state"],
        json!("present")
    );
    assert!(result.get("failed").is_none());
    assert!(result.get("diff").is_none(), "no diff without --diff");
    assert!(result.get("warnings").is_none(), "no empty warnings");
    assert!(result["invocation"]["module_args"]
        .get("_ansible_check_mode")
        .is_none());
}

#[test]
fn the_diff_is_returned_only_with_diff_mode() {
    let result = run_args(merged(ansible_keys(false, true), minimal()));
    assert_eq!(
        result["diff"],
        json!({"before": {"state": "absent"}, "after": {"state": "present"}})
    );
}

#[test]
fn check_mode_reaches_the_module() {
    let result = run_args(merged(ansible_keys(true, false), minimal()));
    assert_eq!(result["changed"], json!(false));
}

#[test]
fn warnings_from_the_module_are_returned() {
    let result = run_task(with(json!({"behavior": "warn"})));
    assert_eq!(result["warnings"], json!(["careful with web"]));
}

#[test]
fn the_module_is_chosen_by_the_last_part_of_its_name() {
    for name in [
        "deploy",
        "aurora.scheduler.deploy",
        "other.collection.deploy",
    ] {
        let result = run_args(with(json!({"_ansible_module_name": name})));
        assert_eq!(result["msg"], json!("web has 1 instances"), "{name}");
    }
}

#[test]
fn an_unknown_module_fails_listing_the_known_ones() {
    let result = run_args(with(
        json!({"_ansible_module_name": "aurora.scheduler.jbo"}),
    ));
    assert_eq!(result["failed"], json!(true));
    assert_eq!(
        result["msg"],
        json!("aurora-ansible has no module named \"aurora.scheduler.jbo\" (from _ansible_module_name, \
               or the executable's name); the modules it has are: aurora.scheduler.deploy, \
               aurora.scheduler.restart")
    );
}

#[test]
fn option_errors_fail_with_every_message_and_the_options_as_given() {
    let result =
        run_task(json!({"name": "web", "instances": "x", "bogus": 1, "password": "hunter2"}));
    assert_eq!(result["failed"], json!(true));
    let msg = result["msg"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("Unsupported parameters for (aurora.scheduler.deploy) module: bogus."),
        "{msg}"
    );
    assert!(
        msg.contains("one of the following is required: scheduler_url, cluster"),
        "{msg}"
    );
    assert!(msg.contains("argument 'instances' is of type str"), "{msg}");
    assert_eq!(result["invocation"]["module_args"]["bogus"], json!(1));
    assert_eq!(
        result["invocation"]["module_args"]["password"],
        json!(NO_LOG_PLACEHOLDER)
    );
}

#[test]
fn unknown_options_are_ignored_when_ansible_says_so() {
    let result = run_task(with(
        json!({"bogus": 1, "_ansible_ignore_unknown_opts": true}),
    ));
    assert_eq!(result.get("failed"), None);
    assert!(result["invocation"]["module_args"].get("bogus").is_none());
}

#[test]
fn a_secret_is_masked_in_the_invocation_and_in_every_string_of_the_result() {
    let result = run_task(with(json!({
        "password": "hunter2", "behavior": "fail",
        "labels": ["user:hunter2@host"]
    })));
    assert_eq!(result["failed"], json!(true));
    assert_eq!(result["msg"], json!("login with password ******** refused"));
    assert_eq!(result["status"], json!(401));
    let args = &result["invocation"]["module_args"];
    assert_eq!(args["password"], json!(NO_LOG_PLACEHOLDER));
    assert_eq!(args["labels"], json!(["user:********@host"]));
    assert!(!result.to_string().contains("hunter2"));
}

#[test]
fn a_secret_echoed_as_a_field_is_replaced_whole() {
    let result = run_task(with(json!({"password": "hunter2"})));
    assert_eq!(result["echo_password"], json!(NO_LOG_PLACEHOLDER));
    assert_eq!(result["changed"], json!(true), "booleans are never masked");
}

#[test]
fn a_secret_from_the_environment_is_masked_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = args_file(dir.path(), &merged(ansible_keys(false, false), minimal()));
    let result = module_result(
        TEST_MODULES,
        &path,
        &env_of(&[("TEST_PASSWORD", "from-env-secret")]),
    );
    assert_eq!(
        result["invocation"]["module_args"]["password"],
        json!(NO_LOG_PLACEHOLDER)
    );
    assert_eq!(result["echo_password"], json!(NO_LOG_PLACEHOLDER));
}

#[test]
fn a_value_serde_refuses_after_the_checks_is_named_by_its_option_path() {
    // A valid size the test type does not read (it knows only MiB and GiB).
    let result = run_task(with(json!({"resources": {"cpu": 1, "ram": "12KiB"}})));
    assert_eq!(result["failed"], json!(true));
    assert_eq!(
        result["msg"],
        json!("value of ram is invalid: \"12KiB\" is not a size such as 512MiB found in resources")
    );
}

#[test]
fn a_panic_becomes_a_failed_result_naming_the_bug_and_where() {
    let result = run_task(with(json!({"behavior": "panic", "password": "hunter2"})));
    assert_eq!(result["failed"], json!(true));
    let msg = result["msg"].as_str().unwrap_or_default();
    assert!(msg.starts_with("this is a bug in aurora-ansible, please report it: the module panicked at src/ansible/tests/mod.rs:"), "{msg}");
    assert!(
        msg.ends_with(": the test module panics on purpose"),
        "{msg}"
    );
    assert_eq!(
        result["invocation"]["module_args"]["password"],
        json!(NO_LOG_PLACEHOLDER)
    );
}

#[test]
fn a_module_without_check_mode_is_skipped_under_check() {
    let result = run_args(
        json!({"_ansible_module_name": "aurora.scheduler.restart", "_ansible_check_mode": true}),
    );
    assert_eq!(result["skipped"], json!(true));
    assert_eq!(
        result["msg"],
        json!("remote module (aurora.scheduler.restart) does not support check mode")
    );
    let run = run_args(json!({"_ansible_module_name": "aurora.scheduler.restart"}));
    assert_eq!(run["changed"], json!(true));
}

#[test]
fn an_unreadable_or_malformed_arguments_file_fails_with_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope");
    let result = module_result(TEST_MODULES, &missing, &env_of(&[]));
    assert_eq!(result["failed"], json!(true));
    assert!(result["msg"]
        .as_str()
        .unwrap_or_default()
        .starts_with("cannot read the module arguments file"));

    let path = dir.path().join("args");
    std::fs::write(&path, "name=web").expect("write");
    let result = module_result(TEST_MODULES, &path, &env_of(&[]));
    assert!(
        result["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("is not JSON"),
        "{result}"
    );

    std::fs::write(&path, "[1, 2]").expect("write");
    let result = module_result(TEST_MODULES, &path, &env_of(&[]));
    assert!(result["msg"]
        .as_str()
        .unwrap_or_default()
        .ends_with("holds a JSON array, not an object of options"));
}

#[test]
fn the_output_is_one_json_line_and_the_exit_status_follows_failed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = args_file(dir.path(), &with(json!({"_ansible_module_name": "deploy"})));
    let mut out = Vec::new();
    let status = run_module_file_with(TEST_MODULES, &good, &env_of(&[]), &mut out);
    assert_eq!(status, ExitCode::SUCCESS);
    let text = String::from_utf8(out).expect("UTF-8");
    assert_eq!(text.lines().count(), 1);
    assert!(serde_json::from_str::<Value>(&text)
        .expect("JSON")
        .is_object());

    let bad = args_file(dir.path(), &json!({"_ansible_module_name": "deploy"}));
    let mut out = Vec::new();
    assert_eq!(
        run_module_file_with(TEST_MODULES, &bad, &env_of(&[]), &mut out),
        ExitCode::FAILURE
    );
}

#[test]
fn a_failure_from_an_error_carries_its_causes() {
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("cannot reach the scheduler")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let failure = Failure::from(Outer(std::io::Error::other("connection refused")));
    assert_eq!(
        failure.msg(),
        "cannot reach the scheduler: connection refused"
    );
}

#[test]
fn protocol_keys_win_over_module_fields_of_the_same_name() {
    let result = Outcome::changed(true)
        .field("changed", false)
        .field("failed", true)
        .field("diff", "x")
        .into_result(false);
    assert_eq!(Value::Object(result), json!({"changed": true}));
    let failed = Failure::new("boom")
        .field("changed", true)
        .field("failed", false)
        .into_result();
    assert_eq!(
        Value::Object(failed),
        json!({"changed": true, "failed": true, "msg": "boom"})
    );
}

#[test]
fn deprecations_name_the_collection() {
    let mut ctx = Context::new("deploy");
    ctx.deprecate("option x goes away", "2.0.0");
    assert_eq!(
        ctx.deprecations(),
        [
            json!({"msg": "option x goes away", "version": "2.0.0", "collection_name": "aurora.scheduler"})
        ]
    );
    assert_eq!(ctx.module_name, "aurora.scheduler.deploy");
}

#[test]
fn the_module_receives_the_converted_options_as_its_typed_struct() {
    let result = run_task(with(json!({
        "instances": "2", "wait": "yes", "resources": {"cpu": "0.5", "ram": "512MiB"},
        "container": {"docker": {"image": "nginx"}}, "ordering": [["a"], ["b"]], "labels": "x,y"
    })));
    let options = &result["options"];
    assert_eq!(result.get("failed"), None, "{result}");
    assert_eq!(options["instances"], json!(2));
    assert_eq!(options["wait"], json!(true));
    assert_eq!(
        options["resources"],
        json!({"cpu": 0.5, "ram": 536870912, "disk": null})
    );
    assert_eq!(
        options["container"],
        json!({"docker": {"image": "nginx", "registry": null}})
    );
    assert_eq!(options["ordering"], json!([["a"], ["b"]]));
    assert_eq!(options["labels"], json!(["x", "y"]));
    assert_eq!(options["processes"], json!([]));
}

#[test]
fn a_failure_after_part_of_the_work_reports_the_change_and_what_was_done() {
    let done = Outcome::changed(true)
        .msg("ml/devel/web created with 3 instances")
        .field("job", "ml/devel/web")
        .field("update_id", "u-1");
    let failed = Failure::new("getTasksStatus: lost the connection")
        .field("update_id", "u-2")
        .after(done)
        .into_result();
    assert_eq!(
        Value::Object(failed),
        json!({
            "changed": true, "failed": true, "job": "ml/devel/web", "update_id": "u-2",
            "msg": "ml/devel/web created with 3 instances; then getTasksStatus: lost the connection"
        })
    );
    let nothing_done = Failure::new("boom")
        .after(Outcome::unchanged())
        .into_result();
    assert_eq!(
        Value::Object(nothing_done),
        json!({"changed": false, "failed": true, "msg": "boom"})
    );
}

#[test]
fn a_value_serde_refuses_inside_a_flattened_struct_is_named_by_its_option_path() {
    // serde_path_to_error loses the path at `#[serde(flatten)]`, which every module uses.
    #[derive(Debug, Deserialize)]
    struct Sizes {
        #[allow(dead_code)]
        ram: Bytes,
    }
    #[derive(Debug, Deserialize)]
    struct Task {
        #[allow(dead_code)]
        name: String,
        #[serde(flatten)]
        #[allow(dead_code)]
        sizes: Sizes,
    }
    #[derive(Debug, Deserialize)]
    struct Options {
        #[serde(flatten)]
        #[allow(dead_code)]
        connection: Connection,
        #[allow(dead_code)]
        processes: Vec<Task>,
    }
    let error = crate::ansible::module::parse_options::<Options>(json!({
        "scheduler_url": "http://x", "validate_certs": true,
        "processes": [{"name": "a", "ram": 1}, {"name": "b", "ram": "12KiB"}]
    }))
    .unwrap_err();
    assert_eq!(
        error,
        "value of ram is invalid: \"12KiB\" is not a size such as 512MiB found in processes[1]"
    );
    #[derive(Debug, Deserialize)]
    struct Flat {
        #[serde(flatten)]
        #[allow(dead_code)]
        sizes: Sizes,
        #[allow(dead_code)]
        name: String,
    }
    let error = crate::ansible::module::parse_options::<Flat>(json!({"name": "a", "ram": "1TB"}))
        .unwrap_err();
    assert_eq!(
        error,
        "value of ram is invalid: \"1TB\" is not a size such as 512MiB"
    );
}

#[test]
fn check_module_args_answers_as_a_run_without_running() {
    let text = merged(
        ansible_keys(false, false),
        with(json!({"behavior": "panic"})),
    )
    .to_string();
    assert_eq!(
        check_module_args(TEST_MODULES, &text, &env_of(&[])),
        Ok("deploy")
    );
    let text = merged(ansible_keys(false, false), with(json!({"instances": -1}))).to_string();
    assert_eq!(
        check_module_args(TEST_MODULES, &text, &env_of(&[])),
        Err("value of instances must be at least 0, got: -1".to_owned())
    );
    assert!(check_module_args(TEST_MODULES, "[1]", &env_of(&[]))
        .unwrap_err()
        .contains("not an object of options"));
}
