//! Building a request: URL, headers and body fixed, `${env:...}` resolved,
//! secrets wrapped, so the dry run shows exactly what is sent.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::provider::{AuthType, Provider, Wire, shaping};
use crate::secret::envref;
use crate::secret::resolve;
use crate::secret::{self, Masker, Secret};

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

/// The `max_tokens` a Messages request carries when no limit is
/// configured: Anthropic's API requires one.
pub const MESSAGES_MAX_TOKENS: u64 = 4096;

/// A request ready to send (or to show in a dry run).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub provider: String,
    /// The protocol: how the body was built and how the answer reads.
    pub wire: Wire,
    pub base_url: String,
    pub url: String,
    pub model: String,
    pub headers: Vec<Header>,
    pub body: Value,
    pub stream: bool,
    pub timeout: Duration,
    /// The whole answer must be in within this long (`--max-time`).
    pub max_time: Option<Duration>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// The query every URL of this provider carries (`?a=b&c=d`, or empty).
    pub query: String,
    /// The provider's own proxy (`none`: no proxy at all); the
    /// environment's when unset.
    pub proxy: Option<String>,
    /// Extra trusted roots for TLS, as written (`~/` not yet expanded).
    pub ca_file: Option<String>,
    /// A credential came from `${cmd:...}`: after a 401 it may be fetched
    /// again once (a short-lived token).
    pub refreshable: bool,
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
        if let Some(p) = &self.proxy {
            j["proxy"] = json!(p);
        }
        if let Some(c) = &self.ca_file {
            j["ca_file"] = json!(c);
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
    // The header the key goes in, if aix sends it: a header of that name
    // the provider sets itself wins.
    let auth_header = match provider.auth_type {
        AuthType::Bearer => "Authorization",
        AuthType::XApiKey => "x-api-key",
        AuthType::ApiKey => "",
    };
    let custom_auth = provider
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(auth_header));
    let auth_value = |key: &str| match provider.auth_type {
        AuthType::Bearer => format!("Bearer {key}"),
        _ => key.to_string(),
    };
    let mut key = key.cloned();
    let mut refreshable = false;
    if provider.auth_type.sends_key()
        && !custom_auth
        && let Some(written) = key.take()
    {
        // A key kept elsewhere (`${cmd:...}`, `${keyring:...}`) is read
        // now; a dry run shows the reference (and masks nothing for it).
        let reference = envref::contains_reference(written.expose());
        let (value, sensitive) = if reference && env == EnvRefs::Keep {
            let shown = written.expose().to_string();
            let sensitive = !secret::is_reference_only(&shown);
            (shown, sensitive)
        } else {
            let value = if reference {
                refreshable |= envref::sources(written.expose()).contains(&envref::Source::Cmd);
                let (value, read) = resolve::global().resolve(written.expose()).map_err(|e| {
                    Error::new(format!("the API key of provider '{}': {e}", provider.name))
                        .hint(ref_hint(&e))
                })?;
                env_values.extend(read);
                value
            } else {
                written.expose().to_string()
            };
            if env == EnvRefs::Resolve && value.chars().any(|c| c.is_control()) {
                return Err(Error::new(format!(
                    "the API key of provider '{}' contains a line break or another control character, which a header cannot carry",
                    provider.name
                ))
                .hint(format!(
                    "set it again with `aix api-key {}`, or remove the newline from the variable that holds it",
                    provider.name
                )));
            }
            key = Some(Secret::new(value.clone()));
            (value, true)
        };
        headers.push(Header {
            name: auth_header.into(),
            value: Secret::new(auth_value(&value)),
            sensitive,
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
                let (value, read) = resolve::global().resolve(written).map_err(|e| {
                    Error::new(format!(
                        "header {name} of provider '{}': {e}",
                        provider.name
                    ))
                    .hint(ref_hint(&e))
                })?;
                check_header_value(&provider.name, name, written, &value)?;
                refreshable |= envref::sources(written).contains(&envref::Source::Cmd);
                env_values.extend(read);
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
    let wire = provider.wire.unwrap_or_default();
    let mut body = base_body(wire, req);
    // The provider's extra fields first, then what this run asks for, so
    // that a flag (`--max-tokens`) wins over the provider's default.
    if let Some(extra) = &provider.extra_body {
        let extra = match env {
            EnvRefs::Keep => Value::Object(extra.clone()),
            EnvRefs::Resolve => resolve_json(&provider.name, extra, &mut env_values)?,
        };
        shaping::deep_merge(&mut body, &extra);
    }
    if wire == Wire::Chat && req.stream && provider.stream_usage != Some(false) {
        shaping::deep_merge(
            &mut body,
            &json!({"stream_options": {"include_usage": true}}),
        );
    }
    if let Some(n) = req.max_tokens {
        let param = match wire {
            Wire::Chat => provider.max_tokens_param.unwrap_or_default().as_str(),
            Wire::Responses => "max_output_tokens",
            Wire::Messages => "max_tokens",
        };
        body[param] = json!(n);
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    let query = query_string(&provider.query_params);
    Ok(Prepared {
        provider: provider.name.clone(),
        wire,
        base_url: provider.base_url.clone(),
        url: format!("{}{}{query}", provider.base_url, wire.path()),
        model: req.model.clone(),
        headers,
        body,
        stream: req.stream,
        timeout,
        max_time: provider.max_time_secs.map(Duration::from_secs),
        connect_timeout: provider
            .connect_timeout_secs
            .map_or(super::CONNECT_TIMEOUT, Duration::from_secs),
        query,
        proxy: provider.proxy.clone(),
        ca_file: provider.ca_file.clone(),
        refreshable,
        key,
        env_values,
    })
}

/// The body's own fields for `wire`, before `extra_body` and the run's
/// settings: the conversation in the protocol's shape. System messages
/// become the protocol's system text (`instructions`, `system`), joined
/// by a blank line, where the protocol has one.
fn base_body(wire: Wire, req: &ChatRequest) -> Value {
    let turn = |m: &Message| json!({"role": m.role, "content": m.content});
    if wire == Wire::Chat {
        let messages: Vec<Value> = req.messages.iter().map(turn).collect();
        return json!({"model": req.model, "messages": messages, "stream": req.stream});
    }
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == "system")
        .map(|m| m.content.as_str())
        .collect();
    let turns: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| m.role != "system")
        .map(turn)
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    let system = (!system.is_empty()).then(|| json!(system.join("\n\n")));
    match wire {
        Wire::Responses => {
            body.insert("input".into(), Value::Array(turns));
            if let Some(s) = system {
                body.insert("instructions".into(), s);
            }
        }
        _ => {
            if let Some(s) = system {
                body.insert("system".into(), s);
            }
            body.insert("messages".into(), Value::Array(turns));
            // Required by the API; extra_body or the run's limit replace it.
            body.insert("max_tokens".into(), json!(MESSAGES_MAX_TOKENS));
        }
    }
    body.insert("stream".into(), json!(req.stream));
    Value::Object(body)
}

/// What to do about a reference that gave no value.
pub fn ref_hint(e: &envref::RefError) -> &'static str {
    match e {
        envref::RefError::Unset(_) => {
            "export the variable before running, or change the provider's reference"
        }
        _ => {
            "`aix provider check NAME` tries every reference of a provider; docs/secrets.md describes each source"
        }
    }
}

/// What a query component may hold unencoded: RFC 3986's unreserved
/// characters.
const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `?k=v&...` with each name and value percent-encoded, or `""`.
pub fn query_string(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.extend(percent_encoding::utf8_percent_encode(k, QUERY));
        out.push('=');
        out.extend(percent_encoding::utf8_percent_encode(v, QUERY));
    }
    out
}

/// `extra_body` with every `${env:VAR}` in its strings read from the
/// environment; the values read are kept for masking.
fn resolve_json(
    provider: &str,
    extra: &Map<String, Value>,
    read: &mut Vec<Secret>,
) -> Result<Value, Error> {
    let mut body = Value::Object(extra.clone());
    let mut path = vec!["extra_body".to_string()];
    shaping::each_string_mut(&mut body, &mut path, &mut |at, s| {
        if envref::contains_reference(s) {
            let (value, got) = resolve::global()
                .resolve(s)
                .map_err(|e| (at.join("."), e))?;
            read.extend(got);
            *s = value;
        }
        Ok(())
    })
    .map_err(|(at, e)| {
        Error::new(format!("{at} of provider '{provider}': {e}")).hint(ref_hint(&e))
    })?;
    Ok(body)
}

/// Refuses a header value that cannot go on the wire (a line break or
/// another control character), naming the header, never the value.
pub(super) fn check_header_value(
    provider: &str,
    name: &str,
    written: &str,
    value: &str,
) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let prep = |p: &Provider, refs| prepare(p, Some(&key), &req, Duration::from_secs(9), refs);
        let shown = prep(&p, EnvRefs::Keep).unwrap();
        let j = shown.to_json(false);
        assert!(!j.to_string().contains("canary"), "{j}");
        assert_eq!(j["headers"]["Authorization"], "(sensitive)");
        assert_eq!(j["headers"]["X-Key"], "${env:AIX_TEST_UNSET_VAR_1}");
        assert_eq!(j["url"], "http://h/v1/chat/completions");
        assert_eq!(j["body"]["stream_options"]["include_usage"], true);
        assert_eq!(j["body"]["max_tokens"], 5);
        let err = prep(&p, EnvRefs::Resolve).unwrap_err();
        assert!(
            err.message().contains("AIX_TEST_UNSET_VAR_1 is not set"),
            "{}",
            err.message()
        );
        p.auth_type = AuthType::ApiKey;
        p.headers.pop();
        let sent = prep(&p, EnvRefs::Resolve).unwrap();
        assert!(
            sent.headers.iter().all(|h| h.name != "Authorization"),
            "api-key auth sends none"
        );
    }

    #[test]
    fn each_wire_has_its_path_body_and_auth() {
        let mut p = Provider::new("p", "http://h/v1");
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![
                Message::new("system", "be brief"),
                Message::new("user", "hi"),
                Message::new("assistant", "hello"),
                Message::new("user", "again"),
            ],
            stream: true,
            max_tokens: None,
            temperature: Some(0.5),
        };
        let key = Secret::new("sk-wire-canary");
        let prep = |p: &Provider, req: &ChatRequest| {
            prepare(p, Some(&key), req, Duration::from_secs(9), EnvRefs::Resolve).unwrap()
        };
        p.wire = Some(Wire::Responses);
        let sent = prep(&p, &req);
        assert_eq!(sent.url, "http://h/v1/responses");
        assert_eq!(
            sent.body,
            json!({
                "model": "m",
                "input": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"},
                    {"role": "user", "content": "again"}
                ],
                "instructions": "be brief",
                "stream": true,
                "temperature": 0.5
            })
        );
        let limited = ChatRequest {
            max_tokens: Some(9),
            ..req.clone()
        };
        assert_eq!(prep(&p, &limited).body["max_output_tokens"], 9);
        p.wire = Some(Wire::Messages);
        p.auth_type = AuthType::XApiKey;
        let sent = prep(&p, &req);
        assert_eq!(sent.url, "http://h/v1/messages");
        let keys: Vec<&str> = sent
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "model",
                "system",
                "messages",
                "max_tokens",
                "stream",
                "temperature"
            ]
        );
        assert_eq!(sent.body["max_tokens"], MESSAGES_MAX_TOKENS);
        assert_eq!(sent.body["messages"].as_array().unwrap().len(), 3);
        assert_eq!(prep(&p, &limited).body["max_tokens"], 9);
        p.extra_body = json!({"max_tokens": 100}).as_object().cloned();
        assert_eq!(
            prep(&p, &req).body["max_tokens"],
            100,
            "extra_body over the default"
        );
        let auth: Vec<_> = sent
            .headers
            .iter()
            .filter(|h| h.sensitive)
            .map(|h| (h.name.as_str(), h.value.expose()))
            .collect();
        assert_eq!(auth, [("x-api-key", "sk-wire-canary")]);
        assert_eq!(sent.to_json(false)["headers"]["x-api-key"], "(sensitive)");
        assert_eq!(sent.masker().mask("sk-wire-canary"), "(sensitive)");
    }
}
