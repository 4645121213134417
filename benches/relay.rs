//! In-process cost of each stage of relaying a stream, per chunk:
//! the SSE parser alone, parser + chunk decoding, and the whole relay into
//! a byte sink. No network, so this isolates aix's own work.
//!
//!     cargo bench --bench relay

use std::hint::black_box;
use std::io::{self, Read};
use std::time::Instant;

use aix::chunk::{self, Item};
use aix::client::{self, Sink};
use aix::sse;

fn stream(chunks: usize) -> Vec<u8> {
    let words = [
        "Hello",
        " world",
        ",",
        " this",
        " is",
        " a",
        " token",
        "\\n",
        " \\u00e9",
        " \\\"q\\\"",
    ];
    let mut out = Vec::new();
    for i in 0..chunks {
        out.extend_from_slice(
            format!(
                "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench-model\",\"system_fingerprint\":null,\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n",
                words[i % words.len()]
            )
            .as_bytes(),
        );
    }
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
    fn reasoning(&mut self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.clear();
        Ok(())
    }
}

fn bench(name: &str, chunks: usize, mut f: impl FnMut()) {
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
    let med = times[runs / 2];
    println!(
        "{name:<28} {:8.1} ms   {:6.0} ns/chunk",
        med * 1e3,
        med * 1e9 / chunks as f64
    );
}

fn main() {
    let chunks = 200_000;
    let data = stream(chunks);
    println!("{} chunks, {:.1} MB", chunks, data.len() as f64 / 1e6);
    bench("sse parse only", chunks, || {
        let mut p = sse::Parser::default();
        let mut n = 0usize;
        for piece in data.chunks(64 * 1024) {
            p.feed(piece, &mut |e: sse::Event<'_>| -> Result<(), ()> {
                n += e.data.len();
                Ok(())
            })
            .unwrap();
        }
        black_box(n);
    });
    bench("sse + chunk::decode", chunks, || {
        let mut p = sse::Parser::default();
        let mut n = 0usize;
        for piece in data.chunks(64 * 1024) {
            p.feed(piece, &mut |e: sse::Event<'_>| -> Result<(), ()> {
                if let Ok(Item::Delta(d)) = chunk::decode(e.data) {
                    n += d.content.map_or(0, |c| c.len());
                }
                Ok(())
            })
            .unwrap();
        }
        black_box(n);
    });
    bench("sse + chunk::Decoder (fast)", chunks, || {
        let mut p = sse::Parser::default();
        let mut d = chunk::Decoder::new();
        let mut n = 0usize;
        for piece in data.chunks(64 * 1024) {
            p.feed(piece, &mut |e: sse::Event<'_>| -> Result<(), ()> {
                if let Ok(Item::Delta(x)) = d.decode(e.data) {
                    n += x.content.map_or(0, |c| c.len());
                }
                Ok(())
            })
            .unwrap();
        }
        black_box(n);
    });
    bench("sse + serde_json::Value", chunks, || {
        let mut p = sse::Parser::default();
        let mut n = 0usize;
        for piece in data.chunks(64 * 1024) {
            p.feed(piece, &mut |e: sse::Event<'_>| -> Result<(), ()> {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(e.data) {
                    n += v
                        .pointer("/choices/0/delta/content")
                        .and_then(|c| c.as_str())
                        .map_or(0, str::len);
                }
                Ok(())
            })
            .unwrap();
        }
        black_box(n);
    });
    bench("whole relay", chunks, || {
        let mut sink = Bytes(Vec::new());
        client::relay(
            &mut Reads(&data),
            &mut sink,
            "http://bench",
            std::time::Duration::from_secs(5),
        )
        .unwrap();
    });
}
