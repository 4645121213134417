//! Saved prompts and their templates.
//!
//! A prompt is `<home>/prompts/NAME.toml` holding a template with `{name}`
//! placeholders (`{{` and `}}` are literal braces), an optional system
//! message, description and model. Templates are parsed when saved, so a
//! stray brace is caught at `aix create`, not at the first run.
//!
//! Prompts written by the earlier Python AIX (`NAME.yaml` or `NAME.json`
//! beside a `NAME.txt` template) are listed and runnable, read-only.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::limits::{self, Accept, ReadError};

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Param(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// A template syntax error, with a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Whether `name` can be a placeholder: `[A-Za-z_][A-Za-z0-9_-]*`.
pub fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c == '-' || c.is_ascii_alphanumeric())
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let err = |at: usize, message: String| {
            let before = &source[..at];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            TemplateError {
                line,
                column,
                message,
            }
        };
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut rest = source.char_indices().peekable();
        while let Some((i, c)) = rest.next() {
            match c {
                '{' if rest.peek().map(|&(_, n)| n) == Some('{') => {
                    rest.next();
                    text.push('{');
                }
                '}' if rest.peek().map(|&(_, n)| n) == Some('}') => {
                    rest.next();
                    text.push('}');
                }
                '{' => {
                    let body_start = i + 1;
                    let close = source[body_start..].find(['}', '{', '\n']);
                    let Some(len) = close.filter(|&l| source[body_start + l..].starts_with('}'))
                    else {
                        return Err(err(
                            i,
                            "'{' is not closed by '}' on the same line; write {{ for a literal brace".into(),
                        ));
                    };
                    let name = &source[body_start..body_start + len];
                    if !is_param_name(name) {
                        return Err(err(
                            i,
                            format!(
                                "{{{name}}} is not a placeholder (names are letters, digits, '_' and '-'); write {{{{ and }}}} for literal braces"
                            ),
                        ));
                    }
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    segments.push(Segment::Param(name.to_string()));
                    for _ in 0..=len {
                        rest.next();
                    }
                }
                '}' => {
                    return Err(err(
                        i,
                        "'}' without a matching '{'; write }} for a literal brace".into(),
                    ));
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        Ok(Template { segments })
    }

    /// Placeholder names, each once, in order of first use.
    pub fn params(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for seg in &self.segments {
            if let Segment::Param(p) = seg
                && !out.contains(&p.as_str())
            {
                out.push(p);
            }
        }
        out
    }

    /// Fills every placeholder; the missing names when some have no value.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<String, Vec<String>> {
        let missing: Vec<String> = self
            .params()
            .into_iter()
            .filter(|p| !values.contains_key(*p))
            .map(String::from)
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let mut out = String::new();
        for seg in &self.segments {
            match seg {
                Segment::Text(t) => out.push_str(t),
                Segment::Param(p) => out.push_str(&values[p]),
            }
        }
        Ok(out)
    }
}

/// Where a prompt was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `NAME.toml`, written by aix.
    Toml,
    /// `NAME.yaml`/`NAME.json` + `NAME.txt`, written by the earlier AIX.
    Legacy,
}

/// A saved prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub name: String,
    pub template: String,
    pub description: Option<String>,
    pub system: Option<String>,
    pub model: Option<String>,
    pub format: Format,
    pub path: PathBuf,
}

impl Prompt {
    pub fn parsed(&self) -> Result<Template, Error> {
        Template::parse(&self.template)
            .map_err(|e| Error::new(format!("{}: template {e}", self.path.display())))
    }
}

/// The on-disk shape of `NAME.toml`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    template: String,
}

/// The earlier AIX's metadata file; only the fields aix uses.
#[derive(Debug, Default, Deserialize)]
struct LegacyFile {
    #[serde(default)]
    description: Option<String>,
    #[serde(default, alias = "system_prompt")]
    system: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    template: Option<String>,
}

/// Checks a prompt name: 1–64 of `A-Z a-z 0-9 . _ -`, not starting with
/// `.` (so no hidden files and no `..`).
pub fn validate_name(name: &str) -> Result<(), String> {
    crate::provider::validate_name(name).map_err(|m| m.replace("provider name", "prompt name"))?;
    if name.starts_with('.') {
        return Err(format!("prompt name {name:?} may not start with '.'"));
    }
    Ok(())
}

/// clap value parser for prompt names.
pub fn parse_name(name: &str) -> Result<String, String> {
    validate_name(name).map(|()| name.to_string())
}

/// The prompts folder.
#[derive(Debug, Clone)]
pub struct Prompts {
    dir: PathBuf,
}

fn not_found(name: &str) -> Error {
    Error::new(format!("Prompt '{name}' not found"))
        .hint("see the saved prompts with `aix list`")
        .hint(format!("create it with `aix create {name} \"TEMPLATE\"`"))
}

impl Prompts {
    pub fn new(home: &Path) -> Self {
        Prompts {
            dir: home.join("prompts"),
        }
    }

    fn toml_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.toml"))
    }

    /// Loads prompt `name` (aix's own file first, then the earlier AIX's).
    pub fn load(&self, name: &str) -> Result<Prompt, Error> {
        validate_name(name).map_err(Error::usage)?;
        let path = self.toml_path(name);
        match limits::read_file(&path, limits::PROMPT_FILE, Accept::RegularFile) {
            Ok(bytes) => return parse_toml(name, &path, &bytes),
            Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.at("prompt", &path)),
        }
        for ext in ["yaml", "yml", "json"] {
            let meta = self.dir.join(format!("{name}.{ext}"));
            if meta.is_file() {
                return self.load_legacy(name, &meta);
            }
        }
        Err(not_found(name))
    }

    fn load_legacy(&self, name: &str, meta_path: &Path) -> Result<Prompt, Error> {
        let read =
            |p: &Path| limits::read_text(p, limits::PROMPT_FILE, Accept::RegularFile, "prompt");
        let text = read(meta_path)?;
        let is_json = meta_path.extension().is_some_and(|e| e == "json");
        let meta: LegacyFile = if is_json {
            serde_json::from_str(&text).map_err(|e| {
                Error::new(format!(
                    "{}:{}:{}: {e}",
                    meta_path.display(),
                    e.line(),
                    e.column()
                ))
            })?
        } else {
            serde_norway::from_str::<Option<LegacyFile>>(&text)
                .map_err(|e| Error::new(format!("{}: {e}", meta_path.display())))?
                .unwrap_or_default()
        };
        let txt = self.dir.join(format!("{name}.txt"));
        let template = match meta.template {
            Some(t) => t,
            None => read(&txt)?,
        };
        Ok(Prompt {
            name: name.to_string(),
            template,
            description: meta.description,
            system: meta.system,
            model: meta.model,
            format: Format::Legacy,
            path: meta_path.to_path_buf(),
        })
    }

    /// Every prompt, sorted by name; unreadable ones as errors.
    pub fn list(&self) -> Vec<(String, Result<Prompt, Error>)> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let (stem, ext) = name.rsplit_once('.')?;
                matches!(ext, "toml" | "yaml" | "yml" | "json")
                    .then(|| stem.to_string())
                    .filter(|s| validate_name(s).is_ok())
            })
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|n| {
                let p = self.load(&n);
                (n, p)
            })
            .collect()
    }

    /// Saves a prompt atomically; refuses to replace one unless `force`.
    /// Permissions tightened on the way are told to `notes`.
    pub fn save(
        &self,
        prompt: &Prompt,
        force: bool,
        notes: &crate::notes::Notes,
    ) -> Result<PathBuf, Error> {
        validate_name(&prompt.name).map_err(Error::usage)?;
        Template::parse(&prompt.template).map_err(|e| Error::usage(format!("template {e}")))?;
        let path = self.toml_path(&prompt.name);
        if !force && let Ok(existing) = self.load(&prompt.name) {
            let what = match existing.format {
                Format::Toml => "already exists",
                Format::Legacy => "already exists (from the earlier AIX)",
            };
            return Err(Error::new(format!("prompt '{}' {what}", prompt.name))
                .hint("pass --force to replace it, or pick another name"));
        }
        let file = PromptFile {
            description: prompt.description.clone(),
            model: prompt.model.clone(),
            system: prompt.system.clone(),
            template: prompt.template.clone(),
        };
        let text =
            toml::to_string(&file).map_err(|e| Error::new(format!("cannot encode prompt: {e}")))?;
        crate::config::store::ensure_dir(&self.dir, notes)?;
        if force {
            crate::config::store::write_atomic(&path, text.as_bytes())?;
        } else if !create_new_atomic(&path, text.as_bytes())? {
            // Another process created it between our check and now.
            return Err(
                Error::new(format!("prompt '{}' already exists", prompt.name))
                    .hint("pass --force to replace it, or pick another name"),
            );
        }
        Ok(path)
    }

    /// Deletes aix's own prompt file; the earlier AIX's are read-only.
    pub fn delete(&self, name: &str) -> Result<PathBuf, Error> {
        let prompt = self.load(name)?;
        if prompt.format == Format::Legacy {
            return Err(Error::new(format!(
                "prompt '{name}' belongs to the earlier AIX ({}); aix reads it but does not delete it",
                prompt.path.display()
            )));
        }
        fs::remove_file(&prompt.path)
            .map_err(|e| Error::new(format!("cannot delete {}: {e}", prompt.path.display())))?;
        Ok(prompt.path)
    }
}

/// Creates `path` holding `bytes` only if nothing is there yet, atomically:
/// the bytes go to a fully written and synced temp file, which is then
/// hard-linked to the final name. The link fails if the name exists, so of
/// several processes racing to create the same prompt exactly one wins,
/// and no reader ever sees a half-written file. `Ok(false)`: it existed.
fn create_new_atomic(path: &Path, bytes: &[u8]) -> Result<bool, Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: io::Error| Error::new(format!("cannot write {}: {e}", path.display()));
    let mut tmp = tempfile::Builder::new()
        .prefix(".aix-prompt.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    // The temp file is removed when `tmp` is dropped, link or not.
    match fs::hard_link(tmp.path(), path) {
        Ok(()) => {
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(fail(e)),
    }
}

fn parse_toml(name: &str, path: &Path, bytes: &[u8]) -> Result<Prompt, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::new(format!("{}: not UTF-8 text ({e})", path.display())))?;
    let file: PromptFile = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                format!(
                    ":{}:{}",
                    before.matches('\n').count() + 1,
                    before.rsplit('\n').next().unwrap_or("").chars().count() + 1
                )
            })
            .unwrap_or_default();
        Error::new(format!("{}{at}: {}", path.display(), e.message()))
    })?;
    Ok(Prompt {
        name: name.to_string(),
        template: file.template,
        description: file.description,
        system: file.system,
        model: file.model,
        format: Format::Toml,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &str, kv: &[(&str, &str)]) -> Result<String, Vec<String>> {
        let values = kv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Template::parse(t).unwrap().render(&values)
    }

    #[test]
    fn renders_placeholders_and_literal_braces() {
        assert_eq!(render("Hi {name}!", &[("name", "Ann")]).unwrap(), "Hi Ann!");
        assert_eq!(
            render("{{json}} {a}{a}", &[("a", "x")]).unwrap(),
            "{json} xx"
        );
        assert_eq!(render("}}{{", &[]).unwrap(), "}{");
        assert_eq!(
            render("{a-b}/{_c}", &[("a-b", "1"), ("_c", "2")]).unwrap(),
            "1/2"
        );
        assert_eq!(
            render("{v}", &[("v", "{not} a {{placeholder}}")]).unwrap(),
            "{not} a {{placeholder}}"
        );
        assert_eq!(render("é{x}ü", &[("x", "ß")]).unwrap(), "éßü");
        assert_eq!(render("{b} {a} {b}", &[]).unwrap_err(), ["b", "a"]);
        assert_eq!(Template::parse("{b} {a} {b}").unwrap().params(), ["b", "a"]);
    }

    #[test]
    fn syntax_errors_say_where() {
        let cases = [
            ("a {b", 1, 3, "not closed"),
            ("ok\nx } y", 2, 3, "without a matching"),
            ("{ b }", 1, 1, "is not a placeholder"),
            ("{}", 1, 1, "is not a placeholder"),
            ("{1x}", 1, 1, "is not a placeholder"),
            ("{a\n}", 1, 1, "not closed"),
            ("{a{b}}", 1, 1, "not closed"),
            ("é {", 1, 3, "not closed"),
        ];
        for (src, line, column, words) in cases {
            let e = Template::parse(src).unwrap_err();
            assert_eq!((e.line, e.column), (line, column), "{src:?}: {e}");
            assert!(e.message.contains(words), "{src:?}: {e}");
        }
    }

    #[test]
    fn names() {
        assert!(validate_name("summarize").is_ok());
        assert!(validate_name("v1.2_x-y").is_ok());
        for bad in ["", "..", ".hidden", "../x", "a/b", "a\\b", "x\0"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("a b").unwrap_err().starts_with("prompt name"));
    }

    #[test]
    fn save_load_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let prompts = Prompts::new(dir.path());
        let p = Prompt {
            name: "sum".into(),
            template: "Summarize:\n{input}".into(),
            description: Some("d".into()),
            system: Some("Be brief.".into()),
            model: None,
            format: Format::Toml,
            path: PathBuf::new(),
        };
        let path = prompts.save(&p, false, &Default::default()).unwrap();
        let back = prompts.load("sum").unwrap();
        assert_eq!(
            (back.template.as_str(), back.system.as_deref()),
            ("Summarize:\n{input}", Some("Be brief."))
        );
        assert!(
            prompts
                .save(&p, false, &Default::default())
                .unwrap_err()
                .message()
                .contains("already exists")
        );
        prompts.save(&p, true, &Default::default()).unwrap();
        assert_eq!(prompts.list().len(), 1);
        assert_eq!(prompts.delete("sum").unwrap(), path);
        assert!(
            prompts
                .load("sum")
                .unwrap_err()
                .message()
                .contains("Prompt 'sum' not found")
        );
        let bad = Prompt {
            template: "{oops".into(),
            ..p
        };
        assert!(prompts.save(&bad, false, &Default::default()).is_err());
    }

    #[test]
    fn reads_the_earlier_aix_prompts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("prompts");
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("old.yaml"),
            "description: Old one\nsystem_prompt: |\n  Be kind.\nmodel: m1\n",
        )
        .unwrap();
        fs::write(d.join("old.txt"), "Translate {text}").unwrap();
        fs::write(
            d.join("js.json"),
            r#"{"description": "J", "template": "T {x}"}"#,
        )
        .unwrap();
        let prompts = Prompts::new(dir.path());
        let old = prompts.load("old").unwrap();
        assert_eq!(old.format, Format::Legacy);
        assert_eq!(old.template, "Translate {text}");
        assert_eq!(old.system.as_deref(), Some("Be kind.\n"));
        assert_eq!(old.model.as_deref(), Some("m1"));
        assert_eq!(prompts.load("js").unwrap().template, "T {x}");
        let names: Vec<String> = prompts.list().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["js", "old"]);
        assert!(
            prompts
                .delete("old")
                .unwrap_err()
                .message()
                .contains("earlier AIX")
        );
    }
}
