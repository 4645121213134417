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
use crate::envref;
use crate::error::Error;
use crate::provider::{AuthType, Provider};
use crate::secret::{self, Secret};
use crate::sse;

/// Connect timeout (SPEC §4).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Answer timeout when neither `--timeout` nor the provider sets one.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;
/// Tries for 429, 5xx and connection failures, before any output.
const MAX_TRIES: u32 = 3;
/// A `Retry-After` longer than this is not waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Largest error or non-stream body read into memory.
const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Same-origin redirects followed before giving up.
const MAX_REDIRECTS: u32 = 5;
const READ_BUF: usize = 64 * 1024;

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
}

impl Prepared {
    /// The request as JSON with secrets masked (for `--json` dry runs).
    pub fn to_json(&self, show_secrets: bool) -> Value {
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|h| (h.name.clone(), Value::from(h.shown(show_secrets))))
            .collect();
        json!({
            "provider": self.provider,
            "method": "POST",
            "url": self.url,
            "model": self.model,
            "headers": headers,
            "body": self.body,
            "timeout_secs": self.timeout.as_secs(),
        })
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
    let custom_auth = provider
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
    if provider.auth_type == AuthType::Bearer
        && !custom_auth
        && let Some(key) = key
    {
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
            EnvRefs::Resolve => (
                envref::resolve(written).map_err(|e| {
                    Error::new(format!(
                        "header {name} of provider '{}': {e}",
                        provider.name
                    ))
                    .hint("export the variable before running, or change the provider's header")
                })?,
                secret::is_sensitive_header(name) || envref::contains_reference(written),
            ),
        };
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
    })
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
    Connect { base_url: String, cause: String },
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
    #[error("the stream from {base_url} broke: {cause}")]
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
            ClientError::Timeout { .. } => Error::new(self.to_string())
                .hint("raise the limit with --timeout SECS or the provider's timeout_secs"),
            ClientError::CrossOriginRedirect { to, .. } => Error::new(self.to_string())
                .hint(format!("if {to} is right, make it the provider's base URL; credentials are never sent to another origin")),
            ClientError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => Error::new(self.to_string()),
            _ => Error::new(self.to_string()),
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

fn one_line(s: &str) -> String {
    let squeezed = s.split_whitespace().collect::<Vec<_>>().join(" ");
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
}

impl Default for Client {
    fn default() -> Self {
        Client::new(false)
    }
}

type Response = ureq::http::Response<ureq::Body>;

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
    /// 5xx and connection failures with jittered backoff. Returns a 2xx
    /// response; everything else is an error.
    fn send(&self, p: &Prepared, agent: &ureq::Agent) -> Result<Response, ClientError> {
        let body = serde_json::to_vec(&p.body).expect("a Value always serializes");
        let mut attempt = 1;
        loop {
            let outcome = self.send_once(p, agent, &body);
            let (retry, wait) = match &outcome {
                Ok(resp) if resp.status().is_success() => return outcome,
                Ok(resp) if resp.status().as_u16() == 429 || resp.status().is_server_error() => {
                    (true, retry_after(resp))
                }
                Err(ClientError::Connect { .. }) => (true, None),
                _ => (false, None),
            };
            let resp = match outcome {
                Ok(resp) => Some(resp),
                Err(e) if !retry || attempt >= MAX_TRIES => return Err(e),
                Err(_) => None,
            };
            if !retry || attempt >= MAX_TRIES || wait.is_some_and(|w| w > MAX_RETRY_AFTER) {
                return Err(status_error(resp.expect("errors returned above")));
            }
            let wait = wait.unwrap_or_else(|| self.backoff(attempt));
            let why = resp.as_ref().map_or_else(
                || "connection failed".to_string(),
                |r| format!("{} {}", r.status().as_u16(), reason(r.status().as_u16())),
            );
            crate::output::note(format!(
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
    ) -> Result<Response, ClientError> {
        let mut url = p.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = agent.post(&url);
            for h in &p.headers {
                req = req.header(h.name.as_str(), h.value.expose());
            }
            if self.verbose && url != p.url {
                crate::output::note(format!("following a redirect: POST {url}"));
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
                });
            }
            url = next;
        }
        Err(ClientError::Protocol {
            base_url: p.base_url.clone(),
            detail: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.retry_base * 2u32.pow(attempt - 1);
        // Jitter from the clock: 50%..150% of the base, no RNG needed.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        base.mul_f64(0.5 + f64::from(nanos % 1000) / 1000.0)
    }

    /// Sends a non-stream request and returns the parsed response.
    pub fn chat(&self, p: &Prepared) -> Result<Value, ClientError> {
        let agent = self.agent(p.timeout, true);
        let resp = self.send(p, &agent)?;
        let bytes = resp
            .into_body()
            .into_with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| body_error(e, p))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            base_url: p.base_url.clone(),
            detail: format!("the answer is not JSON ({e})"),
        })
    }

    /// Sends a stream request and relays it to `sink`.
    pub fn chat_stream(
        &self,
        p: &Prepared,
        sink: &mut dyn Sink,
    ) -> Result<StreamSummary, ClientError> {
        let agent = self.agent(p.timeout, false);
        let resp = self.send(p, &agent)?;
        sink.started();
        if !is_event_stream(&resp) {
            // A server that ignored `stream: true` and answered whole.
            return whole_answer(resp, p, sink);
        }
        let mut reader = resp.into_body().into_reader();
        relay(&mut reader, sink, &p.base_url, p.timeout)
    }

    /// `GET {base_url}/models` with the provider's auth.
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
            ClientError::Protocol {
                base_url: provider.base_url.clone(),
                detail: e.message().to_string(),
            }
        })?;
        let agent = self.agent(timeout, true);
        let url = format!("{}/models", provider.base_url);
        let mut req = agent.get(&url);
        for h in p.headers.iter().filter(|h| h.name != "Content-Type") {
            req = req.header(h.name.as_str(), h.value.expose());
        }
        let resp = req.call().map_err(|e| transport_error(e, &p))?;
        if !resp.status().is_success() {
            return Err(status_error(resp));
        }
        let bytes = resp
            .into_body()
            .into_with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| body_error(e, &p))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            base_url: p.base_url.clone(),
            detail: format!("/models did not answer JSON ({e})"),
        })?;
        match v
            .get("data")
            .or_else(|| v.get("models"))
            .and_then(Value::as_array)
        {
            Some(items) => Ok(items.clone()),
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
    let mut parser = sse::Parser::default();
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
        if ev.event == "error" {
            return Err(ClientError::StreamError(error_message(ev.data).0));
        }
        // Matched in place, not moved out: a Delta is large enough that a
        // move per chunk shows in the relay's profile.
        let decoded = self.decoder.decode(ev.data);
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
        self.sink.raw(ev.data).map_err(ClientError::Output)?;
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
        if let Some(f) = &delta.finish_reason {
            self.summary.finish_reason = Some(f.to_string());
        }
        if delta.usage.is_some() {
            self.summary.usage = delta.usage;
        }
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

fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get("retry-after")?.to_str().ok()?.trim();
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Turns a non-2xx response into an error carrying the server's message.
fn status_error(resp: Response) -> ClientError {
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
    let (message, code) = error_message(&body);
    ClientError::Status {
        status,
        reason,
        message,
        code,
    }
}

fn transport_error(e: ureq::Error, p: &Prepared) -> ClientError {
    let base_url = p.base_url.clone();
    match e {
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
        ureq::Error::HostNotFound => ClientError::Connect {
            base_url,
            cause: "host not found (DNS lookup failed)".into(),
        },
        ureq::Error::ConnectionFailed => ClientError::Connect {
            base_url,
            cause: "connection refused".into(),
        },
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ClientError::Timeout {
                base_url,
                secs: p.timeout.as_secs(),
                phase: "",
            },
            io::ErrorKind::ConnectionRefused => ClientError::Connect {
                base_url,
                cause: "connection refused".into(),
            },
            _ => ClientError::Connect {
                base_url,
                cause: io.to_string(),
            },
        },
        ureq::Error::Tls(m) => ClientError::Connect {
            base_url,
            cause: format!("TLS: {m}"),
        },
        ureq::Error::Rustls(r) => ClientError::Connect {
            base_url,
            cause: format!("TLS: {r}"),
        },
        other => ClientError::Connect {
            base_url,
            cause: other.to_string(),
        },
    }
}

fn body_error(e: ureq::Error, p: &Prepared) -> ClientError {
    match e {
        ureq::Error::Timeout(_) => ClientError::Timeout {
            base_url: p.base_url.clone(),
            secs: p.timeout.as_secs(),
            phase: "",
        },
        ureq::Error::BodyExceedsLimit(n) => ClientError::Protocol {
            base_url: p.base_url.clone(),
            detail: format!("the answer is larger than {n} bytes"),
        },
        ureq::Error::Io(io) => read_error(io, &p.base_url, p.timeout),
        other => ClientError::Broken {
            base_url: p.base_url.clone(),
            cause: other.to_string(),
        },
    }
}

fn read_error(e: io::Error, base_url: &str, timeout: Duration) -> ClientError {
    let timed_out = || ClientError::Timeout {
        base_url: base_url.to_string(),
        secs: timeout.as_secs(),
        phase: " waiting for more of the answer",
    };
    // ureq wraps its own errors in io::Error while a body is read.
    let cause = match ureq::Error::from(e) {
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
