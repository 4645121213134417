//! Continue (`~/.continue/config.yaml`): one `models` entry per model,
//! named `PROVIDER/MODEL`, the key as `${{ secrets.VAR }}`.

use serde_json::{Map, Value, json};

use super::doc::Place;
use super::{Input, Out, Tool, models_of};
use crate::provider::Wire;

pub const PLACE: Place = Place::List {
    path: &["models"],
    key: "name",
    or: None,
};

pub const MAPS: &[&str] = &[
    "base_url",
    "default_model",
    "models",
    "api_key",
    "api_key_env",
    "auth_type",
    "headers",
    "wire",
    "timeout_secs",
];

pub fn skeleton() -> Value {
    json!({"name": "aix", "version": "1.0.0", "schema": "v1"})
}

fn secret(var: &str) -> String {
    format!("${{{{ secrets.{var} }}}}")
}

pub fn map(input: &Input<'_>, out: &mut Out) {
    let p = input.provider;
    let models = models_of(p);
    if models.is_empty() {
        out.no_models(p, "nothing written");
        return;
    }
    let key = super::key_var(input, Tool::Continue, out).map(|v| secret(&v));
    let hdrs = super::headers(input, super::EnvIn::Anywhere(secret), Tool::Continue, out);
    for m in models {
        let provider = match m.wire {
            Wire::Messages => "anthropic",
            Wire::Responses if p.base_url.trim_end_matches('/') == "https://api.openai.com/v1" => {
                "openai"
            }
            Wire::Responses => {
                // Continue's openai provider uses the Responses API only
                // for api.openai.com itself.
                out.warn(p, format!("model {}: Continue speaks the Responses API only to api.openai.com; written as `provider: openai`, which sends POST /chat/completions (it works only if the server answers that too)", m.key));
                "openai"
            }
            Wire::Chat => "openai",
        };
        let mut e = Map::new();
        let name = format!("{}/{}", p.name, m.key);
        e.insert("name".into(), json!(name));
        e.insert("provider".into(), json!(provider));
        e.insert("model".into(), json!(m.id));
        e.insert("apiBase".into(), json!(p.base_url));
        // Each model its own copy: where the key goes depends on its wire.
        let mut hdrs = hdrs.clone();
        super::put_key(
            p,
            key.clone(),
            m.wire == Wire::Messages,
            &mut hdrs,
            &mut e,
            "apiKey",
        );
        let mut options = Map::new();
        if !hdrs.is_empty() {
            options.insert("headers".into(), Value::Object(hdrs));
        }
        if let Some(t) = p.timeout_secs {
            options.insert("timeout".into(), json!(t));
        }
        if !options.is_empty() {
            e.insert("requestOptions".into(), Value::Object(options));
        }
        let mut completion = Map::new();
        if let Some(c) = m.context_window {
            completion.insert("contextLength".into(), json!(c));
        }
        if let Some(t) = m.max_output_tokens {
            completion.insert("maxTokens".into(), json!(t));
        }
        if !completion.is_empty() {
            e.insert("defaultCompletionOptions".into(), Value::Object(completion));
        }
        e.insert("roles".into(), json!(["chat", "edit", "apply"]));
        out.push(PLACE, name, Value::Object(e));
    }
}
