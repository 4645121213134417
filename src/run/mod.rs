//! Running prompts: saved prompts and their templates ([`prompt`]), the
//! parameters a run binds into them ([`params`]), choosing the provider,
//! model and options of a run ([`chat`]) and delivering the answer as
//! events to an output ([`answer`]). `aix run` and the REPL share all four.

pub mod aliases;
pub mod answer;
pub mod chat;
pub mod params;
pub mod prompt;
