//! `aix list`, `aix show NAME`, `aix delete NAME`: saved prompts.

use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::notes::Note;
use crate::output::{self, Piece, View};
use crate::run::prompt::{Format, Prompt, Prompts};

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Prompt name
    name: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// Prompt name
    name: String,
}

fn params(p: &Prompt) -> Vec<String> {
    p.parsed()
        .map(|t| t.params().into_iter().map(String::from).collect())
        .unwrap_or_default()
}

/// A prompt in `aix list --json` and `aix show --json`.
#[derive(Serialize)]
struct PromptJson {
    name: String,
    description: Option<String>,
    params: Vec<String>,
    system: Option<String>,
    model: Option<String>,
    template: String,
    format: &'static str,
    path: String,
}

fn prompt_json(p: &Prompt) -> PromptJson {
    PromptJson {
        name: p.name.clone(),
        description: p.description.clone(),
        params: params(p),
        system: p.system.clone(),
        model: p.model.clone(),
        template: p.template.clone(),
        format: match p.format {
            Format::Toml => "toml",
            Format::Legacy => "legacy",
        },
        path: p.path.display().to_string(),
    }
}

pub fn list(ctx: &Ctx, args: ListArgs) -> Result<()> {
    let prompts = Prompts::new(ctx.store.home());
    let mut ok = Vec::new();
    for (name, p) in prompts.list() {
        match p {
            Ok(p) => ok.push(p),
            Err(e) => output::warn(format!("skipping prompt '{name}': {}", e.message())),
        }
    }
    let view = ListView {
        items: ok.iter().map(prompt_json).collect(),
        prompts: ok,
    };
    output::emit(output::Format::json_if(args.json), &view)
}

/// `aix list`: the saved prompts that can be read.
#[derive(Serialize)]
#[serde(transparent)]
struct ListView {
    items: Vec<PromptJson>,
    #[serde(skip)]
    prompts: Vec<Prompt>,
}

impl View for ListView {
    fn text(&self) -> Vec<Piece> {
        if self.prompts.is_empty() {
            return vec![Piece::Note(Note::info(
                "no prompts yet; save one with `aix create NAME \"TEMPLATE with {placeholders}\"`",
            ))];
        }
        let rows = self
            .prompts
            .iter()
            .map(|p| {
                let mut desc = p.description.clone().unwrap_or_default();
                if p.format == Format::Legacy {
                    desc = format!("{desc} (earlier AIX, read-only)")
                        .trim()
                        .to_string();
                }
                vec![p.name.clone(), params_text(&params(p)), desc]
            })
            .collect();
        vec![Piece::Table {
            headers: &["NAME", "PARAMS", "DESCRIPTION"],
            rows,
        }]
    }
}

/// Parameter names for a person: comma-separated, or `-` for none.
fn params_text(ps: &[String]) -> String {
    if ps.is_empty() {
        "-".into()
    } else {
        ps.join(", ")
    }
}

pub fn show(ctx: &Ctx, args: ShowArgs) -> Result<()> {
    let p = Prompts::new(ctx.store.home()).load(&args.name)?;
    let view = ShowView {
        json: prompt_json(&p),
        prompt: p,
    };
    output::emit(output::Format::json_if(args.json), &view)
}

/// `aix show`: one prompt.
#[derive(Serialize)]
#[serde(transparent)]
struct ShowView {
    json: PromptJson,
    #[serde(skip)]
    prompt: Prompt,
}

impl View for ShowView {
    fn text(&self) -> Vec<Piece> {
        let p = &self.prompt;
        let mut t = format!("name:        {}\n", p.name);
        let field = |t: &mut String, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                t.push_str(&format!("{k:<12} {v}\n"));
            }
        };
        field(&mut t, "description:", &p.description);
        field(&mut t, "model:", &p.model);
        t.push_str(&format!(
            "params:      {}\n",
            params_text(&self.json.params)
        ));
        t.push_str(&format!("file:        {}\n", p.path.display()));
        if let Some(s) = &p.system {
            t.push_str(&format!("\n--- system ---\n{s}\n"));
        }
        t.push_str(&format!("\n--- template ---\n{}\n", p.template));
        vec![Piece::Text(t)]
    }
}

pub fn delete(ctx: &Ctx, args: DeleteArgs) -> Result<()> {
    let path = Prompts::new(ctx.store.home()).delete(&args.name)?;
    output::status(format!(
        "Deleted prompt '{}' ({})",
        args.name,
        path.display()
    ));
    Ok(())
}
