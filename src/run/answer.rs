//! Delivering an answer: send a prepared request and feed what comes back,
//! streaming or whole, into an [`Output`]. Shared by `aix run` and the
//! REPL, so both deliver answers the same way.
//!
//! Nothing here prints: the answer goes to the [`Output`] it is given (the
//! output edge, in [`crate::output::answer`]), and what there is to say
//! about it comes back as [`Note`]s in [`Delivered`].

use std::io;

use crate::error::Error;
use crate::http::chunk::Usage;
use crate::http::wire;
use crate::http::{Client, ClientError, Prepared, StreamSummary};
use crate::notes::Note;

pub use crate::output::answer::Output;

/// What a delivered answer reported.
#[derive(Debug, Default, Clone)]
pub struct Delivered {
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
    /// What to tell the user about the answer (it had no text, ...).
    pub notes: Vec<Note>,
}

/// Why an answer was not delivered: the client's error (to be put in words
/// with the provider and model), or one already in words.
#[derive(Debug)]
pub enum Failure {
    Client(ClientError),
    Other(Error),
}

/// Sends `p` and writes the answer to `out`, streaming or whole: the one
/// path `aix run --execute` and the REPL share. A spinner shows on a
/// terminal until the first byte. The secrets `p` carries are masked in
/// everything the server sends back (unless the client shows secrets).
/// A reader that went away (`aix run ... | head -1`) ends the answer
/// quietly: that is a success for the output.
pub fn deliver(client: &Client, p: &Prepared, out: &mut Output) -> Result<Delivered, Failure> {
    out.set_masker(client.masker(p));
    out.wait_for(&p.provider);
    if p.stream {
        let result = client.chat_stream(p, out);
        let finished = out.finish(result.is_ok());
        let summary = match result {
            Err(ClientError::Output(_)) if out.closed => StreamSummary::default(),
            other => other.map_err(Failure::Client)?,
        };
        finished.map_err(Failure::Other)?;
        return Ok(Delivered {
            notes: unanswered(&summary, out),
            usage: summary.usage,
            finish_reason: summary.finish_reason,
        });
    }
    let response = client.chat(p);
    out.stop_spinner();
    let response = response.map_err(Failure::Client)?;
    if let Some(message) = wire::failed(p.wire, &response) {
        return Err(Failure::Other(
            Error::new(format!(
                "the server answered that the request failed: {message}"
            ))
            .hint("see the whole response with --json"),
        ));
    }
    let Some(done) = wire::completion(p.wire, &response) else {
        return Err(Failure::Other(
            Error::new(format!(
                "invalid response from {}: no {} in the answer",
                p.base_url,
                wire::expected(p.wire)
            ))
            .hint("see the whole response with --json"),
        ));
    };
    let summary = match crate::http::feed_completion(&done, out) {
        Ok(summary) => crate::http::StreamSummary {
            incomplete: wire::incomplete(p.wire, &response),
            ..summary
        },
        // The reader of stdout went away: a quiet end, as a stream's.
        Err(_) if out.closed => crate::http::StreamSummary {
            answered: true,
            ..Default::default()
        },
        Err(e) => return Err(Failure::Other(write_error(e))),
    };
    out.finish(true).map_err(Failure::Other)?;
    Ok(Delivered {
        notes: unanswered(&summary, out),
        usage: done.usage,
        finish_reason: done.finish_reason,
    })
}

/// The same warning for a stream and a whole answer that brought no
/// text, refusal or tool call.
/// Also the warning of an answer the server says is incomplete.
fn unanswered(summary: &crate::http::StreamSummary, out: &Output) -> Vec<Note> {
    let mut notes = Vec::new();
    if !summary.answered && !out.raw_json && !out.closed {
        notes.push(Note::warn("the answer has no text content (see --json)"));
    }
    if let Some(why) = &summary.incomplete {
        notes.push(Note::warn(why.clone()));
    }
    notes
}

pub fn write_error(e: io::Error) -> Error {
    Error::new(format!("cannot write the answer: {e}"))
}

/// Most of an answer the REPL keeps for the conversation.
pub const KEEP_CAP: usize = 1024 * 1024;
