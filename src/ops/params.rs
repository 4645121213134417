//! Binding a saved prompt's parameters, for `aix run` and the REPL's
//! `/prompt`: load the prompt, parse its template and bind the `key=value`
//! pairs given, through [`crate::run::params::bind`], the same way for both.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::run::params;
use crate::run::prompt::{Prompt, Prompts, Template};

/// A saved prompt with the parameter values given so far.
pub struct Bound {
    pub prompt: Prompt,
    pub template: Template,
    pub values: BTreeMap<String, String>,
}

impl Bound {
    /// The template's parameters, in order of first use.
    pub fn wanted(&self) -> Vec<&str> {
        self.template.params()
    }

    /// The parameters that still have no value.
    pub fn missing(&self) -> Vec<String> {
        self.wanted()
            .into_iter()
            .filter(|p| !self.values.contains_key(*p))
            .map(String::from)
            .collect()
    }
}

impl Bound {
    /// Loads prompt `name` from `home`, with no values yet.
    pub fn load(home: &Path, name: &str) -> Result<Bound> {
        let prompt = Prompts::new(home).load(name)?;
        let template = prompt.parsed()?;
        Ok(Bound {
            prompt,
            template,
            values: BTreeMap::new(),
        })
    }

    /// Binds `pairs` to the parameters (see [`params::bind`]). `flag` is
    /// how the user writes one pair ("--param " or ""), for errors.
    pub fn bind(&mut self, pairs: &[(String, String)], flag: &str) -> Result<()> {
        self.values = params::bind(&self.prompt.name, &self.wanted(), pairs, flag)?;
        Ok(())
    }
}
