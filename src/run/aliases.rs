//! Aliases and fallback chains: `fast = "ollama/llama"`, `smart =
//! ["openrouter/anthropic/claude-sonnet-4", "ollama/qwen-fast"]`.
//!
//! A target is `PROVIDER/MODEL`, split at the first `/` (model ids may hold
//! `/`), or the name of another alias, whose targets take its place. An
//! alias lives in config.json's `aliases` (written by `aix apply` from the
//! manifest's `[aliases]`, or by hand with `aix config set`); `--model
//! ALIAS` runs its first target, and on a failure before any output the
//! next (see `aix run`).

use serde_json::{Map, Value};

/// How deep aliases may refer to aliases.
const MAX_DEPTH: usize = 8;
/// Most targets one alias may expand to.
pub const MAX_TARGETS: usize = 16;

/// One target of an alias, expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub provider: String,
    pub model: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

/// Checks an alias name: 1-64 of letters, digits, `.`, `_`, `-`, `:`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("an alias name must be 1 to 64 characters".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':')))
    {
        return Err(format!(
            "alias {:?} has {c:?}; use letters, digits, '.', '_', '-' and ':'",
            crate::output::clip(name, 80)
        ));
    }
    Ok(())
}

/// The targets an alias value lists, as written: a string or an array of
/// strings. `Err` says what is wrong.
pub fn written_targets(value: &Value) -> Result<Vec<&str>, String> {
    let list: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or("every target must be a string"))
            .collect::<Result<_, _>>()?,
        other => {
            return Err(format!(
                "must be a target (\"PROVIDER/MODEL\") or a list of them, not {}",
                crate::provider::type_name(other)
            ));
        }
    };
    if list.is_empty() {
        return Err("lists no target".into());
    }
    if list.len() > MAX_TARGETS {
        return Err(format!("lists more than {MAX_TARGETS} targets"));
    }
    for t in &list {
        check_target(t)?;
    }
    Ok(list)
}

/// Checks one target's syntax.
pub fn check_target(t: &str) -> Result<(), String> {
    match t.split_once('/') {
        Some((p, m)) => {
            crate::provider::validate_name(p).map_err(|e| format!("target {t:?}: {e}"))?;
            crate::provider::parse_model(m).map_err(|e| format!("target {t:?}: {e}"))?;
            Ok(())
        }
        None => check_name(t)
            .map_err(|e| format!("target {t:?} is neither PROVIDER/MODEL nor an alias name ({e})")),
    }
}

/// Expands alias `name` of `aliases` to its targets, in order, aliases
/// inside replaced by theirs. `Err` names a missing alias or a cycle.
pub fn expand(name: &str, aliases: &Map<String, Value>) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    let mut trail = vec![name.to_string()];
    walk(name, aliases, &mut trail, &mut out)?;
    out.truncate(MAX_TARGETS);
    Ok(out)
}

fn walk(
    name: &str,
    aliases: &Map<String, Value>,
    trail: &mut Vec<String>,
    out: &mut Vec<Target>,
) -> Result<(), String> {
    let Some(value) = aliases.get(name) else {
        return Err(format!("alias {name:?} is not defined"));
    };
    let targets = written_targets(value).map_err(|e| format!("alias {name:?} {e}"))?;
    for t in targets {
        match t.split_once('/') {
            Some((p, m)) => {
                let target = Target {
                    provider: p.to_string(),
                    model: m.to_string(),
                };
                if !out.contains(&target) {
                    out.push(target);
                }
            }
            None => {
                if trail.iter().any(|n| n == t) {
                    trail.push(t.to_string());
                    return Err(format!(
                        "aliases refer to each other in a cycle: {}",
                        trail.join(" -> ")
                    ));
                }
                if trail.len() >= MAX_DEPTH {
                    return Err(format!(
                        "aliases nest deeper than {MAX_DEPTH}: {}",
                        trail.join(" -> ")
                    ));
                }
                if !aliases.contains_key(t) {
                    return Err(format!(
                        "alias {name:?} names {t:?}, which is no alias (a model target is PROVIDER/MODEL)"
                    ));
                }
                trail.push(t.to_string());
                walk(t, aliases, trail, out)?;
                trail.pop();
            }
        }
    }
    Ok(())
}

/// Every problem of a set of aliases: names, syntax, cycles, missing
/// aliases, and providers `known` does not know (when given), each with
/// the alias it belongs to.
pub fn problems(
    aliases: &Map<String, Value>,
    known: Option<&dyn Fn(&str) -> bool>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // A cycle is one mistake, reported at the first of its aliases.
    let mut cycles: Vec<Vec<String>> = Vec::new();
    for (name, value) in aliases {
        if let Err(m) = check_name(name) {
            out.push((name.clone(), m));
            continue;
        }
        if let Err(m) = written_targets(value) {
            out.push((name.clone(), format!("alias {name:?} {m}")));
            continue;
        }
        match expand(name, aliases) {
            Err(m) if m.contains("in a cycle") => {
                let mut members: Vec<String> = m
                    .rsplit(": ")
                    .next()
                    .unwrap_or_default()
                    .split(" -> ")
                    .map(String::from)
                    .collect();
                members.sort();
                members.dedup();
                if !cycles.contains(&members) {
                    cycles.push(members);
                    out.push((name.clone(), m));
                }
            }
            Err(m) => out.push((name.clone(), m)),
            Ok(targets) => {
                if let Some(known) = known {
                    for t in targets {
                        if !known(&t.provider) {
                            out.push((
                                name.clone(),
                                format!(
                                    "alias {name:?}: target {t} names provider '{}', which no manifest declares and is not built in",
                                    t.provider
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn expanding_follows_aliases_and_splits_at_the_first_slash() {
        let a = map(json!({
            "fast": "ollama/llama",
            "smart": ["openrouter/anthropic/claude-sonnet-4", "fast"],
        }));
        let t = expand("smart", &a).unwrap();
        assert_eq!(t[0].provider, "openrouter");
        assert_eq!(t[0].model, "anthropic/claude-sonnet-4");
        assert_eq!(t[1].to_string(), "ollama/llama");
        assert!(problems(&a, None).is_empty());
    }

    #[test]
    fn cycles_and_missing_names_are_refused() {
        let a = map(json!({"a": "b", "b": ["x/y", "a"]}));
        let e = expand("a", &a).unwrap_err();
        assert!(e.contains("a -> b -> a"), "{e}");
        let a = map(json!({"a": "nope"}));
        assert!(expand("a", &a).unwrap_err().contains("no alias"));
        let a = map(json!({"a": [], "b": 5, "c d": "x/y", "e": "x/"}));
        assert_eq!(problems(&a, None).len(), 4);
        let a = map(json!({"a": "ghost/m"}));
        let known = |p: &str| p == "ollama";
        assert!(problems(&a, Some(&known))[0].1.contains("ghost"));
    }
}
