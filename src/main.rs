//! The `aix` binary: parse, run, and turn the outcome into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match aix::cli::run(std::env::args_os()) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            aix::output::error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}
