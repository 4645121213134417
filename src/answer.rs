//! Where an answer goes: stdout (or a file put in place when the answer
//! ends), with reasoning dimmed on a terminal. Shared by `aix run` and the
//! REPL, so both print answers the same way.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::chunk::{self, Usage};
use crate::client::{Client, ClientError, Prepared, Sink};
use crate::error::Error;
use crate::output;

/// What a delivered answer reported.
#[derive(Debug, Default, Clone)]
pub struct Delivered {
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
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
/// terminal until the first byte.
pub fn deliver(client: &Client, p: &Prepared, out: &mut Output) -> Result<Delivered, Failure> {
    out.spinner = Some(output::Spinner::start_with(
        format!("waiting for {}", p.provider),
        out.cancel.clone(),
    ));
    if p.stream {
        let result = client.chat_stream(p, out);
        let finished = out.finish(result.is_ok());
        let summary = result.map_err(Failure::Client)?;
        finished.map_err(Failure::Other)?;
        warn_if_unanswered(&summary, out);
        return Ok(Delivered {
            usage: summary.usage,
            finish_reason: summary.finish_reason,
        });
    }
    let response = client.chat(p);
    out.stop_spinner();
    let response = response.map_err(Failure::Client)?;
    let Some(done) = chunk::completion(&response) else {
        return Err(Failure::Other(
            Error::new(format!(
                "invalid response from {}: no choices[0].message in the answer",
                p.base_url
            ))
            .hint("see the whole response with --json"),
        ));
    };
    let summary =
        crate::client::feed_completion(&done, out).map_err(|e| Failure::Other(write_error(e)))?;
    out.finish(true).map_err(Failure::Other)?;
    warn_if_unanswered(&summary, out);
    Ok(Delivered {
        usage: done.usage,
        finish_reason: done.finish_reason,
    })
}

/// The same warning for a stream and a whole answer that brought no
/// text, refusal or tool call.
fn warn_if_unanswered(summary: &crate::client::StreamSummary, out: &Output) {
    if !summary.answered && !out.raw_json {
        output::warn("the answer has no text content (see --json)");
    }
}

pub fn write_error(e: io::Error) -> Error {
    Error::new(format!("cannot write the answer: {e}"))
}

/// Where an answer goes: stdout, or a file replaced when the answer ends.
pub struct Output {
    writer: Box<dyn Write + Send>,
    file: Option<(tempfile::NamedTempFile, PathBuf)>,
    /// Show reasoning, and how.
    reasoning: ReasoningMode,
    in_reasoning: bool,
    wrote_content: bool,
    last_byte: Option<u8>,
    pub raw_json: bool,
    pub spinner: Option<output::Spinner>,
    /// The content written so far (the REPL keeps it in the conversation).
    pub text: String,
    /// Set from another thread to stop writing: the answer was cancelled.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// The tool call whose arguments are being written.
    open_call: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReasoningMode {
    Hide,
    Plain,
    Dim,
}

const DIM_ON: &str = "\x1b[2m";
const DIM_OFF: &str = "\x1b[0m";

impl Output {
    pub fn new(path: Option<&Path>, show_reasoning: bool) -> Result<Output, Error> {
        let to_tty = path.is_none() && io::stdout().is_terminal();
        let reasoning = if to_tty && output::stdout_colour() {
            ReasoningMode::Dim
        } else if show_reasoning || to_tty {
            ReasoningMode::Plain
        } else {
            ReasoningMode::Hide
        };
        let (writer, file): (Box<dyn Write + Send>, _) = match path {
            None => (
                Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout())),
                None,
            ),
            Some(path) => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let tmp = tempfile::Builder::new()
                    .prefix(".aix-answer.")
                    .tempfile_in(dir)
                    .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
                let handle = tmp
                    .reopen()
                    .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
                (
                    Box::new(io::BufWriter::new(handle)),
                    Some((tmp, path.to_path_buf())),
                )
            }
        };
        Ok(Output {
            writer,
            file,
            reasoning,
            in_reasoning: false,
            wrote_content: false,
            last_byte: None,
            raw_json: false,
            spinner: None,
            text: String::new(),
            cancel: None,
            open_call: None,
        })
    }

    fn check_cancelled(&self) -> io::Result<()> {
        match &self.cancel {
            Some(c) if c.load(std::sync::atomic::Ordering::Relaxed) => Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the answer was cancelled",
            )),
            _ => Ok(()),
        }
    }

    pub fn stop_spinner(&mut self) {
        if let Some(mut s) = self.spinner.take() {
            s.stop();
        }
    }

    fn end_reasoning(&mut self) -> io::Result<()> {
        if self.in_reasoning {
            self.in_reasoning = false;
            if self.reasoning == ReasoningMode::Dim {
                self.writer.write_all(DIM_OFF.as_bytes())?;
            }
            self.writer.write_all(b"\n\n")?;
        }
        Ok(())
    }

    /// Ends the answer: a final newline on stdout, the file put in place.
    /// With `ok == false` what came is still kept.
    pub fn finish(&mut self, ok: bool) -> Result<(), Error> {
        self.stop_spinner();
        if self.check_cancelled().is_err() {
            return Ok(());
        }
        let result = (|| {
            self.end_reasoning()?;
            if self.file.is_none() && self.wrote_content && self.last_byte != Some(b'\n') {
                self.writer.write_all(b"\n")?;
            }
            self.writer.flush()
        })();
        if let Err(e) = result {
            if e.kind() == io::ErrorKind::BrokenPipe {
                std::process::exit(if ok { 0 } else { 1 });
            }
            return Err(write_error(e));
        }
        if let Some((tmp, path)) = self.file.take() {
            tmp.persist(&path)
                .map_err(|e| Error::new(format!("cannot write {}: {}", path.display(), e.error)))?;
            if ok {
                output::status(format!("Wrote the answer to {}", path.display()));
            }
        }
        Ok(())
    }
}

impl Sink for Output {
    fn started(&mut self) {
        self.stop_spinner();
    }

    fn content(&mut self, text: &str) -> io::Result<()> {
        self.check_cancelled()?;
        self.text.push_str(text);
        if self.raw_json {
            return Ok(());
        }
        self.end_reasoning()?;
        self.writer.write_all(text.as_bytes())?;
        self.wrote_content = true;
        self.last_byte = text.as_bytes().last().copied().or(self.last_byte);
        Ok(())
    }

    fn reasoning(&mut self, text: &str) -> io::Result<()> {
        self.check_cancelled()?;
        if self.raw_json || self.reasoning == ReasoningMode::Hide || self.wrote_content {
            return Ok(());
        }
        if !self.in_reasoning {
            self.in_reasoning = true;
            if self.reasoning == ReasoningMode::Dim {
                self.writer.write_all(DIM_ON.as_bytes())?;
            }
        }
        self.writer.write_all(text.as_bytes())
    }

    fn raw(&mut self, data: &[u8]) -> io::Result<()> {
        if self.raw_json {
            self.writer.write_all(data)?;
            self.writer.write_all(b"\n")?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    // A tool call shows as one line, `tool call NAME: ARGUMENTS`, written
    // as model text (through `content`) as its pieces arrive.
    fn tool_call(&mut self, index: u64, _id: Option<&str>, name: Option<&str>) -> io::Result<()> {
        if self.raw_json {
            return Ok(());
        }
        self.open_call = Some(index);
        let lead = if self.wrote_content && self.last_byte != Some(b'\n') {
            "\n"
        } else {
            ""
        };
        let name = name.map_or_else(|| format!("#{index}"), String::from);
        self.content(&format!("{lead}tool call {name}: "))
    }

    fn tool_arguments(&mut self, index: u64, fragment: &str) -> io::Result<()> {
        if self.raw_json {
            return Ok(());
        }
        if self.open_call != Some(index) {
            self.tool_call(index, None, None)?;
        }
        self.content(fragment)
    }
}
