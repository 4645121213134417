//! Plans as data: what `aix apply` would change to make config.json match
//! the manifest, and the applying of it.
//!
//! [`plan`] compares [`Provider`] values (never raw JSON), using the
//! ownership records `apply` keeps in config.json: which providers the
//! manifest owns and a fingerprint of what it last applied. That is what
//! lets a plan tell apart a provider the manifest changed (update), one a
//! person edited by hand since (drift), one the manifest never owned
//! (left alone, adopted when equal, a conflict when not), and one that
//! left the manifest (destroyed only if owned). The text renderer, the JSON
//! renderer and [`apply`] all read the same [`Plan`], so what is shown is
//! what is done.

use std::collections::BTreeMap;

use anstyle::{AnsiColor, Style};
use serde_json::{Value, json};

use crate::config::state::{self, Origin, Owned, State};
use crate::plan::manifest::{Location, Manifest};
use crate::provider::fields::{self, Field};
use crate::provider::{Provider, presets};

/// What happens to one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Destroy,
    /// Already equal to the manifest: only ownership is recorded.
    Adopt,
}

impl Action {
    /// Its name in `--json` documents.
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Destroy => "destroy",
            Action::Adopt => "adopt",
        }
    }

    /// The sigil a text plan puts before a change, and its colour.
    pub fn sigil(self) -> (char, Style) {
        match self {
            Action::Create => ('+', AnsiColor::Green.on_default()),
            Action::Update => ('~', AnsiColor::Yellow.on_default()),
            Action::Destroy => ('-', AnsiColor::Red.on_default()),
            Action::Adopt => ('=', AnsiColor::Cyan.on_default()),
        }
    }
}

/// Why a change is what it is, where that matters to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Plain,
    /// Owned, but edited outside aix since the last apply.
    Drift,
    /// Owned, but deleted outside aix: re-created.
    DeletedOutside,
    /// Not owned, and different from the manifest.
    Conflict,
    /// Not owned; destroyed because of `--prune-unowned`.
    Prune,
    /// The entry in config.json does not parse.
    Invalid(String),
}

impl Reason {
    /// Its name in `--json` documents (null for a plain change).
    pub fn json(&self) -> Value {
        match self {
            Reason::Plain => Value::Null,
            Reason::Drift => json!("drift"),
            Reason::DeletedOutside => json!("deleted_outside"),
            Reason::Conflict => json!("conflict"),
            Reason::Prune => json!("prune_unowned"),
            Reason::Invalid(_) => json!("invalid_state"),
        }
    }
}

/// One change in a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub name: String,
    pub action: Action,
    pub reason: Reason,
    /// The provider in config.json now.
    pub before: Option<Provider>,
    /// The provider the manifest wants.
    pub after: Option<Provider>,
    /// Where the manifest declares it.
    pub source: Option<Location>,
    /// For a change to an alias (not a provider): its value in
    /// config.json now and the one the manifest wants.
    pub alias: Option<AliasDiff>,
}

/// An alias's value before and after a change.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasDiff {
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    /// Overwrites or deletes something a person made or edited, so it needs
    /// `--force` (or a yes on a terminal).
    pub fn needs_force(&self) -> bool {
        matches!(
            self.reason,
            Reason::Drift | Reason::Conflict | Reason::Invalid(_)
        )
    }

    fn note(&self) -> Option<String> {
        match &self.reason {
            Reason::Plain => match self.action {
                Action::Destroy => Some("no longer in the manifest".into()),
                Action::Adopt => Some("already matches the manifest; will be owned by it".into()),
                _ => None,
            },
            Reason::Drift if self.action == Action::Destroy => Some(
                "no longer in the manifest, and changed outside aix since the last apply; --force to destroy".into(),
            ),
            Reason::Drift => Some("changed outside aix since the last apply; --force overwrites".into()),
            Reason::DeletedOutside => Some("deleted outside aix; will be re-created".into()),
            Reason::Conflict => Some(
                "exists already, not owned by the manifest, and differs; --force takes it over".into(),
            ),
            Reason::Prune => Some("not owned by the manifest; removed by --prune-unowned".into()),
            Reason::Invalid(m) => Some(format!("its entry in config.json is invalid ({m}); --force replaces it")),
        }
    }
}

/// A plan: the visible changes, plus bookkeeping of ownership records that
/// changes nothing the user sees.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Owned names gone from both the manifest and config.json.
    pub forget: Vec<String>,
    /// Owned, equal providers whose record is out of date.
    pub refresh: Vec<(String, Owned)>,
    /// Owned alias names gone from both the manifest and config.json.
    pub forget_aliases: Vec<String>,
    /// Owned, equal aliases whose recorded source changed.
    pub refresh_aliases: Vec<(String, Value, String)>,
}

/// How many changes of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub adopt: usize,
}

impl Summary {
    /// Counts one more change of `action`.
    pub fn count(&mut self, action: Action) {
        match action {
            Action::Create => self.add += 1,
            Action::Update => self.change += 1,
            Action::Destroy => self.destroy += 1,
            Action::Adopt => self.adopt += 1,
        }
    }

    /// The `summary` of a `--json` plan.
    pub fn to_json(self) -> Value {
        json!({"add": self.add, "change": self.change, "destroy": self.destroy, "adopt": self.adopt})
    }

    /// The `Plan: ...` line.
    pub fn plan_line(&self) -> String {
        let counts = self.counts(["to add", "to change", "to destroy", "to adopt"]);
        format!("Plan: {counts}.")
    }

    /// `1 added, 0 changed, 2 destroyed` with the words given for adds,
    /// changes, destroys and adoptions; adoptions only when there are any.
    pub fn counts(&self, words: [&str; 4]) -> String {
        let [add, change, destroy, adopt] = words;
        let mut line = format!(
            "{} {add}, {} {change}, {} {destroy}",
            self.add, self.change, self.destroy
        );
        if self.adopt > 0 {
            line.push_str(&format!(", {} {adopt}", self.adopt));
        }
        line
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub prune_unowned: bool,
}

/// Equal as definitions: every declared field, map entries in any order.
fn same(a: &Provider, b: &Provider) -> bool {
    fields::same(a, b)
}

/// Computes what applying `manifest` to `state` would do.
pub fn plan(manifest: &Manifest, state: &State, opts: Options) -> Plan {
    let owned = state.owned();
    // Each stored entry is parsed when it is compared, and dropped after:
    // all of them parsed at once were a fifth of a large plan's memory.
    let current = |name: &str| -> Option<Result<Provider, String>> {
        state
            .provider(name)
            .map_err(|e| e.message().to_string())
            .transpose()
    };
    let mut plan = Plan::default();
    for entry in &manifest.entries {
        let want = &entry.provider;
        let name = &want.name;
        let source = entry.at.file.display().to_string();
        let change = |action, reason, before: Option<&Provider>| Change {
            name: name.clone(),
            action,
            reason,
            before: before.cloned(),
            after: Some(want.clone()),
            source: Some(entry.at.clone()),
            alias: None,
        };
        let record = owned.get(name);
        match current(name) {
            None => {
                let reason = if record.is_some() {
                    Reason::DeletedOutside
                } else {
                    Reason::Plain
                };
                plan.changes.push(change(Action::Create, reason, None));
            }
            Some(Err(msg)) => plan
                .changes
                .push(change(Action::Update, Reason::Invalid(msg), None)),
            Some(Ok(ref cur)) => match record {
                Some(rec) if same(cur, want) => {
                    let fresh = Owned {
                        fingerprint: state::fingerprint(want),
                        source: Some(source),
                    };
                    if *rec != fresh {
                        plan.refresh.push((name.clone(), fresh));
                    }
                }
                Some(rec) => {
                    let reason = if state::fingerprint(cur) == rec.fingerprint {
                        Reason::Plain
                    } else {
                        Reason::Drift
                    };
                    plan.changes.push(change(Action::Update, reason, Some(cur)));
                }
                None if same(cur, want) => {
                    plan.changes
                        .push(change(Action::Adopt, Reason::Plain, Some(cur)))
                }
                None => plan
                    .changes
                    .push(change(Action::Update, Reason::Conflict, Some(cur))),
            },
        }
    }
    for (name, rec) in &owned {
        if manifest.get(name).is_some() {
            continue;
        }
        let destroy = |reason, before: Option<&Provider>| Change {
            name: name.clone(),
            action: Action::Destroy,
            reason,
            before: before.cloned(),
            after: None,
            source: None,
            alias: None,
        };
        match current(name) {
            None => plan.forget.push(name.clone()),
            Some(Ok(cur)) if state::fingerprint(&cur) == rec.fingerprint => {
                plan.changes.push(destroy(Reason::Plain, Some(&cur)))
            }
            Some(Ok(cur)) => plan.changes.push(destroy(Reason::Drift, Some(&cur))),
            Some(Err(m)) => plan.changes.push(destroy(Reason::Invalid(m), None)),
        }
    }
    if opts.prune_unowned {
        for name in state.provider_names() {
            if manifest.get(name).is_none() && !owned.contains_key(name) {
                plan.changes.push(Change {
                    name: name.clone(),
                    action: Action::Destroy,
                    reason: Reason::Prune,
                    before: current(name).and_then(Result::ok),
                    after: None,
                    source: None,
                    alias: None,
                });
            }
        }
    }
    plan_aliases(manifest, state, opts, &mut plan);
    // Providers first, then aliases, each by name.
    plan.changes
        .sort_by(|a, b| (a.alias.is_some(), &a.name).cmp(&(b.alias.is_some(), &b.name)));
    plan
}

/// The alias part of a plan: the same ownership rules as for providers,
/// comparing values.
fn plan_aliases(manifest: &Manifest, state: &State, opts: Options, plan: &mut Plan) {
    let current = state.aliases();
    let owned = state.owned_aliases();
    let change = |name: &str,
                  action,
                  reason,
                  before: Option<&Value>,
                  after: Option<&Value>,
                  source: Option<&Location>| Change {
        name: name.to_string(),
        action,
        reason,
        before: None,
        after: None,
        source: source.cloned(),
        alias: Some(AliasDiff {
            before: before.cloned(),
            after: after.cloned(),
        }),
    };
    for a in &manifest.aliases {
        let want = Some(&a.value);
        let record = owned.get(&a.name);
        let at = Some(&a.at);
        match (current.get(&a.name), record) {
            (None, rec) => {
                let reason = if rec.is_some() {
                    Reason::DeletedOutside
                } else {
                    Reason::Plain
                };
                plan.changes
                    .push(change(&a.name, Action::Create, reason, None, want, at));
            }
            (Some(cur), Some(rec)) if *cur == a.value => {
                let source = a.at.file.display().to_string();
                if *rec != a.value || state_alias_source(state, &a.name) != Some(source.clone()) {
                    plan.refresh_aliases
                        .push((a.name.clone(), a.value.clone(), source));
                }
            }
            (Some(cur), Some(rec)) => {
                let reason = if cur == rec {
                    Reason::Plain
                } else {
                    Reason::Drift
                };
                plan.changes
                    .push(change(&a.name, Action::Update, reason, Some(cur), want, at));
            }
            (Some(cur), None) if *cur == a.value => {
                plan.changes.push(change(
                    &a.name,
                    Action::Adopt,
                    Reason::Plain,
                    Some(cur),
                    want,
                    at,
                ));
            }
            (Some(cur), None) => {
                plan.changes.push(change(
                    &a.name,
                    Action::Update,
                    Reason::Conflict,
                    Some(cur),
                    want,
                    at,
                ));
            }
        }
    }
    let declared = |n: &str| manifest.aliases.iter().any(|a| a.name == n);
    for (name, rec) in &owned {
        if declared(name) {
            continue;
        }
        match current.get(name) {
            None => plan.forget_aliases.push(name.clone()),
            Some(cur) => {
                let reason = if cur == rec {
                    Reason::Plain
                } else {
                    Reason::Drift
                };
                plan.changes
                    .push(change(name, Action::Destroy, reason, Some(cur), None, None));
            }
        }
    }
    if opts.prune_unowned {
        for (name, cur) in &current {
            if !declared(name) && !owned.contains_key(name) {
                plan.changes.push(change(
                    name,
                    Action::Destroy,
                    Reason::Prune,
                    Some(cur),
                    None,
                    None,
                ));
            }
        }
    }
}

fn state_alias_source(state: &State, name: &str) -> Option<String> {
    state
        .doc()
        .get(state::OWNERSHIP)
        .and_then(|o| o.get("aliases"))
        .and_then(|a| a.get(name))
        .and_then(|r| r.get("source"))
        .and_then(Value::as_str)
        .map(String::from)
}

impl Plan {
    /// Whether applying would change anything the user can see.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            s.count(c.action);
        }
        s
    }

    /// The changes that overwrite or delete someone's edits.
    pub fn needing_force(&self) -> Vec<&Change> {
        self.changes.iter().filter(|c| c.needs_force()).collect()
    }

    pub fn destroys(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Destroy)
            .collect()
    }

    /// The `Plan: ...` line.
    pub fn summary_line(&self) -> String {
        self.summary().plan_line()
    }

    /// The terraform-style text rendering (styles are dropped by the
    /// output stream when it is not a colour terminal). Everything in it
    /// besides aix's styles is cleaned of control characters.
    pub fn render(&self, show_secrets: bool) -> String {
        if self.is_empty() {
            return "No changes. config.json matches the manifest.\n".into();
        }
        let mut out = String::from("aix will make these changes:\n");
        out.push_str(&self.render_changes(show_secrets));
        out.push('\n');
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    /// The changes' blocks of [`Plan::render`], each after a blank line.
    pub fn render_changes(&self, show_secrets: bool) -> String {
        let mut out = String::new();
        for c in &self.changes {
            let (sigil, style) = c.action.sigil();
            let bold = style.bold();
            let what = if c.alias.is_some() { "alias " } else { "" };
            let name = crate::output::clean(&c.name);
            out.push_str(&format!("\n  {bold}{sigil} {what}{name}{bold:#}"));
            if let Some(note) = c.note() {
                let dim = Style::new().dimmed();
                let note = crate::output::clean(&note);
                out.push_str(&format!("  {dim}({note}){dim:#}"));
            }
            out.push('\n');
            for line in field_lines(c, show_secrets) {
                out.push_str(&format!("      {}\n", crate::output::clean(&line)));
            }
        }
        out
    }

    /// The machine-readable rendering.
    pub fn to_json(&self, show_secrets: bool) -> Value {
        let s = self.summary();
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|c| {
                json!({
                    "kind": if c.alias.is_some() { "alias" } else { "provider" },
                    "name": c.name,
                    "action": c.action.name(),
                    "reason": c.reason.json(),
                    "needs_force": c.needs_force(),
                    "source": c.source.as_ref().map(ToString::to_string),
                    "before": match &c.alias {
                        Some(a) => a.before.clone(),
                        None => c.before.as_ref().map(|p| provider_json(p, show_secrets)),
                    },
                    "after": match &c.alias {
                        Some(a) => a.after.clone(),
                        None => c.after.as_ref().map(|p| provider_json(p, show_secrets)),
                    },
                    "changed_fields": changed_fields(c),
                })
            })
            .collect();
        json!({
            "format_version": "1",
            "changes": changes,
            "summary": s.to_json(),
        })
    }
}

fn provider_json(p: &Provider, show: bool) -> Value {
    fields::shown_json(p, show)
}

/// The single-valued fields as `(name, value)`, present ones only; a
/// value the provider's preset gave says so.
fn scalars(p: &Provider) -> Vec<(&'static str, String)> {
    let preset = p.preset.as_deref().and_then(presets::get);
    fields::display_order()
        .filter(|f| !f.is_table())
        .filter_map(|f| {
            f.value(p).map(|v| {
                let mut text = f.text(&v, true);
                if let Some(pr) = preset.filter(|pr| pr.provides(f, &v)) {
                    text.push_str(&format!(" (preset {})", pr.name));
                }
                (f.name, text)
            })
        })
        .collect()
}

/// A map field's entries as sorted `KEY: VALUE` lines, for a line diff.
fn entry_text(f: &Field, p: &Provider) -> String {
    let mut lines: Vec<String> = match f.value(p) {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) if f.is_map() => format!("{k}: {s}\n"),
                other => format!("{k}: {other}\n"),
            })
            .collect(),
        _ => Vec::new(),
    };
    lines.sort();
    lines.concat()
}

/// The names of the fields that differ.
fn changed_fields(c: &Change) -> Vec<&'static str> {
    match (&c.before, &c.after) {
        (Some(a), Some(b)) => fields::changed(a, b),
        _ => Vec::new(),
    }
}

/// The lines under a change: every field for a create, `old -> new` for
/// each changed field of an update, a line diff (via `similar`) for maps.
fn field_lines(c: &Change, show: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = &c.alias {
        match (c.action, &a.before, &a.after) {
            (Action::Create, _, Some(v)) => out.push(format!("= {v}")),
            (Action::Update, Some(old), Some(new)) => out.push(format!("{old} -> {new}")),
            (Action::Update, None, Some(new)) => out.push(format!("= {new}")),
            _ => {}
        }
        return out;
    }
    let maps = || fields::display_order().filter(|f| f.is_table());
    match (c.action, &c.before, &c.after) {
        (Action::Create, _, Some(p)) | (Action::Update, None, Some(p)) => {
            let values = scalars(p);
            let width = values.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
            for (k, v) in values {
                out.push(format!("{:width$} {v}", format!("{k}:")));
            }
            for f in maps() {
                let Some(Value::Object(m)) = f.value(p) else {
                    continue;
                };
                out.push(format!("{}:", f.name));
                let preset = p.preset.as_deref().and_then(presets::get);
                for (k, v) in &m {
                    let origin = match (preset, v) {
                        (Some(pr), Value::String(s)) if pr.provides_entry(f, k, s) => {
                            format!(" (preset {})", pr.name)
                        }
                        _ => String::new(),
                    };
                    out.push(format!(
                        "  + {k}: {}{origin}",
                        f.entry_value_text(k, v, show)
                    ));
                }
            }
        }
        (Action::Update, Some(a), Some(b)) => {
            let old: BTreeMap<_, _> = scalars(a).into_iter().collect();
            let new: BTreeMap<_, _> = scalars(b).into_iter().collect();
            for f in fields::display_order().filter(|f| !f.is_table()) {
                let (o, n) = (old.get(f.name), new.get(f.name));
                if o != n {
                    let none = "(none)".to_string();
                    out.push(format!(
                        "{}: {} -> {}",
                        f.name,
                        o.unwrap_or(&none),
                        n.unwrap_or(&none)
                    ));
                }
            }
            for f in maps() {
                let (eo, en) = (entry_text(f, a), entry_text(f, b));
                if eo == en {
                    continue;
                }
                out.push(format!("{}:", f.name));
                let diff = similar::TextDiff::from_lines(&eo, &en);
                for change in diff.iter_all_changes() {
                    let sign = match change.tag() {
                        similar::ChangeTag::Delete => '-',
                        similar::ChangeTag::Insert => '+',
                        similar::ChangeTag::Equal => continue,
                    };
                    let line = change.value().trim_end_matches('\n');
                    let (k, v) = line.split_once(": ").unwrap_or((line, ""));
                    out.push(format!("  {sign} {k}: {}", f.entry_text(k, v, show)));
                }
            }
        }
        _ => {}
    }
    out
}

/// Applies `plan` to `state` (inside the store's update, under its lock).
pub fn apply(plan: &Plan, state: &mut State) {
    for c in &plan.changes {
        if let Some(a) = &c.alias {
            match (c.action, &a.after) {
                (Action::Create | Action::Update | Action::Adopt, Some(v)) => {
                    state.set_alias(&c.name, v);
                    let source = c.source.as_ref().map(|l| l.file.display().to_string());
                    state.set_owned_alias(&c.name, v, source.as_deref());
                }
                (Action::Destroy, _) => {
                    state.remove_alias(&c.name);
                    state.remove_owned_alias(&c.name);
                }
                _ => {}
            }
            continue;
        }
        match (c.action, &c.after) {
            (Action::Create | Action::Update | Action::Adopt, Some(p)) => {
                if c.action != Action::Adopt {
                    state.put_provider(p);
                }
                let source = c.source.as_ref().map(|l| l.file.display().to_string());
                state.set_owned(
                    &c.name,
                    &Owned {
                        fingerprint: state::fingerprint(p),
                        source,
                    },
                );
            }
            (Action::Destroy, _) => {
                state.remove_provider(&c.name);
                state.remove_api_key(&c.name, Origin::Custom);
                state.remove_owned(&c.name);
            }
            _ => {}
        }
    }
    for name in &plan.forget {
        state.remove_owned(name);
    }
    state.set_owned_all(
        plan.refresh
            .iter()
            .map(|(name, owned)| (name.as_str(), owned)),
    );
    for name in &plan.forget_aliases {
        state.remove_owned_alias(name);
    }
    for (name, value, source) in &plan.refresh_aliases {
        state.set_owned_alias(name, value, Some(source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::manifest::{Entry, Location};
    use proptest::prelude::*;
    use serde_json::json;

    fn p(name: &str, url: &str) -> Provider {
        Provider::new(name, url)
    }

    fn manifest(ps: &[Provider]) -> Manifest {
        let mut entries: Vec<Entry> = ps
            .iter()
            .map(|p| Entry {
                provider: p.clone(),
                at: Location {
                    file: "m.toml".into(),
                    line: 1,
                    column: 1,
                },
            })
            .collect();
        entries.sort_by(|a, b| a.provider.name.cmp(&b.provider.name));
        Manifest {
            entries,
            aliases: Vec::new(),
            targets: Vec::new(),
        }
    }

    fn applied(m: &Manifest, s: &State, opts: Options) -> State {
        let mut s = s.clone();
        let plan = plan(m, &s, opts);
        apply(&plan, &mut s);
        s
    }

    fn actions(plan: &Plan) -> Vec<(String, Action, Reason)> {
        plan.changes
            .iter()
            .map(|c| (c.name.clone(), c.action, c.reason.clone()))
            .collect()
    }

    #[test]
    fn the_table() {
        let empty = State::default();
        let a = p("a", "http://a");
        let a2 = p("a", "http://a2");
        // Create, then nothing.
        let m = manifest(std::slice::from_ref(&a));
        assert_eq!(
            actions(&plan(&m, &empty, Options::default())),
            [("a".into(), Action::Create, Reason::Plain)]
        );
        let s = applied(&m, &empty, Options::default());
        assert!(plan(&m, &s, Options::default()).is_empty());
        assert_eq!(s.owner("a"), state::Owner::Manifest);
        // Manifest changes: plain update.
        let m2 = manifest(std::slice::from_ref(&a2));
        assert_eq!(
            actions(&plan(&m2, &s, Options::default())),
            [("a".into(), Action::Update, Reason::Plain)]
        );
        // Edited by hand since the apply: drift.
        let mut hand = s.clone();
        hand.put_provider(&p("a", "http://hand"));
        assert_eq!(
            actions(&plan(&m, &hand, Options::default())),
            [("a".into(), Action::Update, Reason::Drift)]
        );
        // Edited by hand back to what the manifest says: nothing visible.
        let mut back = hand.clone();
        back.put_provider(&a);
        assert!(plan(&m, &back, Options::default()).is_empty());
        // Deleted by hand: re-created.
        let mut gone = s.clone();
        gone.remove_provider("a");
        assert_eq!(
            actions(&plan(&m, &gone, Options::default())),
            [("a".into(), Action::Create, Reason::DeletedOutside)]
        );
        // Left the manifest: destroyed; if edited meanwhile, drift.
        let none = manifest(&[]);
        assert_eq!(
            actions(&plan(&none, &s, Options::default())),
            [("a".into(), Action::Destroy, Reason::Plain)]
        );
        assert_eq!(
            actions(&plan(&none, &hand, Options::default())),
            [("a".into(), Action::Destroy, Reason::Drift)]
        );
        // Left both: the record is forgotten quietly.
        let pl = plan(&none, &gone, Options::default());
        assert!(pl.is_empty() && pl.forget == ["a"]);
        // Unowned: left alone, adopted when equal, a conflict when not,
        // destroyed only with prune.
        let mut cli = State::default();
        cli.put_provider(&a);
        assert!(plan(&none, &cli, Options::default()).is_empty());
        assert_eq!(
            actions(&plan(&m, &cli, Options::default())),
            [("a".into(), Action::Adopt, Reason::Plain)]
        );
        assert_eq!(
            actions(&plan(&m2, &cli, Options::default())),
            [("a".into(), Action::Update, Reason::Conflict)]
        );
        let prune = Options {
            prune_unowned: true,
        };
        assert_eq!(
            actions(&plan(&none, &cli, prune)),
            [("a".into(), Action::Destroy, Reason::Prune)]
        );
        // An invalid entry in the state needs force.
        let mut broken = State::default();
        broken.doc_mut().insert(
            "custom_providers".into(),
            json!({"a": {"base_url": "ftp://x"}}),
        );
        let pl = plan(&m, &broken, Options::default());
        assert!(matches!(pl.changes[0].reason, Reason::Invalid(_)) && pl.changes[0].needs_force());
        let fixed = applied(&m, &broken, Options::default());
        assert_eq!(fixed.provider("a").unwrap(), Some(a.clone()));
    }

    #[test]
    fn destroy_takes_the_key_and_keeps_foreign_keys() {
        let a = p("a", "http://a");
        let mut s = State::default();
        s.doc_mut().insert("other".into(), json!(1));
        let s = applied(&manifest(std::slice::from_ref(&a)), &s, Options::default());
        let mut s = s;
        s.set_api_key("a", &crate::secret::Secret::new("k"));
        let s = applied(&manifest(&[]), &s, Options::default());
        assert!(s.stored_key("a", Origin::Custom).is_none());
        assert!(s.owned().is_empty());
        assert_eq!(s.doc()["other"], 1);
    }

    #[test]
    fn rendering_masks_secrets_and_shows_header_changes() {
        let mut old = p("h", "http://h");
        old.headers = vec![
            ("Authorization".into(), "Bearer sk-old-canary".into()),
            ("X-A".into(), "1".into()),
        ];
        let mut new = old.clone();
        new.headers = vec![
            ("Authorization".into(), "Bearer sk-new-canary".into()),
            ("X-B".into(), "2".into()),
        ];
        let s = applied(&manifest(&[old]), &State::default(), Options::default());
        let pl = plan(&manifest(&[new]), &s, Options::default());
        let text = pl.render(false);
        assert!(!text.contains("canary"), "{text}");
        for want in [
            "~ h",
            "- Authorization: (sensitive)",
            "+ Authorization: (sensitive)",
            "- X-A: 1",
            "+ X-B: 2",
            "Plan: 0 to add, 1 to change, 0 to destroy.",
        ] {
            assert!(text.contains(want), "{want:?} in\n{text}");
        }
        let j = pl.to_json(false);
        assert!(!j.to_string().contains("canary"));
        assert_eq!(j["format_version"], "1");
        assert_eq!(j["changes"][0]["changed_fields"], json!(["headers"]));
        assert!(pl.render(true).contains("sk-new-canary"));
    }

    fn arb_provider() -> impl Strategy<Value = Provider> {
        (
            prop::sample::select(vec!["a", "b", "c", "d", "e"]),
            prop::sample::select(vec!["http://x", "http://y/v1", "https://z"]),
            prop::option::of(prop::sample::select(vec!["m1", "m2"])),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["X-A", "X-B"]),
                    prop::sample::select(vec!["1", "2"]),
                ),
                0..2,
            ),
        )
            .prop_map(|(n, u, m, h)| {
                let mut p = Provider::new(n, u);
                p.default_model = m.map(String::from);
                let mut seen = std::collections::BTreeSet::new();
                p.headers = h
                    .into_iter()
                    .filter(|(k, _)| seen.insert(*k))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                p
            })
    }

    fn dedup(ps: Vec<Provider>) -> Vec<Provider> {
        let mut by: BTreeMap<String, Provider> = BTreeMap::new();
        for p in ps {
            by.insert(p.name.clone(), p);
        }
        by.into_values().collect()
    }

    proptest! {
        /// Whatever the state held and whatever was applied before,
        /// applying a manifest leaves nothing to plan.
        #[test]
        fn apply_then_plan_is_no_changes(
            earlier in prop::collection::vec(arb_provider(), 0..5),
            by_hand in prop::collection::vec(arb_provider(), 0..5),
            wanted in prop::collection::vec(arb_provider(), 0..5),
            prune in any::<bool>(),
        ) {
            let opts = Options { prune_unowned: prune };
            let mut s = applied(&manifest(&dedup(earlier)), &State::default(), Options::default());
            for p in by_hand {
                s.put_provider(&p);
            }
            let m = manifest(&dedup(wanted));
            let after = applied(&m, &s, opts);
            let again = plan(&m, &after, opts);
            prop_assert!(again.is_empty(), "{:?}", again.changes);
            prop_assert!(again.forget.is_empty() && again.refresh.is_empty());
            for e in &m.entries {
                let got = after.provider(&e.provider.name).unwrap();
                prop_assert_eq!(got.as_ref(), Some(&e.provider));
            }
        }

        /// Without --prune-unowned, a provider the manifest does not own
        /// is never destroyed.
        #[test]
        fn unowned_providers_survive(
            owned in prop::collection::vec(arb_provider(), 0..5),
            cli in prop::collection::vec(arb_provider(), 0..5),
            wanted in prop::collection::vec(arb_provider(), 0..5),
        ) {
            let mut s = applied(&manifest(&dedup(owned)), &State::default(), Options::default());
            let cli = dedup(cli);
            for p in &cli {
                if !s.has_provider(&p.name) {
                    s.put_provider(p);
                }
            }
            let unowned: Vec<String> = cli.iter().map(|p| p.name.clone()).filter(|n| !s.owned().contains_key(n)).collect();
            let after = applied(&manifest(&dedup(wanted)), &s, Options::default());
            for name in unowned {
                prop_assert!(after.has_provider(&name), "{name} was destroyed");
            }
        }
    }
}
