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

pub mod envref;
pub mod resolve;

use std::fmt;

use serde_json::Value;

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
#[cfg(test)]
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
        Value::String(s) => names_a_secret(key) && !is_reference_only(s),
        // Everything under a secret-named key (`api_key.ollama`, a
        // tool's `credentials` object) is masked.
        Value::Object(_) | Value::Array(_) => !names_a_provider && names_a_secret(key),
        _ => false,
    }
}

/// Whether a config.json key names a secret: a secret-looking name, or a
/// credential header's name (`Authorization`, `cookie`) wherever it is
/// stored. aix's own `auth_type` field names a scheme, not a credential.
fn names_a_secret(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    is_sensitive_key(key)
        || (lower != "auth_type" && !lower.ends_with("_env") && is_sensitive_header(key))
        || lower.contains("cookie")
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

/// Secrets shorter than this are not searched for in server text: masking
/// every `a` or `42` in an answer would destroy it and protect nothing, and
/// placeholder keys local servers suggest (`fake`, `EMPTY`, `ollama`) are
/// ordinary words that answers contain.
pub const MIN_MASKED_LEN: usize = 8;

/// Placeholder keys local servers document for "no key needed": long
/// enough to pass [`MIN_MASKED_LEN`] but no secret, and masking them would
/// garble answers that mention them. Compared ignoring case.
const PLACEHOLDER_KEYS: &[&str] = &[
    "sk-no-key-required",
    "no-key-required",
    "not-needed",
    "placeholder",
];

/// Whether `value` is worth searching for in server text.
fn worth_masking(value: &str) -> bool {
    value.len() >= MIN_MASKED_LEN
        && !PLACEHOLDER_KEYS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(value))
}

/// Replaces the secrets a request carried with [`MASK`] in text that came
/// back from the server (error bodies, stream frames, the answer itself).
///
/// With no secrets (a local server without a key) every method returns its
/// input untouched, without scanning it.
#[derive(Clone, Default)]
pub struct Masker {
    /// Longest first, so a key inside a longer header value is matched as
    /// part of the longer value.
    secrets: Vec<String>,
    /// One prepared searcher per secret, in the same order.
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Masker({} secrets)", self.secrets.len())
    }
}

impl Masker {
    /// A masker for these values; empty and short ones are skipped.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Masker {
        let mut secrets: Vec<String> = values
            .into_iter()
            .filter(|v| worth_masking(v))
            .map(String::from)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        let finders = secrets
            .iter()
            .map(|s| memchr::memmem::Finder::new(s.as_bytes()).into_owned())
            .collect();
        Masker { secrets, finders }
    }

    /// A masker that masks nothing (`--show-secrets`).
    pub fn none() -> Masker {
        Masker::default()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret replaced.
    pub fn mask<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if self.secrets.is_empty() || self.find(text).is_none() {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((at, len)) = self.find(rest) {
            out.push_str(&rest[..at]);
            out.push_str(MASK);
            rest = &rest[at + len..];
        }
        out.push_str(rest);
        std::borrow::Cow::Owned(out)
    }

    /// Every string inside a JSON value masked (keys too).
    pub fn mask_json(&self, value: &Value) -> Value {
        if self.secrets.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.mask(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.mask_json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.mask(k).into_owned(), self.mask_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The leftmost secret in `text` (the longest at that place), as byte
    /// offset and length.
    fn find(&self, text: &str) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for f in &self.finders {
            let within = best.map_or(text.len(), |(at, _)| {
                (at + f.needle().len()).min(text.len())
            });
            if let Some(at) = f.find(&text.as_bytes()[..within])
                && best.is_none_or(|(b, len)| at < b || (at == b && f.needle().len() > len))
            {
                best = Some((at, f.needle().len()));
            }
        }
        best
    }

    /// How many bytes at the end of `text` could be the start of a secret
    /// that the next piece completes.
    fn open_tail(&self, text: &str) -> usize {
        let bytes = text.as_bytes();
        let mut held = 0;
        for s in &self.secrets {
            let s = s.as_bytes();
            let longest = (s.len() - 1).min(bytes.len());
            let tail = &bytes[bytes.len() - longest..];
            // Only places holding the secret's first byte can start it.
            for (i, _) in tail.iter().enumerate().filter(|(_, b)| **b == s[0]) {
                let n = tail.len() - i;
                if n <= held {
                    break;
                }
                if tail[i..] == s[..n] {
                    held = n;
                    break;
                }
            }
        }
        held
    }
}

/// A [`Masker`] for text that arrives in pieces: a secret split across two
/// pieces is still masked. Only a tail that could begin a secret is held
/// back; [`StreamMasker::finish`] lets it out.
#[derive(Debug, Default)]
pub struct StreamMasker {
    masker: Masker,
    held: String,
}

impl StreamMasker {
    pub fn new(masker: Masker) -> StreamMasker {
        StreamMasker {
            masker,
            held: String::new(),
        }
    }

    /// The part of `held + piece` that is safe to show now.
    pub fn push<'t>(&mut self, piece: &'t str) -> std::borrow::Cow<'t, str> {
        if self.masker.is_empty()
            || (self.held.is_empty()
                && self.masker.find(piece).is_none()
                && self.masker.open_tail(piece) == 0)
        {
            return std::borrow::Cow::Borrowed(piece);
        }
        let mut text = std::mem::take(&mut self.held);
        text.push_str(piece);
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some((at, len)) = self.masker.find(rest) {
            out.push_str(&rest[..at]);
            out.push_str(MASK);
            rest = &rest[at + len..];
        }
        let mut keep = rest.len() - self.masker.open_tail(rest);
        while !rest.is_char_boundary(keep) {
            keep -= 1;
        }
        out.push_str(&rest[..keep]);
        self.held = rest[keep..].to_string();
        std::borrow::Cow::Owned(out)
    }

    /// What is still held back (it did not turn into a secret).
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masker_replaces_every_secret() {
        let m = Masker::new(["sk-canary-123", "Bearer sk-canary-123", "ab", ""]);
        assert_eq!(
            m.mask("key Bearer sk-canary-123 and sk-canary-123!"),
            "key (sensitive) and (sensitive)!"
        );
        assert_eq!(
            m.mask("ab stays: too short to mask"),
            "ab stays: too short to mask"
        );
        assert!(matches!(m.mask("nothing"), std::borrow::Cow::Borrowed(_)));
        let j = m.mask_json(&json!({"error": {"message": "bad sk-canary-123", "n": 1}}));
        assert_eq!(j, json!({"error": {"message": "bad (sensitive)", "n": 1}}));
        assert_eq!(Masker::none().mask("sk-canary-123"), "sk-canary-123");
    }

    #[test]
    fn placeholders_and_short_values_are_not_masked() {
        let m = Masker::new([
            "fake",
            "EMPTY",
            "ollama",
            "sk-no-key-required",
            "sk-real-secret",
        ]);
        assert_eq!(
            m.mask("fake EMPTY ollama sk-no-key-required sk-real-secret"),
            format!("fake EMPTY ollama sk-no-key-required {MASK}")
        );
    }

    #[test]
    fn stream_masker_catches_split_secrets() {
        let secret = "sk-canary-123";
        let text = format!("one {secret} two {secret}{secret} é end sk-can");
        // Every way of cutting the text in two or three pieces.
        for i in 0..=text.len() {
            for j in i..=text.len() {
                if !text.is_char_boundary(i) || !text.is_char_boundary(j) {
                    continue;
                }
                let mut m = StreamMasker::new(Masker::new([secret]));
                let mut out = String::new();
                for piece in [&text[..i], &text[i..j], &text[j..]] {
                    out.push_str(&m.push(piece));
                }
                out.push_str(&m.finish());
                assert_eq!(
                    out, "one (sensitive) two (sensitive)(sensitive) é end sk-can",
                    "cut at {i},{j}"
                );
            }
        }
        let mut none = StreamMasker::new(Masker::none());
        assert!(matches!(
            none.push("sk-canary-123"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(none.finish(), "");
    }

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
