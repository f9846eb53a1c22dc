//! The simulator's HTTP face (api-reference §1): `/api` with the scheduler's content negotiation,
//! status codes, leader redirection and basic auth, plus `/health`, `/leaderhealth` and the host
//! pages `/maintenance` and `/agents` (http-endpoints.md).
//!
//! Hostile or stalled clients are bounded: a request's headers and body must arrive within
//! `HEADER_READ_TIMEOUT` and `BODY_READ_TIMEOUT`, at most `MAX_CONCURRENT_CALLS` calls are decoded
//! and run at once, each within `codec::CALL_DECODE_BUDGET`, and shutdown waits for open
//! connections at most `SHUTDOWN_GRACE`. The accept loop is written here, on hyper, rather than
//! `axum::serve`, which offers neither read timeouts nor a bounded graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, DATE, LOCATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{any, get};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

use crate::api::codec::{self, Encoding, Incoming};
use crate::api::types::{
    Response, ResponseCode, ResponseDetail, BYPASS_LEADER_REDIRECT_HEADER_NAME,
};
use crate::sim::announcer::{Announcer, AnnouncerFlags};
use crate::sim::auth::{Denial, Identity, Users};
use crate::sim::clock::Clock;
use crate::sim::config::SimConfig;
use crate::sim::host_pages;
use crate::sim::scheduler::Scheduler;
use crate::sim::state_dir::{self, StateDir};

/// Request bodies above this get 413: nothing unbounded is read into memory.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How long a client may take to send a request's headers, counted from the end of the previous
/// request on a kept-alive connection: also how long an idle connection is kept (a stalled
/// client held a connection, and held off shutdown, for ever). hyper's default, once a timer is
/// set.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to send a request's body once its headers are in.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for open connections to finish their requests before closing them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Calls decoded and run at once; the others wait their turn. With the decode budget, this
/// bounds the memory that calls in progress can take, whatever the clients send.
const MAX_CONCURRENT_CALLS: usize = 4;
/// How often, in real time, the cluster moves on while nobody calls.
const TICK: Duration = Duration::from_millis(10);
/// Paths behind the leader-redirect filter besides `/api` (§1.5).
const REDIRECTED_PATHS: &[&str] = &[
    "agents",
    "cron",
    "maintenance",
    "mname",
    "offers",
    "pendingtasks",
    "quotas",
    "slaves",
    "state",
    "tiers",
    "utilization",
    "scheduler",
];

/// Whether this process leads the (simulated) scheduler quorum.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Leadership {
    #[default]
    Leader,
    /// A non-leader: answer 307 towards this base URL.
    RedirectTo(String),
    /// No leader is known: 503.
    NoLeader,
}

#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub leadership: Leadership,
    /// Basic auth; `None` = authentication off (the stock `NONE` mechanism).
    pub users: Option<Users>,
    /// The executors' `--announcer-*` flags: tasks with `announce` are announced in ZooKeeper.
    pub announcer: Option<AnnouncerFlags>,
}

/// What a leading process serves: the scheduler, the virtual clock it runs on, and the log its
/// changes are appended to (`--state-dir`, see `sim::state_dir`).
pub struct Leading {
    pub scheduler: Scheduler,
    pub clock: Clock,
    pub state_dir: Option<StateDir>,
}

/// What this process serves: whether it leads and the scheduler state it holds. Fixed for a
/// simulator started with `--redirect-to`/`--no-leader` or alone; changed by the election
/// (`sim::election`) for one in ZooKeeper, where only the leader holds a scheduler (a follower
/// has nothing it could serve, as Aurora's non-leaders' storage is not readable, §1.5).
pub struct Seat {
    leadership: RwLock<Leadership>,
    /// The virtual clock of every reply's `Date`: the leader's once this process leads.
    clock: RwLock<Clock>,
    held: Mutex<Option<Held>>,
}

/// The scheduler a leader holds, and its log.
struct Held {
    scheduler: Scheduler,
    recording: Option<Recording>,
}

impl Seat {
    /// A seat that leads at once with `leading`, or follows with the clock `idle`.
    pub fn new(leadership: Leadership, leading: Option<Leading>, idle: Clock) -> Arc<Seat> {
        let seat = Arc::new(Seat {
            leadership: RwLock::new(leadership.clone()),
            clock: RwLock::new(idle),
            held: Mutex::new(None),
        });
        if let Some(leading) = leading {
            seat.install(leading);
        }
        seat
    }

    pub fn leadership(&self) -> Leadership {
        self.leadership
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn now_ms(&self) -> i64 {
        self.clock
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .now_ms()
    }

    /// This process leads from now on, serving `leading` (installed before it is said to lead).
    pub fn lead(&self, leading: Leading) {
        self.install(leading);
        self.set_leadership(Leadership::Leader);
    }

    fn install(&self, leading: Leading) {
        *self
            .clock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = leading.clock;
        *self.lock_held() = Some(Held {
            scheduler: leading.scheduler,
            recording: leading.state_dir.map(|dir| Recording {
                dir,
                last_mark: std::time::Instant::now(),
            }),
        });
    }

    /// Another process leads (or none): this one holds no scheduler state, and lets go of the
    /// log for the next leader.
    pub fn follow(&self, leadership: Leadership) {
        self.set_leadership(leadership);
        *self.lock_held() = None;
    }

    fn set_leadership(&self, leadership: Leadership) {
        *self
            .leadership
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = leadership;
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

struct Shared {
    seat: Arc<Seat>,
    users: Option<Users>,
    /// Permits to decode and run a call (`MAX_CONCURRENT_CALLS`).
    calls: Semaphore,
    announcer: Option<Announcer>,
}

// ---- state dir (issue 17): every accepted write, coordinator answer and, each second, the
// virtual time are appended and synced under the scheduler's lock, so the log's order is the
// order they were applied in, and a write is durable before its reply is sent.

/// How often, in real time, the virtual time reached is recorded.
const TIME_MARK_EVERY: Duration = Duration::from_secs(1);

struct Recording {
    dir: StateDir,
    last_mark: std::time::Instant,
}

/// A write that cannot be made durable ends the process, as Aurora's scheduler ends when its
/// log cannot be written: the client sees no reply, and the call did not happen.
fn durable(result: std::io::Result<()>, dir: &StateDir) {
    if let Err(e) = result {
        eprintln!(
            "aurora-sim: cannot write {}: {e}; stopping, as a scheduler whose log fails does",
            dir.log_path().display()
        );
        std::process::exit(1);
    }
}

impl Held {
    /// Records the coordinator answers the scheduler applied, then a write call it accepted.
    fn record(&mut self, call: Option<(i64, &str, Encoding, &[u8])>) {
        let Some(recording) = &mut self.recording else {
            return;
        };
        let answers = self.scheduler.take_applied_answers();
        if !answers.is_empty() {
            let result = recording.dir.record_answers(answers);
            durable(result, &recording.dir);
        }
        if let Some((at_ms, user, encoding, body)) = call {
            let result = recording.dir.record_call(at_ms, user, encoding, body);
            durable(result, &recording.dir);
        }
    }

    /// Records the virtual time reached, at most every `TIME_MARK_EVERY`.
    fn mark_time(&mut self, now_ms: i64) {
        let Some(recording) = &mut self.recording else {
            return;
        };
        if recording.last_mark.elapsed() >= TIME_MARK_EVERY {
            recording.last_mark = std::time::Instant::now();
            let result = recording.dir.record_time(now_ms);
            durable(result, &recording.dir);
        }
    }
}
// ---- end of state dir

impl Shared {
    /// Runs `f` on the held scheduler at the current virtual time, then records the coordinator
    /// answers it applied and works out what to announce (the I/O is elsewhere); the lock is held
    /// only for that. `None` when this process holds no scheduler (a follower in ZooKeeper),
    /// which announces nothing.
    fn with_held<T>(&self, f: impl FnOnce(&mut Held, i64) -> T) -> Option<T> {
        let mut held = self.seat.lock_held();
        let held = held.as_mut()?;
        let result = f(held, self.seat.now_ms());
        held.record(None);
        if let Some(announcer) = &self.announcer {
            announcer.publish(held.scheduler.announcements(announcer.flags()));
        }
        Some(result)
    }

    fn with_scheduler<T>(&self, f: impl FnOnce(&mut Scheduler, i64) -> T) -> Option<T> {
        self.with_held(|held, now| f(&mut held.scheduler, now))
    }
}

/// Serves until `shutdown` completes, then lets open connections finish for at most
/// `SHUTDOWN_GRACE`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    scheduler: Scheduler,
    clock: Clock,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_recorded(listener, scheduler, clock, options, None, shutdown).await
}

/// `serve`, appending what changes the scheduler to `state_dir` (whose `recover` gave
/// `scheduler`) before each reply.
pub async fn serve_recorded(
    listener: tokio::net::TcpListener,
    scheduler: Scheduler,
    clock: Clock,
    options: ServerOptions,
    state_dir: Option<StateDir>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let idle = clock.clone();
    let leading = Leading {
        scheduler,
        clock,
        state_dir,
    };
    let seat = Seat::new(options.leadership, Some(leading), idle);
    serve_seat(listener, seat, options.users, options.announcer, shutdown).await
}

/// [`serve`] for a seat whose leadership and scheduler change while it serves (the election's).
/// `announcer`: the executors' flags, when tasks are announced in ZooKeeper.
pub async fn serve_seat(
    listener: tokio::net::TcpListener,
    seat: Arc<Seat>,
    users: Option<Users>,
    announcer: Option<AnnouncerFlags>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let announcer = announcer.map(Announcer::start);
    let shared = Arc::new(Shared {
        seat,
        users,
        calls: Semaphore::new(MAX_CONCURRENT_CALLS),
        announcer,
    });
    let ticker = tokio::spawn({
        let shared = shared.clone();
        async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                interval.tick().await;
                let _ = shared.with_held(|held, now| {
                    held.scheduler.advance(now);
                    held.mark_time(now);
                });
            }
        }
    });
    let app = Router::new()
        .route("/api", any(api))
        .route("/maintenance", get(maintenance_page))
        .route("/agents", get(agents_page))
        // The UI paths are only served for the leader filter's sake, until they are simulated.
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            leader_filter,
        ))
        .route("/health", get(|| async { "OK" }))
        .route("/leaderhealth", get(leader_health))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            scheduler_date,
        ))
        .with_state(shared.clone());
    let result = accept_until(listener, app, shutdown).await;
    ticker.abort();
    if let Some(announcer) = &shared.announcer {
        announcer.stop().await;
    }
    result
}

/// Serves each accepted connection on its own task until `shutdown`; then stops accepting, asks
/// every connection to close after its request in flight, and closes those still open after
/// `SHUTDOWN_GRACE`.
async fn accept_until(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let (stopping, _) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A connection that failed before it was accepted (reset, out of descriptors):
                // nothing to answer; pause so that a persistent error does not spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Finished connections are reaped as new ones come, so the set stays small.
        while connections.try_join_next().is_some() {}
        let service = TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let mut stop = stopping.subscribe();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stop.wait_for(|stopping| *stopping) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        connections.abort_all();
    }
    Ok(())
}

async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

/// Every reply carries the scheduler's clock in its `Date` header, as an HTTP server's replies do
/// (RFC 9110 §6.6.1): the virtual time, which also stamps every task event, so that a client
/// can tell how long ago an event happened even when the simulator runs faster than real time.
async fn scheduler_date(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> HttpResponse {
    let mut response = next.run(request).await;
    let now_ms = u64::try_from(shared.seat.now_ms()).unwrap_or_default();
    let now = std::time::UNIX_EPOCH + Duration::from_millis(now_ms);
    if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        response.headers_mut().insert(DATE, value);
    }
    response
}

/// §1.5: non-leaders redirect `/api` and the UI paths, unless asked to bypass.
async fn leader_filter(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> HttpResponse {
    let path = request.uri().path();
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let filtered = first == "api" || REDIRECTED_PATHS.contains(&first);
    if !filtered
        || request
            .headers()
            .contains_key(BYPASS_LEADER_REDIRECT_HEADER_NAME)
    {
        return next.run(request).await;
    }
    match &shared.seat.leadership() {
        Leadership::Leader => next.run(request).await,
        Leadership::RedirectTo(leader) => {
            let target = match request.uri().path_and_query() {
                Some(pq) => format!("{}{}", leader.trim_end_matches('/'), pq.as_str()),
                None => leader.clone(),
            };
            (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, target)]).into_response()
        }
        Leadership::NoLeader => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(CONTENT_TYPE, "text/html")],
            "<html><body><h1>503 - No leading scheduler found</h1></body></html>",
        )
            .into_response(),
    }
}

async fn leader_health(State(shared): State<Arc<Shared>>) -> StatusCode {
    match shared.seat.leadership() {
        Leadership::Leader => StatusCode::OK,
        Leadership::RedirectTo(_) => StatusCode::SERVICE_UNAVAILABLE,
        Leadership::NoLeader => StatusCode::BAD_GATEWAY,
    }
}

async fn maintenance_page(State(shared): State<Arc<Shared>>) -> HttpResponse {
    let Some(hosts) = shared.with_scheduler(|scheduler, now| scheduler.host_views(now)) else {
        return no_scheduler_page();
    };
    (
        [(CONTENT_TYPE, "application/json")],
        host_pages::maintenance_json(&hosts).to_string(),
    )
        .into_response()
}

async fn agents_page(State(shared): State<Arc<Shared>>) -> HttpResponse {
    let Some((cluster, hosts)) = shared.with_scheduler(|scheduler, now| {
        let hosts = scheduler.host_views(now);
        (scheduler.cluster_name().to_string(), hosts)
    }) else {
        return no_scheduler_page();
    };
    (
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        host_pages::agents_html(&cluster, &hosts),
    )
        .into_response()
}

/// A page asked of a follower with `Bypass-Leader-Redirect`: it holds no scheduler state.
fn no_scheduler_page() -> HttpResponse {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "this scheduler does not lead and holds no state\n",
    )
        .into_response()
}

/// Reads a request body of at most `MAX_BODY_BYTES` within `BODY_READ_TIMEOUT`.
async fn read_body(body: Body) -> Result<Bytes, HttpResponse> {
    match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>());
            Err(if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request bodies are limited to {MAX_BODY_BYTES} bytes\n"),
                )
                    .into_response()
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the request body: {e}\n"),
                )
                    .into_response()
            })
        }
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s\n",
                BODY_READ_TIMEOUT.as_secs()
            ),
        )
            .into_response()),
    }
}

async fn api(State(shared): State<Arc<Shared>>, request: Request) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let headers: HeaderMap = parts.headers;
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    // Closed only when the server is dropped, which cannot happen while a handler runs.
    let Ok(_permit) = shared.calls.acquire().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Some(request_encoding) = request_encoding(content_type.as_deref()) else {
        let named = content_type.unwrap_or_default();
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported content type: {named}\n"),
        )
            .into_response();
    };
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    let reply_encoding = reply_encoding(accept);

    let identity = match &shared.users {
        Some(users) => users.identify(headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok())),
        None => Identity::Anonymous,
    };
    if identity == Identity::BadCredentials {
        return unauthorized();
    }

    let (header, call) = match codec::decode_call(request_encoding, &body) {
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "Unreadable Thrift message header: {}\n",
                    codec::describe(&e)
                ),
            )
                .into_response();
        }
        Ok(Incoming::Refused { header, error }) => {
            return thrift_reply(
                reply_encoding,
                codec::encode_exception(
                    reply_encoding,
                    &header.name,
                    header.sequence_number,
                    &error,
                ),
            );
        }
        Ok(Incoming::Call { header, call }) => (header, *call),
    };

    let reply = |response: &Response| {
        let body = codec::encode_reply(
            reply_encoding,
            &header.name,
            header.sequence_number,
            response,
        );
        thrift_reply(reply_encoding, body)
    };

    let user = match (&shared.users, &identity) {
        (None, _) => "UNSECURE".to_string(),
        (Some(users), identity) => match users.authorize(identity, &call) {
            Ok(()) => match identity {
                Identity::User(name) => name.clone(),
                _ => "UNSECURE".to_string(),
            },
            Err(Denial::Unauthenticated) => return unauthorized(),
            Err(Denial::InvalidKey(message)) => {
                return reply(&bare_response(ResponseCode::INVALID_REQUEST, message));
            }
            Err(Denial::Forbidden(message)) => {
                return reply(&bare_response(ResponseCode::AUTH_FAILED, message));
            }
        },
    };

    let method = call.name();
    let logged = state_dir::is_logged(&call);
    // A bug in the scheduler answers ERROR, as the real one does for an uncaught exception (§4.1),
    // instead of dropping the connection.
    let response = match shared.with_held(|held, now| {
        let response = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            held.scheduler.handle(call, &user, now)
        }));
        if logged && response.is_ok() {
            held.record(Some((now, &user, request_encoding, &body)));
        }
        response
    }) {
        Some(Ok(response)) => response,
        Some(Err(_)) => bare_response(
            ResponseCode::ERROR,
            format!("aurora-sim failed while handling {method}; this is a bug"),
        ),
        // A follower asked with Bypass-Leader-Redirect: its storage is not readable (§1.5).
        None => bare_response(
            ResponseCode::ERROR_TRANSIENT,
            format!("{method}: this scheduler does not lead; its storage is not ready"),
        ),
    };
    reply(&response)
}

/// A reply made outside the scheduler (auth layer, internal error): it carries no serverInfo
/// (§3.3.1 notes such replies may lack it).
fn bare_response(code: ResponseCode, message: String) -> Response {
    Response {
        response_code: Some(code),
        server_info: None,
        result: None,
        details: Some(vec![ResponseDetail {
            message: Some(message),
        }]),
    }
}

fn unauthorized() -> HttpResponse {
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, "BASIC realm=\"Apache Aurora Scheduler\"")],
        "Unauthorized\n",
    )
        .into_response()
}

fn thrift_reply(encoding: Encoding, body: thrift::Result<Vec<u8>>) -> HttpResponse {
    match body {
        Ok(bytes) => ([(CONTENT_TYPE, encoding.content_type())], bytes).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the reply: {e}\n"),
        )
            .into_response(),
    }
}

/// A media type compared as the scheduler compares them (§1.2): type, subtype and parameter names
/// case-folded, the `charset` value case-folded, nothing else normalised.
fn normalise_media_type(value: &str) -> String {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params: Vec<String> = parts
        .map(|p| {
            let (name, val) = p.split_once('=').unwrap_or((p, ""));
            let name = name.trim().to_ascii_lowercase();
            let val = val.trim();
            let val = if name == "charset" {
                val.to_ascii_lowercase()
            } else {
                val.to_string()
            };
            format!("{name}={val}")
        })
        .collect();
    std::iter::once(essence)
        .chain(params)
        .collect::<Vec<_>>()
        .join(";")
}

/// The request's encoding from its Content-Type (first table of §1.2); `None` = 415.
pub fn request_encoding(content_type: Option<&str>) -> Option<Encoding> {
    let Some(value) = content_type else {
        return Some(Encoding::Json);
    };
    match normalise_media_type(value).as_str() {
        "application/x-thrift"
        | "application/json"
        | "application/vnd.apache.thrift.json"
        | "application/vnd.apache.thrift.json;charset=utf-8" => Some(Encoding::Json),
        "application/vnd.apache.thrift.binary" => Some(Encoding::Binary),
        _ => None,
    }
}

/// The reply's encoding from Accept (second table of §1.2): binary only when asked exactly.
pub fn reply_encoding(accept: Option<&str>) -> Encoding {
    match accept.map(normalise_media_type).as_deref() {
        Some("application/vnd.apache.thrift.binary") => Encoding::Binary,
        _ => Encoding::Json,
    }
}

/// A simulator serving on 127.0.0.1 on its own thread, for tests, benches and the demo; it stops
/// when dropped.
pub struct RunningSim {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningSim {
    pub fn start(
        config: SimConfig,
        options: ServerOptions,
        time_scale: f64,
    ) -> anyhow::Result<Self> {
        let scheduler = Scheduler::new(&config)?;
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        std_listener.set_nonblocking(true)?;
        let addr: SocketAddr = std_listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(l) => l,
                    Err(e) => return eprintln!("aurora-sim: {e}"),
                };
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(e) = serve(
                    listener,
                    scheduler,
                    Clock::new(time_scale),
                    options,
                    shutdown,
                )
                .await
                {
                    eprintln!("aurora-sim: {e}");
                }
            });
        });
        Ok(RunningSim {
            url: format!("http://{addr}"),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_content_types_follow_the_first_table_of_section_1_2() {
        let json = Some(Encoding::Json);
        assert_eq!(request_encoding(None), json);
        assert_eq!(
            request_encoding(Some("application/x-thrift")),
            json,
            "legacy type means TJSON, not binary"
        );
        assert_eq!(request_encoding(Some("application/json")), json);
        assert_eq!(
            request_encoding(Some("application/vnd.apache.thrift.json")),
            json
        );
        assert_eq!(
            request_encoding(Some("application/vnd.apache.thrift.json; charset=utf-8")),
            json
        );
        assert_eq!(
            request_encoding(Some("application/vnd.apache.thrift.json; charset=UTF-8")),
            json
        );
        assert_eq!(
            request_encoding(Some("Application/VND.apache.thrift.JSON;Charset=Utf-8")),
            json
        );
        assert_eq!(
            request_encoding(Some("application/vnd.apache.thrift.binary")),
            Some(Encoding::Binary)
        );
        assert_eq!(
            request_encoding(Some("application/json; charset=utf-8")),
            None,
            "extra parameter: 415"
        );
        assert_eq!(
            request_encoding(Some("application/vnd.apache.thrift.binary; charset=x")),
            None
        );
        assert_eq!(
            request_encoding(Some("application/vnd.apache.thrift.compact")),
            None
        );
        assert_eq!(request_encoding(Some("text/plain")), None);
    }

    #[test]
    fn reply_encoding_follows_the_second_table_of_section_1_2() {
        assert_eq!(
            reply_encoding(Some("application/vnd.apache.thrift.binary")),
            Encoding::Binary
        );
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/x-thrift"),
            Some("application/vnd.apache.thrift.json"),
            Some("application/vnd.apache.thrift.json; charset=utf-8"),
            Some("application/vnd.apache.thrift.binary, application/json"),
            Some("garbage;;;"),
        ] {
            assert_eq!(reply_encoding(accept), Encoding::Json, "{accept:?}");
        }
    }
}
