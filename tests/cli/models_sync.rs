//! `aix models sync`: entries proposed for what the server offers, the
//! Ollama and LiteLLM details, and `--write` keeping the manifest's layout.

use insta::assert_snapshot;
use serde_json::{Value, json};

use crate::common::*;
use crate::server::{Reply, Server};

/// A manifest with comments around provider `p` (at `base`, with `extra`
/// lines) and provider `other` after it.
fn manifest(base: &str, extra: &str) -> String {
    format!(
        r#"# Providers of the team. Keep this comment.

[providers.p]   # the box under the desk
base_url = "{base}"
{extra}
default_model = "small"

[providers.p.models.small]
id = "llama3.2:3b"   # the fast one
context_window = 131072


# Another provider, after two blank lines.
[providers.other]
base_url = "http://127.0.0.1:9/v1"
"#
    )
}

struct Setup {
    server: Server,
    sb: Sandbox,
    path: String,
}

fn setup(extra: &str) -> Setup {
    let server = Server::start();
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(&m, manifest(&server.base(), extra)).unwrap();
    let path = m.to_str().unwrap().to_string();
    Setup { server, sb, path }
}

impl Setup {
    fn sync(&self, more: &[&str]) -> assert_cmd::assert::Assert {
        let mut args = vec!["models", "sync", "p", "-f", &self.path];
        args.extend_from_slice(more);
        self.sb.run(&args)
    }

    fn redact(&self, t: String) -> String {
        t.replace(&self.path, "providers.toml")
            .replace(&self.server.addr, "http://SERVER")
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }
}

fn list(ids: &[&str]) -> Reply {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "owned_by": "someone"}))
        .collect();
    Reply::json(200, &json!({"object": "list", "data": data}))
}

#[test]
fn proposes_every_model_when_nothing_is_declared() {
    let s = setup("");
    // No models table at all.
    let text = s.text().replace(
        "[providers.p.models.small]\nid = \"llama3.2:3b\"   # the fast one\ncontext_window = 131072\n",
        "",
    );
    std::fs::write(&s.path, &text).unwrap();
    s.server
        .push(list(&["qwen3", "llama3.2:3b", "org/My Model"]));
    let out = s.sync(&[]).success();
    assert_snapshot!(
        "sync_nothing_declared",
        s.redact(format!("{}{}", stdout(&out), stderr(&out)))
    );
    // Nothing written without --write.
    assert_eq!(s.text(), text);
    let r = s.server.requests();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].method.as_str(), r[0].path.as_str()),
        ("GET", "/v1/models")
    );
}

#[test]
fn proposes_only_what_is_not_declared() {
    let s = setup("");
    s.server.push(list(&["llama3.2:3b", "phi4"]));
    let out = s.sync(&[]).success();
    assert_snapshot!("sync_some_declared", s.redact(stdout(&out)));
    // --json: the entries to add and the ids already declared.
    s.server.push(list(&["llama3.2:3b", "phi4", "org/a b"]));
    let v: Value = serde_json::from_str(&stdout(&s.sync(&["--json"]).success())).unwrap();
    assert_eq!(
        v,
        json!({
            "provider": "p",
            "add": [{"key": "org/a-b", "id": "org/a b"}, {"key": "phi4", "id": "phi4"}],
            "declared": ["llama3.2:3b"]
        })
    );
}

#[test]
fn ollama_context_lengths_come_from_api_show() {
    let s = setup("preset = \"ollama\"\napi_key_env = \"P_KEY\"");
    s.server.push(list(&["llama3.2:3b", "qwen3:8b", "phi4"]));
    // Asked in id order: phi4 says nothing, qwen3:8b its context length.
    s.server.push(Reply::json(200, &json!({"model_info": {}})));
    s.server.push(Reply::json(
        200,
        &json!({"details": {"family": "qwen3"}, "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960}}),
    ));
    let out =
        s.sb.aix()
            .env("P_KEY", "sk-ollama-test")
            .args(["models", "sync", "p", "-f", &s.path])
            .write_stdin("")
            .assert()
            .success();
    assert_snapshot!("sync_ollama", s.redact(stdout(&out)));
    let r = s.server.requests();
    let shows: Vec<_> = r.iter().filter(|r| r.path == "/api/show").collect();
    assert_eq!(shows.len(), 2, "{r:?}");
    assert_eq!(shows[0].method, "POST");
    assert_eq!(shows[0].json(), json!({"model": "phi4"}));
    assert_eq!(shows[1].json(), json!({"model": "qwen3:8b"}));
    // With the provider's auth, as /models.
    for r in &r {
        assert_eq!(r.header("authorization"), Some("Bearer sk-ollama-test"));
    }
}

#[test]
fn a_failing_api_show_only_drops_the_detail() {
    let s = setup("");
    // owned_by "library" is how Ollama's /v1/models marks its models.
    s.server.push(Reply::json(
        200,
        &json!({"data": [{"id": "phi4", "owned_by": "library"}, {"id": "qwen3", "owned_by": "library"}]}),
    ));
    s.server
        .push(Reply::json(404, &json!({"error": "not here"})));
    let out = s.sync(&["--json"]).success();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        v["add"],
        json!([{"key": "phi4", "id": "phi4"}, {"key": "qwen3", "id": "qwen3"}])
    );
    let err = stderr(&out);
    assert!(err.contains("/api/show failed"), "{err}");
    // The first failure stops the asking.
    assert_eq!(s.server.requests().len(), 2);
}

#[test]
fn litellm_limits_come_from_model_info() {
    let s = setup("preset = \"litellm\"");
    s.server.push(list(&["gpt-4o", "claude"]));
    s.server.push(Reply::json(
        200,
        &json!({"data": [
            {"model_name": "gpt-4o", "model_info": {"max_input_tokens": 128000, "max_output_tokens": 16384}},
            {"model_name": "claude", "model_info": {"max_input_tokens": null}}
        ]}),
    ));
    let out = s.sync(&["--json"]).success();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        v["add"],
        json!([
            {"key": "claude", "id": "claude"},
            {"key": "gpt-4o", "id": "gpt-4o", "context_window": 128000, "max_output_tokens": 16384}
        ])
    );
    let r = s.server.requests();
    assert_eq!(
        (r[1].method.as_str(), r[1].path.as_str()),
        ("GET", "/model/info")
    );
}

#[test]
fn write_inserts_the_tables_and_keeps_every_other_byte() {
    let s = setup("preset = \"ollama\"");
    let before = s.text();
    s.server.push(list(&["llama3.2:3b", "qwen3:8b"]));
    s.server.push(Reply::json(
        200,
        &json!({"model_info": {"qwen3.context_length": 40960}}),
    ));
    set_mode(std::path::Path::new(&s.path), 0o640);
    let out = s.sync(&["--write"]).success();
    assert_snapshot!("sync_write", s.redact(stdout(&out)));
    let after = s.text();
    let inserted = "\n[providers.p.models.\"qwen3:8b\"]\ncontext_window = 40960\n";
    // Right after the provider's last line: the blank lines and the
    // comment before the next table stay with it.
    let at = before.find("\n\n\n# Another provider").unwrap() + 1;
    assert_eq!(
        after,
        format!("{}{inserted}{}", &before[..at], &before[at..])
    );
    assert_eq!(mode(std::path::Path::new(&s.path)), 0o640);
    // The plan shows the new model; after apply there is nothing to sync.
    let plan = stdout(&s.sb.run(&["plan", "-f", &s.path]).success());
    assert!(plan.contains("qwen3:8b"), "{plan}");
    s.sb.run(&["apply", "-f", &s.path]).success();
    s.server.push(list(&["llama3.2:3b", "qwen3:8b"]));
    assert_eq!(stdout(&s.sync(&["--write"]).success()), "No new models.\n");
    assert_eq!(s.text(), after);
}

#[test]
fn write_follows_a_symlink_to_the_manifest() {
    let s = setup("");
    let real = s.sb.root.join("real.toml");
    std::fs::rename(&s.path, &real).unwrap();
    std::os::unix::fs::symlink(&real, &s.path).unwrap();
    s.server.push(list(&["phi4"]));
    s.sync(&["--write"]).success();
    assert!(
        std::fs::symlink_metadata(&s.path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("[providers.p.models.phi4]")
    );
}

#[test]
fn a_provider_not_in_the_manifest_is_an_error() {
    let s = setup("");
    let out =
        s.sb.run(&["models", "sync", "nope", "-f", &s.path])
            .failure();
    assert_snapshot!("sync_not_declared", s.redact(stderr(&out)));
    assert!(s.server.requests().is_empty());
}

#[test]
fn server_errors_are_the_usual_ones() {
    let s = setup("");
    s.server.push(Reply::json(
        401,
        &json!({"error": {"message": "Invalid API key"}}),
    ));
    let out = s.sync(&[]).failure();
    assert_snapshot!("sync_unauthorized", s.redact(stderr(&out)));
    // Nothing listening.
    let text = s.text().replace(&s.server.base(), "http://127.0.0.1:9/v1");
    std::fs::write(&s.path, text).unwrap();
    let out = s.sync(&["--timeout", "2"]).failure();
    let err = stderr(&out);
    assert!(err.contains("127.0.0.1:9"), "{err}");
}

#[test]
fn models_and_models_sync_both_parse() {
    let sb = Sandbox::new();
    let err = stderr(&sb.run(&["models", "ollama"]).failure());
    assert!(!err.contains("unrecognized"), "{err}");
    let err = stderr(&sb.run(&["models", "--", "sync"]).failure());
    assert!(err.contains("sync"), "{err}");
    assert!(!err.contains("providers.toml"), "{err}");
    let err = stderr(&sb.run(&["models", "sync", "ollama"]).failure());
    assert!(err.contains("providers.toml"), "{err}");
}

#[test]
fn at_most_500_server_models_are_looked_at() {
    let s = setup("");
    let ids: Vec<String> = (0..600).map(|i| format!("m{i:03}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    s.server.push(list(&ids));
    let out = s.sync(&["--json"]).success();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["add"].as_array().unwrap().len(), 500);
    assert_eq!(v["add"][499]["key"], "m499");
    let err = stderr(&out);
    assert!(
        err.contains("serves 600 models; only the first 500"),
        "{err}"
    );
    // A plain server: no extra calls.
    assert_eq!(s.server.requests().len(), 1);
}

#[test]
fn write_with_json_names_the_file_and_a_taken_key_gets_a_suffix() {
    let s = setup("");
    // "small" is an entry's key (for llama3.2:3b): the server's "small"
    // cannot be an entry's id. "a-b" is its own key, so "a b" gets
    // "a-b-2".
    s.server.push(list(&["a b", "a-b", "small"]));
    let out = s.sync(&["--write", "--json"]).success();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        v["add"],
        json!([{"key": "a-b", "id": "a-b"}, {"key": "a-b-2", "id": "a b"}])
    );
    assert_eq!(v["skipped"], json!(["small"]));
    assert_eq!(v["written"], s.path.as_str());
    let err = stderr(&out);
    assert!(err.contains("it is the key of entry \"small\""), "{err}");
    assert!(
        s.text()
            .contains("[providers.p.models.a-b-2]\nid = \"a b\"\n"),
        "{}",
        s.text()
    );
    s.sb.run(&["plan", "-f", &s.path]).success();
}
