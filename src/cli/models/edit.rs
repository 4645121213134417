//! Adding model entries to a manifest file: `[providers.NAME.models.KEY]`
//! tables placed after the provider's last table, with every other byte of
//! the file kept (comments, blank lines, order, formatting).
//!
//! The tables are built and placed with toml_edit; the result is then
//! checked to be the old text with one piece inserted, so a formatting
//! change toml_edit might make elsewhere refuses the write instead of
//! reaching the file.

use toml_edit::{DocumentMut, Item, Table, value};

/// One entry to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub key: String,
    /// Only when it differs from the key.
    pub id: Option<String>,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
}

/// Doubles every table position under `t`, so that an odd position fits
/// between any two tables.
fn spread(t: &mut Table) {
    if let Some(p) = t.position() {
        t.set_position(p.saturating_mul(2));
    }
    for (_, item) in t.iter_mut() {
        match item {
            Item::Table(sub) => spread(sub),
            Item::ArrayOfTables(a) => a.iter_mut().for_each(spread),
            _ => {}
        }
    }
}

/// The highest table position under `t` (itself included).
fn last_position(t: &Table) -> Option<isize> {
    let mut best = t.position();
    for (_, item) in t.iter() {
        let sub = match item {
            Item::Table(sub) => last_position(sub),
            Item::ArrayOfTables(a) => a.iter().filter_map(last_position).max(),
            _ => None,
        };
        best = best.max(sub);
    }
    best
}

/// `text` with `entries` added to provider `name`'s models table. Errors
/// say why the file's layout does not allow it. A file whose every line
/// ends in CRLF keeps them (toml_edit writes LF).
pub fn insert(text: &str, name: &str, entries: &[NewEntry]) -> Result<String, String> {
    if text.contains("\r\n") {
        let lf = text.replace("\r\n", "\n");
        if lf.replace('\n', "\r\n") == text {
            return insert_lf(&lf, name, entries).map(|out| out.replace('\n', "\r\n"));
        }
        return Err(
            "the file mixes CRLF and LF line ends, which writing would change; make them one kind, or add the entries by hand".into(),
        );
    }
    insert_lf(text, name, entries)
}

fn insert_lf(text: &str, name: &str, entries: &[NewEntry]) -> Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().trim_end().to_string())?;
    spread(doc.as_table_mut());
    let place = format!("providers.{name}");
    let provider = doc
        .get_mut("providers")
        .and_then(Item::as_table_mut)
        .and_then(|t| t.get_mut(name))
        .ok_or_else(|| format!("{place} is not a table of this file"))?;
    let Item::Table(provider) = provider else {
        return Err(format!(
            "{place} is written inline; write it as a [{place}] table to add models to it"
        ));
    };
    if provider.is_dotted() {
        return Err(format!(
            "{place} is written with dotted keys; write it as a [{place}] table to add models to it"
        ));
    }
    let at = last_position(provider).unwrap_or(0).saturating_add(1);
    let models = provider.entry("models").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let Item::Table(models) = models else {
        return Err(format!(
            "{place}.models is written inline; write its entries as [{place}.models.KEY] tables to add more"
        ));
    };
    if models.is_dotted() {
        return Err(format!(
            "{place}.models is written with dotted keys; write its entries as [{place}.models.KEY] tables to add more"
        ));
    }
    if models.position().is_none() {
        models.set_position(at);
    }
    for e in entries {
        if models.contains_key(&e.key) {
            return Err(format!("{place}.models.{} already exists", e.key));
        }
        let mut t = Table::new();
        t.set_position(at);
        if let Some(id) = &e.id {
            t.insert("id", value(id.as_str()));
        }
        for (k, n) in [
            ("context_window", e.context_window),
            ("max_output_tokens", e.max_output_tokens),
        ] {
            if let Some(n) = n {
                let n = i64::try_from(n).map_err(|_| format!("{k} {n} is too large"))?;
                t.insert(k, value(n));
            }
        }
        // A blank line before each new table, as the file's own have.
        t.decor_mut().set_prefix("\n");
        models.insert(&e.key, Item::Table(t));
    }
    let out = doc.to_string();
    if !is_one_insertion(text, &out) {
        return Err(
            "adding the tables would change other parts of the file; add the entries by hand"
                .into(),
        );
    }
    Ok(out)
}

/// Whether `new` is `old` with one piece of text inserted somewhere.
fn is_one_insertion(old: &str, new: &str) -> bool {
    if new.len() < old.len() {
        return false;
    }
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    prefix + suffix >= a.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, id: Option<&str>, ctx: Option<u64>) -> NewEntry {
        NewEntry {
            key: key.into(),
            id: id.map(String::from),
            context_window: ctx,
            max_output_tokens: None,
        }
    }

    #[test]
    fn tables_go_after_the_providers_last_table() {
        let text = "# top\n[providers.a]\nbase_url = \"http://a/v1\" # the box\n\n[providers.a.models.x]\nid = \"x:1\"\n\n# the other one\n[providers.b]\nbase_url = \"http://b/v1\"\n";
        let out = insert(
            text,
            "a",
            &[
                entry("y:2", None, Some(8192)),
                entry("my-m", Some("my m"), None),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "# top\n[providers.a]\nbase_url = \"http://a/v1\" # the box\n\n[providers.a.models.x]\nid = \"x:1\"\n\n[providers.a.models.\"y:2\"]\ncontext_window = 8192\n\n[providers.a.models.my-m]\nid = \"my m\"\n\n# the other one\n[providers.b]\nbase_url = \"http://b/v1\"\n"
        );
    }

    #[test]
    fn a_provider_without_models_gets_its_first_tables() {
        let text = "[providers.b]\nbase_url = \"http://b/v1\"\n[providers.a]\nbase_url = \"http://a/v1\"\n";
        let out = insert(text, "b", &[entry("m", None, None)]).unwrap();
        assert_eq!(
            out,
            "[providers.b]\nbase_url = \"http://b/v1\"\n\n[providers.b.models.m]\n[providers.a]\nbase_url = \"http://a/v1\"\n"
        );
        // Its tables spread over the file: after the last of them.
        let text = "[providers.a]\nbase_url = \"http://a/v1\"\n[providers.b]\nbase_url = \"http://b/v1\"\n[providers.a.headers]\nX = \"1\"\n";
        let out = insert(text, "a", &[entry("m", None, None)]).unwrap();
        assert!(
            out.ends_with("X = \"1\"\n\n[providers.a.models.m]\n"),
            "{out}"
        );
    }

    #[test]
    fn a_last_line_without_newline_and_crlf_files() {
        let e = [entry("m", None, Some(5))];
        let out = insert("[providers.a]\nbase_url = \"http://a/v1\"", "a", &e).unwrap();
        assert!(
            out.starts_with("[providers.a]\nbase_url = \"http://a/v1\""),
            "{out}"
        );
        assert!(
            out.contains("[providers.a.models.m]\ncontext_window = 5"),
            "{out}"
        );
        let crlf = "[providers.a]\r\nbase_url = \"http://a/v1\"\r\n\r\n[providers.b]\r\nbase_url = \"http://b/v1\"\r\n";
        let out = insert(crlf, "a", &e).unwrap();
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        assert!(
            out.ends_with("\r\n\r\n[providers.b]\r\nbase_url = \"http://b/v1\"\r\n"),
            "{out:?}"
        );
    }

    #[test]
    fn mixed_line_ends_are_refused_not_rewritten() {
        let mixed = "[providers.a]\r\nbase_url = \"http://a/v1\"\n";
        assert!(insert(mixed, "a", &[entry("m", None, None)]).is_err());
    }

    #[test]
    fn inline_layouts_are_refused() {
        let e = [entry("m", None, None)];
        let inline = "[providers]\na = { base_url = \"http://a/v1\" }\n";
        assert!(insert(inline, "a", &e).unwrap_err().contains("inline"));
        let models = "[providers.a]\nbase_url = \"http://a/v1\"\nmodels = { x = {} }\n";
        assert!(insert(models, "a", &e).unwrap_err().contains("inline"));
        let dotted = "[providers.a]\nbase_url = \"http://a/v1\"\nmodels.x.id = \"y\"\n";
        assert!(insert(dotted, "a", &e).unwrap_err().contains("dotted"));
        assert!(insert("", "a", &e).is_err());
    }

    #[test]
    fn one_insertion_is_recognised() {
        assert!(is_one_insertion("abcd", "abXYcd"));
        assert!(is_one_insertion("abcd", "abcdXY"));
        assert!(!is_one_insertion("abcd", "abXd"));
        assert!(!is_one_insertion("abcd", "aXbcYd"));
    }
}
