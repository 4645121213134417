//! `aix import --from TOOL [PATH] [-o FILE]`: another tool's config file
//! as a providers.toml, with a `[targets.TOOL]` table so that `aix apply`
//! owns the entries it finds there instead of writing them again.

use std::io;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::error::{Error, Result};
use crate::limits::{self, Accept, ReadError};
use crate::output;
use crate::targets::{Tool, shown_path};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum From {
    Llm,
    Aichat,
    Litellm,
}

impl From {
    fn tool(self) -> Tool {
        match self {
            From::Llm => Tool::Llm,
            From::Aichat => Tool::Aichat,
            From::Litellm => Tool::Litellm,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  aix import --from llm > providers.toml && aix apply
  aix import --from aichat ~/.config/aichat/config.yaml -o providers.toml
  aix import --from litellm litellm.yaml -o providers.toml --force")]
pub struct Args {
    /// The tool whose config file is read
    #[arg(long, value_enum, value_name = "TOOL")]
    from: From,
    /// Its config file (default: where the tool reads it; LiteLLM has none)
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// Write the manifest to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// With -o, replace FILE when it exists
    #[arg(long, requires = "output")]
    force: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tool = args.from.tool();
    let (path, named) = match (&args.path, tool.default_path()) {
        (Some(p), _) => (std::path::absolute(p).unwrap_or_else(|_| p.clone()), true),
        (None, Some(p)) => (p, false),
        (None, None) => {
            return Err(Error::usage(format!(
                "{} has no usual config file; give its path: aix import --from {} PATH",
                tool.name(),
                tool.name()
            )));
        }
    };
    let what = format!("{}'s config file", tool.name());
    let bytes = match limits::read_file(&path, limits::CONFIG, Accept::RegularFile) {
        Ok(b) => b,
        Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound && !named => {
            return Err(ReadError::Io(e).at(&what, &path).hint(format!(
                "give its path: aix import --from {} PATH",
                tool.name()
            )));
        }
        Err(e) => return Err(e.at(&what, &path)),
    };
    let shown = shown_path(&path);
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::new(format!("{}: not UTF-8 text", path.display())))?;
    let imported = crate::targets::import::import(tool, &shown, &text).map_err(|m| {
        let sep = if m.starts_with(|c: char| c.is_ascii_digit()) {
            ":"
        } else {
            ": "
        };
        Error::new(format!("{}{sep}{m}", path.display()))
    })?;
    if imported.providers.is_empty() {
        for w in &imported.warnings {
            output::warn(w);
        }
        return Err(
            Error::new(format!("{} has no entry aix can import", path.display())).hint(format!(
                "aix imports OpenAI-compatible (and Anthropic) servers from {}'s file",
                tool.name()
            )),
        );
    }
    let (mut manifest, replaced) = crate::plan::manifest::render(&imported.providers);
    manifest.push_str(&format!("\n[targets.{}]\n", tool.name()));
    if named || tool.default_path().is_none() {
        manifest.push_str(&format!("path = {}\n", toml_str(&shown)));
    }
    check(&manifest)?;
    match &args.output {
        Some(out) => write_new(out, &manifest, args.force)?,
        None => output::print(&manifest)?,
    }
    for w in &imported.warnings {
        output::warn(w);
    }
    for (var, what) in &replaced {
        output::warn(format!(
            "{what} holds a literal secret; imported as ${{env:{var}}}: set {var} where you apply it"
        ));
    }
    for n in &imported.notes {
        output::note(n);
    }
    if let Some(out) = &args.output {
        output::status(format!(
            "Wrote {} provider{} to {}",
            imported.providers.len(),
            if imported.providers.len() == 1 {
                ""
            } else {
                "s"
            },
            out.display()
        ));
    }
    Ok(())
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Refuses a manifest `aix validate` would refuse (it never should be).
fn check(manifest: &str) -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| Error::new(format!("cannot check the imported manifest: {e}")))?;
    let file = dir.path().join("providers.toml");
    std::fs::write(&file, manifest)
        .map_err(|e| Error::new(format!("cannot check the imported manifest: {e}")))?;
    let (report, result) = crate::schema::validate::load_manifests(&[file]);
    if let Err(e) = result {
        let first = report
            .problems
            .iter()
            .find(|p| p.severity == crate::schema::validate::Severity::Error)
            .map(|p| format!(": {}", p.message))
            .unwrap_or_default();
        return Err(Error::new(format!(
            "the imported manifest does not validate{first}; nothing was written"
        ))
        .hint(e.message().to_string()));
    }
    Ok(())
}

/// Writes `text` to `path` atomically: a temporary file beside it, renamed
/// over it. An existing file is replaced only with `force`, and never
/// when it is not a regular file.
fn write_new(path: &Path, text: &str, force: bool) -> Result<()> {
    let err =
        |what: &str, e: io::Error| Error::new(format!("cannot {what} {}: {e}", path.display()));
    let mut mode = 0o644;
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => {
            return Err(Error::new(format!(
                "{} exists and is not a regular file; nothing was written",
                path.display()
            )));
        }
        Ok(_) if !force => {
            return Err(
                Error::new(format!("{} exists; nothing was written", path.display()))
                    .hint("--force replaces it"),
            );
        }
        Ok(m) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                mode = m.permissions().mode() & 0o7777;
            }
            #[cfg(not(unix))]
            let _ = m;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err("write", e)),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::new(format!(
            "cannot write {}: its folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    let tmp = crate::config::store::temp_beside(path, text.as_bytes(), Some(mode))
        .map_err(|e| err("write", e))?;
    if force {
        tmp.persist(path).map_err(|e| err("write", e.error))?;
    } else {
        // Refused, not replaced, when the file appeared meanwhile.
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                Error::new(format!("{} exists; nothing was written", path.display()))
                    .hint("--force replaces it")
            } else {
                err("write", e.error)
            }
        })?;
    }
    Ok(())
}
