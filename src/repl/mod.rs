//! `aix repl`: an interactive conversation for trying providers, models and
//! prompts before they go into a manifest.
//!
//! Every turn goes through the same core as `aix run`: [`Choices::resolve`]
//! picks provider and model, [`Target::prepare`] builds the request and
//! [`answer::deliver`] sends it and prints the answer. The REPL adds the
//! conversation (each turn appends to `messages`), slash commands, line
//! editing and history (rustyline), and Ctrl-C that cancels only the answer
//! being written.
//!
//! With a terminal on stdin it is interactive; otherwise each line of stdin
//! is a turn or a command, so the REPL can be scripted and tested.

mod helper;

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use serde_json::json;

use crate::config::store::Store;
use crate::error::{Error, Kind as ErrorKind};
use crate::http::{Client, EnvRefs, Message};
use crate::ops::{self, api_key::KeyFor, params::Bound};
use crate::output;
use crate::run::answer::{self, Failure, Output};
use crate::run::chat::{Choices, Target};
use crate::run::params;
use crate::run::prompt::Prompts;
use crate::secret::Secret;
use crate::suggest;

pub use helper::COMMANDS;

/// Set by the Ctrl-C handler while an answer is being written.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How the REPL starts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub provider: Option<String>,
    pub model: Option<String>,
    /// A saved prompt whose system message starts the conversation.
    pub prompt: Option<String>,
    /// Show secrets a server echoes back instead of `(sensitive)`.
    pub show_secrets: bool,
}

struct Session {
    store: Store,
    choices: Choices,
    system: Option<String>,
    /// The conversation so far: user and assistant turns.
    messages: Vec<Message>,
    interactive: bool,
    failures: usize,
    show_secrets: bool,
}

/// Runs the REPL until `/exit`, Ctrl-D or the end of stdin.
pub fn run(store: Store, opts: Options) -> Result<(), Error> {
    let mut s = Session {
        store,
        choices: Choices {
            provider: opts.provider,
            model: opts.model,
            stream: Some(true),
            ..Choices::default()
        },
        system: None,
        messages: Vec::new(),
        interactive: io::stdin().is_terminal(),
        failures: 0,
        show_secrets: opts.show_secrets,
    };
    if let Some(name) = &opts.prompt {
        let p = Prompts::new(s.store.home()).load(name)?;
        s.system = p.system.clone();
        s.choices.prompt_model = p.model.clone();
    }
    // A bad provider is worth knowing before the first question; a missing
    // model is not fatal: the REPL starts and asks for /model.
    let state = s.store.load()?;
    if let Err(e) = s.choices.resolve(&state) {
        let with_model = Choices {
            model: Some("-".into()),
            ..s.choices.clone()
        };
        with_model.resolve(&state)?;
        output::warn(format!(
            "{}; choose one with /model NAME (/models lists what the server offers)",
            e.message()
        ));
    }
    // Ctrl-C while an answer streams sets a flag instead of killing aix;
    // at the prompt, rustyline reads it as a key.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    if s.interactive {
        interactive(&mut s)
    } else {
        scripted(&mut s)
    }
}

fn interactive(s: &mut Session) -> Result<(), Error> {
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .max_history_size(10_000)
        .map_err(|e| Error::new(format!("cannot set up line editing: {e}")))?
        .build();
    let mut editor: rustyline::Editor<helper::Helper, FileHistory> =
        rustyline::Editor::with_config(config)
            .map_err(|e| Error::new(format!("cannot set up line editing: {e}")))?;
    editor.set_helper(Some(helper::Helper::new(
        s.store.clone(),
        output::stdout_colour(),
    )));
    let history = s.store.home().join("history");
    if history.exists() {
        let _ = editor.load_history(&history);
    }
    output::note("type a message, or /help for commands; Ctrl-D exits");
    loop {
        let prompt = prompt_text(s);
        if let Some(h) = editor.helper_mut() {
            h.set_provider(s.choices.provider.clone());
        }
        let line = match read_entry(&mut editor, &prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Io(e)) if e.get_ref().is_some_and(|r| r.to_string() == TOO_LONG) => {
                s.failures += 1;
                output::error(&entry_too_long());
                continue;
            }
            Err(ReadlineError::Eof) => {
                println!();
                return Ok(());
            }
            Err(e) => return Err(Error::new(format!("cannot read input: {e}"))),
        };
        if keep_in_history(&line) {
            let _ = editor.add_history_entry(line.as_str());
            save_history(&mut editor, &history, s.store.notes());
        }
        if !handle(s, &line)? {
            return Ok(());
        }
    }
}

/// Reads one entry: a line, continued after a trailing `\`, or a block
/// between `"""` lines.
fn read_entry(
    editor: &mut rustyline::Editor<helper::Helper, FileHistory>,
    prompt: &str,
) -> Result<String, ReadlineError> {
    let first = editor.readline(prompt)?;
    let mut more = || editor.readline("... ");
    join_entry(first, &mut more, || {
        ReadlineError::Io(io::Error::new(io::ErrorKind::InvalidData, TOO_LONG))
    })
}

fn join_entry<E>(
    first: String,
    more: &mut dyn FnMut() -> Result<String, E>,
    too_long: impl Fn() -> E,
) -> Result<String, E> {
    let check = |text: String| -> Result<String, E> {
        if text.len() > MAX_ENTRY {
            Err(too_long())
        } else {
            Ok(text)
        }
    };
    let first = check(first)?;
    if first.trim_start().starts_with("\"\"\"") {
        let mut text = first.trim_start()[3..].to_string();
        if let Some(done) = text.strip_suffix("\"\"\"") {
            return Ok(done.to_string());
        }
        loop {
            let line = more()?;
            if let Some(end) = line.trim_end().strip_suffix("\"\"\"") {
                if !end.is_empty() {
                    text.push('\n');
                    text.push_str(end);
                }
                return check(text.trim_start_matches('\n').to_string());
            }
            text.push('\n');
            text.push_str(&line);
            text = check(text)?;
        }
    }
    let mut text = first;
    while let Some(cut) = text.strip_suffix('\\') {
        text = check(format!("{cut}\n{}", more()?))?;
    }
    Ok(text)
}

/// The longest entry (a line, or lines joined by `\\` or `"""`) the REPL
/// takes: the limit on text that goes into a request.
const MAX_ENTRY: usize = crate::limits::TEXT_INPUT as usize;

/// Marks an interactive entry over [`MAX_ENTRY`].
const TOO_LONG: &str = "aix: the entry is too long";

fn entry_too_long() -> Error {
    Error::usage(format!(
        "the message is longer than the {} limit; nothing was sent",
        crate::limits::human(crate::limits::TEXT_INPUT)
    ))
    .hint("aix refuses inputs that size; see \"Limits\" in README")
}

/// Why a line of scripted input could not be read.
enum LineError {
    Io(io::Error),
    TooLong,
    Nul,
    NotUtf8,
}

impl LineError {
    fn at(self, line: usize) -> Error {
        match self {
            LineError::Io(e) => Error::new(format!("cannot read input line {line}: {e}")),
            LineError::TooLong => Error::usage(format!(
                "input line {line} is longer than the {} limit; nothing more is read",
                crate::limits::human(crate::limits::TEXT_INPUT)
            ))
            .hint("aix refuses inputs that size; see \"Limits\" in README"),
            LineError::Nul => Error::usage(format!(
                "input line {line} holds a NUL byte: the REPL reads text; nothing more is read"
            )),
            LineError::NotUtf8 => Error::usage(format!(
                "input line {line} is not UTF-8 text; nothing more is read"
            )),
        }
    }
}

/// Reads one line (without its `\n` or `\r\n`) of at most `max` bytes;
/// `None` at the end of input. Memory stays bounded whatever comes: a
/// longer line is refused once `max` bytes were seen, and a NUL byte (as
/// from `/dev/zero`) at once.
fn read_line_capped(input: &mut dyn BufRead, max: usize) -> Result<Option<String>, LineError> {
    let mut line: Vec<u8> = Vec::new();
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Io(e)),
        };
        if buf.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            break;
        }
        let (piece, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        if piece.contains(&0) {
            return Err(LineError::Nul);
        }
        if line.len() + piece.len() > max {
            return Err(LineError::TooLong);
        }
        line.extend_from_slice(piece);
        let used = piece.len() + usize::from(found);
        input.consume(used);
        if found {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| LineError::NotUtf8)
}

/// History never keeps lines the user hid (a leading space) or keys.
fn keep_in_history(line: &str) -> bool {
    !line.trim().is_empty()
        && !line.starts_with(' ')
        && !line
            .trim_start()
            .get(..4)
            .is_some_and(|c| c.eq_ignore_ascii_case("/key"))
}

fn save_history(
    editor: &mut rustyline::Editor<helper::Helper, FileHistory>,
    path: &Path,
    notes: &crate::notes::Notes,
) {
    if crate::config::store::ensure_dir(path.parent().unwrap_or(Path::new(".")), notes).is_err() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path);
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    let _ = editor.append_history(path);
}

fn scripted(s: &mut Session) -> Result<(), Error> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut number = 0usize;
    let mut next = |n: &mut usize| -> Result<Option<String>, Error> {
        *n += 1;
        read_line_capped(&mut input, MAX_ENTRY).map_err(|e| e.at(*n))
    };
    while let Some(first) = next(&mut number)? {
        let mut more = || -> Result<String, Error> {
            match next(&mut number)? {
                Some(l) => Ok(l),
                None => Err(Error::new(
                    "input ended inside a \"\"\" block or after a trailing \\",
                )),
            }
        };
        let line = join_entry(first, &mut more, entry_too_long)?;
        if !handle(s, &line)? {
            break;
        }
    }
    if s.failures > 0 {
        return Err(Error::new(format!(
            "{} turn{} or command{} failed",
            s.failures,
            if s.failures == 1 { "" } else { "s" },
            if s.failures == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

fn prompt_text(s: &Session) -> String {
    let state = s.store.load().ok();
    let (p, m) = match state.as_ref().map(|st| s.choices.resolve(st)) {
        Some(Ok(t)) => (t.resolved.provider.name, t.model),
        _ => (
            s.choices.provider.clone().unwrap_or_else(|| "?".into()),
            s.choices.model.clone().unwrap_or_else(|| "?".into()),
        ),
    };
    format!("{p}/{m}> ")
}

/// Handles one entry; false to stop. A closed stdout stops the REPL with
/// its error (a quiet exit); other errors are shown and counted.
fn handle(s: &mut Session, line: &str) -> Result<bool, Error> {
    let text = line.trim();
    if text.is_empty() {
        return Ok(true);
    }
    let result = if let Some(cmd) = text.strip_prefix('/') {
        match command(s, cmd) {
            Ok(Flow::Exit) => return Ok(false),
            Ok(Flow::Go) => Ok(()),
            Err(e) => Err(e),
        }
    } else {
        turn(s, line.to_string())
    };
    match result {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Err(e),
        Err(e) => {
            s.failures += 1;
            output::error(&e);
            Ok(true)
        }
        Ok(()) => Ok(true),
    }
}

enum Flow {
    Go,
    Exit,
}

fn command(s: &mut Session, cmd: &str) -> Result<Flow, Error> {
    let (name, rest) = match cmd.split_once(char::is_whitespace) {
        Some((n, r)) => (n, r.trim()),
        None => (cmd, ""),
    };
    match name {
        "exit" | "quit" => return Ok(Flow::Exit),
        "help" => {
            let mut t = String::from("Type a message to send it. Commands:\n");
            for (c, args, what) in COMMANDS {
                t.push_str(&format!("  /{c:<10} {args:<16} {what}\n"));
            }
            t.push_str(
                "A line ending in \\ continues on the next; \"\"\" starts and ends a block.\n",
            );
            output::print(&t)?;
        }
        "provider" => {
            if rest.is_empty() {
                return Err(Error::usage(
                    "usage: /provider NAME (custom:NAME, or a built-in)",
                ));
            }
            let state = s.store.load()?;
            state.resolve(rest)?;
            s.choices.provider = Some(rest.to_string());
            s.choices.model = None;
            show_target(s);
        }
        "model" => {
            if rest.is_empty() {
                return Err(Error::usage("usage: /model NAME")
                    .hint("/models lists what the provider offers"));
            }
            // An alias (not a key of the current provider's models table)
            // brings its own provider.
            let state = s.store.load()?;
            let own_key = s
                .choices
                .provider
                .as_deref()
                .and_then(|p| state.resolve(p).ok())
                .is_some_and(|r| r.provider.model(rest).is_some());
            if state.aliases().contains_key(rest) && !own_key {
                s.choices.provider = None;
            }
            s.choices.model = Some(rest.to_string());
            show_target(s);
        }
        "models" => {
            // Listing needs a provider, not a model.
            let target = Choices {
                model: Some("-".into()),
                ..s.choices.clone()
            }
            .resolve(&s.store.load()?)?;
            let models = helper::fetch_models(&target)?;
            output::print(&models.iter().map(|m| format!("{m}\n")).collect::<String>())?;
        }
        "system" => {
            s.system = (!rest.is_empty()).then(|| rest.to_string());
            output::status(if rest.is_empty() {
                "System message cleared"
            } else {
                "System message set"
            });
        }
        "prompt" => return prompt_turn(s, rest).map(|()| Flow::Go),
        "params" => {
            let target = current(s);
            let mut t = String::new();
            match &target {
                Ok(t2) => {
                    t.push_str(&format!("provider:    {}\n", t2.resolved.provider.name));
                    t.push_str(&format!("model:       {}\n", t2.model));
                    t.push_str(&format!(
                        "url:         {}/chat/completions{}\n",
                        t2.resolved.provider.base_url,
                        crate::http::query_string(&t2.resolved.provider.query_params)
                    ));
                    t.push_str(&format!("stream:      {}\n", t2.stream));
                    t.push_str(&format!(
                        "temperature: {}\n",
                        t2.temperature
                            .map_or("(server default)".into(), |x| x.to_string())
                    ));
                    t.push_str(&format!(
                        "max_tokens:  {}\n",
                        t2.max_tokens
                            .map_or("(server default)".into(), |x| x.to_string())
                    ));
                }
                Err(e) => t.push_str(&format!("provider:    (not usable: {})\n", e.message())),
            }
            t.push_str(&format!(
                "system:      {}\n",
                s.system.as_deref().unwrap_or("(none)")
            ));
            t.push_str(&format!("turns:       {}\n", s.messages.len() / 2));
            output::print(&t)?;
        }
        "stream" => match rest {
            "on" => {
                s.choices.stream = Some(true);
                output::status("Streaming on: answers appear as they are written");
            }
            "off" => {
                s.choices.stream = Some(false);
                output::status("Streaming off: answers appear when complete");
            }
            "" => output::status(format!(
                "Streaming is {} (/stream on|off changes it)",
                if s.choices.stream.unwrap_or(true) {
                    "on"
                } else {
                    "off"
                }
            )),
            _ => return Err(Error::usage("usage: /stream on|off")),
        },
        "reset" => {
            s.messages.clear();
            output::status("Conversation cleared");
        }
        "history" => {
            let mut t = String::new();
            if let Some(sys) = &s.system {
                t.push_str(&format!("[system]\n{sys}\n\n"));
            }
            for m in &s.messages {
                t.push_str(&format!("[{}]\n{}\n\n", m.role, m.content));
            }
            if t.is_empty() {
                output::note("the conversation is empty");
            }
            output::print(&t)?;
        }
        "save" => {
            if rest.is_empty() {
                return Err(Error::usage(
                    "usage: /save FILE (.json for JSON, anything else Markdown)",
                ));
            }
            save(s, Path::new(rest))?;
        }
        "retry" => {
            let Some(pos) = s.messages.iter().rposition(|m| m.role == "user") else {
                return Err(Error::new("nothing to retry yet"));
            };
            let last = s.messages[pos].content.clone();
            s.messages.truncate(pos);
            return turn(s, last).map(|()| Flow::Go);
        }
        "key" => set_key(s, rest)?,
        other => {
            let names: Vec<&str> = COMMANDS.iter().map(|(c, _, _)| *c).collect();
            let mut e = Error::usage(format!("unknown command /{other}"));
            e = match suggest::closest(other, &names) {
                Some(near) => e.hint(format!("did you mean /{near}?")),
                None => e.hint("/help lists the commands"),
            };
            return Err(e);
        }
    }
    Ok(Flow::Go)
}

fn current(s: &Session) -> Result<Target, Error> {
    s.choices.resolve(&s.store.load()?)
}

fn show_target(s: &Session) {
    match current(s) {
        Ok(t) => output::status(format!(
            "Using {} with model {}",
            t.resolved.provider.name, t.model
        )),
        Err(e) => output::warn(format!("{} (set one with /model NAME)", e.message())),
    }
}

fn prompt_turn(s: &mut Session, rest: &str) -> Result<(), Error> {
    let words = params::split_words(rest)?;
    let Some((name, args)) = words.split_first() else {
        return Err(Error::usage("usage: /prompt NAME [key=value...]"));
    };
    let name = name.as_str();
    let mut bound = Bound::load(s.store.home(), name)?;
    let mut pairs = Vec::with_capacity(args.len());
    for kv in args {
        pairs.push(params::parse_param(kv).map_err(|e| {
            Error::usage(format!("/prompt {name}: {}", e.replace("--param ", "")))
                .hint("write key=value, quoting values with spaces: k=\"two words\"")
        })?);
    }
    bound.bind(&pairs, "")?;
    let Bound {
        prompt,
        template,
        values,
    } = bound;
    let text = template.render(&values).map_err(|missing| {
        Error::usage(format!(
            "missing parameters for prompt '{name}': {}",
            missing.join(", ")
        ))
        .hint(format!(
            "/prompt {name} {}",
            params::each(&missing, |m| format!("{m}=..."), " ")
        ))
    })?;
    if s.system.is_none() && prompt.system.is_some() {
        s.system = prompt.system.clone();
        output::note(format!("using the system message of prompt '{name}'"));
    }
    turn(s, text)
}

fn set_key(s: &mut Session, rest: &str) -> Result<(), Error> {
    let target = current(s)?;
    let name = target.resolved.provider.name.clone();
    let key = if rest.is_empty() {
        if !io::stdin().is_terminal() {
            return Err(Error::usage("usage: /key KEY"));
        }
        rpassword::prompt_password(format!("API key for {name}: "))
            .map_err(|e| Error::new(format!("cannot read the key: {e}")))?
    } else {
        rest.to_string()
    };
    let key = Secret::new(key.trim());
    let whose = KeyFor::Provider {
        name: &name,
        origin: target.resolved.origin,
    };
    ops::api_key::store_key(&s.store, whose, &key)?;
    output::status(format!(
        "Saved the API key of '{name}' (not kept in the REPL history)"
    ));
    Ok(())
}

fn save(s: &Session, path: &Path) -> Result<(), Error> {
    let target = current(s).ok();
    let (provider, model) = target
        .as_ref()
        .map(|t| (t.resolved.provider.name.clone(), t.model.clone()))
        .unwrap_or_default();
    let text = if path.extension().is_some_and(|e| e == "json") {
        let messages: Vec<_> = s
            .system
            .iter()
            .map(|sys| json!({"role": "system", "content": sys}))
            .chain(
                s.messages
                    .iter()
                    .map(|m| json!({"role": m.role, "content": m.content})),
            )
            .collect();
        let mut t = serde_json::to_string_pretty(
            &json!({"provider": provider, "model": model, "messages": messages}),
        )
        .expect("a Value always serializes");
        t.push('\n');
        t
    } else {
        let mut t = format!("# Conversation with {provider} ({model})\n");
        if let Some(sys) = &s.system {
            t.push_str(&format!("\n## System\n\n{sys}\n"));
        }
        for m in &s.messages {
            let who = if m.role == "user" { "You" } else { "Assistant" };
            t.push_str(&format!("\n## {who}\n\n{}\n", m.content));
        }
        t
    };
    let path: PathBuf = path.to_path_buf();
    crate::config::store::write_output(&path, text.as_bytes())
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    output::status(format!("Saved the conversation to {}", path.display()));
    Ok(())
}

/// One turn: send the conversation plus `text`, print the answer, and keep
/// both in the conversation if the answer arrived whole.
fn turn(s: &mut Session, text: String) -> Result<(), Error> {
    let target = current(s)?;
    let mut messages = Vec::with_capacity(s.messages.len() + 2);
    if let Some(sys) = &s.system {
        messages.push(Message::new("system", sys.clone()));
    }
    messages.extend(s.messages.iter().cloned());
    messages.push(Message::new("user", text.clone()));
    let req = target.request(messages);
    let prepared = target.prepare(&req, EnvRefs::Resolve)?;
    let name = target.resolved.provider.name.clone();
    let model = target.model.clone();

    let cancel = Arc::new(AtomicBool::new(false));
    let mut out = Output::new(None, false)?;
    out.cancel = Some(cancel.clone());
    out.keep_text(answer::KEEP_CAP);
    INTERRUPTED.store(false, Ordering::SeqCst);
    let (tx, rx) = std::sync::mpsc::channel();
    let show = s.show_secrets;
    std::thread::spawn(move || {
        let result = answer::deliver(
            &Client::new(false).show_secrets(show).notes(output::notes()),
            &prepared,
            &mut out,
        );
        let _ = tx.send((result, out.take_kept()));
    });
    // Wait for the answer, watching for Ctrl-C. A cancelled answer's thread
    // is left to finish on its own; it writes nothing more.
    let (result, answer_text) = loop {
        match rx.recv_timeout(Duration::from_millis(30)) {
            Ok(done) => break done,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if INTERRUPTED.swap(false, Ordering::SeqCst) {
                    cancel.store(true, Ordering::SeqCst);
                    // The waiting spinner sees the flag on its next tick
                    // (every 80 ms) and erases its line; let it, so it does
                    // not erase the prompt drawn next.
                    std::thread::sleep(Duration::from_millis(200));
                    let _ = writeln!(io::stdout());
                    output::note("answer cancelled; it is not kept in the conversation");
                    return Ok(());
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::new("the answer thread stopped unexpectedly"));
            }
        }
    };
    match result {
        Ok(done) => {
            output::show_all(&done.notes);
            s.messages.push(Message::new("user", text));
            if answer_text.cut {
                output::note(format!(
                    "the answer is longer than {} MiB; the conversation keeps only its start",
                    answer::KEEP_CAP / (1024 * 1024)
                ));
            }
            s.messages.push(Message::new("assistant", answer_text.text));
            Ok(())
        }
        Err(Failure::Client(e)) => Err(e.into_error(&name, &model)),
        Err(Failure::Other(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(lines: &[&str]) -> String {
        let mut rest = lines[1..].iter().map(|l| l.to_string());
        let mut more = || -> Result<String, ()> { rest.next().ok_or(()) };
        join_entry(lines[0].to_string(), &mut more, || ()).unwrap()
    }

    #[test]
    fn multi_line_entries() {
        assert_eq!(join(&["plain"]), "plain");
        assert_eq!(join(&["one \\", "two \\", "three"]), "one \ntwo \nthree");
        assert_eq!(join(&["\"\"\"", "a", "  b", "\"\"\""]), "a\n  b");
        assert_eq!(join(&["\"\"\"first", "second\"\"\""]), "first\nsecond");
        assert_eq!(join(&["\"\"\"inline\"\"\""]), "inline");
    }

    #[test]
    fn lines_are_read_within_bounds() {
        let read = |bytes: &[u8], max| {
            let mut r = io::BufReader::with_capacity(4, bytes);
            let mut got = Vec::new();
            loop {
                match read_line_capped(&mut r, max) {
                    Ok(Some(l)) => got.push(l),
                    Ok(None) => return Ok(got),
                    Err(e) => return Err((got, e)),
                }
            }
        };
        assert_eq!(
            read(b"one\r\ntwo\nthree", 5).ok().unwrap(),
            ["one", "two", "three"]
        );
        assert_eq!(read(b"12345\n", 5).ok().unwrap(), ["12345"]);
        assert!(matches!(read(b"ok\n123456\n", 5), Err((g, LineError::TooLong)) if g == ["ok"]));
        assert!(matches!(read(b"a\0b\n", 5), Err((_, LineError::Nul))));
        assert!(matches!(read(b"\xff\n", 5), Err((_, LineError::NotUtf8))));
        // Endless input is refused without reading it all.
        let mut zeros = io::BufReader::new(io::repeat(b'z'));
        assert!(matches!(
            read_line_capped(&mut zeros, 1 << 16),
            Err(LineError::TooLong)
        ));
    }

    #[test]
    fn long_entries_are_refused() {
        let mut lines = vec!["\"\"\"".to_string()];
        lines.extend(std::iter::repeat_n("x".repeat(1 << 20), 9));
        let mut rest = lines[1..].iter().cloned();
        let mut more = || -> Result<String, ()> { Ok(rest.next().unwrap_or_default()) };
        assert_eq!(join_entry(lines[0].clone(), &mut more, || ()), Err(()));
    }

    #[test]
    fn history_filter() {
        for (line, kept) in [
            ("hello", true),
            ("/model x", true),
            (" secret thought", false),
            ("/key sk-canary", false),
            ("/KEY sk-canary", false),
            ("  /Key sk-canary", false),
            ("   ", false),
        ] {
            assert_eq!(keep_in_history(line), kept, "{line:?}");
        }
    }
}
