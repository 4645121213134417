//! Server-sent events: bytes in, events out, no I/O.
//!
//! The client reads the socket and feeds whatever arrived to
//! [`Parser::feed`], which calls back once per complete event. Keeping the
//! parser free of I/O makes it testable byte by byte (every split of every
//! input must give the same events) and fuzzable.
//!
//! It follows the WHATWG event-stream rules: lines end in CR, LF or CRLF (a
//! CRLF may be split across two reads), `field: value` with one optional
//! space after the colon, `data` lines joined with `\n`, `:` comments,
//! `event`, `id` and `retry` fields, unknown fields ignored, a blank line
//! dispatching the event, and a leading BOM dropped. One deliberate
//! difference: at the end of the stream a final line or event that was not
//! terminated is still delivered by [`Parser::finish`], so a server that
//! omits the last blank line is not silently cut short.
//!
//! Memory is bounded: only the unfinished line and the current event's
//! data are buffered, each refused past `max_line` bytes. A `data:` line
//! still arriving goes straight into the event's data, and with
//! [`Parser::spill_over`] an event's data past a threshold moves to a
//! [`Spill`] store (the client gives it an unlinked temporary file), so a
//! huge event is not held in memory at all. The parser only calls the
//! store's methods; what the store does is the caller's business.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The default limit on one line and on one event's data (8 MiB).
pub const DEFAULT_MAX_LINE: usize = 8 * 1024 * 1024;

/// One dispatched event. `data` is raw bytes; decoding is the caller's job.
#[derive(Debug)]
pub struct Event<'a> {
    /// The `event:` field, or `"message"` when none was given.
    pub event: &'a str,
    pub data: Data<'a>,
}

/// An event's data: in memory, or in the spill store (read from its start).
pub enum Data<'a> {
    Bytes(&'a [u8]),
    Spilled(&'a mut dyn Spill),
}

impl Data<'_> {
    /// The whole data in memory, read back from the store if it spilled.
    pub fn bytes(&mut self) -> io::Result<std::borrow::Cow<'_, [u8]>> {
        match self {
            Data::Bytes(b) => Ok(std::borrow::Cow::Borrowed(b)),
            Data::Spilled(store) => {
                let mut all = Vec::new();
                store.seek(SeekFrom::Start(0))?;
                store.read_to_end(&mut all)?;
                Ok(std::borrow::Cow::Owned(all))
            }
        }
    }
}

impl fmt::Debug for Data<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Bytes(b) => f
                .debug_tuple("Bytes")
                .field(&String::from_utf8_lossy(b))
                .finish(),
            Data::Spilled(_) => f.write_str("Spilled"),
        }
    }
}

/// Where an event's data goes once it passes the spill threshold: bytes
/// are appended while the event arrives, then read (and sought) by the
/// event's consumer, then cleared for the next one.
pub trait Spill: Read + Seek {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Empties the store.
    fn clear(&mut self) -> io::Result<()>;
}

/// A store in memory (for tests and fuzzing: it exercises the spill path
/// without touching the file system).
#[cfg(any(test, feature = "internals"))]
#[derive(Debug, Default)]
pub struct MemSpill(io::Cursor<Vec<u8>>);

#[cfg(any(test, feature = "internals"))]
impl Read for MemSpill {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

#[cfg(any(test, feature = "internals"))]
impl Seek for MemSpill {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

#[cfg(any(test, feature = "internals"))]
impl Spill for MemSpill {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.get_mut().extend_from_slice(bytes);
        Ok(())
    }
    fn clear(&mut self) -> io::Result<()> {
        self.0.get_mut().clear();
        self.0.set_position(0);
        Ok(())
    }
}

/// Makes the spill store the first time an event needs it.
pub type MakeSpill = Box<dyn FnMut() -> io::Result<Box<dyn Spill>>>;

/// When and where an event's data spills.
struct SpillOver {
    /// Data longer than this spills.
    at: usize,
    make: MakeSpill,
    store: Option<Box<dyn Spill>>,
    /// Making the store failed: events stay in memory.
    failed: bool,
}

/// Why parsing stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// A line (or an event's data) exceeded the limit.
    TooLong { limit: usize },
    /// The callback asked to stop.
    Callback(E),
    /// Writing to (or rewinding) the spill store failed.
    Spill(String),
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooLong { limit } => write!(
                f,
                "an event-stream line is longer than {} MiB; refusing to buffer it",
                limit / (1024 * 1024)
            ),
            Error::Callback(e) => e.fmt(f),
            Error::Spill(e) => write!(f, "cannot hold a large event in a temporary file: {e}"),
        }
    }
}

/// An incremental event-stream parser.
pub struct Parser {
    max_line: usize,
    /// The unfinished line carried over from the previous feed (unless it
    /// is a `data:` line, which goes to the data as it arrives).
    line: Vec<u8>,
    /// A `data:` line still arriving, its value going straight into the
    /// event's data: the line's length so far (field name included), for
    /// the limit. It joins the event when it ends.
    open: Option<usize>,
    /// The event's data while in memory.
    data: Vec<u8>,
    /// The event's data length, wherever it is held.
    data_len: usize,
    has_data: bool,
    spill: Option<SpillOver>,
    /// The event's data is in the spill store, not in `data`.
    spilled: bool,
    event: String,
    last_id: String,
    retry_ms: Option<u64>,
    /// The previous feed ended in CR: a leading LF now belongs to it.
    skip_lf: bool,
    /// Nothing has been seen yet (a BOM may still come).
    at_start: bool,
    /// The name of the last event taken whole from the input: the next
    /// one is nearly always the same, and then needs no UTF-8 check.
    last_name: String,
}

impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("max_line", &self.max_line)
            .field("data_len", &self.data_len)
            .field("spilled", &self.spilled)
            .finish_non_exhaustive()
    }
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(DEFAULT_MAX_LINE)
    }
}

impl Parser {
    pub fn new(max_line: usize) -> Self {
        Parser {
            max_line,
            line: Vec::new(),
            open: None,
            data: Vec::new(),
            data_len: 0,
            has_data: false,
            spill: None,
            spilled: false,
            event: String::new(),
            last_id: String::new(),
            retry_ms: None,
            skip_lf: false,
            at_start: true,
            last_name: String::new(),
        }
    }

    /// Events whose data grows past `at` bytes move it to a store that
    /// `make` creates when first needed (and that is reused after). If
    /// `make` fails, events stay in memory.
    pub fn spill_over(mut self, at: usize, make: MakeSpill) -> Self {
        self.spill = Some(SpillOver {
            at,
            make,
            store: None,
            failed: false,
        });
        self
    }

    #[cfg(any(test, feature = "internals"))]
    /// The last `id:` seen (for reconnection; informational here).
    pub fn last_id(&self) -> &str {
        &self.last_id
    }

    #[cfg(any(test, feature = "internals"))]
    /// The last valid `retry:` value in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Parses `input`, calling `on_event` for each complete event.
    pub fn feed<E>(
        &mut self,
        mut input: &[u8],
        on_event: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), Error<E>> {
        if self.at_start {
            // A BOM may itself arrive split; hold bytes until three are known.
            let mut start = std::mem::take(&mut self.line);
            start.extend_from_slice(input);
            if start.len() < BOM.len() && BOM.starts_with(&start) {
                self.line = start;
                return Ok(());
            }
            self.at_start = false;
            let rest = start.strip_prefix(BOM).unwrap_or(&start);
            return self.feed(rest, on_event);
        }
        if self.skip_lf && !input.is_empty() {
            if input[0] == b'\n' {
                input = &input[1..];
            }
            self.skip_lf = false;
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', input) {
            if let Some(next) = self.whole_event(input, end, on_event)? {
                input = &input[next..];
                continue;
            }
            if let Some(len) = self.open {
                self.check_len(len + end)?;
                self.push_data(&input[..end])?;
                self.close_data_line()?;
            } else if self.line.is_empty() {
                self.process_line(&input[..end], on_event)?;
            } else {
                self.check_len(self.line.len() + end)?;
                self.line.extend_from_slice(&input[..end]);
                let line = std::mem::take(&mut self.line);
                let result = self.process_line(&line, on_event);
                self.line = line;
                self.line.clear();
                result?;
            }
            let mut next = end + 1;
            if input[end] == b'\r' {
                match input.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            input = &input[next..];
        }
        if !input.is_empty() {
            if let Some(len) = self.open {
                self.check_len(len + input.len())?;
                self.push_data(input)?;
                self.open = Some(len + input.len());
            } else {
                self.check_len(self.line.len() + input.len())?;
                self.line.extend_from_slice(input);
                self.open_data_line()?;
            }
        }
        Ok(())
    }

    /// An unfinished line known to be `data:` (and whether one space
    /// follows the colon) starts going straight into the event's data, so
    /// it is held once, and spills if it grows large.
    fn open_data_line<E>(&mut self) -> Result<(), Error<E>> {
        if self.line.len() < 6 || !self.line.starts_with(b"data:") {
            return Ok(());
        }
        let len = self.line.len();
        let line = std::mem::take(&mut self.line);
        let value = &line[5 + usize::from(line[5] == b' ')..];
        let result = if self.has_data {
            self.push_data(b"\n").and_then(|()| self.push_data(value))
        } else {
            self.push_data(value)
        };
        self.line = line;
        self.line.clear();
        result?;
        self.open = Some(len);
        Ok(())
    }

    /// The open `data:` line ended: it joins the event, as a whole line
    /// would (the same limit on the event's data).
    fn close_data_line<E>(&mut self) -> Result<(), Error<E>> {
        self.open = None;
        self.check_len(self.data_len)?;
        self.has_data = true;
        Ok(())
    }

    /// Appends to the event's data, moving it to the spill store when it
    /// grows past the threshold.
    fn push_data<E>(&mut self, bytes: &[u8]) -> Result<(), Error<E>> {
        self.data_len += bytes.len();
        if !self.spilled
            && let Some(s) = &mut self.spill
            && !s.failed
            && self.data.len() + bytes.len() > s.at
        {
            if s.store.is_none() {
                match (s.make)() {
                    Ok(store) => s.store = Some(store),
                    Err(_) => s.failed = true,
                }
            }
            if let Some(store) = &mut s.store {
                store
                    .clear()
                    .and_then(|()| store.append(&self.data))
                    .map_err(|e| Error::Spill(e.to_string()))?;
                self.data.clear();
                self.spilled = true;
            }
        }
        if self.spilled {
            let store = self.spill.as_mut().and_then(|s| s.store.as_mut());
            store
                .expect("a spilled event has a store")
                .append(bytes)
                .map_err(|e| Error::Spill(e.to_string()))
        } else {
            self.data.extend_from_slice(bytes);
            Ok(())
        }
    }

    /// The common case without copying: nothing pending, and `input`
    /// starts with one `data:` line (ending at `end`), or an `event:` line
    /// (ending at `end`) and a `data:` line, and a blank line,
    /// LF or CRLF. Dispatches that event straight from `input`, exactly as
    /// the line-by-line path would, and returns how much was consumed.
    fn whole_event<E>(
        &mut self,
        input: &[u8],
        end: usize,
        on_event: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<Option<usize>, Error<E>> {
        if !self.line.is_empty() || self.open.is_some() || self.has_data || !self.event.is_empty() {
            return Ok(None);
        }
        // An `event: NAME` line first (as the Responses and Messages
        // protocols send every event), ended as the data line is.
        let (name, input, end, offset) = match input[..end].strip_prefix(b"event:") {
            None => ("message", input, end, 0),
            Some(value) => {
                let value = value.strip_prefix(b" ").unwrap_or(value);
                if self.last_name.as_bytes() != value {
                    let Ok(name) = std::str::from_utf8(value) else {
                        return Ok(None);
                    };
                    self.last_name.clear();
                    self.last_name.push_str(name);
                }
                let name = self.last_name.as_str();
                let after = match &input[end..] {
                    [b'\n', b'd', ..] => end + 1,
                    [b'\r', b'\n', b'd', ..] => end + 2,
                    _ => return Ok(None),
                };
                let rest = &input[after..];
                let Some(end2) = memchr::memchr2(b'\n', b'\r', rest) else {
                    return Ok(None);
                };
                // Both lines ended alike: what the line-by-line path
                // would read is then exactly this.
                if (after - end == 2) != (rest[end2] == b'\r') {
                    return Ok(None);
                }
                (
                    if name.is_empty() { "message" } else { name },
                    rest,
                    end2,
                    after,
                )
            }
        };
        let Some(value) = input[..end].strip_prefix(b"data:") else {
            return Ok(None);
        };
        let next = match &input[end..] {
            [b'\n', b'\n', ..] => end + 2,
            [b'\r', b'\n', b'\r', b'\n', ..] => end + 4,
            _ => return Ok(None),
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        self.check_len(value.len())?;
        on_event(Event {
            event: name,
            data: Data::Bytes(value),
        })
        .map_err(Error::Callback)?;
        Ok(Some(offset + next))
    }

    /// Ends the stream: delivers an unterminated last line and event.
    /// Returns whether anything was pending.
    pub fn finish<E>(
        &mut self,
        on_event: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<bool, Error<E>> {
        if self.at_start && !self.line.is_empty() {
            // Fewer than three bytes in the whole stream, all a BOM prefix.
            self.line.clear();
        }
        let mut pending = false;
        if self.open.is_some() {
            self.close_data_line()?;
            pending = true;
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, on_event)?;
            pending = true;
        }
        if self.has_data {
            self.process_line(b"", on_event)?;
            pending = true;
        }
        Ok(pending)
    }

    fn check_len<E>(&self, len: usize) -> Result<(), Error<E>> {
        if len > self.max_line {
            Err(Error::TooLong {
                limit: self.max_line,
            })
        } else {
            Ok(())
        }
    }

    fn process_line<E>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), Error<E>> {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                let extra = usize::from(self.has_data);
                self.check_len(self.data_len + extra + value.len())?;
                if self.has_data {
                    self.push_data(b"\n")?;
                }
                self.push_data(value)?;
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            b"id" if !value.contains(&0) => {
                self.last_id = String::from_utf8_lossy(value).into_owned();
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry_ms = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch<E>(
        &mut self,
        on_event: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), Error<E>> {
        if !self.has_data {
            self.event.clear();
            return Ok(());
        }
        let name = if self.event.is_empty() {
            "message"
        } else {
            &self.event
        };
        let store = self.spill.as_mut().and_then(|s| s.store.as_mut());
        let result = match store {
            Some(store) if self.spilled => match store.seek(SeekFrom::Start(0)) {
                Ok(_) => on_event(Event {
                    event: name,
                    data: Data::Spilled(&mut **store),
                })
                .map_err(Error::Callback),
                Err(e) => Err(Error::Spill(e.to_string())),
            },
            _ => on_event(Event {
                event: name,
                data: Data::Bytes(&self.data),
            })
            .map_err(Error::Callback),
        };
        self.data.clear();
        self.data_len = 0;
        self.has_data = false;
        self.event.clear();
        if self.spilled {
            self.spilled = false;
            if let Some(store) = self.spill.as_mut().and_then(|s| s.store.as_mut()) {
                let cleared = store.clear().map_err(|e| Error::Spill(e.to_string()));
                result?;
                return cleared;
            }
        }
        result
    }
}

/// Parses a whole input at once (for tests, fuzzing and benchmarks):
/// `(event, data)` pairs, or the error.
#[cfg(any(test, feature = "internals"))]
pub fn parse_all(input: &[u8], max_line: usize) -> Result<Vec<(String, Vec<u8>)>, Error<()>> {
    parse_split(input, &[], max_line)
}

/// Parses `input` fed in pieces cut at `cuts` (byte offsets, ascending).
#[cfg(any(test, feature = "internals"))]
pub fn parse_split(
    input: &[u8],
    cuts: &[usize],
    max_line: usize,
) -> Result<Vec<(String, Vec<u8>)>, Error<()>> {
    parse_spilling(input, cuts, max_line, None)
}

/// [`parse_split`], with events whose data passes `spill_at` bytes
/// spilled to a [`MemSpill`] (and read back from it).
#[cfg(any(test, feature = "internals"))]
pub fn parse_spilling(
    input: &[u8],
    cuts: &[usize],
    max_line: usize,
    spill_at: Option<usize>,
) -> Result<Vec<(String, Vec<u8>)>, Error<()>> {
    let mut out = Vec::new();
    let mut parser = Parser::new(max_line);
    if let Some(at) = spill_at {
        parser = parser.spill_over(at, Box::new(|| Ok(Box::new(MemSpill::default()))));
    }
    let mut push = |mut e: Event<'_>| -> Result<(), ()> {
        let data = e.data.bytes().expect("a memory store reads back");
        out.push((e.event.to_string(), data.into_owned()));
        Ok(())
    };
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        parser.feed(&input[start..cut], &mut push)?;
        start = cut;
    }
    parser.finish(&mut push)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &str) -> Vec<(String, String)> {
        parse_all(input.as_bytes(), DEFAULT_MAX_LINE)
            .unwrap()
            .into_iter()
            .map(|(e, d)| (e, String::from_utf8(d).unwrap()))
            .collect()
    }

    fn msg(d: &str) -> (String, String) {
        ("message".into(), d.into())
    }

    /// The corpus every split test and the fuzz replay use.
    pub(crate) const CORPUS: &[&str] = &[
        "data: a\n\n",
        "data:a\n\ndata: b\n\n",
        "data: a\r\n\r\ndata: b\r\n\r\n",
        "data: a\r\rdata: b\r\r",
        "data: line1\ndata: line2\n\n",
        ": comment\ndata: x\n\n",
        "event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\n",
        "id: 7\nretry: 1500\ndata: y\n\n",
        "data\n\n",
        "data:\n\n",
        "data:  two spaces\n\n",
        "foo: bar\ndata: z\n\n",
        "\u{feff}data: bom\n\n",
        "data: [DONE]\n\n",
        "event: ping\n\n",
        "data: tail-without-blank-line\n",
        "data: tail-without-newline",
        "data: {\"choices\":[{\"delta\":{\"content\":\"h\u{e9}llo \u{1F600}\"}}]}\n\ndata: [DONE]\n\n",
        "\n\n\ndata: a\n\n\n\n",
        "data: a\r\n\ndata: b\n\r\n",
        // Event lines before data, as the Responses and Messages protocols
        // send them, in every ending and some odd spellings.
        "event: content_block_delta\ndata: {\"t\":1}\n\nevent: ping\ndata: {}\n\n",
        "event: a\r\ndata: x\r\n\r\nevent:b\r\ndata:y\r\n\r\n",
        "event: a\ndata: x\r\n\r\nevent: b\r\ndata: y\n\n",
        "event:\ndata: unnamed\n\nevent: x:y\ndata: colon\n\n",
        "event: one\nevent: two\ndata: last wins\n\n",
        "event: \u{e9}\ndata: accent\n\nevent: e\ndx: 1\ndata: z\n\n",
    ];

    #[test]
    fn the_basics() {
        assert_eq!(events("data: a\n\n"), [msg("a")]);
        assert_eq!(events("data:a\n\ndata: b\n\n"), [msg("a"), msg("b")]);
        assert_eq!(events("data: a\r\n\r\n"), [msg("a")]);
        assert_eq!(events("data: a\r\r"), [msg("a")]);
        assert_eq!(events("data: 1\ndata: 2\n\n"), [msg("1\n2")]);
        assert_eq!(events(": hi\ndata: x\n\n"), [msg("x")]);
        assert_eq!(events("data\n\n"), [msg("")]);
        assert_eq!(events("data:  two\n\n"), [msg(" two")]);
        assert_eq!(events("foo: bar\ndata: z\n\n"), [msg("z")]);
        assert_eq!(events("\u{feff}data: bom\n\n"), [msg("bom")]);
        assert_eq!(events("event: ping\n\n"), []);
        assert_eq!(
            events("event: error\ndata: e\n\ndata: m\n\n"),
            [("error".into(), "e".into()), msg("m")]
        );
    }

    #[test]
    fn unterminated_tail_is_still_delivered() {
        assert_eq!(events("data: t\n"), [msg("t")]);
        assert_eq!(events("data: t"), [msg("t")]);
        assert_eq!(events(""), []);
        assert_eq!(events("\u{feff}"), []);
    }

    #[test]
    fn id_and_retry_are_recorded() {
        let mut p = Parser::default();
        let mut n = 0;
        p.feed(
            b"id: 7\nretry: 1500\nretry: x\ndata: y\n\n",
            &mut |_| -> Result<(), ()> {
                n += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((p.last_id(), p.retry_ms(), n), ("7", Some(1500), 1));
    }

    #[test]
    fn every_split_gives_the_same_events() {
        for input in CORPUS {
            let bytes = input.as_bytes();
            let whole = parse_all(bytes, DEFAULT_MAX_LINE).unwrap();
            for a in 0..=bytes.len() {
                for b in a..=bytes.len() {
                    let split = parse_split(bytes, &[a, b], DEFAULT_MAX_LINE).unwrap();
                    assert_eq!(split, whole, "{input:?} cut at {a},{b}");
                }
            }
            // And one byte at a time.
            let cuts: Vec<usize> = (1..bytes.len()).collect();
            assert_eq!(parse_split(bytes, &cuts, DEFAULT_MAX_LINE).unwrap(), whole);
        }
    }

    #[test]
    fn long_lines_are_refused_not_buffered() {
        let long = format!("data: {}\n\n", "x".repeat(100));
        assert_eq!(
            parse_all(long.as_bytes(), 64),
            Err(Error::TooLong { limit: 64 })
        );
        // Split so the line builds up across feeds.
        let cuts: Vec<usize> = (1..long.len()).step_by(7).collect();
        assert_eq!(
            parse_split(long.as_bytes(), &cuts, 64),
            Err(Error::TooLong { limit: 64 })
        );
        // Many short data lines still hit the per-event limit.
        let many = "data: 0123456789\n".repeat(10);
        assert!(parse_all(many.as_bytes(), 64).is_err());
        assert!(parse_all(b"data: ok\n\n", 64).is_ok());
    }

    /// Inputs with long and many-line events, for the spill tests.
    fn spill_inputs() -> Vec<String> {
        let mut v: Vec<String> = CORPUS.iter().map(|s| s.to_string()).collect();
        v.push("data: 0123456789abcdef\ndata: x\ndata:\ndata: y\n\nevent: e\ndata: ok\n\n".into());
        v.push("data: first\r\ndata: 0123456789\r\n\r\ndata: tail-0123456789".into());
        v.push(": c\nid: 1\ndata:0123456789\r\rdata: [DONE]\n\n".into());
        v
    }

    #[test]
    fn spilling_gives_the_same_events_for_every_split() {
        for input in spill_inputs() {
            let bytes = input.as_bytes();
            let whole = parse_all(bytes, DEFAULT_MAX_LINE).unwrap();
            for at in [0, 1, 2, 3, 7, 12] {
                let spill = Some(at);
                for a in 0..=bytes.len() {
                    for b in a..=bytes.len() {
                        let split = parse_spilling(bytes, &[a, b], DEFAULT_MAX_LINE, spill);
                        assert_eq!(
                            split.unwrap(),
                            whole,
                            "{input:?} cut at {a},{b}, spill at {at}"
                        );
                    }
                }
                let cuts: Vec<usize> = (1..bytes.len()).collect();
                let split = parse_spilling(bytes, &cuts, DEFAULT_MAX_LINE, spill);
                assert_eq!(
                    split.unwrap(),
                    whole,
                    "{input:?} byte by byte, spill at {at}"
                );
            }
        }
    }

    #[test]
    fn spilling_keeps_the_limits() {
        let long = format!("data: {}\n\n", "x".repeat(100));
        let many = "data: 0123456789\n".repeat(10);
        for input in [long.as_bytes(), many.as_bytes(), b"data: ok\n\n"] {
            let whole = parse_all(input, 64);
            for at in [0, 4, 30] {
                for step in [1, 7, 64] {
                    let cuts: Vec<usize> = (step..input.len()).step_by(step).collect();
                    assert_eq!(parse_spilling(input, &cuts, 64, Some(at)), whole);
                }
            }
        }
    }

    #[test]
    fn a_long_event_moves_to_the_store() {
        let mut p = Parser::new(DEFAULT_MAX_LINE)
            .spill_over(8, Box::new(|| Ok(Box::new(MemSpill::default()))));
        let mut seen = Vec::new();
        let mut on = |e: Event<'_>| -> Result<(), ()> {
            seen.push(matches!(e.data, Data::Spilled(_)));
            Ok(())
        };
        p.feed(b"data: short\n\ndata: 0123", &mut on).unwrap();
        p.feed(b"456789\n\ndata: tiny\n\n", &mut on).unwrap();
        assert_eq!(seen, [false, true, false]);
        // The line in progress was not kept as a line.
        assert!(p.line.capacity() < 64);
        // A store that cannot be made leaves events in memory.
        let mut p = Parser::new(DEFAULT_MAX_LINE)
            .spill_over(2, Box::new(|| Err(io::Error::other("read-only"))));
        let mut got = Vec::new();
        p.feed(
            b"data: 0123456789\n\n",
            &mut |mut e: Event<'_>| -> Result<(), ()> {
                got.push(e.data.bytes().unwrap().into_owned());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, [b"0123456789".to_vec()]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// Random streams from the bytes that matter, cut anywhere, give
        /// the same events and errors spilled or not.
        #[test]
        fn spilled_or_not_the_same(
            data in proptest::collection::vec(proptest::sample::select(b"data: \n\r\n:evt\xef\xbb\xbf0123".to_vec()), 0..80),
            cuts in proptest::collection::vec(0usize..80, 0..4),
            at in 0usize..12,
            limit in 8usize..64,
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let plain = parse_split(&data, &cuts, limit);
            let spilled = parse_spilling(&data, &cuts, limit, Some(at));
            proptest::prop_assert_eq!(spilled, plain);
        }
    }

    #[test]
    fn callback_errors_stop_the_parse() {
        let mut p = Parser::default();
        let mut seen = 0;
        let err = p
            .feed(b"data: 1\n\ndata: 2\n\n", &mut |_| {
                seen += 1;
                Err("stop")
            })
            .unwrap_err();
        assert_eq!((err, seen), (Error::Callback("stop"), 1));
    }
}
