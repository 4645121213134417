//! The same runs against llmock, an independently written OpenAI-compatible
//! server (PyPI), which `.ci/run` installs and starts with
//! `--response-style echo`, passing its base URL in `AIX_TEST_LLMOCK_URL`.
//! They are ignored by a plain `cargo test`, which reports each as
//! `ignored, needs llmock: ...`, so `cargo test` works offline and nothing
//! passes without having run. `.ci/run` runs them with `-- --ignored`;
//! asked for that way, a missing variable or a server that does not answer
//! is a failure, never a skip.
//!
//! llmock's fault queue is global to the server, so these tests take a
//! lock and reset the server before each.

use std::sync::Mutex;

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::common::*;

static PEER: Mutex<()> = Mutex::new(());

struct Peer {
    base: String,
    admin: String,
    sb: Sandbox,
    _guard: std::sync::MutexGuard<'static, ()>,
}

/// Why a peer test is not run by default.
const NEEDS: &str =
    "needs llmock: bash .ci/run starts it, or set AIX_TEST_LLMOCK_URL and pass -- --ignored";

/// The llmock base URL from `url` (AIX_TEST_LLMOCK_URL), checked to answer.
fn llmock(url: Option<String>) -> Result<String, String> {
    let base = url.filter(|u| !u.is_empty()).ok_or_else(|| {
        "AIX_TEST_LLMOCK_URL is not set: these tests need llmock (bash .ci/run starts it)"
            .to_string()
    })?;
    let admin = base.trim_end_matches("/v1");
    ureq::post(&format!("{admin}/_llmock/reset"))
        .send_empty()
        .map(|_| base.clone())
        .map_err(|e| format!("llmock at {base} did not answer: {e}"))
}

/// A sandbox wired to llmock; panics when it is not there, since a peer
/// test only runs when asked for.
fn peer() -> Option<Peer> {
    let guard = PEER.lock().unwrap_or_else(|e| e.into_inner());
    let base = llmock(std::env::var("AIX_TEST_LLMOCK_URL").ok()).unwrap_or_else(|e| panic!("{e}"));
    let admin = base.trim_end_matches("/v1").to_string();
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "mock", &base, "--model", "gpt-4o-mini"])
        .success();
    sb.aix()
        .args(["api-key", "mock"])
        .write_stdin("sk-peer-canary\n")
        .assert()
        .success();
    sb.run(&["create", "echo", "Tell me about {topic}"])
        .success();
    Some(Peer {
        base,
        admin,
        sb,
        _guard: guard,
    })
}

impl Peer {
    fn scenario(&self, behaviors: Value) {
        ureq::post(&format!("{}/_llmock/scenario", self.admin))
            .header("content-type", "application/json")
            .send(json!({ "behaviors": behaviors }).to_string())
            .expect("queue an llmock scenario");
    }

    fn get(&self, path: &str) -> Value {
        let text = ureq::get(&format!("{}{path}", self.admin))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn requests(&self) -> Vec<Value> {
        self.get("/_llmock/requests")["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn verdict(&self) -> Value {
        self.get("/_llmock/verdict")
    }

    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut full = vec![
            "run",
            "echo",
            "-p",
            "topic=otters",
            "--provider",
            "mock",
            "-e",
        ];
        full.extend_from_slice(args);
        self.sb
            .aix()
            .env("AIX_RETRY_BASE_MS", "50")
            .args(full)
            .write_stdin("")
            .assert()
    }
}

#[test]
#[ignore = "needs llmock: bash .ci/run starts it, or set AIX_TEST_LLMOCK_URL and pass -- --ignored"]
fn peer_non_stream_and_stream() {
    let Some(p) = peer() else { return };
    p.run(&[])
        .success()
        .stdout(predicate::str::contains("Tell me about otters"));
    p.run(&["--stream", "-v"])
        .success()
        .stdout(predicate::str::contains("Tell me about otters"))
        .stderr(predicate::str::contains("tokens:"))
        .stderr(predicate::str::contains("(finish: stop)"));
    let reqs = p.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    let all = serde_json::to_string(&reqs).unwrap();
    assert!(all.contains("gpt-4o-mini"), "{all}");
    assert_eq!(p.verdict()["passed"], true, "{}", p.verdict());
}

#[test]
#[ignore = "needs llmock: bash .ci/run starts it, or set AIX_TEST_LLMOCK_URL and pass -- --ignored"]
fn peer_models_and_check() {
    let Some(p) = peer() else { return };
    p.sb.run(&["provider", "models", "mock"])
        .success()
        .stdout(predicate::str::contains("gpt-4o"));
    p.sb.run(&["provider", "check", "mock"])
        .success()
        .stdout(predicate::str::contains("ok"));
    let _ = &p.base;
}

#[test]
#[ignore = "needs llmock: bash .ci/run starts it, or set AIX_TEST_LLMOCK_URL and pass -- --ignored"]
fn peer_unknown_model_and_wrong_key() {
    let Some(p) = peer() else { return };
    p.scenario(
        json!([{"type": "fail", "status": 404, "code": "model_not_found",
                       "message": "The model `nope` does not exist"}]),
    );
    p.run(&["--model", "nope"])
        .code(1)
        .stderr(predicate::str::contains("Model 'nope' not found"))
        .stderr(predicate::str::contains("aix provider models mock"));
    p.scenario(json!([{"type": "fail", "status": 401, "message": "Incorrect API key provided"}]));
    p.run(&[])
        .code(1)
        .stderr(predicate::str::contains("401 Unauthorized"))
        .stderr(predicate::str::contains("aix api-key mock"))
        .stderr(predicate::str::contains("canary").not());
}

#[test]
#[ignore = "needs llmock: bash .ci/run starts it, or set AIX_TEST_LLMOCK_URL and pass -- --ignored"]
fn peer_retries_follow_retry_after() {
    let Some(p) = peer() else { return };
    p.scenario(json!([{"type": "fail", "status": 429, "retry_after": 1, "times": 1}]));
    p.run(&[])
        .success()
        .stdout(predicate::str::contains("otters"));
    p.scenario(json!([{"type": "fail", "status": 503, "times": 2}]));
    p.run(&["--stream"])
        .success()
        .stdout(predicate::str::contains("otters"));
    let verdict = p.verdict();
    assert_eq!(
        verdict["passed"], true,
        "llmock judged the retries: {verdict}"
    );
}

#[test]
#[ignore = "needs llmock: bash .ci/run starts it, or set AIX_TEST_LLMOCK_URL and pass -- --ignored"]
fn peer_stream_faults() {
    let Some(p) = peer() else { return };
    for (kind, words) in [
        ("truncate", "ended before [DONE]"),
        ("disconnect", "broke"),
        ("malformed", "not valid JSON"),
    ] {
        p.scenario(json!([{"type": "stream_fault", "kind": kind, "after_chunks": 2}]));
        let a = p.run(&["--stream"]).code(1);
        let err = stderr(&a);
        assert!(
            err.contains(words) || (kind == "disconnect" && err.contains("ended before")),
            "{kind}: {err}"
        );
    }
    p.scenario(
        json!([{"type": "stream_fault", "kind": "stall", "after_chunks": 1, "stall_seconds": 5}]),
    );
    p.run(&["--stream", "--timeout", "1"])
        .code(1)
        .stderr(predicate::str::contains("timed out after 1 s"));
}

#[test]
fn a_missing_or_silent_peer_is_an_error_not_a_skip() {
    let e = llmock(None).unwrap_err();
    assert!(e.contains("AIX_TEST_LLMOCK_URL is not set"), "{e}");
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = llmock(Some(format!("http://127.0.0.1:{port}/v1"))).unwrap_err();
    assert!(e.contains("did not answer"), "{e}");
    assert!(NEEDS.contains("--ignored"));
}

#[test]
fn every_peer_test_is_ignored_with_the_reason() {
    // A peer test without the attribute would run in a plain `cargo test`
    // and fail offline; one whose reason drifted would mislead.
    let source = include_str!("peer.rs");
    let tests = source.matches("\nfn peer_").count();
    let marked = source
        .matches(&format!("#[ignore = \"{NEEDS}\"]\nfn peer_"))
        .count();
    assert!(tests >= 5);
    assert_eq!(tests, marked);
}

/// The Azure shape (api-key header, `api-version` query, the limit as
/// `max_completion_tokens`, no `stream_options`) and an `extra_body`,
/// against a server nobody on the team wrote.
#[test]
#[ignore = "needs llmock: bash .ci/run starts it, or set AIX_TEST_LLMOCK_URL and pass -- --ignored"]
fn peer_request_shaping_and_the_azure_preset() {
    let Some(p) = peer() else { return };
    p.sb.run(&[
        "provider",
        "update",
        "mock",
        "--preset",
        "azure",
        "--extra-body",
        r#"{"options":{"num_ctx":8192}}"#,
    ])
    .success();
    for stream in [false, true] {
        let mut args = vec!["--max-tokens", "20"];
        if stream {
            args.push("--stream");
        }
        p.sb.aix()
            .env("AZURE_OPENAI_API_KEY", "az-peer-canary")
            .args([
                "run",
                "echo",
                "-p",
                "topic=otters",
                "--provider",
                "mock",
                "-e",
            ])
            .args(&args)
            .write_stdin("")
            .assert()
            .success()
            .stdout(predicate::str::contains("Tell me about otters"))
            .stderr(predicate::str::contains("canary").not());
    }
    let reqs = p.requests();
    let chats: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["path"] == "/v1/chat/completions")
        .collect();
    assert_eq!(chats.len(), 2, "{reqs:?}");
    for r in chats {
        let body = &r["body"];
        assert_eq!(body["max_completion_tokens"], 20, "{body}");
        assert!(body.get("max_tokens").is_none(), "{body}");
        assert!(body.get("stream_options").is_none(), "{body}");
        assert_eq!(body["options"]["num_ctx"], 8192, "{body}");
    }
}

/// Discovery against llmock: `aix models sync` proposes what its
/// `/v1/models` lists, `--write` puts the entries in the manifest, and the
/// plan then shows them.
#[test]
#[ignore = "needs llmock: bash .ci/run starts it, or set AIX_TEST_LLMOCK_URL and pass -- --ignored"]
fn peer_models_sync_proposes_and_writes() {
    let Some(p) = peer() else { return };
    let m = p.sb.root.join("providers.toml");
    std::fs::write(
        &m,
        format!("# mine\n[providers.mock]\nbase_url = \"{}\"\n", p.base),
    )
    .unwrap();
    let path = m.to_str().unwrap();
    let served = {
        let out =
            p.sb.run(&["provider", "models", "mock", "--json"])
                .success();
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        v.as_array().unwrap().len()
    };
    assert!(served > 0, "llmock lists models");
    let proposed = p.sb.run(&["models", "sync", "mock", "-f", path]).success();
    assert!(
        stdout(&proposed).contains(&format!("Sync: {served} to add.")),
        "{}",
        stdout(&proposed)
    );
    p.sb.run(&["models", "sync", "mock", "-f", path, "--write"])
        .success();
    let text = std::fs::read_to_string(&m).unwrap();
    assert!(text.starts_with("# mine\n"), "{text}");
    assert!(text.contains("[providers.mock.models."), "{text}");
    p.sb.run(&["validate", path, "--strict"]).success();
    p.sb.run(&["models", "sync", "mock", "-f", path])
        .success()
        .stdout(predicate::str::contains("No new models."));
}
