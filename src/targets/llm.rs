//! llm (`extra-openai-models.yaml` in llm's user folder): one entry per
//! model, `llm -m PROVIDER/MODEL`.

use serde_json::{Map, Value, json};

use super::doc::Place;
use super::{Input, Key, Out, Tool, headers, models_of};
use crate::provider::Wire;

/// The file is the list, each entry named by `model_id`.
pub const PLACE: Place = Place::List {
    path: &[],
    key: "model_id",
    or: None,
};

pub const MAPS: &[&str] = &[
    "base_url",
    "default_model",
    "models",
    "headers",
    "api_key",
    "api_key_env",
    "auth_type",
    "wire",
];

pub fn map(input: &Input<'_>, out: &mut Out) {
    let p = input.provider;
    let all = models_of(p);
    if all.is_empty() {
        out.no_models(p, "nothing written");
        return;
    }
    let (models, messages): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|m| m.wire != Wire::Messages);
    if models.is_empty() {
        out.warn(
            p,
            "llm's OpenAI-compatible models cannot speak the Anthropic Messages protocol; nothing written",
        );
        return;
    }
    for m in messages {
        out.warn(p, format!("model {}: llm's OpenAI-compatible models cannot speak the Anthropic Messages protocol; left out", m.key));
    }
    let key_name = match &input.key {
        // llm falls back to OPENAI_API_KEY itself.
        Key::Env(var) if var == "OPENAI_API_KEY" => Some(var.clone()),
        Key::Env(var) => {
            out.notes.push(format!("llm reads the key of {} from its own key store, not from ${var}: store it once with `llm keys set {var}` (or pass `llm --key`)", p.name));
            Some(var.clone())
        }
        Key::File(path) => {
            out.warn(p, format!("its key is read from the file {path}, which llm cannot read; no key written (store it with `llm keys set NAME`)"));
            None
        }
        _ => None,
    };
    if super::key_header(p).is_some() && key_name.is_some() {
        out.warn(p, format!("llm sends keys only as `Authorization: Bearer`; this provider's auth_type is {}, so its key is not written", p.auth_type.as_str()));
    }
    let extra = headers(input, super::EnvIn::Nowhere, Tool::Llm, out);
    for m in models {
        let mut e = Map::new();
        e.insert("model_id".into(), json!(format!("{}/{}", p.name, m.key)));
        e.insert("model_name".into(), json!(m.id));
        e.insert("api_base".into(), json!(p.base_url));
        match &key_name {
            Some(var) if super::key_header(p).is_none() => {
                e.insert("api_key_name".into(), json!(var));
            }
            _ => {}
        }
        if !extra.is_empty() {
            e.insert("headers".into(), Value::Object(extra.clone()));
        }
        if m.wire == Wire::Responses {
            e.insert("responses".into(), json!(true));
        }
        e.insert("can_stream".into(), json!(!m.no_stream));
        out.push(PLACE, format!("{}/{}", p.name, m.key), Value::Object(e));
    }
}
