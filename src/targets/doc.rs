//! A target's file as a tree aix can edit in place: YAML and JSON files as
//! JSON values (unknown keys and their order kept), TOML files as a
//! `toml_edit` document (comments and layout kept too).
//!
//! aix's entries live in one container of the file, addressed by a
//! [`Place`]: a list of objects told apart by a key field (LiteLLM's
//! `model_list`, keyed by `model_name`), or an object's members (Codex's
//! `model_providers`). Everything outside the entries aix owns is left as
//! it was read.

use serde_json::{Map, Value};

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Toml,
}

/// A YAML file read with its merge keys (`<<: *anchor`) applied, as the
/// tools that read it see it (for importing; aix never writes merged
/// entries back).
pub fn parse_merged(text: &str, skeleton: Value) -> Result<Doc, ParseError> {
    if text.trim().is_empty() {
        return Ok(Doc::Tree(Format::Yaml, skeleton));
    }
    let err = |e: serde_norway::Error| ParseError {
        at: e.location().map(|l| (l.line(), l.column())),
        message: format!("not YAML aix can read: {}", without_place(&e.to_string())),
    };
    let mut y: serde_norway::Value = serde_norway::from_str(text).map_err(err)?;
    y.apply_merge().map_err(err)?;
    let v: Value = serde_json::to_value(&y).map_err(|e| ParseError {
        at: None,
        message: format!("not YAML aix can read: {e}"),
    })?;
    Ok(Doc::Tree(
        Format::Yaml,
        if v.is_null() { skeleton } else { v },
    ))
}

/// A target file that does not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// A parser's message without its trailing ` at line L column C` (the
/// place is given in front, as `FILE:LINE:COL`).
fn without_place(m: &str) -> String {
    match m.find(" at line ") {
        Some(i) => {
            let rest = &m[i..];
            // `, while parsing ...` may follow the place.
            let after = rest.find(',').map_or("", |j| &rest[j..]);
            format!("{}{after}", &m[..i])
        }
        None => m.to_string(),
    }
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where a tool keeps its entries in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A list of objects at `path` (empty: the file is the list), each
    /// named by its `key` member.
    List {
        path: &'static [&'static str],
        key: &'static str,
        /// The member that names an entry without `key` (aichat calls an
        /// unnamed client by its `type`).
        or: Option<&'static str>,
    },
    /// The members of the object at `path`.
    Map { path: &'static [&'static str] },
}

impl Place {
    /// The name of list entry `e`.
    pub fn name_of(self, e: &Value) -> Option<&str> {
        let Place::List { key, or, .. } = self else {
            return None;
        };
        match e.get(key) {
            Some(v) => v.as_str(),
            None => or.and_then(|o| e.get(o)).and_then(Value::as_str),
        }
    }

    fn path(self) -> &'static [&'static str] {
        match self {
            Place::List { path, .. } | Place::Map { path } => path,
        }
    }

    /// How an entry is named in plans and ownership records:
    /// `model_list/NAME`, or `NAME` in a file that is the list.
    pub fn id(self, key: &str) -> String {
        match self.path() {
            [] => key.to_string(),
            path => format!("{}/{key}", path.join(".")),
        }
    }
}

/// A target file, parsed.
#[derive(Debug, Clone)]
pub enum Doc {
    /// YAML or JSON.
    Tree(Format, Value),
    Toml(toml_edit::DocumentMut),
}

impl Doc {
    /// Parses `text` (a missing or blank file is `skeleton`).
    /// A syntax error is its message and, when known, its 1-based line and
    /// column; the message never quotes the file (it may hold a key).
    pub fn parse(format: Format, text: &str, skeleton: Value) -> Result<Doc, ParseError> {
        if text.trim().is_empty() {
            return Ok(match format {
                Format::Toml => Doc::Toml(toml_edit::DocumentMut::new()),
                f => Doc::Tree(f, skeleton),
            });
        }
        match format {
            Format::Json => serde_json::from_str(text)
                .map(|v| Doc::Tree(format, v))
                .map_err(|e| ParseError {
                    at: Some((e.line(), e.column())),
                    message: format!(
                        "not valid JSON: {} (aix edits plain JSON, without comments)",
                        without_place(&e.to_string())
                    ),
                }),
            Format::Yaml => {
                let v: Value = serde_norway::from_str(text).map_err(|e| ParseError {
                    at: e.location().map(|l| (l.line(), l.column())),
                    message: format!("not YAML aix can edit: {}", without_place(&e.to_string())),
                })?;
                Ok(Doc::Tree(format, if v.is_null() { skeleton } else { v }))
            }
            Format::Toml => text
                .parse::<toml_edit::DocumentMut>()
                .map(Doc::Toml)
                .map_err(|e| ParseError {
                    at: e.span().map(|s| line_col(text, s.start)),
                    message: format!("not valid TOML: {}", e.message().trim().replace('\n', " ")),
                }),
        }
    }

    /// The text to write.
    pub fn render(&self) -> String {
        match self {
            Doc::Tree(Format::Yaml, v) => {
                serde_norway::to_string(&yaml_value(v)).unwrap_or_else(|_| "null\n".into())
            }
            Doc::Tree(_, v) => {
                let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
                s.push('\n');
                s
            }
            Doc::Toml(d) => d.to_string(),
        }
    }

    /// Whether the container at `place` is something other than what the
    /// tool expects (a map where a list should be): aix will not touch it.
    pub fn misshapen(&self, place: Place) -> Option<String> {
        let what = |v: &Value| match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "a mapping",
        };
        let (want, have) = match self {
            Doc::Tree(_, root) => {
                let mut here = root;
                for (i, seg) in place.path().iter().enumerate() {
                    match here {
                        Value::Object(m) => match m.get(*seg) {
                            Some(v) => here = v,
                            None => return None,
                        },
                        other => {
                            let at = if i == 0 {
                                "the file".to_string()
                            } else {
                                place.path()[..i].join(".")
                            };
                            return Some(format!("{at} is {}, not a mapping", what(other)));
                        }
                    }
                }
                match (place, here) {
                    (Place::List { .. }, Value::Array(_) | Value::Null) => return None,
                    (Place::Map { .. }, Value::Object(_) | Value::Null) => return None,
                    (Place::List { .. }, v) => ("a list", what(v)),
                    (Place::Map { .. }, v) => ("a mapping", what(v)),
                }
            }
            Doc::Toml(d) => {
                let mut item = d.as_item();
                for seg in place.path() {
                    match item.get(seg) {
                        Some(i) => item = i,
                        None => return None,
                    }
                }
                if item.is_table_like() {
                    return None;
                }
                ("a table", item.type_name())
            }
        };
        let at = match place.path() {
            [] => "the file".to_string(),
            p => p.join("."),
        };
        Some(format!("{at} is {have}, not {want}"))
    }

    /// The entry `key` at `place`, as JSON.
    pub fn get(&self, place: Place, key: &str) -> Option<Value> {
        match self {
            Doc::Tree(_, root) => {
                let container = walk(root, place.path())?;
                match place {
                    Place::List { .. } => container
                        .as_array()?
                        .iter()
                        .find(|e| place.name_of(e) == Some(key))
                        .cloned(),
                    Place::Map { .. } => container.get(key).cloned(),
                }
            }
            Doc::Toml(d) => {
                let mut item = d.as_item();
                for seg in place.path() {
                    item = item.get(seg)?;
                }
                item.get(key).map(toml_item_json)
            }
        }
    }

    /// The keys of every entry at `place`.
    #[cfg(test)]
    pub fn keys(&self, place: Place) -> Vec<String> {
        match self {
            Doc::Tree(_, root) => match (place, walk(root, place.path())) {
                (Place::List { .. }, Some(Value::Array(a))) => a
                    .iter()
                    .filter_map(|e| place.name_of(e).map(String::from))
                    .collect(),
                (Place::Map { .. }, Some(Value::Object(m))) => m.keys().cloned().collect(),
                _ => Vec::new(),
            },
            Doc::Toml(d) => {
                let mut item = d.as_item();
                for seg in place.path() {
                    match item.get(seg) {
                        Some(i) => item = i,
                        None => return Vec::new(),
                    }
                }
                item.as_table_like()
                    .map(|t| t.iter().map(|(k, _)| k.to_string()).collect())
                    .unwrap_or_default()
            }
        }
    }

    /// Sets entry `key` at `place` to `value`, in its place when it is
    /// there (appended when not), creating the container when missing.
    pub fn set(&mut self, place: Place, key: &str, value: &Value) {
        match self {
            Doc::Tree(_, root) => {
                let container = walk_mut(root, place.path(), place);
                match place {
                    Place::List { .. } => {
                        if !container.is_array() {
                            *container = Value::Array(Vec::new());
                        }
                        let list = container.as_array_mut().expect("just made a list");
                        match list.iter_mut().find(|e| place.name_of(e) == Some(key)) {
                            Some(slot) => *slot = value.clone(),
                            None => list.push(value.clone()),
                        }
                    }
                    Place::Map { .. } => {
                        if !container.is_object() {
                            *container = Value::Object(Map::new());
                        }
                        let map = container.as_object_mut().expect("just made a map");
                        map.insert(key.to_string(), value.clone());
                    }
                }
            }
            Doc::Toml(d) => {
                let mut table = d.as_table_mut();
                for seg in place.path() {
                    let item = table.entry(seg).or_insert_with(|| {
                        let mut t = toml_edit::Table::new();
                        t.set_implicit(true);
                        toml_edit::Item::Table(t)
                    });
                    if !item.is_table() {
                        let mut t = toml_edit::Table::new();
                        t.set_implicit(true);
                        *item = toml_edit::Item::Table(t);
                    }
                    table = item.as_table_mut().expect("just made a table");
                }
                let Value::Object(members) = value else {
                    table.insert(key, toml_edit::Item::Value(json_toml_value(value)));
                    return;
                };
                let slot = table
                    .entry(key)
                    .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
                if !slot.is_table() {
                    *slot = toml_edit::Item::Table(toml_edit::Table::new());
                }
                let entry = slot.as_table_mut().expect("just made a table");
                // Member by member, so the comments and order of what
                // stays are kept.
                let gone: Vec<String> = entry
                    .iter()
                    .map(|(k, _)| k.to_string())
                    .filter(|k| !members.contains_key(k))
                    .collect();
                for k in gone {
                    entry.remove(&k);
                }
                for (k, v) in members {
                    match entry.get_mut(k) {
                        Some(item) if toml_item_json(item) == *v => {}
                        // In place, keeping the comments around it.
                        Some(toml_edit::Item::Value(old)) => {
                            let decor = old.decor().clone();
                            *old = json_toml_value(v);
                            *old.decor_mut() = decor;
                        }
                        _ => {
                            entry.insert(k, toml_edit::Item::Value(json_toml_value(v)));
                        }
                    }
                }
            }
        }
    }

    /// Removes entry `key` at `place` (the container stays).
    pub fn remove(&mut self, place: Place, key: &str) {
        match self {
            Doc::Tree(_, root) => {
                let Some(container) = walk_existing_mut(root, place.path()) else {
                    return;
                };
                match (place, container) {
                    (Place::List { .. }, Value::Array(list)) => {
                        list.retain(|e| place.name_of(e) != Some(key));
                    }
                    (Place::Map { .. }, Value::Object(m)) => {
                        m.shift_remove(key);
                    }
                    _ => {}
                }
            }
            Doc::Toml(d) => {
                let mut item = d.as_item_mut();
                for seg in place.path() {
                    match item.get_mut(seg) {
                        Some(i) => item = i,
                        None => return,
                    }
                }
                if let Some(t) = item.as_table_like_mut() {
                    t.remove(key);
                }
            }
        }
    }
}

/// `next` written over a YAML file's `text` (which parsed to `before`)
/// by replacing, removing and appending only the list entries at `place`
/// that differ, so the file's comments and layout elsewhere survive.
/// None when the file is laid out in a way this does not follow (a flow
/// list, a key that is not at the top) or the result would not read back
/// as `next`: the caller then writes the whole file from `next`.
pub fn splice_yaml(text: &str, before: &Value, next: &Value, place: Place) -> Option<String> {
    let Place::List { path, .. } = place else {
        return None;
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let is_noise = |l: &str| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    };
    // The lines of the list: after its `KEY:` line, up to the next
    // top-level key; the whole file when the file is the list.
    let (head, start, mut end) = match path {
        [] => (None, 0, lines.len()),
        [k] => match lines.iter().position(|l| {
            l.strip_prefix(k)
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|r| r.trim().is_empty() || r.trim_start().starts_with('#'))
        }) {
            Some(i) => {
                let end = lines[i + 1..]
                    .iter()
                    .position(|l| !is_noise(l) && !l.starts_with([' ', '\t', '-']))
                    .map_or(lines.len(), |n| i + 1 + n);
                (Some(i), i + 1, end)
            }
            // No such key, at the top or anywhere a simple scan can tell.
            None if !text.contains(&format!("{k}:")) => (None, lines.len(), lines.len()),
            None => return None,
        },
        _ => return None,
    };
    let first = (start..end).find(|&i| !is_noise(lines[i]));
    let indent = match first {
        Some(i) => {
            let l = lines[i];
            let n = l.len() - l.trim_start_matches(' ').len();
            if !l[n..].starts_with('-') {
                return None;
            }
            n
        }
        None => match path {
            [] => 0,
            _ => 2,
        },
    };
    let is_item = |l: &str| {
        l.len() > indent
            && l[..indent].bytes().all(|b| b == b' ')
            && l[indent..].starts_with('-')
            && l[indent + 1..].starts_with([' ', '\n', '\r'])
    };
    let starts: Vec<usize> = (start..end).filter(|&i| is_item(lines[i])).collect();
    // Each entry's lines, less the comments and blank lines after it
    // (they say something about what follows).
    let mut spans = Vec::new();
    for (n, &s) in starts.iter().enumerate() {
        let mut e = starts.get(n + 1).copied().unwrap_or(end);
        while e > s + 1 && is_noise(lines[e - 1]) {
            e -= 1;
        }
        spans.push((s, e));
    }
    if let Some(&(_, last)) = spans.last() {
        end = end.max(last);
    }
    let old = walk(before, path)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let new = walk(next, path).and_then(Value::as_array)?;
    if old.len() != spans.len() {
        return None;
    }
    let name = |v: &Value| place.name_of(v).map(String::from);
    let render_item = |v: &Value| -> String {
        let one = serde_norway::to_string(&yaml_value(&Value::Array(vec![v.clone()])))
            .unwrap_or_default();
        let pad = " ".repeat(indent);
        one.lines().map(|l| format!("{pad}{l}\n")).collect()
    };
    let mut out = String::new();
    let mut at = 0;
    let push_lines = |out: &mut String, from: usize, to: usize| {
        for l in &lines[from..to] {
            out.push_str(l);
        }
    };
    // By name, so a list of thousands is edited in linear time.
    let by_name: std::collections::HashMap<String, &Value> = new
        .iter()
        .rev()
        .filter_map(|n| Some((name(n)?, n)))
        .collect();
    let old_names: std::collections::HashSet<String> = old.iter().filter_map(&name).collect();
    for (item, &(s, e)) in old.iter().zip(&spans) {
        push_lines(&mut out, at, s);
        at = e;
        let Some(k) = name(item) else {
            push_lines(&mut out, s, e);
            continue;
        };
        match by_name.get(&k).copied() {
            None => {}
            Some(n) if same(n, item) => push_lines(&mut out, s, e),
            Some(n) => out.push_str(&render_item(n)),
        }
    }
    let added: Vec<&Value> = new
        .iter()
        .filter(|n| name(n).is_none_or(|k| !old_names.contains(&k)))
        .collect();
    // New entries after the last one (or where the list starts).
    let insert_at = spans
        .last()
        .map_or(first.unwrap_or(start).min(end), |&(_, e)| e);
    push_lines(&mut out, at, insert_at);
    if !added.is_empty() {
        if head.is_none() && !path.is_empty() {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("{}:\n", path[0]));
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        for n in added {
            out.push_str(&render_item(n));
        }
    }
    if new.is_empty() && !old.is_empty() {
        // An empty block list reads as null: say `[]`.
        out.push_str(&match path {
            [] => "[]\n".to_string(),
            _ => String::new(),
        });
    }
    push_lines(&mut out, insert_at, lines.len());
    if new.is_empty()
        && !old.is_empty()
        && let (Some(i), [k]) = (head, path)
    {
        let line = lines[i];
        let offset: usize = lines[..i].iter().map(|l| l.len()).sum();
        out.replace_range(offset..offset + k.len() + 1, &format!("{k}: []"));
        debug_assert!(line.starts_with(k));
    }
    let back: Value = serde_norway::from_str(&out).ok()?;
    same(&back, next).then_some(out)
}

/// A JSON value as YAML (numbers by value: serde_json's exact numbers
/// would be written as a tagged map).
fn yaml_value(v: &Value) -> serde_norway::Value {
    use serde_norway::Value as Y;
    match v {
        Value::Null => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Number(n) => Y::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into(),
            (_, Some(i)) => i.into(),
            _ => n.as_f64().unwrap_or_default().into(),
        }),
        Value::String(s) => Y::String(s.clone()),
        Value::Array(a) => Y::Sequence(a.iter().map(yaml_value).collect()),
        Value::Object(m) => Y::Mapping(
            m.iter()
                .map(|(k, x)| (Y::String(k.clone()), yaml_value(x)))
                .collect(),
        ),
    }
}

fn walk<'v>(root: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut here = root;
    for seg in path {
        here = here.get(seg)?;
    }
    Some(here)
}

fn walk_existing_mut<'v>(root: &'v mut Value, path: &[&str]) -> Option<&'v mut Value> {
    let mut here = root;
    for seg in path {
        here = here.get_mut(seg)?;
    }
    Some(here)
}

/// The container at `path`, made (as mappings, the last as `place`
/// wants) where missing or null.
fn walk_mut<'v>(root: &'v mut Value, path: &[&str], place: Place) -> &'v mut Value {
    let mut here = root;
    for seg in path {
        if !here.is_object() {
            *here = Value::Object(Map::new());
        }
        here = here
            .as_object_mut()
            .expect("just made a mapping")
            .entry(seg.to_string())
            .or_insert(Value::Null);
    }
    if here.is_null() {
        *here = match place {
            Place::List { .. } => Value::Array(Vec::new()),
            Place::Map { .. } => Value::Object(Map::new()),
        };
    }
    here
}

/// A TOML item as JSON (datetimes as their text).
pub fn toml_item_json(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::None => Value::Null,
        toml_edit::Item::Value(v) => toml_value_json(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_item_json(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| toml_item_json(&toml_edit::Item::Table(t.clone())))
                .collect(),
        ),
    }
}

fn toml_value_json(v: &toml_edit::Value) -> Value {
    match v {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => {
            serde_json::Number::from_f64(*f.value()).map_or(Value::Null, Value::Number)
        }
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(toml_value_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_value_json(v)))
                .collect(),
        ),
    }
}

/// A JSON value as a TOML value (objects inline; TOML has no null, so
/// null members are left out).
fn json_toml_value(v: &Value) -> toml_edit::Value {
    match v {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        Value::Array(a) => {
            let mut arr = toml_edit::Array::new();
            for x in a.iter().filter(|x| !x.is_null()) {
                arr.push(json_toml_value(x));
            }
            toml_edit::Value::Array(arr)
        }
        Value::Object(m) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, x) in m.iter().filter(|(_, x)| !x.is_null()) {
                t.insert(k, json_toml_value(x));
            }
            toml_edit::Value::InlineTable(t)
        }
        Value::Null => "".into(),
    }
}

/// The comparable form of an entry: what a round trip through the file's
/// format keeps (TOML drops nulls; numbers compare by value).
pub fn normal(format: Format, v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !(format == Format::Toml && x.is_null()))
                .map(|(k, x)| (k.clone(), normal(format, x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|x| !(format == Format::Toml && x.is_null()))
                .map(|x| normal(format, x))
                .collect(),
        ),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (_, Some(u)) => Value::from(u),
            _ => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
        },
        other => other.clone(),
    }
}

/// Whether two entries say the same, member order aside.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIST: Place = Place::List {
        path: &["model_list"],
        key: "model_name",
        or: None,
    };
    const MAP: Place = Place::Map {
        path: &["model_providers"],
    };

    #[test]
    fn yaml_entries_are_edited_in_place_and_the_rest_kept() {
        let text = "general_settings:\n  master_key: os.environ/K\n  port: 4000\n  ratio: 0.5\nmodel_list:\n- model_name: mine\n  litellm_params: {model: openai/x}\n- model_name: theirs\n  litellm_params: {model: openai/y}\nlitellm_settings: {drop_params: true}\n";
        let mut d = Doc::parse(Format::Yaml, text, json!({})).unwrap();
        assert_eq!(d.keys(LIST), ["mine", "theirs"]);
        d.set(
            LIST,
            "mine",
            &json!({"model_name": "mine", "litellm_params": {"model": "openai/z"}}),
        );
        d.set(LIST, "new", &json!({"model_name": "new"}));
        d.remove(LIST, "theirs");
        let out = d.render();
        assert!(out.contains("  port: 4000\n"), "{out}");
        let back: Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(
            back,
            json!({
                "general_settings": {"master_key": "os.environ/K", "port": 4000, "ratio": 0.5},
                "model_list": [
                    {"model_name": "mine", "litellm_params": {"model": "openai/z"}},
                    {"model_name": "new"}
                ],
                "litellm_settings": {"drop_params": true}
            })
        );
        let keys: Vec<&String> = back.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["general_settings", "model_list", "litellm_settings"]);
    }

    #[test]
    fn yaml_splices_keep_comments_and_layout() {
        let text = "# my proxy\nmodel_list:\n  # mine, by hand\n  - model_name: mine   # keep\n    litellm_params: {model: openai/x}\n\n  # aix's\n  - model_name: a/m\n    litellm_params:\n      model: openai/m\n  - model_name: gone\n    litellm_params: {model: openai/g}\n# settings\nlitellm_settings:\n  drop_params: true # why\n";
        let before = Doc::parse(Format::Yaml, text, json!({})).unwrap();
        let mut next = before.clone();
        next.set(
            LIST,
            "a/m",
            &json!({"model_name": "a/m", "litellm_params": {"model": "openai/m2"}}),
        );
        next.remove(LIST, "gone");
        next.set(
            LIST,
            "new/x",
            &json!({"model_name": "new/x", "litellm_params": {"model": "openai/x", "rpm": 5}}),
        );
        let (Doc::Tree(_, b), Doc::Tree(_, n)) = (&before, &next) else {
            panic!()
        };
        let out = splice_yaml(text, b, n, LIST).unwrap();
        assert_eq!(
            out,
            "# my proxy\nmodel_list:\n  # mine, by hand\n  - model_name: mine   # keep\n    litellm_params: {model: openai/x}\n\n  # aix's\n  - model_name: a/m\n    litellm_params:\n      model: openai/m2\n  - model_name: new/x\n    litellm_params:\n      model: openai/x\n      rpm: 5\n# settings\nlitellm_settings:\n  drop_params: true # why\n"
        );
        // A list at the file's top (llm), a missing key, an empty file.
        let root = Place::List {
            path: &[],
            key: "model_id",
            or: None,
        };
        let t = "# mine\n- model_id: x\n  model_name: y # note\n";
        let b: Value = serde_norway::from_str(t).unwrap();
        let mut n = b.clone();
        n.as_array_mut()
            .unwrap()
            .push(json!({"model_id": "a/b", "model_name": "b"}));
        assert_eq!(
            splice_yaml(t, &b, &n, root).unwrap(),
            "# mine\n- model_id: x\n  model_name: y # note\n- model_id: a/b\n  model_name: b\n"
        );
        let t = "general_settings: {}  # keep\n";
        let b: Value = serde_norway::from_str(t).unwrap();
        let mut n = b.clone();
        n["model_list"] = json!([{"model_name": "a"}]);
        assert_eq!(
            splice_yaml(t, &b, &n, LIST).unwrap(),
            "general_settings: {}  # keep\nmodel_list:\n  - model_name: a\n"
        );
        // The last entry removed: the list says `[]`, comments stay.
        let t = "# top\nmodel_list:  # aix's\n  - model_name: a\n# end\nx: 1\n";
        let b: Value = serde_norway::from_str(t).unwrap();
        let mut n = b.clone();
        n["model_list"] = json!([]);
        assert_eq!(
            splice_yaml(t, &b, &n, LIST).unwrap(),
            "# top\nmodel_list: []  # aix's\n# end\nx: 1\n"
        );
        let t = "# mine\n- model_id: a\n";
        let b: Value = serde_norway::from_str(t).unwrap();
        assert_eq!(
            splice_yaml(t, &b, &json!([]), root).unwrap(),
            "# mine\n[]\n"
        );
        // A flow list is not spliced (the caller writes the whole file).
        let t = "model_list: [{model_name: a}]\n";
        let b: Value = serde_norway::from_str(t).unwrap();
        let mut n = b.clone();
        n["model_list"] = json!([]);
        assert_eq!(splice_yaml(t, &b, &n, LIST), None);
    }

    #[test]
    fn toml_keeps_comments_and_other_tables() {
        let text = "# my codex settings\nmodel = \"o3\"\n\n[model_providers.mine] # by hand\nname = \"Mine\"\nbase_url = \"http://a\"\n\n[model_providers.aix]\nname = \"old\"\n# keep me\nbase_url = \"http://old\"\n";
        let mut d = Doc::parse(Format::Toml, text, Value::Null).unwrap();
        assert_eq!(d.keys(MAP), ["mine", "aix"]);
        d.set(
            MAP,
            "aix",
            &json!({"name": "old", "base_url": "http://new", "http_headers": {"X-T": "t"}}),
        );
        d.set(MAP, "fresh", &json!({"name": "F", "base_url": "http://f"}));
        let out = d.render();
        assert!(
            out.starts_with("# my codex settings\nmodel = \"o3\"\n"),
            "{out}"
        );
        assert!(out.contains("[model_providers.mine] # by hand\n"), "{out}");
        assert!(out.contains("# keep me\n"), "{out}");
        assert!(out.contains("http_headers = { X-T = \"t\" }"), "{out}");
        assert!(!out.contains("[model_providers]\n"), "{out}");
        let d2 = Doc::parse(Format::Toml, &out, Value::Null).unwrap();
        assert_eq!(
            d2.get(MAP, "aix"),
            Some(json!({"name": "old", "base_url": "http://new", "http_headers": {"X-T": "t"}}))
        );
        assert_eq!(d2.get(MAP, "fresh").unwrap()["base_url"], "http://f");
        let mut d3 = d2.clone();
        d3.remove(MAP, "aix");
        assert!(!d3.render().contains("[model_providers.aix]"));
        assert!(d3.render().contains("# by hand"));
    }

    #[test]
    fn a_file_that_is_the_list() {
        let root = Place::List {
            path: &[],
            key: "model_id",
            or: None,
        };
        let mut d = Doc::parse(Format::Yaml, "", json!([])).unwrap();
        d.set(root, "a", &json!({"model_id": "a", "api_base": "http://x"}));
        assert_eq!(d.render(), "- model_id: a\n  api_base: http://x\n");
        assert_eq!(root.id("a"), "a");
        assert_eq!(LIST.id("a"), "model_list/a");
    }

    #[test]
    fn misshapen_containers_are_named() {
        let d = Doc::parse(Format::Yaml, "model_list: {a: 1}\n", json!({})).unwrap();
        assert_eq!(
            d.misshapen(LIST).unwrap(),
            "model_list is a mapping, not a list"
        );
        let d = Doc::parse(Format::Yaml, "- a\n", json!({})).unwrap();
        assert_eq!(
            d.misshapen(LIST).unwrap(),
            "the file is a list, not a mapping"
        );
        let d = Doc::parse(Format::Toml, "model_providers = 3\n", Value::Null).unwrap();
        assert_eq!(
            d.misshapen(MAP).unwrap(),
            "model_providers is integer, not a table"
        );
        assert!(Doc::parse(Format::Json, "{\"a\": 1,}", json!({})).is_err());
    }

    #[test]
    fn syntax_errors_give_a_place_and_never_the_text() {
        let toml = "a = 1\ntoken = \"sk-CANARY\" oops\n";
        let e = Doc::parse(Format::Toml, toml, Value::Null).unwrap_err();
        assert_eq!(e.at, Some((2, 21)));
        assert!(
            !e.message.contains("CANARY") && !e.message.contains('\n'),
            "{e:?}"
        );
        let yaml = "a:\n  - b\n c: \"sk-CANARY\n";
        let e = Doc::parse(Format::Yaml, yaml, json!({})).unwrap_err();
        assert!(e.at.is_some() && !e.message.contains("CANARY"), "{e:?}");
        assert!(!e.message.contains(" at line "), "{e:?}");
        let e = Doc::parse(Format::Json, "{\"k\": \"sk-CANARY\" x}", json!({})).unwrap_err();
        assert_eq!(e.at, Some((1, 19)));
        assert!(!e.message.contains("CANARY"), "{e:?}");
    }
}
