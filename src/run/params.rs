//! Prompt parameters as typed by users: `key=value` pairs for `aix run -p`
//! and the REPL's `/prompt NAME k=v ...`, checked against the template's
//! `{name}` placeholders in one place so both behave the same.
//!
//! A value starting with `@` is read from that file (bounded by
//! [`limits::TEXT_INPUT`]); `@@x` stands for the literal text `@x`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Error;
use crate::limits::{self, Accept, ReadError};
use crate::run::prompt;

/// Splits one `KEY=VALUE` argument and checks the key.
pub fn parse_param(arg: &str) -> Result<(String, String), String> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err("expected KEY=VALUE, e.g. --param topic=rust".into());
    };
    if !prompt::is_param_name(key) {
        return Err(format!(
            "{key:?} is not a parameter name (letters, digits, '_' and '-')"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// The value of a parameter: `@FILE` read through the limits, `@@x` as `@x`.
/// `flag` is how the user wrote the pair ("--param " or ""), for errors.
pub fn param_value(flag: &str, key: &str, raw: &str) -> Result<String, Error> {
    if let Some(rest) = raw.strip_prefix("@@") {
        return Ok(format!("@{rest}"));
    }
    let Some(path) = raw.strip_prefix('@') else {
        return Ok(raw.to_string());
    };
    let fail = |problem: String| Error::usage(format!("{flag}{key}=@{path}: {problem}"));
    let bytes =
        limits::read_file(Path::new(path), limits::TEXT_INPUT, Accept::Readable).map_err(|e| {
            match e {
                ReadError::Io(e) => fail(format!("cannot read {path}: {e}")),
                ReadError::NotRegular(kind) => fail(format!("cannot read {path}: it is {kind}")),
                ReadError::TooLarge(max) => fail(format!(
                    "{path} is larger than the {} limit for a parameter file",
                    limits::human(max)
                )),
            }
        })?;
    String::from_utf8(bytes).map_err(|_| fail(format!("{path} is not UTF-8 text")))
}

/// Splits a REPL argument line the way a shell would: `k="a b"` is one
/// word `k=a b`; an unclosed quote is an error.
pub fn split_words(line: &str) -> Result<Vec<String>, Error> {
    shlex::split(line).ok_or_else(|| {
        Error::usage("unbalanced quotes").hint("quote values with spaces: k=\"two words\"")
    })
}

/// Each of `names` written by `write`, joined by `sep`: how parameters are
/// listed in messages and hints (`{a}, {b}`, `a=... b=...`).
pub fn each<T: AsRef<str>>(names: &[T], write: impl Fn(&str) -> String, sep: &str) -> String {
    names
        .iter()
        .map(|n| write(n.as_ref()))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Binds `pairs` to the template's parameters `wanted`: reads `@FILE`
/// values and refuses unknown names with a "did you mean". `flag` is how
/// the user writes one pair ("--param " or ""), for the hints.
pub fn bind(
    prompt_name: &str,
    wanted: &[&str],
    pairs: &[(String, String)],
    flag: &str,
) -> Result<BTreeMap<String, String>, Error> {
    // The last of two values silently winning hides a mistake.
    for (i, (key, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(
                Error::usage(format!("parameter {key} is given more than once"))
                    .hint(format!("give each parameter once: {flag}{key}=VALUE")),
            );
        }
    }
    let unknown: Vec<&str> = pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !wanted.contains(k))
        .collect();
    if !unknown.is_empty() {
        let uses = if wanted.is_empty() {
            "has no parameters".to_string()
        } else {
            format!("uses {}", each(wanted, |p| format!("{{{p}}}"), ", "))
        };
        let mut err = Error::usage(format!(
            "unknown parameter{} {} for prompt '{prompt_name}', which {uses}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
        ));
        for u in &unknown {
            if let Some(near) = crate::suggest::closest(u, wanted) {
                err = err.hint(format!("did you mean {flag}{near}=...?"));
            }
        }
        return Err(err);
    }
    let mut values = BTreeMap::new();
    for (key, raw) in pairs {
        values.insert(key.clone(), param_value(flag, key, raw)?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words(r#"review k="v with spaces" x='a b' plain"#).unwrap(),
            vec!["review", "k=v with spaces", "x=a b", "plain"]
        );
        assert!(split_words(r#"k="open"#).is_err());
    }

    #[test]
    fn binds_and_suggests() {
        let pairs = vec![("topc".to_string(), "x".to_string())];
        let e = bind("p", &["topic"], &pairs, "").unwrap_err();
        assert!(e.message().contains("unknown parameter topc"), "{e:?}");
        let ok = bind("p", &["topic"], &[("topic".into(), "@@x".into())], "").unwrap();
        assert_eq!(ok["topic"], "@x");
        let twice = vec![
            ("topic".to_string(), "a".to_string()),
            ("topic".to_string(), "b".to_string()),
        ];
        let e = bind("p", &["topic"], &twice, "--param ").unwrap_err();
        assert!(
            e.message().contains("topic is given more than once"),
            "{e:?}"
        );
    }
}
