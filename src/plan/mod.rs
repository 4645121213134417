//! Providers as code: `providers.toml` read into providers with the place
//! each came from ([`manifest`]), and plans as data: the difference
//! between the manifest and config.json, given what the manifest owns
//! ([`reconcile`]). `aix plan` renders a plan; `aix apply` applies it.

pub mod manifest;
pub mod reconcile;
