//! `aix completions SHELL`: a completion script on stdout.

use clap_complete::Shell;

use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Shell,
}

pub fn run(args: &Args) -> Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut super::command(), "aix", &mut buf);
    crate::output::print(&String::from_utf8_lossy(&buf));
    Ok(())
}
