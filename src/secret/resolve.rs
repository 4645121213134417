//! Reading what references point at, once per process.
//!
//! - `${env:VAR}`: the environment.
//! - `${file:PATH}`: the file (`~/` expanded; a relative path is refused
//!   here: a manifest's are made absolute against its folder when it is
//!   read), at most [`MAX_SECRET`] bytes, one trailing newline trimmed; a
//!   file that group or others may read gets a warning.
//! - `${cmd:COMMAND}`: `sh -c COMMAND` with stdin closed and its stderr
//!   passed through (a password manager's prompt or complaint reaches the
//!   user), its stdout trimmed, within a timeout (10 s, or
//!   `AIX_CMD_TIMEOUT_SECS`). A failure names the command and its exit
//!   status, never its output. Each distinct command runs at most once per
//!   process, until [`Resolver::forget_commands`] (a 401 refresh).
//! - `${keyring:SERVICE/USER}`: the platform's secret store, when aix is
//!   built with the `keyring` feature.
//!
//! Every value read is returned beside the resolved text, so callers can
//! mask it in whatever the server sends back.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::Secret;
use super::envref::{self, Ref, RefError, Source};
use crate::notes::{Note, Notes};

/// The most a file or command may give as a secret.
pub const MAX_SECRET: usize = 64 * 1024;
const DEFAULT_CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves references, caching what files and commands gave.
#[derive(Default)]
pub struct Resolver {
    cache: Mutex<HashMap<(Source, String), Result<String, RefError>>>,
    notes: Mutex<Notes>,
}

/// The process's resolver.
pub fn global() -> &'static Resolver {
    static R: OnceLock<Resolver> = OnceLock::new();
    R.get_or_init(Resolver::default)
}

impl Resolver {
    /// Where warnings (a file others may read) go.
    pub fn set_notes(&self, notes: Notes) {
        *self.notes.lock().unwrap_or_else(|e| e.into_inner()) = notes;
    }

    /// `value` with every reference replaced, and the values read.
    pub fn resolve(&self, value: &str) -> Result<(String, Vec<Secret>), RefError> {
        let mut read = Vec::new();
        let text = envref::resolve_with(value, |r| {
            let v = self.one(r)?;
            read.push(Secret::new(v.clone()));
            Ok(v)
        })?;
        Ok((text, read))
    }

    /// Forgets what commands gave, so that the next use runs them again.
    pub fn forget_commands(&self) {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(s, _), _| *s != Source::Cmd);
    }

    fn one(&self, r: Ref<'_>) -> Result<String, RefError> {
        if r.source == Source::Env {
            return std::env::var(r.arg).map_err(|_| RefError::Unset(r.arg.to_string()));
        }
        let key = (r.source, r.arg.to_string());
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return hit.clone();
        }
        let got = match r.source {
            Source::File => self.file(r.arg),
            Source::Cmd => command(r.arg),
            Source::Keyring => keyring(r.arg),
            Source::Env => unreachable!("read above"),
        };
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, got.clone());
        got
    }

    fn file(&self, written: &str) -> Result<String, RefError> {
        let fail = |why: String| RefError::Failed(format!("${{file:{written}}}: {why}"));
        let path = match written.strip_prefix("~/") {
            Some(rest) => match std::env::var_os("HOME") {
                Some(home) => std::path::PathBuf::from(home).join(rest),
                None => return Err(fail("HOME is not set, so ~ cannot be expanded".into())),
            },
            None => std::path::PathBuf::from(written),
        };
        if !path.is_absolute() {
            return Err(fail(
                "the path is relative; write it absolute or from ~/ (a manifest's relative paths are made absolute when it is applied)".into(),
            ));
        }
        let meta = std::fs::metadata(&path).map_err(|e| fail(io_why(&e)))?;
        if !meta.is_file() {
            return Err(fail("is not a regular file".into()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                self.notes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .send(Note::warn(format!(
                        "{} holds a secret and may be read by others (mode {:o}); `chmod 600 {}`",
                        path.display(),
                        mode & 0o777,
                        path.display()
                    )));
            }
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_SECRET as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| fail(io_why(&e)))?;
        if bytes.len() > MAX_SECRET {
            return Err(fail(format!("is larger than {} KiB", MAX_SECRET / 1024)));
        }
        let text = String::from_utf8(bytes).map_err(|_| fail("is not UTF-8 text".into()))?;
        let text = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text);
        Ok(text.to_string())
    }
}

fn io_why(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn cmd_timeout() -> Duration {
    std::env::var("AIX_CMD_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s <= 3600.0)
        .map_or(DEFAULT_CMD_TIMEOUT, Duration::from_secs_f64)
}

/// Runs `cmd` through `sh -c` and returns its trimmed stdout.
fn command(cmd: &str) -> Result<String, RefError> {
    let shown = crate::output::clip(cmd, 120);
    let fail = |why: String| RefError::Failed(format!("`{shown}` {why}"));
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so a timeout stops what it started too.
        c.process_group(0);
    }
    let mut child = c
        .spawn()
        .map_err(|e| fail(format!("could not start: {e}")))?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = (&mut stdout)
            .take(MAX_SECRET as u64 + 1)
            .read_to_end(&mut buf);
        r.map(|_| buf)
    });
    let limit = cmd_timeout();
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= limit => {
                kill_group(&mut child);
                return Err(fail(format!(
                    "did not finish within {} s (AIX_CMD_TIMEOUT_SECS sets the limit)",
                    limit.as_secs_f64()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(fail(format!("could not be waited for: {e}"))),
        }
    };
    if !status.success() {
        let how = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "a signal".into(),
        };
        return Err(fail(format!("failed ({how}); its output is not shown")));
    }
    let bytes = match reader.join() {
        Ok(Ok(b)) => b,
        _ => return Err(fail("gave output that could not be read".into())),
    };
    if bytes.len() > MAX_SECRET {
        return Err(fail(format!("printed more than {} KiB", MAX_SECRET / 1024)));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| fail("printed something that is not UTF-8 text".into()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(fail("printed nothing".into()));
    }
    Ok(text.to_string())
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // The group's id is the child's (process_group(0)).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The kernel's user keyring on Linux: it needs no daemon, holds keys for
/// the user across processes until logout or reboot, and is what the
/// `keyring` crate's session-keyring backend cannot offer in containers.
#[cfg(all(feature = "keyring", target_os = "linux"))]
mod store {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};

    fn description(service: &str, user: &str) -> String {
        format!("aix:{service}/{user}")
    }

    pub fn get(service: &str, user: &str) -> Result<Option<String>, String> {
        let ring =
            KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(|e| e.to_string())?;
        match ring.search(&description(service, user)) {
            Ok(key) => {
                let bytes = key.read_to_vec().map_err(|e| e.to_string())?;
                String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| "the stored value is not UTF-8 text".to_string())
            }
            Err(linux_keyutils::KeyError::KeyDoesNotExist) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn set(service: &str, user: &str, secret: &str) -> Result<(), String> {
        let ring =
            KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(|e| e.to_string())?;
        ring.add_key(&description(service, user), secret)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// The platform's store (macOS Keychain, Windows Credential Manager).
#[cfg(all(feature = "keyring", not(target_os = "linux")))]
mod store {
    pub fn get(service: &str, user: &str) -> Result<Option<String>, String> {
        let entry = keyring::Entry::new(service, user).map_err(|e| e.to_string())?;
        match entry.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn set(service: &str, user: &str, secret: &str) -> Result<(), String> {
        keyring::Entry::new(service, user)
            .and_then(|e| e.set_password(secret))
            .map_err(|e| e.to_string())
    }
}

#[cfg(feature = "keyring")]
fn keyring(arg: &str) -> Result<String, RefError> {
    let (service, user) = arg.split_once('/').unwrap_or((arg, ""));
    let fail = |why: String| RefError::Failed(format!("${{keyring:{arg}}}: {why}"));
    match store::get(service.trim(), user.trim()) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(fail("no such entry in the secret store".into())),
        Err(e) => Err(fail(e)),
    }
}

#[cfg(not(feature = "keyring"))]
fn keyring(arg: &str) -> Result<String, RefError> {
    Err(RefError::Failed(format!(
        "${{keyring:{arg}}}: this aix was built without the secret store (build it with `cargo install --features keyring`)"
    )))
}

/// Stores `secret` in the platform's secret store under SERVICE/USER.
#[cfg(feature = "keyring")]
pub fn keyring_store(service: &str, user: &str, secret: &str) -> Result<(), String> {
    store::set(service, user, secret)
}

#[cfg(not(feature = "keyring"))]
pub fn keyring_store(_service: &str, _user: &str, _secret: &str) -> Result<(), String> {
    Err("this aix was built without the secret store (build it with `cargo install --features keyring`)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_run_once_and_failures_hide_output() {
        let r = Resolver::default();
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("n");
        let cmd = format!("echo x >> {0}; echo ' tok '", count.display());
        let (v, read) = r.resolve(&format!("Bearer ${{cmd:{cmd}}}")).unwrap();
        assert_eq!(v, "Bearer tok");
        assert_eq!(read[0].expose(), "tok");
        r.resolve(&format!("${{cmd:{cmd}}}")).unwrap();
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "x\n");
        r.forget_commands();
        r.resolve(&format!("${{cmd:{cmd}}}")).unwrap();
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "x\nx\n");
        let e = r
            .resolve("${cmd:printf 'secret-%s' out; exit 3}")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("exit status 3") && !e.contains("secret-out"),
            "{e}"
        );
    }

    #[test]
    fn files_are_read_trimmed_and_bounded() {
        let r = Resolver::default();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        std::fs::write(&f, "sk-file\n").unwrap();
        let (v, _) = r.resolve(&format!("${{file:{}}}", f.display())).unwrap();
        assert_eq!(v, "sk-file");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; MAX_SECRET + 1]).unwrap();
        assert!(r.resolve(&format!("${{file:{}}}", big.display())).is_err());
        let e = r.resolve("${file:rel/k}").unwrap_err().to_string();
        assert!(e.contains("relative"), "{e}");
        let e = r
            .resolve(&format!("${{file:{}}}", dir.path().join("none").display()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no such file"), "{e}");
    }
}
