//! config.json, aix's live state: where it lives and the one locked,
//! atomic write path ([`store`]), the document with typed views of its
//! providers, keys and ownership records ([`state`]), dotted key paths for
//! `aix config` ([`keypath`]) and the top-level settings ([`settings`]).

pub mod keypath;
pub mod settings;
pub mod state;
pub mod store;
