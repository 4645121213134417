//! `aix run NAME`: render a saved prompt and (with `--execute`) send it.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::Ctx;
use crate::chunk;
use crate::client::{self, ChatRequest, Client, EnvRefs, Message, Prepared, Sink};
use crate::error::{Error, Result};
use crate::output;
use crate::prompt::{self, Prompts};
use crate::provider;
use crate::state::State;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Saved prompt to run (see `aix list`)
    name: String,
    /// Template parameter (repeatable); VALUE may be @FILE to read a file (@@ for a literal @)
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// Provider: NAME, custom:NAME or a built-in (default: config default_provider, then openai)
    #[arg(long, value_name = "PROVIDER")]
    provider: Option<String>,
    /// Model (default: the provider's, then the prompt's)
    #[arg(long, short = 'm', value_parser = provider::parse_model)]
    model: Option<String>,
    /// Stream the answer as it is written (default: config streaming)
    #[arg(long, overrides_with = "no_stream")]
    stream: bool,
    /// Wait for the whole answer even if config streaming is on
    #[arg(long)]
    no_stream: bool,
    /// Send the request (without it, only show what would be sent)
    #[arg(short = 'e', long)]
    execute: bool,
    /// Show what would be sent and send nothing, even with --execute
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Write the answer (or, in a dry run, the rendered prompt) to FILE
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Upper bound on answer tokens (default: config max_tokens)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_tokens: Option<u64>,
    /// Sampling temperature 0-2 (default: config temperature)
    #[arg(long, value_name = "F", value_parser = parse_temperature)]
    temperature: Option<f64>,
    /// System message (replaces the prompt's)
    #[arg(long, value_name = "TEXT")]
    system: Option<String>,
    /// Print the whole response as JSON (streams: one chunk per line)
    #[arg(long)]
    json: bool,
    /// Seconds to wait for the answer, and for each part of a stream
    #[arg(long, value_name = "SECS", value_parser = provider::parse_timeout)]
    timeout: Option<u64>,
    /// Show the request and token usage on stderr
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Show the model's reasoning (shown dimmed on a terminal anyway)
    #[arg(long)]
    show_reasoning: bool,
}

fn parse_param(arg: &str) -> std::result::Result<(String, String), String> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err("expected KEY=VALUE, e.g. --param topic=rust".into());
    };
    if !prompt::is_param_name(key) {
        return Err(format!(
            "{key:?} is not a parameter name (letters, digits, '_' and '-')"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

fn parse_temperature(arg: &str) -> std::result::Result<f64, String> {
    match arg.parse::<f64>() {
        Ok(t) if (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "temperature must be a number from 0 to 2, not {arg:?}"
        )),
    }
}

/// Reads `@FILE` values; `@@x` stands for a literal `@x`.
fn param_value(key: &str, raw: &str) -> Result<String> {
    if let Some(rest) = raw.strip_prefix("@@") {
        return Ok(format!("@{rest}"));
    }
    match raw.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("--param {key}=@{path}: cannot read {path}: {e}"))),
        None => Ok(raw.to_string()),
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = ctx.store.load()?;
    let prompt = Prompts::new(ctx.store.home()).load(&args.name)?;
    let template = prompt.parsed()?;
    let wanted = template.params();

    let mut values = BTreeMap::new();
    let mut unknown = Vec::new();
    for (key, raw) in &args.params {
        if !wanted.contains(&key.as_str()) {
            unknown.push(key.as_str());
            continue;
        }
        values.insert(key.clone(), param_value(key, raw)?);
    }
    if !unknown.is_empty() {
        let uses = if wanted.is_empty() {
            "has no parameters".to_string()
        } else {
            format!(
                "uses {}",
                wanted
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut err = Error::usage(format!(
            "unknown parameter{} {} for prompt '{}', which {uses}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
            prompt.name
        ));
        for u in &unknown {
            if let Some(near) = crate::suggest::closest(u, &wanted) {
                err = err.hint(format!("did you mean --param {near}=...?"));
            }
        }
        return Err(err);
    }
    if wanted.contains(&"input") && !values.contains_key("input") && !io::stdin().is_terminal() {
        let mut input = String::new();
        io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| Error::new(format!("cannot read standard input: {e}")))?;
        if !input.is_empty() {
            values.insert(
                "input".into(),
                input.strip_suffix('\n').unwrap_or(&input).to_string(),
            );
        }
    }
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|p| !values.contains_key(*p))
        .collect();
    if !missing.is_empty() {
        if io::stdin().is_terminal() && io::stderr().is_terminal() {
            for name in &missing {
                values.insert(name.to_string(), ask(name)?);
            }
        } else {
            let flags: Vec<String> = missing
                .iter()
                .map(|m| format!("--param {m}=VALUE"))
                .collect();
            let mut err = Error::usage(format!(
                "missing parameter{} for prompt '{}': {}",
                if missing.len() > 1 { "s" } else { "" },
                prompt.name,
                missing.join(", ")
            ))
            .hint(format!("pass {}", flags.join(" ")));
            if missing.contains(&"input") {
                err = err.hint("or pipe the text in: `... | aix run NAME -e`");
            }
            return Err(err);
        }
    }
    let rendered = template
        .render(&values)
        .expect("every parameter has a value");

    let explicit_provider = args.provider.is_some();
    let spec = args
        .provider
        .clone()
        .or_else(|| setting_str(&state, "default_provider"))
        .unwrap_or_else(|| "openai".into());
    let resolved = state.resolve(&spec)?;
    let p = &resolved.provider;
    let model = args
        .model
        .clone()
        .or_else(|| p.default_model.clone())
        .or_else(|| prompt.model.clone())
        .or_else(|| {
            // The config's default model belongs with its default provider.
            (!explicit_provider).then(|| setting_str(&state, "default_model")).flatten()
        })
        .ok_or_else(|| {
            Error::usage(format!("no model to use with provider '{}'", p.name))
                .hint("pass --model MODEL")
                .hint(format!(
                    "or give the provider a default: `aix config set custom_providers.{}.default_model MODEL`",
                    p.name
                ))
                .hint(format!("`aix provider models {}` lists what the server offers", p.name))
        })?;
    let stream = if args.stream {
        true
    } else if args.no_stream {
        false
    } else {
        state
            .setting("streaming")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    let mut messages = Vec::new();
    if let Some(system) = args.system.clone().or_else(|| prompt.system.clone()) {
        messages.push(Message::new("system", system));
    }
    messages.push(Message::new("user", rendered.clone()));
    let req = ChatRequest {
        model,
        messages,
        stream,
        max_tokens: args
            .max_tokens
            .or_else(|| state.setting("max_tokens").and_then(|v| v.as_u64())),
        temperature: args
            .temperature
            .or_else(|| state.setting("temperature").and_then(|v| v.as_f64())),
    };
    let timeout = Duration::from_secs(
        args.timeout
            .or(p.timeout_secs)
            .or_else(|| state.setting("timeout_secs").and_then(|v| v.as_u64()))
            .unwrap_or(client::DEFAULT_TIMEOUT_SECS),
    );
    let key = state.api_key(&resolved);

    if !args.execute || args.dry_run {
        let prepared = client::prepare(p, key.as_ref(), &req, timeout, EnvRefs::Keep)?;
        if args.json {
            output::json(&prepared.to_json(ctx.show_secrets));
        } else {
            output::print(&dry_run_text(&prepared, &req, ctx.show_secrets));
        }
        if let Some(path) = &args.output {
            write_file(path, rendered.as_bytes())?;
            output::status(format!("Wrote the rendered prompt to {}", path.display()));
        }
        if key.is_none() && p.auth_type == provider::AuthType::Bearer && p.api_key_env.is_some() {
            output::note(no_key_note(&resolved));
        }
        output::note("dry run: nothing was sent; add --execute (-e) to send it");
        return Ok(());
    }

    let prepared = client::prepare(p, key.as_ref(), &req, timeout, EnvRefs::Resolve)?;
    if args.verbose {
        output::note(format!(
            "{} {} model={} stream={}",
            "POST", prepared.url, prepared.model, prepared.stream
        ));
        for h in &prepared.headers {
            output::note(format!("  {}: {}", h.name, h.shown(ctx.show_secrets)));
        }
    }
    let client = Client::new(args.verbose);
    let fail = |e: client::ClientError| e.into_error(&p.name, &prepared.model);
    let result = if stream {
        run_stream(&client, &prepared, &args)
    } else {
        run_whole(&client, &prepared, &args)
    };
    result.map_err(|e| match e {
        RunError::Client(e) => fail(e),
        RunError::Other(e) => e,
    })
}

/// A failed send: the client's error (mapped to words with the provider
/// and model at the end), or an error already in words.
enum RunError {
    Client(client::ClientError),
    Other(Error),
}

fn run_whole(client: &Client, p: &Prepared, args: &Args) -> std::result::Result<(), RunError> {
    let mut spinner = output::Spinner::start(format!("waiting for {}", p.provider));
    let response = client.chat(p).map_err(RunError::Client)?;
    spinner.stop();
    if args.json {
        output::json(&response);
        return Ok(());
    }
    let Some(done) = chunk::completion(&response) else {
        return Err(RunError::Other(
            Error::new(format!(
                "invalid response from {}: no choices[0].message in the answer",
                p.base_url
            ))
            .hint("see the whole response with --json"),
        ));
    };
    let mut out =
        Output::new(args.output.as_deref(), args.show_reasoning).map_err(RunError::Other)?;
    if let Some(r) = &done.reasoning {
        out.reasoning(r)
            .map_err(|e| RunError::Other(write_error(e)))?;
    }
    match &done.content {
        Some(c) => out
            .content(c)
            .map_err(|e| RunError::Other(write_error(e)))?,
        None => output::warn("the answer has no text content (see --json)"),
    }
    out.finish(true).map_err(RunError::Other)?;
    if args.verbose {
        report_usage(done.usage, done.finish_reason.as_deref());
    }
    Ok(())
}

fn run_stream(client: &Client, p: &Prepared, args: &Args) -> std::result::Result<(), RunError> {
    let mut out =
        Output::new(args.output.as_deref(), args.show_reasoning).map_err(RunError::Other)?;
    out.raw_json = args.json;
    out.spinner = Some(output::Spinner::start(format!(
        "waiting for {}",
        p.provider
    )));
    let result = client.chat_stream(p, &mut out);
    let finished = out.finish(result.is_ok());
    let summary = result.map_err(RunError::Client)?;
    finished.map_err(RunError::Other)?;
    if args.verbose {
        report_usage(summary.usage, summary.finish_reason.as_deref());
    }
    Ok(())
}

fn report_usage(usage: Option<chunk::Usage>, finish: Option<&str>) {
    match usage {
        Some(u) => output::note(format!(
            "tokens: {} prompt + {} completion = {} total{}",
            u.prompt_tokens,
            u.completion_tokens,
            u.total_tokens,
            finish
                .map(|f| format!(" (finish: {f})"))
                .unwrap_or_default()
        )),
        None => output::note("the server reported no token usage"),
    }
}

fn write_error(e: io::Error) -> Error {
    Error::new(format!("cannot write the answer: {e}"))
}

/// Where an answer goes: stdout, or a file replaced when the answer ends.
struct Output {
    writer: Box<dyn Write>,
    file: Option<(tempfile::NamedTempFile, PathBuf)>,
    /// Show reasoning, and how.
    reasoning: ReasoningMode,
    in_reasoning: bool,
    wrote_content: bool,
    last_byte: Option<u8>,
    raw_json: bool,
    spinner: Option<output::Spinner>,
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
    fn new(path: Option<&std::path::Path>, show_reasoning: bool) -> Result<Output> {
        let to_tty = path.is_none() && io::stdout().is_terminal();
        let reasoning = if to_tty && output::stdout_colour() {
            ReasoningMode::Dim
        } else if show_reasoning || to_tty {
            ReasoningMode::Plain
        } else {
            ReasoningMode::Hide
        };
        let (writer, file): (Box<dyn Write>, _) = match path {
            None => (
                Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout())),
                None,
            ),
            Some(path) => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => std::path::Path::new("."),
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
        })
    }

    fn stop_spinner(&mut self) {
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
    fn finish(&mut self, ok: bool) -> Result<()> {
        self.stop_spinner();
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
}

fn setting_str(state: &State, key: &str) -> Option<String> {
    state
        .setting(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.trim().is_empty())
        .map(String::from)
}

fn ask(name: &str) -> Result<String> {
    let mut err = io::stderr().lock();
    let _ = write!(err, "{name}: ");
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::new(format!("cannot read {name}: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}

fn no_key_note(resolved: &crate::state::Resolved) -> String {
    let name = &resolved.provider.name;
    match &resolved.provider.api_key_env {
        Some(var) => format!(
            "no API key for '{name}': run `aix api-key {name}` or set {var} (a local server may need none)"
        ),
        None => {
            format!("no API key for '{name}': run `aix api-key {name}` if the server needs one")
        }
    }
}

fn dry_run_text(p: &Prepared, req: &ChatRequest, show: bool) -> String {
    let mut t = String::new();
    t.push_str(&format!("provider: {}\n", p.provider));
    t.push_str(&format!("request:  POST {}\n", p.url));
    t.push_str(&format!("model:    {}\n", p.model));
    t.push_str(&format!("stream:   {}\n", p.stream));
    if let Some(n) = req.max_tokens {
        t.push_str(&format!("max_tokens: {n}\n"));
    }
    if let Some(x) = req.temperature {
        t.push_str(&format!("temperature: {x}\n"));
    }
    t.push_str("headers:\n");
    for h in &p.headers {
        t.push_str(&format!("  {}: {}\n", h.name, h.shown(show)));
    }
    for m in &req.messages {
        t.push_str(&format!("\n--- {} ---\n{}\n", m.role, m.content));
    }
    t
}
