//! config.json on disk: where it lives, how it is read, and the one write path.
//!
//! Every change to config.json goes through [`Store::update`]: take an
//! exclusive lock on a sibling lock file, read the current file, apply a
//! closure, validate what changed, and replace the file atomically (temp
//! file in the same folder, fsync, rename, fsync the folder). Concurrent
//! `aix` processes therefore serialize instead of losing each other's
//! updates, and a crash leaves either the old or the new file, never a
//! torn one. Reads need no lock: a rename is atomic, so a reader sees one
//! whole version.
//!
//! A file that does not parse is reported with its line and column and is
//! never written: aix would rather stop than guess what the user meant.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::keypath::KeyPath;
use crate::config::state::State;
use crate::error::Error;
use crate::limits::{self, Accept, ReadError};
use crate::notes::Notes;
use crate::plan::manifest;
use crate::schema::validate;

const CONFIG_FILE: &str = "config.json";
const LOCK_FILE: &str = "config.json.lock";
const TEMP_PREFIX: &str = ".config.json.";
const TEMP_SUFFIX: &str = ".tmp";
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot find a home folder for aix: set AIX_HOME or HOME")]
    NoHome,
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{}:{line}:{column}: invalid JSON: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: the top level must be a JSON object, not {found}", path.display())]
    NotObject { path: PathBuf, found: &'static str },
    #[error("{} is a symbolic link; aix replaces config.json atomically and would turn the link into a file", path.display())]
    Symlink { path: PathBuf },
    #[error("cannot read {}: it is {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("cannot read {}: it is larger than the {} limit", path.display(), limits::human(*max))]
    TooLarge { path: PathBuf, max: u64 },
    #[error("timed out after {} s waiting for the lock on {}", timeout.as_secs(), path.display())]
    LockTimeout { path: PathBuf, timeout: Duration },
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        let message = e.to_string();
        match e {
            StoreError::Parse { .. } | StoreError::NotObject { .. } => Error::new(message)
                .hint("fix the file by hand; aix never overwrites a config.json it cannot read"),
            StoreError::Symlink { .. } => Error::new(message)
                .hint("point AIX_HOME at the folder holding the real file instead of linking config.json"),
            StoreError::LockTimeout { .. } => Error::new(message)
                .hint("another aix process is writing the config; run the command again once it has finished"),
            StoreError::NoHome => Error::new(message),
            StoreError::NotRegular { .. } => Error::new(message).hint(
                "config.json must be a regular file; move whatever is there aside and run the command again",
            ),
            StoreError::TooLarge { .. } => Error::new(message)
                .hint("aix refuses a config.json that size; see \"Limits\" in README"),
            StoreError::Read { ref source, .. } | StoreError::Write { ref source, .. }
                if source.kind() == io::ErrorKind::PermissionDenied =>
            {
                Error::new(message).hint("check the ownership and permissions of the aix home folder")
            }
            _ => Error::new(message),
        }
    }
}

/// The aix home folder and its config.json.
#[derive(Debug, Clone)]
pub struct Store {
    home: PathBuf,
    lock_timeout: Duration,
    /// Where the store says what it tightened on the way.
    notes: Notes,
}

/// The home folder from the environment: `$AIX_HOME`, else
/// `$AIX_STORAGE_PATH` (the earlier AIX's name), else `$HOME/.prompts`.
pub fn home_from_env() -> Result<PathBuf, StoreError> {
    for var in ["AIX_HOME", "AIX_STORAGE_PATH"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(v));
        }
    }
    std::env::home_dir()
        .filter(|h| !h.as_os_str().is_empty())
        .map(|h| h.join(".prompts"))
        .ok_or(StoreError::NoHome)
}

impl Store {
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Store {
            home: home.into(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            notes: Notes::default(),
        }
    }

    /// The store, saying what it changes on the way (permissions it
    /// tightens) to `notes`.
    pub fn with_notes(mut self, notes: Notes) -> Self {
        self.notes = notes;
        self
    }

    /// Where this store's notes go.
    pub fn notes(&self) -> &Notes {
        &self.notes
    }

    /// The store the environment points at. `AIX_LOCK_TIMEOUT_MS` shortens
    /// the lock wait (for tests of the timeout itself).
    pub fn from_env() -> Result<Self, StoreError> {
        let mut store = Store::new(home_from_env()?);
        if let Some(ms) = std::env::var("AIX_LOCK_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            store.lock_timeout = Duration::from_millis(ms);
        }
        Ok(store)
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.join(CONFIG_FILE)
    }

    pub fn lock_path(&self) -> PathBuf {
        self.home.join(LOCK_FILE)
    }

    /// Reads config.json; a missing (or blank) file is an empty state.
    pub fn load(&self) -> Result<State, StoreError> {
        let path = self.config_path();
        let bytes = self.read_bytes()?;
        parse(&path, &bytes)
    }

    /// The bytes of config.json, bounded; a missing file reads as none.
    fn read_bytes(&self) -> Result<Vec<u8>, StoreError> {
        let path = self.config_path();
        Ok(
            match limits::read_file(&path, limits::CONFIG, Accept::RegularFile) {
                Ok(b) => b,
                Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
                Err(ReadError::Io(source)) => return Err(StoreError::Read { path, source }),
                Err(ReadError::NotRegular(kind)) => {
                    return Err(StoreError::NotRegular { path, kind });
                }
                Err(ReadError::TooLarge(max)) => return Err(StoreError::TooLarge { path, max }),
            },
        )
    }

    /// The one write path: lock, read, `change`, validate, atomic write.
    ///
    /// Nothing is written when `change` fails, when validation fails, or
    /// when the state is unchanged (so no command rewrites the file just
    /// because it ran).
    ///
    /// Nothing is written either while the file holds data a write would
    /// destroy: a key given twice (JSON readers keep one) or a known key
    /// holding the wrong type (see [`State::misshapen`]).
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.update_at(None, change)
    }

    /// [`Store::update`] for a change that replaces or removes the value at
    /// `repair` (`aix config set|unset`): problems at or below that path do
    /// not block it, since the user is replacing exactly that data.
    pub fn update_at<T>(
        &self,
        repair: Option<&KeyPath>,
        change: impl FnOnce(&mut State) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.ensure_home()?;
        let _lock = self.lock()?;
        self.sweep_stale_temps();
        let bytes = self.read_bytes()?;
        let before = parse(&self.config_path(), &bytes)?;
        self.refuse_lossy_write(&before, &bytes, repair)?;
        let mut after = before.clone();
        let value = change(&mut after)?;
        after.check_changes(&before)?;
        if !crate::config::state::map_eq(after.doc(), before.doc()) {
            self.write(&after, &exponent_spellings(&bytes), bytes.len())?;
        }
        Ok(value)
    }

    /// Refuses to write over a file with duplicate keys or wrong-typed
    /// known keys, naming the place (`config.json:LINE:COL`).
    fn refuse_lossy_write(
        &self,
        state: &State,
        bytes: &[u8],
        repair: Option<&KeyPath>,
    ) -> Result<(), Error> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(());
        };
        let path = self.config_path();
        let covered =
            |pointer: &[String]| repair.is_some_and(|r| pointer.starts_with(r.segments()));
        let dotted = |pointer: &[String]| -> String {
            pointer
                .iter()
                .map(|s| {
                    if s.contains(['.', '"']) {
                        format!("\"{s}\"")
                    } else {
                        s.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(".")
        };
        if let Some(d) = validate::json_duplicates(text)
            .into_iter()
            .find(|d| !covered(&d.pointer))
        {
            let first = manifest::locate(&path, text, d.first);
            let second = manifest::locate(&path, text, d.second);
            let (key, parent) = d.pointer.split_last().expect("a key path");
            let within = if parent.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in {}", dotted(parent))
            };
            return Err(Error::new(format!(
                "{second}: key {key:?} appears twice {within} (lines {} and {}); writing would keep only the last, so nothing was written",
                first.line, second.line
            ))
            .hint("remove one of the two by hand; `aix validate` lists every duplicate key"));
        }
        if let Some(m) = state.misshapen().into_iter().find(|m| !covered(&m.pointer)) {
            let offset = validate::json_offset(text, &m.pointer, false).unwrap_or(0);
            let at = manifest::locate(&path, text, offset);
            return Err(Error::new(format!(
                "{at}: {}; aix will not write over it, so nothing was written",
                m.message
            ))
            .hint(format!(
                "fix it by hand, or remove it with `aix config unset {}`",
                dotted(&m.pointer)
            )));
        }
        Ok(())
    }

    fn ensure_home(&self) -> Result<(), StoreError> {
        ensure_dir(&self.home, &self.notes)
    }

    /// Takes the exclusive lock, waiting up to the lock timeout. The lock
    /// is released when the returned file is dropped (or the process dies,
    /// so a killed writer never leaves a stale lock behind).
    fn lock(&self) -> Result<File, StoreError> {
        let path = self.lock_path();
        let mut options = OpenOptions::new();
        options.create(true).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|source| StoreError::Write {
            path: path.clone(),
            source,
        })?;
        let deadline = Instant::now() + self.lock_timeout;
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(StoreError::LockTimeout {
                            path,
                            timeout: self.lock_timeout,
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(25));
                }
                Err(fs::TryLockError::Error(source)) => {
                    return Err(StoreError::Write { path, source });
                }
            }
        }
    }

    /// Removes temp files left by writers that died mid-write. Temp files
    /// are only created under the lock we hold, so any present are stale.
    fn sweep_stale_temps(&self) {
        let Ok(entries) = fs::read_dir(&self.home) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Writes `state`; `size` (the length of the file it was read from)
    /// sizes the buffer, so a large file is not copied as it grows.
    fn write(
        &self,
        state: &State,
        spellings: &HashMap<String, String>,
        size: usize,
    ) -> Result<(), StoreError> {
        let path = self.config_path();
        let write_err = |source| StoreError::Write {
            path: path.clone(),
            source,
        };
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(StoreError::Symlink { path });
            }
            #[cfg(unix)]
            Ok(meta) => {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    self.notes.note(format!(
                        "tightened permissions of {} from {:o} to 600",
                        path.display(),
                        mode
                    ));
                }
            }
            _ => {}
        }
        let mut buf = Vec::with_capacity(size + size / 8 + 4096);
        serde_json::to_writer_pretty(&mut buf, state.doc())
            .map_err(|e| write_err(io::Error::other(e)))?;
        let mut text = String::from_utf8(buf).map_err(|e| write_err(io::Error::other(e)))?;
        if !spellings.is_empty() {
            text = respell_exponents(&text, spellings);
        }
        text.push('\n');
        write_atomic(&path, text.as_bytes())
    }
}

/// Creates `dir` (and its parents) 0700, or tightens a looser existing one
/// and says so to `notes`. A sticky folder such as /tmp is shared by design
/// and left alone.
pub fn ensure_dir(dir: &Path, notes: &Notes) -> Result<(), StoreError> {
    let write_err = |source| StoreError::Write {
        path: dir.to_path_buf(),
        source,
    };
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(write_err)?;
        }
        Err(source) => return Err(write_err(source)),
        Ok(meta) if !meta.is_dir() => {
            return Err(write_err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "it exists and is not a folder",
            )));
        }
        Ok(_meta) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = _meta.permissions().mode() & 0o7777;
                if mode & 0o077 != 0 && mode & 0o1000 == 0 {
                    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                        .map_err(write_err)?;
                    notes.note(format!(
                        "tightened permissions of {} from {:o} to 700",
                        dir.display(),
                        mode
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes` atomically: a 0600 temp file in the same
/// folder, fsync, rename, fsync the folder. A crash leaves the old file or
/// the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let write_err = |source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    // tempfile creates the file 0600 on Unix, so the renamed file is too.
    let tmp = temp_beside(path, bytes, None).map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    sync_folder_of(path);
    Ok(())
}

/// `bytes` in a new temporary file in `path`'s folder (0600, or `mode`),
/// written and synced, ready to be renamed over `path`. Dropped, it is
/// removed. Errors are the system's, without the temporary file's name
/// (which means nothing to the user: the caller names `path`).
pub fn temp_beside(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
) -> io::Result<tempfile::NamedTempFile> {
    let plain = |e: io::Error| match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => e,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(plain)?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// Syncs the folder of `path`, so a rename in it survives a crash.
pub fn sync_folder_of(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Numbers keep their digits exactly (serde_json's `arbitrary_precision`),
/// but their exponent is re-spelled on reading (`1E5` and `1e5` both
/// become `1e+5`). These two functions put the file's own spelling back.
///
/// The number tokens of a JSON text (outside strings), with their offsets.
fn number_tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            match b[i] {
                b'"' => {
                    // Past the closing quote, skipping escaped characters.
                    i += 1;
                    loop {
                        match memchr::memchr2(b'"', b'\\', b.get(i..).unwrap_or_default()) {
                            Some(n) if b[i + n] == b'\\' => i += n + 2,
                            Some(n) => {
                                i += n + 1;
                                break;
                            }
                            None => {
                                i = b.len();
                                break;
                            }
                        }
                    }
                }
                b'-' | b'0'..=b'9' => {
                    let start = i;
                    while i < b.len()
                        && matches!(b[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                    {
                        i += 1;
                    }
                    return Some((start, &text[start..i]));
                }
                _ => i += 1,
            }
        }
        None
    })
}

/// How serde_json spells an exponent: `e`, then always a sign.
fn normal_exponent(token: &str) -> Option<String> {
    let at = token.find(['e', 'E'])?;
    let (mantissa, rest) = (&token[..at], &token[at + 1..]);
    let signed = if rest.starts_with(['+', '-']) {
        rest.to_string()
    } else {
        format!("+{rest}")
    };
    Some(format!("{mantissa}e{signed}"))
}

/// The file's spelling of each number with an exponent, by serde_json's.
fn exponent_spellings(bytes: &[u8]) -> HashMap<String, String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return HashMap::new();
    };
    number_tokens(text)
        .filter_map(|(_, t)| {
            let normal = normal_exponent(t)?;
            (normal != t).then(|| (normal, t.to_string()))
        })
        .collect()
}

fn respell_exponents(text: &str, spellings: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, token) in number_tokens(text) {
        if let Some(original) = spellings.get(token) {
            out.push_str(&text[last..at]);
            out.push_str(original);
            last = at + token.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Where a user-named output file (`run -o`, the REPL's `/save`) is written.
pub enum OutputFile {
    /// A regular file or a new path: written to a temp file beside it and
    /// renamed over it at [`OutputFile::commit`], so a reader never sees
    /// half of it.
    Replace {
        tmp: tempfile::NamedTempFile,
        path: PathBuf,
    },
    /// Anything else (`/dev/null`, `/dev/stdout`, a FIFO): written in place,
    /// never replaced.
    InPlace(File),
}

impl OutputFile {
    /// Opens `path` for writing. A symlink is followed (to any depth) and
    /// the rule applied to its target, so the link stays a link; a
    /// directory is refused. Links into `/proc` (`/dev/stdout` is one) name
    /// an open file rather than a path, so they are written through in
    /// place, appending, as a shell's `>>` would.
    pub fn open(path: &Path) -> io::Result<OutputFile> {
        let in_place = |p: &Path| {
            OpenOptions::new()
                .append(true)
                .open(p)
                .map(OutputFile::InPlace)
        };
        let mut target = path.to_path_buf();
        for _ in 0..40 {
            match fs::symlink_metadata(&target) {
                Ok(m) if m.file_type().is_symlink() => {
                    let link = fs::read_link(&target)?;
                    if target.starts_with("/proc") || link.starts_with("/proc") {
                        return in_place(path);
                    }
                    target = match target.parent() {
                        Some(dir) if link.is_relative() => dir.join(link),
                        _ => link,
                    };
                }
                Ok(m) if m.is_dir() => {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        "is a directory",
                    ));
                }
                Ok(m) if !m.is_file() => return in_place(&target),
                Ok(m) => return OutputFile::replace(&target, Some(m.permissions())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return OutputFile::replace(&target, None);
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("too many levels of symbolic links"))
    }

    fn replace(path: &Path, keep: Option<fs::Permissions>) -> io::Result<OutputFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        // The temp file's name means nothing to the user: errors name the
        // problem, and the caller names the user's path.
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("the folder {} does not exist", dir.display()),
                ),
                kind => match e.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::from(kind),
                },
            })?;
        // A replaced file keeps its mode; a new one is 0600 (tempfile's).
        if let Some(perm) = keep {
            tmp.as_file().set_permissions(perm)?;
        }
        Ok(OutputFile::Replace {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// A handle to write through.
    pub fn writer(&self) -> io::Result<File> {
        match self {
            OutputFile::Replace { tmp, .. } => tmp.reopen(),
            OutputFile::InPlace(f) => f.try_clone(),
        }
    }

    /// Whether the output is a terminal (`-o /dev/tty`): what goes there is
    /// made safe for it, as stdout on a terminal is.
    pub fn is_terminal(&self) -> bool {
        use std::io::IsTerminal;
        matches!(self, OutputFile::InPlace(f) if f.is_terminal())
    }

    /// Puts the written file in place (after everything was flushed).
    pub fn commit(self) -> io::Result<()> {
        match self {
            OutputFile::Replace { tmp, path } => {
                tmp.as_file().sync_all()?;
                tmp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            }
            OutputFile::InPlace(_) => Ok(()),
        }
    }
}

/// Writes `bytes` to a user-named output file by the rules of
/// [`OutputFile::open`]. A terminal gets its control characters shown
/// instead of acting.
pub fn write_output(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let out = OutputFile::open(path)?;
    if out.is_terminal() {
        let text = String::from_utf8_lossy(bytes);
        out.writer()?
            .write_all(crate::output::safe_if(true, &text).as_bytes())?;
    } else {
        out.writer()?.write_all(bytes)?;
    }
    out.commit()
}

/// Parses config.json bytes into a state.
fn parse(path: &Path, bytes: &[u8]) -> Result<State, StoreError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(State::default());
    }
    // Read as text when it is UTF-8 (one check of the whole file, instead
    // of one of every string as bytes are read); as bytes otherwise, so
    // that the error names the place of the bad byte.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<Value>(text),
        Err(_) => serde_json::from_slice::<Value>(bytes),
    };
    match parsed {
        Ok(Value::Object(doc)) => Ok(State::from_doc(doc)),
        Ok(other) => Err(StoreError::NotObject {
            path: path.to_path_buf(),
            found: crate::provider::type_name(&other),
        }),
        Err(e) => Err(StoreError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        }),
    }
}

/// serde_json appends " at line L column C"; the message leads with them.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_carry_line_and_column() {
        let err = parse(Path::new("c.json"), b"{\n  \"a\": 1,\n  \"b\": }\n").unwrap_err();
        assert_eq!(err.to_string(), "c.json:3:8: invalid JSON: expected value");
        let err = parse(Path::new("c.json"), b"[1]").unwrap_err();
        assert!(
            err.to_string()
                .contains("must be a JSON object, not an array")
        );
        assert!(parse(Path::new("c.json"), b" \n").unwrap().doc().is_empty());
    }

    #[test]
    fn text_and_bytes_parse_alike() {
        for bytes in [
            &b"{\"a\": [1, 2.50, -3e+5, \"\\u00e9\\n\", {\"b\": null}], \"\xc3\xa9\": true}"[..],
            b"{\"a\": 1,}",
            b"{\"a\": \"\x01\"}",
            b"{\"a\": \"\\ud800\"}",
            b"{\"a\":\n  [1 2]}",
            b"[1]",
            b"{\"a\": tru}",
            b"\n\n  {\"k\": \"v\"} x",
        ] {
            let text = std::str::from_utf8(bytes).unwrap();
            let from_text = serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
            let from_bytes = serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string());
            assert_eq!(from_text, from_bytes, "{text:?}");
        }
        let err = parse(Path::new("c.json"), b"{\"a\": \"\xff\"}").unwrap_err();
        assert!(err.to_string().starts_with("c.json:1:"), "{err}");
    }

    #[test]
    fn update_writes_only_changes_and_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("home"));
        store.update(|_| Ok(())).unwrap();
        assert!(!store.config_path().exists(), "no-op update must not write");
        fs::write(store.config_path(), "{\"z\": 1, \"a\": {\"k\": [1, 2]}}").unwrap();
        store
            .update(|s| {
                s.doc_mut().insert("m".into(), Value::from(true));
                Ok(())
            })
            .unwrap();
        let text = fs::read_to_string(store.config_path()).unwrap();
        let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn failed_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        fs::write(store.config_path(), "{\"a\": 1}").unwrap();
        let err = store
            .update(|s| -> Result<(), Error> {
                s.doc_mut().clear();
                Err(Error::new("no"))
            })
            .unwrap_err();
        assert_eq!(err.message(), "no");
        assert_eq!(
            fs::read_to_string(store.config_path()).unwrap(),
            "{\"a\": 1}"
        );
    }

    #[test]
    fn exponents_keep_their_spelling() {
        let original = br#"{"a": 1E5, "b": [2e-3, 3e+4, 4e400], "s": "1E5 in a string"}"#;
        let spellings = exponent_spellings(original);
        let state = parse(Path::new("c.json"), original).unwrap();
        let written = serde_json::to_string(state.doc()).unwrap();
        assert_eq!(
            written,
            r#"{"a":1e+5,"b":[2e-3,3e+4,4e+400],"s":"1E5 in a string"}"#
        );
        assert_eq!(
            respell_exponents(&written, &spellings),
            r#"{"a":1E5,"b":[2e-3,3e+4,4e400],"s":"1E5 in a string"}"#
        );
    }

    #[test]
    fn stale_temp_files_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let stale = dir.path().join(".config.json.abc123.tmp");
        fs::write(&stale, "{").unwrap();
        store.update(|_| Ok(())).unwrap();
        assert!(!stale.exists());
    }
}
