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
//! data are buffered, each refused past `max_line` bytes.

use std::fmt;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The default limit on one line and on one event's data (8 MiB).
pub const DEFAULT_MAX_LINE: usize = 8 * 1024 * 1024;

/// One dispatched event. `data` is raw bytes; decoding is the caller's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The `event:` field, or `"message"` when none was given.
    pub event: &'a str,
    pub data: &'a [u8],
}

/// Why parsing stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// A line (or an event's data) exceeded the limit.
    TooLong { limit: usize },
    /// The callback asked to stop.
    Callback(E),
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
        }
    }
}

/// An incremental event-stream parser.
#[derive(Debug)]
pub struct Parser {
    max_line: usize,
    /// The unfinished line carried over from the previous feed.
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    event: String,
    last_id: String,
    retry_ms: Option<u64>,
    /// The previous feed ended in CR: a leading LF now belongs to it.
    skip_lf: bool,
    /// Nothing has been seen yet (a BOM may still come).
    at_start: bool,
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
            data: Vec::new(),
            has_data: false,
            event: String::new(),
            last_id: String::new(),
            retry_ms: None,
            skip_lf: false,
            at_start: true,
        }
    }

    /// The last `id:` seen (for reconnection; informational here).
    pub fn last_id(&self) -> &str {
        &self.last_id
    }

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
            if self.line.is_empty() {
                self.process_line(&input[..end], on_event)?;
            } else {
                self.check_len(self.line.len() + end)?;
                self.line.extend_from_slice(&input[..end]);
                let mut line = std::mem::take(&mut self.line);
                if !self.has_data && line.starts_with(b"data:") {
                    // A long data line becomes the event's data in place,
                    // so it is held once, not twice.
                    line.drain(..5 + usize::from(line.get(5) == Some(&b' ')));
                    self.check_len(line.len())?;
                    self.data = line;
                    self.has_data = true;
                } else {
                    let result = self.process_line(&line, on_event);
                    self.line = line;
                    self.line.clear();
                    result?;
                }
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
            self.check_len(self.line.len() + input.len())?;
            self.line.extend_from_slice(input);
        }
        Ok(())
    }

    /// The common case without copying: nothing pending, and `input`
    /// starts with one `data:` line (ending at `end`) and a blank line,
    /// LF or CRLF. Dispatches that event straight from `input`, exactly as
    /// the line-by-line path would, and returns how much was consumed.
    fn whole_event<E>(
        &mut self,
        input: &[u8],
        end: usize,
        on_event: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<Option<usize>, Error<E>> {
        if !self.line.is_empty() || self.has_data || !self.event.is_empty() {
            return Ok(None);
        }
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
            event: "message",
            data: value,
        })
        .map_err(Error::Callback)?;
        Ok(Some(next))
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
                self.check_len(self.data.len() + extra + value.len())?;
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
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
        let event = Event {
            event: if self.event.is_empty() {
                "message"
            } else {
                &self.event
            },
            data: &self.data,
        };
        let result = on_event(event).map_err(Error::Callback);
        self.data.clear();
        self.has_data = false;
        self.event.clear();
        result
    }
}

/// Parses a whole input at once (for tests, fuzzing and benchmarks):
/// `(event, data)` pairs, or the error.
pub fn parse_all(input: &[u8], max_line: usize) -> Result<Vec<(String, Vec<u8>)>, Error<()>> {
    let mut out = Vec::new();
    let mut parser = Parser::new(max_line);
    let mut push = |e: Event<'_>| -> Result<(), ()> {
        out.push((e.event.to_string(), e.data.to_vec()));
        Ok(())
    };
    parser.feed(input, &mut push)?;
    parser.finish(&mut push)?;
    Ok(out)
}

/// Parses `input` fed in pieces cut at `cuts` (byte offsets, ascending).
pub fn parse_split(
    input: &[u8],
    cuts: &[usize],
    max_line: usize,
) -> Result<Vec<(String, Vec<u8>)>, Error<()>> {
    let mut out = Vec::new();
    let mut parser = Parser::new(max_line);
    let mut push = |e: Event<'_>| -> Result<(), ()> {
        out.push((e.event.to_string(), e.data.to_vec()));
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
