//! `providers.toml`: the declarative manifest, read into the same
//! [`Provider`] values the imperative commands build, with the place each
//! came from.
//!
//! ```toml
//! [providers.ollama]
//! base_url = "http://localhost:11434/v1"
//! default_model = "llama3.2"
//! ```
//!
//! Unknown keys are errors (with a "did you mean"), because a misspelt
//! `defualt_model` silently ignored is a provider that quietly does the
//! wrong thing on every machine. Every error names `FILE:LINE:COLUMN`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::Value;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::Error;
use crate::provider::{self, Provider, fields};

/// Where something is in a manifest file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// The location of byte `offset` in `text`.
pub fn locate(file: &Path, text: &str, offset: usize) -> Location {
    LineIndex::new(text).locate(file, offset)
}

/// Where each line of a text starts, so that many offsets can be turned
/// into line and column without rescanning the text for each (a 10,000
/// provider manifest would otherwise take quadratic time).
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    pub fn locate(&self, file: &Path, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        Location {
            file: file.to_path_buf(),
            line,
            column: self.text[start..offset].chars().count() + 1,
        }
    }
}

/// One manifest file parsed once: the spanned table (for places), a JSON
/// view of it (for the schema, the checks and the provider model) and a
/// line index. `aix validate`, `aix plan` and `aix apply` all read a
/// manifest through this, so a 10,000-provider file is parsed one time.
pub struct Document<'a> {
    pub path: &'a Path,
    pub lines: LineIndex<'a>,
    pub table: DeTable<'a>,
    pub json: Value,
}

impl<'a> Document<'a> {
    /// Parses `text`; a syntax error is returned with its place.
    pub fn parse(path: &'a Path, text: &'a str) -> Result<Self, (Location, String)> {
        let lines = LineIndex::new(text);
        let table = match DeTable::parse(text) {
            Ok(t) => t.into_inner(),
            Err(e) => {
                let at = lines.locate(path, e.span().map_or(0, |s| s.start));
                return Err((at, e.message().trim_end().replace('\n', " ")));
            }
        };
        let json = table_json(&table).map_err(|(offset, m)| (lines.locate(path, offset), m))?;
        Ok(Document {
            path,
            lines,
            table,
            json,
        })
    }

    /// The place of byte `offset`.
    pub fn locate(&self, offset: usize) -> Location {
        self.lines.locate(self.path, offset)
    }

    /// The (key, value) spans of the item at `pointer` (None when it is
    /// missing; the deepest item for a pointer into an array or scalar).
    /// Each step is a keyed lookup, not a scan.
    pub fn span(&self, pointer: &[String]) -> Option<(Range<usize>, Range<usize>)> {
        let mut table = &self.table;
        let mut best: Option<(Range<usize>, Range<usize>)> = None;
        for seg in pointer {
            let (k, v) = table.get_key_value(seg.as_str())?;
            best = Some((k.span(), v.span()));
            match v.get_ref() {
                DeValue::Table(t) => table = t,
                _ => break,
            }
        }
        best
    }

    /// The providers this file declares, by name. The document must
    /// have passed `validate` (plan and apply check first, with the rules
    /// `Provider::validate` holds), so only types are checked again here;
    /// anything refused is an error at the provider's place. The document
    /// is used up: its spanned table is dropped once the providers' places
    /// are known, and each provider's JSON once it is read, so that the
    /// providers are not built on top of both (a third of a 20,000-provider
    /// plan's memory).
    pub fn into_entries(self) -> Result<Vec<Entry>, Error> {
        let Document {
            path,
            lines,
            table,
            json,
        } = self;
        let Value::Object(mut root) = json else {
            return Ok(Vec::new());
        };
        let Some(Value::Object(providers)) = root.shift_remove("providers") else {
            return Ok(Vec::new());
        };
        drop(root);
        let declared = match table.get("providers").map(|v| v.get_ref()) {
            Some(DeValue::Table(t)) => Some(t),
            _ => None,
        };
        let starts: Vec<usize> = providers
            .keys()
            .map(|name| {
                declared
                    .and_then(|t| t.get_key_value(name.as_str()))
                    .map_or(0, |(k, _)| k.span().start)
            })
            .collect();
        drop(table);
        let mut entries = Vec::with_capacity(providers.len());
        for ((name, entry), start) in providers.into_iter().zip(starts) {
            let at = lines.locate(path, start);
            // A manifest may write a base URL in any form normalisation
            // accepts; config.json stores the normal form.
            let normal = match entry.get("base_url") {
                Some(Value::String(u)) => {
                    // (Not copied when it is in normal form already.)
                    match provider::normalized_base_url(u)
                        .map_err(|m| Error::new(format!("{at}: providers.{name}: base_url: {m}")))?
                    {
                        std::borrow::Cow::Owned(n) if n != *u => Some(n),
                        _ => None,
                    }
                }
                _ => None,
            };
            // `${file:PATH}` relative to this manifest's folder, made
            // absolute so config.json means the same file.
            let files = has_relative_file_ref(&entry);
            let provider = match (normal, files) {
                (None, false) => Provider::from_json_typed(&name, &entry),
                (normal, _) => {
                    let mut entry = entry;
                    if let Some(n) = normal {
                        entry["base_url"] = Value::String(n);
                    }
                    if files {
                        let dir = match path.parent() {
                            Some(d) if !d.as_os_str().is_empty() => d,
                            _ => Path::new("."),
                        };
                        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
                        absolute_file_refs(&mut entry, &dir);
                    }
                    Provider::from_json_typed(&name, &entry)
                }
            }
            .map_err(|e| Error::new(format!("{at}: providers.{name}: {e}")))?;
            entries.push(Entry { provider, at });
        }
        Ok(entries)
    }
}

/// Whether any string of `v` holds a `${file:` reference that is not
/// absolute or from `~/`.
fn has_relative_file_ref(v: &Value) -> bool {
    match v {
        // Each `${file:` (found from the `$`s, by bytes: most strings have
        // none) and what follows it.
        Value::String(s) => {
            let b = s.as_bytes();
            memchr::memchr_iter(b'$', b).any(|at| {
                b[at..].starts_with(b"${file:") && !matches!(b.get(at + 7), Some(b'/' | b'~'))
            })
        }
        Value::Array(items) => items.iter().any(has_relative_file_ref),
        Value::Object(m) => m.values().any(has_relative_file_ref),
        _ => false,
    }
}

fn absolute_file_refs(v: &mut Value, dir: &Path) {
    let _ = crate::provider::shaping::each_string_mut(v, &mut Vec::new(), &mut |_, s| {
        if s.contains("${file:") {
            *s = crate::secret::envref::absolute_files(s, dir);
        }
        Ok::<(), ()>(())
    });
}

/// A TOML table as JSON, its keys sorted (so config.json, plans and other
/// tools' files stay the same when a manifest's keys are reordered).
/// Datetimes become their TOML text; an integer beyond 64 bits is an error
/// at its place (TOML allows no larger).
fn table_json(table: &DeTable<'_>) -> Result<Value, (usize, String)> {
    // (The parser's tables keep file order.)
    let mut members: Vec<_> = table.iter().collect();
    members.sort_unstable_by(|a, b| a.0.get_ref().cmp(b.0.get_ref()));
    let mut map = serde_json::Map::with_capacity(members.len());
    for (k, v) in members {
        map.insert(k.get_ref().to_string(), value_json(v)?);
    }
    Ok(Value::Object(map))
}

fn value_json(v: &Spanned<DeValue<'_>>) -> Result<Value, (usize, String)> {
    Ok(match v.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Value::from)
            .map_err(|_| (v.span().start, format!("integer {i} is out of range")))?,
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(a) => Value::Array(a.iter().map(value_json).collect::<Result<_, _>>()?),
        DeValue::Table(t) => table_json(t)?,
    })
}

/// One provider the manifest declares.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub provider: Provider,
    /// Where its `[providers.NAME]` table starts.
    pub at: Location,
}

/// All the manifest files given, merged.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// Sorted by name.
    pub entries: Vec<Entry>,
    /// The `[aliases]` of every file, sorted by name.
    pub aliases: Vec<AliasEntry>,
    /// The `[targets]` of every file, in the order read.
    pub targets: Vec<crate::targets::Decl>,
}

/// One alias a manifest declares.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasEntry {
    pub name: String,
    /// A target or a list of them, as written.
    pub value: Value,
    pub at: Location,
}

impl Manifest {
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.provider.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }
}

#[cfg(any(test, feature = "internals"))]
/// Reads one manifest file's text into its providers, refusing it on the
/// first problem `aix validate` would call an error (the same rules and
/// words). `aix plan` uses [`crate::schema::validate::load_manifests`], which
/// reports every problem at once.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Entry>, Error> {
    let doc = Document::parse(path, text).map_err(|(at, m)| Error::new(format!("{at}: {m}")))?;
    if let Some(p) = crate::schema::validate::manifest_errors(&doc)
        .into_iter()
        .next()
    {
        let err = Error::new(format!("{}: {}", p.at, p.message));
        return Err(match p.hint {
            Some(h) => err.hint(h),
            None => err,
        });
    }
    doc.into_entries()
}

/// Renders providers as a manifest (for `aix provider export`). Literal
/// credentials in headers are replaced by `${env:...}` references; the
/// variables are returned so the caller can say which to set.
pub fn render(providers: &[Provider]) -> (String, Vec<(String, String)>) {
    let mut out = String::from(
        "# providers.toml: the providers aix manages (see `aix plan` and `aix apply`).\n",
    );
    let mut replaced = Vec::new();
    // Every literal credential gets its own variable, even when two
    // providers' names would map to the same one.
    let secret_entries: Vec<(&str, &str)> = providers
        .iter()
        .flat_map(|p| {
            p.headers
                .iter()
                .filter(|(k, v)| headers_field().entry_is_secret(k, v))
                .map(|(k, _)| (p.name.as_str(), k.as_str()))
        })
        .collect();
    // A generated name must not be one a provider already reads: the
    // literal's value would replace what that provider sends.
    let mut in_use: std::collections::HashMap<String, String> = Default::default();
    for p in providers {
        let mut note = |var: &str| {
            in_use
                .entry(var.to_string())
                .or_insert_with(|| format!("{} (which already reads it)", p.name));
        };
        if let Some(v) = &p.api_key_env {
            note(v);
        }
        for (_, v) in &p.headers {
            for var in referenced_vars(v) {
                note(&var);
            }
        }
    }
    let mut vars = env_var_names_avoiding(&secret_entries, &in_use).into_iter();
    for p in providers {
        out.push_str(&format!("\n[providers.{}]\n", toml_key(&p.name)));
        // What the preset fills in is left out: reading the export back
        // fills in the same.
        let preset = p.preset.as_deref().and_then(crate::provider::presets::get);
        let mut subtables = String::new();
        for f in fields::display_order() {
            let Some(value) = f.value(p) else { continue };
            if preset.is_some_and(|pr| pr.provides(f, &value)) {
                continue;
            }
            if f.default.is_some_and(|d| value == d)
                && preset.is_none_or(|pr| pr.value(f).is_none())
            {
                continue;
            }
            let Value::Object(entries) = &value else {
                out.push_str(&format!("{} = {}\n", f.name, toml_value(&value)));
                continue;
            };
            if f.name == "models" {
                // One table per model, after the provider's own keys.
                for (key, entry) in entries {
                    subtables.push_str(&format!(
                        "\n[providers.{}.models.{}]\n",
                        toml_key(&p.name),
                        toml_key(key)
                    ));
                    if let Value::Object(settings) = entry {
                        for (k, v) in settings {
                            subtables.push_str(&format!("{} = {}\n", toml_key(k), toml_inline(v)));
                        }
                    }
                }
                continue;
            }
            if !f.is_map() {
                out.push_str(&format!("{} = {}\n", f.name, toml_inline(&value)));
                continue;
            }
            let mut items = Vec::new();
            for (k, v) in entries {
                let v = v.as_str().unwrap_or_default();
                if preset.is_some_and(|pr| pr.provides_entry(f, k, v)) {
                    continue;
                }
                let shown = if f.entry_is_secret(k, v) {
                    let (var, clash) = vars
                        .next()
                        .unwrap_or_else(|| (env_var_for(&p.name, k), None));
                    let what = match clash {
                        Some(first) => format!(
                            "{}: header {k} ({} is taken by {first}, so this one is numbered)",
                            p.name,
                            env_var_for(&p.name, k)
                        ),
                        None => format!("{}: header {k}", p.name),
                    };
                    replaced.push((var.clone(), what));
                    format!("${{env:{var}}}")
                } else {
                    v.to_string()
                };
                items.push(format!("{} = {}", toml_key(k), toml_str(&shown)));
            }
            if !items.is_empty() {
                out.push_str(&format!("{} = {{ {} }}\n", f.name, items.join(", ")));
            }
        }
        out.push_str(&subtables);
    }
    (out, replaced)
}

/// An `[aliases]` table for `aliases` (nothing when there are none).
pub fn render_aliases(aliases: &serde_json::Map<String, Value>) -> String {
    if aliases.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n[aliases]\n");
    for (name, value) in aliases {
        out.push_str(&format!("{} = {}\n", toml_key(name), toml_inline(value)));
    }
    out
}

/// `AIX_<PROVIDER>_<HEADER>`, upper-cased, other characters as `_`.
pub fn env_var_for(provider: &str, header: &str) -> String {
    format!("AIX_{provider}_{header}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// [`env_var_for`] for every `(provider, header)` pair, made unique: when
/// pairs map to the same name, the first (in the given order) keeps it and
/// the others get `_2`, `_3`, ... (skipping any name already in use). Each
/// renamed pair also gets the `provider: header NAME` that kept the name.
pub fn env_var_names(pairs: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    env_var_names_avoiding(pairs, &Default::default())
}

/// [`env_var_names`] that also avoids the names in `in_use` (variable →
/// who uses it): a pair whose name is in use is numbered even when first.
pub fn env_var_names_avoiding(
    pairs: &[(&str, &str)],
    in_use: &std::collections::HashMap<String, String>,
) -> Vec<(String, Option<String>)> {
    use std::collections::{HashMap, HashSet};
    let bases: Vec<String> = pairs.iter().map(|(p, h)| env_var_for(p, h)).collect();
    let mut taken: HashSet<String> = bases.iter().cloned().collect();
    taken.extend(in_use.keys().cloned());
    let mut first: HashMap<&str, usize> = HashMap::new();
    bases
        .iter()
        .enumerate()
        .map(|(i, base)| {
            let owner = *first.entry(base.as_str()).or_insert(i);
            if owner == i && !in_use.contains_key(base) {
                return (base.clone(), None);
            }
            let mut n = 2usize;
            let name = loop {
                let candidate = format!("{base}_{n}");
                if taken.insert(candidate.clone()) {
                    break candidate;
                }
                n += 1;
            };
            let by = match in_use.get(base) {
                Some(user) => user.clone(),
                None => {
                    let (p, h) = pairs[owner];
                    format!("{p}: header {h}")
                }
            };
            (name, Some(by))
        })
        .collect()
}

/// The variables `${env:...}` references in `value` name.
fn referenced_vars(value: &str) -> Vec<String> {
    let found = std::cell::RefCell::new(Vec::new());
    let _ = crate::secret::envref::resolve_with(value, |r| {
        if r.source == crate::secret::envref::Source::Env {
            found.borrow_mut().push(r.arg.to_string());
        }
        Ok(String::new())
    });
    found.into_inner()
}

fn headers_field() -> &'static fields::Field {
    fields::field("headers").expect("headers is a provider field")
}

/// A JSON value (a field's config.json form) as TOML text.
/// Any JSON value as a TOML inline value (`extra_body`). TOML has no
/// null, so null members are left out.
fn toml_inline(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{} = {}", toml_key(k), toml_inline(v)))
                .collect();
            if items.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", items.join(", "))
            }
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter()
                .filter(|v| !v.is_null())
                .map(toml_inline)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => toml_value(other),
    }
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::String(s) => toml_str(s),
        other => other.to_string(),
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_str(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Vec<Entry>, Error> {
        parse(Path::new("p.toml"), text)
    }

    #[test]
    fn relative_file_refs_are_found_as_split_finds_them() {
        let by_split = |s: &str| {
            s.split("${file:")
                .skip(1)
                .any(|rest| !rest.starts_with(['/', '~']))
        };
        for s in [
            "",
            "$",
            "${file:",
            "${file:/a",
            "${file:~/a",
            "${file:a}",
            "x ${file:/a} ${file:b}",
            "${file:${file:/x}",
            "${file:/a}${file:",
            "$${file:~}",
            "${env:A} ${file:/k}",
            "é${file:ü}",
            "${fil:a}",
        ] {
            assert_eq!(has_relative_file_ref(&Value::from(s)), by_split(s), "{s:?}");
        }
        let nested = serde_json::json!({"a": [1, {"b": "${file:/x}"}, "${file:k}"]});
        assert!(has_relative_file_ref(&nested));
        assert!(!has_relative_file_ref(
            &serde_json::json!({"a": ["${file:/x}", 2]})
        ));
    }

    #[test]
    fn reads_every_field() {
        let e = parse_str(
            r#"
[providers.work]
base_url = "https://llm.example.com/v1/"
default_model = "big"
auth_type = "api-key"
api_key_env = "WORK_KEY"
timeout_secs = 60
headers = { "X-API-Key" = "${env:WORK_LLM_KEY}", X-Title = "aix" }

[providers.ollama]
base_url = "http://localhost:11434/v1"
"#,
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        let ollama = &e[0];
        assert_eq!(
            (
                ollama.provider.name.as_str(),
                ollama.at.line,
                ollama.at.column
            ),
            ("ollama", 10, 12)
        );
        let w = &e[1].provider;
        assert_eq!(w.base_url, "https://llm.example.com/v1");
        assert_eq!(w.auth_type, crate::provider::AuthType::ApiKey);
        assert_eq!(w.timeout_secs, Some(60));
        assert_eq!(w.headers.len(), 2);
        assert!(parse_str("").unwrap().is_empty());
        assert!(parse_str("[providers]\n").unwrap().is_empty());
    }

    #[test]
    fn the_json_view_and_the_entries_are_sorted_whatever_the_file_order() {
        let text = "[providers.zed]\nbase_url = \"http://z/v1\"\nheaders = { X-B = \"2\", X-A = \"1\" }\n\n[providers.abc]\nbase_url = \"http://a/v1\"\n";
        let doc = Document::parse(Path::new("p.toml"), text).unwrap();
        let providers = doc.json["providers"].as_object().unwrap();
        assert_eq!(providers.keys().collect::<Vec<_>>(), ["abc", "zed"]);
        let headers = providers["zed"]["headers"].as_object().unwrap();
        assert_eq!(headers.keys().collect::<Vec<_>>(), ["X-A", "X-B"]);
        // Places still come from the file: zed's table is on line 1.
        let e = doc.into_entries().unwrap();
        let names: Vec<_> = e
            .iter()
            .map(|e| (e.provider.name.as_str(), e.at.line))
            .collect();
        assert_eq!(names, [("abc", 5), ("zed", 1)]);
    }

    #[test]
    fn errors_point_at_the_place() {
        let cases = [
            (
                "[providers.a]\nbase_ur = \"http://x\"\n",
                "p.toml:2:1:",
                Some("did you mean `base_url`?"),
            ),
            (
                "[provider.a]\nbase_url = \"http://x\"\n",
                "p.toml:1:2:",
                Some("did you mean `providers`?"),
            ),
            (
                "[providers.a]\nbase_url = \"ftp://x\"\n",
                "p.toml:2:12: providers.a: base_url:",
                None,
            ),
            ("[providers.a]\nbase_url = 5\n", "p.toml:2:12:", None),
            (
                "[providers.a]\ndefault_model = \"m\"\n",
                "p.toml:1:1:",
                None,
            ),
            (
                "[providers.a]\nbase_url = \"http://x\"\nauth_type = \"basic\"\n",
                "p.toml:3:13: providers.a: auth_type:",
                None,
            ),
            (
                "[providers.a]\nbase_url = \"http://x\"\ntimeout_secs = -1\n",
                "p.toml:3:16:",
                None,
            ),
            (
                "[providers.a]\nbase_url = \"http://x\"\nheaders = { \"Bad Name\" = \"v\" }\n",
                "p.toml:3:13: providers.a: headers:",
                None,
            ),
            (
                "[providers.a]\nbase_url = \"http://x\"\nheaders = { X = \"a\\nb\" }\n",
                "p.toml:3:17: providers.a: headers: value of header \"X\" contains a line feed",
                None,
            ),
            (
                "[providers.\"bad name\"]\nbase_url = \"http://x\"\n",
                "p.toml:1:12:",
                None,
            ),
            (
                "[providers.a]\nbase_url = \"http://x\"\n[providers.a]\n",
                "p.toml:3:",
                None,
            ),
            ("[providers.a\n", "p.toml:1:", None),
        ];
        for (text, want, hint) in cases {
            let err = parse_str(text).unwrap_err();
            assert!(
                err.message().starts_with(want),
                "{text:?}: {}",
                err.message()
            );
            if let Some(h) = hint {
                assert!(
                    err.hints().iter().any(|x| x == h),
                    "{text:?}: {:?}",
                    err.hints()
                );
            }
        }
    }

    #[test]
    fn env_var_names_are_unique_and_deterministic() {
        let names = env_var_names(&[
            ("a.b", "X-Key"),
            ("a-b", "X-Key"),
            ("a", "B-X-Key"),
            ("a_b", "x_key_2"),
            ("other", "Authorization"),
        ]);
        let vars: Vec<&str> = names.iter().map(|(v, _)| v.as_str()).collect();
        // AIX_A_B_X_KEY_2 is a plain name of its own, so the numbering
        // skips it.
        assert_eq!(
            vars,
            [
                "AIX_A_B_X_KEY",
                "AIX_A_B_X_KEY_3",
                "AIX_A_B_X_KEY_4",
                "AIX_A_B_X_KEY_2",
                "AIX_OTHER_AUTHORIZATION"
            ]
        );
        assert_eq!(names[1].1.as_deref(), Some("a.b: header X-Key"));
        assert_eq!(names[0].1, None);
        assert_eq!(names[3].1, None);
    }

    #[test]
    fn render_round_trips_and_hides_secrets() {
        let src = r#"
[providers."my.host"]
base_url = "http://h/v1"
headers = { Authorization = "Bearer sk-literal", X-Title = "t \"q\"" }
auth_type = "api-key"
timeout_secs = 9
"#;
        let entries = parse_str(src).unwrap();
        let providers: Vec<Provider> = entries.iter().map(|e| e.provider.clone()).collect();
        let (text, replaced) = render(&providers);
        assert!(!text.contains("sk-literal"), "{text}");
        assert_eq!(
            replaced,
            [(
                "AIX_MY_HOST_AUTHORIZATION".to_string(),
                "my.host: header Authorization".to_string()
            )]
        );
        let back = parse_str(&text).unwrap();
        let mut want = providers[0].clone();
        want.headers[0].1 = "${env:AIX_MY_HOST_AUTHORIZATION}".into();
        assert_eq!(back[0].provider, want);
    }
}
