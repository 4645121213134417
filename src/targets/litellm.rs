//! LiteLLM's proxy (`model_list` in its config.yaml): one entry per model,
//! named `PROVIDER/MODEL`, routed with the `openai/` (`openai/responses/`
//! for the Responses API, `anthropic/` for Messages) provider to the
//! provider's base URL.

use serde_json::{Map, Value, json};

use super::doc::Place;
use super::{Input, Out, Tool, models_of};
use crate::provider::Wire;

pub const PLACE: Place = Place::List {
    path: &["model_list"],
    key: "model_name",
    or: None,
};

pub const MAPS: &[&str] = &[
    "base_url",
    "default_model",
    "models",
    "api_key",
    "api_key_env",
    "auth_type",
    "timeout_secs",
    "wire",
    "headers",
];

pub fn map(input: &Input<'_>, out: &mut Out) {
    let p = input.provider;
    let models = models_of(p);
    if models.is_empty() {
        out.no_models(p, "nothing written");
        return;
    }
    let key = super::key_var(input, Tool::Litellm, out).map(|var| format!("os.environ/{var}"));
    let extra = super::headers(
        input,
        super::EnvIn::Whole(|v| format!("os.environ/{v}")),
        Tool::Litellm,
        out,
    );
    for m in models {
        if m.wire != Wire::Messages && key.is_some() && super::key_header(p).is_some() {
            out.warn(p, format!("model {}: LiteLLM's openai/ route sends the key as `Authorization: Bearer`, not in the {} header this provider uses", m.key, super::key_header(p).unwrap_or_default()));
        }
        let mut params = Map::new();
        let (route, base) = match m.wire {
            // LiteLLM adds `/v1/messages` to an Anthropic base itself.
            Wire::Messages => (
                "anthropic",
                p.base_url
                    .strip_suffix("/v1")
                    .unwrap_or(&p.base_url)
                    .to_string(),
            ),
            // `openai/responses/ID` makes LiteLLM speak the Responses
            // API to the server, whichever endpoint it was asked on.
            Wire::Responses => ("openai/responses", p.base_url.clone()),
            Wire::Chat => ("openai", p.base_url.clone()),
        };
        params.insert("model".into(), json!(format!("{route}/{}", m.id)));
        params.insert("api_base".into(), json!(base));
        // LiteLLM's OpenAI client refuses to start a request without a
        // key; a server that needs none ignores this placeholder.
        params.insert(
            "api_key".into(),
            json!(key.clone().unwrap_or_else(|| "none".into())),
        );
        if let Some(t) = p.timeout_secs {
            params.insert("timeout".into(), json!(t));
        }
        if !extra.is_empty() {
            params.insert("extra_headers".into(), Value::Object(extra.clone()));
        }
        let mut e = Map::new();
        let name = format!("{}/{}", p.name, m.key);
        e.insert("model_name".into(), json!(name));
        e.insert("litellm_params".into(), Value::Object(params));
        let mut info = Map::new();
        if let Some(c) = m.context_window {
            info.insert("max_input_tokens".into(), json!(c));
        }
        if let Some(o) = m.max_output_tokens {
            info.insert("max_output_tokens".into(), json!(o));
        }
        if let Some(d) = &m.description {
            info.insert("description".into(), json!(d));
        }
        if !info.is_empty() {
            e.insert("model_info".into(), Value::Object(info));
        }
        out.push(PLACE, name, Value::Object(e));
    }
}
