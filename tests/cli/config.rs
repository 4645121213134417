//! `aix config get|set|unset|list|path`.

use predicates::prelude::*;
use serde_json::json;

use crate::common::*;

#[test]
fn set_parses_json_else_string() {
    let sb = Sandbox::new();
    for (path, value) in [
        ("max_tokens", "100"),
        ("temperature", "0.7"),
        ("streaming", "true"),
        ("default_model", "llama3.2"),
        ("editor", "vim"),
        ("ui.theme", "{\"dark\":true}"),
        ("label", "null"),
    ] {
        sb.run(&["config", "set", path, value])
            .success()
            .stderr(predicate::str::contains(format!("Set {path}")));
    }
    sb.run(&["config", "set", "version_tag", "42", "--string"])
        .success();
    assert_eq!(
        sb.config(),
        json!({
            "max_tokens": 100, "temperature": 0.7, "streaming": true,
            "default_model": "llama3.2", "editor": "vim",
            "ui": {"theme": {"dark": true}}, "label": null, "version_tag": "42"
        })
    );
    sb.run(&["config", "get", "default_model"])
        .success()
        .stdout("llama3.2\n");
    sb.run(&["config", "get", "default_model", "--json"])
        .success()
        .stdout("\"llama3.2\"\n");
    sb.run(&["config", "get", "max_tokens"])
        .success()
        .stdout("100\n");
    sb.run(&["config", "get", "ui"])
        .success()
        .stdout("{\n  \"theme\": {\n    \"dark\": true\n  }\n}\n");
    sb.run(&["config", "get", "ui.theme.dark"])
        .success()
        .stdout("true\n");
}

#[test]
fn dotted_provider_names_are_quoted() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "my.host", "http://h/v1"])
        .success();
    sb.run(&[
        "config",
        "set",
        "custom_providers.\"my.host\".default_model",
        "m1",
    ])
    .success();
    sb.run(&[
        "config",
        "get",
        "custom_providers.\"my.host\".default_model",
    ])
    .success()
    .stdout("m1\n");
    sb.run(&["config", "list"])
        .success()
        .stdout(predicate::str::contains(
            "custom_providers.\"my.host\".default_model = \"m1\"",
        ));
}

#[test]
fn secrets_are_masked_in_every_view() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{"custom_providers":{"p":{"base_url":"http://p","headers":{"Authorization":"Bearer hdr-canary","X-Plain":"ok"}}},
            "api_keys":{"p":"key-canary"},"other":{"refresh_token":"tok-canary","max_tokens":5}}"#,
    );
    for args in [
        &["config", "list"][..],
        &["config", "list", "--json"],
        &["config", "get", "api_keys"],
        &["config", "get", "api_keys.p"],
        &["config", "get", "custom_providers"],
        &["config", "get", "custom_providers.p.headers.Authorization"],
        &["config", "get", "other"],
        &["config", "get", "other.refresh_token"],
    ] {
        let a = sb.run(args).success();
        let out = stdout(&a);
        assert!(!out.contains("canary"), "{args:?} leaked: {out}");
        assert!(out.contains("(sensitive)"), "{args:?}: {out}");
    }
    sb.run(&["config", "list"])
        .success()
        .stdout(predicate::str::contains("X-Plain = \"ok\""))
        .stdout(predicate::str::contains("other.max_tokens = 5"));
    sb.run(&["config", "get", "api_keys.p", "--show-secrets"])
        .success()
        .stdout("key-canary\n");
    // Setting a key through config set does not echo it.
    let a = sb
        .run(&["config", "set", "api_keys.p", "new-canary"])
        .success();
    assert!(!stderr(&a).contains("new-canary") && !stdout(&a).contains("new-canary"));
}

#[test]
fn refused_sets_change_nothing() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["config", "set", "max_tokens", "0"],
            1,
            "max_tokens must be a positive whole number",
        ),
        (&["config", "set", "temperature", "9"], 1, "from 0 to 2"),
        (&["config", "set", "streaming", "yes"], 1, "true or false"),
        (
            &["config", "set", "default_provider", "\"\""],
            1,
            "non-empty string",
        ),
        (
            &["config", "set", "custom_providers.keep.base_url", "nope"],
            1,
            "refused: custom_providers.keep.base_url",
        ),
        (
            &[
                "config",
                "set",
                "custom_providers.keep.headers",
                "{\"X\":\"a\\r\\nb\"}",
            ],
            1,
            "carriage return",
        ),
        (
            &[
                "config",
                "set",
                "custom_providers.keep.auth_type",
                "api_key",
            ],
            1,
            "did you mean \"api-key\"",
        ),
        (
            &["config", "set", "custom_providers.new.default_model", "m"],
            1,
            "base_url: is missing",
        ),
        (
            &[
                "config",
                "set",
                "custom_providers.bad name",
                "{\"base_url\":\"http://x\"}",
            ],
            1,
            "has ' '",
        ),
        (
            &["config", "set", "custom_providers", "[]"],
            1,
            "must be an object",
        ),
        (
            &["config", "set", "api_keys.keep", "5"],
            1,
            "must be a string",
        ),
        (&["config", "set", "api_keys.keep", "\"\""], 1, "empty"),
        (
            &["config", "set", "default_provider.x", "1"],
            1,
            "default_provider is a string",
        ),
        (&["config", "set", "a..b", "1"], 64, "empty segment"),
        (&["config", "set", "\"a", "1"], 64, "unclosed"),
        (&["config", "get", "nope"], 1, "nope is not set"),
        (&["config", "get", "api_keys.nope"], 1, "is not set"),
        (&["config", "set", "x"], 64, "required"),
    ];
    for (args, code, words) in cases {
        let a = sb.run(args).code(*code);
        let err = stderr(&a);
        assert!(err.contains(words), "{args:?}: want {words:?} in {err}");
        assert_eq!(sb.config_bytes().unwrap(), FOREIGN.as_bytes(), "{args:?}");
    }
}

#[test]
fn unset_is_idempotent() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    sb.run(&["config", "unset", "alpha"])
        .success()
        .stderr(predicate::str::contains("Unset alpha"));
    let bytes = sb.config_bytes().unwrap();
    sb.run(&["config", "unset", "alpha"])
        .success()
        .stderr(predicate::str::contains("alpha was not set"));
    assert_eq!(
        sb.config_bytes().unwrap(),
        bytes,
        "a no-op unset does not rewrite"
    );
    assert!(sb.config().get("alpha").is_none());
    assert_eq!(sb.config()["zeta_tool"]["x"][2], json!({"y": null}));
}

#[test]
fn path_prints_the_config_file() {
    let sb = Sandbox::new();
    sb.run(&["config", "path"])
        .success()
        .stdout(format!("{}\n", sb.config_path().display()));
}
