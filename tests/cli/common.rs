//! A sandbox per test: a temp home, a clean environment, helpers to read
//! and write config.json.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_aix");

pub struct Sandbox {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        Sandbox {
            home: root.join("aix-home"),
            root,
            _dir: dir,
        }
    }

    /// `aix` with only PATH, HOME, AIX_HOME and NO_COLOR set.
    pub fn aix(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("AIX_HOME", &self.home)
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs `aix args...` (stdin empty).
    pub fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.aix().args(args).write_stdin("").assert()
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.join("config.json")
    }

    /// config.json's bytes, or None when it does not exist.
    pub fn config_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.config_path()).ok()
    }

    pub fn config(&self) -> Value {
        serde_json::from_slice(&self.config_bytes().expect("config.json exists")).unwrap()
    }

    pub fn write_config(&self, text: &str) {
        std::fs::create_dir_all(&self.home).unwrap();
        set_mode(&self.home, 0o700);
        std::fs::write(self.config_path(), text).unwrap();
        set_mode(&self.config_path(), 0o600);
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

pub fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

pub fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// A config.json holding a provider plus keys other tools own, written
/// compactly so any rewrite would show.
pub const FOREIGN: &str = r#"{"zeta_tool":{"x":[1,2,{"y":null}]},"default_provider":"openai","custom_providers":{"keep":{"base_url":"http://keep.local/v1","vendor_field":7}},"api_keys":{"keep":"sk-keep-canary"},"alpha":1.5}"#;

/// A sandbox with provider `local` at `base` (default model `m`, and the
/// key `key` when given) and a saved prompt `greet` ("Hello").
pub fn with_local_provider(base: &str, key: Option<&str>) -> Sandbox {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "local", base, "--model", "m"])
        .success();
    if let Some(key) = key {
        sb.aix()
            .args(["api-key", "local"])
            .write_stdin(format!("{key}\n"))
            .assert()
            .success();
    }
    sb.run(&["create", "greet", "Hello"]).success();
    sb
}

/// A sandbox with provider `p` at `base` (default model `m`) added with
/// the `extra` flags, and the prompt `greet` ("Hello").
pub fn provider_p(base: &str, extra: &[&str]) -> Sandbox {
    let sb = Sandbox::new();
    let mut args = vec!["provider", "add", "p", base, "--model", "m"];
    args.extend_from_slice(extra);
    sb.run(&args).success();
    sb.run(&["create", "greet", "Hello"]).success();
    sb
}

/// `aix run greet --provider p -e ARGS...`, stdin empty.
pub fn send_p(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    sb.aix()
        .args(["run", "greet", "--provider", "p", "-e"])
        .args(args)
        .write_stdin("")
        .assert()
}

/// `aix run greet --provider local -e ARGS...`, stdin empty.
pub fn run_greet(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    sb.aix()
        .args(["run", "greet", "--provider", "local", "-e"])
        .args(args)
        .write_stdin("")
        .assert()
}

impl Sandbox {
    /// `aix args...` for a pseudo-terminal (rexpect): PATH, HOME, AIX_HOME
    /// and `TERM=xterm`, run in the sandbox's root. Colour stays allowed;
    /// callers that want none add `NO_COLOR`.
    pub fn tty_command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("AIX_HOME", &self.home)
            .env("TERM", "xterm")
            .current_dir(&self.root)
            .args(args);
        cmd
    }
}

/// The bytes rexpect read: it hands back one char per byte.
pub fn tty_bytes(seen: &str) -> Vec<u8> {
    seen.chars().map(|c| c as u32 as u8).collect()
}

/// [`tty_bytes`] as text, invalid UTF-8 shown as U+FFFD.
pub fn tty_text(seen: &str) -> String {
    String::from_utf8_lossy(&tty_bytes(seen)).into_owned()
}

/// `text` with every run of whitespace as one space: prose that a plan
/// wraps at 80 columns, for `contains` checks (negative ones included).
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
