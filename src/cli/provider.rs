//! `aix provider add|list|info|update|remove|models|check|export`: the
//! arguments, and how each result reads; the work is in
//! [`crate::ops::provider`].

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Ctx;
use crate::config::state::{Broken, KeySource, Origin, State};
use crate::error::{Error, Result};
use crate::http::Client;
use crate::notes::Note;
use crate::ops::provider as ops;
use crate::output::{self, Format, Piece, View};
use crate::provider::args::{AddFields, UpdateFields};
use crate::provider::fields;
use crate::provider::{self, Provider};
use crate::secret;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a custom provider
    Add(AddArgs),
    /// List custom providers (and built-ins with --all)
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show every field of a provider, secrets masked
    Info(InfoArgs),
    /// Change fields of a custom provider in place (its key stays)
    Update(UpdateArgs),
    /// Remove a custom provider (its stored API key stays unless --forget-key)
    #[command(visible_alias = "rm")]
    Remove(RemoveArgs),
    /// List the models a provider serves (GET BASE_URL/models)
    Models(ModelsArgs),
    /// Test providers in parallel: reachability, auth and latency
    Check(CheckArgs),
    /// Print a providers.toml describing the current custom providers
    Export(ExportArgs),
    /// List the presets (`--preset NAME`) and what each sets
    Presets(PresetsArgs),
}

#[derive(Debug, clap::Args)]
pub struct PresetsArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Providers to export (default: every custom provider)
    names: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    /// Provider: NAME, custom:NAME or a built-in name
    name: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// Seconds to wait for the answer
    #[arg(long, value_name = "SECS", value_parser = provider::parse_timeout, default_value = "30")]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Providers to check (default: every custom provider)
    names: Vec<String>,
    /// Also check the built-in providers that have a key
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each provider
    #[arg(long, value_name = "SECS", value_parser = provider::parse_timeout, default_value = "10")]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Provider name: 1-64 of A-Z a-z 0-9 . _ -
    #[arg(value_parser = provider::parse_name)]
    name: String,
    /// Base URL; requests go to BASE_URL/chat/completions (may be left out
    /// with a --preset that has a usual one)
    #[arg(value_parser = provider::parse_base_url_arg)]
    base_url: Option<String>,
    #[command(flatten)]
    fields: AddFields,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Include the built-in providers
    #[arg(long)]
    all: bool,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Provider: NAME, custom:NAME or a built-in name
    name: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Custom provider: NAME or custom:NAME
    name: String,
    /// Also delete its API key from config.json
    #[arg(long)]
    forget_key: bool,
    /// Keep its API key (the default; kept for older scripts)
    #[arg(long, hide = true, conflicts_with = "forget_key")]
    keep_key: bool,
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Custom provider: NAME or custom:NAME
    name: String,
    #[command(flatten)]
    fields: UpdateFields,
    /// Edit a provider that providers.toml manages (the next plan shows drift)
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<()> {
    match cmd {
        Command::Add(args) => add(ctx, args),
        Command::List(args) => list(ctx, args),
        Command::Info(args) => info(ctx, args),
        Command::Update(args) => update(ctx, args),
        Command::Remove(args) => remove(ctx, args),
        Command::Models(args) => models(ctx, args),
        Command::Check(args) => check(ctx, args),
        Command::Export(args) => export(ctx, args),
        Command::Presets(args) => presets(args),
    }
}

fn presets(args: PresetsArgs) -> Result<()> {
    output::emit(
        Format::json_if(args.json),
        &PresetsView(provider::presets::listing()),
    )
}

/// `provider presets`: each preset, what it is, and the fields it sets.
#[derive(Serialize)]
#[serde(transparent)]
struct PresetsView(Vec<provider::presets::Listed>);

impl View for PresetsView {
    fn text(&self) -> Vec<Piece> {
        let width = self.0.iter().map(|p| p.name.len()).max().unwrap_or(0) + 2;
        let mut text = String::new();
        for p in &self.0 {
            text.push_str(&format!("{:width$}{}\n", p.name, p.about));
            for (k, v) in &p.sets {
                let shown = match v {
                    Value::Object(m) => m
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                text.push_str(&format!("{:width$}  {k} = {shown}\n", ""));
            }
        }
        vec![Piece::Text(text)]
    }
}

fn add(ctx: &Ctx, args: AddArgs) -> Result<()> {
    let given_url = args.base_url.is_some();
    let mut p = Provider::new(args.name, args.base_url.unwrap_or_default());
    args.fields
        .0
        .apply(&mut p, &|_| false)
        .map_err(Error::usage)?;
    let set = &args.fields.0.set;
    provider::presets::fill(&mut p, &|f| {
        (f.name == "base_url" && given_url) || set.iter().any(|(g, _)| g.name == f.name)
    });
    if p.base_url.is_empty() {
        let hint = match &p.preset {
            Some(name) => format!(
                "preset {name} has no usual URL: give it, as in `aix provider add {} URL --preset {name}`",
                p.name
            ),
            None => format!(
                "give it, as in `aix provider add {} http://localhost:11434/v1`, or pick a --preset (`aix provider presets`)",
                p.name
            ),
        };
        return Err(Error::usage(format!("provider '{}' needs a base URL", p.name)).hint(hint));
    }
    output::show_all(&ops::add(&ctx.store, &p)?);
    Ok(())
}

fn remove(ctx: &Ctx, args: RemoveArgs) -> Result<()> {
    output::show_all(&ops::remove(&ctx.store, &args.name, args.forget_key)?);
    Ok(())
}

fn update(ctx: &Ctx, args: UpdateArgs) -> Result<()> {
    let changes = ops::Changes {
        fields: args.fields.0,
        force: args.force,
    };
    output::show_all(&ops::update(&ctx.store, &args.name, &changes)?);
    Ok(())
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let listing = ops::list(&state, args.all);
    let view = ListView {
        items: listing
            .providers
            .iter()
            .map(|d| ListItem::Provider(provider_json(d, ctx.show_secrets)))
            .chain(
                listing
                    .broken
                    .iter()
                    .map(|b| ListItem::Broken(broken_json(b))),
            )
            .collect(),
        listing,
    };
    output::emit(Format::json_if(args.json), &view)
}

/// `provider list`: the providers, then the entries that cannot be used.
#[derive(Serialize)]
#[serde(transparent)]
struct ListView {
    items: Vec<ListItem>,
    #[serde(skip)]
    listing: ops::Listing,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ListItem {
    Provider(ProviderJson),
    Broken(BrokenJson),
}

impl View for ListView {
    fn text(&self) -> Vec<Piece> {
        let ops::Listing { providers, broken } = &self.listing;
        if providers.is_empty() && broken.is_empty() {
            return vec![Piece::Note(Note::info(
                "no custom providers yet; add one with `aix provider add NAME BASE_URL`, or see the built-ins with `aix provider list --all`",
            ))];
        }
        let rows = providers
            .iter()
            .map(|d| {
                let p = &d.resolved.provider;
                vec![
                    p.name.clone(),
                    p.base_url.clone(),
                    p.default_model.clone().unwrap_or_else(|| "-".into()),
                    p.auth_type.to_string(),
                    d.owner_label().to_string(),
                ]
            })
            .chain(broken.iter().map(|b| b.row()))
            .collect();
        let mut pieces = vec![Piece::Table {
            headers: &["NAME", "BASE URL", "MODEL", "AUTH", "OWNER"],
            rows,
        }];
        pieces.extend(broken.iter().map(|b| {
            Piece::Note(Note::warn(format!(
                "provider '{}' cannot be used: {}",
                b.name,
                b.error.message()
            )))
        }));
        pieces
    }
}

/// A custom provider entry that cannot be used, in `provider list --json`.
#[derive(Serialize)]
struct BrokenJson {
    name: String,
    kind: &'static str,
    owner: &'static str,
    base_url: Option<String>,
    error: String,
}

fn broken_json(b: &Broken) -> BrokenJson {
    BrokenJson {
        name: b.name.clone(),
        kind: "custom",
        owner: b.owner.as_str(),
        base_url: b.base_url.clone(),
        error: b.error.message().to_string(),
    }
}

fn info(ctx: &Ctx, args: InfoArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let d = ops::describe(&state, &state.resolve(&args.name)?);
    let p = &d.resolved.provider;
    // What a run uses when no flag overrides it, and where that came from.
    let config = |key: &str| state.setting(key).cloned();
    let mut effective = Map::new();
    for f in fields::FIELDS.iter().filter(|f| f.config_fallback) {
        let found = fields::effective(f, p, &config);
        let stem = f.name.strip_suffix("_secs").unwrap_or(f.name);
        effective.insert(
            format!("effective_{}", f.name),
            found.as_ref().map_or(Value::Null, |(v, _)| v.clone()),
        );
        effective.insert(
            format!("{stem}_from"),
            found.map_or(Value::Null, |(_, from)| Value::from(from.label())),
        );
    }
    let view = InfoView {
        provider: provider_json(&d, ctx.show_secrets),
        effective,
        text: info_lines(&d, &state, ctx.show_secrets),
    };
    output::emit(Format::json_if(args.json), &view)
}

/// `provider info`: every field, and the effective values of those with a
/// config.json default.
#[derive(Serialize)]
struct InfoView {
    #[serde(flatten)]
    provider: ProviderJson,
    #[serde(flatten)]
    effective: Map<String, Value>,
    #[serde(skip)]
    text: String,
}

impl View for InfoView {
    fn text(&self) -> Vec<Piece> {
        vec![Piece::Text(self.text.clone())]
    }
}

/// The text of `provider info`: one `field: value` line per field (from
/// the field declarations), values aligned, map entries indented.
fn info_lines(d: &ops::Described, state: &State, show: bool) -> String {
    let p = &d.resolved.provider;
    let mut lines: Vec<(&str, String, Vec<String>)> = vec![
        ("name", p.name.clone(), vec![]),
        (
            "kind",
            match d.resolved.origin {
                Origin::Custom => format!("custom (custom:{})", p.name),
                Origin::BuiltIn => "built-in".into(),
            },
            vec![],
        ),
        ("owner", d.owner_label().into(), vec![]),
    ];
    let config = |key: &str| state.setting(key).cloned();
    for line in fields::info_lines(p, &config, show) {
        // The `api_key` field shows as the key's source, below.
        if line.0 == "api_key" {
            continue;
        }
        // Lines that are not fields sit beside the field they explain.
        if line.0 == "api_key_env" {
            lines.push(("api_key", key_text(d, state, show), vec![]));
        }
        let base = line.0 == "base_url";
        lines.push(line);
        if base {
            lines.push((
                "chat_url",
                format!(
                    "{}/chat/completions{}",
                    p.base_url,
                    crate::http::query_string(&p.query_params)
                ),
                vec![],
            ));
        }
    }
    let width = lines.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0) + 1;
    let mut text = String::new();
    for (k, v, more) in &lines {
        // A map with entries shows them under its name (maps come last).
        let v = if more.is_empty() && v.is_empty() {
            "-"
        } else {
            v.as_str()
        };
        text.push_str(format!("{:width$} {v}", format!("{k}:")).trim_end());
        text.push('\n');
        for e in more {
            text.push_str(&format!("  {e}\n"));
        }
    }
    text
}

/// Where a provider's key comes from, the key masked unless `show`.
fn key_text(d: &ops::Described, state: &State, show: bool) -> String {
    match &d.key {
        None => "not set".into(),
        Some(KeySource::Config(slot)) => {
            let stored = state
                .stored_key(&d.resolved.provider.name, d.resolved.origin)
                .map(|(k, _)| k.expose().to_string())
                .unwrap_or_default();
            // A reference (`${keyring:aix/NAME}`) hides nothing.
            let shown = if show || secret::is_reference_only(&stored) {
                stored
            } else {
                secret::MASK.to_string()
            };
            format!("{shown} (config.json api_keys.{slot})")
        }
        Some(KeySource::Env(var)) => {
            let shown = if show {
                std::env::var(var).unwrap_or_default()
            } else {
                secret::MASK.to_string()
            };
            format!("{shown} (from ${var})")
        }
        Some(KeySource::Reference(r)) => format!("{r} (api_key, read when a request is sent)"),
    }
}

/// A provider in `provider list --json` and `provider info --json`: its
/// declared fields (null when unset, credential entries masked unless
/// `show`) between its identity and where its key comes from.
#[derive(Serialize)]
struct ProviderJson {
    name: String,
    kind: &'static str,
    owner: &'static str,
    #[serde(flatten)]
    fields: Map<String, Value>,
    api_key_source: Option<String>,
}

fn provider_json(d: &ops::Described, show: bool) -> ProviderJson {
    let p = &d.resolved.provider;
    let Value::Object(mut shown) = fields::shown_json(p, show) else {
        unreachable!("a provider is an object")
    };
    let fields = fields::FIELDS
        .iter()
        .map(|f| {
            let empty = if f.is_map() {
                Value::Object(Map::new())
            } else {
                Value::Null
            };
            (f.name.to_string(), shown.remove(f.name).unwrap_or(empty))
        })
        .collect();
    ProviderJson {
        name: p.name.clone(),
        kind: match d.resolved.origin {
            Origin::Custom => "custom",
            Origin::BuiltIn => "built-in",
        },
        owner: d.owner_label(),
        fields,
        api_key_source: d.key.as_ref().map(|k| match k {
            KeySource::Config(slot) => format!("config:api_keys.{slot}"),
            KeySource::Env(var) => format!("env:{var}"),
            KeySource::Reference(r) => format!("ref:{r}"),
        }),
    }
}

fn models(ctx: &Ctx, args: ModelsArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let resolved = state.resolve(&args.name)?;
    let key = state.api_key(&resolved);
    let mut spinner =
        output::Spinner::start(format!("asking {} for its models", resolved.provider.name));
    let client = Client::new(false)
        .show_secrets(ctx.show_secrets)
        .notes(output::notes());
    let items = ops::models(
        &client,
        &resolved.provider,
        key.as_ref(),
        Duration::from_secs(args.timeout),
    )?;
    spinner.stop();
    // Which of them the models table declares, by key or id.
    let declared = resolved.provider.model_entries();
    let items = items
        .into_iter()
        .map(|mut m| {
            let keys: Vec<Value> = ops::model_id(&m)
                .map(|id| {
                    declared
                        .iter()
                        .filter(|d| d.id == id)
                        .map(|d| Value::from(d.key.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            if let Value::Object(o) = &mut m {
                o.insert("aix_declared_as".into(), Value::Array(keys));
            }
            m
        })
        .collect();
    let view = ModelsView {
        items,
        provider: resolved.provider.name,
    };
    output::emit(Format::json_if(args.json), &view)
}

/// `provider models`: the models as the server describes them.
#[derive(Serialize)]
#[serde(transparent)]
struct ModelsView {
    items: Vec<Value>,
    #[serde(skip)]
    provider: String,
}

impl View for ModelsView {
    fn text(&self) -> Vec<Piece> {
        let mut rows: Vec<Vec<String>> = self
            .items
            .iter()
            .map(|m| {
                let owner = m.get("owned_by").and_then(Value::as_str).unwrap_or("-");
                let declared: Vec<&str> = m["aix_declared_as"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                vec![
                    ops::model_id(m).unwrap_or("?").to_string(),
                    owner.to_string(),
                    if declared.is_empty() {
                        "-".into()
                    } else {
                        declared.join(", ")
                    },
                ]
            })
            .collect();
        rows.sort();
        if rows.is_empty() {
            return vec![Piece::Note(Note::info(format!(
                "'{}' lists no models",
                self.provider
            )))];
        }
        vec![Piece::Table {
            headers: &["ID", "OWNED BY", "DECLARED AS"],
            rows,
        }]
    }
}

fn check(ctx: &Ctx, args: CheckArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let (targets, skipped) = ops::check_targets(&state, &args.names, args.all)?;
    output::show_all(&skipped);
    if targets.is_empty() {
        output::note("no providers to check; add one with `aix provider add NAME BASE_URL`");
        return Ok(());
    }
    let client = Client::new(false)
        .show_secrets(ctx.show_secrets)
        .notes(output::notes());
    let results = ops::check(&state, &client, &targets, Duration::from_secs(args.timeout));
    let failed = results.iter().filter(|c| c.result.is_err()).count();
    let view = CheckView {
        items: results.iter().map(check_json).collect(),
        results,
    };
    output::emit(Format::json_if(args.json), &view)?;
    if failed > 0 {
        let n = view.results.len();
        return Err(Error::new(format!(
            "{failed} of {n} provider{} failed the check",
            if n == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// `provider check`: one result per provider.
#[derive(Serialize)]
#[serde(transparent)]
struct CheckView {
    items: Vec<CheckJson>,
    #[serde(skip)]
    results: Vec<ops::Checked>,
}

#[derive(Serialize)]
struct CheckJson {
    name: String,
    ok: bool,
    latency_ms: u64,
    test: Option<&'static str>,
    models: Option<usize>,
    model: Option<String>,
    error: Option<String>,
}

fn check_json(c: &ops::Checked) -> CheckJson {
    let passed = c.result.as_ref().ok();
    CheckJson {
        name: c.name.clone(),
        ok: passed.is_some(),
        latency_ms: c.took.as_millis() as u64,
        test: passed.map(ops::Passed::test),
        models: passed.and_then(|p| match p {
            ops::Passed::Models(n) => Some(*n),
            ops::Passed::Chat(_) => None,
        }),
        model: passed.and_then(|p| match p {
            ops::Passed::Models(_) => None,
            ops::Passed::Chat(m) => Some(m.clone()),
        }),
        error: c.result.as_ref().err().cloned(),
    }
}

impl View for CheckView {
    fn text(&self) -> Vec<Piece> {
        let rows = self
            .results
            .iter()
            .map(|c| {
                let (status, detail) = match &c.result {
                    Ok(ops::Passed::Models(n)) => {
                        ("ok".to_string(), format!("GET /models: {n} models"))
                    }
                    Ok(ops::Passed::Chat(m)) => (
                        "ok".to_string(),
                        format!("no GET /models; POST /chat/completions answered with {m}"),
                    ),
                    Err(e) => ("FAIL".to_string(), e.clone()),
                };
                vec![
                    c.name.clone(),
                    status,
                    format!("{} ms", c.took.as_millis()),
                    detail,
                ]
            })
            .collect();
        vec![Piece::Table {
            headers: &["NAME", "STATUS", "LATENCY", "DETAIL"],
            rows,
        }]
    }
}

fn export(ctx: &Ctx, args: ExportArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let (providers, skipped) = ops::export_targets(&state, &args.names)?;
    output::show_all(&skipped);
    let (mut text, replaced) = export_toml(&providers);
    // The aliases whose every target is an exported provider (or a
    // built-in, or another such alias): all of them for a full export.
    let aliases = state.aliases();
    let names: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
    let kept: serde_json::Map<String, Value> = aliases
        .iter()
        .filter(|(name, _)| {
            crate::run::aliases::expand(name, &aliases).is_ok_and(|ts| {
                ts.iter().all(|t| {
                    names.contains(&t.provider.as_str()) || provider::builtin(&t.provider).is_some()
                })
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    text.push_str(&crate::plan::manifest::render_aliases(&kept));
    output::print(&text)?;
    for (var, what) in &replaced {
        output::warn(format!(
            "{what} holds a literal secret; exported as ${{env:{var}}}: set {var} where you apply it"
        ));
    }
    if let Some(note) = ops::keys_not_exported(&state, &providers) {
        output::show(&note);
    }
    Ok(())
}

/// The providers.toml text for `providers`, and the literal secrets it
/// exported as `${env:VAR}` (the variable, and what held it).
fn export_toml(providers: &[Provider]) -> (String, Vec<(String, String)>) {
    crate::plan::manifest::render(providers)
}
