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

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::manifest::{self, Location};
use crate::provider::{self, AuthType};
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
                    .or_insert_with(|| std::fs::read_to_string(&p.at.file).ok());
                if let Some(line) = text.as_deref().and_then(|t| t.lines().nth(p.at.line - 1)) {
                    let n = p.at.line.to_string();
                    out.push_str(&format!(" {n} | {line}\n"));
                    out.push_str(&format!(
                        " {} | {}^\n",
                        " ".repeat(n.len()),
                        " ".repeat(p.at.column.saturating_sub(1))
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
    let mut report = Report::default();
    let mut names: BTreeMap<String, Location> = BTreeMap::new();
    for (path, kind) in files {
        report.files += 1;
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    report.problems.push(error(
                        Location {
                            file: path.clone(),
                            line: 1,
                            column: 1,
                        },
                        format!(
                            "not UTF-8 text (invalid byte at offset {})",
                            e.utf8_error().valid_up_to()
                        ),
                    ));
                    continue;
                }
            },
            Err(e) => {
                report.problems.push(error(
                    Location {
                        file: path.clone(),
                        line: 1,
                        column: 1,
                    },
                    format!("cannot read the file: {e}"),
                ));
                continue;
            }
        };
        match kind {
            Kind::Manifest => {
                let (problems, declared) = check_manifest(path, &text);
                report.problems.extend(problems);
                for (name, at) in declared {
                    if let Some(first) = names.get(&name) {
                        report.problems.push(Problem {
                            message: format!("provider '{name}' is already defined at {first}"),
                            hint: Some(
                                "each provider may be declared in one manifest file only".into(),
                            ),
                            ..error(at, String::new())
                        });
                    } else {
                        names.insert(name, at);
                    }
                }
            }
            Kind::Config => report.problems.extend(check_config(path, &text)),
        }
    }
    report
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
                let known: Vec<&str> = match pointer.len() {
                    0 => vec!["providers"],
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
            _ => {
                if semantic.iter().any(|s| s.pointer == pointer) {
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
    vec![
        "base_url",
        "default_model",
        "headers",
        "auth_type",
        "api_key_env",
        "timeout_secs",
        "max_time_secs",
    ]
}

/// A check of one string field, with the words `provider add` uses.
type FieldCheck = fn(&str) -> Result<(), String>;

/// Semantic checks of one provider object (manifest or config entry).
fn provider_problems(
    base: &[String],
    name: &str,
    entry: &Value,
    in_manifest: bool,
    out: &mut Vec<Found>,
) {
    let at = |field: &[&str]| -> Vec<String> {
        let mut p = base.to_vec();
        p.extend(field.iter().map(|s| s.to_string()));
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
    // Each string field through the check `provider add` uses for it.
    let checks: [(&str, FieldCheck); 4] = [
        ("base_url", |v| provider::normalize_base_url(v).map(drop)),
        ("default_model", |v| provider::parse_model(v).map(drop)),
        ("auth_type", |v| AuthType::parse(v).map(drop)),
        ("api_key_env", |v| provider::parse_env_var(v).map(drop)),
    ];
    for (field, check) in checks {
        if let Some(Value::String(v)) = obj.get(field)
            && let Err(e) = check(v)
        {
            out.push(Found::err(at(&[field]), format!("{here}: {field}: {e}")));
        }
    }
    if let Some(Value::Object(headers)) = obj.get("headers") {
        for (k, v) in headers {
            let p = at(&["headers", k]);
            if let Err(m) = provider::validate_header_name(k) {
                out.push(Found {
                    at_key: true,
                    ..Found::err(p.clone(), format!("{here}: headers: {m}"))
                });
                continue;
            }
            let Value::String(v) = v else { continue };
            if let Err(m) = provider::validate_header_value(k, v) {
                out.push(Found::err(p, format!("{here}: headers: {m}")));
            } else if in_manifest && secret::display_header_value(k, v, false) == secret::MASK {
                out.push(Found {
                    severity: Severity::Warning,
                    hint: Some(format!(
                        "manifests usually live in git: write it as \"${{env:VAR}}\" (or \"Bearer ${{env:VAR}}\") and export VAR, e.g. {k} = \"${{env:{}}}\"",
                        manifest::env_var_for(name, k)
                    )),
                    ..Found::err(p, format!("{here}: headers.{k} holds a literal credential"))
                });
            }
        }
    }
}

fn check_manifest(path: &Path, text: &str) -> (Vec<Problem>, Vec<(String, Location)>) {
    let doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let at = manifest::locate(path, text, e.span().map_or(0, |s| s.start));
            return (
                vec![error(at, e.message().trim_end().replace('\n', " "))],
                Vec::new(),
            );
        }
    };
    let instance: Value = match toml::from_str::<toml::Value>(text) {
        Ok(v) => serde_json::to_value(v).unwrap_or(Value::Null),
        Err(e) => {
            let at = manifest::locate(path, text, e.span().map_or(0, |s| s.start));
            return (
                vec![error(at, e.message().trim_end().replace('\n', " "))],
                Vec::new(),
            );
        }
    };
    let mut semantic = Vec::new();
    let mut declared = Vec::new();
    if let Some(Value::Object(providers)) = instance.get("providers") {
        for (name, entry) in providers {
            let base = vec!["providers".to_string(), name.clone()];
            provider_problems(&base, name, entry, true, &mut semantic);
            if let Some((key, _)) = toml_span(doc.get_ref(), &base) {
                declared.push((name.clone(), manifest::locate(path, text, key.start)));
            }
        }
    }
    let mut found = schema_problems(Kind::Manifest, &instance, &semantic);
    found.extend(semantic);
    let problems = found
        .into_iter()
        .map(|f| {
            let span = toml_span(doc.get_ref(), &f.pointer)
                .map(|(k, v)| if f.at_key { k } else { v })
                .unwrap_or(0..0);
            Problem {
                at: manifest::locate(path, text, span.start),
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

/// The (key, value) spans of the item at `pointer` in a spanned TOML
/// document (None when it is missing). Each step is a keyed lookup, not a
/// scan: a 10,000-provider manifest maps every name through here.
fn toml_span(doc: &DeTable<'_>, pointer: &[String]) -> Option<(Range<usize>, Range<usize>)> {
    let mut table = doc;
    let mut best: Option<(Range<usize>, Range<usize>)> = None;
    for seg in pointer {
        let (k, v): (&Spanned<_>, &Spanned<DeValue<'_>>) = table.get_key_value(seg.as_str())?;
        best = Some((k.span(), v.span()));
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    best
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
    if let Some(Value::Object(providers)) = instance.get("custom_providers") {
        for (name, entry) in providers {
            let base = vec!["custom_providers".to_string(), name.clone()];
            provider_problems(&base, name, entry, false, &mut semantic);
            if let Value::Object(o) = entry
                && let Some(Value::String(u)) = o.get("base_url")
                && provider::normalize_base_url(u).is_ok_and(|n| n != *u)
            {
                let mut p = base.clone();
                p.push("base_url".into());
                semantic.push(Found::err(
                    p,
                    format!(
                        "custom_providers.{name}.base_url: must be written without a trailing '/'"
                    ),
                ));
            }
        }
    }
    if let Some(Value::Object(keys)) = instance.get("api_keys") {
        for (name, key) in keys {
            if let Value::String(k) = key
                && let Err(m) = crate::state::check_key_text(k)
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
    let problems = found
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
    sorted(problems)
}

/// The byte offset of the value (or key) at `pointer` in JSON `text`.
fn json_offset(text: &str, pointer: &[String], at_key: bool) -> Option<usize> {
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
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
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
        check_manifest(Path::new("m.toml"), text)
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
            "[providers.a]\nbase_ur = \"http://x\"\n\n[providers.b]\nbase_url = \"ftp://x\"\ntimeout_secs = 0\nauth_type = \"basic\"\nheaders = { Authorization = \"Bearer sk-lit\" }\n",
        );
        let want = [
            "1:1 Error providers.a: \"base_url\" is a required property",
            "2:1 Error providers.a: unknown key `base_ur`",
            "5:12 Error providers.b: base_url: base URL \"ftp://x\" uses ftp://; only http:// and https:// are supported",
            "6:16 Error providers.b.timeout_secs: 0 is less than the minimum of 1",
            "7:13 Error providers.b: auth_type: must be \"bearer\" or \"api-key\", not \"basic\"",
            "8:29 Warning providers.b: headers.Authorization holds a literal credential",
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
}
