//! `aix provider add|list|info|remove`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::Ctx;
use crate::chat;
use crate::client::{self, Client};
use crate::error::{Error, Result};
use crate::output;
use crate::provider::{self, AuthType, Provider};
use crate::secret;
use crate::state::{KeySource, Origin, Owner, Resolved, State};

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
    p.validate()
        .map_err(|e| super::usage(format!("invalid provider '{}': {e}", p.name)))?;
    ctx.store.update(|s| {
        if s.has_provider(&p.name) {
            return Err(Error::new(format!("provider '{}' already exists", p.name))
                .hint(format!(
                    "see it with `aix provider info {0}`; to replace it, run `aix provider remove {0}` first",
                    p.name
                )));
        }
        s.put_provider(&p);
        Ok(())
    })?;
    output::status(format!("Added provider '{}' ({})", p.name, p.base_url));
    if provider::builtin(&p.name).is_some() {
        output::note(format!(
            "'{0}' is also a built-in provider; address yours as custom:{0}",
            p.name
        ));
    }
    if p.auth_type == AuthType::ApiKey && p.headers.is_empty() {
        output::warn(format!(
            "'{}' uses auth type api-key but has no headers, so requests carry no credential; add one with --header \"X-API-Key:${{env:VAR}}\"",
            p.name
        ));
    }
    Ok(())
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let mut rows: Vec<Described> = Vec::new();
    // Entries that cannot be used are listed below with their error.
    for (_, entry) in state.provider_entries() {
        if let Ok(p) = entry {
            rows.push(describe(
                &state,
                &Resolved {
                    provider: p,
                    origin: Origin::Custom,
                },
            ));
        }
    }
    let broken = state.broken_providers();
    if args.all {
        for b in provider::BUILTINS {
            let resolved = Resolved {
                provider: b.to_provider(),
                origin: Origin::BuiltIn,
            };
            rows.push(describe(&state, &resolved));
        }
    }
    if args.json {
        let mut items: Vec<Value> = rows.iter().map(|d| d.to_json(ctx.show_secrets)).collect();
        items.extend(broken.iter().map(|b| b.to_json()));
        output::json(&Value::Array(items))?;
        return Ok(());
    }
    if rows.is_empty() && broken.is_empty() {
        output::note(
            "no custom providers yet; add one with `aix provider add NAME BASE_URL`, or see the built-ins with `aix provider list --all`",
        );
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
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
    output::table(&["NAME", "BASE URL", "MODEL", "AUTH", "OWNER"], &table)?;
    for b in &broken {
        output::warn(format!(
            "provider '{}' cannot be used: {}",
            b.name,
            b.error.message()
        ));
    }
    Ok(())
}

fn info(ctx: &Ctx, args: InfoArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let d = describe(&state, &state.resolve(&args.name)?);
    let p = &d.resolved.provider;
    // What a run uses when no flag overrides it, and where that came from.
    let (timeout, timeout_from) = chat::effective_timeout(&state, p);
    let max_time = chat::effective_max_time(&state, p);
    if args.json {
        let mut j = d.to_json(ctx.show_secrets);
        j["effective_timeout_secs"] = json!(timeout);
        j["timeout_from"] = json!(timeout_from.label());
        j["effective_max_time_secs"] = json!(max_time.map(|(t, _)| t));
        j["max_time_from"] = json!(max_time.map(|(_, f)| f.label()));
        output::json(&j)?;
        return Ok(());
    }
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
        ("api_key", d.key_text(&state, ctx.show_secrets)),
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
            secret::display_header_value(name, value, ctx.show_secrets)
        ));
    }
    output::print(&text)?;
    Ok(())
}

fn remove(ctx: &Ctx, args: RemoveArgs) -> Result<()> {
    let name = args
        .name
        .strip_prefix("custom:")
        .unwrap_or(&args.name)
        .to_string();
    let (key_removed, owner) = ctx.store.update(|s| {
        if !s.has_provider(&name) {
            if provider::builtin(&name).is_some() {
                return Err(Error::new(format!(
                    "'{name}' is a built-in provider and cannot be removed"
                ))
                .hint(format!(
                    "remove its stored key with `aix api-key {name} --remove`"
                )));
            }
            return Err(s.not_found(&name, &args.name));
        }
        let owner = s.owner(&name);
        s.remove_provider(&name);
        let key = if args.forget_key {
            s.remove_api_key(&name, Origin::Custom).then_some(None)
        } else {
            s.stored_key(&name, Origin::Custom)
                .map(|(_, slot)| Some(slot))
        };
        Ok((key, owner))
    })?;
    match key_removed {
        Some(None) => output::status(format!("Removed provider '{name}' and its API key")),
        Some(Some(slot)) => {
            output::status(format!("Removed provider '{name}'"));
            output::note(format!(
                "its API key stays in config.json (api_keys.{slot}) for when you add '{name}' again; delete it with `aix config unset api_keys.{slot}`, or remove with --forget-key next time"
            ));
        }
        None => output::status(format!("Removed provider '{name}'")),
    }
    if owner == Owner::Manifest {
        output::note(format!(
            "'{name}' is managed by providers.toml; `aix apply` will re-create it unless you remove it from the manifest"
        ));
    }
    Ok(())
}

fn update(ctx: &Ctx, args: UpdateArgs) -> Result<()> {
    let name = args
        .name
        .strip_prefix("custom:")
        .unwrap_or(&args.name)
        .to_string();
    let nothing = args.url.is_none()
        && args.model.is_none()
        && !args.no_model
        && args.headers.is_empty()
        && args.remove_headers.is_empty()
        && args.auth_type.is_none()
        && args.api_key_env.is_none()
        && args.timeout.is_none();
    if nothing {
        return Err(super::usage(format!("nothing to update for '{name}'")).hint(
            "give at least one of --url, --model, --no-model, --header, --remove-header, --auth-type, --api-key-env, --timeout",
        ));
    }
    let (changed, owner) = ctx.store.update(|s| {
        // A header stored twice in different cases makes the entry
        // unreadable; removing one spelling is the repair.
        let repaired: Vec<&String> = args
            .remove_headers
            .iter()
            .filter(|gone| s.remove_duplicate_header(&name, gone))
            .collect();
        let Some(mut p) = s.provider(&name)? else {
            if provider::builtin(&name).is_some() {
                return Err(Error::new(format!(
                    "'{name}' is a built-in provider and cannot be updated"
                ))
                .hint(format!(
                    "add your own with `aix provider add {name} BASE_URL` and address it as custom:{name}"
                )));
            }
            return Err(s.not_found(&name, &args.name));
        };
        let owner = s.owner(&name);
        if owner == Owner::Manifest && !args.force {
            return Err(Error::usage(format!(
                "'{name}' is managed by providers.toml; change it there and run `aix apply`"
            ))
            .hint("or pass --force to edit config.json anyway (the next `aix plan` will show the difference)"));
        }
        let before = p.clone();
        if let Some(url) = &args.url {
            p.base_url = url.clone();
        }
        if let Some(m) = &args.model {
            p.default_model = Some(m.clone());
        }
        if args.no_model {
            p.default_model = None;
        }
        for gone in &args.remove_headers {
            if repaired.contains(&gone) {
                continue;
            }
            let len = p.headers.len();
            p.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(gone));
            if p.headers.len() == len {
                return Err(Error::usage(format!(
                    "'{name}' has no header {:?} to remove",
                    output::clip(gone, 80)
                )));
            }
        }
        for (k, v) in &args.headers {
            match p.headers.iter_mut().find(|(h, _)| h.eq_ignore_ascii_case(k)) {
                Some(slot) => *slot = (k.clone(), v.clone()),
                None => p.headers.push((k.clone(), v.clone())),
            }
        }
        if let Some(a) = args.auth_type {
            p.auth_type = a;
        }
        if let Some(v) = &args.api_key_env {
            p.api_key_env = Some(v.clone());
        }
        if let Some(t) = args.timeout {
            p.timeout_secs = Some(t);
        }
        p.validate()
            .map_err(|e| super::usage(format!("invalid provider '{name}': {e}")))?;
        let changed = p != before || !repaired.is_empty();
        if changed {
            s.put_provider(&p);
        }
        Ok((changed, owner))
    })?;
    if !changed {
        output::note(format!(
            "'{name}' already had those settings; nothing changed"
        ));
        return Ok(());
    }
    output::status(format!(
        "Updated provider '{name}' (its API key is unchanged)"
    ));
    if owner == Owner::Manifest {
        output::warn(format!(
            "'{name}' is managed by providers.toml: the next `aix plan` shows this edit as drift and `aix apply` reverts it unless the manifest changes too"
        ));
    }
    Ok(())
}

fn models(ctx: &Ctx, args: ModelsArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let resolved = state.resolve(&args.name)?;
    let key = state.api_key(&resolved);
    let mut spinner =
        output::Spinner::start(format!("asking {} for its models", resolved.provider.name));
    let items = Client::new(false)
        .show_secrets(ctx.show_secrets)
        .notes(output::notes())
        .models(
            &resolved.provider,
            key.as_ref(),
            Duration::from_secs(args.timeout),
        )
        .map_err(|e| e.into_error(&resolved.provider.name, ""))?;
    spinner.stop();
    if args.json {
        output::json(&Value::Array(items))?;
        return Ok(());
    }
    let mut rows: Vec<Vec<String>> = items
        .iter()
        .map(|m| {
            let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
            let id = m
                .get("id")
                .or_else(|| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            vec![id, text("owned_by")]
        })
        .collect();
    rows.sort();
    if rows.is_empty() {
        output::note(format!("'{}' lists no models", resolved.provider.name));
        return Ok(());
    }
    output::table(&["ID", "OWNED BY"], &rows)?;
    Ok(())
}

fn check(ctx: &Ctx, args: CheckArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let mut targets: Vec<Resolved> = Vec::new();
    if args.names.is_empty() {
        for (name, entry) in state.provider_entries() {
            match entry {
                Ok(p) => targets.push(Resolved {
                    provider: p,
                    origin: Origin::Custom,
                }),
                Err(e) => output::warn(format!("skipping provider '{name}': {}", e.message())),
            }
        }
        if args.all {
            for b in provider::BUILTINS {
                let r = Resolved {
                    provider: b.to_provider(),
                    origin: Origin::BuiltIn,
                };
                if state.key_source(&r).is_some() {
                    targets.push(r);
                }
            }
        }
    } else {
        for name in &args.names {
            targets.push(state.resolve(name)?);
        }
    }
    if targets.is_empty() {
        output::note("no providers to check; add one with `aix provider add NAME BASE_URL`");
        return Ok(());
    }
    let timeout = Duration::from_secs(args.timeout);
    let client = Client::new(false)
        .show_secrets(ctx.show_secrets)
        .notes(output::notes());
    let results: Vec<(String, std::result::Result<Passed, String>, Duration)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = targets
                .iter()
                .map(|r| {
                    let key = state.api_key(r);
                    let client = &client;
                    scope.spawn(move || {
                        let (res, took) =
                            client::timed(|| check_one(client, r, key.as_ref(), timeout));
                        (r.provider.name.clone(), res, took)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("check thread panicked"))
                .collect()
        });
    let failed = results.iter().filter(|(_, r, _)| r.is_err()).count();
    if args.json {
        let items = results
            .iter()
            .map(|(name, r, took)| {
                json!({
                    "name": name,
                    "ok": r.is_ok(),
                    "latency_ms": took.as_millis() as u64,
                    "test": r.as_ref().ok().map(Passed::test),
                    "models": r.as_ref().ok().and_then(|p| match p {
                        Passed::Models(n) => Some(*n),
                        Passed::Chat(_) => None,
                    }),
                    "model": r.as_ref().ok().and_then(|p| match p {
                        Passed::Models(_) => None,
                        Passed::Chat(m) => Some(m.clone()),
                    }),
                    "error": r.as_ref().err(),
                })
            })
            .collect();
        output::json(&Value::Array(items))?;
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|(name, r, took)| {
                let (status, detail) = match r {
                    Ok(Passed::Models(n)) => ("ok".to_string(), format!("GET /models: {n} models")),
                    Ok(Passed::Chat(m)) => (
                        "ok".to_string(),
                        format!("no GET /models; POST /chat/completions answered with {m}"),
                    ),
                    Err(e) => ("FAIL".to_string(), e.clone()),
                };
                vec![
                    name.clone(),
                    status,
                    format!("{} ms", took.as_millis()),
                    detail,
                ]
            })
            .collect();
        output::table(&["NAME", "STATUS", "LATENCY", "DETAIL"], &rows)?;
    }
    if failed > 0 {
        return Err(Error::new(format!(
            "{failed} of {} provider{} failed the check",
            results.len(),
            if results.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Which test a provider passed.
enum Passed {
    /// `GET /models` listed this many models.
    Models(usize),
    /// `/models` is missing; a one-token chat request to this model worked.
    Chat(String),
}

impl Passed {
    fn test(&self) -> &'static str {
        match self {
            Passed::Models(_) => "models",
            Passed::Chat(_) => "chat",
        }
    }
}

/// `GET /models`; where the server has none (404, 405, 501), a chat
/// request for one token to the provider's default model, since
/// `POST /chat/completions` is all an OpenAI-compatible server must offer.
fn check_one(
    client: &Client,
    r: &Resolved,
    key: Option<&crate::secret::Secret>,
    timeout: Duration,
) -> std::result::Result<Passed, String> {
    let name = &r.provider.name;
    let status = match client.models(&r.provider, key, timeout) {
        Ok(m) => return Ok(Passed::Models(m.len())),
        Err(client::ClientError::Status { status, .. }) if matches!(status, 404 | 405 | 501) => {
            status
        }
        Err(e) => return Err(e.into_error(name, "").message().to_string()),
    };
    let Some(model) = r.provider.default_model.clone() else {
        return Err(format!(
            "GET /models answered {status} and '{name}' has no default model to try a chat request with; set one with `aix provider update {name} --model MODEL`"
        ));
    };
    let req = client::ChatRequest {
        model: model.clone(),
        messages: vec![client::Message::new("user", "ping".to_string())],
        stream: false,
        max_tokens: Some(1),
        temperature: None,
    };
    let prepared = client::prepare(&r.provider, key, &req, timeout, client::EnvRefs::Resolve)
        .map_err(|e| e.message().to_string())?;
    client
        .chat(&prepared)
        .map(|_| Passed::Chat(model.clone()))
        .map_err(|e| {
            format!(
                "GET /models answered {status}; the chat request failed too: {}",
                e.into_error(name, &model).message()
            )
        })
}

fn export(ctx: &Ctx, args: ExportArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let mut providers = Vec::new();
    if args.names.is_empty() {
        for (name, entry) in state.provider_entries() {
            match entry {
                Ok(p) => providers.push(p),
                Err(e) => output::warn(format!("skipping provider '{name}': {}", e.message())),
            }
        }
    } else {
        for name in &args.names {
            let name = name.strip_prefix("custom:").unwrap_or(name);
            match state.provider(name)? {
                Some(p) => providers.push(p),
                None => return Err(state.not_found(name, name)),
            }
        }
    }
    let (text, replaced) = crate::manifest::render(&providers);
    output::print(&text)?;
    for (var, what) in &replaced {
        output::warn(format!(
            "{what} holds a literal secret; exported as ${{env:{var}}}: set {var} where you apply it"
        ));
    }
    let with_keys: Vec<&str> = providers
        .iter()
        .filter(|p| state.stored_key(&p.name, Origin::Custom).is_some())
        .map(|p| p.name.as_str())
        .collect();
    if !with_keys.is_empty() {
        output::note(format!(
            "API keys are not exported; on another machine set them with `aix api-key NAME` ({})",
            with_keys.join(", ")
        ));
    }
    Ok(())
}

/// A provider with what `list` and `info` show about it.
struct Described {
    resolved: Resolved,
    owner: Option<Owner>,
    key: Option<KeySource>,
}

fn describe(state: &State, resolved: &Resolved) -> Described {
    Described {
        owner: (resolved.origin == Origin::Custom).then(|| state.owner(&resolved.provider.name)),
        key: state.key_source(resolved),
        resolved: resolved.clone(),
    }
}

impl Described {
    fn owner_label(&self) -> &'static str {
        self.owner.map_or("built-in", Owner::as_str)
    }

    fn key_text(&self, state: &State, show: bool) -> String {
        match &self.key {
            None => "not set".into(),
            Some(KeySource::Config(slot)) => {
                let shown = if show {
                    state
                        .stored_key(&self.resolved.provider.name, self.resolved.origin)
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

    fn to_json(&self, show: bool) -> Value {
        let p = &self.resolved.provider;
        let headers: Map<String, Value> = p
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::from(secret::display_header_value(k, v, show)),
                )
            })
            .collect();
        let key_source = match &self.key {
            None => Value::Null,
            Some(KeySource::Config(slot)) => Value::from(format!("config:api_keys.{slot}")),
            Some(KeySource::Env(var)) => Value::from(format!("env:{var}")),
        };
        json!({
            "name": p.name,
            "kind": match self.resolved.origin { Origin::Custom => "custom", Origin::BuiltIn => "built-in" },
            "owner": self.owner_label(),
            "base_url": p.base_url,
            "default_model": p.default_model,
            "auth_type": p.auth_type.as_str(),
            "headers": headers,
            "api_key_env": p.api_key_env,
            "api_key_source": key_source,
            "timeout_secs": p.timeout_secs,
            "max_time_secs": p.max_time_secs,
        })
    }
}
