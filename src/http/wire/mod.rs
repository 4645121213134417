//! The protocols besides chat completions: OpenAI's Responses API and
//! Anthropic's Messages API. Each reads a whole answer into a
//! [`Completion`] (so it is shown as a chat answer is) and decodes stream
//! events, as the SSE parser hands them over, into [`Sink`] calls.
//!
//! Chat completions have their own decoder ([`chunk`](super::chunk)).
//! Here a text delta, nearly every event of a stream, is matched against
//! the shape of the last one (its [`Pieces`]: literal bytes, the text, and
//! the values aix only checks), or else read by a walk that learns that
//! shape; every other event, and anything unusual, is read as a
//! `serde_json::Value`, which both fast paths are held to (tests, the
//! `wire` fuzz target).

use std::borrow::Cow;

use serde_json::Value;

use super::chunk::{self, Completion, Gap, Pieces, Usage};
use super::{ClientError, Sink, StreamSummary, one_line};
use crate::provider::Wire;

mod messages;
mod responses;

/// A whole answer in `wire`'s shape, as far as aix reads it; `None` when
/// it is not in that shape.
pub fn completion(wire: Wire, response: &Value) -> Option<Completion> {
    match wire {
        Wire::Chat => chunk::completion(response),
        Wire::Responses => responses::completion(response),
        Wire::Messages => messages::completion(response),
    }
}

/// What the answer's shape is called in errors ("no ... in the answer").
pub fn expected(wire: Wire) -> &'static str {
    match wire {
        Wire::Chat => "choices[0].message",
        Wire::Responses => "output list",
        Wire::Messages => "content list",
    }
}

/// Why a whole answer stopped short, when it says so (a Responses answer
/// with `status: "incomplete"`).
pub fn incomplete(wire: Wire, response: &Value) -> Option<String> {
    match wire {
        Wire::Responses => responses::incomplete(response),
        _ => None,
    }
}

/// The server's message when a whole answer with a success status says
/// the request failed (a Responses answer with `status: "failed"` or an
/// `error`; a Messages body of `type: "error"`), on one line.
pub fn failed(wire: Wire, response: &Value) -> Option<String> {
    let failed = match wire {
        Wire::Chat => false,
        Wire::Responses => {
            response.get("status").and_then(Value::as_str) == Some("failed")
                || response.get("error").is_some_and(|e| !e.is_null())
        }
        Wire::Messages => response.get("type").and_then(Value::as_str) == Some("error"),
    };
    failed.then(|| {
        let message = response
            .get("error")
            .and_then(chunk::error_text)
            .unwrap_or_else(|| "no message given".to_string());
        one_line(&message)
    })
}

/// The event that ends a stream of `wire`, for "ended before ...".
pub fn end_event(wire: Wire) -> &'static str {
    match wire {
        Wire::Chat => "[DONE]",
        Wire::Responses => "response.completed",
        Wire::Messages => "message_stop",
    }
}

/// Decodes the events of one Responses or Messages stream.
pub struct Decoder {
    wire: Wire,
    usage: Option<Usage>,
    /// The shape of the last delta event the walk read.
    shape: Option<Shape>,
    /// Events read through `shape` (for tests and benchmarks).
    pub shape_hits: u64,
}

/// A delta event's bytes cut around its text (the hole) and the values
/// the walk only checks (free slots), as the chat decoder's templates
/// are: an event that matches it is the same kind of delta with this
/// text, since the walk would read it exactly so.
struct Shape {
    pieces: Pieces,
    reasoning: bool,
}

/// What one event meant for the stream as a whole.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    More,
    /// The last event: nothing after it is read.
    Done,
}

impl Decoder {
    pub fn new(wire: Wire) -> Self {
        Decoder {
            wire,
            usage: None,
            shape: None,
            shape_hits: 0,
        }
    }

    /// One event: `name` is its `event:` field (`message` when none),
    /// `data` its data. What it carries goes to `sink`; its end, usage and
    /// warnings to `summary`.
    pub fn event(
        &mut self,
        name: &str,
        data: &[u8],
        sink: &mut dyn Sink,
        summary: &mut StreamSummary,
        base_url: &str,
    ) -> Result<Step, ClientError> {
        // Nearly every event is a text delta: read those without building
        // a tree (anything else, and any error, takes the full path).
        if let Some(delta) = self.fast_delta(data) {
            sink.raw(data).map_err(ClientError::Output)?;
            let mut out = Out { sink, summary };
            match delta {
                Delta::Content(t) => out.content(&t)?,
                Delta::Reasoning(t) => out.reasoning(&t)?,
            }
            return Ok(Step::More);
        }
        self.full(name, data, sink, summary, base_url)
    }

    /// [`Decoder::event`] without the fast path: the event read as a
    /// `Value` (also for the tests and fuzzing that hold the fast path to
    /// it).
    pub fn full(
        &mut self,
        name: &str,
        data: &[u8],
        sink: &mut dyn Sink,
        summary: &mut StreamSummary,
        base_url: &str,
    ) -> Result<Step, ClientError> {
        if data.iter().all(u8::is_ascii_whitespace) {
            // An event without data (a bare `event: ping`) says nothing.
            return Ok(Step::More);
        }
        let v: Value = serde_json::from_slice(data).map_err(|e| ClientError::Protocol {
            base_url: base_url.to_string(),
            detail: format!("a stream event is not valid JSON ({e})"),
        })?;
        sink.raw(data).map_err(ClientError::Output)?;
        // The `type` in the data names the event; the `event:` line is
        // the same name, and the fallback for data without one.
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(name);
        let mut out = Out { sink, summary };
        match self.wire {
            Wire::Responses => responses::event(kind, &v, &mut out),
            Wire::Messages => messages::event(kind, &v, &mut out, &mut self.usage),
            Wire::Chat => unreachable!("chat streams have their own decoder"),
        }
    }
}

impl Decoder {
    /// A delta event matching the last one's shape, else [`walked_delta`]
    /// (learning the event's shape); `None` for any other event or anything
    /// unusual (a value in a free member the plain check leaves to serde,
    /// such as a surrogate pair), which the full path then reads.
    fn fast_delta<'a>(&mut self, data: &'a [u8]) -> Option<Delta<'a>> {
        if let Some(shape) = &mut self.shape
            && let Some(Some(text)) = shape.pieces.matches(data, chunk::plain_value)
        {
            self.shape_hits += 1;
            return Some(if shape.reasoning {
                Delta::Reasoning(text)
            } else {
                Delta::Content(text)
            });
        }
        let mut spans = Vec::new();
        if let Some(delta) = walked_delta(self.wire, data, &mut spans) {
            spans.sort_unstable_by_key(|s| s.0);
            self.shape = Some(Shape {
                pieces: Pieces::new(data, &spans),
                reasoning: matches!(delta, Delta::Reasoning(_)),
            });
            return Some(delta);
        }
        None
    }
}

/// A text delta read by [`Decoder::fast_delta`].
enum Delta<'a> {
    Content(std::borrow::Cow<'a, str>),
    Reasoning(std::borrow::Cow<'a, str>),
}

/// Calls `value(key, at)` for each member of the object at `i`, which
/// returns where the value ends; the index after the object. Keys must be
/// plain (no escapes), so they compare as bytes; `None` for anything else.
fn walk_object<'a>(
    data: &'a [u8],
    i: usize,
    mut value: impl FnMut(&'a [u8], usize) -> Option<usize>,
) -> Option<usize> {
    use chunk::ws;
    if data.get(i) != Some(&b'{') {
        return None;
    }
    let mut i = ws(data, i + 1);
    if data.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        if data.get(i) != Some(&b'"') {
            return None;
        }
        // (A key serde reads as these bytes: no escapes, no control
        // characters, UTF-8.)
        let len = data[i + 1..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if data[i + 1 + len] != b'"' {
            return None;
        }
        let key = &data[i + 1..i + 1 + len];
        if !key.is_ascii() {
            std::str::from_utf8(key).ok()?;
        }
        i = ws(data, i + len + 2);
        if data.get(i) != Some(&b':') {
            return None;
        }
        i = value(key, ws(data, i + 1))?;
        i = ws(data, i);
        match data.get(i)? {
            b',' => i = ws(data, i + 1),
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// A string member read once: a second one of the same name is left to
/// serde (which keeps the last), by giving up. `span` is where it lies.
fn once<'a>(
    slot: &mut Option<(Cow<'a, str>, (usize, usize))>,
    data: &'a [u8],
    at: usize,
) -> Option<usize> {
    if slot.is_some() {
        return None;
    }
    let (text, end) = chunk::hole_text(data, at)?;
    *slot = Some((text, (at, end)));
    Some(end)
}

/// A `type` member read once, as its raw bytes: a plain string (no
/// escapes, no control characters), which is what such names always are;
/// anything else gives up.
fn once_name<'a>(slot: &mut Option<&'a [u8]>, data: &'a [u8], at: usize) -> Option<usize> {
    if slot.is_some() || data.get(at) != Some(&b'"') {
        return None;
    }
    let body = &data[at + 1..];
    let len = body
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    if body[len] != b'"' {
        return None;
    }
    *slot = Some(&body[..len]);
    Some(at + len + 2)
}

/// The delta of a plain delta event without serde: a walk over the
/// event's object that reads `type` and the delta's text with the chat
/// decoder's string reader and checks every other value with its
/// plain-JSON check (which only accepts what serde accepts), so the result
/// is what a full parse gives or `None`. `spans` gets where the values
/// only checked lie (slots) and where the text lies (the hole).
fn walked_delta<'a>(
    wire: Wire,
    data: &'a [u8],
    spans: &mut Vec<(usize, usize, Gap)>,
) -> Option<Delta<'a>> {
    let (mut kind, mut inner_kind): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let (mut text, mut thinking) = (None, None);
    let mut seen_delta = false;
    let start = chunk::ws(data, 0);
    let mut slot = |at: usize| {
        let end = chunk::plain_value(data, at)?;
        spans.push((at, end, Gap::Slot));
        Some(end)
    };
    let end = walk_object(data, start, |key, at| match (wire, key) {
        (_, b"type") => once_name(&mut kind, data, at),
        (Wire::Responses, b"delta") => once(&mut text, data, at),
        (Wire::Messages, b"delta") => {
            if std::mem::replace(&mut seen_delta, true) {
                return None;
            }
            walk_object(data, at, |k, a| match k {
                b"type" => once_name(&mut inner_kind, data, a),
                b"text" => once(&mut text, data, a),
                b"thinking" => once(&mut thinking, data, a),
                _ => slot(a),
            })
        }
        _ => slot(at),
    })?;
    if chunk::ws(data, end) != data.len() {
        return None;
    }
    let (delta, (from, to)) = match (wire, kind?) {
        (Wire::Responses, b"response.output_text.delta") => {
            let (t, span) = text?;
            (Delta::Content(t), span)
        }
        (
            Wire::Responses,
            b"response.reasoning_summary_text.delta" | b"response.reasoning_text.delta",
        ) => {
            let (t, span) = text?;
            (Delta::Reasoning(t), span)
        }
        (Wire::Messages, b"content_block_delta") => match inner_kind? {
            b"text_delta" => {
                let (t, span) = text?;
                (Delta::Content(t), span)
            }
            b"thinking_delta" => {
                let (t, span) = thinking?;
                (Delta::Reasoning(t), span)
            }
            _ => return None,
        },
        _ => return None,
    };
    spans.push((from, to, Gap::Hole));
    Some(delta)
}

/// Where an event's parts go.
struct Out<'a> {
    sink: &'a mut dyn Sink,
    summary: &'a mut StreamSummary,
}

impl Out<'_> {
    fn content(&mut self, text: &str) -> Result<(), ClientError> {
        self.summary.answered = true;
        self.sink.content(text).map_err(ClientError::Output)
    }
    fn reasoning(&mut self, text: &str) -> Result<(), ClientError> {
        self.sink.reasoning(text).map_err(ClientError::Output)
    }
    fn refusal(&mut self, text: &str) -> Result<(), ClientError> {
        self.summary.answered = true;
        self.sink.refusal(text).map_err(ClientError::Output)
    }
}

/// A string member, if it is a non-empty string.
fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The message of an error the server sent inside a stream (`error`
/// object or string, else a `message`), on one line.
fn stream_error(v: &Value) -> ClientError {
    let message = v
        .get("error")
        .and_then(chunk::error_text)
        .or_else(|| text(v, "message").map(String::from))
        .unwrap_or_else(|| v.to_string());
    ClientError::StreamError(one_line(&message))
}

/// Appends `piece` to an optional text, as a whole answer's parts join.
fn push(into: &mut Option<String>, piece: &str) {
    if piece.is_empty() {
        return;
    }
    into.get_or_insert_with(String::new).push_str(piece);
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::http::relay_wire;

    /// Each event read through the fast path gives what the full path
    /// gives, and events it must not take (other types, odd shapes,
    /// broken JSON) are left to the full path.
    #[test]
    fn the_delta_fast_path_agrees_with_the_full_one() {
        let cases: &[(Wire, &str, &str)] = &[
            (
                Wire::Responses,
                "response.output_text.delta",
                r#"{"type":"response.output_text.delta","delta":"a\"é\n","obfuscation":"x","logprobs":[]}"#,
            ),
            (
                Wire::Responses,
                "response.output_text.delta",
                r#"{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[],"obfuscation":"9e3779"}"#,
            ),
            (
                Wire::Responses,
                "response.reasoning_text.delta",
                r#"{"type":"response.reasoning_text.delta","delta":"why"}"#,
            ),
            (
                Wire::Responses,
                "response.refusal.delta",
                r#"{"type":"response.refusal.delta","delta":"no"}"#,
            ),
            (
                Wire::Responses,
                "response.output_text.delta",
                r#"{"type":"response.output_text.delta","delta":5}"#,
            ),
            (
                Wire::Responses,
                "response.output_text.delta",
                r#"{"type":"response.output_text.delta","delta":"a"#,
            ),
            (
                Wire::Messages,
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi \u00e9"}}"#,
            ),
            (
                Wire::Messages,
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
            ),
            (
                Wire::Messages,
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"s"}}"#,
            ),
            (
                Wire::Messages,
                "content_block_delta",
                r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"},"delta":{"type":"text_delta","text":"y"}}"#,
            ),
        ];
        // Each case, and random mutations of it where the walk looks.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"{}[]\",:\\ u0e9tx1-.";
        let mut all: Vec<(Wire, &str, Vec<u8>, &str)> = Vec::new();
        for (wire, name, data) in cases {
            all.push((*wire, name, data.as_bytes().to_vec(), data));
            for _ in 0..400 {
                let mut d = data.as_bytes().to_vec();
                for _ in 0..1 + next() % 3 {
                    let at = (next() as usize) % (d.len() + 1);
                    let b = alphabet[(next() as usize) % alphabet.len()];
                    match next() % 3 {
                        0 if at < d.len() => d[at] = b,
                        1 => d.insert(at, b),
                        _ if at < d.len() => {
                            d.remove(at);
                        }
                        _ => {}
                    }
                }
                all.push((*wire, name, d, data));
            }
        }
        #[derive(Clone, Copy)]
        enum Path {
            /// A new decoder: the walk.
            Walk,
            /// A decoder that read the unmutated event first: its shape.
            Shape,
            Full,
        }
        let hits = std::cell::Cell::new(0);
        for (wire, name, data, seed) in &all {
            let data = data.as_slice();
            let full = |path: Path| {
                let mut c = Collect::default();
                let mut summary = StreamSummary::default();
                let mut d = Decoder::new(*wire);
                if let Path::Shape = path {
                    let _ = d.event(name, seed.as_bytes(), &mut c, &mut summary, "b");
                    c = Collect::default();
                    summary = StreamSummary::default();
                }
                if let Path::Full = path {
                    return full_path(*wire, name, data);
                }
                let r = d.event(name, data, &mut c, &mut summary, "b");
                let failed = r.is_err();
                hits.set(hits.get() + d.shape_hits);
                (c.text, c.reasoning, c.refusal, failed)
            };
            let want = full(Path::Full);
            let data = String::from_utf8_lossy(data);
            assert_eq!(full(Path::Walk), want, "{data}");
            assert_eq!(full(Path::Shape), want, "after {seed}: {data}");
        }
        // (The few mutations that keep the shape: in a text, or a slot's
        // value; the next test makes more.)
        assert!(hits.get() > 40, "{} events read by shape", hits.get());
    }

    /// What the full path alone (a `Value`, then the protocol's reader)
    /// makes of an event: texts, and whether it failed.
    fn full_path(wire: Wire, name: &str, data: &[u8]) -> (String, String, String, bool) {
        let mut c = Collect::default();
        let mut summary = StreamSummary::default();
        if data.iter().all(u8::is_ascii_whitespace) {
            return (c.text, c.reasoning, c.refusal, false);
        }
        let v: Value = match serde_json::from_slice(data) {
            Ok(v) => v,
            Err(_) => return (c.text, c.reasoning, c.refusal, true),
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string();
        let mut out = Out {
            sink: &mut c,
            summary: &mut summary,
        };
        let r = match wire {
            Wire::Responses => responses::event(&kind, &v, &mut out),
            _ => messages::event(&kind, &v, &mut out, &mut None),
        };
        (c.text, c.reasoning, c.refusal, r.is_err())
    }

    /// One decoder over a stream of delta events whose texts and free
    /// values vary (valid or not, escapes, longer and shorter than
    /// before), as servers send them: each event reads as the full path
    /// reads it, and most through the learned shape.
    #[test]
    fn a_learned_shape_reads_what_the_walk_reads() {
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let texts = [
            "Hi",
            "",
            "a\\\"b",
            "\\u00e9\\n",
            "\\ud83d\\ude00",
            "\\ud83d",
            "\\x",
            "é€",
            "\u{1}",
            "\"",
            "tab\\t",
        ];
        let values = [
            "7",
            "70",
            "-1",
            "1e5",
            "01",
            "\"x\"",
            "\"9e37\"",
            "[]",
            "[1,{\"a\":null}]",
            "{",
            "tru",
            "true",
            "\"\\ud800\"",
            "null",
        ];
        let shapes: [(Wire, &str, &str); 3] = [
            (
                Wire::Responses,
                "response.output_text.delta",
                r#"{"type":"response.output_text.delta","sequence_number":SLOT,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"TEXT","logprobs":SLOT,"obfuscation":SLOT}"#,
            ),
            (
                Wire::Messages,
                "content_block_delta",
                r#"{"type":"content_block_delta","index":SLOT,"delta":{"type":"text_delta","text":"TEXT"}}"#,
            ),
            (
                Wire::Messages,
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"TEXT","x":SLOT}}"#,
            ),
        ];
        for (wire, name, shape) in shapes {
            let mut d = Decoder::new(wire);
            for _ in 0..3000 {
                let mut event = shape.replace("TEXT", texts[next() as usize % texts.len()]);
                // Mostly the same free values, now and then others.
                while let Some(at) = event.find("SLOT") {
                    let k = next() as usize;
                    let v = if k.is_multiple_of(4) {
                        values[k / 4 % values.len()]
                    } else {
                        "0"
                    };
                    event.replace_range(at..at + 4, v);
                }
                let mut c = Collect::default();
                let mut summary = StreamSummary::default();
                let r = d.event(name, event.as_bytes(), &mut c, &mut summary, "b");
                let got = (c.text, c.reasoning, c.refusal, r.is_err());
                assert_eq!(got, full_path(wire, name, event.as_bytes()), "{event}");
            }
            assert!(
                d.shape_hits > 1500,
                "{name}: {} read by shape",
                d.shape_hits
            );
        }
    }

    #[derive(Default)]
    struct Collect {
        text: String,
        reasoning: String,
        refusal: String,
        raw: usize,
    }

    impl Sink for Collect {
        fn content(&mut self, t: &str) -> io::Result<()> {
            self.text.push_str(t);
            Ok(())
        }
        fn reasoning(&mut self, t: &str) -> io::Result<()> {
            self.reasoning.push_str(t);
            Ok(())
        }
        fn refusal(&mut self, t: &str) -> io::Result<()> {
            self.refusal.push_str(t);
            Ok(())
        }
        fn raw(&mut self, _: &[u8]) -> io::Result<()> {
            self.raw += 1;
            Ok(())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn run(wire: Wire, s: &str) -> (Result<StreamSummary, ClientError>, Collect) {
        let mut sink = Collect::default();
        let r = relay_wire(
            &mut s.as_bytes(),
            &mut sink,
            "http://x",
            Duration::from_secs(1),
            wire,
        );
        (r, sink)
    }

    #[test]
    fn a_responses_stream() {
        let (r, sink) = run(
            Wire::Responses,
            concat!(
                "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"status\":\"in_progress\"}}\n\n",
                "event: response.reasoning_summary_text.delta\ndata: {\"type\":\"response.reasoning_summary_text.delta\",\"delta\":\"hmm\"}\n\n",
                "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}\n\n",
                "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"lo\"}\n\n",
                "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"usage\":{\"input_tokens\":3,\"output_tokens\":2,\"total_tokens\":5}}}\n\n",
                "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"after\"}\n\n",
            ),
        );
        let s = r.unwrap();
        assert_eq!(sink.text, "Hello");
        assert_eq!(sink.reasoning, "hmm");
        assert_eq!(sink.raw, 5);
        assert_eq!(s.finish_reason.as_deref(), Some("completed"));
        assert_eq!(s.usage.unwrap().total_tokens, 5);
        assert!(s.answered && s.incomplete.is_none());
    }

    #[test]
    fn responses_failures_and_ends() {
        let (r, sink) = run(
            Wire::Responses,
            concat!(
                "data: {\"type\":\"response.output_text.delta\",\"delta\":\"part\"}\n\n",
                "data: {\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"it broke\"}}}\n\n",
            ),
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "the server sent an error in the stream: it broke"
        );
        assert_eq!(sink.text, "part");
        let (r, _) = run(
            Wire::Responses,
            "event: error\ndata: {\"type\":\"error\",\"code\":\"x\",\"message\":\"bad thing\"}\n\n",
        );
        assert!(r.unwrap_err().to_string().contains("bad thing"));
        let (r, _) = run(
            Wire::Responses,
            "data: {\"type\":\"response.output_text.delta\",\"delta\":\"cut\"}\n\n",
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "the stream from http://x ended before response.completed; the answer may be cut short"
        );
        let (r, sink) = run(
            Wire::Responses,
            concat!(
                "data: {\"type\":\"response.refusal.delta\",\"delta\":\"no\"}\n\n",
                "data: {\"type\":\"response.incomplete\",\"response\":{\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}}\n\n",
            ),
        );
        let s = r.unwrap();
        assert_eq!(sink.refusal, "no");
        assert_eq!(
            s.incomplete.as_deref(),
            Some("the answer is incomplete (max_output_tokens); it may be cut short")
        );
    }

    #[test]
    fn a_messages_stream() {
        let (r, sink) = run(
            Wire::Messages,
            concat!(
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n",
                "event: ping\ndata: {\"type\": \"ping\"}\n\n",
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"let me\"}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"abc\"}}\n\n",
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n",
                "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            ),
        );
        let s = r.unwrap();
        assert_eq!(sink.text, "Hi");
        assert_eq!(sink.reasoning, "let me");
        assert_eq!(s.finish_reason.as_deref(), Some("end_turn"));
        let u = s.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (10, 7, 17)
        );
        let (r, sink) = run(
            Wire::Messages,
            concat!(
                "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"par\"}}\n\n",
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
            ),
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "the server sent an error in the stream: Overloaded"
        );
        assert_eq!(sink.text, "par");
        let (r, _) = run(
            Wire::Messages,
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n",
        );
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("ended before message_stop")
        );
    }

    #[test]
    fn a_huge_event_is_read_back_from_its_spill() {
        let text = "word \u{e9} ".repeat(crate::http::SPILL_AT / 4);
        let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}});
        let stream = format!(
            "event: content_block_delta\ndata: {delta}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
        );
        let (r, sink) = run(Wire::Messages, &stream);
        r.unwrap();
        assert_eq!(sink.text, text);
    }

    #[test]
    fn whole_answers() {
        let r = json!({
            "status": "completed",
            "output": [
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "why"}]},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Hel"},
                    {"type": "output_text", "text": "lo"}
                ]}
            ],
            "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
        });
        let done = completion(Wire::Responses, &r).unwrap();
        assert_eq!(done.content.as_deref(), Some("Hello"));
        assert_eq!(done.reasoning.as_deref(), Some("why"));
        assert_eq!(done.finish_reason.as_deref(), Some("completed"));
        assert_eq!(done.usage.unwrap().total_tokens, 3);
        assert_eq!(incomplete(Wire::Responses, &r), None);
        let refused = json!({"output": [{"type": "message", "content": [{"type": "refusal", "refusal": "I can't"}]}]});
        let done = completion(Wire::Responses, &refused).unwrap();
        assert_eq!(done.refusal.as_deref(), Some("I can't"));
        let m = json!({
            "type": "message",
            "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "text", "text": "Hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 4, "output_tokens": 5}
        });
        let done = completion(Wire::Messages, &m).unwrap();
        assert_eq!(done.content.as_deref(), Some("Hi"));
        assert_eq!(done.reasoning.as_deref(), Some("hm"));
        assert_eq!(done.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!(done.usage.unwrap().total_tokens, 9);
        assert!(completion(Wire::Messages, &json!({"choices": []})).is_none());
    }
}
