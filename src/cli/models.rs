//! `aix models [PROVIDER]`: the models tables of the providers, each entry
//! with the settings a run that names it would use; `aix models sync
//! PROVIDER` proposes entries for what the server offers.

mod edit;
mod sync;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{self, Format, Piece, View};
use crate::provider::models::Temperature;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    /// Only this provider's models (NAME, custom:NAME or a built-in; a
    /// provider named `sync`: `aix models -- sync`)
    provider: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Propose entries for the server's models the manifest lacks (--write adds them)
    Sync(sync::Args),
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(Sub::Sync(a)) = args.command {
        return sync::run(ctx, a);
    }
    let state = ctx.store.load()?;
    let providers = match &args.provider {
        Some(spec) => vec![state.resolve(spec)?.provider],
        None => {
            let (usable, _) = crate::ops::provider::usable(&state);
            usable
        }
    };
    let mut rows = Vec::new();
    for p in &providers {
        for m in p.model_entries() {
            let mut shaped = p.clone();
            m.apply(&mut shaped);
            let mut o = Map::new();
            o.insert("provider".into(), Value::from(p.name.as_str()));
            if let Value::Object(entry) = m.to_json() {
                o.extend(entry);
            }
            // What a run with this entry sends, after the provider's own.
            o.insert(
                "effective".into(),
                serde_json::json!({
                    "max_tokens_param": shaped.max_tokens_param.unwrap_or_default().as_str(),
                    "stream_usage": shaped.stream_usage.unwrap_or(true),
                    "stream": m.stream.unwrap_or(true),
                    "temperature": match m.temperature {
                        Some(Temperature::Never) => Value::from("never sent"),
                        Some(Temperature::Default(t)) => Value::from(t),
                        None => Value::from("the run's"),
                    },
                    "extra_body": shaped.extra_body.map(Value::Object),
                    "default": p.default_model.as_deref() == Some(m.key.as_str()),
                }),
            );
            rows.push(Value::Object(o));
        }
    }
    // The aliases (of this provider's targets, when one is named), each
    // with its chain expanded.
    let all = state.aliases();
    let only: Option<&str> = args.provider.as_deref().map(|_| providers[0].name.as_str());
    let aliases: Vec<Value> = all
        .iter()
        .filter_map(|(name, value)| {
            let expanded = crate::run::aliases::expand(name, &all);
            let targets: Vec<String> = match &expanded {
                Ok(ts) => ts.iter().map(ToString::to_string).collect(),
                Err(_) => Vec::new(),
            };
            if let Some(p) = only
                && !expanded
                    .as_ref()
                    .is_ok_and(|ts| ts.iter().any(|t| t.provider == p))
            {
                return None;
            }
            // A chain that expands may still name a provider that is gone.
            let error = match &expanded {
                Err(e) => Some(e.clone()),
                Ok(ts) => ts
                    .iter()
                    .find(|t| state.resolve(&t.provider).is_err())
                    .map(|t| format!("target {t}: there is no provider '{}'", t.provider)),
            };
            Some(serde_json::json!({
                "name": name,
                "value": value,
                "targets": targets,
                "error": error,
            }))
        })
        .collect();
    if rows.is_empty() && aliases.is_empty() && args.provider.is_some() && !args.json {
        let name = args.provider.unwrap_or_default();
        return Err(Error::new(format!("'{name}' declares no models")).hint(
            "add a [providers.NAME.models.KEY] table to providers.toml; `aix provider models NAME` lists what the server offers",
        ));
    }
    output::emit(
        Format::json_if(args.json),
        &ModelsView {
            models: rows,
            aliases,
        },
    )
}

/// `aix models`: one row per declared model, then the aliases.
#[derive(Serialize)]
struct ModelsView {
    models: Vec<Value>,
    aliases: Vec<Value>,
}

impl View for ModelsView {
    fn text(&self) -> Vec<Piece> {
        if self.models.is_empty() && self.aliases.is_empty() {
            return vec![Piece::Note(crate::notes::Note::info(
                "no provider declares models and there are no aliases; see `aix models --help`",
            ))];
        }
        let mut pieces = self.model_table();
        if !self.aliases.is_empty() {
            if !pieces.is_empty() {
                pieces.push(Piece::Text("\n".into()));
            }
            let rows = self
                .aliases
                .iter()
                .map(|a| {
                    let name = a["name"].as_str().unwrap_or_default().to_string();
                    let targets = match &a["error"] {
                        Value::String(e) => format!("(cannot be used: {e})"),
                        _ => a["targets"]
                            .as_array()
                            .map(|t| {
                                t.iter()
                                    .filter_map(Value::as_str)
                                    .collect::<Vec<_>>()
                                    .join(", then ")
                            })
                            .unwrap_or_default(),
                    };
                    vec![name, targets]
                })
                .collect();
            pieces.push(Piece::Table {
                headers: &["ALIAS", "TARGETS (IN ORDER)"],
                rows,
            });
        }
        pieces
    }
}

impl ModelsView {
    fn model_table(&self) -> Vec<Piece> {
        if self.models.is_empty() {
            return Vec::new();
        }
        let s = |v: &Value| match v {
            Value::Null => "-".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let rows = self
            .models
            .iter()
            .map(|m| {
                let e = &m["effective"];
                let mut settings = vec![format!("limit as {}", s(&e["max_tokens_param"]))];
                if e["stream"] == false {
                    settings.push("no streaming".into());
                }
                if e["stream_usage"] == false {
                    settings.push("no stream usage".into());
                }
                match &e["temperature"] {
                    Value::Number(t) => settings.push(format!("temperature {t}")),
                    Value::String(t) if t == "never sent" => settings.push("no temperature".into()),
                    _ => {}
                }
                if let Value::Object(b) = &e["extra_body"] {
                    settings.push(Value::Object(b.clone()).to_string());
                }
                let key = if e["default"] == true {
                    format!("{} (default)", s(&m["key"]))
                } else {
                    s(&m["key"])
                };
                vec![
                    s(&m["provider"]),
                    key,
                    s(&m["id"]),
                    m.get("context_window").map_or("-".into(), s),
                    settings.join(", "),
                    m.get("description").map_or("".into(), s),
                ]
            })
            .collect();
        vec![Piece::Table {
            headers: &[
                "PROVIDER",
                "MODEL",
                "ID",
                "CONTEXT",
                "SETTINGS",
                "DESCRIPTION",
            ],
            rows,
        }]
    }
}
