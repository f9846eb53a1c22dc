//! Thrift messages over HTTP bodies (api-reference §1.3): one call or one reply per body, in TBinary
//! or TJSON, through the same types. Shared by the client and the simulator.

use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TInputProtocol, TMessageIdentifier, TMessageType,
    TOutputProtocol, TType,
};
use thrift::{ApplicationError, ApplicationErrorKind, TConfiguration};

use crate::api::methods::{Call, Method, MethodResult};
use crate::api::tjson::{TJsonInputProtocol, TJsonOutputProtocol};
use crate::api::types::Response;
use crate::api::wire::{self, Wire};

/// The two encodings the scheduler speaks on `/api`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Binary,
    Json,
}

impl Encoding {
    /// The media type that selects this encoding (§1.2).
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Binary => "application/vnd.apache.thrift.binary",
            Encoding::Json => "application/vnd.apache.thrift.json",
        }
    }
}

/// What one call may decode to (`wire::with_decode_budget`): twice the simulator's largest body,
/// far above any real call (the largest, a createJob, is mostly its executor document's text),
/// and small enough that a body of empty structs cannot take the server's memory.
pub const CALL_DECODE_BUDGET: usize = 32 * 1024 * 1024;
/// The least a reply may decode to; larger replies get `REPLY_EXPANSION` times their length. A
/// real reply decodes to about as many bytes as it has (tasks are mostly strings), while 50,000
/// tasks with their configurations stay well within it.
pub const REPLY_DECODE_BUDGET: usize = 256 * 1024 * 1024;
/// How many times its own length a large reply may expand to when decoded.
const REPLY_EXPANSION: usize = 16;

fn reply_budget(body: &[u8]) -> usize {
    REPLY_DECODE_BUDGET.max(body.len().saturating_mul(REPLY_EXPANSION))
}

/// Limits for decoding an untrusted body: nothing declared inside it can be longer than the body
/// itself, so a huge declared length fails before anything is allocated for it.
fn limits_for(body: &[u8]) -> TConfiguration {
    let len = body.len().max(1);
    TConfiguration::builder()
        .max_string_size(Some(len))
        .max_container_size(Some(len))
        .max_message_size(Some(len))
        .max_frame_size(Some(len))
        .build()
        .expect("limits derived from a body length are valid")
}

/// A decoding error with its detail: the `thrift` crate's `Display` gives only the kind of a
/// protocol or transport error ("bad data"), not what was wrong.
pub fn describe(error: &thrift::Error) -> String {
    let (kind, detail) = match error {
        thrift::Error::Protocol(e) => (error.to_string(), e.message.as_str()),
        thrift::Error::Transport(e) => (error.to_string(), e.message.as_str()),
        _ => return error.to_string(),
    };
    if detail.is_empty() || detail == kind {
        kind
    } else {
        format!("{kind}: {detail}")
    }
}

fn input<'a>(encoding: Encoding, body: &'a [u8]) -> Box<dyn TInputProtocol + 'a> {
    let config = limits_for(body);
    match encoding {
        // Not strict: the scheduler reads unversioned headers too (§1.2).
        Encoding::Binary => Box::new(TBinaryInputProtocol::with_config(body, false, config)),
        Encoding::Json => Box::new(TJsonInputProtocol::new(body, config)),
    }
}

fn write_message(
    encoding: Encoding,
    header: &TMessageIdentifier,
    body: impl FnOnce(&mut dyn TOutputProtocol) -> thrift::Result<()>,
) -> thrift::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut o: Box<dyn TOutputProtocol + '_> = match encoding {
            Encoding::Binary => Box::new(TBinaryOutputProtocol::new(&mut out, true)),
            Encoding::Json => Box::new(TJsonOutputProtocol::new(&mut out)),
        };
        o.write_message_begin(header)?;
        body(o.as_mut())?;
        o.write_message_end()?;
        o.flush()?;
    }
    Ok(out)
}

/// Encodes a call of method `M`.
pub fn encode_call<M: Method>(encoding: Encoding, seqid: i32, args: &M) -> thrift::Result<Vec<u8>> {
    let header = TMessageIdentifier::new(M::NAME, TMessageType::Call, seqid);
    write_message(encoding, &header, |o| args.write(o))
}

/// Why a reply body could not be turned into a `Response`.
#[derive(Debug)]
pub enum ReplyError {
    /// The scheduler answered with a TApplicationException.
    Exception(ApplicationError),
    /// The body is not a well-formed reply to this method.
    Malformed(String),
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyError::Exception(e) => {
                write!(f, "TApplicationException ({:?}): {}", e.kind, e.message)
            }
            ReplyError::Malformed(m) => write!(f, "malformed reply: {m}"),
        }
    }
}

/// Decodes the reply to a call of `method`, within `reply_budget`.
pub fn decode_reply(encoding: Encoding, method: &str, body: &[u8]) -> Result<Response, ReplyError> {
    wire::with_decode_budget(reply_budget(body), || {
        decode_reply_unbudgeted(encoding, method, body)
    })
}

fn decode_reply_unbudgeted(
    encoding: Encoding,
    method: &str,
    body: &[u8],
) -> Result<Response, ReplyError> {
    let malformed = |e: thrift::Error| ReplyError::Malformed(describe(&e));
    let mut i = input(encoding, body);
    let header = i.read_message_begin().map_err(malformed)?;
    match header.message_type {
        TMessageType::Exception => {
            let e = thrift::Error::read_application_error_from_in_protocol(i.as_mut())
                .map_err(malformed)?;
            return Err(ReplyError::Exception(e));
        }
        TMessageType::Reply => {}
        other => {
            return Err(ReplyError::Malformed(format!(
                "message type {other:?} where a reply was expected"
            )))
        }
    }
    if header.name != method {
        return Err(ReplyError::Malformed(format!(
            "reply names method {:?}",
            header.name
        )));
    }
    let result = MethodResult::read(i.as_mut()).map_err(malformed)?;
    i.read_message_end().map_err(malformed)?;
    result
        .success
        .ok_or_else(|| ReplyError::Malformed("reply carries no Response (field 0)".into()))
}

/// What a server makes of a request body.
#[derive(Debug)]
pub enum Incoming {
    /// A call it can run.
    Call {
        header: TMessageIdentifier,
        call: Box<Call>,
    },
    /// The header was read but the call cannot run: answer with this TApplicationException.
    Refused {
        header: TMessageIdentifier,
        error: ApplicationError,
    },
}

/// Decodes a call within `CALL_DECODE_BUDGET`. `Err` means the message header itself is
/// unreadable (HTTP 500, §1.3).
pub fn decode_call(encoding: Encoding, body: &[u8]) -> Result<Incoming, thrift::Error> {
    decode_call_within(encoding, body, CALL_DECODE_BUDGET)
}

/// `decode_call` allowing the call to decode to at most `budget` bytes of values; past it the
/// call is refused with a protocol error, as any malformed call is.
pub fn decode_call_within(
    encoding: Encoding,
    body: &[u8],
    budget: usize,
) -> Result<Incoming, thrift::Error> {
    wire::with_decode_budget(budget, || decode_call_unbudgeted(encoding, body))
}

fn decode_call_unbudgeted(encoding: Encoding, body: &[u8]) -> Result<Incoming, thrift::Error> {
    let mut i = input(encoding, body);
    let header = i.read_message_begin()?;
    if header.message_type != TMessageType::Call && header.message_type != TMessageType::OneWay {
        let error = ApplicationError::new(
            ApplicationErrorKind::InvalidMessageType,
            format!(
                "expected a call, got message type {:?}",
                header.message_type
            ),
        );
        return Ok(Incoming::Refused { header, error });
    }
    let decoded = match Call::read(&header.name, i.as_mut()) {
        None => {
            let error = ApplicationError::new(
                ApplicationErrorKind::UnknownMethod,
                format!("Invalid method name: '{}'", header.name),
            );
            return Ok(Incoming::Refused { header, error });
        }
        Some(decoded) => decoded.and_then(|call| i.read_message_end().map(|()| call)),
    };
    Ok(match decoded {
        Ok(call) => Incoming::Call {
            header,
            call: Box::new(call),
        },
        Err(e) => {
            let error = ApplicationError::new(ApplicationErrorKind::ProtocolError, describe(&e));
            Incoming::Refused { header, error }
        }
    })
}

/// Encodes a reply carrying `response` (as field 0 of the `<method>_result` struct).
pub fn encode_reply(
    encoding: Encoding,
    name: &str,
    seqid: i32,
    response: &Response,
) -> thrift::Result<Vec<u8>> {
    let header = TMessageIdentifier::new(name, TMessageType::Reply, seqid);
    write_message(encoding, &header, |o| {
        wire::begin_struct(o, "MethodResult")?;
        wire::write_member(o, "success", 0, TType::Struct, response)?;
        wire::end_struct(o)
    })
}

/// Encodes a TApplicationException reply.
pub fn encode_exception(
    encoding: Encoding,
    name: &str,
    seqid: i32,
    error: &ApplicationError,
) -> thrift::Result<Vec<u8>> {
    let header = TMessageIdentifier::new(name, TMessageType::Exception, seqid);
    write_message(encoding, &header, |o| {
        thrift::Error::write_application_error_to_out_protocol(error, o)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::methods::{GetRoleSummary, KillTasks};
    use crate::api::types::{JobKey, ResponseCode, ServerInfo};

    fn hex(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn binary_call_matches_the_reference_worked_example() {
        // api-reference §1.3, "TBinary encoding": getRoleSummary() with seqid 1 is 27 bytes.
        let bytes = encode_call(Encoding::Binary, 1, &GetRoleSummary {}).unwrap();
        assert_eq!(bytes.len(), 27);
        assert_eq!(
            hex(&bytes),
            "80 01 00 01 00 00 00 0e 67 65 74 52 6f 6c 65 53 75 6d 6d 61 72 79 00 00 00 01 00"
        );
    }

    #[test]
    fn binary_call_round_trips_through_the_server_decoder() {
        let args = KillTasks {
            job: Some(JobKey {
                role: Some("www-data".into()),
                environment: Some("prod".into()),
                name: Some("hello".into()),
            }),
            instances: Some(vec![0, 1]),
            message: Some("bye".into()),
        };
        let bytes = encode_call(Encoding::Binary, 7, &args).unwrap();
        match decode_call(Encoding::Binary, &bytes).unwrap() {
            Incoming::Call { header, call } => {
                assert_eq!(header.sequence_number, 7);
                assert_eq!(*call, Call::KillTasks(args));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn reply_round_trips_and_names_its_method() {
        let response = Response {
            response_code: Some(ResponseCode::OK),
            server_info: Some(ServerInfo {
                cluster_name: Some("devcluster".into()),
                stats_url_prefix: Some(String::new()),
            }),
            result: None,
            details: Some(vec![]),
        };
        for encoding in [Encoding::Binary, Encoding::Json] {
            let bytes = encode_reply(encoding, "killTasks", 7, &response).unwrap();
            assert_eq!(
                decode_reply(encoding, "killTasks", &bytes).unwrap(),
                response
            );
            assert!(matches!(
                decode_reply(encoding, "createJob", &bytes),
                Err(ReplyError::Malformed(_))
            ));
        }
    }

    #[test]
    fn unknown_method_is_refused_with_unknown_method() {
        let mut body = encode_call(Encoding::Binary, 3, &GetRoleSummary {}).unwrap();
        // Rename the method in place: same length, so the header stays well formed.
        let at = body
            .windows(14)
            .position(|w| w == b"getRoleSummary")
            .unwrap();
        body[at..at + 14].copy_from_slice(b"getRoleSummarX");
        match decode_call(Encoding::Binary, &body).unwrap() {
            Incoming::Refused { error, .. } => {
                assert_eq!(error.kind, ApplicationErrorKind::UnknownMethod)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A getTasksStatus whose query holds `n` empty job keys in TBinary: one byte each on the
    /// wire, tens of bytes each once decoded (the simulator's memory amplification, issue 18).
    pub(crate) fn empty_job_keys_query(n: usize) -> Vec<u8> {
        let name = b"getTasksStatus";
        let mut body = vec![0x80, 0x01, 0x00, 0x01];
        body.extend_from_slice(&(name.len() as i32).to_be_bytes());
        body.extend_from_slice(name);
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&[0x0c, 0x00, 0x01]); // field 1, the query: a struct
        body.extend_from_slice(&[0x0e, 0x00, 0x0b, 0x0c]); // field 11, jobKeys: set<struct>
        body.extend_from_slice(&(n as i32).to_be_bytes());
        body.resize(body.len() + n, 0x00); // n empty structs
        body.extend_from_slice(&[0x00, 0x00]); // end of the query, end of the arguments
        body
    }

    #[test]
    fn a_call_of_empty_structs_is_refused_past_the_decode_budget() {
        let small = empty_job_keys_query(1000);
        match decode_call(Encoding::Binary, &small).unwrap() {
            Incoming::Call { call, .. } => match *call {
                Call::GetTasksStatus(args) => {
                    assert_eq!(args.query.unwrap().job_keys.unwrap().len(), 1000)
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        let body = empty_job_keys_query(1_000_000);
        match decode_call_within(Encoding::Binary, &body, 8 * 1024 * 1024).unwrap() {
            Incoming::Refused { header, error } => {
                assert_eq!(header.name, "getTasksStatus");
                assert_eq!(error.kind, ApplicationErrorKind::ProtocolError);
                assert!(error.message.contains("more values"), "{}", error.message);
            }
            other => panic!("a million empty job keys decoded: {other:?}"),
        }
    }

    #[test]
    fn huge_declared_string_length_fails_without_allocating() {
        // Versioned header, then a method name claiming 2 GiB.
        let body = [0x80, 0x01, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff, b'x'];
        assert!(decode_call(Encoding::Binary, &body).is_err());
    }
}

#[cfg(test)]
mod properties {
    //! The simulator decodes untrusted bodies: no input may panic or allocate without bound.
    use super::*;
    use crate::api::methods::{CreateJob, GetTasksStatus};
    use crate::api::types::{JobConfiguration, JobKey, TaskQuery};
    use proptest::prelude::*;

    fn sample_calls(encoding: Encoding) -> Vec<Vec<u8>> {
        let create = CreateJob {
            description: Some(JobConfiguration {
                key: Some(JobKey::new("www", "prod", "hello")),
                instance_count: 2,
                ..JobConfiguration::default()
            }),
        };
        let query = GetTasksStatus {
            query: Some(TaskQuery {
                role: Some("www".into()),
                instance_ids: Some(vec![0, 1, 2]),
                ..TaskQuery::default()
            }),
        };
        vec![
            encode_call(encoding, 1, &create).unwrap(),
            encode_call(encoding, 2, &query).unwrap(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            for encoding in [Encoding::Binary, Encoding::Json] {
                let _ = decode_call(encoding, &body);
                let _ = decode_reply(encoding, "getTasksStatus", &body);
            }
        }

        #[test]
        fn mutated_valid_calls_never_panic(
            which in 0usize..2,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            for encoding in [Encoding::Binary, Encoding::Json] {
                let mut body = sample_calls(encoding).swap_remove(which);
                for (at, byte) in &flips {
                    let i = at.index(body.len());
                    body[i] = *byte;
                }
                let _ = decode_call(encoding, &body);
                // Truncated anywhere.
                let _ = decode_call(encoding, &body[..cut.index(body.len())]);
            }
        }
    }
}

#[cfg(test)]
mod reference_examples {
    //! The worked examples of api-reference §1.3, produced through the API types, and snapshots
    //! of a full call in both encodings.
    use super::*;
    use crate::api::methods::{CreateJob, KillTasks};
    use crate::api::types::*;

    fn hello() -> JobKey {
        JobKey::new("www-data", "prod", "hello")
    }

    #[test]
    fn tjson_kill_tasks_call_is_byte_exact() {
        let args = KillTasks {
            job: Some(hello()),
            instances: Some(vec![0, 1]),
            message: Some("bye".into()),
        };
        let bytes = encode_call(Encoding::Json, 7, &args).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"[1,"killTasks",1,7,{"4":{"rec":{"1":{"str":"www-data"},"2":{"str":"prod"},"3":{"str":"hello"}}},"5":{"set":["i32",2,0,1]},"6":{"str":"bye"}}]"#
        );
    }

    #[test]
    fn tjson_ok_reply_is_byte_exact_and_decodes() {
        let reference = r#"[1,"killTasks",2,7,{"0":{"rec":{"1":{"i32":1},"5":{"rec":{"1":{"str":"devcluster"},"3":{"str":""}}},"6":{"lst":["rec",0]}}}}]"#;
        let response = Response {
            response_code: Some(ResponseCode::OK),
            server_info: Some(ServerInfo {
                cluster_name: Some("devcluster".into()),
                stats_url_prefix: Some(String::new()),
            }),
            result: None,
            details: Some(vec![]),
        };
        let bytes = encode_reply(Encoding::Json, "killTasks", 7, &response).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), reference);
        assert_eq!(
            decode_reply(Encoding::Json, "killTasks", reference.as_bytes()).unwrap(),
            response
        );
    }

    #[test]
    fn tjson_role_summary_call_is_byte_exact() {
        let bytes =
            encode_call(Encoding::Json, 0, &crate::api::methods::GetRoleSummary {}).unwrap();
        assert_eq!(bytes, br#"[1,"getRoleSummary",1,0,{}]"#);
    }

    fn create_job() -> CreateJob {
        let task = TaskConfig {
            job: Some(hello()),
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
                data: Some(r#"{"name":"hello"}"#.into()),
            }),
            metadata: Some(vec![Metadata {
                key: Some("version".into()),
                value: Some("1.4.2".into()),
            }]),
            container: Some(Container::Mesos(MesosContainer::default())),
            ..TaskConfig::default()
        };
        CreateJob {
            description: Some(JobConfiguration {
                key: Some(hello()),
                owner: Some(Identity {
                    user: Some("www-data".into()),
                }),
                cron_collision_policy: Some(CronCollisionPolicy::KILL_EXISTING),
                task_config: Some(task),
                instance_count: 2,
                ..JobConfiguration::default()
            }),
        }
    }

    #[test]
    fn create_job_call_in_tjson() {
        let bytes = encode_call(Encoding::Json, 1, &create_job()).unwrap();
        insta::assert_snapshot!(String::from_utf8(bytes).unwrap());
    }

    #[test]
    fn create_job_call_in_tbinary() {
        let bytes = encode_call(Encoding::Binary, 1, &create_job()).unwrap();
        let hex: Vec<String> = bytes
            .chunks(16)
            .map(|line| {
                line.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        insta::assert_snapshot!(hex.join("\n"));
    }

    #[test]
    fn both_encodings_carry_the_same_call() {
        for encoding in [Encoding::Binary, Encoding::Json] {
            let bytes = encode_call(encoding, 1, &create_job()).unwrap();
            match decode_call(encoding, &bytes).unwrap() {
                Incoming::Call { call, .. } => assert_eq!(*call, Call::CreateJob(create_job())),
                other => panic!("{other:?}"),
            }
        }
    }
}
