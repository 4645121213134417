//! Codex (`~/.codex/config.toml`): a `[model_providers.NAME]` per
//! provider, and beside the file a profile `NAME.config.toml` that picks
//! the provider and its default model (`codex --profile NAME`).
//!
//! Codex speaks only the Responses API (`wire_api = "chat"` is refused by
//! current versions), and reserves the ids `openai`, `ollama` and
//! `lmstudio` for its own providers.

use serde_json::{Map, Value, json};

use super::doc::Place;
use super::{Input, Item, Out, Tool, default_model, models_of};
use crate::provider::Wire;

pub const PROVIDERS: Place = Place::Map {
    path: &["model_providers"],
};
/// A profile file's top-level keys.
pub const PROFILE: Place = Place::Map { path: &[] };

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

/// Provider ids Codex keeps for its built-ins.
const RESERVED: &[&str] = &["openai", "ollama", "lmstudio"];

/// The id a provider gets in Codex's file.
pub fn provider_id(name: &str) -> String {
    if RESERVED.contains(&name) {
        format!("{name}-aix")
    } else {
        name.to_string()
    }
}

pub fn map(input: &Input<'_>, out: &mut Out) {
    let p = input.provider;
    let wire = p.wire.unwrap_or(Wire::Chat);
    match wire {
        Wire::Messages => {
            out.warn(
                p,
                "Codex cannot speak the Anthropic Messages protocol; nothing written",
            );
            return;
        }
        Wire::Chat => out.warn(
            p,
            "Codex speaks only the Responses API (it refuses `wire_api = \"chat\"`); written, but it works only if the server also answers POST /responses (declare `wire = \"responses\"` to say so)",
        ),
        Wire::Responses => {}
    }
    let id = provider_id(&p.name);
    if id != p.name {
        out.warn(
            p,
            format!(
                "Codex reserves the provider id `{}`; written as `{id}`",
                p.name
            ),
        );
    }
    let mut e = Map::new();
    e.insert("name".into(), json!(p.name));
    e.insert("base_url".into(), json!(p.base_url));
    let var = super::key_var(input, Tool::Codex, out);
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
    out.push(PROVIDERS, id.clone(), Value::Object(e));
    let models = models_of(p);
    match default_model(p).and_then(|k| models.iter().find(|m| m.key == k).cloned()) {
        Some(m) => {
            // One profile per provider: its default model. Other models
            // are chosen with `codex -m ID`.
            // Codex takes letters, digits, `-` and `_` in a profile's name.
            let profile: String = p
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            if profile != p.name {
                out.warn(p, format!("Codex profile names take letters, digits, `-` and `_`: its profile is `{profile}` (codex --profile {profile})"));
            }
            let file = Some(format!("{profile}.config.toml"));
            for (key, value) in [("model", json!(m.id)), ("model_provider", json!(id))] {
                out.items.push(Item {
                    file: file.clone(),
                    place: PROFILE,
                    key: key.into(),
                    value,
                });
            }
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
