//! The REPL's line-editing helper: tab completion of slash commands,
//! provider names, model names and prompt names; a dimmed hint with the
//! rest of a slash command and its arguments; a coloured prompt.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rustyline::Context;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;

use crate::config::store::Store;
use crate::error::Error;
use crate::http::Client;
use crate::ops::provider as ops;
use crate::provider;
use crate::run::chat::{Choices, Target};
use crate::run::prompt::Prompts;

/// The slash commands: name, arguments, what it does. One a line, as
/// `/help` shows them.
#[rustfmt::skip]
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("help", "", "list these commands"),
    ("provider", "NAME", "switch provider (custom:NAME or a built-in)"),
    ("model", "NAME", "switch model"),
    ("models", "", "list the provider's models"),
    ("system", "[TEXT]", "set (or clear) the system message"),
    ("prompt", "NAME [k=v...]", "send a saved prompt, rendered, as the next message"),
    ("params", "", "show provider, model and options"),
    ("stream", "on|off", "stream answers or wait for them whole"),
    ("reset", "", "start the conversation over"),
    ("history", "", "show the conversation"),
    ("save", "FILE", "save the conversation (.json, else Markdown)"),
    ("retry", "", "send the last message again"),
    ("key", "[KEY]", "store the provider's API key (never kept in history)"),
    ("exit", "", "leave (Ctrl-D works too)"),
];

/// Model lists fetched this session, by provider: `/models` and completion
/// ask a server once.
static MODELS: Mutex<Option<HashMap<String, Vec<String>>>> = Mutex::new(None);

/// The model ids `target`'s provider serves (cached per session).
pub fn fetch_models(target: &Target) -> Result<Vec<String>, Error> {
    let name = target.resolved.provider.name.clone();
    if let Some(m) = MODELS
        .lock()
        .ok()
        .and_then(|c| c.as_ref().and_then(|c| c.get(&name).cloned()))
    {
        return Ok(m);
    }
    let client = Client::new(false).notes(crate::output::notes());
    let items = ops::models(
        &client,
        &target.resolved.provider,
        target.key.as_ref(),
        Duration::from_secs(10),
    )?;
    let ids = ops::model_ids(&items);
    if let Ok(mut cache) = MODELS.lock() {
        cache
            .get_or_insert_with(HashMap::new)
            .insert(name, ids.clone());
    }
    Ok(ids)
}

pub struct Helper {
    store: Store,
    colour: bool,
    provider: Option<String>,
}

impl Helper {
    pub fn new(store: Store, colour: bool) -> Self {
        Helper {
            store,
            colour,
            provider: None,
        }
    }

    /// The provider the session uses now (for model completion).
    pub fn set_provider(&mut self, provider: Option<String>) {
        self.provider = provider;
    }

    fn candidates(&self, command: &str, word: &str) -> Vec<String> {
        let mut all: Vec<String> = match command {
            "provider" => {
                let mut names: Vec<String> = provider::BUILTINS
                    .iter()
                    .map(|b| b.name.to_string())
                    .collect();
                if let Ok(state) = self.store.load() {
                    for name in state.provider_names() {
                        names.push(format!("custom:{name}"));
                        names.push(name.clone());
                    }
                }
                names
            }
            "model" => {
                let choices = Choices {
                    provider: self.provider.clone(),
                    model: Some("-".into()),
                    ..Choices::default()
                };
                self.store
                    .load()
                    .ok()
                    .and_then(|s| choices.resolve(&s).ok())
                    .and_then(|t| fetch_models(&t).ok())
                    .unwrap_or_default()
            }
            "prompt" => Prompts::new(self.store.home())
                .list()
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
            "stream" => vec!["on".into(), "off".into()],
            _ => Vec::new(),
        };
        // An id with control characters (from a server) is never offered:
        // completing it would put them on the terminal.
        all.retain(|c| c.starts_with(word) && !c.chars().any(char::is_control));
        all.sort();
        all.dedup();
        all
    }
}

impl Completer for Helper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let line = &line[..pos];
        let Some(cmd) = line.strip_prefix('/') else {
            return Ok((0, Vec::new()));
        };
        let pair = |s: String| Pair {
            display: s.clone(),
            replacement: s,
        };
        match cmd.split_once(' ') {
            None => Ok((
                1,
                COMMANDS
                    .iter()
                    .filter(|(c, _, _)| c.starts_with(cmd))
                    .map(|(c, _, _)| pair(format!("{c} ")))
                    .collect(),
            )),
            Some((name, rest)) if !rest.contains(' ') => {
                let start = line.len() - rest.len();
                Ok((
                    start,
                    self.candidates(name, rest).into_iter().map(pair).collect(),
                ))
            }
            Some(_) => Ok((pos, Vec::new())),
        }
    }
}

impl Hinter for Helper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() {
            return None;
        }
        let cmd = line.strip_prefix('/')?;
        if cmd.is_empty() || cmd.contains(' ') {
            return None;
        }
        let mut matches = COMMANDS.iter().filter(|(c, _, _)| c.starts_with(cmd));
        let (c, args, _) = matches.next()?;
        if matches.next().is_some() {
            return None;
        }
        let rest = &c[cmd.len()..];
        Some(if args.is_empty() {
            rest.to_string()
        } else {
            format!("{rest} {args}")
        })
    }
}

impl Highlighter for Helper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        if self.colour {
            Cow::Owned(format!("\x1b[1;36m{prompt}\x1b[0m"))
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colour {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for Helper {}

impl rustyline::Helper for Helper {}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::DefaultHistory;

    fn helper() -> (tempfile::TempDir, Helper) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store
            .update(|s| {
                s.put_provider(&provider::Provider::new("local", "http://127.0.0.1:9/v1"));
                Ok(())
            })
            .unwrap();
        let h = Helper::new(store, false);
        (dir, h)
    }

    fn complete(h: &Helper, line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, pairs) = h.complete(line, line.len(), &ctx).unwrap();
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn completes_commands_providers_and_options() {
        let (_d, h) = helper();
        assert_eq!(
            complete(&h, "/pro"),
            (1, vec!["provider ".into(), "prompt ".into()])
        );
        let (start, got) = complete(&h, "/provider cu");
        assert_eq!((start, got), (10, vec!["custom:local".into()]));
        let (_, got) = complete(&h, "/provider o");
        assert_eq!(got, ["openai", "openrouter"]);
        assert_eq!(complete(&h, "/stream o").1, ["off", "on"]);
        assert!(complete(&h, "hello /pro").1.is_empty());
    }

    #[test]
    fn completion_never_offers_ids_with_control_characters() {
        let (_d, mut h) = helper();
        MODELS
            .lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .insert(
                "local".into(),
                vec!["esc\u{1b}]52;c;SGVsbG8=\u{7}x".into(), "esm".into()],
            );
        h.set_provider(Some("local".into()));
        assert_eq!(complete(&h, "/model es").1, ["esm"]);
    }

    #[test]
    fn hints_finish_a_unique_command() {
        let (_d, h) = helper();
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        assert_eq!(h.hint("/syst", 5, &ctx).as_deref(), Some("em [TEXT]"));
        assert_eq!(h.hint("/mode", 5, &ctx), None, "model or models");
        assert_eq!(h.hint("/res", 4, &ctx).as_deref(), Some("et"));
        assert_eq!(h.hint("/pro", 4, &ctx), None, "ambiguous");
        assert_eq!(h.hint("hi", 2, &ctx), None);
    }
}
