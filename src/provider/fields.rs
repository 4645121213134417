//! Every provider field, declared once.
//!
//! A field's name, documentation, type, default, validation, secrecy and
//! rendering live in one [`Field`] entry of [`FIELDS`]. Everything that
//! handles provider fields reads this table instead of listing the fields
//! again: config.json (read and write), the manifest, `aix validate` (after
//! the JSON Schema), the planner (equality, fingerprint, diff lines),
//! `provider info`, `provider export`, the `provider add`/`update` flags and
//! the JSON Schema itself. Adding a field is one entry here, a member of
//! [`Provider`], and the code that uses it (the request builder).
//!
//! Values cross this table as `serde_json::Value` in their config.json form
//! (a string, a whole number, an object of strings); [`Field::get`] reads
//! one off a provider and [`Field::set`] stores one that [`Field::check`]
//! accepted.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::{AuthType, Provider};
use crate::secret;

/// One problem with one field of one provider, with where it is inside
/// the provider's entry (`["headers", "X-Key"]`) so that callers can point
/// at the line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path inside the provider entry.
    pub path: Vec<String>,
    /// Whether the problem is the key itself (a header name) rather than
    /// its value.
    pub at_key: bool,
    /// The field's name, as messages start with it (`headers: ...`).
    pub field: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Problem {
            path: vec![field.to_string()],
            at_key: false,
            field,
            message: message.into(),
            hint: None,
        }
    }
}

/// What a field holds, which decides how it is checked, compared,
/// fingerprinted, shown and described in the schema.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string, checked (and possibly normalised) by `check`.
    Text {
        check: fn(&str) -> Result<Cow<'_, str>, String>,
    },
    /// One of a fixed set of strings, each with its documentation.
    Choice {
        values: &'static [(&'static str, &'static str)],
        parse: fn(&str) -> Result<(), String>,
    },
    /// A whole number of seconds from 1 to [`super::MAX_TIMEOUT_SECS`].
    Secs,
    /// `true` or `false`.
    Bool,
    /// A JSON object (a TOML table in the manifest), set with
    /// `--FLAG JSON`; `check` gives the path inside it, a message and a
    /// hint.
    Json {
        check: fn(&Map<String, Value>) -> Vec<super::shaping::Placed>,
    },
    /// An object of strings, set with `--FLAG KEY:VALUE`.
    Map {
        /// Checks a key (`Err` is the message).
        key: fn(&str) -> Result<(), String>,
        /// Checks a value given its key.
        value: fn(&str, &str) -> Result<(), String>,
        /// Whether keys that differ only in case are the same key.
        fold_case: bool,
        /// The fingerprint tag of each key (its value is tagged `value`).
        entry_tag: &'static str,
        /// What one entry is called in messages ("header").
        noun: &'static str,
        /// Parses one `--FLAG` argument into a key and a value.
        arg: fn(&str) -> Result<(String, String), String>,
    },
}

/// How a field is shown when it holds a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrecy {
    /// Never secret.
    Plain,
    /// A map whose entries are secret by their key's name or value shape
    /// (`Authorization`, `X-API-Key`, a literal `Bearer` token): see
    /// [`secret::display_header_value`].
    ByEntry,
}

/// A command-line flag that sets a field in `provider add` and
/// `provider update`.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub value_name: &'static str,
    pub help: &'static str,
}

/// One provider field.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Its key in config.json and providers.toml.
    pub name: &'static str,
    /// What it means, for the schema and `--help`.
    pub doc: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// The value used when it is unset, in config.json form. A field with
    /// a default is always written and always shown; `export` leaves it
    /// out when it equals the default.
    pub default: Option<&'static str>,
    /// What `provider info` says when it is unset.
    pub unset: &'static str,
    /// Whether config.json's top-level setting of the same name is the
    /// fallback when the provider leaves it unset.
    pub config_fallback: bool,
    /// What a run uses when neither the provider nor config.json sets it
    /// (not stored; shown by `info` as the default).
    pub run_default: Option<u64>,
    pub secrecy: Secrecy,
    /// The flag that sets it (`None`: positional or not settable).
    pub flag: Option<Flag>,
    /// Extra JSON Schema keywords (pattern, examples) for editors.
    pub schema_extra: fn() -> Value,
    /// Reads the field off a provider (`None` when unset).
    pub get: fn(&Provider) -> Option<Value>,
    /// Stores a value [`Field::check`] accepted (`None` unsets it).
    pub set: fn(&mut Provider, Option<&Value>),
}

/// A flag without a short form.
const fn flag(long: &'static str, value_name: &'static str, help: &'static str) -> Option<Flag> {
    Some(Flag {
        long,
        short: None,
        value_name,
        help,
    })
}

fn no_extra() -> Value {
    json!({})
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(String::from)
}

fn secs(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64)
}

fn opt_str(s: &Option<String>) -> Option<Value> {
    s.as_ref().map(|s| Value::from(s.as_str()))
}

fn check_url(s: &str) -> Result<Cow<'_, str>, String> {
    super::checked_base_url(s)
}

fn check_model(s: &str) -> Result<Cow<'_, str>, String> {
    super::parse_model(s).map(|_| Cow::Borrowed(s))
}

/// The rule of `api_key`: one or more references and nothing else.
fn check_key_ref(s: &str) -> Result<Cow<'_, str>, String> {
    crate::secret::envref::check(s).map_err(|e| e.to_string())?;
    if !crate::secret::envref::contains_reference(s)
        || !crate::secret::envref::strip_references(s).trim().is_empty()
    {
        return Err(
            "must be a reference (${env:VAR}, ${file:PATH}, ${cmd:COMMAND} or ${keyring:SERVICE/USER}), never the key itself; store a literal key with `aix api-key NAME`".into(),
        );
    }
    Ok(Cow::Borrowed(s))
}

fn check_env_var(s: &str) -> Result<Cow<'_, str>, String> {
    super::parse_env_var(s).map(|_| Cow::Borrowed(s))
}

/// What an entry of [`FIELDS`] does not say: optional, no default,
/// shown as `-` when unset, no config.json fallback or run default, never
/// secret, no flag, no extra schema keywords. Each entry states only where
/// it differs.
const OPTIONAL: Field = Field {
    name: "",
    doc: "",
    kind: Kind::Secs,
    required: false,
    default: None,
    unset: "-",
    config_fallback: false,
    run_default: None,
    secrecy: Secrecy::Plain,
    flag: None,
    schema_extra: no_extra,
    get: |_| None,
    set: |_, _| {},
};

/// The provider fields, in the order config.json stores them.
pub static FIELDS: &[Field] = &[
    Field {
        name: "base_url",
        doc: "Absolute `http://` or `https://` URL, without query, fragment or\ncredentials. Requests go to `{base_url}/chat/completions` and\n`{base_url}/models`.",
        kind: Kind::Text { check: check_url },
        required: true,
        flag: flag("url", "URL", "New base URL"),
        schema_extra: || {
            json!({
                "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+(/[^\s?#]*)?$",
                "examples": ["http://localhost:11434/v1", "https://openrouter.ai/api/v1"]
            })
        },
        get: |p| Some(Value::from(p.base_url.as_str())),
        set: |p, v| p.base_url = string(v).unwrap_or_default(),
        ..OPTIONAL
    },
    Field {
        name: "default_model",
        doc: "Model used when a run names none.",
        kind: Kind::Text { check: check_model },
        unset: "(none: runs need --model)",
        flag: Some(Flag {
            long: "model",
            short: Some('m'),
            value_name: "MODEL",
            help: "Model used when a run names none",
        }),
        schema_extra: || json!({"minLength": 1, "maxLength": 256, "examples": ["llama3.2"]}),
        get: |p| opt_str(&p.default_model),
        set: |p, v| p.default_model = string(v),
        ..OPTIONAL
    },
    Field {
        name: "headers",
        doc: "Extra headers sent with every request. A value may be or contain\n`${env:VAR}`, read from the environment when a request is made, so\nsecrets need not be written here.",
        kind: Kind::Map {
            key: super::validate_header_name,
            value: super::validate_header_value,
            fold_case: true,
            entry_tag: "header",
            noun: "header",
            arg: super::parse_header_arg,
        },
        secrecy: Secrecy::ByEntry,
        flag: Some(Flag {
            long: "header",
            short: Some('H'),
            value_name: "KEY:VALUE",
            help: "Extra header sent with every request (repeatable); the value may be ${env:VAR}",
        }),
        schema_extra: || {
            json!({
                "propertyNames": {"pattern": crate::schema::HEADER_NAME_PATTERN},
                "additionalProperties": {
                    "description": "A header value: one line, no control characters except tab.",
                    "type": "string",
                    "pattern": "^[^\\u0000-\\u0008\\u000A-\\u001F\\u007F]*$"
                },
                "examples": [{"X-API-Key": "${env:WORK_LLM_KEY}"}]
            })
        },
        get: |p| pairs_json(&p.headers),
        set: |p, v| p.headers = pairs(v),
        ..OPTIONAL
    },
    Field {
        name: "auth_type",
        doc: "How the key is sent: `bearer` (the default), `api-key` or\n`x-api-key`.",
        kind: Kind::Choice {
            values: &[
                (
                    "bearer",
                    "Send `Authorization: Bearer <key>` when a key is known (the default).",
                ),
                (
                    "api-key",
                    "Send no automatic auth; the provider's headers carry the credential.",
                ),
                (
                    "x-api-key",
                    "Send `x-api-key: <key>` when a key is known (Anthropic).",
                ),
            ],
            parse: |s| AuthType::parse(s).map(drop),
        },
        default: Some("bearer"),
        unset: "bearer",
        flag: flag(
            "auth-type",
            "TYPE",
            "bearer sends \"Authorization: Bearer KEY\"; x-api-key sends \"x-api-key: KEY\"; api-key sends no automatic auth",
        ),
        get: |p| Some(Value::from(p.auth_type.as_str())),
        set: |p, v| {
            p.auth_type = v
                .and_then(Value::as_str)
                .and_then(|s| AuthType::parse(s).ok())
                .unwrap_or_default();
        },
        ..OPTIONAL
    },
    Field {
        name: "api_key_env",
        doc: "Environment variable holding the API key when config.json has none.",
        kind: Kind::Text {
            check: check_env_var,
        },
        flag: flag(
            "api-key-env",
            "VAR",
            "Environment variable holding the key when config.json has none",
        ),
        schema_extra: || json!({"pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "examples": ["OPENROUTER_API_KEY"]}),
        get: |p| opt_str(&p.api_key_env),
        set: |p, v| p.api_key_env = string(v),
        ..OPTIONAL
    },
    Field {
        name: "timeout_secs",
        doc: "Seconds to wait for an answer, and for each pause in a stream\n(default 300).",
        kind: Kind::Secs,
        config_fallback: true,
        run_default: Some(crate::http::DEFAULT_TIMEOUT_SECS),
        flag: flag(
            "timeout",
            "SECS",
            "Seconds to wait for an answer, and for each pause in a stream (default 300)",
        ),
        get: |p| p.timeout_secs.map(Value::from),
        set: |p, v| p.timeout_secs = secs(v),
        ..OPTIONAL
    },
    Field {
        name: "max_time_secs",
        doc: "Seconds the whole answer may take, streaming or not (default: no\nlimit).",
        kind: Kind::Secs,
        config_fallback: true,
        flag: flag(
            "max-time",
            "SECS",
            "Seconds the whole answer may take, retries included (default: no limit)",
        ),
        get: |p| p.max_time_secs.map(Value::from),
        set: |p, v| p.max_time_secs = secs(v),
        ..OPTIONAL
    },
    Field {
        name: "connect_timeout_secs",
        doc: "Seconds to wait for a connection to the server (default 10).",
        kind: Kind::Secs,
        config_fallback: true,
        run_default: Some(crate::http::CONNECT_TIMEOUT.as_secs()),
        flag: flag(
            "connect-timeout",
            "SECS",
            "Seconds to wait for a connection to the server (default 10)",
        ),
        get: |p| p.connect_timeout_secs.map(Value::from),
        set: |p, v| p.connect_timeout_secs = secs(v),
        ..OPTIONAL
    },
    Field {
        name: "query_params",
        doc: "Query parameters added to every request URL (chat, models,\nchecks), e.g. Azure's `api-version`. Sent as written, so not a place\nfor secrets: those go in headers.",
        kind: Kind::Map {
            key: |k| super::shaping::check_query_key(k),
            value: super::shaping::check_query_value,
            fold_case: false,
            entry_tag: "query",
            noun: "query parameter",
            arg: super::shaping::parse_query_arg,
        },
        flag: flag(
            "query",
            "KEY=VALUE",
            "Query parameter added to every request URL (repeatable), e.g. api-version=2024-10-21",
        ),
        schema_extra: || {
            json!({
                "additionalProperties": {"type": "string", "maxLength": 2048},
                "examples": [{"api-version": "2024-10-21"}]
            })
        },
        get: |p| pairs_json(&p.query_params),
        set: |p, v| p.query_params = pairs(v),
        ..OPTIONAL
    },
    Field {
        name: "extra_body",
        doc: "Fields deep-merged into every chat request body (`options`,\n`chat_template_kwargs`, `top_k`...). `model`, `messages` and\n`stream` are aix's own and refused here; string values may contain\n`${env:VAR}`.",
        kind: Kind::Json {
            check: |m| {
                super::shaping::check_extra_body(m)
                    .err()
                    .into_iter()
                    .collect()
            },
        },
        flag: flag(
            "extra-body",
            "JSON",
            "JSON object deep-merged into every chat request body, e.g. '{\"options\":{\"num_ctx\":32768}}'",
        ),
        schema_extra: || {
            json!({
                "examples": [{"options": {"num_ctx": 32768}}, {"chat_template_kwargs": {"enable_thinking": false}}]
            })
        },
        get: |p| p.extra_body.clone().map(Value::Object),
        set: |p, v| {
            p.extra_body = match v {
                Some(Value::Object(m)) => Some(m.clone()),
                _ => None,
            };
        },
        ..OPTIONAL
    },
    Field {
        name: "max_tokens_param",
        doc: "The body key a token limit (`--max-tokens`, config `max_tokens`)\nis sent as: `max_tokens` (the default) or `max_completion_tokens`.",
        kind: Kind::Choice {
            values: &[
                (
                    "max_tokens",
                    "Send the limit as `max_tokens` (the default).",
                ),
                (
                    "max_completion_tokens",
                    "Send the limit as `max_completion_tokens` (OpenAI's reasoning models, Azure).",
                ),
            ],
            parse: |s| super::MaxTokensParam::parse(s).map(drop),
        },
        unset: "max_tokens",
        flag: flag(
            "max-tokens-param",
            "NAME",
            "Body key for the token limit: max_tokens (default) or max_completion_tokens",
        ),
        get: |p| p.max_tokens_param.map(|m| Value::from(m.as_str())),
        set: |p, v| {
            p.max_tokens_param = v
                .and_then(Value::as_str)
                .and_then(|s| super::MaxTokensParam::parse(s).ok());
        },
        ..OPTIONAL
    },
    Field {
        name: "stream_usage",
        doc: "Whether streaming requests ask for a final usage chunk\n(`stream_options.include_usage`); true when unset. Set false for\nservers that reject `stream_options`.",
        kind: Kind::Bool,
        unset: "true",
        flag: flag(
            "stream-usage",
            "BOOL",
            "Whether streams ask for usage with stream_options (true, the default, or false)",
        ),
        get: |p| p.stream_usage.map(Value::Bool),
        set: |p, v| p.stream_usage = v.and_then(Value::as_bool),
        ..OPTIONAL
    },
    Field {
        name: "wire",
        doc: "The protocol the provider speaks: `chat` (OpenAI's chat\ncompletions, the default), `responses` (OpenAI's Responses API) or\n`messages` (Anthropic's Messages API). See docs/wire.md.",
        kind: Kind::Choice {
            values: &[
                (
                    "chat",
                    "POST /chat/completions, OpenAI's chat completions (the default).",
                ),
                ("responses", "POST /responses, OpenAI's Responses API."),
                ("messages", "POST /messages, Anthropic's Messages API."),
            ],
            parse: |s| super::Wire::parse(s).map(drop),
        },
        unset: "chat",
        flag: flag(
            "wire",
            "PROTOCOL",
            "Protocol: chat (default, /chat/completions), responses (/responses) or messages (Anthropic's /messages)",
        ),
        get: |p| p.wire.map(|w| Value::from(w.as_str())),
        set: |p, v| {
            p.wire = v
                .and_then(Value::as_str)
                .and_then(|s| super::Wire::parse(s).ok());
        },
        ..OPTIONAL
    },
    Field {
        name: "ca_file",
        doc: "A PEM file of extra trusted certificate authorities for this\nprovider (a private or corporate CA), trusted beside the bundled and\nsystem roots. An absolute path or one starting with `~/`.",
        kind: Kind::Text {
            check: super::shaping::check_ca_file,
        },
        flag: flag(
            "ca-file",
            "PATH",
            "PEM file of extra trusted CAs for this provider (absolute or ~/ path)",
        ),
        schema_extra: || json!({"pattern": "^(/|~/)", "examples": ["~/.config/aix/lab-ca.pem"]}),
        get: |p| opt_str(&p.ca_file),
        set: |p, v| p.ca_file = string(v),
        ..OPTIONAL
    },
    Field {
        name: "proxy",
        doc: "The proxy for this provider's requests (`http://HOST:PORT`,\n`socks5://HOST:PORT`...), instead of the environment's\n`HTTPS_PROXY`/`ALL_PROXY`; `none` bypasses those.",
        kind: Kind::Text {
            check: super::shaping::check_proxy,
        },
        unset: "(from the environment)",
        flag: flag(
            "proxy",
            "URL",
            "Proxy for this provider (http://HOST:PORT, socks5://HOST:PORT), or none to bypass the environment's",
        ),
        schema_extra: || json!({"examples": ["http://proxy.corp:3128", "none"]}),
        get: |p| opt_str(&p.proxy),
        set: |p, v| p.proxy = string(v),
        ..OPTIONAL
    },
    Field {
        name: "preset",
        doc: "A preset whose defaults fill the fields this entry leaves out\n(base URL, auth, headers, request shaping); see `aix provider\npresets`.",
        kind: Kind::Text {
            check: super::presets::check_name,
        },
        flag: flag(
            "preset",
            "NAME",
            "Fill the fields not given from a preset (see `aix provider presets`)",
        ),
        schema_extra: || json!({"enum": super::presets::names()}),
        get: |p| opt_str(&p.preset),
        set: |p, v| p.preset = string(v),
        ..OPTIONAL
    },
    Field {
        name: "api_key",
        doc: "The API key as a reference to where it is kept: `${env:VAR}`,\n`${file:PATH}`, `${cmd:COMMAND}` or `${keyring:SERVICE/USER}`. A\nliteral key is refused here (manifests live in git): store one with\n`aix api-key NAME`.",
        kind: Kind::Text {
            check: check_key_ref,
        },
        unset: "(config.json api_keys, else api_key_env)",
        flag: flag(
            "api-key",
            "REF",
            "The key as a reference: ${env:VAR}, ${file:PATH}, ${cmd:COMMAND} or ${keyring:SERVICE/USER}",
        ),
        schema_extra: || {
            json!({
                "pattern": "^\\$\\{(env|file|cmd|keyring):",
                "examples": ["${cmd:pass show llm/work}", "${file:~/.config/aix/work.key}", "${cmd:op read op://Private/OpenAI/credential}"]
            })
        },
        get: |p| opt_str(&p.api_key),
        set: |p, v| p.api_key = string(v),
        ..OPTIONAL
    },
    Field {
        name: "models",
        doc: "The models table: each key names a model entry (`--model KEY`,\n`default_model = \"KEY\"`) with the `id` sent to the server and its\nown settings: `extra_body` (merged over the provider's),\n`max_tokens_param`, `stream_usage`, `wire`, `temperature` (a default, or\n`false` to never send one), `stream = false`, `description`,\n`context_window`, `max_output_tokens`. A model not in the table is sent\nas named.",
        kind: Kind::Json {
            check: super::models::check,
        },
        schema_extra: models_schema,
        get: |p| p.models.clone().map(Value::Object),
        set: |p, v| {
            p.models = match v {
                Some(Value::Object(m)) => Some(m.clone()),
                _ => None,
            };
        },
        ..OPTIONAL
    },
];

/// The JSON Schema of one model entry, for editors.
fn models_schema() -> Value {
    let props: Map<String, Value> = super::models::MODEL_KEYS
        .iter()
        .map(|(k, doc)| {
            let t = match *k {
                "id" | "description" => json!({"type": "string"}),
                "context_window" | "max_output_tokens" => json!({"type": "integer", "minimum": 1}),
                "extra_body" => json!({"type": "object"}),
                "max_tokens_param" => json!({"enum": ["max_tokens", "max_completion_tokens"]}),
                "wire" => json!({"enum": ["chat", "responses", "messages"]}),
                "temperature" => json!({"anyOf": [{"type": "number", "minimum": 0, "maximum": 2}, {"const": false}]}),
                _ => json!({"type": "boolean"}),
            };
            let mut t = t;
            t["description"] = Value::from(*doc);
            ((*k).to_string(), t)
        })
        .collect();
    json!({
        "additionalProperties": {
            "type": "object",
            "properties": props
        },
        "examples": [{"llama": {"id": "llama3.2:3b", "extra_body": {"options": {"num_ctx": 32768}}}}]
    })
}

fn pairs_json(pairs: &[(String, String)]) -> Option<Value> {
    (!pairs.is_empty()).then(|| {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
    })
}

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The field called `name`.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// The value of each field in `obj` (null read as unset), in [`FIELDS`]'
/// order, found in one pass over the object: a provider has a few keys
/// and there are many fields, so this beats a keyed lookup per field
/// (each hashes the name) when 10,000 providers are read.
pub fn values_of(obj: &serde_json::Map<String, Value>) -> Vec<Option<&Value>> {
    let mut out = vec![None; FIELDS.len()];
    for (k, v) in obj {
        if v.is_null() {
            continue;
        }
        if let Some(i) = FIELDS.iter().position(|f| f.name == k) {
            out[i] = Some(v);
        }
    }
    out
}

/// Every field's name, in config.json order.
pub fn names() -> Vec<&'static str> {
    FIELDS.iter().map(|f| f.name).collect()
}

/// The fields in the order people read them: single values first, then
/// tables (maps and JSON objects, whose entries are listed one per line;
/// plans, `info` and `export` list them so).
pub fn display_order() -> impl Iterator<Item = &'static Field> {
    FIELDS
        .iter()
        .filter(|f| !f.is_table())
        .chain(FIELDS.iter().filter(|f| f.is_table()))
}

/// A JSON type's name, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks one whole number of seconds.
pub fn check_secs(n: Option<u64>, written: &dyn std::fmt::Display) -> Result<u64, String> {
    match n {
        Some(n) if (1..=super::MAX_TIMEOUT_SECS).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number of seconds from 1 to {}, not {written}",
            super::MAX_TIMEOUT_SECS
        )),
    }
}

impl Field {
    pub fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map { .. })
    }

    /// Whether two entry names of this map field are the same entry
    /// (header names ignore case).
    pub fn same_key(&self, a: &str, b: &str) -> bool {
        match self.kind {
            Kind::Map {
                fold_case: true, ..
            } => a.eq_ignore_ascii_case(b),
            _ => a == b,
        }
    }

    /// Whether the field is shown entry by entry: a map, or a JSON object
    /// (`extra_body`, `models`).
    pub fn is_table(&self) -> bool {
        matches!(self.kind, Kind::Map { .. } | Kind::Json { .. })
    }

    /// One entry of a table as shown: a map's value (masked when secret
    /// unless `show`), a JSON member as compact JSON.
    pub fn entry_value_text<'a>(&self, key: &str, value: &'a Value, show: bool) -> Cow<'a, str> {
        match (self.kind, value) {
            (Kind::Map { .. }, Value::String(s)) => self.entry_text(key, s, show),
            (_, v) => Cow::Owned(v.to_string()),
        }
    }

    /// Checks `value` as this field's value: its type, then its content.
    /// Every problem is returned (a map may have several); `Ok` carries
    /// the value in normal form (a base URL without its trailing `/`).
    pub fn check<'v>(&self, value: &'v Value) -> Result<Cow<'v, Value>, Vec<Problem>> {
        let name = self.name;
        let one = |m: String| Err(vec![Problem::new(name, m)]);
        match self.kind {
            Kind::Text { check } => match value {
                Value::String(s) => match check(s) {
                    Ok(Cow::Borrowed(_)) => Ok(Cow::Borrowed(value)),
                    Ok(Cow::Owned(n)) => Ok(Cow::Owned(Value::String(n))),
                    Err(m) => one(m),
                },
                other => one(format!("must be a string, not {}", type_name(other))),
            },
            Kind::Choice { parse, .. } => match value {
                Value::String(s) => match parse(s) {
                    Ok(()) => Ok(Cow::Borrowed(value)),
                    Err(m) => one(m),
                },
                other => one(format!("must be a string, not {}", type_name(other))),
            },
            Kind::Secs => match check_secs(value.as_u64(), value) {
                Ok(_) => Ok(Cow::Borrowed(value)),
                Err(m) => one(m),
            },
            Kind::Bool => match value {
                Value::Bool(_) => Ok(Cow::Borrowed(value)),
                other => one(format!("must be true or false, not {}", type_name(other))),
            },
            Kind::Json { check } => match value {
                Value::Object(m) => {
                    let found = check(m);
                    if found.is_empty() {
                        return Ok(Cow::Borrowed(value));
                    }
                    Err(found
                        .into_iter()
                        .map(|(path, message, hint)| Problem {
                            path: std::iter::once(name.to_string()).chain(path).collect(),
                            at_key: false,
                            hint: Some(hint),
                            ..Problem::new(name, message)
                        })
                        .collect())
                }
                other => one(format!(
                    "must be an object (a table), not {}",
                    type_name(other)
                )),
            },
            Kind::Map {
                key,
                value: check_value,
                fold_case,
                noun,
                ..
            } => {
                let Value::Object(map) = value else {
                    return one(format!(
                        "must be an object of strings, not {}",
                        type_name(value)
                    ));
                };
                let mut problems = Vec::new();
                let mut seen: Vec<&str> = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let at = |message: String, at_key: bool| Problem {
                        path: vec![name.to_string(), k.clone()],
                        at_key,
                        ..Problem::new(name, message)
                    };
                    // Compared as lower-cased when case folds, without
                    // lower-casing a copy of each key.
                    let twin = |first: &str| {
                        if fold_case {
                            first.eq_ignore_ascii_case(k)
                        } else {
                            first == k
                        }
                    };
                    if let Some(first) = seen.iter().copied().find(|f| twin(f)) {
                        problems.push(Problem {
                            hint: Some(format!("{noun} names ignore case: keep one of them")),
                            ..at(format!("{k:?} is given twice (as {first:?} too)"), true)
                        });
                        continue;
                    }
                    seen.push(k);
                    if let Err(m) = key(k) {
                        problems.push(at(m, true));
                        continue;
                    }
                    match v {
                        Value::String(s) => {
                            if let Err(m) = check_value(k, s) {
                                problems.push(at(m, false));
                            }
                        }
                        other => problems.push(at(
                            format!(
                                "the value of {noun} {:?} must be a string, not {}",
                                crate::output::clip(k, 80),
                                type_name(other)
                            ),
                            false,
                        )),
                    }
                }
                if problems.is_empty() {
                    Ok(Cow::Borrowed(value))
                } else {
                    Err(problems)
                }
            }
        }
    }

    /// Parses a command-line value for this field's flag.
    pub fn parse_arg(&self, arg: &str) -> Result<Value, String> {
        match self.kind {
            Kind::Text { check } => check(arg).map(|s| Value::from(s.into_owned())),
            Kind::Choice { parse, .. } => parse(arg).map(|()| Value::from(arg)),
            Kind::Secs => check_secs(arg.parse().ok(), &format!("{arg:?}")).map(Value::from),
            Kind::Bool => match arg {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                other => Err(format!("must be true or false, not {other:?}")),
            },
            Kind::Json { .. } => {
                let v = super::shaping::parse_json_object(arg)?;
                self.check(&v)
                    .map(Cow::into_owned)
                    .map_err(|p| p[0].message.clone())
            }
            Kind::Map { arg: parse, .. } => {
                let (k, v) = parse(arg)?;
                Ok(json!({ k: v }))
            }
        }
    }

    /// A single value as one line of a plan (strings quoted when `quote`)
    /// or of `info`.
    pub fn text(&self, value: &Value, quote: bool) -> String {
        match value {
            Value::String(s) if quote => format!("{s:?}"),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// A map entry as shown: its value masked when it is secret.
    pub fn entry_text<'a>(&self, key: &str, value: &'a str, show: bool) -> Cow<'a, str> {
        match self.secrecy {
            Secrecy::Plain => Cow::Borrowed(value),
            Secrecy::ByEntry => match secret::display_header_value(key, value, show) {
                s if s == value => Cow::Borrowed(value),
                s => Cow::Owned(s.to_string()),
            },
        }
    }

    /// Whether a map entry holds a literal secret (not a reference).
    pub fn entry_is_secret(&self, key: &str, value: &str) -> bool {
        self.secrecy == Secrecy::ByEntry
            && secret::display_header_value(key, value, false) == secret::MASK
    }

    /// The field's value on `p`, with its default filled in.
    pub fn value(&self, p: &Provider) -> Option<Value> {
        (self.get)(p).or_else(|| self.default.map(Value::from))
    }

    /// This field's JSON Schema. An optional field may be `null` in
    /// config.json (read as unset).
    pub fn schema(&self) -> Value {
        let nullable = |t: &str| -> Value {
            if self.required {
                Value::from(t)
            } else {
                json!([t, "null"])
            }
        };
        let mut s = match self.kind {
            Kind::Text { .. } => json!({"type": nullable("string")}),
            Kind::Choice { values, .. } => {
                let mut choices: Vec<Value> = values
                    .iter()
                    .map(|(v, d)| json!({"description": d, "const": v}))
                    .collect();
                if !self.required {
                    choices.push(json!({"type": "null"}));
                }
                json!({ "anyOf": choices })
            }
            Kind::Secs => json!({
                "type": nullable("integer"),
                "minimum": 1,
                "maximum": super::MAX_TIMEOUT_SECS
            }),
            Kind::Bool => json!({"type": nullable("boolean")}),
            Kind::Json { .. } | Kind::Map { .. } => json!({"type": nullable("object")}),
        };
        let obj = s.as_object_mut().expect("an object");
        obj.insert("description".into(), Value::from(self.doc));
        if let Some(d) = self.default {
            obj.insert("default".into(), Value::from(d));
        }
        if let Value::Object(extra) = (self.schema_extra)() {
            obj.extend(extra);
        }
        s
    }
}

/// Checks every field of a provider entry (config.json or manifest form):
/// required fields, types and values. Unknown keys are not this
/// function's business (config.json keeps other tools' fields; the
/// manifest's schema refuses them).
pub fn check_entry(entry: &Map<String, Value>) -> Vec<Problem> {
    let mut problems = Vec::new();
    // One pass over the entry (null read as unset), not a lookup per field.
    let values = values_of(entry);
    let preset = super::presets::of_values(&values);
    for (f, value) in FIELDS.iter().zip(values) {
        match value {
            None if f.required && preset.is_none_or(|p| p.value(f).is_none()) => {
                problems.push(missing(f, preset));
            }
            None => {}
            Some(v) => {
                if let Err(p) = f.check(v) {
                    problems.extend(p);
                }
            }
        }
    }
    problems
}

/// The problem of a required field left out; with a preset that has no
/// value for it, the hint says so.
pub fn missing(f: &Field, preset: Option<&super::presets::Preset>) -> Problem {
    Problem {
        hint: preset.map(|p| format!("preset {} has no usual {}: give one", p.name, f.name)),
        ..Problem::new(f.name, "is missing")
    }
}

/// Equal as definitions: every field, map entries in any order.
pub fn same(a: &Provider, b: &Provider) -> bool {
    // Member for member equal (the usual case: a provider as applied and
    // as read back) is equal field for field, since each field is read
    // off the members; only the rest needs the fields' comparison (which
    // takes map entries in any order).
    a == b || (a.name == b.name && FIELDS.iter().all(|f| (f.get)(a) == (f.get)(b)))
}

/// The names of the fields that differ between two providers.
pub fn changed(a: &Provider, b: &Provider) -> Vec<&'static str> {
    display_order()
        .filter(|f| f.value(a) != f.value(b))
        .map(|f| f.name)
        .collect()
}

/// A stable fingerprint of a provider's definition: FNV-1a 64 over its
/// fields in display order (map entries sorted), each tagged and
/// NUL-separated. The same on every machine and Rust version, so drift is
/// detected wherever the state travels; a field that is unset feeds
/// nothing, so adding a field leaves every existing fingerprint as it was.
pub fn fingerprint(p: &Provider) -> String {
    struct Fnv(u64);
    impl Fnv {
        fn byte(&mut self, b: u8) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        fn feed(&mut self, tag: &str, value: &str) {
            for &b in tag.as_bytes() {
                self.byte(b);
            }
            self.byte(0);
            for &b in value.as_bytes() {
                self.byte(b);
            }
            self.byte(0);
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for f in display_order() {
        let Some(v) = f.value(p) else { continue };
        match (&f.kind, v) {
            (Kind::Map { entry_tag, .. }, Value::Object(m)) => {
                let mut entries: Vec<(&String, &str)> = m
                    .iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default()))
                    .collect();
                entries.sort();
                for (k, v) in entries {
                    h.feed(entry_tag, k);
                    h.feed("value", v);
                }
            }
            (Kind::Json { .. }, v) => h.feed(f.name, &canonical(&v)),
            // `f.text(v, false)`, without copying a string.
            (_, Value::String(s)) => h.feed(f.name, &s),
            (_, v) => h.feed(f.name, &f.text(&v, false)),
        }
    }
    // `format!("{:016x}")`, without the formatting machinery.
    (0..16)
        .rev()
        .map(|i| char::from(b"0123456789abcdef"[(h.0 >> (i * 4)) as usize & 0xf]))
        .collect()
}

/// JSON text with every object's keys sorted, so that the order a
/// manifest writes them in does not change a fingerprint.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The type problem of `value` for `f`, if any: the cheap check for
/// entries whose values were already checked in full.
pub fn type_problem(f: &Field, value: &Value) -> Option<Problem> {
    let want = match (f.kind, value) {
        (Kind::Text { .. } | Kind::Choice { .. }, Value::String(_)) => return None,
        (Kind::Secs, Value::Number(n)) if n.as_u64().is_some() => return None,
        (Kind::Bool, Value::Bool(_)) | (Kind::Json { .. }, Value::Object(_)) => return None,
        (Kind::Bool, _) => "true or false",
        (Kind::Json { .. }, _) => "an object (a table)",
        (Kind::Map { .. }, Value::Object(m)) if m.values().all(Value::is_string) => return None,
        (Kind::Text { .. } | Kind::Choice { .. }, _) => "a string",
        (Kind::Secs, _) => {
            let m = check_secs(None, value).unwrap_err();
            return Some(Problem::new(f.name, m));
        }
        (Kind::Map { .. }, Value::Object(_)) => {
            return f.check(value).err().map(|mut p| p.remove(0));
        }
        (Kind::Map { .. }, _) => "an object of strings",
    };
    Some(Problem::new(
        f.name,
        format!("must be {want}, not {}", type_name(value)),
    ))
}

/// A provider's fields as config.json holds them, with secret map entries
/// masked unless `show` (for plans and `info --json`).
pub fn shown_json(p: &Provider, show: bool) -> Value {
    let mut obj = Map::new();
    for f in FIELDS {
        let Some(mut v) = f.value(p) else { continue };
        if let Value::Object(m) = &mut v {
            for (k, val) in m.iter_mut() {
                if let Value::String(s) = val
                    && let Cow::Owned(masked) = f.entry_text(k, s, show)
                {
                    *s = masked;
                }
            }
        }
        obj.insert(f.name.to_string(), v);
    }
    Value::Object(obj)
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Provider,
    Config,
    Default,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Provider => "provider",
            Source::Config => "config",
            Source::Default => "default",
        }
    }
}

/// The value a run uses for `f` on `p`: the provider's own, else (for a
/// field with a config.json fallback) the top-level setting `config`
/// gives, else the field's run default.
pub fn effective(
    f: &Field,
    p: &Provider,
    config: &dyn Fn(&str) -> Option<Value>,
) -> Option<(Value, Source)> {
    if let Some(v) = f.value(p) {
        return Some((v, Source::Provider));
    }
    if f.config_fallback
        && let Some(v) = config(f.name)
    {
        return Some((v, Source::Config));
    }
    f.run_default.map(|d| (Value::from(d), Source::Default))
}

/// `provider info`'s lines for the fields of `p`, in display order: each
/// value (map entries masked unless `show`), what an unset field means,
/// and for fields with a config.json fallback the effective value and
/// where it came from (left out when there is none).
pub fn info_lines(
    p: &Provider,
    config: &dyn Fn(&str) -> Option<Value>,
    show: bool,
) -> Vec<(&'static str, String, Vec<String>)> {
    let mut out = Vec::new();
    let preset = p.preset.as_deref().and_then(super::presets::get);
    let from_preset = |f: &Field, v: &Value| {
        preset
            .filter(|pr| pr.provides(f, v))
            .map(|pr| format!(" (preset {})", pr.name))
            .unwrap_or_default()
    };
    for f in display_order() {
        if f.config_fallback {
            if let Some((v, from)) = effective(f, p, config) {
                let label = match from {
                    Source::Provider if !from_preset(f, &v).is_empty() => from_preset(f, &v),
                    other => format!(" ({})", other.label()),
                };
                out.push((f.name, format!("{}{label}", f.text(&v, false)), vec![]));
            }
            continue;
        }
        match f.value(p) {
            Some(Value::Object(m)) if f.is_table() => {
                let entries = m
                    .iter()
                    .map(|(k, v)| {
                        let origin = match (preset, v) {
                            (Some(pr), Value::String(s)) if pr.provides_entry(f, k, s) => {
                                format!(" (preset {})", pr.name)
                            }
                            _ => String::new(),
                        };
                        format!("{k}: {}{origin}", f.entry_value_text(k, v, show))
                    })
                    .collect();
                out.push((f.name, String::new(), entries));
            }
            Some(v) => out.push((
                f.name,
                format!("{}{}", f.text(&v, false), from_preset(f, &v)),
                vec![],
            )),
            None => out.push((f.name, f.unset.to_string(), vec![])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field the first version had, set.
    fn first_fields() -> Provider {
        Provider {
            default_model: Some("m/x".into()),
            headers: vec![
                ("X-B".into(), "2".into()),
                ("X-A".into(), "${env:A}".into()),
            ],
            auth_type: AuthType::ApiKey,
            api_key_env: Some("K_EY".into()),
            timeout_secs: Some(30),
            max_time_secs: Some(600),
            ..Provider::new("full", "http://h:1/v1")
        }
    }

    /// Every field set.
    fn full() -> Provider {
        Provider {
            query_params: vec![("api-version".into(), "2024-10-21".into())],
            extra_body: json!({"options": {"num_ctx": 4096}}).as_object().cloned(),
            max_tokens_param: Some(super::super::MaxTokensParam::MaxCompletionTokens),
            stream_usage: Some(false),
            wire: Some(super::super::Wire::Responses),
            ca_file: Some("~/ca.pem".into()),
            proxy: Some("socks5h://127.0.0.1:1080".into()),
            connect_timeout_secs: Some(3),
            preset: Some("vllm".into()),
            api_key: Some("${cmd:pass show llm/work}".into()),
            models: json!({"big": {"id": "llama3.2", "stream": false}})
                .as_object()
                .cloned(),
            ..first_fields()
        }
    }

    #[test]
    fn fingerprints_are_those_earlier_versions_recorded() {
        // Recorded by `aix apply` before the fields were declared here: a
        // change would show every owned provider as drifted after upgrade.
        assert_eq!(fingerprint(&first_fields()), "07047cc2b991bde2");
        assert_eq!(
            fingerprint(&Provider::new("bare", "https://b")),
            "5a13b24cf10d5b0d"
        );
    }

    #[test]
    fn the_declaration_is_consistent() {
        let mut names = names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len(), "field names are unique");
        let mut flags: Vec<&str> = FIELDS
            .iter()
            .filter_map(|f| f.flag.map(|f| f.long))
            .collect();
        flags.sort_unstable();
        flags.dedup();
        assert_eq!(
            flags.len(),
            FIELDS.iter().filter(|f| f.flag.is_some()).count()
        );
        for f in FIELDS {
            assert!(!f.doc.is_empty(), "{} is documented", f.name);
            assert!(f.default.is_none() || !f.config_fallback, "{}", f.name);
        }
    }

    #[test]
    fn every_field_round_trips_through_get_and_set() {
        let p = full();
        let mut q = Provider::new("full", "");
        for f in FIELDS {
            let v = (f.get)(&p);
            assert!(
                f.check(v.as_ref().unwrap()).is_ok(),
                "{} checks its own value",
                f.name
            );
            (f.set)(&mut q, v.as_ref());
        }
        assert_eq!(p, q);
        assert!(same(&p, &q));
        q.headers.reverse();
        assert!(same(&p, &q), "map entries compare in any order");
        assert_eq!(fingerprint(&p), fingerprint(&q));
        q.timeout_secs = Some(31);
        assert_eq!(changed(&p, &q), ["timeout_secs"]);
    }

    #[test]
    fn one_rule_one_message() {
        let t = field("timeout_secs").unwrap();
        let from_value = t.check(&Value::from(0)).unwrap_err()[0].message.clone();
        let from_flag = t.parse_arg("0").unwrap_err();
        assert!(from_value.starts_with("must be a whole number of seconds from 1 to 86400"));
        assert!(from_flag.starts_with("must be a whole number of seconds from 1 to 86400"));
        let h = field("headers").unwrap();
        let dup = h.check(&json!({"X-A": "1", "x-a": "2"})).unwrap_err();
        assert_eq!(dup[0].path, ["headers", "x-a"]);
        assert!(dup[0].at_key && dup[0].message.contains("given twice"));
    }
}
