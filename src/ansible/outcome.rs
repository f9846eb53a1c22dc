//! What a module sees of the run (`Context`) and what it hands back (`Outcome` or `Failure`).

use std::fmt;

use serde_json::{Map, Value};

/// The run as Ansible asked for it, and the warnings the module collects on the way.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `--check`: report what would change, change nothing.
    pub check_mode: bool,
    /// `--diff`: the module's diff is returned (and only then).
    pub diff: bool,
    /// Number of `-v` flags.
    pub verbosity: u8,
    /// The task has `no_log: true`.
    pub no_log: bool,
    /// The module's FQCN, e.g. `aurora.scheduler.job`.
    pub module_name: String,
    /// The name the task used (`_ansible_module_name`): a short name, an FQCN or an alias.
    pub invoked_as: String,
    warnings: Vec<String>,
    deprecations: Vec<Value>,
}

impl Context {
    /// A context for the module `name` (short name), as an unadorned task would run it.
    pub fn new(name: &str) -> Context {
        Context {
            module_name: fqcn(name),
            invoked_as: fqcn(name),
            ..Context::default()
        }
    }

    /// Adds a warning, shown by Ansible as `[WARNING]: ...`.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// Announces that something the task uses goes away in `version` of the collection.
    pub fn deprecate(&mut self, message: impl Into<String>, version: &str) {
        let mut deprecation = Map::new();
        deprecation.insert("msg".into(), Value::String(message.into()));
        deprecation.insert("version".into(), Value::String(version.to_owned()));
        deprecation.insert(
            "collection_name".into(),
            Value::String(COLLECTION.to_owned()),
        );
        self.deprecations.push(Value::Object(deprecation));
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn deprecations(&self) -> &[Value] {
        &self.deprecations
    }
}

/// The collection every module belongs to.
pub const COLLECTION: &str = "aurora.scheduler";

/// `aurora.scheduler.NAME`.
pub fn fqcn(name: &str) -> String {
    format!("{COLLECTION}.{name}")
}

/// A successful run: whether something changed, a message, named fields, and the diff.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    changed: bool,
    msg: Option<String>,
    fields: Map<String, Value>,
    diff: Option<Value>,
}

impl Outcome {
    pub fn changed(changed: bool) -> Outcome {
        Outcome {
            changed,
            ..Outcome::default()
        }
    }

    pub fn unchanged() -> Outcome {
        Outcome::changed(false)
    }

    pub fn msg(mut self, msg: impl Into<String>) -> Outcome {
        self.msg = Some(msg.into());
        self
    }

    /// A named result field; `changed`, `msg`, `diff`, `failed`, `warnings` and `invocation`
    /// are set by the protocol and win over a field of the same name.
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Outcome {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Several result fields at once, e.g. from `serde_json::to_value(...)`.
    pub fn fields(mut self, fields: Map<String, Value>) -> Outcome {
        self.fields.extend(fields);
        self
    }

    /// The change, as text or as values (Ansible shows dicts as sorted JSON). Returned only
    /// when the task runs with `--diff`.
    pub fn diff(self, before: impl Into<Value>, after: impl Into<Value>) -> Outcome {
        self.diff_entry(before.into(), after.into(), None)
    }

    /// A diff with the names Ansible prints after `--- before:` and `+++ after:`.
    pub fn diff_with_headers(
        self,
        before: impl Into<Value>,
        after: impl Into<Value>,
        before_header: &str,
        after_header: &str,
    ) -> Outcome {
        self.diff_entry(
            before.into(),
            after.into(),
            Some((before_header, after_header)),
        )
    }

    fn diff_entry(mut self, before: Value, after: Value, headers: Option<(&str, &str)>) -> Outcome {
        let mut diff = Map::new();
        diff.insert("before".into(), before);
        diff.insert("after".into(), after);
        if let Some((before_header, after_header)) = headers {
            diff.insert("before_header".into(), before_header.into());
            diff.insert("after_header".into(), after_header.into());
        }
        self.diff = Some(Value::Object(diff));
        self
    }

    pub fn is_changed(&self) -> bool {
        self.changed
    }

    pub fn message(&self) -> Option<&str> {
        self.msg.as_deref()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    pub fn diff_value(&self) -> Option<&Value> {
        self.diff.as_ref()
    }

    /// The result object, without the protocol's keys (`warnings`, `invocation`).
    pub(crate) fn into_result(self, with_diff: bool) -> Map<String, Value> {
        let mut result = self.fields;
        result.insert("changed".into(), Value::Bool(self.changed));
        match self.msg {
            Some(msg) => result.insert("msg".into(), Value::String(msg)),
            None => result.remove("msg"),
        };
        result.remove("diff");
        if let (true, Some(diff)) = (with_diff, self.diff) {
            result.insert("diff".into(), diff);
        }
        result.remove("failed");
        result
    }
}

/// A failed run: a message saying what went wrong and what to do, and extra fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    msg: String,
    fields: Map<String, Value>,
}

impl Failure {
    pub fn new(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            fields: Map::new(),
        }
    }

    /// A named field of the failed result (e.g. `changed: true` when part of the work was done).
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Failure {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// The failure of a run that had already done part of its work: the result says what `done`
    /// says (its `changed` and its fields; the failure's own fields win), and the message tells
    /// what was done before what went wrong: `done; then msg`. So a run that changed the cluster
    /// and then lost the scheduler still reports `changed: true` and what it did.
    pub fn after(mut self, done: Outcome) -> Failure {
        let mut fields = done.fields;
        fields.insert("changed".into(), Value::Bool(done.changed));
        fields.extend(std::mem::take(&mut self.fields));
        self.fields = fields;
        if let Some(done_msg) = done.msg.filter(|m| !m.is_empty()) {
            self.msg = format!("{done_msg}; then {}", self.msg);
        }
        self
    }

    /// The same failure, its message preceded by what was being done: `context: msg`.
    pub fn prefixed(mut self, context: &str) -> Failure {
        self.msg = format!("{context}: {}", self.msg);
        self
    }

    pub fn msg(&self) -> &str {
        &self.msg
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    pub(crate) fn into_result(self) -> Map<String, Value> {
        let mut result = Map::new();
        result.insert("changed".into(), Value::Bool(false));
        result.extend(self.fields);
        result.insert("failed".into(), Value::Bool(true));
        result.insert("msg".into(), Value::String(self.msg));
        result
    }
}

/// Any error becomes a failure whose message is the error and its causes, `outer: inner`.
impl<E: std::error::Error> From<E> for Failure {
    fn from(error: E) -> Failure {
        let mut msg = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            // Many errors already include their cause in their own message.
            if !msg.contains(&text) {
                msg.push_str(": ");
                msg.push_str(&text);
            }
            source = cause.source();
        }
        Failure::new(msg)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}
