//! "Did you mean ...?" for typed names: flags, parameters, manifest keys.

/// Edit distance between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The closest of `options` to `word`, if close enough to be a typo.
pub fn closest<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (distance(word, o), *o))
        .filter(|(d, o)| *d <= 2.max(o.len() / 3))
        .min()
        .map(|(_, o)| o)
}

/// The closest of `options` to `word` ignoring case, so `OLLAMA` and
/// `Ollama2` both find `ollama`; an exact match (in another case) wins.
pub fn closest_ignoring_case<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    options
        .iter()
        .map(|o| (strsim::levenshtein(&lower, &o.to_lowercase()), *o))
        .filter(|(d, o)| *d <= 2.max(o.chars().count() / 3))
        .min()
        .map(|(_, o)| o)
}

/// A provider-not-found error with "did you mean" first when `spec` (what
/// the user typed, perhaps `Custom:NAME`) is a near miss of a configured
/// name in `custom` or of a built-in; `err` unchanged otherwise. A typo
/// then gets no hint to add a provider of the mistyped name.
pub fn provider_hint(err: crate::Error, spec: &str, custom: &[&str]) -> crate::Error {
    let mut bare = spec;
    // `custom:custom:NAME` too: every prefix is stripped.
    while let Some(p) = bare.get(..7).filter(|p| p.eq_ignore_ascii_case("custom:")) {
        bare = &bare[p.len()..];
    }
    let builtins: Vec<&str> = crate::provider::BUILTINS.iter().map(|b| b.name).collect();
    let hint = if let Some(near) = closest_ignoring_case(bare, custom) {
        format!("did you mean '{near}'? (names are case-sensitive)")
    } else if let Some(near) = closest_ignoring_case(bare, &builtins) {
        format!("did you mean the built-in provider '{near}'?")
    } else {
        return err;
    };
    crate::Error::new(err.message())
        .hint(hint)
        .hint("see the configured providers with `aix provider list`")
}

/// The error for `--provider custom:` or `--provider ""`.
pub fn empty_provider_name(spec: &str) -> crate::Error {
    crate::Error::usage(format!("empty provider name in {spec:?}"))
        .hint("write custom:NAME or a bare NAME; `aix provider list --all` shows them")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_ignoring_case() {
        let opts = ["ollama", "vllm"];
        assert_eq!(closest_ignoring_case("OLLAMA", &opts), Some("ollama"));
        assert_eq!(closest_ignoring_case("ollama2", &opts), Some("ollama"));
        assert_eq!(closest_ignoring_case("Ollama", &opts), Some("ollama"));
        assert_eq!(closest_ignoring_case("zzzzzzz", &opts), None);
    }

    #[test]
    fn suggests_near_misses_only() {
        let opts = ["base_url", "default_model", "headers", "auth_type"];
        assert_eq!(closest("base_ur", &opts), Some("base_url"));
        assert_eq!(closest("defualt_model", &opts), Some("default_model"));
        assert_eq!(closest("header", &opts), Some("headers"));
        assert_eq!(closest("zzzzzz", &opts), None);
        assert_eq!(distance("", "ab"), 2);
    }
}
