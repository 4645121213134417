//! Secrets as a type, and the one place that decides what counts as secret.
//!
//! API keys and credential headers travel through the code as [`Secret`],
//! whose `Display` and `Debug` print a mask. Printing one by accident is
//! therefore harmless; printing the real value needs an explicit call to
//! [`Secret::expose`], which is easy to find in review.
//!
//! Values that are only a reference to an environment variable
//! (`${env:WORK_KEY}`, optionally behind a scheme word such as `Bearer`)
//! carry no secret themselves, so they are shown as written: seeing which
//! variable a header reads is what the user needs to debug it.

use std::fmt;

use serde_json::Value;

use crate::envref;

/// What is printed in place of a secret value.
pub const MASK: &str = "(sensitive)";

/// A credential: an API key or a credential header's value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the wire and for `--show-secrets` only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as the user should see it: masked unless `show` is set.
    pub fn shown(&self, show: bool) -> &str {
        if show { &self.0 } else { MASK }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({MASK})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Whether a header with this name carries a credential.
///
/// `Authorization`, `Proxy-Authorization` and cookies always do; so does any
/// name mentioning a key, token, secret or password (`X-API-Key`,
/// `X-Auth-Token`, ...). Over-masking costs a `--show-secrets`; under-masking
/// leaks a key into a screenshot, so the test is deliberately broad.
pub fn is_sensitive_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || lower.contains("auth")
        || is_sensitive_word(&lower)
}

/// Whether a JSON object key in config.json names a secret value.
///
/// Keys ending in `_env` name an environment variable, not its value.
pub fn is_sensitive_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    !lower.ends_with("_env") && is_sensitive_word(&lower)
}

fn is_sensitive_word(lower: &str) -> bool {
    ["key", "token", "secret", "password", "passwd", "credential"]
        .iter()
        .any(|w| lower.contains(w))
}

/// Whether a value can be shown even under a sensitive name because it
/// only points at environment variables: `${env:X}` or `Bearer ${env:X}`.
pub fn is_reference_only(value: &str) -> bool {
    if !envref::contains_reference(value) {
        return false;
    }
    let rest = envref::strip_references(value);
    let rest = rest.trim();
    rest.is_empty() || (rest.len() <= 10 && rest.chars().all(|c| c.is_ascii_alphabetic()))
}

/// A header value as it may be displayed.
pub fn display_header_value<'a>(name: &str, value: &'a str, show: bool) -> &'a str {
    if show || !is_sensitive_header(name) || is_reference_only(value) {
        value
    } else {
        MASK
    }
}

/// A copy of a config.json document with every secret masked.
///
/// Masked: every value under `api_keys`, credential headers of custom
/// providers, and any string under a key that names a secret (anywhere, so
/// keys other tools store are covered too).
pub fn redact_config(doc: &Value) -> Value {
    redact(doc, &mut Vec::new())
}

/// Masks the value found at `path` in config.json, as [`redact_config`]
/// would have masked it in place.
pub fn redact_at(path: &[String], value: &Value) -> Value {
    let mut trail = path.to_vec();
    if trail.is_empty() {
        return redact(value, &mut trail);
    }
    let last = trail.pop().unwrap_or_default();
    // Below a key that holds secrets (`api_key.ollama`), everything is.
    let empty = Value::Object(serde_json::Map::new());
    if (0..trail.len()).any(|i| leaf_is_secret(&trail[..i], &trail[i], &empty))
        || leaf_is_secret(&trail, &last, value)
    {
        return mask_strings(value);
    }
    trail.push(last);
    redact(value, &mut trail)
}

fn redact(value: &Value, trail: &mut Vec<String>) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                let masked = if leaf_is_secret(trail, k, v) {
                    mask_strings(v)
                } else {
                    trail.push(k.clone());
                    let r = redact(v, trail);
                    trail.pop();
                    r
                };
                out.insert(k.clone(), masked);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, trail)).collect()),
        other => other.clone(),
    }
}

/// Whether `key` (below `trail`) holds a secret.
fn leaf_is_secret(trail: &[String], key: &str, value: &Value) -> bool {
    let in_api_keys = trail.len() == 1 && trail[0] == "api_keys";
    let is_header = trail.len() == 3 && trail[0] == "custom_providers" && trail[2] == "headers";
    if is_header {
        return match value {
            Value::String(s) => display_header_value(key, s, false) == MASK,
            _ => false,
        };
    }
    if in_api_keys {
        return true;
    }
    // Provider names are names, not secrets: a provider called `monkey`
    // keeps its base_url visible.
    let names_a_provider = (trail.len() == 1 && trail[0] == "custom_providers")
        || (trail.len() == 2 && trail[0] == "aix_manifest" && trail[1] == "providers");
    match value {
        Value::String(s) => is_sensitive_key(key) && !is_reference_only(s),
        // Everything under a secret-named key (`api_key.ollama`, a
        // tool's `credentials` object) is masked.
        Value::Object(_) | Value::Array(_) => !names_a_provider && is_sensitive_key(key),
        _ => false,
    }
}

fn mask_strings(value: &Value) -> Value {
    match value {
        Value::String(_) => Value::String(MASK.to_string()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_strings(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_strings).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_never_prints_itself() {
        let s = Secret::new("sk-canary");
        assert_eq!(format!("{s}"), MASK);
        assert!(!format!("{s:?}").contains("canary"));
        assert_eq!(s.expose(), "sk-canary");
        assert_eq!(s.shown(true), "sk-canary");
        assert_eq!(s.shown(false), MASK);
    }

    #[test]
    fn sensitive_header_names() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "X-API-Key",
            "x-auth-token",
            "X-Secret",
            "Cookie",
            "api-key",
        ] {
            assert!(is_sensitive_header(name), "{name}");
        }
        for name in [
            "X-Custom",
            "Accept",
            "User-Agent",
            "HTTP-Referer",
            "X-Title",
        ] {
            assert!(!is_sensitive_header(name), "{name}");
        }
    }

    #[test]
    fn references_are_shown() {
        assert!(is_reference_only("${env:WORK_KEY}"));
        assert!(is_reference_only("Bearer ${env:WORK_KEY}"));
        assert!(!is_reference_only("sk-abc${env:X}"));
        assert!(!is_reference_only("sk-abc"));
        assert_eq!(
            display_header_value("Authorization", "Bearer ${env:T}", false),
            "Bearer ${env:T}"
        );
        assert_eq!(
            display_header_value("Authorization", "Bearer sk", false),
            MASK
        );
        assert_eq!(
            display_header_value("Authorization", "Bearer sk", true),
            "Bearer sk"
        );
    }

    #[test]
    fn redacts_config_documents() {
        let doc = json!({
            "custom_providers": {"p": {
                "base_url": "http://x",
                "api_key_env": "P_KEY",
                "auth_type": "bearer",
                "headers": {"X-API-Key": "canary", "X-Custom": "plain", "Authorization": "Bearer ${env:T}"}
            }},
            "api_keys": {"p": "canary", "custom:q": "canary"},
            "max_tokens": 100,
            "other_tool": {"refresh_token": "canary", "tokens_used": 3}
        });
        let red = redact_config(&doc);
        assert!(!red.to_string().contains("canary"), "{red}");
        assert_eq!(red["custom_providers"]["p"]["headers"]["X-Custom"], "plain");
        assert_eq!(
            red["custom_providers"]["p"]["headers"]["Authorization"],
            "Bearer ${env:T}"
        );
        assert_eq!(red["custom_providers"]["p"]["api_key_env"], "P_KEY");
        assert_eq!(red["custom_providers"]["p"]["auth_type"], "bearer");
        assert_eq!(red["max_tokens"], 100);
        assert_eq!(red["other_tool"]["tokens_used"], 3);
    }

    #[test]
    fn masks_everything_under_a_secret_named_key() {
        let doc = json!({
            "api_key": {"ollama": "canary"},
            "tool": {"credentials": ["canary", {"x": "canary", "n": 3}]},
            "custom_providers": {"monkey": {"base_url": "http://m"}},
            "aix_manifest": {"providers": {"monkey": {"fingerprint": "f"}}}
        });
        let red = redact_config(&doc);
        assert!(!red.to_string().contains("canary"), "{red}");
        assert_eq!(red["tool"]["credentials"][1]["n"], 3);
        assert_eq!(red["custom_providers"]["monkey"]["base_url"], "http://m");
        assert_eq!(
            red["aix_manifest"]["providers"]["monkey"]["fingerprint"],
            "f"
        );
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            redact_at(&p("api_key.ollama"), &json!("canary")),
            json!(MASK)
        );
        assert_eq!(
            redact_at(&p("api_key"), &json!({"ollama": "canary"})),
            json!({"ollama": MASK})
        );
    }

    #[test]
    fn redacts_a_subtree_by_its_path() {
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(redact_at(&p("api_keys.p"), &json!("canary")), json!(MASK));
        assert_eq!(
            redact_at(&p("api_keys"), &json!({"p": "canary"})),
            json!({"p": MASK})
        );
        assert_eq!(
            redact_at(&p("custom_providers.p.headers.X-API-Key"), &json!("canary")),
            json!(MASK)
        );
        assert_eq!(
            redact_at(&p("custom_providers.p.base_url"), &json!("http://x")),
            json!("http://x")
        );
        assert_eq!(
            redact_at(&[], &json!({"api_keys": {"p": "c"}}))["api_keys"]["p"],
            MASK
        );
    }
}
