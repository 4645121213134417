//! `aix models sync PROVIDER`: the models the server offers that the
//! manifest does not declare yet, proposed as entries of the provider's
//! models table and, with `--write`, added to the manifest file.
//!
//! The provider is the manifest's (its URL, headers, query parameters,
//! TLS and proxy); its key is what a run would send (config.json's stored
//! key for that name, else `api_key_env`), so a provider declared but not
//! applied yet can be synced when its key is in the environment.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::super::Ctx;
use super::super::plan::ManifestArgs;
use super::edit::{self, NewEntry};
use crate::config::state::{Origin, Resolved};
use crate::error::{Error, Result};
use crate::http::Client;
use crate::notes::Note;
use crate::ops::provider as ops;
use crate::output::{self, Format, Piece, View};
use crate::provider::{self, Provider, models};

/// The most server models one sync handles; more are left out, with a note.
pub const MAX_MODELS: usize = 500;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The provider, as the manifest names it
    provider: String,
    #[command(flatten)]
    manifest: ManifestArgs,
    /// Add the proposed entries to the manifest file
    #[arg(long)]
    write: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each answer
    #[arg(long, value_name = "SECS", value_parser = provider::parse_timeout, default_value = "30")]
    timeout: u64,
}

/// Which extra details a server can give, and where.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `POST {root}/api/show` per model: `model_info.*.context_length`.
    Ollama,
    /// `GET {root}/model/info`: `max_input_tokens`, `max_output_tokens`.
    LiteLlm,
    Plain,
}

/// The port of a base URL, when it names one.
fn port(base_url: &str) -> Option<u16> {
    let rest = base_url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = authority.rsplit_once(':')?;
    if host.starts_with('[') && !host.ends_with(']') {
        return None;
    }
    port.parse().ok()
}

/// Ollama: its preset, port 11434, or `/models` items `owned_by`
/// `"library"`. LiteLLM: its preset or port 4000.
fn kind(p: &Provider, items: &[Value]) -> Kind {
    let preset = p.preset.as_deref();
    let port = port(&p.base_url);
    if preset == Some("ollama")
        || port == Some(11434)
        || items.iter().any(|i| i["owned_by"] == "library")
    {
        Kind::Ollama
    } else if preset == Some("litellm") || port == Some(4000) {
        Kind::LiteLlm
    } else {
        Kind::Plain
    }
}

/// The server's root: the base URL without a trailing `/v1`.
fn root(base_url: &str) -> &str {
    let b = base_url.trim_end_matches('/');
    b.strip_suffix("/v1").unwrap_or(b)
}

/// A model id as an entry key: spaces and control characters become
/// `-`, at most 128 characters; `/` and `:` stay.
fn key_for(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .take(128)
        .collect()
}

/// What a sync found: the entries to add and the server ids declared.
#[derive(Debug, Serialize)]
struct Proposal {
    provider: String,
    #[serde(serialize_with = "entries_json")]
    add: Vec<NewEntry>,
    declared: Vec<String>,
    /// Server ids that are the key of another entry, so cannot be added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<String>,
    /// The manifest file that declares the provider.
    #[serde(skip)]
    file: PathBuf,
    /// Set once the entries are in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    written: Option<String>,
}

fn entry_json(e: &NewEntry) -> Value {
    let mut o = Map::new();
    o.insert("key".into(), Value::from(e.key.as_str()));
    o.insert(
        "id".into(),
        Value::from(e.id.as_deref().unwrap_or(e.key.as_str())),
    );
    if let Some(n) = e.context_window {
        o.insert("context_window".into(), Value::from(n));
    }
    if let Some(n) = e.max_output_tokens {
        o.insert("max_output_tokens".into(), Value::from(n));
    }
    Value::Object(o)
}

fn entries_json<S: serde::Serializer>(
    entries: &[NewEntry],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    Value::Array(entries.iter().map(entry_json).collect()).serialize(s)
}

impl View for Proposal {
    fn text(&self) -> Vec<Piece> {
        let file = self.file.display();
        if self.add.is_empty() {
            return vec![Piece::Text("No new models.\n".into())];
        }
        let mut t = match self.written {
            Some(_) => format!("aix added these models to {file}:\n\n"),
            None => format!("aix would add these models to {file}:\n\n"),
        };
        t.push_str(&format!("  ~ {}\n", self.provider));
        for e in &self.add {
            let mut about = Vec::new();
            if let Some(id) = &e.id {
                if id.contains(char::is_whitespace) {
                    about.push(format!("id {id:?}"));
                } else {
                    about.push(format!("id {id}"));
                }
            }
            if let Some(n) = e.context_window {
                about.push(format!("context {n}"));
            }
            if let Some(n) = e.max_output_tokens {
                about.push(format!("output {n}"));
            }
            t.push_str(&format!("      + {}", e.key));
            if !about.is_empty() {
                t.push_str(&format!("  ({})", about.join(", ")));
            }
            t.push('\n');
        }
        let n = self.add.len();
        match &self.written {
            Some(_) => t.push_str(&format!("\nSync: {n} added.\n")),
            None => t.push_str(&format!("\nSync: {n} to add.\n")),
        }
        let mut pieces = vec![Piece::Text(t)];
        if self.written.is_none() {
            pieces.push(Piece::Note(Note::info(format!(
                "nothing was written; `--write` adds {} to {file}",
                if n == 1 { "it" } else { "them" }
            ))));
        }
        pieces
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let name = args
        .provider
        .strip_prefix("custom:")
        .unwrap_or(&args.provider)
        .to_string();
    // The manifest is edited in place: a pipe or device is refused before
    // it is read (reading a FIFO nobody writes would wait forever).
    for path in args.manifest.paths() {
        if let Ok(meta) = std::fs::metadata(&path)
            && !meta.is_file()
        {
            return Err(Error::new(format!(
                "{}: is not a regular file; `aix models sync` reads and edits a manifest file",
                path.display()
            )));
        }
    }
    let manifest = args.manifest.load()?;
    let Some(entry) = manifest.get(&name) else {
        let paths = args.manifest.paths();
        let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let first = files
            .first()
            .cloned()
            .unwrap_or_else(|| "providers.toml".into());
        let hint = if ctx.store.load().is_ok_and(|s| s.has_provider(&name)) {
            format!("declare it first: `aix provider export {name} >> {first}`")
        } else {
            format!(
                "declare it under [providers.{name}] in {first} (with base_url), or check the name"
            )
        };
        return Err(
            Error::new(format!("'{name}' is not declared in {}", files.join(", "))).hint(hint),
        );
    };
    let p = entry.provider.clone();
    let file = entry.at.file.clone();
    let state = ctx.store.load()?;
    let key = state.api_key(&Resolved {
        provider: p.clone(),
        origin: Origin::Custom,
    });
    let timeout = Duration::from_secs(args.timeout);
    let client = Client::new(false)
        .show_secrets(ctx.show_secrets)
        .notes(output::notes());
    let mut spinner = output::Spinner::start(format!("asking {name} for its models"));
    let items = ops::models(&client, &p, key.as_ref(), timeout)?;
    let mut ids: Vec<String> = ops::model_ids(&items);
    ids.dedup();
    if ids.len() > MAX_MODELS {
        output::warn(format!(
            "{name} serves {} models; only the first {MAX_MODELS} (by id) are looked at",
            ids.len()
        ));
        ids.truncate(MAX_MODELS);
    }
    let entries = p.model_entries();
    let declared_ids: HashSet<&str> = entries.iter().map(|m| m.id.as_str()).collect();
    let (declared, new): (Vec<String>, Vec<String>) = ids
        .into_iter()
        .partition(|id| declared_ids.contains(id.as_str()));
    let details = match kind(&p, &items) {
        _ if new.is_empty() => HashMap::new(),
        Kind::Ollama => ollama_details(&client, &p, key.as_ref(), timeout, &new),
        Kind::LiteLlm => litellm_details(&client, &p, key.as_ref(), timeout),
        Kind::Plain => HashMap::new(),
    };
    spinner.stop();
    let mut taken: HashSet<String> = entries.iter().map(|m| m.key.clone()).collect();
    // Every id an entry has or will have: a made-up key must be none of
    // them (the models rule: a key that is another entry's id).
    let ids_in_use: HashSet<String> = entries
        .iter()
        .map(|m| m.id.clone())
        .chain(new.iter().cloned())
        .collect();
    let mut add = Vec::new();
    let mut skipped = Vec::new();
    let mut made_up = Vec::new();
    for id in new {
        // An id that is another entry's key cannot be an entry's id
        // (`--model ID` picks that entry).
        if let Some(other) = entries.iter().find(|m| m.key == id) {
            output::warn(format!(
                "{id:?} is not proposed: it is the key of entry {:?} (id {:?}), so --model {id} picks that entry",
                other.key, other.id
            ));
            skipped.push(id);
        } else if key_for(&id) == id && models::check_key(&id).is_ok() {
            // An id that is a key as it is claims it first.
            taken.insert(id.clone());
            add.push((id.clone(), id));
        } else {
            made_up.push(id);
        }
    }
    for id in made_up {
        let base = key_for(&id);
        let mut key = base.clone();
        let mut n = 2;
        while taken.contains(&key) || ids_in_use.contains(&key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        if models::check_key(&key).is_err() {
            output::warn(format!("model {id:?} has no usable key; left out"));
            skipped.push(id);
            continue;
        }
        taken.insert(key.clone());
        add.push((key, id));
    }
    add.sort();
    let add: Vec<NewEntry> = add
        .into_iter()
        .map(|(key, id)| {
            let (context_window, max_output_tokens) = details.get(&id).copied().unwrap_or_default();
            NewEntry {
                id: (key != id).then_some(id),
                key,
                context_window,
                max_output_tokens,
            }
        })
        .collect();
    // The table with the new entries must pass the models rules.
    let mut table = p.models.clone().unwrap_or_default();
    for e in &add {
        if let Value::Object(o) = entry_json(e) {
            let mut o = o;
            o.remove("key");
            if e.id.is_none() {
                o.remove("id");
            }
            table.insert(e.key.clone(), Value::Object(o));
        }
    }
    if let Some((_, m, hint)) = models::check(&table).into_iter().next() {
        return Err(
            Error::new(format!("the proposed entries break a models rule: {m}")).hint(hint),
        );
    }
    let mut proposal = Proposal {
        provider: name.clone(),
        add,
        declared,
        skipped,
        file: file.clone(),
        written: None,
    };
    if args.write && !proposal.add.is_empty() {
        write(&file, &name, &proposal.add)?;
        proposal.written = Some(file.display().to_string());
    }
    output::emit(Format::json_if(args.json), &proposal)
}

/// Context lengths from Ollama's `/api/show`, one request per new model.
/// The first failure stops the asking (the rest would likely fail too) and
/// is told; the entries are proposed without the detail.
fn ollama_details(
    client: &Client,
    p: &Provider,
    key: Option<&crate::secret::Secret>,
    timeout: Duration,
    ids: &[String],
) -> HashMap<String, (Option<u64>, Option<u64>)> {
    let mut found = HashMap::new();
    let url = format!("{}/api/show", root(&p.base_url));
    for id in ids {
        let body = json!({ "model": id });
        match client.side_json(p, key, timeout, "/api/show", Some(&body), |_| url.clone()) {
            Ok(v) => {
                let ctx = v["model_info"].as_object().and_then(|info| {
                    info.iter()
                        .find(|(k, _)| k.ends_with(".context_length"))
                        .and_then(|(_, n)| n.as_u64())
                        .filter(|n| *n > 0)
                });
                found.insert(id.clone(), (ctx, None));
            }
            Err(e) => {
                output::note(format!(
                    "no context lengths: /api/show failed ({})",
                    e.into_error(&p.name, id).message()
                ));
                break;
            }
        }
    }
    found
}

/// Limits from LiteLLM's `/model/info`, by `model_name`.
fn litellm_details(
    client: &Client,
    p: &Provider,
    key: Option<&crate::secret::Secret>,
    timeout: Duration,
) -> HashMap<String, (Option<u64>, Option<u64>)> {
    let url = format!("{}/model/info", root(&p.base_url));
    let v = match client.side_json(p, key, timeout, "/model/info", None, |_| url.clone()) {
        Ok(v) => v,
        Err(e) => {
            output::note(format!(
                "no context lengths: /model/info failed ({})",
                e.into_error(&p.name, "").message()
            ));
            return HashMap::new();
        }
    };
    let positive = |n: &Value| n.as_u64().filter(|n| *n > 0);
    let mut found = HashMap::new();
    for item in v["data"]
        .as_array()
        .into_iter()
        .flatten()
        .take(MAX_MODELS * 4)
    {
        let Some(name) = item["model_name"].as_str() else {
            continue;
        };
        let info = &item["model_info"];
        let got = (
            positive(&info["max_input_tokens"]),
            positive(&info["max_output_tokens"]),
        );
        // A name served by several deployments: the first that says.
        let slot = found.entry(name.to_string()).or_insert((None, None));
        slot.0 = slot.0.or(got.0);
        slot.1 = slot.1.or(got.1);
    }
    found
}

/// Adds `entries` to the manifest at `path`, atomically, keeping its
/// permissions. A symlink is followed and its target rewritten (so a
/// linked dotfile stays linked); anything but a regular file is refused.
fn write(path: &Path, name: &str, entries: &[NewEntry]) -> Result<()> {
    let shown = path.display();
    let target = std::fs::canonicalize(path)
        .map_err(|e| Error::new(format!("cannot write {shown}: {e}")))?;
    let meta =
        std::fs::metadata(&target).map_err(|e| Error::new(format!("cannot write {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(Error::new(format!(
            "cannot write {shown}: it is not a regular file"
        )));
    }
    let text = std::fs::read_to_string(&target)
        .map_err(|e| Error::new(format!("cannot read {shown}: {e}")))?;
    let out = edit::insert(&text, name, entries)
        .map_err(|m| Error::new(format!("cannot add the models to {shown}: {m}")))?;
    // What is written must still be a manifest that declares them.
    let doc = crate::plan::manifest::Document::parse(&target, &out)
        .map_err(|(at, m)| Error::new(format!("the edited manifest would not parse: {at}: {m}")))?;
    let ok = doc.into_entries().ok().is_some_and(|es| {
        es.iter().any(|e| {
            e.provider.name == name && entries.iter().all(|n| e.provider.model(&n.key).is_some())
        })
    });
    if !ok {
        return Err(Error::new(format!(
            "cannot add the models to {shown}: the edited file would not declare them"
        )));
    }
    let write_err = |e: std::io::Error| Error::new(format!("cannot write {shown}: {e}"));
    let dir = target.parent().unwrap_or(Path::new("."));
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.write_all(out.as_bytes()).map_err(write_err)?;
    tmp.as_file()
        .set_permissions(meta.permissions())
        .map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(&target).map_err(|e| write_err(e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_roots_and_keys() {
        assert_eq!(port("http://localhost:11434/v1"), Some(11434));
        assert_eq!(port("http://u:p@h:4000/v1"), Some(4000));
        assert_eq!(port("https://api.example.com/v1"), None);
        assert_eq!(port("http://[::1]:4000/v1"), Some(4000));
        assert_eq!(port("http://[::1]/v1"), None);
        assert_eq!(root("http://h:11434/v1"), "http://h:11434");
        assert_eq!(root("http://h/api"), "http://h/api");
        assert_eq!(key_for("llama3.2:3b"), "llama3.2:3b");
        assert_eq!(key_for("org/My Model"), "org/My-Model");
        assert_eq!(key_for(&"x".repeat(300)).len(), 128);
    }

    #[test]
    fn only_a_regular_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let e = [NewEntry {
            key: "m".into(),
            id: None,
            context_window: None,
            max_output_tokens: None,
        }];
        let err = write(dir.path(), "p", &e).unwrap_err();
        assert!(err.message().contains("not a regular file"), "{err:?}");
        let missing = dir.path().join("none.toml");
        assert!(write(&missing, "p", &e).is_err());
    }
}
