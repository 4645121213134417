//! config.json's top-level settings, declared once.
//!
//! The earlier AIX kept run defaults at the top of config.json
//! (`default_provider`, `max_tokens`, `temperature`, `streaming`, ...);
//! aix reads them with the same meaning. Each is one [`Setting`] here with
//! its type, range and documentation, read by the store (refusing a bad
//! `aix config set`), by runs (refusing a bad hand edit rather than using
//! it), by `aix validate` and by the JSON Schema, so all four say the same
//! thing in the same words. Settings that are defaults of a provider field
//! (`timeout_secs`, `max_time_secs`) follow that field's rule.

use serde_json::{Value, json};

use crate::provider::fields;

/// What a setting holds.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A non-empty string.
    Name,
    /// A whole number from 1 up.
    Count,
    /// A number in a range.
    Number {
        min: f64,
        max: f64,
    },
    Bool,
    /// The default of the provider field of the same name.
    FieldDefault,
}

/// One top-level setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub doc: &'static str,
    pub kind: Kind,
}

/// The settings, in the order the schema lists them.
pub static SETTINGS: &[Setting] = &[
    Setting {
        name: "default_provider",
        doc: "Provider used when `aix run` names none.",
        kind: Kind::Name,
    },
    Setting {
        name: "default_model",
        doc: "Model used with the default provider when nothing else names one.",
        kind: Kind::Name,
    },
    Setting {
        name: "max_tokens",
        doc: "Default upper bound on answer tokens.",
        kind: Kind::Count,
    },
    Setting {
        name: "temperature",
        doc: "Default sampling temperature.",
        kind: Kind::Number { min: 0.0, max: 2.0 },
    },
    Setting {
        name: "streaming",
        doc: "Stream answers by default.",
        kind: Kind::Bool,
    },
    Setting {
        name: "timeout_secs",
        doc: "Default answer timeout in seconds, for providers that set none.",
        kind: Kind::FieldDefault,
    },
    Setting {
        name: "max_time_secs",
        doc: "Default whole-answer deadline in seconds, for providers that set none.",
        kind: Kind::FieldDefault,
    },
    Setting {
        name: "connect_timeout_secs",
        doc: "Default connect timeout in seconds, for providers that set none.",
        kind: Kind::FieldDefault,
    },
    Setting {
        name: "editor",
        doc: "The editor the earlier AIX opened templates in.",
        kind: Kind::Name,
    },
];

/// The setting called `name`.
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl Setting {
    /// Checks a value; the message starts with the setting's name.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let want = match self.kind {
            Kind::Name => match value {
                Value::String(s) if !s.trim().is_empty() => return Ok(()),
                _ => "a non-empty string".to_string(),
            },
            Kind::Count => match value.as_u64() {
                Some(n) if n > 0 => return Ok(()),
                _ => "a positive whole number".to_string(),
            },
            Kind::Number { min, max } => match value.as_f64() {
                Some(t) if (min..=max).contains(&t) => return Ok(()),
                _ => format!("a number from {min} to {max}"),
            },
            Kind::Bool => match value {
                Value::Bool(_) => return Ok(()),
                _ => "true or false".to_string(),
            },
            Kind::FieldDefault => {
                let field = fields::field(self.name).expect("a setting names a provider field");
                return match field.check(value) {
                    Ok(_) => Ok(()),
                    Err(p) => Err(format!("{} {}", self.name, p[0].message)),
                };
            }
        };
        Err(format!(
            "{} must be {want}, not {}",
            self.name,
            shown(value)
        ))
    }

    /// The setting's JSON Schema.
    pub fn schema(&self) -> Value {
        let mut s = match self.kind {
            Kind::Name => json!({"type": ["string", "null"], "minLength": 1}),
            Kind::Count => json!({"type": ["integer", "null"], "minimum": 1}),
            Kind::Number { min, max } => {
                json!({"type": ["number", "null"], "minimum": min, "maximum": max})
            }
            Kind::Bool => json!({"type": ["boolean", "null"]}),
            Kind::FieldDefault => fields::field(self.name)
                .expect("a setting names a provider field")
                .schema(),
        };
        s["description"] = Value::from(self.doc);
        s
    }
}

/// Checks the setting `key` if aix knows it (anything else is the user's
/// or another tool's business and is left alone).
pub fn check(key: &str, value: &Value) -> Result<(), String> {
    match setting(key) {
        Some(s) => s.check(value),
        None => Ok(()),
    }
}
