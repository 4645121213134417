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

#[cfg(test)]
mod tests {
    use super::*;

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
