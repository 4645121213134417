//! Request shaping and presets, checked on the wire: query parameters on
//! every URL, `extra_body` merged, the token-limit key, `stream_options`,
//! each preset's request, and the examples' dry runs.

use std::path::Path;

use insta::assert_snapshot;
use predicates::prelude::*;
use serde_json::{Value, json};

use crate::common::*;
use crate::server::{Reply, Server};

fn setup(server: &Server, extra: &[&str]) -> Sandbox {
    provider_p(&server.base(), extra)
}

fn send(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    send_p(sb, args)
}

fn stream_reply() -> Reply {
    Reply::stream(&["Hi", " there"])
}

#[test]
fn query_params_go_on_every_url_encoded() {
    let server = Server::start();
    let sb = setup(
        &server,
        &["--query", "api-version=2024-10-21", "--query", "a-b=c&d/é"],
    );
    let q = "?api-version=2024-10-21&a-b=c%26d%2F%C3%A9";
    server.push(Reply::answer("ok"));
    send(&sb, &[]).success().stdout("ok\n");
    assert_eq!(server.last().path, format!("/v1/chat/completions{q}"));
    server.push(Reply::json(200, &json!({"data": [{"id": "m"}]})));
    sb.run(&["provider", "models", "p"]).success();
    assert_eq!(server.last().path, format!("/v1/models{q}"));
    server.push(Reply::json(200, &json!({"data": [{"id": "m"}]})));
    sb.run(&["provider", "check", "p"]).success();
    assert_eq!(server.last().path, format!("/v1/models{q}"));
    // The dry run shows the same URL.
    sb.run(&["run", "greet", "--provider", "p"])
        .success()
        .stdout(predicate::str::contains(format!(
            "POST {}/chat/completions{q}",
            server.base()
        )));
    sb.run(&["provider", "update", "p", "--remove-query", "a-b"])
        .success();
    server.push(Reply::answer("ok"));
    send(&sb, &[]).success();
    assert_eq!(
        server.last().path,
        "/v1/chat/completions?api-version=2024-10-21"
    );
}

#[test]
fn extra_body_is_deep_merged_under_what_the_run_asks() {
    let server = Server::start();
    let extra = r#"{"options":{"num_ctx":32768},"temperature":0.1,"stream_options":{"continuous_usage_stats":true},"user":"${env:AIX_T_BODY_SECRET}"}"#;
    let sb = setup(&server, &["--extra-body", extra]);
    // The server echoes the secret back: it is masked in the answer.
    server.push(Reply::stream(&["echo: s3cr3t-body-value"]));
    let out = sb
        .aix()
        .env("AIX_T_BODY_SECRET", "s3cr3t-body-value")
        .args(["run", "greet", "--provider", "p", "-e", "--stream"])
        .args(["--temperature", "0.7", "-v"])
        .write_stdin("")
        .assert()
        .success();
    let body = server.last().json();
    assert_eq!(body["options"], json!({"num_ctx": 32768}));
    assert_eq!(body["temperature"], json!(0.7), "the flag wins");
    assert_eq!(
        body["stream_options"],
        json!({"continuous_usage_stats": true, "include_usage": true})
    );
    assert_eq!(body["user"], "s3cr3t-body-value");
    assert_eq!(body["model"], "m");
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains("s3cr3t-body-value"), "{text}");
    }
    // A dry run shows the reference, not the value.
    let dry = sb
        .aix()
        .env("AIX_T_BODY_SECRET", "s3cr3t-body-value")
        .args(["run", "greet", "--provider", "p"])
        .assert()
        .success();
    let text = stdout(&dry);
    assert!(
        text.contains("user: \"${env:AIX_T_BODY_SECRET}\""),
        "{text}"
    );
    assert!(text.contains("options: {\"num_ctx\":32768}"), "{text}");
    // An unset variable is an error naming the place, and nothing is sent.
    let before = server.requests().len();
    let err = send(&sb, &[]).code(1);
    assert!(
        stderr(&err).contains("extra_body.user of provider 'p'"),
        "{}",
        stderr(&err)
    );
    assert_eq!(server.requests().len(), before);
}

#[test]
fn keys_aix_owns_are_refused_in_extra_body_everywhere() {
    let sb = Sandbox::new();
    let a = sb
        .run(&[
            "provider",
            "add",
            "p",
            "http://127.0.0.1:9/v1",
            "--extra-body",
            r#"{"model":"x"}"#,
        ])
        .code(64);
    assert_snapshot!("extra_body_owned_key_flag", stderr(&a));
    sb.run(&[
        "provider",
        "add",
        "p",
        "http://127.0.0.1:9/v1",
        "--extra-body",
        "[1]",
    ])
    .code(64)
    .stderr(predicate::str::contains(
        "must be a JSON object, not an array",
    ));
    let m = sb.root.join("m.toml");
    std::fs::write(
        &m,
        "[providers.p]\nbase_url = \"http://h/v1\"\nextra_body = { stream = false, options = { a = \"${env:1x}\" } }\n",
    )
    .unwrap();
    let v = sb.run(&["validate", m.to_str().unwrap()]).code(1);
    assert_snapshot!(
        "extra_body_owned_key_manifest",
        format!("{}{}", stdout(&v), stderr(&v)).replace(m.to_str().unwrap(), "m.toml")
    );
    sb.run(&["plan", "-f", m.to_str().unwrap()]).code(1);
    assert!(sb.config_bytes().is_none());
}

#[test]
fn the_token_limit_goes_under_the_providers_key() {
    let server = Server::start();
    let sb = setup(&server, &["--max-tokens-param", "max_completion_tokens"]);
    server.push(Reply::answer("ok"));
    send(&sb, &["--max-tokens", "5"]).success();
    let body = server.last().json();
    assert_eq!(body["max_completion_tokens"], 5);
    assert!(body.get("max_tokens").is_none(), "{body}");
    // No limit, no key.
    server.push(Reply::answer("ok"));
    send(&sb, &[]).success();
    assert!(server.last().json().get("max_completion_tokens").is_none());
    // config.json's max_tokens goes under the same key.
    sb.run(&["config", "set", "max_tokens", "9"]).success();
    server.push(Reply::answer("ok"));
    send(&sb, &[]).success();
    assert_eq!(server.last().json()["max_completion_tokens"], 9);
    sb.run(&["provider", "update", "p", "--no-max-tokens-param"])
        .success();
    server.push(Reply::answer("ok"));
    send(&sb, &[]).success();
    assert_eq!(server.last().json()["max_tokens"], 9);
}

#[test]
fn stream_usage_false_leaves_out_stream_options() {
    let server = Server::start();
    let sb = setup(&server, &["--stream-usage", "false"]);
    server.push(stream_reply());
    send(&sb, &["--stream"]).success().stdout("Hi there\n");
    let body = server.last().json();
    assert_eq!(body["stream"], true);
    assert!(body.get("stream_options").is_none(), "{body}");
    sb.run(&["provider", "update", "p", "--stream-usage", "true"])
        .success();
    server.push(stream_reply());
    send(&sb, &["--stream"]).success();
    assert_eq!(
        server.last().json()["stream_options"],
        json!({"include_usage": true})
    );
    sb.run(&["provider", "update", "p", "--stream-usage", "maybe"])
        .code(64)
        .stderr(predicate::str::contains("must be true or false"));
}

fn presets(sb: &Sandbox) -> Vec<Value> {
    let out = sb.run(&["provider", "presets", "--json"]).success();
    serde_json::from_str::<Value>(&stdout(&out))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Every preset, pointed at the in-test server: the request carries what
/// the preset sets (its headers with references resolved, its query, its
/// token-limit key, stream options or not, the key from its variable).
#[test]
fn each_presets_request_carries_what_it_sets() {
    let sb = Sandbox::new();
    let all = presets(&sb);
    assert!(all.len() >= 12, "{all:?}");
    for preset in all {
        let name = preset["name"].as_str().unwrap();
        let sets = &preset["sets"];
        if sets.get("wire").is_some() {
            // Another protocol's request and answer: tests/cli/wire.rs
            // spells out the anthropic preset's.
            continue;
        }
        let server = Server::start();
        let sb = setup(&server, &["--preset", name]);
        server.push(stream_reply());
        let key_var = sets["api_key_env"].as_str().unwrap_or("NO_KEY_VAR");
        let out = sb
            .aix()
            .env(key_var, "sk-preset-canary")
            .env("AZURE_OPENAI_API_KEY", "az-canary")
            .args(["run", "greet", "--provider", "p", "-e", "--stream"])
            .args(["--max-tokens", "7"])
            .write_stdin("")
            .assert()
            .success();
        assert_eq!(stdout(&out), "Hi there\n", "{name}");
        let req = server.last();
        let body = req.json();
        let limit_key = sets["max_tokens_param"].as_str().unwrap_or("max_tokens");
        assert_eq!(body[limit_key], 7, "{name}: {body}");
        let usage = sets["stream_usage"].as_bool().unwrap_or(true);
        assert_eq!(
            body.get("stream_options").is_some(),
            usage,
            "{name}: {body}"
        );
        let query: Vec<String> = sets["query_params"]
            .as_object()
            .map(|q| {
                q.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        let want_path = if query.is_empty() {
            "/v1/chat/completions".to_string()
        } else {
            format!("/v1/chat/completions?{}", query.join("&"))
        };
        assert_eq!(req.path, want_path, "{name}");
        if let Some(headers) = sets["headers"].as_object() {
            for (k, v) in headers {
                let want = v
                    .as_str()
                    .unwrap()
                    .replace("${env:AZURE_OPENAI_API_KEY}", "az-canary");
                assert_eq!(req.header(k), Some(want.as_str()), "{name}: {k}");
            }
        }
        match sets["auth_type"].as_str() {
            Some("api-key") => assert_eq!(req.header("authorization"), None, "{name}"),
            _ if sets.get("api_key_env").is_some() => assert_eq!(
                req.header("authorization"),
                Some("Bearer sk-preset-canary"),
                "{name}"
            ),
            _ => assert_eq!(req.header("authorization"), None, "{name}"),
        }
        for text in [stdout(&out), stderr(&out)] {
            assert!(!text.contains("canary"), "{name}: {text}");
        }
    }
}

/// Azure's request, spelled out (not derived from the preset data).
#[test]
fn the_azure_preset_sends_what_azure_expects() {
    let server = Server::start();
    let sb = setup(&server, &["--preset", "azure"]);
    server.push(Reply::answer("ok"));
    sb.aix()
        .env("AZURE_OPENAI_API_KEY", "az-canary")
        .args(["run", "greet", "--provider", "p", "-e", "--max-tokens", "3"])
        .write_stdin("")
        .assert()
        .success();
    let req = server.last();
    assert_eq!(req.path, "/v1/chat/completions?api-version=2024-10-21");
    assert_eq!(req.header("api-key"), Some("az-canary"));
    assert_eq!(req.header("authorization"), None);
    let body = req.json();
    assert_eq!(body["max_completion_tokens"], 3);
    assert!(body.get("max_tokens").is_none());
}

#[test]
fn a_preset_with_a_usual_url_needs_none() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "local", "--preset", "ollama"])
        .success()
        .stderr(predicate::str::contains(
            "Added provider 'local' (http://localhost:11434/v1)",
        ));
    let e = sb
        .run(&["provider", "add", "az", "--preset", "azure"])
        .code(64);
    assert_snapshot!("preset_without_a_url", stderr(&e));
    let e = sb
        .run(&["provider", "add", "x", "--preset", "olama"])
        .code(64);
    assert!(
        stderr(&e).contains("\"olama\" is not a preset (did you mean \"ollama\"?)"),
        "{}",
        stderr(&e)
    );
    let e = sb.run(&["provider", "add", "x"]).code(64);
    assert!(stderr(&e).contains("needs a base URL"), "{}", stderr(&e));
}

#[test]
fn presets_listing_and_info_say_where_values_come_from() {
    let sb = Sandbox::new();
    assert_snapshot!(
        "provider_presets",
        stdout(&sb.run(&["provider", "presets"]).success())
    );
    sb.run(&[
        "provider",
        "add",
        "az",
        "https://r.openai.azure.com/openai/deployments/d",
        "--preset",
        "azure",
        "--stream-usage",
        "true",
    ])
    .success();
    assert_snapshot!(
        "provider_info_preset",
        stdout(&sb.run(&["provider", "info", "az"]).success())
    );
    // Switching preset: what azure filled in gives way; what was set stays.
    sb.run(&["provider", "update", "az", "--preset", "vllm"])
        .success();
    let c = sb.config();
    let entry = &c["custom_providers"]["az"];
    assert_eq!(
        entry["base_url"],
        "https://r.openai.azure.com/openai/deployments/d"
    );
    assert_eq!(entry["auth_type"], "bearer");
    assert_eq!(entry["stream_usage"], true);
    assert!(entry.get("query_params").is_none(), "{entry}");
    assert!(entry.get("headers").is_none(), "{entry}");
    assert!(entry.get("max_tokens_param").is_none(), "{entry}");
}

#[test]
fn a_preset_manifest_plans_with_origins_and_round_trips() {
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(
        &m,
        "[providers.local]\npreset = \"ollama\"\ndefault_model = \"llama3.2\"\n\n[providers.az]\npreset = \"azure\"\nbase_url = \"https://r.openai.azure.com/openai/deployments/d\"\nheaders = { \"X-Team\" = \"lab\" }\n",
    )
    .unwrap();
    let path = m.to_str().unwrap();
    assert_snapshot!(
        "plan_with_presets",
        stdout(&sb.run(&["plan", "-f", path]).success())
    );
    sb.run(&["apply", "-f", path]).success();
    sb.run(&["plan", "-f", path, "--detailed-exitcode"]).code(0);
    let export = stdout(&sb.run(&["provider", "export"]).success());
    assert_snapshot!("export_with_presets", export);
    std::fs::write(&m, &export).unwrap();
    sb.run(&["plan", "-f", path, "--detailed-exitcode"]).code(0);
}

/// Every field set in a manifest: apply, export, and the export plans as
/// no changes.
#[test]
fn every_field_round_trips_through_export() {
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(
        &m,
        r#"[providers.full]
base_url = "https://llm.example.com/v1"
default_model = "m"
auth_type = "api-key"
api_key_env = "FULL_KEY"
timeout_secs = 30
max_time_secs = 600
connect_timeout_secs = 3
extra_body = { options = { num_ctx = 8192, stop = ["a", "b"] }, top_k = 5, min_p = 0.05, think = false }
max_tokens_param = "max_completion_tokens"
stream_usage = false
ca_file = "~/lab-ca.pem"
proxy = "socks5h://127.0.0.1:1080"
preset = "vllm"
headers = { "X-API-Key" = "${env:FULL_HEADER}" }
query_params = { "api-version" = "2024-10-21" }
"#,
    )
    .unwrap();
    let path = m.to_str().unwrap();
    sb.run(&["validate", path, "--strict"]).success();
    sb.run(&["apply", "-f", path]).success();
    sb.run(&["plan", "-f", path, "--detailed-exitcode"]).code(0);
    let export = stdout(&sb.run(&["provider", "export"]).success());
    std::fs::write(&m, &export).unwrap();
    sb.run(&["plan", "-f", path, "--detailed-exitcode"]).code(0);
    // Changing one nested value of extra_body is a change.
    std::fs::write(&m, export.replace("8192", "4096")).unwrap();
    let plan = stdout(&sb.run(&["plan", "-f", path]).success());
    assert!(plan.contains("extra_body:"), "{plan}");
}

/// The examples: each applies, and its dry run shows the request that
/// server expects.
#[test]
fn each_examples_dry_run_shows_the_request_its_server_expects() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for (file, provider) in [
        ("azure.toml", "azure"),
        ("openai-reasoning.toml", "openai-reasoning"),
        ("ollama.toml", "ollama"),
        ("vllm.toml", "vllm"),
        ("private-ca.toml", "lab"),
        ("anthropic.toml", "claude"),
        ("responses.toml", "openai-responses"),
    ] {
        let sb = Sandbox::new();
        let path = examples.join(file);
        sb.run(&["apply", "-f", path.to_str().unwrap()]).success();
        sb.run(&["create", "greet", "Hello"]).success();
        let dry = sb
            .run(&[
                "run",
                "greet",
                "--provider",
                provider,
                "--stream",
                "--max-tokens",
                "256",
            ])
            .success();
        assert_snapshot!(format!("example_dry_run_{provider}"), stdout(&dry));
    }
}

#[test]
fn review_fixes_for_urls_query_names_and_presets() {
    let sb = Sandbox::new();
    // What follows a space in a refused base URL is not repeated.
    let a = sb
        .run(&["provider", "add", "b", "http://h/v1 SECRETSPACE"])
        .code(64);
    assert!(!stderr(&a).contains("SECRETSPACE"), "{}", stderr(&a));
    // A query name with a space is encoded, not refused.
    let server = Server::start();
    let sb2 = setup(&server, &["--query", "sp ace=a b"]);
    server.push(Reply::answer("ok"));
    send(&sb2, &[]).success();
    assert_eq!(server.last().path, "/v1/chat/completions?sp%20ace=a%20b");
    // Switching to a preset with no usual URL keeps the old preset's, and says so.
    sb.run(&["provider", "add", "v", "--preset", "vllm"])
        .success();
    sb.run(&["provider", "update", "v", "--preset", "azure"])
        .success()
        .stderr(predicate::str::contains(
            "still has the old preset's base URL (http://localhost:8000/v1)",
        ));
}
