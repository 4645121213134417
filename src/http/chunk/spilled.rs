//! Decoding a chunk too large to hold in memory, from the store the SSE
//! parser spilled it to (see `sse::Parser::spill_over`).
//!
//! A huge chunk is one huge text (content, reasoning, refusal or a tool
//! call's arguments) in an ordinary chunk. It is read in passes over the
//! store, none of which holds the text:
//!
//! 1. A walk over the bytes finds each text at its path (in every choice,
//!    as serde reads every choice) and checks it as serde would read it: a
//!    string, valid escapes, paired surrogates, no control characters,
//!    UTF-8. The walk reads strings, brackets and the containers it enters
//!    exactly as JSON does, so on any valid chunk it sees what serde sees.
//! 2. serde then reads the chunk into the same wire structs as a full
//!    parse, with the texts skipped as [`Skip`], and with each text the
//!    walk checked cut down to `""` on the way in (so serde does not read
//!    megabytes byte by byte). Syntax, duplicate keys and every other
//!    field's type are checked as in a full parse; the result is
//!    everything the chunk means except the texts. Cutting a valid string
//!    to another valid string changes nothing serde decides, and where the
//!    walk misread an invalid chunk, serde meets the same invalid bytes
//!    before any text the misreading placed, and fails. What serde found
//!    must agree with what the walk found (a text where serde saw a value
//!    that is not `null`).
//! 3. Only then are the texts of the choice aix shows streamed out,
//!    unescaped, in pieces of about [`PIECE`] bytes cut at character
//!    boundaries.
//!
//! Whenever a pass meets anything it does not expect (a serde error, a key
//! with escapes, a text that is not a plain valid string, a disagreement),
//! [`decode_spilled`] gives up with `None`, and the caller reads the event
//! into memory and decodes it in full: so every result and every error
//! message is a full parse's, and nothing is emitted before the whole
//! chunk is known to be valid. Tests and the fuzz targets compare the two.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use serde::Deserialize;

use super::{ChoiceWire, ChunkWire, Delta, ToolCallDelta, error_text, text};
#[cfg(any(test, feature = "internals"))]
use super::{Item, decode};

/// The most text handed to the sink at once (a piece may be a few bytes
/// longer than this, never more than `PIECE + BUF`).
pub const PIECE: usize = 64 * 1024;
/// The read buffer of each pass.
const BUF: usize = 64 * 1024;

/// Where a JSON string token (quotes included) lies in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u64,
    end: u64,
}

impl Span {
    /// `None` for an empty string: an empty text is no text.
    fn text(span: Option<Span>) -> Option<Span> {
        span.filter(|s| s.end - s.start > 2)
    }
}

/// A spilled chunk, decoded: what it means except its texts, and where
/// each text lies (for [`stream_text`]).
#[derive(Debug, Default)]
pub struct Spilled {
    /// Everything but `content`, `reasoning`, `refusal` and the tool
    /// calls' `arguments`, which are `None` here.
    pub delta: Delta<'static>,
    pub content: Option<Span>,
    pub reasoning: Option<Span>,
    pub refusal: Option<Span>,
    /// The arguments of each of `delta.tool_calls`.
    pub arguments: Vec<Option<Span>>,
}

/// A value read and thrown away, as serde ignores an unknown field (a
/// string is not buffered).
#[derive(Debug, Default)]
pub(super) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Skip)
    }
}

/// Decodes the chunk in `src` without holding its texts, or `None` when
/// it must be read into memory and decoded by `decode` instead (it is not
/// a JSON object, it is invalid, or it has a shape this path leaves to a
/// full parse). Errors are the store's.
pub fn decode_spilled<R: Read + Seek + ?Sized>(src: &mut R) -> io::Result<Option<Spilled>> {
    // `[DONE]` and anything else that is not an object go to `decode`.
    src.seek(SeekFrom::Start(0))?;
    {
        let mut r = BufReader::with_capacity(BUF, &mut *src);
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) if buf[i] == b'{' => break,
                Some(_) => return Ok(None),
                None => {
                    let n = buf.len();
                    r.consume(n);
                }
            }
        }
    }
    // Pass 1: find and check the texts.
    src.seek(SeekFrom::Start(0))?;
    let mut scan = Scan {
        r: BufReader::with_capacity(BUF, &mut *src),
        pos: 0,
        texts: Vec::new(),
    };
    let found = match scan.chunk() {
        Ok(found) => found,
        Err(Stop::Io(e)) => return Err(e),
        Err(_) => return Ok(None),
    };
    let texts = scan.texts;
    // Pass 2: serde, the texts cut to "" and skipped.
    src.seek(SeekFrom::Start(0))?;
    let wire = {
        let cut = Cut {
            src: &mut *src,
            pos: 0,
            texts: &texts,
            next: 0,
        };
        let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(BUF, cut));
        match ChunkWire::<'static, Skip>::deserialize(&mut de).and_then(|w| de.end().map(|()| w)) {
            Ok(w) => w,
            Err(_) => return Ok(None),
        }
    };
    let mut choices = wire.choices.unwrap_or_default();
    if !agrees(&choices, &found) {
        return Ok(None);
    }
    let mut out = Spilled {
        delta: Delta {
            usage: wire.usage,
            error: wire.error.as_ref().and_then(error_text),
            ..Delta::default()
        },
        ..Spilled::default()
    };
    if let Some(k) = choices.iter().position(|c| c.index == 0) {
        let choice = choices.swap_remove(k);
        let f = &found[k];
        out.delta.finish_reason = choice.finish_reason.map(|t| t.0);
        if let Some(d) = choice.delta {
            out.content = Span::text(f.content);
            out.reasoning = Span::text(if d.reasoning_content.is_some() {
                f.reasoning_content
            } else {
                f.reasoning
            });
            out.refusal = Span::text(f.refusal);
            for (t, ft) in d.tool_calls.into_iter().flatten().zip(&f.tools) {
                let name = t.function.and_then(|f| f.name);
                out.delta.tool_calls.push(ToolCallDelta {
                    index: t.index,
                    id: text(t.id),
                    name: text(name),
                    arguments: None,
                });
                out.arguments.push(Span::text(ft.arguments));
            }
        }
    }
    Ok(Some(out))
}

/// The store with the inside of each text's string left out (each reads
/// as `""`): `texts` are in order and apart.
struct Cut<'a, R: ?Sized> {
    src: &'a mut R,
    pos: u64,
    texts: &'a [Span],
    /// The next text to leave out.
    next: usize,
}

impl<R: Read + Seek + ?Sized> Read for Cut<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(span) = self.texts.get(self.next) else {
                let n = self.src.read(buf)?;
                self.pos += n as u64;
                return Ok(n);
            };
            // Keep the opening quote, leave out up to the closing one.
            let (from, to) = (span.start + 1, span.end - 1);
            if self.pos >= from {
                if self.pos < to {
                    self.src.seek(SeekFrom::Start(to))?;
                    self.pos = to;
                }
                self.next += 1;
                continue;
            }
            let room = usize::try_from(from - self.pos).unwrap_or(usize::MAX);
            let n = buf.len().min(room);
            let n = self.src.read(&mut buf[..n])?;
            self.pos += n as u64;
            return Ok(n);
        }
    }
}

/// Whether the walk found a text exactly where serde found a value that
/// is not `null`.
fn agrees(choices: &[ChoiceWire<'_, Skip>], found: &[FoundChoice]) -> bool {
    choices.len() == found.len()
        && choices.iter().zip(found).all(|(c, f)| match &c.delta {
            None => !f.delta,
            Some(d) => {
                let calls = d.tool_calls.as_deref().unwrap_or_default();
                f.delta
                    && d.content.is_some() == f.content.is_some()
                    && d.reasoning_content.is_some() == f.reasoning_content.is_some()
                    && d.reasoning.is_some() == f.reasoning.is_some()
                    && d.refusal.is_some() == f.refusal.is_some()
                    && calls.len() == f.tools.len()
                    && calls.iter().zip(&f.tools).all(|(t, ft)| match &t.function {
                        None => !ft.function,
                        Some(func) => {
                            ft.function && func.arguments.is_some() == ft.arguments.is_some()
                        }
                    })
            }
        })
}

/// Why streaming a text stopped.
#[derive(Debug)]
pub enum TextError {
    /// Reading the store failed (or it no longer holds a valid text).
    Read(io::Error),
    /// The sink refused a piece.
    Sink(io::Error),
}

/// Streams the text at `span` (found by [`decode_spilled`]) unescaped to
/// `out`, in pieces cut at character boundaries.
pub fn stream_text<R: Read + Seek + ?Sized>(
    src: &mut R,
    span: Span,
    out: &mut dyn FnMut(&str) -> io::Result<()>,
) -> Result<(), TextError> {
    src.seek(SeekFrom::Start(span.start))
        .map_err(TextError::Read)?;
    let mut scan = Scan {
        r: BufReader::with_capacity(BUF, &mut *src),
        pos: span.start,
        texts: Vec::new(),
    };
    let stopped = |s: Stop| match s {
        Stop::Io(e) => TextError::Read(e),
        Stop::Sink(e) => TextError::Sink(e),
        Stop::Unusual => TextError::Read(io::Error::new(
            io::ErrorKind::InvalidData,
            "the stored event changed while it was read",
        )),
    };
    scan.expect(b'"').map_err(stopped)?;
    scan.string(out).map_err(stopped)
}

#[cfg(any(test, feature = "internals"))]
impl Spilled {
    /// The whole delta, its texts read into memory (for tests and fuzzing).
    pub fn materialize<R: Read + Seek + ?Sized>(self, src: &mut R) -> io::Result<Delta<'static>> {
        let mut read = |span: Option<Span>| -> io::Result<Option<std::borrow::Cow<'static, str>>> {
            let Some(span) = span else { return Ok(None) };
            let mut all = String::new();
            stream_text(src, span, &mut |piece| {
                all.push_str(piece);
                Ok(())
            })
            .map_err(|e| match e {
                TextError::Read(e) | TextError::Sink(e) => e,
            })?;
            Ok(Some(all.into()))
        };
        let mut d = self.delta;
        d.content = read(self.content)?;
        d.reasoning = read(self.reasoning)?;
        d.refusal = read(self.refusal)?;
        for (t, span) in d.tool_calls.iter_mut().zip(self.arguments) {
            t.arguments = read(span)?;
        }
        Ok(d)
    }
}

/// What a stored chunk decodes to, by the spilled path where it applies
/// and by reading it into memory where not: always what `decode` gives
/// (for tests and fuzzing).
#[cfg(any(test, feature = "internals"))]
pub fn decode_stored<R: Read + Seek + ?Sized>(
    src: &mut R,
) -> io::Result<Result<Item<'static>, serde_json::Error>> {
    if let Some(s) = decode_spilled(src)? {
        return Ok(Ok(Item::Delta(s.materialize(src)?)));
    }
    let mut all = Vec::new();
    src.seek(SeekFrom::Start(0))?;
    src.read_to_end(&mut all)?;
    Ok(decode(&all).map(|item| match item {
        Item::Done => Item::Done,
        Item::Delta(d) => Item::Delta(d.into_owned()),
    }))
}

/// The texts the walk found in one choice (`None`: absent or `null`).
#[derive(Debug, Default)]
struct FoundChoice {
    /// A `delta` that is not `null`.
    delta: bool,
    content: Option<Span>,
    reasoning_content: Option<Span>,
    reasoning: Option<Span>,
    refusal: Option<Span>,
    tools: Vec<FoundTool>,
}

#[derive(Debug, Default)]
struct FoundTool {
    /// A `function` that is not `null`.
    function: bool,
    arguments: Option<Span>,
}

/// Why the walk stopped.
#[derive(Debug)]
enum Stop {
    /// Something this path leaves to a full parse.
    Unusual,
    Io(io::Error),
    Sink(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Io(e)
    }
}

/// The longest key compared; longer keys are none of the ones read.
const KEY_MAX: usize = 32;

/// A key as read: its bytes (up to `KEY_MAX`) and whether it was longer.
struct Key {
    bytes: [u8; KEY_MAX],
    len: usize,
    long: bool,
}

impl Key {
    fn is(&self, name: &str) -> bool {
        !self.long && &self.bytes[..self.len] == name.as_bytes()
    }
}

/// A forward reader over the store that knows its offset.
struct Scan<R> {
    r: R,
    pos: u64,
    /// Every text found, in order.
    texts: Vec<Span>,
}

impl<R: BufRead> Scan<R> {
    fn peek(&mut self) -> Result<Option<u8>, Stop> {
        Ok(self.r.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        self.r.consume(1);
        self.pos += 1;
    }

    fn next(&mut self) -> Result<u8, Stop> {
        let b = self.peek()?.ok_or(Stop::Unusual)?;
        self.bump();
        Ok(b)
    }

    fn expect(&mut self, want: u8) -> Result<(), Stop> {
        if self.next()? == want {
            Ok(())
        } else {
            Err(Stop::Unusual)
        }
    }

    fn ws(&mut self) -> Result<(), Stop> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek()? {
            self.bump();
        }
        Ok(())
    }

    /// Inside a container whose opener was read: whether another member
    /// follows (its separator read), or the container ended.
    fn more(&mut self, close: u8, first: &mut bool) -> Result<bool, Stop> {
        self.ws()?;
        if std::mem::take(first) {
            if self.peek()? == Some(close) {
                self.bump();
                return Ok(false);
            }
            return Ok(true);
        }
        match self.next()? {
            b',' => {
                self.ws()?;
                Ok(true)
            }
            c if c == close => Ok(false),
            _ => Err(Stop::Unusual),
        }
    }

    /// A key and its colon. A key with escapes is unusual: serde compares
    /// keys unescaped.
    fn key(&mut self) -> Result<Key, Stop> {
        self.expect(b'"')?;
        let mut key = Key {
            bytes: [0; KEY_MAX],
            len: 0,
            long: false,
        };
        loop {
            match self.next()? {
                b'"' => break,
                b'\\' => return Err(Stop::Unusual),
                b if key.len < KEY_MAX => {
                    key.bytes[key.len] = b;
                    key.len += 1;
                }
                _ => key.long = true,
            }
        }
        self.ws()?;
        self.expect(b':')?;
        self.ws()?;
        Ok(key)
    }

    /// Reads `null` if it is next.
    fn null(&mut self) -> Result<bool, Stop> {
        if self.peek()? != Some(b'n') {
            return Ok(false);
        }
        for &b in b"null" {
            self.expect(b)?;
        }
        Ok(true)
    }

    /// The whole chunk (an object), then the end of the input.
    fn chunk(&mut self) -> Result<Vec<FoundChoice>, Stop> {
        self.ws()?;
        self.expect(b'{')?;
        let mut choices = None;
        let mut first = true;
        while self.more(b'}', &mut first)? {
            let key = self.key()?;
            if key.is("choices") {
                if choices.is_some() {
                    return Err(Stop::Unusual);
                }
                let mut found = Vec::new();
                if !self.null()? {
                    self.expect(b'[')?;
                    let mut first = true;
                    while self.more(b']', &mut first)? {
                        found.push(self.choice()?);
                    }
                }
                choices = Some(found);
            } else {
                self.skip_value()?;
            }
        }
        self.ws()?;
        if self.peek()?.is_some() {
            return Err(Stop::Unusual);
        }
        Ok(choices.unwrap_or_default())
    }

    fn choice(&mut self) -> Result<FoundChoice, Stop> {
        let mut found = FoundChoice::default();
        let mut seen = false;
        self.expect(b'{')?;
        let mut first = true;
        while self.more(b'}', &mut first)? {
            let key = self.key()?;
            if key.is("delta") {
                if std::mem::replace(&mut seen, true) {
                    return Err(Stop::Unusual);
                }
                if !self.null()? {
                    self.delta(&mut found)?;
                }
            } else {
                self.skip_value()?;
            }
        }
        Ok(found)
    }

    fn delta(&mut self, found: &mut FoundChoice) -> Result<(), Stop> {
        found.delta = true;
        let mut seen = [false; 5];
        self.expect(b'{')?;
        let mut first = true;
        while self.more(b'}', &mut first)? {
            let key = self.key()?;
            let field = if key.is("content") {
                0
            } else if key.is("reasoning_content") {
                1
            } else if key.is("reasoning") {
                2
            } else if key.is("refusal") {
                3
            } else if key.is("tool_calls") {
                4
            } else {
                self.skip_value()?;
                continue;
            };
            if std::mem::replace(&mut seen[field], true) {
                return Err(Stop::Unusual);
            }
            match field {
                0 => found.content = self.text()?,
                1 => found.reasoning_content = self.text()?,
                2 => found.reasoning = self.text()?,
                3 => found.refusal = self.text()?,
                _ => {
                    if !self.null()? {
                        self.expect(b'[')?;
                        let mut first = true;
                        while self.more(b']', &mut first)? {
                            found.tools.push(self.tool()?);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn tool(&mut self) -> Result<FoundTool, Stop> {
        let mut found = FoundTool::default();
        let mut seen = false;
        self.expect(b'{')?;
        let mut first = true;
        while self.more(b'}', &mut first)? {
            let key = self.key()?;
            if !key.is("function") {
                self.skip_value()?;
                continue;
            }
            if std::mem::replace(&mut seen, true) {
                return Err(Stop::Unusual);
            }
            if self.null()? {
                continue;
            }
            found.function = true;
            let mut seen_args = false;
            self.expect(b'{')?;
            let mut first = true;
            while self.more(b'}', &mut first)? {
                let key = self.key()?;
                if key.is("arguments") {
                    if std::mem::replace(&mut seen_args, true) {
                        return Err(Stop::Unusual);
                    }
                    found.arguments = self.text()?;
                } else {
                    self.skip_value()?;
                }
            }
        }
        Ok(found)
    }

    /// A text: `null`, or a string checked as serde reads it.
    fn text(&mut self) -> Result<Option<Span>, Stop> {
        if self.null()? {
            return Ok(None);
        }
        let start = self.pos;
        self.expect(b'"')?;
        self.string(&mut |_| Ok(()))?;
        let span = Span {
            start,
            end: self.pos,
        };
        self.texts.push(span);
        Ok(Some(span))
    }

    /// Skips a value (serde checks it in pass 2).
    fn skip_value(&mut self) -> Result<(), Stop> {
        let mut depth = 0usize;
        loop {
            match self.peek()?.ok_or(Stop::Unusual)? {
                b'"' => {
                    self.bump();
                    self.skip_string()?;
                }
                b'{' | b'[' => {
                    self.bump();
                    depth += 1;
                }
                b'}' | b']' => {
                    self.bump();
                    depth = depth.checked_sub(1).ok_or(Stop::Unusual)?;
                }
                _ if depth == 0 => {
                    // A scalar: letters, digits and `+-.` only, so that
                    // the walk never reads a quote or bracket as part of
                    // one (serde checks the scalar itself).
                    let mut any = false;
                    while let Some(b) = self.peek()? {
                        if !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) {
                            break;
                        }
                        self.bump();
                        any = true;
                    }
                    if !any {
                        return Err(Stop::Unusual);
                    }
                }
                _ => self.bump(),
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// Skips the rest of a string (after its opening quote).
    fn skip_string(&mut self) -> Result<(), Stop> {
        loop {
            let (n, stop) = {
                let buf = self.r.fill_buf()?;
                if buf.is_empty() {
                    return Err(Stop::Unusual);
                }
                match memchr::memchr2(b'"', b'\\', buf) {
                    Some(i) => (i + 1, Some(buf[i])),
                    None => (buf.len(), None),
                }
            };
            self.r.consume(n);
            self.pos += n as u64;
            match stop {
                Some(b'"') => return Ok(()),
                Some(_) => {
                    self.next()?;
                }
                None => {}
            }
        }
    }

    /// Reads the rest of a string (after its opening quote) as serde does,
    /// handing its text to `out` in pieces of about [`PIECE`] bytes cut at
    /// character boundaries. What serde would refuse (a control character,
    /// a bad escape, a lone surrogate, invalid UTF-8) is unusual.
    fn string(&mut self, out: &mut dyn FnMut(&str) -> io::Result<()>) -> Result<(), Stop> {
        let mut text: Vec<u8> = Vec::new();
        loop {
            // As much of the buffer as can be read in place: runs of plain
            // bytes, and escapes wholly inside it.
            let (n, stop) = {
                let buf = self.r.fill_buf()?;
                if buf.is_empty() {
                    return Err(Stop::Unusual);
                }
                let mut i = 0;
                loop {
                    let end = i + special(&buf[i..]);
                    let run = &buf[i..end];
                    // (A fold, not `any`, so that the check is vectorised.)
                    if run.iter().fold(false, |c, &b| c | (b < 0x20)) {
                        return Err(Stop::Unusual);
                    }
                    text.extend_from_slice(run);
                    i = end;
                    if text.len() >= PIECE {
                        flush(&mut text, out, false)?;
                    }
                    match buf.get(i) {
                        None => break (i, None),
                        Some(b'"') => break (i + 1, Some(b'"')),
                        Some(_) => match escape_in(&buf[i + 1..], &mut text) {
                            Some(len) => i += 1 + len,
                            // Cut by the buffer's end (or invalid): the
                            // slow path below reads it byte by byte.
                            None => break (i + 1, Some(b'\\')),
                        },
                    }
                }
            };
            self.r.consume(n);
            self.pos += n as u64;
            if text.len() >= PIECE {
                flush(&mut text, out, false)?;
            }
            match stop {
                None => {}
                Some(b'"') => return flush(&mut text, out, true),
                Some(_) => self.escape(&mut text)?,
            }
        }
    }

    /// One escape (after its backslash), as serde reads it in a string.
    fn escape(&mut self, text: &mut Vec<u8>) -> Result<(), Stop> {
        let e = self.next()?;
        if let Some(b) = simple_escape(e) {
            text.push(b);
            return Ok(());
        }
        match e {
            b'u' => {
                let n = self.hex4()?;
                let c = match n {
                    0xD800..=0xDBFF => {
                        self.expect(b'\\')?;
                        self.expect(b'u')?;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(Stop::Unusual);
                        }
                        0x1_0000 + ((u32::from(n) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(Stop::Unusual),
                    n => u32::from(n),
                };
                let c = char::from_u32(c).ok_or(Stop::Unusual)?;
                text.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                Ok(())
            }
            _ => Err(Stop::Unusual),
        }
    }

    fn hex4(&mut self) -> Result<u16, Stop> {
        let mut n = 0u16;
        for _ in 0..4 {
            let d = char::from(self.next()?).to_digit(16).ok_or(Stop::Unusual)?;
            n = (n << 4) | d as u16;
        }
        Ok(n)
    }
}

/// Where the first quote or backslash of `bytes` is (its length if none):
/// escapes often come close together, so a plain loop first.
#[inline]
fn special(bytes: &[u8]) -> usize {
    let head = bytes.len().min(16);
    match bytes[..head].iter().position(|&b| b == b'"' || b == b'\\') {
        Some(i) => i,
        None => head + memchr::memchr2(b'"', b'\\', &bytes[head..]).unwrap_or(bytes.len() - head),
    }
}

/// The escape at the start of `rest` (after its backslash), decoded into
/// `text` if it lies wholly in `rest` and is one serde reads without fuss;
/// its length. `None` leaves it to [`Scan::escape`], which reads on past
/// the buffer and decides.
#[inline]
fn escape_in(rest: &[u8], text: &mut Vec<u8>) -> Option<usize> {
    let e = *rest.first()?;
    if let Some(b) = simple_escape(e) {
        text.push(b);
        return Some(1);
    }
    match e {
        b'u' => {
            let hex = std::str::from_utf8(rest.get(1..5)?).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let n = u32::from_str_radix(hex, 16).ok()?;
            // Surrogates go the slow way.
            let c = char::from_u32(n)?;
            text.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            Some(5)
        }
        _ => None,
    }
}

/// The byte a one-letter JSON escape stands for (`\n` is `n`), or `None`
/// for `\u` and anything that is not an escape.
#[inline]
pub(super) fn simple_escape(letter: u8) -> Option<u8> {
    Some(match letter {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    })
}

/// Hands the valid UTF-8 start of `text` to `out`, keeping an unfinished
/// character at its end for the next piece (none may be left at the end).
fn flush(
    text: &mut Vec<u8>,
    out: &mut dyn FnMut(&str) -> io::Result<()>,
    end: bool,
) -> Result<(), Stop> {
    let good = match std::str::from_utf8(text) {
        Ok(_) => text.len(),
        Err(e) if !end && e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return Err(Stop::Unusual),
    };
    if good > 0 {
        let piece = std::str::from_utf8(&text[..good]).expect("checked just above");
        out(piece).map_err(Stop::Sink)?;
    }
    text.drain(..good);
    Ok(())
}
