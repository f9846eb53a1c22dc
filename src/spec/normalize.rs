//! Fills in the defaults the Aurora client writes into every Thermos document (client-reference
//! §1.8.1-1.8.2) and checks the types and the keys the executor needs, so that a document given
//! in `executor_config` ends up exactly as the Aurora client would submit it.

use serde_json::{json, Map, Number, Value};

use super::error::{Source, SpecError};
use super::options::json_kind;
use super::pyjson::python_str;
use super::update::as_int;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Int,
    Float,
    Bool,
    Dict,
    List,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "an integer",
            Kind::Float => "a number",
            Kind::Bool => "true or false",
            Kind::Dict => "a dict",
            Kind::List => "a list",
        }
    }
}

/// Collects missing keys (reported together) while failing at once on a wrong type.
struct Check {
    source: Source,
    missing: Vec<String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Check {
    /// Converts the value at `key` to `kind` as pystachio would; `Ok(false)` when it is absent.
    fn typed(
        &mut self,
        map: &mut Map<String, Value>,
        key: &str,
        path: &str,
        kind: Kind,
    ) -> Result<bool, SpecError> {
        let Some(value) = map.get_mut(key).filter(|v| !v.is_null()) else {
            return Ok(false);
        };
        let converted = match (kind, &*value) {
            (Kind::Text, Value::String(_))
            | (Kind::Bool, Value::Bool(_))
            | (Kind::Dict, Value::Object(_))
            | (Kind::List, Value::Array(_)) => None,
            (Kind::Text, Value::Number(_)) => python_str(value).map(Value::String),
            (Kind::Int, v) => match as_int(v) {
                Some(i) if v.is_f64() => Some(json!(i)),
                Some(_) => None,
                None => return Err(self.wrong(path, key, kind, v)),
            },
            (Kind::Float, Value::Number(n)) => match n.as_f64().and_then(Number::from_f64) {
                Some(f) if !n.is_f64() => Some(Value::Number(f)),
                Some(_) => None,
                None => return Err(self.wrong(path, key, kind, value)),
            },
            (_, v) => return Err(self.wrong(path, key, kind, v)),
        };
        if let Some(converted) = converted {
            *value = converted;
        }
        Ok(true)
    }

    fn wrong(&self, path: &str, key: &str, kind: Kind, value: &Value) -> SpecError {
        self.source.error(
            &join(path, key),
            format!("must be {}, found {}", kind.describe(), json_kind(value)),
        )
    }

    fn required(
        &mut self,
        map: &mut Map<String, Value>,
        key: &str,
        path: &str,
        kind: Kind,
    ) -> Result<(), SpecError> {
        if !self.typed(map, key, path, kind)? {
            self.missing.push(join(path, key));
        }
        Ok(())
    }

    fn default(
        &mut self,
        map: &mut Map<String, Value>,
        key: &str,
        path: &str,
        kind: Kind,
        default: Value,
    ) -> Result<(), SpecError> {
        if !self.typed(map, key, path, kind)? {
            map.insert(key.to_string(), default);
        }
        Ok(())
    }

    /// Refuses an integer at `key` below `min` (after `typed`); `meaning` says what the
    /// smallest values mean, for the message.
    fn at_least(
        &self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
        min: i64,
        meaning: &str,
    ) -> Result<(), SpecError> {
        match map.get(key).and_then(as_int) {
            Some(n) if n < min => Err(self.source.error(
                &join(path, key),
                format!("is {n}; it must be at least {min} ({meaning})"),
            )),
            _ => Ok(()),
        }
    }

    fn optional(
        &mut self,
        map: &mut Map<String, Value>,
        key: &str,
        path: &str,
        kind: Kind,
    ) -> Result<(), SpecError> {
        if !self.typed(map, key, path, kind)? {
            map.remove(key);
        }
        Ok(())
    }
}

/// Thermos's reading of a process's `max_failures` (client-reference §1.8.2), for the message.
const MAX_FAILURES_MEANING: &str = "0 retries without limit, N allows N failures";

fn dict<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// Completes and checks a whole document in place; `name` defaults to the task's name.
pub(crate) fn normalize(doc: &mut Map<String, Value>, source: Source) -> Result<(), SpecError> {
    let mut check = Check {
        source,
        missing: Vec::new(),
    };
    let c = &mut check;
    for key in ["role", "cluster", "environment"] {
        c.required(doc, key, "", Kind::Text)?;
    }
    c.default(doc, "name", "", Kind::Text, json!("{{task.name}}"))?;
    c.required(doc, "task", "", Kind::Dict)?;
    if let Some(task) = dict(doc, "task") {
        normalize_task(task, c)?;
    }
    c.default(doc, "production", "", Kind::Bool, json!(false))?;
    c.default(doc, "priority", "", Kind::Int, json!(0))?;
    c.default(doc, "service", "", Kind::Bool, json!(false))?;
    c.default(doc, "max_task_failures", "", Kind::Int, json!(1))?;
    // The scheduler counts attempts: -1 retries for ever, 0 and 1 never retry (api-reference
    // §6, FAILED transitions); anything below -1 means nothing.
    c.at_least(
        doc,
        "max_task_failures",
        "",
        -1,
        "-1 retries a failed instance without limit, N allows N attempts",
    )?;
    c.default(
        doc,
        "cron_collision_policy",
        "",
        Kind::Text,
        json!("KILL_EXISTING"),
    )?;
    c.default(doc, "enable_hooks", "", Kind::Bool, json!(false))?;
    for key in ["tier", "contact", "cron_schedule"] {
        c.optional(doc, key, "", Kind::Text)?;
    }
    c.default(doc, "metadata", "", Kind::List, json!([]))?;
    if let Some(Value::Array(items)) = doc.get_mut("metadata") {
        for (i, item) in items.iter_mut().enumerate() {
            let path = format!("metadata[{i}]");
            let item = as_dict(item, &path, c)?;
            c.required(item, "key", &path, Kind::Text)?;
            c.required(item, "value", &path, Kind::Text)?;
        }
    }
    c.optional(doc, "constraints", "", Kind::Dict)?;
    if let Some(constraints) = dict(doc, "constraints") {
        text_values(constraints, "constraints", c)?;
    }
    c.default(
        doc,
        "executor_config",
        "",
        Kind::Dict,
        json!({"name": "AuroraExecutor", "data": ""}),
    )?;
    if let Some(executor) = dict(doc, "executor_config") {
        c.default(
            executor,
            "name",
            "executor_config",
            Kind::Text,
            json!("AuroraExecutor"),
        )?;
        c.default(executor, "data", "executor_config", Kind::Text, json!(""))?;
    }
    normalize_health_check(doc, c)?;
    normalize_lifecycle(doc, c)?;
    normalize_announce(doc, c)?;
    c.optional(doc, "partition_policy", "", Kind::Dict)?;
    if let Some(policy) = dict(doc, "partition_policy") {
        c.default(
            policy,
            "reschedule",
            "partition_policy",
            Kind::Bool,
            json!(true),
        )?;
        c.default(
            policy,
            "delay_secs",
            "partition_policy",
            Kind::Int,
            json!(0),
        )?;
        c.at_least(
            policy,
            "delay_secs",
            "partition_policy",
            0,
            "seconds before an instance on an unreachable host is replaced",
        )?;
    }
    normalize_sla(doc, c)?;
    normalize_container(doc, c)?;
    if check.missing.is_empty() {
        return Ok(());
    }
    Err(SpecError::new(
        source.option_path(""),
        format!(
            "the document lacks {}, which the Thermos executor needs; add them (`aurora job \
             inspect --write-json` writes a complete document)",
            check.missing.join(", ")
        ),
    ))
}

fn as_dict<'a>(
    value: &'a mut Value,
    path: &str,
    c: &Check,
) -> Result<&'a mut Map<String, Value>, SpecError> {
    let kind = json_kind(value);
    value.as_object_mut().ok_or_else(|| {
        c.source
            .error(path, format!("must be a dict, found {kind}"))
    })
}

/// Map(String, String) values, which pystachio writes as text even when given as numbers.
fn text_values(map: &mut Map<String, Value>, path: &str, c: &mut Check) -> Result<(), SpecError> {
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        c.required(map, &key, path, Kind::Text)?;
    }
    Ok(())
}

fn normalize_task(task: &mut Map<String, Value>, c: &mut Check) -> Result<(), SpecError> {
    c.required(task, "processes", "task", Kind::List)?;
    if let Some(Value::Array(processes)) = task.get_mut("processes") {
        if processes.is_empty() {
            c.missing.push("task.processes[0]".into());
        }
        for (i, process) in processes.iter_mut().enumerate() {
            let path = format!("task.processes[{i}]");
            let process = as_dict(process, &path, c)?;
            c.required(process, "name", &path, Kind::Text)?;
            c.required(process, "cmdline", &path, Kind::Text)?;
            c.default(process, "max_failures", &path, Kind::Int, json!(1))?;
            c.at_least(process, "max_failures", &path, 0, MAX_FAILURES_MEANING)?;
            c.default(process, "daemon", &path, Kind::Bool, json!(false))?;
            c.default(process, "ephemeral", &path, Kind::Bool, json!(false))?;
            c.default(process, "min_duration", &path, Kind::Int, json!(5))?;
            c.at_least(
                process,
                "min_duration",
                &path,
                0,
                "seconds between restarts",
            )?;
            c.default(process, "final", &path, Kind::Bool, json!(false))?;
            c.optional(process, "logger", &path, Kind::Dict)?;
            if let Some(logger) = dict(process, "logger") {
                let path = format!("{path}.logger");
                c.default(logger, "destination", &path, Kind::Text, json!("file"))?;
                c.default(logger, "mode", &path, Kind::Text, json!("standard"))?;
                c.optional(logger, "rotate", &path, Kind::Dict)?;
                if let Some(rotate) = dict(logger, "rotate") {
                    let path = format!("{path}.rotate");
                    c.default(rotate, "log_size", &path, Kind::Int, json!(104_857_600))?;
                    c.default(rotate, "backups", &path, Kind::Int, json!(5))?;
                }
            }
        }
    }
    c.default(
        task,
        "name",
        "task",
        Kind::Text,
        json!("{{processes[0].name}}"),
    )?;
    c.default(task, "constraints", "task", Kind::List, json!([]))?;
    if let Some(Value::Array(orders)) = task.get_mut("constraints") {
        for (i, order) in orders.iter_mut().enumerate() {
            let path = format!("task.constraints[{i}]");
            let order = as_dict(order, &path, c)?;
            c.required(order, "order", &path, Kind::List)?;
        }
    }
    c.required(task, "resources", "task", Kind::Dict)?;
    if let Some(resources) = dict(task, "resources") {
        c.required(resources, "cpu", "task.resources", Kind::Float)?;
        c.required(resources, "ram", "task.resources", Kind::Int)?;
        c.required(resources, "disk", "task.resources", Kind::Int)?;
        c.default(resources, "gpu", "task.resources", Kind::Int, json!(0))?;
    }
    c.default(task, "max_failures", "task", Kind::Int, json!(1))?;
    c.at_least(
        task,
        "max_failures",
        "task",
        0,
        "how many processes may fail before the task fails",
    )?;
    c.default(task, "max_concurrency", "task", Kind::Int, json!(0))?;
    c.at_least(
        task,
        "max_concurrency",
        "task",
        0,
        "0 runs every process at once",
    )?;
    c.default(task, "finalization_wait", "task", Kind::Int, json!(30))?;
    c.at_least(
        task,
        "finalization_wait",
        "task",
        0,
        "seconds the final processes get",
    )?;
    c.optional(task, "user", "task", Kind::Text)?;
    Ok(())
}

fn http_checker_defaults(
    http: &mut Map<String, Value>,
    path: &str,
    c: &mut Check,
) -> Result<(), SpecError> {
    c.default(http, "endpoint", path, Kind::Text, json!("/health"))?;
    c.default(http, "expected_response", path, Kind::Text, json!("ok"))?;
    c.default(http, "expected_response_code", path, Kind::Int, json!(0))
}

fn normalize_health_check(doc: &mut Map<String, Value>, c: &mut Check) -> Result<(), SpecError> {
    c.default(doc, "health_check_config", "", Kind::Dict, json!({}))?;
    let Some(config) = dict(doc, "health_check_config") else {
        return Ok(());
    };
    let path = "health_check_config";
    c.default(config, "health_checker", path, Kind::Dict, json!({}))?;
    if let Some(checker) = dict(config, "health_checker") {
        let path = "health_check_config.health_checker";
        if !checker.contains_key("http") && !checker.contains_key("shell") {
            checker.insert("http".into(), json!({}));
        }
        if let Some(http) = dict(checker, "http") {
            http_checker_defaults(http, &format!("{path}.http"), c)?;
        } else {
            c.optional(checker, "http", path, Kind::Dict)?;
        }
        c.optional(checker, "shell", path, Kind::Dict)?;
        if let Some(shell) = dict(checker, "shell") {
            c.required(shell, "shell_command", &format!("{path}.shell"), Kind::Text)?;
        }
    }
    c.default(
        config,
        "initial_interval_secs",
        path,
        Kind::Float,
        json!(15.0),
    )?;
    c.default(config, "interval_secs", path, Kind::Float, json!(10.0))?;
    c.default(
        config,
        "max_consecutive_failures",
        path,
        Kind::Int,
        json!(0),
    )?;
    c.default(
        config,
        "min_consecutive_successes",
        path,
        Kind::Int,
        json!(1),
    )?;
    c.default(config, "timeout_secs", path, Kind::Float, json!(1.0))
}

fn normalize_lifecycle(doc: &mut Map<String, Value>, c: &mut Check) -> Result<(), SpecError> {
    c.default(doc, "lifecycle", "", Kind::Dict, json!({"http": {}}))?;
    let Some(lifecycle) = dict(doc, "lifecycle") else {
        return Ok(());
    };
    c.optional(lifecycle, "http", "lifecycle", Kind::Dict)?;
    if let Some(http) = dict(lifecycle, "http") {
        let path = "lifecycle.http";
        c.default(http, "port", path, Kind::Text, json!("health"))?;
        c.default(
            http,
            "graceful_shutdown_endpoint",
            path,
            Kind::Text,
            json!("/quitquitquit"),
        )?;
        c.default(
            http,
            "shutdown_endpoint",
            path,
            Kind::Text,
            json!("/abortabortabort"),
        )?;
        c.default(
            http,
            "graceful_shutdown_wait_secs",
            path,
            Kind::Int,
            json!(5),
        )?;
        c.default(http, "shutdown_wait_secs", path, Kind::Int, json!(5))?;
    }
    Ok(())
}

fn normalize_announce(doc: &mut Map<String, Value>, c: &mut Check) -> Result<(), SpecError> {
    c.optional(doc, "announce", "", Kind::Dict)?;
    let Some(announce) = dict(doc, "announce") else {
        return Ok(());
    };
    c.default(
        announce,
        "primary_port",
        "announce",
        Kind::Text,
        json!("http"),
    )?;
    c.default(
        announce,
        "portmap",
        "announce",
        Kind::Dict,
        json!({"aurora": "{{primary_port}}"}),
    )?;
    if let Some(portmap) = dict(announce, "portmap") {
        text_values(portmap, "announce.portmap", c)?;
    }
    c.optional(announce, "zk_path", "announce", Kind::Text)
}

fn normalize_sla(doc: &mut Map<String, Value>, c: &mut Check) -> Result<(), SpecError> {
    c.optional(doc, "sla_policy", "", Kind::Dict)?;
    let Some(sla) = dict(doc, "sla_policy") else {
        return Ok(());
    };
    let path = "sla_policy";
    let kinds: Vec<&str> = ["percentage", "count", "coordinator_url"]
        .into_iter()
        .filter(|k| sla.contains_key(*k))
        .collect();
    match kinds.as_slice() {
        ["percentage"] => {
            c.required(sla, "percentage", path, Kind::Float)?;
            c.required(sla, "duration_secs", path, Kind::Int)
        }
        ["count"] => {
            c.required(sla, "count", path, Kind::Int)?;
            c.required(sla, "duration_secs", path, Kind::Int)
        }
        ["coordinator_url"] => {
            c.required(sla, "coordinator_url", path, Kind::Text)?;
            c.default(sla, "status_key", path, Kind::Text, json!("drain"))
        }
        _ => Err(c.source.error(
            path,
            "must be exactly one kind of policy: percentage with duration_secs, count with \
             duration_secs, or coordinator_url (with an optional status_key)",
        )),
    }
}

fn normalize_container(doc: &mut Map<String, Value>, c: &mut Check) -> Result<(), SpecError> {
    c.optional(doc, "container", "", Kind::Dict)?;
    let Some(container) = dict(doc, "container") else {
        return Ok(());
    };
    // The legacy `Container(docker=Docker(...))` wrapper.
    if let Some(docker) = dict(container, "docker") {
        return normalize_docker(docker, "container.docker", c);
    }
    if container.get("image").is_some_and(Value::is_string) {
        return normalize_docker(container, "container", c);
    }
    let path = "container";
    c.optional(container, "image", path, Kind::Dict)?;
    if let Some(image) = dict(container, "image") {
        let path = "container.image";
        c.required(image, "name", path, Kind::Text)?;
        if image.contains_key("image_id") {
            c.required(image, "image_id", path, Kind::Text)?;
        } else {
            c.required(image, "tag", path, Kind::Text)?;
        }
    }
    c.default(container, "volumes", path, Kind::List, json!([]))?;
    if let Some(Value::Array(volumes)) = container.get_mut("volumes") {
        for (i, volume) in volumes.iter_mut().enumerate() {
            let path = format!("container.volumes[{i}]");
            let volume = as_dict(volume, &path, c)?;
            c.required(volume, "container_path", &path, Kind::Text)?;
            c.required(volume, "host_path", &path, Kind::Text)?;
            c.default(volume, "mode", &path, Kind::Text, json!("RO"))?;
            if !matches!(
                volume.get("mode").and_then(Value::as_str),
                Some("RW" | "RO")
            ) {
                return Err(c.source.error(&format!("{path}.mode"), "must be RW or RO"));
            }
        }
    }
    Ok(())
}

fn normalize_docker(
    docker: &mut Map<String, Value>,
    path: &str,
    c: &mut Check,
) -> Result<(), SpecError> {
    c.required(docker, "image", path, Kind::Text)?;
    c.default(docker, "parameters", path, Kind::List, json!([]))?;
    if let Some(Value::Array(parameters)) = docker.get_mut("parameters") {
        for (i, parameter) in parameters.iter_mut().enumerate() {
            let path = format!("{path}.parameters[{i}]");
            let parameter = as_dict(parameter, &path, c)?;
            c.required(parameter, "name", &path, Kind::Text)?;
            c.required(parameter, "value", &path, Kind::Text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(doc: Value) -> Result<Value, SpecError> {
        let Value::Object(mut map) = doc else {
            unreachable!()
        };
        normalize(&mut map, Source::ExecutorConfig).map(|()| Value::Object(map))
    }

    fn minimal() -> Value {
        json!({
            "role": "www", "environment": "prod", "cluster": "west",
            "task": {"processes": [{"name": "p", "cmdline": "run"}],
                     "resources": {"cpu": 1, "ram": 1048576, "disk": 1048576}}
        })
    }

    #[test]
    fn a_minimal_document_gets_every_default_the_client_writes() {
        let doc = normalized(minimal()).unwrap();
        assert_eq!(doc["name"], "{{task.name}}");
        assert_eq!(doc["task"]["name"], "{{processes[0].name}}");
        assert_eq!(doc["task"]["resources"]["cpu"], json!(1.0));
        assert!(doc["task"]["resources"]["cpu"].is_f64());
        assert_eq!(doc["task"]["resources"]["gpu"], 0);
        assert_eq!(doc["task"]["processes"][0]["min_duration"], 5);
        assert_eq!(
            doc["health_check_config"]["health_checker"]["http"]["endpoint"],
            "/health"
        );
        assert!(doc["health_check_config"]["interval_secs"].is_f64());
        assert_eq!(doc["lifecycle"]["http"]["port"], "health");
        assert_eq!(
            doc["executor_config"],
            json!({"name": "AuroraExecutor", "data": ""})
        );
        assert_eq!(doc["metadata"], json!([]));
        assert_eq!(doc["cron_collision_policy"], "KILL_EXISTING");
        assert!(doc.get("announce").is_none());
    }

    #[test]
    fn every_missing_key_is_named_at_once() {
        let e = normalized(
            json!({"role": "www", "task": {"processes": [{"name": "p"}], "resources": {"cpu": 1}}}),
        )
        .unwrap_err();
        assert_eq!(e.option, "executor_config");
        for key in [
            "cluster",
            "environment",
            "task.processes[0].cmdline",
            "task.resources.ram",
            "task.resources.disk",
        ] {
            assert!(e.message.contains(key), "{key}: {}", e.message);
        }
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let mut doc = minimal();
        doc["task"]["resources"]["ram"] = json!("lots");
        let e = normalized(doc).unwrap_err();
        assert_eq!(e.option, "executor_config.task.resources.ram");
        assert!(e.message.contains("integer"), "{}", e.message);
    }

    #[test]
    fn shell_only_health_checks_have_no_http_checker() {
        let mut doc = minimal();
        doc["health_check_config"] =
            json!({"health_checker": {"shell": {"shell_command": "true"}}});
        let doc = normalized(doc).unwrap();
        assert_eq!(
            doc["health_check_config"]["health_checker"],
            json!({"shell": {"shell_command": "true"}})
        );
    }

    #[test]
    fn an_empty_lifecycle_stays_disabled() {
        let mut doc = minimal();
        doc["lifecycle"] = json!({});
        assert_eq!(normalized(doc).unwrap()["lifecycle"], json!({}));
    }

    #[test]
    fn sla_policies_must_be_one_kind() {
        let mut doc = minimal();
        doc["sla_policy"] = json!({"percentage": 95, "count": 3, "duration_secs": 60});
        let e = normalized(doc).unwrap_err();
        assert_eq!(e.option, "executor_config.sla_policy");
        let mut doc = minimal();
        doc["sla_policy"] = json!({"coordinator_url": "http://c"});
        assert_eq!(
            normalized(doc).unwrap()["sla_policy"]["status_key"],
            "drain"
        );
    }

    #[test]
    fn map_values_written_as_numbers_become_text() {
        let mut doc = minimal();
        doc["announce"] = json!({"portmap": {"admin": 8080}});
        doc["constraints"] = json!({"rack": 3});
        let doc = normalized(doc).unwrap();
        assert_eq!(doc["announce"]["portmap"]["admin"], "8080");
        assert_eq!(doc["announce"]["primary_port"], "http");
        assert_eq!(doc["constraints"]["rack"], "3");
    }
}
