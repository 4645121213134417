//! `aix config get|set|unset|list|path`: config.json by dotted key path.
//!
//! Values given to `set` are parsed as JSON when they parse (`100`, `true`,
//! `{"a":1}`) and taken as strings otherwise, so `aix config set
//! default_model llama3.2` does what it says. Everything still passes the
//! store's validation, so `config set` cannot write a provider that
//! `provider add` would refuse.

use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::error::{Error, Result};
use crate::output::{self, Piece, View};
use crate::secret;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the value at KEY.PATH (strings raw, the rest as JSON)
    Get {
        #[arg(value_parser = KeyPath::parse, value_name = "KEY.PATH")]
        path: KeyPath,
        /// Print the value as JSON, strings quoted
        #[arg(long)]
        json: bool,
    },
    /// Set the value at KEY.PATH, creating objects on the way
    Set {
        #[arg(value_parser = KeyPath::parse, value_name = "KEY.PATH")]
        path: KeyPath,
        /// JSON if it parses as JSON, else a string
        value: String,
        /// Store VALUE as a string even if it parses as JSON
        #[arg(long)]
        string: bool,
    },
    /// Remove the value at KEY.PATH
    Unset {
        #[arg(value_parser = KeyPath::parse, value_name = "KEY.PATH")]
        path: KeyPath,
    },
    /// Print every value as KEY.PATH = VALUE
    #[command(visible_alias = "ls")]
    List {
        /// Print the whole document as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the path of config.json
    Path,
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<()> {
    match cmd {
        Command::Get { path, json } => get(ctx, &path, json),
        Command::Set {
            path,
            value,
            string,
        } => {
            let value = if string {
                Value::String(value)
            } else {
                serde_json::from_str(&value).unwrap_or(Value::String(value))
            };
            ctx.store.update_at(Some(&path), |s| s.set(&path, value))?;
            if let Some(near) = crate::config::state::near_miss(&path.segments()[0]) {
                output::warn(format!(
                    "{} is not a key aix knows; did you mean {near}?",
                    path.segments()[0]
                ));
            }
            output::status(format!("Set {path}"));
            Ok(())
        }
        Command::Unset { path } => {
            if ctx.store.update_at(Some(&path), |s| Ok(s.unset(&path)))? {
                output::status(format!("Unset {path}"));
            } else {
                output::note(format!("{path} was not set; nothing changed"));
            }
            Ok(())
        }
        Command::List { json } => list(ctx, json),
        Command::Path => {
            output::line(&ctx.store.config_path().display().to_string())?;
            Ok(())
        }
    }
}

fn shown(ctx: &Ctx, path: &[String], value: &Value) -> Value {
    if ctx.show_secrets {
        value.clone()
    } else {
        secret::redact_at(path, value)
    }
}

fn get(ctx: &Ctx, path: &KeyPath, json: bool) -> Result<()> {
    let state = ctx.store.load()?;
    let Some(value) = state.get(path) else {
        return Err(Error::new(format!("{path} is not set in config.json"))
            .hint("see what is set with `aix config list`"));
    };
    let value = shown(ctx, path.segments(), value);
    let view = ConfigView {
        value,
        lines: false,
    };
    output::emit(output::Format::json_if(json), &view)
}

/// `config get` and `config list`: a value. As text, `config list`'s is
/// one `KEY.PATH = VALUE` line per leaf; `config get`'s a string as it is,
/// anything else as JSON.
#[derive(Serialize)]
#[serde(transparent)]
struct ConfigView {
    value: Value,
    #[serde(skip)]
    lines: bool,
}

impl View for ConfigView {
    fn text(&self) -> Vec<Piece> {
        let mut text = String::new();
        match &self.value {
            _ if self.lines => flatten(&self.value, &mut Vec::new(), &mut text),
            Value::String(s) => text = format!("{s}\n"),
            other => {
                text = serde_json::to_string_pretty(other).expect("a Value always serializes");
                text.push('\n');
            }
        }
        vec![Piece::Text(text)]
    }
}

fn list(ctx: &Ctx, json: bool) -> Result<()> {
    let state = ctx.store.load()?;
    let doc = shown(ctx, &[], &Value::Object(state.doc().clone()));
    let view = ConfigView {
        value: doc,
        lines: true,
    };
    output::emit(output::Format::json_if(json), &view)
}

/// Writes one `path = json` line per leaf (empty objects count as leaves).
fn flatten(value: &Value, trail: &mut Vec<String>, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                trail.push(k.clone());
                flatten(v, trail, out);
                trail.pop();
            }
        }
        leaf if !trail.is_empty() => {
            let path = trail
                .iter()
                .map(|s| {
                    if s.contains('.') || s.contains('"') {
                        format!("\"{s}\"")
                    } else {
                        s.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(".");
            out.push_str(&format!("{path} = {leaf}\n"));
        }
        _ => {}
    }
}
