//! JSON Schemas for `providers.toml` and `config.json`, generated from the
//! documented types below with schemars, so an editor (Taplo / Even Better
//! TOML, VS Code's JSON support) can complete and check the files as they
//! are typed. The generated files are committed in `schema/`; a test fails
//! when they drift from these types.
//!
//! The schemas state shape: types, names, enums, ranges. What a schema
//! cannot express (a URL that parses, header values, `${env:...}` syntax,
//! duplicate names across files) is checked by [`crate::schema::validate`] with the
//! same functions the rest of aix uses.

pub mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde_json::Value;

/// Provider names: 1-64 of letters, digits, `.`, `_`, `-`.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9._-]{1,64}$";
/// HTTP header names (RFC 9110 tokens).
pub const HEADER_NAME_PATTERN: &str = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";

/// The aix manifest: the providers this file declares. `aix plan` shows
/// what `aix apply` would change in config.json to match it.
#[derive(JsonSchema)]
#[schemars(
    title = "aix providers.toml",
    deny_unknown_fields,
    extend("$id" = "https://aix.invalid/schema/providers.schema.json")
)]
#[allow(dead_code)]
pub struct ManifestDoc {
    /// Providers by name (1-64 of letters, digits, `.`, `_`, `-`).
    #[schemars(extend("propertyNames" = {"pattern": NAME_PATTERN}))]
    providers: Option<BTreeMap<String, ProviderDoc>>,
    /// Aliases and fallback chains: a name for a `PROVIDER/MODEL` target
    /// (split at the first `/`), or for a list of them tried in order
    /// (`aix run -m ALIAS`). A target may also be another alias's name.
    #[schemars(extend("propertyNames" = {"pattern": ALIAS_PATTERN}))]
    aliases: Option<BTreeMap<String, AliasDoc>>,
    /// Other LLM tools whose config files `aix apply` writes from these
    /// providers, by name (a tool's name, or any name with `tool`).
    #[schemars(extend("propertyNames" = {"pattern": NAME_PATTERN}))]
    targets: Option<BTreeMap<String, TargetDoc>>,
}

/// One tool's config file, written by `aix apply`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
pub struct TargetDoc {
    /// The tool (default: the target's name).
    tool: Option<ToolName>,
    /// Its config file (`~` and paths relative to the manifest work;
    /// default: where the tool reads it; LiteLLM has none).
    path: Option<String>,
    /// The providers it gets (default: every provider of the manifest).
    providers: Option<Vec<String>>,
}

/// The tools aix writes config for.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ToolName {
    /// llm: `extra-openai-models.yaml` in its user folder.
    Llm,
    /// aichat: `clients` in its config.yaml.
    Aichat,
    /// LiteLLM's proxy: `model_list` in the config.yaml it is started with.
    Litellm,
    /// Codex: `model_providers` and `profiles` in ~/.codex/config.toml.
    Codex,
    /// opencode: `provider` in opencode.json.
    Opencode,
    /// Crush: `providers` in crush.json.
    Crush,
    /// Continue: `models` in ~/.continue/config.yaml.
    Continue,
}

/// Alias names: 1-64 of letters, digits, `.`, `_`, `-`, `:`.
pub const ALIAS_PATTERN: &str = "^[A-Za-z0-9._:-]{1,64}$";

/// An alias: one target, or targets tried in order.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AliasDoc {
    /// `PROVIDER/MODEL`, or another alias's name.
    One(String),
    /// Tried in order: the next on a connection failure, timeout, 429 or
    /// 5xx before any output.
    Chain(Vec<String>),
}

/// A provider entry: its schema is built from the field declarations
/// ([`crate::provider::fields::FIELDS`]), so the schema, `aix validate`,
/// the store and the manifest describe the same fields with the same rules.
pub struct ProviderDoc;

impl JsonSchema for ProviderDoc {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ProviderDoc".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use crate::provider::fields::FIELDS;
        let properties: serde_json::Map<String, Value> = FIELDS
            .iter()
            .map(|f| (f.name.to_string(), f.schema()))
            .collect();
        let required: Vec<&str> = FIELDS
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        // With a preset, a required field may come from it (`aix validate`
        // says when the preset has none).
        let schema = serde_json::json!({
            "description": "An OpenAI-compatible endpoint: any server that answers\n`POST {base_url}/chat/completions`.",
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
            "if": {"not": {"required": ["preset"]}},
            "then": {"required": required},
        });
        schemars::Schema::try_from(schema).expect("an object is a schema")
    }
}

/// aix's live state (`~/.prompts/config.json`). Keys other than these are
/// allowed: other tools and the earlier AIX keep settings here, and aix
/// preserves them.
#[derive(JsonSchema)]
#[schemars(
    title = "aix config.json",
    extend("$id" = "https://aix.invalid/schema/config.schema.json")
)]
#[allow(dead_code)]
pub struct ConfigDoc {
    /// The schema this file follows (for editors).
    #[serde(rename = "$schema")]
    schema: Option<String>,
    /// Custom providers by name, as `aix provider add` and `aix apply`
    /// write them.
    #[schemars(extend("propertyNames" = {"pattern": NAME_PATTERN}))]
    custom_providers: Option<BTreeMap<String, ProviderDoc>>,
    /// API keys by provider name (`custom:NAME` is the earlier AIX's form).
    api_keys: Option<BTreeMap<String, String>>,
    /// Aliases and fallback chains, as `aix apply` writes them from the
    /// manifest's `[aliases]` (or by hand).
    #[schemars(extend("propertyNames" = {"pattern": ALIAS_PATTERN}))]
    aliases: Option<BTreeMap<String, AliasDoc>>,
    /// Written by `aix apply`: which providers the manifest owns.
    aix_manifest: Option<OwnershipDoc>,
}

/// Ownership records kept by `aix apply`.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct OwnershipDoc {
    /// Owned provider names, with a fingerprint of what was applied.
    providers: Option<BTreeMap<String, OwnedDoc>>,
    /// Owned alias names, with the value applied.
    aliases: Option<BTreeMap<String, OwnedAliasDoc>>,
    /// Target files by path: the entries aix wrote there, as written.
    targets: Option<BTreeMap<String, OwnedTargetDoc>>,
}

/// What `aix apply` wrote into one tool's file.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct OwnedTargetDoc {
    /// The tool.
    tool: String,
    /// The target's name in the manifest.
    target: Option<String>,
    /// The copy of the file as it was before aix first wrote it.
    backup: Option<String>,
    /// Entry id → the entry as written.
    entries: Option<BTreeMap<String, Value>>,
}

/// One owned alias.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct OwnedAliasDoc {
    /// The value as applied.
    value: AliasDoc,
    /// The manifest file it came from.
    source: Option<String>,
}

/// One owned provider.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct OwnedDoc {
    /// Hash of the provider as applied (16 hex digits).
    #[schemars(regex(pattern = "^[0-9a-f]{16}$"))]
    fingerprint: String,
    /// The manifest file it came from.
    source: Option<String>,
}

/// Which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// providers.toml
    Manifest,
    /// config.json
    Config,
}

impl Kind {
    /// The file under `schema/` that holds this schema.
    #[cfg(test)]
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Manifest => "providers.schema.json",
            Kind::Config => "config.schema.json",
        }
    }
}

/// The schema as JSON.
pub fn generate(kind: Kind) -> Value {
    let schema = match kind {
        Kind::Manifest => schemars::schema_for!(ManifestDoc),
        Kind::Config => schemars::schema_for!(ConfigDoc),
    };
    let mut v = serde_json::to_value(schema).expect("a schema always serializes");
    if kind == Kind::Config {
        open_stored_providers(&mut v);
        add_settings(&mut v);
    }
    v
}

/// config.json's provider entries may carry fields other tools added (aix
/// keeps them), so unlike the manifest's they are open: a copy of the
/// provider definition without `additionalProperties: false`.
fn open_stored_providers(schema: &mut Value) {
    let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(mut stored) = defs.get("ProviderDoc").cloned() else {
        return;
    };
    if let Some(o) = stored.as_object_mut() {
        o.remove("additionalProperties");
        o.insert(
            "description".into(),
            Value::from("A custom provider as stored in config.json. Fields other tools add are allowed and kept."),
        );
    }
    defs.insert("StoredProviderDoc".into(), stored);
    if let Some(slot) = schema.pointer_mut("/properties/custom_providers/additionalProperties") {
        *slot = serde_json::json!({"$ref": "#/$defs/StoredProviderDoc"});
    }
}

/// config.json's top-level settings, from their declarations.
fn add_settings(schema: &mut Value) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for s in crate::config::settings::SETTINGS {
            props.insert(s.name.to_string(), s.schema());
        }
    }
}

/// The schema as the text committed in `schema/`.
pub fn text(kind: Kind) -> String {
    let mut t = serde_json::to_string_pretty(&generate(kind)).expect("a Value always serializes");
    t.push('\n');
    t
}

/// A compiled validator for the schema.
pub fn validator(kind: Kind) -> jsonschema::Validator {
    jsonschema::validator_for(&generate(kind)).expect("aix's own schemas compile")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_valid_json_schema() {
        for kind in [Kind::Manifest, Kind::Config] {
            let s = generate(kind);
            jsonschema::meta::validate(&s).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        }
    }

    #[test]
    fn committed_schemas_match_the_code() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        for kind in [Kind::Manifest, Kind::Config] {
            let path = dir.join(kind.file_name());
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text(kind),
                "{} is out of date with src/schema.rs; regenerate it with:\n  cargo run -q -- schema {} > schema/{}",
                path.display(),
                match kind {
                    Kind::Manifest => "manifest",
                    Kind::Config => "config",
                },
                kind.file_name()
            );
        }
    }

    #[test]
    fn the_schemas_say_what_they_should() {
        let m = validator(Kind::Manifest);
        let ok = serde_json::json!({"providers": {"a": {"base_url": "http://x/v1", "auth_type": "api-key", "headers": {"X-K": "${env:K}"}}}});
        assert!(m.is_valid(&ok));
        for bad in [
            serde_json::json!({"providers": {"a": {"base_ur": "http://x"}}}),
            serde_json::json!({"providers": {"a": {"base_url": "ftp://x"}}}),
            serde_json::json!({"providers": {"a b": {"base_url": "http://x"}}}),
            serde_json::json!({"providers": {"a": {"base_url": "http://x", "auth_type": "basic"}}}),
            serde_json::json!({"providers": {"a": {"base_url": "http://x", "timeout_secs": 0}}}),
            serde_json::json!({"providers": {"a": {"base_url": "http://x", "headers": {"X": "a\nb"}}}}),
            serde_json::json!({"provider": {}}),
        ] {
            assert!(!m.is_valid(&bad), "{bad}");
        }
        let c = validator(Kind::Config);
        assert!(c.is_valid(&serde_json::json!({"other_tool": 1, "custom_providers": {"a": {"base_url": "http://x", "vendor": 1}}})));
        assert!(!c.is_valid(&serde_json::json!({"max_tokens": 0})));
        assert!(!c.is_valid(&serde_json::json!({"temperature": 3})));
    }
}
