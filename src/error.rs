//! The error users see: one message, optional hints, and an exit code.
//!
//! Modules keep their own typed errors (`store::StoreError`,
//! `provider::Invalid`); converting to [`Error`] is where each gets its
//! hint, so the words for a situation live next to the situation and are
//! rendered once, at the edge, by the CLI.

use std::fmt;

/// How the process should exit for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Something failed: exit 1.
    Failure,
    /// Bad flags or arguments: exit 64 (EX_USAGE).
    Usage,
    /// The reader of stdout went away (`aix provider list | head -1`):
    /// nothing more can be shown, and that is no failure; exit 0 quietly.
    BrokenPipe,
}

#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    hints: Vec<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure (exit 1).
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Failure,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// A usage error (exit 64).
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Usage,
            ..Error::new(message)
        }
    }

    /// Stdout was closed by its reader: ends the command quietly (exit 0).
    pub fn broken_pipe() -> Self {
        Error {
            kind: Kind::BrokenPipe,
            ..Error::new("stdout was closed")
        }
    }

    /// Adds a hint line shown under the message.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Failure => 1,
            Kind::Usage => 64,
            Kind::BrokenPipe => 0,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
