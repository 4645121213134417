//! The one provider model.
//!
//! CLI flags, config.json entries and (later) manifest entries all become a
//! [`Provider`] and pass through [`Provider::validate`], so a value refused
//! in one place is refused everywhere, with the same words. Field checks are
//! plain functions so that clap can use them as value parsers and report bad
//! arguments as usage errors.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use crate::secret::envref;

pub mod args;
pub mod fields;
pub mod models;
pub mod presets;
pub mod shaping;

/// How a provider authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthType {
    /// `Authorization: Bearer <key>` when a key is set.
    #[default]
    Bearer,
    /// No automatic auth: the provider's headers carry the credential.
    #[value(name = "api-key")]
    ApiKey,
    /// `x-api-key: <key>` when a key is set (Anthropic).
    #[value(name = "x-api-key")]
    XApiKey,
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Bearer => "bearer",
            AuthType::ApiKey => "api-key",
            AuthType::XApiKey => "x-api-key",
        }
    }

    /// Whether aix itself sends the provider's key (as a header).
    pub fn sends_key(self) -> bool {
        self != AuthType::ApiKey
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "bearer" => Ok(AuthType::Bearer),
            "api-key" => Ok(AuthType::ApiKey),
            "x-api-key" => Ok(AuthType::XApiKey),
            other => {
                let hint = match other.to_ascii_lowercase().replace('_', "-").as_str() {
                    "bearer" => " (did you mean \"bearer\"?)",
                    "api-key" | "apikey" => " (did you mean \"api-key\"?)",
                    "x-api-key" | "x-apikey" => " (did you mean \"x-api-key\"?)",
                    _ => "",
                };
                Err(format!(
                    "must be \"bearer\", \"api-key\" or \"x-api-key\", not {other:?}{hint}"
                ))
            }
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A custom (or built-in, once resolved) OpenAI-compatible endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub name: String,
    /// Absolute http(s) URL without a trailing `/`.
    pub base_url: String,
    pub default_model: Option<String>,
    /// In the order given; names are unique ignoring case.
    pub headers: Vec<(String, String)>,
    pub auth_type: AuthType,
    /// Variable holding the key when config.json has none.
    pub api_key_env: Option<String>,
    /// Answer timeout; the client's default applies when unset.
    pub timeout_secs: Option<u64>,
    /// Total deadline for a whole answer; none when unset.
    pub max_time_secs: Option<u64>,
    /// Added to the query of every request URL, in the order given.
    pub query_params: Vec<(String, String)>,
    /// Deep-merged into every chat request body.
    pub extra_body: Option<Map<String, Value>>,
    /// The body key a token limit is sent as (`max_tokens` when unset).
    pub max_tokens_param: Option<MaxTokensParam>,
    /// Whether streams ask for a usage chunk (yes when unset).
    pub stream_usage: Option<bool>,
    /// The protocol spoken (chat completions when unset).
    pub wire: Option<Wire>,
    /// Extra trusted roots (a PEM file), beside the bundled and system ones.
    pub ca_file: Option<String>,
    /// The proxy for this provider's requests; `none` bypasses the
    /// environment's.
    pub proxy: Option<String>,
    /// Seconds to wait for a connection; the client's default when unset.
    pub connect_timeout_secs: Option<u64>,
    /// The preset whose defaults filled the fields this entry left out.
    pub preset: Option<String>,
    /// The models table: key → settings (see [`models`]).
    pub models: Option<Map<String, Value>>,
    /// The key as a reference (`${cmd:pass show work}`), never a literal.
    pub api_key: Option<String>,
}

/// The body key a token limit goes under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxTokensParam {
    /// `max_tokens`: what most servers read (the default).
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: what OpenAI's reasoning models require.
    MaxCompletionTokens,
}

impl MaxTokensParam {
    pub fn as_str(self) -> &'static str {
        match self {
            MaxTokensParam::MaxTokens => "max_tokens",
            MaxTokensParam::MaxCompletionTokens => "max_completion_tokens",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "max_tokens" => Ok(MaxTokensParam::MaxTokens),
            "max_completion_tokens" => Ok(MaxTokensParam::MaxCompletionTokens),
            other => {
                let hint = match other.to_ascii_lowercase().replace('-', "_").as_str() {
                    "max_tokens" => " (did you mean \"max_tokens\"?)",
                    "max_completion_tokens" => " (did you mean \"max_completion_tokens\"?)",
                    _ => "",
                };
                Err(format!(
                    "must be \"max_tokens\" or \"max_completion_tokens\", not {other:?}{hint}"
                ))
            }
        }
    }
}

/// The protocol a provider speaks: the request's path and body, and how
/// its answer and events read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wire {
    /// `POST /chat/completions` (OpenAI's chat completions; the default).
    #[default]
    Chat,
    /// `POST /responses` (OpenAI's Responses API).
    Responses,
    /// `POST /messages` (Anthropic's Messages API).
    Messages,
}

impl Wire {
    pub const ALL: [Wire; 3] = [Wire::Chat, Wire::Responses, Wire::Messages];

    pub fn as_str(self) -> &'static str {
        match self {
            Wire::Chat => "chat",
            Wire::Responses => "responses",
            Wire::Messages => "messages",
        }
    }

    /// The path after the base URL that answers are asked at.
    pub fn path(self) -> &'static str {
        match self {
            Wire::Chat => "/chat/completions",
            Wire::Responses => "/responses",
            Wire::Messages => "/messages",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(w) = Wire::ALL.into_iter().find(|w| w.as_str() == s) {
            return Ok(w);
        }
        let lower = s.trim().to_ascii_lowercase();
        let hint = match lower.as_str() {
            "chat" | "chat_completions" | "chat-completions" | "completions" => {
                " (did you mean \"chat\"?)"
            }
            "responses" | "response" => " (did you mean \"responses\"?)",
            "messages" | "message" | "anthropic" => " (did you mean \"messages\"?)",
            _ => "",
        };
        Err(format!(
            "must be \"chat\", \"responses\" or \"messages\", not {s:?}{hint}"
        ))
    }
}

/// A field that failed validation: `field` is the field's name (or a path
/// inside one provider); callers add the provider and file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Invalid {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            message: message.into(),
            hint: None,
        }
    }
}

impl From<&fields::Problem> for Invalid {
    fn from(p: &fields::Problem) -> Self {
        Invalid {
            field: p.path.join("."),
            message: p.message.clone(),
            hint: p.hint.clone(),
        }
    }
}

pub const MAX_NAME_LEN: usize = 64;
const MAX_HEADER_VALUE_LEN: usize = 8 * 1024;
const MAX_MODEL_LEN: usize = 256;
pub const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

/// Checks a provider name: 1–64 chars of `A-Z a-z 0-9 . _ -`.
pub fn validate_name(name: &str) -> Result<(), String> {
    let shown = crate::output::clip(name, 80);
    if name.is_empty() {
        return Err("provider name is empty".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "provider name is longer than {MAX_NAME_LEN} characters"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        let hint = if name.starts_with("custom:") {
            " (give the bare name; `custom:` is only for addressing it)"
        } else {
            ""
        };
        return Err(format!(
            "provider name {shown:?} has {bad:?}; use only letters, digits, '.', '_' and '-'{hint}"
        ));
    }
    Ok(())
}

/// clap value parser for provider names given to commands that create one.
pub fn parse_name(name: &str) -> Result<String, String> {
    validate_name(name).map(|()| name.to_string())
}

/// Checks a base URL and returns it normalized: scheme lower-cased, trailing
/// `/` dropped. Requests go to `{base_url}/chat/completions`, so a query or
/// fragment could never work and is refused; credentials in the URL would be
/// printed everywhere the URL is, so they are refused too.
pub fn normalize_base_url(input: &str) -> Result<String, String> {
    normalized_base_url(input).map(std::borrow::Cow::into_owned)
}

/// [`normalize_base_url`] that also refuses a base URL that already ends
/// in an endpoint aix appends (`/chat/completions`, `/models`): requests
/// would go to `.../chat/completions/chat/completions`. The rule of the
/// `base_url` field, wherever it is written.
pub fn parse_base_url_arg(input: &str) -> Result<String, String> {
    checked_base_url(input).map(std::borrow::Cow::into_owned)
}

pub(crate) fn checked_base_url(input: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    let url = normalized_base_url(input)?;
    for endpoint in ["/chat/completions", "/models"] {
        if let Some(base) = url.strip_suffix(endpoint)
            && base
                .split_once("://")
                .is_some_and(|(_, rest)| !rest.is_empty())
        {
            return Err(format!(
                "the base URL ends in {endpoint}, which aix appends itself; give the part before it: {base}"
            ));
        }
    }
    Ok(url)
}

/// A base URL as an error may show it: cut at the first space or control
/// character, credentials and any query or fragment left out, clipped.
fn shown_url(s: &str) -> String {
    let cut = s
        .find(|c: char| c.is_whitespace() || c.is_control())
        .map_or(s, |i| &s[..i]);
    let (scheme, rest) = cut.split_once("://").map_or(("", cut), |(a, b)| (a, b));
    let (authority, path) = rest
        .find('/')
        .map_or((rest, ""), |i| (&rest[..i], &rest[i..]));
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("(credentials)@{host}"),
        None => authority.to_string(),
    };
    let path = match path.find(['?', '#']) {
        Some(i) => format!("{}{}...", &path[..i], &path[i..i + 1]),
        None => path.to_string(),
    };
    let sep = if scheme.is_empty() { "" } else { "://" };
    crate::output::clip(&format!("{scheme}{sep}{authority}{path}"), 100).into_owned()
}

/// A URL shown in an error as [`shown_url`] makes it (quoted), when the
/// error is formatted.
struct Shown<'a>(&'a str);

impl std::fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", shown_url(self.0))
    }
}

/// `s.split_once("://")`, by a byte search for `:` (a substring search is
/// set up anew on every call, and this runs for every provider read).
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b':', &b[from..]) {
        let at = from + i;
        if b[at + 1..].starts_with(b"//") {
            return Some((&s[..at], &s[at + 3..]));
        }
        from = at + 1;
    }
    None
}

/// [`normalize_base_url`] without allocating when `input` is already in
/// normal form (the common case when reading config.json or a manifest).
pub(crate) fn normalized_base_url(input: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    let s = input.trim();
    // What errors may repeat: never credentials, a query (it may hold a
    // key) or what follows a space or control character. Made only when
    // an error is (this runs for every provider read).
    let shown = Shown(s);
    if s.len() > 2048 {
        return Err(format!(
            "base URL {:?} is longer than 2048 bytes",
            crate::output::clip(s, 80)
        ));
    }
    if s.is_empty() {
        return Err("base URL is empty".into());
    }
    let plain = s.bytes().all(|b| b > b' ' && b != 0x7f && b < 0x80);
    if !plain && s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "base URL {shown:?}... contains spaces or control characters (not repeated here)"
        ));
    }
    let Some((scheme, rest)) = split_scheme(s) else {
        return Err(format!(
            "base URL {shown:?} is not absolute; write it as http://HOST[:PORT]/PATH or https://..."
        ));
    };
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else if scheme.eq_ignore_ascii_case("http") {
        "http"
    } else {
        return Err(format!(
            "base URL {shown:?} uses {}://; only http:// and https:// are supported",
            scheme.to_ascii_lowercase()
        ));
    };
    // (Byte searches: every character sought is ASCII, so they find what a
    // search by characters would.)
    let split = memchr::memchr3(b'/', b'?', b'#', rest.as_bytes()).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.contains('@') {
        return Err(format!(
            "base URL {:?} contains credentials; put the key in `aix api-key NAME` or a header instead",
            format!("{scheme}://(credentials)@...")
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((inside, after)) = v6.split_once(']') else {
            return Err(format!(
                "base URL {shown:?} has an unclosed '[' in its host"
            ));
        };
        if inside.is_empty()
            || !inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(format!("base URL {shown:?} has an invalid IPv6 host"));
        }
        match after {
            "" => (inside, None),
            p if p.starts_with(':') => (inside, Some(&p[1..])),
            _ => return Err(format!("base URL {shown:?} has text after its IPv6 host")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("base URL {shown:?} has no host"));
    }
    if !authority.starts_with('[')
        && !host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
    {
        return Err(format!("base URL {shown:?} has an invalid host {host:?}"));
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 && port.bytes().all(|c| c.is_ascii_digit()) => {}
            _ => return Err(format!("base URL {shown:?} has an invalid port {port:?}")),
        }
    }
    if let Some(at) = memchr::memchr2(b'?', b'#', path.as_bytes()) {
        // The query may hold a key (`?key=...`): show only what precedes it.
        return Err(format!(
            "base URL {:?} has a query or fragment; aix appends /chat/completions to it, so give only the path (query parameters go in query_params: --query KEY=VALUE)",
            format!(
                "{scheme}://{authority}{}{}...",
                &path[..at],
                &path[at..at + 1]
            )
        ));
    }
    let path = path.trim_end_matches('/');
    let len = scheme.len() + 3 + authority.len() + path.len();
    if s.len() == len && input.len() == len && s.starts_with(scheme) {
        return Ok(std::borrow::Cow::Borrowed(input));
    }
    Ok(std::borrow::Cow::Owned(format!(
        "{scheme}://{authority}{path}"
    )))
}

/// Whether `name` is a valid HTTP header name (RFC 9110 token).
pub fn validate_header_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("header name is empty".into());
    }
    if let Some(bad) = name.chars().find(|&c| !is_token_char(c)) {
        return Err(format!(
            "header name {:?} has {bad:?}; names are letters, digits and !#$%&'*+-.^_`|~",
            crate::output::clip(name, 80)
        ));
    }
    // aix frames the body itself: a fixed length or encoding given here
    // would break every request.
    if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding")
    {
        return Err(format!(
            "header {name} is set by aix for each request and cannot be given"
        ));
    }
    Ok(())
}

/// Whether `value` may be sent as a header value: no CR, LF, NUL or other
/// control characters (tab allowed), well-formed `${env:...}` references.
/// Messages never repeat the value: it may be a credential.
pub fn validate_header_value(name: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_HEADER_VALUE_LEN {
        return Err(format!(
            "value of header {:?} is longer than {MAX_HEADER_VALUE_LEN} bytes",
            crate::output::clip(name, 80)
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|&c| (c.is_control() && c != '\t') || c == '\u{7f}')
    {
        let what = match bad {
            '\r' => "a carriage return (CR)".to_string(),
            '\n' => "a line feed (LF)".to_string(),
            '\0' => "a NUL byte".to_string(),
            c => format!("the control character U+{:04X}", c as u32),
        };
        return Err(format!("value of header {name:?} contains {what}"));
    }
    envref::check(value).map_err(|e| format!("value of header {name:?}: {e}"))
}

/// Parses a `--header "Key:value"` argument: split at the first `:`, both
/// sides trimmed, then validated.
pub fn parse_header_arg(arg: &str) -> Result<(String, String), String> {
    let Some((name, value)) = arg.split_once(':') else {
        return Err("expected KEY:VALUE, e.g. --header \"X-Title:aix\"".into());
    };
    let (name, value) = (name.trim(), value.trim());
    // A malformed name may be a pasted credential ("Bearer sk-...:x"), so
    // this message, unlike the manifest's, does not repeat it.
    if let Err(m) = validate_header_name(name) {
        return Err(match name.chars().find(|c| !is_token_char(*c)) {
            // Only valid characters: the message is about the name itself.
            None if !name.is_empty() => m,
            None => "header name is empty".into(),
            Some(bad) => format!(
                "header name has {}; names are letters, digits and !#$%&'*+-.^_`|~",
                describe_char(bad)
            ),
        });
    }
    validate_header_value(name, value)?;
    Ok((name.to_string(), value.to_string()))
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '#'
                | '$'
                | '%'
                | '&'
                | '\''
                | '*'
                | '+'
                | '-'
                | '.'
                | '^'
                | '_'
                | '`'
                | '|'
                | '~'
        )
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_control() || !c.is_ascii() => format!("the character U+{:04X}", c as u32),
        c => format!("{c:?}"),
    }
}

/// Checks an environment variable name given for `api_key_env`.
pub fn parse_env_var(name: &str) -> Result<String, String> {
    if envref::is_var_name(name) {
        Ok(name.to_string())
    } else {
        // Not repeated: a key pasted here by mistake must not be echoed.
        Err(
            "not a variable name (letters, digits and '_', not starting with a digit); give the NAME of the variable that holds the key"
                .into(),
        )
    }
}

/// Checks a model name: non-empty, printable, bounded.
pub fn parse_model(model: &str) -> Result<String, String> {
    if model.trim().is_empty() {
        return Err("model name is empty".into());
    }
    if model.len() > MAX_MODEL_LEN {
        return Err(format!("model name is longer than {MAX_MODEL_LEN} bytes"));
    }
    if model.chars().any(char::is_control) {
        return Err("model name contains control characters".into());
    }
    Ok(model.to_string())
}

/// Checks a timeout in seconds (the rule of every `*_secs` field).
pub fn parse_timeout(secs: &str) -> Result<u64, String> {
    fields::check_secs(secs.parse().ok(), &format!("{secs:?}"))
}

impl Provider {
    /// A provider with only the required fields set.
    pub fn new(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        Provider {
            name: name.into(),
            base_url: base_url.into(),
            default_model: None,
            headers: Vec::new(),
            auth_type: AuthType::Bearer,
            api_key_env: None,
            timeout_secs: None,
            max_time_secs: None,
            query_params: Vec::new(),
            extra_body: None,
            max_tokens_param: None,
            stream_usage: None,
            wire: None,
            ca_file: None,
            proxy: None,
            connect_timeout_secs: None,
            preset: None,
            models: None,
            api_key: None,
        }
    }

    /// Checks every field; the first problem is returned.
    pub fn validate(&self) -> Result<(), Invalid> {
        validate_name(&self.name).map_err(|m| Invalid::new("name", m))?;
        for f in fields::FIELDS {
            let Some(value) = (f.get)(self) else {
                if f.required {
                    return Err(Invalid::new(f.name, "is missing"));
                }
                continue;
            };
            match f.check(&value) {
                Err(problems) => return Err(Invalid::from(&problems[0])),
                // Values are kept in normal form; one that is not was not
                // checked by the path that built this provider. (A value
                // check borrows is the value itself: only one it made
                // can differ.)
                Ok(Cow::Owned(normal)) if normal != value => {
                    return Err(Invalid::new(
                        f.name,
                        format!("must be written as {}", f.text(&normal, true)),
                    ));
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// Reads a config.json `custom_providers` entry, checking every field
    /// with the rules of [`fields::FIELDS`]. Unknown fields are ignored
    /// here and preserved by [`Provider::to_json`].
    pub fn from_json(name: &str, entry: &Value) -> Result<Provider, Invalid> {
        validate_name(name).map_err(|m| Invalid::new("name", m))?;
        if let Value::Object(obj) = entry {
            for (f, value) in fields::FIELDS.iter().zip(fields::values_of(obj)) {
                let Some(value) = value else {
                    continue;
                };
                match f.check(value) {
                    Err(problems) => return Err(Invalid::from(&problems[0])),
                    Ok(Cow::Owned(normal)) if normal != *value => {
                        return Err(Invalid::new(
                            f.name,
                            format!("must be written as {}", f.text(&normal, true)),
                        ));
                    }
                    Ok(_) => {}
                }
            }
        }
        Provider::from_json_typed(name, entry)
    }

    /// [`Provider::from_json`] without the value checks, for entries whose
    /// values were already checked with the same rules (a manifest after
    /// `validate`): only the types are checked here.
    pub fn from_json_typed(name: &str, entry: &Value) -> Result<Provider, Invalid> {
        let Value::Object(obj) = entry else {
            return Err(Invalid::new(
                "",
                format!("must be an object, not {}", type_name(entry)),
            ));
        };
        let mut p = Provider::new(name, "");
        let values = fields::values_of(obj);
        let preset = presets::of_values(&values);
        for (f, &value) in fields::FIELDS.iter().zip(&values) {
            match value {
                None if f.required && preset.is_none_or(|p| p.value(f).is_none()) => {
                    return Err(Invalid::from(&fields::missing(f, preset)));
                }
                None => {}
                Some(v) => {
                    if let Some(problem) = fields::type_problem(f, v) {
                        return Err(Invalid::from(&problem));
                    }
                }
            }
            (f.set)(&mut p, value);
        }
        if preset.is_some() {
            presets::fill(&mut p, &|f| obj.get(f.name).is_some_and(|v| !v.is_null()));
        }
        Ok(p)
    }

    /// The config.json entry for this provider. Fields that other tools
    /// added to `existing` keep their value and place.
    pub fn to_json(&self, existing: Option<&Value>) -> Value {
        let mut obj = match existing {
            Some(Value::Object(o)) => o.clone(),
            _ => Map::new(),
        };
        for f in fields::FIELDS {
            match f.value(self) {
                Some(v) => {
                    obj.insert(f.name.to_string(), v);
                }
                None => {
                    obj.remove(f.name);
                }
            }
        }
        Value::Object(obj)
    }
}

pub use fields::type_name;

impl Provider {
    /// Every value of this provider that holds a reference, with where it
    /// is (`headers.X-Key`, `api_key`, `extra_body.user`,
    /// `models.big.extra_body.x`).
    pub fn references(&self) -> Vec<(Vec<String>, String)> {
        let mut out = Vec::new();
        if let Some(k) = &self.api_key {
            out.push((vec!["api_key".to_string()], k.clone()));
        }
        for (k, v) in &self.headers {
            if envref::contains_reference(v) {
                out.push((vec!["headers".to_string(), k.clone()], v.clone()));
            }
        }
        for (field, table) in [("extra_body", &self.extra_body), ("models", &self.models)] {
            for (k, v) in table.iter().flatten() {
                let _ = shaping::each_string(
                    v,
                    &mut vec![field.to_string(), k.clone()],
                    &mut |path, s| {
                        if envref::contains_reference(s) {
                            out.push((path.to_vec(), s.to_string()));
                        }
                        Ok::<(), ()>(())
                    },
                );
            }
        }
        out
    }
}

/// A well-known OpenAI-compatible service, addressed without `custom:`.
#[derive(Debug)]
pub struct BuiltIn {
    pub name: &'static str,
    pub base_url: &'static str,
    pub key_env: &'static str,
    pub default_model: Option<&'static str>,
}

/// The built-in providers. Default models are set only where the service
/// documents a stable alias; elsewhere `--model` is asked for.
pub static BUILTINS: &[BuiltIn] = &[
    BuiltIn {
        name: "openai",
        base_url: "https://api.openai.com/v1",
        key_env: "OPENAI_API_KEY",
        default_model: Some("gpt-4o-mini"),
    },
    BuiltIn {
        name: "anthropic",
        base_url: "https://api.anthropic.com/v1",
        key_env: "ANTHROPIC_API_KEY",
        default_model: None,
    },
    BuiltIn {
        name: "deepseek",
        base_url: "https://api.deepseek.com/v1",
        key_env: "DEEPSEEK_API_KEY",
        default_model: Some("deepseek-chat"),
    },
    BuiltIn {
        name: "fireworks",
        base_url: "https://api.fireworks.ai/inference/v1",
        key_env: "FIREWORKS_API_KEY",
        default_model: None,
    },
    BuiltIn {
        name: "gemini",
        base_url: "https://generativelanguage.googleapis.com/v1beta/openai",
        key_env: "GEMINI_API_KEY",
        default_model: None,
    },
    BuiltIn {
        name: "groq",
        base_url: "https://api.groq.com/openai/v1",
        key_env: "GROQ_API_KEY",
        default_model: None,
    },
    BuiltIn {
        name: "mistral",
        base_url: "https://api.mistral.ai/v1",
        key_env: "MISTRAL_API_KEY",
        default_model: Some("mistral-small-latest"),
    },
    BuiltIn {
        name: "openrouter",
        base_url: "https://openrouter.ai/api/v1",
        key_env: "OPENROUTER_API_KEY",
        default_model: None,
    },
    BuiltIn {
        name: "perplexity",
        base_url: "https://api.perplexity.ai",
        key_env: "PERPLEXITY_API_KEY",
        default_model: Some("sonar"),
    },
    BuiltIn {
        name: "together",
        base_url: "https://api.together.xyz/v1",
        key_env: "TOGETHER_API_KEY",
        default_model: None,
    },
    BuiltIn {
        name: "xai",
        base_url: "https://api.x.ai/v1",
        key_env: "XAI_API_KEY",
        default_model: None,
    },
];

/// The built-in provider with this name, if any.
pub fn builtin(name: &str) -> Option<&'static BuiltIn> {
    BUILTINS.iter().find(|b| b.name == name)
}

impl BuiltIn {
    /// The built-in as a [`Provider`], so the rest of aix sees one model.
    /// A built-in with a preset of the same name gets that preset's
    /// request shaping (OpenAI's `max_completion_tokens`).
    pub fn to_provider(&self) -> Provider {
        let mut p = Provider {
            default_model: self.default_model.map(String::from),
            api_key_env: Some(self.key_env.to_string()),
            preset: presets::get(self.name).map(|pr| pr.name.to_string()),
            ..Provider::new(self.name, self.base_url)
        };
        presets::fill(&mut p, &|f| matches!(f.name, "base_url" | "api_key_env"));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        for ok in ["a", "ollama", "my.host_1-x", &"x".repeat(64)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "custom:x", "ü", "a/b", "x\n", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("custom:x").unwrap_err().contains("bare name"));
    }

    #[test]
    fn split_scheme_is_split_once() {
        for s in [
            "",
            ":",
            "://",
            "a://b",
            "a:b://c",
            "a:/b://c",
            "http:",
            "http:/",
            "x:y:z",
            "é://ü",
            "::///",
            "a://b://c",
        ] {
            assert_eq!(split_scheme(s), s.split_once("://"), "{s:?}");
        }
    }

    #[test]
    fn token_chars_are_the_listed_ones() {
        for c in (0u8..=255).map(char::from).chain(['é', '\u{2028}']) {
            let listed = c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            assert_eq!(is_token_char(c), listed, "{c:?}");
        }
    }

    #[test]
    fn base_urls() {
        let ok = [
            ("http://localhost:11434/v1/", "http://localhost:11434/v1"),
            ("HTTPS://api.example.com/v1", "https://api.example.com/v1"),
            ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
            ("http://[::1]:8080/v1//", "http://[::1]:8080/v1"),
            ("  https://x.y/v1  ", "https://x.y/v1"),
            ("https://x.y/", "https://x.y"),
        ];
        for (input, want) in ok {
            assert_eq!(normalize_base_url(input).as_deref(), Ok(want), "{input}");
        }
        let bad = [
            ("", "empty"),
            ("localhost:11434", "not absolute"),
            ("ftp://x/v1", "only http"),
            ("http:///v1", "no host"),
            ("http://x:99999", "invalid port"),
            ("http://x:", "invalid port"),
            ("http://x:1a", "invalid port"),
            ("http://user:pw@x/v1", "credentials"),
            ("http://x/v1?key=1", "query"),
            ("http://x/v1#f", "query or fragment"),
            ("http://x y/v1", "spaces"),
            ("http://x/v1\r\nHost: y", "control"),
            ("http://[::1/v1", "unclosed"),
            ("http://ho$t/v1", "invalid host"),
        ];
        for (input, want) in bad {
            let err = normalize_base_url(input).unwrap_err();
            assert!(err.contains(want), "{input:?}: {err}");
        }
        assert!(
            !normalize_base_url("http://u:secretpw@x")
                .unwrap_err()
                .contains("secretpw")
        );
    }

    #[test]
    fn header_args() {
        assert_eq!(
            parse_header_arg(" X-Custom : a:b "),
            Ok(("X-Custom".into(), "a:b".into()))
        );
        assert_eq!(
            parse_header_arg("X-Empty:"),
            Ok(("X-Empty".into(), "".into()))
        );
        for (bad, want) in [
            ("novalue", "KEY:VALUE"),
            (":v", "empty"),
            ("X Y:v", "header name"),
            ("X:a\rb", "carriage return"),
            ("X:a\nb", "line feed"),
            ("X:a\0b", "NUL"),
            ("X:a\x1bb", "U+001B"),
            ("X:${env:BAD-NAME}", "does not name a variable"),
            ("X:${env:OPEN", "not closed"),
        ] {
            let err = parse_header_arg(bad).unwrap_err();
            assert!(err.contains(want), "{bad:?}: {err}");
        }
        let err = parse_header_arg("Authorization:sk-canary\r\nX-Evil: 1").unwrap_err();
        assert!(
            err.contains("carriage return") && !err.contains("canary"),
            "{err}"
        );
    }

    #[test]
    fn auth_types() {
        assert_eq!(AuthType::parse("bearer"), Ok(AuthType::Bearer));
        assert_eq!(AuthType::parse("api-key"), Ok(AuthType::ApiKey));
        assert!(
            AuthType::parse("api_key")
                .unwrap_err()
                .contains("did you mean \"api-key\"")
        );
        assert!(AuthType::parse("basic").is_err());
        assert_eq!(AuthType::parse("x-api-key"), Ok(AuthType::XApiKey));
        assert!(
            AuthType::parse("x_api_key")
                .unwrap_err()
                .contains("did you mean \"x-api-key\"")
        );
        for w in Wire::ALL {
            assert_eq!(Wire::parse(w.as_str()), Ok(w));
        }
        assert!(
            Wire::parse("Messages")
                .unwrap_err()
                .contains("did you mean \"messages\"")
        );
    }

    #[test]
    fn json_round_trip_keeps_foreign_fields() {
        let entry = json!({
            "base_url": "http://localhost:11434/v1",
            "x_other_tool": [1, 2],
            "default_model": "llama3.2",
            "headers": {"X-Custom": "value"},
            "auth_type": "bearer"
        });
        let p = Provider::from_json("ollama", &entry).unwrap();
        assert_eq!(p.default_model.as_deref(), Some("llama3.2"));
        assert_eq!(
            p.headers,
            vec![("X-Custom".to_string(), "value".to_string())]
        );
        assert_eq!(p.to_json(Some(&entry)), entry);
        let fresh = p.to_json(None);
        let keys: Vec<_> = fresh.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["base_url", "default_model", "headers", "auth_type"]);
    }

    #[test]
    fn json_errors_name_the_field() {
        let cases = [
            (json!("x"), "must be an object"),
            (json!({}), "base_url: is missing"),
            (json!({"base_url": 3}), "base_url: must be a string"),
            (json!({"base_url": "ftp://x"}), "base_url: base URL"),
            (
                json!({"base_url": "http://x/"}),
                "must be written as \"http://x\"",
            ),
            (
                json!({"base_url": "http://x", "auth_type": "oauth"}),
                "auth_type:",
            ),
            (
                json!({"base_url": "http://x", "headers": []}),
                "headers: must be an object",
            ),
            (
                json!({"base_url": "http://x", "headers": {"A": 1}}),
                "headers.A: the value of header \"A\" must be a string",
            ),
            (
                json!({"base_url": "http://x", "headers": {"A": "1", "a": "2"}}),
                "given twice",
            ),
            (
                json!({"base_url": "http://x", "timeout_secs": -1}),
                "timeout_secs",
            ),
            (
                json!({"base_url": "http://x", "timeout_secs": 0}),
                "timeout_secs",
            ),
            (
                json!({"base_url": "http://x", "api_key_env": "A B"}),
                "api_key_env",
            ),
            (
                json!({"base_url": "http://x", "default_model": ""}),
                "default_model",
            ),
        ];
        for (entry, want) in cases {
            let err = Provider::from_json("p", &entry).unwrap_err().to_string();
            assert!(err.contains(want), "{entry}: {err}");
        }
    }

    #[test]
    fn builtins_are_valid_providers() {
        for b in BUILTINS {
            b.to_provider().validate().unwrap();
        }
        assert!(builtin("openai").is_some());
        assert!(builtin("ollama").is_none());
    }
}
