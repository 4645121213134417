//! Bounded reads of everything that comes from outside.
//!
//! Every file, pipe or stdin aix reads goes through here, so a
//! `/dev/zero`, a runaway pipe or a multi-gigabyte file is refused with a
//! clear error instead of growing memory until the process dies, and a
//! FIFO where a file is expected is refused instead of hanging. The limits
//! are stated in README; they are far above what any real input needs.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use crate::error::Error;

/// config.json (a 20,000-provider config is about 4 MiB).
pub const CONFIG: u64 = 64 << 20;
/// A providers.toml manifest.
pub const MANIFEST: u64 = 64 << 20;
/// A saved prompt file.
pub const PROMPT_FILE: u64 = 8 << 20;
/// Text that goes into a request: a template from `@FILE`, a parameter
/// value from `@FILE`, stdin for `{input}`.
pub const TEXT_INPUT: u64 = 8 << 20;
/// An API key read from stdin or a prompt.
pub const KEY: u64 = 64 << 10;

/// What kind of file is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Only a regular file (after following symlinks): for files aix owns
    /// or that must be files (config.json, saved prompts).
    RegularFile,
    /// Anything readable: a file, a pipe such as `<(cmd)`, `/dev/stdin`.
    /// The size cap still applies.
    Readable,
}

/// "8 MiB", "64 KiB", "512 bytes".
pub fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// The name of a file type that is not a regular file.
fn file_type_name(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Why a bounded read failed.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    NotRegular(&'static str),
    TooLarge(u64),
}

impl ReadError {
    /// The error users see: `WHAT PATH: problem`, with a hint for size.
    pub fn at(self, what: &str, path: &Path) -> Error {
        let path = path.display();
        match self {
            ReadError::Io(e) => Error::new(format!("cannot read {what} {path}: {e}")),
            ReadError::NotRegular(kind) => Error::new(format!(
                "cannot read {what} {path}: it is {kind}, not a regular file"
            )),
            ReadError::TooLarge(max) => Error::new(format!(
                "cannot read {what} {path}: it is larger than the {} limit",
                human(max)
            ))
            .hint("aix refuses inputs that size; see \"Limits\" in README"),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads at most `max` bytes from `reader`; more is an error, never a
/// silent cut.
pub fn read_capped(reader: &mut dyn Read, max: u64) -> Result<Vec<u8>, ReadError> {
    read_capped_sized(reader, max, 0)
}

/// [`read_capped`] into a buffer sized for `expected` bytes up front (the
/// length a file's metadata gave; reading still stops at `max`), so that a
/// large file is not copied from one doubled buffer into the next.
fn read_capped_sized(reader: &mut dyn Read, max: u64, expected: u64) -> Result<Vec<u8>, ReadError> {
    // One byte more than expected, to see the end without growing.
    let mut bytes = Vec::with_capacity(expected.min(max).saturating_add(1) as usize);
    reader.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge(max));
    }
    Ok(bytes)
}

/// Reads the file at `path`, refusing what `accept` does not allow before
/// opening it (so a FIFO never blocks), and anything over `max` bytes.
pub fn read_file(path: &Path, max: u64, accept: Accept) -> Result<Vec<u8>, ReadError> {
    let mut expected = 0;
    if accept == Accept::RegularFile {
        let meta = fs::metadata(path)?;
        if !meta.is_file() {
            return Err(ReadError::NotRegular(file_type_name(&meta)));
        }
        expected = meta.len();
    } else if let Ok(meta) = fs::metadata(path) {
        if meta.is_dir() {
            return Err(ReadError::NotRegular("a directory"));
        }
        if meta.is_file() {
            expected = meta.len();
        }
    }
    let mut file = File::open(path)?;
    read_capped_sized(&mut file, max, expected)
}

/// [`read_file`] as UTF-8 text.
pub fn read_text(path: &Path, max: u64, accept: Accept, what: &str) -> Result<String, Error> {
    let bytes = read_file(path, max, accept).map_err(|e| e.at(what, path))?;
    String::from_utf8(bytes).map_err(|_| {
        Error::new(format!(
            "cannot read {what} {}: it is not UTF-8 text",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_endless_input() {
        let mut zero = io::repeat(0);
        assert!(matches!(
            read_capped(&mut zero, 1024),
            Err(ReadError::TooLarge(1024))
        ));
    }

    #[test]
    fn exact_limit_is_accepted() {
        let mut r: &[u8] = &[7u8; 16];
        assert_eq!(read_capped(&mut r, 16).unwrap().len(), 16);
    }

    #[test]
    fn refuses_special_files_where_a_file_is_expected() {
        let e = read_file(Path::new("/dev/null"), 10, Accept::RegularFile).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular("a character device")));
        let e = read_file(Path::new("/"), 10, Accept::Readable).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular("a directory")));
        // /dev/zero is readable, and capped.
        let e = read_file(Path::new("/dev/zero"), 10, Accept::Readable).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge(10)));
    }

    #[test]
    fn a_file_is_read_into_one_buffer_of_its_size_and_still_capped() {
        let dir = std::env::temp_dir().join(format!("aix-limits-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        fs::write(&path, vec![b'x'; 100_000]).unwrap();
        for accept in [Accept::RegularFile, Accept::Readable] {
            let bytes = read_file(&path, 1 << 20, accept).unwrap();
            assert_eq!(bytes.len(), 100_000);
            // Sized from the metadata: no doubled buffer.
            assert_eq!(bytes.capacity(), 100_001);
            let e = read_file(&path, 99_999, accept).unwrap_err();
            assert!(matches!(e, ReadError::TooLarge(99_999)));
        }
        // A file that grew after its metadata was read is read whole.
        let mut grown: &[u8] = &[1u8; 64];
        assert_eq!(read_capped_sized(&mut grown, 100, 8).unwrap().len(), 64);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(8 << 20), "8 MiB");
        assert_eq!(human(64 << 10), "64 KiB");
        assert_eq!(human(100), "100 bytes");
    }
}
