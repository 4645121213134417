//! One delta near the 8 MiB event limit, with escapes and an echoed key
//! inside: shown exactly (unescaped, the key masked even where it falls
//! across the pieces the text is written in), without holding it.

use std::io::Read;
use std::time::Duration;

use crate::common::*;
use crate::server::{Reply, Server, Step};

const KEY: &str = "sk-huge-canary-5150";

/// The answer's text (about 5.4 MB of output, 7.9 MB escaped), the key at a few places,
/// some of them across 64 KiB boundaries.
fn text() -> String {
    let unit = "line \u{e9}\n \"q\" \\ tab\t ";
    let mut text = String::new();
    let mut k = 1;
    while text.len() < 5_420_000 {
        text.push_str(unit);
        if text.len() > k * 1_000_000 - 9 {
            text.push_str(KEY);
            k += 1;
        }
        // And near where a 64 KiB piece of the text may end.
        if text.len() % 65_536 > 65_530 {
            text.push_str(KEY);
        }
    }
    text.push_str("end");
    text
}

/// A JSON string for `text`, with `\u00e9` escapes besides serde's.
fn json_string(text: &str) -> String {
    serde_json::to_string(text)
        .unwrap()
        .replace('\u{e9}', "\\u00e9")
}

/// Peak RSS (KiB, the kernel's `VmHWM`) of `aix run` and its stdout.
fn run_measured(sb: &Sandbox) -> (u64, Vec<u8>, String) {
    let mut child = std::process::Command::new(BIN)
        .args(["run", "greet", "--provider", "local", "-e", "--stream"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &sb.root)
        .env("AIX_HOME", &sb.home)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        stdout.read_to_end(&mut all).unwrap();
        all
    });
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let done = loop {
        if let Some(kib) = std::fs::read_to_string(&status).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak = peak.max(kib);
        }
        if let Some(done) = child.try_wait().unwrap() {
            break done;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let out = reader.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(done.success(), "{err}");
    (peak, out, err)
}

#[test]
fn a_delta_near_the_event_limit_is_shown_exactly_and_not_held() {
    let server = Server::start();
    let sb = with_local_provider(&server.base(), Some(KEY));
    let text = text();
    let event = format!(
        "data: {{\"id\":\"c\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"finish_reason\":null}}]}}\n\n",
        json_string(&text)
    );
    assert!(
        event.len() > 7_800_000 && event.len() < 8 * 1024 * 1024,
        "{}",
        event.len()
    );
    let mut steps = vec![Step::Write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec(),
    )];
    for piece in event.as_bytes().chunks(64 * 1024) {
        steps.push(Step::Chunk(piece.to_vec()));
    }
    let last = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    steps.push(Step::Chunk(last.as_bytes().to_vec()));
    steps.push(Step::EndChunks);
    // First a short answer: how much aix itself takes.
    server.push(Reply::stream(&["short"]));
    let (base, out, _) = run_measured(&sb);
    assert_eq!(out, b"short\n");
    server.push(Reply { steps });
    let (peak, out, err) = run_measured(&sb);
    let want = format!("{}\n", text.replace(KEY, "(sensitive)"));
    assert!(
        out == want.as_bytes(),
        "output differs: {} bytes, want {}; first difference at {:?}",
        out.len(),
        want.len(),
        out.iter().zip(want.as_bytes()).position(|(a, b)| a != b)
    );
    assert!(!err.contains("canary"), "{err}");
    eprintln!(
        "peak RSS {peak} KiB for a {} byte event, {base} KiB for a short answer",
        event.len()
    );
    // Held even once, the event would add 7.5 MiB.
    assert!(
        peak < base + 3 * 1024,
        "peak RSS {peak} KiB, {base} KiB for a short answer"
    );
    // The budget, 20 MiB, is for release builds (bench/stream_bench.py
    // measures it too); a debug build maps more of itself.
    if !cfg!(debug_assertions) {
        assert!(peak < 20 * 1024, "peak RSS {peak} KiB");
    }
}
