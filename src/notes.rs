//! Notes, warnings and confirmations the core has for the user, as values.
//!
//! The core (the store, the client, the operations in `ops`) never
//! prints: what it has to say while it works (a permission it tightened, a
//! request it retries) goes to a [`Notes`] sink it was given, and what it
//! has to say about a result comes back as [`Note`]s with the result. Only
//! the edge (the CLI and the REPL) renders them, through
//! [`crate::output::notes`] and [`crate::output::show`].

use std::fmt;
use std::sync::Arc;

/// How a note is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A confirmation of what was done (`✓ ...`).
    Status,
    /// Something worth knowing that is not a problem (`note: ...`).
    Note,
    /// Something that may be a problem but did not stop the work.
    Warn,
}

/// One thing to tell the user, on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub level: Level,
    pub text: String,
}

impl Note {
    pub fn status(text: impl Into<String>) -> Self {
        Note {
            level: Level::Status,
            text: text.into(),
        }
    }

    /// A `note:` line.
    pub fn info(text: impl Into<String>) -> Self {
        Note {
            level: Level::Note,
            text: text.into(),
        }
    }

    pub fn warn(text: impl Into<String>) -> Self {
        Note {
            level: Level::Warn,
            text: text.into(),
        }
    }
}

/// Where notes go while work is under way; cheap to clone and shareable
/// between threads (`provider check` asks providers in parallel). The
/// default drops every note.
#[derive(Clone, Default)]
pub struct Notes(Option<Arc<dyn Fn(Note) + Send + Sync>>);

impl Notes {
    /// A sink that hands each note to `f`.
    pub fn new(f: impl Fn(Note) + Send + Sync + 'static) -> Self {
        Notes(Some(Arc::new(f)))
    }

    /// Sends `note` to the sink.
    pub fn send(&self, note: Note) {
        if let Some(f) = &self.0 {
            f(note);
        }
    }

    pub fn note(&self, text: impl Into<String>) {
        self.send(Note::info(text));
    }
}

impl fmt::Debug for Notes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Notes(sink)"
        } else {
            "Notes(none)"
        })
    }
}
