//! The `aix` binary: parse, run, and turn the outcome into an exit code.

use std::process::ExitCode;

/// mimalloc: aix builds and drops large JSON and TOML trees (a 10,000
/// provider config is ~100,000 small allocations); glibc's allocator made
/// a fifth of `aix apply` on such a config.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match aix::cli::run(std::env::args_os()) {
        Ok(code) => ExitCode::from(code),
        Err(err) if err.kind() == aix::error::Kind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            aix::output::error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}
