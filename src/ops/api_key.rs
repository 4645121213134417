//! Storing and deleting API keys in config.json, for `aix api-key` and the
//! REPL's `/key`, with the one rule for which `api_keys` slot a key goes to.

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::state::{self, Origin, State};
use crate::store::Store;

/// Whose key: a provider as the user wrote it (resolved under the lock), or
/// one already resolved (the REPL's current provider).
#[derive(Debug, Clone, Copy)]
pub enum KeyFor<'a> {
    Spec(&'a str),
    Provider { name: &'a str, origin: Origin },
}

impl KeyFor<'_> {
    fn resolve(self, s: &State) -> Result<(String, Origin)> {
        match self {
            KeyFor::Spec(spec) => {
                let r = s.resolve(spec)?;
                Ok((r.provider.name, r.origin))
            }
            KeyFor::Provider { name, origin } => Ok((name.to_string(), origin)),
        }
    }
}

/// The `api_keys` slot a new key for provider `name` goes to: `NAME`,
/// except that a custom provider's key the earlier AIX stored as
/// `custom:NAME` stays in that slot, so both tools keep seeing the same key.
pub fn key_slot(s: &State, name: &str, origin: Origin) -> String {
    match (origin, s.stored_key(name, origin)) {
        (Origin::Custom, Some((_, slot))) => slot,
        _ => name.to_string(),
    }
}

/// Checks `key` and stores it in its slot; returns the slot.
pub fn store_key(store: &Store, whose: KeyFor<'_>, key: &Secret) -> Result<String> {
    state::check_key_text(key.expose()).map_err(Error::new)?;
    store.update(|s| {
        let (name, origin) = whose.resolve(s)?;
        let slot = key_slot(s, &name, origin);
        s.set_api_key(&slot, key);
        Ok(slot)
    })
}

/// Deletes the stored key of the provider `spec` names; false when it had
/// none in config.json.
pub fn delete_key(store: &Store, spec: &str) -> Result<bool> {
    store.update(|s| {
        let r = s.resolve(spec)?;
        Ok(s.remove_api_key(&r.provider.name, r.origin))
    })
}
