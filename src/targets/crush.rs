//! Crush (`crush.json`): a `providers.NAME` per provider, its models as
//! a list.

use serde_json::{Map, Value, json};

use super::doc::Place;
use super::{Input, Out, Tool, models_of};
use crate::provider::Wire;

pub const PLACE: Place = Place::Map {
    path: &["providers"],
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
    "extra_body",
];

pub fn skeleton() -> Value {
    json!({"$schema": "https://charm.land/crush.json"})
}

fn env(var: &str) -> String {
    format!("${var}")
}

pub fn map(input: &Input<'_>, out: &mut Out) {
    let p = input.provider;
    let wire = p.wire.unwrap_or(Wire::Chat);
    let kind = match wire {
        Wire::Chat => "openai-compat",
        Wire::Responses => "openai",
        Wire::Messages => "anthropic",
    };
    let mut e = Map::new();
    e.insert("name".into(), json!(p.name));
    e.insert("type".into(), json!(kind));
    e.insert("base_url".into(), json!(p.base_url));
    let key = super::key_var(input, Tool::Crush, out).map(|v| env(&v));
    let mut hdrs = super::headers(input, super::EnvIn::Anywhere(env), Tool::Crush, out);
    super::put_key(p, key, wire == Wire::Messages, &mut hdrs, &mut e, "api_key");
    if !hdrs.is_empty() {
        e.insert("extra_headers".into(), Value::Object(hdrs));
    }
    if let Some(body) = &p.extra_body {
        if crate::provider::shaping::each_string(
            &Value::Object(body.clone()),
            &mut Vec::new(),
            &mut |_, s| {
                if crate::secret::envref::contains_reference(s) {
                    Err(())
                } else {
                    Ok(())
                }
            },
        )
        .is_ok()
        {
            e.insert("extra_body".into(), Value::Object(body.clone()));
        } else {
            out.warn(
                p,
                "extra_body holds `${...}` references, which only aix resolves; left out",
            );
        }
    }
    let models: Vec<Value> = models_of(p)
        .into_iter()
        .map(|m| {
            let mut o = Map::new();
            o.insert("id".into(), json!(m.id));
            o.insert(
                "name".into(),
                json!(m.description.clone().unwrap_or_else(|| m.key.clone())),
            );
            if let Some(c) = m.context_window {
                o.insert("context_window".into(), json!(c));
            }
            if let Some(t) = m.max_output_tokens {
                o.insert("default_max_tokens".into(), json!(t));
            }
            Value::Object(o)
        })
        .collect();
    if models.is_empty() {
        out.no_models(p, "Crush lists none for it");
    }
    e.insert("models".into(), Value::Array(models));
    out.push(PLACE, p.name.clone(), Value::Object(e));
}
