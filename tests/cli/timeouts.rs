//! `--timeout` bounds each pause, not the whole answer; `--max-time` bounds
//! the whole answer (see docs/running.md).

use std::time::{Duration, Instant};

use crate::common::*;
use crate::server::{Reply, Server, Step};

/// A non-stream JSON answer sent in pieces with a pause between each.
fn slow_json(pause: Duration, pieces: usize) -> Reply {
    let body = serde_json::json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "all of it"}, "finish_reason": "stop"}]
    })
    .to_string();
    let mut steps = vec![Step::Write(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes(),
    )];
    let size = body.len().div_ceil(pieces);
    for piece in body.as_bytes().chunks(size) {
        steps.push(Step::Write(piece.to_vec()));
        steps.push(Step::Sleep(pause));
    }
    Reply { steps }
}

#[test]
fn timeout_is_per_pause_for_a_whole_answer_too() {
    let server = Server::start();
    let sb = with_local_provider(&server.base(), None);
    // 8 pieces 0.5 s apart: 4 s in all, never a pause of 2 s.
    server.push(slow_json(Duration::from_millis(500), 8));
    let start = Instant::now();
    let a = run_greet(&sb, &["--no-stream", "--timeout", "2"]).success();
    assert!(start.elapsed() >= Duration::from_millis(3500));
    assert_eq!(stdout(&a), "all of it\n");
    // A pause longer than --timeout ends it, with the usual words.
    server.push(slow_json(Duration::from_millis(2500), 2));
    let a = run_greet(&sb, &["--no-stream", "--timeout", "1"]).code(1);
    assert!(
        stderr(&a).contains(&format!("Request to {} timed out after 1 s", server.base())),
        "{}",
        stderr(&a)
    );
}

#[test]
fn framing_headers_are_refused_with_a_reason() {
    let sb = Sandbox::new();
    let a = sb
        .run(&[
            "provider",
            "add",
            "x",
            "http://127.0.0.1:9/v1",
            "--header",
            "Content-Length: 5",
        ])
        .code(64);
    assert!(
        stderr(&a).contains("Content-Length is set by aix for each request"),
        "{}",
        stderr(&a)
    );
    sb.write_config(
        r#"{"custom_providers":{"x":{"base_url":"http://127.0.0.1:9/v1","headers":{"transfer-encoding":"chunked"}}}}"#,
    );
    let a = sb
        .run(&["validate", sb.config_path().to_str().unwrap()])
        .code(1);
    assert!(
        stdout(&a).contains("transfer-encoding is set by aix"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn a_reset_after_sending_is_not_called_a_connection_failure() {
    let server = Server::start();
    let sb = with_local_provider(&server.base(), None);
    // The server reads the request, then closes without a byte.
    server.push(Reply { steps: vec![] });
    let a = run_greet(&sb, &["--no-stream"]).code(1);
    let err = stderr(&a);
    assert!(
        err.contains(&format!(
            "The connection to {} broke before an answer came",
            server.base()
        )),
        "{err}"
    );
    assert!(err.contains("did not send it again"), "{err}");
    assert_eq!(server.requests().len(), 1, "sent once");
}
