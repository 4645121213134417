//! aix: OpenAI-compatible API providers as code.
//!
//! The binary is a thin shell over this library so that the CLI, the
//! reconciler and the REPL share one path for every concern:
//!
//! - [`provider`]: the one provider model, its validation and the built-ins;
//! - [`state`]: config.json as a document with typed views;
//! - [`store`]: where config.json lives and the one write path;
//! - [`secret`] and [`envref`]: what is secret, and `${env:VAR}` references;
//! - [`prompt`]: saved prompts and `{name}` templates;
//! - [`client`]: requests to OpenAI-compatible servers, retries, errors;
//! - [`sse`]: a pure event-stream parser; [`chunk`]: decoding answers;
//! - [`manifest`]: providers.toml into providers; [`reconcile`]: plans as data;
//! - [`schema`]: the JSON Schemas; [`validate`]: checking files against them;
//! - [`chat`] and [`answer`]: choosing provider and model, delivering answers
//!   (shared by `aix run` and [`repl`]);
//! - [`cli`]: one module per subcommand, parsing arguments and calling the above;
//! - [`output`]: everything printed, with colour only where it belongs.

pub mod answer;
pub mod chat;
pub mod chunk;
pub mod cli;
pub mod client;
pub mod envref;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod keypath;
pub mod limits;
pub mod manifest;
pub mod notes;
pub(crate) mod ops;
pub mod output;
pub mod params;
pub mod prompt;
pub mod provider;
pub mod reconcile;
pub mod repl;
pub mod schema;
pub mod secret;
pub mod sse;
pub mod state;
pub mod store;
pub mod suggest;
pub mod validate;

pub use error::{Error, Result};
