//! Shell completion. `aix completions SHELL` prints a small script that
//! asks aix itself for candidates on every TAB (`COMPLETE=SHELL aix -- ...`),
//! so saved prompt names, provider names and model names come from the
//! current config.json and prompts folder, not from a script frozen at
//! install time.

use clap_complete::Shell;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::Shells;

use crate::error::{Error, Result};

/// The variable the registration script sets when it asks for candidates.
pub const VAR: &str = "COMPLETE";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Shell,
}

pub fn run(args: &Args) -> Result<()> {
    let name = args.shell.to_string();
    let shells = Shells::builtins();
    let shell = shells
        .completer(&name)
        .ok_or_else(|| Error::usage(format!("no completion support for {name}")))?;
    let mut buf = Vec::new();
    shell
        .write_registration(VAR, "aix", "aix", "aix", &mut buf)
        .map_err(|e| Error::new(format!("cannot write the completion script: {e}")))?;
    crate::output::print(&String::from_utf8_lossy(&buf))?;
    Ok(())
}

/// Answers a completion request and exits when `COMPLETE` is set; returns
/// otherwise.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(command)
        .var(VAR)
        .complete();
}

/// The command tree with the dynamic candidates attached.
pub fn command() -> clap::Command {
    let prompts = || ArgValueCandidates::new(prompt_names);
    let providers = || ArgValueCandidates::new(provider_names);
    let models = || ArgValueCandidates::new(model_names);
    <super::Cli as clap::CommandFactory>::command()
        .mut_subcommand("run", |c| {
            c.mut_arg("name", |a| a.add(prompts()))
                .mut_arg("provider", |a| a.add(providers()))
                .mut_arg("model", |a| a.add(models()))
        })
        .mut_subcommand("show", |c| c.mut_arg("name", |a| a.add(prompts())))
        .mut_subcommand("delete", |c| c.mut_arg("name", |a| a.add(prompts())))
        .mut_subcommand("repl", |c| {
            c.mut_arg("provider", |a| a.add(providers()))
                .mut_arg("model", |a| a.add(models()))
                .mut_arg("prompt", |a| a.add(prompts()))
        })
        .mut_subcommand("create", |c| c.mut_arg("model", |a| a.add(models())))
        .mut_subcommand("api-key", |c| c.mut_arg("name", |a| a.add(providers())))
        .mut_subcommand("provider", |c| {
            let one = |c: clap::Command| c.mut_arg("name", |a| a.add(providers()));
            let many = |c: clap::Command| c.mut_arg("names", |a| a.add(providers()));
            c.mut_subcommand("info", one)
                .mut_subcommand("remove", one)
                .mut_subcommand("update", |c| {
                    one(c).mut_arg("default_model", |a| a.add(models()))
                })
                .mut_subcommand("models", one)
                .mut_subcommand("check", many)
                .mut_subcommand("export", many)
        })
}

fn state() -> Option<(crate::config::store::Store, crate::config::state::State)> {
    let store = crate::config::store::Store::from_env().ok()?;
    let state = store.load().ok()?;
    Some((store, state))
}

fn prompt_names() -> Vec<CompletionCandidate> {
    let Ok(store) = crate::config::store::Store::from_env() else {
        return Vec::new();
    };
    crate::run::prompt::Prompts::new(store.home())
        .list()
        .into_iter()
        .map(|(name, p)| {
            let help = p
                .ok()
                .and_then(|p| p.description.clone())
                .filter(|d| !d.is_empty());
            CompletionCandidate::new(name).help(help.map(Into::into))
        })
        .collect()
}

fn provider_names() -> Vec<CompletionCandidate> {
    let mut out: Vec<CompletionCandidate> = Vec::new();
    if let Some((_, state)) = state() {
        for name in state.provider_names() {
            out.push(CompletionCandidate::new(name).help(Some("custom".into())));
        }
    }
    for b in crate::provider::BUILTINS {
        let p = b.to_provider();
        out.push(CompletionCandidate::new(p.name).help(Some("built-in".into())));
    }
    out
}

fn model_names() -> Vec<CompletionCandidate> {
    let mut names: Vec<String> = Vec::new();
    if let Some((_, state)) = state() {
        for (_, entry) in state.provider_entries() {
            if let Ok(p) = entry {
                names.extend(p.default_model);
            }
        }
        if let Some(m) = state.setting("default_model").and_then(|v| v.as_str()) {
            names.push(m.to_string());
        }
    }
    for b in crate::provider::BUILTINS {
        names.extend(b.to_provider().default_model);
    }
    names.sort();
    names.dedup();
    names.into_iter().map(CompletionCandidate::new).collect()
}
