//! One module run as ansible-core starts a binary module: argv[1] is a file holding one flat
//! JSON object (the options and `_ansible_*` keys); exactly one JSON object goes to stdout.
//! Every error, a panic included, is a `{"failed": true, "msg": ...}` result.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Once;

use serde_json::{Map, Value};

use super::convert;
use super::mask::remove_values;
use super::module::{AnyModule, Support};
use super::outcome::{fqcn, Context, Failure};
use super::validate::{validate_options, EnvLookup};

/// Runs the module the arguments file names and prints its result; the exit status is 1 when
/// the result failed (ansible-core reads only the JSON, people and scripts read the status).
pub fn run_module_file(modules: &[&dyn AnyModule], args_path: &Path) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let mut stdout = std::io::stdout().lock();
    run_module_file_with(modules, args_path, &env, &mut stdout)
}

/// `run_module_file` with the environment and the output given, for tests.
pub fn run_module_file_with(
    modules: &[&dyn AnyModule],
    args_path: &Path,
    env: EnvLookup,
    out: &mut dyn Write,
) -> ExitCode {
    let result = module_result(modules, args_path, env);
    let failed = result.get("failed") == Some(&Value::Bool(true));
    // Serialising a Value cannot fail; an unwritable stdout leaves nothing else to tell.
    let text = serde_json::to_string(&result).unwrap_or_default();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The result object of one run, secrets masked.
pub fn module_result(modules: &[&dyn AnyModule], args_path: &Path, env: EnvLookup) -> Value {
    install_panic_hook();
    let mut run = Run::default();
    CAPTURING_PANICS.with(|c| c.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| run.execute(modules, args_path, env)));
    CAPTURING_PANICS.with(|c| c.set(false));
    let mut result = match outcome {
        Ok(result) => result,
        Err(payload) => {
            let report = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| payload_text(payload.as_ref()));
            let mut result = Failure::new(format!(
                "this is a bug in aurora-ansible, please report it: the module panicked at {report}"
            ))
            .into_result();
            run.add_invocation(&mut result);
            result
        }
    };
    if let Some(warnings) = result.get("warnings").and_then(Value::as_array) {
        if warnings.is_empty() {
            result.remove("warnings");
        }
    }
    remove_values(Value::Object(result), &run.secrets)
}

/// What one run learnt before it ended, kept outside `catch_unwind` so that a panic's result
/// still has the invocation and masks the secrets.
#[derive(Default)]
struct Run {
    secrets: BTreeSet<String>,
    invocation: Option<Map<String, Value>>,
}

/// The `_ansible_*` keys a module uses; the others are ignored, as their set changes between
/// ansible-core versions.
struct Request {
    params: Map<String, Value>,
    check_mode: bool,
    diff: bool,
    verbosity: u8,
    no_log: bool,
    module_name: Option<String>,
    ignore_unknown_opts: bool,
}

impl Run {
    fn execute(
        &mut self,
        modules: &[&dyn AnyModule],
        args_path: &Path,
        env: EnvLookup,
    ) -> Map<String, Value> {
        let request = match read_request(args_path) {
            Ok(request) => request,
            Err(msg) => return Failure::new(msg).into_result(),
        };
        let invoked_as = request.module_name.clone().unwrap_or_else(executable_name);
        let short_name = invoked_as.rsplit('.').next().unwrap_or_default();
        let Some(module) = modules.iter().find(|m| m.name() == short_name) else {
            return Failure::new(unknown_module(&invoked_as, modules)).into_result();
        };

        let module_name = fqcn(module.name());
        let schema = module.schema();
        let validation = validate_options(&schema, &request.params, &module_name, env);
        self.secrets.extend(validation.secrets.iter().cloned());
        let mut problems = validation.errors.clone();
        if !request.ignore_unknown_opts {
            problems.splice(0..0, validation.unsupported.iter().cloned());
        }
        if !problems.is_empty() {
            self.invocation = Some(request.params);
            let mut result = Failure::new(problems.join("; ")).into_result();
            self.add_invocation(&mut result);
            return result;
        }
        self.invocation = Some(validation.params.clone());

        let mut ctx = Context::new(module.name());
        ctx.check_mode = request.check_mode;
        ctx.diff = request.diff;
        ctx.verbosity = request.verbosity;
        ctx.no_log = request.no_log;
        ctx.invoked_as = invoked_as;
        let mut result = if ctx.check_mode && module.documentation().check_mode == Support::None {
            let mut skipped = Map::new();
            skipped.insert("changed".into(), Value::Bool(false));
            skipped.insert("skipped".into(), Value::Bool(true));
            skipped.insert(
                "msg".into(),
                Value::String(format!(
                    "remote module ({module_name}) does not support check mode"
                )),
            );
            skipped
        } else {
            match module.run_params(Value::Object(validation.params), &mut ctx) {
                Ok(outcome) => outcome.into_result(ctx.diff),
                Err(failure) => failure.into_result(),
            }
        };
        if !ctx.warnings().is_empty() {
            result.insert("warnings".into(), Value::from(ctx.warnings().to_vec()));
        }
        if !ctx.deprecations().is_empty() {
            result.insert(
                "deprecations".into(),
                Value::from(ctx.deprecations().to_vec()),
            );
        }
        self.add_invocation(&mut result);
        result
    }

    /// `invocation: {module_args: ...}` as Python modules return it (masked later).
    fn add_invocation(&self, result: &mut Map<String, Value>) {
        if let Some(params) = &self.invocation {
            let mut invocation = Map::new();
            invocation.insert("module_args".into(), Value::Object(params.clone()));
            result.insert("invocation".into(), Value::Object(invocation));
        }
    }
}

/// Checks the text of an arguments file as a run does (JSON, module name, options), without
/// running the module: `Ok` with the module's name, or the failure message a run would give.
pub fn check_module_args(
    modules: &[&dyn AnyModule],
    text: &str,
    env: EnvLookup,
) -> Result<&'static str, String> {
    let request = parse_request(text, Path::new("(given)"))?;
    let invoked_as = request.module_name.clone().unwrap_or_else(executable_name);
    let short_name = invoked_as.rsplit('.').next().unwrap_or_default();
    let Some(module) = modules.iter().find(|m| m.name() == short_name) else {
        return Err(unknown_module(&invoked_as, modules));
    };
    let validation = validate_options(&module.schema(), &request.params, &fqcn(module.name()), env);
    let mut problems = validation.errors.clone();
    if !request.ignore_unknown_opts {
        problems.splice(0..0, validation.unsupported.iter().cloned());
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    module.check_params(Value::Object(validation.params))?;
    Ok(module.name())
}

fn read_request(path: &Path) -> Result<Request, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the module arguments file {}: {e}",
            path.display()
        )
    })?;
    parse_request(&text, path)
}

fn parse_request(text: &str, path: &Path) -> Result<Request, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "the module arguments file {} is not JSON ({e}); aurora-ansible modules expect the JSON \
             object ansible-core writes for binary modules",
            path.display()
        )
    })?;
    let Value::Object(all) = value else {
        return Err(format!(
            "the module arguments file {} holds a JSON {}, not an object of options",
            path.display(),
            json_kind(&value)
        ));
    };
    let flag = |key: &str| {
        all.get(key)
            .and_then(|v| convert::to_bool(v).ok())
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    let verbosity = all
        .get("_ansible_verbosity")
        .and_then(|v| convert::to_int(v).ok())
        .and_then(|v| v.as_u64())
        .map_or(0, |v| u8::try_from(v).unwrap_or(u8::MAX));
    let module_name = all
        .get("_ansible_module_name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let request = Request {
        check_mode: flag("_ansible_check_mode"),
        diff: flag("_ansible_diff"),
        no_log: flag("_ansible_no_log"),
        ignore_unknown_opts: flag("_ansible_ignore_unknown_opts"),
        verbosity,
        module_name,
        params: all
            .iter()
            .filter(|(k, _)| !k.starts_with("_ansible_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    Ok(request)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The module name when the arguments do not say (a run by hand): the executable's file name,
/// without the `AnsiballZ_` prefix ansible-core gives the copy.
fn executable_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(Path::new)
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .map(|n| n.strip_prefix("AnsiballZ_").map(str::to_owned).unwrap_or(n))
        .unwrap_or_default()
}

fn unknown_module(invoked_as: &str, modules: &[&dyn AnyModule]) -> String {
    let mut known: Vec<String> = modules.iter().map(|m| fqcn(m.name())).collect();
    known.sort();
    let known = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    format!(
        "aurora-ansible has no module named {invoked_as:?} (from _ansible_module_name, or the \
         executable's name); the modules it has are: {known}"
    )
}

thread_local! {
    /// Set while this thread runs a module: its panics become results instead of printing.
    static CAPTURING_PANICS: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records a panic's message and location for the result. Panics outside a module run, or on
/// another thread, go to the hook that was there before (stderr, never stdout).
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING_PANICS.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_else(|| "an unknown place".to_owned());
                let report = format!("{location}: {}", payload_text(info.payload()));
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(report));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    }
}
