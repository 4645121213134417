//! `aix provider add|list|info|remove`.

use predicates::prelude::*;
use serde_json::json;

use crate::common::*;

#[test]
fn quickstart_add_list_info_remove() {
    let sb = Sandbox::new();
    sb.run(&[
        "provider",
        "add",
        "ollama",
        "http://localhost:11434/v1/",
        "--model",
        "llama3.2",
        "--header",
        "X-Custom: value",
    ])
    .success()
    .stdout("")
    .stderr(predicate::str::contains(
        "Added provider 'ollama' (http://localhost:11434/v1)",
    ));
    assert_eq!(
        sb.config(),
        json!({"custom_providers": {"ollama": {
            "base_url": "http://localhost:11434/v1",
            "default_model": "llama3.2",
            "headers": {"X-Custom": "value"},
            "auth_type": "bearer"
        }}})
    );

    let list = sb.run(&["provider", "list"]).success();
    let out = stdout(&list);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("BASE URL") && lines[0].contains("OWNER")
    );
    for cell in [
        "ollama",
        "http://localhost:11434/v1",
        "llama3.2",
        "bearer",
        "cli",
    ] {
        assert!(lines[1].contains(cell), "{cell} in {out}");
    }

    let info = sb.run(&["provider", "info", "ollama"]).success();
    let out = stdout(&info);
    for want in [
        "base_url:             http://localhost:11434/v1",
        "chat_url:             http://localhost:11434/v1/chat/completions",
        "default_model:        llama3.2",
        "auth_type:            bearer",
        "api_key:              not set",
        "  X-Custom: value",
        "owner:                cli",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }

    sb.run(&["provider", "remove", "ollama"])
        .success()
        .stderr(predicate::str::contains("Removed provider 'ollama'"));
    assert_eq!(sb.config(), json!({"custom_providers": {}}));
    sb.run(&["provider", "list"])
        .success()
        .stdout("")
        .stderr(predicate::str::contains("no custom providers yet"));
}

#[test]
fn add_with_every_flag_and_json_views() {
    let sb = Sandbox::new();
    sb.run(&[
        "provider",
        "add",
        "work",
        "HTTPS://llm.example.com/v1",
        "-m",
        "big",
        "-H",
        "X-API-Key:${env:WORK_KEY}",
        "-H",
        "Authorization: Bearer sk-literal-canary",
        "-H",
        "X-Title:aix",
        "--auth-type",
        "api-key",
        "--api-key-env",
        "WORK_KEY",
        "--timeout",
        "60",
    ])
    .success();
    assert_eq!(
        sb.config()["custom_providers"]["work"],
        json!({
            "base_url": "https://llm.example.com/v1",
            "default_model": "big",
            "headers": {
                "X-API-Key": "${env:WORK_KEY}",
                "Authorization": "Bearer sk-literal-canary",
                "X-Title": "aix"
            },
            "auth_type": "api-key",
            "api_key_env": "WORK_KEY",
            "timeout_secs": 60
        })
    );
    let info = sb
        .run(&["provider", "info", "custom:work", "--json"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&info)).unwrap();
    assert_eq!(
        v["headers"]["X-API-Key"], "${env:WORK_KEY}",
        "references are not secrets"
    );
    assert_eq!(v["headers"]["Authorization"], "(sensitive)");
    assert_eq!(v["headers"]["X-Title"], "aix");
    assert_eq!(v["auth_type"], "api-key");
    assert_eq!(v["timeout_secs"], 60);
    assert_eq!(v["api_key_source"], serde_json::Value::Null);
    assert_eq!(v["owner"], "cli");

    let list = sb.run(&["provider", "list", "--json"]).success();
    let out = stdout(&list);
    assert!(!out.contains("canary"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["name"], "work");

    let shown = sb
        .run(&["provider", "info", "work", "--show-secrets"])
        .success();
    assert!(stdout(&shown).contains("Authorization: Bearer sk-literal-canary"));
    let hidden = sb.run(&["provider", "info", "work"]).success();
    assert!(!stdout(&hidden).contains("canary"));
    assert!(stdout(&hidden).contains("Authorization: (sensitive)"));
}

#[test]
fn refusals_leave_config_byte_identical() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    // (arguments, exit code, expected words on stderr)
    let cases: &[(&[&str], i32, &str)] = &[
        (&["provider", "add", "bad name", "http://x"], 64, "has ' '"),
        (&["provider", "add", "", "http://x"], 64, "empty"),
        (
            &["provider", "add", &"x".repeat(65), "http://x"],
            64,
            "longer than 64",
        ),
        (
            &["provider", "add", "custom:x", "http://x"],
            64,
            "bare name",
        ),
        (
            &["provider", "add", "p", "localhost:11434"],
            64,
            "not absolute",
        ),
        (
            &["provider", "add", "p", "ftp://x"],
            64,
            "only http:// and https://",
        ),
        (&["provider", "add", "p", "http://"], 64, "no host"),
        (
            &["provider", "add", "p", "http://u:pw@x"],
            64,
            "credentials",
        ),
        (&["provider", "add", "p", "http://x/v1?a=1"], 64, "query"),
        (&["provider", "add", "p", "http://x:0"], 64, "invalid port"),
        (
            &["provider", "add", "p", "http://x", "-H", "NoColon"],
            64,
            "KEY:VALUE",
        ),
        (
            &["provider", "add", "p", "http://x", "-H", ":v"],
            64,
            "header name is empty",
        ),
        (
            &["provider", "add", "p", "http://x", "-H", "Bad Name:v"],
            64,
            "header name",
        ),
        (
            &[
                "provider",
                "add",
                "p",
                "http://x",
                "-H",
                "X:a\r\nInjected: 1",
            ],
            64,
            "carriage return",
        ),
        (
            &["provider", "add", "p", "http://x", "-H", "X:a\nb"],
            64,
            "line feed",
        ),
        (
            &["provider", "add", "p", "http://x", "-H", "X:${env:nope-x}"],
            64,
            "does not name a variable",
        ),
        (
            &["provider", "add", "p", "http://x", "-H", "A:1", "-H", "a:2"],
            64,
            "given twice",
        ),
        (
            &["provider", "add", "p", "http://x", "--auth-type", "oauth"],
            64,
            "auth-type",
        ),
        (
            &["provider", "add", "p", "http://x", "--api-key-env", "1BAD"],
            64,
            "not a variable name",
        ),
        (
            &["provider", "add", "p", "http://x", "--timeout", "0"],
            64,
            "timeout",
        ),
        (
            &["provider", "add", "p", "http://x", "--model", ""],
            64,
            "model name is empty",
        ),
        (
            &["provider", "add", "keep", "http://other"],
            1,
            "provider 'keep' already exists",
        ),
        (
            &["provider", "remove", "ghost"],
            1,
            "Custom provider 'ghost' not found",
        ),
        (
            &["provider", "remove", "openai"],
            1,
            "built-in provider and cannot be removed",
        ),
        (
            &["provider", "info", "ghost"],
            1,
            "Custom provider 'ghost' not found",
        ),
        (&["provider", "add"], 64, "required"),
        (&["provider", "frobnicate"], 64, "unrecognized subcommand"),
    ];
    for (args, code, words) in cases {
        let a = sb.run(args).code(*code);
        let err = stderr(&a);
        assert!(err.contains(words), "{args:?}: want {words:?} in {err}");
        assert!(
            !err.contains("sk-keep-canary"),
            "{args:?} leaked a key: {err}"
        );
        assert_eq!(
            sb.config_bytes().unwrap(),
            FOREIGN.as_bytes(),
            "{args:?} changed config.json"
        );
    }
}

#[test]
fn duplicate_name_hints_at_update() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "a", "http://a"]).success();
    sb.run(&["provider", "add", "a", "http://b"])
        .code(1)
        .stderr(
            predicate::str::contains("hint:")
                .and(predicate::str::contains("aix provider update a")),
        );
    assert_eq!(sb.config()["custom_providers"]["a"]["base_url"], "http://a");
}

#[test]
fn writes_keep_foreign_keys_in_order() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    sb.run(&["provider", "add", "new", "http://new.local"])
        .success();
    sb.run(&["provider", "remove", "new"]).success();
    let after = sb.config();
    let before: serde_json::Value = serde_json::from_str(FOREIGN).unwrap();
    assert_eq!(after, before);
    let keys: Vec<&String> = after.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "zeta_tool",
            "default_provider",
            "custom_providers",
            "api_keys",
            "alpha"
        ]
    );
    // A field another tool put inside a provider entry survives too.
    assert_eq!(after["custom_providers"]["keep"]["vendor_field"], 7);
}

#[test]
fn remove_keeps_the_key_unless_forgotten() {
    // Behaviour changed deliberately: the key stays by default (so "remove
    // and add again" keeps working) and --forget-key drops both slots.
    let sb = Sandbox::new();
    sb.write_config(
        r#"{"custom_providers":{"a":{"base_url":"http://a"},"b":{"base_url":"http://b"}},
            "api_keys":{"a":"ka","custom:a":"ka2","b":"kb","openai":"ko"}}"#,
    );
    sb.run(&["provider", "remove", "custom:a", "--forget-key"])
        .success()
        .stderr(predicate::str::contains(
            "Removed provider 'a' and its API key",
        ));
    sb.run(&["provider", "remove", "b", "--keep-key"])
        .success()
        .stderr(predicate::str::contains("Removed provider 'b'\n"));
    assert_eq!(sb.config()["api_keys"], json!({"b": "kb", "openai": "ko"}));
}

#[test]
fn builtins_and_addressing() {
    let sb = Sandbox::new();
    let all = sb.run(&["provider", "list", "--all"]).success();
    let out = stdout(&all);
    assert!(out.contains("openai") && out.contains("https://api.openai.com/v1"));
    assert!(out.contains("built-in"));
    for name in [
        "openrouter",
        "groq",
        "mistral",
        "deepseek",
        "together",
        "anthropic",
    ] {
        assert!(out.contains(name), "{name} missing from built-ins");
    }
    let info = sb
        .aix()
        .args(["provider", "info", "openai"])
        .env("OPENAI_API_KEY", "sk-env-canary")
        .assert()
        .success();
    let out = stdout(&info);
    assert!(
        out.contains("api_key:              (sensitive) (from $OPENAI_API_KEY)"),
        "{out}"
    );
    assert!(!out.contains("sk-env-canary"));

    // A custom provider named like a built-in needs custom:NAME.
    sb.run(&["provider", "add", "openai", "http://my.proxy/v1"])
        .success()
        .stderr(predicate::str::contains("address yours as custom:openai"));
    sb.run(&["provider", "info", "openai"])
        .code(1)
        .stderr(predicate::str::contains(
            "both a built-in provider and a custom provider",
        ))
        .stderr(predicate::str::contains("custom:openai"));
    sb.run(&["provider", "info", "custom:openai"])
        .success()
        .stdout(predicate::str::contains("http://my.proxy/v1"));
    sb.run(&["provider", "remove", "openai"]).success();
}

#[test]
fn legacy_custom_slot_key_is_found() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{"custom_providers":{"old":{"base_url":"http://old/v1"}},"api_keys":{"custom:old":"sk-legacy"}}"#,
    );
    sb.run(&["provider", "info", "old"])
        .success()
        .stdout(predicate::str::contains(
            "api_key:              (sensitive) (config.json api_keys.custom:old)",
        ));
}

#[test]
fn broken_entry_is_reported_and_others_still_listed() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{"custom_providers":{"good":{"base_url":"http://g"},"bad":{"base_url":"gopher://b"}}}"#,
    );
    // The broken one is listed, marked, with its error (not hidden).
    sb.run(&["provider", "list"])
        .success()
        .stdout(predicate::str::contains("good").and(predicate::str::contains("(broken)")))
        .stderr(predicate::str::contains("provider 'bad' cannot be used"));
    sb.run(&["provider", "info", "bad"])
        .code(1)
        .stderr(predicate::str::contains(
            "config.json: custom_providers.bad.base_url:",
        ));
    // Adding another provider is not blocked by the broken one, and the
    // broken one can be removed.
    sb.run(&["provider", "add", "more", "http://m"]).success();
    sb.run(&["provider", "remove", "bad"]).success();
}

#[test]
fn api_key_auth_without_headers_warns() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "k", "http://k", "--auth-type", "api-key"])
        .success()
        .stderr(predicate::str::contains("warning:").and(predicate::str::contains("no headers")));
}
