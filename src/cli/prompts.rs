//! `aix list`, `aix show NAME`, `aix delete NAME`: saved prompts.

use serde_json::{Value, json};

use super::Ctx;
use crate::error::Result;
use crate::output;
use crate::prompt::{Format, Prompt, Prompts};

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

fn to_json(p: &Prompt) -> Value {
    json!({
        "name": p.name,
        "description": p.description,
        "params": params(p),
        "system": p.system,
        "model": p.model,
        "template": p.template,
        "format": match p.format { Format::Toml => "toml", Format::Legacy => "legacy" },
        "path": p.path.display().to_string(),
    })
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
    if args.json {
        output::json(&Value::Array(ok.iter().map(to_json).collect()))?;
        return Ok(());
    }
    if ok.is_empty() {
        output::note(
            "no prompts yet; save one with `aix create NAME \"TEMPLATE with {placeholders}\"`",
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = ok
        .iter()
        .map(|p| {
            let mut desc = p.description.clone().unwrap_or_default();
            if p.format == Format::Legacy {
                desc = format!("{desc} (earlier AIX, read-only)")
                    .trim()
                    .to_string();
            }
            let ps = params(p);
            vec![
                p.name.clone(),
                if ps.is_empty() {
                    "-".into()
                } else {
                    ps.join(", ")
                },
                desc,
            ]
        })
        .collect();
    output::table(&["NAME", "PARAMS", "DESCRIPTION"], &rows)?;
    Ok(())
}

pub fn show(ctx: &Ctx, args: ShowArgs) -> Result<()> {
    let p = Prompts::new(ctx.store.home()).load(&args.name)?;
    if args.json {
        output::json(&to_json(&p))?;
        return Ok(());
    }
    let mut t = format!("name:        {}\n", p.name);
    let field = |t: &mut String, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            t.push_str(&format!("{k:<12} {v}\n"));
        }
    };
    field(&mut t, "description:", &p.description);
    field(&mut t, "model:", &p.model);
    let ps = params(&p);
    t.push_str(&format!(
        "params:      {}\n",
        if ps.is_empty() {
            "-".into()
        } else {
            ps.join(", ")
        }
    ));
    t.push_str(&format!("file:        {}\n", p.path.display()));
    if let Some(s) = &p.system {
        t.push_str(&format!("\n--- system ---\n{s}\n"));
    }
    t.push_str(&format!("\n--- template ---\n{}\n", p.template));
    output::print(&t)?;
    Ok(())
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
