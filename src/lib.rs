//! aix: OpenAI-compatible API providers as code.
//!
//! The binary is a thin shell over this library. Modules are grouped by
//! layer, and calls go one way, from the edge down:
//!
//! - the edge: [`cli`] (one module per subcommand: parse arguments, call
//!   an operation, render its view), [`repl`] (slash commands over the
//!   same operations) and [`output`] (the only place that prints: one
//!   path from a view to text or JSON, answers in [`output::answer`],
//!   colour only where it belongs; a closed stdout is an
//!   [`error::Kind::BrokenPipe`] error, which the binary turns into a
//!   quiet exit 0);
//! - `ops`: the operations (add, update and remove a provider, store a
//!   key, check a provider, list its models, bind a prompt's parameters),
//!   done once for the CLI and the REPL, returning values, never printing;
//! - the model: [`provider`] (every provider field declared once in
//!   [`provider::fields`], the flags made from it in [`provider::args`],
//!   the built-ins), [`plan`] (the manifest and plans as data), [`schema`]
//!   (the JSON Schemas and [`schema::validate`]), [`run`] (prompts, their
//!   parameters, choosing provider and model, delivering answers);
//! - the ground: [`config`] (config.json: the store, its one write path,
//!   typed views, settings), [`secret`] (the `Secret` type, `${env:...}`
//!   references, masking), [`http`] (requests to OpenAI-compatible
//!   servers: `request` building, `transport` with retries, `errors`,
//!   the `relay` of answers, beside it [`http::sse`], a pure event-stream
//!   parser, and [`http::chunk`], decoding answers);
//! - cross-cutting: [`error`] (one message, hints and an exit kind),
//!   [`notes`] (what the core has to tell the user, as values), [`limits`]
//!   (every bound on outside input) and [`suggest`] ("did you mean").

pub mod cli;
pub(crate) mod config;
pub mod error;
#[cfg(any(test, feature = "internals"))]
#[doc(hidden)]
pub mod fuzz;
#[cfg(feature = "internals")]
pub mod http;
#[cfg(not(feature = "internals"))]
pub(crate) mod http;
pub(crate) mod limits;
pub(crate) mod notes;
pub(crate) mod ops;
pub mod output;
pub(crate) mod plan;
pub(crate) mod provider;
pub(crate) mod repl;
pub(crate) mod run;
pub(crate) mod schema;
pub(crate) mod secret;
pub(crate) mod suggest;
pub(crate) mod targets;

pub use error::{Error, Result};
