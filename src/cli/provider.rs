//! `aix provider add|list|info|remove`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::Ctx;
use crate::client::{self, Client};
use crate::error::{Error, Result};
use crate::output;
use crate::provider::{self, AuthType, Provider};
use crate::secret;
use crate::state::{self, KeySource, Origin, Owner, Resolved, State};

use client::DEFAULT_TIMEOUT_SECS;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a custom provider
    Add(AddArgs),
    /// List custom providers (and built-ins with --all)
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show every field of a provider, secrets masked
    Info(InfoArgs),
    /// Remove a custom provider and its stored API key
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
    #[arg(value_parser = provider::normalize_base_url)]
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
    /// Keep its API key in config.json
    #[arg(long)]
    keep_key: bool,
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<()> {
    match cmd {
        Command::Add(args) => add(ctx, args),
        Command::List(args) => list(ctx, args),
        Command::Info(args) => info(ctx, args),
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
    for (name, entry) in state.provider_entries() {
        match entry {
            Ok(p) => rows.push(describe(
                &state,
                &Resolved {
                    provider: p,
                    origin: Origin::Custom,
                },
            )),
            Err(e) => output::warn(format!("skipping provider '{name}': {}", e.message())),
        }
    }
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
        let items = rows.iter().map(|d| d.to_json(ctx.show_secrets)).collect();
        output::json(&Value::Array(items));
        return Ok(());
    }
    if rows.is_empty() {
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
        .collect();
    output::table(&["NAME", "BASE URL", "MODEL", "AUTH", "OWNER"], &table);
    Ok(())
}

fn info(ctx: &Ctx, args: InfoArgs) -> Result<()> {
    let state = ctx.store.load()?;
    let d = describe(&state, &state.resolve(&args.name)?);
    if args.json {
        output::json(&d.to_json(ctx.show_secrets));
        return Ok(());
    }
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
        ("api_key", d.key_text(&state, ctx.show_secrets)),
        (
            "api_key_env",
            p.api_key_env.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "timeout_secs",
            match p.timeout_secs {
                Some(t) => t.to_string(),
                None => format!("{DEFAULT_TIMEOUT_SECS} (default)"),
            },
        ),
    ];
    if let Some(t) = p.max_time_secs {
        lines.push(("max_time_secs", t.to_string()));
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
    output::print(&text);
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
            return Err(state::not_found(&name));
        }
        let owner = s.owner(&name);
        s.remove_provider(&name);
        let key_removed = !args.keep_key && s.remove_api_key(&name, Origin::Custom);
        Ok((key_removed, owner))
    })?;
    let also = if key_removed { " and its API key" } else { "" };
    output::status(format!("Removed provider '{name}'{also}"));
    if owner == Owner::Manifest {
        output::note(format!(
            "'{name}' is managed by providers.toml; `aix apply` will re-create it unless you remove it from the manifest"
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
        .models(
            &resolved.provider,
            key.as_ref(),
            Duration::from_secs(args.timeout),
        )
        .map_err(|e| e.into_error(&resolved.provider.name, ""))?;
    spinner.stop();
    if args.json {
        output::json(&Value::Array(items));
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
    output::table(&["ID", "OWNED BY"], &rows);
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
    let client = Client::new(false).show_secrets(ctx.show_secrets);
    let results: Vec<(String, std::result::Result<usize, String>, Duration)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = targets
                .iter()
                .map(|r| {
                    let key = state.api_key(r);
                    let client = &client;
                    scope.spawn(move || {
                        let (res, took) =
                            client::timed(|| client.models(&r.provider, key.as_ref(), timeout));
                        let res = res
                            .map(|m| m.len())
                            .map_err(|e| e.into_error(&r.provider.name, "").message().to_string());
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
                    "models": r.as_ref().ok(),
                    "error": r.as_ref().err(),
                })
            })
            .collect();
        output::json(&Value::Array(items));
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|(name, r, took)| {
                let (status, detail) = match r {
                    Ok(n) => ("ok".to_string(), format!("{n} models")),
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
        output::table(&["NAME", "STATUS", "LATENCY", "DETAIL"], &rows);
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
                None => return Err(state::not_found(name)),
            }
        }
    }
    let (text, replaced) = crate::manifest::render(&providers);
    output::print(&text);
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
