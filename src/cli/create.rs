//! `aix create NAME TEMPLATE`: save a prompt template.

use std::path::PathBuf;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output;
use crate::run::prompt::{self, Format, Prompt, Prompts, Template};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prompt name: 1-64 of A-Z a-z 0-9 . _ - (not starting with '.')
    #[arg(value_parser = prompt::parse_name)]
    name: String,
    /// Template with {name} placeholders ({{ and }} are literal braces); @FILE reads a file
    template: String,
    /// One line saying what the prompt is for
    #[arg(long, short = 'd')]
    description: Option<String>,
    /// System message sent before the template
    #[arg(long, short = 's')]
    system: Option<String>,
    /// Model used when neither --model nor the provider names one
    #[arg(long, short = 'm', value_parser = crate::provider::parse_model)]
    model: Option<String>,
    /// Replace an existing prompt of the same name
    #[arg(long, short = 'f')]
    force: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let template = if let Some(rest) = args.template.strip_prefix("@@") {
        format!("@{rest}")
    } else if let Some(path) = args.template.strip_prefix('@') {
        crate::limits::read_text(
            std::path::Path::new(path),
            crate::limits::TEXT_INPUT,
            crate::limits::Accept::Readable,
            "template file",
        )
        .map_err(|e| {
            e.hints()
                .iter()
                .fold(Error::usage(e.message()), |u, h| u.hint(h.clone()))
        })?
    } else {
        args.template
    };
    let parsed = Template::parse(&template).map_err(|e| {
        Error::usage(format!("template {e}"))
            .hint("placeholders look like {topic}; write {{ and }} for literal braces")
    })?;
    let prompt = Prompt {
        name: args.name,
        template,
        description: args.description,
        system: args.system,
        model: args.model,
        format: Format::Toml,
        path: PathBuf::new(),
    };
    let path = Prompts::new(ctx.store.home()).save(&prompt, args.force, ctx.store.notes())?;
    let params = parsed.params();
    let params = if params.is_empty() {
        "no parameters".to_string()
    } else {
        format!("parameters: {}", params.join(", "))
    };
    output::status(format!(
        "Saved prompt '{}' ({params}) to {}",
        prompt.name,
        path.display()
    ));
    Ok(())
}
