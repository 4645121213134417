//! `aix run NAME`: render a saved prompt and (with `--execute`) send it.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use serde_json::Value;

use super::Ctx;
use crate::error::{Error, Result};
use crate::http::chunk;
use crate::http::{self, Client, EnvRefs, Message, Prepared};
use crate::ops::params::Bound;
use crate::output;
use crate::provider;
use crate::run::answer::{self, Failure, Output};
use crate::run::chat::Choices;
use crate::run::params;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Saved prompt to run (see `aix list`)
    name: String,
    /// Template parameter (repeatable); VALUE may be @FILE to read a file (@@ for a literal @)
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE", value_parser = params::parse_param)]
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
    /// Most seconds the whole answer may take, streaming or not (default:
    /// the provider's max_time_secs, else config's, else no limit)
    #[arg(long, value_name = "SECS", value_parser = provider::parse_timeout)]
    max_time: Option<u64>,
    /// Show the request and token usage on stderr
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Show the model's reasoning (shown dimmed on a terminal anyway)
    #[arg(long)]
    show_reasoning: bool,
}

fn parse_temperature(arg: &str) -> std::result::Result<f64, String> {
    match arg.parse::<f64>() {
        Ok(t) if (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "temperature must be a number from 0 to 2, not {arg:?}"
        )),
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = ctx.store.load()?;
    let mut bound = Bound::load(ctx.store.home(), &args.name)?;
    bound.bind(&args.params, "--param ")?;
    if bound.wanted().contains(&"input")
        && !bound.values.contains_key("input")
        && !io::stdin().is_terminal()
    {
        let bytes = crate::limits::read_capped(&mut io::stdin().lock(), crate::limits::TEXT_INPUT)
            .map_err(|e| e.at("{input} from", std::path::Path::new("standard input")))?;
        let input = String::from_utf8(bytes).map_err(|_| {
            Error::new("cannot read standard input for {input}: it is not UTF-8 text")
        })?;
        if !input.is_empty() {
            bound.values.insert(
                "input".into(),
                input.strip_suffix('\n').unwrap_or(&input).to_string(),
            );
        }
    }
    let missing = bound.missing();
    if !missing.is_empty() {
        if io::stdin().is_terminal() && io::stderr().is_terminal() {
            for name in &missing {
                bound.values.insert(name.clone(), ask(name)?);
            }
        } else {
            let mut err = Error::usage(format!(
                "missing parameter{} for prompt '{}': {}",
                if missing.len() > 1 { "s" } else { "" },
                bound.prompt.name,
                missing.join(", ")
            ))
            .hint(format!(
                "pass {}",
                params::each(&missing, |m| format!("--param {m}=VALUE"), " ")
            ));
            if missing.iter().any(|m| m == "input") {
                err = err.hint("or pipe the text in: `... | aix run NAME -e`");
            }
            return Err(err);
        }
    }
    let rendered = bound
        .template
        .render(&bound.values)
        .expect("every parameter has a value");
    let prompt = bound.prompt;

    let targets = Choices {
        provider: args.provider.clone(),
        model: args.model.clone(),
        prompt_model: prompt.model.clone(),
        stream: if args.stream {
            Some(true)
        } else if args.no_stream {
            Some(false)
        } else {
            None
        },
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        timeout_secs: args.timeout,
    }
    .resolve_all(&state)?;
    let target = &targets[0];
    for n in &target.notes {
        output::note(n);
    }
    let resolved = &target.resolved;
    let p = &resolved.provider;
    let key = target.key.clone();
    let mut messages = Vec::new();
    if let Some(system) = args.system.clone().or_else(|| prompt.system.clone()) {
        messages.push(Message::new("system", system));
    }
    messages.push(Message::new("user", rendered.clone()));
    let req = target.request(messages);

    if !args.execute || args.dry_run {
        let mut prepared = target.prepare(&req, EnvRefs::Keep)?;
        if let Some(secs) = args.max_time {
            prepared.max_time = Some(std::time::Duration::from_secs(secs));
        }
        let view = DryRun {
            prepared: &prepared,
            model_key: target.model_key.as_deref(),
            show_secrets: ctx.show_secrets,
        };
        output::emit(output::Format::json_if(args.json), &view)?;
        if let Some(path) = &args.output {
            write_file(path, rendered.as_bytes())?;
            output::status(format!("Wrote the rendered prompt to {}", path.display()));
        }
        if key.is_none() && p.auth_type.sends_key() && p.api_key_env.is_some() {
            output::note(no_key_note(resolved));
        }
        if let (Some(alias), [_, rest @ ..]) = (&target.alias, targets.as_slice())
            && !rest.is_empty()
        {
            let next: Vec<String> = rest.iter().map(label).collect();
            output::note(format!(
                "alias '{alias}': {} first; on a failure before any output, then {}",
                label(target),
                next.join(", then ")
            ));
        }
        output::note("dry run: nothing was sent; add --execute (-e) to send it");
        return Ok(());
    }

    let client = Client::new(args.verbose)
        .show_secrets(ctx.show_secrets)
        .notes(output::notes());
    for (i, target) in targets.iter().enumerate() {
        if i > 0 {
            for n in &target.notes {
                output::note(n);
            }
        }
        // Each target's own messages and parameters: the same prompt.
        let mut req = req.clone();
        req.model.clone_from(&target.model);
        req.stream = target.stream;
        req.max_tokens = target.max_tokens;
        req.temperature = target.temperature;
        let mut prepared = target.prepare(&req, EnvRefs::Resolve)?;
        if let Some(secs) = args.max_time {
            prepared.max_time = Some(std::time::Duration::from_secs(secs));
        }
        if args.verbose {
            output::note(format!(
                "{} {} model={} stream={}",
                "POST", prepared.url, prepared.model, prepared.stream
            ));
            for h in &prepared.headers {
                output::note(format!("  {}: {}", h.name, h.shown(ctx.show_secrets)));
            }
        }
        let name = &target.resolved.provider.name;
        let mut began = false;
        let mut result = send(&client, &prepared, &args, &mut began);
        // A short-lived token from `${cmd:...}` that the server refused:
        // fetched again once, and the request sent once more.
        if let Err(Failure::Client(http::ClientError::Status { status: 401, .. })) = &result
            && prepared.refreshable
            && !began
        {
            output::note(format!(
                "{name} answered 401; running the credential's command again and retrying once"
            ));
            crate::secret::resolve::global().forget_commands();
            prepared = target.prepare(&req, EnvRefs::Resolve)?;
            if let Some(secs) = args.max_time {
                prepared.max_time = Some(std::time::Duration::from_secs(secs));
            }
            result = send(&client, &prepared, &args, &mut began);
        }
        match result {
            Ok(()) => return Ok(()),
            Err(Failure::Other(e)) => return Err(e),
            Err(Failure::Client(e)) => {
                let next = targets.get(i + 1);
                let switch = !began && e.falls_back() && next.is_some();
                let err = e.into_error(name, &prepared.model);
                match next {
                    Some(next) if switch => output::warn(format!(
                        "{} failed before answering: {}; trying {}",
                        label(target),
                        err.message(),
                        label(next)
                    )),
                    _ => return Err(err),
                }
            }
        }
    }
    unreachable!("the last target returns")
}

/// `PROVIDER/MODEL` of a target, for messages.
fn label(t: &crate::run::chat::Target) -> String {
    format!("{}/{}", t.resolved.provider.name, t.model)
}

fn send(
    client: &Client,
    p: &Prepared,
    args: &Args,
    began: &mut bool,
) -> std::result::Result<(), Failure> {
    if args.json && !p.stream {
        // The whole response, as the server sent it. A file named with -o
        // is opened first, so a bad path fails before anything is sent.
        let cannot = |path: &std::path::Path, e: io::Error| {
            Failure::Other(Error::new(format!("cannot write {}: {e}", path.display())))
        };
        let dest = match &args.output {
            Some(path) => Some((
                crate::config::store::OutputFile::open(path).map_err(|e| cannot(path, e))?,
                path,
            )),
            None => None,
        };
        let mut spinner = output::Spinner::start(format!("waiting for {}", p.provider));
        let response = client.chat(p).map_err(Failure::Client)?;
        spinner.stop();
        match dest {
            None => output::emit(output::Format::Json, &output::Raw(&response))
                .map_err(Failure::Other)?,
            Some((dest, path)) => {
                let mut text =
                    serde_json::to_string_pretty(&response).expect("a Value always serializes");
                text.push('\n');
                let text = output::safe_if(dest.is_terminal(), &text);
                dest.writer()
                    .and_then(|mut w| w.write_all(text.as_bytes()))
                    .and_then(|()| dest.commit())
                    .map_err(|e| cannot(path, e))?;
                output::status(format!("Wrote the response to {}", path.display()));
            }
        }
        return Ok(());
    }
    let mut out =
        Output::new(args.output.as_deref(), args.show_reasoning).map_err(Failure::Other)?;
    out.raw_json = args.json;
    let done = answer::deliver(client, p, &mut out);
    *began = out.began();
    let done = done?;
    output::show_all(&done.notes);
    if args.verbose {
        report_usage(done.usage, done.finish_reason.as_deref());
    }
    Ok(())
}

fn report_usage(usage: Option<chunk::Usage>, finish: Option<&str>) {
    match usage {
        Some(u) => output::note(format!(
            "tokens: {} prompt + {} completion = {} total{}",
            u.prompt_tokens,
            u.completion_tokens,
            // Some servers leave the total out: it is the sum.
            if u.total_tokens == 0 {
                u.prompt_tokens.saturating_add(u.completion_tokens)
            } else {
                u.total_tokens
            },
            finish
                .map(|f| format!(" (finish: {f})"))
                .unwrap_or_default()
        )),
        None => output::note("the server reported no token usage"),
    }
}

fn ask(name: &str) -> Result<String> {
    let line = super::ask(&format!("{name}: "))
        .map_err(|e| Error::new(format!("cannot read {name}: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    crate::config::store::write_output(path, bytes)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}

fn no_key_note(resolved: &crate::config::state::Resolved) -> String {
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

/// A dry run: the request that would be sent.
struct DryRun<'a> {
    prepared: &'a Prepared,
    /// The models-table entry that chose the model, if one did.
    model_key: Option<&'a str>,
    show_secrets: bool,
}

impl serde::Serialize for DryRun<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.prepared.to_json(self.show_secrets).serialize(s)
    }
}

impl output::View for DryRun<'_> {
    fn text(&self) -> Vec<output::Piece> {
        vec![output::Piece::Text(dry_run_text(
            self.prepared,
            self.model_key,
            self.show_secrets,
        ))]
    }
}

fn dry_run_text(p: &Prepared, model_key: Option<&str>, show: bool) -> String {
    let mut t = String::new();
    t.push_str(&format!("provider: {}\n", p.provider));
    t.push_str(&format!("request:  POST {}\n", p.url));
    match model_key {
        Some(key) if key != p.model => {
            t.push_str(&format!("model:    {} (models.{key})\n", p.model));
        }
        _ => t.push_str(&format!("model:    {}\n", p.model)),
    }
    t.push_str(&format!("stream:   {}\n", p.stream));
    if let Some(proxy) = &p.proxy {
        t.push_str(&format!("proxy:    {proxy}\n"));
    }
    if let Some(ca) = &p.ca_file {
        t.push_str(&format!("ca_file:  {ca}\n"));
    }
    // Where the protocol keeps the conversation and its system text
    // (shown below as messages when it is plain text).
    let (turns, system) = match p.wire {
        provider::Wire::Chat => ("messages", None),
        provider::Wire::Responses => ("input", Some("instructions")),
        provider::Wire::Messages => ("messages", Some("system")),
    };
    let system = system.and_then(|k| p.body[k].as_str().map(|text| (k, text)));
    // The rest of the body as sent (the messages follow below).
    if let Value::Object(body) = &p.body {
        let rest: Vec<String> = body
            .iter()
            .filter(|(k, _)| {
                !(matches!(k.as_str(), "model" | "stream")
                    || *k == turns
                    || system.is_some_and(|(s, _)| s == *k))
            })
            .map(|(k, v)| format!("  {k}: {v}\n"))
            .collect();
        if !rest.is_empty() {
            t.push_str("body:\n");
            t.push_str(&rest.concat());
        }
    }
    t.push_str("headers:\n");
    for h in &p.headers {
        t.push_str(&format!("  {}: {}\n", h.name, h.shown(show)));
    }
    if let Some((_, text)) = system {
        t.push_str(&format!("\n--- system ---\n{text}\n"));
    }
    for m in p.body[turns].as_array().into_iter().flatten() {
        let role = m["role"].as_str().unwrap_or_default();
        let content = m["content"].as_str().unwrap_or_default();
        t.push_str(&format!("\n--- {role} ---\n{content}\n"));
    }
    t
}
