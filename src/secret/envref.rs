//! `${env:VAR}` references in header values and keys.
//!
//! Letting a value name an environment variable keeps secrets out of files
//! that live in git. References are checked for syntax when a provider is
//! stored, and resolved only when a request is made, so a variable that is
//! unset at `provider add` time is fine until it is actually needed.

use std::fmt;

const OPEN: &str = "${env:";

/// A problem with a reference: bad syntax, or an unset variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// `${env:` without a closing `}`.
    Unclosed,
    /// `${env:}` or a name that is not a valid variable name.
    BadName(String),
    /// The variable is not set (or not valid Unicode) when resolving.
    Unset(String),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::Unclosed => write!(f, "`${{env:` is not closed with `}}`"),
            RefError::BadName(n) => write!(
                f,
                "`${{env:{n}}}` does not name a variable (letters, digits and `_`, not starting with a digit)"
            ),
            RefError::Unset(n) => write!(f, "environment variable {n} is not set"),
        }
    }
}

/// Whether `name` is a portable environment variable name.
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Whether `value` contains at least one reference.
pub fn contains_reference(value: &str) -> bool {
    value.contains(OPEN)
}

/// Splits `value` into literal text and variable names, checking syntax.
fn pieces(value: &str) -> Result<Vec<Piece<'_>>, RefError> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find(OPEN) {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + OPEN.len()..];
        let end = after.find('}').ok_or(RefError::Unclosed)?;
        let name = &after[..end];
        if !is_var_name(name) {
            return Err(RefError::BadName(name.to_string()));
        }
        out.push(Piece::Var(name));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Checks the syntax of every reference in `value` (without allocating:
/// it runs for every header of every provider read).
pub fn check(value: &str) -> Result<(), RefError> {
    if !value.contains('$') {
        return Ok(());
    }
    let mut rest = value;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let end = after.find('}').ok_or(RefError::Unclosed)?;
        if !is_var_name(&after[..end]) {
            return Err(RefError::BadName(after[..end].to_string()));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// The value with references removed (for deciding what is displayable).
/// Malformed references are kept as text.
pub fn strip_references(value: &str) -> String {
    match pieces(value) {
        Ok(ps) => ps
            .into_iter()
            .filter_map(|p| match p {
                Piece::Text(t) => Some(t),
                Piece::Var(_) => None,
            })
            .collect(),
        Err(_) => value.to_string(),
    }
}

/// Replaces each reference with the variable's value, read through `lookup`.
pub fn resolve_with(
    value: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, RefError> {
    let mut out = String::with_capacity(value.len());
    for piece in pieces(value)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name) => {
                out.push_str(&lookup(name).ok_or_else(|| RefError::Unset(name.to_string()))?)
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "v".to_string())
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
    }

    #[test]
    fn reports_problems() {
        assert_eq!(
            resolve_with("${env:NOPE}", env),
            Err(RefError::Unset("NOPE".into()))
        );
        assert_eq!(check("${env:X"), Err(RefError::Unclosed));
        assert_eq!(check("${env:}"), Err(RefError::BadName(String::new())));
        assert_eq!(check("${env:1X}"), Err(RefError::BadName("1X".into())));
        assert_eq!(check("${env:A-B}"), Err(RefError::BadName("A-B".into())));
        assert!(check("${env:_A1}").is_ok());
    }

    #[test]
    fn strips_references() {
        assert_eq!(strip_references("Bearer ${env:X}"), "Bearer ");
        assert_eq!(strip_references("${env:X"), "${env:X");
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
