//! `aix plan`: show what `aix apply` would change.

use std::path::PathBuf;

use std::io::IsTerminal;

use super::Ctx;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::output;
use crate::reconcile::{self, Options};
use crate::validate;

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
    if args.json {
        output::json(&plan.to_json(ctx.show_secrets))?;
    } else {
        output::print(&plan.render(ctx.show_secrets))?;
    }
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
