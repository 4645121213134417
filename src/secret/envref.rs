//! References to secrets kept elsewhere: `${env:VAR}`, `${file:PATH}`,
//! `${cmd:COMMAND}` and `${keyring:SERVICE/USER}`, in header values,
//! `extra_body` strings and as a provider's key.
//!
//! Letting a value point at where the secret lives keeps it out of files
//! that live in git. References are checked for syntax when a provider is
//! stored, and resolved only when a request is made (by
//! [`super::resolve`]), so a source that is missing at `provider add` time
//! is fine until it is actually needed. Anything else that looks like
//! `${...}` is plain text.

use std::fmt;

/// Where a reference reads its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An environment variable.
    Env,
    /// A file's contents, one trailing newline trimmed.
    File,
    /// A command's standard output, trimmed (through `sh -c`).
    Cmd,
    /// The operating system's secret store.
    Keyring,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Env => "env",
            Source::File => "file",
            Source::Cmd => "cmd",
            Source::Keyring => "keyring",
        }
    }
}

const SOURCES: [Source; 4] = [Source::Env, Source::File, Source::Cmd, Source::Keyring];

/// A problem with a reference: bad syntax, or a source that gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// `${env:` (or another source) without its closing `}`.
    Unclosed(Source),
    /// `${env:}` or a name that is not a valid variable name.
    BadName(String),
    /// `${file:}`, `${cmd:}` or `${keyring:}` with nothing (or nothing
    /// usable) after the colon.
    Empty(Source),
    /// The variable is not set (or not valid Unicode) when resolving.
    Unset(String),
    /// A file, command or keyring entry gave no value; the text says why
    /// and never holds the value.
    Failed(String),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::Unclosed(s) => write!(f, "`${{{}:` is not closed with `}}`", s.name()),
            RefError::BadName(n) => write!(
                f,
                "`${{env:{n}}}` does not name a variable (letters, digits and `_`, not starting with a digit)"
            ),
            RefError::Empty(Source::Keyring) => {
                write!(
                    f,
                    "`${{keyring:...}}` needs SERVICE/USER, e.g. ${{keyring:aix/work}}"
                )
            }
            RefError::Empty(s) => write!(f, "`${{{}:}}` names nothing", s.name()),
            RefError::Unset(n) => write!(f, "environment variable {n} is not set"),
            RefError::Failed(why) => f.write_str(why),
        }
    }
}

/// One reference: its source and what follows the colon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ref<'a> {
    pub source: Source,
    pub arg: &'a str,
}

/// Whether `name` is a portable environment variable name.
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The next reference opening in `s`: its byte offset, source and the
/// length of `${SOURCE:`.
fn next_open(s: &str) -> Option<(usize, Source, usize)> {
    let mut from = 0;
    while let Some(at) = dollar_brace(s, from) {
        let rest = &s[at + 2..];
        for src in SOURCES {
            let name = src.name();
            if rest.starts_with(name) && rest[name.len()..].starts_with(':') {
                return Some((at, src, 2 + name.len() + 1));
            }
        }
        from = at + 2;
    }
    None
}

/// The offset of the first `${` in `s` at or after `from`: a byte search
/// for `$` (cheaper than a substring search set up on every call, and this
/// runs for every header of every provider read).
fn dollar_brace(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = from;
    while let Some(i) = memchr::memchr(b'$', b.get(from..)?) {
        let at = from + i;
        if b.get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether `value` contains at least one reference.
pub fn contains_reference(value: &str) -> bool {
    next_open(value).is_some()
}

/// Where the argument starting at `after` ends: the next `}`, or for a
/// command the `}` that balances the braces inside it (so `awk '{print
/// $1}'` works).
fn arg_end(source: Source, after: &str) -> Option<usize> {
    if source != Source::Cmd {
        return after.find('}');
    }
    let mut depth = 0usize;
    for (i, c) in after.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// One part of a value: literal text or a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Ref(Ref<'a>),
}

/// Splits `value` into literal text and references, checking syntax.
pub fn pieces(value: &str) -> Result<Vec<Piece<'_>>, RefError> {
    let mut out = Vec::new();
    each_piece(value, |p| out.push(p))?;
    Ok(out)
}

/// [`pieces`] handed to `f` one by one, in order, without collecting them
/// (on an error, those before it have been handed over).
fn each_piece<'a>(value: &'a str, mut f: impl FnMut(Piece<'a>)) -> Result<(), RefError> {
    let mut rest = value;
    while let Some((start, source, open)) = next_open(rest) {
        if start > 0 {
            f(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + open..];
        let end = arg_end(source, after).ok_or(RefError::Unclosed(source))?;
        let arg = &after[..end];
        match source {
            Source::Env if !is_var_name(arg) => return Err(RefError::BadName(arg.to_string())),
            Source::Keyring
                if !arg
                    .split_once('/')
                    .is_some_and(|(s, u)| !s.trim().is_empty() && !u.trim().is_empty()) =>
            {
                return Err(RefError::Empty(source));
            }
            Source::File | Source::Cmd if arg.trim().is_empty() => {
                return Err(RefError::Empty(source));
            }
            _ => {}
        }
        f(Piece::Ref(Ref { source, arg }));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        f(Piece::Text(rest));
    }
    Ok(())
}

/// Checks the syntax of every reference in `value` (cheap when there is
/// none: it runs for every header of every provider read).
pub fn check(value: &str) -> Result<(), RefError> {
    if dollar_brace(value, 0).is_none() {
        return Ok(());
    }
    each_piece(value, drop)
}

/// The value with references removed (for deciding what is displayable).
/// Malformed references are kept as text.
pub fn strip_references(value: &str) -> String {
    let mut out = String::new();
    let texts = each_piece(value, |p| {
        if let Piece::Text(t) = p {
            out.push_str(t);
        }
    });
    match texts {
        Ok(()) => out,
        Err(_) => value.to_string(),
    }
}

/// The sources `value` refers to.
pub fn sources(value: &str) -> Vec<Source> {
    pieces(value)
        .map(|ps| {
            ps.into_iter()
                .filter_map(|p| match p {
                    Piece::Ref(r) => Some(r.source),
                    Piece::Text(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces each reference with what `lookup` reads for it.
pub fn resolve_with(
    value: &str,
    mut lookup: impl FnMut(Ref<'_>) -> Result<String, RefError>,
) -> Result<String, RefError> {
    let mut out = String::with_capacity(value.len());
    for piece in pieces(value)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Ref(r) => out.push_str(&lookup(r)?),
        }
    }
    Ok(out)
}

/// `value` with each relative `${file:PATH}` made absolute against
/// `base` (a manifest's folder), so the reference means the same file
/// wherever aix later runs. `~/` paths and absolute ones stay.
pub fn absolute_files(value: &str, base: &std::path::Path) -> String {
    let Ok(ps) = pieces(value) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(value.len());
    for p in ps {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Ref(r) => {
                let arg = if r.source == Source::File
                    && !r.arg.starts_with('/')
                    && !r.arg.starts_with('~')
                {
                    base.join(r.arg).display().to_string()
                } else {
                    r.arg.to_string()
                };
                out.push_str(&format!("${{{}:{arg}}}", r.source.name()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(r: Ref<'_>) -> Result<String, RefError> {
        match (r.source, r.arg) {
            (Source::Env, "SET") => Ok("v".into()),
            (Source::Env, n) => Err(RefError::Unset(n.into())),
            (s, a) => Ok(format!("<{}:{a}>", s.name())),
        }
    }

    #[test]
    fn resolves_references_anywhere() {
        assert_eq!(resolve_with("${env:SET}", env).unwrap(), "v");
        assert_eq!(
            resolve_with("Bearer ${env:SET}!", env).unwrap(),
            "Bearer v!"
        );
        assert_eq!(resolve_with("${env:SET}${env:SET}", env).unwrap(), "vv");
        assert_eq!(resolve_with("plain", env).unwrap(), "plain");
        assert_eq!(resolve_with("$env:SET {x}", env).unwrap(), "$env:SET {x}");
        assert_eq!(resolve_with("${other:x}", env).unwrap(), "${other:x}");
        assert_eq!(
            resolve_with("${file:~/k}|${keyring:aix/w}", env).unwrap(),
            "<file:~/k>|<keyring:aix/w>"
        );
    }

    #[test]
    fn a_command_may_hold_braces() {
        let got = resolve_with("Bearer ${cmd:awk '{print $1}' f}", env).unwrap();
        assert_eq!(got, "Bearer <cmd:awk '{print $1}' f>");
        assert_eq!(check("${cmd:echo {"), Err(RefError::Unclosed(Source::Cmd)));
    }

    #[test]
    fn reports_problems() {
        assert_eq!(
            resolve_with("${env:NOPE}", env),
            Err(RefError::Unset("NOPE".into()))
        );
        assert_eq!(check("${env:X"), Err(RefError::Unclosed(Source::Env)));
        assert_eq!(check("${env:}"), Err(RefError::BadName(String::new())));
        assert_eq!(check("${env:1X}"), Err(RefError::BadName("1X".into())));
        assert_eq!(check("${env:A-B}"), Err(RefError::BadName("A-B".into())));
        assert_eq!(check("${file: }"), Err(RefError::Empty(Source::File)));
        assert_eq!(
            check("${keyring:aix}"),
            Err(RefError::Empty(Source::Keyring))
        );
        assert!(check("${env:_A1}").is_ok());
    }

    #[test]
    fn strips_references_and_makes_files_absolute() {
        assert_eq!(strip_references("Bearer ${env:X}"), "Bearer ");
        assert_eq!(strip_references("Bearer ${cmd:pass show k}"), "Bearer ");
        assert_eq!(strip_references("${env:X"), "${env:X");
        let base = std::path::Path::new("/home/u/dots");
        assert_eq!(
            absolute_files("${file:keys/w} ${file:~/x} ${file:/y} ${env:Z}", base),
            "${file:/home/u/dots/keys/w} ${file:~/x} ${file:/y} ${env:Z}"
        );
    }

    #[test]
    fn dollar_brace_finds_what_find_finds() {
        for s in [
            "",
            "$",
            "{",
            "${",
            "$$",
            "$${",
            "a$b${c",
            "x${env:A}${",
            "$}${",
            "é${",
            "${${",
            "$ {",
            "ab$",
            "$é{",
        ] {
            for from in 0..=s.len() {
                if !s.is_char_boundary(from) {
                    continue;
                }
                assert_eq!(
                    dollar_brace(s, from),
                    s[from..].find("${").map(|i| from + i),
                    "{s:?} from {from}"
                );
            }
        }
        assert!(contains_reference("a ${env:X} b"));
        assert!(!contains_reference("a ${envX} $env:X {env:X}"));
        assert!(contains_reference("$${${file:x}"));
    }

    #[test]
    fn var_names() {
        assert!(is_var_name("OPENAI_API_KEY"));
        assert!(is_var_name("_x"));
        assert!(!is_var_name(""));
        assert!(!is_var_name("9X"));
        assert!(!is_var_name("A B"));
    }
}
