//! opencode (`opencode.json`): a `provider.NAME` per provider through the
//! AI SDK package for its protocol, its models under `models`
//! (`opencode -m NAME/MODEL`).

use serde_json::{Map, Value, json};

use super::doc::Place;
use super::{Input, Key, Out, Tool, models_of};
use crate::provider::Wire;

pub const PLACE: Place = Place::Map {
    path: &["provider"],
};

pub const MAPS: &[&str] = &[
    "base_url",
    "default_model",
    "models",
    "api_key",
    "api_key_env",
    "auth_type",
    "headers",
    "timeout_secs",
    "wire",
];

pub fn skeleton() -> Value {
    json!({"$schema": "https://opencode.ai/config.json"})
}

fn env(var: &str) -> String {
    format!("{{env:{var}}}")
}

pub fn map(input: &Input<'_>, out: &mut Out) {
    let p = input.provider;
    let wire = p.wire.unwrap_or(Wire::Chat);
    let npm = match wire {
        Wire::Chat => "@ai-sdk/openai-compatible",
        Wire::Responses => "@ai-sdk/openai",
        Wire::Messages => "@ai-sdk/anthropic",
    };
    let mut options = Map::new();
    options.insert("baseURL".into(), json!(p.base_url));
    let key = match &input.key {
        Key::Env(v) => Some(env(v)),
        Key::File(path) => Some(format!("{{file:{path}}}")),
        _ => None,
    };
    let mut hdrs = super::headers(input, super::EnvIn::Anywhere(env), Tool::Opencode, out);
    // The Anthropic package sends its key as x-api-key itself.
    super::put_key(
        p,
        key,
        wire == Wire::Messages,
        &mut hdrs,
        &mut options,
        "apiKey",
    );
    if !hdrs.is_empty() {
        options.insert("headers".into(), Value::Object(hdrs));
    }
    if let Some(t) = p.timeout_secs {
        options.insert("timeout".into(), json!(t * 1000));
    }
    let mut models = Map::new();
    for m in models_of(p) {
        let mut e = Map::new();
        if m.id != m.key {
            e.insert("id".into(), json!(m.id));
        }
        e.insert(
            "name".into(),
            json!(m.description.clone().unwrap_or_else(|| m.key.clone())),
        );
        // opencode's `limit` takes both numbers or none.
        match (m.context_window, m.max_output_tokens) {
            (Some(c), Some(o)) => {
                e.insert("limit".into(), json!({"context": c, "output": o}));
            }
            (None, None) => {}
            _ => out.warn(p, format!("model {}: opencode's `limit` needs both context_window and max_output_tokens; left out", m.key)),
        }
        if m.wire != wire {
            out.warn(p, format!("model {}: opencode sets the protocol per provider ({}); its wire = {} is not kept", m.key, wire.as_str(), m.wire.as_str()));
        }
        models.insert(m.key.clone(), Value::Object(e));
    }
    if models.is_empty() {
        out.no_models(p, "opencode lists none for it");
    }
    let entry = json!({
        "npm": npm,
        "name": p.name,
        "options": Value::Object(options),
        "models": Value::Object(models),
    });
    out.push(PLACE, p.name.clone(), entry);
}
