//! Aurora's `{{...}}` templates (client-reference §1.8.3): the `%{thermos.…}` / `%{mesos.…}`
//! spelling that Jinja and the shell leave alone, resolution of the references the Aurora client
//! resolves itself, and the four it leaves for the executor.

use serde_json::{Map, Value};

use super::error::{Source, SpecError};
use super::pyjson::python_str;

/// References the executor fills in on the host; everything else must resolve before submitting.
const EXECUTOR_REFERENCES: &[&str] = &["mesos.instance", "mesos.hostname", "thermos.task_id"];

/// Legacy names the Aurora client rewrites before resolving (client-reference §1.1 step 4).
const ALIASES: &[(&str, &str)] = &[
    ("thermos.user", "role"),
    ("mesos.role", "role"),
    ("mesos.cluster", "cluster"),
];

/// Objects that are maps of user data rather than structs, so their keys are not names in scope.
const MAP_KEYS: &[&str] = &["portmap", "constraints", "task_links"];

/// How deep references may refer to text holding further references.
const MAX_DEPTH: usize = 16;

/// Turns `%{thermos.ports[http]}` and `%{mesos.instance}` into Aurora's `{{...}}` spelling.
pub fn convert_percent_spelling(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("%{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}');
        let inner = end.map(|e| &after[..e]);
        match inner {
            Some(name)
                if (name.starts_with("thermos.") || name.starts_with("mesos."))
                    && !name.contains(['{', '%']) =>
            {
                out.push_str("{{");
                out.push_str(name);
                out.push_str("}}");
                rest = &after[name.len() + 1..];
            }
            _ => {
                out.push_str("%{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Applies [`convert_percent_spelling`] to every string of a document.
pub(crate) fn convert_document_spelling(value: &mut Value) {
    match value {
        Value::String(s) if s.contains("%{") => *s = convert_percent_spelling(s),
        Value::Array(items) => items.iter_mut().for_each(convert_document_spelling),
        Value::Object(map) => map.values_mut().for_each(convert_document_spelling),
        _ => {}
    }
}

/// The port names a text uses as `{{thermos.ports[NAME]}}`, in order of first use.
pub fn port_references(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for reference in references(text) {
        if let Some(name) = port_name(reference) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

fn port_name(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("thermos.ports[")?
        .strip_suffix(']')
        .filter(|n| !n.is_empty())
}

/// The trimmed contents of each `{{...}}` in a text.
fn references(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find("{{")?;
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        rest = &after[end + 2..];
        Some(after[..end].trim())
    })
}

/// Resolves every reference in every string of the document, in place, with pystachio's
/// scoping: a string sees the fields of each struct that encloses it, innermost first.
pub(crate) fn resolve_document(
    doc: &mut Map<String, Value>,
    source: Source,
) -> Result<(), SpecError> {
    let original = Value::Object(doc.clone());
    let mut changes = Vec::new();
    collect(&original, "", "", &mut Vec::new(), source, &mut changes)?;
    let mut whole = Value::Object(std::mem::take(doc));
    for (pointer, text) in changes {
        if let Some(slot) = whole.pointer_mut(&pointer) {
            *slot = Value::String(text);
        }
    }
    if let Value::Object(map) = whole {
        *doc = map;
    }
    Ok(())
}

fn collect<'a>(
    value: &'a Value,
    path: &str,
    pointer: &str,
    scopes: &mut Vec<&'a Value>,
    source: Source,
    changes: &mut Vec<(String, String)>,
) -> Result<(), SpecError> {
    match value {
        Value::String(text) if text.contains("{{") => {
            let resolved = resolve_text(text, scopes, 0)
                .map_err(|why| source.error(path, format!("{text:?}: {why}")))?;
            if &resolved != text {
                changes.push((pointer.to_string(), resolved));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(
                    item,
                    &format!("{path}[{i}]"),
                    &format!("{pointer}/{i}"),
                    scopes,
                    source,
                    changes,
                )?;
            }
        }
        Value::Object(map) => {
            let key = path.rsplit(['.', ']']).next().unwrap_or("");
            let is_scope = !MAP_KEYS.contains(&key);
            if is_scope {
                scopes.push(value);
            }
            for (k, v) in map {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let escaped = k.replace('~', "~0").replace('/', "~1");
                collect(
                    v,
                    &child,
                    &format!("{pointer}/{escaped}"),
                    scopes,
                    source,
                    changes,
                )?;
            }
            if is_scope {
                scopes.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Resolves the references of one text within the given scopes (outermost first).
fn resolve_text(text: &str, scopes: &[&Value], depth: usize) -> Result<String, String> {
    if depth > MAX_DEPTH {
        return Err("references refer to each other in a loop".into());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        if inner.contains("{{") {
            return Err(format!(
                "nested templates such as \"{{{{{}}}}}\" are not allowed; Aurora rejects them too",
                &after[..end]
            ));
        }
        let name = inner.trim();
        let name = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, target)| target);
        if EXECUTOR_REFERENCES.contains(&name) || port_name(name).is_some() {
            out.push_str("{{");
            out.push_str(inner);
            out.push_str("}}");
        } else {
            out.push_str(&resolve_reference(name, scopes, depth)?);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Debug, PartialEq)]
enum Step<'a> {
    Field(&'a str),
    Index(&'a str),
}

/// Splits `task.processes[0].name` into steps; `None` when it is not a reference at all.
fn parse_reference(name: &str) -> Option<Vec<Step<'_>>> {
    let is_identifier = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut steps = Vec::new();
    let mut rest = name;
    let mut first = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            if end == 0 || first {
                return None;
            }
            steps.push(Step::Index(&after[..end]));
            rest = &after[end + 1..];
        } else {
            let body = if first { rest } else { rest.strip_prefix('.')? };
            let end = body.find(['.', '[']).unwrap_or(body.len());
            if !is_identifier(&body[..end]) {
                return None;
            }
            steps.push(Step::Field(&body[..end]));
            rest = &body[end..];
        }
        first = false;
    }
    (!steps.is_empty()).then_some(steps)
}

fn resolve_reference(name: &str, scopes: &[&Value], depth: usize) -> Result<String, String> {
    let steps = parse_reference(name).ok_or_else(|| {
        format!("{{{{{name}}}}} is not a valid reference; write names like {{{{role}}}} or {{{{task.name}}}}")
    })?;
    for level in (0..scopes.len()).rev() {
        let mut current = scopes[level];
        let mut chain: Vec<&Value> = scopes[..=level].to_vec();
        let mut found = true;
        for step in &steps {
            let next = match (step, current) {
                (Step::Field(key), Value::Object(map)) => map.get(*key),
                (Step::Index(key), Value::Object(map)) => map.get(*key),
                (Step::Index(i), Value::Array(items)) => {
                    i.parse::<usize>().ok().and_then(|i| items.get(i))
                }
                _ => None,
            };
            match next {
                Some(v) => {
                    if v.is_object() {
                        chain.push(v);
                    }
                    current = v;
                }
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        return match current {
            Value::String(text) => resolve_text(text, &chain, depth + 1),
            Value::Null | Value::Array(_) | Value::Object(_) => Err(format!(
                "{{{{{name}}}}} names a structure, not a value that can be put into text"
            )),
            scalar => Ok(python_str(scalar).unwrap_or_default()),
        };
    }
    Err(format!(
        "{{{{{name}}}}} is not bound: Aurora leaves only {{{{mesos.instance}}}}, \
         {{{{mesos.hostname}}}}, {{{{thermos.task_id}}}} and {{{{thermos.ports[NAME]}}}} for the \
         executor and resolves fields of the job such as {{{{role}}}}, {{{{name}}}}, \
         {{{{environment}}}}, {{{{cluster}}}} or {{{{task.name}}}}; fix the name or write the text \
         literally"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(doc: Value) -> Result<Value, SpecError> {
        let Value::Object(mut map) = doc else {
            unreachable!()
        };
        resolve_document(&mut map, Source::Options).map(|()| Value::Object(map))
    }

    #[test]
    fn percent_spelling_becomes_aurora_templates_for_thermos_and_mesos_only() {
        assert_eq!(
            convert_percent_spelling("serve --port %{thermos.ports[http]} --id %{mesos.instance}"),
            "serve --port {{thermos.ports[http]}} --id {{mesos.instance}}"
        );
        assert_eq!(
            convert_percent_spelling("printf '%{x}' %{role}"),
            "printf '%{x}' %{role}"
        );
        assert_eq!(convert_percent_spelling("100%{"), "100%{");
    }

    #[test]
    fn port_references_are_collected_once_in_order() {
        assert_eq!(
            port_references(
                "a {{thermos.ports[http]}} {{ thermos.ports[admin] }} {{thermos.ports[http]}}"
            ),
            vec!["http", "admin"]
        );
    }

    #[test]
    fn job_fields_resolve_and_executor_references_stay() {
        let doc = json!({
            "role": "www", "environment": "prod", "cluster": "west", "name": "web",
            "task": {"name": "{{processes[0].name}}",
                     "processes": [{"name": "srv", "cmdline": "run {{role}}/{{environment}}/{{name}} {{task.name}} {{cluster}} {{mesos.instance}} {{thermos.ports[http]}} {{thermos.task_id}} {{mesos.hostname}}"}]},
            "contact": "{{thermos.user}}@{{mesos.cluster}} {{mesos.role}}"
        });
        let doc = resolve(doc).unwrap();
        assert_eq!(doc["task"]["name"], "srv");
        // Inside a process, {{name}} is the process's own name, as in pystachio.
        assert_eq!(
            doc["task"]["processes"][0]["cmdline"],
            "run www/prod/srv srv west {{mesos.instance}} {{thermos.ports[http]}} {{thermos.task_id}} {{mesos.hostname}}"
        );
        assert_eq!(doc["contact"], "www@west www");
    }

    #[test]
    fn references_to_numbers_print_as_python_does() {
        let doc = json!({"priority": 3, "task": {"resources": {"cpu": 0.5}, "x": "{{resources.cpu}} {{priority}}"}});
        assert_eq!(resolve(doc).unwrap()["task"]["x"], "0.5 3");
    }

    #[test]
    fn an_unbound_reference_is_refused_naming_it_and_the_option() {
        let doc = json!({"role": "www", "task": {"processes": [{"name": "a", "cmdline": "echo {{version}}"}]}});
        let e = resolve(doc).unwrap_err();
        assert_eq!(e.option, "task.processes[0].cmdline");
        assert!(
            e.message.contains("{{version}} is not bound"),
            "{}",
            e.message
        );
    }

    #[test]
    fn nested_and_malformed_references_are_refused() {
        let e = resolve(json!({"a": "{{x[{{mesos.instance}}]}}"})).unwrap_err();
        assert!(e.message.contains("nested"), "{}", e.message);
        let e = resolve(json!({"a": "{{1abc}}"})).unwrap_err();
        assert!(e.message.contains("not a valid reference"), "{}", e.message);
        let e = resolve(json!({"task": {"p": 1}, "a": "{{task}}"})).unwrap_err();
        assert!(e.message.contains("structure"), "{}", e.message);
    }

    #[test]
    fn self_reference_is_reported_as_a_loop() {
        let e = resolve(json!({"a": "{{b}}", "b": "{{a}}"})).unwrap_err();
        assert!(e.message.contains("loop"), "{}", e.message);
    }

    #[test]
    fn text_without_a_closing_brace_is_left_alone() {
        let doc = resolve(json!({"a": "awk '{{print $1}'"})).unwrap();
        assert_eq!(doc["a"], "awk '{{print $1}'");
    }
}
