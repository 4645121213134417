//! The command line: one module per subcommand, each a short file that
//! parses its arguments and calls the library.

use std::ffi::OsString;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::store::Store;

mod api_key;
mod apply;
mod completions;
mod config;
mod create;
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
    /// Show what `aix apply` would change to match providers.toml
    Plan(plan::Args),
    /// Make config.json match providers.toml
    Apply(apply::Args),
    /// Print the JSON Schema of providers.toml or config.json
    Schema(schema::Args),
    /// Check manifests and config.json against the schemas and aix's rules
    Validate(validate::Args),
    /// Chat interactively with a provider (stdin lines are turns when piped)
    Repl(repl::Args),
    /// Print a shell completion script
    Completions(completions::Args),
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
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are successes; everything else is a
            // usage error (EX_USAGE), as SPEC promises. clap quotes the bad
            // value; a huge one is clipped rather than echoed whole.
            let text = e.render().to_string();
            if text.len() > 2000 {
                crate::output::eprint(&crate::output::clip_words(&text, 200));
            } else {
                let _ = e.print();
            }
            return Ok(if e.use_stderr() { 64 } else { 0 });
        }
    };
    let choice = match cli.global.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    if let Command::Completions(args) = &cli.command {
        return completions::run(args).map(|()| 0);
    }
    if let Command::Schema(args) = &cli.command {
        return schema::run(args).map(|()| 0);
    }
    let ctx = Ctx {
        store: Store::from_env()?,
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
        Command::Apply(args) => apply::run(&ctx, args),
        Command::Validate(args) => validate::run(&ctx, args),
        Command::Repl(args) => repl::run(&ctx, args),
        Command::Completions(_) | Command::Plan(_) | Command::Schema(_) => {
            unreachable!("handled above")
        }
    }
    .map(|()| 0)
}

/// The clap command tree, for completions and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

/// A usage error about one argument.
pub(crate) fn usage(message: impl Into<String>) -> Error {
    Error::usage(message)
}
