//! Stream shapes beyond plain text deltas: refusals, tool calls, a JSON
//! reply to a streaming request, an error frame, and a stream that ends
//! after its `finish_reason` without `[DONE]`. Stream and non-stream must
//! show the same answer.

use predicates::prelude::*;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server, Step, chunk_event};

fn setup() -> (Sandbox, Server) {
    let sb = Sandbox::new();
    let server = Server::start();
    let base = server.base();
    sb.run(&["provider", "add", "local", base.as_str(), "--model", "m1"])
        .success();
    sb.run(&["create", "ask", "Weather in {city}?"]).success();
    (sb, server)
}

fn run(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut full = vec![
        "run",
        "ask",
        "-p",
        "city=Paris",
        "--provider",
        "local",
        "-e",
    ];
    full.extend_from_slice(args);
    sb.aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .args(full)
        .write_stdin("")
        .assert()
}

fn event(v: serde_json::Value) -> String {
    format!("data: {v}\n\n")
}

fn delta_event(delta: serde_json::Value, finish: Option<&str>) -> String {
    event(json!({
        "id": "c", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    }))
}

/// A stream of `events` ending in `[DONE]`.
fn stream(events: &[String]) -> Reply {
    let mut all: Vec<&str> = events.iter().map(String::as_str).collect();
    all.push("data: [DONE]\n\n");
    Reply::sse_pieces(&all)
}

fn tool_call_stream() -> Reply {
    stream(&[
        delta_event(json!({"role": "assistant", "content": null}), None),
        delta_event(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
            None,
        ),
        delta_event(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
            None,
        ),
        delta_event(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
            None,
        ),
        delta_event(
            json!({"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
                "function": {"name": "get_time", "arguments": "{}"}}]}),
            None,
        ),
        delta_event(json!({}), Some("tool_calls")),
    ])
}

fn tool_call_answer() -> Reply {
    Reply::json(
        200,
        &json!({
            "id": "c1", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function",
                     "function": {"name": "get_time", "arguments": "{}"}}
                ]}}]
        }),
    )
}

const TOOL_CALLS_SHOWN: &str =
    "tool call get_weather: {\"city\":\"Paris\"}\ntool call get_time: {}\n";

#[test]
fn streamed_tool_calls_are_shown_assembled() {
    let (sb, server) = setup();
    server.push(tool_call_stream());
    run(&sb, &["--stream"])
        .success()
        .stdout(TOOL_CALLS_SHOWN)
        .stderr(predicate::str::contains("no text content").not());
}

#[test]
fn tool_calls_look_the_same_whole_and_streamed() {
    let (sb, server) = setup();
    server.push(tool_call_answer());
    run(&sb, &["--no-stream"])
        .success()
        .stdout(TOOL_CALLS_SHOWN)
        .stderr(predicate::str::contains("no text content").not());
    // With --json the raw chunks carry the calls.
    server.push(tool_call_stream());
    let a = run(&sb, &["--stream", "--json"]).success();
    let out = stdout(&a);
    assert!(out.contains("\"name\":\"get_weather\""), "{out}");
    assert!(!out.contains("tool call get_weather"), "{out}");
}

#[test]
fn a_streamed_refusal_is_the_answer() {
    let (sb, server) = setup();
    server.push(stream(&[
        delta_event(
            json!({"role": "assistant", "content": null, "refusal": ""}),
            None,
        ),
        delta_event(json!({"refusal": "I can't help "}), None),
        delta_event(json!({"refusal": "with that."}), None),
        delta_event(json!({}), Some("stop")),
    ]));
    run(&sb, &["--stream"])
        .success()
        .stdout("I can't help with that.\n");
    server.push(Reply::json(
        200,
        &json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": null, "refusal": "I can't help with that."}}]}),
    ));
    run(&sb, &["--no-stream"])
        .success()
        .stdout("I can't help with that.\n")
        .stderr(predicate::str::contains("no text content").not());
}

#[test]
fn an_empty_answer_warns_the_same_whole_and_streamed() {
    let (sb, server) = setup();
    server.push(stream(&[
        delta_event(json!({"role": "assistant", "content": ""}), None),
        delta_event(json!({}), Some("stop")),
    ]));
    let streamed = run(&sb, &["--stream"]).success().stdout("");
    server.push(Reply::json(
        200,
        &json!({"choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": null}}]}),
    ));
    let whole = run(&sb, &["--no-stream"]).success().stdout("");
    assert!(stderr(&streamed).contains("the answer has no text content"));
    assert_eq!(stderr(&streamed), stderr(&whole));
}

#[test]
fn a_json_reply_to_a_streaming_request_is_the_answer() {
    let (sb, server) = setup();
    server.push(Reply::answer("whole answer"));
    run(&sb, &["--stream", "-v"])
        .success()
        .stdout("whole answer\n")
        .stderr(predicate::str::contains(
            "tokens: 4 prompt + 2 completion = 6 total (finish: stop)",
        ));
    assert_eq!(server.last().json()["stream"], true);
    // With --json, the response itself, on one line.
    server.push(Reply::answer("whole answer"));
    let a = run(&sb, &["--stream", "--json"]).success();
    let out = stdout(&a);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "whole answer");
}

#[test]
fn a_json_error_reply_to_a_streaming_request_is_an_error() {
    let (sb, server) = setup();
    server.push(Reply::json(
        200,
        &json!({"error": {"message": "streaming is not supported", "type": "invalid_request_error"}}),
    ));
    let a = run(&sb, &["--stream"]).code(1).stdout("");
    insta::assert_snapshot!(stderr(&a).trim_end());
}

#[test]
fn an_error_frame_then_done_is_an_error() {
    // LiteLLM: one error frame, then [DONE].
    let (sb, server) = setup();
    server.push(stream(&[event(
        json!({"error": {"message": "litellm.BadRequestError: model not found", "type": null, "param": null, "code": "400"}}),
    )]));
    let a = run(&sb, &["--stream"]).code(1).stdout("");
    insta::assert_snapshot!(stderr(&a).trim_end());
}

#[test]
fn a_clean_end_after_finish_reason_is_normal() {
    let (sb, server) = setup();
    server.push(Reply::sse_pieces(&[
        &chunk_event("all "),
        &chunk_event("there"),
        &event(
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}),
        ),
    ]));
    run(&sb, &["--stream", "-v"])
        .success()
        .stdout("all there\n")
        .stderr(predicate::str::contains("(finish: stop)"));
}

#[test]
fn an_end_without_finish_reason_or_a_broken_body_still_fails() {
    let (sb, server) = setup();
    // Clean end, no finish_reason.
    server.push(Reply::sse_pieces(&[
        &chunk_event("cut "),
        &chunk_event("short"),
    ]));
    run(&sb, &["--stream"])
        .code(1)
        .stdout("cut short\n")
        .stderr(predicate::str::contains("ended before [DONE]"));
    // A finish_reason came, but the chunked body broke (no last chunk).
    let mut broken =
        Reply::sse_pieces(&[&chunk_event("half"), &delta_event(json!({}), Some("stop"))]);
    broken.steps.pop();
    server.push(broken.then(vec![Step::Write(b"ff\r\ndata: {\"cho".to_vec())]));
    run(&sb, &["--stream"])
        .code(1)
        .stdout("half\n")
        .stderr(predicate::str::contains("broke"));
}
