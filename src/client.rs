//! Talking to an OpenAI-compatible server: one blocking ureq agent, request
//! building, retries, timeouts, and errors in the words of SPEC §4.
//!
//! A request is first *prepared* ([`prepare`]): URL, headers and body are
//! fixed, `${env:VAR}` references resolved, and secrets wrapped. The dry
//! run prints exactly that value and the send path sends exactly that
//! value, so what `aix run` shows is what `aix run --execute` does.
//!
//! Streams are relayed by reading the socket into a buffer, handing it to
//! the pure [`sse`](crate::sse) parser, decoding each event with
//! [`chunk`](crate::chunk), and writing deltas to a [`Sink`] that is
//! flushed once per read, not once per delta: latency stays at one read,
//! and throughput near the socket's.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::chunk::{self, Item, Usage};
use crate::error::Error;
use crate::notes::Notes;
use crate::provider::{AuthType, Provider};
use crate::secret::envref;
use crate::secret::{self, Masker, Secret};
use crate::sse;

/// Connect timeout (SPEC §4).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Answer timeout when neither `--timeout` nor the provider sets one.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;
/// Tries for 429, 5xx and connection failures, before any output.
const MAX_TRIES: u32 = 3;
/// A `Retry-After` longer than this is not waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Largest total deadline (`--max-time`, `max_time_secs`), as for timeouts.
pub const MAX_MAX_TIME_SECS: u64 = 86_400;
/// Largest error or non-stream body read into memory.
const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Same-origin redirects followed before giving up.
const MAX_REDIRECTS: u32 = 5;
const READ_BUF: usize = 64 * 1024;
/// An event whose data grows past this is spilled to a temporary file
/// and decoded from there (see `chunk::decode_spilled`), so a huge delta
/// is not held in memory.
pub const SPILL_AT: usize = 256 * 1024;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Message {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

/// What to ask for, before it is tied to a provider.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub stream: bool,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
}

/// One header as it will go on the wire.
#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub value: Secret,
    pub sensitive: bool,
}

impl Header {
    /// The value as it may be shown.
    pub fn shown(&self, show_secrets: bool) -> &str {
        if self.sensitive && !show_secrets {
            secret::MASK
        } else {
            self.value.expose()
        }
    }
}

/// A request ready to send (or to show in a dry run).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub provider: String,
    pub base_url: String,
    pub url: String,
    pub model: String,
    pub headers: Vec<Header>,
    pub body: Value,
    pub stream: bool,
    pub timeout: Duration,
    /// The whole answer must be in within this long (`--max-time`).
    pub max_time: Option<Duration>,
    /// The provider's key, for masking what the server sends back.
    key: Option<Secret>,
    /// Values read from `${env:...}` for headers, masked likewise.
    env_values: Vec<Secret>,
}

impl Prepared {
    /// What masks the secrets this request carries (the key, every
    /// sensitive header value and its token, every value read from the
    /// environment) in text that comes back from the server.
    pub fn masker(&self) -> Masker {
        let mut values: Vec<&str> = Vec::new();
        if let Some(k) = &self.key {
            values.push(k.expose());
        }
        for h in self.headers.iter().filter(|h| h.sensitive) {
            let v = h.value.expose();
            values.push(v);
            // `Bearer TOKEN`, `Basic CREDENTIALS`: the token alone too.
            if let Some((scheme, token)) = v.split_once(' ')
                && !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphabetic())
            {
                values.push(token.trim());
            }
        }
        values.extend(self.env_values.iter().map(Secret::expose));
        Masker::new(values)
    }

    /// The request as JSON with secrets masked (for `--json` dry runs).
    pub fn to_json(&self, show_secrets: bool) -> Value {
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|h| (h.name.clone(), Value::from(h.shown(show_secrets))))
            .collect();
        let mut j = json!({
            "provider": self.provider,
            "method": "POST",
            "url": self.url,
            "model": self.model,
            "headers": headers,
            "body": self.body,
            "timeout_secs": self.timeout.as_secs(),
        });
        if let Some(m) = self.max_time {
            j["max_time_secs"] = json!(m.as_secs());
        }
        j
    }
}

/// How to treat `${env:VAR}` references while preparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvRefs {
    /// Resolve them; an unset variable is an error (for sending).
    Resolve,
    /// Keep them as written (for showing a dry run).
    Keep,
}

/// Builds the request for `provider`: auth per `auth_type`, the provider's
/// headers, and the body. `key` is the provider's own key; it is only ever
/// attached to this provider's URL.
pub fn prepare(
    provider: &Provider,
    key: Option<&Secret>,
    req: &ChatRequest,
    timeout: Duration,
    env: EnvRefs,
) -> Result<Prepared, Error> {
    let mut headers = vec![Header {
        name: "Content-Type".into(),
        value: Secret::new("application/json"),
        sensitive: false,
    }];
    let mut env_values = Vec::new();
    let custom_auth = provider
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
    if provider.auth_type == AuthType::Bearer
        && !custom_auth
        && let Some(key) = key
    {
        if env == EnvRefs::Resolve && key.expose().chars().any(|c| c.is_control()) {
            return Err(Error::new(format!(
                "the API key of provider '{}' contains a line break or another control character, which a header cannot carry",
                provider.name
            ))
            .hint(format!(
                "set it again with `aix api-key {}`, or remove the newline from the variable that holds it",
                provider.name
            )));
        }
        headers.push(Header {
            name: "Authorization".into(),
            value: Secret::new(format!("Bearer {}", key.expose())),
            sensitive: true,
        });
    }
    for (name, written) in &provider.headers {
        let (value, sensitive) = match env {
            // Shown as written: a bare reference hides nothing.
            EnvRefs::Keep => (
                written.clone(),
                secret::is_sensitive_header(name) && !secret::is_reference_only(written),
            ),
            // A value read from the environment is a secret whatever the
            // header is called.
            EnvRefs::Resolve => {
                let read = std::cell::RefCell::new(Vec::new());
                let value = envref::resolve_with(written, |var| {
                    let v = std::env::var(var).ok();
                    if let Some(v) = &v {
                        read.borrow_mut().push(Secret::new(v.clone()));
                    }
                    v
                })
                .map_err(|e| {
                    Error::new(format!(
                        "header {name} of provider '{}': {e}",
                        provider.name
                    ))
                    .hint("export the variable before running, or change the provider's header")
                })?;
                check_header_value(&provider.name, name, written, &value)?;
                env_values.extend(read.into_inner());
                (
                    value,
                    secret::is_sensitive_header(name) || envref::contains_reference(written),
                )
            }
        };
        // A header the user sets replaces aix's default of the same name
        // (names are case-insensitive): one of each goes on the wire.
        headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
        headers.push(Header {
            name: name.clone(),
            value: Secret::new(value),
            sensitive,
        });
    }
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    let mut body = json!({"model": req.model, "messages": messages, "stream": req.stream});
    if req.stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    if let Some(n) = req.max_tokens {
        body["max_tokens"] = json!(n);
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    Ok(Prepared {
        provider: provider.name.clone(),
        base_url: provider.base_url.clone(),
        url: format!("{}/chat/completions", provider.base_url),
        model: req.model.clone(),
        headers,
        body,
        stream: req.stream,
        timeout,
        max_time: provider.max_time_secs.map(Duration::from_secs),
        key: key.cloned(),
        env_values,
    })
}

/// Refuses a header value that cannot go on the wire (a line break or
/// another control character), naming the header, never the value.
fn check_header_value(provider: &str, name: &str, written: &str, value: &str) -> Result<(), Error> {
    let Some(bad) = value.chars().find(|c| c.is_control() && *c != '\t') else {
        return Ok(());
    };
    let what = match bad {
        '\r' | '\n' => "a line break (CR or LF)".to_string(),
        c => format!("a control character (U+{:04X})", u32::from(c)),
    };
    let whose = if envref::contains_reference(written) {
        "the value read from the environment"
    } else {
        "its value"
    };
    Err(Error::new(format!(
        "header {name} of provider '{provider}': {whose} contains {what}, which a header cannot carry"
    ))
    .hint("remove it from the variable (a trailing newline from `$(cat file)` is a common cause)"))
}

/// Where the user sees an answer being written.
pub trait Sink {
    /// The server accepted the request; the first bytes are coming.
    fn started(&mut self) {}
    fn content(&mut self, text: &str) -> io::Result<()>;
    fn reasoning(&mut self, text: &str) -> io::Result<()>;
    /// A raw event's data (for `--json` streams).
    fn raw(&mut self, _data: &[u8]) -> io::Result<()> {
        Ok(())
    }
    /// Whether [`Sink::raw`] shows anything: a huge event is then read
    /// back into memory to be shown whole.
    fn wants_raw(&self) -> bool {
        false
    }
    /// Text of a refusal: when the model declines, this is its answer.
    fn refusal(&mut self, text: &str) -> io::Result<()> {
        self.content(text)
    }
    /// A tool call starts: its index among the answer's calls, and its id
    /// and function name as far as the server sent them.
    fn tool_call(&mut self, _index: u64, _id: Option<&str>, _name: Option<&str>) -> io::Result<()> {
        Ok(())
    }
    /// A piece of tool call `index`'s arguments, in order (a whole answer
    /// sends them in one piece).
    fn tool_arguments(&mut self, _index: u64, _fragment: &str) -> io::Result<()> {
        Ok(())
    }
    /// Called after each socket read has been fully handled.
    fn flush(&mut self) -> io::Result<()>;
}

/// What a finished stream reported.
#[derive(Debug, Default, Clone)]
pub struct StreamSummary {
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
    pub events: u64,
    /// Whether any content, refusal or tool call came.
    pub answered: bool,
}

/// Why a request failed, with what the user needs to act on it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("Connection failed to {base_url}: {cause}")]
    Connect {
        base_url: String,
        cause: String,
        /// The request surely did not reach the server: safe to send again.
        before_sent: bool,
    },
    /// The connection closed or was reset after the request went out:
    /// the server may have it, so it is never sent again.
    #[error("The connection to {base_url} broke before an answer came: {cause}")]
    Dropped { base_url: String, cause: String },
    #[error("TLS with {base_url} failed: {cause}")]
    Tls { base_url: String, cause: String },
    #[error("cannot send the request to {base_url}: {detail}")]
    Request { base_url: String, detail: String },
    #[error("Request to {base_url} did not finish within {secs} s")]
    Deadline { base_url: String, secs: u64 },
    #[error("Request to {base_url} timed out after {secs} s{phase}")]
    Timeout {
        base_url: String,
        secs: u64,
        phase: &'static str,
    },
    #[error("{status} {reason}: {message}")]
    Status {
        status: u16,
        reason: String,
        message: String,
        code: Option<String>,
    },
    #[error("redirected from {from} to {to}, another origin; aix does not follow it")]
    CrossOriginRedirect { from: String, to: String },
    #[error("invalid response from {base_url}: {detail}")]
    Protocol { base_url: String, detail: String },
    #[error("the server sent an error in the stream: {0}")]
    StreamError(String),
    #[error("the stream from {base_url} ended before [DONE]; the answer may be cut short")]
    Truncated { base_url: String },
    #[error("the answer from {base_url} broke off: {cause}")]
    Broken { base_url: String, cause: String },
    #[error("cannot write the answer: {0}")]
    Output(io::Error),
}

impl ClientError {
    /// The user-facing error with hints, for provider `name` and `model`.
    pub fn into_error(self, name: &str, model: &str) -> Error {
        match &self {
            ClientError::Status { status, message, code, .. } if is_model_not_found(*status, message, code.as_deref()) => {
                Error::new(format!("Model '{model}' not found: {message}"))
                    .hint("pick another with --model MODEL")
                    .hint(format!("list what the server offers with `aix provider models {name}`"))
            }
            ClientError::Status { status: 401 | 403, .. } => Error::new(self.to_string())
                .hint(format!("set the key with `aix api-key {name}`, or check the variable named by its api_key_env")),
            ClientError::Status { status: 404, .. } => Error::new(self.to_string()).hint(format!(
                "check the base URL with `aix provider info {name}`: many servers serve the API under /v1"
            )),
            ClientError::Connect { .. } => Error::new(self.to_string())
                .hint(format!("is the server running? `aix provider check {name}` tests it")),
            ClientError::Dropped { .. } => Error::new(self.to_string())
                .hint("the server may have received the request, so aix did not send it again; check the server's log"),
            ClientError::Timeout { .. } => Error::new(self.to_string())
                .hint("raise the limit with --timeout SECS or the provider's timeout_secs"),
            ClientError::Deadline { .. } => Error::new(self.to_string())
                .hint("raise the limit with --max-time SECS or the provider's max_time_secs"),
            ClientError::Tls { .. } => Error::new(self.to_string())
                .hint(format!("check that the server speaks HTTPS at this port, or use http:// in the base URL (`aix provider info {name}`)")),
            ClientError::CrossOriginRedirect { to, .. } => Error::new(self.to_string())
                .hint(format!("if {to} is right, make it the provider's base URL; credentials are never sent to another origin")),
            ClientError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => Error::new(self.to_string()),
            _ => Error::new(self.to_string()),
        }
    }
}

impl ClientError {
    /// The error with every secret in server-sent text masked.
    pub fn masked(self, m: &Masker) -> ClientError {
        if m.is_empty() {
            return self;
        }
        let mask = |t: String| m.mask(&t).into_owned();
        match self {
            ClientError::Status {
                status,
                reason,
                message,
                code,
            } => ClientError::Status {
                status,
                reason,
                message: mask(message),
                code: code.map(mask),
            },
            ClientError::StreamError(t) => ClientError::StreamError(mask(t)),
            ClientError::Protocol { base_url, detail } => ClientError::Protocol {
                base_url,
                detail: mask(detail),
            },
            ClientError::Broken { base_url, cause } => ClientError::Broken {
                base_url,
                cause: mask(cause),
            },
            ClientError::Connect {
                base_url,
                cause,
                before_sent,
            } => ClientError::Connect {
                base_url,
                cause: mask(cause),
                before_sent,
            },
            ClientError::Tls { base_url, cause } => ClientError::Tls {
                base_url,
                cause: mask(cause),
            },
            ClientError::Request { base_url, detail } => ClientError::Request {
                base_url,
                detail: mask(detail),
            },
            ClientError::CrossOriginRedirect { from, to } => ClientError::CrossOriginRedirect {
                from: mask(from),
                to: mask(to),
            },
            other => other,
        }
    }
}

/// Whether an error response means "no such model". Servers disagree:
/// OpenAI answers 404 `model_not_found`, LiteLLM 400 with a message, vLLM
/// 404 with "does not exist".
fn is_model_not_found(status: u16, message: &str, code: Option<&str>) -> bool {
    if code == Some("model_not_found") {
        return true;
    }
    let m = message.to_ascii_lowercase();
    matches!(status, 400 | 404 | 422)
        && m.contains("model")
        && (m.contains("not found")
            || m.contains("does not exist")
            || m.contains("invalid model")
            || m.contains("unknown model")
            || m.contains("not available"))
}

/// The canonical reason phrase for a status.
fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// The server's own words from an error body: the OpenAI `error.message`,
/// FastAPI's `detail`, a bare `message`, or the text itself with any HTML
/// tags dropped, squeezed to one line and cut at 300 characters.
pub fn error_message(body: &[u8]) -> (String, Option<String>) {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let code = v
            .pointer("/error/code")
            .or_else(|| v.pointer("/error/type"))
            .and_then(|c| c.as_str().map(String::from));
        let msg = v
            .get("error")
            .and_then(chunk::error_text)
            .or_else(|| {
                v.get("detail")
                    .map(|d| d.as_str().map_or_else(|| d.to_string(), String::from))
            })
            .or_else(|| v.get("message").and_then(Value::as_str).map(String::from));
        if let Some(msg) = msg {
            return (one_line(&msg), code);
        }
    }
    let text = String::from_utf8_lossy(body);
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let line = one_line(&plain);
    (
        if line.is_empty() {
            "(empty body)".into()
        } else {
            line
        },
        None,
    )
}

/// Server text squeezed to one line, cut at 300 characters, with control
/// characters shown as symbols (an error body cannot drive the terminal).
fn one_line(s: &str) -> String {
    let mut squeezed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if squeezed.chars().any(char::is_control) {
        squeezed = crate::output::TermSafe::default()
            .clean(&squeezed)
            .into_owned();
    }
    if squeezed.chars().count() > 300 {
        let cut: String = squeezed.chars().take(300).collect();
        format!("{cut}...")
    } else {
        squeezed
    }
}

/// Whether two absolute URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    fn origin(u: &str) -> Option<(String, String)> {
        let (scheme, rest) = u.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
        let default = if scheme == "https" { ":443" } else { ":80" };
        let authority = authority
            .strip_suffix(default)
            .unwrap_or(&authority)
            .to_string();
        Some((scheme, authority))
    }
    origin(a).is_some() && origin(a) == origin(b)
}

/// Resolves a `Location` against the URL it came from.
fn join_location(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(path) = location.strip_prefix('/') {
        format!("{scheme}://{authority}/{path}")
    } else {
        let dir = base.rsplit_once('/').map_or(base, |(d, _)| d);
        format!("{dir}/{location}")
    }
}

/// The HTTP client. Cheap to create; holds one agent per answer timeout.
pub struct Client {
    retry_base: Duration,
    verbose: bool,
    show_secrets: bool,
    /// Where retries (and, verbose, redirects) are told.
    notes: Notes,
}

impl Default for Client {
    fn default() -> Self {
        Client::new(false)
    }
}

type Response = ureq::http::Response<ureq::Body>;

/// Why one try failed, and whether another may follow.
enum Retry {
    /// A 429 or 5xx: the server said no before doing anything.
    Status(Response, Option<Duration>),
    /// The connection failed before the request went out.
    Connect(ClientError),
}

impl Client {
    /// `AIX_RETRY_BASE_MS` shortens the backoff (for tests).
    pub fn new(verbose: bool) -> Self {
        let retry_base = std::env::var("AIX_RETRY_BASE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_millis(500), Duration::from_millis);
        Client {
            retry_base,
            verbose,
            show_secrets: false,
            notes: Notes::default(),
        }
    }

    /// Tell retries (and, verbose, redirects followed) to `notes`.
    pub fn notes(mut self, notes: Notes) -> Self {
        self.notes = notes;
        self
    }

    /// Show secrets the server sends back (`--show-secrets`) instead of
    /// masking them.
    pub fn show_secrets(mut self, show: bool) -> Self {
        self.show_secrets = show;
        self
    }

    /// What masks the secrets of `p` in server text (nothing with
    /// `--show-secrets`).
    pub fn masker(&self, p: &Prepared) -> Masker {
        if self.show_secrets {
            Masker::none()
        } else {
            p.masker()
        }
    }

    fn agent(&self, timeout: Duration, whole_body: bool) -> ureq::Agent {
        let mut cfg = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(format!("aix/{}", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(timeout))
            // A stream idle this long also times out.
            .timeout_per_read(Some(timeout));
        if whole_body {
            cfg = cfg.timeout_recv_body(Some(timeout));
        }
        cfg.build().new_agent()
    }

    /// Sends the request, following same-origin redirects and retrying 429,
    /// 500, 502, 503, 504 and connections that failed before the request went out, with
    /// jittered backoff, within `p.max_time` overall. Returns a 2xx
    /// response; everything else is an error.
    fn send(&self, p: &Prepared, agent: &ureq::Agent) -> Result<Response, ClientError> {
        let body = serde_json::to_vec(&p.body).expect("a Value always serializes");
        let deadline = p.max_time.map(|m| (Instant::now() + m, m));
        let mut attempt = 1;
        loop {
            let left = match deadline {
                Some((at, max)) => match at.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Err(deadline_error(p, max)),
                },
                None => None,
            };
            let retry = match self.send_once(p, agent, &body, left) {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) if matches!(resp.status().as_u16(), 429 | 500 | 502 | 503 | 504) => {
                    let wait = retry_after(&resp);
                    Retry::Status(resp, wait)
                }
                Ok(resp) => return Err(status_error(resp, &self.masker(p))),
                Err(
                    e @ ClientError::Connect {
                        before_sent: true, ..
                    },
                ) => Retry::Connect(e),
                Err(e) => return Err(e),
            };
            let (why, wait) = match retry {
                Retry::Status(resp, wait) => {
                    if attempt >= MAX_TRIES || wait.is_some_and(|w| w > MAX_RETRY_AFTER) {
                        return Err(status_error(resp, &self.masker(p)));
                    }
                    let s = resp.status().as_u16();
                    (format!("{s} {}", reason(s)), wait)
                }
                Retry::Connect(e) => {
                    if attempt >= MAX_TRIES {
                        return Err(e);
                    }
                    ("connection failed".to_string(), None)
                }
            };
            let wait = wait.unwrap_or_else(|| self.backoff(attempt));
            if let Some((at, max)) = deadline
                && Instant::now() + wait >= at
            {
                return Err(deadline_error(p, max));
            }
            self.notes.note(format!(
                "{why}; retrying in {:.1} s (try {} of {MAX_TRIES})",
                wait.as_secs_f64(),
                attempt + 1
            ));
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn send_once(
        &self,
        p: &Prepared,
        agent: &ureq::Agent,
        body: &[u8],
        left: Option<Duration>,
    ) -> Result<Response, ClientError> {
        let mut url = p.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = agent.post(&url);
            if left.is_some() {
                req = req.config().timeout_global(left).build();
            }
            for h in &p.headers {
                req = req.header(h.name.as_str(), h.value.expose());
            }
            if self.verbose && url != p.url {
                self.notes.note(format!("following a redirect: POST {url}"));
            }
            let resp = req.send(body).map_err(|e| transport_error(e, p))?;
            if !resp.status().is_redirection() {
                return Ok(resp);
            }
            let Some(location) = resp.headers().get("location").and_then(|l| l.to_str().ok())
            else {
                return Ok(resp);
            };
            let next = join_location(&url, location);
            if !same_origin(&p.base_url, &next) {
                return Err(ClientError::CrossOriginRedirect {
                    from: url,
                    to: next,
                }
                .masked(&self.masker(p)));
            }
            url = next;
        }
        Err(ClientError::Protocol {
            base_url: p.base_url.clone(),
            detail: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        // Capped before the jitter: a huge AIX_RETRY_BASE_MS cannot
        // overflow the multiplication below.
        let base = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(MAX_RETRY_AFTER);
        // Jitter from the clock: 50%..150% of the base, no RNG needed.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        base.mul_f64(0.5 + f64::from(nanos % 1000) / 1000.0)
    }

    /// Sends a non-stream request and returns the parsed response, with
    /// the request's secrets masked in every string of it.
    pub fn chat(&self, p: &Prepared) -> Result<Value, ClientError> {
        let masker = self.masker(p);
        let agent = self.agent(p.timeout, false);
        let resp = self.send(p, &agent).map_err(|e| e.masked(&masker))?;
        let bytes = resp
            .into_body()
            .into_with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| body_error(e, p).masked(&masker))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            base_url: p.base_url.clone(),
            detail: format!("the answer is not JSON ({e})"),
        })?;
        Ok(if masker.is_empty() {
            v
        } else {
            masker.mask_json(&v)
        })
    }

    /// Sends a stream request and relays it to `sink`. The text reaching
    /// `sink` is not masked here (see [`crate::run::answer::Output`]); errors are.
    pub fn chat_stream(
        &self,
        p: &Prepared,
        sink: &mut dyn Sink,
    ) -> Result<StreamSummary, ClientError> {
        let masker = self.masker(p);
        let agent = self.agent(p.timeout, false);
        let resp = self.send(p, &agent).map_err(|e| e.masked(&masker))?;
        sink.started();
        if !is_event_stream(&resp) {
            // A server that ignored `stream: true` and answered whole.
            return whole_answer(resp, p, sink);
        }
        let mut reader = resp.into_body().into_reader();
        relay(&mut reader, sink, &p.base_url, p.timeout).map_err(|e| {
            let e = match (e, p.max_time) {
                (ClientError::Deadline { base_url, .. }, Some(max)) => ClientError::Deadline {
                    base_url,
                    secs: max.as_secs(),
                },
                (e, _) => e,
            };
            e.masked(&masker)
        })
    }

    /// `GET {base_url}/models` with the provider's auth; the secrets sent
    /// are masked in what comes back.
    pub fn models(
        &self,
        provider: &Provider,
        key: Option<&Secret>,
        timeout: Duration,
    ) -> Result<Vec<Value>, ClientError> {
        let req = ChatRequest {
            model: String::new(),
            messages: Vec::new(),
            stream: false,
            max_tokens: None,
            temperature: None,
        };
        let p = prepare(provider, key, &req, timeout, EnvRefs::Resolve).map_err(|e| {
            ClientError::Request {
                base_url: provider.base_url.clone(),
                detail: e.message().to_string(),
            }
        })?;
        let masker = self.masker(&p);
        let agent = self.agent(timeout, true);
        let url = format!("{}/models", provider.base_url);
        let mut req = agent.get(&url);
        if let Some(max) = p.max_time {
            req = req.config().timeout_global(Some(max)).build();
        }
        for h in p.headers.iter().filter(|h| h.name != "Content-Type") {
            req = req.header(h.name.as_str(), h.value.expose());
        }
        let resp = req
            .call()
            .map_err(|e| transport_error(e, &p).masked(&masker))?;
        if !resp.status().is_success() {
            return Err(status_error(resp, &masker));
        }
        let bytes = resp
            .into_body()
            .into_with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| body_error(e, &p).masked(&masker))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            base_url: p.base_url.clone(),
            detail: format!("/models did not answer JSON ({e})"),
        })?;
        match v
            .get("data")
            .or_else(|| v.get("models"))
            .and_then(Value::as_array)
        {
            Some(items) => Ok(items.iter().map(|i| masker.mask_json(i)).collect()),
            None => Err(ClientError::Protocol {
                base_url: p.base_url.clone(),
                detail: "/models answered without a \"data\" list".into(),
            }),
        }
    }
}

/// Reads an event stream from `reader` and writes its deltas to `sink`:
/// every complete event in the current buffer, then one flush before the
/// next (blocking) read.
pub fn relay(
    reader: &mut dyn Read,
    sink: &mut dyn Sink,
    base_url: &str,
    idle_timeout: Duration,
) -> Result<StreamSummary, ClientError> {
    let mut parser = sse::Parser::default().spill_over(SPILL_AT, Box::new(temp_spill));
    let mut buf = vec![0u8; READ_BUF];
    let mut state = Relay {
        sink,
        base_url,
        summary: StreamSummary::default(),
        done: false,
        decoder: chunk::Decoder::new(),
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = state.sink.flush();
                return Err(read_error(e, base_url, idle_timeout));
            }
        };
        let fed = parser.feed(&buf[..n], &mut |ev| state.event(ev));
        state.sink.flush().map_err(ClientError::Output)?;
        fed.map_err(|e| state.feed_error(e))?;
        if state.done {
            return Ok(state.summary);
        }
    }
    let fed = parser.finish(&mut |ev| state.event(ev));
    state.sink.flush().map_err(ClientError::Output)?;
    fed.map_err(|e| state.feed_error(e))?;
    // The body ended cleanly (a broken one is an error above): without
    // [DONE] that is still a whole answer once a finish_reason came, as
    // the OpenAI SDK holds.
    if state.done || state.summary.finish_reason.is_some() {
        Ok(state.summary)
    } else {
        Err(ClientError::Truncated {
            base_url: base_url.to_string(),
        })
    }
}

/// The spill store of a stream: an unlinked temporary file (in TMPDIR),
/// gone when aix exits however it exits.
fn temp_spill() -> io::Result<Box<dyn sse::Spill>> {
    Ok(Box::new(TempSpill(tempfile::tempfile()?)))
}

struct TempSpill(std::fs::File);

impl Read for TempSpill {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl io::Seek for TempSpill {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl sse::Spill for TempSpill {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        use io::{Seek, Write};
        self.0.seek(io::SeekFrom::End(0))?;
        self.0.write_all(bytes)
    }
    fn clear(&mut self) -> io::Result<()> {
        use io::Seek;
        self.0.set_len(0)?;
        self.0.rewind()
    }
}

/// The relay's state between events.
struct Relay<'a> {
    sink: &'a mut dyn Sink,
    base_url: &'a str,
    summary: StreamSummary,
    done: bool,
    decoder: chunk::Decoder,
}

impl Relay<'_> {
    fn event(&mut self, ev: sse::Event<'_>) -> Result<(), ClientError> {
        if self.done {
            return Ok(());
        }
        self.summary.events += 1;
        match ev.data {
            sse::Data::Bytes(data) => self.chunk(ev.event, data),
            sse::Data::Spilled(store) => self.spilled(ev.event, store),
        }
    }

    /// A huge event, from the spill store: decoded there and its texts
    /// streamed out in pieces when it is an ordinary valid chunk; read
    /// back into memory otherwise (an error, `--json`, anything unusual),
    /// so what is shown and every error is as for any other event.
    fn spilled(&mut self, event: &str, store: &mut dyn sse::Spill) -> Result<(), ClientError> {
        let spill_error = |base_url: &str, e: io::Error| ClientError::Protocol {
            base_url: base_url.to_string(),
            detail: format!("cannot read a large event back from its temporary file ({e})"),
        };
        let decoded = if event == "error" || self.sink.wants_raw() {
            None
        } else {
            chunk::decode_spilled(&mut *store).map_err(|e| spill_error(self.base_url, e))?
        };
        let Some(s) = decoded else {
            let data = sse::Data::Spilled(store)
                .bytes()
                .map_err(|e| spill_error(self.base_url, e))?
                .into_owned();
            return self.chunk(event, &data);
        };
        let delta = &s.delta;
        if let Some(e) = &delta.error {
            return Err(ClientError::StreamError(one_line(e)));
        }
        let base_url = self.base_url;
        let sink = &mut *self.sink;
        let mut text = |span: chunk::Span,
                        out: &mut dyn FnMut(&str) -> io::Result<()>|
         -> Result<(), ClientError> {
            chunk::stream_text(&mut *store, span, out).map_err(|e| match e {
                chunk::TextError::Read(e) => spill_error(base_url, e),
                chunk::TextError::Sink(e) => ClientError::Output(e),
            })
        };
        if let Some(r) = s.reasoning {
            text(r, &mut |t| sink.reasoning(t))?;
        }
        if let Some(c) = s.content {
            text(c, &mut |t| sink.content(t))?;
            self.summary.answered = true;
        }
        if let Some(r) = s.refusal {
            text(r, &mut |t| sink.refusal(t))?;
            self.summary.answered = true;
        }
        for (t, args) in delta.tool_calls.iter().zip(&s.arguments) {
            if t.id.is_some() || t.name.is_some() {
                sink.tool_call(t.index, t.id.as_deref(), t.name.as_deref())
                    .map_err(ClientError::Output)?;
                self.summary.answered = true;
            }
            if let Some(a) = *args {
                text(a, &mut |piece| sink.tool_arguments(t.index, piece))?;
                self.summary.answered = true;
            }
        }
        self.record_end(delta);
        Ok(())
    }

    /// What a delta says about the end of the answer: its finish reason
    /// and usage (the same for in-memory and spilled events).
    fn record_end(&mut self, delta: &chunk::Delta<'_>) {
        if let Some(f) = &delta.finish_reason {
            self.summary.finish_reason = Some(f.to_string());
        }
        if delta.usage.is_some() {
            self.summary.usage = delta.usage;
        }
    }

    /// One event's data in memory.
    fn chunk(&mut self, event: &str, data: &[u8]) -> Result<(), ClientError> {
        if event == "error" {
            return Err(ClientError::StreamError(error_message(data).0));
        }
        // Matched in place, not moved out: a Delta is large enough that a
        // move per chunk shows in the relay's profile.
        let decoded = self.decoder.decode(data);
        let delta = match &decoded {
            Ok(Item::Done) => {
                self.done = true;
                return Ok(());
            }
            Ok(Item::Delta(d)) => d,
            Err(e) => {
                return Err(ClientError::Protocol {
                    base_url: self.base_url.to_string(),
                    detail: format!("a stream chunk is not valid JSON ({e})"),
                });
            }
        };
        self.sink.raw(data).map_err(ClientError::Output)?;
        if let Some(e) = &delta.error {
            return Err(ClientError::StreamError(one_line(e)));
        }
        if let Some(r) = &delta.reasoning {
            self.sink.reasoning(r).map_err(ClientError::Output)?;
        }
        if let Some(c) = &delta.content {
            self.sink.content(c).map_err(ClientError::Output)?;
            self.summary.answered = true;
        }
        if let Some(r) = &delta.refusal {
            self.sink.refusal(r).map_err(ClientError::Output)?;
            self.summary.answered = true;
        }
        for t in &delta.tool_calls {
            if t.id.is_some() || t.name.is_some() {
                self.sink
                    .tool_call(t.index, t.id.as_deref(), t.name.as_deref())
                    .map_err(ClientError::Output)?;
                self.summary.answered = true;
            }
            if let Some(a) = &t.arguments {
                self.sink
                    .tool_arguments(t.index, a)
                    .map_err(ClientError::Output)?;
                self.summary.answered = true;
            }
        }
        self.record_end(delta);
        Ok(())
    }

    fn feed_error(&self, e: sse::Error<ClientError>) -> ClientError {
        match e {
            sse::Error::Callback(c) => c,
            too_long => ClientError::Protocol {
                base_url: self.base_url.to_string(),
                detail: too_long.to_string(),
            },
        }
    }
}

/// Whether a response to a streaming request is an event stream. Only a
/// JSON content type says otherwise: some servers send events without
/// naming them.
fn is_event_stream(resp: &Response) -> bool {
    let Some(ct) = resp
        .headers()
        .get("content-type")
        .and_then(|c| c.to_str().ok())
    else {
        return true;
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    !(media == "application/json" || media.ends_with("+json"))
}

/// Delivers a whole JSON answer that came to a streaming request, as the
/// non-stream path would.
fn whole_answer(
    resp: Response,
    p: &Prepared,
    sink: &mut dyn Sink,
) -> Result<StreamSummary, ClientError> {
    let status = resp.status();
    let bytes = resp
        .into_body()
        .into_with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| body_error(e, p))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
        base_url: p.base_url.clone(),
        detail: format!("the answer is not JSON ({e})"),
    })?;
    if v.get("error").is_some_and(|e| !e.is_null()) {
        let (message, code) = error_message(&bytes);
        return Err(ClientError::Status {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            message,
            code,
        });
    }
    let done = chunk::completion(&v).ok_or_else(|| ClientError::Protocol {
        base_url: p.base_url.clone(),
        detail: "no choices[0].message in the answer".into(),
    })?;
    // For `--json`: the response, on one line as a chunk would be.
    let line = serde_json::to_vec(&v).expect("a Value always serializes");
    sink.raw(&line).map_err(ClientError::Output)?;
    let summary = feed_completion(&done, sink).map_err(ClientError::Output)?;
    sink.flush().map_err(ClientError::Output)?;
    Ok(summary)
}

/// Writes a whole answer to `sink` in the order a stream would bring it,
/// so a stream and a whole answer show the same.
pub fn feed_completion(done: &chunk::Completion, sink: &mut dyn Sink) -> io::Result<StreamSummary> {
    let mut answered = false;
    if let Some(r) = &done.reasoning {
        sink.reasoning(r)?;
    }
    if let Some(c) = &done.content {
        sink.content(c)?;
        answered = true;
    }
    if let Some(r) = &done.refusal {
        sink.refusal(r)?;
        answered = true;
    }
    for (i, call) in (0u64..).zip(&done.tool_calls) {
        sink.tool_call(i, call.id.as_deref(), call.name.as_deref())?;
        if let Some(a) = &call.arguments {
            sink.tool_arguments(i, a)?;
        }
        answered = true;
    }
    Ok(StreamSummary {
        usage: done.usage,
        finish_reason: done.finish_reason.clone(),
        events: 0,
        answered,
    })
}

/// The wait a `Retry-After` asks for: whole or fractional seconds, capped
/// just above [`MAX_RETRY_AFTER`] (so a huge value means "too long"), or
/// `None` for anything else (a negative number, an HTTP date, garbage):
/// then the normal backoff applies.
fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get("retry-after")?.to_str().ok()?;
    parse_retry_after(v)
}

fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs = v.trim().parse::<f64>().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let cap = MAX_RETRY_AFTER.as_secs_f64() + 1.0;
    Duration::try_from_secs_f64(secs.min(cap)).ok()
}

fn deadline_error(p: &Prepared, max: Duration) -> ClientError {
    ClientError::Deadline {
        base_url: p.base_url.clone(),
        secs: max.as_secs(),
    }
}

/// Turns a non-2xx response into an error carrying the server's message,
/// with the request's secrets masked (before the message is cut short, so
/// no part of a secret survives the cut).
fn status_error(resp: Response, masker: &Masker) -> ClientError {
    let status = resp.status().as_u16();
    let canonical = resp.status().canonical_reason().unwrap_or("");
    let reason = match reason(status) {
        "" => canonical.to_string(),
        r => r.to_string(),
    };
    let body = resp
        .into_body()
        .into_with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    let (message, code) = if masker.is_empty() {
        error_message(&body)
    } else {
        let text = String::from_utf8_lossy(&body);
        error_message(masker.mask(&text).as_bytes())
    };
    ClientError::Status {
        status,
        reason,
        message,
        code,
    }
    .masked(masker)
}

fn transport_error(e: ureq::Error, p: &Prepared) -> ClientError {
    let base_url = p.base_url.clone();
    let connect = |cause: &str, before_sent: bool| ClientError::Connect {
        base_url: p.base_url.clone(),
        cause: cause.to_string(),
        before_sent,
    };
    let protocol = |detail: String| ClientError::Protocol {
        base_url: p.base_url.clone(),
        detail,
    };
    match e {
        ureq::Error::Timeout(ureq::Timeout::Global) => {
            deadline_error(p, p.max_time.unwrap_or_default())
        }
        ureq::Error::Timeout(t) => {
            let (secs, phase) = match t {
                ureq::Timeout::Connect | ureq::Timeout::Resolve => {
                    (CONNECT_TIMEOUT.as_secs(), " (connecting)")
                }
                _ => (p.timeout.as_secs(), ""),
            };
            ClientError::Timeout {
                base_url,
                secs,
                phase,
            }
        }
        ureq::Error::HostNotFound => connect("host not found (DNS lookup failed)", true),
        ureq::Error::ConnectionFailed => connect("connection refused", true),
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ClientError::Timeout {
                base_url,
                secs: p.timeout.as_secs(),
                phase: "",
            },
            io::ErrorKind::ConnectionRefused => connect("connection refused", true),
            // rustls reports a failed handshake as invalid data on the socket.
            io::ErrorKind::InvalidData if p.url.starts_with("https://") => ClientError::Tls {
                base_url,
                cause: io.to_string(),
            },
            io::ErrorKind::UnexpectedEof => ClientError::Dropped {
                base_url,
                cause: "the server closed the connection without answering".into(),
            },
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                ClientError::Dropped {
                    base_url,
                    cause: "the connection was reset".into(),
                }
            }
            _ => connect(&io.to_string(), false),
        },
        ureq::Error::Tls(m) => ClientError::Tls {
            base_url,
            cause: m.to_string(),
        },
        ureq::Error::Rustls(r) => ClientError::Tls {
            base_url,
            cause: r.to_string(),
        },
        ureq::Error::Protocol(e) => protocol(format!("the reply is not valid HTTP ({e})")),
        ureq::Error::LargeResponseHeader(got, limit) => protocol(format!(
            "the response headers are larger than {limit} bytes ({got} or more)"
        )),
        ureq::Error::Http(e) => ClientError::Request {
            base_url,
            detail: format!("invalid request header ({e})"),
        },
        ureq::Error::BadUri(u) => ClientError::Request {
            base_url,
            detail: format!("invalid URL {u}"),
        },
        other => ClientError::Request {
            base_url,
            detail: other.to_string(),
        },
    }
}

fn body_error(e: ureq::Error, p: &Prepared) -> ClientError {
    match e {
        ureq::Error::Timeout(ureq::Timeout::Global) => {
            deadline_error(p, p.max_time.unwrap_or_default())
        }
        ureq::Error::Timeout(_) => ClientError::Timeout {
            base_url: p.base_url.clone(),
            secs: p.timeout.as_secs(),
            phase: "",
        },
        ureq::Error::BodyExceedsLimit(n) => ClientError::Protocol {
            base_url: p.base_url.clone(),
            detail: format!("the answer is larger than {n} bytes"),
        },
        ureq::Error::Io(io) => match read_error(io, &p.base_url, p.timeout) {
            ClientError::Deadline { base_url, .. } => ClientError::Deadline {
                base_url,
                secs: p.max_time.unwrap_or_default().as_secs(),
            },
            e => e,
        },
        other => ClientError::Broken {
            base_url: p.base_url.clone(),
            cause: other.to_string(),
        },
    }
}

/// A failed read of the body. A total deadline (`--max-time`) that ran out
/// comes back as [`ClientError::Deadline`] with `secs` 0 for the caller,
/// who knows the deadline, to fill in.
fn read_error(e: io::Error, base_url: &str, timeout: Duration) -> ClientError {
    let timed_out = || ClientError::Timeout {
        base_url: base_url.to_string(),
        secs: timeout.as_secs(),
        phase: " waiting for more of the answer",
    };
    // ureq wraps its own errors in io::Error while a body is read.
    let cause = match ureq::Error::from(e) {
        ureq::Error::Timeout(ureq::Timeout::Global) => {
            return ClientError::Deadline {
                base_url: base_url.to_string(),
                secs: 0,
            };
        }
        ureq::Error::Timeout(_) => return timed_out(),
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => return timed_out(),
            io::ErrorKind::UnexpectedEof => {
                "the server closed the connection mid-answer".to_string()
            }
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                "the connection was reset mid-answer".to_string()
            }
            _ => io.to_string(),
        },
        other => other.to_string(),
    };
    ClientError::Broken {
        base_url: base_url.to_string(),
        cause,
    }
}

/// Times a closure, for `provider check`.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect {
        text: String,
        reasoning: String,
        flushes: usize,
    }

    impl Sink for Collect {
        fn content(&mut self, t: &str) -> io::Result<()> {
            self.text.push_str(t);
            Ok(())
        }
        fn reasoning(&mut self, t: &str) -> io::Result<()> {
            self.reasoning.push_str(t);
            Ok(())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    fn relay_str(s: &str) -> (Result<StreamSummary, ClientError>, Collect) {
        let mut sink = Collect {
            text: String::new(),
            reasoning: String::new(),
            flushes: 0,
        };
        let r = relay(
            &mut s.as_bytes(),
            &mut sink,
            "http://x",
            Duration::from_secs(1),
        );
        (r, sink)
    }

    #[test]
    fn relays_a_stream() {
        let (r, sink) = relay_str(concat!(
            "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
            ": keep-alive\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n",
            "data: [DONE]\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"after done\"}}]}\n\n",
        ));
        let s = r.unwrap();
        assert_eq!(sink.text, "Hello");
        assert_eq!(sink.reasoning, "hmm");
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        assert_eq!(s.usage.unwrap().total_tokens, 3);
    }

    #[test]
    fn a_huge_delta_is_relayed_in_pieces_from_its_spill() {
        let mut text = String::new();
        while text.len() < 4 * SPILL_AT {
            text.push_str("line \u{e9}\u{1F600} \"q\"\n");
        }
        let chunk =
            json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]});
        let stream = format!("data: {chunk}\n\ndata: [DONE]\n\n");
        struct Pieces(Vec<usize>, String);
        impl Sink for Pieces {
            fn content(&mut self, t: &str) -> io::Result<()> {
                self.0.push(t.len());
                self.1.push_str(t);
                Ok(())
            }
            fn reasoning(&mut self, _: &str) -> io::Result<()> {
                Ok(())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut sink = Pieces(Vec::new(), String::new());
        let s = relay(
            &mut stream.as_bytes(),
            &mut sink,
            "http://x",
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(sink.1, text);
        assert!(sink.0.len() > 4, "in pieces: {:?}", sink.0);
        assert!(sink.0.iter().all(|&n| n <= 2 * chunk::PIECE));
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        // Invalid, it fails as in memory, having shown nothing.
        let bad = stream.replacen("line ", "line \\x", 1);
        let mut sink = Pieces(Vec::new(), String::new());
        let err = relay(
            &mut bad.as_bytes(),
            &mut sink,
            "http://x",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not valid JSON (invalid escape"),
            "{err}"
        );
        assert!(sink.1.is_empty());
    }

    #[test]
    fn stream_failures_keep_what_came() {
        let (r, sink) = relay_str("data: {\"choices\":[{\"delta\":{\"content\":\"part\"}}]}\n\n");
        assert!(matches!(r, Err(ClientError::Truncated { .. })));
        assert_eq!(sink.text, "part");
        let (r, sink) = relay_str(concat!(
            "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
            "data: {\"error\":{\"message\":\"overloaded\"}}\n\n",
        ));
        assert_eq!(
            r.unwrap_err().to_string(),
            "the server sent an error in the stream: overloaded"
        );
        assert_eq!(sink.text, "a");
        let (r, _) = relay_str("event: error\ndata: {\"error\":{\"message\":\"bad\"}}\n\n");
        assert!(r.unwrap_err().to_string().contains("bad"));
        let (r, _) = relay_str("data: {not json\n\n");
        assert!(r.unwrap_err().to_string().contains("not valid JSON"));
    }

    #[test]
    fn retry_after_never_panics() {
        let cap = MAX_RETRY_AFTER + Duration::from_secs(1);
        for (v, want) in [
            ("2", Some(Duration::from_secs(2))),
            (" 0.5 ", Some(Duration::from_millis(500))),
            ("99999999999999999999", Some(cap)),
            ("1e20", Some(cap)),
            ("1e400", None),
            ("inf", None),
            ("NaN", None),
            ("-1", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("", None),
        ] {
            assert_eq!(parse_retry_after(v), want, "{v:?}");
        }
        let c = Client {
            retry_base: Duration::MAX,
            verbose: false,
            show_secrets: false,
            notes: Notes::default(),
        };
        assert!(c.backoff(u32::MAX) <= MAX_RETRY_AFTER.mul_f64(1.5));
    }

    #[test]
    fn user_headers_replace_defaults_and_secrets_are_collected() {
        let mut p = Provider::new("p", "http://h/v1");
        p.headers
            .push(("content-type".into(), "application/json; x=1".into()));
        p.headers
            .push(("X-Api-Key".into(), "Token abcdef123".into()));
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![],
            stream: false,
            max_tokens: None,
            temperature: None,
        };
        let key = Secret::new("sk-masked-1");
        let sent = prepare(
            &p,
            Some(&key),
            &req,
            Duration::from_secs(9),
            EnvRefs::Resolve,
        )
        .unwrap();
        let types: Vec<_> = sent
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("content-type"))
            .map(|h| h.value.expose())
            .collect();
        assert_eq!(types, ["application/json; x=1"]);
        let m = sent.masker();
        assert_eq!(
            m.mask("sk-masked-1 / Bearer sk-masked-1 / abcdef123"),
            "(sensitive) / (sensitive) / (sensitive)"
        );
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_message(br#"{"error":{"message":"Incorrect API key","code":"invalid_api_key"}}"#),
            ("Incorrect API key".into(), Some("invalid_api_key".into()))
        );
        assert_eq!(error_message(br#"{"detail":"Not Found"}"#).0, "Not Found");
        assert_eq!(error_message(br#"{"message":"m"}"#).0, "m");
        assert_eq!(
            error_message(b"<html><body><h1>502 Bad Gateway</h1>\n<hr>nginx</body></html>").0,
            "502 Bad Gateway nginx"
        );
        assert_eq!(error_message(b"").0, "(empty body)");
        assert!(
            error_message("x".repeat(1000).as_bytes())
                .0
                .ends_with("...")
        );
    }

    #[test]
    fn model_not_found_detection() {
        assert!(is_model_not_found(404, "x", Some("model_not_found")));
        assert!(is_model_not_found(
            404,
            "The model `m` does not exist.",
            None
        ));
        assert!(is_model_not_found(
            400,
            "Invalid model name passed in model=x",
            None
        ));
        assert!(!is_model_not_found(404, "Not Found", None));
        assert!(!is_model_not_found(500, "model not found", None));
    }

    #[test]
    fn origins_and_locations() {
        assert!(same_origin("http://a:80/v1", "http://A/v2"));
        assert!(same_origin("https://a/v1", "https://a:443/x"));
        assert!(!same_origin("http://a/v1", "https://a/v1"));
        assert!(!same_origin("http://a/v1", "http://a.evil/v1"));
        assert!(!same_origin("http://a:1/v1", "http://a:2/v1"));
        assert_eq!(
            join_location("http://a/v1/chat/completions", "/v2/x"),
            "http://a/v2/x"
        );
        assert_eq!(
            join_location("http://a/v1/chat/completions", "other"),
            "http://a/v1/chat/other"
        );
        assert_eq!(join_location("http://a/v1", "https://b/x"), "https://b/x");
    }

    #[test]
    fn prepare_attaches_auth_and_masks() {
        let mut p = Provider::new("p", "http://h/v1");
        p.headers.push(("X-Title".into(), "aix".into()));
        p.headers
            .push(("X-Key".into(), "${env:AIX_TEST_UNSET_VAR_1}".into()));
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![Message::new("user", "hi")],
            stream: true,
            max_tokens: Some(5),
            temperature: None,
        };
        let key = Secret::new("sk-canary");
        let shown = prepare(&p, Some(&key), &req, Duration::from_secs(9), EnvRefs::Keep).unwrap();
        let j = shown.to_json(false);
        assert!(!j.to_string().contains("canary"), "{j}");
        assert_eq!(j["headers"]["Authorization"], "(sensitive)");
        assert_eq!(j["headers"]["X-Key"], "${env:AIX_TEST_UNSET_VAR_1}");
        assert_eq!(j["url"], "http://h/v1/chat/completions");
        assert_eq!(j["body"]["stream_options"]["include_usage"], true);
        assert_eq!(j["body"]["max_tokens"], 5);
        let err = prepare(
            &p,
            Some(&key),
            &req,
            Duration::from_secs(9),
            EnvRefs::Resolve,
        )
        .unwrap_err();
        assert!(
            err.message().contains("AIX_TEST_UNSET_VAR_1 is not set"),
            "{}",
            err.message()
        );
        p.auth_type = AuthType::ApiKey;
        p.headers.pop();
        let sent = prepare(
            &p,
            Some(&key),
            &req,
            Duration::from_secs(9),
            EnvRefs::Resolve,
        )
        .unwrap();
        assert!(
            sent.headers.iter().all(|h| h.name != "Authorization"),
            "api-key auth sends none"
        );
    }
}
