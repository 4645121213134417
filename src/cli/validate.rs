//! `aix validate [FILE]...`: check manifests and config.json.

use std::io::IsTerminal;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{self, Piece, View};
use crate::schema::Kind;
use crate::schema::validate::{self, Report};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to check (default: ./providers.toml if present, and the live config.json)
    files: Vec<PathBuf>,
    /// Treat every FILE as this kind instead of guessing from its extension
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Fail on warnings too
    #[arg(long)]
    strict: bool,
    /// Print the problems as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut files = Vec::new();
    if args.files.is_empty() {
        let manifest = PathBuf::from("providers.toml");
        if manifest.exists() {
            files.push((manifest, Kind::Manifest));
        }
        let config = ctx.store.config_path();
        if config.exists() {
            files.push((config, Kind::Config));
        }
        if files.is_empty() {
            return Err(
                Error::new("nothing to validate: no ./providers.toml and no config.json")
                    .hint("name the files: aix validate FILE..."),
            );
        }
    } else {
        for f in &args.files {
            let kind = args.kind.or_else(|| validate::kind_of(f)).ok_or_else(|| {
                Error::usage(format!(
                    "cannot tell what {} is from its extension",
                    f.display()
                ))
                .hint("pass --kind manifest or --kind config")
            })?;
            files.push((f.clone(), kind));
        }
    }
    let report = validate::check(&files);
    finish(&report, args.json, args.strict)
}

/// Prints a report and turns it into the exit status.
fn finish(report: &Report, as_json: bool, strict: bool) -> Result<()> {
    let view = ReportView {
        files: report.files,
        errors: report.errors(),
        warnings: report.warnings(),
        problems: report.problems.iter().map(|p| p.to_json()).collect(),
        report,
    };
    output::emit(output::Format::json_if(as_json), &view)?;
    let (e, w) = (report.errors(), report.warnings());
    let summary = format!(
        "{e} error{}, {w} warning{} in {} file{}",
        if e == 1 { "" } else { "s" },
        if w == 1 { "" } else { "s" },
        report.files,
        if report.files == 1 { "" } else { "s" }
    );
    if e > 0 || (strict && w > 0) {
        return Err(Error::new(format!("validation failed: {summary}")));
    }
    if !as_json {
        output::status(format!("valid: {summary}"));
    }
    Ok(())
}

/// `aix validate`: the problems found, and how many of each kind.
#[derive(Serialize)]
struct ReportView<'a> {
    files: usize,
    errors: usize,
    warnings: usize,
    problems: Vec<Value>,
    #[serde(skip)]
    report: &'a Report,
}

impl View for ReportView<'_> {
    fn text(&self) -> Vec<Piece> {
        vec![Piece::Text(
            self.report.render(std::io::stdout().is_terminal()),
        )]
    }
}
