//! Sending: one blocking ureq agent per answer timeout, retries with
//! backoff and `Retry-After`, same-origin redirects, deadlines.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;
use crate::notes::Notes;
use crate::provider::Provider;
use crate::secret::{Masker, Secret};

/// Whether two absolute URLs share scheme, host and port.
pub(super) fn same_origin(a: &str, b: &str) -> bool {
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
pub(super) fn join_location(base: &str, location: &str) -> String {
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

pub(super) type Response = ureq::http::Response<ureq::Body>;

/// An agent and the proxy its requests go through (for errors).
struct Wire {
    agent: ureq::Agent,
    /// `scheme://host:port`, never with credentials.
    proxy: Option<String>,
}

/// The proxy for `p`: `none` is no proxy at all, a URL is used as is,
/// unset is the environment's (`ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY`,
/// with `NO_PROXY`), as ureq reads them.
fn proxy_for(p: &Prepared) -> Result<Option<ureq::Proxy>, ClientError> {
    match p.proxy.as_deref() {
        Some("none") => Ok(None),
        Some(url) => ureq::Proxy::new(url)
            .map(Some)
            .map_err(|e| ClientError::Request {
                base_url: p.base_url.clone(),
                detail: format!("the provider's proxy {url} cannot be used ({e})"),
            }),
        None => Ok(ureq::Proxy::try_from_env()),
    }
}

/// A proxy as it may be shown: scheme, host and port, no credentials.
fn shown_proxy(p: &ureq::Proxy) -> String {
    let scheme = p.protocol().to_string().to_ascii_lowercase();
    let host = p.host();
    if host.contains(':') && !host.starts_with('[') {
        format!("{scheme}://[{host}]:{}", p.port())
    } else {
        format!("{scheme}://{host}:{}", p.port())
    }
}

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

    /// The agent for `p`: its connect timeout, its proxy (the
    /// provider's, none, or the environment's) and, for https, the roots
    /// it trusts. A `ca_file` that cannot be used fails here, before
    /// anything is sent.
    fn agent(&self, p: &Prepared, whole_body: bool) -> Result<Wire, ClientError> {
        let timeout = p.timeout;
        let proxy = proxy_for(p)?;
        let mut cfg = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(format!("aix/{}", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(p.connect_timeout))
            .timeout_recv_response(Some(timeout))
            // A stream idle this long also times out.
            .timeout_per_read(Some(timeout))
            .proxy(proxy.clone());
        if whole_body {
            cfg = cfg.timeout_recv_body(Some(timeout));
        }
        if let Some(tls) = super::tls::config(p, &self.notes)? {
            cfg = cfg.tls_config(tls);
        }
        let shown = proxy
            .filter(|px| !p.url.parse().is_ok_and(|u| px.is_no_proxy(&u)))
            .map(|px| shown_proxy(&px));
        Ok(Wire {
            agent: cfg.build().new_agent(),
            proxy: shown,
        })
    }

    /// Sends the request, following same-origin redirects and retrying 429,
    /// 500, 502, 503, 504, 529 (Anthropic's "overloaded") and connections that failed before the request went out, with
    /// jittered backoff, within `p.max_time` overall. Returns a 2xx
    /// response; everything else is an error.
    fn send(&self, p: &Prepared, agent: &Wire) -> Result<Response, ClientError> {
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
                Ok(resp) if matches!(resp.status().as_u16(), 429 | 500 | 502 | 503 | 504 | 529) => {
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
        wire: &Wire,
        body: &[u8],
        left: Option<Duration>,
    ) -> Result<Response, ClientError> {
        let mut url = p.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = wire.agent.post(&url);
            if left.is_some() {
                req = req.config().timeout_global(left).build();
            }
            for h in &p.headers {
                req = req.header(h.name.as_str(), h.value.expose());
            }
            if self.verbose && url != p.url {
                self.notes.note(format!("following a redirect: POST {url}"));
            }
            let resp = req
                .send(body)
                .map_err(|e| transport_error(e, p, wire.proxy.as_deref()))?;
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
        let agent = self.agent(p, false).map_err(|e| e.masked(&masker))?;
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
        let agent = self.agent(p, false).map_err(|e| e.masked(&masker))?;
        let resp = self.send(p, &agent).map_err(|e| e.masked(&masker))?;
        sink.started();
        if !is_event_stream(&resp) {
            // A server that ignored `stream: true` and answered whole.
            return whole_answer(resp, p, sink);
        }
        let mut reader = resp.into_body().into_reader();
        relay_wire(&mut reader, sink, &p.base_url, p.timeout, p.wire).map_err(|e| {
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
        let (v, base_url, masker) =
            self.fetch_json(provider, key, timeout, "/models", None, |b| {
                format!("{b}/models")
            })?;
        match v
            .get("data")
            .or_else(|| v.get("models"))
            .and_then(Value::as_array)
        {
            Some(items) => Ok(items.iter().map(|i| masker.mask_json(i)).collect()),
            None => Err(ClientError::Protocol {
                base_url,
                detail: "/models answered without a \"data\" list".into(),
            }),
        }
    }

    /// A side request to the provider's server (Ollama's `/api/show`,
    /// LiteLLM's `/model/info`): `url(base_url)` with the provider's auth,
    /// query parameters, TLS and proxy, `POST`ing `body` when given, else
    /// `GET`. The answer is whole JSON of at most the usual body size, with
    /// the secrets sent masked.
    pub fn side_json(
        &self,
        provider: &Provider,
        key: Option<&Secret>,
        timeout: Duration,
        what: &str,
        body: Option<&Value>,
        url: impl FnOnce(&str) -> String,
    ) -> Result<Value, ClientError> {
        let (v, _, masker) = self.fetch_json(provider, key, timeout, what, body, url)?;
        Ok(if masker.is_empty() {
            v
        } else {
            masker.mask_json(&v)
        })
    }

    /// One request outside the chat path, answered whole as JSON; `what`
    /// names it in errors. Returns the answer, the base URL and the masker.
    fn fetch_json(
        &self,
        provider: &Provider,
        key: Option<&Secret>,
        timeout: Duration,
        what: &str,
        body: Option<&Value>,
        url: impl FnOnce(&str) -> String,
    ) -> Result<(Value, String, Masker), ClientError> {
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
        let wire = self.agent(&p, true).map_err(|e| e.masked(&masker))?;
        let url = format!("{}{}", url(&provider.base_url), p.query);
        let sent = match body {
            Some(b) => {
                let mut req = wire.agent.post(&url);
                if let Some(max) = p.max_time {
                    req = req.config().timeout_global(Some(max)).build();
                }
                for h in &p.headers {
                    req = req.header(h.name.as_str(), h.value.expose());
                }
                req.send(serde_json::to_vec(b).expect("a Value always serializes"))
            }
            None => {
                let mut req = wire.agent.get(&url);
                if let Some(max) = p.max_time {
                    req = req.config().timeout_global(Some(max)).build();
                }
                for h in p.headers.iter().filter(|h| h.name != "Content-Type") {
                    req = req.header(h.name.as_str(), h.value.expose());
                }
                req.call()
            }
        };
        let resp =
            sent.map_err(|e| transport_error(e, &p, wire.proxy.as_deref()).masked(&masker))?;
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
            detail: format!("{what} did not answer JSON ({e})"),
        })?;
        Ok((v, p.base_url, masker))
    }
}

/// The wait a `Retry-After` asks for: whole or fractional seconds, capped
/// just above [`MAX_RETRY_AFTER`] (so a huge value means "too long"), or
/// `None` for anything else (a negative number, an HTTP date, garbage):
/// then the normal backoff applies.
pub(super) fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get("retry-after")?.to_str().ok()?;
    parse_retry_after(v)
}

pub(super) fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs = v.trim().parse::<f64>().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let cap = MAX_RETRY_AFTER.as_secs_f64() + 1.0;
    Duration::try_from_secs_f64(secs.min(cap)).ok()
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
}
