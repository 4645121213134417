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
    show_secrets: bool,
}

impl<'a> PlanView<'a> {
    pub fn new(plan: &'a reconcile::Plan, show_secrets: bool) -> Self {
        PlanView { plan, show_secrets }
    }

    /// The plan's JSON document.
    pub fn to_json(&self) -> Value {
        self.plan.to_json(self.show_secrets)
    }
}

impl Serialize for PlanView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl View for PlanView<'_> {
    fn text(&self) -> Vec<Piece> {
        vec![Piece::Styled(self.plan.render(self.show_secrets))]
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
    output::emit(
        output::Format::json_if(args.json),
        &PlanView::new(&plan, ctx.show_secrets),
    )?;
    let code = if args.detailed_exitcode && !plan.is_empty() {
        2
    } else {
        0
    };
    // The process ends next: freeing a 10,000-provider state and manifest
    // piece by piece would cost more than a tenth of the run.
    std::mem::forget((manifest, state, plan));
    Ok(code)
}
