//! The command-line flags that set provider fields, made from the field
//! declarations: `provider add` and `provider update` get one flag per
//! declared field (`--model`, `--header`, `--timeout`...), parsed with the
//! field's own rule, so a new field is a new flag without touching the
//! commands. `update` also gets `--no-FLAG` for each optional single value
//! and `--remove-FLAG KEY` for each map.

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use serde_json::Value;

use super::Provider;
use super::fields::{FIELDS, Field, Kind};

/// What the field flags of one command line asked for, in declaration
/// order.
#[derive(Debug, Clone, Default)]
pub struct FieldArgs {
    /// Values to set; a map field appears once per `--FLAG KEY:VALUE`.
    pub set: Vec<(&'static Field, Value)>,
    /// Fields to unset (`--no-FLAG`).
    pub unset: Vec<&'static Field>,
    /// Map entries to remove (`--remove-FLAG KEY`).
    pub remove: Vec<(&'static Field, String)>,
}

/// The field flags of `provider add` (required fields are positional).
#[derive(Debug, Clone, Default)]
pub struct AddFields(pub FieldArgs);

/// The field flags of `provider update`.
#[derive(Debug, Clone, Default)]
pub struct UpdateFields(pub FieldArgs);

fn no_id(f: &Field) -> String {
    format!("no-{}", f.flag.map_or(f.name, |fl| fl.long))
}

fn remove_id(f: &Field) -> String {
    format!("remove-{}", f.flag.map_or(f.name, |fl| fl.long))
}

/// Whether `update` offers `--no-FLAG` for `f`.
fn can_unset(f: &Field) -> bool {
    !f.required && f.default.is_none() && !f.is_map()
}

fn augment(mut cmd: Command, update: bool) -> Command {
    for f in FIELDS {
        let Some(flag) = f.flag else { continue };
        if f.required && !update {
            continue;
        }
        let parser = move |s: &str| f.parse_arg(s);
        let mut arg = Arg::new(f.name)
            .long(flag.long)
            .value_name(flag.value_name)
            .help(flag.help)
            .value_parser(clap::builder::ValueParser::new(parser))
            .action(if f.is_map() {
                ArgAction::Append
            } else {
                ArgAction::Set
            });
        if let Some(short) = flag.short {
            arg = arg.short(short);
        }
        if let Kind::Choice { values, .. } = f.kind {
            let names: Vec<&'static str> = values.iter().map(|(v, _)| *v).collect();
            arg = arg.value_parser(clap::builder::TypedValueParser::map(
                clap::builder::PossibleValuesParser::new(names),
                Value::from,
            ));
        }
        cmd = cmd.arg(arg);
        if !update {
            continue;
        }
        if can_unset(f) {
            let id: &'static str = Box::leak(no_id(f).into_boxed_str());
            cmd = cmd.arg(
                Arg::new(id)
                    .long(id)
                    .action(ArgAction::SetTrue)
                    .conflicts_with(f.name)
                    .help(format!("Unset {}", f.name)),
            );
        }
        if f.is_map() {
            let id: &'static str = Box::leak(remove_id(f).into_boxed_str());
            cmd = cmd.arg(
                Arg::new(id)
                    .long(id)
                    .value_name("KEY")
                    .action(ArgAction::Append)
                    .help(format!(
                        "Remove an entry of {} by name (repeatable)",
                        f.name
                    )),
            );
        }
    }
    cmd
}

fn from_matches(m: &ArgMatches, update: bool) -> FieldArgs {
    let mut out = FieldArgs::default();
    for f in FIELDS {
        if f.flag.is_none() || (f.required && !update) {
            continue;
        }
        if let Some(values) = m.get_many::<Value>(f.name) {
            out.set.extend(values.map(|v| (f, v.clone())));
        }
        if !update {
            continue;
        }
        if can_unset(f) && m.get_flag(&no_id(f)) {
            out.unset.push(f);
        }
        if f.is_map()
            && let Some(keys) = m.get_many::<String>(&remove_id(f))
        {
            out.remove.extend(keys.map(|k| (f, k.clone())));
        }
    }
    out
}

macro_rules! field_args {
    ($ty:ident, $update:expr) => {
        impl FromArgMatches for $ty {
            fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
                Ok($ty(from_matches(m, $update)))
            }
            fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
                self.0 = from_matches(m, $update);
                Ok(())
            }
        }
        impl Args for $ty {
            fn augment_args(cmd: Command) -> Command {
                augment(cmd, $update)
            }
            fn augment_args_for_update(cmd: Command) -> Command {
                augment(cmd, $update)
            }
        }
    };
}

field_args!(AddFields, false);
field_args!(UpdateFields, true);

impl FieldArgs {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.unset.is_empty() && self.remove.is_empty()
    }

    /// Every flag `update` takes, for the "nothing to update" hint.
    pub fn update_flags() -> Vec<String> {
        let mut out = Vec::new();
        for f in FIELDS {
            let Some(flag) = f.flag else { continue };
            out.push(format!("--{}", flag.long));
            if can_unset(f) {
                out.push(format!("--{}", no_id(f)));
            }
            if f.is_map() {
                out.push(format!("--{}", remove_id(f)));
            }
        }
        out
    }

    /// Applies the flags to `p`: removals first, then unsets, then values
    /// (a map entry replaces one of the same name). A removal of an entry
    /// that is not there is an error naming it; `skip_remove` says which
    /// removals were already done another way (a repair of config.json).
    pub fn apply(
        &self,
        p: &mut Provider,
        skip_remove: &dyn Fn(&str) -> bool,
    ) -> Result<(), String> {
        for (f, key) in &self.remove {
            if skip_remove(key) {
                continue;
            }
            let mut map = map_of(f, p);
            let len = map.len();
            map.retain(|k, _| !f.same_key(k, key));
            if map.len() == len {
                return Err(format!(
                    "'{}' has no {} {:?} to remove",
                    p.name,
                    noun(f),
                    crate::output::clip(key, 80)
                ));
            }
            (f.set)(p, Some(&Value::Object(map)));
        }
        for f in &self.unset {
            (f.set)(p, None);
        }
        let mut given: Vec<(&str, &str)> = Vec::new();
        for (f, value) in &self.set {
            match value {
                Value::Object(entries) if f.is_map() => {
                    let mut map = map_of(f, p);
                    for (k, v) in entries {
                        // The same entry twice on one command line is a
                        // mistake, not a replacement.
                        if let Some((_, first)) = given
                            .iter()
                            .find(|(name, g)| *name == f.name && f.same_key(g, k))
                        {
                            return Err(format!(
                                "{} {:?} is given twice (as {:?} too); names ignore case",
                                noun(f),
                                crate::output::clip(k, 80),
                                crate::output::clip(first, 80)
                            ));
                        }
                        given.push((f.name, k));
                        // Replace in place, keeping the order (and the
                        // new spelling of the name).
                        match map.keys().position(|old| f.same_key(old, k)) {
                            Some(i) => {
                                let mut rebuilt = serde_json::Map::new();
                                for (j, (ok, ov)) in map.into_iter().enumerate() {
                                    if j == i {
                                        rebuilt.insert(k.clone(), v.clone());
                                    } else {
                                        rebuilt.insert(ok, ov);
                                    }
                                }
                                map = rebuilt;
                            }
                            None => {
                                map.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    (f.set)(p, Some(&Value::Object(map)));
                }
                v => (f.set)(p, Some(v)),
            }
        }
        Ok(())
    }
}

fn map_of(f: &Field, p: &Provider) -> serde_json::Map<String, Value> {
    match (f.get)(p) {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// What one entry of a map field is called ("header").
fn noun(f: &Field) -> &'static str {
    match f.kind {
        Kind::Map { noun, .. } => noun,
        _ => f.name,
    }
}
