//! Findings of an outside review: secrets in refused values, placeholder
//! keys, effective settings, name suggestions, config masking, export
//! names, repair hints, careless keys and small surprises.

use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server};

const SECRET: &str = "SUPERSECRETKEY123";

#[test]
fn refused_base_url_is_not_echoed_by_the_parser() {
    let sb = Sandbox::new();
    for url in [
        "http://user:SUPERSECRETKEY123@127.0.0.1/v1",
        "http://127.0.0.1/v1?key=SUPERSECRETKEY123",
    ] {
        let a = sb.run(&["provider", "add", "a", url]).code(64);
        let err = stderr(&a);
        assert!(!err.contains(SECRET), "{err}");
        assert!(err.contains("BASE_URL"), "{err}");
    }
    sb.run(&["provider", "add", "a", "http://127.0.0.1/v1"])
        .success();
    for url in [
        "http://user:SUPERSECRETKEY123@127.0.0.1/v1",
        "http://127.0.0.1/v1?key=SUPERSECRETKEY123",
    ] {
        let a = sb.run(&["provider", "update", "a", "--url", url]).code(64);
        let err = stderr(&a);
        assert!(!err.contains(SECRET), "{err}");
        assert!(err.contains("--url"), "{err}");
    }
    let a = sb
        .run(&[
            "provider",
            "add",
            "b",
            "http://127.0.0.1/v1?key=SUPERSECRETKEY123",
        ])
        .code(64);
    insta::assert_snapshot!("refused_base_url_query", stderr(&a));
}

/// A sandbox with provider `o` on a fresh server, key `key`, and prompt
/// `hi`.
fn with_key(key: &str) -> (Sandbox, Server) {
    let sb = Sandbox::new();
    let server = Server::start();
    sb.run(&["provider", "add", "o", &server.base(), "-m", "m1"])
        .success();
    sb.aix()
        .args(["api-key", "o"])
        .write_stdin(format!("{key}\n"))
        .assert()
        .success();
    sb.run(&["create", "hi", "Say hi"]).success();
    (sb, server)
}

#[test]
fn placeholder_keys_do_not_corrupt_answers() {
    for key in ["fake", "EMPTY", "ollama"] {
        let (sb, server) = with_key(key);
        server.push(Reply::answer(&format!("Hello from {key}.")));
        let a = sb.run(&["run", "hi", "-e", "--provider", "o"]).success();
        assert_eq!(stdout(&a).trim(), format!("Hello from {key}."));
        assert_eq!(
            server.last().header("authorization"),
            Some(format!("Bearer {key}").as_str())
        );
        server.push(Reply::json(
            200,
            &json!({"object": "list", "data": [{"id": format!("{key}-1"), "owned_by": "me"}]}),
        ));
        let a = sb.run(&["provider", "models", "o"]).success();
        assert!(stdout(&a).contains(&format!("{key}-1")), "{}", stdout(&a));
    }
    // A real-looking key is still masked.
    let (sb, server) = with_key("sk-longer-canary");
    server.push(Reply::answer("echo sk-longer-canary"));
    let a = sb.run(&["run", "hi", "-e", "--provider", "o"]).success();
    assert!(!stdout(&a).contains("sk-longer-canary"));
}

#[test]
fn config_level_timeouts_show_in_info_and_bound_runs() {
    let (sb, server) = with_key("sk-longer-canary");
    let a = sb.run(&["provider", "info", "o"]).success();
    assert!(
        stdout(&a).contains("timeout_secs:         300 (default)"),
        "{}",
        stdout(&a)
    );
    sb.run(&["config", "set", "timeout_secs", "2"]).success();
    sb.run(&["config", "set", "max_time_secs", "1"]).success();
    let a = sb.run(&["provider", "info", "o"]).success();
    assert!(
        stdout(&a).contains("timeout_secs:         2 (config)\n"),
        "{}",
        stdout(&a)
    );
    assert!(
        stdout(&a).contains("max_time_secs:        1 (config)\n"),
        "{}",
        stdout(&a)
    );
    let a = sb.run(&["provider", "info", "o", "--json"]).success();
    let j: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(j["effective_timeout_secs"], 2);
    assert_eq!(j["timeout_from"], "config");
    assert_eq!(j["effective_max_time_secs"], 1);
    assert_eq!(j["max_time_from"], "config");
    // The provider's own value wins and says so.
    sb.run(&["config", "set", "custom_providers.o.timeout_secs", "7"])
        .success();
    let a = sb.run(&["provider", "info", "o"]).success();
    assert!(
        stdout(&a).contains("timeout_secs:         7 (provider)"),
        "{}",
        stdout(&a)
    );
    // The dry run and a real run use config's max_time_secs.
    let a = sb
        .run(&["run", "hi", "--provider", "o", "--json"])
        .success();
    let j: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(j["max_time_secs"], 1);
    server.push(crate::server::Reply {
        steps: vec![crate::server::Step::Stall(std::time::Duration::from_secs(
            4,
        ))],
    });
    let start = std::time::Instant::now();
    let a = sb.run(&["run", "hi", "-e", "--provider", "o"]).code(1);
    assert!(start.elapsed() < std::time::Duration::from_secs(4));
    assert!(
        stderr(&a).contains("did not finish within 1 s"),
        "{}",
        stderr(&a)
    );
    // A bad value is refused like timeout_secs.
    let a = sb.run(&["config", "set", "max_time_secs", "0"]).failure();
    assert!(
        stderr(&a).contains("max_time_secs must be"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn remove_and_update_suggest_near_names() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "ollama", "http://127.0.0.1:11434/v1"])
        .success();
    sb.run(&["provider", "add", "work", "http://127.0.0.1:9/v1"])
        .success();
    let a = sb.run(&["provider", "remove", "OLLAMA"]).failure();
    insta::assert_snapshot!("remove_suggests", stderr(&a));
    let a = sb.run(&["provider", "update", "Work", "-m", "x"]).failure();
    let err = stderr(&a);
    assert!(err.contains("did you mean 'work'?"), "{err}");
    assert!(!err.contains("provider add"), "{err}");
    // A doubled prefix is not offered as a name to add.
    sb.run(&["create", "hi", "Say hi"]).success();
    let a = sb
        .run(&["run", "hi", "--provider", "custom:custom:ollama"])
        .failure();
    let err = stderr(&a);
    assert!(!err.contains("provider add custom:ollama"), "{err}");
    assert!(err.contains("did you mean 'ollama'?"), "{err}");
    let a = sb
        .run(&["run", "hi", "--provider", "custom:custom:zzzzzzzzzz"])
        .failure();
    let err = stderr(&a);
    assert!(!err.contains("provider add custom:"), "{err}");
    assert!(err.contains("not a valid provider name"), "{err}");
    // Both providers are still there.
    assert!(sb.config()["custom_providers"]["ollama"].is_object());
}

#[test]
fn config_get_and_list_mask_credential_header_names() {
    let sb = Sandbox::new();
    sb.run(&[
        "config",
        "set",
        "my_tool.Authorization",
        "Bearer SECRETBEARER",
    ])
    .success();
    sb.run(&["config", "set", "my_tool.cookie", "session=SECRETCOOKIE"])
        .success();
    sb.run(&["config", "set", "my_tool.cookies", "[\"SECRETJAR\"]"])
        .success();
    sb.run(&[
        "config",
        "set",
        "my_tool.Proxy-Authorization",
        "Basic SECRETPROXY",
    ])
    .success();
    sb.run(&["config", "set", "my_tool.auth_ref", "${env:TOOL_TOKEN}"])
        .success();
    sb.run(&[
        "provider",
        "add",
        "p",
        "http://127.0.0.1:9/v1",
        "--auth-type",
        "api-key",
        "-H",
        "X-K:${env:K}",
    ])
    .success();
    for args in [
        vec!["config", "list"],
        vec!["config", "list", "--json"],
        vec!["config", "get", "my_tool"],
        vec!["config", "get", "my_tool.Authorization"],
        vec!["config", "get", "my_tool.cookie"],
        vec!["config", "get", "my_tool.cookies"],
    ] {
        let out = stdout(&sb.run(&args).success());
        for s in ["SECRETBEARER", "SECRETCOOKIE", "SECRETJAR", "SECRETPROXY"] {
            assert!(!out.contains(s), "{args:?}: {out}");
        }
    }
    let out = stdout(&sb.run(&["config", "list"]).success());
    assert!(
        out.contains("my_tool.Authorization = \"(sensitive)\""),
        "{out}"
    );
    // A reference and aix's own auth_type stay readable.
    assert!(
        out.contains("my_tool.auth_ref = \"${env:TOOL_TOKEN}\""),
        "{out}"
    );
    assert!(
        out.contains("custom_providers.p.auth_type = \"api-key\""),
        "{out}"
    );
    let out = stdout(
        &sb.run(&["--show-secrets", "config", "get", "my_tool.Authorization"])
            .success(),
    );
    assert_eq!(out.trim(), "Bearer SECRETBEARER");
}

#[test]
fn near_misses_of_known_keys_ignore_case() {
    let sb = Sandbox::new();
    let a = sb
        .run(&["config", "set", "API_KEYS.ollama", "sk-near-miss-canary"])
        .success();
    let err = stderr(&a);
    assert!(err.contains("did you mean api_keys?"), "{err}");
    assert!(!err.contains("sk-near-miss-canary"), "{err}");
    let a = sb.run(&["validate"]);
    let out = format!("{}{}", stdout(&a), stderr(&a));
    assert!(
        out.contains("API_KEYS") && out.contains("api_keys"),
        "{out}"
    );
    assert!(!out.contains("sk-near-miss-canary"), "{out}");
}

#[test]
fn export_never_reuses_a_variable_a_provider_already_reads() {
    let sb = Sandbox::new();
    sb.run(&[
        "provider",
        "add",
        "d",
        "http://127.0.0.1:9/v1",
        "-H",
        "Authorization:Bearer ${env:AIX_C_X_KEY}",
    ])
    .success();
    sb.run(&[
        "provider",
        "add",
        "c",
        "http://127.0.0.1:8/v1",
        "--auth-type",
        "api-key",
        "-H",
        "X-Key:literal-export-canary",
    ])
    .success();
    sb.run(&[
        "provider",
        "add",
        "e",
        "http://127.0.0.1:7/v1",
        "--api-key-env",
        "AIX_E_AUTHORIZATION",
        "-H",
        "Authorization:Bearer literal-two-canary",
    ])
    .success();
    let a = sb.run(&["provider", "export"]).success();
    let out = stdout(&a);
    assert!(!out.contains("canary"), "{out}");
    let doc: toml::Value = toml::from_str(&out).unwrap();
    let c = doc["providers"]["c"]["headers"]["X-Key"].as_str().unwrap();
    assert_eq!(c, "${env:AIX_C_X_KEY_2}", "{out}");
    assert_eq!(
        doc["providers"]["d"]["headers"]["Authorization"].as_str(),
        Some("Bearer ${env:AIX_C_X_KEY}")
    );
    let e = doc["providers"]["e"]["headers"]["Authorization"]
        .as_str()
        .unwrap();
    assert_eq!(e, "${env:AIX_E_AUTHORIZATION_2}", "{out}");
    let err = stderr(&a);
    assert!(err.contains("AIX_C_X_KEY_2"), "{err}");
    assert!(err.contains("AIX_C_X_KEY is taken by d"), "{err}");
}

const TWICE: &str = r#"{"custom_providers":{"p":{"base_url":"http://127.0.0.1:9/v1","headers":{"X-A":"1","x-a":"2"},"vendor":7}}}"#;

#[test]
fn a_header_given_twice_gets_a_hint_that_works() {
    let sb = Sandbox::new();
    sb.write_config(TWICE);
    let a = sb.run(&["provider", "info", "p"]).failure();
    insta::assert_snapshot!("header_twice_hint", stderr(&a));
    // The hinted command repairs it.
    sb.run(&["config", "unset", "custom_providers.p.headers.x-a"])
        .success();
    let a = sb.run(&["provider", "info", "p"]).success();
    assert!(stdout(&a).contains("  X-A: 1"), "{}", stdout(&a));
}

#[test]
fn remove_header_repairs_a_header_given_twice() {
    let sb = Sandbox::new();
    sb.write_config(TWICE);
    sb.run(&["provider", "update", "p", "--remove-header", "x-a"])
        .success();
    let c = sb.config();
    assert_eq!(c["custom_providers"]["p"]["headers"], json!({"X-A": "1"}));
    assert_eq!(c["custom_providers"]["p"]["vendor"], 7);
    sb.run(&["provider", "info", "p"]).success();
    // Once repaired, the same flag removes the remaining header as usual.
    sb.run(&["provider", "update", "p", "--remove-header", "x-a"])
        .success();
    assert!(
        sb.config()["custom_providers"]["p"]
            .get("headers")
            .is_none_or(|h| h == &json!({}))
    );
}

#[test]
fn api_key_refuses_two_lines_and_a_bearer_prefix() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "a", "http://127.0.0.1:9/v1"])
        .success();
    let a = sb
        .aix()
        .args(["api-key", "a"])
        .write_stdin("sk-first-canary\nsk-second-canary\n")
        .assert()
        .code(64);
    let err = stderr(&a);
    assert!(err.contains("more than one non-empty line"), "{err}");
    assert!(!err.contains("canary"), "{err}");
    assert!(sb.config()["api_keys"].get("a").is_none());
    // Trailing blank lines are fine.
    sb.aix()
        .args(["api-key", "a"])
        .write_stdin("sk-only-canary\n\n  \n")
        .assert()
        .success();
    assert_eq!(sb.config()["api_keys"]["a"], "sk-only-canary");
    for pasted in ["Bearer sk-pasted-canary\n", "bearer sk-pasted-canary"] {
        let a = sb
            .aix()
            .args(["api-key", "a"])
            .write_stdin(pasted)
            .assert()
            .failure();
        let err = stderr(&a);
        assert!(!err.contains("canary"), "{err}");
        insta::assert_snapshot!("api_key_bearer", err);
    }
    assert_eq!(sb.config()["api_keys"]["a"], "sk-only-canary");
}

#[test]
fn a_base_url_with_an_endpoint_is_refused_with_the_base() {
    let sb = Sandbox::new();
    let a = sb
        .run(&["provider", "add", "x", "http://h/v1/chat/completions"])
        .code(64);
    insta::assert_snapshot!("base_url_with_endpoint", stderr(&a));
    sb.run(&["provider", "add", "x", "http://h/v1/models/"])
        .code(64);
    assert!(sb.config_bytes().is_none());
    sb.run(&["provider", "add", "x", "http://h/v1"]).success();
    let a = sb
        .run(&[
            "provider",
            "update",
            "x",
            "--url",
            "http://h/v2/chat/completions",
        ])
        .code(64);
    assert!(stderr(&a).contains("http://h/v2"), "{}", stderr(&a));
    assert_eq!(
        sb.config()["custom_providers"]["x"]["base_url"],
        "http://h/v1"
    );
}

#[test]
fn a_parameter_given_twice_is_a_usage_error() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "x", "http://127.0.0.1:9/v1", "-m", "m"])
        .success();
    sb.run(&["create", "t", "About {topic}"]).success();
    let a = sb
        .run(&[
            "run",
            "t",
            "--provider",
            "x",
            "-p",
            "topic=a",
            "-p",
            "topic=b",
        ])
        .code(64);
    let err = stderr(&a);
    assert!(
        err.contains("parameter topic is given more than once"),
        "{err}"
    );
    // The REPL's /prompt says the same.
    let a = sb
        .aix()
        .args(["repl", "--provider", "x"])
        .write_stdin("/prompt t topic=a topic=b\n")
        .assert();
    let out = format!("{}{}", stdout(&a), stderr(&a));
    assert!(
        out.contains("parameter topic is given more than once"),
        "{out}"
    );
}

#[test]
fn run_refuses_an_invalid_setting_from_config() {
    let (sb, server) = with_key("sk-longer-canary");
    let mut doc = sb.config();
    doc["temperature"] = json!(9);
    sb.write_config(&doc.to_string());
    let a = sb.run(&["run", "hi", "-e", "--provider", "o"]).failure();
    insta::assert_snapshot!("run_bad_temperature", stderr(&a));
    assert!(server.requests().is_empty());
    // A flag that overrides it makes the run fine.
    server.push(Reply::answer("ok"));
    sb.run(&["run", "hi", "-e", "--provider", "o", "--temperature", "0.5"])
        .success();
    doc["temperature"] = json!(1);
    doc["max_tokens"] = json!(0);
    sb.write_config(&doc.to_string());
    let a = sb.run(&["run", "hi", "--provider", "o"]).failure();
    assert!(stderr(&a).contains("max_tokens must be"), "{}", stderr(&a));
}
