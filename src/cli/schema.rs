//! `aix schema [manifest|config]`: print a JSON Schema.

use crate::error::Result;
use crate::output;
use crate::schema::{self, Kind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which schema: providers.toml (manifest) or config.json (config)
    #[arg(value_enum, default_value = "manifest")]
    kind: Kind,
}

pub fn run(args: &Args) -> Result<()> {
    output::print(&schema::text(args.kind))?;
    Ok(())
}
