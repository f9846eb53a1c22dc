//! The module protocol in a real process: this test binary is also a module executable (run
//! with one argument, an arguments file, it runs `run_module_file`), and the product's
//! `aurora-ansible` answers a module call. Checks what only a process shows: stdout holds exactly
//! one JSON object, the exit status, and a panic reported as JSON without a backtrace.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, Output};

use aurora_ansible::ansible::{
    run_module_file, AnyModule, Context, Documentation, Failure, Module, Outcome,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

/// Options of the probe module.
#[derive(Deserialize, JsonSchema)]
struct ProbeOptions {
    /// What to do: `ok`, `fail` or `panic`.
    action: String,
    /// How many times.
    #[serde(default)]
    count: u32,
}

struct Probe;

impl Module for Probe {
    const NAME: &'static str = "probe";
    type Options = ProbeOptions;

    fn documentation() -> Documentation {
        Documentation::new("Probe the protocol")
    }

    fn run(options: ProbeOptions, ctx: &mut Context) -> Result<Outcome, Failure> {
        match options.action.as_str() {
            "panic" => panic!("probe panics on purpose"),
            "fail" => Err(Failure::new("probe fails on purpose")),
            _ => {
                ctx.warn("probe warns");
                Ok(Outcome::changed(true).field("count", options.count))
            }
        }
    }
}

const MODULES: &[&dyn AnyModule] = &[&Probe];

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let [_, only] = args.as_slice() {
        if Path::new(only).is_file() {
            return run_module_file(MODULES, Path::new(only));
        }
    }
    run_cases()
}

type Case = (&'static str, fn() -> Result<(), String>);

fn run_cases() -> ExitCode {
    let cases: [Case; 5] = [
        (
            "a_successful_run_prints_one_json_object_and_exits_zero",
            successful_run,
        ),
        (
            "an_option_error_prints_failed_json_and_exits_one",
            option_error,
        ),
        (
            "a_panic_prints_failed_json_naming_the_bug_without_a_backtrace",
            panic_run,
        ),
        (
            "the_aurora_ansible_executable_answers_a_module_call_with_json",
            product_executable,
        ),
        (
            "a_missing_arguments_file_is_a_json_failure_not_the_cli_usage",
            missing_arguments_file,
        ),
    ];
    let mut failed = 0;
    for (name, case) in cases {
        match case() {
            Ok(()) => println!("test {name} ... ok"),
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n  {why}");
            }
        }
    }
    println!("{} passed, {failed} failed", cases.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `executable` on an arguments file holding `args`, as ansible-core does.
fn run_module(executable: &Path, args: &Value) -> Result<Output, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("args");
    std::fs::write(&path, args.to_string()).map_err(|e| e.to_string())?;
    Command::new(executable)
        .arg(&path)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", executable.display()))
}

fn run_probe(args: Value) -> Result<Output, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    run_module(&me, &args)
}

/// The one JSON object on stdout, or why stdout is not exactly that.
fn one_json_object(output: &Output) -> Result<Value, String> {
    let stdout = String::from_utf8(output.stdout.clone()).map_err(|e| e.to_string())?;
    let lines: Vec<&str> = stdout.lines().collect();
    let [line] = lines.as_slice() else {
        return Err(format!("stdout is not one line: {stdout:?}"));
    };
    match serde_json::from_str::<Value>(line) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(format!("stdout is not a JSON object: {line:?}")),
    }
}

fn expect(condition: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(what())
    }
}

fn successful_run() -> Result<(), String> {
    let output = run_probe(
        json!({"action": "ok", "count": "3", "_ansible_module_name": "aurora.scheduler.probe"}),
    )?;
    let result = one_json_object(&output)?;
    expect(output.status.code() == Some(0), || {
        format!("exit status {:?}", output.status)
    })?;
    expect(output.stderr.is_empty(), || {
        format!("stderr: {}", String::from_utf8_lossy(&output.stderr))
    })?;
    expect(
        result["changed"] == json!(true) && result["count"] == json!(3),
        || result.to_string(),
    )?;
    expect(result["warnings"] == json!(["probe warns"]), || {
        result.to_string()
    })?;
    expect(
        result["invocation"]["module_args"] == json!({"action": "ok", "count": 3}),
        || result.to_string(),
    )
}

fn option_error() -> Result<(), String> {
    let output = run_probe(json!({"count": "x", "_ansible_module_name": "probe"}))?;
    let result = one_json_object(&output)?;
    expect(output.status.code() == Some(1), || {
        format!("exit status {:?}", output.status)
    })?;
    expect(
        result["failed"] == json!(true)
            && result["msg"]
                == json!("missing required arguments: action; argument 'count' is of type str and we were \
                          unable to convert to int: \"'x'\" cannot be converted to an int"),
        || result.to_string(),
    )
}

fn panic_run() -> Result<(), String> {
    let output = run_probe(json!({"action": "panic", "_ansible_module_name": "probe"}))?;
    let result = one_json_object(&output)?;
    expect(output.status.code() == Some(1), || {
        format!("exit status {:?}", output.status)
    })?;
    let msg = result["msg"].as_str().unwrap_or_default();
    expect(
        msg.starts_with("this is a bug in aurora-ansible, please report it: the module panicked at tests/module_process.rs:")
            && msg.ends_with(": probe panics on purpose"),
        || result.to_string(),
    )?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    expect(!stderr.contains("panicked"), || {
        format!("the panic was printed: {stderr}")
    })
}

fn product_executable() -> Result<(), String> {
    let executable = Path::new(env!("CARGO_BIN_EXE_aurora-ansible"));
    let output = run_module(
        executable,
        &json!({"_ansible_module_name": "aurora.scheduler.no_such_module"}),
    )?;
    let result = one_json_object(&output)?;
    expect(output.status.code() == Some(1), || {
        format!("exit status {:?}", output.status)
    })?;
    let msg = result["msg"].as_str().unwrap_or_default();
    expect(
        result["failed"] == json!(true)
            && msg.starts_with(
                "aurora-ansible has no module named \"aurora.scheduler.no_such_module\"",
            ),
        || result.to_string(),
    )
}

/// Issue 18: a missing arguments file made the executable print the CLI's usage, which Ansible
/// can only report as "Module result deserialization failed". Both ways ansible-core could name
/// it count (binary-modules.md §1.2, §1.4): a path, or a run under the name `AnsiballZ_<module>`.
fn missing_arguments_file() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let product = Path::new(env!("CARGO_BIN_EXE_aurora-ansible"));
    let copy = dir.path().join("AnsiballZ_job");
    std::os::unix::fs::symlink(product, &copy).map_err(|e| e.to_string())?;
    let missing = dir.path().join("args");
    for (executable, argument) in [
        (product, missing.as_os_str()),
        (copy.as_path(), std::ffi::OsStr::new("args")),
    ] {
        let output = Command::new(executable)
            .arg(argument)
            .current_dir(dir.path())
            .output()
            .map_err(|e| e.to_string())?;
        let result = one_json_object(&output)?;
        let msg = result["msg"].as_str().unwrap_or_default();
        expect(
            result["failed"] == json!(true)
                && msg.starts_with("cannot read the module arguments file"),
            || format!("{} {argument:?}: {result}", executable.display()),
        )?;
    }
    Ok(())
}
