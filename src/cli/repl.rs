//! `aix repl`: try providers, models and prompts interactively.

use super::Ctx;
use crate::error::Result;
use crate::repl::{self, Options};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provider to start with: NAME, custom:NAME or a built-in
    #[arg(long)]
    provider: Option<String>,
    /// Model to start with
    #[arg(long, short = 'm', value_parser = crate::provider::parse_model)]
    model: Option<String>,
    /// Start with a saved prompt's system message and model
    #[arg(long, value_name = "NAME")]
    prompt: Option<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    repl::run(
        ctx.store.clone(),
        Options {
            provider: args.provider,
            model: args.model,
            prompt: args.prompt,
            show_secrets: ctx.show_secrets,
        },
    )
}
