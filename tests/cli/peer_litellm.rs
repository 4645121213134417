//! Runs against the LiteLLM proxy (PyPI, pinned in `bench/peer_litellm.sh`),
//! a real gateway with its own auth and routing that serves all three
//! wires: `/v1/chat/completions`, `/v1/responses` and `/v1/messages`.
//! `.ci/run` starts it with `mock_response` models (`mock-gpt` answers
//! "Hello from litellm") and a generated master key, passing
//! `AIX_TEST_LITELLM_URL` (no `/v1`) and `AIX_TEST_LITELLM_KEY`.
//!
//! As for llmock, these are ignored by a plain `cargo test`; asked for with
//! `-- --ignored`, a missing variable or a proxy that does not answer is a
//! failure, never a skip.
//!
//! LiteLLM's own behaviour, which these tests pin (1.106.2):
//! - an unknown model is 400 `invalid_request_error` (not 404);
//! - a wrong key, with no database, is 400 `no_db_connection`; a missing
//!   key is 401 `auth_error`;
//! - a streaming `/v1/responses` request on a `mock_response` model is a
//!   500 whose body is one `data: {"error": ...}` frame then `[DONE]`;
//! - a streaming `/v1/messages` request is answered with the plain
//!   (non-SSE, `application/json`) message.

use std::time::Duration;

use predicates::prelude::*;

use crate::common::*;

/// Why a LiteLLM test is not run by default.
const NEEDS: &str = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored";

/// What `mock-gpt` answers.
const MOCK_TEXT: &str = "Hello from litellm";

/// No run should take long; one that hangs fails here instead of holding CI.
const LIMIT: Duration = Duration::from_secs(60);

/// The proxy's root URL and master key from `url` and `key`
/// (AIX_TEST_LITELLM_URL, AIX_TEST_LITELLM_KEY), checked to answer
/// `GET /v1/models` with that key.
fn litellm(url: Option<String>, key: Option<String>) -> Result<(String, String), String> {
    let url = url.filter(|u| !u.is_empty()).ok_or_else(|| {
        "AIX_TEST_LITELLM_URL is not set: these tests need the LiteLLM proxy (bash .ci/run starts it)"
            .to_string()
    })?;
    let key = key.filter(|k| !k.is_empty()).ok_or_else(|| {
        "AIX_TEST_LITELLM_KEY is not set: it is the proxy's master key (bench/peer_litellm.sh exports it)"
            .to_string()
    })?;
    let url = url.trim_end_matches('/').to_string();
    ureq::get(&format!("{url}/v1/models"))
        .header("authorization", &format!("Bearer {key}"))
        .call()
        .map(|_| (url.clone(), key.clone()))
        .map_err(|e| format!("the LiteLLM proxy at {url} did not answer: {e}"))
}

struct Proxy {
    url: String,
    key: String,
    sb: Sandbox,
}

/// A sandbox with provider `ll` at the proxy's `/v1` speaking `wire`
/// (default model `mock-gpt`, the master key saved) and a prompt `hi`;
/// panics when the proxy is not there, since these only run when asked for.
fn proxy(wire: &str) -> Proxy {
    let (url, key) = litellm(
        std::env::var("AIX_TEST_LITELLM_URL").ok(),
        std::env::var("AIX_TEST_LITELLM_KEY").ok(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sb = Sandbox::new();
    let base = format!("{url}/v1");
    let mut args = vec![
        "provider", "add", "ll", &base, "--model", "mock-gpt", "--wire", wire,
    ];
    if wire == "messages" {
        args.extend(["--auth-type", "x-api-key"]);
    }
    sb.run(&args).success();
    sb.aix()
        .args(["api-key", "ll"])
        .write_stdin(format!("{key}\n"))
        .assert()
        .success();
    sb.run(&["create", "hi", "Say hello"]).success();
    Proxy { url, key, sb }
}

impl Proxy {
    /// `aix run hi --provider ll -e ARGS...`, bounded by [`LIMIT`].
    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.sb
            .aix()
            .env("AIX_RETRY_BASE_MS", "50")
            .timeout(LIMIT)
            .args(["run", "hi", "--provider", "ll", "-e"])
            .args(args)
            .write_stdin("")
            .assert()
    }

    /// Replaces the saved key of `ll`.
    fn set_key(&self, key: &str) {
        self.sb
            .aix()
            .args(["api-key", "ll"])
            .write_stdin(format!("{key}\n"))
            .assert()
            .success();
    }
}

/// No panic, no leaked key, and stdout is the answer or nothing.
fn sane(a: &assert_cmd::assert::Assert, key: &str) {
    let (out, err) = (stdout(a), stderr(a));
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.contains(key) && !err.contains(key), "{out}\n{err}");
}

#[test]
#[ignore = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored"]
fn peer_litellm_chat_non_stream_and_stream() {
    let p = proxy("chat");
    let a = p
        .run(&["-v"])
        .success()
        .stdout(format!("{MOCK_TEXT}\n"))
        .stderr(predicate::str::contains("/v1/chat/completions"))
        .stderr(predicate::str::contains("(finish: stop)"));
    sane(&a, &p.key);
    // The deltas come in three-letter pieces; the usage chunk arrives with
    // an empty delta before [DONE].
    let a = p
        .run(&["--stream", "-v"])
        .success()
        .stdout(format!("{MOCK_TEXT}\n"))
        .stderr(predicate::str::contains("tokens:"))
        .stderr(predicate::str::contains("(finish: stop)"));
    sane(&a, &p.key);
}

#[test]
#[ignore = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored"]
fn peer_litellm_models_and_check() {
    let p = proxy("chat");
    p.sb.run(&["provider", "models", "ll"])
        .success()
        .stdout(predicate::str::contains("mock-gpt"))
        .stdout(predicate::str::contains("mock-claude"));
    p.sb.run(&["provider", "check", "ll"])
        .success()
        .stdout(predicate::str::contains("ok"));
}

#[test]
#[ignore = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored"]
fn peer_litellm_responses_non_stream() {
    let p = proxy("responses");
    let a = p
        .run(&["-v"])
        .success()
        .stdout(format!("{MOCK_TEXT}\n"))
        .stderr(predicate::str::contains("/v1/responses"))
        .stderr(predicate::str::contains("(finish: completed)"));
    sane(&a, &p.key);
}

/// LiteLLM answers a streaming Responses request on a `mock_response`
/// model with status 500 and one `data: {"error": ...}` frame then
/// `[DONE]`. aix treats the 500 as a server error: retried (it may be
/// passing), then exit 1 naming the status and showing what the server
/// said. No text, no hang.
#[test]
#[ignore = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored"]
fn peer_litellm_responses_stream_error_frame() {
    let p = proxy("responses");
    let a = p
        .run(&["--stream"])
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("500 Internal Server Error"))
        .stderr(predicate::str::contains("Error processing stream start"))
        .stderr(predicate::str::contains("retrying"));
    sane(&a, &p.key);
}

#[test]
#[ignore = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored"]
fn peer_litellm_messages_non_stream() {
    let p = proxy("messages");
    let a = p
        .run(&["-v"])
        .success()
        .stdout(format!("{MOCK_TEXT}\n"))
        .stderr(predicate::str::contains("/v1/messages"))
        .stderr(predicate::str::contains("x-api-key: (sensitive)"))
        .stderr(predicate::str::contains("Authorization").not())
        .stderr(predicate::str::contains("(finish: end_turn)"));
    sane(&a, &p.key);
}

/// A streaming Messages request gets the whole message as plain JSON
/// (`content-type: application/json`, no SSE); aix shows its text.
#[test]
#[ignore = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored"]
fn peer_litellm_messages_stream_gets_plain_json() {
    let p = proxy("messages");
    let a = p
        .run(&["--stream", "-v"])
        .success()
        .stdout(format!("{MOCK_TEXT}\n"))
        .stderr(predicate::str::contains("stream=true"))
        .stderr(predicate::str::contains("(finish: end_turn)"));
    sane(&a, &p.key);
}

/// No key is 401 with the api-key hint; a wrong key is LiteLLM's 400
/// `no_db_connection` (it looks unknown keys up in a database it does not
/// have), shown as it is, on every wire.
#[test]
#[ignore = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored"]
fn peer_litellm_missing_and_wrong_key() {
    for wire in ["chat", "responses", "messages"] {
        let p = proxy(wire);
        p.set_key("sk-wrong-canary");
        let a = p
            .run(&[])
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains("400 Bad Request"))
            .stderr(predicate::str::contains("No connected db."))
            .stderr(predicate::str::contains("canary").not());
        sane(&a, &p.key);
        // A provider without a key: nothing is sent, LiteLLM says 401.
        let base = format!("{}/v1", p.url);
        let mut add = vec!["provider", "add", "nokey", &base, "--wire", wire];
        if wire == "messages" {
            add.extend(["--auth-type", "x-api-key"]);
        }
        p.sb.run(&add).success();
        let a =
            p.sb.aix()
                .timeout(LIMIT)
                .args([
                    "run",
                    "hi",
                    "--provider",
                    "nokey",
                    "-e",
                    "--model",
                    "mock-gpt",
                ])
                .write_stdin("")
                .assert()
                .code(1)
                .stdout("")
                .stderr(predicate::str::contains("401 Unauthorized"))
                .stderr(predicate::str::contains("No api key passed in"))
                .stderr(predicate::str::contains("aix api-key nokey"));
        sane(&a, &p.key);
    }
}

/// LiteLLM says 400 (not 404) for a model it does not route; aix still
/// reads it as an unknown model, on every wire, streaming or not.
#[test]
#[ignore = "needs the LiteLLM proxy: bash .ci/run starts it, or set AIX_TEST_LITELLM_URL and pass -- --ignored"]
fn peer_litellm_unknown_model() {
    for wire in ["chat", "responses", "messages"] {
        let p = proxy(wire);
        for stream in [false, true] {
            let mut args = vec!["--model", "nope"];
            if stream {
                args.push("--stream");
            }
            let a = p
                .run(&args)
                .code(1)
                .stdout("")
                .stderr(predicate::str::contains("Model 'nope' not found"))
                .stderr(predicate::str::contains("Invalid model name"))
                .stderr(predicate::str::contains("aix provider models ll"));
            sane(&a, &p.key);
        }
    }
}

#[test]
fn a_missing_or_silent_litellm_is_an_error_not_a_skip() {
    let e = litellm(None, Some("k".into())).unwrap_err();
    assert!(e.contains("AIX_TEST_LITELLM_URL is not set"), "{e}");
    let e = litellm(Some("http://127.0.0.1:1".into()), None).unwrap_err();
    assert!(e.contains("AIX_TEST_LITELLM_KEY is not set"), "{e}");
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = litellm(Some(format!("http://127.0.0.1:{port}")), Some("k".into())).unwrap_err();
    assert!(e.contains("did not answer"), "{e}");
    assert!(NEEDS.contains("--ignored"));
}

#[test]
fn every_litellm_test_is_ignored_with_the_reason() {
    let source = include_str!("peer_litellm.rs");
    let tests = source.matches("\nfn peer_litellm_").count();
    let marked = source
        .matches(&format!("#[ignore = \"{NEEDS}\"]\nfn peer_litellm_"))
        .count();
    assert!(tests >= 8, "{tests}");
    assert_eq!(tests, marked);
}
