//! Snapshots of what people read: plans, tables, `info`, `validate`
//! reports, dry runs and every class of error with its hints, each as the
//! exit code, stdout and stderr of the real binary. They pin today's
//! layout so a refactor that changes a line shows in review.
//!
//! Paths, ports, latencies and the version are replaced by placeholders
//! (see [`norm`]) so the snapshots do not depend on the machine.

use std::time::Duration;

use assert_cmd::assert::Assert;
use insta::assert_snapshot;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server, Step, chunk_event};

// ---- helpers ------------------------------------------------------------

/// Replaces what differs between runs: the sandbox's paths, the port of
/// 127.0.0.1, latencies in milliseconds and aix's version.
fn norm(sb: &Sandbox, text: &str) -> String {
    let mut text = text.to_string();
    for (dir, name) in [(&sb.home, "[HOME]"), (&sb.root, "[ROOT]")] {
        if let Ok(real) = dir.canonicalize() {
            text = text.replace(&real.display().to_string(), name);
        }
        text = text.replace(&dir.display().to_string(), name);
    }
    text = text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, digits_on) = rest.split_at(start);
        let end = digits_on
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits_on.len());
        let (digits, after) = digits_on.split_at(end);
        out.push_str(before);
        let seen = out.as_str();
        let placeholder = if seen.ends_with("127.0.0.1:") {
            Some("PORT")
        } else if seen.ends_with(char::is_alphanumeric) || seen.ends_with('.') {
            // Part of a word or a number (`v1`, `0.2`): kept.
            None
        } else if after.starts_with(" ms")
            || after.starts_with("ms")
            || seen.ends_with("\"latency_ms\": ")
            || seen.ends_with("\"latency_ms\":")
        {
            Some("N")
        } else {
            None
        };
        out.push_str(placeholder.unwrap_or(digits));
        // A latency in a table column: keep the column as wide as it was.
        if placeholder == Some("N") && after.starts_with(" ms ") {
            out.push_str(" ms");
            out.push_str(&" ".repeat(digits.len() - 1));
            rest = &after[3..];
            continue;
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A run as one text: exit code, stdout and stderr.
fn shot(sb: &Sandbox, a: &Assert) -> String {
    let out = a.get_output();
    let code = out
        .status
        .code()
        .map_or_else(|| "signal".to_string(), |c| c.to_string());
    let part = |bytes: &[u8]| {
        let mut s = String::from_utf8_lossy(bytes).into_owned();
        if !s.is_empty() && !s.ends_with('\n') {
            s.push_str("[no newline at end]\n");
        }
        s
    };
    let text = norm(
        sb,
        &format!(
            "exit: {code}\n--- stdout\n{}--- stderr\n{}",
            part(&out.stdout),
            part(&out.stderr)
        ),
    );
    // Every secret in this file holds "canary": none may be printed.
    assert!(!text.contains("canary"), "a secret was printed:\n{text}");
    text
}

/// `aix args...` with extra environment variables, stdin empty.
fn run_env(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Assert {
    let mut cmd = sb.aix();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).write_stdin("").assert()
}

/// `aix args...` as one snapshot text.
fn text(sb: &Sandbox, args: &[&str]) -> String {
    shot(sb, &sb.run(args))
}

/// Writes `name` in the sandbox's root and returns its path.
fn file(sb: &Sandbox, name: &str, body: &str) -> String {
    let p = sb.root.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

/// Edits config.json as a person would, bypassing aix's checks.
fn edit_config(sb: &Sandbox, f: impl FnOnce(&mut serde_json::Value)) {
    let mut cfg = sb.config();
    f(&mut cfg);
    sb.write_config(&serde_json::to_string_pretty(&cfg).unwrap());
}

/// A port on 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A sandbox with provider `local` on a fresh server (key stored) and the
/// prompt `greet`.
fn served() -> (Sandbox, Server) {
    let server = Server::start();
    let sb = with_local_provider(&server.base(), Some("sk-readable-canary-key"));
    (sb, server)
}

/// `aix run greet --provider local -e ARGS...` with fast retries.
fn send(sb: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["run", "greet", "--provider", "local", "-e"];
    all.extend_from_slice(args);
    shot(sb, &run_env(sb, &[("AIX_RETRY_BASE_MS", "1")], &all))
}

// ---- aix plan and aix apply ---------------------------------------------

const FIRST: &str = r#"
[providers.keep]
base_url = "http://keep/v1"

[providers.changing]
base_url = "http://old/v1"
default_model = "m1"
headers = { X-A = "1", Authorization = "Bearer ${env:OLD_TOKEN}", X-Secret-Token = "plan-canary-old" }

[providers.leaving]
base_url = "http://leaving/v1"

[providers.drifting]
base_url = "http://drift/v1"

[providers.drift-leaving]
base_url = "http://drift-leaving/v1"

[providers.gone-by-hand]
base_url = "http://gone/v1"

[providers.corrupt]
base_url = "http://corrupt/v1"
"#;

const SECOND: &str = r#"
[providers.keep]
base_url = "http://keep/v1"

[providers.changing]
base_url = "http://new/v1"
auth_type = "api-key"
api_key_env = "CHANGING_KEY"
timeout_secs = 120
max_time_secs = 600
headers = { X-B = "2", Authorization = "Bearer ${env:NEW_TOKEN}", X-Api-Key = "${env:CHANGING_API_KEY}", X-Secret-Token = "plan-canary-new" }

[providers.drifting]
base_url = "http://drift/v1"

[providers.gone-by-hand]
base_url = "http://gone/v1"

[providers.corrupt]
base_url = "http://corrupt/v1"

[providers.adoptable]
base_url = "http://adopt/v1"

[providers.clashing]
base_url = "http://manifest/v1"

[providers.brand-new]
base_url = "https://new.example.com/v1"
default_model = "fresh"
headers = { X-Org = "acme" }
"#;

/// Applies [`FIRST`], edits config.json by hand in every way a plan
/// distinguishes, and writes [`SECOND`] as `providers.toml`.
fn mixed() -> (Sandbox, String) {
    let sb = Sandbox::new();
    let m = file(&sb, "providers.toml", FIRST);
    sb.run(&["apply", "-f", &m]).success();
    for (name, url) in [
        ("adoptable", "http://adopt/v1"),
        ("clashing", "http://hand/v1"),
        ("handmade", "http://handmade/v1"),
    ] {
        sb.run(&["provider", "add", name, url]).success();
    }
    for (path, value) in [
        ("custom_providers.drifting.default_model", "hand-edit"),
        ("custom_providers.drift-leaving.default_model", "hand-edit"),
    ] {
        sb.run(&["config", "set", path, value]).success();
    }
    sb.run(&["config", "unset", "custom_providers.gone-by-hand"])
        .success();
    edit_config(&sb, |c| {
        c["custom_providers"]["corrupt"]["base_url"] = json!("ftp://corrupt");
    });
    let m = file(&sb, "providers.toml", SECOND);
    (sb, m)
}

#[test]
fn plan_then_apply_a_mixed_manifest() {
    let (sb, m) = mixed();
    let before = sb.config_bytes();
    assert_snapshot!(
        "plan_mixed",
        text(&sb, &["plan", "-f", &m, "--detailed-exitcode"])
    );
    assert_snapshot!("plan_mixed_json", text(&sb, &["plan", "-f", &m, "--json"]));
    assert_snapshot!(
        "plan_prune_unowned",
        text(&sb, &["plan", "-f", &m, "--prune-unowned"])
    );
    assert_snapshot!("apply_needs_force", text(&sb, &["apply", "-f", &m]));
    assert_snapshot!(
        "apply_needs_yes",
        text(&sb, &["apply", "-f", &m, "--force"])
    );
    assert_eq!(sb.config_bytes(), before, "refused applies write nothing");
    assert_snapshot!(
        "apply_mixed",
        text(&sb, &["apply", "-f", &m, "--force", "--yes"])
    );
    assert_snapshot!("apply_second_run", text(&sb, &["apply", "-f", &m]));
    assert_snapshot!(
        "plan_no_changes",
        text(&sb, &["plan", "-f", &m, "--detailed-exitcode"])
    );
    assert_snapshot!(
        "plan_no_changes_json",
        text(&sb, &["plan", "-f", &m, "--json"])
    );
}

#[test]
fn plan_of_several_files() {
    let sb = Sandbox::new();
    let base = file(
        &sb,
        "base.toml",
        "[providers.ollama]\nbase_url = \"http://localhost:11434/v1\"\ndefault_model = \"llama3.2\"\n\n[providers.shared]\nbase_url = \"http://shared/v1\"\n",
    );
    let laptop = file(
        &sb,
        "laptop.toml",
        "[providers.laptop]\nbase_url = \"http://127.0.0.1:8080/v1\"\ntimeout_secs = 30\n",
    );
    assert_snapshot!(
        "plan_two_files",
        text(&sb, &["plan", "-f", &base, "-f", &laptop])
    );
    let clash = file(
        &sb,
        "clash.toml",
        "# the same name as in base.toml\n\n[providers.shared]\nbase_url = \"http://other/v1\"\n",
    );
    assert_snapshot!(
        "plan_name_in_two_files",
        text(&sb, &["plan", "-f", &base, "-f", &clash])
    );
    let missing = sb.root.join("missing.toml").display().to_string();
    assert_snapshot!("plan_missing_file", text(&sb, &["plan", "-f", &missing]));
    assert!(sb.config_bytes().is_none());
}

// ---- provider info and list ---------------------------------------------

/// `work` (every field set, one sensitive header, a stored key),
/// `owned` from a manifest, and `broken` (an ftp:// URL put in by hand).
fn providers() -> Sandbox {
    let sb = Sandbox::new();
    sb.run(&[
        "provider",
        "add",
        "work",
        "https://llm.example.com/v1",
        "-m",
        "gpt-4o",
        "-H",
        "X-Org: acme",
        "-H",
        "X-Api-Token: tok-readable-canary-1",
        "-H",
        "X-Team: ${env:TEAM}",
        "--api-key-env",
        "WORK_KEY",
        "--timeout",
        "60",
    ])
    .success();
    sb.run(&["config", "set", "max_time_secs", "900"]).success();
    sb.aix()
        .args(["api-key", "work"])
        .write_stdin("sk-readable-canary-2\n")
        .assert()
        .success();
    let m = file(
        &sb,
        "providers.toml",
        "[providers.owned]\nbase_url = \"http://owned.local/v1\"\nauth_type = \"api-key\"\nmax_time_secs = 120\n",
    );
    sb.run(&["apply", "-f", &m]).success();
    edit_config(&sb, |c| {
        c["custom_providers"]["broken"] =
            json!({"base_url": "ftp://files.example/v1", "default_model": "m"});
    });
    sb
}

#[test]
fn provider_info_of_each_kind() {
    let sb = providers();
    for (name, args) in [
        ("provider_info_custom", &["provider", "info", "work"][..]),
        (
            "provider_info_custom_json",
            &["provider", "info", "work", "--json"],
        ),
        (
            "provider_info_manifest_owned",
            &["provider", "info", "owned"],
        ),
        ("provider_info_builtin", &["provider", "info", "openai"]),
        (
            "provider_info_builtin_json",
            &["provider", "info", "openai", "--json"],
        ),
        ("provider_info_broken", &["provider", "info", "broken"]),
        (
            "provider_info_broken_json",
            &["provider", "info", "broken", "--json"],
        ),
    ] {
        assert_snapshot!(name, text(&sb, args));
    }
}

#[test]
fn provider_list_of_each_kind() {
    let sb = providers();
    assert_snapshot!("provider_list", text(&sb, &["provider", "list"]));
    assert_snapshot!(
        "provider_list_json",
        text(&sb, &["provider", "list", "--json"])
    );
    assert_snapshot!(
        "provider_list_all",
        text(&sb, &["provider", "list", "--all"])
    );
}

#[test]
fn provider_export_of_several() {
    let sb = Sandbox::new();
    let add = |args: &[&str]| {
        let mut all = vec!["provider", "add"];
        all.extend_from_slice(args);
        sb.run(&all).success();
    };
    add(&["ollama", "http://localhost:11434/v1", "-m", "llama3.2"]);
    add(&[
        "work",
        "https://llm.example.com/v1",
        "--auth-type",
        "api-key",
        "-H",
        "X-API-Key: sk-literal-readable-canary",
        "-H",
        "X-Org: acme",
        "--timeout",
        "45",
    ]);
    add(&[
        "team.host",
        "https://team.example.com/v1",
        "-H",
        "Authorization: Bearer ${env:TEAM_TOKEN}",
        "--api-key-env",
        "TEAM_KEY",
    ]);
    sb.aix()
        .args(["api-key", "ollama"])
        .write_stdin("sk-stored-not-exported\n")
        .assert()
        .success();
    assert_snapshot!("provider_export", text(&sb, &["provider", "export"]));
    assert_snapshot!(
        "provider_export_some",
        text(&sb, &["provider", "export", "work", "olama"])
    );
}

// ---- aix validate -------------------------------------------------------

const PROBLEMS: &str = r#"[providers.a]
base_url = "http://a/v1"
defualt_model = "m"

[providers.b]
base_url = "not a url"

[providers.c]
base_url = "http://c/v1"
headers = { X-Org = "1", x-org = "2" }

[providers.d]
base_url = "http://d/v1"
timeout_secs = 0

[providers.e]
base_url = "http://e/v1"
auth_type = "basic"

[providers.f]
base_url = "http://f/v1"
headers = { Authorization = "Bearer sk-validate-canary-1" }
"#;

const SYNTAX: &str = "[providers.x\nbase_url = \"http://x/v1\"\n";

const WARNS_ONLY: &str = r#"[providers.f]
base_url = "http://f/v1"
headers = { Authorization = "Bearer sk-validate-canary-2" }
"#;

const CLEAN: &str = r#"#:schema ./schema/providers.schema.json
[providers.ollama]
base_url = "http://localhost:11434/v1"
default_model = "llama3.2"
"#;

const BAD_CONFIG: &str = r#"{
  "custom_providers": {
    "a": {"base_url": "http://a/v1"},
    "n": {"base_url": "HTTP://n/v1/", "defualt_model": "m", "vendor_field": 1},
    "b": {"base_url": "ftp://b"},
    "c": {"base_url": "http://c/v1", "headers": {"X-A": "1", "x-a": "2"}},
    "a": {"base_url": "http://a2/v1"}
  },
  "api_key": {"x": "y"},
  "temperature": 5,
  "api_keys": []
}
"#;

#[test]
fn validate_reports() {
    let sb = Sandbox::new();
    let problems = file(&sb, "problems.toml", PROBLEMS);
    let syntax = file(&sb, "syntax.toml", SYNTAX);
    let warns = file(&sb, "warns.toml", WARNS_ONLY);
    let clean = file(&sb, "clean.toml", CLEAN);
    let config = file(&sb, "config.json", BAD_CONFIG);
    assert_snapshot!(
        "validate_manifest_problems",
        text(&sb, &["validate", &problems])
    );
    assert_snapshot!(
        "validate_toml_syntax_error",
        text(&sb, &["validate", &syntax])
    );
    assert_snapshot!(
        "validate_config_problems",
        text(&sb, &["validate", &config])
    );
    assert_snapshot!("validate_clean", text(&sb, &["validate", &clean]));
    let strict = format!(
        "{}{}",
        text(&sb, &["validate", &warns]),
        text(&sb, &["validate", "--strict", &warns])
    );
    assert_snapshot!("validate_warning_then_strict", strict);
    assert_snapshot!(
        "validate_json",
        text(
            &sb,
            &["validate", "--json", &problems, &syntax, &config, &clean]
        )
    );
    assert_snapshot!(
        "validate_several_files",
        text(&sb, &["validate", &clean, &warns, &syntax])
    );
}

// ---- aix run: dry run ---------------------------------------------------

#[test]
fn run_dry_run() {
    let sb = Sandbox::new();
    sb.run(&[
        "provider",
        "add",
        "work",
        "https://llm.example.com/v1",
        "-m",
        "gpt-4o",
        "-H",
        "X-Org: ${env:ORG}",
        "-H",
        "X-Api-Token: tok-dry-run-canary",
    ])
    .success();
    sb.aix()
        .args(["api-key", "work"])
        .write_stdin("sk-dry-run-canary-key\n")
        .assert()
        .success();
    sb.run(&[
        "create",
        "summarize",
        "Summarize in {words} words: {input}",
        "--system",
        "You are concise.",
    ])
    .success();
    let dry = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "summarize",
            "--provider",
            "work",
            "-p",
            "words=10",
            "--max-tokens",
            "50",
            "--temperature",
            "0.2",
        ];
        args.extend_from_slice(extra);
        let a = sb
            .aix()
            .env("ORG", "acme")
            .args(&args)
            .write_stdin("Rust is a language.\n")
            .assert();
        shot(&sb, &a)
    };
    assert_snapshot!("run_dry_run", dry(&[]));
    assert_snapshot!("run_dry_run_json", dry(&["--json"]));
}

// ---- config list, provider models, provider check -----------------------

#[test]
fn config_list() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{
  "default_provider": "work",
  "temperature": 0.7,
  "custom_providers": {
    "work": {"base_url": "https://llm.example.com/v1", "headers": {"Authorization": "Bearer sk-list-canary-1", "X-Org": "acme", "X-Team": "${env:TEAM}"}}
  },
  "api_keys": {"work": "sk-list-canary-2"},
  "other_tool": {"token": "tok-list-canary-3", "theme": "dark", "sizes": [1, 2]}
}"#,
    );
    assert_snapshot!("config_list", text(&sb, &["config", "list"]));
    assert_snapshot!("config_list_json", text(&sb, &["config", "list", "--json"]));
}

#[test]
fn provider_models() {
    let (sb, server) = served();
    let models = json!({"object": "list", "data": [
        {"id": "zeta-large", "object": "model", "owned_by": "acme", "created": 1700000000},
        {"id": "alpha", "object": "model", "owned_by": "library"},
        {"id": "mid-7b", "object": "model"}
    ]});
    server.push(Reply::json(200, &models));
    server.push(Reply::json(200, &models));
    assert_snapshot!(
        "provider_models",
        text(&sb, &["provider", "models", "local"])
    );
    assert_snapshot!(
        "provider_models_json",
        text(&sb, &["provider", "models", "local", "--json"])
    );
}

#[test]
fn provider_check_table() {
    let sb = Sandbox::new();
    let up = Server::start();
    up.push(Reply::json(
        200,
        &json!({"data": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}),
    ));
    let chat = Server::start();
    chat.push(Reply::json(404, &json!({"error": {"message": "no route"}})));
    chat.push(Reply::answer("h"));
    let nomodel = Server::start();
    nomodel.push(Reply::json(404, &json!({"error": {"message": "no route"}})));
    let unauth = Server::start();
    unauth.push(Reply::json(
        401,
        &json!({"error": {"message": "invalid token"}}),
    ));
    let down = format!("http://127.0.0.1:{}/v1", closed_port());
    for (name, base, model) in [
        ("up", up.base(), None),
        ("chat-only", chat.base(), Some("small")),
        ("no-model", nomodel.base(), None),
        ("unauth", unauth.base(), None),
        ("down", down, None),
    ] {
        let mut args = vec!["provider", "add", name, &base];
        if let Some(m) = model {
            args.extend_from_slice(&["-m", m]);
        }
        sb.run(&args).success();
    }
    let a = run_env(&sb, &[("AIX_RETRY_BASE_MS", "1")], &["provider", "check"]);
    assert_snapshot!("provider_check", shot(&sb, &a));
}

#[test]
fn provider_check_json() {
    let (sb, server) = served();
    server.push(Reply::json(200, &json!({"data": [{"id": "a"}]})));
    assert_snapshot!(
        "provider_check_json",
        text(&sb, &["provider", "check", "local", "--json"])
    );
}

// ---- errors: message, hints, exit code ----------------------------------

#[test]
fn error_unknown_provider() {
    let (sb, _server) = served();
    sb.run(&["provider", "add", "ollama", "http://localhost:11434/v1"])
        .success();
    assert_snapshot!(
        "error_unknown_provider",
        text(&sb, &["run", "greet", "--provider", "olama"])
    );
}

#[test]
fn error_connection_refused() {
    let sb = with_local_provider(&format!("http://127.0.0.1:{}/v1", closed_port()), None);
    assert_snapshot!("error_connection_refused", send(&sb, &[]));
}

#[test]
fn error_statuses() {
    let (sb, server) = served();
    server.push(Reply::json(
        401,
        &json!({"error": {"message": "Your token has expired", "type": "invalid_request_error"}}),
    ));
    assert_snapshot!("error_401", send(&sb, &[]));
    server.push(Reply::json(
        403,
        &json!({"error": {"message": "This key may not use model m"}}),
    ));
    assert_snapshot!("error_403", send(&sb, &[]));
    server.push(Reply::json(
        404,
        &json!({"error": {"message": "The model `m` does not exist or you do not have access to it.", "type": "invalid_request_error", "code": "model_not_found"}}),
    ));
    assert_snapshot!("error_404_model_not_found", send(&sb, &[]));
    for _ in 0..3 {
        server.push(Reply::json(
            429,
            &json!({"error": {"message": "Rate limit reached"}}),
        ));
    }
    assert_snapshot!("error_429_after_retries", send(&sb, &[]));
    for _ in 0..3 {
        server.push(Reply::body(
            500,
            "text/html",
            b"<html><body><h1>Internal Server Error</h1><p>upstream crashed</p></body></html>",
            &[],
        ));
    }
    assert_snapshot!("error_500_html", send(&sb, &[]));
    assert_eq!(server.requests().len(), 1 + 1 + 1 + 3 + 3);
}

#[test]
fn error_timeout() {
    let (sb, server) = served();
    server.push(Reply {
        steps: vec![Step::Stall(Duration::from_secs(10))],
    });
    assert_snapshot!("error_timeout", send(&sb, &["--timeout", "1"]));
}

#[test]
fn error_streams() {
    let (sb, server) = served();
    // Two pieces of text, then the connection closes mid-body.
    let mut broken = Reply::sse_pieces(&[&chunk_event("partial "), &chunk_event("answer")]);
    broken.steps.retain(|s| !matches!(s, Step::EndChunks));
    server.push(broken);
    assert_snapshot!("error_stream_broken", send(&sb, &["--stream"]));
    let error = format!(
        "data: {}\n\n",
        json!({"error": {"message": "upstream overloaded", "type": "server_error"}})
    );
    server.push(Reply::sse_pieces(&[
        &chunk_event("so far"),
        &error,
        "data: [DONE]\n\n",
    ]));
    assert_snapshot!("error_stream_error_frame", send(&sb, &["--stream"]));
}

#[test]
fn error_usage_and_parameters() {
    let sb = Sandbox::new();
    sb.run(&["create", "two", "{topic} for {audience}"])
        .success();
    assert_snapshot!(
        "error_usage_bad_flag_value",
        text(&sb, &["run", "two", "--max-tokens", "zero"])
    );
    assert_snapshot!(
        "error_missing_parameters",
        text(&sb, &["run", "two", "--provider", "openai"])
    );
}

#[test]
fn error_config_files() {
    let sb = Sandbox::new();
    sb.write_config(
        "{\n  \"custom_providers\": {\n    \"a\": {\"base_url\": \"http://a/v1\"},\n  }\n}\n",
    );
    assert_snapshot!(
        "error_config_does_not_parse",
        text(&sb, &["provider", "list"])
    );
    sb.write_config(
        "{\n  \"default_provider\": \"a\",\n  \"temperature\": 0.5,\n  \"default_provider\": \"b\"\n}\n",
    );
    assert_snapshot!(
        "error_config_duplicate_key",
        text(&sb, &["config", "set", "max_tokens", "10"])
    );
    let m = file(&sb, "providers.toml", SYNTAX);
    assert_snapshot!("error_manifest_syntax", text(&sb, &["plan", "-f", &m]));
}

#[test]
fn error_config_set_invalid() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "local", "http://localhost:8080/v1"])
        .success();
    let both = format!(
        "{}{}",
        text(&sb, &["config", "set", "temperature", "9"]),
        text(
            &sb,
            &[
                "config",
                "set",
                "custom_providers.local.base_url",
                "ftp://x"
            ]
        )
    );
    assert_snapshot!("error_config_set_invalid", both);
}

// ---- confirmations and notes of the provider commands -------------------

/// Runs each command in turn, each shown as `$ aix ARGS` before its text.
fn session(sb: &Sandbox, commands: &[&[&str]]) -> String {
    commands
        .iter()
        .map(|args| {
            let words: Vec<String> = args
                .iter()
                .map(|a| {
                    if a.contains(|c: char| " {}$\"".contains(c)) {
                        format!("'{a}'")
                    } else {
                        a.to_string()
                    }
                })
                .collect();
            format!("$ aix {}\n{}", words.join(" "), text(sb, args))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn provider_edit_messages() {
    let sb = Sandbox::new();
    let m = file(
        &sb,
        "providers.toml",
        "[providers.managed]\nbase_url = \"http://managed/v1\"\n",
    );
    sb.run(&["apply", "-f", &m]).success();
    let first = session(
        &sb,
        &[
            &[
                "provider",
                "add",
                "ollama",
                "http://localhost:11434/v1/",
                "-m",
                "llama3.2",
            ],
            &["provider", "add", "ollama", "http://other/v1"],
        ],
    );
    sb.aix()
        .args(["api-key", "ollama"])
        .write_stdin("sk-edit-canary-key\n")
        .assert()
        .success();
    let then = session(
        &sb,
        &[
            &[
                "provider",
                "update",
                "ollama",
                "--model",
                "qwen3",
                "-H",
                "X-Custom: v",
            ],
            &["provider", "update", "ollama"],
            &[
                "provider",
                "update",
                "ollama",
                "--remove-header",
                "X-Missing",
            ],
            &["provider", "update", "openai", "--model", "gpt-4.1"],
            &["provider", "update", "managed", "--model", "m"],
            &["provider", "update", "managed", "--model", "m", "--force"],
            &["provider", "remove", "ollama"],
            &["provider", "remove", "managed"],
        ],
    );
    assert_snapshot!(
        "provider_edit_messages",
        format!("{first}\n(aix api-key ollama)\n\n{then}")
    );
}

// ---- a sent run: the answer, and -v ------------------------------------

#[test]
fn run_verbose() {
    let (sb, server) = served();
    server.push(Reply::answer("Hi there."));
    assert_snapshot!("run_verbose", send(&sb, &["-v"]));
    server.push(Reply::stream(&["Hi ", "there."]));
    assert_snapshot!("run_verbose_stream", send(&sb, &["-v", "--stream"]));
}

// ---- saved prompts ------------------------------------------------------

#[test]
fn prompts_list_and_show() {
    let sb = Sandbox::new();
    sb.run(&[
        "create",
        "summarize",
        "Summarize in {words} words: {input}",
        "-d",
        "Short summaries",
        "-s",
        "You are concise.",
        "-m",
        "gpt-4o",
    ])
    .success();
    let steps: &[&[&str]] = &[
        &["create", "greet", "Hello {name}"],
        &["create", "bad", "Hello {name"],
        &["list"],
        &["list", "--json"],
        &["show", "summarize"],
        &["show", "summarize", "--json"],
        &["show", "sumarize"],
    ];
    assert_snapshot!("prompts_list_and_show", session(&sb, steps));
}

// ---- aix config get/set/unset --------------------------------------------

#[test]
fn config_messages() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "local", "http://localhost:8080/v1"])
        .success();
    sb.aix()
        .args(["api-key", "local"])
        .write_stdin("sk-config-canary-key\n")
        .assert()
        .success();
    let steps: &[&[&str]] = &[
        &["config", "set", "max_tokens", "256"],
        &["config", "set", "api_key.local", "x"],
        &["config", "get", "max_tokens"],
        &["config", "get", "api_keys.local"],
        &["config", "get", "custom_providers.local", "--json"],
        &["config", "get", "custom_providers.nope"],
        &["config", "unset", "max_tokens"],
        &["config", "unset", "max_tokens"],
        &["config", "path"],
    ];
    assert_snapshot!("config_messages", session(&sb, steps));
}
