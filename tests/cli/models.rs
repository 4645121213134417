//! The models table: what a run that names an entry sends, how plans,
//! listings and exports show the table, and its rules.

use std::path::Path;

use insta::assert_snapshot;
use predicates::prelude::*;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server};

/// A manifest with provider `p` at `base` and three model entries.
fn manifest(base: &str) -> String {
    format!(
        r#"[providers.p]
base_url = "{base}"
default_model = "small"
extra_body = {{ options = {{ num_ctx = 8192, top_k = 20 }} }}

[providers.p.models.small]
id = "llama3.2:3b"
context_window = 131072

[providers.p.models.long]
id = "llama3.2:3b"
extra_body = {{ options = {{ num_ctx = 65536 }} }}
max_tokens_param = "max_completion_tokens"

[providers.p.models.whole]
id = "qwen3"
stream = false
temperature = false
stream_usage = false
"#
    )
}

fn applied(server: &Server) -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(&m, manifest(&server.base())).unwrap();
    sb.run(&["apply", "-f", m.to_str().unwrap()]).success();
    sb.run(&["create", "greet", "Hello"]).success();
    (sb, m)
}

fn send(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    send_p(sb, args)
}

#[test]
fn an_entry_sends_its_id_and_its_settings_over_the_providers() {
    let server = Server::start();
    let (sb, _) = applied(&server);
    // The default model is an entry's key.
    server.push(Reply::answer("ok"));
    send(&sb, &[]).success().stdout("ok\n");
    let body = server.last().json();
    assert_eq!(body["model"], "llama3.2:3b");
    assert_eq!(body["options"], json!({"num_ctx": 8192, "top_k": 20}));
    // Its extra_body merges over the provider's; its limit key is its own.
    server.push(Reply::answer("ok"));
    send(&sb, &["-m", "long", "--max-tokens", "9"]).success();
    let body = server.last().json();
    assert_eq!(body["model"], "llama3.2:3b");
    assert_eq!(body["options"], json!({"num_ctx": 65536, "top_k": 20}));
    assert_eq!(body["max_completion_tokens"], 9);
    assert!(body.get("max_tokens").is_none());
    // stream = false answers whole even when --stream asks; temperature =
    // false sends none even when asked, and both say so.
    server.push(Reply::answer("whole"));
    let out = send(&sb, &["-m", "whole", "--stream", "--temperature", "0.5"]).success();
    assert_eq!(stdout(&out), "whole\n");
    let err = stderr(&out);
    assert!(err.contains("cannot stream"), "{err}");
    assert!(err.contains("takes no temperature"), "{err}");
    let body = server.last().json();
    assert_eq!(body["model"], "qwen3");
    assert_eq!(body["stream"], false);
    assert!(body.get("temperature").is_none(), "{body}");
    // config.json's temperature is not sent either.
    sb.run(&["config", "set", "temperature", "0.3"]).success();
    server.push(Reply::answer("whole"));
    send(&sb, &["-m", "whole"]).success();
    assert!(server.last().json().get("temperature").is_none());
    // A name that is not a key is sent as it is.
    server.push(Reply::answer("ok"));
    send(&sb, &["-m", "qwen3:14b"]).success();
    assert_eq!(server.last().json()["model"], "qwen3:14b");
}

#[test]
fn a_model_temperature_is_the_default_a_flag_overrides() {
    let server = Server::start();
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(
        &m,
        format!(
            "[providers.p]\nbase_url = \"{}\"\n\n[providers.p.models.warm]\nid = \"m\"\ntemperature = 1.2\n",
            server.base()
        ),
    )
    .unwrap();
    sb.run(&["apply", "-f", m.to_str().unwrap()]).success();
    sb.run(&["create", "greet", "Hello"]).success();
    sb.run(&["config", "set", "temperature", "0.3"]).success();
    server.push(Reply::answer("ok"));
    send(&sb, &["-m", "warm"]).success();
    assert_eq!(server.last().json()["temperature"], json!(1.2));
    server.push(Reply::answer("ok"));
    send(&sb, &["-m", "warm", "--temperature", "0.1"]).success();
    assert_eq!(server.last().json()["temperature"], json!(0.1));
}

#[test]
fn plans_listings_and_exports_show_the_table() {
    let server = Server::start();
    let base = server.base();
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(&m, manifest(&base)).unwrap();
    let path = m.to_str().unwrap();
    let redact = |t: String| t.replace(&base, "http://SERVER/v1");
    assert_snapshot!(
        "models_plan_create",
        redact(stdout(&sb.run(&["plan", "-f", path]).success()))
    );
    sb.run(&["apply", "-f", path]).success();
    assert_snapshot!("models_listing", stdout(&sb.run(&["models"]).success()));
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&sb.run(&["models", "p", "--json"]).success())).unwrap();
    assert_eq!(listed["aliases"], serde_json::json!([]));
    let entry = |key: &str| {
        listed["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        entry("long")["effective"]["extra_body"],
        json!({"options": {"num_ctx": 65536, "top_k": 20}})
    );
    assert_eq!(entry("small")["effective"]["default"], true);
    assert_eq!(entry("long")["effective"]["default"], false);
    // One model changed: the plan shows that model.
    let edited = manifest(&base).replace("num_ctx = 65536", "num_ctx = 32768");
    std::fs::write(&m, &edited).unwrap();
    assert_snapshot!(
        "models_plan_update",
        redact(stdout(&sb.run(&["plan", "-f", path]).success()))
    );
    sb.run(&["apply", "-f", path]).success();
    // Export, then plan the export: no changes.
    let export = stdout(&sb.run(&["provider", "export"]).success());
    assert!(export.contains("[providers.p.models.long]"), "{export}");
    std::fs::write(&m, &export).unwrap();
    sb.run(&["plan", "-f", path, "--detailed-exitcode"]).code(0);
    // The server's list marks what the table declares.
    server.push(Reply::json(
        200,
        &json!({"data": [{"id": "llama3.2:3b", "owned_by": "library"}, {"id": "phi4"}]}),
    ));
    let out = stdout(&sb.run(&["provider", "models", "p"]).success());
    assert!(
        out.lines()
            .any(|l| l.starts_with("llama3.2:3b") && l.contains("long, small")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("phi4") && l.trim_end().ends_with('-')),
        "{out}"
    );
}

#[test]
fn bad_entries_are_refused_with_their_place() {
    let sb = Sandbox::new();
    let m = sb.root.join("m.toml");
    std::fs::write(
        &m,
        "[providers.p]\nbase_url = \"http://h/v1\"\n\n[providers.p.models.a]\nid = \"x\"\ncontxt_window = 5\n",
    )
    .unwrap();
    let path = m.to_str().unwrap();
    let v = sb.run(&["validate", path]).code(1);
    assert_snapshot!(
        "models_bad_key",
        format!("{}{}", stdout(&v), stderr(&v)).replace(path, "m.toml")
    );
    // Every problem of the table at once, each naming its entry.
    std::fs::write(
        &m,
        "[providers.p]\nbase_url = \"http://h/v1\"\n\n[providers.p.models.k]\nidd = \"x\"\ntemprature = 0.3\n\n[providers.p.models.j]\ntemperature = 3\n",
    )
    .unwrap();
    let v = sb.run(&["validate", path]).code(1);
    let out = stdout(&v);
    assert!(
        out.contains("model \"k\": \"idd\" is not a model setting"),
        "{out}"
    );
    assert!(
        out.contains("model \"k\": \"temprature\" is not a model setting"),
        "{out}"
    );
    assert!(out.contains("did you mean \"temperature\"?"), "{out}");
    assert!(
        out.contains("model \"j\": temperature: must be a number from 0 to 2"),
        "{out}"
    );
    assert!(!out.contains("anyOf"), "{out}");
    std::fs::write(
        &m,
        "[providers.p]\nbase_url = \"http://h/v1\"\n\n[providers.p.models.fast]\nid = \"big\"\n\n[providers.p.models.big]\nid = \"huge\"\n",
    )
    .unwrap();
    let v = sb.run(&["validate", path]).code(1);
    assert!(
        stdout(&v).contains("which is also the key of model \"big\""),
        "{}",
        stdout(&v)
    );
    sb.run(&["plan", "-f", path]).code(1);
    assert!(sb.config_bytes().is_none());
}

#[test]
fn the_models_example_plans_and_runs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models.toml");
    let sb = Sandbox::new();
    sb.run(&["apply", "-f", path.to_str().unwrap()]).success();
    sb.run(&["create", "greet", "Hello"]).success();
    sb.run(&["run", "greet", "--provider", "ollama", "-m", "qwen-fast"])
        .success()
        .stdout(predicate::str::contains(
            "model:    qwen3 (models.qwen-fast)",
        ))
        .stdout(predicate::str::contains(
            "chat_template_kwargs: {\"enable_thinking\":false}",
        ));
}

#[test]
fn temperature_false_also_drops_extra_bodys_temperature() {
    let server = Server::start();
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(
        &m,
        format!(
            "[providers.p]\nbase_url = \"{}\"\nextra_body = {{ temperature = 0.7, top_k = 3 }}\n\n[providers.p.models.r]\nid = \"o4-mini\"\ntemperature = false\n",
            server.base()
        ),
    )
    .unwrap();
    sb.run(&["apply", "-f", m.to_str().unwrap()]).success();
    sb.run(&["create", "greet", "Hello"]).success();
    server.push(Reply::answer("ok"));
    send(&sb, &["-m", "r", "--temperature", "0.5"]).success();
    let body = server.last().json();
    assert!(body.get("temperature").is_none(), "{body}");
    assert_eq!(body["top_k"], 3);
}
