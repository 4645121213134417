//! The output edge for answers: where an answer's text goes (stdout, or a
//! file put in place when the answer ends), with secrets masked, control
//! characters made visible on a terminal and reasoning dimmed there, and
//! the spinner shown while waiting. [`crate::run::answer::deliver`] feeds it.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::config::store::OutputFile;
use crate::error::Error;
use crate::http::Sink;
use crate::output;
use crate::output::TermSafe;
use crate::run::answer::write_error;
use crate::secret::{Masker, StreamMasker};

/// Where an answer goes: stdout, or a file put in place when the answer
/// ends (see [`OutputFile`]). Nothing of the answer stays in memory unless
/// [`Output::keep_text`] asks for it.
pub struct Output {
    writer: Box<dyn Write + Send>,
    file: Option<(OutputFile, PathBuf)>,
    /// Show reasoning, and how.
    reasoning: ReasoningMode,
    in_reasoning: bool,
    wrote_content: bool,
    /// The server's answer has begun arriving.
    began: bool,
    last_byte: Option<u8>,
    pub raw_json: bool,
    pub spinner: Option<output::Spinner>,
    /// Set from another thread to stop writing: the answer was cancelled.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// The reader of stdout went away: nothing more is written.
    pub closed: bool,
    /// Masks the request's secrets in what is shown.
    masker: Masker,
    content_mask: StreamMasker,
    reasoning_mask: StreamMasker,
    /// Tool-call argument pieces in `--json` streams, and the index of the
    /// call the held-back tail belongs to.
    tool_mask: StreamMasker,
    tool_mask_call: u64,
    /// Control characters made visible (on a terminal only).
    term: Option<(TermSafe, TermSafe)>,
    kept: Option<Kept>,
    /// The tool call whose arguments are being written.
    open_call: Option<u64>,
}

/// The answer's text as shown, up to a cap (for the REPL).
#[derive(Debug, Default)]
pub struct Kept {
    pub text: String,
    cap: usize,
    /// Some of the answer did not fit under the cap.
    pub cut: bool,
}

impl Kept {
    fn push(&mut self, t: &str) {
        if self.cut {
            return;
        }
        let room = self.cap - self.text.len();
        if t.len() <= room {
            self.text.push_str(t);
            return;
        }
        let mut n = room;
        while !t.is_char_boundary(n) {
            n -= 1;
        }
        self.text.push_str(&t[..n]);
        self.cut = true;
    }
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
        let (writer, file): (Box<dyn Write + Send>, _) = match path {
            None => (
                Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout())),
                None,
            ),
            Some(path) => {
                let cannot =
                    |e: io::Error| Error::new(format!("cannot write {}: {e}", path.display()));
                let dest = OutputFile::open(path).map_err(cannot)?;
                let handle = dest.writer().map_err(cannot)?;
                (
                    Box::new(io::BufWriter::with_capacity(64 * 1024, handle)),
                    Some((dest, path.to_path_buf())),
                )
            }
        };
        // A file that is itself a terminal (`-o /dev/tty`) is treated as
        // stdout on a terminal: control characters are shown, not acted on.
        let to_tty = match &file {
            None => io::stdout().is_terminal(),
            Some((dest, _)) => dest.is_terminal(),
        };
        let reasoning = if to_tty && file.is_none() && output::stdout_colour() {
            ReasoningMode::Dim
        } else if show_reasoning || to_tty {
            ReasoningMode::Plain
        } else {
            ReasoningMode::Hide
        };
        Ok(Output {
            writer,
            file,
            reasoning,
            in_reasoning: false,
            wrote_content: false,
            began: false,
            last_byte: None,
            raw_json: false,
            spinner: None,
            cancel: None,
            closed: false,
            masker: Masker::none(),
            content_mask: StreamMasker::default(),
            reasoning_mask: StreamMasker::default(),
            tool_mask: StreamMasker::default(),
            tool_mask_call: 0,
            term: to_tty.then(|| (TermSafe::default(), TermSafe::default())),
            kept: None,
            open_call: None,
        })
    }

    /// Secrets to mask in everything shown from now on.
    pub fn set_masker(&mut self, masker: Masker) {
        self.content_mask = StreamMasker::new(masker.clone());
        self.reasoning_mask = StreamMasker::new(masker.clone());
        self.tool_mask = StreamMasker::new(masker.clone());
        self.masker = masker;
    }

    /// Keep the answer's text (as shown, up to `cap` bytes) for
    /// [`Output::take_kept`].
    pub fn keep_text(&mut self, cap: usize) {
        self.kept = Some(Kept {
            text: String::new(),
            cap,
            cut: false,
        });
    }

    /// The text kept since [`Output::keep_text`].
    pub fn take_kept(&mut self) -> Kept {
        self.kept.take().unwrap_or_default()
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

    /// Notes a reader that went away, so the caller can end quietly.
    fn note_closed(&mut self, r: io::Result<()>) -> io::Result<()> {
        if let Err(e) = &r
            && e.kind() == io::ErrorKind::BrokenPipe
            && self.file.is_none()
        {
            self.closed = true;
        }
        r
    }

    /// Shows a spinner (on a terminal) until the first byte of `provider`'s
    /// answer, or until the answer is cancelled.
    pub fn wait_for(&mut self, provider: &str) {
        self.spinner = Some(output::Spinner::start_with(
            format!("waiting for {provider}"),
            self.cancel.clone(),
        ));
    }

    pub fn stop_spinner(&mut self) {
        if let Some(mut s) = self.spinner.take() {
            s.stop();
        }
    }

    fn write_reasoning(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if !self.in_reasoning {
            self.in_reasoning = true;
            if self.reasoning == ReasoningMode::Dim {
                self.writer.write_all(DIM_ON.as_bytes())?;
            }
        }
        match &mut self.term {
            Some((_, t)) => {
                let clean = t.clean(text);
                self.writer.write_all(clean.as_bytes())
            }
            None => self.writer.write_all(text.as_bytes()),
        }
    }

    fn end_reasoning(&mut self) -> io::Result<()> {
        if self.in_reasoning {
            let tail = self.reasoning_mask.finish();
            self.write_reasoning(&tail)?;
            if let Some((_, t)) = &mut self.term {
                let end = t.finish();
                self.writer.write_all(end.as_bytes())?;
            }
            self.in_reasoning = false;
            if self.reasoning == ReasoningMode::Dim {
                self.writer.write_all(DIM_OFF.as_bytes())?;
            }
            self.writer.write_all(b"\n\n")?;
        }
        Ok(())
    }

    fn write_content(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if let Some(k) = &mut self.kept {
            k.push(text);
        }
        if self.raw_json {
            return Ok(());
        }
        self.end_reasoning()?;
        match &mut self.term {
            Some((t, _)) => {
                let clean = t.clean(text);
                self.writer.write_all(clean.as_bytes())?;
                self.last_byte = clean.as_bytes().last().copied().or(self.last_byte);
            }
            None => {
                self.writer.write_all(text.as_bytes())?;
                self.last_byte = text.as_bytes().last().copied().or(self.last_byte);
            }
        }
        self.wrote_content = true;
        Ok(())
    }

    /// One `--json` stream event with the secrets masked. The text deltas
    /// go through the stream maskers, so a secret split across two events
    /// is masked too; the rest of the event is masked as it stands.
    fn mask_event(&mut self, data: &[u8]) -> String {
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(data) else {
            return self
                .masker
                .mask(&String::from_utf8_lossy(data))
                .into_owned();
        };
        if let Some(choices) = v.get_mut("choices").and_then(|c| c.as_array_mut()) {
            for choice in choices {
                let Some(delta) = choice.get_mut("delta").and_then(|d| d.as_object_mut()) else {
                    continue;
                };
                // A refusal is the answer's text: masked as content is.
                for (field, reasoning) in [
                    ("content", false),
                    ("refusal", false),
                    ("reasoning_content", true),
                    ("reasoning", true),
                ] {
                    if let Some(serde_json::Value::String(text)) = delta.get_mut(field) {
                        let mask = if reasoning {
                            &mut self.reasoning_mask
                        } else {
                            &mut self.content_mask
                        };
                        *text = mask.push(text).into_owned();
                    }
                }
                let calls = delta.get_mut("tool_calls").and_then(|c| c.as_array_mut());
                for call in calls.into_iter().flatten() {
                    let index = call.get("index").and_then(|i| i.as_u64()).unwrap_or(0);
                    if let Some(serde_json::Value::String(args)) = call
                        .get_mut("function")
                        .and_then(|f| f.get_mut("arguments"))
                    {
                        self.tool_mask_call = index;
                        *args = self.tool_mask.push(args).into_owned();
                    }
                }
            }
        }
        self.masker.mask_json(&v).to_string()
    }

    /// In `--json` mode, text the masker held back at the end that turned
    /// out not to be a secret, as one more chunk line.
    fn raw_tail(&mut self, tail: String) -> io::Result<()> {
        let reasoning = self.reasoning_mask.finish();
        let args = self.tool_mask.finish();
        if tail.is_empty() && reasoning.is_empty() && args.is_empty() {
            return Ok(());
        }
        let mut delta = serde_json::Map::new();
        if !tail.is_empty() {
            delta.insert("content".into(), tail.into());
        }
        if !reasoning.is_empty() {
            delta.insert("reasoning_content".into(), reasoning.into());
        }
        if !args.is_empty() {
            delta.insert(
                "tool_calls".into(),
                serde_json::json!([{"index": self.tool_mask_call, "function": {"arguments": args}}]),
            );
        }
        let line = serde_json::json!({"choices": [{"index": 0, "delta": delta}]}).to_string();
        let line = match &mut self.term {
            Some((t, _)) => t.clean(&line).into_owned(),
            None => line,
        };
        self.writer.write_all(line.as_bytes())?;
        self.writer.write_all(b"\n")
    }

    /// Ends the answer: what masking held back, a final newline on stdout,
    /// the file put in place. With `ok == false` what came is still kept.
    pub fn finish(&mut self, ok: bool) -> Result<(), Error> {
        self.stop_spinner();
        if self.check_cancelled().is_err() || self.closed {
            return Ok(());
        }
        let result = (|| {
            let tail = self.content_mask.finish();
            if self.raw_json {
                self.raw_tail(tail)?;
            } else {
                self.write_content(&tail)?;
            }
            if !self.raw_json
                && let Some((t, _)) = &mut self.term
            {
                let end = t.finish();
                self.writer.write_all(end.as_bytes())?;
            }
            self.end_reasoning()?;
            if self.file.is_none() && self.wrote_content && self.last_byte != Some(b'\n') {
                self.writer.write_all(b"\n")?;
            }
            self.writer.flush()
        })();
        if let Err(e) = self.note_closed(result) {
            if self.closed {
                return Ok(());
            }
            return Err(write_error(e));
        }
        if let Some((dest, path)) = self.file.take() {
            dest.commit()
                .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
            if ok {
                output::status(format!("Wrote the answer to {}", path.display()));
            }
        }
        Ok(())
    }
}

impl Output {
    /// Whether the server's answer began to arrive (after which a run
    /// never switches to a fallback).
    pub fn began(&self) -> bool {
        self.began
    }
}

impl Sink for Output {
    fn started(&mut self) {
        self.began = true;
        self.stop_spinner();
    }

    fn content(&mut self, text: &str) -> io::Result<()> {
        self.check_cancelled()?;
        if self.raw_json {
            // Shown (and masked) by `raw`.
            return Ok(());
        }
        let r = match self.content_mask.push(text) {
            std::borrow::Cow::Borrowed(t) => self.write_content(t),
            std::borrow::Cow::Owned(t) => self.write_content(&t),
        };
        self.note_closed(r)
    }

    fn reasoning(&mut self, text: &str) -> io::Result<()> {
        self.check_cancelled()?;
        if self.raw_json || self.reasoning == ReasoningMode::Hide || self.wrote_content {
            return Ok(());
        }
        let r = match self.reasoning_mask.push(text) {
            std::borrow::Cow::Borrowed(t) => self.write_reasoning(t),
            std::borrow::Cow::Owned(t) => self.write_reasoning(&t),
        };
        self.note_closed(r)
    }

    fn wants_raw(&self) -> bool {
        self.raw_json
    }

    fn raw(&mut self, data: &[u8]) -> io::Result<()> {
        if !self.raw_json {
            return Ok(());
        }
        let r = if self.masker.is_empty() && self.term.is_none() {
            self.writer.write_all(data)
        } else {
            let text = if self.masker.is_empty() {
                String::from_utf8_lossy(data).into_owned()
            } else {
                self.mask_event(data)
            };
            match &mut self.term {
                Some((t, _)) => {
                    let clean = t.clean(&text);
                    self.writer.write_all(clean.as_bytes())
                }
                None => self.writer.write_all(text.as_bytes()),
            }
        };
        let r = r.and_then(|()| self.writer.write_all(b"\n"));
        self.note_closed(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.writer.flush();
        self.note_closed(r)
    }

    // A tool call shows as one line, `tool call NAME: ARGUMENTS`, written
    // as model text (through `content`, so masked and terminal-safe) as
    // its pieces arrive.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_text_is_capped_at_a_character_boundary() {
        let mut k = Kept {
            text: String::new(),
            cap: 10,
            cut: false,
        };
        k.push("12345678");
        k.push("éé");
        k.push("more");
        assert_eq!(k.text, "12345678é");
        assert!(k.cut);
    }

    #[test]
    fn output_keeps_nothing_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("answer.txt");
        let mut out = Output::new(Some(&path), false).unwrap();
        out.content(&"x".repeat(4096)).unwrap();
        assert!(out.kept.is_none());
        out.keep_text(1000);
        out.set_masker(Masker::new(["sk-secret-1"]));
        out.content("a sk-sec").unwrap();
        out.content("ret-1 b").unwrap();
        out.finish(true).unwrap();
        let kept = out.take_kept();
        assert_eq!(kept.text, "a (sensitive) b");
        assert!(!kept.cut);
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.ends_with("xa (sensitive) b"), "{written}");
    }

    #[test]
    fn json_stream_lines_mask_split_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("answer.jsonl");
        let mut out = Output::new(Some(&path), false).unwrap();
        out.raw_json = true;
        out.set_masker(Masker::new(["sk-secret-1"]));
        for piece in ["a sk-sec", "ret-1 b", "end sk-"] {
            let data = serde_json::json!({"choices": [{"index": 0, "delta": {"content": piece}}]});
            out.raw(data.to_string().as_bytes()).unwrap();
            out.content(piece).unwrap();
        }
        out.finish(true).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(!written.contains("sk-sec"), "{written}");
        let text: String = written
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(text, "a (sensitive) bend sk-");
    }
}
