//! Plans for target files: what `aix apply` would change in each tool's
//! file, and the applying of it.
//!
//! As for config.json, ownership decides: aix records in config.json
//! (`aix_manifest.targets`) every entry it wrote to a file, as written. An
//! entry that is still as recorded is aix's to update or remove; one
//! edited since is drift, and one aix never wrote but that has the same
//! name is a conflict (both need `--force`); entries aix never wrote are
//! never touched. Before the first write to a file that existed, a copy of
//! it is kept beside it as `FILE.aix-backup`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anstyle::{AnsiColor, Style};
use serde_json::{Map, Value, json};

use super::doc::{self, Doc, Place};
use super::{Decl, Key, Tool, shown_path};
use crate::config::state::{OWNERSHIP, Origin, State, object_in};
use crate::error::{Error, Result};
use crate::limits::{self, Accept, ReadError};
use crate::plan::manifest::Manifest;
use crate::plan::reconcile::{Action, Reason};
use crate::secret::envref;

/// The suffix of the copy kept of a file's first version.
pub const BACKUP_SUFFIX: &str = ".aix-backup";

/// One entry's change in a target file.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemChange {
    /// `model_list/NAME` (or `NAME` where the file is the list).
    pub id: String,
    pub action: Action,
    pub reason: Reason,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl ItemChange {
    pub fn needs_force(&self) -> bool {
        matches!(self.reason, Reason::Drift | Reason::Conflict)
    }

    fn note(&self) -> Option<&'static str> {
        Some(match (&self.reason, self.action) {
            (Reason::Plain, Action::Destroy) => "no longer in the manifest",
            (Reason::Plain, Action::Adopt) => "already as the manifest says; will be owned by it",
            (Reason::Drift, Action::Destroy) => {
                "no longer in the manifest, and edited outside aix since the last apply; --force removes it"
            }
            (Reason::Drift, _) => "edited outside aix since the last apply; --force overwrites",
            (Reason::DeletedOutside, _) => "deleted outside aix; will be written again",
            (Reason::Conflict, _) => {
                "exists already, not written by aix, and differs; --force takes it over"
            }
            _ => return None,
        })
    }
}

/// What applying would do to one target's file.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    pub name: String,
    pub tool: Tool,
    /// The file as declared (absolute).
    pub path: PathBuf,
    /// Where it is written: `path`, or the file a symlink there points to.
    pub real: PathBuf,
    /// False when the target left the manifest: its entries are removed.
    pub declared: bool,
    pub changes: Vec<ItemChange>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// The file's bytes as planned from (None: it did not exist).
    read: Option<Vec<u8>>,
    /// The new contents, when there are changes.
    text: Option<String>,
    /// Whether aix made the file (there was none when it first wrote it):
    /// emptied, it is removed rather than left blank.
    made_by_aix: bool,
    /// Whether aix has written entries to it before (so its warnings
    /// were shown then).
    written_before: bool,
    /// Ownership records to set (id → value as written) and to drop.
    record: Vec<(String, Value)>,
    forget: Vec<String>,
}

impl TargetPlan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Changes and record keeping alike.
    fn touches_state(&self) -> bool {
        self.has_changes() || !self.record.is_empty() || !self.forget.is_empty() || !self.declared
    }
}

/// The records of one target file in config.json.
fn records<'s>(state: &'s State, path: &Path) -> Option<&'s Map<String, Value>> {
    state
        .doc()
        .get(OWNERSHIP)?
        .get("targets")?
        .get(path.to_string_lossy().as_ref())?
        .as_object()
}

fn owned_entries(state: &State, path: &Path) -> Map<String, Value> {
    records(state, path)
        .and_then(|r| r.get("entries"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The place and key an ownership record's id names.
fn locate(tool: Tool, id: &str) -> Option<(Place, String)> {
    let mut root = None;
    for &place in tool.places() {
        let prefix = place.id("");
        if prefix.is_empty() {
            root = Some(place);
        } else if let Some(key) = id.strip_prefix(&prefix) {
            return Some((place, key.to_string()));
        }
    }
    root.map(|p| (p, id.to_string()))
}

/// Plans every target of the manifest, and the removal of what aix wrote
/// into files of targets the manifest no longer has.
/// `config` is aix's own config.json, which no target may name (nor a
/// manifest file).
pub fn plan(manifest: &Manifest, state: &State, config: &Path) -> Result<Vec<TargetPlan>> {
    let mut plans = Vec::new();
    let same_file = |a: &Path, b: &Path| {
        let real = |p: &Path| {
            fs::canonicalize(p)
                .unwrap_or_else(|_| std::path::absolute(p).unwrap_or(p.to_path_buf()))
        };
        real(a) == real(b)
    };
    for decl in &manifest.targets {
        let own = std::iter::once(config)
            .chain(manifest.targets.iter().map(|t| t.at.file.as_path()))
            .find(|f| !f.as_os_str().is_empty() && same_file(f, &decl.path));
        if let Some(f) = own {
            return Err(Error::new(format!(
                "{}: targets.{}: its file {} is aix's own ({}); aix will not write a tool's entries into it",
                decl.at,
                decl.name,
                decl.path.display(),
                f.display()
            ))
            .hint("give the target the tool's own config file as `path`"));
        }
        let providers: Vec<(&crate::provider::Provider, Key)> = manifest
            .entries
            .iter()
            .map(|e| &e.provider)
            .filter(|p| {
                decl.providers
                    .as_ref()
                    .is_none_or(|names| names.iter().any(|n| n == &p.name))
            })
            .map(|p| {
                let stored = state.stored_key(&p.name, Origin::Custom).is_some();
                (p, Key::of(p, stored))
            })
            .collect();
        let out = super::map(decl.tool, &providers);
        // The target's file, then the files beside it some tools take
        // (Codex's profiles), each planned on its own.
        let (main, beside): (Vec<_>, Vec<_>) =
            out.items.into_iter().partition(|i| i.file.is_none());
        let mut first = plan_file(decl, state, main, out.warnings)?;
        first.notes.extend(out.notes);
        plans.push(first);
        let mut files: Vec<String> = beside.iter().filter_map(|i| i.file.clone()).collect();
        files.sort();
        files.dedup();
        for file in files {
            let items = beside
                .iter()
                .filter(|i| i.file.as_ref() == Some(&file))
                .cloned()
                .collect();
            let side = Decl {
                path: decl.path.parent().unwrap_or(Path::new(".")).join(&file),
                ..decl.clone()
            };
            plans.push(plan_file(&side, state, items, Vec::new())?);
        }
    }
    // Files aix wrote entries into for a target (or a provider of one)
    // that is gone.
    let declared: Vec<String> = plans
        .iter()
        .map(|p| p.path.to_string_lossy().into_owned())
        .collect();
    let recorded: Vec<(String, Value)> = state
        .doc()
        .get(OWNERSHIP)
        .and_then(|o| o.get("targets"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for (path, record) in recorded {
        if declared.contains(&path) {
            continue;
        }
        let Some(tool) = record
            .get("tool")
            .and_then(Value::as_str)
            .and_then(Tool::parse)
        else {
            continue;
        };
        let name = record
            .get("target")
            .and_then(Value::as_str)
            .unwrap_or(tool.name())
            .to_string();
        let decl = Decl {
            name,
            tool,
            path: PathBuf::from(&path),
            providers: Some(Vec::new()),
            at: Default::default(),
            providers_at: None,
        };
        let mut p = plan_file(&decl, state, Vec::new(), Vec::new())?;
        p.declared = false;
        if p.touches_state() {
            plans.push(p);
        }
    }
    Ok(plans)
}

/// Reads a target file: its bytes (None when missing) and where it is
/// written.
fn read_target(path: &Path) -> Result<(Option<Vec<u8>>, PathBuf)> {
    let real = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(path) {
            Ok(real) => real,
            // A link to a file not made yet (a dotfiles manager links it
            // first): the file is made where the link points.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let to = fs::read_link(path).map_err(|e| {
                    Error::new(format!("cannot read the symlink {}: {e}", path.display()))
                })?;
                let to = match path.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
                if fs::symlink_metadata(&to).is_ok() {
                    // Itself a link that leads nowhere: not followed further.
                    return Err(Error::new(format!(
                        "cannot follow the symlink {}: it leads to another link that leads nowhere",
                        path.display()
                    )));
                }
                to
            }
            Err(e) => {
                return Err(Error::new(format!(
                    "cannot follow the symlink {}: {e}",
                    path.display()
                )));
            }
        },
        _ => path.to_path_buf(),
    };
    match limits::read_file(&real, limits::CONFIG, Accept::RegularFile) {
        Ok(b) => Ok((Some(b), real)),
        Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok((None, real)),
        Err(e) => Err(e.at("the target file", path)),
    }
}

fn plan_file(
    decl: &Decl,
    state: &State,
    items: Vec<super::Item>,
    warnings: Vec<String>,
) -> Result<TargetPlan> {
    let tool = decl.tool;
    let format = tool.format();
    let place_err = |m: String| {
        let mut e = Error::new(format!("{}: {m}", decl.path.display()));
        if !decl.at.file.as_os_str().is_empty() {
            e = e.hint(format!("the file of target `{}` ({})", decl.name, decl.at));
        }
        e
    };
    let (read, real) = read_target(&decl.path)?;
    let raw = match &read {
        Some(b) => std::str::from_utf8(b).map_err(|_| place_err("not UTF-8 text".into()))?,
        None => "",
    };
    // A byte-order mark and CRLF line ends are taken off to read and edit
    // the file, and put back on what is written.
    let bom = raw.starts_with('\u{feff}');
    let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    let crlf = raw.find('\n').is_some_and(|i| raw[..i].ends_with('\r'));
    let text = if crlf {
        raw.replace("\r\n", "\n")
    } else {
        raw.to_string()
    };
    let doc = Doc::parse(format, &text, tool.skeleton()).map_err(|e| {
        let mut err = Error::new(match e.at {
            Some((line, col)) => format!("{}:{line}:{col}: {}", decl.path.display(), e.message),
            None => format!("{}: {}", decl.path.display(), e.message),
        });
        if !decl.at.file.as_os_str().is_empty() {
            err = err.hint(format!("the file of target `{}` ({})", decl.name, decl.at));
        }
        err
    })?;
    for &place in tool.places() {
        if let Some(m) = doc.misshapen(place) {
            return Err(place_err(format!(
                "{m}, so aix cannot add its entries there; nothing was planned"
            )));
        }
    }
    let owned = owned_entries(state, &decl.path);
    let mut plan = TargetPlan {
        name: decl.name.clone(),
        tool,
        path: decl.path.clone(),
        real,
        declared: true,
        changes: Vec::new(),
        warnings,
        notes: Vec::new(),
        made_by_aix: records(state, &decl.path).is_some_and(|r| !r.contains_key("backup")),
        written_before: !owned.is_empty(),
        read,
        text: None,
        record: Vec::new(),
        forget: Vec::new(),
    };
    let mut next = doc.clone();
    let mut wanted: Vec<String> = Vec::new();
    for item in items {
        let id = item.place.id(&item.key);
        if wanted.contains(&id) {
            plan.warnings.push(format!(
                "two providers make the entry {id}; the second is left out"
            ));
            continue;
        }
        wanted.push(id.clone());
        let want = doc::normal(format, &item.value);
        let have = doc
            .get(item.place, &item.key)
            .map(|v| doc::normal(format, &v));
        let rec = owned.get(&id);
        let (action, reason) = match (&have, rec) {
            (None, None) => (Action::Create, Reason::Plain),
            (None, Some(_)) => (Action::Create, Reason::DeletedOutside),
            (Some(h), r) if doc::same(h, &want) => {
                if r.is_none_or(|r| !doc::same(r, &want)) {
                    plan.record.push((id.clone(), want.clone()));
                }
                if r.is_none() {
                    plan.changes.push(ItemChange {
                        id,
                        action: Action::Adopt,
                        reason: Reason::Plain,
                        before: have.clone(),
                        after: Some(want),
                    });
                }
                continue;
            }
            (Some(h), Some(r)) if doc::same(h, r) => (Action::Update, Reason::Plain),
            (Some(_), Some(_)) => (Action::Update, Reason::Drift),
            (Some(_), None) => (Action::Update, Reason::Conflict),
        };
        next.set(item.place, &item.key, &item.value);
        plan.record.push((id.clone(), want.clone()));
        plan.changes.push(ItemChange {
            id,
            action,
            reason,
            before: have,
            after: Some(want),
        });
    }
    for (id, rec) in &owned {
        if wanted.contains(id) {
            continue;
        }
        let Some((place, key)) = locate(tool, id) else {
            plan.forget.push(id.clone());
            continue;
        };
        match doc.get(place, &key).map(|v| doc::normal(format, &v)) {
            None => plan.forget.push(id.clone()),
            Some(have) => {
                let reason = if doc::same(&have, rec) {
                    Reason::Plain
                } else {
                    Reason::Drift
                };
                next.remove(place, &key);
                plan.forget.push(id.clone());
                plan.changes.push(ItemChange {
                    id: id.clone(),
                    action: Action::Destroy,
                    reason,
                    before: Some(have),
                    after: None,
                });
            }
        }
    }
    if plan.changes.iter().any(|c| c.action != Action::Adopt) {
        // YAML: only aix's entries are rewritten, when the file's layout
        // allows; otherwise the whole file, without its comments.
        let spliced = match (&doc, &next, tool.places()) {
            (Doc::Tree(doc::Format::Yaml, b), Doc::Tree(_, n), [place])
                if !text.trim().is_empty() =>
            {
                doc::splice_yaml(&text, b, n, *place)
            }
            _ => None,
        };
        if spliced.is_none() && format == doc::Format::Yaml && has_yaml_comments(&text) {
            plan.notes.push(format!(
                "its comments are not kept (the file is laid out in a way aix rewrites whole); the first version is kept as {}{BACKUP_SUFFIX}",
                shown_path(&plan.real)
            ));
        }
        #[cfg(unix)]
        if plan.read.is_some()
            && let Ok(meta) = fs::metadata(&plan.real)
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o222 == 0 {
                return Err(place_err(
                    "it is read-only, and aix does not write over a file made read-only; nothing was planned".into(),
                )
                .hint(format!(
                    "make it writable (chmod u+w {}) for aix to manage its entries",
                    plan.real.display()
                )));
            }
        }
        let mut out = spliced.unwrap_or_else(|| next.render());
        if crlf {
            out = out.replace('\n', "\r\n");
        }
        if bom {
            out.insert(0, '\u{feff}');
        }
        plan.text = Some(out);
    }
    Ok(plan)
}

fn has_yaml_comments(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with('#'))
}

/// Writes the planned files and records what was written in `state`
/// (inside the store's update, under its lock). A file that changed since
/// it was read is not written over.
pub fn apply(plans: &[TargetPlan], state: &mut State) -> Result<()> {
    // Two steps, so that a file that cannot be written (a read-only
    // folder, a full disk) leaves every file as it was: first each new
    // text goes to a temporary file beside its file, then, all of them
    // written, each replaces its file.
    let mut ready = Vec::new();
    for p in plans {
        if let Some(text) = &p.text {
            ready.push((p, prepare(p, text)?));
        }
    }
    for (p, step) in ready {
        let err = |what: &str, e: io::Error| {
            Error::new(format!("cannot {what} {}: {e}", p.real.display()))
        };
        match step {
            Step::Remove => fs::remove_file(&p.real).map_err(|e| err("remove", e))?,
            Step::Replace(tmp) => {
                tmp.persist(&p.real).map_err(|e| err("write", e.error))?;
            }
        }
        crate::config::store::sync_folder_of(&p.real);
    }
    for p in plans {
        if p.touches_state() {
            record(p, state);
        }
    }
    Ok(())
}

/// What replaces a target file once every file is ready.
enum Step {
    /// Its new text, written and synced beside it.
    Replace(tempfile::NamedTempFile),
    /// aix made it and nothing is left in it.
    Remove,
}

/// Checks that the file is as it was planned from, keeps its first
/// version, and writes its new text to a temporary file beside it.
fn prepare(p: &TargetPlan, text: &str) -> Result<Step> {
    let err =
        |what: &str, e: io::Error| Error::new(format!("cannot {what} {}: {e}", p.real.display()));
    let (now, _) = read_target(&p.path)?;
    if now != p.read {
        return Err(Error::new(format!(
            "{} changed while aix was applying; no target file was written",
            p.path.display()
        ))
        .hint("run `aix plan` again to see the changes"));
    }
    if p.made_by_aix && p.read.is_some() && text.trim().is_empty() {
        return Ok(Step::Remove);
    }
    let dir = p.real.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| err("create the folder of", e))?;
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(&p.real).map_or(0o600, |m| m.permissions().mode() & 0o7777)
    };
    if p.read.is_some() {
        let backup = backup_path(&p.real);
        if !backup.exists() {
            fs::copy(&p.real, &backup).map_err(|e| err("back up", e))?;
        }
    }
    #[cfg(not(unix))]
    let mode = 0o600;
    let tmp = crate::config::store::temp_beside(&p.real, text.as_bytes(), Some(mode))
        .map_err(|e| err("write", e))?;
    Ok(Step::Replace(tmp))
}

/// `FILE.aix-backup` beside `FILE`.
pub fn backup_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_os_string();
    s.push(BACKUP_SUFFIX);
    PathBuf::from(s)
}

fn record(p: &TargetPlan, state: &mut State) {
    let key = p.path.to_string_lossy().into_owned();
    let targets = object_in(object_in(state.doc_mut(), OWNERSHIP), "targets");
    let rec = object_in(targets, &key);
    rec.insert("tool".into(), json!(p.tool.name()));
    rec.insert("target".into(), json!(p.name));
    if p.read.is_some() && p.text.is_some() && !rec.contains_key("backup") {
        rec.insert(
            "backup".into(),
            json!(backup_path(&p.real).to_string_lossy()),
        );
    }
    let entries = object_in(rec, "entries");
    for id in &p.forget {
        entries.shift_remove(id);
    }
    for (id, v) in &p.record {
        entries.insert(id.clone(), v.clone());
    }
    if entries.is_empty() && !p.declared {
        targets.shift_remove(&key);
    }
}

/// A value as a plan shows it: masked when its name (the last segment of
/// `path`) names a credential or it reads like one, unless it only says
/// where the key is (`os.environ/VAR`, `{env:VAR}`, `$VAR`,
/// `${{ secrets.X }}`, a variable's name under `env_key`).
fn masked(path: &str, v: &Value, show: bool) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if show {
        return crate::output::clean(&text).into_owned();
    }
    let segments: Vec<&str> = path.split(['.', '[']).collect();
    let last = segments.last().copied().unwrap_or_default();
    let names_variables = segments
        .iter()
        .any(|s| s.starts_with("env_") || s.ends_with("_name"));
    let is_var = |t: &str| !t.is_empty() && envref::is_var_name(t);
    let names_a_place = text.strip_prefix("os.environ/").is_some_and(is_var)
        || text.strip_prefix('$').is_some_and(is_var)
        || (text.starts_with("{env:") || text.starts_with("{file:")) && text.ends_with('}')
        || text.starts_with("${{") && text.ends_with("}}") && !text[3..].contains("${{")
        || names_variables && is_var(&text)
        || text == "none";
    let lower = text.to_ascii_lowercase();
    // What comes from a provider's `query_params` or `extra_body` is shown
    // as aix shows those fields everywhere (they are sent as written, not
    // secrets: docs/providers.md), whatever the member's name.
    let as_aix_shows = segments
        .iter()
        .any(|s| *s == "query_params" || *s == "extra_body");
    // Numbers and flags are never keys (`max_input_tokens: 8192`).
    let looks_secret = v.is_string()
        && !as_aix_shows
        && (crate::secret::is_sensitive_key(last) || crate::secret::is_sensitive_header(last))
        || lower.starts_with("bearer ")
        || lower.starts_with("basic ");
    if looks_secret && !names_a_place {
        crate::secret::MASK.to_string()
    } else {
        crate::output::clean(&text).into_owned()
    }
}

/// `a.b[0].c: value` lines of an entry, for showing and diffing.
fn flatten(prefix: &str, v: &Value, show: bool, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let k = if k.is_empty() || k.contains(['.', ' ', '[', '"']) {
                    format!("{k:?}")
                } else {
                    k.clone()
                };
                let p = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, show, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, show, out);
            }
        }
        other => out.push((prefix.to_string(), masked(prefix, other, show))),
    }
}

fn lines(v: &Option<Value>, show: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(v) = v {
        flatten("", v, show, &mut out);
    }
    out
}

/// The text rendering of the targets' plans (their changes, warnings and
/// notes), after config.json's.
pub fn render(plans: &[TargetPlan], show: bool) -> String {
    let mut out = String::new();
    // A warning that says the same for every tool is shown once.
    let mut seen: Vec<&String> = Vec::new();
    for p in plans {
        if !p.has_changes() && (p.written_before || p.warnings.is_empty()) {
            // Nothing to write: its warnings were shown when it was.
            if !p.warnings.is_empty() {
                let n = p.warnings.len();
                out.push_str(&format!(
                    "\nTarget {}: no changes; {n} warning{}, listed by `aix plan --json`\n",
                    crate::output::clean(&p.name),
                    if n == 1 { "" } else { "s" },
                ));
            }
            continue;
        }
        let bold = Style::new().bold();
        let gone = if p.declared {
            ""
        } else {
            " (no longer in the manifest)"
        };
        let tool = if p.name == p.tool.name() {
            String::new()
        } else {
            format!(" ({})", p.tool.name())
        };
        out.push_str(&format!(
            "\n{bold}Target {}{tool}: {}{gone}{bold:#}\n",
            crate::output::clean(&p.name),
            crate::output::clean(&shown_path(&p.path))
        ));
        if p.real != p.path {
            out.push_str(&format!(
                "  (a symlink: {} is written)\n",
                crate::output::clean(&shown_path(&p.real))
            ));
        }
        for c in &p.changes {
            let (sigil, style) = c.action.sigil();
            let b = style.bold();
            // A single value (a profile's `model`) on the entry's line.
            let scalar = |v: &Option<Value>| {
                v.as_ref()
                    .filter(|v| !v.is_object() && !v.is_array())
                    .map(|v| masked(&c.id, v, show))
            };
            let value = match (c.action, scalar(&c.before), scalar(&c.after)) {
                (Action::Update, Some(old), Some(new)) => format!(": {old} -> {new}"),
                (Action::Destroy, Some(old), _) => format!(": {old}"),
                (_, _, Some(new)) => format!(": {new}"),
                _ => String::new(),
            };
            let inline = !value.is_empty();
            out.push_str(&format!(
                "\n  {b}{sigil} {}{b:#}{value}",
                crate::output::clean(&c.id)
            ));
            if let Some(note) = c.note() {
                let dim = Style::new().dimmed();
                out.push_str(&format!("  {dim}({note}){dim:#}"));
            }
            out.push('\n');
            match c.action {
                _ if inline => {}
                Action::Create => {
                    for (k, v) in lines(&c.after, show) {
                        out.push_str(&format!("      {k}: {v}\n"));
                    }
                }
                Action::Update => {
                    let old = lines(&c.before, show);
                    let new = lines(&c.after, show);
                    for (k, v) in &old {
                        match new.iter().find(|(n, _)| n == k) {
                            Some((_, w)) if w == v => {}
                            Some((_, w)) => out.push_str(&format!("      {k}: {v} -> {w}\n")),
                            None => out.push_str(&format!("      - {k}: {v}\n")),
                        }
                    }
                    for (k, w) in &new {
                        if !old.iter().any(|(o, _)| o == k) {
                            out.push_str(&format!("      + {k}: {w}\n"));
                        }
                    }
                }
                _ => {}
            }
        }
        for n in &p.notes {
            out.push_str(&format!(
                "\n  note: {}\n",
                wrap(&crate::output::clean(n), 8, 80)
            ));
        }
        if p.warnings.iter().any(|w| !seen.contains(&w)) {
            out.push('\n');
        }
        let fresh: Vec<&String> = p.warnings.iter().filter(|w| !seen.contains(w)).collect();
        seen.extend(fresh.iter().copied());
        for w in fresh {
            let y = AnsiColor::Yellow.on_default();
            out.push_str(&format!(
                "  {y}warning:{y:#} {}\n",
                wrap(&crate::output::clean(w), 11, 80)
            ));
        }
    }
    out
}

/// `text` broken at spaces into lines of at most `width` columns, the
/// first starting at column `indent` (after its label) and the others
/// indented to it. A word longer than a line stays whole.
fn wrap(text: &str, indent: usize, width: usize) -> String {
    let room = width.saturating_sub(indent).max(20);
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ') {
        let w = word.chars().count();
        if line > 0 && line + 1 + w > room {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += w;
    }
    out
}

/// The targets' plans as JSON.
pub fn to_json(plans: &[TargetPlan], show: bool) -> Value {
    let shown = |v: &Option<Value>| -> Value {
        match v {
            None => Value::Null,
            Some(v) => mask_json("", v, show),
        }
    };
    Value::Array(
        plans
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "tool": p.tool.name(),
                    "path": p.path.to_string_lossy(),
                    "written_path": p.real.to_string_lossy(),
                    "declared": p.declared,
                    "changes": p.changes.iter().map(|c| json!({
                        "id": c.id,
                        "action": c.action.name(),
                        "reason": c.reason.json(),
                        "needs_force": c.needs_force(),
                        "before": shown(&c.before),
                        "after": shown(&c.after),
                    })).collect::<Vec<_>>(),
                    "warnings": p.warnings,
                    "notes": p.notes,
                })
            })
            .collect(),
    )
}

fn mask_json(path: &str, v: &Value, show: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), mask_json(&format!("{path}.{k}"), x, show)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| mask_json(&format!("{path}[0"), x, show))
                .collect(),
        ),
        Value::String(_) => {
            let m = masked(path, v, show);
            if m == crate::secret::MASK {
                json!(m)
            } else {
                v.clone()
            }
        }
        other => other.clone(),
    }
}
