//! The HTTP client of the scheduler's `/api` endpoint (api-reference §1, client-reference §6.3):
//! one TBinary call per POST, bounded leader redirects replayed by hand (never from https to
//! http), preemptive basic auth, TLS through rustls (see `api::tls`), and retries: reads after
//! any passing failure, writes only when the scheduler certainly did not act on them, so that a
//! write is applied at most once.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, DATE, LOCATION,
};
use reqwest::{StatusCode, Url};

use crate::api::codec::{decode_reply, encode_call, Encoding, ReplyError};
use crate::api::methods::Method;
use crate::api::tls::TlsSettings;
use crate::api::types::{Response, ResponseCode};

/// `User-Agent` of every request: the scheduler logs it, so it says who called.
pub const USER_AGENT: &str = concat!("aurora-ansible/", env!("CARGO_PKG_VERSION"));

/// Leader redirects followed for one request; a longer chain means the schedulers disagree.
pub const MAX_REDIRECTS: usize = 5;

/// Per-call timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Characters of an unexpected HTTP body quoted in an error.
const BODY_EXCERPT_CHARS: usize = 200;

/// How often and how fast a call is tried again when `may_retry` allows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means no retry.
    pub max_attempts: u32,
    /// Pause before the first retry; each later pause doubles, up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// No retry starts once this much time has passed since the first attempt began.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 0.5 s, 1 s, 2 s, 4 s between five attempts: long enough to ride out a leader failover,
    /// short enough that an Ansible task does not hang on a dead scheduler.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// One attempt only.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The pause before retry number `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The pause before the next attempt after `attempts` have been made, or `None` to give up.
    fn next_delay(&self, attempts: u32, elapsed: Duration) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let delay = self.backoff(attempts);
        (elapsed + delay <= self.max_elapsed).then_some(delay)
    }
}

/// Finds the leading scheduler's base URL again (ZooKeeper discovery, api::clusters), so that
/// calls follow a leader failover; an error says why no leader was found.
pub type Rediscover = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// How to reach the scheduler: the module connection options (design.md) in typed form.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL of the scheduler; calls go to its `api` child.
    pub scheduler_url: String,
    pub username: Option<String>,
    /// Never printed: `Debug` shows only whether it is set.
    pub password: Option<String>,
    pub validate_certs: bool,
    /// A PEM file of CA certificates trusted in addition to the system's.
    pub ca_path: Option<PathBuf>,
    /// Limit for each HTTP request, redirects and retries each getting their own.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Set when the URL came from ZooKeeper: asked again before a call is retried after no
    /// connection or no leader, since the leader may have moved.
    pub rediscover: Option<Rediscover>,
}

impl ClientConfig {
    /// Defaults for everything but the URL: no credentials, verified TLS, 30 s, default retries.
    pub fn new(scheduler_url: impl Into<String>) -> Self {
        ClientConfig {
            scheduler_url: scheduler_url.into(),
            username: None,
            password: None,
            validate_certs: true,
            ca_path: None,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            rediscover: None,
        }
    }

    /// Follows the leader found by `rediscover` across failovers. A failover takes a ZooKeeper
    /// session timeout (the old leader's member lingers until then) and an election, so calls
    /// get more attempts to ride it out, still within `max_elapsed`.
    pub fn following_leader(mut self, rediscover: Rediscover) -> Self {
        self.rediscover = Some(rediscover);
        self.retry.max_attempts = self.retry.max_attempts.max(FAILOVER_ATTEMPTS);
        self
    }
}

/// Attempts per call when the leader is found in ZooKeeper: 0.5 + 1 + 2 + 4 + 8 + 8 + 8 s of
/// pauses, enough for a session timeout of tens of seconds and an election.
const FAILOVER_ATTEMPTS: u32 = 8;

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("scheduler_url", &shown_url(&self.scheduler_url))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("validate_certs", &self.validate_certs)
            .field("ca_path", &self.ca_path)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rediscover", &self.rediscover.is_some())
            .finish()
    }
}

/// What failed while connecting or talking to the scheduler at the transport level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection: refused, unreachable, DNS.
    Connect,
    /// The per-call timeout passed.
    Timeout,
    /// The TLS handshake failed, e.g. the certificate was not trusted.
    Tls,
    /// The connection broke mid-request or the body could not be read.
    Other,
}

/// Why a call failed. Every message names the method and the scheduler URL.
#[derive(Clone, Debug)]
pub enum ClientError {
    /// The client could not be built: bad URL, unreadable CA file, TLS setup.
    Config { url: String, message: String },
    /// Connecting or exchanging the request failed. For a write, `maybe_applied` says whether
    /// the request may have reached the scheduler.
    Transport {
        method: &'static str,
        url: String,
        kind: TransportKind,
        detail: String,
        maybe_applied: bool,
        attempts: u32,
    },
    /// HTTP 503: no scheduler currently leads.
    NoLeader {
        method: &'static str,
        url: String,
        attempts: u32,
    },
    /// HTTP 401 or 403: credentials missing or refused.
    Unauthorized {
        method: &'static str,
        url: String,
        status: u16,
        username: Option<String>,
    },
    /// Leader redirects that could not be followed: too many, or without a usable `Location`.
    Redirect {
        method: &'static str,
        url: String,
        chain: Vec<String>,
        reason: String,
    },
    /// Any other HTTP status.
    HttpStatus {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    /// The scheduler answered with a TApplicationException (unknown method, undecodable args).
    Exception {
        method: &'static str,
        url: String,
        kind: String,
        message: String,
    },
    /// The reply could not be decoded.
    Malformed {
        method: &'static str,
        url: String,
        detail: String,
    },
    /// The scheduler answered with a response code other than OK.
    Scheduler {
        method: &'static str,
        url: String,
        code: ResponseCode,
        details: Vec<String>,
    },
}

impl ClientError {
    /// The method called; empty for `Config`.
    pub fn method(&self) -> &str {
        match self {
            ClientError::Config { .. } => "",
            ClientError::Transport { method, .. }
            | ClientError::NoLeader { method, .. }
            | ClientError::Unauthorized { method, .. }
            | ClientError::Redirect { method, .. }
            | ClientError::HttpStatus { method, .. }
            | ClientError::Exception { method, .. }
            | ClientError::Malformed { method, .. }
            | ClientError::Scheduler { method, .. } => method,
        }
    }

    /// The URL that failed.
    pub fn url(&self) -> &str {
        match self {
            ClientError::Config { url, .. }
            | ClientError::Transport { url, .. }
            | ClientError::NoLeader { url, .. }
            | ClientError::Unauthorized { url, .. }
            | ClientError::Redirect { url, .. }
            | ClientError::HttpStatus { url, .. }
            | ClientError::Exception { url, .. }
            | ClientError::Malformed { url, .. }
            | ClientError::Scheduler { url, .. } => url,
        }
    }

    /// Whether the scheduler certainly did not act on the request: it answered 503 (no leader
    /// took the call, api-reference §1.5), or no connection was made.
    pub fn certainly_not_applied(&self) -> bool {
        match self {
            ClientError::NoLeader { .. } | ClientError::Config { .. } => true,
            ClientError::Transport {
                kind,
                maybe_applied,
                ..
            } => *kind != TransportKind::Tls && !*maybe_applied,
            _ => false,
        }
    }

    fn set_attempts(&mut self, n: u32) {
        if let ClientError::Transport { attempts, .. } | ClientError::NoLeader { attempts, .. } =
            self
        {
            *attempts = n;
        }
    }
}

fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config { url, message } => {
                write!(f, "cannot set up a client for scheduler {url}: {message}")
            }
            ClientError::Transport {
                method,
                url,
                kind,
                detail,
                maybe_applied,
                attempts,
            } => {
                let what = match kind {
                    TransportKind::Connect => "could not connect to",
                    TransportKind::Timeout => "timed out waiting for",
                    TransportKind::Tls => "TLS handshake failed with",
                    TransportKind::Other => "lost the connection to",
                };
                write!(f, "{method}: {what} the scheduler at {url}: {detail}")?;
                if *kind == TransportKind::Tls {
                    write!(
                        f,
                        "; check the certificate, give it (if self-signed) or its CA with \
                         ca_path, or set validate_certs to false"
                    )?;
                }
                if *maybe_applied {
                    write!(
                        f,
                        "; {method} may or may not have been applied: check the current state \
                         before trying again"
                    )?;
                }
                f.write_str(&after_attempts(*attempts))
            }
            ClientError::NoLeader {
                method,
                url,
                attempts,
            } => write!(
                f,
                "{method}: no leading scheduler at {url} (HTTP 503); retry later{}",
                after_attempts(*attempts)
            ),
            ClientError::Unauthorized {
                method,
                url,
                status,
                username,
            } => {
                write!(
                    f,
                    "{method}: the scheduler at {url} answered HTTP {status}: "
                )?;
                match username {
                    Some(user) => write!(
                        f,
                        "the credentials of user {user:?} were refused; check the username and \
                         password options (AURORA_USERNAME / AURORA_PASSWORD)"
                    ),
                    None => write!(
                        f,
                        "authentication is required; set the username and password options \
                         (AURORA_USERNAME / AURORA_PASSWORD)"
                    ),
                }
            }
            ClientError::Redirect {
                method,
                url,
                chain,
                reason,
            } => write!(
                f,
                "{method}: leader redirect from the scheduler at {url} failed: {reason}; \
                 chain: {}",
                chain.join(" -> ")
            ),
            ClientError::HttpStatus {
                method,
                url,
                status,
                body,
            } => {
                let reason = StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(
                    f,
                    "{method}: the scheduler at {url} answered HTTP {status} {reason}"
                )?;
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
                Ok(())
            }
            ClientError::Exception {
                method,
                url,
                kind,
                message,
            } => write!(
                f,
                "{method}: the scheduler at {url} refused the call with a \
                 TApplicationException ({kind}): {message}"
            ),
            ClientError::Malformed {
                method,
                url,
                detail,
            } => write!(
                f,
                "{method}: the reply from the scheduler at {url} could not be decoded: {detail}"
            ),
            ClientError::Scheduler {
                method,
                url,
                code,
                details,
            } => {
                write!(f, "{method}: the scheduler at {url} answered {code}")?;
                if !details.is_empty() {
                    write!(f, ": {}", details.join("; "))?;
                }
                if *code == ResponseCode::JOB_UPDATING_ERROR {
                    write!(f, " (an update is in progress on the job)")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ClientError {}

impl Response {
    /// The response code; a reply without one is treated as an ERROR.
    pub fn code(&self) -> ResponseCode {
        self.response_code.unwrap_or(ResponseCode::ERROR)
    }

    /// The detail messages, skipping details without a message.
    pub fn detail_messages(&self) -> Vec<String> {
        self.details
            .iter()
            .flatten()
            .filter_map(|d| d.message.clone())
            .collect()
    }
}

/// Whether the scheduler may be asked again after `outcome` (a response code or an error).
/// Reads are repeated after anything passing: a transport error other than a certificate
/// refusal (which does not cure itself), a 503, ERROR_TRANSIENT. A write is repeated only when
/// the scheduler certainly did not act on it (a 503, or no connection): after a transport error
/// once the request may have been sent, its fate is unknown and the caller must look before
/// sending it again (api-reference §1.7).
pub fn may_retry(read_only: bool, outcome: Result<ResponseCode, &ClientError>) -> bool {
    match outcome {
        Ok(code) => read_only && code == ResponseCode::ERROR_TRANSIENT,
        Err(ClientError::Transport {
            kind: TransportKind::Tls,
            ..
        }) => false,
        Err(e @ (ClientError::Transport { .. } | ClientError::NoLeader { .. })) => {
            read_only || e.certainly_not_applied()
        }
        Err(_) => false,
    }
}

/// What stands for a password in every URL shown.
const HIDDEN_PASSWORD: &str = "********";

/// A URL as it may be shown: any password replaced by `********`. Text that is not a URL but
/// holds an `@` (it may hide credentials) is not shown at all.
pub fn shown_url(text: &str) -> String {
    match Url::parse(text.trim()) {
        Ok(mut url) => {
            if url.password().is_some() {
                // A URL with a password has a host, so this cannot fail.
                let _ = url.set_password(Some(HIDDEN_PASSWORD));
            }
            url.to_string()
        }
        Err(_) if text.contains('@') => "(not shown: it holds an '@')".to_string(),
        Err(_) => text.to_string(),
    }
}

/// Refuses credentials written into a URL (`https://user:password@host`). They are not used,
/// and not silently dropped either: a URL is echoed in results, `invocation`, error messages,
/// logs, a process list (the CLI's arguments) and proxies' access logs, so masking it would have
/// to be right in every one of those places, while refusing it here covers the modules, the CLI,
/// clusters.json entries, redirect targets and the inventory plugin (which runs a module) at
/// once. The error shows the URL with its password hidden and says where credentials go.
pub fn refuse_credentials(url: &Url) -> Result<(), String> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(());
    }
    Err(format!(
        "the URL {} carries credentials (user:password@); they are not used from a URL, which \
         is shown in results, errors and logs: give them with the username and password options \
         (or AURORA_USERNAME and AURORA_PASSWORD; --username and --password on the command line)",
        shown_url(url.as_str())
    ))
}

/// `<base>/api`, joined as RFC 3986 does (client-reference §6.2 item 4): a base path without a
/// trailing slash has its last segment replaced.
pub fn api_endpoint(scheduler_url: &str) -> Result<Url, String> {
    let shown = shown_url(scheduler_url);
    let base = Url::parse(scheduler_url.trim())
        .map_err(|e| format!("scheduler URL {shown:?} is not a valid URL: {e}"))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(format!(
            "scheduler URL {shown:?} must start with http:// or https://"
        ));
    }
    if base.host_str().is_none_or(str::is_empty) {
        return Err(format!("scheduler URL {shown:?} has no host"));
    }
    refuse_credentials(&base)?;
    base.join("api")
        .map_err(|e| format!("cannot join {shown:?} with \"api\": {e}"))
}

/// reqwest with `rustls-no-provider` needs a process-wide crypto provider before any client is
/// built; ring is the one linked in.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means another provider is already installed, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client for TBinary calls; with `tls`, for HTTPS with the system's CAs and those
/// settings, without it, for plain HTTP only.
fn http_client(timeout: Duration, tls: Option<&TlsSettings>) -> Result<blocking::Client, String> {
    let mut headers = HeaderMap::new();
    let binary = HeaderValue::from_static(Encoding::Binary.content_type());
    headers.insert(CONTENT_TYPE, binary.clone());
    // reqwest sends `Accept: */*` unless told otherwise, which gets a TJSON reply (§1.2).
    headers.insert(ACCEPT, binary);
    let mut builder = blocking::Client::builder()
        .user_agent(USER_AGENT)
        .default_headers(headers)
        .timeout(timeout)
        // Redirects are followed by hand: bounded, replayed with the body, and reported.
        .redirect(reqwest::redirect::Policy::none());
    builder = match tls {
        None => builder.tls_certs_only(Vec::new()),
        Some(tls) if !tls.validate_certs => builder.tls_danger_accept_invalid_certs(true),
        Some(tls) => builder.tls_backend_preconfigured(tls.client_config()?),
    };
    builder.build().map_err(|e| error_chain(&e))
}

/// A client of one scheduler. Cheap to share by reference; calls are blocking.
pub struct Client {
    /// For `http://` URLs. It loads no CA certificates: reading the system's takes longer than
    /// a whole module run against a scheduler on the same network.
    plain: blocking::Client,
    /// For `https://` URLs, built when the first one is met (the endpoint, or a redirect).
    secure: OnceLock<blocking::Client>,
    tls: TlsSettings,
    /// Moves when `rediscover` finds another leader.
    endpoint: RwLock<Url>,
    rediscover: Option<Rediscover>,
    /// Precomputed `Authorization` value, marked sensitive.
    auth: Option<HeaderValue>,
    username: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    /// The `Date` of the last reply and when it arrived: the scheduler's clock (`scheduler_now_ms`).
    last_date: Mutex<Option<(SystemTime, Instant)>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint().as_str())
            .field("username", &self.username)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(config: &ClientConfig) -> Result<Client, ClientError> {
        let config_error = |message: String| ClientError::Config {
            url: shown_url(&config.scheduler_url),
            message,
        };
        let endpoint = api_endpoint(&config.scheduler_url).map_err(config_error)?;
        install_crypto_provider();
        let tls = TlsSettings::load(config.validate_certs, config.ca_path.as_deref())
            .map_err(config_error)?;
        let plain = http_client(config.timeout, None).map_err(config_error)?;
        let secure = OnceLock::new();
        if endpoint.scheme() == "https" {
            // Built now, so a bad TLS setting is reported as the configuration error it is.
            let _ = secure.set(http_client(config.timeout, Some(&tls)).map_err(config_error)?);
        }

        let password = config.password.as_deref().unwrap_or("");
        let auth = config
            .username
            .as_ref()
            .map(|user| basic_auth(user, password));
        Ok(Client {
            plain,
            secure,
            tls,
            endpoint: RwLock::new(endpoint),
            rediscover: config.rediscover.clone(),
            auth,
            username: config.username.clone(),
            timeout: config.timeout,
            retry: config.retry,
            last_date: Mutex::new(None),
        })
    }

    /// The URL calls are posted to now.
    pub fn endpoint(&self) -> Url {
        self.endpoint
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// After no connection or no leader, asks ZooKeeper again where the leader is (when the URL
    /// came from there) and moves the endpoint to it. A failed lookup keeps the endpoint: the
    /// next attempt fails the same way and asks again.
    fn follow_leader(&self, error: &ClientError) {
        let Some(rediscover) = &self.rediscover else {
            return;
        };
        let lost = matches!(
            error,
            ClientError::NoLeader { .. }
                | ClientError::Transport {
                    kind: TransportKind::Connect | TransportKind::Timeout,
                    ..
                }
        );
        if !lost {
            return;
        }
        if let Ok(endpoint) = rediscover().and_then(|base| api_endpoint(&base)) {
            *self.endpoint.write().unwrap_or_else(|p| p.into_inner()) = endpoint;
        }
    }

    /// Calls `M` and returns the scheduler's Response whatever its response code; see `call_ok`.
    /// Retried as `may_retry` says: a read after any passing failure, a write only when it was
    /// certainly not applied.
    pub fn call<M: Method>(&self, args: &M) -> Result<Response, ClientError> {
        let body = encode_call(Encoding::Binary, 0, args).map_err(|e| ClientError::Malformed {
            method: M::NAME,
            url: self.endpoint().to_string(),
            detail: format!("the call could not be encoded: {e}"),
        })?;
        let read_only = M::is_read_only();
        self.with_retries(read_only, Response::code, || {
            self.exchange(M::NAME, read_only, &body)
        })
    }

    /// GETs one of the scheduler's plain pages (`path` relative to the scheduler URL, as `api`
    /// is), with the same credentials, TLS, timeout, leader redirects and read retries as a
    /// read-only call, and returns its body. `label` names the request in errors, e.g.
    /// `"GET /agents"`.
    pub fn get_page(&self, label: &'static str, path: &str) -> Result<String, ClientError> {
        self.with_retries(
            true,
            |_| ResponseCode::OK,
            || {
                // Joined at each attempt: the endpoint moves when the leader does.
                let endpoint = self.endpoint();
                let url = endpoint.join(path).map_err(|e| ClientError::Config {
                    url: endpoint.to_string(),
                    message: format!("cannot join the scheduler URL with {path:?}: {e}"),
                })?;
                let (url, reply) =
                    self.send_following_redirects(label, true, url.clone(), |http, url| {
                        http.get(url)
                            .header(ACCEPT, HeaderValue::from_static("*/*"))
                    })?;
                reply
                    .text()
                    .map_err(|e| transport_error(label, &url, true, self.timeout, &e))
            },
        )
    }

    /// The scheduler's time now, in epoch milliseconds: the `Date` of its last reply plus the
    /// time since it arrived, else this machine's clock. Task events carry the scheduler's
    /// timestamps, so how long a task has been RUNNING is measured against this clock, as the
    /// scheduler measures an SLA's duration (api-reference §4.8), not against a clock that may
    /// be skewed (or, with aurora-sim, running at another pace). Whole seconds: it lags by less
    /// than one, which only makes an uptime look shorter.
    pub fn scheduler_now_ms(&self) -> i64 {
        let noted = *self.last_date.lock().unwrap_or_else(|p| p.into_inner());
        let now = match noted {
            Some((date, at)) => date + at.elapsed(),
            None => SystemTime::now(),
        };
        now.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    fn note_date(&self, headers: &HeaderMap) {
        let date = headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        if let Some(date) = date {
            *self.last_date.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((date, Instant::now()));
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry policy gives up; whether
    /// an outcome is worth another attempt is `may_retry`'s call (`code` tells the response code).
    fn with_retries<T>(
        &self,
        read_only: bool,
        code: impl Fn(&T) -> ResponseCode,
        mut attempt: impl FnMut() -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut outcome = attempt();
            let retry = may_retry(read_only, outcome.as_ref().map(&code));
            let delay = if retry {
                self.retry.next_delay(attempts, started.elapsed())
            } else {
                None
            };
            match delay {
                Some(delay) => {
                    std::thread::sleep(delay);
                    if let Err(e) = &outcome {
                        self.follow_leader(e);
                    }
                }
                None => {
                    if let Err(e) = &mut outcome {
                        e.set_attempts(attempts);
                    }
                    return outcome;
                }
            }
        }
    }

    /// Calls `M` and turns a response code other than OK into `ClientError::Scheduler`.
    pub fn call_ok<M: Method>(&self, args: &M) -> Result<Response, ClientError> {
        let response = self.call(args)?;
        self.check(M::NAME, response)
    }

    /// `Ok` for an OK response, else `ClientError::Scheduler` with the detail messages.
    /// Only OK is success; WARNING is not (client-reference §2.1).
    pub fn check(&self, method: &'static str, response: Response) -> Result<Response, ClientError> {
        if response.code() == ResponseCode::OK {
            return Ok(response);
        }
        Err(ClientError::Scheduler {
            method,
            url: self.endpoint().to_string(),
            code: response.code(),
            details: response.detail_messages(),
        })
    }

    /// The reqwest client for a URL's scheme.
    fn http_for(&self, url: &Url) -> Result<&blocking::Client, ClientError> {
        if url.scheme() != "https" {
            return Ok(&self.plain);
        }
        if let Some(client) = self.secure.get() {
            return Ok(client);
        }
        let client =
            http_client(self.timeout, Some(&self.tls)).map_err(|message| ClientError::Config {
                url: url.to_string(),
                message,
            })?;
        Ok(self.secure.get_or_init(|| client))
    }

    /// One attempt: POST the call, following up to `MAX_REDIRECTS` leader redirects.
    fn exchange(
        &self,
        method: &'static str,
        read_only: bool,
        body: &[u8],
    ) -> Result<Response, ClientError> {
        let (url, reply) =
            self.send_following_redirects(method, read_only, self.endpoint(), |http, url| {
                http.post(url).body(body.to_vec())
            })?;
        let transport =
            |e: reqwest::Error| transport_error(method, &url, read_only, self.timeout, &e);
        self.note_date(reply.headers());
        let binary = reply
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_string());
        let bytes = reply.bytes().map_err(transport)?;
        decode_reply(Encoding::Binary, method, &bytes).map_err(|e| match e {
            ReplyError::Exception(e) => ClientError::Exception {
                method,
                url: url.to_string(),
                kind: format!("{:?}", e.kind),
                message: e.message,
            },
            ReplyError::Malformed(detail) => ClientError::Malformed {
                method,
                url: url.to_string(),
                detail: match binary {
                    Some(ct) if ct != Encoding::Binary.content_type() => {
                        format!("{detail} (the reply's Content-Type is {ct:?})")
                    }
                    _ => detail,
                },
            },
        })
    }

    /// Sends the request `build` makes for `url`, following up to `MAX_REDIRECTS` leader
    /// redirects (the request is rebuilt for each URL), and returns the URL that answered HTTP
    /// 200 with its reply; any other status is an error. A redirect from https to plain http is
    /// refused before anything is sent there: the credentials and the call would travel in
    /// clear, readable and replayable by anyone on the path.
    fn send_following_redirects(
        &self,
        method: &'static str,
        read_only: bool,
        start: Url,
        build: impl Fn(&blocking::Client, Url) -> blocking::RequestBuilder,
    ) -> Result<(Url, blocking::Response), ClientError> {
        let mut url = start;
        let mut chain = vec![url.to_string()];
        loop {
            let mut request = build(self.http_for(&url)?, url.clone());
            if let Some(auth) = &self.auth {
                request = request.header(AUTHORIZATION, auth.clone());
            }
            let transport =
                |e: reqwest::Error| transport_error(method, &url, read_only, self.timeout, &e);
            let reply = request.send().map_err(transport)?;
            let status = reply.status();
            match status {
                StatusCode::OK => return Ok((url, reply)),
                StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => {
                    let redirect_error =
                        |reason: String, chain: Vec<String>| ClientError::Redirect {
                            method,
                            url: self.endpoint().to_string(),
                            chain,
                            reason,
                        };
                    let Some(location) = reply.headers().get(LOCATION) else {
                        return Err(redirect_error(
                            format!("{url} answered HTTP {} without a Location", status.as_u16()),
                            chain,
                        ));
                    };
                    let next = location
                        .to_str()
                        .ok()
                        .and_then(|l| url.join(l).ok())
                        .filter(|u| matches!(u.scheme(), "http" | "https"));
                    let Some(next) = next else {
                        let shown = location.to_str().map(shown_url).unwrap_or_default();
                        return Err(redirect_error(
                            format!("{url} redirected to the unusable Location {shown:?}"),
                            chain,
                        ));
                    };
                    chain.push(shown_url(next.as_str()));
                    if url.scheme() == "https" && next.scheme() == "http" {
                        return Err(redirect_error(
                            format!(
                                "{url} redirected to plain http, and following it would send the \
                                 call{} unencrypted; refused. Point scheduler_url at the https \
                                 address of the leading scheduler, or make the TLS proxy in \
                                 front of the schedulers redirect to https",
                                if self.auth.is_some() {
                                    " and the credentials"
                                } else {
                                    ""
                                }
                            ),
                            chain,
                        ));
                    }
                    if let Err(reason) = refuse_credentials(&next) {
                        return Err(redirect_error(
                            format!("{url} redirected to a URL with credentials: {reason}"),
                            chain,
                        ));
                    }
                    if chain.len() > MAX_REDIRECTS + 1 {
                        return Err(redirect_error(
                            format!("more than {MAX_REDIRECTS} redirects"),
                            chain,
                        ));
                    }
                    url = next;
                }
                StatusCode::SERVICE_UNAVAILABLE => {
                    return Err(ClientError::NoLeader {
                        method,
                        url: url.to_string(),
                        attempts: 1,
                    })
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(ClientError::Unauthorized {
                        method,
                        url: url.to_string(),
                        status: status.as_u16(),
                        username: self.username.clone(),
                    })
                }
                _ => {
                    // The body is only for the message; failing to read it loses nothing.
                    let text = reply.text().unwrap_or_default();
                    return Err(ClientError::HttpStatus {
                        method,
                        url: url.to_string(),
                        status: status.as_u16(),
                        body: excerpt(&text),
                    });
                }
            }
        }
    }
}

fn basic_auth(user: &str, password: &str) -> HeaderValue {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    // Base64 output is always a valid header value.
    let mut value = HeaderValue::from_str(&format!("Basic {token}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

/// The start of a body, whitespace collapsed and HTML tags dropped (503 and 500 pages are HTML).
fn excerpt(text: &str) -> String {
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = plain.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() > BODY_EXCERPT_CHARS {
        let cut: String = joined.chars().take(BODY_EXCERPT_CHARS).collect();
        format!("{cut}...")
    } else {
        joined
    }
}

/// The messages of an error and its sources, outermost first. hyper's "client error (Connect)"
/// wrapper says nothing the kind of error does not, so it is left out.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        let wrapper = text.starts_with("client error (") && err.source().is_some();
        if !wrapper && parts.last() != Some(&text) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// Whether a rustls error is somewhere in the chain. io::Error hides its inner error from
/// `source()`, so it is unwrapped explicitly.
fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if is_tls_error(inner) {
                    return true;
                }
            }
        }
        current = err.source();
    }
    false
}

fn transport_error(
    method: &'static str,
    url: &Url,
    read_only: bool,
    timeout: Duration,
    e: &reqwest::Error,
) -> ClientError {
    let kind = if is_tls_error(e) {
        TransportKind::Tls
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    // reqwest's own message repeats the URL; the causes are what says what happened.
    let detail = match (kind, std::error::Error::source(e)) {
        (TransportKind::Timeout, _) => format!("no answer within {timeout:?} (the timeout option)"),
        (_, Some(source)) => error_chain(source),
        (_, None) => e.to_string(),
    };
    ClientError::Transport {
        method,
        url: url.to_string(),
        kind,
        detail,
        // Without a connection nothing was sent; otherwise the scheduler may have acted.
        maybe_applied: !read_only && !e.is_connect(),
        attempts: 1,
    }
}

#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;
