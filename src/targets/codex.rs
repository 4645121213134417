//! Codex (`~/.codex/config.toml`): a `[model_providers.NAME]` per
//! provider and a `[profiles.NAME]` that picks its default model
//! (`codex --profile NAME`).

use serde_json::{Map, Value, json};

use super::doc::Place;
use super::{Input, Key, Out, Tool, default_model, models_of};
use crate::provider::Wire;

pub const PROVIDERS: Place = Place::Map {
    path: &["model_providers"],
};
pub const PROFILES: Place = Place::Map {
    path: &["profiles"],
};

pub const MAPS: &[&str] = &[
    "base_url",
    "default_model",
    "models",
    "api_key",
    "api_key_env",
    "auth_type",
    "headers",
    "query_params",
    "wire",
];

pub fn map(input: &Input<'_>, out: &mut Out) {
    let p = input.provider;
    let wire = p.wire.unwrap_or(Wire::Chat);
    if wire == Wire::Messages {
        out.warn(
            p,
            "Codex cannot speak the Anthropic Messages protocol; nothing written",
        );
        return;
    }
    let mut e = Map::new();
    e.insert("name".into(), json!(p.name));
    e.insert("base_url".into(), json!(p.base_url));
    let var = match &input.key {
        Key::Env(v) => Some(v.clone()),
        Key::File(path) => {
            out.warn(p, format!("its key is read from the file {path}, which Codex cannot read; no key written (use `api_key = \"${{env:VAR}}\"`)"));
            None
        }
        _ => None,
    };
    let mut env_headers = Map::new();
    match (&var, super::key_header(p)) {
        (Some(v), None) => {
            e.insert("env_key".into(), json!(v));
        }
        (Some(v), Some(h)) => {
            env_headers.insert(h.into(), json!(v));
        }
        _ => {}
    }
    e.insert("wire_api".into(), json!(wire.as_str()));
    if !p.query_params.is_empty() {
        let q: Map<String, Value> = p
            .query_params
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        e.insert("query_params".into(), Value::Object(q));
    }
    // Codex reads a header from a variable only as its whole value.
    let mut plain = Map::new();
    for (name, value) in &p.headers {
        if let Some(v) = whole_env(value) {
            env_headers.insert(name.clone(), json!(v));
        } else if crate::secret::envref::contains_reference(value) {
            out.warn(
                p,
                format!("header {name}: Codex reads a header from a variable only as its whole value (`${{env:VAR}}`); left out"),
            );
        } else if super::literal_credential(name, value) {
            out.warn(p, super::literal_warning(name, Tool::Codex));
        } else {
            plain.insert(name.clone(), json!(value));
        }
    }
    if !plain.is_empty() {
        e.insert("http_headers".into(), Value::Object(plain));
    }
    if !env_headers.is_empty() {
        e.insert("env_http_headers".into(), Value::Object(env_headers));
    }
    out.push(PROVIDERS, p.name.clone(), Value::Object(e));
    let models = models_of(p);
    match default_model(p).and_then(|k| models.iter().find(|m| m.key == k).cloned()) {
        Some(m) => {
            if models.len() > 1 {
                out.used.push("models");
            }
            out.push(
                PROFILES,
                p.name.clone(),
                json!({"model": m.id, "model_provider": p.name}),
            );
        }
        None => out.warn(p, "no default model, so no profile (set default_model)"),
    }
}

/// `VAR` when `value` is exactly `${env:VAR}`.
fn whole_env(value: &str) -> Option<&str> {
    match super::single_reference(value) {
        Some((crate::secret::envref::Source::Env, v)) => Some(v),
        _ => None,
    }
}
