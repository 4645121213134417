//! Relaying an answer: the event stream read into a buffer, parsed by
//! [`sse`](super::sse), decoded by [`chunk`](super::chunk) and written to
//! a [`Sink`], flushed once per read.

use std::io::{self, Read};
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::http::chunk::{self, Decoded, Item, TextKind, Usage};
use crate::http::{sse, wire};
use crate::provider::Wire;

/// Where the user sees an answer being written.
pub trait Sink {
    /// The server accepted the request; the first bytes are coming.
    fn started(&mut self) {}
    fn content(&mut self, text: &str) -> io::Result<()>;
    fn reasoning(&mut self, text: &str) -> io::Result<()>;
    /// A raw event's data (for `--json` streams).
    fn raw(&mut self, _data: &[u8]) -> io::Result<()> {
        Ok(())
    }
    /// Whether [`Sink::raw`] shows anything: a huge event is then read
    /// back into memory to be shown whole.
    fn wants_raw(&self) -> bool {
        false
    }
    /// Text of a refusal: when the model declines, this is its answer.
    fn refusal(&mut self, text: &str) -> io::Result<()> {
        self.content(text)
    }
    /// A tool call starts: its index among the answer's calls, and its id
    /// and function name as far as the server sent them.
    fn tool_call(&mut self, _index: u64, _id: Option<&str>, _name: Option<&str>) -> io::Result<()> {
        Ok(())
    }
    /// A piece of tool call `index`'s arguments, in order (a whole answer
    /// sends them in one piece).
    fn tool_arguments(&mut self, _index: u64, _fragment: &str) -> io::Result<()> {
        Ok(())
    }
    /// Called after each socket read has been fully handled.
    fn flush(&mut self) -> io::Result<()>;
}

/// What a finished stream reported.
#[derive(Debug, Default, Clone)]
pub struct StreamSummary {
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
    pub events: u64,
    /// Whether any content, refusal or tool call came.
    pub answered: bool,
    /// The server ended the answer early and said so (a Responses
    /// `response.incomplete`): the warning to show.
    pub incomplete: Option<String>,
}

/// Reads an event stream from `reader` and writes its deltas to `sink`:
/// every complete event in the current buffer, then one flush before the
/// next (blocking) read.
#[cfg(any(test, feature = "internals"))]
pub fn relay(
    reader: &mut dyn Read,
    sink: &mut dyn Sink,
    base_url: &str,
    idle_timeout: Duration,
) -> Result<StreamSummary, ClientError> {
    relay_wire(reader, sink, base_url, idle_timeout, Wire::Chat)
}

/// [`relay`] for a stream of `wire`'s events: chat chunks go through the
/// chunk decoder, the other protocols' events through theirs
/// ([`wire::Decoder`]).
pub fn relay_wire(
    reader: &mut dyn Read,
    sink: &mut dyn Sink,
    base_url: &str,
    idle_timeout: Duration,
    wire: Wire,
) -> Result<StreamSummary, ClientError> {
    let mut parser = sse::Parser::default().spill_over(SPILL_AT, Box::new(temp_spill));
    let mut buf = vec![0u8; READ_BUF];
    let mut state = Relay {
        sink,
        base_url,
        summary: StreamSummary::default(),
        done: false,
        decoder: chunk::Decoder::new(),
        events: (wire != Wire::Chat).then(|| wire::Decoder::new(wire)),
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = state.sink.flush();
                return Err(read_error(e, base_url, idle_timeout));
            }
        };
        let fed = parser.feed(&buf[..n], &mut |ev| state.event(ev));
        state.sink.flush().map_err(ClientError::Output)?;
        fed.map_err(|e| state.feed_error(e))?;
        if state.done {
            return Ok(state.summary);
        }
    }
    let fed = parser.finish(&mut |ev| state.event(ev));
    state.sink.flush().map_err(ClientError::Output)?;
    fed.map_err(|e| state.feed_error(e))?;
    // The body ended cleanly (a broken one is an error above): without
    // [DONE] that is still a whole answer once a finish_reason came, as
    // the OpenAI SDK holds.
    // The other protocols end with their last event only.
    if state.done || (wire == Wire::Chat && state.summary.finish_reason.is_some()) {
        Ok(state.summary)
    } else {
        Err(ClientError::Truncated {
            base_url: base_url.to_string(),
            end: wire::end_event(wire),
        })
    }
}

/// The spill store of a stream: an unlinked temporary file (in TMPDIR),
/// gone when aix exits however it exits.
pub(super) fn temp_spill() -> io::Result<Box<dyn sse::Spill>> {
    Ok(Box::new(TempSpill(tempfile::tempfile()?)))
}

struct TempSpill(std::fs::File);

impl Read for TempSpill {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl io::Seek for TempSpill {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl sse::Spill for TempSpill {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        use io::{Seek, Write};
        self.0.seek(io::SeekFrom::End(0))?;
        self.0.write_all(bytes)
    }
    fn clear(&mut self) -> io::Result<()> {
        use io::Seek;
        self.0.set_len(0)?;
        self.0.rewind()
    }
}

/// The relay's state between events.
struct Relay<'a> {
    sink: &'a mut dyn Sink,
    base_url: &'a str,
    summary: StreamSummary,
    done: bool,
    decoder: chunk::Decoder,
    /// The decoder of a Responses or Messages stream (none for chat).
    events: Option<wire::Decoder>,
}

impl Relay<'_> {
    fn event(&mut self, ev: sse::Event<'_>) -> Result<(), ClientError> {
        if self.done {
            return Ok(());
        }
        self.summary.events += 1;
        if let Some(decoder) = &mut self.events {
            let mut data = ev.data;
            let bytes = data.bytes().map_err(|e| ClientError::Protocol {
                base_url: self.base_url.to_string(),
                detail: format!("cannot read a large event back from its temporary file ({e})"),
            })?;
            let step = decoder.event(
                ev.event,
                &bytes,
                &mut *self.sink,
                &mut self.summary,
                self.base_url,
            )?;
            self.done = step == wire::Step::Done;
            return Ok(());
        }
        match ev.data {
            sse::Data::Bytes(data) => self.chunk(ev.event, data),
            sse::Data::Spilled(store) => self.spilled(ev.event, store),
        }
    }

    /// A huge event, from the spill store: decoded there and its texts
    /// streamed out in pieces when it is an ordinary valid chunk; read
    /// back into memory otherwise (an error, `--json`, anything unusual),
    /// so what is shown and every error is as for any other event.
    fn spilled(&mut self, event: &str, store: &mut dyn sse::Spill) -> Result<(), ClientError> {
        let spill_error = |base_url: &str, e: io::Error| ClientError::Protocol {
            base_url: base_url.to_string(),
            detail: format!("cannot read a large event back from its temporary file ({e})"),
        };
        let decoded = if event == "error" || self.sink.wants_raw() {
            None
        } else {
            chunk::decode_spilled(&mut *store).map_err(|e| spill_error(self.base_url, e))?
        };
        let Some(s) = decoded else {
            let data = sse::Data::Spilled(store)
                .bytes()
                .map_err(|e| spill_error(self.base_url, e))?
                .into_owned();
            return self.chunk(event, &data);
        };
        let delta = &s.delta;
        if let Some(e) = &delta.error {
            return Err(ClientError::StreamError(one_line(e)));
        }
        let base_url = self.base_url;
        let sink = &mut *self.sink;
        let mut text = |span: chunk::Span,
                        out: &mut dyn FnMut(&str) -> io::Result<()>|
         -> Result<(), ClientError> {
            chunk::stream_text(&mut *store, span, out).map_err(|e| match e {
                chunk::TextError::Read(e) => spill_error(base_url, e),
                chunk::TextError::Sink(e) => ClientError::Output(e),
            })
        };
        if let Some(r) = s.reasoning {
            text(r, &mut |t| sink.reasoning(t))?;
        }
        if let Some(c) = s.content {
            text(c, &mut |t| sink.content(t))?;
            self.summary.answered = true;
        }
        if let Some(r) = s.refusal {
            text(r, &mut |t| sink.refusal(t))?;
            self.summary.answered = true;
        }
        for (t, args) in delta.tool_calls.iter().zip(&s.arguments) {
            if t.id.is_some() || t.name.is_some() {
                sink.tool_call(t.index, t.id.as_deref(), t.name.as_deref())
                    .map_err(ClientError::Output)?;
                self.summary.answered = true;
            }
            if let Some(a) = *args {
                text(a, &mut |piece| sink.tool_arguments(t.index, piece))?;
                self.summary.answered = true;
            }
        }
        self.record_end(delta);
        Ok(())
    }

    /// What a delta says about the end of the answer: its finish reason
    /// and usage (the same for in-memory and spilled events).
    fn record_end(&mut self, delta: &chunk::Delta<'_>) {
        if let Some(f) = &delta.finish_reason {
            self.summary.finish_reason = Some(f.to_string());
        }
        if delta.usage.is_some() {
            self.summary.usage = delta.usage;
        }
    }

    /// One event's data in memory.
    fn chunk(&mut self, event: &str, data: &[u8]) -> Result<(), ClientError> {
        if event == "error" {
            return Err(ClientError::StreamError(error_message(data).0));
        }
        // Matched in place, not moved out: a Delta is large enough that a
        // move per chunk shows in the relay's profile.
        let decoded = self.decoder.read(data);
        let delta = match &decoded {
            // The usual chunk: one text, and nothing else to record.
            Ok(Decoded::Text(kind, text)) => {
                self.sink.raw(data).map_err(ClientError::Output)?;
                let Some(text) = text else {
                    return Ok(());
                };
                match kind {
                    TextKind::Reasoning => self.sink.reasoning(text),
                    TextKind::Content => self.sink.content(text),
                    TextKind::Refusal => self.sink.refusal(text),
                }
                .map_err(ClientError::Output)?;
                self.summary.answered |= *kind != TextKind::Reasoning;
                return Ok(());
            }
            Ok(Decoded::Item(Item::Done)) => {
                self.done = true;
                return Ok(());
            }
            Ok(Decoded::Item(Item::Delta(d))) => d,
            Err(e) => {
                return Err(ClientError::Protocol {
                    base_url: self.base_url.to_string(),
                    detail: format!("a stream chunk is not valid JSON ({e})"),
                });
            }
        };
        self.sink.raw(data).map_err(ClientError::Output)?;
        if let Some(e) = &delta.error {
            return Err(ClientError::StreamError(one_line(e)));
        }
        if let Some(r) = &delta.reasoning {
            self.sink.reasoning(r).map_err(ClientError::Output)?;
        }
        if let Some(c) = &delta.content {
            self.sink.content(c).map_err(ClientError::Output)?;
            self.summary.answered = true;
        }
        if let Some(r) = &delta.refusal {
            self.sink.refusal(r).map_err(ClientError::Output)?;
            self.summary.answered = true;
        }
        for t in &delta.tool_calls {
            if t.id.is_some() || t.name.is_some() {
                self.sink
                    .tool_call(t.index, t.id.as_deref(), t.name.as_deref())
                    .map_err(ClientError::Output)?;
                self.summary.answered = true;
            }
            if let Some(a) = &t.arguments {
                self.sink
                    .tool_arguments(t.index, a)
                    .map_err(ClientError::Output)?;
                self.summary.answered = true;
            }
        }
        self.record_end(delta);
        Ok(())
    }

    fn feed_error(&self, e: sse::Error<ClientError>) -> ClientError {
        match e {
            sse::Error::Callback(c) => c,
            too_long => ClientError::Protocol {
                base_url: self.base_url.to_string(),
                detail: too_long.to_string(),
            },
        }
    }
}

/// Whether a response to a streaming request is an event stream. Only a
/// JSON content type says otherwise: some servers send events without
/// naming them.
pub(super) fn is_event_stream(resp: &Response) -> bool {
    let Some(ct) = resp
        .headers()
        .get("content-type")
        .and_then(|c| c.to_str().ok())
    else {
        return true;
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    !(media == "application/json" || media.ends_with("+json"))
}

/// Delivers a whole JSON answer that came to a streaming request, as the
/// non-stream path would.
pub(super) fn whole_answer(
    resp: Response,
    p: &Prepared,
    sink: &mut dyn Sink,
) -> Result<StreamSummary, ClientError> {
    let status = resp.status();
    let bytes = resp
        .into_body()
        .into_with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| body_error(e, p))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
        base_url: p.base_url.clone(),
        detail: format!("the answer is not JSON ({e})"),
    })?;
    if v.get("error").is_some_and(|e| !e.is_null()) {
        let (message, code) = error_message(&bytes);
        return Err(ClientError::Status {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            message,
            code,
        });
    }
    let done = wire::completion(p.wire, &v).ok_or_else(|| ClientError::Protocol {
        base_url: p.base_url.clone(),
        detail: format!("no {} in the answer", wire::expected(p.wire)),
    })?;
    // For `--json`: the response, on one line as a chunk would be.
    let line = serde_json::to_vec(&v).expect("a Value always serializes");
    sink.raw(&line).map_err(ClientError::Output)?;
    let mut summary = feed_completion(&done, sink).map_err(ClientError::Output)?;
    summary.incomplete = wire::incomplete(p.wire, &v);
    sink.flush().map_err(ClientError::Output)?;
    Ok(summary)
}

/// Writes a whole answer to `sink` in the order a stream would bring it,
/// so a stream and a whole answer show the same.
pub fn feed_completion(done: &chunk::Completion, sink: &mut dyn Sink) -> io::Result<StreamSummary> {
    let mut answered = false;
    if let Some(r) = &done.reasoning {
        sink.reasoning(r)?;
    }
    if let Some(c) = &done.content {
        sink.content(c)?;
        answered = true;
    }
    if let Some(r) = &done.refusal {
        sink.refusal(r)?;
        answered = true;
    }
    for (i, call) in (0u64..).zip(&done.tool_calls) {
        sink.tool_call(i, call.id.as_deref(), call.name.as_deref())?;
        if let Some(a) = &call.arguments {
            sink.tool_arguments(i, a)?;
        }
        answered = true;
    }
    Ok(StreamSummary {
        usage: done.usage,
        finish_reason: done.finish_reason.clone(),
        events: 0,
        answered,
        incomplete: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Collect {
        text: String,
        reasoning: String,
        flushes: usize,
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
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    fn relay_str(s: &str) -> (Result<StreamSummary, ClientError>, Collect) {
        let mut sink = Collect {
            text: String::new(),
            reasoning: String::new(),
            flushes: 0,
        };
        let r = relay(
            &mut s.as_bytes(),
            &mut sink,
            "http://x",
            Duration::from_secs(1),
        );
        (r, sink)
    }

    #[test]
    fn relays_a_stream() {
        let (r, sink) = relay_str(concat!(
            "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
            ": keep-alive\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n",
            "data: [DONE]\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"after done\"}}]}\n\n",
        ));
        let s = r.unwrap();
        assert_eq!(sink.text, "Hello");
        assert_eq!(sink.reasoning, "hmm");
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        assert_eq!(s.usage.unwrap().total_tokens, 3);
    }

    #[test]
    fn a_huge_delta_is_relayed_in_pieces_from_its_spill() {
        let mut text = String::new();
        while text.len() < 4 * SPILL_AT {
            text.push_str("line \u{e9}\u{1F600} \"q\"\n");
        }
        let chunk =
            json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]});
        let stream = format!("data: {chunk}\n\ndata: [DONE]\n\n");
        struct Pieces(Vec<usize>, String);
        impl Sink for Pieces {
            fn content(&mut self, t: &str) -> io::Result<()> {
                self.0.push(t.len());
                self.1.push_str(t);
                Ok(())
            }
            fn reasoning(&mut self, _: &str) -> io::Result<()> {
                Ok(())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut sink = Pieces(Vec::new(), String::new());
        let s = relay(
            &mut stream.as_bytes(),
            &mut sink,
            "http://x",
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(sink.1, text);
        assert!(sink.0.len() > 4, "in pieces: {:?}", sink.0);
        assert!(sink.0.iter().all(|&n| n <= 2 * chunk::PIECE));
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        // Invalid, it fails as in memory, having shown nothing.
        let bad = stream.replacen("line ", "line \\x", 1);
        let mut sink = Pieces(Vec::new(), String::new());
        let err = relay(
            &mut bad.as_bytes(),
            &mut sink,
            "http://x",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not valid JSON (invalid escape"),
            "{err}"
        );
        assert!(sink.1.is_empty());
    }

    #[test]
    fn stream_failures_keep_what_came() {
        let (r, sink) = relay_str("data: {\"choices\":[{\"delta\":{\"content\":\"part\"}}]}\n\n");
        assert!(matches!(r, Err(ClientError::Truncated { .. })));
        assert_eq!(sink.text, "part");
        let (r, sink) = relay_str(concat!(
            "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
            "data: {\"error\":{\"message\":\"overloaded\"}}\n\n",
        ));
        assert_eq!(
            r.unwrap_err().to_string(),
            "the server sent an error in the stream: overloaded"
        );
        assert_eq!(sink.text, "a");
        let (r, _) = relay_str("event: error\ndata: {\"error\":{\"message\":\"bad\"}}\n\n");
        assert!(r.unwrap_err().to_string().contains("bad"));
        let (r, _) = relay_str("data: {not json\n\n");
        assert!(r.unwrap_err().to_string().contains("not valid JSON"));
    }
}
