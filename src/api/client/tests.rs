//! Client behaviour against a scripted HTTP(S) server on 127.0.0.1: redirects, status codes,
//! retries (counted server-side), timeouts, TLS verification, and the texts of the errors.

use std::net::TcpListener;

use thrift::{ApplicationError, ApplicationErrorKind};

use super::*;
use crate::api::codec::{decode_call, encode_exception, Incoming};
use crate::api::methods::{Call, GetJobSummary, KillTasks, MaintenanceStatus};
use crate::api::test_server::*;
use crate::api::types::{Hosts, JobKey};

// ---------------------------------------------------------------------------------------------
// Helpers for calls

/// Retries fast enough for tests.
fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(5),
    }
}

fn config(url: &str) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(5),
        retry: fast_retry(3),
        ..ClientConfig::new(url)
    }
}

fn client(url: &str) -> Client {
    Client::new(&config(url)).unwrap()
}

fn read_call() -> GetJobSummary {
    GetJobSummary {
        role: Some("www-data".into()),
    }
}

fn write_call() -> KillTasks {
    KillTasks {
        job: Some(JobKey::new("www-data", "prod", "hello")),
        instances: Some(vec![0, 1]),
        message: None,
    }
}

// ---------------------------------------------------------------------------------------------
// URL joining and configuration

#[test]
fn api_endpoint_is_the_rfc3986_join_of_the_base_with_api() {
    let cases = [
        ("http://h:8081", "http://h:8081/api"),
        ("http://h:8081/", "http://h:8081/api"),
        ("http://h:8081/x/", "http://h:8081/x/api"),
        // Without a trailing slash the last segment is replaced, as urljoin does.
        ("http://h:8081/x", "http://h:8081/api"),
        (
            "https://aurora.example.com/proxy/scheduler/",
            "https://aurora.example.com/proxy/scheduler/api",
        ),
        ("  http://h:8081  ", "http://h:8081/api"),
    ];
    for (base, want) in cases {
        assert_eq!(api_endpoint(base).unwrap().as_str(), want, "base {base}");
    }
}

#[test]
fn a_scheduler_url_that_is_not_http_is_refused_naming_it() {
    for bad in ["h:8081", "ftp://h/", "not a url", ""] {
        let e = api_endpoint(bad).unwrap_err();
        assert!(e.contains(&format!("{bad:?}")), "{e}");
    }
    let e = Client::new(&ClientConfig::new("ftp://h/")).unwrap_err();
    assert!(matches!(e, ClientError::Config { .. }));
}

#[test]
fn an_unreadable_ca_path_is_a_config_error_naming_the_path() {
    let mut cfg = config("https://127.0.0.1:1");
    cfg.ca_path = Some(PathBuf::from("/nonexistent/aurora-ca.pem"));
    let e = Client::new(&cfg).unwrap_err();
    assert!(matches!(e, ClientError::Config { .. }));
    assert!(e.to_string().contains("/nonexistent/aurora-ca.pem"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    cfg.ca_path = Some(not_pem.clone());
    let e = Client::new(&cfg).unwrap_err().to_string();
    assert!(e.contains(&not_pem.display().to_string()), "{e}");
}

#[test]
fn the_password_never_appears_in_debug_output() {
    let cfg = ClientConfig {
        username: Some("alice".into()),
        password: Some("hunter2-secret".into()),
        ..ClientConfig::new("http://127.0.0.1:1")
    };
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(shown.contains("alice"), "{shown}");
    let client = Client::new(&cfg).unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    // The precomputed header is marked sensitive, so it does not leak through reqwest either.
    let header = client.auth.as_ref().unwrap();
    assert!(header.is_sensitive());
    assert!(!format!("{header:?}").contains("Basic"));
}

#[test]
fn backoff_doubles_from_the_initial_pause_up_to_the_cap() {
    let policy = RetryPolicy::default();
    let pauses: Vec<u128> = (1..=6).map(|r| policy.backoff(r).as_millis()).collect();
    assert_eq!(pauses, vec![500, 1000, 2000, 4000, 8000, 8000]);
    assert_eq!(
        policy.next_delay(1, Duration::ZERO),
        Some(Duration::from_millis(500))
    );
    assert_eq!(
        policy.next_delay(5, Duration::ZERO),
        None,
        "five attempts in all"
    );
    assert_eq!(
        policy.next_delay(1, Duration::from_secs(60)),
        None,
        "no retry past max_elapsed"
    );
    assert_eq!(RetryPolicy::never().next_delay(1, Duration::ZERO), None);
}

// ---------------------------------------------------------------------------------------------
// What goes on the wire

#[test]
fn a_call_is_one_binary_post_to_api_with_both_content_headers_and_a_user_agent() {
    let server = TestServer::start(|_, r, _| ok_reply(r));
    let reply = client(&server.url()).call(&read_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api");
    let binary = "application/vnd.apache.thrift.binary";
    assert_eq!(r.header_values("content-type"), vec![binary]);
    assert_eq!(
        r.header_values("accept"),
        vec![binary],
        "exactly one Accept"
    );
    let agent = r.header("user-agent").unwrap();
    assert!(agent.starts_with("aurora-ansible/"), "{agent}");
    assert!(agent.contains(env!("CARGO_PKG_VERSION")), "{agent}");
    assert!(
        r.header("authorization").is_none(),
        "no credentials configured"
    );
    match decode_call(Encoding::Binary, &r.body).unwrap() {
        Incoming::Call { call, .. } => assert_eq!(*call, Call::GetJobSummary(read_call())),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_base_url_with_a_path_posts_under_that_path() {
    let server = TestServer::start(|_, r, _| ok_reply(r));
    client(&format!("{}/proxy/", server.url()))
        .call(&read_call())
        .unwrap();
    assert_eq!(server.requests()[0].path, "/proxy/api");
}

#[test]
fn basic_credentials_are_sent_preemptively_with_the_first_request() {
    let server = TestServer::start(|_, r, _| ok_reply(r));
    let cfg = ClientConfig {
        username: Some("alice".into()),
        password: Some("s3cret".into()),
        ..config(&server.url())
    };
    Client::new(&cfg).unwrap().call(&write_call()).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "no challenge round trip");
    // base64("alice:s3cret")
    assert_eq!(
        requests[0].header("authorization"),
        Some("Basic YWxpY2U6czNjcmV0")
    );
}

// ---------------------------------------------------------------------------------------------
// Leader redirects

#[test]
fn a_307_is_replayed_to_the_location_with_the_same_body_and_credentials() {
    let server = TestServer::start(|n, r, base| match n {
        0 => Reply::status(307).header("Location", &format!("{base}/leader/api")),
        _ => ok_reply(r),
    });
    let cfg = ClientConfig {
        username: Some("alice".into()),
        password: Some("pw".into()),
        ..config(&server.url())
    };
    let reply = Client::new(&cfg).unwrap().call(&write_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].path, "/leader/api");
    assert_eq!(requests[1].body, requests[0].body);
    assert_eq!(
        requests[1].header("authorization"),
        requests[0].header("authorization")
    );
    assert_eq!(
        requests[1].header_values("content-type"),
        vec!["application/vnd.apache.thrift.binary"]
    );
}

#[test]
fn a_relative_location_is_resolved_against_the_redirecting_url() {
    let server = TestServer::start(|n, r, _| match n {
        0 => Reply::status(307).header("Location", "/elsewhere/api"),
        _ => ok_reply(r),
    });
    client(&server.url()).call(&read_call()).unwrap();
    assert_eq!(server.requests()[1].path, "/elsewhere/api");
}

#[test]
fn more_than_five_redirects_is_an_error_naming_the_chain() {
    let server = TestServer::start(|n, _, base| {
        Reply::status(307).header("Location", &format!("{base}/hop{}/api", n + 1))
    });
    let e = client(&server.url()).call(&read_call()).unwrap_err();
    assert!(matches!(e, ClientError::Redirect { .. }), "{e:?}");
    assert_eq!(
        server.requests().len(),
        6,
        "the first request and five hops"
    );
    let msg = e.to_string();
    assert!(msg.contains("getJobSummary"), "{msg}");
    assert!(msg.contains("more than 5 redirects"), "{msg}");
    assert!(msg.contains(&format!("{}/api -> ", server.url())), "{msg}");
    assert!(msg.contains("/hop6/api"), "{msg}");
}

#[test]
fn a_307_without_location_is_a_redirect_error() {
    let server = TestServer::start(|_, _, _| Reply::status(307));
    let e = client(&server.url()).call(&read_call()).unwrap_err();
    assert!(e.to_string().contains("without a Location"), "{e}");
    assert_eq!(server.requests().len(), 1, "not retried");
}

// ---------------------------------------------------------------------------------------------
// HTTP statuses

#[test]
fn a_503_on_a_read_is_retried_then_reported_as_no_leader() {
    let server = TestServer::start(|_, _, _| Reply::status(503).body("<html>no leader</html>"));
    let e = client(&server.url()).call(&read_call()).unwrap_err();
    assert!(
        matches!(e, ClientError::NoLeader { attempts: 3, .. }),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 3, "max_attempts requests");
    let msg = e.to_string();
    assert!(msg.contains("getJobSummary"), "{msg}");
    assert!(
        msg.contains(&format!("no leading scheduler at {}/api", server.url())),
        "{msg}"
    );
    assert!(msg.contains("retry later"), "{msg}");
}

#[test]
fn a_503_on_a_read_that_clears_up_succeeds_on_retry() {
    let server = TestServer::start(|n, r, _| match n {
        0 => Reply::status(503),
        _ => ok_reply(r),
    });
    let reply = client(&server.url()).call(&read_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_503_on_a_write_is_retried_since_no_scheduler_took_it() {
    // api-reference §1.5: 503 is the leader filter's answer; the call never reached a scheduler.
    let server = TestServer::start(|n, r, _| match n {
        0 => Reply::status(503),
        _ => ok_reply(r),
    });
    let reply = client(&server.url()).call(&write_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);
    assert_eq!(server.requests().len(), 2);

    let server = TestServer::start(|_, _, _| Reply::status(503));
    let e = client(&server.url()).call(&write_call()).unwrap_err();
    assert!(
        matches!(e, ClientError::NoLeader { attempts: 3, .. }),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 3, "max_attempts requests");
    let msg = e.to_string();
    assert!(msg.starts_with("killTasks: "), "{msg}");
    assert!(!msg.contains("may or may not"), "{msg}");
}

#[test]
fn maintenance_status_is_a_read_retried_after_a_503() {
    // A drain polls maintenanceStatus (an admin method that only reads): one 503 on the way must
    // not fail the task with "may or may not have been applied".
    let server = TestServer::start(|n, r, _| match n {
        0 => Reply::status(503),
        _ => ok_reply(r),
    });
    let status = MaintenanceStatus {
        hosts: Some(Hosts {
            host_names: Some(vec!["host-1".into()]),
        }),
    };
    let reply = client(&server.url()).call(&status).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn which_outcomes_are_tried_again_for_reads_and_for_writes() {
    let transport = |kind, maybe_applied| ClientError::Transport {
        method: "m",
        url: "http://h/api".into(),
        kind,
        detail: String::new(),
        maybe_applied,
        attempts: 1,
    };
    let no_leader = ClientError::NoLeader {
        method: "m",
        url: "http://h/api".into(),
        attempts: 1,
    };
    let http_500 = ClientError::HttpStatus {
        method: "m",
        url: "http://h/api".into(),
        status: 500,
        body: String::new(),
    };
    let unauthorized = ClientError::Unauthorized {
        method: "m",
        url: "http://h/api".into(),
        status: 401,
        username: None,
    };
    let refused = transport_refused();
    // (outcome, retried when a read, retried when a write)
    let table: Vec<(Result<ResponseCode, &ClientError>, bool, bool)> = vec![
        (Ok(ResponseCode::OK), false, false),
        (Ok(ResponseCode::ERROR_TRANSIENT), true, false),
        (Ok(ResponseCode::INVALID_REQUEST), false, false),
        (Err(&no_leader), true, true),
        (Err(&refused), true, true),
        (Err(&http_500), false, false),
        (Err(&unauthorized), false, false),
    ];
    for (outcome, read, write) in &table {
        assert_eq!(may_retry(true, *outcome), *read, "read {outcome:?}");
        assert_eq!(may_retry(false, *outcome), *write, "write {outcome:?}");
    }
    for kind in [TransportKind::Timeout, TransportKind::Other] {
        assert!(may_retry(true, Err(&transport(kind, false))), "{kind:?}");
        assert!(
            !may_retry(false, Err(&transport(kind, true))),
            "a write sent and then lost keeps an unknown fate: {kind:?}"
        );
    }
    for read_only in [true, false] {
        assert!(
            !may_retry(read_only, Err(&transport(TransportKind::Tls, false))),
            "a certificate refusal does not cure itself"
        );
    }
}

fn transport_refused() -> ClientError {
    ClientError::Transport {
        method: "m",
        url: "http://h/api".into(),
        kind: TransportKind::Connect,
        detail: "Connection refused".into(),
        maybe_applied: false,
        attempts: 1,
    }
}

#[test]
fn a_401_asks_for_the_username_and_password_options() {
    let server = TestServer::start(|_, _, _| {
        Reply::status(401).header(
            "WWW-Authenticate",
            "BASIC realm=\"Apache Aurora Scheduler\"",
        )
    });
    let e = client(&server.url()).call(&write_call()).unwrap_err();
    assert!(
        matches!(e, ClientError::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("killTasks"), "{msg}");
    assert!(msg.contains(&server.url()), "{msg}");
    assert!(msg.contains("username and password"), "{msg}");

    let cfg = ClientConfig {
        username: Some("alice".into()),
        password: Some("wrong".into()),
        ..config(&server.url())
    };
    let msg = Client::new(&cfg)
        .unwrap()
        .call(&read_call())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("\"alice\" were refused"), "{msg}");
    assert!(!msg.contains("wrong"), "{msg}");
    assert_eq!(
        server.requests().len(),
        2,
        "a 401 is not retried, even for reads"
    );
}

#[test]
fn a_500_is_an_http_status_error_quoting_the_body_and_is_not_retried() {
    let server = TestServer::start(|_, _, _| {
        Reply::status(500)
            .body("<html><body><h2>HTTP ERROR 500</h2>\n  Server   Error</body></html>")
    });
    let e = client(&server.url()).call(&read_call()).unwrap_err();
    match &e {
        ClientError::HttpStatus { status, body, .. } => {
            assert_eq!(*status, 500);
            assert_eq!(body, "HTTP ERROR 500 Server Error");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        e.to_string().contains("HTTP 500 Internal Server Error"),
        "{e}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_long_error_body_is_cut_to_an_excerpt() {
    let server = TestServer::start(|_, _, _| Reply::status(415).body("x".repeat(5000)));
    let e = client(&server.url()).call(&read_call()).unwrap_err();
    let ClientError::HttpStatus { body, .. } = e else {
        panic!("unexpected {e:?}");
    };
    assert_eq!(body.len(), BODY_EXCERPT_CHARS + 3);
    assert!(body.ends_with("..."));
}

// ---------------------------------------------------------------------------------------------
// Thrift-level answers

#[test]
fn a_tapplicationexception_reply_is_an_exception_error_with_kind_and_message() {
    let server = TestServer::start(|_, r, _| {
        let (name, seqid) = call_header(r);
        let error = ApplicationError::new(
            ApplicationErrorKind::UnknownMethod,
            format!("Invalid method name: '{name}'"),
        );
        Reply::status(200).body(encode_exception(Encoding::Binary, &name, seqid, &error).unwrap())
    });
    let e = client(&server.url()).call(&read_call()).unwrap_err();
    match &e {
        ClientError::Exception { kind, message, .. } => {
            assert_eq!(kind, "UnknownMethod");
            assert_eq!(message, "Invalid method name: 'getJobSummary'");
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("TApplicationException (UnknownMethod)"),
        "{msg}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn an_undecodable_reply_is_malformed_and_names_a_non_binary_content_type() {
    let server = TestServer::start(|_, _, _| {
        Reply::status(200)
            .header("Content-Type", "application/vnd.apache.thrift.json")
            .body(r#"[1,"getJobSummary",2,0,{}]"#)
    });
    let e = client(&server.url()).call(&read_call()).unwrap_err();
    assert!(matches!(e, ClientError::Malformed { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("could not be decoded"), "{msg}");
    assert!(msg.contains("application/vnd.apache.thrift.json"), "{msg}");
}

#[test]
fn a_non_ok_response_is_returned_by_call_and_turned_into_an_error_by_call_ok() {
    let server = TestServer::start(|_, r, _| {
        thrift_reply(
            r,
            &response(
                ResponseCode::INVALID_REQUEST,
                &["Job www-data/prod/hello not found", "second detail"],
            ),
        )
    });
    let c = client(&server.url());
    let reply = c.call(&write_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::INVALID_REQUEST);
    assert_eq!(reply.detail_messages().len(), 2);

    let e = c.call_ok(&write_call()).unwrap_err();
    match &e {
        ClientError::Scheduler { code, details, .. } => {
            assert_eq!(*code, ResponseCode::INVALID_REQUEST);
            assert_eq!(details[0], "Job www-data/prod/hello not found");
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.starts_with("killTasks: "), "{msg}");
    assert!(
        msg.contains("answered INVALID_REQUEST: Job www-data/prod/hello not found; second detail"),
        "{msg}"
    );
}

#[test]
fn error_transient_is_retried_for_reads_only() {
    let server = TestServer::start(|n, r, _| match n {
        0 => thrift_reply(
            r,
            &response(ResponseCode::ERROR_TRANSIENT, &["storage not ready"]),
        ),
        _ => ok_reply(r),
    });
    let reply = client(&server.url()).call(&read_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);
    assert_eq!(server.requests().len(), 2);

    let server = TestServer::start(|_, r, _| {
        thrift_reply(
            r,
            &response(ResponseCode::ERROR_TRANSIENT, &["storage not ready"]),
        )
    });
    let reply = client(&server.url()).call(&write_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::ERROR_TRANSIENT);
    assert_eq!(server.requests().len(), 1, "a write is sent once");

    let e = client(&server.url()).call_ok(&read_call()).unwrap_err();
    assert!(matches!(
        e,
        ClientError::Scheduler {
            code: ResponseCode::ERROR_TRANSIENT,
            ..
        }
    ));
    assert_eq!(
        server.requests().len(),
        1 + 3,
        "reads retried up to max_attempts"
    );
}

// ---------------------------------------------------------------------------------------------
// Transport failures

#[test]
fn a_write_that_times_out_is_sent_once_and_may_have_been_applied() {
    let server = TestServer::start(|_, r, _| ok_reply(r).delayed(Duration::from_secs(3)));
    let cfg = ClientConfig {
        timeout: Duration::from_millis(300),
        ..config(&server.url())
    };
    let e = Client::new(&cfg).unwrap().call(&write_call()).unwrap_err();
    match &e {
        ClientError::Transport {
            kind,
            maybe_applied,
            ..
        } => {
            assert_eq!(*kind, TransportKind::Timeout);
            assert!(*maybe_applied);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
    let msg = e.to_string();
    assert!(msg.contains("killTasks: timed out"), "{msg}");
    assert!(msg.contains("may or may not have been applied"), "{msg}");
}

#[test]
fn a_read_that_times_out_is_retried() {
    let server = TestServer::start(|n, r, _| match n {
        0 => ok_reply(r).delayed(Duration::from_secs(3)),
        _ => ok_reply(r),
    });
    let cfg = ClientConfig {
        timeout: Duration::from_millis(300),
        ..config(&server.url())
    };
    let reply = Client::new(&cfg).unwrap().call(&read_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_refused_connection_is_a_connect_error_and_a_write_was_not_applied() {
    // A port that was just free: nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let cfg = ClientConfig {
        retry: RetryPolicy::never(),
        ..config(&url)
    };
    let e = Client::new(&cfg).unwrap().call(&write_call()).unwrap_err();
    match &e {
        ClientError::Transport {
            kind,
            maybe_applied,
            ..
        } => {
            assert_eq!(*kind, TransportKind::Connect);
            assert!(!*maybe_applied, "nothing was sent");
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("could not connect to the scheduler at {url}/api")),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS

#[test]
fn an_untrusted_certificate_is_a_tls_error_by_default() {
    let server = TestServer::start_tls(|_, r, _| ok_reply(r));
    let e = client(&server.url()).call(&write_call()).unwrap_err();
    match &e {
        ClientError::Transport {
            kind,
            maybe_applied,
            ..
        } => {
            assert_eq!(*kind, TransportKind::Tls, "{e}");
            assert!(!*maybe_applied);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("ca_path"), "{e}");
    assert!(server.requests().is_empty(), "no request got through");
}

#[test]
fn validate_certs_false_accepts_an_untrusted_certificate() {
    let server = TestServer::start_tls(|_, r, _| ok_reply(r));
    let cfg = ClientConfig {
        validate_certs: false,
        ..config(&server.url())
    };
    Client::new(&cfg).unwrap().call(&read_call()).unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn ca_path_adds_a_trusted_ca() {
    let server = TestServer::start_tls(|_, r, _| ok_reply(r));
    let cfg = ClientConfig {
        ca_path: Some(ca_path()),
        ..config(&server.url())
    };
    Client::new(&cfg).unwrap().call(&read_call()).unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_plain_http_scheduler_redirecting_to_https_gets_the_tls_settings() {
    // The client for http:// URLs carries no CA roots; an https:// redirect target must still be
    // verified with the system's roots and ca_path.
    let secure = TestServer::start_tls(|_, r, _| ok_reply(r));
    let secure_url = secure.url();
    let plain = TestServer::start(move |_, _, _| {
        Reply::status(307).header("Location", &format!("{secure_url}/api"))
    });
    let trusted = ClientConfig {
        ca_path: Some(ca_path()),
        ..config(&plain.url())
    };
    Client::new(&trusted).unwrap().call(&read_call()).unwrap();
    assert_eq!(secure.requests().len(), 1);

    let e = client(&plain.url()).call(&read_call()).unwrap_err();
    assert!(e.to_string().contains("ca_path"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Error texts

#[test]
fn every_error_message_names_the_method_and_the_url() {
    let url = "http://sched.example:8081/api".to_string();
    let method = "createJob";
    let errors = vec![
        ClientError::Transport {
            method,
            url: url.clone(),
            kind: TransportKind::Connect,
            detail: "Connection refused".into(),
            maybe_applied: false,
            attempts: 1,
        },
        ClientError::NoLeader {
            method,
            url: url.clone(),
            attempts: 2,
        },
        ClientError::Unauthorized {
            method,
            url: url.clone(),
            status: 401,
            username: None,
        },
        ClientError::Redirect {
            method,
            url: url.clone(),
            chain: vec![url.clone()],
            reason: "no Location".into(),
        },
        ClientError::HttpStatus {
            method,
            url: url.clone(),
            status: 502,
            body: String::new(),
        },
        ClientError::Exception {
            method,
            url: url.clone(),
            kind: "ProtocolError".into(),
            message: "bad args".into(),
        },
        ClientError::Malformed {
            method,
            url: url.clone(),
            detail: "eof".into(),
        },
        ClientError::Scheduler {
            method,
            url: url.clone(),
            code: ResponseCode::JOB_UPDATING_ERROR,
            details: vec!["update in progress".into()],
        },
    ];
    for e in &errors {
        let msg = e.to_string();
        assert!(msg.starts_with("createJob: "), "{msg}");
        assert!(msg.contains(&url), "{msg}");
        assert_eq!(e.method(), method);
        assert_eq!(e.url(), url);
    }
    assert!(errors[1].to_string().contains("gave up after 2 attempts"));
    assert!(errors[7].to_string().contains("an update is in progress"));
    let config = ClientError::Config {
        url: "ftp://x".into(),
        message: "must be http".into(),
    };
    assert!(config.to_string().contains("ftp://x"));
}

#[test]
fn a_broken_connection_during_a_write_says_it_may_have_been_applied() {
    let e = ClientError::Transport {
        method: "createJob",
        url: "http://h/api".into(),
        kind: TransportKind::Other,
        detail: "connection reset".into(),
        maybe_applied: true,
        attempts: 1,
    };
    let msg = e.to_string();
    assert!(msg.contains("lost the connection"), "{msg}");
    assert!(
        msg.contains("createJob may or may not have been applied"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------------
// Plain pages (/agents, /maintenance)

#[test]
fn a_page_is_read_with_get_through_redirects_retries_and_credentials() {
    let server = TestServer::start(|n, _, base| match n {
        0 => Reply::status(503),
        1 => Reply::status(307).header("Location", &format!("{base}/leader/agents")),
        _ => Reply::status(200).body("<html>agents</html>"),
    });
    let cfg = ClientConfig {
        username: Some("alice".into()),
        password: Some("pw".into()),
        ..config(&format!("{}/", server.url()))
    };
    let page = Client::new(&cfg)
        .unwrap()
        .get_page("GET /agents", "agents")
        .unwrap();
    assert_eq!(page, "<html>agents</html>");

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.method == "GET"));
    assert_eq!(requests[0].path, "/agents");
    assert_eq!(requests[2].path, "/leader/agents");
    assert!(requests[2].header("authorization").is_some());
}

#[test]
fn a_missing_page_is_an_error_naming_the_request() {
    let server = TestServer::start(|_, _, _| Reply::status(404));
    let e = client(&server.url())
        .get_page("GET /maintenance", "maintenance")
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("GET /maintenance:"), "{msg}");
    assert!(msg.contains("404"), "{msg}");
}

// ---------------------------------------------------------------------------------------------
// Following the leader found in ZooKeeper

/// A loopback URL nothing listens on: a leader that went away.
fn gone_leader_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A `Rediscover` answering the next of `answers` each time it is asked (the last one after).
fn rediscovery(answers: Vec<Result<String, String>>) -> (Rediscover, Arc<Mutex<usize>>) {
    let asked = Arc::new(Mutex::new(0));
    let counter = asked.clone();
    let rediscover: Rediscover = Arc::new(move || {
        let mut n = counter.lock().unwrap();
        *n += 1;
        answers[(*n - 1).min(answers.len() - 1)].clone()
    });
    (rediscover, asked)
}

#[test]
fn a_write_to_a_gone_leader_goes_once_to_the_new_leader_found_in_zookeeper() {
    // The old leader's connection is refused, so the write certainly was not applied there and
    // is sent to the leader ZooKeeper names now, once (api-reference §1.5, §1.7).
    let new_leader = TestServer::start(|_, r, _| ok_reply(r));
    let (rediscover, asked) = rediscovery(vec![Ok(new_leader.url())]);
    let config = config(&gone_leader_url()).following_leader(rediscover);
    let client = Client::new(&config).unwrap();
    let reply = client.call(&write_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);
    assert_eq!(new_leader.requests().len(), 1, "the write is sent once");
    assert_eq!(*asked.lock().unwrap(), 1);
    assert_eq!(
        client.endpoint().as_str(),
        format!("{}/api", new_leader.url())
    );
}

#[test]
fn a_read_waits_through_an_election_with_no_leader_then_reaches_the_new_one() {
    let new_leader = TestServer::start(|_, r, _| ok_reply(r));
    let (rediscover, asked) = rediscovery(vec![
        Err("no leader".into()),
        Err("no leader".into()),
        Ok(new_leader.url()),
    ]);
    let config = ClientConfig {
        retry: fast_retry(5),
        ..config(&gone_leader_url())
    }
    .following_leader(rediscover);
    let reply = Client::new(&config).unwrap().call(&read_call()).unwrap();
    assert_eq!(reply.code(), ResponseCode::OK);
    assert_eq!(*asked.lock().unwrap(), 3, "asked after each failed attempt");
    assert_eq!(new_leader.requests().len(), 1);
}

#[test]
fn a_write_that_may_have_been_applied_is_not_sent_to_another_leader() {
    // A timeout after the request was sent: its fate is unknown, so it is neither retried nor
    // rediscovered; the caller looks first.
    let slow = TestServer::start(|_, r, _| ok_reply(r).delayed(Duration::from_secs(3)));
    let (rediscover, asked) = rediscovery(vec![Ok(gone_leader_url())]);
    let config = ClientConfig {
        timeout: Duration::from_millis(300),
        ..config(&slow.url())
    }
    .following_leader(rediscover);
    let e = Client::new(&config)
        .unwrap()
        .call(&write_call())
        .unwrap_err();
    assert!(!e.certainly_not_applied(), "{e:?}");
    assert_eq!(slow.requests().len(), 1);
    assert_eq!(*asked.lock().unwrap(), 0);
}

#[test]
fn a_fixed_scheduler_url_never_moves() {
    let config = config(&gone_leader_url());
    assert!(config.rediscover.is_none());
    let client = Client::new(&config).unwrap();
    let before = client.endpoint();
    let _ = client.call(&read_call());
    assert_eq!(client.endpoint(), before);
}
