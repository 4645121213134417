//! Operations: what aix does, once, for every front end.
//!
//! Like cargo's `ops`, each function here is one thing a user asks for
//! (add a provider, store a key, check a provider, list its models, bind a
//! prompt's parameters), written so the CLI subcommands in [`crate::cli`]
//! and the REPL's slash commands in [`crate::repl`] are thin callers: they
//! parse arguments, call one operation and render what it returns.
//!
//! Operations never print and never exit. They return values (view
//! structs, and [`Note`](crate::notes::Note)s for what to tell the user),
//! and report progress through the [`Notes`](crate::notes::Notes) sink of
//! the store or client they are given.

pub mod api_key;
pub mod params;
pub mod provider;
