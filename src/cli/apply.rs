//! `aix apply`: make config.json match the manifest.
//!
//! Like terraform's state lock, the config lock is held from reading
//! config.json to writing it: the plan is computed, shown, confirmed where
//! it destroys or overwrites, and applied to the very state it was computed
//! from, so what was shown is exactly what is done. (Another aix process
//! that needs config.json meanwhile waits for the lock, and gives up with
//! an error naming it after the lock timeout.) config.json is parsed once.

use std::io::{self, IsTerminal};

use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use super::plan::{ManifestArgs, PlanView, has_changes, summary};
use crate::error::{Error, Result};
use crate::output::{self, Piece, View};
use crate::plan::reconcile::{self, Options};
use crate::targets::{self, plan::TargetPlan};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    manifest: ManifestArgs,
    /// Destroy without asking (required without a terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// Overwrite providers changed outside aix, and take over unowned ones that differ
    #[arg(long)]
    force: bool,
    /// Also destroy providers the manifest does not own (added with `aix provider add`)
    #[arg(long)]
    prune_unowned: bool,
    /// Print what was applied as JSON (the plan's document, and whether it was applied)
    #[arg(long)]
    json: bool,
}

/// `apply --json`: the plan that was applied (the document `plan --json`
/// prints), and whether it changed anything.
#[derive(Serialize)]
struct Applied {
    #[serde(flatten)]
    plan: Value,
    applied: bool,
}

impl View for Applied {
    fn text(&self) -> Vec<Piece> {
        // As text, the plan is shown before it is confirmed and applied.
        Vec::new()
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let manifest = args.manifest.load()?;
    let opts = Options {
        prune_unowned: args.prune_unowned,
    };
    let interactive = io::stdin().is_terminal() && io::stderr().is_terminal();
    let format = output::Format::json_if(args.json);
    let (applied, targets) = ctx.store.update(|s| {
        let plan = reconcile::plan(&manifest, s, opts);
        let targets = targets::plan::plan(&manifest, s, &ctx.store.config_path())?;
        if format == output::Format::Text {
            output::emit(format, &PlanView::new(&plan, &targets, ctx.show_secrets))?;
        }
        if has_changes(&plan, &targets) {
            confirm_plan(&plan, &targets, &args, interactive)?;
        }
        // Target files first: config.json then records what they hold.
        // An empty plan may still carry bookkeeping (records of providers
        // gone everywhere); the store writes only if something changed.
        targets::plan::apply(&targets, s)?;
        reconcile::apply(&plan, s);
        Ok((plan, targets))
    })?;
    let changed = has_changes(&applied, &targets);
    if format != output::Format::Text {
        let view = Applied {
            plan: PlanView::new(&applied, &targets, ctx.show_secrets).to_json(),
            applied: changed,
        };
        output::emit(format, &view)?;
    }
    if !changed {
        return Ok(());
    }
    let counts = summary(&applied, &targets).counts(["added", "changed", "destroyed", "adopted"]);
    output::status(format!("Apply complete: {counts}."));
    Ok(())
}

/// The two questions a plan may need answered: overwriting edits made
/// outside the manifest (`--force`) and destroying (`--yes`).
fn confirm_plan(
    plan: &reconcile::Plan,
    targets: &[TargetPlan],
    args: &Args,
    interactive: bool,
) -> Result<()> {
    let in_targets = |pick: &dyn Fn(&targets::plan::ItemChange) -> bool| -> Vec<String> {
        targets
            .iter()
            .flat_map(|t| {
                t.changes
                    .iter()
                    .filter(|c| pick(c))
                    .map(move |c| format!("'{}' in {}", c.id, targets::shown_path(&t.path)))
            })
            .collect()
    };
    let mut forced = names(&plan.needing_force());
    forced.extend(in_targets(&|c| c.needs_force()));
    let mut destroyed = names(&plan.destroys());
    destroyed.extend(in_targets(&|c| c.action == reconcile::Action::Destroy));
    gate(
        &forced,
        args.force,
        interactive,
        |n, names| {
            format!(
                "{n} change{} would overwrite or delete edits made outside the manifest: {names}",
                plural(n)
            )
        },
        "run `aix apply --force` to go ahead, or update the manifest to match",
        |names| format!("Overwrite {names}, changed outside the manifest?"),
    )?;
    gate(
        &destroyed,
        args.yes,
        interactive,
        |n, names| {
            if n == plan.destroys().len() {
                format!("apply would destroy {n} provider{}: {names}", plural(n))
            } else {
                format!("apply would destroy {n} providers or target entries: {names}")
            }
        },
        "run `aix apply --yes` to confirm (no terminal to ask on)",
        |names| format!("Destroy {names}?"),
    )
}

/// Lets `changes` through when the flag was given, asks on a terminal, and
/// refuses otherwise.
fn gate(
    changes: &[String],
    allowed: bool,
    interactive: bool,
    refusal: impl Fn(usize, &str) -> String,
    hint: &str,
    question: impl Fn(&str) -> String,
) -> Result<()> {
    if changes.is_empty() || allowed {
        return Ok(());
    }
    let names = changes.join(", ");
    if !interactive {
        return Err(Error::new(refusal(changes.len(), &names)).hint(hint));
    }
    confirm(&question(&names))
}

fn names(changes: &[&reconcile::Change]) -> Vec<String> {
    changes.iter().map(|c| format!("'{}'", c.name)).collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Asks on the terminal; anything but `yes` cancels.
fn confirm(question: &str) -> Result<()> {
    let answer = super::ask(&format!("{question} Only 'yes' goes ahead: "))
        .map_err(|e| Error::new(format!("cannot read the answer: {e}")))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::new("apply cancelled; nothing was changed"))
    }
}
