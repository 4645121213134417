//! aix: OpenAI-compatible API providers as code.
//!
//! The binary is a thin shell over this library so that the CLI, the
//! reconciler and the REPL share one path for every concern:
//!
//! - [`provider`]: the one provider model, its validation and the built-ins;
//! - [`state`]: config.json as a document with typed views;
//! - [`store`]: where config.json lives and the one write path;
//! - [`secret`] and [`envref`]: what is secret, and `${env:VAR}` references;
//! - [`prompt`]: saved prompts and `{name}` templates; [`params`]: their
//!   `key=value` parameters as typed;
//! - [`client`]: requests to OpenAI-compatible servers, retries, errors;
//! - [`sse`]: a pure event-stream parser; [`chunk`]: decoding answers;
//! - [`manifest`]: providers.toml into providers; [`reconcile`]: plans as data;
//! - [`schema`]: the JSON Schemas; [`validate`]: checking files against them;
//! - [`chat`] and [`answer`]: choosing provider and model, delivering answers
//!   (shared by `aix run` and [`repl`]);
//! - `ops`: the operations (add, update and remove a provider, store a key,
//!   check a provider, list its models, bind a prompt's parameters), done
//!   once for the CLI and the REPL, returning values and never printing;
//! - [`notes`]: what the core has to tell the user, as values or through a
//!   sink, so that nothing below the edge prints;
//! - [`cli`]: one module per subcommand, parsing arguments, calling an
//!   operation and rendering its result;
//! - [`output`]: the edge where everything is printed: one path from a
//!   command's view to text or JSON, answers ([`output::answer`]), and
//!   colour only where it belongs. Only `cli`, `repl` and `output` print;
//!   a closed stdout is an [`error::Kind::BrokenPipe`] error, which the
//!   binary turns into a quiet exit 0.

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
pub mod settings;
pub mod sse;
pub mod state;
pub mod store;
pub mod suggest;
pub mod validate;

pub use error::{Error, Result};
