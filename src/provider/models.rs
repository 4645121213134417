//! A provider's models table: named entries, each sent as its `id`, with
//! its own request shaping (`extra_body` deep-merged over the provider's,
//! `max_tokens_param`, `stream_usage`, a `temperature` default or `false`
//! to never send one, `stream = false` for models that cannot stream) and
//! what it is known for (`description`, `context_window`,
//! `max_output_tokens`).
//!
//! The table is one provider field (`models`), checked here; a run that
//! names an entry's key (`--model KEY`, `default_model = "KEY"`) gets the
//! entry applied by [`Model::apply`]. A name not in the table is sent as
//! it is.

use serde_json::{Map, Value};

use super::shaping::{self, Placed};
use super::{MaxTokensParam, Provider, Wire};

/// The keys a model entry may have, with what each is.
pub const MODEL_KEYS: &[(&str, &str)] = &[
    (
        "id",
        "the model id sent to the server (default: the entry's key)",
    ),
    ("description", "what the model is for"),
    ("context_window", "tokens of context the model takes"),
    (
        "max_output_tokens",
        "most tokens the model writes in one answer",
    ),
    (
        "extra_body",
        "fields deep-merged over the provider's extra_body",
    ),
    ("max_tokens_param", "max_tokens or max_completion_tokens"),
    ("stream_usage", "whether streams ask for usage"),
    ("wire", "the protocol: chat, responses or messages"),
    (
        "temperature",
        "default temperature (0-2), or false to never send one",
    ),
    ("stream", "false for a model that cannot stream"),
];

const MAX_KEY_LEN: usize = 128;

/// A model's temperature setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Temperature {
    /// Used when the run sets none.
    Default(f64),
    /// Never sent, whatever the run or config.json says.
    Never,
}

/// One entry of a provider's models table.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub key: String,
    pub id: String,
    pub description: Option<String>,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub extra_body: Option<Map<String, Value>>,
    pub max_tokens_param: Option<MaxTokensParam>,
    pub stream_usage: Option<bool>,
    pub wire: Option<Wire>,
    pub temperature: Option<Temperature>,
    pub stream: Option<bool>,
}

impl Model {
    /// Reads an entry that [`check`] accepted.
    pub fn from_json(key: &str, v: &Value) -> Model {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
        Model {
            key: key.to_string(),
            id: s("id").unwrap_or_else(|| key.to_string()),
            description: s("description"),
            context_window: v.get("context_window").and_then(Value::as_u64),
            max_output_tokens: v.get("max_output_tokens").and_then(Value::as_u64),
            extra_body: v.get("extra_body").and_then(Value::as_object).cloned(),
            max_tokens_param: v
                .get("max_tokens_param")
                .and_then(Value::as_str)
                .and_then(|m| MaxTokensParam::parse(m).ok()),
            stream_usage: v.get("stream_usage").and_then(Value::as_bool),
            wire: v
                .get("wire")
                .and_then(Value::as_str)
                .and_then(|w| Wire::parse(w).ok()),
            temperature: match v.get("temperature") {
                Some(Value::Bool(false)) => Some(Temperature::Never),
                Some(n) => n.as_f64().map(Temperature::Default),
                None => None,
            },
            stream: v.get("stream").and_then(Value::as_bool),
        }
    }

    /// `p` with this entry's request shaping over its own: `extra_body`
    /// deep-merged, the others replaced where the entry sets them.
    pub fn apply(&self, p: &mut Provider) {
        if let Some(extra) = &self.extra_body {
            let mut merged = Value::Object(p.extra_body.take().unwrap_or_default());
            shaping::deep_merge(&mut merged, &Value::Object(extra.clone()));
            p.extra_body = merged.as_object().cloned();
        }
        if self.max_tokens_param.is_some() {
            p.max_tokens_param = self.max_tokens_param;
        }
        if self.stream_usage.is_some() {
            p.stream_usage = self.stream_usage;
        }
        if self.wire.is_some() {
            p.wire = self.wire;
        }
        // Never sent means never: not from an `extra_body` either.
        if self.temperature == Some(Temperature::Never)
            && let Some(b) = &mut p.extra_body
        {
            b.shift_remove("temperature");
            if b.is_empty() {
                p.extra_body = None;
            }
        }
    }

    /// The entry as JSON for listings, with its effective id.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("key".into(), Value::from(self.key.as_str()));
        o.insert("id".into(), Value::from(self.id.as_str()));
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                o.insert(k.into(), v);
            }
        };
        put("description", self.description.clone().map(Value::from));
        put("context_window", self.context_window.map(Value::from));
        put("max_output_tokens", self.max_output_tokens.map(Value::from));
        put("extra_body", self.extra_body.clone().map(Value::Object));
        put(
            "max_tokens_param",
            self.max_tokens_param.map(|m| Value::from(m.as_str())),
        );
        put("stream_usage", self.stream_usage.map(Value::Bool));
        put("wire", self.wire.map(|w| Value::from(w.as_str())));
        put(
            "temperature",
            self.temperature.map(|t| match t {
                Temperature::Never => Value::Bool(false),
                Temperature::Default(x) => {
                    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                }
            }),
        );
        put("stream", self.stream.map(Value::Bool));
        Value::Object(o)
    }
}

impl Provider {
    /// The models table's entry `key`, if there is one.
    pub fn model(&self, key: &str) -> Option<Model> {
        self.models
            .as_ref()
            .and_then(|m| m.get(key))
            .map(|v| Model::from_json(key, v))
    }

    /// Every entry of the models table, in its order.
    pub fn model_entries(&self) -> Vec<Model> {
        self.models
            .iter()
            .flat_map(|m| m.iter().map(|(k, v)| Model::from_json(k, v)))
            .collect()
    }
}

/// Checks a model key: 1-128 characters, no spaces or control characters.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("a model key is empty".into());
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(format!(
            "model key {:?} is longer than {MAX_KEY_LEN} characters",
            crate::output::clip(key, 80)
        ));
    }
    if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "model key {:?} contains a space or a control character",
            crate::output::clip(key, 80)
        ));
    }
    Ok(())
}

/// The rule of the `models` field: every key, every entry's keys, types
/// and ranges, and no key that is another entry's id (which would make
/// `--model` ambiguous). Every problem is returned, each naming its entry.
pub fn check(models: &Map<String, Value>) -> Vec<Placed> {
    let at = |key: &str, field: Option<&str>| -> Vec<String> {
        std::iter::once(key.to_string())
            .chain(field.map(String::from))
            .collect()
    };
    let mut out: Vec<Placed> = Vec::new();
    let mut put = |path: Vec<String>, m: String, hint: &str| out.push((path, m, hint.to_string()));
    let known: Vec<&str> = MODEL_KEYS.iter().map(|(k, _)| *k).collect();
    for (key, entry) in models {
        if let Err(m) = check_key(key) {
            put(at(key, None), m, "use letters, digits and . _ - : /");
            continue;
        }
        let Value::Object(obj) = entry else {
            put(
                at(key, None),
                format!(
                    "model {key:?} must be a table of settings, not {}",
                    super::type_name(entry)
                ),
                "write it as [providers.NAME.models.KEY] with id = \"...\"",
            );
            continue;
        };
        for (k, v) in obj {
            if !known.contains(&k.as_str()) {
                let hint = crate::suggest::closest_ignoring_case(k, &known)
                    .map(|s| format!("did you mean {s:?}?"))
                    .unwrap_or_else(|| format!("a model entry takes {}", known.join(", ")));
                put(
                    at(key, Some(k)),
                    format!("model {key:?}: {k:?} is not a model setting"),
                    &hint,
                );
                continue;
            }
            let problem = match (k.as_str(), v) {
                ("id", Value::String(s)) => super::parse_model(s).err(),
                ("description", Value::String(s)) if s.len() <= 1024 => None,
                ("description", Value::String(_)) => Some("is longer than 1024 bytes".into()),
                ("context_window" | "max_output_tokens", Value::Number(n))
                    if n.as_u64().is_some_and(|n| n > 0) =>
                {
                    None
                }
                ("context_window" | "max_output_tokens", _) => {
                    Some(format!("must be a positive whole number, not {v}"))
                }
                ("extra_body", Value::Object(m)) => {
                    if let Err((mut path, m, hint)) = shaping::check_extra_body(m) {
                        let mut full = at(key, Some(k));
                        full.append(&mut path);
                        put(full, format!("model {key:?}: extra_body: {m}"), &hint);
                    }
                    None
                }
                ("max_tokens_param", Value::String(s)) => MaxTokensParam::parse(s).err(),
                ("wire", Value::String(s)) => Wire::parse(s).err(),
                ("stream_usage" | "stream", Value::Bool(_)) => None,
                ("temperature", Value::Bool(false)) => None,
                ("temperature", Value::Number(n))
                    if n.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t)) =>
                {
                    None
                }
                ("temperature", _) => Some(format!(
                    "must be a number from 0 to 2, or false to never send one, not {v}"
                )),
                ("id" | "description" | "max_tokens_param" | "wire", other) => {
                    Some(format!("must be a string, not {}", super::type_name(other)))
                }
                ("extra_body", other) => {
                    Some(format!("must be a table, not {}", super::type_name(other)))
                }
                (_, other) => Some(format!(
                    "must be true or false, not {}",
                    super::type_name(other)
                )),
            };
            if let Some(m) = problem {
                put(
                    at(key, Some(k)),
                    format!("model {key:?}: {k}: {m}"),
                    "see docs/providers.md (Models)",
                );
            }
        }
    }
    for (key, entry) in models {
        let id = entry.get("id").and_then(Value::as_str).unwrap_or(key);
        if let Some((other, _)) = models
            .iter()
            .find(|(k, e)| *k != key && k.as_str() == id && e.get("id").is_some_and(|i| i != id))
        {
            put(
                at(key, Some("id")),
                format!("model {key:?} sends id {id:?}, which is also the key of model {other:?}"),
                "give one of them another key, so that --model names one entry",
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_json(v: Value) -> Result<(), Placed> {
        match check(v.as_object().unwrap()).into_iter().next() {
            Some(p) => Err(p),
            None => Ok(()),
        }
    }

    #[test]
    fn entries_are_checked() {
        assert!(check_json(json!({
            "llama": {"id": "llama3.2:3b", "context_window": 131072, "extra_body": {"options": {"num_ctx": 8192}}},
            "qwen-fast": {"id": "qwen3", "stream": false, "temperature": false},
            "plain": {}
        }))
        .is_ok());
        let (path, m, hint) = check_json(json!({"a": {"contxt_window": 5}})).unwrap_err();
        assert_eq!(path, ["a", "contxt_window"]);
        assert!(m.contains("not a model setting"));
        assert!(hint.contains("context_window"), "{hint}");
        assert!(check_json(json!({"a": {"temperature": 3}})).is_err());
        assert!(check_json(json!({"a": {"wire": "messages"}})).is_ok());
        let (_, m, _) = check_json(json!({"a": {"wire": "anthropic"}})).unwrap_err();
        assert!(m.contains("did you mean \"messages\""), "{m}");
        assert!(check_json(json!({"a": {"extra_body": {"model": "x"}}})).is_err());
        assert!(check_json(json!({"a b": {}})).is_err());
        assert!(check_json(json!({"a": "x"})).is_err());
        // A key that is another entry's id is ambiguous.
        assert!(check_json(json!({"fast": {"id": "big"}, "big": {"id": "huge"}})).is_err());
        // Two variants of one id are fine.
        assert!(check_json(json!({"q": {"id": "qwen3"}, "q-fast": {"id": "qwen3"}})).is_ok());
    }

    #[test]
    fn applying_merges_over_the_provider() {
        let mut p = Provider::new("p", "http://h/v1");
        p.extra_body = json!({"options": {"num_ctx": 2048, "top_k": 5}})
            .as_object()
            .cloned();
        let m = Model::from_json(
            "big",
            &json!({"id": "llama3.2", "extra_body": {"options": {"num_ctx": 32768}}, "stream_usage": false}),
        );
        m.apply(&mut p);
        assert_eq!(
            Value::Object(p.extra_body.unwrap()),
            json!({"options": {"num_ctx": 32768, "top_k": 5}})
        );
        assert_eq!(p.stream_usage, Some(false));
        assert_eq!(m.id, "llama3.2");
    }
}
