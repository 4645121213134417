//! Which certificate authorities an https request trusts: the Mozilla
//! roots bundled in the binary, the system's store (or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set), and the provider's own `ca_file`.
//!
//! The bundled and system roots are loaded once per process, and only
//! when an https URL is about to be used: an http:// run never reads them.

use std::collections::HashSet;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::{ClientError, Prepared};
use crate::notes::Notes;
use crate::provider::shaping;

/// A `ca_file` larger than this is refused (a CA bundle is a few hundred
/// KiB at most).
pub(super) const MAX_CA_FILE: u64 = 1024 * 1024;

/// The bundled roots plus the system's, without duplicates, and what went
/// wrong reading an explicit `SSL_CERT_FILE`/`SSL_CERT_DIR` (told once).
struct Base {
    roots: Arc<Vec<Certificate<'static>>>,
    env_problem: Option<String>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let native = rustls_native_certs::load_native_certs();
        let mut seen: HashSet<&[u8]> = HashSet::new();
        let mut roots = Vec::new();
        for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let der: &'static [u8] = der.as_ref();
            if seen.insert(der) {
                roots.push(Certificate::from_der(der));
            }
        }
        for der in &native.certs {
            if seen.insert(der.as_ref()) {
                roots.push(Certificate::from_der(der.as_ref()).to_owned());
            }
        }
        // A system store that cannot be read is not an error (the bundled
        // roots remain); a file the user named explicitly is worth a word.
        let explicit = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        let env_problem = (explicit && !native.errors.is_empty()).then(|| {
            let first = &native.errors[0];
            format!(
                "cannot read the certificates named by SSL_CERT_FILE/SSL_CERT_DIR ({first}); trusting the bundled roots{}",
                if native.certs.is_empty() {
                    ""
                } else {
                    " and what could be read"
                }
            )
        });
        Base {
            roots: Arc::new(roots),
            env_problem,
        }
    })
}

/// The TLS settings for `p`, or `None` for an http:// URL. Reads the
/// provider's `ca_file` (and, the first time, the bundled and system
/// roots); a `ca_file` that cannot be used is an error before anything is
/// sent.
pub(super) fn config(p: &Prepared, notes: &Notes) -> Result<Option<TlsConfig>, ClientError> {
    if !p
        .url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        return Ok(None);
    }
    let base = base();
    if let Some(problem) = &base.env_problem {
        static TOLD: OnceLock<()> = OnceLock::new();
        if TOLD.set(()).is_ok() {
            notes.note(problem.clone());
        }
    }
    let roots = match &p.ca_file {
        None => base.roots.clone(),
        Some(path) => {
            let extra = read_ca_file(path).map_err(|detail| ClientError::CaFile {
                provider: p.provider.clone(),
                path: path.clone(),
                detail,
            })?;
            let mut all = Vec::with_capacity(base.roots.len() + extra.len());
            all.extend(extra);
            all.extend(base.roots.iter().cloned());
            Arc::new(all)
        }
    };
    Ok(Some(
        TlsConfig::builder()
            .root_certs(RootCerts::Specific(roots))
            .build(),
    ))
}

/// The certificates of a PEM file: at most [`MAX_CA_FILE`] bytes, a
/// regular file, at least one certificate.
pub(super) fn read_ca_file(written: &str) -> Result<Vec<Certificate<'static>>, String> {
    let path = shaping::expand_home(written);
    let meta = std::fs::metadata(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".to_string(),
        std::io::ErrorKind::PermissionDenied => "cannot be read (permission denied)".to_string(),
        _ => format!("cannot be read ({e})"),
    })?;
    if !meta.is_file() {
        return Err(if meta.is_dir() {
            "is a directory, not a PEM file".into()
        } else {
            "is not a regular file".into()
        });
    }
    if meta.len() > MAX_CA_FILE {
        return Err(format!(
            "is larger than {} KiB; a CA file holds a few certificates",
            MAX_CA_FILE / 1024
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_CA_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                "cannot be read (permission denied)".to_string()
            }
            _ => format!("cannot be read ({e})"),
        })?;
    if bytes.len() as u64 > MAX_CA_FILE {
        return Err(format!("is larger than {} KiB", MAX_CA_FILE / 1024));
    }
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(format!("is not valid PEM ({e})")),
        }
    }
    if certs.is_empty() {
        return Err("holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_problems() {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        assert_eq!(
            read_ca_file(&p("missing.pem")).unwrap_err(),
            "does not exist"
        );
        assert!(read_ca_file(&p("")).unwrap_err().contains("directory"));
        std::fs::write(p("empty.pem"), "hello\n").unwrap();
        assert!(
            read_ca_file(&p("empty.pem"))
                .unwrap_err()
                .contains("no certificate")
        );
        std::fs::write(p("big.pem"), vec![b'a'; MAX_CA_FILE as usize + 1]).unwrap();
        assert!(read_ca_file(&p("big.pem")).unwrap_err().contains("larger"));
    }

    #[test]
    fn the_base_roots_are_there() {
        assert!(base().roots.len() >= webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() / 2);
    }
}
