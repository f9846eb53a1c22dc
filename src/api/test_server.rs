//! A scripted HTTP(S) server on 127.0.0.1 for tests of the client and the CLI: each test says
//! what to answer to the n-th request, and reads back what the client sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::api::codec::{decode_call, encode_reply, Encoding, Incoming};
use crate::api::methods::Call;
use crate::api::types::{Response, ResponseCode, ResponseDetail};

#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).first().copied()
    }
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Wait this long before answering (the wait ends early when the server stops).
    pub(crate) delay: Duration,
}

impl Reply {
    pub(crate) fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: vec![],
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub(crate) fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    pub(crate) fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// The name and seqid of the call in a request body.
pub(crate) fn call_header(request: &Request) -> (String, i32) {
    match decode_call(Encoding::Binary, &request.body) {
        Ok(Incoming::Call { header, .. }) | Ok(Incoming::Refused { header, .. }) => {
            (header.name, header.sequence_number)
        }
        Err(e) => panic!("the client sent an undecodable call: {e}"),
    }
}

/// A binary Thrift reply carrying `response` to the call in `request`.
pub(crate) fn thrift_reply(request: &Request, response: &Response) -> Reply {
    let (name, seqid) = call_header(request);
    Reply::status(200)
        .header("Content-Type", "application/vnd.apache.thrift.binary")
        .body(encode_reply(Encoding::Binary, &name, seqid, response).unwrap())
}

pub(crate) fn response(code: ResponseCode, details: &[&str]) -> Response {
    Response {
        response_code: Some(code),
        details: Some(
            details
                .iter()
                .map(|m| ResponseDetail {
                    message: Some(m.to_string()),
                })
                .collect(),
        ),
        ..Response::default()
    }
}

pub(crate) fn ok_reply(request: &Request) -> Reply {
    thrift_reply(request, &response(ResponseCode::OK, &[]))
}

/// The call a request carries.
pub(crate) fn decoded_call(request: &Request) -> Call {
    match decode_call(Encoding::Binary, &request.body) {
        Ok(Incoming::Call { call, .. }) => *call,
        other => panic!("the client sent no decodable call: {other:?}"),
    }
}

type Handler = dyn Fn(usize, &Request, &str) -> Reply + Send + Sync;

struct Shared {
    requests: Mutex<Vec<Request>>,
    /// TCP connections accepted, TLS handshakes that failed included.
    connections: AtomicUsize,
    stop: AtomicBool,
    handler: Box<Handler>,
    base: String,
}

/// Serves each connection on its own thread, one request per connection (`Connection: close`).
/// Dropping it stops accepting, ends pending delays and joins every thread.
pub(crate) struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl TestServer {
    pub(crate) fn start(
        handler: impl Fn(usize, &Request, &str) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(None, handler)
    }

    pub(crate) fn start_tls(
        handler: impl Fn(usize, &Request, &str) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(Some(tls_server_config()), handler)
    }

    /// An HTTPS server presenting `chain` (the server's certificate first) with `key`.
    pub(crate) fn start_tls_with(
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        handler: impl Fn(usize, &Request, &str) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(Some(server_config(chain, key)), handler)
    }

    fn start_with(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(usize, &Request, &str) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            handler: Box::new(handler),
            base: format!("{scheme}://{addr}"),
        });
        let accept_shared = shared.clone();
        let acceptor = std::thread::spawn(move || {
            let mut workers = Vec::new();
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                accept_shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = accept_shared.clone();
                let tls = tls.clone();
                workers.push(std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    match tls {
                        None => serve(&shared, stream),
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(&shared, rustls::StreamOwned::new(conn, stream));
                        }
                    }
                }));
            }
            for worker in workers {
                let _ = worker.join();
            }
        });
        TestServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    pub(crate) fn url(&self) -> String {
        self.shared.base.clone()
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Connections accepted so far, whether or not a request came through.
    pub(crate) fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve(shared: &Shared, stream: impl Read + Write) {
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let n = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(request.clone());
        requests.len() - 1
    };
    let reply = (shared.handler)(n, &request, &shared.base);
    let deadline = Instant::now() + reply.delay;
    while Instant::now() < deadline && !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let stream = reader.get_mut();
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
    let _ = stream.flush();
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn tls_server_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::from_pem_slice(include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tls/server.pem"
    )))
    .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tls/server.key"
    )))
    .unwrap();
    server_config(vec![cert], key)
}

fn server_config(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    Arc::new(config)
}

pub(crate) fn ca_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tls/ca.pem"
    ))
}
