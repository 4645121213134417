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

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::Error;
use crate::provider::{self, AuthType, Provider};
use crate::suggest;

/// Where something is in a manifest file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
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
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    fn locate(&self, file: &Path, offset: usize) -> Location {
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
    pub files: Vec<PathBuf>,
}

impl Manifest {
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.provider.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }
}

const FIELDS: &[&str] = &[
    "base_url",
    "default_model",
    "headers",
    "auth_type",
    "api_key_env",
    "timeout_secs",
    "max_time_secs",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWire {
    #[serde(default)]
    providers: BTreeMap<Spanned<String>, Spanned<EntryWire>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryWire {
    base_url: Spanned<String>,
    #[serde(default)]
    default_model: Option<Spanned<String>>,
    #[serde(default)]
    headers: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    #[serde(default)]
    auth_type: Option<Spanned<String>>,
    #[serde(default)]
    api_key_env: Option<Spanned<String>>,
    #[serde(default)]
    timeout_secs: Option<Spanned<i64>>,
    #[serde(default)]
    max_time_secs: Option<Spanned<i64>>,
}

/// Reads and merges manifest files; a name declared twice is an error
/// naming both places.
pub fn load(paths: &[PathBuf]) -> Result<Manifest, Error> {
    let mut by_name: BTreeMap<String, Entry> = BTreeMap::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let err = Error::new(format!("cannot read {}: {e}", path.display()));
            if e.kind() == std::io::ErrorKind::NotFound {
                err.hint("name the manifest with -f FILE (repeatable) or $AIX_MANIFEST")
            } else {
                err
            }
        })?;
        for entry in parse(path, &text)? {
            let name = entry.provider.name.clone();
            if let Some(first) = by_name.get(&name) {
                return Err(Error::new(format!(
                    "{}: provider '{name}' is already defined at {}",
                    entry.at, first.at
                ))
                .hint(
                    "each provider may be declared in one manifest file only; rename or remove one",
                ));
            }
            by_name.insert(name, entry);
        }
    }
    Ok(Manifest {
        entries: by_name.into_values().collect(),
        files: paths.to_vec(),
    })
}

/// Parses one manifest file's text.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Entry>, Error> {
    let lines = LineIndex::new(text);
    let at = |span: Range<usize>| lines.locate(path, span.start);
    let wire: FileWire = toml::from_str(text).map_err(|e| {
        let loc = e
            .span()
            .map(|s| at(s).to_string())
            .unwrap_or_else(|| path.display().to_string());
        let message = e.message().trim_end().replace('\n', " ");
        let mut err = Error::new(format!("{loc}: {message}"));
        if let Some(unknown) = unknown_field(&message) {
            let options: &[&str] = if FIELDS.contains(&unknown) || message.contains("`base_url`") {
                FIELDS
            } else {
                &["providers"]
            };
            if let Some(near) = suggest::closest(unknown, options) {
                err = err.hint(format!("did you mean `{near}`?"));
            } else {
                err = err.hint(format!(
                    "the keys a provider takes are: {}",
                    FIELDS.join(", ")
                ));
            }
        }
        err
    })?;
    let mut entries = Vec::with_capacity(wire.providers.len());
    for (name, entry) in wire.providers {
        let name_at = at(name.span());
        let name = name.into_inner();
        provider::validate_name(&name).map_err(|m| Error::new(format!("{name_at}: {m}")))?;
        let entry_at = entry.span();
        let e = entry.into_inner();
        let field_err = |span: Range<usize>, m: String| {
            Error::new(format!("{}: providers.{name}: {m}", at(span)))
        };
        let base_url = provider::normalize_base_url(e.base_url.get_ref())
            .map_err(|m| field_err(e.base_url.span(), format!("base_url: {m}")))?;
        let default_model = match e.default_model {
            Some(m) => Some(
                provider::parse_model(m.get_ref())
                    .map_err(|msg| field_err(m.span(), format!("default_model: {msg}")))?,
            ),
            None => None,
        };
        let auth_type = match e.auth_type {
            Some(a) => AuthType::parse(a.get_ref())
                .map_err(|m| field_err(a.span(), format!("auth_type: {m}")))?,
            None => AuthType::Bearer,
        };
        let api_key_env = match e.api_key_env {
            Some(v) => Some(
                provider::parse_env_var(v.get_ref())
                    .map_err(|m| field_err(v.span(), format!("api_key_env: {m}")))?,
            ),
            None => None,
        };
        let timeout_secs = match e.timeout_secs {
            Some(t) => Some(
                u64::try_from(*t.get_ref())
                    .map_err(|_| String::new())
                    .and_then(|n| provider::parse_timeout(&n.to_string()))
                    .map_err(|_| {
                        field_err(
                            t.span(),
                            format!("timeout_secs: must be a whole number of seconds from 1 to 86400, not {}", t.get_ref()),
                        )
                    })?,
            ),
            None => None,
        };
        let max_time_secs = match e.max_time_secs {
            Some(t) => Some(
                u64::try_from(*t.get_ref())
                    .map_err(|_| String::new())
                    .and_then(|n| provider::parse_timeout(&n.to_string()))
                    .map_err(|_| {
                        field_err(
                            t.span(),
                            format!("max_time_secs: must be a whole number of seconds from 1 to 86400, not {}", t.get_ref()),
                        )
                    })?,
            ),
            None => None,
        };
        let mut headers = Vec::new();
        for (k, v) in e.headers.unwrap_or_default() {
            provider::validate_header_name(k.get_ref())
                .map_err(|m| field_err(k.span(), format!("headers: {m}")))?;
            provider::validate_header_value(k.get_ref(), v.get_ref())
                .map_err(|m| field_err(v.span(), format!("headers: {m}")))?;
            headers.push((k.into_inner(), v.into_inner()));
        }
        let p = Provider {
            name: name.clone(),
            base_url,
            default_model,
            headers,
            auth_type,
            api_key_env,
            timeout_secs,
            max_time_secs,
        };
        p.validate()
            .map_err(|e| field_err(entry_at.clone(), e.to_string()))?;
        entries.push(Entry {
            provider: p,
            at: name_at,
        });
    }
    Ok(entries)
}

/// The field named in serde's "unknown field `x`, expected ..." message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.split("unknown field `").nth(1)?;
    rest.split('`').next()
}

/// Renders providers as a manifest (for `aix provider export`). Literal
/// credentials in headers are replaced by `${env:...}` references; the
/// variables are returned so the caller can say which to set.
pub fn render(providers: &[Provider]) -> (String, Vec<(String, String)>) {
    let mut out = String::from(
        "# providers.toml: the providers aix manages (see `aix plan` and `aix apply`).\n",
    );
    let mut replaced = Vec::new();
    for p in providers {
        out.push_str(&format!("\n[providers.{}]\n", toml_key(&p.name)));
        out.push_str(&format!("base_url = {}\n", toml_str(&p.base_url)));
        if let Some(m) = &p.default_model {
            out.push_str(&format!("default_model = {}\n", toml_str(m)));
        }
        if p.auth_type != AuthType::Bearer {
            out.push_str(&format!("auth_type = {}\n", toml_str(p.auth_type.as_str())));
        }
        if let Some(v) = &p.api_key_env {
            out.push_str(&format!("api_key_env = {}\n", toml_str(v)));
        }
        if let Some(t) = p.timeout_secs {
            out.push_str(&format!("timeout_secs = {t}\n"));
        }
        if let Some(t) = p.max_time_secs {
            out.push_str(&format!("max_time_secs = {t}\n"));
        }
        if !p.headers.is_empty() {
            let mut items = Vec::new();
            for (k, v) in &p.headers {
                let shown =
                    if crate::secret::display_header_value(k, v, false) == crate::secret::MASK {
                        let var = env_var_for(&p.name, k);
                        let value = format!("${{env:{var}}}");
                        replaced.push((var, format!("{}: header {k}", p.name)));
                        value
                    } else {
                        v.clone()
                    };
                items.push(format!("{} = {}", toml_key(k), toml_str(&shown)));
            }
            out.push_str(&format!("headers = {{ {} }}\n", items.join(", ")));
        }
    }
    (out, replaced)
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
        assert_eq!(w.auth_type, AuthType::ApiKey);
        assert_eq!(w.timeout_secs, Some(60));
        assert_eq!(w.headers.len(), 2);
        assert!(parse_str("").unwrap().is_empty());
        assert!(parse_str("[providers]\n").unwrap().is_empty());
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
        let err = load(&[a.clone(), b.clone()]).unwrap_err();
        assert_eq!(
            err.message(),
            format!(
                "{}:4:12: provider 'x' is already defined at {}:1:12",
                b.display(),
                a.display()
            )
        );
        let m = load(&[a]).unwrap();
        assert!(m.get("x").is_some() && m.get("y").is_none());
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
