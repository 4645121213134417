//! Presets: named sets of field defaults for servers people run (Ollama,
//! vLLM, Azure OpenAI...). The data is `presets.toml` beside this file,
//! read once when a preset is first needed.
//!
//! A provider with `preset = "NAME"` gets the preset's value for each
//! field it leaves out; for map fields (headers, query parameters) each
//! entry the provider does not have. The filled values are stored like
//! the provider's own, so config.json stays complete for other readers;
//! a stored value equal to the preset's is shown as coming from the
//! preset, and `export` leaves it out.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::Provider;
use super::fields::{FIELDS, Field};

/// One preset.
#[derive(Debug)]
pub struct Preset {
    pub name: &'static str,
    pub about: String,
    /// Field values in config.json form.
    pub values: Map<String, Value>,
}

impl Preset {
    /// The preset's value for `f`, if it sets one.
    pub fn value(&self, f: &Field) -> Option<&Value> {
        self.values.get(f.name)
    }

    /// Whether `value` (the provider's value of `f`) is what this preset
    /// would have filled in. For a map, whether the entry `key` is.
    pub fn provides(&self, f: &Field, value: &Value) -> bool {
        self.value(f) == Some(value)
    }

    /// Whether the map entry `key: value` of `f` is this preset's.
    pub fn provides_entry(&self, f: &Field, key: &str, value: &str) -> bool {
        match self.value(f) {
            Some(Value::Object(m)) => m
                .iter()
                .any(|(k, v)| f.same_key(k, key) && v.as_str() == Some(value)),
            _ => false,
        }
    }
}

/// Every preset, by name.
pub fn all() -> &'static [Preset] {
    static PRESETS: OnceLock<Vec<Preset>> = OnceLock::new();
    PRESETS.get_or_init(|| {
        let table: toml::Table =
            toml::from_str(include_str!("presets.toml")).expect("presets.toml is valid TOML");
        let mut presets = table
            .into_iter()
            .map(|(name, v)| {
                let Value::Object(mut values) =
                    serde_json::to_value(v).expect("a TOML table is JSON")
                else {
                    panic!("preset {name} is not a table");
                };
                let about = values
                    .shift_remove("about")
                    .and_then(|a| a.as_str().map(String::from))
                    .unwrap_or_default();
                // In the order of the field declarations, as `info` shows them.
                let values = FIELDS
                    .iter()
                    .filter_map(|f| values.get(f.name).map(|v| (f.name.to_string(), v.clone())))
                    .collect();
                Preset {
                    name: Box::leak(name.into_boxed_str()),
                    about,
                    values,
                }
            })
            .collect::<Vec<_>>();
        presets.sort_by_key(|p| p.name);
        presets
    })
}

/// The preset called `name`.
pub fn get(name: &str) -> Option<&'static Preset> {
    all().iter().find(|p| p.name == name)
}

/// Every preset's name.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|p| p.name).collect()
}

/// The rule of the `preset` field: a known preset's name.
pub fn check_name(name: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    if get(name).is_some() {
        return Ok(std::borrow::Cow::Borrowed(name));
    }
    let names = names();
    let hint = crate::suggest::closest_ignoring_case(name, &names)
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default();
    Err(format!(
        "{:?} is not a preset{hint}; `aix provider presets` lists them",
        crate::output::clip(name, 80)
    ))
}

/// The preset an entry (config.json or manifest form) names, if it names
/// a known one, from the entry's [`super::fields::values_of`] (not looked
/// up again).
pub fn of_values(values: &[Option<&Value>]) -> Option<&'static Preset> {
    let at = FIELDS.iter().position(|f| f.name == "preset")?;
    values[at].and_then(Value::as_str).and_then(get)
}

/// Fills the fields of `p` that `given` says were not written with the
/// values of `p`'s preset (nothing when it has none).
pub fn fill(p: &mut Provider, given: &dyn Fn(&Field) -> bool) {
    let Some(preset) = p.preset.as_deref().and_then(get) else {
        return;
    };
    for f in FIELDS {
        let Some(value) = preset.value(f) else {
            continue;
        };
        if f.is_map() {
            let mut mine = match (f.get)(p) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            let Value::Object(theirs) = value else {
                continue;
            };
            let mut merged = Map::new();
            for (k, v) in theirs {
                if !mine.keys().any(|m| f.same_key(m, k)) {
                    merged.insert(k.clone(), v.clone());
                }
            }
            if merged.is_empty() {
                continue;
            }
            merged.append(&mut mine);
            (f.set)(p, Some(&Value::Object(merged)));
        } else if !given(f) {
            (f.set)(p, Some(value));
        }
    }
}

/// Undoes [`fill`] before another preset is chosen: every field of `p`
/// whose value is `old`'s (or the field's default, which `old` left in
/// place) is unset, and every map entry that is `old`'s is removed, so
/// that the new preset can fill them.
pub fn unfill(p: &mut Provider, old: &Preset, given: &dyn Fn(&Field) -> bool) {
    for f in FIELDS {
        if given(f) || f.required && old.value(f).is_none() {
            continue;
        }
        let Some(value) = (f.get)(p) else { continue };
        if let Value::Object(m) = &value
            && f.is_map()
        {
            let kept: Map<String, Value> = m
                .iter()
                .filter(|(k, v)| !old.provides_entry(f, k, v.as_str().unwrap_or_default()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (f.set)(p, Some(&Value::Object(kept)));
        } else if old.provides(f, &value) || f.default.is_some_and(|d| value == d) {
            (f.set)(p, None);
        }
    }
}

/// Whether `p` has a value of its own for `f`: not unset, not empty, not
/// the field's default (which a preset may replace).
pub fn has_own(f: &Field, p: &Provider) -> bool {
    match (f.get)(p) {
        None => false,
        Some(Value::String(s)) if s.is_empty() => false,
        Some(v) => f.default.is_none_or(|d| v != d),
    }
}

/// `aix provider presets`: each preset with what it sets.
#[derive(Debug, serde::Serialize)]
pub struct Listed {
    pub name: &'static str,
    pub about: String,
    pub sets: Map<String, Value>,
}

/// Every preset for listing.
pub fn listing() -> Vec<Listed> {
    all()
        .iter()
        .map(|p| Listed {
            name: p.name,
            about: p.about.clone(),
            sets: p.values.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_value_passes_its_fields_rule() {
        assert!(all().len() >= 12);
        for p in all() {
            assert!(!p.about.is_empty(), "{} says what it is", p.name);
            assert!(super::super::validate_name(p.name).is_ok());
            for (k, v) in &p.values {
                let f = super::super::fields::field(k)
                    .unwrap_or_else(|| panic!("preset {}: {k} is not a field", p.name));
                assert!(f.name != "preset" && f.name != "default_model", "{k}");
                f.check(v)
                    .unwrap_or_else(|e| panic!("preset {}: {k}: {e:?}", p.name));
            }
        }
    }

    #[test]
    fn filling_keeps_what_the_entry_says() {
        let mut p = Provider::new("az", "https://r.openai.azure.com/openai/deployments/d");
        p.preset = Some("azure".into());
        p.headers.push(("API-Key".into(), "${env:MINE}".into()));
        p.stream_usage = Some(true);
        fill(&mut p, &|f| f.name == "stream_usage");
        assert_eq!(
            p.headers,
            [("API-Key".to_string(), "${env:MINE}".to_string())]
        );
        assert_eq!(p.stream_usage, Some(true));
        assert_eq!(p.query_params[0].0, "api-version");
        assert_eq!(p.auth_type, super::super::AuthType::ApiKey);
        // Switching to another preset takes away what azure filled in.
        let azure = get("azure").unwrap();
        p.preset = Some("ollama".into());
        unfill(&mut p, azure, &|_| false);
        fill(&mut p, &|f| f.name == "base_url");
        assert!(p.query_params.is_empty());
        assert_eq!(p.auth_type, super::super::AuthType::Bearer);
        assert_eq!(p.max_tokens_param, None);
    }
}
