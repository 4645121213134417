//! Storing and deleting API keys in config.json, for `aix api-key` and the
//! REPL's `/key`, with the one rule for which `api_keys` slot a key goes to.

use crate::config::state::{self, Origin, State};
use crate::config::store::Store;
use crate::error::{Error, Result};
use crate::secret::Secret;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;

    fn store_with(keys: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store
            .update(|s| {
                s.put_provider(&Provider::new("local", "http://127.0.0.1:9/v1"));
                for (slot, key) in keys {
                    s.set_api_key(slot, &Secret::new(*key));
                }
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    #[test]
    fn a_key_goes_to_the_slot_already_holding_one() {
        // A custom provider's key the earlier AIX stored as custom:NAME
        // stays there; otherwise keys go to NAME.
        let (_d, store) = store_with(&[("custom:local", "sk-old-1")]);
        let slot = store_key(&store, KeyFor::Spec("local"), &Secret::new("sk-new-1")).unwrap();
        assert_eq!(slot, "custom:local");
        let (_d, store) = store_with(&[]);
        let slot = store_key(
            &store,
            KeyFor::Spec("custom:local"),
            &Secret::new("sk-new-1"),
        );
        assert_eq!(slot.unwrap(), "local");
        // A built-in's key goes to its name, whatever custom:NAME holds.
        let (_d, store) = store_with(&[("custom:openai", "sk-old-2")]);
        let whose = KeyFor::Provider {
            name: "openai",
            origin: Origin::BuiltIn,
        };
        assert_eq!(
            store_key(&store, whose, &Secret::new("sk-new-2")).unwrap(),
            "openai"
        );
    }

    #[test]
    fn keys_are_checked_and_deleted() {
        let (_d, store) = store_with(&[]);
        assert!(store_key(&store, KeyFor::Spec("local"), &Secret::new("Bearer sk-x-1")).is_err());
        assert!(
            store
                .load()
                .unwrap()
                .stored_key("local", Origin::Custom)
                .is_none()
        );
        assert!(!delete_key(&store, "local").unwrap());
        store_key(&store, KeyFor::Spec("local"), &Secret::new("sk-x-1")).unwrap();
        assert!(delete_key(&store, "local").unwrap());
        assert!(delete_key(&store, "nothere").is_err());
    }
}
