//! Fuzzing of what aurora-ansible reads from others: both Thrift decoders (TBinary and TJSON,
//! src/api) on request and reply bodies, and the module arguments parser (src/ansible) on
//! arguments files. No input may panic, every refused option must be named, and each decode
//! may allocate no more than its budget plus a few times its body: allocations are counted per
//! thread by this binary's allocator.
//!
//! proptest with a fixed seed, so `make test` runs the same cases every time; `FUZZ_CASES`
//! multiplies the case counts (`make fuzz` runs many more).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;

use aurora_ansible::ansible::check_module_args;
use aurora_ansible::api::codec::{
    decode_call_within, decode_reply, encode_call, encode_reply, Encoding,
};
use aurora_ansible::api::methods::{CreateJob, GetTasksStatus, KillTasks, StartJobUpdate};
use aurora_ansible::api::types::{
    AssignedTask, Constraint, Container, ExecutorConfig, Identity, JobConfiguration, JobKey,
    JobUpdateRequest, LimitConstraint, MesosContainer, Metadata, Resource, Response, ResponseCode,
    Result as Payload, ScheduleStatus, ScheduleStatusResult, ScheduledTask, TaskConfig,
    TaskConstraint, TaskEvent, TaskQuery, AURORA_EXECUTOR_NAME,
};
use aurora_ansible::modules::ALL;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::{json, Value};

/// Counts the bytes live on each thread while `TRACKING` is set there, and their peak.
struct CountingAllocator;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let live = LIVE.with(|l| {
                l.set(l.get() + delta);
                l.get()
            });
            PEAK.with(|p| p.set(p.get().max(live)));
        }
    });
}

// SAFETY: every call is passed on to the system allocator unchanged; only counted.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// `f`'s result and the most bytes it had allocated at once on this thread.
fn peak_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let result = f();
    TRACKING.with(|t| t.set(false));
    (result, PEAK.with(Cell::get).max(0) as usize)
}

/// A runner with a fixed seed and `cases` times `FUZZ_CASES` cases, writing no regression files.
fn runner(cases: u32) -> TestRunner {
    let factor: u32 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    TestRunner::new(Config {
        cases: cases.saturating_mul(factor.max(1)),
        rng_seed: RngSeed::Fixed(18),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Reports how many cases a fuzz target ran, for the figures.
fn report(target: &str, runner: &TestRunner, result: Result<(), String>) {
    let cases = runner.config().cases;
    println!("fuzz {target}: {cases} cases");
    if let Err(e) = result {
        panic!("fuzz {target} failed: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Decoders

/// Per decode: this budget of decoded values, plus the body's own bytes a few times over
/// (strings and the TJSON reader's buffers), plus a fixed allowance for the decoder itself.
const FUZZ_DECODE_BUDGET: usize = 1 << 20;

fn allowed_peak(body: &[u8]) -> usize {
    FUZZ_DECODE_BUDGET + 4 * body.len() + (64 << 10)
}

fn job_key(name: &str) -> JobKey {
    JobKey::new("www-data", "prod", name)
}

fn task_config() -> TaskConfig {
    TaskConfig {
        job: Some(job_key("hello")),
        owner: Some(Identity {
            user: Some("www-data".into()),
        }),
        is_service: true,
        max_task_failures: 1,
        tier: Some("preemptible".into()),
        resources: Some(vec![
            Resource::NumCpus(0.5),
            Resource::RamMb(128),
            Resource::DiskMb(256),
            Resource::NamedPort("http".into()),
        ]),
        constraints: Some(vec![Constraint {
            name: Some("rack".into()),
            constraint: Some(TaskConstraint::Limit(LimitConstraint { limit: 1 })),
        }]),
        executor_config: Some(ExecutorConfig {
            name: Some(AURORA_EXECUTOR_NAME.into()),
            data: Some(r#"{"name":"hello","task":{"processes":[]}}"#.into()),
        }),
        metadata: Some(vec![Metadata {
            key: Some("version".into()),
            value: Some("1.4.2".into()),
        }]),
        container: Some(Container::Mesos(MesosContainer::default())),
        ..TaskConfig::default()
    }
}

/// Valid calls and replies of several shapes, to mutate.
fn samples(encoding: Encoding) -> Vec<Vec<u8>> {
    let create = CreateJob {
        description: Some(JobConfiguration {
            key: Some(job_key("hello")),
            task_config: Some(task_config()),
            instance_count: 3,
            ..JobConfiguration::default()
        }),
    };
    let query = GetTasksStatus {
        query: Some(TaskQuery {
            role: Some("www-data".into()),
            job_keys: Some(vec![job_key("a"), job_key("b")]),
            instance_ids: Some(vec![0, 1, 2]),
            statuses: Some(vec![ScheduleStatus::RUNNING]),
            ..TaskQuery::default()
        }),
    };
    let kill = KillTasks {
        job: Some(job_key("hello")),
        instances: Some(vec![0, 1, 2, 3]),
        message: Some("bye".into()),
    };
    let update = StartJobUpdate {
        request: Some(JobUpdateRequest {
            task_config: Some(task_config()),
            instance_count: 2,
            ..JobUpdateRequest::default()
        }),
        message: Some("roll".into()),
    };
    let task = ScheduledTask {
        assigned_task: Some(AssignedTask {
            task_id: Some("www-data-prod-hello-0-abc".into()),
            slave_host: Some("host-001".into()),
            task: Some(task_config()),
            assigned_ports: Some(BTreeMap::from([("http".to_string(), 31001)])),
            instance_id: 0,
            ..AssignedTask::default()
        }),
        status: Some(ScheduleStatus::RUNNING),
        task_events: Some(vec![TaskEvent {
            timestamp: 1,
            status: Some(ScheduleStatus::PENDING),
            message: Some("created".into()),
            scheduler: None,
        }]),
        ..ScheduledTask::default()
    };
    let reply = Response {
        response_code: Some(ResponseCode::OK),
        server_info: None,
        result: Some(Payload::ScheduleStatusResult(ScheduleStatusResult {
            tasks: Some(vec![task.clone(), task]),
        })),
        details: Some(vec![]),
    };
    vec![
        encode_call(encoding, 1, &create).unwrap(),
        encode_call(encoding, 2, &query).unwrap(),
        encode_call(encoding, 3, &kill).unwrap(),
        encode_call(encoding, 4, &update).unwrap(),
        encode_reply(encoding, "getTasksStatus", 5, &reply).unwrap(),
    ]
}

/// Decodes `body` as a call (with the fuzz budget) and as a reply; panics if either allocates
/// beyond what the body allows.
fn decode_everything(encoding: Encoding, body: &[u8]) -> Result<(), TestCaseError> {
    let (_, peak) =
        peak_allocation(|| decode_call_within(encoding, body, FUZZ_DECODE_BUDGET).map(drop));
    prop_assert!(
        peak <= allowed_peak(body),
        "{encoding:?} call of {} bytes allocated {peak} bytes",
        body.len()
    );
    // Replies get the client's own, larger budget; small bodies stay far from it.
    let (_, peak) = peak_allocation(|| decode_reply(encoding, "getTasksStatus", body).map(drop));
    prop_assert!(
        peak <= 256 * 1024 * 1024,
        "{encoding:?} reply of {} bytes allocated {peak} bytes",
        body.len()
    );
    Ok(())
}

/// How one sample is damaged.
#[derive(Clone, Debug)]
enum Damage {
    Set(prop::sample::Index, u8),
    /// A 4-byte big-endian count written over the body: a declared length or size.
    Count(prop::sample::Index, u32),
    Insert(prop::sample::Index, Vec<u8>),
    Remove(prop::sample::Index, prop::sample::Index),
    Cut(prop::sample::Index),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Set(i, b)),
        (
            any::<prop::sample::Index>(),
            prop_oneof![Just(u32::MAX), Just(0x7fff_ffff), 0u32..100_000]
        )
            .prop_map(|(i, n)| Damage::Count(i, n)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, bytes)| Damage::Insert(i, bytes)),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(i, n)| Damage::Remove(i, n)),
        any::<prop::sample::Index>().prop_map(Damage::Cut),
    ]
}

fn apply(body: &mut Vec<u8>, damage: &Damage) {
    if body.is_empty() {
        return;
    }
    match damage {
        Damage::Set(at, byte) => {
            let i = at.index(body.len());
            body[i] = *byte;
        }
        Damage::Count(at, n) => {
            let i = at.index(body.len());
            for (k, b) in n.to_be_bytes().iter().enumerate() {
                if let Some(slot) = body.get_mut(i + k) {
                    *slot = *b;
                }
            }
        }
        Damage::Insert(at, bytes) => {
            let i = at.index(body.len() + 1);
            body.splice(i..i, bytes.iter().copied());
        }
        Damage::Remove(at, n) => {
            let i = at.index(body.len());
            let end = (i + 1 + n.index(16)).min(body.len());
            body.drain(i..end);
        }
        Damage::Cut(at) => body.truncate(at.index(body.len() + 1)),
    }
}

#[test]
fn fuzz_decoders_on_arbitrary_bytes() {
    let mut runner = runner(3000);
    let result = runner
        .run(&prop::collection::vec(any::<u8>(), 0..2048), |body| {
            decode_everything(Encoding::Binary, &body)?;
            decode_everything(Encoding::Json, &body)
        })
        .map_err(|e| e.to_string());
    report("decoders/arbitrary-bytes", &runner, result);
}

#[test]
fn fuzz_decoders_on_damaged_valid_messages() {
    let binary = samples(Encoding::Binary);
    let json = samples(Encoding::Json);
    let mut runner = runner(3000);
    let strategy = (
        0..binary.len(),
        prop::collection::vec(damage(), 1..6),
        any::<bool>(),
    );
    let result = runner
        .run(&strategy, |(which, damages, as_json)| {
            let (encoding, sample) = if as_json {
                (Encoding::Json, &json[which])
            } else {
                (Encoding::Binary, &binary[which])
            };
            let mut body = sample.clone();
            for d in &damages {
                apply(&mut body, d);
            }
            decode_everything(encoding, &body)
        })
        .map_err(|e| e.to_string());
    report("decoders/damaged-messages", &runner, result);
}

/// Bodies made to expand: containers of empty structs (one byte each in TBinary, two in TJSON),
/// nested or not, under a valid call header.
fn amplifying_body(encoding: Encoding, count: usize, nesting: usize) -> Vec<u8> {
    match encoding {
        Encoding::Binary => {
            // getTasksStatus(query = TaskQuery{jobKeys = set<JobKey>[count] of empty structs}),
            // wrapped `nesting` times in an unknown struct field the reader must skip.
            let name = b"getTasksStatus";
            let mut body = vec![0x80, 0x01, 0x00, 0x01];
            body.extend_from_slice(&(name.len() as i32).to_be_bytes());
            body.extend_from_slice(name);
            body.extend_from_slice(&1i32.to_be_bytes());
            for _ in 0..nesting {
                body.extend_from_slice(&[0x0c, 0x00, 0x63]);
            }
            body.extend_from_slice(&[0x0c, 0x00, 0x01, 0x0e, 0x00, 0x0b, 0x0c]);
            body.extend_from_slice(&(count as i32).to_be_bytes());
            body.resize(body.len() + count, 0x00);
            body.extend_from_slice(&[0x00, 0x00]);
            body.extend(std::iter::repeat_n(0x00, nesting));
            body
        }
        Encoding::Json => {
            let keys = vec!["{}"; count].join(",");
            let query = format!(r#"{{"11":{{"set":["rec",{count},{keys}]}}}}"#);
            let mut args = format!(r#"{{"1":{{"rec":{query}}}}}"#);
            for _ in 0..nesting {
                args = format!(r#"{{"99":{{"rec":{args}}}}}"#);
            }
            format!(r#"[1,"getTasksStatus",1,1,{args}]"#).into_bytes()
        }
    }
}

#[test]
fn fuzz_decoders_on_bodies_made_to_expand() {
    let mut runner = runner(200);
    let strategy = (0usize..400_000, 0usize..4, any::<bool>());
    let result = runner
        .run(&strategy, |(count, nesting, as_json)| {
            let encoding = if as_json {
                Encoding::Json
            } else {
                Encoding::Binary
            };
            let body = amplifying_body(encoding, count, nesting);
            decode_everything(encoding, &body)
        })
        .map_err(|e| e.to_string());
    report("decoders/expanding-bodies", &runner, result);
}

// ---------------------------------------------------------------------------------------------
// Module arguments

/// Valid arguments of each module, the starting points of the mutations.
fn module_bases() -> Vec<Value> {
    let task = json!({"processes": [{"name": "main", "cmdline": "sleep 1"}],
                      "resources": {"cpu": 0.25, "ram": "64MiB", "disk": "64MiB"}});
    let url = json!("http://127.0.0.1:9");
    vec![
        json!({"_ansible_module_name": "aurora.scheduler.job", "scheduler_url": url,
               "role": "r", "environment": "devel", "name": "j", "task": task,
               "constraints": {"rack": "limit:1"}, "update": {"batch_size": 2},
               "health_check": {"interval_secs": 5}, "sla_policy": {"count": 1, "duration_secs": 60},
               "partition_policy": {"delay_secs": 5}, "metadata": {"version": "1"}}),
        json!({"_ansible_module_name": "aurora.scheduler.cron_job", "scheduler_url": url,
               "role": "r", "environment": "devel", "name": "c", "service": false,
               "cron_schedule": "0 2 * * *", "task": task}),
        json!({"_ansible_module_name": "aurora.scheduler.instances", "scheduler_url": url,
               "role": "r", "environment": "devel", "name": "j", "count": 3}),
        json!({"_ansible_module_name": "aurora.scheduler.job_info", "scheduler_url": url,
               "status": ["RUNNING"]}),
        json!({"_ansible_module_name": "aurora.scheduler.job_update", "scheduler_url": url,
               "role": "r", "environment": "devel", "name": "j", "state": "pulsed",
               "health_url": "http://127.0.0.1:9/health"}),
        json!({"_ansible_module_name": "aurora.scheduler.quota", "scheduler_url": url,
               "role": "r", "cpu": 1, "ram": "1GiB"}),
        json!({"_ansible_module_name": "aurora.scheduler.host_info", "scheduler_url": url,
               "hosts": ["host-001"], "attributes": {"rack": "r1"}}),
        json!({"_ansible_module_name": "aurora.scheduler.host_maintenance", "scheduler_url": url,
               "hosts": ["host-001"], "batch_size": 1,
               "sla_policy": {"percentage": 50, "duration_secs": 60}}),
    ]
}

/// Values an option could be given: every JSON type, numbers at the edges of every integer
/// type, numeric and size-like text.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop_oneof![
            Just(i64::MIN),
            Just(-2_147_483_649),
            Just(-1),
            Just(0),
            Just(1),
            Just(4001),
            Just(2_147_483_648),
            Just(1_000_000_000),
            Just(i64::MAX),
            any::<i64>()
        ]
        .prop_map(Value::from),
        Just(json!(u64::MAX)),
        prop_oneof![Just(1e9), Just(-0.5), Just(1e300), Just(2.5), any::<f64>()]
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("1e9"),
            Just("3000000000"),
            Just("-1"),
            Just("64MiB"),
            Just("1.5KiB"),
            Just("yes"),
            Just(""),
            Just(" "),
            Just("{\"a\": 1}"),
            Just("a=1, b=2"),
            Just("{{ x }}"),
            Just("RUNNING"),
            Just("limit:0")
        ]
        .prop_map(Value::from),
        "[a-z0-9/ .:-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The paths of every value in `value`, parents first.
fn paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            if key.starts_with("_ansible_") {
                continue;
            }
            prefix.push(key.clone());
            out.push(prefix.clone());
            paths(child, prefix, out);
            prefix.pop();
        }
    } else if let Value::Array(items) = value {
        for (i, child) in items.iter().enumerate() {
            prefix.push(i.to_string());
            out.push(prefix.clone());
            paths(child, prefix, out);
            prefix.pop();
        }
    }
}

fn set_at(value: &mut Value, path: &[String], new: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = value;
    for part in parents {
        here = match here {
            Value::Object(map) => map.entry(part.clone()).or_insert(Value::Null),
            Value::Array(items) => {
                match part.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(item) => item,
                    None => return,
                }
            }
            _ => return,
        };
    }
    match here {
        Value::Object(map) => {
            map.insert(last.clone(), new);
        }
        Value::Array(items) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = new;
            }
        }
        _ => {}
    }
}

/// Option errors must name the option: serde's bare messages ("invalid options: ...") are the
/// ones that lost it.
fn names_an_option(message: &str) -> bool {
    !message.trim().is_empty() && !message.starts_with("invalid options:")
}

#[test]
fn fuzz_module_arguments_with_values_of_every_type_anywhere() {
    let bases = module_bases();
    let env = |_: &str| None::<String>;
    let mut runner = runner(2000);
    let strategy = (
        0..bases.len(),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                any_value(),
                prop::option::of("[a-z_]{1,10}"),
            ),
            1..4,
        ),
    );
    let result = runner
        .run(&strategy, |(which, changes)| {
            let mut args = bases[which].clone();
            for (at, value, new_key) in changes {
                let mut all = Vec::new();
                paths(&args, &mut Vec::new(), &mut all);
                let mut path = all[at.index(all.len())].clone();
                if let Some(key) = new_key {
                    // Sometimes beside the chosen option instead: an unknown one.
                    path.pop();
                    path.push(key);
                }
                set_at(&mut args, &path, value);
            }
            let text = args.to_string();
            let (checked, peak) = peak_allocation(|| {
                std::panic::catch_unwind(|| check_module_args(ALL, &text, &env))
            });
            let checked =
                checked.map_err(|_| TestCaseError::fail(format!("panicked on {text}")))?;
            if let Err(message) = checked {
                prop_assert!(names_an_option(&message), "{message}\non {text}");
            }
            prop_assert!(peak <= 64 << 20, "{peak} bytes for {text}");
            Ok(())
        })
        .map_err(|e| e.to_string());
    report("args/values-anywhere", &runner, result);
}

#[test]
fn fuzz_module_arguments_files_of_arbitrary_text() {
    let env = |_: &str| None::<String>;
    let mut runner = runner(1000);
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        "[\\[\\]{}\",:0-9a-z_. -]{0,200}",
    ];
    let result = runner
        .run(&strategy, |text| {
            let checked = std::panic::catch_unwind(|| check_module_args(ALL, &text, &env));
            let checked =
                checked.map_err(|_| TestCaseError::fail(format!("panicked on {text:?}")))?;
            let object = text.trim_start().starts_with('{');
            prop_assert!(checked.is_err() || object, "accepted {:?}", text);
            Ok(())
        })
        .map_err(|e| e.to_string());
    report("args/arbitrary-text", &runner, result);
}
