//! Choosing what to talk to: the provider, model, key and request options
//! for a run, from flags, the prompt and config.json's defaults. `aix run`
//! and the REPL both go through [`Choices::resolve`], so they pick the same
//! provider and model for the same inputs.

use std::time::Duration;

use crate::config::state::{Resolved, State};
use crate::error::Error;
use crate::http::{self, ChatRequest, EnvRefs, Message, Prepared};
use crate::provider::fields;
use crate::provider::models::Temperature;
use crate::run::aliases;
use crate::secret::Secret;

/// What the user asked for; anything unset falls back to defaults.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub provider: Option<String>,
    pub model: Option<String>,
    /// The saved prompt's own model, if any.
    pub prompt_model: Option<String>,
    pub stream: Option<bool>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub timeout_secs: Option<u64>,
}

/// A provider and model to send to, with the options for the request.
#[derive(Debug, Clone)]
pub struct Target {
    /// The provider, with the model entry's settings applied.
    pub resolved: Resolved,
    /// The model id sent.
    pub model: String,
    /// The models-table key that chose it, if one did.
    pub model_key: Option<String>,
    /// What the run should tell the user (a setting the model overrides).
    pub notes: Vec<String>,
    /// The alias this target came from, if any.
    pub alias: Option<String>,
    pub key: Option<Secret>,
    pub stream: bool,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub timeout: Duration,
    /// The whole answer's deadline: the provider's `max_time_secs`, else
    /// config.json's, else none (`--max-time` overrides it later).
    pub max_time: Option<Duration>,
    /// How long connecting may take: the provider's
    /// `connect_timeout_secs`, else config.json's, else 10 s.
    pub connect_timeout: Duration,
}

/// The value a run with no overriding flag uses for the provider field
/// `name` on `p` (see [`fields::effective`]), as whole seconds.
fn effective_secs(state: &State, p: &crate::provider::Provider, name: &str) -> Option<u64> {
    let field = fields::field(name).expect("a declared field");
    fields::effective(field, p, &|key| state.setting(key).cloned()).and_then(|(v, _)| v.as_u64())
}

fn setting_str(state: &State, key: &str) -> Option<String> {
    state
        .setting(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.trim().is_empty())
        .map(String::from)
}

impl Choices {
    /// The provider: the choice, else config's `default_provider`, else
    /// `openai`. The model: the choice, else the provider's default, else
    /// the prompt's, else config's `default_model` (only with the default
    /// provider, whose model it is), else an error asking for one.
    ///
    /// A model that names an alias (config.json's `aliases`) runs the
    /// alias's first target; [`Choices::resolve_all`] gives every target.
    pub fn resolve(&self, state: &State) -> Result<Target, Error> {
        let mut all = self.resolve_all(state)?;
        Ok(all.remove(0))
    }

    /// The targets to try in order: one, or an alias's chain. With
    /// `--provider` too, only the alias's targets at that provider (a key
    /// of that provider's models table wins over an alias of that name).
    pub fn resolve_all(&self, state: &State) -> Result<Vec<Target>, Error> {
        let aliases = state.aliases();
        let Some(name) = self.model.as_deref().filter(|m| aliases.contains_key(*m)) else {
            return Ok(vec![self.resolve_one(state)?]);
        };
        if let Some(spec) = &self.provider
            && state.resolve(spec)?.provider.model(name).is_some()
        {
            return Ok(vec![self.resolve_one(state)?]);
        }
        let mut targets = aliases::expand(name, &aliases).map_err(|m| {
            Error::new(format!("config.json: aliases: {m}"))
                .hint("fix it in providers.toml and `aix apply`, or with `aix config set aliases.NAME ...`")
        })?;
        if let Some(spec) = &self.provider {
            let want = spec.strip_prefix("custom:").unwrap_or(spec);
            targets.retain(|t| t.provider == want);
            if targets.is_empty() {
                return Err(Error::usage(format!(
                    "alias '{name}' has no target at provider '{want}'"
                ))
                .hint("leave out --provider to use the alias's own targets"));
            }
        }
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            let one = Choices {
                provider: Some(t.provider.clone()),
                model: Some(t.model.clone()),
                ..self.clone()
            };
            let mut target = one
                .resolve_one(state)
                .map_err(|e| Error::new(format!("alias '{name}': target {t}: {}", e.message())))?;
            target.alias = Some(name.to_string());
            out.push(target);
        }
        Ok(out)
    }

    fn resolve_one(&self, state: &State) -> Result<Target, Error> {
        // Settings this run takes from config.json must be valid there:
        // `temperature: 9` is refused, not sent.
        let from_config = [
            ("max_tokens", self.max_tokens.is_none()),
            ("temperature", self.temperature.is_none()),
            ("streaming", self.stream.is_none()),
            ("timeout_secs", self.timeout_secs.is_none()),
            ("max_time_secs", true),
        ];
        for (key, used) in from_config {
            if used {
                state.checked_setting(key)?;
            }
        }
        let spec = self
            .provider
            .clone()
            .or_else(|| setting_str(state, "default_provider"))
            .unwrap_or_else(|| "openai".into());
        let resolved = state.resolve(&spec)?;
        let p = &resolved.provider;
        let model = self
            .model
            .clone()
            .or_else(|| p.default_model.clone())
            .or_else(|| self.prompt_model.clone())
            .or_else(|| {
                self.provider
                    .is_none()
                    .then(|| setting_str(state, "default_model"))
                    .flatten()
            })
            .ok_or_else(|| {
                Error::usage(format!("no model to use with provider '{}'", p.name))
                    .hint("pass --model MODEL")
                    .hint(format!(
                        "or give the provider a default: `aix config set custom_providers.{}.default_model MODEL`",
                        p.name
                    ))
                    .hint(format!("`aix provider models {}` lists what the server offers", p.name))
            })?;
        let mut stream = self.stream.unwrap_or_else(|| {
            state
                .setting("streaming")
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
        });
        // A key of the provider's models table: its id and its settings.
        let entry = p.model(&model);
        let mut notes = Vec::new();
        let mut temperature = self.temperature;
        let mut resolved = resolved.clone();
        let model = match &entry {
            Some(m) => {
                m.apply(&mut resolved.provider);
                if m.stream == Some(false) && stream {
                    if self.stream == Some(true) {
                        notes.push(format!(
                            "model '{}' of '{}' cannot stream (stream = false): waiting for the whole answer",
                            m.key, resolved.provider.name
                        ));
                    }
                    stream = false;
                }
                match m.temperature {
                    Some(Temperature::Never) => {
                        if temperature.is_some() {
                            notes.push(format!(
                                "model '{}' of '{}' takes no temperature (temperature = false): not sending one",
                                m.key, resolved.provider.name
                            ));
                        }
                        temperature = None;
                    }
                    Some(Temperature::Default(t)) => temperature = temperature.or(Some(t)),
                    None => {}
                }
                m.id.clone()
            }
            None => model,
        };
        let never_temperature = entry
            .as_ref()
            .is_some_and(|m| m.temperature == Some(Temperature::Never));
        let p = &resolved.provider;
        let timeout = Duration::from_secs(
            self.timeout_secs
                .or_else(|| effective_secs(state, p, "timeout_secs"))
                .unwrap_or(http::DEFAULT_TIMEOUT_SECS),
        );
        let max_time = effective_secs(state, p, "max_time_secs").map(Duration::from_secs);
        let connect_timeout = effective_secs(state, p, "connect_timeout_secs")
            .map_or(http::CONNECT_TIMEOUT, Duration::from_secs);
        Ok(Target {
            key: state.api_key(&resolved),
            model,
            model_key: entry.map(|m| m.key),
            stream,
            max_tokens: self
                .max_tokens
                .or_else(|| state.setting("max_tokens").and_then(|v| v.as_u64())),
            temperature: temperature.or_else(|| {
                (!never_temperature)
                    .then(|| state.setting("temperature").and_then(|v| v.as_f64()))
                    .flatten()
            }),
            timeout,
            max_time,
            notes,
            alias: None,
            connect_timeout,
            resolved,
        })
    }
}

impl Target {
    pub fn request(&self, messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            model: self.model.clone(),
            messages,
            stream: self.stream,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
        }
    }

    /// The request prepared for this provider (see [`http::prepare`]).
    pub fn prepare(&self, req: &ChatRequest, env: EnvRefs) -> Result<Prepared, Error> {
        let mut prepared = http::prepare(
            &self.resolved.provider,
            self.key.as_ref(),
            req,
            self.timeout,
            env,
        )?;
        prepared.max_time = self.max_time;
        prepared.connect_timeout = self.connect_timeout;
        Ok(prepared)
    }
}
