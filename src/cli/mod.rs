//! The command line: one module per subcommand, each a short file that
//! parses its arguments and calls the library.

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::store::Store;
use crate::error::{Error, Result};

mod api_key;
mod apply;
mod completions;
mod config;
mod create;
mod import;
mod models;
mod plan;
mod prompts;
mod provider;
mod repl;
mod run;
mod schema;
mod validate;

const AFTER_HELP: &str = "\
Files:
  $AIX_HOME (else $AIX_STORAGE_PATH, else ~/.prompts)   aix's home, 0700
  <home>/config.json                                    live state, 0600

  <home>/prompts/NAME.toml                              saved prompts
  <home>/history                                        REPL history, 0600

Exit codes: 0 success, 1 error, 2 `plan --detailed-exitcode` found changes,
64 usage error.";

/// Manage OpenAI-compatible API providers as code and run prompts against them.
#[derive(Debug, Parser)]
#[command(name = "aix", version, propagate_version = true, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Show API keys and credential headers instead of (sensitive)
    #[arg(long, global = true)]
    show_secrets: bool,
    /// When to colour output
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    color: ColorWhen,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add, list, inspect and remove providers
    #[command(subcommand)]
    Provider(provider::Command),
    /// Store a provider's API key in config.json (read without echo)
    ApiKey(api_key::Args),
    /// Read and change config.json by dotted key path
    #[command(subcommand)]
    Config(config::Command),
    /// Save a prompt template
    Create(create::Args),
    /// List saved prompts
    #[command(visible_alias = "ls")]
    List(prompts::ListArgs),
    /// Show a saved prompt
    Show(prompts::ShowArgs),
    /// Delete a saved prompt
    #[command(visible_alias = "rm")]
    Delete(prompts::DeleteArgs),
    /// Render a saved prompt; with --execute, send it and print the answer
    Run(Box<run::Args>),
    /// List the models providers declare, with the settings each run uses
    Models(models::Args),
    /// Show what `aix apply` would change to match providers.toml
    Plan(plan::Args),
    /// Make config.json match providers.toml
    Apply(apply::Args),
    /// Print the JSON Schema of providers.toml or config.json
    Schema(schema::Args),
    /// Print a providers.toml for the servers in llm's, aichat's or LiteLLM's config file
    Import(import::Args),
    /// Check manifests and config.json against the schemas and aix's rules
    Validate(validate::Args),
    /// Chat interactively with a provider (stdin lines are turns when piped)
    Repl(repl::Args),
    /// Print a shell completion script (completes prompt, provider and model names)
    Completions(completions::Args),
    /// Print the manual page (roff) on stdout, or write one per command to --dir
    Man(ManArgs),
}

#[derive(Debug, Args)]
struct ManArgs {
    /// Write aix.1 and a page per subcommand (aix-run.1, ...) into DIR
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
}

/// What every subcommand gets: the store and the global flags.
pub struct Ctx {
    pub store: Store,
    pub show_secrets: bool,
}

/// Parses `args` and runs the command. Returns the exit code on success;
/// errors carry their own.
pub fn run<I, T>(args: I) -> Result<u8>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    completions::answer_if_asked();
    crate::secret::resolve::global().set_notes(crate::output::notes());
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Help and usage errors are printed while parsing, so the colour choice
    // has to be known before: look for --color in argv first.
    let choice = match color_flag(&args) {
        Some(ColorWhen::Always) => anstream::ColorChoice::Always,
        Some(ColorWhen::Never) => anstream::ColorChoice::Never,
        Some(ColorWhen::Auto) | None => anstream::ColorChoice::Auto,
    };
    choice.write_global();
    let clap_choice = match choice {
        anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi => {
            clap::ColorChoice::Always
        }
        anstream::ColorChoice::Never => clap::ColorChoice::Never,
        anstream::ColorChoice::Auto => clap::ColorChoice::Auto,
    };
    let mut cmd = command().color(clap_choice);
    let parsed = cmd
        .try_get_matches_from_mut(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are successes; everything else is a
            // usage error (EX_USAGE).
            let e = without_rejected_value(e, &mut cmd);
            let text = e.render().to_string();
            // (A long error is clipped; help is printed whole.)
            if e.use_stderr() && text.len() > 2000 {
                crate::output::eprint(&crate::output::clip_words(&text, 200));
            } else {
                let _ = e.print();
            }
            return Ok(if e.use_stderr() { 64 } else { 0 });
        }
    };
    if let Command::Completions(args) = &cli.command {
        return completions::run(args).map(|()| 0);
    }
    if let Command::Schema(args) = &cli.command {
        return schema::run(args).map(|()| 0);
    }
    if let Command::Man(args) = &cli.command {
        return man(args).map(|()| 0);
    }
    if let Command::Import(args) = cli.command {
        return import::run(args).map(|()| 0);
    }
    let ctx = Ctx {
        store: Store::from_env()?.with_notes(crate::output::notes()),
        show_secrets: cli.global.show_secrets,
    };
    if let Command::Plan(args) = cli.command {
        return plan::run(&ctx, args);
    }
    match cli.command {
        Command::Provider(cmd) => provider::run(&ctx, cmd),
        Command::ApiKey(args) => api_key::run(&ctx, args),
        Command::Config(cmd) => config::run(&ctx, cmd),
        Command::Create(args) => create::run(&ctx, args),
        Command::List(args) => prompts::list(&ctx, args),
        Command::Show(args) => prompts::show(&ctx, args),
        Command::Delete(args) => prompts::delete(&ctx, args),
        Command::Run(args) => run::run(&ctx, *args),
        Command::Models(args) => models::run(&ctx, args),
        Command::Apply(args) => apply::run(&ctx, args),
        Command::Validate(args) => validate::run(&ctx, args),
        Command::Repl(args) => repl::run(&ctx, args),
        Command::Completions(_)
        | Command::Plan(_)
        | Command::Schema(_)
        | Command::Man(_)
        | Command::Import(_) => {
            unreachable!("handled above")
        }
    }
    .map(|()| 0)
}

/// Writes `prompt` on stderr and reads one line of stdin (with its end of
/// line): how commands ask the user something.
pub(crate) fn ask(prompt: &str) -> std::io::Result<String> {
    use std::io::{BufRead, Write};
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line)
}

/// The clap command tree, with the dynamic completion candidates.
pub fn command() -> clap::Command {
    completions::command()
}

/// The value of the last `--color WHEN` / `--color=WHEN` before `--`.
fn color_flag(args: &[OsString]) -> Option<ColorWhen> {
    let mut found = None;
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = match a.strip_prefix("--color") {
            Some("") => it.next().map(|v| v.into_owned()),
            Some(rest) => rest.strip_prefix('=').map(String::from),
            None => None,
        };
        if let Some(v) = value {
            found = ColorWhen::from_str(&v, true).ok().or(found);
        }
    }
    found
}

/// Arguments whose values may be secrets (header values, key material):
/// when their value parser rejects one, the error names the argument and
/// the problem but never repeats the value.
/// Base URLs are among them: a refused one may carry `user:key@` or a
/// `?key=` query.
const SECRET_ARGS: &[&str] = &[
    "headers",
    "api_key_env",
    "params",
    "base_url",
    "url",
    "extra_body",
    "query_params",
    "api_key",
    "proxy",
];

fn without_rejected_value(e: clap::Error, cmd: &mut clap::Command) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        e.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return e;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let arg = arg.clone();
    // The context names the argument as the user sees it ("--header
    // <KEY:VALUE>"); match it to its id through the command tree.
    let secret = cmd
        .get_subcommands()
        .flat_map(|c| std::iter::once(c).chain(c.get_subcommands()))
        .chain(std::iter::once(&*cmd))
        .flat_map(|c| c.get_arguments())
        .any(|a| {
            SECRET_ARGS.contains(&a.get_id().as_str())
                && (a
                    .get_long()
                    .is_some_and(|l| arg.starts_with(&format!("--{l}")))
                    || a.get_short()
                        .is_some_and(|s| arg.starts_with(&format!("-{s}")))
                    || (a.is_positional() && positional_shown_as(a, &arg)))
        });
    if !secret {
        return e;
    }
    let problem = std::error::Error::source(&e)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    let mut out = clap::Error::raw(
        ErrorKind::ValueValidation,
        format!(
            "invalid value for '{arg}'{problem} (the value is not repeated: it may be secret)\n"
        ),
    );
    out = out.with_cmd(cmd);
    out
}

/// Whether clap's error names positional `a` as `arg` (`<BASE_URL>`).
fn positional_shown_as(a: &clap::Arg, arg: &str) -> bool {
    let inner = arg
        .trim_start_matches(['<', '['])
        .trim_end_matches(['>', ']', '.']);
    match a.get_value_names() {
        Some(names) => names.iter().any(|n| n.as_str() == inner),
        None => a.get_id().as_str().eq_ignore_ascii_case(inner),
    }
}

fn man(args: &ManArgs) -> Result<()> {
    let cmd = command();
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(cmd, dir))
                .map_err(|e| {
                    Error::new(format!("cannot write man pages to {}: {e}", dir.display()))
                })?;
            crate::output::status(format!("Wrote the man pages to {}", dir.display()));
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .map_err(|e| Error::new(format!("cannot render the man page: {e}")))?;
            crate::output::print(&String::from_utf8_lossy(&buf))?;
        }
    }
    Ok(())
}
