//! In-process cost of each stage of relaying a stream, per chunk and per
//! server shape: the SSE parser alone, parser + full chunk decoding,
//! parser + the template decoder, and the whole relay into a byte sink;
//! then the same for the Responses and Messages protocols' events (full
//! path: a `Value` per event; fast path: the walk and learned shapes).
//! No network, so this isolates aix's own work. Prints markdown tables.
//!
//!     cargo bench --features internals --bench relay [-- CHUNKS]

use std::hint::black_box;
use std::io::{self, Read};
use std::time::Instant;

use aix::http::chunk::{self, Item};
use aix::http::{self, Sink, StreamSummary};
use aix::http::{Wire, sse, wire};
use serde_json::{Value, json};

const WORDS: [&str; 10] = [
    "Hello", " world", ",", " this", " is", " a", " token", "\n", " é", " \"q\"",
];

fn obfuscation(i: usize) -> String {
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{h:x}").chars().take(4 + i % 9).collect()
}

/// One chunk of `shape` (the same shapes as bench/stream_bench.py).
fn chunk(shape: &str, i: usize, text: &str) -> Value {
    match shape {
        "vllm" => {
            json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "bench-model", "choices": [{"index": 0, "delta": {"content": text}, "logprobs": null, "finish_reason": null}]})
        }
        "ollama" => {
            json!({"id": "chatcmpl-42", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "llama3.2", "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]})
        }
        "llamacpp" => {
            json!({"choices": [{"finish_reason": null, "index": 0, "delta": {"content": text}}],
            "created": 1700000000 + i / 2000, "id": "chatcmpl-abc", "model": "gpt-3.5-turbo",
            "system_fingerprint": "b4567-0123abcd", "object": "chat.completion.chunk"})
        }
        "deepseek" => json!({"id": "d1", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "deepseek-reasoner", "system_fingerprint": "fp_ds",
            "choices": [{"index": 0, "delta": {"content": null, "reasoning_content": text}, "logprobs": null, "finish_reason": null}]}),
        "openai" => {
            json!({"id": "chatcmpl-Bx1", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "gpt-4o-2024-08-06", "service_tier": "default", "system_fingerprint": "fp_07871e2ad8",
            "choices": [{"index": 0, "delta": {"content": text}, "logprobs": null, "finish_reason": null}],
            "usage": null, "obfuscation": obfuscation(i)})
        }
        "logprobs" => {
            json!({"id": "chatcmpl-Bx1", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "gpt-4o-2024-08-06", "service_tier": "default", "system_fingerprint": "fp_07871e2ad8",
            "choices": [{"index": 0, "delta": {"content": text},
                "logprobs": {"content": [{"token": text, "logprob": -0.0001 * (i % 97) as f64,
                    "bytes": text.as_bytes(), "top_logprobs": []}], "refusal": null},
                "finish_reason": null}],
            "usage": null, "obfuscation": obfuscation(i)})
        }
        "toolcalls" => {
            json!({"id": "chatcmpl-Bx1", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "gpt-4o-2024-08-06", "service_tier": "default", "system_fingerprint": "fp_07871e2ad8",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": text}}]},
                "logprobs": null, "finish_reason": null}],
            "usage": null, "obfuscation": obfuscation(i)})
        }
        _ => panic!("unknown shape {shape}"),
    }
}

const SHAPES: [&str; 7] = [
    "vllm",
    "ollama",
    "llamacpp",
    "deepseek",
    "openai",
    "logprobs",
    "toolcalls",
];

fn stream(shape: &str, chunks: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..chunks {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(
            chunk(shape, i, WORDS[i % WORDS.len()])
                .to_string()
                .as_bytes(),
        );
        out.extend_from_slice(b"\n\n");
    }
    out.extend_from_slice(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    );
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

/// Hands out the stream in 64 KiB reads, like a socket would.
struct Reads<'a>(&'a [u8]);

impl Read for Reads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(64 * 1024);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

struct Bytes(Vec<u8>);

impl Sink for Bytes {
    fn content(&mut self, t: &str) -> io::Result<()> {
        self.0.extend_from_slice(t.as_bytes());
        Ok(())
    }
    fn reasoning(&mut self, t: &str) -> io::Result<()> {
        self.0.extend_from_slice(t.as_bytes());
        Ok(())
    }
    fn tool_arguments(&mut self, _: u64, t: &str) -> io::Result<()> {
        self.0.extend_from_slice(t.as_bytes());
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.clear();
        Ok(())
    }
}

/// Median ns per chunk of `f` over 7 runs.
fn per_chunk(chunks: usize, mut f: impl FnMut()) -> f64 {
    f();
    let runs = 7;
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2] * 1e9 / chunks as f64
}

fn feed(data: &[u8], mut on: impl FnMut(&[u8])) {
    feed_named(data, |_, d| on(d));
}

fn feed_named(data: &[u8], mut on: impl FnMut(&str, &[u8])) {
    let mut p = sse::Parser::default();
    for piece in data.chunks(64 * 1024) {
        p.feed(piece, &mut |mut e: sse::Event<'_>| -> Result<(), ()> {
            on(e.event, &e.data.bytes().unwrap());
            Ok(())
        })
        .unwrap();
    }
}

/// A Responses or Messages stream of `events` text deltas, as
/// bench/stream_bench.py builds it.
fn wire_stream(wire: Wire, events: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut event = |name: &str, data: Value| {
        out.extend_from_slice(format!("event: {name}\ndata: {data}\n\n").as_bytes());
    };
    if wire == Wire::Responses {
        event(
            "response.created",
            json!({"type": "response.created", "sequence_number": 0,
            "response": {"id": "resp_1", "status": "in_progress"}}),
        );
        for i in 0..events {
            event(
                "response.output_text.delta",
                json!({"type": "response.output_text.delta",
                "sequence_number": i + 1, "item_id": "msg_1", "output_index": 0,
                "content_index": 0, "delta": WORDS[i % WORDS.len()], "logprobs": [],
                "obfuscation": obfuscation(i)}),
            );
        }
        event(
            "response.completed",
            json!({"type": "response.completed", "response": {
            "id": "resp_1", "status": "completed",
            "usage": {"input_tokens": 9, "output_tokens": events, "total_tokens": events + 9}}}),
        );
        return out;
    }
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1",
        "type": "message", "role": "assistant", "model": "claude-bench", "content": [],
        "usage": {"input_tokens": 9, "output_tokens": 1}}}),
    );
    event(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0,
        "content_block": {"type": "text", "text": ""}}),
    );
    for i in 0..events {
        if i % 5000 == 0 {
            event("ping", json!({"type": "ping"}));
        }
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": WORDS[i % WORDS.len()]}}),
        );
    }
    event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    );
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": events}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    out
}

/// The wire protocols' table.
fn wire_table(events: usize) {
    println!();
    println!(
        "| protocol | bytes/event | SSE only | SSE + full path | SSE + fast path | fast-path share | whole relay |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, wire) in [("responses", Wire::Responses), ("messages", Wire::Messages)] {
        let data = wire_stream(wire, events);
        let sse_only = per_chunk(events, || {
            let mut n = 0usize;
            feed_named(&data, |e, d| n += e.len() + d.len());
            black_box(n);
        });
        let decode = |fast: bool| {
            let mut dec = wire::Decoder::new(wire);
            let mut sink = Bytes(Vec::new());
            let mut summary = StreamSummary::default();
            feed_named(&data, |e, d| {
                let _ = if fast {
                    dec.event(e, d, &mut sink, &mut summary, "http://bench")
                } else {
                    dec.full(e, d, &mut sink, &mut summary, "http://bench")
                };
            });
            black_box(sink.0.len());
            dec.shape_hits
        };
        let full = per_chunk(events, || {
            decode(false);
        });
        let mut hits = 0;
        let fast = per_chunk(events, || hits = decode(true));
        let relay = per_chunk(events, || {
            let mut sink = Bytes(Vec::new());
            http::relay_wire(
                &mut Reads(&data),
                &mut sink,
                "http://bench",
                std::time::Duration::from_secs(5),
                wire,
            )
            .unwrap();
        });
        println!(
            "| {label} | {} | {sse_only:.0} | {full:.0} | {fast:.0} | {:.1}% | {relay:.0} |",
            data.len() / events,
            hits as f64 * 100.0 / events as f64
        );
    }
}

fn main() {
    let chunks: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    println!("{chunks} chunks per shape; ns per chunk, median of 7");
    println!();
    println!(
        "| shape | bytes/chunk | SSE only | SSE + full decode | SSE + template decoder | fast-path share | whole relay |"
    );
    println!("|---|---|---|---|---|---|---|");
    for shape in SHAPES {
        let data = stream(shape, chunks);
        let sse_only = per_chunk(chunks, || {
            let mut n = 0usize;
            feed(&data, |d| n += d.len());
            black_box(n);
        });
        let full = per_chunk(chunks, || {
            let mut n = 0usize;
            feed(&data, |d| {
                if let Ok(Item::Delta(x)) = chunk::decode(d) {
                    n += x.content.map_or(0, |c| c.len());
                }
            });
            black_box(n);
        });
        let mut hits = 0;
        let fast = per_chunk(chunks, || {
            let mut dec = chunk::Decoder::new();
            let mut n = 0usize;
            feed(&data, |d| {
                if let Ok(Item::Delta(x)) = dec.decode(d) {
                    n += x.content.map_or(0, |c| c.len());
                }
            });
            hits = dec.fast_hits;
            black_box(n);
        });
        let relay = per_chunk(chunks, || {
            let mut sink = Bytes(Vec::new());
            http::relay(
                &mut Reads(&data),
                &mut sink,
                "http://bench",
                std::time::Duration::from_secs(5),
            )
            .unwrap();
        });
        println!(
            "| {shape} | {} | {sse_only:.0} | {full:.0} | {fast:.0} | {:.1}% | {relay:.0} |",
            data.len() / chunks,
            hits as f64 * 100.0 / chunks as f64
        );
    }
    wire_table(chunks);
}
