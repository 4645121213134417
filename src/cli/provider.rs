//! `aix provider add|list|info|update|remove|models|check|export`: the
//! arguments, and how each result reads; the work is in
//! [`crate::ops::provider`].

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Ctx;
use crate::chat;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::notes::Note;
use crate::ops::provider as ops;
use crate::output::{self, Format, Piece, View};
use crate::provider::{self, AuthType, Provider};
use crate::secret;
use crate::state::{Broken, KeySource, Origin, State};

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
    /// Base URL; requests go to BASE_URL/chat/completions
    #[arg(value_parser = provider::parse_base_url_arg)]
    base_url: String,
    /// Model used when a run names none
    #[arg(long, short = 'm', value_name = "MODEL", value_parser = provider::parse_model)]
    model: Option<String>,
    /// Extra header sent with every request (repeatable); the value may be ${env:VAR}
    #[arg(long = "header", short = 'H', value_name = "KEY:VALUE", value_parser = provider::parse_header_arg)]
    headers: Vec<(String, String)>,
    /// bearer sends "Authorization: Bearer KEY"; api-key sends no automatic auth
    #[arg(long, value_enum, default_value_t = AuthType::Bearer)]
    auth_type: AuthType,
    /// Environment variable holding the key when config.json has none
    #[arg(long, value_name = "VAR", value_parser = provider::parse_env_var)]
    api_key_env: Option<String>,
    /// Seconds to wait for an answer (default 300)
    #[arg(long, value_name = "SECS", value_parser = provider::parse_timeout)]
    timeout: Option<u64>,
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
    /// New base URL
    #[arg(long, value_name = "URL", value_parser = provider::parse_base_url_arg)]
    url: Option<String>,
    /// New default model
    #[arg(long, short = 'm', value_name = "MODEL", value_parser = provider::parse_model)]
    model: Option<String>,
    /// Forget the default model (runs then need --model)
    #[arg(long, conflicts_with = "model")]
    no_model: bool,
    /// Set a header, replacing one of the same name (repeatable)
    #[arg(long = "header", short = 'H', value_name = "KEY:VALUE", value_parser = provider::parse_header_arg)]
    headers: Vec<(String, String)>,
    /// Remove a header by name (repeatable)
    #[arg(long = "remove-header", value_name = "KEY")]
    remove_headers: Vec<String>,
    /// bearer or api-key
    #[arg(long, value_enum)]
    auth_type: Option<AuthType>,
    /// Environment variable holding the key when config.json has none
    #[arg(long, value_name = "VAR", value_parser = provider::parse_env_var)]
    api_key_env: Option<String>,
    /// Seconds to wait for an answer
    #[arg(long, value_name = "SECS", value_parser = provider::parse_timeout)]
    timeout: Option<u64>,
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
    }
}

fn add(ctx: &Ctx, args: AddArgs) -> Result<()> {
    let p = Provider {
        name: args.name,
        base_url: args.base_url,
        default_model: args.model,
        headers: args.headers,
        auth_type: args.auth_type,
        api_key_env: args.api_key_env,
        timeout_secs: args.timeout,
        max_time_secs: None,
    };
    output::show_all(&ops::add(&ctx.store, &p)?);
    Ok(())
}

fn remove(ctx: &Ctx, args: RemoveArgs) -> Result<()> {
    output::show_all(&ops::remove(&ctx.store, &args.name, args.forget_key)?);
    Ok(())
}

fn update(ctx: &Ctx, args: UpdateArgs) -> Result<()> {
    let changes = ops::Changes {
        url: args.url,
        model: args.model,
        no_model: args.no_model,
        headers: args.headers,
        remove_headers: args.remove_headers,
        auth_type: args.auth_type,
        api_key_env: args.api_key_env,
        timeout: args.timeout,
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
    let (timeout, timeout_from) = chat::effective_timeout(&state, p);
    let max_time = chat::effective_max_time(&state, p);
    let view = InfoView {
        provider: provider_json(&d, ctx.show_secrets),
        effective_timeout_secs: timeout,
        timeout_from: timeout_from.label(),
        effective_max_time_secs: max_time.map(|(t, _)| t),
        max_time_from: max_time.map(|(_, f)| f.label()),
        text: info_lines(
            &d,
            &state,
            ctx.show_secrets,
            (timeout, timeout_from),
            max_time,
        ),
    };
    output::emit(Format::json_if(args.json), &view)
}

/// `provider info`: every field, and the effective timeouts.
#[derive(Serialize)]
struct InfoView {
    #[serde(flatten)]
    provider: ProviderJson,
    effective_timeout_secs: u64,
    timeout_from: &'static str,
    effective_max_time_secs: Option<u64>,
    max_time_from: Option<&'static str>,
    #[serde(skip)]
    text: String,
}

impl View for InfoView {
    fn text(&self) -> Vec<Piece> {
        vec![Piece::Text(self.text.clone())]
    }
}

/// The text of `provider info`: one `field: value` line per field, values
/// aligned, then the headers indented.
fn info_lines(
    d: &ops::Described,
    state: &State,
    show: bool,
    (timeout, timeout_from): (u64, chat::Source),
    max_time: Option<(u64, chat::Source)>,
) -> String {
    let p = &d.resolved.provider;
    let mut lines: Vec<(&str, String)> = vec![
        ("name", p.name.clone()),
        (
            "kind",
            match d.resolved.origin {
                Origin::Custom => format!("custom (custom:{})", p.name),
                Origin::BuiltIn => "built-in".into(),
            },
        ),
        ("owner", d.owner_label().into()),
        ("base_url", p.base_url.clone()),
        ("chat_url", format!("{}/chat/completions", p.base_url)),
        (
            "default_model",
            p.default_model
                .clone()
                .unwrap_or_else(|| "(none: runs need --model)".into()),
        ),
        ("auth_type", p.auth_type.to_string()),
        ("api_key", key_text(d, state, show)),
        (
            "api_key_env",
            p.api_key_env.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "timeout_secs",
            format!("{timeout} ({})", timeout_from.label()),
        ),
    ];
    if let Some((t, from)) = max_time {
        lines.push(("max_time_secs", format!("{t} ({})", from.label())));
    }
    if p.headers.is_empty() {
        lines.push(("headers", "-".into()));
    } else {
        lines.push(("headers", String::new()));
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut text = String::new();
    for (k, v) in &lines {
        text.push_str(format!("{:width$} {v}", format!("{k}:")).trim_end());
        text.push('\n');
    }
    for (name, value) in &p.headers {
        text.push_str(&format!(
            "  {name}: {}\n",
            secret::display_header_value(name, value, show)
        ));
    }
    text
}

/// Where a provider's key comes from, the key masked unless `show`.
fn key_text(d: &ops::Described, state: &State, show: bool) -> String {
    match &d.key {
        None => "not set".into(),
        Some(KeySource::Config(slot)) => {
            let shown = if show {
                state
                    .stored_key(&d.resolved.provider.name, d.resolved.origin)
                    .map(|(k, _)| k.expose().to_string())
                    .unwrap_or_default()
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
    }
}

/// A provider in `provider list --json` and `provider info --json`.
#[derive(Serialize)]
struct ProviderJson {
    name: String,
    kind: &'static str,
    owner: &'static str,
    base_url: String,
    default_model: Option<String>,
    auth_type: &'static str,
    headers: Map<String, Value>,
    api_key_env: Option<String>,
    api_key_source: Option<String>,
    timeout_secs: Option<u64>,
    max_time_secs: Option<u64>,
}

/// A provider's fields for JSON, credential headers masked unless `show`.
fn provider_json(d: &ops::Described, show: bool) -> ProviderJson {
    let p = &d.resolved.provider;
    ProviderJson {
        name: p.name.clone(),
        kind: match d.resolved.origin {
            Origin::Custom => "custom",
            Origin::BuiltIn => "built-in",
        },
        owner: d.owner_label(),
        base_url: p.base_url.clone(),
        default_model: p.default_model.clone(),
        auth_type: p.auth_type.as_str(),
        headers: p
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::from(secret::display_header_value(k, v, show)),
                )
            })
            .collect(),
        api_key_env: p.api_key_env.clone(),
        api_key_source: d.key.as_ref().map(|k| match k {
            KeySource::Config(slot) => format!("config:api_keys.{slot}"),
            KeySource::Env(var) => format!("env:{var}"),
        }),
        timeout_secs: p.timeout_secs,
        max_time_secs: p.max_time_secs,
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
                vec![
                    ops::model_id(m).unwrap_or("?").to_string(),
                    owner.to_string(),
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
            headers: &["ID", "OWNED BY"],
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
    let (text, replaced) = export_toml(&providers);
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
    crate::manifest::render(providers)
}
