//! `call METHOD --json ARGS`: any method, its argument struct given as JSON in the serde form of
//! the API types (the IDL's camelCase field names), the Response printed as JSON.

use std::io::Write;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{emit, to_json, CliError};
use crate::api::client::{Client, ClientError};
use crate::api::methods::{self, Method};
use crate::api::types::Response;

/// Sends the call with arguments already parsed and checked.
type Runner = fn(&Client, Value) -> Result<Response, RawError>;

enum RawError {
    Args(String),
    Client(ClientError),
}

/// Parses `args` as the arguments of `M`, refusing fields `M` does not have: a typo must not turn
/// into an unset argument, which for a write could mean "all instances".
fn parse_args<M: DeserializeOwned + Serialize>(args: Value) -> Result<M, String> {
    if !args.is_object() {
        return Err("the arguments must be a JSON object".to_string());
    }
    let parsed: M = serde_json::from_value(args.clone()).map_err(|e| e.to_string())?;
    let echoed = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    let mut unknown = Vec::new();
    unknown_fields(&args, &echoed, "", &mut unknown);
    if !unknown.is_empty() {
        return Err(format!("unknown field(s): {}", unknown.join(", ")));
    }
    Ok(parsed)
}

/// Object keys present (and not null) in `given` but absent from `echoed`, the parsed value
/// serialized back: those are fields serde skipped.
fn unknown_fields(given: &Value, echoed: &Value, path: &str, found: &mut Vec<String>) {
    match (given, echoed) {
        (Value::Object(g), Value::Object(e)) => {
            for (key, value) in g {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match e.get(key) {
                    Some(echo) => unknown_fields(value, echo, &here, found),
                    None if value.is_null() => {}
                    None => found.push(here),
                }
            }
        }
        (Value::Array(g), Value::Array(e)) => {
            for (i, (gv, ev)) in g.iter().zip(e).enumerate() {
                unknown_fields(gv, ev, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

fn run<M: Method + DeserializeOwned + Serialize>(
    client: &Client,
    args: Value,
) -> Result<Response, RawError> {
    let args: M = parse_args(args).map_err(RawError::Args)?;
    client.call(&args).map_err(RawError::Client)
}

fn check<M: Method + DeserializeOwned + Serialize>(args: Value) -> Result<(), String> {
    parse_args::<M>(args).map(|_| ())
}

macro_rules! raw_methods {
    ($($ty:ident),* $(,)?) => {
        /// Every method by name, with its runner and its argument checker.
        const RAW: &[(&str, Runner, fn(Value) -> Result<(), String>)] = &[
            $( (<methods::$ty as Method>::NAME, run::<methods::$ty>, check::<methods::$ty>), )*
        ];
    };
}

raw_methods! {
    GetRoleSummary, GetJobSummary, GetTasksStatus, GetTasksWithoutConfigs, GetPendingReason,
    GetConfigSummary, GetJobs, GetQuota, PopulateJobConfig, GetJobUpdateSummaries,
    GetJobUpdateDetails, GetJobUpdateDiff, GetTierConfigs,
    CreateJob, ScheduleCronJob, DescheduleCronJob, StartCronJob, RestartShards, KillTasks,
    AddInstances, ReplaceCronTemplate, StartJobUpdate, PauseJobUpdate, ResumeJobUpdate,
    AbortJobUpdate, RollbackJobUpdate, PulseJobUpdate,
    SetQuota, ForceTaskState, PerformBackup, ListBackups, StageRecovery, QueryRecovery,
    DeleteRecoveryTasks, CommitRecovery, UnloadRecovery, StartMaintenance, DrainHosts,
    MaintenanceStatus, EndMaintenance, SlaDrainHosts, Snapshot, TriggerExplicitTaskReconciliation,
    TriggerImplicitTaskReconciliation, PruneTasks,
}

/// The method's static name and its runner.
fn runner(method: &str) -> Option<(&'static str, Runner)> {
    RAW.iter()
        .find(|(n, _, _)| *n == method)
        .map(|(n, r, _)| (*n, *r))
}

pub fn call(
    client: &Client,
    method: &str,
    json: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let Some((name, run)) = runner(method) else {
        let names: Vec<&str> = RAW.iter().map(|(n, _, _)| *n).collect();
        return Err(CliError::Usage(format!(
            "unknown method {method:?}; methods: {}",
            names.join(", ")
        )));
    };
    let args: Value = serde_json::from_str(json)
        .map_err(|e| CliError::Usage(format!("--json for {method} is not valid JSON: {e}")))?;
    let response = match run(client, args) {
        Ok(r) => r,
        Err(RawError::Args(e)) => {
            return Err(CliError::Usage(format!(
                "--json is not valid arguments for {method}: {e}"
            )))
        }
        Err(RawError::Client(e)) => return Err(e.into()),
    };
    // The Response is printed whatever its code; a non-OK code still sets the exit status.
    emit(out, &to_json(&response));
    client.check(name, response)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::methods::METHODS;

    #[test]
    fn every_method_of_the_api_can_be_called_by_name() {
        for (name, _) in METHODS {
            assert!(runner(name).is_some(), "{name} is missing from RAW");
        }
        assert_eq!(RAW.len(), METHODS.len());
    }

    #[test]
    fn empty_arguments_are_accepted_by_every_method() {
        for (name, _, check) in RAW {
            assert_eq!(check(serde_json::json!({})), Ok(()), "{name}");
        }
    }

    #[test]
    fn arguments_use_the_camel_case_names_of_the_idl() {
        let check = |name: &str, json: &str| {
            let (_, _, check) = RAW.iter().find(|(n, _, _)| *n == name).unwrap();
            check(serde_json::from_str(json).unwrap())
        };
        assert_eq!(check("getJobSummary", r#"{"role": "www"}"#), Ok(()));
        assert_eq!(
            check(
                "killTasks",
                r#"{"job": {"role": "www", "environment": "prod", "name": "hello"}, "instances": [0, 1]}"#
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "getTasksStatus",
                r#"{"query": {"jobKeys": [{"role": "www"}], "statuses": ["RUNNING"]}}"#
            ),
            Ok(())
        );
        assert_eq!(check("getQuota", r#"{"ownerRole": "www"}"#), Ok(()));
    }

    #[test]
    fn unknown_or_misspelt_fields_are_refused_with_their_path() {
        let (_, _, check) = RAW.iter().find(|(n, _, _)| *n == "killTasks").unwrap();
        let e = check(serde_json::json!({"job": {"role": "www", "env": "prod"}, "instance": [0]}))
            .unwrap_err();
        assert!(e.contains("job.env"), "{e}");
        assert!(e.contains("instance"), "{e}");
        let e = check(serde_json::json!([1])).unwrap_err();
        assert!(e.contains("JSON object"), "{e}");
        // A null is just an unset field.
        assert_eq!(check(serde_json::json!({"message": null})), Ok(()));
    }
}
