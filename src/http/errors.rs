//! Why a request failed, in the words of SPEC §4: status, transport,
//! body and read errors turned into a [`ClientError`] with a hint.

use std::io;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::error::Error;
use crate::http::chunk;
use crate::secret::Masker;

/// What kind of TLS failure, for the hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsKind {
    /// The certificate chain ends at an authority aix does not trust.
    UnknownIssuer,
    /// The certificate has expired or is not valid yet.
    Expired,
    /// The certificate is for another host name.
    WrongHost,
    /// Anything else: often a server that does not speak TLS at all.
    Other,
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
    Tls {
        base_url: String,
        cause: String,
        kind: TlsKind,
    },
    /// The provider's `ca_file` cannot be used; nothing was sent.
    #[error("cannot use the ca_file {path} of provider '{provider}': it {detail}")]
    CaFile {
        provider: String,
        path: String,
        detail: String,
    },
    /// The proxy could not be reached or would not open the tunnel.
    #[error("Connection failed to the proxy {proxy} (for {base_url}): {cause}")]
    Proxy {
        proxy: String,
        base_url: String,
        cause: String,
    },
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
    /// The body ended without the protocol's last event (`end`).
    #[error("the stream from {base_url} ended before {end}; the answer may be cut short")]
    Truncated { base_url: String, end: &'static str },
    #[error("the answer from {base_url} broke off: {cause}")]
    Broken { base_url: String, cause: String },
    #[error("cannot write the answer: {0}")]
    Output(io::Error),
}

impl ClientError {
    /// Whether an alias's next target may be tried after this failure:
    /// the connection failed or broke before an answer, a timeout, a 429
    /// or a 5xx (after this target's own retries).
    pub fn falls_back(&self) -> bool {
        match self {
            ClientError::Connect { .. }
            | ClientError::Dropped { .. }
            | ClientError::Timeout { .. }
            | ClientError::Deadline { .. } => true,
            ClientError::Status { status, .. } => *status == 429 || (500..600).contains(status),
            _ => false,
        }
    }

    /// The user-facing error with hints, for provider `name` and `model`.
    pub fn into_error(self, name: &str, model: &str) -> Error {
        match &self {
            ClientError::Status { status, message, code, .. } if is_model_not_found(*status, message, code.as_deref()) => {
                Error::new(format!("Model '{model}' not found: {message}"))
                    .hint("pick another with --model MODEL")
                    .hint(format!("list what the server offers with `aix provider models {name}`"))
            }
            ClientError::Status { status: 401, .. } => Error::new(self.to_string())
                .hint(format!("set the key with `aix api-key {name}`, or check the variable named by its api_key_env")),
            ClientError::Status { status: 403, .. } => Error::new(self.to_string())
                .hint(format!("the server knows the key but refuses this request: check the key's permissions or the model's access, or set another key with `aix api-key {name}`")),
            ClientError::Status { status: 429, .. } => Error::new(self.to_string())
                .hint("the server is limiting requests and aix's retries ran out: wait and try again, or name a fallback in an alias ([aliases] in providers.toml)"),
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
            ClientError::Tls { kind: TlsKind::UnknownIssuer, .. } => Error::new(self.to_string())
                .hint(format!("if you trust that authority, set the provider's ca_file to its PEM file (`aix provider update {name} --ca-file PATH`)"))
                .hint("or add it to the system's certificate store, or name a PEM bundle in SSL_CERT_FILE"),
            ClientError::Tls { kind: TlsKind::Expired, .. } => Error::new(self.to_string())
                .hint("the server needs a renewed certificate; check this machine's clock too"),
            ClientError::Tls { kind: TlsKind::WrongHost, .. } => Error::new(self.to_string())
                .hint(format!("check the host in the base URL (`aix provider info {name}`): it must be a name the certificate is for")),
            ClientError::Tls { .. } => Error::new(self.to_string())
                .hint(format!("check that the server speaks HTTPS at this port, or use http:// in the base URL (`aix provider info {name}`)")),
            ClientError::CaFile { .. } => Error::new(self.to_string())
                .hint(format!("point it at a readable PEM file with `aix provider update {name} --ca-file PATH`, or drop it with --no-ca-file")),
            ClientError::Proxy { .. } => Error::new(self.to_string())
                .hint(format!("check the proxy: `aix provider info {name}` shows its proxy setting (unset: HTTPS_PROXY, HTTP_PROXY or ALL_PROXY)"))
                .hint(format!("to connect directly, `aix provider update {name} --proxy none`")),
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
        let mut err = self;
        let mask = |t: &mut String| {
            if let std::borrow::Cow::Owned(masked) = m.mask(t) {
                *t = masked;
            }
        };
        match &mut err {
            ClientError::Status { message, code, .. } => {
                mask(message);
                if let Some(c) = code {
                    mask(c);
                }
            }
            ClientError::StreamError(t)
            | ClientError::Protocol { detail: t, .. }
            | ClientError::Request { detail: t, .. }
            | ClientError::Broken { cause: t, .. }
            | ClientError::Connect { cause: t, .. }
            | ClientError::Tls { cause: t, .. }
            | ClientError::Proxy { cause: t, .. } => mask(t),
            ClientError::CrossOriginRedirect { from, to } => {
                mask(from);
                mask(to);
            }
            _ => {}
        }
        err
    }
}

/// Whether an error response means "no such model". Servers disagree:
/// OpenAI answers 404 `model_not_found`, LiteLLM 400 with a message, vLLM
/// 404 with "does not exist".
pub(super) fn is_model_not_found(status: u16, message: &str, code: Option<&str>) -> bool {
    if code == Some("model_not_found") {
        return true;
    }
    let m = message.to_ascii_lowercase();
    // Anthropic: 404 `not_found_error` with "model: NAME".
    if code == Some("not_found_error") && m.contains("model") {
        return true;
    }
    matches!(status, 400 | 404 | 422)
        && m.contains("model")
        && (m.contains("not found")
            || m.contains("does not exist")
            || m.contains("invalid model")
            || m.contains("unknown model")
            || m.contains("not available"))
}

/// The canonical reason phrase for a status.
pub(super) fn reason(status: u16) -> &'static str {
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
        529 => "Overloaded",
        _ => "",
    }
}

/// The server's own words from an error body: the OpenAI `error.message`,
/// FastAPI's `detail`, a bare `message`, or the text itself with any HTML
/// tags dropped, squeezed to one line and cut at 300 characters.
pub fn error_message(body: &[u8]) -> (String, Option<String>) {
    // An error sent as an event stream (`data: {"error": ...}`): its first
    // data line is the JSON to read.
    if let Some(rest) = body.trim_ascii_start().strip_prefix(b"data:") {
        let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
        let (msg, code) = error_message(line.trim_ascii());
        if !msg.is_empty() && !msg.starts_with("data:") {
            return (msg, code);
        }
    }
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
pub(super) fn one_line(s: &str) -> String {
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

pub(super) fn deadline_error(p: &Prepared, max: Duration) -> ClientError {
    ClientError::Deadline {
        base_url: p.base_url.clone(),
        secs: max.as_secs(),
    }
}

/// Turns a non-2xx response into an error carrying the server's message,
/// with the request's secrets masked (before the message is cut short, so
/// no part of a secret survives the cut).
pub(super) fn status_error(resp: Response, masker: &Masker) -> ClientError {
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

/// A failed request as a [`ClientError`]; `proxy` is the proxy the
/// request went through (shown without credentials), if any.
pub(super) fn transport_error(e: ureq::Error, p: &Prepared, proxy: Option<&str>) -> ClientError {
    let base_url = p.base_url.clone();
    let connect = |cause: &str, before_sent: bool| match proxy {
        // Before the tunnel is up, a refused or unknown host is the proxy's.
        Some(proxy) if before_sent => ClientError::Proxy {
            proxy: proxy.to_string(),
            base_url: p.base_url.clone(),
            cause: cause.to_string(),
        },
        _ => ClientError::Connect {
            base_url: p.base_url.clone(),
            cause: cause.to_string(),
            before_sent,
        },
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
                    (p.connect_timeout.as_secs(), " (connecting)")
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
            io::ErrorKind::InvalidData if is_https(&p.url) => {
                match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                    Some(r) => tls_error(base_url, r, &p.url),
                    None => ClientError::Tls {
                        base_url,
                        cause: io.to_string(),
                        kind: TlsKind::Other,
                    },
                }
            }
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
            kind: TlsKind::Other,
        },
        ureq::Error::Rustls(r) => tls_error(base_url, &r, &p.url),
        ureq::Error::ConnectProxyFailed(why) => match proxy {
            Some(proxy) => ClientError::Proxy {
                proxy: proxy.to_string(),
                base_url,
                cause: format!("it did not open the tunnel ({why})"),
            },
            None => connect(&format!("the proxy did not open the tunnel ({why})"), true),
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

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// The host of an absolute URL, without port or brackets.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// A name as rustls presents it (`DnsName("a.example")`,
/// `IpAddress(10.0.0.1)`) without the wrapping.
fn bare_name(n: &str) -> &str {
    let inner = match (n.find('('), n.rfind(')')) {
        (Some(a), Some(b)) if a < b => &n[a + 1..b],
        _ => n,
    };
    inner.trim_matches('"')
}

/// A failed handshake, told by what the user can do about it.
pub(super) fn tls_error(base_url: String, e: &rustls::Error, url: &str) -> ClientError {
    use rustls::CertificateError as C;
    let (kind, cause) = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => (
                TlsKind::UnknownIssuer,
                "the server's certificate is signed by an authority aix does not trust".to_string(),
            ),
            C::Expired | C::ExpiredContext { .. } => (
                TlsKind::Expired,
                "the server's certificate has expired".to_string(),
            ),
            C::NotValidYet | C::NotValidYetContext { .. } => (
                TlsKind::Expired,
                "the server's certificate is not valid yet".to_string(),
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                let presented = match c {
                    C::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
                        let names: Vec<&str> = presented.iter().map(|n| bare_name(n)).collect();
                        format!(" (it names {})", one_line(&names.join(", ")))
                    }
                    _ => String::new(),
                };
                (
                    TlsKind::WrongHost,
                    format!(
                        "the server's certificate is for another name than {}{presented}",
                        url_host(url)
                    ),
                )
            }
            other => (
                TlsKind::Other,
                format!(
                    "the server's certificate was refused ({})",
                    one_line(&format!("{other:?}"))
                ),
            ),
        },
        other => (TlsKind::Other, one_line(&other.to_string())),
    };
    ClientError::Tls {
        base_url,
        cause,
        kind,
    }
}

pub(super) fn body_error(e: ureq::Error, p: &Prepared) -> ClientError {
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
pub(super) fn read_error(e: io::Error, base_url: &str, timeout: Duration) -> ClientError {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // LiteLLM's error for a stream it could not start.
        assert_eq!(
            error_message(b"data: {\"error\": {\"message\": \"Error processing stream start\", \"code\": \"500\"}}\n\ndata: [DONE]\n\n").0,
            "Error processing stream start"
        );
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
        assert!(is_model_not_found(
            404,
            "model: claude-nope",
            Some("not_found_error")
        ));
        assert!(!is_model_not_found(404, "Not Found", None));
        assert!(!is_model_not_found(500, "model not found", None));
    }
}
