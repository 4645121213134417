//! The three wire protocols on the wire: chat completions (the default),
//! OpenAI's Responses API and Anthropic's Messages API. Requests (path,
//! auth headers, body keys), recorded-shape streams and whole answers,
//! errors in each shape, the REPL's turns, dry runs, and the key never
//! shown.

use insta::assert_snapshot;
use predicates::prelude::*;
use serde_json::{Value, json};

use crate::common::*;
use crate::server::{Reply, Server};

const KEY: &str = "sk-wire-canary-123";

/// A sandbox with provider `p` at the server, made with `extra` flags
/// (model `m`, key [`KEY`]), and the prompt `greet` with a system text.
fn setup(server: &Server, extra: &[&str]) -> Sandbox {
    let sb = Sandbox::new();
    let base = server.base();
    let mut args = vec!["provider", "add", "p", base.as_str(), "--model", "m"];
    args.extend_from_slice(extra);
    sb.run(&args).success();
    sb.aix()
        .args(["api-key", "p"])
        .write_stdin(format!("{KEY}\n"))
        .assert()
        .success();
    sb.run(&["create", "greet", "Hello {who}", "-s", "Be brief."])
        .success();
    sb
}

/// Provider `p` speaking Anthropic's Messages API, from the preset.
fn anthropic(server: &Server) -> Sandbox {
    setup(server, &["--preset", "anthropic"])
}

fn responses(server: &Server) -> Sandbox {
    setup(server, &["--wire", "responses"])
}

fn send(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    sb.aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .args(["run", "greet", "-p", "who=you", "--provider", "p", "-e"])
        .args(args)
        .write_stdin("")
        .assert()
}

/// Named events as SSE text: `event: NAME` and the data on one line.
fn events(items: &[(&str, Value)]) -> Vec<String> {
    items
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn sse(items: &[(&str, Value)]) -> Reply {
    let text = events(items);
    let refs: Vec<&str> = text.iter().map(String::as_str).collect();
    Reply::sse_pieces(&refs)
}

fn no_canary(a: &assert_cmd::assert::Assert) {
    for text in [stdout(a), stderr(a)] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("canary"), "{text}");
    }
}

// ---- Messages --------------------------------------------------------------

fn messages_stream(tail: &[(&str, Value)]) -> Reply {
    let mut items = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [], "stop_reason": null, "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Greeting back."}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": " there"}}),
        ),
    ];
    items.extend(tail.iter().cloned());
    sse(&items)
}

fn messages_end() -> Vec<(&'static str, Value)> {
    vec![
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 9}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]
}

#[test]
fn messages_streams_what_anthropic_sends() {
    let server = Server::start();
    let sb = anthropic(&server);
    server.push(messages_stream(&messages_end()));
    let a = send(&sb, &["--stream", "-v"])
        .success()
        .stdout("Hi there\n")
        .stderr(predicate::str::contains(
            "tokens: 12 prompt + 9 completion = 21 total (finish: end_turn)",
        ));
    no_canary(&a);
    let req = server.last();
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some(KEY));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.header("authorization"), None);
    let body = req.json();
    assert_eq!(
        body,
        json!({
            "model": "m",
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hello you"}],
            "max_tokens": 4096,
            "stream": true
        })
    );
    // Reasoning shows when asked for; the answer is the same.
    server.push(messages_stream(&messages_end()));
    let a = send(&sb, &["--stream", "--show-reasoning"]).success();
    assert!(stdout(&a).contains("Hi there"), "{}", stdout(&a));
    assert!(
        format!("{}{}", stdout(&a), stderr(&a)).contains("Greeting back."),
        "{}{}",
        stdout(&a),
        stderr(&a)
    );
    // The limit given replaces the default.
    server.push(messages_stream(&messages_end()));
    send(&sb, &["--stream", "--max-tokens", "50"]).success();
    assert_eq!(server.last().json()["max_tokens"], 50);
}

#[test]
fn messages_errors_keep_the_partial_answer() {
    let server = Server::start();
    let sb = anthropic(&server);
    // An error event mid-stream, echoing the key: exit 1, the text kept,
    // the key masked.
    server.push(messages_stream(&[(
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": format!("Overloaded (key {KEY})")}}),
    )]));
    let a = send(&sb, &["--stream"])
        .code(1)
        .stdout(predicate::str::starts_with("Hi there"));
    assert!(
        stderr(&a).contains("the server sent an error in the stream: Overloaded (key (sensitive))"),
        "{}",
        stderr(&a)
    );
    no_canary(&a);
    // A stream that stops before message_stop was cut short.
    server.push(messages_stream(&[]));
    let a = send(&sb, &["--stream"]).code(1);
    assert!(stdout(&a).starts_with("Hi there"), "{}", stdout(&a));
    assert!(
        stderr(&a).contains("ended before message_stop"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn messages_whole_answers_and_anthropic_errors() {
    let server = Server::start();
    let sb = anthropic(&server);
    server.push(Reply::json(
        200,
        &json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [
                {"type": "thinking", "thinking": "Short.", "signature": "x"},
                {"type": "text", "text": "Hello!"}
            ],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 5, "output_tokens": 3}
        }),
    ));
    send(&sb, &["-v"])
        .success()
        .stdout("Hello!\n")
        .stderr(predicate::str::contains(
            "tokens: 5 prompt + 3 completion = 8 total (finish: end_turn)",
        ));
    assert_eq!(server.last().json()["stream"], false);
    // A model the server does not know, in Anthropic's words.
    server.push(Reply::json(
        404,
        &json!({"type": "error", "error": {"type": "not_found_error", "message": "model: claude-nope"}}),
    ));
    let a = send(&sb, &["--model", "claude-nope"]).code(1);
    let err = stderr(&a);
    assert!(
        err.contains("Model 'claude-nope' not found: model: claude-nope"),
        "{err}"
    );
    assert!(err.contains("aix provider models p"), "{err}");
    // A 401 echoing the key: masked, with the usual hint.
    server.push(Reply::json(
        401,
        &json!({"type": "error", "error": {"type": "authentication_error", "message": format!("invalid x-api-key {KEY}")}}),
    ));
    let a = send(&sb, &[]).code(1);
    let err = stderr(&a);
    assert!(
        err.contains("401 Unauthorized: invalid x-api-key (sensitive)"),
        "{err}"
    );
    assert!(err.contains("aix api-key p"), "{err}");
    no_canary(&a);
    // 529 (overloaded) is retried like 503.
    server.push(Reply::json(
        529,
        &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ));
    server.push(Reply::json(
        200,
        &json!({"type": "message", "content": [{"type": "text", "text": "after a retry"}], "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}),
    ));
    let a = send(&sb, &[]).success().stdout("after a retry\n");
    assert!(
        stderr(&a).contains("529 Overloaded; retrying"),
        "{}",
        stderr(&a)
    );
    // Three 529s: the error says what the server said.
    for _ in 0..3 {
        server.push(Reply::json(
            529,
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ));
    }
    let a = send(&sb, &[]).code(1);
    assert!(
        stderr(&a).contains("529 Overloaded: Overloaded"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn the_repl_carries_the_conversation_over_messages() {
    let server = Server::start();
    let sb = anthropic(&server);
    server.push(messages_stream(&messages_end()));
    server.push(messages_stream(&messages_end()));
    let a = sb
        .aix()
        .args(["repl", "--provider", "p", "--prompt", "greet"])
        .write_stdin("hello\nand then?\n")
        .assert()
        .success();
    assert_eq!(stdout(&a), "Hi there\nHi there\n");
    no_canary(&a);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.path, "/v1/messages");
        assert_eq!(r.header("x-api-key"), Some(KEY));
    }
    let second = reqs[1].json();
    assert_eq!(second["system"], "Be brief.");
    assert_eq!(
        second["messages"],
        json!([
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "Hi there"},
            {"role": "user", "content": "and then?"}
        ])
    );
}

// ---- Responses -------------------------------------------------------------

fn responses_stream(tail: &[(&str, Value)]) -> Reply {
    let mut items = vec![
        (
            "response.created",
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}}),
        ),
        (
            "response.output_item.added",
            json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": []}}),
        ),
        (
            "response.reasoning_summary_text.delta",
            json!({"type": "response.reasoning_summary_text.delta", "sequence_number": 2, "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "Thinking it over."}),
        ),
        (
            "response.output_item.added",
            json!({"type": "response.output_item.added", "sequence_number": 3, "output_index": 1, "item": {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
        ),
        (
            "response.content_part.added",
            json!({"type": "response.content_part.added", "sequence_number": 4, "item_id": "msg_1", "output_index": 1, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
        ),
        (
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "sequence_number": 5, "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "Hi"}),
        ),
        (
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "sequence_number": 6, "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": " there"}),
        ),
    ];
    items.extend(tail.iter().cloned());
    sse(&items)
}

fn responses_end() -> Vec<(&'static str, Value)> {
    vec![
        (
            "response.output_text.done",
            json!({"type": "response.output_text.done", "sequence_number": 7, "item_id": "msg_1", "output_index": 1, "content_index": 0, "text": "Hi there"}),
        ),
        (
            "response.completed",
            json!({"type": "response.completed", "sequence_number": 8, "response": {"id": "resp_1", "status": "completed", "usage": {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}}}),
        ),
    ]
}

#[test]
fn responses_streams_what_openai_sends() {
    let server = Server::start();
    let sb = responses(&server);
    server.push(responses_stream(&responses_end()));
    let a = send(&sb, &["--stream", "-v", "--max-tokens", "20"])
        .success()
        .stdout("Hi there\n")
        .stderr(predicate::str::contains(
            "tokens: 11 prompt + 4 completion = 15 total (finish: completed)",
        ));
    no_canary(&a);
    let req = server.last();
    assert_eq!(req.path, "/v1/responses");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        req.json(),
        json!({
            "model": "m",
            "input": [{"role": "user", "content": "Hello you"}],
            "instructions": "Be brief.",
            "stream": true,
            "max_output_tokens": 20
        })
    );
    // --json prints each event's data as it came.
    server.push(responses_stream(&responses_end()));
    let a = send(&sb, &["--stream", "--json"]).success();
    let lines: Vec<Value> = stdout(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 9, "{}", stdout(&a));
    assert_eq!(lines[8]["type"], "response.completed");
}

#[test]
fn responses_refusals_failures_and_incomplete_answers() {
    let server = Server::start();
    let sb = responses(&server);
    server.push(sse(&[
        (
            "response.refusal.delta",
            json!({"type": "response.refusal.delta", "delta": "I can't help with that."}),
        ),
        (
            "response.completed",
            json!({"type": "response.completed", "response": {"status": "completed"}}),
        ),
    ]));
    send(&sb, &["--stream"])
        .success()
        .stdout(predicate::str::contains("I can't help with that."));
    // response.failed: exit 1, the text kept, the key masked.
    server.push(responses_stream(&[(
        "response.failed",
        json!({"type": "response.failed", "response": {"status": "failed", "error": {"code": "server_error", "message": format!("failed for {KEY}")}}}),
    )]));
    let a = send(&sb, &["--stream"]).code(1);
    assert!(stdout(&a).starts_with("Hi there"), "{}", stdout(&a));
    assert!(
        stderr(&a).contains("the server sent an error in the stream: failed for (sensitive)"),
        "{}",
        stderr(&a)
    );
    no_canary(&a);
    // An `error` event likewise.
    server.push(responses_stream(&[(
        "error",
        json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": null}),
    )]));
    let a = send(&sb, &["--stream"]).code(1);
    assert!(stderr(&a).contains("slow down"), "{}", stderr(&a));
    // response.incomplete ends the answer with a warning.
    server.push(responses_stream(&[(
        "response.incomplete",
        json!({"type": "response.incomplete", "response": {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}}}),
    )]));
    let a = send(&sb, &["--stream"]).success().stdout("Hi there\n");
    assert!(
        stderr(&a).contains("the answer is incomplete (max_output_tokens)"),
        "{}",
        stderr(&a)
    );
    // No response.completed: cut short.
    server.push(responses_stream(&[]));
    let a = send(&sb, &["--stream"]).code(1);
    assert!(
        stderr(&a).contains("ended before response.completed"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn responses_whole_answers() {
    let server = Server::start();
    let sb = responses(&server);
    server.push(Reply::json(
        200,
        &json!({
            "id": "resp_1", "object": "response", "status": "completed",
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Brief."}]},
                {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": "Hello!", "annotations": []}]}
            ],
            "usage": {"input_tokens": 6, "output_tokens": 2, "total_tokens": 8}
        }),
    ));
    send(&sb, &["-v"])
        .success()
        .stdout("Hello!\n")
        .stderr(predicate::str::contains(
            "tokens: 6 prompt + 2 completion = 8 total (finish: completed)",
        ));
    let body = server.last().json();
    assert_eq!(body["stream"], false);
    assert!(body.get("messages").is_none(), "{body}");
    // A failed response with a 200 status is an error, the key masked.
    server.push(Reply::json(
        200,
        &json!({"id": "resp_2", "object": "response", "status": "failed", "output": [],
                "error": {"code": "server_error", "message": format!("no luck with {KEY}")}}),
    ));
    let a = send(&sb, &[]).code(1);
    assert!(
        stderr(&a)
            .contains("the server answered that the request failed: no luck with (sensitive)"),
        "{}",
        stderr(&a)
    );
    no_canary(&a);
    // The REPL's second turn carries the first as input items.
    server.push(responses_stream(&responses_end()));
    server.push(responses_stream(&responses_end()));
    sb.aix()
        .args(["repl", "--provider", "p"])
        .write_stdin("one\ntwo\n")
        .assert()
        .success()
        .stdout("Hi there\nHi there\n");
    assert_eq!(
        server.last().json()["input"],
        json!([
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "Hi there"},
            {"role": "user", "content": "two"}
        ])
    );
}

// ---- Both ------------------------------------------------------------------

/// What each wire's dry run shows: the URL, the auth header masked, the
/// body in the protocol's shape.
#[test]
fn dry_runs_show_each_wire() {
    for (name, flags) in [
        ("chat", vec![]),
        ("responses", vec!["--wire", "responses"]),
        ("messages", vec!["--preset", "anthropic"]),
    ] {
        let sb = Sandbox::new();
        let mut args = vec![
            "provider",
            "add",
            "p",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
        ];
        args.extend_from_slice(&flags);
        sb.run(&args).success();
        sb.aix()
            .args(["api-key", "p"])
            .write_stdin(format!("{KEY}\n"))
            .assert()
            .success();
        sb.run(&["create", "greet", "Hello {who}", "-s", "Be brief."])
            .success();
        let a = sb
            .run(&[
                "run",
                "greet",
                "-p",
                "who=you",
                "--provider",
                "p",
                "--max-tokens",
                "64",
            ])
            .success();
        no_canary(&a);
        assert_snapshot!(format!("dry_run_{name}"), stdout(&a));
        // Without a limit, Messages still sends its required max_tokens.
        let a = sb
            .run(&["run", "greet", "-p", "who=you", "--provider", "p"])
            .success();
        assert_eq!(
            stdout(&a).contains("max_tokens: 4096"),
            name == "messages",
            "{}",
            stdout(&a)
        );
    }
}

/// `provider check` and `provider models` on Anthropic: GET /models with
/// x-api-key and anthropic-version; without /models, the one-token
/// request is in the provider's protocol.
#[test]
fn check_and_models_speak_each_wire() {
    let server = Server::start();
    let sb = anthropic(&server);
    server.push(Reply::json(
        200,
        &json!({"data": [{"type": "model", "id": "claude-a", "display_name": "A"}], "has_more": false}),
    ));
    sb.run(&["provider", "models", "p"])
        .success()
        .stdout(predicate::str::contains("claude-a"));
    let req = server.last();
    assert_eq!(req.path, "/v1/models");
    assert_eq!(req.header("x-api-key"), Some(KEY));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    server.push(Reply::json(
        404,
        &json!({"type": "error", "error": {"type": "not_found_error", "message": "Not found"}}),
    ));
    server.push(Reply::json(
        200,
        &json!({"type": "message", "content": [{"type": "text", "text": "p"}], "stop_reason": "max_tokens", "usage": {"input_tokens": 1, "output_tokens": 1}}),
    ));
    let a = sb.run(&["provider", "check", "p"]).success();
    no_canary(&a);
    let req = server.last();
    assert_eq!(req.path, "/v1/messages");
    let body = req.json();
    assert_eq!(body["max_tokens"], 1);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "ping"}])
    );
}

/// A model entry may speak another protocol than its provider.
#[test]
fn a_model_entry_sets_its_wire() {
    let server = Server::start();
    let sb = setup(&server, &[]);
    let m = sb.root.join("providers.toml");
    std::fs::write(
        &m,
        format!(
            "[providers.q]\nbase_url = \"{}\"\ndefault_model = \"r\"\n\n[providers.q.models.r]\nid = \"gpt-r\"\nwire = \"responses\"\n",
            server.base()
        ),
    )
    .unwrap();
    sb.run(&["validate", "--strict", m.to_str().unwrap()])
        .success();
    sb.run(&["apply", "-f", m.to_str().unwrap()]).success();
    server.push(responses_stream(&responses_end()));
    sb.aix()
        .args([
            "run",
            "greet",
            "-p",
            "who=x",
            "--provider",
            "q",
            "-e",
            "--stream",
        ])
        .write_stdin("")
        .assert()
        .success()
        .stdout("Hi there\n");
    let req = server.last();
    assert_eq!(req.path, "/v1/responses");
    assert_eq!(req.json()["model"], "gpt-r");
    // Chat stays the default for the provider's other models.
    server.push(Reply::answer("chat"));
    sb.aix()
        .args([
            "run",
            "greet",
            "-p",
            "who=x",
            "--provider",
            "q",
            "-e",
            "--model",
            "other",
        ])
        .write_stdin("")
        .assert()
        .success()
        .stdout("chat\n");
    assert_eq!(server.last().path, "/v1/chat/completions");
}

/// The anthropic preset reads the key from $ANTHROPIC_API_KEY, and the
/// built-in `anthropic` provider speaks Messages through the same preset.
#[test]
fn the_anthropic_preset_and_builtin() {
    let server = Server::start();
    let sb = Sandbox::new();
    sb.run(&[
        "provider",
        "add",
        "p",
        &server.base(),
        "--preset",
        "anthropic",
        "--model",
        "m",
    ])
    .success();
    sb.run(&["create", "greet", "Hello {who}"]).success();
    server.push(Reply::json(
        200,
        &json!({"type": "message", "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}),
    ));
    let a = sb
        .aix()
        .env("ANTHROPIC_API_KEY", KEY)
        .args(["run", "greet", "-p", "who=you", "--provider", "p", "-e"])
        .write_stdin("")
        .assert()
        .success()
        .stdout("ok\n");
    no_canary(&a);
    let req = server.last();
    assert_eq!(req.header("x-api-key"), Some(KEY));
    assert_eq!(req.header("authorization"), None);
    let a = sb
        .aix()
        .env("ANTHROPIC_API_KEY", KEY)
        .args([
            "run",
            "greet",
            "-p",
            "who=you",
            "--provider",
            "anthropic",
            "--model",
            "claude-x",
        ])
        .write_stdin("")
        .assert()
        .success();
    no_canary(&a);
    let out = stdout(&a);
    assert!(
        out.contains("POST https://api.anthropic.com/v1/messages"),
        "{out}"
    );
    assert!(out.contains("x-api-key: (sensitive)"), "{out}");
    assert!(out.contains("anthropic-version: 2023-06-01"), "{out}");
    assert!(out.contains("max_tokens: 4096"), "{out}");
}
