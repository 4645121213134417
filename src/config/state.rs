//! The live state: config.json as a JSON document with typed views.
//!
//! The document stays a `serde_json::Map` (with `preserve_order`) so keys
//! that other tools, or the earlier Python AIX, put there survive every
//! write unchanged and in place. Typed access goes through [`Provider`],
//! [`Secret`] and the accessors below; nothing else pokes at the JSON.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::keypath::KeyPath;
use crate::error::Error;
use crate::provider::{self, Provider};
use crate::secret::Secret;

pub const PROVIDERS: &str = "custom_providers";
pub const API_KEYS: &str = "api_keys";
/// Where `aix apply` records what the manifest owns.
pub const OWNERSHIP: &str = "aix_manifest";

/// Who manages a custom provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Applied from providers.toml; `aix apply` may change or remove it.
    Manifest,
    /// Added by hand (`aix provider add`, an editor, the earlier AIX).
    Cli,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Manifest => "manifest",
            Owner::Cli => "cli",
        }
    }
}

/// What `aix apply` recorded about a provider it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// [`fingerprint`] of the provider as applied.
    pub fingerprint: String,
    /// The manifest file it came from, for messages.
    pub source: Option<String>,
}

/// A stable fingerprint of a provider's definition (see
/// [`crate::provider::fields::fingerprint`]).
pub fn fingerprint(p: &Provider) -> String {
    crate::provider::fields::fingerprint(p)
}

/// Where a provider's definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    Custom,
}

/// A provider found by the name the user typed.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub provider: Provider,
    pub origin: Origin,
}

/// Where a provider's API key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `api_keys` in config.json, under this key.
    Config(String),
    /// The environment variable of this name.
    Env(String),
    /// The provider's `api_key` reference.
    Reference(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    doc: Map<String, Value>,
}

/// `a == b` for JSON values, without hashing where it can: objects whose
/// keys are the same and in the same order (an entry as it was read back
/// and as it is about to be written, usually) are compared member by
/// member; anything else falls back to `==`, whose object comparison
/// looks every key up in the other object (order aside).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => map_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_eq(v, w))
        }
        _ => a == b,
    }
}

/// [`json_eq`] for two objects.
pub fn map_eq(x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    if x.len() != y.len() {
        return false;
    }
    if x.keys().zip(y.keys()).all(|(k, l)| k == l) {
        // The same keys in the same order: (keys being unique) each
        // member's counterpart is the one at the same place.
        return x.values().zip(y.values()).all(|(v, w)| json_eq(v, w));
    }
    x == y
}

/// Each member of `new` with the value `old` has under its key: the
/// member at the same place when its key is the same (as it is in an
/// object and the copy it was changed from, but for the changes), else
/// looked up by key.
fn with_counterparts<'m>(
    new: &'m Map<String, Value>,
    old: Option<&'m Map<String, Value>>,
) -> impl Iterator<Item = (&'m String, &'m Value, Option<&'m Value>)> {
    let mut place = old.map(|o| o.iter());
    new.iter().map(move |(k, v)| {
        let before = match place.as_mut().and_then(Iterator::next) {
            Some((there, w)) if there == k => Some(w),
            _ => old.and_then(|o| o.get(k)),
        };
        (k, v, before)
    })
}

/// The object at `map[key]`, made (in place of anything else) when it is
/// not one.
pub fn object_in<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

impl State {
    pub fn from_doc(doc: Map<String, Value>) -> Self {
        State { doc }
    }

    pub fn doc(&self) -> &Map<String, Value> {
        &self.doc
    }

    /// Raw access for the store's own tests and for `config set`.
    pub fn doc_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.doc
    }

    fn object(&self, key: &str) -> Option<&Map<String, Value>> {
        self.doc.get(key).and_then(Value::as_object)
    }

    fn object_mut(&mut self, key: &str) -> &mut Map<String, Value> {
        object_in(&mut self.doc, key)
    }

    /// Every custom provider entry in file order, each parsed on its own
    /// so one broken entry does not hide the others.
    pub fn provider_entries(&self) -> Vec<(String, Result<Provider, Error>)> {
        self.object(PROVIDERS)
            .into_iter()
            .flatten()
            .map(|(name, entry)| (name.clone(), parse_entry(name, entry)))
            .collect()
    }

    /// The names of the custom provider entries, in file order (none is
    /// parsed).
    pub fn provider_names(&self) -> impl Iterator<Item = &String> {
        self.object(PROVIDERS).into_iter().flat_map(|m| m.keys())
    }

    /// The custom provider `name`, if there is one.
    pub fn provider(&self, name: &str) -> Result<Option<Provider>, Error> {
        match self.object(PROVIDERS).and_then(|p| p.get(name)) {
            None => Ok(None),
            Some(entry) => parse_entry(name, entry).map(Some),
        }
    }

    /// Removes header `header` (exactly that spelling) from provider
    /// `name`'s stored entry when the entry also holds it in another case,
    /// the one repair such a broken entry needs. Whether it did.
    pub fn remove_duplicate_header(&mut self, name: &str, header: &str) -> bool {
        let Some(headers) = self
            .doc
            .get_mut(PROVIDERS)
            .and_then(|p| p.get_mut(name))
            .and_then(|e| e.get_mut("headers"))
            .and_then(Value::as_object_mut)
        else {
            return false;
        };
        let twins = headers
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(header))
            .count();
        twins > 1 && headers.shift_remove(header).is_some()
    }

    pub fn has_provider(&self, name: &str) -> bool {
        self.object(PROVIDERS).is_some_and(|p| p.contains_key(name))
    }

    /// Inserts or replaces a custom provider, keeping fields other tools
    /// added to an existing entry.
    pub fn put_provider(&mut self, p: &Provider) {
        let providers = self.object_mut(PROVIDERS);
        let entry = p.to_json(providers.get(&p.name));
        providers.insert(p.name.clone(), entry);
    }

    /// Removes a custom provider; whether it was there.
    pub fn remove_provider(&mut self, name: &str) -> bool {
        match self.doc.get_mut(PROVIDERS).and_then(Value::as_object_mut) {
            Some(p) => p.shift_remove(name).is_some(),
            None => false,
        }
    }

    /// Who manages the custom provider `name`.
    pub fn owner(&self, name: &str) -> Owner {
        let owned = self
            .object(OWNERSHIP)
            .and_then(|o| o.get("providers"))
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key(name));
        if owned { Owner::Manifest } else { Owner::Cli }
    }

    /// Every provider the manifest owns, by name.
    pub fn owned(&self) -> BTreeMap<String, Owned> {
        let Some(records) = self
            .object(OWNERSHIP)
            .and_then(|o| o.get("providers"))
            .and_then(Value::as_object)
        else {
            return BTreeMap::new();
        };
        records
            .iter()
            .map(|(name, r)| {
                let text = |k: &str| r.get(k).and_then(Value::as_str).map(String::from);
                (
                    name.clone(),
                    Owned {
                        fingerprint: text("fingerprint").unwrap_or_default(),
                        source: text("source"),
                    },
                )
            })
            .collect()
    }

    /// Records that the manifest owns `name`, as applied.
    pub fn set_owned(&mut self, name: &str, owned: &Owned) {
        self.set_owned_all([(name, owned)]);
    }

    /// [`State::set_owned`] for each of `records`, finding where the
    /// records go once (nothing is made when there are none).
    pub fn set_owned_all<'r>(&mut self, records: impl IntoIterator<Item = (&'r str, &'r Owned)>) {
        let mut records = records.into_iter().peekable();
        if records.peek().is_none() {
            return;
        }
        let slot = object_in(self.object_mut(OWNERSHIP), "providers");
        for (name, owned) in records {
            let mut entry = Map::new();
            entry.insert("fingerprint".into(), Value::from(owned.fingerprint.clone()));
            if let Some(src) = &owned.source {
                entry.insert("source".into(), Value::from(src.clone()));
            }
            slot.insert(name.to_string(), Value::Object(entry));
        }
    }

    /// Forgets that the manifest owns `name`.
    pub fn remove_owned(&mut self, name: &str) -> bool {
        self.doc
            .get_mut(OWNERSHIP)
            .and_then(|o| o.get_mut("providers"))
            .and_then(Value::as_object_mut)
            .is_some_and(|p| p.shift_remove(name).is_some())
    }

    /// config.json's `aliases` (name → target or list of targets).
    pub fn aliases(&self) -> Map<String, Value> {
        self.object("aliases").cloned().unwrap_or_default()
    }

    /// Sets alias `name` (an empty `aliases` object is removed with its
    /// last alias).
    pub fn set_alias(&mut self, name: &str, value: &Value) {
        self.object_mut("aliases")
            .insert(name.to_string(), value.clone());
    }

    pub fn remove_alias(&mut self, name: &str) {
        let emptied = match self.doc.get_mut("aliases").and_then(Value::as_object_mut) {
            Some(a) => {
                a.shift_remove(name);
                a.is_empty()
            }
            None => false,
        };
        if emptied {
            self.doc.shift_remove("aliases");
        }
    }

    /// The aliases the manifest owns, with the value last applied.
    pub fn owned_aliases(&self) -> BTreeMap<String, Value> {
        self.object(OWNERSHIP)
            .and_then(|o| o.get("aliases"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, r)| (k.clone(), r.get("value").cloned().unwrap_or(Value::Null)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Records that the manifest owns alias `name`, as applied.
    pub fn set_owned_alias(&mut self, name: &str, value: &Value, source: Option<&str>) {
        let slot = object_in(self.object_mut(OWNERSHIP), "aliases");
        let mut entry = Map::new();
        entry.insert("value".into(), value.clone());
        if let Some(src) = source {
            entry.insert("source".into(), Value::from(src));
        }
        slot.insert(name.to_string(), Value::Object(entry));
    }

    pub fn remove_owned_alias(&mut self, name: &str) {
        if let Some(a) = self
            .doc
            .get_mut(OWNERSHIP)
            .and_then(|o| o.get_mut("aliases"))
            .and_then(Value::as_object_mut)
        {
            a.shift_remove(name);
        }
    }

    /// The `api_keys` entries that belong to provider `name` (the earlier
    /// AIX stored custom keys as `custom:NAME`).
    fn key_slots(name: &str, origin: Origin) -> Vec<String> {
        match origin {
            Origin::Custom => vec![name.to_string(), format!("custom:{name}")],
            Origin::BuiltIn => vec![name.to_string()],
        }
    }

    /// The API key stored in config.json for a provider, and its slot.
    pub fn stored_key(&self, name: &str, origin: Origin) -> Option<(Secret, String)> {
        let keys = self.object(API_KEYS)?;
        Self::key_slots(name, origin).into_iter().find_map(|slot| {
            keys.get(&slot)
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .map(|k| (Secret::new(k), slot))
        })
    }

    /// Where the key for `resolved` would come from: the provider's
    /// `api_key` reference, else config.json's `api_keys` (whose value may
    /// itself be a reference, such as `${keyring:aix/NAME}`), else the
    /// provider's `api_key_env`, else none.
    pub fn key_source(&self, resolved: &Resolved) -> Option<KeySource> {
        let p = &resolved.provider;
        if let Some(r) = &p.api_key {
            return Some(KeySource::Reference(r.clone()));
        }
        if let Some((_, slot)) = self.stored_key(&p.name, resolved.origin) {
            return Some(KeySource::Config(slot));
        }
        p.api_key_env
            .as_ref()
            .filter(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
            .map(|var| KeySource::Env(var.clone()))
    }

    /// The key to send to `resolved`, per [`State::key_source`].
    pub fn api_key(&self, resolved: &Resolved) -> Option<Secret> {
        match self.key_source(resolved)? {
            KeySource::Config(_) => self
                .stored_key(&resolved.provider.name, resolved.origin)
                .map(|(k, _)| k),
            KeySource::Env(var) => std::env::var(var).ok().map(Secret::new),
            // Resolved when a request is sent (a dry run shows it as written).
            KeySource::Reference(r) => Some(Secret::new(r)),
        }
    }

    /// A top-level setting (the earlier AIX's `default_provider`,
    /// `max_tokens`, ...), if set.
    pub fn setting(&self, key: &str) -> Option<&Value> {
        self.doc.get(key).filter(|v| !v.is_null())
    }

    /// [`State::setting`] for a run that is about to use it: a value of
    /// the wrong type or range (written by hand) is an error naming it,
    /// as `aix config set` would have refused it, never used as it is.
    pub fn checked_setting(&self, key: &str) -> Result<Option<&Value>, Error> {
        let Some(value) = self.setting(key) else {
            return Ok(None);
        };
        check_setting(key, value).map_err(|e| {
            Error::new(format!("config.json: {}", e.message()))
                .hint(format!(
                    "fix it with `aix config set {key} VALUE`, or remove it with `aix config unset {key}`"
                ))
                .hint("`aix validate` checks the whole file")
        })?;
        Ok(Some(value))
    }

    pub fn set_api_key(&mut self, name: &str, key: &Secret) {
        self.object_mut(API_KEYS)
            .insert(name.to_string(), Value::from(key.expose()));
    }

    /// Removes every stored key of provider `name`; whether any was there.
    pub fn remove_api_key(&mut self, name: &str, origin: Origin) -> bool {
        let Some(keys) = self.doc.get_mut(API_KEYS).and_then(Value::as_object_mut) else {
            return false;
        };
        let mut removed = false;
        for slot in Self::key_slots(name, origin) {
            removed |= keys.shift_remove(&slot).is_some();
        }
        removed
    }

    /// The "not found" error for custom provider `name` (typed as `spec`),
    /// with a "did you mean" when `spec` is a near miss of a configured or
    /// built-in name, as every command that takes a provider name gives.
    pub fn not_found(&self, name: &str, spec: &str) -> Error {
        let names: Vec<String> = self
            .provider_entries()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        crate::suggest::provider_hint(not_found(name), spec, &names)
    }

    /// Finds the provider a user means by `spec`: `custom:NAME`, a built-in
    /// name, or a bare custom name.
    pub fn resolve(&self, spec: &str) -> Result<Resolved, Error> {
        let custom = |name: &str| -> Result<Resolved, Error> {
            match self.provider(name)? {
                Some(provider) => Ok(Resolved {
                    provider,
                    origin: Origin::Custom,
                }),
                None => Err(self.not_found(name, spec)),
            }
        };
        if spec
            .strip_prefix("custom:")
            .unwrap_or(spec)
            .trim()
            .is_empty()
        {
            return Err(crate::suggest::empty_provider_name(spec));
        }
        if let Some(name) = spec.strip_prefix("custom:") {
            return custom(name);
        }
        match (provider::builtin(spec), self.has_provider(spec)) {
            (Some(_), true) => Err(Error::new(format!(
                "'{spec}' is both a built-in provider and a custom provider"
            ))
            .hint(format!(
                "write custom:{spec} for yours; the built-in one has no other name"
            ))),
            (Some(b), false) => Ok(Resolved {
                provider: b.to_provider(),
                origin: Origin::BuiltIn,
            }),
            (None, _) => custom(spec),
        }
    }

    /// The value at `path`, if any.
    pub fn get(&self, path: &KeyPath) -> Option<&Value> {
        let (first, rest) = path.segments().split_first()?;
        let mut cur = self.doc.get(first)?;
        for seg in rest {
            cur = match cur {
                Value::Object(m) => m.get(seg)?,
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Sets the value at `path`, creating missing objects on the way.
    pub fn set(&mut self, path: &KeyPath, value: Value) -> Result<(), Error> {
        let segs = path.segments();
        let mut cur = &mut self.doc;
        for (i, seg) in segs[..segs.len() - 1].iter().enumerate() {
            let slot = cur
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            cur = match slot {
                Value::Object(m) => m,
                other => {
                    return Err(Error::new(format!(
                        "cannot set {path}: {} is {}, not an object",
                        path.prefix(i + 1),
                        provider::type_name(other)
                    ))
                    .hint(format!(
                        "unset it first: aix config unset {}",
                        path.prefix(i + 1)
                    )));
                }
            };
        }
        cur.insert(segs[segs.len() - 1].clone(), value);
        Ok(())
    }

    /// Removes the value at `path`; whether there was one.
    pub fn unset(&mut self, path: &KeyPath) -> bool {
        let segs = path.segments();
        let mut cur = &mut self.doc;
        for seg in &segs[..segs.len() - 1] {
            match cur.get_mut(seg) {
                Some(Value::Object(m)) => cur = m,
                _ => return false,
            }
        }
        cur.shift_remove(&segs[segs.len() - 1]).is_some()
    }

    /// Validates what changed since `before`, so nothing invalid is ever
    /// written while entries another tool broke can still be repaired or
    /// removed.
    pub fn check_changes(&self, before: &State) -> Result<(), Error> {
        for (key, value) in &self.doc {
            if before.doc.get(key).is_some_and(|b| json_eq(b, value)) {
                continue;
            }
            if depth(value) > MAX_DEPTH {
                return Err(Error::new(format!(
                    "refused: {key} would nest deeper than {MAX_DEPTH} levels, and config.json could not be read back"
                )));
            }
            let old = before.doc.get(key);
            match key.as_str() {
                PROVIDERS => check_providers(value, old)?,
                API_KEYS => check_api_keys(value, old)?,
                "aliases" => self.check_aliases(value)?,
                _ => check_setting(key, value)?,
            }
        }
        Ok(())
    }
}

impl State {
    /// The rule of `aliases` in config.json: an object of aliases whose
    /// names, targets and chains are valid and whose providers exist here
    /// or are built in.
    fn check_aliases(&self, value: &Value) -> Result<(), Error> {
        let Value::Object(aliases) = value else {
            return Err(Error::new(format!(
                "aliases must be an object (name: target or list of targets), not {}",
                provider::type_name(value)
            )));
        };
        let known = |p: &str| self.has_provider(p) || provider::builtin(p).is_some();
        match crate::run::aliases::problems(aliases, Some(&known))
            .into_iter()
            .next()
        {
            Some((_, m)) => Err(Error::new(format!(
                "refused: aliases: {}",
                m.replace(
                    "no manifest declares and is not built in",
                    "config.json does not have and is not built in"
                )
            ))
            .hint("a target is PROVIDER/MODEL (split at the first /) or another alias's name")),
            None => Ok(()),
        }
    }
}

/// The top-level keys aix (or the earlier AIX) gives a meaning to: its
/// own three and the settings of [`crate::config::settings::SETTINGS`].
pub fn known_keys() -> Vec<&'static str> {
    [PROVIDERS, API_KEYS, OWNERSHIP, "aliases"]
        .into_iter()
        .chain(crate::config::settings::SETTINGS.iter().map(|s| s.name))
        .collect()
}

/// A known key holding the wrong kind of value: where (as a path of
/// keys) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misshapen {
    pub pointer: Vec<String>,
    pub message: String,
}

impl State {
    /// Known keys whose values have the wrong type: writing would replace
    /// them (and so destroy what is there), so every write refuses while
    /// any is present, and `aix validate` reports them. `null` counts as
    /// absent.
    pub fn misshapen(&self) -> Vec<Misshapen> {
        let mut out = Vec::new();
        let mut want_object = |pointer: Vec<String>, value: &Value, want: &str| {
            if value.is_object() || value.is_null() {
                return true;
            }
            out.push(Misshapen {
                message: format!(
                    "{} must be {want}, not {}",
                    pointer.join("."),
                    provider::type_name(value)
                ),
                pointer,
            });
            false
        };
        if let Some(v) = self.doc.get(PROVIDERS)
            && want_object(vec![PROVIDERS.into()], v, "an object of providers")
            && let Value::Object(entries) = v
        {
            for (name, entry) in entries {
                want_object(
                    vec![PROVIDERS.into(), name.clone()],
                    entry,
                    "an object (a provider)",
                );
            }
        }
        if let Some(v) = self.doc.get(API_KEYS) {
            want_object(vec![API_KEYS.into()], v, "an object of strings");
        }
        if let Some(v) = self.doc.get(OWNERSHIP)
            && want_object(vec![OWNERSHIP.into()], v, "an object")
            && let Some(p) = v.get("providers")
        {
            want_object(vec![OWNERSHIP.into(), "providers".into()], p, "an object");
        }
        out
    }

    /// Top-level keys that look like a typo of a known one, with the key
    /// each resembles (`api_key` for `api_keys`).
    pub fn near_misses(&self) -> Vec<(String, &'static str)> {
        self.doc
            .keys()
            .filter_map(|k| near_miss(k).map(|near| (k.clone(), near)))
            .collect()
    }
}

/// The known top-level key `key` resembles, if it is not one itself.
pub fn near_miss(key: &str) -> Option<&'static str> {
    let known = known_keys();
    if known.contains(&key) {
        return None;
    }
    // `API_KEYS` is as much a near miss as `api_key`.
    crate::suggest::closest(&key.to_ascii_lowercase(), &known)
}

/// How deep config.json may nest (serde_json reads up to 128 levels).
const MAX_DEPTH: usize = 100;

fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Parses a stored entry; a broken one gets hints on how to repair it.
fn parse_entry(name: &str, entry: &Value) -> Result<Provider, Error> {
    entry_problem(name, entry).map_err(|(at, message)| {
        let err = Error::new(format!("config.json: {at}: {message}"));
        // A header given twice in different cases: setting either one
        // leaves the pair, so the repair is to drop one.
        if let Some(header) = duplicate_header(entry, &at) {
            let path = format!("{PROVIDERS}.{}.headers.{}", quoted(name), quoted(header));
            return err
                .hint(format!("remove one with `aix config unset {path}`"))
                .hint(format!(
                    "or `aix provider update {name} --remove-header {header}` (removes exactly that spelling)"
                ));
        }
        err.hint(format!(
            "fix it with `aix config set {at} VALUE`, or remove the provider with `aix provider remove {name}`"
        ))
    })
}

/// The header named at `at` (`custom_providers.P.headers.H`) when `entry`
/// holds it more than once in different cases.
fn duplicate_header<'a>(entry: &'a Value, at: &str) -> Option<&'a str> {
    let headers = entry.get("headers")?.as_object()?;
    headers
        .keys()
        .find(|k| {
            at.ends_with(&format!(".headers.{k}"))
                && headers.keys().filter(|o| o.eq_ignore_ascii_case(k)).count() > 1
        })
        .map(String::as_str)
}

/// A key path segment as `aix config` reads it.
fn quoted(segment: &str) -> String {
    if segment.contains(['.', '"']) {
        format!("{segment:?}")
    } else {
        segment.to_string()
    }
}

/// Parses an entry; on failure, the dotted path of the bad field and why.
fn entry_problem(name: &str, entry: &Value) -> Result<Provider, (String, String)> {
    let at = |field: &str| {
        if field.is_empty() {
            format!("{PROVIDERS}.{name}")
        } else {
            format!("{PROVIDERS}.{name}.{field}")
        }
    };
    provider::validate_name(name).map_err(|m| (at(""), m))?;
    // A hand-edited base_url that normalisation can fix (a trailing '/',
    // an upper-case scheme) is used as normalised. Read as it is first:
    // the base_url passes its check only when it is in normal form, so
    // only a problem there can be one that normalising fixes (the other
    // fields read the same either way).
    let read = Provider::from_json(name, entry);
    if let Err(e) = &read
        && e.field == "base_url"
        && let Some(Value::String(url)) = entry.get("base_url")
        && let Ok(normal) = provider::normalize_base_url(url)
        && normal != *url
    {
        let mut fixed = entry.clone();
        fixed["base_url"] = Value::String(normal);
        return Provider::from_json(name, &fixed).map_err(|e| (at(&e.field), e.message));
    }
    read.map_err(|e| (at(&e.field), e.message))
}

/// A custom provider entry that cannot be used, as listings show it: with
/// what can be read of it and its error, never hidden.
#[derive(Debug)]
pub struct Broken {
    pub name: String,
    /// The `base_url` as written, when it is a string.
    pub base_url: Option<String>,
    pub owner: Owner,
    pub error: Error,
}

impl Broken {
    /// A table row in `provider list`'s columns.
    pub fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.base_url.clone().unwrap_or_else(|| "-".into()),
            "-".into(),
            "(broken)".into(),
            self.owner.as_str().into(),
        ]
    }
}

/// A base URL that failed its checks, as it may be shown: never with
/// credentials or control characters, and clipped.
fn shown_raw_url(url: &str) -> String {
    if url.contains('@') {
        return "(not shown: it holds '@', perhaps credentials)".into();
    }
    let clean: String = url
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    crate::output::clip(&clean, 200).into_owned()
}

impl State {
    /// Every custom provider entry that cannot be used, in file order.
    pub fn broken_providers(&self) -> Vec<Broken> {
        let Some(entries) = self.object(PROVIDERS) else {
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|(name, entry)| {
                let error = parse_entry(name, entry).err()?;
                Some(Broken {
                    name: name.clone(),
                    base_url: entry
                        .get("base_url")
                        .and_then(Value::as_str)
                        .map(shown_raw_url),
                    owner: self.owner(name),
                    error,
                })
            })
            .collect()
    }
}

fn check_providers(value: &Value, old: Option<&Value>) -> Result<(), Error> {
    let Value::Object(entries) = value else {
        return Err(Error::new(format!(
            "{PROVIDERS} must be an object of providers, not {}",
            provider::type_name(value)
        )));
    };
    for (name, entry, before) in with_counterparts(entries, old.and_then(Value::as_object)) {
        if !before.is_some_and(|b| json_eq(b, entry)) {
            entry_problem(name, entry)
                .map_err(|(at, message)| Error::new(format!("refused: {at}: {message}")))?;
            check_new_fields(name, entry, before)?;
        }
    }
    Ok(())
}

/// A field aix does not know, added to a provider entry by this write, is
/// refused (it would be silently ignored). Fields other tools put there
/// before are kept as they are.
fn check_new_fields(name: &str, entry: &Value, before: Option<&Value>) -> Result<(), Error> {
    let Value::Object(fields) = entry else {
        return Ok(());
    };
    for field in fields.keys() {
        if crate::provider::fields::field(field).is_some()
            || before.is_some_and(|b| b.get(field).is_some())
        {
            continue;
        }
        let err = Error::new(format!(
            "refused: {PROVIDERS}.{name}.{field}: unknown provider field `{field}`"
        ));
        return Err(
            match crate::suggest::closest(field, &crate::provider::fields::names()) {
                Some(near) => err.hint(format!(
                    "did you mean {near}? aix config set {PROVIDERS}.{name}.{near} VALUE"
                )),
                None => err.hint(format!(
                    "a provider's fields are: {}",
                    crate::provider::fields::names().join(", ")
                )),
            },
        );
    }
    Ok(())
}

fn check_api_keys(value: &Value, old: Option<&Value>) -> Result<(), Error> {
    let Value::Object(keys) = value else {
        return Err(Error::new(format!(
            "{API_KEYS} must be an object of strings, not {}",
            provider::type_name(value)
        )));
    };
    for (name, key, before) in with_counterparts(keys, old.and_then(Value::as_object)) {
        if before.is_some_and(|b| json_eq(b, key)) {
            continue;
        }
        match key {
            Value::String(k) => {
                check_key_text(k).map_err(|m| Error::new(format!("{API_KEYS}.{name}: {m}")))?
            }
            other => {
                return Err(Error::new(format!(
                    "{API_KEYS}.{name} must be a string, not {}",
                    provider::type_name(other)
                )));
            }
        }
    }
    Ok(())
}

/// An API key must be one non-empty line without control characters (it
/// goes into an HTTP header). The message never repeats the key.
pub fn check_key_text(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the API key is empty".into());
    }
    if key.chars().any(|c| c.is_control()) {
        return Err("the API key contains control characters (CR, LF, NUL, ...)".into());
    }
    if key.len() > 8 * 1024 {
        return Err("the API key is longer than 8 KiB".into());
    }
    // Pasted from a curl line: the wire would get "Bearer Bearer ...".
    if key
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
    {
        return Err(
            "the API key starts with \"Bearer \"; aix adds that scheme itself, so give the key alone (without \"Bearer \")"
                .into(),
        );
    }
    Ok(())
}

/// Checks a top-level setting with the rule [`crate::config::settings`] declares.
fn check_setting(key: &str, value: &Value) -> Result<(), Error> {
    crate::config::settings::check(key, value).map_err(Error::new)
}

/// The standard "not found" error with its hints.
pub fn not_found(name: &str) -> Error {
    let err = Error::new(format!("Custom provider '{name}' not found"))
        .hint("see the configured providers with `aix provider list`");
    if provider::parse_name(name).is_ok() {
        err.hint(format!(
            "custom providers are addressed as custom:NAME or by their bare name; add one with `aix provider add {name} BASE_URL`"
        ))
    } else {
        // `custom:custom:x` or another name no provider can have: do not
        // suggest adding it.
        err.hint(format!(
            "'{name}' is not a valid provider name (1-64 of A-Z a-z 0-9 . _ -); write custom:NAME with the prefix once"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(v: Value) -> State {
        State::from_doc(v.as_object().unwrap().clone())
    }

    fn path(s: &str) -> KeyPath {
        KeyPath::parse(s).unwrap()
    }

    #[test]
    fn json_eq_is_eq() {
        let values = [
            json!(null),
            json!(1),
            json!(1.0),
            json!(-0),
            json!(1e2),
            json!(100),
            json!("1"),
            json!(true),
            json!([]),
            json!([1, 2]),
            json!([2, 1]),
            json!([1, [2, {"a": 1}]]),
            json!([1, [2, {"a": 1.0}]]),
            json!({}),
            json!({"a": 1, "b": 2}),
            json!({"b": 2, "a": 1}),
            json!({"a": 1, "b": 2, "c": 3}),
            json!({"a": 1, "c": 2}),
            json!({"a": 1.0, "b": 2}),
            json!({"a": {"x": [1, {"y": null}], "z": "s"}, "b": [{"k": 1, "l": 2}]}),
            json!({"b": [{"l": 2, "k": 1}], "a": {"z": "s", "x": [1, {"y": null}]}}),
            json!({"a": {"x": [1, {"y": false}], "z": "s"}, "b": [{"k": 1, "l": 2}]}),
            json!({"a": {"x": [1, {"y": null}], "z": "s"}, "b": [{"l": 2, "k": 1}]}),
            json!({"a": {"x": [1, {"y": null}], "z": "s"}, "b": [{"k": 1, "m": 2}]}),
        ];
        // Numbers as the file spells them (arbitrary precision).
        let parsed: Vec<Value> = ["1", "1.0", "1e2", "1E2", "100", "-0", "0"]
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect();
        for a in values.iter().chain(&parsed) {
            for b in values.iter().chain(&parsed) {
                assert_eq!(json_eq(a, b), a == b, "{a} vs {b}");
                if let (Value::Object(x), Value::Object(y)) = (a, b) {
                    assert_eq!(map_eq(x, y), x == y, "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn counterparts_are_found_by_key() {
        let old = json!({"a": 1, "b": 2, "c": 3});
        let old = old.as_object().unwrap();
        for new in [
            json!({"a": 1, "b": 2, "c": 3}),
            json!({"a": 1, "x": 2, "c": 3}),
            json!({"c": 1, "b": 2, "a": 3}),
            json!({"a": 1}),
            json!({"z": 0, "a": 1, "b": 2, "c": 3, "d": 4}),
            json!({}),
        ] {
            let new = new.as_object().unwrap();
            let got: Vec<_> = with_counterparts(new, Some(old)).collect();
            let want: Vec<_> = new.iter().map(|(k, v)| (k, v, old.get(k))).collect();
            assert_eq!(got, want);
            let got: Vec<_> = with_counterparts(new, None).collect();
            let want: Vec<_> = new.iter().map(|(k, v)| (k, v, None)).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn resolves_names() {
        let s = state(json!({"custom_providers": {
            "ollama": {"base_url": "http://localhost:11434/v1"},
            "openai": {"base_url": "http://my-openai"}
        }}));
        assert_eq!(s.resolve("ollama").unwrap().origin, Origin::Custom);
        assert_eq!(s.resolve("custom:ollama").unwrap().origin, Origin::Custom);
        assert_eq!(s.resolve("groq").unwrap().origin, Origin::BuiltIn);
        assert_eq!(
            s.resolve("custom:openai").unwrap().provider.base_url,
            "http://my-openai"
        );
        let amb = s.resolve("openai").unwrap_err();
        assert!(amb.hints()[0].contains("custom:openai"));
        let nf = s.resolve("nope").unwrap_err();
        assert_eq!(nf.message(), "Custom provider 'nope' not found");
        assert!(s.resolve("custom:groq").is_err());
    }

    #[test]
    fn finds_keys_in_both_slots() {
        let s = state(json!({
            "custom_providers": {"a": {"base_url": "http://a"}, "b": {"base_url": "http://b"}},
            "api_keys": {"a": "ka", "custom:b": "kb", "openai": "ko"}
        }));
        assert_eq!(s.stored_key("a", Origin::Custom).unwrap().0.expose(), "ka");
        assert_eq!(s.stored_key("b", Origin::Custom).unwrap().1, "custom:b");
        assert_eq!(
            s.stored_key("openai", Origin::BuiltIn).unwrap().0.expose(),
            "ko"
        );
        assert!(
            s.stored_key("b", Origin::BuiltIn).is_none(),
            "legacy slot is for custom providers only"
        );
        let mut s = s;
        assert!(s.remove_api_key("b", Origin::Custom));
        assert!(s.stored_key("b", Origin::Custom).is_none());
    }

    #[test]
    fn set_get_unset_paths() {
        let mut s = state(json!({"a": {"b": 1}, "s": "x", "arr": [10, 20]}));
        s.set(&path("a.c.d"), json!(true)).unwrap();
        assert_eq!(s.get(&path("a.c.d")), Some(&json!(true)));
        assert_eq!(s.get(&path("arr.1")), Some(&json!(20)));
        let err = s.set(&path("s.x"), json!(1)).unwrap_err();
        assert!(err.message().contains("s is a string"), "{}", err.message());
        assert!(s.unset(&path("a.b")));
        assert!(!s.unset(&path("a.b")));
        assert!(!s.unset(&path("s.x")));
    }

    #[test]
    fn checks_only_what_changed() {
        let broken =
            state(json!({"custom_providers": {"bad": {"base_url": "ftp://x"}}, "max_tokens": -5}));
        let mut after = broken.clone();
        after.put_provider(&Provider::new("good", "http://x"));
        after.check_changes(&broken).unwrap();
        let mut worse = broken.clone();
        worse
            .set(&path("custom_providers.good.base_url"), json!("nope"))
            .unwrap();
        let err = worse.check_changes(&broken).unwrap_err();
        assert!(
            err.message()
                .starts_with("refused: custom_providers.good.base_url:"),
            "{}",
            err.message()
        );
        for (k, v) in [
            ("max_tokens", json!(0)),
            ("temperature", json!(3)),
            ("streaming", json!("yes")),
            ("default_provider", json!("")),
            ("api_keys", json!([])),
            ("custom_providers", json!("x")),
        ] {
            let mut s = State::default();
            s.set(&path(k), v).unwrap();
            assert!(s.check_changes(&State::default()).is_err(), "{k}");
        }
        let mut s = State::default();
        s.set(&path("api_keys.p"), json!("a\nb")).unwrap();
        let err = s.check_changes(&State::default()).unwrap_err();
        assert!(!err.message().contains("a\nb"));
    }

    #[test]
    fn misshapen_known_keys_are_found() {
        let s = state(json!({
            "custom_providers": {"p": 5, "ok": {"base_url": "http://x"}, "n": null},
            "api_keys": [],
            "aix_manifest": {"providers": "x"},
            "other": [1]
        }));
        let got: Vec<String> = s.misshapen().into_iter().map(|m| m.message).collect();
        assert_eq!(
            got,
            [
                "custom_providers.p must be an object (a provider), not a number",
                "api_keys must be an object of strings, not an array",
                "aix_manifest.providers must be an object, not a string",
            ]
        );
        assert!(
            state(json!({"custom_providers": null}))
                .misshapen()
                .is_empty()
        );
    }

    #[test]
    fn new_unknown_provider_fields_are_refused() {
        let before =
            state(json!({"custom_providers": {"v": {"base_url": "http://v", "vendor": 1}}}));
        let mut after = before.clone();
        after
            .set(&path("custom_providers.v.defualt_model"), json!("m"))
            .unwrap();
        let err = after.check_changes(&before).unwrap_err();
        assert!(
            err.message()
                .contains("unknown provider field `defualt_model`")
        );
        assert!(err.hints()[0].starts_with("did you mean default_model?"));
        // A field another tool added earlier does not block other changes.
        let mut after = before.clone();
        after
            .set(&path("custom_providers.v.default_model"), json!("m"))
            .unwrap();
        after.check_changes(&before).unwrap();
    }

    #[test]
    fn normalisable_base_urls_are_used_normalised() {
        let s = state(json!({"custom_providers": {
            "slash": {"base_url": "HTTP://h/v1/"},
            "bad": {"base_url": "ftp://h"}
        }}));
        assert_eq!(
            s.provider("slash").unwrap().unwrap().base_url,
            "http://h/v1"
        );
        let broken = s.broken_providers();
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].name, "bad");
        assert_eq!(broken[0].base_url.as_deref(), Some("ftp://h"));
        assert!(broken[0].error.message().contains("ftp://"));
        assert_eq!(near_miss("api_key"), Some("api_keys"));
        assert_eq!(near_miss("api_keys"), None);
        assert_eq!(near_miss("zeta_tool"), None);
    }

    #[test]
    fn ownership_is_read_from_the_state() {
        let s = state(json!({"aix_manifest": {"providers": {"m": {}}}}));
        assert_eq!(s.owner("m"), Owner::Manifest);
        assert_eq!(s.owner("c"), Owner::Cli);
    }
}
