//! `aix api-key NAME`.

use predicates::prelude::*;
use serde_json::json;

use crate::common::*;

#[test]
fn reads_one_line_of_stdin_and_never_prints_it() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "p", "http://p/v1"]).success();
    let a = sb
        .aix()
        .args(["api-key", "p"])
        .write_stdin("sk-stdin-canary\n")
        .assert()
        .success();
    assert!(!stdout(&a).contains("canary") && !stderr(&a).contains("canary"));
    assert!(stderr(&a).contains("Saved the API key of 'p'"));
    assert_eq!(sb.config()["api_keys"], json!({"p": "sk-stdin-canary"}));
    assert_eq!(mode(&sb.config_path()), 0o600);

    let info = sb.run(&["provider", "info", "p"]).success();
    assert!(stdout(&info).contains("api_key:              (sensitive) (config.json api_keys.p)"));
    assert!(!stdout(&info).contains("canary"));

    sb.run(&["api-key", "p", "--remove"])
        .success()
        .stderr(predicate::str::contains("Removed the API key of 'p'"));
    assert_eq!(sb.config()["api_keys"], json!({}));
    sb.run(&["api-key", "p", "--remove"])
        .success()
        .stderr(predicate::str::contains("has no API key stored"));
}

#[test]
fn builtin_and_legacy_slots() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{"custom_providers":{"old":{"base_url":"http://o"}},"api_keys":{"custom:old":"k1"}}"#,
    );
    sb.aix()
        .args(["api-key", "openai"])
        .write_stdin("sk-o\n")
        .assert()
        .success();
    sb.aix()
        .args(["api-key", "custom:old"])
        .write_stdin("k2\r\n")
        .assert()
        .success();
    assert_eq!(
        sb.config()["api_keys"],
        json!({"custom:old": "k2", "openai": "sk-o"}),
        "a key kept in the earlier AIX's slot is updated in place"
    );
}

#[test]
fn refusals_change_nothing() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["api-key", "ghost"],
            "sk-x\n",
            "Custom provider 'ghost' not found",
        ),
        (&["api-key", "keep"], "", "no API key given"),
        (&["api-key", "keep"], "   \n", "no API key given"),
        (
            &["api-key", "keep"],
            "sk-a\u{7}b-canary\n",
            "control characters",
        ),
    ];
    for (args, input, words) in cases {
        let a = sb.aix().args(*args).write_stdin(*input).assert().code(1);
        let err = stderr(&a);
        assert!(err.contains(words), "{args:?}: {err}");
        assert!(!err.contains("canary"), "{err}");
        assert_eq!(sb.config_bytes().unwrap(), FOREIGN.as_bytes());
    }
}
