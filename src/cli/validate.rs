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
    /// Also read every reference (${env:}, ${file:}, ${cmd:}, ${keyring:})
    /// the providers hold, and report those that give no value (values are
    /// never shown)
    #[arg(long)]
    resolve: bool,
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
    let mut report = validate::check(&files);
    if args.resolve && report.errors() == 0 {
        resolve_references(&files, &mut report);
    }
    finish(&report, args.json, args.strict)
}

/// Adds an error for each reference of each provider in `files` that
/// gives no value (commands run, files read: the values are dropped).
fn resolve_references(files: &[(PathBuf, Kind)], report: &mut Report) {
    use crate::plan::manifest::Location;
    let mut providers: Vec<(crate::provider::Provider, Location, &str)> = Vec::new();
    for (path, kind) in files {
        match kind {
            Kind::Manifest => {
                if let (_, Ok(m)) = validate::load_manifests(std::slice::from_ref(path)) {
                    providers.extend(
                        m.entries
                            .into_iter()
                            .map(|e| (e.provider, e.at, "providers")),
                    );
                }
            }
            Kind::Config => {
                let Ok(text) = std::fs::read_to_string(path) else {
                    continue;
                };
                let Ok(serde_json::Value::Object(doc)) = serde_json::from_str(&text) else {
                    continue;
                };
                let state = crate::config::state::State::from_doc(doc);
                for (_, p) in state.provider_entries() {
                    if let Ok(p) = p {
                        let at = Location {
                            file: path.clone(),
                            line: 1,
                            column: 1,
                        };
                        providers.push((p, at, "custom_providers"));
                    }
                }
            }
        }
    }
    // Manifests are read again to point at each reference's own line.
    let mut texts: std::collections::HashMap<PathBuf, String> = Default::default();
    for (p, at, table) in providers {
        for (field, value) in p.references() {
            let Err(e) = crate::secret::resolve::global().resolve(&value) else {
                continue;
            };
            let mut place = at.clone();
            if table == "providers" {
                let text = texts
                    .entry(at.file.clone())
                    .or_insert_with(|| std::fs::read_to_string(&at.file).unwrap_or_default());
                if let Ok(doc) = crate::plan::manifest::Document::parse(&at.file, text) {
                    let mut pointer = vec!["providers".to_string(), p.name.clone()];
                    pointer.extend(field.iter().cloned());
                    if let Some((_, v)) = doc.span(&pointer) {
                        place = doc.locate(v.start);
                    }
                }
            }
            report.problems.push(validate::Problem {
                at: place,
                severity: validate::Severity::Error,
                message: format!(
                    "{table}.{}.{}: {value} gives no value: {e}",
                    p.name,
                    field.join(".")
                ),
                hint: None,
            });
        }
    }
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
