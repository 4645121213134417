//! Exit codes, help, completions, colour, home resolution.

use predicates::prelude::*;

use crate::common::*;

#[test]
fn exit_codes_for_help_version_and_usage() {
    let sb = Sandbox::new();
    sb.run(&["--help"])
        .code(0)
        .stdout(predicate::str::contains("Exit codes"));
    sb.run(&["provider", "add", "--help"])
        .code(0)
        .stdout(predicate::str::contains("--api-key-env"));
    sb.run(&["--version"])
        .code(0)
        .stdout(format!("aix {}\n", env!("CARGO_PKG_VERSION")));
    sb.run(&[]).code(64);
    sb.run(&["--no-such-flag"]).code(64);
    sb.run(&["frobnicate"]).code(64);
    sb.run(&["provider", "list", "--color", "sometimes"])
        .code(64);
    assert!(sb.config_bytes().is_none(), "no command above writes");
}

#[test]
fn completions_for_each_shell() {
    let sb = Sandbox::new();
    // The scripts are dynamic now: they call back `COMPLETE=SHELL aix`.
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        sb.run(&["completions", shell])
            .success()
            .stdout(predicate::str::contains("COMPLETE"));
    }
    sb.run(&["completions", "tcsh"]).code(64);
}

#[test]
fn colour_only_when_asked_or_on_a_tty() {
    let sb = Sandbox::new();
    let plain = sb.run(&["provider", "remove", "ghost"]).code(1);
    assert!(
        !stderr(&plain).contains('\u{1b}'),
        "NO_COLOR and no TTY: no escapes"
    );
    let forced = sb
        .run(&["provider", "remove", "ghost", "--color", "always"])
        .code(1);
    assert!(stderr(&forced).contains('\u{1b}'));
    // Without NO_COLOR, a pipe is still not a terminal.
    let piped = sb
        .aix()
        .env_remove("NO_COLOR")
        .args(["provider", "remove", "ghost"])
        .assert()
        .code(1);
    assert!(!stderr(&piped).contains('\u{1b}'));
}

#[test]
fn home_resolution_order() {
    let sb = Sandbox::new();
    let legacy = sb.root.join("legacy");
    sb.aix()
        .env_remove("AIX_HOME")
        .env("AIX_STORAGE_PATH", &legacy)
        .args(["provider", "add", "a", "http://a"])
        .assert()
        .success();
    assert!(legacy.join("config.json").exists());
    sb.aix()
        .env_remove("AIX_HOME")
        .args(["provider", "add", "b", "http://b"])
        .assert()
        .success();
    let default_home = sb.root.join(".prompts");
    assert!(default_home.join("config.json").exists());
    assert_eq!(mode(&default_home), 0o700);
    // AIX_HOME wins over both; an empty value counts as unset.
    sb.aix()
        .env("AIX_STORAGE_PATH", &legacy)
        .env("AIX_HOME", "")
        .args(["provider", "info", "a"])
        .assert()
        .success();
}

#[test]
fn closed_stdout_is_not_a_crash() {
    let sb = Sandbox::new();
    for i in 0..30 {
        sb.run(&["provider", "add", &format!("p{i}"), "http://x"])
            .success();
    }
    let mut child = std::process::Command::new(BIN)
        .env("AIX_HOME", &sb.home)
        .args(["provider", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}
