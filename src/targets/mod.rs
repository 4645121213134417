//! Targets: other LLM tools' config files, written from the manifest.
//!
//! A `[targets.TOOL]` table in the manifest names a tool (llm, aichat,
//! LiteLLM, Codex, opencode, Crush, Continue) and, optionally, its file and
//! the providers it gets. Each tool has one module here that maps an aix
//! provider (and its models) onto entries of that tool's file, saying in a
//! warning what the tool cannot express. [`plan`] compares those entries
//! with the file and with what aix last wrote there (recorded in
//! config.json, as for providers), and applies the difference, leaving
//! everything else in the file as it was.
//!
//! Keys are never written: each tool gets its own indirection (an
//! environment variable name in the form it reads).

pub mod doc;
pub mod import;
pub mod plan;

mod aichat;
mod codex;
mod continue_dev;
mod crush;
mod litellm;
mod llm;
mod opencode;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::plan::manifest::Location;
use crate::provider::{AuthType, Provider, Wire, fields};
use crate::secret::envref::{self, Source};
use doc::{Format, Place};

/// The tools aix can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    Llm,
    Aichat,
    Litellm,
    Codex,
    Opencode,
    Crush,
    Continue,
}

impl Tool {
    pub const ALL: [Tool; 7] = [
        Tool::Llm,
        Tool::Aichat,
        Tool::Litellm,
        Tool::Codex,
        Tool::Opencode,
        Tool::Crush,
        Tool::Continue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Llm => "llm",
            Tool::Aichat => "aichat",
            Tool::Litellm => "litellm",
            Tool::Codex => "codex",
            Tool::Opencode => "opencode",
            Tool::Crush => "crush",
            Tool::Continue => "continue",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|t| t.name()).collect()
    }

    pub fn parse(s: &str) -> Option<Tool> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    pub fn format(self) -> Format {
        match self {
            Tool::Llm | Tool::Aichat | Tool::Litellm | Tool::Continue => Format::Yaml,
            Tool::Codex => Format::Toml,
            Tool::Opencode | Tool::Crush => Format::Json,
        }
    }

    /// The containers of the tool's file that hold aix's entries.
    pub fn places(self) -> &'static [Place] {
        match self {
            Tool::Llm => &[llm::PLACE],
            Tool::Aichat => &[aichat::PLACE],
            Tool::Litellm => &[litellm::PLACE],
            Tool::Codex => &[codex::PROVIDERS, codex::PROFILE],
            Tool::Opencode => &[opencode::PLACE],
            Tool::Crush => &[crush::PLACE],
            Tool::Continue => &[continue_dev::PLACE],
        }
    }

    /// What a new file starts as.
    pub fn skeleton(self) -> Value {
        match self {
            Tool::Llm => Value::Array(Vec::new()),
            Tool::Continue => continue_dev::skeleton(),
            Tool::Opencode => opencode::skeleton(),
            Tool::Crush => crush::skeleton(),
            _ => Value::Object(Default::default()),
        }
    }

    /// Where the tool reads its file when the target names none, with the
    /// tool's own environment variable honoured; None when the tool has no
    /// usual place (LiteLLM's proxy takes `--config FILE`).
    pub fn default_path(self) -> Option<PathBuf> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = env("HOME").unwrap_or_else(|| PathBuf::from("."));
        let config = || {
            if cfg!(target_os = "macos") {
                home.join("Library/Application Support")
            } else {
                env("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"))
            }
        };
        let xdg = || env("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
        Some(match self {
            Tool::Llm => env("LLM_USER_PATH")
                .unwrap_or_else(|| config().join("io.datasette.llm"))
                .join("extra-openai-models.yaml"),
            Tool::Aichat => match env("AICHAT_CONFIG_FILE") {
                Some(f) => f,
                None => env("AICHAT_CONFIG_DIR")
                    .unwrap_or_else(|| config().join("aichat"))
                    .join("config.yaml"),
            },
            Tool::Litellm => return None,
            Tool::Codex => env("CODEX_HOME")
                .unwrap_or_else(|| home.join(".codex"))
                .join("config.toml"),
            Tool::Opencode => xdg().join("opencode").join("opencode.json"),
            Tool::Crush => xdg().join("crush").join("crush.json"),
            Tool::Continue => home.join(".continue").join("config.yaml"),
        })
    }

    /// The provider fields this tool's module maps; any other field a
    /// provider sets is named in a warning.
    fn maps(self) -> &'static [&'static str] {
        match self {
            Tool::Llm => llm::MAPS,
            Tool::Aichat => aichat::MAPS,
            Tool::Litellm => litellm::MAPS,
            Tool::Codex => codex::MAPS,
            Tool::Opencode => opencode::MAPS,
            Tool::Crush => crush::MAPS,
            Tool::Continue => continue_dev::MAPS,
        }
    }

    fn map(self, p: &Input<'_>, out: &mut Out) {
        match self {
            Tool::Llm => llm::map(p, out),
            Tool::Aichat => aichat::map(p, out),
            Tool::Litellm => litellm::map(p, out),
            Tool::Codex => codex::map(p, out),
            Tool::Opencode => opencode::map(p, out),
            Tool::Crush => crush::map(p, out),
            Tool::Continue => continue_dev::map(p, out),
        }
    }
}

/// One `[targets.NAME]` of the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    pub name: String,
    pub tool: Tool,
    /// The file, absolute (`~` expanded, relative to the manifest's
    /// folder), or the tool's usual place.
    pub path: PathBuf,
    /// The providers it gets (None: every provider of the manifest).
    pub providers: Option<Vec<String>>,
    pub at: Location,
    /// Where its `providers` list is, for errors about a name in it.
    pub providers_at: Option<Location>,
}

impl Decl {
    /// Reads a target table that the schema accepted. `dir` is the
    /// manifest's folder.
    pub fn from_json(name: &str, v: &Value, dir: &Path, at: Location) -> Result<Decl, String> {
        let tool_name = v.get("tool").and_then(Value::as_str).unwrap_or(name);
        let tool = Tool::parse(tool_name).ok_or_else(|| {
            let near = crate::suggest::closest(tool_name, &Tool::names())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            if v.get("tool").is_some() {
                format!("tool: unknown tool `{tool_name}`{near}")
            } else {
                format!("`{name}` is not a tool aix writes{near}; name one with `tool = \"...\"`")
            }
        })?;
        let path = match v.get("path").and_then(Value::as_str) {
            Some(p) => {
                let p = crate::provider::shaping::expand_home(p);
                if p.is_absolute() {
                    p
                } else {
                    std::path::absolute(dir.join(&p)).unwrap_or(p)
                }
            }
            None => tool.default_path().ok_or_else(|| {
                format!(
                    "path: {} has no usual config file; say where it is with `path = \"...\"`",
                    tool.name()
                )
            })?,
        };
        let providers = v.get("providers").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        });
        Ok(Decl {
            name: name.to_string(),
            tool,
            path,
            providers,
            at,
            providers_at: None,
        })
    }
}

/// The path as people write it: `~/...` under the home folder.
pub fn shown_path(p: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && let Ok(rest) = p.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    p.display().to_string()
}

/// What a tool's module reads: one provider, and where its key is.
pub struct Input<'a> {
    pub provider: &'a Provider,
    pub key: Key,
}

/// Where a provider's key can be found by another tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// The provider sends no key (`auth_type = "none"`), or has none.
    None,
    /// In this environment variable.
    Env(String),
    /// In this file (from `${file:PATH}`).
    File(String),
    /// Only aix can get it (a command, the keyring, or config.json's
    /// `api_keys`): the reason, for the warning.
    AixOnly(String),
}

impl Key {
    /// Where `p`'s key comes from. `stored` says whether config.json
    /// holds one for it.
    pub fn of(p: &Provider, stored: bool) -> Key {
        if !p.auth_type.sends_key() {
            return Key::None;
        }
        if let Some(r) = &p.api_key {
            return match single_reference(r) {
                Some((Source::Env, var)) => Key::Env(var.to_string()),
                Some((Source::File, path)) => Key::File(path.to_string()),
                Some((s, _)) => Key::AixOnly(format!("from `${{{}:...}}`", s.name())),
                None => Key::AixOnly("from its `api_key`".into()),
            };
        }
        if let Some(var) = &p.api_key_env {
            return Key::Env(var.clone());
        }
        if stored {
            return Key::AixOnly("stored in aix's config.json".into());
        }
        Key::None
    }
}

/// `(source, argument)` when `value` is exactly one reference.
fn single_reference(value: &str) -> Option<(Source, &str)> {
    match envref::pieces(value).ok()?.as_slice() {
        [envref::Piece::Ref(r)] => Some((r.source, r.arg)),
        _ => None,
    }
}

/// A model a tool is told about.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOut {
    /// The name aix knows it by (the models table's key).
    pub key: String,
    /// What the server is sent.
    pub id: String,
    pub description: Option<String>,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub wire: Wire,
    /// `stream = false`: never streamed.
    pub no_stream: bool,
}

/// A provider's models: its models table, else its default model.
pub fn models_of(p: &Provider) -> Vec<ModelOut> {
    let wire = p.wire.unwrap_or(Wire::Chat);
    let mut out: Vec<ModelOut> = p
        .model_entries()
        .into_iter()
        .map(|m| ModelOut {
            key: m.key,
            id: m.id,
            description: m.description,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
            wire: m.wire.unwrap_or(wire),
            no_stream: m.stream == Some(false),
        })
        .collect();
    if out.is_empty()
        && let Some(m) = &p.default_model
    {
        out.push(ModelOut {
            key: m.clone(),
            id: m.clone(),
            description: None,
            context_window: None,
            max_output_tokens: None,
            wire,
            no_stream: false,
        });
    }
    out
}

/// The default model's key among [`models_of`].
pub fn default_model(p: &Provider) -> Option<String> {
    p.default_model
        .clone()
        .or_else(|| models_of(p).first().map(|m| m.key.clone()))
}

/// One entry a tool's module wants in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// A file beside the target's own, by name (Codex's profile files),
    /// or None for the target's file.
    pub file: Option<String>,
    pub place: Place,
    pub key: String,
    pub value: Value,
}

/// What a tool's module produced for a provider.
#[derive(Debug, Default)]
pub struct Out {
    pub items: Vec<Item>,
    pub warnings: Vec<String>,
    /// What the user needs to do once, outside aix (shown in the plan).
    pub notes: Vec<String>,
    /// The fields the module looked at beyond its usual ones (so they are
    /// not reported as left out).
    pub used: Vec<&'static str>,
}

impl Out {
    fn push(&mut self, place: Place, key: impl Into<String>, value: Value) {
        self.items.push(Item {
            file: None,
            place,
            key: key.into(),
            value,
        });
    }

    /// The provider has no model for the tool to list; `then` says what
    /// the tool gets instead.
    fn no_models(&mut self, p: &Provider, then: &str) {
        self.warn(
            p,
            format!("no model to offer (set default_model or a models table); {then}"),
        );
    }

    fn warn(&mut self, p: &Provider, message: impl AsRef<str>) {
        self.warnings
            .push(format!("providers.{}: {}", p.name, message.as_ref()));
    }
}

/// How a tool writes an environment variable's value into its file.
pub type EnvSyntax = fn(&str) -> String;

/// Where a tool reads environment variables in a header's value.
#[derive(Clone, Copy)]
pub enum EnvIn {
    /// Nowhere: a header from a variable cannot be written.
    Nowhere,
    /// Anywhere in the value (`Bearer {env:VAR}`).
    Anywhere(EnvSyntax),
    /// Only as the whole value (`os.environ/VAR`).
    Whole(EnvSyntax),
}

/// `p`'s headers with their `${env:VAR}` references in the tool's syntax
/// (`syntax` None: the tool reads no variables in headers). A header the
/// tool cannot carry without a literal secret is left out with a warning,
/// and so is the key's own header when the provider sends it in one
/// (`auth_type = "api-key"` or `"x-api-key"`) and the tool has no way to
/// name it. The key header is included when it can be named.
pub fn headers(input: &Input<'_>, env: EnvIn, tool: Tool, out: &mut Out) -> Map<String, Value> {
    let p = input.provider;
    let mut kept = Map::new();
    for (name, value) in &p.headers {
        let syntax = match env {
            EnvIn::Nowhere => None,
            EnvIn::Anywhere(f) => Some(f),
            EnvIn::Whole(f) => match single_reference(value) {
                Some((Source::Env, var)) => {
                    kept.insert(name.clone(), Value::String(f(var)));
                    continue;
                }
                _ if envref::contains_reference(value) => {
                    out.warn(
                        p,
                        format!(
                            "header {name}: {} reads a variable only as a header's whole value (`${{env:VAR}}`); left out",
                            tool.name()
                        ),
                    );
                    continue;
                }
                _ => None,
            },
        };
        match translate(value, syntax, tool) {
            Ok(_) if literal_credential(name, value) => out.warn(p, literal_warning(name, tool)),
            Ok(v) => {
                kept.insert(name.clone(), Value::String(v));
            }
            Err(why) => out.warn(p, format!("header {name}: {why}; left out")),
        }
    }
    kept
}

/// Whether header `name: value` is a credential written out in full.
pub fn literal_credential(name: &str, value: &str) -> bool {
    !envref::contains_reference(value)
        && crate::secret::display_header_value(name, value, false) == crate::secret::MASK
}

/// The same words for every tool, so a plan shows it once.
fn literal_warning(name: &str, _tool: Tool) -> String {
    format!(
        "header {name} holds a literal credential, which aix never writes into a tool's file; left out (use `${{env:VAR}}`)"
    )
}

/// `value` with its references in the tool's syntax, or why it cannot be.
fn translate(value: &str, syntax: Option<EnvSyntax>, tool: Tool) -> Result<String, String> {
    let Ok(pieces) = envref::pieces(value) else {
        return Ok(value.to_string());
    };
    let mut s = String::new();
    for piece in pieces {
        match piece {
            envref::Piece::Text(t) => s.push_str(t),
            envref::Piece::Ref(r) => match (r.source, syntax) {
                (Source::Env, Some(f)) => s.push_str(&f(r.arg)),
                (Source::Env, None) => {
                    return Err(format!(
                        "{} cannot read an environment variable there",
                        tool.name()
                    ));
                }
                (src, _) => {
                    return Err(format!(
                        "`${{{}:...}}` can only be resolved by aix",
                        src.name()
                    ));
                }
            },
        }
    }
    Ok(s)
}

/// The key's header when aix sends the provider's key in one other than
/// `Authorization: Bearer` (`x-api-key`). (With `auth_type = "api-key"`
/// the provider's own headers carry it, translated like any header.)
pub fn key_header(p: &Provider) -> Option<&'static str> {
    match p.auth_type {
        AuthType::XApiKey => Some("x-api-key"),
        _ => None,
    }
}

/// Puts a key where the tool reads it: in the `x-api-key` header when
/// the provider sends its key there and the tool speaks OpenAI's protocol
/// to it (`messages` false), else as `field` of `obj`.
pub fn put_key(
    p: &Provider,
    key: Option<String>,
    messages: bool,
    headers: &mut Map<String, Value>,
    obj: &mut Map<String, Value>,
    field: &str,
) {
    let Some(k) = key else { return };
    match key_header(p) {
        Some(h) if !messages => {
            headers.insert(h.into(), Value::String(k));
        }
        _ => {
            obj.insert(field.into(), Value::String(k));
        }
    }
}

/// Maps the providers of a target: entries and warnings, with every field
/// the tool's module does not map named once per provider.
pub fn map(tool: Tool, providers: &[(&Provider, Key)]) -> Out {
    let mut out = Out::default();
    for (p, key) in providers {
        let before = out.used.len();
        tool.map(
            &Input {
                provider: p,
                key: key.clone(),
            },
            &mut out,
        );
        let used: Vec<&str> = out.used.drain(before..).collect();
        let preset = p.preset.as_deref().and_then(crate::provider::presets::get);
        let left: Vec<&str> = fields::display_order()
            .filter(|f| !matches!(f.name, "preset" | "name"))
            .filter(|f| !tool.maps().contains(&f.name) && !used.contains(&f.name))
            .filter(|f| {
                f.value(p).is_some_and(|v| {
                    f.default.is_none_or(|d| v != d)
                        && preset.is_none_or(|pr| !pr.provides(f, &v) || f.name == "headers")
                })
            })
            .map(|f| f.name)
            .collect();
        if !left.is_empty() {
            out.warn(
                p,
                format!(
                    "{} cannot express {}; left out",
                    tool.name(),
                    left.join(", ")
                ),
            );
        }
        if let Key::AixOnly(why) = key {
            out.warn(
                p,
                format!(
                    "its key is {why}, which {} cannot read; no key written (give the provider `api_key = \"${{env:VAR}}\"` or `api_key_env`)",
                    tool.name()
                ),
            );
        }
    }
    out
}

/// The environment variable a tool that reads keys only by variable
/// gets, or a warning when the key is elsewhere.
pub fn key_var(input: &Input<'_>, tool: Tool, out: &mut Out) -> Option<String> {
    match &input.key {
        Key::Env(v) => Some(v.clone()),
        Key::File(path) => {
            out.warn(
                input.provider,
                format!(
                    "its key is read from the file {path}, which {} cannot read; no key written (set an environment variable and use `api_key = \"${{env:VAR}}\"`)",
                    tool.name()
                ),
            );
            None
        }
        Key::None | Key::AixOnly(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_reference_the_variable_or_nowhere() {
        let mut p = Provider::new("w", "http://x/v1");
        assert_eq!(Key::of(&p, false), Key::None);
        assert!(matches!(Key::of(&p, true), Key::AixOnly(_)));
        p.api_key_env = Some("W_KEY".into());
        assert_eq!(Key::of(&p, true), Key::Env("W_KEY".into()));
        p.api_key = Some("${env:OTHER}".into());
        assert_eq!(Key::of(&p, false), Key::Env("OTHER".into()));
        p.api_key = Some("${file:~/k}".into());
        assert_eq!(Key::of(&p, false), Key::File("~/k".into()));
        p.api_key = Some("${cmd:pass show k}".into());
        assert!(matches!(Key::of(&p, false), Key::AixOnly(_)));
        p.auth_type = AuthType::ApiKey;
        assert_eq!(Key::of(&p, false), Key::None);
    }

    #[test]
    fn headers_translate_references_and_never_carry_literal_secrets() {
        let mut p = Provider::new("w", "http://x/v1");
        p.headers = vec![
            ("X-Title".into(), "aix".into()),
            ("X-Key".into(), "${env:K}".into()),
            ("Authorization".into(), "Bearer sk-literal".into()),
            ("X-Cmd".into(), "${cmd:pass k}".into()),
        ];
        let input = Input {
            provider: &p,
            key: Key::None,
        };
        let mut out = Out::default();
        let h = headers(
            &input,
            EnvIn::Anywhere(|v| format!("${v}")),
            Tool::Crush,
            &mut out,
        );
        assert_eq!(
            Value::Object(h),
            serde_json::json!({"X-Title": "aix", "X-Key": "$K"})
        );
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        assert!(!out.warnings.concat().contains("sk-literal"));
        let mut out = Out::default();
        let h = headers(&input, EnvIn::Nowhere, Tool::Llm, &mut out);
        assert_eq!(h.len(), 1);
        assert_eq!(out.warnings.len(), 3);
        let mut out = Out::default();
        let mut q = p.clone();
        q.headers.push(("X-Part".into(), "Bearer ${env:K}".into()));
        let input = Input {
            provider: &q,
            key: Key::None,
        };
        let h = headers(
            &input,
            EnvIn::Whole(|v| format!("os.environ/{v}")),
            Tool::Litellm,
            &mut out,
        );
        assert_eq!(
            Value::Object(h),
            serde_json::json!({"X-Title": "aix", "X-Key": "os.environ/K"})
        );
        assert_eq!(out.warnings.len(), 3, "{:?}", out.warnings);
    }
}
