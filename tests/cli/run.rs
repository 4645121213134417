//! `aix run` against the in-test server: what goes on the wire, what the
//! user sees, and every failure SPEC §4 names.

use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server, Step, chunk_event};

/// A sandbox with provider `local` pointing at a fresh server, a key, and
/// a prompt `greet` ("Hello {who}").
fn setup(extra: &[&str]) -> (Sandbox, Server) {
    let sb = Sandbox::new();
    let server = Server::start();
    let base = server.base();
    let mut args = vec!["provider", "add", "local", base.as_str()];
    args.extend_from_slice(&["--model", "m1"]);
    args.extend_from_slice(extra);
    sb.run(&args).success();
    sb.aix()
        .args(["api-key", "local"])
        .write_stdin("sk-wire-canary\n")
        .assert()
        .success();
    sb.run(&["create", "greet", "Hello {who}", "-s", "Be brief."])
        .success();
    (sb, server)
}

fn run(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut full = vec!["run", "greet", "-p", "who=Ann", "--provider", "local"];
    full.extend_from_slice(args);
    sb.aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .args(full)
        .write_stdin("")
        .assert()
}

#[test]
fn dry_run_shows_the_request_and_sends_nothing() {
    let (sb, server) = setup(&["-H", "X-Title: aix-test"]);
    let a = run(&sb, &[]).success();
    let out = stdout(&a);
    for want in [
        "provider: local",
        &format!("request:  POST {}/chat/completions", server.base()),
        "model:    m1",
        "Authorization: (sensitive)",
        "X-Title: aix-test",
        "--- system ---\nBe brief.",
        "--- user ---\nHello Ann",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    assert!(!out.contains("canary") && !stderr(&a).contains("canary"));
    assert!(stderr(&a).contains("dry run: nothing was sent"));
    let j: serde_json::Value = serde_json::from_str(&stdout(
        &run(&sb, &["--json", "--max-tokens", "9"]).success(),
    ))
    .unwrap();
    assert_eq!(
        j["body"]["messages"][1],
        json!({"role": "user", "content": "Hello Ann"})
    );
    assert_eq!(j["body"]["max_tokens"], 9);
    assert_eq!(j["headers"]["Authorization"], "(sensitive)");
    run(&sb, &["-e", "-n"])
        .success()
        .stderr(predicate::str::contains("dry run"));
    let file = sb.root.join("rendered.txt");
    run(&sb, &["-o", file.to_str().unwrap()]).success();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "Hello Ann");
    assert!(server.requests().is_empty(), "a dry run sends nothing");
    let shown = run(&sb, &["--show-secrets"]).success();
    assert!(stdout(&shown).contains("Authorization: Bearer sk-wire-canary"));
}

#[test]
fn execute_sends_exactly_what_the_dry_run_showed() {
    let (sb, server) = setup(&[
        "-H",
        "X-Title: aix-test",
        "-H",
        "X-Team: ${env:AIX_TEST_TEAM}",
    ]);
    sb.run(&["config", "set", "temperature", "0.25"]).success();
    server.push(Reply::answer("Hi Ann!"));
    sb.aix()
        .env("AIX_TEST_TEAM", "blue")
        .args([
            "run",
            "greet",
            "-p",
            "who=Ann",
            "--provider",
            "local",
            "-e",
            "--max-tokens",
            "50",
        ])
        .assert()
        .success()
        .stdout("Hi Ann!\n");
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(req.header("authorization"), Some("Bearer sk-wire-canary"));
    assert_eq!(req.header("x-title"), Some("aix-test"));
    assert_eq!(
        req.header("x-team"),
        Some("blue"),
        "${{env:...}} resolved at send time"
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.header("user-agent"),
        Some(format!("aix/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(
        req.json(),
        json!({
            "model": "m1",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Ann"}],
            "stream": false,
            "max_tokens": 50,
            "temperature": 0.25
        })
    );
}

#[test]
fn unset_env_reference_is_an_error_naming_it() {
    let (sb, server) = setup(&["-H", "X-Team: ${env:AIX_TEST_NOT_SET}"]);
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains("AIX_TEST_NOT_SET is not set"));
    assert!(server.requests().is_empty());
    // The dry run still works and shows the reference.
    run(&sb, &[])
        .success()
        .stdout(predicate::str::contains("X-Team: ${env:AIX_TEST_NOT_SET}"));
}

#[test]
fn json_prints_the_whole_response_and_verbose_shows_usage() {
    let (sb, server) = setup(&[]);
    server.push(Reply::answer("x"));
    let a = run(&sb, &["-e", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["usage"]["total_tokens"], 6);
    server.push(Reply::answer("y"));
    run(&sb, &["-e", "-v"])
        .success()
        .stdout("y\n")
        .stderr(predicate::str::contains(
            "tokens: 4 prompt + 2 completion = 6 total",
        ))
        .stderr(predicate::str::contains("Authorization: (sensitive)"))
        .stderr(predicate::str::contains("canary").not());
}

#[test]
fn streams_split_anywhere() {
    let (sb, server) = setup(&[]);
    // Events split mid-line and mid-CRLF, comments, a role-only chunk,
    // reasoning, an empty-choices usage chunk, then [DONE].
    let body = concat!(
        ": keep-alive\r\n\r\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"pondering\"}}]}\r\n\r\n",
        "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n",
        "event: message\r\nid: 3\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"}}]}\r\n\r\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\r\n\r\n",
        "data: [DONE]\r\n\r\n",
    );
    let bytes = body.as_bytes();
    let pieces: Vec<String> = bytes
        .chunks(7)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    server.push(Reply::sse_pieces(&refs));
    run(&sb, &["-e", "--stream", "-v"])
        .success()
        .stdout("Hello é\n")
        .stderr(predicate::str::contains(
            "tokens: 7 prompt + 3 completion = 10 total (finish: stop)",
        ));
    let sent = server.last().json();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);

    server.push(Reply::sse_pieces(&refs));
    run(&sb, &["-e", "--stream", "--show-reasoning"])
        .success()
        .stdout("pondering\n\nHello é\n");

    // config streaming=true streams without the flag; --no-stream wins.
    sb.run(&["config", "set", "streaming", "true"]).success();
    server.push(Reply::stream(&["a", "b"]));
    run(&sb, &["-e"]).success().stdout("ab\n");
    assert_eq!(server.last().json()["stream"], true);
    server.push(Reply::answer("whole"));
    run(&sb, &["-e", "--no-stream"]).success().stdout("whole\n");
    assert_eq!(server.last().json()["stream"], false);
}

#[test]
fn stream_json_prints_one_chunk_per_line() {
    let (sb, server) = setup(&[]);
    server.push(Reply::stream(&["a", "b"]));
    let out = stdout(&run(&sb, &["-e", "--stream", "--json"]).success());
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["choices"][0]["delta"]["content"], "b");
}

#[test]
fn stream_failures_print_what_came_then_fail() {
    let (sb, server) = setup(&[]);
    server.push(Reply::sse_pieces(&[
        &chunk_event("partial "),
        "data: {\"error\":{\"message\":\"model overloaded\",\"type\":\"server_error\"}}\n\n",
    ]));
    run(&sb, &["-e", "--stream"])
        .code(1)
        .stdout("partial \n")
        .stderr(predicate::str::contains(
            "the server sent an error in the stream: model overloaded",
        ));

    server.push(Reply::sse_pieces(&[
        &chunk_event("cut "),
        &chunk_event("short"),
    ]));
    run(&sb, &["-e", "--stream"])
        .code(1)
        .stdout("cut short\n")
        .stderr(predicate::str::contains("ended before [DONE]"));

    server.push(Reply::sse_pieces(&[
        &chunk_event("ok"),
        "data: {\"choices\": [\n\n",
    ]));
    run(&sb, &["-e", "--stream"])
        .code(1)
        .stdout("ok\n")
        .stderr(predicate::str::contains("not valid JSON"));

    // The connection drops mid-chunk.
    let mut dropped = Reply::sse_pieces(&[&chunk_event("dropped")]);
    dropped.steps.truncate(2);
    server.push(dropped.then(vec![Step::Write(b"ff\r\ndata: {\"cho".to_vec())]));
    run(&sb, &["-e", "--stream"])
        .code(1)
        .stdout("dropped\n")
        .stderr(predicate::str::contains("broke").or(predicate::str::contains("ended before")));
}

#[test]
fn http_errors_carry_the_server_message_and_a_hint() {
    let (sb, server) = setup(&[]);
    server.push(Reply::json(
        401,
        &json!({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}),
    ));
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains(
            "error: 401 Unauthorized: Incorrect API key provided",
        ))
        .stderr(predicate::str::contains(
            "hint: set the key with `aix api-key local`",
        ))
        .stderr(predicate::str::contains("canary").not());
    server.push(Reply::json(403, &json!({"error": "forbidden here"})));
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains("403 Forbidden: forbidden here"));
    server.push(Reply::json(
        404,
        &json!({"error": {"message": "The model `m1` does not exist", "code": "model_not_found"}}),
    ));
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains(
            "error: Model 'm1' not found: The model `m1` does not exist",
        ))
        .stderr(predicate::str::contains("--model"))
        .stderr(predicate::str::contains("aix provider models local"));
    // LiteLLM answers an unknown model with 400.
    server.push(Reply::json(
        400,
        &json!({"error": {"message": "Invalid model name passed in model=m1"}}),
    ));
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains("Model 'm1' not found"));
    server.push(Reply::body(404, "text/plain", b"404 page not found", &[]));
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains(
            "404 Not Found: 404 page not found",
        ))
        .stderr(predicate::str::contains("/v1"));
    server.push(Reply::json(
        400,
        &json!({"detail": "messages: field required"}),
    ));
    run(&sb, &["-e"]).code(1).stderr(predicate::str::contains(
        "400 Bad Request: messages: field required",
    ));
    // No retries for 4xx.
    assert_eq!(server.requests().len(), 6);
}

#[test]
fn retries_5xx_and_429_before_any_output() {
    let (sb, server) = setup(&[]);
    let html = b"<html><head><title>502</title></head><body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body></html>";
    for _ in 0..3 {
        server.push(Reply::body(502, "text/html", html, &[]));
    }
    run(&sb, &["-e"])
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("retrying").count(2))
        .stderr(predicate::str::contains(
            "502 Bad Gateway: 502 502 Bad Gateway nginx",
        ));
    assert_eq!(server.requests().len(), 3);

    server.push(Reply::json(500, &json!({"error": {"message": "boom"}})));
    server.push(Reply::answer("recovered"));
    run(&sb, &["-e"]).success().stdout("recovered\n");

    server.push(Reply::body(
        429,
        "application/json",
        br#"{"error":{"message":"slow down"}}"#,
        &[("retry-after", "1")],
    ));
    server.push(Reply::stream(&["after wait"]));
    let started = Instant::now();
    run(&sb, &["-e", "--stream"])
        .success()
        .stdout("after wait\n")
        .stderr(predicate::str::contains(
            "429 Too Many Requests; retrying in 1.0 s",
        ));
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );

    server.push(Reply::body(
        429,
        "application/json",
        br#"{"error":{"message":"quota"}}"#,
        &[("retry-after", "3600")],
    ));
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains("429 Too Many Requests: quota"));
}

#[test]
fn connection_failures_name_the_base_url() {
    let sb = Sandbox::new();
    // A port nothing listens on: bind, learn it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    sb.run(&["provider", "add", "gone", &base, "-m", "m"])
        .success();
    sb.run(&["create", "p", "x"]).success();
    sb.aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .args(["run", "p", "--provider", "gone", "-e"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "error: Connection failed to {base}: connection refused"
        )))
        .stderr(predicate::str::contains("retrying").count(2))
        .stderr(predicate::str::contains("aix provider check gone"));
    sb.run(&[
        "provider",
        "add",
        "nxdomain",
        "http://no-such-host.invalid/v1",
        "-m",
        "m",
    ])
    .success();
    sb.aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .args(["run", "p", "--provider", "nxdomain", "-e"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Connection failed to http://no-such-host.invalid/v1",
        ));
}

#[test]
fn timeouts_end_the_wait() {
    let (sb, server) = setup(&[]);
    server.push(Reply {
        steps: vec![Step::Stall(Duration::from_secs(10))],
    });
    let started = Instant::now();
    run(&sb, &["-e", "--timeout", "1"])
        .code(1)
        .stderr(predicate::str::contains(format!(
            "Request to {} timed out after 1 s",
            server.base()
        )));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Headers and some text, then silence: an idle stream times out too.
    let mut head_and_text = Reply::sse_pieces(&[&chunk_event("so far")]);
    head_and_text.steps.truncate(2);
    server.push(head_and_text.then(vec![Step::Stall(Duration::from_secs(10))]));
    let started = Instant::now();
    run(&sb, &["-e", "--stream", "--timeout", "1"])
        .code(1)
        .stdout("so far\n")
        .stderr(predicate::str::contains("timed out after 1 s"));
    assert!(started.elapsed() < Duration::from_secs(5));

    // The provider's timeout_secs applies when no flag is given.
    sb.run(&["config", "set", "custom_providers.local.timeout_secs", "1"])
        .success();
    server.push(Reply {
        steps: vec![Step::Stall(Duration::from_secs(10))],
    });
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains("timed out after 1 s"));
}

#[test]
fn redirects_stay_on_the_same_origin() {
    let (sb, server) = setup(&[]);
    let other = Server::start();
    let to_other = format!("{}/v1/chat/completions", other.base());
    server.push(Reply::body(
        307,
        "text/plain",
        b"",
        &[("location", to_other.as_str())],
    ));
    run(&sb, &["-e"])
        .code(1)
        .stderr(predicate::str::contains("another origin"));
    assert!(
        other.requests().is_empty(),
        "nothing, and no key, sent cross-origin"
    );

    server.push(Reply::body(
        308,
        "text/plain",
        b"",
        &[("location", "/v2/chat/completions")],
    ));
    server.push(Reply::answer("moved"));
    run(&sb, &["-e"]).success().stdout("moved\n");
    let last = server.last();
    assert_eq!(last.path, "/v2/chat/completions");
    assert_eq!(last.header("authorization"), Some("Bearer sk-wire-canary"));
}

#[test]
fn parameters_stdin_and_files() {
    let (sb, server) = setup(&[]);
    sb.run(&["create", "two", "{a} and {b} and {input}"])
        .success();
    let a = sb
        .aix()
        .args(["run", "two", "--provider", "local"])
        .write_stdin("")
        .assert()
        .code(64);
    assert!(
        stderr(&a).contains("missing parameters for prompt 'two': a, b, input"),
        "{}",
        stderr(&a)
    );
    assert!(stderr(&a).contains("--param a=VALUE --param b=VALUE --param input=VALUE"));
    sb.aix()
        .args([
            "run",
            "two",
            "--provider",
            "local",
            "-p",
            "a=1",
            "-p",
            "b=2",
            "-p",
            "c=3",
        ])
        .assert()
        .code(64)
        .stderr(predicate::str::contains(
            "unknown parameter c for prompt 'two'",
        ));
    sb.aix()
        .args(["run", "two", "--provider", "local", "-p", "noequals"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("KEY=VALUE"));
    let file = sb.root.join("b.txt");
    std::fs::write(&file, "from file").unwrap();
    server.push(Reply::answer("ok"));
    sb.aix()
        .args([
            "run",
            "two",
            "--provider",
            "local",
            "-e",
            "-p",
            "a=@@at",
            "-p",
        ])
        .arg(format!("b=@{}", file.display()))
        .write_stdin("piped text\n")
        .assert()
        .success();
    assert_eq!(
        server.last().json()["messages"][0]["content"],
        "@at and from file and piped text"
    );
    sb.aix()
        .args([
            "run",
            "two",
            "--provider",
            "local",
            "-p",
            "a=@/no/such",
            "-p",
            "b=x",
            "-p",
            "input=y",
        ])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("cannot read /no/such"));
}

#[test]
fn model_and_provider_resolution() {
    let sb = Sandbox::new();
    let server = Server::start();
    sb.run(&["provider", "add", "bare", &server.base()])
        .success();
    sb.run(&["create", "p", "x"]).success();
    sb.run(&["run", "p", "--provider", "bare"])
        .code(64)
        .stderr(predicate::str::contains(
            "no model to use with provider 'bare'",
        ))
        .stderr(predicate::str::contains("--model"));
    sb.run(&["run", "p", "--provider", "custom:bare", "-m", "mx"])
        .success()
        .stdout(predicate::str::contains("model:    mx"));
    // Defaults from config: default_provider and its default_model.
    sb.run(&["config", "set", "default_provider", "bare"])
        .success();
    sb.run(&["config", "set", "default_model", "cfg-model"])
        .success();
    sb.run(&["run", "p"])
        .success()
        .stdout(predicate::str::contains("model:    cfg-model"));
    sb.run(&["run", "p", "--provider", "ghost"])
        .code(1)
        .stderr(predicate::str::contains(
            "Custom provider 'ghost' not found",
        ));
    // Without any default the provider is openai, whose key comes from the environment.
    sb.run(&["config", "unset", "default_provider"]).success();
    let a = sb
        .aix()
        .args(["run", "p"])
        .env("OPENAI_API_KEY", "sk-env-canary")
        .assert()
        .success();
    assert!(stdout(&a).contains("request:  POST https://api.openai.com/v1/chat/completions"));
    assert!(stdout(&a).contains("Authorization: (sensitive)"));
    assert!(!stdout(&a).contains("sk-env-canary"));
    sb.run(&["run", "p"])
        .success()
        .stderr(predicate::str::contains("no API key for 'openai'"));
    assert!(server.requests().is_empty());
}

#[test]
fn key_from_api_key_env_and_api_key_auth() {
    let sb = Sandbox::new();
    let server = Server::start();
    sb.run(&[
        "provider",
        "add",
        "envkey",
        &server.base(),
        "-m",
        "m",
        "--api-key-env",
        "AIX_TEST_KEY",
    ])
    .success();
    sb.run(&[
        "provider",
        "add",
        "hdr",
        &server.base(),
        "-m",
        "m",
        "--auth-type",
        "api-key",
        "-H",
        "X-API-Key: ${env:AIX_TEST_KEY}",
    ])
    .success();
    sb.aix()
        .args(["api-key", "hdr"])
        .write_stdin("stored-but-unsent\n")
        .assert()
        .success();
    sb.run(&["create", "p", "x"]).success();
    server.push(Reply::answer("a"));
    sb.aix()
        .env("AIX_TEST_KEY", "from-env")
        .args(["run", "p", "--provider", "envkey", "-e"])
        .assert()
        .success();
    assert_eq!(
        server.last().header("authorization"),
        Some("Bearer from-env")
    );
    server.push(Reply::answer("b"));
    sb.aix()
        .env("AIX_TEST_KEY", "hdr-key")
        .args(["run", "p", "--provider", "hdr", "-e"])
        .assert()
        .success();
    let req = server.last();
    assert_eq!(req.header("x-api-key"), Some("hdr-key"));
    assert_eq!(
        req.header("authorization"),
        None,
        "api-key auth sends no Authorization"
    );
}

#[test]
fn output_file_gets_the_answer() {
    let (sb, server) = setup(&[]);
    let file = sb.root.join("answer.md");
    server.push(Reply::stream(&["# Title\n", "body"]));
    run(&sb, &["-e", "--stream", "-o", file.to_str().unwrap()])
        .success()
        .stdout("")
        .stderr(predicate::str::contains("Wrote the answer to"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# Title\nbody");
    server.push(Reply::answer("whole"));
    run(&sb, &["-e", "-o", file.to_str().unwrap()]).success();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "whole");
}

#[test]
fn provider_models_and_check() {
    let (sb, server) = setup(&[]);
    server.push(Reply::json(200, &json!({"object": "list", "data": [{"id": "zeta", "owned_by": "me"}, {"id": "alpha", "owned_by": "you"}]})));
    let out = stdout(&sb.run(&["provider", "models", "local"]).success());
    assert_eq!(
        out,
        "ID     OWNED BY  DECLARED AS\nalpha  you       -\nzeta   me        -\n"
    );
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(req.header("authorization"), Some("Bearer sk-wire-canary"));
    server.push(Reply::json(200, &json!({"data": [{"id": "a"}]})));
    let j: serde_json::Value = serde_json::from_str(&stdout(
        &sb.run(&["provider", "models", "local", "--json"]).success(),
    ))
    .unwrap();
    assert_eq!(j[0]["id"], "a");
    server.push(Reply::json(401, &json!({"error": {"message": "bad key"}})));
    sb.run(&["provider", "models", "local"])
        .code(1)
        .stderr(predicate::str::contains("401 Unauthorized: bad key"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    sb.run(&[
        "provider",
        "add",
        "down",
        &format!("http://127.0.0.1:{port}/v1"),
    ])
    .success();
    server.push(Reply::json(
        200,
        &json!({"data": [{"id": "a"}, {"id": "b"}]}),
    ));
    let a = sb.run(&["provider", "check"]).code(1);
    let out = stdout(&a);
    assert!(
        out.lines()
            .any(|l| l.starts_with("local") && l.contains("ok") && l.contains("2 models")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("down")
            && l.contains("FAIL")
            && l.contains("Connection failed")),
        "{out}"
    );
    assert!(stderr(&a).contains("1 of 2 providers failed the check"));
    server.push(Reply::json(200, &json!({"data": []})));
    let j: serde_json::Value = serde_json::from_str(&stdout(
        &sb.run(&["provider", "check", "local", "--json"]).success(),
    ))
    .unwrap();
    assert_eq!(j[0]["ok"], true);
    assert!(j[0]["latency_ms"].is_u64());
}

#[test]
fn proxies_come_from_the_environment() {
    let sb = Sandbox::new();
    let proxy = Server::start();
    sb.run(&[
        "provider",
        "add",
        "far",
        "http://far.example.invalid/v1",
        "-m",
        "m",
    ])
    .success();
    sb.run(&["create", "p", "x"]).success();
    proxy.push(Reply::answer("via proxy"));
    sb.aix()
        .env("HTTP_PROXY", &proxy.addr)
        .args(["run", "p", "--provider", "far", "-e"])
        .assert()
        .success()
        .stdout("via proxy\n");
    let reqs = proxy.requests();
    assert_eq!(reqs[0].method, "CONNECT");
    assert_eq!(reqs[0].path, "far.example.invalid:80");
    assert_eq!(reqs[1].path, "/v1/chat/completions");
    assert_eq!(reqs[1].header("host"), Some("far.example.invalid"));
    // NO_PROXY sends the request straight to the server instead.
    let direct = Server::start();
    sb.run(&["provider", "add", "near", &direct.base(), "-m", "m"])
        .success();
    direct.push(Reply::answer("direct"));
    sb.aix()
        .env("HTTP_PROXY", &proxy.addr)
        .env("NO_PROXY", "127.0.0.1")
        .args(["run", "p", "--provider", "near", "-e"])
        .assert()
        .success()
        .stdout("direct\n");
    assert_eq!(proxy.requests().len(), 2, "NO_PROXY bypassed the proxy");
}
