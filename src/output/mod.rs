//! Everything aix prints goes through here.
//!
//! Data goes to stdout; notes, warnings, confirmations and errors go to
//! stderr so pipes stay clean. Colour comes from anstream, which drops it
//! when the stream is not a terminal or `NO_COLOR` is set (or `--color
//! never`). A closed stdout (`aix provider list | head -1`) is an error of
//! its own kind, which the binary turns into a quiet exit 0; nothing here
//! ends the process.

pub mod answer;

use std::io::{self, IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::notes::{Level, Note, Notes};

const BOLD: Style = Style::new().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();
const GOOD: Style = AnsiColor::Green.on_default().bold();

/// `text` cut to `max` characters, with how much was left out: huge or
/// hostile input is quoted in messages without flooding the terminal.
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!(
            "{}…({} more characters)",
            &text[..cut],
            text[cut..].chars().count()
        )),
    }
}

/// `text` with every word longer than `max` characters clipped.
pub fn clip_words(text: &str, max: usize) -> String {
    text.split(' ')
        .map(|w| clip(w, max))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` made safe for a terminal when `tty` (see [`TermSafe`]); as it
/// is otherwise, so pipes and files keep every byte.
pub fn safe_if(tty: bool, text: &str) -> std::borrow::Cow<'_, str> {
    if !tty {
        return std::borrow::Cow::Borrowed(text);
    }
    TermSafe::default().finish_after(text)
}

/// `text` with every control character but newline and tab shown as a
/// visible symbol, wherever it goes: for text that is then styled by aix
/// and printed as [`Piece::Styled`].
pub fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    TermSafe::default().finish_after(text)
}

/// Writes `text` to stdout. On a terminal, control characters in it are
/// shown instead of acting: what aix prints may come from a server or a
/// file. A closed pipe is [`Error::broken_pipe`] (the command ends quietly,
/// exit 0); any other failure is an error.
pub fn print(text: &str) -> Result<()> {
    print_raw(&safe_if(io::stdout().is_terminal(), text))
}

/// [`print`] without the terminal cleaning, for text aix styled itself.
fn print_raw(text: &str) -> Result<()> {
    let mut out = anstream::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| stdout_error(&e))
}

/// The error for a failed write to stdout.
fn stdout_error(e: &io::Error) -> Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Error::broken_pipe()
    } else {
        Error::new(format!("cannot write to stdout: {e}"))
    }
}

/// Writes one line to stdout.
pub fn line(text: &str) -> Result<()> {
    print(&format!("{text}\n"))
}

/// Prints a JSON value, pretty, to stdout.
pub fn json(value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("a Value always serializes");
    line(&text)
}

/// How a command shows its result: one variant per format, so a new
/// format is one variant here and one arm in [`emit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// For people: text, tables and notes.
    Text,
    /// For scripts: one pretty JSON document on stdout.
    Json,
}

impl Format {
    /// The format a command's `--json` flag asks for.
    pub(crate) fn json_if(json: bool) -> Format {
        if json { Format::Json } else { Format::Text }
    }
}

/// A piece of a result shown as text.
#[derive(Debug)]
pub(crate) enum Piece {
    /// Text for stdout, as it is (cleaned on a terminal).
    Text(String),
    /// Text aix styled itself (a plan), whose other content was cleaned
    /// with [`clean`] when it was made: its styles reach a colour terminal
    /// and are dropped elsewhere.
    Styled(String),
    /// Aligned columns under a bold header (see [`table`]).
    Table {
        headers: &'static [&'static str],
        rows: Vec<Vec<String>>,
    },
    /// A note, warning or confirmation on stderr.
    Note(Note),
}

/// A command's result: its JSON document is its `Serialize` form, and
/// [`View::text`] says how it reads as text.
pub(crate) trait View: serde::Serialize {
    fn text(&self) -> Vec<Piece>;
}

/// Shows `view` in `format`: the one path every command's output takes.
pub(crate) fn emit(format: Format, view: &impl View) -> Result<()> {
    match format {
        Format::Json => {
            let text = serde_json::to_string_pretty(view)
                .map_err(|e| Error::new(format!("cannot encode the result as JSON: {e}")))?;
            line(&text)
        }
        Format::Text => view.text().into_iter().try_for_each(|piece| match piece {
            Piece::Text(t) => print(&t),
            Piece::Styled(t) => print_raw(&t),
            Piece::Table { headers, rows } => table(headers, &rows),
            Piece::Note(n) => {
                show(&n);
                Ok(())
            }
        }),
    }
}

/// A JSON document that is data already (a server's response), shown as
/// pretty JSON in either format.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Raw<'a>(pub &'a Value);

impl View for Raw<'_> {
    fn text(&self) -> Vec<Piece> {
        let text = serde_json::to_string_pretty(self.0).expect("a Value always serializes");
        vec![Piece::Text(format!("{text}\n"))]
    }
}

/// `text` made safe for stderr when that is a terminal.
fn safe_err(text: &str) -> std::borrow::Cow<'_, str> {
    safe_if(io::stderr().is_terminal(), text)
}

fn eprintln_styled(style: Style, label: &str, text: &str) {
    let text = safe_err(text);
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{style}{label}{style:#} {text}");
}

/// Writes `text` to stderr as it is (for reports printed before an error).
pub fn eprint(text: &str) {
    let _ = anstream::stderr()
        .lock()
        .write_all(safe_err(text).as_bytes());
}

/// A confirmation of what a command did, on stderr.
pub fn status(text: impl AsRef<str>) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{GOOD}✓{GOOD:#} {}", safe_err(text.as_ref()));
}

/// Something the user should know that is not a problem.
pub fn note(text: impl AsRef<str>) {
    eprintln_styled(HINT, "note:", text.as_ref());
}

/// Something that may be a problem but did not stop the command.
pub fn warn(text: impl AsRef<str>) {
    eprintln_styled(WARN, "warning:", text.as_ref());
}

/// Shows one note from the core at its level.
pub fn show(note: &Note) {
    match note.level {
        Level::Status => status(&note.text),
        Level::Note => self::note(&note.text),
        Level::Warn => warn(&note.text),
    }
}

/// Shows each of `notes` in turn.
pub(crate) fn show_all(notes: &[Note]) {
    notes.iter().for_each(show);
}

/// A [`Notes`] sink that shows each note on stderr as it comes: what the
/// CLI and the REPL give the core.
pub fn notes() -> Notes {
    Notes::new(|n| show(&n))
}

/// Renders an error and its hints on stderr.
pub fn error(err: &Error) {
    eprintln_styled(ERROR, "error:", err.message());
    for hint in err.hints() {
        eprintln_styled(HINT, "hint:", hint);
    }
}

/// Prints rows as aligned columns under a bold header. The last column is
/// not padded, so lines carry no trailing spaces. On a terminal, control
/// characters in cells (model ids from a server, names from a file) are
/// shown instead of acting.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let tty = io::stdout().is_terminal();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| safe_if(tty, c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let render = |cells: &mut dyn Iterator<Item = String>| -> String {
        let mut out = String::new();
        let cells: Vec<String> = cells.collect();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count() + 2;
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out
    };
    let mut text = String::new();
    let header = render(&mut headers.iter().map(|h| h.to_string()));
    text.push_str(&format!("{BOLD}{header}{BOLD:#}\n"));
    for row in &rows {
        text.push_str(render(&mut row.iter().cloned()).trim_end());
        text.push('\n');
    }
    print_raw(&text)
}

/// Makes model text safe for a terminal: every control character other
/// than `\n` and `\t` is shown as a visible symbol instead of acting (ESC
/// as `␛`, so no escape sequence, OSC 52 clipboard write or cursor move
/// can take effect; C1 controls as `�`). `\r\n` becomes `\n`; a lone `\r`
/// is shown as `␍`. Each character is judged on its own, so an escape
/// sequence split across pieces is caught too; only a `\r` at the end of
/// a piece waits for the next one.
#[derive(Debug, Default)]
pub struct TermSafe {
    pending_cr: bool,
}

impl TermSafe {
    pub fn clean<'a>(&mut self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if !self.pending_cr && !needs_cleaning(text.as_bytes()) {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if std::mem::take(&mut self.pending_cr) && c != '\n' {
                out.push('\u{240D}');
            }
            match c {
                '\n' | '\t' => out.push(c),
                '\r' => self.pending_cr = true,
                '\u{0}'..='\u{1f}' => {
                    out.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}'));
                }
                '\u{7f}' => out.push('\u{2421}'),
                '\u{80}'..='\u{9f}' => out.push('\u{FFFD}'),
                c => out.push(c),
            }
        }
        std::borrow::Cow::Owned(out)
    }

    /// `text` cleaned as a whole, with a final lone `\r` shown too.
    pub fn finish_after<'a>(&mut self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let clean = self.clean(text);
        match self.finish() {
            "" => clean,
            end => std::borrow::Cow::Owned(format!("{clean}{end}")),
        }
    }

    /// What is still held (a final lone `\r`).
    pub fn finish(&mut self) -> &'static str {
        if std::mem::take(&mut self.pending_cr) {
            "\u{240D}"
        } else {
            ""
        }
    }
}

/// Whether `b` holds a C0 control other than `\n`/`\t`, DEL, or a C1
/// control (UTF-8 `C2 80`..`C2 9F`).
fn needs_cleaning(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| {
        (c < 0x20 && c != b'\n' && c != b'\t')
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

/// Whether colour may be written to stdout (a terminal, no `NO_COLOR`,
/// not `--color never`).
pub fn stdout_colour() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
}

/// A spinner on stderr while waiting for the first byte; on a terminal
/// only, so logs and pipes never see it. Stops (and erases itself) when
/// dropped or stopped.
pub struct Spinner {
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    pub fn start(message: impl Into<String>) -> Spinner {
        Spinner::start_with(message, None)
    }

    /// A spinner that also stops (and erases itself) once `also_stop` is
    /// set, from any thread: the REPL's Ctrl-C.
    pub fn start_with(
        message: impl Into<String>,
        also_stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    ) -> Spinner {
        use std::io::IsTerminal;
        use std::sync::atomic::{AtomicBool, Ordering};
        if !io::stderr().is_terminal() {
            return Spinner {
                stop: None,
                thread: None,
            };
        }
        let message = message.into();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut i = 0;
            // Wait a moment first: a fast answer needs no spinner at all.
            std::thread::park_timeout(std::time::Duration::from_millis(150));
            let stopped = || {
                flag.load(Ordering::Relaxed)
                    || also_stop
                        .as_ref()
                        .is_some_and(|s| s.load(Ordering::Relaxed))
            };
            while !stopped() {
                let mut err = io::stderr().lock();
                let _ = write!(err, "\r{} {message}", FRAMES[i % FRAMES.len()]);
                let _ = err.flush();
                drop(err);
                i += 1;
                std::thread::park_timeout(std::time::Duration::from_millis(80));
            }
            if i > 0 {
                let _ = write!(io::stderr().lock(), "\r\x1b[2K");
            }
        });
        Spinner {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the spinner and waits until its line is erased.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean_all(pieces: &[&str]) -> String {
        let mut t = TermSafe::default();
        let mut out = String::new();
        for p in pieces {
            out.push_str(&t.clean(p));
        }
        out.push_str(t.finish());
        out
    }

    #[test]
    fn terminal_text_shows_controls_instead_of_acting() {
        assert!(matches!(
            TermSafe::default().clean("plain\ttext\nné"),
            std::borrow::Cow::Borrowed(_)
        ));
        // OSC 52 clipboard write, a cursor move, a C1 CSI, DEL, a bell.
        let evil = "a\x1b]52;c;aGk=\x07b\x1b[2J\x1b[1;1Hc\u{9b}31md\x7fe\x08";
        let shown = clean_all(&[evil]);
        assert_eq!(shown, "a␛]52;c;aGk=␇b␛[2J␛[1;1Hc\u{FFFD}31md␡e␈");
        assert!(!shown.chars().any(|c| c.is_control()));
        // Split anywhere, the result is the same.
        for i in 0..=evil.len() {
            if evil.is_char_boundary(i) {
                assert_eq!(clean_all(&[&evil[..i], &evil[i..]]), shown, "cut at {i}");
            }
        }
        assert_eq!(clean_all(&["one\r", "\ntwo\r", "x"]), "one\ntwo␍x");
        assert_eq!(clean_all(&["end\r"]), "end␍");
    }
}
