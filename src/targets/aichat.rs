//! aichat (`clients:` in its config.yaml): an `openai-compatible` client
//! per provider (`claude` for the Messages protocol), its models listed,
//! `aichat -m NAME:MODEL`.

use serde_json::{Map, Value, json};

use super::doc::Place;
use super::{Input, Out, Tool, models_of};
use crate::provider::Wire;

pub const PLACE: Place = Place::List {
    path: &["clients"],
    key: "name",
    or: Some("type"),
};

pub const MAPS: &[&str] = &[
    "base_url",
    "default_model",
    "models",
    "api_key",
    "api_key_env",
    "auth_type",
    "proxy",
    "connect_timeout_secs",
    "wire",
    "headers",
];

/// The variable aichat reads a client's key from: `NAME_API_KEY`,
/// upper-cased (aichat changes nothing else: `my-llm` reads
/// `MY-LLM_API_KEY`, which a shell cannot set).
pub fn env_name(client: &str) -> String {
    format!("{client}_API_KEY").to_ascii_uppercase()
}

pub fn map(input: &Input<'_>, out: &mut Out) {
    let p = input.provider;
    let wire = p.wire.unwrap_or(Wire::Chat);
    let mut e = Map::new();
    e.insert(
        "type".into(),
        json!(if wire == Wire::Messages {
            "claude"
        } else {
            "openai-compatible"
        }),
    );
    e.insert("name".into(), json!(p.name));
    e.insert("api_base".into(), json!(p.base_url));
    // aichat has no way to name a variable: it reads NAME_API_KEY.
    if let Some(var) = super::key_var(input, Tool::Aichat, out) {
        let wanted = env_name(&p.name);
        if !crate::secret::envref::is_var_name(&wanted) {
            out.warn(p, format!("aichat reads this client's key from {wanted}, which a shell cannot set (rename the provider without `-` or `.` for aichat to read a key)"));
        } else if var != wanted {
            out.warn(p, format!("aichat reads this client's key from {wanted}, not {var}; set {wanted} too (e.g. `export {wanted}=\"${var}\"`)"));
        }
    }
    if wire == Wire::Responses {
        out.warn(p, "aichat has no Responses API client; written as `openai-compatible`, which sends POST /chat/completions (it works only if the server answers that too)");
    }
    if super::key_header(p).is_some() && wire != Wire::Messages {
        out.warn(p, format!("aichat's openai-compatible client sends the key as `Authorization: Bearer`, not in the {} header", super::key_header(p).unwrap_or_default()));
    }
    // Plain headers go in a patch for every model of the client; aichat
    // reads no variables there.
    let hdrs = super::headers(input, super::EnvIn::Nowhere, Tool::Aichat, out);
    if !hdrs.is_empty() {
        e.insert(
            "patch".into(),
            json!({ "chat_completions": { ".*": { "headers": Value::Object(hdrs) } } }),
        );
    }
    let mut extra = Map::new();
    if let Some(proxy) = &p.proxy {
        extra.insert("proxy".into(), json!(proxy));
    }
    if let Some(c) = p.connect_timeout_secs {
        extra.insert("connect_timeout".into(), json!(c));
    }
    if !extra.is_empty() {
        e.insert("extra".into(), Value::Object(extra));
    }
    let models: Vec<Value> = models_of(p)
        .into_iter()
        .map(|m| {
            let mut o = Map::new();
            o.insert("name".into(), json!(m.id));
            if let Some(c) = m.context_window {
                o.insert("max_input_tokens".into(), json!(c));
            }
            if let Some(t) = m.max_output_tokens {
                o.insert("max_output_tokens".into(), json!(t));
            }
            Value::Object(o)
        })
        .collect();
    if models.is_empty() {
        out.no_models(p, "aichat lists none for it");
    }
    e.insert("models".into(), Value::Array(models));
    out.push(PLACE, p.name.clone(), Value::Object(e));
}
