//! Conformance of aurora-sim's HTTP transport to api-reference §1, through the project's own client
//! and raw HTTP against a live simulator on 127.0.0.1. Each test names the section it follows.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aurora_ansible::api::client::{Client, ClientConfig, ClientError, RetryPolicy};
use aurora_ansible::api::codec::{self, Encoding, ReplyError};
use aurora_ansible::api::methods::{GetJobSummary, GetTierConfigs, KillTasks, SetQuota};
use aurora_ansible::api::types::{JobKey, ResponseCode};
use aurora_ansible::sim::auth::Users;
use aurora_ansible::sim::config::{ClusterSpec, HostResources, SimConfig};
use aurora_ansible::sim::server::{Leadership, RunningSim, ServerOptions};
use thrift::ApplicationErrorKind;

const BINARY: &str = "application/vnd.apache.thrift.binary";
const TJSON: &str = "application/vnd.apache.thrift.json";

fn sim(options: ServerOptions) -> RunningSim {
    let cluster = ClusterSpec::generated(3, 1, &HostResources::default()).unwrap();
    RunningSim::start(SimConfig::new(cluster), options, 1.0).unwrap()
}

fn client(url: &str) -> Client {
    let mut config = ClientConfig::new(url);
    config.retry = RetryPolicy::never();
    config.timeout = Duration::from_secs(5);
    Client::new(&config).unwrap()
}

/// Raw HTTP for the cases the project's client never produces; it needs the TLS provider our
/// client installs for itself.
fn raw_http() -> reqwest::blocking::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
}

fn post(
    url: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: Vec<u8>,
) -> reqwest::blocking::Response {
    let http = raw_http()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut request = http.post(format!("{url}/api")).body(body);
    if let Some(ct) = content_type {
        request = request.header("Content-Type", ct);
    }
    // reqwest adds `Accept: */*` unless told otherwise.
    request = request.header("Accept", accept.unwrap_or("*/*"));
    request.send().unwrap()
}

fn content_type(response: &reqwest::blocking::Response) -> String {
    response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn role_summary_call(encoding: Encoding) -> Vec<u8> {
    codec::encode_call(
        encoding,
        41,
        &GetJobSummary {
            role: Some("www-data".into()),
        },
    )
    .unwrap()
}

#[test]
fn binary_request_with_binary_accept_gets_a_binary_reply_echoing_the_seqid() {
    // §1.2 (both tables), §1.3 (name and seqid echoed, HTTP 200 for every Thrift reply).
    let sim = sim(ServerOptions::default());
    let reply = post(
        sim.url(),
        Some(BINARY),
        Some(BINARY),
        role_summary_call(Encoding::Binary),
    );
    assert_eq!(reply.status(), 200);
    assert_eq!(content_type(&reply), BINARY);
    let bytes = reply.bytes().unwrap();
    assert_eq!(
        &bytes[..4],
        &[0x80, 0x01, 0x00, 0x02],
        "versioned REPLY header"
    );
    assert_eq!(
        &bytes[4 + 4 + "getJobSummary".len()..][..4],
        &41i32.to_be_bytes()
    );
    let response = codec::decode_reply(Encoding::Binary, "getJobSummary", &bytes).unwrap();
    assert_eq!(
        response.server_info.unwrap().cluster_name.as_deref(),
        Some("devcluster")
    );
}

#[test]
fn every_tjson_content_type_is_read_as_tjson_and_answered_in_tjson() {
    // §1.2 first table: absent, x-thrift (legacy, not binary!), json, thrift.json (± charset=utf-8).
    let sim = sim(ServerOptions::default());
    for ct in [
        None,
        Some("application/x-thrift"),
        Some("application/json"),
        Some(TJSON),
        Some("application/vnd.apache.thrift.json; charset=utf-8"),
        Some("application/vnd.apache.thrift.json; charset=UTF-8"),
    ] {
        let reply = post(sim.url(), ct, None, role_summary_call(Encoding::Json));
        assert_eq!(reply.status(), 200, "{ct:?}");
        assert_eq!(content_type(&reply), TJSON, "{ct:?}");
        let text = reply.text().unwrap();
        assert!(
            text.starts_with(r#"[1,"getJobSummary",2,41,{"0":{"rec":"#),
            "{ct:?}: {text}"
        );
        codec::decode_reply(Encoding::Json, "getJobSummary", text.as_bytes()).unwrap();
    }
}

#[test]
fn reply_encoding_follows_accept_not_the_request() {
    // §1.2 second table: only an exact binary Accept gets binary; */* (reqwest's default) gets TJSON.
    let sim = sim(ServerOptions::default());
    for accept in [
        "*/*",
        "application/json",
        "application/x-thrift",
        "application/vnd.apache.thrift.binary, */*",
    ] {
        let reply = post(
            sim.url(),
            Some(BINARY),
            Some(accept),
            role_summary_call(Encoding::Binary),
        );
        assert_eq!(content_type(&reply), TJSON, "{accept}");
        codec::decode_reply(Encoding::Json, "getJobSummary", &reply.bytes().unwrap()).unwrap();
    }
    let reply = post(
        sim.url(),
        None,
        Some(BINARY),
        role_summary_call(Encoding::Json),
    );
    assert_eq!(content_type(&reply), BINARY, "TJSON request, binary reply");
    codec::decode_reply(Encoding::Binary, "getJobSummary", &reply.bytes().unwrap()).unwrap();
}

#[test]
fn other_content_types_get_415_naming_the_type() {
    // §1.2: anything else, including an extra parameter, is rejected with HTTP 415.
    let sim = sim(ServerOptions::default());
    for ct in [
        "application/json; charset=utf-8",
        "application/vnd.apache.thrift.binary; charset=x",
        "text/plain",
        "application/vnd.apache.thrift.compact",
    ] {
        let reply = post(
            sim.url(),
            Some(ct),
            None,
            role_summary_call(Encoding::Binary),
        );
        assert_eq!(reply.status(), 415, "{ct}");
        assert!(reply.text().unwrap().contains(ct), "{ct}");
    }
}

fn exception_of(
    encoding: Encoding,
    method: &str,
    reply: reqwest::blocking::Response,
) -> ApplicationErrorKind {
    assert_eq!(
        reply.status(),
        200,
        "TApplicationException travels with HTTP 200 (§1.3)"
    );
    match codec::decode_reply(encoding, method, &reply.bytes().unwrap()) {
        Err(ReplyError::Exception(e)) => e.kind,
        other => panic!("expected a TApplicationException, got {other:?}"),
    }
}

#[test]
fn unknown_method_gets_an_unknown_method_exception() {
    // §1.3: unknown method name → EXCEPTION message, type 1 UNKNOWN_METHOD, HTTP 200.
    let sim = sim(ServerOptions::default());
    let body = br#"[1,"getEverything",1,3,{}]"#.to_vec();
    let kind = exception_of(
        Encoding::Json,
        "getEverything",
        post(sim.url(), None, None, body),
    );
    assert_eq!(kind, ApplicationErrorKind::UnknownMethod);
}

#[test]
fn undecodable_arguments_get_a_protocol_error_exception() {
    // §1.3: args that fail to decode → EXCEPTION type 7 PROTOCOL_ERROR, HTTP 200.
    let sim = sim(ServerOptions::default());
    let mut truncated = role_summary_call(Encoding::Binary);
    truncated.truncate(truncated.len() - 4);
    let kind = exception_of(
        Encoding::Binary,
        "getJobSummary",
        post(sim.url(), Some(BINARY), Some(BINARY), truncated),
    );
    assert_eq!(kind, ApplicationErrorKind::ProtocolError);
    let wrong_json_type = br#"[1,"getJobSummary",1,3,{"1":{"str":5}}]"#.to_vec();
    let kind = exception_of(
        Encoding::Json,
        "getJobSummary",
        post(sim.url(), None, None, wrong_json_type),
    );
    assert_eq!(kind, ApplicationErrorKind::ProtocolError);
}

#[test]
fn unreadable_message_header_gets_500() {
    // §1.3: "An undecodable message header makes the servlet fail with HTTP 500."
    let sim = sim(ServerOptions::default());
    assert_eq!(
        post(sim.url(), None, None, b"not thrift at all".to_vec()).status(),
        500
    );
    assert_eq!(
        post(sim.url(), Some(BINARY), None, vec![0x80, 0x01]).status(),
        500
    );
    assert_eq!(post(sim.url(), Some(BINARY), None, vec![]).status(), 500);
}

#[test]
fn hostile_bodies_are_answered_and_the_server_keeps_serving() {
    // §6.2 / issue: huge declared lengths, invalid UTF-8 and truncation never crash the server.
    let sim = sim(ServerOptions::default());
    let mut huge_string = vec![0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0d];
    huge_string.extend_from_slice(b"getJobSummary");
    huge_string.extend_from_slice(&[0, 0, 0, 1, 11, 0, 1, 0x7f, 0xff, 0xff, 0xff, b'x']);
    let mut huge_list = vec![0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0d];
    huge_list.extend_from_slice(b"getJobSummary");
    huge_list.extend_from_slice(&[0, 0, 0, 1, 15, 0, 1, 8, 0x7f, 0xff, 0xff, 0xff]);
    let mut bad_utf8 = vec![0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0d];
    bad_utf8.extend_from_slice(b"getJobSummary");
    bad_utf8.extend_from_slice(&[0, 0, 0, 1, 11, 0, 1, 0, 0, 0, 2, 0xff, 0xfe, 0]);
    let json_huge = br#"[1,"getJobSummary",1,0,{"1":{"lst":["i32",2000000000,1]}}]"#.to_vec();
    let json_bad_utf8 = [
        br#"[1,"getJobSummary",1,0,{"1":{"str":""#.as_slice(),
        &[0xff, 0xfe],
        br#""}}]"#,
    ]
    .concat();
    for (name, ct, body) in [
        ("huge string", Some(BINARY), huge_string),
        ("huge list", Some(BINARY), huge_list),
        ("invalid utf-8", Some(BINARY), bad_utf8),
        ("json huge list", None, json_huge),
        ("json invalid utf-8", None, json_bad_utf8),
    ] {
        let started = Instant::now();
        let status = post(sim.url(), ct, None, body).status();
        assert!(status == 200 || status == 500, "{name}: {status}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name} took {:?}",
            started.elapsed()
        );
    }
    let reply = post(
        sim.url(),
        Some(BINARY),
        Some(BINARY),
        role_summary_call(Encoding::Binary),
    );
    assert_eq!(reply.status(), 200, "still serving");
}

#[test]
fn non_leader_redirects_with_307_and_the_client_replays_the_call() {
    // §1.5 step 5 and client-reference §6.5: 307 with Location; the client replays the POST.
    let leader = sim(ServerOptions::default());
    let follower = sim(ServerOptions {
        leadership: Leadership::RedirectTo(leader.url().to_string()),
        users: None,
        ..ServerOptions::default()
    });
    let raw = post(
        follower.url(),
        Some(BINARY),
        Some(BINARY),
        role_summary_call(Encoding::Binary),
    );
    assert_eq!(raw.status(), 307);
    assert_eq!(
        raw.headers()["location"],
        format!("{}/api", leader.url()).as_str()
    );
    let response = client(follower.url()).call(&GetTierConfigs {}).unwrap();
    assert!(response.server_info.is_some(), "answered by the leader");
}

#[test]
fn bypass_header_makes_a_non_leader_answer_itself() {
    // §1.5 step 1: Bypass-Leader-Redirect lets the request through to whichever scheduler got it.
    let follower = sim(ServerOptions {
        leadership: Leadership::RedirectTo("http://127.0.0.1:1".into()),
        users: None,
        ..ServerOptions::default()
    });
    let reply = raw_http()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/api", follower.url()))
        .header("Content-Type", BINARY)
        .header("Accept", BINARY)
        .header("Bypass-Leader-Redirect", "true")
        .body(role_summary_call(Encoding::Binary))
        .send()
        .unwrap();
    assert_eq!(reply.status(), 200);
}

#[test]
fn leaderhealth_and_no_leader_answers() {
    // §1.5: /leaderhealth 200 on the leader, 503 when another leads, 502 with no leader;
    // /api answers 503 with no leader; /health is OK on any live scheduler.
    let http = raw_http().build().unwrap();
    let get = |url: String| http.get(url).send().unwrap();
    let leader = sim(ServerOptions::default());
    assert_eq!(get(format!("{}/leaderhealth", leader.url())).status(), 200);
    assert_eq!(
        get(format!("{}/health", leader.url())).text().unwrap(),
        "OK"
    );
    let follower = sim(ServerOptions {
        leadership: Leadership::RedirectTo(leader.url().into()),
        users: None,
        ..ServerOptions::default()
    });
    assert_eq!(
        get(format!("{}/leaderhealth", follower.url())).status(),
        503
    );
    let orphan = sim(ServerOptions {
        leadership: Leadership::NoLeader,
        users: None,
        ..ServerOptions::default()
    });
    assert_eq!(get(format!("{}/leaderhealth", orphan.url())).status(), 502);
    assert_eq!(
        get(format!("{}/health", orphan.url())).text().unwrap(),
        "OK"
    );
    let err = client(orphan.url()).call(&GetTierConfigs {}).unwrap_err();
    assert!(matches!(err, ClientError::NoLeader { .. }), "{err}");
    assert!(err.to_string().contains(orphan.url()), "{err}");
}

fn auth_sim() -> RunningSim {
    let users = Users::parse(
        "[users]\nroot = secret, admin\ndeployer = pw, webapp\n[roles]\nadmin = *\nwebapp = thrift.AuroraSchedulerManager:*:webapp\n",
    )
    .unwrap();
    sim(ServerOptions {
        leadership: Leadership::Leader,
        users: Some(users),
        ..ServerOptions::default()
    })
}

fn authed(url: &str, user: &str, password: &str) -> Client {
    let mut config = ClientConfig::new(url);
    config.retry = RetryPolicy::never();
    config.username = Some(user.into());
    config.password = Some(password.into());
    Client::new(&config).unwrap()
}

fn kill(role: &str) -> KillTasks {
    KillTasks {
        job: Some(JobKey::new(role, "prod", "web")),
        instances: None,
        message: None,
    }
}

#[test]
fn writes_without_credentials_get_401_with_a_basic_challenge_and_reads_stay_open() {
    // §1.6: reads never need authentication; AuroraSchedulerManager methods without it get 401.
    let sim = auth_sim();
    assert!(client(sim.url()).call(&GetTierConfigs {}).is_ok());
    let raw = post(
        sim.url(),
        Some(BINARY),
        Some(BINARY),
        codec::encode_call(Encoding::Binary, 0, &kill("webapp")).unwrap(),
    );
    assert_eq!(raw.status(), 401);
    assert_eq!(
        raw.headers()["www-authenticate"],
        "BASIC realm=\"Apache Aurora Scheduler\""
    );
    assert!(matches!(
        client(sim.url()).call(&kill("webapp")),
        Err(ClientError::Unauthorized { .. })
    ));
}

#[test]
fn wrong_credentials_get_401_even_for_reads() {
    // §1.6 / §6.1 item 18: a bad Authorization header is rejected even on a read-only call.
    let sim = auth_sim();
    let err = authed(sim.url(), "root", "wrong")
        .call(&GetTierConfigs {})
        .unwrap_err();
    assert!(matches!(err, ClientError::Unauthorized { .. }), "{err}");
}

#[test]
fn a_user_without_the_permission_gets_auth_failed_naming_principal_and_permission() {
    // §1.6: missing permission → HTTP 200, AUTH_FAILED, detail naming principal and permission.
    let sim = auth_sim();
    let deployer = authed(sim.url(), "deployer", "pw");
    let response = deployer.call(&kill("other")).unwrap();
    assert_eq!(response.response_code, Some(ResponseCode::AUTH_FAILED));
    let detail = response.details.unwrap()[0].message.clone().unwrap();
    assert!(
        detail.contains("deployer")
            && detail.contains("thrift.AuroraSchedulerManager:killTasks:other:prod:web"),
        "{detail}"
    );
    let admin_call = deployer.call(&SetQuota::default()).unwrap();
    assert_eq!(admin_call.response_code, Some(ResponseCode::AUTH_FAILED));
    // Job-scoped grant: the call reaches the scheduler (which fills serverInfo).
    let allowed = deployer.call(&kill("webapp")).unwrap();
    assert_ne!(allowed.response_code, Some(ResponseCode::AUTH_FAILED));
    assert!(allowed.server_info.is_some());
    let root = authed(sim.url(), "root", "secret")
        .call(&kill("anything"))
        .unwrap();
    assert_ne!(root.response_code, Some(ResponseCode::AUTH_FAILED));
}

#[test]
fn a_write_with_an_invalid_job_key_is_refused_before_it_runs_when_auth_is_on() {
    // §1.6: a missing or invalid key → HTTP 200 with INVALID_REQUEST before the method runs.
    let sim = auth_sim();
    let response = authed(sim.url(), "root", "secret")
        .call(&kill("bad role"))
        .unwrap();
    assert_eq!(response.response_code, Some(ResponseCode::INVALID_REQUEST));
}

#[test]
fn client_errors_name_the_scheduler_and_the_method() {
    // Issue #2, "Bad input": a client error names the scheduler URL and the method.
    let err = client("http://127.0.0.1:1")
        .call(&GetJobSummary::default())
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("getJobSummary") && text.contains("127.0.0.1:1"),
        "{text}"
    );
}

#[test]
fn the_binary_prints_its_url_first_and_stops_cleanly_on_sigterm() {
    // design.md: `aurora-sim --listen 127.0.0.1:0` prints the URL it serves on its first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_aurora-sim"))
        .args(["--listen", "127.0.0.1:0", "--hosts", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(
        raw_http()
            .build()
            .unwrap()
            .get(format!("{url}/health"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "OK"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "aurora-sim did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_readme_curl_example_gets_an_ok_reply() {
    // README.md, "A hand-written TJSON call with curl": the payload and content type it shows.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let payload = readme
        .split("--data '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("README shows a curl --data payload");
    assert!(readme.contains("-H 'Content-Type: application/x-thrift'"));
    let sim = sim(ServerOptions::default());
    let reply = post(
        sim.url(),
        Some("application/x-thrift"),
        None,
        payload.as_bytes().to_vec(),
    );
    assert_eq!(reply.status(), 200);
    let response =
        codec::decode_reply(Encoding::Json, "getJobSummary", &reply.bytes().unwrap()).unwrap();
    assert_eq!(response.response_code, Some(ResponseCode::OK));
}
