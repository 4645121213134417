//! The `aix` binary: parse, run, and turn the outcome into an exit code.

use std::process::ExitCode;

/// mimalloc: aix builds and drops large JSON and TOML trees (a 10,000
/// provider config is ~100,000 small allocations); glibc's allocator made
/// a fifth of `aix apply` on such a config.
///
/// Built with `no_thp`: it does not ask for transparent huge pages (the
/// system's default applies, as for other programs). On a virtual machine
/// that hands idle memory back to its host (virtio free page reporting),
/// each huge page a process touches first costs the host faulting in
/// 2 MiB: a plan of 20,000 providers run after a few seconds idle took
/// 0.45-0.54 s, 0.2-0.3 s of it in the kernel zeroing pages, instead of
/// 0.25 s. With small pages it takes 0.23-0.26 s idle or not; the price is
/// more page faults, a few ms on real hardware.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (its place in the v2 option list of
/// the libmimalloc-sys that Cargo.lock pins; the test below checks it).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Never hands freed memory back to the OS while aix runs. mimalloc does
/// that 100 ms after a free by default (`madvise(MADV_DONTNEED)`), and
/// what it reuses after that is faulted in again: a command that runs
/// longer than that (a plan of 20,000 providers) had 1,178-2,229 page
/// faults where one of 10,000 had ~400, so its time stopped growing
/// linearly with its input. aix is a short-lived process whose memory the
/// OS gets back at exit; the long-lived ones (a stream relay, the REPL)
/// keep a flat heap that mimalloc reuses anyway.
fn keep_freed_memory() {
    // SAFETY: sets one integer option; mimalloc reads options at any time
    // and `purge_delay < 0` only switches purging off.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

fn main() -> ExitCode {
    keep_freed_memory();
    match aix::cli::run(std::env::args_os()) {
        Ok(code) => ExitCode::from(code),
        Err(err) if err.kind() == aix::error::Kind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            aix::output::error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number is mimalloc's `purge_delay`: its default is 10
    /// (ms), and setting it reads back.
    #[test]
    fn purge_delay_is_the_option_set() {
        // SAFETY: reads and sets one integer option.
        unsafe {
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(mi_option_get(MI_OPTION_PURGE_DELAY), 10);
            }
            keep_freed_memory();
            assert_eq!(mi_option_get(MI_OPTION_PURGE_DELAY), -1);
        }
    }
}
