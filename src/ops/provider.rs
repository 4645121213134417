//! Provider operations: add, update and remove a custom provider; list the
//! providers with the entries that cannot be used; probe providers; list a
//! provider's models; gather providers for export.

use std::time::Duration;

use serde_json::Value;

use crate::config::state::{Broken, KeySource, Origin, Owner, Resolved, State};
use crate::config::store::Store;
use crate::error::{Error, Result};
use crate::http::{self, Client};
use crate::notes::Note;
use crate::provider::args::FieldArgs;
use crate::provider::{self, AuthType, Provider};
use crate::secret::Secret;

/// A provider with what `list` and `info` show about it.
#[derive(Debug, Clone)]
pub struct Described {
    pub resolved: Resolved,
    /// Who owns it; `None` for a built-in.
    pub owner: Option<Owner>,
    pub key: Option<KeySource>,
}

pub fn describe(state: &State, resolved: &Resolved) -> Described {
    Described {
        owner: (resolved.origin == Origin::Custom).then(|| state.owner(&resolved.provider.name)),
        key: state.key_source(resolved),
        resolved: resolved.clone(),
    }
}

impl Described {
    pub fn owner_label(&self) -> &'static str {
        self.owner.map_or("built-in", Owner::as_str)
    }
}

/// The custom providers that can be used, in file order, and a warning
/// for each entry skipped because it cannot.
pub fn usable(state: &State) -> (Vec<Provider>, Vec<Note>) {
    let mut providers = Vec::new();
    let mut skipped = Vec::new();
    for (name, entry) in state.provider_entries() {
        match entry {
            Ok(p) => providers.push(p),
            Err(e) => skipped.push(Note::warn(format!(
                "skipping provider '{name}': {}",
                e.message()
            ))),
        }
    }
    (providers, skipped)
}

fn custom(provider: Provider) -> Resolved {
    Resolved {
        provider,
        origin: Origin::Custom,
    }
}

fn builtins() -> impl Iterator<Item = Resolved> {
    provider::BUILTINS.iter().map(|b| Resolved {
        provider: b.to_provider(),
        origin: Origin::BuiltIn,
    })
}

/// What `provider list` shows: the usable providers (the built-ins too
/// with `all`) and the entries that cannot be used, with their errors.
pub struct Listing {
    pub providers: Vec<Described>,
    pub broken: Vec<Broken>,
}

pub fn list(state: &State, all: bool) -> Listing {
    // Entries that cannot be used are listed with their error instead.
    let (usable, _) = usable(state);
    let mut providers: Vec<Described> = usable
        .into_iter()
        .map(|p| describe(state, &custom(p)))
        .collect();
    if all {
        providers.extend(builtins().map(|r| describe(state, &r)));
    }
    Listing {
        providers,
        broken: state.broken_providers(),
    }
}

/// Adds `p` as a custom provider; what to tell the user about it.
pub fn add(store: &Store, p: &Provider) -> Result<Vec<Note>> {
    p.validate()
        .map_err(|e| Error::usage(format!("invalid provider '{}': {e}", p.name)))?;
    store.update(|s| {
        if s.has_provider(&p.name) {
            return Err(Error::new(format!("provider '{}' already exists", p.name))
                .hint(format!(
                    "change it with `aix provider update {0} ...` (see it with `aix provider info {0}`)",
                    p.name
                )));
        }
        s.put_provider(p);
        Ok(())
    })?;
    let mut notes = vec![Note::status(format!(
        "Added provider '{}' ({})",
        p.name, p.base_url
    ))];
    if provider::builtin(&p.name).is_some() {
        notes.push(Note::info(format!(
            "'{0}' is also a built-in provider; address yours as custom:{0}",
            p.name
        )));
    }
    if p.auth_type == AuthType::ApiKey && p.headers.is_empty() {
        notes.push(Note::warn(format!(
            "'{}' uses auth type api-key but has no headers, so requests carry no credential; add one with --header \"X-API-Key:${{env:VAR}}\"",
            p.name
        )));
    }
    Ok(notes)
}

/// The manifest that owns `name`, as the user knows it: its file name as
/// `aix apply` recorded it (`providers.toml` when none was recorded).
fn manifest_of(s: &State, name: &str) -> String {
    s.owned()
        .get(name)
        .and_then(|o| o.source.clone())
        .and_then(|src| {
            std::path::Path::new(&src)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "providers.toml".into())
}

/// `custom:NAME` or `NAME` as the custom provider's name.
fn custom_name(spec: &str) -> String {
    spec.strip_prefix("custom:").unwrap_or(spec).to_string()
}

/// Why `name` (as `spec` wrote it) is no custom provider to be `done`
/// (removed, updated): a built-in's, with `hint`, or not found at all.
fn no_custom(s: &State, name: &str, spec: &str, done: &str, hint: String) -> Error {
    if provider::builtin(name).is_some() {
        Error::new(format!(
            "'{name}' is a built-in provider and cannot be {done}"
        ))
        .hint(hint)
    } else {
        s.not_found(name, spec)
    }
}

/// Removes the custom provider `spec` names, and its stored key with
/// `forget_key`; what to tell the user about it.
pub fn remove(store: &Store, spec: &str, forget_key: bool) -> Result<Vec<Note>> {
    let name = custom_name(spec);
    let (key, owner) = store.update(|s| {
        if !s.has_provider(&name) {
            let hint = format!("remove its stored key with `aix api-key {name} --remove`");
            return Err(no_custom(s, &name, spec, "removed", hint));
        }
        let owner = (s.owner(&name), manifest_of(s, &name));
        s.remove_provider(&name);
        // Some(None): deleted; Some(Some(slot)): kept in that slot.
        let key = if forget_key {
            s.remove_api_key(&name, Origin::Custom).then_some(None)
        } else {
            s.stored_key(&name, Origin::Custom)
                .map(|(_, slot)| Some(slot))
        };
        Ok((key, owner))
    })?;
    let mut notes = Vec::new();
    match key {
        Some(None) => notes.push(Note::status(format!(
            "Removed provider '{name}' and its API key"
        ))),
        Some(Some(slot)) => {
            notes.push(Note::status(format!("Removed provider '{name}'")));
            notes.push(Note::info(format!(
                "its API key stays in config.json (api_keys.{slot}) for when you add '{name}' again; delete it with `aix config unset api_keys.{slot}`, or remove with --forget-key next time"
            )));
        }
        None => notes.push(Note::status(format!("Removed provider '{name}'"))),
    }
    if owner.0 == Owner::Manifest {
        notes.push(Note::info(format!(
            "'{name}' is managed by {}; `aix apply` will re-create it unless you remove it from the manifest",
            owner.1
        )));
    }
    Ok(notes)
}

/// The fields `provider update` changes; unset ones stay.
#[derive(Debug, Default)]
pub struct Changes {
    /// The field flags given (see [`crate::provider::args`]).
    pub fields: FieldArgs,
    /// Edit a provider the manifest owns anyway.
    pub force: bool,
}

/// Changes fields of the custom provider `spec` names in place (its key
/// stays); what to tell the user about it.
pub fn update(store: &Store, spec: &str, changes: &Changes) -> Result<Vec<Note>> {
    let name = custom_name(spec);
    if changes.fields.is_empty() {
        return Err(
            Error::usage(format!("nothing to update for '{name}'")).hint(format!(
                "give at least one field flag, such as {} (`aix provider update --help` lists all {})",
                FieldArgs::update_flags()[..4].join(", "),
                FieldArgs::update_flags().len()
            )),
        );
    }
    let (changed, owner) = store.update(|s| {
        // A header stored twice in different cases makes the entry
        // unreadable; removing one spelling is the repair.
        let repaired: Vec<&String> = changes
            .fields
            .remove
            .iter()
            .filter(|(f, gone)| f.name == "headers" && s.remove_duplicate_header(&name, gone))
            .map(|(_, gone)| gone)
            .collect();
        let Some(mut p) = s.provider(&name)? else {
            let hint = format!(
                "add your own with `aix provider add {name} BASE_URL` and address it as custom:{name}"
            );
            return Err(no_custom(s, &name, spec, "updated", hint));
        };
        let owner = s.owner(&name);
        if owner == Owner::Manifest && !changes.force {
            return Err(Error::new(format!(
                "'{name}' is managed by {}; change it there and run `aix apply`",
                manifest_of(s, &name)
            ))
            .hint("or pass --force to edit config.json anyway (the next `aix plan` will show the difference)"));
        }
        let before = p.clone();
        changes
            .fields
            .apply(&mut p, &|gone| repaired.iter().any(|r| r.as_str() == gone))
            .map_err(Error::usage)?;
        if p.preset.is_some() && p.preset != before.preset {
            // What the old preset filled in gives way to the new one's;
            // what this command line sets stays.
            let set = &changes.fields.set;
            let given = |f: &crate::provider::fields::Field| set.iter().any(|(g, _)| g.name == f.name);
            if let Some(old) = before.preset.as_deref().and_then(crate::provider::presets::get) {
                crate::provider::presets::unfill(&mut p, old, &given);
            }
            let own = p.clone();
            crate::provider::presets::fill(&mut p, &|f| {
                given(f) || crate::provider::presets::has_own(f, &own)
            });
            if p.base_url.is_empty() {
                p.base_url.clone_from(&before.base_url);
            }
        }
        p.validate()
            .map_err(|e| Error::usage(format!("invalid provider '{name}': {e}")))?;
        let changed = p != before || !repaired.is_empty();
        if changed {
            s.put_provider(&p);
        }
        let has_key = s
            .api_key(&crate::config::state::Resolved {
                provider: p.clone(),
                origin: crate::config::state::Origin::Custom,
            })
            .is_some();
        // Switched to a preset with no usual URL while the URL is the old
        // preset's: say so.
        let stale = p.preset != before.preset
            && p.preset.as_deref().and_then(crate::provider::presets::get).is_some_and(|new| {
                new.values.get("base_url").is_none()
                    && before
                        .preset
                        .as_deref()
                        .and_then(crate::provider::presets::get)
                        .and_then(|old| old.values.get("base_url"))
                        .and_then(serde_json::Value::as_str)
                        == Some(p.base_url.as_str())
            });
        let stale_url = stale.then(|| p.base_url.clone());
        Ok((changed, (owner, has_key, manifest_of(s, &name), stale_url)))
    })?;
    let (owner, has_key, manifest, stale_url) = owner;
    if !changed {
        return Ok(vec![Note::info(format!(
            "'{name}' already had those settings; nothing changed"
        ))]);
    }
    let mut notes = vec![Note::status(if has_key {
        format!("Updated provider '{name}' (its API key is unchanged)")
    } else {
        format!("Updated provider '{name}'")
    })];
    if let Some(url) = stale_url {
        notes.push(Note::warn(format!(
            "'{name}' still has the old preset's base URL ({url}), and its new preset has no usual one: set yours with `aix provider update {name} --url URL`"
        )));
    }
    if owner == Owner::Manifest {
        notes.push(Note::warn(format!(
            "'{name}' is managed by {manifest}: the next `aix plan` shows this edit as drift and `aix apply` reverts it unless the manifest changes too"
        )));
    }
    Ok(notes)
}

/// The models `provider` serves (`GET BASE_URL/models`), as the server
/// describes them, waiting at most `timeout`.
pub fn models(
    client: &Client,
    provider: &Provider,
    key: Option<&Secret>,
    timeout: Duration,
) -> Result<Vec<Value>> {
    client
        .models(provider, key, timeout)
        .map_err(|e| e.into_error(&provider.name, ""))
}

/// A model's id as servers give it: `id`, else `name`.
pub fn model_id(model: &Value) -> Option<&str> {
    model
        .get("id")
        .or_else(|| model.get("name"))
        .and_then(Value::as_str)
}

/// The sorted ids of `models` (those without one left out).
pub fn model_ids(models: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = models
        .iter()
        .filter_map(model_id)
        .map(String::from)
        .collect();
    ids.sort();
    ids
}

/// The providers `provider check` tests: those `names` names, else every
/// usable custom provider (with `all`, also the built-ins that have a
/// key), with a warning for each entry skipped.
pub fn check_targets(
    state: &State,
    names: &[String],
    all: bool,
) -> Result<(Vec<Resolved>, Vec<Note>)> {
    if !names.is_empty() {
        let targets = names
            .iter()
            .map(|n| state.resolve(n))
            .collect::<Result<_>>()?;
        return Ok((targets, Vec::new()));
    }
    let (usable, skipped) = usable(state);
    let mut targets: Vec<Resolved> = usable.into_iter().map(custom).collect();
    if all {
        targets.extend(builtins().filter(|r| state.key_source(r).is_some()));
    }
    Ok((targets, skipped))
}

/// Which test a provider passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passed {
    /// `GET /models` listed this many models.
    Models(usize),
    /// `/models` is missing; a one-token chat request to this model worked.
    Chat(String),
}

impl Passed {
    pub fn test(&self) -> &'static str {
        match self {
            Passed::Models(_) => "models",
            Passed::Chat(_) => "chat",
        }
    }
}

/// One provider's check: passed or why not, and how long it took.
#[derive(Debug)]
pub struct Checked {
    pub name: String,
    pub result: std::result::Result<Passed, String>,
    pub took: Duration,
}

/// Probes every target in parallel, each waiting at most `timeout`;
/// results in the order of `targets`.
pub fn check(
    state: &State,
    client: &Client,
    targets: &[Resolved],
    timeout: Duration,
) -> Vec<Checked> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .iter()
            .map(|r| {
                let key = state.api_key(r);
                scope.spawn(move || {
                    let (result, took) = http::timed(|| probe(client, r, key.as_ref(), timeout));
                    Checked {
                        name: r.provider.name.clone(),
                        result,
                        took,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("check thread panicked"))
            .collect()
    })
}

/// Probes one provider: `GET /models`; where the server has none (404,
/// 405, 501), a chat request for one token to the provider's default
/// model, since `POST /chat/completions` is all an OpenAI-compatible
/// server must offer.
pub fn probe(
    client: &Client,
    r: &Resolved,
    key: Option<&Secret>,
    timeout: Duration,
) -> std::result::Result<Passed, String> {
    let name = &r.provider.name;
    let status = match client.models(&r.provider, key, timeout) {
        Ok(m) => return Ok(Passed::Models(m.len())),
        Err(http::ClientError::Status { status, .. }) if matches!(status, 404 | 405 | 501) => {
            status
        }
        Err(e) => return Err(e.into_error(name, "").message().to_string()),
    };
    let Some(model) = r.provider.default_model.clone() else {
        return Err(format!(
            "GET /models answered {status} and '{name}' has no default model to try a chat request with; set one with `aix provider update {name} --model MODEL`"
        ));
    };
    let req = http::ChatRequest {
        model: model.clone(),
        messages: vec![http::Message::new("user", "ping".to_string())],
        stream: false,
        max_tokens: Some(1),
        temperature: None,
    };
    let prepared = http::prepare(&r.provider, key, &req, timeout, http::EnvRefs::Resolve)
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

/// What `provider export` exports: the providers `names` names, else every
/// usable custom provider (with a warning for each entry skipped).
pub fn export_targets(state: &State, names: &[String]) -> Result<(Vec<Provider>, Vec<Note>)> {
    if names.is_empty() {
        return Ok(usable(state));
    }
    let mut providers = Vec::new();
    for name in names {
        let name = name.strip_prefix("custom:").unwrap_or(name);
        match state.provider(name)? {
            Some(p) => providers.push(p),
            None => return Err(state.not_found(name, name)),
        }
    }
    Ok((providers, Vec::new()))
}

/// The note for exported providers whose keys stay behind, if any.
pub fn keys_not_exported(state: &State, providers: &[Provider]) -> Option<Note> {
    let with_keys: Vec<&str> = providers
        .iter()
        .filter(|p| state.stored_key(&p.name, Origin::Custom).is_some())
        .map(|p| p.name.as_str())
        .collect();
    (!with_keys.is_empty()).then(|| {
        Note::info(format!(
            "API keys are not exported; on another machine set them with `aix api-key NAME` ({})",
            with_keys.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn model_ids_come_from_id_else_name_sorted() {
        let models = vec![
            json!({"id": "zeta"}),
            json!({"name": "alpha"}),
            json!({"owned_by": "nobody"}),
            json!({"id": "mid", "name": "ignored"}),
        ];
        assert_eq!(model_ids(&models), ["alpha", "mid", "zeta"]);
        assert_eq!(model_id(&models[2]), None);
    }

    #[test]
    fn broken_entries_are_skipped_with_a_warning() {
        let doc = json!({"custom_providers": {
            "broke": {"base_url": 5},
            "fine": {"base_url": "http://127.0.0.1:9/v1"},
        }});
        let state = State::from_doc(doc.as_object().unwrap().clone());
        let (providers, skipped) = usable(&state);
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].name, "fine");
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].level, crate::notes::Level::Warn);
        assert!(
            skipped[0].text.starts_with("skipping provider 'broke': "),
            "{skipped:?}"
        );
        let listing = list(&state, true);
        assert_eq!(listing.broken.len(), 1);
        assert_eq!(
            listing.providers.len(),
            1 + provider::BUILTINS.len(),
            "the built-ins follow with --all"
        );
        let (targets, skipped) = check_targets(&state, &[], false).unwrap();
        assert_eq!((targets.len(), skipped.len()), (1, 1));
    }

    #[test]
    fn updates_change_only_what_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut p = Provider::new("local", "http://127.0.0.1:9/v1");
        p.headers.push(("X-Trace".into(), "1".into()));
        add(&store, &p).unwrap();
        assert!(update(&store, "local", &Changes::default()).is_err());
        let headers = crate::provider::fields::field("headers").unwrap();
        let model = crate::provider::fields::field("default_model").unwrap();
        let gone = Changes {
            fields: FieldArgs {
                remove: vec![(headers, "x-nope".into())],
                ..FieldArgs::default()
            },
            ..Changes::default()
        };
        let e = update(&store, "local", &gone).unwrap_err();
        assert!(e.message().contains("has no header"), "{e:?}");
        let changes = Changes {
            fields: FieldArgs {
                set: vec![
                    (model, serde_json::json!("m")),
                    (headers, serde_json::json!({"x-trace": "2"})),
                ],
                ..FieldArgs::default()
            },
            ..Changes::default()
        };
        let notes = update(&store, "custom:local", &changes).unwrap();
        assert_eq!(notes[0].level, crate::notes::Level::Status);
        let again = update(&store, "local", &changes).unwrap();
        assert!(again[0].text.contains("nothing changed"), "{again:?}");
        let stored = store.load().unwrap().provider("local").unwrap().unwrap();
        assert_eq!(stored.default_model.as_deref(), Some("m"));
        assert_eq!(stored.headers, [("x-trace".to_string(), "2".to_string())]);
        let e = update(&store, "openai", &changes).unwrap_err();
        assert!(e.message().contains("built-in"), "{e:?}");
    }
}
