//! `aurora-ansible rebalance --config FILE --every SECONDS`: the `fair_share` module in a loop,
//! so that the platform can run its allocator as a long-lived service (an Aurora job:
//! playbooks/rebalance_service.yml). The options are checked and the module run exactly as
//! ansible-core would run it; each decision is one JSON line on stdout (the module's result and
//! the time). SIGTERM or SIGINT stops the loop at once, between decisions or during one (updates
//! already started carry on in the scheduler; the next run reads them), with a last line saying
//! so. The CLI is otherwise blocking: signals are awaited by tokio on a thread of their own.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use serde_json::{json, Map, Value};

use super::{emit, CliError, ConnectionArgs};
use crate::ansible::{fqcn, remove_values, validate_options, AnyModule, Context, Failure};
use crate::modules::fair_share::FairShare;
use crate::spec::utc::utc_millis;

#[derive(Debug, Args)]
pub struct RebalanceArgs {
    /// YAML (or JSON) file of aurora.scheduler.fair_share's options (capacity, frameworks, ...).
    /// Connection options it leaves out come from this command's flags and environment.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Seconds from the start of one decision to the start of the next.
    #[arg(long, value_name = "SECONDS", value_parser = parse_every)]
    pub every: Duration,

    /// Decide once and stop.
    #[arg(long)]
    pub once: bool,

    /// Decide and report, but change nothing (the module's check mode).
    #[arg(long)]
    pub check: bool,
}

fn parse_every(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(1.0..=86_400.0).contains(&secs) {
        return Err(format!(
            "{text:?} is out of range; give seconds between 1 and 86400"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// What the loop waits for.
enum Event {
    Stop(&'static str),
    Decided(Value),
}

pub fn rebalance(
    connection: &ConnectionArgs,
    args: &RebalanceArgs,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let params = read_config(&args.config, connection)?;
    // A configuration the module refuses is refused now, not once a minute.
    let module: &dyn AnyModule = &FairShare;
    let checked = validate_options(&module.schema(), &params, &fqcn(module.name()), &env);
    if let Some(problems) = checked.message() {
        return Err(CliError::Config(format!(
            "{}: {problems}",
            args.config.display()
        )));
    }
    let (events, received) = mpsc::channel();
    stop_on_signals(events.clone())?;
    let mut round = 0u64;
    loop {
        round += 1;
        let started = Instant::now();
        decide_in_background(params.clone(), args.check, events.clone());
        match received.recv() {
            Ok(Event::Decided(mut line)) => {
                line["round"] = json!(round);
                emit(out, &format!("{line}\n"));
            }
            Ok(Event::Stop(signal)) => {
                stopped(out, signal, true);
                return Ok(());
            }
            Err(_) => return Err(CliError::Config("the decision thread vanished".into())),
        }
        if args.once {
            return Ok(());
        }
        if let Some(signal) = wait(&received, args.every.saturating_sub(started.elapsed())) {
            stopped(out, signal, false);
            return Ok(());
        }
    }
}

/// Waits `pause`; the signal, if one stops the loop meanwhile.
fn wait(received: &Receiver<Event>, pause: Duration) -> Option<&'static str> {
    let until = Instant::now() + pause;
    loop {
        match received.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(Event::Stop(signal)) => return Some(signal),
            // A decision abandoned earlier cannot report late: only one runs at a time.
            Ok(Event::Decided(_)) => continue,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

fn stopped(out: &mut dyn std::io::Write, signal: &str, during_decision: bool) {
    let msg = if during_decision {
        "stopped during a decision; updates it started carry on in the scheduler, and the next \
         run reads them"
    } else {
        "stopped between decisions"
    };
    let line = json!({"time": now(), "stopped": signal, "msg": msg});
    emit(out, &format!("{line}\n"));
}

/// The options: the file's, plus the connection options it leaves out, from the flags.
fn read_config(path: &Path, connection: &ConnectionArgs) -> Result<Map<String, Value>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Config(format!("cannot read {}: {e}", path.display())))?;
    let value: Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| CliError::Config(format!("{} is not YAML: {e}", path.display())))?;
    let Value::Object(mut params) = value else {
        return Err(CliError::Config(format!(
            "{} holds no mapping of aurora.scheduler.fair_share's options",
            path.display()
        )));
    };
    let has_scheduler = params.contains_key("scheduler_url") || params.contains_key("cluster");
    let mut fill = |key: &str, value: Value| {
        params.entry(key.to_string()).or_insert(value);
    };
    if !has_scheduler {
        if let Some(url) = &connection.scheduler_url {
            fill("scheduler_url", json!(url));
        }
        if let Some(cluster) = &connection.cluster {
            fill("cluster", json!(cluster));
        }
    }
    if let Some(username) = &connection.username {
        fill("username", json!(username));
    }
    if let Some(password) = &connection.password {
        fill("password", json!(password));
    }
    if connection.no_validate_certs {
        fill("validate_certs", json!(false));
    }
    if let Some(ca_path) = &connection.ca_path {
        fill("ca_path", json!(ca_path));
    }
    fill("timeout", json!(connection.timeout.as_secs().max(1)));
    Ok(params)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Runs one decision on a thread of its own, which reports it as `Event::Decided`.
fn decide_in_background(params: Map<String, Value>, check_mode: bool, events: Sender<Event>) {
    std::thread::spawn(move || {
        let run = AssertUnwindSafe(|| decide(&FairShare, &params, check_mode));
        let line = std::panic::catch_unwind(run).unwrap_or_else(|_| {
            json!({"failed": true, "msg": "this is a bug in aurora-ansible, please report \
                       it: the decision panicked"})
        });
        let _ = events.send(Event::Decided(line));
    });
}

/// One run of the module as ansible-core would start it: options checked and converted, then
/// run; its result, secrets masked, with the time.
fn decide(module: &dyn AnyModule, params: &Map<String, Value>, check_mode: bool) -> Value {
    let checked = validate_options(&module.schema(), params, &fqcn(module.name()), &env);
    let mut ctx = Context::new(module.name());
    ctx.check_mode = check_mode;
    let mut result = match checked.message() {
        Some(problems) => Failure::new(problems).into_result(),
        None => match module.run_params(Value::Object(checked.params), &mut ctx) {
            Ok(outcome) => outcome.into_result(false),
            Err(failure) => failure.into_result(),
        },
    };
    if !ctx.warnings().is_empty() {
        result.insert("warnings".into(), json!(ctx.warnings()));
    }
    let mut line = Map::new();
    line.insert("time".into(), json!(now()));
    line.extend(result);
    remove_values(Value::Object(line), &checked.secrets)
}

/// Now, as ISO 8601 UTC.
fn now() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    utc_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Sends `Event::Stop` on SIGTERM or SIGINT. The handlers are in place when this returns, so
/// that a signal never takes the default action (dying without a word) once the loop runs.
fn stop_on_signals(events: Sender<Event>) -> Result<(), CliError> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Config(format!("cannot wait for signals: {e}")))?;
    let (mut term, mut int) = runtime
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })
        .map_err(|e| CliError::Config(format!("cannot wait for signals: {e}")))?;
    std::thread::spawn(move || {
        let name = runtime.block_on(async {
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        });
        let _ = events.send(Event::Stop(name));
    });
    Ok(())
}
