//! `aix plan`: show what `aix apply` would change.

use std::path::PathBuf;

use std::io::IsTerminal;

use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{self, Piece, View};
use crate::plan::manifest::Manifest;
use crate::plan::reconcile::{self, Options};
use crate::schema::validate;
use crate::targets::{self, plan::TargetPlan};

/// The manifest files, shared by `plan` and `apply`.
#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// Manifest file (repeatable; default $AIX_MANIFEST, else ./providers.toml)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
}

impl ManifestArgs {
    /// `-f` files, else `$AIX_MANIFEST` (`:`-separated), else `./providers.toml`.
    pub fn paths(&self) -> Vec<PathBuf> {
        if !self.files.is_empty() {
            return self.files.clone();
        }
        match std::env::var_os("AIX_MANIFEST").filter(|v| !v.is_empty()) {
            Some(v) => std::env::split_paths(&v).collect(),
            None => vec![PathBuf::from("providers.toml")],
        }
    }

    /// Validates the manifest files (as `aix validate` does: every problem,
    /// with its place) and reads them, parsing each once. Errors refuse;
    /// warnings are shown.
    pub fn load(&self) -> Result<Manifest> {
        let paths = self.paths();
        for p in &paths {
            if let Err(e) = std::fs::metadata(p) {
                return Err(Error::new(format!("cannot read {}: {e}", p.display()))
                    .hint("name the manifest with -f FILE (repeatable) or $AIX_MANIFEST"));
            }
        }
        let (report, manifest) = validate::load_manifests(&paths);
        if !report.problems.is_empty() {
            output::eprint(&report.render(std::io::stderr().is_terminal()));
        }
        manifest
    }
}

/// A plan: its JSON document, and as text its rendering. Either is made
/// only when shown (plans of 10,000 providers are big).
pub struct PlanView<'a> {
    plan: &'a reconcile::Plan,
    targets: &'a [TargetPlan],
    show_secrets: bool,
}

impl<'a> PlanView<'a> {
    pub fn new(plan: &'a reconcile::Plan, targets: &'a [TargetPlan], show_secrets: bool) -> Self {
        PlanView {
            plan,
            targets,
            show_secrets,
        }
    }

    /// The plan's JSON document (`targets` only when the manifest has
    /// targets, or had).
    pub fn to_json(&self) -> Value {
        let mut doc = self.plan.to_json(self.show_secrets);
        if !self.targets.is_empty() {
            doc["targets"] = targets::plan::to_json(self.targets, self.show_secrets);
            doc["summary"] = summary(self.plan, self.targets).to_json();
        }
        doc
    }

    /// The text: config.json's changes, then each target file's.
    fn render(&self) -> String {
        if self.targets.is_empty() {
            return self.plan.render(self.show_secrets);
        }
        let any = has_changes(self.plan, self.targets);
        let mut out = String::new();
        if !any {
            out.push_str("No changes. config.json and the target files match the manifest.\n");
        } else if self.plan.is_empty() {
            out.push_str(
                "aix will make these changes (config.json already matches the manifest):\n",
            );
        } else {
            out.push_str("aix will make these changes:\n");
            out.push_str(&self.plan.render_changes(self.show_secrets));
        }
        out.push_str(&targets::plan::render(self.targets, self.show_secrets));
        if any {
            out.push('\n');
            out.push_str(&summary(self.plan, self.targets).plan_line());
            out.push('\n');
        }
        out
    }
}

/// Whether applying changes anything, in config.json or a target file.
pub fn has_changes(plan: &reconcile::Plan, targets: &[TargetPlan]) -> bool {
    !plan.is_empty() || targets.iter().any(TargetPlan::has_changes)
}

/// The counts of config.json's changes and every target entry's.
pub fn summary(plan: &reconcile::Plan, targets: &[TargetPlan]) -> reconcile::Summary {
    let mut s = plan.summary();
    for c in targets.iter().flat_map(|t| &t.changes) {
        s.count(c.action);
    }
    s
}

impl Serialize for PlanView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl View for PlanView<'_> {
    fn text(&self) -> Vec<Piece> {
        vec![Piece::Styled(self.render())]
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    manifest: ManifestArgs,
    /// Exit 2 when there are changes (0 none, 1 error)
    #[arg(long)]
    detailed_exitcode: bool,
    /// Include providers not owned by the manifest, as `apply --prune-unowned` would
    #[arg(long)]
    prune_unowned: bool,
    /// Print the plan as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let manifest = args.manifest.load()?;
    let state = ctx.store.load()?;
    let plan = reconcile::plan(
        &manifest,
        &state,
        Options {
            prune_unowned: args.prune_unowned,
        },
    );
    let targets = targets::plan::plan(&manifest, &state, &ctx.store.config_path())?;
    output::emit(
        output::Format::json_if(args.json),
        &PlanView::new(&plan, &targets, ctx.show_secrets),
    )?;
    let code = if args.detailed_exitcode && has_changes(&plan, &targets) {
        2
    } else {
        0
    };
    // The process ends next: freeing a 10,000-provider state and manifest
    // piece by piece would cost more than a tenth of the run.
    std::mem::forget((manifest, state, plan));
    Ok(code)
}
