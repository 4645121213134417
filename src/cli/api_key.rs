//! `aix api-key NAME`: store (or remove) a provider's API key.
//!
//! The key is never taken as an argument, where it would land in shell
//! history and `ps`: on a terminal it is read without echo, otherwise as
//! one line of standard input (`pass show x | aix api-key x`).

use std::io::{self, BufRead, IsTerminal, Read};

use super::Ctx;
use crate::error::{Error, Result};
use crate::limits;
use crate::ops::api_key as ops;
use crate::output;
use crate::provider::AuthType;
use crate::secret::Secret;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provider: NAME, custom:NAME or a built-in name
    name: String,
    /// Remove the stored key instead of setting one
    #[arg(long)]
    remove: bool,
    /// Keep the key in the platform's secret store and record
    /// ${keyring:aix/NAME} in config.json (needs the `keyring` build feature)
    #[arg(long, conflicts_with = "remove")]
    keyring: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    // Resolve first so a typo fails before the user types a secret.
    let resolved = ctx.store.load()?.resolve(&args.name)?;
    let name = resolved.provider.name.clone();
    if args.remove {
        if ops::delete_key(&ctx.store, &args.name)? {
            output::status(format!("Removed the API key of '{name}'"));
        } else {
            output::note(format!("'{name}' has no API key stored in config.json"));
        }
        return Ok(());
    }
    let key = read_key(&name)?;
    if args.keyring {
        crate::config::state::check_key_text(key.expose()).map_err(Error::new)?;
        crate::secret::resolve::keyring_store("aix", &name, key.expose())
            .map_err(|e| Error::new(format!("cannot store the key in the secret store: {e}")))?;
        let reference = Secret::new(format!("${{keyring:aix/{name}}}"));
        let slot = ops::store_key(&ctx.store, ops::KeyFor::Spec(&args.name), &reference)?;
        output::status(format!(
            "Saved the API key of '{name}' in the secret store (aix/{name}); config.json records ${{keyring:aix/{name}}} (api_keys.{slot})"
        ));
        return Ok(());
    }
    let slot = ops::store_key(&ctx.store, ops::KeyFor::Spec(&args.name), &key)?;
    output::status(format!(
        "Saved the API key of '{name}' in {} (api_keys.{slot})",
        ctx.store.config_path().display()
    ));
    if resolved.provider.auth_type == AuthType::ApiKey {
        output::note(format!(
            "'{name}' uses auth type api-key, which sends no Authorization header; its headers must carry the credential"
        ));
    }
    Ok(())
}

fn read_key(name: &str) -> Result<Secret> {
    let stdin = io::stdin();
    let raw = if stdin.is_terminal() {
        rpassword::prompt_password(format!("API key for {name}: "))
            .map_err(|e| Error::new(format!("cannot read the key from the terminal: {e}")))?
    } else {
        // One line, capped: `/dev/zero` piped in must not grow memory.
        let mut line = Vec::new();
        stdin
            .lock()
            .take(limits::KEY + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::new(format!("cannot read the key from standard input: {e}")))?;
        if line.len() as u64 > limits::KEY {
            return Err(Error::new(format!(
                "cannot read the key from standard input: the first line is longer than the {} limit; nothing was changed",
                limits::human(limits::KEY)
            ))
            .hint("pipe the key alone, on one line"));
        }
        // A second key after the first is a mistake (which one was
        // meant?): refuse rather than store the first silently.
        let mut rest = Vec::new();
        stdin
            .lock()
            .take(limits::KEY + 1)
            .read_to_end(&mut rest)
            .map_err(|e| Error::new(format!("cannot read the key from standard input: {e}")))?;
        if rest.iter().any(|b| !b.is_ascii_whitespace()) {
            return Err(Error::usage(
                "standard input holds more than one non-empty line; nothing was changed",
            )
            .hint(format!(
                "pipe one key alone: `printf %s \"$KEY\" | aix api-key {name}`"
            )));
        }
        String::from_utf8(line).map_err(|_| {
            Error::new("cannot read the key from standard input: it is not UTF-8 text")
        })?
    };
    let key = raw.trim_end_matches(['\n', '\r']).trim();
    if key.is_empty() {
        return Err(
            Error::new("no API key given; nothing was changed").hint(format!(
                "type it at the prompt, or pipe it: `printf %s \"$KEY\" | aix api-key {name}`"
            )),
        );
    }
    Ok(Secret::new(key))
}
