//! Checking manifests and config.json: the JSON Schema (via the
//! `jsonschema` crate) plus what a schema cannot say, every problem pointed
//! at `FILE:LINE:COLUMN`.
//!
//! Problems are found on a JSON view of the file (TOML converted to JSON),
//! as JSON pointers, then mapped back to the source text: TOML through
//! toml's spanned document, JSON through a small scanner below. Semantic
//! checks use the same functions as the rest of aix (`provider::*`,
//! `envref`), so `aix validate`, `aix plan` and `aix provider add` refuse
//! the same values with the same words. All problems are reported, not just
//! the first.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::Error;
use crate::limits::{self, Accept};
use crate::plan::manifest::{self, Document, Location, Manifest};
use crate::provider::{self, fields};
use crate::schema::{self, Kind};
use crate::secret;
use crate::suggest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub at: Location,
    pub severity: Severity,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn to_json(&self) -> Value {
        json!({
            "file": self.at.file.display().to_string(),
            "line": self.at.line,
            "column": self.at.column,
            "severity": match self.severity { Severity::Error => "error", Severity::Warning => "warning" },
            "message": self.message,
            "hint": self.hint,
        })
    }
}

/// Everything found in a set of files.
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<Problem>,
    pub files: usize,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.problems.len() - self.errors()
    }

    /// `FILE:LINE:COL: error: message` lines, with hints and (when
    /// `snippets`) the source line and a caret under the column.
    pub fn render(&self, snippets: bool) -> String {
        let mut out = String::new();
        let mut sources: BTreeMap<PathBuf, Option<String>> = BTreeMap::new();
        for p in &self.problems {
            let label = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push_str(&format!("{}: {label}: {}\n", p.at, p.message));
            if snippets {
                let text = sources
                    .entry(p.at.file.clone())
                    // Bounded, and only from a regular file: a pipe or
                    // FIFO cannot be read a second time.
                    .or_insert_with(|| {
                        crate::limits::read_text(
                            &p.at.file,
                            crate::limits::MANIFEST.max(crate::limits::CONFIG),
                            crate::limits::Accept::RegularFile,
                            "file",
                        )
                        .ok()
                    });
                if let Some(line) = text.as_deref().and_then(|t| t.lines().nth(p.at.line - 1)) {
                    // Snippets are for a terminal: a credential written in
                    // the line is masked, and control characters (from a
                    // comment, say) are shown, not acted on.
                    let in_keys = text.as_deref().is_some_and(|t| in_api_keys(t, p.at.line));
                    let (line, column) = mask_snippet(line, p.at.column.saturating_sub(1), in_keys);
                    let line = crate::output::safe_if(true, &line).into_owned();
                    let n = p.at.line.to_string();
                    out.push_str(&format!(" {n} | {line}\n"));
                    out.push_str(&format!(
                        " {} | {}^\n",
                        " ".repeat(n.len()),
                        " ".repeat(column)
                    ));
                }
            }
            if let Some(h) = &p.hint {
                out.push_str(&format!("  hint: {h}\n"));
            }
        }
        out
    }
}

/// Whether a name in a snippet line names a credential (`Authorization`,
/// `api_key`, `X-Auth-Token`, ...), but not `api_key_env` or `auth_type`.
fn names_credential(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    !k.ends_with("_env")
        && k != "auth_type"
        && (secret::is_sensitive_header(&k) || secret::is_sensitive_key(&k))
}

/// A source line as a snippet may show it, and the caret column (0-based,
/// in characters) moved to match: every credential it holds replaced by
/// `(sensitive)`. A credential is a string value under a name that names
/// one, a value that starts with `Bearer `/`Basic `, any string value when
/// `all_values` (an `api_keys` entry), and the user and password of a URL
/// (`http://user:pw@host`). `${env:VAR}` references are not secrets and
/// stay.
fn mask_snippet(line: &str, column: usize, all_values: bool) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    // (start, end) char ranges to replace, in order.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    // Tokens: quoted strings (content range) and bare words, with the
    // punctuation between them.
    let mut last_name: Option<String> = None;
    let mut after_sep = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars[j] != c {
                if c == '"' && chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            let end = j.min(chars.len());
            let content: String = chars[start..end].iter().collect();
            if after_sep {
                let lower = content.to_ascii_lowercase();
                let secret_like = all_values
                    || last_name.as_deref().is_some_and(names_credential)
                    || lower.starts_with("bearer ")
                    || lower.starts_with("basic ");
                if secret_like && !content.is_empty() && !secret::is_reference_only(&content) {
                    spans.push((start, end));
                }
                last_name = None;
                after_sep = false;
            } else {
                last_name = Some(content);
            }
            i = end + 1;
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '-' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-')
            {
                i += 1;
            }
            last_name = Some(chars[start..i].iter().collect());
            after_sep = false;
            continue;
        }
        if c == '=' || c == ':' {
            after_sep = last_name.is_some();
        } else if c == '#' && !after_sep {
            // A TOML comment: the rest is text, checked for URLs below.
            break;
        } else if !c.is_whitespace() {
            last_name = None;
            after_sep = false;
        }
        i += 1;
    }
    // User and password in URLs, anywhere in the line.
    let mut k = 0;
    while k + 3 <= chars.len() {
        if chars[k..k + 3] == [':', '/', '/'] {
            let start = k + 3;
            let end = chars[start..]
                .iter()
                .position(|c| {
                    matches!(c, '/' | '"' | '\'' | '?' | '#' | '}' | ',') || c.is_whitespace()
                })
                .map_or(chars.len(), |n| start + n);
            if let Some(at) = chars[start..end].iter().rposition(|&c| c == '@') {
                spans.push((start, start + at));
            }
            k = end;
        } else {
            k += 1;
        }
    }
    if spans.is_empty() {
        return (line.to_string(), column);
    }
    spans.sort();
    let mut out = String::with_capacity(line.len());
    let mut caret = column;
    let mut pos = 0;
    for (start, end) in spans {
        if start < pos {
            continue;
        }
        out.extend(&chars[pos..start]);
        out.push_str(secret::MASK);
        let mask_len = secret::MASK.chars().count();
        if column >= end {
            caret = caret + mask_len - (end - start);
        } else if column >= start {
            caret = out.chars().count() - mask_len;
        }
        pos = end;
    }
    out.extend(&chars[pos..]);
    (out, caret)
}

/// Whether 1-based `line` of a config.json text lies inside its
/// `"api_keys"` object, where every value is a key.
fn in_api_keys(text: &str, line: usize) -> bool {
    let Some(at) = text.find("\"api_keys\"") else {
        return false;
    };
    let rest = &text[at..];
    let Some(open) = rest.find('{') else {
        return false;
    };
    // Only `"api_keys"`, spaces and a colon before the brace.
    if !rest["\"api_keys\"".len()..open]
        .chars()
        .all(|c| c == ':' || c.is_whitespace())
    {
        return false;
    }
    let start = at + open;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut end = text.len();
    for (i, b) in text[start..].bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let first = text[..start].matches('\n').count() + 1;
    let last = text[..end].matches('\n').count() + 1;
    (first..=last).contains(&line)
}

/// The kind of a file from its extension.
pub fn kind_of(path: &Path) -> Option<Kind> {
    match path.extension()?.to_str()? {
        "toml" => Some(Kind::Manifest),
        "json" => Some(Kind::Config),
        _ => None,
    }
}

/// Checks files; manifests among them are also checked together for names
/// declared twice.
pub fn check(files: &[(PathBuf, Kind)]) -> Report {
    let mut checker = Checker::default();
    for (path, kind) in files {
        // Bounded: a config.json must be a regular file (a FIFO would
        // block); a manifest may come from a pipe.
        let (max, accept) = match kind {
            Kind::Manifest => (limits::MANIFEST, Accept::Readable),
            Kind::Config => (limits::CONFIG, Accept::RegularFile),
        };
        let Some(text) = checker.read(path, max, accept) else {
            continue;
        };
        match kind {
            Kind::Manifest => {
                checker.manifest(path, &text);
            }
            Kind::Config => checker.report.problems.extend(check_config(path, &text)),
        }
    }
    checker.check_targets();
    checker.check_aliases();
    checker.report
}

/// Checks manifest files as [`check`] does and, when no problem is an
/// error, returns their providers merged: each file is read and parsed
/// once. The report holds every problem (warnings too) either way.
pub fn load_manifests(paths: &[PathBuf]) -> (Report, Result<Manifest, Error>) {
    let mut checker = Checker::default();
    let texts: Vec<(PathBuf, Option<String>)> = paths
        .iter()
        .map(|p| {
            (
                p.clone(),
                checker.read(p, limits::MANIFEST, Accept::Readable),
            )
        })
        .collect();
    let mut entries = Vec::new();
    for (path, text) in &texts {
        if let Some(text) = text
            && let Some(doc) = checker.manifest(path, text)
            && checker.report.errors() == 0
        {
            match doc.into_entries() {
                // (Moved, not copied, when it is the only file.)
                Ok(e) if entries.is_empty() => entries = e,
                Ok(mut e) => entries.append(&mut e),
                Err(e) => return (checker.report, Err(e)),
            }
        }
    }
    checker.check_targets();
    checker.check_aliases();
    let aliases = std::mem::take(&mut checker.aliases);
    let targets = std::mem::take(&mut checker.targets);
    let alias_at = std::mem::take(&mut checker.alias_at);
    let report = checker.report;
    let n = report.errors();
    if n > 0 {
        let err = Error::new(format!(
            "the manifest has {n} error{}; nothing was planned or applied",
            if n == 1 { "" } else { "s" }
        ))
        .hint("`aix validate FILE` checks it on its own");
        return (report, Err(err));
    }
    entries.sort_by(|a, b| a.provider.name.cmp(&b.provider.name));
    let mut aliases: Vec<crate::plan::manifest::AliasEntry> = aliases
        .into_iter()
        .map(|(name, value)| crate::plan::manifest::AliasEntry {
            at: alias_at.get(&name).cloned().unwrap_or_default(),
            name,
            value,
        })
        .collect();
    aliases.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest = Manifest {
        entries,
        aliases,
        targets,
    };
    (report, Ok(manifest))
}

/// The problems found so far, and where each manifest provider was first
/// declared (a name in two files is an error naming both).
#[derive(Default)]
struct Checker {
    report: Report,
    names: HashMap<String, Location>,
    /// Every manifest's `[aliases]`, merged, with where each is.
    aliases: serde_json::Map<String, Value>,
    alias_at: HashMap<String, Location>,
    /// Every manifest's `[targets]`, in the order read.
    targets: Vec<crate::targets::Decl>,
}

impl Checker {
    /// The aliases' problems, once every file is read: names, targets,
    /// cycles, and target providers that no manifest declares and that
    /// are not built in.
    fn check_aliases(&mut self) {
        self.check_aliases_unsorted();
        // Each file's problems in line order, the files as they were read.
        let mut files: Vec<PathBuf> = Vec::new();
        for p in &self.report.problems {
            if !files.contains(&p.at.file) {
                files.push(p.at.file.clone());
            }
        }
        let rank = |f: &PathBuf| files.iter().position(|x| x == f).unwrap_or(usize::MAX);
        self.report
            .problems
            .sort_by_key(|p| (rank(&p.at.file), p.at.line, p.at.column));
    }

    fn check_aliases_unsorted(&mut self) {
        let names = &self.names;
        let known = |p: &str| names.contains_key(p) || crate::provider::builtin(p).is_some();
        let mut found = crate::run::aliases::problems(&self.aliases, Some(&known));
        found.sort_by_key(|(name, _)| {
            self.alias_at
                .get(name)
                .map(|at| (at.file.clone(), at.line, at.column))
        });
        for (name, message) in found {
            let at = self.alias_at.get(&name).cloned().unwrap_or_default();
            let hint = if message.contains("no manifest declares") {
                Some("declare it under [providers.NAME], or check the files together (aix validate base.toml laptop.toml)".into())
            } else if message.contains("neither PROVIDER/MODEL") || message.contains("no alias") {
                Some(
                    "a target is PROVIDER/MODEL (split at the first /) or another alias's name"
                        .into(),
                )
            } else {
                None
            };
            self.report.problems.push(Problem {
                hint,
                ..error(at, format!("aliases.{name}: {message}"))
            });
        }
    }

    /// The `[targets]` of one manifest: each read (a tool aix knows, a
    /// path), named once across the files, one target per file.
    fn read_targets(&mut self, doc: &Document<'_>) {
        let Some(Value::Object(targets)) = doc.json.get("targets") else {
            return;
        };
        let dir = match doc.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        for (name, value) in targets {
            if !value.is_object() {
                continue;
            }
            let pointer = ["targets".to_string(), name.clone()];
            let at = doc.locate(doc.span(&pointer).map_or(0, |(k, _)| k.start));
            let decl = match crate::targets::Decl::from_json(name, value, &dir, at.clone()) {
                Ok(mut d) => {
                    let mut p = pointer.to_vec();
                    p.push("providers".into());
                    d.providers_at = doc.span(&p).map(|(_, v)| doc.locate(v.start));
                    d
                }
                Err(m) => {
                    let field = if m.starts_with("tool:") {
                        "tool"
                    } else if m.starts_with("path:") {
                        "path"
                    } else {
                        ""
                    };
                    let at = if field.is_empty() {
                        at
                    } else {
                        let mut p = pointer.to_vec();
                        p.push(field.into());
                        match doc.span(&p) {
                            Some((_, v)) => doc.locate(v.start),
                            None => at,
                        }
                    };
                    self.report
                        .problems
                        .push(error(at, format!("targets.{name}: {m}")));
                    continue;
                }
            };
            if let Some(first) = self.targets.iter().find(|t| t.name == decl.name) {
                self.report.problems.push(Problem {
                    hint: Some("each target may be declared in one manifest file only".into()),
                    ..error(
                        decl.at.clone(),
                        format!("target '{name}' is already defined at {}", first.at),
                    )
                });
                continue;
            }
            if let Some(first) = self.targets.iter().find(|t| t.path == decl.path) {
                self.report.problems.push(Problem {
                    hint: Some("give one of them another `path`".into()),
                    ..error(
                        decl.at.clone(),
                        format!(
                            "targets.{name}: its file {} is also the file of target '{}' ({})",
                            decl.path.display(),
                            first.name,
                            first.at
                        ),
                    )
                });
                continue;
            }
            self.targets.push(decl);
        }
    }

    /// Every target's `providers` must name providers a manifest declares.
    fn check_targets(&mut self) {
        for t in &self.targets {
            for name in t.providers.iter().flatten() {
                if !self.names.contains_key(name) {
                    let known: Vec<&str> = self.names.keys().map(String::as_str).collect();
                    let hint = match crate::suggest::closest(name, &known) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => "name providers declared under [providers.NAME]".into(),
                    };
                    self.report.problems.push(Problem {
                        hint: Some(hint),
                        ..error(
                            t.providers_at.clone().unwrap_or_else(|| t.at.clone()),
                            format!(
                                "targets.{}: providers: no manifest declares provider '{name}'",
                                t.name
                            ),
                        )
                    });
                }
            }
        }
    }

    /// A file's text, or None with the problem recorded.
    fn read(&mut self, path: &Path, max: u64, accept: Accept) -> Option<String> {
        self.report.files += 1;
        let at = Location {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
        };
        match limits::read_file(path, max, accept) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => Some(t),
                Err(e) => {
                    self.report.problems.push(error(
                        at,
                        format!(
                            "not UTF-8 text (invalid byte at offset {})",
                            e.utf8_error().valid_up_to()
                        ),
                    ));
                    None
                }
            },
            Err(e) => {
                self.report.problems.push(error(
                    at,
                    format!(
                        "cannot read the file: {}",
                        match e {
                            limits::ReadError::Io(e) => e.to_string(),
                            limits::ReadError::NotRegular(kind) =>
                                format!("it is {kind}, not a regular file"),
                            limits::ReadError::TooLarge(max) =>
                                format!("it is larger than the {} limit", limits::human(max)),
                        }
                    ),
                ));
                None
            }
        }
    }

    /// Checks one manifest; its parsed document when it parses.
    fn manifest<'a>(&mut self, path: &'a Path, text: &'a str) -> Option<Document<'a>> {
        let doc = match Document::parse(path, text) {
            Ok(doc) => doc,
            Err((at, message)) => {
                self.report.problems.push(error(at, message));
                return None;
            }
        };
        let (problems, declared) = check_manifest(&doc);
        self.report.problems.extend(problems);
        if let Some(Value::Object(aliases)) = doc.json.get("aliases") {
            for (name, value) in aliases {
                let pointer = ["aliases".to_string(), name.clone()];
                let at = doc.locate(doc.span(&pointer).map_or(0, |(k, _)| k.start));
                if let Some(first) = self.alias_at.get(name) {
                    self.report.problems.push(Problem {
                        message: format!("alias '{name}' is already defined at {first}"),
                        hint: Some("each alias may be declared in one manifest file only".into()),
                        ..error(at, String::new())
                    });
                    continue;
                }
                self.alias_at.insert(name.clone(), at);
                self.aliases.insert(name.clone(), value.clone());
            }
        }
        self.read_targets(&doc);
        for (name, at) in declared {
            if let Some(first) = self.names.get(&name) {
                self.report.problems.push(Problem {
                    message: format!("provider '{name}' is already defined at {first}"),
                    hint: Some("each provider may be declared in one manifest file only".into()),
                    ..error(at, String::new())
                });
            } else {
                self.names.insert(name, at);
            }
        }
        Some(doc)
    }
}

fn error(at: Location, message: String) -> Problem {
    Problem {
        at,
        severity: Severity::Error,
        message,
        hint: None,
    }
}

/// `/providers/a/base_url` as `providers.a.base_url`.
fn dotted(pointer: &[String]) -> String {
    pointer.join(".")
}

/// A problem found on the JSON view, before it has a place.
struct Found {
    pointer: Vec<String>,
    /// Point at the key rather than the value.
    at_key: bool,
    severity: Severity,
    message: String,
    hint: Option<String>,
}

impl Found {
    fn err(pointer: Vec<String>, message: String) -> Found {
        Found {
            pointer,
            at_key: false,
            severity: Severity::Error,
            message,
            hint: None,
        }
    }
}

/// Schema errors for `instance`, minus those a semantic check explains
/// better (same place), with unknown keys turned into per-key problems.
fn schema_problems(kind: Kind, instance: &Value, semantic: &[Found]) -> Vec<Found> {
    let validator = schema::validator(kind);
    let mut out = Vec::new();
    for e in validator.iter_errors(instance) {
        let pointer: Vec<String> = e
            .instance_path()
            .as_str()
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        match e.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known: Vec<&str> = match pointer.first().map(String::as_str) {
                    None => vec!["providers", "aliases", "targets"],
                    Some("targets") => vec!["tool", "path", "providers"],
                    _ => manifest_fields(),
                };
                for key in unexpected {
                    let mut p = pointer.clone();
                    p.push(key.clone());
                    let where_ = if pointer.is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", dotted(&pointer))
                    };
                    out.push(Found {
                        at_key: true,
                        hint: Some(match suggest::closest(key, &known) {
                            Some(near) => format!("did you mean `{near}`?"),
                            None => format!("the keys allowed here are: {}", known.join(", ")),
                        }),
                        ..Found::err(p, format!("{where_}unknown key `{key}`"))
                    });
                }
            }
            // Names are checked (with better words) by the semantic pass.
            jsonschema::error::ValidationErrorKind::PropertyNames { .. } => {}
            // A missing key that an unknown key beside it misspells is one
            // mistake: the "did you mean" says it all.
            jsonschema::error::ValidationErrorKind::Required { property }
                if property.as_str().is_some_and(|want| {
                    let Value::Object(here) = e.instance().as_ref() else {
                        return false;
                    };
                    let known = manifest_fields();
                    here.keys().any(|k| {
                        !known.contains(&k.as_str()) && suggest::closest(k, &known) == Some(want)
                    })
                }) => {}
            _ => {
                if semantic.iter().any(|s| s.pointer == pointer) {
                    continue;
                }
                // Aliases and models tables have their own checks, whose
                // words say more than the schema's `anyOf`.
                let own_check = pointer.first().is_some_and(|p| p == "aliases")
                    || (pointer.first().is_some_and(|p| p == "targets")
                        && pointer.get(2).is_some_and(|p| p == "tool"))
                    || (pointer.first().is_some_and(|p| p == "providers")
                        && pointer.get(2).is_some_and(|p| p == "models"));
                if own_check {
                    continue;
                }
                let what = if pointer.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", dotted(&pointer))
                };
                out.push(Found::err(pointer, format!("{what}{e}")));
            }
        }
    }
    out
}

fn manifest_fields() -> Vec<&'static str> {
    fields::names()
}

/// Semantic checks of one provider object (manifest or config entry):
/// the rules of [`fields::FIELDS`], the same `provider add` and the store
/// apply, plus a warning for literal credentials in a manifest (given
/// `literal`, where its literal credential headers are collected so that
/// their warnings' variables can be named once all are known).
fn provider_problems(
    base: &[String],
    name: &str,
    entry: &Value,
    literal: Option<&mut Vec<Literal>>,
    out: &mut Vec<Found>,
) {
    let at = |path: &[String]| -> Vec<String> {
        let mut p = base.to_vec();
        p.extend(path.iter().cloned());
        p
    };
    if let Err(m) = provider::validate_name(name) {
        out.push(Found {
            at_key: true,
            ..Found::err(base.to_vec(), m)
        });
    }
    let Value::Object(obj) = entry else { return };
    let here = dotted(base);
    let problems = fields::check_entry(obj);
    let bad: Vec<Vec<String>> = problems.iter().map(|p| p.path.clone()).collect();
    for problem in problems {
        // A missing required field is the schema's to say (with a "did
        // you mean" when a key beside it misspells it).
        // (With a preset, the schema allows it out, and the hint says the
        // preset has none.)
        if problem.message == "is missing" && problem.hint.is_none() {
            continue;
        }
        out.push(Found {
            at_key: problem.at_key,
            hint: problem.hint,
            ..Found::err(
                at(&problem.path),
                format!("{here}: {}: {}", problem.field, problem.message),
            )
        });
    }
    let Some(literal) = literal else {
        return;
    };
    for (f, value) in fields::FIELDS.iter().zip(fields::values_of(obj)) {
        let Some(Value::Object(entries)) = value.filter(|_| f.is_map()) else {
            continue;
        };
        for (k, v) in entries {
            let Value::String(v) = v else { continue };
            if !f.entry_is_secret(k, v) {
                continue;
            }
            let path = vec![f.name.to_string(), k.clone()];
            let warning = (!bad.contains(&path)).then(|| {
                out.push(Found {
                    severity: Severity::Warning,
                    ..Found::err(
                        at(&path),
                        format!("{here}: {}.{k} holds a literal credential", f.name),
                    )
                });
                out.len() - 1
            });
            // A header's variable is named once every header is known
            // (names are unique across the manifest); another field's
            // from its provider and key alone.
            if f.name == "headers" {
                literal.push(Literal {
                    warning,
                    provider: name.to_string(),
                    header: k.clone(),
                });
            } else if let Some(i) = warning {
                out[i].hint = Some(literal_hint(k, &manifest::env_var_for(name, k)));
            }
        }
    }
}

/// A literal credential header of a manifest: its provider and name, and
/// the warning about it (its index among the problems found; none when
/// the header has an error already). Every one counts in the naming of
/// the variables suggested.
struct Literal {
    warning: Option<usize>,
    provider: String,
    header: String,
}

/// The hint of a literal credential's warning: the variable to use.
fn literal_hint(key: &str, var: &str) -> String {
    format!(
        "manifests usually live in git: write it as \"${{env:VAR}}\" (or \"Bearer ${{env:VAR}}\") and export VAR, e.g. {key} = \"${{env:{var}}}\""
    )
}

/// The errors (not warnings) of one manifest, in file order.
#[cfg(any(test, feature = "internals"))]
pub fn manifest_errors(doc: &Document<'_>) -> Vec<Problem> {
    let mut problems = check_manifest(doc).0;
    problems.retain(|p| p.severity == Severity::Error);
    problems
}

fn check_manifest(doc: &Document<'_>) -> (Vec<Problem>, Vec<(String, Location)>) {
    let mut semantic = Vec::new();
    let mut declared = Vec::new();
    let mut literal = Vec::new();
    if let Some(Value::Object(providers)) = doc.json.get("providers") {
        for (name, entry) in providers {
            let base = vec!["providers".to_string(), name.clone()];
            provider_problems(&base, name, entry, Some(&mut literal), &mut semantic);
            if let Some((key, _)) = doc.span(&base) {
                declared.push((name.clone(), doc.locate(key.start)));
            }
        }
    }
    // The variable suggested for each literal credential header, unique
    // across the manifest (as `aix provider export` names them).
    let pairs: Vec<(&str, &str)> = literal
        .iter()
        .map(|l| (l.provider.as_str(), l.header.as_str()))
        .collect();
    for (l, (var, _)) in literal.iter().zip(manifest::env_var_names(&pairs)) {
        if let Some(i) = l.warning {
            semantic[i].hint = Some(literal_hint(&l.header, &var));
        }
    }
    let mut found = schema_problems(Kind::Manifest, &doc.json, &semantic);
    found.extend(semantic);
    let problems = found
        .into_iter()
        .map(|f| {
            let span = doc
                .span(&f.pointer)
                .map(|(k, v)| if f.at_key { k } else { v })
                .unwrap_or(0..0);
            Problem {
                at: doc.locate(span.start),
                severity: f.severity,
                message: f.message,
                hint: f.hint,
            }
        })
        .collect::<Vec<_>>();
    (sorted(problems), declared)
}

fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| (p.at.line, p.at.column));
    problems.dedup();
    problems
}

fn check_config(path: &Path, text: &str) -> Vec<Problem> {
    let instance: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m)
                .to_string();
            return vec![error(
                Location {
                    file: path.to_path_buf(),
                    line: e.line(),
                    column: e.column(),
                },
                format!("invalid JSON: {message}"),
            )];
        }
    };
    let mut semantic = Vec::new();
    // Aliases whose targets are not providers of this file or built in.
    if let Some(Value::Object(aliases)) = instance.get("aliases") {
        let known = |p: &str| {
            instance
                .get("custom_providers")
                .and_then(|c| c.get(p))
                .is_some()
                || provider::builtin(p).is_some()
        };
        for (name, message) in crate::run::aliases::problems(aliases, Some(&known)) {
            semantic.push(Found::err(
                vec!["aliases".to_string(), name.clone()],
                format!(
                    "aliases.{name}: {}",
                    message.replace("no manifest declares", "config.json does not have")
                ),
            ));
        }
    }
    if let Some(Value::Object(providers)) = instance.get("custom_providers") {
        for (name, entry) in providers {
            let base = vec!["custom_providers".to_string(), name.clone()];
            provider_problems(&base, name, entry, None, &mut semantic);
            let Value::Object(o) = entry else { continue };
            // aix uses such a URL as normalised; say so, so the file can
            // be tidied.
            if let Some(Value::String(u)) = o.get("base_url")
                && let Ok(n) = provider::normalize_base_url(u)
                && n != *u
            {
                let mut p = base.clone();
                p.push("base_url".into());
                semantic.push(Found {
                    severity: Severity::Warning,
                    hint: Some(format!("aix uses it as {n:?}; write it that way")),
                    ..Found::err(
                        p,
                        format!("custom_providers.{name}.base_url is not in normal form"),
                    )
                });
            }
            // Fields aix does not know are kept (other tools add their
            // own); one that resembles a known field is most likely a typo.
            for field in o.keys() {
                if fields::field(field).is_some() {
                    continue;
                }
                let Some(near) = suggest::closest(field, &manifest_fields()) else {
                    continue;
                };
                let mut p = base.clone();
                p.push(field.clone());
                semantic.push(Found {
                    at_key: true,
                    severity: Severity::Warning,
                    hint: Some(format!("did you mean {near}? aix ignores `{field}`")),
                    ..Found::err(
                        p,
                        format!("custom_providers.{name}: unknown provider field `{field}`"),
                    )
                });
            }
        }
    }
    if let Value::Object(doc) = &instance {
        let state = crate::config::state::State::from_doc(doc.clone());
        // Known keys of the wrong type: every write refuses while they are
        // there.
        for m in state.misshapen() {
            semantic.push(Found {
                hint: Some("aix refuses to write config.json until this is fixed".into()),
                ..Found::err(m.pointer, m.message)
            });
        }
        for (key, value) in doc {
            if value.is_null() {
                continue;
            }
            if let Err(m) = crate::config::settings::check(key, value) {
                semantic.push(Found::err(vec![key.clone()], m));
            }
        }
        for (key, near) in state.near_misses() {
            semantic.push(Found {
                at_key: true,
                severity: Severity::Warning,
                hint: Some(format!("did you mean {near}?")),
                ..Found::err(vec![key.clone()], format!("`{key}` is not a key aix knows"))
            });
        }
    }
    let duplicates = json_duplicates(text);
    if let Some(Value::Object(keys)) = instance.get("api_keys") {
        for (name, key) in keys {
            if let Value::String(k) = key
                && let Err(m) = crate::config::state::check_key_text(k)
            {
                semantic.push(Found::err(
                    vec!["api_keys".into(), name.clone()],
                    format!("api_keys.{name}: {m}"),
                ));
            }
        }
    }
    let mut found = schema_problems(Kind::Config, &instance, &semantic);
    // The config's top level is open; only provider entries are closed,
    // and in config.json even they are not (other tools add fields).
    found.extend(semantic);
    let mut problems: Vec<Problem> = found
        .into_iter()
        .map(|f| {
            let offset = json_offset(text, &f.pointer, f.at_key).unwrap_or(0);
            Problem {
                at: manifest::locate(path, text, offset),
                severity: f.severity,
                message: f.message,
                hint: f.hint,
            }
        })
        .collect();
    for d in duplicates {
        let first = manifest::locate(path, text, d.first);
        let (key, parent) = d.pointer.split_last().expect("a key path");
        let within = if parent.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in {}", dotted(parent))
        };
        problems.push(Problem {
            hint: Some(
                "JSON readers keep only one of the two (aix the last); remove the other".into(),
            ),
            ..error(
                manifest::locate(path, text, d.second),
                format!(
                    "key {key:?} appears twice {within}: lines {} and {}",
                    first.line,
                    manifest::locate(path, text, d.second).line
                ),
            )
        });
    }
    sorted(problems)
}

/// A key that appears twice in one JSON object: JSON readers keep only
/// one of the two values (serde_json, and so aix, the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The path of the key (its object's path, then the key).
    pub pointer: Vec<String>,
    /// Byte offsets of the first and the second occurrence of the key.
    pub first: usize,
    pub second: usize,
}

/// Every duplicate key in JSON `text` (which must parse), in file order.
/// Runs before every write of config.json, so it allocates only for keys
/// with escapes and for the duplicates it reports.
pub fn json_duplicates(text: &str) -> Vec<Duplicate> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let start = skip_ws(b, 0);
    if b.get(start).is_some() {
        walk_json(text, start, &mut Vec::new(), &mut out);
    }
    out
}

/// A key's text: borrowed unless it has escapes to undo.
fn json_key(text: &str, start: usize, end: usize) -> Option<Cow<'_, str>> {
    let raw = &text[start + 1..end - 1];
    if raw.contains('\\') {
        serde_json::from_str(&text[start..end]).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(raw))
    }
}

/// Objects up to this many keys are checked by scanning, larger ones
/// through a hash map.
const SMALL_OBJECT: usize = 16;

/// Walks the value at `i`, recording duplicate keys; returns its end.
/// `trail` is the key path to the value (array indexes as numbers).
fn walk_json<'t>(
    text: &'t str,
    mut i: usize,
    trail: &mut Vec<Cow<'t, str>>,
    out: &mut Vec<Duplicate>,
) -> Option<usize> {
    let b = text.as_bytes();
    match *b.get(i)? {
        b'{' => {
            let mut small: Vec<(Cow<'t, str>, usize)> = Vec::new();
            let mut large: HashMap<Cow<'t, str>, usize> = HashMap::new();
            i = skip_ws(b, i + 1);
            loop {
                if *b.get(i)? == b'}' {
                    return Some(i + 1);
                }
                let key_start = i;
                let key_end = skip_string(b, i)?;
                let key = json_key(text, key_start, key_end)?;
                let first = if large.is_empty() {
                    let found = small.iter().find(|(k, _)| *k == key).map(|(_, at)| *at);
                    if found.is_none() {
                        small.push((key.clone(), key_start));
                        if small.len() > SMALL_OBJECT {
                            large.extend(small.drain(..));
                        }
                    }
                    found
                } else {
                    match large.get(&key) {
                        Some(&at) => Some(at),
                        None => {
                            large.insert(key.clone(), key_start);
                            None
                        }
                    }
                };
                if let Some(first) = first {
                    let mut pointer: Vec<String> = trail.iter().map(|k| k.to_string()).collect();
                    pointer.push(key.to_string());
                    out.push(Duplicate {
                        pointer,
                        first,
                        second: key_start,
                    });
                }
                i = skip_ws(b, skip_ws(b, key_end) + 1); // past the ':'
                trail.push(key);
                let end = walk_json(text, i, trail, out);
                trail.pop();
                i = skip_ws(b, end?);
                if b.get(i) == Some(&b',') {
                    i = skip_ws(b, i + 1);
                }
            }
        }
        b'[' => {
            i = skip_ws(b, i + 1);
            let mut n = 0usize;
            loop {
                if *b.get(i)? == b']' {
                    return Some(i + 1);
                }
                trail.push(Cow::Owned(n.to_string()));
                let end = walk_json(text, i, trail, out);
                trail.pop();
                i = skip_ws(b, end?);
                if b.get(i) == Some(&b',') {
                    i = skip_ws(b, i + 1);
                }
                n += 1;
            }
        }
        _ => skip_value(b, i),
    }
}

/// The byte offset of the value (or key) at `pointer` in JSON `text`.
pub fn json_offset(text: &str, pointer: &[String], at_key: bool) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    let mut key_at = i;
    for seg in pointer {
        match *b.get(i)? {
            b'{' => {
                i = skip_ws(b, i + 1);
                loop {
                    if b.get(i) == Some(&b'}') {
                        return Some(key_at);
                    }
                    let key_start = i;
                    let key_end = skip_string(b, i)?;
                    let key: String = serde_json::from_str(&text[key_start..key_end]).ok()?;
                    i = skip_ws(b, key_end);
                    i = skip_ws(b, i + 1); // the ':'
                    if key == *seg {
                        key_at = key_start;
                        break;
                    }
                    i = skip_ws(b, skip_value(b, i)?);
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
            }
            b'[' => {
                let n: usize = seg.parse().ok()?;
                i = skip_ws(b, i + 1);
                for _ in 0..n {
                    i = skip_ws(b, skip_value(b, i)?);
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
                key_at = i;
            }
            _ => return Some(key_at),
        }
    }
    Some(if at_key { key_at } else { i })
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

fn skip_string(b: &[u8], start: usize) -> Option<usize> {
    if b.get(start) != Some(&b'"') {
        return None;
    }
    let mut i = start + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        match b[i] {
            b'"' => return Some(i + 1),
            _ => i += 2,
        }
    }
}

fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        open @ (b'{' | b'[') => {
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match *b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    c if c == open => depth += 1,
                    c if c == close => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                j += 1;
            }
            Some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_problems(text: &str) -> Vec<String> {
        let doc = Document::parse(Path::new("m.toml"), text).unwrap();
        check_manifest(&doc)
            .0
            .iter()
            .map(|p| {
                format!(
                    "{}:{} {:?} {}",
                    p.at.line, p.at.column, p.severity, p.message
                )
            })
            .collect()
    }

    #[test]
    fn manifests_report_every_problem_in_place() {
        let got = manifest_problems(
            "[providers.a]\nbase_ur = \"http://x\"\n\n[providers.b]\nbase_url = \"ftp://x\"\ntimeout_secs = 0\nauth_type = \"basic\"\nheaders = { Authorization = \"Bearer sk-lit\" }\n\n[providers.c]\ndefault_model = \"m\"\n",
        );
        // A misspelt required key is one mistake, reported once (with a
        // "did you mean"); a key that is simply missing is reported.
        let want = [
            "2:1 Error providers.a: unknown key `base_ur`",
            "5:12 Error providers.b: base_url: base URL \"ftp://x\" uses ftp://; only http:// and https:// are supported",
            "6:16 Error providers.b: timeout_secs: must be a whole number of seconds from 1 to 86400, not 0",
            "7:13 Error providers.b: auth_type: must be \"bearer\", \"api-key\" or \"x-api-key\", not \"basic\"",
            "8:29 Warning providers.b: headers.Authorization holds a literal credential",
            "10:1 Error providers.c: \"base_url\" is a required property",
        ];
        assert_eq!(got, want);
        assert!(!got.iter().any(|g| g.contains("sk-lit")));
    }

    #[test]
    fn snippets_put_a_caret_under_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("m.toml");
        std::fs::write(&f, "[providers.a]\nbase_url = \"ftp://x\"\n").unwrap();
        let report = check(&[(f.clone(), Kind::Manifest)]);
        let text = report.render(true);
        let want = format!(
            "{}:2:12: error: providers.a: base_url: base URL \"ftp://x\" uses ftp://; only http:// and https:// are supported\n 2 | base_url = \"ftp://x\"\n   |            ^\n",
            f.display()
        );
        assert_eq!(text, want);
        assert!(!report.render(false).contains('^'));
    }

    #[test]
    fn snippets_are_never_read_from_endless_or_special_files() {
        let report = Report {
            problems: vec![error(
                Location {
                    file: PathBuf::from("/dev/zero"),
                    line: 1,
                    column: 1,
                },
                "it is larger than the 64 MiB limit".into(),
            )],
            files: 1,
        };
        assert_eq!(
            report.render(true),
            "/dev/zero:1:1: error: it is larger than the 64 MiB limit\n"
        );
    }

    #[test]
    fn finds_duplicate_keys_at_every_depth() {
        let text = "{\"a\": 1, \"b\": [{\"x\": 1, \"x\": 2}], \"a\": {\"\\u0061\": 1, \"a\": 2}}";
        let d = json_duplicates(text);
        let got: Vec<(String, &str, &str)> = d
            .iter()
            .map(|d| {
                (
                    d.pointer.join("."),
                    &text[d.first..d.first + 3],
                    &text[d.second..d.second + 3],
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("b.0.x".to_string(), "\"x\"", "\"x\""),
                ("a".to_string(), "\"a\"", "\"a\""),
                ("a.a".to_string(), "\"\\u", "\"a\""),
            ]
        );
        assert!(json_duplicates("{\"a\": {\"a\": 1}, \"s\": \"\\\"a\\\": 1\"}").is_empty());
        assert!(json_duplicates("  ").is_empty());
    }

    #[test]
    fn config_problems_cover_types_duplicates_and_typos() {
        let text = "{\n  \"api_keys\": \"x\",\n  \"api_key\": {},\n  \"custom_providers\": {\n    \"p\": {\"base_url\": \"http://p/\", \"defualt_model\": \"m\"},\n    \"q\": 5,\n    \"q\": 6\n  }\n}\n";
        let got: Vec<String> = check_config(Path::new("c.json"), text)
            .iter()
            .map(|p| {
                format!(
                    "{}:{} {:?} {}",
                    p.at.line, p.at.column, p.severity, p.message
                )
            })
            .collect();
        let want = [
            "2:15 Error api_keys must be an object of strings, not a string",
            "3:3 Warning `api_key` is not a key aix knows",
            "5:23 Warning custom_providers.p.base_url is not in normal form",
            "5:36 Warning custom_providers.p: unknown provider field `defualt_model`",
            "6:10 Error custom_providers.q must be an object (a provider), not a number",
            "7:5 Error key \"q\" appears twice in custom_providers: lines 6 and 7",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn json_pointers_map_to_offsets() {
        let text = "{\n  \"a\": {\"b\": [1, {\"c\": \"x\"}]},\n  \"d\\u0065\": 2\n}";
        let at = |p: &[&str], key: bool| {
            let p: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            let o = json_offset(text, &p, key).unwrap();
            let l = manifest::locate(Path::new("f"), text, o);
            (l.line, l.column)
        };
        assert_eq!(at(&["a", "b", "1", "c"], false), (2, 24));
        assert_eq!(at(&["a", "b", "1", "c"], true), (2, 19));
        assert_eq!(at(&["de"], false), (3, 14));
        assert_eq!(at(&[], false), (1, 1));
    }

    #[test]
    fn two_files_cannot_define_one_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.toml");
        let b = dir.path().join("b.toml");
        std::fs::write(&a, "[providers.x]\nbase_url = \"http://a\"\n").unwrap();
        std::fs::write(
            &b,
            "\n[providers.y]\nbase_url = \"http://b\"\n[providers.x]\nbase_url = \"http://c\"\n",
        )
        .unwrap();
        let (report, manifest) = load_manifests(&[a.clone(), b.clone()]);
        assert!(manifest.is_err());
        let messages: Vec<String> = report
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.at, p.message))
            .collect();
        assert_eq!(
            messages,
            [format!(
                "{}:4:12: provider 'x' is already defined at {}:1:12",
                b.display(),
                a.display()
            )]
        );
        let (report, manifest) = load_manifests(&[a]);
        assert!(report.problems.is_empty());
        let m = manifest.unwrap();
        assert!(m.get("x").is_some() && m.get("y").is_none());
    }

    #[test]
    fn a_manifest_is_parsed_once_into_the_same_values() {
        // The JSON view carries every TOML type the schema sees.
        let text = "[providers.a]\nbase_url = \"http://h/v1/\"\ntimeout_secs = 0x10\nx = 1.5\nd = 1979-05-27\nl = [true]\n";
        let doc = Document::parse(Path::new("m.toml"), text).unwrap();
        assert_eq!(
            doc.json,
            json!({"providers": {"a": {"base_url": "http://h/v1/", "timeout_secs": 16, "x": 1.5, "d": "1979-05-27", "l": [true]}}})
        );
        let (at, message) = Document::parse(Path::new("m.toml"), "a = 99999999999999999999\n")
            .err()
            .unwrap();
        assert_eq!((at.line, at.column), (1, 5));
        assert!(message.contains("out of range"), "{message}");
    }

    #[test]
    fn header_names_that_differ_only_in_case_are_one_header() {
        let got = manifest_problems(
            "[providers.a]\nbase_url = \"http://x\"\nheaders = { X-A = \"1\", x-a = \"2\" }\n",
        );
        assert_eq!(
            got,
            ["3:24 Error providers.a: headers: \"x-a\" is given twice (as \"X-A\" too)"]
        );
    }

    #[test]
    fn literal_credentials_suggest_variables_unique_across_the_manifest() {
        let text = r#"
[providers.a]
base_url = "http://a/v1"
headers = { X-API-Key = "lit\u0001", Authorization = "Bearer x", X-Team = "t" }

[providers.a-x]
base_url = "http://ax"
headers = { API-Key = "lit", Auth = "${env:OK}" }

[providers.a-x-api]
base_url = "http://ax"
headers = { Key = "lit" }
"#;
        let doc = Document::parse(Path::new("m.toml"), text).unwrap();
        let got: Vec<(usize, String)> = check_manifest(&doc)
            .0
            .into_iter()
            .filter(|p| p.severity == Severity::Warning)
            .map(|p| {
                let hint = p.hint.unwrap_or_default();
                let var = hint.rsplit("${env:").next().unwrap_or_default();
                (p.at.line, var.trim_end_matches("}\"").to_string())
            })
            .collect();
        // The header with an error gets no warning, yet its name is
        // taken: the next that would have it is numbered.
        assert_eq!(
            got,
            [
                (4, "AIX_A_AUTHORIZATION".to_string()),
                (8, "AIX_A_X_API_KEY_2".to_string()),
                (12, "AIX_A_X_API_KEY_3".to_string()),
            ]
        );
    }

    #[test]
    fn snippets_mask_credentials_and_keep_the_caret() {
        let m = |line: &str, col: usize| mask_snippet(line, col, false);
        assert_eq!(
            m(r#"Authorization = "Bearer SECRET", X = "v""#, 37),
            (r#"Authorization = "(sensitive)", X = "v""#.to_string(), 35)
        );
        assert_eq!(
            m(r#""X-Api-Key": "k123", "#, 14),
            (r#""X-Api-Key": "(sensitive)", "#.to_string(), 14)
        );
        assert_eq!(
            m(r#"base_url = "https://u:pw@h/v1""#, 11),
            (r#"base_url = "https://(sensitive)@h/v1""#.to_string(), 11)
        );
        assert_eq!(m(r#"X = "Basic dXNlcg==""#, 0).0, r#"X = "(sensitive)""#);
        // References, names of variables and harmless values stay.
        for line in [
            r#"Authorization = "Bearer ${env:KEY}""#,
            r#"api_key_env = "OPENAI_API_KEY""#,
            r#"auth_type = "bearer""#,
            r#"max_tokens = 100"#,
            r#"base_url = "http://x/v1""#,
        ] {
            assert_eq!(m(line, 3), (line.to_string(), 3), "{line}");
        }
        assert_eq!(
            mask_snippet(r#"    "a": "sk-1", "b": 7"#, 0, true).0,
            r#"    "a": "(sensitive)", "b": 7"#
        );
        let config = "{\n \"x\": 1,\n \"api_keys\": {\n  \"a\": \"k\"\n },\n \"y\": \"z\"\n}\n";
        let lines: Vec<bool> = (1..=7).map(|l| in_api_keys(config, l)).collect();
        assert_eq!(lines, [false, false, true, true, true, false, false]);
    }
}
