//! Hostile and broken input, end to end (issue 18): the bad-input corpus run against the module
//! executable as ansible-core runs it, each case under a memory limit; a request body that would
//! decode to a huge value, sent to a live aurora-sim; and aurora-sim stopping with a client that
//! sent only half a request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aurora_ansible::api::codec::{decode_reply, Encoding, ReplyError};
use aurora_ansible::sim::config::{ClusterSpec, HostResources, SimConfig};
use aurora_ansible::sim::server::{RunningSim, ServerOptions, SHUTDOWN_GRACE};
use serde_json::{json, Map, Value};
use thrift::ApplicationErrorKind;

const CORPUS: &str = "tests/fixtures/bad_inputs.yml";
/// Address space each module run may take: far above a module's needs (tens of MiB), far below
/// what an allocation in proportion to a count like 1e9 needs.
const MODULE_ADDRESS_SPACE: u64 = 1 << 30;
/// Longest a bad-input case may run; each takes milliseconds.
const CASE_TIME_LIMIT: Duration = Duration::from_secs(60);

fn sim() -> RunningSim {
    let cluster = ClusterSpec::generated(3, 1, &HostResources::default()).unwrap();
    RunningSim::start(SimConfig::new(cluster), ServerOptions::default(), 100.0).unwrap()
}

/// Dicts merged key by key, null removes, anything else replaces.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    base.remove(key);
                } else if let Some(existing) = base.get_mut(key) {
                    merge(existing, value);
                } else {
                    base.insert(key.clone(), value.clone());
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// What one module run printed and how it ended.
struct Run {
    stdout: String,
    stderr: String,
    status: std::process::ExitStatus,
}

/// Runs the module executable on an arguments file, as ansible-core does (binary-modules.md
/// §1.2), in a clean environment and under `MODULE_ADDRESS_SPACE`.
fn run_module(dir: &Path, args: &Value) -> Run {
    let path = dir.join("args");
    std::fs::write(&path, args.to_string()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_aurora-ansible"));
    command
        .arg(&path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    limit_address_space(&mut command, MODULE_ADDRESS_SPACE);
    let child = command.spawn().expect("the module executable starts");
    wait_bounded(child, CASE_TIME_LIMIT)
}

fn limit_address_space(command: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit is async-signal-safe and touches only the child being started.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

fn wait_bounded(mut child: Child, limit: Duration) -> Run {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        status,
    }
}

/// Largest resident set of the children waited for so far, in KiB (Linux's ru_maxrss).
fn peak_child_rss_kib() -> i64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss
}

/// Why a run is not a clear failure naming `expect`, if it is not.
fn judge(run: &Run, expect: &str) -> Result<(), String> {
    let lines: Vec<&str> = run.stdout.lines().collect();
    let [line] = lines.as_slice() else {
        return Err(format!(
            "stdout is not one JSON line ({:?}); exit {:?}; stderr {:?}",
            run.stdout, run.status, run.stderr
        ));
    };
    let result: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
    let msg = result["msg"].as_str().unwrap_or_default();
    if result["failed"] != json!(true) {
        return Err(format!("accepted: {line}"));
    }
    if msg.contains("panicked") || msg.contains("this is a bug") {
        return Err(format!("panicked: {msg}"));
    }
    if !msg.contains(expect) {
        return Err(format!("the message does not name {expect:?}: {msg}"));
    }
    Ok(())
}

#[test]
fn every_bad_input_of_the_corpus_fails_clearly_naming_the_option_within_bounded_memory() {
    let corpus: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(CORPUS).unwrap()).unwrap();
    let bases = corpus["base"].as_object().unwrap();
    let cases = corpus["cases"].as_array().unwrap();
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let common = json!({"scheduler_url": sim.url(), "timeout": 5});

    // The job the corpus's cases address.
    let mut setup = json!({
        "_ansible_module_name": "aurora.scheduler.job", "role": "bad", "environment": "devel",
        "name": "base", "instances": 2, "wait": false,
        "task": {"processes": [{"name": "main", "cmdline": "sleep 100"}],
                 "resources": {"cpu": 0.25, "ram": "64MiB", "disk": "64MiB"}}
    });
    merge(&mut setup, &common);
    let created = run_module(dir.path(), &setup);
    assert!(
        created.stdout.contains(r#""changed":true"#),
        "{}",
        created.stdout
    );

    let mut problems = Vec::new();
    let mut per_module: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, case) in cases.iter().enumerate() {
        let module = case["module"].as_str().expect("each case names its module");
        let expect = case["expect"]
            .as_str()
            .expect("each case says what to expect");
        let mut args = bases
            .get(module)
            .unwrap_or_else(|| panic!("case {i}: no base for module {module}"))
            .clone();
        merge(&mut args, &common);
        merge(&mut args, &case["args"]);
        args["_ansible_module_name"] = json!(format!("aurora.scheduler.{module}"));
        let run = run_module(dir.path(), &args);
        *per_module.entry(module.to_owned()).or_default() += 1;
        if let Err(why) = judge(&run, expect) {
            problems.push(format!("case {i} ({module}, {}): {why}", case["args"]));
        }
    }

    // Nothing reached the scheduler: the setup's job is its only one.
    let mut list = json!({"_ansible_module_name": "aurora.scheduler.job_info", "role": "bad"});
    merge(&mut list, &common);
    let jobs = run_module(dir.path(), &list);
    let listed: Value = serde_json::from_str(jobs.stdout.trim()).unwrap();
    let names: Vec<&str> = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["name"].as_str())
        .collect();

    let peak = peak_child_rss_kib();
    println!(
        "bad inputs: {} tried ({per_module:?}), {} clear errors, {} problems; peak module RSS \
         {:.1} MiB under a {} MiB address-space limit",
        cases.len(),
        cases.len() - problems.len(),
        problems.len(),
        peak as f64 / 1024.0,
        MODULE_ADDRESS_SPACE >> 20
    );
    assert!(cases.len() >= 150, "the corpus keeps at least 150 cases");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(names, ["base"], "{listed}");
}

/// `POST /api` of a TBinary body, answered in full.
fn post_binary(url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /api HTTP/1.1\r\nHost: {address}\r\nContent-Type: \
         application/vnd.apache.thrift.binary\r\nAccept: application/vnd.apache.thrift.binary\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, answer[end + 4..].to_vec())
}

/// A getTasksStatus whose query holds `n` empty job keys: one byte each in TBinary, tens of
/// bytes each once decoded. 15 MB of them took aurora-sim to 1.1 GB before issue 18.
fn empty_job_keys_query(n: usize) -> Vec<u8> {
    let name = b"getTasksStatus";
    let mut body = vec![0x80, 0x01, 0x00, 0x01];
    body.extend_from_slice(&(name.len() as i32).to_be_bytes());
    body.extend_from_slice(name);
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&[0x0c, 0x00, 0x01, 0x0e, 0x00, 0x0b, 0x0c]);
    body.extend_from_slice(&(n as i32).to_be_bytes());
    body.resize(body.len() + n, 0x00);
    body.extend_from_slice(&[0x00, 0x00]);
    body
}

#[test]
fn a_body_of_fifteen_million_empty_job_keys_is_refused_instead_of_decoded() {
    let sim = sim();
    let (status, body) = post_binary(sim.url(), &empty_job_keys_query(15_000_000));
    assert_eq!(status, 200, "the scheduler answers Thrift errors in a 200");
    match decode_reply(Encoding::Binary, "getTasksStatus", &body) {
        Err(ReplyError::Exception(e)) => {
            assert_eq!(e.kind, ApplicationErrorKind::ProtocolError);
            assert!(e.message.contains("more values"), "{}", e.message);
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    // A real query still works after it.
    let (status, body) = post_binary(sim.url(), &empty_job_keys_query(3));
    assert_eq!(status, 200);
    assert!(decode_reply(Encoding::Binary, "getTasksStatus", &body).is_ok());
}

/// Starts the aurora-sim executable on a free port; its URL is the first line it prints.
fn start_sim_process() -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aurora-sim"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

/// Sends SIGTERM with `partial` sent on an open connection; how long the simulator then took to
/// exit, or `None` if it had not within `limit` (it is killed then).
fn exit_after_sigterm(partial: &[u8], limit: Duration) -> Option<Duration> {
    let (mut child, url) = start_sim_process();
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    stream.write_all(partial).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill sends a signal to the process this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let sent = Instant::now();
    while sent.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return Some(sent.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn sigterm_stops_the_simulator_while_a_client_has_sent_half_its_headers() {
    // Before issue 18 it waited for the client for ever (over 30 s in the report).
    let limit = SHUTDOWN_GRACE + Duration::from_secs(10);
    let took = exit_after_sigterm(b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Ty", limit);
    assert!(took.is_some(), "still running {limit:?} after SIGTERM");
}

#[test]
fn sigterm_stops_the_simulator_while_a_client_has_sent_half_its_body() {
    let limit = SHUTDOWN_GRACE + Duration::from_secs(10);
    let partial = b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n[1,\"getRole";
    let took = exit_after_sigterm(partial, limit);
    assert!(took.is_some(), "still running {limit:?} after SIGTERM");
}

#[test]
fn the_corpus_merges_cases_into_the_base_arguments() {
    let mut base = json!({"a": 1, "task": {"processes": [1], "resources": {"cpu": 1}}});
    merge(
        &mut base,
        &json!({"a": null, "task": {"resources": {"ram": 2}}, "b": [3]}),
    );
    let want: Map<String, Value> = serde_json::from_value(json!({
        "task": {"processes": [1], "resources": {"cpu": 1, "ram": 2}}, "b": [3]
    }))
    .unwrap();
    assert_eq!(base, Value::Object(want));
}
