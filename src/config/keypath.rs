//! Dotted paths into config.json, as `aix config get|set|unset` take them.
//!
//! Provider names may contain dots, so a segment can be quoted:
//! `custom_providers."my.host".base_url`.

use std::fmt;

/// Deeper paths are refused: config.json must stay readable (serde_json
/// stops at 128 levels of nesting).
pub const MAX_SEGMENTS: usize = 32;

/// A parsed, non-empty path of object keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath(Vec<String>);

impl KeyPath {
    /// Parses `a.b."c.d"`. Empty segments and unclosed quotes are refused.
    pub fn parse(input: &str) -> Result<KeyPath, String> {
        let mut segments = Vec::new();
        let mut chars = input.chars().peekable();
        loop {
            let mut seg = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    seg.push(c);
                }
                if !closed {
                    return Err(format!("key path {input:?} has an unclosed '\"'"));
                }
                match chars.peek() {
                    None | Some('.') => {}
                    Some(_) => {
                        return Err(format!(
                            "key path {input:?}: a quoted segment must be followed by '.' or the end"
                        ));
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == '.' {
                        break;
                    }
                    seg.push(c);
                    chars.next();
                }
            }
            if seg.is_empty() {
                return Err(format!(
                    "key path {input:?} has an empty segment; write keys as a.b.c (quote keys that contain dots: a.\"b.c\")"
                ));
            }
            if seg.chars().any(char::is_control) {
                return Err(format!("key path {input:?} contains control characters"));
            }
            segments.push(seg);
            if segments.len() > MAX_SEGMENTS {
                return Err(format!(
                    "key path {:?} has more than {MAX_SEGMENTS} segments",
                    crate::output::clip(input, 80)
                ));
            }
            match chars.next() {
                None => break,
                Some('.') => continue,
                Some(_) => unreachable!("segments end at '.' or the end"),
            }
        }
        Ok(KeyPath(segments))
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// The path of the first `n` segments, for messages.
    pub fn prefix(&self, n: usize) -> String {
        KeyPath(self.0[..n].to_vec()).to_string()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            if seg.contains('.') || seg.contains('"') {
                write!(f, "\"{seg}\"")?;
            } else {
                f.write_str(seg)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_quoted_segments() {
        assert_eq!(KeyPath::parse("a").unwrap().segments(), ["a"]);
        assert_eq!(
            KeyPath::parse("custom_providers.\"my.host\".base_url")
                .unwrap()
                .segments(),
            ["custom_providers", "my.host", "base_url"]
        );
        assert_eq!(KeyPath::parse("\"a\"").unwrap().segments(), ["a"]);
        let p = KeyPath::parse("a.\"b.c\".d").unwrap();
        assert_eq!(p.to_string(), "a.\"b.c\".d");
        assert_eq!(p.prefix(2), "a.\"b.c\"");
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in [
            "", ".", "a.", ".a", "a..b", "\"a", "\"a\"b", "a.\"\"", "a\nb",
        ] {
            assert!(KeyPath::parse(bad).is_err(), "{bad:?}");
        }
    }
}
