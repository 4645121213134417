//! `aix import`: another tool's config file read back into providers, the
//! inverse of the llm, aichat and LiteLLM modules.
//!
//! Pure: text in, providers and what to tell the user out. Entries aix
//! wrote (`PROVIDER/MODEL` in llm and LiteLLM, a client per provider in
//! aichat) come back as the providers that made them, so that applying
//! the import writes the same entries and adopts them. Keys never come
//! back as literals: a key written in the file becomes a `${env:VAR}`
//! reference, named in a warning without its value.

use serde_json::{Map, Value, json};

use super::doc::{self, Doc, Place};
use super::{Key, Tool, aichat, llm};
use crate::provider::{self, Provider, Wire};

/// What an import found.
#[derive(Debug, Default)]
pub struct Imported {
    /// In the order the file first names them.
    pub providers: Vec<Provider>,
    /// Entries skipped, keys replaced, entries aix would write differently.
    pub warnings: Vec<String>,
    /// Things the user should know that are not problems.
    pub notes: Vec<String>,
}

/// Reads `text`, the config file of `tool` (shown as `file` in warnings).
pub fn import(tool: Tool, file: &str, text: &str) -> Result<Imported, String> {
    let place = match tool {
        Tool::Llm => llm::PLACE,
        Tool::Aichat => aichat::PLACE,
        Tool::Litellm => super::litellm::PLACE,
        other => return Err(format!("aix cannot import from {}", other.name())),
    };
    // `path:LINE:COL: message` for a syntax error (the caller puts the
    // path in front). YAML merge keys (`<<: *common`) are applied: an
    // entry may take its api_base from an anchor.
    let d = super::doc::parse_merged(text, tool.skeleton()).map_err(|e| match e.at {
        Some((line, col)) => format!("{line}:{col}: {}", e.message),
        None => e.message,
    })?;
    if let Some(m) = d.misshapen(place) {
        return Err(format!("{m}, so aix finds no entries in it"));
    }
    let Doc::Tree(_, root) = &d else {
        unreachable!("llm, aichat and LiteLLM files are YAML")
    };
    let list: &[Value] = match place {
        Place::List { path, .. } => {
            let mut here = root;
            for seg in path {
                here = here.get(seg).unwrap_or(&Value::Null);
            }
            here.as_array().map(Vec::as_slice).unwrap_or_default()
        }
        Place::Map { .. } => &[],
    };
    let mut b = Builder::new(tool, file);
    match tool {
        Tool::Llm => from_llm(&mut b, list),
        Tool::Aichat => from_aichat(&mut b, list),
        _ => from_litellm(&mut b, list),
    }
    let mut out = b.finish();
    check_round_trip(tool, place, &d, &mut out);
    Ok(out)
}

/// One provider being put together: the entries it groups and its models.
struct Group {
    /// What its entries share (base, key, headers, ...), to group by.
    shared: Value,
    /// The `P` of `P/K` entry names, when every entry so far had one.
    prefix: Option<String>,
    provider: Provider,
    /// The file's names of its entries, for warnings.
    entries: Vec<String>,
}

struct Builder<'a> {
    tool: Tool,
    file: &'a str,
    groups: Vec<Group>,
    out: Imported,
}

impl<'a> Builder<'a> {
    fn new(tool: Tool, file: &'a str) -> Self {
        Builder {
            tool,
            file,
            groups: Vec::new(),
            out: Imported::default(),
        }
    }

    fn warn(&mut self, m: impl Into<String>) {
        self.out.warnings.push(m.into());
    }

    /// The group for an entry named `entry`, sharing `shared`, made from
    /// `make` (with its name) when new. Entries named `P/K` (P a valid
    /// provider name, K a valid model key) go to provider P; the others
    /// to one named after the base URL's host. Returns the group's index
    /// and the entry's model key.
    fn group(
        &mut self,
        entry: &str,
        base_url: &str,
        shared: Value,
        make: impl FnOnce(String) -> Provider,
    ) -> (usize, String) {
        let split = entry.split_once('/').filter(|(p, k)| {
            provider::validate_name(p).is_ok() && provider::models::check_key(k).is_ok()
        });
        if let Some((p, k)) = split {
            if let Some(i) = self
                .groups
                .iter()
                .position(|g| g.prefix.as_deref() == Some(p) && g.shared == shared)
            {
                self.groups[i].entries.push(entry.to_string());
                return (i, k.to_string());
            }
            if !self.groups.iter().any(|g| g.provider.name == p) {
                self.groups.push(Group {
                    shared,
                    prefix: Some(p.to_string()),
                    provider: make(p.to_string()),
                    entries: vec![entry.to_string()],
                });
                return (self.groups.len() - 1, k.to_string());
            }
        }
        if let Some(i) = self
            .groups
            .iter()
            .position(|g| g.prefix.is_none() && g.shared == shared)
        {
            self.groups[i].entries.push(entry.to_string());
            return (i, entry.to_string());
        }
        let name = self.unique(&host_name(base_url));
        self.groups.push(Group {
            shared,
            prefix: None,
            provider: make(name),
            entries: vec![entry.to_string()],
        });
        (self.groups.len() - 1, entry.to_string())
    }

    /// `base`, or `base-2`, `base-3`, ... when a provider has it.
    fn unique(&self, base: &str) -> String {
        let taken = |n: &str| self.groups.iter().any(|g| g.provider.name == n);
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|i| {
                let suffix = format!("-{i}");
                let stem: String = base.chars().take(64 - suffix.len()).collect();
                format!("{stem}{suffix}")
            })
            .find(|n| !taken(n))
            .expect("some number is free")
    }

    /// Adds model `key` (sent as `id`) to group `g`, refusing a second
    /// entry with the same key.
    fn model(&mut self, g: usize, entry: &str, key: &str, settings: Map<String, Value>) {
        if let Err(m) = provider::models::check_key(key) {
            self.warn(format!("{}: entry {entry}: {m}; skipped", self.file));
            return;
        }
        let p = &mut self.groups[g].provider;
        let models = p.models.get_or_insert_with(Map::new);
        if models.contains_key(key) {
            let name = p.name.clone();
            self.warn(format!(
                "{}: entry {entry}: providers.{name} has a model {key} already; skipped",
                self.file
            ));
            return;
        }
        models.insert(key.to_string(), Value::Object(settings));
        if p.default_model.is_none() {
            p.default_model = Some(key.to_string());
        }
    }

    fn finish(mut self) -> Imported {
        let tool = self.tool.name();
        for g in std::mem::take(&mut self.groups) {
            let mut p = g.provider;
            // One model with nothing to say is the default model alone.
            if p.models.as_ref().is_some_and(|m| {
                m.is_empty() || m.len() == 1 && m.values().all(|v| v == &json!({}))
            }) {
                p.models = None;
            }
            if let Err(e) = p.validate() {
                self.warn(format!(
                    "{}: {}: providers.{}: {}: {}; skipped",
                    self.file,
                    g.entries.join(", "),
                    p.name,
                    e.field,
                    e.message
                ));
                continue;
            }
            // Anthropic's servers (and what aichat's claude client and
            // LiteLLM's anthropic/ route send) take the key as x-api-key.
            if p.wire == Some(Wire::Messages) && (p.api_key.is_some() || p.api_key_env.is_some()) {
                p.auth_type = provider::AuthType::XApiKey;
            }
            if g.prefix.is_none() && self.tool != Tool::Aichat {
                self.out.warnings.push(format!(
                    "{}: {} not named PROVIDER/MODEL: imported as providers.{}, whose entries aix names {}/MODEL in {tool}, so `aix apply` adds those beside them (remove the old ones once nothing uses their names)",
                    self.file,
                    g.entries.join(", "),
                    p.name,
                    p.name,
                ));
            }
            self.out.providers.push(p);
        }
        self.out
    }
}

/// A provider name from a base URL's host: `api.example.com`,
/// `localhost-11434`.
fn host_name(base_url: &str) -> String {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    let name: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    let name = name.trim_matches(['-', '.']).to_string();
    if name.is_empty() {
        "imported".into()
    } else {
        name
    }
}

/// A base URL in aix's form, or why the entry is skipped.
fn base_url(b: &mut Builder<'_>, entry: &str, url: &str) -> Option<String> {
    match provider::normalize_base_url(url) {
        Ok(u) => Some(u),
        Err(m) => {
            b.warn(format!("{}: entry {entry}: api_base: {m}; skipped", b.file));
            None
        }
    }
}

/// An object's string members, in order (others named in a warning).
fn headers(b: &mut Builder<'_>, entry: &str, v: Option<&Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(Value::Object(m)) = v {
        for (k, v) in m {
            match v {
                Value::String(s) => out.push((k.clone(), s.clone())),
                _ => b.warn(format!(
                    "{}: entry {entry}: header {k} is not a string; left out",
                    b.file
                )),
            }
        }
    }
    out
}

fn str_of<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A whole number of seconds or tokens (`30`, `30.0`).
fn whole(v: Option<&Value>) -> Option<u64> {
    let v = v?;
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// The settings of a model entry: `id` when it differs from the key.
/// Says which members of `v` (an entry, at `what`) aix does not import,
/// so nothing is lost without a word.
fn unmapped(b: &mut Builder<'_>, what: &str, v: &Value, known: &[&str]) {
    let Some(obj) = v.as_object() else {
        return;
    };
    let left: Vec<&str> = obj
        .iter()
        .filter(|(k, x)| !known.contains(&k.as_str()) && !x.is_null())
        .map(|(k, _)| k.as_str())
        .collect();
    if !left.is_empty() {
        b.warn(format!(
            "{}: {what}: {} not imported (aix has no such setting)",
            b.file,
            left.join(", ")
        ));
    }
}

fn settings(key: &str, id: &str) -> Map<String, Value> {
    let mut m = Map::new();
    if id != key {
        m.insert("id".into(), json!(id));
    }
    m
}

// ---- llm ----------------------------------------------------------------

fn from_llm(b: &mut Builder<'_>, list: &[Value]) {
    let mut key_names: Vec<String> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let Some(model_id) = str_of(e, "model_id").map(String::from) else {
            b.warn(format!(
                "{}: entry {} has no model_id; skipped",
                b.file,
                i + 1
            ));
            continue;
        };
        let Some(api_base) = str_of(e, "api_base") else {
            b.warn(format!(
                "{}: entry {model_id} has no api_base (llm sends it to OpenAI, which aix has built in); skipped",
                b.file
            ));
            continue;
        };
        let Some(base) = base_url(b, &model_id, api_base) else {
            continue;
        };
        let key_name = str_of(e, "api_key_name")
            .filter(|v| crate::secret::envref::is_var_name(v))
            .map(String::from);
        if key_name.is_none() && str_of(e, "api_key_name").is_some() {
            b.warn(format!(
                "{}: entry {model_id}: its api_key_name is not a variable name aix can read (letters, digits and _); no key imported",
                b.file,
            ));
        }
        if let Some(k) = &key_name
            && !key_names.contains(k)
        {
            key_names.push(k.clone());
        }
        let hs = headers(b, &model_id, e.get("headers"));
        let shared = json!({"base": base, "key": key_name, "headers": hs});
        let (g, key) = b.group(&model_id, &base, shared, |name| {
            let mut p = Provider::new(name, base.clone());
            p.api_key = key_name.as_ref().map(|k| format!("${{env:{k}}}"));
            p.headers = hs.clone();
            p
        });
        let id = str_of(e, "model_name").unwrap_or(&model_id).to_string();
        let mut s = settings(&key, &id);
        if e.get("responses").and_then(Value::as_bool) == Some(true) {
            s.insert("wire".into(), json!("responses"));
        }
        if e.get("can_stream").and_then(Value::as_bool) == Some(false) {
            s.insert("stream".into(), json!(false));
        }
        unmapped(
            b,
            &format!("entry {model_id}"),
            e,
            &[
                "model_id",
                "model_name",
                "api_base",
                "api_key_name",
                "headers",
                "can_stream",
                "responses",
            ],
        );
        b.model(g, &model_id, &key, s);
    }
    if !key_names.is_empty() {
        b.out.notes.push(format!(
            "llm's api_key_name names a key stored with `llm keys set`; aix reads the key from the environment variable of that name: set {}",
            key_names.join(", ")
        ));
    }
}

// ---- aichat -------------------------------------------------------------

fn from_aichat(b: &mut Builder<'_>, list: &[Value]) {
    for (i, c) in list.iter().enumerate() {
        let kind = str_of(c, "type").unwrap_or_default();
        let (wire, default_base) = match kind {
            "openai-compatible" => (None, None),
            "openai" => (None, Some("https://api.openai.com/v1")),
            "claude" => (Some(Wire::Messages), Some("https://api.anthropic.com/v1")),
            _ => {
                let name = str_of(c, "name").map_or_else(|| format!("{}", i + 1), String::from);
                b.warn(format!(
                    "{}: client {name} is of type {}, which aix cannot import (only openai-compatible, openai and claude); skipped",
                    b.file,
                    if kind.is_empty() { "(none)" } else { kind }
                ));
                continue;
            }
        };
        // aichat names a client without `name` after its type.
        let name = str_of(c, "name").unwrap_or(kind).to_string();
        if let Err(m) = provider::validate_name(&name) {
            b.warn(format!("{}: client {name}: {m}; skipped", b.file));
            continue;
        }
        if b.groups.iter().any(|g| g.provider.name == name) {
            b.warn(format!(
                "{}: client {name} appears twice; the second is skipped",
                b.file
            ));
            continue;
        }
        let Some(url) = str_of(c, "api_base").or(default_base) else {
            b.warn(format!(
                "{}: client {name} has no api_base; skipped",
                b.file
            ));
            continue;
        };
        let Some(base) = base_url(b, &name, url) else {
            continue;
        };
        // The variable aichat reads, when a shell can set it (aichat only
        // upper-cases the client's name: `my-srv` reads `MY-SRV_API_KEY`).
        let var = Some(aichat::env_name(&name))
            .filter(|v| crate::secret::envref::is_var_name(v))
            .unwrap_or_else(|| {
                crate::plan::manifest::env_var_for(&name, "API_KEY").replacen("AIX_", "", 1)
            });
        let mut p = Provider::new(name.clone(), base);
        p.wire = wire;
        if c.get("api_key").is_some_and(|k| !k.is_null()) {
            b.warn(format!(
                "client {name}: literal key in {} replaced by ${{env:{var}}}: set {var}",
                b.file
            ));
            p.api_key = Some(format!("${{env:{var}}}"));
        } else {
            // aichat reads the key of a client without one from there.
            p.api_key_env = Some(var);
        }
        unmapped(
            b,
            &format!("client {name}"),
            c,
            &[
                "type", "name", "api_base", "api_key", "models", "extra", "patch",
            ],
        );
        let extra = c.get("extra");
        if let Some(x) = extra {
            unmapped(
                b,
                &format!("client {name}: extra"),
                x,
                &["proxy", "connect_timeout"],
            );
        }
        if let Some(proxy) = extra.and_then(|x| str_of(x, "proxy")) {
            p.proxy = Some(proxy.to_string());
        }
        p.connect_timeout_secs = whole(extra.and_then(|x| x.get("connect_timeout")));
        // Headers sent with every model (`patch.chat_completions.".*"`),
        // as aix writes them; patches of some models only are not kept.
        if let Some(Value::Object(patch)) = c.get("patch") {
            let every = patch
                .get("chat_completions")
                .and_then(|cc| cc.get(".*"))
                .and_then(|all| all.get("headers"))
                .and_then(Value::as_object);
            for (k, v) in every.into_iter().flatten() {
                let (Some(v), Ok(())) = (v.as_str(), provider::validate_header_name(k)) else {
                    continue;
                };
                if crate::targets::literal_credential(k, v) {
                    let var = crate::plan::manifest::env_var_for(&name, k);
                    b.warn(format!(
                        "client {name}: literal header {k} in {} replaced by ${{env:{var}}}: set {var}",
                        b.file
                    ));
                    p.headers.push((k.clone(), format!("${{env:{var}}}")));
                } else {
                    p.headers.push((k.clone(), v.to_string()));
                }
            }
            let other = patch.len() > 1
                || patch
                    .get("chat_completions")
                    .and_then(Value::as_object)
                    .is_some_and(|cc| {
                        cc.len() > 1
                            || cc
                                .values()
                                .any(|x| x.as_object().is_some_and(|o| o.len() > 1))
                    });
            if other {
                b.warn(format!(
                    "{}: client {name}: patches other than headers for every model are not imported",
                    b.file
                ));
            }
        }
        b.groups.push(Group {
            shared: Value::Null,
            prefix: Some(name.clone()),
            provider: p,
            entries: vec![format!("client {name}")],
        });
        let g = b.groups.len() - 1;
        for m in c
            .get("models")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(id) = str_of(m, "name") else {
                b.warn(format!(
                    "{}: client {name}: a model without a name; skipped",
                    b.file
                ));
                continue;
            };
            unmapped(
                b,
                &format!("client {name}: model {id}"),
                m,
                &["name", "max_input_tokens", "max_output_tokens"],
            );
            let mut s = Map::new();
            if let Some(n) = whole(m.get("max_input_tokens")) {
                s.insert("context_window".into(), json!(n));
            }
            if let Some(n) = whole(m.get("max_output_tokens")) {
                s.insert("max_output_tokens".into(), json!(n));
            }
            b.model(g, &format!("{name}:{id}"), id, s);
        }
    }
}

// ---- LiteLLM ------------------------------------------------------------

fn from_litellm(b: &mut Builder<'_>, list: &[Value]) {
    for (i, e) in list.iter().enumerate() {
        let Some(model_name) = str_of(e, "model_name").map(String::from) else {
            b.warn(format!(
                "{}: entry {} has no model_name; skipped",
                b.file,
                i + 1
            ));
            continue;
        };
        let params = e.get("litellm_params").unwrap_or(&Value::Null);
        let model = str_of(params, "model").unwrap_or_default();
        let (wire, id) = match model.split_once('/') {
            Some(("openai", id)) if !id.is_empty() => (Wire::Chat, id),
            Some(("anthropic", id)) if !id.is_empty() => (Wire::Messages, id),
            _ => {
                let route = if model.is_empty() {
                    "no model".to_string()
                } else {
                    crate::output::clip(model, 80).into_owned()
                };
                b.warn(format!(
                    "{}: entry {model_name} is routed to {route}, not to an OpenAI-compatible or Anthropic server aix can reach; skipped",
                    b.file,
                ));
                continue;
            }
        };
        let Some(api_base) = str_of(params, "api_base") else {
            b.warn(format!(
                "{}: entry {model_name} has no api_base (LiteLLM routes it to its provider's own server); skipped",
                b.file
            ));
            continue;
        };
        let api_base = api_base.trim_end_matches('/');
        let url = match wire {
            Wire::Messages => format!("{api_base}/v1"),
            _ => api_base.to_string(),
        };
        let Some(base) = base_url(b, &model_name, &url) else {
            continue;
        };
        // The key: a variable, none, or a literal (never kept).
        let key = match params.get("api_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "none" => None,
            Some(Value::String(s))
                if s.strip_prefix("os.environ/")
                    .is_some_and(crate::secret::envref::is_var_name) =>
            {
                Some((s["os.environ/".len()..].to_string(), false))
            }
            Some(_) => Some((String::new(), true)),
        };
        let timeout = whole(params.get("timeout"));
        if params.get("timeout").is_some_and(|t| !t.is_null()) && timeout.is_none() {
            b.warn(format!(
                "{}: entry {model_name}: timeout is not a whole number of seconds; left out",
                b.file
            ));
        }
        let hs = headers(b, &model_name, params.get("extra_headers"));
        let literal = key.as_ref().is_some_and(|(_, l)| *l);
        let shared = json!({
            "base": base,
            "key": if literal { json!({"literal": params.get("api_key")}) } else { json!(key.as_ref().map(|(v, _)| v)) },
            "timeout": timeout,
            "headers": hs,
        });
        let file = b.file.to_string();
        let mut replaced = None;
        let (g, k) = b.group(&model_name, &base, shared, |name| {
            let mut p = Provider::new(name.clone(), base.clone());
            p.api_key = key.as_ref().map(|(var, literal)| {
                let var = if *literal {
                    let v = crate::plan::manifest::env_var_for(&name, "API_KEY");
                    replaced = Some((name.clone(), v.clone()));
                    v
                } else {
                    var.clone()
                };
                format!("${{env:{var}}}")
            });
            p.timeout_secs = timeout;
            p.headers = hs.clone();
            p
        });
        if let Some((name, var)) = replaced {
            b.warn(format!(
                "providers.{name}: literal key in {file} replaced by ${{env:{var}}}: set {var}"
            ));
        }
        let mut s = settings(&k, id);
        let what = format!("entry {model_name}");
        unmapped(b, &what, e, &["model_name", "litellm_params", "model_info"]);
        unmapped(
            b,
            &format!("{what}: litellm_params"),
            params,
            &["model", "api_base", "api_key", "timeout", "extra_headers"],
        );
        let info = e.get("model_info").unwrap_or(&Value::Null);
        unmapped(
            b,
            &format!("{what}: model_info"),
            info,
            &["max_input_tokens", "max_output_tokens", "description"],
        );
        if let Some(d) = str_of(info, "description") {
            s.insert("description".into(), json!(d));
        }
        if let Some(n) = whole(info.get("max_input_tokens")) {
            s.insert("context_window".into(), json!(n));
        }
        if let Some(n) = whole(info.get("max_output_tokens")) {
            s.insert("max_output_tokens".into(), json!(n));
        }
        if wire == Wire::Messages {
            s.insert("wire".into(), json!("messages"));
        }
        b.model(g, &model_name, &k, s);
    }
    // A provider whose every model speaks Messages says so once.
    for g in &mut b.groups {
        let Some(models) = &mut g.provider.models else {
            continue;
        };
        if !models.is_empty()
            && models
                .values()
                .all(|m| m.get("wire").and_then(Value::as_str) == Some("messages"))
        {
            for m in models.values_mut() {
                if let Value::Object(o) = m {
                    o.remove("wire");
                }
            }
            g.provider.wire = Some(Wire::Messages);
        }
    }
}

// ---- the round trip -------------------------------------------------------

/// Maps the imported providers back onto the tool's entries, as `aix
/// apply` will, and says which of the file's entries come out different
/// (so apply shows them as conflicts instead of adopting them).
fn check_round_trip(tool: Tool, place: Place, file: &Doc, out: &mut Imported) {
    let format = tool.format();
    for p in &out.providers {
        let mapped = super::map(tool, &[(p, Key::of(p, false))]);
        let differ: Vec<String> = mapped
            .items
            .iter()
            .filter(|item| {
                file.get(place, &item.key).is_some_and(|have| {
                    !doc::same(
                        &doc::normal(format, &have),
                        &doc::normal(format, &item.value),
                    )
                })
            })
            .map(|item| item.key.clone())
            .collect();
        if !differ.is_empty() {
            out.warnings.push(format!(
                "providers.{}: aix would write {} differently (settings it does not import, or a key it does not write), so `aix apply` shows {} as a conflict; `--force` takes {} over",
                p.name,
                differ.join(", "),
                if differ.len() == 1 { "it" } else { "them" },
                if differ.len() == 1 { "it" } else { "them" },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tool: Tool, text: &str) -> Imported {
        import(tool, "F", text).unwrap()
    }

    /// Maps `providers` with the tool's module and renders the file, as
    /// `aix apply` would write it into an empty one.
    fn exported(tool: Tool, providers: &[Provider]) -> String {
        let keyed: Vec<(&Provider, Key)> =
            providers.iter().map(|p| (p, Key::of(p, false))).collect();
        let out = super::super::map(tool, &keyed);
        let mut d = Doc::parse(tool.format(), "", tool.skeleton()).unwrap();
        for item in &out.items {
            d.set(item.place, &item.key, &item.value);
        }
        d.render()
    }

    fn sample() -> Vec<Provider> {
        let mut a = Provider::new("work", "https://llm.example.com/v1");
        a.api_key = Some("${env:WORK_KEY}".into());
        a.default_model = Some("big".into());
        a.models = Some(
            json!({"big": {"id": "org/big-1", "context_window": 8192}, "small": {}})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let mut o = Provider::new("ollama", "http://localhost:11434/v1");
        o.default_model = Some("llama3.2".into());
        vec![a, o]
    }

    #[test]
    fn llm_round_trips_aix_entries() {
        let text = exported(Tool::Llm, &sample());
        let got = run(Tool::Llm, &text);
        assert_eq!(got.warnings, Vec::<String>::new());
        assert_eq!(exported(Tool::Llm, &got.providers), text);
        let work = &got.providers[0];
        assert_eq!(work.name, "work");
        assert_eq!(work.api_key.as_deref(), Some("${env:WORK_KEY}"));
        assert_eq!(work.models.as_ref().unwrap()["big"]["id"], "org/big-1");
        assert_eq!(got.notes.len(), 1);
    }

    #[test]
    fn llm_entries_of_others_are_grouped_by_server() {
        let text = "- model_id: gpt-4o-mini\n  api_base: https://api.example.com/v1/\n  api_key_name: EX\n- model_id: other\n  model_name: other-1\n  api_base: https://api.example.com/v1\n  api_key_name: EX\n- model_id: local\n  api_base: http://localhost:8080/v1\n- model_id: openai-default\n";
        let got = run(Tool::Llm, text);
        let names: Vec<&str> = got.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["api.example.com", "localhost-8080"]);
        let ex = &got.providers[0];
        assert_eq!(ex.default_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(ex.models.as_ref().unwrap()["other"]["id"], "other-1");
        assert_eq!(ex.base_url, "https://api.example.com/v1");
        assert_eq!(got.warnings.len(), 3, "{:#?}", got.warnings);
        assert!(got.warnings[0].contains("openai-default has no api_base"));
        assert!(got.warnings[1].contains("api.example.com/MODEL"));
    }

    #[test]
    fn what_aix_cannot_keep_is_named_and_what_it_can_is_kept() {
        let text = "- model_id: az/gpt\n  model_name: gpt-4o\n  api_base: https://az.example.com/v1\n  api_version: '2024-10-21'\n  supports_tools: true\n  can_stream: false\n  responses: true\n";
        let got = run(Tool::Llm, text);
        let all = got.warnings.join("\n");
        assert!(
            all.contains("entry az/gpt: api_version, supports_tools not imported"),
            "{all}"
        );
        let m = &got.providers[0].models.as_ref().unwrap()["gpt"];
        assert_eq!(m["wire"], "responses");
        assert_eq!(m["stream"], false);
        // And written back as llm had it.
        let back = exported(Tool::Llm, &got.providers);
        assert!(
            back.contains("can_stream: false") && back.contains("responses: true"),
            "{back}"
        );
        let text = "model_list:\n- model_name: a/m\n  litellm_params:\n    model: openai/m\n    api_base: http://h/v1\n    api_key: none\n    rpm: 10\n  model_info:\n    mode: chat\n  router_settings: {}\n";
        let got = run(Tool::Litellm, text);
        let all = got.warnings.join("\n");
        assert!(
            all.contains("entry a/m: router_settings not imported"),
            "{all}"
        );
        assert!(
            all.contains("entry a/m: litellm_params: rpm not imported"),
            "{all}"
        );
        assert!(
            all.contains("entry a/m: model_info: mode not imported"),
            "{all}"
        );
        let text = "clients:\n- type: openai-compatible\n  name: w\n  api_base: http://h/v1\n  models:\n  - name: m\n    supports_vision: true\n  extra: {proxy: 'http://p:3128', timeout: 3}\n";
        let got = run(Tool::Aichat, text);
        let all = got.warnings.join("\n");
        assert!(
            all.contains("client w: model m: supports_vision not imported"),
            "{all}"
        );
        assert!(
            all.contains("client w: extra: timeout not imported"),
            "{all}"
        );
    }

    #[test]
    fn aichat_round_trips_and_never_keeps_literal_keys() {
        let mut p = sample();
        p[1].proxy = Some("http://proxy:3128".into());
        p[1].connect_timeout_secs = Some(5);
        let text = exported(Tool::Aichat, &p);
        let got = run(Tool::Aichat, &text);
        assert_eq!(got.warnings, Vec::<String>::new());
        assert_eq!(exported(Tool::Aichat, &got.providers), text);
        let text = "clients:\n- type: openai-compatible\n  name: my-srv\n  api_base: http://h/v1\n  api_key: sk-CANARY\n  models: [{name: m1}]\n- type: gemini\n  name: g\n";
        let got = run(Tool::Aichat, text);
        assert_eq!(
            got.providers[0].api_key.as_deref(),
            Some("${env:MY_SRV_API_KEY}")
        );
        let all = format!("{:?}", got.warnings);
        assert!(!all.contains("CANARY"), "{all}");
        assert!(all.contains("client g is of type gemini"), "{all}");
    }

    #[test]
    fn litellm_round_trips_including_messages_and_timeouts() {
        let mut p = sample();
        p[0].timeout_secs = Some(30);
        p[0].headers = vec![("X-Title".into(), "aix".into())];
        let mut c = Provider::new("claude", "https://api.anthropic.com/v1");
        c.wire = Some(Wire::Messages);
        c.api_key = Some("${env:ANTHROPIC_API_KEY}".into());
        c.default_model = Some("claude-x".into());
        p.push(c);
        let text = exported(Tool::Litellm, &p);
        let got = run(Tool::Litellm, &text);
        assert_eq!(got.warnings, Vec::<String>::new());
        assert_eq!(exported(Tool::Litellm, &got.providers), text);
        assert_eq!(got.providers[2].wire, Some(Wire::Messages));
    }

    #[test]
    fn litellm_skips_other_routes_and_hides_literal_keys() {
        let text = "model_list:\n- model_name: gpt\n  litellm_params: {model: azure/gpt, api_base: https://x.azure.com}\n- model_name: b\n  litellm_params: {model: bedrock/claude}\n- model_name: mine\n  litellm_params: {model: openai/m, api_base: http://h:1/v1, api_key: sk-CANARY}\n";
        let got = run(Tool::Litellm, text);
        assert_eq!(got.providers.len(), 1);
        assert_eq!(
            got.providers[0].api_key.as_deref(),
            Some("${env:AIX_H_1_API_KEY}")
        );
        let all = format!("{:?}", got.warnings);
        assert!(!all.contains("CANARY"), "{all}");
        assert!(all.contains("gpt is routed to azure/gpt"), "{all}");
        assert!(all.contains("b is routed to bedrock/claude"), "{all}");
    }

    #[test]
    fn litellm_groups_by_server_and_key_and_names_are_unique() {
        let text = "model_list:\n- model_name: a\n  litellm_params: {model: openai/a, api_base: http://h/v1, api_key: os.environ/K1}\n- model_name: b\n  litellm_params: {model: openai/b, api_base: http://h/v1, api_key: os.environ/K2}\n- model_name: c\n  litellm_params: {model: openai/c, api_base: http://h/v1/, api_key: os.environ/K1}\n- model_name: a\n  litellm_params: {model: openai/a2, api_base: http://h/v1, api_key: os.environ/K1}\n";
        let got = run(Tool::Litellm, text);
        let names: Vec<&str> = got.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["h", "h-2"]);
        let keys: Vec<&String> = got.providers[0].models.as_ref().unwrap().keys().collect();
        assert_eq!(keys, ["a", "c"]);
        assert_eq!(got.providers[1].api_key.as_deref(), Some("${env:K2}"));
        assert!(
            got.warnings[0].contains("entry a: providers.h has a model a already"),
            "{:?}",
            got.warnings
        );
        assert_eq!(
            host_name("https://user@Some_Host:8443/v1"),
            "Some_Host-8443"
        );
        assert_eq!(host_name("http:///"), "imported");
    }

    #[test]
    fn misshapen_files_are_refused() {
        assert!(import(Tool::Litellm, "F", "model_list: {a: 1}\n").is_err());
        assert!(import(Tool::Llm, "F", "a: [").is_err());
        assert!(import(Tool::Codex, "F", "").is_err());
        assert!(run(Tool::Llm, "").providers.is_empty());
    }
}
