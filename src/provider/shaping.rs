//! The rules of the fields that shape requests and connections:
//! `query_params`, `extra_body`, `ca_file`, `proxy`. Each is a plain
//! function so that the field declarations ([`super::fields`]) use them for
//! config.json, the manifest, `aix validate` and the command-line flags
//! alike.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::secret::envref;

/// Keys of the chat request body that aix writes itself: `extra_body`
/// may not set them (each has its own flag or field).
pub const OWNED_BODY_KEYS: &[(&str, &str)] = &[
    ("model", "give the model with --model or default_model"),
    ("messages", "the messages come from the prompt"),
    ("stream", "streaming is chosen with --stream"),
];

/// A problem inside a JSON field: the path to it, the message, a hint.
pub type Placed = (Vec<String>, String, String);

/// The largest `extra_body`, as compact JSON.
pub const MAX_EXTRA_BODY: usize = 64 * 1024;
const MAX_QUERY_LEN: usize = 2048;
const MAX_PATH_LEN: usize = 4096;

/// Checks a query parameter's name.
pub fn check_query_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("query parameter name is empty".into());
    }
    if key.len() > 256 {
        return Err("query parameter name is longer than 256 bytes".into());
    }
    // Spaces and the like are percent-encoded; control characters are
    // surely a mistake.
    if let Some(c) = key.chars().find(|c| c.is_control()) {
        return Err(format!(
            "query parameter name {:?} contains {}",
            crate::output::clip(key, 80),
            describe(c)
        ));
    }
    Ok(())
}

/// Checks a query parameter's value (sent as written, percent-encoded:
/// not a place for secrets, which belong in headers).
pub fn check_query_value(key: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_QUERY_LEN {
        return Err(format!(
            "the value of query parameter {key:?} is longer than {MAX_QUERY_LEN} bytes"
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the value of query parameter {key:?} contains {}",
            describe(c)
        ));
    }
    Ok(())
}

/// Parses `--query KEY=VALUE`: split at the first `=`.
pub fn parse_query_arg(arg: &str) -> Result<(String, String), String> {
    let Some((k, v)) = arg.split_once('=') else {
        return Err("expected KEY=VALUE, e.g. --query api-version=2024-10-21".into());
    };
    let (k, v) = (k.trim(), v.trim());
    check_query_key(k)?;
    check_query_value(k, v)?;
    Ok((k.to_string(), v.to_string()))
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        '\r' | '\n' => "a line break".into(),
        c => format!("the character U+{:04X}", u32::from(c)),
    }
}

/// Checks `extra_body`: not one of the keys aix owns, every `${env:...}`
/// reference well formed, no larger than [`MAX_EXTRA_BODY`]. An `Err`
/// carries the path inside the field, the message and a hint.
pub fn check_extra_body(body: &Map<String, Value>) -> Result<(), Placed> {
    for (key, hint) in OWNED_BODY_KEYS {
        if body.contains_key(*key) {
            return Err((
                vec![(*key).to_string()],
                format!("{key:?} is set by aix itself and cannot be given here"),
                (*hint).to_string(),
            ));
        }
    }
    for (k, v) in body {
        each_string(v, &mut vec![k.clone()], &mut |path, s| {
            envref::check(s).map_err(|e| {
                (
                    path.to_vec(),
                    e.to_string(),
                    "write a reference as ${env:VAR}".to_string(),
                )
            })
        })?;
    }
    let size = serde_json::to_vec(body).map_or(0, |v| v.len());
    if size > MAX_EXTRA_BODY {
        return Err((
            Vec::new(),
            format!("is {size} bytes as JSON, more than {MAX_EXTRA_BODY}"),
            "send large inputs as the prompt instead".into(),
        ));
    }
    Ok(())
}

/// Calls `f` with every string inside `v` and the path to it (object
/// keys and array indexes, after `path`), stopping at the first `Err`.
/// The one walk for what JSON fields hold: references in `extra_body` and
/// models tables, relative `${file:}` paths in a manifest.
pub fn each_string<E>(
    v: &Value,
    path: &mut Vec<String>,
    f: &mut impl FnMut(&[String], &str) -> Result<(), E>,
) -> Result<(), E> {
    match v {
        Value::String(s) => f(path, s),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            path.push(i.to_string());
            let r = each_string(item, path, f);
            path.pop();
            r
        }),
        Value::Object(m) => m.iter().try_for_each(|(k, item)| {
            path.push(k.clone());
            let r = each_string(item, path, f);
            path.pop();
            r
        }),
        _ => Ok(()),
    }
}

/// [`each_string`] that may change each string in place.
pub fn each_string_mut<E>(
    v: &mut Value,
    path: &mut Vec<String>,
    f: &mut impl FnMut(&[String], &mut String) -> Result<(), E>,
) -> Result<(), E> {
    match v {
        Value::String(s) => f(path, s),
        Value::Array(items) => items.iter_mut().enumerate().try_for_each(|(i, item)| {
            path.push(i.to_string());
            let r = each_string_mut(item, path, f);
            path.pop();
            r
        }),
        Value::Object(m) => m.iter_mut().try_for_each(|(k, item)| {
            path.push(k.clone());
            let r = each_string_mut(item, path, f);
            path.pop();
            r
        }),
        _ => Ok(()),
    }
}

/// Parses `--extra-body JSON`: a JSON object.
pub fn parse_json_object(arg: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(arg) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(other) => Err(format!(
            "must be a JSON object, not {}",
            super::type_name(&other)
        )),
        Err(e) => Err(format!("is not valid JSON ({e})")),
    }
}

/// `b` deep-merged into `a`: objects merge key by key, anything else in
/// `b` replaces what `a` has.
pub fn deep_merge(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Checks `ca_file`: an absolute path or one starting with `~/` (a
/// relative path would depend on where aix runs).
pub fn check_ca_file(path: &str) -> Result<Cow<'_, str>, String> {
    if path.is_empty() {
        return Err("is empty".into());
    }
    if path.len() > MAX_PATH_LEN {
        return Err(format!("is longer than {MAX_PATH_LEN} bytes"));
    }
    if path.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    if !(path.starts_with('/') || path.starts_with("~/")) {
        return Err(format!(
            "{:?} is relative; give an absolute path or one starting with ~/",
            crate::output::clip(path, 80)
        ));
    }
    Ok(Cow::Borrowed(path))
}

/// `~/` expanded against `HOME`.
pub fn expand_home(path: &str) -> std::path::PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME").map_or_else(
            || std::path::PathBuf::from(path),
            |h| std::path::PathBuf::from(h).join(rest),
        ),
        None => std::path::PathBuf::from(path),
    }
}

/// The proxy schemes aix can use.
pub const PROXY_SCHEMES: &[&str] = &["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// Checks `proxy`: `none`, or `SCHEME://HOST[:PORT]` with a scheme of
/// [`PROXY_SCHEMES`], no path and no credentials (those belong in the
/// environment's proxy variables, which aix never prints).
pub fn check_proxy(s: &str) -> Result<Cow<'_, str>, String> {
    if s == "none" {
        return Ok(Cow::Borrowed(s));
    }
    let shown = crate::output::clip(s, 80);
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(format!(
            "{shown:?} is not a proxy URL; write it as http://HOST:PORT or socks5://HOST:PORT, or \"none\" to bypass the environment's proxy"
        ));
    };
    let lower = scheme.to_ascii_lowercase();
    if !PROXY_SCHEMES.contains(&lower.as_str()) {
        return Err(format!(
            "proxy scheme {scheme:?} is not one of {}",
            PROXY_SCHEMES.join(", ")
        ));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        return Err(format!(
            "a proxy URL with credentials ({lower}://(credentials)@...) would be shown wherever the provider is; put it in HTTPS_PROXY or ALL_PROXY instead"
        ));
    }
    if authority.is_empty() || authority.contains(['/', '?', '#']) {
        return Err(format!(
            "proxy {shown:?} must be SCHEME://HOST[:PORT] with nothing after the port"
        ));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) if p.starts_with(':') => (h, Some(&p[1..])),
            _ => return Err(format!("proxy {shown:?} has an invalid IPv6 host")),
        },
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("proxy {shown:?} has an invalid port {port:?}"));
    }
    if host.is_empty() || host.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("proxy {shown:?} has no valid host"));
    }
    if lower != scheme || rest.ends_with('/') {
        return Ok(Cow::Owned(format!("{lower}://{authority}")));
    }
    Ok(Cow::Borrowed(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn proxies() {
        for ok in [
            "none",
            "http://p:3128",
            "socks5h://127.0.0.1:1080",
            "https://proxy.corp",
        ] {
            assert_eq!(check_proxy(ok).unwrap(), ok);
        }
        assert_eq!(check_proxy("HTTP://p:1/").unwrap(), "http://p:1");
        for bad in [
            "p:3128",
            "ftp://p",
            "http://u:pw@p:1",
            "http://p:1/x",
            "http://",
            "http://p:0",
        ] {
            let e = check_proxy(bad).unwrap_err();
            assert!(!e.contains("pw"), "{e}");
        }
    }

    #[test]
    fn extra_body_rules() {
        let ok = json!({"options": {"num_ctx": 8192}, "x": ["${env:A}"]});
        assert!(check_extra_body(ok.as_object().unwrap()).is_ok());
        let owned = json!({"stream": false});
        let (path, m, _) = check_extra_body(owned.as_object().unwrap()).unwrap_err();
        assert_eq!(path, ["stream"]);
        assert!(m.contains("set by aix"), "{m}");
        let bad_ref = json!({"a": {"b": ["${env:1x}"]}});
        let (path, _, _) = check_extra_body(bad_ref.as_object().unwrap()).unwrap_err();
        assert_eq!(path, ["a", "b", "0"]);
    }

    #[test]
    fn merging_is_deep() {
        let mut a = json!({"model": "m", "stream_options": {"include_usage": true}});
        deep_merge(&mut a, &json!({"stream_options": {"x": 1}, "top_k": 5}));
        assert_eq!(
            a,
            json!({"model": "m", "stream_options": {"include_usage": true, "x": 1}, "top_k": 5})
        );
    }

    #[test]
    fn query_args() {
        assert_eq!(
            parse_query_arg("api-version=2024-10-21").unwrap(),
            ("api-version".into(), "2024-10-21".into())
        );
        assert_eq!(parse_query_arg("a=b=c").unwrap().1, "b=c");
        assert!(parse_query_arg("novalue").is_err());
        assert_eq!(parse_query_arg("a b=c").unwrap().0, "a b");
        assert!(parse_query_arg("a\u{1}b=c").is_err());
    }

    #[test]
    fn ca_files() {
        assert!(check_ca_file("/etc/ssl/corp.pem").is_ok());
        assert!(check_ca_file("~/certs/lab.pem").is_ok());
        assert!(check_ca_file("certs/lab.pem").is_err());
    }
}
